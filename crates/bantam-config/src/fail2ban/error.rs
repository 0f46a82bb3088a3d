//! Errors of the fail2ban reader. Each names the file and, where there is
//! one, the section and the key, so a fail2ban user can find the line that
//! stops bantam from taking over their configuration.

use std::path::PathBuf;

/// Everything that can go wrong reading a fail2ban configuration tree.
#[derive(Debug, thiserror::Error)]
pub enum Fail2banError {
    /// A file exists but could not be read. The I/O error is printed, not
    /// returned by `source()`, so that it appears once however the error
    /// is shown (see `ConfigError::Read`).
    #[error("{}: cannot read: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The INI text itself is malformed (fail2ban refuses these too).
    #[error("{}:{line}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// A value cannot be resolved or has the wrong form.
    #[error("{}: [{section}] {key}: {message}", path.display())]
    Value {
        path: PathBuf,
        section: String,
        key: String,
        message: String,
    },
    /// No `.conf`/`.local` file exists for a filter, action or the jails.
    #[error("{}: no {kind} named {name:?} (no {name}.conf or {name}.local)", dir.display())]
    NotFound {
        dir: PathBuf,
        kind: &'static str,
        name: String,
    },
    /// Includes nest deeper than any real configuration does: a loop that
    /// fail2ban's own guard misses (the same file under two spellings).
    #[error("{}: includes nest too deep (loop?): {chain}", path.display())]
    IncludeLoop { path: PathBuf, chain: String },
}
