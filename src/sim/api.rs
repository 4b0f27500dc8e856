//! The simulated API server: Node objects with resourceVersions, and per agent the
//! watch streams its reader threads would turn into `KubeEvent`s.
//!
//! Owns the cluster's Node objects (name, InternalIPs, pod CIDRs, `kube-router.io/*`
//! annotations) and one [`WatchFeed`] per running agent. Objects are built as JSON and
//! decoded by the crate's own decoder (`KubeObject::from_value`), as the reader threads
//! do. A feed behaves like the reflectors of `kube::watch`: a list of every kind
//! (`Replaced`; Service and EndpointSlice lists are empty here) when the agent starts,
//! then `Upsert`/`Delete` after a per-agent latency; an outage holds events and ends in
//! a resumed watch (held events delivered) or a relist (`Status Unreachable`, then
//! `Replaced`); a 410 is `Status Relisting` and a relist. Must not know the agents.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::kube::objects::{Item, KubeObject, ResourceKind};
use crate::kube::snapshot::{KubeEvent, SyncState};
use crate::prefix::Prefix;

/// How long a reflector waits before it relists after a 410 or a failed watch (its
/// first backoff, 0.8 s plus jitter).
pub(crate) const RELIST_BACKOFF: Duration = Duration::from_millis(900);

/// One Node as the simulator keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SimNode {
    pub(crate) name: String,
    /// The first InternalIP: the node's primary address (sessions between nodes use it).
    pub(crate) internal_ip: IpAddr,
    /// `spec.podCIDR`, the first of `spec.podCIDRs` (of the primary address's family).
    pub(crate) pod_cidr: Prefix,
    /// A dual-stack node's second InternalIP, of the other family.
    pub(crate) other_ip: Option<IpAddr>,
    /// A dual-stack node's second pod CIDR (`spec.podCIDRs[1]`), of the other family.
    pub(crate) other_pod_cidr: Option<Prefix>,
    /// `kube-router.io/*` annotations (and any other).
    pub(crate) annotations: BTreeMap<String, String>,
}

impl SimNode {
    /// The node's InternalIPs, primary first.
    pub(crate) fn ips(&self) -> impl Iterator<Item = IpAddr> + '_ {
        std::iter::once(self.internal_ip).chain(self.other_ip)
    }

    /// The node's address of family `v6`, if it has one.
    pub(crate) fn ip_of_family(&self, v6: bool) -> Option<IpAddr> {
        self.ips().find(|a| a.is_ipv6() == v6)
    }

    /// The node's pod CIDRs, `spec.podCIDRs` in order.
    pub(crate) fn pod_cidrs(&self) -> impl Iterator<Item = Prefix> + '_ {
        std::iter::once(self.pod_cidr).chain(self.other_pod_cidr)
    }

    /// The object's JSON as the API server would serve it at resourceVersion `rv`.
    fn to_json(&self, rv: u64) -> serde_json::Value {
        let mut addresses: Vec<serde_json::Value> = self
            .ips()
            .map(|a| json!({"type": "InternalIP", "address": a.to_string()}))
            .collect();
        addresses.push(json!({"type": "Hostname", "address": self.name}));
        let cidrs: Vec<String> = self.pod_cidrs().map(|p| p.to_string()).collect();
        json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.name,
                "resourceVersion": rv.to_string(),
                "labels": {"kubernetes.io/hostname": self.name},
                "annotations": self.annotations,
            },
            "spec": {
                "podCIDR": self.pod_cidr.to_string(),
                "podCIDRs": cidrs,
            },
            "status": {
                "addresses": addresses,
            },
        })
    }

    /// The object decoded by the crate's decoder, as a reader thread would hand it on.
    fn to_object(&self, rv: u64) -> Result<KubeObject, ApiError> {
        match KubeObject::from_value(ResourceKind::Node, self.to_json(rv)) {
            Item::Ok(o) => Ok(o),
            Item::Bad { who, error } => Err(ApiError::Decode(format!("{who}: {error}"))),
        }
    }
}

