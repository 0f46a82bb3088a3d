//! The daemon through its CLI, without root: `bantam run --dry-run` touches
//! no firewall, so these run anywhere. They cover the control socket's
//! safety (stale sockets replaced, live ones never stolen, mode 0600), the
//! non-file sources (named pipes, standard input), reload, and refusing bad
//! configuration with a clear message.

mod support;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{bantam, control as cli, dry_run, wait_control as wait_ready, wait_for, Proc};

struct Setup {
    dir: tempfile::TempDir,
    socket: PathBuf,
    config: PathBuf,
}

fn setup(logpath: &str, maxretry: u32) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("bantam.sock");
    let config = dir.path().join("bantam.toml");
    let logpath = logpath.replace("DIR", &dir.path().display().to_string());
    std::fs::write(
        &config,
        format!(
            "[daemon]\nstate-dir = \"{}\"\nsocket = \"{}\"\n[jails.sshd]\nfilter = \"sshd\"\nlogpath = [\"{logpath}\"]\nmaxretry = {maxretry}\n",
            dir.path().join("state").display(),
            socket.display()
        ),
    )
    .unwrap();
    Setup {
        dir,
        socket,
        config,
    }
}

fn run(s: &Setup, stdin: Stdio) -> Proc {
    dry_run(&s.config, &s.socket, stdin)
}

fn banned(socket: &Path) -> String {
    String::from_utf8_lossy(&cli(socket, &["banned", "--json"]).stdout).into_owned()
}

fn failure_line(addr: &str) -> String {
    format!("Failed password for root from {addr} port 4242 ssh2\n")
}

