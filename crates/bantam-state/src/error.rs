//! The crate's error type.
//!
//! Every message names the database (or directory) and what bantam was doing,
//! then the cause, once: "state database /var/lib/bantam/bantam.db: recording
//! bans: database or disk is full". The daemon logs errors with `{e}`, so the
//! message must be complete on its own; the cause is therefore printed by
//! `Display` and kept in the variant's `cause` field, and `source()` returns
//! nothing. Were it also the `source()`, `{:#}` (the CLI) would print it a
//! second time, and rusqlite's own chain (message, then "Error code N: ...")
//! a third.

use std::io;
use std::path::{Path, PathBuf};

/// Why the state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The state directory could not be created.
    #[error("cannot create state directory {}: {cause}", path.display())]
    Directory { path: PathBuf, cause: io::Error },
    /// The database, or the directory that must hold its `-wal` and `-shm`
    /// files, cannot be written (read-only file system, immutable file,
    /// permissions). `path` is the one that is not writable.
    #[error("{what} {} is not writable: {cause}", path.display())]
    NotWritable {
        /// "state database" or "state directory".
        what: &'static str,
        path: PathBuf,
        cause: io::Error,
    },
    /// SQLite failed while `action` was under way.
    #[error("state database {}: {action}: {cause}", path.display())]
    Sqlite {
        path: PathBuf,
        action: &'static str,
        cause: rusqlite::Error,
    },
    /// A file operation on the database failed (creating it, moving a
    /// corrupt one aside).
    #[error("state database {}: {action}: {cause}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        cause: io::Error,
    },
    /// The database was written by a newer bantam. It is left untouched:
    /// it is not corrupt, and moving it aside would lose the newer bantam's
    /// bans.
    #[error("state database {} has schema version {found}; this bantam knows up to {known}", path.display())]
    Version {
        path: PathBuf,
        found: i64,
        known: i64,
    },
}

impl StateError {
    /// The file or directory the error is about.
    pub fn path(&self) -> &Path {
        match self {
            StateError::Directory { path, .. }
            | StateError::NotWritable { path, .. }
            | StateError::Sqlite { path, .. }
            | StateError::Io { path, .. }
            | StateError::Version { path, .. } => path,
        }
    }
}

/// Attaches the database path and the action to rusqlite results.
pub(crate) trait SqlContext<T> {
    fn doing(self, path: &Path, action: &'static str) -> Result<T, StateError>;
}

impl<T> SqlContext<T> for Result<T, rusqlite::Error> {
    fn doing(self, path: &Path, action: &'static str) -> Result<T, StateError> {
        self.map_err(|cause| StateError::Sqlite {
            path: path.to_owned(),
            action,
            cause,
        })
    }
}

pub(crate) fn io_error(path: &Path, action: &'static str, cause: io::Error) -> StateError {
    StateError::Io {
        path: path.to_owned(),
        action,
        cause,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn cause_is_printed_once_and_not_chained() {
        let cause = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            Some("database or disk is full".into()),
        );
        let e = StateError::Sqlite {
            path: "/var/lib/bantam/bantam.db".into(),
            action: "recording bans",
            cause,
        };
        assert_eq!(
            e.to_string(),
            "state database /var/lib/bantam/bantam.db: recording bans: database or disk is full"
        );
        assert!(e.source().is_none());
        assert_eq!(e.path(), Path::new("/var/lib/bantam/bantam.db"));
    }
}
