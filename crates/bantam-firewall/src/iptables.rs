//! [`Iptables`]: a rule per banned address in a chain of our own, for
//! hosts with iptables and without ipset.
//!
//! ```text
//! -N bantam
//! -I INPUT -j bantam                      (and FORWARD when hooked)
//! -A bantam -s 192.0.2.7/32 -m comment --comment until=1767225600 -j DROP
//! ```
//!
//! A rule per address is a linear list: fine for hundreds of bans, slow
//! for tens of thousands (use `ipset` or `nftables` there). What keeps it
//! usable is how rules are written: every change is one
//! `iptables-restore --noflush` script (one process for 10,000 bans, where
//! fail2ban runs 10,000 `iptables -I`), and reads are `iptables -S`, which
//! never resolves names (it prints rules as written, addresses as
//! numbers: what `-L -n` guarantees, and iptables refuses `-n` with `-S`).
//!
//! iptables has no timeouts, so each rule carries its end time (Unix
//! seconds, `until=never` for permanent) in a comment: [`Backend::list`]
//! reports the time left from it, setup removes rules whose time has
//! passed (the daemon may have been stopped when they ended), and the
//! daemon's own expiry lifts them on time while it runs.
//!
//! With `nflog`, the rules jump to chain `bantam-log` instead of DROP,
//! which logs to the NFLOG group under a rate limit and then drops.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::backend::{Backend, Repair, Watcher};
use crate::config::{BackendConfig, Hook, Nflog};
use crate::error::FirewallError;
use crate::liveness::Liveness;
use crate::nft::events::NftEvents;
use crate::target::{BanEntry, Target};
use crate::xtables::{self, Family};

/// Past this many unbans in one call, the chain is rewritten (flush and
/// add what stays, one script) rather than searched once per rule.
const REWRITE_FROM: usize = 64;

pub struct Iptables {
    chain: String,
    log_chain: String,
    hooks: Vec<Hook>,
    nflog: Option<Nflog>,
    /// Our rules as the kernel has them: target → end (Unix seconds,
    /// `None` permanent). Needed to name a rule exactly when deleting it.
    rules: HashMap<Target, Option<u64>>,
    liveness: Liveness,
    watcher: Option<Box<dyn Watcher>>,
}

impl std::fmt::Debug for Iptables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iptables")
            .field("chain", &self.chain)
            .field("rules", &self.rules.len())
            .finish_non_exhaustive()
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Iptables {
    /// Chain `config.name` (at most 20 characters: iptables chain names
    /// stop at 28, and `-log` is added).
    pub fn open(config: &BackendConfig) -> Result<Iptables, FirewallError> {
        let name = &config.name;
        if name.is_empty()
            || name.len() > 20
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(FirewallError::InvalidName {
                name: name.clone(),
                reason: "iptables chain names need 1 to 20 letters, digits, '-' or '_'",
            });
        }
        let liveness = Liveness::default();
        // Events are opened here, in the caller's network namespace.
        let watcher: Box<dyn Watcher> = if xtables::is_nft() {
            Box::new(NftEvents::open("filter")?)
        } else {
            liveness.watcher()
        };
        Ok(Iptables {
            chain: name.clone(),
            log_chain: format!("{name}-log"),
            hooks: config.hooks.clone(),
            nflog: config.nflog.clone(),
            rules: HashMap::new(),
            liveness,
            watcher: Some(watcher),
        })
    }

    fn target(&self) -> &str {
        if self.nflog.is_some() {
            &self.log_chain
        } else {
            "DROP"
        }
    }

    fn rule(&self, target: &Target, end: Option<u64>) -> String {
        let until = end.map_or("never".to_string(), |e| e.to_string());
        format!(
            "-s {}/{} -m comment --comment until={until} -j {}",
            target.addr(),
            target.prefix(),
            self.target()
        )
    }

    /// Reads our chain back (`None`: the chain does not exist).
    fn read(&self, family: Family) -> Result<Option<HashMap<Target, Option<u64>>>, FirewallError> {
        let Ok(text) = xtables::output(family, &["-S", &self.chain]) else {
            return Ok(None);
        };
        Ok(Some(parse_rules(&text, &self.chain)))
    }

    fn read_all(&mut self) -> Result<bool, FirewallError> {
        let mut all = HashMap::new();
        for family in Family::BOTH {
            match self.read(family)? {
                Some(rules) => all.extend(rules),
                None => return Ok(false),
            }
        }
        self.rules = all;
        Ok(true)
    }

    fn ensure_structure(&self) -> Result<bool, FirewallError> {
        let mut missing = false;
        for family in Family::BOTH {
            xtables::create_chain(family, &self.chain)?;
            if let Some(nflog) = &self.nflog {
                xtables::create_chain(family, &self.log_chain)?;
                let rules = [xtables::nflog_target(nflog), "-j DROP".to_string()];
                missing |= xtables::ensure_rules(family, &self.log_chain, &rules)?;
            }
            for &hook in &self.hooks {
                let jump = [format!("-j {}", self.chain)];
                missing |= xtables::ensure_rules(family, xtables::builtin_chain(hook), &jump)?;
            }
        }
        Ok(missing)
    }

    /// Rewrites the chain of `family` with exactly `self.rules`.
    fn rewrite(&self, family: Family) -> Result<(), FirewallError> {
        let mut script = format!("-F {}\n", self.chain);
        for (target, end) in &self.rules {
            if Family::of(target) == family {
                script.push_str(&format!("-A {} {}\n", self.chain, self.rule(target, *end)));
            }
        }
        xtables::restore(family, &script)
    }
}

