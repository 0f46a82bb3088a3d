//! [`Batch`]: what every source hands to the daemon, and the line splitting
//! shared by all sources.
//!
//! A batch holds whole lines only. Sources keep the bytes of an unfinished
//! line back until its `'\n'` arrives, so the filter never sees half a line
//! and then the other half as a second line. The one exception is the last,
//! unterminated line of a file that has been rotated away (or of standard
//! input at EOF): nothing will ever complete it, so it is emitted once as a
//! line of its own.
//!
//! A line longer than [`MAX_LINE_BYTES`] is dropped whole. Cutting it
//! instead, as earlier versions did, made its tail a line of its own: an
//! attacker who controls a long field (a user name, a URL) could plant text
//! shaped like a failure of someone else's address there and have that
//! address banned. Dropping is done in *skip mode*: once the unfinished
//! line is too long, its bytes are counted and discarded as they arrive,
//! however many reads it takes, until its `'\n'`; memory stays bounded.

use std::path::Path;
use std::sync::Arc;

use crate::checkpoint::Checkpoint;

/// A line longer than this (without its `'\n'`) is dropped, never handed
/// out, and counted in [`Batch::dropped_long`]. This bounds the memory a
/// single hostile or broken writer can make us hold; no log line that a
/// filter can usefully match comes close.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Above this, the buffer of an unfinished line is freed once the line is
/// complete.
const KEEP_CAPACITY: usize = 64 * 1024;

/// How much of the first dropped line a batch keeps, for the log message.
pub const DROPPED_SAMPLE_BYTES: usize = 200;

/// Whole lines read from one source, in order, with the position to store
/// once they have been processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The followed path (for a rotated file, the path it was followed
    /// under, not its current name), the FIFO's path, or `-` for stdin.
    pub path: Arc<Path>,
    /// Every line ends with `'\n'`. Empty only when the batch reports
    /// dropped lines (and, for a file, the checkpoint past them).
    data: Vec<u8>,
    /// Where to resume once these lines are processed. Files only: a pipe
    /// cannot be re-read, so FIFO and stdin batches carry `None`.
    pub checkpoint: Option<Checkpoint>,
    /// Lines longer than [`MAX_LINE_BYTES`] that ended (their `'\n'` was
    /// read, or the stream ended) since the previous batch, and were
    /// dropped.
    pub dropped_long: u64,
    /// The first [`DROPPED_SAMPLE_BYTES`] bytes of the first of those
    /// lines, for a log message; `Some` exactly when `dropped_long > 0`.
    pub dropped_sample: Option<Vec<u8>>,
    /// One entry per line, in order, from sources that know more than the
    /// text (journal, syslog); empty for files and pipes.
    meta: Vec<LineMeta>,
}

/// What a structured source knows about one line besides its text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineMeta {
    /// When the entry was logged, in microseconds since the Unix epoch
    /// (the journal's `__REALTIME_TIMESTAMP`); `None` when the source
    /// cannot say.
    pub realtime_us: Option<u64>,
    /// Named values (`_PID`, `_SYSTEMD_UNIT`, `host`, `program`, ...), in
    /// the order the source gave them.
    pub fields: Vec<(Box<str>, Box<str>)>,
}

impl LineMeta {
    /// The value of field `name`, if the line has it.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| &**k == name)
            .map(|(_, v)| &**v)
    }
}

impl Batch {
    pub(crate) fn new(path: Arc<Path>, taken: Taken, checkpoint: Option<Checkpoint>) -> Batch {
        debug_assert!(
            taken.data.last() == Some(&b'\n') || taken.data.is_empty() && taken.dropped > 0,
            "a batch holds whole lines"
        );
        Batch {
            path,
            data: taken.data,
            checkpoint,
            dropped_long: taken.dropped,
            dropped_sample: taken.sample,
            meta: taken.meta,
        }
    }

    /// Per-line metadata: empty, or one [`LineMeta`] per line of
    /// [`lines`](Self::lines), in the same order.
    pub fn meta(&self) -> &[LineMeta] {
        &self.meta
    }

