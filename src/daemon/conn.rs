//! One BGP connection's buffers as the speaker's core sees them: the bytes received,
//! framed and decoded one message at a time (`next_message`), and the send queue of
//! whole messages waiting for the socket — bytes of its own, or encodings shared with
//! every other connection of an update group (one encoding goes to all members without
//! a copy per member). Also the encoding of the RIB's output batches.
//!
//! No sockets (the speaker's socket part writes the queue's parts and reports how many
//! bytes went) and no protocol decisions (the FSM's and the core's). Never grows without
//! bound on its own: what waits in the send queue is reported to the FSM after every
//! write, and the FSM bounds it.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::net::SocketAddr;
use std::ops::Range;
use std::rc::Rc;
use std::sync::Arc;

use crate::bgp::rib::{OutBatch, OutMsg, PeerId};
use crate::bgp::types::Message;
use crate::bgp::wire;
use crate::error;
use crate::ops::ctl::MessageCounters;

/// One open TCP connection of a peer, as bytes.
pub(super) struct Conn {
    rbuf: Vec<u8>,
    /// Bytes of `rbuf` already decoded (compacted once per read, not per message).
    roff: usize,
    /// Length of the message `next_message` returned last (it ends at `roff`).
    last_len: usize,
    /// Whole messages to send, in order.
    pub(super) sendq: SendQueue,
    /// The local address, once the connection is up.
    pub(super) local: Option<SocketAddr>,
    /// What the session negotiated on this connection (4-octet AS, iBGP, families):
    /// the codec's context once the FSM reports it Established, the default before.
    pub(super) ctx: wire::Ctx,
    /// Whether the connection is on the core's list of connections with bytes to send.
    pub(super) want_write: bool,
    /// Whether a report of a write on this connection is held until a flush's members
    /// were all written (the reports after it are held too, to keep their order).
    pub(super) report_held: bool,
}

impl Conn {
    /// A connection with empty buffers; `local` the local address when already known.
    pub(super) fn new(local: Option<SocketAddr>) -> Conn {
        Conn {
            rbuf: Vec::new(),
            roff: 0,
            last_len: 0,
            sendq: SendQueue::default(),
            local,
            ctx: wire::Ctx::default(),
            want_write: false,
            report_held: false,
        }
    }

    /// Appends received bytes (framed by [`Conn::next_message`]).
    pub(super) fn received(&mut self, bytes: &[u8]) {
        self.rbuf.extend_from_slice(bytes);
    }

    /// The next whole message in the receive buffer, decoded with `ctx` (the context in
    /// force after the previous message: the OPEN decides 4-octet AS and iBGP for what
    /// follows); `None` when no whole message is buffered (what was decoded is dropped
    /// then). After a framing or decoding error the buffer is emptied: nothing after a
    /// bad message can be trusted, and the session ends with the error's NOTIFICATION.
    pub(super) fn next_message(
        &mut self,
        ctx: &wire::Ctx,
    ) -> Option<Result<wire::Decoded, wire::DecodeError>> {
        let rest = self.rbuf.get(self.roff..).unwrap_or_default();
        let res = match wire::frame(rest) {
            Ok(Some(len)) => {
                let res = wire::decode(rest.get(..len).unwrap_or_default(), ctx);
                self.roff += len;
                self.last_len = len;
                res
            }
            Ok(None) => {
                self.rbuf.drain(..self.roff.min(self.rbuf.len()));
                self.roff = 0;
                self.last_len = 0;
                return None;
            }
            Err(e) => Err(e),
        };
        if res.is_err() {
            self.rbuf.clear();
            self.roff = 0;
            self.last_len = 0;
        }
        Some(res)
    }

    /// The bytes of the message `next_message` returned last (for logs).
    pub(super) fn last_message(&self) -> &[u8] {
        self.rbuf
            .get(self.roff.saturating_sub(self.last_len)..self.roff)
            .unwrap_or_default()
    }

    /// Bytes queued and not yet taken by the socket.
    pub(super) fn pending(&self) -> usize {
        self.sendq.pending()
    }
}

