//! Escalation and recidive: the times themselves (pure), then through
//! [`Daemon::apply_bans`] with a real SQLite file, the dry-run backend (a
//! real set with timeouts), the manual clock and tokio's paused time.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bantam_firewall::{Backend, DryRun, Target};
use bantam_state::SqliteStore;
use jiff::Timestamp;

use super::*;
use crate::clock::{Clock, ManualClock};
use crate::control::{Request, Status};
use crate::daemon::{Daemon, RunOptions};
use crate::pipeline::Earned;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn steps(list: &[u64], max: Option<u64>, jitter: u64) -> Escalation {
    Escalation {
        growth: Growth::Steps(list.iter().map(|s| secs(*s)).collect()),
        max: max.map(secs),
        jitter: secs(jitter),
        window: None,
        across_jails: false,
    }
}

#[test]
fn steps_repeat_the_last_and_the_cap_holds() {
    let e = steps(&[30, 300, 3600], Some(600), 0);
    let base = BanTime::For(secs(10));
    let times: Vec<BanTime> = (1..=5).map(|n| escalated(base, &e, n)).collect();
    let want = [30, 300, 600, 600, 600].map(|s| BanTime::For(secs(s)));
    assert_eq!(times, want);
    assert_eq!(e.step(5), 3);
}

#[test]
fn a_factor_multiplies_bantime_and_never_overflows() {
    let mut e = steps(&[1], None, 0);
    e.growth = Growth::Factor(2.0);
    let base = BanTime::For(secs(60));
    assert_eq!(escalated(base, &e, 1), BanTime::For(secs(60)));
    assert_eq!(escalated(base, &e, 4), BanTime::For(secs(480)));
    assert_eq!(escalated(base, &e, u32::MAX), BanTime::For(LONGEST));
    e.max = Some(secs(3600));
    assert_eq!(escalated(base, &e, 10), BanTime::For(secs(3600)));
}

#[test]
fn jitter_stays_within_its_bound_and_recidive_wins() {
    let e = steps(&[30], None, 10);
    let base = BanTime::For(secs(1));
    for random in [0, 1, 9_999, 10_000, 10_001, u64::MAX] {
        let BanTime::For(d) = ban_time(base, Some(&e), None, 1, random) else {
            panic!("permanent");
        };
        assert!(d >= secs(30) && d <= secs(40), "{d:?}");
    }
    let r = Recidive {
        bans: 3,
        within: secs(3600),
        bantime: BanTime::Permanent,
        across_jails: false,
    };
    assert_eq!(
        ban_time(base, Some(&e), Some((&r, 2)), 2, 0),
        BanTime::For(secs(30))
    );
    assert_eq!(
        ban_time(base, Some(&e), Some((&r, 3)), 3, 0),
        BanTime::Permanent
    );
    assert_eq!(
        ban_time(base, None, Some((&r, 4)), 4, 0),
        BanTime::Permanent
    );
    assert_eq!(ban_time(base, None, None, 9, 0), base);
}

const START: &str = "2026-12-03T10:00:00Z";

struct Harness {
    daemon: Daemon,
    clock: Arc<ManualClock>,
    dir: tempfile::TempDir,
    text: String,
}

fn daemon(dir: &Path, text: &str, clock: Arc<ManualClock>) -> Daemon {
    let path = dir.join("bantam.toml");
    std::fs::write(&path, text).unwrap();
    let settings = bantam_config::parse(&path, text).unwrap();
    let store = SqliteStore::open_dir(&dir.join("state")).unwrap();
    let mut backend = DryRun::new();
    backend.setup().unwrap();
    let options = RunOptions {
        config_path: Some(path),
        ..RunOptions::default()
    };
    let prepared = Daemon::prepare(settings, options).unwrap();
    let backends = crate::Backends::single(bantam_config::BackendKind::DryRun, Box::new(backend));
    Daemon::new(prepared, clock, Box::new(store), backends)
}

