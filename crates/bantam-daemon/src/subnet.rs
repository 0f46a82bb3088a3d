//! Prefixes (`[jails.NAME.subnet]`): an attacker rotating through the
//! addresses of one IPv6 /64 is one attacker, so IPv6 failures and bans
//! count per `ipv6-prefix` (64 by default); and once `addresses` addresses
//! of one prefix were banned within `within`, the whole prefix is banned as
//! one interval-set element and the single bans inside it are folded into
//! it (removed). A prefix that holds an address the jail never bans
//! (`ignoreip`, `ignoreself`) is never banned whole.
//!
//! Memory: a few ban times per prefix, for at most `CAPACITY` prefixes,
//! oldest forgotten first; the input is bans, which are already rate-
//! limited by `maxretry`, but a botnet picks its addresses, so it is capped.

use std::collections::{HashMap, VecDeque};

use bantam_config::SubnetSettings;
use bantam_filter::Subnet;
use bantam_firewall::Target;
use jiff::{SignedDuration, Timestamp};

use crate::daemon::{Daemon, Fields};
use crate::error::chain;
use crate::jail::Jail;
use crate::log;
use crate::pipeline::Earned;

/// Prefixes with recent bans remembered per jail at most.
pub(crate) const CAPACITY: usize = 65_536;

/// The target failures and bans of `target` count under: its IPv6 prefix
/// for a single IPv6 address, else itself.
pub(crate) fn counting_key(target: Target, settings: &SubnetSettings) -> Target {
    match target {
        Target::Addr(addr) if addr.is_ipv6() && settings.ipv6_prefix < 128 => {
            Target::net(addr, settings.ipv6_prefix)
                .canonical()
                .unwrap_or(target)
        }
        _ => target,
    }
}

/// The prefix a prefix ban of `target` would cover, if prefix bans apply.
fn prefix_of(target: Target, settings: &SubnetSettings) -> Option<Target> {
    let prefix = match target.is_ipv4() {
        true => settings.ipv4_prefix,
        false => settings.ipv6_prefix,
    };
    if target.prefix() <= prefix {
        return None;
    }
    Target::net(target.addr(), prefix).canonical().ok()
}

/// Recent bans per prefix, for one jail.
#[derive(Debug)]
pub(crate) struct Prefixes {
    settings: SubnetSettings,
    recent: HashMap<Target, Vec<Timestamp>>,
    order: VecDeque<Target>,
}

