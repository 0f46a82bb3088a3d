//! `extend-while-knocking` on the injected clock. The kernel's knock sets
//! are stood in for by [`Knocker`]: the dry-run backend plus the last
//! packet of each source, set by the test (the real sets are checked with
//! packets in `bantam-firewall/tests/knock.rs` and end to end in
//! `bantam/tests/e2e_knock.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bantam_firewall::{Backend, BanEntry, DryRun, FirewallError, Repair, Target};
use bantam_state::BanRecord;
use jiff::{SignedDuration, Timestamp};

use super::*;
use crate::clock::{Clock, ManualClock};
use crate::control::Request;
use crate::daemon::tests::{batch, config, failure, harness_with, jail, Harness};
use bantam_config::BackendKind;

type Knocks = Arc<Mutex<HashMap<Target, Timestamp>>>;

/// The dry-run backend, seeing the knocks the test sends; like the
/// kernel, it forgets a source's knocks when its ban is lifted.
struct Knocker {
    inner: DryRun,
    clock: Arc<ManualClock>,
    knocks: Knocks,
    on: bool,
    reads: Arc<Mutex<usize>>,
}

impl Backend for Knocker {
    fn name(&self) -> &'static str {
        "knocker"
    }
    fn setup(&mut self) -> Result<(), FirewallError> {
        self.inner.setup()
    }
    fn ban(&mut self, entries: &[BanEntry]) -> Result<(), FirewallError> {
        self.inner.ban(entries)
    }
    fn unban(&mut self, targets: &[Target]) -> Result<(), FirewallError> {
        let mut knocks = self.knocks.lock().unwrap();
        for t in targets {
            knocks.remove(t);
        }
        self.inner.unban(targets)
    }
    fn list(&mut self) -> Result<Vec<BanEntry>, FirewallError> {
        self.inner.list()
    }
    fn flush(&mut self) -> Result<(), FirewallError> {
        self.inner.flush()
    }
    fn teardown(&mut self) -> Result<(), FirewallError> {
        self.inner.teardown()
    }
    fn verify(&mut self) -> Result<Repair, FirewallError> {
        Ok(Repair::Intact)
    }
    fn record_knocks(&mut self, on: bool) -> bool {
        self.on = on;
        true
    }
    fn last_knocks(&mut self, targets: &[Target]) -> Result<Vec<Option<Duration>>, FirewallError> {
        *self.reads.lock().unwrap() += 1;
        let now = self.clock.now();
        let knocks = self.knocks.lock().unwrap();
        Ok(targets
            .iter()
            .map(|t| {
                let at = knocks.get(t).filter(|_| self.on)?;
                Duration::try_from(now.duration_since(*at)).ok()
            })
            .collect())
    }
}

struct Knocking {
    h: Harness,
    knocks: Knocks,
    reads: Arc<Mutex<usize>>,
}

const ADDR: &str = "192.0.2.5";

fn knocking(extra: &str) -> Knocking {
    let k = knocking_with(true, extra);
    assert!(!k.h.daemon.knocks.is_empty(), "the backend records knocks");
    k
}

/// The sshd jail with `extend-while-knocking = on`.
fn knocking_jail(on: bool) -> String {
    format!("{}extend-while-knocking = {on}\n", jail("sshd", "-", 1))
}

