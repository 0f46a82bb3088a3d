//! Counting what `bantam regex` saw and presenting it.

use std::io::{self, Write};
use std::time::Duration;

use bantam_filter::{Filter, Outcome};
use serde::Serialize;

pub struct Report {
    lines: u64,
    matched: u64,
    ignored: u64,
    missed: u64,
    invalid: u64,
    nofail: u64,
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
            lines: 0,
            matched: 0,
            ignored: 0,
            missed: 0,
            invalid: 0,
            nofail: 0,
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

    pub fn time_line(&mut self, took: Duration) {
        let line_number = self.lines + 1;
        if self.worst.is_none_or(|(worst, _)| took > worst) {
            self.worst = Some((took, line_number));
        }
    }

    pub fn finish(&mut self, filter: &Filter, elapsed: Duration) {
        self.seconds = elapsed.as_secs_f64();
        self.dates = filter
            .date_hits()
            .iter()
            .map(|(f, n)| (f.name(), *n))
            .filter(|(_, n)| *n > 0)
            .collect();
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
        if self.nofail + self.invalid > 0 {
            write!(
                out,
                " ({} helper lines, {} with an unusable address)",
                self.nofail, self.invalid
            )?;
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
