//! bantam's notifications: mail and webhooks that say which server, and
//! never slow a ban.
//!
//! The daemon's loop calls [`Notifier::push`] where a ban, an unban, a jail
//! start or stop happens. That call only appends to a bounded in-memory
//! queue and returns: network I/O (SMTP, `sendmail`, HTTP) runs on one
//! thread per channel, so a dead or hanging mail server costs the loop
//! nothing. When a channel falls behind, its queue drops the *oldest*
//! message (the newest ban is the one an admin wants to read about) and
//! counts it; the counters are in `bantam status --json`.
//!
//! This crate holds no ban state: it formats what it is told and delivers
//! it. Everything taken from a log line is treated as hostile: control
//! characters never reach a mail header (no header injection through a
//! user name with CR/LF), JSON is built by `serde_json`, and nothing is
//! ever handed to a shell (`sendmail` is run with an argument vector, the
//! message on its standard input).

mod channel;
mod digest;
mod error;
mod event;
mod mail;
mod notifier;
mod queue;
mod webhook;

pub use error::NotifyError;
pub use event::{BanFacts, Event};
pub use notifier::{ChannelStatus, Notifier, Warn};
