//! A literal scan that tells, before any regex runs, that no failregex can
//! match a line.
//!
//! # Why
//!
//! Most log lines match no failregex, yet each still cost a `prefregex`
//! search with captures (to cut out its `<F-CONTENT>`) and a look at every
//! rule. Every match of a rule holds one literal of a finite set whenever
//! the regex syntax can say so: a needle (see `python::needles`), or else
//! one of the literals its matches start with (`^Failed ` → `Failed `).
//! Such a literal lies inside the text the rule searched, which is the
//! line's text or a `prefregex` content cut from it. So a line that holds
//! no literal of any failregex's set cannot match one, and can be dropped
//! at the cost of one scan.
//!
//! A rule's longest needle is preferred to its first words when it is the
//! longer: sshd's `pam_[a-z]+\(sshd:auth\)` rule begins with `pam_`, which
//! every cron and sudo session line holds too, but needs `authentication
//! failure;`.
//!
//! The scan is a `regex-automata` prefilter (Teddy over the literals): it
//! may report a literal where there is none, never the reverse, and that
//! is all a gate needs; a `regex` of the literals, which confirmed each
//! candidate with a lazy DFA, cost twice as much a line.
//!
//! The gate is built only when every failregex has such a set (no empty
//! literal, none holding `\n`: the buffer text ends with a `\n` that a
//! content does not carry), and used only with `maxlines` = 1, where a line
//! that matches nothing leaves no state behind.

use regex_automata::util::prefilter::Prefilter;
use regex_automata::{MatchKind, Span};
use regex_syntax::hir::literal::{ExtractKind, Extractor};

use super::regex::Rule;

/// A scan for the literals one of which every failregex match holds.
#[derive(Clone, Debug)]
pub struct LiteralGate {
    pre: Prefilter,
}

/// The literals one of which every match of `rule` holds, if known: the
/// literals its matches start with, or its longest needle when that is
/// longer than the shortest of those (a long literal is in fewer lines).
fn literals_of(rule: &Rule) -> Option<Vec<Vec<u8>>> {
    let screen = rule.screen_pattern()?;
    let hir = regex_syntax::Parser::new().parse(screen).ok()?;
    let seq = Extractor::new().kind(ExtractKind::Prefix).extract(&hir);
    let starts: Option<Vec<Vec<u8>>> = seq
        .literals()
        .map(|ls| ls.iter().map(|l| l.as_bytes().to_vec()).collect());
    let shortest = starts
        .as_ref()
        .and_then(|s| s.iter().map(Vec::len).min())
        .unwrap_or(0);
    match rule.needles() {
        Some(n) if n.longest().len() > shortest => Some(vec![n.longest().to_vec()]),
        _ => starts,
    }
}

impl LiteralGate {
    /// The gate for `rules`, or `None` when some rule has no usable
    /// literal set (then every line goes through the regexes).
    pub fn new(rules: &[Rule]) -> Option<LiteralGate> {
        let mut all = Vec::new();
        for rule in rules {
            for lit in literals_of(rule)? {
                if lit.is_empty() || lit.contains(&b'\n') {
                    return None;
                }
                all.push(lit);
            }
        }
        if all.is_empty() {
            return None;
        }
        all.sort();
        all.dedup();
        let pre = Prefilter::new(MatchKind::LeftmostFirst, &all)?;
        Some(LiteralGate { pre })
    }

    /// Whether some failregex might match in `text`.
    pub fn may_match(&self, text: &str) -> bool {
        let span = Span::from(0..text.len());
        self.pre.find(text.as_bytes(), span).is_some()
    }
}
