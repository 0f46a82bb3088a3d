//! The parsed form of a Python pattern.
//!
//! # Why a tree of our own
//!
//! Python's `re` and the Rust engines disagree on many small points (what
//! `$`, `\w` or `\<` mean, what is literal inside a class). Parsing into a
//! tree with Python's meaning resolved at parse time (flags applied, escapes
//! decoded, braces decided) leaves the translator a plain job: write each
//! node in the target syntax, with nothing left to reinterpret.

/// One node of a parsed pattern, with Python's flags already applied to it
/// (except case-insensitivity, which both targets express the same way and
/// is kept as scoped groups).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Node {
    /// Matches the empty string.
    Empty,
    /// One character.
    Literal(char),
    /// `.`; `dotall` says whether it matches `\n`.
    Dot {
        dotall: bool,
    },
    /// `[...]`.
    Class(Class),
    /// `\d \w \s` and their negations, outside a class.
    Perl(Perl),
    /// A zero-width assertion.
    Assert(Assert),
    /// `(...)` or `(?:...)` or `(?i:...)`.
    Group {
        /// The capture index (1-based), if capturing.
        capture: Option<usize>,
        /// `Some(on)` when the group sets case-insensitivity for its body.
        ignore_case: Option<bool>,
        body: Box<Node>,
    },
    /// `(?=..)`, `(?!..)`, `(?<=..)`, `(?<!..)`.
    Look {
        behind: bool,
        negative: bool,
        body: Box<Node>,
    },
    /// `(?>...)`.
    Atomic(Box<Node>),
    /// `\1`, `(?P=name)`: the capture index.
    BackRef(usize),
    /// `(?(id)yes|no)`.
    Cond {
        group: usize,
        yes: Box<Node>,
        no: Box<Node>,
    },
    Repeat {
        body: Box<Node>,
        min: u32,
        /// `None` is unbounded.
        max: Option<u32>,
        kind: RepeatKind,
    },
    Concat(Vec<Node>),
    Alt(Vec<Node>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RepeatKind {
    Greedy,
    Lazy,
    /// `*+`, `++`, `?+`, `{m,n}+` (Python 3.11).
    Possessive,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Assert {
    /// `^`: start of text, or of any line when `multiline`.
    Start { multiline: bool },
    /// `$`: Python's end (end of text or before a final `\n`), or end of
    /// any line when `multiline`.
    End { multiline: bool },
    /// `\A`.
    TextStart,
    /// `\Z`: the absolute end (Python's `\Z` is Rust's `\z`).
    TextEnd,
    /// `\b`, `\B`; `ascii` under the `a` flag.
    WordBoundary { negated: bool, ascii: bool },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PerlKind {
    Digit,
    Word,
    Space,
}

/// `\d` and friends with the meaning of the flags they were written under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Perl {
    pub kind: PerlKind,
    pub negated: bool,
    /// Under the `a` flag: ASCII meaning only.
    pub ascii: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Class {
    pub negated: bool,
    pub items: Vec<ClassItem>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClassItem {
    Char(char),
    Range(char, char),
    Perl(Perl),
}

impl Node {
    /// Whether the linear-time engine cannot express this tree.
    pub(crate) fn needs_backtracking(&self) -> bool {
        self.any(&|n| {
            matches!(
                n,
                Node::Look { .. }
                    | Node::Atomic(_)
                    | Node::BackRef(_)
                    | Node::Cond { .. }
                    | Node::Repeat {
                        kind: RepeatKind::Possessive,
                        ..
                    }
            )
        })
    }

    /// The shortest and longest text this can match (`None`: unbounded), as
    /// Python computes it to insist that look-behind be fixed-width.
    /// Back-references count as unbounded: Python accepts a few of those
    /// in look-behind that we refuse.
    pub(crate) fn width(&self) -> (u64, Option<u64>) {
        match self {
            Node::Empty | Node::Assert(_) | Node::Look { .. } => (0, Some(0)),
            Node::Literal(_) | Node::Dot { .. } | Node::Class(_) | Node::Perl(_) => (1, Some(1)),
            Node::Group { body, .. } | Node::Atomic(body) => body.width(),
            Node::BackRef(_) => (0, None),
            Node::Cond { yes, no, .. } => {
                let (a, b) = (yes.width(), no.width());
                (a.0.min(b.0), a.1.zip(b.1).map(|(x, y)| x.max(y)))
            }
            Node::Repeat { body, min, max, .. } => {
                let (lo, hi) = body.width();
                let hi = match (hi, max) {
                    (Some(0), _) => Some(0),
                    (Some(h), Some(m)) => h.checked_mul(u64::from(*m)),
                    _ => None,
                };
                (lo.saturating_mul(u64::from(*min)), hi)
            }
            Node::Concat(v) => v.iter().fold((0, Some(0)), |(lo, hi), n| {
                let (l, h) = n.width();
                (
                    lo.saturating_add(l),
                    hi.zip(h).and_then(|(a, b)| a.checked_add(b)),
                )
            }),
            Node::Alt(v) => {
                let widths: Vec<_> = v.iter().map(Node::width).collect();
                let lo = widths.iter().map(|w| w.0).min().unwrap_or(0);
                let hi = widths
                    .iter()
                    .try_fold(0u64, |acc, w| w.1.map(|h| acc.max(h)));
                (lo, hi)
            }
        }
    }

    /// Whether a repetition of more than one iteration has a body that can
    /// match empty: where Python's loop rule and Rust's differ.
    pub(crate) fn has_empty_loop(&self) -> bool {
        self.any(&|n| match n {
            Node::Repeat { body, max, .. } => max.is_none_or(|m| m > 1) && body.width().0 == 0,
            _ => false,
        })
    }

    /// Whether `\B` occurs.
    pub(crate) fn has_not_word_boundary(&self) -> bool {
        self.any(&|n| matches!(n, Node::Assert(Assert::WordBoundary { negated: true, .. })))
    }

    /// Whether `pred` holds for this node or any node inside it.
    fn any(&self, pred: &dyn Fn(&Node) -> bool) -> bool {
        if pred(self) {
            return true;
        }
        match self {
            Node::Group { body, .. }
            | Node::Look { body, .. }
            | Node::Atomic(body)
            | Node::Repeat { body, .. } => body.any(pred),
            Node::Cond { yes, no, .. } => yes.any(pred) || no.any(pred),
            Node::Concat(v) | Node::Alt(v) => v.iter().any(|n| n.any(pred)),
            _ => false,
        }
    }

    /// Whether a non-multiline `$` occurs: its Python meaning depends on
    /// the text searched (see `translate::Dollar`).
    pub(crate) fn has_python_dollar(&self) -> bool {
        self.any(&|n| matches!(n, Node::Assert(Assert::End { multiline: false })))
    }
}
