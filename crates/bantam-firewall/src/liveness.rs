//! [`Liveness`]: whether a backend holds bans right now, shared with its
//! [`PollWatcher`], for the backends the kernel sends no events about
//! (ipset, routes, hosts.deny, iptables-legacy).
//!
//! Why a check per second only while bans are in force: those firewalls
//! have no notification we can wait on, so noticing an admin's `ipset
//! flush` means looking. But with no bans in force there is nothing an
//! admin can remove that we would have to put back before the next ban
//! (which recreates what it needs), so the watcher then sleeps on a
//! condition variable and the process is never woken. While bans are in
//! force a check costs one header query (no listing of 200,000 entries):
//! a microsecond of kernel time, once a second.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::backend::Watcher;
use crate::error::FirewallError;

const CHECK_EVERY: Duration = Duration::from_secs(1);

/// The latest end of the bans a backend made (far future: permanent).
#[derive(Clone, Default)]
pub(crate) struct Liveness {
    shared: Arc<(Mutex<Option<Instant>>, Condvar)>,
}

impl Liveness {
    /// Notes bans ending at the latest `timeout` from now (`None` in
    /// `timeouts`: permanent).
    pub fn banned(&self, timeouts: impl Iterator<Item = Option<Duration>>) {
        let far = Duration::from_secs(100 * 365 * 86_400);
        let Some(longest) = timeouts.map(|t| t.unwrap_or(far)).max() else {
            return;
        };
        let end = Instant::now() + longest;
        let (lock, cond) = &*self.shared;
        let mut until = lock.lock().unwrap_or_else(|e| e.into_inner());
        if until.is_none_or(|u| u < end) {
            *until = Some(end);
        }
        cond.notify_all();
    }

    /// Forgets: the backend was flushed, or found emptied (and reported
    /// it, so the caller's re-ban marks it live again).
    pub fn cleared(&self) {
        *self.shared.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Whether bans made by us should still be there.
    pub fn live(&self) -> bool {
        let until = *self.shared.0.lock().unwrap_or_else(|e| e.into_inner());
        until.is_some_and(|u| u > Instant::now())
    }

    pub fn watcher(&self) -> Box<dyn Watcher> {
        Box::new(PollWatcher {
            liveness: self.clone(),
        })
    }
}

/// Returns once a second while bans are in force; sleeps otherwise.
pub(crate) struct PollWatcher {
    liveness: Liveness,
}

impl Watcher for PollWatcher {
    fn wait(&mut self) -> Result<(), FirewallError> {
        let (lock, cond) = &*self.liveness.shared;
        let mut until = lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let now = Instant::now();
            match *until {
                Some(end) if end > now => break,
                _ => until = cond.wait(until).unwrap_or_else(|e| e.into_inner()),
            }
        }
        drop(until);
        std::thread::sleep(CHECK_EVERY);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_until_the_longest_ban_ends() {
        let l = Liveness::default();
        assert!(!l.live());
        l.banned(
            [
                Some(Duration::from_millis(30)),
                Some(Duration::from_secs(5)),
            ]
            .into_iter(),
        );
        assert!(l.live());
        l.cleared();
        assert!(!l.live());
        l.banned([None].into_iter());
        assert!(l.live());
    }
}
