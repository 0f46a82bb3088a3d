use std::path::Path;
use std::time::Duration;

use super::*;
use crate::settings::{parse, Settings};

fn parse_str(text: &str) -> Result<Settings, ConfigError> {
    parse(Path::new("/etc/bantam/bantam.toml"), text)
}

fn err(text: &str) -> String {
    parse_str(text).unwrap_err().to_string()
}

const JAIL: &str = "[jails.sshd]\nfilter = 'sshd'\nlogpath = '/x'\n";

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn the_issue_example_resolves() {
    let text = format!(
        "{JAIL}[jails.sshd.escalation]\nsteps = [\"30s\", \"5m\", \"1h\", \"1d\"]\nmax = \"24h\"\njitter = \"30s\"\nwindow = \"7d\"\nacross-jails = false\n\
         [jails.sshd.recidive]\nbans = 5\nwithin = \"1d\"\nbantime = \"permanent\"\n"
    );
    let s = parse_str(&text).unwrap();
    let j = &s.jails[0];
    let e = j.escalation.as_ref().unwrap();
    assert_eq!(
        e.growth,
        Growth::Steps(vec![secs(30), secs(300), secs(3600), secs(86_400)])
    );
    assert_eq!(e.max, Some(secs(86_400)));
    assert_eq!(e.jitter, secs(30));
    assert_eq!(e.window, Some(secs(7 * 86_400)));
    assert!(!e.across_jails);
    assert_eq!((e.step(1), e.step(4), e.step(9)), (1, 4, 4));
    let r = j.recidive.as_ref().unwrap();
    assert_eq!(
        (r.bans, r.within, r.bantime),
        (5, secs(86_400), BanTime::Permanent)
    );
}

#[test]
fn a_factor_and_inheritance_from_defaults() {
    let text = format!(
        "[defaults.escalation]\nfactor = 2\nacross-jails = true\n[defaults.recidive]\nbans = 3\nwithin = 3600\nbantime = '1w'\n{JAIL}\
         [jails.web]\nfilter = 'sshd'\nlogpath = '/y'\n[jails.web.escalation]\nfactor = 1.5\n"
    );
    let s = parse_str(&text).unwrap();
    let sshd = s.jails.iter().find(|j| j.name == "sshd").unwrap();
    let web = s.jails.iter().find(|j| j.name == "web").unwrap();
    let e = sshd.escalation.as_ref().unwrap();
    assert_eq!(
        (e.growth.clone(), e.across_jails, e.window),
        (Growth::Factor(2.0), true, None)
    );
    assert_eq!(e.step(7), 7);
    // A jail's own table replaces the default one whole.
    let w = web.escalation.as_ref().unwrap();
    assert_eq!(
        (w.growth.clone(), w.across_jails),
        (Growth::Factor(1.5), false)
    );
    assert_eq!(
        web.recidive.as_ref().unwrap().bantime,
        BanTime::For(secs(604_800))
    );
    assert!(parse_str(JAIL).unwrap().jails[0].escalation.is_none());
}

#[test]
fn bad_values_name_file_line_and_key() {
    let cases = [
        (
            "[jails.sshd.escalation]\nsteps = []\n",
            "/etc/bantam/bantam.toml:5: jails.sshd.escalation.steps: empty: give at least one duration",
        ),
        (
            "[jails.sshd.escalation]\nsteps = ['1m', '0s']\n",
            "/etc/bantam/bantam.toml:5: jails.sshd.escalation.steps: must be longer than zero",
        ),
        (
            "[jails.sshd.escalation]\nsteps = ['1m', -5]\n",
            "/etc/bantam/bantam.toml:5: jails.sshd.escalation.steps: -5: must not be negative",
        ),
        (
            "[jails.sshd.escalation]\nfactor = 0.5\n",
            "/etc/bantam/bantam.toml:5: jails.sshd.escalation.factor: 0.5: must be at least 1",
        ),
        (
            "[jails.sshd.escalation]\nsteps = ['1m']\nfactor = 2\n",
            "/etc/bantam/bantam.toml:6: jails.sshd.escalation.factor: give steps or factor, not both",
        ),
        (
            "[jails.sshd.escalation]\nmax = '1h'\n",
            "/etc/bantam/bantam.toml:4: jails.sshd.escalation: give steps (a list of durations) or factor",
        ),
        (
            "[jails.sshd.escalation]\nfactor = 2\nmax = '-1h'\n",
            "/etc/bantam/bantam.toml:6: jails.sshd.escalation.max: \"-1h\" is not a duration (expected e.g. 600, 10m, 1d12h)",
        ),
        (
            "[jails.sshd.escalation]\nfactor = 2\nwindow = 0\n",
            "/etc/bantam/bantam.toml:6: jails.sshd.escalation.window: must be longer than zero",
        ),
        (
            "[jails.sshd.recidive]\nbans = 1\nwithin = '1d'\nbantime = 'permanent'\n",
            "/etc/bantam/bantam.toml:5: jails.sshd.recidive.bans: 1: must be 2 to 1000000",
        ),
        (
            "[jails.sshd.recidive]\nbans = 3\nwithin = '-1d'\nbantime = 'permanent'\n",
            "/etc/bantam/bantam.toml:6: jails.sshd.recidive.within: \"-1d\" is not a duration (expected e.g. 600, 10m, 1d12h)",
        ),
    ];
    for (table, want) in cases {
        assert_eq!(err(&format!("{JAIL}{table}")), want, "{table}");
    }
    let e = err(&format!(
        "{JAIL}[jails.sshd.escalation]\nsteps = ['1m']\nstep = 2\n"
    ));
    assert!(
        e.contains(":6:") && e.contains("unknown field `step`"),
        "{e}"
    );
    let e = err(&format!("[defaults.escalation]\nsteps = []\n{JAIL}"));
    assert_eq!(
        e,
        "/etc/bantam/bantam.toml:2: defaults.escalation.steps: empty: give at least one duration"
    );
    let e = err(&format!(
        "{JAIL}bantime = -1\n[jails.sshd.escalation]\nfactor = 2\n"
    ));
    assert!(
        e.contains("jails.sshd.escalation.factor: the jail's bantime is permanent"),
        "{e}"
    );
}
