//! The fleet as the loop sees it: bans of shared jails published, bans
//! from other hosts applied, all through the one door, [`Daemon::apply_bans`].
//!
//! A ban from another host is a request like `bantam ban` without
//! `--force`: this host's own rules decide. It is refused when the address
//! is in the jail's `ignoreip`, is one of this host's own addresses, or is
//! wider than `manual-ban-widest-*`; it lasts what this host's policy
//! plans (escalation included), but never longer than the fleet's ban.
//! It lands in the jail of the same name; a host without that jail
//! ignores it. Bans applied from the fleet are not published again.
//!
//! The database is touched only by the fleet's thread
//! ([`crate::fleet_worker`]); this side only sends and receives messages,
//! so the loop never waits for the network.

use std::path::Path;
use std::time::Duration;

use bantam_config::fleet_settings::FleetSettings;
use bantam_config::BanTime;
use bantam_firewall::Target;
use bantam_state::{
    BanRecord, ChangeKind, FleetChange, FleetDatabase, FleetFailure, FleetQueue, FleetWrite,
};
use jiff::Timestamp;
use tokio::sync::{mpsc, oneshot};

use crate::control::{Request, Response};
use crate::daemon::{Daemon, Fields};
use crate::fleet_worker::Worker;
use crate::guard::{own_addresses, refusal, Widest};
use crate::log;
use crate::pipeline::Earned;

/// What the loop receives from the fleet's thread.
pub(crate) enum FleetEvent {
    /// Other hosts' changes, in the fleet's order.
    Changes(Vec<FleetChange>),
    /// The link's state, for `status`.
    Link(String),
}

/// What the loop sends the fleet's thread.
pub(crate) enum ToFleet {
    Publish(Vec<FleetWrite>),
    Failures {
        jail: String,
        failures: Vec<FleetFailure>,
    },
    Status(oneshot::Sender<Response>),
    Banned(oneshot::Sender<Response>),
}

/// A shared jail's policy, for counting failures fleet-wide.
#[derive(Clone, Debug)]
pub(crate) struct JailPolicy {
    pub name: String,
    pub maxretry: u32,
    pub findtime: Duration,
    pub bantime: BanTime,
}

/// The loop's end of the link.
pub(crate) struct FleetLink {
    settings: FleetSettings,
    to_worker: mpsc::UnboundedSender<ToFleet>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// What `status` shows.
    pub state: String,
    /// Set while applying the fleet's own bans: they are not published back.
    applying: bool,
}

