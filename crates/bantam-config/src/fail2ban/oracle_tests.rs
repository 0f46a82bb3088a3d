//! fail2ban as the oracle: its own resolution of every shipped filter
//! (under every option set its sample logs use) and of a jail setup must
//! equal ours. The scripts run the installed fail2ban with the system
//! python; without it the tests are skipped, except under CI, where a
//! missing oracle is a failure (a skipped oracle proves nothing).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::Fail2banTree;

const FAIL2BAN_ETC: &str = "/etc/fail2ban";

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts/fail2ban-oracle")
        .join(name)
}

/// Runs an oracle script; `None` (skip) when fail2ban is not installed
/// and this is not CI.
pub(super) fn run_oracle(name: &str, args: &[&str]) -> Option<Vec<Value>> {
    let ci = std::env::var_os("CI").is_some();
    let missing = |why: String| {
        assert!(!ci, "fail2ban oracle unavailable under CI: {why}");
        eprintln!("skipping: fail2ban oracle unavailable: {why}");
        None
    };
    if !Path::new(FAIL2BAN_ETC).join("jail.conf").is_file() {
        return missing(format!("{FAIL2BAN_ETC}/jail.conf missing"));
    }
    let out = match Command::new("/usr/bin/python3")
        .arg(script(name))
        .args(args)
        .output()
    {
        Ok(out) => out,
        Err(e) => return missing(format!("/usr/bin/python3: {e}")),
    };
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("No module named 'fail2ban'") {
            return missing("python module fail2ban not installed".into());
        }
        panic!("{name} failed: {stderr}");
    }
    let text = String::from_utf8(out.stdout).expect("oracle output is UTF-8");
    Some(
        text.lines()
            .map(|l| serde_json::from_str(l).expect("oracle line is JSON"))
            .collect(),
    )
}

pub(super) fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|s| s.as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn opt_string(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

/// The first word of a journal match as fail2ban's shell-like split gives
/// it (the filter dump records only that word).
fn first_word(line: &str) -> String {
    let mut out = String::new();
    let mut quote = None;
    for c in line.trim_start().chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => out.push(c),
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c.is_whitespace() => break,
            None => out.push(c),
        }
    }
    out
}

#[test]
fn every_shipped_filter_resolves_as_fail2ban_does() {
    let Some(records) = run_oracle("dump_filters.py", &[FAIL2BAN_ETC]) else {
        return;
    };
    let tree = Fail2banTree::load(Path::new(FAIL2BAN_ETC)).expect("load /etc/fail2ban");
    let mut failures = Vec::new();
    for rec in &records {
        let name = rec["filter"].as_str().expect("filter name");
        let params: Vec<(String, String)> = rec["options"]
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str()
                                .map(str::to_owned)
                                .unwrap_or_else(|| v.to_string()),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let label = format!("{name} {params:?}");
        if let Some(err) = rec.get("error") {
            failures.push(format!("{label}: fail2ban itself failed: {err}"));
            continue;
        }
        let ours = match tree.filter(name, &params) {
            Ok(f) => f,
            Err(e) => {
                failures.push(format!("{label}: {e}"));
                continue;
            }
        };
        let mut diff = Vec::new();
        if ours.prefregex != opt_string(&rec["prefregex"]) {
            diff.push(format!(
                "prefregex ours {:?} theirs {}",
                ours.prefregex, rec["prefregex"]
            ));
        }
        if ours.failregex != strings(&rec["failregex"]) {
            diff.push(format!(
                "failregex ours {:?} theirs {}",
                ours.failregex, rec["failregex"]
            ));
        }
        if ours.ignoreregex != strings(&rec["ignoreregex"]) {
            diff.push(format!(
                "ignoreregex ours {:?} theirs {}",
                ours.ignoreregex, rec["ignoreregex"]
            ));
        }
        if ours.maxlines.map(|n| n as u64) != rec["maxlines"].as_u64() {
            diff.push(format!(
                "maxlines ours {:?} theirs {}",
                ours.maxlines, rec["maxlines"]
            ));
        }
        if ours.datepattern != opt_string(&rec["datepattern"]) {
            diff.push(format!(
                "datepattern ours {:?} theirs {}",
                ours.datepattern, rec["datepattern"]
            ));
        }
        let journal = ours.journalmatch.first().map(|l| first_word(l));
        if journal != opt_string(&rec["journalmatch"]) || ours.journalmatch.len() > 1 {
            diff.push(format!(
                "journalmatch ours {:?} theirs {}",
                ours.journalmatch, rec["journalmatch"]
            ));
        }
        if !diff.is_empty() {
            failures.push(format!("{label}:\n  {}", diff.join("\n  ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} filter resolutions differ from fail2ban's:\n{}",
        failures.len(),
        records.len(),
        failures.join("\n")
    );
    eprintln!("{} filter resolutions agree with fail2ban", records.len());
}
