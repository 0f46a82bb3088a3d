//! A restart's way back: every ban set flushed and filled again with the
//! store's bans, in one transaction.
//!
//! After a restart (not a reboot) the kernel still holds the bans, and the
//! daemon must make it hold exactly the store's: the same bans with the
//! time they have left, and nothing the store no longer has. Reading the
//! sets to compare would cost the kernel's dump of a hash set, which is
//! quadratic (each datagram walks the table from the start to resume): a
//! million bans took 75 s to read back. Flushing and refilling costs what
//! filling an empty set costs, with no read. In one transaction the
//! kernel applies the flush and the adds together, so no packet ever sees
//! a set without a ban that is in both; an element flushed and added again
//! in the same batch is simply replaced.
//!
//! The knock sets are left alone: their elements are when sources last
//! knocked, which the store does not know.

use super::element::{self, Element, Op};
use super::held::Held;
use super::interval;
use super::set::{self, SetKind, BAN_SETS};
use crate::netlink::batch::Batch;
use crate::target::BanEntry;

/// Writes the flush and the adds of every ban set into `batch`; returns
/// what the interval sets will hold once it is applied.
pub(crate) fn write(
    batch: &mut Batch,
    table: &str,
    wanted: &[Vec<BanEntry>; BAN_SETS],
) -> [Option<Held>; BAN_SETS] {
    let mut held: [Option<Held>; BAN_SETS] = Default::default();
    for kind in SetKind::ALL {
        let i = kind.index();
        set::flush(batch, table, kind);
        let add: Vec<Element> = if kind.is_interval() {
            // Into an empty set: nested networks merged among themselves.
            let plan = interval::plan_ban(&[], wanted[i].clone());
            held[i] = Some(Held::from_listing(&plan.add));
            plan.add
                .iter()
                .flat_map(|e| interval::elements(e.target, e.timeout))
                .collect()
        } else {
            wanted[i]
                .iter()
                .map(|e| Element::hashed(e.target, e.timeout))
                .collect()
        };
        element::write(batch, table, kind, Op::Add, &add);
    }
    held
}
