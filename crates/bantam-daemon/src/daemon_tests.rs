//! The loop's concerns, driven directly: batches, requests, restores and
//! expiry are method calls on a [`Daemon`] with an in-memory SQLite store,
//! the dry-run backend (a real [`Backend`] that keeps its set in memory),
//! the manual clock, and tokio's paused time for the store's back-off.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bantam_config::BackendKind;
use bantam_firewall::{Backend, BackendConfig, BanEntry, DryRun, Target};
use bantam_source::{Batch, ReaderSource};
use bantam_state::{BanRecord, FilePosition, SqliteStore, StateError, Store};
use jiff::Timestamp;

use crate::clock::{Clock, ManualClock};
use crate::control::{Request, Response};
use crate::daemon::{Daemon, RunOptions};
use crate::Backends;

pub(crate) const START: &str = "2026-12-03T10:00:00Z";

/// A real SQLite store that can be made to fail its writes, as a full disk
/// does (reads keep working, as they do on a full disk).
struct Flaky {
    inner: SqliteStore,
    full: Arc<AtomicBool>,
}

impl Flaky {
    fn check(&self) -> Result<(), StateError> {
        if self.full.load(Ordering::SeqCst) {
            return Err(StateError::Directory {
                path: "/var/lib/bantam".into(),
                cause: std::io::Error::from_raw_os_error(libc::ENOSPC),
            });
        }
        Ok(())
    }
}

impl Store for Flaky {
    fn record_bans(&mut self, bans: &[BanRecord]) -> Result<(), StateError> {
        self.check()?;
        self.inner.record_bans(bans)
    }
    fn remove_bans(
        &mut self,
        jail: Option<&str>,
        t: &[String],
    ) -> Result<Vec<BanRecord>, StateError> {
        self.check()?;
        self.inner.remove_bans(jail, t)
    }
    fn remove_all(&mut self, jail: Option<&str>) -> Result<usize, StateError> {
        self.check()?;
        self.inner.remove_all(jail)
    }
    fn expire(&mut self, now: Timestamp) -> Result<Vec<BanRecord>, StateError> {
        self.check()?;
        self.inner.expire(now)
    }
    fn active_bans(&mut self) -> Result<Vec<BanRecord>, StateError> {
        self.inner.active_bans()
    }
    fn last_matches(&mut self, bans: &[(&str, &str)]) -> Result<Vec<Option<String>>, StateError> {
        self.inner.last_matches(bans)
    }
    fn ban_count(&mut self, jail: Option<&str>, target: &str) -> Result<u32, StateError> {
        self.inner.ban_count(jail, target)
    }
    fn ban_counts_since(
        &mut self,
        jail: Option<&str>,
        targets: &[String],
        since: Timestamp,
    ) -> Result<Vec<u32>, StateError> {
        self.inner.ban_counts_since(jail, targets, since)
    }
    fn save_positions(&mut self, positions: &[FilePosition]) -> Result<(), StateError> {
        self.check()?;
        self.inner.save_positions(positions)
    }
    fn load_positions(&mut self) -> Result<Vec<FilePosition>, StateError> {
        self.inner.load_positions()
    }
    fn purge_history(&mut self, before: Timestamp) -> Result<u64, StateError> {
        self.check()?;
        self.inner.purge_history(before)
    }
}

pub(crate) struct Harness {
    pub(crate) daemon: Daemon,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) full: Arc<AtomicBool>,
    pub(crate) dir: tempfile::TempDir,
}

pub(crate) fn config(dir: &Path, jails: &str) -> String {
    format!(
        "[daemon]\nstate-dir = \"{0}/state\"\nsocket = \"{0}/bantam.sock\"\nbackend = \"dry-run\"\n{jails}",
        dir.display()
    )
}

pub(crate) fn jail(name: &str, logpath: &str, maxretry: u32) -> String {
    format!(
        "[jails.{name}]\nfilter = \"sshd\"\nlogpath = [\"{logpath}\"]\nmaxretry = {maxretry}\nbantime = \"10m\"\n"
    )
}

