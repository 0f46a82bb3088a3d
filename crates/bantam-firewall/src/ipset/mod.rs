//! [`Ipset`]: bans in ipset hash sets with kernel timeouts, dropped by one
//! iptables/ip6tables rule per set — for hosts whose firewall is iptables
//! and whose ban lists are large.
//!
//! Four sets, `NAME-4` and `NAME-6` (`hash:ip`) for addresses, `NAME-net4`
//! and `NAME-net6` (`hash:net`) for networks, each created with `timeout
//! 0` (every entry has its own timeout; 0 is permanent) and a `maxelem`
//! of 16,777,216. fail2ban's sets keep ipset's default of 65,536 and then
//! answer "Hash is full"; a hash set's memory follows its entries, not its
//! `maxelem` (the hash grows as entries come), so a high cap costs
//! nothing until used, and 16 million bans (over a gigabyte of kernel
//! memory) is past where the cap is the problem.
//!
//! The rules (`-m set --match-set NAME-4 src -j DROP` in INPUT, and
//! FORWARD when hooked) are inserted once: checked with `-C` at setup and
//! when a set's reference count says a rule is gone. Sets are changed over
//! netlink (`proto.rs`), never with one `ipset` process per address.
//!
//! Kernel timeouts stop at about 24.8 days; a longer ban is entered
//! permanent and lifted by the daemon when it ends.

mod proto;

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use crate::backend::{Backend, Repair, Watcher};
use crate::config::{BackendConfig, Hook, Nflog};
use crate::error::FirewallError;
use crate::liveness::Liveness;
use crate::netlink::socket::Socket;
use crate::target::{BanEntry, Target};
use crate::xtables::{self, Family};
use proto::{Request, SetDef, CMD_ADD, CMD_DEL, CMD_DESTROY, CMD_FLUSH};

/// See the module documentation.
pub const MAXELEM: u32 = 1 << 24;

pub struct Ipset {
    sets: [SetDef; 4],
    hooks: Vec<Hook>,
    nflog: Option<Nflog>,
    socket: Socket,
    liveness: Liveness,
    watcher_taken: bool,
}

impl fmt::Debug for Ipset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ipset")
            .field("sets", &self.sets)
            .finish_non_exhaustive()
    }
}

impl Ipset {
    /// Sets named after `config.name` (at most 25 characters: ipset names
    /// stop at 31).
    pub fn open(config: &BackendConfig) -> Result<Ipset, FirewallError> {
        if config.name.len() > 25 || config.name.contains(char::is_whitespace) {
            return Err(FirewallError::InvalidName {
                name: config.name.clone(),
                reason: "ipset names need at most 25 characters without spaces",
            });
        }
        let socket = Socket::open().map_err(|source| FirewallError::Io {
            action: "opening a NETLINK_NETFILTER socket".to_string(),
            source,
        })?;
        let def = |suffix: &str, net, v6| SetDef {
            name: format!("{}-{suffix}", config.name),
            net,
            v6,
        };
        Ok(Ipset {
            sets: [
                def("4", false, false),
                def("6", false, true),
                def("net4", true, false),
                def("net6", true, true),
            ],
            hooks: config.hooks.clone(),
            nflog: config.nflog.clone(),
            socket,
            liveness: Liveness::default(),
            watcher_taken: false,
        })
    }

    fn set_for(target: &Target) -> usize {
        match (target, target.is_ipv4()) {
            (Target::Addr(_), true) => 0,
            (Target::Addr(_), false) => 1,
            (Target::Net { .. }, true) => 2,
            (Target::Net { .. }, false) => 3,
        }
    }

    /// The rules for `set`, top first: the NFLOG rule (if any), the drop.
    fn rules(&self, set: &SetDef) -> Vec<String> {
        let matches = format!("-m set --match-set {} src", set.name);
        let mut rules = Vec::new();
        if let Some(nflog) = &self.nflog {
            rules.push(format!("{matches} {}", xtables::nflog_target(nflog)));
        }
        rules.push(format!("{matches} -j DROP"));
        rules
    }

    fn ensure_rules(&self) -> Result<bool, FirewallError> {
        let mut missing = false;
        for set in &self.sets {
            let family = if set.v6 { Family::V6 } else { Family::V4 };
            for &hook in &self.hooks {
                let rules = self.rules(set);
                missing |= xtables::ensure_rules(family, xtables::builtin_chain(hook), &rules)?;
            }
        }
        Ok(missing)
    }

    fn remove_rules(&self) -> Result<(), FirewallError> {
        for set in &self.sets {
            let family = if set.v6 { Family::V6 } else { Family::V4 };
            for hook in [Hook::Input, Hook::Forward] {
                for rule in self.rules(set) {
                    xtables::remove_rule(family, xtables::builtin_chain(hook), &rule)?;
                }
            }
        }
        Ok(())
    }

