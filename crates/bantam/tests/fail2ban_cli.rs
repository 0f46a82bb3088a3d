//! The fail2ban drop-in from the command line, without root: importing a
//! configuration, refusing a broken one with a message that names what is
//! wrong, running fail2ban's own filter file through `bantam regex`, and a
//! dry run of a fail2ban configuration that finds a failure in its log.
//! Needs Debian's `fail2ban` package for the stock configuration (fails
//! under CI when it is missing).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const STOCK: &str = "/etc/fail2ban";

fn bantam() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bantam"))
}

fn stock_copy(dir: &Path) -> Option<PathBuf> {
    if !Path::new(STOCK).join("jail.conf").is_file() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but {STOCK}/jail.conf is missing: scripts/test.sh installs fail2ban"
        );
        eprintln!("skipping: fail2ban is not installed");
        return None;
    }
    let copy = dir.join("fail2ban");
    let ok = Command::new("cp")
        .args(["-a", STOCK])
        .arg(&copy)
        .status()
        .expect("cp")
        .success();
    assert!(ok, "copying {STOCK}");
    Some(copy)
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn import_prints_native_toml_that_resolves() {
    let dir = tempfile::tempdir().unwrap();
    let Some(f2b) = stock_copy(dir.path()) else {
        return;
    };
    std::fs::write(
        f2b.join("jail.local"),
        "[sshd]\nenabled = true\nbackend = auto\nlogpath = /var/log/auth.log\nmaxretry = 3\nbantime = 1d12h\n\n\
         [nginx-http-auth]\nenabled = true\nlogpath = /var/log/nginx/error.log\n\n\
         [nginx-botsearch]\nenabled = true\nlogpath = /var/log/nginx/access.log\naction = %(action_mw)s\n",
    )
    .unwrap();
    let out = bantam().arg("import-fail2ban").arg(&f2b).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("[jails.sshd]"), "{stdout}");
    assert!(stdout.contains("maxretry = 3"), "{stdout}");
    assert!(stdout.contains("bantime = \"1d12h\""), "{stdout}");
    assert!(
        stdout.contains("fail2ban-filter = ") && stdout.contains("nginx-botsearch.conf"),
        "a filter bantam does not ship is referenced as fail2ban's file: {stdout}"
    );
    assert!(
        stdout.contains("filter = \"nginx-http-auth\"") && !stdout.contains("nginx-http-auth.conf"),
        "a filter bantam ships is its own: {stdout}"
    );
    assert!(
        stdout.contains("# not translated: action sendmail"),
        "the mail action is named as not translated: {stdout}"
    );
    // What the user saves starts: bantam resolves it (logs need not exist
    // for that; a dry run would say so).
    let saved = dir.path().join("bantam.toml");
    std::fs::write(&saved, &stdout).unwrap();
    let toml: toml::Table = stdout.parse().expect("valid TOML");
    assert!(toml.contains_key("jails"));
}

