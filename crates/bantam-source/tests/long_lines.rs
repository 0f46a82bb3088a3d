//! Over-long lines are dropped whole, never split: a failure-shaped text
//! planted past the limit in a long field must not become a line of its
//! own. Through a file (also across batches, and a 100 MB line in bounded
//! memory), a FIFO and the generic reader under stdin (stdin itself: see
//! `stdin.rs`).

mod common;

use std::ffi::CString;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

use bantam_source::{
    Batch, FifoSource, FileSource, ReaderSource, StartAt, DROPPED_SAMPLE_BYTES, MAX_LINE_BYTES,
};
use common::{append, runtime, R};

const PLANTED: &str = "sshd[1]: Failed password for root from 192.0.2.66 port 22 ssh2";

/// A 3 MiB line whose field holds a failure of an innocent address past
/// the limit (where a cut would have made it a line), then a normal line.
fn hostile() -> Vec<u8> {
    let mut data = b"GET /".to_vec();
    for piece in 1..3 {
        // Where a cut at the limit would have started a new line.
        data.resize(piece * MAX_LINE_BYTES, b'a');
        data.extend_from_slice(PLANTED.as_bytes());
    }
    data.resize(3 * MAX_LINE_BYTES, b'b');
    data.extend_from_slice(b"\nnormal line\n");
    data
}

/// Lines and drops of batches, until `lines` lines arrived.
#[derive(Default, Debug)]
struct Got {
    lines: Vec<String>,
    dropped: u64,
    samples: Vec<Vec<u8>>,
}

impl Got {
    fn add(&mut self, batch: &Batch) {
        let lines = batch
            .lines()
            .map(|l| String::from_utf8_lossy(l).into_owned());
        self.lines.extend(lines);
        self.dropped += batch.dropped_long;
        assert_eq!(batch.dropped_long > 0, batch.dropped_sample.is_some());
        self.samples.extend(batch.dropped_sample.clone());
    }

    fn assert_hostile_dropped(&self) {
        assert_eq!(self.lines, ["normal line"]);
        assert_eq!(self.dropped, 1);
        assert_eq!(self.samples.len(), 1);
        assert_eq!(self.samples[0].len(), DROPPED_SAMPLE_BYTES);
        assert!(self.samples[0].starts_with(b"GET /aaa"));
    }
}

async fn timed<T>(fut: impl std::future::Future<Output = T>) -> Result<T, String> {
    tokio::time::timeout(Duration::from_secs(20), fut)
        .await
        .map_err(|_| "timed out".to_owned())
}

#[test]
fn file_drops_the_long_line_and_checkpoints_past_it() -> R {
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("access.log");
    let mut w = append(&log)?;
    let data = hostile();
    let mut src = FileSource::new(&log.to_string_lossy(), StartAt::Beginning, &[])?;
    let rt = runtime()?;
    let mut got = Got::default();
    rt.block_on(async {
        // In pieces, the source reading in between: skip mode carries over
        // reads and batches.
        for piece in data.chunks(700_000) {
            w.write_all(piece)?;
            if let Ok(batch) =
                tokio::time::timeout(Duration::from_millis(50), src.next_batch()).await
            {
                got.add(&batch?);
            }
        }
        while got.lines.is_empty() {
            got.add(&timed(src.next_batch()).await??);
        }
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    got.assert_hostile_dropped();
    let checkpoints = src.checkpoints();
    assert_eq!(checkpoints.len(), 1);
    assert_eq!(checkpoints[0].offset, data.len() as u64);
    Ok(())
}

#[test]
fn long_line_alone_still_moves_the_checkpoint() -> R {
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("a.log");
    std::fs::write(&log, vec![b'z'; 2 * MAX_LINE_BYTES])?;
    let mut src = FileSource::new(&log.to_string_lossy(), StartAt::Beginning, &[])?;
    let rt = runtime()?;
    append(&log)?.write_all(b"\n")?;
    let batch = rt.block_on(timed(src.next_batch()))??;
    assert_eq!((batch.line_count(), batch.dropped_long), (0, 1));
    assert_eq!(
        batch.checkpoint.map(|c| c.offset),
        Some(2 * MAX_LINE_BYTES as u64 + 1)
    );
    Ok(())
}

/// Peak resident memory of this process, in KiB.
fn peak_rss_kib() -> Result<u64, Box<dyn std::error::Error>> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let value = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .ok_or("no VmHWM")?;
    Ok(value.trim().trim_end_matches("kB").trim().parse()?)
}

#[test]
fn hundred_megabyte_line_does_not_grow_memory() -> R {
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("big.log");
    let mut src = FileSource::new(&log.to_string_lossy(), StartAt::Beginning, &[])?;
    let rt = runtime()?;
    let before = peak_rss_kib()?;
    rt.block_on(async {
        let mut w = append(&log)?;
        let chunk = vec![b'q'; 1 << 20];
        for _ in 0..100 {
            w.write_all(&chunk)?;
        }
        w.write_all(b"\nafter\n")?;
        let mut got = Got::default();
        while got.lines.is_empty() {
            got.add(&timed(src.next_batch()).await??);
        }
        assert_eq!(
            (got.lines.as_slice(), got.dropped),
            (&["after".to_owned()][..], 1)
        );
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    let grown_mib = peak_rss_kib()?.saturating_sub(before) / 1024;
    eprintln!("peak RSS grew by {grown_mib} MiB over a 100 MiB line");
    // Other tests of this binary run meanwhile (a few MiB each); buffering
    // the line would take 100.
    assert!(grown_mib < 40, "peak RSS grew by {grown_mib} MiB");
    Ok(())
}

fn mkfifo(path: &Path) -> std::io::Result<()> {
    let c = CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[test]
fn fifo_drops_the_long_line() -> R {
    let dir = tempfile::tempdir()?;
    let fifo = dir.path().join("in.fifo");
    mkfifo(&fifo)?;
    let rt = runtime()?;
    let mut got = Got::default();
    rt.block_on(async {
        let mut src = FifoSource::open(&fifo)?;
        // A pipe holds 64 KiB: the writer needs its own thread.
        let path = fifo.clone();
        let writer = std::thread::spawn(move || -> std::io::Result<()> {
            OpenOptions::new()
                .write(true)
                .open(path)?
                .write_all(&hostile())
        });
        while got.lines.is_empty() {
            got.add(&timed(src.next_batch()).await??);
        }
        writer.join().map_err(|_| "writer panicked")??;
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    got.assert_hostile_dropped();
    Ok(())
}

#[test]
fn reader_drops_the_long_line_and_an_unterminated_long_tail() -> R {
    let rt = runtime()?;
    let mut data = hostile();
    data.extend_from_slice(&vec![b'c'; MAX_LINE_BYTES + 1]);
    let mut got = Got::default();
    rt.block_on(async {
        let mut src = ReaderSource::new(Path::new("mem"), &data[..]);
        while let Some(batch) = src.next_batch().await? {
            got.add(&batch);
        }
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    assert_eq!(got.lines, ["normal line"]);
    assert_eq!(got.dropped, 2);
    assert!(got.samples[0].starts_with(b"GET /"));
    assert!(got.samples[1].starts_with(b"ccc"));
    Ok(())
}
