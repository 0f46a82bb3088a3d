//! Set elements: adding and deleting them in a batch, and reading them back.
//!
//! One NEWSETELEM message carries a list of elements, but that list is one
//! netlink attribute and an attribute's length is 16 bits: about 2,300
//! IPv4 elements fit. Larger changes are split into several messages *of the
//! same batch*, so they stay one transaction.
//!
//! Per element the kernel wants the key (the address, network byte order)
//! and, for timed bans, `NFTA_SET_ELEM_TIMEOUT` as a big-endian u64 of
//! milliseconds. Dumps give back the timeout and `NFTA_SET_ELEM_EXPIRATION`,
//! the milliseconds left.
//!
//! A few elements are read with [`lookup`]: one GETSETELEM request per
//! element, many requests in one datagram. A request naming several
//! elements would be answered only up to the first absent one, and a dump
//! costs the size of the set rather than of the question.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use super::abi::*;
use super::set::SetKind;
use super::table::object_name;
use crate::error::FirewallError;
use crate::netlink::attr::{Attrs, PutAttr, MAX_PAYLOAD};
use crate::netlink::batch::Batch;
use crate::netlink::dump::{any_item, dump};
use crate::netlink::message::{self, NLM_F_CREATE, NLM_F_REQUEST};
use crate::netlink::socket::Socket;
use crate::target::Target;

/// Bytes of element list per message: below the 64 KiB attribute limit with
/// room for one more element of the largest size.
const LIST_BUDGET: usize = MAX_PAYLOAD - 1024;
/// The largest encoded element: list entry + key (16-byte address) + flags +
/// timeout, with their attribute headers.
const MAX_ELEMENT: usize = 4 + (4 + 4 + 16) + (4 + 4) + (4 + 8);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Add,
    /// Fails with ENOENT on an absent element, which aborts the batch.
    Delete,
    /// Ignores absent elements (Linux 6.3+).
    Destroy,
}

/// One kernel element: an address, or one end of a network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Element {
    pub key: IpAddr,
    /// Marks the first address *after* a network in an interval set.
    pub interval_end: bool,
    pub timeout: Option<Duration>,
    /// The ban this element belongs to, for error messages.
    pub target: Target,
}

impl Element {
    /// The one element of `target` in a hash set: an address, or a
    /// network's first address (`net24`, `net64`).
    pub(crate) fn hashed(target: Target, timeout: Option<Duration>) -> Element {
        Element {
            key: target.addr(),
            interval_end: false,
            timeout,
            target,
        }
    }
}

/// Writes `elements` of one set as as many messages as their size needs.
pub(crate) fn write(batch: &mut Batch, table: &str, kind: SetKind, op: Op, elements: &[Element]) {
    if elements.is_empty() {
        return;
    }
    let bans = elements.iter().filter(|e| !e.interval_end).count();
    let plural = if bans == 1 { "" } else { "s" };
    let set = object_name("set", table, kind.name());
    let (msg, flags, action) = match op {
        Op::Add => (
            NFT_MSG_NEWSETELEM,
            NLM_F_CREATE,
            format!("adding {bans} element{plural} to {set}"),
        ),
        Op::Delete => (
            NFT_MSG_DELSETELEM,
            0,
            format!("deleting {bans} element{plural} from {set}"),
        ),
        Op::Destroy => (
            NFT_MSG_DESTROYSETELEM,
            0,
            format!("deleting {bans} element{plural} from {set}"),
        ),
    };
    let mut rest = elements;
    while !rest.is_empty() {
        batch.begin(msg, NFPROTO_INET, flags, &action);
        let buf = batch.buf();
        buf.put_str(NFTA_SET_ELEM_LIST_TABLE, table);
        buf.put_str(NFTA_SET_ELEM_LIST_SET, kind.name());
        let list = buf.begin_nest(NFTA_SET_ELEM_LIST_ELEMENTS);
        while let Some((element, tail)) = rest.split_first() {
            if batch.buf().nest_len(&list) + MAX_ELEMENT > LIST_BUDGET {
                break;
            }
            batch.note_item(element.target);
            put_element(batch.buf(), element, op);
            rest = tail;
        }
        batch.buf().end_nest(list);
        batch.end();
    }
}

