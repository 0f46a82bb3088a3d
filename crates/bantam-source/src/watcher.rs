//! The watcher: turns inotify events into "look at this" notices.
//!
//! One inotify instance per [`FileSource`](crate::FileSource), with
//!
//! * one watch on the directory (`IN_CREATE`, `IN_MOVED_TO`,
//!   `IN_MOVED_FROM`, `IN_DELETE`, `IN_MODIFY`, `IN_CLOSE_WRITE`): new
//!   matching names, and writes to files we do not hold yet;
//! * while the directory does not exist, one watch on its nearest existing
//!   ancestor instead (`IN_CREATE`, `IN_MOVED_TO`, and its own removal):
//!   when the next component of the path appears, we walk down to it, one
//!   level at a time, until the directory itself is watched. Waiting for
//!   `/var/log/app/` to be created costs one watch and no wake-up;
//! * one watch on each file we hold open (`IN_MODIFY`, `IN_CLOSE_WRITE`,
//!   `IN_MOVE_SELF`, `IN_ATTRIB`). Watches are per inode, so these keep
//!   reporting after the file is renamed (`auth.log` → `auth.log.1`, or into
//!   another directory) or unlinked, which a directory watch cannot promise.
//!   The watch is added through `/proc/self/fd/N`, which names the open
//!   file itself: adding it by path would race with a rotation between our
//!   `open` and the `inotify_add_watch`, and could watch the wrong inode.
//!
//! The watcher does not interpret events beyond that: an event only says
//! which file or name to look at again, and `lineage.rs` decides what
//! happened by looking (`stat`, `fstat`, fingerprint). Events can be
//! coalesced, reordered relative to our reads, or lost (`IN_Q_OVERFLOW`);
//! state derived from looking cannot. On overflow everything is looked at
//! again.
//!
//! Waiting is `AsyncFd` readiness on the inotify descriptor: the runtime
//! sleeps in `epoll_wait` until the kernel queues an event, and nothing
//! wakes it otherwise.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use inotify::{EventMask, Inotify, WatchDescriptor, WatchMask, Watches};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::error::SourceError;

/// One "look again" notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// Something happened to the directory entry with this name.
    Entry(OsString),
    /// Something happened to a file we watch through its descriptor.
    File(FileEvent),
    /// Events were lost (queue overflow) or the directory watch is gone:
    /// look at everything.
    Rescan,
}

/// What one event on a held file said, as far as `lineage.rs` cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileEvent {
    pub wd: i32,
    /// A writer closed it: `IN_CLOSE_WRITE`.
    pub closed_write: bool,
    /// Renamed (`IN_MOVE_SELF`).
    pub moved: bool,
    /// Metadata changed (`IN_ATTRIB`): maybe unlinked, maybe a chmod.
    pub attrib: bool,
}

const DIR_MASK: WatchMask = WatchMask::CREATE
    .union(WatchMask::MOVED_TO)
    .union(WatchMask::MOVED_FROM)
    .union(WatchMask::DELETE)
    .union(WatchMask::MODIFY)
    .union(WatchMask::CLOSE_WRITE)
    .union(WatchMask::DELETE_SELF)
    .union(WatchMask::MOVE_SELF)
    .union(WatchMask::ONLYDIR);

const FILE_MASK: WatchMask = WatchMask::MODIFY
    .union(WatchMask::CLOSE_WRITE)
    .union(WatchMask::MOVE_SELF)
    .union(WatchMask::ATTRIB);

/// What a missing directory's nearest ancestor is watched for: the next
/// component of the path appearing, or the ancestor itself going away.
const ANCESTOR_MASK: WatchMask = WatchMask::CREATE
    .union(WatchMask::MOVED_TO)
    .union(WatchMask::DELETE_SELF)
    .union(WatchMask::MOVE_SELF)
    .union(WatchMask::ONLYDIR);

/// A directory watch's events that mean the watched directory is no longer
/// at its path.
const GONE: EventMask = EventMask::IGNORED
    .union(EventMask::DELETE_SELF)
    .union(EventMask::MOVE_SELF);

/// Room for a few thousand events per read: a busy directory is drained in
/// one system call.
const EVENT_BUFFER: usize = 64 * 1024;

pub(crate) struct Watcher {
    /// `Err` until the first wait: registering with the reactor needs a
    /// runtime, and `FileSource::new` should not.
    inotify: Result<AsyncFd<Inotify>, Option<Inotify>>,
    watches: Watches,
    descriptors: HashMap<i32, WatchDescriptor>,
    dir: PathBuf,
    dir_wd: Option<WatchDescriptor>,
    /// While `dir` is missing: the watch on its nearest existing ancestor.
    ancestor: Option<Ancestor>,
    buf: Vec<u8>,
}

/// The nearest existing ancestor of a missing directory, watched for the
/// next component of the path to appear.
struct Ancestor {
    wd: WatchDescriptor,
    /// The first missing path: the ancestor plus `next`.
    missing: PathBuf,
    next: OsString,
}

