//! Byte readers shared by the format parsers, and the field types they produce.
//!
//! Every reader takes an absolute offset into the line and goes through
//! `slice::get`, so running off the end of a line (a truncated date) is simply
//! "no match" rather than a panic. Readers only ever look at a fixed number of
//! bytes past the offset; nothing here loops over an unbounded part of the line,
//! which is what keeps `locate` O(1) even on 100 kB lines.

/// Wall-clock fields as written in the log. Ranges of the individual fields are
/// checked by the parsers; whether the day exists in that month (Feb 30, Feb 29
/// of a non-leap year) is only known once the year is, so it is left to
/// resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Civil {
    pub year: i16,
    pub month: i8,
    pub day: i8,
    pub hour: i8,
    pub minute: i8,
    /// 0..=60: a leap second is accepted as written and folded into :59 when
    /// converted, the same way jiff treats `:60` in RFC 3339 text.
    pub second: i8,
    pub nanos: i32,
}

/// What a parser found, before any time-zone work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stamp {
    /// Year-bearing wall clock. `offset` is seconds east of UTC when the text
    /// carries one; otherwise the detector's zone applies.
    Civil { civil: Civil, offset: Option<i32> },
    /// Syslog: no year in the text, `civil.year` is meaningless (0) until the
    /// year is inferred from "now".
    Yearless(Civil),
    /// Seconds since the Unix epoch (already absolute).
    Unix { second: i64, nanos: i32 },
}

/// A successful parse: the date text ends at `end` (exclusive, absolute offset).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Parsed {
    pub end: usize,
    pub stamp: Stamp,
}

#[inline]
pub(super) fn byte(line: &[u8], i: usize) -> Option<u8> {
    line.get(i).copied()
}

/// `Some(())` when `line[i] == want`; written to chain with `?`.
#[inline]
pub(super) fn expect(line: &[u8], i: usize, want: u8) -> Option<()> {
    (byte(line, i)? == want).then_some(())
}

#[inline]
pub(super) fn digit(line: &[u8], i: usize) -> Option<u8> {
    let b = byte(line, i)?;
    b.is_ascii_digit().then(|| b - b'0')
}

#[inline]
pub(super) fn is_digit(line: &[u8], i: usize) -> bool {
    digit(line, i).is_some()
}

/// Two digits at `i`, accepted only if the value is within `lo..=hi`.
#[inline]
pub(super) fn two_digits(line: &[u8], i: usize, lo: u8, hi: u8) -> Option<i8> {
    let v = digit(line, i)? * 10 + digit(line, i + 1)?;
    // `hi` is at most 99, so the cast cannot wrap.
    (lo..=hi).contains(&v).then_some(v as i8)
}

#[inline]
pub(super) fn four_digits(line: &[u8], i: usize) -> Option<i16> {
    let mut v: i16 = 0;
    for k in 0..4 {
        v = v * 10 + i16::from(digit(line, i + k)?);
    }
    Some(v)
}

/// Packs three ASCII-lowercased bytes so a name lookup is one integer match.
/// `| 0x20` lowercases ASCII letters and maps no non-letter onto a letter, so
/// comparing against lowercase names is an exact case-insensitive match.
#[inline]
fn name3(line: &[u8], i: usize) -> Option<u32> {
    let s = line.get(i..i + 3)?;
    Some(u32::from(s[0] | 0x20) << 16 | u32::from(s[1] | 0x20) << 8 | u32::from(s[2] | 0x20))
}

const fn pack(s: &[u8; 3]) -> u32 {
    (s[0] as u32) << 16 | (s[1] as u32) << 8 | s[2] as u32
}

