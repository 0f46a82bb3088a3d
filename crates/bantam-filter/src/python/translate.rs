//! Writing a parsed Python pattern in the syntax of a Rust engine.
//!
//! # Why every node is written explicitly
//!
//! The parse tree already holds Python's meaning; this module writes that
//! meaning out with nothing left to the target's defaults, so that a flag
//! or a default of the `regex` crate (Unicode `\w`, `$` as absolute end,
//! `\<` as a word boundary, nested classes) cannot change it:
//!
//! * Literals are written escaped when they are meta characters in Rust.
//! * `\d` is Unicode's `Nd`, as in Python; `\w` is written as letters,
//!   numbers and `_` (Python's `str.isalnum()` or `_`, checked equal over
//!   every code point); `\s` is Python's exact list, which has
//!   `\x1c`..`\x1f` where Unicode's `White_Space` has not.
//! * `.` is `[^\n]` or "any", by the flags in force where it was written.
//! * Capture groups are written unnamed: Python names live in our own table,
//!   so Rust's stricter name rules never reject a Python name, and
//!   back-references are written by number.
//! * Python's `$` (outside MULTILINE) matches at the end and before a final
//!   `\n`. The linear engine has no look-ahead, so the caller chooses how it
//!   is written ([`Dollar`]) from the text about to be searched.
//!
//! `\b` keeps the Rust engine's Unicode notion of a word character, which
//! differs from Python's on combining marks and on numeric symbols such as
//! `²`; no fail2ban filter puts a boundary next to one.

use std::fmt::Write;

use super::ast::{Assert, Class, ClassItem, Node, Perl, PerlKind, RepeatKind};

/// How Python's non-MULTILINE `$` is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dollar {
    /// `\z`: exact for a text that does not end with `\n`.
    End,
    /// `(?m:$)`: exact for a text whose only `\n` is its last character.
    LineEnd,
    /// `(?=\n?\z)`: exact everywhere, backtracking engine only.
    LookAhead,
}

/// What the translation may assume about the text it will search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub dollar: Dollar,
    /// The text is empty: Python's `\B` cannot match there.
    pub empty_text: bool,
    /// Write a looser pattern for the linear engine, matching wherever the
    /// exact one could (and more): look-around and back-references become
    /// "anything", atomic and possessive become plain, conditionals either
    /// branch. A text it does not match cannot match the exact pattern, so
    /// it screens lines before the backtracker sees them.
    pub relaxed: bool,
    /// The text is ASCII only: every class, dot and boundary is written
    /// for ASCII (`[\x00-\x7F&&…]`), which matches exactly the same in
    /// such a text and compiles to an automaton a fraction of the size
    /// (`\d` alone is 650 Unicode ranges).
    pub ascii: bool,
}

/// Python's `\s` for str patterns (`str.isspace()`).
const PY_SPACE: &str = r"\t\n\x0B\x0C\r\x1C-\x1F \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}";

/// Writes `node` for a Rust engine; `ignore_case` is the case flag in force
/// at the start.
pub(crate) fn translate(node: &Node, ignore_case: bool, target: Target) -> String {
    let mut out = String::new();
    if ignore_case {
        out.push_str("(?i)");
    }
    write_node(&mut out, node, target);
    out
}

