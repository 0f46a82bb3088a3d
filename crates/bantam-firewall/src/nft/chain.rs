//! The `input` (and `forward`) chains and their rules, written as nf_tables
//! expressions.
//!
//! ```text
//! chain input {
//!     type filter hook input priority filter - 10; policy accept;
//!     ip saddr @addr4 counter drop
//!     ip saddr & 255.255.255.0 == @net24 counter drop
//!     ip saddr @net4 counter drop
//!     ip6 saddr @addr6 counter drop
//!     ip6 saddr & ffff:ffff:ffff:ffff:: == @net64 counter drop
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
//! as before.
//!
//! **Forward.** Traffic routed through the host — to containers (Docker's
//! published ports are DNAT to a bridge), VMs, a LAN behind a router —
//! never passes `input`: it passes `forward`. With `hooks = ["input",
//! "forward"]` a second chain `forward` holds the same rules. Docker puts
//! its rules in iptables' `filter FORWARD` (iptables-nft: a base chain at
//! priority 0; legacy iptables: NF_IP_PRI_FILTER, also 0), where its
//! ACCEPT for published ports would come before any `DOCKER-USER` rule a
//! fail2ban user adds. Our chain at `filter - 10` runs before priority 0
//! in the same hook, so a banned client is dropped before Docker's chains
//! see the packet, whatever they accept (a drop is final; their accept is
//! not). That is why fail2ban users need `chain = DOCKER-USER` and we need
//! nothing of Docker's.
//!
//! **NFLOG.** With `nflog`, each set has two rules: the first logs to the
//! NFLOG group under a rate limit and has no verdict (so the packet goes
//! on), the second drops. One rule cannot do both: a `limit` over its rate
//! ends the rule, so the drop in it would be skipped for exactly the
//! packets of a flood.
//!
//! **Drop, not reject.** A reject answers every packet of a banned client
//! (TCP reset or ICMP): traffic from us to addresses that may be spoofed, and
//! a signal to scanners that the host is alive and filtering. With a drop,
//! the client's connect waits until its own timeout, which slows a
//! brute-force tool more than an instant refusal. The cost is that a user
//! banned by mistake sees a timeout rather than an error; for a ban that is
//! the right trade.
//!
//! **Knocks.** With `extend-while-knocking` each set has one more rule
//! before its drop, `ip saddr @addr4 update @knock4 { ip saddr timeout
//! 400d }` (see `nft::knock`). Also without a verdict, and for the same
//! reason as NFLOG's: an update that fails (a full knock set) ends its
//! rule, and must never skip the drop.
//!
//! **Counters** show `nft list table inet bantam` users how much each set
//! drops; they cost one per-CPU add per dropped packet.

use super::abi::*;
use super::set::SetKind;
use super::table::object_name;
use crate::config::{Hook, Nflog};
use crate::netlink::attr::PutAttr;
use crate::netlink::batch::Batch;
use crate::netlink::message::{NLM_F_APPEND, NLM_F_CREATE};

/// `filter - 10`: see the module documentation.
pub(crate) const PRIORITY: i32 = -10;

/// Rule order: the hash sets first, they hold nearly every ban.
const RULE_ORDER: [SetKind; 6] = [
    SetKind::Addr4,
    SetKind::Net24,
    SetKind::Net4,
    SetKind::Addr6,
    SetKind::Net64,
    SetKind::Net6,
];

/// Packets a rate limit lets through at once before counting (nft's default).
const BURST: u32 = 5;

fn hooknum(hook: Hook) -> u32 {
    match hook {
        Hook::Input => NF_INET_LOCAL_IN,
        Hook::Forward => NF_INET_FORWARD,
    }
}

/// How many rules [`replace_rules`] writes in one chain.
pub(crate) fn rule_count(nflog: Option<&Nflog>, knocks: bool) -> usize {
    RULE_ORDER.len() * (1 + usize::from(nflog.is_some()) + usize::from(knocks))
}

/// Creates the base chain for `hook` unless it exists; named after it.
pub(crate) fn add(batch: &mut Batch, table: &str, hook: Hook) {
    let action = format!("creating {}", object_name("chain", table, hook.name()));
    batch.begin(NFT_MSG_NEWCHAIN, NFPROTO_INET, NLM_F_CREATE, &action);
    let buf = batch.buf();
    buf.put_str(NFTA_CHAIN_TABLE, table);
    buf.put_str(NFTA_CHAIN_NAME, hook.name());
    let nest = buf.begin_nest(NFTA_CHAIN_HOOK);
    buf.put_be32(NFTA_HOOK_HOOKNUM, hooknum(hook));
    buf.put_be32(NFTA_HOOK_PRIORITY, PRIORITY as u32);
    buf.end_nest(nest);
    buf.put_be32(NFTA_CHAIN_POLICY, NF_ACCEPT);
    buf.put_str(NFTA_CHAIN_TYPE, "filter");
    batch.end();
}

/// Deletes the chain of a hook no longer configured (and its rules).
pub(crate) fn delete(batch: &mut Batch, table: &str, hook: Hook) {
    let action = format!("deleting {}", object_name("chain", table, hook.name()));
    batch.begin(NFT_MSG_DELRULE, NFPROTO_INET, 0, &action);
    batch.buf().put_str(NFTA_RULE_TABLE, table);
    batch.buf().put_str(NFTA_RULE_CHAIN, hook.name());
    batch.end();
    batch.begin(NFT_MSG_DELCHAIN, NFPROTO_INET, 0, &action);
    batch.buf().put_str(NFTA_CHAIN_TABLE, table);
    batch.buf().put_str(NFTA_CHAIN_NAME, hook.name());
    batch.end();
}