pub(crate) fn harness(jails: &str) -> Harness {
    harness_with(jails, |_| Box::new(DryRun::new()))
}

/// A harness whose backend `backend` builds (it may read the clock).
pub(crate) fn harness_with(
    jails: &str,
    backend: impl FnOnce(Arc<ManualClock>) -> Box<dyn Backend>,
) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let text = config(dir.path(), jails);
    let path = dir.path().join("bantam.toml");
    std::fs::write(&path, &text).unwrap();
    let settings = bantam_config::parse(&path, &text).unwrap();
    let clock = Arc::new(ManualClock::new(START.parse().unwrap()));
    let full = Arc::new(AtomicBool::new(false));
    let store = Flaky {
        inner: SqliteStore::open(Path::new(":memory:")).unwrap(),
        full: full.clone(),
    };
    let options = RunOptions {
        config_path: Some(path),
        ..RunOptions::default()
    };
    let prepared = Daemon::prepare(settings, options).unwrap();
    // The default kind (dry-run, as `config` writes it) gets the backend
    // the test built; every other kind the jails name a plain dry run: the
    // routing is real, the kernel is not.
    let mut backend = Some(backend(clock.clone()));
    let opened = prepared
        .backend_kinds()
        .into_iter()
        .map(|kind| {
            let mut b = match kind {
                BackendKind::DryRun => backend.take().unwrap_or_else(|| Box::new(DryRun::new())),
                _ => Box::new(DryRun::new()) as Box<dyn Backend>,
            };
            b.setup().unwrap();
            (kind, b)
        })
        .collect();
    // A backend a reload opens is real: hosts.deny, in the test's directory.
    let config = BackendConfig {
        hosts_deny: dir.path().join("hosts.deny"),
        ..BackendConfig::default()
    };
    let backends = Backends::new(BackendKind::DryRun, config, opened);
    let daemon = Daemon::new(prepared, clock.clone(), Box::new(store), backends);
    Harness {
        daemon,
        clock,
        full,
        dir,
    }
}

pub(crate) fn failure(addr: &str) -> String {
    format!("{START} host sshd[7]: Failed password for root from {addr} port 4242 ssh2\n")
}

/// A batch as a source hands it out, named `path`.
pub(crate) async fn batch(path: &str, text: &str) -> Batch {
    let mut source = ReaderSource::new(
        Path::new(path),
        std::io::Cursor::new(text.to_owned().into_bytes()),
    );
    source.next_batch().await.unwrap().unwrap()
}

impl Harness {
    /// The reader id of `logpath` (sources are started for real).
    pub(crate) fn reader(&mut self, logpath: &str) -> u64 {
        self.daemon.assign_sources();
        self.daemon.readers.get(logpath).unwrap().id
    }

    /// The targets in the default (dry-run) backend.
    pub(crate) fn kernel(&mut self) -> Vec<String> {
        self.kernel_of(BackendKind::DryRun)
    }

    /// The targets in the backend standing in for `kind`.
    pub(crate) fn kernel_of(&mut self, kind: BackendKind) -> Vec<String> {
        let mut list: Vec<String> = self
            .backend(kind)
            .list()
            .unwrap()
            .into_iter()
            .map(|e| e.target.to_string())
            .collect();
        list.sort();
        list
    }

    pub(crate) fn backend(&mut self, kind: BackendKind) -> &mut Box<dyn Backend> {
        self.daemon.backends.get_mut(kind).expect("open")
    }

    pub(crate) fn stored(&mut self) -> usize {
        self.daemon.recorder.store().active_bans().unwrap().len()
    }

    /// Handles events as the loop would until one `ignorecommand` answer
    /// has been handled (sources send theirs too).
    pub(crate) async fn pump_answer(&mut self) {
        loop {
            let event = tokio::time::timeout(Duration::from_secs(20), self.daemon.inbox.recv())
                .await
                .expect("an event within 20 s")
                .expect("the channel is open");
            let answer = matches!(event, crate::daemon::Event::IgnoreAnswer(_));
            self.daemon.on_event(event);
            if answer {
                return;
            }
        }
    }

