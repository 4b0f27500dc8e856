//! A small request/response server on the daemon's mio loop: accept, read one request
//! (bounded), answer it, close. Used for the control socket (unix) and for the metrics
//! and health endpoints (TCP).
//!
//! Owns its connections and their limits, so that no client can keep the node's own
//! health check from being answered: a request must arrive whole within
//! `REQUEST_TIMEOUT` of the accept and within the server's size limit; an answer whose
//! reader stops taking bytes for `WRITE_STALL` is dropped; one source address holds at
//! most `MAX_PER_SOURCE` connections, and when all `MAX_CONNS` are taken a newcomer
//! from a less busy source replaces the oldest waiting connection of the busiest one.
//! Long answers are produced in parts ([`Responder::more`]) as the client reads them, a
//! bounded amount per turn of the loop, so a million-row table never stalls the loop
//! nor sits whole in memory. Never blocks.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use mio::{Interest, Registry, Token};

use super::peercred::PeerCred;

/// A request must be complete this long after the connection was accepted.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// An answer the client stops reading for this long is abandoned.
pub(crate) const WRITE_STALL: Duration = Duration::from_secs(10);
/// Connections per server at once.
pub(crate) const MAX_CONNS: usize = 64;
/// Connections from one source address at once.
pub(crate) const MAX_PER_SOURCE: usize = 8;
/// Parts of long answers produced per connection per turn of the loop.
const PARTS_PER_TURN: usize = 1;

/// A listener that hands out non-blocking streams and says where they come from.
pub(crate) trait Accept {
    type Stream: Read + Write + mio::event::Source;
    /// The stream and its source address (`None` for a local socket).
    fn accept_one(&self) -> io::Result<(Self::Stream, Option<IpAddr>)>;
    /// Who connected, for a local socket (`None` when unknown).
    fn caller(_stream: &Self::Stream) -> Option<PeerCred> {
        None
    }
}

impl Accept for mio::net::TcpListener {
    type Stream = mio::net::TcpStream;
    fn accept_one(&self) -> io::Result<(Self::Stream, Option<IpAddr>)> {
        self.accept().map(|(s, a)| (s, Some(a.ip())))
    }
}

impl Accept for mio::net::UnixListener {
    type Stream = mio::net::UnixStream;
    fn accept_one(&self) -> io::Result<(Self::Stream, Option<IpAddr>)> {
        self.accept().map(|(s, _)| (s, None))
    }
    fn caller(stream: &Self::Stream) -> Option<PeerCred> {
        super::peercred::peer_cred(stream).ok()
    }
}

/// What a server's connections are answered with.
pub(crate) trait Responder {
    /// Where a long answer stands between two parts (a cursor into the data).
    type Cursor;
    /// Writes the answer to a complete request into `out`; returns a cursor when more
    /// follows (then `more` is called as the client reads).
    fn answer(&mut self, request: &[u8], out: &mut Vec<u8>) -> Option<Self::Cursor>;
    /// `answer`, knowing who asked (a local socket's peer credentials).
    fn answer_from(
        &mut self,
        caller: Option<PeerCred>,
        request: &[u8],
        out: &mut Vec<u8>,
    ) -> Option<Self::Cursor> {
        let _ = caller;
        self.answer(request, out)
    }
    /// Appends the next part of a long answer to `out`; false when it was the last.
    fn more(&mut self, cursor: &mut Self::Cursor, out: &mut Vec<u8>) -> bool;
    /// The answer to a request over the size limit.
    fn too_large(&mut self, out: &mut Vec<u8>);
}

/// The rules of one server.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Largest request accepted.
    pub(crate) max_request: usize,
    /// When the bytes read so far form a whole request.
    pub(crate) complete: fn(&[u8]) -> bool,
}

struct ClientConn<S, C> {
    stream: S,
    source: Option<IpAddr>,
    caller: Option<PeerCred>,
    input: Vec<u8>,
    output: Vec<u8>,
    written: usize,
    answered: bool,
    /// The rest of a long answer.
    cursor: Option<C>,
    accepted: Instant,
    /// When bytes last went out (or the answer began).
    progress: Instant,
}

