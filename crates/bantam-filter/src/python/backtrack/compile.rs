//! The syntax tree to a program, keeping every priority order.

use regex_syntax::hir::{Class, Hir, HirKind, Look, Repetition};

use super::{First, Inst, Prog, Set, FAIL};

/// Programs longer than this are refused: counted repetitions are copied
/// out, and a pattern that needs that many steps is not the kind this
/// engine wins on. Below 2^16: a branch table packs two steps in a word.
const MAX_INSTS: usize = 20_000;

pub(super) fn compile(hir: &Hir) -> Option<Prog> {
    let mut c = Compiler {
        insts: Vec::new(),
        classes: Vec::new(),
        lits: Vec::new(),
    };
    c.node(hir)?;
    c.push(Inst::Match)?;
    let first = first_sets(&c.insts, &c.classes, &c.lits);
    let branches = branches(&mut c.insts, &first);
    Some(Prog {
        first,
        branches,
        insts: c.insts,
        classes: c.classes.iter().map(|&set| table(set)).collect(),
        lits: c.lits,
        groups: hir.properties().explicit_captures_len() + 1,
    })
}

/// What a path from each step can begin with ([`First`]), to a fixed
/// point: loops jump back, so one pass is not enough.
fn first_sets(insts: &[Inst], classes: &[Set], lits: &[u8]) -> Vec<First> {
    let mut first = vec![First::default(); insts.len()];
    let mut changed = true;
    while changed {
        changed = false;
        for pc in (0..insts.len()).rev() {
            let next = |f: &[First]| f.get(pc + 1).copied().unwrap_or_default();
            let now = match insts[pc] {
                Inst::Match => First {
                    bytes: Set::default(),
                    empty: true,
                },
                Inst::Lit { at, .. } => First {
                    bytes: Set::default().with(lits[at as usize]),
                    empty: false,
                },
                Inst::Class(c) => First {
                    bytes: classes[c as usize],
                    empty: false,
                },
                Inst::Repeat { class, min, .. } => {
                    let own = classes[class as usize];
                    match min {
                        0 => First {
                            bytes: own.union(next(&first).bytes),
                            empty: next(&first).empty,
                        },
                        _ => First {
                            bytes: own,
                            empty: false,
                        },
                    }
                }
                Inst::Look(_) | Inst::Save(_) => next(&first),
                // Made after this pass; anything, were one here.
                Inst::Branch(_) => First {
                    bytes: Set::default(),
                    empty: true,
                },
                Inst::Jmp(to) => first[to as usize],
                Inst::Split(a, b, _) => {
                    let (a, b) = (first[a as usize], first[b as usize]);
                    First {
                        bytes: a.bytes.union(b.bytes),
                        empty: a.empty || b.empty,
                    }
                }
            };
            if now != first[pc] {
                first[pc] = now;
                changed = true;
            }
        }
    }
    first
}

/// Whether a path with first set `f` can begin at `key` (a byte, or 128
/// for the end of the span).
fn may(f: First, key: usize) -> bool {
    f.empty || (key < 128 && f.bytes.has(key as u8))
}

/// Where the program goes from `pc` at `key` without consuming: through
/// jumps, and through splits one side of which cannot begin there; `None`
/// when no side can. Stops at a split both sides of which can.
fn resolve(insts: &[Inst], first: &[First], mut pc: usize, key: usize) -> Option<u32> {
    // A path that consumes nothing cannot loop (such loops are refused);
    // the bound only guards against a mistake.
    for _ in 0..insts.len() {
        match insts[pc] {
            Inst::Jmp(to) => pc = to as usize,
            Inst::Split(a, b, _) => {
                match (may(first[a as usize], key), may(first[b as usize], key)) {
                    (true, true) => break,
                    (true, false) => pc = a as usize,
                    (false, true) => pc = b as usize,
                    (false, false) => return None,
                }
            }
            _ => break,
        }
    }
    Some(pc as u32)
}

/// Turns every split and jump into a [`Inst::Branch`] with its table (see
/// `Prog::branches`): one step where a chain of them took one each.
fn branches(insts: &mut [Inst], first: &[First]) -> Vec<[u32; 129]> {
    let mut tables = Vec::new();
    for pc in 0..insts.len() {
        let table: [u32; 129] = match insts[pc] {
            Inst::Jmp(to) => std::array::from_fn(|key| {
                resolve(insts, first, to as usize, key).map_or(FAIL, |go| go)
            }),
            Inst::Split(a, b, _) => std::array::from_fn(|key| {
                let (fa, fb) = (first[a as usize], first[b as usize]);
                let go = |t: u32| resolve(insts, first, t as usize, key);
                match (may(fa, key), may(fb, key)) {
                    (true, true) => match (go(a), go(b)) {
                        (Some(g), Some(r)) => g | (r + 1) << 16,
                        (Some(g), None) => g,
                        (None, Some(r)) => r,
                        (None, None) => FAIL,
                    },
                    (true, false) => go(a).map_or(FAIL, |g| g),
                    (false, true) => go(b).map_or(FAIL, |g| g),
                    (false, false) => FAIL,
                }
            }),
            _ => continue,
        };
        tables.push(table);
    }
    let mut t = 0;
    for inst in insts.iter_mut() {
        if matches!(inst, Inst::Jmp(_) | Inst::Split(..)) {
            *inst = Inst::Branch(t);
            t += 1;
        }
    }
    tables
}

/// A set as a table indexed by byte.
fn table(set: Set) -> [bool; 128] {
    std::array::from_fn(|b| set.has(b as u8))
}

