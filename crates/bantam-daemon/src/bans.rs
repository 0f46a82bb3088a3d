//! The bans in force, in memory: looked up by jail and target, listed in
//! (jail, target) order a page at a time, and sorted by end time so that one
//! sleeping task knows when the next one ends (the kernel lifts it by
//! itself; the daemon only has to forget it).
//!
//! Bans are kept per jail in one ordered map: a lookup needs no allocation,
//! a jail's count is its map's length, and a listing resumes after any
//! (jail, target) key in O(log n) however many bans came and went since the
//! previous page.
//!
//! Memory is what limits a host with a million bans, so a ban is held
//! compactly: its target (19 bytes) and an [`Entry`] of 24 bytes, times in
//! milliseconds (the store's precision) and no per-ban string; the jail's
//! name is held once, and its text forms are rebuilt when a ban leaves the
//! book or is listed. Matched lines are kept only when given (the daemon
//! gives them for jails whose actions may want them at unban). Measured
//! with bench/million.sh: 1,000,000 restored bans take about 80 bytes each
//! here (a map built from sorted input fills its nodes), against ~700
//! bytes with a whole `BanRecord` per ban in a hash map plus two ordered
//! indexes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

use jiff::Timestamp;

use bantam_firewall::Target;
use bantam_state::BanRecord;

/// A ban in force.
#[derive(Debug, Clone)]
pub struct ActiveBan {
    pub target: Target,
    pub record: BanRecord,
}

/// End of a permanent ban in [`Entry::end_ms`] and the end-time index.
const NEVER: i64 = i64::MAX;

/// What the book keeps of a ban besides its target and jail.
#[derive(Debug, Clone, Copy)]
struct Entry {
    start_ms: i64,
    end_ms: i64,
    failures: u32,
    ban_count: u32,
}

/// One jail's bans, ordered for listings.
#[derive(Debug, Default)]
struct JailBans {
    id: u32,
    bans: BTreeMap<Target, Entry>,
}

/// Current bans with an expiry index and a listing order.
#[derive(Debug, Default)]
pub struct BanBook {
    jails: BTreeMap<String, JailBans>,
    /// Jail names by id; an id is never reused, so the end-time index can
    /// name a jail with 4 bytes.
    names: Vec<String>,
    by_end: BTreeSet<(i64, u32, Target)>,
    /// Matched lines of the bans that came with some: (jail id, target).
    matches: HashMap<(u32, Target), Vec<String>>,
    /// Reasons of the bans that have one (by hand: few).
    reasons: HashMap<(u32, Target), String>,
    len: usize,
}

fn millis(t: Timestamp) -> i64 {
    t.as_millisecond()
}

