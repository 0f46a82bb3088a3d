//! [`FileSource`]: follows one path or glob, hands out batches of lines.
//!
//! Ties the parts together: the watcher says *which* lineage to look at,
//! each [`Lineage`] looks and reads, the checkpoints say where to start.
//! Lineages with something to do wait in a FIFO queue (`dirty`); one that
//! produced a batch goes to the back, so a busy file cannot starve a quiet
//! one. When the queue is empty, `next_batch` awaits the inotify descriptor
//! and nothing else: no timer, no periodic rescan.
//!
//! A directory that does not exist yet is waited for the same way (see
//! `watcher.rs`); when it appears, it is listed and its files are read from
//! their beginning, like any file that appears while we follow.
//!
//! Errors leave the work that failed queued: a lineage whose poll failed
//! goes back to the dirty queue, a failed rescan stays due, so the next
//! call (after the caller's back-off) retries it.

use std::collections::{HashMap, VecDeque};
use std::ffi::OsStr;
use std::path::Path;
use std::sync::Arc;

use crate::batch::Batch;
use crate::checkpoint::{self, Checkpoint, StartAt};
use crate::error::SourceError;
use crate::lineage::{Lineage, OpenFiles};
use crate::pattern::Pattern;
use crate::source::{NextBatch, Source, SourceState};
use crate::watcher::{Change, Watcher};

/// Follows the files matching one pattern, through rotations, from
/// checkpoints. See the crate documentation.
pub struct FileSource {
    /// The pattern as given, for messages.
    name: String,
    pattern: Pattern,
    open: OpenFiles,
    lineages: HashMap<Arc<Path>, Lineage>,
    dirty: VecDeque<Arc<Path>>,
    changes: Vec<Change>,
    /// Everything must be looked at again (lost events, the directory
    /// appeared or went); stays set until that succeeded.
    rescan_due: bool,
    /// The directory was watched: losing it is reported once.
    had_dir: bool,
    /// The last call failed with this, and nothing since succeeded.
    failing: Option<String>,
}

impl FileSource {
    /// Starts following `pattern`: a path (`/var/log/auth.log`) or a
    /// directory and a file-name glob (`/var/log/nginx/*.log`).
    ///
    /// Files matching now start from their checkpoint if `checkpoints` has
    /// one for them (others are ignored), else at `start`. Files that
    /// appear later are read from their beginning.
    ///
    /// A missing file, or a missing directory (even several levels of
    /// it), is not an error: the source waits for it
    /// ([`SourceState::Waiting`]) and follows it from its beginning once it
    /// appears. Fails, naming the path, if the pattern is invalid, a path
    /// component is not a directory, or a matching file cannot be opened.
    /// Needs no runtime; [`next_batch`](Self::next_batch) must run on a
    /// tokio runtime with I/O enabled (timers are not needed).
    pub fn new(
        pattern: &str,
        start: StartAt,
        checkpoints: &[Checkpoint],
    ) -> Result<FileSource, SourceError> {
        let name = pattern.to_owned();
        let pattern = Pattern::parse(pattern)?;
        // Watch first, list second: a file created in between is then both
        // listed and reported, which is harmless, instead of neither.
        let mut watcher = Watcher::unwatched(pattern.dir())?;
        let had_dir = watcher.watch_dir()?;
        let mut source = FileSource {
            name,
            open: OpenFiles::new(watcher),
            lineages: HashMap::new(),
            dirty: VecDeque::new(),
            changes: Vec::new(),
            pattern,
            rescan_due: false,
            had_dir,
            failing: None,
        };
        if !had_dir {
            // Nothing to resume: files in a directory that is gone are gone.
            return Ok(source);
        }
        let mut paths = source.list()?;
        let saved: HashMap<&Path, &Checkpoint> = checkpoints
            .iter()
            .filter(|c| checkpoint::is_in(c, source.pattern.dir()))
            .filter(|c| {
                c.path
                    .file_name()
                    .is_some_and(|n| source.pattern.matches(n))
            })
            .map(|c| (c.path.as_path(), c))
            .collect();
        // A checkpointed path that is gone may still have its last
        // generation next to it, with lines we have not read.
        paths.extend(saved.keys().map(|p| Arc::<Path>::from(*p)));
        paths.sort();
        paths.dedup();
        for path in paths {
            let files = checkpoint::resume(&path, saved.get(&*path).copied(), start, |id| {
                source.open.is_taken(id)
            })?;
            let mut lineage = Lineage::new(path.clone());
            for file in files {
                lineage.push(file, &mut source.open);
            }
            source.lineages.insert(path.clone(), lineage);
            source.mark_dirty(&path);
        }
        Ok(source)
    }

