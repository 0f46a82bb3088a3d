//! Answers to control requests. Each runs on the loop, so each is short: a
//! lookup, or a change that goes through the same ban pipeline as lines do.

use bantam_firewall::Target;

use crate::control::protocol::{BanInfo, SourceStatus};
use crate::control::{Request, Response, Status};
use crate::daemon::{Daemon, Fields};
use crate::error::chain;
use crate::guard::{own_addresses, refusal, Widest};
use crate::log;
use crate::pipeline::{ByHand, Earned};

impl Daemon {
    /// The last matched line of listed bans the book keeps no line for
    /// (it keeps them only for jails with actions): one store read per
    /// page. A store that cannot answer leaves them out; one already known
    /// to be failing (the admin was told once) is not asked, so a listing
    /// of a million bans does not repeat the warning on every page.
    pub(crate) fn fill_last_matches(&mut self, bans: &mut [BanInfo]) {
        if self.recorder.degraded().is_some() {
            return;
        }
        let wanted: Vec<usize> = (0..bans.len())
            .filter(|&i| bans[i].last_match.is_none() && bans[i].origin == "log")
            .collect();
        if wanted.is_empty() {
            return;
        }
        let keys: Vec<(&str, &str)> = wanted
            .iter()
            .map(|&i| (bans[i].jail.as_str(), bans[i].target.as_str()))
            .collect();
        match self.recorder.store().last_matches(&keys) {
            Ok(lines) => {
                for (i, line) in wanted.into_iter().zip(lines) {
                    bans[i].last_match = line;
                }
            }
            Err(e) => log::warn(&format!("listing bans: matched lines: {}", chain(&e))),
        }
    }

    /// Answers the `status` requests whose write came back or that waited
    /// long enough (every one, with `all`: at shutdown).
    pub(crate) fn answer_parked_status(&mut self, all: bool) {
        let parked = if all {
            self.status_waits.all()
        } else {
            let now = tokio::time::Instant::now();
            self.status_waits.due(self.recorder.jobs_back(), now)
        };
        for p in parked {
            let response = self.status(p.jail.as_deref());
            let _ = p.reply.send(response);
        }
    }

    pub(crate) fn on_request(&mut self, request: Request) -> Response {
        match request {
            Request::Ping {} => Response::ok("pong"),
            Request::Status { jail } => self.status(jail.as_deref()),
            Request::Banned { after, limit, jail } => {
                let flags = |b: &crate::bans::ActiveBan| self.ban_flags(b);
                let mut page = crate::control::banned::page_of(
                    &self.bans,
                    jail.as_deref(),
                    after.as_ref(),
                    limit,
                    &flags,
                );
                if let Some(page) = page.page.as_mut() {
                    self.mark_knocking(&mut page.bans);
                    self.fill_last_matches(&mut page.bans);
                }
                self.with_steps(page)
            }
            Request::Ban {
                jail,
                targets,
                force,
                bantime_seconds,
                reason,
            } => match by_hand(bantime_seconds, reason) {
                Ok(by_hand) => self.manual_ban(&jail, &targets, force, by_hand),
                Err(refusal) => Response::error(refusal),
            },
            Request::Unban {
                targets,
                all,
                jail: Some(jail),
            } => self.unban_in(&jail, &targets, all),
            Request::Unban {
                targets,
                all,
                jail: None,
            } => self.unban(&targets, all),
            Request::Reload {} => match self.reload_config() {
                Ok(message) => {
                    log::info(&format!("{message} (by request)"));
                    Response::ok(message)
                }
                Err(e) => {
                    let message = format!(
                        "reload failed, still running the old configuration: {}",
                        chain(&e)
                    );
                    log::error(&message);
                    Response::error(message)
                }
            },
            Request::Metrics {} => Response::ok(self.metrics_snapshot()),
            Request::Stop {} => {
                self.stop = true;
                Response::ok("stopping")
            }
            Request::FleetUnban { targets } => self.unban_fleet(&targets),
            // Answered by the fleet's thread (see `Daemon::on_event`).
            Request::FleetStatus {} | Request::FleetBanned {} => {
                Response::error("no [fleet] in the configuration")
            }
        }
    }

    fn status(&mut self, only: Option<&str>) -> Response {
        let mut jails: Vec<_> = self
            .jails
            .iter()
            .filter(|j| only.is_none_or(|name| j.name() == name))
            .map(|j| j.status(self.bans.count_in(j.name()), self.sources_of(j)))
            .collect();
        if let (Some(name), true) = (only, jails.is_empty()) {
            return Response::error(format!("no jail named {name:?}"));
        }
        for jail in jails.iter_mut().filter(|_| only.is_some()) {
            let mut bans = self.jail_bans(&jail.name, crate::control::protocol::PAGE);
            self.mark_knocking(&mut bans);
            self.fill_last_matches(&mut bans);
            jail.bans = Some(bans);
        }
        // The store's health as of the last write that came back; the loop
        // answers a `status` asked during a write once it is back (see
        // `crate::status_waits`), and never waits for it.
        self.recorder.collect();
        Response::ok(Status {
            backend: self.backends.names(),
            dry_run: self.options.dry_run,
            store: self.recorder.degraded(),
            jails,
            notify: self.notifier.status(),
            fleet: self.fleet_state(),
        })
    }

