//! Property tests: locate and resolve never panic on arbitrary input, and
//! dates written from known instants read back as those instants (which also
//! checks the minute cache against jiff's own conversion).

use super::*;
use jiff::tz::{Offset, TimeZone};
use proptest::prelude::*;

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).expect("zoneinfo present")
}

/// ISO text for `ts` written at `offset`, with `digits` fraction digits.
fn iso_text(ts: Timestamp, offset: Offset, digits: usize, sep: char, compact: bool) -> String {
    let dt = offset.to_datetime(ts);
    let mut s = format!(
        "{:04}-{:02}-{:02}{sep}{:02}:{:02}:{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    );
    if digits > 0 {
        let frac = format!("{:09}", dt.subsec_nanosecond());
        s.push('.');
        s.push_str(&frac[..digits]);
    }
    let secs = offset.seconds();
    let (sign, abs) = if secs < 0 { ('-', -secs) } else { ('+', secs) };
    if compact {
        s.push_str(&format!("{sign}{:02}{:02}", abs / 3600, abs / 60 % 60));
    } else {
        s.push_str(&format!("{sign}{:02}:{:02}", abs / 3600, abs / 60 % 60));
    }
    s
}

fn truncate_nanos(ts: Timestamp, digits: usize) -> Timestamp {
    let unit = 10i32.pow(9 - digits as u32);
    let nanos = ts.subsec_nanosecond() / unit * unit;
    Timestamp::new(ts.as_second(), nanos).expect("in range")
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_bytes(line in proptest::collection::vec(any::<u8>(), 0..200)) {
        for pattern in [DatePattern::Auto, DatePattern::Pinned(DateFormat::Clf), DatePattern::None] {
            let mut det = DateDetector::new(pattern, zone("Europe/Berlin"));
            if let Some(span) = det.locate(&line) {
                prop_assert!(span.start <= span.end && span.end <= line.len());
                let _ = det.resolve(&line, span, Timestamp::now());
            }
        }
    }

    #[test]
    fn never_panics_on_date_like_fragments(
        parts in proptest::collection::vec(
            prop::sample::select(vec![
                "<34>", "1 ", "[", "]", "Nov", "nOv", "Feb", "Wed", " ", "  ", "25", "29", "30",
                "5", "2026", "0000", "9999", "-", "/", ":", "T", ".", ",", "Z", "+", "-05", "00",
                "23", "24", "59", "60", "07:21:09", "1764055269", "123", "\0", "\u{fffd}",
                "Nov 25 07:21:09", "Feb 29 23:59:60", "2026-11-25T07:21:09", "2028-02-29 02:30:00",
                "Wed Nov 25 07:21:09", "25/Nov/2026:07:21:09", " +0100", "1764055269123",
            ]),
            0..16,
        ),
        now in -377_000_000_000i64..253_402_000_000,
    ) {
        let line = parts.concat();
        let now = Timestamp::from_second(now).expect("in range");
        for zone_name in ["UTC", "America/New_York"] {
            let mut det = DateDetector::new(DatePattern::Auto, zone(zone_name));
            if let Some(span) = det.locate(line.as_bytes()) {
                prop_assert!(span.start <= span.end && span.end <= line.len());
                let _ = det.resolve(line.as_bytes(), span, now);
            }
        }
    }

    #[test]
    fn iso_round_trips(
        second in 0i64..4_102_444_800,
        nanos in 0i32..1_000_000_000,
        offset_min in -14 * 60i32..=14 * 60,
        digits in 0usize..=9,
        sep in prop::sample::select(vec!['T', ' ']),
        compact in any::<bool>(),
        prefix in prop::sample::select(vec!["", "[", "<34>", "<165>1 "]),
    ) {
        let ts = Timestamp::new(second, nanos).expect("in range");
        let offset = Offset::from_seconds(offset_min * 60).expect("in range");
        let text = iso_text(ts, offset, digits, sep, compact);
        let line = format!("{prefix}{text} host app: message");
        let mut det = DateDetector::new(DatePattern::Auto, zone("Europe/Berlin"));
        let span = det.locate(line.as_bytes());
        prop_assert_eq!(span.map(|s| &line[s.start..s.end]), Some(text.as_str()));
        let got = span.and_then(|s| det.resolve(line.as_bytes(), s, Timestamp::now()));
        prop_assert_eq!(got, Some(truncate_nanos(ts, digits)));
    }

    #[test]
    fn zoneless_times_agree_with_jiff(
        start in 1_700_000_000i64..1_900_000_000,
        steps in proptest::collection::vec(0i64..5_000, 1..40),
        zone_name in prop::sample::select(vec!["Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]),
    ) {
        // Walk forward in small steps so the minute cache is hit and missed.
        let tz = zone(zone_name);
        let mut det = DateDetector::new(DatePattern::Auto, tz.clone());
        let mut second = start;
        for step in steps {
            second += step;
            let dt = tz.to_datetime(Timestamp::from_second(second).expect("in range"));
            let line = format!("{} sshd[1]: x", dt.strftime("%Y-%m-%d %H:%M:%S"));
            let span = det.locate(line.as_bytes());
            prop_assert!(span.is_some());
            let got = span.and_then(|s| det.resolve(line.as_bytes(), s, Timestamp::now()));
            let want = tz.to_ambiguous_timestamp(dt).compatible().ok();
            prop_assert_eq!(got, want, "{}", line);
        }
    }

    #[test]
    fn epoch_round_trips(second in 1_000_000_000i64..9_999_999_999, millis in 0i64..1000) {
        let mut det = DateDetector::new(DatePattern::Auto, TimeZone::UTC);
        let line = format!("{second}.{millis:03} x");
        let span = det.locate(line.as_bytes());
        let got = span.and_then(|s| det.resolve(line.as_bytes(), s, Timestamp::now()));
        prop_assert_eq!(got, Timestamp::new(second, millis as i32 * 1_000_000).ok());
        let line = format!("{}{millis:03} x", second);
        let span = det.locate(line.as_bytes());
        prop_assert_eq!(span.map(|s| s.format), Some(DateFormat::EpochMillis));
        let got = span.and_then(|s| det.resolve(line.as_bytes(), s, Timestamp::now()));
        prop_assert_eq!(got, Timestamp::new(second, millis as i32 * 1_000_000).ok());
    }
}
