//! [`FifoSource`]: lines from a named pipe, the fastest path from a syslog
//! daemon (`rsyslog`: `*.* |/run/bantam/auth.fifo`).
//!
//! A FIFO opened read-only reports end-of-file each time its last writer
//! closes it, and again at every read until a new writer opens it: a naive
//! tail either stops or spins. We open it read-write instead. As long as we
//! hold a write end ourselves, there is always a writer, so a read never
//! sees end-of-file: between writers it simply waits in epoll, and lines
//! from writer after writer arrive on the same descriptor.
//!
//! The price: we cannot tell when a writer left, so an unterminated line
//! from one writer is completed by whatever the next one writes. Syslog
//! daemons write whole lines, and a FIFO's writes of up to `PIPE_BUF` bytes
//! are atomic, so lines from concurrent writers do not interleave.

use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use tokio::net::unix::pipe;

use crate::batch::Batch;
use crate::error::SourceError;
use crate::source::{NextBatch, Source, SourceState};
use crate::stdin::ReaderSource;

/// Lines from a named pipe. Never ends; no checkpoints (a pipe cannot be
/// re-read).
#[derive(Debug)]
pub struct FifoSource {
    inner: ReaderSource<pipe::Receiver>,
}

impl FifoSource {
    /// Opens the FIFO at `path`, which must exist. Must be called on a
    /// tokio runtime with I/O enabled (the pipe registers with its reactor).
    pub fn open(path: impl AsRef<Path>) -> Result<FifoSource, SourceError> {
        let path = path.as_ref();
        let meta = std::fs::metadata(path).map_err(|e| SourceError::io(path, "open", e))?;
        if !meta.file_type().is_fifo() {
            return Err(SourceError::WrongKind {
                path: path.to_path_buf(),
                expected: "not a FIFO (create one with mkfifo)",
            });
        }
        let receiver = pipe::OpenOptions::new()
            .read_write(true)
            .open_receiver(path)
            .map_err(|e| SourceError::io(path, "open", e))?;
        Ok(FifoSource {
            inner: ReaderSource::new(path, receiver),
        })
    }

    /// The next whole lines. Waits, without waking the process, for a
    /// writer to write some. Cancel-safe.
    pub async fn next_batch(&mut self) -> Result<Batch, SourceError> {
        match self.inner.next_batch().await? {
            Some(batch) => Ok(batch),
            // With our own write end open the pipe cannot end. Should it
            // anyway, say so rather than return `None` forever (a caller's
            // loop would spin).
            None => Err(SourceError::io(
                self.inner.path(),
                "read",
                std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "FIFO reported end of file",
                ),
            )),
        }
    }
}

impl Source for FifoSource {
    fn next_batch(&mut self) -> NextBatch<'_> {
        Box::pin(async move { FifoSource::next_batch(self).await.map(Some) })
    }

    fn state(&self) -> SourceState {
        // Between writers the pipe is simply quiet: still following.
        SourceState::Following
    }

    fn name(&self) -> &str {
        Source::name(&self.inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    type R = Result<(), Box<dyn std::error::Error>>;

    fn mkfifo(path: &Path) -> std::io::Result<()> {
        // No libc in the library's dependencies; the tool is everywhere.
        let status = std::process::Command::new("mkfifo").arg(path).status()?;
        if status.success() {
            Ok(())
        } else {
            Err(std::io::Error::other("mkfifo failed"))
        }
    }

    #[test]
    fn lines_from_successive_writers() -> R {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("in.fifo");
        mkfifo(&path)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        rt.block_on(async {
            let mut src = FifoSource::open(&path)?;
            // Writers open, write, close; as documented, a line left
            // unterminated by one is completed by the next.
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)?
                .write_all(b"a\nb")?;
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)?
                .write_all(b"c\nd\n")?;
            let mut lines = Vec::new();
            while lines.len() < 3 {
                let batch = src.next_batch().await?;
                assert_eq!(&*batch.path, path.as_path());
                lines.extend(batch.lines().map(<[u8]>::to_vec));
            }
            assert_eq!(lines, [&b"a"[..], b"bc", b"d"]);
            Ok(())
        })
    }
}