/// Bytes of one part of a send queue: whole BGP messages back to back.
enum SendPart {
    /// This connection's own messages (OPEN, KEEPALIVE, NOTIFICATION, ...).
    Own(Vec<u8>),
    /// `start..end` of an update group's encoding, the same allocation for every
    /// member (a member may skip a stretch of it: the routes it sent itself).
    Shared {
        bytes: Rc<Vec<u8>>,
        start: usize,
        end: usize,
    },
}

impl SendPart {
    fn bytes(&self) -> &[u8] {
        match self {
            SendPart::Own(v) => v,
            SendPart::Shared { bytes, start, end } => bytes.get(*start..*end).unwrap_or_default(),
        }
    }
}

/// Whole messages waiting for the socket, in order. The first part may be partly
/// written (`head` bytes of it); every part starts at a message boundary.
#[derive(Default)]
pub(crate) struct SendQueue {
    parts: VecDeque<SendPart>,
    /// Bytes of `parts[0]` the socket already took.
    head: usize,
    /// Bytes not yet taken, over all parts.
    pending: usize,
}

#[cfg(test)]
/// Most slices [`SendQueue::slices`] gives (the kernel's IOV_MAX).
pub(super) const IOV_MAX: usize = 1024;
/// Room for parts an empty send queue keeps (more is given back).
const KEEP_PARTS: usize = 8;

impl SendQueue {
    /// Bytes queued and not yet taken by the socket.
    pub(crate) fn pending(&self) -> usize {
        self.pending
    }

    /// Queues whole messages of this connection's own.
    pub(super) fn push_own(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.pending += bytes.len();
        if let Some(SendPart::Own(v)) = self.parts.back_mut() {
            v.extend_from_slice(bytes);
        } else {
            self.parts.push_back(SendPart::Own(bytes.to_vec()));
        }
    }

    #[cfg(test)]
    /// Queues a whole encoding shared with other connections.
    pub(super) fn push_shared(&mut self, bytes: Rc<Vec<u8>>) {
        let end = bytes.len();
        self.push_shared_range(&bytes, 0..end);
    }

    /// Queues `range` of an encoding shared with other connections (whole messages).
    pub(super) fn push_shared_range(&mut self, bytes: &Rc<Vec<u8>>, range: Range<usize>) {
        let end = range.end.min(bytes.len());
        let start = range.start.min(end);
        if start == end {
            return;
        }
        self.pending += end - start;
        self.parts.push_back(SendPart::Shared {
            bytes: Rc::clone(bytes),
            start,
            end,
        });
    }

