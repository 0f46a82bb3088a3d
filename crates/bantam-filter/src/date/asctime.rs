//! C `asctime()` / `ctime()` timestamps: `Wed Nov 25 07:21:09 2026`.
//!
//! Apache 2.2 writes them in its error log as `[Wed Nov 25 07:21:09 2026]`,
//! Apache 2.4 adds microseconds before the year
//! (`[Wed Nov 25 07:21:09.123456 2026]`), and many daemons that call `ctime()`
//! print them at the start of the line. They carry no offset, so the
//! detector's zone applies.

use super::scan::{
    clock, expect, four_digits, fraction, is_digit, month_name, padded_day, weekday_name, Civil,
    Parsed, Stamp,
};

/// Parses an asctime date starting exactly at `at`.
pub(super) fn parse(line: &[u8], at: usize) -> Option<Parsed> {
    weekday_name(line, at)?;
    expect(line, at + 3, b' ')?;
    let month = month_name(line, at + 4)?;
    expect(line, at + 7, b' ')?;
    let (day, j) = padded_day(line, at + 8)?;
    expect(line, j, b' ')?;
    let (hour, minute, second, k) = clock(line, j + 1)?;
    let (nanos, f) = fraction(line, k, false)?;
    expect(line, f, b' ')?;
    let year = four_digits(line, f + 1)?;
    let end = f + 5;
    // `2026` must be the whole number: `20261` is not a year we parse.
    if is_digit(line, end) {
        return None;
    }
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
        stamp: Stamp::Civil {
            civil,
            offset: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn civil_of(line: &str, at: usize) -> (Civil, usize) {
        match parse(line.as_bytes(), at) {
            Some(Parsed {
                end,
                stamp:
                    Stamp::Civil {
                        civil,
                        offset: None,
                    },
            }) => (civil, end),
            other => panic!("{line:?} parsed as {other:?}"),
        }
    }

    #[test]
    fn plain() {
        let (c, end) = civil_of("Wed Nov 25 07:21:09 2026 sshd: x", 0);
        assert_eq!(end, 24);
        assert_eq!(
            c,
            Civil {
                year: 2026,
                month: 11,
                day: 25,
                hour: 7,
                minute: 21,
                second: 9,
                nanos: 0
            }
        );
    }

    #[test]
    fn apache_22_and_24() {
        let (c, end) = civil_of("[Wed Nov 25 07:21:09 2026] [error] [client 192.0.2.4]", 1);
        assert_eq!((c.year, c.day, c.nanos, end), (2026, 25, 0, 25));
        let line = "[Wed Nov 25 07:21:09.123456 2026] [core:error] [pid 1]";
        let (c, end) = civil_of(line, 1);
        assert_eq!((c.second, c.nanos, end), (9, 123_456_000, 32));
        assert_eq!(&line[1..end], "Wed Nov 25 07:21:09.123456 2026");
    }

    #[test]
    fn padded_and_short_days() {
        assert_eq!(civil_of("Thu Nov  5 07:21:09 2026", 0).0.day, 5);
        assert_eq!(civil_of("Thu Nov 5 07:21:09 2026", 0).0.day, 5);
        assert_eq!(civil_of("THU NOV 05 07:21:09 2026", 0).0.day, 5);
    }

    #[test]
    fn weekday_is_not_cross_checked() {
        // Nov 25 2026 is a Wednesday; a wrong weekday is still a date.
        assert_eq!(civil_of("Mon Nov 25 07:21:09 2026", 0).0.day, 25);
    }

    #[test]
    fn rejects() {
        for line in [
            "Wed Nov 25 07:21:09",
            "Wed Nov 25 07:21:09 ",
            "Wed Nov 25 07:21:09 202",
            "Wed Nov 25 07:21:09 20261",
            "Wed Nov 25 07:21:09  2026",
            "Wed Nov 25 24:21:09 2026",
            "Wed Nov 25 07:60:09 2026",
            "Wed Nov 32 07:21:09 2026",
            "Wed Nox 25 07:21:09 2026",
            "Wex Nov 25 07:21:09 2026",
            "Wed Nov 25 07:21:09.1234567890 2026",
            "Nov 25 07:21:09 2026",
            "Wed  Nov 25 07:21:09 2026",
            "",
            "Wed",
        ] {
            assert_eq!(parse(line.as_bytes(), 0), None, "{line:?}");
        }
    }

    #[test]
    fn every_truncation_is_rejected() {
        let full = b"Wed Nov 25 07:21:09.123 2026";
        for n in 0..full.len() {
            assert_eq!(parse(&full[..n], 0), None, "{:?}", &full[..n]);
        }
        assert_eq!(parse(full, 0).map(|p| p.end), Some(full.len()));
    }
}
