//! A jail's actions, run off the loop.
//!
//! fail2ban's `action.d` commands run processes and wait for them, up to
//! their timeout (60 s by default). Run on the loop, one `actionban` that
//! sleeps would hold every other jail's kernel bans, the control socket and
//! log reading for that long: an attacker who feeds the slow jail buys a
//! minute without bans per address. So each jail that has actions gets a
//! thread of its own, fed by a bounded queue:
//!
//! * jobs of one jail run in order (a ban before its unban, start before
//!   both), as fail2ban runs them;
//! * the loop never waits: a full queue drops the job and counts it, since
//!   the ban itself is already in the kernel and the store, and an action
//!   is its side effect (a mail, a command); the count is in `status`;
//! * a thread rather than a tokio task, because the commands block; the
//!   firewall crate kills a command's process group at its timeout, so a
//!   hung child cannot keep the thread forever.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bantam_firewall::Target;
use jiff::Timestamp;

use crate::actions::{ActionBan, JailAction};
use crate::log;

/// Jobs waiting per jail before new ones are dropped. Each holds a few
/// matched lines (≤ ~1.5 kB): a full queue is a few MB at most.
pub(crate) const QUEUE: usize = 4096;
/// At shutdown, queued jobs still run for this long; the rest are skipped
/// (and counted) so that a backlog behind a slow action cannot hold the
/// stop for hours. `stop` itself always runs: it flushes what was banned.
const DRAIN: Duration = Duration::from_secs(10);

/// A ban as a job carries it: owned, since it crosses to another thread.
#[derive(Debug, Clone)]
pub(crate) struct OwnedBan {
    pub jail: String,
    pub target: Target,
    pub failures: u32,
    pub start: Timestamp,
    pub bantime: i64,
    pub ban_count: u32,
    pub matches: Vec<String>,
    pub fields: BTreeMap<String, String>,
    pub restored: bool,
}

impl OwnedBan {
    /// A stored ban as the action hooks see it.
    pub fn of(
        record: &bantam_state::BanRecord,
        target: Target,
        restored: bool,
        fields: BTreeMap<String, String>,
    ) -> OwnedBan {
        OwnedBan {
            jail: record.jail.clone(),
            target,
            failures: record.failures,
            start: record.start,
            // fail2ban's convention: -1 for permanent.
            bantime: record
                .end
                .map_or(-1, |end| end.duration_since(record.start).as_secs()),
            ban_count: record.ban_count,
            matches: record.matches.clone(),
            fields,
            restored,
        }
    }

    fn view(&self) -> ActionBan<'_> {
        ActionBan {
            jail: &self.jail,
            target: self.target,
            failures: self.failures,
            start: self.start,
            bantime: self.bantime,
            ban_count: self.ban_count,
            matches: &self.matches,
            fields: &self.fields,
            restored: self.restored,
        }
    }
}

#[derive(Debug)]
pub(crate) enum Job {
    Start,
    Ban(Box<OwnedBan>),
    Unban(Box<OwnedBan>),
    /// Answered once every job queued before it has run: how a control
    /// request waits for its actions without the loop waiting.
    Barrier(tokio::sync::oneshot::Sender<()>),
    Stop,
}

