//! Jails on different backends, driven through the daemon's own doors
//! (lines, requests, expiry, restore, reload): each backend here is a
//! dry-run backend standing in for its kind (`ipset` is a second
//! in-memory set), except the one a reload opens, which is a real
//! hosts.deny file in the test's directory.

use std::time::Duration;

use bantam_config::BackendKind;
use bantam_state::BanRecord;

use crate::clock::Clock;
use crate::control::{Request, Response};
use crate::daemon::tests::{batch, config, failure, harness, jail, Harness};
use crate::daemon::{Daemon, RunOptions};

const IPSET: BackendKind = BackendKind::Ipset;
const DRY: BackendKind = BackendKind::DryRun;
const LOG_A: &str = "/nonexistent-dir/a.log";
const LOG_B: &str = "/nonexistent-dir/b.log";

/// sshd bans in ipset, web in the daemon's backend (dry-run).
fn two_backends() -> String {
    jail("sshd", LOG_A, 1) + "banaction = \"ipset\"\n" + &jail("web", LOG_B, 1)
}

/// A ban by hand, forced: the guards are not what is tested, and a test
/// host may carry a documentation address.
fn ban(jail: &str, targets: &[&str], secs: Option<u64>) -> Request {
    Request::Ban {
        jail: jail.into(),
        targets: targets.iter().map(|t| t.to_string()).collect(),
        force: true,
        bantime_seconds: secs,
        reason: None,
    }
}

fn unban(jail: Option<&str>, targets: &[&str], all: bool) -> Request {
    Request::Unban {
        targets: targets.iter().map(|t| t.to_string()).collect(),
        all,
        jail: jail.map(str::to_owned),
    }
}

fn ok(answer: Response) {
    assert!(answer.ok, "{answer:?}");
}

impl Harness {
    fn timeout_in(&mut self, kind: BackendKind, addr: &str) -> Option<Duration> {
        let target = addr.parse().unwrap();
        let listed = self.backend(kind).list().unwrap();
        listed.iter().find(|e| e.target == target).unwrap().timeout
    }
}

#[tokio::test]
async fn each_jail_bans_in_its_backend_and_an_address_of_both_is_in_both() {
    let mut h = harness(&two_backends());
    let (a, b) = (h.reader(LOG_A), h.reader(LOG_B));
    let lines = failure("192.0.2.5") + &failure("192.0.2.6");
    h.daemon.on_lines(a, batch(LOG_A, &lines).await);
    let lines = failure("192.0.2.5") + &failure("198.51.100.9");
    h.daemon.on_lines(b, batch(LOG_B, &lines).await);
    assert_eq!(h.kernel_of(IPSET), ["192.0.2.5", "192.0.2.6"]);
    assert_eq!(h.kernel_of(DRY), ["192.0.2.5", "198.51.100.9"]);

    let status = h.ask(Request::Status { jail: None }).data.unwrap();
    assert_eq!(status["backend"], "dry-run, ipset");
    assert_eq!(status["jails"][0]["backend"], "ipset");
    assert_eq!(status["jails"][1]["backend"], "dry-run");

    // Lifted in sshd: out of ipset only.
    ok(h.ask(unban(Some("sshd"), &["192.0.2.5"], false)));
    assert_eq!(h.kernel_of(IPSET), ["192.0.2.6"]);
    assert_eq!(h.kernel_of(DRY), ["192.0.2.5", "198.51.100.9"]);
    // A ban by hand goes where the jail bans.
    ok(h.ask(ban("sshd", &["203.0.113.9"], None)));
    assert_eq!(h.kernel_of(IPSET), ["192.0.2.6", "203.0.113.9"]);
    // Lifted everywhere: out of every backend.
    ok(h.ask(ban("sshd", &["192.0.2.5"], None)));
    ok(h.ask(unban(None, &["192.0.2.5"], false)));
    assert_eq!(h.kernel_of(IPSET), ["192.0.2.6", "203.0.113.9"]);
    assert_eq!(h.kernel_of(DRY), ["198.51.100.9"]);
    ok(h.ask(unban(None, &[], true)));
    assert!(h.kernel_of(IPSET).is_empty() && h.kernel_of(DRY).is_empty());
}

