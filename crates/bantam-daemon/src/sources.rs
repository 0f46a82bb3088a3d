//! The daemon's log sources: one reader per `logpath`, whatever the number
//! of jails that name it, each supervised so that it never dies silently.
//!
//! # One reader, every jail
//!
//! A pipe or standard input hands each line to one reader only: two jails
//! reading one FIFO each would see half the lines. So sources are keyed by
//! the `logpath` text, and a batch is given to every jail that names it.
//! (Files could be read twice, but once is cheaper, and one position per
//! path is what the store keeps.)
//!
//! # Never silent
//!
//! A source task retries what failed (an open, a read, a watch at EMFILE
//! during a rotation) with back-off, 100 ms doubling to 30 s, and reports
//! each change of state to the loop, which shows it in `status`: following,
//! waiting for its file, or failing with the reason. The back-off timer runs
//! only while a source is failing. It starts over only after a quiet
//! minute without failures: a command (`cmd:`) that prints a line and
//! exits at once is restarted ever more slowly, not ten times a second.
//!
//! # Journal matches
//!
//! A jail's `journal:` logpaths are alternatives (OR, as journalctl reads
//! several matches): they are joined with `+` into one logpath, one
//! journalctl, so an entry matching two of them reaches the jail once.
//!
//! # Few batches in flight
//!
//! Lines, control requests and everything else reach the loop through one
//! queue, in order. A reader that could fill that queue (1,024 events of up
//! to 256 KiB: a quarter of a gigabyte of one burst's lines) would put a
//! `status` or an `unban` behind all of them: a million-line burst kept
//! `status` waiting past 30 s. So every reader takes a slot before it sends
//! a batch, and the slot is given back when the loop has handled it:
//! [`LINE_SLOTS`] batches wait at most, a request waits a few turns, and the
//! memory held by lines read ahead is bounded whatever the burst. The
//! readers share the slots first come, first served, so a flooded log does
//! not starve a quiet one for more than those turns.
//!
//! # Reloads
//!
//! A reload keeps the readers of every `logpath` that stays (a pipe's
//! unread lines, a file's position, all kept), starts readers for new ones
//! and stops the readers of those gone. Each reader has an id; batches from
//! a reader that was stopped are recognised by it and dropped.

use std::collections::HashMap;
use std::time::Duration;

use bantam_source::{Batch, Checkpoint, OpenOptions, Source, SourceState};
use std::sync::Arc;

use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use crate::daemon::Event;
use crate::error::chain;

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const LAST_BACKOFF: Duration = Duration::from_secs(30);
/// A source this long without failing starts its back-off over.
const BACKOFF_RESET: Duration = Duration::from_secs(60);
/// Batches of lines read ahead of the loop, all readers together: enough
/// that a reader is never the bottleneck (it reads the next batch while the
/// loop judges this one), few enough that a request is answered within a
/// few turns of the loop.
pub(crate) const LINE_SLOTS: usize = 4;

/// A batch's place among the [`LINE_SLOTS`]: given back when dropped.
pub(crate) type LineSlot = OwnedSemaphorePermit;

/// The slots the readers share.
#[derive(Clone)]
struct LineSlots(Arc<Semaphore>);

impl Default for LineSlots {
    fn default() -> Self {
        LineSlots(Arc::new(Semaphore::new(LINE_SLOTS)))
    }
}

/// What a source is doing, as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SourceHealth {
    Starting,
    Following,
    Waiting(String),
    Failed(String),
    Ended,
}

impl std::fmt::Display for SourceHealth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceHealth::Starting => f.write_str("starting"),
            SourceHealth::Following => f.write_str("following"),
            SourceHealth::Waiting(why) => write!(f, "waiting: {why}"),
            SourceHealth::Failed(why) => write!(f, "failed: {why} (retrying)"),
            SourceHealth::Ended => f.write_str("ended"),
        }
    }
}

/// One reader and the jails it feeds.
pub(crate) struct Reader {
    pub id: u64,
    /// Indices into the daemon's jails.
    pub jails: Vec<usize>,
    pub health: SourceHealth,
    task: JoinHandle<()>,
}

/// Every reader, by `logpath`.
#[derive(Default)]
pub(crate) struct Readers {
    by_path: HashMap<String, Reader>,
    next_id: u64,
    /// How sources are opened (`[daemon] journal-dir`).
    pub options: OpenOptions,
    slots: LineSlots,
}

