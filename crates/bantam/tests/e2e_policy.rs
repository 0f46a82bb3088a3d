//! Trust, subnets and ignorecommand for real (root, a network namespace,
//! bantam's nftables sets in it): what the kernel holds after each step,
//! and whether the attacker's packets still get through.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use support::*;

struct Host {
    net: Net,
    dir: tempfile::TempDir,
    socket: PathBuf,
    log: PathBuf,
    _daemon: Proc,
}

/// A daemon in a fresh namespace pair whose sshd jail has `extra` keys.
fn host(tag: &str, client_addrs: &[&str], extra: &str) -> Host {
    host_banning(tag, client_addrs, "1h", extra)
}

/// [`host`] with the jail's `bantime`.
fn host_banning(tag: &str, client_addrs: &[&str], bantime: &str, extra: &str) -> Host {
    let net = Net::new(tag, &["198.51.100.1/24", "2001:db8:1::1/64"], client_addrs);
    daemon_in(net, bantime, extra)
}

/// A server whose own addresses (192.0.2.1, 2001:db8:2::1) are outside
/// its attackers' prefixes (198.51.100.0/24, 2001:db8:1::/64), routed on
/// the link: `ignoreself` never bans a prefix holding the host itself, so
/// a prefix ban is only seen against strangers' prefixes, as in real life.
fn host_apart(tag: &str, client_addrs: &[&str], extra: &str) -> Host {
    let net = Net::new(tag, &["192.0.2.1/24", "2001:db8:2::1/64"], client_addrs);
    for (ns, prefix) in [
        (&net.server, "198.51.100.0/24"),
        (&net.server, "2001:db8:1::/64"),
        (&net.client, "192.0.2.0/24"),
        (&net.client, "2001:db8:2::/64"),
    ] {
        net.route(ns, prefix);
    }
    daemon_in(net, "1h", extra)
}

/// A daemon in the server namespace of `net`.
fn daemon_in(net: Net, bantime: &str, extra: &str) -> Host {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("bantam.sock");
    let config = dir.path().join("bantam.toml");
    let log = dir.path().join("auth.log");
    std::fs::write(&log, "").unwrap();
    std::fs::write(
        &config,
        format!(
            "[daemon]\nstate-dir = \"{}\"\nsocket = \"{}\"\n\n[jails.sshd]\nfilter = \"sshd\"\n\
             logpath = [\"{}\"]\nbantime = \"{bantime}\"\n{extra}",
            dir.path().join("state").display(),
            socket.display(),
            log.display()
        ),
    )
    .unwrap();
    let child = net
        .exec(
            &net.server,
            &[
                bantam().to_str().unwrap(),
                "run",
                "--config",
                config.to_str().unwrap(),
            ],
        )
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("daemon.err")).unwrap())
        .spawn()
        .unwrap();
    let daemon = Proc(child);
    wait_control(&socket);
    Host {
        net,
        dir,
        socket,
        log,
        _daemon: daemon,
    }
}

impl Host {
    fn write(&self, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.log)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    /// Every element of our sets, as `nft` prints them; the networks of
    /// the hash sets `net24` and `net64` (their first addresses) with their
    /// prefix length added, so that a /24 reads as one wherever it is.
    fn kernel(&self) -> String {
        let mut text: String = ["addr4", "addr6", "net4", "net6"]
            .iter()
            .map(|set| nft_set(&self.net, &self.net.server, set))
            .collect();
        for (set, len) in [("net24", 24), ("net64", 64)] {
            for first in self.hash_set_keys(set) {
                text.push_str(&format!("{first}/{len}\n"));
            }
        }
        text
    }

    fn hash_set_keys(&self, set: &str) -> Vec<String> {
        let out = self
            .net
            .exec(
                &self.net.server,
                &["nft", "-j", "list", "set", "inet", "bantam", set],
            )
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let items = json["nftables"].as_array().cloned().unwrap_or_default();
        let elems = items.iter().filter_map(|i| i["set"]["elem"].as_array());
        elems
            .flatten()
            .filter_map(|e| e.as_str().or(e["elem"]["val"].as_str()))
            .map(str::to_owned)
            .collect()
    }

    fn banned(&self, element: &str) -> bool {
        self.kernel().contains(element)
    }

    /// How many bans the daemon holds (its own view, `banned --json`).
    fn bans(&self) -> usize {
        let out = control(&self.socket, &["banned", "--json"]);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        json.as_array().map_or(0, Vec::len)
    }

    fn daemon_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("daemon.err")).unwrap_or_default()
    }
}

