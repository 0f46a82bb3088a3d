//! The fleet's thread: the only code that talks to the fleet database.
//!
//! It runs its own small runtime, so a slow or unreachable database never
//! delays the daemon's loop. The loop sends it what to publish (bans of
//! shared jails, `unban --fleet`, failures when counted fleet-wide) and
//! questions (`fleet status`, `banned --fleet`); it sends the loop the
//! changes other hosts made, in the fleet's order, and the link's state.
//!
//! * **Catch-up, then listen**: after (re)connecting it replays every
//!   change after the last one it saw (kept in `fleet.db`), skipping ended
//!   bans, then wakes on `NOTIFY` only: an idle fleet costs one wake-up a
//!   minute (the heartbeat that `fleet status` shows as last contact).
//! * **Unreachable**: writes go to the local queue (bounded, oldest
//!   dropped first), the link is retried with back-off (0.5 s doubling to
//!   5 s), and once back the queue is published oldest first before
//!   anything new. Local banning never notices.

use std::collections::HashMap;
use std::time::Duration;

use bantam_config::fleet_settings::FleetSettings;
use bantam_state::{
    ChangeKind, FleetChange, FleetDatabase, FleetError, FleetFailure, FleetQueue, FleetStore,
    FleetWrite, PgFleet,
};
use jiff::{SignedDuration, Timestamp};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::control::Response;
use crate::daemon::Event;
use crate::fleet::{FleetEvent, JailPolicy, ToFleet};
use crate::log;

const FIRST_RETRY: Duration = Duration::from_millis(500);
const LAST_RETRY: Duration = Duration::from_secs(5);
const HEARTBEAT: Duration = Duration::from_secs(60);
/// Failures wait this long for company before they are published.
const FAILURE_BATCH: Duration = Duration::from_millis(200);
/// Changes read per query while catching up, and writes per publish.
const PAGE: usize = 5000;

pub(crate) struct Worker {
    pub db: FleetDatabase,
    pub origin: String,
    pub settings: FleetSettings,
    pub jails: Vec<JailPolicy>,
    pub queue: FleetQueue,
    pub events: mpsc::Sender<Event>,
    pg: Option<PgFleet>,
    cursor: i64,
    backoff: Duration,
    retry_at: Option<Instant>,
    down_since: Option<(Timestamp, String)>,
    failures: HashMap<String, Vec<FleetFailure>>,
    flush_at: Option<Instant>,
    /// Targets this host banned fleet-wide by counting, until their end:
    /// further failures of theirs are not published again.
    counted: HashMap<(String, String), Option<Timestamp>>,
}

impl Worker {
    pub fn new(
        db: FleetDatabase,
        origin: String,
        settings: FleetSettings,
        jails: Vec<JailPolicy>,
        queue: FleetQueue,
        events: mpsc::Sender<Event>,
    ) -> Worker {
        Worker {
            db,
            origin,
            settings,
            jails,
            queue,
            events,
            pg: None,
            cursor: 0,
            backoff: FIRST_RETRY,
            retry_at: None,
            down_since: None,
            failures: HashMap::new(),
            flush_at: None,
            counted: HashMap::new(),
        }
    }

