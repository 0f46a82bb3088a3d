//! A jail: one filter over some logs, a failure tracker, and the rules for
//! turning failures into bans.

use std::time::Duration;

use bantam_config::{BanTime, JailSettings};
use bantam_filter::{AnyFilter, Host};
use bantam_firewall::Target;
use jiff::{SignedDuration, Timestamp};

use crate::actions::JailAction;
use crate::command_action::{spec_of, CommandJailAction};
use crate::control::JailStatus;
use crate::error::DaemonError;
use crate::tracker::Tracker;

pub struct Jail {
    pub settings: JailSettings,
    /// Compiled once; each log gets a clone (its own date-format memory).
    pub filter: AnyFilter,
    pub tracker: Tracker,
    pub total_failures: u64,
    pub total_banned: u64,
    pub lines_read: u64,
    /// fail2ban-style actions run for this jail's bans (see [`crate::actions`]).
    pub actions: Vec<Box<dyn JailAction>>,
    /// Whether the native firewall backend carries this jail's bans. Jails
    /// run from a fail2ban configuration ban through their own actions
    /// unless the admin asked for the native backend.
    pub native_ban: bool,
}

/// What to ban, for a filter's host. Names are never resolved (no DNS on
/// the hot path); a filter that captures names gets them reported, not
/// banned.
pub fn target_of(host: &Host) -> Option<Target> {
    match host {
        Host::Ip(ip) => Some(Target::Addr(*ip)),
        Host::Net(net) => Some(Target::Net {
            addr: net.addr(),
            prefix: net.prefix(),
        }),
        Host::Name(_) => None,
    }
}

impl Jail {
    pub fn new(settings: JailSettings, max_tracked: usize) -> Result<Jail, DaemonError> {
        let filter = settings.filter.compile(settings.zone.clone())?;
        let tracker = Tracker::new(settings.maxretry, settings.findtime, max_tracked);
        let mut actions: Vec<Box<dyn JailAction>> = Vec::new();
        for def in &settings.actions {
            let action = CommandJailAction::new(spec_of(def)).map_err(|e| {
                DaemonError::Runtime(format!(
                    "jail {}: action {}: {e}",
                    settings.name, def.actname
                ))
            })?;
            actions.push(Box::new(action));
        }
        let native_ban = settings.native_ban;
        Ok(Jail {
            settings,
            filter,
            tracker,
            total_failures: 0,
            total_banned: 0,
            lines_read: 0,
            actions,
            native_ban,
        })
    }

    pub fn name(&self) -> &str {
        &self.settings.name
    }

    /// Whether `target` is covered by `ignoreip`.
    pub fn ignores(&self, target: &Target) -> bool {
        let addr = match target {
            Target::Addr(ip) => *ip,
            Target::Net { addr, .. } => *addr,
        };
        self.settings.ignoreip.iter().any(|net| net.contains(addr))
    }

    /// Whether a failure at `time` is too old to count at `now` (a log read
    /// from its beginning holds old failures; they must not ban anyone).
    pub fn too_old(&self, time: Timestamp, now: Timestamp) -> bool {
        let window =
            SignedDuration::try_from(self.settings.findtime).unwrap_or(SignedDuration::MAX);
        now.checked_sub(window).is_ok_and(|start| time < start)
    }

    /// When a ban starting at `start` ends; `None` for permanent bans.
    pub fn ban_end(&self, start: Timestamp) -> Option<Timestamp> {
        match self.settings.bantime {
            BanTime::Permanent => None,
            BanTime::For(d) => Some(
                start
                    .checked_add(SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX))
                    .unwrap_or(Timestamp::MAX),
            ),
        }
    }

    pub fn status(&self, currently_banned: usize) -> JailStatus {
        JailStatus {
            name: self.settings.name.clone(),
            filter: self.settings.filter.name().to_owned(),
            logpath: self.settings.logpath.clone(),
            maxretry: self.settings.maxretry,
            findtime_seconds: self.settings.findtime.as_secs(),
            bantime_seconds: match self.settings.bantime {
                BanTime::Permanent => None,
                BanTime::For(d) => Some(d.as_secs()),
            },
            tracked: self.tracker.len(),
            currently_banned,
            total_banned: self.total_banned,
            total_failures: self.total_failures,
            lines_read: self.lines_read,
        }
    }
}

/// A duration as people write them in bantam's config: `10m`, `1d12h`.
pub fn human_duration(d: Duration) -> String {
    let mut secs = d.as_secs();
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("w", 604_800),
        ("d", 86_400),
        ("h", 3600),
        ("m", 60),
        ("s", 1),
    ] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}
