//! The watcher: turns inotify events into "look at this" notices.
//!
//! One inotify instance per [`FileSource`](crate::FileSource), with
//!
//! * one watch on the directory (`IN_CREATE`, `IN_MOVED_TO`,
//!   `IN_MOVED_FROM`, `IN_DELETE`, `IN_MODIFY`, `IN_CLOSE_WRITE`): new
//!   matching names, and writes to files we do not hold yet;
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
    dir_wd: Option<i32>,
    buf: Vec<u8>,
}

impl Watcher {
    /// Watches `dir`. Fails, naming it, if it is missing or not a directory.
    pub(crate) fn new(dir: &Path) -> Result<Watcher, SourceError> {
        let inotify =
            Inotify::init().map_err(|e| SourceError::io(dir, "create inotify instance for", e))?;
        let mut watcher = Watcher {
            watches: inotify.watches(),
            inotify: Err(Some(inotify)),
            descriptors: HashMap::new(),
            dir: dir.to_path_buf(),
            dir_wd: None,
            buf: vec![0; EVENT_BUFFER],
        };
        watcher.watch_dir()?;
        Ok(watcher)
    }

    /// (Re)adds the directory watch.
    pub(crate) fn watch_dir(&mut self) -> Result<(), SourceError> {
        match self.watches.add(&self.dir, DIR_MASK) {
            Ok(wd) => {
                self.dir_wd = Some(wd.get_watch_descriptor_id());
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::NotADirectory => Err(SourceError::WrongKind {
                path: self.dir.clone(),
                expected: "not a directory",
            }),
            Err(e) => Err(SourceError::io(&self.dir, "watch directory", e)),
        }
    }

    pub(crate) fn has_dir_watch(&self) -> bool {
        self.dir_wd.is_some()
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
            let registered =
                unsafe { AsyncFd::register_with_interest(inotify, Interest::READABLE) };
            self.inotify = Ok(registered.map_err(|e| fail(e.into()))?);
        }
        let Ok(fd) = &mut self.inotify else {
            return Err(fail(io::Error::other("inotify not registered")));
        };
        loop {
            let mut guard = fd.readable_mut().await.map_err(fail)?;
            match guard.get_inner_mut().read_events(&mut self.buf) {
                Ok(events) => {
                    for event in events {
                        let wd = event.wd.get_watch_descriptor_id();
                        out.push(classify(
                            wd,
                            self.dir_wd,
                            event.mask,
                            event.name.map(OsString::from),
                        ));
                        if self.dir_wd == Some(wd)
                            && event.mask.intersects(
                                EventMask::IGNORED | EventMask::DELETE_SELF | EventMask::MOVE_SELF,
                            )
                        {
                            self.dir_wd = None;
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
