//! [`Nftables`]: the backend that bans in nf_tables sets over netlink.
//!
//! Each [`Backend`] call is one batch, so one transaction of the kernel.
//! The only reads are the ones a change needs to be exact:
//! * networks: nested networks are merged rather than refused (see
//!   `nft::interval`), so a batch that may touch a network banned already
//!   reads the interval set first; what the set holds is mirrored
//!   (`nft::held`), so a batch of networks clear of it, such as a burst of
//!   new /64s, reads nothing;
//! * addresses, on kernels older than 6.12 ([`ElementUpdates::ReadFirst`]):
//!   those kernels ignore a new timeout for an element that exists and
//!   refuse to delete one that does not, so we read the set and delete what
//!   is there before adding, in the same batch.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use crate::netlink::attr::PutAttr;
use std::net::IpAddr;
use std::time::Duration;

use crate::backend::{Backend, Repair, Watcher};
use crate::config::{BackendConfig, Hook, Nflog};
use crate::error::FirewallError;
use crate::netlink::batch::Batch;
use crate::netlink::dump::dump;
use crate::netlink::socket::Socket;
use crate::nft::abi::{
    NFPROTO_INET, NFTA_RULE_TABLE, NFTA_SET_TABLE, NFT_MSG_GETRULE, NFT_MSG_GETSET,
};
use crate::nft::element::{self, Element, Listed, Op};
use crate::nft::events::{Ears, NftEvents};
use crate::nft::held::Held;
use crate::nft::set::{group_bans, group_targets, SetKind, BAN_SETS};
pub use crate::nft::updates::ElementUpdates;
use crate::nft::{chain, interval, knock, migrate, replace, set, table};
use crate::target::{BanEntry, Target};

/// Bans in the `inet` table `table`: sets `addr4`, `addr6`, `net24`,
/// `net64`, `net4`, `net6` (see `nft::set`), and chain `input` (and `forward`, when hooked) dropping their
/// sources; with knocks recorded, sets `knock4` and `knock6` too (see
/// `nft::knock`).
pub struct Nftables {
    table: String,
    socket: Socket,
    updates: ElementUpdates,
    hooks: Vec<Hook>,
    nflog: Option<Nflog>,
    knocks: bool,
    /// Opened with the backend, in its namespace; handed to the caller by
    /// [`Backend::watcher`].
    events: Option<NftEvents>,
    /// Deafens the watcher during our own large batches (see `nft::events`).
    ears: Option<Arc<Ears>>,
    /// A second socket for [`Backend::holds_nothing`], which may leave a
    /// dump unfinished on it: used once, then dropped.
    spare: Option<Socket>,
    /// What each interval set holds, by [`SetKind::index`]; `None`: not
    /// known, read the set before changing it.
    held: [Option<Held>; BAN_SETS],
}

impl fmt::Debug for Nftables {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Nftables")
            .field("table", &self.table)
            .field("updates", &self.updates)
            .finish_non_exhaustive()
    }
}

impl Nftables {
    pub const DEFAULT_TABLE: &'static str = "bantam";

    /// Opens the netlink socket in the calling thread's network namespace
    /// (it stays there, whichever thread uses the backend later). Nothing is
    /// changed until [`Backend::setup`].
    pub fn open(table: &str) -> Result<Nftables, FirewallError> {
        Self::open_with(table, ElementUpdates::detect())
    }

    /// [`Nftables::open`] with the update strategy chosen by the caller
    /// (tests run both on one kernel).
    pub fn open_with(table: &str, updates: ElementUpdates) -> Result<Nftables, FirewallError> {
        table::validate_name(table)?;
        let socket = Socket::open().map_err(|source| FirewallError::Io {
            action: "opening a NETLINK_NETFILTER socket".to_string(),
            source,
        })?;
        // Without privileges, subscribing fails like everything else
        // will: setup reports that, with the change that failed.
        let events = NftEvents::open(table).ok();
        Ok(Nftables {
            spare: Socket::open().ok(),
            ears: events.as_ref().map(NftEvents::ears),
            events,
            table: table.to_string(),
            socket,
            updates,
            hooks: vec![Hook::Input],
            nflog: None,
            knocks: false,
            held: Default::default(),
        })
    }

