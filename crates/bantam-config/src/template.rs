//! `{name}` templates for notification subjects and bodies.
//!
//! Deliberately tiny: literal text and `{field}` references, `{{` and `}}`
//! for literal braces. No expressions, no conditionals, no escapes of its
//! own: a template is parsed once at start, so an unknown name is refused
//! with the configuration error rather than mailed as `{jial}` at 3 a.m.

use std::fmt;

/// The fields a notification template may name: a ban's facts and the
/// server's name. Each is produced by `bantam-notify` for every event.
pub const FIELDS: &[&str] = &[
    "jail", "address", "failures", "matches", "bantime", "bancount", "server",
];

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    /// One of [`FIELDS`].
    Field(&'static str),
}

/// A parsed template whose every field name is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

impl Template {
    /// Parses `text`; the error says which name or brace is wrong.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.peek().is_some_and(|(_, n)| *n == '{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek().is_some_and(|(_, n)| *n == '}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let rest = &text[at + 1..];
                    let Some(end) = rest.find('}') else {
                        return Err(format!("unclosed {{ at byte {at} (write {{{{ for a brace)"));
                    };
                    let name = &rest[..end];
                    let field = FIELDS.iter().find(|f| **f == name).ok_or_else(|| {
                        format!("unknown field {{{name}}} (known: {})", FIELDS.join(", "))
                    })?;
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Field(field));
                    // Skip the name and the closing brace.
                    for _ in 0..=name.chars().count() {
                        chars.next();
                    }
                }
                '}' => return Err(format!("lone }} at byte {at} (write }}}} for a brace)")),
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Template { pieces })
    }

    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// Whether the template names `field`.
    pub fn uses(&self, field: &str) -> bool {
        self.pieces
            .iter()
            .any(|p| matches!(p, Piece::Field(f) if *f == field))
    }

    /// The text with each field replaced by `value(name)`.
    pub fn render(&self, mut value: impl FnMut(&'static str) -> String) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Field(f) => out.push_str(&value(f)),
            }
        }
        out
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => write!(f, "{}", t.replace('{', "{{").replace('}', "}}"))?,
                Piece::Field(name) => write!(f, "{{{name}}}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_braces() {
        let t = Template::parse("[bantam {server}] {jail}: {{x}} {address}").unwrap();
        let out = t.render(|f| f.to_uppercase());
        assert_eq!(out, "[bantam SERVER] JAIL: {x} ADDRESS");
        assert!(t.uses("server"));
        assert!(!t.uses("matches"));
        assert_eq!(t.to_string(), "[bantam {server}] {jail}: {{x}} {address}");
    }

    #[test]
    fn unknown_names_and_stray_braces_are_refused() {
        assert_eq!(
            Template::parse("{jial}").unwrap_err(),
            "unknown field {jial} (known: jail, address, failures, matches, bantime, bancount, server)"
        );
        assert!(Template::parse("a { b")
            .unwrap_err()
            .starts_with("unclosed {"));
        assert!(Template::parse("a } b").unwrap_err().starts_with("lone }"));
        assert!(Template::parse("{}")
            .unwrap_err()
            .starts_with("unknown field {}"));
    }

    #[test]
    fn non_ascii_text_survives() {
        let t = Template::parse("Sperre auf {server} – {jail} ✓").unwrap();
        assert_eq!(t.render(|_| "x".into()), "Sperre auf x – x ✓");
    }
}
