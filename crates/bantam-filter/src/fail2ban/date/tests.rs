//! Unit tests of the detector as a whole; the line-by-line comparison with
//! fail2ban itself is in `tests/fail2ban_dates.rs`.

use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::DateTemplates;

/// 2005-08-14 10:00:00 UTC, fail2ban's test "now".
fn now() -> Timestamp {
    Timestamp::from_second(1_124_013_600).unwrap()
}

fn cet() -> TimeZone {
    TimeZone::posix("CET-1CEST-2,M3.5.0,M10.5.0").unwrap()
}

fn find(pattern: Option<&str>, line: &str) -> Option<(usize, usize, i64)> {
    let mut d = DateTemplates::new(pattern, cet()).unwrap();
    d.set_year_limit(2029).unwrap();
    d.find(line, now())
        .map(|h| (h.start, h.end, h.time.as_second()))
}

#[test]
fn iso_default() {
    // 2005-08-14 09:00:00 UTC.
    let hit = find(None, "2005-08-14 11:00:00 host sshd: x 192.0.2.1").unwrap();
    assert_eq!(hit, (0, 19, 1_124_010_000));
}

#[test]
fn syslog_year_inferred() {
    // Aug 14 11:00 local (CEST) this year.
    let hit = find(None, "Aug 14 11:00:00 host sshd[1]: x").unwrap();
    assert_eq!(hit, (0, 15, 1_124_010_000));
    // December is in the future: last year (CET, +01:00).
    let hit = find(None, "Dec 24 11:00:00 host x").unwrap();
    assert_eq!(hit.2, 1_103_882_400);
}

#[test]
fn explicit_offset_wins() {
    let hit = find(None, "[14/Aug/2005:09:00:00 +0000] x").unwrap();
    assert_eq!(hit, (1, 27, 1_124_010_000));
}

#[test]
fn epoch_and_tai() {
    let hit = find(None, "1124010000.500 x").unwrap();
    assert_eq!(hit, (0, 14, 1_124_010_000));
    let hit = find(Some("TAI64N"), "@4000000043c7b1d22a64e1d4 x").unwrap();
    assert_eq!(hit.2, 0x43c7_b1d2);
}

#[test]
fn custom_pattern_and_none() {
    let hit = find(Some("^L %d/%m/%Y - %H:%M:%S"), "L 14/08/2005 - 11:00:00: x").unwrap();
    assert_eq!(hit, (0, 23, 1_124_010_000));
    let d = DateTemplates::new(Some("{NONE}"), cet()).unwrap();
    assert!(d.is_none());
}

#[test]
fn empty_group_is_an_empty_hit() {
    let hit = find(Some("^WARNING:()**"), "WARNING: x").unwrap();
    assert_eq!((hit.0, hit.1), (8, 8));
}

#[test]
fn bad_patterns_are_errors() {
    assert!(DateTemplates::new(Some("%Q"), cet()).is_err());
    assert!(DateTemplates::new(Some("%Y-(%m"), cet()).is_err());
}

#[test]
#[ignore = "timing only: cargo test --release ... -- --ignored --nocapture"]
fn timing() {
    let t0 = std::time::Instant::now();
    let mut d = DateTemplates::new(None, cet()).unwrap();
    d.set_year_limit(2029).unwrap();
    let built = t0.elapsed();
    let syslog =
        "Aug 14 11:00:00 host sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2";
    let iso = "2005-08-14 11:00:00 host x from 192.0.2.2";
    let nodate = "no date in this line at all, only an address 192.0.2.3 and some words";
    let mut time = |lines: &[&str]| {
        let t = std::time::Instant::now();
        for i in 0..10_000 {
            d.find(lines[i % lines.len()], now());
        }
        t.elapsed() / 10_000
    };
    let steady = time(&[syslog]);
    let mixed = time(&[syslog, iso]);
    let none = time(&[nodate]);
    eprintln!(
        "build {built:?}; per line: steady {steady:?}, alternating {mixed:?}, no date {none:?}"
    );
}

#[test]
fn defaults_run_on_the_linear_engine() {
    use super::matcher::Matcher;
    let d = DateTemplates::new(None, cet()).unwrap();
    let python: Vec<_> = d
        .detector
        .entries
        .iter()
        .filter(|e| matches!(e.template.matcher, Matcher::Python { .. }))
        .map(|e| e.template.recipe.clone())
        .collect();
    assert!(python.is_empty(), "{python:?}");
}

#[test]
fn prefixed_epoch_searches_from_a_position() {
    let mut d = DateTemplates::new(Some("EPOCH"), cet()).unwrap();
    let line = "type=X msg=audit(1124010000.123:4): audit(1124010001.000:5)";
    let hit = d.find(line, now()).unwrap();
    assert_eq!((hit.start, hit.end), (17, 31));
    let matcher = &d.detector.entries[0].template.matcher;
    // From inside the first epoch, the next `audit(` is the next match.
    let m = matcher.search_at(line, 20).unwrap();
    assert_eq!(m.span(), (42, 56));
    assert!(matcher.search_at(line, 43).is_none());
    assert!(matcher.search_at(&line[..50], 20).is_none());
}

mod hostile {
    use super::*;
    use proptest::prelude::*;

    /// Compiled once: building is the slow part in a debug build.
    fn pristine() -> &'static (DateTemplates, DateTemplates) {
        static LISTS: std::sync::OnceLock<(DateTemplates, DateTemplates)> =
            std::sync::OnceLock::new();
        LISTS.get_or_init(|| {
            let custom = r"^(?P<U>\d+) (?P<w>\d+) (?P<Y>\d+) (?P<j>\d+)?(?P<f>\d*)";
            (
                DateTemplates::new(None, cet()).unwrap(),
                DateTemplates::new(Some(custom), cet()).unwrap(),
            )
        })
    }

    proptest! {
        // Each case clones the lists, whose regex caches start cold.
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn never_panics(line in "\\PC{0,120}", digits in "[0-9 .:/-]{0,40}") {
            let (defaults, custom) = pristine();
            let mut d = defaults.clone();
            let _ = d.find(&line, now());
            let _ = d.find(&format!("{digits}{line}"), now());
            let mut c = custom.clone();
            let _ = c.find(&format!("{digits}{line}"), now());
        }
    }
}
