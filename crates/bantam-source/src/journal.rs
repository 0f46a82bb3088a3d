//! [`JournalSource`]: entries of the systemd journal that match
//! `journal:FIELD=VALUE [FIELD=VALUE…] [+ FIELD=VALUE…]`.
//!
//! # Why `journalctl`, not libsystemd
//!
//! The source runs `journalctl -o export --follow --merge --lines=all
//! [--directory=DIR] (--after-cursor=C | --since=-1d) MATCHES` and parses
//! its output (`export.rs`). Measured against what an in-process reader
//! would give (bench/journal-source.sh): journalctl exports well over
//! 100,000 entries a second, far beyond what any host logs, and it blocks
//! in `epoll` on its inotify watch while the journal is idle (0 wake-ups
//! in 20 s, checked by the tests). Against that, linking libsystemd would
//! add a C library to a binary that has none, tie it to the host's
//! libsystemd version, and put journal-file corruption handling (mmap of
//! files being vacuumed under us: SIGBUS) inside the daemon. journalctl is
//! on every systemd host and crashes alone. Rotation, vacuuming and new
//! files are journalctl's business: it follows them itself.
//!
//! # Matches
//!
//! Words `FIELD=VALUE` are AND-ed when their fields differ and OR-ed when
//! one field repeats; a `+` word starts an alternative, all as journalctl
//! does. Several `journal:` logpaths of one jail are joined with `+` by the
//! daemon into one reader, so an entry matching two of them is read once.
//!
//! # Resuming
//!
//! A journal cursor (`s=SEQNUM_ID;i=SEQNUM;b=…;m=…;t=REALTIME;x=…`) is
//! stored as a [`Checkpoint`] whose `path` is the logpath and whose
//! numbers carry the parts journalctl needs to seek: `dev`/`inode` the
//! 128-bit sequence-number id, `offset` the sequence number, `fingerprint`
//! the realtime stamp. `--after-cursor=s=…;i=…;t=…` seeks by sequence
//! number in files of that id, and by time in the others (a vacuumed
//! journal, another machine's files), and skips the entry the cursor names:
//! no entry is read twice, none skipped. Without a cursor, the last day is
//! read (failures older than `findtime` do not count anyway).
//!
//! # Lines
//!
//! Each entry becomes a line as a syslog daemon writes it,
//! `2026-11-25T07:21:09.625500+00:00 HOST IDENT[PID]: MESSAGE` (time from
//! `__REALTIME_TIMESTAMP`, newlines in the message turned into spaces so a
//! message can never forge a second line), so every existing filter reads
//! it unchanged; the entry's fields and time come with it as [`LineMeta`].
//! When journalctl exits, `next_batch` reports it; the next call (after
//! the daemon's back-off) starts it again from the last cursor.
//!
//! The backlog (since the cursor, or the last day) is read first by a
//! journalctl without `--follow`, which writes in large blocks; a
//! following journalctl flushes every entry, which would make every entry
//! a batch of its own (measured: 4x slower on a 150,000-entry backlog).
//! When the first one ends, a following one starts from the last cursor.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;

use crate::batch::{Batch, LineMeta, Taken};
use crate::checkpoint::Checkpoint;
use crate::child::{describe, Child};
use crate::error::SourceError;
use crate::export::{Entry, ExportParser};
use crate::source::{NextBatch, Source, SourceState};

const CHUNK: usize = 64 * 1024;
/// Entries per batch at most, when a backlog is read.
const BATCH_ENTRIES: usize = 4096;
/// Where to start without a cursor.
const FIRST_START: &str = "--since=-1d";

/// The scheme prefix.
pub const JOURNAL_SCHEME: &str = "journal:";

/// Follows the journal entries matching one `journal:` logpath.
pub struct JournalSource {
    name: String,
    path: Arc<Path>,
    matches: Vec<String>,
    directory: Option<PathBuf>,
    journalctl: PathBuf,
    /// The cursor of the last entry taken in (handed out or skipped).
    cursor: Option<String>,
    running: Option<(Child, pipe::Receiver)>,
    parser: ExportParser,
    buf: Vec<u8>,
    chunk: Box<[u8]>,
    entries: Vec<Entry>,
    pending: Taken,
    /// Why journalctl is not running, after it ended.
    stopped: Option<String>,
    /// Its end was not reported by `next_batch` yet.
    unreported: bool,
    /// Reading the backlog with a journalctl that does not follow: it
    /// writes in large blocks, where a following one flushes every entry
    /// (a batch, and a stored position, per entry). Once it ends, a
    /// following one goes on from the last cursor.
    catching_up: bool,
}

