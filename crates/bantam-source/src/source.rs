//! [`Source`]: what the daemon codes against, whatever a `logpath` names,
//! and [`open`], which picks the kind of source from the `logpath`.
//!
//! A new kind of source is one file implementing [`Source`] plus one arm in
//! [`Kind::of`]: the daemon does not change.

use std::future::Future;
use std::os::unix::fs::FileTypeExt;
use std::pin::Pin;

use crate::batch::Batch;
use crate::checkpoint::{Checkpoint, StartAt};
use crate::cmd::{CmdSource, CMD_SCHEME};
use crate::error::SourceError;
use crate::fifo::FifoSource;
use crate::file_source::FileSource;
use crate::journal::{JournalSource, JOURNAL_SCHEME};
use crate::stdin::StdinSource;
use crate::syslog::SyslogSource;

/// The future [`Source::next_batch`] returns.
pub type NextBatch<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Batch>, SourceError>> + Send + 'a>>;

/// A source of log lines, of any kind.
///
/// Errors leave the source usable: after an `Err` (which names the path and
/// the operation), calling [`next_batch`](Source::next_batch) again retries
/// what failed, re-opening what it needs. The caller should wait a little
/// (a back-off) before calling again, since the cause (too many open files,
/// a permission) may last.
pub trait Source: Send {
    /// The next batch; `Ok(None)` when the source has ended for good
    /// (standard input at EOF). Cancel-safe: dropping the future loses
    /// nothing.
    fn next_batch(&mut self) -> NextBatch<'_>;

    /// What the source is doing now, for `bantam status`.
    fn state(&self) -> SourceState;

    /// A short name for messages: the `logpath` as given.
    fn name(&self) -> &str;
}

/// What a source is doing, as [`Source::state`] tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceState {
    /// Reading, or waiting in epoll for its input to grow.
    Following,
    /// Waiting for something outside bantam: a file or directory to appear,
    /// or the cause of the last error to go away.
    Waiting {
        /// What it waits for, for a person ("no such file or directory:
        /// /var/log/nginx").
        reason: String,
    },
    /// Ended for good (standard input at EOF).
    Ended,
}

/// What a `logpath` names.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Stdin,
    Fifo,
    Files,
    Journal,
    Syslog,
    Cmd,
}

/// How [`open_with`] opens what is not a file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// `journal:` reads the journal files of this directory instead of
    /// the system journal (`[daemon] journal-dir`).
    pub journal_dir: Option<std::path::PathBuf>,
}

/// Whether `logpath` has one of the schemes [`open`] knows (`journal:`,
/// `syslog+udp://`, `syslog+tcp://`, `syslog+unix://`, `cmd:`): it names
/// no file, so it is never made absolute or looked for on disk.
pub fn has_scheme(logpath: &str) -> bool {
    Kind::scheme(logpath).is_some()
}

impl Kind {
    fn scheme(logpath: &str) -> Option<Kind> {
        if logpath.starts_with(JOURNAL_SCHEME) {
            return Some(Kind::Journal);
        }
        if logpath.starts_with("syslog+") {
            return Some(Kind::Syslog);
        }
        if logpath.starts_with(CMD_SCHEME) {
            return Some(Kind::Cmd);
        }
        None
    }

    fn of(logpath: &str) -> Kind {
        if let Some(kind) = Kind::scheme(logpath) {
            return kind;
        }
        if logpath == "-" {
            return Kind::Stdin;
        }
        // Only an existing FIFO is one: a missing path is a file to wait for.
        if std::fs::metadata(logpath).is_ok_and(|m| m.file_type().is_fifo()) {
            return Kind::Fifo;
        }
        Kind::Files
    }
}

/// Opens what a `logpath` names: `-` is standard input, an existing FIFO is
/// read as one, anything else is a file or a file-name glob, followed
/// across rotations (see the crate documentation) and waited for if it, or
/// its directory, does not exist yet.
///
/// Files are resumed from their entry in `checkpoints` (entries for other
/// paths are ignored); files without one are read from their beginning:
/// the daemon ignores failures older than `findtime`, and recent ones still
/// count after a restart.
///
/// Must be called on a tokio runtime with I/O enabled (a FIFO registers
/// with its reactor).
pub fn open(logpath: &str, checkpoints: &[Checkpoint]) -> Result<Box<dyn Source>, SourceError> {
    open_with(logpath, checkpoints, &OpenOptions::default())
}

/// [`open`], and the schemes: `journal:FIELD=VALUE…` ([`JournalSource`],
/// resumed from its entry in `checkpoints`), `syslog+udp://ADDR:PORT`,
/// `syslog+tcp://ADDR:PORT`, `syslog+unix:///PATH` ([`SyslogSource`],
/// bound now) and `cmd:ARGV…` ([`CmdSource`]).
pub fn open_with(
    logpath: &str,
    checkpoints: &[Checkpoint],
    options: &OpenOptions,
) -> Result<Box<dyn Source>, SourceError> {
    Ok(match Kind::of(logpath) {
        Kind::Stdin => Box::new(StdinSource::stdin()),
        Kind::Fifo => Box::new(FifoSource::open(logpath)?),
        Kind::Files => Box::new(FileSource::new(logpath, StartAt::Beginning, checkpoints)?),
        Kind::Journal => Box::new(JournalSource::new(
            logpath,
            options.journal_dir.as_deref(),
            checkpoints,
        )?),
        Kind::Syslog => Box::new(SyslogSource::bind(logpath)?),
        Kind::Cmd => Box::new(CmdSource::new(logpath)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_of_logpath() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let fifo = dir.path().join("in.fifo");
        let status = std::process::Command::new("mkfifo").arg(&fifo).status()?;
        assert!(status.success());
        assert_eq!(Kind::of("-"), Kind::Stdin);
        assert_eq!(Kind::of(&fifo.to_string_lossy()), Kind::Fifo);
        assert_eq!(Kind::of("/nonexistent-bantam/x.log"), Kind::Files);
        assert_eq!(Kind::of(&dir.path().to_string_lossy()), Kind::Files);
        assert_eq!(Kind::of("journal:_SYSTEMD_UNIT=ssh.service"), Kind::Journal);
        assert_eq!(Kind::of("syslog+udp://127.0.0.1:5514"), Kind::Syslog);
        assert_eq!(Kind::of("cmd:docker logs -f web"), Kind::Cmd);
        assert!(has_scheme("cmd:x") && !has_scheme("/var/log/cmd:x"));
        Ok(())
    }
}
