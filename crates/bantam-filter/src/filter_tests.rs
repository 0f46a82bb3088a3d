use super::*;
use crate::spec::FilterSpec;
use std::net::IpAddr;

fn now() -> Timestamp {
    "2026-11-25T12:00:00Z".parse().unwrap()
}

fn filter(fail: &[&str], ignore: &[&str]) -> Filter {
    Filter::new(&FilterSpec::inline("test", fail, ignore), TimeZone::UTC).unwrap()
}

fn failure(f: &mut Filter, line: &str) -> Failure {
    match f.scan(line.as_bytes(), now()) {
        Outcome::Failure(failure) => failure,
        other => panic!("expected a failure for {line:?}, got {other:?}"),
    }
}

fn ip(s: &str) -> Host {
    Host::Ip(s.parse::<IpAddr>().unwrap())
}

#[test]
fn host_tag_finds_v4_v6_bracketed_and_mapped() {
    let mut f = filter(&["^fail from <HOST>$"], &[]);
    assert_eq!(failure(&mut f, "fail from 192.0.2.1").host, ip("192.0.2.1"));
    assert_eq!(
        failure(&mut f, "fail from 2001:db8::1").host,
        ip("2001:db8::1")
    );
    assert_eq!(
        failure(&mut f, "fail from [2001:db8::2]").host,
        ip("2001:db8::2")
    );
    assert_eq!(
        failure(&mut f, "fail from ::ffff:198.51.100.3").host,
        ip("198.51.100.3")
    );
    assert_eq!(f.scan(b"fail from host.example", now()), Outcome::Missed);
    assert_eq!(
        f.scan(b"fail from 999.1.1.1", now()),
        Outcome::Invalid { rule: 0 }
    );
    assert_eq!(f.scan(b"fail from 192.0.2.1234", now()), Outcome::Missed);
}

#[test]
fn hostnames_only_when_the_filter_opts_in() {
    let mut spec = FilterSpec::inline("names", &["^fail from <HOST>$"], &[]);
    spec.allow_hostnames = true;
    let mut f = Filter::new(&spec, TimeZone::UTC).unwrap();
    assert_eq!(
        failure(&mut f, "fail from mail.example.org").host,
        Host::Name("mail.example.org".into())
    );
    assert_eq!(failure(&mut f, "fail from 192.0.2.5").host, ip("192.0.2.5"));
}

#[test]
fn addr_ip4_ip6_tags_are_family_specific() {
    let mut f = filter(&["^a <ADDR>$", "^four <IP4>$", "^six <IP6>$"], &[]);
    assert_eq!(failure(&mut f, "a 2001:db8::9").host, ip("2001:db8::9"));
    assert_eq!(failure(&mut f, "four 192.0.2.4").host, ip("192.0.2.4"));
    assert_eq!(f.scan(b"four 2001:db8::4", now()), Outcome::Missed);
    assert_eq!(failure(&mut f, "six 2001:db8::6").host, ip("2001:db8::6"));
    assert_eq!(f.scan(b"six 192.0.2.6", now()), Outcome::Missed);
}

#[test]
fn subnet_and_cidr_tags_give_networks() {
    let mut f = filter(&["^net <SUBNET>$", "^pair <ADDR>/<CIDR>$"], &[]);
    assert_eq!(
        failure(&mut f, "net 192.0.2.7/24").host,
        Host::Net("192.0.2.0/24".parse().unwrap())
    );
    assert_eq!(
        failure(&mut f, "net 2001:db8::7/48").host,
        Host::Net("2001:db8::/48".parse().unwrap())
    );
    assert_eq!(failure(&mut f, "net 192.0.2.7").host, ip("192.0.2.7"));
    assert_eq!(
        failure(&mut f, "pair 198.51.100.1/16").host,
        Host::Net("198.51.0.0/16".parse().unwrap())
    );
    assert_eq!(
        f.scan(b"net 192.0.2.7/40", now()),
        Outcome::Invalid { rule: 0 }
    );
}

#[test]
fn user_id_fields_and_count() {
    let mut f = filter(
        &[
            r"^login <F-USER>\S+</F-USER> id=<F-ID/> port=<F-PORT/> svc=<F-SERVICE>\w+</F-SERVICE> from <HOST>(?:, <F-COUNT>\d+</F-COUNT> times)?$",
        ],
        &[],
    );
    let got = failure(
        &mut f,
        "login bob id=42 port=ssh svc=imap from 192.0.2.8, 7 times",
    );
    assert_eq!(got.user.as_deref(), Some("bob"));
    assert_eq!(got.id.as_deref(), Some("42"));
    assert_eq!(got.count, 7);
    assert_eq!(
        got.fields,
        vec![
            ("port".into(), "ssh".into()),
            ("service".into(), "imap".into())
        ]
    );
    assert_eq!(
        failure(&mut f, "login bob id=1 port=22 svc=x from 192.0.2.8").count,
        1
    );
    assert_eq!(
        failure(
            &mut f,
            "login bob id=1 port=22 svc=x from 192.0.2.8, 0 times"
        )
        .count,
        1
    );
    let huge = failure(
        &mut f,
        "login bob id=1 port=22 svc=x from 192.0.2.8, 99999999999999999999999 times",
    );
    assert_eq!(huge.count, crate::failure::MAX_COUNT);
}

