//! The journal export format (`journalctl -o export`), parsed as a stream.
//!
//! An entry is a run of fields ended by an empty line. A field is either
//! `NAME=value\n` (text without a newline) or `NAME\n`, a 64-bit
//! little-endian length, that many bytes (anything, newlines included), and
//! `\n`. See systemd's JOURNAL_EXPORT_FORMATS.
//!
//! Memory is bounded whatever the input: a value longer than its limit is
//! not kept (a binary one is skipped by its length, a text one up to its
//! newline), and the entry is marked as having lost it. Bytes are only
//! taken from the caller's buffer once they are used, so the parser can be
//! fed arbitrary pieces.

use crate::batch::MAX_LINE_BYTES;

/// Values kept for fields other than `MESSAGE`; longer ones are dropped
/// (no filter needs a kilobyte of `_CMDLINE`).
const FIELD_LIMIT: usize = 1024;
/// A field name is at most 64 bytes in the journal; a "name" line longer
/// than this is garbage.
const NAME_LIMIT: usize = 256;

/// One journal entry as exported.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) fields: Vec<(Box<str>, Vec<u8>)>,
    /// Some field was too long to keep (`MESSAGE` over [`MAX_LINE_BYTES`]).
    pub(crate) lost_message: bool,
}

impl Entry {
    pub(crate) fn get(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(k, _)| &**k == name)
            .map(|(_, v)| v.as_slice())
    }

    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| std::str::from_utf8(v).ok())
    }
}

#[derive(Debug, Default)]
enum State {
    /// At the start of a field or of the empty line ending the entry.
    #[default]
    Field,
    /// A binary field's value: `left` bytes, then `'\n'`; kept unless
    /// too long.
    Binary {
        name: Box<str>,
        left: u64,
        keep: Option<Vec<u8>>,
    },
    /// Discarding a text line too long to keep, up to its `'\n'`.
    SkipLine,
}

/// The stream parser; see the module documentation.
#[derive(Debug, Default)]
pub(crate) struct ExportParser {
    state: State,
    entry: Entry,
}

fn limit_of(name: &str) -> usize {
    if name == "MESSAGE" {
        MAX_LINE_BYTES
    } else {
        FIELD_LIMIT
    }
}

impl ExportParser {
    /// Takes what it can from the front of `buf` (removing it) and appends
    /// every entry it completes to `out`. Bytes of an unfinished field stay
    /// in `buf` for the next call.
    pub(crate) fn feed(&mut self, buf: &mut Vec<u8>, out: &mut Vec<Entry>) {
        let mut at = 0;
        while at < buf.len() {
            match self.step(&buf[at..], out) {
                0 => break,
                n => at += n,
            }
        }
        buf.drain(..at);
    }

    /// One step on `data`; returns the bytes used, 0 when more input is
    /// needed.
    fn step(&mut self, data: &[u8], out: &mut Vec<Entry>) -> usize {
        match &mut self.state {
            State::SkipLine => match memchr::memchr(b'\n', data) {
                Some(i) => {
                    self.state = State::Field;
                    i + 1
                }
                None => data.len(),
            },
            State::Binary { left, keep, .. } => {
                if *left > 0 {
                    let n = (*left).min(data.len() as u64) as usize;
                    if let Some(v) = keep {
                        v.extend_from_slice(&data[..n]);
                    }
                    *left -= n as u64;
                    return n;
                }
                // The '\n' after the value.
                let State::Binary { name, keep, .. } = std::mem::take(&mut self.state) else {
                    unreachable!("matched above")
                };
                match keep {
                    Some(v) => self.entry.fields.push((name, v)),
                    None => self.lost(&name),
                }
                1
            }
            State::Field => self.field(data, out),
        }
    }

