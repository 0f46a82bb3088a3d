//! One fail2ban rule (`prefregex`, a `failregex` or an `ignoreregex`):
//! the expanded pattern, and a search over a line buffer that says which
//! buffered lines the match covers.
//!
//! # Why the line bookkeeping
//!
//! With `maxlines` > 1 fail2ban searches the buffered lines joined by `\n`.
//! A match consumes the lines it spans (minus any `<SKIPLINES>` lines), and
//! the rest stay buffered for later matches. The results (`matches`,
//! `attempts`) count those lines, so the accounting has to be exact.

use std::sync::Arc;

use crate::error::FilterError;
use crate::python::needles::Needles;
use crate::python::{PyFlags, PyMatch, PyRegex};

pub use super::groups::Groups;
use super::piece::Piece;
use super::tags;

/// One buffered line, split as fail2ban splits it: the text before the
/// date, the date text, and the text after it. Rules see `pre + rest`.
///
/// Held as one shared string with cuts: a line is copied into match
/// results and connection records, and a copy is then a reference count.
/// The shared string may go on past the line; where it goes on with the
/// `\n` that ends the buffer text, the text of a line without `pre` is a
/// piece of it (see [`buffer_text`]).
#[derive(Clone, Debug)]
pub struct TupleLine {
    all: Arc<str>,
    start: usize,
    time_at: usize,
    rest_at: usize,
    end: usize,
}

impl PartialEq for TupleLine {
    fn eq(&self, other: &TupleLine) -> bool {
        (self.pre(), self.time(), self.rest()) == (other.pre(), other.time(), other.rest())
    }
}

impl Eq for TupleLine {}

impl Default for TupleLine {
    fn default() -> TupleLine {
        TupleLine::whole(&mut String::new(), "")
    }
}

impl TupleLine {
    /// A line cut at `time_at..rest_at` (byte offsets, on character
    /// boundaries of `line`). The shared copy ends with the buffer's `\n`
    /// (the text the rules search is then a piece of it); it is assembled
    /// in `scratch`, the caller's, so that a line costs one allocation.
    pub fn cut(scratch: &mut String, line: &str, time_at: usize, rest_at: usize) -> TupleLine {
        TupleLine::shared(scratch, &[line], time_at, rest_at)
    }

    /// A line without a date in it.
    pub fn whole(scratch: &mut String, rest: &str) -> TupleLine {
        TupleLine::cut(scratch, rest, 0, 0)
    }

    /// A line without a date of its own, given `time` as its date text.
    pub fn dated(scratch: &mut String, time: &str, rest: &str) -> TupleLine {
        TupleLine::shared(scratch, &[time, rest], 0, time.len())
    }

    /// The line `parts` joined, cut at `time_at..rest_at`.
    fn shared(scratch: &mut String, parts: &[&str], time_at: usize, rest_at: usize) -> TupleLine {
        scratch.clear();
        parts.iter().for_each(|p| scratch.push_str(p));
        let end = scratch.len();
        scratch.push('\n');
        TupleLine {
            all: Arc::from(scratch.as_str()),
            start: 0,
            time_at,
            rest_at,
            end,
        }
    }

    /// [`TupleLine::whole`] of a text already shared (a `prefregex`
    /// content): no copy.
    pub fn whole_shared(rest: &Piece) -> TupleLine {
        let (all, start, end) = rest.parts();
        TupleLine {
            all: all.clone(),
            start,
            time_at: start,
            rest_at: start,
            end,
        }
    }

    pub fn pre(&self) -> &str {
        &self.all[self.start..self.time_at]
    }

    pub fn time(&self) -> &str {
        &self.all[self.time_at..self.rest_at]
    }

    pub fn rest(&self) -> &str {
        &self.all[self.rest_at..self.end]
    }

    /// The text the rules see: the line with its date cut out.
    pub fn text(&self) -> String {
        let mut s = String::with_capacity(self.pre().len() + self.rest().len());
        s.push_str(self.pre());
        s.push_str(self.rest());
        s
    }

    /// The whole line as logged.
    pub fn full(&self) -> String {
        String::from(&self.all[self.start..self.end])
    }