impl Readers {
    /// Makes the readers match `wanted` (logpath → jails): keeps those that
    /// stay (with their new jail lists), starts new ones, stops the rest.
    pub fn assign(
        &mut self,
        wanted: Vec<(String, Vec<usize>)>,
        checkpoints: &[Checkpoint],
        events: &mpsc::Sender<Event>,
    ) {
        let mut old = std::mem::take(&mut self.by_path);
        for (path, jails) in wanted {
            let reader = match old.remove(&path) {
                Some(mut reader) => {
                    reader.jails = jails;
                    reader
                }
                None => self.start(&path, jails, checkpoints, events),
            };
            self.by_path.insert(path, reader);
        }
        for gone in old.into_values() {
            gone.task.abort();
        }
    }

    fn start(
        &mut self,
        path: &str,
        jails: Vec<usize>,
        checkpoints: &[Checkpoint],
        events: &mpsc::Sender<Event>,
    ) -> Reader {
        self.next_id += 1;
        let id = self.next_id;
        let task = tokio::spawn(supervise(
            path.to_owned(),
            checkpoints.to_vec(),
            self.options.clone(),
            id,
            Sink {
                events: events.clone(),
                slots: self.slots.clone(),
            },
        ));
        Reader {
            id,
            jails,
            health: SourceHealth::Starting,
            task,
        }
    }

    /// The reader with this id, if it is still wanted.
    pub fn by_id(&mut self, id: u64) -> Option<(&str, &mut Reader)> {
        self.by_path
            .iter_mut()
            .find(|(_, r)| r.id == id)
            .map(|(p, r)| (p.as_str(), r))
    }

    /// The reader of a jail's logpath; a `journal:` one may be read as part
    /// of a joined logpath (see "Journal matches").
    pub fn get(&self, path: &str) -> Option<&Reader> {
        if let Some(reader) = self.by_path.get(path) {
            return Some(reader);
        }
        let spec = path.strip_prefix(bantam_source::JOURNAL_SCHEME)?;
        self.by_path.iter().find_map(|(key, reader)| {
            let joined = key.strip_prefix(bantam_source::JOURNAL_SCHEME)?;
            joined
                .split(" + ")
                .any(|part| part == spec)
                .then_some(reader)
        })
    }

    pub fn stop_all(&mut self) {
        for (_, reader) in self.by_path.drain() {
            reader.task.abort();
        }
    }
}

/// The logpaths of `jails`, each with the indices of the jails naming it.
pub(crate) fn wanted<'a>(
    logpaths: impl Iterator<Item = (usize, &'a [String])>,
) -> Vec<(String, Vec<usize>)> {
    let mut order: Vec<(String, Vec<usize>)> = Vec::new();
    for (jail, paths) in logpaths {
        for path in &journal_joined(paths) {
            match order.iter_mut().find(|(p, _)| p == path) {
                Some((_, jails)) if !jails.contains(&jail) => jails.push(jail),
                Some(_) => {}
                None => order.push((path.clone(), vec![jail])),
            }
        }
    }
    order
}

/// One jail's logpaths with its `journal:` ones joined into one, where the
/// first of them stood.
fn journal_joined(paths: &[String]) -> Vec<String> {
    let journal: Vec<&str> = paths
        .iter()
        .filter_map(|p| p.strip_prefix(bantam_source::JOURNAL_SCHEME))
        .collect();
    if journal.len() < 2 {
        return paths.to_vec();
    }
    let joined = format!("{}{}", bantam_source::JOURNAL_SCHEME, journal.join(" + "));
    let mut out = Vec::new();
    for path in paths {
        match path.starts_with(bantam_source::JOURNAL_SCHEME) {
            false => out.push(path.clone()),
            true if !out.contains(&joined) => out.push(joined.clone()),
            true => {}
        }
    }
    out
}

