//! What a burst of new attackers costs the store: `record_bans` for N bans
//! of random IPv6 /64s (a botnet's addresses come in no order), in jobs of
//! JOB bans, each committed COMMIT at a time, as the daemon's writer thread
//! does. Prints the time per ban and the WAL left behind.
//!
//!   cargo run --release -p bantam-state --example record_burst -- N [DB]
//!   env: JOB (65536), COMMIT (4096), UNSORTED=1 (arrival order),
//!        READER=1 (count earlier bans on a second connection meanwhile)

use std::path::PathBuf;
use std::time::Instant;

use bantam_state::{BanRecord, SqliteStore, Store};
use jiff::{SignedDuration, Timestamp};

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name).map_or(default, |v| v.parse().expect("a number"))
}

fn ban(i: usize, now: Timestamp) -> BanRecord {
    // An odd multiplier permutes 0..2^20: each i its own /64, in no order.
    let j = (i * 0x9E37_79B1) & 0xF_FFFF;
    BanRecord {
        jail: "sshd".into(),
        target: format!("2001:db8:{:x}:{:x}::/64", 0x1000 + (j >> 16), j & 0xffff),
        start: now,
        end: Some(now + SignedDuration::from_secs(600)),
        failures: 1,
        ban_count: 1,
        matches: vec![format!(
            "Dec  4 17:00:00 bt-server sshd[1]: Failed password for root from 2001:db8:{:x}:{:x}::1 port 22 ssh2",
            0x1000 + (j >> 16),
            j & 0xffff
        )],
        reason: None,
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(1_000_000, |s| s.parse().expect("N"));
    let path = PathBuf::from(args.next().unwrap_or("/tmp/record_burst.sqlite".into()));
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(&wal);
    let (job, commit) = (knob("JOB", 65_536), knob("COMMIT", 4096));
    let sorted = std::env::var("UNSORTED").is_err();
    let mut store = SqliteStore::open(&path).expect("a database");
    let mut reader = match std::env::var("READER") {
        Ok(_) => Some(store.counter().expect("a file").expect("a reader")),
        Err(_) => None,
    };
    let now = Timestamp::now();
    let started = Instant::now();
    for first in (0..n).step_by(job) {
        let mut bans: Vec<BanRecord> = (first..n.min(first + job)).map(|i| ban(i, now)).collect();
        if sorted {
            bans.sort_by(|a, b| (&a.jail, &a.target).cmp(&(&b.jail, &b.target)));
        }
        for part in bans.chunks(commit) {
            store.record_bans(part).expect("recorded");
            if let Some(reader) = reader.as_mut() {
                let names: Vec<String> = part.iter().map(|b| b.target.clone()).collect();
                reader
                    .ban_counts_since(Some("sshd"), &names, now)
                    .expect("counted");
            }
        }
    }
    let took = started.elapsed().as_secs_f64();
    let wal_mb = std::fs::metadata(&wal).map_or(0, |m| m.len()) >> 20;
    println!(
        "{n} bans (jobs of {job}, {}sorted) in {took:.2} s: {:.2} µs a ban; WAL {wal_mb} MB",
        if sorted { "" } else { "un" },
        took * 1e6 / n as f64
    );
}
