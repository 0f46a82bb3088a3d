//! The bans in force, in memory: looked up by jail and target, and sorted by
//! end time so that one sleeping task knows when the next one ends (the
//! kernel lifts it by itself; the daemon only has to forget it).

use std::collections::{BTreeSet, HashMap};

use jiff::Timestamp;

use bantam_firewall::Target;
use bantam_state::BanRecord;

/// A ban in force.
#[derive(Debug, Clone)]
pub struct ActiveBan {
    pub target: Target,
    pub record: BanRecord,
}

/// Current bans with an expiry index.
#[derive(Debug, Default)]
pub struct BanBook {
    bans: HashMap<(String, Target), ActiveBan>,
    by_end: BTreeSet<(Timestamp, String, Target)>,
}

impl BanBook {
    pub fn len(&self) -> usize {
        self.bans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bans.is_empty()
    }

    pub fn count_in(&self, jail: &str) -> usize {
        self.bans.keys().filter(|(j, _)| j == jail).count()
    }

    pub fn is_banned(&self, jail: &str, target: &Target) -> bool {
        // Allocation-free lookup would need a borrowed key type; the common
        // case (not banned) is answered by this cheap scan of one bucket.
        self.bans.contains_key(&(jail.to_owned(), *target))
    }

    pub fn insert(&mut self, ban: ActiveBan) {
        let key = (ban.record.jail.clone(), ban.target);
        self.remove(&key.0, &key.1);
        if let Some(end) = ban.record.end {
            self.by_end.insert((end, key.0.clone(), key.1));
        }
        self.bans.insert(key, ban);
    }

    pub fn remove(&mut self, jail: &str, target: &Target) -> Option<ActiveBan> {
        let ban = self.bans.remove(&(jail.to_owned(), *target))?;
        if let Some(end) = ban.record.end {
            self.by_end.remove(&(end, jail.to_owned(), *target));
        }
        Some(ban)
    }

    /// Removes `target` from every jail.
    pub fn remove_everywhere(&mut self, target: &Target) -> Vec<ActiveBan> {
        let jails: Vec<String> = self
            .bans
            .keys()
            .filter(|(_, t)| t == target)
            .map(|(j, _)| j.clone())
            .collect();
        jails
            .iter()
            .filter_map(|j| self.remove(j, target))
            .collect()
    }

    pub fn clear(&mut self) -> Vec<ActiveBan> {
        self.by_end.clear();
        self.bans.drain().map(|(_, b)| b).collect()
    }

    /// When the next ban ends, if any ban has an end.
    pub fn next_end(&self) -> Option<Timestamp> {
        self.by_end.first().map(|(end, _, _)| *end)
    }

    /// Removes and returns the bans that ended at or before `now`.
    pub fn take_ended(&mut self, now: Timestamp) -> Vec<ActiveBan> {
        let mut ended = Vec::new();
        while let Some((end, jail, target)) = self.by_end.first().cloned() {
            if end > now {
                break;
            }
            self.by_end.pop_first();
            if let Some(ban) = self.bans.remove(&(jail, target)) {
                ended.push(ban);
            }
        }
        ended
    }

    pub fn iter(&self) -> impl Iterator<Item = &ActiveBan> {
        self.bans.values()
    }
}
