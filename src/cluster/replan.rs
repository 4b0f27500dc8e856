//! Incremental planning: the same [`Plan`] as [`super::plan`], recomputing only what the
//! objects changed since the last plan reach (the snapshot's [`SnapshotChanges`]).
//!
//! Owns the per-object results a plan is assembled from: each Node's model and the
//! session to it, each Service's VIPs and the pod CIDR owner index. It keeps no index of
//! EndpointSlices: the snapshot says which Services its changed slices named
//! (`SnapshotChanges::slice_services`), and a Service's slices are read from the
//! snapshot when its VIPs are recomputed (one pass over the slices when many are). A Node change recomputes that Node (its model, its session, the
//! owners of its pod CIDRs); a Service or EndpointSlice change recomputes that Service's
//! VIPs; a change of the local Node recomputes every session and VIP; new settings or a
//! new local name start from scratch. Assembling the plan copies cached results (no
//! parsing, no formatting). Pure like the rest of `cluster`: no I/O, no clock; what it
//! keeps between calls is only a cache of [`super::plan`]'s intermediate results, which
//! stays the reference this must equal (tested on random change sequences).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::adverts::Originated;
use super::node::NodeModel;
use super::peers::{self, PeerPlan};
use super::rules::{self, PodCidrOwners, VipSet};
use super::{KernelFacts, Plan, PodNetwork, Problem, Settings, adverts};
use crate::kube::objects::EndpointSlice;
use crate::kube::snapshot::{NsName, Snapshot, SnapshotChanges};
use crate::prefix::Prefix;

/// One Node as last read, with the problems its annotations gave.
#[derive(Debug)]
struct NodeEntry {
    model: NodeModel,
    problems: Vec<Problem>,
}

/// The session to one node (if any), with the problems deciding it gave.
#[derive(Debug)]
struct PeerEntry {
    peer: Option<PeerPlan>,
    problems: Vec<Problem>,
}

/// The VIPs one Service makes this node advertise, with its problems.
#[derive(Debug)]
struct ServiceEntry {
    vips: Vips,
    problems: Vec<Problem>,
}

/// A Service's VIPs, sorted and distinct. Mostly one, kept inline: ten thousand
/// Services cost no allocation for them.
#[derive(Debug, Default)]
enum Vips {
    #[default]
    None,
    One(IpAddr),
    Many(Box<[IpAddr]>),
}

impl Vips {
    fn new(sorted: BTreeSet<IpAddr>) -> Vips {
        let mut it = sorted.iter();
        match (it.next(), it.next()) {
            (None, _) => Vips::None,
            (Some(ip), None) => Vips::One(*ip),
            _ => Vips::Many(sorted.into_iter().collect()),
        }
    }

    fn as_slice(&self) -> &[IpAddr] {
        match self {
            Vips::None => &[],
            Vips::One(ip) => std::slice::from_ref(ip),
            Vips::Many(ips) => ips,
        }
    }
}

/// The plan's parts made of the VIP set: its routes, the set the import rules hold and
/// the problems of VIPs of a family the node has no address of.
#[derive(Debug)]
struct VipOutput {
    routes: Vec<Originated>,
    set: VipSet,
    problems: Vec<Problem>,
}

/// How many objects the last plan recomputed (what a change cost).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Work {
    /// Nodes read again (models and pod CIDR owners).
    pub(crate) nodes: usize,
    /// Sessions to nodes decided again.
    pub(crate) sessions: usize,
    /// Services whose VIPs were decided again.
    pub(crate) services: usize,
}

