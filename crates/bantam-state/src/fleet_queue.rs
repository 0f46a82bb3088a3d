//! The fleet's local side, in SQLite: writes waiting for the database
//! (oldest first, bounded) and the last change this host applied.
//!
//! A file of its own (`fleet.db` beside `bantam.db`), written only by the
//! fleet's thread: the host's own store never waits on the fleet, and a
//! queue full of unpublished bans never makes the local state look older.
//! When the queue is full the oldest writes are dropped (and counted): the
//! newest bans are the ones still worth telling the fleet about.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use rusqlite::{params, Connection};

use crate::fleet::{ChangeKind, FleetWrite};
use crate::fleet_error::FleetError;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS fleet_queue (
    id        INTEGER PRIMARY KEY,
    kind      TEXT    NOT NULL,
    jail      TEXT    NOT NULL,
    target    TEXT    NOT NULL,
    start_ms  INTEGER NOT NULL,
    end_ms    INTEGER,
    ban_count INTEGER NOT NULL,
    failures  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS fleet_cursor (
    one         INTEGER PRIMARY KEY CHECK (one = 1),
    last_change INTEGER NOT NULL
);
";

/// Writes waiting for the fleet database, and where catching up resumes.
pub struct FleetQueue {
    conn: Connection,
    path: PathBuf,
    capacity: usize,
    /// Writes dropped because the queue was full, since opening.
    pub dropped: u64,
}

impl FleetQueue {
    /// Opens (creating, `0600`) the queue at `path`; `:memory:` keeps it
    /// in memory (dry runs). At most `capacity` writes wait.
    pub fn open(path: &Path, capacity: usize) -> Result<FleetQueue, FleetError> {
        let bad = |action, cause| FleetError::Queue {
            path: path.display().to_string(),
            action,
            cause,
        };
        if path != Path::new(":memory:") {
            if let Some(dir) = path.parent() {
                crate::open::prepare_dir(dir)
                    .map_err(|e| FleetError::Settings(format!("fleet queue: {e}")))?;
            }
            crate::open::prepare_file(path)
                .map_err(|e| FleetError::Settings(format!("fleet queue: {e}")))?;
        }
        let conn = Connection::open(path).map_err(|e| bad("opening", e))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| bad("opening", e))?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| bad("opening", e))?;
        conn.execute_batch(SCHEMA)
            .map_err(|e| bad("creating tables", e))?;
        Ok(FleetQueue {
            conn,
            path: path.to_owned(),
            capacity: capacity.max(1),
            dropped: 0,
        })
    }

    fn err(&self, action: &'static str, cause: rusqlite::Error) -> FleetError {
        queue_err(&self.path, action, cause)
    }

    /// Appends `writes`, dropping the oldest beyond the capacity.
    pub fn push(&mut self, writes: &[FleetWrite]) -> Result<(), FleetError> {
        let what = "queueing writes";
        let tx = self
            .conn
            .transaction()
            .map_err(|e| queue_err(&self.path, what, e))?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO fleet_queue (kind, jail, target, start_ms, end_ms, ban_count, failures)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(|e| queue_err(&self.path, what, e))?;
            for w in writes {
                stmt.execute(params![
                    w.kind.as_str(),
                    w.jail,
                    w.target,
                    w.start.as_millisecond(),
                    w.end.map(|t| t.as_millisecond()),
                    w.ban_count,
                    w.failures
                ])
                .map_err(|e| queue_err(&self.path, what, e))?;
            }
        }
        let len: i64 = tx
            .query_row("SELECT count(*) FROM fleet_queue", [], |r| r.get(0))
            .map_err(|e| queue_err(&self.path, what, e))?;
        let over = usize::try_from(len)
            .unwrap_or(0)
            .saturating_sub(self.capacity);
        if over > 0 {
            tx.execute(
                "DELETE FROM fleet_queue WHERE id IN (SELECT id FROM fleet_queue ORDER BY id LIMIT ?1)",
                [over as i64],
            )
            .map_err(|e| queue_err(&self.path, what, e))?;
        }
        tx.commit().map_err(|e| queue_err(&self.path, what, e))?;
        self.dropped += over as u64;
        Ok(())
    }

    /// The oldest `limit` writes, with their queue ids.
    pub fn oldest(&mut self, limit: usize) -> Result<Vec<(i64, FleetWrite)>, FleetError> {
        let what = "reading queued writes";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, kind, jail, target, start_ms, end_ms, ban_count, failures
                 FROM fleet_queue ORDER BY id LIMIT ?1",
            )
            .map_err(|e| self.err(what, e))?;
        let rows = stmt
            .query_map([limit as i64], |r| {
                let kind: String = r.get(1)?;
                let ms = |v: i64| Timestamp::from_millisecond(v).unwrap_or(Timestamp::UNIX_EPOCH);
                Ok((
                    r.get::<_, i64>(0)?,
                    FleetWrite {
                        kind: ChangeKind::parse(&kind).unwrap_or(ChangeKind::Ban),
                        jail: r.get(2)?,
                        target: r.get(3)?,
                        start: ms(r.get(4)?),
                        end: r.get::<_, Option<i64>>(5)?.map(ms),
                        ban_count: r.get(6)?,
                        failures: r.get(7)?,
                    },
                ))
            })
            .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>);
        drop(stmt);
        rows.map_err(|e| self.err(what, e))
    }

    /// Forgets the writes up to queue id `last` (they were published).
    pub fn remove_through(&mut self, last: i64) -> Result<(), FleetError> {
        self.conn
            .execute("DELETE FROM fleet_queue WHERE id <= ?1", [last])
            .map(drop)
            .map_err(|e| self.err("removing published writes", e))
    }

    /// Writes waiting.
    pub fn len(&mut self) -> Result<usize, FleetError> {
        self.conn
            .query_row("SELECT count(*) FROM fleet_queue", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| usize::try_from(n).unwrap_or(0))
            .map_err(|e| self.err("counting queued writes", e))
    }

    pub fn is_empty(&mut self) -> Result<bool, FleetError> {
        self.len().map(|n| n == 0)
    }

    /// The last change applied (`None`: never joined).
    pub fn last_change(&mut self) -> Result<Option<i64>, FleetError> {
        use rusqlite::OptionalExtension;
        self.conn
            .query_row("SELECT last_change FROM fleet_cursor", [], |r| r.get(0))
            .optional()
            .map_err(|e| self.err("reading the last change", e))
    }

    pub fn set_last_change(&mut self, id: i64) -> Result<(), FleetError> {
        self.conn
            .execute(
                "INSERT INTO fleet_cursor (one, last_change) VALUES (1, ?1)
                 ON CONFLICT (one) DO UPDATE SET last_change = excluded.last_change",
                [id],
            )
            .map(drop)
            .map_err(|e| self.err("saving the last change", e))
    }
}

