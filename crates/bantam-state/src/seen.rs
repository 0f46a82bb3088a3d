//! Which addresses the ban history may hold: Bloom filters, so that
//! counting the earlier bans of a new attacker costs no read.
//!
//! Escalation asks, before every ban, how often its address was banned
//! before. In a burst of new attackers the answer is always 0, yet each
//! question was a lookup in an index of random keys that no cache holds:
//! half the loop's time in a burst of a million (11.8 s of 22.9). The
//! filter answers "never banned" from memory for all but a fraction of a
//! percent; only the others are read.
//!
//! It must never say "never" of an address the history holds: every target
//! is added before the transaction that writes it commits, and the history
//! already on disk is added by a thread at open; until that is done, the
//! filter says "maybe" of everything. Purged history stays in the filter
//! (a "maybe" costs a read, not a wrong count) until the next start.
//!
//! It grows by adding a filter twice the size of the last when the last is
//! full (a scalable Bloom filter), so it needs no rebuild: 16 bits and 4
//! probes an address, about 0.25% false "maybe"s per filter, some 2 bytes
//! per address in all.

use std::hash::{BuildHasher, Hasher};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use rusqlite::{Connection, OpenFlags};

const BITS_PER_ADDRESS: usize = 16;
const PROBES: u64 = 4;
/// Addresses the first filter holds at least: 128 KiB.
const FIRST: usize = 1 << 16;
/// And at most (2 MiB): the estimate is the history's largest id, which
/// only grows, so a long-lived database would size it by every ban ever;
/// more addresses than this add filters as they come.
const FIRST_AT_MOST: usize = 1 << 20;

struct Bloom {
    words: Vec<u64>,
    /// Bits - 1 (a power of two).
    mask: u64,
    capacity: usize,
    len: usize,
}

impl Bloom {
    fn new(capacity: usize) -> Bloom {
        let bits = (capacity * BITS_PER_ADDRESS).next_power_of_two();
        Bloom {
            words: vec![0; bits / 64],
            mask: bits as u64 - 1,
            capacity,
            len: 0,
        }
    }

    /// Double hashing: probe i is h1 + i·h2.
    fn bit(&self, (h1, h2): (u64, u64), i: u64) -> (usize, u64) {
        let bit = h1.wrapping_add(i.wrapping_mul(h2)) & self.mask;
        ((bit / 64) as usize, 1 << (bit % 64))
    }

    fn insert(&mut self, hash: (u64, u64)) {
        for i in 0..PROBES {
            let (word, bit) = self.bit(hash, i);
            self.words[word] |= bit;
        }
        self.len += 1;
    }

    fn may_hold(&self, hash: (u64, u64)) -> bool {
        (0..PROBES).all(|i| {
            let (word, bit) = self.bit(hash, i);
            self.words[word] & bit != 0
        })
    }
}

/// A fixed hash: the filter is rebuilt at every start, and an attacker
/// who found colliding addresses would only cost reads.
fn hash(target: &str) -> (u64, u64) {
    let mut h =
        std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
            .build_hasher();
    h.write(target.as_bytes());
    let h = h.finish();
    // An odd step, so the probes of one address are distinct.
    (h, h.rotate_left(32) | 1)
}

/// Shared by the store's writer (adds) and its readers (ask).
pub(crate) struct Seen {
    blooms: RwLock<Vec<Bloom>>,
    filling: AtomicBool,
    ready: AtomicBool,
}

impl Seen {
    /// An empty filter for about `expected` addresses, saying "maybe" of
    /// everything until [`Seen::fill_from`] is done.
    pub fn new(expected: usize) -> Arc<Seen> {
        Arc::new(Seen {
            blooms: RwLock::new(vec![Bloom::new(expected.clamp(FIRST, FIRST_AT_MOST))]),
            filling: AtomicBool::new(false),
            ready: AtomicBool::new(false),
        })
    }

    pub fn insert<'a>(&self, targets: impl IntoIterator<Item = &'a str>) {
        let mut blooms = self.blooms.write().unwrap_or_else(|e| e.into_inner());
        for target in targets {
            let last = blooms.last().expect("one filter at least");
            if last.len >= last.capacity {
                let next = Bloom::new(last.capacity * 2);
                blooms.push(next);
            }
            let last = blooms.last_mut().expect("one filter at least");
            last.insert(hash(target));
        }
    }

    /// False only if `target` was never added, once the history on disk is.
    pub fn may_hold_each(&self, targets: &[String]) -> Vec<bool> {
        self.may_hold_all(targets.iter().map(String::as_str))
    }

    /// [`Seen::may_hold_each`] for any list of targets.
    pub fn may_hold_all<'a>(&self, targets: impl ExactSizeIterator<Item = &'a str>) -> Vec<bool> {
        if !self.ready.load(Ordering::Acquire) {
            return vec![true; targets.len()];
        }
        let blooms = self.blooms.read().unwrap_or_else(|e| e.into_inner());
        targets
            .map(|t| {
                let h = hash(t);
                blooms.iter().any(|b| b.may_hold(h))
            })
            .collect()
    }

    /// Adds every target of the history at `path` (once; later calls do
    /// nothing), on a thread of its own
    /// and a read-only connection, then says the filter is whole. A failure
    /// leaves it saying "maybe" (every count read from disk, as before).
    pub fn fill_from(self: &Arc<Seen>, path: &Path) {
        if self.filling.swap(true, Ordering::AcqRel) {
            return;
        }
        let seen = self.clone();
        let path = path.to_owned();
        let _ = std::thread::Builder::new()
            .name("bantam-history".into())
            .spawn(move || {
                if seen.fill(&path).is_ok() {
                    seen.ready.store(true, Ordering::Release);
                }
            });
    }

    fn fill(&self, path: &Path) -> rusqlite::Result<()> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Covering indexes: the smallest things to read. The current bans
        // count too (see counter.rs), and are not in the history.
        let mut stmt = conn
            .prepare("SELECT DISTINCT target FROM ban_history UNION ALL SELECT target FROM bans")?;
        let mut rows = stmt.query([])?;
        let mut part = Vec::with_capacity(4096);
        while let Some(row) = rows.next()? {
            part.push(row.get::<_, String>(0)?);
            if part.len() == 4096 {
                self.insert(part.iter().map(String::as_str));
                part.clear();
            }
        }
        self.insert(part.iter().map(String::as_str));
        Ok(())
    }

    #[cfg(test)]
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_says_never_of_an_added_address_and_rarely_maybe_of_others() {
        let seen = Seen::new(0);
        seen.ready.store(true, Ordering::Release);
        let added: Vec<String> = (0..300_000)
            .map(|i| format!("2001:db8:{i:x}::/64"))
            .collect();
        seen.insert(added.iter().map(String::as_str));
        assert!(
            seen.may_hold_each(&added).iter().all(|&m| m),
            "no false never"
        );
        let others: Vec<String> = (0..65_536)
            .map(|i| format!("198.18.{}.{}", i >> 8, i & 255))
            .collect();
        let maybes = seen.may_hold_each(&others).iter().filter(|&&m| m).count();
        assert!(maybes < 1_300, "{maybes} false maybes in 65,536");
        assert!(seen.blooms.read().unwrap().len() > 1, "it grew");
    }

    #[test]
    fn says_maybe_of_everything_until_the_history_is_in() {
        let seen = Seen::new(10);
        assert!(!seen.is_ready());
        assert_eq!(seen.may_hold_each(&["192.0.2.1".to_string()]), [true]);
    }
}
