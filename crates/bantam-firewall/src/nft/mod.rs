//! nf_tables objects as bantam uses them: one file per kernel object. Each
//! file writes its messages into a [`Batch`](crate::netlink::batch::Batch);
//! the backend (`crate::nftables`) decides what goes in one batch.

pub(crate) mod abi;
pub(crate) mod chain;
pub(crate) mod element;
pub(crate) mod events;
pub(crate) mod held;
pub(crate) mod interval;
pub(crate) mod knock;
pub(crate) mod migrate;
pub(crate) mod replace;
pub(crate) mod set;
pub(crate) mod table;
pub(crate) mod updates;
