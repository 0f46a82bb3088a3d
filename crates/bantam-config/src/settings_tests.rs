use std::path::PathBuf;

use super::*;

fn parse_str(text: &str) -> Result<Settings, ConfigError> {
    parse(Path::new("/etc/bantam/bantam.toml"), text)
}

fn err(text: &str) -> String {
    parse_str(text).unwrap_err().to_string()
}

const ISSUE_EXAMPLE: &str = r#"
[daemon]
state-dir = "/var/lib/bantam"      # SQLite database lives here
socket = "/run/bantam/bantam.sock"
[jails.sshd]
filter = "sshd"                    # shipped filter name or filter file; or inline failregex = [...]
logpath = ["/var/log/auth.log"]    # files and globs
maxretry = 5
findtime = "10m"
bantime = "10m"                    # "-1" or "permanent" for no end
ignoreip = ["127.0.0.0/8", "::1", "192.0.2.0/24"]
"#;

#[test]
fn the_documented_example_works_as_written() {
    let s = parse_str(ISSUE_EXAMPLE).unwrap();
    assert_eq!(s.daemon.state_dir, PathBuf::from("/var/lib/bantam"));
    assert_eq!(s.daemon.socket, PathBuf::from("/run/bantam/bantam.sock"));
    let j = &s.jails[0];
    assert_eq!(j.name, "sshd");
    assert_eq!(j.logpath, vec!["/var/log/auth.log"]);
    assert_eq!(j.maxretry, 5);
    assert_eq!(j.findtime, Duration::from_secs(600));
    assert_eq!(j.bantime, BanTime::For(Duration::from_secs(600)));
    assert_eq!(j.ignoreip.len(), 3);
    assert!(!j.filter.native().unwrap().failregex.is_empty());
}

#[test]
fn permanent_bans_and_combined_durations() {
    let s = parse_str("[jails.a]\nfilter='sshd'\nlogpath='/x'\nbantime='-1'\nfindtime='1d12h'\n")
        .unwrap();
    assert_eq!(s.jails[0].bantime, BanTime::Permanent);
    assert_eq!(s.jails[0].findtime, Duration::from_secs(129_600));
    let s = parse_str("[jails.a]\nfilter='sshd'\nlogpath='/x'\nbantime='permanent'\nfindtime=60\n")
        .unwrap();
    assert_eq!(s.jails[0].bantime, BanTime::Permanent);
    assert_eq!(s.jails[0].findtime, Duration::from_secs(60));
    let s = parse_str("[jails.a]\nfilter='sshd'\nlogpath='/x'\nbantime=-1\n").unwrap();
    assert_eq!(s.jails[0].bantime, BanTime::Permanent);
}

#[test]
fn defaults_fill_gaps_and_disabled_jails_are_skipped() {
    let s = parse_str(
        "[defaults]\nmaxretry = 3\nbantime = '1h'\n[jails.a]\nfilter='sshd'\nlogpath='/x'\n[jails.b]\nenabled=false\nfilter='sshd'\nlogpath='/y'\n",
    )
    .unwrap();
    assert_eq!(s.jails.len(), 1);
    assert_eq!(s.jails[0].maxretry, 3);
    assert_eq!(s.jails[0].bantime, BanTime::For(Duration::from_secs(3600)));
}

#[test]
fn inline_failregex_makes_a_filter() {
    let s =
        parse_str("[jails.web]\nlogpath='/x'\nfailregex=['^bad login from <HOST>$']\n").unwrap();
    assert_eq!(s.jails[0].filter.native().unwrap().failregex.len(), 1);
}

