//! `bantam regex LOG /etc/fail2ban/filter.d/NAME.conf`: a fail2ban filter
//! file, read as fail2ban reads it (includes, `.local`, `[Init]`, `--mode`)
//! and run on fail2ban's semantics, as `fail2ban-regex` does.
//!
//! Unlike native filters, a fail2ban filter carries state from line to line
//! (multi-line buffers, `<F-MLFID>` connections, the previous line's date),
//! so the log is read in order on one thread.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use bantam_filter::fail2ban::F2bFilter;
use bantam_filter::{failure_host, failure_of};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Serialize;

/// Whether FILTER names a fail2ban filter file.
pub fn is_fail2ban_filter(arg: &str) -> bool {
    (arg.ends_with(".conf") || arg.ends_with(".local")) && Path::new(arg).is_file()
}

/// What `--out` prints for each failure.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Out {
    Ip,
    User,
    /// The log line (as read, without its line end).
    Line,
}

pub struct Args<'a> {
    pub log: &'a str,
    pub filter: &'a str,
    pub mode: Option<&'a str>,
    pub zone: TimeZone,
    pub json: bool,
    pub out: Option<Out>,
    pub log_is_file: bool,
    /// Time every line; report the slowest.
    pub timings: bool,
}

#[derive(Serialize)]
struct Summary {
    engine: &'static str,
    lines: u64,
    matched: u64,
    ignored: u64,
    missed: u64,
    failures: u64,
    seconds: f64,
    lines_per_second: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    worst_line_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    worst_line_number: Option<u64>,
    rules: Vec<RuleHits>,
}

#[derive(Serialize)]
struct RuleHits {
    rule: usize,
    regex: String,
    hits: u64,
}

pub fn run(args: Args<'_>) -> Result<ExitCode> {
    let (basedir, name) = bantam_config::fail2ban::filter_file_location(Path::new(args.filter))
        .ok_or_else(|| anyhow!("{}: not a filter file name", args.filter))?;
    let params: Vec<(String, String)> = args
        .mode
        .map(|m| vec![("mode".to_owned(), m.to_owned())])
        .unwrap_or_default();
    let def = bantam_config::fail2ban::resolve_filter(&basedir, &name, &params)
        .with_context(|| format!("reading fail2ban filter {}", args.filter))?;
    let spec = def.to_spec(&name);
    let mut filter = F2bFilter::new(&spec, args.zone)?;
    let mut hits = vec![0u64; def.failregex.len()];
    let (mut lines, mut matched, mut failures) = (0u64, 0u64, 0u64);
    let mut worst = (std::time::Duration::ZERO, 0u64);
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let now = Timestamp::now();
    let started = Instant::now();
    let mut on_line = |line: &[u8], out: &mut BufWriter<io::StdoutLock<'_>>| -> io::Result<()> {
        lines += 1;
        // Valid UTF-8 (nearly every line) is checked by the fast ASCII-aware
        // validator; only other lines pay for the lossy conversion.
        let text = match std::str::from_utf8(line) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(line),
        };
        let text = text.strip_suffix('\r').unwrap_or(&text);
        let mut any = false;
        let timer = args.timings.then(Instant::now);
        let found = filter.process_line(text, now);
        if let Some(t) = timer {
            let took = t.elapsed();
            if took > worst.0 {
                worst = (took, lines);
            }
        }
        for m in found {
            let rule = m.rule;
            // Counting needs only whether it is a failure: the failure
            // itself (its fields moved into another map) is built only
            // to print from.
            let failure = match args.out {
                None => failure_host(&m).map(|_| None),
                Some(_) => failure_of(m).map(Some),
            };
            let Some(failure) = failure else {
                continue;
            };
            any = true;
            failures += 1;
            if let Some(h) = hits.get_mut(rule) {
                *h += 1;
            }
            match (args.out, failure) {
                (Some(Out::Ip), Some(f)) => writeln!(out, "{}", f.host)?,
                (Some(Out::User), Some(f)) => {
                    writeln!(out, "{}", f.user.as_deref().unwrap_or(""))?;
                }
                (Some(Out::Line), _) => writeln!(out, "{text}")?,
                _ => {}
            }
        }
        matched += u64::from(any);
        Ok(())
    };
    if args.log_is_file {
        let file = File::open(args.log).with_context(|| format!("cannot open log {}", args.log))?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = reader
                .read_until(b'\n', &mut line)
                .with_context(|| format!("reading {}", args.log))?;
            if n == 0 {
                break;
            }
            let body = line.strip_suffix(b"\n").unwrap_or(&line);
            on_line(body, &mut out).context("writing output")?;
        }
    } else {
        on_line(args.log.as_bytes(), &mut out).context("writing output")?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let summary = Summary {
        engine: "fail2ban",
        lines,
        matched,
        ignored: 0,
        missed: lines - matched,
        failures,
        seconds,
        lines_per_second: if seconds > 0.0 {
            lines as f64 / seconds
        } else {
            0.0
        },
        worst_line_seconds: args.timings.then_some(worst.0.as_secs_f64()),
        worst_line_number: args.timings.then_some(worst.1),
        rules: def
            .failregex
            .iter()
            .zip(&hits)
            .enumerate()
            .map(|(rule, (regex, hits))| RuleHits {
                rule: rule + 1,
                regex: regex.clone(),
                hits: *hits,
            })
            .collect(),
    };
    let written = if args.json {
        serde_json::to_writer(&mut out, &summary)
            .map_err(io::Error::from)
            .and_then(|_| writeln!(out))
    } else if args.out.is_some() {
        Ok(())
    } else {
        write_human(&mut out, &summary, args.filter, args.mode)
    };
    match written.and_then(|_| out.flush()) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e).context("writing output"),
    }
}

fn write_human(
    out: &mut impl Write,
    s: &Summary,
    filter: &str,
    mode: Option<&str>,
) -> io::Result<()> {
    writeln!(
        out,
        "Filter: fail2ban filter file {filter} (mode {}), fail2ban semantics",
        mode.unwrap_or("default")
    )?;
    writeln!(out, "Failregex: {} total", s.failures)?;
    for r in &s.rules {
        if r.hits > 0 {
            writeln!(out, "  #{:<3} {:>9}  {}", r.rule, r.hits, r.regex)?;
        }
    }
    writeln!(
        out,
        "Lines: {} lines, {} matched, {} missed",
        s.lines, s.matched, s.missed
    )?;
    writeln!(
        out,
        "Time: {:.3} s ({:.0} lines/s)",
        s.seconds, s.lines_per_second
    )?;
    if let (Some(secs), Some(line)) = (s.worst_line_seconds, s.worst_line_number) {
        writeln!(out, "Slowest line: #{line}, {:.1} us", secs * 1e6)?;
    }
    Ok(())
}
