//! [`Backends`]: the firewall backends in use, one per kind, each opened
//! once.
//!
//! A jail's bans go to the backend its `banaction` names, or to the
//! daemon's `backend` (the default kind). Every backend is opened with the
//! same [`BackendConfig`] (hooks, NFLOG: `[daemon]` keys, fixed until a
//! restart), so two jails on one kind share its objects: one nftables set,
//! one ipset set per family. Which kind a ban is in, and when a target
//! may leave a backend, is the daemon's business (`routing.rs`); this
//! type only holds the backends and sends each call to one of them, one
//! atomic batch per call, as [`Backend`] promises.

use std::collections::BTreeMap;

use bantam_config::BackendKind;
use bantam_firewall::{Backend, BackendConfig, BanEntry, FirewallError, Repair, Target, Watcher};

use crate::error::DaemonError;
use crate::jail::Jail;
use crate::log;

/// Backends opened and not yet held, each with its kind.
pub type Opened = Vec<(BackendKind, Box<dyn Backend>)>;

pub struct Backends {
    default: BackendKind,
    config: BackendConfig,
    open: BTreeMap<BackendKind, Box<dyn Backend>>,
}

impl Backends {
    /// Backends opened by the caller (`bantam run` opens each kind the
    /// configuration names, so that an error names the kind), with the
    /// configuration later ones are opened with (a reload that names a
    /// new kind), and the kind of jails without `banaction`.
    pub fn new(default: BackendKind, config: BackendConfig, opened: Opened) -> Backends {
        Backends {
            default,
            config,
            open: opened.into_iter().collect(),
        }
    }

    /// One backend, the default: tests and embedders.
    pub fn single(kind: BackendKind, backend: Box<dyn Backend>) -> Backends {
        Backends::new(kind, BackendConfig::default(), vec![(kind, backend)])
    }

    /// Opens every kind of `kinds` with `config` (nothing changes in the
    /// firewall until setup). The error names the kind that failed.
    pub fn open(
        default: BackendKind,
        kinds: impl IntoIterator<Item = BackendKind>,
        config: BackendConfig,
    ) -> Result<Backends, (BackendKind, FirewallError)> {
        let mut backends = Backends::new(default, config, Vec::new());
        for kind in kinds {
            if !backends.contains(kind) {
                let backend = backends.opened(kind).map_err(|e| (kind, e))?;
                backends.insert(kind, backend);
            }
        }
        Ok(backends)
    }

    /// The kind of jails that name none, and of bans whose jail is gone.
    pub fn default_kind(&self) -> BackendKind {
        self.default
    }

    pub fn kinds(&self) -> Vec<BackendKind> {
        self.open.keys().copied().collect()
    }

    pub fn contains(&self, kind: BackendKind) -> bool {
        self.open.contains_key(&kind)
    }

    /// The backend of `kind`, if open.
    pub fn get_mut(&mut self, kind: BackendKind) -> Option<&mut Box<dyn Backend>> {
        self.open.get_mut(&kind)
    }

    /// "nftables, ipset": for logs and `status`.
    pub fn names(&self) -> String {
        let mut names = vec![self.default.name()];
        names.extend(
            self.open
                .keys()
                .filter(|&&k| k != self.default)
                .map(|k| k.name()),
        );
        names.join(", ")
    }

    /// A new backend of `kind`, opened with the daemon's configuration but
    /// not yet set up or held.
    pub(crate) fn opened(&self, kind: BackendKind) -> Result<Box<dyn Backend>, FirewallError> {
        bantam_firewall::open_config(kind.name(), &self.config)
    }

    pub(crate) fn insert(&mut self, kind: BackendKind, backend: Box<dyn Backend>) {
        self.open.insert(kind, backend);
    }

    /// Sets up every backend (idempotent; bans in place are kept).
    pub(crate) fn setup_all(&mut self) -> Result<(), FirewallError> {
        for backend in self.open.values_mut() {
            backend.setup()?;
        }
        Ok(())
    }

    fn backend(&mut self, kind: BackendKind) -> Result<&mut Box<dyn Backend>, FirewallError> {
        self.open.get_mut(&kind).ok_or_else(|| {
            FirewallError::Unsupported(format!("backend {} is not open", kind.name()))
        })
    }

    /// Bans `entries` in `kind`, one batch; nothing to send is no call.
    pub(crate) fn ban(
        &mut self,
        kind: BackendKind,
        entries: &[BanEntry],
    ) -> Result<(), FirewallError> {
        if entries.is_empty() {
            return Ok(());
        }
        self.backend(kind)?.ban(entries)
    }

    /// Whether `kind` holds no ban (a cheap look where listing is not).
    pub(crate) fn holds_nothing(&mut self, kind: BackendKind) -> Result<bool, FirewallError> {
        self.backend(kind)?.holds_nothing()
    }

    /// Makes `kind` hold exactly `entries`, without a moment where a ban
    /// in both is missing.
    pub(crate) fn replace(
        &mut self,
        kind: BackendKind,
        entries: &[BanEntry],
    ) -> Result<(), FirewallError> {
        self.backend(kind)?.replace(entries)
    }

