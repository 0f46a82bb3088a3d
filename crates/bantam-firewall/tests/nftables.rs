//! The nftables backend against the real kernel, each test in a network
//! namespace of its own (so they run in parallel and never touch the host's
//! firewall). What the backend did is checked with `nft`, an independent
//! reader, as well as with `Backend::list`.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use bantam_firewall::{Backend, BanEntry, ElementUpdates, Nftables};
use common::{benchmark_addresses, listed_targets, root_or_skip, set_up, t, Netns, HOUR, MODES};

#[test]
fn setup_is_idempotent_and_leaves_other_tables_alone() {
    if !root_or_skip("setup_is_idempotent_and_leaves_other_tables_alone") {
        return;
    }
    let netns = Netns::new();
    netns.nft(&["add", "table", "inet", "other"]);
    netns.nft(&["add", "set", "inet", "other", "keep", "{ type ipv4_addr; }"]);
    netns.nft(&["add", "element", "inet", "other", "keep", "{ 192.0.2.99 }"]);

    let mut backend = netns.backend("bantam-test", ElementUpdates::detect());
    assert_eq!(backend.name(), "nftables");
    backend.setup().unwrap();
    backend
        .ban(&[BanEntry::timed(t("192.0.2.1"), HOUR)])
        .unwrap();
    backend.setup().unwrap();

    let listing = netns.nft(&["list", "table", "inet", "bantam-test"]);
    for expected in [
        "set addr4 {\n\t\ttype ipv4_addr\n\t\tflags timeout\n\t\tgc-interval 1m\n",
        "set addr6 {\n\t\ttype ipv6_addr\n\t\tflags timeout\n",
        "set net4 {\n\t\ttype ipv4_addr\n\t\tflags interval,timeout\n",
        "set net6 {\n\t\ttype ipv6_addr\n\t\tflags interval,timeout\n\t\tgc-interval 1m\n",
        "set net24 {\n\t\ttype ipv4_addr\n\t\tflags timeout\n",
        "set net64 {\n\t\ttype ipv6_addr\n\t\tflags timeout\n",
        "type filter hook input priority filter - 10; policy accept;",
        "ip saddr @addr4 counter packets 0 bytes 0 drop",
        "ip saddr @net4 counter packets 0 bytes 0 drop",
        "ip saddr & 255.255.255.0 == @net24 counter packets 0 bytes 0 drop",
        "ip6 saddr @addr6 counter packets 0 bytes 0 drop",
        "ip6 saddr @net6 counter packets 0 bytes 0 drop",
        "ip6 saddr & ffff:ffff:ffff:ffff:: == @net64 counter packets 0 bytes 0 drop",
    ] {
        assert!(
            listing.contains(expected),
            "missing {expected:?} in\n{listing}"
        );
    }
    assert_eq!(
        listing.matches(" drop").count(),
        6,
        "setup twice must not duplicate rules:\n{listing}"
    );
    assert_eq!(
        netns.elements("bantam-test", "addr4").len(),
        1,
        "setup keeps existing bans"
    );

    backend.flush().unwrap();
    backend.teardown().unwrap();
    let other = netns.nft(&["list", "table", "inet", "other"]);
    assert!(
        other.contains("192.0.2.99"),
        "another table was touched:\n{other}"
    );
}

#[test]
fn bans_single_addresses_v4_and_v6() {
    if !root_or_skip("bans_single_addresses_v4_and_v6") {
        return;
    }
    for mode in MODES {
        let (netns, mut backend) = set_up("bantam", mode);
        backend
            .ban(&[
                BanEntry::timed(t("192.0.2.1"), HOUR),
                BanEntry::timed(t("2001:db8::1"), HOUR),
            ])
            .unwrap();
        let v4 = netns.elements("bantam", "addr4");
        let v6 = netns.elements("bantam", "addr6");
        assert_eq!(v4.len(), 1, "{mode:?}: {v4:?}");
        assert_eq!(v4[0].value, "192.0.2.1");
        assert_eq!(v4[0].timeout, Some(3600));
        assert!(v4[0].expires.unwrap() > 3590, "{v4:?}");
        assert_eq!(v6[0].value, "2001:db8::1");
        assert_eq!(v6[0].timeout, Some(3600));
        assert!(netns.elements("bantam", "net4").is_empty());
    }
}

