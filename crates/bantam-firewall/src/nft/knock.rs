//! Knocks: when each banned source last sent a packet, kept by the kernel
//! for `extend-while-knocking` ("a banned address stays banned until it has
//! been silent for its ban time").
//!
//! **Why not in the ban sets.** The obvious rule, `ip saddr @addr4 update
//! @addr4 { ip saddr }`, cannot keep per-element ban times: on Linux 6.18
//! an update without a timeout expires the element at once, and one with a
//! timeout gives every element that same timeout. So the ban sets stay as
//! they are, and two more sets record the packets:
//!
//! ```text
//! set knock4 { type ipv4_addr; size 1048576; flags dynamic,timeout; }
//! chain input {
//!     ip saddr @addr4 update @knock4 { ip saddr timeout 400d }
//!     ip saddr @addr4 counter drop
//!     ...
//! ```
//!
//! Every dropped packet refreshes its source's element to the same fixed
//! [`HORIZON`], so the time an element has left tells when its source last
//! knocked: `ago = timeout - expires`. The kernel does this per packet
//! (one hash lookup and a store of the expiry); nothing wakes the daemon.
//! The daemon asks only when a ban ends ([`last_knocks`]): a source that
//! knocked since its ban started gets a new ban from its last knock; the
//! others are released on time.
//!
//! Only banned sources get an element (the update sits behind the ban
//! set's lookup), so an attacker cannot fill the set without being banned
//! first; [`CAPACITY`] bounds it anyway, and a full set only stops new
//! knocks being recorded (their bans end on time): the update is a rule of
//! its own, so its failure never skips the drop (see `nft::chain`).
//! Elements leave with their ban: the backend deletes them at unban. Bans
//! the kernel lifts by itself (the daemon stopped) leave theirs until the
//! horizon, harmless: a knock counts only if it came after the ban it
//! would extend started.
//!
//! Networks (`net4`, `net6`) record their sources one by one, so a
//! network's last knock is the newest of the addresses inside it, read
//! with a dump of the knock set (prefix bans are few).

use std::net::IpAddr;
use std::time::Duration;

use super::abi::*;
use super::chain::expr;
use super::element::{self, Element, Listed, Op};
use super::set::SetKind;
use crate::error::FirewallError;
use crate::netlink::attr::PutAttr;
use crate::netlink::socket::Socket;
use crate::nftables::ElementUpdates;
use crate::target::Target;

/// How long a knock is remembered. Longer than any ban a jail is likely
/// to give: a ban longer than this is extended only by the knocks of its
/// last 400 days. The cost of a long horizon is nil (one expiry per
/// element); elements leave with their bans, not by timing out.
pub(crate) const HORIZON: Duration = Duration::from_secs(400 * 86_400);

/// Elements a knock set holds at most (`size`).
pub(crate) const CAPACITY: u32 = 1 << 20;

