//! Failures against the real kernel: each must be an error that says what
//! failed and why, and must change nothing (a batch is all or nothing).

mod common;

use std::net::Ipv4Addr;

use bantam_firewall::{Backend, BanEntry, ElementUpdates, FirewallError, Nftables, Target};
use common::{benchmark_addresses, root_or_skip, set_up, t, Netns, HOUR, MODES};

#[test]
fn teardown_removes_the_table_and_later_changes_fail_clearly() {
    if !root_or_skip("teardown_removes_the_table_and_later_changes_fail_clearly") {
        return;
    }
    for mode in MODES {
        let (netns, mut backend) = set_up("bt-gone", mode);
        backend
            .ban(&[BanEntry::permanent(t("192.0.2.40"))])
            .unwrap();
        backend.teardown().unwrap();
        assert!(!netns.nft(&["list", "tables"]).contains("bt-gone"));
        backend.teardown().expect("teardown twice is fine");

        let err = backend
            .ban(&[BanEntry::timed(t("192.0.2.41"), HOUR)])
            .unwrap_err();
        let text = err.to_string();
        println!("{mode:?}: ban after teardown: {text}");
        assert!(text.contains("set inet bt-gone addr4"), "{text}");
        assert!(text.contains("No such file or directory"), "{text}");
        assert_eq!(err.errno(), Some(libc::ENOENT));
        assert!(matches!(err, FirewallError::Kernel { .. }));

        let err = backend.list().unwrap_err();
        assert!(
            err.to_string().contains("listing set inet bt-gone"),
            "{err}"
        );
        let err = backend.unban(&[t("203.0.113.0/24")]).unwrap_err();
        assert!(err.to_string().contains("set inet bt-gone net24"), "{err}");
        // And setup brings it back.
        backend.setup().unwrap();
        backend
            .ban(&[BanEntry::permanent(t("192.0.2.41"))])
            .unwrap();
    }
}

#[test]
fn invalid_targets_change_nothing() {
    if !root_or_skip("invalid_targets_change_nothing") {
        return;
    }
    let (_netns, mut backend) = set_up("bantam", ElementUpdates::detect());
    let err = backend
        .ban(&[
            BanEntry::permanent(t("192.0.2.60")),
            BanEntry::permanent(Target::net(Ipv4Addr::new(192, 0, 2, 0), 33)),
        ])
        .unwrap_err();
    assert!(matches!(err, FirewallError::InvalidTarget { .. }), "{err}");
    assert!(backend.list().unwrap().is_empty());
    assert!(Nftables::open("no spaces").is_err());
}

#[test]
fn a_rejected_element_is_named_and_the_batch_is_not_applied() {
    if !root_or_skip("a_rejected_element_is_named_and_the_batch_is_not_applied") {
        return;
    }
    let (netns, mut backend) = set_up("bantam", ElementUpdates::detect());
    // A range that is no CIDR block, added behind bantam's back: bantam
    // cannot see it as a network, so it cannot merge around it.
    netns.nft(&[
        "add",
        "element",
        "inet",
        "bantam",
        "net4",
        "{ 203.0.113.4-203.0.113.9 }",
    ]);
    let err = backend
        .ban(&[
            BanEntry::permanent(t("192.0.2.70")),
            BanEntry::permanent(t("198.51.100.0/25")),
            BanEntry::permanent(t("203.0.113.0/25")),
        ])
        .unwrap_err();
    println!("overlap: {err}");
    let text = err.to_string();
    assert!(
        text.starts_with("adding 2 elements to set inet bantam net4: "),
        "{text}"
    );
    assert!(
        text.ends_with("(overlaps an element already in the set) [element 203.0.113.0/25]"),
        "{text}"
    );
    // All or nothing: the address in the same batch was not banned either.
    assert!(netns.elements("bantam", "addr4").is_empty());
    assert!(backend.list().unwrap().is_empty());
}

#[test]
fn without_privileges_errors_say_what_failed_and_why() {
    if !root_or_skip("without_privileges_errors_say_what_failed_and_why") {
        return;
    }
    let netns = Netns::new();
    let mut backend = netns.unprivileged_backend("bantam");
    let err = backend.setup().unwrap_err();
    println!("setup: {err}");
    assert_eq!(err.errno(), Some(libc::EPERM), "{err}");
    assert!(
        err.to_string()
            .starts_with("creating table inet bantam (and "),
        "{err}"
    );

    let entries: Vec<BanEntry> = benchmark_addresses(5000)
        .into_iter()
        .map(BanEntry::permanent)
        .collect();
    let err = backend.ban(&entries).unwrap_err();
    println!("ban: {err}");
    assert_eq!(
        err.to_string(),
        "adding 5000 elements to set inet bantam addr4: Operation not permitted (are you root / CAP_NET_ADMIN?)"
    );
    let err = backend.list().unwrap_err();
    assert!(err.to_string().contains("Operation not permitted"), "{err}");
    assert!(
        !netns.nft(&["list", "tables"]).contains("bantam"),
        "nothing was created"
    );
}

#[test]
fn setup_refuses_a_table_whose_sets_differ() {
    if !root_or_skip("setup_refuses_a_table_whose_sets_differ") {
        return;
    }
    let netns = Netns::new();
    // Same names, no timeout flag: not ours to change (it may hold bans an
    // older configuration made); the operator decides, with teardown.
    netns.nft(&[
        "add",
        "table",
        "inet",
        "bantam",
        "{ set addr4 { type ipv4_addr; }; }",
    ]);
    let mut backend = netns.backend("bantam", ElementUpdates::detect());
    let err = backend.setup().unwrap_err();
    assert_eq!(
        err.to_string(),
        "creating set inet bantam addr4: File exists (exists with a different definition: run teardown first)"
    );
    assert!(netns
        .nft(&["list", "table", "inet", "bantam"])
        .contains("set addr4"));
    backend.teardown().unwrap();
    backend.setup().unwrap();
}
