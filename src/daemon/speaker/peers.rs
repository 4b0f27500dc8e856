//! The speaker core's configuration side: which peers exist and how they are set up —
//! adding, changing in place (or resetting only when BGP requires it) and removing
//! peers, their TCP-MD5 keys on the listeners, and which addresses are listened on. Asks
//! for sockets only through `SocketOp`s; session handling is `speaker::sessions`'s.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use super::PeerStats;
use super::sessions::{
    ConnKey, LOG_BURST, LOG_WINDOW, PeerSlot, SocketOp, SpeakerCore, TimerKey, rib_outcome,
};
use crate::bgp::fsm::{self, GrConfig, Input, PeerConfig};
use crate::bgp::limit::PrefixLimiter;
use crate::bgp::rib::PeerInfo;
use crate::bgp::types::NotificationCode;
use crate::cluster::peers::{PeerKind, PeerPlan};
use crate::config::Password;
use crate::log::LogGate;
use crate::prefix::Afi;
use crate::{error, info, warn};

pub(super) fn passwd(plan: &PeerPlan) -> Option<&[u8]> {
    plan.password.as_ref().map(|p| p.as_bytes())
}

fn kind_name(k: &PeerKind) -> String {
    match k {
        PeerKind::Node { name } => format!("(node {name})"),
        PeerKind::Global => "(global peer)".into(),
        PeerKind::NodeAnnotation => "(node annotation peer)".into(),
    }
}

impl SpeakerCore {
    /// Listens on exactly `addrs` (port `local.port`); keeps listeners that stay. The
    /// socket part reports those it could not open ([`SpeakerCore::listen_failed`]).
    pub(crate) fn set_listen(&mut self, addrs: &[IpAddr]) {
        let want: Vec<SocketAddr> = addrs
            .iter()
            .map(|a| SocketAddr::new(*a, self.local.port))
            .collect();
        let ops = &mut self.ops;
        self.listen.retain(|a| {
            let keep = want.contains(a);
            if !keep {
                ops.push_back(SocketOp::Unlisten { addr: *a });
            }
            keep
        });
        for a in want {
            if self.listen.contains(&a) {
                continue;
            }
            let keys = self
                .peers
                .iter()
                .filter_map(|(ip, p)| p.plan.password.clone().map(|k| (*ip, k)))
                .collect();
            self.ops.push_back(SocketOp::Listen {
                addr: a,
                gtsm: self.local.gtsm,
                keys,
            });
            self.listen.push(a);
        }
    }

    /// The socket part could not listen on `addr` (the next `set_listen` tries again).
    pub(crate) fn listen_failed(&mut self, addr: SocketAddr) {
        self.listen.retain(|a| *a != addr);
    }

    fn fsm_config(&self, plan: &PeerPlan) -> PeerConfig {
        let mut cfg = PeerConfig::new(plan.local_asn, plan.remote_asn, self.local.router_id);
        cfg.hold_time = plan.hold_time;
        cfg.families = if plan.families.is_empty() {
            vec![Afi::of(&plan.addr)]
        } else {
            plan.families.clone()
        };
        cfg.route_refresh = true;
        cfg.graceful_restart = self.local.graceful_restart.map(|(t, r)| GrConfig {
            restart_time: t,
            restarting: r,
            forwarding_preserved: true,
        });
        cfg.accept_zero_hold_time = self.local.accept_zero_holdtime;
        cfg.prefix_limit_restart = self.local.prefix_limit_restart;
        cfg.max_send_buffer = self.local.max_send_buffer;
        cfg
    }

    pub(super) fn rib_info(
        &self,
        plan: &PeerPlan,
        neg: Option<&fsm::Negotiated>,
        local: Option<IpAddr>,
    ) -> PeerInfo {
        let mut v4 = self.local.best_v4;
        let mut v6 = self.local.best_v6;
        match local.or(plan.local_addr) {
            Some(IpAddr::V4(a)) => v4 = Some(a),
            Some(IpAddr::V6(a)) => v6 = Some(a),
            None => {}
        }
        PeerInfo {
            addr: plan.addr,
            remote_asn: neg.map(|n| n.remote_asn).unwrap_or(plan.remote_asn),
            local_asn: plan.local_asn,
            router_id: neg
                .map(|n| n.remote_router_id)
                .unwrap_or(Ipv4Addr::UNSPECIFIED),
            ibgp: neg
                .map(|n| n.ibgp)
                .unwrap_or(plan.remote_asn == plan.local_asn),
            rr_client: plan.rr_client,
            families: neg
                .map(|n| n.families.clone())
                .unwrap_or_else(|| plan.families.clone()),
            local_addr_v4: v4,
            local_addr_v6: v6,
            next_hop_self: false,
        }
    }

    /// Makes the configured peer set equal to `plans`: adds, removes and changes peers
    /// in place. A change that BGP cannot apply to a running session (ASN, families,
    /// transport: port, source address, TTL, password) resets only that session.
    pub(crate) fn set_peers(&mut self, plans: &[PeerPlan], now: Instant) {
        let wanted: BTreeMap<IpAddr, &PeerPlan> = plans.iter().map(|p| (p.addr, p)).collect();
        let gone: Vec<IpAddr> = self
            .peers
            .keys()
            .filter(|a| !wanted.contains_key(a))
            .copied()
            .collect();
        for addr in gone {
            self.remove_peer(addr, now);
        }
        for (addr, plan) in wanted {
            match self.peers.get(&addr) {
                None => self.add_peer(plan.clone(), now),
                Some(slot) if slot.plan == *plan => {}
                Some(slot) => {
                    let old = slot.plan.clone();
                    self.change_peer(old, plan.clone(), now);
                }
            }
        }
    }

