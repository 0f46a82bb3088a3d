//! What a template found on the last line it matched, reused when the
//! next line's date text is the same.
//!
//! # Why
//!
//! A syslog file dates many lines in a row with the same second (seven
//! lines in ten on a busy auth.log), and every line pays for the template's
//! group spans (a capture search) and for reading them into an instant.
//! Finding where the match lies is far cheaper (one DFA pass). When the
//! match covers the same text as last time, with the same surroundings, the
//! capture engine would find the same spans, and with the same `now` the
//! same instant follows.
//!
//! # Why it is exact
//!
//! The `regex` crate finds group spans by searching again inside the span
//! of the match it found first; that search reads the text of the span and,
//! for assertions at its edges (`^`, `$`, `\b`), at most one character on
//! each side, and whether the span touches the ends of the text. The memo
//! keeps four bytes (a whole character) on each side and those two facts,
//! and is used only when all of them are equal. The instant depends on the
//! groups' texts, which lie inside the span, and on `now` (missing years
//! and days are inferred from it); the template and zones are fixed for
//! the memo's life (it is dropped when they change).

use jiff::Timestamp;

/// Bytes of context kept on each side of the match: a UTF-8 character.
const CONTEXT: usize = 4;

/// The last match of one template.
#[derive(Clone, Debug, Default)]
pub(crate) struct Memo {
    /// The match with up to `CONTEXT` bytes on each side.
    window: String,
    /// Where the match starts in `window`, and its length.
    lead: usize,
    len: usize,
    /// Whether `window` begins at the start / ends at the end of the text.
    at_start: bool,
    at_end: bool,
    /// Group spans, relative to the match start.
    spans: Vec<Option<(usize, usize)>>,
    /// The instant read from them, for a `now`.
    time: Option<(Timestamp, Option<Timestamp>)>,
}

/// The window of a match `start..end` in `text`: (from, to).
fn window(text: &str, start: usize, end: usize) -> (usize, usize) {
    let mut from = start.saturating_sub(CONTEXT);
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    let mut to = (end + CONTEXT).min(text.len());
    while !text.is_char_boundary(to) {
        to += 1;
    }
    (from, to)
}

impl Memo {
    /// Remembers the spans found for the match `start..end` of `text`.
    pub fn new(text: &str, start: usize, end: usize, spans: &[Option<(usize, usize)>]) -> Memo {
        let (from, to) = window(text, start, end);
        Memo {
            window: text[from..to].to_owned(),
            lead: start - from,
            len: end - start,
            at_start: from == 0,
            at_end: to == text.len(),
            spans: spans
                .iter()
                .map(|s| s.map(|(a, b)| (a - start, b - start)))
                .collect(),
            time: None,
        }
    }

    /// The spans for the match `start..end` of `text`, if the search that
    /// found the remembered ones would find the same (shifted) there.
    pub fn spans(
        &self,
        text: &str,
        start: usize,
        end: usize,
    ) -> Option<Vec<Option<(usize, usize)>>> {
        let (from, to) = window(text, start, end);
        let same = end - start == self.len
            && start - from == self.lead
            && (from == 0) == self.at_start
            && (to == text.len()) == self.at_end
            && text[from..to] == self.window;
        same.then(|| {
            self.spans
                .iter()
                .map(|s| s.map(|(a, b)| (a + start, b + start)))
                .collect()
        })
    }

    /// The instant read from the match `start..end` of `line` with these
    /// `spans`, if it was read before for this `now`.
    pub fn time(
        &self,
        line: &str,
        start: usize,
        spans: &[Option<(usize, usize)>],
        now: Timestamp,
    ) -> Option<Option<Timestamp>> {
        let (at, time) = self.time?;
        (at == now && self.covers(line, start, spans)).then_some(time)
    }

    /// Remembers the instant read for `now`, when the memo is about this
    /// match.
    pub fn set_time(
        &mut self,
        line: &str,
        start: usize,
        spans: &[Option<(usize, usize)>],
        now: Timestamp,
        time: Option<Timestamp>,
    ) {
        if self.covers(line, start, spans) {
            self.time = Some((now, time));
        }
    }

    /// Whether the match at `start` with `spans` has the remembered text
    /// and group spans (then its groups' texts are the remembered ones).
    fn covers(&self, line: &str, start: usize, spans: &[Option<(usize, usize)>]) -> bool {
        let text = self.window.get(self.lead..self.lead + self.len);
        text.is_some()
            && line.get(start..start + self.len) == text
            && spans.len() == self.spans.len()
            && spans
                .iter()
                .zip(&self.spans)
                .all(|(s, m)| s.map(|(a, b)| (a.wrapping_sub(start), b.wrapping_sub(start))) == *m)
    }
}
