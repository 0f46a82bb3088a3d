//! A command action end to end against the real nftables: an action in the
//! style of fail2ban's nftables-multiport (our own command text: a table, a
//! set per family, a rule; elements added and deleted per ban), run inside
//! a network namespace the test creates, and checked with `nft -j`.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use bantam_firewall::command::{ActionSpec, BanInfo, CommandAction};
use common::{root_or_skip, Netns};

const TABLE: &str = "f2b-sshd";

fn multiport(netns: &Netns) -> ActionSpec {
    let mut spec = ActionSpec::new("nftables-multiport-like");
    spec.actionstart = [
        "set -e",
        "<nft> add table inet <table>",
        "<nft> add set inet <table> <set> '{ type <type>; }'",
        "<nft> add chain inet <table> input '{ type filter hook input priority -1; }'",
        "<nft> add rule inet <table> input meta l4proto tcp th dport '{ <port> }' <saddr> @<set> drop",
    ]
    .join("\n");
    spec.actionstop = "<nft> delete table inet <table>".into();
    spec.actioncheck = "<nft> list set inet <table> <set> >/dev/null".into();
    spec.actionban = "<nft> add element inet <table> <set> '{ <ip> }'".into();
    spec.actionunban = "<nft> delete element inet <table> <set> '{ <ip> }'".into();
    spec.timeout = Duration::from_secs(20);
    spec.init = BTreeMap::from(
        [
            ("nft", format!("ip netns exec {} nft", netns.name).as_str()),
            ("name", "sshd"),
            ("table", "f2b-<name>"),
            ("port", "22, 2222"),
            ("set", "addr4"),
            ("set?family=inet6", "addr6"),
            ("type", "ipv4_addr"),
            ("type?family=inet6", "ipv6_addr"),
            ("saddr", "ip saddr"),
            ("saddr?family=inet6", "ip6 saddr"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    spec
}

fn ban(ip: &str) -> BanInfo {
    let mut ban = BanInfo::new(ip.parse().unwrap());
    ban.fields.insert("user".into(), "$(reboot)".into());
    ban.matches = vec!["Failed password for `reboot` from somewhere".into()];
    ban
}

fn values(netns: &Netns, set: &str) -> Vec<String> {
    let mut values: Vec<String> = netns
        .elements(TABLE, set)
        .into_iter()
        .map(|e| e.value)
        .collect();
    values.sort();
    values
}

fn table_exists(netns: &Netns) -> bool {
    netns.nft(&["list", "tables"]).contains(TABLE)
}

#[test]
fn a_command_action_bans_and_unbans_in_nftables() {
    if !root_or_skip("a_command_action_bans_and_unbans_in_nftables") {
        return;
    }
    let netns = Netns::new();
    let mut action = CommandAction::new(multiport(&netns)).unwrap();

    // Per-family settings: each family starts on its first ban.
    action.start().unwrap();
    assert!(!table_exists(&netns), "started before any ban");
    action.ban(&ban("192.0.2.10")).unwrap();
    action.ban(&ban("192.0.2.11")).unwrap();
    action.ban(&ban("2001:db8::10")).unwrap();
    assert_eq!(values(&netns, "addr4"), ["192.0.2.10", "192.0.2.11"]);
    assert_eq!(values(&netns, "addr6"), ["2001:db8::10"]);

    action.unban(&ban("192.0.2.10")).unwrap();
    assert_eq!(values(&netns, "addr4"), ["192.0.2.11"]);

    // Someone flushes the ruleset: the next ban fails, the check sees the
    // set missing, the action restarts, and the ban goes through.
    netns.nft(&["flush", "ruleset"]);
    action.ban(&ban("198.51.100.20")).unwrap();
    assert_eq!(values(&netns, "addr4"), ["198.51.100.20"]);

    action.stop().unwrap();
    assert!(!table_exists(&netns), "stop leaves the table");
}

#[test]
fn a_failing_nft_command_reports_its_stderr() {
    if !root_or_skip("a_failing_nft_command_reports_its_stderr") {
        return;
    }
    let netns = Netns::new();
    let mut spec = multiport(&netns);
    spec.init.insert("type".into(), "no_such_type".into());
    let mut action = CommandAction::new(spec).unwrap();
    let err = action.ban(&ban("192.0.2.30")).unwrap_err().to_string();
    assert!(
        err.starts_with("action nftables-multiport-like: actionstart: exit code 1: "),
        "{err}"
    );
    assert!(err.contains("no_such_type"), "{err}");
}
