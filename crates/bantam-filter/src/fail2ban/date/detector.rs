//! Choosing the template for a line, with fail2ban's memory of the last
//! winner and its reordering of the list.
//!
//! # Why reproduce the heuristics
//!
//! With several templates a line can hold more than one date-like text (a
//! syslog stamp, then a date inside the message). Which one fail2ban takes
//! depends on its search order and on what it saw before: it first retries
//! the template that won last time, at the same place; otherwise it scans
//! the list, sets aside a match that lies further into the line than
//! before (perhaps a date in the message), and takes the closest one; the
//! winner then moves up the list when its hits outweigh the template ahead.
//! The span of the date is cut out before the rules run, so a different
//! choice changes what the rules see. Positions are counted in characters,
//! as fail2ban's are.

use super::matcher::Found;
use super::memo::Memo;
use super::template::Template;

/// A template in one detector's list, with that detector's statistics.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub template: Template,
    /// Lines this template won.
    hits: u64,
    /// Lines on which its regex matched at all (won or not).
    matches: u64,
    /// When it last won, in seconds (0: never).
    last_used: i64,
    /// Where its last winning date started.
    distance: usize,
    /// Its last match, for the next line with the same date text.
    pub memo: Option<Memo>,
}

impl Entry {
    pub fn new(template: Template) -> Entry {
        Entry {
            template,
            hits: 0,
            matches: 0,
            last_used: 0,
            distance: 0x7fff_ffff,
            memo: None,
        }
    }

    fn weight(&self) -> f64 {
        self.hits as f64 * self.template.weight / self.distance.max(1) as f64
    }
}

/// A position, and the characters just before and at it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Edge {
    at: usize,
    before: Option<char>,
    here: Option<char>,
}

/// The list and what it remembers about the last winner.
#[derive(Clone, Debug)]
pub(crate) struct Detector {
    pub entries: Vec<Entry>,
    last_start: Option<Edge>,
    last_end: Option<Edge>,
    last_index: usize,
    first_unused: usize,
}

/// A template won: its index and match (byte spans).
pub(crate) struct Won {
    pub index: usize,
    pub found: Found,
}

/// Seconds after which a template that has not won may be displaced.
const UNUSED_SECONDS: i64 = 300;

struct Text<'a> {
    line: &'a str,
    /// Whether `line` is ASCII (then characters are bytes), checked once.
    ascii: bool,
}

impl Text<'_> {
    /// Character index of a byte offset.
    fn chars_to(&self, byte: usize) -> usize {
        if self.ascii {
            byte
        } else {
            self.line[..byte].chars().count()
        }
    }

    /// Byte offset of a character index (the end when past it).
    fn byte_of(&self, ch: usize) -> usize {
        if self.ascii {
            ch.min(self.line.len())
        } else {
            self.line
                .char_indices()
                .nth(ch)
                .map_or(self.line.len(), |(b, _)| b)
        }
    }

    fn char_at(&self, ch: usize) -> Option<char> {
        self.line[self.byte_of(ch)..].chars().next()
    }

    fn char_before(&self, ch: usize) -> Option<char> {
        ch.checked_sub(1).and_then(|c| self.char_at(c))
    }

    fn edge(&self, ch: usize) -> Edge {
        Edge {
            at: ch,
            before: self.char_before(ch),
            here: self.char_at(ch),
        }
    }
}

fn not_alnum(c: Option<char>) -> bool {
    c.is_some_and(|c| !c.is_alphanumeric())
}

impl Detector {
    pub fn new(entries: Vec<Entry>) -> Detector {
        Detector {
            entries,
            last_start: None,
            last_end: None,
            last_index: usize::MAX,
            first_unused: 0,
        }
    }

    /// Searches with template `i` in `line[..end]` from `start` (bytes).
    fn search(&mut self, i: usize, line: &str, start: usize, end: usize) -> Option<Found> {
        let e = &mut self.entries[i];
        let m = e
            .template
            .matcher
            .search_memo(&line[..end], start, &mut e.memo);
        if m.is_some() {
            e.matches += 1;
        }
        m
    }

