//! This host's own addresses, for fail2ban's `ignoreself` (on by default):
//! a jail never bans the machine it protects. Read from the kernel's view
//! of the current network namespace at load time; a reload reads them
//! again. Loopback is always included, even when `/proc` cannot be read.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bantam_filter::Subnet;

/// Loopback networks, then every local address of the namespace.
pub(crate) fn own_addresses() -> Vec<Subnet> {
    let mut out: Vec<Subnet> = ["127.0.0.0/8", "::1"]
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    let v4 = std::fs::read_to_string("/proc/net/fib_trie").unwrap_or_default();
    let v6 = std::fs::read_to_string("/proc/net/if_inet6").unwrap_or_default();
    let found = local_v4(&v4).into_iter().map(IpAddr::V4);
    let found = found.chain(local_v6(&v6).into_iter().map(IpAddr::V6));
    for ip in found {
        if out.iter().any(|net| net.contains(ip)) {
            continue;
        }
        if let Some(net) = Subnet::new(ip, Subnet::full_length(ip)) {
            out.push(net);
        }
    }
    out
}

/// `/proc/net/fib_trie` lists each address as `|-- ADDR` followed by its
/// routes; the host's own are those with a `/32 host LOCAL` route.
fn local_v4(text: &str) -> Vec<Ipv4Addr> {
    let mut out = Vec::new();
    let mut last: Option<Ipv4Addr> = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(addr) = line.strip_prefix("|-- ") {
            last = addr.trim().parse().ok();
        } else if line.starts_with("/32 host LOCAL") {
            if let Some(ip) = last.filter(|ip| !out.contains(ip)) {
                out.push(ip);
            }
        }
    }
    out
}

/// `/proc/net/if_inet6`: one address per line, 32 hex digits first.
fn local_v6(text: &str) -> Vec<Ipv6Addr> {
    text.lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter_map(|hex| {
            u128::from_str_radix(hex, 16)
                .ok()
                .filter(|_| hex.len() == 32)
        })
        .map(Ipv6Addr::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_tables_as_written() {
        let trie = "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 0.0.0.0\n        /0 universe UNICAST\n\
                    Local:\n     |-- 192.0.2.7\n        /32 host LOCAL\n     |-- 192.0.2.255\n        /32 link BROADCAST\n";
        assert_eq!(local_v4(trie), vec![Ipv4Addr::new(192, 0, 2, 7)]);
        let inet6 = "20010db8000000000000000000000001 02 40 00 80 eth0\n00000000000000000000000000000001 01 80 10 80 lo\n";
        assert_eq!(
            local_v6(inet6),
            vec![
                "2001:db8::1".parse::<Ipv6Addr>().unwrap(),
                Ipv6Addr::LOCALHOST
            ]
        );
    }

    #[test]
    fn this_host_includes_loopback() {
        let own = own_addresses();
        assert!(own.iter().any(|n| n.contains("127.0.0.1".parse().unwrap())));
        assert!(own.iter().any(|n| n.contains("::1".parse().unwrap())));
    }
}
