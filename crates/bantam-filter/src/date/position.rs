//! The fixed places in a line where a date is looked for.
//!
//! Dates are only tried at a handful of offsets computed from the first few
//! bytes of the line, never searched for: a search would make the cost of a
//! non-matching line depend on its length, and would find "dates" inside
//! messages (a user-supplied URL, a quoted log line) that an attacker controls.
//! CLF is the exception, because its date sits after a variable-length client
//! address; `clf::search` bounds that search on its own.

use super::scan::{byte, is_digit};

/// A named place in the line. The detector remembers the anchor of the last
/// winning format rather than its byte offset, because the offset moves with
/// the length of the priority (`<4>` vs `<134>`) or of the client address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Anchor {
    /// Offset 0.
    Start,
    /// Just after a leading `[` (Apache error log, many application logs).
    Bracket,
    /// Just after an RFC 3164 / RFC 5424 priority `<N>`, N of 1 to 3 digits.
    Priority,
    /// Just after `<N>1 `, the RFC 5424 priority plus protocol version.
    Rfc5424,
    /// Inside one of the first `[...]` groups (CLF only, see `clf::search`).
    ClfBracket,
}

impl Anchor {
    /// The byte offset this anchor denotes in `line`, if the line has it.
    /// `ClfBracket` has no single offset and always returns `None`.
    pub(super) fn offset(self, line: &[u8]) -> Option<usize> {
        match self {
            Anchor::Start => Some(0),
            Anchor::Bracket => (byte(line, 0)? == b'[').then_some(1),
            Anchor::Priority => priority_end(line),
            Anchor::Rfc5424 => rfc5424_end(line),
            Anchor::ClfBracket => None,
        }
    }
}

/// Offset just past a leading `<N>` (1 to 3 digits), if any.
fn priority_end(line: &[u8]) -> Option<usize> {
    if byte(line, 0)? != b'<' {
        return None;
    }
    let digits = (1..=3).take_while(|&i| is_digit(line, i)).count();
    if digits == 0 || byte(line, 1 + digits)? != b'>' {
        return None;
    }
    Some(2 + digits)
}

/// Offset just past a leading `<N>1 ` (RFC 5424 header start), if any.
fn rfc5424_end(line: &[u8]) -> Option<usize> {
    let p = priority_end(line)?;
    (line.get(p..p + 2)? == b"1 ").then_some(p + 2)
}

/// Every fixed anchor the line has, in the order they are tried (leftmost
/// first, so the date nearest the start wins). At most three, no allocation.
pub(super) fn anchors(line: &[u8]) -> impl Iterator<Item = (Anchor, usize)> {
    let mut out = [None; 3];
    out[0] = Some((Anchor::Start, 0));
    match byte(line, 0) {
        Some(b'[') => out[1] = Some((Anchor::Bracket, 1)),
        Some(b'<') => {
            if let Some(p) = priority_end(line) {
                out[1] = Some((Anchor::Priority, p));
                if let Some(v) = rfc5424_end(line) {
                    out[2] = Some((Anchor::Rfc5424, v));
                }
            }
        }
        _ => {}
    }
    out.into_iter().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(line: &[u8]) -> Vec<(Anchor, usize)> {
        anchors(line).collect()
    }

    #[test]
    fn plain_line_has_only_start() {
        assert_eq!(all(b"Nov 25 07:21:09 host"), vec![(Anchor::Start, 0)]);
        assert_eq!(all(b""), vec![(Anchor::Start, 0)]);
    }

    #[test]
    fn leading_bracket() {
        assert_eq!(
            all(b"[Wed Nov"),
            vec![(Anchor::Start, 0), (Anchor::Bracket, 1)]
        );
        assert_eq!(Anchor::Bracket.offset(b"["), Some(1));
        assert_eq!(Anchor::Bracket.offset(b"x["), None);
        assert_eq!(Anchor::Bracket.offset(b""), None);
    }

    #[test]
    fn priorities() {
        assert_eq!(
            all(b"<4>Nov"),
            vec![(Anchor::Start, 0), (Anchor::Priority, 3)]
        );
        assert_eq!(
            all(b"<134>Nov"),
            vec![(Anchor::Start, 0), (Anchor::Priority, 5)]
        );
        assert_eq!(
            all(b"<34>1 2026-11-25T07:21:09Z"),
            vec![
                (Anchor::Start, 0),
                (Anchor::Priority, 4),
                (Anchor::Rfc5424, 6)
            ]
        );
        assert_eq!(Anchor::Rfc5424.offset(b"<34>1 x"), Some(6));
        assert_eq!(Anchor::Rfc5424.offset(b"<34>12"), None);
        assert_eq!(Anchor::Priority.offset(b"<34>"), Some(4));
    }

    #[test]
    fn malformed_priorities() {
        for line in [
            &b"<>"[..],
            b"<1234>",
            b"<12",
            b"<1x>",
            b"<",
            b"<\xff>",
            b"<1\0>",
        ] {
            assert_eq!(all(line), vec![(Anchor::Start, 0)], "{line:?}");
            assert_eq!(Anchor::Priority.offset(line), None);
            assert_eq!(Anchor::Rfc5424.offset(line), None);
        }
    }

    #[test]
    fn clf_anchor_has_no_offset() {
        assert_eq!(
            Anchor::ClfBracket.offset(b"[25/Nov/2026:07:21:09 +0000]"),
            None
        );
        assert_eq!(Anchor::Start.offset(b""), Some(0));
    }
}
