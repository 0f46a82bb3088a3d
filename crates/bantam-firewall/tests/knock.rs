//! Knocks recorded by the kernel (`extend-while-knocking`): real packets
//! from namespace B to banned addresses in namespace A, and what
//! `last_knocks` reads back, with both update strategies.

mod common;

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use bantam_firewall::{Backend, BanEntry, Repair};
use common::{root_or_skip, t, two_hosts, Netns, HOUR, MODES};

/// One SYN (and its retransmissions, all dropped) from B.
fn knock(client: &Netns, server: &str) {
    let server: SocketAddr = server.parse().unwrap();
    let result = client.enter(|| TcpStream::connect_timeout(&server, Duration::from_millis(200)));
    assert!(result.is_err(), "{server}: connected while banned");
}

#[test]
fn knocks_of_banned_sources_are_read_back_and_leave_with_their_ban() {
    if !root_or_skip("knocks_of_banned_sources_are_read_back_and_leave_with_their_ban") {
        return;
    }
    for updates in MODES {
        let (a, b) = two_hosts();
        let mut backend = a.backend("bantam", updates);
        assert!(backend.record_knocks(true));
        backend.setup().unwrap();
        assert_eq!(backend.verify().unwrap(), Repair::Intact, "{updates:?}");
        let silent = t("198.51.100.9");
        let (v4, v6) = (t("198.51.100.7"), t("2001:db8:100::7"));
        backend
            .ban(&[
                BanEntry::timed(v4, HOUR),
                BanEntry::timed(v6, HOUR),
                BanEntry::timed(silent, HOUR),
            ])
            .unwrap();
        let none = backend.last_knocks(&[v4, v6, silent]).unwrap();
        assert_eq!(none, [None, None, None], "{updates:?}: before any packet");

        knock(&b, "198.51.100.1:22");
        knock(&b, "[2001:db8:100::1]:22");
        std::thread::sleep(Duration::from_millis(300));
        let knocks = backend.last_knocks(&[v4, v6, silent]).unwrap();
        for (target, ago) in [v4, v6].iter().zip(&knocks) {
            let ago = ago.unwrap_or_else(|| panic!("{updates:?}: {target} knocked"));
            assert!(
                ago < Duration::from_secs(5),
                "{updates:?}: {target} {ago:?}"
            );
        }
        assert_eq!(knocks[2], None, "{updates:?}: a silent source");
        // A network ban's knocks are its sources'.
        let net = t("198.51.100.0/24");
        assert!(backend.last_knocks(&[net]).unwrap()[0].is_some());

        // Unbanned: the knock goes with the ban; a new ban starts clean.
        backend.unban(&[v4, v6]).unwrap();
        let gone = backend.last_knocks(&[v4, v6]).unwrap();
        assert_eq!(gone, [None, None], "{updates:?}: after unban");
        assert!(a.elements("bantam", "knock4").is_empty(), "{updates:?}");
        backend.ban(&[BanEntry::timed(v4, HOUR)]).unwrap();
        assert_eq!(backend.last_knocks(&[v4]).unwrap(), [None]);
        backend.teardown().unwrap();
    }
}

#[test]
fn knock_rules_come_and_go_with_the_setting() {
    if !root_or_skip("knock_rules_come_and_go_with_the_setting") {
        return;
    }
    let (a, _b) = two_hosts();
    let mut backend = a.backend("bantam", common::MODES[0]);
    backend.setup().unwrap();
    let chain = || a.nft(&["list", "chain", "inet", "bantam", "input"]);
    assert!(!chain().contains("update @knock4"));
    backend.record_knocks(true);
    backend.setup().unwrap();
    let with = chain();
    assert!(
        with.contains("ip saddr @addr4 update @knock4 { ip saddr timeout 400d }")
            && with.contains("ip6 saddr @net6 update @knock6 { ip6 saddr timeout 400d }"),
        "{with}"
    );
    let sets = a.nft(&["list", "set", "inet", "bantam", "knock4"]);
    assert!(
        sets.contains("size 1048576") && sets.contains("flags dynamic,timeout"),
        "{sets}"
    );
    // Rules flushed behind our back are noticed and put back.
    a.nft(&["flush", "chain", "inet", "bantam", "input"]);
    assert_eq!(backend.verify().unwrap(), Repair::Rebuilt);
    assert!(chain().contains("update @knock4"));
    assert_eq!(backend.verify().unwrap(), Repair::Intact);
    // Off again (a reload): the rules and the knock sets go.
    backend.record_knocks(false);
    backend.setup().unwrap();
    assert!(!chain().contains("knock"));
    assert!(a
        .try_nft(&["list", "set", "inet", "bantam", "knock4"])
        .is_err_or_failed());
    assert_eq!(backend.verify().unwrap(), Repair::Intact);
}

trait Failed {
    fn is_err_or_failed(&self) -> bool;
}

impl Failed for std::io::Result<std::process::Output> {
    fn is_err_or_failed(&self) -> bool {
        self.as_ref().map_or(true, |out| !out.status.success())
    }
}
