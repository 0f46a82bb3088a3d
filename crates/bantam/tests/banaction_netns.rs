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
use std::path::{Path, PathBuf};
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
    /// `None` (the test returns) without root, outside CI. `body` writes
    /// what follows `[daemon]`'s state-dir and socket, given the scene's
    /// directory; the logs named in `logs` are created empty there.
    fn new(tag: &str, logs: &[&str], body: impl FnOnce(&Path) -> String) -> Option<Scene> {
        if !require_root("jails on several backends") {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let net = Net::new(tag, &[&format!("{SERVER}/24")], &[&format!("{CLIENT}/24")]);
        let socket = dir.path().join("bantam.sock");
        let config = dir.path().join("bantam.toml");
        let text = format!(
            "[daemon]\nstate-dir = \"{}\"\nsocket = \"{}\"\n{}",
            dir.path().join("state").display(),
            socket.display(),
            body(dir.path()),
        );
        std::fs::write(&config, text).unwrap();
        for log in logs {
            std::fs::write(dir.path().join(log), "").unwrap();
        }
        Some(Scene {
            dir,
            net,
            socket,
            config,
        })
    }

    /// sshd on ipset, web on the daemon's backend (nftables).
    fn two_jails() -> Option<Scene> {
        Scene::new("ba", &["auth.log", "web.log"], |dir| {
            let jail = |name: &str, log: &str| {
                format!(
                    "\n[jails.{name}]\nfilter = \"sshd\"\nlogpath = [\"{}\"]\nmaxretry = 1\n\
                     bantime = \"1h\"\n",
                    dir.join(log).display()
                )
            };
            format!(
                "{}banaction = \"ipset\"\n{}",
                jail("sshd", "auth.log"),
                jail("web", "web.log")
            )
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
    let Some(scene) = Scene::two_jails() else {
        return;
    };
    let daemon = scene.start("first.log");
    let said = || scene.log("first.log");

    // From log lines: sshd's in ipset, web's in nftables, both's in both.
    scene.append(
        "auth.log",
        &(failure("192.0.2.10") + &failure("192.0.2.20")),
    );
    scene.append(
        "web.log",
        &(failure("192.0.2.20") + &failure("203.0.113.30")),
    );
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
    assert!(
        !tcp_connects(&scene.net, CLIENT, SERVER, PORT),
        "ipset drops"
    );
    scene.ok(&["ban", "web", CLIENT]);
    scene.wait_in(CLIENT, true, true);
    scene.ok(&["unban", "--jail", "sshd", CLIENT]);
    scene.wait_in(CLIENT, false, true);
    assert!(
        !tcp_connects(&scene.net, CLIENT, SERVER, PORT),
        "nftables drops"
    );
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

/// fail2ban jails with `fail2ban-actions = "native"`: one whose banaction
/// is `iptables-ipset-proto6-allports` bans in bantam's ipset sets, one on
/// `iptables-multiport` in bantam's iptables chain, beside a native jail
/// on nftables; none of fail2ban's commands runs.
#[test]
fn fail2ban_jails_ban_in_the_backend_that_works_like_their_banaction() {
    let stock = Path::new("/etc/fail2ban");
    if require_root("fail2ban banactions on native backends") && !stock.join("jail.conf").is_file()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but /etc/fail2ban/jail.conf is missing: install the fail2ban package"
        );
        eprintln!("skipping: the fail2ban package is not installed");
        return;
    }
    let logs = ["ipset.log", "iptables.log", "native.log"];
    let Some(scene) = Scene::new("bf", &logs, |dir| {
        let f2b = dir.join("fail2ban");
        sh(&["cp", "-a", "/etc/fail2ban", f2b.to_str().unwrap()]);
        // Debian enables sshd in jail.d: only the jails below run.
        for entry in std::fs::read_dir(f2b.join("jail.d")).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
        let jail = |name: &str, banaction: &str, log: &str| {
            format!(
                "[{name}]\nenabled = true\nfilter = sshd\nbackend = auto\nmaxretry = 1\n\
                 bantime = 1h\nbanaction = {banaction}\nlogpath = {}\n\n",
                dir.join(log).display()
            )
        };
        let local = jail("viaipset", "iptables-ipset-proto6-allports", "ipset.log")
            + &jail("viaiptables", "iptables-multiport", "iptables.log");
        std::fs::write(f2b.join("jail.local"), local).unwrap();
        format!(
            "fail2ban-config = \"{}\"\nfail2ban-actions = \"native\"\n\n\
             [jails.native]\nfilter = \"sshd\"\nlogpath = [\"{}\"]\nmaxretry = 1\n",
            f2b.display(),
            dir.join("native.log").display()
        )
    }) else {
        return;
    };
    let daemon = scene.start("bantam.log");
    scene.append("ipset.log", &failure("192.0.2.41"));
    scene.append("iptables.log", &failure("192.0.2.42"));
    scene.append("native.log", &failure("192.0.2.43"));
    let chain = || scene.server(&["iptables", "-S", "bantam"]);
    let in_chain = |addr: &str| chain().lines().any(|l| has(l, &format!("{addr}/32")));
    wait_for("the iptables jail's ban in chain bantam", WAIT, || {
        in_chain("192.0.2.42")
    });
    scene.wait_in("192.0.2.41", true, false);
    scene.wait_in("192.0.2.43", false, true);
    scene.wait_in("192.0.2.42", false, false);
    assert!(
        !in_chain("192.0.2.41") && !in_chain("192.0.2.43"),
        "{}",
        chain()
    );
    let status = scene.ok(&["status"]);
    assert!(status.contains("  backend:  iptables"), "{status}");
    assert!(status.contains("  backend:  ipset"), "{status}");
    // fail2ban's own chains were never made: no command ran.
    let rules = scene.server(&["iptables", "-S"]);
    assert!(!rules.contains("f2b-"), "{rules}");
    scene.stop(daemon);
}
