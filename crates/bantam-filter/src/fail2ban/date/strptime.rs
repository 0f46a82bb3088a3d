//! Fields captured by a date template → an instant, as fail2ban reads them.
//!
//! # Why these rules
//!
//! fail2ban's reading differs from a textbook `strptime` in ways that decide
//! which instant a line gets, so they are kept:
//!
//! * A two-digit year is always 20xx.
//! * No year: the current year, unless that puts the date more than a day
//!   after "now" (a December line read in January): then the year before.
//!   The comparison is done on wall-clock values, and after the step back
//!   the month and day are the ones read from the line.
//! * No date at all (a bare `%H:%M:%S`): today, or yesterday when that time
//!   has not come yet.
//! * A day of the year (`%j`), or a week (`%U`/`%W`) with a weekday, stands
//!   in for a missing month and day.
//! * `%I` with `%p` for 12-hour clocks; without `%p` the hour is AM.
//! * A zone in the line (`Z`, `+0100`, `CET`) wins; otherwise `zone`.
//!   A wall-clock time that a DST change skips or repeats is read with the
//!   offset in force after a repeat and before a skip (the C library's
//!   `mktime`, which fail2ban calls), i.e. the later of the candidates.
//! * A field out of range (Feb 30, hour 24 from `%k`, second 60) is no date.
//!
//! As in fail2ban, fractions of a second (`%f`) are read (so that a pattern
//! with them matches) but not kept: fail2ban converts through a time tuple
//! that has whole seconds, and its sample logs expect those.

use jiff::civil::Date;
use jiff::tz::{Offset, TimeZone};
use jiff::{Timestamp, ToSpan};

use super::directives::{field_of, MONTHS, WEEKDAYS};
use super::matcher::Found;
use super::zones::offset_minutes;

/// Reads the named groups of a template match. `None` when fail2ban
/// would not produce a time for it.
/// `zone` reads dates without an offset. `system`, when given, means
/// `zone` is a `logtimezone` (a fixed offset, applied like one written in
/// the line) and `system` is the zone of fail2ban's clock, which decides
/// the inferred year and day and what counts as "in the future".
pub(crate) fn read(
    line: &str,
    m: &Found,
    zone: &TimeZone,
    system: Option<&TimeZone>,
    now: Timestamp,
) -> Option<Timestamp> {
    let mut f = Fields::default();
    for (name, (s, e)) in m.named() {
        if let Some(field) = field_of(name) {
            f.set(field, &line[s..e], m, line)?;
        }
    }
    f.resolve(zone, system, now)
}

#[derive(Default)]
struct Fields {
    year: Option<i32>,
    month: Option<i32>,
    day: Option<i32>,
    hour: i32,
    minute: i32,
    second: i32,
    nanos: i32,
    offset: Option<i32>,
    weekday: Option<i32>,
    yearday: Option<i32>,
    /// Week number, and whether weeks start on Monday (`%W`) or Sunday.
    week: Option<(i32, bool)>,
}

