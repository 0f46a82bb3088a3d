//! Faults, end to end, for real: bantam runs inside a network namespace and
//! bans in that namespace's nftables (table `inet bantam`), while the test
//! makes things go wrong around it: the disk under its store fills up, a
//! fail2ban action takes seconds per ban, one write carries the same
//! attacker three times, a second `bantam run` is started beside the first.
//! Needs root (and Debian's `fail2ban` package for the fail2ban configs);
//! fails rather than skips under CI. Addresses come from the documentation
//! and benchmarking ranges and live only in the namespaces made here.

mod support;

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::*;

/// The tmpfs the store lives on in the full-disk test. Not smaller: 2,000
/// bans take about 630 kB of write-ahead log before a checkpoint (measured),
/// so a 256 kB file system could never take them and the store would stay
/// degraded for good (bans in memory, retried forever).
const STATE_FS: &str = "2m";

/// A scene: a temporary directory, the namespaces, bantam's configuration.
struct Scene {
    dir: tempfile::TempDir,
    net: Net,
    socket: PathBuf,
    config: PathBuf,
    /// A copy of /etc/fail2ban, when the test runs fail2ban jails.
    f2b: Option<PathBuf>,
}

impl Scene {
    /// `None` (the test returns) without root, outside CI. The store is in
    /// `state` of the scene's directory; `jails` writes bantam.toml's jail
    /// sections, given that directory.
    fn new(test: &str, tag: &str, jails: impl FnOnce(&Path) -> String) -> Option<Scene> {
        if !require_root(test) {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let net = Net::new(tag, &["198.51.100.1/24"], &["198.51.100.2/24"]);
        let socket = dir.path().join("bantam.sock");
        let config = dir.path().join("bantam.toml");
        std::fs::write(
            &config,
            format!(
                "[daemon]\nstate-dir = \"{}\"\nsocket = \"{}\"\n\n{}",
                dir.path().join("state").display(),
                socket.display(),
                jails(dir.path())
            ),
        )
        .unwrap();
        Some(Scene {
            dir,
            net,
            socket,
            config,
            f2b: None,
        })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Copies /etc/fail2ban into the scene with `jail.d` emptied (Debian's
    /// enables sshd there), and writes `jail.local` and the given
    /// `action.d` files. Returns false (skip) when fail2ban is missing
    /// outside CI.
    fn fail2ban(&mut self, jail_local: &str, actions: &[(&str, &str)]) -> bool {
        let stock = Path::new("/etc/fail2ban");
        if !stock.join("jail.conf").is_file() {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but /etc/fail2ban/jail.conf is missing: install the fail2ban package"
            );
            eprintln!("skipping: the fail2ban package is not installed");
            return false;
        }
        let f2b = self.path("fail2ban");
        sh(&["cp", "-a", stock.to_str().unwrap(), f2b.to_str().unwrap()]);
        for entry in std::fs::read_dir(f2b.join("jail.d")).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
        std::fs::write(f2b.join("jail.local"), jail_local).unwrap();
        for (name, text) in actions {
            std::fs::write(f2b.join("action.d").join(format!("{name}.conf")), text).unwrap();
        }
        self.f2b = Some(f2b);
        true
    }

    /// `bantam run` in the server namespace, its output into `stderr_to`.
    fn start(&self, stderr_to: &str) -> Proc {
        Proc(self.run_command(stderr_to).spawn().expect("bantam run"))
    }

    fn run_command(&self, stderr_to: &str) -> Command {
        let bin = bantam();
        let mut args = vec![
            bin.to_str().unwrap(),
            "run",
            "--config",
            self.config.to_str().unwrap(),
        ];
        if let Some(f2b) = &self.f2b {
            args.extend(["--fail2ban-config", f2b.to_str().unwrap()]);
        }
        let mut command = self.net.exec(&self.net.server, &args);
        command
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.path(stderr_to)).unwrap());
        command
    }

    /// Starts bantam and waits until it answers.
    fn start_ready(&self, stderr_to: &str) -> Proc {
        let mut daemon = self.start(stderr_to);
        wait_for("bantam to answer", Duration::from_secs(20), || {
            if let Some(status) = daemon.0.try_wait().unwrap() {
                panic!("bantam exited ({status}):\n{}", self.read(stderr_to));
            }
            self.cli(&["status"]).status.success()
        });
        daemon
    }

    fn stop(&self, daemon: &mut Proc) {
        assert!(self.cli(&["stop"]).status.success());
        wait_for("bantam to exit", Duration::from_secs(30), || {
            daemon.0.try_wait().unwrap().is_some()
        });
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }

    fn cli(&self, args: &[&str]) -> Output {
        Command::new(bantam())
            .args(args)
            .arg("--socket")
            .arg(&self.socket)
            .output()
            .expect("bantam cli")
    }