    /// Finds the winning template for `line`; `now_s` (seconds) marks its
    /// use.
    pub fn find(&mut self, line: &str, now_s: i64) -> Option<Won> {
        let n = self.entries.len();
        let text = Text {
            line,
            ascii: line.is_ascii(),
        };
        let span = |m: &Found| {
            let (s, e) = m.span();
            (text.chars_to(s), text.chars_to(e))
        };
        let mut won: Option<(Found, usize)> = None;
        // The best match set aside: (match, start, end, index).
        let mut reserve: Option<(Found, usize, usize, usize)> = None;
        let mut skip = usize::MAX;
        let i = self.last_index;
        if i < n {
            let anchored = self.entries[i].template.anchored();
            let m = match (anchored, self.last_start, self.last_end) {
                (false, Some(ls), Some(le)) => {
                    let (d, e) = (ls.at, le.at);
                    let left = text.char_before(d) == ls.before
                        || (text.char_at(d) == ls.here && not_alnum(ls.here));
                    let right = text.char_at(e) == le.here
                        || (text.char_before(e) == le.before && not_alnum(le.before));
                    if left && right {
                        let (bd, be) = (text.byte_of(d), text.byte_of(e));
                        if bd <= be {
                            self.search(i, line, bd, be)
                        } else {
                            None
                        }
                    } else {
                        skip = i;
                        self.search(i, line, 0, line.len())
                    }
                }
                _ => {
                    skip = i;
                    self.search(i, line, 0, line.len())
                }
            };
            if let Some(m) = m {
                let (d, e) = span(&m);
                let same = self.last_start.map(|x| x.at) == Some(d)
                    && self.last_end.map(|x| x.at) == Some(e);
                if n == 1 || anchored || same {
                    won = Some((m, i));
                } else {
                    reserve = Some((m, d, e, i));
                }
            }
        }
        if won.is_none() {
            let last_distance = self.last_start.map_or(1, |x| x.at);
            let mut i = 0;
            while i < n {
                if i == skip {
                    i += 1;
                    continue;
                }
                if let Some(m) = self.search(i, line, 0, line.len()) {
                    let (d, e) = span(&m);
                    let entry = &self.entries[i];
                    let stop = i + 1 >= n
                        || entry.template.anchored()
                        || (d == 0 && entry.hits > 0 && self.entries[i + 1].matches == 0);
                    if !stop && (d > entry.distance || d > last_distance) {
                        // Perhaps a date inside the message: keep the
                        // closest such match and look further.
                        if reserve.as_ref().is_none_or(|r| d < r.1) {
                            reserve = Some((m, d, e, i));
                        }
                        i += 1;
                        continue;
                    }
                    won = Some((m, i));
                    break;
                }
                i += 1;
            }
            if won.is_none() {
                won = reserve.map(|(m, _, _, i)| (m, i));
            }
        }
        let (m, i) = won?;
        let (d, e) = span(&m);
        let entry = &mut self.entries[i];
        entry.hits += 1;
        entry.last_used = now_s;
        entry.distance = d;
        if self.first_unused == i {
            self.first_unused += 1;
        }
        self.last_start = Some(text.edge(d));
        self.last_end = Some(text.edge(e));
        let mut index = i;
        if i != 0 && i != self.last_index {
            index = self.reorder(i);
        }
        self.last_index = index;
        Some(Won { index, found: m })
    }

    /// Moves a winner up the list when it outweighs the template at the
    /// target place (the first unused one, or halfway up), or when that
    /// one has not won for a while; otherwise tries one place up.
    fn reorder(&mut self, num: usize) -> usize {
        let e = &self.entries[num];
        let stale = e.last_used - UNUSED_SECONDS;
        let weight = e.weight();
        let movable = |pos: usize| {
            let p = &self.entries[pos];
            weight > p.weight() || stale > p.last_used
        };
        let mut pos = if self.first_unused < num {
            self.first_unused
        } else {
            num / 2
        };
        if !movable(pos) {
            if pos == num - 1 {
                return num;
            }
            pos = num - 1;
            if !movable(pos) {
                return num;
            }
        }
        let entry = self.entries.remove(num);
        self.entries.insert(pos, entry);
        while self.first_unused < self.entries.len() && self.entries[self.first_unused].hits > 0 {
            self.first_unused += 1;
        }
        pos
    }
}
