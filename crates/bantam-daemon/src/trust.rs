//! Addresses that logged in successfully (`[jails.NAME.trust]`): for `ttl`
//! after a success rule matched, an address gets `maxretry × tolerance`
//! failures before a ban, so the real user who mistypes a password a few
//! times is not locked out.
//!
//! Only the service's own success lines put an address here, so the set is
//! not the attacker's to grow; it is bounded all the same (`CAPACITY`,
//! oldest success forgotten first), and, like the tracker, it is cleaned as
//! successes arrive, never by a timer.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use bantam_config::TrustSettings;
use bantam_filter::Host;
use bantam_firewall::Target;
use jiff::{SignedDuration, Timestamp};

use crate::jail::Jail;

/// Trusted addresses kept per jail at most.
pub(crate) const CAPACITY: usize = 65_536;

/// One jail's trusted addresses.
#[derive(Debug)]
pub(crate) struct Trusted {
    settings: TrustSettings,
    capacity: usize,
    /// Address → end of its trust.
    until: HashMap<IpAddr, Timestamp>,
    /// Successes in arrival order, for eviction; an entry whose end no
    /// longer matches `until` was renewed later and is skipped.
    order: VecDeque<(IpAddr, Timestamp)>,
}

impl Trusted {
    pub(crate) fn new(settings: TrustSettings, capacity: usize) -> Trusted {
        Trusted {
            settings,
            capacity: capacity.max(1),
            until: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// `addr` logged in at `time`: trusted until `time + ttl`.
    pub(crate) fn mark(&mut self, addr: IpAddr, time: Timestamp) {
        let ttl = SignedDuration::try_from(self.settings.ttl).unwrap_or(SignedDuration::MAX);
        let end = time.checked_add(ttl).unwrap_or(Timestamp::MAX);
        if self.until.get(&addr).is_some_and(|&old| old >= end) {
            return;
        }
        self.until.insert(addr, end);
        self.order.push_back((addr, end));
        self.evict(time);
    }

    /// Whether `addr` is trusted at `now`.
    pub(crate) fn is_trusted(&self, addr: IpAddr, now: Timestamp) -> bool {
        self.until.get(&addr).is_some_and(|&end| end > now)
    }

    /// The failures that earn `addr` a ban at `now`.
    pub(crate) fn limit(&self, maxretry: u32, addr: IpAddr, now: Timestamp) -> u32 {
        match self.is_trusted(addr, now) {
            true => maxretry.saturating_mul(self.settings.tolerance),
            false => maxretry,
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.until.len()
    }

    /// Drops ended trust from the front, and the oldest beyond capacity.
    fn evict(&mut self, now: Timestamp) {
        while let Some(&(addr, end)) = self.order.front() {
            let current = self.until.get(&addr) == Some(&end);
            let over = self.until.len() > self.capacity;
            if current && end > now && !over {
                break;
            }
            self.order.pop_front();
            if current {
                self.until.remove(&addr);
            }
        }
        // Renewals leave stale entries behind; never more than the live ones.
        if self.order.len() > 2 * self.capacity {
            let until = &self.until;
            self.order.retain(|(a, e)| until.get(a) == Some(e));
        }
    }
}

impl Jail {
    /// A success rule matched: trust the address (a jail without `[trust]`
    /// ignores successes).
    pub(crate) fn on_success(&mut self, host: &Host, time: Timestamp) {
        if let (Some(trusted), Host::Ip(addr)) = (&mut self.trusted, host) {
            trusted.mark(*addr, time);
        }
    }

    /// The failures that earn `target` a ban now: `maxretry`, times the
    /// tolerance while the address is trusted.
    pub(crate) fn failure_limit(&self, target: &Target, now: Timestamp) -> u32 {
        let maxretry = self.settings.maxretry;
        match (&self.trusted, target) {
            (Some(trusted), Target::Addr(addr)) => trusted.limit(maxretry, *addr, now),
            _ => maxretry,
        }
    }

    /// Whether `target` is trusted now (for `status`/`banned`).
    pub(crate) fn is_trusted(&self, target: &Target, now: Timestamp) -> bool {
        match (&self.trusted, target) {
            (Some(trusted), Target::Addr(addr)) => trusted.is_trusted(*addr, now),
            _ => false,
        }
    }
}

impl crate::daemon::Daemon {
    /// `banned`'s flags for one ban: trusted, knocking.
    pub(crate) fn ban_flags(&self, ban: &crate::bans::ActiveBan) -> (bool, bool) {
        let now = self.clock.now();
        let Some(jail) = self.jails.iter().find(|j| j.name() == ban.record.jail) else {
            return (false, false);
        };
        // Knocking is the kernel's to say, read once for a whole page
        // (`Daemon::mark_knocking`), not per ban here.
        (jail.is_trusted(&ban.target, now), false)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    fn trusted(capacity: usize) -> Trusted {
        let settings = TrustSettings {
            ttl: Duration::from_secs(60),
            tolerance: 3,
        };
        Trusted::new(settings, capacity)
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn trust_multiplies_the_limit_until_its_ttl() {
        let mut t = trusted(10);
        assert_eq!(t.limit(5, ip("192.0.2.1"), at(0)), 5);
        t.mark(ip("192.0.2.1"), at(0));
        assert_eq!(t.limit(5, ip("192.0.2.1"), at(59)), 15);
        assert_eq!(t.limit(5, ip("192.0.2.1"), at(60)), 5);
        assert_eq!(t.limit(5, ip("192.0.2.2"), at(1)), 5);
    }

    #[test]
    fn a_renewed_login_extends_trust() {
        let mut t = trusted(10);
        t.mark(ip("192.0.2.1"), at(0));
        t.mark(ip("192.0.2.1"), at(50));
        assert!(t.is_trusted(ip("192.0.2.1"), at(100)));
        // The stale first entry, leaving the queue, must not end the renewal.
        t.mark(ip("192.0.2.2"), at(70));
        assert!(t.is_trusted(ip("192.0.2.1"), at(100)));
    }

    #[test]
    fn memory_is_bounded_oldest_first() {
        let mut t = trusted(100);
        for i in 0..10_000u32 {
            let addr = IpAddr::from(std::net::Ipv4Addr::from(0xC000_0200 + i));
            t.mark(addr, at(i64::from(i % 30)));
        }
        assert!(
            t.len() <= 100 && t.order.len() <= 200,
            "{} {}",
            t.len(),
            t.order.len()
        );
    }
}
