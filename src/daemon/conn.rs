//! One BGP connection's bytes: the socket with its receive and send buffers, bounded
//! reads, non-blocking writes, and the encoding of the RIB's output batches. No protocol
//! decisions (those are the FSM's and the speaker's); runs on the daemon thread only.

use std::io::{self, IoSlice, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

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
    pub(super) roff: usize,
    pub(super) wbuf: Vec<u8>,
    pub(super) woff: usize,
    pub(super) close_after_flush: bool,
    pub(super) local: Option<SocketAddr>,
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
            wbuf: Vec::new(),
            woff: 0,
            close_after_flush: false,
            local,
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

/// Queues bytes and writes what the socket takes now.
pub(super) fn queue(c: &mut Conn, bytes: &[u8]) {
    append(c, bytes);
    let _ = write_out(c);
}

/// Adds to the write buffer without writing (the caller writes once at the end).
pub(super) fn append(c: &mut Conn, bytes: &[u8]) {
    if c.woff > 0 && c.woff == c.wbuf.len() {
        c.wbuf.clear();
        c.woff = 0;
    }
    c.wbuf.extend_from_slice(bytes);
}

/// Sends `parts` in order: written straight from them (vectored) while nothing else
/// waits in the buffer, and only what the socket does not take is copied into it.
/// Err when the connection is broken.
pub(super) fn send_parts(c: &mut Conn, parts: &[&[u8]]) -> io::Result<()> {
    if c.connecting || c.woff < c.wbuf.len() {
        for p in parts {
            append(c, p);
        }
        return write_out(c);
    }
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
        append(c, &parts[i][off..]);
        for p in &parts[i + 1..] {
            append(c, p);
        }
    }
    Ok(())
}

/// Most slices one vectored write takes (the kernel's IOV_MAX).
const IOV_MAX: usize = 1024;

/// Writes as much as the socket takes. Err when the connection is broken.
pub(super) fn write_out(c: &mut Conn) -> io::Result<()> {
    if c.connecting {
        return Ok(());
    }
    while c.woff < c.wbuf.len() {
        match c.stream.write(&c.wbuf[c.woff..]) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "closed")),
            Ok(n) => c.woff += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    if c.woff == c.wbuf.len() {
        c.wbuf.clear();
        c.woff = 0;
    } else if c.woff > 1 << 20 {
        c.wbuf.drain(..c.woff);
        c.woff = 0;
    }
    Ok(())
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

/// Tries for a short while to write what is queued (used before closing).
pub(super) fn flush_best_effort(c: &mut Conn) {
    let deadline = Instant::now() + Duration::from_millis(200);
    while c.woff < c.wbuf.len() && Instant::now() < deadline {
        match write_out(c) {
            Ok(()) if c.woff < c.wbuf.len() => std::thread::sleep(Duration::from_millis(5)),
            _ => break,
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::io::AsRawFd;

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
}
