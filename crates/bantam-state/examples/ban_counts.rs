//! What escalation costs the loop for a burst: `ban_counts_since` for N new
//! addresses (default 5,000) against a history of H bans (default 100,000,
//! some of them of the same addresses), in one call (as the daemon makes
//! it, once per `apply_bans`) and one call per address, on a real file.
//!
//! cargo run --release -p bantam-state --example ban_counts -- [N] [H]

use std::time::Instant;

use bantam_state::{BanRecord, SqliteStore, Store};
use jiff::{SignedDuration, Timestamp};

fn addr(i: usize) -> String {
    // 198.18.0.0/15 holds 131,072 addresses.
    format!("198.{}.{}.{}", 18 + (i >> 16) % 2, (i >> 8) & 255, i & 255)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5000);
    let h: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut store = SqliteStore::open_dir(dir.path()).expect("store");
    let now = Timestamp::now();
    let history: Vec<BanRecord> = (0..h)
        .map(|i| BanRecord {
            jail: if i % 3 == 0 { "web" } else { "sshd" }.into(),
            target: addr(i % 120_000),
            start: now - SignedDuration::from_secs((i % 86_400) as i64),
            end: Some(now),
            failures: 5,
            ban_count: 1,
            matches: Vec::new(),
            reason: None,
        })
        .collect();
    for chunk in history.chunks(10_000) {
        store.record_bans(chunk).expect("history");
    }
    let targets: Vec<String> = (0..n).map(|i| addr(i * 7 + 3)).collect();
    let since = now - SignedDuration::from_hours(12);
    for (label, jail) in [("this jail", Some("sshd")), ("every jail", None)] {
        let start = Instant::now();
        let counts = store
            .ban_counts_since(jail, &targets, since)
            .expect("counts");
        let batched = start.elapsed();
        let start = Instant::now();
        for t in &targets {
            store
                .ban_counts_since(jail, std::slice::from_ref(t), since)
                .expect("count");
        }
        let single = start.elapsed();
        let found: u32 = counts.iter().sum();
        println!(
            "ban_counts_since, {label}: {n} addresses, {h} history rows ({found} bans found): \
             one call {:.1} ms ({:.1} µs/address), one call per address {:.1} ms",
            batched.as_secs_f64() * 1e3,
            batched.as_secs_f64() * 1e6 / n as f64,
            single.as_secs_f64() * 1e3
        );
    }
}
