//! The Debian package, installed for real on this machine with dpkg (root;
//! with CI set, a test that cannot run fails): files, user, permissions,
//! `bantam --version` from /usr/bin, `man bantam`, bash completion, the
//! unit checked by `systemd-analyze verify`, the packaged daemon running as
//! user `bantam` with CAP_NET_ADMIN alone (in a network namespace), and a
//! purge that leaves nothing behind.
//!
//! The package is the one `scripts/test.sh` built (target/debian/); when
//! there is none, this test's own binary is packaged (faster than a release
//! build, and the same files). Nothing here starts a service: no systemd
//! runs on this machine, and where one does, a policy-rc.d forbids starts
//! while the package is installed.

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use support::{require_root, wait_for, Proc};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(args: &[&str]) -> Output {
    Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn installed() -> bool {
    run(&["dpkg-query", "-W", "-f=${Status}", "bantam"])
        .stdout
        .starts_with(b"install ok installed")
}

/// The .deb to install: test.sh's, or one made from this test's binary.
fn package() -> PathBuf {
    let dir = workspace().join("target/debian");
    let found = std::fs::read_dir(&dir).ok().and_then(|entries| {
        entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "deb"))
    });
    if let Some(deb) = found {
        return deb;
    }
    let out = Command::new(workspace().join("scripts/package.sh"))
        .env("BANTAM_BIN", env!("CARGO_BIN_EXE_bantam"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // package.sh prints the path relative to the workspace.
    workspace().join(String::from_utf8_lossy(&out.stdout).trim())
}

/// Purges the package and the user on drop, even when the test fails.
struct Installed {
    policy_rc: bool,
}

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = run(&["dpkg", "--purge", "bantam"]);
        // Debian keeps system users on purge; the test leaves none behind.
        let _ = run(&["userdel", "bantam"]);
        let _ = run(&["groupdel", "bantam"]);
        if self.policy_rc {
            let _ = std::fs::remove_file("/usr/sbin/policy-rc.d");
        }
    }
}

