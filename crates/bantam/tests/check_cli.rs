//! `bantam check` against real files, real journal files (written by
//! systemd-journal-remote), the real kernel, and a real regex engine; and a
//! JSON access log banned through the dry-run daemon.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use support::{bantam, control, dry_run, require_root, wait_control, wait_for};

fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string()
}

fn sshd_failures(addr: &str, n: usize) -> String {
    let now = now_rfc3339();
    (0..n)
        .map(|_| {
            format!("{now} host sshd[7]: Failed password for root from {addr} port 4242 ssh2\n")
        })
        .collect()
}

fn check(args: &[&str], config: &Path) -> Output {
    Command::new(bantam())
        .arg("check")
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

struct Setup {
    dir: tempfile::TempDir,
    config: PathBuf,
}

/// A configuration in a temp dir: the dry-run backend unless `daemon` says
/// otherwise, a socket inside the dir, then `jails`.
fn setup(daemon: &str, jails: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bantam.toml");
    let socket = dir.path().join("bantam.sock");
    let text = format!(
        "[daemon]\nsocket = {:?}\n{daemon}\n{jails}",
        socket.display().to_string()
    );
    std::fs::write(&config, text).unwrap();
    Setup { dir, config }
}

fn good_log(s: &Setup) -> PathBuf {
    let log = s.dir.path().join("auth.log");
    std::fs::write(&log, sshd_failures("198.51.100.7", 6)).unwrap();
    log
}

#[test]
fn a_good_configuration_prints_the_table_and_exits_0() {
    let s = setup(
        "backend = 'dry-run'",
        "[jails.sshd]\nfilter = 'sshd'\nlogpath = 'auth.log'\n",
    );
    good_log(&s);
    let out = check(&[], &s.config);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains("jail") && said.contains("would ban"),
        "{said}"
    );
    assert!(
        said.contains("198.51.100.7") && said.contains("check: OK"),
        "{said}"
    );
    let out = check(&["--json"], &s.config);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], true);
    let row = &json["jails"][0];
    assert_eq!(row["jail"], "sshd");
    assert_eq!(row["lines"], 6);
    assert_eq!(row["failures"], 6);
    assert_eq!(row["would_ban"], serde_json::json!(["198.51.100.7"]));
    assert!(row["unmatched_rules"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r == "invalid-user"));
}

#[test]
fn a_regex_that_does_not_compile() {
    let s = setup(
        "backend = 'dry-run'",
        "[jails.web]\nfailregex = ['denied (<HOST>']\nlogpath = 'auth.log'\n",
    );
    good_log(&s);
    let out = check(&[], &s.config);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    let want = format!(
        "problem: configuration: {}:5: jails.web.failregex: failregex #1 does not compile",
        s.config.display()
    );
    assert!(said.contains(&want), "{said}");
}

#[test]
fn a_log_path_that_does_not_exist() {
    let s = setup(
        "backend = 'dry-run'",
        "[jails.sshd]\nfilter = 'sshd'\nlogpath = 'nope.log'\n",
    );
    let out = check(&[], &s.config);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    let missing = s.dir.path().join("nope.log");
    let want = format!(
        "problem: jail sshd: cannot open {}: No such file or directory",
        missing.display()
    );
    assert!(said.contains(&want), "{said}");
}

#[test]
fn a_jail_whose_filter_finds_nothing_in_its_log() {
    let s = setup(
        "backend = 'dry-run'",
        "[jails.sshd]\nfilter = 'sshd'\nlogpath = 'auth.log'\n",
    );
    // Lines sshd did not write: the filter fits no line.
    std::fs::write(
        s.dir.path().join("auth.log"),
        "nginx: GET / 200\nnginx: GET /x 404\n",
    )
    .unwrap();
    let out = check(&[], &s.config);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains(
            "problem: jail sshd: its filter sshd found no failure in 2 line(s) read from"
        ),
        "{said}"
    );
}