    fn field(&mut self, data: &[u8], out: &mut Vec<Entry>) -> usize {
        let Some(nl) = memchr::memchr(b'\n', data) else {
            // An over-long text line is skipped once it is clearly too
            // long; otherwise wait for the rest of it.
            if data.len() > MAX_LINE_BYTES + NAME_LIMIT {
                if let Some(eq) = memchr::memchr(b'=', &data[..NAME_LIMIT]) {
                    self.lost(&String::from_utf8_lossy(&data[..eq]));
                }
                self.state = State::SkipLine;
                return data.len();
            }
            return 0;
        };
        let line = &data[..nl];
        if line.is_empty() {
            if !self.entry.fields.is_empty() || self.entry.lost_message {
                out.push(std::mem::take(&mut self.entry));
            }
            return 1;
        }
        if let Some(eq) = memchr::memchr(b'=', line) {
            let name = String::from_utf8_lossy(&line[..eq]);
            let value = &line[eq + 1..];
            if value.len() > limit_of(&name) {
                self.lost(&name);
            } else {
                self.entry.fields.push((name.into(), value.to_vec()));
            }
            return nl + 1;
        }
        // A binary field: the name, then 8 bytes of length.
        if data.len() < nl + 1 + 8 {
            return 0;
        }
        let mut size = [0u8; 8];
        size.copy_from_slice(&data[nl + 1..nl + 9]);
        let left = u64::from_le_bytes(size);
        let name: Box<str> = String::from_utf8_lossy(line).into();
        let keep = (left <= limit_of(&name) as u64).then(|| Vec::with_capacity(left as usize));
        self.state = State::Binary { name, left, keep };
        nl + 9
    }

    fn lost(&mut self, name: &str) {
        if name == "MESSAGE" {
            self.entry.lost_message = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in_pieces(data: &[u8], piece: usize) -> Vec<Entry> {
        let mut parser = ExportParser::default();
        let mut buf = Vec::new();
        let mut out = Vec::new();
        for chunk in data.chunks(piece) {
            buf.extend_from_slice(chunk);
            parser.feed(&mut buf, &mut out);
        }
        out
    }

    fn export() -> Vec<u8> {
        let mut d = b"__CURSOR=s=1;i=1\nMESSAGE=one\n_PID=7\n\n".to_vec();
        d.extend_from_slice(b"__CURSOR=s=1;i=2\nMESSAGE\n");
        d.extend_from_slice(&10u64.to_le_bytes());
        d.extend_from_slice(b"two\nlines!\n_PID=8\n\n");
        d
    }

    #[test]
    fn text_and_binary_fields_in_any_pieces() {
        for piece in [1, 2, 3, 7, 1000] {
            let got = parse_in_pieces(&export(), piece);
            assert_eq!(got.len(), 2, "piece {piece}");
            assert_eq!(got[0].text("MESSAGE"), Some("one"));
            assert_eq!(got[0].text("_PID"), Some("7"));
            assert_eq!(got[1].get("MESSAGE"), Some(&b"two\nlines!"[..]));
            assert_eq!(got[1].text("__CURSOR"), Some("s=1;i=2"));
            assert_eq!(got[1].text("_PID"), Some("8"));
        }
    }

    #[test]
    fn overlong_values_are_not_kept() {
        let mut d = b"MESSAGE=".to_vec();
        d.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES + 1000));
        d.extend_from_slice(b"\n__CURSOR=c1\n\n_CMDLINE\n");
        d.extend_from_slice(&5000u64.to_le_bytes());
        d.extend(std::iter::repeat_n(b'\n', 5000));
        d.extend_from_slice(b"\nMESSAGE=ok\n__CURSOR=c2\n\n");
        for piece in [4096, 100_000] {
            let got = parse_in_pieces(&d, piece);
            assert_eq!(got.len(), 2);
            assert!(got[0].lost_message);
            assert_eq!(got[0].get("MESSAGE"), None);
            assert_eq!(got[0].text("__CURSOR"), Some("c1"));
            assert_eq!(got[1].get("_CMDLINE"), None);
            assert_eq!(got[1].text("MESSAGE"), Some("ok"));
        }
    }
}
