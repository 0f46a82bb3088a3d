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

fn v6(n: u32) -> Target {
    let a = (0x2001_0db8u128 << 96) | u128::from(n);
    Target::Addr(IpAddr::V6(std::net::Ipv6Addr::from(a)))
}

#[test]
fn evicts_the_source_that_failed_least_recently() {
    let mut tr = Tracker::new(5, Duration::from_secs(600), 3);
    tr.record(addr(1), t(0), 1, b"");
    tr.record(addr(2), t(1), 1, b"");
    tr.record(addr(3), t(2), 1, b"");
    // addr(1) fails again: addr(2) is now the one closest to leaving.
    tr.record(addr(1), t(3), 1, b"");
    tr.record(addr(4), t(4), 1, b"");
    assert_eq!(tr.evicted(), 1);
    assert_eq!(tr.len(), 3);
    assert_eq!(tr.record(addr(2), t(5), 1, b""), Verdict::Counting(1));
    // That evicted addr(3); addr(1) kept both its failures.
    assert_eq!(tr.record(addr(1), t(6), 1, b""), Verdict::Counting(3));
    assert_eq!(tr.evicted(), 2);
}

#[test]
fn a_ban_or_forget_frees_room_without_evicting() {
    let mut tr = Tracker::new(2, Duration::from_secs(600), 2);
    tr.record(addr(1), t(0), 1, b"");
    tr.record(addr(2), t(0), 1, b"");
    assert!(matches!(
        tr.record(addr(1), t(1), 1, b""),
        Verdict::Ban { .. }
    ));
    tr.record(addr(3), t(2), 1, b"");
    tr.forget(&addr(2));
    tr.forget(&addr(99));
    tr.record(v6(1), t(3), 1, b"");
    assert_eq!(tr.len(), 2);
    assert_eq!(tr.evicted(), 0);
    // A first failure that already reaches maxretry is never stored.
    assert!(matches!(
        tr.record(addr(5), t(4), 2, b"x"),
        Verdict::Ban { failures: 2, .. }
    ));
    assert_eq!(tr.len(), 2);
}

#[test]
fn window_boundary_and_out_of_order_times() {
    let mut tr = Tracker::new(3, Duration::from_secs(60), 100);
    tr.record(addr(1), t(0), 1, b"");
    // Exactly findtime later the first failure still counts, as before.
    assert_eq!(tr.record(addr(1), t(60), 1, b""), Verdict::Counting(2));
    tr.forget(&addr(1));
    tr.record(addr(1), t(100), 1, b"");
    // An older line read late (another file) is counted against its own time.
    assert_eq!(tr.record(addr(1), t(90), 1, b""), Verdict::Counting(2));
    assert_eq!(tr.record(addr(1), t(200), 1, b""), Verdict::Counting(1));
}

#[test]
fn counts_mix_with_single_failures() {
    let mut tr = Tracker::new(5, Duration::from_secs(60), 100);
    assert_eq!(tr.record(addr(1), t(0), 2, b""), Verdict::Counting(2));
    assert_eq!(tr.record(addr(1), t(1), 0, b""), Verdict::Counting(2));
    assert_eq!(tr.record(addr(1), t(2), 2, b""), Verdict::Counting(4));
    // Both failures of the first line leave the window together.
    assert_eq!(tr.record(addr(1), t(61), 1, b""), Verdict::Counting(3));
    assert!(matches!(
        tr.record(addr(1), t(62), 2, b""),
        Verdict::Ban { failures: 5, .. }
    ));
}

