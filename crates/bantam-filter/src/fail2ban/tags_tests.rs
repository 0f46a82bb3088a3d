//! Each tag's expansion, run through the Python-dialect engine on lines
//! with documentation addresses.

use super::*;
use crate::python::{PyFlags, PyRegex};

/// The named groups of the first match of `pattern` (tags expanded) in
/// `text`.
fn groups(pattern: &str, text: &str) -> Option<Vec<(String, String)>> {
    let re = PyRegex::new(&expand(pattern).pattern, PyFlags::default()).unwrap();
    let m = re.search(text).unwrap()?;
    Some(
        m.named()
            .map(|(n, (s, e))| (n.to_owned(), text[s..e].to_owned()))
            .collect(),
    )
}

fn one(pattern: &str, text: &str, group: &str) -> Option<String> {
    groups(pattern, text)?
        .into_iter()
        .find(|(n, _)| n == group)
        .map(|(_, v)| v)
}

#[test]
fn host_takes_ipv4() {
    assert_eq!(
        one("from <HOST> port", "from 192.0.2.7 port", "ip4").as_deref(),
        Some("192.0.2.7")
    );
}

#[test]
fn host_takes_mapped_ipv4_without_prefix() {
    let g = one("from <HOST>$", "from ::ffff:198.51.100.9", "ip4");
    assert_eq!(g.as_deref(), Some("198.51.100.9"));
}

#[test]
fn host_takes_ipv6_bare_and_bracketed() {
    assert_eq!(
        one("from <HOST> x", "from 2001:db8::1 x", "ip6").as_deref(),
        Some("2001:db8::1")
    );
    assert_eq!(
        one("from <HOST> x", "from [2001:db8::a:1] x", "ip6").as_deref(),
        Some("2001:db8::a:1")
    );
    assert_eq!(one("^<HOST>$", "::1", "ip6").as_deref(), Some("::1"));
    assert_eq!(
        one("^<IP6> ", "2001:db8:: x", "ip6").as_deref(),
        Some("2001:db8::")
    );
    let full = "2001:db8:1:2:3:4:5:6";
    assert_eq!(
        one("^<IP6> ", &format!("{full} x"), "ip6").as_deref(),
        Some(full)
    );
}

#[test]
fn ipv6_needs_more_than_a_colon() {
    assert!(groups("^<IP6> ", ": x").is_none());
    assert!(groups("^<IP6> ", "ab: x").is_none());
    // A port after an IPv6 address is given back to the rule.
    let g = one("^<HOST>:[0-9]+ ", "2001:db8::12:8443 x", "ip6");
    assert_eq!(g.as_deref(), Some("2001:db8::12"));
}

#[test]
fn host_takes_dns_name() {
    let g = one("from <HOST> port", "from mail.example.org port", "dns");
    assert_eq!(g.as_deref(), Some("mail.example.org"));
}

#[test]
fn addr_rejects_names() {
    assert!(groups("^from <ADDR> port", "from mail.example.org port").is_none());
    assert_eq!(
        one("from <ADDR>", "from 203.0.113.4", "ip4").as_deref(),
        Some("203.0.113.4")
    );
}

#[test]
fn ip4_ip6_dns_tags_only_take_their_kind() {
    assert_eq!(
        one("^<IP4>$", "192.0.2.1", "ip4").as_deref(),
        Some("192.0.2.1")
    );
    assert!(groups("^<IP4>$", "2001:db8::1").is_none());
    assert_eq!(
        one("^<IP6>$", "2001:db8::1", "ip6").as_deref(),
        Some("2001:db8::1")
    );
    assert_eq!(
        one("^<DNS>$", "host-1.example.net", "dns").as_deref(),
        Some("host-1.example.net")
    );
}

#[test]
fn subnet_and_cidr() {
    let g = groups("^<SUBNET>$", "198.18.0.0/15").unwrap();
    assert!(g.contains(&("ip4".into(), "198.18.0.0".into())));
    assert!(g.contains(&("cidr".into(), "15".into())));
    assert_eq!(
        one("^<IP4>/<CIDR>$", "192.0.2.0/24", "cidr").as_deref(),
        Some("24")
    );
}

#[test]
fn fid_and_port() {
    assert_eq!(
        one("session <F-ID/> closed", "session a1b2 closed", "fid").as_deref(),
        Some("a1b2")
    );
    assert_eq!(
        one("port <F-PORT/>", "port 2222", "fport").as_deref(),
        Some("2222")
    );
}

#[test]
fn custom_fields_take_fail2ban_names() {
    let p = "user <F-USER>\\S+</F-USER> id <F-MLFID>\\d+</F-MLFID> <F-ALT_USER1>\\w+</F-ALT_USER1>";
    let e = expand(p).pattern;
    assert!(e.contains("(?P<user>"));
    assert!(e.contains("(?P<mlfid>"));
    assert!(e.contains("(?P<alt_user1>"));
    assert_eq!(
        one(p, "user alice id 42 bob", "mlfid").as_deref(),
        Some("42")
    );
    for (tag, key) in [
        ("F-NOFAIL", "nofail"),
        ("F-MLFFORGET", "mlfforget"),
        ("F-MLFGAINED", "mlfgained"),
        ("F-CONTENT", "content"),
        ("F-ID", "fid"),
    ] {
        let e = expand(&format!("<{tag}>x</{tag}>")).pattern;
        assert_eq!(e, format!("(?P<{key}>x)"));
    }
}

#[test]
fn unopened_close_and_unknown_tags_stay_literal() {
    assert_eq!(
        expand("a </F-USER> <W> <html>").pattern,
        "a </F-USER> <W> <html>"
    );
    assert_eq!(expand("(?P<ip4>x)").pattern, "(?P<ip4>x)");
}

#[test]
fn skiplines_are_numbered() {
    let e = expand("^a<SKIPLINES>b<SKIPLINES>c$");
    assert_eq!(e.skiplines, 2);
    assert!(e.pattern.contains("skiplines0") && e.pattern.contains("skiplines1"));
    let text = "a\nnoise\nb\nc";
    assert_eq!(
        one("^a<SKIPLINES>b$", "a\nnoise\nb", "skiplines0").as_deref(),
        Some("noise\n")
    );
    assert!(groups("^a<SKIPLINES>b<SKIPLINES>c$", text).is_some());
}

#[test]
fn scoped_flags_rewritten() {
    assert_eq!(expand("SASL ((?i)login) x").pattern, "SASL (?i:login) x");
    assert_eq!(expand("a(?:(?i)b)").pattern, "a(?i:b)");
    assert_eq!(expand(r"\((?i)").pattern, r"\((?i)");
}
