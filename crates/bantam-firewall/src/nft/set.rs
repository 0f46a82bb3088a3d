//! bantam's ban sets: which targets go where, and how they are created and
//! emptied.
//!
//! Addresses and networks live in different sets because the kernel stores
//! them differently: an address set is a hash (one lookup, any size), a
//! network set is an interval tree (`flags interval`), where each network is
//! two elements (its first address, and the first address after it marked
//! "interval end"). Keeping single addresses out of the tree keeps them on
//! the fast path and free of interval rules (overlaps).
//!
//! Two network sizes are common enough to get hash sets of their own:
//! IPv6 /64s (with IPv6 counted per /64, the default, every IPv6 attacker
//! is one) and IPv4 /24s (the usual subnet ban). `net64` holds each /64's
//! first address and its rule masks the packet's source before the lookup
//! (`ip6 saddr & ffff:ffff:ffff:ffff:: == @net64`), so a /64 costs what an
//! address costs: one hash insert, where the interval tree's insert grew
//! with its size (a burst of a million /64s took 136 s, most of it in the
//! kernel's tree) and took the overlap checks along. Other prefix lengths
//! stay in the interval sets, where nested networks are merged (see
//! `nft::interval`); across sets they are not: a /64 inside a banned /48
//! is a ban of its own with its own time, which is what the daemon asked
//! for, and both drop the same packets meanwhile.
//! IPv4 and IPv6 are separate sets because a set has one key length.
//!
//! Every set has `flags timeout` and no default timeout: each element carries
//! its own, and an element added without one never expires.
//!
//! With `extend-while-knocking` two more sets, `knock4` and `knock6`, hold
//! when each banned source last sent a packet (see `nft::knock`): they are
//! no ban sets, so [`SetKind::ALL`] and the per-set arrays leave them out.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use super::abi::*;
use super::table::object_name;
use crate::error::FirewallError;
use crate::netlink::attr::PutAttr;
use crate::netlink::batch::Batch;
use crate::netlink::message::NLM_F_CREATE;
use crate::target::{BanEntry, Target};

/// How many ban sets there are ([`SetKind::ALL`]).
pub(crate) const BAN_SETS: usize = 6;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum SetKind {
    Addr4,
    Addr6,
    Net4,
    Net6,
    Net24,
    Net64,
    Knock4,
    Knock6,
}

impl SetKind {
    /// The ban sets; [`SetKind::index`] numbers these only.
    pub const ALL: [SetKind; BAN_SETS] = [
        SetKind::Addr4,
        SetKind::Addr6,
        SetKind::Net4,
        SetKind::Net6,
        SetKind::Net24,
        SetKind::Net64,
    ];
    /// The knock sets (`extend-while-knocking`).
    pub const KNOCK: [SetKind; 2] = [SetKind::Knock4, SetKind::Knock6];

