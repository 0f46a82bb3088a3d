//! Escalation and recidive for real (root, a network namespace, bantam's
//! nftables set in it), on time shortened to seconds: each ban's timeout
//! is read back from the kernel (`nft -j list set`), and the count
//! survives a restart of the daemon because it comes from the database.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use support::*;

const ATTACKER: &str = "198.51.100.2";

struct Host {
    net: Net,
    dir: tempfile::TempDir,
    config: PathBuf,
    socket: PathBuf,
    log: PathBuf,
}

/// Steps of 3, 6 and 9 s, capped at 7 s, up to 1 s of jitter; the fourth
/// ban within an hour is permanent.
fn host(tag: &str) -> Host {
    let dir = tempfile::tempdir().unwrap();
    let net = Net::new(tag, &["198.51.100.1/24"], &["198.51.100.2/24"]);
    let socket = dir.path().join("bantam.sock");
    let config = dir.path().join("bantam.toml");
    let log = dir.path().join("auth.log");
    std::fs::write(&log, "").unwrap();
    std::fs::write(
        &config,
        format!(
            "[daemon]\nstate-dir = \"{}\"\nsocket = \"{}\"\n\n[jails.sshd]\nfilter = \"sshd\"\n\
             logpath = [\"{}\"]\nmaxretry = 1\nbantime = \"1h\"\n\
             [jails.sshd.escalation]\nsteps = [\"3s\", \"6s\", \"9s\"]\nmax = \"7s\"\njitter = \"1s\"\n\
             [jails.sshd.recidive]\nbans = 4\nwithin = \"1h\"\nbantime = \"permanent\"\n",
            dir.path().join("state").display(),
            socket.display(),
            log.display()
        ),
    )
    .unwrap();
    Host {
        net,
        dir,
        config,
        socket,
        log,
    }
}

impl Host {
    fn start(&self, name: &str) -> Proc {
        let child = self
            .net
            .exec(
                &self.net.server,
                &[
                    bantam().to_str().unwrap(),
                    "run",
                    "--config",
                    self.config.to_str().unwrap(),
                ],
            )
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.dir.path().join(name)).unwrap())
            .spawn()
            .unwrap();
        let proc = Proc(child);
        wait_for("the control socket", Duration::from_secs(20), || {
            self.cli(&["status"]).status.success()
        });
        proc
    }

    fn stop(&self, mut daemon: Proc) {
        assert!(self.cli(&["stop"]).status.success());
        wait_for("the daemon to exit", Duration::from_secs(20), || {
            daemon.0.try_wait().unwrap().is_some()
        });
    }

    fn cli(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(bantam())
            .args(args)
            .arg("--socket")
            .arg(&self.socket)
            .output()
            .unwrap()
    }

    /// The attacker's element in the kernel set: `None` when absent, else
    /// its timeout in whole seconds (`Some(None)`: no timeout).
    fn element(&self) -> Option<Option<u64>> {
        let out = self
            .net
            .exec(
                &self.net.server,
                &["nft", "-j", "list", "set", "inet", "bantam", "addr4"],
            )
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        let set = json["nftables"]
            .as_array()?
            .iter()
            .find_map(|o| o.get("set"))?;
        set["elem"].as_array()?.iter().find_map(|e| match e {
            serde_json::Value::String(s) if s == ATTACKER => Some(None),
            e if e["elem"]["val"] == ATTACKER => Some(e["elem"]["timeout"].as_u64()),
            _ => None,
        })
    }

    /// Fails once from the attacker, waits for the ban; returns the
    /// kernel's timeout and the ban's count and step from `banned --json`.
    fn fail(&self) -> (Option<u64>, u64, u64) {
        let line = format!(
            "{} host sshd[7]: Failed password for root from {ATTACKER} port 4242 ssh2\n",
            jiff::Zoned::now().strftime("%b %e %H:%M:%S")
        );
        append(&self.log, &line);
        wait_for("the ban", Duration::from_secs(20), || {
            self.element().is_some()
        });
        let timeout = self.element().unwrap();
        let banned: serde_json::Value =
            serde_json::from_slice(&self.cli(&["banned", "--json"]).stdout).unwrap();
        let ban = &banned[0];
        assert_eq!(ban["target"], ATTACKER, "{banned}");
        let status: serde_json::Value =
            serde_json::from_slice(&self.cli(&["status", "sshd", "--json"]).stdout).unwrap();
        assert_eq!(status["jails"][0]["bans"][0], *ban, "{status}");
        (
            timeout,
            ban["ban_count"].as_u64().unwrap(),
            ban["step"].as_u64().unwrap(),
        )
    }

    /// Waits for the kernel to let the attacker go (the daemon sets no
    /// timer for that).
    fn expire(&self, within: u64) {
        wait_for("the ban's end", Duration::from_secs(within + 3), || {
            self.element().is_none()
        });
    }
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// The kernel's timeout (whole seconds) of a step of `step` s, jitter 1 s.
fn within_jitter(timeout: Option<u64>, step: u64) -> bool {
    timeout.is_some_and(|t| (step..=step + 1).contains(&t))
}

#[test]
fn each_ban_lasts_longer_up_to_the_cap_across_a_restart_until_recidive_makes_it_permanent() {
    if !require_root("e2e escalation") {
        return;
    }
    let h = host("esc");
    let first = h.start("first.err");
    let (timeout, count, step) = h.fail();
    assert!(within_jitter(timeout, 3), "first ban: {timeout:?}");
    assert_eq!((count, step), (1, 1));
    h.expire(4);
    let (timeout, count, step) = h.fail();
    assert!(within_jitter(timeout, 6), "second ban: {timeout:?}");
    assert_eq!((count, step), (2, 2));
    h.expire(7);
    // A restart: the count is read from the database.
    h.stop(first);
    let second = h.start("second.err");
    let (timeout, count, step) = h.fail();
    assert!(
        within_jitter(timeout, 7),
        "third ban, 9 s capped at 7: {timeout:?}"
    );
    assert_eq!((count, step), (3, 3));
    h.expire(8);
    // The fourth within the hour: recidive, no timeout in the kernel.
    let (timeout, count, _) = h.fail();
    assert_eq!((timeout, count), (None, 4));
    let err = std::fs::read_to_string(h.dir.path().join("second.err")).unwrap();
    assert!(
        err.contains(&format!("banned {ATTACKER} permanently")),
        "{err}"
    );
    h.stop(second);
}
