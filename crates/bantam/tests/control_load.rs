//! The control socket under load, against a real `bantam run --dry-run`:
//! thousands of idle connections, a descriptor shortage, and 20 concurrent
//! listings of 100,000 bans. What must hold: fresh requests are answered
//! promptly, the daemon's memory stays bounded, and it never spins.
//!
//! Figures are printed (`--nocapture`) for the report; the limits asserted
//! are generous enough for a debug build on a busy machine yet far from
//! what the faults they guard against cost (a spinning accept loop burns a
//! whole core; one unpaged listing of 100,000 bans took 110 MB and blocked
//! the loop for a second in a release build).

mod support;

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{bantam, wait_for, Proc};

struct Daemon {
    dir: tempfile::TempDir,
    socket: PathBuf,
    proc: Proc,
}

/// `bantam run --dry-run` with a scratch configuration, its log in a file;
/// `max_files`: its RLIMIT_NOFILE, if it must be low.
fn start(max_files: Option<u64>) -> Daemon {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("bantam.sock");
    let config = dir.path().join("bantam.toml");
    std::fs::write(dir.path().join("auth.log"), "").unwrap();
    std::fs::write(
        &config,
        format!(
            "[daemon]\nstate-dir = \"{0}/state\"\nsocket = \"{1}\"\n\
             [jails.sshd]\nfilter = \"sshd\"\nlogpath = [\"{0}/auth.log\"]\nbantime = \"1h\"\n",
            dir.path().display(),
            socket.display()
        ),
    )
    .unwrap();
    let log = File::create(dir.path().join("daemon.log")).unwrap();
    let mut command = Command::new(bantam());
    command
        .args(["run", "--dry-run", "--config"])
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    if let Some(n) = max_files {
        // SAFETY: setrlimit is async-signal-safe; nothing else runs here.
        unsafe {
            command.pre_exec(move || {
                let limit = libc::rlimit {
                    rlim_cur: n,
                    rlim_max: n,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
    }
    let daemon = Daemon {
        proc: Proc(command.spawn().unwrap()),
        dir,
        socket,
    };
    wait_for("the control socket", Duration::from_secs(20), || {
        daemon.cli(&["status"]).status.success()
    });
    daemon
}

impl Daemon {
    fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(bantam())
            .args(args)
            .arg("--socket")
            .arg(&self.socket)
            .output()
            .unwrap()
    }

    /// A CLI command that must succeed, and how long it took.
    fn timed(&self, args: &[&str]) -> Duration {
        let start = Instant::now();
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        start.elapsed()
    }

    fn pid(&self) -> u32 {
        self.proc.0.id()
    }

    /// A `/proc/PID/status` figure in kB (VmRSS, VmHWM).
    fn kb(&self, key: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
            .unwrap_or_else(|| panic!("no {key} in /proc status"))
    }

    /// User plus system CPU time so far.
    fn cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap();
        // Fields after the command name, which may hold spaces: utime and
        // stime are the 14th and 15th fields of the line.
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<u64> = after
            .split(' ')
            .skip(11)
            .take(2)
            .map(|f| f.parse().unwrap())
            .collect();
        // SAFETY: sysconf has no preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        Duration::from_secs_f64((fields[0] + fields[1]) as f64 / ticks)
    }

    /// Forgets the peak RSS so far, so VmHWM shows the peak from now on.
    fn reset_peak(&self) {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5").unwrap();
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("daemon.log")).unwrap()
    }

    /// One request on the socket as it is spoken; the first answer line.
    fn raw(&self, request: &serde_json::Value) -> serde_json::Value {
        let mut stream = UnixStream::connect(&self.socket).unwrap();
        stream.write_all(format!("{request}\n").as_bytes()).unwrap();
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap()
    }
}

/// Lets this process hold `n` more descriptors than usual.
fn raise_fd_limit(n: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a valid pointer to an rlimit.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
        0
    );
    if limit.rlim_cur < n {
        limit.rlim_cur = n.min(limit.rlim_max);
        // SAFETY: as above.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    }
    assert!(limit.rlim_cur >= n, "RLIMIT_NOFILE hard limit below {n}");
}

#[test]
fn two_thousand_idle_connections_neither_starve_nor_spin() {
    raise_fd_limit(4_096);
    let daemon = start(None);
    let (rss_before, cpu_before) = (daemon.kb("VmRSS"), daemon.cpu());
    let idle: Vec<UnixStream> = (0..2_000)
        .map(|_| UnixStream::connect(&daemon.socket).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let status = daemon.timed(&["status"]);
    let ban = daemon.timed(&["ban", "sshd", "192.0.2.10"]);
    let cpu_settled = daemon.cpu();
    std::thread::sleep(Duration::from_secs(3));
    let cpu_idle = daemon.cpu() - cpu_settled;
    let (rss, peak) = (daemon.kb("VmRSS"), daemon.kb("VmHWM"));
    eprintln!(
        "2000 idle connections: status {status:?}, ban {ban:?}; CPU {:?} to take them, \
         {cpu_idle:?} over the next 3 s; RSS {rss_before} -> {rss} kB (peak {peak} kB)",
        cpu_settled - cpu_before
    );
    assert!(status < Duration::from_secs(1) && ban < Duration::from_secs(1));
    assert!(
        cpu_idle < Duration::from_millis(300),
        "spinning: {cpu_idle:?}"
    );
    assert!(peak < 64 * 1024, "peak RSS {peak} kB");
    // The newest silent connections were kept, and are dropped once the
    // timeout passes, with a word of why.
    let last = idle.last().unwrap();
    last.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut answer = String::new();
    BufReader::new(last).read_line(&mut answer).unwrap();
    assert!(
        answer.contains("no complete request within 10s"),
        "{answer}"
    );
    assert!(daemon.cli(&["status"]).status.success());
}

#[test]
fn out_of_descriptors_the_daemon_backs_off_and_recovers() {
    raise_fd_limit(4_096);
    // Enough for the daemon's own files and a few dozen connections only.
    let daemon = start(Some(48));
    let held: Vec<UnixStream> = (0..200)
        .map(|_| UnixStream::connect(&daemon.socket).unwrap())
        .collect();
    wait_for("accept to fail", Duration::from_secs(10), || {
        daemon.log().contains("cannot accept connections")
    });
    let start = daemon.cpu();
    std::thread::sleep(Duration::from_secs(3));
    let spent = daemon.cpu() - start;
    eprintln!("out of descriptors: CPU {spent:?} over 3 s");
    assert!(spent < Duration::from_millis(300), "spinning: {spent:?}");
    drop(held);
    // The connections it holds time out; then it accepts again.
    wait_for(
        "the daemon to answer again",
        Duration::from_secs(30),
        || daemon.cli(&["status"]).status.success(),
    );
    let log = daemon.log();
    assert_eq!(
        log.matches("cannot accept connections").count(),
        1,
        "one message per episode: {log}"
    );
    assert!(log.contains("accepting connections again"), "{log}");
}

const BANS: u32 = 100_000;

fn address(i: u32) -> String {
    format!("198.{}.{}.{}", 18 + (i >> 16), (i >> 8) & 255, i & 255)
}

/// Bans `BANS` addresses, 3,000 per request (a request stays under 64 kB).
fn ban_many(daemon: &Daemon) {
    let all: Vec<String> = (0..BANS).map(address).collect();
    for chunk in all.chunks(3_000) {
        let answer = daemon.raw(&serde_json::json!({
            "command": "ban", "jail": "sshd", "targets": chunk
        }));
        assert_eq!(answer["ok"], true, "{answer}");
    }
}

/// Reads a whole `banned` stream at `pace` bytes per 10 ms (`None`: as
/// fast as it comes); returns the ban lines seen and whether it ended.
fn read_banned(socket: &Path, pace: Option<usize>) -> (usize, bool) {
    let mut stream = UnixStream::connect(socket).unwrap();
    stream.write_all(b"{\"command\":\"banned\"}\n").unwrap();
    let mut reader = BufReader::with_capacity(pace.unwrap_or(64 * 1024), stream);
    let (mut bans, mut line) = (0, String::new());
    let mut taken = 0;
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return (bans, false),
            Ok(n) => taken += n,
        }
        if line.contains("\"ok\":") {
            if line.contains("\"count\"") {
                return (bans, true);
            }
        } else {
            bans += 1;
        }
        if let Some(pace) = pace {
            if taken >= pace {
                taken = 0;
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

#[test]
fn twenty_listings_of_100k_bans_stay_small_and_never_block_a_ban() {
    let daemon = start(None);
    let loading = Instant::now();
    ban_many(&daemon);
    let loaded = loading.elapsed();
    let rss_loaded = daemon.kb("VmRSS");
    daemon.reset_peak();
    let socket = daemon.socket.clone();
    let began = Instant::now();
    let mut readers = Vec::new();
    // 4 CLIs (JSON and table), 11 fast raw readers, 3 slow ones (about
    // 800 kB/s), and 2 below that stop reading after their first bytes.
    for json in [true, true, false, false] {
        let socket = socket.clone();
        readers.push(std::thread::spawn(move || {
            let out = Command::new(bantam())
                .arg("banned")
                .args(json.then_some("--json"))
                .arg("--socket")
                .arg(&socket)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            if json {
                let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
                assert_eq!(list[0]["target"], "198.18.0.0");
                (list.len(), true)
            } else {
                let text = String::from_utf8_lossy(&out.stdout);
                assert!(text.starts_with("JAIL"), "a table");
                (text.lines().count() - 1, true)
            }
        }));
    }
    let mut paces = vec![None; 11];
    paces.extend([Some(8_192); 3]);
    for pace in paces {
        let socket = socket.clone();
        readers.push(std::thread::spawn(move || read_banned(&socket, pace)));
    }
    let stalled: Vec<UnixStream> = (0..2)
        .map(|_| {
            let mut s = UnixStream::connect(&socket).unwrap();
            s.write_all(b"{\"command\":\"banned\"}\n").unwrap();
            s
        })
        .collect();
    // Bans while the listings run: each must be answered at once. Timed
    // on the socket (the daemon's latency) and through the CLI (what an
    // administrator sees, process start included, on a machine this busy).
    let (mut slowest, mut slowest_cli, mut asked) = (Duration::ZERO, Duration::ZERO, 0);
    while readers.iter().any(|r| !r.is_finished()) {
        let target = address(BANS + asked);
        let start = Instant::now();
        let answer = daemon.raw(&serde_json::json!({
            "command": "ban", "jail": "sshd", "targets": [target]
        }));
        slowest = slowest.max(start.elapsed());
        assert_eq!(answer["ok"], true, "{answer}");
        if asked % 10 == 0 {
            let cli = daemon.timed(&["ban", "sshd", &address(2 * BANS + asked)]);
            slowest_cli = slowest_cli.max(cli);
        }
        asked += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    let listed = began.elapsed();
    for reader in readers {
        let (bans, ended) = reader.join().unwrap();
        assert!(ended, "a listing was cut short after {bans} bans");
        assert!(bans >= BANS as usize, "{bans} bans listed");
    }
    drop(stalled);
    let peak = daemon.kb("VmHWM");
    eprintln!(
        "100k bans: loaded in {loaded:?}, RSS {rss_loaded} kB; 20 listings in {listed:?}, \
         peak RSS during them {peak} kB; {asked} bans meanwhile, slowest {slowest:?} \
         (through the CLI {slowest_cli:?})"
    );
    assert!(peak < 150 * 1024, "peak RSS {peak} kB");
    assert!(
        slowest < Duration::from_millis(500),
        "a ban waited {slowest:?}"
    );
}
