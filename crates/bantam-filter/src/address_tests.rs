use super::*;
use proptest::prelude::*;

fn v4(s: &str) -> IpAddr {
    IpAddr::V4(s.parse().unwrap())
}

fn v6(s: &str) -> IpAddr {
    IpAddr::V6(s.parse().unwrap())
}

#[test]
fn plain_addresses() {
    assert_eq!(parse_addr(b"192.0.2.1"), Some(v4("192.0.2.1")));
    assert_eq!(parse_addr(b"2001:db8::1"), Some(v6("2001:db8::1")));
    assert_eq!(parse_addr(b"2001:DB8::A"), Some(v6("2001:db8::a")));
}

#[test]
fn brackets_mapped_and_zones() {
    assert_eq!(parse_addr(b"[2001:db8::7]"), Some(v6("2001:db8::7")));
    assert_eq!(parse_addr(b"[192.0.2.9]"), Some(v4("192.0.2.9")));
    assert_eq!(parse_addr(b"::ffff:198.51.100.7"), Some(v4("198.51.100.7")));
    assert_eq!(parse_addr(b"::FFFF:198.51.100.7"), Some(v4("198.51.100.7")));
    assert_eq!(parse_addr(b"fe80::1%eth0"), Some(v6("fe80::1")));
}

#[test]
fn rejects_non_addresses() {
    for bad in [
        &b""[..],
        b"999.1.1.1",
        b"1.2.3",
        b"192.0.2.4.5",
        b"010.0.0.1",
        b"12:34:56",
        b":::",
        b"[2001:db8::1",
        b"2001:db8::1]",
        b"host.example",
        b"\xff\xfe",
        b"192.0.2.1\0",
    ] {
        assert_eq!(parse_addr(bad), None, "{:?}", String::from_utf8_lossy(bad));
    }
    assert_eq!(parse_addr(&[b'1'; 100_000]), None);
}

#[test]
fn subnets_parse_and_normalise() {
    let net: Subnet = "192.0.2.77/24".parse().unwrap();
    assert_eq!(net.to_string(), "192.0.2.0/24");
    assert!(net.contains(v4("192.0.2.1")));
    assert!(!net.contains(v4("192.0.3.1")));
    assert!(!net.contains(v6("2001:db8::1")));
    let net: Subnet = "2001:db8:ffff::1/32".parse().unwrap();
    assert_eq!(net.to_string(), "2001:db8::/32");
    assert!(net.contains(v6("2001:db8::42")));
    let host: Subnet = "203.0.113.5".parse().unwrap();
    assert_eq!(host.prefix(), 32);
    assert_eq!("0.0.0.0/0".parse::<Subnet>().unwrap().prefix(), 0);
    assert!("::/0"
        .parse::<Subnet>()
        .unwrap()
        .contains(v6("2001:db8::1")));
    for bad in [
        "192.0.2.0/33",
        "2001:db8::/129",
        "192.0.2.0/",
        "192.0.2.0/x",
        "nope/8",
        "192.0.2.4/0024",
    ] {
        assert!(bad.parse::<Subnet>().is_err(), "{bad}");
    }
}

#[test]
fn hostnames_only_when_they_look_like_names() {
    assert_eq!(
        parse_hostname(b"mail.example.org").as_deref(),
        Some("mail.example.org")
    );
    assert_eq!(parse_hostname(b"192.0.2.1"), None);
    assert_eq!(parse_hostname(b"bad name"), None);
    assert_eq!(parse_hostname(b""), None);
}

proptest! {
    #[test]
    fn every_ipv4_round_trips(bits: u32) {
        let ip = Ipv4Addr::from(bits);
        prop_assert_eq!(parse_addr(ip.to_string().as_bytes()), Some(IpAddr::V4(ip)));
        let mapped = format!("::ffff:{ip}");
        prop_assert_eq!(parse_addr(mapped.as_bytes()), Some(IpAddr::V4(ip)));
    }

    #[test]
    fn every_ipv6_round_trips(bits: u128) {
        let ip = Ipv6Addr::from(bits);
        let expected = match ip.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(ip),
        };
        prop_assert_eq!(parse_addr(ip.to_string().as_bytes()), Some(expected));
        prop_assert_eq!(parse_addr(format!("[{ip}]").as_bytes()), Some(expected));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        let _ = parse_addr(&bytes);
        let _ = parse_hostname(&bytes);
    }

    #[test]
    fn subnet_contains_its_members(bits: u32, prefix in 0u8..=32, other: u32) {
        let net = Subnet::new(IpAddr::V4(Ipv4Addr::from(bits)), prefix).unwrap();
        prop_assert!(net.contains(IpAddr::V4(Ipv4Addr::from(bits))));
        let shift = 32 - u32::from(prefix);
        let same_prefix = shift == 32 || (bits >> shift) == (other >> shift);
        prop_assert_eq!(net.contains(IpAddr::V4(Ipv4Addr::from(other))), same_prefix);
        prop_assert_eq!(net.to_string().parse::<Subnet>().unwrap(), net);
    }
}
