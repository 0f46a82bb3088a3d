//! One date template: how a `datepattern` line becomes a regex, where the
//! date must start and end, and which group holds the date.
//!
//! # Why the boundaries matter
//!
//! fail2ban does not search a pattern as written. Unless told otherwise it
//! requires the date to start and end at a word boundary (so `12:00:00` is
//! not found inside `112:00:001`), `{^LN-BEG}` puts it at the start of the
//! line after at most two non-word characters, `{UNB}` and a leading or
//! trailing `**` switch the boundaries off, and `^`/`$` in the pattern make
//! the template "anchored", which changes how the detector searches (see
//! `detector`). The text cut out of the line is the first capturing group,
//! and when the pattern has none the whole date is wrapped in one. All of
//! this decides which span the rules never see, so it is reproduced here.
//!
//! The boundaries are written as `(?:\b|(?<!\w))` before the date (no word
//! character on both sides of the start) and `(?:\b|(?!\w))` after it.

use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::directives::{expand, wants_ignore_case, YearLimit};
use super::epoch;
use super::strptime;
use crate::error::FilterError;
use crate::python::{PyFlags, PyMatch, PyRegex};

const WORD_START: &str = r"(?:\b|(?<!\w))";
const WORD_END: &str = r"(?:\b|(?!\w))";
/// `{^LN-BEG}`: the line's start, then at most two non-word characters
/// (`[`, `<`, a space …) that are not part of the date.
const LINE_START: &str = r"^\W{0,2}";

/// What a template is made from; kept so that it can be rebuilt when the
/// range of `%ExY` years moves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Recipe {
    /// A `%`-pattern (with optional `{^LN-BEG}`/`{UNB}` prefix).
    Pattern(String),
    /// `EPOCH`/`LEPOCH`, alone or at the line start.
    Epoch { line_begin: bool, long: bool },
    /// A regex around `{EPOCH}`/`{LEPOCH}` placeholders.
    EpochPattern { text: String, long: bool },
    /// `TAI64N`, alone or at the line start.
    Tai64n { line_begin: bool },
}

/// How the matched text becomes an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reader {
    Fields,
    Epoch { group: usize, long: bool },
    Tai64n,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Begin {
    Free,
    Word,
    Line,
}

/// A compiled template.
#[derive(Clone, Debug)]
pub(crate) struct Template {
    pub recipe: Recipe,
    pub regex: PyRegex,
    reader: Reader,
    /// Anchored at the line start (`{^LN-BEG}` or `^`).
    pub line_begin: bool,
    /// Anchored at the line end (`$`).
    pub line_end: bool,
    /// fail2ban's preference weight: 100 for the line-start copies of the
    /// default templates, 1 otherwise.
    pub weight: f64,
}

impl Template {
    pub fn build(recipe: Recipe, years: YearLimit, weight: f64) -> Result<Template, FilterError> {
        let fail = |pattern: &str, reason: String| FilterError::Regex {
            what: format!("datepattern template {pattern:?}"),
            pattern: pattern.to_owned(),
            reason,
        };
        let (shape, reader) = match &recipe {
            Recipe::Pattern(text) => {
                let (mut begin, mut end) = (Begin::Word, true);
                let mut body = text.as_str();
                if let Some(rest) = body.strip_prefix("{UNB}") {
                    body = rest;
                    (begin, end) = (Begin::Free, false);
                }
                if begin != Begin::Free {
                    if let Some(rest) = body.strip_prefix("{^LN-BEG}") {
                        body = rest;
                        begin = Begin::Line;
                    }
                }
                let mut regex = expand(body, years).map_err(|r| fail(text, r))?;
                if wants_ignore_case(body) {
                    regex.insert_str(0, "(?i)");
                }
                (shape(&regex, begin, end), Reader::Fields)
            }
            Recipe::Epoch { line_begin, long } => {
                let digits = if *long { epoch::LONG } else { epoch::SECONDS };
                let shaped = if *line_begin {
                    shape(&format!("({digits})"), Begin::Line, true)
                } else {
                    let prefix = epoch::ANYWHERE_PREFIX;
                    shape(&format!("{prefix}({digits})"), Begin::Free, true)
                };
                let reader = Reader::Epoch {
                    group: 1,
                    long: *long,
                };
                (shaped, reader)
            }
            Recipe::EpochPattern { text, long } => {
                let digits = if *long { epoch::LONG } else { epoch::SECONDS };
                let inner = replace_placeholders(text, &format!("({digits})"));
                let reader = Reader::Epoch {
                    group: 2,
                    long: *long,
                };
                (shape(&format!("({inner})"), Begin::Word, true), reader)
            }
            Recipe::Tai64n { line_begin } => {
                let begin = if *line_begin {
                    Begin::Line
                } else {
                    Begin::Free
                };
                (shape(epoch::TAI64N, begin, true), Reader::Tai64n)
            }
        };
        let source = recipe_text(&recipe);
        let regex =
            PyRegex::new(&shape.regex, PyFlags::default()).map_err(|e| fail(&source, e.reason))?;
        if regex.group_names().len() < 2 {
            return Err(fail(&source, "the template has no group".into()));
        }
        Ok(Template {
            recipe,
            regex,
            reader,
            line_begin: shape.line_begin,
            line_end: shape.line_end,
            weight,
        })
    }

