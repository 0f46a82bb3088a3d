//! Tests of the detector as the filter uses it: locate, then resolve, on
//! whole lines. Format-specific edge cases live next to each parser.

use super::*;
use jiff::tz::TimeZone;

fn utc(s: &str) -> Timestamp {
    s.parse().expect("valid test timestamp")
}

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).expect("zoneinfo present")
}

fn auto() -> DateDetector {
    DateDetector::new(DatePattern::Auto, TimeZone::UTC)
}

/// A "now" well after every fixed test date, so syslog dates get 2026.
const NOW: &str = "2026-12-01T00:00:00Z";

/// Locates and resolves, checking that the span covers `text` exactly.
fn read(det: &mut DateDetector, line: &[u8], text: &str, format: DateFormat) -> Timestamp {
    let span = det
        .locate(line)
        .unwrap_or_else(|| panic!("no date in {line:?}"));
    assert_eq!(span.format, format, "{line:?}");
    assert_eq!(&line[span.start..span.end], text.as_bytes(), "{line:?}");
    det.resolve(line, span, utc(NOW))
        .unwrap_or_else(|| panic!("unresolved {line:?}"))
}

#[test]
fn names_round_trip() {
    for format in DateFormat::ALL {
        assert_eq!(format.name().parse::<DateFormat>(), Ok(format));
    }
    assert_eq!("ISO8601".parse::<DateFormat>(), Ok(DateFormat::Iso8601));
    assert_eq!(
        "epoch-ms".parse::<DateFormat>(),
        Ok(DateFormat::EpochMillis)
    );
    let err = "rfc822".parse::<DateFormat>().expect_err("unknown");
    assert_eq!(err, UnknownDateFormat("rfc822".into()));
    assert_eq!(
        err.to_string(),
        "unknown date format \"rfc822\" (expected one of: syslog, asctime, iso8601, clf, epoch, epoch-ms)"
    );
    let _: &dyn std::error::Error = &err;
    assert_eq!(DatePattern::default(), DatePattern::Auto);
}

#[test]
fn every_format_at_the_start() {
    let want = utc("2026-11-25T07:21:09Z");
    let cases: [(&str, &str, DateFormat); 6] = [
        (
            "Nov 25 07:21:09 host sshd[1]: Failed",
            "Nov 25 07:21:09",
            DateFormat::Syslog,
        ),
        (
            "Wed Nov 25 07:21:09 2026 x",
            "Wed Nov 25 07:21:09 2026",
            DateFormat::Asctime,
        ),
        (
            "2026-11-25T07:21:09Z x",
            "2026-11-25T07:21:09Z",
            DateFormat::Iso8601,
        ),
        (
            "25/Nov/2026:07:21:09 +0000 x",
            "25/Nov/2026:07:21:09 +0000",
            DateFormat::Clf,
        ),
        ("1795591269 x", "1795591269", DateFormat::Epoch),
        ("1795591269000 x", "1795591269000", DateFormat::EpochMillis),
    ];
    for (line, text, format) in cases {
        assert_eq!(
            read(&mut auto(), line.as_bytes(), text, format),
            want,
            "{line}"
        );
    }
}

#[test]
fn every_format_after_bracket_priority_and_rfc5424_header() {
    let want = utc("2026-11-25T07:21:09Z");
    let dates: [(&str, DateFormat); 5] = [
        ("Nov 25 07:21:09", DateFormat::Syslog),
        ("Wed Nov 25 07:21:09 2026", DateFormat::Asctime),
        ("2026-11-25T07:21:09Z", DateFormat::Iso8601),
        ("1795591269", DateFormat::Epoch),
        ("1795591269000", DateFormat::EpochMillis),
    ];
    for (text, format) in dates {
        for line in [
            format!("[{text}] rest"),
            format!("<34>{text} host app: msg"),
            format!("<4>{text} host app: msg"),
            format!("<134>1 {text} host app 123 - - msg"),
        ] {
            assert_eq!(
                read(&mut auto(), line.as_bytes(), text, format),
                want,
                "{line}"
            );
        }
    }
}

