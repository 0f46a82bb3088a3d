//! Group spans from the bounded backtracker alone, where the `regex`
//! crate would first run a lazy DFA.
//!
//! # Why
//!
//! The `regex` crate finds group spans in two passes: a lazy DFA finds the
//! bounds of the match, then the bounded backtracker walks that span for
//! the groups. Two callers know more than the DFA would tell:
//!
//! * fail2ban's rules are anchored (`^…`), a rule is searched for its
//!   groups only once the screen has said it matches, and its match spans
//!   nearly the whole text: the DFA pass cost about a thousand
//!   instructions a search and told the backtracker almost nothing.
//! * A date template that missed its memo has just been located by a DFA
//!   pass of its own (`date::matcher`): a second one is waste.
//!
//! # Why it is exact
//!
//! Both engines give leftmost-first spans, those of the path a backtracker
//! takes first. When every path of the pattern starts with `\A`, a match
//! can only start at the start of the search (or nowhere, past the text
//! start), so an anchored backtracking search from there finds the path
//! the two-pass search finds inside the span its DFA reported (the
//! backtracker reads look-around outside a span the same way). Given the
//! span of the leftmost-first match, an anchored search inside it is the
//! `regex` crate's own second pass. Texts too long for the backtracker's
//! visited set are left to the `regex` crate.
//!
//! On ASCII texts a plain backtracker over a program of the same pattern
//! (`backtrack`) answers first, several times faster; the bounded
//! backtracker serves the texts and patterns it refuses and the searches
//! that exceed its step budget.

use regex_automata::nfa::thompson::backtrack::{BoundedBacktracker, Cache};
use regex_automata::util::captures::Captures;
use regex_automata::util::pool::Pool;
use regex_automata::{Anchored, Input};

use super::backtrack::{self, Prog};
use super::tail::Spans;

type Scratch = (Cache, Captures, backtrack::Scratch);
type MakeScratch = Box<dyn Fn() -> Scratch + Send + Sync + std::panic::RefUnwindSafe>;

/// A bounded backtracker on a pattern, with a scratch pool (searches run
/// through `&self`, from any thread), and the faster program that answers
/// first on ASCII texts (see `backtrack`).
pub(crate) struct AnchoredSpans {
    prog: Option<Prog>,
    bt: BoundedBacktracker,
    scratch: Pool<Scratch, MakeScratch>,
}

impl std::fmt::Debug for AnchoredSpans {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnchoredSpans").finish_non_exhaustive()
    }
}

impl AnchoredSpans {
    /// The backtracker for `pattern` (regex-crate syntax, as the `regex`
    /// crate compiles it), or `None` when it does not compile.
    pub(crate) fn any(pattern: &str) -> Option<AnchoredSpans> {
        let bt = BoundedBacktracker::new(pattern).ok()?;
        let made = bt.clone();
        let make: MakeScratch = Box::new(move || {
            let scratch = backtrack::Scratch::default();
            (made.create_cache(), made.create_captures(), scratch)
        });
        Some(AnchoredSpans {
            prog: Prog::new(pattern),
            bt,
            scratch: Pool::new(make),
        })
    }

    /// [`AnchoredSpans::any`] for a pattern every path of which starts at
    /// the text start; `None` for others.
    pub(super) fn new(pattern: &str) -> Option<AnchoredSpans> {
        let spans = AnchoredSpans::any(pattern)?;
        spans
            .bt
            .get_nfa()
            .is_always_start_anchored()
            .then_some(spans)
    }

    /// The spans of the match at `start` (`Some(None)`: no match), or `None`
    /// when the text is too long for the backtracker; with room for at
    /// least `room` groups. Only for a pattern from [`AnchoredSpans::new`].
    pub(super) fn search(&self, text: &str, start: usize, room: usize) -> Option<Option<Spans>> {
        self.run(&Input::new(text).range(start..), room)
    }

    /// The spans of the leftmost-first match known to cover `start..end`
    /// exactly (found by the `regex` crate on this pattern and text), or
    /// `None` when the span is too long for the backtracker.
    pub(crate) fn within(
        &self,
        text: &str,
        start: usize,
        end: usize,
    ) -> Option<Vec<Option<(usize, usize)>>> {
        self.run(&Input::new(text).span(start..end), 0).flatten()
    }

    fn run(&self, input: &Input<'_>, room: usize) -> Option<Option<Spans>> {
        let mut guard = self.scratch.get();
        let (cache, caps, scratch) = &mut *guard;
        if let Some(prog) = &self.prog {
            let span = input.get_span();
            let hay = input.haystack();
            if let Some(found) = prog.search(scratch, hay, span.start, span.end, room) {
                return Some(found);
            }
        }
        if input.get_span().len() > self.bt.max_haystack_len() {
            return None;
        }
        let input = input.clone().anchored(Anchored::Yes);
        self.bt.try_search(cache, &input, caps).ok()?;
        if !caps.is_match() {
            return Some(None);
        }
        let groups = caps.group_len();
        let mut spans = Vec::with_capacity(groups.max(room));
        spans.extend((0..groups).map(|i| caps.get_group(i).map(|s| (s.start, s.end))));
        Some(Some(spans))
    }
}
