//! Structured records: failures decided by tests on named fields instead of
//! regexes over a line. A JSON access log (`format = "json"`) is one kind of
//! record; the systemd journal's fields are another. Both reach the same
//! [`FieldRules`] through the [`Fields`] trait, so a test written once
//! (`when.status = [401, 403]`) means the same on either.
//!
//! ```toml
//! format = "json"
//! [fields]
//! address = "request.remote_ip"   # dotted path into the record
//! user = "user_id"                # optional
//! time = "ts"                     # optional: RFC 3339 or epoch seconds
//! [when]
//! status = [401, 403]             # equality against any of the values
//! "request.uri" = { regex = '^/login' }
//! ```
//!
//! Values are compared as text: `401` in the filter equals a JSON number
//! `401` and a journal field `"401"` (journal fields are all text).

use std::borrow::Cow;

use jiff::Timestamp;

use crate::address::{parse_addr, Host};
use crate::error::FilterError;
use crate::failure::{Failure, Outcome};

/// A record whose values can be looked up by path: a parsed JSON line, a
/// journal entry. Only scalar values answer (a nested object does not).
pub trait Fields {
    /// The value at `path` as text, or `None` when absent or not a scalar.
    fn field(&self, path: &FieldPath) -> Option<Cow<'_, str>>;
}

/// A field's name as written (`request.remote_ip`), split once at load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldPath {
    text: String,
    segments: Vec<String>,
}

impl FieldPath {
    /// Parses a dotted path; empty segments (`a..b`, `.a`) are refused.
    pub fn parse(text: &str) -> Result<FieldPath, String> {
        let segments: Vec<String> = text.split('.').map(str::to_owned).collect();
        if segments.iter().any(String::is_empty) {
            return Err(format!("field path {text:?} has an empty part"));
        }
        Ok(FieldPath {
            text: text.to_owned(),
            segments,
        })
    }

    /// The path as written; a flat record (the journal) looks names up by it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The parts between dots, for nested records (JSON).
    pub fn segments(&self) -> &[String] {
        &self.segments
    }
}

/// One `when` test as written in a filter file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldCondition {
    /// The value equals one of these (as text).
    OneOf(Vec<String>),
    /// The value matches this regex (the `regex` crate's syntax; no tags).
    Regex(String),
}

/// The fields a structured filter reads, before compiling.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSpec {
    /// Where the address to ban is.
    pub address: String,
    /// Where the user name is, if the record has one.
    pub user: Option<String>,
    /// Where the record's time is (RFC 3339 or epoch seconds); without it,
    /// the arrival time is used.
    pub time: Option<String>,
    /// Tests that must all hold for the record to be a failure, in order.
    pub when: Vec<(String, FieldCondition)>,
}

#[derive(Clone, Debug)]
enum Test {
    OneOf(Vec<String>),
    Regex(regex::Regex),
}

/// Compiled field tests and lookups.
#[derive(Clone, Debug)]
pub struct FieldRules {
    address: FieldPath,
    user: Option<FieldPath>,
    time: Option<FieldPath>,
    tests: Vec<(FieldPath, Test)>,
}

impl FieldRules {
    /// Compiles `spec`; `filter` names the filter in errors.
    pub fn new(filter: &str, spec: &FieldSpec) -> Result<FieldRules, FilterError> {
        let bad = |reason: String| FilterError::Definition {
            name: filter.to_owned(),
            reason,
        };
        let path =
            |key: &str, text: &str| FieldPath::parse(text).map_err(|e| bad(format!("{key}: {e}")));
        let mut tests = Vec::new();
        for (name, condition) in &spec.when {
            let test = match condition {
                FieldCondition::OneOf(values) => Test::OneOf(values.clone()),
                FieldCondition::Regex(pattern) => {
                    Test::Regex(regex::Regex::new(pattern).map_err(|e| FilterError::Regex {
                        what: format!("filter {filter} when.{name:?}.regex"),
                        pattern: pattern.clone(),
                        reason: regex_reason(&e),
                    })?)
                }
            };
            tests.push((path(&format!("when.{name:?}"), name)?, test));
        }
        Ok(FieldRules {
            address: path("fields.address", &spec.address)?,
            user: spec
                .user
                .as_deref()
                .map(|u| path("fields.user", u))
                .transpose()?,
            time: spec
                .time
                .as_deref()
                .map(|t| path("fields.time", t))
                .transpose()?,
            tests,
        })
    }

    /// Judges one record. `now` is the arrival time, used when the record
    /// has no (readable) time. A failure is rule 0, the filter's only rule.
    pub fn judge(&self, record: &dyn Fields, now: Timestamp) -> Outcome {
        let all_hold = self.tests.iter().all(|(path, test)| {
            record.field(path).is_some_and(|value| match test {
                Test::OneOf(values) => values.iter().any(|v| *v == value),
                Test::Regex(re) => re.is_match(&value),
            })
        });
        if !all_hold {
            return Outcome::Missed;
        }
        let host = record
            .field(&self.address)
            .and_then(|a| parse_addr(a.trim().as_bytes()));
        let Some(ip) = host else {
            return Outcome::Invalid { rule: 0 };
        };
        let time = self
            .time
            .as_ref()
            .and_then(|p| record.field(p))
            .and_then(|t| parse_time(&t));
        Outcome::Failure(Failure {
            rule: 0,
            host: Host::Ip(ip),
            time: time.unwrap_or(now),
            dated: time.is_some(),
            count: 1,
            user: self
                .user
                .as_ref()
                .and_then(|p| record.field(p))
                .map(|u| u.into_owned().into_boxed_str()),
            id: None,
            fields: Vec::new(),
            weight: crate::WEIGHT_ONE,
            success: false,
        })
    }
}

/// A regex error's one line that says what is wrong (the crate's message
/// spans several lines, with a caret under the culprit).
fn regex_reason(err: &regex::Error) -> String {
    let text = err.to_string();
    let last = text.lines().rev().find(|l| !l.trim().is_empty());
    last.unwrap_or(&text)
        .trim()
        .trim_start_matches("error: ")
        .to_owned()
}

/// RFC 3339 (`2026-11-25T07:21:09.5Z`) or seconds since the epoch, with a
/// fraction (Caddy's `ts`: `1764055269.625`).
pub fn parse_time(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(t) = text.parse::<Timestamp>() {
        return Some(t);
    }
    let seconds: f64 = text.parse().ok().filter(|s: &f64| s.is_finite())?;
    let whole = seconds.floor();
    let nanos = ((seconds - whole) * 1e9).round() as i32;
    Timestamp::new(whole as i64, nanos.min(999_999_999)).ok()
}

#[cfg(test)]
#[path = "fields_tests.rs"]
mod tests;