    /// Anchored templates are retried in full on every line.
    pub fn anchored(&self) -> bool {
        self.line_begin || self.line_end
    }

    /// The instant of a match of this template, or `None` when fail2ban
    /// would not produce one (Feb 30, an unknown zone …). See
    /// `strptime::read` for `zone` and `system`.
    pub fn read(
        &self,
        line: &str,
        m: &PyMatch,
        zone: &TimeZone,
        system: Option<&TimeZone>,
        now: Timestamp,
    ) -> Option<Timestamp> {
        match self.reader {
            Reader::Fields => strptime::read(line, m, zone, system, now),
            Reader::Epoch { group, long } => {
                let (s, e) = m.get(group)?;
                epoch::epoch(&line[s..e], long)
            }
            Reader::Tai64n => {
                let (s, e) = m.get(1)?;
                epoch::tai64n(&line[s..e])
            }
        }
    }
}

fn recipe_text(r: &Recipe) -> String {
    match r {
        Recipe::Pattern(t) | Recipe::EpochPattern { text: t, .. } => t.clone(),
        Recipe::Epoch { long: false, .. } => "EPOCH".into(),
        Recipe::Epoch { long: true, .. } => "LEPOCH".into(),
        Recipe::Tai64n { .. } => "TAI64N".into(),
    }
}

/// Whether `text` holds a `{EPOCH}`/`{LEPOCH}` placeholder (any case).
pub(crate) fn has_placeholder(text: &str) -> bool {
    replace_placeholders(text, "\u{0}") != text
}

/// Replaces every unescaped `{EPOCH}`/`{LEPOCH}` (any case) with `with`.
fn replace_placeholders(text: &str, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let b = text.as_bytes();
    while i < b.len() {
        if b[i] == b'{' && (i == 0 || b[i - 1] != b'\\') {
            let rest = &text[i..];
            let len = ["{EPOCH}", "{LEPOCH}"]
                .iter()
                .find(|p| {
                    rest.get(..p.len())
                        .is_some_and(|r| r.eq_ignore_ascii_case(p))
                })
                .map(|p| p.len());
            if let Some(len) = len {
                out.push_str(with);
                i += len;
                continue;
            }
        }
        let c = text[i..].chars().next().unwrap_or_default();
        out.push(c);
        i += c.len_utf8().max(1);
    }
    out
}

struct Shape {
    regex: String,
    line_begin: bool,
    line_end: bool,
}

/// Adds the boundaries and the date group to a template's regex.
fn shape(regex: &str, begin: Begin, end: bool) -> Shape {
    let (flags, body) = lift_flags(regex.trim());
    let bound_begin = begin != Begin::Free && !opens_unbounded(&body);
    let bound_end = end && !closes_unbounded(&body);
    let body = if has_plain_group(&body) {
        body
    } else {
        wrap_group(&body)
    };
    let mut out = String::with_capacity(body.len() + 32);
    let mut line_begin = false;
    if bound_begin {
        if begin == Begin::Line {
            out.push_str(LINE_START);
            line_begin = true;
        } else {
            out.push_str(WORD_START);
        }
    }
    out.push_str(&body);
    if bound_end {
        out.push_str(WORD_END);
    }
    line_begin |= opens_at_line(&out);
    let line_end = closes_at_line(&out);
    let mut regex = strip_stars(&out);
    if let Some(f) = flags {
        regex.insert_str(0, &f);
    }
    Shape {
        regex,
        line_begin,
        line_end,
    }
}

/// Length of an inline flag group `(?ai…)` at the start of `s`, if any.
fn flag_group_len(s: &str, word: bool) -> Option<usize> {
    let rest = s.strip_prefix("(?")?;
    let n = rest
        .bytes()
        .take_while(|b| {
            if word {
                b.is_ascii_alphanumeric() || *b == b'_'
            } else {
                b.is_ascii_lowercase()
            }
        })
        .count();
    (n > 0 && rest.as_bytes().get(n) == Some(&b')')).then_some(n + 3)
}

/// Moves the first inline flag group out of the pattern, to put it back in
/// front once the boundaries are added (Python wants global flags first).
fn lift_flags(s: &str) -> (Option<String>, String) {
    for (i, _) in s.match_indices("(?") {
        if let Some(len) = flag_group_len(&s[i..], false) {
            let flags = s[i..i + len].to_owned();
            return (Some(flags), format!("{}{}", &s[..i], &s[i + len..]));
        }
    }
    (None, s.to_owned())
}

