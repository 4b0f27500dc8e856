//! A simple external router for the simulation, built from kube-bgp's own BGP core: a
//! `Speaker` over the simulated network that peers (eBGP) with every node and collects
//! what they announce, as a top-of-rack router would.
//!
//! Owns the router's speaker and its peer list (the driver keeps it equal to the API's
//! nodes, as an operator would). Exports nothing (a route collector), so the nodes'
//! kernels only hold routes of nodes. Must not stand in for any part of the agent.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use crate::bgp::rib::{PeerInfo, Policy, Rib, RibConfig, Source};
use crate::bgp::types::Attrs;
use crate::cluster::peers::PeerPlan;
use crate::daemon::speaker::sim_net::SimNet;
use crate::daemon::speaker::{LocalParams, Speaker};
use crate::prefix::{Afi, Prefix};

/// The router's address (on the nodes' subnet) and AS.
pub(crate) const ROUTER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 250);
pub(crate) const ROUTER_ASN: u32 = 65000;

/// Accepts everything, sends nothing.
struct Collector;

impl Policy for Collector {
    fn export(
        &self,
        _peer: &PeerInfo,
        _prefix: &Prefix,
        _source: Source<'_>,
        _attrs: &mut Cow<'_, Attrs>,
    ) -> bool {
        false
    }

    fn exports_learned(&self, _peer: &PeerInfo) -> bool {
        false
    }
}

pub(crate) struct SimRouter {
    speaker: Speaker,
    /// The floor between two turns (as the daemon's loop has).
    last_turn: Option<Instant>,
}

impl SimRouter {
    pub(crate) fn new(net: &SimNet, seed: u64, now: Instant) -> SimRouter {
        let ip = IpAddr::V4(ROUTER_IP);
        let rib = Rib::new(
            RibConfig {
                router_id: ROUTER_IP,
                cluster_id: None,
            },
            Box::new(Collector),
        );
        let local = LocalParams::plain(ROUTER_IP, ROUTER_ASN);
        let mut speaker = Speaker::with_io(rib, local, seed, net.session_io(ip));
        speaker.set_listen(&[ip], now);
        SimRouter {
            speaker,
            last_turn: None,
        }
    }

    /// Peers with exactly these nodes (address -> the node's ASN), IPv4 and IPv6 unicast
    /// on each session (a dual-stack node's IPv6 pod CIDR comes over the IPv4 session).
    pub(crate) fn set_peers(&mut self, nodes: &BTreeMap<IpAddr, u32>, now: Instant) {
        let plans: Vec<PeerPlan> = nodes
            .iter()
            .map(|(addr, asn)| PeerPlan {
                local_addr: Some(IpAddr::V4(ROUTER_IP)),
                families: vec![Afi::Ipv4, Afi::Ipv6],
                ..PeerPlan::plain(*addr, ROUTER_ASN, *asn)
            })
            .collect();
        self.speaker.set_peers(&plans, now);
    }

    pub(crate) fn poll_at(&mut self) -> Option<Instant> {
        let floor = self.last_turn.map(|t| t + Duration::from_millis(1));
        let next = self.speaker.next_deadline()?;
        Some(floor.map_or(next, |f| next.max(f)))
    }

    pub(crate) fn turn(&mut self, now: Instant) {
        self.last_turn = Some(now);
        for _ in 0..64 {
            if !self.speaker.has_pending_reads() {
                break;
            }
            self.speaker.drive_pending(now);
        }
        self.speaker.on_timers(now);
        for _ in 0..16 {
            self.speaker.flush_rib(now);
            if !self.speaker.rib.has_out() {
                break;
            }
        }
    }

    /// The best route of every prefix the router learned: prefix -> next hop.
    pub(crate) fn routes(&self) -> BTreeMap<Prefix, IpAddr> {
        self.speaker
            .rib
            .loc_rib()
            .filter_map(|(p, path)| Some((p, path.attrs.next_hop_for(p.afi())?)))
            .collect()
    }
}