    /// `bantam status --json`, parsed.
    fn status(&self) -> serde_json::Value {
        let out = self.cli(&["status", "--json"]);
        assert!(
            out.status.success(),
            "status: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("status is JSON")
    }

    fn jail_counter(&self, jail: &str, counter: &str) -> u64 {
        let status = self.status();
        let jails = status["jails"].as_array().expect("jails");
        let found = jails.iter().find(|j| j["name"] == jail);
        let found = found.unwrap_or_else(|| panic!("no jail {jail} in {status}"));
        found[counter].as_u64().expect(counter)
    }

    /// The addresses in bantam's kernel set `addr4`, read with `nft -j`.
    fn kernel_set(&self) -> HashSet<String> {
        let out = self
            .net
            .exec(
                &self.net.server,
                &["nft", "-j", "list", "set", "inet", "bantam", "addr4"],
            )
            .output()
            .expect("nft");
        if !out.status.success() {
            return HashSet::new();
        }
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("nft -j");
        let sets = json["nftables"].as_array().expect("nftables");
        let elems = sets.iter().filter_map(|o| o["set"]["elem"].as_array());
        // Elements with a timeout come as {"elem": {"val": A, …}}.
        elems
            .flatten()
            .filter_map(|e| e.as_str().or_else(|| e["elem"]["val"].as_str()))
            .map(str::to_owned)
            .collect()
    }

    fn ruleset(&self) -> String {
        let out = sh(&[
            "ip",
            "netns",
            "exec",
            &self.net.server,
            "nft",
            "list",
            "ruleset",
        ]);
        String::from_utf8(out.stdout).unwrap()
    }
}

/// sshd's failure line as syslog writes it, stamped now.
fn failure_line(addr: &str, seq: usize) -> String {
    let stamp = jiff::Zoned::now().strftime("%b %e %H:%M:%S").to_string();
    format!(
        "{stamp} server sshd[{}]: Failed password for root from {addr} port {} ssh2\n",
        10_000 + seq,
        30_000 + seq % 30_000
    )
}

/// Appends `text` in one write(), as syslog does; returns when it wrote.
fn append(path: &Path, text: &str) -> Instant {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    let at = Instant::now();
    file.write_all(text.as_bytes()).unwrap();
    at
}

/// A native jail on `log` with sshd's filter, banning at the first failure.
fn native_jail(name: &str, log: &Path) -> String {
    std::fs::File::create(log).unwrap();
    format!(
        "[jails.{name}]\nfilter = \"sshd\"\nlogpath = [\"{}\"]\nmaxretry = 1\nfindtime = \"10m\"\n\
         bantime = \"1h\"\n\n",
        log.display()
    )
}

/// A fail2ban jail section with fail2ban's sshd filter and one action.
fn f2b_jail(name: &str, log: &Path, action: &str) -> String {
    std::fs::File::create(log).unwrap();
    format!(
        "[{name}]\nenabled = true\nfilter = sshd\nbackend = auto\nlogpath = {}\nmaxretry = 1\n\
         findtime = 10m\nbantime = 1h\naction = {action}\n\n",
        log.display()
    )
}

/// An action.d file: `start` and `ban` as given, everything else a no-op.
fn action_file(start: &str, ban: &str) -> String {
    format!(
        "[Definition]\nactionstart = {start}\nactionstop = \nactioncheck = \nactionban = {ban}\n\
         actionunban = \n\n[Init]\ntimeout = 60\n"
    )
}

/// A tmpfs mounted for the test, unmounted on drop (even on panic).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        sh(&[
            "mount",
            "-t",
            "tmpfs",
            "-o",
            &format!("size={size},mode=0700"),
            "bantam-e2e",
            at.to_str().unwrap(),
        ]);
        Tmpfs(at.to_owned())
    }

    /// Writes `path` until the file system is full; returns the bytes written.
    fn fill(&self, path: &Path) -> u64 {
        let mut file = std::fs::File::create(path).unwrap();
        let block = [0x5a_u8; 4096];
        let mut written = 0u64;
        loop {
            match file.write(&block) {
                Ok(0) => break,
                Ok(n) => written += n as u64,
                Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
                Err(e) => panic!("filling {}: {e}", path.display()),
            }
        }
        written
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a daemon still holding the database must not keep it.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .stderr(Stdio::null())
            .status();
    }
}

/// Like [`wait_for`], but a timeout also prints `context()` (the daemon's
/// log, what the kernel holds).
fn wait_or_show(
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> bool,
    context: impl Fn() -> String,
) {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether a process whose command line is `argv` runs in namespace `ns`.
fn runs_in(ns: &str, argv: &[&str]) -> bool {
    let out = sh(&["ip", "netns", "pids", ns]);
    let want: Vec<u8> = argv
        .iter()
        .flat_map(|a| [a.as_bytes(), b"\0"].concat())
        .collect();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .any(|pid| std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c == want))
}

