//! fail2ban's per-line pipeline: find and cut out the date, buffer
//! `maxlines` lines, `prefregex`, the failregex list in order, ignoreregex,
//! multi-line ids. The order of these steps and their corner cases are
//! fail2ban 1.0.2's (`Filter.processLine` / `findFailure`), because the
//! filters and sample logs that users bring were tuned against exactly that.

use std::collections::{BTreeMap, BTreeSet};

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::error::FilterError;

use super::date::DateTemplates;
use super::gate::LiteralGate;
use super::mlfid::{Fail, MlfidCache};
use super::openers::Openers;
use super::piece::Piece;
use super::regex::{buffer_text, Groups, Rule, TupleLine};
use super::screen::Screen;

/// A filter as fail2ban resolved it (from its INI files or from its own
/// dump): patterns still carry their tags, `%%` is already unescaped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct F2bFilterSpec {
    /// The filter's name (for errors).
    pub name: String,
    pub prefregex: Option<String>,
    pub failregex: Vec<String>,
    pub ignoreregex: Vec<String>,
    /// `datepattern` as written (several lines allowed), `None` for
    /// fail2ban's default templates.
    pub datepattern: Option<String>,
    /// Lines searched together; 1 when not set.
    pub maxlines: usize,
    /// Return every matching failregex, and helper (`nofail`) and pending
    /// matches too, as fail2ban's sample test runs filters.
    pub check_all: bool,
    /// Do not drop failures whose host is a DNS name. bantam never resolves
    /// names; without this, such failures are left out (fail2ban would
    /// resolve them).
    pub raw_host: bool,
}

/// Which group named the failure's source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostKind {
    Ip4,
    Ip6,
    Dns,
    /// No address: the failure id is an `<F-ID>` (or an mlfid).
    Id,
}

/// One failregex match, as fail2ban reports it.
///
/// Its named groups and matched lines are kept as the line's shared text
/// (see `piece`) and made into strings only when asked for
/// ([`F2bMatch::fields`], [`F2bMatch::matches`]): a caller that counts
/// failures, as `bantam regex` does, never asks, and building them cost
/// about a dozen allocations a match.
#[derive(Clone, Debug)]
pub struct F2bMatch {
    /// The failregex's index.
    pub rule: usize,
    /// The failure id: the host, or the `<F-ID>` when the rule has one that
    /// differs from the host. `None`: the address is not known yet (a
    /// pending multi-line failure; only with `check_all`).
    pub fid: Option<String>,
    /// The host text (address or name), raw.
    pub host: Option<String>,
    /// What `host` (or, without one, `fid`) is.
    pub kind: HostKind,
    /// The prefix length from `<SUBNET>`/`<CIDR>`, if captured.
    pub cidr: Option<String>,
    pub time: Timestamp,
    /// A helper match, not a failure (only with `check_all`).
    pub nofail: bool,
    /// Every named group (`user`, `mlfid` …), prefregex's merged in.
    groups: Groups,
    /// Every user seen on a multi-line connection.
    pub users: Vec<String>,
    /// The log lines that count as attempts.
    lines: Vec<TupleLine>,
}

impl F2bMatch {
    /// Every named group that took part (`user`, `mlfid` …), prefregex's
    /// merged in.
    pub fn fields(&self) -> BTreeMap<String, String> {
        self.groups
            .iter()
            // `String::from`, not `to_string` (`Display` on an `Arc<str>`).
            .filter_map(|(k, v)| Some((String::from(&**k), v.as_deref()?.to_owned())))
            .collect()
    }

    /// The value of a named group that took part.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.groups.value(key)
    }

    /// The log lines that count as attempts.
    pub fn matches(&self) -> Vec<String> {
        self.lines.iter().map(TupleLine::full).collect()
    }

    /// How many lines count as attempts.
    pub fn attempts(&self) -> usize {
        self.lines.len()
    }
}

impl PartialEq for F2bMatch {
    fn eq(&self, other: &F2bMatch) -> bool {
        let head = |m: &F2bMatch| {
            (
                m.rule,
                m.fid.clone(),
                m.host.clone(),
                m.kind,
                m.cidr.clone(),
            )
        };
        head(self) == head(other)
            && (self.time, self.nofail, &self.users) == (other.time, other.nofail, &other.users)
            && self.fields() == other.fields()
            && self.matches() == other.matches()
    }
}

impl Eq for F2bMatch {}

