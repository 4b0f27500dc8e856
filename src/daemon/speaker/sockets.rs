//! The speaker's socket part: the mio streams and listeners behind the core's
//! connections, nothing else. Turns readiness into the core's inputs (accepted,
//! connected, bytes read, bytes written, closed) and the core's outputs into syscalls
//! (connect, listen, TCP-MD5 keys, vectored writes of the send queues, close).
//!
//! Owns the tokens, the read budget per connection per turn (a connection that had
//! more is driven again on the next turn: readiness is edge-triggered), and connections
//! being closed: their last bytes (a NOTIFICATION) are written as the socket takes them,
//! for `CLOSE_LINGER` at most; nothing blocks the loop. Makes no protocol decision
//! (which connection to accept, what to send, when to give up on a peer: the core's).
//! Runs on the daemon thread only.

use std::collections::HashMap;
use std::io::{self, IoSlice, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};

use super::SessionIo;
use super::sessions::{ConnKey, SocketOp, SpeakerCore};
use crate::config::Password;
use crate::daemon::conn::SendQueue;
use crate::net::{Timers, sock};
use crate::prefix::Afi;
use crate::{debug, info, warn};

/// First token of the speaker's range; listeners share `BASE`, connections come after
/// `BASE + LISTENER_SLOTS`.
pub(crate) const TOKEN_BASE: usize = 1 << 20;
const LISTENER_SLOTS: usize = 64;
/// Read at most this much per turn of the loop per connection before moving on.
pub(super) const READ_BUDGET: usize = 256 << 10;
/// How long a closed connection may take to write its last bytes (a NOTIFICATION).
pub(super) const CLOSE_LINGER: Duration = Duration::from_secs(3);

/// The socket of one of the core's connections.
struct Open {
    stream: TcpStream,
    key: ConnKey,
    /// An outbound connect still in progress.
    connecting: bool,
}

/// A connection the core closed whose last bytes are still being written.
struct Lingering {
    stream: TcpStream,
    unsent: SendQueue,
    peer: IpAddr,
}

struct Listener {
    addr: SocketAddr,
    sock: TcpListener,
}

/// The speaker's sockets.
pub(crate) struct SpeakerSockets {
    /// The loop's registry (shared by every speaker the daemon builds): sockets are
    /// registered as they are opened.
    registry: Rc<Registry>,
    open: HashMap<Token, Open>,
    tokens: HashMap<ConnKey, Token>,
    /// Closed connections still writing their last bytes, by token.
    closing: HashMap<Token, Lingering>,
    /// When each closing connection's linger time is over.
    linger: Timers<Token>,
    listeners: Vec<Listener>,
    /// Listen addresses that failed since the last `take_listen_failures`.
    listen_failures: Vec<(SocketAddr, String)>,
    /// Connections whose last read stopped at `READ_BUDGET` with data possibly left in
    /// the socket: no new event comes for bytes already there, so these are driven
    /// again on the next turn of the loop.
    pending_reads: Vec<Token>,
    next_token: usize,
    /// One turn's bytes of one connection, handed to the core at once: the socket reads
    /// straight into it (sized once, `READ_SCRATCH`), so bytes are copied once, into the
    /// connection's receive buffer.
    scratch: Vec<u8>,
}

impl SpeakerSockets {
    pub(crate) fn new(registry: Rc<Registry>) -> SpeakerSockets {
        SpeakerSockets {
            registry,
            open: HashMap::new(),
            tokens: HashMap::new(),
            closing: HashMap::new(),
            linger: Timers::new(),
            listeners: Vec::new(),
            listen_failures: Vec::new(),
            pending_reads: Vec::new(),
            next_token: TOKEN_BASE + LISTENER_SLOTS,
            scratch: Vec::new(),
        }
    }

    pub(crate) fn owns(&self, token: Token) -> bool {
        token.0 >= TOKEN_BASE
    }

    /// The addresses currently listened on.
    #[cfg(test)]
    pub(crate) fn listening(&self) -> Vec<SocketAddr> {
        self.listeners.iter().map(|l| l.addr).collect()
    }

