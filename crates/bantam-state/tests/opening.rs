//! What opening finds, on real files: fresh, bantam's own, corrupt in the
//! ways disks and people corrupt files, newer, locked; and the modes the
//! files get.

use std::fs::{self, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use bantam_state::{BanRecord, SqliteStore, StateError, Store};

fn ban(target: String) -> BanRecord {
    BanRecord {
        jail: "sshd".into(),
        target,
        start: "2026-11-25T10:00:00Z".parse().unwrap(),
        end: Some("2026-11-25T11:00:00Z".parse().unwrap()),
        failures: 5,
        ban_count: 1,
        matches: vec!["Failed password for root from 192.0.2.1 port 22 ssh2".into(); 5],
        reason: None,
    }
}

fn bans(n: u32) -> Vec<BanRecord> {
    (0..n)
        .map(|i| ban(format!("198.18.{}.{}", i / 256, i % 256)))
        .collect()
}

/// A database bantam wrote, closed cleanly (WAL checkpointed into it).
fn real_db(dir: &Path, n: u32) -> PathBuf {
    let mut s = SqliteStore::open_dir(dir).unwrap();
    s.record_bans(&bans(n)).unwrap();
    let path = s.path().to_owned();
    drop(s);
    assert!(!with_suffix(&path, "-wal").exists(), "closing checkpoints");
    path
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Deterministic junk (xorshift): no two runs differ, no crate needed.
fn junk(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

/// Opens a corrupt `path` and checks the quarantine: the file moved aside
/// as it was, a new empty store in its place that works and stays.
fn assert_quarantined(dir: &Path, path: &Path, reason_has: &str) {
    let before = fs::read(path).unwrap();
    let mut s = SqliteStore::open_dir(dir).unwrap();
    let q = s.opened().quarantined.clone().expect("quarantined");
    assert!(s.opened().fresh);
    assert!(q.reason.contains(reason_has), "{}", q.reason);
    let name = q.moved_to.file_name().unwrap().to_str().unwrap();
    assert!(name.starts_with("bantam.db.corrupt-"), "{name}");
    assert_eq!(fs::read(&q.moved_to).unwrap(), before, "moved as found");
    assert!(s.active_bans().unwrap().is_empty());
    s.record_bans(&bans(3)).unwrap();
    drop(s);
    let mut s = SqliteStore::open_dir(dir).unwrap();
    assert_eq!(s.opened().quarantined, None);
    assert!(!s.opened().fresh);
    assert_eq!(s.active_bans().unwrap().len(), 3);
}

#[test]
fn fresh_then_known() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open_dir(dir.path()).unwrap();
    assert!(s.opened().fresh);
    assert_eq!(s.opened().quarantined, None);
    drop(s);
    let s = SqliteStore::open_dir(dir.path()).unwrap();
    assert!(!s.opened().fresh, "an empty bantam database is not fresh");
    let s = SqliteStore::open(Path::new(":memory:")).unwrap();
    assert!(s.opened().fresh);
}

#[test]
fn zero_length_file_is_fresh_not_corrupt() {
    // SQLite reads an empty file as an empty database: nothing to save.
    let dir = tempfile::tempdir().unwrap();
    fs::File::create(dir.path().join("bantam.db")).unwrap();
    let mut s = SqliteStore::open_dir(dir.path()).unwrap();
    assert!(s.opened().fresh);
    assert_eq!(s.opened().quarantined, None);
    s.record_bans(&bans(1)).unwrap();
}

#[test]
fn foreign_database_is_fresh_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bantam.db");
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch("CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('keep me');")
        .unwrap();
    drop(c);
    let mut s = SqliteStore::open_dir(dir.path()).unwrap();
    assert!(s.opened().fresh);
    assert_eq!(s.opened().quarantined, None);
    s.record_bans(&bans(1)).unwrap();
    drop(s);
    let c = rusqlite::Connection::open(&path).unwrap();
    let t: String = c
        .query_row("SELECT t FROM notes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(t, "keep me");
}

#[test]
fn random_bytes_are_quarantined() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bantam.db");
    fs::write(&path, junk(16384, 0x9e37_79b9_7f4a_7c15)).unwrap();
    assert_quarantined(dir.path(), &path, "not a database");
}

#[test]
fn truncated_database_is_quarantined() {
    let dir = tempfile::tempdir().unwrap();
    let path = real_db(dir.path(), 2000);
    let len = fs::metadata(&path).unwrap().len();
    assert!(len > 64 * 4096, "{len}");
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    assert_quarantined(dir.path(), &path, "");
}

#[test]
fn overwritten_page_is_quarantined() {
    let dir = tempfile::tempdir().unwrap();
    let path = real_db(dir.path(), 2000);
    let mut f = OpenOptions::new().write(true).open(&path).unwrap();
    // Page 5: inside the bans table's tree, past the schema on page 1.
    f.seek(SeekFrom::Start(4 * 4096)).unwrap();
    f.write_all(&junk(4096, 42)).unwrap();
    drop(f);
    assert_quarantined(dir.path(), &path, "");
}

#[test]
fn corrupt_database_moves_with_its_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = real_db(dir.path(), 2000);
    let mut s = SqliteStore::open_dir(dir.path()).unwrap();
    s.record_bans(&[ban("203.0.113.1".into())]).unwrap();
    // A crash: never closed, so that ban is in the WAL only.
    std::mem::forget(s);
    let wal = fs::read(with_suffix(&path, "-wal")).unwrap();
    assert!(!wal.is_empty());
    // A page the WAL does not hold a newer copy of.
    let mut f = OpenOptions::new().write(true).open(&path).unwrap();
    f.seek(SeekFrom::Start(4 * 4096)).unwrap();
    f.write_all(&junk(4096, 7)).unwrap();
    drop(f);
    let s = SqliteStore::open_dir(dir.path()).unwrap();
    let q = s.opened().quarantined.clone().expect("quarantined");
    assert_eq!(fs::read(with_suffix(&q.moved_to, "-wal")).unwrap(), wal);
    assert!(with_suffix(&q.moved_to, "-shm").exists());
}

