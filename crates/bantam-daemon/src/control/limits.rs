//! What keeps the control server within bounds: how many connections it
//! holds ([`Slots`]) and how it waits out accept errors ([`Backoff`]).
//!
//! At the cap, a new connection takes the place of the oldest one that has
//! not sent its request yet: a real client writes its request as soon as it
//! connects, so the oldest silent connection is the least likely to be one,
//! and an administrator's `bantam status` gets through even while hundreds
//! of idle connections pile up. Only when every slot is busy answering a
//! request is the newcomer refused, at once, with a line saying why:
//! leaving it in the listen backlog instead would hang a CLI in `connect`
//! with no word of what is wrong.

use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::log;

/// The connections held, shared by the accept loop and the connections.
#[derive(Clone)]
pub(crate) struct Slots {
    max: usize,
    inner: Arc<Mutex<Registry>>,
}

#[derive(Default)]
struct Registry {
    live: usize,
    next_id: u64,
    /// Connections still waiting for their request, oldest first, with the
    /// way to tell each it has been evicted.
    waiting: BTreeMap<u64, oneshot::Sender<()>>,
}

/// One connection's place; freed when dropped.
pub(crate) struct Slot {
    id: u64,
    busy: bool,
    inner: Arc<Mutex<Registry>>,
}

impl Slots {
    pub(crate) fn new(max: usize) -> Slots {
        Slots {
            max: max.max(1),
            inner: Arc::default(),
        }
    }

    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// A place for a new connection, evicting the oldest idle one at the
    /// cap; `None` when every place is busy. The receiver fires if this
    /// connection is evicted in turn.
    pub(crate) fn admit(&self) -> Option<(Slot, oneshot::Receiver<()>)> {
        let mut registry = lock(&self.inner);
        if registry.live >= self.max {
            let (_, evict) = registry.waiting.pop_first()?;
            // Its place is ours from now on, whenever its task notices.
            let _ = evict.send(());
            registry.live -= 1;
        }
        registry.live += 1;
        let id = registry.next_id;
        registry.next_id += 1;
        let (evict, evicted) = oneshot::channel();
        registry.waiting.insert(id, evict);
        let slot = Slot {
            id,
            busy: false,
            inner: self.inner.clone(),
        };
        Some((slot, evicted))
    }

    /// Connections held now.
    #[cfg(test)]
    pub(crate) fn live(&self) -> usize {
        lock(&self.inner).live
    }
}

impl Slot {
    /// The request has arrived: from now on this connection cannot be
    /// evicted. False if it was evicted first.
    pub(crate) fn start(&mut self) -> bool {
        self.busy = lock(&self.inner).waiting.remove(&self.id).is_some();
        self.busy
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut registry = lock(&self.inner);
        // An evicted slot was already given up by the one who evicted it.
        if self.busy || registry.waiting.remove(&self.id).is_some() {
            registry.live -= 1;
        }
    }
}

fn lock(inner: &Mutex<Registry>) -> MutexGuard<'_, Registry> {
    // The registry is consistent after every statement: a panic elsewhere
    // leaves nothing half done.
    inner.lock().unwrap_or_else(|e| e.into_inner())
}

/// Exponential back-off for accept errors that persist (no file
/// descriptors left: the pending connection stays queued, so retrying at
/// once would spin a core). Logged once per episode: an episode lasts until
/// [`Backoff::QUIET`] passes without a failure, so a daemon that hovers at
/// its limit (each freed descriptor taken again at once) does not log
/// every time one frees.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    episode: Option<Episode>,
}

#[derive(Debug)]
struct Episode {
    failures: u64,
    last_failure: Instant,
    /// `None` after a success: the next failure starts from [`Backoff::FIRST`].
    delay: Option<Duration>,
    recovery_logged: bool,
}

impl Backoff {
    pub(crate) const FIRST: Duration = Duration::from_millis(10);
    pub(crate) const MOST: Duration = Duration::from_secs(1);
    pub(crate) const QUIET: Duration = Duration::from_secs(60);

