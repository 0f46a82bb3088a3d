//! bantam's own filter files: TOML, one file per filter, each rule with a
//! name, the modes it belongs to, and example lines it must match (checked by
//! the test suite, so a filter's documentation cannot drift from its rules).
//!
//! ```toml
//! description = "What the filter recognises"
//! modes = ["normal", "aggressive"]   # the first is the default
//! date = "auto"
//! prefix = '^\s*(?:\S+ myd\[\d+\]: )?'
//!
//! [[failregex]]
//! id = "password"
//! regex = 'Failed password for <F-USER>\S+</F-USER> from <HOST>$'
//! examples = ["Failed password for root from 192.0.2.1"]
//!
//! [jail]                              # optional: see [`crate::jail_defaults`]
//! logpath = ["/var/log/myd.log"]
//! maxretry = 5
//! ```
//!
//! Parsing is pure; reading the file is the caller's business.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::date::{DateFormat, DatePattern};
use crate::error::FilterError;
use crate::fields::FieldSpec;
use crate::jail_defaults::JailDefaults;
use crate::spec::{FilterSpec, RulePolicy, RuleSpec};
use crate::structured_definition::{field_spec, FieldsDefinition, WhenValue};

/// A filter file as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Definition {
    /// One line saying what the filter recognises.
    pub description: String,
    /// The modes the filter offers; the first is the default. A filter with
    /// no modes has one, `normal`.
    #[serde(default)]
    pub modes: Vec<String>,
    /// `auto` (detect per log), `none` (lines carry no date; use arrival
    /// time), or one format: `syslog`, `asctime`, `iso8601`, `clf`, `epoch`,
    /// `epoch-ms`.
    #[serde(default)]
    pub date: Option<String>,
    /// Prepended to every failure rule: the framing the service's lines share
    /// (syslog header, program name), written once.
    #[serde(default)]
    pub prefix: String,
    /// A fail2ban-style `prefregex`; failure rules then match its
    /// `<F-CONTENT>`. Prefer `prefix`, which costs nothing extra per line.
    #[serde(default)]
    pub prefregex: Option<String>,
    /// Let `<HOST>` capture host names as well as addresses.
    #[serde(default)]
    pub allow_hostnames: bool,
    /// Rules that make a line a failure.
    #[serde(default)]
    pub failregex: Vec<RuleDefinition>,
    /// Rules that veto a failure.
    #[serde(default)]
    pub ignoreregex: Vec<RuleDefinition>,
    /// `lines` (default) or `json`: each line a JSON object, judged by
    /// `[when]` tests on its fields (see [`crate::fields`]).
    #[serde(default)]
    pub format: Option<String>,
    /// For `format = "json"`: where the address, user and time are.
    #[serde(default)]
    pub fields: Option<FieldsDefinition>,
    /// For `format = "json"`: tests on fields, all of which must hold.
    #[serde(default)]
    pub when: BTreeMap<String, WhenValue>,
    /// The default jail: log paths, ports, maxretry/findtime/bantime for a
    /// jail that names this filter and leaves them out.
    #[serde(default)]
    pub jail: Option<JailDefaults>,
}

/// One rule in a filter file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RuleDefinition {
    /// A short name, unique in the filter, shown in statistics.
    pub id: String,
    /// The regex with tags, after the filter's `prefix`.
    pub regex: String,
    /// The modes this rule is active in; all of the filter's when absent.
    #[serde(default)]
    pub modes: Option<Vec<String>>,
    /// Lines (as a log would have them, without `prefix` text removed) that
    /// this rule must match. Checked by the test suite.
    #[serde(default)]
    pub examples: Vec<String>,
    /// A success rule: the source logged in, and a jail with `[trust]`
    /// trusts it for a while. Counts no failure.
    #[serde(default)]
    pub success: bool,
    /// How many failures a match counts as (default 1; fractions allowed,
    /// 0 ignores the rule's matches).
    #[serde(default)]
    pub weight: Option<f64>,
    /// The rule's own ban time for bans it tips (`"30m"`, `"permanent"`).
    #[serde(default)]
    pub bantime: Option<String>,
}