    pub(crate) fn ask(&mut self, request: Request) -> Response {
        self.daemon.on_request(request)
    }
}

#[tokio::test]
async fn three_failures_of_one_address_in_one_write_are_one_ban() {
    let mut h = harness(&jail("sshd", "-", 1));
    let id = h.reader("-");
    let text = failure("192.0.2.5").repeat(3);
    h.daemon.on_lines(id, batch("-", &text).await);
    assert_eq!(h.kernel(), ["192.0.2.5"]);
    assert_eq!(h.daemon.jails[0].total_banned, 1);
    assert_eq!(h.stored(), 1);
}

#[tokio::test]
async fn one_source_feeds_every_jail_that_names_it() {
    let jails = jail("a", "-", 1) + &jail("b", "-", 2);
    let mut h = harness(&jails);
    let id = h.reader("-");
    let text = failure("192.0.2.6").repeat(2);
    h.daemon.on_lines(id, batch("-", &text).await);
    assert_eq!(h.daemon.jails[0].total_banned, 1);
    assert_eq!(h.daemon.jails[1].total_banned, 1);
    assert!(h.daemon.bans.is_banned("a", &"192.0.2.6".parse().unwrap()));
    assert!(h.daemon.bans.is_banned("b", &"192.0.2.6".parse().unwrap()));
}

#[tokio::test(start_paused = true)]
async fn a_full_store_never_stops_a_ban_and_catches_up_when_space_returns() {
    let log = "/nonexistent-dir/auth.log";
    let mut h = harness(&jail("sshd", log, 1));
    let id = h.reader(log);
    h.full.store(true, Ordering::SeqCst);
    let mut text = String::new();
    for i in 0..200 {
        text.push_str(&failure(&format!("198.18.0.{}", i + 1)));
    }
    let mut b = batch(log, &text).await;
    b.checkpoint = Some(bantam_source::Checkpoint {
        path: log.into(),
        dev: 1,
        inode: 2,
        offset: text.len() as u64,
        fingerprint: 3,
    });
    h.daemon.on_lines(id, b);
    assert_eq!(h.kernel().len(), 200, "banned in the kernel regardless");
    assert_eq!(h.stored(), 0);
    let Response { data, .. } = h.ask(Request::Status { jail: None });
    assert!(data.unwrap()["store"]
        .as_str()
        .unwrap()
        .contains("200 ban(s)"));
    let retry = h.daemon.recorder.retry_at().expect("a retry is scheduled");
    // Still full at the first retry: nothing recorded, nothing lost.
    tokio::time::sleep_until(retry).await;
    h.daemon.recorder.retry();
    assert_eq!(h.stored(), 0);
    assert!(
        h.daemon
            .recorder
            .store()
            .load_positions()
            .unwrap()
            .is_empty(),
        "no position past unrecorded bans"
    );
    h.full.store(false, Ordering::SeqCst);
    tokio::time::sleep_until(h.daemon.recorder.retry_at().unwrap()).await;
    h.daemon.recorder.retry();
    assert_eq!(h.stored(), 200);
    assert_eq!(h.daemon.recorder.store().load_positions().unwrap().len(), 1);
    assert!(
        h.daemon.recorder.retry_at().is_none(),
        "healthy: no timer left"
    );
}

/// Bans that end while the store refuses writes leave the firewall on
/// time; the store is not asked to end them slice after slice meanwhile,
/// and ends them once it takes writes again.
#[tokio::test(start_paused = true)]
async fn bans_ended_while_the_store_is_full_end_there_once_it_recovers() {
    let mut h = harness(&jail("sshd", "-", 1));
    let id = h.reader("-");
    h.full.store(true, Ordering::SeqCst);
    let text: String = (0..100)
        .map(|i| failure(&format!("198.18.1.{i}")))
        .collect();
    h.daemon.on_lines(id, batch("-", &text).await);
    h.clock.advance(Duration::from_secs(601));
    h.daemon.expire();
    assert!(h.kernel().is_empty() && h.daemon.bans.is_empty());
    h.full.store(false, Ordering::SeqCst);
    tokio::time::sleep_until(h.daemon.recorder.retry_at().unwrap()).await;
    h.daemon.recorder.retry();
    assert_eq!(h.stored(), 0, "recorded, then ended");
}

