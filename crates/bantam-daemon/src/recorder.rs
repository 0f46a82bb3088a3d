//! Writing bans and log positions to the store, when the store can take
//! them.
//!
//! Bans are handed to the store's own thread ([`crate::store_writer`]) and
//! written while the loop goes on: the kernel ban never waits for a commit.
//! Bans that come while a write is in flight queue here and go as the next
//! job, all at once (bounded: past [`MAX_QUEUED`] a burst's batches wait
//! for the writer, see [`queue_limit`]); the bigger the job, the cheaper
//! each ban in it.
//! A crash before the commit loses no ban, because log positions are
//! saved only after the bans of their lines are on disk: the next start
//! reads those lines again and bans again (the pipeline bans an address
//! once). A ban by hand, which no line repeats, is on disk before its
//! request is answered ([`Recorder::settle`]).
//!
//! A store can fail: a full disk, a read-only remount, a database another
//! process locked. A failing store must never stop a ban (an attacker who
//! fills the disk with log lines would otherwise stop being banned), so
//! the recorder:
//!
//! * keeps bans the store refused in memory and retries them, oldest first,
//!   with back-off (1 s doubling to 30 s), and at every new write;
//! * holds log positions back while any ban is unrecorded: a position saved
//!   past the lines whose bans are not on disk would, after a crash, skip
//!   those lines, and lose the bans for good;
//! * says so once when the store starts failing and once when it recovers,
//!   and reports the degraded state to `status` meanwhile.
//!
//! The retry timer exists only while something is unrecorded, the writer's
//! wake-up only while a write is in flight: a healthy idle daemon still
//! never wakes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bantam_state::{BanCounter, BanRecord, FilePosition, StateError, Store};
use jiff::Timestamp;
use tokio::time::Instant;

use crate::error::chain;
use crate::log;
use crate::store_writer::{Done, Job, StoreWriter, Upkeep, CHUNK};

#[path = "recorder_upkeep.rs"]
mod upkeep;
/// Batches of fewer bans are written on the loop's thread (after their
/// kernel ban); an attacker's single ban is the common case.
const HAND_OFF_FROM: usize = 64;
/// Bans queued behind a write in flight before the loop waits for it: a
/// couple of seconds of a burst, some 40 MB at the peak; the writer takes
/// them as one job. A store write costs about what the loop's part of a
/// ban does, so with less room a burst of a million ran at the writer's
/// pace (a million new attackers into an empty table, the harness of
/// bench/million.py: 65,536: 9.5–9.8 s; 262,144: 8.65–9.1 s).
const MAX_QUEUED: usize = 262_144;

/// How many queued bans make a batch of `batch` bans wait for the writer.
/// A burst's batches pace themselves on it at [`MAX_QUEUED`]; the few bans
/// of a new attacker do not, up to twice that: right after a burst of a
/// million the writer catches up for seconds, and each new attacker's
/// batch waited for a whole job (260 ms a turn, every line and request
/// behind it), when a follow-up attack is likeliest.
fn queue_limit(batch: usize) -> usize {
    match batch < HAND_OFF_FROM {
        true => 2 * MAX_QUEUED,
        false => MAX_QUEUED,
    }
}
/// A write in flight longer than this makes the store degraded in
/// `status`: a disk or a filesystem that hangs is told, not hidden.
const SLOW_WRITE: Duration = Duration::from_secs(5);
const FIRST_RETRY: Duration = Duration::from_secs(1);
const LAST_RETRY: Duration = Duration::from_secs(30);
/// How often, at most, old history is purged (on the way of other work,
/// never by a timer of its own).
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// The store's second reader, opened at the first hand-off.
enum Counter {
    Untried,
    Ready(Box<dyn BanCounter>),
    Unavailable,
}

/// Why the store is not taking writes, and since when.
#[derive(Debug)]
struct Failing {
    reason: String,
    retry_at: Instant,
    backoff: Duration,
}

