//! Turning wall-clock fields into instants: calendar arithmetic for dates with
//! an explicit offset, and a cached time-zone conversion for dates without one.
//!
//! # The minute cache
//!
//! A time-zone lookup (binary search over the zone's transitions, or its POSIX
//! rule for future dates) costs far more than parsing a date, and consecutive
//! log lines almost always fall in the same minute. So the instant of
//! `YYYY-MM-DD HH:MM:00` is cached per civil minute, and a line in that minute
//! costs only an addition of its seconds and nanoseconds.
//!
//! That is only correct if the UTC offset is the same for the whole civil
//! minute. Every transition in every current tz database zone happens on a
//! whole minute, and all current offsets are whole minutes, so this holds in
//! practice. Rather than trust it blindly (old LMT offsets such as
//! Amsterdam's +00:19:32 are not whole minutes), an entry is only cached after
//! checking that `:00` and `:59` of that minute convert exactly 59 s apart,
//! i.e. with the same offset. Offsets cannot change and change back within a
//! minute, so that check makes the cached answer equal to the uncached one; a
//! minute that fails it is converted through jiff on every line.
//!
//! Gaps and folds use jiff's "compatible" disambiguation (RFC 5545, also what
//! `java.time` and Temporal do): a time in a spring-forward gap is read with
//! the offset before the gap (so it lands after it), and a time in a fall-back
//! fold takes the earlier of its two instants. Both are applied uniformly to
//! every second of such a minute, which is why caching them is sound too.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::scan::Civil;