    /// The backend `config` describes: its table is `config.name`.
    pub fn open_config(config: &BackendConfig) -> Result<Nftables, FirewallError> {
        let mut backend = Self::open(&config.name)?;
        backend.hooks = config.hooks.clone();
        backend.nflog = config.nflog.clone();
        Ok(backend)
    }

    /// Which hooks have a chain (default: input).
    pub fn set_hooks(&mut self, hooks: &[Hook]) {
        self.hooks = hooks.to_vec();
    }

    /// Logs dropped packets to NFLOG (default: no logging).
    pub fn set_nflog(&mut self, nflog: Option<Nflog>) {
        self.nflog = nflog;
    }

    /// How many of our rules and sets the kernel has.
    fn count_objects(&mut self) -> Result<(usize, usize), FirewallError> {
        let table = self.table.clone();
        let count = |_: crate::netlink::attr::Attrs<'_>, out: &mut Vec<()>| {
            out.push(());
            Ok(())
        };
        let rules = dump(
            &mut self.socket,
            NFT_MSG_GETRULE,
            NFPROTO_INET,
            &format!("listing the rules of table inet {table}"),
            |buf| buf.put_str(NFTA_RULE_TABLE, &table),
            count,
        )?;
        let sets = dump(
            &mut self.socket,
            NFT_MSG_GETSET,
            NFPROTO_INET,
            &format!("listing the sets of table inet {table}"),
            |buf| buf.put_str(NFTA_SET_TABLE, &table),
            count,
        )?;
        Ok((rules.len(), sets.len()))
    }

    /// Drops the knock sets once knocks are no longer recorded (their rules
    /// went in the batch before).
    fn drop_knock_sets(&mut self) -> Result<(), FirewallError> {
        for kind in SetKind::KNOCK {
            let mut batch = self.batch();
            set::delete(&mut batch, &self.table, kind);
            match batch.send(&mut self.socket) {
                Err(err) if err.errno() == Some(libc::ENOENT) => {}
                result => result?,
            }
        }
        Ok(())
    }

    fn set_count(&self) -> usize {
        SetKind::ALL.len() + if self.knocks { SetKind::KNOCK.len() } else { 0 }
    }

    /// Drops the chains of hooks no longer configured (after a reload).
    fn drop_unhooked(&mut self) -> Result<(), FirewallError> {
        for hook in [Hook::Input, Hook::Forward] {
            if self.hooks.contains(&hook) {
                continue;
            }
            let mut batch = self.batch();
            chain::delete(&mut batch, &self.table, hook);
            match batch.send(&mut self.socket) {
                Err(err) if err.errno() == Some(libc::ENOENT) => {}
                result => result?,
            }
        }
        Ok(())
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn element_updates(&self) -> ElementUpdates {
        self.updates
    }

    /// Reads one set, changing nothing: the kernel checks CAP_NET_ADMIN on
    /// reads too, so this answers "could a ban be made" (see `probe.rs`).
    pub(crate) fn read_addr4(&mut self) -> Result<(), FirewallError> {
        self.read(SetKind::Addr4).map(drop)
    }

    fn batch(&self) -> Batch {
        Batch::new(self.socket.seq())
    }

    fn read(&mut self, kind: SetKind) -> Result<Vec<Listed>, FirewallError> {
        element::list(&mut self.socket, &self.table, kind)
    }

    /// The networks of interval set `kind`, which the mirror then holds.
    fn read_networks(&mut self, kind: SetKind) -> Result<Vec<BanEntry>, FirewallError> {
        let networks = interval::networks(self.read(kind)?);
        self.held[kind.index()] = Some(Held::from_listing(&networks));
        Ok(networks)
    }

    /// The plan for banning `wanted` in interval set `kind`: straight from
    /// the mirror when every network is clear of what the set holds
    /// (`guessed` is then set), else from a read of the set.
    fn plan_networks(
        &mut self,
        kind: SetKind,
        wanted: &[BanEntry],
        guessed: &mut bool,
    ) -> Result<interval::Plan, FirewallError> {
        let held = &mut self.held[kind.index()];
        if held.as_mut().is_some_and(|h| h.all_clear(wanted)) {
            *guessed = true;
            return Ok(interval::Plan {
                delete: Vec::new(),
                add: wanted.to_vec(),
            });
        }
        Ok(interval::plan_ban(
            &self.read_networks(kind)?,
            wanted.to_vec(),
        ))
    }

    /// After a batch to the interval sets: what they hold now, or, when the
    /// batch failed, that we no longer know.
    fn settle(&mut self, plans: &[Option<interval::Plan>; BAN_SETS], sent: bool) {
        for (held, plan) in self.held.iter_mut().zip(plans) {
            let Some(plan) = plan else { continue };
            match (held.as_mut(), sent) {
                (Some(h), true) => {
                    h.remove(&plan.delete);
                    h.add(&plan.add);
                }
                _ => *held = None,
            }
        }
    }

    /// Whether a change to these sets reads before it writes (and so can
    /// race with an element expiring in between).
    fn reads_first(&self, grouped: &[Vec<impl Sized>; BAN_SETS]) -> bool {
        SetKind::ALL.iter().any(|&kind| {
            !grouped[kind.index()].is_empty()
                && (kind.is_interval() || self.updates == ElementUpdates::ReadFirst)
        })
    }

    /// One batch banning `wanted`; `guessed` is set when a network was
    /// planned from the mirror alone (see `nft::held`).
    fn ban_once(
        &mut self,
        wanted: &[Vec<BanEntry>; BAN_SETS],
        guessed: &mut bool,
    ) -> Result<(), FirewallError> {
        let mut delete: [Vec<Element>; BAN_SETS] = Default::default();
        let mut add: [Vec<Element>; BAN_SETS] = Default::default();
        let mut plans: [Option<interval::Plan>; BAN_SETS] = Default::default();
        for kind in SetKind::ALL {
            let i = kind.index();
            if wanted[i].is_empty() {
                continue;
            }
            if kind.is_interval() {
                let plan = self.plan_networks(kind, &wanted[i], guessed)?;
                delete[i] = plan
                    .delete
                    .iter()
                    .flat_map(|&net| interval::elements(net, None))
                    .collect();
                add[i] = plan
                    .add
                    .iter()
                    .flat_map(|e| interval::elements(e.target, e.timeout))
                    .collect();
                plans[i] = Some(plan);
                continue;
            }
            if self.updates == ElementUpdates::ReadFirst {
                let present: HashSet<IpAddr> =
                    self.read(kind)?.into_iter().map(|e| e.key).collect();
                delete[i] = wanted[i]
                    .iter()
                    .filter(|e| present.contains(&e.target.addr()))
                    .map(|e| Element::hashed(e.target, None))
                    .collect();
            }
            add[i] = wanted[i]
                .iter()
                .map(|e| Element::hashed(e.target, e.timeout))
                .collect();
        }
        // After the reads, which use sequence numbers of their own. Deletes
        // first: the kernel applies the batch in order, and an element
        // deleted then added in one transaction is replaced.
        let mut batch = self.batch();
        for kind in SetKind::ALL {
            element::write(
                &mut batch,
                &self.table,
                kind,
                Op::Delete,
                &delete[kind.index()],
            );
        }
        for kind in SetKind::ALL {
            element::write(&mut batch, &self.table, kind, Op::Add, &add[kind.index()]);
        }
        let result = batch.send(&mut self.socket);
        self.settle(&plans, result.is_ok());
        result
    }

    /// Runs `change`, a change of `elements` elements, with the watcher out
    /// of the events group when they are many (see `nft::events`): the one
    /// place a batch of ours decides whether the kernel announces it.
    fn deaf_for<T>(
        &mut self,
        elements: usize,
        change: impl FnOnce(&mut Self) -> Result<T, FirewallError>,
    ) -> Result<T, FirewallError> {
        let ears = self.ears.clone().filter(|_| elements >= DEAF_ABOVE);
        let deaf = ears.filter(|e| e.deafen());
        let result = change(self);
        if let Some(ears) = deaf {
            ears.hear();
        }
        result
    }

    /// [`Backend::ban`], heard or not.
    fn ban_grouped(&mut self, entries: &[BanEntry]) -> Result<(), FirewallError> {
        let wanted = group_bans(entries)?;
        let mut guessed = false;
        match self.ban_once(&wanted, &mut guessed) {
            // Planned from the mirror, refused: the set holds what we did
            // not know (added by hand). The mirror is forgotten; read.
            Err(_) if guessed => self.ban_once(&wanted, &mut false),
            // Read, then delete: an element that expired in between makes
            // the delete fail with ENOENT and abort the batch. Read again.
            Err(err) if err.errno() == Some(libc::ENOENT) && self.reads_first(&wanted) => {
                self.ban_once(&wanted, &mut false)
            }
            result => result,
        }
    }

    fn unban_once(&mut self, targets: &[Vec<Target>; BAN_SETS]) -> Result<(), FirewallError> {
        let mut changes: Vec<(SetKind, Op, Vec<Element>)> = Vec::new();
        let mut plans: [Option<interval::Plan>; BAN_SETS] = Default::default();
        for kind in SetKind::ALL {
            let targets = &targets[kind.index()];
            if targets.is_empty() {
                continue;
            }
            if kind.is_interval() {
                // Read, not mirrored: the delete must name exactly what
                // the set holds (unbans are few; bursts are bans).
                let present = interval::plan_unban(&self.read_networks(kind)?, targets);
                let elements = present
                    .iter()
                    .flat_map(|&net| interval::elements(net, None))
                    .collect();
                changes.push((kind, Op::Delete, elements));
                plans[kind.index()] = Some(interval::Plan {
                    delete: present,
                    add: Vec::new(),
                });
            } else if self.updates == ElementUpdates::InKernel {
                let elements = targets.iter().map(|&t| Element::hashed(t, None)).collect();
                changes.push((kind, Op::Destroy, elements));
            } else {
                let present: HashSet<IpAddr> =
                    self.read(kind)?.into_iter().map(|e| e.key).collect();
                let elements = targets
                    .iter()
                    .filter(|t| present.contains(&t.addr()))
                    .map(|&t| Element::hashed(t, None))
                    .collect();
                changes.push((kind, Op::Delete, elements));
            }
        }
        if self.knocks {
            let all: Vec<Target> = targets.iter().flatten().copied().collect();
            let forget = knock::forget(&mut self.socket, &self.table, &all, self.updates)?;
            changes.extend(forget);
        }
        // After the reads, which use sequence numbers of their own.
        let mut batch = self.batch();
        for (kind, op, elements) in &changes {
            element::write(&mut batch, &self.table, *kind, *op, elements);
        }
        let result = batch.send(&mut self.socket);
        self.settle(&plans, result.is_ok());
        result
    }
}

