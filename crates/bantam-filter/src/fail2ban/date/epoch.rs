//! Numeric timestamps: `EPOCH` (seconds), `LEPOCH` (milli- or microseconds)
//! and `TAI64N` (daemontools' `@4000…` labels).
//!
//! # Why text arithmetic
//!
//! fail2ban converts these through a float, which loses the last digits of
//! a microsecond timestamp. We read the digits exactly into nanoseconds; the
//! whole second is the same as fail2ban's.

use jiff::Timestamp;

/// Seconds since 1970, ten or eleven digits, with an optional fraction of
/// three to six digits after a word boundary.
pub(crate) const SECONDS: &str = r"[0-9]{10,11}\b(?:\.[0-9]{3,6})?";
/// Seconds, milliseconds (`+3` digits, optional fraction of up to six
/// digits) or microseconds (`+6` digits).
pub(crate) const LONG: &str = r"[0-9]{10,11}(?:[0-9]{3}(?:\.[0-9]{1,6}|[0-9]{3})?)?";
/// The default template: an epoch at the start of the line, right after a
/// `[` that opens the line (nsd), or inside `audit(` (SELinux).
pub(crate) const ANYWHERE_PREFIX: &str = r"(?:^|(?<=^\[)|(?<=\baudit\())";
/// The same places, consumed rather than looked behind (for
/// `Matcher::Prefixed`).
pub(crate) const ANYWHERE_PREFIX_CONSUMED: &str = r"(?:^|^\[|\baudit\()";
/// TAI64N: `@`, then 24 hex digits (the TAI64 label and nanoseconds).
pub(crate) const TAI64N: &str = "@[0-9a-f]{24}";

/// The instant an epoch text stands for. In the long form, 13 to 15
/// digits (or any text with a fraction) are milliseconds and 16 or more
/// digits are microseconds.
pub(crate) fn epoch(text: &str, long: bool) -> Option<Timestamp> {
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i, f),
        None => (text, ""),
    };
    if int.is_empty() || int.len() > 20 || frac.len() > 9 {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: i128 = int.parse().ok()?;
    let frac_nanos: i128 = if frac.is_empty() {
        0
    } else {
        let f: i128 = frac.parse().ok()?;
        f * 10i128.pow(9 - u32::try_from(frac.len()).ok()?)
    };
    let divisor: i128 = if long && text.len() >= 13 {
        if text.len() >= 16 && frac.is_empty() {
            1_000_000
        } else {
            1_000
        }
    } else {
        1
    };
    let nanos = (whole * 1_000_000_000 + frac_nanos) / divisor;
    Timestamp::from_nanosecond(nanos).ok()
}

/// A TAI64N label: fail2ban reads the 15 hex digits after `@4` as seconds
/// since 1970 (without the TAI−UTC difference); the last 8 are nanoseconds,
/// which fail2ban checks but drops (whole seconds, as for `%f`).
pub(crate) fn tai64n(text: &str) -> Option<Timestamp> {
    let secs = i64::from_str_radix(text.get(2..17)?, 16).ok()?;
    i32::from_str_radix(text.get(17..25)?, 16).ok()?;
    Timestamp::new(secs, 0).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_fractions() {
        assert_eq!(epoch("1138049999", false).unwrap().as_second(), 1138049999);
        let t = epoch("1138049999.123456", false).unwrap();
        assert_eq!(t.subsec_nanosecond(), 123_456_000);
    }

    #[test]
    fn long_units() {
        let ms = epoch("1138049999123", true).unwrap();
        assert_eq!(
            (ms.as_second(), ms.subsec_nanosecond()),
            (1138049999, 123_000_000)
        );
        let us = epoch("1138049999123456", true).unwrap();
        assert_eq!(
            (us.as_second(), us.subsec_nanosecond()),
            (1138049999, 123_456_000)
        );
        let msf = epoch("1138049999123.5", true).unwrap();
        assert_eq!(
            (msf.as_second(), msf.subsec_nanosecond()),
            (1138049999, 123_500_000)
        );
    }

    #[test]
    fn tai() {
        let t = tai64n("@4000000043c7b1d22a64e1d4").unwrap();
        assert_eq!(t.as_second(), 0x43c7_b1d2);
        // The nanoseconds are checked but dropped, as fail2ban does.
        assert_eq!(t.subsec_nanosecond(), 0);
        assert!(tai64n("@4000000043c7b1d2zzzzzzzz").is_none());
    }
}