    /// How long to wait before accepting again; `None` when the error was
    /// about one connection only (it is gone, the next one may be fine).
    pub(crate) fn failed(&mut self, error: &io::Error, now: Instant) -> Option<Duration> {
        if about_one_connection(error) {
            return None;
        }
        let episode = match &mut self.episode {
            Some(episode) if now.duration_since(episode.last_failure) < Self::QUIET => episode,
            _ => {
                log::error(&format!(
                    "control socket: cannot accept connections: {error}; retrying with back-off (at most every {}s)",
                    Self::MOST.as_secs()
                ));
                self.episode.insert(Episode {
                    failures: 0,
                    last_failure: now,
                    delay: None,
                    recovery_logged: false,
                })
            }
        };
        episode.failures += 1;
        episode.last_failure = now;
        let delay = episode
            .delay
            .map_or(Self::FIRST, |previous| (previous * 2).min(Self::MOST));
        episode.delay = Some(delay);
        Some(delay)
    }

    /// A connection was accepted.
    pub(crate) fn succeeded(&mut self) {
        let Some(episode) = &mut self.episode else {
            return;
        };
        episode.delay = None;
        if !episode.recovery_logged {
            episode.recovery_logged = true;
            log::info(&format!(
                "control socket: accepting connections again after {} failed attempt(s)",
                episode.failures
            ));
        }
    }

    #[cfg(test)]
    fn failures(&self) -> u64 {
        self.episode.as_ref().map_or(0, |e| e.failures)
    }
}

fn about_one_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted
    ) || error.raw_os_error() == Some(libc::EPROTO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_idle_connection_makes_room() {
        let slots = Slots::new(2);
        let (mut a, mut a_evicted) = slots.admit().unwrap();
        let (b, mut b_evicted) = slots.admit().unwrap();
        assert!(a.start(), "a sent its request: busy");
        let (_c, _) = slots.admit().expect("b was idle: c takes its place");
        assert_eq!(b_evicted.try_recv(), Ok(()));
        assert!(a_evicted.try_recv().is_err());
        assert_eq!(slots.live(), 2);
        drop(b);
        assert_eq!(slots.live(), 2, "an evicted slot is not freed twice");
        drop(a);
        assert_eq!(slots.live(), 1);
    }

    #[test]
    fn when_all_are_busy_newcomers_are_refused() {
        let slots = Slots::new(1);
        let (mut a, _) = slots.admit().unwrap();
        assert!(a.start());
        assert!(slots.admit().is_none());
        drop(a);
        let (mut b, _) = slots.admit().unwrap();
        let (_c, _) = slots.admit().unwrap();
        assert!(!b.start(), "evicted before its request arrived");
        drop(b);
        assert_eq!(slots.live(), 1);
    }

    #[test]
    fn backoff_doubles_to_a_second_and_starts_over_after_a_success() {
        let mut backoff = Backoff::default();
        let now = Instant::now();
        let emfile = io::Error::from_raw_os_error(libc::EMFILE);
        let delays: Vec<u64> = (0..9)
            .map(|_| backoff.failed(&emfile, now).unwrap().as_millis() as u64)
            .collect();
        assert_eq!(delays, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        backoff.succeeded();
        assert_eq!(backoff.failed(&emfile, now), Some(Backoff::FIRST));
        let aborted = io::Error::from(io::ErrorKind::ConnectionAborted);
        assert_eq!(backoff.failed(&aborted, now), None);
    }

    #[test]
    fn an_episode_lasts_until_a_quiet_minute() {
        let mut backoff = Backoff::default();
        let start = Instant::now();
        let enfile = io::Error::from_raw_os_error(libc::ENFILE);
        // Hovering at the limit: failures and successes alternate.
        for second in 0..30 {
            backoff.failed(&enfile, start + Duration::from_secs(second));
            backoff.succeeded();
        }
        assert_eq!(backoff.failures(), 30, "one episode so far");
        backoff.failed(&enfile, start + Duration::from_secs(29) + Backoff::QUIET);
        assert_eq!(backoff.failures(), 1, "a new episode");
    }
}
