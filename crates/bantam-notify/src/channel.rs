//! A channel's thread: takes messages from its queue, delivers them with
//! retries and back-off, gives up after the configured number of retries.
//!
//! A thread rather than a tokio task: SMTP (lettre's blocking transport),
//! `sendmail` and ureq all block, and a blocked thread of its own is the
//! one place where blocking costs nothing else. Each attempt is bounded by
//! the channel's `timeout`, so a server that accepts and never answers
//! holds this thread for that long, and only this thread.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::digest::{DigestBook, Report};
use crate::event::Event;
use crate::notifier::Warn;
use crate::queue::{Pop, Queue};

/// What a channel sends.
pub(crate) enum Outgoing {
    Event(Event),
    Digest(Report),
}

/// Why one attempt failed, and whether another could succeed (a 400 from a
/// webhook will not; a refused connection may).
#[derive(Debug)]
pub(crate) struct Failure {
    pub message: String,
    pub retry: bool,
}

impl Failure {
    pub fn transient(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            retry: true,
        }
    }

    pub fn permanent(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            retry: false,
        }
    }
}

/// A way out: mail or webhook.
pub(crate) trait Sink: Send + 'static {
    fn send(&mut self, message: &Outgoing) -> Result<(), Failure>;
}

/// The first retry waits this long, each next one twice as long.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(300);

pub(crate) fn backoff(attempt: u32) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(1u32.checked_shl(attempt).unwrap_or(u32::MAX))
        .min(MAX_BACKOFF)
}

pub(crate) struct Worker {
    pub name: &'static str,
    pub queue: Arc<Queue>,
    pub sink: Box<dyn Sink>,
    pub digest: Option<DigestBook>,
    pub retries: u32,
    pub warn: Warn,
}

impl Worker {
    pub fn run(mut self) {
        loop {
            let due = self.digest.as_ref().map(DigestBook::due);
            match self.queue.pop(due) {
                Pop::Item(event) => {
                    let single = match &mut self.digest {
                        Some(book) => book.absorb(event),
                        None => Some(event),
                    };
                    if let Some(event) = single {
                        self.deliver(&Outgoing::Event(event));
                    }
                }
                Pop::Due => self.send_digest(),
                Pop::Closed => {
                    // What the period gathered so far still goes out.
                    self.send_digest();
                    return;
                }
            }
        }
    }

    fn send_digest(&mut self) {
        if let Some(report) = self.digest.as_mut().and_then(DigestBook::take) {
            self.deliver(&Outgoing::Digest(report));
        }
    }

    /// Tries until delivered, refused for good, out of retries, or closing
    /// (a shutdown gets one attempt per queued message, no back-off).
    fn deliver(&mut self, message: &Outgoing) {
        let counters = &self.queue.counters;
        let mut attempt = 0;
        let failure = loop {
            match self.sink.send(message) {
                Ok(()) => {
                    counters.sent.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Err(f) if !f.retry || attempt >= self.retries => break f,
                Err(_) if self.queue.is_closing() => break Failure::permanent("stopping"),
                Err(_) => {}
            }
            let until = Instant::now() + backoff(attempt);
            attempt += 1;
            if self.queue.sleep_unless_closed(until) {
                // Closing: one last attempt, then no more waiting.
                attempt = self.retries;
            }
        };
        let failed = counters.failed.fetch_add(1, Ordering::Relaxed) + 1;
        *counters
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(failure.message.clone());
        // One message per power of two: a dead server during a flood must
        // not flood the journal too.
        if failed.is_power_of_two() {
            (self.warn)(&format!(
                "notify {}: gave up on a message after {} attempt(s): {} ({failed} given up so far; \
                 bans are in force regardless)",
                self.name,
                attempt + 1,
                failure.message
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        assert_eq!(backoff(0), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(8));
        assert_eq!(backoff(20), MAX_BACKOFF);
        assert_eq!(backoff(40), MAX_BACKOFF);
    }
}
