//! The UDP sockets of BFD (RFC 5881 single hop, RFC 5883 multihop), IPv4 and IPv6.
//!
//! Owns: the receive sockets (one per hop mode, port and family, on the wildcard
//! address, reporting each datagram's TTL / hop limit and destination address) and one
//! transmit socket per session (bound to the session's local address and a source port
//! of its own in 49152-65535, TTL / hop limit 255, DSCP CS6). Must not: decode packets
//! or keep session state (that is the registry's), register with the event loop (the
//! daemon registers [`BfdSockets::rx_socket_mut`] and calls [`BfdSockets::drain_rx`]
//! when one is readable), or block.
//!
//! Transmit sockets are never read. Their receive buffer is shrunk to the kernel's
//! minimum so stray datagrams to a source port cost almost nothing.
//!
//! Packets are sent with TTL 255 in both modes: RFC 5881 requires it for single hop,
//! and multihop receivers commonly accept only 254 or 255 hops left (FRR's default).

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use mio::net::UdpSocket;

use super::packet::ControlPacket;
use super::registry::{RxMeta, SessionKey};
use super::{HopMode, SINGLE_HOP_TTL, SOURCE_PORTS};
use crate::bgp::fsm::timers::Prng;
use crate::net::dgram::{self, DgramOptions};
use crate::net::sock::TOS_CS6;

/// Large enough for any control packet (the Length field is one byte).
const RX_BUF: usize = 512;

/// One receive socket.
struct RxSocket {
    hop: HopMode,
    addr: SocketAddr,
    sock: UdpSocket,
}

struct TxSocket {
    sock: UdpSocket,
    dest: SocketAddr,
}

/// All BFD sockets of the node.
pub struct BfdSockets {
    rx: Vec<RxSocket>,
    tx: HashMap<SessionKey, TxSocket>,
    rng: Prng,
}

impl BfdSockets {
    /// No sockets yet; `seed` spreads the source ports sessions get.
    pub fn new(seed: u64) -> BfdSockets {
        BfdSockets {
            rx: Vec::new(),
            tx: HashMap::new(),
            rng: Prng::new(seed),
        }
    }

    /// Opens the receive socket for `hop` on UDP `port` of every address of one family
    /// (or returns the one already open) and gives its index.
    pub fn open_rx(&mut self, hop: HopMode, port: u16, ipv6: bool) -> io::Result<usize> {
        if let Some(i) = self
            .rx
            .iter()
            .position(|r| r.addr.port() == port && r.addr.is_ipv6() == ipv6)
        {
            if self.rx[i].hop != hop {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!(
                        "BFD port {port} is already used for {} sessions",
                        self.rx[i].hop
                    ),
                ));
            }
            return Ok(i);
        }
        let ip = if ipv6 {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        };
        let addr = SocketAddr::new(ip, port);
        let sock = dgram::bind_udp(
            addr,
            &DgramOptions {
                recv_info: true,
                ..Default::default()
            },
        )
        .map_err(|e| io::Error::new(e.kind(), format!("BFD {hop} receive socket {addr}: {e}")))?;
        self.rx.push(RxSocket { hop, addr, sock });
        Ok(self.rx.len() - 1)
    }

    /// How many receive sockets are open (indices are `0..rx_count()`).
    pub fn rx_count(&self) -> usize {
        self.rx.len()
    }

    /// A receive socket, for registration with the event loop.
    pub fn rx_socket_mut(&mut self, index: usize) -> Option<&mut UdpSocket> {
        self.rx.get_mut(index).map(|r| &mut r.sock)
    }

    /// Reads the datagrams queued on receive socket `index`, at most `budget` of them
    /// (so one busy socket cannot starve the loop), calling `f` for each. Returns how
    /// many were read; fewer than `budget` means the queue is empty.
    pub fn drain_rx(
        &self,
        index: usize,
        budget: usize,
        mut f: impl FnMut(RxMeta, &[u8]),
    ) -> io::Result<usize> {
        let Some(r) = self.rx.get(index) else {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no BFD receive socket {index}"),
            ));
        };
        let mut buf = [0u8; RX_BUF];
        let mut n = 0;
        while n < budget {
            let info = match dgram::recv_with_info(&r.sock, &mut buf) {
                Ok(i) => i,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("BFD receive on {}: {e}", r.addr),
                    ));
                }
            };
            n += 1;
            let unknown = if r.addr.is_ipv6() {
                IpAddr::V6(Ipv6Addr::UNSPECIFIED)
            } else {
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            };
            let meta = RxMeta {
                src: info.src.ip(),
                dst: info.dst.unwrap_or(unknown),
                ttl: info.ttl,
                hop: r.hop,
            };
            f(meta, &buf[..info.len]);
        }
        Ok(n)
    }

    /// Opens the transmit socket of a session: bound to its local address and a free
    /// source port in 49152-65535, sending to the peer's `port`. Returns the source
    /// port. A session that has one keeps it.
    pub fn open_tx(&mut self, key: &SessionKey, port: u16) -> io::Result<u16> {
        if let Some(t) = self.tx.get(key) {
            return t.sock.local_addr().map(|a| a.port());
        }
        if key.peer.is_ipv4() != key.local.is_ipv4() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("BFD session {key}: addresses of different families"),
            ));
        }
        let opts = DgramOptions {
            ttl: Some(SINGLE_HOP_TTL),
            tos: Some(TOS_CS6),
            recv_info: false,
            recv_buffer: Some(1),
        };
        let span = u32::from(SOURCE_PORTS.end() - SOURCE_PORTS.start()) + 1;
        let start = (self.rng.next_u64() % u64::from(span)) as u32;
        let mut last_err = None;
        for i in 0..span {
            let sport = *SOURCE_PORTS.start() + ((start + i) % span) as u16;
            match dgram::bind_udp(SocketAddr::new(key.local, sport), &opts) {
                Ok(sock) => {
                    self.tx.insert(
                        *key,
                        TxSocket {
                            sock,
                            dest: SocketAddr::new(key.peer, port),
                        },
                    );
                    return Ok(sport);
                }
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => last_err = Some(e),
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("BFD transmit socket for {key}: {e}"),
                    ));
                }
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!(
                "BFD transmit socket for {key}: no free source port in 49152-65535 ({})",
                last_err.map(|e| e.to_string()).unwrap_or_default()
            ),
        ))
    }

    /// Closes a session's transmit socket.
    pub(crate) fn close_tx(&mut self, key: &SessionKey) {
        self.tx.remove(key);
    }

    /// Sends one packet of a session. A full socket buffer drops the packet
    /// (`WouldBlock`): BFD tolerates loss, and the next packet is never far.
    pub fn send(&self, key: &SessionKey, pkt: &ControlPacket) -> io::Result<()> {
        let Some(t) = self.tx.get(key) else {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no BFD transmit socket for {key}"),
            ));
        };
        t.sock
            .send_to(&pkt.encode(), t.dest)
            .map(drop)
            .map_err(|e| io::Error::new(e.kind(), format!("BFD send to {}: {e}", t.dest)))
    }
}