/// Writes export-format entries into a journal file in `dir` the way the
/// shared recipe does (systemd-journal-remote, no journald needed).
fn journal_append(dir: &Path, unit: &str, messages: &[String]) {
    let micros = jiff::Timestamp::now().as_microsecond();
    let mut export = Vec::new();
    for m in messages {
        write!(
            export,
            "__REALTIME_TIMESTAMP={micros}\nSYSLOG_IDENTIFIER=sshd\n_SYSTEMD_UNIT={unit}\nMESSAGE={m}\n\n"
        )
        .unwrap();
    }
    let mut child = Command::new("/lib/systemd/systemd-journal-remote")
        .arg(format!("--output={}/remote.journal", dir.display()))
        .arg("-")
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("systemd-journal-remote (Debian package systemd-journal-remote)");
    child.stdin.take().unwrap().write_all(&export).unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_journal_match_that_matches_nothing_and_one_that_matches() {
    let s = setup(
        "backend = 'dry-run'\njournal-dir = 'journal'",
        "[jails.sshd]\nfilter = 'sshd'\nlogpath = ['journal:_SYSTEMD_UNIT=ssh.service']\n\
         [jails.typo]\nfilter = 'sshd'\nlogpath = ['journal:_SYSTEMD_UNIT=shh.service']\n",
    );
    let journal = s.dir.path().join("journal");
    std::fs::create_dir(&journal).unwrap();
    let fail = "Failed password for root from 203.0.113.9 port 4242 ssh2".to_owned();
    journal_append(&journal, "ssh.service", &vec![fail; 5]);
    journal_append(
        &journal,
        "cron.service",
        &vec!["Failed password for root from 203.0.113.10 port 1 ssh2".to_owned(); 5],
    );
    let out = check(&["--json"], &s.config);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let problems: Vec<&str> = json["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with(
            "jail typo: journal:_SYSTEMD_UNIT=shh.service: the match selects no entry at all in"
        ),
        "{problems:?}"
    );
    let sshd = json["jails"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["jail"] == "sshd")
        .unwrap();
    assert_eq!(sshd["lines"], 5, "other units are not read");
    assert_eq!(sshd["would_ban"], serde_json::json!(["203.0.113.9"]));
}

#[test]
fn a_firewall_that_cannot_be_set_up() {
    if !require_root("a_firewall_that_cannot_be_set_up") {
        return;
    }
    let s = setup("", "[jails.sshd]\nfilter = 'sshd'\nlogpath = 'auth.log'\n");
    good_log(&s);
    // Root without CAP_NET_ADMIN: the kernel refuses netlink, files stay readable.
    let out = Command::new("setpriv")
        .args(["--bounding-set=-net_admin", "--inh-caps=-net_admin", "--"])
        .arg(bantam())
        .arg("check")
        .arg("--config")
        .arg(&s.config)
        .output()
        .unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("problem: firewall: backend nftables cannot be set up:")
            && said.contains("Operation not permitted"),
        "{said}"
    );
    // With the capability, the same configuration is clean.
    let out = check(&[], &s.config);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

const CADDY_FILTER: &str = r#"
description = "Caddy access log: 401 answers"
format = "json"
[fields]
address = "request.remote_ip"
time = "ts"
[when]
status = [401, 403]
"#;

fn caddy_line(ip: &str, status: u16) -> String {
    let ts = jiff::Timestamp::now().as_millisecond() as f64 / 1000.0;
    format!(
        r#"{{"level":"info","ts":{ts},"logger":"http.log.access","msg":"handled request","request":{{"remote_ip":"{ip}","remote_port":"41000","proto":"HTTP/1.1","method":"POST","host":"example.org","uri":"/login"}},"status":{status}}}"#
    ) + "\n"
}

#[test]
fn a_caddy_json_log_bans_on_401s_by_remote_ip_and_skips_malformed_lines() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("caddy.toml"), CADDY_FILTER).unwrap();
    let log = dir.path().join("access.log");
    std::fs::write(&log, "").unwrap();
    let socket = dir.path().join("bantam.sock");
    let config = dir.path().join("bantam.toml");
    std::fs::write(
        &config,
        "[jails.caddy]\nfilter = 'caddy.toml'\nlogpath = 'access.log'\nmaxretry = 3\n",
    )
    .unwrap();
    let _daemon = dry_run(&config, &socket, Stdio::null());
    wait_control(&socket);
    let mut lines = String::new();
    for i in 0..3 {
        lines += &caddy_line("198.51.100.20", 401);
        lines += &caddy_line("198.51.100.21", 200);
        lines += "{\"status\":401, truncated\n";
        lines += &format!("not json at all {i}\n");
        lines += &caddy_line("198.51.100.22", 401);
    }
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    let banned = |addr: &str| {
        let out = control(&socket, &["banned", "--json"]);
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        list.as_array().is_some_and(|b| {
            b.iter()
                .any(|b| b["jail"] == "caddy" && b["target"] == addr)
        })
    };
    wait_for("the 401s to ban", Duration::from_secs(10), || {
        banned("198.51.100.20") && banned("198.51.100.22")
    });
    assert!(!banned("198.51.100.21"), "200s are not failures");
    // `bantam regex` on the same log counts the malformed lines.
    let out = Command::new(bantam())
        .arg("regex")
        .arg(&log)
        .arg(dir.path().join("caddy.toml"))
        .arg("--json")
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (json["matched"].as_u64(), json["malformed"].as_u64()),
        (Some(6), Some(6)),
        "{json}"
    );
}
