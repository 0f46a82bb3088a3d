//! Finding and reading the timestamp of a log line.
//!
//! # Two steps: locate, then resolve
//!
//! [`DateDetector::locate`] only finds *where* a date is and *which* format it
//! has, checking its shape (digits, month names, field ranges such as hour <
//! 24) but doing no calendar or time-zone work. [`DateDetector::resolve`]
//! turns a located date into an absolute [`Timestamp`]. The split exists
//! because most lines match no rule: the filter locates the date to cut it off
//! before matching, and only lines that produce a failure pay for the
//! conversion (zone lookup, year inference, day-of-month validity).
//!
//! `locate` is O(1) per line, whatever the line's length: dates are only tried
//! at a few fixed anchors (see `position`: offset 0, after a leading `[`,
//! after a `<PRI>` and after a `<PRI>1 ` RFC 5424 header), each parser reads a
//! bounded number of bytes, and the one format that needs a search (CLF, whose
//! date follows a variable-length client address) tries at most four `[`
//! within the first 512 bytes. Lines are plain bytes: invalid UTF-8, NULs and
//! truncated dates are "no date", never a panic.
//!
//! # The remembered winner
//!
//! A log file uses one format at one place on every line. In
//! [`DatePattern::Auto`] mode the detector remembers the format and anchor of
//! the last date it found and tries that pair first, so the steady state is a
//! single parse attempt. When it fails (a different daemon's line in a shared
//! file), every anchor and format is tried, leftmost anchor first, and the new
//! winner is remembered. Formats are disjoint in shape, so the order in which
//! they are tried never changes which one matches at a given anchor.
//!
//! # The caches
//!
//! Dates without an explicit offset are read in the detector's zone. The
//! conversion of a civil minute to an instant is cached (two entries), so
//! consecutive lines in the same minute cost one addition; see `zone` for why
//! that is exact even across DST transitions. The local year of "now", needed
//! to infer the year of syslog dates, is cached for as long as "now" stays in
//! that year. Dates with an offset (ISO `Z`/`+01:00`, CLF `+0000`) and epoch
//! times need no zone at all.

mod asctime;
mod clf;
mod epoch;
mod iso;
mod position;
mod scan;
mod syslog;
mod zone;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use jiff::tz::TimeZone;
pub use jiff::Timestamp;

use position::Anchor;
use scan::{Parsed, Stamp};

/// Which kind of timestamp a log uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DateFormat {
    /// RFC 3164: `Nov 25 07:21:09`, optional `.fraction`; no year.
    Syslog,
    /// `Wed Nov 25 07:21:09 2026`, optional `.fraction` before the year.
    Asctime,
    /// ISO 8601 / RFC 3339 / RFC 5424: `2026-11-25T07:21:09.625+01:00`,
    /// `2026-11-25 07:21:09,123`, with or without offset.
    Iso8601,
    /// Common Log Format: `25/Nov/2026:07:21:09 +0000`, usually in `[...]`.
    Clf,
    /// Unix seconds, 10 digits, optional `.fraction`.
    Epoch,
    /// Unix milliseconds, 13 digits.
    EpochMillis,
}

impl DateFormat {
    /// Every format, in the order used by [`DateDetector::hits`].
    pub const ALL: [DateFormat; 6] = [
        DateFormat::Syslog,
        DateFormat::Asctime,
        DateFormat::Iso8601,
        DateFormat::Clf,
        DateFormat::Epoch,
        DateFormat::EpochMillis,
    ];

    /// The name used in filter files and accepted by [`FromStr`].
    pub fn name(self) -> &'static str {
        match self {
            DateFormat::Syslog => "syslog",
            DateFormat::Asctime => "asctime",
            DateFormat::Iso8601 => "iso8601",
            DateFormat::Clf => "clf",
            DateFormat::Epoch => "epoch",
            DateFormat::EpochMillis => "epoch-ms",
        }
    }

    /// Position in [`DateFormat::ALL`] (declaration order).
    fn index(self) -> usize {
        self as usize
    }

    /// Whether a date of this format can begin with byte `b`. Lets `locate`
    /// skip most parsers on a non-date line with a single comparison.
    fn may_start_with(self, b: u8) -> bool {
        match self {
            DateFormat::Syslog | DateFormat::Asctime => b.is_ascii_alphabetic(),
            _ => b.is_ascii_digit(),
        }
    }

    /// Runs this format's parser at exactly `at`.
    fn parse_at(self, line: &[u8], at: usize) -> Option<Parsed> {
        match self {
            DateFormat::Syslog => syslog::parse(line, at),
            DateFormat::Asctime => asctime::parse(line, at),
            DateFormat::Iso8601 => iso::parse(line, at),
            DateFormat::Clf => clf::parse(line, at),
            DateFormat::Epoch => epoch::parse_seconds(line, at),
            DateFormat::EpochMillis => epoch::parse_millis(line, at),
        }
    }
}

impl FromStr for DateFormat {
    type Err = UnknownDateFormat;

    /// Accepts the names returned by [`DateFormat::name`], ignoring ASCII case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DateFormat::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownDateFormat(s.to_owned()))
    }
}

/// A date format name that is not one of [`DateFormat::name`]'s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownDateFormat(pub String);