#[test]
fn real_world_lines() {
    let mut det = auto();
    let line = b"<34>1 2026-11-25T07:21:09.003Z host app 123 - - msg";
    let ts = read(
        &mut det,
        line,
        "2026-11-25T07:21:09.003Z",
        DateFormat::Iso8601,
    );
    assert_eq!(ts, utc("2026-11-25T07:21:09.003Z"));

    let line =
        b"203.0.113.9 - - [25/Nov/2026:08:21:09 +0100] \"GET /wp-login.php HTTP/1.1\" 404 162";
    let ts = read(
        &mut det,
        line,
        "25/Nov/2026:08:21:09 +0100",
        DateFormat::Clf,
    );
    assert_eq!(ts, utc("2026-11-25T07:21:09Z"));

    let line =
        b"[Wed Nov 25 07:21:09.123456 2026] [auth_basic:error] [pid 42] [client 203.0.113.9:5]";
    let ts = read(
        &mut det,
        line,
        "Wed Nov 25 07:21:09.123456 2026",
        DateFormat::Asctime,
    );
    assert_eq!(ts, utc("2026-11-25T07:21:09.123456Z"));

    let line = b"2026-11-25 07:21:09,123 fail2ban.filter [1]: WARNING";
    let ts = read(
        &mut det,
        line,
        "2026-11-25 07:21:09,123",
        DateFormat::Iso8601,
    );
    assert_eq!(ts, utc("2026-11-25T07:21:09.123Z"));

    let line = b"Nov  5 07:21:09.500000 mail postfix/smtpd[9]: warning";
    let ts = read(&mut det, line, "Nov  5 07:21:09.500000", DateFormat::Syslog);
    assert_eq!(ts, utc("2026-11-05T07:21:09.5Z"));

    let line = b"1764055269.123 192.0.2.1 TCP_DENIED/403";
    let ts = read(&mut det, line, "1764055269.123", DateFormat::Epoch);
    assert_eq!(ts, utc("2025-11-25T07:21:09.123Z"));
}

#[test]
fn iso_offsets() {
    let mut det = auto();
    for (text, want) in [
        (
            "2026-11-25T07:21:09.625500+00:00",
            "2026-11-25T07:21:09.6255Z",
        ),
        ("2026-11-25T07:21:09+0100", "2026-11-25T06:21:09Z"),
        ("2026-11-25T07:21:09.123-05:00", "2026-11-25T12:21:09.123Z"),
        ("2026-11-25T07:21:09+05:30", "2026-11-25T01:51:09Z"),
        (
            "2026-11-25T07:21:09.123456789Z",
            "2026-11-25T07:21:09.123456789Z",
        ),
    ] {
        let line = format!("{text} msg");
        assert_eq!(
            read(&mut det, line.as_bytes(), text, DateFormat::Iso8601),
            utc(want),
            "{text}"
        );
    }
}

#[test]
fn missing_offset_uses_the_zone() {
    let mut det = DateDetector::new(DatePattern::Auto, zone("Europe/Berlin"));
    let ts = read(
        &mut det,
        b"2026-11-25 07:21:09 x",
        "2026-11-25 07:21:09",
        DateFormat::Iso8601,
    );
    assert_eq!(ts, utc("2026-11-25T06:21:09Z"));
    let ts = read(
        &mut det,
        b"2026-07-25 07:21:09 x",
        "2026-07-25 07:21:09",
        DateFormat::Iso8601,
    );
    assert_eq!(ts, utc("2026-07-25T05:21:09Z"));
    // An explicit offset beats the zone.
    let ts = read(
        &mut det,
        b"2026-07-25 07:21:09Z x",
        "2026-07-25 07:21:09Z",
        DateFormat::Iso8601,
    );
    assert_eq!(ts, utc("2026-07-25T07:21:09Z"));
    let line = b"192.0.2.4 - - [25/Nov/2026:07:21:09 +0000] x";
    let ts = read(
        &mut det,
        line,
        "25/Nov/2026:07:21:09 +0000",
        DateFormat::Clf,
    );
    assert_eq!(ts, utc("2026-11-25T07:21:09Z"));
    // Epoch times are absolute.
    let ts = read(&mut det, b"1795591269 x", "1795591269", DateFormat::Epoch);
    assert_eq!(ts, utc("2026-11-25T07:21:09Z"));
}

