//! The speaker core without sockets: cores wired back to back through byte buffers on
//! virtual time. Connects become accepts on the other core, queued bytes are carried to
//! the other side, closes reach it with their last bytes: sessions come up, routes go
//! across, a slow reader is cut off by the core alone.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use super::*;
use crate::bgp::rib::{AcceptAll, RibConfig};
use crate::bgp::types::{Attrs, Origin};
use crate::daemon::speaker::LocalParams;
use crate::prefix::Prefix;

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

fn plan(addr: IpAddr, local_asn: u32, remote_asn: u32) -> PeerPlan {
    PeerPlan::plain(addr, local_asn, remote_asn)
}

fn core(addr: IpAddr, asn: u32, seed: u64) -> SpeakerCore {
    let IpAddr::V4(id) = addr else {
        unreachable!("test addresses are IPv4")
    };
    let rib = Rib::new(
        RibConfig {
            router_id: id,
            cluster_id: None,
        },
        Box::new(AcceptAll),
    );
    SpeakerCore::new(
        rib,
        LocalParams {
            max_send_buffer: 1 << 20,
            ..LocalParams::plain(id, asn)
        },
        seed,
    )
}

/// Cores by address, and the connections between them: each end names the other.
struct CoreMesh {
    cores: Vec<(IpAddr, SpeakerCore)>,
    links: HashMap<(IpAddr, ConnKey), (IpAddr, ConnKey)>,
    now: Instant,
    /// Cores whose socket takes nothing (a peer that stopped reading).
    stalled: Vec<IpAddr>,
    /// Connections refused and closed, for the checks.
    closes: usize,
    next_port: u16,
}

impl CoreMesh {
    fn new(cores: Vec<(IpAddr, SpeakerCore)>) -> CoreMesh {
        CoreMesh {
            cores,
            links: HashMap::new(),
            now: Instant::now(),
            stalled: Vec::new(),
            closes: 0,
            next_port: 40000,
        }
    }

    fn core(&mut self, addr: IpAddr) -> &mut SpeakerCore {
        let i = self
            .cores
            .iter()
            .position(|(a, _)| *a == addr)
            .expect("a core at this address");
        &mut self.cores[i].1
    }

    /// Carries out every core's socket operations and writes, and sends what the RIBs
    /// want sent (as the daemon's loop does), until none is left.
    fn pump(&mut self) {
        for _ in 0..10_000 {
            let mut any = false;
            let addrs: Vec<IpAddr> = self.cores.iter().map(|(a, _)| *a).collect();
            for me in addrs {
                let now = self.now;
                while self.core(me).rib.has_out() {
                    self.core(me).flush_rib(now);
                }
                while let Some(op) = self.core(me).pop_op() {
                    any = true;
                    self.apply(me, op);
                }
                while let Some(key) = self.core(me).pop_writable() {
                    any = true;
                    self.write(me, key);
                }
            }
            if !any {
                return;
            }
        }
        panic!("the cores keep asking for work");
    }

    fn apply(&mut self, me: IpAddr, op: SocketOp) {
        let now = self.now;
        match op {
            SocketOp::Connect { key, remote, .. } => {
                let there = remote.ip();
                if !self.cores.iter().any(|(a, _)| *a == there) {
                    return self.core(me).connect_failed(key, &"no route to host", now);
                }
                self.next_port += 1;
                let from = SocketAddr::new(me, self.next_port);
                let other = self.core(there);
                if other.admit(from, Ok(None), now).is_none() {
                    self.closes += 1;
                    return self.core(me).on_closed(key, None, now);
                }
                let Some(okey) = other.accepted(from, Some(remote), now) else {
                    return self.core(me).on_closed(key, None, now);
                };
                self.links.insert((me, key), (there, okey));
                self.links.insert((there, okey), (me, key));
                self.core(me).connected(key, Some(from), now);
            }
            SocketOp::Close { key, unsent } => {
                let mut bytes = Vec::new();
                let mut io = Vec::new();
                unsent.slices(0, &mut io);
                for s in &io {
                    bytes.extend_from_slice(s);
                }
                self.hang_up(me, key, &bytes);
            }
            SocketOp::Abort { key } => self.hang_up(me, key, &[]),
            SocketOp::Listen { .. } | SocketOp::Unlisten { .. } | SocketOp::SetKey { .. } => {}
        }
    }