fn number(s: &str) -> Option<i32> {
    if s.is_empty() || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A name of `list` (lower case), or its first three letters.
fn name_of(name: &str, abbreviated: bool) -> &str {
    if abbreviated {
        &name[..3]
    } else {
        name
    }
}

fn name_index(list: &[&str], text: &str, abbreviated: bool) -> Option<i32> {
    // An ASCII text lowers in place (no copy, as on every new second of a
    // syslog file); others as Unicode lowers them.
    let i = if text.is_ascii() {
        list.iter()
            .position(|n| name_of(n, abbreviated).eq_ignore_ascii_case(text))
    } else {
        let t = text.to_lowercase();
        list.iter().position(|n| name_of(n, abbreviated) == t)
    };
    i.and_then(|i| i32::try_from(i).ok())
}

impl Fields {
    fn set(&mut self, field: char, v: &str, m: &Found, line: &str) -> Option<()> {
        match field {
            'y' => {
                let y = number(v)?;
                self.year = Some(if y <= 2000 { y + 2000 } else { y });
            }
            'Y' => self.year = Some(number(v)?),
            'm' => self.month = Some(number(v)?),
            'B' => self.month = Some(name_index(&MONTHS, v, false)? + 1),
            'b' => self.month = Some(name_index(&MONTHS, v, true)? + 1),
            'd' => self.day = Some(number(v.trim_start())?),
            'H' => self.hour = number(v.trim_start())?,
            'I' => {
                let h = number(v.trim_start())?;
                let pm = m
                    .named()
                    .find(|(n, _)| field_of(n) == Some('p'))
                    .is_some_and(|(_, (s, e))| line[s..e].eq_ignore_ascii_case("pm"));
                self.hour = match (h, pm) {
                    (12, false) => 0,
                    (h, true) if h != 12 => h + 12,
                    (h, _) => h,
                };
            }
            'M' => self.minute = number(v)?,
            'S' => self.second = number(v)?,
            'f' => {
                let digits = number(v)?;
                let scale = 10i32.pow(9 - u32::try_from(v.len()).ok()?);
                self.nanos = digits * scale;
            }
            'A' => self.weekday = Some(name_index(&WEEKDAYS, v, false)?),
            'a' => self.weekday = Some(name_index(&WEEKDAYS, v, true)?),
            'w' => {
                // Sunday is 0 in `%w`, 6 here.
                let w = number(v)? - 1;
                self.weekday = Some(if w < 0 { 6 } else { w });
            }
            'j' => self.yearday = Some(number(v)?),
            'U' => self.week = Some((number(v)?, false)),
            'W' => self.week = Some((number(v)?, true)),
            'z' | 'Z' => self.offset = Some(offset_minutes(v)?),
            _ => {}
        }
        Some(())
    }

    fn resolve(
        self,
        zone: &TimeZone,
        system: Option<&TimeZone>,
        now: Timestamp,
    ) -> Option<Timestamp> {
        let today = system.unwrap_or(zone).to_datetime(now);
        let assume_year = self.year.is_none();
        let mut year = self.year.unwrap_or(i32::from(today.year()));
        let (mut month, mut day) = (self.month, self.day);
        if month.is_none() || day.is_none() {
            let mut yearday = self.yearday;
            if yearday.is_none() {
                if let (Some((week, monday)), Some(wd)) = (self.week, self.weekday) {
                    yearday = Some(yearday_of_week(year, week, wd, monday)?);
                }
            }
            if let Some(j) = yearday {
                let d = date(year, 1, 1)?
                    .checked_add(i64::from(j - 1).days())
                    .ok()?;
                year = i32::from(d.year());
                month = Some(i32::from(d.month()));
                day = Some(i32::from(d.day()));
            }
        }
        let assume_today = month.is_none() && day.is_none();
        let (month, day) = if assume_today {
            (i32::from(today.month()), i32::from(today.day()))
        } else {
            (month?, day?)
        };
        check_time(self.hour, self.minute, self.second)?;
        let mut dt = date(year, month, day)?.to_datetime(
            jiff::civil::Time::new(
                i8::try_from(self.hour).ok()?,
                i8::try_from(self.minute).ok()?,
                i8::try_from(self.second).ok()?,
                0,
            )
            .ok()?,
        );
        let offset = match (self.offset, system) {
            (Some(off), _) => Some(off),
            (None, Some(_)) => {
                let t = zone.to_ambiguous_timestamp(dt).later().ok()?;
                Some(zone.to_offset(t).seconds() / 60)
            }
            (None, None) => None,
        };
        // fail2ban compares the date, moved to UTC when it has an offset,
        // with the local wall clock of "now".
        if let Some(off) = offset {
            dt = dt.checked_sub(i64::from(off).minutes()).ok()?;
        }
        let now_wall = today.with().subsec_nanosecond(0).build().ok()?;
        if assume_today && dt > now_wall {
            dt = dt.checked_sub(1.day()).ok()?;
        }
        if assume_year && dt > now_wall.checked_add(1.day()).ok()? {
            let d = date(year - 1, month, day)?;
            dt = d.to_datetime(dt.time());
        }
        let t = match offset {
            Some(_) => Offset::UTC.to_timestamp(dt).ok()?,
            None => zone.to_ambiguous_timestamp(dt).later().ok()?,
        };
        let _ = self.nanos;
        Some(t)
    }
}

fn date(year: i32, month: i32, day: i32) -> Option<Date> {
    if !(1..=9999).contains(&year) {
        return None;
    }
    Date::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
    )
    .ok()
}

/// Python's `datetime` rejects leap seconds and hour 24.
fn check_time(h: i32, m: i32, s: i32) -> Option<()> {
    ((0..24).contains(&h) && (0..60).contains(&m) && (0..60).contains(&s)).then_some(())
}

/// Day of the year from a week number and weekday (0 = Monday), weeks
/// starting on Monday (`%W`) or Sunday (`%U`); week 0 is the partial week
/// before the first such day.
fn yearday_of_week(year: i32, week: i32, weekday: i32, monday: bool) -> Option<i32> {
    let jan1 = date(year, 1, 1)?;
    let mut first = i32::from(jan1.weekday().to_monday_zero_offset());
    let mut wd = weekday;
    if !monday {
        first = (first + 1) % 7;
        wd = (wd + 1) % 7;
    }
    let week0 = (7 - first) % 7;
    let (week, wd, first, week0) = (
        i64::from(week),
        i64::from(wd),
        i64::from(first),
        i64::from(week0),
    );
    let day = if week == 0 {
        1 + wd - first
    } else {
        1 + week0 + 7 * (week - 1) + wd
    };
    i32::try_from(day).ok()
}
