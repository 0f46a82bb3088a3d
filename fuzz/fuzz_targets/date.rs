//! Dates in log lines, both readers: bantam's own detector (automatic, and
//! pinned to each format) and fail2ban's templates (its default list, or a
//! `datepattern` taken from the input). Spans must lie in the line, and
//! reading a found date must not panic whatever the clock says.
//!
//! Input: four bytes of "now", one selector byte, then lines. With the
//! selector's low bit set, the first line is a fail2ban `datepattern` (`\r` separating its lines).
#![no_main]

use std::sync::OnceLock;

use bantam_filter::date::{DateDetector, DateFormat, DatePattern};
use bantam_filter::fail2ban::date::DateTemplates;
use bantam_fuzz::{dst_zone, now_from, year_in, ByDecade};
use jiff::tz::TimeZone;
use libfuzzer_sys::fuzz_target;

const MAX_LINES: usize = 16;

fn native(lines: &[&[u8]], zone: &TimeZone, now: jiff::Timestamp) {
    let patterns = std::iter::once(DatePattern::Auto)
        .chain(DateFormat::ALL.into_iter().map(DatePattern::Pinned));
    for pattern in patterns {
        let mut detector = DateDetector::new(pattern, zone.clone());
        for line in lines {
            let Some(span) = detector.locate(line) else {
                continue;
            };
            assert!(span.start <= span.end && span.end <= line.len(), "{span:?}");
            if let DatePattern::Pinned(f) = pattern {
                assert_eq!(span.format, f, "a pinned detector found another format");
            }
            let _ = detector.resolve(line, span, now);
        }
    }
}

/// The zones dates are read in: UTC, and one with DST.
fn zones() -> &'static [TimeZone; 2] {
    static ZONES: OnceLock<[TimeZone; 2]> = OnceLock::new();
    ZONES.get_or_init(|| [TimeZone::UTC, dst_zone()])
}

/// fail2ban's default templates in each of [`zones`], compiled once.
fn defaults() -> &'static [ByDecade<DateTemplates>; 2] {
    static DEFAULTS: OnceLock<[ByDecade<DateTemplates>; 2]> = OnceLock::new();
    DEFAULTS.get_or_init(|| {
        let settle = |t: &mut DateTemplates, year: i32| {
            t.set_year_limit(year.saturating_add(3))
                .expect("the year limit builds");
        };
        zones().clone().map(|zone| {
            ByDecade::new(
                DateTemplates::new(None, zone).expect("defaults build"),
                settle,
            )
        })
    })
}

fn fail2ban(pattern: Option<&str>, lines: &[&[u8]], zone: usize, now: jiff::Timestamp) {
    let mut templates = match pattern {
        None => defaults()[zone].get(year_in(&zones()[zone], now)),
        Some(p) => match DateTemplates::new(Some(p), zones()[zone].clone()) {
            Ok(t) => t,
            Err(e) => {
                let _ = e.to_string();
                return;
            }
        },
    };
    for line in lines {
        let line = String::from_utf8_lossy(line);
        if let Some(hit) = templates.find(&line, now) {
            assert!(hit.start <= hit.end && hit.end <= line.len(), "{hit:?}");
        }
        if let Some(text) = templates.find_text(&line, now) {
            assert!(text.start <= text.end && text.end <= line.len(), "{text:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 5 {
        return;
    }
    let now = now_from(data);
    let selector = data[4];
    let zone = usize::from(selector & 2 != 0);
    let mut lines: Vec<&[u8]> = data[5..].split(|&b| b == b'\n').take(MAX_LINES).collect();
    if selector & 1 != 0 {
        let pattern = String::from_utf8_lossy(lines.remove(0)).replace('\r', "\n");
        if lines.is_empty() {
            return;
        }
        fail2ban(Some(&pattern), &lines, zone, now);
    } else {
        native(&lines, &zones()[zone], now);
        fail2ban(None, &lines, zone, now);
    }
});