#[test]
fn a_broken_jail_local_stops_the_start_naming_file_section_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let Some(f2b) = stock_copy(dir.path()) else {
        return;
    };
    std::fs::write(
        f2b.join("jail.local"),
        "[sshd]\nenabled = true\nbackend = auto\nlogpath = %(no_such_option)s\n",
    )
    .unwrap();
    let out = bantam()
        .args(["run", "--dry-run", "--fail2ban-config"])
        .arg(&f2b)
        .arg("--socket")
        .arg(dir.path().join("s.sock"))
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert!(!out.status.success(), "must refuse to start: {stderr}");
    assert!(
        stderr.contains("jail.local") && stderr.contains("[sshd]") && stderr.contains("logpath"),
        "the error names file, section and key: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn regex_runs_fail2bans_own_filter_file() {
    let path = Path::new(STOCK).join("filter.d/sshd.conf");
    if !path.is_file() {
        assert!(
            std::env::var_os("CI").is_none(),
            "fail2ban missing under CI"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    std::fs::write(
        &log,
        "Nov 25 10:00:01 host sshd[1]: Failed password for root from 198.51.100.20 port 40000 ssh2\n\
         Nov 25 10:00:02 host sshd[2]: Accepted password for alice from 203.0.113.5 port 40001 ssh2\n\
         Nov 25 10:00:03 host sshd[3]: Invalid user admin from 2001:db8::7 port 40002\n\
         Nov 25 10:00:04 host sshd[4]: Failed password for invalid user admin from 198.51.100.21 port 22 ssh2 from 192.0.2.99\n",
    )
    .unwrap();
    let ips = |filter: &Path| -> Vec<String> {
        let out = bantam()
            .args(["regex", "--out", "ip"])
            .arg(&log)
            .arg(filter)
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stderr}");
        stdout.lines().map(str::to_owned).collect()
    };
    // fail2ban's own filter, run unchanged, says what fail2ban-regex says,
    // down to the address a user name can inject into its invalid-user rule
    // (a successful login is not a failure).
    assert_eq!(
        ips(&path),
        ["198.51.100.20", "2001:db8::7", "192.0.2.99"],
        "fail2ban semantics"
    );
    // bantam's own sshd filter is anchored on what sshd writes: the injected
    // address is never reported.
    let native = ips(Path::new("sshd"));
    assert!(native.contains(&"198.51.100.20".to_owned()), "{native:?}");
    assert!(!native.contains(&"192.0.2.99".to_owned()), "{native:?}");
    let out = bantam()
        .args(["regex", "--json"])
        .arg(&log)
        .arg(&path)
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["lines"], 4);
    for key in ["matched", "ignored", "missed", "seconds"] {
        assert!(doc.get(key).is_some(), "--json has {key}: {doc}");
    }
}