/// English month abbreviation at `i`, any case (syslog daemons, Apache and
/// nginx all write `Nov`, but hand-rolled loggers upper-case it).
pub(super) fn month_name(line: &[u8], i: usize) -> Option<i8> {
    const JAN: u32 = pack(b"jan");
    const FEB: u32 = pack(b"feb");
    const MAR: u32 = pack(b"mar");
    const APR: u32 = pack(b"apr");
    const MAY: u32 = pack(b"may");
    const JUN: u32 = pack(b"jun");
    const JUL: u32 = pack(b"jul");
    const AUG: u32 = pack(b"aug");
    const SEP: u32 = pack(b"sep");
    const OCT: u32 = pack(b"oct");
    const NOV: u32 = pack(b"nov");
    const DEC: u32 = pack(b"dec");
    Some(match name3(line, i)? {
        JAN => 1,
        FEB => 2,
        MAR => 3,
        APR => 4,
        MAY => 5,
        JUN => 6,
        JUL => 7,
        AUG => 8,
        SEP => 9,
        OCT => 10,
        NOV => 11,
        DEC => 12,
        _ => return None,
    })
}

/// English day-of-week abbreviation at `i`, any case. The value is not kept:
/// loggers compute it from the date, and a mismatch is not worth rejecting.
pub(super) fn weekday_name(line: &[u8], i: usize) -> Option<()> {
    const NAMES: [u32; 7] = [
        pack(b"mon"),
        pack(b"tue"),
        pack(b"wed"),
        pack(b"thu"),
        pack(b"fri"),
        pack(b"sat"),
        pack(b"sun"),
    ];
    NAMES.contains(&name3(line, i)?).then_some(())
}

/// Day of month as syslog and asctime write it: `25`, ` 5` (space-padded, the
/// RFC 3164 form) or `5` (what some non-conforming loggers emit). Returns the
/// day and the offset just past it.
pub(super) fn padded_day(line: &[u8], i: usize) -> Option<(i8, usize)> {
    let (v, end) = match (byte(line, i)?, digit(line, i + 1)) {
        (b' ', Some(d)) => (d, i + 2),
        (b, Some(d)) if b.is_ascii_digit() => ((b - b'0') * 10 + d, i + 2),
        (b, _) if b.is_ascii_digit() => (b - b'0', i + 1),
        _ => return None,
    };
    (1..=31).contains(&v).then_some((v as i8, end))
}

/// `HH:MM:SS` at `i`, range-checked, not followed by another digit (so
/// `07:21:091` is not a time). Returns hour, minute, second and the end offset.
pub(super) fn clock(line: &[u8], i: usize) -> Option<(i8, i8, i8, usize)> {
    let hour = two_digits(line, i, 0, 23)?;
    expect(line, i + 2, b':')?;
    let minute = two_digits(line, i + 3, 0, 59)?;
    expect(line, i + 5, b':')?;
    let second = two_digits(line, i + 6, 0, 60)?;
    if is_digit(line, i + 8) {
        return None;
    }
    Some((hour, minute, second, i + 8))
}