#[tokio::test]
async fn bans_end_on_the_injected_clock() {
    let mut h = harness(&jail("sshd", "-", 1));
    let id = h.reader("-");
    h.daemon
        .on_lines(id, batch("-", &failure("192.0.2.7")).await);
    let end = h.daemon.bans.next_end().unwrap();
    assert_eq!(end.duration_since(h.clock.now()).as_secs(), 600);
    h.clock.advance(Duration::from_secs(601));
    h.daemon.expire();
    assert!(h.kernel().is_empty());
    assert_eq!(h.stored(), 0);
}

/// A wave of ended bans is ended a slice per turn, so lines and requests
/// are served between slices; the store ends them too, off the loop.
#[tokio::test]
async fn a_wave_of_ended_bans_ends_a_slice_a_turn_and_the_store_follows() {
    use crate::expiry::SLICE;
    let mut h = harness(&jail("sshd", "-", 1));
    let id = h.reader("-");
    let n = 2 * SLICE + 10;
    let text: String = (0..n)
        .map(|i| failure(&format!("198.18.{}.{}", i / 256, i % 256)))
        .collect();
    h.daemon.on_lines(id, batch("-", &text).await);
    assert_eq!((h.daemon.bans.len(), h.kernel().len()), (n, n));
    h.clock.advance(Duration::from_secs(601));
    h.daemon.expire();
    assert_eq!(h.daemon.bans.len(), n - SLICE, "one slice a turn");
    let due = h.daemon.next_end().expect("more have ended");
    assert!(due <= h.clock.now(), "the next slice is due at once");
    h.daemon.expire();
    h.daemon.expire();
    assert!(h.daemon.bans.is_empty() && h.kernel().is_empty());
    assert_eq!(h.stored(), 0, "the store ended them too");
}

#[tokio::test]
async fn a_fresh_store_adopts_what_the_kernel_holds_and_a_trusted_one_removes_strays() {
    let mut h = harness(&jail("sshd", "-", 1));
    let stray: Target = "203.0.113.50".parse().unwrap();
    h.backend(BackendKind::DryRun)
        .ban(&[BanEntry::timed(stray, Duration::from_secs(300))])
        .unwrap();
    h.daemon.options.adopt_kernel_bans = true;
    h.daemon.reconcile().unwrap();
    assert_eq!(h.kernel(), ["203.0.113.50"]);
    assert_eq!(h.stored(), 1, "adopted and recorded");

    let mut h = harness(&jail("sshd", "-", 1));
    h.backend(BackendKind::DryRun)
        .ban(&[BanEntry::timed(stray, Duration::from_secs(300))])
        .unwrap();
    h.daemon.reconcile().unwrap();
    assert!(h.kernel().is_empty(), "the store knows it was lifted");
}

#[tokio::test]
async fn stored_bans_are_restored_with_the_time_they_have_left() {
    let mut h = harness(&jail("sshd", "-", 1));
    let now = h.clock.now();
    h.daemon
        .recorder
        .store()
        .record_bans(&[BanRecord {
            jail: "sshd".into(),
            target: "192.0.2.8".into(),
            start: now,
            end: Some(now + jiff::SignedDuration::from_secs(120)),
            failures: 1,
            ban_count: 1,
            matches: vec![],
            reason: None,
        }])
        .unwrap();
    h.daemon.reconcile().unwrap();
    let list = h.backend(BackendKind::DryRun).list().unwrap();
    assert_eq!(list.len(), 1);
    assert!(list[0].timeout.unwrap() <= Duration::from_secs(120));
    assert!(h
        .daemon
        .bans
        .is_banned("sshd", &"192.0.2.8".parse().unwrap()));
}

