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

use std::sync::Arc;

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

/// The backtracking step limit: about a millisecond of work on this class
/// of machine for fail2ban's own filters' worst lines.
pub const BACKTRACK_LIMIT: usize = 100_000;

#[derive(Clone, Debug)]
enum Engine {
    Linear(regex::Regex),
    Backtracking(fancy_regex::Regex),
}

/// A compiled Python-dialect pattern.
#[derive(Clone, Debug)]
pub struct PyRegex {
    source: String,
    engine: Engine,
    /// Group names by index (index 0 is the whole match).
    names: Arc<[Option<Box<str>>]>,
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
        // Placeholder until the translator lands: everything through
        // fancy-regex, which accepts the Python group syntax.
        let mut b = fancy_regex::RegexBuilder::new(pattern);
        b.multi_line(flags.multiline)
            .case_insensitive(flags.ignore_case)
            .dot_matches_new_line(flags.dotall)
            .backtrack_limit(BACKTRACK_LIMIT);
        let re = b.build().map_err(|e| err(e.to_string()))?;
        let names: Arc<[Option<Box<str>>]> = re
            .capture_names()
            .map(|n| n.map(Box::from))
            .collect::<Vec<_>>()
            .into();
        Ok(PyRegex {
            source: pattern.to_owned(),
            engine: Engine::Backtracking(re),
            names,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Which engine runs it.
    pub fn engine(&self) -> EngineKind {
        match self.engine {
            Engine::Linear(_) => EngineKind::Linear,
            Engine::Backtracking(_) => EngineKind::Backtracking,
        }
    }

    /// Group names, by index; index 0 (the whole match) has none.
    pub fn group_names(&self) -> &[Option<Box<str>>] {
        &self.names
    }

    /// Python's `re.search(text[start:])` semantics with positions kept
    /// relative to `text`: the leftmost match starting at or after `start`.
    /// `^` still means the start of `text` (as Python's `pattern.search(text,
    /// pos)`).
    pub fn search_at(&self, text: &str, start: usize) -> Result<Option<PyMatch>, LimitExceeded> {
        match &self.engine {
            Engine::Linear(re) => {
                let mut locs = re.capture_locations();
                Ok(re
                    .captures_read_at(&mut locs, text, start)
                    .map(|_| PyMatch {
                        spans: (0..locs.len()).map(|i| locs.get(i)).collect(),
                        names: self.names.clone(),
                    }))
            }
            Engine::Backtracking(re) => match re.captures_from_pos(text, start) {
                Ok(Some(caps)) => Ok(Some(PyMatch {
                    spans: (0..caps.len())
                        .map(|i| caps.get(i).map(|m| (m.start(), m.end())))
                        .collect(),
                    names: self.names.clone(),
                })),
                Ok(None) => Ok(None),
                Err(_) => Err(LimitExceeded),
            },
        }
    }

    /// `re.search(text)`.
    pub fn search(&self, text: &str) -> Result<Option<PyMatch>, LimitExceeded> {
        self.search_at(text, 0)
    }
}

impl PyMatch {
    /// The whole match.
    pub fn span(&self) -> (usize, usize) {
        self.spans[0].expect("group 0 always participates")
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
