//! What a ban applies to ([`Target`]) and for how long ([`BanEntry`]).
//!
//! Targets are normalised before they reach a backend ([`Target::canonical`])
//! so that two spellings of the same ban are one kernel element: a network
//! with host bits set is masked, a `/32` (`/128`) is an address, and an
//! IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) becomes the IPv4 address,
//! because that is what the packets of that client carry when they reach
//! netfilter — banning the mapped form would match nothing.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::time::Duration;

use crate::error::FirewallError;

/// One banned address or network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// A single address.
    Addr(IpAddr),
    /// A network in CIDR form. Backends mask host bits, so
    /// `198.51.100.7/24` bans `198.51.100.0/24`.
    Net { addr: IpAddr, prefix: u8 },
}

/// A ban to apply: the target and how long the kernel keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BanEntry {
    pub target: Target,
    /// `None` bans until unbanned. From [`Backend::list`](crate::Backend::list)
    /// this is the time *remaining*, so a listed entry can be banned again
    /// unchanged (for instance in another backend, or after a flush).
    pub timeout: Option<Duration>,
}

impl BanEntry {
    pub fn new(target: Target, timeout: Option<Duration>) -> Self {
        BanEntry { target, timeout }
    }

    pub fn permanent(target: Target) -> Self {
        BanEntry {
            target,
            timeout: None,
        }
    }

    pub fn timed(target: Target, timeout: Duration) -> Self {
        BanEntry {
            target,
            timeout: Some(timeout),
        }
    }
}

/// The order a derive would give (addresses before networks, IPv4 before
/// IPv6, then by bits and prefix), compared as one packed key: the ban
/// index and its expiry index compare targets some sixty times a ban, and
/// the derived comparison of `IpAddr` (variant, then octet arrays) was 7%
/// of a burst of new bans.
impl Ord for Target {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.sort_key().cmp(&other.sort_key())
    }
}

impl PartialOrd for Target {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Target {
    /// (kind, bits, prefix): kind 0/1 an IPv4/IPv6 address, 2/3 an
    /// IPv4/IPv6 network. Injective, so consistent with `Eq`.
    fn sort_key(&self) -> (u8, u128, u8) {
        let bits = |addr: &IpAddr| match addr {
            IpAddr::V4(a) => (0, u128::from(u32::from(*a))),
            IpAddr::V6(a) => (1, u128::from(*a)),
        };
        match self {
            Target::Addr(addr) => {
                let (family, b) = bits(addr);
                (family, b, 0)
            }
            Target::Net { addr, prefix } => {
                let (family, b) = bits(addr);
                (2 + family, b, *prefix)
            }
        }
    }
}

impl From<IpAddr> for Target {
    fn from(addr: IpAddr) -> Self {
        Target::Addr(addr)
    }
}

impl From<Ipv4Addr> for Target {
    fn from(addr: Ipv4Addr) -> Self {
        Target::Addr(IpAddr::V4(addr))
    }
}

impl From<Ipv6Addr> for Target {
    fn from(addr: Ipv6Addr) -> Self {
        Target::Addr(IpAddr::V6(addr))
    }
}

impl Target {
    /// A network target; not validated until [`Target::canonical`].
    pub fn net(addr: impl Into<IpAddr>, prefix: u8) -> Self {
        Target::Net {
            addr: addr.into(),
            prefix,
        }
    }

    /// The address, or the network's first address.
    pub fn addr(&self) -> IpAddr {
        match *self {
            Target::Addr(addr) | Target::Net { addr, .. } => addr,
        }
    }

    pub fn is_ipv4(&self) -> bool {
        self.addr().is_ipv4()
    }

    /// The prefix length: the full address width for a single address.
    pub fn prefix(&self) -> u8 {
        match *self {
            Target::Addr(addr) => width(addr),
            Target::Net { prefix, .. } => prefix,
        }
    }

    /// The one form the kernel stores for this target (see the module
    /// documentation). Fails only for a prefix longer than the address.
    pub fn canonical(self) -> Result<Target, FirewallError> {
        match self {
            Target::Addr(IpAddr::V6(v6)) => Ok(match v6.to_ipv4_mapped() {
                Some(v4) => Target::Addr(IpAddr::V4(v4)),
                None => self,
            }),
            Target::Addr(_) => Ok(self),
            Target::Net { addr, prefix } => {
                if prefix > width(addr) {
                    return Err(FirewallError::InvalidTarget {
                        target: self.to_string(),
                        reason: "prefix longer than the address",
                    });
                }
                let (addr, prefix) = match addr {
                    IpAddr::V6(v6) if prefix >= 96 => match v6.to_ipv4_mapped() {
                        Some(v4) => (IpAddr::V4(v4), prefix - 96),
                        None => (addr, prefix),
                    },
                    _ => (addr, prefix),
                };
                if prefix == width(addr) {
                    Ok(Target::Addr(addr))
                } else {
                    Ok(Target::Net {
                        addr: mask(addr, prefix),
                        prefix,
                    })
                }
            }
        }
    }

