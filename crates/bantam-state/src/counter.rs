//! Counting earlier bans on a connection of its own.
//!
//! Escalation and recidive need, for every new ban, how often its address
//! was banned before: a read of `ban_history` (the bans that ended or were
//! replaced) and of `bans` (the current one) before the kernel ban. The
//! daemon writes bans on another thread, and a burst of new attackers keeps
//! that thread busy; with one connection, each batch's read would wait for
//! the previous batch's commit, and the two halves of a burst (ban in the
//! kernel, record on disk) would take turns instead of running side by
//! side. In WAL mode a second connection reads the last commit while the
//! writer goes on, so the read never waits.
//!
//! What it cannot see is what the writer has not committed yet: the caller
//! decides when that matters (see the daemon's recorder).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;
use rusqlite::{params, Connection, OpenFlags};

use crate::error::{SqlContext, StateError};
use crate::seen::Seen;
use crate::sqlite::ms;
use crate::BanCounter;

const WHAT: &str = "counting recent bans";

/// Bans of target ?1 in jail ?2 that started at or after ?3: the history's
/// and the current one. Both halves are answered from an index alone.
const IN_JAIL: &str = "SELECT \
    (SELECT COUNT(*) FROM ban_history WHERE target = ?1 AND jail = ?2 AND start_ms >= ?3) + \
    (SELECT COUNT(*) FROM bans WHERE jail = ?2 AND target = ?1 AND start_ms >= ?3)";

/// `jails(j)`: the jails that hold a current ban. `bans` is keyed by
/// (jail, target), so a lookup by target alone would scan it; instead this
/// skips through the key a jail at a time (a seek each), and the caller
/// seeks (jail, target) in each: a handful of seeks.
macro_rules! with_jails {
    () => {
        "WITH RECURSIVE jails(j) AS (SELECT MIN(jail) FROM bans UNION ALL \
         SELECT (SELECT MIN(jail) FROM bans WHERE jail > j) FROM jails WHERE j IS NOT NULL) "
    };
}
pub(crate) use with_jails;

/// The same in every jail (?2 unused).
const ANY_JAIL: &str = concat!(
    with_jails!(),
    "SELECT \
     (SELECT COUNT(*) FROM ban_history WHERE target = ?1 AND start_ms >= ?3) + \
     (SELECT COUNT(*) FROM bans WHERE jail IN (SELECT j FROM jails) AND target = ?1 \
      AND start_ms >= ?3)"
);

/// The statement that counts in `jail` (every jail: `None`).
pub(crate) fn counting(jail: Option<&str>) -> &'static str {
    match jail {
        Some(_) => IN_JAIL,
        None => ANY_JAIL,
    }
}

/// A read-only connection that answers [`BanCounter::ban_counts_since`].
pub(crate) struct SqliteCounter {
    conn: Connection,
    path: PathBuf,
    seen: Arc<Seen>,
}

impl SqliteCounter {
    pub fn open(path: &Path, seen: Arc<Seen>) -> Result<SqliteCounter, StateError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).doing(path, "opening a reader")?;
        // Readers wait only while another connection recovers the WAL.
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .doing(path, "opening a reader")?;
        Ok(SqliteCounter {
            conn,
            path: path.to_owned(),
            seen,
        })
    }
}

impl BanCounter for SqliteCounter {
    fn ban_counts_since(
        &mut self,
        jail: Option<&str>,
        targets: &[String],
        since: Timestamp,
    ) -> Result<Vec<u32>, StateError> {
        count_since(&mut self.conn, &self.path, &self.seen, jail, targets, since)
    }
}

/// For each of `targets`, its bans in `jail` (every jail: `None`) since
/// `since`, in one read transaction: SQLite then takes its read lock once,
/// not once per target (a burst asks for thousands). Targets `seen` rules
/// out are 0 without a read.
pub(crate) fn count_since(
    conn: &mut Connection,
    path: &Path,
    seen: &Seen,
    jail: Option<&str>,
    targets: &[String],
    since: Timestamp,
) -> Result<Vec<u32>, StateError> {
    let maybe = seen.may_hold_each(targets);
    let mut counts = vec![0; targets.len()];
    if !maybe.contains(&true) {
        return Ok(counts);
    }
    let tx = conn.transaction().doing(path, WHAT)?;
    {
        let mut stmt = tx.prepare_cached(counting(jail)).doing(path, WHAT)?;
        for (i, target) in targets.iter().enumerate().filter(|&(i, _)| maybe[i]) {
            counts[i] = stmt
                .query_row(params![target, jail, ms(since)], |r| r.get(0))
                .doing(path, WHAT)?;
        }
    }
    tx.finish().doing(path, WHAT)?;
    Ok(counts)
}
