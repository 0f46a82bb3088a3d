//! The questions an administrator asks the CLI, through a dry-run daemon
//! (no root needed): bans by hand with a duration and a reason, listings
//! with time left and origin per jail, a jail's status with its bans,
//! unban in one jail, the history read from the database, and the
//! completions, man page and version the package ships.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use bantam_state::{BanRecord, SqliteStore, Store};
use support::{bantam, control as cli, dry_run, wait_control};

fn config(dir: &Path) -> (PathBuf, PathBuf) {
    let socket = dir.join("bantam.sock");
    let config = dir.join("bantam.toml");
    let mut text = format!(
        "[daemon]\nstate-dir = \"{}\"\nsocket = \"{}\"\n",
        dir.join("state").display(),
        socket.display()
    );
    for jail in ["sshd", "web"] {
        text.push_str(&format!(
            "[jails.{jail}]\nfilter = \"sshd\"\nlogpath = [\"{}\"]\nbantime = \"10m\"\n",
            dir.join(format!("{jail}.log")).display()
        ));
    }
    std::fs::write(&config, text).unwrap();
    (config, socket)
}

fn text(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn bans_by_hand_are_listed_with_time_left_origin_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (config, socket) = config(dir.path());
    let _daemon = dry_run(&config, &socket, Stdio::null());
    wait_control(&socket);
    let args = [
        "ban",
        "sshd",
        "192.0.2.5",
        "--for",
        "1h",
        "--reason",
        "port scan",
    ];
    text(&cli(&socket, &args));
    text(&cli(&socket, &["ban", "web", "192.0.2.5", "192.0.2.6"]));
    let bad = cli(&socket, &["ban", "web", "192.0.2.7", "--for", "soon"]);
    assert_eq!(bad.status.code(), Some(2), "a usage error");

    let table = text(&cli(&socket, &["banned", "--jail", "sshd"]));
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(
        lines[0].contains("LEFT") && lines[0].contains("ORIGIN"),
        "{table}"
    );
    assert!(lines[1].contains("192.0.2.5"), "{table}");
    assert!(
        lines[1].contains(" 59m") || lines[1].contains(" 1h"),
        "an hour left: {table}"
    );
    assert!(
        lines[1].contains("manual") && lines[1].ends_with("port scan"),
        "{table}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&text(&cli(&socket, &["banned", "--jail", "web", "--json"]))).unwrap();
    let bans = json.as_array().unwrap();
    assert_eq!(bans.len(), 2);
    assert!(bans
        .iter()
        .all(|b| b["jail"] == "web" && b["origin"] == "manual"));

    let status = text(&cli(&socket, &["status", "web"]));
    assert!(
        status.contains("jail web") && status.contains("bans:"),
        "{status}"
    );
    assert!(
        status.contains("192.0.2.6") && !status.contains("jail sshd"),
        "{status}"
    );

    text(&cli(&socket, &["unban", "--jail", "web", "192.0.2.5"]));
    let all = text(&cli(&socket, &["banned"]));
    assert!(all.contains("sshd") && all.contains("192.0.2.5"), "{all}");
    assert_eq!(all.matches("192.0.2.5").count(), 1, "{all}");
    text(&cli(&socket, &["unban", "--jail", "web", "--all"]));
    let left = text(&cli(&socket, &["banned", "--jail", "web"]));
    assert_eq!(left.trim(), "no bans");
    text(&cli(&socket, &["stop"]));
}

#[test]
fn history_is_read_from_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let start = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
    let ban = |jail: &str, at: &str, reason: Option<&str>| BanRecord {
        jail: jail.into(),
        target: "198.51.100.4".into(),
        start: start(at),
        end: Some(
            start(at)
                .checked_add(jiff::SignedDuration::from_mins(10))
                .unwrap(),
        ),
        failures: if reason.is_some() { 0 } else { 5 },
        ban_count: 1,
        matches: vec![],
        reason: reason.map(str::to_owned),
    };
    {
        let mut store = SqliteStore::open_dir(&state).unwrap();
        store
            .record_bans(&[ban("sshd", "2026-11-01T10:00:00Z", None)])
            .unwrap();
        store
            .record_bans(&[ban(
                "web",
                "2026-11-02T10:00:00Z",
                Some("credential stuffing"),
            )])
            .unwrap();
    }
    let history = |args: &[&str]| {
        Command::new(bantam())
            .args(["history", "--state-dir"])
            .arg(&state)
            .args(args)
            .output()
            .unwrap()
    };
    let table = text(&history(&["198.51.100.4"]));
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[1].starts_with("sshd") && lines[1].contains("2026-11-01T10:00:00Z"));
    assert!(lines[2].starts_with("web") && lines[2].ends_with("credential stuffing"));
    let json: serde_json::Value =
        serde_json::from_str(&text(&history(&["198.51.100.4", "--json"]))).unwrap();
    assert_eq!(json[1]["reason"], "credential stuffing");
    assert!(text(&history(&["192.0.2.99"])).contains("never banned"));
    let bad = history(&["not-an-address"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not-an-address"));
    let missing = Command::new(bantam())
        .args(["history", "192.0.2.1", "--state-dir"])
        .arg(dir.path().join("nowhere"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nowhere"));
    assert!(!dir.path().join("nowhere").exists(), "never created");
}

#[test]
fn completions_man_page_and_version_come_from_the_cli() {
    let run = |args: &[&str]| text(&Command::new(bantam()).args(args).output().unwrap());
    for shell in ["bash", "zsh", "fish"] {
        let script = run(&["completions", shell]);
        assert!(
            script.contains("banned") && script.contains("history"),
            "{shell}"
        );
    }
    let bash = run(&["completions", "bash"]);
    let loaded = Command::new("bash")
        .args(["-c", &format!("{bash}\ncomplete -p bantam")])
        .output()
        .unwrap();
    assert!(text(&loaded).contains("bantam"));
    let man = run(&["manpage"]);
    assert!(
        man.starts_with(".ie") || man.contains(".TH bantam 8"),
        "{man}"
    );
    assert!(
        man.contains("bantam history") && man.contains("\\-\\-reason") || man.contains("--reason")
    );
    let version = run(&["--version"]);
    assert!(version.starts_with("bantam 0."), "{version}");
    let help = run(&["--help"]);
    assert!(!help.contains("Command-line front end") && help.contains("fail2ban"));
}
