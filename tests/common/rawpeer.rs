//! A crafted-message BGP peer for tests: a TCP connection made from inside a test
//! namespace that sends whatever bytes a test gives it (valid messages encoded with
//! kube-bgp's codec, or hand-built malformed ones) and collects what the other side
//! sends, decoded, on a reader thread.
//!
//! Owns: its socket and reader thread (both end when it drops). Must not: create
//! namespaces or addresses (the test does), or retry anything by itself.
#![allow(dead_code)]

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use kube_bgp::bgp::types::{Capability, GrFamily, GracefulRestartCap, Message, Notification, Open};
use kube_bgp::bgp::wire::{self, AfiSet, Ctx};
use kube_bgp::net::sock;
use kube_bgp::prefix::Afi;

use super::Netns;

/// What the reader thread saw. (Test-only and few: the size of a `Message` is fine.)
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    Msg(Message),
    /// The other side closed (or reset) the connection.
    Closed,
}

/// One crafted-message connection.
pub struct RawPeer {
    stream: TcpStream,
    seen: Receiver<Seen>,
    /// Messages seen so far that a `wait_*` call skipped over.
    pub log: Vec<Seen>,
    closed: bool,
    /// Set: the reader thread stops reading (the other side's writes then block).
    paused: Arc<AtomicBool>,
}

/// OPEN settings of a [`RawPeer`].
#[derive(Clone, Debug)]
pub struct OpenSpec {
    pub asn: u32,
    pub router_id: Ipv4Addr,
    pub hold: u16,
    pub families: Vec<Afi>,
    pub graceful_restart: bool,
}

impl OpenSpec {
    pub fn new(asn: u32, router_id: &str) -> OpenSpec {
        OpenSpec {
            asn,
            router_id: router_id
                .parse()
                .unwrap_or_else(|e| panic!("{router_id}: {e}")),
            hold: 90,
            families: vec![Afi::Ipv4],
            graceful_restart: false,
        }
    }

    pub fn hold(mut self, secs: u16) -> OpenSpec {
        self.hold = secs;
        self
    }

    pub fn graceful_restart(mut self) -> OpenSpec {
        self.graceful_restart = true;
        self
    }

    pub fn message(&self) -> Message {
        let mut caps: Vec<Capability> = self
            .families
            .iter()
            .map(|a| Capability::Multiprotocol {
                afi: a.code(),
                safi: 1,
            })
            .collect();
        caps.push(Capability::RouteRefresh);
        caps.push(Capability::FourOctetAs(self.asn));
        if self.graceful_restart {
            caps.push(Capability::GracefulRestart(GracefulRestartCap {
                restart_state: false,
                restart_time: 120,
                families: self
                    .families
                    .iter()
                    .map(|a| GrFamily {
                        afi: a.code(),
                        safi: 1,
                        forwarding_preserved: true,
                    })
                    .collect(),
            }));
        }
        Message::Open(Open {
            version: 4,
            asn: self.asn,
            hold_time: self.hold,
            router_id: self.router_id,
            capabilities: caps,
        })
    }
}

/// The decoding context for what kube-bgp sends a 4-octet peer of any family.
pub const CTX: Ctx = Ctx {
    four_octet_as: true,
    ibgp: false,
    families: AfiSet::ALL,
};

/// Runs `f` on a thread that entered namespace `ns` (sockets made there stay in it).
fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/var/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
        // SAFETY: setns with a descriptor of a network namespace file that stays open
        // for the call; CLONE_NEWNET changes only this thread's namespace.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns {path}: {}", io::Error::last_os_error());
        f()
    })
    .join()
    .unwrap_or_else(|_| panic!("thread in {ns} panicked"))
}

