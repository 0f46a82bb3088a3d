//! Layering: how fail2ban turns a name (`jail`, `filter.d/sshd`) into one
//! merged configuration.
//!
//! The files, in order: `NAME.conf`, `NAME.d/*.conf` (sorted), `NAME.local`,
//! `NAME.d/*.local` (sorted); each one expanded in place by its
//! `[INCLUDES] before = …` (read first) and `after = …` (read last), paths
//! relative to the including file, and each included `X.conf` followed by
//! its `X.local`. Files are then merged in that order, later keys winning.
//!
//! Two details that filters depend on:
//! - when a key is overridden, its previous value is kept in a hidden
//!   `KNOWN/SECTION` section, which `%(known/key)s` reads;
//! - a section `[Init?family=inet6]` is merged into `[Init]` with each key
//!   renamed `key?family=inet6` (chosen at ban time by address family).
//!
//! Include loops: like fail2ban, an include already on the current include
//! path is skipped; a loop fail2ban would not see (the same file spelled two
//! ways) stops at a depth limit with an error naming the chain.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::Fail2banError;
use super::ini::{self, IniFile};
use super::optmap::OptMap;

/// Deeper than any real configuration nests (Debian's is 3 deep).
const MAX_INCLUDE_DEPTH: usize = 16;

/// A merged configuration: what fail2ban's parser holds after `read`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Layered {
    pub defaults: OptMap,
    /// Sections in first-seen order, including the hidden `KNOWN/…` ones.
    pub sections: Vec<(String, OptMap)>,
    /// The files read, in merge order (for errors and reports).
    pub files: Vec<PathBuf>,
}

impl Layered {
    pub fn section(&self, name: &str) -> Option<&OptMap> {
        self.sections
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
    }

    pub fn section_mut(&mut self, name: &str) -> &mut OptMap {
        if let Some(i) = self.sections.iter().position(|(n, _)| n == name) {
            return &mut self.sections[i].1;
        }
        self.sections.push((name.to_owned(), OptMap::new()));
        &mut self.sections.last_mut().expect("just pushed").1
    }

    pub fn has_section(&self, name: &str) -> bool {
        self.section(name).is_some()
    }

    /// The file a value is reported against when it has no origin.
    pub fn main_file(&self) -> PathBuf {
        self.files.first().cloned().unwrap_or_default()
    }

    /// A configuration made of a single file, without includes (how
    /// fail2ban reads `[INCLUDES]` itself).
    pub fn single(file: &IniFile, path: &Path) -> Layered {
        Layered {
            defaults: file.defaults.clone(),
            sections: file.sections.clone(),
            files: vec![path.to_path_buf()],
        }
    }

    /// Merges one file in, recording overridden values under `KNOWN/`.
    fn merge(&mut self, file: &IniFile) {
        self.defaults.update(&file.defaults);
        for (name, section) in &file.sections {
            let (name, section) = match split_conditional(name) {
                Some((base, cond)) => {
                    let mut renamed = OptMap::new();
                    for e in section.entries() {
                        renamed.insert_from(format!("{}{cond}", e.key), &e.value, e.file.clone());
                    }
                    (base.to_owned(), renamed)
                }
                None => (name.clone(), section.clone()),
            };
            if let Some(existing) = self.section(&name) {
                let mut known = OptMap::new();
                for e in existing.entries() {
                    if section.contains(&e.key) {
                        known.insert_entry(e.clone());
                    }
                }
                self.section_mut(&format!("KNOWN/{name}")).update(&known);
                self.section_mut(&name).update(&section);
            } else {
                self.sections.push((name, section));
            }
        }
    }
}

/// `Init?family=inet6` → (`Init`, `?family=inet6`).
pub(crate) fn split_conditional(name: &str) -> Option<(&str, &str)> {
    let q = name.find('?')?;
    let base = &name[..q];
    let word = !base.is_empty() && base.chars().all(|c| c.is_alphanumeric() || c == '_');
    (word && q + 1 < name.len()).then(|| (base, &name[q..]))
}

