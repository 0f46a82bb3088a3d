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
//! ([`crate::recorder::Recorder`] does that). At most one job is in flight,
//! which is also the back-pressure: a loop faster than the disk waits at
//! its next hand-off, not with an unbounded queue of records.
//!
//! The thread sleeps in `recv` between jobs (no wake-ups while idle) and
//! ends when the recorder drops its sender.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use bantam_state::{BanRecord, Store};
use tokio::sync::Notify;

use crate::error::chain;

/// Bans per transaction: one commit for an ordinary batch (a source hands
/// out 256 KiB of lines at a time, some 2,300 failures at most), bounded
/// steps for a backlog, so that a nearly full disk takes what it can.
pub(crate) const CHUNK: usize = 4096;

pub(crate) struct Job {
    pub store: Box<dyn Store>,
    pub bans: Vec<BanRecord>,
}

/// A job's outcome: the store back, and the bans it did not take.
pub(crate) struct Done {
    pub store: Box<dyn Store>,
    /// Empty unless the store failed; then the bans from the failing
    /// chunk on, oldest first.
    pub refused: Vec<BanRecord>,
    /// Why it failed, as the admin reads it.
    pub failure: Option<String>,
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

/// Writes the job's bans in chunks, oldest first, and stops at the first
/// chunk the store refuses. A panic in the store is a failure like any
/// other: the store comes back and the bans stay queued.
fn write(job: Job) -> Done {
    let Job { mut store, bans } = job;
    let mut written = 0;
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        for chunk in bans.chunks(CHUNK) {
            store.record_bans(chunk).map_err(|e| chain(&e))?;
            written += chunk.len();
        }
        Ok(())
    }));
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
        failure,
    }
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
        assert!(writer.send(Job { store, bans }).is_ok());
        let mut done = writer.wait().expect("the job comes back");
        assert!(done.failure.is_none() && done.refused.is_empty());
        assert_eq!(done.store.active_bans().unwrap().len(), CHUNK * 2 + 7);
    }
}
