//! Memory and speed of the failure tracker under a botnet, for
//! `bench/tracker-memory.sh`: N distinct sources fail once each (sshd lines
//! of the usual size), first with room for all of them, then at the default
//! cap, where the oldest are evicted; then a worst case where every source
//! keeps `maxretry - 1` long lines (a 200-byte user name).
//!
//! Heap is counted by a global allocator that wraps the system one: bytes
//! asked for, and bytes malloc really set aside (`malloc_usable_size`, which
//! includes its rounding). RSS is read from /proc/self/statm around each run;
//! it includes malloc's own headers and any pages freed but not returned.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use bantam_daemon::tracker::{Tracker, Verdict};
use bantam_firewall::Target;
use jiff::Timestamp;

struct Counting;

static REQUESTED: AtomicIsize = AtomicIsize::new(0);
static USABLE: AtomicIsize = AtomicIsize::new(0);

fn usable(ptr: *mut u8) -> isize {
    // SAFETY: `ptr` came from the system allocator (malloc) and is live.
    unsafe { libc::malloc_usable_size(ptr.cast()) as isize }
}

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counters only observe.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            REQUESTED.fetch_add(layout.size() as isize, Relaxed);
            USABLE.fetch_add(usable(ptr), Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        REQUESTED.fetch_sub(layout.size() as isize, Relaxed);
        USABLE.fetch_sub(usable(ptr), Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let before = usable(ptr);
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            REQUESTED.fetch_add(new_size as isize - layout.size() as isize, Relaxed);
            USABLE.fetch_add(usable(new) - before, Relaxed);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[derive(Clone, Copy)]
struct Heap {
    requested: isize,
    usable: isize,
    rss: isize,
}

fn heap() -> Heap {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: isize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as isize;
    Heap {
        requested: REQUESTED.load(Relaxed),
        usable: USABLE.load(Relaxed),
        rss: pages * page,
    }
}

/// The n-th attacker: three in four IPv4 (198.18.0.0/15 holds 131,072, so
/// larger n wrap into 2001:db8::/32 with distinct low bits), one in four IPv6.
fn attacker(n: u32) -> Target {
    // Every fourth, and all once 198.18.0.0/15 is used up, are IPv6; the
    // others take the next IPv4 address in turn.
    let v4_index = n - n / 4 - 1;
    match n % 4 {
        1..=3 if v4_index < 131_072 => {
            Target::Addr(IpAddr::V4(Ipv4Addr::from(0xC612_0000 + v4_index)))
        }
        _ => {
            let v6 = (0x2001_0db8u128 << 96) | (u128::from(n) << 16) | 0x7;
            Target::Addr(IpAddr::V6(Ipv6Addr::from(v6)))
        }
    }
}

/// An RFC 3339-stamped sshd failure line for `target` (about 120 bytes).
fn sshd_line(buf: &mut Vec<u8>, target: &Target, n: u32, long_user: bool) {
    buf.clear();
    let user = if long_user {
        "x".repeat(200)
    } else {
        "admin".to_string()
    };
    let _ = write!(
        buf,
        "2026-12-03T10:{:02}:{:02}.{:06}+00:00 web01 sshd[{}]: Failed password for invalid user {user} from {target} port {} ssh2",
        n / 60 % 60,
        n % 60,
        n % 1_000_000,
        1000 + n % 30_000,
        1024 + n % 60_000,
    );
}

struct Run {
    name: &'static str,
    sources: u32,
    capacity: usize,
    /// Failures per source (all inside the window, below maxretry).
    rounds: u32,
    long_lines: bool,
}

/// Lines are made in batches outside the timed part, into buffers reused
/// from batch to batch, so they neither count as time nor as memory.
const BATCH: u32 = 1024;

struct Batch {
    targets: Vec<Target>,
    text: Vec<u8>,
    ends: Vec<usize>,
    line: Vec<u8>,
}

impl Batch {
    fn fill(&mut self, r: &Run, from: u32) {
        self.targets.clear();
        self.text.clear();
        self.ends.clear();
        for n in from..(from + BATCH).min(r.sources) {
            let target = attacker(n);
            sshd_line(&mut self.line, &target, n, r.long_lines);
            self.targets.push(target);
            self.text.extend_from_slice(&self.line);
            self.ends.push(self.text.len());
        }
    }
}

fn run(r: &Run) {
    let maxretry = 5;
    let start = Timestamp::from_second(1_796_292_000).expect("valid time");
    let mut batch = Batch {
        targets: Vec::with_capacity(BATCH as usize),
        text: Vec::with_capacity(BATCH as usize * 512),
        ends: Vec::with_capacity(BATCH as usize),
        line: Vec::with_capacity(512),
    };
    let before = heap();
    let mut tracker = Tracker::new(maxretry, Duration::from_secs(600), r.capacity);
    let (mut ops, mut bans) = (0u64, 0u64);
    let mut elapsed = Duration::ZERO;
    for round in 0..r.rounds {
        for from in (0..r.sources).step_by(BATCH as usize) {
            batch.fill(r, from);
            let began = Instant::now();
            let mut begin = 0;
            for (k, (target, &end)) in batch.targets.iter().zip(&batch.ends).enumerate() {
                let n = from + k as u32;
                // Spread over five minutes: all inside findtime (10 minutes).
                let ms = i64::from(n) * 300_000 / i64::from(r.sources) + i64::from(round);
                let time = start + jiff::SignedDuration::from_millis(ms);
                let line = &batch.text[begin..end];
                begin = end;
                if let Verdict::Ban { .. } = tracker.record(*target, time, 1, line) {
                    bans += 1;
                }
                ops += 1;
            }
            elapsed += began.elapsed();
        }
    }
    let after = heap();
    let tracked = tracker.len().max(1) as f64;
    let per = |bytes: isize| bytes as f64 / tracked;
    println!("{}", r.name);
    println!(
        "  records {ops}, distinct sources {}, tracked {}, evicted {}, bans {bans}",
        r.sources,
        tracker.len(),
        tracker.evicted()
    );
    let (requested, usable) = (
        after.requested - before.requested,
        after.usable - before.usable,
    );
    println!(
        "  heap (allocator count): requested {:.1} MB = {:.0} B/source; malloc usable {:.1} MB = {:.0} B/source",
        mb(requested),
        per(requested),
        mb(usable),
        per(usable),
    );
    println!(
        "  heap (tracker's own count, Tracker::heap_bytes): {:.0} B/source",
        per(tracker.heap_bytes() as isize)
    );
    let rss = after.rss - before.rss;
    println!(
        "  RSS delta {:.1} MB = {:.0} B/source (RSS now {:.1} MB)",
        mb(rss),
        per(rss),
        mb(after.rss),
    );
    println!(
        "  record(): {:.0} ns/op ({:.2} s in record)",
        elapsed.as_nanos() as f64 / ops as f64,
        elapsed.as_secs_f64()
    );
}

fn mb(bytes: isize) -> f64 {
    bytes as f64 / 1_048_576.0
}

const USAGE: &str = "usage: tracker_memory all|capped|worst [SOURCES]";

fn main() {
    let mut args = std::env::args().skip(1);
    let scenario = args.next().unwrap_or_else(|| "all".into());
    let sources: u32 = match args.next() {
        Some(s) => s.parse().unwrap_or_else(|_| exit_usage()),
        None => 1_000_000,
    };
    let run_ = match scenario.as_str() {
        // Each in its own process: RSS only falls after a run if malloc
        // returns the pages, so a second run in one process would not show.
        "all" => Run {
            name: "all kept (capacity raised to the source count), one failure each",
            sources,
            capacity: sources as usize,
            rounds: 1,
            long_lines: false,
        },
        "capped" => Run {
            name: "default capacity 100,000, one failure each",
            sources,
            capacity: 100_000,
            rounds: 1,
            long_lines: false,
        },
        "worst" => Run {
            name: "worst case: 4 failures each (maxretry - 1), 315-byte lines",
            sources: sources.min(100_000),
            capacity: 100_000,
            rounds: 4,
            long_lines: true,
        },
        _ => exit_usage(),
    };
    let mut line = Vec::new();
    sshd_line(&mut line, &attacker(1), 1, run_.long_lines);
    println!(
        "maxretry 5, findtime 10m; line {} bytes: {}",
        line.len(),
        String::from_utf8_lossy(&line)
    );
    run(&run_);
}

fn exit_usage() -> ! {
    eprintln!("{USAGE}");
    std::process::exit(2)
}