/// Optional fraction of a second at `i`: a separator (`.`, or `,` when
/// `allow_comma`, as Python's logging writes) followed by 1..=9 digits.
///
/// Returns `(nanos, end)`; with no fraction that is `(0, i)`. A separator not
/// followed by a digit is not part of the date (`07:21:09. next sentence`).
/// Ten or more digits make the whole date `None`: no logger writes that, so it
/// is more likely a longer number than a timestamp, and stopping after at most
/// ten digits keeps the reader bounded.
pub(super) fn fraction(line: &[u8], i: usize, allow_comma: bool) -> Option<(i32, usize)> {
    let sep_ok = match byte(line, i) {
        Some(b'.') => true,
        Some(b',') => allow_comma,
        _ => false,
    };
    if !sep_ok || !is_digit(line, i + 1) {
        return Some((0, i));
    }
    let mut nanos: i32 = 0;
    let mut j = i + 1;
    let mut count = 0;
    while count < 9 {
        match digit(line, j) {
            Some(d) => {
                nanos = nanos * 10 + i32::from(d);
                j += 1;
                count += 1;
            }
            None => break,
        }
    }
    if is_digit(line, j) {
        return None;
    }
    for _ in count..9 {
        nanos *= 10;
    }
    Some((nanos, j))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_names_any_case() {
        assert_eq!(month_name(b"Nov", 0), Some(11));
        assert_eq!(month_name(b"nov", 0), Some(11));
        assert_eq!(month_name(b"NOV", 0), Some(11));
        assert_eq!(month_name(b"xJan", 1), Some(1));
        assert_eq!(month_name(b"Dec", 0), Some(12));
        assert_eq!(month_name(b"Nox", 0), None);
        assert_eq!(month_name(b"No", 0), None);
        // `@` | 0x20 is a backtick, never a letter.
        assert_eq!(month_name(b"N@v", 0), None);
        assert_eq!(month_name(b"\xce\xaev", 0), None);
    }

    #[test]
    fn weekday_names() {
        for name in ["Mon", "tue", "WED", "Thu", "Fri", "Sat", "Sun"] {
            assert_eq!(weekday_name(name.as_bytes(), 0), Some(()), "{name}");
        }
        assert_eq!(weekday_name(b"Wex", 0), None);
        assert_eq!(weekday_name(b"We", 0), None);
    }

    #[test]
    fn days() {
        assert_eq!(padded_day(b"25 ", 0), Some((25, 2)));
        assert_eq!(padded_day(b" 5 ", 0), Some((5, 2)));
        assert_eq!(padded_day(b"5 ", 0), Some((5, 1)));
        assert_eq!(padded_day(b"5", 0), Some((5, 1)));
        assert_eq!(padded_day(b"32 ", 0), None);
        assert_eq!(padded_day(b"00 ", 0), None);
        assert_eq!(padded_day(b" 0 ", 0), None);
        assert_eq!(padded_day(b"  5", 0), None);
        assert_eq!(padded_day(b" ", 0), None);
        assert_eq!(padded_day(b"", 0), None);
    }

    #[test]
    fn clocks() {
        assert_eq!(clock(b"07:21:09", 0), Some((7, 21, 9, 8)));
        assert_eq!(clock(b"23:59:60 ", 0), Some((23, 59, 60, 8)));
        assert_eq!(clock(b"24:00:00", 0), None);
        assert_eq!(clock(b"23:60:00", 0), None);
        assert_eq!(clock(b"23:59:61", 0), None);
        assert_eq!(clock(b"07:21:091", 0), None);
        assert_eq!(clock(b"07:21:0", 0), None);
        assert_eq!(clock(b"07-21-09", 0), None);
    }

    #[test]
    fn fractions() {
        assert_eq!(fraction(b"", 0, false), Some((0, 0)));
        assert_eq!(fraction(b" x", 0, false), Some((0, 0)));
        assert_eq!(fraction(b".5", 0, false), Some((500_000_000, 2)));
        assert_eq!(fraction(b".123456 ", 0, false), Some((123_456_000, 7)));
        assert_eq!(fraction(b".123456789", 0, false), Some((123_456_789, 10)));
        assert_eq!(fraction(b".1234567890", 0, false), None);
        assert_eq!(fraction(b".", 0, false), Some((0, 0)));
        assert_eq!(fraction(b". x", 0, false), Some((0, 0)));
        assert_eq!(fraction(b",123", 0, false), Some((0, 0)));
        assert_eq!(fraction(b",123", 0, true), Some((123_000_000, 4)));
    }

    #[test]
    fn numbers() {
        assert_eq!(two_digits(b"12", 0, 1, 12), Some(12));
        assert_eq!(two_digits(b"13", 0, 1, 12), None);
        assert_eq!(two_digits(b"1", 0, 0, 99), None);
        assert_eq!(four_digits(b"2026", 0), Some(2026));
        assert_eq!(four_digits(b"202", 0), None);
        assert_eq!(four_digits(b"20a6", 0), None);
        assert_eq!(expect(b"x", 0, b'x'), Some(()));
        assert_eq!(expect(b"x", 1, b'x'), None);
    }
}
