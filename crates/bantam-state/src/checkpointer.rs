//! WAL checkpoints off the ban path.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its
//! threshold, with two fsyncs: a few milliseconds, on whichever ban happens
//! to be the unlucky one. The daemon writes the store before the kernel, so
//! that pause would land between an attacker's failure and the ban. Instead,
//! automatic checkpoints are off and this thread, with its own connection,
//! runs a PASSIVE checkpoint (which never blocks writers) when nudged after
//! enough commits. It sleeps on a channel otherwise: no timer, no wake-ups
//! while the daemon is idle.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::thread::JoinHandle;

use rusqlite::Connection;

use crate::sqlite::WAL_SIZE_LIMIT;

/// Commits between nudges; with a few pages per ban batch this keeps the
/// WAL to a few megabytes.
pub(crate) const COMMITS_PER_CHECKPOINT: u32 = 64;

/// A WAL this long is restarted, not only copied back.
///
/// A PASSIVE checkpoint copies the WAL into the database but never waits,
/// and the writer starts the WAL over only when a checkpoint has copied all
/// of it. A burst writes without a pause, so the checkpoint never catches
/// up and the WAL grows for as long as the burst lasts: 1.5 GB for 300,000
/// random addresses, every new block zeroed by the file system on the
/// writer's time. Past this length the checkpoint waits (RESTART) until the
/// writer can start over: the writer pauses for one copy, and the WAL
/// stays near its limit (300,000: 135 MB on disk in all, 4% faster).
const RESTART_ABOVE: u64 = 2 * WAL_SIZE_LIMIT as u64;

fn wal_len(wal: &Path) -> u64 {
    std::fs::metadata(wal).map_or(0, |m| m.len())
}

pub(crate) struct Checkpointer {
    nudge: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread on its own connection to `path`.
    pub fn start(path: &Path) -> rusqlite::Result<Checkpointer> {
        let conn = Connection::open(path)?;
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        let wal = PathBuf::from(wal);
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // A bound of one coalesces nudges that arrive while a checkpoint runs.
        let (nudge, wait) = sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("bantam-checkpoint".into())
            .spawn(move || {
                while wait.recv().is_ok() {
                    // Failure only means the WAL stays longer until next time.
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                    if wal_len(&wal) > RESTART_ABOVE {
                        let _ = conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()));
                    }
                }
            })
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        Ok(Checkpointer {
            nudge: Some(nudge),
            thread: Some(thread),
        })
    }

    /// Asks for a checkpoint; never waits.
    pub fn nudge(&self) {
        if let Some(n) = &self.nudge {
            match n.try_send(()) {
                Ok(()) | Err(TrySendError::Full(())) | Err(TrySendError::Disconnected(())) => {}
            }
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // Closing the channel ends the thread after any checkpoint under way.
        self.nudge.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
