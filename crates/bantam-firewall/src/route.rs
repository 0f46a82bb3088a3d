//! [`Route`]: bans as `blackhole`, `unreachable` or `prohibit` routes over
//! rtnetlink, for hosts without a packet filter (or to stop answers, not
//! only connections: a banned source's replies have nowhere to go).
//!
//! Every route we add carries protocol number [`PROTOCOL`] (`ip route show
//! proto 201`): that number is how we tell our routes from everyone
//! else's, so listing, flushing and teardown only ever touch routes
//! marked with it. The routes go in the main table, where the kernel's
//! lookup finds them without a policy rule.
//!
//! All changes are many messages in one datagram (one system call for
//! 10,000 routes), each acknowledged. Routes have no timeouts (IPv4 has
//! none at all), so the daemon lifts these bans when they end, and
//! [`Backend::list`] reports them as permanent. A route to a banned
//! address is not a packet filter: the address's packets still arrive,
//! but nothing is sent back, so TCP cannot connect.
//!
//! Repairs: the kernel announces route deletions on the route multicast
//! groups; the watcher waits on them (no polling) and wakes for deletions
//! of routes of ours, our own unbans included (a verify is one filtered
//! dump).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::backend::{Backend, Repair, Watcher};
use crate::config::{BackendConfig, RouteType};
use crate::error::FirewallError;
use crate::liveness::Liveness;
use crate::netlink::attr::{Attrs, PutAttr};
use crate::netlink::message::{
    self, NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};
use crate::netlink::socket::Socket;
use crate::target::{BanEntry, Target};

/// Our routes' protocol number: unassigned in iproute2's `rt_protos`
/// (which names 0–18, 42, 99, 186–192).
pub const PROTOCOL: u8 = 201;

const RTM_NEWROUTE: u16 = 24;
const RTM_DELROUTE: u16 = 25;
const RTM_GETROUTE: u16 = 26;
const NLM_F_REPLACE: u16 = 0x100;
const NLM_F_CREATE: u16 = 0x400;
const RTA_DST: u16 = 1;
const RTA_TABLE: u16 = 15;
const RT_TABLE_MAIN: u8 = 254;
const RTNLGRP_IPV4_ROUTE: u32 = 7;
const RTNLGRP_IPV6_ROUTE: u32 = 11;
/// `struct rtmsg`: family, dst_len, src_len, tos, table, protocol, scope,
/// type, flags.
const RTMSG_LEN: usize = 12;

pub struct Route {
    kind: u8,
    socket: Socket,
    liveness: Liveness,
    events: Option<RouteEvents>,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

fn io(action: &str) -> impl Fn(std::io::Error) -> FirewallError + '_ {
    move |source| FirewallError::Io {
        action: action.to_string(),
        source,
    }
}

impl Route {
    pub fn open(config: &BackendConfig) -> Result<Route, FirewallError> {
        let kind = match config.route_type {
            RouteType::Blackhole => 6,
            RouteType::Unreachable => 7,
            RouteType::Prohibit => 8,
        };
        let action = "opening a NETLINK_ROUTE socket";
        let socket = Socket::open_protocol(libc::NETLINK_ROUTE).map_err(io(action))?;
        let mut events = Socket::open_protocol(libc::NETLINK_ROUTE).map_err(io(action))?;
        events.subscribe(RTNLGRP_IPV4_ROUTE).map_err(io(action))?;
        events.subscribe(RTNLGRP_IPV6_ROUTE).map_err(io(action))?;
        Ok(Route {
            kind,
            socket,
            liveness: Liveness::default(),
            events: Some(RouteEvents { socket: events }),
        })
    }