    /// The set's name in our table (`nft list set inet bantam addr4`).
    pub fn name(self) -> &'static str {
        match self {
            SetKind::Addr4 => "addr4",
            SetKind::Addr6 => "addr6",
            SetKind::Net4 => "net4",
            SetKind::Net6 => "net6",
            SetKind::Net24 => "net24",
            SetKind::Net64 => "net64",
            SetKind::Knock4 => "knock4",
            SetKind::Knock6 => "knock6",
        }
    }

    /// The knock set that records the sources this set drops.
    pub fn knock(self) -> SetKind {
        if self.is_ipv4() {
            SetKind::Knock4
        } else {
            SetKind::Knock6
        }
    }

    /// The set a canonical target belongs in.
    pub fn for_target(target: &Target) -> SetKind {
        match (target, target.is_ipv4()) {
            (Target::Addr(_), true) => SetKind::Addr4,
            (Target::Addr(_), false) => SetKind::Addr6,
            (Target::Net { prefix: 24, .. }, true) => SetKind::Net24,
            (Target::Net { prefix: 64, .. }, false) => SetKind::Net64,
            (Target::Net { .. }, true) => SetKind::Net4,
            (Target::Net { .. }, false) => SetKind::Net6,
        }
    }

    /// The prefix length of every network in a hash set of networks
    /// (`net24`, `net64`); `None` for the others.
    pub fn fixed_prefix(self) -> Option<u8> {
        match self {
            SetKind::Net24 => Some(24),
            SetKind::Net64 => Some(64),
            _ => None,
        }
    }

    /// What an element of this set (not an interval set) bans.
    pub fn target_of(self, key: IpAddr) -> Target {
        match self.fixed_prefix() {
            Some(prefix) => Target::Net { addr: key, prefix },
            None => Target::Addr(key),
        }
    }

    /// Index into per-set arrays, in [`SetKind::ALL`] order (ban sets only).
    pub fn index(self) -> usize {
        debug_assert!(!self.is_knock(), "knock sets have no per-set arrays");
        self as usize
    }

    pub fn is_knock(self) -> bool {
        matches!(self, SetKind::Knock4 | SetKind::Knock6)
    }

    pub fn is_interval(self) -> bool {
        matches!(self, SetKind::Net4 | SetKind::Net6)
    }

    pub fn is_ipv4(self) -> bool {
        matches!(
            self,
            SetKind::Addr4 | SetKind::Net4 | SetKind::Net24 | SetKind::Knock4
        )
    }

    /// Key length in bytes: an address in network byte order.
    pub fn key_len(self) -> u32 {
        if self.is_ipv4() {
            4
        } else {
            16
        }
    }

    /// The `NFPROTO_*` of packets this set can match.
    pub fn nfproto(self) -> u8 {
        if self.is_ipv4() {
            NFPROTO_IPV4
        } else {
            NFPROTO_IPV6
        }
    }

    /// Where the source address sits in the network header.
    pub fn saddr_offset(self) -> u32 {
        if self.is_ipv4() {
            12
        } else {
            8
        }
    }

    fn flags(self) -> u32 {
        if self.is_interval() {
            NFT_SET_INTERVAL | NFT_SET_TIMEOUT
        } else if self.is_knock() {
            // Written by the rules themselves (`update @knock4`).
            NFT_SET_EVAL | NFT_SET_TIMEOUT
        } else {
            NFT_SET_TIMEOUT
        }
    }

    fn key_type(self) -> u32 {
        if self.is_ipv4() {
            TYPE_IPADDR
        } else {
            TYPE_IP6ADDR
        }
    }
}

/// How often the kernel sweeps a ban set for expired elements. Its default
/// is every second, and a sweep walks the whole set: with a million bans
/// that was 8% of a core, and a wake-up a second per set on an idle host.
/// An expired element already matches nothing (lookups, dumps and inserts
/// skip it); the sweep only frees its memory, which can wait a minute.
/// Knock sets keep the default: rules fill them, and a full one takes no
/// new element until expired ones are swept.
const GC_INTERVAL_MS: u32 = 60_000;

/// Creates the set unless it exists. An existing set with the same
/// definition is left alone with its elements — that is how bans survive a
/// restart; one with a different definition makes the kernel answer EEXIST.
pub(crate) fn add(batch: &mut Batch, table: &str, kind: SetKind, id: u32) {
    let action = format!("creating {}", object_name("set", table, kind.name()));
    batch.begin(NFT_MSG_NEWSET, NFPROTO_INET, NLM_F_CREATE, &action);
    let buf = batch.buf();
    buf.put_str(NFTA_SET_TABLE, table);
    buf.put_str(NFTA_SET_NAME, kind.name());
    buf.put_be32(NFTA_SET_FLAGS, kind.flags());
    buf.put_be32(NFTA_SET_KEY_TYPE, kind.key_type());
    buf.put_be32(NFTA_SET_KEY_LEN, kind.key_len());
    // Unique within the batch; lets the kernel tell sets created in the same
    // transaction apart before they have handles.
    buf.put_be32(NFTA_SET_ID, id);
    if !kind.is_knock() {
        // Not part of the definition the kernel compares: sets made by an
        // older bantam are still accepted as they are.
        buf.put_be32(NFTA_SET_GC_INTERVAL, GC_INTERVAL_MS);
    }
    if kind.is_knock() {
        // A set that rules fill needs a size; without one the kernel picks
        // 65,535 (`nft_dynset_init`). It caps elements only: the hash grows
        // as it fills, nothing is allocated up front.
        let desc = buf.begin_nest(NFTA_SET_DESC);
        buf.put_be32(NFTA_SET_DESC_SIZE, super::knock::CAPACITY);
        buf.end_nest(desc);
    }
    batch.end();
}