    fn add_peer(&mut self, plan: PeerPlan, now: Instant) {
        let cfg = self.fsm_config(&plan);
        self.seed = self
            .seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let fsm = match fsm::Peer::new(cfg, self.seed) {
            Ok(f) => f,
            Err(e) => {
                error!("bgp", "peer {}: cannot configure: {e}", plan.addr);
                return;
            }
        };
        let info = self.rib_info(&plan, None, None);
        let rib_id = self.rib.add_peer(info);
        if let Some(key) = passwd(&plan) {
            if key.last() == Some(&b'\n') {
                warn!(
                    "bgp",
                    "peer {}: the TCP-MD5 password ends with a newline; it is used as is (as kube-router does)",
                    plan.addr
                );
            }
        }
        self.set_keys(plan.addr, plan.password.clone());
        info!(
            "bgp",
            "peer {} added: AS {} {} port {}{}{}",
            plan.addr,
            plan.remote_asn,
            kind_name(&plan.kind),
            plan.port,
            if plan.rr_client { " rr-client" } else { "" },
            if plan.password.is_some() { " md5" } else { "" }
        );
        let addr = plan.addr;
        let plan_limit = plan.prefix_limit;
        self.by_rib.insert(rib_id, addr);
        self.peers.insert(
            addr,
            PeerSlot {
                plan,
                fsm,
                rib_id,
                conns: HashMap::new(),
                stats: PeerStats {
                    state_since: Some(now),
                    ..PeerStats::default()
                },
                stale_deadline: None,
                limiter: PrefixLimiter::new(plan_limit),
                log_gate: LogGate::new(LOG_WINDOW, LOG_BURST),
                admin_down: None,
            },
        );
        self.input(addr, Input::Start, now);
    }

    fn set_keys(&mut self, addr: IpAddr, key: Option<Password>) {
        self.ops.push_back(SocketOp::SetKey { peer: addr, key });
    }

    fn remove_peer(&mut self, addr: IpAddr, now: Instant) {
        self.input(
            addr,
            Input::Stop {
                cease: NotificationCode::CeasePeerDeconfigured,
            },
            now,
        );
        if let Some(slot) = self.peers.remove(&addr) {
            // The Stop closed every connection (their Cease is written from the closing
            // list); anything left goes now.
            // In connection order, not the map's: what the sockets do stays the same
            // from run to run.
            let mut conns: Vec<_> = slot.conns.keys().copied().collect();
            conns.sort_unstable();
            for conn in conns {
                self.ops.push_back(SocketOp::Abort {
                    key: ConnKey { peer: addr, conn },
                });
            }
            rib_outcome(addr, "peer removal", self.rib.remove_peer(slot.rib_id));
            self.by_rib.remove(&slot.rib_id);
            self.timers.cancel(&TimerKey::Fsm(addr));
            self.timers.cancel(&TimerKey::Stale(addr));
            self.set_keys(addr, None);
            info!("bgp", "peer {addr} removed");
        }
    }

    fn change_peer(&mut self, old: PeerPlan, new: PeerPlan, now: Instant) {
        let addr = new.addr;
        let transport = old.port != new.port
            || old.local_addr != new.local_addr
            || old.ttl != new.ttl
            || old.min_ttl != new.min_ttl
            || old.password != new.password;
        if old.password != new.password {
            self.set_keys(addr, new.password.clone());
        }
        let cfg = self.fsm_config(&new);
        let Some(slot) = self.peers.get_mut(&addr) else {
            return;
        };
        slot.plan = new.clone();
        let rr_changed = old.rr_client != new.rr_client;
        let neg = slot.fsm.negotiated().cloned();
        let local = slot.stats.local_addr;
        let rib_id = slot.rib_id;
        let mut outputs = Vec::new();
        if slot.fsm.config().open_differs(&cfg) || slot.fsm.config() != &cfg {
            match slot.fsm.reconfigure(cfg, now) {
                Ok((reset, outs)) => {
                    if reset {
                        info!(
                            "bgp",
                            "peer {addr}: session reset to apply a changed ASN, family or capability"
                        );
                    }
                    outputs = outs;
                }
                Err(e) => error!("bgp", "peer {addr}: cannot reconfigure: {e}"),
            }
        }
        if rr_changed {
            info!(
                "bgp",
                "peer {addr}: route-reflector client {} (session kept)",
                if new.rr_client { "on" } else { "off" }
            );
        }
        if rr_changed || old.kind != new.kind {
            let info = self.rib_info(&new, neg.as_ref(), local);
            rib_outcome(addr, "peer change", self.rib.update_peer(rib_id, info));
        }
        self.run_outputs(addr, outputs, now);
        if old.prefix_limit != new.prefix_limit {
            if let Some(slot) = self.peers.get_mut(&addr) {
                slot.limiter.set_limit(new.prefix_limit);
            }
            // A lower limit applies to what the peer already sent.
            for afi in [Afi::Ipv4, Afi::Ipv6] {
                let outs = self.check_limit(addr, afi, now);
                self.run_outputs(addr, outs, now);
            }
        }
        if transport {
            info!(
                "bgp",
                "peer {addr}: transport settings changed (port, source, TTL or password); reconnecting"
            );
            self.input(
                addr,
                Input::Stop {
                    cease: NotificationCode::CeaseConfigChange,
                },
                now,
            );
            // A peer disabled by an operator stays down.
            if self
                .peers
                .get(&addr)
                .is_some_and(|p| p.admin_down.is_none())
            {
                self.input(addr, Input::Start, now);
            }
        }
    }
}
