//! A piece of a shared text: the text a rule searched, and the group
//! values cut from it.
//!
//! # Why
//!
//! Every matching line gave each of its groups (`user`, `ip4`, `mlfid`,
//! `content` …) a string of its own, about five allocations a line, and
//! the buffer text the rules search was built anew for each line and
//! again for each `prefregex` content. All of them are ranges of the
//! line as read: a piece is the line's shared text and a range, and a
//! copy of one is a reference count.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// `text[start..end]`, on character boundaries.
#[derive(Clone)]
pub struct Piece {
    text: Arc<str>,
    start: usize,
    end: usize,
}

impl Piece {
    /// All of `text`.
    pub fn whole(text: Arc<str>) -> Piece {
        let end = text.len();
        Piece {
            text,
            start: 0,
            end,
        }
    }

    /// `text[start..end]`; the range must be on character boundaries.
    pub fn new(text: Arc<str>, start: usize, end: usize) -> Piece {
        debug_assert!(text.get(start..end).is_some(), "bad piece {start}..{end}");
        Piece { text, start, end }
    }

    /// The piece `start..end` of this one (offsets into this piece).
    pub fn sub(&self, start: usize, end: usize) -> Piece {
        Piece::new(self.text.clone(), self.start + start, self.start + end)
    }

    /// The shared text, and where the piece lies in it.
    pub fn parts(&self) -> (&Arc<str>, usize, usize) {
        (&self.text, self.start, self.end)
    }
}

impl Deref for Piece {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text[self.start..self.end]
    }
}

impl PartialEq for Piece {
    fn eq(&self, other: &Piece) -> bool {
        **self == **other
    }
}

impl Eq for Piece {}

impl fmt::Debug for Piece {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