/// Opens `path` and forwards its batches until the loop goes away, retrying
/// every failure with back-off and reporting each change of health.
async fn supervise(
    path: String,
    checkpoints: Vec<Checkpoint>,
    options: OpenOptions,
    id: u64,
    sink: Sink,
) {
    let events = &sink.events;
    let mut backoff = FIRST_BACKOFF;
    let mut last_failure = tokio::time::Instant::now();
    let mut source = loop {
        match bantam_source::open_with(&path, &checkpoints, &options) {
            Ok(source) => break source,
            Err(e) => {
                if !report(events, id, SourceHealth::Failed(chain(&e))).await {
                    return;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(LAST_BACKOFF);
            }
        }
    };
    let mut health = health_of(source.as_ref());
    if !report(events, id, health.clone()).await {
        return;
    }
    loop {
        let next = source.next_batch().await;
        let now = match &next {
            Ok(Some(_)) => health_of(source.as_ref()),
            Ok(None) => SourceHealth::Ended,
            Err(e) => SourceHealth::Failed(chain(e)),
        };
        if now != health {
            health = now.clone();
            if !report(events, id, now).await {
                return;
            }
        }
        match next {
            Ok(Some(batch)) => {
                if last_failure.elapsed() >= BACKOFF_RESET {
                    backoff = FIRST_BACKOFF;
                }
                if !sink.send_lines(id, batch).await {
                    return;
                }
            }
            Ok(None) => return,
            Err(_) => {
                last_failure = tokio::time::Instant::now();
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(LAST_BACKOFF);
            }
        }
    }
}

fn health_of(source: &dyn Source) -> SourceHealth {
    match source.state() {
        SourceState::Following => SourceHealth::Following,
        SourceState::Waiting { reason } => SourceHealth::Waiting(reason),
        SourceState::Ended => SourceHealth::Ended,
    }
}

async fn report(events: &mpsc::Sender<Event>, source: u64, health: SourceHealth) -> bool {
    events
        .send(Event::SourceHealth { source, health })
        .await
        .is_ok()
}

/// Where a reader sends: the loop's queue, through the line slots.
struct Sink {
    events: mpsc::Sender<Event>,
    slots: LineSlots,
}

impl Sink {
    /// Waits for a free slot, then queues the batch with it; false once the
    /// loop is gone.
    async fn send_lines(&self, source: u64, batch: Batch) -> bool {
        let Ok(slot) = self.slots.0.clone().acquire_owned().await else {
            return false;
        };
        let lines = Event::Lines {
            source,
            batch,
            slot,
        };
        self.events.send(lines).await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A reader flooded with lines queues [`LINE_SLOTS`] batches and waits;
    /// a batch handled (its slot dropped) lets the next one in.
    #[tokio::test]
    async fn a_burst_takes_only_the_line_slots() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("auth.log");
        std::fs::write(&log, "").unwrap();
        let (events, mut inbox) = mpsc::channel(1024);
        let mut readers = Readers::default();
        let path = log.display().to_string();
        readers.assign(vec![(path, vec![0])], &[], &events);
        let line = "Dec  3 10:00:00 host sshd[1]: Invalid user x from 192.0.2.1 port 22\n";
        let burst = line.repeat(64 << 20 >> 7); // 32 MiB: far more than the slots hold
        std::fs::OpenOptions::new()
            .append(true)
            .open(&log)
            .unwrap()
            .write_all(burst.as_bytes())
            .unwrap();
        let mut held = Vec::new();
        while held.len() < LINE_SLOTS {
            if let Event::Lines { slot, .. } = next(&mut inbox).await.expect("a batch") {
                held.push(slot);
            }
        }
        let more = tokio::time::timeout(Duration::from_millis(300), lines(&mut inbox)).await;
        assert!(more.is_err(), "a batch beyond the slots was queued");
        held.pop();
        lines(&mut inbox).await;
    }

    async fn next(inbox: &mut mpsc::Receiver<Event>) -> Option<Event> {
        tokio::time::timeout(Duration::from_secs(10), inbox.recv())
            .await
            .ok()
            .flatten()
    }

    /// The next batch of lines, skipping health reports (and keeping its
    /// slot until it is dropped here).
    async fn lines(inbox: &mut mpsc::Receiver<Event>) {
        loop {
            if let Some(Event::Lines { .. }) = inbox.recv().await {
                return;
            }
        }
    }

    #[test]
    fn a_logpath_named_by_two_jails_is_one_reader_for_both() {
        let a = vec!["/var/log/auth.log".to_owned(), "-".to_owned()];
        let b = vec!["-".to_owned()];
        let got = wanted([(0, a.as_slice()), (1, b.as_slice())].into_iter());
        assert_eq!(
            got,
            [
                ("/var/log/auth.log".to_owned(), vec![0]),
                ("-".to_owned(), vec![0, 1])
            ]
        );
    }

    #[test]
    fn a_jails_journal_matches_are_one_reader() {
        let a = vec![
            "journal:_SYSTEMD_UNIT=ssh.service".to_owned(),
            "/var/log/auth.log".to_owned(),
            "journal:SYSLOG_IDENTIFIER=sshd".to_owned(),
        ];
        let b = vec!["journal:SYSLOG_IDENTIFIER=sshd".to_owned()];
        let got = wanted([(0, a.as_slice()), (1, b.as_slice())].into_iter());
        assert_eq!(
            got,
            [
                (
                    "journal:_SYSTEMD_UNIT=ssh.service + SYSLOG_IDENTIFIER=sshd".to_owned(),
                    vec![0]
                ),
                ("/var/log/auth.log".to_owned(), vec![0]),
                ("journal:SYSLOG_IDENTIFIER=sshd".to_owned(), vec![1]),
            ]
        );
    }
}
