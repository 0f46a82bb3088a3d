//! fail2ban's date detection: its default template list, custom
//! `datepattern` lines with `%`-directives, `{^LN-BEG}`, `{DATE}`, `EPOCH`,
//! `LEPOCH`, `TAI64N`, `{NONE}` and the `%Ex*` directives.
//!
//! # Why a second date engine
//!
//! bantam's own [`crate::date`] looks for a handful of formats at fixed
//! places, which is fast and predictable. A fail2ban filter instead names
//! its dates with `datepattern` (or relies on fail2ban's defaults), and
//! which text fail2ban takes for the date decides both the time of a
//! failure and what the rules see, since the date is cut out of the line
//! first. To run fail2ban's filters unchanged we reproduce its detector:
//!
//! * `directives`: `%Y`, `%b`, `%ExY` … as regex text.
//! * `template`: one `datepattern` line → regex, boundaries, date group.
//! * `defaults`: fail2ban's default list and the keywords that use it.
//! * `detector`: which template wins on a line, and what it remembers.
//! * `strptime`, `zones`, `epoch`: the matched text → an instant.
//! * `matcher`: the default templates run on the linear `regex` engine;
//!   a filter's own Python text goes through [`crate::python::PyRegex`].
//!
//! Cost (release build, this machine's class): building the default list
//! takes about 15 ms; a line costs about 0.7 µs once a template has won,
//! and about 3 µs when it holds no date (every template is tried).
//!
//! The behaviour is checked line by line against fail2ban itself (see
//! `tests/fail2ban_dates.rs`).

mod defaults;
mod detector;
mod directives;
mod epoch;
mod matcher;
mod memo;
mod strptime;
mod template;
mod zones;

#[cfg(test)]
mod tests;

use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::error::FilterError;
use detector::{Detector, Entry};
use directives::YearLimit;
use template::{Recipe, Template};

/// Where a date was found in a line, and what it means.
///
/// An empty span (`start == end`) is a template that matched without
/// holding a date, such as fail2ban's `^WARNING:()**` idiom for lines that
/// carry none: fail2ban then dates the line with the last date it read (if
/// that is less than a minute old) or with "now"; `time` is `now` here and
/// the caller applies that rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateHit {
    /// Byte range of the date text in the line, as fail2ban cuts it out
    /// before the rules run.
    pub start: usize,
    pub end: usize,
    /// The instant.
    pub time: Timestamp,
}

/// A date text fail2ban would cut out of a line, read or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateText {
    /// Byte range of the text in the line.
    pub start: usize,
    pub end: usize,
    /// The instant, or `None` when the text is not a valid date.
    pub time: Option<Timestamp>,
}

/// A date detector for one log: fail2ban's templates, or a filter's own
/// `datepattern`, with per-log memory of the template that last matched.
#[derive(Clone, Debug)]
pub struct DateTemplates {
    zone: TimeZone,
    /// Set when `zone` is a `logtimezone`: the zone of the clock.
    system: Option<TimeZone>,
    detector: Detector,
    /// `{NONE}` alone: lines carry no date.
    none: bool,
    /// The `%ExY` range the templates are compiled for.
    years: YearLimit,
    /// Whether that range is settled (set explicitly, or from the first
    /// line's "now", as fail2ban settles it from the clock at start).
    years_settled: bool,
}

impl DateTemplates {
    /// `datepattern` as written in the filter (several lines allowed), or
    /// `None` for fail2ban's default list. `zone` applies to dates without an
    /// offset (the system zone, or `logtimezone`).
    pub fn new(datepattern: Option<&str>, zone: TimeZone) -> Result<DateTemplates, FilterError> {
        let years = YearLimit::through(2029);
        let mut entries: Vec<Entry> = Vec::new();
        let mut none = false;
        let push = |entries: &mut Vec<Entry>, t: Template| {
            // fail2ban keeps one template per name, i.e. per pattern text.
            let dup = entries.iter().any(|e| e.template.recipe == t.recipe);
            if !dup {
                entries.push(Entry::new(t));
            }
        };
        let Some(pattern) = datepattern else {
            for (r, w) in defaults::full() {
                push(&mut entries, Template::build(r, true, years, w)?);
            }
            return Ok(DateTemplates::from_entries(entries, zone, years, false));
        };
        let lines = pattern.split('\n').map(str::trim).filter(|l| !l.is_empty());
        let mut count = 0;
        for line in lines {
            count += 1;
            let key = defaults::key(line);
            match key.as_str() {
                "{^LN-BEG}" | "{DEFAULT}" => {
                    let only_line_start = key == "{^LN-BEG}";
                    for (r, w) in defaults::full() {
                        let t = Template::build(r, true, years, w)?;
                        if !only_line_start || t.line_begin {
                            push(&mut entries, t);
                        }
                    }
                }
                "{NONE}" => {
                    none = true;
                    let t = Template::build(Recipe::Pattern("{UNB}^".into()), true, years, 1.0)?;
                    push(&mut entries, t);
                }
                k if k.contains("{DATE}") => {
                    for r in defaults::with_date(line) {
                        push(&mut entries, Template::build(r, false, years, 1.0)?);
                    }
                }
                _ => {
                    let recipe = defaults::classify(line);
                    // Keywords alone are our text; patterns are the filter's.
                    let ours = matches!(recipe, Recipe::Epoch { .. } | Recipe::Tai64n { .. });
                    let t = Template::build(recipe, ours, years, 1.0)?;
                    push(&mut entries, t);
                }
            }
        }
        let only_none = none && count == 1;
        Ok(DateTemplates::from_entries(entries, zone, years, only_none))
    }

