//! bantam's persistent state: current bans, the history of every ban (what
//! escalating ban times are computed from), and how far each log was read.
//!
//! # Why a trait
//!
//! One host keeps its state in SQLite behind [`Store`]. A fleet shares
//! bans through PostgreSQL, a second store beside it ([`FleetStore`], see
//! [`fleet`]): each host keeps its own state, and what hosts tell each other
//! is an append-only log of changes.
//!
//! # Crash safety
//!
//! The daemon writes a ban here, committed, *before* it asks the kernel for
//! it. So every ban in the kernel is in the database, and a `kill -9` at any
//! moment loses none of them. SQLite runs in WAL mode with
//! `synchronous=NORMAL`: a committed transaction survives the process dying
//! (it is in the WAL file); only a power cut can lose the last few, and then
//! the kernel's bans are gone too. WAL checkpoints (the only fsyncs) run on
//! a thread of their own, never inside a ban.
//!
//! # Opening says what it found
//!
//! The kernel's table and the database must agree at start, and which one
//! to believe depends on the database: [`SqliteStore::opened`] tells the
//! daemon. A *fresh* database (none, empty, no bantam schema) knows nothing,
//! so the daemon adopts the kernel's bans; otherwise kernel elements missing
//! from it are strays. A *corrupt* one is moved aside and replaced: a
//! daemon that refused to start would be restarted by systemd again and
//! again, banning no one, while the moved file keeps what can be recovered.
//! Anything else that stops opening (read-only, locked, newer schema) is an
//! error: that database is fine, and must not be replaced.
//!
//! # Failures
//!
//! Every write is one transaction: on a full disk it fails whole, the error
//! says so, and the store goes on working once space returns (tested on a
//! 256 kB tmpfs). Opening an up-to-date database writes nothing. Errors name
//! the database and the action, and print their cause once.
//!
//! # Private files
//!
//! The database holds matched log lines (user names, addresses), so it is
//! created `0600`, with its `-wal` and `-shm`, and the state directory
//! `0700` when bantam creates it, whatever the umask.
//!
//! # History
//!
//! The history only grows, so [`Store::purge_history`] forgets old bans
//! (fail2ban's `dbpurgeage`). The daemon calls it when convenient: no timer.

mod checkpointer;
mod counter;
mod error;
pub mod fleet;
mod fleet_error;
mod fleet_queue;
mod history;
mod open;
pub mod postgres;
mod records;
mod seen;
mod sqlite;

pub use error::StateError;
pub use fleet::{ChangeKind, FleetChange, FleetFailure, FleetHost, FleetStore, FleetWrite};
pub use fleet_error::FleetError;
pub use fleet_queue::FleetQueue;
pub use history::HistoryReader;
pub use open::{Opened, Quarantine};
pub use postgres::{FleetDatabase, PgFleet};
pub use records::{BanRecord, FilePosition, HistoryRecord};
pub use sqlite::SqliteStore;

use jiff::Timestamp;

/// [`Store::ban_counts_since`] as of the store's last commit, from a
/// connection of its own: see [`Store::counter`].
pub trait BanCounter: Send {
    fn ban_counts_since(
        &mut self,
        jail: Option<&str>,
        targets: &[String],
        since: Timestamp,
    ) -> Result<Vec<u32>, StateError>;
}