    #[cfg(test)]
    /// The unwritten bytes as slices for one vectored write, after skipping `skip`
    /// unwritten bytes (those a write in progress already took): at most `IOV_MAX`.
    pub(crate) fn slices<'a>(&'a self, skip: usize, out: &mut Vec<IoSlice<'a>>) {
        out.clear();
        let mut skip = skip + self.head;
        for p in &self.parts {
            let b = p.bytes();
            if skip >= b.len() {
                skip -= b.len();
                continue;
            }
            out.push(IoSlice::new(&b[skip..]));
            skip = 0;
            if out.len() == IOV_MAX {
                break;
            }
        }
    }

    /// Like [`SendQueue::slices`], into `out` (at most its length); returns how many
    /// slices were filled.
    pub(crate) fn fill_slices<'a>(&'a self, skip: usize, out: &mut [IoSlice<'a>]) -> usize {
        let mut skip = skip + self.head;
        let mut n = 0;
        for p in &self.parts {
            let b = p.bytes();
            if skip >= b.len() {
                skip -= b.len();
                continue;
            }
            let Some(slot) = out.get_mut(n) else {
                break;
            };
            *slot = IoSlice::new(b.get(skip..).unwrap_or_default());
            skip = 0;
            n += 1;
        }
        n
    }

    /// The socket took `n` more bytes.
    pub(crate) fn consume(&mut self, n: usize) {
        let mut n = n.min(self.pending);
        self.pending -= n;
        while n > 0 {
            let Some(p) = self.parts.front() else {
                break;
            };
            let left = p.bytes().len() - self.head;
            if n >= left {
                n -= left;
                self.parts.pop_front();
                self.head = 0;
            } else {
                self.head += n;
                n = 0;
            }
        }
        self.release_if_empty();
    }

    /// Once everything is written, gives back a part list that a burst made large (one
    /// per connection: a route reflector's K clients would otherwise each keep the
    /// room the largest burst needed).
    fn release_if_empty(&mut self) {
        if self.parts.is_empty() && self.parts.capacity() > KEEP_PARTS {
            self.parts = VecDeque::new();
        }
    }

    #[cfg(test)]
    /// The addresses of the shared encodings queued (to check they are not copies).
    pub(crate) fn shared_parts(&self) -> Vec<*const u8> {
        self.parts
            .iter()
            .filter_map(|p| match p {
                SendPart::Shared { .. } => Some(p.bytes().as_ptr()),
                SendPart::Own(_) => None,
            })
            .collect()
    }

    /// Drops every queued message after the one being written (which must still be
    /// finished, or the peer would see a broken stream). Used before a NOTIFICATION: the
    /// session ends, and the peer gets the NOTIFICATION without waiting behind UPDATEs.
    pub(super) fn drop_queued(&mut self) {
        let head = self.head;
        let Some(first) = self.parts.front() else {
            return;
        };
        if head == 0 {
            self.parts.clear();
            self.pending = 0;
            self.release_if_empty();
            return;
        }
        let b = first.bytes();
        let start = message_start(b, head);
        let end = if start == head {
            start
        } else {
            (start + message_len(b, start)).clamp(head, b.len())
        };
        // Keep only the message being written, from its start (the queue stays on a
        // message boundary), as bytes of our own.
        let keep = b.get(start..end).unwrap_or_default().to_vec();
        self.parts.clear();
        self.head = head - start;
        self.pending = keep.len() - self.head;
        if self.pending > 0 {
            self.parts.push_back(SendPart::Own(keep));
        } else {
            self.head = 0;
        }
    }
}

/// The length field of the message starting at `at` (0 when cut short).
fn message_len(part: &[u8], at: usize) -> usize {
    part.get(at + 16..at + 18)
        .map_or(0, |b| usize::from(u16::from_be_bytes([b[0], b[1]])))
}

/// The start of the message of `part` (whole messages back to back) that holds `off`.
fn message_start(part: &[u8], off: usize) -> usize {
    let mut at = 0;
    while at < off {
        let len = message_len(part, at);
        if len < wire::HEADER_LEN || at + len > off {
            break;
        }
        at += len;
    }
    at
}

/// The RIB's output batches of one flush that go to the same peers: consecutive
/// batches sharing one peer list (an update group's output, one batch per member left
/// out, e.g. a route reflector's client that sent those routes). Returns their index
/// ranges, in order.
pub(super) fn same_peer_runs(batches: &[OutBatch]) -> Vec<Range<usize>> {
    let mut runs: Vec<Range<usize>> = Vec::new();
    for (i, b) in batches.iter().enumerate() {
        match runs.last_mut() {
            Some(r)
                if batches
                    .get(r.start)
                    .is_some_and(|f| Arc::ptr_eq(&f.peers, &b.peers)) =>
            {
                r.end = i + 1
            }
            _ => runs.push(i..i + 1),
        }
    }
    runs
}

/// Batches going to the same peers, encoded for one context back to back in one
/// allocation that every member's send queue shares: a member queues the ranges of the
/// batches it gets (all but those that leave it out), never a copy. The allocation is
/// freed when the last member has written its ranges.
pub(super) struct GroupEncoding {
    pub(super) ctx: wire::Ctx,
    bytes: Rc<Vec<u8>>,
    /// Per batch: where its messages end in `bytes`, and how many UPDATEs they hold.
    ends: Vec<(usize, u64)>,
}

impl GroupEncoding {
    /// Encodes `batches` (batches going to the same peers) for `ctx`.
    pub(super) fn new(batches: &[OutBatch], ctx: wire::Ctx) -> GroupEncoding {
        let mut bytes = Vec::new();
        let mut ends = Vec::with_capacity(batches.len());
        for b in batches {
            let n = encode_batch(&b.msgs, &ctx, &mut bytes);
            ends.push((bytes.len(), n));
        }
        bytes.shrink_to_fit();
        GroupEncoding {
            ctx,
            bytes: Rc::new(bytes),
            ends,
        }
    }

