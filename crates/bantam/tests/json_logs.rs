//! `bantam run --log-format json`: every line the daemon writes parses as
//! one JSON object, and each ban is exactly one `ban` event carrying its
//! jail, target, failures and ban time (dry run: no root needed).

mod support;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{bantam, control as cli, wait_control, wait_for};

#[test]
fn every_line_is_json_and_every_ban_one_ban_event() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("bantam.sock");
    let config = dir.path().join("bantam.toml");
    std::fs::write(
        &config,
        format!(
            "[daemon]\nstate-dir = \"{}\"\nsocket = \"{}\"\n\
             [jails.sshd]\nfilter = \"sshd\"\nlogpath = [\"-\"]\nmaxretry = 2\nbantime = \"10m\"\n",
            dir.path().join("state").display(),
            socket.display()
        ),
    )
    .unwrap();
    let mut daemon = Command::new(bantam())
        .args([
            "run",
            "--dry-run",
            "--log-format",
            "json",
            "--log-level",
            "debug",
            "--config",
        ])
        .arg(&config)
        .arg("--socket")
        .arg(&socket)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_control(&socket);
    let stamp = jiff::Zoned::now().strftime("%b %e %H:%M:%S").to_string();
    let mut lines = String::new();
    // Three addresses over the limit, one of them three times in one write:
    // still one ban each.
    for (addr, times) in [("203.0.113.1", 2), ("203.0.113.2", 3), ("2001:db8::7", 2)] {
        for port in 0..times {
            lines.push_str(&format!(
                "{stamp} host sshd[1]: Failed password for root from {addr} port {port} ssh2\n"
            ));
        }
    }
    let mut stdin = daemon.stdin.take().unwrap();
    stdin.write_all(lines.as_bytes()).unwrap();
    stdin.flush().unwrap();
    wait_for("three bans", Duration::from_secs(10), || {
        let out = cli(&socket, &["banned", "--json"]);
        serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).is_ok_and(|b| b.len() == 3)
    });
    let by_hand = cli(
        &socket,
        &["ban", "sshd", "192.0.2.50", "--for", "1h", "--reason", "x"],
    );
    assert!(by_hand.status.success());
    assert!(cli(&socket, &["stop"]).status.success());
    drop(stdin);
    let mut stderr = String::new();
    daemon
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(daemon.wait().unwrap().success(), "{stderr}");

    let mut bans: HashMap<String, serde_json::Value> = HashMap::new();
    let mut failures = 0;
    for line in stderr.lines() {
        let event: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            event["timestamp"]
                .as_str()
                .is_some_and(|t| t.parse::<jiff::Timestamp>().is_ok()),
            "{line}"
        );
        assert!(
            event["level"].is_string() && event["message"].is_string(),
            "{line}"
        );
        match event["event"].as_str() {
            Some("ban") => {
                let target = event["target"].as_str().unwrap().to_owned();
                assert_eq!(event["jail"], "sshd", "{line}");
                assert!(
                    event["failures"].is_u64() && event["bantime"].is_u64(),
                    "{line}"
                );
                assert!(
                    bans.insert(target, event).is_none(),
                    "two ban events: {line}"
                );
            }
            Some("failure") => failures += 1,
            Some(_) => {}
            None => panic!("no event kind: {line}"),
        }
    }
    let mut targets: Vec<&str> = bans.keys().map(String::as_str).collect();
    targets.sort();
    // IPv6 failures count per /64 by default (`[subnet] ipv6-prefix`),
    // so the IPv6 attacker's ban is its /64.
    assert_eq!(
        targets,
        ["192.0.2.50", "2001:db8::/64", "203.0.113.1", "203.0.113.2"],
        "{stderr}"
    );
    assert_eq!(bans["203.0.113.1"]["bantime"], 600);
    assert_eq!(bans["203.0.113.1"]["failures"], 2);
    assert_eq!(bans["192.0.2.50"]["bantime"], 3600, "the ban's own length");
    assert!(failures >= 6, "debug level logs failures: {stderr}");
}
