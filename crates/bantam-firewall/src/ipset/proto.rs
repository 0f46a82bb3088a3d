//! ipset's netlink protocol (`<linux/netfilter/ipset/ip_set.h>`): the
//! messages the `ipset` program sends, written directly.
//!
//! ipset has no transactions: each message is applied on its own. But one
//! ADD or DEL message carries a list of entries (`IPSET_ATTR_ADT`, what
//! `ipset restore` uses), and many messages fit in one datagram, which the
//! kernel processes in our `send` call: 10,000 bans are a handful of
//! messages and one system call, not 10,000 processes.
//!
//! Absent `NLM_F_EXCL`, the kernel ignores an ADD of an entry that exists
//! (and replaces its timeout) and a DEL of one that does not: bans and
//! unbans are idempotent without reading the set first.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::FirewallError;
use crate::netlink::attr::{Attrs, PutAttr, MAX_PAYLOAD};
use crate::netlink::dump::dump_typed;
use crate::netlink::message::{self, NLM_F_ACK, NLM_F_REQUEST};
use crate::netlink::socket::Socket;
use crate::target::Target;

pub(crate) const NFNL_SUBSYS_IPSET: u16 = 6;
/// Protocol 6 is what every kernel since 2.6.39 accepts.
const PROTOCOL: u8 = 6;

pub(crate) const CMD_CREATE: u16 = 2;
pub(crate) const CMD_DESTROY: u16 = 3;
pub(crate) const CMD_FLUSH: u16 = 4;
const CMD_LIST: u16 = 7;
pub(crate) const CMD_ADD: u16 = 9;
pub(crate) const CMD_DEL: u16 = 10;

const ATTR_PROTOCOL: u16 = 1;
const ATTR_SETNAME: u16 = 2;
const ATTR_TYPENAME: u16 = 3;
const ATTR_REVISION: u16 = 4;
const ATTR_FAMILY: u16 = 5;
const ATTR_FLAGS: u16 = 6;
const ATTR_DATA: u16 = 7;
const ATTR_ADT: u16 = 8;
/// Required beside a list of entries (`ipset restore`'s line number).
const ATTR_LINENO: u16 = 9;
const ATTR_IP: u16 = 1;
const ATTR_CIDR: u16 = 3;
const ATTR_TIMEOUT: u16 = 6;
const ATTR_HASHSIZE: u16 = 18;
const ATTR_MAXELEM: u16 = 19;
const ATTR_ELEMENTS: u16 = 24;
const ATTR_REFERENCES: u16 = 25;
const ATTR_IPADDR_IPV4: u16 = 1;
const ATTR_IPADDR_IPV6: u16 = 2;
/// `IPSET_FLAG_LIST_HEADER`: a listing of the header only, no entries.
const FLAG_LIST_HEADER: u32 = 1 << 2;

/// The longest timeout the kernel takes, in seconds (about 24.8 days):
/// `(UINT_MAX >> 1) / MSEC_PER_SEC`.
pub(crate) const MAX_TIMEOUT: u32 = (u32::MAX >> 1) / 1000;

/// Bytes of entries per message, under the 64 KiB attribute limit.
const LIST_BUDGET: usize = MAX_PAYLOAD - 1024;

/// One of our sets: its name, type and family.
#[derive(Clone, Debug)]
pub(crate) struct SetDef {
    pub name: String,
    pub net: bool,
    pub v6: bool,
}

impl SetDef {
    fn family(&self) -> u8 {
        if self.v6 {
            libc::AF_INET6 as u8
        } else {
            libc::AF_INET as u8
        }
    }
}

/// A set's header: how many entries, how many rules use it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Header {
    pub elements: u32,
    pub references: u32,
}

/// An entry as listed: target and seconds left (`None`: permanent).
pub(crate) type Listed = (Target, Option<u32>);

/// Messages of one request, sent as one datagram, each acknowledged.
pub(crate) struct Request {
    buf: Vec<u8>,
    messages: Vec<(u32, String)>,
    seq: u32,
}

impl Request {
    pub fn new(socket: &Socket) -> Request {
        Request {
            buf: Vec::new(),
            messages: Vec::new(),
            seq: socket.seq(),
        }
    }

    fn begin(&mut self, cmd: u16, set: &str, action: String) -> usize {
        let ty = (NFNL_SUBSYS_IPSET << 8) | cmd;
        let start = message::begin(
            &mut self.buf,
            ty,
            NLM_F_REQUEST | NLM_F_ACK,
            self.seq,
            libc::AF_INET as u8,
            0,
        );
        self.messages.push((self.seq, action));
        self.seq = self.seq.wrapping_add(1);
        self.buf.put_bytes(ATTR_PROTOCOL, &[PROTOCOL]);
        self.buf.put_str(ATTR_SETNAME, set);
        start
    }