    /// Closes `key` from `me`'s side after its last bytes reach the other side.
    fn hang_up(&mut self, me: IpAddr, key: ConnKey, last: &[u8]) {
        self.closes += 1;
        if let Some((there, okey)) = self.links.remove(&(me, key)) {
            self.links.remove(&(there, okey));
            let now = self.now;
            let other = self.core(there);
            other.on_read(okey, last, now);
            other.on_closed(okey, None, now);
        }
    }

    fn write(&mut self, me: IpAddr, key: ConnKey) {
        let now = self.now;
        let Some(&(there, okey)) = self.links.get(&(me, key)) else {
            return;
        };
        if self.stalled.contains(&there) {
            return self.core(me).on_written(key, 0, now);
        }
        let mut bytes = Vec::new();
        if let Some(q) = self.core(me).send_queue(key) {
            let mut io = Vec::new();
            loop {
                q.slices(bytes.len(), &mut io);
                if io.is_empty() {
                    break;
                }
                for s in &io {
                    bytes.extend_from_slice(s);
                }
            }
        }
        self.core(me).on_written(key, bytes.len(), now);
        self.core(there).on_read(okey, &bytes, now);
    }

    /// Moves virtual time to the next deadline (at most `max` ahead) and runs timers.
    fn tick(&mut self, max: Duration) {
        let limit = self.now + max;
        let next = self
            .cores
            .iter_mut()
            .filter_map(|(_, c)| c.next_deadline())
            .min()
            .unwrap_or(limit)
            .clamp(self.now, limit);
        self.now = next;
        let now = self.now;
        for (_, c) in &mut self.cores {
            c.on_timers(now);
        }
        self.pump();
    }

    /// Runs until `done` holds (virtual time, at most `within`).
    fn run_until(&mut self, within: Duration, mut done: impl FnMut(&mut CoreMesh) -> bool) {
        let end = self.now + within;
        self.pump();
        while !done(self) {
            assert!(
                self.now < end,
                "not reached within {within:?} of virtual time"
            );
            self.tick(Duration::from_secs(1));
        }
    }

    fn state(&mut self, at: IpAddr, peer: IpAddr) -> Option<State> {
        self.core(at).state(&peer)
    }
}

fn route(next_hop: IpAddr) -> Attrs {
    let mut a = Attrs {
        origin: Origin::Igp,
        ..Attrs::default()
    };
    a.set_next_hop(Afi::Ipv4, next_hop, None);
    a
}

/// Two cores (AS 65001 at .1, AS 65002 at .2) configured for each other.
fn pair() -> CoreMesh {
    let (a, b) = (ip(1), ip(2));
    let mut net = CoreMesh::new(vec![(a, core(a, 65001, 1)), (b, core(b, 65002, 2))]);
    let now = net.now;
    net.core(a).set_peers(&[plan(b, 65001, 65002)], now);
    net.core(b).set_peers(&[plan(a, 65002, 65001)], now);
    net
}

