//! Python's `re` dialect, as fail2ban filters are written in it.
//!
//! # Why
//!
//! fail2ban's users have years of filters written for Python's `re`. To run
//! them unchanged we compile each pattern to the linear-time `regex` crate
//! when its meaning survives the trip, and only otherwise (look-around,
//! back-references `(?P=name)`, conditionals `(?(name)yes|no)`) to the
//! backtracking `fancy-regex`, with a step limit so that one hostile line
//! costs about a millisecond at most: a line that exceeds it is treated as
//! not matching, and counted.
//!
//! The dialect hides traps, each translated explicitly (see `translate`):
//! Python's `$` also matches before a final newline; `\<` and `\>` are
//! literal characters in Python but word boundaries in Rust engines; an
//! unescaped `[` inside a class is literal in Python but starts a nested
//! class in Rust; `{,n}` means `{0,n}`; a `{` that does not start a
//! repetition is literal.
//!
//! The pipeline: `parse` (with `escape` and `flags`) reads Python's grammar
//! into an `ast` holding Python's meaning; `translate` writes that for an
//! engine.
//!
//! # Fidelity
//!
//! Checked live against Python 3.11's own `re` (the oracle tests in
//! `tests/`): a table of traps, every regex of fail2ban's filters on its
//! sample logs, and random patterns. The known differences:
//!
//! * `\N{NAME}` is refused (we carry no table of Unicode names).
//! * A loop whose body can match empty ([`PyRegex::has_empty_loop`]): Python
//!   ends it at the first empty iteration and records that iteration in its
//!   groups; the Rust engines try the body's other alternatives first.
//! * `\b`/`\B` use the Rust engines' word characters, which differ from
//!   Python's `\w` on combining marks and numeric symbols (`²`, `½`).
//! * A back-reference inside a look-behind is refused where Python accepts
//!   one of fixed width.
//! * Possessive quantifiers follow Python's documentation (`x*+` is
//!   `(?>x*)`), as CPython does since 3.11.5 (gh-106052).
//! * Group names are checked as letters, digits and `_`, a close
//!   approximation of Python's `str.isidentifier()`.

pub(crate) mod anchored;
mod ast;
mod backtrack;
mod branches;
mod engine;
mod escape;
mod flags;
mod linearize;
pub(crate) mod needles;
mod parse;
mod tail;
#[cfg(test)]
mod tests;
mod translate;

use std::sync::Arc;

use engine::{compile, run, write, Form, NoAnswer};
use translate::Dollar;

/// How a pattern is compiled, as Python's `re` flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PyFlags {
    /// `re.MULTILINE`: `^`/`$` match at every line.
    pub multiline: bool,
    /// `re.IGNORECASE`.
    pub ignore_case: bool,
    /// `re.DOTALL`: `.` matches `\n` too.
    pub dotall: bool,
}

/// Why a Python pattern could not be compiled.
#[derive(Debug, thiserror::Error)]
#[error("python regex {pattern:?} does not compile: {reason}")]
pub struct PyRegexError {
    pub pattern: String,
    pub reason: String,
}

/// Which engine runs a pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineKind {
    /// The linear-time `regex` crate.
    Linear,
    /// `fancy-regex`, with a backtracking step limit.
    Backtracking,
}

/// The backtracking step limit: about a millisecond for the worst line.
/// Measured (`examples/python_regex_speed.rs`, release, a 2-core VM with
/// the other core busy): 100,000 steps took 2.0 ms on a hostile line, and
/// 50,000 took 1.1 to 1.7 ms. fail2ban's own regexes stay far below it on
/// its sample logs (the oracle test would report a line that hit it), and
/// most lines never reach the backtracker (see the linear screen).
pub const BACKTRACK_LIMIT: usize = 50_000;

/// A compiled Python-dialect pattern.
#[derive(Clone, Debug)]
pub struct PyRegex {
    source: String,
    /// The main translation, for messages and tests.
    translated: String,
    kind: EngineKind,
    /// The linear screen (see [`PyRegex::screen_pattern`]), and the same
    /// for ASCII texts.
    screen: Option<String>,
    ascii_screen: Option<String>,
    /// The form for any text, and the one for ASCII texts; shared by clones.
    unicode: Arc<Form>,
    ascii: Arc<Form>,
    /// The form for an empty text, when it differs.
    on_empty: Option<Arc<engine::Engine>>,
    /// A repetition whose body can match empty (see [`PyRegex::has_empty_loop`]).
    empty_loop: bool,
    /// Group names by index (index 0 is the whole match).
    names: Arc<[Option<Box<str>>]>,
    /// When the pattern was rewritten (`linearize`): the original group
    /// of each compiled one.
    groups: Option<Arc<[usize]>>,
    /// The faster form of an `X(.+)$` pattern, shared by clones.
    tail: Option<Arc<tail::Tail>>,
    /// The faster form of an alternation of anchored branches.
    branches: Option<Arc<branches::Branches>>,
    /// Literals every match holds (see `needles`).
    needles: Option<needles::Needles>,
}

