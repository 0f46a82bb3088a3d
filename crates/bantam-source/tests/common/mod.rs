//! Helpers shared by the integration tests: numbered lines, collecting
//! batches with a deadline, and per-thread CPU / context-switch counters.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use bantam_source::{Batch, FileSource};

pub type R = Result<(), Box<dyn std::error::Error>>;

/// A current-thread runtime like the daemon's. Timers are enabled for the
/// tests' deadlines only; `idle.rs` shows the source needs none.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
}

/// `"<tag> <seq>"` padded with `pad` bytes: every line says where it
/// belongs, so checks are exact.
pub fn line(tag: &str, seq: u64, pad: usize) -> String {
    format!("{tag} {seq:08} {}\n", "x".repeat(pad))
}

/// (tag, seq) of a line written by [`line`].
pub fn parse(line: &[u8]) -> Option<(String, u64)> {
    let text = std::str::from_utf8(line).ok()?;
    let mut words = text.split(' ');
    let tag = words.next()?.to_owned();
    let seq = words.next()?.get(..8)?.parse().ok()?;
    Some((tag, seq))
}

/// Lines seen, per tag, in arrival order.
#[derive(Debug, Default)]
pub struct Seen {
    pub by_tag: HashMap<String, Vec<u64>>,
    pub total: usize,
    pub garbage: Vec<String>,
}

impl Seen {
    pub fn add(&mut self, batch: &Batch) {
        for l in batch.lines() {
            match parse(l) {
                Some((tag, seq)) => self.by_tag.entry(tag).or_default().push(seq),
                None => self.garbage.push(String::from_utf8_lossy(l).into_owned()),
            }
            self.total += 1;
        }
    }

    /// Every seq of `tag` in `0..n` exactly once, in order.
    pub fn assert_exact(&self, tag: &str, n: u64) {
        assert!(
            self.garbage.is_empty(),
            "unparsable lines: {:?}",
            &self.garbage[..self.garbage.len().min(5)]
        );
        let got = self.by_tag.get(tag).map(Vec::as_slice).unwrap_or_default();
        if got.iter().copied().eq(0..n) {
            return;
        }
        let first_bad = got.iter().zip(0..).position(|(&s, i)| s != i);
        panic!(
            "{tag}: expected 0..{n} once each, got {} lines; first difference at index {first_bad:?}: {:?}",
            got.len(),
            first_bad.map(|i| &got[i.saturating_sub(3)..(i + 3).min(got.len())])
        );
    }
}

/// Reads batches until `want` lines were seen in all, or `deadline` passed.
pub async fn collect(
    src: &mut FileSource,
    seen: &mut Seen,
    want: usize,
    deadline: Duration,
) -> Result<(), String> {
    let result = tokio::time::timeout(deadline, async {
        while seen.total < want {
            let batch = src.next_batch().await.map_err(|e| e.to_string())?;
            seen.add(&batch);
        }
        Ok::<(), String>(())
    })
    .await;
    match result {
        Ok(r) => r,
        Err(_) => Err(format!("timed out with {} of {want} lines", seen.total)),
    }
}

/// Asserts that nothing more arrives within `quiet` (no duplicates trail
/// behind the expected lines).
pub async fn assert_quiet(src: &mut FileSource, quiet: Duration) {
    if let Ok(batch) = tokio::time::timeout(quiet, src.next_batch()).await {
        let lines: Vec<String> = match batch {
            Ok(b) => b
                .lines()
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .collect(),
            Err(e) => vec![e.to_string()],
        };
        panic!("unexpected extra lines: {lines:?}");
    }
}

pub fn append(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

/// The calling thread's kernel id, to read its counters from another thread.
pub fn current_tid() -> std::io::Result<u32> {
    let link = std::fs::read_link("/proc/thread-self")?;
    link.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| std::io::Error::other("cannot parse /proc/thread-self"))
}

/// (voluntary context switches, involuntary ones, CPU clock ticks) of a
/// thread of this process.
pub fn thread_counters(tid: u32) -> std::io::Result<(u64, u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/self/task/{tid}/status"))?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat"))?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the line.
    let after = stat.rsplit_once(')').map(|(_, a)| a).unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok((
        field("voluntary_ctxt_switches:"),
        field("nonvoluntary_ctxt_switches:"),
        ticks(11) + ticks(12),
    ))
}
