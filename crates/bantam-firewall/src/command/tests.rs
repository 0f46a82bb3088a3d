//! The life cycle, against fail2ban's rules: commands append their verb to
//! a journal file, and the tests read the order back.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::*;

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("bt-cmd-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }

    fn journal(&self) -> Vec<String> {
        std::fs::read_to_string(self.0.join("journal"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every command writes "verb family ip" to the journal.
fn journaling(dir: &Scratch) -> ActionSpec {
    let mut spec = ActionSpec::new("test-action");
    let log = |verb: &str| format!("echo {verb} <family> <ip> >> '{}'", dir.path("journal"));
    spec.actionstart = log("start");
    spec.actionstop = log("stop");
    spec.actionban = log("ban");
    spec.actionunban = log("unban");
    spec.actionflush = log("flush");
    spec.timeout = Duration::from_secs(10);
    spec
}

fn ban(ip: &str) -> BanInfo {
    BanInfo::new(ip.parse().unwrap())
}

#[test]
fn start_ban_unban_stop_in_order() {
    let dir = Scratch::new();
    let mut action = CommandAction::new(journaling(&dir)).unwrap();
    action.start().unwrap();
    action.ban(&ban("192.0.2.1")).unwrap();
    action.ban(&ban("2001:db8::1")).unwrap();
    action.unban(&ban("192.0.2.1")).unwrap();
    action.stop().unwrap();
    assert_eq!(
        dir.journal(),
        [
            "start",
            "ban inet4 192.0.2.1",
            "ban inet6 2001:db8::1",
            "unban inet4 192.0.2.1",
            "stop",
        ]
    );
}

#[test]
fn unban_before_any_ban_does_nothing_and_flush_empties() {
    let dir = Scratch::new();
    let mut action = CommandAction::new(journaling(&dir)).unwrap();
    action.start().unwrap();
    action.unban(&ban("192.0.2.1")).unwrap();
    action.ban(&ban("192.0.2.2")).unwrap();
    action.flush().unwrap();
    // Flushed: nothing left to unban or flush.
    action.unban(&ban("192.0.2.2")).unwrap();
    action.flush().unwrap();
    assert_eq!(dir.journal(), ["start", "ban inet4 192.0.2.2", "flush"]);
}

#[test]
fn conditional_settings_start_each_family_on_demand() {
    let dir = Scratch::new();
    let mut spec = journaling(&dir);
    spec.actionstart = format!("echo start <proto> >> '{}'", dir.path("journal"));
    spec.actionstop = format!("echo stop <proto> >> '{}'", dir.path("journal"));
    spec.init.insert("proto".into(), "ip".into());
    spec.init.insert("proto?family=inet6".into(), "ip6".into());
    let mut action = CommandAction::new(spec).unwrap();
    action.start().unwrap();
    assert!(dir.journal().is_empty(), "started before any ban");
    action.ban(&ban("2001:db8::5")).unwrap();
    action.ban(&ban("2001:db8::6")).unwrap();
    action.ban(&ban("198.51.100.5")).unwrap();
    action.stop().unwrap();
    assert_eq!(
        dir.journal(),
        [
            "start ip6",
            "ban inet6 2001:db8::5",
            "ban inet6 2001:db8::6",
            "start ip",
            "ban inet4 198.51.100.5",
            "stop ip",
            "stop ip6",
        ]
    );
}

#[test]
fn a_failed_ban_is_checked_repaired_and_retried() {
    let dir = Scratch::new();
    let mut spec = journaling(&dir);
    let table = dir.path("table");
    // The ban needs the table; the check sees it is missing; the repair
    // makes it.
    spec.actionban = format!(
        "test -e '{table}' && echo ban <ip> >> '{}'",
        dir.path("journal")
    );
    spec.actioncheck = format!("test -e '{table}'");
    spec.actionrepair = format!(
        "touch '{table}' && echo repair >> '{}'",
        dir.path("journal")
    );
    let mut action = CommandAction::new(spec).unwrap();
    action.start().unwrap();
    action.ban(&ban("203.0.113.9")).unwrap();
    assert_eq!(dir.journal(), ["start", "repair", "ban 203.0.113.9"]);
}

#[test]
fn without_repair_a_failed_check_restarts_the_action() {
    let dir = Scratch::new();
    let mut spec = journaling(&dir);
    let table = dir.path("table");
    spec.actionstart = format!("touch '{table}'; echo start >> '{}'", dir.path("journal"));
    spec.actionstop = format!("rm -f '{table}'; echo stop >> '{}'", dir.path("journal"));
    spec.actionban = format!(
        "test -e '{table}' && echo ban <ip> >> '{}'",
        dir.path("journal")
    );
    spec.actioncheck = format!("test -e '{table}'");
    let mut action = CommandAction::new(spec).unwrap();
    action.start().unwrap();
    std::fs::remove_file(&table).unwrap();
    action.ban(&ban("203.0.113.9")).unwrap();
    assert_eq!(dir.journal(), ["start", "stop", "start", "ban 203.0.113.9"]);

    // The explicit check finds the table gone and restarts too.
    std::fs::remove_file(&table).unwrap();
    action.check().unwrap();
    assert!(std::path::Path::new(&table).exists());
}

#[test]
fn unban_does_not_repair_unless_told() {
    let dir = Scratch::new();
    let mut spec = journaling(&dir);
    spec.actionunban = "false".into();
    spec.actioncheck = "false".into();
    spec.actionrepair = format!("echo repair >> '{}'", dir.path("journal"));
    let mut action = CommandAction::new(spec.clone()).unwrap();
    action.start().unwrap();
    action.ban(&ban("192.0.2.3")).unwrap();
    let err = action.unban(&ban("192.0.2.3")).unwrap_err();
    assert!(err.to_string().contains("actioncheck"), "{err}");
    assert!(!dir.journal().contains(&"repair".to_string()));
}

#[test]
fn a_failing_command_names_action_verb_code_and_stderr() {
    let dir = Scratch::new();
    let mut spec = journaling(&dir);
    spec.actionban = "echo 'no such set' >&2; exit 4".into();
    let mut action = CommandAction::new(spec).unwrap();
    action.start().unwrap();
    let err = action.ban(&ban("192.0.2.4")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "action test-action: actionban: exit code 4: no such set"
    );
    match err {
        FirewallError::Action {
            verb,
            problem: ActionProblem::Failed { code, .. },
            ..
        } => assert_eq!((verb, code), ("actionban", Some(4))),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_hung_command_times_out() {
    let dir = Scratch::new();
    let mut spec = journaling(&dir);
    spec.actionstart = "sleep 30".into();
    spec.timeout = Duration::from_millis(300);
    let mut action = CommandAction::new(spec).unwrap();
    let started = std::time::Instant::now();
    let err = action.start().unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        err.to_string()
            .starts_with("action test-action: actionstart: timed out"),
        "{err}"
    );
}

#[test]
fn bad_definitions_are_refused_at_creation() {
    let mut spec = ActionSpec::new("loop");
    spec.init.insert("a".into(), "<a>x".into());
    spec.actionban = "echo <a>".into();
    let err = CommandAction::new(spec).unwrap_err();
    assert!(
        err.to_string().starts_with("action loop: actionban: "),
        "{err}"
    );

    let mut spec = ActionSpec::new("unsafe");
    spec.actionban = "echo ${x:-<F-USER>}".into();
    let err = CommandAction::new(spec).unwrap_err();
    assert!(err.to_string().contains("<F-USER>"), "{err}");
}

#[test]
fn reban_uses_actionreban_when_set() {
    let dir = Scratch::new();
    let mut spec = journaling(&dir);
    let mut action = CommandAction::new(spec.clone()).unwrap();
    action.reban(&ban("192.0.2.8")).unwrap();
    spec.actionreban = Some(format!("echo reban <ip> >> '{}'", dir.path("journal")));
    let mut action = CommandAction::new(spec).unwrap();
    action.reban(&ban("192.0.2.8")).unwrap();
    assert_eq!(dir.journal(), ["ban inet4 192.0.2.8", "reban 192.0.2.8"]);
}

#[test]
fn on_demand_families_share_one_start_and_one_stop() {
    let dir = Scratch::new();
    let mut spec = journaling(&dir);
    spec.actionstart = format!("echo start >> '{}'", dir.path("journal"));
    spec.actionstop = format!("echo stop >> '{}'", dir.path("journal"));
    spec.init
        .insert("actionstart_on_demand".into(), "true".into());
    let mut action = CommandAction::new(spec).unwrap();
    action.start().unwrap();
    action.ban(&ban("192.0.2.1")).unwrap();
    action.ban(&ban("2001:db8::1")).unwrap();
    action.stop().unwrap();
    assert_eq!(
        dir.journal(),
        [
            "start",
            "ban inet4 192.0.2.1",
            "ban inet6 2001:db8::1",
            "stop"
        ]
    );
}
