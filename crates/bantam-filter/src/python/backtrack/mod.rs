//! Group spans on ASCII texts by a plain backtracker over a small program,
//! for the searches [`super::anchored`] would give the bounded backtracker.
//!
//! # Why
//!
//! Finding group spans was most of the time per log line: fail2ban's rules
//! and their `prefregex` are searched for their groups on every line they
//! match, and `regex-automata`'s bounded backtracker spent 150 to 250
//! instructions per byte doing it. It walks a Thompson NFA state by state
//! (a union, a capture, a byte range, each a step with a visited-set check,
//! the set cleared for every search), for any text. Most of that buys
//! nothing here: the texts are ASCII log lines, and the patterns are runs
//! of literals and of one class (`\S+`, `[^:]+`, `\d{1,3}`) that a program
//! can take in one tight loop, and give back one byte at a time, or jump
//! back to the next place where the byte that must follow is found.
//!
//! # Why it is exact
//!
//! The `regex` crate's leftmost-first spans are by definition those of
//! the first path a backtracker takes in priority order; its backtracker
//! only prunes paths it has already seen fail. This program is compiled
//! from the same syntax tree (`regex-syntax`'s, as the crate parses the
//! pattern), keeps the order of every alternation and repetition, and
//! tries paths in that order without pruning, so it takes the same first
//! path. The one place where the orders can differ, a loop whose body can
//! match empty (the NFA cuts an empty iteration), is refused: such
//! patterns keep the bounded backtracker. So are look-arounds it does not
//! know, and non-ASCII texts (its classes are tables of the 128 ASCII
//! characters; on an ASCII text a Unicode `\b` is the ASCII one).
//!
//! Without the visited set a search can take exponential time; a step
//! budget proportional to the text stops it, and the bounded backtracker
//! then answers as before. So a hostile line costs the budget more, never
//! a different answer.

mod compile;
#[cfg(test)]
mod tests;
mod vm;

pub(crate) use vm::Scratch;

use regex_syntax::hir::Look;

/// One step of a program. Jump targets are indices into the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Inst {
    /// The match ends here.
    Match,
    /// A literal: `len` bytes of the literal pool from `at`.
    Lit {
        at: u32,
        len: u32,
    },
    /// One byte of a class (an index into the class tables).
    Class(u32),
    /// A zero-width assertion.
    Look(Look),
    /// Records the position in a capture slot.
    Save(u32),
    /// Tries the first target, and on failure the second (the third field
    /// is unused until it becomes a [`Inst::Branch`]).
    Split(u32, u32, u32),
    Jmp(u32),
    /// A split or a jump, compiled: the index of its table in
    /// `Prog::branches`.
    Branch(u32),
    /// `min..=max` bytes of a class, greedy or lazy, then the next step.
    Repeat {
        class: u32,
        min: u32,
        max: u32,
        greedy: bool,
    },
}

/// What a path from one step can begin with: the ASCII bytes it can
/// consume first, and whether it can reach the end of the match without
/// consuming any. A superset: assertions on the way are not counted.
/// Where the next byte is none of these, the path fails at once, leaving
/// nothing behind: not trying it changes no answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct First {
    bytes: Set,
    empty: bool,
}

/// A set of ASCII bytes, as two words of bits (a `u128` costs a branch
/// or two per variable shift; a word a plain shift).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Set([u64; 2]);

impl Set {
    fn with(self, b: u8) -> Set {
        let mut s = self;
        if b.is_ascii() {
            s.0[usize::from(b >> 6)] |= 1 << (b & 63);
        }
        s
    }

    fn union(self, other: Set) -> Set {
        Set([self.0[0] | other.0[0], self.0[1] | other.0[1]])
    }

    /// Whether it holds `b`, an ASCII byte (the texts searched are).
    fn has(self, b: u8) -> bool {
        self.0[usize::from(b >> 6) & 1] >> (b & 63) & 1 != 0
    }

    /// Its only byte, if it holds exactly one.
    fn single(self) -> Option<u8> {
        let ones = self.0[0].count_ones() + self.0[1].count_ones();
        match (ones, self.0[0]) {
            (1, 0) => Some(64 + self.0[1].trailing_zeros() as u8),
            (1, w) => Some(w.trailing_zeros() as u8),
            _ => None,
        }
    }
}

/// A compiled pattern.
#[derive(Clone, Debug)]
pub(crate) struct Prog {
    insts: Vec<Inst>,
    /// Per step, what a path from it can begin with: a choice whose other
    /// side cannot begin with the next byte leaves nothing to try later.
    first: Vec<First>,
    /// Per branch, by the next byte (128: the end of the span): the step
    /// to go to in the low half, and in the high half one more than the
    /// step to try on failure (0: none); [`FAIL`] when no side can begin
    /// there. Built by following jumps, and splits one side of which cannot
    /// begin with that byte: a side that cannot is never tried and leaves
    /// no frame behind, and a chain of such choices is one step.
    branches: Vec<[u32; 129]>,
    /// Which ASCII characters each class holds, as a table (one load a
    /// byte in the loops over class runs).
    classes: Vec<[bool; 128]>,
    /// The bytes of every literal.
    lits: Vec<u8>,
    /// Capture groups, the whole match included.
    groups: usize,
}

/// A branch table's entry for a byte no side can begin with.
const FAIL: u32 = u32::MAX;

/// The outcome of a search that did not exceed its budget.
pub(crate) type Found = Option<Vec<Option<(usize, usize)>>>;

impl Prog {
    /// The program for `pattern` (the `regex` crate's syntax), or `None`
    /// when it holds something this engine refuses (see the module doc).
    pub(crate) fn new(pattern: &str) -> Option<Prog> {
        let hir = regex_syntax::ParserBuilder::new()
            .build()
            .parse(pattern)
            .ok()?;
        compile::compile(&hir)
    }

    /// The spans of the first match in priority order that starts at
    /// `start` and ends by `end` (the anchored search of the bounded
    /// backtracker over `start..end`; assertions see all of `hay`), with
    /// room for `room` groups. `None`: the text is not ASCII, or the
    /// search exceeded its budget; the caller must ask another engine.
    pub(crate) fn search(
        &self,
        scratch: &mut Scratch,
        hay: &[u8],
        start: usize,
        end: usize,
        room: usize,
    ) -> Option<Found> {
        if !hay.is_ascii() || start > end || end > hay.len() {
            return None;
        }
        let found = vm::run(self, scratch, hay, start, end)?;
        Some(found.then(|| scratch.spans(self.groups, room)))
    }
}