#[tokio::test]
async fn a_ban_ends_in_its_backend_and_a_longer_one_of_another_jail_keeps_it() {
    let jails = jail("long", "-", 1) + &jail("short", "-", 1) + &two_backends();
    let mut h = harness(&jails);
    ok(h.ask(ban("long", &["192.0.2.7"], Some(3600))));
    ok(h.ask(ban("short", &["192.0.2.7"], Some(600))));
    ok(h.ask(ban("sshd", &["192.0.2.7"], Some(600))));
    // The short ban did not cut the kernel's time to its own.
    assert!(h.timeout_in(DRY, "192.0.2.7").unwrap() > Duration::from_secs(3000));
    assert!(h.timeout_in(IPSET, "192.0.2.7").unwrap() <= Duration::from_secs(600));
    h.clock.advance(Duration::from_secs(601));
    h.daemon.expire();
    assert!(h.kernel_of(IPSET).is_empty(), "sshd's ban ended");
    assert_eq!(h.kernel_of(DRY), ["192.0.2.7"], "long still bans it");
    // Lifted in long by hand: short's ban is over, so it leaves.
    ok(h.ask(unban(Some("long"), &["192.0.2.7"], false)));
    assert!(h.kernel_of(DRY).is_empty());
}

#[tokio::test]
async fn a_restart_restores_each_ban_into_its_jails_backend() {
    let mut h = harness(&two_backends());
    let now = h.clock.now();
    let record = |jail: &str, target: &str| BanRecord {
        jail: jail.into(),
        target: target.into(),
        start: now,
        end: Some(now + jiff::SignedDuration::from_secs(300)),
        failures: 1,
        ban_count: 1,
        matches: vec![],
        reason: None,
    };
    let records = [
        record("sshd", "192.0.2.1"),
        record("web", "192.0.2.2"),
        // Jails gone: back where the firewall holds it, else the default.
        record("gone", "192.0.2.3"),
        record("gone", "192.0.2.4"),
    ];
    h.daemon.recorder.store().record_bans(&records).unwrap();
    let held =
        |a: &str| bantam_firewall::BanEntry::timed(a.parse().unwrap(), Duration::from_secs(60));
    h.backend(IPSET)
        .ban(&[held("192.0.2.3"), held("203.0.113.50")])
        .unwrap();
    h.daemon.reconcile().unwrap();
    assert_eq!(
        h.kernel_of(IPSET),
        ["192.0.2.1", "192.0.2.3"],
        "the stray is gone"
    );
    assert_eq!(h.kernel_of(DRY), ["192.0.2.2", "192.0.2.4"]);
    assert!(h.timeout_in(IPSET, "192.0.2.1").unwrap() <= Duration::from_secs(300));
    // A lost store: what every backend holds is adopted, and kept.
    let mut h = harness(&two_backends());
    h.backend(IPSET).ban(&[held("203.0.113.50")]).unwrap();
    h.backend(DRY).ban(&[held("203.0.113.51")]).unwrap();
    h.daemon.options.adopt_kernel_bans = true;
    h.daemon.reconcile().unwrap();
    assert_eq!(h.kernel_of(IPSET), ["203.0.113.50"]);
    assert_eq!(h.kernel_of(DRY), ["203.0.113.51"]);
    assert_eq!(h.stored(), 2);
}