fn stamp() -> String {
    jiff::Zoned::now().strftime("%b %e %H:%M:%S").to_string()
}

fn failed(addr: &str) -> String {
    format!(
        "{} host sshd[7]: Failed password for alice from {addr} port 4242 ssh2\n",
        stamp()
    )
}

fn accepted(addr: &str) -> String {
    format!(
        "{} host sshd[7]: Accepted password for alice from {addr} port 4242 ssh2\n",
        stamp()
    )
}

/// Long enough for the daemon to have acted on a write (the tests wait
/// for a positive outcome with `wait_for`; this bounds the negative one).
fn settle() {
    std::thread::sleep(Duration::from_millis(700));
}

/// A TCP listener on `addr` port 22 in the server namespace.
fn listening(h: &Host, addr: &str) -> Proc {
    let script = format!(
        "import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
         s.bind(('{addr}',22))\ns.listen(64)\nwhile True:\n  s.accept()[0].close()\n"
    );
    let proc = Proc(
        h.net
            .exec(&h.net.server, &["python3", "-c", &script])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(300));
    proc
}

#[test]
fn a_user_who_logged_in_survives_typos_below_tolerance_and_is_banned_above_it() {
    if !require_root("e2e trust") {
        return;
    }
    let trust = "maxretry = 2\n[jails.sshd.trust]\nttl = \"4s\"\ntolerance = 3\n";
    let h = host("trust", &["198.51.100.2/24", "198.51.100.3/24"], trust);
    let _nc = listening(&h, "198.51.100.1");
    let (user, stranger) = ("198.51.100.2", "198.51.100.3");
    h.write(&accepted(user));
    // Five typos: below maxretry 2 x tolerance 3. The stranger's two
    // failures are enough.
    h.write(&(failed(user).repeat(5) + &failed(stranger).repeat(2)));
    wait_for("the stranger's ban", Duration::from_secs(10), || {
        h.banned(stranger)
    });
    settle();
    assert!(!h.banned(user), "{}", h.kernel());
    assert!(tcp_connects(&h.net, user, "198.51.100.1", 22));
    assert!(!tcp_connects(&h.net, stranger, "198.51.100.1", 22));
    // The sixth failure crosses the tolerance.
    h.write(&failed(user));
    wait_for(
        "the user's ban above tolerance",
        Duration::from_secs(10),
        || h.banned(user),
    );
    assert!(!tcp_connects(&h.net, user, "198.51.100.1", 22));
}

#[test]
fn trust_ends_after_its_ttl() {
    if !require_root("e2e trust ttl") {
        return;
    }
    let trust = "maxretry = 2\n[jails.sshd.trust]\nttl = \"2s\"\ntolerance = 3\n";
    let h = host("ttl", &["198.51.100.2/24"], trust);
    let user = "198.51.100.2";
    h.write(&accepted(user));
    std::thread::sleep(Duration::from_secs(3));
    h.write(&failed(user).repeat(2));
    wait_for(
        "the ban once trust has ended",
        Duration::from_secs(10),
        || h.banned(user),
    );
}

#[test]
fn five_banned_addresses_in_one_24_become_one_element() {
    if !require_root("e2e subnet v4") {
        return;
    }
    let subnet = "maxretry = 1\n[jails.sshd.subnet]\naddresses = 5\nwithin = \"1h\"\n";
    let clients: Vec<String> = (11..=15).map(|i| format!("198.51.100.{i}/24")).collect();
    let clients: Vec<&str> = clients.iter().map(String::as_str).collect();
    let h = host_apart("subnet", &clients, subnet);
    let _nc = listening(&h, "192.0.2.1");
    for i in 11..=14 {
        h.write(&failed(&format!("198.51.100.{i}")));
    }
    wait_for("four single bans", Duration::from_secs(10), || {
        (11..=14).all(|i| h.banned(&format!("198.51.100.{i}")))
    });
    h.write(&failed("198.51.100.15"));
    wait_for("the /24", Duration::from_secs(10), || {
        h.banned("198.51.100.0/24")
    });
    wait_for("the single ones folded in", Duration::from_secs(10), || {
        !h.banned("198.51.100.11")
    });
    let kernel = h.kernel();
    assert!(
        (11..=15).all(|i| !kernel.contains(&format!("198.51.100.{i},"))
            && !kernel.contains(&format!("198.51.100.{i} "))),
        "{kernel}"
    );
    assert_eq!(h.bans(), 1, "{}", h.daemon_log());
    // Even an address of the prefix that never failed is stopped.
    assert!(!tcp_connects(&h.net, "198.51.100.15", "192.0.2.1", 22));
}