#[test]
fn errors_name_file_line_and_key() {
    let e = err("[jails.sshd]\nfilter='sshd'\nlogpath='/x'\nbantime='10x'\n");
    assert_eq!(e, "/etc/bantam/bantam.toml:4: jails.sshd.bantime: \"10x\": unknown unit \"x\" (use s, m, h, d, w)");
    let e = err("[jails.sshd]\nfilter='sshd'\nlogpath='/x'\nignoreip=['192.0.2.0/33']\n");
    assert!(
        e.starts_with("/etc/bantam/bantam.toml:4: jails.sshd.ignoreip: \"192.0.2.0/33\""),
        "{e}"
    );
    let e = err("[jails.sshd]\nfilter='sshd'\nlogpath='/x'\nmaxretyr=3\n");
    assert!(
        e.starts_with("/etc/bantam/bantam.toml:4: toml: unknown field `maxretyr`"),
        "{e}"
    );
    let e = err("[daemon]\nsockett='/x'\n");
    assert!(
        e.starts_with("/etc/bantam/bantam.toml:2: toml: unknown field `sockett`"),
        "{e}"
    );
    let e = err("[jails.sshd]\nfilter='sshd'\nlogpath='/x'\nfailregex=['(unclosed <HOST>']\n");
    assert!(
        e.starts_with("/etc/bantam/bantam.toml:4: jails.sshd.failregex:")
            && e.contains("unclosed group"),
        "{e}"
    );
    let e = err("[jails.sshd]\nfilter='nope.toml'\nlogpath='/x'\n");
    assert!(e.starts_with("/etc/bantam/bantam.toml:2: jails.sshd.filter: cannot read filter file /etc/bantam/nope.toml"), "{e}");
    let e = err("[jails.sshd]\nfilter='sshdd'\nlogpath='/x'\n");
    assert!(e.contains("neither a shipped filter"), "{e}");
    // (A shipped filter brings its default log paths: see filter_jail.rs.)
    let e = err("[jails.sshd]\nfailregex=['bad <HOST>']\n");
    assert!(e.contains("jails.sshd.logpath: missing"), "{e}");
    let e = err("[jails.sshd]\nfilter='sshd'\nlogpath='/x'\nmode='furious'\n");
    assert!(e.contains("has no mode \"furious\""), "{e}");
    let e = err("[jails.sshd]\nfilter='sshd'\nlogpath='/x'\nmaxretry=0\n");
    assert!(e.contains("jails.sshd.maxretry: 0: must be"), "{e}");
    let e = err("[jails.sshd]\nfilter='sshd'\nlogpath='/x'\nlogtimezone='Mars/Olympus'\n");
    assert!(
        e.contains("jails.sshd.logtimezone: unknown time zone"),
        "{e}"
    );
    let e = err("[jails.sshd\n");
    assert!(e.starts_with("/etc/bantam/bantam.toml:1: toml:"), "{e}");
}

#[test]
fn logpaths_that_can_never_work_are_errors() {
    let dir = std::env::temp_dir();
    let e = err(&format!(
        "[jails.a]\nfilter='sshd'\nlogpath=['{}']\n",
        dir.display()
    ));
    assert!(
        e.starts_with(&format!(
            "/etc/bantam/bantam.toml:3: jails.a.logpath: {} is a directory",
            dir.display()
        )),
        "{e}"
    );
    let e = err("[jails.a]\nfilter='sshd'\n\nlogpath=[\"/var/log/a\\u0000b\"]\n");
    assert!(
        e.starts_with(
            "/etc/bantam/bantam.toml:4: jails.a.logpath: \"/var/log/a\\0b\" contains a NUL byte"
        ),
        "{e}"
    );
    let e = err("[jails.a]\nfilter='sshd'\nlogpath=['/x', ' ']\n");
    assert_eq!(e, "/etc/bantam/bantam.toml:3: jails.a.logpath: empty path");
    let e = err("[jails.a]\nfilter='sshd'\nlogpath=''\n");
    assert_eq!(
        e,
        "/etc/bantam/bantam.toml:3: jails.a.logpath: no paths given"
    );
    let e = err("[defaults]\nlogpath=['/var/log/']\n[jails.a]\nfilter='sshd'\n");
    assert!(
        e.starts_with("/etc/bantam/bantam.toml:2: defaults.logpath: /var/log/ is a directory"),
        "{e}"
    );
}

