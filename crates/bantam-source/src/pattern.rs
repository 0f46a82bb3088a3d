//! Which paths a [`FileSource`](crate::FileSource) follows.
//!
//! A pattern is a directory and a file-name glob (`*`, `?`, `[a-z]`, `[!x]`,
//! `\` to escape). Wildcards are allowed in the file name only: we watch one
//! directory with one inotify watch, and a wildcard directory would need a
//! watch per directory plus a watch on each parent to learn about new ones.
//! fail2ban's `logpath` lines are almost always of the `dir/*.log` form.
//!
//! Rotated copies are never followed as files of their own, even when the
//! glob matches them (`/var/log/app/*` matches `app.log.1`): they are read as
//! part of the file they were rotated from (see `lineage.rs`), and following
//! them separately would read every rotated line twice. A name is a rotated
//! copy when it is another matching name plus a rotation suffix (`.1`,
//! `-20240101`, `.2.gz`). Compressed files are never matched by a glob either:
//! we read text.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::SourceError;

/// Suffixes of files that logrotate (or the service) compressed.
const COMPRESSED: &[&[u8]] = &[
    b".gz", b".bz2", b".xz", b".zst", b".lz4", b".lzma", b".Z", b".zip",
];

#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    dir: PathBuf,
    name: Vec<u8>,
    literal: bool,
}

impl Pattern {
    pub(crate) fn parse(pattern: &str) -> Result<Pattern, SourceError> {
        let invalid = |reason| SourceError::Pattern {
            pattern: pattern.to_owned(),
            reason,
        };
        if pattern.is_empty() {
            return Err(invalid("empty"));
        }
        if pattern.ends_with('/') {
            return Err(invalid("names a directory, not a file"));
        }
        let path = Path::new(pattern);
        let name = path
            .file_name()
            .ok_or_else(|| invalid("has no file name"))?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        if has_wildcard(dir.as_os_str().as_bytes()) {
            return Err(invalid("wildcards are supported in the file name only"));
        }
        // Absolute, so that checkpoints name the same path whatever the
        // daemon's working directory is at the next start.
        let dir =
            std::path::absolute(dir).map_err(|e| SourceError::io(dir, "resolve directory", e))?;
        let name = name.as_bytes().to_vec();
        Ok(Pattern {
            literal: !has_wildcard(&name),
            dir,
            name,
        })
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The one path a pattern without wildcards names.
    pub(crate) fn literal_path(&self) -> Option<PathBuf> {
        use std::os::unix::ffi::OsStringExt;
        let name = std::ffi::OsString::from_vec(unescape(&self.name));
        self.literal.then(|| self.dir.join(name))
    }

    /// Whether a directory entry named `name` is followed.
    pub(crate) fn matches(&self, name: &OsStr) -> bool {
        let name = name.as_bytes();
        if self.literal {
            return name == unescape(&self.name).as_slice();
        }
        self.glob_matches(name) && !is_compressed(name) && !self.is_rotated_copy(name)
    }

    fn glob_matches(&self, name: &[u8]) -> bool {
        // Like the shell: a wildcard does not match a leading dot.
        if name.first() == Some(&b'.') && self.name.first() != Some(&b'.') {
            return false;
        }
        glob_match(&self.name, name)
    }

    /// `name` = a matching name + separator + rotation suffix.
    fn is_rotated_copy(&self, name: &[u8]) -> bool {
        (1..name.len()).any(|i| {
            matches!(name[i], b'.' | b'-' | b'_')
                && is_rotation_suffix(&name[i + 1..])
                && self.glob_matches(&name[..i])
        })
    }
}

fn has_wildcard(s: &[u8]) -> bool {
    s.iter().any(|c| matches!(c, b'*' | b'?' | b'['))
}

fn unescape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut it = s.iter();
    while let Some(&c) = it.next() {
        match (c, it.clone().next()) {
            (b'\\', Some(&next)) => {
                out.push(next);
                it.next();
            }
            _ => out.push(c),
        }
    }
    out
}

pub(crate) fn is_compressed(name: &[u8]) -> bool {
    COMPRESSED.iter().any(|ext| name.ends_with(ext))
}

/// `1`, `20240101`, `2024-01-01`, `1.gz`, `old`: what logrotate and friends
/// append to a rotated file.
fn is_rotation_suffix(s: &[u8]) -> bool {
    let s = COMPRESSED
        .iter()
        .find_map(|ext| s.strip_suffix(*ext))
        .unwrap_or(s);
    s == b"old"
        || (s.first().is_some_and(u8::is_ascii_digit)
            && s.iter()
                .all(|c| c.is_ascii_digit() || matches!(c, b'-' | b'_')))
}