/// The match words of a `journal:` logpath, checked; `Err` says what is
/// wrong with which word.
pub fn parse_journal_matches(spec: &str) -> Result<Vec<String>, String> {
    let words: Vec<&str> = spec.split_whitespace().collect();
    if words.is_empty() {
        return Err(
            "no match given (journal:FIELD=VALUE, e.g. journal:_SYSTEMD_UNIT=ssh.service)".into(),
        );
    }
    let mut after_match = false;
    for word in &words {
        if *word == "+" {
            if !after_match {
                return Err("\"+\" must stand between matches".into());
            }
            after_match = false;
            continue;
        }
        let Some((field, _)) = word.split_once('=') else {
            return Err(format!("{word:?} is not FIELD=VALUE"));
        };
        let valid = !field.is_empty()
            && !field.starts_with(|c: char| c.is_ascii_digit())
            && field
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(format!(
                "{field:?} is not a journal field name (upper-case letters, digits, '_')"
            ));
        }
        after_match = true;
    }
    if !after_match {
        return Err("\"+\" must stand between matches".into());
    }
    Ok(words.into_iter().map(str::to_owned).collect())
}

impl JournalSource {
    /// Follows `logpath` (`journal:…`) in the system journal, or in the
    /// journal files of `directory`, from its checkpoint in `checkpoints`
    /// if there is one. Starts nothing yet: journalctl is started by
    /// `next_batch`, on the runtime.
    pub fn new(
        logpath: &str,
        directory: Option<&Path>,
        checkpoints: &[Checkpoint],
    ) -> Result<JournalSource, SourceError> {
        let spec = logpath.strip_prefix(JOURNAL_SCHEME).unwrap_or(logpath);
        let matches = parse_journal_matches(spec).map_err(|reason| SourceError::Scheme {
            logpath: logpath.to_owned(),
            reason,
        })?;
        let cursor = checkpoints
            .iter()
            .find(|c| c.path.as_os_str() == logpath)
            .map(cursor_of);
        Ok(JournalSource {
            name: logpath.to_owned(),
            path: Arc::from(Path::new(logpath)),
            matches,
            directory: directory.map(Path::to_path_buf),
            journalctl: PathBuf::from("journalctl"),
            cursor,
            running: None,
            parser: ExportParser::default(),
            buf: Vec::new(),
            chunk: vec![0; CHUNK].into_boxed_slice(),
            entries: Vec::new(),
            pending: Taken::default(),
            stopped: None,
            unreported: false,
            catching_up: true,
        })
    }

    /// The journalctl command line for the next start.
    fn argv(&self) -> Vec<String> {
        let mut argv = vec![
            self.journalctl.to_string_lossy().into_owned(),
            "--output=export".into(),
            // Without it, --follow shows the current boot only: entries
            // of the previous boot after our cursor would be skipped.
            "--merge".into(),
            "--lines=all".into(),
            "--no-pager".into(),
            "--quiet".into(),
        ];
        if !self.catching_up {
            argv.push("--follow".into());
        }
        if let Some(dir) = &self.directory {
            argv.push(format!("--directory={}", dir.display()));
        }
        argv.push(match &self.cursor {
            Some(cursor) => format!("--after-cursor={cursor}"),
            None => FIRST_START.into(),
        });
        argv.extend(self.matches.iter().cloned());
        argv
    }

    /// The next entries as lines. Starts journalctl when it is not
    /// running; reports its end as an error (the next call starts it again
    /// from the last cursor). Cancel-safe: what was read is kept.
    pub async fn next_batch(&mut self) -> Result<Batch, SourceError> {
        if self.unreported {
            // Its end comes after its last lines, as an error: the caller
            // backs off before calling again.
            return self.next_batch_error();
        }
        loop {
            if !self.pending.is_empty() {
                return Ok(self.take_batch());
            }
            if self.running.is_none() {
                let (child, pipe) = Child::spawn(&self.argv(), false)
                    .map_err(|e| self.io_error("start journalctl for", e))?;
                self.parser = ExportParser::default();
                self.buf.clear();
                self.running = Some((child, pipe));
                self.stopped = None;
            }
            let Some((child, pipe)) = &mut self.running else {
                unreachable!("started above")
            };
            let n = match pipe.read(&mut self.chunk).await {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_error("read journalctl output for", e)),
            };
            if n == 0 {
                let status = child.finish();
                self.running = None;
                let status = status.map_err(|e| self.io_error("wait for journalctl of", e))?;
                if self.catching_up && status.success() {
                    // The backlog is read: follow from its last entry.
                    self.catching_up = false;
                    continue;
                }
                self.stopped = Some(format!("journalctl {}", describe(status)));
                self.unreported = true;
                return match self.pending.is_empty() {
                    true => self.next_batch_error(),
                    false => Ok(self.take_batch()),
                };
            }
            self.take_bytes(n);
            self.drain_ready();
        }
    }

    /// Parses `n` bytes just read into `chunk`.
    fn take_bytes(&mut self, n: usize) {
        self.buf.extend_from_slice(&self.chunk[..n]);
        self.parser.feed(&mut self.buf, &mut self.entries);
        for entry in std::mem::take(&mut self.entries) {
            self.take_in(&entry);
        }
    }

    /// Following, journalctl flushes after every entry: without this, a
    /// backlog would come one entry per batch (and per stored position).
    /// Takes what is already in the pipe, without waiting, up to
    /// [`BATCH_ENTRIES`]; the end of the pipe is left for the next read.
    fn drain_ready(&mut self) {
        while self.pending.meta.len() < BATCH_ENTRIES {
            let Some((_, pipe)) = &mut self.running else {
                return;
            };
            match pipe.try_read(&mut self.chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => self.take_bytes(n),
            }
        }
    }

    fn next_batch_error(&mut self) -> Result<Batch, SourceError> {
        self.unreported = false;
        let why = self.stopped.clone().unwrap_or_default();
        Err(self.io_error("follow", std::io::Error::other(why)))
    }

    fn take_in(&mut self, entry: &Entry) {
        if let Some(cursor) = entry.text("__CURSOR") {
            self.cursor = Some(cursor.to_owned());
        }
        if entry.lost_message {
            let sample = format!("journal entry {}", entry.text("__CURSOR").unwrap_or("?"));
            self.pending.drop_line(sample.into_bytes());
            return;
        }
        if let Some((line, meta)) = line_of(entry) {
            self.pending.push_line(&line, meta);
        }
    }

    fn take_batch(&mut self) -> Batch {
        let checkpoint = self
            .cursor
            .as_deref()
            .and_then(|c| checkpoint_of(&self.path, c));
        Batch::new(
            self.path.clone(),
            std::mem::take(&mut self.pending),
            checkpoint,
        )
    }

    fn io_error(&self, action: &'static str, e: std::io::Error) -> SourceError {
        SourceError::io(&*self.path, action, e)
    }
}

