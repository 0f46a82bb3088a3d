//! What a fleet shares: bans and unbans (changes, in one global order),
//! failures (when counted fleet-wide), and who is out there.
//!
//! # Why a second store, not a second [`Store`](crate::Store)
//!
//! A host's own state (current bans, history, log positions) stays in its
//! local [`SqliteStore`](crate::SqliteStore): the fleet database may be
//! unreachable, and a host must go on banning, restoring and escalating
//! without it. The fleet store holds only what hosts tell each other, as an
//! append-only log of changes that each host replays from the last one it
//! saw. So [`FleetStore`] is a trait of its own beside `Store`, and the
//! daemon's ban pipeline does not change: a change from the fleet enters it
//! like a ban from the control socket.

use jiff::Timestamp;

use crate::fleet_error::FleetError;

/// What a change does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Ban,
    /// Lifts the target in every jail (`bantam unban --fleet`).
    Unban,
}

impl ChangeKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Ban => "ban",
            ChangeKind::Unban => "unban",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<ChangeKind> {
        match text {
            "ban" => Some(ChangeKind::Ban),
            "unban" => Some(ChangeKind::Unban),
            _ => None,
        }
    }
}

/// What one host publishes: a ban it made, or an unban it asks for. The
/// origin is the publishing host's own name, added by the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FleetWrite {
    pub kind: ChangeKind,
    /// The jail (empty for an unban: every jail).
    pub jail: String,
    pub target: String,
    pub start: Timestamp,
    /// `None`: permanent (and for an unban).
    pub end: Option<Timestamp>,
    pub ban_count: u32,
    pub failures: u32,
}

/// A change as the fleet recorded it: a write, its origin, and its place
/// in the fleet's order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FleetChange {
    /// Increasing: a host that saw change N has seen every change before.
    pub id: i64,
    pub origin: String,
    pub write: FleetWrite,
}

/// Failures seen on one host for one address, published in batches when
/// `count-failures` is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FleetFailure {
    pub jail: String,
    pub target: String,
    pub at: Timestamp,
    pub count: u32,
}

/// A host of the fleet, as `bantam fleet status` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FleetHost {
    pub origin: String,
    /// When it last wrote or caught up.
    pub last_contact: Timestamp,
    /// The last change it has applied.
    pub last_change: i64,
}

/// The shared store of a fleet. Async: it talks over the network, on the
/// fleet's own thread, never on the daemon's loop.
#[allow(async_fn_in_trait)]
pub trait FleetStore {
    /// This host's name in the fleet (`[daemon] server-name`).
    fn origin(&self) -> &str;
    /// Appends `writes` (one transaction) and wakes every listening host.
    /// Returns the id of the last change written.
    async fn publish(&mut self, writes: &[FleetWrite]) -> Result<i64, FleetError>;
    /// Up to `limit` changes after `after`, oldest first.
    async fn changes_since(
        &mut self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<FleetChange>, FleetError>;
    /// The bans of the fleet in force at `now` (latest change per jail and
    /// target, not lifted by a later unban).
    async fn active_bans(&mut self, now: Timestamp) -> Result<Vec<FleetChange>, FleetError>;
    /// Says this host is alive and has applied every change up to
    /// `last_change`.
    async fn touch(&mut self, last_change: i64) -> Result<(), FleetError>;
    /// Every host that ever joined.
    async fn hosts(&mut self) -> Result<Vec<FleetHost>, FleetError>;
    /// The id of the newest change (0: none).
    async fn newest_change(&mut self) -> Result<i64, FleetError>;
    /// Publishes failures, then returns, for each target of `jail` among
    /// them, the failures of every host since `since`.
    async fn count_failures(
        &mut self,
        jail: &str,
        failures: &[FleetFailure],
        since: Timestamp,
    ) -> Result<Vec<(String, u32)>, FleetError>;
}
