//! `extend-while-knocking`: a banned address stays banned until it has been
//! silent for its ban time.
//!
//! The kernel notes each banned source's last packet (the backend's
//! [`record_knocks`](bantam_firewall::Backend::record_knocks); for
//! nftables see `nft/knock.rs`), so packets cost the daemon nothing. The
//! daemon looks only when a ban ends, on the wake-up it has anyway (the
//! next ban's end): one read for every ban ending then
//! ([`Daemon::extend_knockers`]). A source that sent a packet since its ban
//! (or the ban's latest extension) started gets a new ban from its last
//! packet; a silent one is released on time, by the daemon.
//!
//! * **How long.** Without escalation, the ban's own length again; with
//!   `[escalation]` or `[recidive]`, an extension counts as one more ban of
//!   the address (it is recorded as one, so the history and the counts of
//!   later bans include it) and lasts what that ban would: a source that
//!   keeps knocking climbs the steps.
//! * **No gap.** The kernel element of a watched ban lasts [`GRACE`] past
//!   the daemon's end, so that the source is not let through between the
//!   end and the re-ban; the daemon lifts a silent source at the end
//!   itself. A restart within the grace also extends (see `restore.rs`).
//! * **`knocking` in `banned` and `status JAIL`**: the source has sent a
//!   packet since the ban (or its latest extension) started, so the ban
//!   will be extended at its end. Read from the kernel for the bans listed
//!   (a page at most), never stored.
//! * A backend that cannot see packets (every backend but nftables, and a
//!   dry run) leaves the jail's bans ending on time; that is said once per
//!   jail at start and at reload.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bantam_config::BackendKind;
use bantam_firewall::{BanEntry, Target};
use bantam_state::BanRecord;
use jiff::{SignedDuration, Timestamp};

use crate::bans::ActiveBan;
use crate::control::protocol::BanInfo;
use crate::daemon::{remaining, Daemon};
use crate::error::chain;
use crate::jail::Jail;
use crate::log;

/// How much longer than its end a watched ban stays in the kernel: the
/// daemon decides at the end, and a loop busy for a moment (a reload, a
/// large batch) or a quick restart must not open a gap for a source that is
/// still knocking. A silent source is lifted at its end by the daemon; only
/// while the daemon is stopped does the kernel hold it the grace longer.
pub(crate) const GRACE: Duration = Duration::from_secs(30);

/// The kernel timeout of a ban ending at `end`: the time left, and the
/// [`GRACE`] of a jail that watches knocks.
pub(crate) fn kernel_timeout(
    knocks: bool,
    end: Option<Timestamp>,
    now: Timestamp,
) -> Option<Duration> {
    let left = remaining(end, now)?;
    Some(match knocks {
        true => left.saturating_add(GRACE),
        false => left,
    })
}

/// How long before their end the bans of watched jails are looked at, with
/// the bans ending at that wake-up. Extensions need not wait for the end
/// (a later knock is caught at the next one), and taking together the
/// sources whose ends fall close together makes of them one read, one
/// store transaction and one kernel batch rather than one each: 10,000
/// sources banned for 10 s would otherwise wake the daemon a thousand
/// times a second. Silent bans still end on time: they are put back.
pub(crate) const AHEAD: Duration = Duration::from_secs(1);

/// The latest end a turn of expiry at `now` may take: watched jails'
/// bans are taken [`AHEAD`] of their end.
pub(crate) fn taken_by(now: Timestamp) -> Timestamp {
    let ahead = SignedDuration::try_from(AHEAD).unwrap_or_default();
    now.checked_add(ahead).unwrap_or(now)
}

impl Jail {
    /// Whether this jail asks for its bans to be extended while knocking
    /// (only bans in bantam's own firewall can be).
    pub(crate) fn asks_knocks(&self) -> bool {
        self.backend.is_some() && self.settings.trust_policy.extend_while_knocking
    }

    /// Whether an extension counts as one more ban of the address.
    fn escalates(&self) -> bool {
        self.settings.escalation.is_some() || self.settings.recidive.is_some()
    }
}

/// When the last knock `ago` before `now` was.
fn knocked_at(ago: Option<Duration>, now: Timestamp) -> Option<Timestamp> {
    let ago = SignedDuration::try_from(ago?).ok()?;
    now.checked_sub(ago).ok()
}