impl Watcher {
    /// Watches `dir`. Fails, naming it, if it is missing or not a directory.
    #[cfg(test)]
    pub(crate) fn new(dir: &Path) -> Result<Watcher, SourceError> {
        let mut watcher = Watcher::unwatched(dir)?;
        if !watcher.watch_dir()? {
            return Err(watcher.missing_error());
        }
        Ok(watcher)
    }

    /// The error to report for the missing directory: the system's own
    /// words for it.
    pub(crate) fn missing_error(&self) -> SourceError {
        let error = std::fs::metadata(&self.dir)
            .err()
            .unwrap_or_else(|| io::Error::from(io::ErrorKind::NotFound));
        SourceError::io(&self.dir, "watch directory", error)
    }

    /// An inotify instance for `dir`, which is not watched yet: see
    /// [`watch_dir`](Self::watch_dir).
    pub(crate) fn unwatched(dir: &Path) -> Result<Watcher, SourceError> {
        let inotify =
            Inotify::init().map_err(|e| SourceError::io(dir, "create inotify instance for", e))?;
        Ok(Watcher {
            watches: inotify.watches(),
            inotify: Err(Some(inotify)),
            descriptors: HashMap::new(),
            dir: dir.to_path_buf(),
            dir_wd: None,
            ancestor: None,
            buf: vec![0; EVENT_BUFFER],
        })
    }

    /// (Re)adds the directory watch. `Ok(false)`: the directory does not
    /// exist (yet); its nearest existing ancestor is watched instead, and a
    /// [`Change::Rescan`] comes when the path gets closer to existing.
    pub(crate) fn watch_dir(&mut self) -> Result<bool, SourceError> {
        loop {
            match self.watches.add(&self.dir, DIR_MASK) {
                Ok(wd) => {
                    self.dir_wd = Some(wd);
                    if let Some(old) = self.ancestor.take() {
                        let _ = self.watches.remove(old.wd);
                    }
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) if e.kind() == io::ErrorKind::NotADirectory => {
                    return Err(SourceError::WrongKind {
                        path: self.dir.clone(),
                        expected: "not a directory",
                    })
                }
                Err(e) => return Err(SourceError::io(&self.dir, "watch directory", e)),
            }
            if !self.watch_ancestor()? {
                return Ok(false);
            }
        }
    }

    /// Watches the nearest existing ancestor of the missing directory.
    /// `Ok(true)`: look again at once, the path changed meanwhile (the next
    /// component was created before the watch could report it, or the
    /// ancestor went away).
    fn watch_ancestor(&mut self) -> Result<bool, SourceError> {
        let Some((ancestor, next)) = nearest_existing(&self.dir) else {
            return Err(SourceError::WrongKind {
                path: self.dir.clone(),
                expected: "no ancestor directory exists",
            });
        };
        let wd = match self.watches.add(ancestor, ANCESTOR_MASK) {
            Ok(wd) => wd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(true),
            Err(e) => return Err(SourceError::io(ancestor, "watch directory", e)),
        };
        let missing = ancestor.join(&next);
        if let Some(old) = self.ancestor.take() {
            if old.wd != wd {
                let _ = self.watches.remove(old.wd);
            }
        }
        let exists = std::fs::metadata(&missing).is_ok();
        self.ancestor = Some(Ancestor { wd, missing, next });
        Ok(exists)
    }

    pub(crate) fn has_dir_watch(&self) -> bool {
        self.dir_wd.is_some()
    }

    /// While the directory is missing: the first component of its path
    /// that does not exist.
    pub(crate) fn missing(&self) -> Option<&Path> {
        match (&self.dir_wd, &self.ancestor) {
            (None, Some(a)) => Some(&a.missing),
            (None, None) => Some(&self.dir),
            (Some(_), _) => None,
        }
    }

    /// Watches the open file itself. `None` if that is impossible (no
    /// `/proc`, or the inotify watch limit is reached): the directory watch
    /// still reports most changes, so this degrades rather than fails.
    pub(crate) fn watch_file(&mut self, file: &File) -> Option<i32> {
        let proc_path = format!("/proc/self/fd/{}", file.as_raw_fd());
        let wd = self.watches.add(proc_path, FILE_MASK).ok()?;
        let id = wd.get_watch_descriptor_id();
        self.descriptors.insert(id, wd);
        Some(id)
    }

    pub(crate) fn unwatch_file(&mut self, wd: i32) {
        if let Some(wd) = self.descriptors.remove(&wd) {
            // EINVAL means the kernel dropped it already (inode gone): fine.
            let _ = self.watches.remove(wd);
        }
    }

