//! `[daemon] metrics`: a scrape during real bans (log lines through the
//! whole pipeline, dry-run firewall so no root is needed) finds the
//! counters moved, and the whole body passes a strict parser of the
//! Prometheus text format. The Grafana dashboard in dist/ loads and has the
//! panels the README names.

mod support;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{bantam, control as cli, wait_control, wait_for, Proc};

/// Samples by `name{labels}` (labels sorted as written).
type Samples = HashMap<String, f64>;

/// A strict reader of the text exposition format 0.0.4: every line is a
/// comment (`# HELP name text`, `# TYPE name kind`) or a sample `name{l="v",…}
/// value`; names and label names well formed, values numbers, every sample's
/// family declared by TYPE before it, histogram buckets cumulative and
/// ending in `+Inf` equal to `_count`.
fn parse(text: &str) -> Samples {
    let mut types: HashMap<String, String> = HashMap::new();
    let mut samples = Samples::new();
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.chars().enumerate().all(|(i, c)| {
                c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
            })
    };
    assert!(text.ends_with('\n'), "the body ends with a newline");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kind, name, what) = (parts.next().unwrap(), parts.next().unwrap(), parts.next());
            assert!(name_ok(name), "bad name in {line:?}");
            match kind {
                "HELP" => assert!(what.is_some_and(|w| !w.is_empty()), "{line:?}"),
                "TYPE" => {
                    let what = what.unwrap();
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&what),
                        "{line:?}"
                    );
                    assert!(
                        types.insert(name.into(), what.into()).is_none(),
                        "TYPE twice: {line:?}"
                    );
                }
                _ => panic!("unknown comment {line:?}"),
            }
            continue;
        }
        assert!(!line.is_empty() && !line.starts_with('#'), "{line:?}");
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line:?}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        let name = series.split('{').next().unwrap();
        assert!(name_ok(name), "{line:?}");
        if let Some(labels) = series.strip_prefix(name) {
            if !labels.is_empty() {
                let inner = labels.strip_prefix('{').and_then(|l| l.strip_suffix('}'));
                check_labels(inner.unwrap_or_else(|| panic!("{line:?}")), line);
            }
        }
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|f| types.get(*f).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(name);
        assert!(
            types.contains_key(family),
            "sample before its TYPE: {line:?}"
        );
        assert!(
            samples.insert(series.to_owned(), value).is_none(),
            "duplicate {line:?}"
        );
    }
    for (family, kind) in &types {
        if kind == "histogram" {
            let mut buckets: Vec<(f64, f64)> = samples
                .iter()
                .filter_map(|(k, v)| {
                    let le = k
                        .strip_prefix(&format!("{family}_bucket{{le=\""))?
                        .strip_suffix("\"}")?;
                    Some((
                        if le == "+Inf" {
                            f64::INFINITY
                        } else {
                            le.parse().unwrap()
                        },
                        *v,
                    ))
                })
                .collect();
            buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            assert!(
                buckets.windows(2).all(|w| w[0].1 <= w[1].1),
                "{family}: not cumulative"
            );
            let last = buckets.last().unwrap();
            assert!(last.0.is_infinite());
            assert_eq!(last.1, samples[&format!("{family}_count")]);
        }
    }
    samples
}