/// What the simulated API server refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ApiError {
    /// A Node the simulator built does not decode (a simulator bug).
    Decode(String),
    NoSuchNode(String),
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Decode(e) => write!(f, "simulated Node does not decode: {e}"),
            ApiError::NoSuchNode(n) => write!(f, "no Node {n}"),
        }
    }
}

/// A watch change before it reaches a feed.
#[derive(Clone, Debug)]
enum Change {
    Upsert(KubeObject),
    Delete(KubeObject),
}

/// What waits in a feed for its time.
#[derive(Clone, Debug)]
enum Pending {
    Event(Box<KubeEvent>),
    /// A list of every kind, read from the server's state when it is delivered.
    ListAll,
}

/// How an outage ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OutageEnd {
    /// The watch resumes from its resourceVersion: held events arrive in order.
    Resume,
    /// The resume failed: the reflector reported the API unreachable and relists.
    Relist,
}

/// One agent's watch streams (all kinds), as its reader threads would deliver them.
#[derive(Clone, Debug)]
struct WatchFeed {
    latency: Duration,
    queue: VecDeque<(Instant, Pending)>,
    /// During an outage: how it ends, and the events held meanwhile.
    outage: Option<(OutageEnd, Vec<KubeEvent>)>,
    /// A relist is due at this time: changes before it are covered by the list.
    relist_at: Option<Instant>,
}

impl WatchFeed {
    fn push(&mut self, at: Instant, p: Pending) {
        // Time order is kept by construction (one latency per feed; see `on_change`).
        self.queue.push_back((at, p));
    }

    fn on_change(&mut self, ev: KubeEvent, now: Instant) {
        if let Some((_, held)) = self.outage.as_mut() {
            held.push(ev);
            return;
        }
        if self.relist_at.is_some_and(|t| now < t) {
            return;
        }
        self.push(now + self.latency, Pending::Event(Box::new(ev)));
    }
}

/// The API server's Node objects and the agents' feeds.
#[derive(Clone, Debug, Default)]
pub(crate) struct SimApi {
    nodes: BTreeMap<String, (SimNode, u64)>,
    rv: u64,
    feeds: BTreeMap<String, WatchFeed>,
}

impl SimApi {
    pub(crate) fn new() -> SimApi {
        SimApi::default()
    }

    /// The current Node objects, by name.
    pub(crate) fn nodes(&self) -> impl Iterator<Item = &SimNode> {
        self.nodes.values().map(|(n, _)| n)
    }

    pub(crate) fn node(&self, name: &str) -> Option<&SimNode> {
        self.nodes.get(name).map(|(n, _)| n)
    }

    /// Creates or replaces a Node (a new resourceVersion); every feed gets an `Upsert`.
    pub(crate) fn put_node(&mut self, node: SimNode, now: Instant) -> Result<(), ApiError> {
        self.rv += 1;
        let obj = node.to_object(self.rv)?;
        self.nodes.insert(node.name.clone(), (node, self.rv));
        self.broadcast(Change::Upsert(obj), now);
        Ok(())
    }

    /// Deletes a Node; every feed gets a `Delete` with its last state.
    pub(crate) fn delete_node(&mut self, name: &str, now: Instant) -> Result<SimNode, ApiError> {
        let Some((node, _)) = self.nodes.remove(name) else {
            return Err(ApiError::NoSuchNode(name.to_string()));
        };
        self.rv += 1;
        let obj = node.to_object(self.rv)?;
        self.broadcast(Change::Delete(obj), now);
        Ok(node)
    }

    fn broadcast(&mut self, c: Change, now: Instant) {
        for f in self.feeds.values_mut() {
            let ev = match &c {
                Change::Upsert(o) => KubeEvent::Upsert(o.clone()),
                Change::Delete(o) => KubeEvent::Delete(o.clone()),
            };
            f.on_change(ev, now);
        }
    }

