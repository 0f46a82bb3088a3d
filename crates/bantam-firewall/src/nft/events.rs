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
//!
//! **Deaf during our own bulk changes.** While anyone listens, the kernel
//! writes a notification for every element a transaction adds, and drops
//! it when the listener's buffer is full: restoring a million bans spent
//! 18% of its time (`perf`: `nf_tables_setelem_notify`) composing messages
//! no one would read, for a listener that ignores elements anyway. So a
//! large batch of ours first leaves the group ([`Ears::deafen`]) and joins
//! again after ([`Ears::hear`]), which also wakes the watcher: whatever an
//! admin deleted meanwhile is found by the verify that follows, as after
//! lost events.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use super::abi::*;
use crate::backend::Watcher;
use crate::error::FirewallError;
use crate::netlink::message::{self, NFNL_SUBSYS_NFTABLES};
use crate::netlink::socket::{set_membership, Bell, Socket};

pub(crate) struct NftEvents {
    socket: Socket,
    /// Only deletions in tables of this name count (ours, or iptables'
    /// `filter`).
    table: String,
    ears: Arc<Ears>,
}

/// The backend's hold on the watcher's membership: the same socket (a
/// duplicate descriptor), and a bell that wakes the watcher.
pub(crate) struct Ears {
    socket: OwnedFd,
    bell: Bell,
    /// Why joining again failed (an errno; 0: it did not): the watcher
    /// would wait for events that no longer come, so its next wait fails
    /// instead, naming the cause.
    rejoin_errno: AtomicI32,
}

impl Ears {
    /// Leaves the events group; `false` when it could not (then nothing
    /// changed and [`Ears::hear`] need not be called).
    pub fn deafen(&self) -> bool {
        set_membership(self.socket.as_fd(), NFNLGRP_NFTABLES, false).is_ok()
    }

    /// Joins the group again and wakes the watcher for a verify.
    pub fn hear(&self) {
        if let Err(e) = set_membership(self.socket.as_fd(), NFNLGRP_NFTABLES, true) {
            let errno = e.raw_os_error().unwrap_or(libc::EIO);
            self.rejoin_errno.store(errno, Ordering::Relaxed);
        }
        self.bell.ring();
    }
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
        let ears = Ears {
            socket: socket.try_clone_fd().map_err(io)?,
            bell: Bell::new().map_err(io)?,
            rejoin_errno: AtomicI32::new(0),
        };
        Ok(NftEvents {
            socket,
            table: table.to_string(),
            ears: Arc::new(ears),
        })
    }

    /// The handle a backend deafens the watcher with (see the module docs).
    pub fn ears(&self) -> Arc<Ears> {
        self.ears.clone()
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
        let io = |action: &str, source| FirewallError::Io {
            action: action.to_string(),
            source,
        };
        loop {
            let rang = self.ears.bell.wait_with(self.ears.socket.as_fd());
            if rang.map_err(|e| io("waiting for nf_tables events", e))? {
                let errno = self.ears.rejoin_errno.load(Ordering::Relaxed);
                if errno != 0 {
                    let lost = std::io::Error::from_raw_os_error(errno);
                    return Err(io("joining the nf_tables events group again", lost));
                }
                return Ok(());
            }
            match self.socket.recv(false) {
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
