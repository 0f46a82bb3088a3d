//! The daemon, top to bottom.
//!
//! One task owns all state (jails, bans, store, firewall) and runs the loop
//! in [`Daemon::run`]; everything else talks to it through one channel:
//!
//! * a task per log source sends batches of whole lines ([`crate::sources`]);
//! * the control server's tasks send requests with a reply channel
//!   ([`crate::control::server`]);
//! * the loop itself sleeps until the next ban ends (if any ends at all),
//!   until the store is retried (only while it is failing), and wakes on
//!   signals.
//!
//! With no log activity and no ban ending, nothing is scheduled: the process
//! sleeps in epoll and the CPU never wakes for it.
//!
//! What the loop does with each event lives beside it, one concern a file:
//! [`crate::pipeline`] turns lines into bans, [`crate::restore`] makes the
//! kernel agree with the store at start, [`crate::requests`] answers the
//! control socket, [`crate::reload`] swaps in a new configuration. Nothing
//! that can block runs here: actions run on their jail's thread
//! ([`crate::action_worker`]), sources in their own tasks.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bantam_config::{BackendKind, Settings};
use bantam_filter::AnyFilter;
use bantam_source::{Batch, Checkpoint};
use bantam_state::Store;
use jiff::Timestamp;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, oneshot};

use crate::backends::Backends;
use crate::bans::BanBook;
use crate::clock::Clock;
use crate::control::server::accept_loop;
use crate::control::socket::ControlSocket;
use crate::control::{Request, Response};
use crate::error::DaemonError;
use crate::jail::Jail;
use crate::recorder::Recorder;
use crate::sources::{wanted, LineSlot, Readers, SourceHealth};
use crate::{log, notify};

/// The longest a control answer waits for the actions it queued.
const ACTION_WAIT: Duration = Duration::from_secs(30);

/// What reaches the loop.
pub(crate) enum Event {
    /// Lines from the reader with this id, holding one of the readers'
    /// slots until the loop has handled them.
    Lines {
        source: u64,
        batch: Batch,
        slot: LineSlot,
    },
    /// A reader's state changed (following, waiting, failing).
    SourceHealth { source: u64, health: SourceHealth },
    Control {
        request: Request,
        reply: oneshot::Sender<Response>,
    },
    /// An `ignorecommand` answered for a parked ban.
    IgnoreAnswer(crate::ignore_command::Answer),
    /// A backend's watcher saw a change that may have removed its
    /// objects (see `firewall_watch.rs`).
    FirewallChanged(BackendKind),
    /// From the fleet's thread.
    Fleet(crate::fleet::FleetEvent),
}

/// A loop turn at least this long is reported (see [`Daemon::on_event`]).
const SLOW_TURN: Duration = Duration::from_millis(100);

impl Event {
    /// What the event is, for a log line; cheap, as it is taken for every
    /// event before knowing whether the turn will be slow.
    fn kind(&self) -> (&'static str, usize) {
        match self {
            Event::Lines { batch, .. } => ("bytes of log lines", batch.data().len()),
            Event::SourceHealth { .. } => ("a log source's state", 0),
            Event::Control { request, .. } => (request.name(), 0),
            Event::IgnoreAnswer(_) => ("an ignorecommand answer", 0),
            Event::FirewallChanged(_) => ("a firewall change", 0),
            Event::Fleet(_) => ("a fleet event", 0),
        }
    }
}

/// How the daemon was started.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The configuration file, re-read on reload (`None`: built-in default).
    pub config_path: Option<PathBuf>,
    /// A fail2ban configuration directory given on the command line, re-read
    /// on reload too.
    pub fail2ban_config: Option<PathBuf>,
    /// Log and record bans but touch no firewall.
    pub dry_run: bool,
    /// The store was just created (or replaced after corruption): the bans
    /// already in our firewall table are adopted, not removed as strays.
    pub adopt_kernel_bans: bool,
    /// `[daemon]` as the file said at start, before command-line overrides
    /// (`--socket`, `--dry-run`): what a reload compares the file with.
    pub daemon_as_loaded: Option<bantam_config::DaemonSettings>,
}