/// Replaces the chain's rules with ours. Deleting all rules and adding them
/// again in the same batch is how setup stays idempotent (running it twice
/// leaves four rules, not eight) and repairs a chain someone edited, without
/// a moment where the chain is empty: the batch is one transaction.
pub(crate) fn replace_rules(
    batch: &mut Batch,
    table: &str,
    hook: Hook,
    nflog: Option<&Nflog>,
    knocks: bool,
) {
    let chain_name = hook.name();
    let chain = object_name("chain", table, chain_name);
    batch.begin(
        NFT_MSG_DELRULE,
        NFPROTO_INET,
        0,
        &format!("clearing rules of {chain}"),
    );
    let buf = batch.buf();
    buf.put_str(NFTA_RULE_TABLE, table);
    buf.put_str(NFTA_RULE_CHAIN, chain_name);
    batch.end();

    for kind in RULE_ORDER {
        if let Some(nflog) = nflog {
            rule(batch, table, hook, kind, "log", |buf| {
                log_source_in(buf, kind, nflog)
            });
        }
        if knocks {
            rule(batch, table, hook, kind, "knock", |buf| {
                source_in(buf, kind);
                super::knock::record(buf, kind);
            });
        }
        rule(batch, table, hook, kind, "drop", |buf| {
            drop_source_in(buf, kind)
        });
    }
}

fn rule(
    batch: &mut Batch,
    table: &str,
    hook: Hook,
    kind: SetKind,
    what: &str,
    exprs: impl FnOnce(&mut Vec<u8>),
) {
    let action = format!(
        "adding the {what} rule for set {} to {}",
        kind.name(),
        object_name("chain", table, hook.name())
    );
    batch.begin(
        NFT_MSG_NEWRULE,
        NFPROTO_INET,
        NLM_F_CREATE | NLM_F_APPEND,
        &action,
    );
    let buf = batch.buf();
    buf.put_str(NFTA_RULE_TABLE, table);
    buf.put_str(NFTA_RULE_CHAIN, hook.name());
    let nest = buf.begin_nest(NFTA_RULE_EXPRESSIONS);
    exprs(buf);
    buf.end_nest(nest);
    batch.end();
}

/// `ip saddr @set limit rate 10/second log prefix "…" group 5` — no
/// verdict: the packet goes on to the drop rule.
fn log_source_in(buf: &mut Vec<u8>, kind: SetKind, nflog: &Nflog) {
    source_in(buf, kind);
    expr(buf, "limit", |buf| {
        buf.put_be64(NFTA_LIMIT_RATE, u64::from(nflog.rate));
        buf.put_be64(NFTA_LIMIT_UNIT, nflog.per.as_secs());
        buf.put_be32(NFTA_LIMIT_BURST, BURST);
        buf.put_be32(NFTA_LIMIT_TYPE, NFT_LIMIT_PKTS);
    });
    expr(buf, "log", |buf| {
        buf.put_bytes(NFTA_LOG_GROUP, &nflog.group.to_be_bytes());
        buf.put_str(NFTA_LOG_PREFIX, &nflog.prefix);
    });
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
    source_in(buf, kind);
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

/// The match part: the packet's family, then its source looked up in the
/// set. For a hash set of networks the source is masked to the set's
/// prefix into register 2 first; register 1 keeps the whole address, which
/// is what a knock records (see `nft::knock`):
/// ```text
/// [ payload load 16b @ network header + 8 => reg 1 ]
/// [ bitwise reg 2 = ( reg 1 & 0xffffffff 0xffffffff 0x0 0x0 ) ^ 0x0 ... ]
/// [ lookup reg 2 set net64 ]
/// ```
fn source_in(buf: &mut Vec<u8>, kind: SetKind) {
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
    let key = match kind.fixed_prefix() {
        Some(prefix) => {
            mask(buf, kind.key_len(), prefix);
            NFT_REG_2
        }
        None => NFT_REG_1,
    };
    expr(buf, "lookup", |buf| {
        // By name: the kernel finds a set created earlier in the same batch.
        buf.put_str(NFTA_LOOKUP_SET, kind.name());
        buf.put_be32(NFTA_LOOKUP_SREG, key);
    });
}

/// Register 2 = register 1 with all but its first `prefix` bits cleared.
fn mask(buf: &mut Vec<u8>, len: u32, prefix: u8) {
    let bits = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
    let mask = &bits.to_be_bytes()[..len as usize];
    expr(buf, "bitwise", |buf| {
        buf.put_be32(NFTA_BITWISE_SREG, NFT_REG_1);
        buf.put_be32(NFTA_BITWISE_DREG, NFT_REG_2);
        buf.put_be32(NFTA_BITWISE_LEN, len);
        let data = buf.begin_nest(NFTA_BITWISE_MASK);
        buf.put_bytes(NFTA_DATA_VALUE, mask);
        buf.end_nest(data);
        let data = buf.begin_nest(NFTA_BITWISE_XOR);
        buf.put_bytes(NFTA_DATA_VALUE, &[0; 16][..len as usize]);
        buf.end_nest(data);
    });
}

/// One list element of a rule: the expression's name and its attributes.
pub(crate) fn expr(buf: &mut Vec<u8>, name: &str, data: impl FnOnce(&mut Vec<u8>)) {
    let elem = buf.begin_nest(NFTA_LIST_ELEM);
    buf.put_str(NFTA_EXPR_NAME, name);
    let nest = buf.begin_nest(NFTA_EXPR_DATA);
    data(buf);
    buf.end_nest(nest);
    buf.end_nest(elem);
}
