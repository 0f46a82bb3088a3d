//! At start: making the firewall and the store agree.
//!
//! The store is the record of what should be banned, the kernel table what
//! is. They disagree after a crash, a flushed ruleset, a reboot (an empty
//! table), or a lost database. The rules:
//!
//! * bans the store holds and that have not ended are (re)applied, each with
//!   the time it has left, in its jail's backend (see [`crate::routing`]);
//!   a ban whose jail is no longer configured goes back into the backends
//!   that still hold it, or else into the default one;
//! * elements in a backend that the store does not put there are removed,
//!   since they were lifted while the daemon was down (`unban` in another run) —
//!   **unless the store cannot be trusted to know**: it was just created,
//!   or replaced after corruption, or cannot be read. Then those elements
//!   are *adopted*: kept with their remaining timeouts and recorded, under
//!   the jail name [`ADOPTED`]. Deleting every ban because a database file
//!   went missing would hand the host back to every attacker at once;
//! * restored bans re-run their jail's actions (fail2ban's behaviour: a mail,
//!   an action's own firewall) after the daemon is ready, unless the jail
//!   says `norestored`.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use bantam_config::BackendKind;
use bantam_firewall::{BanEntry, Target};
use bantam_state::BanRecord;
use jiff::{SignedDuration, Timestamp};

use crate::action_worker::OwnedBan;
use crate::bans::ActiveBan;
use crate::daemon::{Daemon, Fields};
use crate::error::{chain, DaemonError};
use crate::log;
use crate::routing::merge_longest;

/// The jail of bans found in the kernel that no record explained.
pub const ADOPTED: &str = "adopted";

/// Saved bans per kernel transaction at restore. One transaction of a
/// million elements outruns the kernel's hash-table resizing (its deferred
/// worker), and every insert then takes the slow path
/// (`rhashtable_insert_slow`, 27% of a one-batch restore in `perf`).
/// Measured (bench/million.sh, 1,000,000 bans, 2 cores, load ~8): one batch
/// 12.9–13.6 s to ready; 262,144: 9.7 s; 65,536: 9.8 s; 16,384: 8.2–9.0 s;
/// 4,096: 8.8 s. A restore needs no atomicity (it only adds), so it is
/// split; the number of system calls stays at about 60 per million.
const RESTORE_BATCH: usize = 16_384;

/// Actions to re-run for restored bans, once the daemon is ready.
pub(crate) type Restores = Vec<(usize, OwnedBan)>;

/// Per backend: the saved bans going back into it, and whether they came
/// from more than one jail (then a target may appear twice).
#[derive(Default)]
struct Bound {
    entries: Vec<BanEntry>,
    first_jail: Option<String>,
    shared: bool,
}

impl Bound {
    fn push(&mut self, jail: &str, entry: BanEntry) {
        match &self.first_jail {
            None => self.first_jail = Some(jail.to_owned()),
            Some(first) if first != jail => self.shared = true,
            Some(_) => {}
        }
        self.entries.push(entry);
    }
}

/// What each backend held at start, as sets: built only when a ban whose
/// jail is gone asks where it is.
#[derive(Default)]
struct Found(Option<BTreeMap<BackendKind, HashSet<Target>>>);

impl Found {
    /// The backends that hold `target`; the default one when none does.
    fn holding(
        &mut self,
        listed: &BTreeMap<BackendKind, Vec<BanEntry>>,
        target: Target,
        default: BackendKind,
    ) -> Vec<BackendKind> {
        let sets = self.0.get_or_insert_with(|| {
            listed
                .iter()
                .map(|(kind, list)| (*kind, list.iter().map(|e| e.target).collect()))
                .collect()
        });
        let target = target.canonical().unwrap_or(target);
        let kinds: Vec<BackendKind> = sets
            .iter()
            .filter(|(_, set)| set.contains(&target))
            .map(|(kind, _)| *kind)
            .collect();
        match kinds.is_empty() {
            true => vec![default],
            false => kinds,
        }
    }
}

impl Daemon {
    /// `entries`, whose timeouts were reckoned at `then`, as the kernel
    /// must take them now: the kernel counts from the moment a part goes
    /// in, and the last of a million goes in seconds after the first.
    fn counted_from_now(&self, entries: &[BanEntry], then: Timestamp) -> Vec<BanEntry> {
        let late = Duration::try_from(self.clock.now().duration_since(then)).unwrap_or_default();
        entries
            .iter()
            .map(|e| BanEntry {
                target: e.target,
                // At least a second: a ban in force never goes in as ended.
                timeout: e
                    .timeout
                    .map(|t| t.saturating_sub(late).max(Duration::from_secs(1))),
            })
            .collect()
    }

