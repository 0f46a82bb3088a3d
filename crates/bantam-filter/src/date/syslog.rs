//! RFC 3164 (BSD syslog) timestamps: `Nov 25 07:21:09`, `Nov  5 07:21:09`,
//! optionally with a fraction (`Nov 25 07:21:09.123456`, rsyslog's
//! high-precision variant without the year). The year is not written, so it is
//! inferred from "now" when resolving.

use jiff::Timestamp;

use super::scan::{clock, expect, fraction, month_name, padded_day, Civil, Parsed, Stamp};
use super::zone::{more_than_a_day_after, LocalClock};

/// Parses a syslog date starting exactly at `at`.
pub(super) fn parse(line: &[u8], at: usize) -> Option<Parsed> {
    let month = month_name(line, at)?;
    expect(line, at + 3, b' ')?;
    let (day, j) = padded_day(line, at + 4)?;
    expect(line, j, b' ')?;
    let (hour, minute, second, k) = clock(line, j + 1)?;
    let (nanos, end) = fraction(line, k, false)?;
    let civil = Civil {
        year: 0,
        month,
        day,
        hour,
        minute,
        second,
        nanos,
    };
    Some(Parsed {
        end,
        stamp: Stamp::Yearless(civil),
    })
}

/// Resolves a year-less date to the most recent instant with that month, day
/// and time that is not more than one day after `now`.
///
/// In practice: the year of `now` (in the detector's zone), or the previous
/// year if that would put the line more than a day in the future (a
/// `Dec 31 23:59:59` line read on Jan 1). The one-day tolerance absorbs clock
/// skew between the logging host and us; the same tolerance means a
/// `Jan  1 00:10:00` line read at Dec 31 23:30 is 40 minutes ahead, not a year
/// old, so it gets the next year.
///
/// A Feb 29 line takes the most recent leap year allowed by that rule: this
/// year if it is a leap year and Feb 29 is not more than a day ahead, else the
/// previous year if that is a leap year, else there is no such date and the
/// result is `None`.
pub(super) fn resolve(clock: &mut LocalClock, c: &Civil, now: Timestamp) -> Option<Timestamp> {
    let (year, next_year) = clock.year_of(now)?;
    let mut in_year = |year: i16| clock.instant(&Civil { year, ..*c });
    // Next year is only reachable from the last day of this one, and only by
    // a January date; checking that first keeps the common path to one
    // conversion.
    if c.month == 1 && !more_than_a_day_after(next_year, now) {
        if let Some(ts) = year.checked_add(1).and_then(&mut in_year) {
            if !more_than_a_day_after(ts, now) {
                return Some(ts);
            }
        }
    }
    if let Some(ts) = in_year(year) {
        if !more_than_a_day_after(ts, now) {
            return Some(ts);
        }
    }
    // Anything in last year is before `now`, so it needs no check.
    in_year(year.checked_sub(1)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::tz::TimeZone;

    fn civil_of(line: &str) -> Civil {
        match parse(line.as_bytes(), 0).map(|p| p.stamp) {
            Some(Stamp::Yearless(c)) => c,
            other => panic!("{line:?} parsed as {other:?}"),
        }
    }

    fn utc(s: &str) -> Timestamp {
        s.parse().expect("valid test timestamp")
    }

    fn resolve_at(zone: &str, line: &str, now: &str) -> Option<Timestamp> {
        let mut clock = LocalClock::new(TimeZone::get(zone).expect("zoneinfo present"));
        resolve(&mut clock, &civil_of(line), utc(now))
    }

    #[test]
    fn shapes() {
        let p = parse(b"Nov 25 07:21:09 host sshd[1]: x", 0).expect("syslog");
        assert_eq!(p.end, 15);
        assert_eq!(
            p.stamp,
            Stamp::Yearless(Civil {
                year: 0,
                month: 11,
                day: 25,
                hour: 7,
                minute: 21,
                second: 9,
                nanos: 0
            })
        );
        assert_eq!(parse(b"Nov  5 07:21:09", 0).map(|p| p.end), Some(15));
        assert_eq!(parse(b"Nov 5 07:21:09", 0).map(|p| p.end), Some(14));
        assert_eq!(parse(b"nov 25 07:21:09", 0).map(|p| p.end), Some(15));
        assert_eq!(parse(b"NOV 25 07:21:09", 0).map(|p| p.end), Some(15));
        let p = parse(b"Nov 25 07:21:09.123456 host", 0).expect("fraction");
        assert_eq!(p.end, 22);
        assert_eq!(civil_of("Nov 25 07:21:09.123456").nanos, 123_456_000);
        assert_eq!(parse(b"xxNov 25 07:21:09", 2).map(|p| p.end), Some(17));
    }

    #[test]
    fn rejects_bad_shapes_and_ranges() {
        for line in [
            "Nov 25 24:21:09",
            "Nov 25 07:60:09",
            "Nov 25 07:21:61",
            "Nov 32 07:21:09",
            "Nov 00 07:21:09",
            "Nox 25 07:21:09",
            "Nov 25 07:21:0",
            "Nov 25 07:21:",
            "Nov 25",
            "Nov",
            "",
            "Nov 25 07:21:091",
            "Nov 25 07:21:09.1234567890",
            "Nov  25 07:21:09",
            "Nov 25  07:21:09",
            "Nov-25 07:21:09",
            "Nov 25 7:21:09",
        ] {
            assert_eq!(parse(line.as_bytes(), 0), None, "{line:?}");
        }
        // A dot not followed by a digit ends the date instead of spoiling it.
        assert_eq!(parse(b"Nov 25 07:21:09. x", 0).map(|p| p.end), Some(15));
    }

    #[test]
    fn year_of_now() {
        let ts = resolve_at("UTC", "Nov 25 07:21:09", "2026-11-25T08:00:00Z");
        assert_eq!(ts, Some(utc("2026-11-25T07:21:09Z")));
        let ts = resolve_at("Europe/Berlin", "Nov 25 07:21:09.5", "2026-11-25T08:00:00Z");
        assert_eq!(ts, Some(utc("2026-11-25T06:21:09.5Z")));
    }

    #[test]
    fn december_line_read_in_january_is_last_year() {
        let ts = resolve_at("UTC", "Dec 31 23:59:59", "2027-01-01T00:00:05Z");
        assert_eq!(ts, Some(utc("2026-12-31T23:59:59Z")));
        // The year boundary is the zone's: Berlin reaches 2027 an hour early.
        let ts = resolve_at("Europe/Berlin", "Dec 31 23:59:59", "2026-12-31T23:00:05Z");
        assert_eq!(ts, Some(utc("2026-12-31T22:59:59Z")));
    }

    #[test]
    fn january_line_read_on_new_years_eve_is_next_year() {
        // 40 minutes ahead of now: within the one-day tolerance.
        let ts = resolve_at("UTC", "Jan  1 00:10:00", "2026-12-31T23:30:00Z");
        assert_eq!(ts, Some(utc("2027-01-01T00:10:00Z")));
        // Exactly one day ahead is still "not more than one day".
        let ts = resolve_at("UTC", "Jan  1 23:30:00", "2026-12-31T23:30:00Z");
        assert_eq!(ts, Some(utc("2027-01-01T23:30:00Z")));
        // One second more and it is a year old instead.
        let ts = resolve_at("UTC", "Jan  1 23:30:01", "2026-12-31T23:30:00Z");
        assert_eq!(ts, Some(utc("2026-01-01T23:30:01Z")));
        // Read well before the end of the year, January is this year's.
        let ts = resolve_at("UTC", "Jan  1 00:10:00", "2026-12-30T23:30:00Z");
        assert_eq!(ts, Some(utc("2026-01-01T00:10:00Z")));
    }

    #[test]
    fn more_than_a_day_ahead_is_last_year() {
        let now = "2026-06-15T12:00:00Z";
        assert_eq!(
            resolve_at("UTC", "Jun 16 12:00:00", now),
            Some(utc("2026-06-16T12:00:00Z"))
        );
        assert_eq!(
            resolve_at("UTC", "Jun 16 12:00:01", now),
            Some(utc("2025-06-16T12:00:01Z"))
        );
        assert_eq!(
            resolve_at("UTC", "Jun 15 11:00:00", now),
            Some(utc("2026-06-15T11:00:00Z"))
        );
        assert_eq!(
            resolve_at("UTC", "Jan  1 00:00:00", now),
            Some(utc("2026-01-01T00:00:00Z"))
        );
        assert_eq!(
            resolve_at("UTC", "Dec 31 23:59:59", now),
            Some(utc("2025-12-31T23:59:59Z"))
        );
    }

    #[test]
    fn february_29() {
        // Leap year, after the date.
        let ts = resolve_at("UTC", "Feb 29 10:00:00", "2028-03-10T00:00:00Z");
        assert_eq!(ts, Some(utc("2028-02-29T10:00:00Z")));
        // Non-leap year whose previous year is not leap either.
        assert_eq!(
            resolve_at("UTC", "Feb 29 10:00:00", "2026-03-10T00:00:00Z"),
            None
        );
        assert_eq!(
            resolve_at("UTC", "Feb 29 10:00:00", "2027-03-10T00:00:00Z"),
            None
        );
        // Leap year, but Feb 29 is still weeks ahead and 2027 has none.
        assert_eq!(
            resolve_at("UTC", "Feb 29 10:00:00", "2028-01-15T00:00:00Z"),
            None
        );
        // The year after a leap year: last year's Feb 29 is the only candidate.
        let ts = resolve_at("UTC", "Feb 29 10:00:00", "2029-03-10T00:00:00Z");
        assert_eq!(ts, Some(utc("2028-02-29T10:00:00Z")));
        // Feb 28 is unaffected.
        let ts = resolve_at("UTC", "Feb 28 10:00:00", "2026-03-10T00:00:00Z");
        assert_eq!(ts, Some(utc("2026-02-28T10:00:00Z")));
    }

    #[test]
    fn impossible_days_are_none() {
        assert_eq!(
            resolve_at("UTC", "Feb 30 10:00:00", "2026-03-10T00:00:00Z"),
            None
        );
        assert_eq!(
            resolve_at("UTC", "Nov 31 10:00:00", "2026-12-10T00:00:00Z"),
            None
        );
        assert_eq!(
            resolve_at("UTC", "Apr 31 10:00:00", "2026-12-10T00:00:00Z"),
            None
        );
    }

    #[test]
    fn dst_edges_in_the_zone() {
        // Spring-forward gap: read with the offset before it.
        let ts = resolve_at("Europe/Berlin", "Mar 29 02:30:00", "2026-04-01T00:00:00Z");
        assert_eq!(ts, Some(utc("2026-03-29T01:30:00Z")));
        // Fall-back fold: the earlier instant.
        let ts = resolve_at(
            "America/New_York",
            "Nov  1 01:30:00",
            "2026-11-02T00:00:00Z",
        );
        assert_eq!(ts, Some(utc("2026-11-01T05:30:00Z")));
    }

    #[test]
    fn previous_year_lines_do_not_thrash_the_cache() {
        // Each line tries this year, then last year: both minutes stay cached
        // and the answers stay right.
        let mut clock = LocalClock::new(TimeZone::get("Europe/Berlin").expect("zoneinfo present"));
        let now = utc("2027-01-02T10:00:00Z");
        for s in 0..60 {
            let line = format!("Dec 31 23:59:{s:02}");
            let ts = resolve(&mut clock, &civil_of(&line), now);
            assert_eq!(ts, Some(utc(&format!("2026-12-31T22:59:{s:02}Z"))));
        }
    }
}