impl Prefixes {
    pub(crate) fn new(settings: SubnetSettings) -> Prefixes {
        Prefixes {
            settings,
            recent: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// `target` was banned at `now`. Returns the prefix to ban whole when
    /// this ban is the `addresses`-th in it within `within`, unless the
    /// prefix covers an address in `protected`.
    pub(crate) fn on_ban(
        &mut self,
        target: Target,
        now: Timestamp,
        protected: &[Subnet],
    ) -> Option<Target> {
        if !self.settings.prefix_bans {
            return None;
        }
        let prefix = prefix_of(target, &self.settings)?;
        let window = SignedDuration::try_from(self.settings.within).unwrap_or(SignedDuration::MAX);
        let since = now.checked_sub(window).unwrap_or(Timestamp::MIN);
        if !self.recent.contains_key(&prefix) {
            self.order.push_back(prefix);
            while self.order.len() > CAPACITY {
                if let Some(old) = self.order.pop_front() {
                    self.recent.remove(&old);
                }
            }
        }
        let times = self.recent.entry(prefix).or_default();
        times.retain(|&t| t > since);
        times.push(now);
        if times.len() < self.settings.addresses as usize {
            return None;
        }
        if protected.iter().any(|net| overlaps(prefix, net)) {
            return None;
        }
        self.recent.remove(&prefix);
        Some(prefix)
    }
}

/// Whether `prefix` and `net` share an address.
fn overlaps(prefix: Target, net: &Subnet) -> bool {
    let other = Target::net(net.addr(), net.prefix()).canonical();
    other.is_ok_and(|other| prefix.contains(&other) || other.contains(&prefix))
}

impl Jail {
    /// The target this jail counts `target`'s failures and bans under.
    /// A prefix holding an address the jail never bans is not used: the
    /// address itself is counted then.
    pub(crate) fn counting_key(&self, target: Target) -> Target {
        let policy = &self.settings.trust_policy;
        let key = counting_key(target, &policy.subnet);
        let mut protected = self.settings.ignoreip.iter().chain(&policy.ignoreself);
        match key != target && protected.any(|net| overlaps(key, net)) {
            true => target,
            false => key,
        }
    }
}

impl Daemon {
    /// After bans in jail `jail_index`: bans every prefix that now has
    /// enough banned addresses, then folds the single bans inside it (the
    /// prefix first, so no address is free in between).
    pub(crate) fn fold_prefixes(&mut self, jail_index: usize, banned: &[Target], now: Timestamp) {
        let jail = &mut self.jails[jail_index];
        let protected: Vec<Subnet> = jail
            .settings
            .ignoreip
            .iter()
            .chain(&jail.settings.trust_policy.ignoreself)
            .copied()
            .collect();
        let prefixes: Vec<Target> = banned
            .iter()
            .filter_map(|&t| jail.prefixes.on_ban(t, now, &protected))
            .collect();
        if prefixes.is_empty() {
            return;
        }
        let name = jail.name().to_owned();
        let earned = prefixes
            .iter()
            .map(|&target| Earned {
                target,
                failures: 0,
                matches: Vec::new(),
                fields: Fields::new(),
                bantime: None,
                by_hand: None,
            })
            .collect();
        self.apply_bans(jail_index, earned, now);
        let inside: Vec<Target> = self
            .bans
            .targets_in(&name)
            .filter(|t| prefixes.iter().any(|p| p != t && p.contains(t)))
            .collect();
        if inside.is_empty() {
            return;
        }
        let names: Vec<String> = inside.iter().map(Target::to_string).collect();
        let mut folded = Vec::with_capacity(inside.len());
        for (target, text) in inside.iter().zip(&names) {
            folded.extend(self.bans.remove(&name, target));
            self.recorder.forget(Some(&name), text);
        }
        if let Err(e) = self.recorder.store().remove_bans(Some(&name), &names) {
            log::error(&format!(
                "jail {name}: folding into a prefix: store: {}",
                chain(&e)
            ));
        }
        if let Err(e) = self.lift(&folded) {
            log::error(&format!(
                "jail {name}: folding into a prefix: firewall: {}",
                chain(&e)
            ));
        }
        log::info(&format!(
            "{name}: banned {} whole, folding {}",
            prefixes
                .iter()
                .map(Target::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            names.join(", ")
        ));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn settings() -> SubnetSettings {
        SubnetSettings {
            ipv6_prefix: 64,
            ipv4_prefix: 24,
            prefix_bans: true,
            addresses: 5,
            within: Duration::from_secs(3600),
        }
    }

    fn t(text: &str) -> Target {
        text.parse().unwrap()
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    #[test]
    fn ipv6_counts_per_64_and_ipv4_per_address() {
        let s = settings();
        assert_eq!(
            counting_key(t("2001:db8:1:2:aa::1"), &s),
            t("2001:db8:1:2::/64")
        );
        assert_eq!(counting_key(t("192.0.2.7"), &s), t("192.0.2.7"));
        let off = SubnetSettings {
            ipv6_prefix: 128,
            ..s
        };
        assert_eq!(counting_key(t("2001:db8::1"), &off), t("2001:db8::1"));
    }

    #[test]
    fn the_fifth_ban_in_a_24_within_the_window_bans_the_24() {
        let mut p = Prefixes::new(settings());
        for i in 1..=4 {
            assert_eq!(p.on_ban(t(&format!("198.51.100.{i}")), at(i), &[]), None);
        }
        assert_eq!(
            p.on_ban(t("198.51.100.9"), at(10), &[]),
            Some(t("198.51.100.0/24"))
        );
        // Old bans fall out of the window.
        let mut p = Prefixes::new(settings());
        for i in 1..=4 {
            p.on_ban(t(&format!("203.0.113.{i}")), at(0), &[]);
        }
        assert_eq!(p.on_ban(t("203.0.113.9"), at(3601), &[]), None);
    }

    #[test]
    fn a_prefix_holding_an_ignored_address_is_never_banned() {
        let mut p = Prefixes::new(settings());
        let ignored: Vec<Subnet> = vec!["198.51.100.200".parse().unwrap()];
        for i in 1..=10 {
            assert_eq!(
                p.on_ban(t(&format!("198.51.100.{i}")), at(i), &ignored),
                None
            );
        }
    }

    #[test]
    fn off_without_a_subnet_table() {
        let mut p = Prefixes::new(SubnetSettings {
            prefix_bans: false,
            ..settings()
        });
        for i in 1..=10 {
            assert_eq!(p.on_ban(t(&format!("198.51.100.{i}")), at(i), &[]), None);
        }
    }
}
