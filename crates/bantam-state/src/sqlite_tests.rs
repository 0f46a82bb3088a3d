use super::*;

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn ban(jail: &str, target: &str, end: Option<&str>) -> BanRecord {
    BanRecord {
        jail: jail.into(),
        target: target.into(),
        start: t("2026-11-25T10:00:00Z"),
        end: end.map(t),
        failures: 5,
        ban_count: 1,
        matches: vec!["line one".into(), "line two".into()],
        reason: None,
    }
}

#[test]
fn bans_round_trip_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = SqliteStore::open_dir(dir.path()).unwrap();
        s.record_bans(&[
            ban("sshd", "192.0.2.1", Some("2026-11-25T10:10:00Z")),
            ban("sshd", "2001:db8::1", None),
        ])
        .unwrap();
    }
    let mut s = SqliteStore::open_dir(dir.path()).unwrap();
    let bans = s.active_bans().unwrap();
    assert_eq!(bans.len(), 2);
    assert!(bans.contains(&ban("sshd", "2001:db8::1", None)));
    assert_eq!(s.ban_count(Some("sshd"), "192.0.2.1").unwrap(), 1);
}

#[test]
fn rebanning_replaces_current_and_grows_history() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open_dir(dir.path()).unwrap();
    s.record_bans(&[ban("sshd", "192.0.2.1", Some("2026-11-25T10:10:00Z"))])
        .unwrap();
    let mut again = ban("sshd", "192.0.2.1", Some("2026-11-25T11:00:00Z"));
    again.ban_count = 2;
    s.record_bans(&[again.clone()]).unwrap();
    assert_eq!(s.active_bans().unwrap(), vec![again]);
    assert_eq!(s.ban_count(Some("sshd"), "192.0.2.1").unwrap(), 2);
    assert_eq!(s.ban_count(None, "192.0.2.1").unwrap(), 2);
    assert_eq!(s.ban_count(Some("other"), "192.0.2.1").unwrap(), 0);
}

#[test]
fn expiry_and_removal() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open_dir(dir.path()).unwrap();
    s.record_bans(&[
        ban("sshd", "192.0.2.1", Some("2026-11-25T10:10:00Z")),
        ban("sshd", "192.0.2.2", Some("2026-11-25T10:20:00Z")),
        ban("web", "192.0.2.2", None),
        ban("sshd", "192.0.2.3", None),
    ])
    .unwrap();
    let expired = s.expire(t("2026-11-25T10:15:00Z")).unwrap();
    assert_eq!(
        expired
            .iter()
            .map(|b| b.target.as_str())
            .collect::<Vec<_>>(),
        ["192.0.2.1"]
    );
    let removed = s.remove_bans(None, &["192.0.2.2".into()]).unwrap();
    assert_eq!(removed.len(), 2);
    let removed = s.remove_bans(Some("web"), &["192.0.2.3".into()]).unwrap();
    assert!(removed.is_empty());
    assert_eq!(s.remove_all(None).unwrap(), 1);
    assert!(s.active_bans().unwrap().is_empty());
}

#[test]
fn many_bans_in_one_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open_dir(dir.path()).unwrap();
    let bans: Vec<BanRecord> = (0..5000u32)
        .map(|i| {
            ban(
                "sshd",
                &format!("198.18.{}.{}", i / 256, i % 256),
                Some("2026-11-25T10:10:00Z"),
            )
        })
        .collect();
    s.record_bans(&bans).unwrap();
    assert_eq!(s.active_bans().unwrap().len(), 5000);
}

/// A burst commits thousands of bans at a time; the checkpointer must be
/// nudged by bans written, not only by commits, and the WAL cut back once
/// checkpointed (300,000 bans in 12 commits made a WAL of 100 MB that
/// stayed on disk).
#[test]
fn a_burst_leaves_a_bounded_wal() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open_dir(dir.path()).unwrap();
    let wal = dir.path().join("bantam.db-wal");
    let line = format!(
        "sshd[1]: Failed password for root from {} port 22 ssh2",
        "x".repeat(60)
    );
    let mut n = 0u32;
    let mut burst = |count: u32| -> Vec<BanRecord> {
        (0..count)
            .map(|_| {
                n += 1;
                let mut b = ban(
                    "sshd",
                    &format!("2001:db8::{:x}:{:x}", n >> 16, n & 0xffff),
                    None,
                );
                b.matches = vec![line.clone()];
                b
            })
            .collect()
    };
    for _ in 0..12 {
        s.record_bans(&burst(25_000)).unwrap();
    }
    // The checkpointer runs beside us, and the first write after it has
    // finished cuts the WAL back. Fewer writes than the commits that would
    // nudge it by themselves; up to 10 s for the checkpoint.
    for _ in 0..40 {
        s.record_bans(&burst(1)).unwrap();
        let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        if size <= WAL_SIZE_LIMIT as u64 + (1 << 20) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    panic!("the WAL was not cut back to {WAL_SIZE_LIMIT} bytes");
}

