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

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Duration;

use bantam_config::BackendKind;
use bantam_firewall::{BanEntry, Target};
use bantam_state::BanRecord;
use jiff::{SignedDuration, Timestamp};

use crate::action_worker::OwnedBan;
use crate::bans::ActiveBan;
use crate::daemon::{Daemon, Fields};
use crate::error::{chain, DaemonError};
use crate::knocking::kernel_timeout;
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

/// What each backend held at start, where it was read.
type Listed = BTreeMap<BackendKind, Vec<BanEntry>>;

/// What a restore leaves for [`Daemon::settle`].
pub(crate) struct Restored {
    book: Vec<ActiveBan>,
    /// Kernel bans no record explains, kept (the store is not trusted).
    adopt: Vec<BanEntry>,
    now: Timestamp,
    restores: Restores,
}

impl Restored {
    /// Bans in force once settled.
    pub(crate) fn len(&self) -> usize {
        self.book.len() + self.adopt.len()
    }
}

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

    /// Each target once, with its longest time.
    fn merged(self) -> Vec<BanEntry> {
        match self.shared {
            true => merge_longest(self.entries),
            false => self.entries,
        }
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

/// `entries`, whose timeouts were reckoned at `then`, as the kernel must
/// take them `now`: the kernel counts from the moment a part goes in, and
/// the last of a million goes in seconds after the first.
fn counted_from_now(entries: &[BanEntry], then: Timestamp, now: Timestamp) -> Vec<BanEntry> {
    let late = Duration::try_from(now.duration_since(then)).unwrap_or_default();
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

/// What restoring a ban takes from its jail, looked up once per jail
/// rather than once per ban.
struct JailFacts {
    index: usize,
    backend: Option<BackendKind>,
    knocks: bool,
    restores_actions: bool,
    keeps_matches: bool,
}

/// The saved bans, part by part, sorted to their backends; what the
/// firewall held before (`listed`) decides where bans of a jail no longer
/// configured go.
struct Pass {
    facts: HashMap<String, JailFacts>,
    listed: BTreeMap<BackendKind, Vec<BanEntry>>,
    /// Backends refilled whole at the end (see `look_at_backends`).
    replacing: BTreeSet<BackendKind>,
    /// Bans of jails no longer configured, placed at the end.
    orphans: Vec<(String, BanEntry)>,
    default: BackendKind,
    now: Timestamp,
    found: Found,
    bound: BTreeMap<BackendKind, Bound>,
    book: Vec<ActiveBan>,
    restores: Restores,
}

impl Pass {
    /// Books `records`; returns the entries each backend is to get now.
    fn take(&mut self, records: Vec<BanRecord>) -> BTreeMap<BackendKind, Vec<BanEntry>> {
        let mut now: BTreeMap<BackendKind, Vec<BanEntry>> = BTreeMap::new();
        for mut record in records {
            let Ok(target) = record.target.parse::<Target>() else {
                log::warn(&format!(
                    "state holds an unreadable ban target {:?}; skipped",
                    record.target
                ));
                continue;
            };
            let facts = self.facts.get(&record.jail);
            let knocks = facts.is_some_and(|f| f.knocks);
            let entry = BanEntry::new(target, kernel_timeout(knocks, record.end, self.now));
            let kinds = match facts {
                Some(f) => f.backend.into_iter().collect(),
                // A jail no longer configured: its bans run out where the
                // firewall holds them, or in the default backend. Which
                // backend holds it is known only once the backends being
                // replaced (not read) are read: see `place_orphans`.
                None if !self.replacing.is_empty() => {
                    self.orphans.push((record.jail.clone(), entry));
                    Vec::new()
                }
                None => self.found.holding(&self.listed, target, self.default),
            };
            for kind in kinds {
                self.bound
                    .entry(kind)
                    .or_default()
                    .push(&record.jail, entry);
                if !self.replacing.contains(&kind) {
                    now.entry(kind).or_default().push(entry);
                }
            }
            if let Some(f) = facts.filter(|f| f.restores_actions) {
                let ban = OwnedBan::of(&record, target, true, Fields::new());
                self.restores.push((f.index, ban));
            }
            // Only actions read matched lines back (at unban): a million
            // bans of a jail without any keep none in memory.
            if !facts.is_some_and(|f| f.keeps_matches) {
                record.matches = Vec::new();
            }
            self.book.push(ActiveBan { target, record });
        }
        now
    }

    /// For backends that took bans of several jails, the targets that came
    /// more than once, each with its longest time: parts went in as they
    /// came, where the last one of a target wins.
    fn repeated(&self) -> Vec<(BackendKind, Vec<BanEntry>)> {
        let shared = self.bound.iter().filter(|(_, b)| b.shared);
        shared
            .map(|(kind, b)| {
                let mut entries = b.entries.clone();
                entries.sort_by_key(|e| e.target);
                let repeated = entries
                    .chunk_by(|a, b| a.target == b.target)
                    .filter(|run| run.len() > 1)
                    .flat_map(|run| merge_longest(run.to_vec()))
                    .collect();
                (*kind, repeated)
            })
            .collect()
    }

    /// The elements of each backend that no saved ban explains.
    fn strays(&mut self) -> BTreeMap<BackendKind, Vec<BanEntry>> {
        let mut strays = BTreeMap::new();
        for (kind, list) in std::mem::take(&mut self.listed) {
            // After a reboot the firewall held nothing: no set to build.
            if list.is_empty() {
                continue;
            }
            let known: HashSet<Target> = self
                .bound
                .get(&kind)
                .into_iter()
                .flat_map(|b| &b.entries)
                .map(|e| e.target.canonical().unwrap_or(e.target))
                .collect();
            let lost = list.into_iter().filter(|e| !known.contains(&e.target));
            strays.insert(kind, lost.collect());
        }
        strays
    }
}

impl Daemon {
    /// Restore and settle in one go (tests; `run` sends READY=1 between).
    #[cfg(test)]
    pub(crate) fn reconcile(&mut self) -> Result<Restores, DaemonError> {
        let restored = self.restore_firewall()?;
        Ok(self.settle(restored))
    }

    /// Makes the firewall hold what the store says (see the module docs).
    /// What can wait until the kernel holds every ban is left in the
    /// [`Restored`] it returns, for [`Daemon::settle`].
    pub(crate) fn restore_firewall(&mut self) -> Result<Restored, DaemonError> {
        let now = self.clock.now();
        let ended = self.expire_stored(now);
        // Bans that ended while the daemon was down, whose source kept
        // knocking (within the kernel's grace: see `knocking.rs`).
        let extended = self.extend_stored(ended, now);
        let (listed, replacing) = self.look_at_backends()?;
        let mut pass = self.pass(listed, replacing);
        for (kind, entries) in pass.take(extended) {
            self.backends.ban(kind, &entries)?;
        }
        let read = self.restore_saved(&mut pass)?;
        self.place_orphans(&mut pass)?;
        let trusted = read && !self.options.adopt_kernel_bans;
        for kind in pass.replacing.clone() {
            let entries = pass.bound.remove(&kind).map(Bound::merged);
            let entries =
                counted_from_now(&entries.unwrap_or_default(), pass.now, self.clock.now());
            // Not known to be every ban: keep what the kernel holds.
            if !read {
                self.backends.ban(kind, &entries)?;
                continue;
            }
            // A refused refill (one transaction of them all: the kernel out
            // of memory) changed nothing; adding them keeps every ban, and
            // only what the store no longer has stays until it times out.
            if let Err(e) = self.backends.replace(kind, &entries) {
                log::warn(&format!(
                    "firewall {}: refilling it failed ({}); the saved bans are added \
                     to what it holds instead",
                    kind.name(),
                    chain(&e)
                ));
                self.backends.ban(kind, &entries)?;
            }
        }
        for (kind, repeated) in pass.repeated() {
            let repeated = counted_from_now(&repeated, pass.now, self.clock.now());
            self.backends.ban(kind, &repeated)?;
        }
        let strays = pass.strays();
        let mut adopt = Vec::new();
        if trusted {
            for (kind, lost) in &strays {
                let targets: Vec<Target> = lost.iter().map(|e| e.target).collect();
                self.backends.unban(*kind, &targets)?;
            }
        } else {
            adopt = merge_longest(strays.into_values().flatten().collect());
        }
        Ok(Restored {
            book: pass.book,
            adopt,
            now: pass.now,
            restores: pass.restores,
        })
    }

    /// The daemon's own index of the restored (and adopted) bans, built
    /// once the kernel holds them all: a second of a million-ban restore
    /// that READY=1 need not wait for (no event is handled before it).
    /// Returns the actions to re-run.
    pub(crate) fn settle(&mut self, restored: Restored) -> Restores {
        let Restored {
            book,
            adopt,
            now,
            mut restores,
        } = restored;
        // Into the empty book first: its bulk build needs it empty.
        self.bans.extend(book);
        self.adopt(adopt, now);
        // Parts came in the store's order; actions re-run oldest first.
        restores.sort_by_key(|(_, ban)| ban.start);
        restores
    }

    /// The bans of jails no longer configured, back where the firewall
    /// holds them (else in the default backend). Only a configuration that
    /// dropped a jail has any; for them the backends being replaced are
    /// read after all.
    fn place_orphans(&mut self, pass: &mut Pass) -> Result<(), DaemonError> {
        if pass.orphans.is_empty() {
            return Ok(());
        }
        let mut listed = pass.listed.clone();
        for &kind in &pass.replacing {
            listed.insert(kind, self.backends.list(kind)?);
        }
        for (jail, entry) in std::mem::take(&mut pass.orphans) {
            for kind in pass.found.holding(&listed, entry.target, pass.default) {
                pass.bound.entry(kind).or_default().push(&jail, entry);
                if !pass.replacing.contains(&kind) {
                    let now = counted_from_now(&[entry], pass.now, self.clock.now());
                    self.backends.ban(kind, &now)?;
                }
            }
        }
        Ok(())
    }

    /// What each backend holds before the saved bans go back: nothing
    /// (after a reboot: the bans stream in as they are read); something,
    /// with a store trusted to know every ban (a restart: the backend is
    /// `replacing`, refilled at the end in one transaction, never read);
    /// something, with a store that cannot be trusted (read whole, to
    /// adopt what the store lacks). Reading a hash set of a million back
    /// costs the kernel over a minute (its dump is quadratic), which is why
    /// a restart does not.
    fn look_at_backends(&mut self) -> Result<(Listed, BTreeSet<BackendKind>), DaemonError> {
        let trusting = !self.options.adopt_kernel_bans;
        let mut listed = BTreeMap::new();
        let mut replacing = BTreeSet::new();
        for kind in self.backends.kinds() {
            if self.backends.holds_nothing(kind)? {
                listed.insert(kind, Vec::new());
            } else if trusting {
                replacing.insert(kind);
            } else {
                listed.insert(kind, self.backends.list(kind)?);
            }
        }
        Ok((listed, replacing))
    }

    fn pass(&self, listed: Listed, replacing: BTreeSet<BackendKind>) -> Pass {
        let facts = self.jails.iter().enumerate().map(|(index, jail)| {
            let facts = JailFacts {
                index,
                backend: jail.backend,
                knocks: self.watches_knocks(jail.name()),
                // A jail without actions drops what it is given: a million
                // restored bans of one need no OwnedBan each.
                restores_actions: !jail.norestored() && jail.has_actions(),
                keeps_matches: jail.has_actions(),
            };
            (jail.name().to_owned(), facts)
        });
        Pass {
            facts: facts.collect(),
            listed,
            replacing,
            orphans: Vec::new(),
            default: self.backends.default_kind(),
            now: self.clock.now(),
            found: Found::default(),
            bound: BTreeMap::new(),
            book: Vec::new(),
            restores: Restores::new(),
        }
    }

    /// The store's current bans into the kernel, part by part as a thread
    /// reads and sorts them: the reading and booking (half of a million-ban
    /// restore) and the kernel's inserts run side by side. `false` when the
    /// store could not be read (it is then not trusted to know every ban).
    fn restore_saved(&mut self, pass: &mut Pass) -> Result<bool, DaemonError> {
        let Daemon {
            recorder,
            backends,
            clock,
            ..
        } = self;
        let store = recorder.store();
        let then = pass.now;
        let read = std::thread::scope(|scope| {
            let (parts, inbox) = std::sync::mpsc::sync_channel(2);
            let reader = scope.spawn(move || {
                store.active_bans_in_parts(RESTORE_BATCH, &mut |records| {
                    parts.send(pass.take(records)).is_ok()
                })
            });
            // On an error the inbox goes, the reader's next send fails and
            // it stops.
            for part in inbox {
                for (kind, entries) in part {
                    let entries = counted_from_now(&entries, then, clock.now());
                    backends.ban(kind, &entries)?;
                }
            }
            let read = reader.join();
            Ok::<_, DaemonError>(read.unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
        })?;
        if let Err(e) = &read {
            log::error(&format!(
                "cannot read the bans in the store ({}); keeping every ban in the firewall \
                 as it is",
                chain(e)
            ));
        }
        Ok(read.is_ok())
    }

    /// Removes the bans that ended while the daemon was down; returns them.
    fn expire_stored(&mut self, now: Timestamp) -> Vec<BanRecord> {
        self.recorder.store().expire(now).unwrap_or_else(|e| {
            log::error(&format!("ending old bans in the store: {}", chain(&e)));
            Vec::new()
        })
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
