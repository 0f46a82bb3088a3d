//! bantam's own messages, as `tracing` events: each has a level and an
//! `event` field (`ban`, `unban`, `failure`, `source`, `error`, `message`)
//! plus the fields that event is about (`jail`, `target`, …), so JSON logs
//! and the journal can be filtered on them. [`crate::log_setup`] decides
//! where they go (text with RFC 3339 times, JSON lines, or the journal).
//!
//! Before a subscriber is installed (library tests, other commands) the
//! messages go to standard error as plain lines, as they always did.

use std::io::Write;
use std::time::Duration;

use crate::jail::human_duration;

fn plain(label: &str, message: &str) {
    let line = format!("bantam: {label}{message}\n");
    // Nothing sensible to do if stderr is gone.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

fn subscribed() -> bool {
    tracing::dispatcher::has_been_set()
}

pub fn info(message: &str) {
    if subscribed() {
        tracing::info!(event = "message", "{message}");
    } else {
        plain("", message);
    }
}

pub fn warn(message: &str) {
    if subscribed() {
        tracing::warn!(event = "message", "{message}");
    } else {
        plain("warning: ", message);
    }
}

pub fn error(message: &str) {
    if subscribed() {
        tracing::error!(event = "error", "{message}");
    } else {
        plain("error: ", message);
    }
}

/// Many lines in one write when no subscriber is set (a batch of bans),
/// so that 5,000 bans are not 5,000 system calls.
pub fn info_many(messages: &[String]) {
    if subscribed() {
        return crate::log_setup::in_one_write(|| {
            for m in messages {
                tracing::info!(event = "message", "{m}");
            }
        });
    }
    let mut text = String::new();
    for m in messages {
        text.push_str("bantam: ");
        text.push_str(m);
        text.push('\n');
    }
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// One ban, as it was decided: `bantime` `None` is permanent; `dry_run`
/// says "would ban".
#[derive(Debug, Clone, Copy)]
pub struct BanEvent<'a> {
    pub jail: &'a str,
    pub target: &'a str,
    pub failures: u32,
    pub bantime: Option<Duration>,
    pub dry_run: bool,
}

impl BanEvent<'_> {
    fn message(&self) -> String {
        let verb = if self.dry_run { "would ban" } else { "banned" };
        let span = self.bantime.map_or("permanently".to_owned(), |d| {
            format!("for {}", human_duration(d))
        });
        format!(
            "{}: {verb} {} {span} ({} failures)",
            self.jail, self.target, self.failures
        )
    }
}

/// A jail name or target the text format writes as it is, in the message and quoted
/// as a field: nothing its escaping would change. Any other name (which
/// the configuration allows) goes through `tracing`.
fn plain_word(name: &str) -> bool {
    name.bytes().all(|b| {
        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@' | b'+' | b':' | b'/')
    })
}

impl BanEvent<'_> {
    /// The line `tracing`'s text format writes for this event: time,
    /// level, message, then the fields as `key=value`, strings quoted.
    fn text_line(&self, out: &mut Vec<u8>, stamp: &str) {
        use std::io::Write as _;
        let verb = if self.dry_run { "would ban" } else { "banned" };
        let (jail, target, failures) = (self.jail, self.target, self.failures);
        let _ = write!(out, "{stamp}  INFO {jail}: {verb} {target} ");
        match self.bantime {
            Some(d) => {
                let _ = write!(out, "for {}", human_duration(d));
            }
            None => out.extend_from_slice(b"permanently"),
        }
        let _ = write!(
            out,
            " ({failures} failures) event=\"ban\" jail=\"{jail}\" target=\"{target}\" \
             failures={failures}"
        );
        if let Some(d) = self.bantime {
            let _ = write!(out, " bantime={}", d.as_secs());
        }
        let _ = writeln!(out, " dry_run={}", self.dry_run);
    }
}

/// Bans, each one `ban` event (one write for all when no subscriber is set).
pub fn bans(events: &[BanEvent<'_>]) {
    let written = events
        .iter()
        .all(|e| plain_word(e.jail) && plain_word(e.target))
        && crate::log_setup::text_lines(tracing::Level::INFO, |out, stamp| {
            for e in events {
                e.text_line(out, stamp);
            }
        });
    if written {
        return;
    }
    if !subscribed() {
        let messages: Vec<String> = events.iter().map(BanEvent::message).collect();
        return info_many(&messages);
    }
    crate::log_setup::in_one_write(|| events.iter().for_each(BanEvent::emit));
}

impl BanEvent<'_> {
    fn emit(&self) {
        let bantime = self.bantime.map(|d| d.as_secs());
        tracing::info!(
            event = "ban",
            jail = self.jail,
            target = self.target,
            failures = self.failures,
            bantime,
            dry_run = self.dry_run,
            "{}",
            self.message()
        );
    }
}