#[test]
fn two_cores_establish_and_exchange_a_route_through_byte_buffers() {
    let (a, b) = (ip(1), ip(2));
    let mut net = pair();
    net.run_until(Duration::from_secs(120), |n| {
        n.state(a, b) == Some(State::Established) && n.state(b, a) == Some(State::Established)
    });
    // Both sides connect: once the collision is resolved, one connection is left.
    let settle = net.now + Duration::from_secs(30);
    net.run_until(Duration::from_secs(60), |n| n.now >= settle);
    assert_eq!(net.core(a).peers[&b].conns.len(), 1);
    assert_eq!(net.core(b).peers[&a].conns.len(), 1);

    let p = Prefix::V4(Ipv4Addr::new(192, 0, 2, 0), 24);
    let now = net.now;
    // Each side already counted the other's End-of-RIB.
    let (sent, received) = (net.core(a).updates_out, net.core(b).updates_in);
    net.core(a).rib.originate(p, route(a));
    net.core(a).flush_rib(now);
    net.pump();
    let paths = net.core(b).rib.paths(&p);
    assert_eq!(paths.len(), 1, "the route arrived");
    assert_eq!(net.core(b).updates_in, received + 1);
    assert_eq!(net.core(a).updates_out, sent + 1);

    // Withdrawn, and gone on the other side.
    net.core(a).rib.withdraw_local(&p);
    net.core(a).flush_rib(now);
    net.pump();
    assert!(
        net.core(b).rib.paths(&p).is_empty(),
        "the withdrawal arrived"
    );

    // Keepalives hold the session for longer than the hold time.
    let stay = net.now + Duration::from_secs(300);
    net.run_until(Duration::from_secs(400), |n| n.now >= stay);
    assert_eq!(net.state(a, b), Some(State::Established));
    assert_eq!(net.state(b, a), Some(State::Established));

    // Removing the peer sends Cease: the other side goes down at once.
    let now = net.now;
    net.core(a).set_peers(&[], now);
    net.pump();
    assert!(net.core(a).peers.is_empty());
    assert_ne!(net.state(b, a), Some(State::Established));
    let last = net.core(b).peers[&a].stats.last_error.clone();
    assert!(
        last.as_deref().is_some_and(|e| e.contains("6/3")),
        "{last:?}"
    );
}

#[test]
fn one_encoding_is_shared_by_every_member_of_an_update_group() {
    // B and C in one AS: one update group on A.
    let (a, b, c) = (ip(1), ip(2), ip(3));
    let mut net = CoreMesh::new(vec![
        (a, core(a, 65001, 1)),
        (b, core(b, 65002, 2)),
        (c, core(c, 65002, 3)),
    ]);
    let now = net.now;
    net.core(a)
        .set_peers(&[plan(b, 65001, 65002), plan(c, 65001, 65002)], now);
    net.core(b).set_peers(&[plan(a, 65002, 65001)], now);
    net.core(c).set_peers(&[plan(a, 65002, 65001)], now);
    net.run_until(Duration::from_secs(120), |n| {
        [b, c]
            .iter()
            .all(|&p| n.state(a, p) == Some(State::Established))
    });
    // B and C stop reading: what A queues for them stays in their send queues.
    net.stalled = vec![b, c];
    for i in 0..100u32 {
        let p = Prefix::V4(Ipv4Addr::from(0xC633_0000 + (i << 8)), 24);
        let now = net.now;
        net.core(a).rib.originate(p, route(a));
        net.core(a).flush_rib(now);
    }
    net.pump();
    let queued: Vec<Vec<*const u8>> = [b, c]
        .iter()
        .map(|p| {
            let sp = net.core(a);
            let conn = sp.peers[p].fsm.established_conn().expect("established");
            let key = ConnKey { peer: *p, conn };
            sp.send_queue(key).expect("queue").shared_parts()
        })
        .collect();
    assert!(!queued[0].is_empty());
    assert_eq!(queued[0], queued[1], "the same encodings, not copies");
}

#[test]
fn a_peer_that_stops_reading_is_cut_off_by_the_send_buffer_cap() {
    let (a, b) = (ip(1), ip(2));
    let mut net = pair();
    net.run_until(Duration::from_secs(120), |n| {
        n.state(a, b) == Some(State::Established) && n.state(b, a) == Some(State::Established)
    });
    net.stalled = vec![b];
    // More than the 1 MB cap, one UPDATE per prefix (attributes of their own).
    for i in 0..30_000u32 {
        let p = Prefix::V4(Ipv4Addr::from(0x0B00_0000 + (i << 8)), 24);
        let mut attrs = route(a);
        attrs.med = Some(i);
        net.core(a).rib.originate(p, attrs);
    }
    let now = net.now;
    while net.core(a).rib.has_out() {
        net.core(a).flush_rib(now);
    }
    net.pump();
    assert_ne!(net.state(a, b), Some(State::Established));
    let last = net.core(a).peers[&b].stats.last_error.clone();
    assert!(
        last.as_deref().is_some_and(|e| e.contains("6/8")),
        "{last:?}"
    );
}