    /// Whether `self` covers all of `other` (a target covers itself).
    /// Both must be canonical.
    pub fn contains(&self, other: &Target) -> bool {
        self.is_ipv4() == other.is_ipv4()
            && self.prefix() <= other.prefix()
            && mask(other.addr(), self.prefix()) == self.addr()
    }
}

/// Address width in bits: 32 or 128.
pub(crate) fn width(addr: IpAddr) -> u8 {
    if addr.is_ipv4() {
        32
    } else {
        128
    }
}

/// The address as an integer, IPv4 in the low 32 bits.
pub(crate) fn to_bits(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// The inverse of [`to_bits`] for the family of `like`.
pub(crate) fn from_bits(bits: u128, like: IpAddr) -> IpAddr {
    match like {
        // Truncation is the point: IPv4 values live in the low 32 bits.
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(bits as u32)),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(bits)),
    }
}

/// The number of addresses after the first in a `/prefix` (all host bits set).
pub(crate) fn host_mask(addr: IpAddr, prefix: u8) -> u128 {
    let host_bits = u32::from(width(addr) - prefix.min(width(addr)));
    if host_bits == 128 {
        u128::MAX
    } else {
        (1u128 << host_bits) - 1
    }
}

fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    from_bits(to_bits(addr) & !host_mask(addr, prefix), addr)
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (addr, prefix) = match *self {
            Target::Addr(addr) => (addr, None),
            Target::Net { addr, prefix } => (addr, Some(prefix)),
        };
        let mut buf = [0; crate::v6_text::MAX_LEN];
        let v6 = match &addr {
            IpAddr::V6(v6) => crate::v6_text::v6_text(v6, &mut buf),
            IpAddr::V4(_) => None,
        };
        match v6 {
            Some(text) => f.write_str(text)?,
            None => write!(f, "{addr}")?,
        }
        match prefix {
            Some(prefix) => write!(f, "/{prefix}"),
            None => Ok(()),
        }
    }
}

impl FromStr for Target {
    type Err = FirewallError;

    /// `192.0.2.1`, `2001:db8::1`, `203.0.113.0/24`, `2001:db8::/32`; the
    /// result is canonical.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = |reason| FirewallError::InvalidTarget {
            target: text.to_string(),
            reason,
        };
        match text.split_once('/') {
            None => text
                .parse()
                .map(Target::Addr)
                .map_err(|_| invalid("not an IP address"))?
                .canonical(),
            Some((addr, prefix)) => {
                let addr = addr.parse().map_err(|_| invalid("not an IP address"))?;
                let prefix = prefix.parse().map_err(|_| invalid("bad prefix length"))?;
                Target::Net { addr, prefix }.canonical()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> Target {
        text.parse().unwrap()
    }

    #[test]
    fn canonical_masks_host_bits_and_unmaps() {
        assert_eq!(t("198.51.100.7/24"), t("198.51.100.0/24"));
        assert_eq!(t("198.51.100.7/24").to_string(), "198.51.100.0/24");
        assert_eq!(t("192.0.2.9/32"), t("192.0.2.9"));
        assert_eq!(t("2001:db8::1/128"), t("2001:db8::1"));
        assert_eq!(t("2001:db8:1:2::/32").to_string(), "2001:db8::/32");
        assert_eq!(t("::ffff:192.0.2.1"), t("192.0.2.1"));
        assert_eq!(t("::ffff:192.0.2.0/120"), t("192.0.2.0/24"));
        assert_eq!(t("0.0.0.0/0").to_string(), "0.0.0.0/0");
    }

    #[test]
    fn orders_as_the_derived_order_did() {
        // What `#[derive(Ord)]` on the enum gave: variant, then address
        // (IPv4 before IPv6, by octets), then prefix.
        let reference = |t: &Target| match *t {
            Target::Addr(a) => (0, a, 0),
            Target::Net { addr, prefix } => (1, addr, prefix),
        };
        let all = [
            "192.0.2.1",
            "192.0.2.200",
            "203.0.113.9",
            "2001:db8::1",
            "2001:db8:ffff::1",
            "192.0.2.0/24",
            "192.0.2.0/25",
            "198.18.0.0/15",
            "2001:db8::/32",
            "2001:db8::/64",
            "2001:db8:1::/48",
            "0.0.0.0/0",
        ]
        .map(t);
        for a in &all {
            for b in &all {
                assert_eq!(a.cmp(b), reference(a).cmp(&reference(b)), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn rejects_bad_text() {
        for bad in [
            "192.0.2.1/33",
            "2001:db8::/129",
            "example.org",
            "192.0.2.0/x",
        ] {
            assert!(bad.parse::<Target>().is_err(), "{bad}");
        }
        let err = Target::net(Ipv4Addr::new(192, 0, 2, 0), 40).canonical();
        assert!(err.unwrap_err().to_string().contains("192.0.2.0/40"));
    }

    #[test]
    fn containment() {
        assert!(t("203.0.113.0/24").contains(&t("203.0.113.128/25")));
        assert!(t("203.0.113.0/24").contains(&t("203.0.113.9")));
        assert!(t("203.0.113.0/24").contains(&t("203.0.113.0/24")));
        assert!(!t("203.0.113.128/25").contains(&t("203.0.113.0/24")));
        assert!(!t("203.0.113.0/24").contains(&t("192.0.2.0/24")));
        assert!(!t("0.0.0.0/0").contains(&t("2001:db8::1")));
        assert!(t("::/0").contains(&t("2001:db8::1")));
    }
}