fn harness(jails: &str) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[daemon]\nstate-dir = \"{0}/state\"\nsocket = \"{0}/bantam.sock\"\nbackend = \"dry-run\"\n{jails}",
        dir.path().display()
    );
    let clock = Arc::new(ManualClock::new(START.parse().unwrap()));
    let daemon = daemon(dir.path(), &text, clock.clone());
    Harness {
        daemon,
        clock,
        dir,
        text,
    }
}

fn jail(name: &str, policy: &str) -> String {
    format!("[jails.{name}]\nfilter = \"sshd\"\nlogpath = [\"-\"]\nbantime = \"10s\"\n{policy}")
}

impl Harness {
    /// Bans `addr` in jail `index` now; returns its ban time and count.
    fn ban(&mut self, index: usize, addr: &str) -> (Option<Duration>, u32) {
        let target: Target = addr.parse().unwrap();
        let now = self.clock.now();
        let earned = Earned {
            target,
            failures: 1,
            matches: Vec::new(),
            fields: Default::default(),
            bantime: None,
            by_hand: None,
        };
        assert_eq!(self.daemon.apply_bans(index, vec![earned], now), 1);
        let jail = self.daemon.jails[index].name().to_owned();
        let ban = self.daemon.bans.in_jail(&jail).find(|b| b.target == target);
        let record = &ban.expect("banned").record;
        let time = record
            .end
            .map(|end| Duration::try_from(end.duration_since(now)).unwrap());
        (time, record.ban_count)
    }

    /// The time the (dry-run) kernel set holds for `addr`.
    fn kernel_timeout(&mut self, addr: &str) -> Option<Duration> {
        let target: Target = addr.parse().unwrap();
        let kind = bantam_config::BackendKind::DryRun;
        let listed = self.daemon.backends.get_mut(kind).unwrap().list().unwrap();
        listed
            .into_iter()
            .find(|e| e.target == target)
            .unwrap()
            .timeout
    }

    /// Lets every ban end.
    fn after(&mut self, by: u64) {
        self.clock.advance(secs(by));
        self.daemon.expire();
    }

    fn restart(&mut self) {
        let clock = self.clock.clone();
        let old = std::mem::replace(&mut self.daemon, daemon(self.dir.path(), &self.text, clock));
        drop(old);
    }
}

#[tokio::test(start_paused = true)]
async fn each_ban_takes_the_next_step_up_to_the_cap_and_a_restart_keeps_the_count() {
    let policy = "[jails.sshd.escalation]\nsteps = [\"10s\", \"20s\", \"40s\"]\nmax = \"30s\"\n";
    let mut h = harness(&jail("sshd", policy));
    let addr = "192.0.2.7";
    assert_eq!(h.ban(0, addr), (Some(secs(10)), 1));
    let kernel = h.kernel_timeout(addr).unwrap();
    assert!(kernel > secs(9) && kernel <= secs(10), "{kernel:?}");
    h.after(11);
    assert!(h.daemon.bans.is_empty());
    assert_eq!(h.ban(0, addr), (Some(secs(20)), 2));
    assert!(h.kernel_timeout(addr).unwrap() > secs(19));
    h.after(21);
    // Step 3 (40 s) is capped at 30 s.
    assert_eq!(h.ban(0, addr), (Some(secs(30)), 3));
    h.after(31);
    h.restart();
    // The count comes from the database: the last step repeats, capped.
    assert_eq!(h.ban(0, addr), (Some(secs(30)), 4));
    // Another address starts at step 1.
    assert_eq!(h.ban(0, "192.0.2.8"), (Some(secs(10)), 1));
    let Response {
        data: Some(data), ..
    } = h.daemon.on_request(Request::Status {
        jail: Some("sshd".into()),
    })
    else {
        panic!("no status");
    };
    let status: Status = serde_json::from_value(data).unwrap();
    let bans = status.jails[0].bans.as_ref().unwrap();
    let rows: Vec<(&str, u32, Option<u32>)> = bans
        .iter()
        .map(|b| (b.target.as_str(), b.ban_count, b.step))
        .collect();
    assert_eq!(rows, [("192.0.2.7", 4, Some(3)), ("192.0.2.8", 1, Some(1))]);
    let page = h.daemon.on_request(Request::Banned {
        after: None,
        limit: None,
        jail: None,
    });
    let steps: Vec<Option<u32>> = page.page.unwrap().bans.iter().map(|b| b.step).collect();
    assert_eq!(steps, [Some(3), Some(1)]);
}