/// Counters for metrics and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ServeStats {
    pub(crate) accepted: u64,
    /// Refused at accept: the source already had `MAX_PER_SOURCE`, or all slots were
    /// taken by sources no busier than it.
    pub(crate) refused: u64,
    /// Replaced by a newcomer from a less busy source.
    pub(crate) evicted: u64,
    /// Closed for not sending a whole request in time, or not reading the answer.
    pub(crate) timed_out: u64,
    pub(crate) too_large: u64,
}

/// One listening socket and its connections. Tokens `base .. base + TOKENS` belong to it
/// (the listener is `base`).
pub(crate) struct Server<L: Accept, C> {
    /// The loop's registry (a clone): connections are registered as they are accepted.
    registry: Registry,
    listener: L,
    base: usize,
    conns: HashMap<usize, ClientConn<L::Stream, C>>,
    next: usize,
    limits: Limits,
    /// Connections with more to write that the socket may still take: driven again on
    /// the next turn (readiness is edge-triggered, no new event would come).
    pending: Vec<usize>,
    pub(crate) stats: ServeStats,
}

impl<L: Accept + mio::event::Source, C> Server<L, C> {
    pub(crate) fn new(
        mut listener: L,
        base: usize,
        registry: &Registry,
        limits: Limits,
    ) -> io::Result<Server<L, C>> {
        registry.register(&mut listener, Token(base), Interest::READABLE)?;
        Ok(Server {
            registry: registry.try_clone()?,
            listener,
            base,
            conns: HashMap::new(),
            next: 1,
            limits,
            pending: Vec::new(),
            stats: ServeStats::default(),
        })
    }

    /// Number of tokens this server may use, starting at `base`.
    pub(crate) const TOKENS: usize = 2 * MAX_CONNS + 1;

    pub(crate) fn owns(&self, token: Token) -> bool {
        token.0 >= self.base && token.0 < self.base + Self::TOKENS
    }

    /// Connections open now.
    #[cfg(test)]
    pub(crate) fn open(&self) -> usize {
        self.conns.len()
    }

    /// Handles readiness of one of our tokens.
    pub(crate) fn ready(&mut self, token: Token, r: &mut dyn Responder<Cursor = C>, now: Instant) {
        if token.0 == self.base {
            // A request usually arrives with the connection: answer it in this turn of
            // the loop rather than the next (a busy loop's turn can be long).
            for t in self.accept_all(now) {
                self.drive_one(t, r, now);
            }
            return;
        }
        self.drive_one(token.0, r, now);
    }

    /// Whether some long answer can go on without waiting for an event.
    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Continues the long answers left in `pending` by the previous turn.
    pub(crate) fn drive_pending(&mut self, r: &mut dyn Responder<Cursor = C>, now: Instant) {
        for t in std::mem::take(&mut self.pending) {
            self.drive_one(t, r, now);
        }
    }

    fn drive_one(&mut self, t: usize, r: &mut dyn Responder<Cursor = C>, now: Instant) {
        let Some(conn) = self.conns.get_mut(&t) else {
            return;
        };
        let was_answered = conn.answered;
        let step = drive(conn, &self.limits, r, now, &mut self.stats);
        match step {
            Ok(Step::Done) | Err(_) => self.close(t),
            Ok(Step::Wait) => {
                if conn.answered && !was_answered {
                    let _ =
                        self.registry
                            .reregister(&mut conn.stream, Token(t), Interest::WRITABLE);
                }
            }
            Ok(Step::Again) => {
                if conn.answered && !was_answered {
                    let _ =
                        self.registry
                            .reregister(&mut conn.stream, Token(t), Interest::WRITABLE);
                }
                if !self.pending.contains(&t) {
                    self.pending.push(t);
                }
            }
        }
    }

    fn close(&mut self, t: usize) {
        if let Some(mut c) = self.conns.remove(&t) {
            let _ = self.registry.deregister(&mut c.stream);
        }
        self.pending.retain(|p| *p != t);
    }

    fn per_source(&self, src: Option<IpAddr>) -> usize {
        self.conns.values().filter(|c| c.source == src).count()
    }