impl RawPeer {
    /// Connects from `ns` (source `local`) to `to`, sending with `ttl` when given.
    /// Waits up to 5 s for the connection.
    pub fn connect(
        ns: &Netns,
        local: &str,
        to: SocketAddr,
        ttl: Option<u8>,
    ) -> io::Result<RawPeer> {
        let local: IpAddr = local
            .parse()
            .map_err(|e| io::Error::other(format!("{e}")))?;
        let name = ns.name.clone();
        let stream = in_netns(&name, move || -> io::Result<TcpStream> {
            let s = sock::connect(to, Some(local), ttl, None)?;
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                match sock::connect_finished(&s) {
                    Ok(true) => break,
                    Ok(false) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(5))
                    }
                    Ok(false) => return Err(io::Error::other("connect timed out")),
                    Err(e) => return Err(e),
                }
            }
            // SAFETY: the descriptor comes from the mio stream, whose ownership is given
            // up by into_raw_fd; the std stream becomes its only owner.
            let std = unsafe { TcpStream::from_raw_fd(s.into_raw_fd()) };
            std.set_nonblocking(false)?;
            Ok(std)
        })?;
        let reader = stream.try_clone()?;
        reader.set_read_timeout(Some(Duration::from_millis(100)))?;
        let (tx, rx) = channel();
        let paused = Arc::new(AtomicBool::new(false));
        let p = paused.clone();
        std::thread::spawn(move || read_loop(reader, tx, p));
        Ok(RawPeer {
            stream,
            seen: rx,
            log: Vec::new(),
            closed: false,
            paused,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.stream
            .local_addr()
            .unwrap_or_else(|e| panic!("local addr: {e}"))
    }

    /// Sets the receive buffer (a small one makes the other side's writes block).
    pub fn set_rcvbuf(&self, bytes: i32) {
        let v: libc::c_int = bytes;
        // SAFETY: setsockopt on our open socket with a pointer to a live c_int.
        let rc = unsafe {
            libc::setsockopt(
                self.stream.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&v as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0, "SO_RCVBUF: {}", io::Error::last_os_error());
    }

    /// Stops (true) or resumes reading from the socket.
    pub fn pause_reading(&self, pause: bool) {
        self.paused.store(pause, Ordering::SeqCst);
    }

    /// Writes raw bytes (whole messages or not).
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Encodes and writes a message.
    pub fn send(&mut self, msg: &Message) -> io::Result<()> {
        let mut buf = Vec::new();
        wire::encode(msg, &CTX, &mut buf).map_err(|e| io::Error::other(e.to_string()))?;
        self.send_raw(&buf)
    }

    /// The next thing seen within `timeout`.
    pub fn next(&mut self, timeout: Duration) -> Option<Seen> {
        if self.closed {
            return Some(Seen::Closed);
        }
        match self.seen.recv_timeout(timeout) {
            Ok(s) => {
                if s == Seen::Closed {
                    self.closed = true;
                }
                Some(s)
            }
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => {
                self.closed = true;
                Some(Seen::Closed)
            }
        }
    }

    /// Waits up to `timeout` for something matching `f`; what it skips is kept in `log`.
    pub fn wait_for(&mut self, timeout: Duration, f: impl Fn(&Seen) -> bool) -> Option<Seen> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let s = self.next(left)?;
            if f(&s) {
                return Some(s);
            }
            let closed = s == Seen::Closed;
            self.log.push(s);
            if closed {
                return None;
            }
        }
    }

    /// The NOTIFICATION the other side sent within `timeout`, if any.
    pub fn wait_notification(&mut self, timeout: Duration) -> Option<Notification> {
        match self.wait_for(timeout, |s| {
            matches!(s, Seen::Msg(Message::Notification(_)))
        })? {
            Seen::Msg(Message::Notification(n)) => Some(n),
            _ => None,
        }
    }

    /// Whether the other side closed the connection within `timeout`.
    pub fn wait_closed(&mut self, timeout: Duration) -> bool {
        self.wait_for(timeout, |s| *s == Seen::Closed).is_some()
    }

    /// Whether a NOTIFICATION or a close was seen so far (including in `log`), waiting
    /// `timeout` for more.
    pub fn ended_within(&mut self, timeout: Duration) -> bool {
        let ended = |s: &Seen| matches!(s, Seen::Closed | Seen::Msg(Message::Notification(_)));
        self.log.iter().any(ended) || self.wait_for(timeout, ended).is_some()
    }

    /// Sends our OPEN, waits for the other side's OPEN and KEEPALIVE, answers with a
    /// KEEPALIVE: the session is Established on both ends. Returns the OPEN received.
    pub fn handshake(&mut self, spec: &OpenSpec, timeout: Duration) -> Result<Open, String> {
        self.send(&spec.message())
            .map_err(|e| format!("send OPEN: {e}"))?;
        let open = match self.wait_for(timeout, |s| {
            matches!(
                s,
                Seen::Msg(Message::Open(_) | Message::Notification(_)) | Seen::Closed
            )
        }) {
            Some(Seen::Msg(Message::Open(o))) => o,
            other => return Err(format!("no OPEN: {other:?} after {:?}", self.log)),
        };
        match self.wait_for(timeout, |s| {
            matches!(
                s,
                Seen::Msg(Message::Keepalive | Message::Notification(_)) | Seen::Closed
            )
        }) {
            Some(Seen::Msg(Message::Keepalive)) => {}
            other => return Err(format!("no KEEPALIVE: {other:?}")),
        }
        self.send(&Message::Keepalive)
            .map_err(|e| format!("send KEEPALIVE: {e}"))?;
        Ok(open)
    }
}

