//! End to end, for real: an OpenSSH server in a network namespace writes its
//! log; bantam, in the same namespace, reads it and bans in nftables; ssh
//! clients in a second namespace guess passwords (and one logs in
//! correctly). Needs root; addresses are from TEST-NET-2 and live only in
//! the namespaces this test creates.

mod support;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use support::*;

const SERVER: &str = "198.51.100.1";
const ATTACKER: &str = "198.51.100.7";
const FRIEND: &str = "198.51.100.10";
const PASSWORD: &str = "correct-horse-e2e";

fn start_bantam(net: &Net, config: &Path, log: &Path) -> Proc {
    let stderr = std::fs::File::create(log).unwrap();
    Proc(
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
        .stderr(stderr)
        .spawn()
        .expect("bantam run"),
    )
}

fn cli(socket: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(bantam())
        .args(args)
        .arg("--socket")
        .arg(socket)
        .output()
        .expect("bantam cli")
}

fn banned_list(socket: &Path) -> String {
    String::from_utf8_lossy(&cli(socket, &["banned", "--json"]).stdout).into_owned()
}

#[test]
fn sshd_guesser_is_banned_friend_is_not_and_the_ban_survives_a_restart() {
    if !require_root("e2e sshd") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let net = Net::new(
        "e2e",
        &[&format!("{SERVER}/24")],
        &[&format!("{ATTACKER}/24"), &format!("{FRIEND}/24")],
    );
    let user = User::new("bte2e", PASSWORD);
    let sshd_log = dir.path().join("sshd.log");
    let _sshd = start_sshd(&net, &net.server, SERVER, dir.path(), &sshd_log);
    let socket = dir.path().join("bantam.sock");
    let config = dir.path().join("bantam.toml");
    std::fs::write(
        &config,
        format!(
            "[daemon]\nstate-dir = \"{}\"\nsocket = \"{}\"\n\n[jails.sshd]\nfilter = \"sshd\"\nlogpath = [\"{}\"]\n\
             maxretry = 3\nfindtime = \"10m\"\nbantime = \"1h\"\nignoreip = [\"127.0.0.0/8\"]\n",
            dir.path().join("state").display(),
            socket.display(),
            sshd_log.display()
        ),
    )
    .unwrap();
    let daemon_log = dir.path().join("bantam.log");
    let mut daemon = start_bantam(&net, &config, &daemon_log);
    let show_log = || std::fs::read_to_string(&daemon_log).unwrap_or_default();
    wait_for("the control socket", Duration::from_secs(10), || {
        cli(&socket, &["status"]).status.success()
    });

    // The friend logs in with the right password: never a failure.
    assert!(
        ssh_attempt(&net, FRIEND, SERVER, &user.name, PASSWORD),
        "a correct login must work"
    );

    // The attacker guesses until banned.
    assert!(
        tcp_connects(&net, ATTACKER, SERVER, 22),
        "before any ban, the attacker can connect"
    );
    for _ in 0..3 {
        assert!(!ssh_attempt(
            &net,
            ATTACKER,
            SERVER,
            &user.name,
            "wrong-guess"
        ));
    }
    wait_for("the attacker's ban", Duration::from_secs(10), || {
        banned_list(&socket).contains(ATTACKER)
    });
    assert!(
        nft_set(&net, &net.server, "addr4").contains(ATTACKER),
        "the ban is in the kernel set"
    );
    assert!(
        !tcp_connects(&net, ATTACKER, SERVER, 22),
        "a banned attacker cannot connect\n{}",
        show_log()
    );
    assert!(
        !banned_list(&socket).contains(FRIEND),
        "the friend is not banned"
    );
    assert!(
        ssh_attempt(&net, FRIEND, SERVER, &user.name, PASSWORD),
        "the friend still gets in"
    );

    // Restart with the kernel table gone in between: the ban comes back from
    // the database.
    assert!(cli(&socket, &["stop"]).status.success());
    wait_for("the daemon to exit", Duration::from_secs(10), || {
        daemon.0.try_wait().unwrap().is_some()
    });
    sh(&[
        "ip",
        "netns",
        "exec",
        &net.server,
        "nft",
        "delete",
        "table",
        "inet",
        "bantam",
    ]);
    assert!(
        tcp_connects(&net, ATTACKER, SERVER, 22),
        "with the table gone, the attacker gets through"
    );
    daemon = start_bantam(&net, &config, &daemon_log);
    wait_for("the restarted daemon", Duration::from_secs(10), || {
        cli(&socket, &["status"]).status.success()
    });
    assert!(
        nft_set(&net, &net.server, "addr4").contains(ATTACKER),
        "restored into the kernel\n{}",
        show_log()
    );
    assert!(
        !tcp_connects(&net, ATTACKER, SERVER, 22),
        "banned again after the restart"
    );
    assert!(banned_list(&socket).contains(ATTACKER));

    // Unban from the CLI lifts it.
    let out = cli(&socket, &["unban", ATTACKER]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!nft_set(&net, &net.server, "addr4").contains(ATTACKER));
    assert!(
        tcp_connects(&net, ATTACKER, SERVER, 22),
        "unbanned: the attacker can connect again"
    );
    assert!(!banned_list(&socket).contains(ATTACKER));

    // kill -9 right after a ban: the ban was committed to the database before
    // the kernel got it, so it comes back.
    for _ in 0..3 {
        assert!(!ssh_attempt(
            &net,
            ATTACKER,
            SERVER,
            &user.name,
            "another-guess"
        ));
    }
    wait_for("the second ban", Duration::from_secs(10), || {
        banned_list(&socket).contains(ATTACKER)
    });
    daemon.0.kill().unwrap();
    daemon.0.wait().unwrap();
    sh(&[
        "ip",
        "netns",
        "exec",
        &net.server,
        "nft",
        "delete",
        "table",
        "inet",
        "bantam",
    ]);
    daemon = start_bantam(&net, &config, &daemon_log);
    wait_for("the daemon after kill -9", Duration::from_secs(10), || {
        cli(&socket, &["status"]).status.success()
    });
    assert!(
        nft_set(&net, &net.server, "addr4").contains(ATTACKER),
        "restored after kill -9\n{}",
        show_log()
    );
    assert!(!tcp_connects(&net, ATTACKER, SERVER, 22));
    drop(daemon);
}
