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
//!   needing a restart; the running values stay.

use std::collections::HashMap;

use bantam_config::DaemonSettings;

use crate::daemon::{build_jails, Daemon};
use crate::error::DaemonError;
use crate::jail::Jail;
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
        let mut jails = build_jails(&settings, self.options.dry_run)?;
        let notify_changed = settings.notify != self.settings.notify
            || settings.daemon.server_name != self.settings.daemon.server_name;
        let notifier = match notify_changed {
            true => Some(crate::notifications::build_notifier(&settings)?),
            false => None,
        };
        let old_jails: Vec<String> = self.jails.iter().map(|j| j.name().to_owned()).collect();
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
    if previous.settings.actions == jail.settings.actions && previous.native_ban == jail.native_ban
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
