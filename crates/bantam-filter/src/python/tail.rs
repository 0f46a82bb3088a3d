//! Patterns that end in "the rest of the line": `X(.+)$`, as fail2ban's
//! `prefregex` ends in `<F-CONTENT>.+</F-CONTENT>$`.
//!
//! # Why
//!
//! Such a pattern matches nearly every line, and its last group spans most
//! of the line. The engines that find group spans (the bounded backtracker,
//! the PikeVM) walk the whole match, several steps per byte and per live
//! state, so the tail that says nothing more than "the rest" cost more than
//! the prefix that does the work. Where the text has no `\n` but perhaps a
//! final one, the tail's span follows from where `X` ends, and `X` can be
//! searched alone.
//!
//! # Why it is exact
//!
//! Let the text hold no `\n` except possibly its last byte, and let `L` be
//! its length without that byte. Non-DOTALL `.` cannot pass a `\n`, and
//! Python's `$` matches only at `L` or at the very end; so after `X` ends
//! at `p`, `.+$` succeeds iff `p < L`, and then its only match is `p..L`
//! (greedy or not, there is one way to reach `$`). `p < L` holds iff a
//! character that is not `\n` follows `p`. So `X(.+)$` matches exactly
//! where `X[^\n]` does, with the same start, and a backtracker (or the
//! leftmost-first engines that mirror one) tries the paths of `X` in the
//! same order in both, taking the first that the one-character test
//! accepts: the group spans inside `X` are the same. The group of the tail
//! is `p..L` and the match ends at `L`.

use super::ast::{Assert, Node, RepeatKind};
use super::engine::{Engine, Form};
use crate::python::parse;

/// `X(.+)$` searched as `X[^\n]`.
#[derive(Debug)]
pub(super) struct Tail {
    /// The index of the tail's group: the pattern's last one.
    group: usize,
    unicode: Form,
    ascii: Form,
}

/// The spans of a match, group index → byte range.
pub(super) type Spans = Vec<Option<(usize, usize)>>;

impl Tail {
    /// The split form of `parsed`, when it ends in a capturing `.+` (greedy,
    /// non-DOTALL) and Python's `$`, and the rest runs on the linear engine
    /// without a `$` of its own (whose meaning would depend on the text).
    pub(super) fn new(parsed: &parse::Parsed, pattern: &str) -> Option<Tail> {
        let Node::Concat(items) = &parsed.node else {
            return None;
        };
        let [head @ .., Node::Group {
            capture: Some(group),
            body,
            ..
        }, Node::Assert(Assert::End { multiline: false })] = items.as_slice()
        else {
            return None;
        };
        let rest_of_line = matches!(
            body.as_ref(),
            Node::Repeat { body, min: 1, max: None, kind: RepeatKind::Greedy }
                if **body == Node::Dot { dotall: false }
        );
        let mut head = head.to_vec();
        head.push(Node::Dot { dotall: false });
        let head = Node::Concat(head);
        if !rest_of_line
            || head.needs_backtracking()
            || head.has_python_dollar()
            || head.has_not_word_boundary()
        {
            return None;
        }
        let form = |ascii| {
            let parsed = parse::Parsed {
                node: head.clone(),
                names: Vec::new(),
                ignore_case: parsed.ignore_case,
            };
            Form::lazy(pattern, parsed, ascii)
        };
        Some(Tail {
            group: *group,
            unicode: form(false),
            ascii: form(true),
        })
    }

    /// The match of the whole pattern in `text` from `start`, as spans;
    /// `None` when the text holds a `\n` before its last byte (then the
    /// pattern must be searched whole).
    pub(super) fn search(&self, text: &str, start: usize) -> Option<Option<Spans>> {
        let bytes = text.as_bytes();
        let end = match memchr::memchr(b'\n', bytes) {
            None => bytes.len(),
            Some(i) if i + 1 == bytes.len() => i,
            Some(_) => return None,
        };
        let engine = if text.is_ascii() {
            self.ascii.engine().or_else(|| self.unicode.engine())
        } else {
            self.unicode.engine()
        };
        // A form that did not compile: the whole pattern serves.
        let Some(Engine::Linear(re)) = engine else {
            return None;
        };
        let Some(mut spans) = re.captures_at(text, start, self.group + 1) else {
            return Some(None);
        };
        let (m_start, m_end) = spans.first().copied().flatten()?;
        // The match ends one character past `X`.
        let mut p = m_end - 1;
        while !text.is_char_boundary(p) {
            p -= 1;
        }
        spans[0] = Some((m_start, end));
        spans.resize(self.group + 1, None);
        spans[self.group] = Some((p, end));
        Some(Some(spans))
    }
}