#[test]
fn two_quarantines_in_one_second_keep_both() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bantam.db");
    let mut moved = Vec::new();
    for seed in 1..=2 {
        fs::write(&path, junk(8192, seed)).unwrap();
        let s = SqliteStore::open_dir(dir.path()).unwrap();
        moved.push(s.opened().quarantined.clone().unwrap().moved_to);
    }
    assert_ne!(moved[0], moved[1]);
    assert_eq!(fs::read(&moved[0]).unwrap(), junk(8192, 1));
    assert_eq!(fs::read(&moved[1]).unwrap(), junk(8192, 2));
}

#[test]
fn newer_schema_is_an_error_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = real_db(dir.path(), 1);
    let c = rusqlite::Connection::open(&path).unwrap();
    c.pragma_update(None, "user_version", 99).unwrap();
    drop(c);
    let err = SqliteStore::open_dir(dir.path()).err().unwrap();
    assert!(
        matches!(err, StateError::Version { found: 99, .. }),
        "{err}"
    );
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["bantam.db"], "nothing moved, nothing left behind");
}

#[test]
fn locked_database_is_an_error_not_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let path = real_db(dir.path(), 1);
    let c = rusqlite::Connection::open(&path).unwrap();
    // In WAL mode no lock stops a reader, so the locker takes the file
    // back to rollback mode, where an exclusive lock stops everyone.
    c.execute_batch("PRAGMA journal_mode = DELETE; BEGIN EXCLUSIVE")
        .unwrap();
    let err = SqliteStore::open_dir(dir.path()).err().unwrap();
    assert!(err.to_string().contains("locked"), "{err}");
    assert_eq!(err.path(), path);
    c.execute_batch("COMMIT").unwrap();
    let mut s = SqliteStore::open_dir(dir.path()).unwrap();
    assert_eq!(s.opened().quarantined, None);
    assert_eq!(s.active_bans().unwrap().len(), 1);
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn files_are_private_whatever_the_umask() {
    // SAFETY: umask has no preconditions. It is process-wide: the other
    // tests here only get laxer defaults, which they do not look at.
    unsafe { libc::umask(0) };
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("var/lib/bantam");
    let mut s = SqliteStore::open_dir(&state).unwrap();
    s.record_bans(&bans(1)).unwrap();
    assert_eq!(mode(&state), 0o700);
    for suffix in ["", "-wal", "-shm"] {
        assert_eq!(mode(&with_suffix(s.path(), suffix)), 0o600, "{suffix}");
    }
    drop(s);

    // A database an older bantam left group- and world-readable.
    let old = tempfile::tempdir().unwrap();
    let path = real_db(old.path(), 1);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let _open = SqliteStore::open_dir(old.path()).unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&with_suffix(&path, "-wal")), 0o600);
}

#[test]
fn uncreatable_directory_names_path_and_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    fs::write(&file, "").unwrap();
    let err = SqliteStore::open_dir(&file.join("state")).err().unwrap();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "cannot create state directory {}/state: ",
            file.display()
        )),
        "{text}"
    );
    assert_eq!(text.matches("Not a directory").count(), 1, "{text}");
    assert!(std::error::Error::source(&err).is_none());
}

#[test]
fn missing_directory_is_not_called_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nowhere/bantam.db");
    let text = SqliteStore::open(&db).err().unwrap().to_string();
    assert_eq!(
        text,
        format!(
            "state database {}: checking its directory: No such file or directory (os error 2)",
            db.display()
        )
    );
}