#[test]
fn bans_in_parts_are_all_the_bans_and_stop_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open_dir(dir.path()).unwrap();
    let bans: Vec<BanRecord> = (0..1000u32)
        .map(|i| ban("sshd", &format!("198.18.3.{}", i % 256), None))
        .chain((0..744u32).map(|i| ban("nginx", &format!("198.18.4.{}", i % 256), None)))
        .collect();
    s.record_bans(&bans).unwrap();
    let mut all = s.active_bans().unwrap();
    let mut sizes = Vec::new();
    let mut streamed = Vec::new();
    s.active_bans_in_parts(100, &mut |part| {
        sizes.push(part.len());
        streamed.extend(part);
        true
    })
    .unwrap();
    assert!(sizes
        .iter()
        .all(|&n| n == 100 || n == *sizes.last().unwrap()));
    let key = |b: &BanRecord| (b.jail.clone(), b.target.clone());
    all.sort_by_key(key);
    streamed.sort_by_key(key);
    assert_eq!(streamed, all);

    let mut calls = 0;
    s.active_bans_in_parts(100, &mut |_| {
        calls += 1;
        false
    })
    .unwrap();
    assert_eq!(calls, 1, "stops at the first `false`");
}

#[test]
fn positions_round_trip_including_large_values() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open_dir(dir.path()).unwrap();
    let p = FilePosition {
        path: "/var/log/auth.log".into(),
        dev: 64769,
        inode: u64::MAX - 1,
        offset: 1 << 40,
        fingerprint: u64::MAX,
    };
    s.save_positions(std::slice::from_ref(&p)).unwrap();
    let moved = FilePosition {
        offset: 7,
        ..p.clone()
    };
    s.save_positions(std::slice::from_ref(&moved)).unwrap();
    assert_eq!(s.load_positions().unwrap(), vec![moved]);
}

#[test]
fn unopenable_paths_are_named() {
    let err = SqliteStore::open_dir(Path::new("/proc/no/such/dir"))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("/proc/no/such/dir"), "{err}");
}

fn at(jail: &str, target: &str, start: &str, end: Option<&str>) -> BanRecord {
    BanRecord {
        start: t(start),
        ..ban(jail, target, end)
    }
}

#[test]
fn purge_forgets_ended_history_and_keeps_current_bans() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open_dir(dir.path()).unwrap();
    s.record_bans(&[
        // Ended long ago: forgotten.
        at(
            "sshd",
            "192.0.2.1",
            "2026-01-01T00:00:00Z",
            Some("2026-01-01T01:00:00Z"),
        ),
        // Started long ago, ended recently: kept (it ends, not starts, the clock).
        at(
            "sshd",
            "192.0.2.2",
            "2026-01-01T00:00:00Z",
            Some("2026-11-20T00:00:00Z"),
        ),
        // Permanent, started long ago, lifted below: ages from its start.
        at("sshd", "192.0.2.3", "2026-01-01T00:00:00Z", None),
        // Permanent and still current: kept.
        at("sshd", "192.0.2.4", "2026-01-01T00:00:00Z", None),
        // Ended long ago but still current (never expired: daemon down): kept.
        at(
            "web",
            "192.0.2.5",
            "2026-01-01T00:00:00Z",
            Some("2026-01-02T00:00:00Z"),
        ),
    ])
    .unwrap();
    s.remove_bans(
        None,
        &["192.0.2.1".into(), "192.0.2.2".into(), "192.0.2.3".into()],
    )
    .unwrap();
    let before = t("2026-10-26T00:00:00Z");
    assert_eq!(s.purge_history(before).unwrap(), 2);
    assert_eq!(s.purge_history(before).unwrap(), 0, "nothing left to purge");
    let counts: Vec<u32> = [
        "192.0.2.1",
        "192.0.2.2",
        "192.0.2.3",
        "192.0.2.4",
        "192.0.2.5",
    ]
    .iter()
    .map(|a| s.ban_count(None, a).unwrap())
    .collect();
    assert_eq!(counts, [0, 1, 0, 1, 1]);
    assert_eq!(
        s.active_bans().unwrap().len(),
        2,
        "current bans are never purged"
    );
}

