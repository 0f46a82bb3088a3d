//! The daemon core against faults, for real (root, a network namespace,
//! bantam's nftables table in it): a line too long to be a log line cannot
//! plant an address, and a database that is lost or corrupt between two
//! runs costs no ban that the kernel holds, and no crash loop.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use support::*;

struct Host {
    net: Net,
    dir: tempfile::TempDir,
    config: PathBuf,
    socket: PathBuf,
    log: PathBuf,
}

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
             logpath = [\"{}\"]\nmaxretry = 1\nbantime = \"1h\"\n",
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
    fn start(&self, stderr: &Path) -> Proc {
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
            .stderr(std::fs::File::create(stderr).unwrap())
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

    fn kernel(&self) -> String {
        let out = self
            .net
            .exec(
                &self.net.server,
                &["nft", "list", "table", "inet", "bantam"],
            )
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn append(&self, text: &[u8]) {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.log)
            .unwrap();
        f.write_all(text).unwrap();
    }
}

/// A failure line stamped now, as syslog writes it (older ones fall outside
/// findtime and are rightly ignored).
fn failure(addr: &str) -> String {
    format!(
        "{} host sshd[7]: Failed password for root from {addr} port 4242 ssh2\n",
        stamp()
    )
}

fn stamp() -> String {
    jiff::Zoned::now().strftime("%b %e %H:%M:%S").to_string()
}

#[test]
fn a_planted_address_past_the_line_limit_is_never_banned() {
    if !require_root("e2e long lines") {
        return;
    }
    let h = host("long");
    let daemon = h.start(&h.dir.path().join("bantam.err"));
    // An application's long field holding failure-shaped text right past
    // the 1 MiB line limit, and at the end: cut into pieces, either would
    // read as a failure line of its own.
    let mut line = format!("{} host app[9]: body=", stamp()).into_bytes();
    line.resize(1 << 20, b'A'); // bantam_source::MAX_LINE_BYTES
    let planted = failure("203.0.113.96");
    line.extend_from_slice(planted.trim_end().as_bytes());
    line.extend(std::iter::repeat_n(b'B', 3 << 20));
    line.extend_from_slice(planted.as_bytes());
    h.append(&line);
    h.append(failure("203.0.113.97").as_bytes());
    wait_for("the real failure's ban", Duration::from_secs(20), || {
        h.kernel().contains("203.0.113.97")
    });
    assert!(!h.kernel().contains("203.0.113.96"), "{}", h.kernel());
    let status: serde_json::Value =
        serde_json::from_slice(&h.cli(&["status", "--json"]).stdout).unwrap();
    assert_eq!(status["jails"][0]["long_lines_dropped"], 1, "{status}");
    let err = std::fs::read_to_string(h.dir.path().join("bantam.err")).unwrap();
    assert!(err.contains("dropped a line longer than"), "{err}");
    h.stop(daemon);
}

/// Bans three addresses, stops, lets `damage` do its worst to the state
/// directory, starts again: the bans must still be in the kernel, the
/// daemon up, and the admin told.
fn survive(tag: &str, damage: impl FnOnce(&Path), told: &str) {
    let h = host(tag);
    let first = h.start(&h.dir.path().join("first.err"));
    let out = h.cli(&["ban", "sshd", "203.0.113.1", "203.0.113.2", "2001:db8::7"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    h.stop(first);
    damage(&h.dir.path().join("state"));
    let err_path = h.dir.path().join("second.err");
    let mut second = h.start(&err_path);
    let kernel = h.kernel();
    for addr in ["203.0.113.1", "203.0.113.2", "2001:db8::7"] {
        assert!(kernel.contains(addr), "{addr} lost:\n{kernel}");
    }
    let banned = String::from_utf8_lossy(&h.cli(&["banned", "--json"]).stdout).into_owned();
    assert!(banned.contains("203.0.113.2"), "{banned}");
    let err = std::fs::read_to_string(&err_path).unwrap();
    assert!(err.contains(told), "{err}");
    assert!(second.0.try_wait().unwrap().is_none(), "still running");
    // New bans are recorded in the new database.
    h.append(failure("198.51.100.77").as_bytes());
    wait_for("a new ban", Duration::from_secs(20), || {
        h.kernel().contains("198.51.100.77")
    });
    h.stop(second);
}

fn database_files(state: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(state)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains(".db"))
        .collect()
}

#[test]
fn a_deleted_database_adopts_the_kernels_bans() {
    if !require_root("e2e deleted database") {
        return;
    }
    survive(
        "nodb",
        |state| {
            for file in database_files(state) {
                std::fs::remove_file(file).unwrap();
            }
        },
        "adopted",
    );
}

#[test]
fn a_corrupt_database_is_moved_aside_and_the_kernels_bans_kept() {
    if !require_root("e2e corrupt database") {
        return;
    }
    survive(
        "baddb",
        |state| {
            for file in database_files(state) {
                std::fs::remove_file(&file).unwrap();
                if file.extension().is_some_and(|e| e == "db") {
                    std::fs::write(&file, b"this is not a database\n".repeat(400)).unwrap();
                }
            }
        },
        "corrupt",
    );
}
