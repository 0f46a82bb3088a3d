//! fail2ban's `bantime.*` options and its `recidive` jail, on bantam's
//! escalation and built-in recidive (see [`crate::policy`]).
//!
//! fail2ban (1.0, `jail.conf` and its observer) computes the n-th ban of an
//! address from `c = n - 1`, the bans it remembers (per jail, or over all
//! jails with `bantime.overalljails`, as long as its database keeps them):
//! the first ban is `bantime` as is; a later one is
//! `bantime * factor * multipliers[c]` (the last multiplier repeating) when
//! `bantime.multipliers` is set, else `bantime.formula`, kept at least
//! `bantime`; then at most `bantime.maxtime`, plus up to `bantime.rndtime`
//! at random. Every form read here is a finite list of steps (the default
//! formula stops doubling after 20 bans; the others are followed until
//! they reach `maxtime` or a century), so bantam's steps give the very
//! times fail2ban does. One difference remains: bantam adds the random
//! part to the first ban too.
//!
//! `bantime.formula` is Python; the forms `jail.conf` documents are read
//! (the default `ban.Time * (1<<(ban.Count if ban.Count<20 else 20)) *
//! banFactor`, any cap, and `ban.Time * math.exp(float(ban.Count+1)*banFactor)
//! /math.exp(1*banFactor)`); any other is named at start and the default
//! used instead.

use std::time::Duration;

use crate::duration::{parse_duration, BanTime};
use crate::error::ConfigError;
use crate::fail2ban::jail::as_bool;
use crate::fail2ban::F2bJail;
use crate::policy::{Escalation, Growth, Recidive};

/// Past this a ban is as good as permanent; growth stops here.
const CENTURY: f64 = 100.0 * 365.0 * 86_400.0;
/// The longest list of steps a formula becomes.
const MOST_STEPS: u32 = 64;

/// How the n-th ban (from the second on) is computed.
enum Rule {
    Multipliers(Vec<f64>),
    /// `ban.Time * 2^min(c, cap) * factor`.
    Doubling {
        cap: u32,
    },
    /// `ban.Time * e^(c * factor)`.
    Exponential,
}

fn invalid(jail: &F2bJail, message: String) -> ConfigError {
    ConfigError::Fail2ban(format!("jail {}: {message}", jail.name))
}

fn option<'a>(jail: &'a F2bJail, key: &str) -> Option<&'a str> {
    jail.options
        .get(key)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
}

/// `bantime.*` of `jail` as an escalation, or `None` when
/// `bantime.increment` is off (or the ban time permanent, which fail2ban
/// never increments).
pub(crate) fn escalation(
    jail: &F2bJail,
    bantime: BanTime,
    warnings: &mut Vec<String>,
) -> Result<Option<Escalation>, ConfigError> {
    let BanTime::For(base) = bantime else {
        return Ok(None);
    };
    if !option(jail, "bantime.increment").is_some_and(as_bool) || base.is_zero() {
        return Ok(None);
    }
    let mut say = |key: &str, value: &str, instead: &str| {
        warnings.push(format!(
            "fail2ban jail {}: {key} = {value} cannot be read; {instead}",
            jail.name
        ))
    };
    let factor = match option(jail, "bantime.factor") {
        None => 1.0,
        Some(text) => factor(text).unwrap_or_else(|| {
            say("bantime.factor", text, "using 1");
            1.0
        }),
    };
    let duration = |key: &str| -> Result<Option<Duration>, ConfigError> {
        option(jail, key)
            .map(|t| parse_duration(t).map_err(|e| invalid(jail, format!("{key}: {e}"))))
            .transpose()
    };
    let maxtime = duration("bantime.maxtime")?;
    let jitter = duration("bantime.rndtime")?.unwrap_or(Duration::ZERO);
    let rule = match option(jail, "bantime.multipliers") {
        Some(text) => match multipliers(text) {
            Some(m) => Rule::Multipliers(m),
            None => {
                say("bantime.multipliers", text, "using bantime.formula");
                formula_rule(jail, &mut say)
            }
        },
        None => formula_rule(jail, &mut say),
    };
    let steps = steps(
        base.as_secs_f64(),
        factor,
        &rule,
        maxtime.map(|m| m.as_secs_f64()),
    );
    Ok(Some(Escalation {
        growth: Growth::Steps(steps),
        // Already in the steps: fail2ban does not cap the first ban.
        max: None,
        jitter,
        window: None,
        across_jails: option(jail, "bantime.overalljails").is_some_and(as_bool),
    }))
}

fn formula_rule(jail: &F2bJail, say: &mut impl FnMut(&str, &str, &str)) -> Rule {
    let Some(text) = option(jail, "bantime.formula") else {
        return Rule::Doubling { cap: 20 };
    };
    formula(text).unwrap_or_else(|| {
        say(
            "bantime.formula",
            text,
            "using fail2ban's default, ban.Time * (1<<(ban.Count if ban.Count<20 else 20)) * banFactor",
        );
        Rule::Doubling { cap: 20 }
    })
}

