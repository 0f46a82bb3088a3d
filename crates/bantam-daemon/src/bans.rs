//! The bans in force, in memory: looked up by jail and target, listed in
//! (jail, target) order a page at a time, and sorted by end time so that one
//! sleeping task knows when the next one ends (the kernel lifts it by
//! itself; the daemon only has to forget it).
//!
//! Bans are kept per jail: a lookup needs no allocation, a jail's count is
//! its map's length, and a listing resumes after any (jail, target) key in
//! O(log n) however many bans came and went since the previous page.

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

/// One jail's bans: hashed for lookups, ordered for listings.
#[derive(Debug, Default)]
struct JailBans {
    bans: HashMap<Target, ActiveBan>,
    order: BTreeSet<Target>,
}

/// Current bans with an expiry index and a listing order.
#[derive(Debug, Default)]
pub struct BanBook {
    jails: BTreeMap<String, JailBans>,
    by_end: BTreeSet<(Timestamp, String, Target)>,
    len: usize,
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

    pub fn insert(&mut self, ban: ActiveBan) {
        let target = ban.target;
        self.remove(&ban.record.jail, &target);
        if let Some(end) = ban.record.end {
            self.by_end
                .insert((end, ban.record.jail.clone(), ban.target));
        }
        if !self.jails.contains_key(&ban.record.jail) {
            self.jails
                .insert(ban.record.jail.clone(), JailBans::default());
        }
        let jail = self
            .jails
            .get_mut(&ban.record.jail)
            .expect("inserted just above");
        jail.order.insert(target);
        jail.bans.insert(target, ban);
        self.len += 1;
    }

