//! The ban-policy keys of a jail that protect real users and catch
//! address-rotating attackers: `[trust]` (addresses that logged in get more
//! failures before a ban), `[subnet]` (count IPv6 per /64, ban a whole
//! prefix once enough of its addresses are banned), `extend-while-knocking`,
//! `ignorecommand` and `ignoreself`, and the per-rule ban times of the
//! jail's filter. Options as written, then the checked settings.
//!
//! ```toml
//! [jails.sshd.trust]
//! ttl = "24h"
//! tolerance = 3
//! [jails.sshd.subnet]
//! ipv6-prefix = 64
//! ipv4-prefix = 24
//! addresses = 5
//! within = "1h"
//! [jails.sshd]
//! extend-while-knocking = true
//! ignorecommand = ["/usr/local/bin/is-office", "<ip>"]
//! ```

use std::time::Duration;

use bantam_filter::{AnyFilterSpec, Subnet};
use serde::Deserialize;
use toml::Spanned;

use crate::duration::{parse_bantime, BanTime};
use crate::error::ConfigError;
use crate::options::{DurationValue, JailOptions};
use crate::settings::Cx;

/// `[jails.NAME.trust]` as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TrustOptions {
    /// How long a successful login makes its address trusted (default 24h).
    pub ttl: Option<Spanned<DurationValue>>,
    /// A trusted address gets `maxretry × tolerance` failures (default 3).
    pub tolerance: Option<Spanned<i64>>,
}

/// `[jails.NAME.subnet]` as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SubnetOptions {
    /// IPv6 failures and bans count per prefix of this length (default 64).
    pub ipv6_prefix: Option<Spanned<i64>>,
    /// The IPv4 prefix a prefix ban covers (default 24).
    pub ipv4_prefix: Option<Spanned<i64>>,
    /// Banned addresses in one prefix that ban the prefix (default 5).
    pub addresses: Option<Spanned<i64>>,
    /// ... within this long (default 1h).
    pub within: Option<Spanned<DurationValue>>,
}

/// `[trust]`, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustSettings {
    pub ttl: Duration,
    /// At least 1.
    pub tolerance: u32,
}

/// `[subnet]`, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubnetSettings {
    /// 1 to 128; 128 counts IPv6 addresses one by one.
    pub ipv6_prefix: u8,
    /// 1 to 32.
    pub ipv4_prefix: u8,
    /// Whether prefix bans are on (a `[subnet]` table was written); the
    /// IPv6 prefix counts failures and bans either way.
    pub prefix_bans: bool,
    /// At least 2.
    pub addresses: u32,
    pub within: Duration,
}

/// `ignorecommand`, checked: run as argv (no shell), `<ip>` replaced in
/// each argument; exit 0 means "ignore this address".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreCommand {
    pub argv: Vec<String>,
    /// How long an answer is remembered per address (default 5m).
    pub ttl: Duration,
    /// How long the command may run (default 10s); past it the answer is
    /// "do not ignore", so a hanging command cannot shield an attacker.
    pub timeout: Duration,
}

/// The checked values of this file's keys for one jail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustPolicy {
    /// `None`: no `[trust]`, logins change nothing.
    pub trust: Option<TrustSettings>,
    pub subnet: SubnetSettings,
    /// A banned address that keeps sending packets stays banned until it
    /// has been silent for its ban time.
    pub extend_while_knocking: bool,
    pub ignorecommand: Option<IgnoreCommand>,
    /// This host's own addresses when `ignoreself` is on (the default):
    /// never banned, and no prefix ban covers them.
    pub ignoreself: Vec<Subnet>,
    /// The filter's failure rules' own ban times, by rule index.
    pub rule_bantimes: Vec<Option<BanTime>>,
}

impl TrustPolicy {
    /// What a jail gets when none of these keys apply (fail2ban jails):
    /// addresses counted one by one, nothing else.
    pub fn plain() -> TrustPolicy {
        TrustPolicy {
            trust: None,
            subnet: SubnetSettings {
                ipv6_prefix: 128,
                ..DEFAULT_SUBNET
            },
            extend_while_knocking: false,
            ignorecommand: None,
            ignoreself: Vec::new(),
            rule_bantimes: Vec::new(),
        }
    }
}

const DEFAULT_SUBNET: SubnetSettings = SubnetSettings {
    ipv6_prefix: 64,
    ipv4_prefix: 24,
    prefix_bans: false,
    addresses: 5,
    within: Duration::from_secs(3600),
};
const DEFAULT_TRUST: TrustSettings = TrustSettings {
    ttl: Duration::from_secs(86_400),
    tolerance: 3,
};
const DEFAULT_IGNORE_TTL: Duration = Duration::from_secs(300);
const DEFAULT_IGNORE_TIMEOUT: Duration = Duration::from_secs(10);

