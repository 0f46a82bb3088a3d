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
//! its Python syntax tree (see `ast`): runs of literal characters in a
//! concatenation, in a group, and in a repetition that must run at least
//! once. Alternations, optional parts, look-arounds, conditionals and
//! case-insensitive parts give none. Every match lies inside the text
//! searched, so a text without the needle holds no match, and not
//! searching it changes no answer.
//!
//! The tree, not the `regex-syntax` one of a translation: parsing the
//! translations (Unicode classes of hundreds of ranges) cost a filter's
//! start some 50 million instructions.

use memchr::memmem::Finder;

use super::ast::Node;

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
    /// The needles of a parsed pattern, or `None` when it has none worth
    /// looking for.
    pub(crate) fn of(node: &Node, ignore_case: bool) -> Option<Needles> {
        let mut literals = Vec::new();
        required(node, ignore_case, &mut literals);
        literals.retain(|l| l.len() >= MIN_LEN);
        let mut kept: Vec<String> = Vec::new();
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
                .map(|l| Finder::new(l.as_bytes()).into_owned())
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

/// Appends the literals every match of `node` holds, in pattern order;
/// `icase`: the node is matched without regard to case (no literal).
fn required(node: &Node, icase: bool, out: &mut Vec<String>) {
    match node {
        Node::Literal(c) if !icase => out.push(c.to_string()),
        Node::Group {
            body, ignore_case, ..
        } => required(body, ignore_case.unwrap_or(icase), out),
        Node::Atomic(body) => required(body, icase, out),
        Node::Repeat { body, min, .. } if *min > 0 => required(body, icase, out),
        Node::Concat(items) => concat(items, icase, out),
        _ => {}
    }
}

/// The literals of a concatenation: a run of literal characters is one.
fn concat(items: &[Node], icase: bool, out: &mut Vec<String>) {
    let mut run = String::new();
    for item in items {
        match item {
            Node::Literal(c) if !icase => run.push(*c),
            _ => {
                if !run.is_empty() {
                    out.push(std::mem::take(&mut run));
                }
                required(item, icase, out);
            }
        }
    }
    if !run.is_empty() {
        out.push(run);
    }
}

#[cfg(test)]
mod tests {
    use super::Needles;
    use crate::python::{parse, PyFlags};

    fn of(pattern: &str) -> Option<Needles> {
        let parsed = parse::parse(pattern, PyFlags::default()).expect("parses");
        Needles::of(&parsed.node, parsed.ignore_case)
    }

    fn needles(pattern: &str) -> Vec<String> {
        of(pattern).map_or_else(Vec::new, |n| {
            n.finders
                .iter()
                .map(|f| String::from_utf8_lossy(f.needle()).into_owned())
                .collect()
        })
    }

    #[test]
    fn only_literals_every_match_holds() {
        let auth = r"^Received (\S+) from \S+:\s*3: .*: Auth fail";
        assert_eq!(needles(auth), [": Auth fail", "3: ", " from "]);
        assert_eq!(needles(r"a(?:bcd|efg)h"), Vec::<String>::new());
        assert_eq!(needles(r"(?:port \d+)?x"), Vec::<String>::new());
        assert_eq!(needles(r"(?:port \d+)+x"), ["port "]);
        assert_eq!(needles(r"(?i)failed"), Vec::<String>::new());
        assert_eq!(needles(r"ab(?i:cd)ef"), ["ef", "ab"]);
        assert_eq!(needles(r"(?=from )(x)(?(1)yy|zz)"), Vec::<String>::new());
        assert_eq!(needles(r"ab(x)ab(y)ab"), ["ab"]);
    }

    #[test]
    fn texts_without_a_needle_are_ruled_out() {
        let n = of(r"^Failed \S+ for (\S+): ").expect("needles");
        assert!(n.all_in(b"Failed password for root: x\n"));
        assert!(!n.all_in(b"Failed password for root from 192.0.2.7\n"));
    }
}
