//! `bantam unban --all`: every ban lifted at once, the store's part off
//! the loop.
//!
//! The firewall, the book and the actions are the loop's and quick (a
//! million bans leave the kernel in one flush). Moving a million rows to
//! the store's history is seconds of SQLite, and the loop used to wait
//! for it, with every new attacker's ban behind it. It now goes to the
//! store's writer as a job of its own ([`Recorder::remove_all_soon`]):
//! bans recorded before it are written first, bans earned meanwhile are
//! queued behind it and stay. The answer waits for the job, so `unban
//! --all` still returns only once the store agrees (or says why it does
//! not); the loop bans meanwhile.
//!
//! [`Recorder::remove_all_soon`]: crate::recorder::Recorder::remove_all_soon

use tokio::sync::oneshot;

use crate::bans::ActiveBan;
use crate::control::Response;
use crate::daemon::Daemon;
use crate::error::chain;
use crate::log;
use crate::store_writer::Removed;

/// An `unban --all` whose store part is in flight.
pub(crate) struct Parked {
    reply: oneshot::Sender<Response>,
    lifted: usize,
    kernel: Result<(), String>,
    /// The unban actions it waits for (see `Daemon::reply`).
    waits: Vec<oneshot::Receiver<()>>,
}

impl Daemon {
    /// Lifts every ban and answers once the store has moved them (or at
    /// once when it was done here).
    pub(crate) fn unban_all_parked(&mut self, reply: oneshot::Sender<Response>) {
        let (lifted, kernel, removed) = self.start_unban_all();
        match removed {
            Some(stored) => {
                let response = unban_all_response(lifted, kernel, stored);
                self.reply(reply, response);
            }
            None => {
                let waits = std::mem::take(&mut self.waits);
                self.unban_all_waiting = Some(Parked {
                    reply,
                    lifted,
                    kernel,
                    waits,
                });
            }
        }
    }

    /// [`Daemon::unban_all_parked`] for a caller that wants the answer
    /// now: it waits for the store's move.
    pub(crate) fn unban_all(&mut self) -> Response {
        let (lifted, kernel, removed) = self.start_unban_all();
        let stored = removed.unwrap_or_else(|| {
            self.recorder.settle();
            self.recorder.take_removed().unwrap_or(Ok(0))
        });
        unban_all_response(lifted, kernel, stored)
    }

    /// Both ways in: an earlier `unban --all` still parked is answered
    /// first (one at a time: its job is back once settled), then every
    /// ban is lifted and the store's move started (its outcome here when
    /// it was done on the loop).
    fn start_unban_all(&mut self) -> (usize, Result<(), String>, Removed) {
        self.recorder.settle();
        self.answer_unban_all();
        let (lifted, kernel) = self.lift_everything();
        (lifted, kernel, self.recorder.remove_all_soon())
    }

    /// Answers the parked `unban --all` once its job is back.
    pub(crate) fn answer_unban_all(&mut self) {
        if self.unban_all_waiting.is_none() {
            return;
        }
        let Some(stored) = self.recorder.take_removed() else {
            return;
        };
        let Some(parked) = self.unban_all_waiting.take() else {
            return;
        };
        let response = unban_all_response(parked.lifted, parked.kernel, stored);
        self.waits = parked.waits;
        self.reply(parked.reply, response);
    }

    /// The book emptied, unban actions queued, the firewall flushed: how
    /// many were lifted, and the firewall's error if any.
    fn lift_everything(&mut self) -> (usize, Result<(), String>) {
        let removed: Vec<ActiveBan> = self.bans.clear();
        self.unban_actions(&removed);
        self.wait_for_actions();
        let kernel = self.backends.flush_all().map_err(|e| chain(&e));
        log::info(&format!("all {} ban(s) lifted by request", removed.len()));
        (removed.len(), kernel)
    }
}

fn unban_all_response(
    lifted: usize,
    kernel: Result<(), String>,
    stored: Result<usize, String>,
) -> Response {
    match (stored, kernel) {
        (_, Err(e)) => Response::error(format!("firewall: {e}")),
        (Err(e), Ok(())) => Response::error(format!("store: {e}")),
        (Ok(_), Ok(())) => Response::ok(format!("lifted {lifted} ban(s)")),
    }
}

#[cfg(test)]
#[path = "unban_all_tests.rs"]
mod tests;