/// The daemon's state. Build with [`Daemon::new`], drive with [`Daemon::run`].
pub struct Daemon {
    pub(crate) settings: Settings,
    pub(crate) options: RunOptions,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) recorder: Recorder,
    /// Every backend a jail bans in, by kind (see [`crate::routing`]).
    pub(crate) backends: Backends,
    pub(crate) jails: Vec<Jail>,
    /// Per jail and followed path: the filter clone with that log's state.
    pub(crate) filters: HashMap<(usize, Arc<Path>), AnyFilter>,
    pub(crate) bans: BanBook,
    pub(crate) positions: HashMap<PathBuf, Checkpoint>,
    pub(crate) readers: Readers,
    pub(crate) events: mpsc::Sender<Event>,
    inbox: mpsc::Receiver<Event>,
    /// Actions the request being answered waits for (see [`Daemon::reply`]).
    pub(crate) waits: Vec<tokio::sync::oneshot::Receiver<()>>,
    /// `status` requests waiting for the store's write in flight.
    pub(crate) status_waits: crate::status_waits::StatusWaits,
    /// An `unban --all` waiting for the store's move (see `unban_all.rs`).
    pub(crate) unban_all_waiting: Option<crate::unban_all::Parked>,
    pub(crate) stop: bool,
    /// Bans waiting on an `ignorecommand`, and its remembered answers.
    pub(crate) ignore: crate::ignore_command::IgnoreCommands,
    /// Mail and webhooks, each on its own thread (see [`crate::notifications`]).
    pub(crate) notifier: bantam_notify::Notifier,
    /// The link to the fleet's thread, when `[fleet]` is configured.
    pub(crate) fleet: Option<crate::fleet::FleetLink>,
    /// Whether the backend records knocks for `extend-while-knocking`
    /// (see [`crate::knocking`]).
    pub(crate) knocks: std::collections::BTreeSet<BackendKind>,
}

impl Daemon {
    /// Builds every jail (filters compiled, actions checked) without
    /// touching the store, the firewall or any log: a configuration that
    /// cannot run fails here, before anything changes.
    pub fn prepare(settings: Settings, options: RunOptions) -> Result<Prepared, DaemonError> {
        let default = default_backend(&settings, &options);
        let jails = build_jails(&settings, default, options.dry_run)?;
        let notifier = crate::notifications::build_notifier(&settings)?;
        Ok(Prepared {
            settings,
            options,
            jails,
            notifier,
        })
    }

    /// The daemon of a prepared configuration, with its store and
    /// firewall backends (each kind of [`Prepared::backend_kinds`]; one
    /// missing is opened at [`Daemon::run`]).
    pub fn new(
        prepared: Prepared,
        clock: Arc<dyn Clock>,
        store: Box<dyn Store>,
        backends: Backends,
    ) -> Daemon {
        let Prepared {
            settings,
            options,
            jails,
            notifier,
        } = prepared;
        let (events, inbox) = mpsc::channel(1024);
        let recorder = Recorder::new(store, settings.daemon.dbpurgeage);
        Daemon {
            settings,
            options,
            clock,
            recorder,
            backends,
            jails,
            filters: HashMap::new(),
            bans: BanBook::default(),
            positions: HashMap::new(),
            readers: Readers::default(),
            events,
            inbox,
            waits: Vec::new(),
            status_waits: Default::default(),
            unban_all_waiting: None,
            stop: false,
            ignore: Default::default(),
            notifier,
            fleet: None,
            knocks: Default::default(),
        }
    }

