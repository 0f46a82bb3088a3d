//! Every backend against the real kernel and tools, with real packets: an
//! attacker namespace B (198.51.100.7) talks to a server namespace A
//! (198.51.100.1), which also routes to a container-like namespace C
//! (203.0.113.2) with forwarding on. A ban must make B's TCP connect
//! fail and show in the tool an admin would use (`nft`, `ipset list`,
//! `iptables -S`, `ip route`, hosts.deny); an unban must let B in again;
//! an admin's flush must be repaired within a second.

mod common;

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bantam_firewall::{open_config, Backend, BackendConfig, BanEntry, Hook, Nflog, Repair, Target};
use common::{root_or_skip, t, Netns, HOUR};

const ATTACKER: &str = "198.51.100.7";
const CONNECT_TIMEOUT: Duration = Duration::from_millis(700);

struct Lab {
    a: Netns,
    b: Netns,
    c: Netns,
}

fn lab() -> Lab {
    let (a, b, c) = (Netns::new(), Netns::new(), Netns::new());
    a.ip(&[
        "link", "add", "veth-ab", "type", "veth", "peer", "name", "veth-b", "netns", &b.name,
    ]);
    a.ip(&[
        "link", "add", "veth-ac", "type", "veth", "peer", "name", "veth-c", "netns", &c.name,
    ]);
    for (ns, dev, addr) in [
        (&a, "veth-ab", "198.51.100.1/24"),
        (&b, "veth-b", "198.51.100.7/24"),
        (&a, "veth-ac", "203.0.113.1/24"),
        (&c, "veth-c", "203.0.113.2/24"),
    ] {
        ns.ip(&["addr", "add", addr, "dev", dev]);
        ns.ip(&["link", "set", dev, "up"]);
    }
    b.ip(&["route", "add", "203.0.113.0/24", "via", "198.51.100.1"]);
    c.ip(&["route", "add", "default", "via", "203.0.113.1"]);
    sh(&a, "sysctl -qw net.ipv4.ip_forward=1");
    Lab { a, b, c }
}

/// A shell command in `ns`; its standard output. Panics on failure.
fn sh(ns: &Netns, command: &str) -> String {
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.name, "sh", "-c", command])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn listen(ns: &Netns, addr: &str) -> (TcpListener, SocketAddr) {
    let listener = ns.enter(|| TcpListener::bind(format!("{addr}:0")).unwrap());
    listener.set_nonblocking(true).unwrap();
    let local = listener.local_addr().unwrap();
    (listener, local)
}

fn connects(from: &Netns, to: SocketAddr) -> bool {
    from.enter(|| TcpStream::connect_timeout(&to, CONNECT_TIMEOUT))
        .is_ok()
}

/// Opens `name` with `config` and sets it up, all inside A: the commands
/// iptables and ipset run must run in A, never on the host.
fn set_up(lab: &Lab, name: &str, config: &BackendConfig) -> Box<dyn Backend> {
    let mut backend = lab.a.enter(|| open_config(name, config).expect("open"));
    in_a(lab, &mut backend, |b| b.setup()).expect("setup");
    backend
}

fn in_a<T: Send>(
    lab: &Lab,
    backend: &mut Box<dyn Backend>,
    f: impl FnOnce(&mut Box<dyn Backend>) -> T + Send,
) -> T {
    lab.a.enter(|| f(backend))
}

/// Ban B, check it is dropped and shows in `show`; unban, check it is back.
fn ban_and_unban(name: &str, config: BackendConfig, show: &str) {
    let lab = lab();
    let (_listener, server) = listen(&lab.a, "198.51.100.1");
    let mut backend = set_up(&lab, name, &config);
    assert!(connects(&lab.b, server), "{name}: before the ban");
    in_a(&lab, &mut backend, |b| {
        b.ban(&[
            BanEntry::timed(t(ATTACKER), HOUR),
            BanEntry::permanent(t("2001:db8::/32")),
        ])
    })
    .unwrap();
    assert!(
        !connects(&lab.b, server),
        "{name}: connect succeeded while banned"
    );
    let shown = sh(&lab.a, show);
    assert!(
        shown.contains(ATTACKER),
        "{name}: {show} does not show the ban:\n{shown}"
    );
    let listed = in_a(&lab, &mut backend, |b| b.list()).unwrap();
    assert!(
        listed.iter().any(|e| e.target == t(ATTACKER)),
        "{name}: {listed:?}"
    );
    // Banning again is idempotent.
    in_a(&lab, &mut backend, |b| {
        b.ban(&[BanEntry::timed(t(ATTACKER), HOUR)])
    })
    .unwrap();
    in_a(&lab, &mut backend, |b| {
        b.unban(&[t(ATTACKER), t("192.0.2.99")])
    })
    .unwrap();
    assert!(connects(&lab.b, server), "{name}: after the unban");
    in_a(&lab, &mut backend, |b| b.teardown()).unwrap();
}

