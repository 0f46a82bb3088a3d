//! A fail2ban admin's configuration, run unchanged: Debian's stock
//! `/etc/fail2ban` (jail.conf, filter.d, action.d) plus a jail.local that
//! enables sshd with `banaction = nftables-multiport`, under
//! `bantam run --fail2ban-config`. A real sshd in a network namespace writes
//! its log; a real ssh client guesses passwords and must be banned by
//! fail2ban's own nftables action (run by bantam, in the namespace), and a
//! correct login from another address must not be. Needs root and the
//! Debian `fail2ban` package; addresses are TEST-NET-2, inside the
//! namespaces only.

mod support;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use support::*;

const SERVER: &str = "198.51.100.1";
const ATTACKER: &str = "198.51.100.8";
const FRIEND: &str = "198.51.100.11";
const PASSWORD: &str = "correct-horse-f2b";

fn stock_fail2ban() -> Option<&'static Path> {
    let dir = Path::new("/etc/fail2ban");
    if dir.join("jail.conf").is_file() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!("CI is set but /etc/fail2ban/jail.conf is missing: scripts/test.sh installs the fail2ban package");
    }
    eprintln!("skipping: the fail2ban package is not installed");
    None
}

fn copy_tree(from: &Path, to: &Path) {
    sh(&["cp", "-a", from.to_str().unwrap(), to.to_str().unwrap()]);
}

fn cli(socket: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(bantam())
        .args(args)
        .arg("--socket")
        .arg(socket)
        .output()
        .expect("bantam cli")
}

