//! Running one filter over its annotated sample logs, the way fail2ban's
//! `samplestestcase.py` does: lines in order with the filter's state kept,
//! `# filterOptions:` starting runs with other option sets (each its own
//! filter, cached by option set for the whole test), `# fileOptions:`
//! merged in, `# addFILE:` logs appended, journal lines dated by the journal.
//!
//! # Why state and order matter
//!
//! Multi-line filters (`maxlines`, `<F-MLFID>`) and date inference depend on
//! the lines before; judging lines one by one would pass filters that fail
//! in real use, and fail ones that work.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use bantam_filter::fail2ban::F2bFilter;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value};

use super::condition::{eval, Scope};
use super::judge::compare;
use super::resolved::{FilterSource, Options};

/// A judged line that did not pass.
#[derive(Clone, Debug, Serialize)]
pub struct LineFailure {
    pub file: String,
    pub line: usize,
    /// The option set of the run that failed (`{}` for the plain filter).
    pub run: String,
    pub reason: String,
    pub text: String,
}

/// One filter's results.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FilterReport {
    pub filter: String,
    pub passed: usize,
    pub failed: usize,
    pub failures: Vec<LineFailure>,
}

/// The fixed test clock and zone, as fail2ban's tests set them.
pub struct Clock {
    pub now: Timestamp,
    pub zone: TimeZone,
    /// The latest year `%ExY` accepts: fail2ban takes it from the real
    /// clock even in its tests (three years ahead).
    pub last_year: i32,
}

/// One option set's filter, or why it could not be built.
type Run = (String, Options, std::result::Result<F2bFilter, String>);

/// A log is read as fail2ban reads it: split on `\n`, UTF-8 with
/// replacement.
fn read_lines(path: &Path) -> Result<Vec<String>> {
    let bytes = std::fs::read(path)?;
    let text = String::from_utf8_lossy(&bytes);
    Ok(text.split_inclusive('\n').map(str::to_owned).collect())
}

/// `# failJSON: …`, `# filterOptions: …`, `# fileOptions: …`,
/// `# addFILE: …`: (kind, json text).
fn directive(line: &str) -> Option<(&str, &str)> {
    let body = line.trim_end_matches('\n');
    let rest = body.trim_start_matches('#');
    if rest.len() == body.len() {
        return None;
    }
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    for kind in ["failJSON", "fileOptions", "filterOptions", "addFILE"] {
        if let Some(json) = rest.strip_prefix(kind).and_then(|r| r.strip_prefix(':')) {
            if !json.is_empty() {
                return Some((kind, json));
            }
        }
    }
    None
}

