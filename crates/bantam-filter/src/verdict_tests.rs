//! Success rules, weights and `<F-COUNT>`: what a line's verdict carries
//! beyond "failure from this address".

use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::fail2ban::F2bFilterSpec;
use crate::{shipped, AnyFilter, AnyFilterSpec, Definition, Filter, FilterSpec, Host, Outcome};

fn now() -> Timestamp {
    "2026-11-25T12:00:00Z".parse().unwrap()
}

fn host(text: &str) -> Host {
    Host::Ip(text.parse().unwrap())
}

#[test]
fn success_tag_makes_a_success_not_a_failure() {
    let spec = FilterSpec::inline(
        "t",
        &["^ok <F-SUCCESS/>from <HOST>$", "^bad from <HOST>$"],
        &[],
    );
    let mut f = Filter::new(&spec, TimeZone::UTC).unwrap();
    match f.scan(b"ok from 192.0.2.1", now()) {
        Outcome::Success(s) => {
            assert!(s.success);
            assert_eq!(s.host, host("192.0.2.1"));
        }
        other => panic!("{other:?}"),
    }
    assert!(f.scan(b"ok from 192.0.2.1", now()).failure().is_none());
    assert!(matches!(f.scan(b"bad from 192.0.2.1", now()), Outcome::Failure(f) if !f.success));
}

#[test]
fn native_rule_flags_carry_success_weight_and_bantime() {
    let def = Definition::parse(
        "t",
        r#"
description = "t"
[[failregex]]
id = "login"
success = true
regex = '^login from <HOST>$'
[[failregex]]
id = "typo"
weight = 0.5
bantime = "30s"
regex = '^typo <F-COUNT>[0-9]+</F-COUNT> from <HOST>$'
[[failregex]]
id = "noise"
weight = 0
regex = '^noise from <HOST>$'
"#,
    )
    .unwrap();
    let spec = def.spec("t", None).unwrap();
    assert_eq!(spec.failregex[1].policy.bantime.as_deref(), Some("30s"));
    let mut f = Filter::new(&spec, TimeZone::UTC).unwrap();
    assert!(matches!(
        f.scan(b"login from 192.0.2.1", now()),
        Outcome::Success(_)
    ));
    let typo = f.scan(b"typo 3 from 192.0.2.1", now());
    let typo = typo.failure().unwrap();
    assert_eq!((typo.count, typo.weight, typo.weighted()), (3, 500, 1500));
    assert_eq!(
        f.scan(b"noise from 192.0.2.1", now())
            .failure()
            .unwrap()
            .weighted(),
        0
    );
}

#[test]
fn bad_weights_are_refused_naming_the_rule() {
    for weight in ["-1", "1e9", "nan"] {
        let text = format!(
            "description = \"t\"\n[[failregex]]\nid = \"r\"\nweight = {weight}\nregex = '<HOST>'\n"
        );
        let err = Definition::parse("t", &text).unwrap_err().to_string();
        assert!(
            err.contains("rule \"r\"") && err.contains("weight"),
            "{err}"
        );
    }
}

#[test]
fn sshd_accepts_are_successes_from_the_address_sshd_wrote() {
    let spec = shipped::definition("sshd")
        .unwrap()
        .spec("sshd", None)
        .unwrap();
    let mut f = Filter::new(&spec, TimeZone::UTC).unwrap();
    let cases = [
        ("Nov 25 07:21:09 h sshd[1]: Accepted password for btuser from 192.0.2.10 port 36801 ssh2", "192.0.2.10"),
        ("Nov 25 07:21:09 h sshd[1]: Accepted publickey for u from 2001:db8::5 port 2 ssh2: RSA SHA256:xyz", "2001:db8::5"),
        // A user name holding an address cannot stand for the source.
        ("Accepted password for a from 203.0.113.9 port 1 ssh2 from 192.0.2.11 port 36801 ssh2", "192.0.2.11"),
    ];
    for (line, addr) in cases {
        match f.scan(line.as_bytes(), now()) {
            Outcome::Success(s) => assert_eq!(s.host, host(addr), "{line}"),
            other => panic!("{line}: {other:?}"),
        }
    }
    // Not where sshd writes it: no success.
    let line = b"Nov 25 07:21:09 h sshd[1]: Failed password for Accepted password for x from 192.0.2.12 port 1 ssh2";
    assert!(matches!(f.scan(line, now()), Outcome::Failure(_)));
}

#[test]
fn fail2ban_success_and_count_tags() {
    let spec = F2bFilterSpec {
        name: "t".into(),
        failregex: vec![
            r"^<F-SUCCESS>Accepted</F-SUCCESS> for \S+ from <HOST>$".into(),
            r"^Failed <F-COUNT>\d+</F-COUNT> times from <HOST>$".into(),
        ],
        maxlines: 1,
        ..F2bFilterSpec::default()
    };
    let mut f = AnyFilterSpec::Fail2ban(spec)
        .compile(TimeZone::UTC)
        .unwrap();
    let mut out = Vec::new();
    scan(&mut f, "Accepted for u from 192.0.2.1", &mut out);
    assert!(out[0].success && out[0].host == host("192.0.2.1"));
    out.clear();
    scan(&mut f, "Failed 4 times from 192.0.2.2", &mut out);
    assert!(!out[0].success);
    assert_eq!(out[0].count, 4);
}

fn scan(f: &mut AnyFilter, line: &str, out: &mut Vec<crate::Failure>) {
    f.scan(line.as_bytes(), now(), out);
}
