//! The store's upkeep as the loop asks for it: ending bans (a wave's,
//! [`END_PER_JOB`](crate::store_writer) at a time, with the writer's next
//! job) and purging old history, never waited for on the loop, and told
//! once when it fails (see `expiry.rs`).

use jiff::Timestamp;

use super::{Recorder, PURGE_EVERY};
use crate::error::chain;
use crate::log;
use crate::store_writer::{Ending, Removed, Upkeep};

impl Recorder {
    /// Ends bans at `now` in the store, and purges old history at most once
    /// an hour; both ride on the expiry wake-up the loop has anyway. They
    /// go to the writer, with the job in flight's successor or as a job of
    /// their own, and the loop never waits for them: a wave of a million
    /// ended bans is seconds of SQLite, and a write in flight ahead of it
    /// more.
    pub fn expire(&mut self, now: Timestamp) {
        self.upkeep.end_by = Some(now);
        if let Some(before) = self.purge_due(now) {
            self.upkeep.purge_before = Some(before);
        }
        self.send_upkeep();
    }

    /// Hands the pending upkeep to the writer, or does it here without a
    /// writer thread. With a write in flight it goes with the next job;
    /// while the store refuses bans it waits until the store recovers (a
    /// wave would try, and fail, a slice at a time).
    pub(super) fn send_upkeep(&mut self) {
        let waits = self.in_flight() || self.failing.is_some() || !self.unrecorded.is_empty();
        if self.upkeep.is_empty() || waits || self.hand_off(Vec::new()).is_ok() {
            return;
        }
        while let Some(store) = self.store.as_deref_mut() {
            let (left, ending) = std::mem::take(&mut self.upkeep).run(store);
            self.upkeep = left;
            self.tell_ending(ending);
            if self.upkeep.is_empty() {
                break;
            }
        }
    }

    /// Tells when ending bans in the store starts failing and when it
    /// works again, once each, however many jobs a wave takes.
    pub(super) fn tell_ending(&mut self, ending: Ending) {
        let Some(result) = ending else {
            return;
        };
        match (&result, self.ending_failed) {
            (Err(reason), false) => log::error(&format!(
                "ending bans in the store: {reason}; ended bans stay among its current \
                 ones until an end succeeds (the firewall has lifted them)"
            )),
            (Ok(()), true) => log::info("ending bans in the store works again"),
            _ => {}
        }
        self.ending_failed = result.is_err();
    }

    /// Moves every ban to the history (`unban --all`) on the writer's
    /// thread: for a million bans that is seconds of SQLite, which the
    /// loop no longer waits for. Every ban recorded before is written
    /// first (settled here), and bans recorded after are queued behind it,
    /// so they stay. The outcome comes back with the job
    /// ([`Recorder::take_removed`]); it is returned here when the move was
    /// done on the loop instead: without a writer thread, or while the
    /// store refuses bans (it says why at once).
    pub fn remove_all_soon(&mut self) -> Removed {
        self.forget_all();
        if self.failing.is_none() {
            self.upkeep.remove_all = true;
            if self.hand_off(Vec::new()).is_ok() {
                return None;
            }
            self.upkeep.remove_all = false;
        }
        Some(self.store().remove_all(None).map_err(|e| chain(&e)))
    }

    /// How the move of [`Recorder::remove_all_soon`] went, once its job is
    /// back (once).
    pub fn take_removed(&mut self) -> Removed {
        self.removed.take()
    }

    /// Purges old history now if an hour has passed since the last time.
    pub fn purge(&mut self, now: Timestamp) {
        if let Some(before) = self.purge_due(now) {
            let upkeep = Upkeep {
                purge_before: Some(before),
                ..Upkeep::default()
            };
            let _ = upkeep.run(self.store());
        }
    }

    /// The purge's horizon, if one is due (at most once an hour).
    fn purge_due(&mut self, now: Timestamp) -> Option<Timestamp> {
        let due = self
            .last_purge
            .is_none_or(|last| now.duration_since(last).unsigned_abs() >= PURGE_EVERY);
        if !due {
            return None;
        }
        self.last_purge = Some(now);
        let age =
            jiff::SignedDuration::try_from(self.purge_age).unwrap_or(jiff::SignedDuration::MAX);
        now.checked_sub(age).ok()
    }
}
