//! Patterns that are a choice of branches anchored at the text start, as
//! `linearize` writes a conditional: `\AFailed … : |\AFailed … $|…`.
//!
//! # Why
//!
//! The engines that find group spans try the branches in turn, and each
//! failing branch costs a walk of most of the line (fail2ban sshd's
//! "Failed password" rule is four copies of one long pattern, and the
//! common line matches the second). One DFA pass over all branches at once
//! (a `RegexSet`) says which match; only the first of those is then
//! searched for its spans, on an automaton a quarter of the size. Before
//! that pass, the branches whose needles (see `needles`) the text lacks
//! are set aside, and the first left is searched alone: the pass runs only
//! when that one fails and others are left. On sshd's "Failed" lines it
//! cost about 2,500 instructions, the needles about 150.
//!
//! # Why it is exact
//!
//! Every branch can match only at the start of the text, so every match
//! of the whole starts there, and a backtracker (which the leftmost-first
//! engines mirror) takes the first branch, in order, that matches at all:
//! its spans are the whole's. The set is built from each branch's linear
//! screen, which is exact for a text with no `\n` but perhaps a final one
//! (the `$` forms, see `translate::Dollar`); other texts, searches that
//! start past the text start, and branches that fail to compile take the
//! whole pattern. A branch set aside by its needles cannot match (see
//! `needles`), so the first branch that matches is among those left: the
//! first of them, if it matches, else one the set names.

use std::sync::OnceLock;

use regex::RegexSet;

use super::ast::{Assert, Node};
use super::engine::{run, Engine, Form, NoAnswer};
use super::needles::Needles;
use super::{parse, tail::Spans, LimitExceeded};

/// The branches of an anchored alternation, compiled on first use.
#[derive(Debug)]
pub(super) struct Branches {
    /// Per branch: the number of groups before it, and its two forms.
    branches: Vec<Branch>,
    /// Groups of the whole pattern, the whole match included.
    groups: usize,
    unicode_set: OnceLock<Option<RegexSet>>,
    ascii_set: OnceLock<Option<RegexSet>>,
}

#[derive(Debug)]
struct Branch {
    offset: usize,
    unicode: Form,
    ascii: Form,
    /// Literals its every match holds (see `needles`).
    needles: Option<Needles>,
}

impl Branch {
    fn form(&self, ascii: bool) -> &Form {
        if ascii {
            &self.ascii
        } else {
            &self.unicode
        }
    }
}

/// Whether `node` can match only at the start of the text.
fn anchored(node: &Node) -> bool {
    match node {
        Node::Assert(Assert::TextStart | Assert::Start { multiline: false }) => true,
        Node::Concat(items) => items.first().is_some_and(anchored),
        Node::Group { body, .. } => anchored(body),
        _ => false,
    }
}

/// How many capture groups `node` holds.
fn captures(node: &Node) -> usize {
    match node {
        Node::Group { capture, body, .. } => usize::from(capture.is_some()) + captures(body),
        Node::Look { body, .. } | Node::Atomic(body) | Node::Repeat { body, .. } => captures(body),
        Node::Cond { yes, no, .. } => captures(yes) + captures(no),
        Node::Concat(v) | Node::Alt(v) => v.iter().map(captures).sum(),
        _ => 0,
    }
}

impl Branches {
    /// The split form of `parsed`, if it is an alternation of linear
    /// branches that are all anchored at the text start.
    pub(super) fn new(parsed: &parse::Parsed, pattern: &str) -> Option<Branches> {
        let Node::Alt(alts) = &parsed.node else {
            return None;
        };
        if alts.len() < 2 || parsed.node.needs_backtracking() || !alts.iter().all(anchored) {
            return None;
        }
        let mut offset = 0;
        let mut branches = Vec::with_capacity(alts.len());
        for alt in alts {
            let form = |ascii| {
                let parsed = parse::Parsed {
                    node: alt.clone(),
                    names: Vec::new(),
                    ignore_case: parsed.ignore_case,
                };
                Form::lazy(pattern, parsed, ascii)
            };
            branches.push(Branch {
                offset,
                unicode: form(false),
                ascii: form(true),
                needles: Needles::of(alt, parsed.ignore_case),
            });
            offset += captures(alt);
        }
        Some(Branches {
            branches,
            groups: offset + 1,
            unicode_set: OnceLock::new(),
            ascii_set: OnceLock::new(),
        })
    }

