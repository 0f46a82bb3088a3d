//! [`SyslogSource`]: a syslog receiver. `syslog+udp://ADDR:PORT`,
//! `syslog+tcp://ADDR:PORT`, `syslog+unix:///PATH` (a datagram socket,
//! like `/dev/log`), for log hosts that receive from others and for
//! rsyslog/syslog-ng forwarding to bantam (`*.* @127.0.0.1:5514`).
//!
//! Each message (RFC 3164 or RFC 5424, see `syslog_parse.rs`) becomes one
//! line as a syslog daemon would write it, the sending host in it and in
//! the line's fields.
//!
//! # A flood cannot grow memory
//!
//! Nothing is queued in bantam: datagrams wait in the kernel's socket
//! buffer (raised to 4 MiB, so bursts are not lost while a batch is
//! filtered) and are read only when the daemon asks for the next batch, at
//! most [`BATCH_MESSAGES`] at a time; beyond the buffer the kernel drops
//! and counts them (`/proc/net/udp`, column `drops`). TCP connections are
//! capped at [`MAX_CONNECTIONS`] (more are closed at once, and counted),
//! and each holds at most one message of at most [`MAX_LINE_BYTES`]
//! (longer ones are skipped and counted as dropped lines).
//!
//! # No wake-ups
//!
//! The sockets sit in tokio's epoll; an idle receiver costs nothing.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::net::{TcpListener, TcpStream, UdpSocket, UnixDatagram};

use crate::batch::{Batch, Taken, MAX_LINE_BYTES};
use crate::error::SourceError;
use crate::source::{NextBatch, Source, SourceState};
use crate::syslog_parse::parse;
use crate::syslog_tcp::Framer;

/// Messages read per batch at most.
pub const BATCH_MESSAGES: usize = 1024;
/// TCP connections served at once; more are closed.
pub const MAX_CONNECTIONS: usize = 64;
const RECEIVE_BUFFER: libc::c_int = 4 << 20;
const DATAGRAM: usize = 64 * 1024;

/// The schemes, with what follows them.
pub const SYSLOG_UDP_SCHEME: &str = "syslog+udp://";
pub const SYSLOG_TCP_SCHEME: &str = "syslog+tcp://";
pub const SYSLOG_UNIX_SCHEME: &str = "syslog+unix://";

/// Where a syslog logpath listens, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyslogAddr {
    Udp(SocketAddr),
    Tcp(SocketAddr),
    Unix(PathBuf),
}

impl SyslogAddr {
    /// `None` if `logpath` has no syslog scheme; `Err` says what is wrong
    /// with one that has.
    pub fn parse(logpath: &str) -> Option<Result<SyslogAddr, String>> {
        let socket = |rest: &str| {
            rest.parse::<SocketAddr>().map_err(|_| {
                format!("{rest:?} is not ADDRESS:PORT (e.g. 127.0.0.1:5514, [::1]:5514)")
            })
        };
        if let Some(rest) = logpath.strip_prefix(SYSLOG_UDP_SCHEME) {
            return Some(socket(rest).map(SyslogAddr::Udp));
        }
        if let Some(rest) = logpath.strip_prefix(SYSLOG_TCP_SCHEME) {
            return Some(socket(rest).map(SyslogAddr::Tcp));
        }
        let rest = logpath.strip_prefix(SYSLOG_UNIX_SCHEME)?;
        Some(
            match rest.starts_with('/') && rest.len() > 1 && !rest.ends_with('/') {
                true => Ok(SyslogAddr::Unix(rest.into())),
                false => Err(format!(
                    "{rest:?} is not an absolute socket path (syslog+unix:///run/bantam/log)"
                )),
            },
        )
    }
}

enum Listener {
    Udp(UdpSocket),
    Unix(UnixDatagram, PathBuf),
    Tcp {
        listener: TcpListener,
        conns: Vec<Conn>,
        /// Connections closed at once because of the cap.
        refused: u64,
    },
}

struct Conn {
    stream: TcpStream,
    peer: String,
    framer: Framer,
}

