//! Speakers over the simulated network on virtual time: a session comes up and carries
//! a route; a cut link ends it by the hold timer; a reset closes both ends; a crash
//! closes the peer's end; a connect to a host without a listener is refused; a link
//! with a byte budget carries a table in parts.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use super::*;
use crate::bgp::fsm::State;
use crate::bgp::rib::{AcceptAll, Rib, RibConfig};
use crate::bgp::types::{Attrs, Origin};
use crate::cluster::peers::PeerPlan;
use crate::daemon::speaker::{LocalParams, Speaker};
use crate::prefix::{Afi, Prefix};

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

fn plan(addr: IpAddr, local_asn: u32, remote_asn: u32) -> PeerPlan {
    PeerPlan {
        hold_time: 9,
        ..PeerPlan::plain(addr, local_asn, remote_asn)
    }
}

/// A speaker at `addr` in AS `asn` on `net`, listening on its address.
fn speaker(net: &SimNet, addr: IpAddr, asn: u32, now: Instant) -> Speaker {
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
    let local = LocalParams {
        max_send_buffer: 1 << 20,
        ..LocalParams::plain(id, asn)
    };
    let mut sp = Speaker::with_io(rib, local, u64::from(id.octets()[3]), net.session_io(addr));
    assert!(sp.set_listen(&[addr], now).is_empty());
    sp
}

/// Speakers on one network, driven as the daemon's loop drives its speaker: each turn
/// runs timers (and what the network has due), then RIB output.
struct Rig {
    net: SimNet,
    now: Instant,
    speakers: Vec<(IpAddr, Speaker)>,
}

impl Rig {
    fn new(hosts: &[(IpAddr, u32)]) -> Rig {
        let net = SimNet::new(7);
        let now = Instant::now();
        let speakers = hosts
            .iter()
            .map(|(a, asn)| (*a, speaker(&net, *a, *asn, now)))
            .collect();
        Rig { net, now, speakers }
    }

    fn sp(&mut self, addr: IpAddr) -> &mut Speaker {
        let i = self
            .speakers
            .iter()
            .position(|(a, _)| *a == addr)
            .expect("a speaker at this address");
        &mut self.speakers[i].1
    }

    fn state(&mut self, at: IpAddr, peer: IpAddr) -> Option<State> {
        self.sp(at).state(&peer)
    }

    /// One turn of every speaker at the next deadline (at most `max` ahead).
    fn step(&mut self, max: Duration) {
        let limit = self.now + max;
        let next = self
            .speakers
            .iter_mut()
            .filter_map(|(_, s)| s.next_deadline())
            .min()
            .unwrap_or(limit)
            .clamp(self.now, limit);
        self.now = next;
        let now = self.now;
        for (_, s) in &mut self.speakers {
            s.on_timers(now);
            while s.rib.has_out() {
                s.flush_rib(now);
            }
        }
    }

    /// Runs until `done` holds (at most `within` of virtual time).
    fn run_until(&mut self, within: Duration, mut done: impl FnMut(&mut Rig) -> bool) {
        let end = self.now + within;
        let mut turns = 0;
        while !done(self) {
            assert!(self.now < end, "not reached within {within:?}");
            turns += 1;
            assert!(
                turns < 100_000,
                "the speakers keep turning at {:?}",
                self.now
            );
            self.step(Duration::from_secs(1));
        }
    }

