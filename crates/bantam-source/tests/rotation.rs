//! Each kind of rotation while a writer thread keeps appending: the exact
//! number of lines written must be seen, each once, in order.
//!
//! Roles as on a real system: the writer thread is the service (it holds
//! the log open and reopens it when told, like after logrotate's
//! `postrotate` signal); the rotator thread is logrotate; the test thread
//! runs the source on a current-thread runtime, like the daemon.

mod common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use bantam_source::{FileSource, StartAt};
use common::{append, collect, line, runtime, Seen, R};

#[derive(Clone, Copy, Debug)]
enum Kind {
    /// logrotate default: rename, create an empty file, signal the service.
    RenameCreate,
    /// `nocreate`: rename and signal; the service creates the file.
    RenameNoCreate,
    /// copy, then truncate in place; the service never reopens.
    CopyTruncate,
    /// unlink, create, signal.
    DeleteRecreate,
}

const LINES: u64 = 20_000;
const ROTATIONS: u64 = 4;

struct Shared {
    /// The rotator asks the writer to reopen the path.
    reopen: AtomicBool,
    /// Lines written so far.
    written: AtomicU64,
    /// Lines the source handed out so far.
    seen: AtomicU64,
    /// Lines written when the writer last switched to a new generation.
    generation_start: AtomicU64,
    /// Rotations started so far.
    rotations: AtomicU64,
    /// Held by the writer for each line and by the rotator for
    /// copy+truncate: a stand-in for copytruncate's own race (lines written
    /// between logrotate's copy and its truncate are lost for any reader).
    lock: Mutex<()>,
}

fn writer(path: &Path, shared: &Shared) -> std::io::Result<()> {
    let mut file = append(path)?;
    for seq in 0..LINES {
        // Do not run out of lines before the rotator is done: every
        // rotation must happen with lines still being written.
        let due = (seq * (ROTATIONS + 1)).saturating_sub(LINES / 10) / LINES;
        if seq % 100 == 0 && due > 0 {
            wait_for("the rotator", || {
                shared.rotations.load(SeqCst) >= due.min(ROTATIONS)
            })?;
        }
        if shared.reopen.swap(false, SeqCst) {
            file = append(path)?; // closes the old descriptor: IN_CLOSE_WRITE
            shared.generation_start.store(seq, SeqCst);
        }
        let pad = if seq % 997 == 0 {
            5000
        } else {
            (seq % 50) as usize
        };
        {
            let _g = shared
                .lock
                .lock()
                .map_err(|_| std::io::Error::other("poisoned"))?;
            file.write_all(line("w", seq, pad).as_bytes())?;
        }
        shared.written.store(seq + 1, SeqCst);
        if seq % 200 == 0 {
            // Spread the writes over the run so rotations land mid-stream.
            thread::sleep(Duration::from_micros(300));
        }
    }
    Ok(())
}

fn wait_for(what: &str, cond: impl Fn() -> bool) -> std::io::Result<()> {
    let start = Instant::now();
    while !cond() {
        if start.elapsed() > Duration::from_secs(20) {
            return Err(std::io::Error::other(format!(
                "rotator timed out waiting for {what}"
            )));
        }
        thread::sleep(Duration::from_micros(200));
    }
    Ok(())
}

fn rotator(path: &Path, kind: Kind, shared: &Shared) -> std::io::Result<()> {
    let sibling = |n: u64| PathBuf::from(format!("{}.{n}", path.display()));
    for r in 1..=ROTATIONS {
        wait_for("the writer", || {
            shared.written.load(SeqCst) >= r * LINES / (ROTATIONS + 1)
        })?;
        // Rotations are hours apart in life; here, wait until the source has
        // at least seen the current generation (a line written after the last
        // switch), so that two rotations never fall between two of its looks.
        wait_for("the source", || {
            shared.seen.load(SeqCst) > shared.generation_start.load(SeqCst)
        })?;
        shared.rotations.store(r, SeqCst);
        for n in (1..r).rev() {
            let _ = fs::rename(sibling(n), sibling(n + 1));
        }
        match kind {
            Kind::RenameCreate => {
                fs::rename(path, sibling(1))?;
                fs::File::create(path)?;
                // The service goes on writing the old file for a moment.
                thread::sleep(Duration::from_millis(2));
                shared.reopen.store(true, SeqCst);
            }
            Kind::RenameNoCreate => {
                fs::rename(path, sibling(1))?;
                thread::sleep(Duration::from_millis(2));
                shared.reopen.store(true, SeqCst);
            }
            Kind::DeleteRecreate => {
                fs::remove_file(path)?;
                fs::File::create(path)?;
                thread::sleep(Duration::from_millis(2));
                shared.reopen.store(true, SeqCst);
            }
            Kind::CopyTruncate => {
                let _g = shared
                    .lock
                    .lock()
                    .map_err(|_| std::io::Error::other("poisoned"))?;
                fs::copy(path, sibling(1))?;
                fs::OpenOptions::new().write(true).open(path)?.set_len(0)?;
                shared
                    .generation_start
                    .store(shared.written.load(SeqCst), SeqCst);
            }
        }
        if !matches!(kind, Kind::CopyTruncate) {
            wait_for("the reopen", || !shared.reopen.load(SeqCst))?;
        }
    }
    Ok(())
}

fn run(kind: Kind) -> R {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("app.log");
    fs::write(&path, "")?;
    let shared = Arc::new(Shared {
        reopen: AtomicBool::new(false),
        written: AtomicU64::new(0),
        seen: AtomicU64::new(0),
        generation_start: AtomicU64::new(0),
        rotations: AtomicU64::new(0),
        lock: Mutex::new(()),
    });
    let mut src = FileSource::new(
        &format!("{}/*.log", dir.path().display()),
        StartAt::Beginning,
        &[],
    )?;

    let (w, r) = (shared.clone(), shared.clone());
    let (wp, rp) = (path.clone(), path.clone());
    let writer = thread::spawn(move || writer(&wp, &w));
    let rotator = thread::spawn(move || rotator(&rp, kind, &r));

    let mut seen = Seen::default();
    let rt = runtime()?;
    let result: Result<(), String> = rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(30);
        while seen.total < LINES as usize {
            let left = deadline.saturating_duration_since(Instant::now());
            let batch = tokio::time::timeout(left, src.next_batch())
                .await
                .map_err(|_| format!("timed out with {} of {LINES} lines", seen.total))?
                .map_err(|e| e.to_string())?;
            seen.add(&batch);
            shared.seen.store(seen.total as u64, SeqCst);
        }
        // Anything after the last expected line would be a repeat.
        let mut extra = Seen::default();
        let _ = collect(&mut src, &mut extra, 1, Duration::from_millis(200)).await;
        if extra.total > 0 {
            return Err(format!("{} extra lines: {:?}", extra.total, extra.by_tag));
        }
        Ok(())
    });
    writer.join().map_err(|_| "writer panicked")??;
    rotator.join().map_err(|_| "rotator panicked")??;
    result?;
    seen.assert_exact("w", LINES);
    Ok(())
}

#[test]
fn rename_create_while_writing() -> R {
    run(Kind::RenameCreate)
}

#[test]
fn rename_nocreate_while_writing() -> R {
    run(Kind::RenameNoCreate)
}

#[test]
fn copytruncate_while_writing() -> R {
    run(Kind::CopyTruncate)
}

#[test]
fn delete_recreate_while_writing() -> R {
    run(Kind::DeleteRecreate)
}