#[test]
fn purge_keeps_the_current_ban_of_a_rebanned_source() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open_dir(dir.path()).unwrap();
    s.record_bans(&[at(
        "sshd",
        "192.0.2.1",
        "2026-01-01T00:00:00Z",
        Some("2026-01-01T01:00:00Z"),
    )])
    .unwrap();
    let mut again = at(
        "sshd",
        "192.0.2.1",
        "2026-02-01T00:00:00Z",
        Some("2026-02-01T02:00:00Z"),
    );
    again.ban_count = 2;
    s.record_bans(&[again]).unwrap();
    // Both ended before the cutoff; only the one no longer current goes.
    assert_eq!(s.purge_history(t("2026-10-26T00:00:00Z")).unwrap(), 1);
    assert_eq!(s.ban_count(Some("sshd"), "192.0.2.1").unwrap(), 1);
}

#[test]
fn purge_goes_in_bounded_steps() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open_dir(dir.path()).unwrap();
    let old: Vec<BanRecord> = (0..(PURGE_BATCH as u32 + 10))
        .map(|i| {
            let target = format!("198.18.{}.{}", i / 256, i % 256);
            at(
                "sshd",
                &target,
                "2026-01-01T00:00:00Z",
                Some("2026-01-01T01:00:00Z"),
            )
        })
        .collect();
    s.record_bans(&old).unwrap();
    s.remove_all(None).unwrap();
    let before = t("2026-10-26T00:00:00Z");
    assert_eq!(s.purge_history(before).unwrap(), PURGE_BATCH as u64);
    assert_eq!(s.purge_history(before).unwrap(), 10);
    assert_eq!(s.purge_history(before).unwrap(), 0);
}

#[test]
fn adopted_ban_keeps_the_count_it_is_given() {
    // The daemon records kernel elements it adopts like any ban.
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open_dir(dir.path()).unwrap();
    assert!(s.opened().fresh);
    let mut adopted = ban("sshd", "198.51.100.7", Some("2026-11-25T12:00:00Z"));
    adopted.ban_count = 3;
    adopted.failures = 0;
    adopted.matches.clear();
    s.record_bans(std::slice::from_ref(&adopted)).unwrap();
    drop(s);
    let mut s = SqliteStore::open_dir(dir.path()).unwrap();
    assert!(!s.opened().fresh);
    assert_eq!(s.active_bans().unwrap(), vec![adopted]);
    assert_eq!(
        s.ban_count(Some("sshd"), "198.51.100.7").unwrap(),
        1,
        "history: one row"
    );
}