#[test]
fn large_maxretry_keeps_every_failure() {
    let mut tr = Tracker::new(50, Duration::from_secs(600), 10);
    for i in 0..49 {
        let v = tr.record(addr(1), t(i), 1, format!("line {i}").as_bytes());
        assert_eq!(v, Verdict::Counting(i as u32 + 1));
    }
    match tr.record(addr(1), t(49), 1, b"line 49") {
        Verdict::Ban { failures, matches } => {
            assert_eq!(failures, 50);
            assert_eq!(
                matches,
                ["line 45", "line 46", "line 47", "line 48", "line 49"]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn ban_reports_recent_lines_within_the_budget() {
    let mut tr = Tracker::new(5, Duration::from_secs(600), 10);
    let line = |i: u32| {
        format!("2026-12-03T10:00:0{i}.123456+00:00 host sshd[1234]: Failed password for invalid user admin from 203.0.113.7 port 5123{i} ssh2")
    };
    for i in 0..4 {
        tr.record(addr(1), t(i.into()), 1, line(i).as_bytes());
    }
    let Verdict::Ban { matches, .. } = tr.record(addr(1), t(4), 1, line(4).as_bytes()) else {
        panic!("no ban");
    };
    // The newest lines whole, older ones cut or dropped, never reordered.
    assert_eq!(matches.last(), Some(&line(4)));
    assert_eq!(matches[matches.len() - 2], line(3));
    assert!(matches.len() >= 3, "{matches:?}");
    for m in &matches[..matches.len() - 2] {
        assert!(m.starts_with("2026-12-03T10"), "{m}");
        assert!(
            m.ends_with(" ssh2"),
            "the end, with the address, stays: {m}"
        );
    }
}

#[test]
fn long_lines_lose_their_middle_not_the_address() {
    let mut tr = Tracker::new(2, Duration::from_secs(600), 10);
    let user = "é".repeat(500);
    let line =
        format!("Dec  3 10:00:00 host sshd[1]: Invalid user {user} from 198.51.100.23 port 4242");
    tr.record(addr(1), t(0), 1, line.as_bytes());
    let Verdict::Ban { matches, .. } = tr.record(addr(1), t(1), 1, line.as_bytes()) else {
        panic!("no ban");
    };
    for (i, m) in matches.iter().enumerate() {
        // The line that earned the ban is not stored, so its bound is wider.
        let bound = if i + 1 == matches.len() {
            LAST_MATCH_BYTES
        } else {
            MATCH_BYTES
        };
        assert!(m.len() <= bound, "{}", m.len());
        assert!(m.starts_with("Dec  3 10:00:00 host"), "{m}");
        assert!(m.ends_with("from 198.51.100.23 port 4242"), "{m}");
        assert!(
            m.contains('…') && !m.contains('\u{FFFD}'),
            "cut on characters: {m}"
        );
    }
}

#[test]
fn memory_per_source_stays_under_300_bytes() {
    // The worst a source can hold at default settings: maxretry - 1
    // failures, each with a long line. Invalid UTF-8 too.
    let mut tr = Tracker::new(5, Duration::from_secs(600), 1000);
    let mut line = vec![0xFFu8; 1000];
    line.extend_from_slice(b" from 203.0.113.7");
    for n in 0..1000 {
        for i in 0..4 {
            let target = if n % 2 == 0 { addr(n) } else { v6(n) };
            tr.record(target, t(i), 1, &line);
        }
    }
    assert_eq!(tr.len(), 1000);
    for e in tr.entries.values() {
        assert_eq!(
            e.matches.iter().count(),
            1,
            "a cut newest line leaves no room"
        );
        assert!(e.matches.heap_bytes() <= lines::LINES_BUDGET);
    }
    let per_source = tr.heap_bytes() / tr.len();
    assert!(per_source <= 300, "{per_source} bytes per source");
}

#[test]
fn removal_keeps_index_and_order_consistent() {
    // Bans, forgets and evictions in a deterministic but mixed pattern; the
    // tracker must agree with a plain model of sources in recency order.
    let mut tr = Tracker::new(3, Duration::from_secs(100_000), 50);
    let mut model: Vec<(u32, u32)> = Vec::new(); // (source, failures), oldest first
    let mut x = 12345u32;
    for step in 0..20_000u32 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let n = (x >> 16) % 80;
        if (x >> 8) % 13 == 7 {
            tr.forget(&addr(n));
            model.retain(|&(s, _)| s != n);
            continue;
        }
        let v = tr.record(addr(n), t(step.into()), 1, b"l");
        let before = model
            .iter()
            .position(|&(s, _)| s == n)
            .map(|p| model.remove(p));
        let failures = before.map_or(0, |(_, f)| f) + 1;
        if failures >= 3 {
            assert!(matches!(v, Verdict::Ban { failures: 3, .. }), "{step}");
        } else {
            assert_eq!(v, Verdict::Counting(failures), "{step}");
            if before.is_none() && model.len() == 50 {
                model.remove(0);
            }
            model.push((n, failures));
        }
        assert_eq!(tr.len(), model.len());
    }
    for &(s, f) in &model {
        let i = tr.entries.find(&addr(s)).expect("tracked");
        assert_eq!(tr.entries.get(i).ticks.len(), f);
    }
}

#[test]
fn weighted_failures_add_up_in_fixed_point() {
    let mut tr = Tracker::new(3, Duration::from_secs(60), 100);
    // Half a failure at a time: six halves make the three that ban.
    for i in 0..5 {
        let v = tr.record_weighted(addr(1), t(i), 500, b"", 3);
        assert!(matches!(v, Verdict::Counting(_)), "{i}: {v:?}");
    }
    assert!(matches!(
        tr.record_weighted(addr(1), t(5), 500, b"", 3),
        Verdict::Ban { failures: 3, .. }
    ));
}

#[test]
fn a_larger_limit_for_a_trusted_source_spills_past_the_inline_ticks() {
    let mut tr = Tracker::new(5, Duration::from_secs(60), 100);
    for i in 0..14 {
        let v = tr.record_weighted(addr(1), t(i), 1000, b"", 15);
        assert_eq!(v, Verdict::Counting(i as u32 + 1));
    }
    assert!(matches!(
        tr.record_weighted(addr(1), t(14), 1000, b"", 15),
        Verdict::Ban { failures: 15, .. }
    ));
}