    /// Whether one more connection from `src` may be accepted, possibly after evicting
    /// the oldest waiting connection of the busiest source.
    fn make_room(&mut self, src: Option<IpAddr>) -> bool {
        let mine = self.per_source(src);
        // A local (unix) socket has no address to tell clients apart: only the total.
        if src.is_some() && mine >= MAX_PER_SOURCE {
            return false;
        }
        if self.conns.len() < MAX_CONNS {
            return true;
        }
        let mut counts: HashMap<Option<IpAddr>, usize> = HashMap::new();
        for c in self.conns.values() {
            *counts.entry(c.source).or_default() += 1;
        }
        let Some((&busiest, &n)) = counts.iter().max_by_key(|(_, n)| **n) else {
            return false;
        };
        if busiest == src || n <= mine + 1 {
            return false;
        }
        let victim = self
            .conns
            .iter()
            .filter(|(_, c)| c.source == busiest)
            .min_by_key(|(_, c)| (c.answered, c.accepted))
            .map(|(t, _)| *t);
        match victim {
            Some(t) => {
                self.close(t);
                self.stats.evicted += 1;
                true
            }
            None => false,
        }
    }

    /// Accepts every waiting connection; returns their tokens.
    fn accept_all(&mut self, now: Instant) -> Vec<usize> {
        let mut new = Vec::new();
        loop {
            match self.listener.accept_one() {
                Ok((mut stream, source)) => {
                    if !self.make_room(source) {
                        self.stats.refused += 1;
                        continue; // dropped: closes the connection
                    }
                    let slot = self.free_slot();
                    if self
                        .registry
                        .register(&mut stream, Token(self.base + slot), Interest::READABLE)
                        .is_ok()
                    {
                        self.stats.accepted += 1;
                        new.push(self.base + slot);
                        self.conns.insert(
                            self.base + slot,
                            ClientConn {
                                caller: L::caller(&stream),
                                stream,
                                source,
                                input: Vec::new(),
                                output: Vec::new(),
                                written: 0,
                                answered: false,
                                cursor: None,
                                accepted: now,
                                progress: now,
                            },
                        );
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return new,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return new,
            }
        }
    }

    fn free_slot(&mut self) -> usize {
        loop {
            let slot = self.next;
            self.next = if self.next + 1 >= Self::TOKENS {
                1
            } else {
                self.next + 1
            };
            if !self.conns.contains_key(&(self.base + slot)) {
                return slot;
            }
        }
    }

    fn deadline_of(c: &ClientConn<L::Stream, C>) -> Instant {
        if c.answered {
            c.progress + WRITE_STALL
        } else {
            c.accepted + REQUEST_TIMEOUT
        }
    }

    /// Closes connections past their deadline. Call every turn of the loop.
    pub(crate) fn expire(&mut self, now: Instant) {
        let old: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, c)| now >= Self::deadline_of(c))
            .map(|(k, _)| *k)
            .collect();
        for k in old {
            self.stats.timed_out += 1;
            self.close(k);
        }
    }

    /// The earliest connection deadline (for the loop's poll timeout).
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.conns.values().map(Self::deadline_of).min()
    }
}

/// What `drive` left to do.
enum Step {
    /// Finished: close.
    Done,
    /// Waiting for the socket (readable or writable event).
    Wait,
    /// More can be written now, on the next turn.
    Again,
}

