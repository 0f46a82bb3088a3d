//! A literal scan that tells, before any regex runs, that no failregex can
//! match a line.
//!
//! # Why
//!
//! Most log lines match no failregex, yet each still cost a `prefregex`
//! search with captures (to cut out its `<F-CONTENT>`) and a pass of the
//! [`super::screen::Screen`]. Every match of a rule begins with one of a
//! finite set of literals whenever the regex syntax can say so (`^Failed `
//! → `Failed `); such a literal lies inside the text the rule searched,
//! which is the line's text or a `prefregex` content cut from it. So a line
//! that holds none of the literals of any failregex cannot match one, and
//! can be dropped at the cost of one literal scan.
//!
//! The gate is built only when every failregex has such a set (no empty
//! literal, none holding `\n`: the buffer text ends with a `\n` that a
//! content does not carry), and used only with `maxlines` = 1, where a line
//! that matches nothing leaves no state behind.

use regex::bytes::Regex;
use regex_syntax::hir::literal::{ExtractKind, Extractor};

use super::regex::Rule;

/// A scan for the literals one of which every failregex match starts with.
#[derive(Clone, Debug)]
pub struct LiteralGate {
    re: Regex,
}

impl LiteralGate {
    /// The gate for `rules`, or `None` when some rule has no usable
    /// literal set (then every line goes through the regexes).
    pub fn new(rules: &[Rule]) -> Option<LiteralGate> {
        let mut alternatives = Vec::new();
        for rule in rules {
            let hir = regex_syntax::Parser::new()
                .parse(rule.screen_pattern()?)
                .ok()?;
            let seq = Extractor::new().kind(ExtractKind::Prefix).extract(&hir);
            for lit in seq.literals()? {
                let bytes = lit.as_bytes();
                if bytes.is_empty() || bytes.contains(&b'\n') {
                    return None;
                }
                let escaped: String = bytes.iter().map(|b| format!("\\x{b:02x}")).collect();
                alternatives.push(escaped);
            }
        }
        if alternatives.is_empty() {
            return None;
        }
        alternatives.sort();
        alternatives.dedup();
        let pattern = format!("(?-u:{})", alternatives.join("|"));
        Regex::new(&pattern).ok().map(|re| LiteralGate { re })
    }

    /// Whether some failregex might match in `text`.
    pub fn may_match(&self, text: &str) -> bool {
        self.re.is_match(text.as_bytes())
    }
}
