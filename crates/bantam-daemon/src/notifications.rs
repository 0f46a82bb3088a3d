//! The loop's side of notifications (`bantam-notify`): events built from
//! what just happened and pushed without waiting.
//!
//! Each hook is one call at the place it reports: [`Daemon::notify_bans`]
//! in `apply_bans` after the kernel ban, [`Daemon::notify_unbans`] where
//! unban actions are queued (expiry, `bantam unban`, `unban --all`), and
//! [`Daemon::notify_jails`] at start, stop and reload. A push appends to a
//! bounded queue and returns; the mail or webhook goes out on the
//! channel's own thread, so a dead mail server never delays a ban.
//!
//! Restored bans are not announced again: they were when they began.

use std::time::Duration;

use bantam_config::notify_settings::EventKind;
use bantam_config::Settings;
use bantam_notify::{BanFacts, Event, Notifier};
use bantam_state::BanRecord;

use crate::bans::ActiveBan;
use crate::daemon::Daemon;
use crate::error::DaemonError;
use crate::log;

/// How long a stopping daemon lets queued notifications go out.
pub(crate) const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// The channels of `settings`, checked (addresses, password, TLS) but not
/// started. Also hands the server name to command actions (`<fq-hostname>`).
pub(crate) fn build_notifier(settings: &Settings) -> Result<Notifier, DaemonError> {
    let server = settings.daemon.server_name();
    let notifier = Notifier::new(&settings.notify, &server, log::warn)?;
    bantam_firewall::command::set_server_name(settings.daemon.server_name.clone());
    Ok(notifier)
}

fn facts(record: &BanRecord, bantime: Option<Duration>) -> BanFacts {
    BanFacts {
        jail: record.jail.clone(),
        address: record.target.clone(),
        failures: record.failures,
        matches: record.matches.clone(),
        bantime,
        bancount: record.ban_count,
        time: record.start,
    }
}

fn ban_duration(record: &BanRecord) -> Option<Duration> {
    record
        .end
        .and_then(|end| Duration::try_from(end.duration_since(record.start)).ok())
}

impl Daemon {
    /// New bans, just put in the kernel.
    pub(crate) fn notify_bans(&self, records: &[BanRecord]) {
        if !self.notifier.wants(EventKind::Ban) {
            return;
        }
        // Each record's own span: escalation and rule bantimes make it
        // differ from the jail's configured bantime.
        for record in records {
            self.notifier
                .push(Event::Ban(facts(record, ban_duration(record))));
        }
    }

    /// Bans that ended or were lifted.
    pub(crate) fn notify_unbans(&self, ended: &[ActiveBan]) {
        if !self.notifier.wants(EventKind::Unban) {
            return;
        }
        for ban in ended {
            let bantime = ban_duration(&ban.record);
            self.notifier
                .push(Event::Unban(facts(&ban.record, bantime)));
        }
    }

    /// Jails `names` started (`true`) or stopped.
    pub(crate) fn notify_jails<'a>(&self, names: impl Iterator<Item = &'a str>, started: bool) {
        for jail in names {
            let jail = jail.to_owned();
            self.notifier.push(match started {
                true => Event::JailStart { jail },
                false => Event::JailStop { jail },
            });
        }
    }

    /// At shutdown: say the jails stopped, then give the channels a few
    /// seconds to send what they hold.
    pub(crate) fn stop_notifications(&mut self) {
        self.notify_jails(self.jails.iter().map(|j| j.name()), false);
        std::mem::replace(&mut self.notifier, Notifier::disabled()).shutdown(SHUTDOWN_WAIT);
    }

    /// A reload: a changed `[notify.*]` or server name gets new channels
    /// (the old ones finish their queues in the background); jails added
    /// or removed are announced.
    pub(crate) fn reload_notifications(&mut self, new: Option<Notifier>, old_jails: &[String]) {
        if let Some(mut notifier) = new {
            notifier.start();
            self.notifier = notifier;
        }
        let current: Vec<&str> = self.jails.iter().map(|j| j.name()).collect();
        let added = current
            .iter()
            .copied()
            .filter(|j| !old_jails.iter().any(|o| o == j));
        self.notify_jails(added, true);
        let gone = old_jails
            .iter()
            .map(String::as_str)
            .filter(|o| !current.contains(o));
        self.notify_jails(gone, false);
    }
}
