//! A compiled list of rules: one multi-pattern pass decides which rules can
//! match a line, and only the first of those runs again for its captures.
//!
//! The set is a `regex::bytes::RegexSet`: a lazy DFA over all rules at once,
//! linear in the line's length whatever the rules or the input. Lines that
//! match nothing, by far the most common case, cost that single pass.

use regex::bytes::{CaptureLocations, Regex, RegexBuilder, RegexSet, RegexSetBuilder};

use crate::error::FilterError;
use crate::tags::{self, Role, TagOptions};

/// Compiled-size ceilings. Rules are written by administrators, but a
/// careless `\w{1000}` should fail loudly at load, not eat memory.
const SIZE_LIMIT: usize = 64 << 20;
const DFA_SIZE_LIMIT: usize = 64 << 20;

/// One rule after tag expansion.
#[derive(Clone, Debug)]
pub(crate) struct Rule {
    /// The pattern as written, for messages and statistics.
    pub source: String,
    pub regex: Regex,
    /// Capture group index → meaning, for the groups that have one.
    pub roles: Vec<(usize, Role)>,
}

impl Rule {
    pub fn has_role(&self, wanted: impl Fn(&Role) -> bool) -> bool {
        self.roles.iter().any(|(_, role)| wanted(role))
    }
}

/// Rules of one kind (failure or ignore), in order.
#[derive(Clone, Debug)]
pub(crate) struct RuleSet {
    set: RegexSet,
    pub rules: Vec<Rule>,
}

fn builder_regex(pattern: &str) -> RegexBuilder {
    let mut b = RegexBuilder::new(pattern);
    // Logs are bytes: ASCII classes and a `.` that matches any byte keep the
    // DFA small and let invalid UTF-8 match like any other text.
    b.unicode(false)
        .size_limit(SIZE_LIMIT)
        .dfa_size_limit(DFA_SIZE_LIMIT);
    b
}

impl RuleSet {
    /// Compiles `patterns` (already prefixed, tags not yet expanded). `what`
    /// names the kind of rule in errors ("failregex", "ignoreregex").
    pub fn compile(
        what: &str,
        patterns: &[String],
        options: TagOptions,
    ) -> Result<RuleSet, FilterError> {
        let mut rules = Vec::with_capacity(patterns.len());
        let mut expanded = Vec::with_capacity(patterns.len());
        for (index, pattern) in patterns.iter().enumerate() {
            let label = format!("{what} #{} ", index + 1);
            let text = tags::expand(pattern, options)?;
            let regex = builder_regex(&text)
                .build()
                .map_err(|source| FilterError::Regex {
                    what: label.trim_end().to_owned(),
                    pattern: pattern.clone(),
                    reason: crate::error::regex_reason(&source),
                })?;
            let roles = regex
                .capture_names()
                .enumerate()
                .filter_map(|(i, name)| name.map(|n| (i, Role::from_group_name(n))))
                .collect();
            rules.push(Rule {
                source: pattern.clone(),
                regex,
                roles,
            });
            expanded.push(text);
        }
        let set = RegexSetBuilder::new(&expanded)
            .unicode(false)
            .size_limit(SIZE_LIMIT)
            .dfa_size_limit(DFA_SIZE_LIMIT)
            .build()
            .map_err(|source| FilterError::Regex {
                what: format!("the {what} set"),
                pattern: String::new(),
                reason: crate::error::regex_reason(&source),
            })?;
        Ok(RuleSet { set, rules })
    }

    /// The first rule, in order, that matches `text`.
    pub fn first_match(&self, text: &[u8]) -> Option<usize> {
        if self.rules.is_empty() {
            return None;
        }
        // One rule needs no set, and `is_match` can stop early where the
        // set must look for every rule.
        if self.rules.len() == 1 {
            return self.rules[0].regex.is_match(text).then_some(0);
        }
        self.set.matches(text).iter().next()
    }

    /// Capture slots sized for every rule in the set, to reuse across lines.
    pub fn capture_slots(&self) -> Vec<CaptureLocations> {
        self.rules
            .iter()
            .map(|r| r.regex.capture_locations())
            .collect()
    }
}