    /// The next batch of whole lines from any followed file. Waits, without
    /// waking the process, until there is one.
    ///
    /// An error names the file and the operation, and leaves the source
    /// usable: call again (after a back-off) to retry what failed and go on
    /// with the other files. A file that cannot be opened is reported once
    /// and retried at each of its changes. Cancel-safe: dropping the future
    /// loses nothing.
    pub async fn next_batch(&mut self) -> Result<Batch, SourceError> {
        let result = self.next_batch_inner().await;
        self.failing = result.as_ref().err().map(ToString::to_string);
        result
    }

    async fn next_batch_inner(&mut self) -> Result<Batch, SourceError> {
        loop {
            if self.rescan_due {
                self.rescan()?;
            }
            while let Some(path) = self.dirty.pop_front() {
                let Some(lineage) = self.lineages.get_mut(&path) else {
                    continue;
                };
                lineage.dirty = false;
                match lineage.poll(&mut self.open) {
                    Ok(Some(batch)) => {
                        // There may be more; come back after the others.
                        self.mark_dirty(&path);
                        return Ok(batch);
                    }
                    Ok(None) if lineage.is_gone() => {
                        self.lineages.remove(&path);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        // Retried at the next call, after the others.
                        self.mark_dirty(&path);
                        return Err(e);
                    }
                }
            }
            // Everything due was done: whatever failed before works now.
            self.failing = None;
            self.open.watcher.changes(&mut self.changes).await?;
            self.apply_changes();
        }
    }

    /// Where every followed file stands now, one per followed path that has
    /// a file. The same values come with each batch; this is for a clean
    /// shutdown.
    pub fn checkpoints(&self) -> Vec<Checkpoint> {
        let mut all: Vec<Checkpoint> = self
            .lineages
            .values()
            .filter_map(Lineage::checkpoint)
            .collect();
        all.sort_by(|a, b| a.path.cmp(&b.path));
        all
    }

    /// Turns inotify notices into dirty lineages.
    fn apply_changes(&mut self) {
        let changes = std::mem::take(&mut self.changes);
        for change in &changes {
            match change {
                Change::Entry(name) => self.entry_changed(name),
                Change::File(event) => {
                    let Some(path) = self.open.lineage_of(event.wd).cloned() else {
                        continue;
                    };
                    if let Some(lineage) = self.lineages.get_mut(&path) {
                        lineage.note(event);
                        self.mark_dirty(&path);
                    }
                }
                Change::Rescan => self.rescan_due = true,
            }
        }
        self.changes = changes;
        self.changes.clear();
    }

    fn entry_changed(&mut self, name: &OsStr) {
        if !self.pattern.matches(name) {
            // Renamed-away generations we hold report through their own
            // inode watch; other names are none of our business.
            return;
        }
        let path: Arc<Path> = Arc::from(self.pattern.dir().join(name));
        self.lineages
            .entry(path.clone())
            .or_insert_with(|| Lineage::new(path.clone()));
        self.mark_dirty(&path);
    }

    /// After lost events, or when the directory appeared or went: every
    /// lineage, and every matching name, is looked at again. New names
    /// start at 0 like any file that appears.
    fn rescan(&mut self) -> Result<(), SourceError> {
        let all: Vec<Arc<Path>> = self.lineages.keys().cloned().collect();
        for path in all {
            self.mark_dirty(&path);
        }
        if !self.open.watcher.has_dir_watch() && !self.open.watcher.watch_dir()? {
            // Removed or moved (files we hold are still read to their end
            // through their descriptors), or still not created: wait for
            // it. Losing it is worth a message, once.
            self.rescan_due = false;
            if std::mem::take(&mut self.had_dir) {
                return Err(self.open.watcher.missing_error());
            }
            return Ok(());
        }
        self.had_dir = true;
        for path in self.list()? {
            self.lineages
                .entry(path.clone())
                .or_insert_with(|| Lineage::new(path.clone()));
            self.mark_dirty(&path);
        }
        self.rescan_due = false;
        Ok(())
    }

    /// See [`Source::state`].
    pub fn state(&self) -> SourceState {
        let waiting = |reason| SourceState::Waiting { reason };
        if let Some(missing) = self.open.watcher.missing() {
            return waiting(format!("no such file or directory: {}", missing.display()));
        }
        if let Some(error) = &self.failing {
            return waiting(error.clone());
        }
        if let Some(problem) = self.lineages.values().find_map(Lineage::problem) {
            return waiting(problem.to_owned());
        }
        if self.lineages.values().all(Lineage::is_empty) {
            return waiting(match self.pattern.literal_path() {
                Some(path) => format!("no such file or directory: {}", path.display()),
                None => format!("no file matches {} yet", self.name),
            });
        }
        SourceState::Following
    }

