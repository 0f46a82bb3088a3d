//! Repairs the firewall after an admin's flush: the backend's watcher (a
//! thread of its own, blocked on kernel events, or checking once a second
//! only while bans are in force; see `bantam_firewall::Watcher`) wakes the
//! loop, the loop has the backend verify its objects, and when bans were
//! lost it bans its current bans again, with the time they have left.
//!
//! The loop stays the only owner of the backend: the thread only says
//! "look", through the same inbox as every other event, so a repair never
//! races a ban.

use bantam_firewall::{BanEntry, Repair};

use crate::daemon::{Daemon, Event};
use crate::error::chain;
use crate::log;

impl Daemon {
    /// Starts the backend's watcher, when it has one (dry run has none).
    pub(crate) fn watch_firewall(&mut self) {
        let Some(mut watcher) = self.backend.watcher() else {
            return;
        };
        let events = self.events.clone();
        let spawned = std::thread::Builder::new()
            .name("firewall-watch".to_string())
            .spawn(move || loop {
                if let Err(e) = watcher.wait() {
                    log::error(&format!("firewall watcher stopped: {}", chain(&e)));
                    return;
                }
                // The loop is gone: the daemon is stopping.
                if events.blocking_send(Event::FirewallChanged).is_err() {
                    return;
                }
            });
        if let Err(e) = spawned {
            log::error(&format!("cannot start the firewall watcher: {e}"));
        }
    }

    /// Verifies the backend; bans the current bans again if they were lost.
    pub(crate) fn repair_firewall(&mut self) {
        let backend = self.backend.name();
        match self.backend.verify() {
            Ok(Repair::Intact) => {}
            Ok(Repair::Rebuilt) => {
                log::warn(&format!("firewall {backend}: rules were removed; put back"))
            }
            Ok(Repair::BansLost) => self.reban_all(backend),
            Err(e) => log::error(&format!("firewall {backend}: verify: {}", chain(&e))),
        }
    }

    fn reban_all(&mut self, backend: &str) {
        let now = self.clock.now();
        let entries: Vec<BanEntry> = self
            .bans
            .iter()
            .filter(|ban| {
                let jail = self.jails.iter().find(|j| j.name() == ban.record.jail);
                jail.is_none_or(|j| j.native_ban)
            })
            .map(|ban| {
                let timeout = self.kernel_timeout(&ban.record.jail, ban.record.end, now);
                BanEntry::new(ban.target, timeout)
            })
            .collect();
        match self.backend.ban(&entries) {
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
