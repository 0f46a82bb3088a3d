//! bantam's log sources: the only crate that reads logs.
//!
//! # What it does
//!
//! * [`FileSource`] follows a path or a directory glob
//!   (`/var/log/auth.log`, `/var/log/nginx/*.log`), including files created
//!   later, through every kind of log rotation, without losing or repeating
//!   a line, and resumes after a restart exactly where it stopped.
//! * [`FifoSource`] reads a named pipe that writers open and close at will.
//! * [`StdinSource`] reads standard input until it ends.
//!
//! All three hand out [`Batch`]es: whole lines (never half of one, and
//! never a piece of an over-long one), in the order they were written,
//! with, for files, the [`Checkpoint`] to store once the batch is processed.
//!
//! All three implement [`Source`], and [`open`] picks one from a `logpath`
//! (`-`, an existing FIFO, otherwise a file or glob): that is all the daemon
//! needs. A new kind of source is one file implementing [`Source`] plus one
//! arm in `source.rs`.
//!
//! Logpaths with a scheme name no file ([`open_with`]):
//!
//! * [`JournalSource`], `journal:FIELD=VALUE…`: the systemd journal,
//!   through `journalctl -o export --follow`, resumed from its cursor;
//! * [`SyslogSource`], `syslog+udp://ADDR:PORT`, `syslog+tcp://ADDR:PORT`,
//!   `syslog+unix:///PATH`: a syslog receiver (RFC 3164 and 5424);
//! * [`CmdSource`], `cmd:ARGV…`: a command's output, restarted when it
//!   exits.
//!
//! Their lines look like a syslog file's (`TIMESTAMP HOST PROGRAM[PID]:
//! MESSAGE`) so every filter reads them, and carry [`LineMeta`] (time,
//! fields) for filters that want more. Their modules say why each works
//! the way it does.
//!
//! # Errors and waiting
//!
//! A source never ends on an error. A file, or a directory (however many
//! levels of it), that does not exist is not an error: the source is
//! [`SourceState::Waiting`] and follows it, from its beginning, once it
//! appears. An I/O error (out of descriptors, permission denied, ...) is
//! returned by `next_batch`, naming the path and the operation; calling
//! `next_batch` again retries what failed. The caller should back off
//! before calling again: the cause may last (a file that cannot be opened
//! is then reported once and retried at each of its changes).
//!
//! # Use
//!
//! ```no_run
//! use bantam_source::{Checkpoint, FileSource, StartAt};
//!
//! # async fn run(stored: Vec<Checkpoint>) -> Result<(), bantam_source::SourceError> {
//! // At start: the checkpoints stored by the previous run (all of them;
//! // those for other paths are ignored).
//! let mut source = FileSource::new("/var/log/nginx/*.log", StartAt::End, &stored)?;
//! loop {
//!     let batch = source.next_batch().await?; // sleeps in epoll while idle
//!     for line in batch.lines() {
//!         // filter the line ...
//! #       let _ = line;
//!     }
//!     // Only after the lines are processed: store where to resume.
//!     if let Some(checkpoint) = &batch.checkpoint {
//!         // upsert `checkpoint` keyed by `checkpoint.path` ...
//! #       let _ = checkpoint;
//!     }
//! }
//! # }
//! ```
//!
//! `next_batch` is cancel-safe, so it can sit in a `select!` with the
//! daemon's shutdown signal; on shutdown, [`FileSource::checkpoints`] gives
//! the same positions the last batches carried. Errors name the file and
//! leave the source usable.
//!
//! A batch may also report over-long lines it dropped
//! ([`Batch::dropped_long`], with the first bytes of the first one in
//! [`Batch::dropped_sample`]); such a batch can hold no line at all, and
//! its checkpoint then moves past the dropped line.
//!
//! A glob follows files created later, but never a rotated copy of a
//! followed file under its own name (`/var/log/app/*` does not follow
//! `app.log.1` or `app.log.2.gz` as files of their own), which would read
//! every rotated line twice.
//!
//! # Why
//!
//! fail2ban polls its files, loses or repeats lines around logrotate, and
//! forgets where it was when restarted. Each of those has a structural
//! cause, and the design below removes the cause rather than the symptom.
//!
//! # Design
//!
//! The file source is split the way vector's file source is, into parts
//! that each answer one question:
//!
//! * **watcher** (`watcher.rs`): *when* to look. inotify on the directory
//!   (`IN_CREATE`, `IN_MOVED_TO`, `IN_MOVED_FROM`, `IN_DELETE`, `IN_MODIFY`,
//!   `IN_CLOSE_WRITE`) plus a watch on each open file's inode, added through
//!   `/proc/self/fd/N` so it is the inode we hold and keeps reporting after
//!   the file is renamed or unlinked. Events are only hints ("look at
//!   `auth.log`"); `IN_Q_OVERFLOW` means "look at everything".
//! * **fingerprinter** (`fingerprint.rs`): *which* file this is. Device and
//!   inode identify a file while it exists; a hash of its first line tells a
//!   file from a later one that got the recycled inode number, and tells a
//!   file from its own truncated-and-rewritten self.
//! * **checkpointer** (`checkpoint.rs`, `siblings.rs`): *where* to start. A
//!   checkpoint is (path, dev, inode, offset, first-line hash). At start, a
//!   file at the path with that inode and first line resumes at the offset;
//!   otherwise the file was rotated while we were down, and the sibling
//!   (`auth.log.1`, `auth.log-20240101`) with that inode or first line is
//!   read from the offset to its end before the file now at the path is
//!   read from its beginning.
//! * **lineage** (`lineage.rs`): *what* a rotation did. Each followed path
//!   owns a queue of generations, oldest first, only the front being read.
//!   Looking (`stat` of the path, `fstat` of our descriptor, first line)
//!   after each event decides: a new file at the path is queued; a front
//!   that shrank or whose first line changed was truncated, and the rest of
//!   its lines is read from the copy; a front is let go, after one last
//!   read, only when its successor has data or its writer closed it after
//!   the rotation. The per-kind walk-through is below.
//! * **reader** (`reader.rs`, `batch.rs`): reading. `pread` at our own
//!   offset into a buffer; only complete lines leave it, and only they (or
//!   a whole dropped over-long line) advance the offset, so a checkpoint is
//!   always at a line boundary.
//!
//! # Rotation, kind by kind
//!
//! * **rename + create** (logrotate's default): `auth.log` becomes
//!   `auth.log.1`, an empty `auth.log` appears, the service is told to
//!   reopen. We keep the old descriptor and read on through it, because the
//!   service writes there until it reopens; the new file is queued behind
//!   it. When the new file gets its first byte (or the service closes the
//!   old one), the old one is read to its end one last time and closed, and
//!   the new one is read from offset 0. The size check comes before that
//!   last read, so anything written to the old file before the first write
//!   to the new one is read.
//! * **copytruncate**: the file is copied to `auth.log.1` and truncated in
//!   place. We see the file shorter than our offset (or, if it already grew
//!   past it again, a different first line). The lines written between our
//!   last read and the truncation are in the copy, which has the old first
//!   line: it is read from our old offset to its end, then the truncated
//!   file from 0. (Lines written between logrotate's copy and its truncate
//!   are lost by copytruncate itself, for any reader; logrotate documents
//!   this.)
//! * **delete + recreate**: the unlinked file stays readable through our
//!   descriptor; it is drained like a renamed one, then the new file is
//!   read from 0.
//! * **partial lines**: bytes after the last `'\n'` are held back until the
//!   line is complete. A rotated file's unterminated last line is emitted
//!   once, as a line, when the file is let go: nothing can complete it.
//! * **while we were down**: see the checkpointer above. One rotation while
//!   down (of any kind except delete, whose lines are gone) is recovered
//!   exactly.
//!
//! # No polling, no timers
//!
//! While logs are idle the task sleeps in `epoll_wait` on the inotify
//! descriptor (or the pipe), and nothing else can wake it: the crate never
//! creates a tokio timer (its tokio dependency does not even enable the
//! `time` feature) and never rescans on a schedule. A missing directory is
//! waited for the same way: an inotify watch on its nearest existing
//! ancestor, walking down as the path gets created. The tests check this by
//! counting the runtime thread's context switches across an idle wait.
//!
//! # Limits
//!
//! * Wildcards only in the file name, not in directories.
//! * Two rotations of one file between two looks of ours (in practice: two
//!   logrotate runs while bantam is down) lose the middle generation; only
//!   the checkpointed one and the current one are read.
//! * A rotated file moved to another directory (logrotate's `olddir`) is
//!   still read to its end if we held it open, but is not found at start
//!   after downtime, nor as a copytruncate copy.
//! * Generations whose first lines are identical (a fixed banner as first
//!   line) cannot be told apart by the fingerprint; a copytruncate followed
//!   by enough writes to pass our offset before we look is then missed.
//! * A deleted file lives only in our descriptor. Lines it still held when
//!   the source stops (crash or shutdown) are gone for any reader; so are
//!   the lines of a file deleted while bantam is down.
//! * copytruncate's own window (lines written between logrotate's copy and
//!   its truncate) is lost for any reader; if logrotate compresses the copy
//!   at once (`compress` without `delaycompress`) before we look, the lines
//!   between our last read and the truncation are lost too.
//! * A lineage's next generation is read only after the current one is let
//!   go, so several services writing one file, and switching to the new
//!   file at different times, are only exact for the first to switch.
//! * A removed or moved directory is reported once by `next_batch`; files
//!   we hold are read to their end, and a new directory of that name is
//!   waited for and followed. But the kernel reports a removal only once
//!   nothing holds the directory, and an unlinked file in it that we still
//!   read (its writer has not closed it) holds it: until we let that file
//!   go, the removal, and a new directory of that name, go unseen.
//! * Lines longer than [`MAX_LINE_BYTES`] are dropped whole (and counted),
//!   never handed out, not even in part: a filter never sees them.