#[test]
fn a_connection_from_an_unknown_address_is_refused() {
    let (a, b, x) = (ip(1), ip(2), ip(9));
    let mut net = pair();
    // .9 is not configured on A: its connect is refused before any byte is read.
    net.cores.push((x, core(x, 65009, 9)));
    let now = net.now;
    net.core(x).set_peers(&[plan(a, 65009, 65001)], now);
    net.run_until(Duration::from_secs(120), |n| {
        n.state(a, b) == Some(State::Established) && n.closes > 1
    });
    assert!(!net.core(a).peers.contains_key(&x));
    assert_ne!(net.state(x, a), Some(State::Established));
}

/// The socket operations queued so far.
fn ops(c: &mut SpeakerCore) -> Vec<SocketOp> {
    std::iter::from_fn(|| c.pop_op()).collect()
}

#[test]
fn listeners_and_their_tcp_md5_keys_are_asked_for_as_data() {
    let (a, b, x) = (ip(1), ip(2), ip(9));
    let mut c = core(a, 65001, 1);
    let now = Instant::now();
    let mut with_key = plan(b, 65001, 65002);
    with_key.password = Some(Password::new(b"s3cret".to_vec()));
    c.set_peers(&[with_key.clone()], now);
    let first = ops(&mut c);
    assert!(
        first.iter().any(|op| matches!(op,
            SocketOp::SetKey { peer, key: Some(k) } if *peer == b && k.as_bytes() == b"s3cret")),
        "the key is set before the session starts"
    );
    assert!(first.iter().any(|op| matches!(op,
        SocketOp::Connect { key, remote, md5: Some(k), .. }
            if key.peer == b && *remote == SocketAddr::new(b, 179) && k.as_bytes() == b"s3cret")));

    // A new listener gets every configured key; one that stays is not reopened.
    c.set_listen(&[a]);
    let listen = ops(&mut c);
    assert_eq!(listen.len(), 1);
    assert!(matches!(&listen[0],
        SocketOp::Listen { addr, gtsm: false, keys }
            if *addr == SocketAddr::new(a, 179)
                && keys.len() == 1 && keys[0].0 == b && keys[0].1.as_bytes() == b"s3cret"));
    c.set_listen(&[a, x]);
    assert!(matches!(&ops(&mut c)[..], [SocketOp::Listen { addr, .. }] if addr.ip() == x));
    // A listener that failed is asked for again next time; one not wanted is closed.
    c.listen_failed(SocketAddr::new(x, 179));
    c.set_listen(&[x]);
    let again = ops(&mut c);
    assert_eq!(again.len(), 2);
    assert!(matches!(&again[0], SocketOp::Unlisten { addr } if addr.ip() == a));
    assert!(matches!(&again[1], SocketOp::Listen { addr, .. } if addr.ip() == x));

    // Removing the peer removes its key.
    c.set_peers(&[], now);
    assert!(ops(&mut c).iter().any(|op| matches!(op,
        SocketOp::SetKey { peer, key: None } if *peer == b)));
}

#[test]
fn gtsm_admits_only_connections_whose_syn_came_from_one_hop_away() {
    let (a, b, x) = (ip(1), ip(2), ip(9));
    let mut c = core(a, 65001, 1);
    let now = Instant::now();
    let mut gtsm = plan(b, 65001, 65002);
    gtsm.ttl = Some(255);
    gtsm.min_ttl = Some(254);
    c.set_peers(&[gtsm], now);
    let from = SocketAddr::new(b, 40001);
    assert_eq!(
        c.admit(from, Ok(Some(255)), now),
        Some(AcceptRules {
            ttl: Some(255),
            min_ttl: Some(254)
        })
    );
    assert_eq!(c.admit(from, Ok(Some(253)), now), None, "two hops away");
    assert_eq!(c.admit(from, Ok(None), now), None, "TTL unknown");
    assert_eq!(c.admit(from, Err("no saved SYN".into()), now), None);
    assert_eq!(
        c.admit(SocketAddr::new(x, 40002), Ok(Some(255)), now),
        None,
        "not a configured peer"
    );
    // An admitted connection becomes the peer's, and the FSM answers with its OPEN.
    let key = c.accepted(from, Some(SocketAddr::new(a, 179)), now);
    let key = key.expect("the peer exists");
    assert_eq!(key.peer, b);
    assert_eq!(c.pop_writable(), Some(key));
    assert!(c.send_queue(key).is_some_and(|q| q.pending() > 0));
}

