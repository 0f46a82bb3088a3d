//! `bantam check-samples`: judge bantam's fail2ban engine with fail2ban's own
//! annotated sample logs (`tests/files/logs` in fail2ban's source), the way
//! fail2ban's `samplestestcase.py` judges fail2ban.
//!
//! # Why
//!
//! "Runs your /etc/fail2ban unchanged" is a claim; fail2ban's sample suite
//! (about a thousand annotated lines over every shipped filter) is the
//! evidence. The filters come from a [`resolved::FilterSource`], so the same
//! check can judge fail2ban's own resolution (`--resolved`) and bantam's INI
//! reader.

mod condition;
mod filter_dir;
mod judge;
mod resolved;
mod runner;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use jiff::tz::TimeZone;
use jiff::Timestamp;

use resolved::{FilterSource, ResolvedFile};
use runner::{run_filter, Clock, FilterReport};

/// fail2ban's tests freeze time at 2005-08-14 10:00:00 UTC.
const TEST_NOW: i64 = 1_124_013_600;
/// fail2ban's tests run in this zone (CET with the EU's switch dates).
const TEST_ZONE: &str = "CET-1CEST-2,M3.5.0,M10.5.0";

#[derive(Args)]
pub struct CheckSamplesArgs {
    /// A fail2ban configuration directory (or its filter.d): every filter
    /// in it, read by bantam's own fail2ban reader.
    #[arg(long, value_name = "DIR", required_unless_present = "resolved")]
    filters: Option<PathBuf>,
    /// Instead of --filters: fail2ban's own resolution of every filter, one
    /// JSON object per line (made by scripts/fail2ban-oracle/dump_filters.py),
    /// to tell reader problems from engine problems.
    #[arg(long, value_name = "FILE.jsonl", conflicts_with = "filters")]
    resolved: Option<PathBuf>,
    /// The directory of annotated sample logs (fail2ban's tests/files/logs).
    #[arg(long, value_name = "DIR")]
    logs: PathBuf,
    /// Print one JSON document instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: CheckSamplesArgs) -> Result<ExitCode> {
    let source: Box<dyn FilterSource> = match (&args.filters, &args.resolved) {
        (_, Some(file)) => Box::new(ResolvedFile::load(file)?),
        (Some(dir), None) => Box::new(filter_dir::FilterDir::open(dir)?),
        (None, None) => anyhow::bail!("give --filters DIR (or --resolved FILE.jsonl)"),
    };
    let clock = Clock {
        now: Timestamp::from_second(TEST_NOW).context("test clock")?,
        zone: TimeZone::posix(TEST_ZONE).context("test zone")?,
        last_year: i32::from(jiff::Zoned::now().year()) + 3,
    };
    let mut reports: Vec<FilterReport> = Vec::new();
    let mut skipped = Vec::new();
    for name in source.names() {
        if !args.logs.join(&name).is_file() {
            skipped.push(name);
            continue;
        }
        let report = run_filter(&name, &args.logs, source.as_ref(), &clock)
            .with_context(|| format!("filter {name}"))?;
        reports.push(report);
    }
    let passed: usize = reports.iter().map(|r| r.passed).sum();
    let failed: usize = reports.iter().map(|r| r.failed).sum();
    if args.json {
        let doc = serde_json::json!({
            "filters": reports,
            "skipped": skipped,
            "passed": passed,
            "failed": failed,
        });
        println!("{doc}");
    } else {
        for r in &reports {
            println!("{}: {} passed, {} failed", r.filter, r.passed, r.failed);
            for f in &r.failures {
                println!("  {}:{} [{}] {}", f.file, f.line, f.run, f.reason);
                println!("    {}", f.text);
            }
        }
        if !skipped.is_empty() {
            println!("skipped (no sample log): {}", skipped.join(", "));
        }
        println!(
            "{passed} passed, {failed} failed, {} skipped",
            skipped.len()
        );
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