    /// The lines, each with its metadata when the source has some.
    pub fn lines_with_meta(&self) -> impl Iterator<Item = (&[u8], Option<&LineMeta>)> {
        let mut meta = self.meta.iter();
        self.lines().map(move |line| (line, meta.next()))
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

/// What a [`Splitter`] took out of a stream for one batch: whole lines, and
/// the over-long lines it dropped.
#[derive(Debug, Default)]
pub(crate) struct Taken {
    pub(crate) data: Vec<u8>,
    pub(crate) dropped: u64,
    pub(crate) sample: Option<Vec<u8>>,
    /// Structured sources only: one per line of `data`.
    pub(crate) meta: Vec<LineMeta>,
}

impl Taken {
    /// Nothing to hand out: no line, no drop to report.
    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty() && self.dropped == 0
    }

    /// A line from a structured source: `text` (no `'\n'` in it) with its
    /// metadata, or, if longer than [`MAX_LINE_BYTES`], a dropped line.
    pub(crate) fn push_line(&mut self, text: &[u8], meta: LineMeta) {
        debug_assert!(!text.contains(&b'\n'));
        if text.len() > MAX_LINE_BYTES {
            self.drop_line(text[..DROPPED_SAMPLE_BYTES].to_vec());
            return;
        }
        self.data.extend_from_slice(text);
        self.data.push(b'\n');
        self.meta.push(meta);
    }

    pub(crate) fn drop_line(&mut self, sample: Vec<u8>) {
        self.dropped += 1;
        self.sample.get_or_insert(sample);
    }
}

/// The unfinished line of one stream: turns the bytes of successive reads
/// into whole lines, dropping over-long ones.
#[derive(Debug, Default)]
pub(crate) struct Splitter {
    /// The start of a line whose end has not arrived yet. Never contains
    /// `'\n'`, never longer than [`MAX_LINE_BYTES`].
    partial: Vec<u8>,
    /// In skip mode: the over-long line being discarded.
    skip: Option<Skip>,
}

/// An over-long line being discarded up to its `'\n'`.
#[derive(Debug)]
struct Skip {
    /// Its bytes so far, all discarded.
    len: u64,
    /// Its first bytes, for the report.
    sample: Vec<u8>,
}

impl Splitter {
    /// Bytes taken in that do not belong to a finished line yet (held or
    /// discarded): the read position is the line boundary plus this.
    pub(crate) fn held(&self) -> u64 {
        match &self.skip {
            Some(skip) => skip.len,
            None => self.partial.len() as u64,
        }
    }

    /// Forgets the unfinished line (the caller repositions the stream).
    pub(crate) fn clear(&mut self) {
        self.partial = Vec::new();
        self.skip = None;
    }

    /// Takes in the next bytes of the stream: appends the lines they finish
    /// to `out` and returns how many bytes of the stream those lines (kept
    /// or dropped, `'\n'` included) took, so that file offsets stay exact
    /// and on line boundaries.
    pub(crate) fn push(&mut self, mut data: &[u8], out: &mut Taken) -> u64 {
        let mut finished = 0;
        while !data.is_empty() {
            let newline = memchr::memchr(b'\n', data);
            if let Some(skip) = &mut self.skip {
                let Some(i) = newline else {
                    skip.len += data.len() as u64;
                    break;
                };
                finished += skip.len + i as u64 + 1;
                out.drop_line(std::mem::take(&mut skip.sample));
                self.skip = None;
                data = &data[i + 1..];
                continue;
            }
            let Some(i) = newline else {
                self.hold(data);
                break;
            };
            finished += self.finish_line(&data[..i], out);
            data = &data[i + 1..];
            // The rest up to its last '\n' cannot hold an over-long line if
            // it is not longer than one: copy it in one go.
            if data.len() <= MAX_LINE_BYTES {
                if let Some(j) = memchr::memrchr(b'\n', data) {
                    out.data.extend_from_slice(&data[..=j]);
                    finished += j as u64 + 1;
                    data = &data[j + 1..];
                }
            }
        }
        finished
    }

    /// The stream ended: its unterminated last line, if any, is a line of
    /// its own (or a dropped one). Returns its size, as [`push`](Self::push).
    pub(crate) fn finish(&mut self, out: &mut Taken) -> u64 {
        if let Some(skip) = self.skip.take() {
            out.drop_line(skip.sample);
            return skip.len;
        }
        if self.partial.is_empty() {
            return 0;
        }
        let len = self.partial.len() as u64;
        out.data.append(&mut self.partial);
        out.data.push(b'\n');
        len
    }

    /// `rest` (no `'\n'` in it) continues the unfinished line.
    fn hold(&mut self, rest: &[u8]) {
        let needed = self.partial.len() + rest.len();
        if needed <= MAX_LINE_BYTES {
            if needed > self.partial.capacity() {
                // Doubling, but never past the limit.
                let target = needed.max((self.partial.capacity() * 2).min(MAX_LINE_BYTES));
                self.partial.reserve_exact(target - self.partial.len());
            }
            self.partial.extend_from_slice(rest);
            return;
        }
        let len = (self.partial.len() + rest.len()) as u64;
        let sample = sample(&self.partial, rest);
        // Give the memory back: a line this long is an attack or a bug,
        // not something to stay ready for.
        self.partial = Vec::new();
        self.skip = Some(Skip { len, sample });
    }

