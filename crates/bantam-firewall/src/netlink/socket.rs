//! The NETLINK_NETFILTER socket: the one place with `unsafe` (libc calls).
//!
//! A netlink socket belongs to the network namespace of the thread that
//! created it, for its whole life. That is what lets tests (and a daemon
//! managing a container's namespace) open the socket on a thread that entered
//! a namespace and then use it from anywhere.
//!
//! Sending is synchronous: the kernel runs a whole nfnetlink batch inside our
//! `send` call and queues every answer on the socket before `send` returns.
//! So after a batch, reading without waiting until the socket is empty
//! collects all answers — the same reasoning `nft` (libmnl) relies on. What
//! can break that is a receive buffer too small for the answers, so it is
//! sized for the batch ([`Socket::fit_recv`]).

#![allow(unsafe_code)]

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// `SOL_NETLINK` options, from `<linux/netlink.h>`.
const NETLINK_CAP_ACK: libc::c_int = 10;
const NETLINK_EXT_ACK: libc::c_int = 11;
const NETLINK_ADD_MEMBERSHIP: libc::c_int = 1;
const NETLINK_DROP_MEMBERSHIP: libc::c_int = 2;

/// Socket buffers we always have: room for a few thousand elements and their
/// answers without any resizing.
const BASE_BUFFER: usize = 1 << 20;

/// Longest a blocking read (a dump) may wait. The kernel answers at once; this
/// only turns a bug into an error instead of a hung daemon.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// A datagram holds one message of a dump (at most 32 KiB) or answers to a
/// batch; error answers echo only our header (NETLINK_CAP_ACK), but even an
/// uncapped echo of a 64 KiB element message fits.
const RECV_BUFFER: usize = 128 * 1024;

pub(crate) struct Socket {
    fd: OwnedFd,
    /// Send buffer size we asked for (the kernel doubles it for overhead).
    sndbuf: usize,
    rcvbuf: usize,
    /// Next netlink sequence number to use.
    seq: u32,
    recv_buf: Vec<u8>,
}

impl Socket {
    /// Opens a NETLINK_NETFILTER socket in the calling thread's network
    /// namespace.
    pub fn open() -> io::Result<Socket> {
        Self::open_protocol(libc::NETLINK_NETFILTER)
    }

    /// Opens a netlink socket of another family (NETLINK_ROUTE for routes).
    pub fn open_protocol(protocol: libc::c_int) -> io::Result<Socket> {
        // SAFETY: socket(2) with constant arguments; the result is checked
        // before use and owned by the OwnedFd below.
        let raw = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                protocol,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a descriptor we just created and nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mut socket = Socket {
            fd,
            sndbuf: 0,
            rcvbuf: 0,
            seq: 1,
            recv_buf: vec![0; RECV_BUFFER],
        };
        // Without CAP_ACK an error answer echoes our whole message: up to
        // 64 KiB per failed element message. Optional (Linux 4.3+).
        let _ = socket.set_opt(libc::SOL_NETLINK, NETLINK_CAP_ACK, &1);
        // Extended ACK tells which attribute (so which element) the kernel
        // rejected. Optional (Linux 4.12+).
        let _ = socket.set_opt(libc::SOL_NETLINK, NETLINK_EXT_ACK, &1);
        let timeout = libc::timeval {
            tv_sec: READ_TIMEOUT.as_secs() as libc::time_t,
            tv_usec: 0,
        };
        socket.set_opt(libc::SOL_SOCKET, libc::SO_RCVTIMEO, &timeout)?;
        socket.fit_send(0)?;
        socket.fit_recv(0)?;
        Ok(socket)
    }

    /// Joins multicast group `group` (events: NFNLGRP_NFTABLES, …). A socket
    /// that only listens never sends; its reads block without a timeout.
    pub fn subscribe(&mut self, group: u32) -> io::Result<()> {
        // Multicast is delivered to bound sockets only; one that never
        // sent was never auto-bound. Port 0: the kernel picks one.
        // SAFETY: sockaddr_nl is plain data, zeroed is a valid value.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: `addr` is a live sockaddr_nl and its exact size is passed.
        let rc = unsafe {
            libc::bind(
                self.fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_nl).cast(),
                size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        // EINVAL: already bound (it sent before), which is fine.
        if rc < 0 && io::Error::last_os_error().raw_os_error() != Some(libc::EINVAL) {
            return Err(io::Error::last_os_error());
        }
        self.set_opt(libc::SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group)?;
        let forever = libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        };
        self.set_opt(libc::SOL_SOCKET, libc::SO_RCVTIMEO, &forever)
    }

    /// Another descriptor of this socket, for changing its options from
    /// another thread (see `nft::events::Ears`).
    pub fn try_clone_fd(&self) -> io::Result<OwnedFd> {
        self.fd.try_clone()
    }

    /// The sequence number for the next message; [`Socket::set_seq`] moves on.
    pub fn seq(&self) -> u32 {
        self.seq
    }

    pub fn set_seq(&mut self, next: u32) {
        self.seq = next;
    }

    /// Makes sure a datagram of `len` bytes can be sent: netlink refuses one
    /// longer than the send buffer (EMSGSIZE) instead of splitting it, and a
    /// batch must stay one datagram to stay one transaction.
    pub fn fit_send(&mut self, len: usize) -> io::Result<()> {
        let want = (len + 64 * 1024).max(BASE_BUFFER);
        if want > self.sndbuf {
            self.set_buffer(libc::SO_SNDBUFFORCE, libc::SO_SNDBUF, want)?;
            self.sndbuf = want;
        }
        Ok(())
    }