/// Waits for [`Recorder::written`]'s notification, or forever without one
/// (nothing in flight): owned, so the loop's other branches keep `&mut`.
pub(crate) async fn written(notify: Option<Arc<tokio::sync::Notify>>) {
    match notify {
        Some(notify) => notify.notified().await,
        None => std::future::pending().await,
    }
}

pub(crate) struct Recorder {
    /// `None` while a write is in flight: the writer thread has it.
    store: Option<Box<dyn Store>>,
    /// Started at the first hand-off; `None` before, or if no thread
    /// could be started (then bans are written on the loop's thread).
    writer: Option<StoreWriter>,
    /// Bans that came while a write was in flight, batch by batch: the
    /// next job. Kept as the batches came, not copied into one vector:
    /// growing one by doubling moved every queued record again and again
    /// on the loop (a tenth of a burst's loop time, in `perf`, with the
    /// page faults of each new block); the writer joins them on its
    /// thread.
    queued: Vec<Vec<BanRecord>>,
    queued_len: usize,
    /// Reads ban counts while a write is in flight.
    counter: Counter,
    unrecorded: Vec<BanRecord>,
    positions: HashMap<String, FilePosition>,
    failing: Option<Failing>,
    /// History older than this is purged (`dbpurgeage`).
    purge_age: Duration,
    last_purge: Option<Timestamp>,
    /// Ending and purging for the next job (see [`Recorder::expire`]).
    upkeep: Upkeep,
    /// The earliest end among the bans in flight, and among those queued
    /// (see [`Recorder::unwritten_ending_by`]).
    flight_end: Option<Timestamp>,
    queued_end: Option<Timestamp>,
    /// Ending bans in the store failed the last time it was tried.
    ending_failed: bool,
    /// When the write in flight was handed over, and how many came back.
    handed_at: Option<Instant>,
    jobs_back: u64,
    /// How the last `unban --all` handed to the writer went.
    removed: crate::store_writer::Removed,
}

impl Recorder {
    pub fn new(store: Box<dyn Store>, purge_age: Duration) -> Recorder {
        Recorder {
            store: Some(store),
            writer: None,
            queued: Vec::new(),
            queued_len: 0,
            counter: Counter::Untried,
            unrecorded: Vec::new(),
            positions: HashMap::new(),
            failing: None,
            purge_age,
            last_purge: None,
            upkeep: Upkeep::default(),
            flight_end: None,
            queued_end: None,
            ending_failed: false,
            handed_at: None,
            jobs_back: 0,
            removed: None,
        }
    }

    /// The store itself, for reads at start and for requests, once every
    /// ban handed to the writer or queued for it is written.
    pub fn store(&mut self) -> &mut dyn Store {
        self.settle();
        self.store
            .as_deref_mut()
            .expect("settle brings the store back")
    }

    pub fn set_purge_age(&mut self, age: Duration) {
        self.purge_age = age;
    }

    /// Hands `bans` to the writer thread (or queues them for its next job
    /// while it writes), or keeps them when the store is failing, and
    /// writes everything kept if the store lets us.
    pub fn record(&mut self, bans: Vec<BanRecord>) {
        if bans.is_empty() {
            return;
        }
        // The write in flight may be back already: the loop has been busy
        // since, and the writer should not idle until it next looks.
        self.collect();
        if self.in_flight() {
            self.queued_len += bans.len();
            self.queued_end = earliest(self.queued_end, earliest_end(&bans));
            self.queued.push(bans);
            if self.queued_len >= queue_limit(self.queued.last().map_or(0, Vec::len)) {
                self.wait_one();
            }
            return;
        }
        // A few bans are written here: waking the other thread costs more
        // than their commit, and it would take the second core from
        // whatever else runs on the host just when a ban lands.
        let small = bans.len() < HAND_OFF_FROM;
        if small || self.failing.is_some() || !self.unrecorded.is_empty() {
            self.unrecorded.extend(bans);
            return self.flush();
        }
        if let Err(bans) = self.hand_off(vec![bans]) {
            self.unrecorded = bans.into_iter().flatten().collect();
            self.flush();
        }
    }

