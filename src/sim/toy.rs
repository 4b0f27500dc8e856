//! A toy cluster for the driver's own tests: agents that read the API like the real
//! one and "peer" by fiat, so the driver, the oracle and the minimisation can be tested
//! without the real daemon.
//!
//! Owns toy agents (a `Snapshot` each), their kernels and the set of cut links. A toy
//! agent peers with every other node of its snapshot (full mesh only) whose agent runs
//! and knows it back over a link that is not cut; its kernel holds the pod CIDRs of its
//! peers, and with graceful restart keeps a vanished peer's routes for the restart
//! time. `ToyBug` plants known bugs so the tests can see the driver catch them. Must
//! not be used for anything but testing the simulator.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::kernel::sim::RouteHop;
use crate::kube::snapshot::{KubeEvent, Snapshot};
use crate::prefix::Prefix;

use super::api::SimNode;
use super::driver::World;
use super::faults::StopKind;
use super::oracle::{AgentFlags, pair};

/// A planted bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ToyBug {
    None,
    /// Routes of nodes that left the snapshot stay in the kernel.
    KeepDeletedRoutes,
    /// A stop drops the kernel's routes even under graceful restart.
    FlushOnStop,
    /// Every turn removes other programs' routes.
    DropForeign,
}

struct ToyAgent {
    snapshot: Snapshot,
    ip: IpAddr,
    /// A turn a second.
    next_turn: Instant,
}

struct ToyHost {
    kernel: BTreeMap<Prefix, IpAddr>,
    foreign: BTreeMap<Prefix, IpAddr>,
    agent: Option<ToyAgent>,
    /// Graceful restart: when routes learned from a peer that went away are dropped.
    stale_until: BTreeMap<IpAddr, Instant>,
}

pub(crate) struct ToyWorld {
    hosts: BTreeMap<String, ToyHost>,
    cut: BTreeSet<(IpAddr, IpAddr)>,
    graceful_restart: Option<Duration>,
    bug: ToyBug,
}

impl ToyWorld {
    pub(crate) fn new(graceful_restart: Option<Duration>, bug: ToyBug) -> ToyWorld {
        ToyWorld {
            hosts: BTreeMap::new(),
            cut: BTreeSet::new(),
            graceful_restart,
            bug,
        }
    }

    /// The node addresses `name`'s agent knows, by node name.
    fn known(&self, name: &str) -> BTreeMap<String, (IpAddr, Option<Prefix>)> {
        let Some(a) = self.hosts.get(name).and_then(|h| h.agent.as_ref()) else {
            return BTreeMap::new();
        };
        a.snapshot
            .nodes
            .iter()
            .filter_map(|(n, node)| {
                let ip = node
                    .status
                    .addresses
                    .iter()
                    .find(|x| x.type_ == "InternalIP")?
                    .address
                    .parse()
                    .ok()?;
                Some((n.clone(), (ip, node.spec.pod_cidr.parse().ok())))
            })
            .collect()
    }

    /// Whether `a` and `b` have a session: both agents run, know each other at their
    /// current addresses, and the link is up.
    fn peered(&self, a: &str, b: &str) -> bool {
        let (Some(ia), Some(ib)) = (self.agent_ip(a), self.agent_ip(b)) else {
            return false;
        };
        a != b
            && self.known(a).get(b).map(|x| x.0) == Some(ib)
            && self.known(b).get(a).map(|x| x.0) == Some(ia)
            && !self.cut.contains(&pair(ia, ib))
    }

    fn agent_ip(&self, name: &str) -> Option<IpAddr> {
        self.hosts.get(name)?.agent.as_ref().map(|a| a.ip)
    }
}

impl World for ToyWorld {
    /// The toy knows no flags: its scenarios change none (`Reconfigure` faults become
    /// plain restarts).
    fn start(&mut self, node: &SimNode, _flags: AgentFlags, fresh_kernel: bool, now: Instant) {
        let h = self.hosts.entry(node.name.clone()).or_insert(ToyHost {
            kernel: BTreeMap::new(),
            foreign: BTreeMap::new(),
            agent: None,
            stale_until: BTreeMap::new(),
        });
        if fresh_kernel {
            h.kernel.clear();
            h.foreign.clear();
        }
        h.agent = Some(ToyAgent {
            snapshot: Snapshot::new(),
            ip: node.internal_ip,
            next_turn: now,
        });
    }

