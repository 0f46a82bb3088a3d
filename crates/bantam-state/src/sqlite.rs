//! The SQLite store: one file, `bantam.db`, in the state directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};

use crate::checkpointer::{Checkpointer, COMMITS_PER_CHECKPOINT};
use crate::counter::SqliteCounter;
use crate::error::{SqlContext, StateError};
use crate::open::{examine, prepare_dir, prepare_file, quarantine, Health, Opened};
use crate::records::{BanRecord, FilePosition};
use crate::seen::Seen;
use crate::{BanCounter, Store};

#[path = "sqlite_ending.rs"]
mod ending;

/// The database's name in the state directory.
pub(crate) const DB_FILE: &str = "bantam.db";

/// Bumped whenever the schema changes. Every change so far only adds
/// (`IF NOT EXISTS`), so running [`SCHEMA`] brings any older file forward.
/// 2: `history_by_age`, for [`Store::purge_history`].
/// 3: `history_by_target_time`, for [`Store::ban_counts_since`].
/// 4: `reason` on `bans` and `ban_history` (see [`added_columns`]).
/// 5: no `history_by_target`: `history_by_target_time` begins with the
///    same columns and serves its lookups, and every ban paid for keeping
///    both (a random-order B-tree insert, ~40 bytes of a million-ban file).
/// 6: `ban_history` holds the bans that are no longer current; a current
///    ban is only in `bans` (see [`Store::record_bans`]). Every ban used
///    to be written twice, and its history row with two indexes cost 118
///    of the 340 bytes a ban with a matched line took on disk, and half
///    the writer's time in a burst. Migrating drops the history row of
///    each current ban ([`UNDOUBLE_HISTORY`]).
pub(crate) const SCHEMA_VERSION: i64 = 6;

/// Before version 6 the current ban's record was also the newest history
/// row of its jail and target with the same start: that one row goes (a
/// ban recorded twice with the same start kept two, and still counts
/// twice).
const UNDOUBLE_HISTORY: &str = "
DELETE FROM ban_history WHERE id IN (SELECT (SELECT MAX(h.id) FROM ban_history h
    WHERE h.target = b.target AND h.jail = b.jail AND h.start_ms = b.start_ms) FROM bans b);";

/// What a replaced or removed ban leaves in the history, for `WHERE`
/// clauses on `bans` that follow.
const TO_HISTORY: &str =
    "INSERT INTO ban_history (jail, target, start_ms, end_ms, failures, reason) \
     SELECT jail, target, start_ms, end_ms, failures, reason FROM bans WHERE";

/// Columns added to tables an older schema created, as (table, column,
/// type): `CREATE TABLE IF NOT EXISTS` leaves existing tables as they are.
const ADDED_COLUMNS: [(&str, &str, &str); 2] = [
    ("bans", "reason", "TEXT"),
    ("ban_history", "reason", "TEXT"),
];