#[test]
fn a_full_disk_under_the_store_never_stops_a_ban_and_the_store_catches_up() {
    let Some(scene) = Scene::new("e2e full disk", "disk", |dir| {
        native_jail("sshd", &dir.join("auth.log"))
    }) else {
        return;
    };
    let tmpfs = Tmpfs::mount(&scene.path("state"), STATE_FS);
    let mut daemon = scene.start_ready("bantam.log");
    let show = || format!("bantam log:\n{}", scene.read("bantam.log"));
    let filler = scene.path("state/filler");
    let filled = tmpfs.fill(&filler);
    eprintln!("filled the {STATE_FS} state tmpfs with {filled} bytes");

    let attackers: Vec<String> = (0..2000)
        .map(|i| format!("198.18.{}.{}", 1 + i / 250, 1 + i % 250))
        .collect();
    let lines: String = (attackers.iter().enumerate())
        .map(|(i, a)| failure_line(a, i))
        .collect();
    append(&scene.path("auth.log"), &lines);
    wait_or_show(
        "2,000 bans in the kernel with the disk full",
        Duration::from_secs(30),
        || scene.kernel_set().len() >= attackers.len(),
        show,
    );
    let set = scene.kernel_set();
    assert!(attackers.iter().all(|a| set.contains(a)), "{}", show());
    let status = scene.status();
    let store = status["store"]
        .as_str()
        .unwrap_or_else(|| panic!("status must show the store degraded: {status}\n{}", show()));
    assert!(store.contains("2000 ban(s)"), "{store}");
    assert_eq!(scene.jail_counter("sshd", "total_banned"), 2000);

    std::fs::remove_file(&filler).unwrap();
    wait_or_show(
        "the store to take the bans once it has room",
        Duration::from_secs(60),
        || scene.status()["store"].is_null(),
        || format!("status: {}\n{}", scene.status(), show()),
    );
    let log = scene.read("bantam.log");
    assert!(log.contains("state store failing"), "{log}");
    assert!(log.contains("state store recovered"), "{log}");

    // The store, not the kernel, brings them back: the table goes away
    // between two runs.
    scene.stop(&mut daemon);
    sh(&[
        "ip",
        "netns",
        "exec",
        &scene.net.server,
        "nft",
        "delete",
        "table",
        "inet",
        "bantam",
    ]);
    let _daemon = scene.start_ready("bantam-2.log");
    let set = scene.kernel_set();
    let missing: Vec<&String> = attackers.iter().filter(|a| !set.contains(*a)).collect();
    assert!(
        missing.is_empty(),
        "{} of 2000 not restored, e.g. {:?}\n{}",
        missing.len(),
        missing.first(),
        scene.read("bantam-2.log")
    );
    assert_eq!(scene.jail_counter("sshd", "currently_banned"), 2000);
    // From the store, not from the log read again: this run banned nothing.
    assert_eq!(
        scene.jail_counter("sshd", "total_banned"),
        0,
        "{}",
        scene.read("bantam-2.log")
    );
}

