//! `<tag>` substitution across a set of options, as fail2ban resolves the
//! options of a filter or action before handing them to its server:
//!
//! - every `<name>` whose name is an option is replaced by that option's
//!   value (which may itself contain tags, so passes repeat until nothing
//!   changes);
//! - a name that is no option is asked of `lookup` (fail2ban reads it from
//!   the file's `[Definition]`, e.g. `<known/failregex>`), and if that has
//!   nothing either the tag stays literal: `<HOST>`, `<F-USER>` and the
//!   action tags `<ip>` are filled later;
//! - names in `ignore` are neither replaced nor resolved (per-family
//!   options and tags only known at ban time);
//! - a tag that refers to itself, or is replaced more than 25 times in one
//!   option, is a loop and an error.

use std::collections::{HashMap, HashSet};

use super::optmap::OptMap;

const MAX_REPLACE_COUNT: usize = 25;

/// A tag loop: the option, the tag that looped, the value at that point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TagLoop {
    pub option: String,
    pub tag: String,
    pub value: String,
}

/// The next `<name>` at or after byte `from`: (start, end, name). Names
/// have no space and no angle bracket.
pub(crate) fn next_tag(value: &str, from: usize) -> Option<(usize, usize, &str)> {
    let bytes = value.as_bytes();
    let mut i = from;
    while i < bytes.len() {
        if bytes[i] == b'<' {
            let mut j = i + 1;
            while j < bytes.len() && !matches!(bytes[j], b' ' | b'<' | b'>') {
                j += 1;
            }
            if j > i + 1 && j < bytes.len() && bytes[j] == b'>' {
                return Some((i, j + 1, &value[i + 1..j]));
            }
        }
        i += 1;
    }
    None
}

/// Substitutes tags in every option of `tags` (see the module docs).
/// `lookup` may fail (an interpolation error while reading the file).
pub(crate) fn substitute<E>(
    tags: &OptMap,
    ignore: &HashSet<String>,
    lookup: &mut dyn FnMut(&str) -> Result<Option<String>, E>,
) -> Result<Result<OptMap, TagLoop>, E> {
    let mut tags = tags.clone();
    let keys: Vec<String> = tags.keys().map(str::to_owned).collect();
    let mut done: HashSet<String> = HashSet::new();
    let mut counts: HashMap<String, HashMap<String, usize>> = HashMap::new();
    loop {
        let mut repeat = false;
        for tag in &keys {
            if ignore.contains(tag) || done.contains(tag) {
                continue;
            }
            let original = tags.get(tag).unwrap_or_default().to_owned();
            let mut value = original.clone();
            let mut count = counts.get(tag).cloned().unwrap_or_default();
            let mut found = next_tag(&value, 0).map(|(s, e, n)| (s, e, n.to_owned()));
            while let Some((start, end, name)) = found {
                if ignore.contains(&name) {
                    found = next_tag(&value, end).map(|(s, e, n)| (s, e, n.to_owned()));
                    continue;
                }
                if name == *tag || count.get(&name).copied().unwrap_or(1) > MAX_REPLACE_COUNT {
                    return Ok(Err(TagLoop {
                        option: tag.clone(),
                        tag: name,
                        value,
                    }));
                }
                let replacement = match tags.get(&name) {
                    Some(v) => Some(v.to_owned()),
                    None => lookup(&name)?,
                };
                let Some(replacement) = replacement else {
                    found = next_tag(&value, end).map(|(s, e, n)| (s, e, n.to_owned()));
                    continue;
                };
                value = value.replace(&format!("<{name}>"), &replacement);
                *count.entry(name).or_insert(0) += 1;
                found = next_tag(&value, start).map(|(s, e, n)| (s, e, n.to_owned()));
            }
            // fail2ban keeps a tag's counts once it has any, and starts
            // keeping them when the value still holds tags after a change.
            let keep = counts.contains_key(tag);
            if value != original && next_tag(&value, 0).is_some() {
                repeat = true;
                counts.insert(tag.clone(), count);
            } else if keep {
                counts.insert(tag.clone(), count);
            }
            if value != original {
                tags.insert_entry(super::optmap::Entry {
                    key: tag.clone(),
                    value: value.clone(),
                    file: tags.entry(tag).and_then(|e| e.file.clone()),
                });
            }
            if !value.contains('<') {
                done.insert(tag.clone());
            }
        }
        if !repeat {
            return Ok(Ok(tags));
        }
    }
}
