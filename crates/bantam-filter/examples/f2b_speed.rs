//! Throughput of the fail2ban engine on one log, without the binary's
//! reading and reporting around it, so that engine changes can be measured
//! alone (and profiled with `perf record`).
//!
//! Usage: `cargo run --release -p bantam-filter --example f2b_speed --
//! FILTERS.jsonl FILTER LOG [ROUNDS [MODE]]`, where FILTERS.jsonl is the dump made
//! by `scripts/fail2ban-oracle/dump_filters.py` and FILTER a filter name
//! (its entry without options, or with only `mode` = MODE, is used). Prints lines/s and how many lines
//! matched, so that a faster run can be checked to find the same.

use std::time::Instant;

use bantam_filter::fail2ban::{F2bFilter, F2bFilterSpec};
use jiff::tz::TimeZone;
use jiff::Timestamp;

fn spec_of(jsonl: &str, name: &str, mode: Option<&str>) -> Option<F2bFilterSpec> {
    let text = std::fs::read_to_string(jsonl).ok()?;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        let options = v["options"].as_object();
        let wanted = match mode {
            None => options.is_some_and(|o| o.is_empty()),
            Some(m) => {
                options.is_some_and(|o| o.len() == 1 && o.get("mode").is_some_and(|v| v == m))
            }
        };
        if v["filter"] != name || !wanted {
            continue;
        }
        let list = |k: &str| -> Vec<String> {
            v[k].as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        return Some(F2bFilterSpec {
            name: name.to_owned(),
            prefregex: v["prefregex"].as_str().map(str::to_owned),
            failregex: list("failregex"),
            ignoreregex: list("ignoreregex"),
            datepattern: v["datepattern"].as_str().map(str::to_owned),
            maxlines: v["maxlines"].as_u64().map_or(1, |n| n as usize),
            ..F2bFilterSpec::default()
        });
    }
    None
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: f2b_speed FILTERS.jsonl FILTER LOG [ROUNDS [MODE]]");
        std::process::exit(2);
    }
    let mode = args.get(5).map(String::as_str);
    let Some(spec) = spec_of(&args[1], &args[2], mode) else {
        eprintln!("no plain entry for filter {} in {}", args[2], args[1]);
        std::process::exit(2);
    };
    let log = match std::fs::read_to_string(&args[3]) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read {}: {e}", args[3]);
            std::process::exit(2);
        }
    };
    let rounds: usize = args.get(4).and_then(|r| r.parse().ok()).unwrap_or(3);
    let now = Timestamp::now();
    for _ in 0..rounds {
        let mut filter = match F2bFilter::new(&spec, TimeZone::UTC) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(2);
            }
        };
        let (mut lines, mut matched, mut found) = (0u64, 0u64, 0u64);
        let started = Instant::now();
        for line in log.lines() {
            lines += 1;
            let m = filter.process_line(line, now);
            matched += u64::from(!m.is_empty());
            found += m.len() as u64;
        }
        let s = started.elapsed().as_secs_f64();
        println!(
            "{lines} lines, {matched} matched ({found} matches), {:.3} s, {:.0} lines/s",
            s,
            lines as f64 / s
        );
    }
}
