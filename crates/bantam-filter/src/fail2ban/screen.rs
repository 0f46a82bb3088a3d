//! One linear pass over a buffer that rules out most of a filter's rules
//! before any of them is searched for real.
//!
//! # Why
//!
//! A filter like sshd has some twenty failregexes, and almost every log
//! line matches none of them. Searching each in turn (with captures, some
//! with the backtracker) cost most of the time per line. A `RegexSet` of
//! each rule's linear screen ([`PyRegex::screen_pattern`], a pattern that
//! matches every text the rule matches, and possibly more) says in one pass
//! which rules might match; only those are searched. Because each screen
//! matches a superset, skipping the others changes no result.
//!
//! The set gets a larger lazy-DFA cache than the `regex` default: with
//! sshd's 33 rules (`mode = aggressive`) the default one filled up, and
//! the set fell back to the PikeVM, several times slower than no set.
//!
//! A rule without a linear screen is always searched. If the set does not
//! compile (too large), every rule is searched, as before.
//!
//! There are two sets, built on first use: one of the screens written for
//! ASCII texts (most log lines), which compiles several times faster than
//! the one for any text, built only when a line that is not ASCII comes.

use std::sync::OnceLock;

use regex::{RegexSet, SetMatches};

use super::regex::Rule;

/// Which rules of a list might match a text.
#[derive(Clone, Debug)]
pub struct Screen {
    /// The screens for any text and for ASCII texts, in slot order.
    patterns: Vec<String>,
    ascii_patterns: Vec<String>,
    set: OnceLock<Option<RegexSet>>,
    ascii_set: OnceLock<Option<RegexSet>>,
    /// Per rule: its index in the sets, or `None` if it has no screen.
    slots: Vec<Option<usize>>,
}

/// The rules of a list that might match one text.
#[derive(Clone, Debug)]
pub struct Candidates {
    /// Which set patterns matched; `None` when there is no set.
    matched: Option<SetMatches>,
}

impl Screen {
    /// A screen for `rules`, in their order.
    pub fn new(rules: &[Rule]) -> Screen {
        let mut patterns = Vec::new();
        let mut ascii_patterns = Vec::new();
        let mut slots = Vec::with_capacity(rules.len());
        for rule in rules {
            match (rule.screen_pattern(), rule.ascii_screen_pattern()) {
                (Some(p), Some(a)) => {
                    slots.push(Some(patterns.len()));
                    patterns.push(p.to_owned());
                    ascii_patterns.push(a.to_owned());
                }
                _ => slots.push(None),
            }
        }
        Screen {
            patterns,
            ascii_patterns,
            set: OnceLock::new(),
            ascii_set: OnceLock::new(),
            slots,
        }
    }

    fn build(patterns: &[String]) -> Option<RegexSet> {
        if patterns.is_empty() {
            return None;
        }
        regex::RegexSetBuilder::new(patterns)
            .dfa_size_limit(8 << 20)
            .build()
            .ok()
    }

    /// Which rules might match `text`.
    pub fn candidates(&self, text: &str) -> Candidates {
        let set = if text.is_ascii() {
            self.ascii_set
                .get_or_init(|| Screen::build(&self.ascii_patterns))
        } else {
            self.set.get_or_init(|| Screen::build(&self.patterns))
        };
        Candidates {
            matched: set.as_ref().map(|set| set.matches(text)),
        }
    }

    /// Whether rule `rule` might match the text `c` was made for.
    pub fn may_match(&self, c: &Candidates, rule: usize) -> bool {
        match (self.slots.get(rule).copied().flatten(), &c.matched) {
            (Some(slot), Some(m)) => m.matched(slot),
            // No screen for the rule, or no set (it did not compile).
            _ => true,
        }
    }
}