#[tokio::test]
async fn a_broken_reload_leaves_the_old_configuration_running() {
    let mut h = harness(&jail("sshd", "-", 3));
    let path = h.dir.path().join("bantam.toml");
    std::fs::write(
        &path,
        config(h.dir.path(), &jail("sshd", "-", 3)) + "bantime = \"ten\"\n",
    )
    .unwrap();
    let answer = h.ask(Request::Reload {});
    assert!(!answer.ok);
    assert!(answer
        .error
        .unwrap()
        .contains("still running the old configuration"));
    assert_eq!(h.daemon.jails.len(), 1);
    assert_eq!(h.daemon.jails[0].settings.maxretry, 3);
    std::fs::write(&path, config(h.dir.path(), &jail("sshd", "-", 1))).unwrap();
    assert!(h.ask(Request::Reload {}).ok);
    assert_eq!(h.daemon.jails[0].settings.maxretry, 1);
}

#[tokio::test]
async fn dangerous_manual_bans_need_force() {
    let mut h = harness(&jail("sshd", "-", 3));
    for target in ["0.0.0.0/0", "::/0", "127.0.0.1", "::1", "198.18.0.0/15"] {
        let answer = h.ask(Request::Ban {
            jail: "sshd".into(),
            targets: vec![target.into()],
            force: false,
            bantime_seconds: None,
            reason: None,
        });
        assert!(!answer.ok, "{target}");
        assert!(answer.error.unwrap().contains("--force"));
    }
    assert!(h.kernel().is_empty());
    let answer = h.ask(Request::Ban {
        jail: "sshd".into(),
        targets: vec!["198.18.0.0/16".into(), "203.0.113.9".into()],
        force: false,
        bantime_seconds: None,
        reason: None,
    });
    assert!(answer.ok, "{answer:?}");
    let answer = h.ask(Request::Ban {
        jail: "sshd".into(),
        targets: vec!["203.0.113.9".into()],
        force: false,
        bantime_seconds: None,
        reason: None,
    });
    assert!(answer
        .data
        .unwrap()
        .as_str()
        .unwrap()
        .contains("1 already banned"));
    assert_eq!(h.daemon.jails[0].total_banned, 2);
}

fn accepted(addr: &str) -> String {
    format!("{START} host sshd[7]: Accepted password for alice from {addr} port 4242 ssh2\n")
}

#[tokio::test]
async fn a_trusted_address_gets_maxretry_times_tolerance() {
    let trust = "[jails.sshd.trust]\nttl = \"1h\"\ntolerance = 3\n";
    let mut h = harness(&format!("{}{trust}", jail("sshd", "-", 2)));
    let id = h.reader("-");
    let text =
        accepted("192.0.2.5") + &failure("192.0.2.5").repeat(5) + &failure("192.0.2.6").repeat(2);
    h.daemon.on_lines(id, batch("-", &text).await);
    // The stranger is banned at 2, the user who logged in survives 5 typos.
    assert_eq!(h.kernel(), ["192.0.2.6"]);
    h.daemon
        .on_lines(id, batch("-", &failure("192.0.2.5")).await);
    assert_eq!(h.kernel(), ["192.0.2.5", "192.0.2.6"]);
}

#[tokio::test]
async fn trust_ends_after_its_ttl() {
    let trust = "[jails.sshd.trust]\nttl = \"1m\"\ntolerance = 3\n";
    let mut h = harness(&format!("{}{trust}", jail("sshd", "-", 2)));
    let id = h.reader("-");
    h.daemon
        .on_lines(id, batch("-", &accepted("192.0.2.5")).await);
    h.clock.advance(Duration::from_secs(61));
    let later = (h.clock.now() - jiff::SignedDuration::from_secs(0)).to_string();
    let line = failure("192.0.2.5").replace(START, &later).repeat(2);
    h.daemon.on_lines(id, batch("-", &line).await);
    assert_eq!(h.kernel(), ["192.0.2.5"]);
}

