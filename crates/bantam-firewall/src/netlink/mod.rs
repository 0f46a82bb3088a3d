//! Just enough netlink to talk to nf_tables: attributes, message framing,
//! the socket, atomic batches and dumps. Nothing here knows about tables or
//! sets; that is `crate::nft`.

pub(crate) mod attr;
pub(crate) mod batch;
pub(crate) mod dump;
pub(crate) mod message;
pub(crate) mod socket;
