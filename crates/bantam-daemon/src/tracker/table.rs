//! Where the tracker keeps its sources: one dense vector of entries, a hash
//! index of positions in it, and the eviction order as links parallel to it.
//!
//! The key lives once, in its entry; the index holds only a `u32` position
//! per source (hashbrown's `HashTable`, the table behind std's `HashMap`,
//! hashed with std's randomly keyed SipHash). Removal moves the last entry
//! into the hole, so there are no free slots to skip and nothing to compact.

use std::hash::{BuildHasher, RandomState};

use hashbrown::HashTable;

use bantam_firewall::Target;

use super::lines::Lines;

/// Failure times held inline: enough for the default `maxretry` of 5,
/// since a source is banned, not stored, when its failures reach it.
const INLINE_TICKS: usize = 4;

const NIL: u32 = u32::MAX;

/// One source's failures inside the window.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) target: Target,
    /// The latest failure, in ticks (see `Tracker::tick`).
    pub(crate) last: u32,
    /// Weighted failures short of a whole one, in thousandths (rules with a
    /// fractional `weight`): fixed point, two bytes that padding already had.
    pub(crate) frac: u16,
    pub(crate) ticks: Ticks,
    pub(crate) matches: Lines,
}

/// Failure times in ticks, one per failure (a line counting `n` failures
/// adds `n`); never more than `maxretry - 1`.
#[derive(Debug)]
pub(crate) enum Ticks {
    Inline { len: u8, ticks: [u32; INLINE_TICKS] },
    Spilled(Vec<u32>),
}

impl Ticks {
    pub(crate) fn new(maxretry: u32) -> Ticks {
        if maxretry as usize <= INLINE_TICKS + 1 {
            Ticks::Inline {
                len: 0,
                ticks: [0; INLINE_TICKS],
            }
        } else {
            Ticks::Spilled(Vec::new())
        }
    }

    pub(crate) fn len(&self) -> u32 {
        match self {
            Ticks::Inline { len, .. } => u32::from(*len),
            Ticks::Spilled(v) => v.len() as u32,
        }
    }

    /// Forgets failures before `since`.
    pub(crate) fn retain_since(&mut self, since: u32) {
        match self {
            Ticks::Inline { len, ticks } => {
                let mut kept = 0;
                for i in 0..usize::from(*len) {
                    if ticks[i] >= since {
                        ticks[kept] = ticks[i];
                        kept += 1;
                    }
                }
                *len = kept as u8;
            }
            Ticks::Spilled(v) => v.retain(|&t| t >= since),
        }
    }

    /// Adds `count` failures at `tick`. The tracker bans instead when this
    /// would reach its limit, which bounds the inline case for untrusted
    /// sources; a trusted one (a larger limit) spills to the heap.
    pub(crate) fn push(&mut self, tick: u32, count: u32) {
        if let Ticks::Inline { len, ticks } = self {
            if usize::from(*len) + count as usize > INLINE_TICKS {
                *self = Ticks::Spilled(ticks[..usize::from(*len)].to_vec());
            }
        }
        match self {
            Ticks::Inline { len, ticks } => {
                let end = (usize::from(*len) + count as usize).min(INLINE_TICKS);
                ticks[usize::from(*len)..end].fill(tick);
                *len = end as u8;
            }
            Ticks::Spilled(v) => v.extend(std::iter::repeat_n(tick, count as usize)),
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            Ticks::Inline { .. } => 0,
            Ticks::Spilled(v) => v.capacity() * size_of::<u32>(),
        }
    }
}

/// The entries and their index.
#[derive(Debug, Default)]
pub(crate) struct Entries {
    slots: Vec<Entry>,
    index: HashTable<u32>,
    hasher: RandomState,
}

impl Entries {
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &Entry> {
        self.slots.iter()
    }

    pub(crate) fn find(&self, target: &Target) -> Option<usize> {
        let hash = hash_of(&self.hasher, target);
        let slots = &self.slots;
        let found = self
            .index
            .find(hash, |&i| slots[i as usize].target == *target);
        found.map(|&i| i as usize)
    }

    pub(crate) fn get_mut(&mut self, i: usize) -> &mut Entry {
        &mut self.slots[i]
    }

    pub(crate) fn get(&self, i: usize) -> &Entry {
        &self.slots[i]
    }

