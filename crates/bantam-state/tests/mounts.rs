//! Read-only and full file systems, for real: small tmpfs mounts under a
//! temporary directory, always unmounted.
//!
//! Root ignores mode bits, so "read-only" here is a read-only mount, which
//! stops root too. These tests need root (mount). Without it they print a
//! note and pass, except when `CI` is set: there a skipped test would hide a
//! broken store, so it fails.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use bantam_state::{BanRecord, SqliteStore, StateError, Store};

fn root_or_skip(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test} needs root (mount); CI is set, so this fails instead of skipping");
    }
    eprintln!("skipping {test}: needs root (mount)");
    false
}

fn run(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A tmpfs on a fresh temporary directory, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(options: &str) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let at = dir.path().to_str().unwrap();
        run(&["mount", "-t", "tmpfs", "-o", options, "bantam-test", at]);
        Tmpfs { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn remount(&self, options: &str) {
        let at = self.path().to_str().unwrap();
        run(&["mount", "-o", &format!("remount,{options}"), at]);
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a file a failed test left open must not keep the mount.
        let _ = Command::new("umount")
            .args(["-l", self.path().to_str().unwrap()])
            .status();
    }
}

fn bans(first: u32, n: u32) -> Vec<BanRecord> {
    (first..first + n)
        .map(|i| BanRecord {
            jail: "sshd".into(),
            target: format!("198.18.{}.{}", i / 256, i % 256),
            start: "2026-11-25T10:00:00Z".parse().unwrap(),
            end: Some("2026-11-25T11:00:00Z".parse().unwrap()),
            failures: 5,
            ban_count: 1,
            matches: vec![format!("Failed password for root from 198.18.0.1 port {i} ssh2"); 5],
            reason: None,
        })
        .collect()
}

/// The message names `path`, says "not writable", and gives the OS cause
/// exactly once.
fn assert_not_writable(err: &StateError, what: &str, path: &Path) {
    let text = err.to_string();
    assert_eq!(
        text,
        format!(
            "{what} {} is not writable: Read-only file system (os error 30)",
            path.display()
        )
    );
    assert!(
        std::error::Error::source(err).is_none(),
        "cause printed once"
    );
}

#[test]
fn read_only_directory_is_one_clear_error() {
    if !root_or_skip("read_only_directory_is_one_clear_error") {
        return;
    }
    let fs_ = Tmpfs::mount("size=256k,ro");
    let err = SqliteStore::open_dir(fs_.path()).err().unwrap();
    assert_not_writable(&err, "state directory", fs_.path());

    let missing = fs_.path().join("bantam");
    let err = SqliteStore::open_dir(&missing).err().unwrap();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot create state directory {}: Read-only file system (os error 30)",
            missing.display()
        )
    );
}

#[test]
fn existing_database_on_read_only_mount_is_left_alone() {
    if !root_or_skip("existing_database_on_read_only_mount_is_left_alone") {
        return;
    }
    let fs_ = Tmpfs::mount("size=256k");
    let mut s = SqliteStore::open_dir(fs_.path()).unwrap();
    s.record_bans(&bans(0, 3)).unwrap();
    let db = s.path().to_owned();
    drop(s);
    let before = fs::read(&db).unwrap();
    fs_.remount("ro");
    let err = SqliteStore::open_dir(fs_.path()).err().unwrap();
    assert_not_writable(&err, "state directory", fs_.path());
    assert_eq!(fs::read(&db).unwrap(), before);
    fs_.remount("rw");
    assert_eq!(
        SqliteStore::open_dir(fs_.path())
            .unwrap()
            .active_bans()
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn read_only_database_file_in_writable_directory() {
    if !root_or_skip("read_only_database_file_in_writable_directory") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bantam.db");
    drop(SqliteStore::open(&db).unwrap());
    // The file alone read-only: a read-only bind mount of it onto itself.
    let at = db.to_str().unwrap();
    run(&["mount", "--bind", at, at]);
    run(&["mount", "-o", "remount,ro,bind", at]);
    let result = SqliteStore::open(&db);
    run(&["umount", at]);
    assert_not_writable(&result.err().unwrap(), "state database", &db);
}

/// Writes `name` until the file system is full; returns its path.
fn fill(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let mut f = fs::File::create(&path).unwrap();
    let block = [0x55u8; 4096];
    loop {
        match f.write_all(&block).and_then(|()| f.sync_all()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => return path,
            Err(e) => panic!("filling {}: {e}", path.display()),
        }
    }
}

#[test]
fn full_disk_fails_the_batch_whole_and_recovers() {
    if !root_or_skip("full_disk_fails_the_batch_whole_and_recovers") {
        return;
    }
    let fs_ = Tmpfs::mount("size=256k");
    let mut s = SqliteStore::open_dir(fs_.path()).unwrap();
    s.record_bans(&bans(0, 10)).unwrap();
    let filler = fill(fs_.path(), "filler");
    // Some room again, less than the batches below need in all.
    let f = fs::OpenOptions::new().write(true).open(&filler).unwrap();
    f.set_len(f.metadata().unwrap().len().saturating_sub(48 * 1024))
        .unwrap();
    drop(f);

    let mut recorded = 10;
    let failed = loop {
        let batch = bans(recorded, 20);
        match s.record_bans(&batch) {
            Ok(()) => recorded += 20,
            Err(e) => break (batch, e),
        }
        assert!(recorded < 10_000, "the disk never filled");
    };
    let (batch, err) = failed;
    let text = err.to_string();
    assert!(text.contains("database or disk is full"), "{text}");
    assert!(text.contains(&s.path().display().to_string()), "{text}");
    assert!(text.contains("recording bans"), "{text}");
    // Rolled back whole, and the store still answers.
    assert_eq!(s.active_bans().unwrap().len(), recorded as usize);
    assert_eq!(s.ban_count(None, &batch[0].target).unwrap(), 0);

    fs::remove_file(&filler).unwrap();
    s.record_bans(&batch).unwrap();
    let expected = recorded as usize + 20;
    assert_eq!(s.active_bans().unwrap().len(), expected);
    drop(s);

    // Nothing was damaged: no quarantine, every ban there.
    let mut s = SqliteStore::open_dir(fs_.path()).unwrap();
    assert_eq!(s.opened().quarantined, None);
    assert_eq!(s.active_bans().unwrap().len(), expected);
    eprintln!("full at {recorded} bans on a 256 kB tmpfs with 48 kB free");
}

#[test]
fn opening_on_a_full_disk_is_an_error_not_a_quarantine() {
    if !root_or_skip("opening_on_a_full_disk_is_an_error_not_a_quarantine") {
        return;
    }
    let fs_ = Tmpfs::mount("size=256k");
    let mut s = SqliteStore::open_dir(fs_.path()).unwrap();
    s.record_bans(&bans(0, 10)).unwrap();
    drop(s);
    let filler = fill(fs_.path(), "filler");
    let result = SqliteStore::open_dir(fs_.path());
    match &result {
        // The WAL and -shm may not fit; that is an error, not corruption.
        Err(e) => assert!(!matches!(e, StateError::Version { .. }), "{e}"),
        Ok(s) => assert_eq!(s.opened().quarantined, None),
    }
    drop(result);
    fs::remove_file(&filler).unwrap();
    let mut s = SqliteStore::open_dir(fs_.path()).unwrap();
    assert_eq!(s.opened().quarantined, None);
    assert_eq!(s.active_bans().unwrap().len(), 10);
}
