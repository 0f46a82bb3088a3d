use super::*;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

fn addr(n: u32) -> Target {
    Target::Addr(IpAddr::V4(Ipv4Addr::from(0xC612_0000 + n)))
}

#[test]
fn bans_at_maxretry_inside_findtime() {
    let mut tr = Tracker::new(3, Duration::from_secs(600), 100);
    assert_eq!(tr.record(addr(1), t(0), 1, b"a"), Verdict::Counting(1));
    assert_eq!(tr.record(addr(1), t(10), 1, b"b"), Verdict::Counting(2));
    match tr.record(addr(1), t(20), 1, b"c") {
        Verdict::Ban { failures, matches } => {
            assert_eq!(failures, 3);
            assert_eq!(matches, ["a", "b", "c"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(tr.is_empty(), "a banned source is forgotten");
}

#[test]
fn failures_outside_findtime_do_not_count() {
    let mut tr = Tracker::new(3, Duration::from_secs(60), 100);
    tr.record(addr(1), t(0), 1, b"");
    tr.record(addr(1), t(50), 1, b"");
    // The window is [40, 100]: the failure at 0 no longer counts.
    assert_eq!(tr.record(addr(1), t(100), 1, b""), Verdict::Counting(2));
}

#[test]
fn count_tag_counts_many_at_once() {
    let mut tr = Tracker::new(5, Duration::from_secs(60), 100);
    assert!(matches!(
        tr.record(addr(1), t(0), 7, b""),
        Verdict::Ban { failures: 7, .. }
    ));
}

#[test]
fn memory_stays_bounded_under_a_botnet() {
    let mut tr = Tracker::new(5, Duration::from_secs(600), 1000);
    for n in 0..100_000 {
        tr.record(addr(n), t(i64::from(n % 500)), 1, &[b'x'; 10_000]);
        assert!(tr.len() <= 1000);
    }
    assert!(tr.order.len() <= 2 * 1000 + 64);
    assert_eq!(tr.evicted(), 99_000);
    // Stored lines are cut short.
    assert!(tr
        .entries
        .values()
        .all(|e| e.matches.iter().all(|m| m.len() <= MATCH_BYTES)));
}

#[test]
fn stale_entries_drain_without_a_timer() {
    let mut tr = Tracker::new(5, Duration::from_secs(60), 1000);
    for n in 0..100 {
        tr.record(addr(n), t(0), 1, b"");
    }
    for n in 0..100 {
        tr.record(addr(1000 + n), t(3600), 1, b"");
    }
    assert_eq!(
        tr.len(),
        100,
        "the old hundred left the window and were dropped"
    );
}
