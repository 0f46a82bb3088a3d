//! Test hosts for end-to-end tests: network namespaces joined by a veth
//! pair, real daemons started inside them, everything torn down on drop
//! (even when the test panics).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Whether the test can run: root is needed for namespaces and nftables.
/// Under CI (`CI` set) a test that cannot run fails; elsewhere it is skipped
/// with a note.
pub fn require_root(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test} needs root, and CI must run it"
    );
    eprintln!("skipping {test}: needs root (network namespaces, nftables)");
    false
}

/// Runs a command, panicking with its output if it fails.
pub fn sh(args: &[&str]) -> Output {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs a command, returning whether it succeeded.
pub fn try_sh(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Two namespaces, `server` and `client`, joined by a veth pair.
pub struct Net {
    pub server: String,
    pub client: String,
}

impl Net {
    /// `server_addrs` and `client_addrs` are CIDRs (e.g. 198.51.100.1/24).
    pub fn new(tag: &str, server_addrs: &[&str], client_addrs: &[&str]) -> Net {
        let id = std::process::id();
        let net = Net {
            server: format!("bt-{tag}-s{id}"),
            client: format!("bt-{tag}-c{id}"),
        };
        sh(&["ip", "netns", "add", &net.server]);
        sh(&["ip", "netns", "add", &net.client]);
        // Several tests of one binary run in one process: number the pairs
        // (interface names stay under the kernel's 15 bytes).
        static PAIRS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = PAIRS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (vs, vc) = (format!("bts{id}-{n}"), format!("btc{id}-{n}"));
        sh(&[
            "ip", "link", "add", &vs, "type", "veth", "peer", "name", &vc,
        ]);
        sh(&["ip", "link", "set", &vs, "netns", &net.server]);
        sh(&["ip", "link", "set", &vc, "netns", &net.client]);
        for (ns, dev, addrs) in [
            (&net.server, &vs, server_addrs),
            (&net.client, &vc, client_addrs),
        ] {
            for addr in addrs {
                sh(&["ip", "-n", ns, "addr", "add", addr, "dev", dev]);
            }
            sh(&["ip", "-n", ns, "link", "set", dev, "up"]);
            sh(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        net
    }

    /// Routes `prefix` out of namespace `ns`'s veth, on-link: for hosts
    /// whose addresses are in different prefixes (a server outside its
    /// attackers' /24 or /64) that still talk over the one link.
    pub fn route(&self, ns: &str, prefix: &str) {
        let out = Command::new("ip")
            .args(["-n", ns, "-o", "link", "show", "type", "veth"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        // "7: bts123-0@if6: <…>": the name before the '@'.
        let dev = text
            .split_whitespace()
            .nth(1)
            .and_then(|d| d.split('@').next())
            .expect("the namespace's veth");
        sh(&["ip", "-n", ns, "route", "add", prefix, "dev", dev]);
    }

    /// `ip netns exec NS args…` as a command to finish building.
    pub fn exec(&self, ns: &str, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns]).args(args);
        c
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for ns in [&self.server, &self.client] {
            // Processes left in it would keep it alive; kill them first.
            if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-9", pid]).status();
                }
            }
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// A child process killed on drop.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `check` until it holds or `limit` passes. These waits are for real
/// processes (sshd, the kernel) to act, not timing assertions.
pub fn wait_for(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A local user with a password, deleted on drop.
pub struct User {
    pub name: String,
}

impl User {
    pub fn new(name: &str, password: &str) -> User {
        let _ = Command::new("userdel").arg(name).status();
        sh(&["useradd", "-M", "-s", "/bin/sh", "-d", "/tmp", name]);
        let mut chpasswd = Command::new("chpasswd")
            .stdin(Stdio::piped())
            .spawn()
            .expect("chpasswd");
        use std::io::Write;
        chpasswd
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{name}:{password}\n").as_bytes())
            .unwrap();
        assert!(chpasswd.wait().unwrap().success());
        User {
            name: name.to_owned(),
        }
    }
}

impl Drop for User {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.name).status();
    }
}

/// A real OpenSSH server in `ns`, listening on `addr`, writing its log to
/// `log` (`sshd -E`: the bare messages sshd writes).
pub fn start_sshd(net: &Net, ns: &str, addr: &str, dir: &Path, log: &Path) -> Proc {
    let config = sshd_config(addr, dir);
    let child = net
        .exec(
            ns,
            &[
                "/usr/sbin/sshd",
                "-D",
                "-f",
                config.to_str().unwrap(),
                "-E",
                log.to_str().unwrap(),
            ],
        )
        .spawn()
        .expect("sshd");
    wait_for_sshd(ns, addr, Proc(child))
}

/// Like [`start_sshd`], but the log reads as syslog writes it
/// (`Nov 25 10:00:00 server sshd[123]: message`), the form fail2ban's
/// filters expect: sshd logs to stderr and a relay adds the syslog header to
/// every line, as rsyslog would.
pub fn start_sshd_syslog(net: &Net, ns: &str, addr: &str, dir: &Path, log: &Path) -> Proc {
    use std::io::{BufRead, Write};
    let config = sshd_config(addr, dir);
    let mut child = net
        .exec(
            ns,
            &["/usr/sbin/sshd", "-D", "-e", "-f", config.to_str().unwrap()],
        )
        .stderr(Stdio::piped())
        .spawn()
        .expect("sshd");
    let pid = child.id();
    let stderr = child.stderr.take().unwrap();
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let stamp = jiff::Zoned::now().strftime("%b %e %H:%M:%S").to_string();
            let line = line.trim_end_matches('\r');
            if writeln!(out, "{stamp} server sshd[{pid}]: {line}").is_err() {
                break;
            }
        }
    });
    wait_for_sshd(ns, addr, Proc(child))
}

fn sshd_config(addr: &str, dir: &Path) -> std::path::PathBuf {
    std::fs::create_dir_all("/run/sshd").unwrap();
    sh(&["ssh-keygen", "-A"]);
    let config = dir.join("sshd_config");
    std::fs::write(
        &config,
        format!(
            "ListenAddress {addr}\nPort 22\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\n\
             UsePAM no\nPermitRootLogin no\nMaxAuthTries 6\nUseDNS no\nPidFile {}\n\
             HostKey /etc/ssh/ssh_host_ed25519_key\nLogLevel INFO\n",
            dir.join("sshd.pid").display()
        ),
    )
    .unwrap();
    config
}

fn wait_for_sshd(ns: &str, addr: &str, proc: Proc) -> Proc {
    wait_for("sshd to listen", Duration::from_secs(10), || {
        try_sh(&[
            "ip",
            "netns",
            "exec",
            ns,
            "sh",
            "-c",
            &format!("ss -ltn | grep -q '{addr}:22'"),
        ])
    });
    proc
}

/// One ssh login attempt from `from` (an address in the client namespace).
pub fn ssh_attempt(net: &Net, from: &str, to: &str, user: &str, password: &str) -> bool {
    net.exec(
        &net.client,
        &[
            "timeout",
            "15",
            "sshpass",
            "-p",
            password,
            "ssh",
            "-b",
            from,
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "PreferredAuthentications=password",
            "-o",
            "PubkeyAuthentication=no",
            "-o",
            "NumberOfPasswordPrompts=1",
            "-o",
            "ConnectTimeout=3",
            "-o",
            "LogLevel=ERROR",
            &format!("{user}@{to}"),
            "true",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .status()
    .is_ok_and(|s| s.success())
}

/// Whether a TCP connection from `from` to `to:port` is accepted within 2 s.
pub fn tcp_connects(net: &Net, from: &str, to: &str, port: u16) -> bool {
    let script = format!(
        "import socket,sys\ns=socket.socket()\ns.settimeout(2)\ns.bind(('{from}',0))\n\
         try:\n  s.connect(('{to}',{port}))\nexcept Exception:\n  sys.exit(1)\n"
    );
    net.exec(&net.client, &["python3", "-c", &script])
        .status()
        .is_ok_and(|s| s.success())
}

/// The elements of our nftables set `set` in `ns`, as text.
pub fn nft_set(net: &Net, ns: &str, set: &str) -> String {
    let out = net
        .exec(ns, &["nft", "list", "set", "inet", "bantam", set])
        .output()
        .expect("nft");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn bantam() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_bantam"))
}

/// `bantam run --dry-run` on `config`, answering on `socket`; stderr piped.
pub fn dry_run(config: &Path, socket: &Path, stdin: Stdio) -> Proc {
    Proc(
        Command::new(bantam())
            .args(["run", "--dry-run", "--config"])
            .arg(config)
            .arg("--socket")
            .arg(socket)
            .stdin(stdin)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

/// A control command (`status`, `ban sshd ADDR`, …) to the daemon at `socket`.
pub fn control(socket: &Path, args: &[&str]) -> Output {
    Command::new(bantam())
        .args(args)
        .arg("--socket")
        .arg(socket)
        .output()
        .unwrap()
}

/// Waits until the daemon at `socket` answers `status`.
pub fn wait_control(socket: &Path) {
    wait_for("the control socket", Duration::from_secs(10), || {
        control(socket, &["status"]).status.success()
    });
}
