//! The crate's error type.
//!
//! Every error names the path it is about and the operation that failed, so
//! that the daemon can log it as is: "cannot open /var/log/auth.log:
//! Permission denied" tells the administrator what to fix without a debugger.

use std::io;
use std::path::PathBuf;

/// What went wrong, and on which path.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A system call on `path` failed. `action` is a short verb phrase
    /// ("open", "read", "watch directory", ...).
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: io::Error,
    },
    /// The pattern given to [`FileSource::new`](crate::FileSource::new) is
    /// not one we can follow.
    #[error("invalid log path pattern {pattern:?}: {reason}")]
    Pattern {
        pattern: String,
        reason: &'static str,
    },
    /// The journal could not be read for a `journal:` path (the reason
    /// names the matches and what journalctl said).
    #[error("{reason}")]
    Journal { reason: String },
    /// A path that must be of one kind is of another (a FIFO that is a
    /// regular file, a watched directory that is a file, ...).
    #[error("{}: {expected}", path.display())]
    WrongKind {
        path: PathBuf,
        expected: &'static str,
    },
    /// A `logpath` with a scheme (`journal:`, `syslog+udp://`, `cmd:`)
    /// that does not say what it must.
    #[error("invalid log path {logpath:?}: {reason}")]
    Scheme { logpath: String, reason: String },
}

impl SourceError {
    pub(crate) fn io(path: impl Into<PathBuf>, action: &'static str, source: io::Error) -> Self {
        SourceError::Io {
            path: path.into(),
            action,
            source,
        }
    }

    /// The path the error is about, if it is about one.
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            SourceError::Io { path, .. } | SourceError::WrongKind { path, .. } => Some(path),
            SourceError::Pattern { .. }
            | SourceError::Journal { .. }
            | SourceError::Scheme { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_path_and_action() {
        let e = SourceError::io(
            "/var/log/auth.log",
            "open",
            io::Error::from(io::ErrorKind::PermissionDenied),
        );
        let text = e.to_string();
        assert!(
            text.starts_with("cannot open /var/log/auth.log: "),
            "{text}"
        );
        assert_eq!(e.path(), Some(std::path::Path::new("/var/log/auth.log")));
    }

    #[test]
    fn pattern_and_kind_messages() {
        let e = SourceError::Pattern {
            pattern: "/var/*/x".into(),
            reason: "wildcards are supported in the file name only",
        };
        assert_eq!(
            e.to_string(),
            "invalid log path pattern \"/var/*/x\": wildcards are supported in the file name only"
        );
        assert_eq!(e.path(), None);
        let e = SourceError::WrongKind {
            path: "/run/bantam.fifo".into(),
            expected: "not a FIFO (create one with mkfifo)",
        };
        assert_eq!(
            e.to_string(),
            "/run/bantam.fifo: not a FIFO (create one with mkfifo)"
        );
    }

    #[test]
    fn io_error_keeps_its_source() {
        use std::error::Error as _;
        let e = SourceError::io("/x", "read", io::Error::from(io::ErrorKind::InvalidData));
        assert!(e.source().is_some());
    }
}