fn timestamp(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

impl BanBook {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn count_in(&self, jail: &str) -> usize {
        self.jails.get(jail).map_or(0, |j| j.bans.len())
    }

    pub fn is_banned(&self, jail: &str, target: &Target) -> bool {
        self.jails
            .get(jail)
            .is_some_and(|j| j.bans.contains_key(target))
    }

    /// When the ban of `target` in `jail` (or its latest extension) began.
    pub fn start_of(&self, jail: &str, target: &Target) -> Option<Timestamp> {
        let entry = self.jails.get(jail)?.bans.get(target)?;
        Some(timestamp(entry.start_ms))
    }

    /// The jails that ban `target`, each with its ban's end (`None`:
    /// permanent). A lookup per jail: jails are few.
    pub fn holders<'a>(
        &'a self,
        target: &'a Target,
    ) -> impl Iterator<Item = (&'a str, Option<Timestamp>)> + 'a {
        self.holders_beside(target, None)
    }

    /// [`BanBook::holders`] but `except`, which the caller knows does not
    /// hold `target`: a lookup fewer per ban of a burst.
    pub fn holders_beside<'a>(
        &'a self,
        target: &'a Target,
        except: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a str, Option<Timestamp>)> + 'a {
        let others = self
            .jails
            .iter()
            .filter(move |(name, _)| Some(name.as_str()) != except);
        others.filter_map(move |(name, j)| {
            let entry = j.bans.get(target)?;
            Some((
                name.as_str(),
                (entry.end_ms != NEVER).then(|| timestamp(entry.end_ms)),
            ))
        })
    }

    fn jail_id(&mut self, jail: &str) -> u32 {
        if let Some(bans) = self.jails.get(jail) {
            return bans.id;
        }
        let id = match self.names.iter().position(|n| n == jail) {
            Some(i) => i as u32,
            None => {
                self.names.push(jail.to_owned());
                (self.names.len() - 1) as u32
            }
        };
        let bans = JailBans {
            id,
            bans: BTreeMap::new(),
        };
        self.jails.insert(jail.to_owned(), bans);
        id
    }

    pub fn insert(&mut self, ban: ActiveBan) {
        let ActiveBan { target, mut record } = ban;
        let matches = std::mem::take(&mut record.matches);
        let reason = record.reason.take();
        self.insert_parts(target, &record, matches, reason);
    }

    /// Inserts the ban of `record`, which the caller keeps (for the store):
    /// only what the book holds is copied, the matched lines only when
    /// `with_matches` (actions read them; nothing else does).
    pub fn insert_copy(&mut self, target: Target, record: &BanRecord, with_matches: bool) {
        let matches = match with_matches {
            true => record.matches.clone(),
            false => Vec::new(),
        };
        self.insert_parts(target, record, matches, record.reason.clone());
    }

    fn insert_parts(
        &mut self,
        target: Target,
        record: &BanRecord,
        matches: Vec<String>,
        reason: Option<String>,
    ) {
        let id = self.jail_id(&record.jail);
        let entry = Entry {
            start_ms: millis(record.start),
            end_ms: record.end.map_or(NEVER, millis),
            failures: record.failures,
            ban_count: record.ban_count,
        };
        // One walk down the jail's map, not a remove then an insert: with a
        // million bans each walk is a few cache misses, and a burst makes
        // one per ban (the replaced entry is rare: an extension).
        let jail = self.jails.get_mut(&record.jail).expect("jail_id made it");
        match jail.bans.insert(target, entry) {
            Some(old) => self.forget_extras(id, target, &old),
            None => self.len += 1,
        }
        if entry.end_ms != NEVER {
            self.by_end.insert((entry.end_ms, id, target));
        }
        if !matches.is_empty() {
            self.matches.insert((id, target), matches);
        }
        if let Some(reason) = reason {
            self.reasons.insert((id, target), reason);
        }
    }

    /// Drops what the book keeps of a replaced entry beside the jail's map.
    fn forget_extras(&mut self, id: u32, target: Target, old: &Entry) {
        if old.end_ms != NEVER {
            self.by_end.remove(&(old.end_ms, id, target));
        }
        self.matches.remove(&(id, target));
        self.reasons.remove(&(id, target));
    }

    /// Inserts many bans; into an empty book (a restore) it builds each
    /// index from sorted input in one pass, which fills the maps' nodes
    /// (a ban costs about half what inserting one by one leaves).
    pub fn extend(&mut self, bans: Vec<ActiveBan>) {
        if !self.is_empty() {
            bans.into_iter().for_each(|b| self.insert(b));
            return;
        }
        let mut per_jail: BTreeMap<String, Vec<(Target, Entry)>> = BTreeMap::new();
        let mut ends = Vec::with_capacity(bans.len());
        for ActiveBan { target, record } in bans {
            let id = self.jail_id(&record.jail);
            let entry = Entry {
                start_ms: millis(record.start),
                end_ms: record.end.map_or(NEVER, millis),
                failures: record.failures,
                ban_count: record.ban_count,
            };
            if entry.end_ms != NEVER {
                ends.push((entry.end_ms, id, target));
            }
            if !record.matches.is_empty() {
                self.matches.insert((id, target), record.matches);
            }
            if let Some(reason) = record.reason {
                self.reasons.insert((id, target), reason);
            }
            per_jail
                .entry(record.jail)
                .or_default()
                .push((target, entry));
        }
        for (name, entries) in per_jail {
            let jail = self.jails.get_mut(&name).expect("jail_id made it");
            // Later duplicates win, as with one insert after the other.
            jail.bans = entries.into_iter().collect();
            self.len += jail.bans.len();
        }
        // A duplicate key left a stale end behind: keep only live ones.
        self.by_end = ends
            .into_iter()
            .filter(|&(end, id, target)| {
                self.entry_of(id, &target).is_some_and(|e| e.end_ms == end)
            })
            .collect();
    }

    fn entry_of(&self, id: u32, target: &Target) -> Option<&Entry> {
        let name = self.names.get(id as usize)?;
        self.jails.get(name)?.bans.get(target)
    }

    fn active(&self, jail: &str, id: u32, target: Target, entry: &Entry) -> ActiveBan {
        ActiveBan {
            target,
            record: BanRecord {
                jail: jail.to_owned(),
                target: target.to_string(),
                start: timestamp(entry.start_ms),
                end: (entry.end_ms != NEVER).then(|| timestamp(entry.end_ms)),
                failures: entry.failures,
                ban_count: entry.ban_count,
                matches: self.matches.get(&(id, target)).cloned().unwrap_or_default(),
                reason: self.reasons.get(&(id, target)).cloned(),
            },
        }
    }

    pub fn remove(&mut self, jail: &str, target: &Target) -> Option<ActiveBan> {
        let bans = self.jails.get_mut(jail)?;
        let entry = bans.bans.remove(target)?;
        let id = bans.id;
        if bans.bans.is_empty() {
            // A jail removed by a reload leaves no empty entry behind.
            self.jails.remove(jail);
        }
        if entry.end_ms != NEVER {
            self.by_end.remove(&(entry.end_ms, id, *target));
        }
        let ban = self.active(jail, id, *target, &entry);
        self.matches.remove(&(id, *target));
        self.reasons.remove(&(id, *target));
        self.len -= 1;
        Some(ban)
    }

    /// Removes `target` from every jail.
    pub fn remove_everywhere(&mut self, target: &Target) -> Vec<ActiveBan> {
        let jails: Vec<String> = self
            .jails
            .iter()
            .filter(|(_, j)| j.bans.contains_key(target))
            .map(|(name, _)| name.clone())
            .collect();
        jails
            .iter()
            .filter_map(|j| self.remove(j, target))
            .collect()
    }

    pub fn clear(&mut self) -> Vec<ActiveBan> {
        let all: Vec<ActiveBan> = self.iter().collect();
        self.by_end.clear();
        self.jails.clear();
        self.matches.clear();
        self.reasons.clear();
        self.len = 0;
        all
    }

    /// When the next ban ends, if any ban has an end.
    pub fn next_end(&self) -> Option<Timestamp> {
        self.by_end.first().map(|&(end, _, _)| timestamp(end))
    }

    /// Removes and returns the bans that ended at or before `now`, the
    /// earliest first, at most `limit` of them.
    pub fn take_ended(&mut self, now: Timestamp, limit: usize) -> Vec<ActiveBan> {
        let now = millis(now);
        let mut ended = Vec::new();
        while ended.len() < limit {
            let Some(&(end, id, target)) = self.by_end.first() else {
                break;
            };
            if end > now {
                break;
            }
            let name = self.names[id as usize].clone();
            match self.remove(&name, &target) {
                Some(ban) => ended.push(ban),
                None => {
                    self.by_end.pop_first();
                }
            }
        }
        ended
    }

    /// [`BanBook::take_ended`], plus the bans ending by `until` of the
    /// jails `early` names (taken before their end; the rest of the book
    /// is not touched); at most `limit`, in order of their end, so the
    /// ended ones come first.
    pub fn take_ending(
        &mut self,
        now: Timestamp,
        until: Timestamp,
        early: &dyn Fn(&str) -> bool,
        limit: usize,
    ) -> Vec<ActiveBan> {
        let (now, until) = (millis(now), millis(until));
        let keys: Vec<(u32, Target)> = self
            .by_end
            .iter()
            .take_while(|&&(end, _, _)| end <= until)
            .filter(|&&(end, id, _)| end <= now || early(&self.names[id as usize]))
            .take(limit)
            .map(|&(_, id, target)| (id, target))
            .collect();
        keys.into_iter()
            .filter_map(|(id, target)| {
                let name = self.names[id as usize].clone();
                self.remove(&name, &target)
            })
            .collect()
    }

    /// The bans of `jail`, in target order.
    pub fn in_jail<'a>(&'a self, jail: &'a str) -> impl Iterator<Item = ActiveBan> + 'a {
        self.jails
            .get_key_value(jail)
            .into_iter()
            .flat_map(move |(name, j)| {
                j.bans
                    .iter()
                    .map(move |(target, entry)| self.active(name, j.id, *target, entry))
            })
    }

    /// The targets `jail` bans, in order; nothing is rebuilt, so a scan
    /// of a million bans costs no allocation.
    pub fn targets_in<'a>(&'a self, jail: &str) -> impl Iterator<Item = Target> + 'a {
        self.jails
            .get(jail)
            .into_iter()
            .flat_map(|j| j.bans.keys().copied())
    }

    /// Every ban, in (jail, target) order.
    pub fn iter(&self) -> impl Iterator<Item = ActiveBan> + '_ {
        self.jails.iter().flat_map(move |(name, j)| {
            j.bans
                .iter()
                .map(move |(target, entry)| self.active(name, j.id, *target, entry))
        })
    }

    /// At most `limit` bans in (jail, target) order, starting after the key
    /// `after` (which need not be banned any more), without visiting the
    /// bans before it.
    pub fn page(&self, after: Option<(&str, &Target)>, limit: usize) -> Vec<ActiveBan> {
        let mut page = Vec::with_capacity(limit.min(self.len));
        let jails = match after {
            Some((jail, _)) => self
                .jails
                .range::<str, _>((Bound::Included(jail), Bound::Unbounded)),
            None => self.jails.range::<str, _>(..),
        };
        for (name, bans) in jails {
            let entries = match after {
                Some((jail, target)) if jail == name => {
                    bans.bans.range((Bound::Excluded(target), Bound::Unbounded))
                }
                _ => bans.bans.range(..),
            };
            for (target, entry) in entries {
                if page.len() == limit {
                    return page;
                }
                page.push(self.active(name, bans.id, *target, entry));
            }
        }
        page
    }

    /// At most `limit` bans in (jail, target) order, from the first of
    /// `jail` on (the jails after it follow, as in [`BanBook::page`]).
    pub fn page_from(&self, jail: &str, limit: usize) -> Vec<ActiveBan> {
        let mut page = Vec::with_capacity(limit.min(self.len));
        let jails = self
            .jails
            .range::<str, _>((Bound::Included(jail), Bound::Unbounded));
        for (name, bans) in jails {
            for (target, entry) in &bans.bans {
                if page.len() == limit {
                    return page;
                }
                page.push(self.active(name, bans.id, *target, entry));
            }
        }
        page
    }
}

#[cfg(test)]
#[path = "bans_tests.rs"]
mod tests;