struct Compiler {
    insts: Vec<Inst>,
    classes: Vec<Set>,
    lits: Vec<u8>,
}

/// The ASCII characters one character of `hir` can be, when `hir` is
/// exactly one character (a class, or a one-byte literal).
fn ascii_set(hir: &Hir) -> Option<Set> {
    let mut set = Set::default();
    match hir.kind() {
        HirKind::Literal(lit) => match *lit.0 {
            [b] if b.is_ascii() => set = set.with(b),
            _ => return None,
        },
        HirKind::Class(Class::Unicode(cls)) => {
            for r in cls.iter() {
                set = ranges(set, u32::from(r.start()), u32::from(r.end()));
            }
        }
        HirKind::Class(Class::Bytes(cls)) => {
            for r in cls.iter() {
                set = ranges(set, u32::from(r.start()), u32::from(r.end()));
            }
        }
        _ => return None,
    }
    Some(set)
}

/// `set` with the ASCII characters of `lo..=hi` added.
fn ranges(set: Set, lo: u32, hi: u32) -> Set {
    (lo..=hi.min(127)).fold(set, |s, c| s.with(c as u8))
}

/// The look-arounds the program runs (the CRLF-aware ones are left out).
fn supported(look: Look) -> bool {
    !matches!(look, Look::StartCRLF | Look::EndCRLF)
}

impl Compiler {
    fn push(&mut self, inst: Inst) -> Option<usize> {
        if self.insts.len() >= MAX_INSTS {
            return None;
        }
        self.insts.push(inst);
        Some(self.insts.len() - 1)
    }

    fn here(&self) -> u32 {
        self.insts.len() as u32
    }

    fn class(&mut self, set: Set) -> u32 {
        let i = match self.classes.iter().position(|&c| c == set) {
            Some(i) => i,
            None => {
                self.classes.push(set);
                self.classes.len() - 1
            }
        };
        i as u32
    }

    fn node(&mut self, hir: &Hir) -> Option<()> {
        match hir.kind() {
            HirKind::Empty => {}
            HirKind::Literal(lit) => {
                let at = self.lits.len() as u32;
                self.lits.extend_from_slice(&lit.0);
                self.push(Inst::Lit {
                    at,
                    len: lit.0.len() as u32,
                })?;
            }
            HirKind::Class(_) => {
                let class = self.class(ascii_set(hir)?);
                self.push(Inst::Class(class))?;
            }
            HirKind::Look(look) if supported(*look) => {
                self.push(Inst::Look(*look))?;
            }
            HirKind::Look(_) => return None,
            HirKind::Capture(cap) => {
                self.push(Inst::Save(cap.index * 2))?;
                self.node(&cap.sub)?;
                self.push(Inst::Save(cap.index * 2 + 1))?;
            }
            HirKind::Concat(items) => {
                for item in items {
                    self.node(item)?;
                }
            }
            HirKind::Alternation(alts) => self.alternation(alts)?,
            HirKind::Repetition(rep) => self.repetition(rep)?,
        }
        Some(())
    }

    /// `a|b|c`: each branch behind a split that prefers it, each jumping
    /// to the end.
    fn alternation(&mut self, alts: &[Hir]) -> Option<()> {
        let mut exits = Vec::with_capacity(alts.len());
        for (i, alt) in alts.iter().enumerate() {
            if i + 1 == alts.len() {
                self.node(alt)?;
                break;
            }
            let split = self.push(Inst::Split(0, 0, 0))?;
            self.node(alt)?;
            exits.push(self.push(Inst::Jmp(0))?);
            self.insts[split] = Inst::Split(split as u32 + 1, self.here(), 0);
        }
        let end = self.here();
        for exit in exits {
            self.insts[exit] = Inst::Jmp(end);
        }
        Some(())
    }

    fn repetition(&mut self, rep: &Repetition) -> Option<()> {
        let max = rep.max.unwrap_or(u32::MAX);
        if let Some(set) = ascii_set(&rep.sub) {
            let class = self.class(set);
            self.push(Inst::Repeat {
                class,
                min: rep.min,
                max,
                greedy: rep.greedy,
            })?;
            return Some(());
        }
        // The one order the NFA does not keep (see the module doc).
        if max > 1 && rep.sub.properties().minimum_len() == Some(0) {
            return None;
        }
        for _ in 0..rep.min {
            self.node(&rep.sub)?;
        }
        if rep.max.is_none() {
            return self.star(&rep.sub, rep.greedy);
        }
        // `x{0,3}` as `(?:x(?:x(?:x)?)?)?`: every optional copy behind a
        // split whose other target is the end.
        let mut splits = Vec::new();
        for _ in rep.min..max {
            splits.push(self.push(Inst::Split(0, 0, 0))?);
            self.node(&rep.sub)?;
        }
        let end = self.here();
        for split in splits {
            let body = split as u32 + 1;
            self.insts[split] = self.choice(body, end, rep.greedy);
        }
        Some(())
    }

    /// `x*`: a split before the body, the body jumping back to it.
    fn star(&mut self, sub: &Hir, greedy: bool) -> Option<()> {
        let split = self.push(Inst::Split(0, 0, 0))?;
        self.node(sub)?;
        self.push(Inst::Jmp(split as u32))?;
        let end = self.here();
        self.insts[split] = self.choice(split as u32 + 1, end, greedy);
        Some(())
    }

    fn choice(&self, body: u32, skip: u32, greedy: bool) -> Inst {
        if greedy {
            Inst::Split(body, skip, 0)
        } else {
            Inst::Split(skip, body, 0)
        }
    }
}
