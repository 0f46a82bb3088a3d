//! A fleet for real: a PostgreSQL started by the test, bantam daemons in
//! network namespaces of their own (each with its nftables table and an
//! attacker next door), sharing bans through the database.

mod support;

#[path = "support/postgres.rs"]
mod postgres;

use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use postgres::Postgres;
use support::*;

const SERVER: &str = "198.51.100.1";
const ATTACKER: &str = "198.51.100.2";
const PORT: u16 = 8080;

struct Host {
    name: String,
    net: Net,
    dir: tempfile::TempDir,
    config: PathBuf,
    socket: PathBuf,
    log: PathBuf,
    daemon: Option<Proc>,
}

/// A host of the fleet: logs in as role `name`, shares its `sshd` jail.
fn host(pg: &Postgres, test: &str, name: &str, jail_extra: &str, fleet_extra: &str) -> Host {
    let dir = tempfile::tempdir().unwrap();
    let net = Net::new(
        &format!("f{test}{name}"),
        &[&format!("{SERVER}/24")],
        &[&format!("{ATTACKER}/24")],
    );
    let policy = match jail_extra.contains("maxretry") {
        true => jail_extra.to_owned(),
        false => format!("maxretry = 1\n{jail_extra}"),
    };
    let socket = dir.path().join("bantam.sock");
    let config = dir.path().join("bantam.toml");
    let log = dir.path().join("auth.log");
    std::fs::write(&log, "").unwrap();
    std::fs::write(
        &config,
        format!(
            "[daemon]\nstate-dir = \"{}\"\nsocket = \"{}\"\nserver-name = \"{name}.example\"\n\n\
             [fleet]\ndatabase = \"{}\"\n{fleet_extra}\n\n\
             [jails.sshd]\nfilter = \"sshd\"\nlogpath = [\"{}\"]\nbantime = \"1h\"\n{policy}\n",
            dir.path().join("state").display(),
            socket.display(),
            pg.url(name),
            log.display()
        ),
    )
    .unwrap();
    let mut h = Host {
        name: name.into(),
        net,
        dir,
        config,
        socket,
        log,
        daemon: None,
    };
    h.start();
    h
}