#[test]
fn a_flush_is_queued_peer_by_peer_as_the_socket_part_asks_and_before_anything_sent_later() {
    // B and C in one AS: one update group on A.
    let (a, b, c) = (ip(1), ip(2), ip(3));
    let mut net = CoreMesh::new(vec![
        (a, core(a, 65001, 1)),
        (b, core(b, 65002, 2)),
        (c, core(c, 65002, 3)),
    ]);
    let now = net.now;
    net.core(a)
        .set_peers(&[plan(b, 65001, 65002), plan(c, 65001, 65002)], now);
    net.core(b).set_peers(&[plan(a, 65002, 65001)], now);
    net.core(c).set_peers(&[plan(a, 65002, 65001)], now);
    net.run_until(Duration::from_secs(120), |n| {
        [b, c]
            .iter()
            .all(|&p| n.state(a, p) == Some(State::Established))
    });
    let keys: Vec<ConnKey> = [b, c]
        .iter()
        .map(|p| {
            let conn = net.core(a).peers[p].fsm.established_conn().expect("up");
            ConnKey { peer: *p, conn }
        })
        .collect();
    let pending =
        |net: &mut CoreMesh, k: ConnKey| net.core(a).send_queue(k).map_or(0, |q| q.pending());
    let sent = |net: &mut CoreMesh, p: IpAddr| net.core(a).peers[&p].stats.sent.update;
    let before = (sent(&mut net, b), sent(&mut net, c));
    let now = net.now;
    net.core(a)
        .rib
        .originate(Prefix::V4(Ipv4Addr::new(198, 51, 100, 0), 24), route(a));
    net.core(a).flush_rib(now);
    // Nothing queued yet: each peer's part is queued as its connection is asked for.
    assert_eq!(
        (pending(&mut net, keys[0]), pending(&mut net, keys[1])),
        (0, 0)
    );
    let first = net.core(a).pop_writable().expect("a member to write");
    assert!(keys.contains(&first));
    let other = if first == keys[0] { keys[1] } else { keys[0] };
    assert!(pending(&mut net, first) > 0);
    assert_eq!(
        pending(&mut net, other),
        0,
        "the other member is not queued yet"
    );
    assert_eq!(
        sent(&mut net, b) + sent(&mut net, c),
        before.0 + before.1 + 1
    );
    net.write(a, first);
    // A message sent meanwhile (here the other member's session ends with a
    // NOTIFICATION) first queues what the flush still holds: nothing for that member, whose
    // session ended before the NOTIFICATION went out, so nothing flushed follows it.
    let before_other = sent(&mut net, other.peer);
    net.core(a)
        .disable_peer(other.peer, Some("bye".into()), now)
        .expect("a peer");
    assert_eq!(sent(&mut net, other.peer), before_other, "nothing queued");
    assert_eq!(net.core(a).send_queue(other).map(|q| q.pending()), None);
    net.pump();
    let id = net.core(first.peer).peers[&a].rib_id;
    let routes = net.core(first.peer).rib.received_of(id, Afi::Ipv4);
    assert_eq!(routes, 1, "the first member got the route");
    let id = net.core(other.peer).peers[&a].rib_id;
    let routes = net.core(other.peer).rib.received_of(id, Afi::Ipv4);
    assert_eq!(routes, 0, "the other member got nothing");
    let last = net.core(other.peer).peers[&a].stats.last_error.clone();
    assert!(
        last.as_deref().is_some_and(|e| e.contains("6/2")),
        "{last:?}"
    );
}

