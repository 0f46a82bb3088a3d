//! The same failures, the same fail2ban `jail.conf` with
//! `bantime.increment = true`: fail2ban 1.0 (the Debian package, its server
//! run in the foreground on a temporary socket and database, with an action
//! that does nothing) and `bantam run --fail2ban-config` (dry run) must give
//! the same ban times, ban after ban. `bantime.rndtime` is left out: it is
//! random in both. No root needed.
//!
//! The config exercises the default formula with a factor and a cap:
//! bantime 2 s, factor 1.5, maxtime 9 s → 2, 2·2·1.5 = 6, 2·4·1.5 = 12 → 9,
//! then 9 again.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::*;

const ADDR: &str = "192.0.2.44";
const EXPECTED: [u64; 4] = [2, 6, 9, 9];

fn fail2ban_installed() -> bool {
    if Path::new("/usr/bin/fail2ban-client").exists() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "fail2ban (Debian package) is needed, and CI must run this"
    );
    eprintln!("skipping: fail2ban is not installed");
    false
}

/// A fail2ban tree with one jail reading `app.log` (epoch dates, so both
/// read the very same instants), fail2ban's own files kept in `dir`.
fn tree(dir: &Path) -> PathBuf {
    let write = |rel: &str, text: String| {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    let d = dir.display();
    write(
        "fail2ban.conf",
        format!(
            "[Definition]\nloglevel = INFO\nlogtarget = {d}/f2b.log\nsocket = {d}/f2b.sock\n\
             pidfile = {d}/f2b.pid\ndbfile = {d}/f2b.db\ndbpurgeage = 1d\n"
        ),
    );
    write(
        "jail.conf",
        format!(
            "[DEFAULT]\nbantime.increment = true\nbantime.factor = 1.5\nbantime.maxtime = 9\n\
             usedns = no\n[esc]\nenabled = true\nfilter = esc\nlogpath = {d}/app.log\n\
             backend = polling\nmaxretry = 1\nfindtime = 60\nbantime = 2\naction = noop\n"
        ),
    );
    write(
        "filter.d/esc.conf",
        "[Definition]\nfailregex = failed from <HOST>$\ndatepattern = {^LN-BEG}EPOCH\n".into(),
    );
    write(
        "action.d/noop.conf",
        "[Definition]\nactionban = true\nactionunban = true\n".into(),
    );
    let log = dir.join("app.log");
    std::fs::write(&log, "").unwrap();
    log
}

/// fail2ban's ban times so far, from its database.
fn fail2ban_times(dir: &Path) -> Vec<u64> {
    let script = format!(
        "import sqlite3\ntry:\n c = sqlite3.connect('file:{}/f2b.db?mode=ro', uri=True)\n \
         print(' '.join(str(int(round(r[0]))) for r in c.execute('SELECT bantime FROM bans ORDER BY timeofban, rowid')))\n\
         except Exception:\n print('')\n",
        dir.display()
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect()
}

fn fail2ban_unbans(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("f2b.log"))
        .unwrap_or_default()
        .matches(&format!("Unban {ADDR}"))
        .count()
}

/// bantam's current ban of ADDR: its length in seconds.
fn bantam_time(socket: &Path) -> Option<u64> {
    let out = control(socket, &["banned", "--json"]);
    let bans: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let ban = bans.as_array()?.iter().find(|b| b["target"] == ADDR)?;
    let at = |k: &str| ban[k].as_str()?.parse::<jiff::Timestamp>().ok();
    let span = at("end")?.duration_since(at("start")?);
    u64::try_from(span.as_secs()).ok()
}

#[test]
fn bantam_escalates_a_fail2ban_jail_as_fail2ban_does() {
    if !fail2ban_installed() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let log = tree(dir);
    let _fail2ban = Proc(
        Command::new("fail2ban-client")
            .arg("-c")
            .arg(dir)
            .args(["-x", "-f", "start"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let socket = dir.join("bantam.sock");
    let config = dir.join("bantam.toml");
    std::fs::write(
        &config,
        format!("[daemon]\nstate-dir = \"{}/state\"\n", dir.display()),
    )
    .unwrap();
    let bantam_err = dir.join("bantam.err");
    let _bantam = Proc(
        Command::new(bantam())
            .args(["run", "--dry-run", "--config"])
            .arg(&config)
            .arg("--socket")
            .arg(&socket)
            .arg("--fail2ban-config")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&bantam_err).unwrap())
            .spawn()
            .unwrap(),
    );
    wait_control(&socket);
    wait_for("fail2ban's server", Duration::from_secs(20), || {
        std::fs::read_to_string(dir.join("f2b.log")).is_ok_and(|l| l.contains("Jail 'esc' started"))
    });
    let mut ours = Vec::new();
    for n in 1..=EXPECTED.len() {
        let line = format!(
            "{:.3} failed from {ADDR}\n",
            jiff::Timestamp::now().as_millisecond() as f64 / 1000.0
        );
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        f.write_all(line.as_bytes()).unwrap();
        wait_for("both bans", Duration::from_secs(20), || {
            fail2ban_times(dir).len() == n && bantam_time(&socket).is_some()
        });
        ours.push(bantam_time(&socket).unwrap());
        let limit = Duration::from_secs(EXPECTED[n - 1] + 5);
        wait_for("both bans to end", limit, || {
            fail2ban_unbans(dir) == n && bantam_time(&socket).is_none()
        });
    }
    let theirs = fail2ban_times(dir);
    let err = std::fs::read_to_string(&bantam_err).unwrap();
    assert_eq!(theirs, EXPECTED, "fail2ban");
    assert_eq!(ours, EXPECTED, "bantam\n{err}");
    assert!(
        !err.contains("bantime.increment"),
        "not said to be ignored:\n{err}"
    );
}
