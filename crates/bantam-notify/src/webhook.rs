//! Webhooks: one JSON POST per event, in the shape the receiving service
//! expects. Bodies are built by `serde_json`, so a log line with quotes,
//! backslashes or newlines is a string inside the JSON, never a break out
//! of it.
//!
//! | format | body |
//! |---|---|
//! | `json` | `{"event", "server", "jail", "text", …the ban's fields}` |
//! | `slack` (and Mattermost, Rocket.Chat) | `{"text"}` |
//! | `discord` | `{"content"}` (cut to Discord's 2000 characters) |
//! | `ntfy` | `{"topic", "title", "message", "tags"}`, POSTed to the server's root; the topic is the URL's last path segment |

use bantam_config::notify_settings::{WebhookFormat, WebhookSettings};
use bantam_config::template::Template;
use serde_json::{json, Value};

use crate::channel::{Failure, Outgoing, Sink};
use crate::error::NotifyError;
use crate::event::{clean_line, truncate, Event};

const DISCORD_MAX: usize = 2000;

pub(crate) struct Webhook {
    agent: ureq::Agent,
    /// Where to POST (for ntfy, the server's root).
    post_to: String,
    /// ntfy's topic.
    topic: String,
    format: WebhookFormat,
    text: Template,
    server: String,
}

impl Webhook {
    pub fn new(settings: &WebhookSettings, server: &str) -> Result<Webhook, NotifyError> {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(settings.channel.timeout))
            .http_status_as_error(true)
            .build();
        let (post_to, topic) = match settings.format {
            WebhookFormat::Ntfy => ntfy_split(&settings.url)?,
            _ => (settings.url.clone(), String::new()),
        };
        Ok(Webhook {
            agent: config.into(),
            post_to,
            topic,
            format: settings.format,
            text: settings.text.clone(),
            server: server.to_owned(),
        })
    }

    /// The message's body as the format wants it.
    pub(crate) fn body(&self, event: &Event) -> Value {
        let line = match event {
            Event::Ban(ban) => self.text.render(|f| ban.field(f, &self.server)),
            other => format!("[{}] {}", self.server, other.summary()),
        };
        let line = clean_line(&line);
        let matches: Vec<String> = match event {
            Event::Ban(ban) => ban.matches.iter().map(|l| clean_line(l)).collect(),
            _ => Vec::new(),
        };
        let with_lines = || match matches.is_empty() {
            true => line.clone(),
            false => format!("{line}\n{}", matches.join("\n")),
        };
        match self.format {
            WebhookFormat::Slack => json!({ "text": with_lines() }),
            WebhookFormat::Discord => json!({ "content": truncate(&with_lines(), DISCORD_MAX) }),
            WebhookFormat::Ntfy => json!({
                "topic": self.topic,
                "title": format!("bantam {}", self.server),
                "message": with_lines(),
                "tags": ["no_entry"],
            }),
            WebhookFormat::Json => generic(event, &self.server, &line, matches),
        }
    }
}

fn generic(event: &Event, server: &str, text: &str, matches: Vec<String>) -> Value {
    let kind = match event {
        Event::Ban(_) => "ban",
        Event::Unban(_) => "unban",
        Event::JailStart { .. } => "start",
        Event::JailStop { .. } => "stop",
    };
    let mut body = json!({
        "event": kind,
        "server": server,
        "jail": event.jail(),
        "text": text,
    });
    if let Event::Ban(ban) | Event::Unban(ban) = event {
        let fields = json!({
            "address": ban.address,
            "failures": ban.failures,
            "bantime": ban.bantime.map_or(-1, |d| d.as_secs() as i64),
            "bancount": ban.bancount,
            "time": ban.time.to_string(),
            "matches": matches,
        });
        if let (Some(body), Value::Object(fields)) = (body.as_object_mut(), fields) {
            body.extend(fields);
        }
    }
    body
}

/// `https://ntfy.example.org/bans` → (`https://ntfy.example.org/`, `bans`).
fn ntfy_split(url: &str) -> Result<(String, String), NotifyError> {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let path_at = url[after_scheme..].find('/').map(|i| i + after_scheme);
    let topic = path_at
        .map(|at| url[at + 1..].trim_end_matches('/'))
        .filter(|t| !t.is_empty() && !t.contains(['/', '?', '#']));
    match (path_at, topic) {
        (Some(at), Some(topic)) => Ok((url[..=at].to_owned(), topic.to_owned())),
        _ => Err(NotifyError::Webhook(format!(
            "{url:?}: an ntfy URL names its topic, e.g. https://ntfy.sh/mytopic"
        ))),
    }
}

impl Sink for Webhook {
    fn send(&mut self, message: &Outgoing) -> Result<(), Failure> {
        let Outgoing::Event(event) = message else {
            // Digests are a mail feature.
            return Ok(());
        };
        let body = self.body(event).to_string();
        let answer = self
            .agent
            .post(&self.post_to)
            .header("Content-Type", "application/json")
            .send(body);
        match answer {
            Ok(_) => Ok(()),
            // A request the service rejects will be rejected again; 408
            // and 429 say "later".
            Err(ureq::Error::StatusCode(code))
                if (400..500).contains(&code) && code != 408 && code != 429 =>
            {
                Err(Failure::permanent(format!("{}: HTTP {code}", self.post_to)))
            }
            Err(e) => Err(Failure::transient(format!("{}: {e}", self.post_to))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntfy_topics_come_from_the_url() {
        assert_eq!(
            ntfy_split("https://ntfy.sh/bans").unwrap(),
            ("https://ntfy.sh/".into(), "bans".into())
        );
        assert_eq!(
            ntfy_split("http://127.0.0.1:8080/web-bans/").unwrap(),
            ("http://127.0.0.1:8080/".into(), "web-bans".into())
        );
        assert!(ntfy_split("https://ntfy.sh/").is_err());
        assert!(ntfy_split("https://ntfy.sh").is_err());
        assert!(ntfy_split("https://ntfy.sh/a/b").is_err());
    }
}