impl Daemon {
    /// Starts the fleet's thread when `[fleet]` is configured.
    pub(crate) fn start_fleet(&mut self) {
        let Some(settings) = self.settings.fleet.clone() else {
            return;
        };
        let queue_path = match self.options.dry_run {
            true => Path::new(":memory:").to_owned(),
            false => self.settings.daemon.state_dir.join("fleet.db"),
        };
        let queue = match FleetQueue::open(&queue_path, settings.queue_size) {
            Ok(q) => q,
            Err(e) => {
                log::error(&format!("fleet: {e}; bans are not shared"));
                return;
            }
        };
        let jails = self
            .jails
            .iter()
            .filter(|j| settings.shares(j.name()))
            .map(|j| JailPolicy {
                name: j.name().to_owned(),
                maxretry: j.settings.maxretry,
                findtime: j.settings.findtime,
                bantime: j.settings.bantime,
            })
            .collect();
        let db = FleetDatabase {
            url: settings.database.clone(),
            password_file: settings.password_file.clone(),
            password_env: settings.password_env.clone(),
        };
        let origin = self.settings.daemon.server_name();
        let worker = Worker::new(
            db,
            origin,
            settings.clone(),
            jails,
            queue,
            self.events.clone(),
        );
        let (to_worker, inbox) = mpsc::unbounded_channel();
        let thread = std::thread::Builder::new()
            .name("bantam-fleet".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                match runtime {
                    Ok(rt) => rt.block_on(worker.run(inbox)),
                    Err(e) => log::error(&format!("fleet: cannot start its runtime: {e}")),
                }
            });
        match thread {
            Ok(thread) => {
                self.fleet = Some(FleetLink {
                    settings,
                    to_worker,
                    thread: Some(thread),
                    state: "connecting".into(),
                    applying: false,
                })
            }
            Err(e) => log::error(&format!("fleet: cannot start its thread: {e}")),
        }
    }

    /// Lets the fleet's thread publish what it holds, for a few seconds
    /// at most: it saves what it cannot publish in its queue.
    pub(crate) fn stop_fleet(&mut self) {
        let Some(mut link) = self.fleet.take() else {
            return;
        };
        drop(link.to_worker);
        let Some(thread) = link.thread.take() else {
            return;
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !thread.is_finished() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub(crate) fn on_fleet(&mut self, event: FleetEvent) {
        match event {
            FleetEvent::Changes(changes) => self.apply_fleet_changes(changes),
            FleetEvent::Link(state) => {
                if let Some(link) = &mut self.fleet {
                    link.state = state;
                }
            }
        }
    }

    /// `fleet status` and `banned --fleet` are answered by the fleet's
    /// thread, straight to the client.
    pub(crate) fn fleet_request(&mut self, request: Request, reply: oneshot::Sender<Response>) {
        let Some(link) = &self.fleet else {
            let _ = reply.send(Response::error("no [fleet] in the configuration"));
            return;
        };
        let message = match request {
            Request::FleetBanned {} => ToFleet::Banned(reply),
            _ => ToFleet::Status(reply),
        };
        let _ = link.to_worker.send(message);
    }

    /// The fleet link's state for `status` (`None`: no fleet).
    pub(crate) fn fleet_state(&self) -> Option<String> {
        self.fleet.as_ref().map(|l| l.state.clone())
    }

    /// Publishes bans just applied, when their jail is shared and they did
    /// not come from the fleet.
    pub(crate) fn fleet_publish(&self, records: &[BanRecord]) {
        let Some(link) = &self.fleet else { return };
        if link.applying {
            return;
        }
        let writes: Vec<FleetWrite> = records
            .iter()
            .filter(|r| link.settings.shares(&r.jail))
            .map(|r| FleetWrite {
                kind: ChangeKind::Ban,
                jail: r.jail.clone(),
                target: r.target.clone(),
                start: r.start,
                end: r.end,
                ban_count: r.ban_count,
                failures: r.failures,
            })
            .collect();
        if !writes.is_empty() {
            let _ = link.to_worker.send(ToFleet::Publish(writes));
        }
    }

    /// Failures just counted in a shared jail, when counted fleet-wide.
    pub(crate) fn fleet_failures(&self, jail_index: usize, counted: Vec<(Target, Timestamp, u32)>) {
        let Some(link) = &self.fleet else { return };
        let jail = self.jails[jail_index].name();
        if counted.is_empty() || !link.settings.count_failures || !link.settings.shares(jail) {
            return;
        }
        let failures = counted
            .into_iter()
            .map(|(target, at, count)| FleetFailure {
                jail: jail.to_owned(),
                target: target.to_string(),
                at,
                count,
            })
            .collect();
        let _ = link.to_worker.send(ToFleet::Failures {
            jail: jail.to_owned(),
            failures,
        });
    }

    /// `unban --fleet`: lifted here (as any unban), and published so that
    /// every host lifts it.
    pub(crate) fn unban_fleet(&mut self, targets: &[String]) -> Response {
        let Some(link) = &self.fleet else {
            return Response::error("unban --fleet: no [fleet] in the configuration");
        };
        let now = self.clock.now();
        let mut writes = Vec::new();
        for text in targets {
            match text.parse::<Target>().and_then(Target::canonical) {
                Ok(t) => writes.push(FleetWrite {
                    kind: ChangeKind::Unban,
                    jail: String::new(),
                    target: t.to_string(),
                    start: now,
                    end: None,
                    ban_count: 0,
                    failures: 0,
                }),
                Err(e) => return Response::error(format!("{text:?}: {e}")),
            }
        }
        let _ = link.to_worker.send(ToFleet::Publish(writes));
        let response = self.unban(targets, false);
        log::info(&format!(
            "fleet: asked every host to lift {}",
            targets.join(", ")
        ));
        response
    }

    fn apply_fleet_changes(&mut self, changes: Vec<FleetChange>) {
        let now = self.clock.now();
        let own = own_addresses();
        let mut run: Option<(usize, Vec<Earned>)> = None;
        for change in changes {
            if change.write.kind == ChangeKind::Unban {
                self.apply_run(run.take(), now);
                self.lift_for_fleet(&change);
                continue;
            }
            let Some(index) = self
                .jails
                .iter()
                .position(|j| j.name() == change.write.jail)
            else {
                continue;
            };
            let Some(earned) = self.fleet_earned(index, &change, now, &own) else {
                continue;
            };
            match &mut run {
                Some((jail, bans)) if *jail == index => bans.push(earned),
                _ => {
                    self.apply_run(run.take(), now);
                    run = Some((index, vec![earned]));
                }
            }
        }
        self.apply_run(run, now);
    }

    fn apply_run(&mut self, run: Option<(usize, Vec<Earned>)>, now: Timestamp) {
        let Some((index, earned)) = run else { return };
        if let Some(link) = &mut self.fleet {
            link.applying = true;
        }
        self.apply_bans(index, earned, now);
        if let Some(link) = &mut self.fleet {
            link.applying = false;
        }
    }

    /// The ban as this host would take it, or `None` (said in the log)
    /// when this host's rules refuse it.
    fn fleet_earned(
        &self,
        index: usize,
        change: &FleetChange,
        now: Timestamp,
        own: &[std::net::IpAddr],
    ) -> Option<Earned> {
        let w = &change.write;
        let target = match w.target.parse::<Target>().and_then(Target::canonical) {
            Ok(t) => t,
            Err(e) => {
                log::warn(&format!(
                    "fleet: {} sent {:?}: {e}",
                    change.origin, w.target
                ));
                return None;
            }
        };
        let bantime = match w.end {
            None => BanTime::Permanent,
            Some(end) if end <= now => return None,
            Some(end) => {
                BanTime::For(Duration::try_from(end.duration_since(now)).unwrap_or_default())
            }
        };
        let jail = &self.jails[index];
        let widest = Widest {
            v4: self.settings.daemon.manual_ban_widest_v4,
            v6: self.settings.daemon.manual_ban_widest_v6,
        };
        if let Some(why) = refusal(&target, widest, jail.ignores(&target), own) {
            log::info(&format!(
                "{}: not banning {} from fleet host {}: {why}",
                jail.name(),
                w.target,
                change.origin
            ));
            return None;
        }
        Some(Earned {
            target,
            failures: w.failures,
            matches: vec![format!("banned by fleet host {}", change.origin)],
            fields: Fields::new(),
            bantime: Some(bantime),
            by_hand: None,
        })
    }

    fn lift_for_fleet(&mut self, change: &FleetChange) {
        log::info(&format!(
            "fleet: {} lifted {} everywhere",
            change.origin, change.write.target
        ));
        let _ = self.unban(std::slice::from_ref(&change.write.target), false);
        // Nobody waits for these actions (no request is being answered).
        self.waits.clear();
    }
}
