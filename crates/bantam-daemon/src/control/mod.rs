//! The control socket: the CLI's way in.

pub mod client;
pub mod protocol;
pub(crate) mod server;
pub mod socket;

pub use protocol::{BanInfo, JailStatus, Request, Response, Status};