    /// The match of the whole pattern, as spans in its numbering; `None`
    /// when this text or search needs the whole pattern.
    pub(super) fn search(
        &self,
        text: &str,
        start: usize,
    ) -> Option<Result<Option<Spans>, LimitExceeded>> {
        let bytes = text.as_bytes();
        let single_line = match memchr::memchr(b'\n', bytes) {
            None => true,
            Some(i) => i + 1 == bytes.len(),
        };
        if start != 0 || !single_line {
            return None;
        }
        let ascii = text.is_ascii();
        // Branches whose needles are missing cannot match. The first left
        // is searched alone, without the set's pass over the text: it is
        // the first in order that can match, so a match of its is the
        // whole's (sshd's "Failed" lines: the needles leave one branch, or
        // two, the first of which matches). The set decides only when it
        // fails and others are left.
        let mut left = self
            .branches
            .iter()
            .filter(|b| b.needles.as_ref().is_none_or(|n| n.all_in(bytes)));
        let Some(first) = left.next() else {
            return Some(Ok(None));
        };
        match self.first_left(first, text, ascii)? {
            Ok(None) if left.next().is_some() => {}
            found => return Some(found),
        }
        let set = if ascii {
            &self.ascii_set
        } else {
            &self.unicode_set
        };
        let form = |b| Branch::form(b, ascii);
        let set = set
            .get_or_init(|| {
                let screens: Option<Vec<&str>> = self
                    .branches
                    .iter()
                    .map(|b| form(b).engine().and_then(Engine::exact_screen))
                    .collect();
                RegexSet::new(screens?).ok()
            })
            .as_ref()?;
        let Some(first) = set.matches(text).iter().next() else {
            return Some(Ok(None));
        };
        let branch = &self.branches[first];
        let engine: &Engine = form(branch).engine()?;
        let found = match run(engine, text, 0) {
            Ok(Some(local)) => local,
            // Not expected after the set said it matches, or a form this
            // text needs is missing: the whole pattern decides.
            Ok(None) | Err(NoAnswer::Unavailable) => return None,
            Err(NoAnswer::Limit) => return Some(Err(LimitExceeded)),
        };
        Some(Ok(Some(self.whole_spans(branch, found))))
    }

    /// The match of `branch`, the first that can match; `None` when a
    /// form this text needs is missing (the whole pattern decides).
    fn first_left(
        &self,
        branch: &Branch,
        text: &str,
        ascii: bool,
    ) -> Option<Result<Option<Spans>, LimitExceeded>> {
        let engine: &Engine = branch.form(ascii).engine()?;
        match run(engine, text, 0) {
            Ok(found) => Some(Ok(found.map(|local| self.whole_spans(branch, local)))),
            Err(NoAnswer::Unavailable) => None,
            Err(NoAnswer::Limit) => Some(Err(LimitExceeded)),
        }
    }

    /// A branch's spans in the whole pattern's numbering.
    fn whole_spans(&self, branch: &Branch, found: Spans) -> Spans {
        let mut spans = vec![None; self.groups];
        spans[0] = local_whole(&found);
        for (j, span) in found.into_iter().enumerate().skip(1) {
            if let Some(slot) = spans.get_mut(branch.offset + j) {
                *slot = span;
            }
        }
        spans
    }
}

fn local_whole(spans: &Spans) -> Option<(usize, usize)> {
    spans.first().copied().flatten()
}
