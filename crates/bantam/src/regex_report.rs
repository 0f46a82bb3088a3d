//! Counting what `bantam regex` saw and presenting it.

use std::io::{self, Write};
use std::time::Duration;

use bantam_filter::{Filter, Outcome};
use serde::Serialize;

pub struct Report {
    /// Lines before the current chunk, so that line numbers stay global when
    /// chunks are judged on several threads.
    pub line_base: u64,
    lines: u64,
    matched: u64,
    ignored: u64,
    missed: u64,
    invalid: u64,
    nofail: u64,
    /// JSON lines that were not a JSON object (json filters only).
    malformed: u64,
    /// Lines a success rule matched (a login): not failures.
    successes: u64,
    rule_hits: Vec<u64>,
    ignore_hits: Vec<u64>,
    missed_samples: Vec<String>,
    max_samples: usize,
    seconds: f64,
    worst: Option<(Duration, u64)>,
    dates: Vec<(&'static str, u64)>,
    rule_ids: Vec<String>,
    ignore_ids: Vec<String>,
}

#[derive(Serialize)]
pub struct Json<'a> {
    lines: u64,
    matched: u64,
    ignored: u64,
    missed: u64,
    invalid: u64,
    nofail: u64,
    malformed: u64,
    successes: u64,
    seconds: f64,
    lines_per_second: f64,
    rules: Vec<RuleHits<'a>>,
    ignore_rules: Vec<RuleHits<'a>>,
    dates: Vec<DateHits>,
    #[serde(skip_serializing_if = "Option::is_none")]
    worst_line_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    worst_line_number: Option<u64>,
    missed_samples: &'a [String],
}

#[derive(Serialize)]
struct RuleHits<'a> {
    id: &'a str,
    hits: u64,
}

#[derive(Serialize)]
struct DateHits {
    format: &'static str,
    hits: u64,
}

/// Samples are for reading, so very long lines are shortened.
const SAMPLE_BYTES: usize = 300;

impl Report {
    pub fn new(filter: &Filter, max_samples: usize) -> Report {
        Report {
            line_base: 0,
            lines: 0,
            matched: 0,
            ignored: 0,
            missed: 0,
            invalid: 0,
            nofail: 0,
            malformed: 0,
            successes: 0,
            rule_hits: vec![0; filter.rule_ids().len()],
            ignore_hits: vec![0; filter.ignore_ids().len()],
            missed_samples: Vec::new(),
            max_samples,
            seconds: 0.0,
            worst: None,
            dates: Vec::new(),
            rule_ids: filter.rule_ids().to_vec(),
            ignore_ids: filter.ignore_ids().to_vec(),
        }
    }

    pub fn record(&mut self, line: &[u8], outcome: &Outcome) {
        self.lines += 1;
        match outcome {
            Outcome::Failure(f) => {
                self.matched += 1;
                self.rule_hits[f.rule] += 1;
            }
            Outcome::Ignored { rule } => {
                self.ignored += 1;
                self.ignore_hits[*rule] += 1;
            }
            Outcome::Success(f) => {
                self.successes += 1;
                self.rule_hits[f.rule] += 1;
            }
            Outcome::NoFail { .. } => self.nofail += 1,
            Outcome::Invalid { .. } => self.invalid += 1,
            Outcome::Missed => {
                self.missed += 1;
                if self.missed_samples.len() < self.max_samples {
                    let shown = &line[..line.len().min(SAMPLE_BYTES)];
                    let mut text = String::from_utf8_lossy(shown).into_owned();
                    if shown.len() < line.len() {
                        text.push_str(&format!("… ({} bytes)", line.len()));
                    }
                    self.missed_samples.push(text);
                }
            }
        }
    }

    pub fn lines(&self) -> u64 {
        self.lines
    }

    pub fn max_samples(&self) -> usize {
        self.max_samples
    }

    /// Adds another thread's counts. Samples stay in line order as long as
    /// reports are merged in chunk order.
    pub fn merge(&mut self, other: &Report) {
        self.lines += other.lines;
        self.matched += other.matched;
        self.ignored += other.ignored;
        self.missed += other.missed;
        self.invalid += other.invalid;
        self.nofail += other.nofail;
        self.successes += other.successes;
        for (mine, theirs) in self.rule_hits.iter_mut().zip(&other.rule_hits) {
            *mine += theirs;
        }
        for (mine, theirs) in self.ignore_hits.iter_mut().zip(&other.ignore_hits) {
            *mine += theirs;
        }
        for sample in &other.missed_samples {
            if self.missed_samples.len() < self.max_samples {
                self.missed_samples.push(sample.clone());
            }
        }
        if let Some((took, line)) = other.worst {
            if self.worst.is_none_or(|(worst, _)| took > worst) {
                self.worst = Some((took, line));
            }
        }
    }