    /// One NEWROUTE/DELROUTE per target in one datagram; `tolerate`d
    /// errnos (ESRCH: no such route) are no failure.
    fn send(&mut self, ty: u16, targets: &[Target], tolerate: &[i32]) -> Result<(), FirewallError> {
        if targets.is_empty() {
            return Ok(());
        }
        let verb = if ty == RTM_NEWROUTE {
            "adding"
        } else {
            "deleting"
        };
        let action = format!("{verb} {} routes of protocol {PROTOCOL}", targets.len());
        let first = self.socket.seq();
        let mut buf = Vec::with_capacity(targets.len() * 48);
        let mut flags = NLM_F_REQUEST | NLM_F_ACK;
        if ty == RTM_NEWROUTE {
            flags |= NLM_F_CREATE | NLM_F_REPLACE;
        }
        for (i, target) in targets.iter().enumerate() {
            let start = begin(&mut buf, ty, flags, first.wrapping_add(i as u32));
            rtmsg(&mut buf, target.addr(), target.prefix(), self.kind);
            match target.addr() {
                IpAddr::V4(v4) => buf.put_bytes(RTA_DST, &v4.octets()),
                IpAddr::V6(v6) => buf.put_bytes(RTA_DST, &v6.octets()),
            }
            message::finish(&mut buf, start);
        }
        self.socket
            .set_seq(first.wrapping_add(targets.len() as u32));
        self.socket.fit_send(buf.len()).map_err(io(&action))?;
        self.socket
            .fit_recv(targets.len() * 1024)
            .map_err(io(&action))?;
        self.socket.send(&buf).map_err(io(&action))?;
        let mut acked = 0;
        let mut failure = None;
        while acked < targets.len() {
            let Some(data) = self.socket.recv(true).map_err(io(&action))? else {
                break;
            };
            for reply in message::messages(data).filter_map(|m| m.error()) {
                let i = reply.seq.wrapping_sub(first) as usize;
                if i >= targets.len() {
                    continue;
                }
                acked += 1;
                if reply.errno != 0 && !tolerate.contains(&reply.errno) && failure.is_none() {
                    failure = Some((i, reply.errno, reply.message.map(str::to_string)));
                }
            }
        }
        match failure {
            None => Ok(()),
            Some((i, errno, kernel_message)) => Err(FirewallError::Kernel {
                action,
                errno,
                element: Some(targets[i]),
                kernel_message,
            }),
        }
    }

    /// Our routes, both families.
    fn routes(&mut self) -> Result<Vec<Target>, FirewallError> {
        let mut found = Vec::new();
        for family in [libc::AF_INET, libc::AF_INET6] {
            let action = "listing routes";
            let seq = self.socket.seq();
            self.socket.set_seq(seq.wrapping_add(1));
            let mut buf = Vec::new();
            let start = begin(&mut buf, RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, seq);
            buf.extend_from_slice(&[family as u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            message::finish(&mut buf, start);
            self.socket.send(&buf).map_err(io(action))?;
            'read: loop {
                let data = self
                    .socket
                    .recv(true)
                    .map_err(io(action))?
                    .expect("blocking");
                for msg in message::messages(data) {
                    if msg.seq != seq {
                        continue;
                    }
                    match msg.ty {
                        NLMSG_DONE => break 'read,
                        NLMSG_ERROR => {
                            if let Some(reply) = msg.error().filter(|r| r.errno != 0) {
                                return Err(FirewallError::Kernel {
                                    action: action.to_string(),
                                    errno: reply.errno,
                                    element: None,
                                    kernel_message: None,
                                });
                            }
                            break 'read;
                        }
                        _ => found.extend(parse_route(msg.payload)),
                    }
                }
            }
        }
        Ok(found)
    }
}

fn begin(buf: &mut Vec<u8>, ty: u16, flags: u16, seq: u32) -> usize {
    let start = buf.len();
    buf.extend_from_slice(&0u32.to_ne_bytes());
    buf.extend_from_slice(&ty.to_ne_bytes());
    buf.extend_from_slice(&flags.to_ne_bytes());
    buf.extend_from_slice(&seq.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes());
    start
}

fn rtmsg(buf: &mut Vec<u8>, addr: IpAddr, prefix: u8, kind: u8) {
    let family = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // scope universe (0), as `ip route add blackhole` uses.
    buf.extend_from_slice(&[family as u8, prefix, 0, 0, RT_TABLE_MAIN, PROTOCOL, 0, kind]);
    buf.extend_from_slice(&0u32.to_ne_bytes());
}

/// The target of a route message if the route is ours.
fn parse_route(payload: &[u8]) -> Option<Target> {
    let header = payload.get(..RTMSG_LEN)?;
    let (family, dst_len, protocol) = (header[0], header[1], header[5]);
    if protocol != PROTOCOL {
        return None;
    }
    let attrs = Attrs::new(&payload[RTMSG_LEN..]);
    let table = attrs
        .get(RTA_TABLE)
        .and_then(|a| a.ne32())
        .unwrap_or(u32::from(header[4]));
    if table != u32::from(RT_TABLE_MAIN) {
        return None;
    }
    let dst = attrs.get(RTA_DST)?.payload;
    let addr = match family as i32 {
        libc::AF_INET => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(dst).ok()?)),
        libc::AF_INET6 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(dst).ok()?)),
        _ => return None,
    };
    Target::net(addr, dst_len).canonical().ok()
}

