//! A minimal BGP speaker for tests that need a large table fast: it connects from an
//! address inside a test namespace to kube-bgp, opens an eBGP session (IPv4 unicast,
//! 4-octet AS), sends N /24 prefixes from 16.0.0.0 upward in full-size UPDATEs with
//! kube-bgp's own encoder, then End-of-RIB, and answers with KEEPALIVEs until dropped.
//!
//! Owns: its thread (entered into the namespace with `setns`) and its socket, both gone
//! when the `Feeder` is dropped. Must not: touch anything outside that namespace.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kube_bgp::bgp::types::{AsPath, AsSegment, Attrs, Capability, Message, Open, Origin};
use kube_bgp::bgp::wire;
use kube_bgp::prefix::Prefix;

use super::Netns;

/// Enters `ns`'s network namespace on the calling thread (sockets made afterwards live
/// there).
pub fn enter(ns: &str) {
    let path = format!("/run/netns/{ns}");
    let file = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
    // SAFETY: setns with a descriptor of a network namespace file that stays open for
    // the call; CLONE_NEWNET only changes this thread's namespace.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
}

/// A TCP connection from `src` to `to`, made inside `ns` (blocking).
pub fn connect_from(ns: &str, src: Ipv4Addr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let ns = ns.to_string();
    std::thread::spawn(move || {
        enter(&ns);
        bind_connect(src, to)
    })
    .join()
    .expect("connect thread panicked")
}

fn bind_connect(src: Ipv4Addr, to: SocketAddr) -> std::io::Result<TcpStream> {
    use std::os::fd::FromRawFd;
    let SocketAddr::V4(to) = to else {
        return Err(std::io::Error::other("IPv4 only"));
    };
    // SAFETY: plain socket calls on a fresh descriptor owned here (closed on error);
    // the sockaddr_in values live on the stack for each call.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let sa = |ip: Ipv4Addr, port: u16| {
            let mut a: libc::sockaddr_in = std::mem::zeroed();
            a.sin_family = libc::AF_INET as u16;
            a.sin_port = port.to_be();
            a.sin_addr.s_addr = u32::from(ip).to_be();
            a
        };
        let len = std::mem::size_of::<libc::sockaddr_in>() as u32;
        let a = sa(src, 0);
        let b = sa(*to.ip(), to.port());
        if libc::bind(fd, &a as *const _ as *const libc::sockaddr, len) != 0
            || libc::connect(fd, &b as *const _ as *const libc::sockaddr, len) != 0
        {
            let e = std::io::Error::last_os_error();
            libc::close(fd);
            return Err(e);
        }
        Ok(TcpStream::from_raw_fd(fd))
    }
}

/// The feeder's session, running on its own thread.
pub struct Feeder {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Result<usize, String>>>,
}

/// The i-th /24 from 16.0.0.0.
pub fn prefix_of(i: u32) -> Prefix {
    Prefix::V4(Ipv4Addr::from(0x1000_0000u32 + (i << 8)), 24)
}

impl Feeder {
    /// Connects from `src` (an address in `ns`) to kube-bgp at `to` as AS `asn` and
    /// sends `count` prefixes with next hop `next_hop`.
    pub fn start(
        ns: &Netns,
        src: Ipv4Addr,
        to: SocketAddr,
        asn: u32,
        count: u32,
        next_hop: Ipv4Addr,
    ) -> Feeder {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let ns = ns.name.clone();
        let thread = std::thread::spawn(move || {
            enter(&ns);
            run(src, to, asn, count, next_hop, &flag)
        });
        Feeder {
            stop,
            thread: Some(thread),
        }
    }

    /// Whether the session thread ended (an error, or kube-bgp closed the session).
    pub fn finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Stops the session; returns what the thread reported.
    pub fn stop(mut self) -> Result<usize, String> {
        self.stop.store(true, Ordering::SeqCst);
        match self.thread.take() {
            Some(t) => t.join().unwrap_or_else(|_| Err("feeder panicked".into())),
            None => Err("already stopped".into()),
        }
    }
}

impl Drop for Feeder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(
    src: Ipv4Addr,
    to: SocketAddr,
    asn: u32,
    count: u32,
    next_hop: Ipv4Addr,
    stop: &AtomicBool,
) -> Result<usize, String> {
    // kube-bgp may not listen yet: retry for a while.
    let t0 = Instant::now();
    let mut s = loop {
        match bind_connect(src, to) {
            Ok(s) => break s,
            Err(e) if t0.elapsed() < Duration::from_secs(30) => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => return Err(format!("connect {to}: {e}")),
        }
        if stop.load(Ordering::SeqCst) {
            return Err("stopped".into());
        }
    };
    let ctx = wire::Ctx {
        four_octet_as: true,
        ibgp: false,
        families: wire::AfiSet::ALL,
    };
    let mut out = Vec::new();
    let open = Message::Open(Open {
        version: 4,
        asn: if asn > 65535 { 23456 } else { asn },
        hold_time: 90,
        router_id: src,
        capabilities: vec![
            Capability::Multiprotocol { afi: 1, safi: 1 },
            Capability::FourOctetAs(asn),
        ],
    });
    wire::encode(&open, &ctx, &mut out).map_err(|e| format!("{e:?}"))?;
    wire::encode(&Message::Keepalive, &ctx, &mut out).map_err(|e| format!("{e:?}"))?;
    s.write_all(&out).map_err(|e| format!("send OPEN: {e}"))?;
    out.clear();
    let attrs = Attrs {
        origin: Origin::Igp,
        as_path: AsPath {
            segments: vec![AsSegment::Sequence(vec![asn])],
        },
        next_hop: Some(next_hop),
        ..Attrs::default()
    };
    let mut chunk = Vec::with_capacity(4096);
    let mut sent = 0u32;
    while sent < count {
        chunk.clear();
        let end = (sent + 4096).min(count);
        chunk.extend((sent..end).map(prefix_of));
        wire::encode_announce(&attrs, &chunk, &ctx, &mut out).map_err(|e| format!("{e:?}"))?;
        sent = end;
        if out.len() > 1 << 20 {
            s.write_all(&out)
                .map_err(|e| format!("send UPDATEs: {e}"))?;
            out.clear();
        }
    }
    wire::encode_end_of_rib(kube_bgp::prefix::Afi::Ipv4, &mut out);
    s.write_all(&out)
        .map_err(|e| format!("send UPDATEs: {e}"))?;
    // Keep the session: read (and drop) what kube-bgp sends, KEEPALIVE every 10 s.
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 1 << 16];
    let mut last_ka = Instant::now();
    let mut ka = Vec::new();
    wire::encode(&Message::Keepalive, &ctx, &mut ka).map_err(|e| format!("{e:?}"))?;
    while !stop.load(Ordering::SeqCst) {
        match s.read(&mut buf) {
            Ok(0) => return Err("kube-bgp closed the session".into()),
            Ok(_) => {}
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => return Err(format!("read: {e}")),
        }
        if last_ka.elapsed() >= Duration::from_secs(10) {
            s.write_all(&ka)
                .map_err(|e| format!("send KEEPALIVE: {e}"))?;
            last_ka = Instant::now();
        }
    }
    Ok(count as usize)
}