/// The elements of the set fail2ban's nftables action keeps for the jail.
fn f2b_set(net: &Net) -> String {
    let out = net
        .exec(
            &net.server,
            &["nft", "list", "set", "inet", "f2b-table", "addr-set-sshd"],
        )
        .output()
        .expect("nft");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What both tests start from: a copy of the stock configuration, the two
/// namespaces, a user with a password, and sshd logging as syslog would.
struct Scene {
    dir: tempfile::TempDir,
    f2b: std::path::PathBuf,
    net: Net,
    user: User,
    sshd_log: std::path::PathBuf,
    _sshd: Proc,
}

/// `None` (the test returns) without root or without fail2ban, outside CI.
fn scene(test: &str, tag: &str, user: &str) -> Option<Scene> {
    if !require_root(test) {
        return None;
    }
    let stock = stock_fail2ban()?;
    let dir = tempfile::tempdir().unwrap();
    let f2b = dir.path().join("fail2ban");
    copy_tree(stock, &f2b);
    let net = Net::new(
        tag,
        &[&format!("{SERVER}/24")],
        &[&format!("{ATTACKER}/24"), &format!("{FRIEND}/24")],
    );
    let user = User::new(user, PASSWORD);
    let sshd_log = dir.path().join("auth.log");
    let sshd = start_sshd_syslog(&net, &net.server, SERVER, dir.path(), &sshd_log);
    Some(Scene {
        dir,
        f2b,
        net,
        user,
        sshd_log,
        _sshd: sshd,
    })
}

#[test]
fn stock_jail_conf_with_nftables_multiport_bans_a_real_guesser() {
    let Some(Scene {
        dir,
        f2b,
        net,
        user,
        sshd_log,
        _sshd,
    }) = scene("e2e fail2ban config", "f2b", "btf2b")
    else {
        return;
    };

    // What an admin writes: jail.conf stays stock.
    std::fs::write(
        f2b.join("jail.local"),
        format!(
            "[DEFAULT]\nbanaction = nftables-multiport\nbanaction_allports = nftables-allports\n\
             ignoreip = 127.0.0.1/8 ::1\n\n\
             [sshd]\nenabled = true\nbackend = auto\nlogpath = {}\nmaxretry = 3\nfindtime = 10m\nbantime = 1h\n",
            sshd_log.display()
        ),
    )
    .unwrap();
    // Only bantam's own places: state and socket.
    let socket = dir.path().join("bantam.sock");
    let config = dir.path().join("bantam.toml");
    std::fs::write(
        &config,
        format!(
            "[daemon]\nstate-dir = \"{}\"\nsocket = \"{}\"\n",
            dir.path().join("state").display(),
            socket.display(),
        ),
    )
    .unwrap();
    let daemon_log = dir.path().join("bantam.log");
    let start = || {
        Proc(
            net.exec(
                &net.server,
                &[
                    bantam().to_str().unwrap(),
                    "run",
                    "--config",
                    config.to_str().unwrap(),
                    "--fail2ban-config",
                    f2b.to_str().unwrap(),
                ],
            )
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&daemon_log).unwrap())
            .spawn()
            .expect("bantam run"),
        )
    };
    let show_log = || std::fs::read_to_string(&daemon_log).unwrap_or_default();
    let mut daemon = start();
    wait_for("the control socket", Duration::from_secs(10), || {
        cli(&socket, &["status"]).status.success()
    });
    let status = String::from_utf8_lossy(&cli(&socket, &["status", "--json"]).stdout).into_owned();
    assert!(
        status.contains("sshd"),
        "the sshd jail runs: {status}\n{}",
        show_log()
    );

    assert!(
        ssh_attempt(&net, FRIEND, SERVER, &user.name, PASSWORD),
        "a correct login must work"
    );
    assert!(tcp_connects(&net, ATTACKER, SERVER, 22));
    for _ in 0..3 {
        assert!(!ssh_attempt(
            &net,
            ATTACKER,
            SERVER,
            &user.name,
            "wrong-guess"
        ));
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !f2b_set(&net).contains(ATTACKER) {
        assert!(
            std::time::Instant::now() < deadline,
            "the attacker is not in fail2ban's set after 10 s\nset: {}\nsshd log:\n{}\nbantam log:\n{}",
            f2b_set(&net),
            std::fs::read_to_string(&sshd_log).unwrap_or_default(),
            show_log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !tcp_connects(&net, ATTACKER, SERVER, 22),
        "a banned attacker cannot connect\n{}",
        show_log()
    );
    let banned = String::from_utf8_lossy(&cli(&socket, &["banned", "--json"]).stdout).into_owned();
    assert!(banned.contains(ATTACKER), "{banned}");
    assert!(
        !banned.contains(FRIEND),
        "the friend is not banned: {banned}"
    );
    assert!(
        ssh_attempt(&net, FRIEND, SERVER, &user.name, PASSWORD),
        "the friend still gets in"
    );

    // Stop runs actionstop (fail2ban's action removes its table); the next
    // start runs actionstart and bans again from the database.
    assert!(cli(&socket, &["stop"]).status.success());
    wait_for("the daemon to exit", Duration::from_secs(10), || {
        daemon.0.try_wait().unwrap().is_some()
    });
    assert!(
        !f2b_set(&net).contains(ATTACKER),
        "actionstop removed fail2ban's table"
    );
    daemon = start();
    wait_for("the restarted daemon", Duration::from_secs(10), || {
        cli(&socket, &["status"]).status.success()
    });
    wait_for(
        "the ban restored through the action",
        Duration::from_secs(10),
        || f2b_set(&net).contains(ATTACKER),
    );
    assert!(!tcp_connects(&net, ATTACKER, SERVER, 22), "{}", show_log());

    // Unban from the CLI runs actionunban.
    let out = cli(&socket, &["unban", ATTACKER]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!f2b_set(&net).contains(ATTACKER), "{}", show_log());
    assert!(tcp_connects(&net, ATTACKER, SERVER, 22));
    assert!(cli(&socket, &["stop"]).status.success());
    wait_for("the daemon to exit", Duration::from_secs(10), || {
        daemon.0.try_wait().unwrap().is_some()
    });
}

/// The same configuration with `fail2ban-actions = "native"`: the admin asks
/// bantam to carry fail2ban's firewall actions in its own nftables set (one
/// netlink batch, kernel timeouts) instead of running their commands.
#[test]
fn native_backend_stands_in_for_fail2ban_firewall_actions() {
    let Some(Scene {
        dir,
        f2b,
        net,
        user,
        sshd_log,
        _sshd,
    }) = scene("e2e fail2ban config, native actions", "f2bn", "btf2bn")
    else {
        return;
    };
    std::fs::write(
        f2b.join("jail.local"),
        format!(
            "[DEFAULT]\nbanaction = nftables-multiport\n\n\
             [sshd]\nenabled = true\nbackend = auto\nlogpath = {}\nmaxretry = 3\nbantime = 1h\n",
            sshd_log.display()
        ),
    )
    .unwrap();
    let socket = dir.path().join("bantam.sock");
    let config = dir.path().join("bantam.toml");
    std::fs::write(
        &config,
        format!(
            "[daemon]\nstate-dir = \"{}\"\nsocket = \"{}\"\nfail2ban-config = \"{}\"\nfail2ban-actions = \"native\"\n",
            dir.path().join("state").display(),
            socket.display(),
            f2b.display(),
        ),
    )
    .unwrap();
    let daemon_log = dir.path().join("bantam.log");
    let mut daemon = Proc(
        net.exec(
            &net.server,
            &[
                bantam().to_str().unwrap(),
                "run",
                "--config",
                config.to_str().unwrap(),
            ],
        )
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&daemon_log).unwrap())
        .spawn()
        .expect("bantam run"),
    );
    let show_log = || std::fs::read_to_string(&daemon_log).unwrap_or_default();
    wait_for("the control socket", Duration::from_secs(10), || {
        cli(&socket, &["status"]).status.success()
    });
    for _ in 0..3 {
        assert!(!ssh_attempt(
            &net,
            ATTACKER,
            SERVER,
            &user.name,
            "wrong-guess"
        ));
    }
    wait_for(
        "the attacker in bantam's set",
        Duration::from_secs(10),
        || nft_set(&net, &net.server, "addr4").contains(ATTACKER),
    );
    assert!(!tcp_connects(&net, ATTACKER, SERVER, 22), "{}", show_log());
    assert!(
        f2b_set(&net).is_empty(),
        "fail2ban's own action did not run: {}",
        f2b_set(&net)
    );
    assert!(ssh_attempt(&net, FRIEND, SERVER, &user.name, PASSWORD));
    assert!(cli(&socket, &["stop"]).status.success());
    wait_for("the daemon to exit", Duration::from_secs(10), || {
        daemon.0.try_wait().unwrap().is_some()
    });
}
