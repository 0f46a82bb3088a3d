//! nf_tables numbers, from `<linux/netfilter/nf_tables.h>` and
//! `<linux/netfilter.h>`. Kernel ABI: append-only upstream, so they are
//! written out here rather than generated, and only the ones we use.

// enum nf_tables_msg_types
pub const NFT_MSG_NEWTABLE: u16 = 0;
pub const NFT_MSG_DELTABLE: u16 = 2;
pub const NFT_MSG_NEWCHAIN: u16 = 3;
pub const NFT_MSG_DELCHAIN: u16 = 5;
pub const NFT_MSG_NEWRULE: u16 = 6;
pub const NFT_MSG_GETRULE: u16 = 7;
pub const NFT_MSG_DELRULE: u16 = 8;
pub const NFT_MSG_NEWSET: u16 = 9;
pub const NFT_MSG_GETSET: u16 = 10;
pub const NFT_MSG_DELSET: u16 = 11;
pub const NFT_MSG_NEWSETELEM: u16 = 12;
pub const NFT_MSG_GETSETELEM: u16 = 13;
pub const NFT_MSG_DELSETELEM: u16 = 14;
/// Like DELSETELEM, but an absent element is not an error (Linux 6.3+).
/// Newer than Debian 12's headers, hence written out.
pub const NFT_MSG_DESTROYSETELEM: u16 = 30;

// <linux/netfilter.h>
pub const NFPROTO_INET: u8 = 1;
pub const NFPROTO_IPV4: u8 = 2;
pub const NFPROTO_IPV6: u8 = 10;
pub const NF_INET_LOCAL_IN: u32 = 1;
pub const NF_INET_FORWARD: u32 = 2;
pub const NF_DROP: u32 = 0;
pub const NF_ACCEPT: u32 = 1;

// enum nft_table_attributes
pub const NFTA_TABLE_NAME: u16 = 1;

// enum nft_chain_attributes
pub const NFTA_CHAIN_TABLE: u16 = 1;
pub const NFTA_CHAIN_NAME: u16 = 3;
pub const NFTA_CHAIN_HOOK: u16 = 4;
pub const NFTA_CHAIN_POLICY: u16 = 5;
pub const NFTA_CHAIN_TYPE: u16 = 7;

// enum nft_hook_attributes
pub const NFTA_HOOK_HOOKNUM: u16 = 1;
pub const NFTA_HOOK_PRIORITY: u16 = 2;

// enum nft_rule_attributes
pub const NFTA_RULE_TABLE: u16 = 1;
pub const NFTA_RULE_CHAIN: u16 = 2;
pub const NFTA_RULE_EXPRESSIONS: u16 = 4;

// enum nft_list_attributes
pub const NFTA_LIST_ELEM: u16 = 1;

// enum nft_expr_attributes
pub const NFTA_EXPR_NAME: u16 = 1;
pub const NFTA_EXPR_DATA: u16 = 2;

// enum nft_registers: the 16-byte register 1 holds an IPv6 address whole.
pub const NFT_REG_VERDICT: u32 = 0;
pub const NFT_REG_1: u32 = 1;
pub const NFT_REG_2: u32 = 2;

// enum nft_meta_attributes / nft_meta_keys
pub const NFTA_META_DREG: u16 = 1;
pub const NFTA_META_KEY: u16 = 2;
pub const NFT_META_NFPROTO: u32 = 15;

// enum nft_cmp_attributes / nft_cmp_ops
pub const NFTA_CMP_SREG: u16 = 1;
pub const NFTA_CMP_OP: u16 = 2;
pub const NFTA_CMP_DATA: u16 = 3;
pub const NFT_CMP_EQ: u32 = 0;

// enum nft_payload_attributes / nft_payload_bases
pub const NFTA_PAYLOAD_DREG: u16 = 1;
pub const NFTA_PAYLOAD_BASE: u16 = 2;
pub const NFTA_PAYLOAD_OFFSET: u16 = 3;
pub const NFTA_PAYLOAD_LEN: u16 = 4;
pub const NFT_PAYLOAD_NETWORK_HEADER: u32 = 1;