/// The extended ban of a source that last knocked at `knock`, for a ban
/// that started at `start`: it starts at the knock and lasts `length`
/// (`None`: permanent). `None` when there is nothing to extend: no knock
/// since the ban started, or the new end already past.
pub(crate) fn extension(
    start: Timestamp,
    knock: Option<Timestamp>,
    length: Option<Duration>,
    now: Timestamp,
) -> Option<(Timestamp, Option<Timestamp>)> {
    let knock = knock.filter(|&k| k > start)?;
    let Some(length) = length else {
        return Some((knock, None));
    };
    let length = SignedDuration::try_from(length).unwrap_or(SignedDuration::MAX);
    let end = knock.checked_add(length).unwrap_or(Timestamp::MAX);
    (end > now).then_some((knock, Some(end)))
}

impl Daemon {
    /// Tells each backend whether to record knocks (before its setup, at
    /// start and at reload): those that some watching jail bans into.
    /// Says once per jail when its backend cannot. Returns whether the set
    /// of recording backends changed (their setup must run again).
    pub(crate) fn sync_knocks(&mut self) -> bool {
        let mut seen = BTreeSet::new();
        for kind in self.backends.kinds() {
            let wanted = self
                .jails
                .iter()
                .any(|j| j.asks_knocks() && j.backend == Some(kind));
            let Some(backend) = self.backends.get_mut(kind) else {
                continue;
            };
            if backend.record_knocks(wanted) && wanted {
                seen.insert(kind);
            }
        }
        for jail in self.jails.iter().filter(|j| j.asks_knocks()) {
            let kind = jail.backend.expect("asks_knocks: a backend");
            if !seen.contains(&kind) {
                log::warn(&format!(
                    "jail {}: extend-while-knocking: backend {} cannot see the packets of \
                     banned addresses; bans end on time",
                    jail.name(),
                    kind.name()
                ));
            }
        }
        let changed = seen != self.knocks;
        self.knocks = seen;
        changed
    }

    /// After a reload turned knock recording on or off: the backends' rules
    /// follow, and the bans now watched get their grace in the kernel.
    pub(crate) fn knocks_changed(&mut self) {
        if let Err(e) = self.backends.setup_all() {
            log::error(&format!("extend-while-knocking: firewall: {}", chain(&e)));
            return;
        }
        let now = self.clock.now();
        let watched: Vec<ActiveBan> = self
            .bans
            .iter()
            .filter(|b| b.record.end.is_some() && self.watches_knocks(&b.record.jail))
            .collect();
        self.ban_watched(&watched, now, "extend-while-knocking");
    }

    /// Puts watched bans into their jails' backends with their grace: one
    /// batch per backend.
    fn ban_watched(&mut self, bans: &[ActiveBan], now: Timestamp, what: &str) {
        let mut batches: BTreeMap<BackendKind, Vec<BanEntry>> = BTreeMap::new();
        for b in bans {
            let Some(kind) = self.knock_kind(&b.record.jail) else {
                continue;
            };
            let timeout = self.kernel_timeout(&b.record.jail, b.record.end, now);
            batches
                .entry(kind)
                .or_default()
                .push(BanEntry::new(b.target, timeout));
        }
        for (kind, entries) in batches {
            if let Err(e) = self.backends.ban(kind, &entries) {
                log::error(&format!("{what}: firewall {}: {}", kind.name(), chain(&e)));
            }
        }
    }

    /// The backend recording the knocks of jail `name`'s bans, when the
    /// jail asks for extension and its backend can see packets.
    fn knock_kind(&self, name: &str) -> Option<BackendKind> {
        let jail = self.jails.iter().find(|j| j.name() == name)?;
        let kind = jail.backend.filter(|_| jail.asks_knocks())?;
        self.knocks.contains(&kind).then_some(kind)
    }