    /// `ipset create NAME hash:ip|hash:net family inet|inet6 timeout 0
    /// maxelem N`: an existing set of the same definition is kept.
    pub fn create(&mut self, set: &SetDef, maxelem: u32) {
        let start = self.begin(
            CMD_CREATE,
            &set.name,
            format!("creating ipset {}", set.name),
        );
        let (ty, revision) = if set.net {
            ("hash:net", 6)
        } else {
            ("hash:ip", 4)
        };
        self.buf.put_str(ATTR_TYPENAME, ty);
        self.buf.put_bytes(ATTR_REVISION, &[revision]);
        self.buf.put_bytes(ATTR_FAMILY, &[set.family()]);
        let data = self.buf.begin_nest(ATTR_DATA);
        // Timeout support, default 0: entries without one never expire.
        self.buf.put_net32(ATTR_TIMEOUT, 0);
        self.buf.put_net32(ATTR_MAXELEM, maxelem);
        self.buf.put_net32(ATTR_HASHSIZE, 1024);
        self.buf.end_nest(data);
        message::finish(&mut self.buf, start);
    }

    /// DESTROY or FLUSH of a whole set.
    pub fn whole(&mut self, cmd: u16, set: &str) {
        let verb = if cmd == CMD_DESTROY {
            "destroying"
        } else {
            "flushing"
        };
        let start = self.begin(cmd, set, format!("{verb} ipset {set}"));
        message::finish(&mut self.buf, start);
    }

    /// ADD (with timeouts in seconds, 0 permanent) or DEL of entries, as
    /// many messages as they need.
    pub fn entries(&mut self, cmd: u16, set: &str, entries: &[(Target, u32)]) {
        let verb = if cmd == CMD_ADD { "adding" } else { "deleting" };
        for chunk in chunks(entries) {
            let action = format!("{verb} {} entries of ipset {set}", chunk.len());
            let start = self.begin(cmd, set, action);
            self.buf.put_net32(ATTR_LINENO, 0);
            let adt = self.buf.begin_nest(ATTR_ADT);
            for &(target, timeout) in chunk {
                let data = self.buf.begin_nest(ATTR_DATA);
                put_ip(&mut self.buf, target.addr());
                if let Target::Net { prefix, .. } = target {
                    self.buf.put_bytes(ATTR_CIDR, &[prefix]);
                }
                if cmd == CMD_ADD {
                    self.buf.put_net32(ATTR_TIMEOUT, timeout);
                }
                self.buf.end_nest(data);
            }
            self.buf.end_nest(adt);
            message::finish(&mut self.buf, start);
        }
    }

    /// Sends everything; the first failure (in message order) is the error.
    /// `tolerate` lists errnos that are no failure for this request.
    pub fn send(self, socket: &mut Socket, tolerate: &[i32]) -> Result<(), FirewallError> {
        if self.messages.is_empty() {
            return Ok(());
        }
        let first = self.messages[0].0;
        socket.set_seq(self.seq);
        let io = |source| FirewallError::Io {
            action: self.messages[0].1.clone(),
            source,
        };
        socket.fit_send(self.buf.len()).map_err(io)?;
        socket.fit_recv(self.messages.len() * 1024).map_err(io)?;
        socket.send(&self.buf).map_err(io)?;
        let mut acked = 0;
        let mut failure: Option<(u32, i32, Option<String>)> = None;
        while acked < self.messages.len() {
            let Some(data) = socket.recv(true).map_err(io)? else {
                break;
            };
            for reply in message::messages(data).filter_map(|m| m.error()) {
                let position = reply.seq.wrapping_sub(first);
                if position as usize >= self.messages.len() {
                    continue;
                }
                acked += 1;
                let earlier = failure
                    .as_ref()
                    .is_none_or(|f| position < f.0.wrapping_sub(first));
                if reply.errno != 0 && !tolerate.contains(&reply.errno) && earlier {
                    failure = Some((reply.seq, reply.errno, reply.message.map(str::to_string)));
                }
            }
        }
        match failure {
            None => Ok(()),
            Some((seq, errno, kernel_message)) => Err(FirewallError::Kernel {
                action: self.messages[seq.wrapping_sub(first) as usize].1.clone(),
                errno,
                element: None,
                kernel_message: kernel_message.or_else(|| describe(errno).map(str::to_string)),
            }),
        }
    }
}