// enum nft_lookup_attributes
pub const NFTA_LOOKUP_SET: u16 = 1;
pub const NFTA_LOOKUP_SREG: u16 = 2;

// enum nft_bitwise_attributes (without NFTA_BITWISE_OP: a boolean
// `(reg & mask) ^ xor`)
pub const NFTA_BITWISE_SREG: u16 = 1;
pub const NFTA_BITWISE_DREG: u16 = 2;
pub const NFTA_BITWISE_LEN: u16 = 3;
pub const NFTA_BITWISE_MASK: u16 = 4;
pub const NFTA_BITWISE_XOR: u16 = 5;

// enum nft_immediate_attributes
pub const NFTA_IMMEDIATE_DREG: u16 = 1;
pub const NFTA_IMMEDIATE_DATA: u16 = 2;

// enum nft_data_attributes / nft_verdict_attributes
pub const NFTA_DATA_VALUE: u16 = 1;
pub const NFTA_DATA_VERDICT: u16 = 2;
pub const NFTA_VERDICT_CODE: u16 = 1;

// enum nft_limit_attributes / nft_limit_type
pub const NFTA_LIMIT_RATE: u16 = 1;
pub const NFTA_LIMIT_UNIT: u16 = 2;
pub const NFTA_LIMIT_BURST: u16 = 3;
pub const NFTA_LIMIT_TYPE: u16 = 4;
pub const NFT_LIMIT_PKTS: u32 = 0;

// enum nft_log_attributes
pub const NFTA_LOG_GROUP: u16 = 1;
pub const NFTA_LOG_PREFIX: u16 = 2;

/// `<linux/netfilter/nfnetlink.h>`: the multicast group of nf_tables events.
pub const NFNLGRP_NFTABLES: u32 = 7;

// enum nft_set_attributes / nft_set_flags
pub const NFTA_SET_TABLE: u16 = 1;
pub const NFTA_SET_NAME: u16 = 2;
pub const NFTA_SET_FLAGS: u16 = 3;
pub const NFTA_SET_KEY_TYPE: u16 = 4;
pub const NFTA_SET_KEY_LEN: u16 = 5;
pub const NFTA_SET_ID: u16 = 10;
/// Milliseconds between the kernel's sweeps of expired elements.
pub const NFTA_SET_GC_INTERVAL: u16 = 12;
pub const NFT_SET_INTERVAL: u32 = 0x4;
pub const NFT_SET_TIMEOUT: u32 = 0x10;
/// `flags dynamic`: rules may add and update elements (`update @set`).
pub const NFT_SET_EVAL: u32 = 0x20;
pub const NFTA_SET_DESC: u16 = 9;

// enum nft_set_desc_attributes
pub const NFTA_SET_DESC_SIZE: u16 = 1;

// enum nft_dynset_attributes / nft_dynset_ops
pub const NFTA_DYNSET_SET_NAME: u16 = 1;
pub const NFTA_DYNSET_OP: u16 = 3;
pub const NFTA_DYNSET_SREG_KEY: u16 = 4;
pub const NFTA_DYNSET_TIMEOUT: u16 = 6;
pub const NFT_DYNSET_OP_UPDATE: u32 = 1;

// enum nft_set_elem_list_attributes
pub const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
pub const NFTA_SET_ELEM_LIST_SET: u16 = 2;
pub const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;

// enum nft_set_elem_attributes / nft_set_elem_flags
pub const NFTA_SET_ELEM_KEY: u16 = 1;
pub const NFTA_SET_ELEM_FLAGS: u16 = 3;
pub const NFTA_SET_ELEM_TIMEOUT: u16 = 4;
pub const NFTA_SET_ELEM_EXPIRATION: u16 = 5;
pub const NFT_SET_ELEM_INTERVAL_END: u32 = 0x1;

/// nft's datatype numbers for set keys (`enum datatypes` in nftables'
/// `datatype.h`): the kernel stores them opaquely, `nft list` uses them to
/// print keys as addresses.
pub const TYPE_IPADDR: u32 = 7;
pub const TYPE_IP6ADDR: u32 = 8;