impl RuleDefinition {
    fn policy(&self) -> Result<RulePolicy, String> {
        let weight = match self.weight {
            None => RulePolicy::default().weight,
            Some(w) => RulePolicy::weight_of(w).map_err(|e| format!("rule {:?}: {e}", self.id))?,
        };
        Ok(RulePolicy {
            success: self.success,
            weight,
            bantime: self.bantime.clone(),
        })
    }
}

impl Definition {
    /// Parses a filter file's text; `name` is used in errors.
    pub fn parse(name: &str, text: &str) -> Result<Definition, FilterError> {
        let def: Definition = toml::from_str(text).map_err(|source| FilterError::Toml {
            name: name.to_owned(),
            source: Box::new(source),
        })?;
        def.validate(name)?;
        Ok(def)
    }

    fn validate(&self, name: &str) -> Result<(), FilterError> {
        let bad = |reason: String| FilterError::Definition {
            name: name.to_owned(),
            reason,
        };
        let modes = self.mode_names();
        let mut ids = std::collections::HashSet::new();
        for rule in self.failregex.iter().chain(&self.ignoreregex) {
            rule.policy().map_err(&bad)?;
            if !ids.insert(rule.id.as_str()) {
                return Err(bad(format!("rule id {:?} is used twice", rule.id)));
            }
            for mode in rule.modes.iter().flatten() {
                if !modes.contains(&mode.as_str()) {
                    return Err(bad(format!(
                        "rule {:?} names mode {mode:?}, which the filter does not declare (modes: {})",
                        rule.id,
                        modes.join(", ")
                    )));
                }
            }
        }
        self.date_pattern().map_err(|e| bad(e.to_string()))?;
        self.field_spec().map_err(&bad)?;
        if let Some(problem) = self.jail.as_ref().and_then(JailDefaults::problem) {
            return Err(bad(problem));
        }
        Ok(())
    }

    /// The declared modes, default first.
    pub fn mode_names(&self) -> Vec<&str> {
        if self.modes.is_empty() {
            vec!["normal"]
        } else {
            self.modes.iter().map(String::as_str).collect()
        }
    }

    fn date_pattern(&self) -> Result<DatePattern, crate::date::UnknownDateFormat> {
        Ok(match self.date.as_deref() {
            None | Some("auto") => DatePattern::Auto,
            Some("none") => DatePattern::None,
            Some(format) => DatePattern::Pinned(format.parse::<DateFormat>()?),
        })
    }

    fn field_spec(&self) -> Result<Option<FieldSpec>, String> {
        let has_rules = !self.failregex.is_empty()
            || !self.ignoreregex.is_empty()
            || !self.prefix.is_empty()
            || self.prefregex.is_some();
        field_spec(
            self.format.as_deref(),
            self.fields.as_ref(),
            &self.when,
            has_rules,
        )
    }

    /// The engine spec for one mode (`None`: the default mode).
    pub fn spec(&self, name: &str, mode: Option<&str>) -> Result<FilterSpec, FilterError> {
        let modes = self.mode_names();
        let mode = mode.unwrap_or(modes[0]);
        if !modes.contains(&mode) {
            return Err(FilterError::UnknownMode {
                filter: name.to_owned(),
                mode: mode.to_owned(),
                known: modes.join(", "),
            });
        }
        let active = |rule: &&RuleDefinition| {
            rule.modes
                .as_ref()
                .is_none_or(|m| m.iter().any(|m| m == mode))
        };
        let rules = |list: &[RuleDefinition], prefix: &str| -> Vec<RuleSpec> {
            list.iter()
                .filter(active)
                .map(|r| RuleSpec {
                    id: r.id.clone(),
                    regex: format!("{prefix}{}", r.regex),
                    // Checked by `validate`.
                    policy: r.policy().unwrap_or_default(),
                })
                .collect()
        };
        Ok(FilterSpec {
            name: name.to_owned(),
            prefregex: self.prefregex.clone(),
            failregex: rules(&self.failregex, &self.prefix),
            ignoreregex: rules(&self.ignoreregex, ""),
            date: self.date_pattern().map_err(|e| FilterError::Definition {
                name: name.to_owned(),
                reason: e.to_string(),
            })?,
            allow_hostnames: self.allow_hostnames,
            json: self
                .field_spec()
                .map_err(|reason| FilterError::Definition {
                    name: name.to_owned(),
                    reason,
                })?,
        })
    }
}
