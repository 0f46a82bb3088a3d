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

/// A shell-like split (quotes grouped, no escapes), as fail2ban splits a
/// journal match.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote = None;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            None => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

fn json_map(v: &Value) -> std::collections::BTreeMap<String, String> {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    let s = match v {
                        Value::String(s) => s.clone(),
                        Value::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
                        other => other.to_string(),
                    };
                    (k.clone(), s)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Removes the oracle's copy of the tree when the test ends, pass or fail.
struct TempTree(PathBuf);

impl Drop for TempTree {
    fn drop(&mut self) {
        if let Some(parent) = self.0.parent() {
            if parent.to_string_lossy().contains("bantam-f2b-jails-") {
                let _ = std::fs::remove_dir_all(parent);
            }
        }
    }
}

#[test]
fn jails_and_actions_resolve_as_fail2ban_does() {
    let Some(records) = run_oracle("dump_jails.py", &[FAIL2BAN_ETC]) else {
        return;
    };
    let basedir = PathBuf::from(records[0]["basedir"].as_str().expect("basedir line"));
    let _cleanup = TempTree(basedir.clone());
    let tree = Fail2banTree::load(&basedir).expect("load the oracle's tree");

    let theirs: Vec<&Value> = records[1..]
        .iter()
        .filter(|r| r.get("error").is_none())
        .collect();
    let their_errors: Vec<&str> = records[1..]
        .iter()
        .filter(|r| r.get("error").is_some())
        .map(|r| r["jail"].as_str().unwrap_or_default())
        .collect();
    let our_names: Vec<&str> = tree.jails().iter().map(|j| j.name.as_str()).collect();
    let their_names: Vec<&str> = theirs
        .iter()
        .map(|r| r["jail"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(our_names, their_names, "enabled jails");
    let our_skipped: Vec<&str> = tree.skipped().iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(our_skipped, their_errors, "jails with configuration errors");
    assert!(
        !their_errors.is_empty(),
        "the oracle should exercise a broken jail"
    );

    let mut failures = Vec::new();
    let mut compared_actions = 0;
    for (jail, rec) in tree.jails().iter().zip(&theirs) {
        let name = &jail.name;
        let ours: std::collections::BTreeMap<String, String> = jail
            .resolved_options()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        if ours != json_map(&rec["options"]) {
            failures.push(format!(
                "{name}: options\n ours   {ours:?}\n theirs {:?}",
                json_map(&rec["options"])
            ));
        }
        let f = &rec["filter"];
        let def = jail.filter_def.clone().unwrap_or_default();
        let journal: Vec<Vec<String>> = def.journalmatch.iter().map(|l| shell_words(l)).collect();
        let their_journal: Vec<Vec<String>> = f["journalmatch"]
            .as_array()
            .map(|a| a.iter().map(strings).collect())
            .unwrap_or_default();
        let same = def.prefregex == opt_string(&f["prefregex"])
            && def.failregex == strings(&f["failregex"])
            && def.ignoreregex == strings(&f["ignoreregex"])
            && def.maxlines.map(|n| n as u64) == f["maxlines"].as_u64()
            && def.datepattern == opt_string(&f["datepattern"])
            && def.usedns == opt_string(&f["usedns"])
            && journal == their_journal;
        if !same {
            failures.push(format!("{name}: filter\n ours   {def:?}\n theirs {f}"));
        }
        let our_actions: Vec<_> = jail.action_defs.iter().flatten().collect();
        let their_actions = rec["actions"].as_array().cloned().unwrap_or_default();
        if our_actions.len() != their_actions.len() {
            failures.push(format!(
                "{name}: {} actions, fail2ban has {}",
                our_actions.len(),
                their_actions.len()
            ));
        }
        for (a, t) in our_actions.iter().zip(&their_actions) {
            compared_actions += 1;
            let label = format!("{name}/{}", a.actname);
            if Some(a.actname.as_str()) != t["actname"].as_str() {
                failures.push(format!("{label}: actname theirs {}", t["actname"]));
            }
            let mut commands = a.commands.clone();
            for key in [
                "actionstart_on_demand",
                "actionrepair_on_unban",
                "norestored",
            ] {
                if let Some(v) = commands.get_mut(key) {
                    let truth = matches!(v.to_lowercase().as_str(), "1" | "on" | "true" | "yes");
                    *v = if truth { "True" } else { "False" }.to_owned();
                }
            }
            if commands != json_map(&t["commands"]) {
                failures.push(format!(
                    "{label}: commands\n ours   {commands:?}\n theirs {:?}",
                    json_map(&t["commands"])
                ));
            }
            if a.init_raw != json_map(&t["init"]) {
                failures.push(format!(
                    "{label}: init as sent\n ours   {:?}\n theirs {:?}",
                    a.init_raw,
                    json_map(&t["init"])
                ));
            }
            if a.init != json_map(&t["init_resolved"]) {
                failures.push(format!(
                    "{label}: init resolved\n ours   {:?}\n theirs {:?}",
                    a.init,
                    json_map(&t["init_resolved"])
                ));
            }
        }
        let their_chain = their_actions
            .first()
            .and_then(|a| a["init_resolved"]["chain"].as_str());
        if their_chain.is_some() && jail.chain.as_deref() != their_chain {
            failures.push(format!(
                "{name}: chain ours {:?} theirs {their_chain:?}",
                jail.chain
            ));
        }
        let our_py: Vec<String> = jail
            .actions
            .iter()
            .filter_map(|a| a.name.strip_suffix(".py").map(str::to_owned))
            .collect();
        if our_py != strings(&rec["pyactions"]) {
            failures.push(format!(
                "{name}: python actions ours {our_py:?} theirs {}",
                rec["pyactions"]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "differences from fail2ban:\n{}",
        failures.join("\n")
    );
    assert!(
        compared_actions >= 6,
        "only {compared_actions} actions compared"
    );
    eprintln!(
        "{} jails and {compared_actions} actions agree with fail2ban",
        theirs.len()
    );
}