#[test]
fn bans_5000_addresses_in_one_call() {
    if !root_or_skip("bans_5000_addresses_in_one_call") {
        return;
    }
    let (netns, mut backend) = set_up("bantam", ElementUpdates::detect());
    let entries: Vec<BanEntry> = benchmark_addresses(5000)
        .into_iter()
        .map(|target| BanEntry::timed(target, HOUR))
        .collect();
    let started = Instant::now();
    backend.ban(&entries).unwrap();
    let elapsed = started.elapsed();
    println!(
        "banned 5,000 addresses in one batch in {elapsed:?} ({:?} updates)",
        backend.element_updates()
    );

    let listed = netns.elements("bantam", "addr4");
    assert_eq!(listed.len(), 5000);
    let values: HashSet<String> = listed.into_iter().map(|e| e.value).collect();
    assert!(values.contains("198.18.0.0") && values.contains("198.18.19.135"));
    let ours = backend.list().unwrap();
    assert_eq!(ours.len(), 5000);
    assert!(ours.iter().all(|e| e
        .timeout
        .is_some_and(|left| left > HOUR - Duration::from_secs(60))));

    // Banning them all again (new timeouts) is one batch as well.
    let again: Vec<BanEntry> = entries
        .iter()
        .map(|e| BanEntry::timed(e.target, 2 * HOUR))
        .collect();
    let started = Instant::now();
    backend.ban(&again).unwrap();
    println!(
        "re-banned 5,000 addresses in one batch in {:?}",
        started.elapsed()
    );
    assert!(backend
        .list()
        .unwrap()
        .iter()
        .all(|e| e.timeout.unwrap() > HOUR));
}

#[test]
fn re_ban_updates_the_timeout() {
    if !root_or_skip("re_ban_updates_the_timeout") {
        return;
    }
    let a = t("192.0.2.7");
    let b = t("2001:db8::7");
    for mode in MODES {
        let (netns, mut backend) = set_up("bantam", mode);
        let timeout_of = |backend: &mut Nftables, target| {
            let listed = backend.list().unwrap();
            listed
                .iter()
                .find(|e| e.target == target)
                .unwrap_or_else(|| panic!("{target} missing: {listed:?}"))
                .timeout
        };
        backend
            .ban(&[BanEntry::timed(a, HOUR), BanEntry::timed(b, HOUR)])
            .unwrap();
        // Longer.
        backend
            .ban(&[BanEntry::timed(a, 5 * HOUR), BanEntry::timed(b, 5 * HOUR)])
            .unwrap();
        assert!(timeout_of(&mut backend, a).unwrap() > 4 * HOUR, "{mode:?}");
        assert!(timeout_of(&mut backend, b).unwrap() > 4 * HOUR, "{mode:?}");
        // Shorter.
        backend
            .ban(&[BanEntry::timed(a, Duration::from_secs(600))])
            .unwrap();
        assert!(
            timeout_of(&mut backend, a).unwrap() <= Duration::from_secs(600),
            "{mode:?}"
        );
        // Permanent, then timed again.
        backend.ban(&[BanEntry::permanent(a)]).unwrap();
        assert_eq!(timeout_of(&mut backend, a), None, "{mode:?}");
        assert_eq!(netns.elements("bantam", "addr4")[0].timeout, None);
        backend.ban(&[BanEntry::timed(a, HOUR)]).unwrap();
        assert!(timeout_of(&mut backend, a).is_some(), "{mode:?}");
        // The same target twice in one call: the last entry wins.
        backend
            .ban(&[BanEntry::timed(a, HOUR), BanEntry::timed(a, 3 * HOUR)])
            .unwrap();
        assert!(timeout_of(&mut backend, a).unwrap() > 2 * HOUR, "{mode:?}");
        assert_eq!(backend.list().unwrap().len(), 2);
    }
}

