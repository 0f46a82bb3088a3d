//! The pipeline on small hand-written logs with documentation addresses:
//! prefregex, rule order, ignoreregex, alternates, maxlines with skipped
//! lines, and multi-line ids (nofail, forget, gained, pending).
//!
//! Patterns avoid `$` so that these tests do not depend on how the Python
//! dialect's end anchor is translated; that has its own tests.

use super::*;

fn spec(prefregex: Option<&str>, failregex: &[&str]) -> F2bFilterSpec {
    F2bFilterSpec {
        name: "test".to_owned(),
        prefregex: prefregex.map(str::to_owned),
        failregex: failregex.iter().map(|s| (*s).to_owned()).collect(),
        maxlines: 1,
        raw_host: true,
        ..F2bFilterSpec::default()
    }
}

fn now() -> Timestamp {
    Timestamp::from_second(1_700_000_000).unwrap()
}

fn filter(s: &F2bFilterSpec) -> F2bFilter {
    F2bFilter::new(s, TimeZone::UTC).unwrap()
}

/// Feeds journal-style lines (time known), returns each line's results.
fn feed(f: &mut F2bFilter, lines: &[&str]) -> Vec<Vec<F2bMatch>> {
    lines.iter().map(|l| f.process_dated(l, now())).collect()
}

#[test]
fn rules_run_in_order_and_first_wins() {
    let mut f = filter(&spec(
        None,
        &["^auth fail from <HOST>", "^auth fail from <HOST> port"],
    ));
    let r = f.process_dated("auth fail from 192.0.2.4 port 22", now());
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].rule, 0);
    assert_eq!(r[0].fid.as_deref(), Some("192.0.2.4"));
    assert_eq!(r[0].kind, HostKind::Ip4);
    assert_eq!(r[0].matches(), vec!["auth fail from 192.0.2.4 port 22"]);
}

#[test]
fn check_all_reports_every_matching_rule() {
    let mut s = spec(None, &["^auth fail from <HOST>", "from <HOST> port"]);
    s.check_all = true;
    let r = filter(&s).process_dated("auth fail from 2001:db8::7 port 22", now());
    assert_eq!(r.iter().map(|m| m.rule).collect::<Vec<_>>(), vec![0, 1]);
    assert_eq!(r[1].kind, HostKind::Ip6);
}

#[test]
fn prefregex_filters_and_hands_on_content() {
    let s = spec(
        Some(r"^svc\[\d+\]: <F-CONTENT>.+</F-CONTENT>"),
        &["^bad password for <F-USER>\\S+</F-USER> from <HOST>"],
    );
    let mut f = filter(&s);
    assert!(f
        .process_dated("other[1]: bad password for a from 192.0.2.1", now())
        .is_empty());
    let r = f.process_dated("svc[9]: bad password for alice from 198.51.100.3", now());
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].field("user"), Some("alice"));
    assert!(!r[0].fields().contains_key("content"));
}

#[test]
fn ignoreregex_drops_a_match() {
    let mut s = spec(None, &["fail from <HOST>"]);
    s.ignoreregex = vec!["from 203\\.0\\.113\\.".to_owned()];
    let mut f = filter(&s);
    assert!(f.process_dated("fail from 203.0.113.8", now()).is_empty());
    assert_eq!(f.process_dated("fail from 192.0.2.8", now()).len(), 1);
}

#[test]
fn alternate_user_fills_user_only_when_empty() {
    let s = spec(
        None,
        &["^login (?:<F-USER>\\w+</F-USER>|as <F-ALT_USER>\\w+</F-ALT_USER>) from <HOST>"],
    );
    let mut f = filter(&s);
    let r = f.process_dated("login as bob from 192.0.2.9", now());
    assert_eq!(r[0].field("user"), Some("bob"));
    let r = f.process_dated("login carol from 192.0.2.9", now());
    assert_eq!(r[0].field("user"), Some("carol"));
}

#[test]
fn fid_without_host_and_dns_without_raw_host() {
    let mut f = filter(&spec(None, &["^session <F-ID>\\w+</F-ID> denied"]));
    let r = f.process_dated("session s42 denied", now());
    assert_eq!(r[0].fid.as_deref(), Some("s42"));
    assert_eq!(r[0].kind, HostKind::Id);

    let mut s = spec(None, &["^denied <HOST> x"]);
    s.raw_host = false;
    let mut f = filter(&s);
    assert!(f
        .process_dated("denied mail.example.org x", now())
        .is_empty());
    assert_eq!(f.process_dated("denied 192.0.2.10 x", now()).len(), 1);
}

#[test]
fn missing_id_group_is_an_error_naming_the_rule() {
    let err = F2bFilter::new(&spec(None, &["no id here"]), TimeZone::UTC).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("filter test, failregex 0"), "{text}");
    let err = F2bFilter::new(&spec(None, &["(unclosed <HOST>"]), TimeZone::UTC).unwrap_err();
    assert!(err.to_string().contains("failregex 0"));
}