    fn from_entries(entries: Vec<Entry>, zone: TimeZone, years: YearLimit, none: bool) -> Self {
        DateTemplates {
            zone,
            system: None,
            detector: Detector::new(entries),
            none,
            years,
            years_settled: false,
        }
    }

    /// Whether dates are not read from lines at all (`{NONE}`): every line is
    /// dated by its arrival.
    pub fn is_none(&self) -> bool {
        self.none
    }

    /// Declares that `zone` is the filter's `logtimezone` and `system` the
    /// zone of the host's clock. fail2ban applies a `logtimezone` like an
    /// offset written in the line, but infers missing years and days, and
    /// judges "in the future", on the host's wall clock; without this call
    /// `zone` serves for both, which is exact when there is no
    /// `logtimezone`.
    pub fn set_system_zone(&mut self, system: TimeZone) {
        self.system = Some(system);
        self.detector.entries.iter_mut().for_each(|e| e.memo = None);
    }

    /// Fixes the latest year `%ExY` accepts (rounded up to the end of its
    /// decade; years from 2000 on are accepted). fail2ban derives it once,
    /// at start, from the wall clock (the decade of "now + 3 years");
    /// without this call the first line's `now` decides it.
    pub fn set_year_limit(&mut self, last_year: i32) -> Result<(), FilterError> {
        self.years_settled = true;
        self.rebuild(YearLimit::through(last_year))
    }

    fn rebuild(&mut self, years: YearLimit) -> Result<(), FilterError> {
        if years == self.years {
            return Ok(());
        }
        for e in &mut self.detector.entries {
            let t = &e.template;
            e.template = Template::build(t.recipe.clone(), t.ours, years, t.weight)?;
            e.memo = None;
        }
        self.years = years;
        Ok(())
    }

    /// Finds the date in `line`. `now` infers missing years (and is the
    /// reference for "not in the future"). `None` when no template matches,
    /// and when the matched text is not a valid date (see [`Self::find_text`]).
    pub fn find(&mut self, line: &str, now: Timestamp) -> Option<DateHit> {
        let found = self.find_text(line, now)?;
        Some(DateHit {
            start: found.start,
            end: found.end,
            time: found.time?,
        })
    }

    /// Like [`Self::find`], but also reports a date text that does not
    /// read as a date (Feb 30, hour 24 from `%k`, an unknown zone name):
    /// fail2ban still cuts that text out of the line, and dates the line as
    /// if it had none.
    pub fn find_text(&mut self, line: &str, now: Timestamp) -> Option<DateText> {
        if self.none {
            return None;
        }
        if !self.years_settled {
            self.years_settled = true;
            let clock = self.system.as_ref().unwrap_or(&self.zone);
            let year = i32::from(clock.to_datetime(now).year());
            // The templates compiled once already; a failure here cannot
            // come from the user's text, so keep the old range.
            let _ = self.rebuild(YearLimit::for_year(year));
        }
        let won = self.detector.find(line, now.as_second())?;
        let m = &won.found;
        let (start, end) = m.get(1).unwrap_or((m.span().0, m.span().0));
        if start == end {
            return Some(DateText {
                start,
                end,
                time: Some(now),
            });
        }
        let entry = &mut self.detector.entries[won.index];
        let at = m.span().0;
        let known = entry
            .memo
            .as_ref()
            .and_then(|k| k.time(line, at, m.spans(), now));
        let time = known.unwrap_or_else(|| {
            let time = entry
                .template
                .read(line, m, &self.zone, self.system.as_ref(), now);
            if let Some(k) = &mut entry.memo {
                k.set_time(line, at, m.spans(), now, time);
            }
            time
        });
        Some(DateText { start, end, time })
    }
}