#[test]
fn dry_run_of_a_fail2ban_configuration_finds_failures() {
    let dir = tempfile::tempdir().unwrap();
    let Some(f2b) = stock_copy(dir.path()) else {
        return;
    };
    let log = dir.path().join("auth.log");
    std::fs::write(&log, "").unwrap();
    std::fs::write(
        f2b.join("jail.local"),
        format!(
            "[sshd]\nenabled = true\nbackend = auto\nlogpath = {}\nmaxretry = 2\n",
            log.display()
        ),
    )
    .unwrap();
    let socket = dir.path().join("s.sock");
    let mut daemon = bantam()
        .args(["run", "--dry-run", "--fail2ban-config"])
        .arg(&f2b)
        .arg("--socket")
        .arg(&socket)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = |args: &[&str]| {
        bantam()
            .args(args)
            .arg("--socket")
            .arg(&socket)
            .output()
            .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !status(&["status"]).status.success() {
        assert!(Instant::now() < deadline, "the daemon did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    let stamp = jiff::Zoned::now().strftime("%b %e %H:%M:%S").to_string();
    let mut lines = String::new();
    for port in [40010, 40011] {
        lines.push_str(&format!(
            "{stamp} host sshd[9]: Failed password for root from 198.51.100.30 port {port} ssh2\n"
        ));
    }
    std::fs::write(&log, lines).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = status(&["banned", "--json"]);
        if String::from_utf8_lossy(&out.stdout).contains("198.51.100.30") {
            break;
        }
        assert!(Instant::now() < deadline, "no (dry-run) ban after 10 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(status(&["stop"]).status.success());
    let _ = daemon.wait();
}

/// A fail2ban action run by the daemon: what a log line captured (a user
/// name full of shell syntax, the matched line) reaches the command intact
/// and inert. The native backend is the dry-run one, so no root is needed;
/// the action itself is real.
#[test]
fn actions_get_captured_values_verbatim_and_inert() {
    let dir = tempfile::tempdir().unwrap();
    let Some(f2b) = stock_copy(dir.path()) else {
        return;
    };
    let out_dir = dir.path().join("action-out");
    std::fs::create_dir(&out_dir).unwrap();
    let marker = dir.path().join("PWNED");
    std::fs::write(
        f2b.join("filter.d/probe.conf"),
        "[Definition]\nfailregex = probe failed for user <F-USER>.+</F-USER> from <HOST>$\n",
    )
    .unwrap();
    std::fs::write(
        f2b.join("action.d/record.conf"),
        "[Definition]\n\
         actionstart = touch <dir>/started\n\
         actionban = printf '%%s\\n' <F-USER> >> <dir>/users\n            printf '%%s\\n' <matches> >> <dir>/matches\n            echo <ip> >> <dir>/ips\n\
         actionunban = echo unban <ip> >> <dir>/ips\n\
         actionstop = touch <dir>/stopped\n\
         [Init]\ndir = /nonexistent\n",
    )
    .unwrap();
    let log = dir.path().join("probe.log");
    std::fs::write(&log, "").unwrap();
    std::fs::write(
        f2b.join("jail.local"),
        format!(
            "[probe]\nenabled = true\nbackend = auto\nfilter = probe\nlogpath = {}\nmaxretry = 1\n\
             action = record[dir=\"{}\"]\n",
            log.display(),
            out_dir.display()
        ),
    )
    .unwrap();
    let socket = dir.path().join("s.sock");
    let config = dir.path().join("bantam.toml");
    std::fs::write(
        &config,
        format!(
            "[daemon]\nbackend = \"dry-run\"\nstate-dir = \"{}\"\nsocket = \"{}\"\nfail2ban-config = \"{}\"\n",
            dir.path().join("state").display(),
            socket.display(),
            f2b.display()
        ),
    )
    .unwrap();
    let mut daemon = bantam()
        .args(["run", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("daemon.log")).unwrap())
        .spawn()
        .unwrap();
    let cli = |args: &[&str]| {
        bantam()
            .args(args)
            .arg("--socket")
            .arg(&socket)
            .output()
            .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cli(&["status"]).status.success() {
        assert!(Instant::now() < deadline, "the daemon did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    // actionstart runs on the jail's action thread: the control socket
    // can answer before it has finished.
    while !out_dir.join("started").exists() {
        assert!(Instant::now() < deadline, "actionstart ran");
        std::thread::sleep(Duration::from_millis(20));
    }
    let payload = format!(
        "x$(touch {m});touch {m}`touch {m}`'\"$IFS\\ ; rm -rf {d}",
        m = marker.display(),
        d = out_dir.display()
    );
    let stamp = jiff::Zoned::now().strftime("%b %e %H:%M:%S").to_string();
    let line = format!("{stamp} host probe[7]: probe failed for user {payload} from 198.51.100.50");
    std::fs::write(&log, format!("{line}\n")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !out_dir.join("ips").exists() {
        assert!(
            Instant::now() < deadline,
            "actionban did not run: {}",
            std::fs::read_to_string(dir.path().join("daemon.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    let users = std::fs::read_to_string(out_dir.join("users")).unwrap();
    assert_eq!(
        users,
        format!("{payload}\n"),
        "the user name arrives verbatim"
    );
    let matches = std::fs::read_to_string(out_dir.join("matches")).unwrap();
    assert_eq!(
        matches,
        format!("{line}\n"),
        "the matched line arrives verbatim"
    );
    assert!(!marker.exists(), "nothing in a captured value was executed");
    assert!(out_dir.join("started").exists(), "rm -rf stayed inert");
    assert!(cli(&["unban", "198.51.100.50"]).status.success());
    let ips = std::fs::read_to_string(out_dir.join("ips")).unwrap();
    assert_eq!(ips, "198.51.100.50\nunban 198.51.100.50\n");
    assert!(cli(&["stop"]).status.success());
    let _ = daemon.wait();
    assert!(out_dir.join("stopped").exists(), "actionstop ran");
}
