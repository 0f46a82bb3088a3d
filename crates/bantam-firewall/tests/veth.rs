//! End to end with real packets: a server in namespace A, a client in
//! namespace B, joined by a veth pair. The backend runs in A; a ban must
//! make B's next TCP connect fail, and an unban must let it through again.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use bantam_firewall::{Backend, BanEntry, ElementUpdates};
use common::{root_or_skip, t, two_hosts, Netns, HOUR};

/// The client's patience: long enough for a veth round trip by far.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

fn connect(client: &Netns, server: SocketAddr) -> std::io::Result<TcpStream> {
    client.enter(|| TcpStream::connect_timeout(&server, CONNECT_TIMEOUT))
}

fn assert_blocked(result: std::io::Result<TcpStream>, what: &str) {
    match result {
        Ok(_) => panic!("{what}: connect succeeded while banned"),
        // A drop leaves the SYN unanswered: the client times out.
        Err(err) => assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{what}: {err}"),
    }
}

#[test]
fn a_banned_client_cannot_connect_until_unbanned() {
    if !root_or_skip("a_banned_client_cannot_connect_until_unbanned") {
        return;
    }
    let (a, b) = two_hosts();
    let listener = a.enter(|| TcpListener::bind("198.51.100.1:0").unwrap());
    let server = listener.local_addr().unwrap();
    let mut backend = a.backend("bantam", ElementUpdates::detect());
    backend.setup().unwrap();

    let mut open = connect(&b, server).expect("connect before any ban");
    let (mut accepted, _) = listener.accept().unwrap();
    accepted.set_read_timeout(Some(CONNECT_TIMEOUT)).unwrap();

    backend
        .ban(&[BanEntry::timed(t("198.51.100.7"), HOUR)])
        .unwrap();
    assert_blocked(connect(&b, server), "address ban");
    // The ban also silences the connection opened before it.
    open.write_all(b"x").unwrap();
    let mut byte = [0u8; 1];
    let err = accepted.read(&mut byte).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{err}"
    );
    let counters = a.nft(&["list", "chain", "inet", "bantam", "input"]);
    assert!(
        !counters.contains("@addr4 counter packets 0 "),
        "drops are counted:\n{counters}"
    );

    backend.unban(&[t("198.51.100.7")]).unwrap();
    connect(&b, server).expect("connect after unban");

    // A network ban covers the client too.
    backend
        .ban(&[BanEntry::timed(t("198.51.100.0/24"), HOUR)])
        .unwrap();
    assert_blocked(connect(&b, server), "network ban");
    backend.unban(&[t("198.51.100.0/24")]).unwrap();
    connect(&b, server).expect("connect after network unban");
}

#[test]
fn a_banned_ipv6_client_cannot_connect_until_unbanned() {
    if !root_or_skip("a_banned_ipv6_client_cannot_connect_until_unbanned") {
        return;
    }
    let (a, b) = two_hosts();
    let listener = a.enter(|| TcpListener::bind("[2001:db8:100::1]:0").unwrap());
    let server = listener.local_addr().unwrap();
    let mut backend = a.backend("bantam", ElementUpdates::detect());
    backend.setup().unwrap();

    connect(&b, server).expect("connect before any ban");
    backend
        .ban(&[BanEntry::permanent(t("2001:db8:100::7"))])
        .unwrap();
    assert_blocked(connect(&b, server), "IPv6 address ban");
    backend.unban(&[t("2001:db8:100::7")]).unwrap();
    connect(&b, server).expect("connect after unban");

    backend
        .ban(&[BanEntry::permanent(t("2001:db8:100::/64"))])
        .unwrap();
    assert_blocked(connect(&b, server), "IPv6 network ban");
    backend.teardown().unwrap();
    connect(&b, server).expect("connect after teardown");
}