/// Elements in one call from which the watcher is deafened while they commit
/// (see `nft::events`): below, the notifications cost less than the verify
/// that follows a deaf spell.
const DEAF_ABOVE: usize = 512;

impl Backend for Nftables {
    fn name(&self) -> &'static str {
        "nftables"
    }

    fn setup(&mut self) -> Result<(), FirewallError> {
        // An existing table keeps its elements: read them before a change.
        self.held = Default::default();
        let mut batch = self.batch();
        table::add(&mut batch, &self.table);
        let knock_sets = if self.knocks {
            &SetKind::KNOCK[..]
        } else {
            &[]
        };
        for (id, &kind) in (1..).zip(SetKind::ALL.iter().chain(knock_sets)) {
            set::add(&mut batch, &self.table, kind, id);
        }
        for &hook in &self.hooks {
            chain::add(&mut batch, &self.table, hook);
            let nflog = self.nflog.as_ref();
            chain::replace_rules(&mut batch, &self.table, hook, nflog, self.knocks);
        }
        batch.send(&mut self.socket)?;
        if !self.knocks {
            self.drop_knock_sets()?;
        }
        self.drop_unhooked()?;
        migrate::move_fixed_prefixes(&mut self.socket, &self.table).map(drop)
    }

    /// Two dumps filtered to our table: its rules and its sets, counted.
    /// A set can only go with the table (a set in use cannot be deleted
    /// alone), and the table only with its elements: sets missing means
    /// bans lost.
    fn verify(&mut self) -> Result<Repair, FirewallError> {
        let (rules, sets) = match self.count_objects() {
            // The table itself is gone (`nft flush ruleset`).
            Err(err) if err.errno() == Some(libc::ENOENT) => (0, 0),
            result => result?,
        };
        let want_rules = self.hooks.len() * chain::rule_count(self.nflog.as_ref(), self.knocks);
        if rules == want_rules && sets == self.set_count() {
            return Ok(Repair::Intact);
        }
        self.setup()?;
        Ok(if sets < SetKind::ALL.len() {
            Repair::BansLost
        } else {
            Repair::Rebuilt
        })
    }

    fn watcher(&mut self) -> Option<Box<dyn Watcher>> {
        self.events.take().map(|w| Box::new(w) as Box<dyn Watcher>)
    }

    fn ban(&mut self, entries: &[BanEntry]) -> Result<(), FirewallError> {
        self.deaf_for(entries.len(), |b| b.ban_grouped(entries))
    }

    fn holds_nothing(&mut self) -> Result<bool, FirewallError> {
        match self.spare.take() {
            Some(socket) => Ok(!element::any_in(socket, &self.table, &SetKind::ALL)?),
            None => Ok(self.list()?.is_empty()),
        }
    }

    /// One batch: each ban set flushed and filled (see `nft::replace`).
    fn replace(&mut self, entries: &[BanEntry]) -> Result<(), FirewallError> {
        let wanted = group_bans(entries)?;
        let mut batch = self.batch();
        let held = replace::write(&mut batch, &self.table, &wanted);
        // Flushing makes the kernel announce every element it held too.
        let result = self.deaf_for(DEAF_ABOVE, |b| batch.send(&mut b.socket));
        self.held = match result {
            Ok(()) => held,
            Err(_) => Default::default(),
        };
        result
    }

    fn unban(&mut self, targets: &[Target]) -> Result<(), FirewallError> {
        let targets = group_targets(targets)?;
        let count = targets.iter().map(Vec::len).sum();
        self.deaf_for(count, |b| match b.unban_once(&targets) {
            Err(err) if err.errno() == Some(libc::ENOENT) && b.reads_first(&targets) => {
                b.unban_once(&targets)
            }
            result => result,
        })
    }

    fn list(&mut self) -> Result<Vec<BanEntry>, FirewallError> {
        let mut bans = Vec::new();
        for kind in SetKind::ALL {
            if kind.is_interval() {
                bans.extend(self.read_networks(kind)?);
            } else {
                let listed = self.read(kind)?;
                bans.extend(
                    listed
                        .into_iter()
                        .map(|e| BanEntry::new(kind.target_of(e.key), e.remaining)),
                );
            }
        }
        bans.sort_by_key(|e| e.target);
        Ok(bans)
    }

    fn flush(&mut self) -> Result<(), FirewallError> {
        // Read at the next ban: empty sets cost nothing to read.
        self.held = Default::default();
        let mut batch = self.batch();
        let knock_sets = if self.knocks {
            &SetKind::KNOCK[..]
        } else {
            &[]
        };
        for &kind in SetKind::ALL.iter().chain(knock_sets) {
            set::flush(&mut batch, &self.table, kind);
        }
        // A flush announces every element it removes: `unban --all` of a
        // million spent 17 of its 23 s composing them for our own watcher.
        self.deaf_for(DEAF_ABOVE, |b| batch.send(&mut b.socket))
    }

    fn record_knocks(&mut self, on: bool) -> bool {
        self.knocks = on;
        true
    }

    fn last_knocks(&mut self, targets: &[Target]) -> Result<Vec<Option<Duration>>, FirewallError> {
        if !self.knocks {
            return Ok(vec![None; targets.len()]);
        }
        knock::last_knocks(&mut self.socket, &self.table, targets)
    }

    fn teardown(&mut self) -> Result<(), FirewallError> {
        self.held = Default::default();
        let mut batch = self.batch();
        table::delete(&mut batch, &self.table);
        match batch.send(&mut self.socket) {
            // The only message is the delete: ENOENT means already gone.
            Err(err) if err.errno() == Some(libc::ENOENT) => Ok(()),
            result => result,
        }
    }
}