fn read_loop(mut s: TcpStream, tx: std::sync::mpsc::Sender<Seen>, paused: Arc<AtomicBool>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        if paused.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        match s.read(&mut chunk) {
            Ok(0) => {
                let _ = tx.send(Seen::Closed);
                return;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(_) => {
                let _ = tx.send(Seen::Closed);
                return;
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        while let Ok(Some(len)) = wire::frame(&buf) {
            let msg: Vec<u8> = buf.drain(..len).collect();
            if let Ok(d) = wire::decode(&msg, &CTX) {
                if tx.send(Seen::Msg(d.message)).is_err() {
                    return;
                }
            }
        }
    }
}

impl Drop for RawPeer {
    fn drop(&mut self) {
        // The reader sees the shutdown as end of stream and exits.
        self.paused.store(false, Ordering::SeqCst);
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }
}

// ----- hand-built messages -----

/// A message of type `typ` around `body`.
pub fn message(typ: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xFF; 16];
    m.extend_from_slice(&((body.len() + 19) as u16).to_be_bytes());
    m.push(typ);
    m.extend_from_slice(body);
    m
}

/// An UPDATE from its three fields.
pub fn update(withdrawn: &[u8], attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut b = (withdrawn.len() as u16).to_be_bytes().to_vec();
    b.extend_from_slice(withdrawn);
    b.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    b.extend_from_slice(attrs);
    b.extend_from_slice(nlri);
    message(2, &b)
}

/// One path attribute.
pub fn attr(flags: u8, code: u8, value: &[u8]) -> Vec<u8> {
    let mut a = vec![flags, code];
    if flags & 0x10 != 0 {
        a.extend_from_slice(&(value.len() as u16).to_be_bytes());
    } else {
        a.push(value.len() as u8);
    }
    a.extend_from_slice(value);
    a
}

/// ORIGIN IGP, AS_PATH [asn] (4-octet), NEXT_HOP `nh`, then `extra`.
pub fn base_attrs(asn: u32, nh: Ipv4Addr, extra: &[u8]) -> Vec<u8> {
    let mut path = vec![2, 1];
    path.extend_from_slice(&asn.to_be_bytes());
    [
        attr(0x40, 1, &[0]),
        attr(0x40, 2, &path),
        attr(0x40, 3, &nh.octets()),
        extra.to_vec(),
    ]
    .concat()
}

/// NLRI bytes of IPv4 prefixes "a.b.c.d/len".
pub fn nlri(prefixes: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in prefixes {
        let (a, l) = p.split_once('/').unwrap_or_else(|| panic!("prefix {p}"));
        let a: Ipv4Addr = a.parse().unwrap_or_else(|e| panic!("{p}: {e}"));
        let l: u8 = l.parse().unwrap_or_else(|e| panic!("{p}: {e}"));
        out.push(l);
        out.extend_from_slice(&a.octets()[..usize::from(l).div_ceil(8)]);
    }
    out
}
