//! The control socket: the CLI's way in.

pub(crate) mod banned;
pub mod client;
pub(crate) mod limits;
pub mod protocol;
pub(crate) mod server;
pub mod socket;

pub use protocol::{BanInfo, BanKey, BanListEnd, JailStatus, Request, Response, Status, PROTOCOL};
