//! Webhooks to a real HTTP server: each format's JSON, retries after a
//! server error, and a log line that cannot break the JSON.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

fn hook(port: u16, format: &str, path: &str) -> String {
    format!("[notify.webhook]\nurl = 'http://127.0.0.1:{port}{path}'\nformat = '{format}'\n")
}

/// The first POST's path and body.
fn first_post(server: &Server) -> (String, Value) {
    wait_for("the POST", Duration::from_secs(20), || {
        !posts(server).is_empty()
    });
    let (path, ctype, body) = posts(server).remove(0);
    assert_eq!(ctype, "application/json");
    (
        path,
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}")),
    )
}

const LINE: &str = "Failed password for invalid user a\"b\\c\r\nd from 203.0.113.7";
const CLEAN: &str = "Failed password for invalid user a\"b\\c\u{FFFD}\u{FFFD}d from 203.0.113.7";

#[test]
fn generic_json_carries_every_field() {
    let http = http_server(0);
    let n = notifier(&hook(http.port, "json", "/bantam"), "web-03");
    n.push(ban("203.0.113.7", &[LINE]));
    let (path, body) = first_post(&http);
    assert_eq!(path, "/bantam");
    let time = body["time"].clone();
    assert_eq!(
        body,
        json!({
            "event": "ban", "server": "web-03", "jail": "sshd",
            "text": "[web-03] sshd: banned 203.0.113.7 (5 failures)",
            "address": "203.0.113.7", "failures": 5, "bantime": 600, "bancount": 1,
            "time": time, "matches": [CLEAN],
        })
    );
}

#[test]
fn slack_discord_and_ntfy_get_their_shapes() {
    let want_text = format!("[web-03] sshd: banned 203.0.113.7 (5 failures)\n{CLEAN}");
    for (format, path, want_path, want) in [
        (
            "slack",
            "/services/T0/B0/x",
            "/services/T0/B0/x",
            json!({ "text": want_text }),
        ),
        (
            "discord",
            "/api/webhooks/1/t",
            "/api/webhooks/1/t",
            json!({ "content": want_text }),
        ),
        (
            "ntfy",
            "/web-bans",
            "/",
            json!({ "topic": "web-bans", "title": "bantam web-03", "message": want_text, "tags": ["no_entry"] }),
        ),
    ] {
        let http = http_server(0);
        let n = notifier(&hook(http.port, format, path), "web-03");
        n.push(ban("203.0.113.7", &[LINE]));
        let (got_path, body) = first_post(&http);
        assert_eq!((got_path.as_str(), &body), (want_path, &want), "{format}");
    }
}

#[test]
fn a_server_error_is_retried_with_back_off() {
    let http = http_server(2);
    let n = notifier(&hook(http.port, "json", "/"), "web-03");
    n.push(ban("203.0.113.7", &[]));
    let (_, body) = first_post(&http);
    assert_eq!(body["address"], "203.0.113.7");
    // The server records the post before its reply reaches the client.
    // Waiting for either outcome lets the assertion below say which.
    wait_for("the delivery's outcome", Duration::from_secs(20), || {
        let s = &n.status()[0];
        s.sent + s.failed >= 1
    });
    let s = &n.status()[0];
    assert_eq!(
        (s.channel.as_str(), s.sent, s.failed, s.dropped),
        ("webhook", 1, 0, 0)
    );
    assert_eq!(posts(&http).len(), 1);
}

#[test]
fn a_closed_port_is_retried_then_given_up() {
    let toml = format!(
        "[notify.webhook]\nurl = 'http://127.0.0.1:{}/x'\nretries = 3\n",
        free_port()
    );
    let n = notifier(&toml, "web-03");
    n.push(ban("203.0.113.7", &[]));
    wait_for("the give-up", Duration::from_secs(30), || {
        n.status()[0].failed == 1
    });
    assert!(n.status()[0]
        .last_error
        .as_deref()
        .unwrap()
        .contains("127.0.0.1"));
}