/// Deletes a set (and its elements); no rule may still use it.
pub(crate) fn delete(batch: &mut Batch, table: &str, kind: SetKind) {
    let action = format!("deleting {}", object_name("set", table, kind.name()));
    batch.begin(NFT_MSG_DELSET, NFPROTO_INET, 0, &action);
    batch.buf().put_str(NFTA_SET_TABLE, table);
    batch.buf().put_str(NFTA_SET_NAME, kind.name());
    batch.end();
}

/// Removes every element: DELSETELEM without an element list.
pub(crate) fn flush(batch: &mut Batch, table: &str, kind: SetKind) {
    let action = format!("flushing {}", object_name("set", table, kind.name()));
    batch.begin(NFT_MSG_DELSETELEM, NFPROTO_INET, 0, &action);
    let buf = batch.buf();
    buf.put_str(NFTA_SET_ELEM_LIST_TABLE, table);
    buf.put_str(NFTA_SET_ELEM_LIST_SET, kind.name());
    batch.end();
}

/// Canonical bans grouped by set, each target once: the last entry for a
/// target wins, as if the bans were applied one after the other.
pub(crate) fn group_bans(entries: &[BanEntry]) -> Result<[Vec<BanEntry>; BAN_SETS], FirewallError> {
    let mut grouped: [Vec<BanEntry>; BAN_SETS] = Default::default();
    let mut index: HashMap<Target, usize> = HashMap::with_capacity(entries.len());
    for entry in entries {
        let target = entry.target.canonical()?;
        let group = &mut grouped[SetKind::for_target(&target).index()];
        match index.get(&target) {
            Some(&i) => group[i].timeout = entry.timeout,
            None => {
                index.insert(target, group.len());
                group.push(BanEntry::new(target, entry.timeout));
            }
        }
    }
    Ok(grouped)
}

pub(crate) fn group_targets(targets: &[Target]) -> Result<[Vec<Target>; BAN_SETS], FirewallError> {
    let mut grouped: [Vec<Target>; BAN_SETS] = Default::default();
    let mut seen = HashSet::with_capacity(targets.len());
    for target in targets {
        let target = target.canonical()?;
        if seen.insert(target) {
            grouped[SetKind::for_target(&target).index()].push(target);
        }
    }
    Ok(grouped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn targets_go_to_the_right_set() {
        let cases = [
            ("192.0.2.1", SetKind::Addr4),
            ("2001:db8::1", SetKind::Addr6),
            ("203.0.113.0/25", SetKind::Net4),
            ("2001:db8::/32", SetKind::Net6),
            ("203.0.113.0/24", SetKind::Net24),
            ("2001:db8:1:2::/64", SetKind::Net64),
        ];
        for (text, kind) in cases {
            let target: Target = text.parse().unwrap();
            assert_eq!(SetKind::for_target(&target), kind, "{text}");
            assert_eq!(SetKind::ALL[kind.index()], kind);
            if !kind.is_interval() {
                assert_eq!(kind.target_of(target.addr()), target, "{text}");
            }
        }
    }

    #[test]
    fn grouping_keeps_the_last_timeout() {
        let a: Target = "192.0.2.1".parse().unwrap();
        let mapped = Target::Addr("::ffff:192.0.2.1".parse().unwrap());
        let net: Target = "203.0.113.0/24".parse().unwrap();
        let grouped = group_bans(&[
            BanEntry::timed(a, Duration::from_secs(1)),
            BanEntry::permanent(net),
            BanEntry::timed(mapped, Duration::from_secs(2)),
        ])
        .unwrap();
        assert_eq!(
            grouped[SetKind::Addr4.index()],
            [BanEntry::timed(a, Duration::from_secs(2))]
        );
        assert_eq!(grouped[SetKind::Net24.index()], [BanEntry::permanent(net)]);
        assert!(grouped[SetKind::Addr6.index()].is_empty());
        let targets = group_targets(&[a, mapped, net]).unwrap();
        assert_eq!(targets[SetKind::Addr4.index()], [a]);
    }
}
