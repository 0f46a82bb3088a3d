//! Configuration errors. Each names the file, the line and the key, so that
//! `bantam run` can refuse to start with one line a person can act on.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read. The I/O error is printed here and not
    /// returned by `source()`: the daemon logs errors with `{}` and the CLI
    /// with the whole chain, and both must show the cause exactly once.
    #[error("{}: cannot read: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A value is wrong (or the TOML is malformed). `line` is 1-based.
    #[error("{}:{line}: {key}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        key: String,
        message: String,
    },
    /// No configuration was given and the built-in default cannot apply.
    #[error("{0}")]
    NoDefault(String),
    /// A fail2ban configuration tree cannot be run (the message names the
    /// file, section and key, or the jail).
    #[error("fail2ban configuration: {0}")]
    Fail2ban(String),
}

/// 1-based line of a byte offset.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
