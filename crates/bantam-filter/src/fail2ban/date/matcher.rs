//! Running a template's regex on a line, in one of two engines.
//!
//! # Why two engines
//!
//! A `datepattern` from a filter is Python regex text and goes through
//! [`PyRegex`], which decides how to run Python's dialect. The default
//! templates, and the `EPOCH`/`TAI64N` keywords, are text we generate: we
//! can write them in the `regex` crate's syntax directly, with its
//! half-word boundaries (`\b{start-half}`) where Python needs look-around,
//! so that they run on the linear-time engine. Every line with no date is
//! searched by all 31 defaults, so this is where the time goes.
//!
//! The one default that Python writes with look-behind (an epoch at the
//! line start, right after a leading `[`, or right after `audit(`) runs on
//! the linear engine too: its regex consumes the `[` or `audit(` and the
//! match is then narrowed to the epoch (see [`Matcher::Prefixed`]).

use std::sync::{Arc, OnceLock};

use super::memo::Memo;
use crate::python::anchored::AnchoredSpans;
use crate::python::{PyFlags, PyMatch, PyRegex};

/// Group names by index (index 0, the whole match, has none).
type Names = Arc<[Option<Box<str>>]>;

/// The spans of one match: group index → byte range in the line.
#[derive(Clone, Debug)]
pub(crate) struct Found {
    spans: Vec<Option<(usize, usize)>>,
    names: Names,
}

impl Found {
    fn from_py(m: &PyMatch, groups: usize, names: &Names) -> Found {
        Found {
            spans: (0..groups).map(|i| m.get(i)).collect(),
            names: names.clone(),
        }
    }

    /// Every group's span, the whole match first.
    pub fn spans(&self) -> &[Option<(usize, usize)>] {
        &self.spans
    }

    /// The whole match.
    pub fn span(&self) -> (usize, usize) {
        self.spans.first().copied().flatten().unwrap_or((0, 0))
    }

    /// Group `i`'s span, if it took part.
    pub fn get(&self, i: usize) -> Option<(usize, usize)> {
        self.spans.get(i).copied().flatten()
    }

    /// Every named group that took part, in pattern order.
    pub fn named(&self) -> impl Iterator<Item = (&str, (usize, usize))> + '_ {
        self.names
            .iter()
            .enumerate()
            .filter_map(|(i, n)| Some((n.as_deref()?, self.get(i)?)))
    }
}

/// A compiled template regex.
#[derive(Clone, Debug)]
pub(crate) enum Matcher {
    Linear {
        re: regex::Regex,
        names: Names,
        /// The backtracker on `re`, built when the memo first misses.
        spans: OnceLock<Option<Arc<AnchoredSpans>>>,
    },
    Python {
        /// Boxed: a `PyRegex` is several times the size of a `regex::Regex`.
        re: Box<PyRegex>,
        names: Names,
    },
    /// A linear regex whose group 1 is what Python's match would be: the
    /// text before it stands for a look-behind. The match starts where
    /// group 1 does.
    Prefixed { re: regex::Regex, names: Names },
}

impl Matcher {
    /// Compiles regex text in the `regex` crate's syntax.
    pub fn linear(source: &str) -> Result<Matcher, String> {
        let re = regex::Regex::new(source).map_err(|e| e.to_string())?;
        let names: Names = re
            .capture_names()
            .map(|n| n.map(Box::from))
            .collect::<Vec<_>>()
            .into();
        Ok(Matcher::Linear {
            re,
            names,
            spans: OnceLock::new(),
        })
    }

    /// Compiles a [`Matcher::Prefixed`] regex (`regex` crate syntax).
    pub fn prefixed(source: &str) -> Result<Matcher, String> {
        match Matcher::linear(source)? {
            Matcher::Linear { re, names, .. } => Ok(Matcher::Prefixed { re, names }),
            other => Ok(other),
        }
    }

    /// Compiles Python regex text.
    pub fn python(source: &str) -> Result<Matcher, String> {
        let re = PyRegex::new(source, PyFlags::default()).map_err(|e| e.reason)?;
        let names: Names = re.group_names().to_vec().into();
        Ok(Matcher::Python {
            re: Box::new(re),
            names,
        })
    }

    /// Number of groups, the whole match included.
    pub fn groups(&self) -> usize {
        match self {
            Matcher::Linear { names, .. }
            | Matcher::Python { names, .. }
            | Matcher::Prefixed { names, .. } => names.len(),
        }
    }

    /// [`Matcher::search_at`], reusing the spans of the last match when
    /// this one covers the same text (see `memo`): the linear engine then
    /// only locates the match.
    pub fn search_memo(&self, text: &str, start: usize, memo: &mut Option<Memo>) -> Option<Found> {
        let Matcher::Linear { re, names, spans } = self else {
            return self.search_at(text, start);
        };
        let m = re.find_at(text, start)?;
        if let Some(spans) = memo
            .as_ref()
            .and_then(|k| k.spans(text, m.start(), m.end()))
        {
            return Some(Found {
                spans,
                names: names.clone(),
            });
        }
        // The match is located: its groups are found inside it, as the
        // `regex` crate's second pass would (see `python::anchored`).
        let within = spans
            .get_or_init(|| AnchoredSpans::any(re.as_str()).map(Arc::new))
            .as_ref()
            .and_then(|a| a.within(text, m.start(), m.end()));
        let found = match within {
            Some(spans) => Found {
                spans,
                names: names.clone(),
            },
            None => self.search_at(text, start)?,
        };
        *memo = Some(Memo::new(text, m.start(), m.end(), &found.spans));
        Some(found)
    }

    /// Python's `pattern.search(text, start)`: the leftmost match at or
    /// after `start`; `^` and look-behind still see all of `text`. A search
    /// that exceeds the backtracking limit finds nothing.
    pub fn search_at(&self, text: &str, start: usize) -> Option<Found> {
        match self {
            Matcher::Linear { re, names, .. } => {
                let mut locs = re.capture_locations();
                re.captures_read_at(&mut locs, text, start)?;
                Some(Found {
                    spans: (0..locs.len()).map(|i| locs.get(i)).collect(),
                    names: names.clone(),
                })
            }
            Matcher::Python { re, names } => {
                let m = re.search_at(text, start).ok().flatten()?;
                Some(Found::from_py(&m, names.len(), names))
            }
            Matcher::Prefixed { re, names } => {
                // The prefix may lie before `start`: search from the line
                // start and take the first match whose group 1 begins at or
                // after `start`. Prefixes (`^`, `^[`, `audit(`) never begin
                // inside an earlier match, so stepping over matches misses
                // none.
                let mut locs = re.capture_locations();
                let mut at = 0;
                while at <= text.len() {
                    let end = re.captures_read_at(&mut locs, text, at)?.end();
                    let inner = locs.get(1)?;
                    if inner.0 >= start {
                        let mut spans: Vec<_> = (0..locs.len()).map(|i| locs.get(i)).collect();
                        spans[0] = Some(inner);
                        return Some(Found {
                            spans,
                            names: names.clone(),
                        });
                    }
                    at = if end > at { end } else { at + 1 };
                }
                None
            }
        }
    }
}