/// The `ALTER TABLE`s an existing file needs: only the columns its tables
/// lack, so a file whose version is older than its shape (a test, or a
/// half-remembered manual repair) migrates too.
fn added_columns(conn: &Connection, path: &Path) -> Result<String, StateError> {
    let mut sql = String::new();
    for (table, column, kind) in ADDED_COLUMNS {
        let mut stmt = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .doing(path, "migrating")?;
        let names = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .doing(path, "migrating")?
            .collect::<Result<Vec<_>, _>>()
            .doing(path, "migrating")?;
        if !names.is_empty() && !names.iter().any(|n| n == column) {
            sql.push_str(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind};"));
        }
    }
    Ok(sql)
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS bans (
    jail       TEXT    NOT NULL,
    target     TEXT    NOT NULL,
    start_ms   INTEGER NOT NULL,
    end_ms     INTEGER,            -- NULL: permanent
    failures   INTEGER NOT NULL,
    ban_count  INTEGER NOT NULL,
    matches    TEXT    NOT NULL,   -- lines joined by newlines (log lines hold none)
    reason     TEXT,               -- why, for bans by hand; NULL: earned by log lines
    PRIMARY KEY (jail, target)
);
CREATE INDEX IF NOT EXISTS bans_by_end ON bans (end_ms);
CREATE TABLE IF NOT EXISTS ban_history (
    id         INTEGER PRIMARY KEY,
    jail       TEXT    NOT NULL,
    target     TEXT    NOT NULL,
    start_ms   INTEGER NOT NULL,
    end_ms     INTEGER,
    failures   INTEGER NOT NULL,
    reason     TEXT
);
CREATE INDEX IF NOT EXISTS history_by_age ON ban_history (COALESCE(end_ms, start_ms));
CREATE INDEX IF NOT EXISTS history_by_target_time ON ban_history (target, jail, start_ms);
CREATE TABLE IF NOT EXISTS positions (
    path        TEXT PRIMARY KEY,
    dev         INTEGER NOT NULL,
    inode       INTEGER NOT NULL,
    offset      INTEGER NOT NULL,
    fingerprint INTEGER NOT NULL
);
";

/// About how many rows the history and the current bans hold (their
/// largest row ids: no scan).
fn history_len(conn: &Connection) -> usize {
    conn.query_row(
        "SELECT COALESCE((SELECT MAX(id) FROM ban_history), 0) \
         + COALESCE((SELECT MAX(rowid) FROM bans), 0)",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map_or(0, |n| usize::try_from(n).unwrap_or(0))
}

/// `bans` in the order of the `bans` table's key, (jail, target) compared
/// byte by byte as SQLite's BINARY collation does; stable, so a target
/// twice in one call keeps its last ban, right after the first.
///
/// The daemon's writer already sorts a whole job (store_writer.rs), and
/// sorting sorted input is one pass. This is for every other caller: in
/// arrival order each insert lands on a random page of the key's index, and
/// a call of 262,144 into a million rows dirtied more pages than the page
/// cache holds, which spilled them to the WAL again and again (measured
/// with Python's sqlite3: 4.6 GB written for a million bans, 0.7 GB in key
/// order). It also puts a target's two bans of one call side by side,
/// which [`SqliteStore::record_bans`] relies on to move the first to the
/// history.
fn in_key_order(bans: &[BanRecord]) -> Vec<&BanRecord> {
    let mut order: Vec<&BanRecord> = bans.iter().collect();
    order.sort_by(|a, b| {
        (a.jail.as_str(), a.target.as_str()).cmp(&(b.jail.as_str(), b.target.as_str()))
    });
    order
}

/// SQLite-backed [`Store`].
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    opened: Opened,
    /// Absent for in-memory databases, which have no WAL.
    checkpointer: Option<Checkpointer>,
    commits: u32,
    /// Bans written since the last nudge.
    rows: usize,
    /// Which addresses the history may hold (see seen.rs).
    seen: Arc<Seen>,
}

/// WAL mode and bantam's schema, on a database found sound.
fn configure(conn: &Connection, path: &Path, version: i64) -> Result<(), StateError> {
    let what = "setting up";
    conn.pragma_update(None, "journal_mode", "WAL")
        .doing(path, what)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .doing(path, what)?;
    // Checkpoints run on their own thread (see checkpointer.rs).
    conn.pragma_update(None, "wal_autocheckpoint", 0)
        .doing(path, what)?;
    // A burst's WAL is cut back to this once checkpointed, instead of
    // keeping its largest size on disk for good.
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)
        .doing(path, what)?;
    if version == SCHEMA_VERSION {
        // Opening writes nothing, so it works on a full disk too.
        return Ok(());
    }
    // Version 0 has no bantam tables: SCHEMA creates them whole.
    let (migrate, undouble) = match version {
        0 => (String::new(), ""),
        v => (
            added_columns(conn, path)? + "DROP INDEX IF EXISTS history_by_target;",
            // After SCHEMA: it uses history_by_target_time.
            if v < 6 { UNDOUBLE_HISTORY } else { "" },
        ),
    };
    // One transaction: a crash cannot leave tables without their version,
    // which is what tells a fresh database from one bantam has used.
    conn.execute_batch(&format!(
        "BEGIN IMMEDIATE; {migrate} {SCHEMA} {undouble} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
    ))
    .doing(path, what)
    .map(|_| ())
}

