//! Per-jail actions beside the native firewall: what fail2ban calls
//! `action = …` (its `action.d` commands, mail, webhooks).
//!
//! # Why a trait here
//!
//! The loop must not care how an action is carried out: fail2ban's command
//! actions run shell commands (in the firewall crate, the only place allowed
//! to), and tests drive the loop with recording fakes. The loop calls these
//! hooks at the points fail2ban does: `start` when a jail starts, `ban` for
//! every new or restored ban, `unban` when a ban ends or is lifted, `stop`
//! when the jail stops.
//!
//! A failing action is logged and does not stop the others, nor undo the
//! ban in the store: the ban is real (and, for native jails, in the kernel);
//! the action is a side effect.

use std::collections::BTreeMap;

use bantam_firewall::Target;
use jiff::Timestamp;

/// One ban as an action sees it. Fields captured from log lines (`matches`,
/// `fields`) are attacker-influenced: implementations must never paste them
/// into command text.
#[derive(Clone, Debug)]
pub struct ActionBan<'a> {
    pub jail: &'a str,
    pub target: Target,
    /// Failures that earned the ban.
    pub failures: u32,
    pub start: Timestamp,
    /// Seconds the ban lasts; -1 for permanent (fail2ban's convention).
    pub bantime: i64,
    /// How many times this target has been banned in this jail, this one
    /// included.
    pub ban_count: u32,
    /// The log lines that earned it.
    pub matches: &'a [String],
    /// Named captures of the last failure (`user`, …).
    pub fields: &'a BTreeMap<String, String>,
    /// Re-applied at start from the database rather than newly earned.
    pub restored: bool,
}

/// A per-jail action. Errors are one line for the log.
pub trait JailAction: Send {
    /// For messages: `nftables-multiport`, `sendmail-whois`.
    fn name(&self) -> &str;
    fn start(&mut self) -> Result<(), String>;
    fn ban(&mut self, ban: &ActionBan<'_>) -> Result<(), String>;
    fn unban(&mut self, ban: &ActionBan<'_>) -> Result<(), String>;
    fn stop(&mut self) -> Result<(), String>;
}