    /// When the next closing connection's linger time is over.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        self.linger.next_deadline()
    }

    /// Whether some connection has unread input left from an earlier turn.
    pub(crate) fn has_pending_reads(&self) -> bool {
        !self.pending_reads.is_empty()
    }

    /// Listen addresses that could not be opened since the last call, with the error.
    pub(crate) fn take_listen_failures(&mut self) -> Vec<(SocketAddr, String)> {
        std::mem::take(&mut self.listen_failures)
    }

    /// Carries out what the core asks (socket operations, writes) until it asks
    /// nothing more: each can lead the core to ask more.
    pub(crate) fn service(&mut self, core: &mut SpeakerCore, now: Instant) {
        loop {
            let mut any = false;
            while let Some(op) = core.pop_op() {
                any = true;
                self.apply(core, op, now);
            }
            while let Some(key) = core.pop_writable() {
                any = true;
                if let Some(&token) = self.tokens.get(&key) {
                    self.write(core, token, now);
                }
            }
            if !any {
                break;
            }
        }
    }

    fn apply(&mut self, core: &mut SpeakerCore, op: SocketOp, now: Instant) {
        match op {
            SocketOp::Connect {
                key,
                remote,
                local,
                ttl,
                min_ttl,
                md5,
            } => {
                let mut stream = match sock::connect_gtsm(
                    remote,
                    local,
                    ttl,
                    min_ttl,
                    md5.as_ref().map(|k| k.as_bytes()),
                ) {
                    Ok(s) => s,
                    Err(e) => return core.connect_failed(key, &e, now),
                };
                let token = self.alloc_token();
                if let Err(e) = self.registry.register(
                    &mut stream,
                    token,
                    Interest::READABLE | Interest::WRITABLE,
                ) {
                    warn!("bgp", "peer {}: register: {e}", key.peer);
                    return core.connect_failed(key, &e, now);
                }
                self.insert(token, stream, key, true);
            }
            SocketOp::Close { key, unsent } => {
                let Some((token, open)) = self.remove(key) else {
                    return;
                };
                let mut stream = open.stream;
                if open.connecting || unsent.pending() == 0 {
                    let _ = self.registry.deregister(&mut stream);
                    return;
                }
                self.closing.insert(
                    token,
                    Lingering {
                        stream,
                        unsent,
                        peer: key.peer,
                    },
                );
                self.linger.set(token, now + CLOSE_LINGER);
                self.flush_closing(token);
            }
            SocketOp::Abort { key } => {
                if let Some((_, mut open)) = self.remove(key) {
                    let _ = self.registry.deregister(&mut open.stream);
                }
            }
            SocketOp::Listen { addr, gtsm, keys } => {
                if let Err(e) = self.listen(addr, gtsm, &keys) {
                    core.listen_failed(addr);
                    self.listen_failures.push((addr, e));
                }
            }
            SocketOp::Unlisten { addr } => self.listeners.retain_mut(|l| {
                let keep = l.addr != addr;
                if !keep {
                    let _ = self.registry.deregister(&mut l.sock);
                    info!("bgp", "stopped listening on {}", l.addr);
                }
                keep
            }),
            SocketOp::SetKey { peer, key } => {
                for l in &self.listeners {
                    if Afi::of(&l.addr.ip()) != Afi::of(&peer) && !l.addr.ip().is_unspecified() {
                        continue;
                    }
                    if let Err(e) = sock::set_md5(&l.sock, peer, key.as_ref().map(|k| k.as_bytes()))
                    {
                        warn!("bgp", "TCP-MD5 key for {peer} on {}: {e}", l.addr);
                    }
                }
            }
        }
    }

    fn listen(
        &mut self,
        a: SocketAddr,
        gtsm: bool,
        keys: &[(IpAddr, Password)],
    ) -> Result<(), String> {
        if self.listeners.len() >= LISTENER_SLOTS {
            return Err("too many listen addresses".to_string());
        }
        let mut s = sock::listen(a).map_err(|e| e.to_string())?;
        if gtsm {
            // GTSM: SYN-ACKs go out with TTL 255, and each SYN's TTL is kept to be
            // checked when the connection is accepted.
            sock::set_ttl(&s, 255)
                .and_then(|()| sock::set_save_syn(&s))
                .map_err(|e| format!("GTSM: {e}"))?;
        }
        // Every listener shares one token: any of them being readable makes the
        // speaker accept on all.
        self.registry
            .register(&mut s, Token(TOKEN_BASE), Interest::READABLE)
            .map_err(|e| e.to_string())?;
        for (ip, k) in keys {
            if let Err(e) = sock::set_md5(&s, *ip, Some(k.as_bytes())) {
                warn!("bgp", "TCP-MD5 key for {ip} on {a}: {e}");
            }
        }
        info!("bgp", "listening on {a}");
        self.listeners.push(Listener { addr: a, sock: s });
        Ok(())
    }

    fn alloc_token(&mut self) -> Token {
        self.next_token += 1;
        Token(self.next_token)
    }

    fn insert(&mut self, token: Token, stream: TcpStream, key: ConnKey, connecting: bool) {
        self.open.insert(
            token,
            Open {
                stream,
                key,
                connecting,
            },
        );
        self.tokens.insert(key, token);
    }

    fn remove(&mut self, key: ConnKey) -> Option<(Token, Open)> {
        let token = self.tokens.remove(&key)?;
        self.open.remove(&token).map(|o| (token, o))
    }

    /// Drops a connection's socket after the core was told it is gone.
    fn drop_token(&mut self, token: Token) {
        if let Some(mut open) = self.open.remove(&token) {
            let _ = self.registry.deregister(&mut open.stream);
            self.tokens.remove(&open.key);
        }
    }

    /// Expires the closing connections whose linger time is over.
    pub(crate) fn on_timers(&mut self, now: Instant) {
        while let Some(token) = self.linger.pop_expired(now) {
            if let Some(mut cl) = self.closing.remove(&token) {
                debug!(
                    "bgp",
                    "peer {}: closing connection: {} bytes left unsent",
                    cl.peer,
                    cl.unsent.pending()
                );
                let _ = self.registry.deregister(&mut cl.stream);
            }
        }
    }

    /// Handles readiness of a speaker token.
    pub(crate) fn ready(&mut self, core: &mut SpeakerCore, token: Token, now: Instant) {
        if token.0 < TOKEN_BASE + LISTENER_SLOTS {
            self.accept_all(core, now);
        } else if self.closing.contains_key(&token) {
            self.flush_closing(token);
        } else {
            self.drive(core, token, now);
        }
        self.service(core, now);
    }

    /// Reads on (one budget each) from the connections that stopped at their read
    /// budget on an earlier turn.
    pub(crate) fn drive_pending(&mut self, core: &mut SpeakerCore, now: Instant) {
        for token in std::mem::take(&mut self.pending_reads) {
            self.drive(core, token, now);
        }
        self.service(core, now);
    }

    fn accept_all(&mut self, core: &mut SpeakerCore, now: Instant) {
        let mut accepted = Vec::new();
        for l in &self.listeners {
            loop {
                match l.sock.accept() {
                    Ok((s, _)) => accepted.push(s),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        warn!("bgp", "accept on {}: {e}", l.addr);
                        break;
                    }
                }
            }
        }
        for mut stream in accepted {
            let Ok(remote) = sock::peer_addr(&stream) else {
                continue;
            };
            let syn_ttl = sock::syn_ttl(&stream).map_err(|e| e.to_string());
            let Some(rules) = core.admit(remote, syn_ttl, now) else {
                continue;
            };
            if let Err(e) = sock::prepare_accepted(&stream, rules.ttl, rules.min_ttl) {
                warn!(
                    "bgp",
                    "peer {}: setting up accepted connection: {e}",
                    remote.ip()
                );
                if rules.min_ttl.is_some() {
                    // Without GTSM in force the connection must not be used.
                    continue;
                }
            }
            let token = self.alloc_token();
            if let Err(e) =
                self.registry
                    .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
            {
                warn!("bgp", "peer {}: register: {e}", remote.ip());
                continue;
            }
            let local = sock::local_addr(&stream).ok();
            // What the core asks for the new connection (its OPEN) is carried out by
            // `service`, after the socket is filed under the connection's key.
            let Some(key) = core.accepted(remote, local, now) else {
                let _ = self.registry.deregister(&mut stream);
                continue;
            };
            self.insert(token, stream, key, false);
        }
    }

    /// One connection's turn: finish a connect, write what waits, read what arrived
    /// (at most `READ_BUDGET`).
    fn drive(&mut self, core: &mut SpeakerCore, token: Token, now: Instant) {
        let Some(open) = self.open.get_mut(&token) else {
            return;
        };
        let key = open.key;
        if open.connecting {
            match sock::connect_finished(&open.stream) {
                Ok(true) => {
                    open.connecting = false;
                    let local = sock::local_addr(&open.stream).ok();
                    core.connected(key, local, now);
                }
                Ok(false) => return,
                Err(e) => {
                    self.drop_token(token);
                    return core.connect_failed(key, &format_args!("{e}"), now);
                }
            }
        }
        if core.send_queue(key).is_some_and(|q| q.pending() > 0) {
            self.write(core, token, now);
        }
        // What the core asked meanwhile (a close) comes before reading on.
        self.service(core, now);
        let Some(open) = self.open.get_mut(&token) else {
            return;
        };
        let (n, end) = read_budget(&mut open.stream, &mut self.scratch);
        core.on_read(key, self.scratch.get(..n).unwrap_or_default(), now);
        match end {
            Ok(ReadEnd::Drained) => {}
            Ok(ReadEnd::Budget) => {
                if !self.pending_reads.contains(&token) {
                    self.pending_reads.push(token);
                }
            }
            Ok(ReadEnd::Eof) => {
                self.drop_token(token);
                core.on_closed(key, None, now);
            }
            Err(e) => {
                self.drop_token(token);
                core.on_closed(key, Some(&format!("read: {e}")), now);
            }
        }
    }

    /// Writes what the core has queued on the connection, as much as the socket takes.
    fn write(&mut self, core: &mut SpeakerCore, token: Token, now: Instant) {
        let Some(open) = self.open.get_mut(&token) else {
            return;
        };
        if open.connecting {
            return;
        }
        let key = open.key;
        let Some(q) = core.send_queue(key) else {
            return;
        };
        let (n, res) = write_queue(&mut open.stream, q);
        match res {
            Ok(()) => core.on_written(key, n, now),
            Err(e) => {
                self.drop_token(token);
                core.on_closed(key, Some(&format!("write: {e}")), now);
            }
        }
    }

    /// Writes on for a closing connection; drops it once all is written or it broke.
    fn flush_closing(&mut self, token: Token) {
        let Some(cl) = self.closing.get_mut(&token) else {
            return;
        };
        let (n, res) = write_queue(&mut cl.stream, &cl.unsent);
        cl.unsent.consume(n);
        if res.is_err() || cl.unsent.pending() == 0 {
            if let Some(mut cl) = self.closing.remove(&token) {
                let _ = self.registry.deregister(&mut cl.stream);
            }
            self.linger.cancel(&token);
        }
    }

    #[cfg(test)]
    /// Connections still writing their last bytes.
    pub(crate) fn closing_count(&self) -> usize {
        self.closing.len()
    }

    #[cfg(test)]
    /// The socket of a connection (to shrink its buffers in tests).
    pub(crate) fn stream(&self, key: ConnKey) -> Option<&TcpStream> {
        self.tokens
            .get(&key)
            .and_then(|t| self.open.get(t))
            .map(|o| &o.stream)
    }

    /// At exit: gives the closing connections up to `budget` in total (not per peer) to
    /// write their last bytes, then drops them.
    pub(crate) fn drain_closing(&mut self, budget: Duration) {
        let deadline = Instant::now() + budget;
        loop {
            let tokens: Vec<Token> = self.closing.keys().copied().collect();
            for t in tokens {
                self.flush_closing(t);
            }
            if self.closing.is_empty() || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        for (_, mut cl) in self.closing.drain() {
            let _ = self.registry.deregister(&mut cl.stream);
        }
    }
}