    pub fn time_line(&mut self, took: Duration) {
        let line_number = self.line_base + self.lines + 1;
        if self.worst.is_none_or(|(worst, _)| took > worst) {
            self.worst = Some((took, line_number));
        }
    }

    /// Closes the report: total time, and date-format hits summed over the
    /// filters of every thread.
    pub fn finish(&mut self, filters: &[Filter], elapsed: Duration) {
        self.seconds = elapsed.as_secs_f64();
        let mut dates: Vec<(&'static str, u64)> = Vec::new();
        for filter in filters {
            for (i, (format, n)) in filter.date_hits().iter().enumerate() {
                match dates.get_mut(i) {
                    Some(slot) => slot.1 += n,
                    None => dates.push((format.name(), *n)),
                }
            }
        }
        dates.retain(|(_, n)| *n > 0);
        self.dates = dates;
        self.malformed = filters.iter().map(Filter::malformed_lines).sum();
    }

    fn lines_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.lines as f64 / self.seconds
        } else {
            0.0
        }
    }

    pub fn json(&self) -> Json<'_> {
        Json {
            lines: self.lines,
            matched: self.matched,
            ignored: self.ignored,
            missed: self.missed,
            invalid: self.invalid,
            nofail: self.nofail,
            malformed: self.malformed,
            successes: self.successes,
            seconds: self.seconds,
            lines_per_second: self.lines_per_second(),
            rules: rule_hits(&self.rule_ids, &self.rule_hits),
            ignore_rules: rule_hits(&self.ignore_ids, &self.ignore_hits),
            dates: self
                .dates
                .iter()
                .map(|(format, hits)| DateHits {
                    format,
                    hits: *hits,
                })
                .collect(),
            worst_line_seconds: self.worst.map(|(d, _)| d.as_secs_f64()),
            worst_line_number: self.worst.map(|(_, n)| n),
            missed_samples: &self.missed_samples,
        }
    }

    pub fn write_human(&self, out: &mut impl Write, origin: &str, source: &str) -> io::Result<()> {
        writeln!(out, "Filter:  {origin}")?;
        writeln!(out, "Log:     {source}")?;
        writeln!(out)?;
        writeln!(out, "Failure rules: {} lines matched", self.matched)?;
        for (i, (id, hits)) in self.rule_ids.iter().zip(&self.rule_hits).enumerate() {
            writeln!(out, "  {:>3}) [{hits:>9}] {id}", i + 1)?;
        }
        if !self.ignore_ids.is_empty() {
            writeln!(out, "Ignore rules: {} lines ignored", self.ignored)?;
            for (i, (id, hits)) in self.ignore_ids.iter().zip(&self.ignore_hits).enumerate() {
                writeln!(out, "  {:>3}) [{hits:>9}] {id}", i + 1)?;
            }
        }
        writeln!(out, "Date formats:")?;
        if self.dates.is_empty() {
            writeln!(out, "  (no dates found: lines take their arrival time)")?;
        }
        for (format, hits) in &self.dates {
            writeln!(out, "  [{hits:>9}] {format}")?;
        }
        writeln!(out)?;
        write!(
            out,
            "Lines: {} lines, {} ignored, {} matched, {} missed",
            self.lines, self.ignored, self.matched, self.missed
        )?;
        if self.successes > 0 {
            write!(out, " ({} successes)", self.successes)?;
        }
        if self.nofail + self.invalid > 0 {
            write!(
                out,
                " ({} helper lines, {} with an unusable address)",
                self.nofail, self.invalid
            )?;
        }
        if self.malformed > 0 {
            write!(out, " ({} malformed JSON lines skipped)", self.malformed)?;
        }
        writeln!(
            out,
            " [{:.3} s, {:.0} lines/s]",
            self.seconds,
            self.lines_per_second()
        )?;
        if let Some((took, line)) = self.worst {
            writeln!(
                out,
                "Slowest line: #{line}, {:.1} µs",
                took.as_secs_f64() * 1e6
            )?;
        }
        if !self.missed_samples.is_empty() {
            writeln!(out)?;
            writeln!(out, "Missed lines (first {}):", self.missed_samples.len())?;
            for sample in &self.missed_samples {
                writeln!(out, "  | {sample}")?;
            }
        }
        Ok(())
    }
}

fn rule_hits<'a>(ids: &'a [String], hits: &[u64]) -> Vec<RuleHits<'a>> {
    ids.iter()
        .zip(hits)
        .map(|(id, hits)| RuleHits { id, hits: *hits })
        .collect()
}