#[test]
fn a_stale_socket_is_replaced_and_the_new_one_is_private() {
    let s = setup("DIR/auth.log", 2);
    std::fs::write(s.dir.path().join("auth.log"), "").unwrap();
    // A socket file nobody listens on: what a crash leaves behind.
    drop(std::os::unix::net::UnixListener::bind(&s.socket).unwrap());
    assert!(s.socket.exists());
    let _daemon = run(&s, Stdio::null());
    wait_ready(&s.socket);
    let mode = std::fs::metadata(&s.socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn a_live_socket_is_never_stolen() {
    let s = setup("DIR/auth.log", 2);
    std::fs::write(s.dir.path().join("auth.log"), "").unwrap();
    let _first = run(&s, Stdio::null());
    wait_ready(&s.socket);
    let second = Command::new(bantam())
        .args(["run", "--dry-run", "--config"])
        .arg(&s.config)
        .arg("--socket")
        .arg(&s.socket)
        .output()
        .unwrap();
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("another bantam is running"), "{err}");
    assert!(
        cli(&s.socket, &["status"]).status.success(),
        "the first daemon still answers"
    );
}

#[test]
fn something_else_at_the_socket_path_is_left_alone() {
    let s = setup("DIR/auth.log", 2);
    std::fs::write(s.dir.path().join("auth.log"), "").unwrap();
    std::fs::write(&s.socket, "precious").unwrap();
    let out = Command::new(bantam())
        .args(["run", "--dry-run", "--config"])
        .arg(&s.config)
        .arg("--socket")
        .arg(&s.socket)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a socket"));
    assert_eq!(std::fs::read_to_string(&s.socket).unwrap(), "precious");
}

#[test]
fn bad_configuration_stops_the_start_with_file_line_and_key() {
    let s = setup("DIR/auth.log", 2);
    let text = std::fs::read_to_string(&s.config).unwrap() + "bantime = \"10 parsecs\"\n";
    std::fs::write(&s.config, text).unwrap();
    let out = Command::new(bantam())
        .args(["run", "--dry-run", "--config"])
        .arg(&s.config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let expected = format!("{}:8: jails.sshd.bantime:", s.config.display());
    assert!(err.contains(&expected), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

#[test]
fn a_named_pipe_feeds_the_jail() {
    let s = setup("DIR/auth.fifo", 2);
    let fifo = s.dir.path().join("auth.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let _daemon = run(&s, Stdio::null());
    wait_ready(&s.socket);
    // Two writers one after the other, as syslog reconnecting would.
    for _ in 0..2 {
        let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
        w.write_all(failure_line("192.0.2.31").as_bytes()).unwrap();
    }
    wait_for("a ban from the pipe", Duration::from_secs(10), || {
        banned(&s.socket).contains("192.0.2.31")
    });
}

#[test]
fn standard_input_feeds_the_jail() {
    let s = setup("-", 2);
    let mut daemon = run(&s, Stdio::piped());
    wait_ready(&s.socket);
    let mut stdin = daemon.0.stdin.take().unwrap();
    stdin
        .write_all((failure_line("192.0.2.32").repeat(2)).as_bytes())
        .unwrap();
    stdin.flush().unwrap();
    wait_for("a ban from stdin", Duration::from_secs(10), || {
        banned(&s.socket).contains("192.0.2.32")
    });
}

#[test]
fn reload_keeps_bans_and_applies_the_new_configuration() {
    let s = setup("DIR/auth.log", 2);
    let log = s.dir.path().join("auth.log");
    std::fs::write(&log, "").unwrap();
    let _daemon = run(&s, Stdio::null());
    wait_ready(&s.socket);
    let out = cli(
        &s.socket,
        &["ban", "sshd", "198.51.100.40", "2001:db8::/48"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&s.config)
        .unwrap()
        .replace("maxretry = 2", "maxretry = 1");
    std::fs::write(&s.config, text).unwrap();
    let out = cli(&s.socket, &["reload"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = banned(&s.socket);
    assert!(
        list.contains("198.51.100.40") && list.contains("2001:db8::/48"),
        "{list}"
    );
    // maxretry = 1 now: one failure bans.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(failure_line("192.0.2.33").as_bytes())
        .unwrap();
    wait_for(
        "a ban under the new maxretry",
        Duration::from_secs(10),
        || banned(&s.socket).contains("192.0.2.33"),
    );
    // Unban one, then all.
    assert!(cli(&s.socket, &["unban", "198.51.100.40"]).status.success());
    assert!(!banned(&s.socket).contains("198.51.100.40"));
    assert!(cli(&s.socket, &["unban", "--all"]).status.success());
    assert_eq!(banned(&s.socket).trim(), "[]");
}

#[test]
fn control_errors_are_clear() {
    let s = setup("DIR/auth.log", 2);
    std::fs::write(s.dir.path().join("auth.log"), "").unwrap();
    let _daemon = run(&s, Stdio::null());
    wait_ready(&s.socket);
    let out = cli(&s.socket, &["ban", "nojail", "192.0.2.1"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no jail named \"nojail\""));
    let out = cli(&s.socket, &["ban", "sshd", "not-an-address"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not-an-address"));
    let out = cli(&s.socket, &["status", "nojail"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no jail named"));
    // Garbage on the socket gets an error answer, not a crash.
    use std::io::{BufRead, BufReader};
    let mut raw = std::os::unix::net::UnixStream::connect(&s.socket).unwrap();
    raw.write_all(b"{\"command\":\"explode\"}\n").unwrap();
    let mut answer = String::new();
    BufReader::new(&raw).read_line(&mut answer).unwrap();
    assert!(
        answer.contains("\"ok\":false") && answer.contains("unknown variant"),
        "{answer}"
    );
    assert!(cli(&s.socket, &["status"]).status.success(), "still alive");
    let out = Command::new(bantam())
        .args(["status", "--socket", "/nonexistent/bantam.sock"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("is bantam running?"));
}

#[test]
fn sighup_reloads() {
    let s = setup("DIR/auth.log", 5);
    let log = s.dir.path().join("auth.log");
    std::fs::write(&log, "").unwrap();
    let daemon = run(&s, Stdio::null());
    wait_ready(&s.socket);
    let text = std::fs::read_to_string(&s.config)
        .unwrap()
        .replace("maxretry = 5", "maxretry = 1");
    std::fs::write(&s.config, text).unwrap();
    // SAFETY: signalling our own child.
    assert_eq!(unsafe { libc::kill(daemon.0.id() as i32, libc::SIGHUP) }, 0);
    wait_for("the reload", Duration::from_secs(10), || {
        String::from_utf8_lossy(&cli(&s.socket, &["status", "--json"]).stdout)
            .contains("\"maxretry\":1")
    });
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(failure_line("192.0.2.34").as_bytes())
        .unwrap();
    wait_for(
        "a ban under the reloaded maxretry",
        Duration::from_secs(10),
        || banned(&s.socket).contains("192.0.2.34"),
    );
}
