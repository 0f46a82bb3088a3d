//! Ending bans: a slice at a time, and never waiting for the store.
//!
//! Bans end in waves. A burst of a million attackers banned within seconds
//! ends within the same seconds one ban time later, and a daemon that ended
//! them all in one turn of the loop (the book, the unban hooks, a log line
//! each, the store's rows moved to the history) kept every new attacker
//! waiting meanwhile: measured with a million bans of 20 s, a new
//! attacker's ban came up to 12 s late. So one turn ends at most
//! [`SLICE`] bans, the earliest first; when more have ended the timer is
//! due again at once, and the loop's `select!` (which polls its ready
//! branches in random order) serves lines and requests between slices.
//!
//! The store's part (moving ended rows to the history, purging old
//! history) goes to the store's writer with its next job, like a ban's
//! record, instead of waiting on the loop for a write in flight and then
//! for its own transaction (see [`crate::recorder::Recorder::expire`]).
//! One exception keeps escalation's counts right: a ban whose record may
//! still be on its way to disk is not ended until the write is back
//! ([`crate::recorder::Recorder::unwritten_ending_by`]); a burst's
//! records end a ban time after they are written, so in practice nothing
//! waits. Measured (`bench/million.sh --wave`: a million bans ending
//! while a new attacker comes every 20 ms): before, new attackers up to
//! 12 s late and nearly the whole million still in force 40 s on; now
//! p50 0.4 ms, p99 5 ms, and the last of the million gone within 5 s of
//! its end.

use jiff::Timestamp;

use crate::action_worker::OwnedBan;
use crate::bans::ActiveBan;
use crate::daemon::{Daemon, Fields};
use crate::knocking::taken_by;
use crate::log;

/// Bans ended in one turn of the loop: a couple of milliseconds of work
/// (the book, the firewall, a log line and the hooks of each), so a new
/// attacker's ban waits no longer than that behind a wave; 1,024 made the
/// p99 above 10 ms.
pub(crate) const SLICE: usize = 256;

impl Daemon {
    /// Ends the bans whose time has come, [`SLICE`] at most.
    pub(crate) fn expire(&mut self) {
        let now = self.clock.now();
        // The loop does not call this while such bans are in flight; a
        // direct call waits for them.
        if self.recorder.unwritten_ending_by(taken_by(now)) {
            self.recorder.settle();
        }
        let ended = self.take_ending(now, SLICE);
        if ended.is_empty() {
            return;
        }
        // Sources still knocking are banned again (recorded first, so the
        // store's expiry below keeps their new rows); bans taken ahead of
        // their end and not extended go back to wait for it.
        let ended = self.extend_knockers(ended, now);
        let ended = self.put_back_early(ended, now);
        self.recorder.expire(now);
        if ended.is_empty() {
            return;
        }
        // Timed-out elements already match nothing; this is for backends
        // without timeouts (dry run) and for the grace of watched bans
        // (see `knocking.rs`), and it frees timed-out elements before the
        // kernel's once-a-minute sweep. A target another ban still keeps
        // in a backend stays there.
        if let Err(e) = self.lift(&ended) {
            log::error(&crate::error::chain(&e));
        }
        self.unban_actions(&ended);
        for b in &ended {
            log::unban(&b.record.jail, &b.record.target, "ended");
        }
    }

    /// When, at the latest, the next ending ban ends, if the loop should
    /// end it now: `None` while it may still be on its way to the store.
    pub(crate) fn next_end(&self) -> Option<Timestamp> {
        let end = self.bans.next_end()?;
        let by = taken_by(end.max(self.clock.now()));
        (!self.recorder.unwritten_ending_by(by)).then_some(end)
    }

    /// Queues the `unban` hooks of the jails these bans belonged to.
    pub(crate) fn unban_actions(&mut self, ended: &[ActiveBan]) {
        self.notify_unbans(ended);
        for ban in ended {
            if let Some(jail) = self.jails.iter().find(|j| j.name() == ban.record.jail) {
                jail.unban_action(OwnedBan::of(&ban.record, ban.target, false, Fields::new()));
            }
        }
    }
}
