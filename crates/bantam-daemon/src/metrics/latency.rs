//! The ban latency histogram: from a batch of lines reaching the loop to
//! its bans handed to the firewall (store written, kernel asked). Process
//! wide, like the daemon it measures; atomics, so observing costs the loop
//! a few adds and a scrape never waits for it.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Upper bounds in seconds (Prometheus `le`), +Inf implied.
pub(crate) const BOUNDS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

pub(crate) struct Histogram {
    buckets: [AtomicU64; BOUNDS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

pub(crate) static LATENCY: Histogram = Histogram {
    buckets: [const { AtomicU64::new(0) }; BOUNDS.len()],
    count: AtomicU64::new(0),
    sum_micros: AtomicU64::new(0),
};

/// `bans` bans took `took` each (they were applied as one batch).
pub(crate) fn observe_bans(bans: usize, took: Duration) {
    if bans == 0 {
        return;
    }
    let n = bans as u64;
    let secs = took.as_secs_f64();
    // Non-cumulative here; rendering sums them up.
    if let Some(i) = BOUNDS.iter().position(|b| secs <= *b) {
        LATENCY.buckets[i].fetch_add(n, Relaxed);
    }
    LATENCY.count.fetch_add(n, Relaxed);
    LATENCY
        .sum_micros
        .fetch_add(n * took.as_micros() as u64, Relaxed);
}

/// (cumulative bucket counts, count, sum in seconds).
pub(crate) fn read() -> (Vec<u64>, u64, f64) {
    let mut total = 0;
    let cumulative = LATENCY
        .buckets
        .iter()
        .map(|b| {
            total += b.load(Relaxed);
            total
        })
        .collect();
    let count = LATENCY.count.load(Relaxed);
    let sum = LATENCY.sum_micros.load(Relaxed) as f64 / 1e6;
    (cumulative, count, sum)
}
