//! [`CmdSource`]: `cmd:ARGV…`, a command whose output is the log
//! (`cmd:docker logs -f --since 0s web`, `cmd:kubectl logs -f deploy/web`).
//!
//! The argument list is split like shell words (`words.rs`) and run
//! without a shell. Standard output and standard error are one pipe, so
//! the lines keep their order. The command leads its own process group,
//! which is killed when the source is dropped (the daemon stops or a
//! reload removes the logpath) and signalled by the kernel if bantam dies
//! (see `child.rs`).
//!
//! When the output ends (the command exited), its last lines are handed
//! out, then `next_batch` reports how it ended as an error; the daemon's
//! supervisor backs off (100 ms doubling to 30 s while it keeps failing)
//! and calls again, which starts the command again. The crate keeps no
//! timer of its own. Lines are not checkpointed: whether a restarted
//! command repeats old lines is the command's business (`docker logs
//! --since`), and failures older than `findtime` do not count anyway.

use std::path::Path;
use std::sync::Arc;

use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;

use crate::batch::{Batch, Splitter, Taken};
use crate::child::{describe, Child};
use crate::error::SourceError;
use crate::source::{NextBatch, Source, SourceState};
use crate::words::split_words;

const CHUNK: usize = 64 * 1024;

/// The scheme prefix.
pub const CMD_SCHEME: &str = "cmd:";

/// Lines from a command's output; see the module documentation.
pub struct CmdSource {
    name: String,
    path: Arc<Path>,
    argv: Vec<String>,
    running: Option<(Child, pipe::Receiver)>,
    split: Splitter,
    chunk: Box<[u8]>,
    /// How the command last ended, until it runs again.
    ended: Option<String>,
    /// That end was not reported by `next_batch` yet.
    unreported: bool,
}

impl CmdSource {
    /// Checks `logpath` (`cmd:…`); starts nothing until `next_batch`.
    pub fn new(logpath: &str) -> Result<CmdSource, SourceError> {
        let spec = logpath.strip_prefix(CMD_SCHEME).unwrap_or(logpath);
        let argv = split_words(spec).map_err(|reason| SourceError::Scheme {
            logpath: logpath.to_owned(),
            reason,
        })?;
        Ok(CmdSource {
            name: logpath.to_owned(),
            path: Arc::from(Path::new(logpath)),
            argv,
            running: None,
            split: Splitter::default(),
            chunk: vec![0; CHUNK].into_boxed_slice(),
            ended: None,
            unreported: false,
        })
    }

    /// The next lines; starts the command if it is not running. Its end is
    /// reported as an error after its last lines. Cancel-safe.
    pub async fn next_batch(&mut self) -> Result<Batch, SourceError> {
        if self.unreported {
            return Err(self.exited());
        }
        if self.running.is_none() {
            let started = Child::spawn(&self.argv, true)
                .map_err(|e| SourceError::io(&*self.path, "start", e))?;
            self.running = Some(started);
            self.ended = None;
            self.split.clear();
        }
        let mut out = Taken::default();
        loop {
            let Some((child, pipe)) = &mut self.running else {
                unreachable!("started above")
            };
            let n = match pipe.read(&mut self.chunk).await {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(SourceError::io(&*self.path, "read the output of", e)),
            };
            if n > 0 {
                self.split.push(&self.chunk[..n], &mut out);
                if out.is_empty() {
                    continue;
                }
                return Ok(Batch::new(self.path.clone(), out, None));
            }
            self.split.finish(&mut out);
            let status = child.finish();
            self.running = None;
            self.ended = Some(match status {
                Ok(status) => format!("command {}", describe(status)),
                Err(e) => format!("command ended (cannot collect its status: {e})"),
            });
            self.unreported = true;
            if out.is_empty() {
                return Err(self.exited());
            }
            return Ok(Batch::new(self.path.clone(), out, None));
        }
    }

    fn exited(&mut self) -> SourceError {
        self.unreported = false;
        let why = self.ended.clone().unwrap_or_default();
        SourceError::io(&*self.path, "follow", std::io::Error::other(why))
    }
}

impl Source for CmdSource {
    fn next_batch(&mut self) -> NextBatch<'_> {
        Box::pin(async move { CmdSource::next_batch(self).await.map(Some) })
    }

    fn state(&self) -> SourceState {
        match &self.ended {
            Some(why) => SourceState::Waiting {
                reason: format!("{why}; restarting it"),
            },
            None => SourceState::Following,
        }
    }

    fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type R = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn lines_of_both_streams_then_end_then_restart() -> R {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        rt.block_on(async {
            let mut src =
                CmdSource::new("cmd:sh -c 'echo one; echo two >&2; printf three; exit 2'")?;
            for _round in 0..2 {
                let mut lines = Vec::new();
                let err = loop {
                    match src.next_batch().await {
                        Ok(b) => lines.extend(b.lines().map(<[u8]>::to_vec)),
                        Err(e) => break e,
                    }
                };
                assert_eq!(lines, [&b"one"[..], b"two", b"three"]);
                assert!(err.to_string().contains("exited with status 2"), "{err}");
                assert!(matches!(src.state(), SourceState::Waiting { .. }));
            }
            Ok(())
        })
    }

    #[test]
    fn a_command_that_cannot_start_says_so() -> R {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        rt.block_on(async {
            let mut src = CmdSource::new("cmd:/nonexistent/tool -f")?;
            let err = src.next_batch().await.err().ok_or("started")?;
            assert!(
                err.to_string()
                    .starts_with("cannot start cmd:/nonexistent/tool -f"),
                "{err}"
            );
            assert!(CmdSource::new("cmd:echo 'x").is_err());
            Ok(())
        })
    }
}
