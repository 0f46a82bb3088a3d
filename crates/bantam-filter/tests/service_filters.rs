//! The network-service filters (dropbear, postfix, dovecot, exim, proftpd,
//! vsftpd, pure-ftpd, mysqld-auth, openvpn, asterisk) against logs their
//! daemons really wrote.
//!
//! Fixtures live in `filters/NAME/*.log`, captured by
//! `scripts/capture-service-fixtures.sh` (or, where the daemon cannot run
//! here, hand-written from its documented format and marked so in the
//! file's header). Each log line is preceded by `# expect: {json}`:
//! `{"fail": false}`, `{"fail": false, "success": true, "host": "…"}`, or
//! `{"fail": true, "host": "…"}` with an optional `"mode": "aggressive"` or
//! `"modes": ["rbl", "aggressive"]`: the modes in which the line is a failure.
//! Every line's verdict is checked in every mode of the filter; every rule
//! must be hit by some fixture line (no dead rules); and user-controlled
//! fields carrying addresses and log-like text never make the injected
//! address a failure.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use bantam_filter::{shipped, Definition, Filter, Host, Outcome};

use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde_json::Value;

#[path = "service_filters/injection.rs"]
mod injection;

const FILTERS: &[&str] = &[
    "dropbear",
    "postfix",
    "dovecot",
    "proftpd",
    "vsftpd",
    "pure-ftpd",
    "mysqld-auth",
    "exim",
    "openvpn",
    "asterisk",
];

fn now() -> Timestamp {
    "2026-12-03T12:00:00Z".parse().unwrap()
}

fn definition(name: &str) -> Definition {
    shipped::definition(name).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn compile(name: &str, mode: &str) -> Filter {
    let spec = definition(name).spec(name, Some(mode)).unwrap();
    Filter::new(&spec, TimeZone::UTC).unwrap()
}

/// What a fixture line must give.
#[derive(Debug, PartialEq)]
enum Verdict {
    Nothing,
    Success(Host),
    /// A failure in the modes named (all when empty).
    Failure {
        host: Host,
        modes: Vec<String>,
    },
}

fn parse_expect(json: &str, at: &str) -> Verdict {
    let v: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{at}: bad JSON: {e}"));
    let host = || -> Host {
        let text = v["host"]
            .as_str()
            .unwrap_or_else(|| panic!("{at}: no host"));
        Host::Ip(
            text.parse()
                .unwrap_or_else(|e| panic!("{at}: host {text}: {e}")),
        )
    };
    if v["fail"].as_bool() == Some(true) {
        let mut modes: Vec<String> = v
            .get("modes")
            .and_then(Value::as_array)
            .map(|m| {
                m.iter()
                    .filter_map(|m| m.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(mode) = v.get("mode").and_then(Value::as_str) {
            modes.push(mode.to_owned());
        }
        Verdict::Failure {
            host: host(),
            modes,
        }
    } else if v.get("success").and_then(Value::as_bool) == Some(true) {
        Verdict::Success(host())
    } else {
        Verdict::Nothing
    }
}

fn fixtures(name: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("filters")
        .join(name);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    files.sort();
    files
}

/// The annotated lines of one fixture file.
fn annotated(path: &Path) -> Vec<(String, Verdict, Vec<u8>)> {
    let text = std::fs::read(path).unwrap();
    let mut pending = None;
    let mut out = Vec::new();
    for (n, line) in text.split(|b| *b == b'\n').enumerate() {
        let at = format!("{}:{}", path.display(), n + 1);
        if let Some(rest) = line.strip_prefix(b"# expect: ") {
            assert!(pending.is_none(), "{at}: two expect lines in a row");
            pending = Some(parse_expect(std::str::from_utf8(rest).unwrap(), &at));
        } else if !line.starts_with(b"#") && !line.is_empty() {
            let verdict = pending
                .take()
                .unwrap_or_else(|| panic!("{at}: log line without an expect line"));
            out.push((at, verdict, line.to_vec()));
        }
    }
    assert!(
        pending.is_none(),
        "{}: expect line at the end",
        path.display()
    );
    out
}

fn in_mode(modes: &[String], mode: &str) -> bool {
    modes.is_empty() || modes.iter().any(|m| m == mode)
}

/// Checks every line of `name`'s fixtures in `mode`; returns the problems
/// and records which rules matched.
fn check_mode(name: &str, mode: &str, hit: &mut BTreeSet<String>) -> Vec<String> {
    let mut filter = compile(name, mode);
    let ids = filter.rule_ids().to_vec();
    let mut problems = Vec::new();
    for file in fixtures(name) {
        for (at, verdict, line) in annotated(&file) {
            let outcome = filter.scan(&line, now());
            if let Outcome::Failure(f) | Outcome::Success(f) = &outcome {
                hit.insert(ids[f.rule].clone());
            }
            let ok = match (&verdict, &outcome) {
                (Verdict::Failure { host, modes }, Outcome::Failure(f)) => {
                    f.host == *host && in_mode(modes, mode)
                }
                (Verdict::Failure { modes, .. }, _) => !in_mode(modes, mode),
                (Verdict::Success(host), Outcome::Success(f)) => f.host == *host,
                (Verdict::Success(_), _) => false,
                (Verdict::Nothing, Outcome::Failure(_) | Outcome::Success(_)) => false,
                (Verdict::Nothing, _) => true,
            };
            if !ok {
                problems.push(format!(
                    "{at} [{mode}]: expected {verdict:?}, got {outcome:?}\n    {}",
                    String::from_utf8_lossy(&line)
                ));
            }
        }
    }
    problems
}

#[test]
fn every_fixture_line_gets_its_verdict_in_every_mode() {
    let mut problems = Vec::new();
    for name in FILTERS {
        assert!(!fixtures(name).is_empty(), "{name}: no fixtures");
        let def = definition(name);
        let mut hit = BTreeSet::new();
        for mode in def.mode_names() {
            problems.extend(check_mode(name, mode, &mut hit));
        }
        // No dead rules: `bantam regex FIXTURE NAME --mode M` reports a hit
        // for every rule in some mode.
        for rule in &def.failregex {
            if !hit.contains(&rule.id) {
                problems.push(format!("{name}: rule {} matches no fixture line", rule.id));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn every_filter_declares_its_default_jail_and_what_it_ignores() {
    for name in FILTERS {
        let text = shipped::SHIPPED
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{name} is not shipped"))
            .1;
        assert!(
            text.contains("gnored"),
            "{name}: header lacks what it ignores"
        );
        let jail = definition(name)
            .jail
            .unwrap_or_else(|| panic!("{name}: no [jail] table"));
        assert!(jail.port.is_some(), "{name}: [jail] lacks port");
        assert!(jail.maxretry.is_some(), "{name}: [jail] lacks maxretry");
        assert!(
            !jail.logpath.is_empty() && !jail.journalmatch.is_empty(),
            "{name}: [jail] needs log paths and a journal match"
        );
    }
}

#[test]
fn user_controlled_fields_never_make_the_injected_address_fail() {
    let problems = injection::run(
        FILTERS,
        &compile,
        &|n: &str| {
            definition(n)
                .mode_names()
                .iter()
                .map(|m| m.to_string())
                .collect()
        },
        now(),
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