/// Where bans and positions are kept.
pub trait Store: Send {
    /// Records new or extended bans (one transaction): each replaces the
    /// current ban of its jail and target, which then counts as history
    /// (every record ever made, as far as the history remembers, counts
    /// once in [`Store::ban_count`]).
    fn record_bans(&mut self, bans: &[BanRecord]) -> Result<(), StateError>;
    /// Removes the current bans of `targets` (in `jail`, or in every jail),
    /// returning what was removed, which then counts as history.
    fn remove_bans(
        &mut self,
        jail: Option<&str>,
        targets: &[String],
    ) -> Result<Vec<BanRecord>, StateError>;
    /// Removes every current ban (to the history), or every ban of `jail`,
    /// returning how many: the caller has them in its own book, and
    /// reading a million back would cost as much memory again.
    fn remove_all(&mut self, jail: Option<&str>) -> Result<usize, StateError>;
    /// Removes the bans whose end is at or before `now`, returning them.
    fn expire(&mut self, now: Timestamp) -> Result<Vec<BanRecord>, StateError>;
    /// [`Store::expire`] without reading the bans back, for a caller that
    /// has them already (the daemon's book): a wave of a million ended
    /// bans read back only to be dropped cost a second and their memory.
    /// Ends about `most` (a store may end them all, or a few more), the
    /// earliest first, and returns how many: fewer than `most` means no
    /// ended ban is left, so a caller can spread a wave over many calls.
    fn end_bans(&mut self, now: Timestamp, most: usize) -> Result<usize, StateError> {
        let _ = most;
        self.expire(now).map(|ended| ended.len())
    }
    /// Every current ban.
    fn active_bans(&mut self) -> Result<Vec<BanRecord>, StateError>;
    /// Every current ban, in parts of at most `part`, each handed to `each`
    /// as soon as it is read, in no particular order; `each` returns
    /// `false` to stop. A caller in another thread puts the first parts to
    /// use (a million bans back into the kernel) while the rest are read.
    /// By default one read of [`Store::active_bans`], then split.
    fn active_bans_in_parts(
        &mut self,
        part: usize,
        each: &mut dyn FnMut(Vec<BanRecord>) -> bool,
    ) -> Result<(), StateError> {
        let mut all = self.active_bans()?.into_iter().peekable();
        while all.peek().is_some() {
            if !each(all.by_ref().take(part.max(1)).collect()) {
                break;
            }
        }
        Ok(())
    }
    /// The last matched line of each current ban (jail, target), in the
    /// same order; `None` where the ban is unknown or has no line. Read for
    /// a page of `banned`, so that the daemon holds no line per ban in
    /// memory (a million bans would cost a hundred megabytes).
    fn last_matches(&mut self, bans: &[(&str, &str)]) -> Result<Vec<Option<String>>, StateError>;
    /// How many times `target` was banned in `jail` (any jail: `None`),
    /// as far as the history still remembers (see [`Store::purge_history`]).
    fn ban_count(&mut self, jail: Option<&str>, target: &str) -> Result<u32, StateError>;
    /// For each of `targets` (same order), how many of its bans in `jail`
    /// (every jail: `None`) started at or after `since`, as far as the
    /// history still remembers: what escalation and recidive count. One
    /// call for a whole burst, answered from an index.
    fn ban_counts_since(
        &mut self,
        jail: Option<&str>,
        targets: &[String],
        since: Timestamp,
    ) -> Result<Vec<u32>, StateError>;
    /// A reader of its own for [`Store::ban_counts_since`] that answers
    /// while a write is under way on another thread, if the store has one
    /// (SQLite on a file: a second connection; `None` otherwise, and the
    /// caller reads through the store).
    fn counter(&self) -> Option<Result<Box<dyn BanCounter>, StateError>> {
        None
    }
    /// Forgets the history of bans that ended before `before` (fail2ban's
    /// `dbpurgeage`: the daemon passes now minus that age), returning how
    /// many were forgotten. A permanent ban counts as ending when it
    /// started, and the history of a current ban is always kept, so
    /// [`Store::ban_count`] never undercounts a source still banned.
    ///
    /// One call may forget only part, to bound the time it takes (SQLite:
    /// 5000 rows, about 30 ms); while it returns more than 0, call again.
    fn purge_history(&mut self, before: Timestamp) -> Result<u64, StateError>;
    /// Saves log positions (one transaction), replacing older ones per path.
    fn save_positions(&mut self, positions: &[FilePosition]) -> Result<(), StateError>;
    /// Every saved log position.
    fn load_positions(&mut self) -> Result<Vec<FilePosition>, StateError>;
}
