//! The log sources with the real things, through a dry-run daemon: journal
//! files written by systemd-journal-remote and read by journalctl; util-linux
//! `logger` over UDP, TCP and a Unix socket in both syslog formats; a real
//! rsyslogd forwarding to bantam; a `cmd:` source whose command exits and
//! is restarted; and no wake-ups while all of them are idle.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{control, dry_run, wait_control, wait_for, Proc};

const JOURNAL_REMOTE: &str = "/lib/systemd/systemd-journal-remote";

struct Setup {
    dir: tempfile::TempDir,
    socket: PathBuf,
    config: PathBuf,
}

/// A config with `daemon` extra lines and jails (`name`, `logpath`,
/// `maxretry`) on the sshd filter; `DIR` is the test's directory.
fn setup(daemon: &str, jails: &[(&str, &str, u32)]) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let socket = dir.path().join("bantam.sock");
    let config = dir.path().join("bantam.toml");
    let mut text = format!(
        "[daemon]\nstate-dir = \"{d}/state\"\nsocket = \"{}\"\n{}\n",
        socket.display(),
        daemon.replace("DIR", &d)
    );
    for (name, logpath, maxretry) in jails {
        let logpath = logpath.replace("DIR", &d).replace('"', "\\\"");
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

fn start(s: &Setup) -> Proc {
    let daemon = dry_run(&s.config, &s.socket, Stdio::null());
    wait_control(&s.socket);
    daemon
}

/// A daemon that keeps its state on disk (a dry run keeps it in memory)
/// and still touches no firewall: `backend = "dry-run"`.
fn start_persistent(s: &Setup) -> Proc {
    let daemon = Proc(
        Command::new(support::bantam())
            .args(["run", "--config"])
            .arg(&s.config)
            .arg("--socket")
            .arg(&s.socket)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_control(&s.socket);
    daemon
}

/// SIGTERM, and wait: a clean stop.
fn stop(mut daemon: Proc) {
    // SAFETY: kill has no memory preconditions.
    unsafe { libc::kill(daemon.0.id() as i32, libc::SIGTERM) };
    let _ = daemon.0.wait();
}

fn bans(socket: &Path) -> Vec<serde_json::Value> {
    let out = control(socket, &["banned", "--json"]);
    serde_json::from_slice(&out.stdout).unwrap_or_default()
}

fn ban_of(socket: &Path, jail: &str, addr: &str) -> Option<serde_json::Value> {
    bans(socket)
        .into_iter()
        .find(|b| b["jail"] == jail && b["target"] == addr)
}

fn jail_status(socket: &Path, jail: &str) -> serde_json::Value {
    let out = control(socket, &["status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    status["jails"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["name"] == jail)
        .cloned()
        .unwrap()
}

fn wait_banned(socket: &Path, jail: &str, addr: &str) -> serde_json::Value {
    wait_for(
        &format!("{addr} banned in {jail}"),
        Duration::from_secs(20),
        || ban_of(socket, jail, addr).is_some(),
    );
    ban_of(socket, jail, addr).unwrap()
}

fn failure(addr: &str) -> String {
    format!("Failed password for root from {addr} port 4242 ssh2")
}

fn needs(path: &str, package: &str) {
    assert!(
        Path::new(path).exists(),
        "{path} missing: install the Debian package {package}"
    );
}

/// Appends (unit, message) entries of sshd to DIR/remote.journal.
fn journal_append(dir: &Path, entries: &[(&str, String)]) {
    let entries: Vec<Vec<(&str, String)>> = entries
        .iter()
        .map(|(unit, message)| {
            vec![
                ("SYSLOG_IDENTIFIER", "sshd".to_owned()),
                ("_PID", "4242".to_owned()),
                ("_SYSTEMD_UNIT", unit.to_string()),
                ("MESSAGE", message.clone()),
            ]
        })
        .collect();
    journal_append_fields(dir, &entries);
}

#[test]
fn journal_entries_are_banned_and_a_restart_resumes_from_the_cursor() {
    needs(JOURNAL_REMOTE, "systemd-journal-remote");
    let s = setup(
        "journal-dir = \"DIR/journal\"\nbackend = \"dry-run\"",
        &[("sshd", "journal:_SYSTEMD_UNIT=ssh.service", 2)],
    );
    let journal = s.dir.path().join("journal");
    std::fs::create_dir(&journal).unwrap();
    journal_append(&journal, &[("cron.service", "started".into())]);
    let daemon = start_persistent(&s);
    journal_append(
        &journal,
        &[
            ("ssh.service", failure("192.0.2.1")),
            ("cron.service", failure("192.0.2.99")),
            ("ssh.service", failure("192.0.2.1")),
            ("cron.service", failure("192.0.2.99")),
            ("ssh.service", failure("192.0.2.5")),
        ],
    );
    let ban = wait_banned(&s.socket, "sshd", "192.0.2.1");
    let last = ban["last_match"].as_str().unwrap_or_default();
    assert!(last.contains(" web1 sshd[4242]: Failed password"), "{ban}");
    wait_for("the third failure", Duration::from_secs(10), || {
        jail_status(&s.socket, "sshd")["total_failures"] == 3
    });
    assert!(
        ban_of(&s.socket, "sshd", "192.0.2.99").is_none(),
        "another unit"
    );
    stop(daemon);

    // Written while bantam is down, then a restart: only the new entry
    // is read, once.
    journal_append(&journal, &[("ssh.service", failure("192.0.2.7"))]);
    let daemon = start_persistent(&s);
    wait_for(
        "the entry written while down",
        Duration::from_secs(10),
        || jail_status(&s.socket, "sshd")["lines_read"] == 1,
    );
    journal_append(&journal, &[("ssh.service", failure("192.0.2.7"))]);
    wait_banned(&s.socket, "sshd", "192.0.2.7");
    let jail = jail_status(&s.socket, "sshd");
    assert_eq!(jail["lines_read"], 2, "nothing read twice: {jail}");
    assert_eq!(jail["total_failures"], 2, "{jail}");
    assert!(ban_of(&s.socket, "sshd", "192.0.2.5").is_none());
    drop(daemon);
}

/// Appends entries of (field, value) lists to DIR/remote.journal.
fn journal_append_fields(dir: &Path, entries: &[Vec<(&str, String)>]) {
    let mut export = String::new();
    for fields in entries {
        let now = jiff::Timestamp::now().as_microsecond();
        export.push_str(&format!("__REALTIME_TIMESTAMP={now}\n_HOSTNAME=web1\n"));
        for (name, value) in fields {
            export.push_str(&format!("{name}={value}\n"));
        }
        export.push('\n');
    }
    let mut child = Command::new(JOURNAL_REMOTE)
        .arg(format!("--output={}", dir.join("remote.journal").display()))
        .arg("-")
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(export.as_bytes()).unwrap();
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

/// A JSON filter reads a journal entry's fields (`REMOTE_ADDR`, a test on
/// `STATUS`) and, for a program that logs JSON to the journal, the
/// message's object (`request.remote_ip`), as it reads a JSON log's paths.
#[test]
fn json_filters_judge_journal_fields_and_json_messages() {
    needs(JOURNAL_REMOTE, "systemd-journal-remote");
    let s = setup("journal-dir = \"DIR/journal\"\nbackend = \"dry-run\"", &[]);
    let d = s.dir.path();
    std::fs::write(
        d.join("app.toml"),
        "description = \"an app that logs fields\"\nformat = \"json\"\n[fields]\naddress = \"REMOTE_ADDR\"\n[when]\nSTATUS = [\"denied\"]\n",
    )
    .unwrap();
    std::fs::write(
        d.join("caddy.toml"),
        "description = \"caddy's JSON access log\"\nformat = \"json\"\n[fields]\naddress = \"request.remote_ip\"\n[when]\nstatus = [401]\n",
    )
    .unwrap();
    let mut config = std::fs::read_to_string(&s.config).unwrap();
    config.push_str(
        "[jails.app]\nfilter = 'app.toml'\nlogpath = ['journal:_SYSTEMD_UNIT=app.service']\nmaxretry = 2\n\
         [jails.caddy]\nfilter = 'caddy.toml'\nlogpath = ['journal:_SYSTEMD_UNIT=caddy.service']\nmaxretry = 2\n",
    );
    std::fs::write(&s.config, config).unwrap();
    let journal = d.join("journal");
    std::fs::create_dir(&journal).unwrap();
    journal_append_fields(&journal, &[vec![("_SYSTEMD_UNIT", "cron.service".into())]]);
    let daemon = start_persistent(&s);
    let app = |addr: &str, status: &str| {
        vec![
            ("_SYSTEMD_UNIT", "app.service".to_owned()),
            ("SYSLOG_IDENTIFIER", "app".to_owned()),
            ("REMOTE_ADDR", addr.to_owned()),
            ("STATUS", status.to_owned()),
            // The message names another address: fields win, text is not read.
            ("MESSAGE", "login denied for 203.0.113.9".to_owned()),
        ]
    };
    let caddy = |addr: &str, status: u16| {
        let message =
            format!(r#"{{"request":{{"remote_ip":"{addr}","uri":"/login"}},"status":{status}}}"#);
        vec![
            ("_SYSTEMD_UNIT", "caddy.service".to_owned()),
            ("SYSLOG_IDENTIFIER", "caddy".to_owned()),
            ("MESSAGE", message),
        ]
    };
    journal_append_fields(
        &journal,
        &[
            app("192.0.2.30", "denied"),
            app("192.0.2.31", "ok"),
            caddy("198.51.100.30", 401),
            app("192.0.2.30", "denied"),
            app("192.0.2.31", "ok"),
            caddy("198.51.100.31", 200),
            caddy("198.51.100.30", 401),
        ],
    );
    wait_banned(&s.socket, "app", "192.0.2.30");
    wait_banned(&s.socket, "caddy", "198.51.100.30");
    assert!(
        ban_of(&s.socket, "app", "192.0.2.31").is_none(),
        "status ok"
    );
    assert!(
        ban_of(&s.socket, "app", "203.0.113.9").is_none(),
        "message text"
    );
    assert!(
        ban_of(&s.socket, "caddy", "198.51.100.31").is_none(),
        "a 200"
    );
    drop(daemon);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn logger(target: &[&str], format: &str, message: &str) {
    let status = Command::new("logger")
        .args(target)
        .args([
            format,
            "--id=4242",
            "-t",
            "sshd",
            "-p",
            "auth.info",
            "--",
            message,
        ])
        .status()
        .unwrap();
    assert!(status.success(), "logger {target:?}");
}

fn hostname() -> String {
    let out = Command::new("hostname").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn logger_over_udp_tcp_and_unix_socket_bans_and_names_the_host() {
    let (udp, tcp) = (free_port(), free_port());
    let s = setup(
        "",
        &[
            ("udp", &format!("syslog+udp://127.0.0.1:{udp}"), 2),
            ("tcp", &format!("syslog+tcp://127.0.0.1:{tcp}"), 2),
            ("unix", "syslog+unix://DIR/log.sock", 2),
        ],
    );
    let daemon = start(&s);
    let sock = s.dir.path().join("log.sock");
    let (udp, tcp) = (udp.to_string(), tcp.to_string());
    let targets: [(&str, Vec<&str>, &str); 3] = [
        (
            "udp",
            vec!["-n", "127.0.0.1", "-P", &udp, "-d"],
            "192.0.2.11",
        ),
        (
            "tcp",
            vec!["-n", "127.0.0.1", "-P", &tcp, "-T"],
            "192.0.2.12",
        ),
        ("unix", vec!["-u", sock.to_str().unwrap()], "192.0.2.13"),
    ];
    let host = hostname();
    for (jail, target, addr) in &targets {
        // One failure in each format: both parsed.
        logger(target, "--rfc3164", &failure(addr));
        logger(target, "--rfc5424", &failure(addr));
        let ban = wait_banned(&s.socket, jail, addr);
        let last = ban["last_match"].as_str().unwrap_or_default();
        assert!(last.contains(&format!(" {host} sshd")), "{ban}");
    }
    // Each jail banned its own sender only.
    assert_eq!(bans(&s.socket).len(), 3);
    drop(daemon);
}

#[test]
fn rsyslogd_forwards_to_bantam() {
    needs("/usr/sbin/rsyslogd", "rsyslog");
    let port = free_port();
    let s = setup(
        "",
        &[("relay", &format!("syslog+tcp://127.0.0.1:{port}"), 2)],
    );
    let daemon = start(&s);
    let dir = s.dir.path();
    let conf = dir.join("rsyslog.conf");
    let input = dir.join("dev-log");
    std::fs::create_dir(dir.join("spool")).unwrap();
    std::fs::write(
        &conf,
        format!(
            "global(workDirectory=\"{}\")\n\
             module(load=\"imuxsock\" SysSock.Use=\"off\")\n\
             input(type=\"imuxsock\" Socket=\"{}\" CreatePath=\"on\")\n\
             *.* action(type=\"omfwd\" target=\"127.0.0.1\" port=\"{port}\" protocol=\"tcp\" \
             TCP_Framing=\"octet-counted\" Template=\"RSYSLOG_SyslogProtocol23Format\")\n",
            dir.join("spool").display(),
            input.display()
        ),
    )
    .unwrap();
    let rsyslogd = Proc(
        Command::new("/usr/sbin/rsyslogd")
            .args(["-n", "-f"])
            .arg(&conf)
            .arg("-i")
            .arg(dir.join("rsyslogd.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("rsyslogd's socket", Duration::from_secs(10), || {
        input.exists()
    });
    // What sshd sends through glibc's syslog(3): no host name, rsyslogd
    // adds it (logger -u would put one in, which imuxsock takes for the tag).
    let sender = std::os::unix::net::UnixDatagram::unbound().unwrap();
    for _ in 0..2 {
        let stamp = jiff::Zoned::now().strftime("%b %e %H:%M:%S").to_string();
        let msg = format!("<38>{stamp} sshd[4242]: {}", failure("192.0.2.21"));
        sender.send_to(msg.as_bytes(), &input).unwrap();
    }
    let ban = wait_banned(&s.socket, "relay", "192.0.2.21");
    let last = ban["last_match"].as_str().unwrap_or_default();
    assert!(last.contains(&format!(" {} sshd", hostname())), "{ban}");
    drop(rsyslogd);
    drop(daemon);
}

#[test]
fn a_command_that_exits_is_restarted() {
    let s = setup(
        "",
        &[(
            "cmd",
            &format!("cmd:sh -c 'echo \"{}\"; exit 1'", failure("192.0.2.31")),
            3,
        )],
    );
    let daemon = start(&s);
    // One failure per run: the third run earns the ban.
    wait_banned(&s.socket, "cmd", "192.0.2.31");
    drop(daemon);
}

/// Voluntary and involuntary context switches of every thread of `pid`.
fn switches(pid: u32) -> u64 {
    let mut total = 0;
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    for task in tasks.flatten() {
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        total += status
            .lines()
            .filter(|l| l.contains("ctxt_switches"))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum::<u64>();
    }
    total
}

/// Children of `pid` (journalctl, the command of `cmd:`).
fn children(pid: u32) -> Vec<u32> {
    let text =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    let mut all: Vec<u32> = text
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let more = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        all.extend(
            more.split_whitespace()
                .filter_map(|p| p.parse::<u32>().ok()),
        );
    }
    all.sort();
    all.dedup();
    all
}

#[test]
fn idle_sources_make_no_wakeups() {
    needs(JOURNAL_REMOTE, "systemd-journal-remote");
    let (udp, tcp) = (free_port(), free_port());
    let s = setup(
        "journal-dir = \"DIR/journal\"",
        &[
            ("journal", "journal:_SYSTEMD_UNIT=ssh.service", 2),
            ("udp", &format!("syslog+udp://127.0.0.1:{udp}"), 2),
            ("tcp", &format!("syslog+tcp://127.0.0.1:{tcp}"), 2),
            ("unix", "syslog+unix://DIR/log.sock", 2),
            ("cmd", "cmd:tail -F DIR/app.log", 2),
        ],
    );
    let journal = s.dir.path().join("journal");
    std::fs::create_dir(&journal).unwrap();
    journal_append(&journal, &[("ssh.service", failure("192.0.2.41"))]);
    std::fs::write(s.dir.path().join("app.log"), "").unwrap();
    let daemon = start(&s);
    let pid = daemon.0.id();
    // Every source started and read its backlog.
    wait_for("the journal entry", Duration::from_secs(10), || {
        jail_status(&s.socket, "journal")["lines_read"] == 1
    });
    wait_for("two children", Duration::from_secs(10), || {
        children(pid).len() == 2
    });
    std::thread::sleep(Duration::from_secs(1));
    let procs: Vec<u32> = std::iter::once(pid).chain(children(pid)).collect();
    let before: Vec<u64> = procs.iter().map(|&p| switches(p)).collect();
    std::thread::sleep(Duration::from_secs(20));
    let after: Vec<u64> = procs.iter().map(|&p| switches(p)).collect();
    let woke: Vec<(u32, u64)> = procs
        .iter()
        .zip(before.iter().zip(&after))
        .map(|(&p, (b, a))| (p, a - b))
        .collect();
    eprintln!("wake-ups in 20 s (pid, switches): {woke:?}");
    assert!(woke.iter().all(|&(_, n)| n == 0), "{woke:?}");
    drop(daemon);
}

#[test]
fn fail2ban_systemd_backend_reads_the_journal_through_journalmatch() {
    needs(JOURNAL_REMOTE, "systemd-journal-remote");
    let s = setup(
        "journal-dir = \"DIR/journal\"\nfail2ban-config = \"DIR/f2b\"",
        &[],
    );
    let dir = s.dir.path();
    let journal = dir.join("journal");
    std::fs::create_dir_all(&journal).unwrap();
    std::fs::create_dir_all(dir.join("f2b/filter.d")).unwrap();
    std::fs::write(
        dir.join("f2b/filter.d/demo.conf"),
        "[Definition]\nfailregex = sshd\\[\\d+\\]: Failed password for \\S+ from <HOST>\n\
         journalmatch = _SYSTEMD_UNIT=ssh.service\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("f2b/jail.local"),
        "[demo]\nenabled = true\nbackend = systemd\nfilter = demo\nmaxretry = 2\n",
    )
    .unwrap();
    journal_append(&journal, &[("cron.service", "started".into())]);
    let daemon = start(&s);
    journal_append(
        &journal,
        &[
            ("cron.service", failure("192.0.2.61")),
            ("ssh.service", failure("192.0.2.60")),
            ("cron.service", failure("192.0.2.61")),
            ("ssh.service", failure("192.0.2.60")),
        ],
    );
    wait_banned(&s.socket, "demo", "192.0.2.60");
    assert!(ban_of(&s.socket, "demo", "192.0.2.61").is_none());
    drop(daemon);
}
