//! Fuzz target: a whole session from the peer's side. The first input byte picks the
//! configuration (iBGP or eBGP, families, graceful restart, hold time 0 accepted, route
//! reflection, prefix limit); the rest is the byte stream the peer sends. Messages are
//! framed and decoded with the context negotiated so far and fed to the session state
//! machine (sans-IO, simulated time); its UPDATEs go to a RIB, whose prefix counts go
//! to a prefix limiter that may end the session, as the speaker does.
//!
//! Fails on: a panic anywhere; a RIB refusing a decoded UPDATE; routes held for a peer
//! that is not Established and did not end gracefully; more routes held than received.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use kube_bgp::bgp::fsm::{GrConfig, Input, Output, Peer, PeerConfig, State};
use kube_bgp::bgp::limit::{LimitVerdict, PrefixLimiter};
use kube_bgp::bgp::rib::{AcceptAll, PeerInfo, Rib, RibConfig};
use kube_bgp::bgp::wire::{self, AfiSet, Ctx};
use kube_bgp::prefix::Afi;
use libfuzzer_sys::fuzz_target;

const LOCAL: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

fn config(sel: u8) -> PeerConfig {
    let remote = if sel & 1 != 0 { 65000 } else { 65001 };
    let mut c = PeerConfig::new(65000, remote, LOCAL);
    c.families = match (sel >> 1) & 3 {
        0 => vec![Afi::Ipv4],
        1 => vec![Afi::Ipv6],
        _ => vec![Afi::Ipv4, Afi::Ipv6],
    };
    if sel & 8 != 0 {
        c.graceful_restart = Some(GrConfig {
            restart_time: 120,
            restarting: false,
            forwarding_preserved: true,
        });
    }
    c.accept_zero_hold_time = sel & 16 != 0;
    c
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, mut buf)) = data.split_first() else {
        return;
    };
    let cfg = config(sel);
    let Ok(mut peer) = Peer::new(cfg.clone(), u64::from(sel)) else {
        return;
    };
    let mut rib = Rib::new(
        RibConfig {
            router_id: LOCAL,
            cluster_id: (sel & 32 != 0).then_some(LOCAL),
        },
        Box::new(AcceptAll),
    );
    let info = PeerInfo {
        addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        remote_asn: cfg.remote_asn,
        local_asn: cfg.local_asn,
        router_id: Ipv4Addr::UNSPECIFIED,
        ibgp: cfg.local_asn == cfg.remote_asn,
        rr_client: sel & 32 != 0,
        families: cfg.families.clone(),
        local_addr_v4: Some(LOCAL),
        local_addr_v6: None,
        next_hop_self: false,
    };
    let id = rib.add_peer(info.clone());
    let mut limiter = PrefixLimiter::new(if sel & 64 != 0 { 3 } else { 0 });
    let mut now = Instant::now();
    let mut pending: Vec<Output> = peer.handle(Input::Start, now);
    let mut conn = None;
    let mut ctx = Ctx::default();
    let mut received = 0usize;
    let mut stale_ok = false;
    loop {
        // Carry out what the FSM asked for.
        while let Some(out) = (!pending.is_empty()).then(|| pending.remove(0)) {
            match out {
                Output::Connect { conn: c } => {
                    conn = Some(c);
                    pending.extend(peer.handle(
                        Input::TcpConnected {
                            conn: c,
                            inbound: false,
                        },
                        now,
                    ));
                }
                Output::Established { negotiated, .. } => {
                    ctx = Ctx {
                        four_octet_as: negotiated.four_octet_as,
                        ibgp: negotiated.ibgp,
                        families: AfiSet::of(&negotiated.families),
                    };
                    let mut i = info.clone();
                    i.router_id = negotiated.remote_router_id;
                    i.families = negotiated.families.clone();
                    rib.peer_up(id, i).expect("known peer");
                    stale_ok = false;
                }
                Output::Update(u) => {
                    received += u.announced.len();
                    let afis: Vec<Afi> = u.announced.iter().map(|p| p.afi()).collect();
                    rib.apply_update(id, u).expect("a decoded UPDATE applies");
                    for afi in afis {
                        let n = rib.received_of(id, afi);
                        if let LimitVerdict::Exceeded { limit, .. } = limiter.check(afi, n) {
                            pending.extend(peer.handle(Input::PrefixLimit { afi, limit }, now));
                        }
                    }
                }
                Output::Down {
                    was_established,
                    graceful,
                    ..
                } => {
                    if was_established {
                        rib.peer_down(id, graceful).expect("known peer");
                        stale_ok = graceful;
                    }
                    limiter.reset();
                    ctx = Ctx::default();
                }
                _ => {}
            }
        }
        let held = rib.received_of(id, Afi::Ipv4) + rib.received_of(id, Afi::Ipv6);
        assert!(held <= received, "{held} held, {received} received");
        if peer.state() != State::Established && !stale_ok {
            assert_eq!(held, 0, "routes held without a session");
        }
        // The next message from the peer, on the current connection.
        let Some(c) = conn.filter(|_| peer.state() >= State::OpenSent) else {
            break;
        };
        let input = match wire::frame(buf) {
            Ok(Some(n)) => {
                let (msg, rest) = buf.split_at(n);
                buf = rest;
                match wire::decode(msg, &ctx) {
                    Ok(d) => Input::Received {
                        conn: c,
                        msg: d.message,
                    },
                    Err(e) => Input::DecodeError {
                        conn: c,
                        notification: e.notification,
                    },
                }
            }
            Ok(None) => break,
            Err(e) => {
                buf = &[];
                Input::DecodeError {
                    conn: c,
                    notification: e.notification,
                }
            }
        };
        pending.extend(peer.handle(input, now));
        // Time passes between messages; timers run.
        now += Duration::from_secs(1);
        pending.extend(peer.handle(Input::Timers, now));
    }
});
