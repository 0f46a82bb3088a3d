//! Unix timestamps: 10-digit seconds with an optional fraction
//! (`1764055269`, `1764055269.123`, as written by HAProxy, Squid, auditd's
//! `msg=audit(...)` payloads and many JSON loggers) and 13-digit milliseconds
//! (`1764055269123`, Java and JavaScript loggers).
//!
//! Both require exactly that many digits followed by a non-digit or the end
//! of the line, so a longer digit run (an ID, a counter) is never read as a
//! date, and the two formats can never both match the same text. Ten digits
//! cover 2001-09-09 to 2286-11-20, which is every date a running system logs.

use super::scan::{digit, fraction, is_digit, Parsed, Stamp};

/// Exactly `N` digits at `at`, as a number, not followed by another digit.
fn digits<const N: usize>(line: &[u8], at: usize) -> Option<i64> {
    let mut v: i64 = 0;
    for k in 0..N {
        v = v * 10 + i64::from(digit(line, at + k)?);
    }
    (!is_digit(line, at + N)).then_some(v)
}

/// Parses a 10-digit seconds timestamp, with optional `.fraction`, at `at`.
pub(super) fn parse_seconds(line: &[u8], at: usize) -> Option<Parsed> {
    let second = digits::<10>(line, at)?;
    let (nanos, end) = fraction(line, at + 10, false)?;
    Some(Parsed {
        end,
        stamp: Stamp::Unix { second, nanos },
    })
}

/// Parses a 13-digit milliseconds timestamp at `at`.
pub(super) fn parse_millis(line: &[u8], at: usize) -> Option<Parsed> {
    let ms = digits::<13>(line, at)?;
    let second = ms.div_euclid(1000);
    // The remainder is below 1000, so the nanoseconds fit comfortably.
    let nanos = (ms.rem_euclid(1000) * 1_000_000) as i32;
    Some(Parsed {
        end: at + 13,
        stamp: Stamp::Unix { second, nanos },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix(p: Option<Parsed>) -> Option<(i64, i32, usize)> {
        match p? {
            Parsed {
                end,
                stamp: Stamp::Unix { second, nanos },
            } => Some((second, nanos, end)),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn seconds() {
        assert_eq!(
            unix(parse_seconds(b"1764055269", 0)),
            Some((1_764_055_269, 0, 10))
        );
        assert_eq!(
            unix(parse_seconds(b"1764055269 host", 0)),
            Some((1_764_055_269, 0, 10))
        );
        assert_eq!(
            unix(parse_seconds(b"1764055269.123 x", 0)),
            Some((1_764_055_269, 123_000_000, 14))
        );
        assert_eq!(
            unix(parse_seconds(b"[1764055269.5]", 1)),
            Some((1_764_055_269, 500_000_000, 13))
        );
        // A trailing dot is punctuation, not a fraction.
        assert_eq!(
            unix(parse_seconds(b"1764055269. x", 0)),
            Some((1_764_055_269, 0, 10))
        );
        assert_eq!(unix(parse_seconds(b"0000000000", 0)), Some((0, 0, 10)));
    }

    #[test]
    fn seconds_rejects_other_lengths() {
        assert_eq!(parse_seconds(b"176405526", 0), None);
        assert_eq!(parse_seconds(b"17640552691", 0), None);
        assert_eq!(parse_seconds(b"1764055269123", 0), None);
        assert_eq!(parse_seconds(b"1764055269.1234567890", 0), None);
        assert_eq!(parse_seconds(b"17640x5269", 0), None);
        assert_eq!(parse_seconds(b"", 0), None);
        assert_eq!(parse_seconds(b"x1764055269", 0), None);
    }

    #[test]
    fn millis() {
        assert_eq!(
            unix(parse_millis(b"1764055269123", 0)),
            Some((1_764_055_269, 123_000_000, 13))
        );
        assert_eq!(
            unix(parse_millis(b"1764055269123 x", 0)),
            Some((1_764_055_269, 123_000_000, 13))
        );
        assert_eq!(
            unix(parse_millis(b"<1>1764055269007", 3)),
            Some((1_764_055_269, 7_000_000, 16))
        );
    }

    #[test]
    fn millis_rejects_other_lengths() {
        assert_eq!(parse_millis(b"1764055269", 0), None);
        assert_eq!(parse_millis(b"176405526912", 0), None);
        assert_eq!(parse_millis(b"17640552691234", 0), None);
        assert_eq!(parse_millis(b"1764055269.123", 0), None);
        assert_eq!(parse_millis(b"", 0), None);
    }

    #[test]
    fn formats_are_disjoint() {
        for line in [
            &b"1764055269"[..],
            b"1764055269123",
            b"1764055269.5",
            b"17640552691",
        ] {
            let both = parse_seconds(line, 0).is_some() && parse_millis(line, 0).is_some();
            assert!(!both, "{line:?}");
        }
    }

    #[test]
    fn long_digit_runs_cost_nothing_extra() {
        // The readers look at most 11 (or 14) bytes, whatever follows.
        let line = vec![b'7'; 100_000];
        assert_eq!(parse_seconds(&line, 0), None);
        assert_eq!(parse_millis(&line, 0), None);
        let mut line = b"1764055269.".to_vec();
        line.extend(std::iter::repeat_n(b'1', 100_000));
        assert_eq!(parse_seconds(&line, 0), None);
    }
}