fn still_corrupt(path: &Path, reason: String) -> StateError {
    StateError::Sqlite {
        path: path.to_owned(),
        action: "checking the new database that replaced a corrupt one",
        cause: rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
            Some(reason),
        ),
    }
}

/// Write transactions take the write lock at BEGIN, where the busy timeout
/// waits for another writer; a deferred one that reads first would get
/// "database is locked" at once when it tries to write.
const IMMEDIATE: TransactionBehavior = TransactionBehavior::Immediate;

pub(crate) fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

pub(crate) fn from_ms(v: i64) -> Timestamp {
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
        reason: row.get(7)?,
    })
}

/// Most history rows one purge forgets: about 30 ms, so a first purge of a
/// years-old history does not stall the daemon (which owns the store) for
/// seconds; the rest goes at the next calls.
const PURGE_BATCH: i64 = 5000;

/// Bans written between checkpoint nudges (as well as every
/// [`COMMITS_PER_CHECKPOINT`] commits).
const ROWS_PER_CHECKPOINT: usize = 4096;
/// Bytes the WAL keeps after a checkpoint.
pub(crate) const WAL_SIZE_LIMIT: i64 = 32 << 20;

/// The current bans whose end is at or before `?1`.
const ENDED: &str = "end_ms IS NOT NULL AND end_ms <= ?1";
const BAN_COLUMNS: &str = "jail, target, start_ms, end_ms, failures, ban_count, matches, reason";

impl SqliteStore {
    /// Opens (creating if needed) `bantam.db` in `dir`, creating `dir`
    /// (`0700`) when it is missing. See [`SqliteStore::open`].
    pub fn open_dir(dir: &Path) -> Result<SqliteStore, StateError> {
        prepare_dir(dir)?;
        SqliteStore::open(&dir.join(DB_FILE))
    }