#[test]
fn dst_gap_and_fold_through_the_detector() {
    let cases = [
        (
            "Europe/Berlin",
            "2026-03-29 02:30:00",
            "2026-03-29T01:30:00Z",
        ),
        (
            "Europe/Berlin",
            "2026-10-25 02:30:00",
            "2026-10-25T00:30:00Z",
        ),
        (
            "America/New_York",
            "2026-03-08 02:30:00",
            "2026-03-08T07:30:00Z",
        ),
        (
            "America/New_York",
            "2026-11-01 01:30:00",
            "2026-11-01T05:30:00Z",
        ),
    ];
    for (name, text, want) in cases {
        let mut det = DateDetector::new(DatePattern::Auto, zone(name));
        let line = format!("{text} msg");
        assert_eq!(
            read(&mut det, line.as_bytes(), text, DateFormat::Iso8601),
            utc(want),
            "{name} {text}"
        );
    }
    // Same instants through asctime, which never has an offset.
    let mut det = DateDetector::new(DatePattern::Auto, zone("Europe/Berlin"));
    let text = "Sun Mar 29 02:30:00 2026";
    assert_eq!(
        read(&mut det, text.as_bytes(), text, DateFormat::Asctime),
        utc("2026-03-29T01:30:00Z")
    );
}

#[test]
fn syslog_year_rollover() {
    let mut det = auto();
    let line = b"Dec 31 23:59:59 host x";
    let span = det.locate(line).expect("syslog");
    assert_eq!(
        det.resolve(line, span, utc("2027-01-01T00:00:10Z")),
        Some(utc("2026-12-31T23:59:59Z"))
    );
    let line = b"Jan  1 00:10:00 host x";
    let span = det.locate(line).expect("syslog");
    let now = utc("2026-12-31T23:30:00Z");
    assert_eq!(
        det.resolve(line, span, now),
        Some(utc("2027-01-01T00:10:00Z"))
    );
    // "More than one day after now" is the only reason to go back a year.
    let line = b"Jun 16 12:00:01 host x";
    let span = det.locate(line).expect("syslog");
    assert_eq!(
        det.resolve(line, span, utc("2026-06-15T12:00:00Z")),
        Some(utc("2025-06-16T12:00:01Z"))
    );
    assert_eq!(
        det.resolve(line, span, utc("2026-06-15T12:00:01Z")),
        Some(utc("2026-06-16T12:00:01Z"))
    );
}

#[test]
fn syslog_february_29() {
    let mut det = auto();
    let line = b"Feb 29 10:00:00 host x";
    let span = det.locate(line).expect("shape is fine");
    assert_eq!(
        det.resolve(line, span, utc("2028-03-01T00:00:00Z")),
        Some(utc("2028-02-29T10:00:00Z"))
    );
    assert_eq!(det.resolve(line, span, utc("2026-03-01T00:00:00Z")), None);
    assert_eq!(det.resolve(line, span, utc("2027-03-01T00:00:00Z")), None);
}

#[test]
fn impossible_days_locate_but_do_not_resolve() {
    let mut det = auto();
    for line in [
        &b"2026-02-30T10:00:00Z"[..],
        b"2026-02-29 10:00:00",
        b"Wed Apr 31 10:00:00 2026",
        b"31/Jun/2026:10:00:00 +0000",
    ] {
        let span = det.locate(line).expect("shape is fine");
        assert_eq!(det.resolve(line, span, utc(NOW)), None, "{line:?}");
    }
    let line = b"2028-02-29T10:00:00Z";
    let span = det.locate(line).expect("leap day");
    assert_eq!(
        det.resolve(line, span, utc(NOW)),
        Some(utc("2028-02-29T10:00:00Z"))
    );
}

#[test]
fn out_of_range_fields_are_rejected_by_locate() {
    let mut det = auto();
    for line in [
        "Nov 25 24:21:09 x",
        "Nov 25 07:60:09 x",
        "Nov 32 07:21:09 x",
        "Wed Nov 25 24:21:09 2026",
        "Wed Nov 32 07:21:09 2026",
        "2026-11-25T24:21:09Z",
        "2026-11-25T07:60:09Z",
        "2026-13-25T07:21:09Z",
        "2026-11-32T07:21:09Z",
        "[25/Nov/2026:24:21:09 +0000]",
        "[25/Nov/2026:07:60:09 +0000]",
        "[32/Nov/2026:07:21:09 +0000]",
        "[25/Abc/2026:07:21:09 +0000]",
    ] {
        assert_eq!(det.locate(line.as_bytes()), None, "{line}");
    }
    assert_eq!(det.hits(), [0; 6]);
}

