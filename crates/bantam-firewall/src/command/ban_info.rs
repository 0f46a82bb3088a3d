//! [`BanInfo`]: what a ban tells a command, and which of it can be trusted.
//!
//! The split is the security boundary of command actions. A value we compute
//! from typed data — the address (parsed by our strict parser and printed by
//! us), the family, counters, times — contains only digits, hex letters and
//! `.:/-`, so it may be written into the shell text. Everything copied from a
//! log line or from outside (`matches`, `fid`, every `F-*` capture such as
//! the user name, host names) is *untrusted*: an attacker chooses it, so it
//! only ever reaches the shell as the value of an environment variable.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::target::Target;

/// One ban, as the tags of fail2ban's action commands see it.
#[derive(Clone, Debug, PartialEq)]
pub struct BanInfo {
    /// `<ip>`: an address or a network; `<family>` and `<ip-rev>` derive from it.
    pub ip: Target,
    /// `<fid>`: the failure id, the address unless the filter captured
    /// `<F-ID>`. Untrusted.
    pub fid: String,
    /// `<failures>`: failures that led to this ban.
    pub failures: u32,
    /// `<time>`: when the ban started, seconds since the epoch.
    pub time: f64,
    /// `<bantime>`: seconds, -1 for permanent.
    pub bantime: i64,
    /// `<bancount>`: how many times this address was banned.
    pub bancount: u32,
    /// `<matches>`: this ticket's log lines. Untrusted.
    pub matches: Vec<String>,
    /// `<ipmatches>`: the address's lines in every jail. Untrusted.
    pub ipmatches: Vec<String>,
    /// `<ipjailmatches>`: the address's lines in this jail. Untrusted.
    pub ipjailmatches: Vec<String>,
    /// `<ipfailures>`, `<ipjailfailures>`.
    pub ipfailures: u32,
    pub ipjailfailures: u32,
    /// Filter captures by fail2ban's lower-case name (`user` for
    /// `<F-USER>`, `fid` for `<F-ID>`, `fport` for `<F-PORT>`). Untrusted.
    pub fields: BTreeMap<String, String>,
    /// `<restored>`: 1 when the ban is re-applied from the store at start.
    pub restored: bool,
}

impl BanInfo {
    /// A ban of `ip` with everything else empty or zero.
    pub fn new(ip: Target) -> Self {
        BanInfo {
            ip,
            fid: ip.to_string(),
            failures: 0,
            time: 0.0,
            bantime: -1,
            bancount: 0,
            matches: Vec::new(),
            ipmatches: Vec::new(),
            ipjailmatches: Vec::new(),
            ipfailures: 0,
            ipjailfailures: 0,
            fields: BTreeMap::new(),
            restored: false,
        }
    }

    /// `<family>`: "inet4" or "inet6", fail2ban's spelling.
    pub fn family(&self) -> &'static str {
        family_of(self.ip.addr())
    }

    /// The value of a dynamic tag for this ban; `None` for a tag that is not
    /// dynamic. A capture the filter did not make is empty, as in fail2ban.
    pub(super) fn value(&self, tag: &str) -> Option<String> {
        Some(match tag {
            "ip" => self.ip.to_string(),
            "family" => self.family().to_string(),
            "ip-rev" => reverse_name(self.ip),
            "failures" => self.failures.to_string(),
            "time" => self.time.to_string(),
            "bantime" => self.bantime.to_string(),
            "bancount" => self.bancount.to_string(),
            "restored" => u8::from(self.restored).to_string(),
            "ipfailures" => self.ipfailures.to_string(),
            "ipjailfailures" => self.ipjailfailures.to_string(),
            "fid" => self.fid.clone(),
            "matches" => self.matches.join("\n"),
            "ipmatches" => self.ipmatches.join("\n"),
            "ipjailmatches" => self.ipjailmatches.join("\n"),
            _ => match field_key(tag) {
                Some(key) => self.fields.get(&key).cloned().unwrap_or_default(),
                None => return host_value(tag),
            },
        })
    }
}

pub(super) fn family_of(addr: IpAddr) -> &'static str {
    match addr {
        IpAddr::V4(_) => "inet4",
        IpAddr::V6(_) => "inet6",
    }
}

/// Whether a dynamic tag's value may be written into the shell text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Trust {
    /// Computed by us from typed data: only `[0-9a-z.:/-]`.
    Inline,
    /// Chosen, at least in part, by whoever writes the logs.
    Environment,
}

/// `Some` for the tags a ban (not the configuration) gives values to.
pub(super) fn dynamic_trust(tag: &str) -> Option<Trust> {
    match tag {
        "ip" | "family" | "ip-rev" | "failures" | "time" | "bantime" | "bancount" | "restored"
        | "ipfailures" | "ipjailfailures" => Some(Trust::Inline),
        "fid" | "matches" | "ipmatches" | "ipjailmatches" | "ip-host" | "fq-hostname"
        | "sh-hostname" => Some(Trust::Environment),
        _ if field_key(tag).is_some() => Some(Trust::Environment),
        _ => None,
    }
}

