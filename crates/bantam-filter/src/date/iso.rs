//! ISO 8601 date-times as loggers write them, which covers RFC 3339 and the
//! RFC 5424 syslog TIMESTAMP field:
//!
//! - `2026-11-25T07:21:09.625500+00:00`, `2026-11-25T07:21:09Z`
//! - `2026-11-25 07:21:09` (space instead of `T`: Python, MySQL, many others)
//! - `2026-11-25 07:21:09,123` (comma fraction: Python's `logging`)
//! - `2026-11-25T07:21:09+0100`, `...+01` (basic-format offsets)
//!
//! The fraction may have 1 to 9 digits. An offset or `Z` in the text is
//! authoritative; without one the detector's zone applies.

use super::scan::{
    byte, clock, digit, expect, four_digits, fraction, two_digits, Civil, Parsed, Stamp,
};

/// Parses an ISO 8601 date-time starting exactly at `at`.
pub(super) fn parse(line: &[u8], at: usize) -> Option<Parsed> {
    let year = four_digits(line, at)?;
    expect(line, at + 4, b'-')?;
    let month = two_digits(line, at + 5, 1, 12)?;
    expect(line, at + 7, b'-')?;
    let day = two_digits(line, at + 8, 1, 31)?;
    if !matches!(byte(line, at + 10)?, b'T' | b't' | b' ') {
        return None;
    }
    let (hour, minute, second, k) = clock(line, at + 11)?;
    let (nanos, f) = fraction(line, k, true)?;
    let (offset, end) = offset(line, f)?;
    let civil = Civil {
        year,
        month,
        day,
        hour,
        minute,
        second,
        nanos,
    };
    Some(Parsed {
        end,
        stamp: Stamp::Civil { civil, offset },
    })
}

/// The optional UTC offset at `i`: `Z`/`z`, `±HH:MM`, `±HHMM` or `±HH`.
///
/// Returns the offset in seconds (or `None` when absent) and the end of the
/// date. A sign followed by a digit commits to an offset: if it is then
/// malformed (`+1`, `+013`, `+25:00`) the whole date is rejected rather than
/// silently read in the wrong zone. A sign followed by anything else is just
/// the next token (`...09-worker`).
fn offset(line: &[u8], i: usize) -> Option<(Option<i32>, usize)> {
    let sign = match byte(line, i) {
        Some(b'Z' | b'z') => return Some((Some(0), i + 1)),
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Some((None, i)),
    };
    if digit(line, i + 1).is_none() {
        return Some((None, i));
    }
    let hours = two_digits(line, i + 1, 0, 23)?;
    let (minutes, end) = if byte(line, i + 3) == Some(b':') {
        (two_digits(line, i + 4, 0, 59)?, i + 6)
    } else if digit(line, i + 3).is_some() {
        (two_digits(line, i + 3, 0, 59)?, i + 5)
    } else {
        (0, i + 3)
    };
    if digit(line, end).is_some() {
        return None;
    }
    let seconds = i32::from(hours) * 3600 + i32::from(minutes) * 60;
    Some((Some(sign * seconds), end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(line: &str) -> (Civil, Option<i32>, usize) {
        match parse(line.as_bytes(), 0) {
            Some(Parsed {
                end,
                stamp: Stamp::Civil { civil, offset },
            }) => (civil, offset, end),
            other => panic!("{line:?} parsed as {other:?}"),
        }
    }

    #[test]
    fn rfc3339_forms() {
        let (c, off, end) = parsed("2026-11-25T07:21:09.625500+00:00 host");
        assert_eq!(
            c,
            Civil {
                year: 2026,
                month: 11,
                day: 25,
                hour: 7,
                minute: 21,
                second: 9,
                nanos: 625_500_000
            }
        );
        assert_eq!((off, end), (Some(0), 32));
        let (_, off, end) = parsed("2026-11-25T07:21:09Z x");
        assert_eq!((off, end), (Some(0), 20));
        assert_eq!(parsed("2026-11-25t07:21:09z").1, Some(0));
        let (c, off, end) = parsed("2026-11-25T07:21:09.123-05:00");
        assert_eq!((c.nanos, off, end), (123_000_000, Some(-5 * 3600), 29));
    }

    #[test]
    fn basic_offsets() {
        assert_eq!(parsed("2026-11-25T07:21:09+0100").1, Some(3600));
        assert_eq!(
            parsed("2026-11-25T07:21:09+0530 x").1,
            Some(5 * 3600 + 30 * 60)
        );
        assert_eq!(
            parsed("2026-11-25T07:21:09-0930").1,
            Some(-(9 * 3600 + 30 * 60))
        );
        let (_, off, end) = parsed("2026-11-25T07:21:09+01 x");
        assert_eq!((off, end), (Some(3600), 22));
    }

    #[test]
    fn no_offset_forms() {
        let (c, off, end) = parsed("2026-11-25 07:21:09 app[1]: x");
        assert_eq!((c.hour, off, end), (7, None, 19));
        let (c, off, end) = parsed("2026-11-25 07:21:09,123 - root - WARNING");
        assert_eq!((c.nanos, off, end), (123_000_000, None, 23));
        // A sign not followed by a digit is the next token, not an offset.
        let (_, off, end) = parsed("2026-11-25T07:21:09-worker");
        assert_eq!((off, end), (None, 19));
        let (_, off, end) = parsed("2026-11-25T07:21:09+");
        assert_eq!((off, end), (None, 19));
    }

    #[test]
    fn fraction_lengths() {
        for (text, nanos) in [
            ("2026-11-25T07:21:09.1Z", 100_000_000),
            ("2026-11-25T07:21:09.12Z", 120_000_000),
            ("2026-11-25T07:21:09.123456Z", 123_456_000),
            ("2026-11-25T07:21:09.123456789Z", 123_456_789),
        ] {
            let (c, off, end) = parsed(text);
            assert_eq!((c.nanos, off, end), (nanos, Some(0), text.len()), "{text}");
        }
        assert_eq!(parse(b"2026-11-25T07:21:09.1234567890Z", 0), None);
    }

    #[test]
    fn rejects() {
        for line in [
            "2026-13-25T07:21:09Z",
            "2026-00-25T07:21:09Z",
            "2026-11-32T07:21:09Z",
            "2026-11-00T07:21:09Z",
            "2026-11-25T24:21:09Z",
            "2026-11-25T07:60:09Z",
            "2026-11-25T07:21:61Z",
            "2026-11-25X07:21:09Z",
            "2026/11/25T07:21:09Z",
            "2026-11-25T07:21:09+1",
            "2026-11-25T07:21:09+013",
            "2026-11-25T07:21:09+25:00",
            "2026-11-25T07:21:09+01:60",
            "2026-11-25T07:21:09+01:0",
            "2026-11-25T07:21:09+01000",
            "2026-11-25T07:21",
            "2026-11-25",
            "26-11-25T07:21:09Z",
            "",
        ] {
            assert_eq!(parse(line.as_bytes(), 0), None, "{line:?}");
        }
    }

    #[test]
    fn every_truncation_is_rejected_or_shorter() {
        let full = b"2026-11-25T07:21:09.123-05:00";
        for n in 0..full.len() {
            match parse(&full[..n], 0) {
                None => {}
                // Cut inside the fraction or offset: a shorter date is fine,
                // but it must never claim bytes that are not there.
                Some(p) => assert!(p.end <= n && n - p.end <= 1, "{:?}", &full[..n]),
            }
        }
        assert_eq!(parse(&full[..18], 0), None);
        assert_eq!(parse(full, 0).map(|p| p.end), Some(full.len()));
    }
}