    /// Runs until `shutdown` completes, SIGTERM/SIGINT, or a `stop` request.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<(), DaemonError> {
        // The socket first: a second instance is refused before it changes
        // anything in the firewall or the store.
        let socket = ControlSocket::bind(&self.settings.daemon.socket).await?;
        self.open_missing_backends()?;
        self.sync_knocks();
        self.backends.setup_all()?;
        for jail in &mut self.jails {
            jail.start_actions();
        }
        self.notifier.start();
        self.notify_jails(self.jails.iter().map(|j| j.name()), true);
        // Restoring 100,000 bans takes seconds: systemd's start timeout
        // is pushed back while it runs (and the status says why).
        notify::notify(notify::RESTORING);
        let restored = self.restore_firewall()?;
        // The kernel holds every saved ban: the host is protected, which is
        // what systemd waits for. What follows handles no event yet.
        notify::notify(&notify::ready(self.jails.len(), restored.len()));
        let restores = self.settle(restored);
        self.watch_firewall();
        self.recorder.purge(self.clock.now());
        self.load_positions();
        self.start_fleet();
        self.assign_sources();
        let acceptor = tokio::spawn(accept_loop(
            socket,
            self.events.clone(),
            self.settings.daemon.max_connections,
            self.settings.daemon.control_timeout,
        ));
        if let Some(addr) = self.settings.daemon.metrics {
            crate::metrics::serve(addr, self.settings.daemon.page, self.events.clone())?;
        }
        let mut signals = Signals::new()?;
        self.announce_start();
        // Restored bans re-run actions (mails, commands) only now, on their
        // jails' threads: they never delay readiness.
        self.queue_restores(restores);
        tokio::pin!(shutdown);
        while !self.stop {
            // An end waits for its ban's write; the write's return wakes
            // the loop.
            let until_next_end = self.next_end().map(|end| self.until(end));
            let retry_at = self.recorder.retry_at();
            let written = self
                .recorder
                .written()
                .filter(|_| self.recorder.in_flight());
            let status_due = self.status_waits.deadline();
            tokio::select! {
                Some(event) = self.inbox.recv() => self.on_event(event),
                () = sleep_opt(until_next_end) => self.expire(),
                () = sleep_until_opt(retry_at) => self.recorder.retry(),
                () = crate::recorder::written(written) => self.recorder.collect(),
                () = sleep_until_opt(status_due) => {}
                _ = signals.hangup.recv() => self.reload(),
                _ = signals.terminate.recv() => break,
                _ = signals.interrupt.recv() => break,
                () = &mut shutdown => break,
            }
            self.answer_parked_status(false);
            self.answer_unban_all();
        }
        self.shut_down(acceptor).await;
        Ok(())
    }

    fn announce_start(&self) {
        log::info(&format!(
            "started: {} jail(s), {} ban(s) in force, backend {}{}",
            self.jails.len(),
            self.bans.len(),
            self.backends.names(),
            if self.options.dry_run {
                " (dry run: no firewall changes)"
            } else {
                ""
            }
        ));
    }

    async fn shut_down(&mut self, acceptor: tokio::task::JoinHandle<()>) {
        notify::notify("STOPPING=1");
        self.answer_parked_status(true);
        if self.unban_all_waiting.is_some() {
            // Its move is in flight: the answer says how it went.
            self.recorder.settle();
            self.answer_unban_all();
        }
        // Let control tasks deliver answers already given (the reply to
        // `stop` itself): on this single-threaded runtime a few yields run
        // every task that is ready.
        for _ in 0..8 {
            tokio::task::yield_now().await;
        }
        acceptor.abort();
        self.readers.stop_all();
        self.stop_fleet();
        for jail in &mut self.jails {
            jail.stop_actions_and_wait();
        }
        self.stop_notifications();
        if self.recorder.unrecorded() > 0 {
            log::error(&format!(
                "stopping with {} ban(s) the store did not take; they stay in the firewall \
                 until their timeout, and their log lines are read again at the next start",
                self.recorder.unrecorded()
            ));
        }
        log::info("stopped; bans stay in the firewall until they end");
    }

    /// Time from now until `end`, for a sleep.
    fn until(&self, end: Timestamp) -> Duration {
        Duration::try_from(end.duration_since(self.clock.now())).unwrap_or_default()
    }

    fn load_positions(&mut self) {
        match self.recorder.store().load_positions() {
            Ok(positions) => {
                for p in positions {
                    let cp = Checkpoint {
                        path: PathBuf::from(&p.path),
                        dev: p.dev,
                        inode: p.inode,
                        offset: p.offset,
                        fingerprint: p.fingerprint,
                    };
                    self.positions.insert(cp.path.clone(), cp);
                }
            }
            // Without positions, logs are read from their start; failures
            // older than findtime are ignored, so nothing is banned twice
            // and nothing recent is lost.
            Err(e) => log::error(&format!(
                "cannot read saved log positions ({}); logs are read from their beginning",
                crate::error::chain(&e)
            )),
        }
    }

    /// Starts, keeps or stops readers so that every jail's logpaths are read
    /// once each.
    pub(crate) fn assign_sources(&mut self) {
        let wanted = wanted(
            self.jails
                .iter()
                .enumerate()
                .map(|(i, j)| (i, j.settings.logpath.as_slice())),
        );
        let checkpoints: Vec<Checkpoint> = self.positions.values().cloned().collect();
        self.readers.options.journal_dir = self.settings.daemon.journal_dir.clone();
        self.readers.assign(wanted, &checkpoints, &self.events);
    }

    /// One event, timed: a turn this long delayed every ban behind it, so
    /// the admin is told which kind of work did it (a huge batch, a slow
    /// request), rather than left to guess at late bans.
    fn on_event(&mut self, event: Event) {
        let (kind, size) = event.kind();
        let began = std::time::Instant::now();
        self.handle(event);
        let took = began.elapsed();
        if took >= SLOW_TURN {
            let what = match size {
                0 => kind.to_owned(),
                n => format!("{n} {kind}"),
            };
            log::warn(&format!(
                "a turn of the loop took {} ms ({what}); bans waited meanwhile",
                took.as_millis()
            ));
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Lines {
                source,
                batch,
                slot,
            } => {
                self.on_lines(source, batch);
                drop(slot);
            }
            Event::SourceHealth { source, health } => self.on_source_health(source, health),
            Event::Fleet(event) => self.on_fleet(event),
            Event::Control {
                request: request @ (Request::FleetStatus {} | Request::FleetBanned {}),
                reply,
            } => self.fleet_request(request, reply),
            Event::Control {
                request: Request::Status { jail },
                reply,
            } if self.recorder.in_flight() => {
                let jobs_back = self.recorder.jobs_back();
                let now = tokio::time::Instant::now();
                self.status_waits.park(jail, reply, jobs_back, now);
            }
            Event::Control {
                request:
                    Request::Unban {
                        all: true,
                        jail: None,
                        ..
                    },
                reply,
            } => self.unban_all_parked(reply),
            Event::Control { request, reply } => {
                let response = self.on_request(request);
                self.reply(reply, response);
            }
            Event::IgnoreAnswer(answer) => self.on_ignore_answer(answer),
            Event::FirewallChanged(kind) => self.repair_firewall(kind),
        }
    }

    /// Sends `response`, once the actions the request queued have run when
    /// it queued any: `bantam unban` in a jail whose ban *is* an action
    /// (fail2ban's iptables commands) returns when the address is free,
    /// yet the loop goes on meanwhile. A hung action delays only this
    /// answer, and at most by [`ACTION_WAIT`].
    pub(crate) fn reply(&mut self, reply: oneshot::Sender<Response>, response: Response) {
        let waits = std::mem::take(&mut self.waits);
        if waits.is_empty() {
            let _ = reply.send(response);
            return;
        }
        tokio::spawn(async move {
            let all = async {
                for wait in waits {
                    let _ = wait.await;
                }
            };
            let _ = tokio::time::timeout(ACTION_WAIT, all).await;
            let _ = reply.send(response);
        });
    }

    fn on_source_health(&mut self, source: u64, health: SourceHealth) {
        let Some((path, reader)) = self.readers.by_id(source) else {
            return;
        };
        let names: Vec<&str> = reader
            .jails
            .iter()
            .filter_map(|&i| self.jails.get(i).map(Jail::name))
            .collect();
        let jails = names.join(", ");
        match &health {
            SourceHealth::Failed(why) => {
                log::source(&jails, path, "failed", why, tracing::Level::ERROR)
            }
            SourceHealth::Waiting(why) => {
                log::source(&jails, path, "waiting", why, tracing::Level::WARN)
            }
            SourceHealth::Following if reader.health != SourceHealth::Starting => {
                log::source(&jails, path, "following again", "", tracing::Level::INFO)
            }
            _ => {}
        }
        reader.health = health;
    }
}

