//! The daemon core's promises, through the CLI and a dry run (no root
//! needed): one reader for every jail naming a pipe or standard input, one
//! ban per address whatever the batching, reloads that are all or nothing,
//! manual bans that refuse what would lock everyone out, sources that wait
//! for a missing log instead of stopping the daemon, and exit codes a
//! service manager can act on.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use support::{bantam, control as cli, dry_run, wait_control as wait_ready, wait_for, Proc};

struct Setup {
    dir: tempfile::TempDir,
    socket: PathBuf,
    config: PathBuf,
}

/// A config with the given jails (`name`, `logpath`, `maxretry`); `DIR` in
/// a logpath is the test's directory.
fn setup(jails: &[(&str, &str, u32)]) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("bantam.sock");
    let config = dir.path().join("bantam.toml");
    let mut text = format!(
        "[daemon]\nstate-dir = \"{}\"\nsocket = \"{}\"\n",
        dir.path().join("state").display(),
        socket.display()
    );
    for (name, logpath, maxretry) in jails {
        let logpath = logpath.replace("DIR", &dir.path().display().to_string());
        text.push_str(&format!(
            "[jails.{name}]\nfilter = \"sshd\"\nlogpath = [\"{logpath}\"]\nmaxretry = {maxretry}\n"
        ));
    }
    std::fs::write(&config, text).unwrap();
    Setup {
        dir,
        socket,
        config,
    }
}

fn start(s: &Setup, stdin: Stdio) -> Proc {
    dry_run(&s.config, &s.socket, stdin)
}

