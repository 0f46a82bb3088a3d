//! Every shipped filter against its own examples and its fixtures.
//!
//! Fixtures live in `filters/NAME/*.log`: real logs (and, where a message can
//! no longer be provoked, hand-written ones, said so in their header), each
//! log line preceded by `# expect: {json}` giving the verdict:
//! `{"fail": false}`, or `{"fail": true, "host": "…", "user": "…"}` with an
//! optional `"mode": "aggressive"` for lines that are failures only in the
//! filter's aggressive mode.

use std::path::{Path, PathBuf};

use bantam_filter::{shipped, Filter, Host, Outcome};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde_json::Value;

fn now() -> Timestamp {
    "2026-11-25T12:00:00Z".parse().unwrap()
}

fn compile(name: &str, mode: &str) -> Filter {
    let spec = shipped::definition(name)
        .unwrap()
        .spec(name, Some(mode))
        .unwrap();
    Filter::new(&spec, TimeZone::UTC).unwrap()
}

#[test]
fn every_rule_matches_its_examples_with_itself() {
    for name in shipped::names() {
        let def = shipped::definition(name).unwrap();
        for mode in def.mode_names() {
            let spec = def.spec(name, Some(mode)).unwrap();
            let mut filter = Filter::new(&spec, TimeZone::UTC).unwrap();
            for rule in &def.failregex {
                let Some(index) = spec.failregex.iter().position(|r| r.id == rule.id) else {
                    continue;
                };
                assert!(
                    !rule.examples.is_empty(),
                    "{name}: rule {} has no examples",
                    rule.id
                );
                for example in &rule.examples {
                    match filter.scan(example.as_bytes(), now()) {
                        Outcome::Failure(f) | Outcome::Success(f) => assert_eq!(
                            f.rule, index,
                            "{name}/{mode}: example of {} matched rule {} instead:\n  {example}",
                            rule.id, spec.failregex[f.rule].id
                        ),
                        other => panic!(
                            "{name}/{mode}: example of {} gave {other:?}:\n  {example}",
                            rule.id
                        ),
                    }
                }
            }
        }
    }
}

#[derive(Debug)]
struct Expectation {
    fail: bool,
    host: Option<Host>,
    user: Option<String>,
    aggressive_only: bool,
}

fn parse_expectation(json: &str, at: &str) -> Expectation {
    let v: Value =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{at}: bad expect JSON: {e}"));
    let fail = v["fail"]
        .as_bool()
        .unwrap_or_else(|| panic!("{at}: expect needs \"fail\""));
    // With UseDNS, sshd may name the client instead of giving its address.
    // bantam never resolves names (no DNS on this path), so such a line is
    // not a failure it can act on; the connection's other lines carry the
    // address.
    let host = v
        .get("host")
        .and_then(Value::as_str)
        .and_then(|h| h.parse().ok())
        .map(Host::Ip);
    let names_only = v.get("host").is_some() && host.is_none();
    Expectation {
        fail: fail && !names_only,
        host,
        user: v.get("user").and_then(Value::as_str).map(str::to_owned),
        aggressive_only: v.get("mode").and_then(Value::as_str) == Some("aggressive"),
    }
}

fn fixtures(name: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("filters")
        .join(name);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "log"));
    files.sort();
    files
}

/// Checks one fixture file in one mode; returns how many lines were judged.
fn check_fixture(path: &Path, name: &str, mode: &str) -> usize {
    let text = std::fs::read(path).unwrap();
    let mut filter = compile(name, mode);
    let mut pending: Option<Expectation> = None;
    let mut judged = 0;
    let mut problems = Vec::new();
    for (n, line) in text.split(|b| *b == b'\n').enumerate() {
        let at = format!("{}:{}", path.display(), n + 1);
        if let Some(rest) = line.strip_prefix(b"# expect: ") {
            assert!(pending.is_none(), "{at}: two expect lines in a row");
            pending = Some(parse_expectation(std::str::from_utf8(rest).unwrap(), &at));
            continue;
        }
        if line.starts_with(b"#") || line.is_empty() {
            continue;
        }
        let expected = pending
            .take()
            .unwrap_or_else(|| panic!("{at}: log line without an expect line"));
        let should_fail = expected.fail && (mode == "aggressive" || !expected.aggressive_only);
        let outcome = filter.scan(line, now());
        judged += 1;
        let shown = String::from_utf8_lossy(line);
        match (should_fail, outcome.failure()) {
            (true, Some(f)) => {
                if expected.host.as_ref() != Some(&f.host) {
                    problems.push(format!(
                        "{at} [{mode}]: host {} expected {:?}\n    {shown}",
                        f.host, expected.host
                    ));
                }
                if expected.user.is_some() && expected.user.as_deref() != f.user.as_deref() {
                    problems.push(format!(
                        "{at} [{mode}]: user {:?} expected {:?}\n    {shown}",
                        f.user, expected.user
                    ));
                }
            }
            (true, None) => problems.push(format!(
                "{at} [{mode}]: expected a failure, got {outcome:?}\n    {shown}"
            )),
            (false, Some(f)) => problems.push(format!(
                "{at} [{mode}]: not a failure, but rule {} matched\n    {shown}",
                f.rule
            )),
            (false, None) => {}
        }
    }
    assert!(
        pending.is_none(),
        "{}: expect line at the end with no log line",
        path.display()
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    judged
}

#[test]
fn sshd_fixtures_in_normal_and_aggressive_mode() {
    let files = fixtures("sshd");
    assert!(!files.is_empty(), "no sshd fixtures found");
    for file in &files {
        for mode in ["normal", "aggressive"] {
            let judged = check_fixture(file, "sshd", mode);
            assert!(judged > 0, "{}: no annotated lines", file.display());
        }
    }
}