#[test]
fn an_attacker_rotating_through_one_ipv6_64_is_stopped_by_one_entry() {
    if !require_root("e2e subnet v6") {
        return;
    }
    let h = host_apart("rot6", &["2001:db8:1::2/64"], "maxretry = 3\n");
    // Three failures from three addresses of one /64: one attacker.
    for i in 0xa1..=0xa3 {
        h.write(&failed(&format!("2001:db8:1::{i:x}")));
    }
    wait_for("the /64", Duration::from_secs(10), || {
        h.banned("2001:db8:1::/64")
    });
    assert_eq!(h.bans(), 1, "{}", h.kernel());
}

#[test]
fn ignorecommand_spares_the_addresses_it_names() {
    if !require_root("e2e ignorecommand") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let office = dir.path().join("office.sh");
    write_script(&office, "#!/bin/sh\ntest \"$1\" = 198.51.100.21\n");
    let extra = format!(
        "maxretry = 1\nignorecommand = [\"{}\", \"<ip>\"]\n",
        office.display()
    );
    let h = host("igncmd", &["198.51.100.21/24", "198.51.100.22/24"], &extra);
    h.write(&(failed("198.51.100.21") + &failed("198.51.100.22")));
    wait_for("the other address's ban", Duration::from_secs(10), || {
        h.banned("198.51.100.22")
    });
    settle();
    assert!(!h.banned("198.51.100.21"), "{}", h.kernel());
}

fn write_script(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// `nc -z` from `from` to port 22 of the server, over and over: one SYN
/// a second (each try waits out its one-second timeout: the SYN is dropped).
fn knocking(h: &Host, from: &str) -> Proc {
    let script = format!("while :; do nc -z -w1 -s {from} 198.51.100.1 22; done");
    Proc(
        h.net
            .exec(&h.net.client, &["sh", "-c", &script])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

/// `banned --json`'s row for `target`.
fn ban_row(h: &Host, target: &str) -> Option<serde_json::Value> {
    let out = control(&h.socket, &["banned", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json.as_array()?
        .iter()
        .find(|b| b["target"] == target)
        .cloned()
}

#[test]
fn a_knocking_attacker_stays_banned_past_its_end_and_a_silent_one_is_released_on_time() {
    if !require_root("e2e extend-while-knocking") {
        return;
    }
    let (knocker, silent) = ("198.51.100.31", "198.51.100.32");
    let extra = "maxretry = 1\nextend-while-knocking = true\n";
    let clients = ["198.51.100.31/24", "198.51.100.32/24"];
    let h = host_banning("knock", &clients, "4s", extra);
    let _ssh = listening(&h, "198.51.100.1");
    h.write(&(failed(knocker) + &failed(silent)));
    wait_for("both bans", Duration::from_secs(10), || {
        h.banned(knocker) && h.banned(silent)
    });
    let banned_at = std::time::Instant::now();
    let nc = knocking(&h, knocker);

    // The silent one: lifted by the daemon at its end, not by the kernel
    // 30 s of grace later.
    wait_for("the silent ban's end", Duration::from_secs(15), || {
        !h.banned(silent)
    });
    let lasted = banned_at.elapsed();
    assert!(
        lasted > Duration::from_secs(2) && lasted < Duration::from_secs(8),
        "silent ban lasted {lasted:?}\n{}",
        h.daemon_log()
    );
    assert!(tcp_connects(&h.net, silent, "198.51.100.1", 22));

    // The knocker: still banned two ban times on, and said to be knocking.
    std::thread::sleep(Duration::from_secs(9).saturating_sub(banned_at.elapsed()));
    assert!(h.banned(knocker), "{}\n{}", h.kernel(), h.daemon_log());
    let row = ban_row(&h, knocker).expect("the knocker in banned");
    assert_eq!(row["knocking"], true, "{row}");
    assert!(row["ban_count"].as_u64().unwrap() >= 2, "extended: {row}");
    let status =
        String::from_utf8_lossy(&control(&h.socket, &["status", "sshd"]).stdout).into_owned();
    assert!(status.contains("knocking"), "{status}");
    assert!(
        h.daemon_log().contains("still knocking"),
        "{}",
        h.daemon_log()
    );

    // Silent at last: released a ban time after its last packet.
    drop(nc);
    let quiet = std::time::Instant::now();
    wait_for("the knocker's release", Duration::from_secs(15), || {
        !h.banned(knocker)
    });
    assert!(
        quiet.elapsed() < Duration::from_secs(8),
        "{:?}",
        quiet.elapsed()
    );
    assert!(tcp_connects(&h.net, knocker, "198.51.100.1", 22));
}
