//! What `bantam ban` refuses without `--force`.
//!
//! A ban typed by hand has no filter between it and the kernel, and one
//! typo locks everyone out: `0.0.0.0/0` drops every IPv4 packet, the
//! admin's SSH session included; `127.0.0.1` breaks the host's own
//! services; the host's own address or an `ignoreip` entry is almost
//! certainly a mistake. These are refused with the reason, and `--force`
//! says "I mean it".

use std::net::IpAddr;

use bantam_firewall::Target;

/// The widest networks accepted without `--force`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Widest {
    pub v4: u8,
    pub v6: u8,
}

impl Default for Widest {
    fn default() -> Widest {
        // A /16 is a large provider block; a /32 in IPv6 is a whole
        // provider's allocation. Wider is nearly always a typo.
        Widest { v4: 16, v6: 32 }
    }
}

/// Why `target` must not be banned by hand without `--force`, if it must
/// not. `ignored` says whether the jail's `ignoreip` covers it.
pub fn refusal(target: &Target, widest: Widest, ignored: bool, own: &[IpAddr]) -> Option<String> {
    let (addr, prefix) = match target {
        Target::Addr(ip) => (*ip, if ip.is_ipv4() { 32 } else { 128 }),
        Target::Net { addr, prefix } => (*addr, *prefix),
    };
    let limit = if addr.is_ipv4() { widest.v4 } else { widest.v6 };
    if prefix < limit {
        return Some(format!(
            "/{prefix} is wider than /{limit}, the widest network banned without --force"
        ));
    }
    if addr.is_loopback() || addr.is_unspecified() {
        return Some("a loopback or unspecified address: this host's own traffic".into());
    }
    if let Some(mine) = own.iter().find(|ip| target.contains(&Target::Addr(**ip))) {
        return Some(format!("covers {mine}, an address of this host"));
    }
    if ignored {
        return Some("covered by the jail's ignoreip".into());
    }
    None
}

/// The host's own addresses, as the kernel lists them now.
pub fn own_addresses() -> Vec<IpAddr> {
    let mut out = Vec::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we free below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return out;
    }
    let mut cursor = head;
    while !cursor.is_null() {
        // SAFETY: `cursor` is a node of the list getifaddrs returned.
        let ifa = unsafe { &*cursor };
        if let Some(ip) = address_of(ifa.ifa_addr) {
            out.push(ip);
        }
        cursor = ifa.ifa_next;
    }
    // SAFETY: `head` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    out
}

fn address_of(sa: *const libc::sockaddr) -> Option<IpAddr> {
    if sa.is_null() {
        return None;
    }
    // SAFETY: `sa` is non-null and its family says which struct it is.
    unsafe {
        match i32::from((*sa).sa_family) {
            libc::AF_INET => {
                let v4 = &*(sa as *const libc::sockaddr_in);
                Some(IpAddr::from(u32::from_be(v4.sin_addr.s_addr).to_be_bytes()))
            }
            libc::AF_INET6 => {
                let v6 = &*(sa as *const libc::sockaddr_in6);
                Some(IpAddr::from(v6.sin6_addr.s6_addr))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> Option<String> {
        let own: Vec<IpAddr> = vec!["198.51.100.10".parse().unwrap()];
        refusal(&text.parse().unwrap(), Widest::default(), false, &own)
    }

    #[test]
    fn everything_and_wide_networks_are_refused() {
        for text in ["0.0.0.0/0", "::/0", "198.18.0.0/15", "2001:db8::/31"] {
            assert!(refused(text).is_some_and(|r| r.contains("wider")), "{text}");
        }
    }

    #[test]
    fn loopback_and_own_addresses_are_refused() {
        assert!(refused("127.0.0.1").is_some());
        assert!(refused("::1").is_some());
        assert!(refused("198.51.100.10").is_some_and(|r| r.contains("this host")));
        assert!(refused("198.51.100.0/24").is_some_and(|r| r.contains("this host")));
    }

    #[test]
    fn ordinary_attackers_pass() {
        assert_eq!(refused("203.0.113.7"), None);
        assert_eq!(refused("203.0.113.0/24"), None);
        assert_eq!(refused("198.18.0.0/16"), None);
        assert_eq!(refused("2001:db8::/32"), None);
        assert_eq!(refused("2001:db8:1::/48"), None);
    }

    #[test]
    fn ignoreip_is_refused() {
        let target = "192.0.2.9".parse().unwrap();
        assert!(refusal(&target, Widest::default(), true, &[]).is_some());
    }

    #[test]
    fn the_host_has_a_loopback_address() {
        assert!(own_addresses().iter().any(IpAddr::is_loopback));
    }
}