    /// Adds an entry whose target is not present; returns its position.
    /// Grows by doubling up to `limit` and not past it, so a jail at its
    /// capacity does not hold up to twice the room it may use.
    pub(crate) fn insert(&mut self, entry: Entry, limit: usize) -> usize {
        reserve_up_to(&mut self.slots, limit);
        let i = self.slots.len();
        let hash = hash_of(&self.hasher, &entry.target);
        self.slots.push(entry);
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.index.insert_unique(hash, i as u32, |&j| {
            hash_of(hasher, &slots[j as usize].target)
        });
        i
    }

    /// Removes the entry at `i`; the last entry moves to `i`.
    pub(crate) fn swap_remove(&mut self, i: usize) -> Entry {
        let last = self.slots.len() - 1;
        let hash = hash_of(&self.hasher, &self.slots[i].target);
        if let Ok(found) = self.index.find_entry(hash, |&j| j as usize == i) {
            found.remove();
        }
        if i != last {
            let hash = hash_of(&self.hasher, &self.slots[last].target);
            if let Some(moved) = self.index.find_mut(hash, |&j| j as usize == last) {
                *moved = i as u32;
            }
        }
        self.slots.swap_remove(i)
    }

    /// Heap bytes held by the vector and the index (not by the entries'
    /// own allocations).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.slots.capacity() * size_of::<Entry>() + self.index.allocation_size()
    }
}

/// The one way a target is hashed, for lookups and insertions alike.
fn hash_of(hasher: &RandomState, target: &Target) -> u64 {
    hasher.hash_one(target)
}

/// Positions linked oldest to newest, parallel to the entries.
#[derive(Clone, Copy, Debug)]
struct Link {
    prev: u32,
    next: u32,
}

/// The eviction order: the source that failed least recently first.
#[derive(Debug)]
pub(crate) struct Order {
    links: Vec<Link>,
    head: u32,
    tail: u32,
}

impl Default for Order {
    fn default() -> Order {
        Order {
            links: Vec::new(),
            head: NIL,
            tail: NIL,
        }
    }
}

impl Order {
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.links.len()
    }

    /// The position that failed least recently.
    pub(crate) fn front(&self) -> Option<usize> {
        (self.head != NIL).then_some(self.head as usize)
    }

    /// Links a new position, which must be `len()`, as the newest.
    pub(crate) fn push_back(&mut self, i: usize, limit: usize) {
        debug_assert_eq!(i, self.links.len());
        reserve_up_to(&mut self.links, limit);
        self.links.push(Link {
            prev: NIL,
            next: NIL,
        });
        self.link_back(i as u32);
    }

    pub(crate) fn move_to_back(&mut self, i: usize) {
        if self.tail != i as u32 {
            self.unlink(i as u32);
            self.link_back(i as u32);
        }
    }

    /// Unlinks `i`; the last position moves to `i`, as in the entries.
    pub(crate) fn swap_remove(&mut self, i: usize) {
        self.unlink(i as u32);
        let last = self.links.len() - 1;
        self.links.swap_remove(i);
        if i != last {
            let Link { prev, next } = self.links[i];
            self.point_to(prev, next, i as u32);
        }
    }

    fn link_back(&mut self, i: u32) {
        self.links[i as usize] = Link {
            prev: self.tail,
            next: NIL,
        };
        match self.tail {
            NIL => self.head = i,
            t => self.links[t as usize].next = i,
        }
        self.tail = i;
    }

    fn unlink(&mut self, i: u32) {
        let Link { prev, next } = self.links[i as usize];
        match prev {
            NIL => self.head = next,
            p => self.links[p as usize].next = next,
        }
        match next {
            NIL => self.tail = prev,
            n => self.links[n as usize].prev = prev,
        }
    }

    /// Makes the neighbours `prev` and `next` point to `i`.
    fn point_to(&mut self, prev: u32, next: u32, i: u32) {
        match prev {
            NIL => self.head = i,
            p => self.links[p as usize].next = i,
        }
        match next {
            NIL => self.tail = i,
            n => self.links[n as usize].prev = i,
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.links.capacity() * size_of::<Link>()
    }
}

/// Room for one more element: doubling, but never beyond `limit`.
fn reserve_up_to<T>(v: &mut Vec<T>, limit: usize) {
    if v.len() == v.capacity() {
        let grow = v.capacity().max(4).min(limit.saturating_sub(v.len()));
        v.reserve_exact(grow.max(1));
    }
}
