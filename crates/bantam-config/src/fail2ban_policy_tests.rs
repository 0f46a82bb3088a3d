//! fail2ban's `bantime.*` and `recidive` jail as bantam settings, from
//! trees in temporary directories. The expected times are fail2ban's
//! documented formulas (jail.conf), worked out by hand.

use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::settings::{Fail2banActions, JailSettings};

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Loads a tree whose `[DEFAULT]` holds `defaults`, with one jail `one`
/// and `more` appended to jail.conf.
fn load(name: &str, defaults: &str, more: &str) -> (Vec<JailSettings>, Vec<String>) {
    let dir = std::env::temp_dir().join(format!("bantam-f2bp-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = Dir(dir);
    std::fs::create_dir_all(d.0.join("filter.d")).unwrap();
    std::fs::write(
        d.0.join("filter.d/test.conf"),
        "[Definition]\nfailregex = ^bad login from <HOST>$\n",
    )
    .unwrap();
    std::fs::write(
        d.0.join("filter.d/recidive.conf"),
        "[Definition]\nfailregex = ^ Ban <HOST>$\n",
    )
    .unwrap();
    let log = d.0.join("app.log");
    std::fs::write(&log, "").unwrap();
    std::fs::write(
        d.0.join("jail.conf"),
        format!(
            "[DEFAULT]\nfilter = test\nusedns = no\nlogpath = {}\n{defaults}\n[one]\nenabled = true\n{more}",
            log.display()
        ),
    )
    .unwrap();
    crate::fail2ban_jails::fail2ban_jails(&d.0, Fail2banActions::Commands).unwrap()
}

fn steps(jail: &JailSettings) -> Vec<u64> {
    match &jail.escalation.as_ref().expect("escalation").growth {
        Growth::Steps(s) => s.iter().map(|d| d.as_secs()).collect(),
        Growth::Factor(f) => panic!("factor {f}"),
    }
}

#[test]
fn increment_off_or_absent_changes_nothing() {
    let (jails, warnings) = load("off", "bantime.factor = 3", "");
    assert!(jails[0].escalation.is_none() && jails[0].recidive.is_none());
    assert_eq!(warnings, Vec::<String>::new());
    let (jails, _) = load("perm", "bantime.increment = true\nbantime = -1", "");
    assert!(jails[0].escalation.is_none());
}

#[test]
fn the_default_formula_doubles_twenty_times() {
    let (jails, warnings) = load("default", "bantime.increment = true\nbantime = 600", "");
    let s = steps(&jails[0]);
    // The n-th ban: 600 * 2^(n-1), the count stopping at 20.
    assert_eq!(s.len(), 21);
    assert_eq!(&s[..4], [600, 1200, 2400, 4800]);
    assert_eq!(s[20], 600 << 20);
    let e = jails[0].escalation.as_ref().unwrap();
    assert_eq!(
        (e.max, e.jitter, e.window, e.across_jails),
        (None, Duration::ZERO, None, false)
    );
    assert_eq!(warnings, Vec::<String>::new());
}

#[test]
fn factor_maxtime_rndtime_and_overalljails() {
    let (jails, _) = load(
        "max",
        "bantime.increment = true\nbantime = 10m\nbantime.factor = 3\nbantime.maxtime = 2h\n\
         bantime.rndtime = 30\nbantime.overalljails = true",
        "",
    );
    // 600, then 600*2*3, 600*4*3 = 7200 = maxtime, where it stays.
    assert_eq!(steps(&jails[0]), [600, 3600, 7200]);
    let e = jails[0].escalation.as_ref().unwrap();
    assert_eq!((e.jitter, e.across_jails), (Duration::from_secs(30), true));
    // The first ban is not capped (fail2ban applies maxtime from the second).
    let (jails, _) = load(
        "first",
        "bantime.increment = true\nbantime = 1h\nbantime.maxtime = 10m",
        "",
    );
    assert_eq!(steps(&jails[0]), [3600, 600]);
}

#[test]
fn multipliers_and_the_exponential_formula() {
    let (jails, _) = load(
        "mult",
        "bantime.increment = true\nbantime = 60\nbantime.multipliers = 1 5 30 60 300",
        "",
    );
    // The first multiplier is never used: the first ban is bantime itself.
    assert_eq!(steps(&jails[0]), [60, 300, 1800, 3600, 18_000]);
    let (jails, _) = load(
        "exp",
        "bantime.increment = true\nbantime = 600\nbantime.factor = 2.0 / 2.885385\n\
         bantime.formula = ban.Time * math.exp(float(ban.Count+1)*banFactor)/math.exp(1*banFactor)\n\
         bantime.maxtime = 1d",
        "",
    );
    // jail.conf: "the same values only for factor 2.0 / 2.885385".
    let s = steps(&jails[0]);
    assert_eq!(s.len(), 9, "{s:?}");
    for (n, secs) in s.iter().enumerate().take(8) {
        let want = 600.0 * 2f64.powi(n as i32);
        assert!(
            (*secs as f64 - want).abs() <= want * 1e-4,
            "{n}: {secs} vs {want}"
        );
    }
    assert_eq!(s[8], 86_400);
    let (jails, _) = load(
        "cap",
        "bantime.increment = true\nbantime = 1\nbantime.formula = ban.Time * (1<<(ban.Count if ban.Count<3 else 3)) * banFactor",
        "",
    );
    assert_eq!(steps(&jails[0]), [1, 2, 4, 8]);
}

#[test]
fn what_cannot_be_read_is_named_and_the_default_used() {
    let (jails, warnings) = load(
        "unread",
        "bantime.increment = true\nbantime = 1\nbantime.formula = ban.Time * ban.Count ** 2\n\
         bantime.factor = lots",
        "",
    );
    assert_eq!(steps(&jails[0])[..3], [1, 2, 4]);
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert!(warnings[0].contains("bantime.factor = lots cannot be read; using 1"));
    assert!(warnings[1].contains("bantime.formula = ban.Time * ban.Count ** 2 cannot be read"));
}

#[test]
fn the_recidive_jail_becomes_the_built_in_recidive() {
    let (jails, warnings) = load(
        "recidive",
        "",
        "[recidive]\nenabled = true\nfilter = recidive\nlogpath = /var/log/fail2ban.log\n\
         bantime = 1w\nfindtime = 1d\n",
    );
    assert_eq!(jails.len(), 1, "recidive is not run as a jail");
    let r = jails[0].recidive.as_ref().unwrap();
    assert_eq!(
        (r.bans, r.within, r.bantime, r.across_jails),
        (
            5,
            Duration::from_secs(86_400),
            BanTime::For(Duration::from_secs(604_800)),
            true
        )
    );
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(warnings[0].starts_with("fail2ban jail recidive (which reads fail2ban's own log) is replaced by bantam's built-in recidive: an address banned 5 times within 86400s"), "{}", warnings[0]);
}