/// The cache behind incremental plans (see the module documentation).
#[derive(Debug, Default)]
pub struct Planner {
    /// The settings and local node name the cache was built for.
    basis: Option<(Settings, String)>,
    nodes: BTreeMap<String, NodeEntry>,
    /// Pod CIDRs owned by all nodes, counted as the node prefix limit counts them.
    owned_total: usize,
    /// Which nodes own each pod CIDR, as (CIDR, node) pairs (mostly one per CIDR).
    cidr_nodes: BTreeSet<(Prefix, String)>,
    owners: PodCidrOwners,
    /// Every node's pod CIDRs and addresses, with how many nodes have each.
    cluster_cidrs: BTreeMap<Prefix, usize>,
    node_ips: BTreeMap<IpAddr, usize>,
    /// The local node model the sessions and VIPs below were computed for; `None`:
    /// they were not (BGP could not run).
    computed_for: Option<NodeModel>,
    /// The owned-CIDR total the sessions' prefix limits were computed with.
    peers_owned_total: usize,
    peers: BTreeMap<String, PeerEntry>,
    services: BTreeMap<NsName, ServiceEntry>,
    /// Every VIP of `services`, with how many Services give it.
    vip_count: BTreeMap<IpAddr, usize>,
    /// The routes and the set made of `vip_count`'s VIPs, kept until a VIP comes or
    /// goes; `None`: to be made again.
    vip_out: Option<VipOutput>,
    work: Work,
}

/// Every object of `snap` as changed (a plan from scratch).
fn all_changed(snap: &Snapshot) -> SnapshotChanges {
    SnapshotChanges {
        nodes: snap.nodes.keys().cloned().collect(),
        services: snap.services.keys().cloned().collect(),
        slices: snap.slices.keys().cloned().collect(),
        slice_services: BTreeSet::new(),
        everything: false,
    }
}

/// Counts `k` once more; whether it is new.
fn count_up<K: Ord>(m: &mut BTreeMap<K, usize>, k: K) -> bool {
    let c = m.entry(k).or_default();
    *c += 1;
    *c == 1
}

/// Counts `k` once less; whether it is gone.
fn count_down<K: Ord>(m: &mut BTreeMap<K, usize>, k: &K) -> bool {
    if let Some(c) = m.get_mut(k) {
        *c -= 1;
        if *c == 0 {
            m.remove(k);
            return true;
        }
    }
    false
}

/// Objects recomputed by one plan from which the cache's maps are packed again
/// ([`Planner::repack`]).
const REPACK_AFTER: usize = 1000;

/// Services to recompute beyond which their EndpointSlices are found in one pass over
/// all slices rather than one scan of the namespace's slices per Service.
const SCAN_PER_SERVICE: usize = 8;

/// The EndpointSlices that count for each of `services` (only those that have some), in
/// the snapshot's order (as `super::plan` groups them).
fn slices_of<'a>(
    snap: &'a Snapshot,
    services: &BTreeSet<&'a NsName>,
) -> BTreeMap<NsName, Vec<&'a EndpointSlice>> {
    let mut out: BTreeMap<NsName, Vec<&EndpointSlice>> = BTreeMap::new();
    if services.len() <= SCAN_PER_SERVICE {
        for key in services {
            let found: Vec<&EndpointSlice> = snap
                .slices_for_service(&key.namespace, &key.name)
                .filter(|s| adverts::counts_for_service(s))
                .collect();
            if !found.is_empty() {
                out.insert((*key).clone(), found);
            }
        }
        return out;
    }
    for s in snap.slices.values() {
        let Some(name) = s.service_name().filter(|_| adverts::counts_for_service(s)) else {
            continue;
        };
        let key = NsName::new(&s.metadata.namespace, name);
        if services.contains(&key) {
            out.entry(key).or_default().push(s);
        }
    }
    out
}

impl Planner {
    pub fn new() -> Planner {
        Planner::default()
    }

    /// What the last plan recomputed.
    #[cfg(test)]
    pub(crate) fn work(&self) -> Work {
        self.work
    }