#[test]
fn a_slow_fail2ban_action_does_not_delay_another_jails_bans() {
    let Some(mut scene) = Scene::new("e2e slow action", "slow", |dir| {
        native_jail("native", &dir.join("native.log"))
    }) else {
        return;
    };
    let slow_log = scene.path("slow.log");
    let jail = f2b_jail("slow", &slow_log, "slowsleep");
    if !scene.fail2ban(&jail, &[("slowsleep", &action_file("", "sleep 5"))]) {
        return;
    }
    let _daemon = scene.start_ready("bantam.log");
    let show = || format!("bantam log:\n{}", scene.read("bantam.log"));

    // Three bans in the slow jail: 15 s of `sleep 5` queued on its thread.
    let slow: String = (1..=3)
        .map(|i| failure_line(&format!("203.0.113.{i}"), i))
        .collect();
    let fed = append(&slow_log, &slow);
    wait_or_show(
        "the slow jail's three bans",
        Duration::from_secs(10),
        || scene.jail_counter("slow", "total_banned") == 3,
        show,
    );
    wait_or_show(
        "the first slow action to run",
        Duration::from_secs(10),
        || runs_in(&scene.net.server, &["sleep", "5"]),
        show,
    );

    let native_log = scene.path("native.log");
    let mut latencies = Vec::new();
    let mut status_times = Vec::new();
    for k in 0..5 {
        let addr = format!("198.51.100.{}", 50 + k);
        let wrote = append(&native_log, &failure_line(&addr, 100 + k));
        while !scene.kernel_set().contains(&addr) {
            assert!(
                wrote.elapsed() < Duration::from_secs(10),
                "{addr} never banned\n{}",
                show()
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        latencies.push(wrote.elapsed());
        let asked = Instant::now();
        assert!(scene.cli(&["status"]).status.success());
        status_times.push(asked.elapsed());
    }
    eprintln!("native bans behind a slow action: {latencies:?}; status: {status_times:?}");
    // The point of the test: the slow jail was still busy all along.
    assert!(
        runs_in(&scene.net.server, &["sleep", "5"]),
        "the slow action finished before the measurements ({:?} after its lines)",
        fed.elapsed()
    );
    // Polling `nft` from here costs a few ms a round: the bound is loose,
    // bench/slow-action.sh measures.
    let worst = latencies.iter().max().unwrap();
    assert!(*worst < Duration::from_millis(500), "{latencies:?}");
    let worst = status_times.iter().max().unwrap();
    assert!(*worst < Duration::from_millis(500), "{status_times:?}");
}

#[test]
fn one_write_with_three_failures_of_one_address_is_one_ban_and_one_action_run() {
    const ATTACKER: &str = "192.0.2.77";
    let Some(mut scene) = Scene::new("e2e one ban per batch", "once", |dir| {
        native_jail("native", &dir.join("auth.log"))
    }) else {
        return;
    };
    let bans_file = scene.path("bans.txt");
    let action = action_file("", &format!("echo <ip> >> {}", bans_file.display()));
    // The fail2ban jail reads the same log as the native jail.
    let jail = f2b_jail("counted", &scene.path("auth.log"), "appendban");
    if !scene.fail2ban(&jail, &[("appendban", &action)]) {
        return;
    }
    let _daemon = scene.start_ready("bantam.log");
    let show = || format!("bantam log:\n{}", scene.read("bantam.log"));

    let lines: String = (0..3).map(|i| failure_line(ATTACKER, i)).collect();
    append(&scene.path("auth.log"), &lines);
    wait_or_show(
        "the ban action to run",
        Duration::from_secs(10),
        || std::fs::read_to_string(&bans_file).is_ok_and(|t| t.contains(ATTACKER)),
        show,
    );
    wait_or_show(
        "the native ban",
        Duration::from_secs(10),
        || scene.kernel_set().contains(ATTACKER),
        show,
    );
    // Time for a second run of the action, if there were one.
    std::thread::sleep(Duration::from_secs(1));
    let runs = std::fs::read_to_string(&bans_file).unwrap();
    assert_eq!(runs, format!("{ATTACKER}\n"), "{}", show());
    assert_eq!(scene.jail_counter("counted", "total_banned"), 1);
    assert_eq!(scene.jail_counter("native", "total_banned"), 1);
    assert_eq!(scene.jail_counter("native", "total_failures"), 3);
}

#[test]
fn a_second_bantam_run_is_refused_and_changes_nothing() {
    let Some(mut scene) = Scene::new("e2e second instance", "twice", |dir| {
        native_jail("native", &dir.join("auth.log"))
    }) else {
        return;
    };
    let marker = scene.path("started");
    let action = action_file(&format!("touch {}", marker.display()), "");
    let jail = f2b_jail("marked", &scene.path("marked.log"), "markstart");
    if !scene.fail2ban(&jail, &[("markstart", &action)]) {
        return;
    }
    let mut first = scene.start_ready("first.log");
    wait_or_show(
        "the first instance's actionstart",
        Duration::from_secs(10),
        || marker.exists(),
        || scene.read("first.log"),
    );
    std::fs::remove_file(&marker).unwrap();
    let before = scene.ruleset();
    assert!(before.contains("table inet bantam"), "{before}");

    let mut second = Proc(scene.run_command("second.log").spawn().unwrap());
    wait_or_show(
        "the second instance to give up",
        Duration::from_secs(20),
        || second.0.try_wait().unwrap().is_some(),
        || scene.read("second.log"),
    );
    let exit = second.0.wait().unwrap();
    let said = scene.read("second.log");
    assert!(!exit.success(), "the second instance must fail: {said}");
    assert!(
        said.contains("another bantam is running") && said.contains(scene.socket.to_str().unwrap()),
        "it names the running instance: {said}"
    );
    assert_eq!(scene.ruleset(), before, "the firewall is untouched");
    // Actions start on the action thread: give a stray start time to show.
    std::thread::sleep(Duration::from_millis(500));
    assert!(!marker.exists(), "the second instance ran actionstart");
    assert!(
        first.0.try_wait().unwrap().is_none(),
        "the first still runs"
    );
    assert!(scene.cli(&["status"]).status.success(), "and answers");
    scene.stop(&mut first);
}