#[test]
fn unban_ignores_absent_targets() {
    if !root_or_skip("unban_ignores_absent_targets") {
        return;
    }
    for mode in MODES {
        let (netns, mut backend) = set_up("bantam", mode);
        let banned = [
            t("192.0.2.1"),
            t("192.0.2.2"),
            t("2001:db8::2"),
            t("203.0.113.0/24"),
        ];
        let entries: Vec<BanEntry> = banned
            .iter()
            .map(|&target| BanEntry::timed(target, HOUR))
            .collect();
        backend.ban(&entries).unwrap();
        backend
            .unban(&[
                t("192.0.2.1"),
                t("2001:db8::2"),
                t("203.0.113.0/24"),
                t("192.0.2.200"),     // never banned
                t("2001:db8::dead"),  // never banned
                t("198.51.100.0/24"), // never banned
            ])
            .unwrap();
        let left = listed_targets(&mut backend);
        assert_eq!(left, [t("192.0.2.2")], "{mode:?}");
        assert!(netns.elements("bantam", "net4").is_empty());
        // Nothing banned at all: still not an error.
        backend.unban(&[t("192.0.2.2")]).unwrap();
        backend.unban(&[t("192.0.2.2")]).unwrap();
        backend.unban(&[]).unwrap();
        assert!(backend.list().unwrap().is_empty());
    }
}

#[test]
fn list_reports_what_is_there_with_remaining_time() {
    if !root_or_skip("list_reports_what_is_there_with_remaining_time") {
        return;
    }
    let (_netns, mut backend) = set_up("bantam", ElementUpdates::detect());
    assert!(backend.list().unwrap().is_empty());
    backend
        .ban(&[
            BanEntry::timed(t("192.0.2.10"), HOUR),
            BanEntry::permanent(t("2001:db8::10")),
            BanEntry::timed(t("203.0.113.0/25"), 2 * HOUR),
            BanEntry::permanent(t("2001:db8:1::/48")),
        ])
        .unwrap();
    let listed = backend.list().unwrap();
    let find = |target| listed.iter().find(|e| e.target == target).unwrap().timeout;
    let left = find(t("192.0.2.10")).unwrap();
    assert!(
        left <= HOUR && left > HOUR - Duration::from_secs(60),
        "{left:?}"
    );
    assert_eq!(find(t("2001:db8::10")), None);
    let left = find(t("203.0.113.0/25")).unwrap();
    assert!(
        left <= 2 * HOUR && left > 2 * HOUR - Duration::from_secs(60),
        "{left:?}"
    );
    assert_eq!(find(t("2001:db8:1::/48")), None);
    assert_eq!(listed.len(), 4);
}

#[test]
fn any_timeout_is_accepted() {
    if !root_or_skip("any_timeout_is_accepted") {
        return;
    }
    let (_netns, mut backend) = set_up("bantam", ElementUpdates::detect());
    // Zero is rounded up to 1 ms, beyond the kernel's ~584 years is capped:
    // one odd entry must not make a whole batch fail.
    backend
        .ban(&[
            BanEntry::timed(t("192.0.2.80"), Duration::ZERO),
            BanEntry::timed(t("192.0.2.81"), Duration::from_secs(100 * 365 * 86400)),
            BanEntry::timed(t("192.0.2.82"), Duration::MAX),
        ])
        .unwrap();
    let listed = backend.list().unwrap();
    let timeout = |target| {
        listed
            .iter()
            .find(|e| e.target == t(target))
            .map(|e| e.timeout.unwrap())
    };
    // Gone already, or within a jiffy or two of going.
    assert!(
        timeout("192.0.2.80").is_none_or(|left| left < Duration::from_secs(1)),
        "{listed:?}"
    );
    for long in ["192.0.2.81", "192.0.2.82"] {
        assert!(
            timeout(long).unwrap() > Duration::from_secs(99 * 365 * 86400),
            "{listed:?}"
        );
    }
}

