//! Multi-line failures tied together by an id (`<F-MLFID>`): a connection
//! id, a session id. One line names the address, a later one says the login
//! failed; `<F-NOFAIL>` marks helper lines, `<F-MLFFORGET>` ends the
//! connection, `<F-MLFGAINED>` says access was gained (which cancels pending
//! failures).
//!
//! # Why a faithful port of fail2ban's rules
//!
//! The sample logs that judge us encode fail2ban's exact behaviour (how many
//! attempts a connection counts, which users are collected, when a success
//! cancels earlier failures), and admins' tuned filters rely on it. The
//! state machine below keeps fail2ban's decisions; the representation is
//! ours (a typed record instead of a free-form dictionary).

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use super::regex::{Groups, TupleLine};

/// How many connections are remembered at most; the oldest is forgotten
/// first. Bounded so that a flood of ids cannot grow memory.
const MAX_ENTRIES: usize = 100;
/// How long an unfinished connection is remembered.
const MAX_AGE: SignedDuration = SignedDuration::from_secs(5 * 60);

/// A failure being assembled: fail2ban's result dictionary, typed.
#[derive(Clone, Debug, Default)]
pub struct Fail {
    pub groups: Groups,
    /// The lines that count as attempts.
    pub matches: Vec<TupleLine>,
    /// Every user seen on the connection.
    pub users: Option<BTreeSet<String>>,
    /// A failure line came before the line that names the address.
    pub pending: bool,
    /// Lines of helper matches, kept until it is known whether they count.
    pub nofail_matches: Option<Vec<TupleLine>>,
    /// The address when the failure id is something else (`<F-ID>`).
    pub ip: Option<String>,
}

impl Fail {
    /// A group's value, `None` when absent or not taking part.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.groups.value(key)
    }

    /// Python truthiness of a group: present and not empty.
    pub fn truthy(&self, key: &str) -> bool {
        self.get(key).is_some_and(|v| !v.is_empty())
    }

    fn take_truthy(&mut self, key: &str) -> bool {
        self.groups
            .remove(key)
            .flatten()
            .is_some_and(|v| !v.is_empty())
    }

    /// Adds the line's user (if any) to the set; returns the set.
    fn note_user(&mut self, user: Option<String>) -> Option<&BTreeSet<String>> {
        if let Some(u) = user.filter(|u| !u.is_empty()) {
            self.users.get_or_insert_with(BTreeSet::new).insert(u);
        }
        self.users.as_ref()
    }
}

// Flags of one merge, as fail2ban computes them.
const NOFAIL: u8 = 1;
const FORGET: u8 = 2;
const WAS_NOFAIL: u8 = 4;
const GAINED: u8 = 8;

/// The connections in progress.
#[derive(Clone, Debug, Default)]
pub struct MlfidCache {
    /// Connections: the id's hash (compared first: ids of one log tend to
    /// share length and prefix), the id, when it was added, its record.
    entries: VecDeque<(u64, String, Timestamp, Fail)>,
    /// No entry was added before this (it may be older than the oldest
    /// left): while it is recent, no entry can have expired, and the scan
    /// of every entry on every merge is skipped.
    oldest: Option<Timestamp>,
    /// The record of the connection last forgotten (`<F-MLFFORGET>`),
    /// kept so that `merge` hands out every record the same way.
    forgotten: Fail,
}

