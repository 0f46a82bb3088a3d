//! A jail: one filter over some logs, a failure tracker, and the rules for
//! turning failures into bans.

use bantam_config::{BackendKind, BanTime, JailSettings};
use bantam_filter::{AnyFilter, Host};
use bantam_firewall::Target;
use jiff::{SignedDuration, Timestamp};

use crate::action_worker::{ActionWorker, Job, OwnedBan};
use crate::actions::JailAction;
use crate::command_action::{spec_of, CommandJailAction};
use crate::control::protocol::SourceStatus;
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
    /// Lines dropped whole for being over the length limit.
    pub long_lines: u64,
    /// fail2ban-style actions run for this jail's bans (see [`crate::actions`]),
    /// until [`Jail::start_actions`] hands them to their thread.
    actions: Vec<Box<dyn JailAction>>,
    /// The thread that runs them, once started.
    worker: Option<ActionWorker>,
    /// The backend this jail's bans go to (its `banaction`, or the
    /// daemon's `backend`; dry-run in a dry run). `None`: jails run from a
    /// fail2ban configuration ban through their own actions unless the
    /// admin asked for the native backends.
    pub backend: Option<BackendKind>,
    /// Addresses that logged in (`[trust]`); `None` without it.
    pub(crate) trusted: Option<crate::trust::Trusted>,
    /// Recent bans per prefix (`[subnet]`).
    pub(crate) prefixes: crate::subnet::Prefixes,
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
    /// `backend`: see [`Jail::backend`] (the daemon resolves it:
    /// `JailSettings::backend`, or dry-run).
    pub fn new(
        settings: JailSettings,
        max_tracked: usize,
        backend: Option<BackendKind>,
    ) -> Result<Jail, DaemonError> {
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
        let policy = &settings.trust_policy;
        let trusted = policy
            .trust
            .map(|t| crate::trust::Trusted::new(t, crate::trust::CAPACITY));
        let prefixes = crate::subnet::Prefixes::new(policy.subnet);
        Ok(Jail {
            settings,
            filter,
            tracker,
            total_failures: 0,
            total_banned: 0,
            lines_read: 0,
            long_lines: 0,
            actions,
            worker: None,
            backend,
            trusted,
            prefixes,
        })
    }

    pub fn name(&self) -> &str {
        &self.settings.name
    }

    /// Whether restored bans skip this jail's actions (fail2ban's
    /// `norestored`: no second mail for a ban already announced).
    pub fn norestored(&self) -> bool {
        self.settings.norestored
    }

    pub fn has_actions(&self) -> bool {
        !self.actions.is_empty() || self.worker.is_some()
    }

    pub fn action_names(&self) -> Vec<&str> {
        self.actions.iter().map(|a| a.name()).collect()
    }

    /// Forgets the actions unstarted (a dry run lists them instead).
    pub fn drop_actions(&mut self) {
        self.actions.clear();
    }

    /// Hands the actions to their thread, which runs their `start` first.
    pub fn start_actions(&mut self) {
        if self.worker.is_none() && !self.actions.is_empty() {
            let actions = std::mem::take(&mut self.actions);
            self.worker = Some(ActionWorker::spawn(self.name(), actions));
        }
    }

    /// Takes over the running actions of `previous` (a reload that left
    /// them unchanged): no stop/start, no second thread.
    pub fn adopt_actions(&mut self, previous: &mut Jail) {
        self.actions.clear();
        self.worker = previous.worker.take();
    }

    /// Stops the actions without waiting (reload).
    pub fn stop_actions(&mut self) {
        if let Some(worker) = self.worker.take() {
            // Detached: the thread runs `stop` and ends by itself.
            drop(worker.stop());
        }
    }

    /// Stops the actions and waits for their `stop` (shutdown).
    pub fn stop_actions_and_wait(&mut self) {
        if let Some(worker) = self.worker.take() {
            worker.stop_and_wait();
        }
    }

    pub(crate) fn ban_action(&self, ban: OwnedBan) {
        if let Some(worker) = &self.worker {
            worker.submit(Job::Ban(Box::new(ban)));
        }
    }

    pub(crate) fn unban_action(&self, ban: OwnedBan) {
        if let Some(worker) = &self.worker {
            worker.submit(Job::Unban(Box::new(ban)));
        }
    }

    /// A receiver that resolves once the actions queued so far have run
    /// (`None`: no actions to wait for).
    pub(crate) fn barrier(&self) -> Option<tokio::sync::oneshot::Receiver<()>> {
        let worker = self.worker.as_ref()?;
        let (done, wait) = tokio::sync::oneshot::channel();
        worker.submit(Job::Barrier(done));
        Some(wait)
    }

    /// Action jobs dropped because the actions fell too far behind.
    pub fn actions_dropped(&self) -> u64 {
        self.worker.as_ref().map_or(0, ActionWorker::dropped)
    }

    /// Whether `target` is covered by `ignoreip`.
    pub fn ignores(&self, target: &Target) -> bool {
        let addr = match target {
            Target::Addr(ip) => *ip,
            Target::Net { addr, .. } => *addr,
        };
        let own = &self.settings.trust_policy.ignoreself;
        self.settings
            .ignoreip
            .iter()
            .chain(own)
            .any(|net| net.contains(addr))
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

    /// The ban time of failure rule `rule`, when the rule sets its own.
    pub(crate) fn rule_bantime(&self, rule: usize) -> Option<BanTime> {
        let times = &self.settings.trust_policy.rule_bantimes;
        times.get(rule).copied().flatten()
    }

    pub fn status(&self, currently_banned: usize, sources: Vec<SourceStatus>) -> JailStatus {
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
            long_lines_dropped: self.long_lines,
            actions_dropped: self.actions_dropped(),
            sources,
            bans: None,
            backend: self.backend.map(|k| k.name().to_owned()),
        }
    }
}

/// When a ban of length `bantime` starting at `start` ends.
pub(crate) fn end_of(bantime: BanTime, start: Timestamp) -> Option<Timestamp> {
    match bantime {
        BanTime::Permanent => None,
        BanTime::For(d) => Some(
            start
                .checked_add(SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX))
                .unwrap_or(Timestamp::MAX),
        ),
    }
}

pub use bantam_config::duration::human_duration;