#[test]
fn the_kernel_lifts_an_expired_ban_by_itself() {
    if !root_or_skip("the_kernel_lifts_an_expired_ban_by_itself") {
        return;
    }
    let (netns, mut backend) = set_up("bantam", ElementUpdates::detect());
    backend
        .ban(&[
            BanEntry::timed(t("192.0.2.20"), Duration::from_secs(2)),
            BanEntry::timed(t("203.0.113.0/24"), Duration::from_secs(2)),
            BanEntry::timed(t("198.51.100.0/25"), Duration::from_secs(2)),
            BanEntry::permanent(t("192.0.2.21")),
        ])
        .unwrap();
    assert_eq!(netns.elements("bantam", "addr4").len(), 2);
    assert_eq!(netns.elements("bantam", "net24").len(), 1);
    // Not a timed test of ours: we wait for the kernel, up to 6 s.
    let deadline = Instant::now() + Duration::from_secs(6);
    loop {
        let v4 = netns.elements("bantam", "addr4");
        let mut nets = netns.elements("bantam", "net4");
        nets.extend(netns.elements("bantam", "net24"));
        if v4.len() == 1 && nets.is_empty() {
            assert_eq!(v4[0].value, "192.0.2.21");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still there after 6 s: {v4:?} {nets:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let listed = backend.list().unwrap();
    assert_eq!(listed, [BanEntry::permanent(t("192.0.2.21"))]);
}

/// The sets are swept once a minute (`gc-interval`), so an expired ban may
/// still be in the kernel's table when its address is banned again: the new
/// ban must hold, not be taken for the stale one.
#[test]
fn a_ban_again_soon_after_one_expired_holds() {
    if !root_or_skip("a_ban_again_soon_after_one_expired_holds") {
        return;
    }
    let (netns, mut backend) = set_up("bantam", ElementUpdates::detect());
    let targets = [
        t("192.0.2.30"),
        t("2001:db8::30"),
        t("203.0.113.0/24"),
        t("198.51.100.0/25"),
    ];
    let short: Vec<BanEntry> = targets
        .iter()
        .map(|&target| BanEntry::timed(target, Duration::from_secs(1)))
        .collect();
    backend.ban(&short).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(backend.list().unwrap().is_empty(), "expired, not swept yet");
    let long: Vec<BanEntry> = targets.iter().map(|&t| BanEntry::timed(t, HOUR)).collect();
    backend.ban(&long).unwrap();
    let listed = backend.list().unwrap();
    assert_eq!(listed.len(), 4, "{listed:?}");
    for entry in listed {
        let left = entry.timeout.expect("timed");
        assert!(left > HOUR - Duration::from_secs(60), "{entry:?}");
    }
    assert_eq!(netns.elements("bantam", "addr4").len(), 1);
}

#[test]
fn flush_removes_bans_and_keeps_the_structure() {
    if !root_or_skip("flush_removes_bans_and_keeps_the_structure") {
        return;
    }
    let (netns, mut backend) = set_up("bantam", ElementUpdates::detect());
    let entries: Vec<BanEntry> = benchmark_addresses(300)
        .into_iter()
        .chain([
            t("2001:db8::1"),
            t("203.0.113.0/24"),
            t("198.51.100.0/25"),
            t("2001:db8:2::/48"),
            t("2001:db8:3::/64"),
        ])
        .map(BanEntry::permanent)
        .collect();
    backend.ban(&entries).unwrap();
    assert_eq!(backend.list().unwrap().len(), 305);
    backend.flush().unwrap();
    assert!(backend.list().unwrap().is_empty());
    for set in ["addr4", "addr6", "net4", "net6", "net24", "net64"] {
        assert!(netns.elements("bantam", set).is_empty(), "{set}");
    }
    assert_eq!(
        netns
            .nft(&["list", "chain", "inet", "bantam", "input"])
            .matches(" drop")
            .count(),
        6
    );
    backend
        .ban(&[BanEntry::permanent(t("192.0.2.30"))])
        .unwrap();
    assert_eq!(backend.list().unwrap().len(), 1);
}

#[test]
fn permanent_bans_have_no_timeout() {
    if !root_or_skip("permanent_bans_have_no_timeout") {
        return;
    }
    let (netns, mut backend) = set_up("bantam", ElementUpdates::detect());
    backend
        .ban(&[
            BanEntry::permanent(t("192.0.2.50")),
            BanEntry::permanent(t("2001:db8::50")),
        ])
        .unwrap();
    let v4 = netns.elements("bantam", "addr4");
    assert_eq!(
        v4,
        [common::NftElement {
            value: "192.0.2.50".into(),
            timeout: None,
            expires: None
        }]
    );
    assert_eq!(netns.elements("bantam", "addr6")[0].timeout, None);
    assert!(backend.list().unwrap().iter().all(|e| e.timeout.is_none()));
}

#[test]
fn networks_are_banned_merged_and_unbanned() {
    if !root_or_skip("networks_are_banned_merged_and_unbanned") {
        return;
    }
    for mode in MODES {
        let (netns, mut backend) = set_up("bantam", mode);
        backend
            .ban(&[
                BanEntry::timed(t("198.18.0.0/17"), HOUR),
                BanEntry::timed(t("198.18.128.0/17"), HOUR),
                BanEntry::timed(t("198.51.100.77/25"), HOUR), // host bits are masked
                BanEntry::timed(t("2001:db8:1::/48"), HOUR),
                BanEntry::timed(t("255.255.255.128/25"), HOUR), // no end element
            ])
            .unwrap();
        let nets: Vec<String> = netns
            .elements("bantam", "net4")
            .into_iter()
            .map(|e| e.value)
            .collect();
        assert_eq!(
            nets,
            [
                "198.18.0.0/17",
                "198.18.128.0/17",
                "198.51.100.0/25",
                "255.255.255.128/25"
            ],
            "{mode:?}"
        );

        // Inside a banned network: already covered, not an error.
        backend
            .ban(&[BanEntry::timed(t("198.51.100.0/26"), HOUR)])
            .unwrap();
        // Containing banned networks: replaces them.
        backend
            .ban(&[BanEntry::timed(t("198.18.0.0/16"), 2 * HOUR)])
            .unwrap();
        // Same network again: new timeout.
        backend
            .ban(&[BanEntry::permanent(t("2001:db8:1::/48"))])
            .unwrap();

        let listed = backend.list().unwrap();
        let nets: Vec<(String, bool)> = listed
            .iter()
            .map(|e| (e.target.to_string(), e.timeout.is_some()))
            .collect();
        assert_eq!(
            nets,
            [
                ("198.18.0.0/16".to_string(), true),
                ("198.51.100.0/25".to_string(), true),
                ("255.255.255.128/25".to_string(), true),
                ("2001:db8:1::/48".to_string(), false),
            ],
            "{mode:?}"
        );
        assert!(listed[0].timeout.unwrap() > HOUR);

        backend
            .unban(&[
                t("198.18.0.0/16"),
                t("2001:db8:1::/48"),
                t("255.255.255.128/25"),
            ])
            .unwrap();
        let left = listed_targets(&mut backend);
        assert_eq!(left, [t("198.51.100.0/25")], "{mode:?}");
    }
}

/// /24s and /64s are hash elements (`net24`, `net64`): banned, re-banned
/// with a new timeout and unbanned like addresses, and independent of the
/// interval sets' networks around or inside them.
#[test]
fn common_prefixes_are_hash_elements_of_their_own() {
    if !root_or_skip("common_prefixes_are_hash_elements_of_their_own") {
        return;
    }
    for mode in MODES {
        let (netns, mut backend) = set_up("bantam", mode);
        backend
            .ban(&[
                BanEntry::timed(t("203.0.113.77/24"), HOUR), // host bits are masked
                BanEntry::timed(t("203.0.113.0/26"), HOUR),  // inside it
                BanEntry::timed(t("2001:db8:5:1::9/64"), HOUR),
                BanEntry::timed(t("2001:db8:5::/48"), HOUR), // around it
            ])
            .unwrap();
        let values = |set: &str| -> Vec<String> {
            netns
                .elements("bantam", set)
                .into_iter()
                .map(|e| e.value)
                .collect()
        };
        assert_eq!(values("net24"), ["203.0.113.0"], "{mode:?}");
        assert_eq!(values("net64"), ["2001:db8:5:1::"], "{mode:?}");
        assert_eq!(values("net4"), ["203.0.113.0/26"], "{mode:?}");
        assert_eq!(values("net6"), ["2001:db8:5::/48"], "{mode:?}");

        // Again: a new timeout, as for an address.
        backend
            .ban(&[BanEntry::permanent(t("2001:db8:5:1::/64"))])
            .unwrap();
        let listed = backend.list().unwrap();
        let net64 = listed
            .iter()
            .find(|e| e.target == t("2001:db8:5:1::/64"))
            .unwrap();
        assert_eq!(net64.timeout, None, "{mode:?}");
        assert_eq!(listed.len(), 4, "{mode:?}: {listed:?}");

        // Lifting the /48 leaves the /64 banned; lifting the /24 leaves
        // the /26.
        backend
            .unban(&[t("2001:db8:5::/48"), t("203.0.113.0/24")])
            .unwrap();
        let left = listed_targets(&mut backend);
        assert_eq!(
            left,
            [t("203.0.113.0/26"), t("2001:db8:5:1::/64")],
            "{mode:?}"
        );
    }
}

/// A table from before `net24`/`net64` holds its /24s and /64s in the
/// interval sets; setup moves them, with their time left, so that an
/// unban finds them.
#[test]
fn setup_moves_common_prefixes_out_of_the_interval_sets() {
    if !root_or_skip("setup_moves_common_prefixes_out_of_the_interval_sets") {
        return;
    }
    for mode in MODES {
        let (netns, mut backend) = set_up("bantam", mode);
        netns.nft(&[
            "add",
            "element",
            "inet",
            "bantam",
            "net4",
            "{ 203.0.113.0/24 timeout 1h, 198.51.100.0/25 timeout 1h }",
        ]);
        netns.nft(&[
            "add",
            "element",
            "inet",
            "bantam",
            "net6",
            "{ 2001:db8:7:1::/64, 2001:db8:8::/48 timeout 1h }",
        ]);
        backend.setup().unwrap();
        let net24 = netns.elements("bantam", "net24");
        assert_eq!(net24.len(), 1, "{mode:?}: {net24:?}");
        assert!(net24[0].timeout.is_some(), "{mode:?}: time left kept");
        let net64 = netns.elements("bantam", "net64");
        assert_eq!(net64.len(), 1, "{mode:?}: {net64:?}");
        assert_eq!(net64[0].timeout, None, "{mode:?}: permanent stays so");
        let interval: Vec<String> = ["net4", "net6"]
            .iter()
            .flat_map(|set| netns.elements("bantam", set))
            .map(|e| e.value)
            .collect();
        assert_eq!(interval, ["198.51.100.0/25", "2001:db8:8::/48"], "{mode:?}");

        backend
            .unban(&[t("203.0.113.0/24"), t("2001:db8:7:1::/64")])
            .unwrap();
        let left = listed_targets(&mut backend);
        assert_eq!(
            left,
            [t("198.51.100.0/25"), t("2001:db8:8::/48")],
            "{mode:?}"
        );
    }
}

/// The backend mirrors its interval sets so that a batch of new networks
/// reads nothing; networks changed by hand behind its back must still be
/// merged with (the kernel refuses the guessed batch, the set is read).
#[test]
fn networks_changed_by_hand_are_merged_not_refused() {
    if !root_or_skip("networks_changed_by_hand_are_merged_not_refused") {
        return;
    }
    for mode in MODES {
        let (netns, mut backend) = set_up("bantam", mode);
        // The first ban reads the set; from then on the mirror knows it.
        backend
            .ban(&[
                BanEntry::timed(t("2001:db8:1::/56"), HOUR),
                BanEntry::timed(t("2001:db8:9::/48"), HOUR),
            ])
            .unwrap();
        netns.nft(&[
            "add",
            "element",
            "inet",
            "bantam",
            "net6",
            "{ 2001:db8:5::/48 timeout 1h, 2001:db8:6:100::/56 timeout 1h }",
        ]);
        netns.nft(&[
            "delete",
            "element",
            "inet",
            "bantam",
            "net6",
            "{ 2001:db8:9::/48 }",
        ]);
        backend
            .ban(&[
                BanEntry::timed(t("2001:db8:5:100::/56"), HOUR), // inside one by hand
                BanEntry::timed(t("2001:db8:6::/48"), 2 * HOUR), // around one by hand
                BanEntry::timed(t("2001:db8:7::/56"), HOUR),
            ])
            .unwrap();
        // Inside one deleted by hand: banned again.
        backend
            .ban(&[BanEntry::timed(t("2001:db8:9:100::/56"), HOUR)])
            .unwrap();
        let nets: Vec<String> = backend
            .list()
            .unwrap()
            .into_iter()
            .map(|e| e.target.to_string())
            .collect();
        assert_eq!(
            nets,
            [
                "2001:db8:1::/56",
                "2001:db8:5::/48",
                "2001:db8:6::/48",
                "2001:db8:7::/56",
                "2001:db8:9:100::/56"
            ],
            "{mode:?}"
        );
    }
}

/// Restore-at-start size: `cargo test -p bantam-firewall --release -- --ignored --nocapture`.
#[test]
#[ignore = "large; run explicitly to measure"]
fn bans_100000_addresses_in_one_call() {
    if !root_or_skip("bans_100000_addresses_in_one_call") {
        return;
    }
    for mode in MODES {
        let (_netns, mut backend) = set_up("bantam", mode);
        let entries: Vec<BanEntry> = benchmark_addresses(100_000)
            .into_iter()
            .map(|target| BanEntry::timed(target, HOUR))
            .collect();
        let started = Instant::now();
        backend.ban(&entries).unwrap();
        let ban = started.elapsed();
        let started = Instant::now();
        let listed = backend.list().unwrap();
        let list = started.elapsed();
        assert_eq!(listed.len(), 100_000);
        let started = Instant::now();
        backend.ban(&entries).unwrap();
        let reban = started.elapsed();
        let started = Instant::now();
        backend
            .unban(&entries.iter().map(|e| e.target).collect::<Vec<_>>())
            .unwrap();
        let unban = started.elapsed();
        println!(
            "100,000 addresses ({mode:?}): ban {ban:?}, list {list:?}, re-ban {reban:?}, unban {unban:?}"
        );
    }
}

/// A restart's way back (see `nft::replace`): one transaction leaves the
/// sets holding exactly the given bans, with their new timeouts, whatever
/// they held before, and without reading them. `holds_nothing` answers
/// from the first datagram of a dump.
#[test]
fn replace_leaves_exactly_the_given_bans() {
    if !root_or_skip("replace_leaves_exactly_the_given_bans") {
        return;
    }
    for mode in MODES {
        let (netns, mut backend) = set_up("bantam", mode);
        assert!(backend.holds_nothing().unwrap(), "{mode:?}");
        backend
            .ban(&[
                BanEntry::timed(t("192.0.2.1"), HOUR),
                BanEntry::timed(t("192.0.2.2"), HOUR), // a stray
                BanEntry::timed(t("2001:db8:1::/48"), HOUR),
                BanEntry::timed(t("2001:db8:2:3::/64"), HOUR),
            ])
            .unwrap();
        backend
            .replace(&[
                BanEntry::permanent(t("192.0.2.1")),
                BanEntry::timed(t("2001:db8:1::/48"), 2 * HOUR),
                BanEntry::timed(t("2001:db8:1:5::/56"), HOUR), // inside: merged
                BanEntry::timed(t("2001:db8:2:3::/64"), HOUR),
                BanEntry::timed(t("203.0.113.0/24"), HOUR),
            ])
            .unwrap();
        let listed = backend.list().unwrap();
        let targets: Vec<String> = listed.iter().map(|e| e.target.to_string()).collect();
        assert_eq!(
            targets,
            [
                "192.0.2.1",
                "203.0.113.0/24",
                "2001:db8:1::/48",
                "2001:db8:2:3::/64"
            ],
            "{mode:?}"
        );
        assert_eq!(listed[0].timeout, None, "{mode:?}: the new timeout");
        assert!(listed[2].timeout.unwrap() > HOUR, "{mode:?}");
        // A second backend of the same table: its spare socket looks.
        let mut again = netns.backend("bantam", mode);
        assert!(!again.holds_nothing().unwrap(), "{mode:?}");
        backend.replace(&[]).unwrap();
        assert!(backend.list().unwrap().is_empty(), "{mode:?}");
    }
}