/// A compiled fail2ban filter with its per-log state (buffer, last date,
/// connections in progress). One per log.
#[derive(Clone, Debug)]
pub struct F2bFilter {
    name: String,
    prefregex: Option<Rule>,
    failregex: Vec<Rule>,
    /// Rules out failregexes whose first words are not at the text start.
    openers: Openers,
    /// Rules out failregexes that cannot match a buffer (boxed, as the
    /// gate: they would make the filter much larger than a native one);
    /// `None` when every rule has openers (they rule out nearly as many,
    /// at a fraction of the cost).
    fail_screen: Option<Box<Screen>>,
    /// Drops lines that no failregex can match (only with `maxlines` 1).
    gate: Option<Box<LiteralGate>>,
    ignoreregex: Vec<Rule>,
    maxlines: usize,
    check_all: bool,
    raw_host: bool,
    dates: DateTemplates,
    buffer: Vec<TupleLine>,
    /// Where a line's shared copy is assembled (kept: no allocation).
    scratch: String,
    last_time_text: String,
    last_date: Option<Timestamp>,
    mlfid: MlfidCache,
}

/// A line without a date inherits the previous line's date only if that one
/// is this recent (as fail2ban does).
const INHERIT_DATE: SignedDuration = SignedDuration::from_secs(60);

impl F2bFilter {
    /// Compiles `spec`. `zone` applies to dates without an offset.
    pub fn new(spec: &F2bFilterSpec, zone: TimeZone) -> Result<F2bFilter, FilterError> {
        let maxlines = spec.maxlines.max(1);
        let multiline = maxlines > 1;
        let name = &spec.name;
        let prefregex = spec
            .prefregex
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(|p| Rule::new(p, false, &format!("filter {name}, prefregex")))
            .transpose()?;
        let mut failregex = Vec::with_capacity(spec.failregex.len());
        for (i, p) in spec.failregex.iter().enumerate() {
            let what = format!("filter {name}, failregex {i}");
            let rule = Rule::new(p, multiline, &what)?;
            let ids = ["fid", "ip4", "ip6", "dns", "mlfid"];
            let has_id = |r: &Rule| ids.iter().any(|g| r.has_group(g));
            if !has_id(&rule) && !prefregex.as_ref().is_some_and(has_id) {
                return Err(FilterError::NoHost {
                    what,
                    pattern: p.clone(),
                });
            }
            failregex.push(rule);
        }
        let ignoreregex = spec
            .ignoreregex
            .iter()
            .enumerate()
            .map(|(i, p)| Rule::new(p, multiline, &format!("filter {name}, ignoreregex {i}")))
            .collect::<Result<Vec<_>, _>>()?;
        let dates = DateTemplates::new(spec.datepattern.as_deref(), zone)?;
        let openers = Openers::new(&failregex);
        Ok(F2bFilter {
            name: name.clone(),
            prefregex,
            fail_screen: if openers.complete() {
                None
            } else {
                Some(Box::new(Screen::new(&failregex)))
            },
            openers,
            gate: if multiline {
                None
            } else {
                LiteralGate::new(&failregex).map(Box::new)
            },
            failregex,
            ignoreregex,
            maxlines,
            check_all: spec.check_all,
            raw_host: spec.raw_host,
            dates,
            buffer: Vec::new(),
            scratch: String::new(),
            last_time_text: String::new(),
            last_date: None,
            mlfid: MlfidCache::default(),
        })
    }

    /// The filter's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many failregex rules there are.
    pub fn rule_count(&self) -> usize {
        self.failregex.len()
    }

    /// Fixes the latest year `%ExY` date templates accept. fail2ban derives
    /// it from the wall clock at start (this crate has no clock: the caller
    /// passes it); without this call the first line's `now` decides.
    pub fn set_year_limit(&mut self, last_year: i32) -> Result<(), FilterError> {
        self.dates.set_year_limit(last_year)
    }

