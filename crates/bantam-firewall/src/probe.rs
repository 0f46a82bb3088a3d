//! "Could this backend ban right now?", asked without changing anything:
//! for `bantam check`, before a reload or a first start.
//!
//! nftables: the netlink socket is opened and one of our sets read. The
//! kernel checks CAP_NET_ADMIN on every nfnetlink request, reads included,
//! so a refused read means a refused ban; a table that does not exist yet
//! is fine (setup creates it).

use crate::error::FirewallError;
use crate::nftables::Nftables;

/// What was found when the backend `name` can work (a line for people),
/// or why it cannot.
pub fn probe(name: &str) -> Result<String, FirewallError> {
    match name {
        "nftables" => {
            let mut nft = Nftables::open(Nftables::DEFAULT_TABLE)?;
            match nft.read_addr4() {
                Ok(()) => Ok("nftables: table inet bantam present and readable".into()),
                Err(FirewallError::Kernel { errno, .. }) if errno == libc::ENOENT => {
                    Ok("nftables: usable (table inet bantam is created at start)".into())
                }
                Err(e) => Err(e),
            }
        }
        // Unknown names get open's message, which lists the known ones.
        other => crate::open(other).map(|b| format!("{}: nothing to check", b.name())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dry_run_always_works_and_unknown_names_are_refused() {
        assert!(probe("dry-run").is_ok());
        assert!(probe("ipfw")
            .unwrap_err()
            .to_string()
            .contains("unknown backend"));
    }

    /// Needs root, like the crate's other kernel tests: the real kernel
    /// answers, and nothing changes.
    #[test]
    fn nftables_as_root_is_usable() {
        let said = probe("nftables").unwrap();
        assert!(said.starts_with("nftables: "), "{said}");
    }
}