    /// The line's text and its `\n` as a piece of the shared string, when
    /// it is one (no `pre`, and the string goes on with `\n`).
    fn shared_text(&self) -> Option<Piece> {
        let newline = self.all.as_bytes().get(self.end) == Some(&b'\n');
        (newline && self.start == self.time_at)
            .then(|| Piece::new(self.all.clone(), self.rest_at, self.end + 1))
    }
}

/// The buffer text the rules search: every line's text, each followed by
/// `\n` (fail2ban ends the buffer with a newline too; Python's `$` matches
/// before it). One line's is most often a piece of the line: no copy.
pub fn buffer_text(lines: &[TupleLine]) -> Piece {
    if let [line] = lines {
        if let Some(text) = line.shared_text() {
            return text;
        }
    }
    let len = lines
        .iter()
        .map(|l| l.pre().len() + l.rest().len() + 1)
        .sum();
    let mut s = String::with_capacity(len);
    for l in lines {
        s.push_str(l.pre());
        s.push_str(l.rest());
        s.push('\n');
    }
    Piece::whole(Arc::from(s.as_str()))
}

/// A successful search.
#[derive(Clone, Debug)]
pub struct Hit {
    pub groups: Groups,
    /// The buffered lines the match spans (minus skipped lines).
    pub matched: Vec<TupleLine>,
    /// The buffered lines left over.
    pub unmatched: Vec<TupleLine>,
    /// The id groups of this rule's own match (`fid`, `ip4`, `ip6`, `dns`),
    /// in that order of preference: the fallback failure id.
    pub own_id: Option<Piece>,
}

/// A compiled rule.
#[derive(Clone, Debug)]
pub struct Rule {
    re: PyRegex,
    /// The named groups: index and name.
    named: Vec<(usize, Arc<str>)>,
    /// `alt_NAME[_N]` groups and the key each fills when that key is empty.
    alternates: Vec<(Arc<str>, Arc<str>)>,
    skiplines: usize,
}

impl Rule {
    /// Expands tags and compiles. `what` names the rule in errors
    /// ("filter sshd, failregex 3").
    pub fn new(pattern: &str, multiline: bool, what: &str) -> Result<Rule, FilterError> {
        let expanded = tags::expand(pattern);
        if expanded.pattern.trim().is_empty() {
            return Err(FilterError::Regex {
                what: what.to_owned(),
                pattern: pattern.to_owned(),
                reason: "the pattern is empty".to_owned(),
            });
        }
        let flags = PyFlags {
            multiline,
            ..PyFlags::default()
        };
        let re = PyRegex::new(&expanded.pattern, flags).map_err(|e| FilterError::Regex {
            what: what.to_owned(),
            pattern: pattern.to_owned(),
            reason: e.reason,
        })?;
        let named: Vec<(usize, Arc<str>)> = re
            .group_names()
            .iter()
            .enumerate()
            .filter_map(|(i, n)| Some((i, Arc::from(n.as_deref()?))))
            .collect();
        let mut alternates: Vec<(Arc<str>, Arc<str>)> = named
            .iter()
            .filter_map(|(_, n)| alternate_target(n).map(|t| (n.clone(), Arc::from(t))))
            .collect();
        alternates.sort();
        Ok(Rule {
            re,
            named,
            alternates,
            skiplines: expanded.skiplines,
        })
    }

    /// A linear pattern matching a superset of what this rule matches (see
    /// [`PyRegex::screen_pattern`]).
    pub fn screen_pattern(&self) -> Option<&str> {
        self.re.screen_pattern()
    }

    /// The same for ASCII texts (see [`PyRegex::ascii_screen_pattern`]).
    pub fn ascii_screen_pattern(&self) -> Option<&str> {
        self.re.ascii_screen_pattern()
    }

    /// Literals every match holds (see `python::needles`).
    pub fn needles(&self) -> Option<&Needles> {
        self.re.needles()
    }

    /// Whether the rule has a group of this name.
    pub fn has_group(&self, name: &str) -> bool {
        self.re.group_names().iter().flatten().any(|n| &**n == name)
    }

