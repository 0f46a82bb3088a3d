//! The keys of a filter file that describe structured (JSON) logs:
//! `format`, `[fields]` and `[when]` (see [`crate::fields`]).
//!
//! `[when]` keys are field paths; a path with dots is quoted
//! (`"request.uri" = { regex = '…' }`), because TOML would otherwise read
//! the dots as nested tables.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::fields::{FieldCondition, FieldSpec};

/// `[fields]` as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldsDefinition {
    /// Dotted path of the address to ban.
    pub address: Option<String>,
    /// Dotted path of the user name.
    pub user: Option<String>,
    /// Dotted path of the record's time (RFC 3339 or epoch seconds).
    pub time: Option<String>,
}

/// One value a field may equal: a number, a string or a boolean.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Int(i64),
    Text(String),
    Bool(bool),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::Int(n) => n.to_string(),
            Scalar::Text(s) => s.clone(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

/// A regex test: `{ regex = '…' }`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegexTest {
    pub regex: String,
}

/// One `[when]` value: a value, a list of values, or `{ regex = … }`.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum WhenValue {
    One(Scalar),
    Many(Vec<Scalar>),
    Regex(RegexTest),
}

/// The structured part of a filter's engine spec, or why it is wrong.
/// `format` is `None`/`"lines"` (no spec) or `"json"`.
pub(crate) fn field_spec(
    format: Option<&str>,
    fields: Option<&FieldsDefinition>,
    when: &BTreeMap<String, WhenValue>,
    has_rules: bool,
) -> Result<Option<FieldSpec>, String> {
    match format {
        None | Some("lines") => {
            if fields.is_some() || !when.is_empty() {
                return Err("[fields] and [when] need format = \"json\"".into());
            }
            return Ok(None);
        }
        Some("json") => {}
        Some(other) => return Err(format!("unknown format {other:?} (lines, json)")),
    }
    if has_rules {
        return Err(
            "format = \"json\": failures are decided by [when] tests on fields; failregex, ignoreregex and prefix are for text lines"
                .into(),
        );
    }
    let fields = fields.cloned().unwrap_or_default();
    let Some(address) = fields.address else {
        return Err("format = \"json\" needs fields.address, the path of the address to ban (e.g. \"request.remote_ip\")".into());
    };
    let when = when
        .iter()
        .map(|(path, value)| {
            let condition = match value {
                WhenValue::One(v) => FieldCondition::OneOf(vec![v.text()]),
                WhenValue::Many(vs) if vs.is_empty() => {
                    return Err(format!("when.{path:?}: an empty list matches nothing"))
                }
                WhenValue::Many(vs) => FieldCondition::OneOf(vs.iter().map(Scalar::text).collect()),
                WhenValue::Regex(r) => FieldCondition::Regex(r.regex.clone()),
            };
            Ok((path.clone(), condition))
        })
        .collect::<Result<_, String>>()?;
    Ok(Some(FieldSpec {
        address,
        user: fields.user,
        time: fields.time,
        when,
    }))
}