#[test]
fn logpaths_know_where_they_were_written() {
    let s = parse_str(
        "[defaults]\nlogpath = '/var/log/all.log'\n[jails.a]\nfilter='sshd'\n\
         [jails.b]\nfilter='sshd'\nlogpath = ['auth.log', '-', 'app/*.log']\n",
    )
    .unwrap();
    let a = &s.jails[0];
    assert_eq!(a.logpath, vec!["/var/log/all.log"]);
    assert_eq!(
        a.logpath_origin[0].to_string(),
        "/etc/bantam/bantam.toml:2: defaults.logpath"
    );
    let b = &s.jails[1];
    // Relative to the file, never to the daemon's working directory.
    assert_eq!(
        b.logpath,
        vec!["/etc/bantam/auth.log", "-", "/etc/bantam/app/*.log"]
    );
    let origins: Vec<String> = b.logpaths().map(|(_, o)| o.to_string()).collect();
    assert_eq!(
        origins,
        vec!["/etc/bantam/bantam.toml:7: jails.b.logpath"; 3]
    );
    let missing = b.missing_logpaths();
    assert_eq!(
        missing,
        vec![
            "/etc/bantam/bantam.toml:7: jails.b.logpath: /etc/bantam/auth.log does not exist (yet); waiting for it",
            "/etc/bantam/bantam.toml:7: jails.b.logpath: /etc/bantam/app/*.log: directory /etc/bantam/app does not exist (yet); waiting for it",
        ]
    );
}

#[test]
fn norestored_per_jail_and_from_defaults() {
    let s = parse_str(
        "[defaults]\nnorestored = true\n[jails.a]\nfilter='sshd'\nlogpath='/x'\n\
         [jails.b]\nfilter='sshd'\nlogpath='/x'\nnorestored = false\n",
    )
    .unwrap();
    assert!(s.jails[0].norestored);
    assert!(!s.jails[1].norestored);
    let s = parse_str("[jails.a]\nfilter='sshd'\nlogpath='/x'\n").unwrap();
    assert!(!s.jails[0].norestored, "default");
}

#[test]
fn banaction_per_jail_from_defaults_or_the_daemon() {
    let s = parse_str(
        "[daemon]\nbackend = 'iptables'\n[defaults]\nbanaction = 'ipset'\n\
         [jails.a]\nfilter='sshd'\nlogpath='/x'\n\
         [jails.b]\nfilter='sshd'\nlogpath='/x'\nbanaction = 'route'\n",
    )
    .unwrap();
    let daemon = s.daemon.backend;
    assert_eq!(daemon, BackendKind::Iptables);
    assert_eq!(s.jails[0].backend(daemon), Some(BackendKind::Ipset));
    assert_eq!(s.jails[1].backend(daemon), Some(BackendKind::Route));
    let s = parse_str("[jails.a]\nfilter='sshd'\nlogpath='/x'\n").unwrap();
    assert_eq!(s.jails[0].banaction, None, "inherits [daemon] backend");
    assert_eq!(
        s.jails[0].backend(s.daemon.backend),
        Some(BackendKind::Nftables)
    );
}

#[test]
fn an_unknown_banaction_names_file_line_key_and_the_valid_names() {
    assert_eq!(
        err("[jails.a]\nfilter='sshd'\nlogpath='/x'\nbanaction = 'iptables-multiport'\n"),
        "/etc/bantam/bantam.toml:4: jails.a.banaction: unknown backend \"iptables-multiport\" \
         (nftables, ipset, iptables, route, hosts-deny, dry-run)"
    );
    assert_eq!(
        err("[defaults]\n\nbanaction = 'pf'\n"),
        "/etc/bantam/bantam.toml:3: defaults.banaction: unknown backend \"pf\" \
         (nftables, ipset, iptables, route, hosts-deny, dry-run)"
    );
    assert_eq!(
        err("[jails.a]\nbanaction = 5\n"),
        "/etc/bantam/bantam.toml:2: toml: invalid type: integer `5`, expected a string"
    );
}
