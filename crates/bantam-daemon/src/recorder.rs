//! Writing bans and log positions to the store, when the store can take
//! them.
//!
//! The store is written before the kernel hears of a ban, so that every
//! kernel ban is known after a crash. But a store can fail: a full disk, a
//! read-only remount, a database another process locked. A failing store
//! must never stop a ban (an attacker who fills the disk with log lines
//! would otherwise stop being banned), so the recorder:
//!
//! * keeps bans the store refused in memory and retries them, oldest first,
//!   with back-off (1 s doubling to 30 s), and at every new write;
//! * holds log positions back while any ban is unrecorded: a position saved
//!   past the lines whose bans are not on disk would, after a crash, skip
//!   those lines, and lose the bans for good. Re-reading them is harmless
//!   (the pipeline bans an address once);
//! * says so once when the store starts failing and once when it recovers,
//!   and reports the degraded state to `status` meanwhile.
//!
//! The retry timer exists only while something is unrecorded: a healthy
//! idle daemon still never wakes.

use std::collections::HashMap;
use std::time::Duration;

use bantam_state::{BanRecord, FilePosition, StateError, Store};
use jiff::Timestamp;
use tokio::time::Instant;

use crate::error::chain;
use crate::log;

/// Bans per transaction: one commit for an ordinary batch (a source hands
/// out 256 KiB of lines at a time, some 2,300 failures at most), bounded
/// steps for a backlog, so that a nearly full disk takes what it can.
const CHUNK: usize = 4096;
const FIRST_RETRY: Duration = Duration::from_secs(1);
const LAST_RETRY: Duration = Duration::from_secs(30);
/// How often, at most, old history is purged (on the way of other work,
/// never by a timer of its own).
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// Why the store is not taking writes, and since when.
#[derive(Debug)]
struct Failing {
    reason: String,
    retry_at: Instant,
    backoff: Duration,
}

pub(crate) struct Recorder {
    store: Box<dyn Store>,
    unrecorded: Vec<BanRecord>,
    positions: HashMap<String, FilePosition>,
    failing: Option<Failing>,
    /// History older than this is purged (`dbpurgeage`).
    purge_age: Duration,
    last_purge: Option<Timestamp>,
}

impl Recorder {
    pub fn new(store: Box<dyn Store>, purge_age: Duration) -> Recorder {
        Recorder {
            store,
            unrecorded: Vec::new(),
            positions: HashMap::new(),
            failing: None,
            purge_age,
            last_purge: None,
        }
    }

    /// The store itself, for reads at start and for requests.
    pub fn store(&mut self) -> &mut dyn Store {
        self.store.as_mut()
    }

    pub fn set_purge_age(&mut self, age: Duration) {
        self.purge_age = age;
    }

    /// Writes `bans`, or queues them (a copy) when the store does not take
    /// them, and writes everything queued if the store lets us.
    pub fn record(&mut self, bans: &[BanRecord]) {
        if self.failing.is_none() && self.unrecorded.is_empty() {
            // Healthy: straight from the caller's records, copied only if
            // refused (a burst of a million spent a tenth of its time
            // copying records it then dropped).
            for (i, chunk) in bans.chunks(CHUNK).enumerate() {
                if let Err(e) = self.store.record_bans(chunk) {
                    self.unrecorded.extend_from_slice(&bans[i * CHUNK..]);
                    return self.fail(e);
                }
            }
        } else {
            self.unrecorded.extend_from_slice(bans);
        }
        self.flush();
    }

    /// Queues a log position; it is written only once no ban is waiting.
    pub fn save_position(&mut self, position: FilePosition) {
        self.positions.insert(position.path.clone(), position);
        self.flush();
    }

    /// Drops queued bans of `target` (in `jail`, or everywhere): a ban lifted
    /// before it reached the disk must not come back when it does.
    pub fn forget(&mut self, jail: Option<&str>, target: &str) {
        self.unrecorded
            .retain(|b| b.target != target || jail.is_some_and(|j| j != b.jail));
    }

    /// Forgets every queued ban (`unban --all`).
    pub fn forget_all(&mut self) {
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

    /// `None` when healthy; otherwise what `status` shows.
    pub fn degraded(&self) -> Option<String> {
        self.failing.as_ref().map(|f| {
            format!(
                "store failing ({}); {} ban(s) and {} log position(s) kept in memory, retrying",
                f.reason,
                self.unrecorded.len(),
                self.positions.len()
            )
        })
    }

    /// Bans waiting for the store.
    pub fn unrecorded(&self) -> usize {
        self.unrecorded.len()
    }

    fn flush(&mut self) {
        if let Err(e) = self.write() {
            self.fail(e);
            return;
        }
        if let Some(failing) = self.failing.take() {
            log::info(&format!(
                "state store recovered after: {}; every ban is recorded",
                failing.reason
            ));
        }
    }

    /// Bans first, positions only after every ban is on disk.
    fn write(&mut self) -> Result<(), StateError> {
        // In chunks, oldest first: a nearly full disk then takes what it
        // can hold instead of refusing the whole backlog at every retry.
        while !self.unrecorded.is_empty() {
            let n = self.unrecorded.len().min(CHUNK);
            self.store.record_bans(&self.unrecorded[..n])?;
            self.unrecorded.drain(..n);
        }
        if !self.positions.is_empty() {
            let positions: Vec<FilePosition> = self.positions.values().cloned().collect();
            self.store.save_positions(&positions)?;
            self.positions.clear();
        }
        Ok(())
    }

    fn fail(&mut self, error: StateError) {
        let reason = crate::error::chain(&error);
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

    /// Ends bans at `now` in the store, and purges old history at most once
    /// an hour; both ride on the expiry wake-up the loop has anyway.
    pub fn expire(&mut self, now: Timestamp) {
        if let Err(e) = self.store.expire(now) {
            log::error(&format!("ending bans in the store: {}", chain(&e)));
        }
        self.purge(now);
    }

    pub fn purge(&mut self, now: Timestamp) {
        let due = self
            .last_purge
            .is_none_or(|last| now.duration_since(last).unsigned_abs() >= PURGE_EVERY);
        if !due {
            return;
        }
        self.last_purge = Some(now);
        let age =
            jiff::SignedDuration::try_from(self.purge_age).unwrap_or(jiff::SignedDuration::MAX);
        let Ok(before) = now.checked_sub(age) else {
            return;
        };
        match self.store.purge_history(before) {
            Ok(0) => {}
            Ok(n) => log::info(&format!(
                "purged {n} ban(s) older than dbpurgeage from the history"
            )),
            Err(e) => log::error(&format!("purging ban history: {}", chain(&e))),
        }
    }
}