    /// Searches `buf` (the text of `org`, or a `prefregex` content that
    /// replaced it). `None` also when the backtracking limit was hit: a line
    /// too costly to judge is a line that does not match.
    pub fn search(&self, buf: &Piece, org: &[TupleLine]) -> Option<Hit> {
        let m = self.re.search(buf).ok()??;
        let (groups, own_id) = self.groups_and_id(buf, &m);
        let (matched, unmatched) = if org.len() <= 1 {
            (org.to_vec(), Vec::new())
        } else {
            self.split_lines(buf, &m, org)
        };
        Some(Hit {
            groups,
            matched,
            unmatched,
            own_id,
        })
    }

    /// Like [`Rule::search`] for a `prefregex`, whose hit only gives its
    /// groups: the line bookkeeping is left out.
    pub fn search_groups(&self, buf: &Piece) -> Option<Groups> {
        let m = self.re.search(buf).ok()??;
        Some(self.groups_and_id(buf, &m).0)
    }

    /// The match's groups, and its own id groups (`fid`, `ip4`, `ip6`,
    /// `dns`, the first that took part), read before the `alt_` groups
    /// fill empty ones: the id shares the group's text, not a copy.
    fn groups_and_id(&self, buf: &Piece, m: &PyMatch) -> (Groups, Option<Piece>) {
        // Room for the keys `alt_` groups may add too.
        let mut g = Groups::with_capacity(self.named.len() + self.alternates.len());
        for (i, name) in &self.named {
            g.push_absent(name.clone(), m.get(*i).map(|(s, e)| buf.sub(s, e)));
        }
        let own_id = ["fid", "ip4", "ip6", "dns"]
            .iter()
            .find_map(|k| g.get(k).cloned().flatten());
        for (alt, target) in &self.alternates {
            let v = g.get(alt).cloned().flatten();
            let filled = g.value(target).is_some_and(|t| !t.is_empty());
            if v.as_deref().is_some_and(|v| !v.is_empty()) && !filled {
                g.insert(target.clone(), v);
            }
        }
        (g, own_id)
    }

    /// Which of `org`'s lines the match spans, counted by the newlines of
    /// `buf` before its start and after its end.
    fn split_lines(
        &self,
        buf: &str,
        m: &PyMatch,
        org: &[TupleLine],
    ) -> (Vec<TupleLine>, Vec<TupleLine>) {
        let (start, end) = m.span();
        let b = buf.as_bytes();
        // The line of the match's first character (a match starting on a
        // newline belongs to the line that newline ends).
        let search_to = (start + 1).min(b.len());
        let line_start = memchr::memrchr(b'\n', &b[..search_to]).map_or(0, |i| i + 1);
        let from = end.saturating_sub(1);
        let line_end =
            memchr::memchr(b'\n', &b[from.min(b.len())..]).map_or(b.len(), |i| from + i + 1);
        let first = memchr::memchr_iter(b'\n', &b[..line_start]).count();
        let last = memchr::memchr_iter(b'\n', &b[..line_end]).count();
        let first = first.min(org.len());
        let last = last.clamp(first, org.len());
        let mut matched: Vec<TupleLine> = org[first..last].to_vec();
        let mut unmatched: Vec<TupleLine> = org[..first].to_vec();
        let mut n = 0;
        for skipped in self.skipped_lines(buf, m) {
            if let Some(k) = matched[n.min(matched.len())..]
                .iter()
                .position(|l| l.text() == skipped)
            {
                unmatched.push(matched.remove(n + k));
                n += k;
            }
        }
        unmatched.extend_from_slice(&org[last..]);
        (matched, unmatched)
    }

    fn skipped_lines(&self, buf: &str, m: &PyMatch) -> Vec<String> {
        let mut text = String::new();
        for i in 0..self.skiplines {
            if let Some((s, e)) = m.name(&format!("skiplines{i}")) {
                text.push_str(&buf[s..e]);
            }
        }
        text.lines().map(str::to_owned).collect()
    }
}

/// `alt_user`, `alt_user_2` → `user`; `alt_user1` → `user1` (a trailing
/// number only counts after `_`, as in fail2ban).
fn alternate_target(name: &str) -> Option<String> {
    if name.len() <= 4 {
        return None;
    }
    let rest = name.strip_prefix("alt_")?;
    let base = match rest.rfind('_') {
        Some(i) if i + 1 < rest.len() && rest[i + 1..].bytes().all(|c| c.is_ascii_digit()) => {
            &rest[..i]
        }
        _ => rest,
    };
    Some(tags::field_key(base))
}
