//! At start: making the firewall and the store agree.
//!
//! The store is the record of what should be banned, the kernel table what
//! is. They disagree after a crash, a flushed ruleset, a reboot (an empty
//! table), or a lost database. The rules:
//!
//! * bans the store holds and that have not ended are (re)applied, each with
//!   the time it has left, in one batch;
//! * elements in our table the store does not know are removed, since they
//!   were lifted while the daemon was down (`unban` in another run) —
//!   **unless the store cannot be trusted to know**: it was just created,
//!   or replaced after corruption, or cannot be read. Then those elements
//!   are *adopted*: kept with their remaining timeouts and recorded, under
//!   the jail name [`ADOPTED`]. Deleting every ban because a database file
//!   went missing would hand the host back to every attacker at once;
//! * restored bans re-run their jail's actions (fail2ban's behaviour: a mail,
//!   an action's own firewall) after the daemon is ready, unless the jail
//!   says `norestored`.

use std::collections::HashSet;

use bantam_firewall::{BanEntry, Target};
use bantam_state::BanRecord;
use jiff::{SignedDuration, Timestamp};

use crate::action_worker::OwnedBan;
use crate::bans::ActiveBan;
use crate::daemon::{Daemon, Fields};
use crate::error::{chain, DaemonError};
use crate::log;

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

impl Daemon {
    pub(crate) fn reconcile(&mut self) -> Result<Restores, DaemonError> {
        let now = self.clock.now();
        let (mut records, trusted, ended) = self.stored_bans(now);
        // Bans that ended while the daemon was down, whose source kept
        // knocking (within the kernel's grace: see `knocking.rs`).
        records.extend(self.extend_stored(ended, now));
        let mut restores = Restores::new();
        let mut entries = Vec::with_capacity(records.len());
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
            // A jail no longer configured: its bans run out in our table.
            let native = jail.is_none_or(|i| self.jails[i].native_ban);
            if native {
                let timeout = self.kernel_timeout(&record.jail, record.end, now);
                entries.push(BanEntry::new(target, timeout));
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
        let known: HashSet<Target> = entries
            .iter()
            .map(|e| e.target.canonical().unwrap_or(e.target))
            .collect();
        // Read the kernel *before* adding: after a reboot the table is empty
        // and the read costs nothing, whereas reading back a million freshly
        // added elements costs the kernel O(n²) (each dump message walks the
        // hash table from the start to resume).
        let strays: Vec<BanEntry> = self
            .backend
            .list()?
            .into_iter()
            .filter(|e| !known.contains(&e.target))
            .collect();
        for part in entries.chunks(RESTORE_BATCH) {
            self.backend.ban(part)?;
        }
        if trusted {
            let targets: Vec<Target> = strays.iter().map(|e| e.target).collect();
            if !targets.is_empty() {
                self.backend.unban(&targets)?;
            }
        } else {
            self.adopt(strays, now);
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