    /// Opens (creating if needed, `0600`) the database file at `path`
    /// (`:memory:`: a database that lives as long as the store).
    ///
    /// A corrupt file is moved aside and replaced by an empty database; the
    /// open then succeeds, and [`SqliteStore::opened`] says so.
    pub fn open(path: &Path) -> Result<SqliteStore, StateError> {
        let in_memory = path.as_os_str() == ":memory:";
        if !in_memory {
            prepare_file(path)?;
        }
        let (conn, health) = examine(path)?;
        let (conn, version, quarantined) = match health {
            Health::Sound { version } => (conn, version, None),
            Health::Corrupt(reason) => {
                drop(conn);
                let q = quarantine(path, reason)?;
                prepare_file(path)?;
                match examine(path)? {
                    (conn, Health::Sound { version }) => (conn, version, Some(q)),
                    (_, Health::Corrupt(reason)) => return Err(still_corrupt(path, reason)),
                }
            }
        };
        if version > SCHEMA_VERSION {
            return Err(StateError::Version {
                path: path.to_owned(),
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        configure(&conn, path, version)?;
        let seen = Seen::new(history_len(&conn));
        let checkpointer = if in_memory {
            None
        } else {
            Some(Checkpointer::start(path).doing(path, "opening")?)
        };
        Ok(SqliteStore {
            conn,
            path: path.to_owned(),
            // The schema and its version are committed together, so
            // version 0 means no bantam state was ever written here.
            opened: Opened {
                fresh: version == 0,
                quarantined,
            },
            checkpointer,
            commits: 0,
            rows: 0,
            seen,
        })
    }

    /// What opening found: whether the database was fresh, or corrupt and
    /// moved aside.
    pub fn opened(&self) -> &Opened {
        &self.opened
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Counts a write transaction; every so many, nudges the checkpointer.
    fn committed(&mut self) {
        self.committed_rows(1);
    }

    /// Counts a write of `rows` bans: a burst commits thousands at once,
    /// and counting its commits alone let the WAL grow to gigabytes (a
    /// million bans left 735 bytes a ban on disk, most of it WAL).
    fn committed_rows(&mut self, rows: usize) {
        self.commits += 1;
        self.rows += rows;
        if self.commits >= COMMITS_PER_CHECKPOINT || self.rows >= ROWS_PER_CHECKPOINT {
            self.commits = 0;
            self.rows = 0;
            if let Some(c) = &self.checkpointer {
                c.nudge();
            }
        }
    }
}

impl Store for SqliteStore {
    fn record_bans(&mut self, bans: &[BanRecord]) -> Result<(), StateError> {
        let what = "recording bans";
        let path = &self.path;
        let tx = self
            .conn
            .transaction_with_behavior(IMMEDIATE)
            .doing(path, what)?;
        {
            let mut current = tx
                .prepare_cached(&format!("INSERT OR REPLACE INTO bans ({BAN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"))
                .doing(path, what)?;
            // The ban it replaces (if any) goes to the history first: one
            // more seek in the index the replace walks anyway.
            let mut history = tx
                .prepare_cached(&format!("{TO_HISTORY} jail = ?1 AND target = ?2"))
                .doing(path, what)?;
            let order = in_key_order(bans);
            let maybe = self
                .seen
                .may_hold_all(order.iter().map(|b| b.target.as_str()));
            let mut previous = None;
            for (b, maybe) in order.into_iter().zip(maybe) {
                // A target the filter never saw has no ban to move (a
                // burst's new attackers: a statement fewer each); one
                // earlier in this job has, and sorting put it just before.
                let key = (b.jail.as_str(), b.target.as_str());
                if maybe || previous == Some(key) {
                    history
                        .execute(params![b.jail, b.target])
                        .doing(path, what)?;
                }
                previous = Some(key);
                current
                    .execute(params![
                        b.jail,
                        b.target,
                        ms(b.start),
                        b.end.map(ms),
                        b.failures,
                        b.ban_count,
                        b.matches.join("\n"),
                        b.reason
                    ])
                    .doing(path, what)?;
            }
        }
        // Before the commit: a reader must never see a row the filter
        // says is not there.
        self.seen.insert(bans.iter().map(|b| b.target.as_str()));
        tx.commit().doing(path, what)?;
        self.committed_rows(bans.len());
        Ok(())
    }

    fn remove_bans(
        &mut self,
        jail: Option<&str>,
        targets: &[String],
    ) -> Result<Vec<BanRecord>, StateError> {
        self.take_targets(jail, targets)
    }

    fn remove_all(&mut self, jail: Option<&str>) -> Result<usize, StateError> {
        self.take_all(jail)
    }

    fn expire(&mut self, now: Timestamp) -> Result<Vec<BanRecord>, StateError> {
        self.take_bans(ENDED, &[&ms(now)], "expiring bans")
    }

    fn end_bans(&mut self, now: Timestamp, most: usize) -> Result<usize, StateError> {
        self.end_bans_in_parts(now, most)
    }

    fn active_bans(&mut self) -> Result<Vec<BanRecord>, StateError> {
        let what = "listing bans";
        let path = &self.path;
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {BAN_COLUMNS} FROM bans ORDER BY start_ms"))
            .doing(path, what)?;
        let rows = stmt.query_map([], ban_from_row).doing(path, what)?;
        rows.collect::<Result<Vec<_>, _>>().doing(path, what)
    }

    /// Streams the table in its own order: `ORDER BY` would make SQLite
    /// sort every row before handing out the first.
    fn active_bans_in_parts(
        &mut self,
        part: usize,
        each: &mut dyn FnMut(Vec<BanRecord>) -> bool,
    ) -> Result<(), StateError> {
        let what = "listing bans";
        let path = &self.path;
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {BAN_COLUMNS} FROM bans"))
            .doing(path, what)?;
        let rows = stmt.query_map([], ban_from_row).doing(path, what)?;
        let part = part.max(1);
        let mut records = Vec::with_capacity(part);
        for row in rows {
            records.push(row.doing(path, what)?);
            if records.len() == part && !each(std::mem::take(&mut records)) {
                return Ok(());
            }
        }
        if !records.is_empty() {
            each(records);
        }
        Ok(())
    }

    fn last_matches(&mut self, bans: &[(&str, &str)]) -> Result<Vec<Option<String>>, StateError> {
        let what = "reading matched lines";
        let path = &self.path;
        let mut stmt = self
            .conn
            .prepare_cached("SELECT matches FROM bans WHERE jail = ?1 AND target = ?2")
            .doing(path, what)?;
        let mut found = Vec::with_capacity(bans.len());
        for (jail, target) in bans {
            let lines: Option<String> = stmt
                .query_row(params![jail, target], |r| r.get(0))
                .optional()
                .doing(path, what)?;
            let last = lines.and_then(|l| l.rsplit('\n').next().map(str::to_owned));
            found.push(last.filter(|l| !l.is_empty()));
        }
        Ok(found)
    }

    fn ban_count(&mut self, jail: Option<&str>, target: &str) -> Result<u32, StateError> {
        // Prepared once and cached: a burst of bans asks this thousands of
        // times in a row.
        self.conn
            .prepare_cached(crate::counter::counting(jail))
            .and_then(|mut st| st.query_row(params![target, jail, i64::MIN], |r| r.get(0)))
            .doing(&self.path, "counting past bans")
    }

    fn ban_counts_since(
        &mut self,
        jail: Option<&str>,
        targets: &[String],
        since: Timestamp,
    ) -> Result<Vec<u32>, StateError> {
        crate::counter::count_since(&mut self.conn, &self.path, &self.seen, jail, targets, since)
    }

    fn counter(&self) -> Option<Result<Box<dyn BanCounter>, StateError>> {
        // In memory (no checkpointer): no second connection sees it.
        self.checkpointer.as_ref()?;
        // The history filter is worth filling once bursts come.
        self.seen.fill_from(&self.path);
        let counter = SqliteCounter::open(&self.path, self.seen.clone());
        Some(counter.map(|c| Box::new(c) as Box<dyn BanCounter>))
    }

    fn purge_history(&mut self, before: Timestamp) -> Result<u64, StateError> {
        let what = "purging ban history";
        let path = &self.path;
        // The expression is the index's, so only old rows are visited. A
        // current ban is not in the history (it is in `bans`): nothing here
        // can undercount a source still banned.
        let n = self
            .conn
            .prepare_cached(
                "DELETE FROM ban_history WHERE id IN (SELECT id FROM ban_history \
                 WHERE COALESCE(end_ms, start_ms) < ?1 LIMIT ?2)",
            )
            .and_then(|mut st| st.execute(params![ms(before), PURGE_BATCH]))
            .doing(path, what)?;
        if n > 0 {
            self.committed();
        }
        Ok(n as u64)
    }

    fn save_positions(&mut self, positions: &[FilePosition]) -> Result<(), StateError> {
        let what = "saving log positions";
        let path = &self.path;
        let tx = self
            .conn
            .transaction_with_behavior(IMMEDIATE)
            .doing(path, what)?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO positions (path, dev, inode, offset, fingerprint) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .doing(path, what)?;
            for p in positions {
                // SQLite integers are signed 64-bit; store the bits.
                stmt.execute(params![
                    p.path,
                    p.dev as i64,
                    p.inode as i64,
                    p.offset as i64,
                    p.fingerprint as i64
                ])
                .doing(path, what)?;
            }
        }
        tx.commit().doing(path, what)?;
        self.committed();
        Ok(())
    }

    fn load_positions(&mut self) -> Result<Vec<FilePosition>, StateError> {
        let what = "loading log positions";
        let path = &self.path;
        let mut stmt = self
            .conn
            .prepare_cached("SELECT path, dev, inode, offset, fingerprint FROM positions")
            .doing(path, what)?;
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
            .doing(path, what)?;
        rows.collect::<Result<Vec<_>, _>>().doing(path, what)
    }
}

#[cfg(test)]
#[path = "sqlite_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "history_split_tests.rs"]
mod history_split_tests;
