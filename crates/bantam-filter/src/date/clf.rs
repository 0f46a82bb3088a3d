//! Common Log Format timestamps (Apache and nginx access logs):
//! `25/Nov/2026:07:21:09 +0000`.
//!
//! In an access log the date is not at the start of the line but inside
//! `[...]` after the client address and identity fields:
//! `203.0.113.9 - frank [25/Nov/2026:07:21:09 +0000] "GET / HTTP/1.1" ...`.
//! The address has variable length, so a fixed offset will not do; instead
//! the first few `[` within the first bytes of the line are tried. Both limits
//! keep a long line with many brackets (a hostile request URI) from costing
//! more than a short one, and the real date always comes before the request.

use memchr::memchr_iter;

use super::scan::{
    byte, clock, digit, expect, four_digits, month_name, two_digits, Civil, Parsed, Stamp,
};

/// How far into the line a `[` is looked for. The prefix before the date is
/// an address (at most 45 bytes for IPv6), two identity fields and perhaps a
/// virtual host; 512 leaves ample room.
const SEARCH_WINDOW: usize = 512;

/// How many `[` in that window are tried.
const MAX_BRACKETS: usize = 4;

/// Parses a CLF date starting exactly at `at` (just after the `[`).
pub(super) fn parse(line: &[u8], at: usize) -> Option<Parsed> {
    let day = two_digits(line, at, 1, 31)?;
    expect(line, at + 2, b'/')?;
    let month = month_name(line, at + 3)?;
    expect(line, at + 6, b'/')?;
    let year = four_digits(line, at + 7)?;
    expect(line, at + 11, b':')?;
    let (hour, minute, second, k) = clock(line, at + 12)?;
    let (offset, end) = offset(line, k)?;
    let civil = Civil {
        year,
        month,
        day,
        hour,
        minute,
        second,
        nanos: 0,
    };
    Some(Parsed {
        end,
        stamp: Stamp::Civil { civil, offset },
    })
}

/// The ` +HHMM` after the time (also ` +HH:MM`, seen in hand-written
/// formats). Absent → `(None, i)`, and the detector's zone applies, which
/// covers custom `LogFormat`s that drop `%z`. Like ISO, a space and sign
/// followed by a digit commit to an offset, so a malformed one rejects the
/// date instead of reading it in the wrong zone.
fn offset(line: &[u8], i: usize) -> Option<(Option<i32>, usize)> {
    let sign = match (byte(line, i), byte(line, i + 1)) {
        (Some(b' '), Some(b'+')) => 1,
        (Some(b' '), Some(b'-')) => -1,
        _ => return Some((None, i)),
    };
    if digit(line, i + 2).is_none() {
        return Some((None, i));
    }
    let hours = two_digits(line, i + 2, 0, 23)?;
    let m = if byte(line, i + 4) == Some(b':') {
        i + 5
    } else {
        i + 4
    };
    let minutes = two_digits(line, m, 0, 59)?;
    let end = m + 2;
    if digit(line, end).is_some() {
        return None;
    }
    Some((
        Some(sign * (i32::from(hours) * 3600 + i32::from(minutes) * 60)),
        end,
    ))
}

/// Finds a CLF date at the start of the line or just after one of its first
/// `MAX_BRACKETS` `[` within `SEARCH_WINDOW` bytes. Returns the date's start
/// offset and the parse.
pub(super) fn search(line: &[u8]) -> Option<(usize, Parsed)> {
    if let Some(p) = parse(line, 0) {
        return Some((0, p));
    }
    let window = line.get(..SEARCH_WINDOW).unwrap_or(line);
    memchr_iter(b'[', window)
        .take(MAX_BRACKETS)
        .find_map(|b| parse(line, b + 1).map(|p| (b + 1, p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(line: &str, at: usize) -> (Civil, Option<i32>, usize) {
        match parse(line.as_bytes(), at) {
            Some(Parsed {
                end,
                stamp: Stamp::Civil { civil, offset },
            }) => (civil, offset, end),
            other => panic!("{line:?} parsed as {other:?}"),
        }
    }

    #[test]
    fn plain() {
        let (c, off, end) = parsed("25/Nov/2026:07:21:09 +0000] \"GET /\"", 0);
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
        assert_eq!((off, end), (Some(0), 26));
        assert_eq!(parsed("25/Nov/2026:07:21:09 -0500", 0).1, Some(-5 * 3600));
        assert_eq!(
            parsed("25/Nov/2026:07:21:09 +05:30", 0).1,
            Some(5 * 3600 + 1800)
        );
        let (_, off, end) = parsed("25/Nov/2026:07:21:09] x", 0);
        assert_eq!((off, end), (None, 20));
        let (_, off, end) = parsed("25/Nov/2026:07:21:09 - x", 0);
        assert_eq!((off, end), (None, 20));
    }

    #[test]
    fn rejects() {
        for line in [
            "25/Nov/2026:24:21:09 +0000",
            "25/Nov/2026:07:60:09 +0000",
            "32/Nov/2026:07:21:09 +0000",
            "25/Nox/2026:07:21:09 +0000",
            "25/11/2026:07:21:09 +0000",
            "5/Nov/2026:07:21:09 +0000",
            "25/Nov/2026 07:21:09 +0000",
            "25/Nov/2026:07:21:09 +000",
            "25/Nov/2026:07:21:09 +00000",
            "25/Nov/2026:07:21:09 +2500",
            "25/Nov/2026:07:21:0",
            "25/Nov/2026",
            "",
        ] {
            assert_eq!(parse(line.as_bytes(), 0), None, "{line:?}");
        }
    }

    #[test]
    fn search_finds_the_bracketed_date() {
        let line = b"203.0.113.9 - frank [25/Nov/2026:07:21:09 +0000] \"GET / HTTP/1.1\" 200 2326";
        let (start, p) = search(line).expect("clf");
        assert_eq!(&line[start..p.end], b"25/Nov/2026:07:21:09 +0000");
        let line = b"2001:db8::1 - - [25/Nov/2026:07:21:09 +0100] \"GET /\"";
        assert_eq!(search(line).map(|(s, _)| s), Some(17));
        // A vhost in brackets before the date is skipped.
        let line = b"[www.example.org] 203.0.113.9 - - [25/Nov/2026:07:21:09 +0000] x";
        assert_eq!(search(line).map(|(s, _)| s), Some(35));
        // Bare at the start of the line.
        assert_eq!(
            search(b"25/Nov/2026:07:21:09 +0000 x").map(|(s, _)| s),
            Some(0)
        );
    }

    #[test]
    fn search_is_bounded() {
        // Only the first four brackets are tried...
        let line = b"[a] [b] [c] [d] [25/Nov/2026:07:21:09 +0000]";
        assert_eq!(search(line), None);
        let line = b"[a] [b] [c] [25/Nov/2026:07:21:09 +0000]";
        assert!(search(line).is_some());
        // ...and only within the first 512 bytes.
        let mut line = vec![b'x'; 600];
        line.extend_from_slice(b"[25/Nov/2026:07:21:09 +0000]");
        assert_eq!(search(&line), None);
        let mut line = vec![b'x'; 500];
        line.extend_from_slice(b"[25/Nov/2026:07:21:09 +0000]");
        assert_eq!(search(&line).map(|(s, _)| s), Some(501));
        // A bracket at the very end of the line does not read past it.
        assert_eq!(search(b"abc["), None);
        let long = vec![b'['; 100_000];
        assert_eq!(search(&long), None);
    }
}
