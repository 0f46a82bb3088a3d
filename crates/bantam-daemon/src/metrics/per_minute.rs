//! Failures per minute over the last hour, for the live page's chart: a
//! ring of 60 (minute, count) slots in atomics. Only the loop writes; a
//! page reads it without asking the loop anything.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

const SLOTS: usize = 60;

static MINUTE: [AtomicI64; SLOTS] = [const { AtomicI64::new(-1) }; SLOTS];
static COUNT: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];

/// `n` failures found at `now` (unix seconds).
pub(crate) fn record_failures(now_secs: i64, n: u32) {
    let minute = now_secs.div_euclid(60);
    let slot = minute.rem_euclid(SLOTS as i64) as usize;
    if MINUTE[slot].load(Relaxed) != minute {
        // A slot an hour old (or never used) starts over.
        COUNT[slot].store(0, Relaxed);
        MINUTE[slot].store(minute, Relaxed);
    }
    COUNT[slot].fetch_add(u64::from(n), Relaxed);
}

/// The last 60 minutes up to `now`, oldest first.
pub(crate) fn last_hour(now_secs: i64) -> Vec<u64> {
    let current = now_secs.div_euclid(60);
    (current - SLOTS as i64 + 1..=current)
        .map(|minute| {
            let slot = minute.rem_euclid(SLOTS as i64) as usize;
            if MINUTE[slot].load(Relaxed) == minute {
                COUNT[slot].load(Relaxed)
            } else {
                0
            }
        })
        .collect()
}
