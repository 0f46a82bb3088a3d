//! [`NftEvents`]: waits for nf_tables to announce that a table, chain,
//! rule or set was deleted — an admin's `nft flush ruleset`, `nft delete
//! table`, or `iptables -F` with iptables-nft, which is nf_tables too.
//!
//! The kernel sends every committed change to the NFNLGRP_NFTABLES group;
//! a socket that joined it blocks in `recv` until one arrives, so an idle
//! daemon is never woken. Element changes (our own bans and unbans, and
//! the kernel's timeouts, which send nothing) are ignored: only deletions
//! of structure can lose our bans or rules. When events are lost (the
//! socket's buffer overran during someone's large change) we answer "may
//! have changed": a verify is cheap and a missed repair is not.

use super::abi::*;
use crate::backend::Watcher;
use crate::error::FirewallError;
use crate::netlink::message::{self, NFNL_SUBSYS_NFTABLES};
use crate::netlink::socket::Socket;

pub(crate) struct NftEvents {
    socket: Socket,
    /// Only deletions in tables of this name count (ours, or iptables'
    /// `filter`).
    table: String,
}

impl NftEvents {
    /// Subscribes in the calling thread's network namespace.
    pub fn open(table: &str) -> Result<NftEvents, FirewallError> {
        let io = |source| FirewallError::Io {
            action: "subscribing to nf_tables events".to_string(),
            source,
        };
        let mut socket = Socket::open().map_err(io)?;
        socket.subscribe(NFNLGRP_NFTABLES).map_err(io)?;
        Ok(NftEvents {
            socket,
            table: table.to_string(),
        })
    }
}

fn concerns(table: &str, data: &[u8]) -> bool {
    message::messages(data).any(|msg| {
        let deletion = matches!(
            msg.ty & 0xff,
            NFT_MSG_DELTABLE | NFT_MSG_DELCHAIN | NFT_MSG_DELRULE | NFT_MSG_DELSET
        );
        // Attribute 1 names the table in all four messages.
        deletion
            && msg.ty >> 8 == NFNL_SUBSYS_NFTABLES
            && msg.nf_attrs().get(1).and_then(|a| a.str()) == Some(table)
    })
}

impl Watcher for NftEvents {
    fn wait(&mut self) -> Result<(), FirewallError> {
        loop {
            match self.socket.recv(true) {
                Ok(Some(data)) if concerns(&self.table, data) => return Ok(()),
                Ok(_) => {}
                Err(err) if err.raw_os_error() == Some(libc::ENOBUFS) => return Ok(()),
                Err(source) => {
                    return Err(FirewallError::Io {
                        action: "reading nf_tables events".to_string(),
                        source,
                    })
                }
            }
        }
    }
}
