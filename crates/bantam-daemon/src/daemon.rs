//! The daemon, top to bottom.
//!
//! One task owns all state (jails, bans, store, firewall) and runs the loop in
//! [`Daemon::run`]; everything else talks to it through one channel:
//!
//! * a task per log source sends batches of whole lines;
//! * the control socket's tasks send requests with a reply channel;
//! * the loop itself sleeps until the next ban ends (if any ends at all),
//!   and wakes on signals.
//!
//! With no log activity and no ban ending, nothing is scheduled: the process
//! sleeps in epoll and the CPU never wakes for it.
//!
//! A batch of lines goes source → filter → tracker → bans: every ban the
//! batch earns is written to the store in one transaction, then sent to the
//! firewall in one batch, so a burst of 5,000 attackers costs one commit and
//! one netlink message, not 5,000 of each.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bantam_config::Settings;
use bantam_filter::AnyFilter;
use bantam_firewall::{Backend, BanEntry, Target};
use bantam_source::{Batch, Checkpoint};
use bantam_state::{BanRecord, FilePosition, Store};
use jiff::Timestamp;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::actions::{ActionBan, JailAction};
use crate::bans::{ActiveBan, BanBook};
use crate::clock::Clock;
use crate::control::server::accept_loop;
use crate::control::socket::ControlSocket;
use crate::control::{Request, Response, Status};
use crate::error::DaemonError;
use crate::feed::{feed, LogSource};
use crate::jail::{human_duration, target_of, Jail};
use crate::tracker::Verdict;
use crate::{log, notify};

/// What reaches the loop.
pub(crate) enum Event {
    Lines {
        jail: usize,
        generation: u64,
        batch: Batch,
    },
    SourceFailed {
        jail: usize,
        generation: u64,
        error: String,
    },
    Control {
        request: Request,
        reply: oneshot::Sender<Response>,
    },
}

/// How the daemon was started.
pub struct RunOptions {
    /// The configuration file, re-read on reload (`None`: built-in default).
    pub config_path: Option<PathBuf>,
    /// A fail2ban configuration directory given on the command line, re-read
    /// on reload too.
    pub fail2ban_config: Option<PathBuf>,
    /// Log and record bans but touch no firewall.
    pub dry_run: bool,
}

/// The daemon's state. Build with [`Daemon::new`], drive with [`Daemon::run`].
pub struct Daemon {
    settings: Settings,
    options: RunOptions,
    clock: Arc<dyn Clock>,
    store: Box<dyn Store>,
    backend: Box<dyn Backend>,
    jails: Vec<Jail>,
    /// Per jail and followed path: the filter clone with that log's state.
    filters: HashMap<(usize, Arc<Path>), AnyFilter>,
    bans: BanBook,
    positions: HashMap<PathBuf, Checkpoint>,
    sources: Vec<JoinHandle<()>>,
    /// Bumped when sources are restarted, so batches from old ones are dropped.
    generation: u64,
    events: mpsc::Sender<Event>,
    inbox: mpsc::Receiver<Event>,
    stop: bool,
}

impl Daemon {
    pub fn new(
        settings: Settings,
        options: RunOptions,
        clock: Arc<dyn Clock>,
        store: Box<dyn Store>,
        backend: Box<dyn Backend>,
    ) -> Result<Daemon, DaemonError> {
        let jails = settings
            .jails
            .iter()
            .map(|j| new_jail(j, settings.daemon.max_tracked, options.dry_run))
            .collect::<Result<Vec<_>, _>>()?;
        let (events, inbox) = mpsc::channel(1024);
        Ok(Daemon {
            settings,
            options,
            clock,
            store,
            backend,
            jails,
            filters: HashMap::new(),
            bans: BanBook::default(),
            positions: HashMap::new(),
            sources: Vec::new(),
            generation: 0,
            events,
            inbox,
            stop: false,
        })
    }