mod batch;
mod checkpoint;
mod child;
mod cmd;
mod error;
mod export;
mod fifo;
mod file_source;
mod fingerprint;
mod journal;
pub mod journal_tail;
mod lineage;
mod pattern;
mod reader;
mod siblings;
mod source;
mod stamp;
mod stdin;
mod syslog;
mod syslog_parse;
mod syslog_tcp;
pub mod tail;
mod watcher;
mod words;

pub use batch::{Batch, LineMeta, Lines, DROPPED_SAMPLE_BYTES, MAX_LINE_BYTES};
pub use checkpoint::{Checkpoint, StartAt};
pub use cmd::{CmdSource, CMD_SCHEME};
pub use error::SourceError;
pub use fifo::FifoSource;
pub use file_source::FileSource;
pub use journal::{parse_journal_matches, JournalSource, JOURNAL_SCHEME};
pub use source::{has_scheme, open, open_with, NextBatch, OpenOptions, Source, SourceState};
pub use stdin::{ReaderSource, StdinSource};
pub use syslog::{
    SyslogAddr, SyslogSource, BATCH_MESSAGES, MAX_CONNECTIONS, SYSLOG_TCP_SCHEME,
    SYSLOG_UDP_SCHEME, SYSLOG_UNIX_SCHEME,
};
pub use words::split_words;
