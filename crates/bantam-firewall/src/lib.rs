//! bantam's firewall backends: the only crate of bantam that talks netlink or
//! changes the firewall.
//!
//! # Why not one command per ban
//!
//! fail2ban bans by running a command per address (`iptables -I …`, `nft add
//! element …`): a process, a full ruleset round trip and a kernel transaction
//! for each. 5,000 new attackers take about half a minute to ban, and
//! restoring 20,000 bans at start takes half an hour, during which those
//! addresses are free to try again. And the bans live only as long as the
//! daemon is there to remove them: a crash leaves stale bans, a slow start
//! leaves none.
//!
//! # What bantam does instead
//!
//! * **Sets, not rules.** Banned addresses are elements of nftables sets (a
//!   hash for addresses, an interval tree for networks). One rule per set
//!   drops their traffic; a lookup costs the same for 10 bans or 100,000.
//! * **Kernel timeouts.** Every element carries its own timeout. The kernel
//!   lifts each ban on time by itself — while the daemon is stopped,
//!   restarting, or crashed — and the daemon reconciles with
//!   [`Backend::list`] (which reports the time left) when it starts.
//! * **Atomic batches over netlink.** A [`Backend`] call is one nfnetlink
//!   batch sent in one system call: thousands of elements, applied by the
//!   kernel as one transaction — all or nothing, never a half-applied ban
//!   wave — and each message acknowledged, so a failure is an error with the
//!   kernel's reason, not a silent no-op. No process is spawned (the
//!   fail2ban-style [`command`] actions, which users opt into, aside).
//! * **Our own table.** Everything lives in table `inet bantam`: we never edit
//!   a rule we did not write, setup is idempotent and keeps existing bans,
//!   and teardown is deleting one table. See `nft/chain.rs` for the hook,
//!   priority and drop-versus-reject choices.
//!
//! # Layout
//!
//! * [`Backend`] (`backend.rs`): the trait the daemon uses; [`Target`] and
//!   [`BanEntry`] (`target.rs`) say what to ban and for how long.
//! * [`Nftables`] (`nftables.rs`): the real backend, which decides what goes
//!   in each batch; `nft/` encodes each kernel object (table, set, chain and
//!   its rules, set elements, network intervals); `netlink/` is the generic
//!   part (attributes, messages, the socket, batches, dumps) and holds the
//!   crate's `unsafe` libc socket calls (the only other one is `killpg` in
//!   `command/run.rs`).
//! * [`DryRun`] (`dry_run.rs`): an in-memory backend for `--dry-run`.
//! * [`command`]: fail2ban's action files run as shell commands, for users
//!   who keep their own actions; log-derived values never become shell code.
//!
//! # Kernel requirements
//!
//! nf_tables with set timeouts (any kernel since 4.x). On Linux 6.12 and
//! later, re-bans and unbans of addresses are write-only; older kernels get
//! a read of the set first ([`ElementUpdates`]), still one batch per change.

// The libc socket calls in `netlink/socket.rs` (and the eventfd that
// wakes an events socket's reader there) and `killpg` in
// `command/run.rs` are the only exceptions.
#![deny(unsafe_code)]

mod backend;
pub mod command;
mod config;
mod dry_run;
mod error;
mod hosts_deny;
mod ipset;
mod iptables;
mod liveness;
mod netlink;
mod nft;
mod nftables;
mod open;
mod probe;
mod route;
mod target;
mod v6_text;
mod xtables;

pub use backend::{Backend, Repair, Watcher};
pub use config::{BackendConfig, Hook, Nflog, RouteType};
pub use dry_run::DryRun;
pub use error::{ActionProblem, FirewallError};
pub use hosts_deny::HostsDeny;
pub use ipset::Ipset;
pub use iptables::Iptables;
pub use nftables::{ElementUpdates, Nftables};
pub use open::{open, open_config, BACKENDS};
pub use probe::probe;
pub use route::Route;
pub use target::{BanEntry, Target};