    fn stop(&mut self, name: &str, _how: StopKind, now: Instant) {
        let gr = self.graceful_restart;
        let bug = self.bug;
        let Some(ip) = self.agent_ip(name) else {
            return;
        };
        if let Some(h) = self.hosts.get_mut(name) {
            h.agent = None;
            if gr.is_none() || bug == ToyBug::FlushOnStop {
                h.kernel.clear();
            }
        }
        // With graceful restart its peers keep its routes for the restart time; without,
        // their next turn drops them (no session).
        if let Some(t) = gr {
            for h in self.hosts.values_mut() {
                h.stale_until.insert(ip, now + t);
            }
        }
    }

    fn running(&self, name: &str) -> bool {
        self.hosts.get(name).is_some_and(|h| h.agent.is_some())
    }

    fn deliver(&mut self, name: &str, events: Vec<KubeEvent>, _now: Instant) {
        if let Some(a) = self.hosts.get_mut(name).and_then(|h| h.agent.as_mut()) {
            for e in events {
                a.snapshot.apply(e);
            }
        }
    }

    fn turn(&mut self, name: &str, now: Instant) {
        if let Some(a) = self.hosts.get_mut(name).and_then(|h| h.agent.as_mut()) {
            a.next_turn = now + Duration::from_secs(1);
        }
        let listed = self
            .hosts
            .get(name)
            .and_then(|h| h.agent.as_ref())
            .is_some_and(|a| a.snapshot.all_listed());
        if !listed {
            return;
        }
        let known = self.known(name);
        let peers: BTreeMap<IpAddr, Option<Prefix>> = known
            .iter()
            .filter(|(n, _)| self.peered(name, n))
            .map(|(_, (ip, p))| (*ip, *p))
            .collect();
        let addrs: BTreeSet<IpAddr> = known.values().map(|x| x.0).collect();
        let bug = self.bug;
        let Some(h) = self.hosts.get_mut(name) else {
            return;
        };
        h.stale_until
            .retain(|ip, t| *t > now && !peers.contains_key(ip));
        if bug == ToyBug::DropForeign {
            h.foreign.clear();
        }
        let stale = &h.stale_until;
        h.kernel.retain(|_, gw| {
            peers.contains_key(gw)
                || stale.contains_key(gw)
                || (bug == ToyBug::KeepDeletedRoutes && !addrs.contains(gw))
        });
        for (ip, p) in peers {
            if let Some(p) = p.filter(|p| !h.foreign.contains_key(p)) {
                h.kernel.insert(p, ip);
            }
        }
    }

    fn poll_at(&mut self, name: &str, _now: Instant) -> Option<Instant> {
        Some(self.hosts.get(name)?.agent.as_ref()?.next_turn)
    }

    fn busy(&self, _name: &str) -> bool {
        false
    }

    fn kernel_routes(&self, name: &str) -> BTreeMap<Prefix, RouteHop> {
        self.hosts
            .get(name)
            .map(|h| {
                h.kernel
                    .iter()
                    .map(|(p, gw)| (*p, RouteHop::Via(*gw)))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn sessions(&self) -> Vec<(IpAddr, IpAddr)> {
        let names: Vec<&String> = self.hosts.keys().collect();
        let mut out = Vec::new();
        for (i, a) in names.iter().enumerate() {
            for b in &names[i + 1..] {
                if self.peered(a, b) {
                    if let (Some(ia), Some(ib)) = (self.agent_ip(a), self.agent_ip(b)) {
                        out.push(pair(ia, ib));
                    }
                }
            }
        }
        out
    }

    fn cut(&mut self, a: IpAddr, b: IpAddr) {
        self.cut.insert(pair(a, b));
    }

    fn heal(&mut self, a: IpAddr, b: IpAddr) {
        self.cut.remove(&pair(a, b));
    }

    fn reset(&mut self, _a: IpAddr, _b: IpAddr) {}

    fn kernel_fail(&mut self, _name: &str, _n: usize) {}

    fn established(&self, name: &str) -> BTreeSet<IpAddr> {
        let Some(me) = self.agent_ip(name) else {
            return BTreeSet::new();
        };
        self.sessions()
            .into_iter()
            .filter_map(|(a, b)| {
                if a == me {
                    Some(b)
                } else if b == me {
                    Some(a)
                } else {
                    None
                }
            })
            .collect()
    }

    fn add_foreign(&mut self, name: &str, prefix: Prefix, gateway: IpAddr) {
        if let Some(h) = self.hosts.get_mut(name) {
            h.foreign.insert(prefix, gateway);
            h.kernel.remove(&prefix);
        }
    }

    fn foreign_routes(&self, name: &str) -> BTreeMap<Prefix, IpAddr> {
        self.hosts
            .get(name)
            .map(|h| h.foreign.clone())
            .unwrap_or_default()
    }

    fn lose_notifications(&mut self, _name: &str, _lose: bool) {}
}
