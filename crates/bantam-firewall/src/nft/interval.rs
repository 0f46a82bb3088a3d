//! Networks in interval sets: CIDR ↔ kernel elements, and how a ban of
//! networks fits with the networks already banned.
//!
//! In a `flags interval` set a network is two elements: its first address,
//! and the first address after it flagged `NFT_SET_ELEM_INTERVAL_END`
//! (none when the network reaches the top of the address space). The timeout
//! goes on the start element; when it expires the kernel's garbage collector
//! removes the end element with it, and lookups already ignore the range.
//!
//! The kernel refuses overlapping intervals, and `nft` hides that by merging
//! in user space. We do the same, simply, because CIDR blocks never overlap
//! partially — two networks are either disjoint or one contains the other:
//! * a new network inside a banned one is already banned: it is skipped;
//! * a new network containing banned ones replaces them (they are deleted in
//!   the same batch), which is also how a re-ban updates a timeout.
//!
//! So one odd network cannot make a batch of thousands fail.

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Duration;

use super::element::{Element, Listed};
use crate::target::{from_bits, host_mask, to_bits, width, BanEntry, Target};

/// The elements of canonical network `net`.
pub(crate) fn elements(net: Target, timeout: Option<Duration>) -> Vec<Element> {
    let start = net.addr();
    let mut elements = vec![Element {
        key: start,
        interval_end: false,
        timeout,
        target: net,
    }];
    if let Some(end) = end_key(net) {
        elements.push(Element {
            key: end,
            interval_end: true,
            timeout: None,
            target: net,
        });
    }
    elements
}

/// The first address after the network, if there is one.
fn end_key(net: Target) -> Option<IpAddr> {
    let start = net.addr();
    let last = to_bits(start) | host_mask(start, net.prefix());
    let top = host_mask(start, 0);
    (last < top).then(|| from_bits(last + 1, start))
}

/// Rebuilds networks from a dump of an interval set. Ranges that are not a
/// CIDR block (added to our table by someone else) are left out; an end
/// element whose start expired is ignored.
pub(crate) fn networks(mut listed: Vec<Listed>) -> Vec<BanEntry> {
    // End before start at the same key: [a, b) and [b, c) touch at b.
    listed.sort_by_key(|e| (to_bits(e.key), !e.interval_end));
    let mut out = Vec::new();
    let mut i = 0;
    while i < listed.len() {
        let start = listed[i];
        i += 1;
        if start.interval_end {
            continue;
        }
        let last = match listed.get(i) {
            Some(end) if end.interval_end => {
                i += 1;
                to_bits(end.key).wrapping_sub(1)
            }
            _ => host_mask(start.key, 0), // open-ended: to the top
        };
        if let Some(net) = cidr(start.key, last) {
            out.push(BanEntry::new(net, start.remaining));
        }
    }
    out
}

/// The CIDR block that is exactly `[first, last]`, if there is one.
fn cidr(first: IpAddr, last: u128) -> Option<Target> {
    let start = to_bits(first);
    let hosts = last.checked_sub(start)?;
    let is_block = hosts & hosts.wrapping_add(1) == 0 && start & hosts == 0;
    is_block.then(|| {
        let prefix = width(first) - hosts.count_ones() as u8;
        Target::Net {
            addr: first,
            prefix,
        }
    })
}

/// What to change in one interval set to ban `wanted` (canonical networks,
/// one entry per network).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    pub delete: Vec<Target>,
    pub add: Vec<BanEntry>,
}

pub(crate) fn plan_ban(existing: &[BanEntry], mut wanted: Vec<BanEntry>) -> Plan {
    // Largest networks first, so a network is kept before the ones inside it.
    wanted.sort_by_key(|e| (e.target.prefix(), e.target));
    let banned: HashSet<Target> = existing.iter().map(|e| e.target).collect();
    let mut adding: HashSet<Target> = HashSet::new();
    let mut plan = Plan::default();
    for entry in wanted {
        let net = entry.target;
        let inside_new = covering(net).any(|outer| adding.contains(&outer));
        let inside_banned = covering(net).any(|outer| outer != net && banned.contains(&outer));
        if inside_new || inside_banned {
            continue;
        }
        adding.insert(net);
        plan.add.push(entry);
    }
    // Banned networks inside (or equal to) one we add are replaced by it.
    plan.delete = existing
        .iter()
        .map(|e| e.target)
        .filter(|&old| covering(old).any(|outer| adding.contains(&outer)))
        .collect();
    plan
}

