//! Backends by name: the one place that knows which backends exist, so that
//! a new backend is a file of this crate and a line here, and the daemon
//! and the CLI never change for it.

use crate::backend::Backend;
use crate::config::BackendConfig;
use crate::dry_run::DryRun;
use crate::error::FirewallError;
use crate::hosts_deny::HostsDeny;
use crate::ipset::Ipset;
use crate::iptables::Iptables;
use crate::nftables::Nftables;
use crate::route::Route;

/// The names [`open`] knows, for messages and documentation.
pub const BACKENDS: &[&str] = &[
    "nftables",
    "ipset",
    "iptables",
    "route",
    "hosts-deny",
    "dry-run",
];

/// Opens the backend called `name` with the default configuration.
/// Nothing in the firewall changes until [`Backend::setup`].
pub fn open(name: &str) -> Result<Box<dyn Backend>, FirewallError> {
    open_config(name, &BackendConfig::default())
}

/// Opens the backend called `name` configured by `config`; a backend
/// refuses the options it cannot honour.
pub fn open_config(name: &str, config: &BackendConfig) -> Result<Box<dyn Backend>, FirewallError> {
    let refuse = |what: &str| {
        Err(FirewallError::Unsupported(format!(
            "backend {name} cannot {what} (nftables, ipset and iptables can)"
        )))
    };
    let filters = matches!(name, "nftables" | "ipset" | "iptables" | "dry-run");
    if !filters && config.nflog.is_some() {
        return refuse("log to NFLOG");
    }
    if !filters && config.hooked(crate::config::Hook::Forward) {
        return refuse("hook forward");
    }
    match name {
        "nftables" => Ok(Box::new(Nftables::open_config(config)?)),
        "ipset" => Ok(Box::new(Ipset::open(config)?)),
        "iptables" => Ok(Box::new(Iptables::open(config)?)),
        "route" => Ok(Box::new(Route::open(config)?)),
        "hosts-deny" => Ok(Box::new(HostsDeny::open(config))),
        "dry-run" => Ok(Box::new(DryRun::new())),
        other => Err(FirewallError::Unsupported(format!(
            "unknown backend {other:?} (known: {})",
            BACKENDS.join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_name_is_known_and_others_are_named_in_the_error() {
        assert_eq!(open("dry-run").unwrap().name(), "dry-run");
        let err = open("pf").err().unwrap().to_string();
        assert!(
            err.contains("\"pf\"") && err.contains("nftables, ipset, iptables"),
            "{err}"
        );
    }

    #[test]
    fn options_a_backend_cannot_honour_are_refused() {
        let config = BackendConfig {
            nflog: Some(crate::config::Nflog::new(5, "x", "1/second").unwrap()),
            ..BackendConfig::default()
        };
        let err = open_config("route", &config).err().unwrap().to_string();
        assert!(err.contains("cannot log to NFLOG"), "{err}");
    }
}