fn put_element(buf: &mut Vec<u8>, element: &Element, op: Op) {
    let entry = buf.begin_nest(NFTA_LIST_ELEM);
    let key = buf.begin_nest(NFTA_SET_ELEM_KEY);
    match element.key {
        IpAddr::V4(v4) => buf.put_bytes(NFTA_DATA_VALUE, &v4.octets()),
        IpAddr::V6(v6) => buf.put_bytes(NFTA_DATA_VALUE, &v6.octets()),
    }
    buf.end_nest(key);
    if element.interval_end {
        buf.put_be32(NFTA_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
    }
    // A delete matches on the key alone.
    if let (Op::Add, Some(timeout)) = (op, element.timeout) {
        buf.put_be64(NFTA_SET_ELEM_TIMEOUT, millis(timeout));
    }
    buf.end_nest(entry);
}

/// The longest timeout the kernel takes (it converts milliseconds to
/// nanoseconds in a u64 and answers ERANGE beyond): about 584 years.
const MAX_TIMEOUT_MS: u64 = u64::MAX / 1_000_000 - 1;

/// Whole milliseconds, rounded up, at least 1 — a timeout of 0 would mean
/// "the set's default", which for our sets is "never" — and at most the
/// kernel's limit, so that no timeout can make a whole batch fail.
fn millis(timeout: Duration) -> u64 {
    let ms = timeout.as_nanos().div_ceil(1_000_000).max(1);
    u64::try_from(ms).unwrap_or(u64::MAX).min(MAX_TIMEOUT_MS)
}

/// An element as the kernel reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Listed {
    pub key: IpAddr,
    pub interval_end: bool,
    /// Time left; `None` for an element without timeout.
    pub remaining: Option<Duration>,
    /// The timeout it was given (or last refreshed with); `None`: none.
    pub timeout: Option<Duration>,
}

/// Every live element of a set (the kernel skips expired ones).
pub(crate) fn list(
    socket: &mut Socket,
    table: &str,
    kind: SetKind,
) -> Result<Vec<Listed>, FirewallError> {
    let action = format!("listing {}", object_name("set", table, kind.name()));
    dump(
        socket,
        NFT_MSG_GETSETELEM,
        NFPROTO_INET,
        &action,
        |buf| {
            buf.put_str(NFTA_SET_ELEM_LIST_TABLE, table);
            buf.put_str(NFTA_SET_ELEM_LIST_SET, kind.name());
        },
        parse_elements,
    )
}