    /// The matching regular files in the directory.
    fn list(&self) -> Result<Vec<Arc<Path>>, SourceError> {
        let dir = self.pattern.dir();
        let entries =
            std::fs::read_dir(dir).map_err(|e| SourceError::io(dir, "list directory", e))?;
        let mut paths = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| SourceError::io(dir, "list directory", e))?;
            if self.pattern.matches(&entry.file_name()) {
                paths.push(Arc::from(entry.path()));
            }
        }
        Ok(paths)
    }

    fn mark_dirty(&mut self, path: &Arc<Path>) {
        if let Some(lineage) = self.lineages.get_mut(path) {
            if !lineage.dirty {
                lineage.dirty = true;
                self.dirty.push_back(path.clone());
            }
        }
    }
}

impl std::fmt::Debug for FileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSource")
            .field("dir", &self.pattern.dir())
            .field("following", &self.lineages.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Source for FileSource {
    fn next_batch(&mut self) -> NextBatch<'_> {
        Box::pin(async move { FileSource::next_batch(self).await.map(Some) })
    }

    fn state(&self) -> SourceState {
        FileSource::state(self)
    }

    fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::io::Write;
    use std::time::Duration;

    type R = Result<(), Box<dyn std::error::Error>>;

    fn rt() -> std::io::Result<tokio::runtime::Runtime> {
        tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
    }

    /// Lines until none come for a while.
    async fn drain(src: &mut FileSource) -> Result<Vec<String>, SourceError> {
        let mut lines = Vec::new();
        while let Ok(batch) =
            tokio::time::timeout(Duration::from_millis(100), src.next_batch()).await
        {
            lines.extend(
                batch?
                    .lines()
                    .map(|l| String::from_utf8_lossy(l).into_owned()),
            );
        }
        Ok(lines)
    }

    #[test]
    fn rescan_after_lost_events_finds_new_files() -> R {
        let dir = tempfile::tempdir()?;
        let mut src = FileSource::new(
            &format!("{}/*.log", dir.path().display()),
            StartAt::End,
            &[],
        )?;
        fs::write(dir.path().join("late.log"), "one\ntwo\n")?;
        let rt = rt()?;
        // Throw the events away, as a queue overflow would.
        rt.block_on(src.open.watcher.changes(&mut Vec::new()))?;
        assert!(src.lineages.is_empty());
        src.changes.push(Change::Rescan);
        src.apply_changes();
        assert_eq!(rt.block_on(drain(&mut src))?, ["one", "two"]);
        Ok(())
    }

    #[test]
    fn star_glob_reads_rotated_copies_once() -> R {
        let dir = tempfile::tempdir()?;
        let log = dir.path().join("app.log");
        fs::write(&log, "1\n2\n")?;
        let mut src = FileSource::new(
            &format!("{}/*", dir.path().display()),
            StartAt::Beginning,
            &[],
        )?;
        let rt = rt()?;
        assert_eq!(rt.block_on(drain(&mut src))?, ["1", "2"]);
        // `*` matches app.log.1 and app.log.2.gz too; they are the same
        // lines under another name and must not be read again.
        fs::rename(&log, dir.path().join("app.log.1"))?;
        fs::write(dir.path().join("app.log.2.gz"), "zipped\n")?;
        fs::File::create(&log)?.write_all(b"3\n")?;
        assert_eq!(rt.block_on(drain(&mut src))?, ["3"]);
        assert_eq!(src.checkpoints().len(), 1);
        Ok(())
    }

    #[test]
    fn vanished_directory_is_reported_at_rescan() -> R {
        let dir = tempfile::tempdir()?;
        let sub = dir.path().join("nginx");
        fs::create_dir(&sub)?;
        let mut src = FileSource::new(&format!("{}/*.log", sub.display()), StartAt::End, &[])?;
        fs::remove_dir(&sub)?;
        let err = rt()?.block_on(async {
            tokio::time::timeout(Duration::from_secs(5), src.next_batch()).await
        });
        let err = err.map_err(|_| "no error")?.err().ok_or("no error")?;
        assert_eq!(err.path(), Some(sub.as_path()));
        assert!(format!("{src:?}").contains("nginx"));
        Ok(())
    }
}