/// `<F-NAME>` → the capture's key: lower case, with fail2ban's two renames.
pub(super) fn field_key(tag: &str) -> Option<String> {
    let name = tag.strip_prefix("F-")?;
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !valid {
        return None;
    }
    Some(match name.to_ascii_lowercase().as_str() {
        "id" => "fid".to_string(),
        "port" => "fport".to_string(),
        other => other.to_string(),
    })
}

/// The host names, for actions that mention them (mail reports). The
/// kernel's host name, without a DNS lookup: an action must not hang on DNS.
/// `ip-host` (the address's reverse lookup) is never looked up: empty.
pub(super) fn host_value(tag: &str) -> Option<String> {
    match tag {
        "fq-hostname" => Some(hostname()),
        "sh-hostname" => Some(hostname().split('.').next().unwrap_or("").to_string()),
        "ip-host" => Some(String::new()),
        _ => None,
    }
}

/// `[daemon] server-name`, when set: what `<fq-hostname>` and
/// `<sh-hostname>` say, so one key names the host in every action.
static SERVER_NAME: std::sync::RwLock<Option<String>> = std::sync::RwLock::new(None);

/// Sets (or, with `None`, clears) the configured server name.
pub fn set_server_name(name: Option<String>) {
    *SERVER_NAME.write().unwrap_or_else(|p| p.into_inner()) = name;
}

fn hostname() -> String {
    let configured = SERVER_NAME.read().unwrap_or_else(|p| p.into_inner());
    if let Some(name) = configured.as_ref() {
        return name.clone();
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .unwrap_or_default()
}

/// `<ip-rev>`: the address's labels reversed, with fail2ban's trailing dot
/// (`5.2.0.192.`), as DNS blocklists want it. A network reverses its
/// address (fail2ban's own value for networks is not usable).
fn reverse_name(target: Target) -> String {
    let mut out = String::new();
    match target.addr() {
        IpAddr::V4(v4) => {
            for octet in v4.octets().iter().rev() {
                out.push_str(&format!("{octet}."));
            }
        }
        IpAddr::V6(v6) => {
            for byte in v6.octets().iter().rev() {
                out.push_str(&format!("{:x}.{:x}.", byte & 0xf, byte >> 4));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(ip: &str) -> BanInfo {
        BanInfo::new(ip.parse().unwrap())
    }

    #[test]
    fn reverse_names_match_fail2ban() {
        assert_eq!(info("192.0.2.5").value("ip-rev").unwrap(), "5.2.0.192.");
        assert_eq!(
            info("2001:db8::1").value("ip-rev").unwrap(),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
        );
    }

    #[test]
    fn families_and_addresses() {
        assert_eq!(info("192.0.2.5").family(), "inet4");
        assert_eq!(info("2001:db8::1").value("family").unwrap(), "inet6");
        assert_eq!(
            info("198.51.100.0/24").value("ip").unwrap(),
            "198.51.100.0/24"
        );
    }

    #[test]
    fn captures_by_fail2ban_name() {
        let mut ban = info("192.0.2.5");
        ban.fields.insert("user".into(), "root".into());
        ban.fields.insert("fport".into(), "22".into());
        assert_eq!(ban.value("F-USER").unwrap(), "root");
        assert_eq!(ban.value("F-PORT").unwrap(), "22");
        assert_eq!(ban.value("F-MISSING").unwrap(), "");
        assert_eq!(ban.value("F-lower"), None);
        assert_eq!(ban.value("port"), None);
    }

    #[test]
    fn only_computed_values_are_inline() {
        for tag in ["ip", "family", "time", "bantime", "failures", "ip-rev"] {
            assert_eq!(dynamic_trust(tag), Some(Trust::Inline), "{tag}");
        }
        for tag in [
            "matches",
            "ipmatches",
            "ipjailmatches",
            "fid",
            "F-USER",
            "F-ID",
        ] {
            assert_eq!(dynamic_trust(tag), Some(Trust::Environment), "{tag}");
        }
        assert_eq!(dynamic_trust("name"), None);
    }

    #[test]
    fn the_server_name_names_the_host() {
        set_server_name(Some("web-03.example.org".into()));
        let ban = info("192.0.2.5");
        assert_eq!(ban.value("fq-hostname").unwrap(), "web-03.example.org");
        assert_eq!(ban.value("sh-hostname").unwrap(), "web-03");
        set_server_name(None);
        let kernel = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert_eq!(ban.value("fq-hostname").unwrap(), kernel.trim());
    }
}
