//! Turning the text a `<HOST>`-family tag captured into an address.
//!
//! The regexes that tags expand to are deliberately loose (a linear-time
//! engine cannot express "a valid IPv6 address" compactly), so this is where
//! validity is decided: the standard library's strict parsers, plus the
//! spellings logs actually use around them: `[2001:db8::1]` brackets,
//! `::ffff:192.0.2.1` v4-mapped addresses (banned as the IPv4 address they
//! are), and `%zone` suffixes on link-local addresses. Nothing here resolves
//! names: a host name is returned as a name and never looked up.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// The source of a failure: what the daemon will ban.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Host {
    /// A single address.
    Ip(IpAddr),
    /// A network, from `<SUBNET>` or `<ADDR>/<CIDR>`.
    Net(Subnet),
    /// A host name. Only produced when a filter opts in to names; the filter
    /// engine never resolves it.
    Name(Box<str>),
}

impl Host {
    /// The address, when this is one.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Host::Ip(ip) => Some(*ip),
            _ => None,
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(ip) => ip.fmt(f),
            Host::Net(net) => net.fmt(f),
            Host::Name(name) => f.write_str(name),
        }
    }
}

/// An address prefix with its host bits cleared, so that equal networks
/// compare equal however they were written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subnet {
    addr: IpAddr,
    prefix: u8,
}

impl Subnet {
    /// A network from an address and a prefix length; `None` when the prefix
    /// is longer than the family allows.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Subnet> {
        let addr = match addr {
            IpAddr::V4(v4) => {
                if prefix > 32 {
                    return None;
                }
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
            }
            IpAddr::V6(v6) => {
                if prefix > 128 {
                    return None;
                }
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
            }
        };
        Some(Subnet { addr, prefix })
    }

    /// The network address (host bits zero).
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` lies inside this network. Families never mix: a v4
    /// network contains no v6 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        Subnet::new(ip, self.prefix).is_some_and(|net| net.addr == self.addr)
    }

    /// The length a single address has as a network: 32 or 128.
    pub fn full_length(addr: IpAddr) -> u8 {
        match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        }
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Why text is not a network.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not an address or network (expected e.g. 192.0.2.1, 2001:db8::/32)")]
pub struct BadSubnet {
    text: String,
}

impl FromStr for Subnet {
    type Err = BadSubnet;

    /// `192.0.2.0/24`, `2001:db8::/32`, or a bare address (a full-length
    /// network). Host bits are cleared, as `ip route` and nftables do.
    fn from_str(s: &str) -> Result<Subnet, BadSubnet> {
        let bad = || BadSubnet { text: s.to_owned() };
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let addr = parse_addr(addr.as_bytes()).ok_or_else(bad)?;
        let prefix = match prefix {
            None => Subnet::full_length(addr),
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().map_err(|_| bad())?
            }
            Some(_) => return Err(bad()),
        };
        Subnet::new(addr, prefix).ok_or_else(bad)
    }
}

/// Parses captured address text. Accepts an IPv4 address, an IPv6 address,
/// either in brackets, a v4-mapped IPv6 address (returned as IPv4), and an
/// IPv6 zone suffix (dropped: a ban applies to the address on every link).
/// Leading zeros in IPv4 octets are refused, as the standard parser does,
/// because `010.0.0.1` is octal to some tools and decimal to others.
pub fn parse_addr(text: &[u8]) -> Option<IpAddr> {
    let text = match text {
        [b'[', inner @ .., b']'] => inner,
        _ => text,
    };
    // The longest textual IPv6 address with an embedded IPv4 part and a
    // generous zone is well under 64 bytes; refuse to look at more.
    if text.is_empty() || text.len() > 64 {
        return None;
    }
    let text = std::str::from_utf8(text).ok()?;
    if let Ok(v4) = Ipv4Addr::from_str(text) {
        return Some(IpAddr::V4(v4));
    }
    let without_zone = text.split_once('%').map_or(text, |(addr, _zone)| addr);
    let v6 = Ipv6Addr::from_str(without_zone).ok()?;
    Some(match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(v6),
    })
}

/// Accepts what a filter that opted in to host names may capture: ASCII
/// letters, digits, `-` and `.`, at most 253 bytes, not all digits and dots
/// (that would be a mangled address, not a name).
pub fn parse_hostname(text: &[u8]) -> Option<Box<str>> {
    let ok_byte = |b: &u8| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'.' || *b == b'_';
    if text.is_empty() || text.len() > 253 || !text.iter().all(ok_byte) {
        return None;
    }
    if text.iter().all(|b| b.is_ascii_digit() || *b == b'.') {
        return None;
    }
    // All bytes are ASCII, checked above.
    std::str::from_utf8(text).ok().map(Box::from)
}

#[cfg(test)]
#[path = "address_tests.rs"]
mod tests;