/// A syslog receiver; see the module documentation.
pub struct SyslogSource {
    name: String,
    path: Arc<Path>,
    listener: Listener,
    buf: Box<[u8]>,
    pending: Taken,
}

impl SyslogSource {
    /// Binds the socket `logpath` names. A stale Unix socket at the path
    /// (left by a crash) is replaced; any other file there is an error.
    /// Must be called on a tokio runtime with I/O enabled.
    pub fn bind(logpath: &str) -> Result<SyslogSource, SourceError> {
        let scheme = |reason| SourceError::Scheme {
            logpath: logpath.to_owned(),
            reason,
        };
        let addr = SyslogAddr::parse(logpath)
            .ok_or_else(|| {
                scheme("not a syslog+udp://, syslog+tcp:// or syslog+unix:// path".into())
            })?
            .map_err(scheme)?;
        let io = |action, e| SourceError::io(logpath, action, e);
        let listener = match addr {
            SyslogAddr::Udp(a) => {
                let socket = std::net::UdpSocket::bind(a).map_err(|e| io("bind", e))?;
                socket.set_nonblocking(true).map_err(|e| io("bind", e))?;
                raise_receive_buffer(&socket);
                Listener::Udp(UdpSocket::from_std(socket).map_err(|e| io("bind", e))?)
            }
            SyslogAddr::Tcp(a) => {
                let socket = std::net::TcpListener::bind(a).map_err(|e| io("listen on", e))?;
                socket
                    .set_nonblocking(true)
                    .map_err(|e| io("listen on", e))?;
                Listener::Tcp {
                    listener: TcpListener::from_std(socket).map_err(|e| io("listen on", e))?,
                    conns: Vec::new(),
                    refused: 0,
                }
            }
            SyslogAddr::Unix(path) => {
                remove_stale_socket(&path).map_err(|e| io("replace", e))?;
                let socket = UnixDatagram::bind(&path).map_err(|e| io("bind", e))?;
                raise_receive_buffer(&socket);
                use std::os::unix::fs::PermissionsExt;
                // Whoever can write here can have addresses banned: only
                // root (rsyslog) by default; widen it on purpose.
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| io("set permissions of", e))?;
                Listener::Unix(socket, path)
            }
        };
        Ok(SyslogSource {
            name: logpath.to_owned(),
            path: Arc::from(Path::new(logpath)),
            listener,
            buf: vec![0; DATAGRAM].into_boxed_slice(),
            pending: Taken::default(),
        })
    }

    /// TCP connections closed at once because [`MAX_CONNECTIONS`] were
    /// open (0 for datagram sockets).
    pub fn refused_connections(&self) -> u64 {
        match &self.listener {
            Listener::Tcp { refused, .. } => *refused,
            _ => 0,
        }
    }

    /// The next messages, as lines. Waits in epoll until there is one.
    /// Cancel-safe: messages read are kept until handed out.
    pub async fn next_batch(&mut self) -> Result<Batch, SourceError> {
        poll_fn(|cx| self.poll_messages(cx)).await?;
        Ok(Batch::new(
            self.path.clone(),
            std::mem::take(&mut self.pending),
            None,
        ))
    }

    fn poll_messages(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SourceError>> {
        let path = self.path.clone();
        let result = match &mut self.listener {
            Listener::Udp(socket) => poll_datagrams(&mut self.buf, &mut self.pending, |buf| {
                match socket.poll_recv_from(cx, buf) {
                    Poll::Ready(Ok(peer)) => Poll::Ready(Ok(peer.ip().to_string())),
                    Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                    Poll::Pending => Poll::Pending,
                }
            }),
            Listener::Unix(socket, local) => {
                let peer = local.to_string_lossy().into_owned();
                poll_datagrams(&mut self.buf, &mut self.pending, |buf| {
                    socket.poll_recv(cx, buf).map_ok(|()| peer.clone())
                })
            }
            Listener::Tcp {
                listener,
                conns,
                refused,
            } => {
                accept(cx, listener, conns, refused);
                read_conns(cx, conns, &mut self.buf, &mut self.pending);
                Ok(())
            }
        };
        result.map_err(|e| SourceError::io(&*path, "receive on", e))?;
        match self.pending.is_empty() {
            true => Poll::Pending,
            false => Poll::Ready(Ok(())),
        }
    }
}