impl fmt::Display for UnknownDateFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown date format {:?} (expected one of: ", self.0)?;
        for (i, format) in DateFormat::ALL.into_iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(format.name())?;
        }
        f.write_str(")")
    }
}

impl std::error::Error for UnknownDateFormat {}

/// What the filter asks for: detect, pin one format, or never look for a date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DatePattern {
    /// Try every format; remember the last winner.
    #[default]
    Auto,
    /// Only this format (at every anchor).
    Pinned(DateFormat),
    /// Lines carry no usable date; `locate` always returns `None`.
    None,
}

/// Where a date sits in a line (byte offsets, end exclusive) and its format.
/// The span covers only the date text: not a `<PRI>`, not brackets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateSpan {
    pub start: usize,
    pub end: usize,
    pub format: DateFormat,
}

/// Finds and converts the dates of one log source. Holds per-source state
/// (the remembered winner, caches, statistics), so use one per filter/file.
#[derive(Clone, Debug)]
pub struct DateDetector {
    pattern: DatePattern,
    clock: zone::LocalClock,
    /// Format and anchor of the last date found, tried first next time.
    last: Option<(DateFormat, Anchor)>,
    hits: [u64; 6],
}

impl DateDetector {
    /// `zone` applies to dates written without an offset: typically
    /// `TimeZone::system()`, or the filter's `logtimezone`.
    pub fn new(pattern: DatePattern, zone: TimeZone) -> Self {
        DateDetector {
            pattern,
            clock: zone::LocalClock::new(zone),
            last: None,
            hits: [0; 6],
        }
    }

    /// Finds where the date is, without converting it. In `Auto` mode the
    /// last winning format is tried first at the anchor where it won, then
    /// every format at every anchor; the winner is remembered. Shape and
    /// field ranges are validated; calendar validity (Feb 30) and time zones
    /// are left to [`resolve`](Self::resolve).
    pub fn locate(&mut self, line: &[u8]) -> Option<DateSpan> {
        let only = match self.pattern {
            DatePattern::None => return None,
            DatePattern::Auto => None,
            DatePattern::Pinned(format) => Some(format),
        };
        let tried = self.last;
        if let Some((format, anchor)) = tried {
            if let Some((start, p)) = find_at(line, format, anchor) {
                return Some(self.won(format, anchor, start, p.end));
            }
        }
        for (anchor, at) in position::anchors(line) {
            let Some(&first) = line.get(at) else { break };
            for format in DateFormat::ALL {
                // CLF has its own bounded search below, which covers offset 0.
                if format == DateFormat::Clf
                    || !format.may_start_with(first)
                    || only.is_some_and(|f| f != format)
                    || tried == Some((format, anchor))
                {
                    continue;
                }
                if let Some(p) = format.parse_at(line, at) {
                    return Some(self.won(format, anchor, at, p.end));
                }
            }
        }
        let clf = (DateFormat::Clf, Anchor::ClfBracket);
        if only.is_none_or(|f| f == DateFormat::Clf) && tried != Some(clf) {
            if let Some((start, p)) = clf::search(line) {
                return Some(self.won(clf.0, clf.1, start, p.end));
            }
        }
        None
    }

    fn won(&mut self, format: DateFormat, anchor: Anchor, start: usize, end: usize) -> DateSpan {
        self.last = Some((format, anchor));
        let hits = &mut self.hits[format.index()];
        *hits = hits.saturating_add(1);
        DateSpan { start, end, format }
    }

    /// Converts a date found by [`locate`](Self::locate) on this same line to
    /// an instant. `now` is only used to infer the year of syslog dates (the
    /// most recent such date not more than a day after `now`). Returns `None`
    /// if the date does not exist (Feb 30, Feb 29 of a non-leap year), is out
    /// of jiff's range, or `span` does not describe a date in `line`.
    pub fn resolve(&mut self, line: &[u8], span: DateSpan, now: Timestamp) -> Option<Timestamp> {
        // Re-parsing the span is a few dozen byte comparisons, cheaper than
        // carrying parsed fields from `locate` through the caller, and it
        // makes a stale or foreign span harmless.
        let text = line.get(..span.end)?;
        let parsed = span.format.parse_at(text, span.start)?;
        if parsed.end != span.end {
            return None;
        }
        match parsed.stamp {
            Stamp::Unix { second, nanos } => Timestamp::new(second, nanos).ok(),
            Stamp::Civil {
                civil,
                offset: Some(offset),
            } => zone::with_offset(&civil, offset),
            Stamp::Civil {
                civil,
                offset: None,
            } => self.clock.instant(&civil),
            Stamp::Yearless(civil) => syslog::resolve(&mut self.clock, &civil, now),
        }
    }

    /// How many lines each format won so far, in [`DateFormat::ALL`] order.
    pub fn hits(&self) -> [u64; 6] {
        self.hits
    }
}

/// Tries one format at one anchor (the remembered winner).
fn find_at(line: &[u8], format: DateFormat, anchor: Anchor) -> Option<(usize, Parsed)> {
    match anchor {
        Anchor::ClfBracket => clf::search(line),
        _ => {
            let at = anchor.offset(line)?;
            format.parse_at(line, at).map(|p| (at, p))
        }
    }
}