/// The rule's `update @knock4 { ip saddr timeout 400d }`, after
/// `source_in`: the source address is still in register 1.
pub(crate) fn record(buf: &mut Vec<u8>, kind: SetKind) {
    expr(buf, "dynset", |buf| {
        buf.put_str(NFTA_DYNSET_SET_NAME, kind.knock().name());
        buf.put_be32(NFTA_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
        buf.put_be32(NFTA_DYNSET_SREG_KEY, NFT_REG_1);
        buf.put_be64(NFTA_DYNSET_TIMEOUT, HORIZON.as_millis() as u64);
    });
}

/// How long ago an element's source last knocked: it was refreshed to
/// its timeout then, and has run down since.
fn ago(listed: &Listed) -> Option<Duration> {
    let timeout = listed.timeout?;
    Some(timeout.saturating_sub(listed.remaining.unwrap_or(timeout)))
}

/// For each of `targets`, how long ago its source (a network: the newest
/// of its addresses) last sent a packet while banned; `None`: not
/// remembered.
pub(crate) fn last_knocks(
    socket: &mut Socket,
    table: &str,
    targets: &[Target],
) -> Result<Vec<Option<Duration>>, FirewallError> {
    let canonical: Vec<Target> = targets
        .iter()
        .map(|t| t.canonical())
        .collect::<Result<_, _>>()?;
    let keys: Vec<(SetKind, IpAddr)> = canonical
        .iter()
        .filter_map(|t| match t {
            Target::Addr(addr) => Some((knock_set(*addr), *addr)),
            Target::Net { .. } => None,
        })
        .collect();
    let mut found = element::lookup(socket, table, &keys)?.into_iter();
    let knocked = knocked_in_networks(socket, table, &canonical)?;
    Ok(canonical
        .iter()
        .map(|t| match t {
            Target::Addr(_) => found.next().flatten().as_ref().and_then(ago),
            Target::Net { .. } => knocked
                .iter()
                .filter(|(addr, _)| t.contains(&Target::Addr(*addr)))
                .map(|&(_, ago)| ago)
                .min(),
        })
        .collect())
}

fn knock_set(addr: IpAddr) -> SetKind {
    match addr {
        IpAddr::V4(_) => SetKind::Knock4,
        IpAddr::V6(_) => SetKind::Knock6,
    }
}

/// Every knocked address of the families `targets`' networks are in
/// (nothing is read when there is no network).
fn knocked_in_networks(
    socket: &mut Socket,
    table: &str,
    targets: &[Target],
) -> Result<Vec<(IpAddr, Duration)>, FirewallError> {
    let mut knocked = Vec::new();
    for kind in SetKind::KNOCK {
        let wanted = targets
            .iter()
            .any(|t| matches!(t, Target::Net { .. }) && t.is_ipv4() == kind.is_ipv4());
        if wanted {
            let listed = element::list(socket, table, kind)?;
            knocked.extend(listed.iter().filter_map(|l| Some((l.key, ago(l)?))));
        }
    }
    Ok(knocked)
}

/// The knock elements of `targets` to delete with their bans, as changes
/// for the unban's batch: an address's own element, the knocked addresses
/// inside a network. Where the kernel cannot delete an absent element
/// (before 6.12 we do not rely on DESTROY), present ones are read first.
pub(crate) fn forget(
    socket: &mut Socket,
    table: &str,
    targets: &[Target],
    updates: ElementUpdates,
) -> Result<Vec<(SetKind, Op, Vec<Element>)>, FirewallError> {
    let mut changes = Vec::new();
    for kind in SetKind::KNOCK {
        let family = |t: &&Target| t.is_ipv4() == kind.is_ipv4();
        let addrs: Vec<IpAddr> = targets
            .iter()
            .filter(family)
            .filter(|t| matches!(t, Target::Addr(_)))
            .map(Target::addr)
            .collect();
        let nets: Vec<&Target> = targets
            .iter()
            .filter(family)
            .filter(|t| matches!(t, Target::Net { .. }))
            .collect();
        let (op, mut doomed) = match updates {
            ElementUpdates::InKernel => (Op::Destroy, addrs),
            ElementUpdates::ReadFirst => {
                let keys: Vec<(SetKind, IpAddr)> = addrs.iter().map(|&a| (kind, a)).collect();
                let present = element::lookup(socket, table, &keys)?;
                let kept = addrs.into_iter().zip(present);
                (
                    Op::Delete,
                    kept.filter(|(_, p)| p.is_some()).map(|(a, _)| a).collect(),
                )
            }
        };
        if !nets.is_empty() {
            let inside = element::list(socket, table, kind)?
                .into_iter()
                .map(|l| l.key);
            let inside = inside.filter(|&a| nets.iter().any(|n| n.contains(&Target::Addr(a))));
            // Read just now: present, whichever operation deletes them.
            let inside: Vec<IpAddr> = inside.filter(|a| !doomed.contains(a)).collect();
            doomed.extend(inside);
        }
        if !doomed.is_empty() {
            let elements = doomed
                .into_iter()
                .map(|key| Element::hashed(Target::Addr(key), None))
                .collect();
            changes.push((kind, op, elements));
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_knock_is_as_old_as_its_element_has_run_down() {
        let listed = |remaining: u64| Listed {
            key: "192.0.2.1".parse().unwrap(),
            interval_end: false,
            remaining: Some(HORIZON - Duration::from_millis(remaining)),
            timeout: Some(HORIZON),
        };
        assert_eq!(ago(&listed(1500)), Some(Duration::from_millis(1500)));
        assert_eq!(ago(&listed(0)), Some(Duration::ZERO));
        let permanent = Listed {
            timeout: None,
            remaining: None,
            ..listed(0)
        };
        assert_eq!(ago(&permanent), None);
    }
}
