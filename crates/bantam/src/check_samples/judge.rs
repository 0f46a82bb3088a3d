//! Judging one line's result against its `# failJSON:` annotation, key by
//! key, as fail2ban's samplestestcase compares them.
//!
//! # Why addresses are compared as addresses
//!
//! fail2ban compares `host` through its `IPAddr` type, so `2001:DB8::1`
//! equals `2001:db8::1` and a captured prefix length takes part; names and
//! `<F-ID>`s compare as raw text. The same rules apply here.

use std::net::IpAddr;

use bantam_filter::fail2ban::{F2bMatch, HostKind};
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde_json::{Map, Value};

/// Compares `m` with the annotation; `Err` says the first difference.
pub fn compare(m: &F2bMatch, expected: &Map<String, Value>, zone: &TimeZone) -> Result<(), String> {
    for (k, v) in expected {
        if matches!(k.as_str(), "time" | "match" | "desc" | "constraint") {
            continue;
        }
        match k.as_str() {
            "host" if m.field("host").is_none() => host_equal(m, v)?,
            "attempts" if m.field("attempts").is_none() => {
                let want = v.as_u64();
                if want != Some(m.attempts() as u64) {
                    return Err(format!("attempts: got {}, want {v}", m.attempts()));
                }
            }
            "users" => {
                let mut want: Vec<String> = v
                    .as_array()
                    .map(|a| a.iter().map(value_text).collect())
                    .unwrap_or_default();
                want.sort();
                let got = if m.users.is_empty() {
                    None
                } else {
                    Some(m.users.clone())
                };
                if got.as_ref() != Some(&want) {
                    return Err(format!("users: got {got:?}, want {want:?}"));
                }
            }
            _ => {
                let got = m.field(k.as_str());
                let ok = match v {
                    Value::Null => got.is_none(),
                    other => got == Some(value_text(other).as_str()),
                };
                if !ok {
                    return Err(format!("{k}: got {got:?}, want {v}"));
                }
            }
        }
    }
    if let Some(Value::String(t)) = expected.get("time") {
        let want = parse_local(t, zone).ok_or_else(|| format!("bad time {t:?} in annotation"))?;
        // fail2ban compares float seconds; microseconds are the finest a
        // sample writes.
        let got = m.time.as_microsecond();
        if got != want.as_microsecond() {
            return Err(format!(
                "time: got {} ({}), want {t}",
                m.time,
                m.time.to_zoned(zone.clone()).datetime()
            ));
        }
    }
    Ok(())
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.ffffff]` in the test zone.
fn parse_local(t: &str, zone: &TimeZone) -> Option<jiff::Timestamp> {
    // The test reads these with Python's strptime, which takes one-digit
    // fields too (`2005-03-7T02:09:33`).
    let dt: DateTime = t
        .parse()
        .ok()
        .or_else(|| DateTime::strptime("%Y-%m-%dT%H:%M:%S", t).ok())?;
    Some(dt.to_zoned(zone.clone()).ok()?.timestamp())
}

/// An address with its prefix length (full length when none).
fn parse_net(text: &str) -> Option<(IpAddr, u8)> {
    let text = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    let (addr, plen) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
        None => (text, None),
    };
    let ip: IpAddr = addr.parse().ok()?;
    let full = if ip.is_ipv4() { 32 } else { 128 };
    Some((ip, plen.unwrap_or(full)))
}

fn host_equal(m: &F2bMatch, v: &Value) -> Result<(), String> {
    let want = match v {
        Value::Null => {
            return match &m.fid {
                None => Ok(()),
                Some(f) => Err(format!("host: got {f:?}, want null")),
            }
        }
        other => value_text(other),
    };
    let Some(fid) = &m.fid else {
        return Err(format!("host: got none, want {want:?}"));
    };
    let is_addr = matches!(m.kind, HostKind::Ip4 | HostKind::Ip6);
    if is_addr {
        let got_text = match &m.cidr {
            Some(c) if !c.is_empty() => format!("{fid}/{c}"),
            _ => fid.clone(),
        };
        if let (Some(a), Some(b)) = (parse_net(&got_text), parse_net(&want)) {
            return if a == b {
                Ok(())
            } else {
                Err(format!("host: got {got_text:?}, want {want:?}"))
            };
        }
    }
    if *fid == want {
        Ok(())
    } else {
        Err(format!("host: got {fid:?}, want {want:?}"))
    }
}
