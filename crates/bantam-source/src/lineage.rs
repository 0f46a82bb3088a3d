//! Rotation: the generations of one followed path, read in order.
//!
//! A *lineage* is everything written under one followed name, say
//! `/var/log/auth.log`: the file there now, and the earlier files that were
//! there (renamed to `auth.log.1`, unlinked, or copied away by
//! copytruncate) and still hold lines we have not read. They sit in a queue,
//! oldest first. Only the front is read; the others wait. That is what keeps
//! lines in order across a rotation, and what makes a checkpoint a single
//! (file, offset) pair: everything before it was read, nothing after.
//!
//! Each poll (after any event about the lineage) looks instead of trusting
//! events:
//!
//! 1. **Discover.** `stat` the path. A file there that is not in the queue
//!    is the next generation (rename + create, delete + recreate, a new
//!    file): open it and queue it at offset 0. We hold the old descriptor,
//!    so its inode cannot be recycled while we still read it.
//! 2. **Read** the front; whole lines become a batch, once step 3 agrees.
//! 3. **Truncated?** If, *after* the read, the front is shorter than what
//!    we read, or its first line changed, it was truncated (copytruncate,
//!    `> file`), maybe before our read: what we just read is dropped. The
//!    lines written between our last good read and the truncation are in
//!    the copy: find the sibling whose first line is the old first line
//!    (`siblings.rs`), queue it before the front as a *finite* file read
//!    from our old offset, and restart the front at 0.
//! 4. **Retire** the front at its end when nothing more can come: it is a
//!    finite copy; or a newer generation exists and either *has data* or a
//!    writer closed the old file after it was rotated; or it was rotated,
//!    has no successor yet, and its writer closed it. "Has data" is the
//!    signal that a (single) writer moved on; it is checked *before* the
//!    last read of the old file, so every byte the writer put there before
//!    its first write to the new file is read. The writer may keep writing
//!    the old descriptor for a while after a rename (until logrotate's
//!    `postrotate` makes it reopen): we keep reading it for as long as the
//!    new file is empty. An unterminated last line is emitted at
//!    retirement; nothing can complete it any more.
//!
//! "Writer closed it after it was rotated" is tracked from the inode watch:
//! `IN_CLOSE_WRITE` counts only after `IN_MOVE_SELF` (or an `IN_ATTRIB`
//! that turned out to be the unlink), so a writer that opens and closes the
//! file for every line (`echo >>`) does not make us drop a file another
//! writer still appends to.

use std::collections::{HashMap, VecDeque};
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;

use crate::batch::{Batch, Taken};
use crate::checkpoint::Checkpoint;
use crate::error::SourceError;
use crate::fingerprint::UNKNOWN;
use crate::reader::TailedFile;
use crate::siblings::{self, Wanted};
use crate::watcher::{FileEvent, Watcher};

/// (device, inode): which file, while it exists.
pub(crate) type Identity = (u64, u64);

/// Soft size of one batch: a busy log is handed out in pieces, so one file
/// cannot hold up the others and memory stays bounded.
const BATCH_BYTES: usize = 256 * 1024;

/// The files every lineage of one source holds, and their inotify watches.
pub(crate) struct OpenFiles {
    pub(crate) watcher: Watcher,
    owners: HashMap<Identity, Arc<Path>>,
    by_wd: HashMap<i32, Arc<Path>>,
}

impl OpenFiles {
    pub(crate) fn new(watcher: Watcher) -> OpenFiles {
        OpenFiles {
            watcher,
            owners: HashMap::new(),
            by_wd: HashMap::new(),
        }
    }

    fn adopt(&mut self, lineage: &Arc<Path>, file: &mut TailedFile) {
        // A finite copy will not change: no watch needed.
        if !file.finite {
            file.wd = self.watcher.watch_file(file.file());
            if let Some(wd) = file.wd {
                self.by_wd.insert(wd, lineage.clone());
            }
        }
        self.owners.insert(file.identity(), lineage.clone());
    }

    fn release(&mut self, file: &TailedFile) {
        if let Some(wd) = file.wd {
            self.watcher.unwatch_file(wd);
            self.by_wd.remove(&wd);
        }
        self.owners.remove(&file.identity());
    }

    /// Whether some lineage holds this file already.
    pub(crate) fn is_taken(&self, id: Identity) -> bool {
        self.owners.contains_key(&id)
    }

    /// The lineage holding the file an inode watch reports about.
    pub(crate) fn lineage_of(&self, wd: i32) -> Option<&Arc<Path>> {
        self.by_wd.get(&wd)
    }
}