    /// Sends `bans` with the store to the writer thread; gives them back
    /// (and keeps the store) when there is no thread to take them.
    fn hand_off(&mut self, bans: Vec<Vec<BanRecord>>) -> Result<(), Vec<Vec<BanRecord>>> {
        if self.writer.is_none() {
            match StoreWriter::spawn() {
                Ok(writer) => self.writer = Some(writer),
                Err(e) => {
                    log::warn(&format!(
                        "no thread for the state store ({e}); bans are recorded on the main loop"
                    ));
                    return Err(bans);
                }
            }
        }
        self.open_counter();
        let (Some(writer), Some(store)) = (&self.writer, self.store.take()) else {
            return Err(bans);
        };
        // Every ban of these positions' lines is on disk or in this job.
        let positions = self.positions.drain().map(|(_, p)| p).collect();
        self.flight_end = bans
            .iter()
            .fold(None, |end, batch| earliest(end, earliest_end(batch)));
        let job = Job {
            store,
            bans,
            positions,
            upkeep: std::mem::take(&mut self.upkeep),
        };
        self.handed_at = Some(Instant::now());
        writer.send(job).map_err(|job| {
            self.handed_at = None;
            self.store = Some(job.store);
            self.writer = None;
            self.take_back(job.positions);
            self.upkeep = job.upkeep;
            job.bans
        })
    }

    /// Waits until every ban handed over or queued is written (or kept
    /// after a failure), and the store is back.
    pub fn settle(&mut self) {
        while self.in_flight() {
            self.wait_one();
        }
    }

    /// Waits for the write in flight and takes its outcome (which may hand
    /// the queue off as the next job).
    fn wait_one(&mut self) {
        if !self.in_flight() {
            return;
        }
        let done = self.writer.as_ref().and_then(StoreWriter::wait);
        match done {
            Some(done) => self.finish(done),
            // Unreachable: the thread catches the store's panics and
            // always sends the store back.
            None => panic!("the state store's writer thread ended holding the store"),
        }
    }

    /// True while a write is in flight; [`Recorder::written`] wakes then.
    pub fn in_flight(&self) -> bool {
        self.store.is_none()
    }

    /// True if a ban ending by `by` may not be committed yet (in the job
    /// in flight or queued behind it). Ending such a ban would break what
    /// [`Recorder::ban_counts_since`] relies on, that whatever lifts a ban
    /// finds it on disk; so the loop lets those ends wait for the write
    /// (the kernel ends timed bans on its own). A burst's bans end a ban
    /// time later: ends due now never wait for them.
    pub fn unwritten_ending_by(&self, by: Timestamp) -> bool {
        self.in_flight() && earliest(self.flight_end, self.queued_end).is_some_and(|end| end <= by)
    }

    /// Notified when the write in flight is back (none before the first).
    pub fn written(&self) -> Option<Arc<tokio::sync::Notify>> {
        self.writer.as_ref().map(StoreWriter::wake)
    }

    /// Takes the outcome of the write in flight if it is back (the loop
    /// was woken by [`Recorder::written`], or is about to record), and
    /// hands the queue off or writes the positions held meanwhile.
    pub fn collect(&mut self) {
        let done = self.writer.as_ref().and_then(StoreWriter::try_done);
        if let Some(done) = done {
            self.finish(done);
        }
    }

