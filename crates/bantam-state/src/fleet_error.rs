//! Errors of the fleet's stores (PostgreSQL, and the local queue).
//!
//! Like [`StateError`](crate::StateError), a message is complete on its
//! own ("fleet database: publishing bans: connection refused"): the cause
//! is printed by `Display` and `source()` returns nothing, so `{:#}` does
//! not print it twice. Never a password: URLs are shown without it.

/// Why the fleet database (or the local queue) could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// `database`, `password-file`, `sslrootcert`, … are wrong.
    #[error("fleet database settings: {0}")]
    Settings(String),
    /// PostgreSQL failed while `action` was under way.
    #[error("fleet database: {action}: {cause}")]
    Postgres { action: &'static str, cause: String },
    /// The database holds a schema newer than this bantam knows.
    #[error("fleet database has schema version {found}; this bantam knows up to {known}")]
    Version { found: i32, known: i32 },
    /// The local queue (SQLite) failed.
    #[error("fleet queue {path}: {action}: {cause}")]
    Queue {
        path: String,
        action: &'static str,
        cause: rusqlite::Error,
    },
}

/// Attaches the action to tokio-postgres results. The cause keeps the
/// server's message and detail (`DbError`), which tokio-postgres's own
/// `Display` drops ("db error").
pub(crate) trait PgContext<T> {
    fn doing(self, action: &'static str) -> Result<T, FleetError>;
}

impl<T> PgContext<T> for Result<T, tokio_postgres::Error> {
    fn doing(self, action: &'static str) -> Result<T, FleetError> {
        self.map_err(|e| FleetError::Postgres {
            action,
            cause: describe(&e),
        })
    }
}

fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_owned(),
        };
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl FleetError {
    /// Whether the database could not be reached (worth retrying), rather
    /// than refusing what was asked.
    pub fn is_link(&self) -> bool {
        matches!(self, FleetError::Postgres { .. })
    }
}