    /// The plan for the local node `local_name`: equal to [`super::plan`] of the same
    /// arguments, recomputed only where the changes `snap` recorded since the last call
    /// reach (the first call, and any call with other settings or another name,
    /// computes everything). Takes the snapshot's changes.
    pub fn plan(
        &mut self,
        settings: &Settings,
        local_name: &str,
        snap: &mut Snapshot,
        kernel: &KernelFacts,
    ) -> Plan {
        let changes = snap.take_changes();
        self.work = Work::default();
        let same_basis = self
            .basis
            .as_ref()
            .is_some_and(|(s, n)| s == settings && n == local_name);
        if !same_basis || changes.everything {
            self.restart(settings, local_name, snap);
        } else {
            self.update(settings, local_name, snap, &changes);
            // The snapshot's maps are public: an edit that bypassed `apply` went
            // unrecorded. Cheap to notice by size for Nodes and Services (the
            // EndpointSlices are crate-private); then start again.
            let services_stale =
                self.computed_for.is_some() && self.services.len() != snap.services.len();
            if self.nodes.len() != snap.nodes.len() || services_stale {
                self.restart(settings, local_name, snap);
            }
        }
        if self.work.nodes + self.work.services >= REPACK_AFTER {
            self.repack();
        }
        self.assemble(settings, local_name, kernel)
    }

    /// Builds the cache's maps again from their sorted entries: entries inserted one by
    /// one in key order (every first plan, every relist) leave a map's nodes about half
    /// full; built at once, they are packed full. The entries move, nothing is copied.
    fn repack(&mut self) {
        fn pack<K: Ord, V>(m: &mut BTreeMap<K, V>) {
            *m = std::mem::take(m).into_iter().collect();
        }
        pack(&mut self.nodes);
        pack(&mut self.peers);
        pack(&mut self.services);
        pack(&mut self.vip_count);
        pack(&mut self.cluster_cidrs);
        pack(&mut self.node_ips);
        self.cidr_nodes = std::mem::take(&mut self.cidr_nodes).into_iter().collect();
    }

    /// Drops the cache and recomputes every object.
    fn restart(&mut self, settings: &Settings, local_name: &str, snap: &Snapshot) {
        *self = Planner {
            basis: Some((settings.clone(), local_name.to_string())),
            work: self.work,
            ..Planner::default()
        };
        let all = all_changed(snap);
        self.update(settings, local_name, snap, &all);
    }

    fn update(
        &mut self,
        settings: &Settings,
        local_name: &str,
        snap: &Snapshot,
        changes: &SnapshotChanges,
    ) {
        let mut dirty_cidrs = BTreeSet::new();
        for name in &changes.nodes {
            self.update_node(name, snap, &mut dirty_cidrs);
        }
        for cidr in dirty_cidrs {
            self.update_owner(cidr);
        }
        let dirty_services: BTreeSet<&NsName> = changes
            .services
            .iter()
            .chain(&changes.slice_services)
            .collect();
        let local = self.nodes.get(local_name).map(|e| &e.model);
        let me = peers::identity(settings, local, &mut Vec::new());
        let (Some(local), Some(me)) = (local, me) else {
            self.computed_for = None;
            self.peers.clear();
            self.services.clear();
            self.vip_count.clear();
            self.vip_out = None;
            return;
        };
        let local = local.clone();
        if self.computed_for.as_ref() != Some(&local) {
            // Every session and VIP depends on the local node.
            self.peers.clear();
            self.services.clear();
            self.vip_count.clear();
            self.vip_out = None;
            self.peers_owned_total = self.owned_total;
            if peers::node_peering_on(settings, &local) {
                let names: Vec<String> = self.nodes.keys().cloned().collect();
                for name in names {
                    self.update_peer(settings, &me, &name);
                }
            }
            let keys: BTreeSet<&NsName> = snap.services.keys().collect();
            self.update_services(settings, &local, &keys, snap);
            self.make_vip_output(&local);
            self.computed_for = Some(local);
            return;
        }
        if peers::node_peering_on(settings, &local) {
            for name in &changes.nodes {
                self.update_peer(settings, &me, name);
            }
            if self.peers_owned_total != self.owned_total {
                self.peers_owned_total = self.owned_total;
                for (name, e) in self.peers.iter_mut() {
                    if let (Some(p), Some(n)) = (e.peer.as_mut(), self.nodes.get(name)) {
                        p.prefix_limit =
                            peers::node_prefix_limit(settings, self.owned_total, &n.model);
                    }
                }
            }
        }
        self.update_services(settings, &local, &dirty_services, snap);
        self.make_vip_output(&local);
    }

