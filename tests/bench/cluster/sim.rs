//! Simulated BGP speakers of a large cluster, for the `scale` benchmark: many iBGP peers
//! served by one thread (mio) inside one network namespace, each bound to its own
//! address. They are passive (kube-bgp connects to its node peers itself), open with AS
//! 64512 and router ID = their address, send their routes once Established, then End-of-
//! RIB, keep the session alive (KEEPALIVE every hold/3, jittered) and read what kube-bgp
//! sends (framed and counted, not interpreted). A session the device under test closes
//! (a Node deleted) is counted and not reopened.
//!
//! A peer plays a full-mesh node (its pod CIDR, next hop itself) or a route reflector
//! (every node's pod CIDR with that node as next hop, ORIGINATOR_ID and CLUSTER_LIST as
//! RFC 4456 §8 sets them). Commands announce or withdraw one prefix later and return the
//! wall-clock time (CLOCK_REALTIME ns) just before the bytes were written.
//!
//! Owns: its listener, connections, thread. Must not: parse UPDATEs beyond framing;
//! connect anywhere; block the caller for longer than its command timeouts.

use std::collections::HashMap;
use std::ffi::CString;
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};

use super::events::realtime_ns;

const ASN: u32 = 64512;
const HOLD: u16 = 90;
const LISTENER: Token = Token(usize::MAX - 1);
const WAKER: Token = Token(usize::MAX - 2);

/// One route a simulated peer announces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SimPeerRoute {
    pub(crate) prefix: Ipv4Addr,
    pub(crate) len: u8,
    pub(crate) next_hop: Ipv4Addr,
    /// Reflected routes: the originating node (ORIGINATOR_ID) and the cluster ID.
    pub(crate) reflected: Option<(Ipv4Addr, Ipv4Addr)>,
}

/// One simulated peer: the address kube-bgp connects to and what it announces.
#[derive(Clone, Debug)]
pub(crate) struct SimPeer {
    pub(crate) addr: Ipv4Addr,
    pub(crate) routes: Vec<SimPeerRoute>,
}

fn msg(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    m.push(kind);
    m.extend_from_slice(body);
    m
}

/// OPEN: version 4, AS 64512, hold 90 s, BGP ID, capabilities multiprotocol IPv4
/// unicast, route refresh, 4-octet AS.
pub(crate) fn open_msg(id: Ipv4Addr) -> Vec<u8> {
    let mut caps = vec![1, 4, 0, 1, 0, 1, 2, 0, 65, 4];
    caps.extend_from_slice(&ASN.to_be_bytes());
    let mut body = vec![4];
    body.extend_from_slice(&(ASN as u16).to_be_bytes());
    body.extend_from_slice(&HOLD.to_be_bytes());
    body.extend_from_slice(&id.octets());
    body.push((caps.len() + 2) as u8);
    body.push(2);
    body.push(caps.len() as u8);
    body.extend_from_slice(&caps);
    msg(1, &body)
}

fn nlri(prefix: Ipv4Addr, len: u8) -> Vec<u8> {
    let n = usize::from(len).div_ceil(8);
    let mut v = vec![len];
    v.extend_from_slice(&prefix.octets()[..n]);
    v
}

/// An iBGP UPDATE for one route: ORIGIN IGP, empty AS_PATH, NEXT_HOP, LOCAL_PREF 100,
/// and for a reflected route ORIGINATOR_ID and a one-entry CLUSTER_LIST.
pub(crate) fn update_msg(r: &SimPeerRoute) -> Vec<u8> {
    let mut a = vec![0x40, 1, 1, 0, 0x40, 2, 0, 0x40, 3, 4];
    a.extend_from_slice(&r.next_hop.octets());
    a.extend_from_slice(&[0x40, 5, 4, 0, 0, 0, 100]);
    if let Some((orig, cluster)) = r.reflected {
        a.extend_from_slice(&[0x80, 9, 4]);
        a.extend_from_slice(&orig.octets());
        a.extend_from_slice(&[0x80, 10, 4]);
        a.extend_from_slice(&cluster.octets());
    }
    let mut body = vec![0, 0];
    body.extend_from_slice(&(a.len() as u16).to_be_bytes());
    body.extend_from_slice(&a);
    body.extend_from_slice(&nlri(r.prefix, r.len));
    msg(2, &body)
}

