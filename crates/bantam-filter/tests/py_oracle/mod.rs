//! Python's own `re`, run as an oracle for `bantam_filter::python`.
//!
//! # Why live and batched
//!
//! The expected results come from the Python that fail2ban runs on, not from
//! our reading of its documentation, and one `python3` process answers every
//! case of a test (`scripts/python-regex-oracle.py`), so thousands of cases
//! cost well under a second. Without `python3` the tests say so and pass,
//! except under CI (env `CI` set), where a missing oracle is a failure.

// Each test binary that includes this module uses a different part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use bantam_filter::python::{PyFlags, PyRegex};
use serde_json::{json, Value};

/// One question: `pattern` compiled with `flags` ("ims" letters), searched
/// in `text` from character `start`.
#[derive(Clone, Debug)]
pub struct Case {
    pub pattern: String,
    pub flags: String,
    pub text: String,
    pub start: usize,
}

impl Case {
    pub fn new(pattern: &str, flags: &str, text: &str) -> Case {
        Case {
            pattern: pattern.to_owned(),
            flags: flags.to_owned(),
            text: text.to_owned(),
            start: 0,
        }
    }
}

/// The Python to ask, if there is one: `$PYTHON`, the system's, or `python3`.
pub fn python() -> Option<PathBuf> {
    let candidates = std::env::var_os("PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain([PathBuf::from("/usr/bin/python3"), PathBuf::from("python3")]);
    for c in candidates {
        let ok = Command::new(&c)
            .arg("-c")
            .arg("import re, json")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(c);
        }
    }
    if std::env::var_os("CI").is_some() {
        panic!("python3 is required under CI: it is the oracle for the Python regex dialect");
    }
    eprintln!("python3 not found: the Python oracle tests are skipped");
    None
}

/// Python's answers, one per case, in order.
pub fn ask(python: &Path, cases: &[Case]) -> Vec<Value> {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/python-regex-oracle.py");
    let input: Vec<Value> = cases
        .iter()
        .map(|c| json!({"pattern": c.pattern, "flags": c.flags, "text": c.text, "start": c.start}))
        .collect();
    let mut child = Command::new(python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run the python oracle");
    let mut stdin = child.stdin.take().expect("oracle stdin");
    let body = serde_json::to_vec(&input).expect("cases as JSON");
    let writer = std::thread::spawn(move || stdin.write_all(&body));
    let out = child.wait_with_output().expect("oracle output");
    writer.join().expect("writer thread").expect("write cases");
    assert!(out.status.success(), "the python oracle failed");
    serde_json::from_slice(&out.stdout).expect("oracle answers are JSON")
}

fn flags_of(letters: &str) -> PyFlags {
    PyFlags {
        multiline: letters.contains('m'),
        ignore_case: letters.contains('i'),
        dotall: letters.contains('s'),
    }
}

/// Compiled patterns by (pattern, flags): many cases share one.
type Cache = HashMap<(String, String), Result<PyRegex, String>>;

/// Whether we compile `case` to a pattern with a loop whose body can match
/// empty (`PyRegex::has_empty_loop`), where Python's loop rule differs.
pub fn has_empty_loop(case: &Case) -> bool {
    PyRegex::new(&case.pattern, flags_of(&case.flags)).is_ok_and(|re| re.has_empty_loop())
}

/// What we answer, in the oracle's shape.
fn ours(case: &Case, cache: &mut Cache) -> Value {
    let key = (case.pattern.clone(), case.flags.clone());
    let compiled = cache.entry(key).or_insert_with(|| {
        PyRegex::new(&case.pattern, flags_of(&case.flags)).map_err(|e| e.reason)
    });
    let re = match compiled {
        Ok(re) => re,
        Err(e) => return json!({"error": e}),
    };
    let names: serde_json::Map<String, Value> = re
        .group_names()
        .iter()
        .enumerate()
        .filter_map(|(i, n)| Some((n.as_deref()?.to_owned(), json!(i))))
        .collect();
    let start = case
        .text
        .char_indices()
        .nth(case.start)
        .map_or(case.text.len(), |(b, _)| b);
    let found = match re.search_at(&case.text, start) {
        Ok(m) => m,
        Err(e) => return json!({"limit": e.to_string()}),
    };
    let groups = re.group_names().len() - 1;
    let spans = found.map(|m| {
        (0..=groups)
            .map(|i| m.get(i).map_or(Value::Null, |(s, e)| json!([s, e])))
            .collect::<Vec<_>>()
    });
    json!({"groups": groups, "names": names, "match": spans})
}

/// The one documented difference in spans: a repeated group whose body can
/// match empty. After the last real iteration Python's loop tries once
/// more, matches empty and records that iteration; the Rust engines stop
/// before it. The match is the same; only such groups differ, where Python
/// shows an empty span.
fn only_last_empty_iteration_differs(theirs: &Value, mine: &Value) -> bool {
    let (Some(t), Some(m)) = (theirs["match"].as_array(), mine["match"].as_array()) else {
        return false;
    };
    theirs["names"] == mine["names"]
        && t.len() == m.len()
        && t.first() == m.first()
        && t.iter()
            .zip(m)
            .all(|(a, b)| a == b || (a[0] == a[1] && !b.is_null()))
}

/// Every disagreement between Python and us, described. Patterns Python
/// rejects must be rejected too (the messages may differ).
pub fn disagreements(cases: &[Case], answers: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    let mut cache = Cache::new();
    for (case, theirs) in cases.iter().zip(answers) {
        let mine = ours(case, &mut cache);
        let agree = match (theirs.get("error"), mine.get("error")) {
            (Some(_), Some(_)) => true,
            (None, None) => &mine == theirs || only_last_empty_iteration_differs(theirs, &mine),
            _ => false,
        };
        if !agree {
            out.push(format!(
                "pattern {:?} flags {:?} text {:?} start {}\n  python: {theirs}\n  bantam: {mine}",
                case.pattern, case.flags, case.text, case.start
            ));
        }
    }
    out
}