    /// A log line whose date is in the text. `now` dates lines without a
    /// date (and infers missing years).
    pub fn process_line(&mut self, line: &str, now: Timestamp) -> Vec<F2bMatch> {
        let found = if self.dates.is_none() {
            None
        } else {
            self.dates.find_text(line, now)
        };
        let found = found.filter(|h| h.start < h.end && h.end <= line.len());
        // A dated line whose text is the rest of it (no `pre`), as in most
        // logs: the gate reads it in place, and a line it drops is not
        // copied (see `gate`); its `\n` holds no literal of the gate's.
        let mut gated = false;
        if let Some(h) = found.filter(|h| h.start == 0 && h.time.is_some()) {
            if let Some(gate) = &self.gate {
                if !gate.may_match(&line[h.end..]) {
                    self.last_time_text.clear();
                    self.last_time_text.push_str(&line[..h.end]);
                    self.last_date = h.time;
                    self.buffer.clear();
                    return Vec::new();
                }
                gated = true;
            }
        }
        // The date text is cut out even when it does not read as a date.
        let cut = found.map(|h| TupleLine::cut(&mut self.scratch, line, h.start, h.end));
        let cut = match (cut, found.and_then(|h| h.time)) {
            (Some(t), Some(time)) => {
                self.last_time_text.clear();
                self.last_time_text.push_str(t.time());
                self.last_date = Some(time);
                return self.find_failures(t, time, now, gated);
            }
            (cut, _) => cut,
        };
        // No date (or an optional one that is empty, or one that does not
        // read): the previous line's if recent, else now.
        let recent = self
            .last_date
            .filter(|d| now.duration_since(*d) < INHERIT_DATE);
        let (tuple, date) = match recent {
            Some(d) => (
                TupleLine::dated(&mut self.scratch, &self.last_time_text, line),
                d,
            ),
            None => (
                cut.unwrap_or_else(|| TupleLine::whole(&mut self.scratch, line)),
                now,
            ),
        };
        self.find_failures(tuple, date, now, false)
    }

    /// A line whose time is already known (the journal's timestamp): no
    /// date is searched for in the text.
    pub fn process_dated(&mut self, line: &str, time: Timestamp) -> Vec<F2bMatch> {
        self.last_time_text.clear();
        self.last_date = Some(time);
        let tuple = TupleLine::whole(&mut self.scratch, line);
        self.find_failures(tuple, time, time, false)
    }

    fn ignored(&self, buf: &Piece, org: &[TupleLine], matched: Option<&[TupleLine]>) -> bool {
        let owned;
        let (buf, org) = match matched {
            Some(m) if self.maxlines > 1 => {
                owned = buffer_text(m);
                (&owned, m)
            }
            _ => (buf, org),
        };
        let mut found = false;
        for rule in &self.ignoreregex {
            if rule.search(buf, org).is_some() {
                found = true;
                if !self.check_all {
                    break;
                }
            }
        }
        found
    }

