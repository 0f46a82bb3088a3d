//! The [`Backend`] trait: the whole surface the daemon sees of a firewall.

use std::time::Duration;

use crate::error::FirewallError;
use crate::target::{BanEntry, Target};

/// A firewall that bans [`Target`]s, each change applied as one atomic batch.
///
/// Object-safe and `Send` so the daemon can hold a `Box<dyn Backend>` chosen
/// from configuration and move it to the thread that owns it. Methods take
/// `&mut self`: a backend owns a socket and is used by one caller at a time.
///
/// The contract every backend keeps:
/// * each call changes all of its targets or none of them;
/// * it touches only its own objects (for nftables: its own table);
/// * bans live in the firewall itself, with their timeout, so they are
///   enforced and lifted on time while the daemon is stopped; the daemon
///   reconciles with [`list`](Backend::list) when it starts.
pub trait Backend: Send {
    /// Short name for logs and the CLI: "nftables", "dry-run".
    fn name(&self) -> &'static str;

    /// Creates what bans need (table, sets, chain). Idempotent, and keeps the
    /// elements already there: bans survive a daemon restart.
    fn setup(&mut self) -> Result<(), FirewallError>;

    /// Bans all `entries` in one batch, whatever their number. Banning a target
    /// that is already banned replaces its timeout (longer or shorter, or
    /// permanent). When one target appears twice, the last entry wins.
    fn ban(&mut self, entries: &[BanEntry]) -> Result<(), FirewallError>;

    /// Lifts the bans on exactly these targets, in one batch. Targets that are
    /// not banned (never were, or expired) are not an error.
    fn unban(&mut self, targets: &[Target]) -> Result<(), FirewallError>;

    /// Every current ban with the time it has left (`None`: permanent).
    fn list(&mut self) -> Result<Vec<BanEntry>, FirewallError>;

    /// Lifts every ban and keeps the structure, ready for new bans.
    fn flush(&mut self) -> Result<(), FirewallError>;

    /// Whether the backend holds no ban at all. Meant to be cheaper than
    /// [`list`](Backend::list) where listing is costly (a restart finding
    /// a million bans in the kernel); by default it lists.
    fn holds_nothing(&mut self) -> Result<bool, FirewallError> {
        Ok(self.list()?.is_empty())
    }

    /// Makes the backend hold exactly `entries` (each with its timeout),
    /// whatever it held before, without a moment where a ban in both is
    /// missing: a restart puts the store's bans back this way without
    /// reading what the kernel holds. By default: list, lift the rest,
    /// ban `entries`.
    fn replace(&mut self, entries: &[BanEntry]) -> Result<(), FirewallError> {
        let keep: std::collections::HashSet<Target> = entries
            .iter()
            .map(|e| e.target.canonical().unwrap_or(e.target))
            .collect();
        let listed = self.list()?;
        let rest: Vec<Target> = listed
            .into_iter()
            .map(|e| e.target)
            .filter(|t| !keep.contains(t))
            .collect();
        if !entries.is_empty() {
            self.ban(entries)?;
        }
        if !rest.is_empty() {
            self.unban(&rest)?;
        }
        Ok(())
    }

    /// Removes everything [`setup`](Backend::setup) created, bans included.
    /// Idempotent.
    fn teardown(&mut self) -> Result<(), FirewallError>;

    /// Checks that our objects are still there (an admin may have run
    /// `nft flush ruleset`, `iptables -F` or `ipset flush`) and recreates
    /// them if not. Cheap: a header query, not a listing. When the answer
    /// is [`Repair::BansLost`], the caller bans its current bans again.
    fn verify(&mut self) -> Result<Repair, FirewallError> {
        Ok(Repair::Intact)
    }

    /// Asks the backend to record, from its next [`setup`](Backend::setup)
    /// on, when each banned source last sent a packet (for
    /// `extend-while-knocking`), or to stop. Answers whether it can; by
    /// default it cannot, and [`last_knocks`](Backend::last_knocks) knows
    /// nothing. Recording must cost no wake-up of the caller per packet.
    fn record_knocks(&mut self, on: bool) -> bool {
        let _ = on;
        false
    }

    /// For each of `targets` (same order), how long ago its source last
    /// sent a packet while banned (a network: the newest of its sources);
    /// `None`: not since recording began, or not recorded. One read for
    /// all of them, whatever their number.
    fn last_knocks(&mut self, targets: &[Target]) -> Result<Vec<Option<Duration>>, FirewallError> {
        Ok(vec![None; targets.len()])
    }

    /// What tells the caller when to [`verify`](Backend::verify): taken
    /// once (later calls answer `None`), run on a thread of its own.
    fn watcher(&mut self) -> Option<Box<dyn Watcher>> {
        None
    }
}

/// What [`Backend::verify`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repair {
    /// Everything in place.
    Intact,
    /// Rules or chains were missing and are back; the bans themselves
    /// (set elements) were not touched.
    Rebuilt,
    /// Our bans were removed (table deleted, set flushed, chain flushed);
    /// the structure is back, empty: ban the current bans again.
    BansLost,
}

/// Blocks until the firewall may have changed under a backend. A thread
/// loops on [`wait`](Watcher::wait) and has the backend verified after
/// each return. Event-driven where the kernel sends events (nf_tables,
/// which also carries iptables-nft); elsewhere a check per second, but only
/// while bans are in force: with nothing to lose there is nothing to
/// check, so an idle daemon without bans is never woken.
pub trait Watcher: Send {
    fn wait(&mut self) -> Result<(), FirewallError>;
}