    fn established(&mut self, a: IpAddr, b: IpAddr) -> bool {
        self.state(a, b) == Some(State::Established) && self.state(b, a) == Some(State::Established)
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

/// Two speakers (AS 65001 at .1, AS 65002 at .2) Established with each other.
fn established_pair() -> Rig {
    let (a, b) = (ip(1), ip(2));
    let mut rig = Rig::new(&[(a, 65001), (b, 65002)]);
    let now = rig.now;
    rig.sp(a).set_peers(&[plan(b, 65001, 65002)], now);
    rig.sp(b).set_peers(&[plan(a, 65002, 65001)], now);
    rig.run_until(Duration::from_secs(60), |r| r.established(a, b));
    // The collision (both sides connect) is resolved: one connection is left.
    let settle = rig.now + Duration::from_secs(5);
    rig.run_until(Duration::from_secs(10), |r| r.now >= settle);
    assert_eq!(rig.net.sessions(), vec![(a, b)]);
    rig
}

#[test]
fn two_speakers_establish_and_exchange_a_route_over_the_network() {
    let (a, b) = (ip(1), ip(2));
    let mut rig = established_pair();
    let p = Prefix::V4(Ipv4Addr::new(192, 0, 2, 0), 24);
    rig.sp(a).rib.originate(p, route(a));
    let sent = rig.now;
    rig.sp(a).flush_rib(sent);
    rig.run_until(Duration::from_secs(1), |r| {
        !r.sp(b).rib.paths(&p).is_empty()
    });
    // One delay (1 ms) for the UPDATE, and nothing arrives before it is due.
    assert_eq!(rig.now - sent, DEFAULT_DELAY);
    rig.sp(a).rib.withdraw_local(&p);
    rig.run_until(Duration::from_secs(1), |r| r.sp(b).rib.paths(&p).is_empty());
    // Keepalives hold the session well past the hold time.
    let stay = rig.now + Duration::from_secs(60);
    rig.run_until(Duration::from_secs(70), |r| r.now >= stay);
    assert!(rig.established(a, b));
    assert_eq!(rig.net.sessions(), vec![(a, b)]);
}

#[test]
fn the_same_seed_and_calls_give_the_same_run() {
    let trace = || {
        let (a, b) = (ip(1), ip(2));
        let mut rig = established_pair();
        let t0 = rig.now;
        let mut seen = Vec::new();
        rig.net.set_delay(a, b, Duration::from_millis(7));
        let p = Prefix::V4(Ipv4Addr::new(192, 0, 2, 0), 24);
        rig.sp(a).rib.originate(p, route(a));
        for _ in 0..50 {
            rig.step(Duration::from_secs(1));
            let (ua, ub) = (rig.sp(a).updates_in, rig.sp(b).updates_in);
            seen.push((rig.now - t0, ua, ub));
        }
        seen
    };
    assert_eq!(trace(), trace());
}

#[test]
fn a_cut_link_ends_the_session_by_the_hold_timer_and_heals() {
    let (a, b) = (ip(1), ip(2));
    let mut rig = established_pair();
    rig.net.cut(a, b);
    let cut_at = rig.now;
    // Nothing crosses and no close is heard: both sides sit Established until the hold
    // time (9 s) runs out.
    rig.run_until(Duration::from_secs(20), |r| {
        r.state(a, b) != Some(State::Established) && r.state(b, a) != Some(State::Established)
    });
    let took = rig.now - cut_at;
    assert!(
        took >= Duration::from_secs(6) && took <= Duration::from_secs(10),
        "hold timer expiry after {took:?}"
    );
    // What waits behind the cut (NOTIFICATIONs, SYNs) is not reported as due, so the
    // agents' poll_at does not stay in the past.
    assert_eq!(rig.net.next_event_at(a), None);
    assert_eq!(rig.net.next_event_at(b), None);
    // Healed: the sessions come back.
    rig.net.heal(a, b);
    rig.run_until(Duration::from_secs(120), |r| r.established(a, b));
}

#[test]
fn bytes_held_by_a_short_cut_cross_after_the_heal_and_the_session_stays() {
    let (a, b) = (ip(1), ip(2));
    let mut rig = established_pair();
    rig.net.cut(a, b);
    let p = Prefix::V4(Ipv4Addr::new(192, 0, 2, 0), 24);
    rig.sp(a).rib.originate(p, route(a));
    let now = rig.now;
    rig.sp(a).flush_rib(now);
    let until = rig.now + Duration::from_secs(3);
    rig.run_until(Duration::from_secs(4), |r| r.now >= until);
    assert!(rig.sp(b).rib.paths(&p).is_empty(), "nothing crosses a cut");
    assert_eq!(rig.net.next_event_at(b), None, "held bytes are not due");
    // Healed within the hold time: the UPDATE is due at once and arrives.
    rig.net.heal(a, b);
    assert!(rig.net.next_event_at(b).is_some_and(|t| t <= rig.now));
    rig.step(Duration::ZERO);
    assert_eq!(rig.sp(b).rib.paths(&p).len(), 1);
    assert!(rig.established(a, b));
    assert_eq!(rig.net.sessions(), vec![(a, b)]);
}

#[test]
fn a_reset_closes_both_ends_at_once() {
    let (a, b) = (ip(1), ip(2));
    let mut rig = established_pair();
    rig.net.reset(a, b);
    assert_eq!(rig.net.next_event_at(a), Some(rig.now));
    assert_eq!(rig.net.next_event_at(b), Some(rig.now));
    rig.step(Duration::ZERO);
    assert_ne!(rig.state(a, b), Some(State::Established));
    assert_ne!(rig.state(b, a), Some(State::Established));
    assert!(rig.net.sessions().is_empty());
    // They reconnect.
    rig.run_until(Duration::from_secs(120), |r| r.established(a, b));
}

#[test]
fn a_crash_closes_the_peers_end_and_a_restarted_agent_starts_clean() {
    let (a, b) = (ip(1), ip(2));
    let mut rig = established_pair();
    // The crash comes between turns, half a second after the last one.
    let crashed = rig.now + Duration::from_millis(500);
    rig.net.set_time(crashed);
    rig.net.crash(a);
    // The peer hears the close one delay later, long before its hold time.
    assert_eq!(rig.net.next_event_at(b), Some(crashed + DEFAULT_DELAY));
    rig.run_until(Duration::from_secs(1), |r| {
        r.state(b, a) != Some(State::Established)
    });
    assert_eq!(rig.now - crashed, DEFAULT_DELAY);
    assert!(rig.net.sessions().is_empty());
    // The dead agent's speaker hears nothing more, and its listener is gone: b's
    // connects are refused until the agent comes back.
    assert!(rig.net.next_event_at(a).is_none());
    rig.speakers.retain(|(h, _)| *h != a);
    let later = rig.now + Duration::from_secs(120);
    rig.run_until(Duration::from_secs(130), |r| r.now >= later);
    let err = rig.sp(b).peers[&a].stats.last_error.clone();
    assert!(
        err.as_deref()
            .is_some_and(|e| e.contains("connection refused")),
        "{err:?}"
    );
    // Restarted: a new endpoint for the same host.
    let now = rig.now;
    let mut again = speaker(&rig.net, a, 65001, now);
    again.set_peers(&[plan(b, 65001, 65002)], now);
    rig.speakers.push((a, again));
    rig.run_until(Duration::from_secs(120), |r| r.established(a, b));
}

#[test]
fn a_connect_to_a_host_without_a_listener_is_refused_after_the_delay() {
    let (a, c) = (ip(1), ip(3));
    let mut rig = Rig::new(&[(a, 65001)]);
    rig.net.set_delay(a, c, Duration::from_millis(20));
    let now = rig.now;
    rig.sp(a).set_peers(&[plan(c, 65001, 65003)], now);
    rig.run_until(Duration::from_secs(60), |r| {
        r.sp(a).peers[&c].stats.last_error.is_some()
    });
    // A connect attempt, then the refusal one round trip (2 x 20 ms) later.
    let err = rig.sp(a).peers[&c].stats.last_error.clone();
    assert_eq!(err.as_deref(), Some("connect: connection refused"));
    assert!(rig.net.sessions().is_empty());
    // Over a cut link the connect never completes: the core's ConnectRetry timer
    // abandons each attempt (its connection is gone from the network) and tries again.
    rig.sp(a).peers.get_mut(&c).expect("peer").stats.last_error = None;
    rig.net.cut(a, c);
    let first = rig.net.net.borrow().next_link;
    let later = rig.now + Duration::from_secs(200);
    rig.run_until(Duration::from_secs(300), |r| {
        assert!(r.net.net.borrow().links.len() <= 1, "one attempt at a time");
        r.now >= later
    });
    let attempts = rig.net.net.borrow().next_link - first;
    assert!(attempts >= 2, "{attempts} connect attempts in 200 s");
    assert_eq!(rig.sp(a).peers[&c].stats.last_error, None);
    assert_ne!(rig.state(a, c), Some(State::Established));
}

#[test]
fn a_link_with_a_byte_budget_carries_a_table_in_parts_in_order() {
    let (a, b) = (ip(1), ip(2));
    let mut rig = established_pair();
    // 1,000 routes with attributes of their own: one UPDATE each, about 50 KB, over
    // a link that takes 1,000 bytes per write (one write per 1 ms delay).
    rig.net.set_budget(a, b, Some(1000));
    let prefixes: Vec<Prefix> = (0..1000u32)
        .map(|i| Prefix::V4(Ipv4Addr::from(0x0B00_0000 + (i << 8)), 24))
        .collect();
    for (i, p) in prefixes.iter().enumerate() {
        let mut attrs = route(a);
        attrs.med = Some(i as u32);
        rig.sp(a).rib.originate(*p, attrs);
    }
    let start = rig.now;
    let now = rig.now;
    while rig.sp(a).rib.has_out() {
        rig.sp(a).flush_rib(now);
    }
    // After a few delays only a part has arrived, and UPDATEs split across writes
    // were framed whole.
    let early = start + Duration::from_millis(5);
    rig.run_until(Duration::from_secs(1), |r| r.now >= early);
    let got = prefixes
        .iter()
        .filter(|p| !rig.sp(b).rib.paths(p).is_empty())
        .count();
    assert!(got > 0 && got < 200, "{got} routes after 5 ms");
    rig.run_until(Duration::from_secs(5), |r| {
        prefixes.iter().all(|p| !r.sp(b).rib.paths(p).is_empty())
    });
    let took = rig.now - start;
    assert!(
        took >= Duration::from_millis(40),
        "all there after {took:?}"
    );
    assert!(rig.established(a, b));
    // Without the budget the next table goes at once.
    rig.net.set_budget(a, b, None);
    for p in &prefixes {
        rig.sp(a).rib.withdraw_local(p);
    }
    let start = rig.now;
    while rig.sp(a).rib.has_out() {
        rig.sp(a).flush_rib(start);
    }
    rig.run_until(Duration::from_secs(1), |r| {
        prefixes.iter().all(|p| r.sp(b).rib.paths(p).is_empty())
    });
    assert_eq!(rig.now - start, DEFAULT_DELAY);
}

#[test]
fn a_dropped_endpoint_closes_like_an_exit_and_frees_its_listener() {
    let (a, b) = (ip(1), ip(2));
    let mut rig = established_pair();
    // The agent replaces its speaker (as on a new router ID): the old one's
    // connections close, the peer hears it one delay later.
    rig.speakers.retain(|(h, _)| *h != a);
    let dropped = rig.now;
    assert_eq!(rig.net.next_event_at(b), Some(dropped + DEFAULT_DELAY));
    rig.run_until(Duration::from_secs(1), |r| {
        r.state(b, a) != Some(State::Established)
    });
    assert!(rig.net.sessions().is_empty());
    // Its listen address is free for the next speaker, taken by one endpoint at a time.
    let now = rig.now;
    let again = speaker(&rig.net, a, 65001, now);
    assert_eq!(again.listening(), vec![SocketAddr::new(a, 179)]);
    let IpAddr::V4(id) = a else { unreachable!() };
    let rib = Rib::new(
        RibConfig {
            router_id: id,
            cluster_id: None,
        },
        Box::new(AcceptAll),
    );
    let local = again.local.clone();
    let mut second = Speaker::with_io(rib, local, 9, rig.net.session_io(a));
    let failed = second.set_listen(&[a], now);
    assert_eq!(
        failed,
        vec![(
            SocketAddr::new(a, 179),
            "address already in use".to_string()
        )]
    );
    assert!(second.listening().is_empty());
}
