//! [`BackendConfig`]: what a backend is told besides its name — which hooks
//! its chains use, whether dropped packets are logged to NFLOG, the name of
//! its objects, the route type, the hosts.deny path.
//!
//! One type for every backend, so the daemon builds it once from the
//! configuration; each backend reads the fields that concern it and
//! refuses, at open, the ones it cannot honour (NFLOG on `route`).

use std::path::PathBuf;
use std::time::Duration;

use crate::error::FirewallError;

/// Where a chain sees packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Hook {
    /// Traffic to this host.
    Input,
    /// Traffic routed through this host: containers, VMs, a router's LAN.
    Forward,
}

impl Hook {
    pub fn parse(text: &str) -> Result<Hook, FirewallError> {
        match text {
            "input" => Ok(Hook::Input),
            "forward" => Ok(Hook::Forward),
            other => Err(FirewallError::Unsupported(format!(
                "unknown hook {other:?} (known: input, forward)"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Hook::Input => "input",
            Hook::Forward => "forward",
        }
    }
}

/// `nflog = { group = 5, prefix = "bantam-sshd", rate = "10/second" }`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Nflog {
    /// NFLOG group (0–65535): `tcpdump -i nflog:5`, ulogd.
    pub group: u16,
    /// Up to 63 bytes, so it also fits iptables' `--nflog-prefix`.
    pub prefix: String,
    /// Packets logged per `per`; the rest are dropped unlogged.
    pub rate: u32,
    pub per: Duration,
}

impl Nflog {
    /// Checks the fields and reads `rate` ("10/second", "/minute", "/hour",
    /// "/day").
    pub fn new(group: i64, prefix: &str, rate: &str) -> Result<Nflog, FirewallError> {
        let bad = |what: String| Err(FirewallError::Unsupported(format!("nflog: {what}")));
        let Ok(group) = u16::try_from(group) else {
            return bad(format!("group {group} is not in 0..=65535"));
        };
        if prefix.len() > 63
            || prefix
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || c == '"')
        {
            return bad(format!(
                "prefix {prefix:?}: at most 63 bytes, no spaces, quotes or control characters"
            ));
        }
        let parsed = rate.split_once('/').and_then(|(n, unit)| {
            let per = match unit {
                "second" => 1,
                "minute" => 60,
                "hour" => 3600,
                "day" => 86_400,
                _ => return None,
            };
            Some((n.trim().parse::<u32>().ok().filter(|&n| n > 0)?, per))
        });
        let Some((rate, per)) = parsed else {
            return bad(format!(
                "rate {rate:?}: expected N/second, N/minute, N/hour or N/day"
            ));
        };
        Ok(Nflog {
            group,
            prefix: prefix.to_string(),
            rate,
            per: Duration::from_secs(per),
        })
    }

    /// The unit as iptables' `--limit` and nft spell it.
    pub(crate) fn unit(&self) -> &'static str {
        match self.per.as_secs() {
            1 => "second",
            60 => "minute",
            3600 => "hour",
            _ => "day",
        }
    }
}

/// What a `route` ban installs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum RouteType {
    /// Silently discarded (the default: like a drop).
    #[default]
    Blackhole,
    /// ICMP "host unreachable".
    Unreachable,
    /// ICMP "administratively prohibited".
    Prohibit,
}

impl RouteType {
    pub fn parse(text: &str) -> Result<RouteType, FirewallError> {
        match text {
            "blackhole" => Ok(RouteType::Blackhole),
            "unreachable" => Ok(RouteType::Unreachable),
            "prohibit" => Ok(RouteType::Prohibit),
            other => Err(FirewallError::Unsupported(format!(
                "unknown route type {other:?} (known: blackhole, unreachable, prohibit)"
            ))),
        }
    }
}

/// Everything a backend may be configured with; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BackendConfig {
    /// Our objects' name: nftables table, iptables chain, ipset set prefix,
    /// the hosts.deny marker. Default `bantam`; a jail with options of its
    /// own gets `bantam-JAIL`, so two configurations never share objects.
    pub name: String,
    pub hooks: Vec<Hook>,
    pub nflog: Option<Nflog>,
    pub route_type: RouteType,
    pub hosts_deny: PathBuf,
}

impl Default for BackendConfig {
    fn default() -> BackendConfig {
        BackendConfig {
            name: "bantam".to_string(),
            hooks: vec![Hook::Input],
            nflog: None,
            route_type: RouteType::Blackhole,
            hosts_deny: PathBuf::from("/etc/hosts.deny"),
        }
    }
}

impl BackendConfig {
    pub fn hooked(&self, hook: Hook) -> bool {
        self.hooks.contains(&hook)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nflog_rates() {
        let n = Nflog::new(5, "bantam-sshd", "10/second").unwrap();
        assert_eq!((n.group, n.rate, n.per), (5, 10, Duration::from_secs(1)));
        assert_eq!(Nflog::new(0, "", "3/hour").unwrap().unit(), "hour");
        for (group, prefix, rate) in [
            (70_000, "x", "1/second"),
            (1, "a\"b", "1/second"),
            (1, "a b", "1/second"),
            (1, "x", "10/fortnight"),
            (1, "x", "0/second"),
            (1, "x", "ten"),
        ] {
            let err = Nflog::new(group, prefix, rate).unwrap_err().to_string();
            assert!(err.starts_with("nflog: "), "{err}");
        }
        assert!(Hook::parse("output").is_err());
        assert_eq!(RouteType::parse("prohibit").unwrap(), RouteType::Prohibit);
    }
}