    fn create_sets(&mut self) -> Result<(), FirewallError> {
        let mut request = Request::new(&self.socket);
        for set in &self.sets {
            request.create(set, MAXELEM);
        }
        request.send(&mut self.socket, &[])
    }
}

/// Seconds for the kernel: rounded up, 0 (permanent) past its limit.
fn seconds(timeout: Option<Duration>) -> u32 {
    match timeout {
        None => 0,
        Some(t) => {
            let secs = t.as_secs() + u64::from(t.subsec_nanos() > 0);
            match u32::try_from(secs.max(1)) {
                Ok(s) if s <= proto::MAX_TIMEOUT => s,
                _ => 0,
            }
        }
    }
}

impl Backend for Ipset {
    fn name(&self) -> &'static str {
        "ipset"
    }

    fn setup(&mut self) -> Result<(), FirewallError> {
        self.create_sets()?;
        self.ensure_rules()?;
        Ok(())
    }

    fn ban(&mut self, entries: &[BanEntry]) -> Result<(), FirewallError> {
        let mut grouped: [Vec<(Target, u32)>; 4] = Default::default();
        for entry in entries {
            let target = entry.target.canonical()?;
            grouped[Self::set_for(&target)].push((target, seconds(entry.timeout)));
        }
        let mut request = Request::new(&self.socket);
        for (set, entries) in self.sets.iter().zip(&grouped) {
            if !entries.is_empty() {
                request.entries(CMD_ADD, &set.name, entries);
            }
        }
        request.send(&mut self.socket, &[])?;
        self.liveness.banned(entries.iter().map(|e| e.timeout));
        Ok(())
    }

    fn unban(&mut self, targets: &[Target]) -> Result<(), FirewallError> {
        let mut grouped: [Vec<(Target, u32)>; 4] = Default::default();
        for target in targets {
            let target = target.canonical()?;
            grouped[Self::set_for(&target)].push((target, 0));
        }
        let mut request = Request::new(&self.socket);
        for (set, entries) in self.sets.iter().zip(&grouped) {
            if !entries.is_empty() {
                request.entries(CMD_DEL, &set.name, entries);
            }
        }
        request.send(&mut self.socket, &[])
    }

    fn list(&mut self) -> Result<Vec<BanEntry>, FirewallError> {
        let mut bans = HashMap::new();
        for set in &self.sets {
            for (target, left) in proto::list(&mut self.socket, set)? {
                let timeout = left.map(|s| Duration::from_secs(u64::from(s)));
                bans.insert(target.canonical()?, timeout);
            }
        }
        let mut bans: Vec<BanEntry> = bans
            .into_iter()
            .map(|(target, timeout)| BanEntry::new(target, timeout))
            .collect();
        bans.sort_by_key(|e| e.target);
        Ok(bans)
    }

    fn flush(&mut self) -> Result<(), FirewallError> {
        let mut request = Request::new(&self.socket);
        for set in &self.sets {
            request.whole(CMD_FLUSH, &set.name);
        }
        request.send(&mut self.socket, &[])?;
        self.liveness.cleared();
        Ok(())
    }

    fn teardown(&mut self) -> Result<(), FirewallError> {
        self.remove_rules()?;
        let mut request = Request::new(&self.socket);
        for set in &self.sets {
            request.whole(CMD_DESTROY, &set.name);
        }
        request.send(&mut self.socket, &[libc::ENOENT])?;
        self.liveness.cleared();
        Ok(())
    }

    /// One header query per set: a set gone or emptied while our bans
    /// should be in it means bans lost; a set no rule references means a
    /// rule was flushed (`iptables -F`).
    fn verify(&mut self) -> Result<Repair, FirewallError> {
        let mut headers = Vec::new();
        for set in &self.sets {
            match proto::header(&mut self.socket, &set.name) {
                Ok(header) => headers.push(header),
                Err(err) if err.errno() == Some(libc::ENOENT) => {
                    self.setup()?;
                    self.liveness.cleared();
                    return Ok(Repair::BansLost);
                }
                Err(err) => return Err(err),
            }
        }
        let rules_missing = headers.iter().any(|h| h.references == 0);
        if rules_missing && self.ensure_rules()? {
            return Ok(Repair::Rebuilt);
        }
        if self.liveness.live() && headers.iter().all(|h| h.elements == 0) {
            self.liveness.cleared();
            return Ok(Repair::BansLost);
        }
        Ok(Repair::Intact)
    }

    fn watcher(&mut self) -> Option<Box<dyn Watcher>> {
        if std::mem::replace(&mut self.watcher_taken, true) {
            return None;
        }
        Some(self.liveness.watcher())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_seconds() {
        assert_eq!(seconds(None), 0);
        assert_eq!(seconds(Some(Duration::from_millis(1))), 1);
        assert_eq!(seconds(Some(Duration::from_millis(1500))), 2);
        assert_eq!(seconds(Some(Duration::from_secs(600))), 600);
        assert_eq!(seconds(Some(Duration::from_secs(30 * 86_400))), 0);
    }
}
