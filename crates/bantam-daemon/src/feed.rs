//! One task per log: reads batches from whatever kind of source a `logpath`
//! names and forwards them to the daemon's loop.
//!
//! A `logpath` is a file or glob (followed across rotations), a named pipe
//! (point syslog at one for the fastest path), or `-` for standard input.

use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use crate::sources::SourceHealth;
use bantam_source::{Batch, Checkpoint, FifoSource, FileSource, SourceError, StartAt, StdinSource};

/// Any of the sources a jail can read.
pub enum LogSource {
    // Boxed: one per log, created once, and the others are small.
    File(Box<FileSource>),
    Fifo(FifoSource),
    Stdin(StdinSource),
}

impl LogSource {
    /// Opens what `pattern` names. Files without a saved position are read
    /// from their beginning: failures older than `findtime` are ignored by
    /// the jail, recent ones still count after a restart.
    pub fn open(pattern: &str, checkpoints: &[Checkpoint]) -> Result<LogSource, SourceError> {
        if pattern == "-" {
            return Ok(LogSource::Stdin(StdinSource::stdin()));
        }
        let is_fifo = std::fs::metadata(Path::new(pattern)).is_ok_and(|m| m.file_type().is_fifo());
        if is_fifo {
            return Ok(LogSource::Fifo(FifoSource::open(pattern)?));
        }
        let file = FileSource::new(pattern, StartAt::Beginning, checkpoints)?;
        Ok(LogSource::File(Box::new(file)))
    }

    /// The next batch; `None` when the source has ended (standard input).
    pub(crate) async fn next(&mut self) -> Result<Option<Batch>, SourceError> {
        match self {
            LogSource::File(s) => s.next_batch().await.map(Some),
            LogSource::Fifo(s) => s.next_batch().await.map(Some),
            LogSource::Stdin(s) => s.next_batch().await,
        }
    }

    /// What the source is doing, as of its last batch.
    pub(crate) fn health(&self) -> SourceHealth {
        SourceHealth::Following
    }
}