    /// Queues on `q` what `peer` gets of `batches` (those this was encoded from): every
    /// batch but those leaving it out, as ranges of the shared encoding (at most one
    /// more than the batches left out). Returns the UPDATEs queued.
    pub(super) fn queue_for(&self, peer: PeerId, batches: &[OutBatch], q: &mut SendQueue) -> u64 {
        let mut updates = 0;
        // The range being gathered starts at `from`; the batch looked at starts at `at`.
        let (mut from, mut at) = (0, 0);
        for (b, &(end, n)) in batches.iter().zip(&self.ends) {
            if b.except == Some(peer) {
                q.push_shared_range(&self.bytes, from..at);
                from = end;
            } else {
                updates += n;
            }
            at = end;
        }
        q.push_shared_range(&self.bytes, from..at);
        updates
    }
}

/// Encodes a batch's messages for one context onto `out`; returns the UPDATE count.
fn encode_batch(msgs: &[OutMsg], ctx: &wire::Ctx, out: &mut Vec<u8>) -> u64 {
    let mut n = 0u64;
    for m in msgs {
        match m {
            OutMsg::Announce { attrs, prefixes } => {
                match wire::encode_announce(attrs, prefixes, ctx, out) {
                    Ok(k) => n += k as u64,
                    Err(e) => error!("bgp", "cannot encode {} prefixes: {e}", prefixes.len()),
                }
            }
            OutMsg::Withdraw { prefixes } => n += wire::encode_withdraw(prefixes, out) as u64,
            OutMsg::EndOfRib(afi) => {
                wire::encode_end_of_rib(*afi, out);
                n += 1;
            }
        }
    }
    n
}