    /// An agent (re)started: its reader threads list every kind, then watch. A feed it
    /// had before (a crashed process's) is gone.
    pub(crate) fn connect(&mut self, agent: &str, latency: Duration, now: Instant) {
        let mut f = WatchFeed {
            latency,
            queue: VecDeque::new(),
            outage: None,
            relist_at: Some(now + latency),
        };
        f.push(now + latency, Pending::ListAll);
        self.feeds.insert(agent.to_string(), f);
    }

    /// The agent is gone: nothing more is delivered to it.
    pub(crate) fn disconnect(&mut self, agent: &str) {
        self.feeds.remove(agent);
    }

    /// The agent's watches break and cannot reconnect until [`SimApi::outage_end`].
    /// With `OutageEnd::Relist`, its reflectors report the API unreachable after their
    /// first backoff.
    pub(crate) fn outage_start(&mut self, agent: &str, end: OutageEnd, now: Instant) {
        let Some(f) = self.feeds.get_mut(agent) else {
            return;
        };
        if f.outage.is_some() {
            return;
        }
        f.outage = Some((end, Vec::new()));
        if end == OutageEnd::Relist {
            let at = now + RELIST_BACKOFF + f.latency;
            for kind in ResourceKind::ALL {
                f.push(
                    at,
                    Pending::Event(Box::new(KubeEvent::Status {
                        kind,
                        state: SyncState::Unreachable {
                            error: "connection refused (simulated outage)".into(),
                        },
                    })),
                );
            }
        }
    }

    /// The outage is over: held events follow, or a relist.
    pub(crate) fn outage_end(&mut self, agent: &str, now: Instant) {
        let Some(f) = self.feeds.get_mut(agent) else {
            return;
        };
        let Some((end, held)) = f.outage.take() else {
            return;
        };
        // Whatever is queued (an Unreachable status) comes before what follows.
        let after = f.queue.back().map(|(t, _)| *t).unwrap_or(now);
        let at = (now + f.latency).max(after);
        match end {
            OutageEnd::Resume => {
                for ev in held {
                    f.push(at, Pending::Event(Box::new(ev)));
                }
            }
            OutageEnd::Relist => {
                f.relist_at = Some(at);
                f.push(at, Pending::ListAll);
            }
        }
    }

    /// A 410 on the agent's Node watch: `Relisting`, then after the backoff a relist.
    pub(crate) fn gone(&mut self, agent: &str, now: Instant) {
        let Some(f) = self.feeds.get_mut(agent) else {
            return;
        };
        if f.outage.is_some() {
            // Nothing reaches the agent during an outage; its end decides.
            return;
        }
        let after = f.queue.back().map(|(t, _)| *t).unwrap_or(now);
        let at = (now + f.latency).max(after);
        f.push(
            at,
            Pending::Event(Box::new(KubeEvent::Status {
                kind: ResourceKind::Node,
                state: SyncState::Relisting,
            })),
        );
        let list_at = at + RELIST_BACKOFF;
        f.relist_at = Some(list_at);
        f.push(list_at, Pending::ListAll);
    }

    /// When the agent's next event is due.
    pub(crate) fn next_at(&self, agent: &str) -> Option<Instant> {
        self.feeds.get(agent)?.queue.front().map(|(t, _)| *t)
    }

