//! `bantam check`: the configuration and each jail against its real logs,
//! before a start or `systemctl reload`. Exit 0 when clean, 1 otherwise.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use bantam_daemon::check::{check, CheckOptions, CheckReport, JailRow};
use clap::Args;

#[derive(Args)]
pub struct CheckArgs {
    /// Configuration file (TOML) and its conf.d/*.toml drop-ins; default
    /// /etc/bantam/bantam.toml when present, else the built-in sshd jail.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Also check the enabled jails of a fail2ban configuration directory.
    #[arg(long, value_name = "DIR")]
    fail2ban_config: Option<PathBuf>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Read at most this many lines (journal entries) of each log.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    lines: usize,
    /// Count only failures this recent (e.g. 24h, 30m, 1d12h).
    #[arg(long, value_name = "DURATION", default_value = "24h")]
    since: String,
}

pub fn run(mut args: CheckArgs) -> Result<ExitCode> {
    let since = bantam_config::duration::parse_duration(&args.since)
        .map_err(|e| anyhow::anyhow!("--since: {e}"))?;
    if args.config.is_none() && args.fail2ban_config.is_none() {
        let system = Path::new(bantam_config::layers::SYSTEM_CONFIG);
        args.config = bantam_config::layers::present(system);
    }
    let options = CheckOptions {
        lines: args.lines.max(1),
        since,
        ..CheckOptions::default()
    };
    let loaded =
        bantam_config::load_with_fail2ban(args.config.as_deref(), args.fail2ban_config.as_deref());
    let report = match loaded {
        Ok((settings, warnings)) => check(&settings, &warnings, &options),
        // A configuration that does not load is the one problem to fix first.
        Err(e) => CheckReport {
            ok: false,
            problems: vec![format!("configuration: {e}")],
            ..CheckReport::default()
        },
    };
    let mut out = io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, &report).context("writing output")?;
        writeln!(out)?;
    } else {
        write_human(&mut out, &report)?;
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "-".into()
    } else {
        items.join(" ")
    }
}

fn write_human(out: &mut impl Write, report: &CheckReport) -> io::Result<()> {
    if !report.jails.is_empty() {
        let header = [
            "jail",
            "source",
            "lines",
            "failures",
            "would ban",
            "unmatched rules",
            "errors",
        ];
        let rows: Vec<[String; 7]> = report.jails.iter().map(row).collect();
        let mut widths = header.map(str::len);
        for r in &rows {
            for (w, cell) in widths.iter_mut().zip(r) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            padded.join("  ").trim_end().to_owned()
        };
        writeln!(out, "{}", line(&header.map(String::from)))?;
        for r in &rows {
            writeln!(out, "{}", line(r))?;
        }
        writeln!(out)?;
    }
    for note in &report.notes {
        writeln!(out, "note: {note}")?;
    }
    for problem in &report.problems {
        writeln!(out, "problem: {problem}")?;
    }
    match report.problems.len() {
        0 => writeln!(out, "check: OK"),
        n => writeln!(out, "check: {n} problem(s)"),
    }
}

fn row(j: &JailRow) -> [String; 7] {
    let mut failures = j.failures.to_string();
    if j.malformed > 0 {
        failures.push_str(&format!(" ({} malformed)", j.malformed));
    }
    [
        j.jail.clone(),
        j.sources.join(" "),
        j.lines.to_string(),
        failures,
        list(&j.would_ban),
        match j.failures {
            0 if !j.unmatched_rules.is_empty() => format!("all ({})", j.unmatched_rules.len()),
            _ => list(&j.unmatched_rules),
        },
        j.errors.len().to_string(),
    ]
}
