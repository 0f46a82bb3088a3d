//! Every regex of fail2ban's own filters, in our Python dialect: each must
//! compile, and on the lines of fail2ban's sample logs each must give
//! Python's answer (match or not, every group's span).
//!
//! The regexes come from `/tmp/f2b-filters.jsonl` (made by
//! `scripts/fail2ban-oracle/dump_filters.py`; `BANTAM_F2B_FILTERS` to
//! point elsewhere; without it the script is run here if fail2ban is
//! installed) with fail2ban's tags still in them; the tags are
//! replaced here by plain groups, since tags are not this dialect's job.
//! The sample logs are read from the installed fail2ban package at run
//! time (`BANTAM_F2B_LOGS`). Without either, the test says so and passes.

mod py_oracle;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use bantam_filter::python::{EngineKind, PyFlags, PyRegex};
use py_oracle::{ask, disagreements, python, Case};
use serde_json::Value;

/// Lines per sample log given to each regex, to keep the test quick.
const LINES_PER_LOG: usize = 150;

/// `<HOST>` → `(?P<host>\S+)`, `<F-X>` → `(?P<x>`, `</F-X>` → `)`,
/// `<SKIPLINES>` → `(?:.*\n)*?`; other `<...>` stay literal. A name used
/// twice gets a number, as Python refuses duplicate names.
fn replace_tags(regex: &str) -> String {
    let mut out = String::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut name = |base: &str| {
        let n = seen.entry(base.to_owned()).or_insert(0);
        *n += 1;
        if *n == 1 {
            base.to_owned()
        } else {
            format!("{base}_{n}")
        }
    };
    let mut rest = regex;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest.find('>').map(|j| j + 1).unwrap_or(1);
        let tag = &rest[1..end.saturating_sub(1).max(1)];
        let is_word = !tag.is_empty()
            && tag
                .trim_start_matches('/')
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !is_word || end == 1 {
            out.push('<');
            rest = &rest[1..];
            continue;
        }
        if let Some(field) = tag.strip_prefix("F-") {
            out.push_str(&format!("(?P<{}>", name(&field.to_lowercase())));
        } else if tag.starts_with("/F-") {
            out.push(')');
        } else if tag == "SKIPLINES" {
            out.push_str(r"(?:.*\n)*?");
        } else if tag
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && ["HOST", "ADDR", "IP4", "IP6", "DNS", "CIDR", "SUBNET"].contains(&tag)
        {
            out.push_str(&format!(r"(?P<{}>\S+)", name(&tag.to_lowercase())));
        } else {
            out.push_str(&rest[..end]);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// (regex, flags letters, filter name), each regex once per filter.
fn regexes(path: &Path) -> Option<Vec<(String, String, String)>> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut out = BTreeSet::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).expect("a JSON object per line");
        let filter = v["filter"].as_str().unwrap_or_default().to_owned();
        let multi = v["maxlines"].as_u64().is_some_and(|n| n > 1);
        // fail2ban compiles multi-line filters with re.MULTILINE.
        let flags = if multi { "m" } else { "" }.to_owned();
        let mut all: Vec<&Value> = vec![&v["prefregex"]];
        for key in ["failregex", "ignoreregex"] {
            all.extend(v[key].as_array().into_iter().flatten());
        }
        for r in all.into_iter().filter_map(Value::as_str) {
            out.insert((replace_tags(r), flags.clone(), filter.clone()));
        }
    }
    Some(out.into_iter().collect())
}

/// Without the dump file, makes one with the installed fail2ban, if any
/// (`scripts/fail2ban-oracle/dump_filters.py`).
fn dump_filters() -> Option<Vec<(String, String, String)>> {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/fail2ban-oracle/dump_filters.py");
    let out = std::process::Command::new("/usr/bin/python3")
        .arg(script)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success() && !o.stdout.is_empty())?;
    let path =
        std::env::temp_dir().join(format!("bantam-f2b-filters-{}.jsonl", std::process::id()));
    std::fs::write(&path, &out.stdout).ok()?;
    let found = regexes(&path);
    let _ = std::fs::remove_file(&path);
    found
}