#[test]
fn version_1_database_gains_the_purge_index() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open_dir(dir.path()).unwrap();
    s.record_bans(&[ban("sshd", "192.0.2.1", None)]).unwrap();
    s.conn
        .execute_batch("DROP INDEX history_by_age; PRAGMA user_version = 1;")
        .unwrap();
    drop(s);
    let mut s = SqliteStore::open_dir(dir.path()).unwrap();
    assert!(!s.opened().fresh);
    let version: i64 = s
        .conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    let plan: Vec<String> = s
        .conn
        .prepare(
            "EXPLAIN QUERY PLAN SELECT id FROM ban_history WHERE COALESCE(end_ms, start_ms) < 0 \
             AND NOT EXISTS (SELECT 1 FROM bans WHERE bans.jail = ban_history.jail \
             AND bans.target = ban_history.target AND bans.start_ms = ban_history.start_ms)",
        )
        .unwrap()
        .query_map([], |r| r.get(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(plan[0].contains("history_by_age"), "{plan:?}");
    assert_eq!(s.active_bans().unwrap().len(), 1);
}

#[test]
fn recent_ban_counts_per_jail_or_all_within_a_window_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = SqliteStore::open_dir(dir.path()).unwrap();
        s.record_bans(&[
            at("sshd", "192.0.2.1", "2026-11-20T10:00:00Z", None),
            at("sshd", "192.0.2.1", "2026-11-25T09:00:00Z", None),
            at("web", "192.0.2.1", "2026-11-25T09:30:00Z", None),
            at("sshd", "192.0.2.2", "2026-11-25T09:45:00Z", None),
        ])
        .unwrap();
    }
    let mut s = SqliteStore::open_dir(dir.path()).unwrap();
    let targets: Vec<String> = ["192.0.2.1", "192.0.2.9", "192.0.2.2"]
        .map(String::from)
        .into();
    let day = t("2026-11-24T10:00:00Z");
    let ever = Timestamp::UNIX_EPOCH;
    assert_eq!(
        s.ban_counts_since(Some("sshd"), &targets, ever).unwrap(),
        [2, 0, 1]
    );
    assert_eq!(
        s.ban_counts_since(Some("sshd"), &targets, day).unwrap(),
        [1, 0, 1]
    );
    assert_eq!(s.ban_counts_since(None, &targets, day).unwrap(), [2, 0, 1]);
    assert_eq!(s.ban_counts_since(None, &targets, ever).unwrap(), [3, 0, 1]);
    // `since` itself counts.
    let exact = t("2026-11-25T09:45:00Z");
    assert_eq!(
        s.ban_counts_since(Some("sshd"), &targets, exact).unwrap(),
        [0, 0, 1]
    );
    assert!(s.ban_counts_since(None, &[], day).unwrap().is_empty());
}

#[test]
fn ban_counts_read_only_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open_dir(dir.path()).unwrap();
    for jail in [Some("sshd"), None] {
        let sql = crate::counter::counting(jail);
        let plan: Vec<String> = s
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap()
            .query_map(params!["x", "y", 0], |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let has = |what: &str| plan.iter().any(|p| p.contains(what));
        assert!(
            has("COVERING INDEX history_by_target_time (target=?"),
            "{jail:?}: {plan:?}"
        );
        assert!(
            has("sqlite_autoindex_bans_1 (jail=? AND target=?)"),
            "{jail:?}: {plan:?}"
        );
        assert!(
            !has("SCAN bans") && !has("SCAN ban_history"),
            "{jail:?}: {plan:?}"
        );
    }
}

#[test]
fn version_2_database_gains_the_count_index() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open_dir(dir.path()).unwrap();
    s.record_bans(&[ban("sshd", "192.0.2.1", None)]).unwrap();
    s.conn
        .execute_batch("DROP INDEX history_by_target_time; PRAGMA user_version = 2;")
        .unwrap();
    drop(s);
    let mut s = SqliteStore::open_dir(dir.path()).unwrap();
    assert!(!s.opened().fresh);
    let found: i64 = s
        .conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'history_by_target_time'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(found, 1);
    let redundant: i64 = s
        .conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'history_by_target'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(redundant, 0, "dropped: history_by_target_time serves it");
    let one = ["192.0.2.1".to_owned()];
    assert_eq!(
        s.ban_counts_since(Some("sshd"), &one, Timestamp::UNIX_EPOCH)
            .unwrap(),
        [1]
    );
}

/// A database as bantam 0.1 (schema 2) wrote it: no `reason` anywhere.
const SCHEMA_2: &str = "
CREATE TABLE bans (jail TEXT NOT NULL, target TEXT NOT NULL, start_ms INTEGER NOT NULL,
    end_ms INTEGER, failures INTEGER NOT NULL, ban_count INTEGER NOT NULL,
    matches TEXT NOT NULL, PRIMARY KEY (jail, target));
CREATE TABLE ban_history (id INTEGER PRIMARY KEY, jail TEXT NOT NULL, target TEXT NOT NULL,
    start_ms INTEGER NOT NULL, end_ms INTEGER, failures INTEGER NOT NULL);
CREATE TABLE positions (path TEXT PRIMARY KEY, dev INTEGER NOT NULL, inode INTEGER NOT NULL,
    offset INTEGER NOT NULL, fingerprint INTEGER NOT NULL);