    /// Makes the VIP routes and set again if a VIP came or went.
    fn make_vip_output(&mut self, local: &NodeModel) {
        if self.vip_out.is_some() {
            return;
        }
        let mut problems = Vec::new();
        let routes = adverts::vip_originated(local, self.vip_count.keys().copied(), &mut problems);
        let set = routes.iter().map(|o| o.prefix).collect();
        self.vip_out = Some(VipOutput {
            routes,
            set,
            problems,
        });
    }

    /// Re-reads Node `name` (gone from `snap`: forgets it); the pod CIDRs whose owners
    /// changed go into `dirty_cidrs`.
    fn update_node(&mut self, name: &str, snap: &Snapshot, dirty_cidrs: &mut BTreeSet<Prefix>) {
        self.work.nodes += 1;
        if let Some(old) = self.nodes.remove(name) {
            let m = &old.model;
            self.owned_total -= m.owned_cidrs.len();
            for c in &m.owned_cidrs {
                self.cidr_nodes.remove(&(*c, name.to_string()));
                count_down(&mut self.cluster_cidrs, c);
                dirty_cidrs.insert(*c);
            }
            for ip in rules::owner_addrs(m) {
                count_down(&mut self.node_ips, &ip);
            }
        }
        let Some(node) = snap.nodes.get(name) else {
            return;
        };
        let mut problems = Vec::new();
        let model = NodeModel::from_node(node, &mut problems);
        self.owned_total += model.owned_cidrs.len();
        for c in &model.owned_cidrs {
            self.cidr_nodes.insert((*c, name.to_string()));
            count_up(&mut self.cluster_cidrs, *c);
            dirty_cidrs.insert(*c);
        }
        for ip in rules::owner_addrs(&model) {
            count_up(&mut self.node_ips, ip);
        }
        self.nodes
            .insert(name.to_string(), NodeEntry { model, problems });
    }

    /// Recomputes the owners' addresses of `cidr` as `PodCidrOwners::of_nodes` merges
    /// them: the owners in node order, each one's addresses once.
    fn update_owner(&mut self, cidr: Prefix) {
        let names = self
            .cidr_nodes
            .range((cidr, String::new())..)
            .take_while(|(c, _)| *c == cidr);
        let mut owned = false;
        let mut addrs: Vec<IpAddr> = Vec::new();
        for e in names.filter_map(|(_, n)| self.nodes.get(n)) {
            owned = true;
            for a in rules::owner_addrs(&e.model) {
                if !addrs.contains(&a) {
                    addrs.push(a);
                }
            }
        }
        self.owners.set(cidr, owned.then_some(addrs));
    }

    /// Recomputes the session to node `name`.
    fn update_peer(&mut self, settings: &Settings, me: &peers::Identity, name: &str) {
        self.work.sessions += 1;
        self.peers.remove(name);
        let Some(n) = self.nodes.get(name) else {
            return;
        };
        let mut problems = Vec::new();
        let peer = peers::node_peer(settings, me, &n.model, self.owned_total, &mut problems);
        if peer.is_some() || !problems.is_empty() {
            self.peers
                .insert(name.to_string(), PeerEntry { peer, problems });
        }
    }

    /// Recomputes the VIPs of the Services `keys`.
    fn update_services(
        &mut self,
        settings: &Settings,
        local: &NodeModel,
        keys: &BTreeSet<&NsName>,
        snap: &Snapshot,
    ) {
        let slices = slices_of(snap, keys);
        for key in keys {
            self.update_service(settings, local, key, snap, slices.get(*key));
        }
    }

