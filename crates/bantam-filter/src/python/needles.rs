//! Literals that every match of a pattern contains ("needles"), looked
//! for with `memmem` before the pattern is searched.
//!
//! # Why
//!
//! A search for group spans costs hundreds to thousands of instructions
//! even when it fails early: the engine is chosen, its scratch space
//! fetched, the text checked, the program started. Many searches that
//! fail could be told in advance: sshd's "Received disconnect … 3: …:
//! Auth fail" rule is tried on every "Received disconnect" line (most of
//! which say `11:`), and of the four branches of its "Failed" rule the
//! two that end in `: ` cannot match a line without one. A `memmem` scan
//! of a log line for a literal costs a few dozen instructions.
//!
//! # Why it is exact
//!
//! A needle is a literal that every match of the pattern holds, read off
//! its syntax tree: the literals of a concatenation, of a capture group,
//! and of a repetition that must run at least once. (Alternations and
//! optional parts give none.) Every match lies inside the text searched,
//! so a text without the needle holds no match, and not searching it
//! changes no answer. For a pattern that matches a superset of another's
//! texts (a rule's screen), its needles are the other's too.

use memchr::memmem::Finder;
use regex_syntax::hir::{Hir, HirKind};

/// Needles checked at most: each costs a scan of the text. The last ones
/// of a pattern are taken: its first words are most often checked already
/// (see `fail2ban::openers`), and its last tell rules apart.
const MAX_NEEDLES: usize = 3;

/// Shorter literals are in nearly every line: not worth a scan.
const MIN_LEN: usize = 2;

/// The needles of one pattern.
#[derive(Clone, Debug)]
pub(crate) struct Needles {
    finders: Vec<Finder<'static>>,
}

impl Needles {
    /// The needles of `pattern` (the `regex` crate's syntax), or `None`
    /// when it has none worth looking for (or does not parse).
    pub(crate) fn of(pattern: &str) -> Option<Needles> {
        let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
        let mut literals = Vec::new();
        required(&hir, &mut literals);
        literals.retain(|l| l.len() >= MIN_LEN);
        let mut kept: Vec<Vec<u8>> = Vec::new();
        for l in literals.into_iter().rev() {
            if kept.len() < MAX_NEEDLES && !kept.contains(&l) {
                kept.push(l);
            }
        }
        if kept.is_empty() {
            return None;
        }
        Some(Needles {
            finders: kept
                .iter()
                .map(|l| Finder::new(l.as_slice()).into_owned())
                .collect(),
        })
    }

    /// The longest needle: in the fewest texts, as a rule.
    pub(crate) fn longest(&self) -> &[u8] {
        self.finders
            .iter()
            .map(Finder::needle)
            .max_by_key(|n| n.len())
            .unwrap_or_default()
    }

    /// Whether `text` holds every needle (else no match can be in it).
    pub(crate) fn all_in(&self, text: &[u8]) -> bool {
        self.finders.iter().all(|f| f.find(text).is_some())
    }
}

/// Appends literals that every match of `hir` contains.
fn required(hir: &Hir, out: &mut Vec<Vec<u8>>) {
    match hir.kind() {
        // Adjacent literals of a concatenation are one literal here
        // (`Hir::concat` joins them).
        HirKind::Literal(lit) => out.push(lit.0.to_vec()),
        HirKind::Capture(cap) => required(&cap.sub, out),
        HirKind::Repetition(rep) if rep.min > 0 => required(&rep.sub, out),
        HirKind::Concat(items) => items.iter().for_each(|item| required(item, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::Needles;

    fn needles(pattern: &str) -> Vec<String> {
        Needles::of(pattern).map_or_else(Vec::new, |n| {
            n.finders
                .iter()
                .map(|f| String::from_utf8_lossy(f.needle()).into_owned())
                .collect()
        })
    }

    #[test]
    fn only_literals_every_match_holds() {
        let auth = r"\AReceived (\S+) from \S+:\s*3: .*: Auth fail";
        assert_eq!(needles(auth), [": Auth fail", "3: ", " from "]);
        assert_eq!(needles(r"a(?:bcd|efg)h"), Vec::<String>::new());
        assert_eq!(needles(r"(?:port \d+)?x"), Vec::<String>::new());
        assert_eq!(needles(r"(?:port \d+)+x"), ["port "]);
        assert_eq!(needles(r"(?i)failed"), Vec::<String>::new());
        assert_eq!(needles(r"ab(x)ab(y)ab"), ["ab"]);
    }

    #[test]
    fn texts_without_a_needle_are_ruled_out() {
        let n = Needles::of(r"\AFailed \S+ for (\S+): ").expect("needles");
        assert!(n.all_in(b"Failed password for root: x\n"));
        assert!(!n.all_in(b"Failed password for root from 192.0.2.7\n"));
    }
}