    /// How long ago each (jail, target) last knocked, read from the
    /// backends that record them: one read per backend.
    fn knocks_of(&mut self, bans: &[(&str, Target)]) -> Vec<Option<Duration>> {
        let mut by_kind: BTreeMap<BackendKind, Vec<usize>> = BTreeMap::new();
        for (i, (jail, _)) in bans.iter().enumerate() {
            if let Some(kind) = self.knock_kind(jail) {
                by_kind.entry(kind).or_default().push(i);
            }
        }
        let mut knocks = vec![None; bans.len()];
        for (kind, at) in by_kind {
            let targets: Vec<Target> = at.iter().map(|&i| bans[i].1).collect();
            let Some(backend) = self.backends.get_mut(kind) else {
                continue;
            };
            match backend.last_knocks(&targets) {
                Ok(read) => {
                    for (i, ago) in at.into_iter().zip(read) {
                        knocks[i] = ago;
                    }
                }
                Err(e) => log::error(&format!(
                    "reading knocks of {} ban(s) from {}: {}; they end on time",
                    targets.len(),
                    kind.name(),
                    chain(&e)
                )),
            }
        }
        knocks
    }

    /// Whether the bans of jail `name` are extended while knocking.
    pub(crate) fn watches_knocks(&self, name: &str) -> bool {
        self.knock_kind(name).is_some()
    }

    /// The kernel timeout of a ban of jail `name` ending at `end`.
    pub(crate) fn kernel_timeout(
        &self,
        name: &str,
        end: Option<Timestamp>,
        now: Timestamp,
    ) -> Option<Duration> {
        kernel_timeout(self.watches_knocks(name), end, now)
    }

    /// The bans whose end has come, and those of watched jails ending
    /// by [`taken_by`] (see [`Daemon::put_back_early`]); at most `limit`.
    pub(crate) fn take_ending(&mut self, now: Timestamp, limit: usize) -> Vec<ActiveBan> {
        if self.knocks.is_empty() {
            return self.bans.take_ended(now, limit);
        }
        let until = taken_by(now);
        let watched: Vec<String> = self
            .jails
            .iter()
            .filter(|j| j.asks_knocks())
            .map(|j| j.name().to_owned())
            .collect();
        let early = |jail: &str| watched.iter().any(|w| w == jail);
        self.bans.take_ending(now, until, &early, limit)
    }

    /// Puts back the watched bans taken before their end and not extended
    /// (a silent source); returns the ended ones.
    pub(crate) fn put_back_early(
        &mut self,
        taken: Vec<ActiveBan>,
        now: Timestamp,
    ) -> Vec<ActiveBan> {
        let (early, ended): (Vec<ActiveBan>, Vec<ActiveBan>) = taken
            .into_iter()
            .partition(|b| b.record.end.is_some_and(|end| end > now));
        for ban in early {
            self.bans.insert(ban);
        }
        ended
    }

    /// Of bans whose end has come, extends those of watched jails whose
    /// source knocked since the ban started (store, book, kernel), and
    /// returns the others, to be released.
    pub(crate) fn extend_knockers(
        &mut self,
        ended: Vec<ActiveBan>,
        now: Timestamp,
    ) -> Vec<ActiveBan> {
        let (extended, released) = self.extensions(ended, now);
        if extended.is_empty() {
            return released;
        }
        let records: Vec<BanRecord> = extended.iter().map(|b| b.record.clone()).collect();
        self.recorder.record(records);
        self.ban_watched(&extended, now, "extending bans");
        for ban in extended {
            log::extended(&ban.record, now);
            self.bans.insert(ban);
        }
        released
    }

    /// At start: of the bans that ended while the daemon was down, the
    /// extensions of those whose source kept knocking, recorded (the
    /// caller restores them with the others).
    pub(crate) fn extend_stored(
        &mut self,
        ended: Vec<BanRecord>,
        now: Timestamp,
    ) -> Vec<BanRecord> {
        let ended: Vec<ActiveBan> = ended
            .into_iter()
            .filter(|r| self.watches_knocks(&r.jail))
            .filter_map(|record| {
                let target = record.target.parse::<Target>().ok()?;
                Some(ActiveBan { target, record })
            })
            .collect();
        if ended.is_empty() {
            return Vec::new();
        }
        let (extended, _released) = self.extensions(ended, now);
        let records: Vec<BanRecord> = extended.into_iter().map(|b| b.record).collect();
        for record in &records {
            log::extended(record, now);
        }
        self.recorder.record(records.clone());
        records
    }