    fn finish(&mut self, done: Done) {
        let Done {
            store,
            refused,
            positions,
            failure,
            upkeep_left,
            ending,
            removed,
        } = done;
        self.tell_ending(ending);
        if removed.is_some() {
            self.removed = removed;
        }
        // A newer end (already here) takes every ban the older one left.
        if self.upkeep.end_by.is_none() {
            self.upkeep.end_by = upkeep_left.end_by;
        }
        self.store = Some(store);
        self.handed_at = None;
        self.jobs_back += 1;
        match failure {
            None => self.next_job(),
            Some(reason) => {
                // Refused bans are the oldest: ahead of those queued since
                // (nothing is kept otherwise: a hand-off needs none).
                let newer = std::mem::replace(&mut self.unrecorded, refused);
                self.unrecorded.extend(newer);
                self.unrecorded.extend(self.queued.drain(..).flatten());
                self.queued_len = 0;
                self.queued_end = None;
                self.take_back(positions);
                self.fail_because(reason);
            }
        }
    }

    /// After a write came back: the queue goes as the next job, or, with
    /// nothing queued, the positions held meanwhile are written here.
    fn next_job(&mut self) {
        if self.queued.is_empty() && self.upkeep.is_empty() {
            return self.flush();
        }
        let bans = std::mem::take(&mut self.queued);
        self.queued_len = 0;
        self.queued_end = None;
        if let Err(bans) = self.hand_off(bans) {
            self.unrecorded = bans.into_iter().flatten().collect();
            self.flush();
        }
    }

    /// Positions a job did not save, unless newer ones came meanwhile.
    fn take_back(&mut self, positions: Vec<FilePosition>) {
        for p in positions {
            self.positions.entry(p.path.clone()).or_insert(p);
        }
    }

    /// Opens the store's second reader once, while the store is here.
    fn open_counter(&mut self) {
        if !matches!(self.counter, Counter::Untried) {
            return;
        }
        let opened = self.store.as_ref().and_then(|s| s.counter());
        self.counter = match opened {
            Some(Ok(counter)) => Counter::Ready(counter),
            Some(Err(e)) => {
                log::warn(&format!(
                    "no second reader of the state store ({}); a burst's ban counts wait \
                     for the write before them",
                    chain(&e)
                ));
                Counter::Unavailable
            }
            None => Counter::Unavailable,
        };
    }

    /// Each of `names`' bans in `jail` (every jail: `None`) since `since`,
    /// for escalation. With `beside`, the caller knows no ban handed to
    /// the writer or queued can be one of them (none of them is banned in
    /// any jail, and whatever lifts a ban settles first), so the count is
    /// read beside a write in flight, as of the last commit, instead of
    /// waiting for it.
    pub fn ban_counts_since(
        &mut self,
        jail: Option<&str>,
        names: &[String],
        since: Timestamp,
        beside: bool,
    ) -> Result<Vec<u32>, StateError> {
        if beside && self.in_flight() {
            if let Counter::Ready(counter) = &mut self.counter {
                // On failure, the store itself answers (and says why).
                if let Ok(counts) = counter.ban_counts_since(jail, names, since) {
                    return Ok(counts);
                }
            }
        }
        self.store().ban_counts_since(jail, names, since)
    }

    /// Queues a log position; it is written only once no ban is waiting.
    pub fn save_position(&mut self, position: FilePosition) {
        self.positions.insert(position.path.clone(), position);
        // With a write in flight, the position goes when it is back.
        if !self.in_flight() {
            self.flush();
        }
    }

    /// Drops queued bans of `target` (in `jail`, or everywhere): a ban lifted
    /// before it reached the disk must not come back when it does.
    pub fn forget(&mut self, jail: Option<&str>, target: &str) {
        self.forget_each(jail, std::slice::from_ref(&target));
    }

    /// [`Recorder::forget`] of many targets at once: one pass over the
    /// unrecorded bans, which a failing store may have piled up, however
    /// many targets (`unban --jail J --all` names every ban of J).
    pub fn forget_each<T: AsRef<str>>(&mut self, jail: Option<&str>, targets: &[T]) {
        // A write in flight that fails would queue the ban again after
        // this: wait for it first.
        self.settle();
        if self.unrecorded.is_empty() {
            return;
        }
        let targets: std::collections::HashSet<&str> = targets.iter().map(AsRef::as_ref).collect();
        self.unrecorded
            .retain(|b| !targets.contains(b.target.as_str()) || jail.is_some_and(|j| j != b.jail));
    }

