//! The literals a rule's match must start with, checked at the start of
//! the text before the rule is searched.
//!
//! # Why
//!
//! fail2ban's rules are anchored (`^Failed …`, `^pam_[a-z]+\(sshd:auth\)`)
//! and mostly begin with words that tell them apart. Which rules might
//! match a line's text used to be decided by one pass of a `RegexSet` of
//! every rule's screen: a lazy DFA tracking some twenty patterns at once
//! over the whole text, about a third of the time per line once the
//! group spans got cheap. Comparing a few bytes at the text start rules
//! out nearly as many: of sshd's rules, a line's first words leave one,
//! sometimes two, and searching the one that then fails costs less than
//! the set did.
//!
//! # Why it is exact
//!
//! A rule is skipped only when its screen (a pattern that matches every
//! text the rule matches) can match only at the text start (`\A`) and
//! none of the literals every match of the screen begins with (as
//! `regex-syntax` extracts them) is there. A rule without such a set is
//! always searched. The `RegexSet` screen stays for filters where some
//! rule has none.

use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::Look;

use super::regex::Rule;

/// Per rule, the literals its matches start with.
#[derive(Clone, Debug)]
pub struct Openers {
    /// `None`: the rule has no usable set and is always searched.
    rules: Vec<Option<Vec<Box<[u8]>>>>,
}

/// The literals every match of `pattern` starts with at the text start,
/// if it can match only there and the set is finite and none is empty.
fn openers_of(pattern: &str) -> Option<Vec<Box<[u8]>>> {
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    if !hir.properties().look_set_prefix().contains(Look::Start) {
        return None;
    }
    let seq = Extractor::new().kind(ExtractKind::Prefix).extract(&hir);
    let literals = seq.literals()?;
    if literals.is_empty() || literals.iter().any(|l| l.as_bytes().is_empty()) {
        return None;
    }
    Some(literals.iter().map(|l| Box::from(l.as_bytes())).collect())
}

impl Openers {
    pub fn new(rules: &[Rule]) -> Openers {
        Openers {
            rules: rules
                .iter()
                .map(|r| r.screen_pattern().and_then(openers_of))
                .collect(),
        }
    }

    /// Whether every rule has a set: then no other screen is needed.
    pub fn complete(&self) -> bool {
        self.rules.iter().all(Option::is_some)
    }

    /// Whether rule `rule` might match `text`.
    pub fn may_match(&self, rule: usize, text: &str) -> bool {
        let Some(Some(literals)) = self.rules.get(rule) else {
            return true;
        };
        let text = text.as_bytes();
        let Some(&first) = text.first() else {
            return false;
        };
        // The first byte rules out most literals without a call to `bcmp`.
        literals
            .iter()
            .any(|l| l[0] == first && text.starts_with(l))
    }
}

#[cfg(test)]
mod tests {
    use super::openers_of;

    #[test]
    fn only_patterns_anchored_at_the_text_start_have_openers() {
        let lits = |p| openers_of(p).map(|v| v.len());
        assert_eq!(lits(r"\AFailed (\S+) for"), Some(1));
        assert_eq!(lits(r"\A(?:Accepted|Failed) x"), Some(2));
        assert_eq!(lits(r"Failed (\S+)"), None);
        assert_eq!(lits(r"(?m:^)Failed"), None);
        assert_eq!(lits(r"\A\S+ from"), None);
        assert_eq!(lits(r"\A(?:x|)y"), Some(2));
        assert_eq!(lits(r"\A(?:x)?"), None);
    }
}
