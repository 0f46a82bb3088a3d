use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::*;
use crate::definition::Definition;
use crate::filter::Filter;

const CADDY: &str = r#"
description = "Caddy access log: answers 401 and 403"
format = "json"

[fields]
address = "request.remote_ip"
user = "user_id"
time = "ts"

[when]
status = [401, 403]
"request.uri" = { regex = '^/(?:login|admin)' }
"#;

fn caddy_line(ip: &str, status: u16, uri: &str) -> String {
    format!(
        r#"{{"level":"info","ts":1764055269.625,"logger":"http.log.access","msg":"handled request","request":{{"remote_ip":"{ip}","remote_port":"52022","proto":"HTTP/2.0","method":"POST","host":"example.org","uri":"{uri}","headers":{{"User-Agent":["curl/8.5"]}}}},"user_id":"alice","duration":0.0012,"size":0,"status":{status}}}"#
    )
}

fn caddy() -> Filter {
    let def = Definition::parse("caddy", CADDY).unwrap();
    Filter::new(&def.spec("caddy", None).unwrap(), TimeZone::UTC).unwrap()
}

fn now() -> Timestamp {
    "2026-12-01T00:00:00Z".parse().unwrap()
}

#[test]
fn a_caddy_401_is_a_failure_with_address_user_and_time() {
    let mut f = caddy();
    assert_eq!(f.rule_ids(), ["fields"]);
    let out = f.scan(caddy_line("198.51.100.7", 401, "/login").as_bytes(), now());
    let failure = out.failure().expect("a failure");
    assert_eq!(failure.host.to_string(), "198.51.100.7");
    assert_eq!(failure.user.as_deref(), Some("alice"));
    assert!(failure.dated);
    assert_eq!(failure.time.as_millisecond(), 1_764_055_269_625);
    let v6 = f.scan(caddy_line("2001:db8::7", 403, "/admin/x").as_bytes(), now());
    assert_eq!(v6.failure().unwrap().host.to_string(), "2001:db8::7");
}

#[test]
fn every_test_must_hold() {
    let mut f = caddy();
    for line in [
        caddy_line("198.51.100.7", 200, "/login"),
        caddy_line("198.51.100.7", 401, "/index.html"),
        r#"{"status":401,"request":{"uri":"/login"}}"#.to_owned(),
    ] {
        let out = f.scan(line.as_bytes(), now());
        assert!(out.failure().is_none(), "{line}: {out:?}");
    }
    // The tests hold but the address is not one: said, not banned.
    let bad = caddy_line("999.1.1.1", 401, "/login");
    assert_eq!(f.scan(bad.as_bytes(), now()), Outcome::Invalid { rule: 0 });
    assert_eq!(f.malformed_lines(), 0);
}

#[test]
fn malformed_lines_are_counted_and_skipped() {
    let mut f = caddy();
    for line in [
        "",
        "not json",
        "{\"status\":401",
        "[1,2]",
        "42",
        "\u{0}\u{ff}",
    ] {
        assert_eq!(f.scan(line.as_bytes(), now()), Outcome::Missed, "{line:?}");
    }
    assert_eq!(f.malformed_lines(), 6);
    let ok = caddy_line("198.51.100.7", 401, "/login");
    assert!(f.scan(ok.as_bytes(), now()).failure().is_some());
    assert_eq!(f.malformed_lines(), 6);
}

/// A flat record such as a journal entry: names looked up as written.
struct Flat(Vec<(&'static str, &'static str)>);

impl Fields for Flat {
    fn field(&self, path: &FieldPath) -> Option<Cow<'_, str>> {
        let hit = self.0.iter().find(|(k, _)| *k == path.as_str());
        hit.map(|(_, v)| Cow::Borrowed(*v))
    }
}

#[test]
fn the_same_tests_judge_a_flat_record_whose_values_are_text() {
    let spec = FieldSpec {
        address: "REMOTE_ADDR".into(),
        user: None,
        time: Some("TS".into()),
        when: vec![
            ("STATUS".into(), FieldCondition::OneOf(vec!["401".into()])),
            ("_SYSTEMD_UNIT".into(), FieldCondition::Regex("^web".into())),
        ],
    };
    let rules = FieldRules::new("web", &spec).unwrap();
    let record = Flat(vec![
        ("STATUS", "401"),
        ("_SYSTEMD_UNIT", "web.service"),
        ("REMOTE_ADDR", "203.0.113.5"),
        ("TS", "2026-11-25T07:21:09Z"),
    ]);
    let failure = rules.judge(&record, now()).failure().cloned().unwrap();
    assert_eq!(failure.host.to_string(), "203.0.113.5");
    assert_eq!(failure.time, "2026-11-25T07:21:09Z".parse().unwrap());
    let other = Flat(vec![("STATUS", "401"), ("_SYSTEMD_UNIT", "db.service")]);
    assert_eq!(rules.judge(&other, now()), Outcome::Missed);
}

#[test]
fn times_in_rfc3339_and_epoch_seconds() {
    let t = |s: &str| parse_time(s).map(|t| t.as_millisecond());
    assert_eq!(t("1764055269"), Some(1_764_055_269_000));
    assert_eq!(t("1764055269.5"), Some(1_764_055_269_500));
    assert_eq!(t("2025-11-25T07:21:09.625+00:00"), Some(1_764_055_269_625));
    assert_eq!(t("yesterday"), None);
    assert_eq!(t("NaN"), None);
}

#[test]
fn wrong_definitions_say_what_is_wrong() {
    let err = |text: &str| Definition::parse("x", text).unwrap_err().to_string();
    let base = "description = 'x'\n";
    assert!(err(&format!("{base}format = 'xml'\n")).contains("unknown format \"xml\""));
    assert!(err(&format!("{base}format = 'json'\n")).contains("needs fields.address"));
    assert!(err(&format!("{base}[when]\nstatus = 401\n")).contains("need format = \"json\""));
    let with_rule = format!(
        "{base}format = 'json'\nfields.address = 'ip'\n[[failregex]]\nid = 'a'\nregex = '<HOST>'\n"
    );
    assert!(err(&with_rule).contains("failregex"));
    let empty = format!("{base}format = 'json'\nfields.address = 'ip'\n[when]\nstatus = []\n");
    assert!(err(&empty).contains("empty list"));
    let path = format!("{base}format = 'json'\nfields.address = 'a..b'\n");
    let def = Definition::parse("x", &path).unwrap();
    let spec = def.spec("x", None).unwrap();
    let e = Filter::new(&spec, TimeZone::UTC).unwrap_err().to_string();
    assert!(
        e.contains("fields.address") && e.contains("empty part"),
        "{e}"
    );
    let re =
        format!("{base}format = 'json'\nfields.address = 'ip'\nwhen.uri.regex = '(unclosed'\n");
    let spec = Definition::parse("x", &re)
        .unwrap()
        .spec("x", None)
        .unwrap();
    let e = Filter::new(&spec, TimeZone::UTC).unwrap_err().to_string();
    assert!(e.contains("when.\"uri\".regex does not compile"), "{e}");
}