#[test]
fn nofail_marks_helper_lines() {
    let mut f = filter(
        &[r"^(?:<F-NOFAIL>Accepted</F-NOFAIL>|Failed) for \S+ from <HOST>$"],
        &[],
    );
    assert_eq!(
        failure(&mut f, "Failed for x from 192.0.2.1").host,
        ip("192.0.2.1")
    );
    assert_eq!(
        f.scan(b"Accepted for x from 192.0.2.1", now()),
        Outcome::NoFail {
            rule: 0,
            host: Some(ip("192.0.2.1"))
        }
    );
}

#[test]
fn first_rule_in_order_wins_and_ignore_vetoes() {
    let mut f = filter(&["from <HOST> b", "^a from <HOST>"], &["trusted"]);
    assert_eq!(failure(&mut f, "a from 192.0.2.1 b").rule, 0);
    assert_eq!(failure(&mut f, "a from 192.0.2.1 c").rule, 1);
    assert_eq!(
        f.scan(b"a from 192.0.2.1 trusted", now()),
        Outcome::Ignored { rule: 0 }
    );
    assert_eq!(f.scan(b"nothing here", now()), Outcome::Missed);
}

#[test]
fn prefregex_narrows_the_text_rules_see() {
    let spec = FilterSpec {
        prefregex: Some(r"^\S+ myd\[\d+\]: <F-CONTENT>.+</F-CONTENT>$".into()),
        ..FilterSpec::inline("pref", &["^bad login from <HOST>$"], &[])
    };
    let mut f = Filter::new(&spec, TimeZone::UTC).unwrap();
    assert_eq!(
        failure(&mut f, "host myd[1]: bad login from 192.0.2.1").host,
        ip("192.0.2.1")
    );
    assert_eq!(
        f.scan(b"host other[1]: bad login from 192.0.2.1", now()),
        Outcome::Missed
    );
}

#[test]
fn undated_lines_take_the_arrival_time() {
    let mut f = filter(&["^x <HOST>$"], &[]);
    let got = failure(&mut f, "x 192.0.2.1");
    assert_eq!((got.time, got.dated), (now(), false));
}

#[test]
fn a_rule_that_cannot_name_a_source_is_refused() {
    let err = Filter::new(
        &FilterSpec::inline("t", &["^no host here$"], &[]),
        TimeZone::UTC,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("failregex #1 has no address tag"),
        "{err}"
    );
    let err = Filter::new(
        &FilterSpec::inline("t", &["^(unclosed <HOST>"], &[]),
        TimeZone::UTC,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("failregex #1 does not compile"),
        "{err}"
    );
    let err = Filter::new(&FilterSpec::inline("t", &[], &[]), TimeZone::UTC).unwrap_err();
    assert!(err.to_string().contains("no failregex"), "{err}");
}

#[test]
fn the_same_tag_twice_in_one_rule_works() {
    let mut f = filter(&["^from <HOST> via <HOST>$"], &[]);
    assert_eq!(
        failure(&mut f, "from 192.0.2.1 via 198.51.100.1").host,
        ip("192.0.2.1")
    );
}

#[test]
fn bytes_that_are_not_utf8_are_just_text() {
    let mut f = filter(&[r"^user <F-USER>\S+</F-USER> from <HOST>$"], &[]);
    let got = f.scan(b"user \xff\xfe\x00 from 192.0.2.1", now());
    let got = got.failure().expect("a failure");
    assert_eq!(got.host, ip("192.0.2.1"));
    assert_eq!(got.user.as_deref(), Some("\u{fffd}\u{fffd}\0"));
}

#[test]
fn a_match_too_long_for_the_backtracker_still_gives_its_captures() {
    // The capture pass runs a bounded backtracker over the matched span;
    // a span past its memory (hundreds of kilobytes here, with a rule of
    // many states) must fall back to the meta regex, not lose the failure.
    let mut f = filter(
        &["^fail user <F-USER>\\S+</F-USER> (?:\\w+ )*from <HOST>$"],
        &[],
    );
    let long = format!("fail user root {}from 2001:db8::7", "word ".repeat(200_000));
    let found = failure(&mut f, &long);
    assert_eq!(found.host, ip("2001:db8::7"));
    assert_eq!(found.user.as_deref(), Some("root"));
    let short = failure(&mut f, "fail user bob from 192.0.2.8");
    assert_eq!(
        (short.host, short.user.as_deref()),
        (ip("192.0.2.8"), Some("bob"))
    );
}
