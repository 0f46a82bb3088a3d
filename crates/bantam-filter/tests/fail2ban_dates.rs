//! fail2ban's own `DateDetector` as the oracle for
//! `bantam_filter::fail2ban::date`: every line of fail2ban's sample logs
//! (default templates, and each `datepattern` their filters use) and our
//! own lines covering every directive and keyword, compared span by span
//! and instant by instant.
//!
//! Needs `/usr/bin/python3` with fail2ban importable; without it the test
//! is skipped, unless `CI` is set, where it fails.
//!
//! Times: fail2ban drops the fraction of `%f` dates, which we keep, so a
//! whole-second time from fail2ban is compared with our whole second; a
//! fractional one (epochs) to within 10 µs (fail2ban goes through a float).

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use bantam_filter::fail2ban::date::DateTemplates;
use jiff::tz::{Offset, TimeZone};
use jiff::Timestamp;
use serde_json::Value;

const PYTHON: &str = "/usr/bin/python3";

fn oracle() -> Option<Value> {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/fail2ban-oracle/dump_dates.py");
    let usable = Path::new(PYTHON).exists()
        && Command::new(PYTHON)
            .args(["-c", "import fail2ban.server.datedetector"])
            .output()
            .is_ok_and(|o| o.status.success());
    if !usable {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but {PYTHON} cannot import fail2ban"
        );
        eprintln!("skipped: {PYTHON} cannot import fail2ban");
        return None;
    }
    let out = Command::new(PYTHON)
        .arg(&script)
        .output()
        .expect("the oracle script runs");
    assert!(
        out.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).expect("the oracle prints JSON"))
}

fn same_time(expected: &Value, got: Option<Timestamp>) -> bool {
    match (expected.as_f64(), got) {
        (None, None) => true,
        (Some(t), Some(g)) if t.fract() == 0.0 => g.as_second() as f64 == t,
        (Some(t), Some(g)) => {
            let g = g.as_second() as f64 + f64::from(g.subsec_nanosecond()) / 1e9;
            (g - t).abs() < 1e-5
        }
        _ => false,
    }
}

#[test]
fn dates_agree_with_fail2ban() {
    let Some(oracle) = oracle() else { return };
    let now = Timestamp::from_second(oracle["now"].as_i64().unwrap()).unwrap();
    let zone = TimeZone::posix(oracle["tz"].as_str().unwrap()).unwrap();
    let last_year = i32::try_from(oracle["exy_last_year"].as_i64().unwrap()).unwrap();
    let (mut total, mut agree) = (0usize, 0usize);
    let mut misses: Vec<String> = Vec::new();
    // Compiling a template list is the slow part in a debug build; a
    // fresh list is a clone of a pristine one.
    let mut pristine: HashMap<Option<String>, DateTemplates> = HashMap::new();
    for case in oracle["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let pattern = case["datepattern"].as_str();
        let log_zone = case["logtimezone_minutes"].as_i64().map(|m| {
            TimeZone::fixed(Offset::from_seconds(i32::try_from(m * 60).unwrap()).unwrap())
        });
        let built = match (&log_zone, pristine.get(&pattern.map(str::to_owned))) {
            (None, Some(d)) => Ok(d.clone()),
            (None, None) => DateTemplates::new(pattern, zone.clone()).inspect(|d| {
                pristine.insert(pattern.map(str::to_owned), d.clone());
            }),
            (Some(log), _) => DateTemplates::new(pattern, log.clone()).map(|mut d| {
                d.set_system_zone(zone.clone());
                d
            }),
        };
        if case["error"].as_bool().unwrap() {
            total += 1;
            if built.is_err() {
                agree += 1;
            } else {
                misses.push(format!("{name}: {pattern:?} should not load"));
            }
            continue;
        }
        let mut dates = match built {
            Ok(d) => d,
            Err(e) => {
                let n = case["lines"].as_array().unwrap().len().max(1);
                total += n;
                misses.push(format!("{name}: {pattern:?} does not load: {e}"));
                continue;
            }
        };
        dates.set_year_limit(last_year).unwrap();
        for l in case["lines"].as_array().unwrap() {
            total += 1;
            let line = l["line"].as_str().unwrap();
            let want_span = l["span"].as_array().map(|s| {
                (
                    s[0].as_u64().unwrap() as usize,
                    s[1].as_u64().unwrap() as usize,
                )
            });
            let got = dates.find_text(line, now);
            // `{NONE}`: fail2ban's template matches nothing at the line
            // start; ours reports no date at all (the caller dates the line).
            let none_ok = dates.is_none() && got.is_none() && want_span.is_none_or(|(s, e)| s == e);
            let ok = none_ok
                || match (want_span, got) {
                    (None, None) => true,
                    (Some((s, e)), Some(g)) if (g.start, g.end) == (s, e) => {
                        s == e || same_time(&l["time"], g.time)
                    }
                    _ => false,
                };
            if ok {
                agree += 1;
            } else {
                misses.push(format!(
                    "{name} {pattern:?}\n    line {line:?}\n    fail2ban {want_span:?} {}\n    bantam   {:?}",
                    l["time"],
                    got.map(|g| (g.start, g.end, g.time))
                ));
            }
        }
    }
    let rate = agree as f64 * 100.0 / total.max(1) as f64;
    eprintln!("fail2ban dates: {agree}/{total} agree ({rate:.2}%)");
    for m in misses.iter().take(40) {
        eprintln!("{m}");
    }
    assert!(misses.is_empty(), "{} of {total} differ", misses.len());
}
