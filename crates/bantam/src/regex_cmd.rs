//! `bantam regex LOG FILTER [IGNOREREGEX]`: run a filter over a log (or one
//! literal line) and report what it found, for people (`fail2ban-regex`'s
//! layout, roughly) or for scripts (`--json`, `--out ip`).

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use bantam_filter::Outcome;
use clap::{Args, ValueEnum};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::filter_arg::{self, Overrides};
use crate::regex_report::Report;

#[derive(Args)]
pub struct RegexArgs {
    /// A log file, or a single literal log line.
    log: String,
    /// A shipped filter name (e.g. `sshd`), a filter file, or a literal regex
    /// with tags such as `<HOST>`.
    filter: String,
    /// An extra ignore regex.
    ignoreregex: Option<String>,
    /// Print one JSON object instead of the human report.
    #[arg(long, conflicts_with = "out")]
    json: bool,
    /// Print only this field of each failure, one per line, in order.
    #[arg(long, value_enum)]
    out: Option<OutField>,
    /// The filter mode (e.g. `aggressive` for sshd); the filter's default otherwise.
    #[arg(long)]
    mode: Option<String>,
    /// Pin the date format: auto, none, syslog, asctime, iso8601, clf, epoch, epoch-ms.
    #[arg(long)]
    date: Option<String>,
    /// Time zone of dates written without an offset (default: the system's).
    #[arg(long, value_name = "ZONE")]
    logtimezone: Option<String>,
    /// How many missed lines to show as samples.
    #[arg(long, default_value_t = 10, value_name = "N")]
    missed_samples: usize,
    /// Time every line and report the slowest (costs a little per line).
    #[arg(long)]
    timings: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutField {
    /// The address (or network) of each failure.
    Ip,
    /// The user name of each failure (empty when none).
    User,
    /// The whole matched line.
    Line,
}

/// Lines are read in chunks this large; a longer line grows the buffer.
const CHUNK: usize = 1 << 20;

pub fn run(args: RegexArgs) -> Result<ExitCode> {
    filter_arg::check_not_a_typo(&args.filter)?;
    let zone = match &args.logtimezone {
        Some(name) => TimeZone::get(name).with_context(|| format!("unknown time zone {name:?}"))?,
        None => TimeZone::try_system().unwrap_or(TimeZone::UTC),
    };
    let described = filter_arg::load(
        &args.filter,
        Overrides {
            mode: args.mode.as_deref(),
            date: args.date.as_deref(),
            zone,
            ignoreregex: args.ignoreregex.as_deref(),
        },
    )?;
    let mut filter = described.filter;
    let mut report = Report::new(&filter, args.missed_samples);
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let now = Timestamp::now();
    let started = Instant::now();
    let mut on_line = |line: &[u8]| -> io::Result<()> {
        let line_started = args.timings.then(Instant::now);
        let outcome = filter.scan(line, now);
        if let Some(t) = line_started {
            report.time_line(t.elapsed());
        }
        if let (Some(field), Outcome::Failure(f)) = (args.out, &outcome) {
            match field {
                OutField::Ip => writeln!(out, "{}", f.host)?,
                OutField::User => writeln!(out, "{}", f.user.as_deref().unwrap_or(""))?,
                OutField::Line => {
                    out.write_all(line)?;
                    out.write_all(b"\n")?;
                }
            }
        }
        report.record(line, &outcome);
        Ok(())
    };
    let source = if looks_like_file(&args.log) {
        let file =
            File::open(&args.log).with_context(|| format!("cannot open log {}", args.log))?;
        for_each_line(file, &mut on_line).with_context(|| format!("reading {}", args.log))?;
        format!("log file {}", args.log)
    } else {
        on_line(args.log.as_bytes()).context("writing output")?;
        "a literal line".to_owned()
    };
    let elapsed = started.elapsed();
    report.finish(&filter, elapsed);
    let written = if args.json {
        serde_json::to_writer(&mut out, &report.json())
            .map_err(io::Error::from)
            .and_then(|_| writeln!(out))
    } else if args.out.is_none() {
        report.write_human(&mut out, &described.origin, &source)
    } else {
        Ok(())
    };
    match written.and_then(|_| out.flush()) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e).context("writing output"),
    }
}

/// A LOG argument is a file when a file of that name exists, or when it looks
/// like a path and so a missing file should be an error, not a line.
fn looks_like_file(arg: &str) -> bool {
    Path::new(arg).exists() || (arg.starts_with('/') || arg.starts_with("./")) && !arg.contains(' ')
}

/// Calls `f` with every line of `reader`, without its terminator. Reads large
/// chunks and splits them in place, so a line costs no allocation.
fn for_each_line(
    mut reader: impl Read,
    f: &mut impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let mut buf = vec![0u8; CHUNK];
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let n = match reader.read(&mut buf[filled..]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            if filled > 0 {
                f(&buf[..filled])?;
            }
            return Ok(());
        }
        let end = filled + n;
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', &buf[filled..end]) {
            let nl = filled + nl;
            f(&buf[start..nl])?;
            start = nl + 1;
        }
        buf.copy_within(start..end, 0);
        filled = end - start;
    }
}