/// Shell-style matching of one path component. Iterative, backtracking only
/// to the last `*`, so it is linear for the patterns people write.
fn glob_match(pat: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if pat.get(p) == Some(&b'*') {
            star = Some((p, n));
            p += 1;
            continue;
        }
        if let Some(next) = step(pat, p, name[n]) {
            p = next;
            n += 1;
            continue;
        }
        match star {
            Some((sp, sn)) => {
                p = sp + 1;
                n = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    pat[p.min(pat.len())..].iter().all(|&c| c == b'*')
}

/// If the pattern element at `p` (not a `*`) matches `c`, where the next
/// element starts.
fn step(pat: &[u8], p: usize, c: u8) -> Option<usize> {
    match *pat.get(p)? {
        b'?' => Some(p + 1),
        b'\\' if p + 1 < pat.len() => (pat[p + 1] == c).then_some(p + 2),
        b'[' => match class(pat, p, c) {
            Some((true, next)) => Some(next),
            Some((false, _)) => None,
            // No closing bracket: a literal '['.
            None => (c == b'[').then_some(p + 1),
        },
        lit => (lit == c).then_some(p + 1),
    }
}

/// Matches `c` against the bracket expression at `pat[p]`; `None` if it is
/// not closed.
fn class(pat: &[u8], p: usize, c: u8) -> Option<(bool, usize)> {
    let mut i = p + 1;
    let negate = matches!(pat.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let lo = *pat.get(i)?;
        if lo == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if pat.get(i + 1) == Some(&b'-') && pat.get(i + 2).is_some_and(|&hi| hi != b']') {
            let hi = pat[i + 2];
            matched |= lo <= c && c <= hi;
            i += 3;
        } else {
            matched |= lo == c;
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, name: &str) -> bool {
        Pattern::parse(pattern)
            .map(|p| p.matches(OsStr::new(name)))
            .unwrap_or(false)
    }

    #[test]
    fn literal_path() {
        assert!(m("/var/log/auth.log", "auth.log"));
        assert!(!m("/var/log/auth.log", "auth.log.1"));
        // A literal name is followed whatever it looks like.
        assert!(m("/var/log/app.1", "app.1"));
    }

    #[test]
    fn wildcards() {
        assert!(m("/l/*.log", "access.log"));
        assert!(!m("/l/*.log", ".log"));
        assert!(!m("/l/*.log", ".hidden.log"));
        assert!(m("/l/.*.log", ".hidden.log"));
        assert!(m("/l/a?c", "abc"));
        assert!(!m("/l/a?c", "ac"));
        assert!(m("/l/[ab]x", "bx"));
        assert!(!m("/l/[!ab]x", "bx"));
        assert!(m("/l/[a-c]x", "cx"));
        assert!(m("/l/[]]x", "]x"));
        assert!(m("/l/x[", "x["));
        assert!(m("/l/*error*.log", "site-error-2.log"));
        assert!(!m("/l/*error*.log", "site-access.log"));
        assert!(m("/l/\\*", "*"));
        assert!(!m("/l/\\*", "a"));
    }

    #[test]
    fn rotated_and_compressed_names_are_not_followed() {
        assert!(m("/l/*", "auth.log"));
        assert!(!m("/l/*", "auth.log.1"));
        assert!(!m("/l/*", "auth.log.2.gz"));
        assert!(!m("/l/*", "auth.log-20240101"));
        assert!(!m("/l/*", "auth.log-2024-01-01.xz"));
        assert!(!m("/l/auth.log*", "auth.log.1"));
        assert!(m("/l/auth.log*", "auth.log"));
        assert!(!m("/l/*.log", "x.log.gz"));
        // A digit inside the name is not a rotation suffix.
        assert!(m("/l/*.log", "app-1.log"));
    }

    #[test]
    fn bad_patterns() {
        assert!(Pattern::parse("").is_err());
        assert!(Pattern::parse("/var/log/").is_err());
        let e = Pattern::parse("/var/*/auth.log")
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("file name only")));
    }

    #[test]
    fn relative_pattern_becomes_absolute() {
        let p = Pattern::parse("auth.log").ok();
        assert!(p.is_some_and(|p| p.dir().is_absolute()));
    }
}