pub(crate) struct Lineage {
    pub(crate) path: Arc<Path>,
    /// Oldest first; only the front is read.
    files: VecDeque<TailedFile>,
    /// What `path` named at the last look.
    at_path: Option<Identity>,
    /// A file at `path` we could not open, reported once, and the report.
    problem: Option<(Identity, String)>,
    /// Queued for a poll (see `FileSource`).
    pub(crate) dirty: bool,
}

impl Lineage {
    pub(crate) fn new(path: Arc<Path>) -> Lineage {
        Lineage {
            path,
            files: VecDeque::new(),
            at_path: None,
            problem: None,
            dirty: false,
        }
    }

    /// Queues a file positioned by the caller (at start: `checkpoint::resume`).
    pub(crate) fn push(&mut self, mut file: TailedFile, open: &mut OpenFiles) {
        open.adopt(&self.path, &mut file);
        self.files.push_back(file);
    }

    pub(crate) fn checkpoint(&self) -> Option<Checkpoint> {
        self.files.front().map(|f| f.checkpoint(&self.path))
    }

    /// Holds no file (yet).
    pub(crate) fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Why the file at the path is not followed, if it cannot be opened.
    pub(crate) fn problem(&self) -> Option<&str> {
        self.problem.as_ref().map(|(_, text)| text.as_str())
    }

    /// Nothing to read, and no file at the path: the lineage can be
    /// forgotten (a new file at the path starts a new one).
    pub(crate) fn is_gone(&self) -> bool {
        self.files.is_empty() && self.at_path.is_none()
    }

    /// Records what an inode watch said about one of our files.
    pub(crate) fn note(&mut self, event: &FileEvent) {
        let path = &self.path;
        let Some(file) = self.files.iter_mut().find(|f| f.wd == Some(event.wd)) else {
            return;
        };
        if event.moved {
            file.moved = true;
        }
        if event.attrib && !file.moved {
            // IN_ATTRIB is also chmod/chown/touch: only an unlink, or a
            // replacement at the path, is a rotation. (Looked at here, not
            // for every event: most events are writes.)
            let at_path = fs::metadata(&**path).ok().map(|m| (m.dev(), m.ino()));
            file.moved = file.is_unlinked().unwrap_or(false) || at_path != Some(file.identity());
        }
        if event.closed_write && file.moved {
            file.writer_closed = true;
        }
    }

    /// Reads what is there. `Ok(None)`: nothing until the next event.
    pub(crate) fn poll(&mut self, open: &mut OpenFiles) -> Result<Option<Batch>, SourceError> {
        let path = self.path.clone();
        let fail = |action, e| SourceError::io(&*path, action, e);
        self.discover(open)?;
        loop {
            let Some(front) = self.files.front_mut() else {
                return Ok(None);
            };
            let mut data = Taken::default();
            let before = front.offset();
            front
                .read_lines(&mut data, BATCH_BYTES)
                .map_err(|e| fail("read", e))?;
            // Checked after the read, not before: a truncation between a
            // check and the read would make us read the new content from
            // the old offset. After the read, "not truncated now" means
            // what we read was the old content. If it was truncated, the
            // lines just read may be new content: drop them; the copy
            // holds the old bytes from `before` on.
            if !front.finite && front.was_truncated().map_err(|e| fail("stat", e))? {
                front.seek(before);
                self.after_truncation(open);
                continue;
            }
            if !data.is_empty() {
                return Ok(Some(Batch::new(
                    path.clone(),
                    data,
                    Some(front.checkpoint(&path)),
                )));
            }
            if !self.front_is_finished().map_err(|e| fail("stat", e))? {
                return Ok(None);
            }
            // Bytes may have been written between the read above and the
            // check; the check's outcome cannot revert, so a read after it
            // that finds nothing finds nothing for good.
            let Some(front) = self.files.front_mut() else {
                return Ok(None);
            };
            front
                .read_lines(&mut data, BATCH_BYTES)
                .map_err(|e| fail("read", e))?;
            if !data.is_empty() {
                return Ok(Some(Batch::new(
                    path.clone(),
                    data,
                    Some(front.checkpoint(&path)),
                )));
            }
            front.take_unterminated(&mut data);
            let Some(done) = self.files.pop_front() else {
                return Ok(None);
            };
            open.release(&done);
            if !data.is_empty() {
                return Ok(Some(Batch::new(
                    path.clone(),
                    data,
                    Some(done.checkpoint(&path)),
                )));
            }
        }
    }

