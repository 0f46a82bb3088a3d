//! Netlink message framing for nfnetlink: `nlmsghdr` + `nfgenmsg` headers on
//! the way out, message splitting and error (ACK) decoding on the way in.
//!
//! Constants are from `<linux/netlink.h>` and `<linux/netfilter/nfnetlink.h>`;
//! they are kernel ABI and never change.

use super::attr::{align4, Attrs};

pub(crate) const NLMSG_HDRLEN: usize = 16;
/// `struct nfgenmsg`: family, version, resource id (big-endian).
pub(crate) const NFGENMSG_LEN: usize = 4;

pub(crate) const NLMSG_ERROR: u16 = 2;
pub(crate) const NLMSG_DONE: u16 = 3;
pub(crate) const NLMSG_OVERRUN: u16 = 4;

pub(crate) const NLM_F_REQUEST: u16 = 0x01;
pub(crate) const NLM_F_ACK: u16 = 0x04;
pub(crate) const NLM_F_DUMP_INTR: u16 = 0x10;
pub(crate) const NLM_F_DUMP: u16 = 0x100 | 0x200;
pub(crate) const NLM_F_CREATE: u16 = 0x400;
pub(crate) const NLM_F_APPEND: u16 = 0x800;
/// In an error message: the echo of our message is its header only.
const NLM_F_CAPPED: u16 = 0x100;
/// In an error message: extended-ACK attributes follow.
const NLM_F_ACK_TLVS: u16 = 0x200;

const NLMSGERR_ATTR_MSG: u16 = 1;
const NLMSGERR_ATTR_OFFS: u16 = 2;

pub(crate) const NFNETLINK_V0: u8 = 0;
pub(crate) const NFNL_SUBSYS_NFTABLES: u16 = 10;
pub(crate) const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
pub(crate) const NFNL_MSG_BATCH_END: u16 = 0x11;

/// Appends `nlmsghdr` (length patched by [`finish`]) and `nfgenmsg`; returns
/// where the message starts.
pub(crate) fn begin(
    buf: &mut Vec<u8>,
    ty: u16,
    flags: u16,
    seq: u32,
    family: u8,
    res_id: u16,
) -> usize {
    let start = buf.len();
    buf.extend_from_slice(&0u32.to_ne_bytes()); // length, see finish()
    buf.extend_from_slice(&ty.to_ne_bytes());
    buf.extend_from_slice(&flags.to_ne_bytes());
    buf.extend_from_slice(&seq.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it in
    buf.push(family);
    buf.push(NFNETLINK_V0);
    buf.extend_from_slice(&res_id.to_be_bytes());
    start
}

/// Writes the final length of the message that starts at `start`.
pub(crate) fn finish(buf: &mut [u8], start: usize) {
    let len = u32::try_from(buf.len() - start).expect("netlink message over 4 GiB");
    buf[start..start + 4].copy_from_slice(&len.to_ne_bytes());
}

/// One message from a datagram the kernel sent us.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Message<'a> {
    pub ty: u16,
    pub flags: u16,
    pub seq: u32,
    /// Everything after `nlmsghdr`.
    pub payload: &'a [u8],
}

impl<'a> Message<'a> {
    /// The attributes of an nfnetlink message (after `nfgenmsg`).
    pub fn nf_attrs(&self) -> Attrs<'a> {
        Attrs::new(self.payload.get(NFGENMSG_LEN..).unwrap_or(&[]))
    }

    /// Decodes an `NLMSG_ERROR` message (an ACK when `errno` is 0).
    pub fn error(&self) -> Option<ErrorReply<'a>> {
        if self.ty != NLMSG_ERROR || self.payload.len() < 4 + NLMSG_HDRLEN {
            return None;
        }
        let code = i32::from_ne_bytes(self.payload[0..4].try_into().ok()?);
        let orig = &self.payload[4..4 + NLMSG_HDRLEN];
        let orig_len = u32::from_ne_bytes(orig[0..4].try_into().ok()?) as usize;
        let orig_seq = u32::from_ne_bytes(orig[8..12].try_into().ok()?);
        let mut reply = ErrorReply {
            errno: -code,
            seq: orig_seq,
            message: None,
            bad_attr_offset: None,
        };
        if self.flags & NLM_F_ACK_TLVS != 0 {
            // The original message is echoed in full unless the kernel capped
            // it (we ask it to, NETLINK_CAP_ACK); the TLVs follow either way.
            let capped = self.flags & NLM_F_CAPPED != 0;
            let echoed = if capped {
                NLMSG_HDRLEN
            } else {
                align4(orig_len)
            };
            if let Some(tlvs) = self.payload.get(4 + echoed..) {
                let attrs = Attrs::new(tlvs);
                reply.message = attrs.get(NLMSGERR_ATTR_MSG).and_then(|a| a.str());
                reply.bad_attr_offset = attrs.get(NLMSGERR_ATTR_OFFS).and_then(|a| a.ne32());
            }
        }
        Some(reply)
    }
}

