//! The tiny Python expressions sample logs use to select filter runs
//! (`test.condition`) and lines (`constraint`): `name=='sshd'`,
//! `opts.get('mode') == 'aggressive'`, `!=`.
//!
//! # Why not a Python interpreter
//!
//! Only comparisons of the filter name and of option values occur; anything
//! else is reported as unsupported rather than guessed at.

use anyhow::{bail, Result};

use super::resolved::Options;

/// What an expression may refer to.
pub struct Scope<'a> {
    /// The filter under test.
    pub name: &'a str,
    /// The option set of the run.
    pub opts: &'a Options,
}

/// Evaluates `expr` to a truth value.
pub fn eval(expr: &str, scope: &Scope<'_>) -> Result<bool> {
    let (l, r, equal) = if let Some((l, r)) = expr.split_once("==") {
        (l, r, true)
    } else if let Some((l, r)) = expr.split_once("!=") {
        (l, r, false)
    } else {
        bail!("unsupported condition {expr:?}");
    };
    let l = operand(l.trim(), scope, expr)?;
    let r = operand(r.trim(), scope, expr)?;
    Ok((l == r) == equal)
}

/// A string literal, `name`, or `opts.get('key')` (None when unset).
fn operand(text: &str, scope: &Scope<'_>, expr: &str) -> Result<Option<String>> {
    if let Some(lit) = literal(text) {
        return Ok(Some(lit.to_owned()));
    }
    if text == "name" {
        return Ok(Some(scope.name.to_owned()));
    }
    if text == "None" {
        return Ok(None);
    }
    if let Some(arg) = text
        .strip_prefix("opts.get(")
        .and_then(|t| t.strip_suffix(')'))
    {
        if let Some(key) = literal(arg.trim()) {
            return Ok(scope.opts.get(key).map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            }));
        }
    }
    bail!("unsupported operand {text:?} in condition {expr:?}")
}

fn literal(text: &str) -> Option<&str> {
    for q in ['\'', '"'] {
        if let Some(inner) = text.strip_prefix(q).and_then(|t| t.strip_suffix(q)) {
            return Some(inner);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_used_by_sample_logs() {
        let mut opts = Options::new();
        opts.insert("mode".into(), "aggressive".into());
        let s = Scope {
            name: "sshd",
            opts: &opts,
        };
        assert!(eval("name=='sshd'", &s).unwrap());
        assert!(!eval("name == 'other'", &s).unwrap());
        assert!(eval("opts.get('mode') == 'aggressive'", &s).unwrap());
        assert!(!eval("opts.get('mode') != 'aggressive'", &s).unwrap());
        assert!(eval("opts.get('logtype') != 'journal'", &s).unwrap());
        assert!(eval("name in ('a',)", &s).is_err());
    }
}
