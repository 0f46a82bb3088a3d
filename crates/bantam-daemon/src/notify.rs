//! systemd's readiness protocol (`Type=notify`): one datagram to
//! `$NOTIFY_SOCKET` per state change. Outside systemd it does nothing.

use std::os::unix::net::UnixDatagram;

/// Sends `state` (e.g. `READY=1`) to systemd if it is listening.
pub fn notify(state: &str) {
    if let Some(path) = std::env::var_os("NOTIFY_SOCKET") {
        notify_to(&path, state);
    }
}

/// Sends `state` to the socket at `path` (`@name`: abstract).
fn notify_to(path: &std::ffi::OsStr, state: &str) {
    let Ok(socket) = UnixDatagram::unbound() else {
        return;
    };
    let bytes = path.as_encoded_bytes();
    let sent = if let Some(name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(name)
            .and_then(|addr| socket.send_to_addr(state.as_bytes(), &addr))
    } else {
        socket.send_to(state.as_bytes(), path)
    };
    if let Err(e) = sent {
        crate::log::warn(&format!("cannot notify systemd ({state}): {e}"));
    }
}

/// Sent before restoring bans: 90 s more for the start (systemd's default
/// timeout is 90 s; a restore of many bans must not be killed by it).
pub const RESTORING: &str = "EXTEND_TIMEOUT_USEC=90000000\nSTATUS=restoring bans";

/// `READY=1` with a status line `systemctl status` shows.
pub fn ready(jails: usize, bans: usize) -> String {
    format!("READY=1\nSTATUS={jails} jail(s), {bans} ban(s) in force")
}

/// `RELOADING=1` with the monotonic time `Type=notify-reload` requires.
pub fn reloading() -> String {
    // SAFETY: clock_gettime writes into the timespec we own.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let usec = ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1_000;
    format!("RELOADING=1\nMONOTONIC_USEC={usec}\nSTATUS=reloading")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_reach_the_notify_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let socket = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        // Not through $NOTIFY_SOCKET: tests running beside this one notify.
        notify_to(path.as_os_str(), &ready(2, 7));
        notify_to(path.as_os_str(), &reloading());
        notify_to(path.as_os_str(), RESTORING);
        let mut buf = [0u8; 256];
        let mut got = Vec::new();
        for _ in 0..3 {
            let n = socket.recv(&mut buf).unwrap();
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        assert_eq!(got[0], "READY=1\nSTATUS=2 jail(s), 7 ban(s) in force");
        assert!(got[1].starts_with("RELOADING=1\nMONOTONIC_USEC="));
        assert!(got[2].starts_with("EXTEND_TIMEOUT_USEC="));
    }
}
