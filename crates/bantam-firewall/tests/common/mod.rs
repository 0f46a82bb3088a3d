//! Shared by the integration tests: network namespaces that the tests create
//! and always remove, running code inside them, and reading the kernel's
//! view back with `nft -j` (an independent reader: not our own parser).
//!
//! The tests need root. Without it they print a note and pass, except when
//! `CI` is set: there a skipped firewall test would hide a broken firewall,
//! so it fails.

#![allow(dead_code)] // each test file uses a different part

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use bantam_firewall::{Backend, ElementUpdates, Nftables, Target};
use serde_json::Value;

/// Whether the test can run; see the module documentation.
pub fn root_or_skip(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test} needs root (network namespaces, nftables); CI is set, so this fails instead of skipping");
    }
    eprintln!("skipping {test}: needs root (network namespaces, nftables)");
    false
}

/// Both update strategies, so one modern kernel tests the path old kernels take.
pub const MODES: [ElementUpdates; 2] = [ElementUpdates::InKernel, ElementUpdates::ReadFirst];

pub const HOUR: Duration = Duration::from_secs(3600);

pub fn t(text: &str) -> Target {
    text.parse().unwrap()
}

/// A namespace with the backend set up in it.
pub fn set_up(table: &str, updates: ElementUpdates) -> (Netns, Nftables) {
    let netns = Netns::new();
    let mut backend = netns.backend(table, updates);
    backend.setup().expect("setup");
    (netns, backend)
}

/// What the backend lists, targets only, in its order.
pub fn listed_targets(backend: &mut Nftables) -> Vec<Target> {
    backend
        .list()
        .unwrap()
        .into_iter()
        .map(|e| e.target)
        .collect()
}

/// `count` addresses from 198.18.0.0/15, the benchmarking range.
pub fn benchmark_addresses(count: u32) -> Vec<Target> {
    assert!(count <= 1 << 17);
    (0..count)
        .map(|i| Target::Addr(IpAddr::V4(Ipv4Addr::from(0xC612_0000 + i))))
        .collect()
}

/// Namespaces A (server, 198.51.100.1, 2001:db8:100::1) and B (client,
/// 198.51.100.7, 2001:db8:100::7) on one link.
pub fn two_hosts() -> (Netns, Netns) {
    let a = Netns::new();
    let b = Netns::new();
    a.ip(&[
        "link", "add", "veth-a", "type", "veth", "peer", "name", "veth-b", "netns", &b.name,
    ]);
    for (ns, dev, v4, v6) in [
        (&a, "veth-a", "198.51.100.1/24", "2001:db8:100::1/64"),
        (&b, "veth-b", "198.51.100.7/24", "2001:db8:100::7/64"),
    ] {
        ns.ip(&["addr", "add", v4, "dev", dev]);
        // No duplicate address detection: the address is usable at once.
        ns.ip(&["addr", "add", v6, "dev", dev, "nodad"]);
        ns.ip(&["link", "set", dev, "up"]);
    }
    (a, b)
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A network namespace of our own, deleted on drop (panics included).
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new() -> Netns {
        let name = format!(
            "bt-fw-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        check(
            Command::new("ip").args(["netns", "add", &name]).output(),
            "ip netns add",
        );
        let netns = Netns { name };
        netns.ip(&["link", "set", "lo", "up"]);
        netns
    }

    /// Runs `f` on a thread that entered the namespace. Sockets created
    /// there stay in the namespace for their whole life, wherever used.
    pub fn enter<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{}", self.name);
        thread::scope(|scope| {
            let handle = scope.spawn(|| {
                let file = File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
                // SAFETY: the descriptor is open for the duration of the call;
                // setns changes only this thread's network namespace.
                let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
                f()
            });
            handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// A backend whose socket lives in this namespace.
    pub fn backend(&self, table: &str, updates: ElementUpdates) -> Nftables {
        self.enter(|| Nftables::open_with(table, updates).expect("open netlink socket"))
    }

    /// A backend whose socket was opened by a thread without privileges
    /// (uid 65534, so no capabilities), as a daemon started by a normal
    /// user would have. Only that thread drops them: the raw system call
    /// changes one thread, unlike libc's `setresuid`, which changes all.
    pub fn unprivileged_backend(&self, table: &str) -> Nftables {
        self.enter(|| {
            // SAFETY: a raw setresuid with constant arguments; it affects only
            // this thread's credentials, and the thread ends with `enter`.
            let rc = unsafe { libc::syscall(libc::SYS_setresuid, 65534, 65534, 65534) };
            assert_eq!(rc, 0, "setresuid: {}", std::io::Error::last_os_error());
            Nftables::open_with(table, ElementUpdates::InKernel).expect("open netlink socket")
        })
    }

    pub fn ip(&self, args: &[&str]) -> String {
        let mut full = vec!["-n", &self.name];
        full.extend_from_slice(args);
        check(
            Command::new("ip").args(&full).output(),
            &format!("ip {}", full.join(" ")),
        )
    }

    /// `nft ARGS` inside the namespace; panics on failure.
    pub fn nft(&self, args: &[&str]) -> String {
        check(self.try_nft(args), &format!("nft {}", args.join(" ")))
    }

    pub fn try_nft(&self, args: &[&str]) -> std::io::Result<Output> {
        Command::new("ip")
            .args(["netns", "exec", &self.name, "nft"])
            .args(args)
            .output()
    }

    /// The elements of a set as `nft -j` reports them.
    pub fn elements(&self, table: &str, set: &str) -> Vec<NftElement> {
        let json: Value =
            serde_json::from_str(&self.nft(&["-j", "list", "set", "inet", table, set]))
                .expect("nft -j output is JSON");
        let set = json["nftables"]
            .as_array()
            .and_then(|items| items.iter().find_map(|item| item.get("set")))
            .expect("a set object");
        set.get("elem")
            .and_then(Value::as_array)
            .map(|elems| elems.iter().map(NftElement::from_json).collect())
            .unwrap_or_default()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// One element as `nft -j` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NftElement {
    /// "192.0.2.1" or "203.0.113.0/24".
    pub value: String,
    /// Seconds, as nft prints them.
    pub timeout: Option<u64>,
    pub expires: Option<u64>,
}

impl NftElement {
    fn from_json(elem: &Value) -> NftElement {
        // Either the bare value, or {"elem": {"val": …, "timeout": …, "expires": …}}.
        let (val, timeout, expires) = match elem.get("elem") {
            Some(inner) => (
                &inner["val"],
                inner["timeout"].as_u64(),
                inner["expires"].as_u64(),
            ),
            None => (elem, None, None),
        };
        let value = match val {
            Value::String(text) => text.clone(),
            other => match other.get("prefix") {
                Some(prefix) => format!("{}/{}", prefix["addr"].as_str().unwrap(), prefix["len"]),
                None => panic!("unexpected element {other}"),
            },
        };
        NftElement {
            value,
            timeout,
            expires,
        }
    }
}

fn check(output: std::io::Result<Output>, what: &str) -> String {
    let output = output.unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what}: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}
