//! Moving bans from `bans` to `ban_history`: by hand, and when they end.
//!
//! Bans end in waves (a burst's million, one ban time later), and the
//! daemon ends them in the store on its writer thread, beside new bans.
//! [`SqliteStore::end_bans_in_parts`] moves them [`PART`] at a time, a
//! transaction each: a wave is never one transaction that grows the WAL
//! by the whole table and holds the write lock for seconds, and a nearly
//! full disk takes what it can. It reads nothing back: the daemon has the
//! ended bans in its own book.

use jiff::Timestamp;
use rusqlite::params;

use super::{ban_from_row, ms, SqliteStore, BAN_COLUMNS, IMMEDIATE, TO_HISTORY};
use crate::counter::with_jails;
use crate::error::{SqlContext, StateError};
use crate::records::BanRecord;

/// Ended bans moved per transaction.
const PART: i64 = 4096;

/// The rowids of the next part of the ended bans, earliest end first
/// (rowid breaks ties, so both statements of a part name the same rows).
const NEXT_PART: &str = "rowid IN (SELECT rowid FROM bans WHERE end_ms IS NOT NULL \
     AND end_ms <= ?1 ORDER BY end_ms, rowid LIMIT ?2)";

impl SqliteStore {
    /// Moves the bans `select` names to the history and returns them.
    pub(super) fn take_bans(
        &mut self,
        select: &str,
        args: &[&dyn rusqlite::ToSql],
        what: &'static str,
    ) -> Result<Vec<BanRecord>, StateError> {
        self.take_bans_with("", select, args, what)
    }

    /// Moves every ban (of `jail`, if given) to the history (`unban
    /// --all`) in one transaction (the request is all or nothing),
    /// reading nothing back. A million bans written in a burst's random
    /// order took 14.1 s as a `take_bans` of `1 = 1` (Python's sqlite3,
    /// the same statements), the loop waiting: a `DELETE` without `WHERE`
    /// drops the table's pages whole, not row by row and index entry by
    /// index entry (9.4 s), and the history's (target, jail, start) index
    /// filled in its own order rather than the table's (rows lie in
    /// arrival order, so each insert was a seek to a random page): 2.7 s.
    /// One jail's bans are a range of the key, deleted row by row.
    pub(super) fn take_all(&mut self, jail: Option<&str>) -> Result<usize, StateError> {
        let (what, path) = ("removing all bans", &self.path);
        let tx = self
            .conn
            .transaction_with_behavior(IMMEDIATE)
            .doing(path, what)?;
        let moved = match jail {
            None => {
                let moved = tx
                    .execute(&format!("{TO_HISTORY} 1 = 1 ORDER BY target, jail"), [])
                    .doing(path, what)?;
                tx.execute("DELETE FROM bans", []).doing(path, what)?;
                moved
            }
            Some(jail) => {
                let moved = tx
                    .execute(&format!("{TO_HISTORY} jail = ?1 ORDER BY target"), [jail])
                    .doing(path, what)?;
                tx.execute("DELETE FROM bans WHERE jail = ?1", [jail])
                    .doing(path, what)?;
                moved
            }
        };
        tx.commit().doing(path, what)?;
        self.committed_rows(moved);
        Ok(moved)
    }