    /// Lifts `targets` in `kind`, one batch; nothing to send is no call.
    pub(crate) fn unban(
        &mut self,
        kind: BackendKind,
        targets: &[Target],
    ) -> Result<(), FirewallError> {
        if targets.is_empty() {
            return Ok(());
        }
        self.backend(kind)?.unban(targets)
    }

    /// Lifts `targets` in every backend (a batch each): `bantam unban
    /// ADDR` frees the address whoever banned it. Every backend is tried;
    /// the first error is returned.
    pub(crate) fn unban_everywhere(&mut self, targets: &[Target]) -> Result<(), FirewallError> {
        let mut first = Ok(());
        for kind in self.kinds() {
            let result = self.unban(kind, targets);
            first = first.and(result);
        }
        first
    }

    /// Flushes every backend (`bantam unban --all`); the first error.
    pub(crate) fn flush_all(&mut self) -> Result<(), FirewallError> {
        let mut first = Ok(());
        for backend in self.open.values_mut() {
            first = first.and(backend.flush());
        }
        first
    }

    pub(crate) fn list(&mut self, kind: BackendKind) -> Result<Vec<BanEntry>, FirewallError> {
        self.backend(kind)?.list()
    }

    pub(crate) fn verify(&mut self, kind: BackendKind) -> Result<Repair, FirewallError> {
        self.backend(kind)?.verify()
    }

    pub(crate) fn watcher(&mut self, kind: BackendKind) -> Option<Box<dyn Watcher>> {
        self.open.get_mut(&kind)?.watcher()
    }
}

impl crate::daemon::Daemon {
    /// Opens the kinds the jails name that the caller did not (an
    /// embedder that passed only the default): at start, before setup.
    pub(crate) fn open_missing_backends(&mut self) -> Result<(), DaemonError> {
        let missing: Vec<BackendKind> = self
            .jails
            .iter()
            .filter_map(|j| j.backend)
            .filter(|&kind| !self.backends.contains(kind))
            .collect();
        for kind in missing {
            let backend = self
                .backends
                .opened(kind)
                .map_err(|e| cannot_open(kind, e))?;
            self.backends.insert(kind, backend);
        }
        Ok(())
    }

    /// The backends `jails` (a reload's) name that are not open yet,
    /// opened and set up, not yet held: a reload fails on one that cannot
    /// open before anything is swapped.
    pub(crate) fn open_new_backends(&self, jails: &[Jail]) -> Result<Opened, DaemonError> {
        let mut kinds: Vec<BackendKind> = jails
            .iter()
            .filter_map(|j| j.backend)
            .filter(|&kind| !self.backends.contains(kind))
            .collect();
        kinds.sort();
        kinds.dedup();
        let mut opened = Vec::with_capacity(kinds.len());
        for kind in kinds {
            let mut backend = self
                .backends
                .opened(kind)
                .map_err(|e| cannot_open(kind, e))?;
            backend.setup().map_err(|e| cannot_open(kind, e))?;
            log::info(&format!(
                "firewall {}: opened for a jail's banaction",
                kind.name()
            ));
            opened.push((kind, backend));
        }
        Ok(opened)
    }
}

fn cannot_open(kind: BackendKind, e: FirewallError) -> DaemonError {
    DaemonError::Runtime(format!(
        "banaction {}: cannot open the backend: {}",
        kind.name(),
        crate::error::chain(&e)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The config crate names the backends without depending on this
    /// one: every name it accepts must open.
    #[test]
    fn every_kind_the_configuration_accepts_is_a_backend() {
        for kind in BackendKind::ALL {
            assert!(
                bantam_firewall::BACKENDS.contains(&kind.name()),
                "{}",
                kind.name()
            );
        }
        assert_eq!(bantam_firewall::BACKENDS.len(), BackendKind::ALL.len());
    }

    #[test]
    fn calls_go_to_their_kind_and_empty_batches_are_no_calls() {
        let dry = || -> Box<dyn Backend> { Box::new(bantam_firewall::DryRun::new()) };
        let mut b = Backends::new(
            BackendKind::Nftables,
            BackendConfig::default(),
            vec![(BackendKind::Nftables, dry()), (BackendKind::Ipset, dry())],
        );
        assert_eq!(b.names(), "nftables, ipset");
        // Not set up: a call that reaches a backend fails, an empty one
        // never reaches it.
        assert!(b.ban(BackendKind::Ipset, &[]).is_ok());
        let t: Target = "192.0.2.1".parse().unwrap();
        assert!(b
            .ban(BackendKind::Ipset, &[BanEntry::permanent(t)])
            .is_err());
        b.setup_all().unwrap();
        b.ban(BackendKind::Ipset, &[BanEntry::permanent(t)])
            .unwrap();
        assert_eq!(b.list(BackendKind::Ipset).unwrap().len(), 1);
        assert!(b.list(BackendKind::Nftables).unwrap().is_empty());
        let err = b.list(BackendKind::Route).unwrap_err().to_string();
        assert!(err.contains("route is not open"), "{err}");
        b.unban_everywhere(&[t]).unwrap();
        assert!(b.list(BackendKind::Ipset).unwrap().is_empty());
    }
}