/// Reads datagrams until none is waiting or a batch is full. `recv` fills
/// the buffer it is given and returns the sender.
fn poll_datagrams(
    buf: &mut [u8],
    out: &mut Taken,
    mut recv: impl FnMut(&mut tokio::io::ReadBuf<'_>) -> Poll<io::Result<String>>,
) -> io::Result<()> {
    let now = crate::stamp::now_us();
    for _ in 0..BATCH_MESSAGES {
        let mut read = tokio::io::ReadBuf::new(buf);
        match recv(&mut read) {
            Poll::Ready(Ok(peer)) => {
                let (line, meta) = parse(read.filled(), &peer, now);
                out.push_line(&line, meta);
            }
            // A datagram socket has no lasting error worth stopping for
            // (ICMP unreachable echoes, a truncated datagram): go on.
            Poll::Ready(Err(e)) if e.kind() != io::ErrorKind::OutOfMemory => continue,
            Poll::Ready(Err(e)) => return Err(e),
            Poll::Pending => break,
        }
    }
    Ok(())
}

fn accept(cx: &mut Context<'_>, listener: &TcpListener, conns: &mut Vec<Conn>, refused: &mut u64) {
    while let Poll::Ready(result) = listener.poll_accept(cx) {
        // Errors (EMFILE, a reset before accept) leave the listener usable.
        let Ok((stream, peer)) = result else { continue };
        if conns.len() >= MAX_CONNECTIONS {
            *refused += 1;
            continue;
        }
        conns.push(Conn {
            stream,
            peer: peer.ip().to_string(),
            framer: Framer::default(),
        });
    }
}

/// Reads each connection until it has no data or gave a message (so a
/// busy sender cannot starve the others: one read each per round); closed
/// connections are removed. A connection left without a registered wake-up
/// only when `out` has messages, i.e. when the caller returns `Ready`.
fn read_conns(cx: &mut Context<'_>, conns: &mut Vec<Conn>, buf: &mut [u8], out: &mut Taken) {
    let now = crate::stamp::now_us();
    conns.retain_mut(|conn| loop {
        match conn.stream.poll_read_ready(cx) {
            Poll::Pending => return true,
            Poll::Ready(Err(_)) => return false,
            Poll::Ready(Ok(())) => {}
        }
        let peer = conn.peer.clone();
        let mut message = |m: &[u8]| {
            let (line, meta) = parse(m, &peer, now);
            out.push_line(&line, meta);
        };
        match conn.stream.try_read(buf) {
            Ok(0) => {
                conn.framer.finish(&mut message);
                return false;
            }
            Ok(n) => {
                out.dropped += conn.framer.push(&buf[..n], &mut message);
                if out.dropped > 0 && out.sample.is_none() {
                    out.sample = Some(format!("syslog message from {peer}").into_bytes());
                }
                if !out.is_empty() {
                    return true;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        }
    });
}

fn raise_receive_buffer(socket: &impl AsRawFd) {
    let size = RECEIVE_BUFFER;
    for option in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        // SAFETY: a valid descriptor and a c_int-sized option value.
        let ok = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                option,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        } == 0;
        // FORCE needs CAP_NET_ADMIN; without it the plain option is
        // capped by net.core.rmem_max, which is still better than the
        // default.
        if ok {
            return;
        }
    }
}

fn remove_stale_socket(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => std::fs::remove_file(path),
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "a file that is not a socket is in the way",
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

impl Drop for SyslogSource {
    fn drop(&mut self) {
        if let Listener::Unix(_, path) = &self.listener {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Source for SyslogSource {
    fn next_batch(&mut self) -> NextBatch<'_> {
        Box::pin(async move { SyslogSource::next_batch(self).await.map(Some) })
    }

    fn state(&self) -> SourceState {
        SourceState::Following
    }

    fn name(&self) -> &str {
        &self.name
    }
}

const _: () = assert!(MAX_LINE_BYTES >= DATAGRAM);

#[cfg(test)]
#[path = "syslog_tests.rs"]
mod tests;