    /// Moves the bans of `targets` in `jail` (every jail: `None`) to the
    /// history and returns them, in one transaction with each statement
    /// prepared once: a transaction and three parsed statements per target
    /// made `unban --jail J --all` of 100,000 bans 13.5 s of a blocked
    /// loop (a million: minutes). `bans` is keyed by (jail, target): in
    /// every jail the target is sought in each jail's part of the key
    /// (see `with_jails`), as `target = ?` alone would scan the table (a
    /// third of a second a target at a million).
    pub(super) fn take_targets(
        &mut self,
        jail: Option<&str>,
        targets: &[String],
    ) -> Result<Vec<BanRecord>, StateError> {
        let (what, path) = ("removing bans", &self.path);
        let (with, select) = match jail {
            Some(_) => ("", "jail = ?2 AND target = ?1"),
            None => (
                with_jails!(),
                "jail IN (SELECT j FROM jails) AND target = ?1",
            ),
        };
        let tx = self
            .conn
            .transaction_with_behavior(IMMEDIATE)
            .doing(path, what)?;
        let mut removed = Vec::new();
        {
            let statement = |sql: String| tx.prepare_cached(&sql).doing(path, what);
            let mut read = statement(format!(
                "{with}SELECT {BAN_COLUMNS} FROM bans WHERE {select}"
            ))?;
            let mut to_history = statement(format!("{with}{TO_HISTORY} {select}"))?;
            let mut delete = statement(format!("{with}DELETE FROM bans WHERE {select}"))?;
            for target in targets {
                let args: &[&dyn rusqlite::ToSql] = match &jail {
                    Some(j) => &[target, j],
                    None => &[target],
                };
                let rows = read.query_map(args, ban_from_row).doing(path, what)?;
                for row in rows {
                    removed.push(row.doing(path, what)?);
                }
                to_history.execute(args).doing(path, what)?;
                delete.execute(args).doing(path, what)?;
            }
        }
        tx.commit().doing(path, what)?;
        self.committed_rows(removed.len());
        Ok(removed)
    }

    /// [`SqliteStore::take_bans`] with a `WITH` clause before each
    /// statement.
    fn take_bans_with(
        &mut self,
        with: &str,
        select: &str,
        args: &[&dyn rusqlite::ToSql],
        what: &'static str,
    ) -> Result<Vec<BanRecord>, StateError> {
        let path = &self.path;
        let tx = self
            .conn
            .transaction_with_behavior(IMMEDIATE)
            .doing(path, what)?;
        let removed = {
            let mut stmt = tx
                .prepare(&format!(
                    "{with}SELECT {BAN_COLUMNS} FROM bans WHERE {select}"
                ))
                .doing(path, what)?;
            let rows = stmt.query_map(args, ban_from_row).doing(path, what)?;
            rows.collect::<Result<Vec<_>, _>>().doing(path, what)?
        };
        tx.execute(&format!("{with}{TO_HISTORY} {select}"), args)
            .doing(path, what)?;
        tx.execute(&format!("{with}DELETE FROM bans WHERE {select}"), args)
            .doing(path, what)?;
        tx.commit().doing(path, what)?;
        self.committed();
        Ok(removed)
    }

    /// Moves the bans ended by `now` to the history, [`PART`] per
    /// transaction, until `most` moved or none is left; returns how many.
    pub(super) fn end_bans_in_parts(
        &mut self,
        now: Timestamp,
        most: usize,
    ) -> Result<usize, StateError> {
        let mut total = 0;
        while total < most {
            let moved = self.end_part(now)?;
            total += moved;
            if moved < PART as usize {
                break;
            }
        }
        Ok(total)
    }

