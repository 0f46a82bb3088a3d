//! Running a program: a backtracker with an explicit stack of the choices
//! left to try.

use regex_syntax::hir::Look;

use super::{Inst, Prog, FAIL};

/// What a search may still try, newest last.
#[derive(Clone, Copy, Debug)]
enum Frame {
    /// Resume at `pc` from `pos`.
    Resume { pc: u32, pos: usize },
    /// Put a capture slot back as it was.
    Restore { slot: u32, old: usize },
    /// A greedy class run that can give back bytes down to `floor`: the
    /// next try resumes at `pc` one byte shorter than `pos`.
    Shorter { pc: u32, floor: usize, pos: usize },
    /// A lazy class run that can take bytes up to `ceil`: the next try
    /// resumes at `pc` one byte longer than `pos`.
    Longer {
        pc: u32,
        class: u32,
        ceil: usize,
        pos: usize,
    },
}

/// Where a search resumes: a step and a position.
type Resume = (u32, usize);

/// A slot no position was recorded in.
const UNSET: usize = usize::MAX;

/// A search's stack and capture slots, kept between searches so that a
/// search does not allocate.
#[derive(Clone, Debug, Default)]
pub(crate) struct Scratch {
    stack: Vec<Frame>,
    slots: Vec<usize>,
}

impl Scratch {
    /// The spans of the last match, the whole match first.
    pub(super) fn spans(&self, groups: usize, room: usize) -> Vec<Option<(usize, usize)>> {
        let mut spans = Vec::with_capacity(groups.max(room));
        spans.extend((0..groups).map(|g| {
            let (s, e) = (self.slots[2 * g], self.slots[2 * g + 1]);
            (s != UNSET && e != UNSET).then_some((s, e))
        }));
        spans
    }
}

/// How many steps a search may take: enough for any pattern that does not
/// backtrack wildly (a few steps a byte), after which the bounded
/// backtracker, linear in the text, is the cheaper way.
fn budget(start: usize, end: usize) -> usize {
    64 * (end - start) + 1024
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether `look` holds at `at` in `hay`.
fn look_at(look: Look, hay: &[u8], at: usize) -> bool {
    let before = at > 0 && is_word(hay[at - 1]);
    let after = at < hay.len() && is_word(hay[at]);
    match look {
        Look::Start => at == 0,
        Look::End => at == hay.len(),
        Look::StartLF => at == 0 || hay[at - 1] == b'\n',
        Look::EndLF => at == hay.len() || hay[at] == b'\n',
        Look::WordAscii | Look::WordUnicode => before != after,
        Look::WordAsciiNegate | Look::WordUnicodeNegate => before == after,
        Look::WordStartAscii | Look::WordStartUnicode => !before && after,
        Look::WordEndAscii | Look::WordEndUnicode => before && !after,
        Look::WordStartHalfAscii | Look::WordStartHalfUnicode => !before,
        Look::WordEndHalfAscii | Look::WordEndHalfUnicode => !after,
        // Refused when compiling.
        Look::StartCRLF | Look::EndCRLF => false,
    }
}

struct Search<'a> {
    prog: &'a Prog,
    hay: &'a [u8],
    end: usize,
}

impl Search<'_> {
    fn in_class(&self, class: u32, at: usize) -> bool {
        at < self.end && self.prog.classes[class as usize][usize::from(self.hay[at] & 127)]
    }

    /// How many bytes of `class` follow `at`, at most `max`.
    fn run_length(&self, class: u32, at: usize, max: u32) -> usize {
        let table = &self.prog.classes[class as usize];
        let limit = self.end.min(at.saturating_add(max as usize));
        let mut i = at;
        while i < limit && table[usize::from(self.hay[i] & 127)] {
            i += 1;
        }
        i - at
    }

    /// Whether the literal `at..at + len` of the pool is at `pos`.
    fn lit_at(&self, at: u32, len: u32, pos: usize) -> bool {
        let (at, len) = (at as usize, len as usize);
        let Some(text) = self.hay[..self.end].get(pos..pos + len) else {
            return false;
        };
        // Byte by byte: literals are short, and a call to `bcmp` cost more
        // than the comparison.
        let lit = &self.prog.lits[at..at + len];
        text.iter().zip(lit).all(|(a, b)| a == b)
    }

    /// Whether a path from `pc` can begin at `at` (see `First`).
    fn may(&self, pc: u32, at: usize) -> bool {
        let f = self.prog.first[pc as usize];
        f.empty || (at < self.end && f.bytes.has(self.hay[at]))
    }

    /// The last position in `floor..=hi` where a path from `pc` can
    /// begin: at the others it would fail at once, leaving nothing behind.
    /// `hi` is below `end`: a run never passes it.
    fn next_shorter(&self, pc: u32, floor: usize, hi: usize) -> Option<usize> {
        let f = self.prog.first[pc as usize];
        if f.empty {
            return Some(hi);
        }
        let window = &self.hay[floor..=hi];
        // `memrchr` pays off on long runs only: a call and its setup cost
        // more than a short loop.
        let found = match f.bytes.single() {
            Some(b) if window.len() > 32 => memchr::memrchr(b, window),
            _ => window.iter().rposition(|&b| f.bytes.has(b)),
        };
        found.map(|i| floor + i)
    }

    /// The first position in `from..=ceil` such that a path from `pc` can
    /// begin there and the bytes from `from` up to it are of `class`.
    fn next_longer(&self, pc: u32, class: u32, from: usize, ceil: usize) -> Option<usize> {
        let mut at = from;
        loop {
            if self.may(pc, at) {
                return Some(at);
            }
            if at >= ceil || !self.in_class(class, at) {
                return None;
            }
            at += 1;
        }
    }
}

