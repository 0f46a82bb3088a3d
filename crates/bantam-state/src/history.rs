//! Reading the ban history from outside the daemon (`bantam history`).
//!
//! The daemon owns the database and writes it; this opens it read-only, so
//! it works whether the daemon runs or not, never takes the write lock
//! (WAL lets readers and the writer go on side by side), and never
//! migrates, repairs or creates anything: a database written by an older
//! bantam is read as it is.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OpenFlags};

use crate::counter::with_jails;
use crate::error::{SqlContext, StateError};
use crate::records::HistoryRecord;
use crate::sqlite::{from_ms, DB_FILE, SCHEMA_VERSION};

/// A read-only view of a state database's history.
pub struct HistoryReader {
    conn: Connection,
    path: PathBuf,
    /// Version 3 added `reason`; older files are read without it.
    has_reason: bool,
    /// Since version 6 a current ban is only in `bans`; before, it was in
    /// the history too.
    current_apart: bool,
}

impl HistoryReader {
    /// Opens `bantam.db` in the state directory `dir`, read-only.
    pub fn open_dir(dir: &Path) -> Result<HistoryReader, StateError> {
        HistoryReader::open(&dir.join(DB_FILE))
    }

    /// Opens the database file at `path`, read-only. A missing file is an
    /// error (nothing was ever recorded there), never created.
    pub fn open(path: &Path) -> Result<HistoryReader, StateError> {
        let what = "opening read-only";
        if let Err(cause) = std::fs::metadata(path) {
            return Err(StateError::Io {
                path: path.to_owned(),
                action: what,
                cause,
            });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).doing(path, what)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .doing(path, what)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .doing(path, what)?;
        if version > SCHEMA_VERSION {
            return Err(StateError::Version {
                path: path.to_owned(),
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        Ok(HistoryReader {
            conn,
            path: path.to_owned(),
            has_reason: version >= 3,
            current_apart: version >= 6,
        })
    }

    /// Every ban of `target` (its text as bantam writes it: `192.0.2.1`,
    /// `2001:db8::/48`) the history remembers, oldest first, in any jail.
    pub fn bans_of(&self, target: &str) -> Result<Vec<HistoryRecord>, StateError> {
        let what = "reading the ban history";
        let path = &self.path;
        if !self.has_tables()? {
            return Ok(Vec::new());
        }
        let reason = if self.has_reason { "reason" } else { "NULL" };
        let (jails, current) = match self.current_apart {
            true => (
                with_jails!(),
                "UNION ALL SELECT jail, target, start_ms, end_ms, failures, reason, 1, rowid \
                 FROM bans WHERE jail IN (SELECT j FROM jails) AND target = ?1",
            ),
            false => ("", ""),
        };
        let mut stmt = self
            .conn
            .prepare(&format!(
                "{jails} SELECT jail, target, start_ms, end_ms, failures, {reason}, 0 AS now, id \
                 FROM ban_history WHERE target = ?1 {current} ORDER BY start_ms, now, id"
            ))
            .doing(path, what)?;
        let rows = stmt
            .query_map(params![target], |r| {
                Ok(HistoryRecord {
                    jail: r.get(0)?,
                    target: r.get(1)?,
                    start: from_ms(r.get(2)?),
                    end: r.get::<_, Option<i64>>(3)?.map(from_ms),
                    failures: r.get(4)?,
                    reason: r.get(5)?,
                })
            })
            .doing(path, what)?;
        rows.collect::<Result<Vec<_>, _>>().doing(path, what)
    }

    /// A database bantam never wrote (version 0) has no history table.
    fn has_tables(&self) -> Result<bool, StateError> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'ban_history'",
                [],
                |r| r.get(0),
            )
            .doing(&self.path, "reading the ban history")?;
        Ok(n > 0)
    }
}