    pub async fn run(mut self, mut inbox: mpsc::UnboundedReceiver<ToFleet>) {
        self.cursor = match self.queue.last_change() {
            Ok(c) => c.unwrap_or(0),
            Err(e) => {
                log::error(&format!("fleet: {e}; catching up from the first change"));
                0
            }
        };
        self.connect().await;
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                message = inbox.recv() => match message {
                    Some(m) => self.on_message(m).await,
                    None => break,
                },
                note = notified(&mut self.pg) => match note {
                    Some(_) => self.catch_up().await,
                    None => self.lost("the connection closed".into()).await,
                },
                () = sleep_until(self.retry_at) => self.connect().await,
                () = sleep_until(self.flush_at) => self.flush_failures().await,
                _ = heartbeat.tick() => self.heartbeat().await,
            }
        }
        // Failures still waiting are worth one last try.
        self.flush_failures().await;
    }

    async fn on_message(&mut self, message: ToFleet) {
        match message {
            ToFleet::Publish(writes) => self.publish(writes).await,
            ToFleet::Failures { jail, failures } => {
                self.failures.entry(jail).or_default().extend(failures);
                self.flush_at.get_or_insert(Instant::now() + FAILURE_BATCH);
            }
            ToFleet::Status(reply) => {
                let status = self.status().await;
                let _ = reply.send(status);
            }
            ToFleet::Banned(reply) => {
                let _ = reply.send(self.banned().await);
            }
        }
    }

    async fn connect(&mut self) {
        self.retry_at = None;
        match PgFleet::connect(&self.db, &self.origin).await {
            Ok(pg) => {
                self.pg = Some(pg);
                self.backoff = FIRST_RETRY;
                if let Some((since, _)) = self.down_since.take() {
                    log::info(&format!(
                        "fleet: database reachable again (down since {since}); publishing {} queued write(s)",
                        self.queue.len().unwrap_or(0)
                    ));
                } else {
                    log::info(&format!(
                        "fleet: joined as {} ({})",
                        self.origin,
                        self.db.redacted()
                    ));
                }
                self.flush_queue().await;
                self.catch_up().await;
                self.tell_state().await;
            }
            Err(e) => self.lost(e.to_string()).await,
        }
    }

    /// The link is down: retry later, say so once.
    async fn lost(&mut self, reason: String) {
        self.pg = None;
        if self.down_since.is_none() {
            log::error(&format!(
                "fleet: database unreachable ({reason}); banning goes on locally, \
                 shared bans are queued and published when it is back"
            ));
            self.down_since = Some((Timestamp::now(), reason));
        } else if let Some((_, r)) = &mut self.down_since {
            *r = reason;
        }
        self.retry_at = Some(Instant::now() + self.backoff);
        self.backoff = (self.backoff * 2).min(LAST_RETRY);
        self.tell_state().await;
    }

    async fn tell_state(&mut self) {
        let state = self.state_text();
        let _ = self
            .events
            .send(Event::Fleet(FleetEvent::Link(state)))
            .await;
    }

    fn state_text(&mut self) -> String {
        let queued = self.queue.len().unwrap_or(0);
        match &self.down_since {
            None => format!("connected as {}, {queued} write(s) queued", self.origin),
            Some((since, why)) => {
                format!("unreachable since {since} ({why}); {queued} write(s) queued, retrying")
            }
        }
    }

    async fn publish(&mut self, writes: Vec<FleetWrite>) {
        let direct = self.pg.is_some() && self.queue.is_empty().unwrap_or(false);
        if direct {
            let result = self.pg_mut().publish(&writes).await;
            match result {
                Ok(_) => return,
                Err(e) => {
                    self.enqueue(&writes);
                    self.lost(e.to_string()).await;
                    return;
                }
            }
        }
        self.enqueue(&writes);
        if self.pg.is_some() {
            self.flush_queue().await;
        } else {
            self.tell_state().await;
        }
    }

    fn enqueue(&mut self, writes: &[FleetWrite]) {
        let before = self.queue.dropped;
        if let Err(e) = self.queue.push(writes) {
            log::error(&format!("fleet: {e}; {} write(s) lost", writes.len()));
        }
        if self.queue.dropped > before {
            log::warn(&format!(
                "fleet: queue full ({} writes): dropped the {} oldest",
                self.settings.queue_size,
                self.queue.dropped - before
            ));
        }
    }

    async fn flush_queue(&mut self) {
        loop {
            let batch = match self.queue.oldest(PAGE) {
                Ok(b) if b.is_empty() => return,
                Ok(b) => b,
                Err(e) => return log::error(&format!("fleet: {e}")),
            };
            let last = batch.last().map_or(0, |(id, _)| *id);
            let writes: Vec<FleetWrite> = batch.into_iter().map(|(_, w)| w).collect();
            let Some(pg) = self.pg.as_mut() else { return };
            match pg.publish(&writes).await {
                Ok(_) => {
                    if let Err(e) = self.queue.remove_through(last) {
                        return log::error(&format!("fleet: {e}"));
                    }
                }
                Err(e) => return self.lost(e.to_string()).await,
            }
        }
    }

    fn pg_mut(&mut self) -> &mut PgFleet {
        self.pg.as_mut().expect("checked by the caller")
    }

    /// Replays what other hosts did since the last change seen.
    async fn catch_up(&mut self) {
        loop {
            let Some(pg) = self.pg.as_mut() else { return };
            let changes = match pg.changes_since(self.cursor, PAGE as i64).await {
                Ok(c) => c,
                Err(e) => return self.lost(e.to_string()).await,
            };
            let Some(last) = changes.last().map(|c| c.id) else {
                break;
            };
            let full = changes.len() == PAGE;
            let now = Timestamp::now();
            let wanted: Vec<FleetChange> = changes
                .into_iter()
                .filter(|c| c.origin != self.origin && self.settings.accepts(&c.origin))
                .filter(|c| {
                    c.write.kind == ChangeKind::Unban || c.write.end.is_none_or(|e| e > now)
                })
                .collect();
            if !wanted.is_empty() {
                let _ = self
                    .events
                    .send(Event::Fleet(FleetEvent::Changes(wanted)))
                    .await;
            }
            self.cursor = last;
            if let Err(e) = self.queue.set_last_change(last) {
                log::error(&format!("fleet: {e}"));
            }
            if !full {
                break;
            }
        }
        self.heartbeat().await;
    }

    async fn heartbeat(&mut self) {
        let cursor = self.cursor;
        let Some(pg) = self.pg.as_mut() else { return };
        if let Err(e) = pg.touch(cursor).await {
            self.lost(e.to_string()).await;
        }
    }

    /// Publishes waiting failures; where the fleet's sum reaches the jail's
    /// maxretry inside findtime, bans fleet-wide (here too).
    async fn flush_failures(&mut self) {
        self.flush_at = None;
        let waiting = std::mem::take(&mut self.failures);
        let now = Timestamp::now();
        self.counted.retain(|_, end| end.is_none_or(|e| e > now));
        for (jail, failures) in waiting {
            let Some(policy) = self.jails.iter().find(|j| j.name == jail).cloned() else {
                continue;
            };
            let Some(pg) = self.pg.as_mut() else {
                // Counting is best effort: each host still bans at its
                // own maxretry.
                return;
            };
            let findtime = SignedDuration::try_from(policy.findtime).unwrap_or(SignedDuration::MAX);
            let since = now.checked_sub(findtime).unwrap_or(Timestamp::MIN);
            let sums = match pg.count_failures(&jail, &failures, since).await {
                Ok(s) => s,
                Err(e) => return self.lost(e.to_string()).await,
            };
            let end = crate::jail::end_of(policy.bantime, now);
            let bans: Vec<FleetWrite> = sums
                .into_iter()
                .filter(|(_, n)| *n >= policy.maxretry)
                .filter(|(t, _)| {
                    self.counted
                        .insert((jail.clone(), t.clone()), end)
                        .is_none()
                })
                .map(|(target, n)| FleetWrite {
                    kind: ChangeKind::Ban,
                    jail: jail.clone(),
                    target,
                    start: now,
                    end,
                    ban_count: 1,
                    failures: n,
                })
                .collect();
            if bans.is_empty() {
                continue;
            }
            log::info(&format!(
                "fleet: {jail}: {} address(es) reached maxretry across the fleet",
                bans.len()
            ));
            let own: Vec<FleetChange> = bans
                .iter()
                .map(|w| FleetChange {
                    id: 0,
                    origin: self.origin.clone(),
                    write: w.clone(),
                })
                .collect();
            let _ = self
                .events
                .send(Event::Fleet(FleetEvent::Changes(own)))
                .await;
            self.publish(bans).await;
        }
    }

    async fn status(&mut self) -> Response {
        let mut data = serde_json::json!({
            "server_name": self.origin,
            "link": self.state_text(),
            "queued": self.queue.len().unwrap_or(0),
            "dropped": self.queue.dropped,
            "last_change": self.cursor,
        });
        let Some(pg) = self.pg.as_mut() else {
            return Response::ok(data);
        };
        let answer = async { Ok::<_, FleetError>((pg.hosts().await?, pg.newest_change().await?)) };
        match answer.await {
            Ok((hosts, newest)) => {
                let now = Timestamp::now();
                data["newest_change"] = newest.into();
                data["hosts"] = hosts
                    .iter()
                    .map(|h| {
                        serde_json::json!({
                            "server_name": h.origin,
                            "last_contact": h.last_contact.to_string(),
                            "seconds_since_contact": now.duration_since(h.last_contact).as_secs(),
                            "last_change": h.last_change,
                            "lag": (newest - h.last_change).max(0),
                        })
                    })
                    .collect();
                Response::ok(data)
            }
            Err(e) => {
                self.lost(e.to_string()).await;
                Response::ok(data)
            }
        }
    }

    async fn banned(&mut self) -> Response {
        let Some(pg) = self.pg.as_mut() else {
            return Response::error(format!("fleet: {}", self.state_text()));
        };
        match pg.active_bans(Timestamp::now()).await {
            Ok(bans) => Response::ok(
                bans.iter()
                    .map(|c| {
                        serde_json::json!({
                            "origin": c.origin,
                            "jail": c.write.jail,
                            "target": c.write.target,
                            "start": c.write.start.to_string(),
                            "end": c.write.end.map(|e| e.to_string()),
                            "ban_count": c.write.ban_count,
                            "failures": c.write.failures,
                        })
                    })
                    .collect::<Vec<_>>(),
            ),
            Err(e) => {
                let message = format!("fleet: {e}");
                self.lost(e.to_string()).await;
                Response::error(message)
            }
        }
    }
}

async fn notified(pg: &mut Option<PgFleet>) -> Option<String> {
    match pg {
        Some(pg) => pg.notified().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