impl Host {
    fn start(&mut self) {
        let err = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("bantam.err"))
            .unwrap();
        let child = self
            .net
            .exec(
                &self.net.server,
                &[
                    bantam().to_str().unwrap(),
                    "run",
                    "--config",
                    self.config.to_str().unwrap(),
                ],
            )
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .unwrap();
        self.daemon = Some(Proc(child));
        wait_for("the control socket", Duration::from_secs(20), || {
            self.cli(&["status"]).status.success()
        });
    }

    fn stop(&mut self) {
        let mut daemon = self.daemon.take().unwrap();
        assert!(self.cli(&["stop"]).status.success());
        wait_for("the daemon to exit", Duration::from_secs(20), || {
            daemon.0.try_wait().unwrap().is_some()
        });
    }

    fn cli(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(bantam())
            .args(args)
            .arg("--socket")
            .arg(&self.socket)
            .output()
            .unwrap()
    }

    fn cli_ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "{args:?} on {}: {}\n{}",
            self.name,
            String::from_utf8_lossy(&out.stderr),
            self.log_text()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn set(&self) -> String {
        nft_set(&self.net, &self.net.server, "addr4")
    }

    fn has(&self, addr: &str) -> bool {
        self.set().contains(addr)
    }

    fn fail(&self, addr: &str, times: usize) {
        let stamp = jiff::Zoned::now().strftime("%b %e %H:%M:%S").to_string();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.log)
            .unwrap();
        for _ in 0..times {
            writeln!(
                f,
                "{stamp} host sshd[7]: Failed password for root from {addr} port 4242 ssh2"
            )
            .unwrap();
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("bantam.err")).unwrap_or_default()
    }

    fn listen(&self) -> Proc {
        let child = self
            .net
            .exec(&self.net.server, &["nc", "-lk", SERVER, &PORT.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for("the listener", Duration::from_secs(5), || {
            tcp_connects(&self.net, ATTACKER, SERVER, PORT)
        });
        Proc(child)
    }
}

/// Waits for `check`, polling every 10 ms; returns how long it took.
fn within(
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> bool,
    why: impl Fn() -> String,
) -> Duration {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < limit,
            "{what}: not within {limit:?}\n{}",
            why()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    start.elapsed()
}

fn fleet(hosts: &[&str]) -> Postgres {
    let pg = Postgres::start();
    pg.fleet_roles(hosts);
    let out = std::process::Command::new(bantam())
        .args(["fleet", "migrate", "--database", &pg.url("bantam")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    pg
}

#[test]
fn a_ban_on_one_host_closes_the_others_within_a_second_except_where_ignored() {
    if !require_root("e2e fleet propagation") {
        return;
    }
    const TEST: &str = "p";
    let pg = fleet(&["a", "b", "c"]);
    let a = host(&pg, TEST, "a", "", "");
    let b = host(&pg, TEST, "b", "", "");
    let c = host(&pg, TEST, "c", &format!("ignoreip = [\"{ATTACKER}\"]"), "");
    let _listener = b.listen();
    assert!(tcp_connects(&b.net, ATTACKER, SERVER, PORT));

    a.fail(ATTACKER, 1);
    within(
        "banned on a",
        Duration::from_secs(5),
        || a.has(ATTACKER),
        || a.log_text(),
    );
    let took = within(
        "banned on b",
        Duration::from_secs(1),
        || b.has(ATTACKER),
        || b.log_text(),
    );
    eprintln!("a → b: {took:?}");
    assert!(
        !tcp_connects(&b.net, ATTACKER, SERVER, PORT),
        "the attacker still reaches b"
    );
    // c's ignoreip wins over the fleet.
    within(
        "c refuses",
        Duration::from_secs(5),
        || c.log_text().contains("not banning"),
        || c.log_text(),
    );
    assert!(!c.has(ATTACKER), "{}", c.set());

    let status = b.cli_ok(&["fleet", "status"]);
    assert!(
        status.contains("hosts:        3") && status.contains("a.example"),
        "{status}"
    );
    let listed = b.cli_ok(&["banned", "--fleet"]);
    assert!(
        listed.contains(ATTACKER) && listed.contains("a.example"),
        "{listed}"
    );
    assert!(b
        .cli_ok(&["status"])
        .contains("fleet: connected as b.example"));

    b.cli_ok(&["unban", "--fleet", ATTACKER]);
    within(
        "lifted on b",
        Duration::from_secs(1),
        || !b.has(ATTACKER),
        || b.log_text(),
    );
    within(
        "lifted on a",
        Duration::from_secs(1),
        || !a.has(ATTACKER),
        || a.log_text(),
    );
    assert!(tcp_connects(&b.net, ATTACKER, SERVER, PORT));
    assert!(!b.cli_ok(&["banned", "--fleet"]).contains(ATTACKER));
}

#[test]
fn a_stopped_host_catches_up_and_an_unreachable_database_loses_nothing() {
    if !require_root("e2e fleet catch-up") {
        return;
    }
    const TEST: &str = "u";
    let pg = fleet(&["a", "b"]);
    let a = host(&pg, TEST, "a", "", "");
    let mut b = host(&pg, TEST, "b", "", "");

    // b is down while a bans.
    b.stop();
    a.cli_ok(&["ban", "sshd", "203.0.113.5"]);
    b.start();
    within(
        "b caught up",
        Duration::from_secs(5),
        || b.has("203.0.113.5"),
        || b.log_text(),
    );

    // The database is down for 10 s while a bans 100 addresses.
    pg.stop();
    let down = Instant::now();
    let targets: Vec<String> = (1..=100).map(|i| format!("198.18.0.{i}")).collect();
    let mut args = vec!["ban", "sshd"];
    args.extend(targets.iter().map(String::as_str));
    a.cli_ok(&args);
    assert!(
        targets.iter().all(|t| a.has(t)),
        "a bans locally while the database is down"
    );
    within(
        "a says the link is down",
        Duration::from_secs(8),
        || a.cli_ok(&["status"]).contains("unreachable"),
        || a.log_text(),
    );
    std::thread::sleep(Duration::from_secs(10).saturating_sub(down.elapsed()));
    assert!(targets.iter().all(|t| a.has(t)));
    pg.start_again();
    let back = Instant::now();
    let took = within(
        "b has all 100",
        Duration::from_secs(15),
        || {
            let set = b.set();
            targets
                .iter()
                .all(|t| set.contains(&format!("{t},")) || set.contains(&format!("{t} ")))
        },
        || format!("{}\n{}", a.log_text(), b.log_text()),
    );
    eprintln!(
        "database back → 100 bans on b: {took:?} (since back: {:?})",
        back.elapsed()
    );
    assert!(a.cli_ok(&["fleet", "status"]).contains("0 write(s)"));
}

#[test]
fn failures_counted_across_three_hosts_ban_on_all_three() {
    if !require_root("e2e fleet count-failures") {
        return;
    }
    let pg = fleet(&["a", "b", "c"]);
    let jail = "maxretry = 5\nfindtime = \"10m\"";
    let hosts = ["a", "b", "c"].map(|n| host(&pg, "k", n, jail, "count-failures = true"));
    let attacker = "203.0.113.50";
    for h in &hosts {
        h.fail(attacker, 2);
    }
    for h in &hosts {
        within(
            &format!("banned on {}", h.name),
            Duration::from_secs(5),
            || h.has(attacker),
            || h.log_text(),
        );
    }
}