pub(crate) type Fields = std::collections::BTreeMap<String, String>;

/// A configuration whose every jail is built: what [`Daemon::new`] runs.
pub struct Prepared {
    settings: Settings,
    options: RunOptions,
    jails: Vec<Jail>,
    notifier: bantam_notify::Notifier,
}

impl Prepared {
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The kind of jails without `banaction` (dry-run in a dry run).
    pub fn default_backend(&self) -> BackendKind {
        default_backend(&self.settings, &self.options)
    }

    /// Every backend kind this configuration bans in: the default and
    /// each jail's. Open them all before [`Daemon::new`].
    pub fn backend_kinds(&self) -> std::collections::BTreeSet<BackendKind> {
        let mut kinds: std::collections::BTreeSet<BackendKind> =
            self.jails.iter().filter_map(|j| j.backend).collect();
        kinds.insert(self.default_backend());
        kinds
    }

    /// The store cannot know which bans are in force (it was just created,
    /// or replaced after corruption): keep what the firewall holds.
    pub fn adopt_kernel_bans(&mut self) {
        self.options.adopt_kernel_bans = true;
    }
}

/// The kind of jails without `banaction`: `[daemon] backend`, or dry-run
/// in a dry run whatever the file says.
fn default_backend(settings: &Settings, options: &RunOptions) -> BackendKind {
    match options.dry_run {
        true => BackendKind::DryRun,
        false => settings.daemon.backend,
    }
}

