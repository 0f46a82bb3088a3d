//! Ban policy: escalation (each further ban of an address lasts longer)
//! and the built-in recidive (the n-th ban within a window lasts much
//! longer, or for ever).
//!
//! The tables as written ([`EscalationOptions`], [`RecidiveOptions`]) are
//! inherited whole from `[defaults]` (a jail's own table replaces the
//! default one, key for key it would be too easy to mix `steps` from one
//! with `factor` from the other); they resolve into [`Escalation`] and
//! [`Recidive`], which cannot hold a value that means nothing.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::duration::BanTime;
use crate::error::ConfigError;
use crate::options::{DurationValue, JailOptions};
use crate::settings::Cx;

/// `[jails.NAME.escalation]` (or `[defaults.escalation]`) as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EscalationOptions {
    /// The n-th ban of an address lasts step n; the last step repeats.
    pub steps: Option<Spanned<Vec<Spanned<DurationValue>>>>,
    /// Or: the n-th ban lasts `bantime * factor^(n-1)`.
    pub factor: Option<Spanned<Number>>,
    /// No ban lasts longer (before jitter).
    pub max: Option<Spanned<DurationValue>>,
    /// A random extra from 0 to this, so an attacker cannot time the end.
    pub jitter: Option<Spanned<DurationValue>>,
    /// How far back earlier bans count (default: the whole history the
    /// database keeps, see `dbpurgeage`).
    pub window: Option<Spanned<DurationValue>>,
    /// Count the address's bans in every jail, not only this one.
    pub across_jails: Option<bool>,
}

/// `[jails.NAME.recidive]` (or `[defaults.recidive]`) as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RecidiveOptions {
    /// The ban that makes this many within `within` gets `bantime`.
    pub bans: Spanned<i64>,
    pub within: Spanned<DurationValue>,
    /// A duration, or `permanent`.
    pub bantime: Spanned<DurationValue>,
    /// Count the address's bans in every jail, not only this one.
    pub across_jails: Option<bool>,
}

/// A TOML integer or float.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
pub enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    fn value(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }
}

/// How ban times grow.
#[derive(Debug, Clone, PartialEq)]
pub enum Growth {
    /// Step n for the n-th ban; never empty, every step longer than zero.
    Steps(Vec<Duration>),
    /// `bantime * factor^(n-1)`; factor at least 1, bantime finite.
    Factor(f64),
}

/// Escalation, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Escalation {
    pub growth: Growth,
    /// Longer than zero when set.
    pub max: Option<Duration>,
    pub jitter: Duration,
    /// Longer than zero when set; `None`: the whole history.
    pub window: Option<Duration>,
    pub across_jails: bool,
}

impl Escalation {
    /// The step the n-th ban (1 for the first) is on: with steps, the last
    /// one repeats; with a factor, every ban is a step further.
    pub fn step(&self, n: u32) -> u32 {
        match &self.growth {
            Growth::Steps(steps) => n.clamp(1, steps.len() as u32),
            Growth::Factor(_) => n.max(1),
        }
    }
}

/// The built-in recidive, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Recidive {
    /// At least 2.
    pub bans: u32,
    /// Longer than zero.
    pub within: Duration,
    pub bantime: BanTime,
    pub across_jails: bool,
}

impl Cx<'_> {
    /// Checks `[defaults]`' tables once, so that an error in them names
    /// `defaults.…` rather than the first jail that inherits it.
    pub(crate) fn default_policy(&self, d: &JailOptions) -> Result<(), ConfigError> {
        let bantime = match &d.bantime {
            Some(v) => self.bantime(v, "defaults.bantime")?,
            // Only "permanent or not" matters here.
            None => BanTime::For(Duration::from_secs(1)),
        };
        if let Some(e) = &d.escalation {
            self.escalation(e, "defaults.escalation", bantime)?;
        }
        if let Some(r) = &d.recidive {
            self.recidive(r, "defaults.recidive")?;
        }
        Ok(())
    }

    /// A duration that must be longer than zero.
    fn longer_than_zero(
        &self,
        value: &Spanned<DurationValue>,
        key: &str,
    ) -> Result<Duration, ConfigError> {
        let d = self.duration(value, key)?;
        if d.is_zero() {
            return Err(self.err(value, key, "must be longer than zero".into()));
        }
        Ok(d)
    }

    /// Resolves an escalation table; `prefix` is its key
    /// (`jails.sshd.escalation`), `bantime` the jail's.
    pub(crate) fn escalation(
        &self,
        o: &Spanned<EscalationOptions>,
        prefix: &str,
        bantime: BanTime,
    ) -> Result<Escalation, ConfigError> {
        let key = |k: &str| format!("{prefix}.{k}");
        let t = o.get_ref();
        let growth = match (&t.steps, &t.factor) {
            (Some(_), Some(f)) => {
                return Err(self.err(f, &key("factor"), "give steps or factor, not both".into()))
            }
            (None, None) => {
                return Err(self.err(
                    o,
                    prefix,
                    "give steps (a list of durations) or factor".into(),
                ))
            }
            (Some(steps), None) => Growth::Steps(self.steps(steps, &key("steps"))?),
            (None, Some(f)) => {
                let factor = f.get_ref().value();
                if !factor.is_finite() || factor < 1.0 {
                    return Err(self.err(
                        f,
                        &key("factor"),
                        format!("{factor}: must be at least 1"),
                    ));
                }
                if bantime == BanTime::Permanent {
                    return Err(self.err(
                        f,
                        &key("factor"),
                        "the jail's bantime is permanent: there is nothing to multiply".into(),
                    ));
                }
                Growth::Factor(factor)
            }
        };
        Ok(Escalation {
            growth,
            max: t
                .max
                .as_ref()
                .map(|v| self.longer_than_zero(v, &key("max")))
                .transpose()?,
            jitter: match &t.jitter {
                Some(v) => self.duration(v, &key("jitter"))?,
                None => Duration::ZERO,
            },
            window: t
                .window
                .as_ref()
                .map(|v| self.longer_than_zero(v, &key("window")))
                .transpose()?,
            across_jails: t.across_jails.unwrap_or(false),
        })
    }

    fn steps(
        &self,
        steps: &Spanned<Vec<Spanned<DurationValue>>>,
        key: &str,
    ) -> Result<Vec<Duration>, ConfigError> {
        if steps.get_ref().is_empty() {
            return Err(self.err(steps, key, "empty: give at least one duration".into()));
        }
        steps
            .get_ref()
            .iter()
            .map(|s| self.longer_than_zero(s, key))
            .collect()
    }

    /// Resolves a recidive table; `prefix` is its key.
    pub(crate) fn recidive(
        &self,
        o: &Spanned<RecidiveOptions>,
        prefix: &str,
    ) -> Result<Recidive, ConfigError> {
        let key = |k: &str| format!("{prefix}.{k}");
        let t = o.get_ref();
        let bans = *t.bans.get_ref();
        if !(2..=1_000_000).contains(&bans) {
            return Err(self.err(
                &t.bans,
                &key("bans"),
                format!("{bans}: must be 2 to 1000000"),
            ));
        }
        let bantime = self.bantime(&t.bantime, &key("bantime"))?;
        if bantime == BanTime::For(Duration::ZERO) {
            return Err(self.err(
                &t.bantime,
                &key("bantime"),
                "must be longer than zero".into(),
            ));
        }
        Ok(Recidive {
            bans: bans as u32,
            within: self.longer_than_zero(&t.within, &key("within"))?,
            bantime,
            across_jails: t.across_jails.unwrap_or(false),
        })
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