INSERT INTO bans VALUES ('sshd', '192.0.2.9', 1000, NULL, 5, 1, 'a line');
INSERT INTO ban_history (jail, target, start_ms, end_ms, failures) VALUES ('sshd', '192.0.2.9', 1000, NULL, 5);
PRAGMA user_version = 2;
";

#[test]
fn version_2_database_keeps_its_bans_and_gains_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bantam.db");
    Connection::open(&path)
        .unwrap()
        .execute_batch(SCHEMA_2)
        .unwrap();
    // Read-only, before the daemon migrates it: history without reasons.
    let old = crate::HistoryReader::open(&path).unwrap();
    let rows = old.bans_of("192.0.2.9").unwrap();
    assert_eq!((rows.len(), rows[0].reason.as_deref()), (1, None));
    drop(old);
    let mut s = SqliteStore::open(&path).unwrap();
    assert!(!s.opened().fresh);
    let kept = s.active_bans().unwrap();
    assert_eq!((kept.len(), kept[0].reason.as_deref()), (1, None));
    let mut by_hand = ban("manual", "192.0.2.9", None);
    by_hand.reason = Some("scanner seen on the web server".into());
    s.record_bans(&[by_hand.clone()]).unwrap();
    drop(s);
    let mut s = SqliteStore::open(&path).unwrap();
    assert!(s.active_bans().unwrap().contains(&by_hand));
    let history = crate::HistoryReader::open(&path)
        .unwrap()
        .bans_of("192.0.2.9")
        .unwrap();
    let reasons: Vec<_> = history.iter().map(|h| h.reason.as_deref()).collect();
    assert_eq!(reasons, [None, Some("scanner seen on the web server")]);
}

#[test]
fn history_reader_never_creates_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let err = crate::HistoryReader::open_dir(dir.path()).err().unwrap();
    assert!(err.to_string().contains("bantam.db"), "{err}");
    assert!(!dir.path().join("bantam.db").exists());
}

/// The second reader counts what the store committed, and only a store on a
/// file has one.
#[test]
fn a_counter_reads_the_last_commit_beside_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open(&dir.path().join("bantam.db")).unwrap();
    let mut counter = s.counter().expect("a file has a reader").unwrap();
    let targets = vec!["192.0.2.1".to_string(), "192.0.2.2".to_string()];
    let ever = Timestamp::UNIX_EPOCH;
    assert_eq!(
        counter.ban_counts_since(None, &targets, ever).unwrap(),
        [0, 0]
    );
    s.record_bans(&[ban("sshd", "192.0.2.1", None)]).unwrap();
    s.record_bans(&[ban("web", "192.0.2.1", None)]).unwrap();
    assert_eq!(
        counter.ban_counts_since(None, &targets, ever).unwrap(),
        [2, 0]
    );
    assert_eq!(
        counter
            .ban_counts_since(Some("sshd"), &targets, ever)
            .unwrap(),
        s.ban_counts_since(Some("sshd"), &targets, ever).unwrap()
    );
    let memory = SqliteStore::open(Path::new(":memory:")).unwrap();
    assert!(memory.counter().is_none());
}

/// History on disk before the filter existed, and bans after: the filter
/// never hides either from a count.
#[test]
fn counts_stay_right_once_the_history_filter_is_filled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bantam.db");
    let mut s = SqliteStore::open(&path).unwrap();
    s.record_bans(&[ban("sshd", "192.0.2.1", None)]).unwrap();
    s.record_bans(&[ban("sshd", "192.0.2.1", None)]).unwrap();
    drop(s);
    let mut s = SqliteStore::open(&path).unwrap();
    let mut counter = s.counter().unwrap().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !s.seen.is_ready() {
        assert!(
            std::time::Instant::now() < deadline,
            "the filter was never filled"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let targets = vec!["192.0.2.1".to_string(), "192.0.2.2".to_string()];
    let ever = Timestamp::UNIX_EPOCH;
    assert_eq!(
        counter
            .ban_counts_since(Some("sshd"), &targets, ever)
            .unwrap(),
        [2, 0]
    );
    assert_eq!(
        s.ban_counts_since(Some("sshd"), &targets, ever).unwrap(),
        [2, 0]
    );
    s.record_bans(&[ban("sshd", "192.0.2.2", None)]).unwrap();
    assert_eq!(
        counter.ban_counts_since(None, &targets, ever).unwrap(),
        [2, 1]
    );
}