fn write_node(out: &mut String, node: &Node, target: Target) {
    match node {
        Node::Empty => out.push_str("(?:)"),
        Node::Literal(c) => write_char(out, *c),
        Node::Dot { dotall: true } if target.ascii => out.push_str(r"[\x00-\x7F]"),
        Node::Dot { dotall: false } if target.ascii => out.push_str(r"[\x00-\x09\x0B-\x7F]"),
        Node::Dot { dotall: true } => out.push_str("(?s:.)"),
        Node::Dot { dotall: false } => out.push_str(r"[^\n]"),
        Node::Class(class) if target.ascii => {
            out.push_str(r"[\x00-\x7F&&");
            write_class(out, class);
            out.push(']');
        }
        Node::Class(class) => write_class(out, class),
        Node::Perl(perl) => {
            out.push('[');
            if target.ascii {
                out.push_str(r"\x00-\x7F&&[");
            }
            write_perl(out, *perl);
            if target.ascii {
                out.push(']');
            }
            out.push(']');
        }
        Node::Assert(a) => write_assert(out, *a, target),
        Node::Group {
            capture,
            ignore_case,
            body,
        } => {
            match (capture, ignore_case) {
                (Some(_), _) => out.push('('),
                (None, None) => out.push_str("(?:"),
                (None, Some(true)) => out.push_str("(?i:"),
                (None, Some(false)) => out.push_str("(?-i:"),
            }
            write_node(out, body, target);
            out.push(')');
        }
        Node::Look { .. } | Node::Atomic(_) | Node::BackRef(_) | Node::Cond { .. }
            if target.relaxed =>
        {
            write_relaxed(out, node, target);
        }
        Node::Look {
            behind,
            negative,
            body,
        } => {
            out.push_str(match (behind, negative) {
                (false, false) => "(?=",
                (false, true) => "(?!",
                (true, false) => "(?<=",
                (true, true) => "(?<!",
            });
            write_node(out, body, target);
            out.push(')');
        }
        Node::Atomic(body) => {
            out.push_str("(?>");
            write_node(out, body, target);
            out.push(')');
        }
        // In a group of its own so that a digit after it stays a digit.
        Node::BackRef(n) => {
            let _ = write!(out, r"(?:\{n})");
        }
        Node::Cond { group, yes, no } => {
            // Both branches in groups of their own: fancy-regex reads
            // `(?(1)(?:a|b))` as the branches `a` and `b`.
            let _ = write!(out, "(?({group})(?:");
            write_node(out, yes, target);
            out.push_str(")|(?:");
            write_node(out, no, target);
            out.push_str("))");
        }
        Node::Repeat {
            body,
            min,
            max,
            kind,
        } => {
            if body.width() == (0, Some(0)) {
                write_zero_width_repeat(out, body, *min, *kind, target);
                return;
            }
            let kind = match kind {
                RepeatKind::Possessive if target.relaxed => &RepeatKind::Greedy,
                k => k,
            };
            // Possessive is atomic greedy: one construct fewer to depend on.
            if *kind == RepeatKind::Possessive {
                out.push_str("(?>");
            }
            out.push_str("(?:");
            write_node(out, body, target);
            out.push(')');
            match (min, max) {
                (0, None) => out.push('*'),
                (1, None) => out.push('+'),
                (0, Some(1)) => out.push('?'),
                (m, None) => {
                    let _ = write!(out, "{{{m},}}");
                }
                (m, Some(n)) if m == n => {
                    let _ = write!(out, "{{{m}}}");
                }
                (m, Some(n)) => {
                    let _ = write!(out, "{{{m},{n}}}");
                }
            }
            match kind {
                RepeatKind::Lazy => out.push('?'),
                RepeatKind::Possessive => out.push(')'),
                RepeatKind::Greedy => {}
            }
        }
        Node::Concat(items) => {
            for item in items {
                write_node(out, item, target);
            }
        }
        Node::Alt(branches) => {
            out.push_str("(?:");
            for (i, b) in branches.iter().enumerate() {
                if i > 0 {
                    out.push('|');
                }
                write_node(out, b, target);
            }
            out.push(')');
        }
    }
}

/// The relaxed form of the constructs only the backtracker runs.
fn write_relaxed(out: &mut String, node: &Node, target: Target) {
    match node {
        Node::Look { .. } => out.push_str("(?:)"),
        Node::BackRef(_) => out.push_str("(?s:.*)"),
        Node::Atomic(body) => {
            out.push_str("(?:");
            write_node(out, body, target);
            out.push(')');
        }
        Node::Cond { yes, no, .. } => {
            out.push_str("(?:(?:");
            write_node(out, yes, target);
            out.push_str(")|(?:");
            write_node(out, no, target);
            out.push_str("))");
        }
        other => write_node(out, other, target),
    }
}