/// The pattern starts at the line (`^`, `(^`, `(?:^`) or with `**`: no
/// word boundary in front.
fn opens_unbounded(s: &str) -> bool {
    let parens = s.bytes().take_while(|b| *b == b'(').count();
    (0..=parens).rev().any(|k| {
        let rest = &s[k..];
        let after_flags = flag_group_len(rest, true).map(|n| &rest[n..]);
        [Some(rest), after_flags].into_iter().flatten().any(|r| {
            r.starts_with('^')
                || r.trim_start_matches('(').starts_with("**")
                || r.starts_with("(^")
                || r.starts_with("(?:^")
        })
    })
}

fn escaped(s: &str, at: usize) -> bool {
    at > 0 && s.as_bytes()[at - 1] == b'\\'
}

/// The pattern ends at the line (`$`), at its own boundary (`\b`, `\s`) or
/// with `**`: no word boundary after it.
fn closes_unbounded(s: &str) -> bool {
    let dollar = s.strip_suffix('$').or_else(|| s.strip_suffix("$)"));
    if let Some(r) = dollar {
        if !escaped(s, r.len()) {
            return true;
        }
    }
    for tail in [r"\b", r"\s"] {
        if let Some(r) = s.strip_suffix(tail) {
            if !escaped(s, r.len()) {
                return true;
            }
        }
    }
    let r = s.trim_end_matches(')');
    r.strip_suffix("**").is_some_and(|p| !escaped(s, p.len()))
}

fn opens_at_line(s: &str) -> bool {
    let r = flag_group_len(s, true).map_or(s, |n| &s[n..]);
    r.starts_with('^')
        || ["(^", "(?:^"]
            .iter()
            .any(|p| r.strip_prefix(p).is_some_and(|rest| !rest.starts_with('|')))
}

fn closes_at_line(s: &str) -> bool {
    let r = s.strip_suffix('$').or_else(|| s.strip_suffix("$)"));
    r.is_some_and(|r| !r.ends_with('\\') && !r.ends_with('|'))
}

/// A capturing group that is neither named nor special: `(` not escaped,
/// not followed by `?`, not the condition of `(?(…)`.
fn has_plain_group(s: &str) -> bool {
    let b = s.as_bytes();
    (0..b.len()).any(|i| {
        b[i] == b'('
            && (i == 0 || b[i - 1] != b'\\')
            && b.get(i + 1) != Some(&b'?')
            && !(i >= 2 && &b[i - 2..i] == b"(?")
    })
}

/// Wraps everything but a leading `^` (and flags) and a trailing `$` in
/// the date group.
fn wrap_group(s: &str) -> String {
    let mut head = 0;
    if let Some(n) = flag_group_len(s, true) {
        head = n;
    }
    if s[head..].starts_with('^') {
        head += 1;
    }
    if let Some(n) = flag_group_len(&s[head..], true) {
        head += n;
    }
    let mut tail = s.len();
    if tail > head && s.ends_with('$') && !escaped(s, tail - 1) {
        tail -= 1;
    }
    format!("{}({}){}", &s[..head], &s[head..tail], &s[tail..])
}

/// Removes the `**` markers (they only switch the boundaries off).
fn strip_stars(s: &str) -> String {
    let mut out = s.to_owned();
    let r = out.trim_end_matches(')');
    if let Some(p) = r.strip_suffix("**") {
        if !escaped(&out, p.len()) {
            let at = p.len();
            out.replace_range(at..at + 2, "");
        }
    }
    let mut i = out.bytes().take_while(|b| *b == b'(').count();
    if let Some(n) = flag_group_len(&out[i..], true) {
        i += n;
    }
    i += out[i..].bytes().take_while(|b| *b == b'(').count();
    if out[i..].starts_with("**") {
        out.replace_range(i..i + 2, "");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let s = shape("%Y", Begin::Word, true);
        assert_eq!(s.regex, format!("{WORD_START}(%Y){WORD_END}"));
        assert!(!s.line_begin);
        let s = shape("^abc$", Begin::Word, true);
        assert_eq!(s.regex, "^(abc)$");
        assert!(s.line_begin && s.line_end);
        let s = shape("x", Begin::Line, true);
        assert_eq!(s.regex, format!("{LINE_START}(x){WORD_END}"));
        assert!(s.line_begin);
        let s = shape("^WARNING:()**", Begin::Word, true);
        assert_eq!(s.regex, "^WARNING:()");
        let s = shape("(?i)x", Begin::Word, true);
        assert_eq!(s.regex, format!("(?i){WORD_START}(x){WORD_END}"));
        let s = shape(r"a\b", Begin::Word, true);
        assert_eq!(s.regex, format!(r"{WORD_START}(a\b)"));
    }

    #[test]
    fn placeholders() {
        assert!(has_placeholder("^x {epoch}"));
        assert!(!has_placeholder(r"^x \{EPOCH}"));
        assert_eq!(replace_placeholders("a{LEPOCH}b", "N"), "aNb");
    }
}
