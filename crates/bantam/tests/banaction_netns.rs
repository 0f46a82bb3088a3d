//! Jails on two backends, end to end: bantam runs in a network namespace
//! with jail `sshd` on `banaction = "ipset"` and jail `web` on the default
//! backend, nftables. Bans from log lines and by hand land in their jail's
//! backend (as `ipset list` and `nft list set` show, and as packets
//! find), an address both jails ban is in both, an unban in one jail
//! leaves the other backend alone, and a restart after both backends were
//! emptied (a reboot's kernel) restores each ban into its own backend.
//! Needs root, nftables, ipset and iptables; fails rather than skips under
//! CI. Addresses come from the documentation ranges and live only in the
//! namespaces made here.

mod support;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::Duration;

use support::*;

const SERVER: &str = "198.51.100.1";
const CLIENT: &str = "198.51.100.2";
const PORT: u16 = 2222;
const WAIT: Duration = Duration::from_secs(20);

struct Scene {
    dir: tempfile::TempDir,
    net: Net,
    socket: PathBuf,
    config: PathBuf,
}

impl Scene {
    fn new() -> Option<Scene> {
        if !require_root("jails on two backends") {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let net = Net::new("ba", &[&format!("{SERVER}/24")], &[&format!("{CLIENT}/24")]);
        let socket = dir.path().join("bantam.sock");
        let config = dir.path().join("bantam.toml");
        let jail = |name: &str, log: &str| {
            format!(
                "[jails.{name}]\nfilter = \"sshd\"\nlogpath = [\"{}\"]\nmaxretry = 1\nbantime = \"1h\"\n",
                dir.path().join(log).display()
            )
        };
        let text = format!(
            "[daemon]\nstate-dir = \"{}\"\nsocket = \"{}\"\n\n{}banaction = \"ipset\"\n\n{}",
            dir.path().join("state").display(),
            socket.display(),
            jail("sshd", "auth.log"),
            jail("web", "web.log"),
        );
        std::fs::write(&config, text).unwrap();
        for log in ["auth.log", "web.log"] {
            std::fs::write(dir.path().join(log), "").unwrap();
        }
        Some(Scene {
            dir,
            net,
            socket,
            config,
        })
    }

    fn start(&self, stderr: &str) -> Proc {
        let bin = bantam();
        let args = [
            bin.to_str().unwrap(),
            "run",
            "--config",
            self.config.to_str().unwrap(),
        ];
        let child = self
            .net
            .exec(&self.net.server, &args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.dir.path().join(stderr)).unwrap())
            .spawn()
            .expect("bantam run");
        let proc = Proc(child);
        wait_for("the control socket", WAIT, || {
            self.cli(&["status"]).status.success()
        });
        proc
    }

    fn stop(&self, mut daemon: Proc) {
        assert!(self.cli(&["stop"]).status.success());
        wait_for("the daemon to exit", WAIT, || {
            daemon.0.try_wait().unwrap().is_some()
        });
    }

    fn cli(&self, args: &[&str]) -> Output {
        control(&self.socket, args)
    }