/// A repeated zero-width body (an assertion, a look-around): fancy-regex
/// refuses to repeat those, Python does not. One iteration is all there
/// can be: at least one required means the body once; none required means
/// "the body, or nothing", tried in the repetition's order.
fn write_zero_width_repeat(
    out: &mut String,
    body: &Node,
    min: u32,
    kind: RepeatKind,
    target: Target,
) {
    if min > 0 {
        out.push_str("(?:");
        write_node(out, body, target);
        out.push(')');
        return;
    }
    let (open, close) = match kind {
        RepeatKind::Possessive => ("(?>", ")"),
        RepeatKind::Greedy | RepeatKind::Lazy => ("(?:", ")"),
    };
    out.push_str(open);
    if kind == RepeatKind::Lazy {
        out.push('|');
    }
    write_node(out, body, target);
    if kind != RepeatKind::Lazy {
        out.push('|');
    }
    out.push_str(close);
}

fn write_assert(out: &mut String, a: Assert, target: Target) {
    out.push_str(match a {
        Assert::Start { multiline: false } | Assert::TextStart => r"\A",
        Assert::Start { multiline: true } => "(?m:^)",
        Assert::End { multiline: true } => "(?m:$)",
        Assert::WordBoundary { negated: true, .. } if target.empty_text => r"[^\x{0}-\x{10FFFF}]",
        Assert::End { multiline: false } => match target.dollar {
            Dollar::End => r"\z",
            Dollar::LineEnd => "(?m:$)",
            Dollar::LookAhead => r"(?=\n?\z)",
        },
        Assert::TextEnd => r"\z",
        Assert::WordBoundary {
            negated: false,
            ascii: false,
        } if !target.ascii => r"\b",
        Assert::WordBoundary {
            negated: true,
            ascii: false,
        } if !target.ascii => r"\B",
        Assert::WordBoundary { negated: false, .. } => r"(?-u:\b)",
        Assert::WordBoundary { negated: true, .. } => r"(?-u:\B)",
    });
}

/// A literal character, escaped if Rust would read it as syntax; controls
/// and spaces as hex so the translation reads unambiguously.
fn write_char(out: &mut String, c: char) {
    // Never `\<` or `\>`: those are word boundaries in both Rust engines.
    if regex_syntax::is_meta_character(c) {
        out.push('\\');
        out.push(c);
    } else if c.is_control() || c.is_whitespace() {
        let _ = write!(out, r"\x{{{:X}}}", c as u32);
    } else {
        out.push(c);
    }
}

fn write_class(out: &mut String, class: &Class) {
    out.push('[');
    if class.negated {
        out.push('^');
    }
    if class.items.is_empty() {
        // Unreachable from Python syntax (`[]` is not a class), kept total.
        out.push_str(r"\x{0}&&\x{1}");
    }
    for item in &class.items {
        match *item {
            ClassItem::Char(c) => write_class_char(out, c),
            ClassItem::Range(lo, hi) => {
                write_class_char(out, lo);
                out.push('-');
                write_class_char(out, hi);
            }
            ClassItem::Perl(perl) => write_perl(out, perl),
        }
    }
    out.push(']');
}

/// Inside a Rust class `[`, `&&`, `--` and `~~` are syntax, none of them in
/// Python: every meta character is escaped.
fn write_class_char(out: &mut String, c: char) {
    if regex_syntax::is_meta_character(c) {
        out.push('\\');
        out.push(c);
    } else if c.is_control() || c.is_whitespace() {
        let _ = write!(out, r"\x{{{:X}}}", c as u32);
    } else {
        out.push(c);
    }
}

/// The class items for `perl`, to go inside `[...]`; a negated one is a
/// nested negated class (a union member in Rust syntax).
fn write_perl(out: &mut String, perl: Perl) {
    let items = match (perl.kind, perl.ascii) {
        (PerlKind::Digit, false) => r"\p{Nd}",
        (PerlKind::Digit, true) => "0-9",
        (PerlKind::Word, false) => r"\p{L}\p{N}_",
        (PerlKind::Word, true) => "0-9A-Za-z_",
        (PerlKind::Space, false) => PY_SPACE,
        (PerlKind::Space, true) => r"\t\n\x0B\x0C\r ",
    };
    if perl.negated {
        out.push_str("[^");
        out.push_str(items);
        out.push(']');
    } else {
        out.push_str(items);
    }
}
