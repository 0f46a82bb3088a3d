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
    assert_eq!(s.remove_all().unwrap().len(), 1);
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
