//! Backslash escapes, as Python 3.11 reads them in str patterns.
//!
//! # Why separate
//!
//! Escapes are where Python and the Rust engines differ most: Python allows
//! escaping any non-alphanumeric character (`\<` is a literal `<`, not a
//! word boundary), rejects unknown letters, reads `\1`..`\99` as
//! back-references but `\0`, `\012` and `\123` as octal, and gives `\b` a
//! different meaning inside a class (backspace). Decoding them to their
//! meaning here means the translator never re-emits a Python escape.

use super::ast::{Assert, PerlKind};
use super::parse::{Parser, Result};

/// What an escape means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Escape {
    Char(char),
    Perl(PerlKind, bool),
    Assert(Assert),
    /// A numbered back-reference (outside classes only).
    Group(usize),
}

/// Reads the escape whose backslash is at `at`; the parser's cursor is just
/// after the backslash.
pub(crate) fn parse(p: &mut Parser, at: usize, in_class: bool) -> Result<Escape> {
    let Some(c) = p.peek() else {
        return Err(p.error_at(at, "bad escape (end of pattern)"));
    };
    p.pos += 1;
    let ascii = p.ascii();
    let simple = match c {
        'a' => Some('\x07'),
        'f' => Some('\x0c'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\x0b'),
        '\\' => Some('\\'),
        'b' if in_class => Some('\x08'),
        _ => None,
    };
    if let Some(ch) = simple {
        return Ok(Escape::Char(ch));
    }
    let perl = |kind, negated| Ok(Escape::Perl(kind, negated));
    match c {
        'd' => perl(PerlKind::Digit, false),
        'D' => perl(PerlKind::Digit, true),
        'w' => perl(PerlKind::Word, false),
        'W' => perl(PerlKind::Word, true),
        's' => perl(PerlKind::Space, false),
        'S' => perl(PerlKind::Space, true),
        'A' if !in_class => Ok(Escape::Assert(Assert::TextStart)),
        'Z' if !in_class => Ok(Escape::Assert(Assert::TextEnd)),
        'b' | 'B' if !in_class => Ok(Escape::Assert(Assert::WordBoundary {
            negated: c == 'B',
            ascii,
        })),
        'x' => hex(p, at, 2, "\\x"),
        'u' => hex(p, at, 4, "\\u"),
        'U' => hex(p, at, 8, "\\U"),
        'N' => Err(p.error_at(at, "named character escapes \\N{...} are not supported")),
        '0' => {
            // `\0` then up to two more octal digits.
            let mut value = 0u32;
            for _ in 0..2 {
                match p.peek().and_then(|d| d.to_digit(8)) {
                    Some(d) => {
                        value = value * 8 + d;
                        p.pos += 1;
                    }
                    None => break,
                }
            }
            Ok(Escape::Char(char::from_u32(value).unwrap_or('\0')))
        }
        '1'..='9' => digits(p, at, c, in_class),
        c if c.is_ascii_alphanumeric() => Err(p.error_at(at, format!("bad escape \\{c}"))),
        // Any other character escapes to itself.
        c => Ok(Escape::Char(c)),
    }
}

/// `\1`..`\99` (back-references) or three octal digits.
fn digits(p: &mut Parser, at: usize, first: char, in_class: bool) -> Result<Escape> {
    let second = p.peek().filter(char::is_ascii_digit);
    let third = p.peek_at(1).filter(char::is_ascii_digit);
    if let (Some(d2), Some(d3)) = (second, third) {
        let octal = [first, d2, d3]
            .iter()
            .map(|d| d.to_digit(8))
            .collect::<Option<Vec<u32>>>();
        if let Some(o) = octal {
            p.pos += 2;
            let value = o[0] * 64 + o[1] * 8 + o[2];
            if value > 0o377 {
                return Err(p.error_at(
                    at,
                    format!("octal escape value \\{first}{d2}{d3} outside of range 0-0o377"),
                ));
            }
            return Ok(Escape::Char(char::from_u32(value).unwrap_or('\0')));
        }
    }
    if in_class {
        // Inside a class only octal is possible: `[\1]` is octal 1, `[\8]`
        // an error.
        if first.is_digit(8) {
            let mut value = first.to_digit(8).unwrap_or(0);
            if let Some(d) = p.peek().and_then(|d| d.to_digit(8)) {
                value = value * 8 + d;
                p.pos += 1;
            }
            return Ok(Escape::Char(char::from_u32(value).unwrap_or('\0')));
        }
        return Err(p.error_at(at, format!("bad escape \\{first}")));
    }
    let mut group = first.to_digit(10).unwrap_or(0) as usize;
    if let Some(d2) = second {
        group = group * 10 + d2.to_digit(10).unwrap_or(0) as usize;
        p.pos += 1;
    }
    Ok(Escape::Group(group))
}

/// Exactly `len` hex digits.
fn hex(p: &mut Parser, at: usize, len: usize, name: &str) -> Result<Escape> {
    let mut value = 0u32;
    for _ in 0..len {
        match p.peek().and_then(|d| d.to_digit(16)) {
            Some(d) => {
                value = value * 16 + d;
                p.pos += 1;
            }
            None => return Err(p.error_at(at, format!("incomplete escape {name}"))),
        }
    }
    match char::from_u32(value) {
        Some(c) => Ok(Escape::Char(c)),
        None => Err(p.error_at(
            at,
            format!("bad escape {name}: {value:#x} is not a character"),
        )),
    }
}
