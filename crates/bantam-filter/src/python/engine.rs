//! The compiled forms of a pattern, and searching with one.
//!
//! # Why most of it is compiled on first use
//!
//! A pattern has up to five compiled forms: for any text and for ASCII
//! texts (see [`Form`]), and, with Python's `$`, one per meaning of `$`
//! (see [`Dollar`]), one of them for the backtracking engine. Compiling
//! them all cost more than running a filter over a day of auth.log: the
//! Unicode forms (`\w`, `\d` are hundreds of ranges) took most of a
//! filter's start-up. A log of ASCII lines, whose buffers end with one
//! `\n`, needs only the ASCII form with `(?m:$)`; the others wait until a
//! text needs them. `PyRegex::new` still compiles one form, so that a
//! pattern that cannot compile is refused at once.

use std::sync::OnceLock;

use super::anchored::AnchoredSpans;
use super::parse;
use super::tail::Spans;
use super::translate::{self, Dollar, Target};
use super::{LimitExceeded, PyRegexError, BACKTRACK_LIMIT};

/// Regex text and its compiled form, made on first use (`None` if it
/// does not compile: the caller falls back or gives up).
#[derive(Debug)]
pub(super) struct Lazy<T> {
    text: String,
    compiled: OnceLock<Option<T>>,
}

impl<T> Lazy<T> {
    fn new(text: String) -> Lazy<T> {
        Lazy {
            text,
            compiled: OnceLock::new(),
        }
    }

    fn get(&self, build: impl FnOnce(&str) -> Option<T>) -> Option<&T> {
        self.compiled.get_or_init(|| build(&self.text)).as_ref()
    }
}

fn build_linear(text: &str) -> Option<LinearRe> {
    regex::Regex::new(text).ok().map(LinearRe::new)
}

/// A linear form: the `regex` crate's, and for a pattern anchored at the
/// text start also the backtracker alone (see `anchored`), built on the
/// first search for groups.
#[derive(Debug)]
pub(super) struct LinearRe {
    re: regex::Regex,
    /// Boxed: a backtracker and its scratch pool are several times the
    /// size of a `regex::Regex`.
    spans: OnceLock<Option<Box<AnchoredSpans>>>,
}

impl LinearRe {
    pub(super) fn new(re: regex::Regex) -> LinearRe {
        LinearRe {
            re,
            spans: OnceLock::new(),
        }
    }

    pub(super) fn as_str(&self) -> &str {
        self.re.as_str()
    }

    pub(super) fn is_match_at(&self, text: &str, start: usize) -> bool {
        self.re.is_match_at(text, start)
    }

    /// The spans of the leftmost-first match from `start`, in a vector
    /// with room for at least `room` groups (callers that add groups of
    /// their own then do not grow it).
    pub(super) fn captures_at(&self, text: &str, start: usize, room: usize) -> Option<Spans> {
        let anchored = self.spans.get_or_init(|| {
            // Translations write `^` as `\A`: without one, no path is anchored.
            let text = self.re.as_str();
            if text.contains(r"\A") {
                AnchoredSpans::new(text).map(Box::new)
            } else {
                None
            }
        });
        if let Some(found) = anchored.as_ref().and_then(|a| a.search(text, start, room)) {
            return found;
        }
        let mut locs = self.re.capture_locations();
        self.re.captures_read_at(&mut locs, text, start)?;
        let mut spans = Vec::with_capacity(locs.len().max(room));
        spans.extend((0..locs.len()).map(|i| locs.get(i)));
        Some(spans)
    }
}

fn build_backtracking(text: &str) -> Option<fancy_regex::Regex> {
    fancy_regex::RegexBuilder::new(text)
        .backtrack_limit(BACKTRACK_LIMIT)
        .build()
        .ok()
}

#[derive(Debug)]
pub(super) enum Engine {
    Linear(LinearRe),
    /// A linear pattern with Python's `$` in it: the form that is exact for
    /// the text at hand is chosen per search (see [`Dollar`]). fail2ban's
    /// buffers end with `\n`, so `at_line_end` serves; `at_end` serves texts
    /// without a final `\n`, and the backtracking form texts that end with
    /// `\n` and hold another, which fail2ban builds only with `maxlines`.
    LinearDollar {
        at_end: Lazy<LinearRe>,
        at_line_end: LinearRe,
        exact: Lazy<fancy_regex::Regex>,
    },
    Backtracking {
        re: fancy_regex::Regex,
        /// The relaxed form (see `translate::Target::relaxed`): lines it
        /// does not match never reach the backtracker.
        screen: Option<regex::Regex>,
    },
}

impl Engine {
    /// A linear pattern that matches exactly where this engine does in a
    /// text with no `\n` but perhaps a final one.
    pub(super) fn exact_screen(&self) -> Option<&str> {
        match self {
            Engine::Linear(re) => Some(re.as_str()),
            Engine::LinearDollar { at_line_end, .. } => Some(at_line_end.as_str()),
            Engine::Backtracking { .. } => None,
        }
    }
}

/// One form of a pattern (for any text, or for ASCII texts only: then its
/// classes are a handful of byte ranges instead of Unicode tables, and the
/// engines that find captures walk a far smaller automaton), compiled on
/// first use unless given compiled.
#[derive(Debug)]
pub(super) struct Form {
    pattern: String,
    parsed: parse::Parsed,
    ascii: bool,
    /// `None`: it did not compile.
    engine: OnceLock<Option<Engine>>,
}

impl Form {
    /// A form compiled on first use; `ascii` as in `translate::Target`.
    pub(super) fn lazy(pattern: &str, parsed: parse::Parsed, ascii: bool) -> Form {
        Form {
            pattern: pattern.to_owned(),
            parsed,
            ascii,
            engine: OnceLock::new(),
        }
    }

