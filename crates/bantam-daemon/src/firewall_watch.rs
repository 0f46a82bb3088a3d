//! Repairs the firewall after an admin's flush: each backend's watcher (a
//! thread of its own, blocked on kernel events, or checking once a second
//! only while bans are in force; see `bantam_firewall::Watcher`) wakes the
//! loop naming its backend, the loop has that backend verify its objects,
//! and when bans were lost it bans that backend's current bans again, with
//! the time they have left.
//!
//! The loop stays the only owner of the backends: a thread only says
//! "look", through the same inbox as every other event, so a repair never
//! races a ban.

use bantam_config::BackendKind;
use bantam_firewall::{BanEntry, Repair};

use crate::daemon::{Daemon, Event};
use crate::error::chain;
use crate::log;
use crate::routing::{merge_longest, Place};

impl Daemon {
    /// Starts every backend's watcher (dry run has none).
    pub(crate) fn watch_firewall(&mut self) {
        for kind in self.backends.kinds() {
            self.watch_backend(kind);
        }
    }

    /// Starts the watcher of backend `kind`, when it has one: a thread
    /// per backend, each waking the loop for its own backend only.
    pub(crate) fn watch_backend(&mut self, kind: BackendKind) {
        let Some(mut watcher) = self.backends.watcher(kind) else {
            return;
        };
        let events = self.events.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("watch-{}", kind.name()))
            .spawn(move || loop {
                if let Err(e) = watcher.wait() {
                    log::error(&format!(
                        "firewall {} watcher stopped: {}",
                        kind.name(),
                        chain(&e)
                    ));
                    return;
                }
                // The loop is gone: the daemon is stopping.
                if events.blocking_send(Event::FirewallChanged(kind)).is_err() {
                    return;
                }
            });
        if let Err(e) = spawned {
            log::error(&format!(
                "cannot start the firewall {} watcher: {e}",
                kind.name()
            ));
        }
    }

    /// Verifies backend `kind`; bans its current bans again if they were
    /// lost.
    pub(crate) fn repair_firewall(&mut self, kind: BackendKind) {
        let backend = kind.name();
        match self.backends.verify(kind) {
            Ok(Repair::Intact) => {}
            Ok(Repair::Rebuilt) => {
                log::warn(&format!("firewall {backend}: rules were removed; put back"))
            }
            Ok(Repair::BansLost) => self.reban_all(kind),
            Err(e) => log::error(&format!("firewall {backend}: verify: {}", chain(&e))),
        }
    }

    /// Bans again, in `kind`, the bans of the jails on it (and, in the
    /// default backend, those whose jail is gone: see [`crate::routing`]).
    pub(crate) fn reban_all(&mut self, kind: BackendKind) {
        let now = self.clock.now();
        let default = self.backends.default_kind();
        let entries: Vec<BanEntry> = self
            .bans
            .iter()
            .filter(|ban| match self.place_of(&ban.record.jail) {
                Place::In(k) => k == kind,
                Place::Anywhere => kind == default,
                Place::Nowhere => false,
            })
            .map(|ban| {
                let timeout = self.kernel_timeout(&ban.record.jail, ban.record.end, now);
                BanEntry::new(ban.target, timeout)
            })
            .collect();
        let entries = merge_longest(entries);
        let backend = kind.name();
        match self.backends.ban(kind, &entries) {
            Ok(()) => log::warn(&format!(
                "firewall {backend}: our objects were flushed; {} ban(s) put back",
                entries.len()
            )),
            Err(e) => log::error(&format!(
                "firewall {backend}: putting back {} ban(s): {}",
                entries.len(),
                chain(&e)
            )),
        }
    }
}
