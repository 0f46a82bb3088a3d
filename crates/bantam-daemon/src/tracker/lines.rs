//! The last matched lines of one source, in one small allocation.
//!
//! Actions need the lines that earned a ban, but a botnet makes us keep them
//! for every source it controls, so they live in a byte budget: the newest
//! line gets up to [`MATCH_BYTES`], older ones share what is left and are cut
//! shorter or dropped first. A line too long to keep whole loses its middle,
//! not its end: the start says when and which program, the end carries the
//! address (a 300-byte user name must not hide it).

use super::{LAST_MATCH_BYTES, MATCHES_KEPT, MATCH_BYTES};

/// Bytes for all stored lines of a source, one length byte each included.
/// With the fixed part of an entry this keeps a source under 300 bytes of
/// heap (see `bench/tracker-memory.sh`).
pub(crate) const LINES_BUDGET: usize = 184;
/// An older line cut shorter than this says nothing useful: drop it.
const SHORTEST_KEPT: usize = 24;
/// What stands for the cut-out middle of a line.
const ELLIPSIS: &[u8] = "…".as_bytes();

// Each stored line carries its length in one byte.
const _: () = assert!(MATCH_BYTES <= u8::MAX as usize && MATCH_BYTES < LINES_BUDGET);
const _: () = assert!(SHORTEST_KEPT > ELLIPSIS.len());

/// Matched lines, oldest first: `[len][bytes]…`, exactly as long as needed.
#[derive(Debug, Default)]
pub(crate) struct Lines(Option<Box<[u8]>>);

impl Lines {
    /// The stored lines, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let mut rest: &[u8] = self.0.as_deref().unwrap_or_default();
        std::iter::from_fn(move || {
            let (&len, tail) = rest.split_first()?;
            let (line, after) = tail.split_at_checked(usize::from(len))?;
            rest = after;
            Some(line)
        })
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.0.as_ref().map_or(0, |b| b.len())
    }

    /// Adds the newest line, keeping at most `MATCHES_KEPT - 1` (the line
    /// that earns the ban is the last of the `MATCHES_KEPT`).
    pub(crate) fn push(&mut self, line: &[u8]) {
        let newest = Cut::new(line, MATCH_BYTES);
        let mut room = LINES_BUDGET - 1 - newest.len();
        let mut older = [Cut::EMPTY; MATCHES_KEPT - 2];
        let mut kept = 0;
        let mut stored: [&[u8]; MATCHES_KEPT - 1] = [&[]; MATCHES_KEPT - 1];
        let mut n = 0;
        for (slot, old) in stored.iter_mut().zip(self.iter()) {
            *slot = old;
            n += 1;
        }
        for old in stored[..n].iter().rev().take(older.len()) {
            if room < 1 + SHORTEST_KEPT {
                break;
            }
            let cut = Cut::new(old, room - 1);
            room -= 1 + cut.len();
            older[kept] = cut;
            kept += 1;
        }
        let total = LINES_BUDGET - room;
        let mut buf = Vec::with_capacity(total);
        for cut in older[..kept].iter().rev().chain([&newest]) {
            cut.write(&mut buf);
        }
        debug_assert_eq!(buf.len(), total);
        self.0 = Some(buf.into_boxed_slice());
    }

    /// The lines for a ban: the stored ones and then `last`, the line that
    /// earned it.
    pub(crate) fn into_matches(self, last: &[u8]) -> Vec<String> {
        let mut last_text = Vec::new();
        Cut::new(last, LAST_MATCH_BYTES).write_text(&mut last_text);
        self.iter()
            .chain([last_text.as_slice()])
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect()
    }
}

/// A line shortened to at most `max` bytes: its start, an ellipsis if
/// anything was cut, its end.
#[derive(Clone, Copy)]
struct Cut<'a> {
    head: &'a [u8],
    tail: &'a [u8],
}

impl<'a> Cut<'a> {
    const EMPTY: Cut<'static> = Cut {
        head: &[],
        tail: &[],
    };

    fn new(line: &'a [u8], max: usize) -> Cut<'a> {
        if line.len() <= max {
            return Cut {
                head: line,
                tail: &[],
            };
        }
        let keep = max.saturating_sub(ELLIPSIS.len());
        // A third for the start (time, host, program), the rest for the
        // message, where the address is.
        let head_end = char_start_at_or_before(line, keep / 3);
        let tail_start = char_start_at_or_after(line, line.len() - (keep - keep / 3));
        Cut {
            head: &line[..head_end],
            tail: &line[tail_start..],
        }
    }

    fn elided(&self) -> bool {
        !self.tail.is_empty()
    }

    fn len(&self) -> usize {
        let ellipsis = if self.elided() { ELLIPSIS.len() } else { 0 };
        self.head.len() + ellipsis + self.tail.len()
    }

    fn write(&self, buf: &mut Vec<u8>) {
        // `len()` is at most MATCH_BYTES, checked at compile time to fit.
        buf.push(self.len() as u8);
        self.write_text(buf);
    }

    fn write_text(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(self.head);
        if self.elided() {
            buf.extend_from_slice(ELLIPSIS);
            buf.extend_from_slice(self.tail);
        }
    }
}

fn is_continuation(b: u8) -> bool {
    b & 0xC0 == 0x80
}

/// Moves a cut back to the start of a UTF-8 character, so that valid text
/// stays valid; at most three steps, since invalid input may have long runs
/// of continuation bytes (it is shown lossily anyway).
fn char_start_at_or_before(line: &[u8], mut at: usize) -> usize {
    for _ in 0..3 {
        if at == 0 || !line.get(at).copied().is_some_and(is_continuation) {
            break;
        }
        at -= 1;
    }
    at
}

fn char_start_at_or_after(line: &[u8], mut at: usize) -> usize {
    for _ in 0..3 {
        if !line.get(at).copied().is_some_and(is_continuation) {
            break;
        }
        at += 1;
    }
    at
}