    /// The agent's events due at `now`, in order; lists read the current objects.
    pub(crate) fn take_due(
        &mut self,
        agent: &str,
        now: Instant,
    ) -> Result<Vec<KubeEvent>, ApiError> {
        let mut out = Vec::new();
        let Some(f) = self.feeds.get_mut(agent) else {
            return Ok(out);
        };
        let mut lists = 0;
        while f.queue.front().is_some_and(|(t, _)| *t <= now) {
            let Some((_, p)) = f.queue.pop_front() else {
                break;
            };
            match p {
                Pending::Event(ev) => out.push(*ev),
                Pending::ListAll => {
                    lists += 1;
                    out.push(KubeEvent::Replaced {
                        kind: ResourceKind::Node,
                        objects: Vec::new(),
                    });
                    for kind in [ResourceKind::Service, ResourceKind::EndpointSlice] {
                        out.push(KubeEvent::Replaced {
                            kind,
                            objects: Vec::new(),
                        });
                    }
                }
            }
        }
        if f.relist_at.is_some_and(|t| t <= now) {
            f.relist_at = None;
        }
        if lists > 0 {
            let mut objects = Vec::with_capacity(self.nodes.len());
            for (n, rv) in self.nodes.values() {
                objects.push(n.to_object(*rv)?);
            }
            for ev in out.iter_mut() {
                if let KubeEvent::Replaced {
                    kind: ResourceKind::Node,
                    objects: o,
                } = ev
                {
                    *o = objects.clone();
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::snapshot::Snapshot;

    fn node(name: &str, ip: &str, cidr: &str) -> SimNode {
        SimNode {
            name: name.into(),
            internal_ip: ip.parse().unwrap(),
            pod_cidr: cidr.parse().unwrap(),
            other_ip: None,
            other_pod_cidr: None,
            annotations: BTreeMap::new(),
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Applies everything due up to `t` to `snap`.
    fn feed(api: &mut SimApi, snap: &mut Snapshot, agent: &str, t: Instant) -> Vec<String> {
        let evs = api.take_due(agent, t).unwrap();
        let kinds = evs
            .iter()
            .map(|e| match e {
                KubeEvent::Replaced { kind, objects } => format!("list {kind} {}", objects.len()),
                KubeEvent::Upsert(o) => format!("upsert {}", o.metadata().name),
                KubeEvent::Delete(o) => format!("delete {}", o.metadata().name),
                KubeEvent::Status { kind, state } => format!("status {kind} {state:?}"),
            })
            .collect();
        for e in evs {
            snap.apply(e);
        }
        kinds
    }

    #[test]
    fn list_then_watch_events_after_the_latency() {
        let t0 = Instant::now();
        let mut api = SimApi::new();
        api.put_node(node("a", "10.0.0.1", "10.244.1.0/24"), t0)
            .unwrap();
        api.connect("a", ms(10), t0);
        assert_eq!(api.next_at("a"), Some(t0 + ms(10)));
        let mut snap = Snapshot::new();
        assert!(feed(&mut api, &mut snap, "a", t0 + ms(9)).is_empty());
        assert_eq!(
            feed(&mut api, &mut snap, "a", t0 + ms(10)),
            ["list Node 1", "list Service 0", "list EndpointSlice 0"]
        );
        assert!(
            snap.all_listed(),
            "every kind the daemon waits for is listed"
        );
        let n = &snap.nodes["a"];
        assert_eq!(n.spec.pod_cidr, "10.244.1.0/24");
        assert_eq!(n.status.addresses[0].address, "10.0.0.1");
        let mut b = node("b", "10.0.0.2", "10.244.2.0/24");
        b.annotations
            .insert("kube-router.io/rr.client".into(), "10.0.0.9".into());
        api.put_node(b, t0 + ms(20)).unwrap();
        api.delete_node("a", t0 + ms(25)).unwrap();
        assert_eq!(
            feed(&mut api, &mut snap, "a", t0 + ms(40)),
            ["upsert b", "delete a"]
        );
        assert_eq!(snap.nodes.keys().collect::<Vec<_>>(), ["b"]);
        assert_eq!(
            snap.nodes["b"].metadata.annotations["kube-router.io/rr.client"],
            "10.0.0.9"
        );
        assert_eq!(
            api.delete_node("zz", t0),
            Err(ApiError::NoSuchNode("zz".into()))
        );
    }

    #[test]
    fn changes_before_a_start_list_are_in_the_list_not_repeated() {
        let t0 = Instant::now();
        let mut api = SimApi::new();
        api.connect("a", ms(10), t0);
        api.put_node(node("a", "10.0.0.1", "10.244.1.0/24"), t0 + ms(5))
            .unwrap();
        let evs = api.take_due("a", t0 + ms(30)).unwrap();
        assert_eq!(evs.len(), 3, "{evs:?}");
        let KubeEvent::Replaced { objects, .. } = &evs[0] else {
            panic!("{evs:?}")
        };
        assert_eq!(objects.len(), 1);
        assert_eq!(objects[0].metadata().resource_version, "1");
    }

    #[test]
    fn outage_resumes_with_held_events_or_relists() {
        let t0 = Instant::now();
        let mut api = SimApi::new();
        api.put_node(node("a", "10.0.0.1", "10.244.1.0/24"), t0)
            .unwrap();
        api.connect("a", ms(10), t0);
        api.connect("b", ms(10), t0);
        let (mut sa, mut sb) = (Snapshot::new(), Snapshot::new());
        feed(&mut api, &mut sa, "a", t0 + ms(10));
        feed(&mut api, &mut sb, "b", t0 + ms(10));
        let t1 = t0 + Duration::from_secs(1);
        api.outage_start("a", OutageEnd::Resume, t1);
        api.outage_start("b", OutageEnd::Relist, t1);
        api.put_node(node("c", "10.0.0.3", "10.244.3.0/24"), t1 + ms(1))
            .unwrap();
        api.delete_node("c", t1 + ms(2)).unwrap();
        api.put_node(node("d", "10.0.0.4", "10.244.4.0/24"), t1 + ms(3))
            .unwrap();
        let t2 = t1 + Duration::from_secs(5);
        assert!(feed(&mut api, &mut sa, "a", t2).is_empty(), "held");
        assert_eq!(
            feed(&mut api, &mut sb, "b", t2),
            [
                "status Node Unreachable { error: \"connection refused (simulated outage)\" }",
                "status Service Unreachable { error: \"connection refused (simulated outage)\" }",
                "status EndpointSlice Unreachable { error: \"connection refused (simulated outage)\" }",
            ]
        );
        api.outage_end("a", t2);
        api.outage_end("b", t2);
        assert_eq!(
            feed(&mut api, &mut sa, "a", t2 + ms(10)),
            ["upsert c", "delete c", "upsert d"]
        );
        assert_eq!(
            feed(&mut api, &mut sb, "b", t2 + ms(10)),
            ["list Node 2", "list Service 0", "list EndpointSlice 0"]
        );
        assert_eq!(sa.nodes, sb.nodes);
    }

    #[test]
    fn gone_relists_after_the_backoff_and_drops_what_the_list_covers() {
        let t0 = Instant::now();
        let mut api = SimApi::new();
        api.put_node(node("a", "10.0.0.1", "10.244.1.0/24"), t0)
            .unwrap();
        api.connect("a", ms(10), t0);
        let mut s = Snapshot::new();
        feed(&mut api, &mut s, "a", t0 + ms(10));
        let t1 = t0 + Duration::from_secs(1);
        api.gone("a", t1);
        api.put_node(node("b", "10.0.0.2", "10.244.2.0/24"), t1 + ms(100))
            .unwrap();
        assert_eq!(
            feed(&mut api, &mut s, "a", t1 + ms(10)),
            ["status Node Relisting"]
        );
        assert_eq!(
            feed(&mut api, &mut s, "a", t1 + Duration::from_secs(2)),
            ["list Node 2", "list Service 0", "list EndpointSlice 0"]
        );
        api.put_node(
            node("c", "10.0.0.3", "10.244.3.0/24"),
            t1 + Duration::from_secs(3),
        )
        .unwrap();
        assert_eq!(
            feed(&mut api, &mut s, "a", t1 + Duration::from_secs(4)),
            ["upsert c"]
        );
        api.disconnect("a");
        assert_eq!(api.next_at("a"), None);
    }
}
