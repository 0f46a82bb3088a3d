//! `[daemon]` keys → the firewall's `BackendConfig` (hooks, NFLOG). The
//! config crate checks names; the firewall crate checks what only it
//! knows (NFLOG rate syntax, prefix length), and its error names the key.

use anyhow::Context;
use bantam_config::DaemonSettings;
use bantam_firewall::{BackendConfig, Hook, Nflog};

pub(crate) fn from_settings(daemon: &DaemonSettings) -> anyhow::Result<BackendConfig> {
    let hooks = daemon
        .hooks
        .iter()
        .map(|h| Hook::parse(h))
        .collect::<Result<Vec<_>, _>>()
        .context("[daemon] hooks")?;
    let nflog = match &daemon.nflog {
        None => None,
        Some(n) => Some(Nflog::new(n.group, &n.prefix, &n.rate).context("[daemon] nflog")?),
    };
    Ok(BackendConfig {
        hooks,
        nflog,
        ..BackendConfig::default()
    })
}