    fn metrics_snapshot(&self) -> crate::control::protocol::MetricsSnapshot {
        let jails = self
            .jails
            .iter()
            .map(|j| crate::control::protocol::JailMetrics {
                status: j.status(self.bans.count_in(j.name()), self.sources_of(j)),
                evicted: j.tracker.evicted(),
            })
            .collect();
        crate::control::protocol::MetricsSnapshot {
            jails,
            store_healthy: self.recorder.degraded().is_none(),
        }
    }

    fn sources_of(&self, jail: &crate::jail::Jail) -> Vec<SourceStatus> {
        jail.settings
            .logpath
            .iter()
            .map(|path| SourceStatus {
                logpath: path.clone(),
                state: self
                    .readers
                    .get(path)
                    .map_or_else(|| "not started".to_owned(), |r| r.health.to_string()),
            })
            .collect()
    }

    fn manual_ban(
        &mut self,
        jail: &str,
        targets: &[String],
        force: bool,
        by_hand: ByHand,
    ) -> Response {
        let Some(index) = self.jails.iter().position(|j| j.name() == jail) else {
            return Response::error(format!("no jail named {jail:?}"));
        };
        let own = if force { Vec::new() } else { own_addresses() };
        let mut earned = Vec::new();
        for text in targets {
            let target = match text.parse::<Target>().and_then(Target::canonical) {
                Ok(t) => t,
                Err(e) => return Response::error(format!("{text:?}: {e}")),
            };
            if !force {
                let ignored = self.jails[index].ignores(&target);
                let widest = Widest {
                    v4: self.settings.daemon.manual_ban_widest_v4,
                    v6: self.settings.daemon.manual_ban_widest_v6,
                };
                if let Some(why) = refusal(&target, widest, ignored, &own) {
                    return Response::error(format!(
                        "{text}: refused: {why} (use --force if you mean it)"
                    ));
                }
            }
            earned.push(Earned {
                target,
                failures: 0,
                matches: vec![format!("banned by hand: {text}")],
                fields: Fields::new(),
                bantime: None,
                by_hand: Some(by_hand.clone()),
            });
        }
        if earned.is_empty() {
            return Response::error("no address given");
        }
        let asked = earned.len();
        let banned = self.apply_bans(index, earned, self.clock.now());
        // No log line repeats a ban by hand after a crash: on disk before
        // the answer.
        self.recorder.settle();
        self.waits.extend(self.jails[index].barrier());
        let already = asked - banned;
        log::info(&format!("{jail}: {banned} banned by request"));
        if already > 0 {
            Response::ok(format!(
                "banned {banned} in {jail} ({already} already banned)"
            ))
        } else {
            Response::ok(format!("banned {banned} in {jail}"))
        }
    }

    pub(crate) fn unban(&mut self, targets: &[String], all: bool) -> Response {
        if all {
            return self.unban_all();
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
        for (target, name) in parsed.iter().zip(&names) {
            let removed = self.bans.remove_everywhere(target);
            self.unban_actions(&removed);
            lifted += removed.len();
            self.recorder.forget(None, name);
            for jail in &mut self.jails {
                jail.tracker.forget(target);
            }
        }
        self.wait_for_actions();
        let stored = self.recorder.store().remove_bans(None, &names);
        // Lifted in every jail, so from every backend.
        let kernel = self.backends.unban_everywhere(&parsed);
        log::info(&format!("unbanned {} by request", names.join(", ")));
        match (stored, kernel) {
            (_, Err(e)) => Response::error(format!("firewall: {}", chain(&e))),
            (Err(e), Ok(())) => Response::error(format!(
                "lifted {lifted} ban(s) in the firewall, but the store failed: {}",
                chain(&e)
            )),
            (Ok(_), Ok(())) => Response::ok(format!("lifted {lifted} ban(s)")),
        }
    }
}

/// The duration and reason of `bantam ban`, checked.
fn by_hand(bantime_seconds: Option<u64>, reason: Option<String>) -> Result<ByHand, String> {
    if bantime_seconds == Some(0) {
        return Err("ban time must be at least 1 second".into());
    }
    let reason = match reason.map(|r| r.trim().to_owned()) {
        Some(r) if r.contains('\n') => {
            return Err("reason must be one line".into());
        }
        Some(r) if r.len() > MAX_REASON => {
            return Err(format!(
                "reason too long ({} bytes, at most {MAX_REASON})",
                r.len()
            ));
        }
        Some(r) if !r.is_empty() => r,
        _ => crate::control::protocol::MANUAL_REASON.to_owned(),
    };
    Ok(ByHand {
        reason,
        lasting: bantime_seconds.map(std::time::Duration::from_secs),
    })
}

/// A reason is a note for people, kept with every ban it is given to.
const MAX_REASON: usize = 512;

impl Daemon {
    /// The answer waits for every jail's queued actions (unbans may touch
    /// any jail).
    pub(crate) fn wait_for_actions(&mut self) {
        let waits: Vec<_> = self.jails.iter().filter_map(|j| j.barrier()).collect();
        self.waits.extend(waits);
    }
}
