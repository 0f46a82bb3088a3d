//! The thread that writes bans to the store while the loop goes on.
//!
//! Recording a ban is six B-tree inserts in SQLite, about a third of what
//! a burst of new attackers costs the loop; the kernel ban, the log line
//! and the ban index are the rest. On a second core the two halves run
//! side by side: the loop hands a batch's records over and goes on to the
//! next batch while this thread commits them.
//!
//! The store itself travels with the job and comes back with the result,
//! so it has one owner at a time and needs no lock: while a write is in
//! flight the loop has no store, and anything that needs one (a read, a
//! log position, an unban) first waits for the write to come back
//! ([`crate::recorder::Recorder`] does that). At most one job is in flight;
//! bans that come meanwhile wait in the recorder and go as the next job,
//! all at once.
//!
//! A job is written in (jail, address) order. A botnet's addresses come in
//! no order, and each ban adds a key to two indexes ordered by address: in
//! arrival order every insert lands on another page of a large index, so a
//! commit writes a page (4 KiB) per ban. Sorted, consecutive inserts share
//! pages, and the bigger the job the more they share: a million random
//! addresses took 84 µs a ban in batches of 2,300 as they came, 74 sorted,
//! and 7.6 µs sorted in jobs of 65,536 (bantam-state's
//! `examples/record_burst.rs`). The sort is stable, so two records of one
//! ban (a ban and its extension) keep their order.
//!
//! The thread sleeps in `recv` between jobs (no wake-ups while idle) and
//! ends when the recorder drops its sender.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use bantam_state::{BanRecord, FilePosition, Store};
use jiff::Timestamp;
use tokio::sync::Notify;

use crate::error::chain;
use crate::log;

/// Bans per transaction: one commit for an ordinary batch (a source hands
/// out 256 KiB of lines at a time, some 2,300 failures at most), bounded
/// steps for a backlog, so that a nearly full disk takes what it can.
pub(crate) const CHUNK: usize = 4096;
/// Ended bans moved to the history per job: some 50 ms of SQLite.
const END_PER_JOB: usize = 16_384;

pub(crate) struct Job {
    pub store: Box<dyn Store>,
    /// As the loop's batches came: joined here, off the loop.
    pub bans: Vec<Vec<BanRecord>>,
    /// Log positions whose lines' bans are all in this job or on disk:
    /// saved once the bans are.
    pub positions: Vec<FilePosition>,
    /// Done after the bans, so a ban recorded before it (an extension of
    /// an ending ban) is in `bans` when the ended ones move out.
    pub upkeep: Upkeep,
}

/// The store's share of ending bans, which rides with the next job
/// instead of waiting on the loop (see `expiry.rs`).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(crate) struct Upkeep {
    /// Moves the bans ended by then to the history.
    pub end_by: Option<Timestamp>,
    /// Purges one part of the history older than this (`dbpurgeage`).
    pub purge_before: Option<Timestamp>,
    /// Moves every current ban to the history first (`unban --all`; see
    /// `Recorder::remove_all_soon`). Only a job's writer does this.
    pub remove_all: bool,
}

impl Upkeep {
    pub fn is_empty(&self) -> bool {
        *self == Upkeep::default()
    }

    /// Does it, on whichever thread holds the store, and returns what is
    /// left: a wave's ended bans go [`END_PER_JOB`] at a time, so a ban or
    /// a request behind them waits for one share, not for the wave. How
    /// ending went (`None`: not tried) comes back for the recorder to
    /// tell once (a wave is many jobs); what failed is left for the next
    /// end, which takes every ended ban.
    pub fn run(self, store: &mut dyn Store) -> (Upkeep, Ending) {
        let mut left = Upkeep::default();
        let ending = self
            .end_by
            .map(|now| match store.end_bans(now, END_PER_JOB) {
                Ok(n) => {
                    if n >= END_PER_JOB {
                        left.end_by = Some(now);
                    }
                    Ok(())
                }
                Err(e) => Err(chain(&e)),
            });
        match self.purge_before.map(|before| store.purge_history(before)) {
            None | Some(Ok(0)) => {}
            Some(Ok(n)) => log::info(&format!(
                "purged {n} ban(s) older than dbpurgeage from the history"
            )),
            Some(Err(e)) => log::error(&format!("purging ban history: {}", chain(&e))),
        }
        (left, ending)
    }
}

/// How ending bans in the store went: `None` when it was not tried.
pub(crate) type Ending = Option<Result<(), String>>;