#[test]
fn nftables_drops_and_lifts() {
    if root_or_skip("nftables_drops_and_lifts") {
        ban_and_unban(
            "nftables",
            BackendConfig::default(),
            "nft list table inet bantam",
        );
    }
}

#[test]
fn ipset_drops_and_lifts() {
    if root_or_skip("ipset_drops_and_lifts") {
        ban_and_unban(
            "ipset",
            BackendConfig::default(),
            "ipset list bantam-4 && iptables -S INPUT",
        );
    }
}

#[test]
fn iptables_drops_and_lifts() {
    if root_or_skip("iptables_drops_and_lifts") {
        ban_and_unban("iptables", BackendConfig::default(), "iptables -S bantam");
    }
}

#[test]
fn route_drops_and_lifts() {
    if root_or_skip("route_drops_and_lifts") {
        ban_and_unban("route", BackendConfig::default(), "ip route show proto 201");
    }
}

#[test]
fn hosts_deny_lists_and_lifts() {
    if !root_or_skip("hosts_deny_lists_and_lifts") {
        return;
    }
    // TCP wrappers are the service's business: the file is what we check.
    let dir = std::env::temp_dir().join(format!("bantam-hd-netns-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("hosts.deny");
    std::fs::write(&path, "sshd: 192.0.2.50\n").unwrap();
    let config = BackendConfig {
        hosts_deny: path.clone(),
        ..BackendConfig::default()
    };
    let mut backend = open_config("hosts-deny", &config).unwrap();
    backend.setup().unwrap();
    backend.ban(&[BanEntry::timed(t(ATTACKER), HOUR)]).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("ALL: 198.51.100.7") && text.starts_with("sshd: 192.0.2.50\n"),
        "{text}"
    );
    backend.unban(&[t(ATTACKER)]).unwrap();
    assert!(!std::fs::read_to_string(&path).unwrap().contains(ATTACKER));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The container C is reached through A's forward path: only a backend
/// with `forward` hooked protects it.
fn forward(name: &str) {
    let lab = lab();
    let (_listener, container) = listen(&lab.c, "203.0.113.2");
    let input_only = BackendConfig::default();
    let mut backend = set_up(&lab, name, &input_only);
    in_a(&lab, &mut backend, |b| {
        b.ban(&[BanEntry::timed(t(ATTACKER), HOUR)])
    })
    .unwrap();
    assert!(
        connects(&lab.b, container),
        "{name}: input alone does not cover forwarded traffic"
    );
    in_a(&lab, &mut backend, |b| b.teardown()).unwrap();

    let both = BackendConfig {
        hooks: vec![Hook::Input, Hook::Forward],
        ..BackendConfig::default()
    };
    let mut backend = set_up(&lab, name, &both);
    in_a(&lab, &mut backend, |b| {
        b.ban(&[BanEntry::timed(t(ATTACKER), HOUR)])
    })
    .unwrap();
    assert!(
        !connects(&lab.b, container),
        "{name}: container reachable while banned"
    );
    in_a(&lab, &mut backend, |b| b.unban(&[t(ATTACKER)])).unwrap();
    assert!(
        connects(&lab.b, container),
        "{name}: container after the unban"
    );
    in_a(&lab, &mut backend, |b| b.teardown()).unwrap();
}

#[test]
fn forward_hook_protects_a_container() {
    if root_or_skip("forward_hook_protects_a_container") {
        for name in ["nftables", "ipset", "iptables"] {
            forward(name);
        }
    }
}

/// A banned packet shows on NFLOG group 5 and is still dropped.
fn nflog(name: &str) {
    let lab = lab();
    let (_listener, server) = listen(&lab.a, "198.51.100.1");
    let config = BackendConfig {
        nflog: Some(Nflog::new(5, "bantam-sshd", "10/second").unwrap()),
        ..BackendConfig::default()
    };
    let mut backend = set_up(&lab, name, &config);
    in_a(&lab, &mut backend, |b| {
        b.ban(&[BanEntry::timed(t(ATTACKER), HOUR)])
    })
    .unwrap();
    let tcpdump = Command::new("ip")
        .args([
            "netns",
            "exec",
            &lab.a.name,
            "timeout",
            "10",
            "tcpdump",
            "-n",
            "-i",
            "nflog:5",
            "-c",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800)); // tcpdump binds the group
    assert!(
        !connects(&lab.b, server),
        "{name}: connect succeeded while banned with nflog"
    );
    let out = tcpdump.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("198.51.100.7"),
        "{name}: nothing on nflog:5: {text:?}"
    );
    in_a(&lab, &mut backend, |b| b.teardown()).unwrap();
}

#[test]
fn nflog_logs_then_drops() {
    if root_or_skip("nflog_logs_then_drops") {
        for name in ["nftables", "ipset", "iptables"] {
            nflog(name);
        }
    }
}

/// An admin's flush: the watcher wakes, verify says bans were lost, the
/// bans go back — all within a second.
fn repaired(name: &str, flush: &str) {
    let lab = lab();
    let (_listener, server) = listen(&lab.a, "198.51.100.1");
    let mut backend = set_up(&lab, name, &BackendConfig::default());
    let bans = [BanEntry::timed(t(ATTACKER), HOUR)];
    in_a(&lab, &mut backend, |b| b.ban(&bans)).unwrap();
    // Someone else's objects are no concern of verify.
    sh(&lab.a, "nft add table inet other && nft add chain inet other c && nft add rule inet other c accept && nft add set inet other s '{ type ipv4_addr; }'");
    assert_eq!(
        in_a(&lab, &mut backend, |b| b.verify()).unwrap(),
        Repair::Intact,
        "{name}"
    );
    let mut watcher = backend.watcher().expect("a watcher");
    let waiting = std::thread::spawn(move || watcher.wait().map(|()| Instant::now()));
    std::thread::sleep(Duration::from_millis(200));
    let flushed = Instant::now();
    sh(&lab.a, flush);
    let woke = waiting.join().unwrap().unwrap();
    let repair = in_a(&lab, &mut backend, |b| b.verify()).unwrap();
    assert_eq!(repair, Repair::BansLost, "{name} after {flush}");
    in_a(&lab, &mut backend, |b| b.ban(&bans)).unwrap();
    let took = flushed.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "{name}: {flush} repaired after {took:?}"
    );
    assert!(woke >= flushed);
    assert!(
        !connects(&lab.b, server),
        "{name}: not dropped after the repair of {flush}"
    );
    in_a(&lab, &mut backend, |b| b.teardown()).unwrap();
}