/// Every jail of `settings`, built as this run needs it, banning in its
/// `banaction` or `default`. A dry run touches no firewall: every jail's
/// bans go to the dry-run backend, and fail2ban's actions are firewall
/// changes (or mail): they are listed, not run.
pub(crate) fn build_jails(
    settings: &Settings,
    default: BackendKind,
    dry_run: bool,
) -> Result<Vec<Jail>, DaemonError> {
    settings
        .jails
        .iter()
        .map(|j| {
            let backend = match dry_run {
                true => j.native_ban.then_some(BackendKind::DryRun),
                false => j.backend(default),
            };
            let mut jail = Jail::new(j.clone(), settings.daemon.max_tracked, backend)?;
            if dry_run && jail.has_actions() {
                log::info(&format!(
                    "jail {}: dry run: actions {} will not run",
                    j.name,
                    jail.action_names().join(", ")
                ));
                jail.drop_actions();
            }
            Ok(jail)
        })
        .collect()
}

/// Time left until `end`, for the kernel (`None`: permanent). A ban that has
/// just ended gets a token second rather than "forever".
pub(crate) fn remaining(end: Option<Timestamp>, now: Timestamp) -> Option<Duration> {
    end.map(|end| {
        Duration::try_from(end.duration_since(now))
            .unwrap_or_default()
            .max(Duration::from_secs(1))
    })
}

async fn sleep_opt(duration: Option<Duration>) {
    match duration {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

async fn sleep_until_opt(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The signals the loop listens to.
struct Signals {
    hangup: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Signals, DaemonError> {
        let listen = |kind: SignalKind, name: &str| {
            signal(kind).map_err(|e| DaemonError::Runtime(format!("{name} handler: {e}")))
        };
        Ok(Signals {
            hangup: listen(SignalKind::hangup(), "SIGHUP")?,
            terminate: listen(SignalKind::terminate(), "SIGTERM")?,
            interrupt: listen(SignalKind::interrupt(), "SIGINT")?,
        })
    }
}

#[cfg(test)]
#[path = "daemon_tests.rs"]
pub(crate) mod tests;
