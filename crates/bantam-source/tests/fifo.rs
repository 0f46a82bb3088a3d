//! Named pipes: writers come and go; every line arrives; the reader does
//! not spin between writers.

mod common;

use std::ffi::CString;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use bantam_source::{FifoSource, SourceError};
use common::{current_tid, line, parse, thread_counters, R};

fn mkfifo(path: &Path) -> std::io::Result<()> {
    let c = CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// One writer: opens the FIFO, writes lines `seqs`, closes it.
fn writer(path: &Path, seqs: std::ops::Range<u64>) -> std::io::Result<()> {
    let mut w = OpenOptions::new().write(true).open(path)?;
    for s in seqs {
        w.write_all(line("f", s, 20).as_bytes())?;
    }
    Ok(())
}

#[test]
fn writers_come_and_go_without_eof_loops() -> R {
    let dir = tempfile::tempdir()?;
    let fifo = dir.path().join("auth.fifo");
    mkfifo(&fifo)?;

    // The reader: a timer-less runtime on its own thread, reporting its
    // thread id and every sequence number it sees.
    let (tx, rx) = mpsc::channel::<Result<Vec<u64>, String>>();
    let (tid_tx, tid_rx) = mpsc::channel();
    let path = fifo.clone();
    let reader = thread::spawn(move || {
        let result = (|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                let mut src = FifoSource::open(&path).map_err(|e| e.to_string())?;
                let _ = tid_tx.send(current_tid().map_err(|e| e.to_string())?);
                let mut seen = 0;
                while seen < 2000 {
                    let batch = src.next_batch().await.map_err(|e| e.to_string())?;
                    let seqs: Vec<u64> = batch
                        .lines()
                        .filter_map(|l| parse(l).map(|p| p.1))
                        .collect();
                    assert!(batch.checkpoint.is_none());
                    seen += batch.line_count();
                    let _ = tx.send(Ok(seqs));
                }
                Ok::<(), String>(())
            })
        })();
        if let Err(e) = result {
            let _ = tx.send(Err(e));
        }
    });
    let tid = tid_rx.recv_timeout(Duration::from_secs(10))?;
    let mut seen = Vec::new();
    let wait_for = |n: usize, seen: &mut Vec<u64>| -> Result<(), Box<dyn std::error::Error>> {
        while seen.len() < n {
            seen.extend(rx.recv_timeout(Duration::from_secs(10))??);
        }
        Ok(())
    };

    writer(&fifo, 0..1000)?;
    wait_for(1000, &mut seen)?;

    // No writer at all now. A reader that saw EOF here would spin.
    thread::sleep(Duration::from_millis(100));
    let (vol0, _, cpu0) = thread_counters(tid)?;
    thread::sleep(Duration::from_secs(1));
    let (vol1, _, cpu1) = thread_counters(tid)?;
    eprintln!(
        "1 s without writers: {} wake-ups, {} CPU ticks",
        vol1 - vol0,
        cpu1 - cpu0
    );
    assert_eq!(vol1 - vol0, 0, "the reader woke up with no writer");
    assert!(cpu1 - cpu0 <= 1, "the reader used CPU with no writer");

    writer(&fifo, 1000..2000)?;
    wait_for(2000, &mut seen)?;
    assert_eq!(seen, (0..2000).collect::<Vec<_>>());
    reader.join().map_err(|_| "reader panicked")?;
    Ok(())
}

#[test]
fn not_a_fifo_is_an_error_naming_it() -> R {
    let rt = common::runtime()?;
    let file = tempfile::NamedTempFile::new()?;
    let err = rt.block_on(async { FifoSource::open(file.path()).err() });
    assert!(
        matches!(err, Some(SourceError::WrongKind { .. })),
        "{err:?}"
    );
    let missing = file.path().with_extension("missing");
    let err = rt
        .block_on(async { FifoSource::open(&missing).err() })
        .map(|e| e.to_string());
    assert!(
        err.as_deref()
            .is_some_and(|e| e.starts_with(&format!("cannot open {}", missing.display()))),
        "{err:?}"
    );
    Ok(())
}