pub(super) fn count(c: &mut MessageCounters, m: &Message) {
    match m {
        Message::Open(_) => c.open += 1,
        Message::Update(_) => c.update += 1,
        Message::Notification(_) => c.notification += 1,
        Message::Keepalive => c.keepalive += 1,
        Message::RouteRefresh { .. } => c.refresh += 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgp::types::NotificationCode;

    #[test]
    fn next_message_frames_decodes_and_keeps_a_partial_message() {
        let mut c = Conn::new(None);
        let ctx = wire::Ctx::default();
        let mut bytes = Vec::new();
        wire::encode(&Message::Keepalive, &ctx, &mut bytes).expect("encode");
        let one = bytes.len();
        wire::encode(&Message::Keepalive, &ctx, &mut bytes).expect("encode");
        c.received(&bytes);
        c.received(&bytes[..5]);
        for _ in 0..2 {
            let d = c
                .next_message(&ctx)
                .expect("a whole message")
                .expect("valid");
            assert_eq!(d.message, Message::Keepalive);
            assert_eq!(c.last_message(), &bytes[..one]);
        }
        assert!(c.next_message(&ctx).is_none());
        assert_eq!(
            c.rbuf,
            &bytes[..5],
            "the partial message waits for more bytes"
        );
        c.received(&bytes[5..one]);
        assert!(c.next_message(&ctx).expect("completed").is_ok());
        assert!(c.next_message(&ctx).is_none());
        assert!(c.rbuf.is_empty());

        // A broken marker: the error, and nothing after it is kept.
        c.received(&[0u8; 19]);
        c.received(&bytes);
        let e = c
            .next_message(&ctx)
            .expect("an error")
            .expect_err("bad marker");
        assert_eq!(
            e.notification.kind(),
            NotificationCode::HeaderNotSynchronized
        );
        assert!(c.rbuf.is_empty());
        assert!(c.next_message(&ctx).is_none());
    }

    /// A BGP message of `len` bytes (marker, length, type 2) filled with `fill`.
    fn message(len: usize, fill: u8) -> Vec<u8> {
        let mut m = vec![0xFF; 16];
        m.extend_from_slice(&(len as u16).to_be_bytes());
        m.push(2);
        m.resize(len, fill);
        m
    }

    /// Everything the queue still holds, as one write in steps of `step` bytes would
    /// see it.
    fn drain(q: &mut SendQueue, step: usize) -> Vec<u8> {
        let mut got = Vec::new();
        while q.pending() > 0 {
            let mut io = Vec::new();
            q.slices(0, &mut io);
            let mut n = 0;
            for s in &io {
                let take = (step - n).min(s.len());
                got.extend_from_slice(&s[..take]);
                n += take;
                if n == step {
                    break;
                }
            }
            drop(io);
            q.consume(n);
        }
        got
    }

    #[test]
    fn shared_and_own_parts_go_out_in_order_whatever_the_write_sizes() {
        let shared = Rc::new([message(100, 1), message(200, 2)].concat());
        let mut want = Vec::new();
        let mut q = SendQueue::default();
        for k in 0..50u8 {
            q.push_own(&message(19 + usize::from(k), k));
            want.extend_from_slice(&message(19 + usize::from(k), k));
            q.push_shared(Rc::clone(&shared));
            want.extend_from_slice(&shared);
        }
        assert_eq!(q.pending(), want.len());
        assert_eq!(Rc::strong_count(&shared), 51, "shared, not copied");
        for step in [1, 7, 300, 4096, 1 << 20] {
            let mut q2 = SendQueue::default();
            for p in &q.parts {
                match p {
                    SendPart::Own(v) => q2.push_own(v),
                    SendPart::Shared { bytes, start, end } => {
                        q2.push_shared_range(bytes, *start..*end)
                    }
                }
            }
            assert_eq!(drain(&mut q2, step), want, "step {step}");
            assert!(q2.parts.is_empty() && q2.head == 0);
        }
        // Skipping what a write in progress took.
        let mut io = Vec::new();
        q.slices(want.len() - 10, &mut io);
        let tail: Vec<u8> = io.iter().flat_map(|s| s.iter().copied()).collect();
        assert_eq!(tail, want[want.len() - 10..]);
        // The same slices into a fixed array, as many as it holds.
        for skip in [0, 1, 99, 100, 301, want.len() - 10] {
            q.slices(skip, &mut io);
            let mut fixed = [IoSlice::new(&[]); 7];
            let n = q.fill_slices(skip, &mut fixed);
            assert_eq!(n, io.len().min(7), "skip {skip}");
            for (a, b) in fixed[..n].iter().zip(&io) {
                assert_eq!(**a, **b, "skip {skip}");
            }
        }
        // No more than IOV_MAX slices at once.
        let mut many = SendQueue::default();
        for _ in 0..IOV_MAX + 10 {
            many.push_shared(Rc::clone(&shared));
        }
        many.slices(0, &mut io);
        assert_eq!(io.len(), IOV_MAX);
    }

    #[test]
    fn a_notification_goes_right_after_the_message_being_written() {
        let notification = [vec![0xFF; 16], vec![0, 21, 3, 6, 8]].concat();
        let shared = Rc::new((0..20).flat_map(|k| message(1000, k)).collect::<Vec<u8>>());
        let mut q = SendQueue::default();
        q.push_shared(Rc::clone(&shared));
        q.push_shared(Rc::clone(&shared));
        // The socket took 2.5 messages: the third must be finished, the rest dropped.
        q.consume(2500);
        q.drop_queued();
        q.push_own(&notification);
        let got = drain(&mut q, 333);
        let mut want = shared[2500..3000].to_vec();
        want.extend_from_slice(&notification);
        assert_eq!(got, want);

        // On a message boundary, or nothing written yet: everything queued goes.
        let mut q = SendQueue::default();
        q.push_own(&message(50, 1));
        q.push_shared(Rc::clone(&shared));
        q.consume(50);
        q.drop_queued();
        assert_eq!(q.pending(), 0);
        q.push_shared(Rc::clone(&shared));
        q.drop_queued();
        assert_eq!(q.pending(), 0);
        q.push_own(&notification);
        assert_eq!(drain(&mut q, 7), notification);

        // Twice in a row (a second NOTIFICATION path): the partial message stays.
        let mut q = SendQueue::default();
        q.push_own(&message(1000, 9));
        q.consume(10);
        q.drop_queued();
        q.drop_queued();
        assert_eq!(q.pending(), 990);
        assert_eq!(drain(&mut q, 100), message(1000, 9)[10..].to_vec());
    }

    /// A batch withdrawing `n` /24s numbered from `first`, for `peers` but `except`.
    fn withdraw_batch(peers: &Arc<[PeerId]>, except: Option<u32>, first: u32, n: u32) -> OutBatch {
        let prefixes = (first..first + n)
            .map(|i| {
                crate::prefix::Prefix::V4(std::net::Ipv4Addr::from(0x0A00_0000 + (i << 8)), 24)
            })
            .collect();
        OutBatch {
            peers: Arc::clone(peers),
            except: except.map(PeerId),
            msgs: vec![OutMsg::Withdraw { prefixes }],
        }
    }

    #[test]
    fn batches_to_the_same_peers_are_one_encoding_and_each_member_skips_its_own() {
        let ctx = wire::Ctx::default();
        let group: Arc<[PeerId]> = (1..=4).map(PeerId).collect::<Vec<_>>().into();
        // Equal contents, another list: another run.
        let other: Arc<[PeerId]> = (1..=4).map(PeerId).collect::<Vec<_>>().into();
        let batches = vec![
            withdraw_batch(&group, Some(1), 0, 3),
            withdraw_batch(&group, Some(2), 10, 1),
            withdraw_batch(&group, None, 20, 2),
            withdraw_batch(&other, Some(3), 30, 1),
        ];
        let runs = same_peer_runs(&batches);
        assert_eq!(runs, vec![0..3, 3..4]);
        let run = &batches[runs[0].clone()];
        let enc = GroupEncoding::new(run, ctx);
        for peer in 1..=4 {
            let mut q = SendQueue::default();
            let updates = enc.queue_for(PeerId(peer), run, &mut q);
            // What the member gets: the messages of every batch but its own, in order.
            let mut want = Vec::new();
            let mut want_updates = 0;
            for b in run.iter().filter(|b| b.except != Some(PeerId(peer))) {
                want_updates += encode_batch(&b.msgs, &ctx, &mut want);
            }
            assert_eq!(updates, want_updates, "peer {peer}");
            // Peer 1 skips the first batch, peer 2 one in the middle (two ranges),
            // the others get everything.
            let parts = q.shared_parts().len();
            assert_eq!(parts, if peer == 2 { 2 } else { 1 }, "peer {peer}");
            assert_eq!(drain(&mut q, 7), want, "peer {peer}");
        }
    }

    #[test]
    fn a_group_encoding_is_freed_when_the_last_member_has_written_it() {
        let ctx = wire::Ctx::default();
        let group: Arc<[PeerId]> = vec![PeerId(1), PeerId(2)].into();
        let batches = vec![
            withdraw_batch(&group, Some(1), 0, 50),
            withdraw_batch(&group, Some(2), 100, 50),
        ];
        let enc = GroupEncoding::new(&batches, ctx);
        let weak = Rc::downgrade(&enc.bytes);
        let (mut q1, mut q2) = (SendQueue::default(), SendQueue::default());
        enc.queue_for(PeerId(1), &batches, &mut q1);
        enc.queue_for(PeerId(2), &batches, &mut q2);
        assert_eq!(q1.shared_parts().len() + q2.shared_parts().len(), 2);
        drop(enc);
        assert!(weak.upgrade().is_some());
        drain(&mut q1, 100);
        assert!(
            weak.upgrade().is_some(),
            "member 2 has not written its part"
        );
        let half = q2.pending() / 2;
        q2.consume(half);
        assert!(weak.upgrade().is_some(), "member 2 is writing its part");
        drain(&mut q2, 100);
        assert!(
            weak.upgrade().is_none(),
            "freed after the last member wrote it"
        );
    }

    #[test]
    fn an_empty_send_queue_gives_back_the_room_a_burst_needed() {
        let shared = Rc::new(message(100, 1));
        let mut q = SendQueue::default();
        for _ in 0..1000 {
            q.push_shared(Rc::clone(&shared));
        }
        assert!(q.parts.capacity() >= 1000);
        drain(&mut q, 4096);
        assert!(q.parts.capacity() <= KEEP_PARTS, "{}", q.parts.capacity());
        assert_eq!(Rc::strong_count(&shared), 1);
    }
}