fn check_labels(inner: &str, line: &str) {
    let mut rest = inner;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("{line:?}"));
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{line:?}"
        );
        let mut escaped = false;
        let end = after
            .char_indices()
            .find(|&(_, c)| {
                let stop = c == '"' && !escaped;
                escaped = c == '\\' && !escaped;
                stop
            })
            .map(|(i, _)| i)
            .unwrap_or_else(|| panic!("unterminated label in {line:?}"));
        rest = &after[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

fn get(addr: &str, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (head.to_owned(), body.to_owned())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_scrape_during_bans_finds_the_counters_moved() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("bantam.sock");
    let config = dir.path().join("bantam.toml");
    let addr = format!("127.0.0.1:{}", free_port());
    std::fs::write(
        &config,
        format!(
            "[daemon]\nstate-dir = \"{}\"\nsocket = \"{}\"\nmetrics = \"{addr}\"\n\
             [jails.sshd]\nfilter = \"sshd\"\nlogpath = [\"-\"]\nmaxretry = 2\n",
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
    let before = parse(&get(&addr, "/metrics").1);
    assert_eq!(before["bantam_bans_total{jail=\"sshd\"}"], 0.0);
    let stamp = jiff::Zoned::now().strftime("%b %e %H:%M:%S").to_string();
    for i in 1..=3 {
        for port in 0..2 {
            writeln!(
                stdin,
                "{stamp} host sshd[1]: Failed password for root from 198.51.100.{i} port {port} ssh2"
            )
            .unwrap();
        }
    }
    writeln!(
        stdin,
        "{stamp} host sshd[1]: Accepted publickey for alice from 192.0.2.1 port 1 ssh2"
    )
    .unwrap();
    stdin.flush().unwrap();
    wait_for("three bans", Duration::from_secs(10), || {
        parse(&get(&addr, "/metrics").1)["bantam_banned{jail=\"sshd\"}"] == 3.0
    });
    let (head, body) = get(&addr, "/metrics");
    assert!(
        head.starts_with("HTTP/1.1 200") && head.contains("text/plain; version=0.0.4"),
        "{head}"
    );
    let after = parse(&body);
    assert_eq!(after["bantam_bans_total{jail=\"sshd\"}"], 3.0);
    assert_eq!(after["bantam_failures_total{jail=\"sshd\"}"], 6.0);
    assert_eq!(after["bantam_lines_total{jail=\"sshd\"}"], 7.0);
    assert_eq!(after["bantam_tracked{jail=\"sshd\"}"], 0.0);
    assert_eq!(after["bantam_evicted_total{jail=\"sshd\"}"], 0.0);
    assert_eq!(after["bantam_ban_latency_seconds_count"], 3.0);
    assert_eq!(after["bantam_source_up{jail=\"sshd\",source=\"-\"}"], 1.0);
    assert_eq!(after["bantam_store_healthy"], 1.0);
    // Read-only, and nothing else is served without the page.
    assert!(get(&addr, "/").0.starts_with("HTTP/1.1 404"));
    let mut post = TcpStream::connect(&addr).unwrap();
    write!(post, "POST /metrics HTTP/1.1\r\n\r\n").unwrap();
    let mut answer = String::new();
    post.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
    assert!(cli(&socket, &["stop"]).status.success());
}

#[test]
fn a_bad_metrics_address_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bantam.toml");
    std::fs::write(
        &config,
        "[daemon]\nmetrics = \"localhost\"\n[jails.sshd]\nfilter = \"sshd\"\nlogpath = [\"-\"]\n",
    )
    .unwrap();
    let out = Command::new(bantam())
        .args(["run", "--dry-run", "--config"])
        .arg(&config)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("daemon.metrics") && err.contains("127.0.0.1:9539"),
        "{err}"
    );
}

/// The panels README.md names, each in the dashboard.
#[test]
fn the_grafana_dashboard_loads_with_the_panels_the_readme_names() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(root.join("dist/grafana-dashboard.json")).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).unwrap();
    let titles: Vec<&str> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = readme
        .split("Grafana dashboard panels:")
        .nth(1)
        .expect("README names the dashboard's panels");
    let named: Vec<&str> = section
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("- "))
        .map(|l| {
            l.trim_start_matches("- ")
                .split(" — ")
                .next()
                .unwrap()
                .trim_matches('*')
        })
        .collect();
    assert!(named.len() >= 5, "{named:?}");
    for name in &named {
        assert!(
            titles.contains(name),
            "panel {name:?} not in the dashboard: {titles:?}"
        );
    }
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            assert!(
                target["expr"].as_str().unwrap().contains("bantam_"),
                "{panel}"
            );
        }
    }
}