/// Whether any of the sets `kinds` holds an element, reading at most the
/// first datagram of each (see [`any_item`]): `socket` is consumed, since
/// a dump left unfinished makes it refuse the next.
pub(crate) fn any_in(
    mut socket: Socket,
    table: &str,
    kinds: &[SetKind],
) -> Result<bool, FirewallError> {
    let ty = (message::NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETSETELEM;
    for &kind in kinds {
        let action = format!("listing {}", object_name("set", table, kind.name()));
        let put = |buf: &mut Vec<u8>| {
            buf.put_str(NFTA_SET_ELEM_LIST_TABLE, table);
            buf.put_str(NFTA_SET_ELEM_LIST_SET, kind.name());
        };
        let has_elements = |attrs: Attrs<'_>| {
            let mut found = Vec::new();
            parse_elements(attrs, &mut found).is_ok() && !found.is_empty()
        };
        if any_item(&mut socket, ty, NFPROTO_INET, &action, put, has_elements)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Requests sent in one datagram by [`lookup`]: their answers (a few hundred
/// bytes of socket buffer each) fit the receive buffer many times over.
const LOOKUP_CHUNK: usize = 256;

/// Each of `keys` as its set holds it, `None` where it is absent.
pub(crate) fn lookup(
    socket: &mut Socket,
    table: &str,
    keys: &[(SetKind, IpAddr)],
) -> Result<Vec<Option<Listed>>, FirewallError> {
    let mut found = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(LOOKUP_CHUNK) {
        found.extend(lookup_chunk(socket, table, chunk)?);
    }
    Ok(found)
}

fn lookup_chunk(
    socket: &mut Socket,
    table: &str,
    keys: &[(SetKind, IpAddr)],
) -> Result<Vec<Option<Listed>>, FirewallError> {
    let action = match keys.first() {
        Some((kind, _)) => format!("reading {}", object_name("set", table, kind.name())),
        None => return Ok(Vec::new()),
    };
    let io_error = |source| FirewallError::Io {
        action: action.clone(),
        source,
    };
    let first = socket.seq();
    socket.set_seq(first.wrapping_add(keys.len() as u32));
    let ty = (message::NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETSETELEM;
    let mut request = Vec::with_capacity(keys.len() * 96);
    for (seq, &(kind, key)) in (first..).zip(keys) {
        let start = message::begin(&mut request, ty, NLM_F_REQUEST, seq, NFPROTO_INET, 0);
        request.put_str(NFTA_SET_ELEM_LIST_TABLE, table);
        request.put_str(NFTA_SET_ELEM_LIST_SET, kind.name());
        let list = request.begin_nest(NFTA_SET_ELEM_LIST_ELEMENTS);
        let element = Element {
            key,
            interval_end: false,
            timeout: None,
            target: Target::Addr(key),
        };
        put_element(&mut request, &element, Op::Delete);
        request.end_nest(list);
        message::finish(&mut request, start);
    }
    socket.fit_recv(keys.len() * 2048).map_err(io_error)?;
    socket.send(&request).map_err(io_error)?;
    // Without NLM_F_ACK every request gets exactly one answer: the element,
    // or an error (ENOENT: absent).
    let mut answers: Vec<Option<Option<Listed>>> = vec![None; keys.len()];
    let mut left = keys.len();
    while left > 0 {
        let datagram = socket.recv(true).map_err(io_error)?.expect("blocking read");
        for msg in message::messages(datagram) {
            let at = msg.seq.wrapping_sub(first) as usize;
            if at >= keys.len() || answers[at].is_some() {
                continue; // left over from an earlier request
            }
            let answer = match msg.error() {
                // ENOENT: absent. (An errno of 0 would be an ACK, which
                // was not asked for: no element either.)
                Some(reply) if reply.errno == libc::ENOENT || reply.errno == 0 => None,
                Some(reply) => {
                    return Err(FirewallError::Kernel {
                        action,
                        errno: reply.errno,
                        element: Some(Target::Addr(keys[at].1)),
                        kernel_message: reply.message.map(str::to_string),
                    })
                }
                _ => {
                    let mut listed = Vec::with_capacity(1);
                    parse_elements(msg.nf_attrs(), &mut listed).map_err(|detail| {
                        FirewallError::Protocol {
                            action: action.clone(),
                            detail,
                        }
                    })?;
                    listed.into_iter().next()
                }
            };
            answers[at] = Some(answer);
            left -= 1;
        }
    }
    Ok(answers.into_iter().map(Option::flatten).collect())
}

fn parse_elements(attrs: Attrs<'_>, out: &mut Vec<Listed>) -> Result<(), String> {
    let Some(list) = attrs.get(NFTA_SET_ELEM_LIST_ELEMENTS) else {
        return Ok(()); // an empty set may answer without a list
    };
    for entry in list.nested().filter(|a| a.ty == NFTA_LIST_ELEM) {
        let fields = entry.nested();
        let key = fields
            .get(NFTA_SET_ELEM_KEY)
            .and_then(|key| key.nested().get(NFTA_DATA_VALUE))
            .ok_or("element without a key")?;
        let key = match key.payload.len() {
            4 => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(key.payload).unwrap())),
            16 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(key.payload).unwrap())),
            n => return Err(format!("element key of {n} bytes is not an address")),
        };
        let flags = fields
            .get(NFTA_SET_ELEM_FLAGS)
            .and_then(|a| a.be32())
            .unwrap_or(0);
        let timeout = fields.get(NFTA_SET_ELEM_TIMEOUT).and_then(|a| a.be64());
        let expiration = fields.get(NFTA_SET_ELEM_EXPIRATION).and_then(|a| a.be64());
        // Permanent elements come without either attribute (or a zero
        // timeout); a timed one always has its expiration.
        let remaining = match (timeout, expiration) {
            (Some(t), Some(left)) if t != 0 => Some(Duration::from_millis(left)),
            (Some(t), None) if t != 0 => Some(Duration::from_millis(t)),
            _ => None,
        };
        out.push(Listed {
            key,
            interval_end: flags & NFT_SET_ELEM_INTERVAL_END != 0,
            remaining,
            timeout: timeout.filter(|&t| t != 0).map(Duration::from_millis),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::message::messages;

    #[test]
    fn timeouts_round_up_to_milliseconds() {
        assert_eq!(millis(Duration::ZERO), 1);
        assert_eq!(millis(Duration::from_micros(1500)), 2);
        assert_eq!(millis(Duration::from_secs(3600)), 3_600_000);
        assert_eq!(millis(Duration::MAX), MAX_TIMEOUT_MS);
    }

    #[test]
    fn large_lists_split_into_messages_of_one_batch() {
        let socket_seq_start = 1;
        let elements: Vec<Element> = (0..5000u32)
            .map(|i| {
                let key = IpAddr::V4(Ipv4Addr::from(0xC612_0000 + i));
                Element {
                    key,
                    interval_end: false,
                    timeout: Some(Duration::from_secs(60)),
                    target: Target::Addr(key),
                }
            })
            .collect();
        let mut batch = Batch::new(socket_seq_start);
        write(&mut batch, "bantam", SetKind::Addr4, Op::Add, &elements);
        let bytes = batch.into_bytes();
        let msgs: Vec<_> = messages(&bytes).collect();
        // begin, three element messages, end.
        assert_eq!(msgs.len(), 5, "5000 x 28 bytes need three messages");
        let mut decoded = Vec::new();
        for msg in &msgs[1..4] {
            assert!(msg.payload.len() < 65536);
            parse_elements(msg.nf_attrs(), &mut decoded).unwrap();
        }
        assert_eq!(decoded.len(), 5000);
        assert_eq!(decoded[4999].key, elements[4999].key);
        assert_eq!(decoded[0].remaining, Some(Duration::from_secs(60)));
    }
}
