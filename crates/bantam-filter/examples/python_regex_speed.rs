//! Prints what a search costs in the Python dialect: ns per search of a
//! realistic sshd-style pattern on a line it does not match, on each
//! engine, and how long a hostile line takes to exhaust
//! `BACKTRACK_LIMIT` (which should be about a millisecond).
//!
//! `cargo run --release -p bantam-filter --example python_regex_speed`.
//! With `/tmp/f2b-filters.jsonl` present (or `BANTAM_F2B_FILTERS`), fail2ban's
//! own sshd regexes are timed too, read from it at run time.

use std::time::Instant;

use bantam_filter::python::{PyFlags, PyRegex, BACKTRACK_LIMIT};

/// Our own sshd-style rule, linear as written.
const LINEAR: &str = r"^(?:error: )?Failed (?:password|keyboard-interactive/pam) for (?:invalid user )?(?P<user>\S+) from (?P<host>[0-9a-fA-F.:]+) port \d+(?: ssh2)?\s*$";
/// The same with a look-ahead guard, which only the backtracker runs.
const LOOKAHEAD: &str = r"^(?:error: )?Failed (?:password|keyboard-interactive/pam) for (?:invalid user )?(?P<user>(?:(?!\sfrom\s).)+) from (?P<host>[0-9a-fA-F.:]+) port \d+(?: ssh2)?\s*$";

const MISS: &str =
    "Accepted publickey for deploy from 192.0.2.10 port 50022 ssh2: ED25519 SHA256:Zm9vYmFyYmF6";
const HIT: &str = "Failed password for invalid user admin from 198.51.100.7 port 40022 ssh2";

fn time(re: &PyRegex, text: &str) -> f64 {
    let rounds = 20_000;
    let start = Instant::now();
    let mut found = 0;
    for _ in 0..rounds {
        if matches!(re.search(std::hint::black_box(text)), Ok(Some(_))) {
            found += 1;
        }
    }
    std::hint::black_box(found);
    start.elapsed().as_nanos() as f64 / rounds as f64
}

fn report(label: &str, pattern: &str) {
    let re = match PyRegex::new(pattern, PyFlags::default()) {
        Ok(re) => re,
        Err(e) => {
            println!("{label}: {e}");
            return;
        }
    };
    println!(
        "{label:<28} {:?}: {:>8.0} ns/search missing, {:>8.0} ns/search matching",
        re.engine(),
        time(&re, MISS),
        time(&re, HIT)
    );
}

fn main() {
    report("sshd-style, linear", LINEAR);
    report("sshd-style, look-ahead", LOOKAHEAD);

    let hostile = PyRegex::new(r"^(a|a)*\1b", PyFlags::default()).expect("compiles");
    // The `cb` gets it past the linear screen, so the backtracker runs.
    let line = "a".repeat(64) + "cb";
    let rounds = 50;
    let start = Instant::now();
    for _ in 0..rounds {
        assert!(hostile.search(&line).is_err(), "the limit should be hit");
    }
    println!(
        "hostile line: {:.0} µs to exhaust BACKTRACK_LIMIT = {BACKTRACK_LIMIT}",
        start.elapsed().as_micros() as f64 / rounds as f64
    );

    let path = std::env::var("BANTAM_F2B_FILTERS").unwrap_or("/tmp/f2b-filters.jsonl".into());
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    for line in text
        .lines()
        .filter(|l| l.contains(r#""filter": "sshd""#))
        .take(1)
    {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
        for (i, r) in v["failregex"].as_array().into_iter().flatten().enumerate() {
            let r = r.as_str().unwrap_or_default();
            // Tags as plain groups, as the fail2ban pattern test does.
            let r = r
                .replace("<HOST>", r"(?P<host>\S+)")
                .replace("<F-USER>", "(?P<user>")
                .replace("</F-USER>", ")")
                .replace("<F-NOFAIL>", "(?P<nofail>")
                .replace("</F-NOFAIL>", ")")
                .replace("<F-MLFFORGET>", "(?P<mlfforget>")
                .replace("</F-MLFFORGET>", ")")
                .replace("<F-MLFGAINED>", "(?P<mlfgained>")
                .replace("</F-MLFGAINED>", ")");
            report(&format!("fail2ban sshd failregex {i}"), &r);
        }
    }
}