/// The handle the loop keeps for a jail's action thread.
pub(crate) struct ActionWorker {
    jail: String,
    jobs: SyncSender<Job>,
    /// Set when stopping: queued jobs past this instant are skipped.
    skip_after: Arc<OnceLock<Instant>>,
    dropped: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl ActionWorker {
    /// Starts the thread; `start` is its first job.
    pub fn spawn(jail: &str, actions: Vec<Box<dyn JailAction>>) -> ActionWorker {
        let (jobs, queue) = sync_channel(QUEUE);
        let skip_after = Arc::new(OnceLock::new());
        let dropped = Arc::new(AtomicU64::new(0));
        let runner = Runner {
            jail: jail.to_owned(),
            actions,
            skip_after: skip_after.clone(),
            dropped: dropped.clone(),
        };
        let thread = std::thread::Builder::new()
            .name(format!("actions {jail}"))
            .spawn(move || runner.run(queue))
            .map_err(|e| log::error(&format!("jail {jail}: cannot start its action thread: {e}")))
            .ok();
        let worker = ActionWorker {
            jail: jail.to_owned(),
            jobs,
            skip_after,
            dropped,
            thread,
        };
        worker.submit(Job::Start);
        worker
    }

    /// Queues `job` without waiting; a full queue drops it (counted).
    pub fn submit(&self, job: Job) {
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                // One message per power of two keeps a flood from flooding
                // the journal too.
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_power_of_two() {
                    log::warn(&format!(
                        "jail {}: its actions are {QUEUE} jobs behind; {n} dropped so far \
                         (bans are in force regardless)",
                        self.jail
                    ));
                }
            }
            Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Jobs dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Asks the thread to run `stop` after the queued jobs (those it can
    /// reach within [`DRAIN`]), and returns without waiting (for reloads).
    pub fn stop(mut self) -> Option<JoinHandle<()>> {
        let _ = self.skip_after.set(Instant::now() + DRAIN);
        // Blocking send: the runner drains skipped jobs fast once stopping.
        let _ = self.jobs.send(Job::Stop);
        self.thread.take()
    }

    /// Stops and waits (for shutdown: fail2ban flushes and stops actions
    /// before it exits, and so do we).
    pub fn stop_and_wait(self) {
        if let Some(thread) = self.stop() {
            let _ = thread.join();
        }
    }
}

struct Runner {
    jail: String,
    actions: Vec<Box<dyn JailAction>>,
    skip_after: Arc<OnceLock<Instant>>,
    dropped: Arc<AtomicU64>,
}

impl Runner {
    fn too_late(&self) -> bool {
        self.skip_after.get().is_some_and(|at| Instant::now() > *at)
    }

    fn run(mut self, queue: Receiver<Job>) {
        while let Ok(job) = queue.recv() {
            match job {
                Job::Stop => {
                    self.each("stop", |a| a.stop());
                    return;
                }
                Job::Start => self.each("start", |a| a.start()),
                Job::Ban(_) | Job::Unban(_) if self.too_late() => {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                }
                Job::Ban(ban) => {
                    let what = if ban.restored {
                        "ban (restored)"
                    } else {
                        "ban"
                    };
                    self.each(what, |a| a.ban(&ban.view()));
                }
                Job::Unban(ban) => self.each("unban", |a| a.unban(&ban.view())),
                Job::Barrier(done) => {
                    let _ = done.send(());
                }
            }
        }
    }

    /// Runs one hook on every action, logging (not propagating) failures:
    /// an action is a side effect of a ban, never a reason to lose one.
    fn each(
        &mut self,
        what: &str,
        mut hook: impl FnMut(&mut dyn JailAction) -> Result<(), String>,
    ) {
        for action in &mut self.actions {
            if let Err(e) = hook(action.as_mut()) {
                log::error(&format!(
                    "jail {}: action {} {what}: {e}",
                    self.jail,
                    action.name()
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Records the hooks it sees; `ban` can be made slow.
    struct Probe {
        seen: Arc<Mutex<Vec<String>>>,
        ban_takes: Duration,
    }

    impl JailAction for Probe {
        fn name(&self) -> &str {
            "probe"
        }
        fn start(&mut self) -> Result<(), String> {
            self.seen.lock().unwrap().push("start".into());
            Ok(())
        }
        fn ban(&mut self, ban: &ActionBan<'_>) -> Result<(), String> {
            std::thread::sleep(self.ban_takes);
            self.seen
                .lock()
                .unwrap()
                .push(format!("ban {}", ban.target));
            Ok(())
        }
        fn unban(&mut self, ban: &ActionBan<'_>) -> Result<(), String> {
            self.seen
                .lock()
                .unwrap()
                .push(format!("unban {}", ban.target));
            Ok(())
        }
        fn stop(&mut self) -> Result<(), String> {
            self.seen.lock().unwrap().push("stop".into());
            Ok(())
        }
    }

    fn ban(target: &str) -> Box<OwnedBan> {
        Box::new(OwnedBan {
            jail: "j".into(),
            target: target.parse().unwrap(),
            failures: 1,
            start: Timestamp::UNIX_EPOCH,
            bantime: 60,
            ban_count: 1,
            matches: Vec::new(),
            fields: BTreeMap::new(),
            restored: false,
        })
    }

    #[test]
    fn jobs_run_in_order_and_stop_comes_last() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let probe = Probe {
            seen: seen.clone(),
            ban_takes: Duration::ZERO,
        };
        let worker = ActionWorker::spawn("j", vec![Box::new(probe)]);
        worker.submit(Job::Ban(ban("192.0.2.1")));
        worker.submit(Job::Unban(ban("192.0.2.1")));
        worker.stop_and_wait();
        assert_eq!(
            *seen.lock().unwrap(),
            ["start", "ban 192.0.2.1", "unban 192.0.2.1", "stop"]
        );
    }

    #[test]
    fn a_slow_action_never_makes_submit_wait() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let probe = Probe {
            seen: seen.clone(),
            ban_takes: Duration::from_millis(200),
        };
        let worker = ActionWorker::spawn("j", vec![Box::new(probe)]);
        let began = Instant::now();
        for i in 0..(QUEUE + 10) {
            worker.submit(Job::Ban(ban(&format!("198.18.{}.{}", i / 256, i % 256))));
        }
        assert!(began.elapsed() < Duration::from_millis(150));
        assert!(worker.dropped() >= 9, "dropped {}", worker.dropped());
        // Shutdown works through the backlog for a bounded time, then
        // skips the rest.
        let began = Instant::now();
        worker.stop_and_wait();
        assert!(began.elapsed() < DRAIN + Duration::from_secs(2));
        assert_eq!(
            seen.lock().unwrap().last().map(String::as_str),
            Some("stop")
        );
    }
}