/// A large batch of ours (bans, or a flush) is committed with the watcher
/// out of the events group (so the kernel composes no notification per element: see
/// bench/million.sh for what that saves); the watcher joins again after,
/// wakes once for a verify, and still hears an admin's flush.
#[test]
fn a_large_ban_deafens_the_watcher_for_its_batch_only() {
    if !root_or_skip("a_large_ban_deafens_the_watcher_for_its_batch_only") {
        return;
    }
    let lab = lab();
    let mut backend = set_up(&lab, "nftables", &BackendConfig::default());
    let mut watcher = backend.watcher().expect("a watcher");
    let (woke_tx, woke) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        while watcher.wait().is_ok() {
            if woke_tx.send(Instant::now()).is_err() {
                return;
            }
        }
    });
    let many: Vec<BanEntry> = (0..2000u32)
        .map(|i| BanEntry::timed(Target::Addr(Ipv4Addr::from(0xC612_0000 + i).into()), HOUR))
        .collect();
    in_a(&lab, &mut backend, |b| b.ban(&many)).unwrap();
    let after_ban = woke.recv_timeout(Duration::from_secs(2));
    assert!(
        after_ban.is_ok(),
        "the watcher was not woken after its deaf spell"
    );
    assert_eq!(
        in_a(&lab, &mut backend, |b| b.verify()).unwrap(),
        Repair::Intact
    );
    // Lifting them all (`unban --all`) is as deaf: a flush announces every
    // element it removes, and the watcher ignores elements, so only its
    // deaf spell wakes it.
    while woke.try_recv().is_ok() {}
    in_a(&lab, &mut backend, |b| b.flush()).unwrap();
    assert!(
        woke.recv_timeout(Duration::from_secs(2)).is_ok(),
        "the watcher was not woken after the flush's deaf spell"
    );
    assert_eq!(
        in_a(&lab, &mut backend, |b| b.verify()).unwrap(),
        Repair::Intact
    );
    let flushed = Instant::now();
    sh(&lab.a, "nft flush ruleset");
    let woke_at = woke
        .recv_timeout(Duration::from_secs(2))
        .expect("flush unheard");
    assert!(woke_at >= flushed);
    in_a(&lab, &mut backend, |b| b.teardown()).unwrap();
}

#[test]
fn nft_flush_ruleset_is_repaired_within_a_second() {
    if root_or_skip("nft_flush_ruleset_is_repaired_within_a_second") {
        repaired("nftables", "nft flush ruleset");
    }
}

#[test]
fn ipset_flush_is_repaired_within_a_second() {
    if root_or_skip("ipset_flush_is_repaired_within_a_second") {
        repaired("ipset", "ipset flush bantam-4");
    }
}

#[test]
fn iptables_flush_is_repaired_within_a_second() {
    if root_or_skip("iptables_flush_is_repaired_within_a_second") {
        repaired("iptables", "iptables -F");
    }
}

#[test]
fn route_flush_is_repaired_within_a_second() {
    if root_or_skip("route_flush_is_repaired_within_a_second") {
        repaired("route", "ip route flush proto 201");
    }
}