/// Reads and merges every layer of `name` under `basedir`. `None` when no
/// file of that name exists.
pub(crate) fn load(basedir: &Path, name: &str) -> Result<Option<Layered>, Fail2banError> {
    let base = basedir.join(name);
    let dropin = PathBuf::from(format!("{}.d", base.display()));
    let mut candidates = vec![PathBuf::from(format!("{}.conf", base.display()))];
    candidates.extend(dir_files(&dropin, ".conf"));
    candidates.push(PathBuf::from(format!("{}.local", base.display())));
    candidates.extend(dir_files(&dropin, ".local"));
    let existing: Vec<PathBuf> = candidates.into_iter().filter(|p| p.exists()).collect();
    if existing.is_empty() {
        return Ok(None);
    }
    let existing: Vec<PathBuf> = existing.iter().map(|p| normalize(p)).collect();
    let mut reader = Reader::default();
    let order = reader.includes(&existing, &[])?;
    let mut layered = Layered::default();
    for path in order {
        if let Some(file) = reader.parsed(&path)? {
            layered.merge(&file);
            layered.files.push(path);
        }
    }
    Ok(Some(layered))
}

/// `a/b/../c` → `a/c`, without touching the file system, so an include
/// loop spelled through `..` is still seen as a loop (fail2ban compares
/// spellings and recurses until Python's stack runs out).
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                let climbable = matches!(out.components().next_back(), Some(Component::Normal(_)));
                if climbable {
                    out.pop();
                } else if !matches!(out.components().next_back(), Some(Component::RootDir)) {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// `dir/*SUFFIX`, sorted, hidden files skipped (as a shell glob does).
fn dir_files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.') && n.ends_with(suffix))
        .collect();
    names.sort();
    names.into_iter().map(|n| dir.join(n)).collect()
}

/// Parses each file once per load (an include such as `common.conf` is
/// named by many files).
#[derive(Default)]
struct Reader {
    cache: HashMap<PathBuf, Option<Arc<IniFile>>>,
}

impl Reader {
    /// The parsed file, or `None` if it does not exist (fail2ban skips
    /// missing includes silently).
    fn parsed(&mut self, path: &Path) -> Result<Option<Arc<IniFile>>, Fail2banError> {
        if let Some(hit) = self.cache.get(path) {
            return Ok(hit.clone());
        }
        let parsed = if path.is_file() {
            let text = std::fs::read(path).map_err(|error| Fail2banError::Read {
                path: path.to_path_buf(),
                error,
            })?;
            let text = String::from_utf8_lossy(&text);
            let origin: Arc<Path> = Arc::from(path);
            Some(Arc::new(ini::parse(&text, &origin)?))
        } else {
            None
        };
        self.cache.insert(path.to_path_buf(), parsed.clone());
        Ok(parsed)
    }

    /// The files to merge for `files`, includes expanded, `.local`
    /// companions added after their `.conf`.
    fn includes(
        &mut self,
        files: &[PathBuf],
        seen: &[PathBuf],
    ) -> Result<Vec<PathBuf>, Fail2banError> {
        let mut expanded = Vec::new();
        for f in files {
            expanded.push(f.clone());
            let local = f.with_extension("local");
            if !files.contains(&local) && local.is_file() {
                expanded.push(local);
            }
        }
        let mut out = Vec::new();
        for f in &expanded {
            out.extend(self.includes_of(f, seen)?);
        }
        Ok(out)
    }

    fn includes_of(
        &mut self,
        path: &Path,
        seen: &[PathBuf],
    ) -> Result<Vec<PathBuf>, Fail2banError> {
        let Some(file) = self.parsed(path)? else {
            return Ok(Vec::new());
        };
        if seen.len() > MAX_INCLUDE_DEPTH {
            let chain: Vec<String> = seen.iter().map(|p| p.display().to_string()).collect();
            return Err(Fail2banError::IncludeLoop {
                path: path.to_path_buf(),
                chain: chain.join(" -> "),
            });
        }
        let dir = path.parent().unwrap_or(Path::new(""));
        let single = Layered::single(&file, path);
        let mut lists = [Vec::new(), Vec::new()];
        if file.section("INCLUDES").is_some() {
            for (slot, option) in ["before", "after"].iter().enumerate() {
                let Some(value) = single.get("INCLUDES", option, &OptMap::new())? else {
                    continue;
                };
                for line in value.split('\n') {
                    let target = normalize(&dir.join(line));
                    if seen.contains(&target) {
                        continue;
                    }
                    let mut next = seen.to_vec();
                    next.push(path.to_path_buf());
                    lists[slot].extend(self.includes(&[target], &next)?);
                }
            }
        }
        let [before, after] = lists;
        let mut out = before;
        out.push(path.to_path_buf());
        out.extend(after);
        Ok(out)
    }
}
