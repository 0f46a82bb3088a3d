//! The named groups of a match, as fail2ban's result dictionary holds them.
//!
//! # Why not a `BTreeMap<String, String>`
//!
//! Every matching line fills one of these (a handful of entries: `user`,
//! `ip4`, `mlfid` …), merges the `prefregex` groups in, and a connection's
//! record (`<F-MLFID>`) is copied into the cache and out again. With
//! owned strings and a tree that was a dozen allocations a line. The names
//! come from the compiled rule and are shared (`Arc<str>`), the values are
//! pieces of the line's shared text (`Piece`), and a few entries are found
//! faster by a scan than through a tree.

use std::sync::Arc;

use super::piece::Piece;

/// A group's value; `None` for a group that did not take part (it still
/// overrides a `prefregex` value of the same name, as in fail2ban).
pub type Value = Option<Piece>;

/// Group values by name, each name once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Groups {
    entries: Vec<(Arc<str>, Value)>,
}

impl Groups {
    pub fn with_capacity(n: usize) -> Groups {
        Groups {
            entries: Vec::with_capacity(n),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry of `key`: `Some(None)` for a group that did not take part.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries
            .iter()
            .find(|(k, _)| same_name(k, key))
            .map(|(_, v)| v)
    }

    /// The value of `key`, if present and taking part.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(|v| v.as_deref())
    }

    /// Sets `key` (replacing its value if present).
    pub fn insert(&mut self, key: Arc<str>, value: Value) {
        match self.entries.iter_mut().find(|(k, _)| same_name(k, &key)) {
            Some(slot) => slot.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    /// Adds `key`, known to be absent (a rule's own group names, which the
    /// parser keeps unique): no search for it first.
    pub fn push_absent(&mut self, key: Arc<str>, value: Value) {
        debug_assert!(self.get(&key).is_none(), "group {key} twice");
        self.entries.push((key, value));
    }

    /// Removes `key`, returning its entry.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.entries.iter().position(|(k, _)| same_name(k, key))?;
        Some(self.entries.swap_remove(i).1)
    }

    /// `base` with every entry of `over` set on it, in one allocation
    /// (a clone of `base` then extended would grow once more).
    pub fn merged(base: &Groups, over: Groups) -> Groups {
        let mut entries = Vec::with_capacity(base.entries.len() + over.entries.len());
        entries.extend_from_slice(&base.entries);
        let mut g = Groups { entries };
        g.set_all(over.entries.into_iter());
        g
    }

    /// Sets every entry of `over`, whose keys are unique (those of one
    /// `Groups`): each is looked for among this one's entries only, not
    /// among those just added.
    pub fn set_all(&mut self, over: impl Iterator<Item = (Arc<str>, Value)>) {
        let known = self.entries.len();
        for (key, value) in over {
            match self.entries[..known]
                .iter_mut()
                .find(|(k, _)| same_name(k, &key))
            {
                Some(slot) => slot.1 = value,
                None => self.entries.push((key, value)),
            }
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Arc<str>, &Value)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

/// Whether two group names are equal, byte by byte: names are a few
/// bytes long and many of one length (`ip4`, `fid`, `dns`), and the
/// `memcmp` call of `==` cost more than the comparison.
#[inline]
fn same_name(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

impl IntoIterator for Groups {
    type Item = (Arc<str>, Value);
    type IntoIter = std::vec::IntoIter<(Arc<str>, Value)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}