impl SessionIo for SpeakerSockets {
    fn service(&mut self, core: &mut SpeakerCore, now: Instant) {
        SpeakerSockets::service(self, core, now);
    }

    fn ready(&mut self, core: &mut SpeakerCore, token: Token, now: Instant) {
        SpeakerSockets::ready(self, core, token, now);
    }

    fn owns(&self, token: Token) -> bool {
        SpeakerSockets::owns(self, token)
    }

    fn on_timers(&mut self, _core: &mut SpeakerCore, now: Instant) {
        SpeakerSockets::on_timers(self, now);
    }

    fn has_pending_reads(&self) -> bool {
        SpeakerSockets::has_pending_reads(self)
    }

    fn drive_pending(&mut self, core: &mut SpeakerCore, now: Instant) {
        SpeakerSockets::drive_pending(self, core, now);
    }

    fn next_deadline(&mut self) -> Option<Instant> {
        SpeakerSockets::next_deadline(self)
    }

    #[cfg(test)]
    fn listening(&self) -> Vec<SocketAddr> {
        SpeakerSockets::listening(self)
    }

    fn take_listen_failures(&mut self) -> Vec<(SocketAddr, String)> {
        SpeakerSockets::take_listen_failures(self)
    }

    fn drain_closing(&mut self, budget: Duration) {
        SpeakerSockets::drain_closing(self, budget);
    }