#[test]
fn a_flush_is_written_to_every_member_with_no_timer_work_between() {
    // B and C in one AS: one update group on A.
    let (a, b, c) = (ip(1), ip(2), ip(3));
    let mut net = CoreMesh::new(vec![
        (a, core(a, 65001, 1)),
        (b, core(b, 65002, 2)),
        (c, core(c, 65002, 3)),
    ]);
    let now = net.now;
    net.core(a)
        .set_peers(&[plan(b, 65001, 65002), plan(c, 65001, 65002)], now);
    net.core(b).set_peers(&[plan(a, 65002, 65001)], now);
    net.core(c).set_peers(&[plan(a, 65002, 65001)], now);
    net.run_until(Duration::from_secs(120), |n| {
        [b, c]
            .iter()
            .all(|&p| n.state(a, p) == Some(State::Established))
    });
    net.pump();
    let timer = |net: &mut CoreMesh, p: IpAddr| net.core(a).timers.deadline(&TimerKey::Fsm(p));
    // Ten seconds on (timers set during the handshake that are due by then find
    // nothing to do and are set again), one route for both.
    net.now += Duration::from_secs(10);
    let now = net.now;
    net.core(a).on_timers(now);
    let before = [timer(&mut net, b), timer(&mut net, c)];
    assert!(before.iter().all(Option::is_some), "{before:?}");
    assert!(before.iter().flatten().all(|&d| d > now), "{before:?}");
    net.core(a)
        .rib
        .originate(Prefix::V4(Ipv4Addr::new(198, 51, 100, 0), 24), route(a));
    net.core(a).flush_rib(now);
    let first = net.core(a).pop_writable().expect("a member to write");
    net.write(a, first);
    let second = net.core(a).pop_writable().expect("the other member");
    assert_ne!(first.peer, second.peer);
    // The first member's keepalive moved (its UPDATE is a sign of life), its timer did
    // not: no timer work between the members' writes, and nothing held to report.
    assert_eq!(
        net.core(a).peers[&first.peer].fsm.next_deadline(),
        Some(now + Duration::from_secs(30))
    );
    assert_eq!(
        [timer(&mut net, b), timer(&mut net, c)],
        before,
        "no timer work between the members' writes"
    );
    assert!(net.core(a).book.is_empty(), "nothing held to report");
    net.write(a, second);
    assert_eq!(net.core(a).pop_writable(), None);
    // Both written: each FSM moved its keepalive (hold 90 s: keepalive every 30 s); the
    // timers stay where they were (earlier), with no timer work per member.
    for p in [b, c] {
        assert_eq!(
            net.core(a).peers[&p].fsm.next_deadline(),
            Some(now + Duration::from_secs(30)),
            "{p}"
        );
        let conn = net.core(a).peers[&p].fsm.established_conn().expect("up");
        let key = ConnKey { peer: p, conn };
        assert_eq!(net.core(a).send_queue(key).map(|q| q.pending()), Some(0));
    }
    assert_eq!([timer(&mut net, b), timer(&mut net, c)], before);
    // When the old timer fires, no KEEPALIVE goes (the UPDATE was one) and each timer
    // is set again to its FSM's deadline.
    let sent_before: Vec<u64> = [b, c]
        .iter()
        .map(|p| net.core(a).peers[p].stats.sent.keepalive)
        .collect();
    let due = before.iter().flatten().copied().max().expect("timers");
    net.core(a).on_timers(due);
    for (p, was) in [b, c].into_iter().zip(sent_before) {
        assert_eq!(net.core(a).peers[&p].stats.sent.keepalive, was, "{p}");
        assert_eq!(
            timer(&mut net, p),
            Some(now + Duration::from_secs(30)),
            "{p}"
        );
    }
    net.pump();
    for p in [b, c] {
        let id = net.core(p).peers[&a].rib_id;
        assert_eq!(net.core(p).rib.received_of(id, Afi::Ipv4), 1, "{p}");
    }
}