/// The documented forms, whatever the spacing.
fn formula(text: &str) -> Option<Rule> {
    let s: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if s == "ban.Time*math.exp(float(ban.Count+1)*banFactor)/math.exp(1*banFactor)" {
        return Some(Rule::Exponential);
    }
    let rest = s.strip_prefix("ban.Time*(1<<(ban.Countifban.Count<")?;
    let (cap, rest) = rest.split_once("else")?;
    let (cap2, tail) = rest.split_once("))")?;
    let cap: u32 = cap.parse().ok()?;
    if cap2 != cap.to_string() || tail != "*banFactor" || cap > 62 {
        return None;
    }
    Some(Rule::Doubling { cap })
}

/// `bantime.factor`: a number, or a quotient or product of two (jail.conf
/// shows `2.0 / 2.885385`).
fn factor(text: &str) -> Option<f64> {
    let number = |t: &str| t.trim().parse::<f64>().ok().filter(|v| v.is_finite());
    let value = if let Some((a, b)) = text.split_once('/') {
        number(a)? / number(b)?
    } else if let Some((a, b)) = text.split_once('*') {
        number(a)? * number(b)?
    } else {
        number(text)?
    };
    (value.is_finite() && value > 0.0).then_some(value)
}

/// fail2ban reads them as integers, separated by spaces.
fn multipliers(text: &str) -> Option<Vec<f64>> {
    let m: Vec<f64> = text
        .split_whitespace()
        .map(|w| w.parse::<u64>().ok().map(|v| v as f64))
        .collect::<Option<_>>()?;
    (!m.is_empty()).then_some(m)
}

/// Step 1 is `bantime` as is; step c+1 is the rule at c, until it stops
/// growing (a formula grows with c; a list of multipliers ends).
fn steps(base: f64, factor: f64, rule: &Rule, maxtime: Option<f64>) -> Vec<Duration> {
    let mut out = vec![Duration::from_secs_f64(base)];
    for c in 1..MOST_STEPS {
        let raw = match rule {
            Rule::Multipliers(m) => base * factor * m[(c as usize).min(m.len() - 1)],
            Rule::Doubling { cap } => base.max(base * 2f64.powi(c.min(*cap) as i32) * factor),
            Rule::Exponential => base.max(base * (f64::from(c) * factor).exp()),
        };
        let value = maxtime.map_or(raw, |m| raw.min(m)).min(CENTURY);
        let done = match rule {
            Rule::Multipliers(m) => c as usize >= m.len() - 1,
            Rule::Doubling { cap } => c >= *cap,
            Rule::Exponential => false,
        } || value >= CENTURY
            || maxtime.is_some_and(|m| value >= m);
        // fail2ban's multipliers may make a ban 0 s long; the kernel
        // needs at least a millisecond.
        out.push(Duration::from_secs_f64(value.max(0.001)));
        if done {
            break;
        }
    }
    out
}

/// fail2ban's `recidive` jail reads fail2ban's own log for its "Ban"
/// lines; bantam's jails count their bans in the database instead.
pub(crate) fn is_recidive(jail: &F2bJail) -> bool {
    jail.name == "recidive" || jail.filter.as_ref().is_some_and(|f| f.name == "recidive")
}

/// The built-in recidive that replaces `jail` (fail2ban's `recidive`):
/// its `maxretry` bans within its `findtime`, in any jail, earn its
/// `bantime`.
pub(crate) fn recidive(jail: &F2bJail) -> Result<Recidive, ConfigError> {
    let within = jail
        .findtime_duration()
        .map_err(|e| invalid(jail, format!("findtime: {e}")))?
        .unwrap_or(Duration::from_secs(600));
    let bantime = jail
        .bantime_value()
        .map_err(|e| invalid(jail, format!("bantime: {e}")))?
        .unwrap_or(BanTime::For(Duration::from_secs(600)));
    Ok(Recidive {
        bans: jail.maxretry.unwrap_or(5).max(2),
        within: within.max(Duration::from_secs(1)),
        bantime,
        across_jails: true,
    })
}

/// What the start says when the built-in recidive stands in.
pub(crate) fn recidive_notice(jail: &F2bJail, r: &Recidive) -> String {
    let bantime = match r.bantime {
        BanTime::Permanent => "permanently".to_owned(),
        BanTime::For(d) => format!("for {}s", d.as_secs()),
    };
    format!(
        "fail2ban jail {} (which reads fail2ban's own log) is replaced by bantam's built-in recidive: \
         an address banned {} times within {}s, in any jail, is banned {bantime} by the jail that bans it the {}th time",
        jail.name,
        r.bans,
        r.within.as_secs(),
        r.bans
    )
}

#[cfg(test)]
#[path = "fail2ban_policy_tests.rs"]
mod tests;
