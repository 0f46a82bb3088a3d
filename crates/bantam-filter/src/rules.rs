//! A compiled list of rules, searched as one multi-pattern regex.
//!
//! One `regex_automata::meta::Regex` holds every rule of a kind. A single
//! search per line runs a lazy DFA over all rules at once (linear in the
//! line's length, whatever the rules or the input), stops as soon as the
//! outcome is known, and only when a rule matched does it run a capture
//! engine, for that rule alone and only over the matched span. Lines that
//! match nothing, by far the most common case, cost that one DFA pass.
//!
//! fail2ban's semantics are "the first rule, in order, that matches". A
//! leftmost-first multi-pattern search gives "the rule whose match starts
//! leftmost, earlier rules winning ties", which is the same answer whenever
//! the earlier rules are anchored at the start of the text (every shipped
//! rule is). For an earlier rule that is not anchored, [`RuleSet::search`]
//! asks it directly; that costs something only for filters that need it.

use regex_automata::meta::{self, Regex};
use regex_automata::nfa::thompson::{self, backtrack::BoundedBacktracker};
use regex_automata::util::captures::Captures;
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, PatternID, Span};
use regex_syntax::hir::Look;

use crate::error::FilterError;
use crate::tags::{self, Role, TagOptions};

/// Compiled-size ceilings. Rules are written by administrators, but a
/// careless `\w{1000}` should fail loudly at load, not eat memory.
const NFA_SIZE_LIMIT: usize = 64 << 20;
const DFA_CACHE_CAPACITY: usize = 16 << 20;
/// The capture backtracker's memory of visited (state, position) pairs,
/// kept per rule and per filter state at the size of the longest span it
/// took: half the engine's default, since every rule keeps its own and a
/// flood of long lines would otherwise leave each at the full size. It
/// covers spans of 1,300–4,800 bytes for the shipped rules (the largest,
/// `scanner`'s, the least); longer spans go to the meta regex, whose
/// answer is the same.
const BACKTRACK_VISITED: usize = 128 << 10;

/// One rule after tag expansion.
#[derive(Clone, Debug)]
pub(crate) struct Rule {
    /// The pattern as written, for messages and statistics.
    pub source: String,
    /// Capture group index (within this rule) → meaning.
    pub roles: Vec<(usize, Role)>,
    /// Whether the rule can only match at the start of the text.
    anchored: bool,
    /// The rule alone, to ask "does it match anywhere" when an earlier
    /// unanchored rule must be checked (see the module docs).
    alone: Regex,
    /// The same pattern for capturing within a match already found: the
    /// meta regex would first find that match again with its lazy DFA, a
    /// fifth of a filter's time on lines that match. `None` if it would
    /// not build (the meta regex then does it all).
    exact: Option<BoundedBacktracker>,
}

/// A rule's capture slots, and its backtracker's memory: reused line after
/// line, one per rule and per filter state.
#[derive(Clone, Debug)]
pub(crate) struct Slots {
    pub caps: Captures,
    cache: Option<thompson::backtrack::Cache>,
}

impl Rule {
    pub fn has_role(&self, wanted: impl Fn(&Role) -> bool) -> bool {
        self.roles.iter().any(|(_, role)| wanted(role))
    }
}

/// Rules of one kind (failure, ignore, prefregex), in order.
#[derive(Clone, Debug)]
pub(crate) struct RuleSet {
    all: Option<Regex>,
    pub rules: Vec<Rule>,
}

/// Logs are bytes: ASCII classes and a `.` that matches any byte keep the
/// automata small and let invalid UTF-8 match like any other text.
fn syntax_config() -> syntax::Config {
    syntax::Config::new().unicode(false).utf8(false)
}

fn builder() -> meta::Builder {
    let mut b = meta::Builder::new();
    b.syntax(syntax_config()).configure(
        meta::Config::new()
            .utf8_empty(false)
            .nfa_size_limit(Some(NFA_SIZE_LIMIT))
            .hybrid_cache_capacity(DFA_CACHE_CAPACITY),
    );
    b
}

fn regex_error(what: String, pattern: &str, err: &meta::BuildError) -> FilterError {
    let reason = match err.syntax_error() {
        Some(syntax) => crate::error::syntax_reason(syntax),
        None => err.to_string(),
    };
    FilterError::Regex {
        what,
        pattern: pattern.to_owned(),
        reason,
    }
}