/// Gregorian leap year.
pub(super) fn is_leap(year: i16) -> bool {
    let y = i32::from(year);
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

pub(super) fn days_in_month(year: i16, month: i8) -> i8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Checks every field of a civil date, including Feb 29/30 and day 31 of
/// short months, which parsers cannot know without the year.
pub(super) fn is_valid(c: &Civil) -> bool {
    (1..=12).contains(&c.month)
        && c.day >= 1
        && c.day <= days_in_month(c.year, c.month)
        && (0..24).contains(&c.hour)
        && (0..60).contains(&c.minute)
        && (0..=60).contains(&c.second)
        && (0..1_000_000_000).contains(&c.nanos)
}

/// Days from 1970-01-01 to the given (valid) proleptic Gregorian date.
/// Howard Hinnant's `days_from_civil`, exact for all `i16` years.
pub(super) fn days_from_civil(year: i16, month: i8, day: i8) -> i64 {
    let m = i64::from(month);
    let y = i64::from(year) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Seconds since the epoch of a civil time read as UTC; leap second folded.
fn utc_seconds(c: &Civil) -> i64 {
    let second = c.second.min(59);
    days_from_civil(c.year, c.month, c.day) * 86_400
        + i64::from(c.hour) * 3_600
        + i64::from(c.minute) * 60
        + i64::from(second)
}

/// A civil time with an explicit offset (seconds east of UTC): pure
/// arithmetic, no zone involved.
pub(super) fn with_offset(c: &Civil, offset: i32) -> Option<Timestamp> {
    if !is_valid(c) {
        return None;
    }
    Timestamp::new(utc_seconds(c) - i64::from(offset), c.nanos).ok()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct MinuteKey {
    year: i16,
    month: i8,
    day: i8,
    hour: i8,
    minute: i8,
}

#[derive(Clone, Copy, Debug)]
struct MinuteEntry {
    key: MinuteKey,
    /// Unix seconds of `:00` of that civil minute in the zone.
    start: i64,
}

/// The local year of "now", valid for `now` in `[start, next)`.
#[derive(Clone, Copy, Debug)]
struct YearEntry {
    year: i16,
    start: Timestamp,
    next: Timestamp,
}

/// The detector's time zone plus the caches that make it cheap.
#[derive(Clone, Debug)]
pub(super) struct LocalClock {
    tz: TimeZone,
    /// Set when the zone never changes offset (UTC, `Etc/GMT+5`, a fixed
    /// offset): then no cache is needed at all.
    fixed: Option<i32>,
    /// Two entries, not one, so that syslog year inference (which may try
    /// this year and then last year for the same line) does not thrash.
    minutes: [Option<MinuteEntry>; 2],
    /// Which slot the next miss overwrites.
    victim: usize,
    year: Option<YearEntry>,
}

impl LocalClock {
    pub(super) fn new(tz: TimeZone) -> Self {
        let fixed = tz.to_fixed_offset().ok().map(|o| o.seconds());
        LocalClock {
            tz,
            fixed,
            minutes: [None; 2],
            victim: 0,
            year: None,
        }
    }

    /// A civil time without offset, read in this zone.
    pub(super) fn instant(&mut self, c: &Civil) -> Option<Timestamp> {
        if !is_valid(c) {
            return None;
        }
        if let Some(offset) = self.fixed {
            return Timestamp::new(utc_seconds(c) - i64::from(offset), c.nanos).ok();
        }
        let key = MinuteKey {
            year: c.year,
            month: c.month,
            day: c.day,
            hour: c.hour,
            minute: c.minute,
        };
        let second = i64::from(c.second.min(59));
        for entry in self.minutes.iter().flatten() {
            if entry.key == key {
                return Timestamp::new(entry.start + second, c.nanos).ok();
            }
        }
        let start = self.convert(&key, 0, 0)?;
        let last = self.convert(&key, 59, 0)?;
        if last.as_second() - start.as_second() == 59 {
            self.minutes[self.victim] = Some(MinuteEntry {
                key,
                start: start.as_second(),
            });
            self.victim ^= 1;
            Timestamp::new(start.as_second() + second, c.nanos).ok()
        } else {
            // The offset changes inside this minute (historic LMT zones only):
            // convert this exact time and leave the cache alone.
            self.convert(&key, second as i8, c.nanos)
        }
    }

    fn convert(&self, k: &MinuteKey, second: i8, nanos: i32) -> Option<Timestamp> {
        let dt = DateTime::new(k.year, k.month, k.day, k.hour, k.minute, second, nanos).ok()?;
        self.tz.to_ambiguous_timestamp(dt).compatible().ok()
    }

    /// The year `now` falls in, in this zone, and the instant the next local
    /// year starts. Cached for the whole year: `now` changes on every call
    /// but almost never crosses a new year.
    ///
    /// The bounds are the compatible readings of local Jan 1 00:00, which is
    /// the first instant of the year unless a fold straddles midnight of
    /// Jan 1 (no current zone has one); then the year is off by one only
    /// during the repeated hour, which shifts syslog inference for dates
    /// within a day of `now` at most.
    pub(super) fn year_of(&mut self, now: Timestamp) -> Option<(i16, Timestamp)> {
        if let Some(y) = self.year {
            if y.start <= now && now < y.next {
                return Some((y.year, y.next));
            }
        }
        let year = self.tz.to_datetime(now).year();
        let start = self.year_start(year)?;
        // Year 9999 has no successor jiff can represent; then never cache.
        let next = match year.checked_add(1).and_then(|n| self.year_start(n)) {
            Some(next) => next,
            None => return Some((year, Timestamp::MAX)),
        };
        self.year = Some(YearEntry { year, start, next });
        Some((year, next))
    }

    fn year_start(&self, year: i16) -> Option<Timestamp> {
        let key = MinuteKey {
            year,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
        };
        self.convert(&key, 0, 0)
    }
}

/// `true` when `ts` is more than one day after `now`.
pub(super) fn more_than_a_day_after(ts: Timestamp, now: Timestamp) -> bool {
    ts.duration_since(now) > SignedDuration::from_hours(24)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn civil(year: i16, month: i8, day: i8, hour: i8, minute: i8, second: i8) -> Civil {
        Civil {
            year,
            month,
            day,
            hour,
            minute,
            second,
            nanos: 0,
        }
    }

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).expect("zoneinfo present")
    }

    fn utc(s: &str) -> Timestamp {
        s.parse().expect("valid test timestamp")
    }

    #[test]
    fn days_from_civil_matches_jiff() {
        for (y, m, d) in [
            (1970, 1, 1),
            (2000, 2, 29),
            (2026, 11, 25),
            (1, 1, 1),
            (0, 3, 1),
            (9999, 12, 30),
            (-44, 3, 15),
        ] {
            let expect = jiff::civil::date(y, m, d)
                .to_zoned(TimeZone::UTC)
                .expect("in range")
                .timestamp()
                .as_second()
                .div_euclid(86_400);
            assert_eq!(days_from_civil(y, m, d), expect, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn month_lengths() {
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2026, 2), 28);
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(1900, 2), 28);
        assert_eq!(days_in_month(2026, 4), 30);
        assert_eq!(days_in_month(2026, 12), 31);
        assert!(!is_valid(&civil(2026, 2, 29, 0, 0, 0)));
        assert!(is_valid(&civil(2028, 2, 29, 0, 0, 0)));
        assert!(!is_valid(&civil(2026, 4, 31, 0, 0, 0)));
        assert!(!is_valid(&civil(2026, 2, 30, 0, 0, 0)));
    }

    #[test]
    fn explicit_offsets() {
        let c = civil(2026, 11, 25, 7, 21, 9);
        assert_eq!(with_offset(&c, 0), Some(utc("2026-11-25T07:21:09Z")));
        assert_eq!(with_offset(&c, 3600), Some(utc("2026-11-25T06:21:09Z")));
        assert_eq!(
            with_offset(&c, -5 * 3600),
            Some(utc("2026-11-25T12:21:09Z"))
        );
        assert_eq!(with_offset(&civil(2026, 2, 30, 0, 0, 0), 0), None);
        // Leap second folds into :59.
        let leap = civil(2016, 12, 31, 23, 59, 60);
        assert_eq!(with_offset(&leap, 0), Some(utc("2016-12-31T23:59:59Z")));
    }

    #[test]
    fn fixed_zone_needs_no_cache() {
        let mut clock = LocalClock::new(TimeZone::UTC);
        assert_eq!(clock.fixed, Some(0));
        let c = civil(2026, 11, 25, 7, 21, 9);
        assert_eq!(clock.instant(&c), Some(utc("2026-11-25T07:21:09Z")));
        assert!(clock.minutes.iter().all(Option::is_none));
    }

    #[test]
    fn berlin_gap_and_fold() {
        let mut clock = LocalClock::new(tz("Europe/Berlin"));
        // 02:30 on 2026-03-29 does not exist: read with CET (+1), lands at 03:30 CEST.
        assert_eq!(
            clock.instant(&civil(2026, 3, 29, 2, 30, 0)),
            Some(utc("2026-03-29T01:30:00Z"))
        );
        assert_eq!(
            clock.instant(&civil(2026, 3, 29, 2, 30, 59)),
            Some(utc("2026-03-29T01:30:59Z"))
        );
        assert_eq!(
            clock.instant(&civil(2026, 3, 29, 1, 59, 59)),
            Some(utc("2026-03-29T00:59:59Z"))
        );
        assert_eq!(
            clock.instant(&civil(2026, 3, 29, 3, 0, 0)),
            Some(utc("2026-03-29T01:00:00Z"))
        );
        // 02:30 on 2026-10-25 happens twice: the earlier one (CEST, +2).
        assert_eq!(
            clock.instant(&civil(2026, 10, 25, 2, 30, 0)),
            Some(utc("2026-10-25T00:30:00Z"))
        );
        assert_eq!(
            clock.instant(&civil(2026, 10, 25, 2, 30, 1)),
            Some(utc("2026-10-25T00:30:01Z"))
        );
        assert_eq!(
            clock.instant(&civil(2026, 10, 25, 3, 0, 0)),
            Some(utc("2026-10-25T02:00:00Z"))
        );
    }

    #[test]
    fn new_york_gap_and_fold() {
        let mut clock = LocalClock::new(tz("America/New_York"));
        // 02:30 on 2026-03-08 does not exist: read with EST (-5).
        assert_eq!(
            clock.instant(&civil(2026, 3, 8, 2, 30, 0)),
            Some(utc("2026-03-08T07:30:00Z"))
        );
        // 01:30 on 2026-11-01 happens twice: the earlier one (EDT, -4).
        assert_eq!(
            clock.instant(&civil(2026, 11, 1, 1, 30, 0)),
            Some(utc("2026-11-01T05:30:00Z"))
        );
        assert_eq!(
            clock.instant(&civil(2026, 11, 1, 2, 0, 0)),
            Some(utc("2026-11-01T07:00:00Z"))
        );
    }

    #[test]
    fn cache_agrees_with_jiff_around_transitions() {
        for name in [
            "Europe/Berlin",
            "America/New_York",
            "Australia/Lord_Howe",
            "Asia/Kolkata",
        ] {
            let zone = tz(name);
            let mut clock = LocalClock::new(zone.clone());
            // Walk across both 2026 transitions second by second (in steps of
            // 7 s so every second-of-minute is hit), reusing one clock.
            for (month, day) in [(3, 8), (3, 29), (4, 5), (10, 4), (10, 25), (11, 1)] {
                let base = jiff::civil::date(2026, month, day).at(0, 0, 0, 0);
                for step in 0..(4 * 3600 / 7) {
                    let dt = base + SignedDuration::from_secs(step * 7);
                    let c = Civil {
                        year: dt.year(),
                        month: dt.month(),
                        day: dt.day(),
                        hour: dt.hour(),
                        minute: dt.minute(),
                        second: dt.second(),
                        nanos: 0,
                    };
                    let expect = zone.to_ambiguous_timestamp(dt).compatible().ok();
                    assert_eq!(clock.instant(&c), expect, "{name} {dt}");
                }
            }
        }
    }

    #[test]
    fn lmt_minute_is_not_cached_wrongly() {
        // Amsterdam moved from +00:19:32 to +00:20 on 1937-07-01 00:00 local:
        // the skipped 28 s fall inside one civil minute.
        let zone = tz("Europe/Amsterdam");
        let mut clock = LocalClock::new(zone.clone());
        for second in 0..60 {
            let dt = jiff::civil::date(1937, 7, 1).at(0, 0, second, 0);
            let c = civil(1937, 7, 1, 0, 0, second);
            let expect = zone.to_ambiguous_timestamp(dt).compatible().ok();
            assert_eq!(clock.instant(&c), expect, "{dt}");
        }
    }

    #[test]
    fn year_of_now_is_cached_and_correct() {
        let mut clock = LocalClock::new(tz("Europe/Berlin"));
        // 23:30 UTC on Dec 31 is already next year in Berlin.
        let (y, next) = clock
            .year_of(utc("2026-12-31T23:30:00Z"))
            .expect("in range");
        assert_eq!(y, 2027);
        assert_eq!(next, utc("2027-12-31T23:00:00Z"));
        assert_eq!(
            clock.year_of(utc("2026-12-31T22:59:59Z")).map(|p| p.0),
            Some(2026)
        );
        assert_eq!(
            clock.year_of(utc("2027-06-01T00:00:00Z")).map(|p| p.0),
            Some(2027)
        );
    }

    #[test]
    fn day_comparison() {
        let now = utc("2026-06-15T12:00:00Z");
        assert!(!more_than_a_day_after(utc("2026-06-16T12:00:00Z"), now));
        assert!(more_than_a_day_after(utc("2026-06-16T12:00:01Z"), now));
        assert!(!more_than_a_day_after(utc("2025-06-16T12:00:00Z"), now));
    }
}
