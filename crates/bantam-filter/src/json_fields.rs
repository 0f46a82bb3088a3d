//! One JSON log line as a [`Fields`] record: dotted paths walk nested
//! objects (`request.remote_ip`), and a path segment that is a number
//! indexes an array (`request.headers.X-Forwarded-For.0`).

use std::borrow::Cow;

use serde_json::Value;

use crate::fields::{FieldPath, Fields};

/// A parsed JSON object.
#[derive(Debug)]
pub struct JsonFields(Value);

impl JsonFields {
    /// The line as a JSON object; `None` for anything else (malformed text,
    /// a bare number, an array), which the caller counts and skips.
    pub fn parse(line: &[u8]) -> Option<JsonFields> {
        match serde_json::from_slice::<Value>(line) {
            Ok(value @ Value::Object(_)) => Some(JsonFields(value)),
            _ => None,
        }
    }
}

impl Fields for JsonFields {
    fn field(&self, path: &FieldPath) -> Option<Cow<'_, str>> {
        let mut at = &self.0;
        for segment in path.segments() {
            at = match at {
                Value::Object(map) => map.get(segment)?,
                Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        match at {
            Value::String(s) => Some(Cow::Borrowed(s)),
            Value::Number(n) => Some(Cow::Owned(n.to_string())),
            Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            Value::Null | Value::Object(_) | Value::Array(_) => None,
        }
    }
}