    /// `ended` split into the extended bans (new records, not applied yet)
    /// and the bans to release.
    pub(crate) fn extensions(
        &mut self,
        ended: Vec<ActiveBan>,
        now: Timestamp,
    ) -> (Vec<ActiveBan>, Vec<ActiveBan>) {
        let (watched, mut released): (Vec<ActiveBan>, Vec<ActiveBan>) = ended
            .into_iter()
            .partition(|b| b.record.end.is_some() && self.watches_knocks(&b.record.jail));
        if watched.is_empty() {
            return (Vec::new(), released);
        }
        let keys: Vec<(&str, Target)> = watched
            .iter()
            .map(|b| (b.record.jail.as_str(), b.target))
            .collect();
        let knocks = self.knocks_of(&keys);
        let mut knocked: BTreeMap<String, Vec<(ActiveBan, Timestamp)>> = BTreeMap::new();
        for (ban, ago) in watched.into_iter().zip(knocks) {
            match knocked_at(ago, now).filter(|&k| k > ban.record.start) {
                Some(knock) => knocked
                    .entry(ban.record.jail.clone())
                    .or_default()
                    .push((ban, knock)),
                None => released.push(ban),
            }
        }
        let mut extended = Vec::new();
        for (jail, bans) in knocked {
            let (more, back) = self.extend_in(&jail, bans, now);
            extended.extend(more);
            released.extend(back);
        }
        (extended, released)
    }

    /// The extensions of one jail's knocking bans: one store read for the
    /// escalation counts of them all.
    fn extend_in(
        &mut self,
        jail: &str,
        bans: Vec<(ActiveBan, Timestamp)>,
        now: Timestamp,
    ) -> (Vec<ActiveBan>, Vec<ActiveBan>) {
        let Some(index) = self.jails.iter().position(|j| j.name() == jail) else {
            return (Vec::new(), bans.into_iter().map(|(b, _)| b).collect());
        };
        let targets: Vec<Target> = bans.iter().map(|(b, _)| b.target).collect();
        let plans = self.plan_bans(index, &targets, false, now);
        let escalates = self.jails[index].escalates();
        let (mut extended, mut released) = (Vec::new(), Vec::new());
        for ((ban, knock), plan) in bans.into_iter().zip(plans) {
            let length = match escalates {
                true => plan.end.map(|end| span(now, end)),
                false => ban.record.end.map(|end| span(ban.record.start, end)),
            };
            match extension(ban.record.start, Some(knock), length, now) {
                Some((start, end)) => extended.push(ActiveBan {
                    target: ban.target,
                    record: BanRecord {
                        start,
                        end,
                        ban_count: plan.ban_count,
                        ..ban.record
                    },
                }),
                None => released.push(ban),
            }
        }
        (extended, released)
    }

    /// Sets `knocking` on the listed bans whose source sent a packet since
    /// their ban (or its latest extension) started: one read of the kernel
    /// for the page.
    pub(crate) fn mark_knocking(&mut self, bans: &mut [BanInfo]) {
        let now = self.clock.now();
        let mut watched = Vec::new();
        for (i, info) in bans.iter().enumerate() {
            if !self.watches_knocks(&info.jail) {
                continue;
            }
            let Ok(target) = info.target.parse::<Target>() else {
                continue;
            };
            if let Some(start) = self.bans.start_of(&info.jail, &target) {
                watched.push((i, target, start));
            }
        }
        if watched.is_empty() {
            return;
        }
        let jails: Vec<String> = watched
            .iter()
            .map(|&(i, _, _)| bans[i].jail.clone())
            .collect();
        let keys: Vec<(&str, Target)> = watched
            .iter()
            .zip(&jails)
            .map(|(&(_, t, _), jail)| (jail.as_str(), t))
            .collect();
        let knocks = self.knocks_of(&keys);
        for ((i, _, start), ago) in watched.into_iter().zip(knocks) {
            bans[i].knocking = knocked_at(ago, now).is_some_and(|k| k > start);
        }
    }
}

/// From `start` to `end`, as a duration (zero if reversed).
fn span(start: Timestamp, end: Timestamp) -> Duration {
    Duration::try_from(end.duration_since(start)).unwrap_or_default()
}

#[cfg(test)]
#[path = "knocking_tests.rs"]
mod tests;