    /// A form already compiled.
    pub(super) fn compiled(
        pattern: &str,
        parsed: parse::Parsed,
        ascii: bool,
        engine: Engine,
    ) -> Form {
        let form = Form::lazy(pattern, parsed, ascii);
        let _ = form.engine.set(Some(engine));
        form
    }

    /// Compiles the form now, reporting why it does not compile.
    pub(super) fn check(&self) -> Result<(), PyRegexError> {
        if self.engine.get().is_some() {
            return Ok(());
        }
        let engine = compile(&self.parsed, &self.pattern, false, self.ascii)?;
        let _ = self.engine.set(Some(engine));
        Ok(())
    }

    pub(super) fn engine(&self) -> Option<&Engine> {
        self.engine
            .get_or_init(|| compile(&self.parsed, &self.pattern, false, self.ascii).ok())
            .as_ref()
    }
}

/// Why [`run`] found no answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum NoAnswer {
    /// The backtracking limit was exceeded.
    Limit,
    /// The form this text needs does not compile (fancy-regex refuses the
    /// ASCII forms' class intersections): another form must serve.
    Unavailable,
}

impl From<NoAnswer> for LimitExceeded {
    fn from(_: NoAnswer) -> LimitExceeded {
        LimitExceeded
    }
}

/// Searches `text` from `start` with `engine`: the spans of every group,
/// in the engine's numbering.
pub(super) fn run(engine: &Engine, text: &str, start: usize) -> Result<Option<Spans>, NoAnswer> {
    let unavailable = NoAnswer::Unavailable;
    match engine {
        Engine::Linear(re) => Ok(linear(re, text, start)),
        Engine::LinearDollar {
            at_end,
            at_line_end,
            exact,
        } => match dollar_for(text) {
            Dollar::End => Ok(linear(
                at_end.get(build_linear).ok_or(unavailable)?,
                text,
                start,
            )),
            Dollar::LineEnd => Ok(linear(at_line_end, text, start)),
            // `(?m:$)` matches wherever Python's `$` does, and more.
            Dollar::LookAhead if !at_line_end.is_match_at(text, start) => Ok(None),
            Dollar::LookAhead => backtracking(
                exact.get(build_backtracking).ok_or(unavailable)?,
                text,
                start,
            ),
        },
        Engine::Backtracking {
            screen: Some(screen),
            ..
        } if !screen.is_match_at(text, start) => Ok(None),
        Engine::Backtracking { re, .. } => backtracking(re, text, start),
    }
}

fn linear(re: &LinearRe, text: &str, start: usize) -> Option<Spans> {
    re.captures_at(text, start, 0)
}

fn backtracking(
    re: &fancy_regex::Regex,
    text: &str,
    start: usize,
) -> Result<Option<Spans>, NoAnswer> {
    match re.captures_from_pos(text, start) {
        Ok(Some(caps)) => Ok(Some(
            (0..caps.len())
                .map(|i| caps.get(i).map(|m| (m.start(), m.end())))
                .collect(),
        )),
        Ok(None) => Ok(None),
        Err(_) => Err(NoAnswer::Limit),
    }
}

/// Writes `parsed` for a target (see `translate::Target`).
pub(super) fn write(
    parsed: &parse::Parsed,
    dollar: Dollar,
    empty_text: bool,
    relaxed: bool,
    ascii: bool,
) -> String {
    let target = Target {
        dollar,
        empty_text,
        relaxed,
        ascii,
    };
    translate::translate(&parsed.node, parsed.ignore_case, target)
}

/// Translates `parsed` and compiles it for the engine it needs; for an
/// empty text only when `empty_text`.
pub(super) fn compile(
    parsed: &parse::Parsed,
    pattern: &str,
    empty_text: bool,
    ascii: bool,
) -> Result<Engine, PyRegexError> {
    let err = |reason: String| PyRegexError {
        pattern: pattern.to_owned(),
        reason,
    };
    let write = |dollar| write(parsed, dollar, empty_text, false, ascii);
    let linear = |t: &str| {
        regex::Regex::new(t).map(LinearRe::new).map_err(|e| {
            err(format!(
                "its translation {t:?} does not compile in the regex crate: {e}"
            ))
        })
    };
    Ok(if parsed.node.needs_backtracking() {
        let t = write(Dollar::LookAhead);
        let re = fancy_regex::RegexBuilder::new(&t)
            .backtrack_limit(BACKTRACK_LIMIT)
            .build()
            .map_err(|e| {
                err(format!(
                    "its translation {t:?} does not compile in fancy-regex: {e}"
                ))
            })?;
        let relaxed = self::write(parsed, Dollar::LineEnd, empty_text, true, ascii);
        // Without a screen the pattern still runs, only slower.
        let screen = regex::Regex::new(&relaxed).ok();
        Engine::Backtracking { re, screen }
    } else if parsed.node.has_python_dollar() && !empty_text {
        Engine::LinearDollar {
            at_end: Lazy::new(write(Dollar::End)),
            at_line_end: linear(&write(Dollar::LineEnd))?,
            exact: Lazy::new(write(Dollar::LookAhead)),
        }
    } else {
        // An empty text does not end with `\n`: `Dollar::End` is exact.
        Engine::Linear(linear(&write(Dollar::End))?)
    })
}

/// Which form of Python's `$` is exact for `text`.
fn dollar_for(text: &str) -> Dollar {
    if !text.ends_with('\n') {
        Dollar::End
    } else if memchr::memchr(b'\n', text.as_bytes()) == Some(text.len() - 1) {
        Dollar::LineEnd
    } else {
        Dollar::LookAhead
    }
}