    /// Waits until at least one event is queued, then appends a notice for
    /// every queued event to `out`. Cancel-safe: events are only consumed
    /// by the synchronous read after the wait.
    pub(crate) async fn changes(&mut self, out: &mut Vec<Change>) -> Result<(), SourceError> {
        let dir = &self.dir;
        let fail = |e| SourceError::io(dir, "read inotify events for", e);
        if let Err(pending) = &mut self.inotify {
            let Some(inotify) = pending.take() else {
                return Err(fail(io::Error::other(
                    "inotify registration failed earlier",
                )));
            };
            // SAFETY: `Inotify` owns its descriptor from `init` to drop and
            // always returns that same one from `as_raw_fd`; we only ever
            // call `read_events` through the guard, never replace the value.
            match unsafe { AsyncFd::register_with_interest(inotify, Interest::READABLE) } {
                Ok(registered) => self.inotify = Ok(registered),
                Err(e) => {
                    // Keep the instance (and its watches) for a retry.
                    let (inotify, e) = e.into_parts();
                    self.inotify = Err(Some(inotify));
                    return Err(fail(e));
                }
            }
        }
        let Ok(fd) = &mut self.inotify else {
            return Err(fail(io::Error::other("inotify not registered")));
        };
        loop {
            let mut guard = fd.readable_mut().await.map_err(fail)?;
            match guard.get_inner_mut().read_events(&mut self.buf) {
                Ok(events) => {
                    for event in events {
                        let ancestor = self.ancestor.as_ref();
                        if ancestor.is_some_and(|a| a.wd == event.wd) {
                            let next = ancestor.map(|a| a.next.as_os_str());
                            if event.name.is_none() || event.name == next {
                                // Closer to existing, or the ancestor went.
                                out.push(Change::Rescan);
                            }
                            continue;
                        }
                        let dir_wd = self.dir_wd.as_ref().map(|w| w.get_watch_descriptor_id());
                        let wd = event.wd.get_watch_descriptor_id();
                        out.push(classify(
                            wd,
                            dir_wd,
                            event.mask,
                            event.name.map(OsString::from),
                        ));
                        if dir_wd == Some(wd) && event.mask.intersects(GONE) {
                            // A moved directory keeps its watch: drop it, or
                            // its events would come under an unknown number.
                            if let Some(old) = self.dir_wd.take() {
                                if event.mask.contains(EventMask::MOVE_SELF) {
                                    let _ = self.watches.remove(old);
                                }
                            }
                        }
                    }
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => guard.clear_ready(),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(fail(e)),
            }
        }
    }
}

/// The nearest existing directory above `dir` (absolute), and the name of
/// the next component down towards `dir`.
fn nearest_existing(dir: &Path) -> Option<(&Path, OsString)> {
    let mut below = dir;
    for ancestor in dir.ancestors().skip(1) {
        if std::fs::metadata(ancestor).is_ok_and(|m| m.is_dir()) {
            return Some((ancestor, below.file_name()?.to_owned()));
        }
        below = ancestor;
    }
    None
}

fn classify(wd: i32, dir_wd: Option<i32>, mask: EventMask, name: Option<OsString>) -> Change {
    if mask.contains(EventMask::Q_OVERFLOW) {
        return Change::Rescan;
    }
    if Some(wd) == dir_wd {
        return match name {
            Some(name) => Change::Entry(name),
            // The directory itself moved or went away.
            None => Change::Rescan,
        };
    }
    Change::File(FileEvent {
        wd,
        closed_write: mask.contains(EventMask::CLOSE_WRITE),
        moved: mask.contains(EventMask::MOVE_SELF),
        attrib: mask.intersects(EventMask::ATTRIB | EventMask::DELETE_SELF),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .expect("runtime")
    }

    #[test]
    fn missing_directory_is_named() {
        let e = Watcher::new(Path::new("/nonexistent/bantam-test-dir"))
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("cannot watch directory /nonexistent/bantam-test-dir: No such file or directory (os error 2)")
        );
    }

    #[test]
    fn file_is_not_a_directory() -> io::Result<()> {
        let f = tempfile::NamedTempFile::new()?;
        let e = Watcher::new(f.path()).err();
        assert!(matches!(e, Some(SourceError::WrongKind { .. })), "{e:?}");
        Ok(())
    }

    #[test]
    fn entry_events_name_the_entry() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut w = Watcher::new(dir.path())?;
        File::create(dir.path().join("a.log"))?;
        let mut out = Vec::new();
        rt().block_on(w.changes(&mut out))?;
        assert!(out.contains(&Change::Entry("a.log".into())), "{out:?}");
        Ok(())
    }

    #[test]
    fn file_watch_follows_the_inode_after_unlink() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("a.log");
        let mut writer = File::create(&path)?;
        let reader = File::open(&path)?;
        let mut w = Watcher::new(dir.path())?;
        let wd = w.watch_file(&reader).ok_or("no file watch")?;
        std::fs::remove_file(&path)?;
        writer.write_all(b"late line\n")?;
        drop(writer);
        let rt = rt();
        let mut all = Vec::new();
        // The unlink, the write and the close may come in one read or more.
        while !all.iter().any(|c| {
            matches!(
                c,
                Change::File(FileEvent {
                    closed_write: true,
                    ..
                })
            )
        }) {
            rt.block_on(w.changes(&mut all))?;
        }
        let mine: Vec<_> = all
            .iter()
            .filter_map(|c| match c {
                Change::File(e) if e.wd == wd => Some(*e),
                _ => None,
            })
            .collect();
        assert!(mine.iter().any(|e| e.attrib), "{all:?}");
        assert!(mine.iter().any(|e| e.closed_write), "{all:?}");
        w.unwatch_file(wd);
        Ok(())
    }
}
