//! The control socket: the CLI's way in.

pub mod client;
pub mod protocol;
pub mod socket;

pub use protocol::{BanInfo, JailStatus, Request, Response, Status};
