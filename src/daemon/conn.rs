//! One BGP connection's bytes: the socket with its receive and send buffers, bounded
//! reads, non-blocking writes, and the encoding of the RIB's output batches. No protocol
//! decisions (those are the FSM's and the speaker's); runs on the daemon thread only.
//! Never blocks or sleeps: what the socket does not take waits in the send buffer,
//! whose size the FSM bounds (it is told after every write).

use std::io::{self, IoSlice, Read, Write};
use std::net::SocketAddr;

use mio::Token;
use mio::net::TcpStream;

use crate::bgp::types::Message;
use crate::bgp::wire;
use crate::error;
use crate::ops::ctl::MessageCounters;

/// Read at most this much per turn of the loop per connection before moving on; a
/// connection that had more is driven again on the next turn (see the speaker's
/// `pending_reads`).
pub(super) const READ_BUDGET: usize = 256 << 10;

/// One open TCP connection of a peer.
pub(super) struct Conn {
    pub(super) stream: TcpStream,
    pub(super) token: Token,
    pub(super) connecting: bool,
    pub(super) rbuf: Vec<u8>,
    /// Bytes of `rbuf` already decoded (compacted once per turn, not per message).
    roff: usize,
    /// Length of the message `next_message` returned last (it ends at `roff`).
    last_len: usize,
    /// Bytes to send: whole BGP messages; `wbuf[woff..]` is not written yet.
    pub(super) wbuf: Vec<u8>,
    pub(super) woff: usize,
    /// Start of the message that holds `woff` (`wbuf` always starts at a message).
    pub(super) wmsg: usize,
    pub(super) local: Option<SocketAddr>,
    /// What the session negotiated on this connection (4-octet AS, iBGP, families):
    /// the codec's context once the FSM reports it Established, the default before.
    pub(super) ctx: wire::Ctx,
}

impl Conn {
    /// A connection with empty buffers: `connecting` for an outbound connect still in
    /// progress, `local` the local address when already known.
    pub(super) fn new(
        stream: TcpStream,
        token: Token,
        connecting: bool,
        local: Option<SocketAddr>,
    ) -> Conn {
        Conn {
            stream,
            token,
            connecting,
            rbuf: Vec::new(),
            roff: 0,
            last_len: 0,
            wbuf: Vec::new(),
            woff: 0,
            wmsg: 0,
            local,
            ctx: wire::Ctx::default(),
        }
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
        self.wbuf.len().saturating_sub(self.woff)
    }

    /// Moves `wmsg` to the start of the message that holds `woff` (or to `woff` when
    /// that is a message boundary).
    fn find_message(&mut self) {
        while self.wmsg < self.woff {
            let len = self
                .wbuf
                .get(self.wmsg + 16..self.wmsg + 18)
                .map_or(0, |b| usize::from(u16::from_be_bytes([b[0], b[1]])));
            if len < wire::HEADER_LEN || self.wmsg + len > self.woff {
                break;
            }
            self.wmsg += len;
        }
    }

    /// Drops every queued message after the one being written (which must still be
    /// finished, or the peer would see a broken stream). Used before a NOTIFICATION: the
    /// session ends, and the peer gets the NOTIFICATION without waiting behind UPDATEs.
    pub(super) fn drop_queued(&mut self) {
        self.find_message();
        let end = if self.wmsg == self.woff {
            self.woff
        } else {
            let len = self
                .wbuf
                .get(self.wmsg + 16..self.wmsg + 18)
                .map_or(0, |b| usize::from(u16::from_be_bytes([b[0], b[1]])));
            (self.wmsg + len).clamp(self.woff, self.wbuf.len())
        };
        self.wbuf.truncate(end);
        if self.wbuf.capacity() > 1 << 20 {
            self.wbuf.shrink_to(end.max(4096));
        }
    }
}