/// The spans of one match: group index → byte range in the searched text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PyMatch {
    spans: Vec<Option<(usize, usize)>>,
    names: Arc<[Option<Box<str>>]>,
}

/// A search gave up: the backtracking limit was exceeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the pattern exceeded its backtracking limit on this input")]
pub struct LimitExceeded;

impl PyRegex {
    /// Compiles a Python-dialect pattern.
    pub fn new(pattern: &str, flags: PyFlags) -> Result<PyRegex, PyRegexError> {
        let err = |reason: String| PyRegexError {
            pattern: pattern.to_owned(),
            reason,
        };
        let parsed = parse::parse(pattern, flags)
            .map_err(|e| err(format!("{} at position {}", e.what, e.at)))?;
        // Conditionals and guarded dots the linear engine can run exactly
        // (see `linearize`); the groups are numbered anew and mapped back.
        let (compiled, groups) = match linearize::linearize(&parsed.node) {
            Some(l) if !parsed.ignore_case => (
                parse::Parsed {
                    node: l.node,
                    names: Vec::new(),
                    ignore_case: false,
                },
                Some(l.groups.into()),
            ),
            _ => (
                parse::Parsed {
                    node: parsed.node.clone(),
                    names: Vec::new(),
                    ignore_case: parsed.ignore_case,
                },
                None,
            ),
        };
        let kind = if compiled.node.needs_backtracking() {
            EngineKind::Backtracking
        } else {
            EngineKind::Linear
        };
        let dollar = compiled.node.has_python_dollar();
        let screen_text = |ascii| match kind {
            EngineKind::Linear if dollar => {
                Some(write(&compiled, Dollar::LineEnd, false, false, ascii))
            }
            EngineKind::Linear => Some(write(&compiled, Dollar::End, false, false, ascii)),
            EngineKind::Backtracking => None,
        };
        let translated = write(
            &compiled,
            match kind {
                EngineKind::Linear => Dollar::End,
                EngineKind::Backtracking => Dollar::LookAhead,
            },
            false,
            false,
            false,
        );
        let (mut screen, ascii_screen) = (screen_text(false), screen_text(true));
        let copy = || parse::Parsed {
            node: compiled.node.clone(),
            names: Vec::new(),
            ignore_case: compiled.ignore_case,
        };
        let ascii = Form::lazy(pattern, copy(), true);
        let unicode = match kind {
            // Compiled now: the backtracker's refusals are reported here.
            EngineKind::Backtracking => {
                let engine = compile(&compiled, pattern, false, false)?;
                if let engine::Engine::Backtracking {
                    screen: Some(s), ..
                } = &engine
                {
                    screen = Some(s.as_str().to_owned());
                }
                Form::compiled(pattern, copy(), false, engine)
            }
            // One form compiled now, so that a pattern that cannot compile
            // is refused here; the ASCII one is the smaller.
            EngineKind::Linear => {
                let unicode = Form::lazy(pattern, copy(), false);
                if ascii.check().is_err() {
                    unicode.check()?;
                }
                unicode
            }
        };
        let ascii_screen = match kind {
            EngineKind::Linear => ascii_screen,
            EngineKind::Backtracking => screen.clone(),
        };
        let tail = if groups.is_none() {
            tail::Tail::new(&compiled, pattern).map(Arc::new)
        } else {
            None
        };
        // Python's `\B` never matches in an empty text (3.11; the Rust
        // engines' does): such patterns get a form for empty texts.
        let on_empty = if compiled.node.has_not_word_boundary() {
            Some(Arc::new(compile(&compiled, pattern, true, false)?))
        } else {
            None
        };
        let branches = if on_empty.is_none() {
            branches::Branches::new(&compiled, pattern).map(Arc::new)
        } else {
            None
        };
        let needles = needles::Needles::of(&parsed.node, parsed.ignore_case);
        let names: Arc<[Option<Box<str>>]> = parsed
            .names
            .into_iter()
            .map(|n| n.map(String::into_boxed_str))
            .collect::<Vec<_>>()
            .into();
        Ok(PyRegex {
            source: pattern.to_owned(),
            translated,
            kind,
            screen,
            ascii_screen,
            unicode: Arc::new(unicode),
            ascii: Arc::new(ascii),
            on_empty,
            empty_loop: parsed.node.has_empty_loop(),
            names,
            groups,
            tail,
            branches,
            needles,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The pattern as given to the engine (for a pattern with Python's `$`,
    /// the form used for texts without a final `\n`).
    pub fn translated(&self) -> &str {
        &self.translated
    }

    /// Whether a repetition (`*`, `+`, `{m,}`, `{m,n}` with n > 1) has a
    /// body that can match the empty string. Only there can results
    /// differ from Python's: Python ends such a loop at the first iteration
    /// that matches empty (recording it in the groups), where the Rust
    /// engines go on to the body's next alternative. `(\s*)*` is one;
    /// fail2ban's filters have none that matters.
    pub fn has_empty_loop(&self) -> bool {
        self.empty_loop
    }

    /// Which engine runs it.
    pub fn engine(&self) -> EngineKind {
        self.kind
    }

    /// A linear-time pattern (for the `regex` crate) that matches every
    /// text this one matches from the start, and maybe more: a cheap screen
    /// for deciding that a text cannot match. `None` when there is none.
    /// For a pattern with Python's `$` it is the `(?m:$)` form; for one
    /// that needs backtracking, its relaxed form.
    pub fn screen_pattern(&self) -> Option<&str> {
        self.screen.as_deref()
    }

    /// [`PyRegex::screen_pattern`] for ASCII texts: it matches the same
    /// ASCII texts, and compiles to a far smaller automaton.
    pub fn ascii_screen_pattern(&self) -> Option<&str> {
        self.ascii_screen.as_deref()
    }

    /// Literals every match holds, if any is worth looking for.
    pub(crate) fn needles(&self) -> Option<&needles::Needles> {
        self.needles.as_ref()
    }

    /// Group names, by index; index 0 (the whole match) has none.
    pub fn group_names(&self) -> &[Option<Box<str>>] {
        &self.names
    }

    /// Python's `re.search(text[start:])` semantics with positions kept
    /// relative to `text`: the leftmost match starting at or after `start`.
    /// `^` still means the start of `text` (as Python's `pattern.search(text,
    /// pos)`). A `start` past the end finds nothing; one inside a character
    /// counts from the next character.
    pub fn search_at(&self, text: &str, start: usize) -> Result<Option<PyMatch>, LimitExceeded> {
        if start > text.len() {
            return Ok(None);
        }
        let mut start = start;
        while !text.is_char_boundary(start) {
            start += 1;
        }
        if let Some(found) = self.tail.as_ref().and_then(|t| t.search(text, start)) {
            return Ok(found.map(|spans| self.matched(spans)));
        }
        if let Some(found) = self.branches.as_ref().and_then(|b| b.search(text, start)) {
            return Ok(found?.map(|spans| self.matched(spans)));
        }
        let engine = match &self.on_empty {
            Some(on_empty) if text.is_empty() => Some(&**on_empty),
            _ if text.is_ascii() => self.ascii.engine(),
            _ => None,
        };
        let found = match engine.map(|e| run(e, text, start)) {
            Some(Err(NoAnswer::Unavailable)) | None => {
                // The form for any text; one of its forms compiled when
                // the pattern did, and the others are written alike.
                let engine = self.unicode.engine().ok_or(LimitExceeded)?;
                run(engine, text, start)?
            }
            Some(found) => found?,
        };
        Ok(found.map(|spans| self.matched(spans)))
    }

    /// `re.search(text)`.
    pub fn search(&self, text: &str) -> Result<Option<PyMatch>, LimitExceeded> {
        self.search_at(text, 0)
    }

    /// A match in the numbering of the pattern as written: of the copies
    /// of a group a rewrite made, the one that took part.
    fn matched(&self, spans: Vec<Option<(usize, usize)>>) -> PyMatch {
        let spans = match &self.groups {
            None => spans,
            Some(groups) => {
                let mut orig = vec![None; self.names.len()];
                for (span, &g) in spans.into_iter().zip(groups.iter()) {
                    if let Some(slot) = orig.get_mut(g).filter(|s| s.is_none()) {
                        *slot = span;
                    }
                }
                orig
            }
        };
        PyMatch {
            spans,
            names: self.names.clone(),
        }
    }
}

impl PyMatch {
    /// The whole match.
    pub fn span(&self) -> (usize, usize) {
        self.spans.first().copied().flatten().unwrap_or((0, 0))
    }

    /// Group `i`'s span, if it participated.
    pub fn get(&self, i: usize) -> Option<(usize, usize)> {
        self.spans.get(i).copied().flatten()
    }

    /// The named group's span, if it exists and participated.
    pub fn name(&self, name: &str) -> Option<(usize, usize)> {
        let i = self.names.iter().position(|n| n.as_deref() == Some(name))?;
        self.get(i)
    }

    /// Every named group that participated, in pattern order.
    pub fn named(&self) -> impl Iterator<Item = (&str, (usize, usize))> + '_ {
        self.names
            .iter()
            .enumerate()
            .filter_map(|(i, n)| Some((n.as_deref()?, self.get(i)?)))
    }
}