    fn end_part(&mut self, now: Timestamp) -> Result<usize, StateError> {
        let (what, path) = ("ending bans", &self.path);
        let tx = self
            .conn
            .transaction_with_behavior(IMMEDIATE)
            .doing(path, what)?;
        let args = params![ms(now), PART];
        tx.prepare_cached(&format!("{TO_HISTORY} {NEXT_PART}"))
            .and_then(|mut st| st.execute(args))
            .doing(path, what)?;
        let moved = tx
            .prepare_cached(&format!("DELETE FROM bans WHERE {NEXT_PART}"))
            .and_then(|mut st| st.execute(args))
            .doing(path, what)?;
        tx.commit().doing(path, what)?;
        if moved > 0 {
            self.committed_rows(moved);
        }
        Ok(moved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    fn ban(i: u32, end: Option<i64>) -> BanRecord {
        BanRecord {
            jail: "sshd".into(),
            target: format!("198.18.{}.{}", i >> 8, i & 255),
            start: at(10),
            end: end.map(at),
            failures: 1,
            ban_count: 1,
            matches: vec![],
            reason: None,
        }
    }

    /// A wave larger than a part ends whole, in several transactions, and
    /// only what ended: a later end and a permanent ban stay current.
    #[test]
    fn a_wave_of_ended_bans_moves_to_the_history_in_parts() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SqliteStore::open_dir(dir.path()).unwrap();
        let wave = 2 * PART as u32 + 5;
        let mut bans: Vec<BanRecord> = (0..wave)
            .map(|i| ban(i, Some(100 + i64::from(i % 7))))
            .collect();
        bans.push(ban(wave, Some(1_000)));
        bans.push(ban(wave + 1, None));
        s.record_bans(&bans).unwrap();
        let part = PART as usize;
        assert_eq!(
            s.end_bans(at(500), part).unwrap(),
            part,
            "one part, as asked"
        );
        assert_eq!(
            s.end_bans(at(500), usize::MAX).unwrap(),
            wave as usize - part
        );
        let left: Vec<String> = s
            .active_bans()
            .unwrap()
            .into_iter()
            .map(|b| b.target)
            .collect();
        assert_eq!(left.len(), 2);
        assert!(
            left.contains(&ban(wave, None).target) && left.contains(&ban(wave + 1, None).target)
        );
        let counts = s
            .ban_counts_since(
                Some("sshd"),
                &[ban(0, None).target, ban(wave - 1, None).target],
                at(0),
            )
            .unwrap();
        assert_eq!(counts, [1, 1], "ended bans are in the history");
        assert_eq!(s.end_bans(at(500), part).unwrap(), 0, "nothing ends twice");
    }

    /// Unbanning one address in every jail seeks it in each jail's part of
    /// the key; it never scans `bans` (a third of a second at a million).
    #[test]
    fn an_unban_everywhere_seeks_and_never_scans() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SqliteStore::open_dir(dir.path()).unwrap();
        let select = "jail IN (SELECT j FROM jails) AND target = ?1";
        for sql in [
            format!(
                "{}SELECT {BAN_COLUMNS} FROM bans WHERE {select}",
                with_jails!()
            ),
            format!("{}{TO_HISTORY} {select}", with_jails!()),
            format!("{}DELETE FROM bans WHERE {select}", with_jails!()),
        ] {
            let plan: Vec<String> = s
                .conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map(params!["x"], |r| r.get(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let has = |what: &str| plan.iter().any(|p| p.contains(what));
            assert!(has("(jail=? AND target=?)"), "{sql}: {plan:?}");
            assert!(!has("SCAN bans"), "{sql}: {plan:?}");
        }
        let mut two = vec![ban(1, None), ban(2, Some(100))];
        two[1].jail = "web".into();
        two[1].target = two[0].target.clone();
        s.record_bans(&two).unwrap();
        let removed = s.remove_bans(None, &[two[0].target.clone()]).unwrap();
        assert_eq!(removed.len(), 2, "every jail's ban of it");
        assert!(s.active_bans().unwrap().is_empty());
    }

    /// `unban --all` moves every jail's bans (`--jail J --all`: J's), and
    /// only once: the history keeps each (escalation counts it), and a
    /// second request finds nothing.
    #[test]
    fn removing_all_moves_every_jail_to_the_history_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SqliteStore::open_dir(dir.path()).unwrap();
        let mut bans: Vec<BanRecord> = (0..300).rev().map(|i| ban(i, Some(100))).collect();
        bans[7].jail = "web".into();
        bans[8].end = None;
        bans[9].matches = vec!["a line".into()];
        s.record_bans(&bans).unwrap();
        assert_eq!(s.remove_all(Some("web")).unwrap(), 1);
        assert_eq!(s.active_bans().unwrap().len(), 299, "only web's");
        assert_eq!(s.remove_all(None).unwrap(), 299);
        assert!(s.active_bans().unwrap().is_empty());
        let names: Vec<String> = bans.iter().map(|b| b.target.clone()).collect();
        let counts = s.ban_counts_since(None, &names, at(0)).unwrap();
        assert!(counts.iter().all(|&c| c == 1), "{counts:?}");
        let in_web = s.ban_counts_since(Some("web"), &names[7..8], at(0));
        assert_eq!(in_web.unwrap(), [1]);
        assert_eq!(s.remove_all(None).unwrap(), 0);
    }
}