    /// Step 1: a new file at the path is the next generation.
    fn discover(&mut self, open: &mut OpenFiles) -> Result<(), SourceError> {
        let meta = match fs::metadata(&*self.path) {
            Ok(m) if m.is_file() => m,
            Ok(_) => {
                self.at_path = None;
                return Ok(());
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.at_path = None;
                self.problem = None;
                return Ok(());
            }
            Err(e) => return Err(SourceError::io(&*self.path, "stat", e)),
        };
        let id = (meta.dev(), meta.ino());
        self.at_path = Some(id);
        let known = |files: &VecDeque<TailedFile>, id| files.iter().any(|f| f.identity() == id);
        if known(&self.files, id) || open.is_taken(id) {
            self.problem = None;
            return Ok(());
        }
        match TailedFile::open(&self.path) {
            // The path may have changed again between stat and open: the
            // descriptor's identity is the truth.
            Ok(file) => {
                let id = file.identity();
                self.at_path = Some(id);
                self.problem = None;
                if !known(&self.files, id) && !open.is_taken(id) {
                    self.push(file, open);
                }
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            // Retried at every event (permissions get fixed, descriptors
            // get freed), reported once.
            Err(_) if self.problem.as_ref().is_some_and(|(p, _)| *p == id) => Ok(()),
            Err(e) => {
                let error = SourceError::io(&*self.path, "open", e);
                self.problem = Some((id, error.to_string()));
                Err(error)
            }
        }
    }

    /// Step 3: the front lost content; its copy holds what we missed.
    fn after_truncation(&mut self, open: &mut OpenFiles) {
        let Some(front) = self.files.front_mut() else {
            return;
        };
        let (offset, own) = (front.offset(), front.identity());
        let copy = (front.fingerprint != UNKNOWN)
            .then(|| {
                let want = Wanted {
                    inode: None,
                    fingerprint: front.fingerprint,
                    min_size: offset,
                };
                siblings::find(&self.path, &want, |id| id == own || open.is_taken(id))
            })
            .flatten();
        front.restart_from_zero();
        if let Some((_, mut copy)) = copy {
            copy.seek(offset);
            copy.finite = true;
            open.adopt(&self.path, &mut copy);
            self.files.push_front(copy);
        }
    }

    /// Step 4: can the front be let go once read to its end?
    fn front_is_finished(&self) -> io::Result<bool> {
        let Some(front) = self.files.front() else {
            return Ok(false);
        };
        if front.finite || front.writer_closed && self.files.len() > 1 {
            return Ok(true);
        }
        if let Some(next) = self.files.get(1) {
            return Ok(next.size()? > next.read_pos());
        }
        Ok(front.writer_closed && self.at_path != Some(front.identity()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::{File, OpenOptions};
    use std::io::Write;

    type R = Result<(), Box<dyn std::error::Error>>;

    /// A lineage polled by hand, synchronously: each step of a rotation can
    /// be checked in between.
    struct Fixture {
        dir: tempfile::TempDir,
        path: Arc<Path>,
        open: OpenFiles,
        lineage: Lineage,
    }

    impl Fixture {
        fn new() -> Result<Fixture, Box<dyn std::error::Error>> {
            let dir = tempfile::tempdir()?;
            let path: Arc<Path> = Arc::from(dir.path().join("a.log"));
            let open = OpenFiles::new(Watcher::new(dir.path())?);
            let lineage = Lineage::new(path.clone());
            Ok(Fixture {
                dir,
                path,
                open,
                lineage,
            })
        }

        fn writer(&self) -> io::Result<File> {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
        }

        fn sibling(&self, suffix: &str) -> std::path::PathBuf {
            self.dir.path().join(format!("a.log{suffix}"))
        }

        /// Everything available now.
        fn lines(&mut self) -> Result<Vec<String>, SourceError> {
            let mut lines = Vec::new();
            while let Some(b) = self.lineage.poll(&mut self.open)? {
                lines.extend(b.lines().map(|l| String::from_utf8_lossy(l).into_owned()));
            }
            Ok(lines)
        }

        fn front_event(&mut self, moved: bool, attrib: bool, closed_write: bool) {
            let wd = self.lineage.files.front().and_then(|f| f.wd).unwrap_or(-1);
            self.lineage.note(&FileEvent {
                wd,
                closed_write,
                moved,
                attrib,
            });
        }
    }

    #[test]
    fn rename_create_keeps_reading_old_until_new_has_data() -> R {
        let mut fx = Fixture::new()?;
        let mut old = fx.writer()?;
        old.write_all(b"1\n2\n")?;
        assert_eq!(fx.lines()?, ["1", "2"]);
        fs::rename(&fx.path, fx.sibling(".1"))?;
        let mut new = fx.writer()?; // logrotate's `create`
        old.write_all(b"3\n")?; // the service has not reopened yet
        assert_eq!(fx.lines()?, ["3"]);
        assert_eq!(fx.lineage.files.len(), 2);
        old.write_all(b"4 unterminated")?;
        new.write_all(b"5\n")?; // reopened: the old file is finished
        assert_eq!(fx.lines()?, ["4 unterminated", "5"]);
        assert_eq!(fx.lineage.files.len(), 1);
        let cp = fx.lineage.checkpoint().ok_or("no checkpoint")?;
        assert_eq!((cp.path.as_path(), cp.offset), (&*fx.path, 2));
        Ok(())
    }

    #[test]
    fn writer_closing_renamed_file_retires_it() -> R {
        let mut fx = Fixture::new()?;
        let mut old = fx.writer()?;
        old.write_all(b"1\n")?;
        assert_eq!(fx.lines()?, ["1"]);
        // An `echo >>` style close while still at the path means nothing.
        fx.front_event(false, false, true);
        fs::rename(&fx.path, fx.sibling(".1"))?;
        fx.front_event(true, false, false);
        old.write_all(b"2\n3")?;
        assert_eq!(fx.lines()?, ["2"]);
        assert_eq!(fx.lineage.files.len(), 1, "no close after the move yet");
        drop(old);
        fx.front_event(false, false, true);
        assert_eq!(fx.lines()?, ["3"]);
        assert!(fx.lineage.is_gone());
        Ok(())
    }

    #[test]
    fn chmod_is_not_a_rotation() -> R {
        let mut fx = Fixture::new()?;
        fx.writer()?.write_all(b"1\n")?;
        assert_eq!(fx.lines()?, ["1"]);
        fx.front_event(false, true, false);
        fx.front_event(false, false, true);
        assert!(!fx
            .lineage
            .files
            .front()
            .is_some_and(|f| f.moved || f.writer_closed));
        Ok(())
    }

    #[test]
    fn copytruncate_reads_the_rest_from_the_copy() -> R {
        let mut fx = Fixture::new()?;
        let mut w = fx.writer()?;
        w.write_all(b"1\n2\n")?;
        assert_eq!(fx.lines()?, ["1", "2"]);
        w.write_all(b"3\n4 unterminated")?; // not read before the rotation
        fs::copy(&fx.path, fx.sibling(".1"))?;
        w.set_len(0)?;
        w.write_all(b"5\n")?;
        assert_eq!(fx.lines()?, ["3", "4 unterminated", "5"]);
        Ok(())
    }

    #[test]
    fn copytruncate_regrown_past_offset_is_seen_by_first_line() -> R {
        let mut fx = Fixture::new()?;
        let mut w = fx.writer()?;
        w.write_all(b"1\n")?;
        assert_eq!(fx.lines()?, ["1"]);
        w.write_all(b"2\n")?;
        fs::copy(&fx.path, fx.sibling("-20240101"))?;
        w.set_len(0)?;
        w.write_all(b"new 1, longer than what we had read\nnew 2\n")?;
        assert_eq!(
            fx.lines()?,
            ["2", "new 1, longer than what we had read", "new 2"]
        );
        Ok(())
    }

    #[test]
    fn delete_recreate_drains_the_unlinked_file() -> R {
        let mut fx = Fixture::new()?;
        let mut old = fx.writer()?;
        old.write_all(b"1\n")?;
        assert_eq!(fx.lines()?, ["1"]);
        fs::remove_file(&fx.path)?;
        fx.front_event(false, true, false);
        old.write_all(b"2\n")?;
        let mut new = fx.writer()?;
        assert_eq!(fx.lines()?, ["2"]);
        old.write_all(b"3\n")?;
        new.write_all(b"4\n")?;
        assert_eq!(fx.lines()?, ["3", "4"]);
        assert_eq!(fx.lineage.files.len(), 1);
        Ok(())
    }

    #[test]
    fn truncated_in_place_without_copy_starts_over() -> R {
        let mut fx = Fixture::new()?;
        let mut w = fx.writer()?;
        w.write_all(b"1\n2\n")?;
        assert_eq!(fx.lines()?, ["1", "2"]);
        w.set_len(0)?;
        w.write_all(b"3\n")?;
        assert_eq!(fx.lines()?, ["3"]);
        Ok(())
    }
}