/// Splits entries so each message's list stays under the attribute limit.
fn chunks(entries: &[(Target, u32)]) -> impl Iterator<Item = &[(Target, u32)]> {
    // Largest entry: data nest + ip nest + 16-byte address + cidr + timeout.
    const ENTRY: usize = 4 + (4 + 4 + 16) + 8 + 8;
    entries.chunks(LIST_BUDGET / ENTRY)
}

fn put_ip(buf: &mut Vec<u8>, addr: IpAddr) {
    let nest = buf.begin_nest(ATTR_IP);
    match addr {
        IpAddr::V4(v4) => buf.put_bytes(ATTR_IPADDR_IPV4 | 1 << 14, &v4.octets()),
        IpAddr::V6(v6) => buf.put_bytes(ATTR_IPADDR_IPV6 | 1 << 14, &v6.octets()),
    }
    buf.end_nest(nest);
}

/// ipset's own error numbers (above 4096), which strerror does not know.
pub(crate) fn describe(errno: i32) -> Option<&'static str> {
    Some(match errno {
        4097 => "ipset protocol mismatch",
        4098 => "set type not supported by this kernel (ip_set_hash_* module missing?)",
        4099 => "maximum number of sets reached",
        4102 => "a set of this name exists with a different type",
        4103 => "entry exists",
        4104 => "invalid prefix length for hash:net (0 is not allowed)",
        4107 => "timeout out of range",
        4108 => "set is referenced by a rule (remove the rule first)",
        4352 => "hash is full (maxelem reached)",
        _ => return None,
    })
}

/// The header of `set` (ENOENT when it does not exist).
pub(crate) fn header(socket: &mut Socket, set: &str) -> Result<Header, FirewallError> {
    let headers = list_raw(socket, set, true, |attrs, out: &mut Vec<Header>| {
        if let Some(data) = attrs.get(ATTR_DATA) {
            let data = data.nested();
            let get = |ty| data.get(ty).and_then(|a| a.be32()).unwrap_or(0);
            out.push(Header {
                elements: get(ATTR_ELEMENTS),
                references: get(ATTR_REFERENCES),
            });
        }
        Ok(())
    })?;
    Ok(headers.into_iter().next().unwrap_or_default())
}

/// Every entry of `set`.
pub(crate) fn list(socket: &mut Socket, set: &SetDef) -> Result<Vec<Listed>, FirewallError> {
    list_raw(socket, &set.name, false, |attrs, out| {
        let Some(adt) = attrs.get(ATTR_ADT) else {
            return Ok(());
        };
        for data in adt.nested().filter(|a| a.ty == ATTR_DATA) {
            let fields = data.nested();
            let ip = fields.get(ATTR_IP).ok_or("entry without an address")?;
            let addr = parse_ip(ip.nested())?;
            let target = match fields
                .get(ATTR_CIDR)
                .and_then(|a| a.payload.first().copied())
            {
                Some(prefix) if set.net => Target::net(addr, prefix),
                _ => Target::Addr(addr),
            };
            let left = fields.get(ATTR_TIMEOUT).and_then(|a| a.be32());
            out.push((target, left.filter(|&t| t > 0)));
        }
        Ok(())
    })
}

fn parse_ip(attrs: Attrs<'_>) -> Result<IpAddr, String> {
    if let Some(a) = attrs.get(ATTR_IPADDR_IPV4) {
        let octets: [u8; 4] = a.payload.try_into().map_err(|_| "bad IPv4 address")?;
        return Ok(IpAddr::V4(Ipv4Addr::from(octets)));
    }
    if let Some(a) = attrs.get(ATTR_IPADDR_IPV6) {
        let octets: [u8; 16] = a.payload.try_into().map_err(|_| "bad IPv6 address")?;
        return Ok(IpAddr::V6(Ipv6Addr::from(octets)));
    }
    Err("entry address of unknown family".to_string())
}

fn list_raw<T>(
    socket: &mut Socket,
    set: &str,
    header_only: bool,
    parse: impl Fn(Attrs<'_>, &mut Vec<T>) -> Result<(), String>,
) -> Result<Vec<T>, FirewallError> {
    dump_typed(
        socket,
        (NFNL_SUBSYS_IPSET << 8) | CMD_LIST,
        libc::AF_INET as u8,
        &format!("listing ipset {set}"),
        |buf| {
            buf.put_bytes(ATTR_PROTOCOL, &[PROTOCOL]);
            buf.put_str(ATTR_SETNAME, set);
            if header_only {
                buf.put_net32(ATTR_FLAGS, FLAG_LIST_HEADER);
            }
        },
        parse,
    )
}