#[test]
fn garbage_and_truncation() {
    let mut det = auto();
    let mut long = vec![b'x'; 100_000];
    long.extend_from_slice(b" Nov 25 07:21:09");
    let brackets = vec![b'['; 100_000];
    let digits = vec![b'1'; 100_000];
    let lines: [&[u8]; 16] = [
        b"",
        b"\0",
        b"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
        b"\xff\xfe\xfd Nov 25 07:21:09",
        b"Nov\x0025 07:21:09",
        b"Nov 25 07:21:0",
        b"Nov 25 07:21",
        b"2026-11-25T07:21:0",
        b"[Wed Nov 25 07:21:09",
        b"<34>1 2026-11-25T07:",
        b"<34>",
        b"[",
        &long,
        &brackets,
        &digits,
        b"17640552691 one digit too many",
    ];
    for line in lines {
        assert_eq!(
            det.locate(line),
            None,
            "{:?}",
            String::from_utf8_lossy(&line[..line.len().min(40)])
        );
    }
    assert_eq!(det.locate(b"17640552691234 one digit too many"), None);
    assert_eq!(det.locate(b"17640552691234567 long id"), None);
}

#[test]
fn invalid_utf8_after_the_date_is_fine() {
    let mut det = auto();
    let line = b"Nov 25 07:21:09 host \xff\xfe\0 user \xc3";
    let ts = read(&mut det, line, "Nov 25 07:21:09", DateFormat::Syslog);
    assert_eq!(ts, utc("2026-11-25T07:21:09Z"));
}

#[test]
fn remembered_winner_switches_formats() {
    let mut det = auto();
    for i in 0..5 {
        let line = format!("2026-11-25T07:21:0{i}Z app: x");
        assert_eq!(
            det.locate(line.as_bytes()).map(|s| s.format),
            Some(DateFormat::Iso8601)
        );
    }
    assert_eq!(det.last, Some((DateFormat::Iso8601, Anchor::Start)));
    let line = b"Nov 25 07:21:09 host sshd[1]: x";
    assert_eq!(det.locate(line).map(|s| s.format), Some(DateFormat::Syslog));
    assert_eq!(det.last, Some((DateFormat::Syslog, Anchor::Start)));
    // The winner is tied to its anchor, not its byte offset.
    assert_eq!(
        det.locate(b"<4>2026-11-25T07:21:09Z x").map(|s| s.start),
        Some(3)
    );
    assert_eq!(det.last, Some((DateFormat::Iso8601, Anchor::Priority)));
    assert_eq!(
        det.locate(b"<134>2026-11-25T07:21:09Z x").map(|s| s.start),
        Some(5)
    );
    // Back to ISO at the start after a line without a date.
    assert_eq!(det.locate(b"no date here"), None);
    assert_eq!(
        det.locate(b"2026-11-25T07:21:09Z").map(|s| s.start),
        Some(0)
    );
    // CLF is remembered as a search, so varying address lengths still hit.
    assert!(det
        .locate(b"192.0.2.4 - - [25/Nov/2026:07:21:09 +0000] x")
        .is_some());
    assert_eq!(det.last, Some((DateFormat::Clf, Anchor::ClfBracket)));
    assert_eq!(
        det.locate(b"2001:db8::1 - - [25/Nov/2026:07:21:09 +0000] x")
            .map(|s| s.start),
        Some(17)
    );
    assert_eq!(det.hits(), [1, 0, 8, 2, 0, 0]);
}

#[test]
fn hits_count_per_format() {
    let mut det = auto();
    let lines: [&[u8]; 8] = [
        b"Nov 25 07:21:09 a",
        b"Nov 25 07:21:10 a",
        b"Wed Nov 25 07:21:09 2026 a",
        b"2026-11-25T07:21:09Z a",
        b"[25/Nov/2026:07:21:09 +0000] a",
        b"1764055269 a",
        b"1764055269000 a",
        b"nothing",
    ];
    for line in lines {
        det.locate(line);
    }
    assert_eq!(det.hits(), [2, 1, 1, 1, 1, 1]);
    // Resolving does not count.
    let span = det.locate(b"1764055269 a").expect("epoch");
    det.resolve(b"1764055269 a", span, utc(NOW));
    assert_eq!(det.hits(), [2, 1, 1, 1, 2, 1]);
}

