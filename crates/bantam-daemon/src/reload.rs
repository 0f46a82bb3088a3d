//! Reloading the configuration: all or nothing.
//!
//! The new configuration is read and every jail of it built (filters
//! compiled, actions checked) before anything running is touched. A bad
//! configuration therefore leaves the old one running, untouched, and the
//! caller (`bantam reload`, or the log for SIGHUP) gets the error. Only then
//! is the new state swapped in, in one step on the loop:
//!
//! * bans in force and log positions are kept, whatever changed;
//! * a jail that stays keeps its counters, its tracker (when `maxretry` and
//!   `findtime` are unchanged: counts under other rules mean nothing) and
//!   its running actions (when unchanged: no stop/start, no mail);
//! * readers of logpaths that stay keep running (see [`crate::sources`]);
//! * `[daemon]` settings that cannot change live are named in the log as
//!   needing a restart; the running values stay (`backend` among them: the
//!   default of jails without `banaction` stays what it was);
//! * a jail whose backend changed (its `banaction`, or `fail2ban-actions`)
//!   takes its bans along: they are banned in the new backend (a backend
//!   named for the first time is opened and set up before anything is
//!   swapped, so one that cannot open fails the reload), then lifted from
//!   the old one where no other ban keeps them, one batch per backend. A
//!   restart would do the same (the store puts them back in the new
//!   backend, the old one's become strays), so the reload does not make the
//!   admin wait for one.

use std::collections::{BTreeMap, HashMap};

use bantam_config::{BackendKind, DaemonSettings};
use bantam_firewall::{BanEntry, Target};
use jiff::Timestamp;

use crate::daemon::{build_jails, remaining, Daemon};
use crate::error::{chain, DaemonError};
use crate::jail::Jail;
use crate::routing::merge_longest;
use crate::{log, notify};

impl Daemon {
    /// SIGHUP: reload, and say how it went in the log.
    pub(crate) fn reload(&mut self) {
        match self.reload_config() {
            Ok(message) => log::info(&message),
            Err(e) => log::error(&format!(
                "reload failed, still running the old configuration: {}",
                crate::error::chain(&e)
            )),
        }
    }

    /// Re-reads the configuration and swaps it in; on error nothing changed.
    pub(crate) fn reload_config(&mut self) -> Result<String, DaemonError> {
        notify::notify(&notify::reloading());
        let result = self.try_reload();
        notify::notify(&notify::ready(self.jails.len(), self.bans.len()));
        result
    }

    fn try_reload(&mut self) -> Result<String, DaemonError> {
        if self.options.config_path.is_none() && self.options.fail2ban_config.is_none() {
            return Ok("configuration reloaded (built-in default: nothing to re-read)".into());
        }
        let (mut settings, warnings) = bantam_config::load_with_fail2ban(
            self.options.config_path.as_deref(),
            self.options.fail2ban_config.as_deref(),
        )?;
        let default = self.backends.default_kind();
        let mut jails = build_jails(&settings, default, self.options.dry_run)?;
        let opened = self.open_new_backends(&jails)?;
        let notify_changed = settings.notify != self.settings.notify
            || settings.daemon.server_name != self.settings.daemon.server_name;
        let notifier = match notify_changed {
            true => Some(crate::notifications::build_notifier(&settings)?),
            false => None,
        };
        let old_jails: Vec<String> = self.jails.iter().map(|j| j.name().to_owned()).collect();
        let old_places: Vec<(String, Option<BackendKind>)> = self
            .jails
            .iter()
            .map(|j| (j.name().to_owned(), j.backend))
            .collect();
        // Built: from here on nothing can fail.
        for warning in &warnings {
            log::warn(warning);
        }
        let loaded = self
            .options
            .daemon_as_loaded
            .as_ref()
            .unwrap_or(&self.settings.daemon);
        let restart = bantam_config::restart_needed(loaded, &settings.daemon);
        keep_running_values(&self.settings.daemon, &mut settings.daemon);
        self.recorder.set_purge_age(settings.daemon.dbpurgeage);
        let same_capacity = settings.daemon.max_tracked == self.settings.daemon.max_tracked;
        self.carry_over(&mut jails, same_capacity);
        self.jails = jails;
        self.filters.clear();
        self.settings = settings;
        for (kind, backend) in opened {
            self.backends.insert(kind, backend);
            self.watch_backend(kind);
        }
        self.move_bans(&old_places);
        if self.sync_knocks() {
            self.knocks_changed();
        }
        self.assign_sources();
        self.reload_notifications(notifier, &old_jails);
        let mut message = format!("configuration reloaded: {} jail(s)", self.jails.len());
        if !restart.is_empty() {
            message.push_str(&format!(
                "; [daemon] {} changed and take(s) effect at the next restart",
                restart.join(", ")
            ));
        }
        Ok(message)
    }