    /// Forgets every queued ban (`unban --all`).
    pub fn forget_all(&mut self) {
        self.settle();
        self.unrecorded.clear();
    }

    /// When to try again, if something waits.
    pub fn retry_at(&self) -> Option<Instant> {
        self.failing.as_ref().map(|f| f.retry_at)
    }

    /// The timer fired: try again now.
    pub fn retry(&mut self) {
        self.flush();
    }

    /// How many writes handed to the writer came back: `status` waits for
    /// the next one (see [`crate::status_waits`]).
    pub fn jobs_back(&self) -> u64 {
        self.jobs_back
    }

    /// `None` when healthy; otherwise what `status` shows. As of the
    /// last write that came back ([`Recorder::settle`] for the latest),
    /// or of the one in flight when it takes too long.
    pub fn degraded(&self) -> Option<String> {
        if self.failing.is_none() {
            return self.slow_write();
        }
        self.failing.as_ref().map(|f| {
            format!(
                "store failing ({}); {} ban(s) and {} log position(s) kept in memory, retrying",
                f.reason,
                self.unrecorded.len(),
                self.positions.len()
            )
        })
    }

    fn slow_write(&self) -> Option<String> {
        let waited = self.handed_at?.elapsed();
        (waited >= SLOW_WRITE).then(|| {
            format!(
                "store slow: a write has been in flight for {} s; {} ban(s) queued behind it \
                 (they are in the firewall)",
                waited.as_secs(),
                self.queued_len
            )
        })
    }

    /// Bans waiting for the store.
    pub fn unrecorded(&mut self) -> usize {
        self.settle();
        self.unrecorded.len()
    }

    fn flush(&mut self) {
        self.settle();
        if let Err(e) = self.write() {
            self.fail(e);
            return;
        }
        if let Some(failing) = self.failing.take() {
            log::info(&format!(
                "state store recovered after: {}; every ban is recorded",
                failing.reason
            ));
            self.send_upkeep();
        }
    }

    /// Bans first, positions only after every ban is on disk.
    fn write(&mut self) -> Result<(), StateError> {
        let Some(store) = self.store.as_deref_mut() else {
            return Ok(()); // settled by the caller
        };
        // In chunks, oldest first: a nearly full disk then takes what it
        // can hold instead of refusing the whole backlog at every retry.
        while !self.unrecorded.is_empty() {
            let n = self.unrecorded.len().min(CHUNK);
            store.record_bans(&self.unrecorded[..n])?;
            self.unrecorded.drain(..n);
        }
        if !self.positions.is_empty() {
            let positions: Vec<FilePosition> = self.positions.values().cloned().collect();
            store.save_positions(&positions)?;
            self.positions.clear();
        }
        Ok(())
    }

    fn fail(&mut self, error: StateError) {
        self.fail_because(crate::error::chain(&error));
    }

    fn fail_because(&mut self, reason: String) {
        match &mut self.failing {
            Some(failing) => {
                failing.backoff = (failing.backoff * 2).min(LAST_RETRY);
                failing.retry_at = Instant::now() + failing.backoff;
                failing.reason = reason;
            }
            None => {
                log::error(&format!(
                    "state store failing: {reason}; bans go on in the firewall and are kept \
                     in memory ({} waiting) until it takes them again",
                    self.unrecorded.len()
                ));
                self.failing = Some(Failing {
                    reason,
                    retry_at: Instant::now() + FIRST_RETRY,
                    backoff: FIRST_RETRY,
                });
            }
        }
    }
}

fn earliest(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The earliest end among `bans` (permanent ones never end).
fn earliest_end(bans: &[BanRecord]) -> Option<Timestamp> {
    bans.iter().filter_map(|b| b.end).min()
}
