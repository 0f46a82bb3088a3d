//! The SQLite store: one file, `bantam.db`, in the state directory.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::checkpointer::{Checkpointer, COMMITS_PER_CHECKPOINT};
use crate::error::{QueryContext, StateError};
use crate::records::{BanRecord, FilePosition};
use crate::Store;

/// Bumped whenever the schema changes; `migrate` brings older files forward.
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS bans (
    jail       TEXT    NOT NULL,
    target     TEXT    NOT NULL,
    start_ms   INTEGER NOT NULL,
    end_ms     INTEGER,            -- NULL: permanent
    failures   INTEGER NOT NULL,
    ban_count  INTEGER NOT NULL,
    matches    TEXT    NOT NULL,   -- lines joined by newlines (log lines hold none)
    PRIMARY KEY (jail, target)
);
CREATE INDEX IF NOT EXISTS bans_by_end ON bans (end_ms);
CREATE TABLE IF NOT EXISTS ban_history (
    id         INTEGER PRIMARY KEY,
    jail       TEXT    NOT NULL,
    target     TEXT    NOT NULL,
    start_ms   INTEGER NOT NULL,
    end_ms     INTEGER,
    failures   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS history_by_target ON ban_history (target, jail);
CREATE TABLE IF NOT EXISTS positions (
    path        TEXT PRIMARY KEY,
    dev         INTEGER NOT NULL,
    inode       INTEGER NOT NULL,
    offset      INTEGER NOT NULL,
    fingerprint INTEGER NOT NULL
);
";

/// SQLite-backed [`Store`].
pub struct SqliteStore {
    conn: Connection,
    /// Absent for in-memory databases, which have no WAL.
    checkpointer: Option<Checkpointer>,
    commits: u32,
}

fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

fn from_ms(v: i64) -> Timestamp {
    Timestamp::from_millisecond(v).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn ban_from_row(row: &Row<'_>) -> rusqlite::Result<BanRecord> {
    let matches: String = row.get(6)?;
    Ok(BanRecord {
        jail: row.get(0)?,
        target: row.get(1)?,
        start: from_ms(row.get(2)?),
        end: row.get::<_, Option<i64>>(3)?.map(from_ms),
        failures: row.get(4)?,
        ban_count: row.get(5)?,
        matches: if matches.is_empty() {
            Vec::new()
        } else {
            matches.split('\n').map(str::to_owned).collect()
        },
    })
}

const BAN_COLUMNS: &str = "jail, target, start_ms, end_ms, failures, ban_count, matches";

impl SqliteStore {
    /// Opens (creating if needed) `bantam.db` in `dir`.
    pub fn open_dir(dir: &Path) -> Result<SqliteStore, StateError> {
        std::fs::create_dir_all(dir).map_err(|source| StateError::Directory {
            path: dir.to_owned(),
            source,
        })?;
        SqliteStore::open(&dir.join("bantam.db"))
    }

    /// Opens (creating if needed) the database file at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore, StateError> {
        let open_err = |source| StateError::Open {
            path: PathBuf::from(path),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        // Checkpoints run on their own thread (see checkpointer.rs).
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(open_err)?;
        // Another bantam (a CLI reading status) may hold a lock briefly.
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(open_err)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(open_err)?;
        if version > SCHEMA_VERSION {
            return Err(StateError::Version {
                path: path.to_owned(),
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        conn.execute_batch(SCHEMA).map_err(open_err)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(open_err)?;
        let in_memory = path.as_os_str() == ":memory:";
        let checkpointer = if in_memory {
            None
        } else {
            Some(Checkpointer::start(path).map_err(open_err)?)
        };
        Ok(SqliteStore {
            conn,
            checkpointer,
            commits: 0,
        })
    }

    /// Counts a write transaction; every so many, nudges the checkpointer.
    fn committed(&mut self) {
        self.commits += 1;
        if self.commits >= COMMITS_PER_CHECKPOINT {
            self.commits = 0;
            if let Some(c) = &self.checkpointer {
                c.nudge();
            }
        }
    }

    fn take_bans(
        &mut self,
        select: &str,
        args: &[&dyn rusqlite::ToSql],
        what: &'static str,
    ) -> Result<Vec<BanRecord>, StateError> {
        let tx = self.conn.transaction().what(what)?;
        let removed = {
            let mut stmt = tx
                .prepare(&format!("SELECT {BAN_COLUMNS} FROM bans WHERE {select}"))
                .what(what)?;
            let rows = stmt.query_map(args, ban_from_row).what(what)?;
            rows.collect::<Result<Vec<_>, _>>().what(what)?
        };
        tx.execute(&format!("DELETE FROM bans WHERE {select}"), args)
            .what(what)?;
        tx.commit().what(what)?;
        self.committed();
        Ok(removed)
    }
}

impl Store for SqliteStore {
    fn record_bans(&mut self, bans: &[BanRecord]) -> Result<(), StateError> {
        let what = "recording bans";
        let tx = self.conn.transaction().what(what)?;
        {
            let mut current = tx
                .prepare_cached(&format!("INSERT OR REPLACE INTO bans ({BAN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"))
                .what(what)?;
            let mut history = tx
                .prepare_cached(
                    "INSERT INTO ban_history (jail, target, start_ms, end_ms, failures) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .what(what)?;
            for b in bans {
                let end = b.end.map(ms);
                current
                    .execute(params![
                        b.jail,
                        b.target,
                        ms(b.start),
                        end,
                        b.failures,
                        b.ban_count,
                        b.matches.join("\n")
                    ])
                    .what(what)?;
                history
                    .execute(params![b.jail, b.target, ms(b.start), end, b.failures])
                    .what(what)?;
            }
        }
        tx.commit().what(what)?;
        self.committed();
        Ok(())
    }

    fn remove_bans(
        &mut self,
        jail: Option<&str>,
        targets: &[String],
    ) -> Result<Vec<BanRecord>, StateError> {
        let mut removed = Vec::new();
        for target in targets {
            let mut got = match jail {
                Some(j) => {
                    self.take_bans("jail = ?1 AND target = ?2", &[&j, target], "removing bans")?
                }
                None => self.take_bans("target = ?1", &[target], "removing bans")?,
            };
            removed.append(&mut got);
        }
        Ok(removed)
    }

    fn remove_all(&mut self) -> Result<Vec<BanRecord>, StateError> {
        self.take_bans("1 = 1", &[], "removing all bans")
    }

    fn expire(&mut self, now: Timestamp) -> Result<Vec<BanRecord>, StateError> {
        self.take_bans(
            "end_ms IS NOT NULL AND end_ms <= ?1",
            &[&ms(now)],
            "expiring bans",
        )
    }

    fn active_bans(&mut self) -> Result<Vec<BanRecord>, StateError> {
        let what = "listing bans";
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {BAN_COLUMNS} FROM bans ORDER BY start_ms"))
            .what(what)?;
        let rows = stmt.query_map([], ban_from_row).what(what)?;
        rows.collect::<Result<Vec<_>, _>>().what(what)
    }

    fn ban_count(&mut self, jail: Option<&str>, target: &str) -> Result<u32, StateError> {
        let what = "counting past bans";
        // Prepared once and cached: a burst of bans asks this thousands of
        // times in a row.
        let n: Option<u32> = match jail {
            Some(j) => self
                .conn
                .prepare_cached("SELECT COUNT(*) FROM ban_history WHERE target = ?1 AND jail = ?2")
                .and_then(|mut st| st.query_row(params![target, j], |r| r.get(0)).optional()),
            None => self
                .conn
                .prepare_cached("SELECT COUNT(*) FROM ban_history WHERE target = ?1")
                .and_then(|mut st| st.query_row(params![target], |r| r.get(0)).optional()),
        }
        .what(what)?;
        Ok(n.unwrap_or(0))
    }

    fn save_positions(&mut self, positions: &[FilePosition]) -> Result<(), StateError> {
        let what = "saving log positions";
        let tx = self.conn.transaction().what(what)?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO positions (path, dev, inode, offset, fingerprint) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .what(what)?;
            for p in positions {
                // SQLite integers are signed 64-bit; store the bits.
                stmt.execute(params![
                    p.path,
                    p.dev as i64,
                    p.inode as i64,
                    p.offset as i64,
                    p.fingerprint as i64
                ])
                .what(what)?;
            }
        }
        tx.commit().what(what)?;
        self.committed();
        Ok(())
    }

    fn load_positions(&mut self) -> Result<Vec<FilePosition>, StateError> {
        let what = "loading log positions";
        let mut stmt = self
            .conn
            .prepare_cached("SELECT path, dev, inode, offset, fingerprint FROM positions")
            .what(what)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(FilePosition {
                    path: r.get(0)?,
                    dev: r.get::<_, i64>(1)? as u64,
                    inode: r.get::<_, i64>(2)? as u64,
                    offset: r.get::<_, i64>(3)? as u64,
                    fingerprint: r.get::<_, i64>(4)? as u64,
                })
            })
            .what(what)?;
        rows.collect::<Result<Vec<_>, _>>().what(what)
    }
}

#[cfg(test)]
#[path = "sqlite_tests.rs"]
mod tests;
