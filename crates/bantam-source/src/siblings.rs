//! Finding a file's earlier generation among its rotated siblings.
//!
//! Two situations need it, both answered by the fingerprint:
//!
//! * copytruncate at run time: the followed file shrank, and the lines
//!   written between our last read and the truncation are now only in the
//!   copy (`auth.log.1`). The copy is a new inode, so it is found by its
//!   first line, which is the first line of the file we were reading.
//! * start after downtime: the checkpoint's file is no longer at the
//!   followed path. It was renamed (same inode, found by inode and first
//!   line) or copied (found by first line).
//!
//! Siblings are `<name><sep><suffix>` in the same directory, `sep` one of
//! `.`, `-`, `_`: logrotate's numbered (`auth.log.1`) and dated
//! (`auth.log-20240101`) names, and most others. Compressed siblings are
//! skipped; we cannot read them, and by the time logrotate compresses a
//! generation (`delaycompress` or not), it was rotated long ago.

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::pattern::is_compressed;
use crate::reader::TailedFile;

/// What the earlier generation must look like.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wanted {
    /// Its inode, when it may still have it (a rename). Device numbers are
    /// not compared: on device-mapper or btrfs they can change at reboot,
    /// and inode plus first line is already specific enough.
    pub inode: Option<u64>,
    pub fingerprint: u64,
    /// It must hold at least the bytes we already read.
    pub min_size: u64,
}

/// Rotated siblings of `path`, sorted by name (`.1` before `.2`).
fn candidates(path: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Vec::new();
    };
    let name = name.as_bytes();
    // An unreadable directory has no siblings we could read anyway.
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let n = e.file_name();
            let n = n.as_bytes();
            n.len() > name.len() + 1
                && n.starts_with(name)
                && matches!(n[name.len()], b'.' | b'-' | b'_')
                && !is_compressed(n)
        })
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

/// The sibling of `path` that is the generation described by `want`,
/// opened, unless `skip` says we hold it already. Inode matches are
/// preferred over first-line-only matches.
pub(crate) fn find(
    path: &Path,
    want: &Wanted,
    skip: impl Fn((u64, u64)) -> bool,
) -> Option<(PathBuf, TailedFile)> {
    let candidates = candidates(path);
    let fits = |f: &TailedFile| {
        f.fingerprint == want.fingerprint
            && f.size().is_ok_and(|s| s >= want.min_size)
            && !skip(f.identity())
    };
    if let Some(inode) = want.inode {
        for c in &candidates {
            // stat before open: opening every sibling is wasteful when the
            // inode tells us which one it is.
            if std::fs::metadata(c).is_ok_and(|m| m.ino() == inode && m.is_file()) {
                if let Ok(f) = TailedFile::open(c) {
                    if f.inode == inode && fits(&f) {
                        return Some((c.clone(), f));
                    }
                }
            }
        }
    }
    candidates.into_iter().find_map(|c| {
        if !std::fs::metadata(&c).is_ok_and(|m| m.is_file()) {
            return None;
        }
        let f = TailedFile::open(&c).ok()?;
        fits(&f).then_some((c, f))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::io;

    #[test]
    fn finds_renamed_file_by_inode_and_copy_by_first_line() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let log = dir.path().join("auth.log");
        fs::write(&log, "gen 1\nline\n")?;
        let original = TailedFile::open(&log)?;
        fs::rename(&log, dir.path().join("auth.log.1"))?;
        fs::write(dir.path().join("auth.log.2"), "gen 1\nline\n")?; // same content, other inode
        fs::write(dir.path().join("auth.log.3.gz"), "gen 1\nline\n")?;
        fs::write(dir.path().join("auth.logx"), "gen 1\nline\n")?; // not a sibling
        fs::write(&log, "gen 2\n")?;

        let want = Wanted {
            inode: Some(original.inode),
            fingerprint: original.fingerprint,
            min_size: 11,
        };
        let found = find(&log, &want, |_| false).map(|(p, _)| p);
        assert_eq!(found, Some(dir.path().join("auth.log.1")));

        // The inode is taken (we hold it): the copy is the next best.
        let found = find(&log, &want, |id| id.1 == original.inode).map(|(p, _)| p);
        assert_eq!(found, Some(dir.path().join("auth.log.2")));

        // Nothing holds as many bytes as we already read.
        let want = Wanted {
            min_size: 12,
            ..want
        };
        assert!(find(&log, &want, |_| false).is_none());
        Ok(())
    }
}