fn starts_anchored(expanded: &str) -> bool {
    regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(expanded)
        .is_ok_and(|hir| hir.properties().look_set_prefix().contains(Look::Start))
}

impl RuleSet {
    /// Compiles `patterns` (tags not yet expanded). `what` names the kind of
    /// rule in errors ("failregex", "ignoreregex").
    pub fn compile(
        what: &str,
        patterns: &[String],
        options: TagOptions,
    ) -> Result<RuleSet, FilterError> {
        let mut rules = Vec::with_capacity(patterns.len());
        let mut expanded = Vec::with_capacity(patterns.len());
        for (index, pattern) in patterns.iter().enumerate() {
            let text = tags::expand(pattern, options)?;
            let alone = builder()
                .build(&text)
                .map_err(|e| regex_error(format!("{what} #{}", index + 1), pattern, &e))?;
            let roles = alone
                .group_info()
                .pattern_names(PatternID::ZERO)
                .enumerate()
                .filter_map(|(i, name)| name.map(|n| (i, Role::from_group_name(n))))
                .collect();
            let exact = BoundedBacktracker::builder()
                .configure(BoundedBacktracker::config().visited_capacity(BACKTRACK_VISITED))
                .syntax(syntax_config())
                .thompson(
                    thompson::Config::new()
                        .utf8(false)
                        .nfa_size_limit(Some(NFA_SIZE_LIMIT)),
                )
                .build(&text)
                .ok();
            rules.push(Rule {
                source: pattern.clone(),
                roles,
                anchored: starts_anchored(&text),
                alone,
                exact,
            });
            expanded.push(text);
        }
        let all = if rules.is_empty() {
            None
        } else {
            Some(
                builder()
                    .build_many(&expanded)
                    .map_err(|e| regex_error(format!("the {what} set"), "", &e))?,
            )
        };
        Ok(RuleSet { all, rules })
    }

    /// Reusable capture slots, one per rule, for [`RuleSet::captures_of`].
    pub fn capture_slots(&self) -> Vec<Slots> {
        self.rules
            .iter()
            .map(|r| Slots {
                caps: r.alone.create_captures(),
                cache: r.exact.as_ref().map(BoundedBacktracker::create_cache),
            })
            .collect()
    }

    /// Whether any rule matches `text`.
    pub fn is_match(&self, text: &[u8]) -> bool {
        self.all.as_ref().is_some_and(|re| re.is_match(text))
    }

    /// The first rule, in order, that matches `text` (for statistics on
    /// ignore rules; the verdict needs only [`RuleSet::is_match`]).
    pub fn first_matching(&self, text: &[u8]) -> Option<usize> {
        self.rules.iter().position(|r| r.alone.is_match(text))
    }

    /// Finds the first rule, in order, that matches `text`: its index and
    /// the span it matched. Runs no capture engine.
    pub fn search(&self, text: &[u8]) -> Option<(usize, Span)> {
        let found = self.all.as_ref()?.search(&Input::new(text))?;
        let index = found.pattern().as_usize();
        let earlier = self.rules[..index]
            .iter()
            .enumerate()
            .find_map(|(i, rule)| {
                if rule.anchored {
                    // It would have matched at the start, and so won the tie.
                    return None;
                }
                rule.alone.find(text).map(|m| (i, m.span()))
            });
        Some(earlier.unwrap_or((index, found.span())))
    }

    /// Fills `caps` with rule `index`'s groups for the match found by
    /// [`RuleSet::search`]. The capture engine runs on that rule alone (a
    /// small automaton) and only over the matched span, anchored.
    pub fn captures_of(&self, index: usize, text: &[u8], span: Span, slots: &mut Slots) -> bool {
        let input = Input::new(text).range(span.range()).anchored(Anchored::Yes);
        let rule = &self.rules[index];
        // The backtracker refuses a span too long for its memory of visited
        // states (an error, never a wrong answer): the meta regex takes it.
        let done = match (&rule.exact, slots.cache.as_mut()) {
            (Some(exact), Some(cache)) => exact.try_search(cache, &input, &mut slots.caps).is_ok(),
            _ => false,
        };
        if !done {
            rule.alone.search_captures(&input, &mut slots.caps);
        }
        slots.caps.is_match()
    }
}