/// Runs `prog` anchored at `start`, consuming no byte at or past `end`.
/// `Some(true)`: a match, its slots in `scratch`; `None`: over budget.
pub(super) fn run(
    prog: &Prog,
    scratch: &mut Scratch,
    hay: &[u8],
    start: usize,
    end: usize,
) -> Option<bool> {
    let s = Search { prog, hay, end };
    scratch.stack.clear();
    scratch.slots.clear();
    scratch.slots.resize(prog.groups * 2, UNSET);
    let mut steps = budget(start, end);
    let (mut pc, mut pos) = (0usize, start);
    loop {
        steps = steps.checked_sub(1)?;
        let ok = match prog.insts[pc] {
            Inst::Match => {
                scratch.slots[0] = start;
                scratch.slots[1] = pos;
                return Some(true);
            }
            Inst::Lit { at, len } => {
                let ok = s.lit_at(at, len, pos);
                pos += len as usize;
                ok
            }
            Inst::Class(class) => {
                let ok = s.in_class(class, pos);
                pos += 1;
                ok
            }
            Inst::Look(look) => look_at(look, hay, pos),
            Inst::Save(slot) => {
                let old = std::mem::replace(&mut scratch.slots[slot as usize], pos);
                // With nothing left to try, a failure ends the search and
                // no slot is read again: the old value need not be kept.
                if !scratch.stack.is_empty() {
                    scratch.stack.push(Frame::Restore { slot, old });
                }
                true
            }
            Inst::Branch(table) => {
                let key = if pos < end {
                    usize::from(hay[pos] & 127)
                } else {
                    128
                };
                let entry = prog.branches[table as usize][key];
                if entry == FAIL {
                    false
                } else {
                    if entry >> 16 != 0 {
                        let resume = (entry >> 16) - 1;
                        scratch.stack.push(Frame::Resume { pc: resume, pos });
                    }
                    pc = (entry & 0xffff) as usize;
                    continue;
                }
            }
            // Made branches when compiling.
            Inst::Split(..) | Inst::Jmp(_) => false,
            Inst::Repeat {
                class,
                min,
                max,
                greedy,
            } => repeat(&s, scratch, pc, &mut pos, (class, min, max, greedy)),
        };
        if ok {
            pc += 1;
            continue;
        }
        match backtrack(&s, scratch, &mut steps)? {
            Some((to_pc, to_pos)) => (pc, pos) = (to_pc as usize, to_pos),
            None => return Some(false),
        }
    }
}

/// A class run at `pos`: takes the most (greedy) or the fewest (lazy)
/// bytes allowed, leaving a frame that tries the others in turn.
#[inline]
fn repeat(
    s: &Search<'_>,
    scratch: &mut Scratch,
    pc: usize,
    pos: &mut usize,
    (class, min, max, greedy): (u32, u32, u32, bool),
) -> bool {
    let (min_len, next) = (min as usize, pc as u32 + 1);
    let at = *pos;
    if greedy {
        let n = s.run_length(class, at, max);
        if n < min_len {
            return false;
        }
        if n > min_len {
            let floor = at + min_len;
            scratch.stack.push(Frame::Shorter {
                pc: next,
                floor,
                pos: at + n,
            });
        }
        *pos = at + n;
        // Where the rest cannot begin, the frame tries shorter runs.
        return s.may(next, *pos);
    }
    if s.run_length(class, at, min) < min_len {
        return false;
    }
    let ceil = s.end.min(at.saturating_add(max as usize));
    let Some(p) = s.next_longer(next, class, at + min_len, ceil) else {
        return false;
    };
    if p < ceil {
        scratch.stack.push(Frame::Longer {
            pc: next,
            class,
            ceil,
            pos: p,
        });
    }
    *pos = p;
    true
}

/// Pops frames until one says where to resume; `Ok(None)`: nothing is
/// left to try. `None`: over budget.
fn backtrack(s: &Search<'_>, scratch: &mut Scratch, steps: &mut usize) -> Option<Option<Resume>> {
    while let Some(frame) = scratch.stack.pop() {
        *steps = steps.checked_sub(1)?;
        match frame {
            Frame::Resume { pc, pos } => return Some(Some((pc, pos))),
            Frame::Restore { slot, old } => scratch.slots[slot as usize] = old,
            Frame::Shorter { pc, floor, pos } => {
                let Some(p) = s.next_shorter(pc, floor, pos - 1) else {
                    continue;
                };
                if p > floor {
                    scratch.stack.push(Frame::Shorter { pc, floor, pos: p });
                }
                return Some(Some((pc, p)));
            }
            Frame::Longer {
                pc,
                class,
                ceil,
                pos,
            } => {
                if pos >= ceil || !s.in_class(class, pos) {
                    continue;
                }
                let Some(p) = s.next_longer(pc, class, pos + 1, ceil) else {
                    continue;
                };
                if p < ceil {
                    scratch.stack.push(Frame::Longer {
                        pc,
                        class,
                        ceil,
                        pos: p,
                    });
                }
                return Some(Some((pc, p)));
            }
        }
    }
    Some(None)
}