    /// A control command that must succeed.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "bantam {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn append(&self, log: &str, text: &str) {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(self.dir.path().join(log))
            .unwrap();
        file.write_all(text.as_bytes()).unwrap();
    }

    /// The sets as an admin lists them: ipset's IPv4 set, nftables' set.
    fn ipset(&self) -> String {
        self.server(&["ipset", "list", "bantam-4"])
    }

    fn nft(&self) -> String {
        nft_set(&self.net, &self.net.server, "addr4")
    }

    fn server(&self, args: &[&str]) -> String {
        let out = self.net.exec(&self.net.server, args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until `addr` is in exactly the backends named.
    fn wait_in(&self, addr: &str, ipset: bool, nft: bool) {
        let what = format!("{addr}: in ipset {ipset}, in nftables {nft}");
        let holds = |listing: String| listing.lines().any(|l| has(l, addr));
        wait_for(&what, WAIT, || {
            holds(self.ipset()) == ipset && holds(self.nft()) == nft
        });
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }
}

/// Whether a listing line names `addr` itself (not 192.0.2.10 for
/// 192.0.2.1).
fn has(line: &str, addr: &str) -> bool {
    line.split(|c: char| !(c.is_ascii_hexdigit() || c == '.' || c == ':' || c == '/'))
        .any(|word| word == addr)
}

/// sshd's failure line as syslog writes it, stamped now.
fn failure(addr: &str) -> String {
    let stamp = jiff::Zoned::now().strftime("%b %e %H:%M:%S").to_string();
    format!("{stamp} server sshd[7]: Failed password for root from {addr} port 4242 ssh2\n")
}

/// A TCP server in the server namespace that accepts and closes.
fn listener(net: &Net) -> Proc {
    let script = format!(
        "import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
         s.bind(('{SERVER}',{PORT}))\ns.listen(64)\nwhile True:\n  c,_=s.accept()\n  c.close()\n"
    );
    let child = net
        .exec(&net.server, &["python3", "-c", &script])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let proc = Proc(child);
    wait_for("the listener", WAIT, || {
        tcp_connects(net, CLIENT, SERVER, PORT)
    });
    proc
}

#[test]
fn each_jail_bans_in_its_own_backend_and_a_restart_restores_each_into_its_own() {
    let Some(scene) = Scene::new() else {
        return;
    };
    let daemon = scene.start("first.log");
    let said = || scene.log("first.log");

    // From log lines: sshd's in ipset, web's in nftables, both's in both.
    scene.append("auth.log", &(failure("192.0.2.10") + &failure("192.0.2.20")));
    scene.append("web.log", &(failure("192.0.2.20") + &failure("203.0.113.30")));
    scene.wait_in("192.0.2.10", true, false);
    scene.wait_in("192.0.2.20", true, true);
    scene.wait_in("203.0.113.30", false, true);
    let status = scene.ok(&["status"]);
    assert!(status.contains("backend: nftables, ipset"), "{status}");
    assert!(status.contains("  backend:  ipset"), "{status}");

    // Packets: a ban by hand in either jail drops the client; each unban
    // lifts it from its own backend only.
    let _listener = listener(&scene.net);
    scene.ok(&["ban", "sshd", CLIENT]);
    scene.wait_in(CLIENT, true, false);
    assert!(!tcp_connects(&scene.net, CLIENT, SERVER, PORT), "ipset drops");
    scene.ok(&["ban", "web", CLIENT]);
    scene.wait_in(CLIENT, true, true);
    scene.ok(&["unban", "--jail", "sshd", CLIENT]);
    scene.wait_in(CLIENT, false, true);
    assert!(!tcp_connects(&scene.net, CLIENT, SERVER, PORT), "nftables drops");
    scene.ok(&["unban", CLIENT]);
    scene.wait_in(CLIENT, false, false);
    assert!(tcp_connects(&scene.net, CLIENT, SERVER, PORT), "{}", said());

    // Lifted in sshd only: still in web's nftables set.
    scene.ok(&["unban", "--jail", "sshd", "192.0.2.20"]);
    scene.wait_in("192.0.2.20", false, true);

    // A restart after both backends lost everything: each ban comes back
    // into its own backend, and nowhere else.
    scene.stop(daemon);
    scene.server(&["ipset", "flush", "bantam-4"]);
    scene.server(&["nft", "flush", "set", "inet", "bantam", "addr4"]);
    assert!(!scene.ipset().contains("192.0.2.10") && !scene.nft().contains("203.0.113.30"));
    let daemon = scene.start("second.log");
    scene.wait_in("192.0.2.10", true, false);
    scene.wait_in("192.0.2.20", false, true);
    scene.wait_in("203.0.113.30", false, true);
    assert!(
        scene.log("second.log").contains("3 ban(s) in force"),
        "{}",
        scene.log("second.log")
    );
    scene.stop(daemon);
}
