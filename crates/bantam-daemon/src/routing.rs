//! Which backend a ban is in, and when a target may leave one.
//!
//! A jail's bans are in its backend (`Jail::backend`: its `banaction`, or
//! the daemon's `backend`); a jail whose fail2ban actions ban has none.
//! Bans whose jail is no longer configured (removed by a reload, or
//! [`crate::restore::ADOPTED`]) carry no record of their backend: they are
//! lifted from every backend, count while in force as keeping their target
//! in every backend (never lifting a ban that may be in force), and are
//! put back where the firewall still holds them at start, or else in the
//! default one.
//!
//! Jails share a backend's set, so a target lifted in one jail leaves that
//! backend only when no other ban keeps it there, and a new ban's timeout
//! in the kernel is the longest of the bans that keep it there: a short
//! ban in one jail never cuts a long one of another jail short while the
//! daemon is down. An address banned by two jails on different backends is
//! in both.

use std::collections::BTreeMap;
use std::time::Duration;

use bantam_config::BackendKind;
use bantam_firewall::{BanEntry, FirewallError, Target};
use jiff::Timestamp;

use crate::bans::ActiveBan;
use crate::daemon::{remaining, Daemon};

/// Where the bans of a jail are in the firewall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// Nowhere: the jail's actions ban.
    Nowhere,
    In(BackendKind),
    /// The jail is not configured: its bans may be in any backend.
    Anywhere,
}

impl Place {
    pub(crate) fn includes(self, kind: BackendKind) -> bool {
        match self {
            Place::Nowhere => false,
            Place::In(k) => k == kind,
            Place::Anywhere => true,
        }
    }
}

impl Daemon {
    /// Where the bans of jail `name` are.
    pub(crate) fn place_of(&self, name: &str) -> Place {
        match self.jails.iter().find(|j| j.name() == name) {
            None => Place::Anywhere,
            Some(jail) => jail.backend.map_or(Place::Nowhere, Place::In),
        }
    }

    /// Whether a ban in force keeps `target` in backend `kind`.
    pub(crate) fn held_in(&self, kind: BackendKind, target: &Target) -> bool {
        self.bans
            .holders(target)
            .any(|(jail, _)| self.place_of(jail).includes(kind))
    }

    /// The kernel timeout for `target` in `kind` when this ban lasts
    /// `own`: the longest of it and of the bans already keeping the
    /// target there (`None`: permanent). `new_in` names the jail of a new
    /// ban, which does not hold the target yet: its lookup is skipped.
    pub(crate) fn longest_in(
        &self,
        kind: BackendKind,
        target: &Target,
        own: Option<Duration>,
        new_in: Option<&str>,
        now: Timestamp,
    ) -> Option<Duration> {
        self.bans
            .holders_beside(target, new_in)
            .filter(|(jail, _)| self.place_of(jail).includes(kind))
            .map(|(_, end)| remaining(end, now))
            .fold(own, longest)
    }

    /// Takes bans just removed from the book out of the backends that held
    /// them, each target only where no ban in force keeps it: one batch
    /// per backend. Every backend is tried; the first error is returned.
    pub(crate) fn lift(&mut self, lifted: &[ActiveBan]) -> Result<(), FirewallError> {
        let mut leaving: BTreeMap<BackendKind, Vec<Target>> = BTreeMap::new();
        let kinds = self.backends.kinds();
        for ban in lifted {
            let place = self.place_of(&ban.record.jail);
            for &kind in &kinds {
                if place.includes(kind) && !self.held_in(kind, &ban.target) {
                    leaving.entry(kind).or_default().push(ban.target);
                }
            }
        }
        let mut first = Ok(());
        for (kind, mut targets) in leaving {
            targets.sort();
            targets.dedup();
            let result = self.backends.unban(kind, &targets);
            first = first.and(result);
        }
        first
    }
}

/// The longer of two kernel timeouts (`None`: permanent, the longest).
pub(crate) fn longest(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    Some(a?.max(b?))
}

/// `entries` with each target once, at its longest timeout: the batch
/// for one backend that several jails' bans go to (a backend keeps the
/// last of two entries for one target, which may be the shorter).
pub(crate) fn merge_longest(mut entries: Vec<BanEntry>) -> Vec<BanEntry> {
    entries.sort_by_key(|e| e.target);
    let mut merged: Vec<BanEntry> = Vec::with_capacity(entries.len());
    for entry in entries {
        match merged.last_mut() {
            Some(last) if last.target == entry.target => {
                last.timeout = longest(last.timeout, entry.timeout);
            }
            _ => merged.push(entry),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permanent_is_the_longest_and_duplicates_keep_the_longest() {
        let s = |n| Some(Duration::from_secs(n));
        assert_eq!(longest(s(5), s(9)), s(9));
        assert_eq!(longest(None, s(9)), None);
        assert_eq!(longest(s(9), None), None);
        let t = |a: &str| a.parse::<Target>().unwrap();
        let merged = merge_longest(vec![
            BanEntry::new(t("192.0.2.2"), s(60)),
            BanEntry::new(t("192.0.2.1"), s(600)),
            BanEntry::new(t("192.0.2.2"), s(3600)),
            BanEntry::new(t("192.0.2.2"), s(5)),
            BanEntry::new(t("192.0.2.1"), None),
        ]);
        assert_eq!(
            merged,
            vec![
                BanEntry::new(t("192.0.2.1"), None),
                BanEntry::new(t("192.0.2.2"), s(3600)),
            ]
        );
    }
}

#[cfg(test)]
#[path = "routing_tests.rs"]
mod daemon_tests;
