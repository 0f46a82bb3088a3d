//! Syslog over TCP (RFC 6587): messages framed by an octet count
//! (`LEN SP MSG`) or ended by a newline, decided per message (a framed
//! message starts with a digit, a newline-ended one with `<`). Memory per
//! connection is bounded: a message over [`MAX_LINE_BYTES`] is skipped,
//! not stored, and counted as dropped.

use crate::batch::MAX_LINE_BYTES;

/// An octet count longer than this is not one.
const COUNT_DIGITS: usize = 10;

#[derive(Debug, Default)]
enum State {
    /// At the start of a message.
    #[default]
    Start,
    /// Reading the digits of an octet count.
    Count(usize),
    /// Collecting a framed message of this many more bytes.
    Framed(usize),
    /// Collecting a newline-ended message.
    Line,
    /// Discarding this many bytes of a framed message too long to keep.
    SkipFramed(usize),
    /// Discarding a newline-ended message too long to keep.
    SkipLine,
}

/// The framing state of one connection.
#[derive(Debug, Default)]
pub(crate) struct Framer {
    state: State,
    msg: Vec<u8>,
}

impl Framer {
    /// Takes in `data`; calls `message` with each complete message and
    /// returns how many were dropped as too long.
    pub(crate) fn push(&mut self, mut data: &[u8], mut message: impl FnMut(&[u8])) -> u64 {
        let mut dropped = 0;
        while let Some(&b) = data.first() {
            match &mut self.state {
                State::Start if b.is_ascii_digit() => self.state = State::Count(0),
                State::Start => self.state = State::Line,
                State::Count(n) => {
                    data = &data[1..];
                    if b.is_ascii_digit() && self.msg.len() < COUNT_DIGITS {
                        *n = *n * 10 + usize::from(b - b'0');
                        self.msg.push(b);
                    } else if b == b' ' {
                        let n = *n;
                        self.msg.clear();
                        self.state = if n > MAX_LINE_BYTES {
                            dropped += 1;
                            State::SkipFramed(n)
                        } else {
                            State::Framed(n)
                        };
                        if n == 0 {
                            self.state = State::Start;
                        }
                    } else {
                        // Not a count after all: the digits start a line.
                        self.state = State::Line;
                        self.msg.push(b);
                    }
                }
                State::Framed(left) => {
                    let n = (*left).min(data.len());
                    self.msg.extend_from_slice(&data[..n]);
                    data = &data[n..];
                    *left -= n;
                    if *left == 0 {
                        message(&self.msg);
                        self.reset();
                    }
                }
                State::SkipFramed(left) => {
                    let n = (*left).min(data.len());
                    data = &data[n..];
                    *left -= n;
                    if *left == 0 {
                        self.reset();
                    }
                }
                State::Line => match memchr::memchr(b'\n', data) {
                    Some(i) if self.msg.len() + i <= MAX_LINE_BYTES => {
                        self.msg.extend_from_slice(&data[..i]);
                        data = &data[i + 1..];
                        message(&self.msg);
                        self.reset();
                    }
                    Some(i) => {
                        dropped += 1;
                        data = &data[i + 1..];
                        self.reset();
                    }
                    None if self.msg.len() + data.len() <= MAX_LINE_BYTES => {
                        self.msg.extend_from_slice(data);
                        data = &[];
                    }
                    None => {
                        dropped += 1;
                        data = &[];
                        self.msg = Vec::new();
                        self.state = State::SkipLine;
                    }
                },
                State::SkipLine => match memchr::memchr(b'\n', data) {
                    Some(i) => {
                        data = &data[i + 1..];
                        self.reset();
                    }
                    None => data = &[],
                },
            }
        }
        dropped
    }

    /// The connection closed: an unterminated newline-framed message is
    /// still one (a truncated framed one is not).
    pub(crate) fn finish(&mut self, mut message: impl FnMut(&[u8])) {
        if matches!(self.state, State::Line) && !self.msg.is_empty() {
            message(&self.msg);
        }
        self.reset();
    }

    fn reset(&mut self) {
        self.state = State::Start;
        if self.msg.capacity() > 64 * 1024 {
            self.msg = Vec::new();
        }
        self.msg.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(pieces: &[&[u8]]) -> (Vec<String>, u64) {
        let mut f = Framer::default();
        let mut out = Vec::new();
        let mut dropped = 0;
        for p in pieces {
            dropped += f.push(p, |m| out.push(String::from_utf8_lossy(m).into_owned()));
        }
        f.finish(|m| out.push(String::from_utf8_lossy(m).into_owned()));
        (out, dropped)
    }

    #[test]
    fn both_framings_in_any_pieces() {
        let data = b"11 <13>a\nb c d<13>line one\n5 <1>xy<13>tail";
        for size in [1, 2, 5, 100] {
            let pieces: Vec<&[u8]> = data.chunks(size).collect();
            let (got, dropped) = frames(&pieces);
            assert_eq!(
                got,
                ["<13>a\nb c d", "<13>line one", "<1>xy", "<13>tail"],
                "{size}"
            );
            assert_eq!(dropped, 0);
        }
    }

    #[test]
    fn overlong_messages_are_skipped_and_counted() {
        let big = MAX_LINE_BYTES + 10;
        let mut data = format!("{big} ").into_bytes();
        data.extend(std::iter::repeat_n(b'x', big));
        data.extend_from_slice(b"<1>ok\n<2>");
        data.extend(std::iter::repeat_n(b'y', big));
        data.extend_from_slice(b"\n3 <3>");
        let (got, dropped) = frames(&[&data[..1000], &data[1000..]]);
        assert_eq!(got, ["<1>ok", "<3>"]);
        assert_eq!(dropped, 2);
    }
}
