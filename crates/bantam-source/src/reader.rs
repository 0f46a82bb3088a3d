//! One open log file and how far we have read it.
//!
//! Reading is positional (`pread` at our own offset), never through the
//! descriptor's file position: the offset is ours, it is what goes into the
//! checkpoint, and it must not move unless lines were handed out. Bytes read
//! past the last `'\n'` are kept in the splitter (or, for an over-long line,
//! counted and discarded, see `batch.rs`) and not counted in `offset` until
//! their line is complete, so a checkpoint never points into the middle of
//! a line.
//!
//! Regular files are always "readable" for epoll, so reads are plain
//! synchronous system calls on the runtime thread. They hit the page cache:
//! we read what a writer has just written. inotify tells us when to read.

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;

use crate::batch::{Splitter, Taken};
use crate::checkpoint::Checkpoint;
use crate::fingerprint::{self, UNKNOWN};

/// Bytes asked for per `pread`.
const CHUNK: usize = 64 * 1024;

thread_local! {
    /// Where `pread` puts bytes before they are split into lines: one per
    /// thread rather than one per followed file, which may be hundreds.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A file we hold open. Its fields are the lineage's bookkeeping; reading
/// state (`offset`, `split`) only changes through the methods.
#[derive(Debug)]
pub(crate) struct TailedFile {
    file: File,
    pub(crate) dev: u64,
    pub(crate) inode: u64,
    /// See `fingerprint.rs`; `UNKNOWN` until the first line is complete.
    pub(crate) fingerprint: u64,
    /// Bytes handed out as lines: where a restart resumes.
    offset: u64,
    /// Bytes read after `offset`: a line whose end has not been written
    /// yet.
    split: Splitter,
    /// The inotify watch on this inode, if any.
    pub(crate) wd: Option<i32>,
    /// Renamed away from the followed path, or unlinked: a rotation.
    pub(crate) moved: bool,
    /// A writer closed it after it `moved`: no more lines will come.
    pub(crate) writer_closed: bool,
    /// Complete as it is (the copy made by copytruncate): read it to its
    /// end, then let it go.
    pub(crate) finite: bool,
}

impl TailedFile {
    pub(crate) fn open(path: &Path) -> io::Result<TailedFile> {
        TailedFile::from_file(File::open(path)?)
    }

    pub(crate) fn from_file(file: File) -> io::Result<TailedFile> {
        let meta = file.metadata()?;
        Ok(TailedFile {
            dev: meta.dev(),
            inode: meta.ino(),
            fingerprint: fingerprint::of_file(&file)?,
            file,
            offset: 0,
            split: Splitter::default(),
            wd: None,
            moved: false,
            writer_closed: false,
            finite: false,
        })
    }

    pub(crate) fn file(&self) -> &File {
        &self.file
    }

    pub(crate) fn identity(&self) -> (u64, u64) {
        (self.dev, self.inode)
    }

    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Where the next read starts.
    pub(crate) fn read_pos(&self) -> u64 {
        self.offset + self.split.held()
    }

    pub(crate) fn size(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    pub(crate) fn is_unlinked(&self) -> io::Result<bool> {
        Ok(self.file.metadata()?.nlink() == 0)
    }

    /// Continue from `offset` (a checkpoint's, or 0).
    pub(crate) fn seek(&mut self, offset: u64) {
        self.offset = offset;
        self.split.clear();
    }

    /// For `StartAt::End`: skip what is there, except an unfinished last
    /// line, which is read when its writer completes it (so the first line
    /// we emit is whole).
    pub(crate) fn seek_to_last_line_end(&mut self) -> io::Result<()> {
        let mut end = self.size()?;
        let mut buf = vec![0u8; CHUNK];
        while end > 0 {
            let start = end.saturating_sub(CHUNK as u64);
            let chunk = &mut buf[..(end - start) as usize];
            self.file.read_exact_at(chunk, start)?;
            if let Some(i) = memchr::memrchr(b'\n', chunk) {
                self.seek(start + i as u64 + 1);
                return Ok(());
            }
            end = start;
        }
        self.seek(0);
        Ok(())
    }

    /// Whether the file lost content under us: it is shorter than what we
    /// read (copytruncate, `> file`), or its first line changed (truncated,
    /// then rewritten past our offset before we looked).
    pub(crate) fn was_truncated(&self) -> io::Result<bool> {
        if self.size()? < self.read_pos() {
            return Ok(true);
        }
        Ok(self.fingerprint != UNKNOWN
            && self.read_pos() > 0
            && fingerprint::of_file(&self.file)? != self.fingerprint)
    }

    /// After a truncation: the file is a new generation in the same inode.
    pub(crate) fn restart_from_zero(&mut self) {
        self.seek(0);
        self.fingerprint = fingerprint::of_file(&self.file).unwrap_or(UNKNOWN);
    }

    /// Appends the complete lines after `offset` to `out`, until the end of
    /// the file or until at least `limit` bytes were added. Over-long lines
    /// are dropped (counted in `out`) and do not count towards `limit`.
    ///
    /// An error after some lines were read is not reported: the lines are
    /// returned (our offset already counts them) and the next read will hit
    /// the error again.
    pub(crate) fn read_lines(&mut self, out: &mut Taken, limit: usize) -> io::Result<()> {
        SCRATCH.with_borrow_mut(|scratch| {
            // Zeroed once per thread, not once per read.
            scratch.resize(CHUNK, 0);
            let (start, start_offset) = (out.data.len(), self.offset);
            while out.data.len() - start < limit {
                match self.file.read_at(scratch, self.read_pos()) {
                    Ok(0) => break,
                    Ok(n) => self.offset += self.split.push(&scratch[..n], out),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) if self.offset > start_offset => break,
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        })?;
        if self.fingerprint == UNKNOWN && self.offset > 0 {
            self.fingerprint = fingerprint::of_file(&self.file).unwrap_or(UNKNOWN);
        }
        Ok(())
    }

    /// The file will not grow any more: hand out its unterminated last line
    /// as a line of its own.
    pub(crate) fn take_unterminated(&mut self, out: &mut Taken) {
        self.offset += self.split.finish(out);
    }

    pub(crate) fn checkpoint(&self, path: &Path) -> Checkpoint {
        Checkpoint {
            path: path.to_path_buf(),
            dev: self.dev,
            inode: self.inode,
            offset: self.offset,
            fingerprint: self.fingerprint,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::MAX_LINE_BYTES;
    use std::io::Write;

    fn setup() -> io::Result<(tempfile::TempDir, File, TailedFile)> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("a.log");
        let writer = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        let reader = TailedFile::open(&path)?;
        Ok((dir, writer, reader))
    }

    #[test]
    fn partial_line_is_held_until_complete() -> io::Result<()> {
        let (_dir, mut w, mut r) = setup()?;
        let mut out = Taken::default();
        w.write_all(b"one\ntw")?;
        r.read_lines(&mut out, usize::MAX)?;
        assert_eq!(out.data, b"one\n");
        assert_eq!((r.offset(), r.read_pos()), (4, 6));
        w.write_all(b"o\n")?;
        r.read_lines(&mut out, usize::MAX)?;
        assert_eq!(out.data, b"one\ntwo\n");
        assert_eq!(r.checkpoint(Path::new("/x")).offset, 8);
        assert_ne!(r.fingerprint, UNKNOWN);
        Ok(())
    }

    #[test]
    fn unterminated_tail_is_emitted_once() -> io::Result<()> {
        let (_dir, mut w, mut r) = setup()?;
        w.write_all(b"a\nlast")?;
        let mut out = Taken::default();
        r.read_lines(&mut out, usize::MAX)?;
        r.take_unterminated(&mut out);
        r.take_unterminated(&mut out);
        assert_eq!(out.data, b"a\nlast\n");
        assert_eq!(r.offset(), 6);
        Ok(())
    }

    #[test]
    fn limit_splits_reads_into_batches() -> io::Result<()> {
        let (_dir, mut w, mut r) = setup()?;
        let line = [b'x'; 99];
        for _ in 0..5000 {
            w.write_all(&line)?;
            w.write_all(b"\n")?;
        }
        let mut out = Taken::default();
        r.read_lines(&mut out, 100_000)?;
        assert!(
            out.data.len() >= 100_000 && out.data.len() < 100_000 + CHUNK,
            "{}",
            out.data.len()
        );
        assert_eq!(out.data.len() % 100, 0);
        r.read_lines(&mut out, usize::MAX)?;
        assert_eq!(out.data.len(), 500_000);
        Ok(())
    }

    #[test]
    fn truncation_is_detected_by_size_and_by_first_line() -> io::Result<()> {
        let (dir, mut w, mut r) = setup()?;
        w.write_all(b"first 1\nsecond\n")?;
        r.read_lines(&mut Taken::default(), usize::MAX)?;
        assert!(!r.was_truncated()?);
        w.set_len(0)?;
        assert!(r.was_truncated()?);
        // Truncated, then rewritten past our offset before we looked.
        w.write_all(b"first 2\nsecond line, longer\n")?;
        assert!(r.was_truncated()?);
        r.restart_from_zero();
        let mut out = Taken::default();
        r.read_lines(&mut out, usize::MAX)?;
        assert_eq!(out.data, b"first 2\nsecond line, longer\n");
        drop(dir);
        Ok(())
    }

    #[test]
    fn start_at_end_keeps_the_unfinished_line() -> io::Result<()> {
        let (_dir, mut w, mut r) = setup()?;
        w.write_all(b"old 1\nold 2\nnew par")?;
        r.seek_to_last_line_end()?;
        w.write_all(b"tial\nnew 2\n")?;
        let mut out = Taken::default();
        r.read_lines(&mut out, usize::MAX)?;
        assert_eq!(out.data, b"new partial\nnew 2\n");
        Ok(())
    }

    #[test]
    fn start_at_end_of_file_without_newline_starts_at_zero() -> io::Result<()> {
        let (_dir, mut w, mut r) = setup()?;
        w.write_all(&vec![b'y'; CHUNK * 2 + 3])?;
        r.seek_to_last_line_end()?;
        assert_eq!(r.offset(), 0);
        Ok(())
    }

    #[test]
    fn hundred_megabyte_line_is_dropped_in_bounded_memory() -> io::Result<()> {
        let (_dir, w, mut r) = setup()?;
        // Sparse: 100 MB of NULs without a '\n', cheap to write and read.
        w.set_len(100 << 20)?;
        let mut w = w;
        w.write_all(b"\nafter\n")?;
        let mut out = Taken::default();
        r.read_lines(&mut out, usize::MAX)?;
        assert_eq!(out.data, b"after\n");
        assert_eq!(out.dropped, 1);
        assert_eq!(r.offset(), (100 << 20) + 7);
        assert_eq!(r.read_pos(), r.offset());
        Ok(())
    }

    #[test]
    fn checkpoint_inside_a_dropped_line_stays_at_its_start() -> io::Result<()> {
        let (_dir, mut w, mut r) = setup()?;
        w.write_all(b"a\n")?;
        w.write_all(&vec![b'x'; MAX_LINE_BYTES + CHUNK])?;
        let mut out = Taken::default();
        r.read_lines(&mut out, usize::MAX)?;
        assert_eq!((out.data.as_slice(), out.dropped), (&b"a\n"[..], 0));
        assert_eq!(r.checkpoint(Path::new("/x")).offset, 2);
        assert_eq!(r.read_pos(), 2 + (MAX_LINE_BYTES + CHUNK) as u64);
        w.write_all(b"x\nb\n")?;
        r.read_lines(&mut out, usize::MAX)?;
        assert_eq!((out.data.as_slice(), out.dropped), (&b"a\nb\n"[..], 1));
        assert_eq!(r.offset(), r.size()?);
        Ok(())
    }
}
