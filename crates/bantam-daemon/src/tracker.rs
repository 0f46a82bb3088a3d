//! Counting failures per source inside `findtime`, in bounded memory.
//!
//! Under a botnet the number of distinct sources is the attacker's choice, so
//! the tracker holds at most `capacity` of them and forgets the oldest first
//! (the one closest to leaving the window anyway). Stale entries are dropped
//! as new failures arrive, never by a timer, so an idle daemon never wakes.
//! The index uses the standard library's hasher, keyed at random per process
//! (SipHash), so an attacker cannot pick addresses that collide.
//!
//! A source costs about 200 bytes of heap with one stored line and at most
//! about 300 with the most it may store (see `bench/tracker-memory.sh`):
//! failure times are `u32` seconds held inline up to the default `maxretry`,
//! matched lines share one byte budget in one allocation (module `lines`), and the
//! key is stored once, indexed by position (module `table`).

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use bantam_firewall::Target;

mod lines;
mod table;

use lines::Lines;
use table::{Entries, Entry, Order, Ticks};

/// Longest stored copy of a matched line: enough to read, not enough for a
/// 100 kB hostile line to blow up memory. Longer lines lose their middle.
pub const MATCH_BYTES: usize = 160;
/// Longest copy of the line that earned a ban. It is never stored in the
/// tracker, so it can be longer: actions (`<matches>`, mails) get realistic
/// lines verbatim, and a hostile one still costs at most this much.
pub const LAST_MATCH_BYTES: usize = 512;
/// Matched lines a ban reports per source (the last ones). Older ones may be
/// shortened or left out: a source's lines share a small byte budget.
pub const MATCHES_KEPT: usize = 5;

/// What a failure led to.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Still under the threshold: this many failures in the window.
    Counting(u32),
    /// The threshold is reached: ban. The source is forgotten by the tracker.
    Ban { failures: u32, matches: Vec<String> },
}

/// Failures per source for one jail.
#[derive(Debug)]
pub struct Tracker {
    maxretry: u32,
    findtime: SignedDuration,
    capacity: usize,
    /// Failure times are stored as whole seconds after this (Unix seconds),
    /// in a `u32`: set half that range before the first failure seen, so
    /// 68 years either side of it fit.
    epoch: Option<i64>,
    entries: Entries,
    order: Order,
    evicted: u64,
}

impl Tracker {
    pub fn new(maxretry: u32, findtime: Duration, capacity: usize) -> Tracker {
        Tracker {
            maxretry: maxretry.max(1),
            findtime: SignedDuration::try_from(findtime).unwrap_or(SignedDuration::MAX),
            // Positions are u32, with one value reserved.
            capacity: capacity.clamp(1, u32::MAX as usize - 1),
            epoch: None,
            entries: Entries::default(),
            order: Order::default(),
            evicted: 0,
        }
    }

    /// Sources currently tracked.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.len() == 0
    }

    /// Sources forgotten because the tracker was full.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Heap bytes the tracker holds (what it asked the allocator for; the
    /// allocator's own overhead comes on top).
    pub fn heap_bytes(&self) -> usize {
        let own: usize = self
            .entries
            .values()
            .map(|e| e.matches.heap_bytes() + e.ticks.heap_bytes())
            .sum();
        own + self.entries.heap_bytes() + self.order.heap_bytes()
    }

    /// Forgets a source (after a manual ban, say).
    pub fn forget(&mut self, target: &Target) {
        if let Some(i) = self.entries.find(target) {
            self.remove(i);
        }
    }

    /// Records `count` failures of `target` at `time`, with the line that
    /// showed them.
    pub fn record(&mut self, target: Target, time: Timestamp, count: u32, line: &[u8]) -> Verdict {
        let limit = self.maxretry;
        self.record_weighted(target, time, u64::from(count) * 1000, line, limit)
    }

    /// Records failures weighing `milli` thousandths of a failure (a rule's
    /// `weight` × `<F-COUNT>`); `limit` is the failures that earn a ban
    /// (`maxretry`, or more for a trusted source). Fractions add up per
    /// source.
    pub fn record_weighted(
        &mut self,
        target: Target,
        time: Timestamp,
        milli: u64,
        line: &[u8],
        limit: u32,
    ) -> Verdict {
        let frac = self
            .entries
            .find(&target)
            .map_or(0, |i| self.entries.get(i).frac);
        let total = milli.saturating_add(u64::from(frac));
        let count = (total / 1000).min(u64::from(u32::MAX)) as u32;
        let rest = (total % 1000) as u16;
        let verdict = self.record_counted(target, time, count, line, limit.max(1));
        if let Some(i) = self.entries.find(&target) {
            self.entries.get_mut(i).frac = rest;
        }
        verdict
    }

    fn record_counted(
        &mut self,
        target: Target,
        time: Timestamp,
        count: u32,
        line: &[u8],
        limit: u32,
    ) -> Verdict {
        let now = self.tick(time);
        let since = match time.checked_sub(self.findtime) {
            Ok(start) => self.tick(start),
            Err(_) => 0,
        };
        self.drop_stale(since);
        let Some(i) = self.entries.find(&target) else {
            return self.record_new(target, now, count, line, limit);
        };
        let entry = self.entries.get_mut(i);
        entry.ticks.retain_since(since);
        let failures = entry.ticks.len().saturating_add(count);
        if failures >= limit {
            let entry = self.remove(i);
            return Verdict::Ban {
                failures,
                matches: entry.matches.into_matches(line),
            };
        }
        entry.ticks.push(now, count);
        entry.last = entry.last.max(now);
        entry.matches.push(line);
        self.order.move_to_back(i);
        Verdict::Counting(failures)
    }

    fn record_new(
        &mut self,
        target: Target,
        now: u32,
        count: u32,
        line: &[u8],
        limit: u32,
    ) -> Verdict {
        if count >= limit {
            return Verdict::Ban {
                failures: count,
                matches: Lines::default().into_matches(line),
            };
        }
        while self.entries.len() >= self.capacity {
            let Some(oldest) = self.order.front() else {
                break;
            };
            self.remove(oldest);
            self.evicted += 1;
        }
        let mut entry = Entry {
            target,
            last: now,
            frac: 0,
            ticks: Ticks::new(self.maxretry),
            matches: Lines::default(),
        };
        entry.ticks.push(now, count);
        entry.matches.push(line);
        let i = self.entries.insert(entry, self.capacity);
        self.order.push_back(i, self.capacity);
        Verdict::Counting(count)
    }

    fn remove(&mut self, i: usize) -> Entry {
        self.order.swap_remove(i);
        self.entries.swap_remove(i)
    }

    /// A time in whole seconds after the epoch, saturating. Seconds are
    /// truncated, so a failure may count for up to a second longer than
    /// `findtime` when stamps carry fractions; never for less.
    fn tick(&mut self, time: Timestamp) -> u32 {
        let secs = time.as_second();
        let epoch = *self.epoch.get_or_insert(secs - (1 << 31));
        (secs - epoch).clamp(0, i64::from(u32::MAX)) as u32
    }

    /// Drops a few sources from the front of the order whose last failure
    /// left the window. A constant amount of work per call keeps every call
    /// cheap while stale sources still drain as time passes.
    fn drop_stale(&mut self, since: u32) {
        for _ in 0..4 {
            match self.order.front() {
                Some(i) if self.entries.get(i).last < since => {
                    self.remove(i);
                }
                _ => return,
            }
        }
    }
}

#[cfg(test)]
#[path = "tracker_tests.rs"]
mod tests;
