//! Backends by name: the one place that knows which backends exist, so that
//! a new backend is a file of this crate and a line here, and the daemon
//! and the CLI never change for it.

use crate::backend::Backend;
use crate::dry_run::DryRun;
use crate::error::FirewallError;
use crate::nftables::Nftables;

/// The names [`open`] knows, for messages and documentation.
pub const BACKENDS: &[&str] = &["nftables", "dry-run"];

/// Opens the backend called `name`. Nothing in the firewall changes until
/// [`Backend::setup`].
pub fn open(name: &str) -> Result<Box<dyn Backend>, FirewallError> {
    match name {
        "nftables" => Ok(Box::new(Nftables::open(Nftables::DEFAULT_TABLE)?)),
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
            err.contains("\"pf\"") && err.contains("nftables, dry-run"),
            "{err}"
        );
    }
}