    pub fn remove(&mut self, jail: &str, target: &Target) -> Option<ActiveBan> {
        let bans = self.jails.get_mut(jail)?;
        let ban = bans.bans.remove(target)?;
        bans.order.remove(target);
        if bans.bans.is_empty() {
            // A jail removed by a reload leaves no empty entry behind.
            self.jails.remove(jail);
        }
        if let Some(end) = ban.record.end {
            self.by_end.remove(&(end, jail.to_owned(), *target));
        }
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
        self.by_end.clear();
        self.len = 0;
        std::mem::take(&mut self.jails)
            .into_values()
            .flat_map(|j| j.bans.into_values())
            .collect()
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
            if let Some(ban) = self.remove(&jail, &target) {
                ended.push(ban);
            }
        }
        ended
    }

    /// The bans of `jail`, in target order.
    pub fn in_jail<'a>(&'a self, jail: &str) -> impl Iterator<Item = &'a ActiveBan> + 'a {
        self.jails
            .get(jail)
            .into_iter()
            .flat_map(|j| j.order.iter().map(|t| &j.bans[t]))
    }

    /// Every ban, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &ActiveBan> {
        self.jails.values().flat_map(|j| j.bans.values())
    }

    /// At most `limit` bans in (jail, target) order, starting after the key
    /// `after` (which need not be banned any more), without visiting the
    /// bans before it.
    pub fn page(&self, after: Option<(&str, &Target)>, limit: usize) -> Vec<&ActiveBan> {
        let mut page = Vec::with_capacity(limit.min(self.len));
        let jails = match after {
            Some((jail, _)) => self
                .jails
                .range::<str, _>((Bound::Included(jail), Bound::Unbounded)),
            None => self.jails.range::<str, _>(..),
        };
        for (name, bans) in jails {
            let targets = match after {
                Some((jail, target)) if jail == name => bans
                    .order
                    .range((Bound::Excluded(target), Bound::Unbounded)),
                _ => bans.order.range(..),
            };
            for target in targets {
                if page.len() == limit {
                    return page;
                }
                page.push(&bans.bans[target]);
            }
        }
        page
    }

    /// At most `limit` bans in (jail, target) order, from the first of
    /// `jail` on (the jails after it follow, as in [`BanBook::page`]).
    pub fn page_from(&self, jail: &str, limit: usize) -> Vec<&ActiveBan> {
        let mut page = Vec::with_capacity(limit.min(self.len));
        let jails = self
            .jails
            .range::<str, _>((Bound::Included(jail), Bound::Unbounded));
        for (_, bans) in jails {
            for target in &bans.order {
                if page.len() == limit {
                    return page;
                }
                page.push(&bans.bans[target]);
            }
        }
        page
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ban(jail: &str, target: &str, end: Option<i64>) -> ActiveBan {
        let target: Target = target.parse().unwrap();
        ActiveBan {
            target,
            record: BanRecord {
                jail: jail.into(),
                target: target.to_string(),
                start: Timestamp::from_second(1_000).unwrap(),
                end: end.map(|s| Timestamp::from_second(s).unwrap()),
                failures: 1,
                ban_count: 1,
                matches: vec![],
                reason: None,
            },
        }
    }

    fn keys(page: &[&ActiveBan]) -> Vec<String> {
        page.iter()
            .map(|b| format!("{}/{}", b.record.jail, b.target))
            .collect()
    }

    fn book() -> BanBook {
        let mut book = BanBook::default();
        for (jail, target) in [
            ("sshd", "192.0.2.3"),
            ("nginx", "198.51.100.1"),
            ("sshd", "192.0.2.1"),
            ("sshd", "2001:db8::1"),
            ("nginx", "192.0.2.1"),
        ] {
            book.insert(ban(jail, target, Some(2_000)));
        }
        book
    }

    #[test]
    fn pages_follow_jail_then_target_order() {
        let book = book();
        assert_eq!(
            keys(&book.page(None, 10)),
            [
                "nginx/192.0.2.1",
                "nginx/198.51.100.1",
                "sshd/192.0.2.1",
                "sshd/192.0.2.3",
                "sshd/2001:db8::1"
            ]
        );
        assert_eq!(keys(&book.page(None, 2)).len(), 2);
        let t: Target = "198.51.100.1".parse().unwrap();
        assert_eq!(
            keys(&book.page(Some(("nginx", &t)), 2)),
            ["sshd/192.0.2.1", "sshd/192.0.2.3"]
        );
    }

    #[test]
    fn a_cursor_survives_removals_and_inserts() {
        let mut book = book();
        let first = keys(&book.page(None, 2));
        let last: Target = "198.51.100.1".parse().unwrap();
        // The cursor's own ban and the next one go; a ban lands before it.
        book.remove("nginx", &last);
        book.remove("sshd", &"192.0.2.1".parse().unwrap());
        book.insert(ban("nginx", "192.0.2.0", None));
        let rest = keys(&book.page(Some(("nginx", &last)), 10));
        assert_eq!(first, ["nginx/192.0.2.1", "nginx/198.51.100.1"]);
        assert_eq!(rest, ["sshd/192.0.2.3", "sshd/2001:db8::1"]);
        // A cursor in a jail that no longer exists.
        let t: Target = "192.0.2.9".parse().unwrap();
        assert_eq!(keys(&book.page(Some(("other", &t)), 1)), ["sshd/192.0.2.3"]);
    }

    #[test]
    fn counts_and_lookups_stay_consistent() {
        let mut book = book();
        assert_eq!(
            (book.len(), book.count_in("sshd"), book.count_in("x")),
            (5, 3, 0)
        );
        let t: Target = "192.0.2.1".parse().unwrap();
        assert!(book.is_banned("nginx", &t));
        assert_eq!(book.remove_everywhere(&t).len(), 2);
        assert!(!book.is_banned("nginx", &t));
        assert_eq!((book.len(), book.count_in("nginx")), (3, 1));
        // Re-inserting a key replaces, never duplicates.
        book.insert(ban("sshd", "192.0.2.3", Some(3_000)));
        assert_eq!(book.len(), 3);
        assert_eq!(
            book.next_end(),
            Some(Timestamp::from_second(2_000).unwrap())
        );
        let mut ended = keys(
            &book
                .take_ended(Timestamp::from_second(2_500).unwrap())
                .iter()
                .collect::<Vec<_>>(),
        );
        ended.sort();
        assert_eq!(ended, ["nginx/198.51.100.1", "sshd/2001:db8::1"]);
        assert_eq!(book.len(), 1);
        assert_eq!(keys(&book.page(None, 5)), ["sshd/192.0.2.3"]);
        assert_eq!(book.clear().len(), 1);
        assert!(book.is_empty() && book.page(None, 5).is_empty() && book.next_end().is_none());
    }
}