#[test]
fn pinned_and_none_patterns() {
    let mut det = DateDetector::new(DatePattern::Pinned(DateFormat::Syslog), TimeZone::UTC);
    assert_eq!(det.locate(b"2026-11-25T07:21:09Z"), None);
    assert_eq!(det.locate(b"192.0.2.4 [25/Nov/2026:07:21:09 +0000]"), None);
    assert_eq!(
        det.locate(b"<13>Nov 25 07:21:09 x")
            .map(|s| (s.start, s.end)),
        Some((4, 19))
    );
    assert_eq!(det.hits(), [1, 0, 0, 0, 0, 0]);

    let mut det = DateDetector::new(DatePattern::Pinned(DateFormat::Clf), TimeZone::UTC);
    assert_eq!(det.locate(b"Nov 25 07:21:09 x"), None);
    assert_eq!(
        det.locate(b"192.0.2.4 [25/Nov/2026:07:21:09 +0000]")
            .map(|s| s.start),
        Some(11)
    );

    let mut det = DateDetector::new(DatePattern::Pinned(DateFormat::EpochMillis), TimeZone::UTC);
    assert_eq!(det.locate(b"1764055269 x"), None);
    assert_eq!(det.locate(b"[1764055269000] x").map(|s| s.start), Some(1));

    let mut det = DateDetector::new(DatePattern::None, TimeZone::UTC);
    assert_eq!(det.locate(b"Nov 25 07:21:09 x"), None);
    assert_eq!(det.hits(), [0; 6]);
}

#[test]
fn resolve_rejects_foreign_spans() {
    let mut det = auto();
    let line = b"2026-11-25T07:21:09+01:00 x";
    let span = det.locate(line).expect("iso");
    let now = utc(NOW);
    // Wrong line, wrong end, wrong format, out of bounds, inverted.
    assert_eq!(det.resolve(b"Nov 25 07:21:09", span, now), None);
    assert_eq!(
        det.resolve(
            line,
            DateSpan {
                end: span.end - 1,
                ..span
            },
            now
        ),
        None
    );
    assert_eq!(
        det.resolve(
            line,
            DateSpan {
                format: DateFormat::Syslog,
                ..span
            },
            now
        ),
        None
    );
    assert_eq!(
        det.resolve(
            line,
            DateSpan {
                start: 0,
                end: 10_000,
                format: DateFormat::Iso8601
            },
            now
        ),
        None
    );
    assert_eq!(
        det.resolve(
            line,
            DateSpan {
                start: 9,
                end: 3,
                format: DateFormat::Iso8601
            },
            now
        ),
        None
    );
    assert_eq!(
        det.resolve(line, span, now),
        Some(utc("2026-11-25T06:21:09Z"))
    );
}

#[test]
fn consecutive_lines_share_the_minute_cache() {
    let mut det = DateDetector::new(DatePattern::Auto, zone("Europe/Berlin"));
    for s in 0..60 {
        let line = format!("2026-03-29 01:59:{s:02} x");
        let span = det.locate(line.as_bytes()).expect("iso");
        let want = utc(&format!("2026-03-29T00:59:{s:02}Z"));
        assert_eq!(det.resolve(line.as_bytes(), span, utc(NOW)), Some(want));
    }
    // The next local minute is an hour later on the wall clock.
    let line = b"2026-03-29 03:00:00 x";
    let span = det.locate(line).expect("iso");
    assert_eq!(
        det.resolve(line, span, utc(NOW)),
        Some(utc("2026-03-29T01:00:00Z"))
    );
}

#[test]
fn every_prefix_of_a_dated_line_is_safe() {
    let lines: [&[u8]; 7] = [
        b"<34>1 2026-11-25T07:21:09.003+01:00 host app",
        b"[Wed Nov 25 07:21:09.123456 2026] [core:error]",
        b"<13>Nov 25 07:21:09.5 host sshd",
        b"192.0.2.4 - - [25/Nov/2026:07:21:09 +0000] \"GET /\"",
        b"[1764055269.123] x",
        b"1764055269123 x",
        b"2026-11-25 07:21:09,123 x",
    ];
    for full in lines {
        let mut det = auto();
        for n in 0..=full.len() {
            let line = &full[..n];
            if let Some(span) = det.locate(line) {
                assert!(span.start <= span.end && span.end <= n, "{line:?}");
                // A prefix never finds a date somewhere else. (Its format may
                // differ: the first 10 digits of epoch-ms are epoch seconds.)
                let whole = auto().locate(full).expect("full line has a date");
                assert_eq!(span.start, whole.start, "{line:?}");
                let _ = det.resolve(line, span, utc(NOW));
            }
        }
    }
}