    /// Recomputes Service `key`'s VIPs; `slices`: the EndpointSlices that count for it.
    fn update_service(
        &mut self,
        settings: &Settings,
        local: &NodeModel,
        key: &NsName,
        snap: &Snapshot,
        slices: Option<&Vec<&EndpointSlice>>,
    ) {
        self.work.services += 1;
        let old = self
            .services
            .remove(key)
            .map(|e| e.vips)
            .unwrap_or_default();
        let mut entry = None;
        if let Some(svc) = snap.services.get(key) {
            let mut problems = Vec::new();
            let found = adverts::service_vips(settings, local, svc, slices, &mut problems);
            let vips: BTreeSet<IpAddr> = found.into_iter().map(|(ip, _)| ip).collect();
            entry = Some(ServiceEntry {
                vips: Vips::new(vips),
                problems,
            });
        }
        // Only the VIPs this Service gained or lost count: when one comes or goes
        // cluster-wide, the VIP routes and set are made again.
        let old = old.as_slice();
        let new = entry.as_ref().map(|e| e.vips.as_slice());
        for ip in old.iter().filter(|ip| !new.is_some_and(|n| n.contains(ip))) {
            if count_down(&mut self.vip_count, ip) {
                self.vip_out = None;
            }
        }
        for ip in new.into_iter().flatten().filter(|ip| !old.contains(ip)) {
            if count_up(&mut self.vip_count, *ip) {
                self.vip_out = None;
            }
        }
        if let Some(e) = entry {
            self.services.insert(key.clone(), e);
        }
    }

    /// The plan from the cache (as `super::plan` builds it from scratch).
    fn assemble(&self, settings: &Settings, local_name: &str, kernel: &KernelFacts) -> Plan {
        let mut problems: Vec<Problem> = self
            .nodes
            .values()
            .flat_map(|e| e.problems.iter().cloned())
            .collect();
        let local = self.nodes.get(local_name).map(|e| &e.model);
        if local.is_none() {
            problems.push(super::local_missing(local_name));
        }
        let node_addrs = self
            .nodes
            .values()
            .filter_map(|e| e.model.primary)
            .collect();
        let pod_network = PodNetwork {
            local_cidrs: local.map(|n| n.pod_cidrs.clone()).unwrap_or_default(),
            local_primary: local.and_then(|n| n.primary),
            local_ipv6: local.is_some_and(PodNetwork::has_ipv6),
            cluster_cidrs: self.cluster_cidrs.keys().copied().collect(),
            node_ips: self.node_ips.keys().copied().collect(),
        };
        let parts = super::PlanParts {
            local,
            problems,
            node_addrs,
            pod_network,
        };
        super::build_plan(settings, kernel, parts, |me, local, problems| {
            debug_assert_eq!(self.computed_for.as_ref(), Some(local));
            let mut node_peers: Vec<PeerPlan> = Vec::new();
            for e in self.peers.values() {
                problems.extend(e.problems.iter().cloned());
                node_peers.extend(e.peer.iter().cloned());
            }
            for e in self.services.values() {
                problems.extend(e.problems.iter().cloned());
            }
            let (vips, vip_set) = match &self.vip_out {
                Some(v) => {
                    problems.extend(v.problems.iter().cloned());
                    (v.routes.clone(), v.set.clone())
                }
                None => {
                    let vips =
                        adverts::vip_originated(local, self.vip_count.keys().copied(), problems);
                    let set = vips.iter().map(|o| o.prefix).collect();
                    (vips, set)
                }
            };
            let policy = rules::PolicyModel::with_owners(
                settings,
                local,
                self.owners.clone(),
                vip_set,
                me.rr_server.is_some(),
                problems,
            );
            super::BgpParts {
                node_peers,
                vips,
                policy,
            }
        })
    }
}

#[cfg(test)]
#[path = "replan_tests.rs"]
mod tests;