fn sample_lines(dir: &Path, filter: &str) -> Vec<String> {
    std::fs::read_to_string(dir.join(filter))
        .map(|t| {
            t.lines()
                .filter(|l| !l.starts_with('#') && !l.is_empty())
                .take(LINES_PER_LOG)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn fail2ban_regexes_compile_and_agree_with_python_on_the_sample_logs() {
    let env_path = |var: &str, default: &str| {
        std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from)
    };
    let filters = env_path("BANTAM_F2B_FILTERS", "/tmp/f2b-filters.jsonl");
    let logs = env_path(
        "BANTAM_F2B_LOGS",
        "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs",
    );
    let Some(regexes) = regexes(&filters).or_else(dump_filters) else {
        eprintln!(
            "{} not found and fail2ban not importable: skipped",
            filters.display()
        );
        return;
    };
    let mut linear = 0;
    let mut empty_loops = Vec::new();
    let mut backtracking = Vec::new();
    let mut refused = Vec::new();
    let mut refused_cases = Vec::new();
    for (r, flags, filter) in &regexes {
        let f = PyFlags {
            multiline: flags.contains('m'),
            ..PyFlags::default()
        };
        let compiled = PyRegex::new(r, f);
        if compiled.as_ref().is_ok_and(PyRegex::has_empty_loop) {
            empty_loops.push(format!("{filter}: {r}"));
        }
        match compiled {
            Ok(re) if re.engine() == EngineKind::Linear => linear += 1,
            Ok(_) => backtracking.push(format!("{filter}: {r}")),
            Err(e) => {
                refused.push(format!("{filter}: {e}"));
                refused_cases.push(Case::new(r, flags, ""));
            }
        }
    }
    eprintln!(
        "{} fail2ban regexes: {linear} linear, {} backtracking, {} refused",
        regexes.len(),
        backtracking.len(),
        refused.len()
    );
    for b in &backtracking {
        eprintln!("  backtracking: {b}");
    }
    for e in &empty_loops {
        eprintln!("  loop with a body that can match empty: {e}");
    }
    let Some(py) = python() else {
        assert!(refused.is_empty(), "refused:\n{}", refused.join("\n"));
        return;
    };
    // Python refuses a few too: `((?i)a|b)` has global flags in the middle,
    // an error since Python 3.11, which fail2ban rewrites to `(?i:a|b)`
    // before compiling (its engine's job, not the dialect's).
    let python_refuses = ask(&py, &refused_cases);
    for (why, theirs) in refused.iter().zip(&python_refuses) {
        eprintln!("  refused (python: {}): {why}", theirs["error"]);
        assert!(theirs["error"].is_string(), "python compiles it: {why}");
    }
    let mut lines_by_filter: HashMap<&str, Vec<String>> = HashMap::new();
    let mut cases = Vec::new();
    for (r, flags, filter) in &regexes {
        let lines = lines_by_filter
            .entry(filter)
            .or_insert_with(|| sample_lines(&logs, filter));
        cases.extend(lines.iter().map(|l| Case::new(r, flags, l)));
    }
    let answers = ask(&py, &cases);
    let matched = answers.iter().filter(|a| a["match"].is_array()).count();
    let bad = disagreements(&cases, &answers);
    eprintln!(
        "{} (regex, sample line) pairs, {matched} matching, {} disagreeing",
        cases.len(),
        bad.len()
    );
    assert!(
        bad.is_empty(),
        "{} disagreements, the first:\n{}",
        bad.len(),
        bad.iter().take(10).cloned().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn tags_are_replaced_by_plain_groups() {
    assert_eq!(
        replace_tags(r"^<F-USER>\S+</F-USER> from <HOST> or <HOST> <x>"),
        r"^(?P<user>\S+) from (?P<host>\S+) or (?P<host_2>\S+) <x>"
    );
    assert_eq!(replace_tags("a<SKIPLINES>b<"), r"a(?:.*\n)*?b<");
}