/// Encodes a batch's messages for one context; returns the bytes and UPDATE count.
pub(super) fn encode_batch(msgs: &[crate::bgp::rib::OutMsg], ctx: &wire::Ctx) -> (Vec<u8>, u64) {
    use crate::bgp::rib::OutMsg;
    let mut out = Vec::new();
    let mut n = 0u64;
    for m in msgs {
        match m {
            OutMsg::Announce { attrs, prefixes } => {
                match wire::encode_announce(attrs, prefixes, ctx, &mut out) {
                    Ok(k) => n += k as u64,
                    Err(e) => error!("bgp", "cannot encode {} prefixes: {e}", prefixes.len()),
                }
            }
            OutMsg::Withdraw { prefixes } => n += wire::encode_withdraw(prefixes, &mut out) as u64,
            OutMsg::EndOfRib(afi) => {
                wire::encode_end_of_rib(*afi, &mut out);
                n += 1;
            }
        }
    }
    (out, n)
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

/// Queues whole messages and writes what the socket takes now; returns the bytes
/// written. Err when the connection is broken.
pub(super) fn queue(c: &mut Conn, bytes: &[u8]) -> io::Result<usize> {
    append(c, bytes);
    write_out(c)
}

/// Adds to the write buffer without writing (the caller writes once at the end).
pub(super) fn append(c: &mut Conn, bytes: &[u8]) {
    if c.woff > 0 && c.woff == c.wbuf.len() {
        c.wbuf.clear();
        c.woff = 0;
        c.wmsg = 0;
    }
    c.wbuf.extend_from_slice(bytes);
}

/// Sends `parts` (whole messages) in order: written straight from them (vectored) while
/// nothing else waits in the buffer, and only what the socket does not take is copied
/// into it. Returns the bytes written; Err when the connection is broken.
pub(super) fn send_parts(c: &mut Conn, parts: &[&[u8]]) -> io::Result<usize> {
    if c.connecting || c.woff < c.wbuf.len() {
        for p in parts {
            append(c, p);
        }
        return write_out(c);
    }
    let mut written = 0;
    // Position in `parts`: part `i`, byte `off` of it.
    let (mut i, mut off) = (0, 0);
    while i < parts.len() {
        let mut io = Vec::with_capacity((parts.len() - i).min(IOV_MAX));
        for (k, p) in parts[i..].iter().take(IOV_MAX).enumerate() {
            io.push(IoSlice::new(if k == 0 { &p[off..] } else { p }));
        }
        match c.stream.write_vectored(&io) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "closed")),
            Ok(mut n) => {
                written += n;
                while n > 0 && i < parts.len() {
                    let left = parts[i].len() - off;
                    if n >= left {
                        n -= left;
                        i += 1;
                        off = 0;
                    } else {
                        off += n;
                        n = 0;
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        // Skip empty parts so a zero-length tail never loops.
        while i < parts.len() && parts[i].len() == off {
            i += 1;
            off = 0;
        }
    }
    if i < parts.len() {
        // The buffer was empty: it now starts inside part `i`'s first unwritten
        // message. Keep the whole of that message (`woff` marks what was written) so
        // the buffer starts at a message boundary.
        let start = message_start(parts[i], off);
        append(c, &parts[i][start..]);
        c.woff = off - start;
        c.wmsg = 0;
        for p in &parts[i + 1..] {
            append(c, p);
        }
    }
    Ok(written)
}

/// The start of the message of `part` (whole messages back to back) that holds `off`.
fn message_start(part: &[u8], off: usize) -> usize {
    let mut at = 0;
    while at < off {
        let len = part
            .get(at + 16..at + 18)
            .map_or(0, |b| usize::from(u16::from_be_bytes([b[0], b[1]])));
        if len < wire::HEADER_LEN || at + len > off {
            break;
        }
        at += len;
    }
    at
}

/// Most slices one vectored write takes (the kernel's IOV_MAX).
const IOV_MAX: usize = 1024;

/// Writes as much as the socket takes; returns the bytes written. Err when the
/// connection is broken.
pub(super) fn write_out(c: &mut Conn) -> io::Result<usize> {
    if c.connecting {
        return Ok(0);
    }
    let mut written = 0;
    while c.woff < c.wbuf.len() {
        match c.stream.write(&c.wbuf[c.woff..]) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "closed")),
            Ok(n) => {
                c.woff += n;
                written += n;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    if c.woff == c.wbuf.len() {
        c.wbuf.clear();
        c.woff = 0;
        c.wmsg = 0;
        if c.wbuf.capacity() > 4 << 20 {
            c.wbuf = Vec::new();
        }
    } else if c.woff > 1 << 20 {
        // Compact, keeping the buffer aligned on the message being written.
        c.find_message();
        c.wbuf.drain(..c.wmsg);
        c.woff -= c.wmsg;
        c.wmsg = 0;
    }
    Ok(written)
}

/// How a bounded read ended.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ReadEnd {
    /// The socket is empty (WouldBlock): the next readiness event brings more.
    Drained,
    /// Stopped at `READ_BUDGET`: more may be waiting and no event will say so.
    Budget,
    /// End of stream.
    Eof,
}

/// Reads what is available, at most about `READ_BUDGET` bytes.
pub(super) fn read_in(c: &mut Conn) -> io::Result<ReadEnd> {
    let mut buf = [0u8; 64 * 1024];
    let mut total = 0;
    loop {
        match c.stream.read(&mut buf) {
            Ok(0) => return Ok(ReadEnd::Eof),
            Ok(n) => {
                c.rbuf.extend_from_slice(buf.get(..n).unwrap_or_default());
                total += n;
                if total >= READ_BUDGET {
                    return Ok(ReadEnd::Budget);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(ReadEnd::Drained),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgp::types::NotificationCode;
    use std::os::unix::io::AsRawFd;
    use std::time::{Duration, Instant};

    /// A connected loopback pair: (our non-blocking side as a `Conn`, the writer).
    fn pair() -> (Conn, std::net::TcpStream) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = l.local_addr().expect("local addr");
        let w = std::net::TcpStream::connect(addr).expect("connect");
        let (r, _) = l.accept().expect("accept");
        r.set_nonblocking(true).expect("nonblocking");
        let c = Conn::new(TcpStream::from_std(r), Token(1), false, None);
        (c, w)
    }

    /// Reads until `want` bytes are buffered or the budget says more is waiting.
    fn read_until(c: &mut Conn, want: usize) -> ReadEnd {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let r = read_in(c).expect("read");
            if r != ReadEnd::Drained || c.rbuf.len() >= want || Instant::now() > deadline {
                return r;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    #[test]
    fn next_message_frames_decodes_and_keeps_a_partial_message() {
        let (mut c, _w) = pair();
        let ctx = wire::Ctx::default();
        let mut bytes = Vec::new();
        wire::encode(&Message::Keepalive, &ctx, &mut bytes).expect("encode");
        let one = bytes.len();
        wire::encode(&Message::Keepalive, &ctx, &mut bytes).expect("encode");
        c.rbuf.extend_from_slice(&bytes);
        c.rbuf.extend_from_slice(&bytes[..5]);
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
        c.rbuf.extend_from_slice(&bytes[5..one]);
        assert!(c.next_message(&ctx).expect("completed").is_ok());
        assert!(c.next_message(&ctx).is_none());
        assert!(c.rbuf.is_empty());

        // A broken marker: the error, and nothing after it is kept.
        c.rbuf.extend_from_slice(&[0u8; 19]);
        c.rbuf.extend_from_slice(&bytes);
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

    #[test]
    fn read_stops_at_budget_and_says_more_may_wait() {
        let (mut c, mut w) = pair();
        let total = READ_BUDGET * 3;
        let data: Vec<u8> = (0..total).map(|i| (i % 251) as u8).collect();
        let writer = std::thread::spawn(move || {
            w.write_all(&data).expect("write");
            w
        });
        // The first read that reaches the budget must report it, never claim "drained"
        // with bytes possibly left (edge-triggered readiness would not report them).
        assert_eq!(read_until(&mut c, total), ReadEnd::Budget);
        assert!(c.rbuf.len() >= READ_BUDGET);
        assert!(c.rbuf.len() < READ_BUDGET + 64 * 1024);
        // Reading on collects everything, in order, then reports Drained.
        let deadline = Instant::now() + Duration::from_secs(10);
        while c.rbuf.len() < total && Instant::now() < deadline {
            let _ = read_until(&mut c, total);
        }
        assert_eq!(c.rbuf.len(), total);
        assert!(
            c.rbuf
                .iter()
                .enumerate()
                .all(|(i, b)| *b == (i % 251) as u8)
        );
        assert_eq!(read_in(&mut c).expect("read"), ReadEnd::Drained);
        drop(writer.join().expect("writer"));
        assert_eq!(read_until(&mut c, total + 1), ReadEnd::Eof);
    }

    #[test]
    fn shared_parts_go_out_in_order_and_only_the_rest_is_buffered() {
        // Our side writes; the other side reads only after everything was queued.
        let (mut c, mut peer) = pair();
        // Small socket buffers, so the socket cannot take it all at once.
        for (fd, opt) in [
            (c.stream.as_raw_fd(), libc::SO_SNDBUF),
            (peer.as_raw_fd(), libc::SO_RCVBUF),
        ] {
            let v: libc::c_int = 64 * 1024;
            // SAFETY: setsockopt on open sockets with a pointer to a live c_int.
            let rc = unsafe {
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    opt,
                    (&v as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            assert_eq!(rc, 0);
        }
        // 3,000 parts of 997 bytes (3 MB): more than a socket takes without a reader.
        let parts: Vec<Vec<u8>> = (0..3000u32)
            .map(|k| (0..997u32).map(|i| ((k * 7 + i) % 253) as u8).collect())
            .collect();
        let slices: Vec<&[u8]> = parts.iter().map(|p| p.as_slice()).collect();
        send_parts(&mut c, &slices).expect("send");
        let total: usize = parts.iter().map(Vec::len).sum();
        let buffered = c.wbuf.len() - c.woff;
        assert!(
            buffered > 0 && buffered < total,
            "{buffered} of {total} buffered"
        );
        // More parts while some wait: appended behind them, order kept.
        let tail = [b"tail".as_slice()];
        send_parts(&mut c, &tail).expect("send");
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut buf = [0u8; 65536];
            while got.len() < total + 4 {
                match peer.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(e) => panic!("read: {e}"),
                }
            }
            got
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while c.woff < c.wbuf.len() && Instant::now() < deadline {
            write_out(&mut c).expect("write");
            std::thread::sleep(Duration::from_millis(1));
        }
        let got = reader.join().expect("reader");
        let mut want: Vec<u8> = parts.concat();
        want.extend_from_slice(b"tail");
        assert_eq!(got.len(), want.len());
        assert!(got == want, "bytes out of order");
    }

    /// A BGP message of `len` bytes (marker, length, type 2) filled with `fill`.
    fn message(len: usize, fill: u8) -> Vec<u8> {
        let mut m = vec![0xFF; 16];
        m.extend_from_slice(&(len as u16).to_be_bytes());
        m.push(2);
        m.resize(len, fill);
        m
    }

    fn small_buffers(c: &Conn, peer: &std::net::TcpStream) {
        for (fd, opt) in [
            (c.stream.as_raw_fd(), libc::SO_SNDBUF),
            (peer.as_raw_fd(), libc::SO_RCVBUF),
        ] {
            let v: libc::c_int = 32 * 1024;
            // SAFETY: setsockopt on open sockets with a pointer to a live c_int.
            let rc = unsafe {
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    opt,
                    (&v as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            assert_eq!(rc, 0);
        }
    }

    #[test]
    fn a_notification_goes_out_right_after_the_message_being_written() {
        let (mut c, mut peer) = pair();
        small_buffers(&c, &peer);
        // 2 MB of 1,000-byte messages: the socket takes part, the rest waits; the
        // buffer stays aligned on messages even after compaction.
        let msgs: Vec<Vec<u8>> = (0..2000).map(|k| message(1000, (k % 200) as u8)).collect();
        let slices: Vec<&[u8]> = msgs.iter().map(|m| m.as_slice()).collect();
        let written = send_parts(&mut c, &slices).expect("send");
        assert!(c.pending() > 0 && written > 0);
        assert_eq!(
            c.wbuf.get(..16),
            Some(&[0xFF; 16][..]),
            "starts at a message"
        );
        // The session ends: queued messages are dropped, the one partly written is
        // finished, then the NOTIFICATION.
        c.drop_queued();
        assert!(c.pending() < 1000, "{} bytes left", c.pending());
        let notification = [vec![0xFF; 16], vec![0, 21, 3, 6, 8]].concat();
        queue(&mut c, &notification).expect("queue");
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut buf = [0u8; 65536];
            peer.set_read_timeout(Some(Duration::from_secs(5)))
                .expect("timeout");
            while let Ok(n) = peer.read(&mut buf) {
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
                if got.ends_with(&[3, 6, 8]) {
                    break;
                }
            }
            got
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while c.pending() > 0 && Instant::now() < deadline {
            write_out(&mut c).expect("write");
            std::thread::sleep(Duration::from_millis(1));
        }
        let got = reader.join().expect("reader");
        // Whole messages back to back, the NOTIFICATION last.
        let mut at = 0;
        let mut count = 0;
        while at < got.len() {
            assert_eq!(&got[at..at + 16], &[0xFF; 16], "message {count} at {at}");
            let len = usize::from(u16::from_be_bytes([got[at + 16], got[at + 17]]));
            at += len;
            count += 1;
        }
        assert_eq!(at, got.len());
        assert!(got.ends_with(&notification));
        assert!(
            count < 2000,
            "queued messages were dropped ({count} arrived)"
        );
    }

    #[test]
    fn compaction_keeps_the_buffer_on_a_message_boundary() {
        let (mut c, mut peer) = pair();
        small_buffers(&c, &peer);
        let m = message(4000, 7);
        for _ in 0..1000 {
            append(&mut c, &m);
        }
        // Read from the other side in steps until more than 1 MB went out, so
        // write_out compacts.
        let mut buf = vec![0u8; 64 * 1024];
        let mut total_read = 0;
        let deadline = Instant::now() + Duration::from_secs(10);
        peer.set_nonblocking(true).expect("nonblocking");
        while total_read < (1 << 20) + 100_000 && Instant::now() < deadline {
            write_out(&mut c).expect("write");
            if let Ok(n) = peer.read(&mut buf) {
                total_read += n;
            }
        }
        write_out(&mut c).expect("write");
        assert!(c.woff < 1 << 20, "compacted: woff {}", c.woff);
        assert_eq!(c.wbuf.get(..16), Some(&[0xFF; 16][..]));
        assert_eq!(c.wbuf.len() % 4000, 0, "whole messages kept");
    }
}