    /// Runs until `shutdown` completes, SIGTERM/SIGINT, or a `stop` request.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<(), DaemonError> {
        self.backend.setup()?;
        for jail in &mut self.jails {
            run_actions(jail, "start", |a| a.start());
        }
        self.reconcile()?;
        for p in self.store.load_positions()? {
            let cp = Checkpoint {
                path: PathBuf::from(&p.path),
                dev: p.dev,
                inode: p.inode,
                offset: p.offset,
                fingerprint: p.fingerprint,
            };
            self.positions.insert(cp.path.clone(), cp);
        }
        self.start_sources()?;
        let socket = ControlSocket::bind(&self.settings.daemon.socket).await?;
        let acceptor = tokio::spawn(accept_loop(
            socket,
            self.events.clone(),
            64,
            std::time::Duration::from_secs(10),
        ));
        let mut hangup = signal(SignalKind::hangup())
            .map_err(|e| DaemonError::Runtime(format!("SIGHUP handler: {e}")))?;
        let mut terminate = signal(SignalKind::terminate())
            .map_err(|e| DaemonError::Runtime(format!("SIGTERM handler: {e}")))?;
        let mut interrupt = signal(SignalKind::interrupt())
            .map_err(|e| DaemonError::Runtime(format!("SIGINT handler: {e}")))?;
        log::info(&format!(
            "started: {} jail(s), {} ban(s) restored, backend {}{}",
            self.jails.len(),
            self.bans.len(),
            self.backend.name(),
            if self.options.dry_run {
                " (dry run: no firewall changes)"
            } else {
                ""
            }
        ));
        notify::notify("READY=1");
        tokio::pin!(shutdown);
        while !self.stop {
            let next_end = self.bans.next_end();
            let until_next_end = next_end.map(|end| {
                let wait = end.duration_since(self.clock.now());
                std::time::Duration::try_from(wait).unwrap_or_default()
            });
            tokio::select! {
                Some(event) = self.inbox.recv() => self.on_event(event),
                () = sleep_opt(until_next_end) => self.expire(),
                _ = hangup.recv() => self.reload(),
                _ = terminate.recv() => break,
                _ = interrupt.recv() => break,
                () = &mut shutdown => break,
            }
        }
        notify::notify("STOPPING=1");
        // Let control tasks deliver answers already given (the reply to
        // `stop` itself): on this single-threaded runtime a few yields run
        // every task that is ready.
        for _ in 0..8 {
            tokio::task::yield_now().await;
        }
        acceptor.abort();
        for source in self.sources.drain(..) {
            source.abort();
        }
        for jail in &mut self.jails {
            run_actions(jail, "stop", |a| a.stop());
        }
        log::info("stopped; bans stay in the firewall until they end");
        Ok(())
    }

    /// Makes the firewall agree with the store: ended bans are dropped, the
    /// rest (re)applied with the time they have left in one batch, and
    /// anything in our table the store does not know is removed.
    fn reconcile(&mut self) -> Result<(), DaemonError> {
        let now = self.clock.now();
        self.store.expire(now)?;
        let records = self.store.active_bans()?;
        let mut entries = Vec::with_capacity(records.len());
        for record in records {
            let Ok(target) = record.target.parse::<Target>() else {
                log::warn(&format!(
                    "state holds an unreadable ban target {:?}; skipped",
                    record.target
                ));
                continue;
            };
            match self.jails.iter_mut().find(|j| j.name() == record.jail) {
                Some(jail) if !jail.native_ban => {
                    run_actions(jail, "ban (restored)", |a| {
                        a.ban(&action_ban(&record, target, true, &no_fields()))
                    });
                }
                Some(jail) => {
                    run_actions(jail, "ban (restored)", |a| {
                        a.ban(&action_ban(&record, target, true, &no_fields()))
                    });
                    entries.push(BanEntry {
                        target,
                        timeout: remaining(record.end, now),
                    });
                }
                // A jail no longer configured: its bans run out in our table.
                None => entries.push(BanEntry {
                    target,
                    timeout: remaining(record.end, now),
                }),
            }
            self.bans.insert(ActiveBan { target, record });
        }
        // The backend lists targets in canonical form; compare like with like.
        let known: std::collections::HashSet<Target> = entries
            .iter()
            .map(|e| e.target.canonical().unwrap_or(e.target))
            .collect();
        self.backend.ban(&entries)?;
        let extra: Vec<Target> = self
            .backend
            .list()?
            .into_iter()
            .map(|e| e.target)
            .filter(|t| !known.contains(t))
            .collect();
        if !extra.is_empty() {
            self.backend.unban(&extra)?;
        }
        Ok(())
    }

    fn start_sources(&mut self) -> Result<(), DaemonError> {
        self.generation += 1;
        let checkpoints: Vec<Checkpoint> = self.positions.values().cloned().collect();
        for (index, jail) in self.jails.iter().enumerate() {
            for pattern in &jail.settings.logpath {
                let source = LogSource::open(pattern, &checkpoints)?;
                let events = self.events.clone();
                let generation = self.generation;
                self.sources
                    .push(tokio::spawn(feed(source, index, generation, events)));
            }
        }
        Ok(())
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Lines {
                jail,
                generation,
                batch,
            } if generation == self.generation => {
                if let Err(e) = self.on_lines(jail, batch) {
                    log::error(&format!("{e}"));
                }
            }
            Event::SourceFailed {
                jail,
                generation,
                error,
            } if generation == self.generation => {
                log::error(&format!("jail {}: {error}", self.jails[jail].name()));
            }
            Event::Control { request, reply } => {
                let response = self.on_request(request);
                let _ = reply.send(response);
            }
            // From sources replaced by a reload.
            Event::Lines { .. } | Event::SourceFailed { .. } => {}
        }
    }

    fn on_lines(&mut self, jail_index: usize, batch: Batch) -> Result<(), DaemonError> {
        let now = self.clock.now();
        let jail = &mut self.jails[jail_index];
        let filter = self
            .filters
            .entry((jail_index, batch.path.clone()))
            .or_insert_with(|| jail.filter.clone());
        let mut earned = Vec::new();
        let mut found = Vec::new();
        for line in batch.lines() {
            jail.lines_read += 1;
            found.clear();
            filter.scan(line, now, &mut found);
            for failure in found.drain(..) {
                jail.total_failures += u64::from(failure.count);
                let Some(target) = target_of(&failure.host) else {
                    log::warn(&format!(
                        "jail {}: host name {} not banned (names are never resolved)",
                        jail.name(),
                        failure.host
                    ));
                    continue;
                };
                if jail.ignores(&target)
                    || jail.too_old(failure.time, now)
                    || self.bans.is_banned(jail.name(), &target)
                {
                    continue;
                }
                if let Verdict::Ban { failures, matches } =
                    jail.tracker
                        .record(target, failure.time, failure.count, line)
                {
                    // The captures of the failure that earned the ban are
                    // what fail2ban's actions see as <F-USER>, <F-…>.
                    let mut fields: Fields = failure
                        .fields
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect();
                    if let Some(user) = &failure.user {
                        fields.insert("user".into(), user.to_string());
                    }
                    if let Some(id) = &failure.id {
                        fields.insert("fid".into(), id.to_string());
                    }
                    earned.push(Earned {
                        target,
                        failures,
                        matches,
                        fields,
                    });
                }
            }
        }
        self.apply_bans(jail_index, earned, now)?;
        if let Some(cp) = batch.checkpoint {
            // After the bans: a crash in between re-reads these lines rather
            // than losing their failures.
            self.store.save_positions(&[FilePosition {
                path: cp.path.to_string_lossy().into_owned(),
                dev: cp.dev,
                inode: cp.inode,
                offset: cp.offset,
                fingerprint: cp.fingerprint,
            }])?;
            self.positions.insert(cp.path.clone(), cp);
        }
        Ok(())
    }

    /// Bans `earned` in one store transaction, then one firewall batch.
    fn apply_bans(
        &mut self,
        jail_index: usize,
        earned: Vec<Earned>,
        now: Timestamp,
    ) -> Result<(), DaemonError> {
        if earned.is_empty() {
            return Ok(());
        }
        let jail = &self.jails[jail_index];
        let end = jail.ban_end(now);
        let mut records = Vec::with_capacity(earned.len());
        let mut entries = Vec::with_capacity(earned.len());
        let mut captured = Vec::with_capacity(earned.len());
        for Earned {
            target,
            failures,
            matches,
            fields,
        } in earned
        {
            captured.push(fields);
            let name = target.to_string();
            let ban_count = self.store.ban_count(Some(jail.name()), &name)? + 1;
            records.push(BanRecord {
                jail: jail.name().to_owned(),
                target: name,
                start: now,
                end,
                failures,
                ban_count,
                matches,
            });
            entries.push(BanEntry {
                target,
                timeout: remaining(end, now),
            });
        }
        // Store first: every ban the kernel holds is then in the store.
        self.store.record_bans(&records)?;
        if jail.native_ban {
            self.backend.ban(&entries)?;
        }
        let span = match jail.settings.bantime {
            bantam_config::BanTime::Permanent => "permanently".to_owned(),
            bantam_config::BanTime::For(d) => format!("for {}", human_duration(d)),
        };
        let verb = if self.options.dry_run {
            "would ban"
        } else {
            "banned"
        };
        let messages: Vec<String> = records
            .iter()
            .map(|r| {
                format!(
                    "{}: {verb} {} {span} ({} failures)",
                    r.jail, r.target, r.failures
                )
            })
            .collect();
        log::info_many(&messages);
        let jail = &mut self.jails[jail_index];
        jail.total_banned += records.len() as u64;
        for ((record, entry), fields) in records.iter().zip(&entries).zip(&captured) {
            run_actions(jail, "ban", |a| {
                a.ban(&action_ban(record, entry.target, false, fields))
            });
        }
        for (record, entry) in records.into_iter().zip(entries) {
            jail.tracker.forget(&entry.target);
            self.bans.insert(ActiveBan {
                target: entry.target,
                record,
            });
        }
        Ok(())
    }

    fn expire(&mut self) {
        let now = self.clock.now();
        let ended = self.bans.take_ended(now);
        if ended.is_empty() {
            return;
        }
        if let Err(e) = self.store.expire(now) {
            log::error(&format!("{e}"));
        }
        // The kernel removes timed elements itself; this is for backends
        // without timeouts (dry run) and costs nothing when already gone.
        let targets: Vec<Target> = ended.iter().map(|b| b.target).collect();
        if let Err(e) = self.backend.unban(&targets) {
            log::error(&format!("{e}"));
        }
        self.unban_actions(&ended);
        let messages: Vec<String> = ended
            .iter()
            .map(|b| format!("{}: ban on {} ended", b.record.jail, b.record.target))
            .collect();
        log::info_many(&messages);
    }

    fn on_request(&mut self, request: Request) -> Response {
        match request {
            Request::Ping {} => Response::ok("pong"),
            Request::Status { jail } => self.status(jail.as_deref()),
            Request::Banned { after, limit } => {
                crate::control::banned::page(&self.bans, after.as_ref(), limit)
            }
            Request::Ban { jail, targets, .. } => self.manual_ban(&jail, &targets),
            Request::Unban { targets, all } => self.unban(&targets, all),
            Request::Reload {} => match self.reload_config() {
                Ok(()) => Response::ok("reloaded"),
                Err(e) => Response::error(format!(
                    "reload failed, still running the old configuration: {e}"
                )),
            },
            Request::Stop {} => {
                self.stop = true;
                Response::ok("stopping")
            }
        }
    }

    fn status(&self, only: Option<&str>) -> Response {
        let jails: Vec<_> = self
            .jails
            .iter()
            .filter(|j| only.is_none_or(|name| j.name() == name))
            .map(|j| j.status(self.bans.count_in(j.name())))
            .collect();
        if let (Some(name), true) = (only, jails.is_empty()) {
            return Response::error(format!("no jail named {name:?}"));
        }
        Response::ok(Status {
            backend: self.backend.name().to_owned(),
            dry_run: self.options.dry_run,
            jails,
        })
    }

    fn manual_ban(&mut self, jail: &str, targets: &[String]) -> Response {
        let Some(index) = self.jails.iter().position(|j| j.name() == jail) else {
            return Response::error(format!("no jail named {jail:?}"));
        };
        let mut parsed = Vec::new();
        for text in targets {
            match text.parse::<Target>().and_then(Target::canonical) {
                Ok(t) => parsed.push(Earned {
                    target: t,
                    failures: 0,
                    matches: vec![format!("banned by hand: {text}")],
                    fields: Fields::new(),
                }),
                Err(e) => return Response::error(format!("{text:?}: {e}")),
            }
        }
        if parsed.is_empty() {
            return Response::error("no address given");
        }
        let count = parsed.len();
        match self.apply_bans(index, parsed, self.clock.now()) {
            Ok(()) => Response::ok(format!("banned {count} in {jail}")),
            Err(e) => Response::error(e.to_string()),
        }
    }

    fn unban(&mut self, targets: &[String], all: bool) -> Response {
        if all {
            let removed = self.bans.clear();
            self.unban_actions(&removed);
            let result = self
                .store
                .remove_all()
                .map_err(DaemonError::from)
                .and_then(|_| Ok(self.backend.flush()?));
            return match result {
                Ok(()) => Response::ok(format!("lifted {} ban(s)", removed.len())),
                Err(e) => Response::error(e.to_string()),
            };
        }
        let mut parsed = Vec::new();
        for text in targets {
            match text.parse::<Target>().and_then(Target::canonical) {
                Ok(t) => parsed.push(t),
                Err(e) => return Response::error(format!("{text:?}: {e}")),
            }
        }
        if parsed.is_empty() {
            return Response::error("no address given (or use --all)");
        }
        let names: Vec<String> = parsed.iter().map(Target::to_string).collect();
        let mut lifted = 0;
        for target in &parsed {
            let removed = self.bans.remove_everywhere(target);
            self.unban_actions(&removed);
            lifted += removed.len();
            for jail in &mut self.jails {
                jail.tracker.forget(target);
            }
        }
        let result = self
            .store
            .remove_bans(None, &names)
            .map_err(DaemonError::from)
            .and_then(|_| Ok(self.backend.unban(&parsed)?));
        match result {
            Ok(()) => {
                log::info(&format!("unbanned {} by request", names.join(", ")));
                Response::ok(format!("lifted {lifted} ban(s)"))
            }
            Err(e) => Response::error(e.to_string()),
        }
    }

    /// Runs the `unban` hooks of the jails these bans belonged to.
    fn unban_actions(&mut self, ended: &[ActiveBan]) {
        for ban in ended {
            if let Some(jail) = self.jails.iter_mut().find(|j| j.name() == ban.record.jail) {
                run_actions(jail, "unban", |a| {
                    a.unban(&action_ban(&ban.record, ban.target, false, &no_fields()))
                });
            }
        }
    }

    fn reload(&mut self) {
        match self.reload_config() {
            Ok(()) => log::info("configuration reloaded"),
            Err(e) => log::error(&format!(
                "reload failed, still running the old configuration: {e}"
            )),
        }
    }

    /// Re-reads the configuration and restarts the sources from their
    /// current positions; bans and trackers of jails that remain are kept.
    fn reload_config(&mut self) -> Result<(), DaemonError> {
        notify::notify("RELOADING=1");
        if self.options.config_path.is_none() && self.options.fail2ban_config.is_none() {
            notify::notify("READY=1");
            return Ok(());
        }
        let (mut settings, warnings) = bantam_config::load_with_fail2ban(
            self.options.config_path.as_deref(),
            self.options.fail2ban_config.as_deref(),
        )?;
        for warning in &warnings {
            log::warn(warning);
        }
        settings.daemon = self.settings.daemon.clone();
        let mut old: HashMap<String, Jail> = self
            .jails
            .drain(..)
            .map(|j| (j.name().to_owned(), j))
            .collect();
        let mut jails = Vec::new();
        for s in &settings.jails {
            let mut jail = new_jail(s, settings.daemon.max_tracked, self.options.dry_run)?;
            match old.remove(&s.name) {
                Some(mut previous) => {
                    jail.total_banned = previous.total_banned;
                    jail.total_failures = previous.total_failures;
                    jail.lines_read = previous.lines_read;
                    if previous.settings.actions == jail.settings.actions {
                        jail.actions = std::mem::take(&mut previous.actions);
                    } else {
                        run_actions(&mut previous, "stop", |a| a.stop());
                        run_actions(&mut jail, "start", |a| a.start());
                    }
                    if previous.settings.maxretry == s.maxretry
                        && previous.settings.findtime == s.findtime
                    {
                        jail.tracker = previous.tracker;
                    }
                }
                None => run_actions(&mut jail, "start", |a| a.start()),
            }
            jails.push(jail);
        }
        for mut gone in old.into_values() {
            run_actions(&mut gone, "stop", |a| a.stop());
        }
        for source in self.sources.drain(..) {
            source.abort();
        }
        self.jails = jails;
        self.filters.clear();
        self.settings = settings;
        let started = self.start_sources();
        notify::notify("READY=1");
        started
    }
}

