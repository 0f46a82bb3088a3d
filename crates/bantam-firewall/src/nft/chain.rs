//! The `input` chain and its four rules, written as nf_tables expressions.
//!
//! ```text
//! chain input {
//!     type filter hook input priority filter - 10; policy accept;
//!     ip saddr @addr4 counter drop
//!     ip saddr @net4 counter drop
//!     ip6 saddr @addr6 counter drop
//!     ip6 saddr @net6 counter drop
//! }
//! ```
//!
//! **Hook and priority.** `input` sees the traffic addressed to this host,
//! which is what a log-watching ban is about. Priority `filter - 10` (-10)
//! runs before the usual filter chains at priority 0 (distribution
//! `nftables.conf`, iptables-nft, firewalld's `filter` chains), so a banned
//! client's packets are dropped before any of their rules run. We do not
//! exempt established connections: a ban also silences a connection opened
//! before it (`tests/veth.rs` checks). Position is not what makes the ban
//! hold — a drop in any base chain
//! is final, and an `accept` elsewhere cannot undo it — it saves the other
//! chains' work and keeps our counters exact. We run after conntrack (-200)
//! and mangle (-150), so connection tracking and marking see every packet
//! as before. Traffic that is forwarded (to containers, say Docker's
//! published ports) passes the `forward` hook, not `input`: not covered yet.
//!
//! **Drop, not reject.** A reject answers every packet of a banned client
//! (TCP reset or ICMP): traffic from us to addresses that may be spoofed, and
//! a signal to scanners that the host is alive and filtering. With a drop,
//! the client's connect waits until its own timeout, which slows a
//! brute-force tool more than an instant refusal. The cost is that a user
//! banned by mistake sees a timeout rather than an error; for a ban that is
//! the right trade.
//!
//! **Counters** show `nft list table inet bantam` users how much each set
//! drops; they cost one per-CPU add per dropped packet.

use super::abi::*;
use super::set::SetKind;
use super::table::object_name;
use crate::netlink::attr::PutAttr;
use crate::netlink::batch::Batch;
use crate::netlink::message::{NLM_F_APPEND, NLM_F_CREATE};

pub(crate) const CHAIN: &str = "input";
/// `filter - 10`: see the module documentation.
pub(crate) const PRIORITY: i32 = -10;

/// Rule order: the hash sets first, they hold nearly every ban.
const RULE_ORDER: [SetKind; 4] = [SetKind::Addr4, SetKind::Net4, SetKind::Addr6, SetKind::Net6];

/// Creates the base chain unless it exists.
pub(crate) fn add(batch: &mut Batch, table: &str) {
    let action = format!("creating {}", object_name("chain", table, CHAIN));
    batch.begin(NFT_MSG_NEWCHAIN, NFPROTO_INET, NLM_F_CREATE, &action);
    let buf = batch.buf();
    buf.put_str(NFTA_CHAIN_TABLE, table);
    buf.put_str(NFTA_CHAIN_NAME, CHAIN);
    let hook = buf.begin_nest(NFTA_CHAIN_HOOK);
    buf.put_be32(NFTA_HOOK_HOOKNUM, NF_INET_LOCAL_IN);
    buf.put_be32(NFTA_HOOK_PRIORITY, PRIORITY as u32);
    buf.end_nest(hook);
    buf.put_be32(NFTA_CHAIN_POLICY, NF_ACCEPT);
    buf.put_str(NFTA_CHAIN_TYPE, "filter");
    batch.end();
}

/// Replaces the chain's rules with ours. Deleting all rules and adding them
/// again in the same batch is how setup stays idempotent (running it twice
/// leaves four rules, not eight) and repairs a chain someone edited, without
/// a moment where the chain is empty: the batch is one transaction.
pub(crate) fn replace_rules(batch: &mut Batch, table: &str) {
    let chain = object_name("chain", table, CHAIN);
    batch.begin(
        NFT_MSG_DELRULE,
        NFPROTO_INET,
        0,
        &format!("clearing rules of {chain}"),
    );
    let buf = batch.buf();
    buf.put_str(NFTA_RULE_TABLE, table);
    buf.put_str(NFTA_RULE_CHAIN, CHAIN);
    batch.end();

    for kind in RULE_ORDER {
        let action = format!("adding the rule for set {} to {chain}", kind.name());
        batch.begin(
            NFT_MSG_NEWRULE,
            NFPROTO_INET,
            NLM_F_CREATE | NLM_F_APPEND,
            &action,
        );
        let buf = batch.buf();
        buf.put_str(NFTA_RULE_TABLE, table);
        buf.put_str(NFTA_RULE_CHAIN, CHAIN);
        let exprs = buf.begin_nest(NFTA_RULE_EXPRESSIONS);
        drop_source_in(buf, kind);
        buf.end_nest(exprs);
        batch.end();
    }
}

/// `ip saddr @set counter drop` (or `ip6`) as the kernel runs it:
/// ```text
/// [ meta load nfproto => reg 1 ]
/// [ cmp eq reg 1 0x02 ]                      (inet: check the family first)
/// [ payload load 4b @ network header + 12 => reg 1 ]
/// [ lookup reg 1 set addr4 ]
/// [ counter ]
/// [ immediate reg 0 drop ]
/// ```
fn drop_source_in(buf: &mut Vec<u8>, kind: SetKind) {
    expr(buf, "meta", |buf| {
        buf.put_be32(NFTA_META_KEY, NFT_META_NFPROTO);
        buf.put_be32(NFTA_META_DREG, NFT_REG_1);
    });
    expr(buf, "cmp", |buf| {
        buf.put_be32(NFTA_CMP_SREG, NFT_REG_1);
        buf.put_be32(NFTA_CMP_OP, NFT_CMP_EQ);
        let data = buf.begin_nest(NFTA_CMP_DATA);
        buf.put_bytes(NFTA_DATA_VALUE, &[kind.nfproto()]);
        buf.end_nest(data);
    });
    expr(buf, "payload", |buf| {
        buf.put_be32(NFTA_PAYLOAD_DREG, NFT_REG_1);
        buf.put_be32(NFTA_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
        buf.put_be32(NFTA_PAYLOAD_OFFSET, kind.saddr_offset());
        buf.put_be32(NFTA_PAYLOAD_LEN, kind.key_len());
    });
    expr(buf, "lookup", |buf| {
        // By name: the kernel finds a set created earlier in the same batch.
        buf.put_str(NFTA_LOOKUP_SET, kind.name());
        buf.put_be32(NFTA_LOOKUP_SREG, NFT_REG_1);
    });
    expr(buf, "counter", |_| {});
    expr(buf, "immediate", |buf| {
        buf.put_be32(NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
        let data = buf.begin_nest(NFTA_IMMEDIATE_DATA);
        let verdict = buf.begin_nest(NFTA_DATA_VERDICT);
        buf.put_be32(NFTA_VERDICT_CODE, NF_DROP);
        buf.end_nest(verdict);
        buf.end_nest(data);
    });
}

/// One list element of a rule: the expression's name and its attributes.
fn expr(buf: &mut Vec<u8>, name: &str, data: impl FnOnce(&mut Vec<u8>)) {
    let elem = buf.begin_nest(NFTA_LIST_ELEM);
    buf.put_str(NFTA_EXPR_NAME, name);
    let nest = buf.begin_nest(NFTA_EXPR_DATA);
    data(buf);
    buf.end_nest(nest);
    buf.end_nest(elem);
}