/// How moving every ban to the history went (how many), when asked.
pub(crate) type Removed = Option<Result<usize, String>>;

/// A job's outcome: the store back, and what it did not take.
pub(crate) struct Done {
    pub store: Box<dyn Store>,
    /// Empty unless the store failed; then the bans from the failing
    /// chunk on.
    pub refused: Vec<BanRecord>,
    /// The positions, unless they were saved.
    pub positions: Vec<FilePosition>,
    /// Why it failed, as the admin reads it.
    pub failure: Option<String>,
    /// The upkeep not done yet, for the next job.
    pub upkeep_left: Upkeep,
    pub ending: Ending,
    pub removed: Removed,
}

pub(crate) struct StoreWriter {
    jobs: Option<Sender<Job>>,
    done: Receiver<Done>,
    wake: Arc<Notify>,
    thread: Option<JoinHandle<()>>,
}

impl StoreWriter {
    pub fn spawn() -> std::io::Result<StoreWriter> {
        let (jobs, inbox) = mpsc::channel::<Job>();
        let (outbox, done) = mpsc::channel::<Done>();
        let wake = Arc::new(Notify::new());
        let woken = wake.clone();
        let thread = std::thread::Builder::new()
            .name("bantam-recorder".into())
            .spawn(move || {
                for job in inbox {
                    if outbox.send(write(job)).is_err() {
                        return;
                    }
                    woken.notify_one();
                }
            })?;
        Ok(StoreWriter {
            jobs: Some(jobs),
            done,
            wake,
            thread: Some(thread),
        })
    }

    /// Hands `job` to the thread; gives it back if the thread is gone.
    pub fn send(&self, job: Job) -> Result<(), Job> {
        match &self.jobs {
            Some(jobs) => jobs.send(job).map_err(|e| e.0),
            None => Err(job),
        }
    }

    /// Blocks until the job in flight comes back. `None` only if the
    /// thread died, which [`write`] prevents by catching panics.
    pub fn wait(&self) -> Option<Done> {
        self.done.recv().ok()
    }

    /// The job in flight, if it is back already.
    pub fn try_done(&self) -> Option<Done> {
        self.done.try_recv().ok()
    }

    /// Notified each time a job comes back, for the loop to collect it.
    pub fn wake(&self) -> Arc<Notify> {
        self.wake.clone()
    }
}

impl Drop for StoreWriter {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Writes the job's bans in chunks, in (jail, address) order, then its
/// positions, and stops at the first chunk the store refuses. A panic in
/// the store is a failure like any other: the store comes back and the
/// bans stay queued.
fn write(job: Job) -> Done {
    let Job {
        mut store,
        bans,
        positions,
        upkeep,
    } = job;
    let mut bans = join(bans);
    bans.sort_by(|a, b| (&a.jail, &a.target).cmp(&(&b.jail, &b.target)));
    let mut written = 0;
    let mut saved = false;
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        for chunk in bans.chunks(CHUNK) {
            store.record_bans(chunk).map_err(|e| chain(&e))?;
            written += chunk.len();
        }
        if !positions.is_empty() {
            store.save_positions(&positions).map_err(|e| chain(&e))?;
        }
        saved = true;
        Ok(())
    }));
    // Before the ending and the purge, which then find nothing to end.
    let removed = upkeep.remove_all.then(|| {
        catch_unwind(AssertUnwindSafe(|| {
            store.remove_all(None).map_err(|e| chain(&e))
        }))
        .unwrap_or_else(|_| Err("the store panicked".to_owned()))
    });
    let (upkeep_left, ending) = match upkeep.is_empty() {
        true => (Upkeep::default(), None),
        false => {
            catch_unwind(AssertUnwindSafe(|| upkeep.run(store.as_mut()))).unwrap_or_else(|_| {
                (
                    Upkeep::default(),
                    Some(Err("the store panicked".to_owned())),
                )
            })
        }
    };
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(reason)) => Some(reason),
        Err(_) => Some("the store panicked while recording bans".to_owned()),
    };
    let refused = match failure {
        None => Vec::new(),
        Some(_) => bans.into_iter().skip(written).collect(),
    };
    Done {
        store,
        refused,
        positions: if saved { Vec::new() } else { positions },
        failure,
        upkeep_left,
        ending,
        removed,
    }
}

