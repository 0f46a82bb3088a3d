use std::path::Path;
use std::time::Duration;

use bantam_filter::shipped;

use super::*;
use crate::settings::{parse, SSHD_JOURNAL, SSHD_LOGS};

fn jail_of(text: &str) -> crate::JailSettings {
    let s = parse(Path::new("/etc/bantam/bantam.toml"), text).unwrap();
    s.jails.into_iter().next().unwrap()
}

#[test]
fn every_shipped_filter_makes_a_jail_on_its_own() {
    // Durations in a filter's [jail] are checked here, by the grammar that
    // reads them; a filter without a default log path needs one written.
    for name in shipped::names() {
        let jail = shipped_jail(name);
        let text = match jail.as_ref().is_some_and(|j| !j.logpath.is_empty()) {
            true => format!("[jails.j]\nfilter = {name:?}\n"),
            false => format!("[jails.j]\nfilter = {name:?}\nlogpath = '/var/log/x.log'\n"),
        };
        let s = parse(Path::new("/etc/bantam/bantam.toml"), &text)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let j = &s.jails[0];
        let Some(jail) = jail else { continue };
        if let Some(n) = jail.maxretry {
            assert_eq!(j.maxretry, n, "{name}");
        }
        assert!(!j.logpath.is_empty(), "{name}");
    }
}

#[test]
fn the_sshd_filter_table_is_the_built_in_sshd_jail() {
    let jail = shipped_jail("sshd").unwrap();
    assert_eq!(jail.logpath, SSHD_LOGS);
    assert_eq!(jail.journalmatch, SSHD_JOURNAL);
}

#[test]
fn a_jail_without_logpath_reads_its_filter_default() {
    let expected = default_logpaths("sshd", exists).unwrap();
    let j = jail_of("[jails.ssh]\nfilter = 'sshd'\n");
    assert_eq!(j.logpath, expected);
    assert_eq!(j.maxretry, 5);
    assert_eq!(j.findtime, Duration::from_secs(600));
    let origin = j.logpath_origin[0].to_string();
    assert!(
        origin.contains("jails.ssh.filter (its default logpath)"),
        "{origin}"
    );
    assert!(origin.contains("bantam.toml:2"), "{origin}");
}

#[test]
fn the_jail_and_defaults_win_over_the_filter() {
    let j = jail_of("[jails.ssh]\nfilter = 'sshd'\nlogpath = '/srv/auth.log'\n");
    assert_eq!(j.logpath, ["/srv/auth.log"]);
    let j = jail_of("[defaults]\nlogpath = '/srv/all.log'\n[jails.ssh]\nfilter = 'sshd'\n");
    assert_eq!(j.logpath, ["/srv/all.log"]);
    let origin = j.logpath_origin[0].to_string();
    assert!(origin.contains("defaults.logpath"), "{origin}");
}

#[test]
fn filter_values_fill_only_gaps() {
    let mut o = JailOptions {
        filter: Some(Spanned::new(0..1, "sshd".to_owned())),
        maxretry: Some(Spanned::new(0..1, 9)),
        ..JailOptions::default()
    };
    o = fill(o, |p| p == "/var/log/secure");
    assert_eq!(*o.maxretry.unwrap().get_ref(), 9);
    assert_eq!(
        o.logpath.unwrap().into_inner().into_vec(),
        ["/var/log/secure"]
    );
}

#[test]
fn only_shipped_filters_have_defaults() {
    assert!(shipped_jail("no-such-filter").is_none());
    assert!(default_logpaths("mine.toml", |_| true).is_none());
    let o = fill(
        JailOptions {
            filter: Some(Spanned::new(0..1, "mine.toml".to_owned())),
            ..JailOptions::default()
        },
        |_| true,
    );
    assert!(o.logpath.is_none());
}

#[test]
fn a_jail_with_no_filter_default_still_needs_a_logpath() {
    let e = parse(
        Path::new("/etc/bantam/bantam.toml"),
        "[jails.x]\nfailregex = ['bad <HOST>']\n",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("missing: which logs"), "{e}");
}