fn status(socket: &Path) -> serde_json::Value {
    let out = cli(socket, &["status", "--json"]);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn banned_in(socket: &Path, jail: &str, addr: &str) -> bool {
    let out = cli(socket, &["banned", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    list.as_array().is_some_and(|bans| {
        bans.iter()
            .any(|b| b["jail"] == jail && b["target"] == addr)
    })
}

fn failure(addr: &str) -> String {
    format!("Failed password for root from {addr} port 4242 ssh2\n")
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

#[test]
fn two_jails_on_one_pipe_both_see_every_line() {
    let s = setup(&[("a", "DIR/auth.fifo", 2), ("b", "DIR/auth.fifo", 2)]);
    let fifo = s.dir.path().join("auth.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let _daemon = start(&s, Stdio::null());
    wait_ready(&s.socket);
    let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    w.write_all(failure("192.0.2.41").repeat(2).as_bytes())
        .unwrap();
    drop(w);
    wait_for("bans in both jails", Duration::from_secs(10), || {
        banned_in(&s.socket, "a", "192.0.2.41") && banned_in(&s.socket, "b", "192.0.2.41")
    });
}

#[test]
fn two_jails_on_standard_input_both_see_every_line() {
    let s = setup(&[("a", "-", 2), ("b", "-", 2)]);
    let mut daemon = start(&s, Stdio::piped());
    wait_ready(&s.socket);
    let mut stdin = daemon.0.stdin.take().unwrap();
    stdin
        .write_all(failure("192.0.2.42").repeat(2).as_bytes())
        .unwrap();
    stdin.flush().unwrap();
    wait_for("bans in both jails", Duration::from_secs(10), || {
        banned_in(&s.socket, "a", "192.0.2.42") && banned_in(&s.socket, "b", "192.0.2.42")
    });
}

#[test]
fn three_failures_in_one_write_are_one_ban() {
    let s = setup(&[("sshd", "DIR/auth.log", 1)]);
    let log = s.dir.path().join("auth.log");
    std::fs::write(&log, "").unwrap();
    let _daemon = start(&s, Stdio::null());
    wait_ready(&s.socket);
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(failure("192.0.2.43").repeat(3).as_bytes())
        .unwrap();
    wait_for("the ban", Duration::from_secs(10), || {
        banned_in(&s.socket, "sshd", "192.0.2.43")
    });
    let jail = &status(&s.socket)["jails"][0];
    assert_eq!(jail["total_banned"], 1, "{jail}");
    assert_eq!(jail["total_failures"], 3, "{jail}");
}

#[test]
fn a_broken_reload_is_an_error_and_the_old_configuration_keeps_banning() {
    let s = setup(&[("sshd", "DIR/auth.log", 1)]);
    let log = s.dir.path().join("auth.log");
    std::fs::write(&log, "").unwrap();
    let _daemon = start(&s, Stdio::null());
    wait_ready(&s.socket);
    let good = std::fs::read_to_string(&s.config).unwrap();
    std::fs::write(&s.config, good.clone() + "bantime = \"forever-ish\"\n").unwrap();
    let out = cli(&s.socket, &["reload"]);
    assert_ne!(code(&out), 0);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("still running the old configuration"), "{err}");
    assert!(err.contains("jails.sshd.bantime"), "names the key: {err}");
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(failure("192.0.2.44").as_bytes()).unwrap();
    wait_for(
        "a ban under the old configuration",
        Duration::from_secs(10),
        || banned_in(&s.socket, "sshd", "192.0.2.44"),
    );
}

#[test]
fn manual_bans_that_would_lock_everyone_out_need_force() {
    let s = setup(&[("sshd", "DIR/auth.log", 3)]);
    std::fs::write(s.dir.path().join("auth.log"), "").unwrap();
    let _daemon = start(&s, Stdio::null());
    wait_ready(&s.socket);
    for target in ["0.0.0.0/0", "::/0", "127.0.0.1", "198.18.0.0/15"] {
        let out = cli(&s.socket, &["ban", "sshd", target]);
        assert_ne!(code(&out), 0, "{target} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--force"), "{err}");
    }
    let out = cli(&s.socket, &["ban", "sshd", "--force", "198.18.0.0/15"]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(banned_in(&s.socket, "sshd", "198.18.0.0/15"));
}

#[test]
fn a_missing_log_directory_waits_and_other_jails_run() {
    let s = setup(&[
        ("gone", "DIR/later/app.log", 1),
        ("sshd", "DIR/auth.log", 1),
    ]);
    let log = s.dir.path().join("auth.log");
    std::fs::write(&log, "").unwrap();
    let _daemon = start(&s, Stdio::null());
    wait_ready(&s.socket);
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(failure("192.0.2.45").as_bytes()).unwrap();
    wait_for("the other jail's ban", Duration::from_secs(10), || {
        banned_in(&s.socket, "sshd", "192.0.2.45")
    });
    let jails = status(&s.socket)["jails"].clone();
    let gone = jails
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["name"] == "gone")
        .unwrap()
        .clone();
    let state = gone["sources"][0]["state"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(state.starts_with("waiting"), "{gone}");
    // The directory appears: the jail starts reading by itself.
    std::fs::create_dir(s.dir.path().join("later")).unwrap();
    std::fs::write(s.dir.path().join("later/app.log"), failure("192.0.2.46")).unwrap();
    wait_for("a ban from the late log", Duration::from_secs(10), || {
        banned_in(&s.socket, "gone", "192.0.2.46")
    });
}

#[test]
fn exit_codes_say_what_kind_of_failure_it_was() {
    let s = setup(&[("sshd", "DIR/auth.log", 3)]);
    // Not running: 3.
    let out = cli(&s.socket, &["status"]);
    assert_eq!(code(&out), 3, "{}", String::from_utf8_lossy(&out.stderr));
    // Usage: 2.
    let out = Command::new(bantam()).args(["ban"]).output().unwrap();
    assert_eq!(code(&out), 2);
    // Configuration: 78, so that systemd does not restart into it.
    let text = std::fs::read_to_string(&s.config).unwrap() + "maxretry = \"many\"\n";
    std::fs::write(&s.config, text).unwrap();
    let out = Command::new(bantam())
        .args(["run", "--dry-run", "--config"])
        .arg(&s.config)
        .output()
        .unwrap();
    assert_eq!(code(&out), 78, "{}", String::from_utf8_lossy(&out.stderr));
}