/// One vector of the job's batches, allocated once.
fn join(mut batches: Vec<Vec<BanRecord>>) -> Vec<BanRecord> {
    if batches.len() == 1 {
        return batches.pop().unwrap_or_default();
    }
    let mut all = Vec::with_capacity(batches.iter().map(Vec::len).sum());
    batches.into_iter().for_each(|batch| all.extend(batch));
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use bantam_state::SqliteStore;
    use jiff::Timestamp;

    fn ban(i: u32) -> BanRecord {
        BanRecord {
            jail: "sshd".into(),
            target: format!("198.18.{}.{}", i >> 8, i & 255),
            start: Timestamp::UNIX_EPOCH,
            end: None,
            failures: 1,
            ban_count: 1,
            matches: vec![],
            reason: None,
        }
    }

    #[test]
    fn writes_every_chunk_and_returns_the_store() {
        let store = Box::new(SqliteStore::open(std::path::Path::new(":memory:")).unwrap());
        let writer = StoreWriter::spawn().unwrap();
        let bans: Vec<BanRecord> = (0..(CHUNK as u32 * 2 + 7)).map(ban).collect();
        let job = Job {
            store,
            bans: vec![bans],
            positions: vec![],
            upkeep: Upkeep::default(),
        };
        assert!(writer.send(job).is_ok());
        let mut done = writer.wait().expect("the job comes back");
        assert!(done.failure.is_none() && done.refused.is_empty());
        assert_eq!(done.store.active_bans().unwrap().len(), CHUNK * 2 + 7);
    }

    fn position(offset: u64) -> FilePosition {
        FilePosition {
            path: "/var/log/auth.log".into(),
            dev: 1,
            inode: 2,
            offset,
            fingerprint: 3,
        }
    }

    /// Coalescing in the recorder: bans recorded while a job is in flight
    /// go as the next job, positions only with or after their bans, and
    /// `settle` leaves nothing behind. A ban and its extension, two records
    /// of one key, keep their order through the writer's sort.
    #[test]
    fn bans_queued_behind_a_write_follow_it_with_their_positions() {
        use crate::recorder::Recorder;
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("bantam.db")).unwrap();
        let mut recorder = Recorder::new(Box::new(store), std::time::Duration::from_secs(60));
        // Descending, so the sort has something to do.
        let mut first: Vec<BanRecord> = (0..200).rev().map(ban).collect();
        let extended = BanRecord {
            end: Some(Timestamp::from_second(3600).unwrap()),
            ..ban(250)
        };
        recorder.record(std::mem::take(&mut first));
        assert!(recorder.in_flight(), "a batch of 200 goes to the thread");
        recorder.save_position(position(100));
        recorder.record((200..300).rev().map(ban).chain([extended]).collect());
        recorder.save_position(position(200));
        recorder.settle();
        assert!(!recorder.in_flight());
        let store = recorder.store();
        let bans = store.active_bans().unwrap();
        assert_eq!(bans.len(), 300);
        let extended = bans.iter().find(|b| b.target == "198.18.0.250").unwrap();
        assert!(
            extended.end.is_some(),
            "the extension stays the ban's last record"
        );
        assert_eq!(store.load_positions().unwrap()[0].offset, 200);
    }

    /// Ending bans in the store never waits for the write in flight: it
    /// goes with the next job, after that job's bans, so an extension
    /// recorded before the end (a source still knocking) stays current.
    #[test]
    fn ending_rides_with_the_next_job_after_its_bans() {
        use crate::recorder::Recorder;
        let at = |s| Timestamp::from_second(s).unwrap();
        let ending = |i| BanRecord {
            end: Some(at(100)),
            ..ban(i)
        };
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("bantam.db")).unwrap();
        let mut recorder = Recorder::new(Box::new(store), std::time::Duration::from_secs(3600));
        recorder.record((0..200).map(ending).collect());
        assert!(recorder.in_flight());
        assert!(recorder.unwritten_ending_by(at(100)) && !recorder.unwritten_ending_by(at(99)));
        let extended = BanRecord {
            end: Some(at(1_000)),
            ..ban(5)
        };
        recorder.record(vec![extended]);
        recorder.expire(at(500));
        assert!(
            recorder.in_flight(),
            "the end waits for its job, the loop does not"
        );
        recorder.settle();
        assert!(!recorder.unwritten_ending_by(at(500)), "all on disk");
        let left = recorder.store().active_bans().unwrap();
        let left: Vec<&str> = left.iter().map(|b| b.target.as_str()).collect();
        assert_eq!(left, ["198.18.0.5"]);
        let counts = recorder
            .store()
            .ban_counts_since(None, &["198.18.0.7".to_owned()], at(0))
            .unwrap();
        assert_eq!(counts, [1], "an ended ban counts, from the history");
    }
}