/// The kernel's answer to one message of ours.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ErrorReply<'a> {
    /// Positive errno; 0 for a plain acknowledgment.
    pub errno: i32,
    /// The sequence number of the message answered.
    pub seq: u32,
    /// Extended-ACK text.
    pub message: Option<&'a str>,
    /// Extended ACK: offset of the attribute the kernel rejected, from the
    /// start of our message's `nlmsghdr`.
    pub bad_attr_offset: Option<u32>,
}

/// Splits a datagram into its messages. Stops at the first malformed header.
pub(crate) fn messages(data: &[u8]) -> impl Iterator<Item = Message<'_>> {
    let mut rest = data;
    std::iter::from_fn(move || {
        if rest.len() < NLMSG_HDRLEN {
            return None;
        }
        let len = u32::from_ne_bytes(rest[0..4].try_into().ok()?) as usize;
        if len < NLMSG_HDRLEN || len > rest.len() {
            rest = &[];
            return None;
        }
        let message = Message {
            ty: u16::from_ne_bytes(rest[4..6].try_into().ok()?),
            flags: u16::from_ne_bytes(rest[6..8].try_into().ok()?),
            seq: u32::from_ne_bytes(rest[8..12].try_into().ok()?),
            payload: &rest[NLMSG_HDRLEN..len],
        };
        rest = &rest[align4(len).min(rest.len())..];
        Some(message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::attr::PutAttr;

    #[test]
    fn framing_round_trip() {
        let mut buf = Vec::new();
        let first = begin(&mut buf, 0x0a09, NLM_F_REQUEST, 7, 1, 0);
        buf.put_str(1, "bantam");
        finish(&mut buf, first);
        let second = begin(&mut buf, 0x0a0c, NLM_F_REQUEST | NLM_F_ACK, 8, 1, 0);
        finish(&mut buf, second);

        let parsed: Vec<_> = messages(&buf).collect();
        assert_eq!(parsed.len(), 2);
        assert_eq!((parsed[0].ty, parsed[0].seq), (0x0a09, 7));
        assert_eq!(parsed[0].nf_attrs().get(1).unwrap().str(), Some("bantam"));
        assert_eq!(parsed[1].flags, NLM_F_REQUEST | NLM_F_ACK);
        assert_eq!(parsed[1].nf_attrs().count(), 0);
    }

    #[test]
    fn decodes_capped_error_with_extended_ack() {
        // nlmsghdr(error) + errno + original header + TLVs, as the kernel
        // builds it with NETLINK_CAP_ACK and NETLINK_EXT_ACK.
        let mut buf = Vec::new();
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        buf.extend_from_slice(&(NLM_F_CAPPED | NLM_F_ACK_TLVS).to_ne_bytes());
        buf.extend_from_slice(&[0; 8]);
        buf.extend_from_slice(&(-libc::EEXIST).to_ne_bytes());
        let orig_len = 4000u32;
        buf.extend_from_slice(&orig_len.to_ne_bytes());
        buf.extend_from_slice(&[0; 4]);
        buf.extend_from_slice(&42u32.to_ne_bytes());
        buf.extend_from_slice(&[0; 4]);
        buf.put_str(NLMSGERR_ATTR_MSG, "overlap");
        buf.put_bytes(NLMSGERR_ATTR_OFFS, &120u32.to_ne_bytes());
        finish(&mut buf, 0);

        let message = messages(&buf).next().unwrap();
        let reply = message.error().unwrap();
        assert_eq!(reply.errno, libc::EEXIST);
        assert_eq!(reply.seq, 42);
        assert_eq!(reply.message, Some("overlap"));
        assert_eq!(reply.bad_attr_offset, Some(120));
    }
}
