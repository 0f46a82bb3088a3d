//! What one interval set holds, as far as this backend knows: the networks
//! it read there or added, each with when its timeout ends.
//!
//! A network ban must know the networks banned already: the kernel refuses
//! overlapping intervals, so nested ones are merged (see `nft::interval`).
//! Reading the set before every batch made that exact, but a read costs
//! the whole set, and the kernel's dump of a big set is slower still (each
//! message walks it from the start): with IPv6 counted per /64 every new
//! IPv6 attacker is a network, and a burst of 100,000 spent 21 s of its
//! 23 s re-reading the set it was filling. [`Held`] answers the question a
//! batch asks — "does any of these networks touch one banned?" — with one
//! ordered-map lookup each; the set is read only when the answer is yes or
//! unsure, and the exact plan is made from that read as before:
//!
//! * unknown until the first read, and again after anything that may change
//!   the set behind our back (setup of an existing table, a failed batch);
//! * a network whose timeout ended less than [`SLACK`] ago may still be in
//!   the kernel (our clock starts before the kernel's), so it touches;
//! * what the mirror cannot know, an element someone added to our table by
//!   hand, makes the kernel refuse the batch as overlapping; the backend then
//!   forgets the mirror and goes the exact way.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::target::{host_mask, to_bits, BanEntry, Target};

/// How long after its timeout a network may still be in the kernel, as
/// far as we can tell: a batch touching it reads the set first.
pub(crate) const SLACK: Duration = Duration::from_secs(10);

/// `until` of a permanent network.
const NEVER: u64 = u64::MAX;

/// One network: its prefix length, and until when (milliseconds after
/// [`Held::base`]) it may be in the set.
#[derive(Debug, Clone, Copy)]
struct Kept {
    prefix: u8,
    until: u64,
}

/// The networks of one interval set, by first address. They never overlap,
/// as in the kernel: a batch that would add an overlapping one reads the
/// set and is planned from what it holds.
#[derive(Debug)]
pub(crate) struct Held {
    base: Instant,
    nets: BTreeMap<u128, Kept>,
}

impl Held {
    /// What a read of the set found (each with its time left).
    pub(crate) fn from_listing(listed: &[BanEntry]) -> Held {
        let mut held = Held {
            base: Instant::now(),
            nets: BTreeMap::new(),
        };
        held.add(listed);
        held
    }

    /// Whether every one of `wanted` (distinct canonical networks) is
    /// certainly clear of the networks held and of the others in `wanted`:
    /// then adding them needs no read and deletes nothing.
    pub(crate) fn all_clear(&mut self, wanted: &[BanEntry]) -> bool {
        let now = self.now();
        self.all_clear_at(wanted, now)
    }

    fn all_clear_at(&mut self, wanted: &[BanEntry], now: u64) -> bool {
        if !wanted.iter().all(|e| self.clear(e.target, now)) {
            return false;
        }
        // Nested networks within one batch: rare, and planned exactly.
        let mut spans: Vec<(u128, u128)> = wanted.iter().map(|e| span(e.target)).collect();
        spans.sort_unstable();
        spans.windows(2).all(|w| w[0].1 < w[1].0)
    }

    /// Whether `net` touches no network that is, or may still be, held.
    /// Networks long past their timeout are dropped on the way: one that
    /// lingered would hide an older neighbour from the lookup.
    fn clear(&mut self, net: Target, now: u64) -> bool {
        let (first, last) = span(net);
        loop {
            // Networks never overlap, so the only one that can touch
            // [first, last] is the last one starting at or before `last`.
            let Some((&start, &kept)) = self.nets.range(..=last).next_back() else {
                return true;
            };
            if kept.until != NEVER && kept.until.saturating_add(millis(SLACK)) < now {
                self.nets.remove(&start);
                continue;
            }
            return start | host_mask(net.addr(), kept.prefix) < first;
        }
    }

    /// Networks now in the set, each with its timeout (counted from now).
    pub(crate) fn add(&mut self, entries: &[BanEntry]) {
        let now = self.now();
        self.add_at(entries, now);
    }

    fn add_at(&mut self, entries: &[BanEntry], now: u64) {
        for e in entries {
            let until = e
                .timeout
                .map_or(NEVER, |t| now.saturating_add(millis(t)).min(NEVER - 1));
            let prefix = e.target.prefix();
            self.nets
                .insert(to_bits(e.target.addr()), Kept { prefix, until });
        }
    }

    /// Networks no longer in the set.
    pub(crate) fn remove(&mut self, targets: &[Target]) {
        for t in targets {
            let start = to_bits(t.addr());
            if self
                .nets
                .get(&start)
                .is_some_and(|k| k.prefix == t.prefix())
            {
                self.nets.remove(&start);
            }
        }
    }

    fn now(&self) -> u64 {
        millis(self.base.elapsed())
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(NEVER - 1)
}

/// The first and last address of `net`, as numbers.
fn span(net: Target) -> (u128, u128) {
    let first = to_bits(net.addr());
    (first, first | host_mask(net.addr(), net.prefix()))
}

#[cfg(test)]
#[path = "held_tests.rs"]
mod tests;