    fn find_failures(
        &mut self,
        tuple: TupleLine,
        date: Timestamp,
        now: Timestamp,
        gated: bool,
    ) -> Vec<F2bMatch> {
        let mut out = Vec::new();
        // With one line, `buffer` only matters once a `prefregex` content
        // or a match replaces it (the text of `org` is in `buf` until
        // then), and the next line replaces it anyway: no copy is kept.
        // One line stays on the stack: a vector of one cost an allocation
        // a line.
        let (owned, single);
        let org: &[TupleLine] = if self.maxlines > 1 {
            self.buffer.push(tuple);
            let excess = self.buffer.len().saturating_sub(self.maxlines);
            self.buffer.drain(..excess);
            owned = self.buffer.clone();
            &owned
        } else {
            self.buffer.clear();
            single = [tuple];
            &single
        };
        let mut buf = Some(buffer_text(org));
        if let (Some(gate), Some(text), false) = (&self.gate, &buf, gated) {
            if !gate.may_match(text) {
                return out;
            }
        }

        // Few ignore rules against many failure rules: check them first.
        if !self.ignoreregex.is_empty()
            && self.ignoreregex.len() + 2 < self.failregex.len()
            && buf.as_ref().is_some_and(|b| self.ignored(b, org, None))
        {
            return out;
        }

        let mut pre = Groups::default();
        if let Some(p) = &self.prefregex {
            let Some(groups) = buf.as_ref().and_then(|b| p.search_groups(b)) else {
                return out;
            };
            pre = groups;
            if let Some(content) = pre.remove("content").flatten().filter(|c| !c.is_empty()) {
                // Refilled in place: the vector keeps its room.
                self.buffer.clear();
                self.buffer.push(TupleLine::whole_shared(&content));
                buf = None;
            }
        }

        // Which failregexes can match the current buffer text; made again
        // whenever the text changes (`buf` reset to `None`).
        let mut candidates = None;
        for index in 0..self.failregex.len() {
            let text = buf.get_or_insert_with(|| buffer_text(&self.buffer));
            if !self.openers.may_match(index, text) {
                continue;
            }
            // Literals every match holds (see `python::needles`).
            if let Some(needles) = self.failregex[index].needles() {
                if !needles.all_in(text.as_bytes()) {
                    continue;
                }
            }
            if let Some(screen) = &self.fail_screen {
                let c = candidates.get_or_insert_with(|| screen.candidates(text));
                if !screen.may_match(c, index) {
                    continue;
                }
            }
            let Some(mut hit) = self.failregex[index].search(text, org) else {
                continue;
            };
            let text = buf.take().unwrap_or_else(|| buffer_text(&self.buffer));
            if !self.ignoreregex.is_empty() && self.ignored(&text, org, Some(&hit.matched)) {
                if !self.check_all || self.maxlines > 1 {
                    self.buffer.clear();
                    self.buffer.append(&mut hit.unmatched);
                    candidates = None;
                } else {
                    // The buffer is unchanged: so is its text.
                    buf = Some(text);
                }
                if !self.check_all {
                    break;
                }
                continue;
            }
            if !self.check_all || self.maxlines > 1 {
                self.buffer.clear();
                self.buffer.append(&mut hit.unmatched);
                candidates = None;
            } else {
                buf = Some(text);
            }
            let mut own = Fail {
                groups: if pre.is_empty() {
                    std::mem::take(&mut hit.groups)
                } else {
                    Groups::merged(&pre, std::mem::take(&mut hit.groups))
                },
                ..Fail::default()
            };
            // Shared with the group's text (no copy).
            let mlfid = own.groups.get("mlfid").cloned().flatten();
            // A connection's failure is its record in the cache, edited in
            // place (fail2ban's cached dictionary is the one it edits).
            let fail = if let Some(id) = &mlfid {
                let fail = self
                    .mlfid
                    .merge(id, std::mem::take(&mut own), &hit.matched, now);
                if fail.truthy("nofail") && !self.check_all {
                    return out;
                }
                fail
            } else {
                own.matches.append(&mut hit.matched);
                &mut own
            };
            let mut fid = fail.get("fid").map(str::to_owned);
            let (host, kind) = if let Some(ip) = fail.get("ip4") {
                (Some(ip.to_owned()), HostKind::Ip4)
            } else if let Some(ip) = fail.get("ip6") {
                (Some(ip.to_owned()), HostKind::Ip6)
            } else if let Some(name) = fail.get("dns") {
                (Some(name.to_owned()), HostKind::Dns)
            } else {
                if fid.is_none() && mlfid.is_none() {
                    // The rule's own id groups (fail2ban's fallback); a rule
                    // without any cannot name a failure on this line.
                    match &hit.own_id {
                        Some(id) => fid = Some(String::from(&**id)),
                        None => continue,
                    }
                }
                (None, HostKind::Id)
            };
            let ident = host.clone().or_else(|| fid.clone());
            let result_fid = match ident {
                None => {
                    fail.pending = true;
                    if !self.check_all {
                        return out;
                    }
                    None
                }
                Some(ident) => {
                    if host.is_some() && fid.as_ref().is_some_and(|f| *f != ident) {
                        fail.ip = Some(ident);
                        fid
                    } else {
                        Some(ident)
                    }
                }
            };
            if kind == HostKind::Dns && !self.raw_host {
                // fail2ban would resolve the name; bantam never does.
                if !self.check_all {
                    break;
                }
                continue;
            }
            let kind = if result_fid.is_some() && fail.ip.is_some() {
                HostKind::Id
            } else {
                kind
            };
            out.push(F2bMatch {
                rule: index,
                fid: result_fid,
                host,
                kind,
                cidr: fail.get("cidr").map(str::to_owned),
                time: date,
                nofail: fail.truthy("nofail"),
                // A connection's record stays in the cache; a line's own
                // is not used again.
                groups: if mlfid.is_some() {
                    fail.groups.clone()
                } else {
                    std::mem::take(&mut fail.groups)
                },
                users: fail
                    .users
                    .as_ref()
                    .map(|u: &BTreeSet<String>| u.iter().cloned().collect())
                    .unwrap_or_default(),
                lines: if mlfid.is_some() {
                    fail.matches.clone()
                } else {
                    std::mem::take(&mut fail.matches)
                },
            });
            if !self.check_all {
                break;
            }
        }
        out
    }
}

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
