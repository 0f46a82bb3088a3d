//! Dumps: asking the kernel for every object of a kind (here, the elements
//! of a set) and reading the answer, which spans many datagrams.
//!
//! A dump must be read to its end (`NLMSG_DONE` or an error) even when we no
//! longer care about it: the kernel keeps one dump running per socket and
//! refuses the next one (EBUSY) until then.

use super::attr::Attrs;
use super::message::{self, NLMSG_DONE, NLMSG_ERROR, NLMSG_OVERRUN, NLM_F_DUMP, NLM_F_DUMP_INTR};
use super::message::{NFNL_SUBSYS_NFTABLES, NLM_F_REQUEST};
use super::socket::Socket;
use crate::error::FirewallError;

/// How many times a dump is restarted when a concurrent change made it
/// inconsistent (`NLM_F_DUMP_INTR`): the set changed while we read it.
const ATTEMPTS: usize = 5;

/// Dumps `NFT_MSG_GET*` `nft_msg` for `family`: `put_attrs` writes the
/// request's attributes (which table, which set), `parse` decodes the
/// attributes of each answer message into `out`.
pub(crate) fn dump<T>(
    socket: &mut Socket,
    nft_msg: u16,
    family: u8,
    action: &str,
    put_attrs: impl Fn(&mut Vec<u8>),
    parse: impl Fn(Attrs<'_>, &mut Vec<T>) -> Result<(), String>,
) -> Result<Vec<T>, FirewallError> {
    let ty = (NFNL_SUBSYS_NFTABLES << 8) | nft_msg;
    dump_typed(socket, ty, family, action, put_attrs, parse)
}

/// [`dump`] for any nfnetlink subsystem: `ty` is the whole message type
/// (ipset's `NFNL_SUBSYS_IPSET << 8 | IPSET_CMD_LIST`).
pub(crate) fn dump_typed<T>(
    socket: &mut Socket,
    ty: u16,
    family: u8,
    action: &str,
    put_attrs: impl Fn(&mut Vec<u8>),
    parse: impl Fn(Attrs<'_>, &mut Vec<T>) -> Result<(), String>,
) -> Result<Vec<T>, FirewallError> {
    for _ in 0..ATTEMPTS {
        let mut out = Vec::new();
        let io_error = |source| FirewallError::Io {
            action: action.to_string(),
            source,
        };
        let seq = start(socket, ty, family, &put_attrs).map_err(io_error)?;

        let mut interrupted = false;
        let mut failure: Option<FirewallError> = None;
        'read: loop {
            let datagram = socket.recv(true).map_err(io_error)?.expect("blocking read");
            for msg in message::messages(datagram) {
                if msg.seq != seq {
                    continue; // left over from an earlier request
                }
                interrupted |= msg.flags & NLM_F_DUMP_INTR != 0;
                match msg.ty {
                    NLMSG_DONE => {
                        // The payload is an int: a negative errno if the dump
                        // failed after it started.
                        let code = msg
                            .payload
                            .get(..4)
                            .map_or(0, |b| i32::from_ne_bytes(b.try_into().unwrap()));
                        if code < 0 && failure.is_none() {
                            failure = Some(kernel_error(action, -code, None));
                        }
                        break 'read;
                    }
                    NLMSG_ERROR => {
                        if let Some(reply) = msg.error() {
                            if reply.errno != 0 && failure.is_none() {
                                failure = Some(kernel_error(action, reply.errno, reply.message));
                            }
                        }
                        break 'read;
                    }
                    NLMSG_OVERRUN => {
                        failure.get_or_insert(FirewallError::Protocol {
                            action: action.to_string(),
                            detail: "the kernel reported lost data (overrun)".to_string(),
                        });
                    }
                    _ => {
                        if failure.is_none() {
                            if let Err(detail) = parse(msg.nf_attrs(), &mut out) {
                                failure = Some(FirewallError::Protocol {
                                    action: action.to_string(),
                                    detail,
                                });
                            }
                        }
                    }
                }
            }
        }
        if let Some(failure) = failure {
            return Err(failure);
        }
        if !interrupted {
            return Ok(out);
        }
    }
    Err(FirewallError::Protocol {
        action: action.to_string(),
        detail: format!("the set kept changing during {ATTEMPTS} attempts to read it"),
    })
}

/// Whether dump `ty` answers with at least one item (`is_item` decides
/// for each answer message), read only as far as the first one. A dump
/// left unfinished this way is still running on `socket`, which refuses
/// every later dump (EBUSY): the caller drops it. Finding that a set of
/// a million elements is not empty costs one datagram instead of the
/// whole dump (which is quadratic for a hash set: each datagram walks
/// the table from the start to resume).
pub(crate) fn any_item(
    socket: &mut Socket,
    ty: u16,
    family: u8,
    action: &str,
    put_attrs: impl Fn(&mut Vec<u8>),
    is_item: impl Fn(Attrs<'_>) -> bool,
) -> Result<bool, FirewallError> {
    let io_error = |source| FirewallError::Io {
        action: action.to_string(),
        source,
    };
    let seq = start(socket, ty, family, &put_attrs).map_err(io_error)?;
    loop {
        let datagram = socket.recv(true).map_err(io_error)?.expect("blocking read");
        for msg in message::messages(datagram) {
            if msg.seq != seq {
                continue;
            }
            match msg.ty {
                NLMSG_DONE => return Ok(false),
                NLMSG_ERROR => match msg.error() {
                    Some(reply) if reply.errno != 0 => {
                        return Err(kernel_error(action, reply.errno, reply.message))
                    }
                    _ => return Ok(false),
                },
                NLMSG_OVERRUN => {}
                _ if is_item(msg.nf_attrs()) => return Ok(true),
                _ => {}
            }
        }
    }
}

/// Sends the dump request; returns its sequence number.
fn start(
    socket: &mut Socket,
    ty: u16,
    family: u8,
    put_attrs: &impl Fn(&mut Vec<u8>),
) -> std::io::Result<u32> {
    let seq = socket.seq();
    socket.set_seq(seq.wrapping_add(1));
    let mut request = Vec::with_capacity(256);
    let at = message::begin(&mut request, ty, NLM_F_REQUEST | NLM_F_DUMP, seq, family, 0);
    put_attrs(&mut request);
    message::finish(&mut request, at);
    socket.send(&request)?;
    Ok(seq)
}

fn kernel_error(action: &str, errno: i32, message: Option<&str>) -> FirewallError {
    FirewallError::Kernel {
        action: action.to_string(),
        errno,
        element: None,
        kernel_message: message.map(str::to_string),
    }
}