type Fields = std::collections::BTreeMap<String, String>;

/// A jail as this run needs it. A dry run touches no firewall, and
/// fail2ban's actions are firewall changes (or mail): they are listed, not
/// run.
fn new_jail(
    settings: &bantam_config::JailSettings,
    max_tracked: usize,
    dry_run: bool,
) -> Result<Jail, DaemonError> {
    let mut jail = Jail::new(settings.clone(), max_tracked)?;
    if dry_run && !jail.actions.is_empty() {
        let names: Vec<&str> = jail.actions.iter().map(|a| a.name()).collect();
        log::info(&format!(
            "jail {}: dry run: actions {} will not run",
            settings.name,
            names.join(", ")
        ));
        jail.actions.clear();
    }
    Ok(jail)
}

/// A ban a batch (or a request) earned, before it is recorded.
struct Earned {
    target: Target,
    failures: u32,
    matches: Vec<String>,
    /// Captures of the failure that tipped it (`user`, …), for actions.
    fields: Fields,
}

/// Runs one hook on every action of `jail`, logging (not propagating)
/// failures: an action is a side effect of a ban, never a reason to lose one.
fn run_actions(
    jail: &mut Jail,
    what: &str,
    mut hook: impl FnMut(&mut dyn JailAction) -> Result<(), String>,
) {
    for action in &mut jail.actions {
        if let Err(e) = hook(action.as_mut()) {
            log::error(&format!(
                "jail {}: action {} {what}: {e}",
                jail.settings.name,
                action.name()
            ));
        }
    }
}

fn no_fields() -> std::collections::BTreeMap<String, String> {
    std::collections::BTreeMap::new()
}

/// A stored ban as the action hooks see it.
fn action_ban<'a>(
    record: &'a BanRecord,
    target: Target,
    restored: bool,
    fields: &'a std::collections::BTreeMap<String, String>,
) -> ActionBan<'a> {
    ActionBan {
        jail: &record.jail,
        target,
        failures: record.failures,
        start: record.start,
        bantime: record
            .end
            .map_or(-1, |end| end.duration_since(record.start).as_secs()),
        ban_count: record.ban_count,
        matches: &record.matches,
        fields,
        restored,
    }
}

/// Time left until `end`, for the kernel (`None`: permanent). A ban that has
/// just ended gets a token second rather than "forever".
fn remaining(end: Option<Timestamp>, now: Timestamp) -> Option<std::time::Duration> {
    end.map(|end| {
        std::time::Duration::try_from(end.duration_since(now))
            .unwrap_or_default()
            .max(std::time::Duration::from_secs(1))
    })
}

async fn sleep_opt(duration: Option<std::time::Duration>) {
    match duration {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}
