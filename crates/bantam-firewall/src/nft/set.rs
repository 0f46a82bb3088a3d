//! bantam's four sets: which targets go where, and how they are created and
//! emptied.
//!
//! Addresses and networks live in different sets because the kernel stores
//! them differently: an address set is a hash (one lookup, any size), a
//! network set is an interval tree (`flags interval`), where each network is
//! two elements (its first address, and the first address after it marked
//! "interval end"). Keeping single addresses — nearly all bans — out of the
//! tree keeps them on the fast path and free of interval rules (overlaps).
//! IPv4 and IPv6 are separate sets because a set has one key length.
//!
//! Every set has `flags timeout` and no default timeout: each element carries
//! its own, and an element added without one never expires.

use super::abi::*;
use super::table::object_name;
use crate::netlink::attr::PutAttr;
use crate::netlink::batch::Batch;
use crate::netlink::message::NLM_F_CREATE;
use crate::target::Target;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum SetKind {
    Addr4,
    Addr6,
    Net4,
    Net6,
}

impl SetKind {
    pub const ALL: [SetKind; 4] = [SetKind::Addr4, SetKind::Addr6, SetKind::Net4, SetKind::Net6];

    /// The set's name in our table (`nft list set inet bantam addr4`).
    pub fn name(self) -> &'static str {
        match self {
            SetKind::Addr4 => "addr4",
            SetKind::Addr6 => "addr6",
            SetKind::Net4 => "net4",
            SetKind::Net6 => "net6",
        }
    }

    /// The set a canonical target belongs in.
    pub fn for_target(target: &Target) -> SetKind {
        match (target, target.is_ipv4()) {
            (Target::Addr(_), true) => SetKind::Addr4,
            (Target::Addr(_), false) => SetKind::Addr6,
            (Target::Net { .. }, true) => SetKind::Net4,
            (Target::Net { .. }, false) => SetKind::Net6,
        }
    }

    /// Index into per-set arrays, in [`SetKind::ALL`] order.
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn is_interval(self) -> bool {
        matches!(self, SetKind::Net4 | SetKind::Net6)
    }

    pub fn is_ipv4(self) -> bool {
        matches!(self, SetKind::Addr4 | SetKind::Net4)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_go_to_the_right_set() {
        let cases = [
            ("192.0.2.1", SetKind::Addr4),
            ("2001:db8::1", SetKind::Addr6),
            ("203.0.113.0/24", SetKind::Net4),
            ("2001:db8::/32", SetKind::Net6),
        ];
        for (text, kind) in cases {
            let target: Target = text.parse().unwrap();
            assert_eq!(SetKind::for_target(&target), kind, "{text}");
            assert_eq!(SetKind::ALL[kind.index()], kind);
        }
    }
}