    /// Makes sure `len` bytes of answers can queue up while a batch runs.
    pub fn fit_recv(&mut self, len: usize) -> io::Result<()> {
        let want = len.max(BASE_BUFFER);
        if want > self.rcvbuf {
            self.set_buffer(libc::SO_RCVBUFFORCE, libc::SO_RCVBUF, want)?;
            self.rcvbuf = want;
        }
        Ok(())
    }

    /// The FORCE variant ignores the `net.core.[rw]mem_max` cap; it needs
    /// CAP_NET_ADMIN, which changing nf_tables needs anyway. Without it, the
    /// plain option (capped) is the best we can do, and an oversized batch is
    /// then reported as EMSGSIZE.
    fn set_buffer(&self, force: libc::c_int, plain: libc::c_int, size: usize) -> io::Result<()> {
        let size = libc::c_int::try_from(size).unwrap_or(libc::c_int::MAX);
        self.set_opt(libc::SOL_SOCKET, force, &size)
            .or_else(|_| self.set_opt(libc::SOL_SOCKET, plain, &size))
    }

    fn set_opt<T>(&self, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
        // SAFETY: `value` points to a live T for the duration of the call and
        // its exact size is passed; the kernel only reads it.
        let rc = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                level,
                name,
                (value as *const T).cast(),
                size_of::<T>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Sends one datagram to the kernel. No address: an unconnected netlink
    /// socket sends to port 0, the kernel.
    pub fn send(&self, data: &[u8]) -> io::Result<()> {
        loop {
            // SAFETY: `data` is valid for reads of `data.len()` bytes.
            let rc =
                unsafe { libc::send(self.fd.as_raw_fd(), data.as_ptr().cast(), data.len(), 0) };
            if rc >= 0 {
                return if rc as usize == data.len() {
                    Ok(())
                } else {
                    Err(io::Error::other("netlink send was cut short"))
                };
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }

    /// Receives one datagram. With `wait == false`, `Ok(None)` means nothing
    /// is queued. A read that times out is an error.
    pub fn recv(&mut self, wait: bool) -> io::Result<Option<&[u8]>> {
        let flags = libc::MSG_TRUNC | if wait { 0 } else { libc::MSG_DONTWAIT };
        let len = loop {
            // SAFETY: `recv_buf` is initialised memory valid for writes of
            // its whole length, which is the length passed.
            let rc = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    self.recv_buf.as_mut_ptr().cast(),
                    self.recv_buf.len(),
                    flags,
                )
            };
            if rc >= 0 {
                break rc as usize;
            }
            let err = io::Error::last_os_error();
            match err.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock if !wait => return Ok(None),
                io::ErrorKind::WouldBlock => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "no answer from the kernel",
                    ))
                }
                _ => return Err(err),
            }
        };
        if len > self.recv_buf.len() {
            return Err(io::Error::other(format!(
                "kernel answer of {len} bytes truncated to {}",
                self.recv_buf.len()
            )));
        }
        Ok(Some(&self.recv_buf[..len]))
    }
}

/// Joins (`join`) or leaves multicast group `group` on the socket behind
/// `fd`: a descriptor of a [`Socket`] that another thread reads.
pub fn set_membership(fd: BorrowedFd<'_>, group: u32, join: bool) -> io::Result<()> {
    let option = match join {
        true => NETLINK_ADD_MEMBERSHIP,
        false => NETLINK_DROP_MEMBERSHIP,
    };
    // SAFETY: `group` is a live u32 and its exact size is passed.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_NETLINK,
            option,
            (&group as *const u32).cast(),
            size_of::<u32>() as libc::socklen_t,
        )
    };
    match rc {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

/// An eventfd: [`Bell::ring`] in one thread wakes [`Bell::wait_with`] in
/// another.
pub struct Bell(OwnedFd);

impl Bell {
    pub fn new() -> io::Result<Bell> {
        // SAFETY: eventfd returns a new descriptor, or -1.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor owned by nothing else.
        Ok(Bell(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    pub fn ring(&self) {
        let one = 1u64.to_ne_bytes();
        // SAFETY: 8 bytes from a live buffer. A full counter (EAGAIN)
        // already means "rung", so the result is moot.
        unsafe { libc::write(self.0.as_raw_fd(), one.as_ptr().cast(), 8) };
    }

    /// Blocks until `socket` has something to read or the bell rang;
    /// `true` (and the bell silenced) when it rang.
    pub fn wait_with(&self, socket: BorrowedFd<'_>) -> io::Result<bool> {
        let poll = |fd: i32| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let mut fds = [poll(socket.as_raw_fd()), poll(self.0.as_raw_fd())];
        // SAFETY: two live pollfds, their count passed.
        while unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) } < 0 {
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
        if fds[1].revents == 0 {
            return Ok(false);
        }
        let mut count = [0u8; 8];
        // SAFETY: 8 bytes into a live buffer; reading resets the counter.
        unsafe { libc::read(self.0.as_raw_fd(), count.as_mut_ptr().cast(), 8) };
        Ok(true)
    }
}
