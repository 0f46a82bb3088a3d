//! The engine-level description of a filter: plain patterns and options,
//! however they were written (a shipped native filter, a TOML jail with
//! inline `failregex`, or a translated fail2ban filter).

use crate::date::DatePattern;
use crate::fields::FieldSpec;

/// One failure or ignore rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSpec {
    /// A short name for statistics and messages (`password`, `invalid-user`).
    pub id: String,
    /// The regex, with tags.
    pub regex: String,
    /// What a match of this rule means and weighs (failure rules only).
    pub policy: RulePolicy,
}

/// Weight of one failure in [`WEIGHT_ONE`]ths: fixed point, so a spec
/// stays `Eq` and the tracker counts in integers.
pub const WEIGHT_ONE: u32 = 1000;
/// The heaviest a rule may weigh (in failures).
pub const MAX_WEIGHT: f64 = 1000.0;

/// What a rule's match means beyond "this source did something".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RulePolicy {
    /// A success rule: the source logged in (`success = true`, or
    /// `<F-SUCCESS>` in the pattern). It counts no failure.
    pub success: bool,
    /// How many failures a match counts as, in [`WEIGHT_ONE`]ths (0: none).
    pub weight: u32,
    /// The rule's own ban time, as written (`"30m"`, `"permanent"`); the
    /// configuration checks it, this crate reads no durations.
    pub bantime: Option<String>,
}

impl Default for RulePolicy {
    fn default() -> RulePolicy {
        RulePolicy {
            success: false,
            weight: WEIGHT_ONE,
            bantime: None,
        }
    }
}

impl RulePolicy {
    /// Converts a written weight, refusing what cannot be one.
    pub fn weight_of(weight: f64) -> Result<u32, String> {
        if !weight.is_finite() || !(0.0..=MAX_WEIGHT).contains(&weight) {
            return Err(format!("weight {weight}: must be 0 to {MAX_WEIGHT}"));
        }
        Ok((weight * f64::from(WEIGHT_ONE)).round() as u32)
    }
}

impl RuleSpec {
    /// A rule named by its position, for patterns given without a name.
    pub fn numbered(index: usize, regex: impl Into<String>) -> RuleSpec {
        RuleSpec {
            id: format!("#{}", index + 1),
            regex: regex.into(),
            policy: RulePolicy::default(),
        }
    }
}

/// Everything needed to compile a [`crate::Filter`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FilterSpec {
    /// The filter's name, for messages.
    pub name: String,
    /// Matched first; the failure rules then see only its `<F-CONTENT>` part
    /// (or the whole match when it has none). Lines it misses are missed.
    pub prefregex: Option<String>,
    /// Rules that make a line a failure; the first that matches wins.
    pub failregex: Vec<RuleSpec>,
    /// Rules that veto a failure.
    pub ignoreregex: Vec<RuleSpec>,
    /// Where dates come from.
    pub date: DatePattern,
    /// Let `<HOST>` capture host names (never resolved here).
    pub allow_hostnames: bool,
    /// `format = "json"`: each line is a JSON object judged by these field
    /// tests instead of by `failregex` (which must then be empty).
    pub json: Option<FieldSpec>,
}

impl FilterSpec {
    /// A filter from bare patterns, as `bantam regex LOG 'REGEX'` and inline
    /// jail rules give them.
    pub fn inline(name: &str, failregex: &[&str], ignoreregex: &[&str]) -> FilterSpec {
        FilterSpec {
            name: name.to_owned(),
            failregex: failregex
                .iter()
                .enumerate()
                .map(|(i, r)| RuleSpec::numbered(i, *r))
                .collect(),
            ignoreregex: ignoreregex
                .iter()
                .enumerate()
                .map(|(i, r)| RuleSpec::numbered(i, *r))
                .collect(),
            ..FilterSpec::default()
        }
    }
}
