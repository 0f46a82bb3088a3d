//! While the logs are idle, the source costs nothing: the runtime thread
//! sleeps in epoll and is not woken, not even once, over two seconds.
//!
//! The runtime is built *without* timers (`enable_io` only): had the crate
//! used a tokio timer anywhere, it would panic ("timers are disabled").
//! Counters are those of the runtime thread (`/proc/self/task/TID/status`),
//! so other threads of the test process cannot disturb the measurement.

mod common;

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use bantam_source::{FileSource, StartAt};
use common::{append, current_tid, line, thread_counters, R};

/// What the runtime thread reports to the test thread.
enum Report {
    /// Read the initial lines; about to wait. Its kernel thread id.
    Waiting(u32),
    /// The line written after the idle period arrived.
    Woke(usize),
    Failed(String),
}

/// Runs a source on its own thread, on a timer-less current-thread runtime.
fn spawn_source(
    pattern: String,
    initial: usize,
    tx: mpsc::Sender<Report>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let run = || -> Result<usize, String> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .build()
                .map_err(|e| e.to_string())?;
            let mut src =
                FileSource::new(&pattern, StartAt::Beginning, &[]).map_err(|e| e.to_string())?;
            rt.block_on(async {
                let mut seen = 0;
                while seen < initial {
                    seen += src
                        .next_batch()
                        .await
                        .map_err(|e| e.to_string())?
                        .line_count();
                }
                let _ = tx.send(Report::Waiting(current_tid().map_err(|e| e.to_string())?));
                Ok(src
                    .next_batch()
                    .await
                    .map_err(|e| e.to_string())?
                    .line_count())
            })
        };
        let _ = tx.send(match run() {
            Ok(n) => Report::Woke(n),
            Err(e) => Report::Failed(e),
        });
    })
}

/// Once the source has read `initial` lines, runs `prepare`, measures the
/// source thread over two idle seconds, then wakes it with `wake`.
fn assert_idle(
    pattern: String,
    initial: usize,
    prepare: impl FnOnce() -> std::io::Result<()>,
    wake: impl FnOnce() -> std::io::Result<()>,
) -> R {
    let (tx, rx) = mpsc::channel();
    let handle = spawn_source(pattern, initial, tx);
    let tid = match rx.recv_timeout(Duration::from_secs(10))? {
        Report::Waiting(tid) => tid,
        Report::Woke(_) => return Err("woke before anything was written".into()),
        Report::Failed(e) => return Err(e.into()),
    };
    prepare()?;
    // Let it handle what `prepare` did and get into epoll_wait.
    thread::sleep(Duration::from_millis(200));
    let (vol0, invol0, cpu0) = thread_counters(tid)?;
    thread::sleep(Duration::from_secs(2));
    let (vol1, invol1, cpu1) = thread_counters(tid)?;
    eprintln!(
        "idle 2 s: {} voluntary, {} involuntary context switches, {} CPU ticks",
        vol1 - vol0,
        invol1 - invol0,
        cpu1 - cpu0
    );
    assert_eq!(
        vol1 - vol0,
        0,
        "the source thread woke up while the log was idle"
    );
    assert_eq!(
        invol1 - invol0,
        0,
        "the source thread ran while the log was idle"
    );
    assert_eq!(
        cpu1 - cpu0,
        0,
        "the source thread used CPU while the log was idle"
    );

    // And it is alive: the next line wakes it at once.
    wake()?;
    match rx.recv_timeout(Duration::from_secs(10))? {
        Report::Woke(n) => assert_eq!(n, 1),
        Report::Waiting(_) => return Err("unexpected report".into()),
        Report::Failed(e) => return Err(e.into()),
    }
    handle.join().map_err(|_| "source thread panicked")?;
    Ok(())
}

fn write(path: &Path, seqs: std::ops::Range<u64>) -> std::io::Result<()> {
    let mut f = append(path)?;
    for s in seqs {
        f.write_all(line("a", s, 10).as_bytes())?;
    }
    Ok(())
}

#[test]
fn idle_file_does_not_wake_the_source() -> R {
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("auth.log");
    write(&log, 0..3)?;
    // The writer keeps its descriptor open, like a service.
    let mut writer = append(&log)?;
    assert_idle(
        format!("{}/*.log", dir.path().display()),
        3,
        || Ok(()),
        move || writer.write_all(line("a", 3, 1).as_bytes()),
    )
}

#[test]
fn waiting_for_a_rotated_file_to_finish_does_not_spin() -> R {
    // The state between logrotate's rename + create and the service's
    // reopen: the old file is still being followed, the new one is empty.
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("auth.log");
    write(&log, 0..3)?;
    // The service's descriptor, still open on the old file afterwards.
    let old = append(&log)?;
    let (path, rotated) = (log.clone(), dir.path().join("auth.log.1"));
    assert_idle(
        log.display().to_string(),
        3,
        move || {
            fs::rename(&path, &rotated)?;
            fs::File::create(&path).map(drop)
        },
        move || {
            drop(old);
            write(&log, 3..4)
        },
    )
}

#[test]
fn waiting_for_a_missing_directory_does_not_wake_the_source() -> R {
    // Two levels missing: the source watches the nearest existing ancestor
    // and sleeps; unrelated names created there do not make it spin.
    let dir = tempfile::tempdir()?;
    let deep = dir.path().join("app/logs");
    let (top, log) = (dir.path().to_path_buf(), deep.join("app.log"));
    assert_idle(
        format!("{}/*.log", deep.display()),
        0,
        move || fs::write(top.join("unrelated.txt"), "x\n"),
        move || {
            fs::create_dir_all(&deep)?;
            write(&log, 0..1)
        },
    )
}
