//! Upgrading a table made before `net24` and `net64` existed: its /24s and
//! /64s sit in the interval sets `net4` and `net6`.
//!
//! Left there they would still drop their packets, but an unban goes to the
//! set a target belongs in now (see `nft::set`) and would miss them: an
//! attacker would stay banned past the end the daemon decided. So at setup
//! they are moved, with the time they have left, in one batch (deleted from
//! the interval set and added to the hash set in the same transaction: no
//! moment without the ban). Interval sets hold few networks once the common
//! sizes live elsewhere, so reading them at every setup is cheap; a table
//! with none to move is left as it is.

use super::element::{self, Element, Op};
use super::interval;
use super::set::SetKind;
use crate::error::FirewallError;
use crate::netlink::batch::Batch;
use crate::netlink::socket::Socket;
use crate::target::BanEntry;

/// Moves every /24 of `net4` to `net24` and every /64 of `net6` to `net64`.
/// Returns how many networks moved.
pub(crate) fn move_fixed_prefixes(
    socket: &mut Socket,
    table: &str,
) -> Result<usize, FirewallError> {
    let mut moves: Vec<(SetKind, Vec<BanEntry>)> = Vec::new();
    for kind in [SetKind::Net4, SetKind::Net6] {
        let networks = interval::networks(element::list(socket, table, kind)?);
        let misplaced: Vec<BanEntry> = networks
            .into_iter()
            .filter(|e| SetKind::for_target(&e.target) != kind)
            .collect();
        if !misplaced.is_empty() {
            moves.push((kind, misplaced));
        }
    }
    if moves.is_empty() {
        return Ok(0);
    }
    // After the reads, which use sequence numbers of their own.
    let mut batch = Batch::new(socket.seq());
    let mut moved = 0;
    for (kind, networks) in &moves {
        let old: Vec<Element> = networks
            .iter()
            .flat_map(|e| interval::elements(e.target, None))
            .collect();
        element::write(&mut batch, table, *kind, Op::Delete, &old);
        let new: Vec<Element> = networks
            .iter()
            .map(|e| Element::hashed(e.target, e.timeout))
            .collect();
        let hash_set = SetKind::for_target(&networks[0].target);
        element::write(&mut batch, table, hash_set, Op::Add, &new);
        moved += networks.len();
    }
    batch.send(socket)?;
    Ok(moved)
}