fn queue_err(path: &Path, action: &'static str, cause: rusqlite::Error) -> FleetError {
    FleetError::Queue {
        path: path.display().to_string(),
        action,
        cause,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ban(target: &str) -> FleetWrite {
        FleetWrite {
            kind: ChangeKind::Ban,
            jail: "sshd".into(),
            target: target.into(),
            start: Timestamp::from_second(1_700_000_000).unwrap(),
            end: None,
            ban_count: 1,
            failures: 5,
        }
    }

    #[test]
    fn oldest_first_bounded_and_kept_across_opening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fleet.db");
        let mut q = FleetQueue::open(&path, 3).unwrap();
        let writes: Vec<_> = (1..=5).map(|i| ban(&format!("192.0.2.{i}"))).collect();
        q.push(&writes).unwrap();
        assert_eq!(q.dropped, 2);
        q.set_last_change(42).unwrap();
        drop(q);
        let mut q = FleetQueue::open(&path, 3).unwrap();
        let waiting = q.oldest(10).unwrap();
        let targets: Vec<_> = waiting.iter().map(|(_, w)| w.target.as_str()).collect();
        assert_eq!(targets, ["192.0.2.3", "192.0.2.4", "192.0.2.5"]);
        assert_eq!(waiting[0].1, writes[2]);
        q.remove_through(waiting[1].0).unwrap();
        assert_eq!(q.len().unwrap(), 1);
        assert_eq!(q.last_change().unwrap(), Some(42));
    }
}
