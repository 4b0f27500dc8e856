//! The speaker on real loopback sockets and a real mio poll: closing a session whose
//! peer does not read never waits; the NOTIFICATION goes out from the event loop later,
//! right behind the message that was being written, or the connection is dropped when
//! its linger time is over.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use mio::{Events, Poll};

use super::sockets::CLOSE_LINGER;
use super::*;
use crate::bgp::fsm::State;
use crate::bgp::rib::{AcceptAll, RibConfig};
use crate::bgp::types::{Attrs, Capability, Message, Open, Origin};
use crate::bgp::wire;
use crate::prefix::Prefix;

const PEER: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn set_buf(fd: i32, opt: libc::c_int, bytes: libc::c_int) {
    // SAFETY: setsockopt on an open socket with a pointer to a live c_int.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            (&bytes as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0);
}

fn plan(port: u16) -> PeerPlan {
    PeerPlan {
        port,
        ..PeerPlan::plain(PEER, 65000, 65001)
    }
}

fn speaker(poll: &Poll) -> Speaker {
    let rib = Rib::new(
        RibConfig {
            router_id: Ipv4Addr::new(10, 0, 0, 1),
            cluster_id: None,
        },
        Box::new(AcceptAll),
    );
    let registry = poll.registry().try_clone().expect("registry");
    Speaker::with_io(
        rib,
        LocalParams {
            best_v4: Some(Ipv4Addr::LOCALHOST),
            max_send_buffer: 64 << 20,
            ..LocalParams::plain(Ipv4Addr::new(10, 0, 0, 1), 65000)
        },
        7,
        Box::new(SpeakerSockets::new(std::rc::Rc::new(registry))),
    )
}

/// The speaker's real sockets.
fn sockets(sp: &Speaker) -> &SpeakerSockets {
    sp.io
        .as_any()
        .downcast_ref::<SpeakerSockets>()
        .expect("real sockets")
}

/// Runs the speaker's side of the loop once (events, pending reads, timers, output).
fn turn(sp: &mut Speaker, poll: &mut Poll, events: &mut Events) {
    let _ = poll.poll(events, Some(Duration::from_millis(5)));
    let now = Instant::now();
    for ev in events.iter() {
        sp.ready(ev.token(), now);
    }
    sp.drive_pending(now);
    sp.on_timers(now);
    while sp.rib.has_out() {
        sp.flush_rib(now);
    }
}

/// Every whole message in `buf` as (type, body) until the bytes run out.
fn messages(buf: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(h) = buf.get(at..at + 19) {
        assert_eq!(&h[..16], &[0xFF; 16], "message at {at} has no marker");
        let len = usize::from(u16::from_be_bytes([h[16], h[17]]));
        let Some(m) = buf.get(at..at + len) else {
            break;
        };
        out.push((h[18], m[19..].to_vec()));
        at += len;
    }
    out
}

