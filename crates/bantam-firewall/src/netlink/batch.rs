//! [`Batch`]: many nf_tables changes sent as one transaction.
//!
//! `NFNL_MSG_BATCH_BEGIN`, the change messages, `NFNL_MSG_BATCH_END`, all in
//! one datagram. The kernel applies the batch atomically: either every
//! message succeeds and the new ruleset generation is committed at once, or
//! the first failure aborts all of it. One system call bans 5,000 addresses.
//!
//! Every message asks for an ACK so that success is confirmed, not assumed:
//! after the send we count one answer per message, and report the first
//! failure with the action the message was for (and the element, when the
//! kernel's extended ACK points at one).

use super::message::{self, NFNL_MSG_BATCH_BEGIN, NFNL_MSG_BATCH_END, NFNL_SUBSYS_NFTABLES};
use super::message::{NLM_F_ACK, NLM_F_REQUEST};
use super::socket::Socket;
use crate::error::FirewallError;
use crate::target::Target;

/// What one message of the batch does, to explain its failure.
struct Sent {
    seq: u32,
    action: String,
    /// Offsets (from the message start) where each element's attribute
    /// begins, ascending, with the element; lets an extended ACK name it.
    items: Vec<(u32, Target)>,
}

/// What the kernel said about a batch.
#[derive(Default)]
struct Answers {
    /// Answers to our messages, failures included.
    acked: usize,
    /// The failure of the earliest message: the cause; later ones are
    /// usually consequences.
    first_failure: Option<Failure>,
}

struct Failure {
    seq: u32,
    errno: i32,
    kernel_message: Option<String>,
    bad_attr_offset: Option<u32>,
}

pub(crate) struct Batch {
    buf: Vec<u8>,
    begin_seq: u32,
    next_seq: u32,
    sent: Vec<Sent>,
    /// Start of the message being written.
    open: Option<usize>,
}

impl Batch {
    /// A batch whose messages are numbered from `begin_seq` (the socket's
    /// next sequence number; [`Batch::send`] moves the socket past them).
    pub fn new(begin_seq: u32) -> Batch {
        let mut buf = Vec::with_capacity(4096);
        let start = message::begin(
            &mut buf,
            NFNL_MSG_BATCH_BEGIN,
            NLM_F_REQUEST,
            begin_seq,
            libc::AF_UNSPEC as u8,
            NFNL_SUBSYS_NFTABLES,
        );
        message::finish(&mut buf, start);
        Batch {
            buf,
            begin_seq,
            next_seq: begin_seq.wrapping_add(1),
            sent: Vec::new(),
            open: None,
        }
    }

    /// Starts an nf_tables message `NFT_MSG_*` for `family`; `action` is how
    /// errors describe it ("adding 3 elements to set inet bantam addr4").
    pub fn begin(&mut self, nft_msg: u16, family: u8, flags: u16, action: &str) {
        assert!(self.open.is_none(), "nf_tables message left open");
        let seq = self.next_seq;
        self.next_seq = seq.wrapping_add(1);
        let ty = (NFNL_SUBSYS_NFTABLES << 8) | nft_msg;
        let flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        self.open = Some(message::begin(&mut self.buf, ty, flags, seq, family, 0));
        self.sent.push(Sent {
            seq,
            action: action.to_string(),
            items: Vec::new(),
        });
    }

    /// The buffer to write the open message's attributes into.
    pub fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Notes that the next attribute written describes `target`.
    pub fn note_item(&mut self, target: Target) {
        let start = self.open.expect("no nf_tables message open");
        let offset = (self.buf.len() - start) as u32;
        self.sent
            .last_mut()
            .expect("open message")
            .items
            .push((offset, target));
    }

    pub fn end(&mut self) {
        let start = self.open.take().expect("no nf_tables message open");
        message::finish(&mut self.buf, start);
    }

    /// Closes the batch with BATCH_END; returns its sequence number.
    fn close(&mut self) -> u32 {
        assert!(self.open.is_none(), "nf_tables message left open");
        let start = message::begin(
            &mut self.buf,
            NFNL_MSG_BATCH_END,
            NLM_F_REQUEST,
            self.next_seq,
            libc::AF_UNSPEC as u8,
            NFNL_SUBSYS_NFTABLES,
        );
        message::finish(&mut self.buf, start);
        self.next_seq
    }

