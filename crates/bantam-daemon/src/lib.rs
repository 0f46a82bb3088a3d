//! bantam's daemon: jails, failure tracking, bans, and the control socket.
//!
//! Read [`daemon`] top to bottom: one task owns the state and runs a loop
//! over one channel of events (lines from sources, control requests) plus a
//! single sleep until the next ban ends. Time ([`clock::Clock`]) and shutdown
//! (a future passed to [`Daemon::run`]) are injected, so tests drive it
//! without sleeping.
//!
//! Data flow: `source → filter → tracker → ban → backend`, with the store
//! written before the backend so that a crash never leaves a kernel ban the
//! store does not know.

mod action_worker;
pub mod actions;
pub mod backends;
pub mod bans;
pub mod check;
pub mod clock;
pub mod command_action;
pub mod control;
pub mod daemon;
pub mod error;
mod escalation;
mod expiry;
mod firewall_watch;
mod fleet;
mod fleet_worker;
pub mod guard;
mod ignore_command;
pub mod jail;
mod knocking;
mod line_record;
pub mod log;
pub mod log_setup;
pub mod metrics;
mod notifications;
pub mod notify;
mod pipeline;
mod recorder;
mod reload;
mod requests;
pub mod restore;
mod routing;
mod sources;
mod status_waits;
mod store_writer;
mod subnet;
pub mod tracker;
mod trust;
mod unban_all;
mod unban_in;

pub use backends::Backends;
pub use daemon::{Daemon, Prepared, RunOptions};
pub use error::DaemonError;