/// FNV-1a: a fast hash of an id, good enough to skip most comparisons.
fn id_hash(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl MlfidCache {
    fn position(&self, id: &str) -> Option<usize> {
        // Ids are unique in the list (added only when absent); the one
        // asked for is most often a recent one, at the back.
        let h = id_hash(id);
        self.entries
            .iter()
            .rposition(|(kh, k, _, _)| *kh == h && k == id)
    }

    fn expire(&mut self, now: Timestamp) {
        match self.oldest {
            Some(oldest) if now.duration_since(oldest) > MAX_AGE => {}
            _ => return,
        }
        self.entries
            .retain(|(_, _, t, _)| now.duration_since(*t) <= MAX_AGE);
        self.oldest = self.entries.iter().map(|(_, _, t, _)| *t).min();
    }

    fn insert(&mut self, id: &str, time: Timestamp, fail: Fail) {
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.pop_front();
        }
        self.entries
            .push_back((id_hash(id), id.to_owned(), time, fail));
        self.oldest = Some(self.oldest.map_or(time, |o| o.min(time)));
    }

    /// Merges a line's failure data into the connection's. `matched` are
    /// the lines the rule matched; `now` the caller's clock (for expiry).
    /// Returns the merged record as the cache holds it: the caller's later
    /// edits (`pending`, `ip`) are the cache's, as in fail2ban, whose
    /// result is the cached dictionary itself. Handing out the record
    /// instead of a copy saved a clone of it (groups, lines, users) per
    /// line of a connection.
    pub fn merge(
        &mut self,
        id: &str,
        mut fail: Fail,
        matched: &[TupleLine],
        now: Timestamp,
    ) -> &mut Fail {
        self.expire(now);
        let mut flags = 0u8;
        if fail.truthy("mlfgained") {
            flags |= GAINED | NOFAIL;
            if !fail.truthy("nofail") {
                let gained = fail.groups.get("mlfgained").cloned().flatten();
                fail.groups.insert(Arc::from("nofail"), gained);
            }
        } else if fail.truthy("nofail") {
            flags |= NOFAIL;
        }
        if fail.take_truthy("mlfforget") {
            flags |= FORGET;
        }
        let user = fail.get("user").map(str::to_owned);
        let users_count;
        // The entry's state is taken out here and the merged state put
        // back by `store` at the end (the list is not read in between).
        // Where the merged state goes back (none once forgotten): kept
        // from the one scan of the list, which `store` would repeat.
        let mut slot = None;
        let mut merged = if let Some(i) = self.position(id) {
            if flags & FORGET == 0 {
                slot = Some(i);
            }
            let mut known = if flags & FORGET != 0 {
                self.entries
                    .remove(i)
                    .map(|(_, _, _, f)| f)
                    .unwrap_or_default()
            } else {
                std::mem::take(&mut self.entries[i].3)
            };
            users_count = known.note_user(user).map_or(0, BTreeSet::len);
            if known.take_truthy("nofail") {
                flags |= WAS_NOFAIL;
            }
            if known.take_truthy("mlfgained") {
                flags |= WAS_NOFAIL;
            }
            if flags & GAINED != 0 {
                known.pending = false;
            }
            if flags & WAS_NOFAIL == 0 && !known.pending {
                known.matches.clear();
            }
            let taking_part = fail.groups.into_iter().filter(|(_, v)| v.is_some());
            known.groups.set_all(taking_part);
            known
        } else {
            users_count = if flags & FORGET == 0 {
                let n = fail.note_user(user).map_or(0, BTreeSet::len);
                self.insert(id, now, Fail::default());
                slot = Some(self.entries.len() - 1);
                n
            } else {
                fail.users.as_ref().map_or(0, BTreeSet::len)
            };
            fail
        };
        // A failure before the address was known, or several users tried on
        // one connection: the helper state no longer excuses it.
        let was_pending = std::mem::take(&mut merged.pending);
        if was_pending || users_count > 1 {
            merged.groups.remove("nofail");
            merged.groups.remove("mlfgained");
            flags &= !(GAINED | NOFAIL);
        }
        if flags & NOFAIL == 0 {
            let mut m = merged.nofail_matches.take().unwrap_or_default();
            m.append(&mut merged.matches);
            if flags & GAINED == 0 {
                m.extend_from_slice(matched);
            }
            merged.matches = m;
        } else if flags & (NOFAIL | FORGET) == NOFAIL {
            merged
                .nofail_matches
                .get_or_insert_with(Vec::new)
                .extend_from_slice(matched);
        }
        if let Some(i) = slot.filter(|&i| i < self.entries.len()) {
            self.entries[i].3 = merged;
            return &mut self.entries[i].3;
        }
        self.forgotten = merged;
        &mut self.forgotten
    }
}
