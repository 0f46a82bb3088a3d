//! Timestamps for the lines structured sources build: RFC 3339 in UTC
//! (`2026-11-25T07:21:09.625500+00:00`), the form Debian's rsyslog writes,
//! which every filter (bantam's and fail2ban's) reads with its zone. The
//! crate has no date library: the conversion is the civil-from-days
//! algorithm (H. Hinnant), exact for every date after 1970.

use std::time::{SystemTime, UNIX_EPOCH};

/// `us` microseconds after the Unix epoch, as RFC 3339 in UTC.
pub(crate) fn rfc3339_utc(us: u64) -> String {
    let secs = us / 1_000_000;
    let micros = us % 1_000_000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}+00:00",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Now, in microseconds since the epoch (0 if the clock is before it).
pub(crate) fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00.000000+00:00");
        // date -u -d @1796303339 → 2026-12-03T13:08:59
        assert_eq!(
            rfc3339_utc(1_796_303_339_019_927),
            "2026-12-03T13:08:59.019927+00:00"
        );
        // A leap day.
        assert_eq!(
            rfc3339_utc(951_782_400_000_000),
            "2000-02-29T00:00:00.000000+00:00"
        );
        assert!(now_us() > 1_700_000_000_000_000);
    }
}
