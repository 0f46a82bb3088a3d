//! The checkpointer: what we store so a restart continues exactly where
//! we stopped, and how it is used at start.
//!
//! A [`Checkpoint`] says "of the file followed as `path`, the generation
//! with this inode and first line was read up to `offset`". The daemon gets
//! one with every batch, stores it once the batch is processed, and hands
//! them all back at the next start. [`resume`] then works out, for each
//! followed path, which files to read and from where:
//!
//! | at start we find                                  | we read                                   |
//! |---------------------------------------------------|-------------------------------------------|
//! | the same file at `path` (inode + first line), at least `offset` long | it, from `offset`          |
//! | another file at `path`, the old one as a sibling (renamed: `auth.log.1`, same inode) | the sibling from `offset` to its end, then `path` from 0 |
//! | the old content as a sibling copy (copytruncate: same first line, other inode) | the copy from `offset`, then `path` from 0 |
//! | another file at `path`, old one nowhere (deleted, compressed) | `path` from 0: everything in it is newer than the checkpoint |
//! | no checkpoint                                     | `path` from the start or the end ([`StartAt`]) |
//!
//! The "first line" is the fingerprint (see `fingerprint.rs`): without it, a
//! recycled inode number would pass for the old file.

use std::io;
use std::path::{Path, PathBuf};

use crate::error::SourceError;
use crate::fingerprint::UNKNOWN;
use crate::reader::TailedFile;
use crate::siblings::{self, Wanted};

/// Where reading of one followed file stands. Store it after processing the
/// batch it came with; pass it back to [`FileSource::new`](crate::FileSource::new).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    /// The followed path (the name the pattern matched), even when the bytes
    /// come from its rotated predecessor.
    pub path: PathBuf,
    /// Device and inode of the file actually being read.
    pub dev: u64,
    pub inode: u64,
    /// Bytes of it already handed out; always at a line boundary.
    pub offset: u64,
    /// Hash of its first line; 0 if it has no complete line yet (the offset
    /// is then 0 too).
    pub fingerprint: u64,
}

/// Where to start in a file seen for the first time, with no checkpoint.
/// Files that appear while the source runs are always read from their
/// beginning: everything in them is new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// Read what the file already holds (fail2ban's `head`).
    Beginning,
    /// Only lines written from now on (fail2ban's `tail`).
    End,
}

/// The files to read for the followed `path` at start, in reading order,
/// each positioned. `taken` says whether another followed path holds a file
/// already (hard links, symlinks), so no file is read twice.
pub(crate) fn resume(
    path: &Path,
    checkpoint: Option<&Checkpoint>,
    start: StartAt,
    taken: impl Fn((u64, u64)) -> bool,
) -> Result<Vec<TailedFile>, SourceError> {
    let current = open_regular(path)?.filter(|f| !taken(f.identity()));
    let Some(cp) = checkpoint.filter(|c| c.fingerprint != UNKNOWN) else {
        // No checkpoint, or one taken before the file had a complete line
        // (so at offset 0): the start policy, resp. the beginning.
        let Some(mut file) = current else {
            return Ok(Vec::new());
        };
        if checkpoint.is_none() && start == StartAt::End {
            file.seek_to_last_line_end()
                .map_err(|e| SourceError::io(path, "read", e))?;
        }
        return Ok(vec![file]);
    };

    if let Some(mut file) = current {
        let same = file.inode == cp.inode
            && file.fingerprint == cp.fingerprint
            && file.size().is_ok_and(|s| s >= cp.offset);
        if same {
            file.seek(cp.offset);
            return Ok(vec![file]);
        }
        let mut files = earlier_generation(path, cp, &taken, file.identity());
        file.seek(0);
        files.push(file);
        return Ok(files);
    }
    // The path is gone; its last generation may still be a sibling, and the
    // path will be created again.
    Ok(earlier_generation(path, cp, &taken, (u64::MAX, u64::MAX)))
}

/// The checkpoint's file among the siblings of `path`, positioned at the
/// checkpoint. Rotated while we were down, so a writer may still be
/// appending to it: it is read as a moved file, not as a finished one.
fn earlier_generation(
    path: &Path,
    cp: &Checkpoint,
    taken: &impl Fn((u64, u64)) -> bool,
    current: (u64, u64),
) -> Vec<TailedFile> {
    let want = Wanted {
        inode: Some(cp.inode),
        fingerprint: cp.fingerprint,
        min_size: cp.offset,
    };
    match siblings::find(path, &want, |id| id == current || taken(id)) {
        Some((_, mut file)) => {
            file.seek(cp.offset);
            file.moved = true;
            vec![file]
        }
        None => Vec::new(),
    }
}

/// Opens `path` if it is a regular file. Missing is not an error (a glob
/// may match later; a rotated path is recreated); unreadable is.
fn open_regular(path: &Path) -> Result<Option<TailedFile>, SourceError> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => {}
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(SourceError::io(path, "stat", e)),
    }
    match TailedFile::open(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(SourceError::io(path, "open", e)),
    }
}