/// Our rules in `iptables -S CHAIN` output; other lines are ignored.
fn parse_rules(text: &str, chain: &str) -> HashMap<Target, Option<u64>> {
    let mut rules = HashMap::new();
    let prefix = format!("-A {chain} -s ");
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(&prefix) else {
            continue;
        };
        let mut words = rest.split(' ');
        let Some(Ok(target)) = words.next().map(str::parse::<Target>) else {
            continue;
        };
        let end = words
            // `iptables -S` quotes the comment: `--comment "until=…"`.
            .find_map(|w| w.trim_matches('"').strip_prefix("until="))
            .and_then(|e| e.parse::<u64>().ok());
        rules.insert(target, end);
    }
    rules
}

fn end_of(timeout: Option<Duration>) -> Option<u64> {
    timeout.map(|t| now() + t.as_secs() + u64::from(t.subsec_nanos() > 0))
}

impl Backend for Iptables {
    fn name(&self) -> &'static str {
        "iptables"
    }

    fn setup(&mut self) -> Result<(), FirewallError> {
        self.ensure_structure()?;
        self.read_all()?;
        let now = now();
        let before = self.rules.len();
        self.rules.retain(|_, end| end.is_none_or(|e| e > now));
        if self.rules.len() != before {
            for family in Family::BOTH {
                self.rewrite(family)?;
            }
        }
        Ok(())
    }

    fn ban(&mut self, entries: &[BanEntry]) -> Result<(), FirewallError> {
        let mut scripts = [String::new(), String::new()];
        let mut rules = self.rules.clone();
        for entry in entries {
            let target = entry.target.canonical()?;
            let script = &mut scripts[Family::of(&target) as usize];
            if let Some(old) = rules.get(&target) {
                script.push_str(&format!("-D {} {}\n", self.chain, self.rule(&target, *old)));
            }
            let end = end_of(entry.timeout);
            script.push_str(&format!("-A {} {}\n", self.chain, self.rule(&target, end)));
            rules.insert(target, end);
        }
        for (family, script) in Family::BOTH.into_iter().zip(&scripts) {
            xtables::restore(family, script)?;
        }
        self.rules = rules;
        self.liveness.banned(entries.iter().map(|e| e.timeout));
        Ok(())
    }

    fn unban(&mut self, targets: &[Target]) -> Result<(), FirewallError> {
        let mut scripts = [String::new(), String::new()];
        let mut removed = [0usize; 2];
        let mut rules = self.rules.clone();
        for target in targets {
            let target = target.canonical()?;
            let family = Family::of(&target) as usize;
            if let Some(end) = rules.remove(&target) {
                scripts[family].push_str(&format!(
                    "-D {} {}\n",
                    self.chain,
                    self.rule(&target, end)
                ));
                removed[family] += 1;
            }
        }
        let old = std::mem::replace(&mut self.rules, rules);
        for (i, family) in Family::BOTH.into_iter().enumerate() {
            let result = if removed[i] >= REWRITE_FROM {
                self.rewrite(family)
            } else {
                xtables::restore(family, &scripts[i])
            };
            if let Err(err) = result {
                self.rules = old;
                return Err(err);
            }
        }
        Ok(())
    }

    fn list(&mut self) -> Result<Vec<BanEntry>, FirewallError> {
        if !self.read_all()? {
            return Err(FirewallError::NotSetUp {
                backend: "iptables",
                action: format!("listing chain {}", self.chain),
            });
        }
        let now = now();
        let mut bans: Vec<BanEntry> = self
            .rules
            .iter()
            .filter(|(_, end)| end.is_none_or(|e| e > now))
            .map(|(&target, end)| BanEntry::new(target, end.map(|e| Duration::from_secs(e - now))))
            .collect();
        bans.sort_by_key(|e| e.target);
        Ok(bans)
    }

    fn flush(&mut self) -> Result<(), FirewallError> {
        for family in Family::BOTH {
            xtables::restore(family, &format!("-F {}\n", self.chain))?;
        }
        self.rules.clear();
        self.liveness.cleared();
        Ok(())
    }

    fn teardown(&mut self) -> Result<(), FirewallError> {
        for family in Family::BOTH {
            for hook in [Hook::Input, Hook::Forward] {
                xtables::remove_rule(
                    family,
                    xtables::builtin_chain(hook),
                    &format!("-j {}", self.chain),
                )?;
            }
            for chain in [&self.chain, &self.log_chain] {
                if xtables::output(family, &["-S", chain]).is_ok() {
                    xtables::restore(family, &format!("-F {chain}\n-X {chain}\n"))?;
                }
            }
        }
        self.rules.clear();
        self.liveness.cleared();
        Ok(())
    }

    /// `iptables -S` of our chain per family, and `-C` of the jumps: our
    /// chain gone or holding fewer rules than we wrote means bans lost
    /// (`iptables -F`, `iptables -F bantam`).
    fn verify(&mut self) -> Result<Repair, FirewallError> {
        let expected = self.rules.clone();
        let rebuilt = self.ensure_structure()?;
        let intact = self.read_all()? && expected.keys().all(|t| self.rules.contains_key(t));
        if !intact {
            self.liveness.cleared();
            return Ok(Repair::BansLost);
        }
        Ok(if rebuilt {
            Repair::Rebuilt
        } else {
            Repair::Intact
        })
    }

    fn watcher(&mut self) -> Option<Box<dyn Watcher>> {
        self.watcher.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_read_back_from_iptables_s() {
        let text = "-N bantam\n\
                    -A bantam -s 192.0.2.7/32 -m comment --comment \"until=1767225600\" -j DROP\n\
                    -A bantam -s 203.0.113.0/24 -m comment --comment until=never -j bantam-log\n\
                    -A bantam -s 198.51.100.1/32 -j ACCEPT\n\
                    -A other -s 192.0.2.8/32 -j DROP\n";
        let rules = parse_rules(text, "bantam");
        assert_eq!(rules.len(), 3);
        assert_eq!(rules[&"192.0.2.7".parse().unwrap()], Some(1_767_225_600));
        assert_eq!(rules[&"203.0.113.0/24".parse().unwrap()], None);
    }
}