/// The line and metadata of one entry; `None` for an entry without a
/// message.
fn line_of(entry: &Entry) -> Option<(Vec<u8>, LineMeta)> {
    let message = entry.get("MESSAGE")?;
    let realtime_us = entry
        .text("__REALTIME_TIMESTAMP")
        .and_then(|t| t.parse::<u64>().ok());
    let stamp = crate::stamp::rfc3339_utc(realtime_us.unwrap_or_else(crate::stamp::now_us));
    let host = entry.text("_HOSTNAME").unwrap_or("localhost");
    let ident = entry
        .text("SYSLOG_IDENTIFIER")
        .or_else(|| entry.text("_COMM"))
        .unwrap_or("unknown");
    let pid = entry.text("SYSLOG_PID").or_else(|| entry.text("_PID"));
    let mut line = match pid {
        Some(pid) => format!("{stamp} {host} {ident}[{pid}]: "),
        None => format!("{stamp} {host} {ident}: "),
    }
    .into_bytes();
    line.extend(
        message
            .iter()
            .map(|&b| if b == b'\n' || b == b'\r' { b' ' } else { b }),
    );
    let fields = entry
        .fields
        .iter()
        .filter(|(k, _)| !matches!(&**k, "MESSAGE" | "__CURSOR" | "__MONOTONIC_TIMESTAMP"))
        .filter(|(k, _)| &**k != "__REALTIME_TIMESTAMP")
        .filter_map(|(k, v)| Some((k.clone(), std::str::from_utf8(v).ok()?.into())))
        .collect();
    Some((
        line,
        LineMeta {
            realtime_us,
            fields,
        },
    ))
}

/// The parts of `cursor` (`s=…;i=…;t=…`) journalctl seeks by, as a
/// checkpoint of `path`; `None` if it lacks them.
pub(crate) fn checkpoint_of(path: &Path, cursor: &str) -> Option<Checkpoint> {
    let part = |key: &str| {
        cursor
            .split(';')
            .find_map(|p| p.strip_prefix(key)?.strip_prefix('='))
    };
    let id = u128::from_str_radix(part("s")?, 16).ok()?;
    let seqnum = u64::from_str_radix(part("i")?, 16).ok()?;
    let realtime = u64::from_str_radix(part("t")?, 16).ok()?;
    Some(Checkpoint {
        path: path.to_path_buf(),
        dev: (id >> 64) as u64,
        inode: id as u64,
        offset: seqnum,
        fingerprint: realtime,
    })
}

/// The cursor a checkpoint made by [`checkpoint_of`] stands for.
pub(crate) fn cursor_of(cp: &Checkpoint) -> String {
    format!(
        "s={:016x}{:016x};i={:x};t={:x}",
        cp.dev, cp.inode, cp.offset, cp.fingerprint
    )
}

impl Source for JournalSource {
    fn next_batch(&mut self) -> NextBatch<'_> {
        Box::pin(async move { JournalSource::next_batch(self).await.map(Some) })
    }

    fn state(&self) -> SourceState {
        match &self.stopped {
            Some(why) => SourceState::Waiting {
                reason: format!("{why}; restarting it"),
            },
            None => SourceState::Following,
        }
    }

    fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