#[tokio::test]
async fn five_bans_in_one_24_become_one_element() {
    let subnet = "[jails.sshd.subnet]\naddresses = 5\nwithin = \"1h\"\n";
    let mut h = harness(&format!("{}{subnet}", jail("sshd", "-", 1)));
    let id = h.reader("-");
    let text: String = (1..=4)
        .map(|i| failure(&format!("198.51.100.{i}")))
        .collect();
    h.daemon.on_lines(id, batch("-", &text).await);
    assert_eq!(h.kernel().len(), 4);
    h.daemon
        .on_lines(id, batch("-", &failure("198.51.100.77")).await);
    assert_eq!(h.kernel(), ["198.51.100.0/24"]);
    assert_eq!(h.daemon.bans.len(), 1);
    assert_eq!(h.stored(), 1);
}

#[tokio::test]
async fn an_attacker_rotating_through_one_64_is_one_attacker() {
    let mut h = harness(&jail("sshd", "-", 3));
    let id = h.reader("-");
    let text: String = (1..=3)
        .map(|i| failure(&format!("2001:db8:1:2::{i:x}")))
        .collect();
    h.daemon.on_lines(id, batch("-", &text).await);
    assert_eq!(h.kernel(), ["2001:db8:1:2::/64"]);
}

#[tokio::test]
async fn a_ban_by_hand_keeps_its_duration_and_reason_and_unban_can_stay_in_a_jail() {
    let jails = format!("{}{}", jail("sshd", "-", 3), jail("web", "-", 3));
    let mut h = harness(&jails);
    let ban = |jail: &str, target: &str, secs: Option<u64>, reason: Option<&str>| Request::Ban {
        jail: jail.into(),
        targets: vec![target.into()],
        force: false,
        bantime_seconds: secs,
        reason: reason.map(str::to_owned),
    };
    assert!(
        h.ask(ban("sshd", "192.0.2.5", Some(3600), Some("scanner")))
            .ok
    );
    assert!(h.ask(ban("web", "192.0.2.5", None, None)).ok);
    assert!(h.ask(ban("web", "192.0.2.6", None, None)).ok);
    let zero = h.ask(ban("sshd", "192.0.2.7", Some(0), None));
    assert!(zero.error.unwrap().contains("at least 1 second"));
    let stored = h.daemon.recorder.store().active_bans().unwrap();
    let sshd = stored.iter().find(|b| b.jail == "sshd").unwrap();
    assert_eq!(sshd.reason.as_deref(), Some("scanner"));
    assert_eq!(
        sshd.end.unwrap().duration_since(sshd.start).as_secs(),
        3600,
        "not the jail's 10m"
    );
    let web = stored.iter().find(|b| b.jail == "web").unwrap();
    assert_eq!(web.reason.as_deref(), Some("banned by hand"));
    let listed = crate::control::banned::page_of(&h.daemon.bans, Some("sshd"), None, None, &|_| {
        (false, false)
    });
    let page = listed.page.unwrap();
    assert_eq!(page.bans.len(), 1);
    assert_eq!(page.bans[0].origin, "manual");

    // Lifted in web only: still banned by sshd, so it stays in the kernel.
    let lifted = h.ask(Request::Unban {
        targets: vec!["192.0.2.5".into()],
        all: false,
        jail: Some("web".into()),
    });
    assert!(lifted.ok, "{lifted:?}");
    assert_eq!(h.kernel(), ["192.0.2.5", "192.0.2.6"]);
    let all_web = h.ask(Request::Unban {
        targets: vec![],
        all: true,
        jail: Some("web".into()),
    });
    assert!(all_web.ok, "{all_web:?}");
    assert_eq!(h.kernel(), ["192.0.2.5"]);
    assert_eq!(h.daemon.bans.count_in("sshd"), 1);
    let nope = h.ask(Request::Unban {
        targets: vec![],
        all: true,
        jail: Some("nope".into()),
    });
    assert!(nope.error.unwrap().contains("no jail named"));
}
