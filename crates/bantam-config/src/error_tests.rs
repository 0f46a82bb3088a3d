//! Every error shows each of its causes exactly once, however it is
//! printed: alone (`{}`, as the daemon logs) or with its chain of sources
//! (as the CLI prints).

use std::error::Error;
use std::path::{Path, PathBuf};

use super::ConfigError;
use crate::fail2ban::Fail2banError;
use crate::fail2ban_jails::{fail2ban_jails, load_with_fail2ban};
use crate::settings::{load, parse, Fail2banActions};

/// The error followed by each of its sources, as `{:#}` prints it.
fn rendered(e: &dyn Error) -> (String, Vec<String>) {
    let mut text = e.to_string();
    let mut sources = Vec::new();
    let mut next = e.source();
    while let Some(s) = next {
        text.push_str(": ");
        text.push_str(&s.to_string());
        sources.push(s.to_string());
        next = s.source();
    }
    (text, sources)
}

/// `inner`: the text of an error this one was made from (kept as a field
/// or flattened into its message).
fn assert_once(e: &dyn Error, inner: Option<&str>) {
    let (text, sources) = rendered(e);
    for s in sources.iter().map(String::as_str).chain(inner) {
        assert_eq!(text.matches(s).count(), 1, "{s:?} not once in {text:?}");
    }
}

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn dir(name: &str, files: &[(&str, &str)]) -> Dir {
    let d = std::env::temp_dir().join(format!("bantam-err-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    for (path, text) in files {
        let p = d.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    std::fs::create_dir_all(&d).unwrap();
    Dir(d)
}

fn f2b(d: &Dir) -> ConfigError {
    fail2ban_jails(&d.0, Fail2banActions::Commands).unwrap_err()
}

#[test]
fn every_cause_is_printed_once() {
    let missing = Path::new("/no/such/bantam.toml");
    let io = std::fs::read(missing).unwrap_err().to_string();
    let e = load(missing).unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }));
    assert_once(&e, Some(&io));

    let toml = Path::new("/etc/bantam/bantam.toml");
    let e = parse(toml, "[jails.a\n").unwrap_err();
    assert!(matches!(e, ConfigError::Invalid { .. }));
    assert_once(&e, None);
    let e = parse(
        toml,
        "[jails.a]\nfilter='sshd'\nlogpath='/x'\nbantime='1x'\n",
    )
    .unwrap_err();
    assert_once(&e, Some("unknown unit"));

    let broken = dir(
        "broken",
        &[("filter.d/b.conf", "[Definition]\nfailregex = %(nope)s\n")],
    );
    let conf = broken.0.join("bantam.toml");
    std::fs::write(
        &conf,
        "[jails.a]\nfail2ban-filter='filter.d/b.conf'\nlogpath='/x'\n",
    )
    .unwrap();
    let e = load(&conf).unwrap_err();
    assert!(matches!(e, ConfigError::Invalid { .. }), "{e}");
    assert_once(&e, Some("nope"));

    let e = ConfigError::NoDefault("no configuration given".into());
    assert_once(&e, None);

    let empty = dir("empty", &[]);
    let e = f2b(&empty);
    assert!(matches!(e, ConfigError::Fail2ban(_)));
    assert_once(&e, Some(&empty.0.display().to_string()));

    let bad = dir(
        "bad",
        &[
            ("filter.d/t.conf", "[Definition]\nfailregex = ^x <HOST>$\n"),
            (
                "jail.conf",
                "[a]\nenabled = true\nfilter = t\nlogpath = /x\nfindtime = 1x\n",
            ),
        ],
    );
    assert_once(&f2b(&bad), Some("unknown unit"));
    let logdir = dir(
        "logdir",
        &[
            ("filter.d/t.conf", "[Definition]\nfailregex = ^x <HOST>$\n"),
            (
                "jail.conf",
                "[a]\nenabled = true\nfilter = t\nlogpath = /tmp\n",
            ),
            ("x", ""),
        ],
    );
    assert_once(&f2b(&logdir), Some("/tmp is a directory"));
    let conf = logdir.0.join("bantam.toml");
    std::fs::write(&conf, "[jails.a]\nfilter='sshd'\nlogpath='/x'\n").unwrap();
    std::fs::write(
        logdir.0.join("jail.conf"),
        "[a]\nenabled = true\nfilter = t\nlogpath = /x\n",
    )
    .unwrap();
    let e = load_with_fail2ban(Some(&conf), Some(&logdir.0)).unwrap_err();
    assert_once(&e, Some("jail a"));
}

#[test]
fn fail2ban_errors_print_each_cause_once() {
    let io = std::io::Error::from_raw_os_error(13);
    let io_text = io.to_string();
    let e = Fail2banError::Read {
        path: "/etc/fail2ban/jail.conf".into(),
        error: io,
    };
    assert_once(&e, Some(&io_text));
    // Wrapped the way the jail loader wraps it.
    assert_once(&ConfigError::Fail2ban(e.to_string()), Some(&io_text));
    let e = Fail2banError::Value {
        path: "/etc/fail2ban/jail.conf".into(),
        section: "sshd".into(),
        key: "bantime".into(),
        message: "bad".into(),
    };
    assert_once(&e, Some("bad"));
}
