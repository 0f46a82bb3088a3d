//! `bantam regex LOG FILTER [IGNOREREGEX]`: run a filter over a log (or one
//! literal line) and report what it found, for people (`fail2ban-regex`'s
//! layout, roughly) or for scripts (`--json`, `--out ip`).

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use bantam_filter::{Filter, Outcome};
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
    /// Threads to judge a file with (default: one per core, up to 8). Output
    /// order does not depend on it.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
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

/// Files are read in blocks this large; each block is split between the
/// threads at line boundaries. A line longer than a block grows the buffer.
const BLOCK: usize = 16 << 20;

/// What every worker needs to judge lines the same way.
struct Judge {
    now: Timestamp,
    out: Option<OutField>,
    timings: bool,
}

/// One thread's filter (with its own date-format memory), its counts for the
/// current chunk, and its share of `--out` output, printed in order later.
struct Worker {
    filter: Filter,
    report: Report,
    output: Vec<u8>,
}

impl Worker {
    fn judge_chunk(&mut self, chunk: &[u8], judge: &Judge) {
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', chunk) {
            self.judge_line(&chunk[start..nl], judge);
            start = nl + 1;
        }
        if start < chunk.len() {
            self.judge_line(&chunk[start..], judge);
        }
    }

    fn judge_line(&mut self, line: &[u8], judge: &Judge) {
        let started = judge.timings.then(Instant::now);
        let outcome = self.filter.scan(line, judge.now);
        if let Some(t) = started {
            self.report.time_line(t.elapsed());
        }
        if let (Some(field), Outcome::Failure(f)) = (judge.out, &outcome) {
            // Writing to a Vec cannot fail.
            let _ = match field {
                OutField::Ip => writeln!(self.output, "{}", f.host),
                OutField::User => writeln!(self.output, "{}", f.user.as_deref().unwrap_or("")),
                OutField::Line => self
                    .output
                    .write_all(line)
                    .and_then(|_| self.output.write_all(b"\n")),
            };
        }
        self.report.record(line, &outcome);
    }
}

pub fn run(args: RegexArgs) -> Result<ExitCode> {
    filter_arg::check_not_a_typo(&args.filter)?;
    let zone = match &args.logtimezone {
        Some(name) => TimeZone::get(name).with_context(|| format!("unknown time zone {name:?}"))?,
        None => TimeZone::try_system().unwrap_or(TimeZone::UTC),
    };
    if crate::regex_fail2ban::is_fail2ban_filter(&args.filter) {
        return crate::regex_fail2ban::run(crate::regex_fail2ban::Args {
            log: &args.log,
            filter: &args.filter,
            mode: args.mode.as_deref(),
            zone,
            json: args.json,
            out: args.out.map(|o| match o {
                OutField::Ip => crate::regex_fail2ban::Out::Ip,
                OutField::User => crate::regex_fail2ban::Out::User,
                OutField::Line => crate::regex_fail2ban::Out::Line,
            }),
            log_is_file: looks_like_file(&args.log),
            timings: args.timings,
        });
    }
    let described = filter_arg::load(
        &args.filter,
        Overrides {
            mode: args.mode.as_deref(),
            date: args.date.as_deref(),
            zone,
            ignoreregex: args.ignoreregex.as_deref(),
        },
    )?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(8)))
        .max(1);
    let filter = described.filter;
    let mut total = Report::new(&filter, args.missed_samples);
    let mut workers: Vec<Worker> = (0..threads)
        .map(|_| Worker {
            filter: filter.clone(),
            report: Report::new(&filter, args.missed_samples),
            output: Vec::new(),
        })
        .collect();
    let judge = Judge {
        now: Timestamp::now(),
        out: args.out,
        timings: args.timings,
    };
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let started = Instant::now();
    let source = if looks_like_file(&args.log) {
        let file =
            File::open(&args.log).with_context(|| format!("cannot open log {}", args.log))?;
        let mut on_block =
            |block: &[u8]| judge_block(&mut workers, &mut total, block, &judge, &mut out);
        for_each_block(file, &mut on_block).with_context(|| format!("reading {}", args.log))?;
        format!("log file {}", args.log)
    } else {
        judge_block(
            &mut workers,
            &mut total,
            args.log.as_bytes(),
            &judge,
            &mut out,
        )
        .context("writing output")?;
        "a literal line".to_owned()
    };
    let filters: Vec<Filter> = workers.into_iter().map(|w| w.filter).collect();
    total.finish(&filters, started.elapsed());
    let written = if args.json {
        serde_json::to_writer(&mut out, &total.json())
            .map_err(io::Error::from)
            .and_then(|_| writeln!(out))
    } else if args.out.is_none() {
        total.write_human(&mut out, &described.origin, &source)
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

/// Splits `block` (whole lines) between the workers, judges the pieces in
/// parallel, then merges counts and prints output in line order.
fn judge_block(
    workers: &mut [Worker],
    total: &mut Report,
    block: &[u8],
    judge: &Judge,
    out: &mut impl Write,
) -> io::Result<()> {
    let chunks = split_at_lines(block, workers.len());
    let mut base = total.lines();
    for (worker, chunk) in workers.iter_mut().zip(&chunks) {
        worker.report = Report::new(&worker.filter, total.max_samples());
        worker.report.line_base = base;
        if judge.timings {
            base += memchr::memchr_iter(b'\n', chunk).count() as u64;
        }
    }
    if chunks.len() == 1 {
        workers[0].judge_chunk(chunks[0], judge);
    } else {
        std::thread::scope(|scope| {
            for (worker, chunk) in workers.iter_mut().zip(&chunks) {
                scope.spawn(move || worker.judge_chunk(chunk, judge));
            }
        });
    }
    for worker in workers.iter_mut().take(chunks.len()) {
        total.merge(&worker.report);
        out.write_all(&worker.output)?;
        worker.output.clear();
    }
    Ok(())
}

/// Up to `n` pieces of `block`, each ending at a line end. Small blocks stay
/// whole: a thread is not worth starting for a few lines.
fn split_at_lines(block: &[u8], n: usize) -> Vec<&[u8]> {
    if n <= 1 || block.len() < 64 << 10 {
        return vec![block];
    }
    let mut pieces = Vec::with_capacity(n);
    let mut start = 0;
    for i in 1..n {
        let target = (block.len() * i / n).max(start);
        let Some(nl) = memchr::memchr(b'\n', &block[target..]) else {
            break;
        };
        pieces.push(&block[start..target + nl + 1]);
        start = target + nl + 1;
    }
    pieces.push(&block[start..]);
    pieces
}

/// A LOG argument is a file when a file of that name exists, or when it looks
/// like a path and so a missing file should be an error, not a line.
fn looks_like_file(arg: &str) -> bool {
    Path::new(arg).exists() || (arg.starts_with('/') || arg.starts_with("./")) && !arg.contains(' ')
}

/// Calls `f` with blocks of whole lines read from `reader` (the last block
/// may end without a newline).
fn for_each_block(
    mut reader: impl Read,
    f: &mut impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(BLOCK);
    let mut eof = false;
    while !eof {
        let want = buf.len() + BLOCK;
        let mut filled = buf.len();
        buf.resize(want, 0);
        while filled < want {
            match reader.read(&mut buf[filled..]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        buf.truncate(filled);
        let end = if eof {
            buf.len()
        } else {
            memchr::memrchr(b'\n', &buf).map_or(0, |nl| nl + 1)
        };
        if end > 0 {
            f(&buf[..end])?;
            buf.drain(..end);
        }
    }
    Ok(())
}