/// Whether `cp` can be about a file in `dir` (the daemon hands us every
/// checkpoint it has; most are for other sources).
pub(crate) fn is_in(cp: &Checkpoint, dir: &Path) -> bool {
    cp.path.parent() == Some(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::Taken;
    use std::fs;
    use std::os::unix::fs::MetadataExt;

    fn inode_of(path: &Path) -> io::Result<u64> {
        Ok(fs::metadata(path)?.ino())
    }

    type R = Result<(), Box<dyn std::error::Error>>;

    /// Reads everything `files` hold, as resume positioned them.
    fn read_all(files: &mut [TailedFile]) -> io::Result<String> {
        let mut out = Taken::default();
        for f in files {
            f.read_lines(&mut out, usize::MAX)?;
        }
        Ok(String::from_utf8_lossy(&out.data).into_owned())
    }

    fn checkpoint_after(path: &Path, first_lines: usize) -> io::Result<Checkpoint> {
        let mut f = TailedFile::open(path)?;
        let mut out = Taken::default();
        f.read_lines(&mut out, usize::MAX)?;
        let keep: usize = out
            .data
            .split_inclusive(|&b| b == b'\n')
            .take(first_lines)
            .map(<[u8]>::len)
            .sum();
        f.seek(keep as u64);
        Ok(f.checkpoint(path))
    }

    #[test]
    fn same_file_resumes_at_offset() -> R {
        let dir = tempfile::tempdir()?;
        let log = dir.path().join("a.log");
        fs::write(&log, "1\n2\n")?;
        let cp = checkpoint_after(&log, 1)?;
        fs::write(&log, "1\n2\n3\n")?; // rewritten in place: same inode, same first line
        assert_eq!(inode_of(&log)?, cp.inode);
        let mut files = resume(&log, Some(&cp), StartAt::Beginning, |_| false)?;
        assert_eq!(read_all(&mut files)?, "2\n3\n");
        Ok(())
    }

    #[test]
    fn renamed_while_down_finishes_old_then_new() -> R {
        let dir = tempfile::tempdir()?;
        let log = dir.path().join("a.log");
        fs::write(&log, "old 1\nold 2\nold 3\n")?;
        let cp = checkpoint_after(&log, 1)?;
        fs::rename(&log, dir.path().join("a.log.1"))?;
        fs::write(&log, "new 1\n")?;
        let mut files = resume(&log, Some(&cp), StartAt::End, |_| false)?;
        assert_eq!(files.len(), 2);
        assert!(files[0].moved);
        assert_eq!(read_all(&mut files)?, "old 2\nold 3\nnew 1\n");
        Ok(())
    }

    #[test]
    fn copytruncated_while_down_reads_the_copy() -> R {
        let dir = tempfile::tempdir()?;
        let log = dir.path().join("a.log");
        fs::write(&log, "old 1\nold 2\n")?;
        let cp = checkpoint_after(&log, 1)?;
        fs::copy(&log, dir.path().join("a.log-20240101"))?;
        fs::OpenOptions::new().write(true).open(&log)?.set_len(0)?;
        fs::write(&log, "new 1\nnew 2 is longer than the old content\n")?;
        assert_eq!(inode_of(&log)?, cp.inode);
        let mut files = resume(&log, Some(&cp), StartAt::End, |_| false)?;
        assert_eq!(
            read_all(&mut files)?,
            "old 2\nnew 1\nnew 2 is longer than the old content\n"
        );
        Ok(())
    }

    #[test]
    fn recycled_inode_is_not_the_old_file() -> R {
        let dir = tempfile::tempdir()?;
        let log = dir.path().join("a.log");
        fs::write(&log, "old 1\nold 2\n")?;
        let mut cp = checkpoint_after(&log, 2)?;
        fs::remove_file(&log)?;
        fs::write(&log, "new 1\nnew 2\nnew 3\n")?;
        // Whether or not the file system reused the number, pretend it did.
        cp.inode = inode_of(&log)?;
        let mut files = resume(&log, Some(&cp), StartAt::End, |_| false)?;
        assert_eq!(read_all(&mut files)?, "new 1\nnew 2\nnew 3\n");
        Ok(())
    }

    #[test]
    fn path_gone_but_old_generation_remains() -> R {
        let dir = tempfile::tempdir()?;
        let log = dir.path().join("a.log");
        fs::write(&log, "old 1\nold 2\n")?;
        let cp = checkpoint_after(&log, 1)?;
        fs::rename(&log, dir.path().join("a.log.1"))?;
        let mut files = resume(&log, Some(&cp), StartAt::End, |_| false)?;
        assert_eq!(read_all(&mut files)?, "old 2\n");
        Ok(())
    }

    #[test]
    fn no_checkpoint_uses_start_policy() -> R {
        let dir = tempfile::tempdir()?;
        let log = dir.path().join("a.log");
        fs::write(&log, "1\n2\n")?;
        let mut files = resume(&log, None, StartAt::Beginning, |_| false)?;
        assert_eq!(read_all(&mut files)?, "1\n2\n");
        let mut files = resume(&log, None, StartAt::End, |_| false)?;
        assert_eq!(read_all(&mut files)?, "");
        assert!(
            resume(&dir.path().join("missing.log"), None, StartAt::End, |_| {
                false
            })?
            .is_empty()
        );
        Ok(())
    }

    #[test]
    fn checkpoint_before_first_line_reads_from_zero() -> R {
        let dir = tempfile::tempdir()?;
        let log = dir.path().join("a.log");
        fs::write(&log, "partial")?;
        let cp = checkpoint_after(&log, 0)?;
        assert_eq!(cp.fingerprint, UNKNOWN);
        fs::write(&log, "partial line\n")?;
        let mut files = resume(&log, Some(&cp), StartAt::End, |_| false)?;
        assert_eq!(read_all(&mut files)?, "partial line\n");
        Ok(())
    }
}