/// Of `targets`, the networks banned exactly as given.
pub(crate) fn plan_unban(existing: &[BanEntry], targets: &[Target]) -> Vec<Target> {
    let banned: HashSet<Target> = existing.iter().map(|e| e.target).collect();
    targets
        .iter()
        .copied()
        .filter(|t| banned.contains(t))
        .collect()
}

/// `net` and every network that contains it, as canonical targets.
fn covering(net: Target) -> impl Iterator<Item = Target> {
    let addr = net.addr();
    (0..=net.prefix()).map(move |prefix| Target::Net {
        addr: from_bits(to_bits(addr) & !host_mask(addr, prefix), addr),
        prefix,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> Target {
        text.parse().unwrap()
    }

    fn listed(net: &str) -> Vec<Listed> {
        elements(t(net), Some(Duration::from_secs(9)))
            .into_iter()
            .map(|e| Listed {
                key: e.key,
                interval_end: e.interval_end,
                remaining: e.timeout,
                timeout: e.timeout,
            })
            .collect()
    }

    #[test]
    fn elements_and_back() {
        let els = elements(t("198.18.0.0/24"), None);
        assert_eq!(els[0].key, "198.18.0.0".parse::<IpAddr>().unwrap());
        assert_eq!(els[1].key, "198.18.1.0".parse::<IpAddr>().unwrap());
        assert!(els[1].interval_end);
        assert_eq!(
            elements(t("255.255.255.0/24"), None).len(),
            1,
            "no end past the top"
        );
        assert_eq!(elements(t("::/0"), None).len(), 1);

        let mut all = Vec::new();
        for net in [
            "198.18.0.0/24",
            // Adjacent: its start is the previous one's end.
            "198.18.1.0/25",
            "255.255.255.0/24",
            "0.0.0.0/8",
        ] {
            all.extend(listed(net));
        }
        // nft adds a lone end element at 0; an expired start leaves one too.
        all.push(Listed {
            key: "198.51.100.0".parse().unwrap(),
            interval_end: true,
            remaining: None,
            timeout: None,
        });
        all.reverse();
        let nets: Vec<Target> = networks(all).into_iter().map(|e| e.target).collect();
        assert_eq!(
            nets,
            [
                t("0.0.0.0/8"),
                t("198.18.0.0/24"),
                t("198.18.1.0/25"),
                t("255.255.255.0/24")
            ]
        );
        let v6: Vec<Target> = networks(listed("2001:db8::/32"))
            .into_iter()
            .map(|e| e.target)
            .collect();
        assert_eq!(v6, [t("2001:db8::/32")]);
        assert_eq!(networks(listed("::/0"))[0].target, t("::/0"));
    }

    #[test]
    fn non_cidr_ranges_are_left_out() {
        let range = vec![
            Listed {
                key: "192.0.2.4".parse().unwrap(),
                interval_end: false,
                remaining: None,
                timeout: None,
            },
            Listed {
                key: "192.0.2.10".parse().unwrap(),
                interval_end: true,
                remaining: None,
                timeout: None,
            },
        ];
        assert!(networks(range).is_empty());
    }

    #[test]
    fn ban_plan_merges_nested_networks() {
        let existing = [
            BanEntry::permanent(t("203.0.113.0/24")),
            BanEntry::permanent(t("198.51.100.0/25")),
            BanEntry::permanent(t("198.51.100.128/25")),
        ];
        let wanted = vec![
            BanEntry::permanent(t("203.0.113.64/26")), // inside a banned /24: skipped
            BanEntry::permanent(t("198.51.100.0/24")), // replaces both /25s
            BanEntry::permanent(t("198.51.100.0/28")), // inside the new /24: skipped
            BanEntry::permanent(t("192.0.2.0/24")),    // new
        ];
        let plan = plan_ban(&existing, wanted);
        let added: Vec<Target> = plan.add.iter().map(|e| e.target).collect();
        assert_eq!(added, [t("192.0.2.0/24"), t("198.51.100.0/24")]);
        assert_eq!(plan.delete, [t("198.51.100.0/25"), t("198.51.100.128/25")]);
    }

    #[test]
    fn re_ban_replaces_the_same_network() {
        let existing = [BanEntry::timed(t("203.0.113.0/24"), Duration::from_secs(5))];
        let wanted = vec![BanEntry::timed(
            t("203.0.113.0/24"),
            Duration::from_secs(500),
        )];
        let plan = plan_ban(&existing, wanted.clone());
        assert_eq!(plan.add, wanted);
        assert_eq!(plan.delete, [t("203.0.113.0/24")]);
        assert_eq!(
            plan_unban(&existing, &[t("203.0.113.0/24"), t("192.0.2.0/24")]),
            [t("203.0.113.0/24")]
        );
    }
}
