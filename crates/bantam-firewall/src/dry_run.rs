//! [`DryRun`]: a backend that changes nothing outside the process.
//!
//! `bantam run --dry-run` uses it to show what would be banned. It keeps the
//! bans in memory with their deadlines and reports them through
//! [`Backend::list`] like the kernel would (expired bans disappear by
//! themselves), so the daemon's code paths are the same as with a real
//! firewall. It logs nothing: presenting what happened is the caller's job.
//!
//! It mirrors the nftables backend's contract where the daemon could observe
//! a difference: targets are normalised the same way, using it before
//! [`setup`](Backend::setup) is an error, and teardown forgets everything. It
//! does not merge networks (a `/24` inside a banned `/16` is listed on its own).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::backend::Backend;
use crate::error::FirewallError;
use crate::target::{BanEntry, Target};

#[derive(Debug, Default)]
pub struct DryRun {
    set_up: bool,
    /// Target → deadline (`None`: permanent).
    bans: BTreeMap<Target, Option<Instant>>,
}

impl DryRun {
    pub fn new() -> Self {
        DryRun::default()
    }

    fn check_set_up(&self, action: &str) -> Result<(), FirewallError> {
        if self.set_up {
            Ok(())
        } else {
            Err(FirewallError::NotSetUp {
                backend: "dry-run",
                action: action.to_string(),
            })
        }
    }

    fn forget_expired(&mut self, now: Instant) {
        self.bans
            .retain(|_, deadline| deadline.is_none_or(|deadline| deadline > now));
    }
}

impl Backend for DryRun {
    fn name(&self) -> &'static str {
        "dry-run"
    }

    fn setup(&mut self) -> Result<(), FirewallError> {
        self.set_up = true;
        Ok(())
    }

    fn ban(&mut self, entries: &[BanEntry]) -> Result<(), FirewallError> {
        self.check_set_up(&format!("banning {} targets", entries.len()))?;
        // Validate everything first: a batch is all-or-nothing.
        let canonical = entries
            .iter()
            .map(|entry| Ok((entry.target.canonical()?, entry.timeout)))
            .collect::<Result<Vec<_>, FirewallError>>()?;
        let now = Instant::now();
        for (target, timeout) in canonical {
            let deadline = timeout.map(|timeout| now + timeout.max(Duration::from_millis(1)));
            self.bans.insert(target, deadline);
        }
        Ok(())
    }

    fn unban(&mut self, targets: &[Target]) -> Result<(), FirewallError> {
        self.check_set_up(&format!("unbanning {} targets", targets.len()))?;
        let canonical = targets
            .iter()
            .map(|target| target.canonical())
            .collect::<Result<Vec<_>, _>>()?;
        for target in canonical {
            self.bans.remove(&target);
        }
        Ok(())
    }

    fn list(&mut self) -> Result<Vec<BanEntry>, FirewallError> {
        self.check_set_up("listing bans")?;
        let now = Instant::now();
        self.forget_expired(now);
        Ok(self
            .bans
            .iter()
            .map(|(target, deadline)| BanEntry {
                target: *target,
                timeout: deadline.map(|deadline| deadline - now),
            })
            .collect())
    }

    fn flush(&mut self) -> Result<(), FirewallError> {
        self.check_set_up("flushing bans")?;
        self.bans.clear();
        Ok(())
    }

    fn teardown(&mut self) -> Result<(), FirewallError> {
        self.bans.clear();
        self.set_up = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> Target {
        text.parse().unwrap()
    }

    #[test]
    fn behaves_like_a_set_with_timeouts() {
        let mut backend: Box<dyn Backend> = Box::new(DryRun::new());
        assert!(backend.ban(&[BanEntry::permanent(t("192.0.2.1"))]).is_err());
        backend.setup().unwrap();
        backend
            .ban(&[
                BanEntry::timed(t("192.0.2.1"), Duration::from_secs(600)),
                BanEntry::permanent(t("2001:db8::1")),
                BanEntry::timed(t("203.0.113.9/24"), Duration::from_millis(1)),
            ])
            .unwrap();
        // Re-ban replaces the timeout.
        backend
            .ban(&[BanEntry::timed(t("192.0.2.1"), Duration::from_secs(60))])
            .unwrap();
        std::thread::sleep(Duration::from_millis(5));
        let listed = backend.list().unwrap();
        assert_eq!(listed.len(), 2, "{listed:?}");
        assert_eq!(listed[0].target, t("192.0.2.1"));
        assert!(listed[0].timeout.unwrap() <= Duration::from_secs(60));
        assert_eq!(listed[1], BanEntry::permanent(t("2001:db8::1")));

        backend.unban(&[t("192.0.2.1"), t("198.51.100.1")]).unwrap();
        assert_eq!(backend.list().unwrap().len(), 1);
        backend.flush().unwrap();
        assert!(backend.list().unwrap().is_empty());
        backend.teardown().unwrap();
        assert!(backend.list().is_err());
    }

    #[test]
    fn a_bad_target_changes_nothing() {
        let mut backend = DryRun::new();
        backend.setup().unwrap();
        let err = backend
            .ban(&[
                BanEntry::permanent(t("192.0.2.1")),
                BanEntry::permanent(Target::net(std::net::Ipv4Addr::LOCALHOST, 33)),
            ])
            .unwrap_err();
        assert!(matches!(err, FirewallError::InvalidTarget { .. }));
        assert!(backend.list().unwrap().is_empty());
    }
}