/// Reads, answers, writes (a bounded number of parts of a long answer).
fn drive<S: Read + Write, C>(
    conn: &mut ClientConn<S, C>,
    limits: &Limits,
    r: &mut dyn Responder<Cursor = C>,
    now: Instant,
    stats: &mut ServeStats,
) -> io::Result<Step> {
    if !conn.answered {
        let mut buf = [0u8; 4096];
        let mut over = false;
        loop {
            match conn.stream.read(&mut buf) {
                Ok(0) => return Ok(Step::Done),
                Ok(n) => {
                    conn.input.extend_from_slice(&buf[..n]);
                    if conn.input.len() > limits.max_request {
                        over = true;
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        if over {
            stats.too_large += 1;
            conn.input = Vec::new();
            r.too_large(&mut conn.output);
        } else {
            if !(limits.complete)(&conn.input) {
                return Ok(Step::Wait);
            }
            conn.cursor = r.answer_from(conn.caller, &conn.input, &mut conn.output);
            conn.input = Vec::new();
        }
        conn.answered = true;
        conn.progress = now;
    }
    let mut parts = 0;
    loop {
        while conn.written < conn.output.len() {
            match conn.stream.write(&conn.output[conn.written..]) {
                Ok(0) => return Ok(Step::Done),
                Ok(n) => {
                    conn.written += n;
                    conn.progress = now;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Step::Wait),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        conn.output.clear();
        conn.written = 0;
        let Some(cursor) = conn.cursor.as_mut() else {
            return Ok(Step::Done);
        };
        if parts >= PARTS_PER_TURN {
            return Ok(Step::Again);
        }
        parts += 1;
        if !r.more(cursor, &mut conn.output) {
            conn.cursor = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::os::unix::net::UnixStream;

    /// Answers "N\n" with N lines "row i", produced 1000 per part.
    struct Rows;

    impl Responder for Rows {
        type Cursor = (usize, usize);
        fn answer(&mut self, req: &[u8], out: &mut Vec<u8>) -> Option<(usize, usize)> {
            let n: usize = std::str::from_utf8(req)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
            out.extend_from_slice(b"begin\n");
            (n > 0).then_some((0, n))
        }
        fn more(&mut self, c: &mut (usize, usize), out: &mut Vec<u8>) -> bool {
            let end = (c.0 + 1000).min(c.1);
            for i in c.0..end {
                out.extend_from_slice(format!("row {i}\n").as_bytes());
            }
            c.0 = end;
            end < c.1
        }
        fn too_large(&mut self, out: &mut Vec<u8>) {
            out.extend_from_slice(b"too large\n");
        }
    }

    fn limits() -> Limits {
        Limits {
            max_request: 64,
            complete: |b| b.contains(&b'\n'),
        }
    }

    struct ServerRig {
        poll: mio::Poll,
        server: Server<mio::net::UnixListener, (usize, usize)>,
        path: std::path::PathBuf,
    }

    impl ServerRig {
        fn new(tag: &str) -> ServerRig {
            let path =
                std::env::temp_dir().join(format!("kb-serve-{tag}-{}.sock", std::process::id()));
            let _ = std::fs::remove_file(&path);
            let poll = mio::Poll::new().unwrap();
            let l = mio::net::UnixListener::bind(&path).unwrap();
            let server = Server::new(l, 10, poll.registry(), limits()).unwrap();
            ServerRig { poll, server, path }
        }

        /// Runs the loop for `d`, as the daemon does.
        fn turn(&mut self, d: Duration) {
            let mut events = mio::Events::with_capacity(64);
            let timeout = if self.server.has_pending() {
                Duration::ZERO
            } else {
                d
            };
            self.poll.poll(&mut events, Some(timeout)).unwrap();
            for ev in events.iter() {
                if self.server.owns(ev.token()) {
                    self.server.ready(ev.token(), &mut Rows, Instant::now());
                }
            }
            let now = Instant::now();
            self.server.drive_pending(&mut Rows, now);
            self.server.expire(now);
        }
    }

    impl Drop for ServerRig {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    /// A long answer streams in parts as the client reads, one part per turn.
    #[test]
    fn long_answers_stream_in_parts() {
        let mut rig = ServerRig::new("stream");
        let mut c = UnixStream::connect(&rig.path).unwrap();
        c.write_all(b"250000\n").unwrap();
        c.set_nonblocking(true).unwrap();
        let mut got = Vec::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut turns = 0;
        let t0 = Instant::now();
        loop {
            rig.turn(Duration::from_millis(20));
            turns += 1;
            match c.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
            assert!(t0.elapsed() < Duration::from_secs(30), "stuck");
        }
        let lines: Vec<&str> = std::str::from_utf8(&got).unwrap().lines().collect();
        assert_eq!(lines.len(), 250_001);
        assert_eq!(lines[0], "begin");
        assert_eq!(lines[250_000], "row 249999");
        // 250 parts, at most two per turn (one on the event, one from `pending`).
        assert!(turns >= 125, "{turns} turns");
        assert_eq!(rig.server.open(), 0);
    }

    /// Silent clients are closed after REQUEST_TIMEOUT; oversize requests get the
    /// refusal.
    #[test]
    fn timeouts_and_size_limit() {
        let mut rig = ServerRig::new("limits");
        let silent = UnixStream::connect(&rig.path).unwrap();
        let mut big = UnixStream::connect(&rig.path).unwrap();
        big.write_all(&[b'x'; 200]).unwrap();
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_millis(300) {
            rig.turn(Duration::from_millis(20));
        }
        let mut r = BufReader::new(&big);
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert_eq!(line, "too large\n");
        assert_eq!(rig.server.stats.too_large, 1);
        assert_eq!(rig.server.open(), 1, "the silent one is still open");
        assert!(rig.server.next_deadline().is_some());
        while t0.elapsed() < REQUEST_TIMEOUT + Duration::from_millis(300) {
            rig.turn(Duration::from_millis(50));
        }
        assert_eq!(rig.server.open(), 0);
        assert_eq!(rig.server.stats.timed_out, 1);
        let mut b = [0u8; 1];
        assert_eq!((&silent).read(&mut b).unwrap(), 0, "closed");
    }

    /// Per-source caps and eviction, on TCP (source addresses 127.0.0.1 and .2).
    #[test]
    fn one_source_cannot_take_every_slot() {
        let mut poll = mio::Poll::new().unwrap();
        let l = mio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = l.local_addr().unwrap();
        let mut server: Server<mio::net::TcpListener, (usize, usize)> =
            Server::new(l, 10, poll.registry(), limits()).unwrap();
        let mut turn = |server: &mut Server<_, _>| {
            let mut events = mio::Events::with_capacity(256);
            poll.poll(&mut events, Some(Duration::from_millis(20)))
                .unwrap();
            for ev in events.iter() {
                if server.owns(ev.token()) {
                    server.ready(ev.token(), &mut Rows, Instant::now());
                }
            }
            server.drive_pending(&mut Rows, Instant::now());
        };
        let connect_from = |src: &str| {
            let s = socket2_free_connect(src, addr);
            s.set_nonblocking(false).unwrap();
            s
        };
        // 100 idle connections from one source: only MAX_PER_SOURCE are kept.
        let idle: Vec<_> = (0..100).map(|_| connect_from("127.0.0.1")).collect();
        for _ in 0..10 {
            turn(&mut server);
        }
        assert_eq!(server.open(), MAX_PER_SOURCE);
        assert!(server.stats.refused >= 90, "{:?}", server.stats);
        // Another source is answered at once.
        let mut other = connect_from("127.0.0.2");
        other.write_all(b"0\n").unwrap();
        other
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        for _ in 0..5 {
            turn(&mut server);
        }
        let mut line = String::new();
        BufReader::new(&other).read_line(&mut line).unwrap();
        assert_eq!(line, "begin\n");
        drop(idle);
    }

    /// A TCP connection from a chosen loopback source address.
    fn socket2_free_connect(src: &str, to: std::net::SocketAddr) -> std::net::TcpStream {
        // std cannot bind before connect; do it with libc.
        use std::os::fd::FromRawFd;
        let src: std::net::Ipv4Addr = src.parse().unwrap();
        let std::net::SocketAddr::V4(to) = to else {
            panic!("v4 only")
        };
        // SAFETY: plain socket calls on a fresh descriptor we own; the sockaddr_in
        // structures live on the stack for the duration of each call.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
            assert!(fd >= 0);
            let mut a: libc::sockaddr_in = std::mem::zeroed();
            a.sin_family = libc::AF_INET as u16;
            a.sin_addr.s_addr = u32::from(src).to_be();
            let len = std::mem::size_of::<libc::sockaddr_in>() as u32;
            assert_eq!(
                libc::bind(fd, &a as *const _ as *const libc::sockaddr, len),
                0
            );
            let mut b: libc::sockaddr_in = std::mem::zeroed();
            b.sin_family = libc::AF_INET as u16;
            b.sin_port = to.port().to_be();
            b.sin_addr.s_addr = u32::from(*to.ip()).to_be();
            assert_eq!(
                libc::connect(fd, &b as *const _ as *const libc::sockaddr, len),
                0
            );
            std::net::TcpStream::from_raw_fd(fd)
        }
    }
}
