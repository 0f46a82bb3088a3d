//! Digests: one message per period summarising the bans, instead of one
//! per ban. A busy server under a botnet bans thousands a day; a digest
//! is what a person reads.
//!
//! Memory is bounded: the first [`KEEP`] bans of a period are listed, the
//! rest only counted. An empty period sends nothing.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bantam_config::notify_settings::Digest;
use jiff::{Timestamp, Zoned};

use crate::event::{BanFacts, Event};

/// Bans listed per digest; further ones are counted.
pub(crate) const KEEP: usize = 10_000;

/// One period's bans.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub bans: Vec<BanFacts>,
    /// Bans past [`KEEP`], counted only.
    pub more: u64,
    pub unbans: u64,
}

impl Report {
    pub fn total_bans(&self) -> u64 {
        self.bans.len() as u64 + self.more
    }

    /// Bans per jail, by name.
    pub fn per_jail(&self) -> BTreeMap<&str, usize> {
        let mut jails = BTreeMap::new();
        for ban in &self.bans {
            *jails.entry(ban.jail.as_str()).or_insert(0) += 1;
        }
        jails
    }
}

pub(crate) struct DigestBook {
    schedule: Digest,
    due: Instant,
    report: Report,
}

impl DigestBook {
    pub fn new(schedule: Digest) -> DigestBook {
        DigestBook {
            schedule,
            due: Instant::now() + until_next(schedule),
            report: Report {
                since: Some(Timestamp::now()),
                ..Report::default()
            },
        }
    }

    pub fn due(&self) -> Instant {
        self.due
    }

    /// Takes bans and unbans into the digest; other events are sent on
    /// their own (returned).
    pub fn absorb(&mut self, event: Event) -> Option<Event> {
        match event {
            Event::Ban(ban) if self.report.bans.len() < KEEP => self.report.bans.push(ban),
            Event::Ban(_) => self.report.more += 1,
            Event::Unban(_) => self.report.unbans += 1,
            other => return Some(other),
        }
        None
    }

    /// The period's report, if it holds any ban; starts the next period.
    pub fn take(&mut self) -> Option<Report> {
        self.due = Instant::now() + until_next(self.schedule);
        let since = Timestamp::now();
        let mut report = std::mem::replace(
            &mut self.report,
            Report {
                since: Some(since),
                ..Report::default()
            },
        );
        report.until = Some(since);
        (report.total_bans() > 0).then_some(report)
    }
}

/// Time until the next digest is due.
fn until_next(schedule: Digest) -> Duration {
    match schedule {
        Digest::Every(period) => period,
        Digest::Daily { hour, minute } => until_clock(&Zoned::now(), hour, minute),
    }
}

/// Time from `now` until the next `hour:minute` local time (tomorrow's if
/// today's has passed). A clock time that a DST change skips falls back to
/// a day from now.
fn until_clock(now: &Zoned, hour: u8, minute: u8) -> Duration {
    let day = Duration::from_secs(86_400);
    let at = |date: jiff::civil::Date| {
        date.at(hour as i8, minute as i8, 0, 0)
            .to_zoned(now.time_zone().clone())
            .ok()
    };
    let today = at(now.date()).filter(|t| t > now);
    let next = today.or_else(|| now.date().tomorrow().ok().and_then(at));
    next.and_then(|t| Duration::try_from(t.timestamp().duration_since(now.timestamp())).ok())
        .unwrap_or(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ban(jail: &str) -> Event {
        Event::Ban(BanFacts {
            jail: jail.into(),
            address: "203.0.113.7".into(),
            failures: 5,
            matches: vec![],
            bantime: None,
            bancount: 1,
            time: Timestamp::UNIX_EPOCH,
        })
    }

    #[test]
    fn daily_is_the_next_occurrence() {
        let now: Zoned = "2026-03-01T10:00:00[UTC]".parse().unwrap();
        assert_eq!(until_clock(&now, 11, 30), Duration::from_secs(5400));
        assert_eq!(until_clock(&now, 10, 0), Duration::from_secs(86_400));
        assert_eq!(until_clock(&now, 0, 0), Duration::from_secs(14 * 3600));
    }

    #[test]
    fn bans_are_gathered_and_empty_periods_send_nothing() {
        let mut book = DigestBook::new(Digest::Every(Duration::from_secs(3600)));
        assert!(book.take().is_none());
        assert!(book.absorb(ban("sshd")).is_none());
        assert!(book.absorb(ban("sshd")).is_none());
        assert!(book.absorb(ban("nginx")).is_none());
        let start = Event::JailStart { jail: "x".into() };
        assert_eq!(book.absorb(start.clone()), Some(start));
        let report = book.take().unwrap();
        assert_eq!(report.total_bans(), 3);
        assert_eq!(report.per_jail().get("sshd"), Some(&2));
        assert!(book.take().is_none());
    }
}
