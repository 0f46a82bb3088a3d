//! [`Batch`]: what every source hands to the daemon, and the line splitting
//! shared by all sources.
//!
//! A batch holds whole lines only. Sources keep the bytes of an unfinished
//! line back until its `'\n'` arrives, so the filter never sees half a line
//! and then the other half as a second line. The one exception is the last,
//! unterminated line of a file that has been rotated away (or of standard
//! input at EOF): nothing will ever complete it, so it is emitted once as a
//! line of its own.

use std::path::Path;
use std::sync::Arc;

use crate::checkpoint::Checkpoint;

/// A line longer than this is cut: once this many bytes of one line are
/// pending, they are emitted as a line and the rest follows as another. This
/// bounds the memory a single hostile or broken writer can make us hold; no
/// log line that a filter can usefully match comes close.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Whole lines read from one source, in order, with the position to store
/// once they have been processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The followed path (for a rotated file, the path it was followed
    /// under, not its current name), the FIFO's path, or `-` for stdin.
    pub path: Arc<Path>,
    /// Every line ends with `'\n'`; never empty.
    data: Vec<u8>,
    /// Where to resume once these lines are processed. Files only: a pipe
    /// cannot be re-read, so FIFO and stdin batches carry `None`.
    pub checkpoint: Option<Checkpoint>,
}

impl Batch {
    pub(crate) fn new(path: Arc<Path>, data: Vec<u8>, checkpoint: Option<Checkpoint>) -> Batch {
        debug_assert!(data.last() == Some(&b'\n'), "a batch holds whole lines");
        Batch {
            path,
            data,
            checkpoint,
        }
    }

    /// The lines, without their `'\n'`. A `'\r'` before it is kept: whether
    /// it matters is the filter's business.
    pub fn lines(&self) -> Lines<'_> {
        Lines { rest: &self.data }
    }

    /// The raw bytes: the lines, each followed by `'\n'`.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// How many lines the batch holds.
    pub fn line_count(&self) -> usize {
        memchr::memchr_iter(b'\n', &self.data).count()
    }
}

/// Iterator over the lines of a [`Batch`].
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        // Every line of a batch is terminated, so the fallback (the whole
        // rest) is only there to keep the iterator total.
        let end = memchr::memchr(b'\n', self.rest).unwrap_or(self.rest.len());
        let line = &self.rest[..end];
        self.rest = self.rest.get(end + 1..).unwrap_or_default();
        Some(line)
    }
}

/// Moves the complete lines at the front of `pending` to the end of `out`
/// and returns how many bytes of `pending` they took.
///
/// Only `pending[new_from..]` is searched for a `'\n'`: the bytes before it
/// were searched when they arrived and held none. That keeps a long line
/// arriving in many small reads linear instead of quadratic.
///
/// A partial line that reaches [`MAX_LINE_BYTES`] is cut (see there); the cut
/// adds a `'\n'` to `out` that is not counted in the returned size, so file
/// offsets stay exact.
pub(crate) fn take_lines(pending: &mut Vec<u8>, new_from: usize, out: &mut Vec<u8>) -> usize {
    let mut taken = match memchr::memrchr(b'\n', &pending[new_from.min(pending.len())..]) {
        Some(i) => new_from + i + 1,
        None => 0,
    };
    out.extend_from_slice(&pending[..taken]);
    while pending.len() - taken >= MAX_LINE_BYTES {
        out.extend_from_slice(&pending[taken..taken + MAX_LINE_BYTES]);
        out.push(b'\n');
        taken += MAX_LINE_BYTES;
    }
    pending.drain(..taken);
    taken
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(data: &[u8]) -> Batch {
        Batch::new(Arc::from(Path::new("/x")), data.to_vec(), None)
    }

    #[test]
    fn lines_strip_the_newline_and_keep_empty_lines() {
        let b = batch(b"a\n\nbc\r\n");
        let lines: Vec<&[u8]> = b.lines().collect();
        assert_eq!(lines, [&b"a"[..], b"", b"bc\r"]);
        assert_eq!(b.line_count(), 3);
    }

    #[test]
    fn take_lines_keeps_the_partial_line() {
        let mut pending = b"one\ntwo\nthr".to_vec();
        let mut out = Vec::new();
        assert_eq!(take_lines(&mut pending, 0, &mut out), 8);
        assert_eq!(out, b"one\ntwo\n");
        assert_eq!(pending, b"thr");
        pending.extend_from_slice(b"ee\n");
        assert_eq!(take_lines(&mut pending, 3, &mut out), 6);
        assert_eq!(out, b"one\ntwo\nthree\n");
        assert!(pending.is_empty());
    }

    #[test]
    fn take_lines_without_newline_takes_nothing() {
        let mut pending = b"abc".to_vec();
        let mut out = Vec::new();
        assert_eq!(take_lines(&mut pending, 0, &mut out), 0);
        assert!(out.is_empty());
        assert_eq!(pending, b"abc");
    }

    #[test]
    fn overlong_line_is_cut_at_the_limit() {
        let mut pending = vec![b'x'; MAX_LINE_BYTES * 2 + 5];
        let mut out = Vec::new();
        assert_eq!(take_lines(&mut pending, 0, &mut out), MAX_LINE_BYTES * 2);
        assert_eq!(out.len(), MAX_LINE_BYTES * 2 + 2);
        assert_eq!(pending.len(), 5);
        assert_eq!(batch(&out).line_count(), 2);
    }
}