impl Backend for Route {
    fn name(&self) -> &'static str {
        "route"
    }

    /// Nothing to create: routes need no table or chain.
    fn setup(&mut self) -> Result<(), FirewallError> {
        Ok(())
    }

    fn ban(&mut self, entries: &[BanEntry]) -> Result<(), FirewallError> {
        let targets = entries
            .iter()
            .map(|e| e.target.canonical())
            .collect::<Result<Vec<_>, _>>()?;
        self.send(RTM_NEWROUTE, &targets, &[])?;
        self.liveness.banned(entries.iter().map(|e| e.timeout));
        Ok(())
    }

    fn unban(&mut self, targets: &[Target]) -> Result<(), FirewallError> {
        let targets = targets
            .iter()
            .map(|t| t.canonical())
            .collect::<Result<Vec<_>, _>>()?;
        self.send(RTM_DELROUTE, &targets, &[libc::ESRCH, libc::ENOENT])
    }

    fn list(&mut self) -> Result<Vec<BanEntry>, FirewallError> {
        let mut bans: Vec<BanEntry> = self
            .routes()?
            .into_iter()
            .map(BanEntry::permanent)
            .collect();
        bans.sort_by_key(|e| e.target);
        bans.dedup_by_key(|e| e.target);
        Ok(bans)
    }

    fn flush(&mut self) -> Result<(), FirewallError> {
        let ours = self.routes()?;
        self.send(RTM_DELROUTE, &ours, &[libc::ESRCH, libc::ENOENT])?;
        self.liveness.cleared();
        Ok(())
    }

    fn teardown(&mut self) -> Result<(), FirewallError> {
        self.flush()
    }

    /// Our routes all gone while bans should be in force: flushed.
    fn verify(&mut self) -> Result<Repair, FirewallError> {
        if self.liveness.live() && self.routes()?.is_empty() {
            self.liveness.cleared();
            return Ok(Repair::BansLost);
        }
        Ok(Repair::Intact)
    }

    fn watcher(&mut self) -> Option<Box<dyn Watcher>> {
        self.events.take().map(|w| Box::new(w) as Box<dyn Watcher>)
    }
}

/// Wakes on deletions of routes of ours.
struct RouteEvents {
    socket: Socket,
}

impl Watcher for RouteEvents {
    fn wait(&mut self) -> Result<(), FirewallError> {
        loop {
            match self.socket.recv(true) {
                Ok(Some(data)) => {
                    let ours = message::messages(data)
                        .any(|m| m.ty == RTM_DELROUTE && parse_route(m.payload).is_some());
                    if ours {
                        return Ok(());
                    }
                }
                Ok(None) => {}
                Err(err) if err.raw_os_error() == Some(libc::ENOBUFS) => return Ok(()),
                Err(source) => {
                    return Err(FirewallError::Io {
                        action: "reading route events".to_string(),
                        source,
                    })
                }
            }
        }
    }
}
