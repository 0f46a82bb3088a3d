//! What the daemon reports, and how its fields read in a template.

use std::time::Duration;

use bantam_config::notify_settings::EventKind;
use jiff::Timestamp;

/// One thing that happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Ban(BanFacts),
    /// A ban ended or was lifted.
    Unban(BanFacts),
    JailStart {
        jail: String,
    },
    JailStop {
        jail: String,
    },
}

/// A ban's facts, as templates see them.
#[derive(Debug, Clone, PartialEq)]
pub struct BanFacts {
    pub jail: String,
    /// The address or network, as bantam prints it.
    pub address: String,
    pub failures: u32,
    /// The log lines that earned the ban. Attacker-controlled.
    pub matches: Vec<String>,
    /// `None`: permanent.
    pub bantime: Option<Duration>,
    /// How many times this address was banned in this jail, this one
    /// included.
    pub bancount: u32,
    pub time: Timestamp,
}

impl Event {
    pub fn kind(&self) -> EventKind {
        match self {
            Event::Ban(_) => EventKind::Ban,
            Event::Unban(_) => EventKind::Unban,
            Event::JailStart { .. } => EventKind::Start,
            Event::JailStop { .. } => EventKind::Stop,
        }
    }

    pub fn jail(&self) -> &str {
        match self {
            Event::Ban(b) | Event::Unban(b) => &b.jail,
            Event::JailStart { jail } | Event::JailStop { jail } => jail,
        }
    }

    /// A one-line description for events without a template of their own.
    pub(crate) fn summary(&self) -> String {
        match self {
            Event::Ban(b) => format!("{}: banned {} ({} failures)", b.jail, b.address, b.failures),
            Event::Unban(b) => format!("{}: ban on {} ended", b.jail, b.address),
            Event::JailStart { jail } => format!("{jail}: jail started"),
            Event::JailStop { jail } => format!("{jail}: jail stopped"),
        }
    }
}

impl BanFacts {
    /// The value of template field `name`. `matches` is one line per
    /// match, each cleaned of control characters (see [`clean_line`]).
    pub(crate) fn field(&self, name: &str, server: &str) -> String {
        match name {
            "jail" => self.jail.clone(),
            "address" => self.address.clone(),
            "failures" => self.failures.to_string(),
            "bantime" => human_bantime(self.bantime),
            "bancount" => self.bancount.to_string(),
            "server" => server.to_owned(),
            "matches" => self
                .matches
                .iter()
                .map(|l| clean_line(l))
                .collect::<Vec<_>>()
                .join("\n"),
            _ => String::new(),
        }
    }
}

/// A log line made safe for plain text: every control character (CR, LF,
/// ESC, …) but the tab becomes U+FFFD, so a line stays one line and cannot
/// move the terminal or a mail reader's cursor.
pub(crate) fn clean_line(line: &str) -> String {
    line.chars()
        .map(|c| match c {
            '\t' => c,
            c if c.is_control() => '\u{FFFD}',
            c => c,
        })
        .collect()
}

/// A header value: one line, no control characters at all (CR/LF would
/// start a new header), at most `max` characters.
pub(crate) fn header_line(text: &str, max: usize) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    truncate(one_line.trim(), max)
}

/// At most `max` characters, with `…` when cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((at, _)) => {
            let mut out = text[..at].to_owned();
            out.pop();
            out.push('…');
            out
        }
    }
}

/// `10m`, `1d12h`, `permanent`: as bantam's config writes durations.
pub(crate) fn human_bantime(bantime: Option<Duration>) -> String {
    match bantime {
        Some(d) => bantam_config::duration::human_duration(d),
        None => "permanent".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_never_survive() {
        assert_eq!(
            clean_line("a\r\nBcc: x\tb\x1b[2J"),
            "a\u{FFFD}\u{FFFD}Bcc: x\tb\u{FFFD}[2J"
        );
        assert_eq!(header_line(" a\r\nBcc: x ", 100), "a  Bcc: x");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }

    #[test]
    fn ban_times_read_as_written() {
        assert_eq!(human_bantime(None), "permanent");
        assert_eq!(human_bantime(Some(Duration::from_secs(600))), "10m");
        assert_eq!(human_bantime(Some(Duration::from_secs(129_600))), "1d12h");
    }
}