impl Cx<'_> {
    /// Resolves this file's keys for jail `name`.
    pub(crate) fn trust_policy(
        &self,
        name: &str,
        o: &JailOptions,
        filter: &AnyFilterSpec,
    ) -> Result<TrustPolicy, ConfigError> {
        let key = |k: &str| format!("jails.{name}.{k}");
        let trust = match &o.trust {
            None => None,
            Some(t) => Some(self.trust(t.get_ref(), &key("trust"))?),
        };
        let subnet = match &o.subnet {
            None => DEFAULT_SUBNET,
            Some(s) => self.subnet(s.get_ref(), &key("subnet"))?,
        };
        let ignorecommand = match &o.ignorecommand {
            None => None,
            Some(argv) => Some(self.ignorecommand(argv, o, name)?),
        };
        let ignoreself = match o.ignoreself.unwrap_or(true) {
            true => crate::own_addresses::own_addresses(),
            false => Vec::new(),
        };
        Ok(TrustPolicy {
            trust,
            subnet,
            extend_while_knocking: o.extend_while_knocking.unwrap_or(false),
            ignorecommand,
            ignoreself,
            rule_bantimes: self.rule_bantimes(name, o, filter)?,
        })
    }

    fn trust(&self, t: &TrustOptions, key: &str) -> Result<TrustSettings, ConfigError> {
        let mut out = DEFAULT_TRUST;
        if let Some(ttl) = &t.ttl {
            out.ttl = self.duration(ttl, &format!("{key}.ttl"))?;
        }
        if let Some(v) = &t.tolerance {
            out.tolerance = self.ranged(v, &format!("{key}.tolerance"), 1, 1000)?;
        }
        Ok(out)
    }

    fn subnet(&self, s: &SubnetOptions, key: &str) -> Result<SubnetSettings, ConfigError> {
        let mut out = DEFAULT_SUBNET;
        out.prefix_bans = true;
        if let Some(v) = &s.ipv6_prefix {
            out.ipv6_prefix = self.ranged(v, &format!("{key}.ipv6-prefix"), 1, 128)? as u8;
        }
        if let Some(v) = &s.ipv4_prefix {
            out.ipv4_prefix = self.ranged(v, &format!("{key}.ipv4-prefix"), 1, 32)? as u8;
        }
        if let Some(v) = &s.addresses {
            out.addresses = self.ranged(v, &format!("{key}.addresses"), 2, 1_000_000)?;
        }
        if let Some(v) = &s.within {
            out.within = self.duration(v, &format!("{key}.within"))?;
        }
        Ok(out)
    }

    fn ranged(&self, v: &Spanned<i64>, key: &str, low: i64, high: i64) -> Result<u32, ConfigError> {
        let n = *v.get_ref();
        if !(low..=high).contains(&n) {
            return Err(self.err(v, key, format!("{n}: must be {low} to {high}")));
        }
        Ok(n as u32)
    }

    fn ignorecommand(
        &self,
        argv: &Spanned<Vec<String>>,
        o: &JailOptions,
        name: &str,
    ) -> Result<IgnoreCommand, ConfigError> {
        let key = format!("jails.{name}.ignorecommand");
        let words = argv.get_ref();
        match words.first() {
            None => {
                return Err(self.err(
                    argv,
                    &key,
                    "empty: give the program and its arguments".into(),
                ))
            }
            Some(p) if !p.starts_with('/') => {
                return Err(self.err(
                    argv,
                    &key,
                    format!("{p:?}: give the program's absolute path (no shell, no PATH search)"),
                ))
            }
            Some(_) => {}
        }
        if words.iter().any(|w| w.contains('\0')) {
            return Err(self.err(argv, &key, "an argument holds a NUL byte".into()));
        }
        let ttl = match &o.ignorecommand_ttl {
            None => DEFAULT_IGNORE_TTL,
            Some(v) => self.duration(v, &format!("jails.{name}.ignorecommand-ttl"))?,
        };
        let timeout = match &o.ignorecommand_timeout {
            None => DEFAULT_IGNORE_TIMEOUT,
            Some(v) => self.duration(v, &format!("jails.{name}.ignorecommand-timeout"))?,
        };
        Ok(IgnoreCommand {
            argv: words.clone(),
            ttl,
            timeout: timeout.max(Duration::from_millis(100)),
        })
    }

    /// Each failure rule's `bantime`, checked here because the filter crate
    /// reads no durations.
    fn rule_bantimes(
        &self,
        name: &str,
        o: &JailOptions,
        filter: &AnyFilterSpec,
    ) -> Result<Vec<Option<BanTime>>, ConfigError> {
        let Some(spec) = filter.native() else {
            return Ok(Vec::new());
        };
        let key = format!("jails.{name}.filter");
        spec.failregex
            .iter()
            .map(|rule| match &rule.policy.bantime {
                None => Ok(None),
                Some(text) => parse_bantime(text).map(Some).map_err(|m| {
                    let message = format!("rule {:?}: bantime: {m}", rule.id);
                    match &o.filter {
                        Some(f) => self.err(f, &key, message),
                        None => ConfigError::Invalid {
                            path: self.path.to_owned(),
                            line: 1,
                            key: key.clone(),
                            message,
                        },
                    }
                }),
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "policy_trust_tests.rs"]
mod tests;