fn non_test(opts: &Options) -> Options {
    opts.iter()
        .filter(|(k, _)| !k.starts_with("test."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Runs filter `name` over `logs/name` (and the files it adds).
pub fn run_filter(
    name: &str,
    logs: &Path,
    source: &dyn FilterSource,
    clock: &Clock,
) -> Result<FilterReport> {
    let mut report = FilterReport {
        filter: name.to_owned(),
        ..FilterReport::default()
    };
    // Filters by option set, kept across blocks and files (their state too).
    let mut cache: BTreeMap<String, usize> = BTreeMap::new();
    let mut filters: Vec<Run> = Vec::new();
    let mut active: Option<Vec<(usize, Options)>> = None;
    let mut common = Options::new();
    let mut files = vec![name.to_owned()];
    let mut get = |opts: &Options, filters: &mut Vec<Run>| -> usize {
        let flt_opts = non_test(opts);
        let key = match opts.get("test.filter-name") {
            Some(Value::String(n)) => n.clone(),
            _ => Value::Object(flt_opts.clone()).to_string(),
        };
        *cache.entry(key.clone()).or_insert_with(|| {
            let built = source
                .resolve(name, &flt_opts)
                .map_err(|e| format!("{e:#}"))
                .and_then(|r| {
                    let mut f = F2bFilter::new(&r.to_spec(), clock.zone.clone())
                        .map_err(|e| e.to_string())?;
                    f.set_year_limit(clock.last_year)
                        .map_err(|e| e.to_string())?;
                    Ok(f)
                });
            filters.push((key, flt_opts, built));
            filters.len() - 1
        })
    };
    let mut i = 0;
    while i < files.len() {
        let file = files[i].clone();
        i += 1;
        let lines = read_lines(&logs.join(&file))?;
        let mut ignore_block = false;
        let mut n = 0;
        while n < lines.len() {
            let mut line = lines[n].as_str();
            n += 1;
            let mut lnnum = n;
            let mut faildata = Map::new();
            if let Some((kind, json)) = directive(line) {
                let data: Value = match serde_json::from_str(json) {
                    Ok(v) => v,
                    Err(e) => {
                        report.failed += 1;
                        report.failures.push(LineFailure {
                            file: file.clone(),
                            line: lnnum,
                            run: String::new(),
                            reason: format!("bad {kind} JSON: {e}"),
                            text: line.trim_end().to_owned(),
                        });
                        continue;
                    }
                };
                match kind {
                    "fileOptions" => {
                        common = data.as_object().cloned().unwrap_or_default();
                        continue;
                    }
                    "addFILE" => {
                        if let Value::String(f) = data {
                            files.push(f);
                        }
                        continue;
                    }
                    "filterOptions" => {
                        let sets = match data {
                            Value::Array(a) => a,
                            other => vec![other],
                        };
                        let mut runs = Vec::new();
                        ignore_block = false;
                        for set in sets {
                            let mut opts = common.clone();
                            opts.extend(set.as_object().cloned().unwrap_or_default());
                            if let Some(Value::String(c)) = opts.get("test.condition") {
                                let scope = Scope { name, opts: &opts };
                                ignore_block = !eval(c, &scope).unwrap_or(false);
                            }
                            if !ignore_block {
                                runs.push((get(&opts, &mut filters), opts.clone()));
                            }
                        }
                        active = Some(runs);
                        continue;
                    }
                    _ => {
                        faildata = data.as_object().cloned().unwrap_or_default();
                        let Some(next) = lines.get(n) else { break };
                        line = next.as_str();
                        n += 1;
                        lnnum = n;
                    }
                }
            } else if ignore_block || line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            if ignore_block {
                continue;
            }
            let runs = active
                .get_or_insert_with(|| vec![(get(&Options::new(), &mut filters), Options::new())])
                .clone();
            let text = line.trim_end_matches(['\r', '\n']);
            let mut failure = None;
            for (r, opts) in runs {
                let (run_name, _, built) = &mut filters[r];
                if let Some(Value::String(c)) = faildata.get("constraint") {
                    let scope = Scope { name, opts: &opts };
                    match eval(c, &scope) {
                        Ok(true) => {}
                        Ok(false) => continue,
                        Err(e) => {
                            failure.get_or_insert((run_name.clone(), format!("{e:#}")));
                            continue;
                        }
                    }
                }
                let verdict = match built {
                    Err(e) => Err(e.clone()),
                    Ok(f) => judge_line(f, &opts, text, &faildata, clock),
                };
                if let Err(reason) = verdict {
                    failure.get_or_insert((run_name.clone(), reason));
                }
            }
            match failure {
                None => report.passed += 1,
                Some((run, reason)) => {
                    report.failed += 1;
                    report.failures.push(LineFailure {
                        file: file.clone(),
                        line: lnnum,
                        run,
                        reason,
                        text: text.to_owned(),
                    });
                }
            }
        }
    }
    Ok(report)
}

/// Processes one line with one run's filter and judges the result.
fn judge_line(
    f: &mut F2bFilter,
    opts: &Options,
    text: &str,
    faildata: &Map<String, Value>,
    clock: &Clock,
) -> std::result::Result<(), String> {
    let journal = opts.get("logtype").and_then(Value::as_str) == Some("journal");
    let found = if journal {
        // The journal knows the time; the backend prepends a common prefix.
        let prefix = opts
            .get("test.prefix-line")
            .and_then(Value::as_str)
            .unwrap_or("");
        f.process_dated(&format!("{prefix}{text}"), clock.now)
    } else {
        f.process_line(text, clock.now)
    };
    // Helper and pending matches are not failures.
    let found: Vec<_> = found
        .into_iter()
        .filter(|m| m.fid.is_some() && !m.nofail)
        .collect();
    let want = faildata
        .get("match")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    match (found.as_slice(), want) {
        ([], false) => Ok(()),
        ([], true) => Err("line not matched when it should have been".to_owned()),
        ([_, ..], false) => Err(format!(
            "line matched (failregex {}) when it should not have been",
            found[0].rule
        )),
        ([m], true) => {
            compare(m, faildata, &clock.zone).map_err(|e| format!("failregex {}: {e}", m.rule))
        }
        (many, true) => Err(format!(
            "several failregex matched: {:?}",
            many.iter().map(|m| m.rule).collect::<Vec<_>>()
        )),
    }
}