pub(crate) fn withdraw_msg(prefix: Ipv4Addr, len: u8) -> Vec<u8> {
    let w = nlri(prefix, len);
    let mut body = (w.len() as u16).to_be_bytes().to_vec();
    body.extend_from_slice(&w);
    body.extend_from_slice(&[0, 0]);
    msg(2, &body)
}

/// Splits complete BGP messages off the front of `buf`: (type, whole message length).
/// Err for a bad marker or length (the session is then closed).
pub(crate) fn frame(buf: &[u8]) -> Result<Option<(u8, usize)>, String> {
    if buf.len() < 19 {
        return Ok(None);
    }
    if buf[..16].iter().any(|&b| b != 0xff) {
        return Err("bad marker".into());
    }
    let len = usize::from(u16::from_be_bytes([buf[16], buf[17]]));
    if !(19..=4096).contains(&len) {
        return Err(format!("bad length {len}"));
    }
    if buf.len() < len {
        return Ok(None);
    }
    Ok(Some((buf[18], len)))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SimSessionState {
    OpenSent,
    OpenConfirm,
    Established,
}

struct SimConn {
    stream: TcpStream,
    peer: usize,
    state: SimSessionState,
    rbuf: Vec<u8>,
    wbuf: Vec<u8>,
    writable_armed: bool,
    next_keepalive: Instant,
}

/// Counters the caller can read at any time.
#[derive(Clone, Debug, Default)]
pub(crate) struct SimStats {
    pub(crate) established: usize,
    /// When the last of the sessions so far reached Established (CLOCK_REALTIME ns).
    pub(crate) last_established_ns: i64,
    pub(crate) closed: usize,
    pub(crate) updates_rx: u64,
    pub(crate) bytes_rx: u64,
    pub(crate) refused: usize,
    pub(crate) errors: Vec<String>,
}

enum SimCmd {
    Send {
        peer: Ipv4Addr,
        bytes: Vec<u8>,
        reply: mpsc::Sender<Option<i64>>,
    },
    Stop,
}

/// The running simulator; stopped (thread joined, sockets closed) on drop.
pub(crate) struct Sim {
    tx: mpsc::Sender<SimCmd>,
    waker: Arc<Waker>,
    stats: Arc<Mutex<SimStats>>,
    thread: Option<JoinHandle<()>>,
}

fn enter_netns(netns: &str) -> Result<(), String> {
    let path = CString::new(format!("/run/netns/{netns}")).map_err(|e| e.to_string())?;
    // SAFETY: valid C string; fd checked and closed.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(format!("open {netns}: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: fd is a namespace file; setns affects only the calling thread.
    let rc = unsafe { libc::setns(fd, libc::CLONE_NEWNET) };
    let e = std::io::Error::last_os_error();
    // SAFETY: closing our fd.
    unsafe { libc::close(fd) };
    if rc != 0 {
        return Err(format!("setns {netns}: {e}"));
    }
    Ok(())
}

impl Sim {
    /// Starts the simulator in `netns`, listening on port 179 of every address there.
    pub(crate) fn start(netns: &str, peers: Vec<SimPeer>) -> Result<Sim, String> {
        let poll = Poll::new().map_err(|e| e.to_string())?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER).map_err(|e| e.to_string())?);
        let (tx, rx) = mpsc::channel();
        let stats = Arc::new(Mutex::new(SimStats::default()));
        let (ready_tx, ready_rx) = mpsc::channel();
        let st = stats.clone();
        let ns = netns.to_string();
        let thread = std::thread::Builder::new()
            .name("bgp-sim".into())
            .spawn(move || {
                let listener = enter_netns(&ns).and_then(|()| {
                    let std_l = std::net::TcpListener::bind("0.0.0.0:179")
                        .map_err(|e| format!("listen on :179 in {ns}: {e}"))?;
                    std_l.set_nonblocking(true).map_err(|e| e.to_string())?;
                    Ok(TcpListener::from_std(std_l))
                });
                match listener {
                    Ok(l) => {
                        let _ = ready_tx.send(Ok(()));
                        SimLoop::new(poll, l, peers, rx, st).run();
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        match ready_rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(())) => Ok(Sim {
                tx,
                waker,
                stats,
                thread: Some(thread),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err("simulator thread did not start".into()),
        }
    }

    pub(crate) fn stats(&self) -> SimStats {
        self.stats.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn send(&self, peer: Ipv4Addr, bytes: Vec<u8>) -> Option<i64> {
        let (reply, got) = mpsc::channel();
        self.tx.send(SimCmd::Send { peer, bytes, reply }).ok()?;
        self.waker.wake().ok()?;
        got.recv_timeout(Duration::from_secs(10)).ok().flatten()
    }

    /// Announces `r` from `peer` (Established); the time just before the write.
    pub(crate) fn announce(&self, peer: Ipv4Addr, r: &SimPeerRoute) -> Option<i64> {
        self.send(peer, update_msg(r))
    }

    pub(crate) fn withdraw(&self, peer: Ipv4Addr, prefix: Ipv4Addr, len: u8) -> Option<i64> {
        self.send(peer, withdraw_msg(prefix, len))
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.tx.send(SimCmd::Stop);
        let _ = self.waker.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct SimLoop {
    poll: Poll,
    listener: TcpListener,
    peers: Vec<SimPeer>,
    by_addr: HashMap<Ipv4Addr, usize>,
    conns: HashMap<usize, SimConn>,
    /// Peer index → connection token of its Established session.
    session: HashMap<usize, usize>,
    next_token: usize,
    rx: mpsc::Receiver<SimCmd>,
    stats: Arc<Mutex<SimStats>>,
    jitter: u64,
}

impl SimLoop {
    fn new(
        poll: Poll,
        listener: TcpListener,
        peers: Vec<SimPeer>,
        rx: mpsc::Receiver<SimCmd>,
        stats: Arc<Mutex<SimStats>>,
    ) -> SimLoop {
        let by_addr = peers.iter().enumerate().map(|(i, p)| (p.addr, i)).collect();
        SimLoop {
            poll,
            listener,
            peers,
            by_addr,
            conns: HashMap::new(),
            session: HashMap::new(),
            next_token: 0,
            rx,
            stats,
            jitter: 0x9e37_79b9_7f4a_7c15,
        }
    }

    fn stat(&self, f: impl FnOnce(&mut SimStats)) {
        f(&mut self.stats.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// Keepalive interval hold/3 scaled by 0.75..1.0 (RFC 4271 §10), from a small LCG.
    fn keepalive_in(&mut self) -> Duration {
        self.jitter = self
            .jitter
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        let frac = 0.75 + 0.25 * ((self.jitter >> 40) as f64 / (1u64 << 24) as f64);
        Duration::from_secs_f64(f64::from(HOLD) / 3.0 * frac)
    }

    fn run(mut self) {
        if let Err(e) =
            self.poll
                .registry()
                .register(&mut self.listener, LISTENER, Interest::READABLE)
        {
            self.stat(|s| s.errors.push(format!("register listener: {e}")));
            return;
        }
        let mut events = Events::with_capacity(1024);
        let mut next_tick = Instant::now() + Duration::from_secs(1);
        loop {
            let timeout = next_tick.saturating_duration_since(Instant::now());
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != ErrorKind::Interrupted {
                    self.stat(|s| s.errors.push(format!("poll: {e}")));
                    return;
                }
            }
            for ev in events.iter() {
                match ev.token() {
                    LISTENER => self.accept(),
                    WAKER => {}
                    Token(t) => {
                        if ev.is_writable() {
                            self.flush(t);
                        }
                        if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                            self.read(t);
                        }
                    }
                }
            }
            loop {
                match self.rx.try_recv() {
                    Ok(SimCmd::Stop) | Err(mpsc::TryRecvError::Disconnected) => return,
                    Ok(SimCmd::Send { peer, bytes, reply }) => {
                        let tok = self
                            .by_addr
                            .get(&peer)
                            .and_then(|p| self.session.get(p))
                            .copied();
                        let t = tok.map(|tok| {
                            let t = realtime_ns();
                            self.queue(tok, &bytes);
                            t
                        });
                        let _ = reply.send(t);
                    }
                    Err(mpsc::TryRecvError::Empty) => break,
                }
            }
            if Instant::now() >= next_tick {
                self.keepalives();
                next_tick = Instant::now() + Duration::from_secs(1);
            }
        }
    }

    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((mut stream, _)) => {
                    let local = match stream.local_addr() {
                        Ok(SocketAddr::V4(a)) => *a.ip(),
                        _ => {
                            self.stat(|s| s.refused += 1);
                            continue;
                        }
                    };
                    let Some(&peer) = self.by_addr.get(&local) else {
                        self.stat(|s| s.refused += 1);
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let tok = self.next_token;
                    self.next_token += 1;
                    if self
                        .poll
                        .registry()
                        .register(&mut stream, Token(tok), Interest::READABLE)
                        .is_err()
                    {
                        continue;
                    }
                    let ka = Instant::now() + self.keepalive_in();
                    self.conns.insert(
                        tok,
                        SimConn {
                            stream,
                            peer,
                            state: SimSessionState::OpenSent,
                            rbuf: Vec::new(),
                            wbuf: Vec::new(),
                            writable_armed: false,
                            next_keepalive: ka,
                        },
                    );
                    let open = open_msg(self.peers[peer].addr);
                    self.queue(tok, &open);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.stat(|s| s.errors.push(format!("accept: {e}")));
                    return;
                }
            }
        }
    }

    fn queue(&mut self, tok: usize, bytes: &[u8]) {
        if let Some(c) = self.conns.get_mut(&tok) {
            c.wbuf.extend_from_slice(bytes);
        }
        self.flush(tok);
    }

    fn flush(&mut self, tok: usize) {
        let Some(c) = self.conns.get_mut(&tok) else {
            return;
        };
        let mut failed = false;
        while !c.wbuf.is_empty() {
            match c.stream.write(&c.wbuf) {
                Ok(0) => {
                    failed = true;
                    break;
                }
                Ok(n) => {
                    c.wbuf.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        if failed {
            self.close(tok);
            return;
        }
        let want = !c.wbuf.is_empty();
        if want != c.writable_armed {
            let interest = if want {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            let _ = self
                .poll
                .registry()
                .reregister(&mut c.stream, Token(tok), interest);
            c.writable_armed = want;
        }
    }

    fn close(&mut self, tok: usize) {
        if let Some(mut c) = self.conns.remove(&tok) {
            let _ = self.poll.registry().deregister(&mut c.stream);
            if c.state == SimSessionState::Established {
                self.session.remove(&c.peer);
                self.stat(|s| {
                    s.closed += 1;
                    s.established = s.established.saturating_sub(1);
                });
            }
        }
    }

    fn read(&mut self, tok: usize) {
        let mut buf = [0u8; 65536];
        let mut eof = false;
        loop {
            let Some(c) = self.conns.get_mut(&tok) else {
                return;
            };
            match c.stream.read(&mut buf) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => {
                    c.rbuf.extend_from_slice(&buf[..n]);
                    self.stat(|s| s.bytes_rx += n as u64);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => {
                    eof = true;
                    break;
                }
            }
        }
        self.handle(tok);
        if eof {
            self.close(tok);
        }
    }

    fn handle(&mut self, tok: usize) {
        loop {
            let Some(c) = self.conns.get_mut(&tok) else {
                return;
            };
            let (kind, len) = match frame(&c.rbuf) {
                Ok(Some(x)) => x,
                Ok(None) => return,
                Err(e) => {
                    let peer = self.peers[c.peer].addr;
                    self.stat(|s| s.errors.push(format!("peer {peer}: {e}")));
                    self.close(tok);
                    return;
                }
            };
            c.rbuf.drain(..len);
            match (kind, c.state) {
                (1, SimSessionState::OpenSent) => {
                    c.state = SimSessionState::OpenConfirm;
                    self.queue(tok, &msg(4, &[]));
                }
                (4, SimSessionState::OpenConfirm) => {
                    c.state = SimSessionState::Established;
                    let peer = c.peer;
                    self.session.insert(peer, tok);
                    let t = realtime_ns();
                    self.stat(|s| {
                        s.established += 1;
                        s.last_established_ns = t;
                    });
                    let mut out = Vec::new();
                    for r in &self.peers[peer].routes {
                        out.extend_from_slice(&update_msg(r));
                    }
                    out.extend_from_slice(&msg(2, &[0, 0, 0, 0]));
                    self.queue(tok, &out);
                }
                (2, _) => self.stat(|s| s.updates_rx += 1),
                (3, _) => {
                    self.close(tok);
                    return;
                }
                _ => {}
            }
        }
    }

    fn keepalives(&mut self) {
        let now = Instant::now();
        let due: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, c)| c.state != SimSessionState::OpenSent && c.next_keepalive <= now)
            .map(|(t, _)| *t)
            .collect();
        for tok in due {
            let next = now + self.keepalive_in();
            if let Some(c) = self.conns.get_mut(&tok) {
                c.next_keepalive = next;
            }
            self.queue(tok, &msg(4, &[]));
        }
    }
}
