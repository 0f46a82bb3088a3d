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

/// Bans, each one `ban` event (one write for all when no subscriber is set).
pub fn bans(events: &[BanEvent<'_>]) {
    if !subscribed() {
        let messages: Vec<String> = events.iter().map(BanEvent::message).collect();
        return info_many(&messages);
    }
    crate::log_setup::in_one_write(|| {
        for e in events {
            let bantime = e.bantime.map(|d| d.as_secs());
            tracing::info!(
                event = "ban",
                jail = e.jail,
                target = e.target,
                failures = e.failures,
                bantime,
                dry_run = e.dry_run,
                "{}",
                e.message()
            );
        }
    });
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