    /// The bytes that would be sent.
    #[cfg(test)]
    pub fn into_bytes(mut self) -> Vec<u8> {
        self.close();
        self.buf
    }

    /// Sends the batch and waits for the kernel's verdict on every message.
    pub fn send(mut self, socket: &mut Socket) -> Result<(), FirewallError> {
        if self.sent.is_empty() {
            return Ok(());
        }
        let end_seq = self.close();
        socket.set_seq(end_seq.wrapping_add(1));

        let io_error = |source| FirewallError::Io {
            action: self.summary(),
            source,
        };
        socket.fit_send(self.buf.len()).map_err(io_error)?;
        // An ACK costs about 1 KiB of receive buffer (the skb around it).
        socket.fit_recv(self.sent.len() * 1024).map_err(io_error)?;
        socket.send(&self.buf).map_err(io_error)?;

        let answers = self.collect_answers(socket, end_seq)?;
        if let Some(failure) = answers.first_failure {
            return Err(self.failure(failure));
        }
        if answers.acked < self.sent.len() {
            return Err(FirewallError::Protocol {
                action: self.summary(),
                detail: format!(
                    "the kernel acknowledged {} of {} changes; the batch's outcome is unknown",
                    answers.acked,
                    self.sent.len()
                ),
            });
        }
        Ok(())
    }

    /// Reads every answer queued for this batch (see `socket.rs` for why
    /// they are all there when `send` returns).
    fn collect_answers(&self, socket: &mut Socket, end_seq: u32) -> Result<Answers, FirewallError> {
        let position = |seq: u32| seq.wrapping_sub(self.begin_seq);
        let mut answers = Answers::default();
        loop {
            let datagram = match socket.recv(false) {
                Ok(Some(datagram)) => datagram,
                Ok(None) => return Ok(answers),
                // The batch ran, but some answers were dropped: we cannot
                // tell whether it was committed.
                Err(err) if err.raw_os_error() == Some(libc::ENOBUFS) => {
                    return Err(FirewallError::Protocol {
                        action: self.summary(),
                        detail: "answers lost (socket receive buffer overrun); \
                                 the batch's outcome is unknown"
                            .to_string(),
                    })
                }
                Err(source) => {
                    return Err(FirewallError::Io {
                        action: self.summary(),
                        source,
                    })
                }
            };
            for reply in message::messages(datagram).filter_map(|m| m.error()) {
                if position(reply.seq) > position(end_seq) {
                    continue; // a late answer to an earlier request
                }
                answers.acked += 1;
                let earlier = |f: &Failure| position(reply.seq) < position(f.seq);
                if reply.errno != 0 && answers.first_failure.as_ref().is_none_or(earlier) {
                    answers.first_failure = Some(Failure {
                        seq: reply.seq,
                        errno: reply.errno,
                        kernel_message: reply.message.map(str::to_string),
                        bad_attr_offset: reply.bad_attr_offset,
                    });
                }
            }
        }
    }

    /// The error for a failed message; a failure of the batch frame itself
    /// (EPERM comes that way) is reported against the whole batch.
    fn failure(&self, failure: Failure) -> FirewallError {
        let Failure {
            seq,
            errno,
            kernel_message,
            bad_attr_offset,
        } = failure;
        let Some(sent) = self.sent.iter().find(|s| s.seq == seq) else {
            return FirewallError::Kernel {
                action: self.summary(),
                errno,
                element: None,
                kernel_message,
            };
        };
        let element = bad_attr_offset.and_then(|offset| {
            let after = sent.items.partition_point(|&(start, _)| start <= offset);
            after.checked_sub(1).map(|i| sent.items[i].1)
        });
        FirewallError::Kernel {
            action: sent.action.clone(),
            errno,
            element,
            kernel_message,
        }
    }

    /// The batch in a few words: its first action, and how many more.
    fn summary(&self) -> String {
        let mut actions: Vec<&str> = self.sent.iter().map(|s| s.action.as_str()).collect();
        actions.dedup();
        match actions.len() {
            0 => "empty batch".to_string(),
            1 => actions[0].to_string(),
            n => format!(
                "{} (and {} more changes in the same batch)",
                actions[0],
                n - 1
            ),
        }
    }
}
