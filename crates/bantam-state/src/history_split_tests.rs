//! Version 6: a current ban lives in `bans` alone, and the history holds
//! the bans that ended or were replaced; every count reads both.

use super::*;

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn ban(jail: &str, target: &str, start: &str) -> BanRecord {
    BanRecord {
        jail: jail.into(),
        target: target.into(),
        start: t(start),
        end: Some(t(start) + jiff::SignedDuration::from_hours(1)),
        failures: 3,
        ban_count: 1,
        matches: vec!["a matched line".into()],
        reason: None,
    }
}

fn history_rows(s: &SqliteStore) -> i64 {
    s.conn
        .query_row("SELECT COUNT(*) FROM ban_history", [], |r| r.get(0))
        .unwrap()
}

fn counts(s: &mut SqliteStore, jail: Option<&str>, target: &str) -> (u32, u32) {
    let since = s
        .ban_counts_since(jail, &[target.to_owned()], Timestamp::UNIX_EPOCH)
        .unwrap()[0];
    (s.ban_count(jail, target).unwrap(), since)
}

#[test]
fn a_ban_is_written_once_and_counted_once_wherever_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open_dir(dir.path()).unwrap();
    s.record_bans(&[ban("sshd", "192.0.2.1", "2026-11-25T10:00:00Z")])
        .unwrap();
    assert_eq!(history_rows(&s), 0, "a current ban is not history yet");
    assert_eq!(counts(&mut s, Some("sshd"), "192.0.2.1"), (1, 1));
    assert_eq!(counts(&mut s, None, "192.0.2.1"), (1, 1));
    // Replaced (a knock's extension, a re-ban): the old one is history.
    s.record_bans(&[ban("sshd", "192.0.2.1", "2026-11-25T11:00:00Z")])
        .unwrap();
    assert_eq!(history_rows(&s), 1);
    assert_eq!(counts(&mut s, None, "192.0.2.1"), (2, 2));
    // The same address in two more jails, one of them sorting first.
    s.record_bans(&[
        ban("apache", "192.0.2.1", "2026-11-25T11:30:00Z"),
        ban("web", "192.0.2.1", "2026-11-25T11:30:00Z"),
    ])
    .unwrap();
    assert_eq!(counts(&mut s, None, "192.0.2.1"), (4, 4));
    assert_eq!(counts(&mut s, Some("web"), "192.0.2.1"), (1, 1));
    // Removed and expired bans stay counted, now from the history.
    s.remove_bans(Some("web"), &["192.0.2.1".to_owned()])
        .unwrap();
    s.expire(t("2026-11-25T13:00:00Z")).unwrap();
    assert!(s.active_bans().unwrap().is_empty());
    assert_eq!(history_rows(&s), 4);
    assert_eq!(counts(&mut s, None, "192.0.2.1"), (4, 4));
    assert_eq!(counts(&mut s, None, "192.0.2.2"), (0, 0));
    let listed = crate::HistoryReader::open_dir(dir.path())
        .unwrap()
        .bans_of("192.0.2.1")
        .unwrap();
    assert_eq!(listed.len(), 4);
}

#[test]
fn purging_never_touches_a_current_ban() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open_dir(dir.path()).unwrap();
    s.record_bans(&[ban("sshd", "192.0.2.1", "2026-11-25T10:00:00Z")])
        .unwrap();
    s.record_bans(&[ban("sshd", "192.0.2.1", "2026-11-25T11:00:00Z")])
        .unwrap();
    assert_eq!(s.purge_history(t("2030-01-01T00:00:00Z")).unwrap(), 1);
    assert_eq!(counts(&mut s, Some("sshd"), "192.0.2.1"), (1, 1));
    assert_eq!(s.active_bans().unwrap().len(), 1);
}

/// As bantam up to schema 5 left a file: every current ban also the
/// newest history row of its jail and target.
const SCHEMA_5_ROWS: &str = "
INSERT INTO bans (jail, target, start_ms, end_ms, failures, ban_count, matches)
    VALUES ('sshd', '192.0.2.7', 2000, NULL, 5, 2, 'l'), ('web', '192.0.2.8', 3000, 9000, 1, 1, '');
INSERT INTO ban_history (jail, target, start_ms, end_ms, failures) VALUES
    ('sshd', '192.0.2.7', 1000, 1500, 5),
    ('sshd', '192.0.2.7', 2000, NULL, 5),
    ('web', '192.0.2.8', 3000, 9000, 1),
    ('web', '192.0.2.8', 3000, 9000, 1);
PRAGMA user_version = 5;
";

#[test]
fn version_5_database_drops_the_history_row_of_each_current_ban() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE);
    drop(SqliteStore::open(&path).unwrap());
    Connection::open(&path)
        .unwrap()
        .execute_batch(SCHEMA_5_ROWS)
        .unwrap();
    // Read-only before the daemon migrates it: the history as it was.
    let old = crate::HistoryReader::open(&path).unwrap();
    assert_eq!(old.bans_of("192.0.2.7").unwrap().len(), 2);
    drop(old);
    let mut s = SqliteStore::open(&path).unwrap();
    // One row per current ban went; a ban recorded twice keeps its other.
    assert_eq!(history_rows(&s), 2);
    assert_eq!(counts(&mut s, None, "192.0.2.7"), (2, 2));
    assert_eq!(counts(&mut s, Some("web"), "192.0.2.8"), (2, 2));
    assert_eq!(s.active_bans().unwrap().len(), 2);
    drop(s);
    let listed = crate::HistoryReader::open(&path)
        .unwrap()
        .bans_of("192.0.2.7")
        .unwrap();
    let starts: Vec<i64> = listed.iter().map(|h| ms(h.start)).collect();
    assert_eq!(starts, [1000, 2000]);
}

/// With the filter of seen targets filled, a job skips the history move for
/// targets it never saw; one twice in the same job, or banned before the
/// restart, still leaves its replaced ban in the history.
#[test]
fn a_ban_replaced_in_its_own_job_or_after_a_restart_still_reaches_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open_dir(dir.path()).unwrap();
    s.record_bans(&[ban("sshd", "192.0.2.1", "2026-11-25T10:00:00Z")])
        .unwrap();
    drop(s);
    let mut s = SqliteStore::open_dir(dir.path()).unwrap();
    let _counter = s.counter().unwrap().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !s.seen.is_ready() {
        assert!(std::time::Instant::now() < deadline, "never filled");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    s.record_bans(&[
        ban("sshd", "198.51.100.7", "2026-11-25T11:00:00Z"),
        ban("sshd", "192.0.2.1", "2026-11-25T11:00:00Z"),
        ban("sshd", "203.0.113.9", "2026-11-25T11:00:00Z"),
        ban("sshd", "198.51.100.7", "2026-11-25T11:05:00Z"),
    ])
    .unwrap();
    assert_eq!(
        history_rows(&s),
        2,
        "192.0.2.1's first ban, 198.51.100.7's first"
    );
    assert_eq!(counts(&mut s, Some("sshd"), "198.51.100.7"), (2, 2));
    assert_eq!(counts(&mut s, Some("sshd"), "192.0.2.1"), (2, 2));
    assert_eq!(counts(&mut s, Some("sshd"), "203.0.113.9"), (1, 1));
    let current = s.active_bans().unwrap();
    let last = current.iter().find(|b| b.target == "198.51.100.7").unwrap();
    assert_eq!(
        last.start,
        t("2026-11-25T11:05:00Z"),
        "the later ban of a job wins"
    );
}
