//! `status` asked while the store's writer holds a job: answered when that
//! job is back, without the loop waiting for it.
//!
//! The store's health is known only from a write that came back. Answered
//! at once, `status` right after a burst on a full disk would call the
//! store healthy because the failing write is still in flight; waiting for
//! the writer on the loop would hold every ban behind it for as long as
//! the job takes. So the request is parked here, and the loop answers it
//! after the next job comes back, or after [`STATUS_WAIT`] when the writer
//! is slow (then the status says so: see `Recorder::degraded`).

use tokio::sync::oneshot;
use tokio::time::{Duration, Instant};

use crate::control::protocol::Response;

/// The longest a `status` waits for the write in flight. A job is some
/// 64k bans, well under a second on a healthy disk.
pub(crate) const STATUS_WAIT: Duration = Duration::from_secs(1);

/// A parked `status` request.
pub(crate) struct Parked {
    pub jail: Option<String>,
    pub reply: oneshot::Sender<Response>,
    /// Answered once more jobs than this are back.
    after: u64,
    until: Instant,
}

/// Parked requests, as many as the control server lets in at once.
#[derive(Default)]
pub(crate) struct StatusWaits {
    parked: Vec<Parked>,
}

impl StatusWaits {
    /// Parks a request until the job in flight (the `jobs_back`th + 1) is
    /// back, or until `now` + [`STATUS_WAIT`].
    pub fn park(
        &mut self,
        jail: Option<String>,
        reply: oneshot::Sender<Response>,
        jobs_back: u64,
        now: Instant,
    ) {
        self.parked.push(Parked {
            jail,
            reply,
            after: jobs_back,
            until: now + STATUS_WAIT,
        });
    }

    /// When the loop must wake to answer one that waited long enough.
    pub fn deadline(&self) -> Option<Instant> {
        self.parked.iter().map(|p| p.until).min()
    }

    /// Those whose job is back or whose wait is over.
    pub fn due(&mut self, jobs_back: u64, now: Instant) -> Vec<Parked> {
        if self.parked.is_empty() {
            return Vec::new();
        }
        let (due, kept) = std::mem::take(&mut self.parked)
            .into_iter()
            .partition(|p| jobs_back > p.after || now >= p.until);
        self.parked = kept;
        due
    }

    /// Every parked request, at shutdown: each gets an answer.
    pub fn all(&mut self) -> Vec<Parked> {
        std::mem::take(&mut self.parked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parked(waits: &mut StatusWaits, jobs_back: u64, now: Instant) {
        let (reply, _) = oneshot::channel();
        waits.park(None, reply, jobs_back, now);
    }

    #[test]
    fn a_request_is_due_when_its_job_is_back_or_its_wait_is_over() {
        let start = Instant::now();
        let mut waits = StatusWaits::default();
        parked(&mut waits, 3, start);
        parked(&mut waits, 4, start + Duration::from_millis(500));
        assert_eq!(waits.deadline(), Some(start + STATUS_WAIT));
        assert!(waits.due(3, start).is_empty(), "its job is not back yet");
        assert_eq!(waits.due(4, start).len(), 1, "the first one's job is back");
        assert_eq!(waits.deadline(), Some(start + Duration::from_millis(1500)));
        assert!(waits.due(4, start + STATUS_WAIT).is_empty());
        assert_eq!(waits.due(4, start + Duration::from_millis(1500)).len(), 1);
        assert_eq!(waits.deadline(), None);
    }
}
