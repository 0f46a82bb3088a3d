//! Bans N addresses from 198.18.0.0/15 through one backend in the current
//! network namespace and prints how long until all are in place (setup
//! not counted), checked with `list`. For `bench/backends.sh`, which runs
//! it inside a throwaway namespace.
//!
//! usage: ban_many BACKEND COUNT [BATCH]   (BATCH: bans per call, default all)

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use bantam_firewall::{open_config, BackendConfig, BanEntry, Target};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: ban_many BACKEND COUNT [BATCH]");
        std::process::exit(2);
    }
    let count: u32 = args[2].parse().expect("COUNT is a number");
    let batch: usize = args
        .get(3)
        .map_or(count as usize, |b| b.parse().expect("BATCH"));
    let config = BackendConfig {
        hosts_deny: std::env::temp_dir().join("bantam-bench-hosts.deny"),
        ..BackendConfig::default()
    };
    let mut backend = open_config(&args[1], &config).unwrap_or_else(|e| fail(&e));
    backend.setup().unwrap_or_else(|e| fail(&e));
    let entries: Vec<BanEntry> = (0..count)
        .map(|i| {
            let addr = IpAddr::V4(Ipv4Addr::from(0xC612_0000 + i));
            BanEntry::timed(Target::Addr(addr), Duration::from_secs(3600))
        })
        .collect();
    let start = Instant::now();
    for chunk in entries.chunks(batch.max(1)) {
        backend.ban(chunk).unwrap_or_else(|e| fail(&e));
    }
    let took = start.elapsed();
    let listed = backend.list().unwrap_or_else(|e| fail(&e)).len();
    println!(
        "{} {count} bans in {:.3} s ({} listed)",
        args[1],
        took.as_secs_f64(),
        listed
    );
    backend.teardown().unwrap_or_else(|e| fail(&e));
}

fn fail(e: &dyn std::error::Error) -> ! {
    eprintln!("ban_many: {e}");
    std::process::exit(1);
}
