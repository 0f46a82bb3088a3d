use std::path::PathBuf;

/// Why the state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The database could not be opened or created.
    #[error("cannot open state database {}: {source}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// The state directory could not be created.
    #[error("cannot create state directory {}: {source}", path.display())]
    Directory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A query failed.
    #[error("state database: {what}: {source}")]
    Query {
        what: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    /// The database was written by a newer bantam.
    #[error("state database {} has schema version {found}; this bantam knows up to {known}", path.display())]
    Version {
        path: PathBuf,
        found: i64,
        known: i64,
    },
}

pub(crate) trait QueryContext<T> {
    fn what(self, what: &'static str) -> Result<T, StateError>;
}

impl<T> QueryContext<T> for Result<T, rusqlite::Error> {
    fn what(self, what: &'static str) -> Result<T, StateError> {
        self.map_err(|source| StateError::Query { what, source })
    }
}