/// A speaker Established with a test peer on loopback that reads only when told to;
/// the speaker has queued output the peer did not take.
fn blocked_session() -> (Speaker, Poll, Events, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    // Small buffers on our side (inherited by the accepted socket).
    set_buf(listener.as_raw_fd(), libc::SO_RCVBUF, 4096);
    let port = listener.local_addr().expect("addr").port();
    let mut poll = Poll::new().expect("poll");
    let mut events = Events::with_capacity(64);
    let mut sp = speaker(&poll);
    sp.set_peers(&[plan(port)], Instant::now());
    listener.set_nonblocking(true).expect("nonblocking");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut peer = loop {
        turn(&mut sp, &mut poll, &mut events);
        if let Ok((s, _)) = listener.accept() {
            break s;
        }
        assert!(Instant::now() < deadline, "the speaker did not connect");
    };
    peer.set_nonblocking(true).expect("nonblocking");
    // Read its OPEN, answer with ours and a KEEPALIVE.
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !messages(&got).iter().any(|(t, _)| *t == 1) {
        turn(&mut sp, &mut poll, &mut events);
        if let Ok(n) = peer.read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
        assert!(Instant::now() < deadline, "no OPEN from the speaker");
    }
    let open = Message::Open(Open {
        version: 4,
        asn: 65001,
        hold_time: 90,
        router_id: Ipv4Addr::new(10, 0, 0, 2),
        capabilities: vec![Capability::FourOctetAs(65001)],
    });
    let mut out = Vec::new();
    wire::encode(&open, &wire::Ctx::default(), &mut out).expect("encode");
    wire::encode(&Message::Keepalive, &wire::Ctx::default(), &mut out).expect("encode");
    peer.write_all(&out).expect("write");
    while sp.state(&PEER) != Some(State::Established) {
        turn(&mut sp, &mut poll, &mut events);
        let _ = peer.read(&mut buf);
        assert!(Instant::now() < deadline, "not Established");
    }
    // The peer stops reading; the speaker's socket gets a small send buffer too.
    let slot = sp.peers.get(&PEER).expect("slot");
    let conn = slot.fsm.established_conn().expect("conn");
    let key = sessions::ConnKey { peer: PEER, conn };
    let fd = sockets(&sp).stream(key).expect("conn").as_raw_fd();
    set_buf(fd, libc::SO_SNDBUF, 4096);
    // 20,000 prefixes with attributes of their own: one UPDATE each, about 1 MB.
    for i in 0..20_000u32 {
        let p = Prefix::V4(Ipv4Addr::from(0x0B00_0000 + (i << 8)), 24);
        let mut a = Attrs {
            origin: Origin::Igp,
            med: Some(i),
            ..Attrs::default()
        };
        a.set_next_hop(Afi::Ipv4, IpAddr::V4(Ipv4Addr::LOCALHOST), None);
        sp.rib.originate(p, a);
    }
    for _ in 0..20 {
        turn(&mut sp, &mut poll, &mut events);
    }
    let pending = { sp.send_queue(key).expect("conn").pending() };
    assert!(pending > 100_000, "only {pending} bytes queued");
    // The socket is stuck only once nothing it holds is in flight: bytes sent but not
    // yet acknowledged free room when their ACK comes (late on a loaded machine), and
    // the close would then write its last bytes at once instead of lingering. Turn
    // until every byte the socket holds waits for the peer's window.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let fd = sockets(&sp).stream(key).expect("conn").as_raw_fd();
        let (queued, unsent) = (outq(fd, libc::TIOCOUTQ), outq(fd, SIOCOUTQNSD));
        if unsent > 0 && queued == unsent {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the socket never stalled: {queued} bytes queued, {unsent} not sent"
        );
        turn(&mut sp, &mut poll, &mut events);
    }
    (sp, poll, events, peer)
}

/// `SIOCOUTQNSD`: bytes in a TCP socket's send queue not sent yet.
const SIOCOUTQNSD: libc::Ioctl = 0x894B;

/// A TCP socket's send queue as an ioctl counts it (`TIOCOUTQ`: not yet acknowledged,
/// sent or not; `SIOCOUTQNSD`: not yet sent).
fn outq(fd: i32, req: libc::Ioctl) -> i32 {
    let mut n: libc::c_int = 0;
    // SAFETY: the ioctl writes one c_int to a live local on an open socket.
    let rc = unsafe { libc::ioctl(fd, req, &mut n as *mut libc::c_int) };
    assert_eq!(rc, 0, "ioctl {req:#x}");
    n
}

#[test]
fn closing_a_session_whose_peer_does_not_read_never_waits() {
    let (mut sp, mut poll, mut events, mut peer) = blocked_session();
    // The peer is removed: Cease 6/3. The call returns at once; the connection waits
    // on the closing list for the socket to take its last bytes.
    let t = Instant::now();
    sp.set_peers(&[], Instant::now());
    eprintln!("removing the peer took {:?}", t.elapsed());
    assert!(sp.peers.is_empty());
    assert_eq!(sockets(&sp).closing_count(), 1);
    // Now the peer reads: the loop writes the rest of the message being written, then
    // the NOTIFICATION, and drops the connection.
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match peer.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("read: {e}"),
        }
        turn(&mut sp, &mut poll, &mut events);
        assert!(Instant::now() < deadline, "connection not closed");
    }
    assert_eq!(sockets(&sp).closing_count(), 0);
    let msgs = messages(&got);
    let last = msgs.last().expect("messages");
    assert_eq!(last, &(3, vec![6, 3]), "ends with Cease/Peer De-configured");
    let updates = msgs.iter().filter(|(t, _)| *t == 2).count();
    assert!(
        updates < 20_000,
        "the queued UPDATEs were dropped ({updates} arrived)"
    );
}

#[test]
fn a_closing_connection_is_dropped_when_its_linger_time_is_over() {
    let (mut sp, _poll, _events, _peer) = blocked_session();
    sp.set_peers(&[], Instant::now());
    assert_eq!(sockets(&sp).closing_count(), 1);
    // The peer never reads: the linger timer drops it.
    sp.on_timers(Instant::now() + Duration::from_secs(1));
    assert_eq!(sockets(&sp).closing_count(), 1);
    sp.on_timers(Instant::now() + CLOSE_LINGER);
    assert_eq!(sockets(&sp).closing_count(), 0);
}