#[tokio::test(start_paused = true)]
async fn a_factor_with_jitter_a_window_and_bans_in_other_jails() {
    let policy =
        "[jails.a.escalation]\nfactor = 3\njitter = \"2s\"\nwindow = \"1h\"\nacross-jails = true\n";
    let mut h = harness(&(jail("a", policy) + &jail("b", "")));
    let addr = "2001:db8::5";
    h.ban(1, addr);
    h.after(11);
    // The ban in jail b counts: this is the second, 10 s * 3.
    let (time, n) = h.ban(0, addr);
    assert_eq!(n, 2);
    let time = time.unwrap();
    assert!(time >= secs(30) && time <= secs(32), "{time:?}");
    // Past the window, earlier bans no longer count.
    h.after(7200);
    assert_eq!(h.ban(0, addr).1, 1);
    // A jail without escalation keeps its bantime and counts its own bans.
    h.after(60);
    assert_eq!(h.ban(1, addr), (Some(secs(10)), 2));
}

#[tokio::test(start_paused = true)]
async fn the_nth_ban_within_the_window_is_permanent() {
    let policy = "[jails.sshd.escalation]\nsteps = [\"10s\", \"20s\"]\n\
                  [jails.sshd.recidive]\nbans = 3\nwithin = \"1h\"\nbantime = \"permanent\"\n";
    let mut h = harness(&jail("sshd", policy));
    let addr = "198.51.100.4";
    assert_eq!(h.ban(0, addr), (Some(secs(10)), 1));
    h.after(11);
    assert_eq!(h.ban(0, addr), (Some(secs(20)), 2));
    h.after(21);
    assert_eq!(h.ban(0, addr), (None, 3));
    assert_eq!(h.kernel_timeout(addr), None);
}

#[tokio::test(start_paused = true)]
async fn a_burst_is_counted_in_one_go_and_each_address_gets_its_own_step() {
    let policy = "[jails.sshd.escalation]\nsteps = [\"10s\", \"20s\"]\n";
    let mut h = harness(&jail("sshd", policy));
    h.ban(0, "203.0.113.1");
    h.after(11);
    let now = h.clock.now();
    let earned: Vec<Earned> = (0..5000u32)
        .map(|i| Earned {
            target: format!("198.18.{}.{}", i / 256, i % 256).parse().unwrap(),
            failures: 1,
            matches: Vec::new(),
            fields: Default::default(),
            bantime: None,
            by_hand: None,
        })
        .chain(std::iter::once(Earned {
            target: "203.0.113.1".parse().unwrap(),
            failures: 1,
            matches: Vec::new(),
            fields: Default::default(),
            bantime: None,
            by_hand: None,
        }))
        .collect();
    assert_eq!(h.daemon.apply_bans(0, earned, now), 5001);
    let ends: Vec<(String, Option<Timestamp>)> = h
        .daemon
        .bans
        .in_jail("sshd")
        .map(|b| (b.record.target.clone(), b.record.end))
        .collect();
    let ten = now + jiff::SignedDuration::from_secs(10);
    let twenty = now + jiff::SignedDuration::from_secs(20);
    assert_eq!(ends.iter().filter(|(_, e)| *e == Some(ten)).count(), 5000);
    assert!(ends.contains(&("203.0.113.1".to_owned(), Some(twenty))));
}
