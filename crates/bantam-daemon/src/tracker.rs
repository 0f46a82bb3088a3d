//! Counting failures per source inside `findtime`, in bounded memory.
//!
//! Under a botnet the number of distinct sources is the attacker's choice, so
//! the tracker holds at most `capacity` of them and forgets the oldest first
//! (the one closest to leaving the window anyway). Stale entries are dropped
//! as new failures arrive, never by a timer, so an idle daemon never wakes.
//! The map uses the standard library's hasher, keyed at random per process
//! (SipHash), so an attacker cannot pick addresses that collide.

use std::collections::{HashMap, VecDeque};

use jiff::{SignedDuration, Timestamp};

use bantam_firewall::Target;

/// Longest stored copy of a matched line: enough to read, not enough for a
/// 100 kB hostile line to blow up memory.
pub const MATCH_BYTES: usize = 240;
/// Matched lines kept per source (the last ones).
pub const MATCHES_KEPT: usize = 5;

#[derive(Debug)]
struct Entry {
    /// Creation stamp, to recognise this entry in the eviction queue.
    generation: u64,
    /// Failures inside the window: (time, how many).
    failures: VecDeque<(Timestamp, u32)>,
    total: u32,
    last: Timestamp,
    matches: VecDeque<String>,
}

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
    entries: HashMap<Target, Entry>,
    order: VecDeque<(Target, u64)>,
    next_generation: u64,
    evicted: u64,
}

impl Tracker {
    pub fn new(maxretry: u32, findtime: std::time::Duration, capacity: usize) -> Tracker {
        Tracker {
            maxretry: maxretry.max(1),
            findtime: SignedDuration::try_from(findtime).unwrap_or(SignedDuration::MAX),
            capacity: capacity.max(1),
            entries: HashMap::new(),
            order: VecDeque::new(),
            next_generation: 0,
            evicted: 0,
        }
    }

    /// Sources currently tracked.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sources forgotten because the tracker was full.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Forgets a source (after a manual ban, say).
    pub fn forget(&mut self, target: &Target) {
        self.entries.remove(target);
    }

    /// Records `count` failures of `target` at `time`, with the line that
    /// showed them.
    pub fn record(&mut self, target: Target, time: Timestamp, count: u32, line: &[u8]) -> Verdict {
        self.drop_stale(time);
        let window_start = time.checked_sub(self.findtime).unwrap_or(Timestamp::MIN);
        let entry = match self.entries.get_mut(&target) {
            Some(entry) => entry,
            None => {
                let generation = self.next_generation;
                self.next_generation += 1;
                self.order.push_back((target, generation));
                self.entries.entry(target).or_insert(Entry {
                    generation,
                    failures: VecDeque::new(),
                    total: 0,
                    last: time,
                    matches: VecDeque::new(),
                })
            }
        };
        while let Some(&(t, n)) = entry.failures.front() {
            if t >= window_start {
                break;
            }
            entry.failures.pop_front();
            entry.total -= n;
        }
        entry.failures.push_back((time, count));
        entry.total = entry.total.saturating_add(count);
        entry.last = entry.last.max(time);
        if entry.matches.len() == MATCHES_KEPT {
            entry.matches.pop_front();
        }
        let shown = &line[..line.len().min(MATCH_BYTES)];
        entry
            .matches
            .push_back(String::from_utf8_lossy(shown).into_owned());
        let verdict = if entry.total >= self.maxretry {
            let failures = entry.total;
            let matches = entry.matches.drain(..).collect();
            self.entries.remove(&target);
            Verdict::Ban { failures, matches }
        } else {
            Verdict::Counting(entry.total)
        };
        self.enforce_capacity();
        verdict
    }

    /// Drops a few entries from the front of the queue that are no longer in
    /// the window, or no longer exist. A constant amount of work per call
    /// keeps every call cheap while the queue still drains as time passes.
    fn drop_stale(&mut self, now: Timestamp) {
        let window_start = now.checked_sub(self.findtime).unwrap_or(Timestamp::MIN);
        for _ in 0..4 {
            let Some(&(target, generation)) = self.order.front() else {
                return;
            };
            match self.entries.get(&target) {
                Some(e) if e.generation == generation && e.last >= window_start => return,
                Some(e) if e.generation == generation => {
                    self.entries.remove(&target);
                }
                _ => {}
            }
            self.order.pop_front();
        }
    }

    fn enforce_capacity(&mut self) {
        while self.entries.len() > self.capacity {
            let Some((target, generation)) = self.order.pop_front() else {
                return;
            };
            if self
                .entries
                .get(&target)
                .is_some_and(|e| e.generation == generation)
            {
                self.entries.remove(&target);
                self.evicted += 1;
            }
        }
        // The queue holds dead generations too; keep it within a constant
        // factor of the live entries so it cannot grow without bound.
        if self.order.len() > 2 * self.capacity.max(self.entries.len()) + 64 {
            let entries = &self.entries;
            self.order
                .retain(|(t, g)| entries.get(t).is_some_and(|e| e.generation == *g));
        }
    }
}

#[cfg(test)]
#[path = "tracker_tests.rs"]
mod tests;