    pub(crate) fn reconcile(&mut self) -> Result<Restores, DaemonError> {
        let now = self.clock.now();
        let (mut records, trusted, ended) = self.stored_bans(now);
        // Bans that ended while the daemon was down, whose source kept
        // knocking (within the kernel's grace: see `knocking.rs`).
        records.extend(self.extend_stored(ended, now));
        // Read every backend *before* adding: after a reboot the sets are
        // empty and the read costs nothing, whereas reading back a million
        // freshly added elements costs the kernel O(n²) (each dump message
        // walks the hash table from the start to resume).
        let mut listed: BTreeMap<BackendKind, Vec<BanEntry>> = BTreeMap::new();
        for kind in self.backends.kinds() {
            listed.insert(kind, self.backends.list(kind)?);
        }
        // Reading a million saved bans takes seconds: the time they have
        // left is reckoned from now, not from before the read.
        let now = self.clock.now();
        let mut found = Found::default();
        let mut restores = Restores::new();
        let mut bound: BTreeMap<BackendKind, Bound> = BTreeMap::new();
        let mut book = Vec::with_capacity(records.len());
        for mut record in records {
            let Ok(target) = record.target.parse::<Target>() else {
                log::warn(&format!(
                    "state holds an unreadable ban target {:?}; skipped",
                    record.target
                ));
                continue;
            };
            let jail = self.jails.iter().position(|j| j.name() == record.jail);
            let timeout = self.kernel_timeout(&record.jail, record.end, now);
            let entry = BanEntry::new(target, timeout);
            match jail.map(|i| self.jails[i].backend) {
                Some(None) => {}
                Some(Some(kind)) => bound.entry(kind).or_default().push(&record.jail, entry),
                // A jail no longer configured: its bans run out where the
                // firewall holds them, or in the default backend.
                None => {
                    for kind in found.holding(&listed, target, self.backends.default_kind()) {
                        bound.entry(kind).or_default().push(&record.jail, entry);
                    }
                }
            }
            if let Some(i) = jail.filter(|&i| !self.jails[i].norestored()) {
                restores.push((i, OwnedBan::of(&record, target, true, Fields::new())));
            }
            // Only actions read matched lines back (at unban): a million
            // bans of a jail without any keep none in memory.
            if !jail.is_some_and(|i| self.jails[i].has_actions()) {
                record.matches = Vec::new();
            }
            book.push(ActiveBan { target, record });
        }
        self.bans.extend(book);
        let mut strays: BTreeMap<BackendKind, Vec<BanEntry>> = BTreeMap::new();
        for (kind, list) in listed {
            let known: HashSet<Target> = bound
                .get(&kind)
                .into_iter()
                .flat_map(|b| &b.entries)
                .map(|e| e.target.canonical().unwrap_or(e.target))
                .collect();
            let lost: Vec<BanEntry> = list
                .into_iter()
                .filter(|e| !known.contains(&e.target))
                .collect();
            strays.insert(kind, lost);
        }
        for (kind, b) in bound {
            let entries = match b.shared {
                true => merge_longest(b.entries),
                false => b.entries,
            };
            for part in entries.chunks(RESTORE_BATCH) {
                let part = self.counted_from_now(part, now);
                self.backends.ban(kind, &part)?;
            }
        }
        if trusted {
            for (kind, lost) in &strays {
                let targets: Vec<Target> = lost.iter().map(|e| e.target).collect();
                self.backends.unban(*kind, &targets)?;
            }
        } else {
            let all: Vec<BanEntry> = strays.into_values().flatten().collect();
            self.adopt(merge_longest(all), now);
        }
        Ok(restores)
    }

    /// The store's current bans, whether the store can be trusted to
    /// know every ban (so that kernel elements it lacks are strays), and
    /// the bans that ended while the daemon was down.
    fn stored_bans(&mut self, now: Timestamp) -> (Vec<BanRecord>, bool, Vec<BanRecord>) {
        let store = self.recorder.store();
        let ended = store.expire(now).unwrap_or_else(|e| {
            log::error(&format!("ending old bans in the store: {}", chain(&e)));
            Vec::new()
        });
        match store.active_bans() {
            Ok(records) => (records, !self.options.adopt_kernel_bans, ended),
            Err(e) => {
                log::error(&format!(
                    "cannot read the bans in the store ({}); keeping every ban in the \
                     firewall as it is",
                    chain(&e)
                ));
                (Vec::new(), false, ended)
            }
        }
    }

    /// Keeps and records the kernel's bans that no record explains.
    fn adopt(&mut self, found: Vec<BanEntry>, now: Timestamp) {
        if found.is_empty() {
            return;
        }
        log::warn(&format!(
            "the store knew none of the {} ban(s) in the firewall; they are kept with \
             their remaining time and recorded under jail {ADOPTED:?}",
            found.len()
        ));
        let records: Vec<BanRecord> = found
            .iter()
            .map(|e| BanRecord {
                jail: ADOPTED.to_owned(),
                target: e.target.to_string(),
                start: now,
                end: e.timeout.map(|t| {
                    now.checked_add(SignedDuration::try_from(t).unwrap_or(SignedDuration::MAX))
                        .unwrap_or(Timestamp::MAX)
                }),
                failures: 0,
                ban_count: 1,
                matches: vec!["found in the firewall at start".to_owned()],
                reason: None,
            })
            .collect();
        self.recorder.record(records.clone());
        for (entry, record) in found.into_iter().zip(records) {
            self.bans.insert(ActiveBan {
                target: entry.target,
                record,
            });
        }
    }

    /// Queues the actions of restored bans (after READY=1).
    pub(crate) fn queue_restores(&mut self, restores: Restores) {
        for (jail, ban) in restores {
            if let Some(jail) = self.jails.get(jail) {
                jail.ban_action(ban);
            }
        }
    }
}