    /// The unfinished line ends with `end` (its `'\n'` excluded): hands it
    /// out, or drops it if too long. Returns its size with the `'\n'`.
    fn finish_line(&mut self, end: &[u8], out: &mut Taken) -> u64 {
        let len = self.partial.len() + end.len();
        if len > MAX_LINE_BYTES {
            out.drop_line(sample(&self.partial, end));
            self.partial = Vec::new();
        } else {
            out.data.extend_from_slice(&self.partial);
            out.data.extend_from_slice(end);
            out.data.push(b'\n');
            if self.partial.capacity() > KEEP_CAPACITY {
                // One long line must not pin its buffer in each of
                // hundreds of followed files.
                self.partial = Vec::new();
            }
            self.partial.clear();
        }
        len as u64 + 1
    }
}

/// The first [`DROPPED_SAMPLE_BYTES`] of `a` followed by `b`.
fn sample(a: &[u8], b: &[u8]) -> Vec<u8> {
    let from_a = a.len().min(DROPPED_SAMPLE_BYTES);
    let from_b = b.len().min(DROPPED_SAMPLE_BYTES - from_a);
    [&a[..from_a], &b[..from_b]].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(data: &[u8]) -> Batch {
        let taken = Taken {
            data: data.to_vec(),
            ..Taken::default()
        };
        Batch::new(Arc::from(Path::new("/x")), taken, None)
    }

    #[test]
    fn lines_strip_the_newline_and_keep_empty_lines() {
        let b = batch(b"a\n\nbc\r\n");
        let lines: Vec<&[u8]> = b.lines().collect();
        assert_eq!(lines, [&b"a"[..], b"", b"bc\r"]);
        assert_eq!(b.line_count(), 3);
    }

    #[test]
    fn splitter_keeps_the_partial_line() {
        let mut split = Splitter::default();
        let mut out = Taken::default();
        assert_eq!(split.push(b"one\ntwo\nthr", &mut out), 8);
        assert_eq!(out.data, b"one\ntwo\n");
        assert_eq!(split.held(), 3);
        assert_eq!(split.push(b"ee\n", &mut out), 6);
        assert_eq!(out.data, b"one\ntwo\nthree\n");
        assert_eq!(split.held(), 0);
        assert!(!out.is_empty() && out.dropped == 0);
    }

    #[test]
    fn splitter_without_newline_takes_nothing() {
        let mut split = Splitter::default();
        let mut out = Taken::default();
        assert_eq!(split.push(b"abc", &mut out), 0);
        assert!(out.is_empty());
        assert_eq!(split.held(), 3);
        assert_eq!(split.finish(&mut out), 3);
        assert_eq!(out.data, b"abc\n");
    }

    #[test]
    fn overlong_line_is_dropped_whole_across_reads() {
        let mut split = Splitter::default();
        let mut out = Taken::default();
        assert_eq!(split.push(b"ok\nAAAA", &mut out), 3);
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..(3 * MAX_LINE_BYTES / chunk.len()) {
            assert_eq!(split.push(&chunk, &mut out), 0);
            assert!(split.partial.capacity() <= MAX_LINE_BYTES);
        }
        assert_eq!(out.dropped, 0, "not finished yet");
        let held = split.held();
        assert_eq!(held, 4 + 3 * MAX_LINE_BYTES as u64);
        assert_eq!(
            split.push(b"failure from 192.0.2.1\nnext\n", &mut out),
            held + 23 + 5
        );
        assert_eq!(out.data, b"ok\nnext\n");
        assert_eq!(out.dropped, 1);
        let sample = out.sample.as_deref().unwrap_or_default();
        assert_eq!(sample.len(), DROPPED_SAMPLE_BYTES);
        assert!(sample.starts_with(b"AAAAxx"));
    }

    #[test]
    fn overlong_line_in_one_piece_and_at_the_end() {
        let mut split = Splitter::default();
        let mut out = Taken::default();
        let mut data = vec![b'y'; MAX_LINE_BYTES + 1];
        data.extend_from_slice(b"\nshort\n");
        data.extend_from_slice(&vec![b'z'; MAX_LINE_BYTES]);
        data.extend_from_slice(b"\n");
        data.extend_from_slice(&vec![b'w'; MAX_LINE_BYTES + 1]);
        let total = data.len() as u64;
        let taken = split.push(&data, &mut out);
        assert_eq!(taken, total - MAX_LINE_BYTES as u64 - 1);
        // A line of exactly the limit is kept.
        assert_eq!(out.data.len(), 6 + MAX_LINE_BYTES + 1);
        assert_eq!(out.dropped, 1);
        assert_eq!(out.sample.as_deref(), Some(&vec![b'y'; 200][..]));
        assert_eq!(split.finish(&mut out), MAX_LINE_BYTES as u64 + 1);
        assert_eq!(out.dropped, 2);
        assert_eq!(out.sample.as_deref(), Some(&vec![b'y'; 200][..]));
        assert_eq!(split.finish(&mut out), 0);
    }
}