fn install(deb: &Path) -> Installed {
    assert!(
        !installed(),
        "bantam is already installed on this machine; the test will not replace it"
    );
    let systemd = Path::new("/run/systemd/system").exists();
    let policy = Path::new("/usr/sbin/policy-rc.d");
    let policy_rc = systemd && !policy.exists();
    if policy_rc {
        std::fs::write(policy, "#!/bin/sh\nexit 101\n").unwrap();
        std::fs::set_permissions(policy, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let guard = Installed { policy_rc };
    ok(&["dpkg", "-i", deb.to_str().unwrap()]);
    guard
}

fn mode_owner(path: &str) -> (u32, String) {
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let owner = ok(&["stat", "-c", "%U:%G", path]).trim().to_owned();
    (meta.mode() & 0o7777, owner)
}

#[test]
fn the_package_installs_runs_unprivileged_and_purges_clean() {
    if !require_root("the_package_installs_runs_unprivileged_and_purges_clean") {
        return;
    }
    let deb = package();
    let info = ok(&[
        "dpkg-deb",
        "--field",
        deb.to_str().unwrap(),
        "Package",
        "Version",
    ]);
    assert!(info.contains("Package: bantam"), "{info}");
    let guard = install(&deb);

    // Files, modes and owners.
    assert_eq!(mode_owner("/usr/bin/bantam"), (0o755, "root:root".into()));
    for file in [
        "/usr/lib/systemd/system/bantam.service",
        "/usr/lib/sysusers.d/bantam.conf",
        "/etc/bantam/bantam.toml",
        "/usr/share/man/man8/bantam.8.gz",
        "/usr/share/bash-completion/completions/bantam",
        "/usr/share/zsh/vendor-completions/_bantam",
        "/usr/share/fish/vendor_completions.d/bantam.fish",
        "/usr/share/doc/bantam/examples/bantam-fail2ban.conf",
    ] {
        assert_eq!(mode_owner(file), (0o644, "root:root".into()), "{file}");
    }
    assert!(Path::new("/etc/bantam/conf.d").is_dir());
    let conffiles = ok(&["dpkg-query", "-W", "-f=${Conffiles}", "bantam"]);
    assert!(conffiles.contains("/etc/bantam/bantam.toml"), "{conffiles}");
    // The user, in group adm, owning its state.
    let groups = ok(&["id", "-nG", "bantam"]);
    assert!(groups.split_whitespace().any(|g| g == "adm"), "{groups}");
    assert_eq!(
        mode_owner("/var/lib/bantam"),
        (0o700, "bantam:bantam".into())
    );

    // What an administrator types first.
    let version = ok(&["/usr/bin/bantam", "--version"]);
    assert!(version.starts_with("bantam 0."), "{version}");
    let man = Command::new("man")
        .args(["-P", "cat", "bantam"])
        .env("MANWIDTH", "100")
        .output()
        .unwrap();
    let page = String::from_utf8_lossy(&man.stdout);
    assert!(
        man.status.success(),
        "{}",
        String::from_utf8_lossy(&man.stderr)
    );
    assert!(
        page.contains("bantam history") && page.contains("FILES"),
        "{page}"
    );
    let complete = ok(&[
        "bash",
        "-c",
        "source /usr/share/bash-completion/completions/bantam && complete -p bantam",
    ]);
    assert!(complete.contains("bantam"), "{complete}");
    verify_unit();

    unprivileged_daemon();

    drop(guard);
    assert!(!installed());
    for gone in ["/usr/bin/bantam", "/var/lib/bantam", "/etc/bantam"] {
        assert!(!Path::new(gone).exists(), "{gone} left after purge");
    }
    assert!(!run(&["getent", "passwd", "bantam"]).status.success());
}

/// `systemd-analyze verify`, where it exists (it needs no running systemd).
fn verify_unit() {
    if run(&["sh", "-c", "command -v systemd-analyze"])
        .stdout
        .is_empty()
    {
        eprintln!("systemd-analyze not installed: unit not verified");
        return;
    }
    let out = run(&[
        "systemd-analyze",
        "verify",
        "/usr/lib/systemd/system/bantam.service",
    ]);
    let text = String::from_utf8_lossy(&out.stderr);
    // Without systemd running, verify also complains about units the
    // machine lacks (nftables.service may not be installed); only lines
    // about bantam.service itself count.
    let ours: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("bantam.service") && !l.contains("nftables.service"))
        .collect();
    assert!(ours.is_empty(), "{text}");
}

/// The installed binary as the unit runs it: user bantam, groups from
/// /etc/group (adm), CAP_NET_ADMIN and nothing else, in a network namespace
/// of its own. It reads a log only group adm may read, bans, and answers
/// root's CLI on its socket.
fn unprivileged_daemon() {
    let ns = format!("bantam-pkg-{}", std::process::id());
    ok(&["ip", "netns", "add", &ns]);
    let _ns = NetnsGuard(ns.clone());
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
    for sub in ["state", "run"] {
        ok(&[
            "install",
            "-d",
            "-m",
            "0700",
            "-o",
            "bantam",
            "-g",
            "bantam",
            root.join(sub).to_str().unwrap(),
        ]);
    }
    let log = root.join("auth.log");
    std::fs::write(&log, "").unwrap();
    ok(&["chown", "root:adm", log.to_str().unwrap()]);
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o640)).unwrap();
    let socket = root.join("run/bantam.sock");
    let config = root.join("bantam.toml");
    std::fs::write(
        &config,
        format!(
            "[daemon]\nstate-dir = \"{}\"\nsocket = \"{}\"\n\
             [jails.sshd]\nfilter = \"sshd\"\nlogpath = [\"{}\"]\nmaxretry = 1\n",
            root.join("state").display(),
            socket.display(),
            log.display()
        ),
    )
    .unwrap();
    let _daemon = Proc(
        Command::new("ip")
            .args([
                "netns",
                "exec",
                &ns,
                "setpriv",
                "--reuid=bantam",
                "--regid=bantam",
                "--init-groups",
            ])
            .args([
                "--inh-caps=-all,+net_admin",
                "--ambient-caps=-all,+net_admin",
            ])
            .args([
                "--bounding-set=-all,+net_admin",
                "/usr/bin/bantam",
                "run",
                "--config",
            ])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let cli = |args: &[&str]| {
        Command::new("/usr/bin/bantam")
            .args(args)
            .arg("--socket")
            .arg(&socket)
            .output()
            .unwrap()
    };
    wait_for("the unprivileged daemon", Duration::from_secs(20), || {
        cli(&["status"]).status.success()
    });
    let stamp = jiff::Zoned::now().strftime("%b %e %H:%M:%S").to_string();
    let line = format!(
        "{stamp} host sshd[42]: Failed password for root from 203.0.113.7 port 50000 ssh2\n"
    );
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .and_then(|mut f| std::io::Write::write_all(&mut f, line.as_bytes()))
        .unwrap();
    assert!(
        cli(&["ban", "sshd", "192.0.2.44", "--reason", "package test"])
            .status
            .success()
    );
    wait_for("the ban from the log", Duration::from_secs(10), || {
        String::from_utf8_lossy(&cli(&["banned"]).stdout).contains("203.0.113.7")
    });
    let table = ok(&[
        "ip", "netns", "exec", &ns, "nft", "list", "table", "inet", "bantam",
    ]);
    assert!(
        table.contains("192.0.2.44") && table.contains("203.0.113.7"),
        "{table}"
    );
    let db = root.join("state/bantam.db");
    assert_eq!(
        mode_owner(db.to_str().unwrap()),
        (0o600, "bantam:bantam".into())
    );
    assert!(cli(&["stop"]).status.success());
}

struct NetnsGuard(String);

impl Drop for NetnsGuard {
    fn drop(&mut self) {
        let _ = run(&["ip", "netns", "delete", &self.0]);
    }
}