#[test]
fn maxlines_with_skipped_lines() {
    let mut s = spec(None, &["^begin <HOST><SKIPLINES>end fail"]);
    s.maxlines = 3;
    let mut f = filter(&s);
    let r = feed(&mut f, &["begin 192.0.2.20", "noise", "end fail"]);
    assert!(r[0].is_empty() && r[1].is_empty());
    assert_eq!(r[2].len(), 1);
    // The skipped line is not an attempt.
    assert_eq!(r[2][0].matches(), vec!["begin 192.0.2.20", "end fail"]);
    // The matched lines left the buffer: no second match.
    assert!(f.process_dated("more", now()).is_empty());
}

/// A connection-tracking filter: helper lines name the address, failures
/// come later on the same connection id.
fn conn_filter(check_all: bool) -> F2bFilter {
    let mut s = spec(
        Some(r"^conn <F-MLFID>\d+</F-MLFID>: <F-CONTENT>.+</F-CONTENT>"),
        &[
            "^<F-NOFAIL>connect</F-NOFAIL> from <HOST>",
            "^auth failed user <F-USER>\\S+</F-USER>",
            "^<F-NOFAIL><F-MLFFORGET>closed</F-MLFFORGET></F-NOFAIL>",
            "^<F-MLFGAINED>accepted</F-MLFGAINED> user <F-USER>\\S+</F-USER>",
        ],
    );
    s.check_all = check_all;
    filter(&s)
}

#[test]
fn mlfid_failure_inherits_address_and_counts_helper_line() {
    let mut f = conn_filter(false);
    let r = feed(
        &mut f,
        &[
            "conn 7: connect from 192.0.2.5",
            "conn 7: auth failed user bob",
        ],
    );
    assert!(r[0].is_empty(), "helper line is not a failure");
    assert_eq!(r[1].len(), 1);
    let m = &r[1][0];
    assert_eq!(m.fid.as_deref(), Some("192.0.2.5"));
    assert_eq!(m.users, vec!["bob"]);
    assert_eq!(m.field("mlfid"), Some("7"));
    assert_eq!(
        m.matches(),
        vec![
            "conn 7: connect from 192.0.2.5",
            "conn 7: auth failed user bob"
        ]
    );
}

#[test]
fn mlfid_other_connections_do_not_mix() {
    let mut f = conn_filter(false);
    let r = feed(
        &mut f,
        &[
            "conn 1: connect from 192.0.2.1",
            "conn 2: connect from 198.51.100.2",
            "conn 2: auth failed user x",
        ],
    );
    assert_eq!(r[2][0].fid.as_deref(), Some("198.51.100.2"));
}

#[test]
fn mlfid_forget_ends_the_connection() {
    let mut f = conn_filter(false);
    let r = feed(
        &mut f,
        &[
            "conn 7: connect from 192.0.2.5",
            "conn 7: closed",
            "conn 7: auth failed user eve",
        ],
    );
    assert!(r.iter().all(Vec::is_empty), "{r:?}");
}

#[test]
fn mlfid_gained_is_not_a_failure() {
    let mut f = conn_filter(true);
    let r = feed(
        &mut f,
        &[
            "conn 8: connect from 198.51.100.7",
            "conn 8: accepted user amy",
        ],
    );
    assert!(r[0].iter().all(|m| m.nofail));
    assert!(r[1].iter().all(|m| m.nofail), "{:?}", r[1]);
}

#[test]
fn mlfid_pending_failure_counts_once_the_address_is_known() {
    let mut f = conn_filter(true);
    let r = feed(
        &mut f,
        &[
            "conn 9: auth failed user x",
            "conn 9: connect from 203.0.113.9",
        ],
    );
    // Pending: reported (check_all) without an id.
    assert_eq!(r[0].len(), 1);
    assert!(r[0][0].fid.is_none());
    // The helper line now completes a real failure of two attempts.
    assert_eq!(r[1].len(), 1);
    let m = &r[1][0];
    assert!(!m.nofail);
    assert_eq!(m.fid.as_deref(), Some("203.0.113.9"));
    assert_eq!(m.attempts(), 2);
}

#[test]
fn mlfid_two_users_on_one_connection_is_a_failure_even_if_gained() {
    let mut f = conn_filter(false);
    let r = feed(
        &mut f,
        &[
            "conn 3: connect from 192.0.2.33",
            "conn 3: auth failed user a",
            "conn 3: accepted user b",
        ],
    );
    assert_eq!(r[1].len(), 1);
    assert_eq!(r[2].len(), 1, "a second user after a failure still counts");
    assert_eq!(r[2][0].users, vec!["a", "b"]);
}