    #[cfg(test)]
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Writes the queue's parts (vectored, straight from the shared encodings) until the
/// socket takes no more; returns the bytes written and whether the connection broke.
fn write_queue(stream: &mut TcpStream, q: &SendQueue) -> (usize, io::Result<()>) {
    let mut written = 0;
    // On the stack: no allocation per write (a route reflector writes to K clients).
    let mut io = [IoSlice::new(&[]); WRITE_SLICES];
    loop {
        let n = q.fill_slices(written, &mut io);
        let Some(io) = io.get(..n).filter(|io| !io.is_empty()) else {
            return (written, Ok(()));
        };
        // One slice (a lone UPDATE to each of K peers): a plain send, which skips the
        // file layer a vectored write goes through.
        let res = match io {
            [one] => stream.write(one),
            _ => stream.write_vectored(io),
        };
        match res {
            Ok(0) => {
                return (
                    written,
                    Err(io::Error::new(io::ErrorKind::WriteZero, "closed")),
                );
            }
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return (written, Ok(())),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return (written, Err(e)),
        }
    }
}

/// Most slices one vectored write takes from a send queue (more are written by the
/// next call: a queue holds a few parts per flush).
const WRITE_SLICES: usize = 64;

/// How a bounded read ended.
#[derive(Debug, PartialEq, Eq)]
enum ReadEnd {
    /// The socket is empty (WouldBlock): the next readiness event brings more.
    Drained,
    /// Stopped at `READ_BUDGET`: more may be waiting and no event will say so.
    Budget,
    /// End of stream.
    Eof,
}

/// Bytes one `read` call may take.
const READ_CHUNK: usize = 64 * 1024;
/// The scratch buffer's size: a turn stops at the first read that reaches the budget.
const READ_SCRATCH: usize = READ_BUDGET + READ_CHUNK;

/// Reads what is available straight into `buf` (made `READ_SCRATCH` long once), at most
/// about `READ_BUDGET` bytes; returns how many bytes of `buf` were filled and how the
/// turn ended. Bytes read before an end of stream or an error are counted too.
fn read_budget(stream: &mut TcpStream, buf: &mut Vec<u8>) -> (usize, io::Result<ReadEnd>) {
    if buf.len() != READ_SCRATCH {
        // Zeroed by the allocator (calloc: pages fresh from the kernel are not written),
        // so only the pages that reads fill become resident: an idle node's keepalives
        // touch one page, not the whole scratch (`resize` would write every byte).
        *buf = vec![0; READ_SCRATCH];
    }
    let mut filled = 0;
    loop {
        let Some(room) = buf.get_mut(filled..filled + READ_CHUNK) else {
            return (filled, Ok(ReadEnd::Budget));
        };
        match stream.read(room) {
            Ok(0) => return (filled, Ok(ReadEnd::Eof)),
            Ok(n) => {
                filled += n;
                if filled >= READ_BUDGET {
                    return (filled, Ok(ReadEnd::Budget));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return (filled, Ok(ReadEnd::Drained));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return (filled, Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::io::AsRawFd;
    use std::rc::Rc;

    /// A connected loopback pair: (our non-blocking side, the other side).
    fn pair() -> (TcpStream, std::net::TcpStream) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = l.local_addr().expect("local addr");
        let w = std::net::TcpStream::connect(addr).expect("connect");
        let (r, _) = l.accept().expect("accept");
        r.set_nonblocking(true).expect("nonblocking");
        (TcpStream::from_std(r), w)
    }

    fn small_buffers(ours: &TcpStream, peer: &std::net::TcpStream) {
        for (fd, opt) in [
            (ours.as_raw_fd(), libc::SO_SNDBUF),
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

    /// Reads until `want` bytes are buffered or the budget says more is waiting.
    fn read_until(s: &mut TcpStream, out: &mut Vec<u8>, want: usize) -> ReadEnd {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let before = out.len();
            let mut turn = Vec::new();
            let (n, r) = read_budget(s, &mut turn);
            let r = r.expect("read");
            out.extend_from_slice(&turn[..n]);
            assert!(n < READ_SCRATCH, "one turn stays in budget");
            if r != ReadEnd::Drained || out.len() >= want || Instant::now() > deadline {
                return r;
            }
            if out.len() == before {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }

    #[test]
    fn read_stops_at_budget_and_says_more_may_wait() {
        let (mut ours, mut w) = pair();
        let total = READ_BUDGET * 3;
        let data: Vec<u8> = (0..total).map(|i| (i % 251) as u8).collect();
        let writer = std::thread::spawn(move || {
            w.write_all(&data).expect("write");
            w
        });
        // The first read that reaches the budget must report it, never claim "drained"
        // with bytes possibly left (edge-triggered readiness would not report them).
        let mut got = Vec::new();
        assert_eq!(read_until(&mut ours, &mut got, total), ReadEnd::Budget);
        // Reading on collects everything, in order, then reports Drained.
        let deadline = Instant::now() + Duration::from_secs(10);
        while got.len() < total && Instant::now() < deadline {
            let _ = read_until(&mut ours, &mut got, total);
        }
        assert_eq!(got.len(), total);
        assert!(got.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8));
        let mut rest = Vec::new();
        let (n, end) = read_budget(&mut ours, &mut rest);
        assert_eq!((n, end.expect("read")), (0, ReadEnd::Drained));
        drop(writer.join().expect("writer"));
        assert_eq!(read_until(&mut ours, &mut got, total + 1), ReadEnd::Eof);
    }

    /// A BGP message of `len` bytes (marker, length, type 2) filled with `fill`.
    fn message(len: usize, fill: u8) -> Vec<u8> {
        let mut m = vec![0xFF; 16];
        m.extend_from_slice(&(len as u16).to_be_bytes());
        m.push(2);
        m.resize(len, fill);
        m
    }

    #[test]
    fn a_send_queue_goes_out_in_order_through_a_socket_that_takes_little_at_a_time() {
        let (mut ours, mut peer) = pair();
        small_buffers(&ours, &peer);
        // 3 MB: shared encodings between bytes of our own, more than the socket takes
        // without a reader.
        let shared = Rc::new((0..100).flat_map(|k| message(1000, k)).collect::<Vec<u8>>());
        let mut q = SendQueue::default();
        let mut want = Vec::new();
        for k in 0..30u8 {
            q.push_shared(Rc::clone(&shared));
            want.extend_from_slice(&shared);
            q.push_own(&message(50, k));
            want.extend_from_slice(&message(50, k));
        }
        let (n, res) = write_queue(&mut ours, &q);
        res.expect("write");
        q.consume(n);
        assert!(
            n > 0 && q.pending() > 0,
            "{n} written, {} left",
            q.pending()
        );
        let total = want.len();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut buf = [0u8; 65536];
            while got.len() < total {
                match peer.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(e) => panic!("read: {e}"),
                }
            }
            got
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while q.pending() > 0 && Instant::now() < deadline {
            let (n, res) = write_queue(&mut ours, &q);
            res.expect("write");
            q.consume(n);
            std::thread::sleep(Duration::from_millis(1));
        }
        let got = reader.join().expect("reader");
        assert_eq!(got.len(), want.len());
        assert!(got == want, "bytes out of order");
    }
}
