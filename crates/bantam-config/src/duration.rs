//! Durations as fail2ban users write them: `600` (seconds), `10m`, `1d12h`,
//! `1w`, and for ban times `-1` or `permanent` (no end).

use std::time::Duration;

/// How long a ban lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum BanTime {
    /// Lifted after this long.
    For(Duration),
    /// Never lifted by time.
    Permanent,
}

/// The inverse of [`parse_duration`], as people write them in a config:
/// `10m`, `1d12h`, `0s`. Kept beside the parser so that every message, mail
/// and listing writes a duration the way the config reads it back.
pub fn human_duration(d: Duration) -> String {
    let mut secs = d.as_secs();
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("w", 604_800),
        ("d", 86_400),
        ("h", 3600),
        ("m", 60),
        ("s", 1),
    ] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

/// Parses `600`, `10m`, `1d12h`, `1w2d`, `90s`. Units: s m h d w (also the
/// long forms fail2ban accepts: sec, min, hour, day, week, with or without a
/// trailing s). Zero is allowed; negative values are not.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total: u64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!(
                "{text:?} is not a duration (expected e.g. 600, 10m, 1d12h)"
            ));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("{text:?}: number too large"))?;
        rest = rest[digits..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        let seconds = match unit.to_ascii_lowercase().as_str() {
            "s" | "sec" | "secs" | "second" | "seconds" => 1,
            "m" | "min" | "mins" | "minute" | "minutes" => 60,
            "h" | "hour" | "hours" => 3600,
            "d" | "day" | "days" => 86_400,
            "w" | "week" | "weeks" => 604_800,
            "" => return Err(format!("{text:?}: {n} needs a unit (s, m, h, d, w)")),
            other => {
                return Err(format!(
                    "{text:?}: unknown unit {other:?} (use s, m, h, d, w)"
                ))
            }
        };
        total = n
            .checked_mul(seconds)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("{text:?}: too long"))?;
        rest = rest[unit_len..].trim_start();
    }
    Ok(Duration::from_secs(total))
}

/// A ban time: a duration, or `-1` / `permanent` / `forever` for no end.
pub fn parse_bantime(text: &str) -> Result<BanTime, String> {
    match text.trim() {
        "-1" | "permanent" | "forever" => Ok(BanTime::Permanent),
        t if t.starts_with('-') => Err(format!(
            "{text:?}: a negative ban time other than -1 means nothing"
        )),
        t => parse_duration(t).map(BanTime::For),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: &str) -> u64 {
        parse_duration(s).unwrap().as_secs()
    }

    #[test]
    fn units_and_combinations() {
        assert_eq!(secs("600"), 600);
        assert_eq!(secs("90s"), 90);
        assert_eq!(secs("10m"), 600);
        assert_eq!(secs("2h"), 7200);
        assert_eq!(secs("1d12h"), 129_600);
        assert_eq!(secs("1w"), 604_800);
        assert_eq!(secs("1d 2h 3m 4s"), 93_784);
        assert_eq!(secs("10min"), 600);
        assert_eq!(secs("3 hours"), 10_800);
        assert_eq!(secs("0"), 0);
    }

    #[test]
    fn bad_durations_say_why() {
        assert!(parse_duration("").unwrap_err().contains("empty"));
        assert!(parse_duration("10x").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("m").unwrap_err().contains("not a duration"));
        assert!(parse_duration("1d12").unwrap_err().contains("needs a unit"));
        assert!(parse_duration("99999999999999999999w")
            .unwrap_err()
            .contains("too"));
        assert!(parse_duration("-5m").is_err());
    }

    #[test]
    fn bantimes() {
        assert_eq!(parse_bantime("-1"), Ok(BanTime::Permanent));
        assert_eq!(parse_bantime("permanent"), Ok(BanTime::Permanent));
        assert_eq!(
            parse_bantime("10m"),
            Ok(BanTime::For(Duration::from_secs(600)))
        );
        assert!(parse_bantime("-5").is_err());
    }
}
