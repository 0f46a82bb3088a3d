//! One interface over both engines, for the daemon and `bantam regex`:
//! a jail's filter is either native ([`Filter`]) or a fail2ban filter run
//! unchanged ([`F2bFilter`]).
//!
//! # Why the conversion lives here
//!
//! fail2ban's engine reports what the text said (host text, raw); the daemon
//! bans only what bantam's strict address parser accepts. Doing the
//! conversion next to the engines means one rule for every caller: an
//! address is parsed strictly, a name is reported and never resolved, and a
//! helper match (`<F-NOFAIL>`, a pending multi-line failure) is never a
//! failure.

use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::address::{parse_addr, parse_hostname, Host, Subnet};
use crate::error::FilterError;
use crate::fail2ban::{F2bFilter, F2bFilterSpec, F2bMatch, HostKind};
use crate::failure::{Failure, Outcome, MAX_COUNT};
use crate::filter::Filter;
use crate::spec::FilterSpec;
use crate::spec::WEIGHT_ONE;

/// How a jail's filter is described, before compiling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnyFilterSpec {
    /// bantam's own engine: linear-time, multi-pattern.
    Native(FilterSpec),
    /// A fail2ban filter (Python-dialect patterns, fail2ban semantics).
    Fail2ban(F2bFilterSpec),
}

impl AnyFilterSpec {
    /// The filter's name, for status and messages.
    pub fn name(&self) -> &str {
        match self {
            AnyFilterSpec::Native(s) => &s.name,
            AnyFilterSpec::Fail2ban(s) => &s.name,
        }
    }

    /// The native description, if this is a native filter.
    pub fn native(&self) -> Option<&FilterSpec> {
        match self {
            AnyFilterSpec::Native(s) => Some(s),
            AnyFilterSpec::Fail2ban(_) => None,
        }
    }

    /// Compiles it; `zone` reads dates written without an offset.
    pub fn compile(&self, zone: TimeZone) -> Result<AnyFilter, FilterError> {
        Ok(match self {
            AnyFilterSpec::Native(s) => AnyFilter::Native(Filter::new(s, zone)?),
            AnyFilterSpec::Fail2ban(s) => AnyFilter::Fail2ban(F2bFilter::new(s, zone)?),
        })
    }
}

/// A compiled filter of either kind, with its per-log state. Clone one per
/// log.
#[derive(Clone, Debug)]
pub enum AnyFilter {
    Native(Filter),
    Fail2ban(F2bFilter),
}

impl AnyFilter {
    pub fn name(&self) -> &str {
        match self {
            AnyFilter::Native(f) => f.name(),
            AnyFilter::Fail2ban(f) => f.name(),
        }
    }

    /// The failures and successes (`Failure::success`) `line` reveals,
    /// appended to `out`. A native filter
    /// gives at most one; a fail2ban multi-line filter may give several (or
    /// one for an earlier line whose address only now became known).
    pub fn scan(&mut self, line: &[u8], now: Timestamp, out: &mut Vec<Failure>) {
        match self {
            AnyFilter::Native(f) => {
                if let Outcome::Failure(failure) | Outcome::Success(failure) = f.scan(line, now) {
                    out.push(failure);
                }
            }
            AnyFilter::Fail2ban(f) => {
                let line = String::from_utf8_lossy(line);
                let line = line.strip_suffix('\r').unwrap_or(&line);
                for m in f.process_line(line, now) {
                    if let Some(failure) = failure_of(m) {
                        out.push(failure);
                    }
                }
            }
        }
    }
}

impl AnyFilter {
    /// Judges a structured record (a journal entry's or a syslog message's
    /// fields) with a `format = "json"` filter's field tests, appending what
    /// it finds to `out`. `false` when this filter reads text: the caller
    /// scans the line instead.
    pub fn scan_record(
        &mut self,
        record: &dyn crate::Fields,
        now: Timestamp,
        out: &mut Vec<Failure>,
    ) -> bool {
        let AnyFilter::Native(f) = self else {
            return false;
        };
        if !f.is_json() {
            return false;
        }
        if let Outcome::Failure(failure) = f.scan_fields(record, now) {
            out.push(failure);
        }
        true
    }
}

/// The source [`failure_of`] gives `m`, if it gives a failure at all:
/// what counting failures needs, without building one (`bantam regex`
/// counts a failure per matched line).
pub fn failure_host(m: &F2bMatch) -> Option<Host> {
    if m.nofail {
        return None;
    }
    let text = match m.kind {
        HostKind::Id => m.fid.as_deref()?,
        _ => m.host.as_deref().or(m.fid.as_deref())?,
    };
    Some(match (parse_addr(text.as_bytes()), &m.cidr) {
        (Some(ip), Some(prefix)) => {
            let net: Subnet = format!("{ip}/{prefix}").parse().ok()?;
            Host::Net(net)
        }
        (Some(ip), None) => Host::Ip(ip),
        (None, _) if m.kind == HostKind::Dns => Host::Name(parse_hostname(text.as_bytes())?),
        (None, _) => return None,
    })
}

/// A fail2ban match as a bantam failure, if it names a source bantam can
/// use. The host text goes through the same strict parser as native
/// captures; `<F-ID>` values stand for the source only when they parse as
/// an address (fail2ban would look them up in DNS; bantam never does).
pub fn failure_of(m: F2bMatch) -> Option<Failure> {
    let host = failure_host(&m)?;
    let mut fields = m.fields();
    let user = fields.remove("user").map(String::into_boxed_str);
    let id = fields.remove("fid").map(String::into_boxed_str);
    // `<F-SUCCESS>…</F-SUCCESS>` took part: the source logged in.
    let success = fields.remove("success").is_some();
    let count = fields.remove("count").map_or(1, |n| {
        n.parse::<u64>()
            .map_or(MAX_COUNT, |n| n.clamp(1, u64::from(MAX_COUNT)) as u32)
    });
    for key in ["ip4", "ip6", "dns", "host", "cidr"] {
        fields.remove(key);
    }
    Some(Failure {
        rule: m.rule,
        host,
        time: m.time,
        dated: true,
        count,
        weight: WEIGHT_ONE,
        success,
        user,
        id,
        fields: fields
            .into_iter()
            .map(|(k, v)| (k.into_boxed_str(), v.into_boxed_str()))
            .collect(),
    })
}