/// A ban kept because its source still sent packets
/// (`extend-while-knocking`): the new ban starts at the last packet.
pub fn extended(ban: &bantam_state::BanRecord, now: jiff::Timestamp) {
    let (jail, target) = (ban.jail.as_str(), ban.target.as_str());
    let ago = Duration::try_from(now.duration_since(ban.start)).unwrap_or_default();
    let left = ban
        .end
        .map(|end| Duration::try_from(end.duration_since(now)).unwrap_or_default());
    let span = left.map_or("permanently".to_owned(), |d| {
        format!("for {}", human_duration(d))
    });
    let message = format!(
        "{jail}: {target} still knocking (last packet {} ago): banned {span} more",
        human_duration(ago)
    );
    if subscribed() {
        let bantime = left.map(|d| d.as_secs());
        tracing::info!(event = "extend", jail, target, bantime, "{message}");
    } else {
        plain("", &message);
    }
}

/// A ban that ended or was lifted; `why`: `ended`, `lifted`.
pub fn unban(jail: &str, target: &str, why: &str) {
    let message = match why {
        "ended" => format!("{jail}: ban on {target} ended"),
        _ => format!("{jail}: ban on {target} {why}"),
    };
    if subscribed() {
        tracing::info!(event = "unban", jail, target, why, "{message}");
    } else {
        plain("", &message);
    }
}

/// A failure found in a log line (debug level: one per matching line).
pub fn failure(jail: &str, target: &dyn std::fmt::Display) {
    tracing::debug!(
        event = "failure",
        jail,
        target = %target,
        "{jail}: failure from {target}"
    );
}

/// A log source changed state (`waiting`, `failed`, `following`).
pub fn source(jails: &str, path: &str, state: &str, why: &str, level: tracing::Level) {
    let message = match why {
        "" => format!("jail {jails}: {path}: {state}"),
        _ => format!("jail {jails}: {path}: {why}"),
    };
    if !subscribed() {
        let label = match level {
            tracing::Level::ERROR => "error: ",
            tracing::Level::WARN => "warning: ",
            _ => "",
        };
        return plain(label, &message);
    }
    match level {
        tracing::Level::ERROR => {
            tracing::error!(event = "source", jail = jails, path, state, "{message}")
        }
        tracing::Level::WARN => {
            tracing::warn!(event = "source", jail = jails, path, state, "{message}")
        }
        _ => tracing::info!(event = "source", jail = jails, path, state, "{message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The text format's line for `event`, without its time stamp.
    fn formatted(event: &BanEvent<'_>) -> String {
        let buffer = Buffer::default();
        let out = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_target(false)
            .with_ansi(false)
            .with_writer(move || out.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || event.emit());
        let line = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        line.split_once(' ').unwrap().1.to_owned()
    }

    #[test]
    fn a_ban_line_written_directly_is_the_formatters_line() {
        let stamp = format!("{:.6}", jiff::Timestamp::now());
        let events = [
            ("sshd", "192.0.2.7", Some(Duration::from_secs(600)), false),
            ("web-2", "2001:db8:1000::/64", None, true),
            (
                "a.b@c",
                "198.51.100.0/24",
                Some(Duration::from_secs(90061)),
                false,
            ),
        ];
        for (jail, target, bantime, dry_run) in events {
            let event = BanEvent {
                jail,
                target,
                failures: 3,
                bantime,
                dry_run,
            };
            let mut line = Vec::new();
            event.text_line(&mut line, &stamp);
            let line = String::from_utf8(line).unwrap();
            let (time, rest) = line.split_once(' ').unwrap();
            assert_eq!(time, stamp);
            assert_eq!(time.len(), "2026-12-05T13:21:40.157821Z".len());
            assert_eq!(rest, formatted(&event));
        }
    }

    #[test]
    fn only_names_the_formatter_would_not_escape_are_written_directly() {
        assert!(plain_word("sshd-ddos_2") && plain_word("2001:db8::/64"));
        for name in [
            "with space",
            "quote\"",
            "esc\u{1b}[31m",
            "ünï",
            "back\\slash",
            "new\nline",
        ] {
            assert!(!plain_word(name), "{name:?}");
        }
    }
}