    /// What the old jails hand to the new ones of the same name.
    fn carry_over(&mut self, jails: &mut [Jail], same_capacity: bool) {
        let mut old: HashMap<String, Jail> = self
            .jails
            .drain(..)
            .map(|j| (j.name().to_owned(), j))
            .collect();
        for jail in jails.iter_mut() {
            match old.remove(jail.name()) {
                Some(mut previous) => keep_from(&mut previous, jail, same_capacity),
                None => jail.start_actions(),
            }
        }
        for mut gone in old.into_values() {
            gone.stop_actions();
        }
    }
}

impl Daemon {
    /// Moves the bans of the jails whose backend changed (`old`: each old
    /// jail's name and backend): banned in the new backend first, so an
    /// address is never free in between, then lifted from the old one
    /// where no other ban keeps it; one batch per backend.
    fn move_bans(&mut self, old: &[(String, Option<BackendKind>)]) {
        let now = self.clock.now();
        let mut arriving: BTreeMap<BackendKind, Vec<BanEntry>> = BTreeMap::new();
        let mut leaving: BTreeMap<BackendKind, Vec<Target>> = BTreeMap::new();
        for jail in &self.jails {
            let Some((_, before)) = old.iter().find(|(name, _)| name == jail.name()) else {
                continue;
            };
            if *before == jail.backend {
                continue;
            }
            let bans: Vec<(Target, Option<Timestamp>)> = self
                .bans
                .in_jail(jail.name())
                .map(|b| (b.target, b.record.end))
                .collect();
            if let Some(kind) = jail.backend {
                let to = arriving.entry(kind).or_default();
                for (target, end) in &bans {
                    let timeout = self.longest_in(kind, target, remaining(*end, now), None, now);
                    to.push(BanEntry::new(*target, timeout));
                }
            }
            if let Some(kind) = *before {
                let from = leaving.entry(kind).or_default();
                from.extend(
                    bans.iter()
                        .map(|(t, _)| *t)
                        .filter(|t| !self.held_in(kind, t)),
                );
            }
            let name = |k: Option<BackendKind>| k.map_or("its actions", BackendKind::name);
            log::info(&format!(
                "jail {}: {} ban(s) moved from {} to {}",
                jail.name(),
                bans.len(),
                name(*before),
                name(jail.backend)
            ));
        }
        for (kind, entries) in arriving {
            if let Err(e) = self.backends.ban(kind, &merge_longest(entries)) {
                log::error(&format!("reload: firewall {}: {}", kind.name(), chain(&e)));
            }
        }
        for (kind, mut targets) in leaving {
            targets.sort();
            targets.dedup();
            if let Err(e) = self.backends.unban(kind, &targets) {
                log::error(&format!("reload: firewall {}: {}", kind.name(), chain(&e)));
            }
        }
    }
}

/// The `[daemon]` keys a reload cannot apply keep their running values in
/// `new` (they are named as needing a restart); the rest apply now.
fn keep_running_values(old: &DaemonSettings, new: &mut DaemonSettings) {
    new.socket = old.socket.clone();
    new.state_dir = old.state_dir.clone();
    new.backend = old.backend;
}

/// Moves counters, tracker and running actions from `previous` to `jail`
/// where they still mean the same.
fn keep_from(previous: &mut Jail, jail: &mut Jail, same_capacity: bool) {
    jail.total_banned = previous.total_banned;
    jail.total_failures = previous.total_failures;
    jail.lines_read = previous.lines_read;
    jail.long_lines = previous.long_lines;
    if previous.settings.actions == jail.settings.actions
        && previous.settings.native_ban == jail.settings.native_ban
    {
        jail.adopt_actions(previous);
    } else {
        previous.stop_actions();
        jail.start_actions();
    }
    if previous.settings.maxretry == jail.settings.maxretry
        && previous.settings.findtime == jail.settings.findtime
        && same_capacity
    {
        std::mem::swap(&mut jail.tracker, &mut previous.tracker);
    }
}