fn knocking_with(on: bool, extra: &str) -> Knocking {
    let knocks = Knocks::default();
    let reads = Arc::new(Mutex::new(0));
    let jails = format!("{}{extra}", knocking_jail(on));
    let (k, r) = (knocks.clone(), reads.clone());
    let mut h = harness_with(&jails, move |clock| {
        Box::new(Knocker {
            inner: DryRun::new(),
            clock,
            knocks: k,
            on: false,
            reads: r,
        })
    });
    h.daemon.sync_knocks();
    Knocking { h, knocks, reads }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn target() -> Target {
    ADDR.parse().unwrap()
}

impl Knocking {
    async fn ban(&mut self) {
        let id = self.h.reader("-");
        self.h.daemon.on_lines(id, batch("-", &failure(ADDR)).await);
        assert!(self.banned(), "banned");
    }

    fn after(&mut self, s: u64) {
        self.h.clock.advance(secs(s));
    }

    /// The source sends a packet now.
    fn knock(&self) {
        let now = self.h.clock.now();
        self.knocks.lock().unwrap().insert(target(), now);
    }

    fn banned(&self) -> bool {
        self.h.daemon.bans.is_banned("sshd", &target())
    }

    fn ban_now(&self) -> (Timestamp, Option<Timestamp>, u32) {
        let ban = self.h.daemon.bans.in_jail("sshd").next().expect("a ban");
        (ban.record.start, ban.record.end, ban.record.ban_count)
    }

    /// Seconds from now.
    fn at(&self, s: i64) -> Timestamp {
        self.h.clock.now() + SignedDuration::from_secs(s)
    }

    fn kernel_timeout(&mut self) -> Option<Duration> {
        let list = self.h.backend(BackendKind::DryRun).list().unwrap();
        list.iter().find(|e| e.target == target())?.timeout
    }

    fn knocking_flag(&mut self) -> bool {
        let request = Request::Banned {
            after: None,
            limit: None,
            jail: None,
        };
        let page = self.h.ask(request).page.expect("a page");
        page.bans[0].knocking
    }
}

#[tokio::test]
async fn a_source_that_keeps_knocking_stays_banned_until_silent_for_its_ban_time() {
    let mut k = knocking("");
    k.ban().await;
    let first_end = k.at(600);
    assert_eq!(
        k.h.daemon.bans.next_end(),
        Some(first_end),
        "the only timer"
    );
    let kernel = k.kernel_timeout().unwrap();
    assert!(
        kernel > secs(620) && kernel <= secs(630),
        "grace: {kernel:?}"
    );

    k.after(300);
    k.knock();
    let knock = k.h.clock.now();
    k.after(300);
    k.h.daemon.expire();
    assert!(k.banned(), "still knocking: kept");
    let (start, end, count) = k.ban_now();
    assert_eq!(
        (start, end),
        (knock, Some(knock + SignedDuration::from_secs(600)))
    );
    assert_eq!(count, 2, "an extension is one more ban of the address");
    assert_eq!(k.h.stored(), 1);
    let kernel = k.kernel_timeout().unwrap();
    assert!(kernel > secs(320) && kernel <= secs(330), "{kernel:?}");
    assert_eq!(k.h.daemon.bans.next_end(), end);

    // Silent since: released on time, by the daemon (the kernel's grace
    // would hold it 30 s longer).
    k.after(300);
    k.h.daemon.expire();
    assert!(!k.banned());
    assert!(k.h.kernel().is_empty());
    assert_eq!(k.h.stored(), 0);
}

#[tokio::test]
async fn a_silent_source_is_released_on_time_with_one_read() {
    let mut k = knocking("");
    k.ban().await;
    k.after(598);
    k.h.daemon.expire();
    assert!(k.banned());
    assert_eq!(
        *k.reads.lock().unwrap(),
        0,
        "nothing read long before an end"
    );
    // Within a second of its end: looked at, silent, put back to end on time.
    k.after(1);
    k.h.daemon.expire();
    assert!(k.banned());
    assert_eq!(k.h.daemon.bans.next_end(), Some(k.at(1)));
    k.after(1);
    k.h.daemon.expire();
    assert!(!k.banned() && k.h.kernel().is_empty());
    assert_eq!(k.h.stored(), 0);
}

#[tokio::test]
async fn sources_ending_within_a_second_are_extended_together() {
    let mut k = knocking("");
    k.ban().await;
    k.after(599);
    k.knock();
    let knock = k.h.clock.now();
    // Half a second before the end: extended already, from the knock.
    k.h.clock.advance(Duration::from_millis(500));
    k.h.daemon.expire();
    let (start, end, _) = k.ban_now();
    assert_eq!(
        (start, end),
        (knock, Some(knock + SignedDuration::from_secs(600)))
    );
    assert_eq!(*k.reads.lock().unwrap(), 1);
}

#[tokio::test]
async fn a_knock_before_the_ban_started_does_not_count() {
    let mut k = knocking("");
    k.knock(); // left over from an earlier ban
    k.after(1);
    k.ban().await;
    k.after(600);
    k.h.daemon.expire();
    assert!(!k.banned());
}

#[tokio::test]
async fn with_escalation_an_extension_is_the_next_step() {
    let mut k = knocking("[jails.sshd.escalation]\nsteps = [\"10m\", \"1h\", \"1d\"]\n");
    k.ban().await;
    k.after(590);
    k.knock();
    let knock = k.h.clock.now();
    k.after(10);
    k.h.daemon.expire();
    let (start, end, count) = k.ban_now();
    assert_eq!((start, count), (knock, 2));
    assert_eq!(end, Some(knock + SignedDuration::from_secs(3600)));
    // And the next ban after release counts it: the third step.
    k.after(3600);
    k.h.daemon.expire();
    assert!(!k.banned());
    let now = k.h.clock.now();
    let plan = k.h.daemon.plan_bans(0, &[target()], false, now);
    assert_eq!(plan[0].ban_count, 3);
    assert_eq!(plan[0].end, Some(now + SignedDuration::from_secs(86_400)));
}

#[tokio::test]
async fn banned_says_knocking_once_the_source_knocks_during_its_ban() {
    let mut k = knocking("");
    k.ban().await;
    assert!(!k.knocking_flag());
    k.after(5);
    k.knock();
    assert!(k.knocking_flag());
    let status = k.h.ask(Request::Status {
        jail: Some("sshd".into()),
    });
    let data = status.data.expect("status data");
    assert_eq!(data["jails"][0]["bans"][0]["knocking"], true, "{data}");
    // Extended from that knock: silent since, not knocking any more.
    k.after(595);
    k.h.daemon.expire();
    assert!(k.banned() && !k.knocking_flag());
}

#[tokio::test]
async fn a_restart_within_the_grace_extends_a_ban_that_ended_meanwhile() {
    let mut k = knocking("");
    let start = k.at(-600);
    let record = BanRecord {
        jail: "sshd".into(),
        target: ADDR.into(),
        start,
        end: Some(k.at(-10)),
        failures: 1,
        ban_count: 1,
        matches: vec![],
        reason: None,
    };
    k.h.daemon.recorder.store().record_bans(&[record]).unwrap();
    let knock = k.at(-20);
    k.knocks.lock().unwrap().insert(target(), knock);
    k.h.daemon.reconcile().unwrap();
    assert!(k.banned());
    let (s, end, _) = k.ban_now();
    assert_eq!(
        (s, end),
        (knock, Some(knock + SignedDuration::from_secs(590)))
    );
    assert_eq!(k.h.kernel(), [ADDR]);
    assert_eq!(k.h.stored(), 1);
}

#[tokio::test]
async fn a_reload_that_turns_it_on_gives_running_bans_their_grace() {
    let mut k = knocking_with(false, "");
    k.ban().await;
    assert!(k.h.daemon.knocks.is_empty());
    assert!(k.kernel_timeout().unwrap() <= secs(600), "no grace yet");
    let path = k.h.dir.path().join("bantam.toml");
    std::fs::write(&path, config(k.h.dir.path(), &knocking_jail(true))).unwrap();
    assert!(k.h.ask(Request::Reload {}).ok);
    assert!(!k.h.daemon.knocks.is_empty());
    assert!(
        k.kernel_timeout().unwrap() > secs(620),
        "grace after the reload"
    );
    k.after(300);
    k.knock();
    k.after(300);
    k.h.daemon.expire();
    assert!(k.banned(), "extended");
    // And off again: bans end on time.
    std::fs::write(&path, config(k.h.dir.path(), &knocking_jail(false))).unwrap();
    assert!(k.h.ask(Request::Reload {}).ok);
    assert!(k.h.daemon.knocks.is_empty());
    k.knock();
    k.after(600);
    k.h.daemon.expire();
    assert!(!k.banned());
}

#[tokio::test]
async fn a_backend_blind_to_packets_leaves_bans_ending_on_time() {
    let jails = format!("{}extend-while-knocking = true\n", jail("sshd", "-", 1));
    let mut h = crate::daemon::tests::harness(&jails);
    assert!(!h.daemon.sync_knocks(), "dry run cannot see packets");
    let id = h.reader("-");
    h.daemon.on_lines(id, batch("-", &failure(ADDR)).await);
    let list = h.backend(BackendKind::DryRun).list().unwrap();
    assert!(list[0].timeout.unwrap() <= secs(600), "no grace");
    h.clock.advance(secs(600));
    h.daemon.expire();
    assert!(h.kernel().is_empty());
}

#[test]
fn an_extension_starts_at_the_last_knock() {
    let t = |s: i64| Timestamp::from_second(1_800_000_000 + s).unwrap();
    let ten = Some(secs(10));
    assert_eq!(
        extension(t(0), Some(t(8)), ten, t(10)),
        Some((t(8), Some(t(18))))
    );
    assert_eq!(
        extension(t(0), Some(t(0)), ten, t(10)),
        None,
        "not after the start"
    );
    assert_eq!(extension(t(0), None, ten, t(10)), None, "silent");
    assert_eq!(
        extension(t(0), Some(t(5)), ten, t(16)),
        None,
        "already over"
    );
    assert_eq!(extension(t(0), Some(t(5)), None, t(16)), Some((t(5), None)));
}