#[tokio::test]
async fn a_reload_moves_a_jails_bans_and_opens_a_backend_named_for_the_first_time() {
    let mut h = harness(&two_backends());
    ok(h.ask(ban("sshd", &["192.0.2.1"], None)));
    ok(h.ask(ban("web", &["192.0.2.1", "192.0.2.2"], None)));
    // sshd to the daemon's backend, web to hosts.deny (not open yet).
    let moved = jail("sshd", LOG_A, 1) + &jail("web", LOG_B, 1) + "banaction = \"hosts-deny\"\n";
    let path = h.dir.path().join("bantam.toml");
    std::fs::write(&path, config(h.dir.path(), &moved)).unwrap();
    ok(h.ask(Request::Reload {}));
    assert!(h.kernel_of(IPSET).is_empty());
    assert_eq!(h.kernel_of(DRY), ["192.0.2.1"], "sshd's, now here");
    assert_eq!(
        h.kernel_of(BackendKind::HostsDeny),
        ["192.0.2.1", "192.0.2.2"]
    );
    let file = std::fs::read_to_string(h.dir.path().join("hosts.deny")).unwrap();
    assert!(file.contains("ALL: 192.0.2.2"), "{file}");
    // Bans in force stay in force, in their jails.
    assert_eq!(h.daemon.bans.count_in("web"), 2);
    // And the moved jails ban in their new backends from now on.
    ok(h.ask(ban("web", &["198.51.100.3"], None)));
    assert_eq!(h.kernel_of(BackendKind::HostsDeny).len(), 3);
    // Lifting by hand reaches the backend opened at the reload.
    ok(h.ask(unban(None, &["192.0.2.2"], false)));
    assert_eq!(
        h.kernel_of(BackendKind::HostsDeny),
        ["192.0.2.1", "198.51.100.3"]
    );
}

#[test]
fn a_dry_run_bans_every_jail_in_the_dry_run_backend() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[daemon]\nbackend = \"nftables\"\n{}",
        jail("sshd", "-", 1) + "banaction = \"ipset\"\n" + &jail("web", "-", 1)
    );
    let path = dir.path().join("bantam.toml");
    let settings = bantam_config::parse(&path, &text).unwrap();
    let dry = RunOptions {
        dry_run: true,
        ..RunOptions::default()
    };
    let prepared = Daemon::prepare(settings.clone(), dry).unwrap();
    assert_eq!(
        prepared.backend_kinds().into_iter().collect::<Vec<_>>(),
        [DRY]
    );
    let prepared = Daemon::prepare(settings, RunOptions::default()).unwrap();
    let kinds: Vec<BackendKind> = prepared.backend_kinds().into_iter().collect();
    assert_eq!(kinds, [BackendKind::Nftables, IPSET]);
}

#[tokio::test]
async fn a_flushed_backend_gets_back_its_own_bans_only() {
    let mut h = harness(&two_backends());
    ok(h.ask(ban("sshd", &["192.0.2.1"], None)));
    ok(h.ask(ban("web", &["192.0.2.2"], None)));
    // A ban whose jail is gone (as after a reload that removed it).
    h.daemon.bans.insert(crate::bans::ActiveBan {
        target: "192.0.2.3".parse().unwrap(),
        record: BanRecord {
            jail: "gone".into(),
            target: "192.0.2.3".into(),
            start: h.clock.now(),
            end: None,
            failures: 1,
            ban_count: 1,
            matches: vec![],
            reason: None,
        },
    });
    for kind in [IPSET, DRY] {
        h.backend(kind).flush().unwrap();
    }
    h.daemon.reban_all(IPSET);
    assert_eq!(h.kernel_of(IPSET), ["192.0.2.1"]);
    assert!(
        h.kernel_of(DRY).is_empty(),
        "not flushed back by ipset's repair"
    );
    h.daemon.reban_all(DRY);
    assert_eq!(
        h.kernel_of(DRY),
        ["192.0.2.2", "192.0.2.3"],
        "the gone jail's: default"
    );
    // Lifting the gone jail's ban reaches every backend.
    h.backend(IPSET)
        .ban(&[bantam_firewall::BanEntry::permanent(
            "192.0.2.3".parse().unwrap(),
        )])
        .unwrap();
    ok(h.ask(unban(Some("sshd"), &["192.0.2.1"], false)));
    let gone = h.daemon.bans.remove("gone", &"192.0.2.3".parse().unwrap());
    h.daemon
        .lift(&gone.into_iter().collect::<Vec<_>>())
        .unwrap();
    assert!(h.kernel_of(IPSET).is_empty());
    assert_eq!(h.kernel_of(DRY), ["192.0.2.2"]);
}
