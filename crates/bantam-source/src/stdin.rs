//! [`StdinSource`], and [`ReaderSource`] under it: lines from a byte stream
//! that cannot be re-read, so without checkpoints.
//!
//! Standard input ends; its end ends the source ([`ReaderSource::next_batch`]
//! returns `None`), after handing out an unterminated last line as a line.
//! `tokio::io::stdin` reads on tokio's blocking pool: a terminal or file on
//! fd 0 cannot be made non-blocking without affecting whoever else shares
//! it. The blocking thread sleeps in `read(2)`, so an idle stdin costs no
//! wake-ups either.

use std::path::Path;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, Stdin};

use crate::batch::{Batch, Splitter, Taken};
use crate::error::SourceError;
use crate::source::{NextBatch, Source, SourceState};

const CHUNK: usize = 64 * 1024;

/// Lines from any async reader; the building block of [`StdinSource`] and
/// [`FifoSource`](crate::FifoSource).
#[derive(Debug)]
pub struct ReaderSource<R> {
    name: Arc<Path>,
    /// `name` for messages.
    label: String,
    reader: R,
    split: Splitter,
    buf: Box<[u8]>,
    ended: bool,
}

/// Lines from standard input. Its batches are named `-`.
pub type StdinSource = ReaderSource<Stdin>;

impl ReaderSource<Stdin> {
    /// Reads the process's standard input.
    pub fn stdin() -> StdinSource {
        ReaderSource::new(Path::new("-"), tokio::io::stdin())
    }
}

impl<R: AsyncRead + Unpin> ReaderSource<R> {
    /// Reads `reader`; `name` names its batches and errors.
    pub fn new(name: &Path, reader: R) -> ReaderSource<R> {
        ReaderSource {
            name: Arc::from(name),
            label: name.to_string_lossy().into_owned(),
            reader,
            split: Splitter::default(),
            buf: vec![0; CHUNK].into_boxed_slice(),
            ended: false,
        }
    }

    /// The next whole lines; `None` once the stream has ended and every
    /// line was handed out. Cancel-safe as far as `R::poll_read` is (tokio's
    /// stdin and pipes are): bytes are only taken in after a read completed.
    pub async fn next_batch(&mut self) -> Result<Option<Batch>, SourceError> {
        let mut out = Taken::default();
        while !self.ended {
            let n = match self.reader.read(&mut self.buf).await {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(SourceError::io(&*self.name, "read", e)),
            };
            if n == 0 {
                self.ended = true;
                self.split.finish(&mut out);
                break;
            }
            self.split.push(&self.buf[..n], &mut out);
            if !out.is_empty() {
                break;
            }
        }
        Ok((!out.is_empty()).then(|| Batch::new(self.name.clone(), out, None)))
    }

    /// The name batches and errors carry.
    pub fn path(&self) -> &Path {
        &self.name
    }

    /// The reader itself.
    pub fn get_ref(&self) -> &R {
        &self.reader
    }
}

impl<R: AsyncRead + Unpin + Send> Source for ReaderSource<R> {
    fn next_batch(&mut self) -> NextBatch<'_> {
        Box::pin(ReaderSource::next_batch(self))
    }

    fn state(&self) -> SourceState {
        // `ended` is set with the last batch; `None` follows.
        if self.ended {
            SourceState::Ended
        } else {
            SourceState::Following
        }
    }

    fn name(&self) -> &str {
        &self.label
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_then_unterminated_tail_then_end() -> Result<(), SourceError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|e| SourceError::io("-", "build runtime", e))?;
        rt.block_on(async {
            let mut src = ReaderSource::new(Path::new("mem"), &b"one\ntwo\nthree"[..]);
            let mut lines = Vec::new();
            while let Some(b) = src.next_batch().await? {
                assert!(b.checkpoint.is_none());
                lines.extend(b.lines().map(|l| String::from_utf8_lossy(l).into_owned()));
            }
            assert_eq!(lines, ["one", "two", "three"]);
            assert!(src.next_batch().await?.is_none());
            Ok(())
        })
    }
}
