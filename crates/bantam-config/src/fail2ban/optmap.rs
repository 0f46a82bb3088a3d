//! An insertion-ordered option map. fail2ban iterates Python dicts, whose
//! order is insertion order, and that order decides which tag is
//! substituted first, so a sorted map would not reproduce its results.
//! Maps hold tens of keys, so a vector with linear search is enough.

use std::path::Path;
use std::sync::Arc;

/// One option: its value and the file it was read from (for errors).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub key: String,
    pub value: String,
    pub file: Option<Arc<Path>>,
}

/// Options in the order they were first set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct OptMap {
    entries: Vec<Entry>,
}

impl OptMap {
    pub fn new() -> OptMap {
        OptMap::default()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.entry(key).map(|e| e.value.as_str())
    }

    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.entry(key).is_some()
    }

    /// Sets a value, keeping the key's first position (as a dict does).
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.insert_from(key, value, None);
    }

    pub fn insert_from(
        &mut self,
        key: impl Into<String>,
        value: impl Into<String>,
        file: Option<Arc<Path>>,
    ) {
        let key = key.into();
        let value = value.into();
        match self.entries.iter_mut().find(|e| e.key == key) {
            Some(e) => {
                e.value = value;
                e.file = file;
            }
            None => self.entries.push(Entry { key, value, file }),
        }
    }

    pub fn insert_entry(&mut self, entry: Entry) {
        self.insert_from(entry.key, entry.value, entry.file);
    }

    /// Python's `dict.update`.
    pub fn update(&mut self, other: &OptMap) {
        for e in &other.entries {
            self.insert_entry(e.clone());
        }
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.key.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str()))
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// `{**self, **other}`: a copy with `other` winning.
    pub fn merged(&self, other: &OptMap) -> OptMap {
        let mut out = self.clone();
        out.update(other);
        out
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for OptMap {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> OptMap {
        let mut m = OptMap::new();
        for (k, v) in iter {
            m.insert(k, v);
        }
        m
    }
}
