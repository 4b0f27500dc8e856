//! kube-router's import and export rules (its BGP import/export policies) with kube-bgp's import safety
//! (decision D5), as pure decisions on (peer class, prefix, next hop / origin).
//!
//! Import from cluster nodes is an allow-list: exactly what nodes export, a prefix
//! inside some node's pod CIDR (as the API assigns it) with that node's address as next
//! hop. From every peer, special-purpose space is never imported (loopback, link-local,
//! multicast, reserved; this node's own addresses; more-specifics of connected subnets).
//!
//! Graceful shutdown (RFC 8326): while the model says so, every export gets the
//! GRACEFUL_SHUTDOWN community (LOCAL_PREF 0 towards iBGP); on import, a route carrying
//! it gets LOCAL_PREF 0.
//!
//! The RIB calls these through its policy hook. Nothing here knows about sessions.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use super::node::NodeModel;
use super::values;
use super::{Problem, Settings};
use crate::bgp::types::{Attrs, community};
use crate::prefix::Prefix;

pub(crate) const ANN_PREPEND_AS: &str = "kube-router.io/path-prepend.as";
pub(crate) const ANN_PREPEND_N: &str = "kube-router.io/path-prepend.repeat-n";
pub(crate) const ANN_COMMUNITIES: &str = "kube-router.io/node.bgp.communities";
pub(crate) const ANN_IMPORT_REJECT: &str = "kube-router.io/node.bgp.customimportreject";

/// Where a route in the RIB came from, for export decisions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RouteSource {
    /// This node's pod CIDR.
    LocalPod,
    /// A service VIP this node advertises.
    LocalVip,
    /// Learned from a cluster node.
    FromNode,
    /// Learned from an external router.
    FromExternal,
}

/// Changes applied to routes exported to external peers.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct ExternalActions {
    /// (ASN, count) to prepend (after the local AS).
    pub(crate) prepend: Option<(u32, u8)>,
    pub(crate) communities: Vec<u32>,
    /// `--override-nexthop`: next hop = the session's local address.
    pub(crate) next_hop_self: bool,
}

/// Why an import was refused (for counters and logs).
// `CustomImportReject` keeps its name (it names the custom-import-reject rule); clippy
// asks only now that the enum is crate-private.
#[allow(clippy::enum_variant_names)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Reject {
    DefaultRoute,
    /// Special-purpose space that is never routed to a peer.
    Special(SpecialSpace),
    /// A host route to one of this node's own addresses.
    OwnAddress,
    ServiceVip,
    CustomImportReject,
    OwnPodCidr,
    /// Equal to a locally connected subnet, or a more-specific of one that is not
    /// inside a node's pod CIDR.
    ConnectedSubnet,
    /// From a cluster node: not inside any node's pod CIDR (nodes export nothing else).
    NotPodCidr,
    /// Inside a node's pod CIDR but not from that node's address (D5).
    NotOwner,
}

impl Reject {
    /// Every reason, in metric order.
    pub(crate) const ALL: [Reject; 14] = [
        Reject::DefaultRoute,
        Reject::Special(SpecialSpace::Unspecified),
        Reject::Special(SpecialSpace::Loopback),
        Reject::Special(SpecialSpace::LinkLocal),
        Reject::Special(SpecialSpace::Multicast),
        Reject::Special(SpecialSpace::Reserved),
        Reject::Special(SpecialSpace::Ipv4Mapped),
        Reject::OwnAddress,
        Reject::ServiceVip,
        Reject::CustomImportReject,
        Reject::OwnPodCidr,
        Reject::ConnectedSubnet,
        Reject::NotPodCidr,
        Reject::NotOwner,
    ];

    /// Short name for the metric label.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Reject::DefaultRoute => "default-route",
            Reject::Special(s) => s.label(),
            Reject::OwnAddress => "own-address",
            Reject::ServiceVip => "service-vip",
            Reject::CustomImportReject => "custom-import-reject",
            Reject::OwnPodCidr => "own-pod-cidr",
            Reject::ConnectedSubnet => "connected-subnet",
            Reject::NotPodCidr => "not-a-pod-cidr",
            Reject::NotOwner => "not-the-owner",
        }
    }
}

/// What an import refusal says in logs and `kube-bgp explain`.
impl std::fmt::Display for Reject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Reject::DefaultRoute => "a default route is never imported (D5, P-5)",
            Reject::Special(SpecialSpace::Unspecified) => {
                "it is in 0.0.0.0/8 or ::/128, addresses that are never routed"
            }
            Reject::Special(SpecialSpace::Loopback) => "it is loopback space (127.0.0.0/8, ::1)",
            Reject::Special(SpecialSpace::LinkLocal) => {
                "it is link-local space (169.254.0.0/16, fe80::/10)"
            }
            Reject::Special(SpecialSpace::Multicast) => {
                "it is multicast space (224.0.0.0/4, ff00::/8)"
            }
            Reject::Special(SpecialSpace::Reserved) => "it is reserved space (240.0.0.0/4)",
            Reject::Special(SpecialSpace::Ipv4Mapped) => {
                "it is IPv4-mapped IPv6 space (::ffff:0:0/96)"
            }
            Reject::OwnAddress => "it is a host route to one of this node's own addresses",
            Reject::ServiceVip => "it is a service VIP of this cluster (D5)",
            Reject::CustomImportReject => "listed in the node's customimportreject annotation",
            Reject::OwnPodCidr => "inside this node's own pod CIDR (D5)",
            Reject::ConnectedSubnet => {
                "a locally connected subnet or a more-specific of one; the connected route is kept (D5, P-13)"
            }
            Reject::NotPodCidr => {
                "cluster nodes may only announce pod CIDRs the API assigned to a node (import allow-list, D5)"
            }
            Reject::NotOwner => "inside a node's pod CIDR but not from that node's address (D5)",
        })
    }
}

/// Why a route is not exported to a peer by kube-router's rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ExportStop {
    /// Service VIPs go to external peers only.
    VipToNode,
    /// Learned from a node, towards a node, and this node is no route reflector.
    NotReflector,
    /// Learned from an external router, towards a node.
    ExternalToNode,
    /// Learned routes are never passed on to external peers.
    LearnedToExternal,
    /// `--advertise-pod-cidr=false`.
    PodCidrNotAdvertised,
    /// A local route the plan no longer originates (being withdrawn).
    NotOriginated,
}

impl ExportStop {
    /// Short name (JSON field, metric label).
    pub(crate) fn label(self) -> &'static str {
        match self {
            ExportStop::VipToNode => "vip-to-node",
            ExportStop::NotReflector => "not-a-route-reflector",
            ExportStop::ExternalToNode => "external-to-node",
            ExportStop::LearnedToExternal => "learned-to-external",
            ExportStop::PodCidrNotAdvertised => "advertise-pod-cidr-off",
            ExportStop::NotOriginated => "not-originated",
        }
    }
}

impl std::fmt::Display for ExportStop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ExportStop::VipToNode => "service VIPs are advertised to external peers only",
            ExportStop::NotReflector => {
                "routes learned from nodes go to other nodes only from a route reflector"
            }
            ExportStop::ExternalToNode => {
                "routes learned from external routers are not passed to nodes"
            }
            ExportStop::LearnedToExternal => {
                "external peers are sent only this node's pod CIDRs and service VIPs"
            }
            ExportStop::PodCidrNotAdvertised => {
                "--advertise-pod-cidr=false: pod CIDRs are not sent to external peers"
            }
            ExportStop::NotOriginated => "no longer originated by this node (being withdrawn)",
        })
    }
}

/// Address space that must not be routed towards a peer (RFC 6890 special-purpose
/// registries; the same set BIRD's documented "martians" filter refuses).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum SpecialSpace {
    /// 0.0.0.0/8 ("this network", RFC 1122), ::/128.
    Unspecified,
    /// 127.0.0.0/8, ::1/128.
    Loopback,
    /// 169.254.0.0/16 (also the cloud metadata address), fe80::/10.
    LinkLocal,
    /// 224.0.0.0/4, ff00::/8.
    Multicast,
    /// 240.0.0.0/4 (reserved, and the limited broadcast address).
    Reserved,
    /// ::ffff:0:0/96 (IPv4-mapped addresses are never on the wire, RFC 4291 §2.5.5.2).
    Ipv4Mapped,
}

impl SpecialSpace {
    fn label(self) -> &'static str {
        match self {
            SpecialSpace::Unspecified => "unspecified",
            SpecialSpace::Loopback => "loopback",
            SpecialSpace::LinkLocal => "link-local",
            SpecialSpace::Multicast => "multicast",
            SpecialSpace::Reserved => "reserved",
            SpecialSpace::Ipv4Mapped => "ipv4-mapped",
        }
    }

    /// The special-purpose block `p` lies in (the whole prefix, not just its first
    /// address: a prefix covering such a block, like 0.0.0.0/1, is not special).
    pub(crate) fn of(p: &Prefix) -> Option<SpecialSpace> {
        const V4: [(Ipv4Addr, u8, SpecialSpace); 5] = [
            (Ipv4Addr::new(0, 0, 0, 0), 8, SpecialSpace::Unspecified),
            (Ipv4Addr::new(127, 0, 0, 0), 8, SpecialSpace::Loopback),
            (Ipv4Addr::new(169, 254, 0, 0), 16, SpecialSpace::LinkLocal),
            (Ipv4Addr::new(224, 0, 0, 0), 4, SpecialSpace::Multicast),
            (Ipv4Addr::new(240, 0, 0, 0), 4, SpecialSpace::Reserved),
        ];
        const V6: [(Ipv6Addr, u8, SpecialSpace); 5] = [
            (Ipv6Addr::UNSPECIFIED, 128, SpecialSpace::Unspecified),
            (Ipv6Addr::LOCALHOST, 128, SpecialSpace::Loopback),
            (
                Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0),
                10,
                SpecialSpace::LinkLocal,
            ),
            (
                Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0),
                8,
                SpecialSpace::Multicast,
            ),
            (
                Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0),
                96,
                SpecialSpace::Ipv4Mapped,
            ),
        ];
        match p {
            Prefix::V4(..) => V4
                .iter()
                .find(|(a, l, _)| Prefix::V4(*a, *l).covers(p))
                .map(|x| x.2),
            Prefix::V6(..) => V6
                .iter()
                .find(|(a, l, _)| Prefix::V6(*a, *l).covers(p))
                .map(|x| x.2),
        }
    }
}

/// A node's addresses as pod CIDR owner: its IPv4 ones, then its IPv6 ones.
pub(crate) fn owner_addrs(n: &NodeModel) -> Vec<IpAddr> {
    n.v4.iter()
        .map(|a| IpAddr::V4(*a))
        .chain(n.v6.iter().map(|a| IpAddr::V6(*a)))
        .collect()
}

/// Every node's pod CIDRs (as the API assigns them) with that node's addresses, indexed
/// for longest-match lookups: a lookup costs one map probe per distinct CIDR length, not
/// a scan of every node.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct PodCidrOwners {
    /// Shared between the plans and policies that hold the same index (a clone costs
    /// nothing; a change copies it once, when it is shared).
    by_cidr: Arc<BTreeMap<Prefix, Vec<IpAddr>>>,
    /// Distinct prefix lengths present, longest first.
    lengths: Vec<u8>,
}

impl PodCidrOwners {
    /// Builds the index from (pod CIDR, owner's addresses); a CIDR listed by two nodes
    /// belongs to both.
    pub(crate) fn new(entries: impl IntoIterator<Item = (Prefix, Vec<IpAddr>)>) -> PodCidrOwners {
        let mut by_cidr: BTreeMap<Prefix, Vec<IpAddr>> = BTreeMap::new();
        for (p, addrs) in entries {
            let v = by_cidr.entry(p).or_default();
            for a in addrs {
                if !v.contains(&a) {
                    v.push(a);
                }
            }
        }
        let mut lengths: Vec<u8> = by_cidr.keys().map(Prefix::len).collect();
        lengths.sort_unstable_by(|a, b| b.cmp(a));
        lengths.dedup();
        PodCidrOwners {
            by_cidr: Arc::new(by_cidr),
            lengths,
        }
    }

    /// Whether both hold the same shared index (not only equal ones).
    #[cfg(test)]
    pub(crate) fn shares(&self, other: &PodCidrOwners) -> bool {
        Arc::ptr_eq(&self.by_cidr, &other.by_cidr)
    }

    /// The index of `nodes`' owned pod CIDRs with each owner's addresses.
    pub(crate) fn of_nodes(nodes: &[NodeModel]) -> PodCidrOwners {
        PodCidrOwners::new(nodes.iter().flat_map(|n| {
            let addrs = owner_addrs(n);
            n.owned_cidrs
                .iter()
                .map(move |p| (*p, addrs.clone()))
                .collect::<Vec<_>>()
        }))
    }

    /// Sets the owners' addresses of `cidr` (`None`: no node owns it any more), as
    /// [`PodCidrOwners::new`] would have merged them.
    pub(crate) fn set(&mut self, cidr: Prefix, addrs: Option<Vec<IpAddr>>) {
        let len = cidr.len();
        match addrs {
            Some(a) => {
                Arc::make_mut(&mut self.by_cidr).insert(cidr, a);
                if let Err(at) = self.lengths.binary_search_by(|l| len.cmp(l)) {
                    self.lengths.insert(at, len);
                }
            }
            None => {
                if self.by_cidr.contains_key(&cidr)
                    && Arc::make_mut(&mut self.by_cidr).remove(&cidr).is_some()
                    && !self.by_cidr.keys().any(|k| k.len() == len)
                {
                    self.lengths.retain(|l| *l != len);
                }
            }
        }
    }

    /// The most specific pod CIDR covering `p`, with its owners' addresses.
    pub(crate) fn owner_of(&self, p: &Prefix) -> Option<(Prefix, &[IpAddr])> {
        for &l in self.lengths.iter().filter(|l| **l <= p.len()) {
            let Ok(key) = Prefix::new(p.addr(), l) else {
                continue;
            };
            // Lengths are shared by both families: the key keeps `p`'s family.
            if let Some(a) = self.by_cidr.get(&key) {
                return Some((key, a.as_slice()));
            }
        }
        None
    }

    #[cfg(test)]
    #[allow(clippy::len_without_is_empty)]
    pub(crate) fn len(&self) -> usize {
        self.by_cidr.len()
    }
}

/// The service VIPs this node advertises (as host prefixes), shared between the plans
/// and policies that hold the same set: a clone costs nothing, and comparing two
/// clones of one set is immediate.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct VipSet(Arc<BTreeSet<Prefix>>);

impl VipSet {
    pub(crate) fn contains(&self, p: &Prefix) -> bool {
        self.0.contains(p)
    }

    /// Whether both are the same shared set (not only equal ones).
    #[cfg(test)]
    pub(crate) fn shares(&self, other: &VipSet) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl From<BTreeSet<Prefix>> for VipSet {
    fn from(s: BTreeSet<Prefix>) -> VipSet {
        VipSet(Arc::new(s))
    }
}

impl FromIterator<Prefix> for VipSet {
    fn from_iter<I: IntoIterator<Item = Prefix>>(it: I) -> VipSet {
        VipSet(Arc::new(it.into_iter().collect()))
    }
}

/// The rules in force, recomputed whenever the cluster snapshot changes.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct PolicyModel {
    pub(crate) local_pod_cidrs: Vec<Prefix>,
    pub(crate) vips: VipSet,
    pub(crate) custom_reject: Vec<Prefix>,
    /// Locally connected subnets (from the kernel).
    pub(crate) connected: Vec<Prefix>,
    /// This node's own addresses (the Node object's and the kernel's).
    pub(crate) own_addrs: BTreeSet<IpAddr>,
    /// Every node's owned pod CIDRs with that node's addresses (D5).
    pub(crate) owners: PodCidrOwners,
    pub(crate) external: ExternalActions,
    pub(crate) advertise_pod_cidr: bool,
    pub(crate) rr_server: bool,
    /// RFC 8326 drain: every route exported gets the GRACEFUL_SHUTDOWN community (and
    /// LOCAL_PREF 0 towards iBGP peers). Set by the plan while the local Node is
    /// cordoned and `--graceful-shutdown-on-cordon` is on; the daemon also sets it
    /// while it stops without graceful restart.
    pub(crate) graceful_shutdown: bool,
}

impl PolicyModel {
    /// Builds the model for the local node. `vips` are the VIPs this node advertises.
    pub(crate) fn build(
        settings: &Settings,
        local: &NodeModel,
        nodes: &[NodeModel],
        vips: BTreeSet<Prefix>,
        rr_server: bool,
        problems: &mut Vec<Problem>,
    ) -> PolicyModel {
        let owners = PodCidrOwners::of_nodes(nodes);
        PolicyModel::with_owners(settings, local, owners, vips.into(), rr_server, problems)
    }

    /// [`PolicyModel::build`] with the pod CIDR owners already indexed.
    pub(crate) fn with_owners(
        settings: &Settings,
        local: &NodeModel,
        owners: PodCidrOwners,
        vips: VipSet,
        rr_server: bool,
        problems: &mut Vec<Problem>,
    ) -> PolicyModel {
        let ann = &local.annotations;
        let name = local.name.as_str();
        let prepend = match (ann.get(ANN_PREPEND_AS), ann.get(ANN_PREPEND_N)) {
            (None, _) => None,
            (Some(_), None) => {
                problems.push(Problem::node(
                    name,
                    ANN_PREPEND_N,
                    "both kube-router.io/path-prepend.as and kube-router.io/path-prepend.repeat-n must be set",
                ));
                None
            }
            (Some(a), Some(n)) => match (values::parse_asn(a), values::parse_decimal(n, 255)) {
                (Ok(a), Ok(n)) if a != 0 => Some((a, n as u8)),
                (Ok(_), Ok(_)) => {
                    problems.push(Problem::node(name, ANN_PREPEND_AS, "ASN 0 is not valid"));
                    None
                }
                (Err(e), _) => {
                    problems.push(Problem::node(name, ANN_PREPEND_AS, e));
                    None
                }
                (_, Err(e)) => {
                    problems.push(Problem::node(name, ANN_PREPEND_N, e));
                    None
                }
            },
        };
        let mut communities = Vec::new();
        if let Some(v) = ann.get(ANN_COMMUNITIES) {
            for item in values::split_list(v) {
                match values::parse_community(item) {
                    Ok(c) if !communities.contains(&c) => communities.push(c),
                    Ok(_) => {}
                    Err(e) => problems.push(Problem::node(
                        name,
                        ANN_COMMUNITIES,
                        format!("{e}; skipped"),
                    )),
                }
            }
        }
        let mut custom_reject = Vec::new();
        if let Some(v) = ann.get(ANN_IMPORT_REJECT) {
            let parsed: Result<Vec<Prefix>, String> = values::split_list(v)
                .into_iter()
                .map(|s| s.trim().parse::<Prefix>().map_err(|e| e.to_string()))
                .collect();
            match parsed {
                Ok(l) => custom_reject = l,
                Err(e) => problems.push(Problem::node(
                    name,
                    ANN_IMPORT_REJECT,
                    format!("{e}; whole annotation ignored"),
                )),
            }
        }
        let own_addrs = local
            .v4
            .iter()
            .map(|a| IpAddr::V4(*a))
            .chain(local.v6.iter().map(|a| IpAddr::V6(*a)))
            .collect();
        PolicyModel {
            local_pod_cidrs: local.owned_cidrs.clone(),
            vips,
            custom_reject,
            connected: Vec::new(),
            own_addrs,
            owners,
            external: ExternalActions {
                prepend,
                communities,
                next_hop_self: settings.override_nexthop,
            },
            advertise_pod_cidr: settings.advertise_pod_cidr,
            rr_server,
            graceful_shutdown: settings.graceful_shutdown_on_cordon && local.cordoned,
        }
    }

    /// Import decision for a path learned from a peer (node or external).
    ///
    /// From everyone: never a default route, special-purpose space, a host route to
    /// this node's own address, a service VIP, a `customimportreject` prefix, this
    /// node's pod CIDRs or anything inside them, a connected subnet, or a more-specific
    /// of a connected subnet (unless the API assigned that space to a node as pod CIDR:
    /// the API is trusted to know its own node and pod networks). From cluster nodes,
    /// only what nodes export: a prefix inside some node's pod CIDR whose next hop is
    /// that node's address (route reflection keeps the next hop, so a reflected path
    /// still carries its owner's). External peers may send other pod CIDRs (a ToR in
    /// the AS-per-rack model announces the other racks', D5).
    pub(crate) fn import(
        &self,
        from_node: bool,
        prefix: &Prefix,
        next_hop: Option<IpAddr>,
    ) -> Result<(), Reject> {
        if prefix.is_default() {
            return Err(Reject::DefaultRoute);
        }
        if let Some(s) = SpecialSpace::of(prefix) {
            return Err(Reject::Special(s));
        }
        if prefix.len() == Prefix::host(prefix.addr()).len()
            && self.own_addrs.contains(&prefix.addr())
        {
            return Err(Reject::OwnAddress);
        }
        if self.vips.contains(prefix) {
            return Err(Reject::ServiceVip);
        }
        if self.custom_reject.iter().any(|c| c.covers(prefix)) {
            return Err(Reject::CustomImportReject);
        }
        if self.local_pod_cidrs.iter().any(|c| c.covers(prefix)) {
            return Err(Reject::OwnPodCidr);
        }
        let owner = self.owners.owner_of(prefix);
        for c in self.connected.iter().filter(|c| c.covers(prefix)) {
            if c == prefix || owner.is_none() {
                return Err(Reject::ConnectedSubnet);
            }
        }
        if from_node {
            let Some((_, addrs)) = owner else {
                return Err(Reject::NotPodCidr);
            };
            if !next_hop.is_some_and(|nh| addrs.contains(&nh)) {
                return Err(Reject::NotOwner);
            }
        }
        Ok(())
    }

    /// Export decision: the actions to apply (empty for node peers), or why the route is
    /// not exported to this peer.
    pub(crate) fn export(
        &self,
        to_node: bool,
        source: RouteSource,
    ) -> Result<ExternalActions, ExportStop> {
        match (to_node, source) {
            (true, RouteSource::LocalPod) => Ok(ExternalActions::default()),
            (true, RouteSource::LocalVip) => Err(ExportStop::VipToNode),
            // Reflection between nodes: the RIB applies RFC 4456 (only a reflector passes
            // iBGP-learned routes on); kube-router's default reject covers the rest.
            (true, RouteSource::FromNode) => self
                .rr_server
                .then(ExternalActions::default)
                .ok_or(ExportStop::NotReflector),
            (true, RouteSource::FromExternal) => Err(ExportStop::ExternalToNode),
            (false, RouteSource::LocalVip) => Ok(self.external.clone()),
            (false, RouteSource::LocalPod) => self
                .advertise_pod_cidr
                .then(|| self.external.clone())
                .ok_or(ExportStop::PodCidrNotAdvertised),
            (false, RouteSource::FromNode | RouteSource::FromExternal) => {
                Err(ExportStop::LearnedToExternal)
            }
        }
    }
}

/// RFC 8326 §3 on export while draining: the GRACEFUL_SHUTDOWN community added, and
/// LOCAL_PREF 0 towards an iBGP peer (an eBGP peer is sent no LOCAL_PREF and applies
/// the community itself). `attrs` is copied only when something changes.
pub(crate) fn graceful_shutdown_export(attrs: &mut Cow<'_, Attrs>, ibgp: bool) {
    if !attrs.communities.contains(&community::GRACEFUL_SHUTDOWN) {
        attrs
            .to_mut()
            .communities
            .push(community::GRACEFUL_SHUTDOWN);
    }
    if ibgp && attrs.local_pref != Some(0) {
        attrs.to_mut().local_pref = Some(0);
    }
}

/// RFC 8326 §4 on import: a route carrying GRACEFUL_SHUTDOWN gets LOCAL_PREF 0, so any
/// other path wins while its sender drains. Returns whether the route carried it.
pub(crate) fn graceful_shutdown_import(attrs: &mut Cow<'_, Attrs>) -> bool {
    if !attrs.communities.contains(&community::GRACEFUL_SHUTDOWN) {
        return false;
    }
    if attrs.local_pref != Some(0) {
        attrs.to_mut().local_pref = Some(0);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::objects::{Node, NodeAddress};

    fn model(name: &str, ip: &str, cidr: &str, ann: &[(&str, &str)]) -> NodeModel {
        let mut n = Node::default();
        n.metadata.name = name.into();
        n.status.addresses.push(NodeAddress {
            type_: "InternalIP".into(),
            address: ip.into(),
        });
        n.spec.pod_cidr = cidr.into();
        for (k, v) in ann {
            n.metadata.annotations.insert(k.to_string(), v.to_string());
        }
        NodeModel::from_node(&n, &mut vec![])
    }

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    #[test]
    fn import_rules() {
        let me = model(
            "n1",
            "10.0.0.1",
            "10.244.1.0/24",
            &[(ANN_IMPORT_REJECT, "192.168.0.0/16, 2001:db8::/32")],
        );
        let other = model("n2", "10.0.0.2", "10.244.2.0/24", &[]);
        let nodes = vec![me.clone(), other];
        let vips = [p("10.96.0.10/32")].into_iter().collect();
        let mut probs = vec![];
        let mut m = PolicyModel::build(&Settings::default(), &me, &nodes, vips, false, &mut probs);
        assert!(probs.is_empty(), "{probs:?}");
        m.connected = vec![p("10.0.0.0/24")];
        let nh2 = Some("10.0.0.2".parse().unwrap());
        let nh3 = Some("10.0.0.3".parse().unwrap());
        assert_eq!(
            m.import(false, &p("0.0.0.0/0"), nh2),
            Err(Reject::DefaultRoute)
        );
        assert_eq!(m.import(false, &p("::/0"), nh2), Err(Reject::DefaultRoute));
        assert_eq!(
            m.import(false, &p("10.96.0.10/32"), nh2),
            Err(Reject::ServiceVip)
        );
        assert_eq!(
            m.import(false, &p("192.168.5.0/24"), nh2),
            Err(Reject::CustomImportReject)
        );
        assert_eq!(
            m.import(false, &p("2001:db8:1::/48"), nh2),
            Err(Reject::CustomImportReject)
        );
        assert_eq!(
            m.import(true, &p("10.244.1.0/24"), nh2),
            Err(Reject::OwnPodCidr)
        );
        assert_eq!(
            m.import(true, &p("10.244.1.128/25"), nh2),
            Err(Reject::OwnPodCidr)
        );
        assert_eq!(
            m.import(false, &p("10.0.0.0/24"), nh2),
            Err(Reject::ConnectedSubnet)
        );
        assert_eq!(m.import(true, &p("10.244.2.0/24"), nh2), Ok(()));
        assert_eq!(
            m.import(true, &p("10.244.2.0/24"), nh3),
            Err(Reject::NotOwner)
        );
        // An external router may send other racks' pod CIDRs (AS-per-rack model).
        assert_eq!(m.import(false, &p("10.244.2.0/24"), nh3), Ok(()));
        assert_eq!(m.import(false, &p("172.16.0.0/12"), nh3), Ok(()));
    }

    /// Item: from nodes only what nodes export (allow-list); from everyone never
    /// special-purpose space, own addresses or more-specifics of connected subnets.
    #[test]
    fn node_import_is_an_allow_list() {
        let me = model("n1", "10.0.0.1", "10.244.1.0/24", &[]);
        let n2 = model("n2", "10.0.0.2", "10.244.2.0/24", &[]);
        // Pod CIDR given only by kube-router's annotation.
        let n3 = model(
            "n3",
            "10.0.0.3",
            "",
            &[(crate::cluster::node::ANN_POD_CIDR, "10.244.3.0/24")],
        );
        let nodes = vec![me.clone(), n2, n3];
        let mut probs = vec![];
        let mut m = PolicyModel::build(
            &Settings::default(),
            &me,
            &nodes,
            BTreeSet::new(),
            false,
            &mut probs,
        );
        assert!(probs.is_empty(), "{probs:?}");
        m.connected = vec![p("10.0.0.0/24")];
        let nh = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        let n2 = nh("10.0.0.2");
        // What nodes export: accepted; also more-specifics of the owner's CIDR, and
        // the annotation-assigned CIDR from its owner (or reflected with its next hop).
        assert_eq!(m.import(true, &p("10.244.2.0/24"), n2), Ok(()));
        assert_eq!(m.import(true, &p("10.244.2.128/25"), n2), Ok(()));
        assert_eq!(m.import(true, &p("10.244.3.0/24"), nh("10.0.0.3")), Ok(()));
        // Everything else from a node: refused.
        for (pfx, why) in [
            ("0.0.0.0/1", Reject::NotPodCidr),
            ("128.0.0.0/1", Reject::NotPodCidr),
            ("10.244.0.0/16", Reject::NotPodCidr),
            ("10.244.9.0/24", Reject::NotPodCidr),
            ("192.0.2.0/24", Reject::NotPodCidr),
            ("10.96.0.1/32", Reject::NotPodCidr),
            ("10.244.3.0/24", Reject::NotOwner),
            ("10.0.0.3/32", Reject::ConnectedSubnet),
            ("10.0.0.1/32", Reject::OwnAddress),
            (
                "169.254.169.254/32",
                Reject::Special(SpecialSpace::LinkLocal),
            ),
            ("127.0.0.0/8", Reject::Special(SpecialSpace::Loopback)),
            ("224.0.0.0/24", Reject::Special(SpecialSpace::Multicast)),
            (
                "255.255.255.255/32",
                Reject::Special(SpecialSpace::Reserved),
            ),
            ("0.1.2.0/24", Reject::Special(SpecialSpace::Unspecified)),
        ] {
            assert_eq!(m.import(true, &p(pfx), n2), Err(why), "{pfx} from a node");
        }
        // No next hop at all: not the owner's.
        assert_eq!(
            m.import(true, &p("10.244.2.0/24"), None),
            Err(Reject::NotOwner)
        );
        // External peers: special space and connected more-specifics refused too, but
        // other space (a ToR's routes, other racks' pod CIDRs) accepted.
        let tor = nh("10.0.0.254");
        for (pfx, why) in [
            ("169.254.0.0/16", Reject::Special(SpecialSpace::LinkLocal)),
            ("10.0.0.128/25", Reject::ConnectedSubnet),
            ("10.0.0.2/32", Reject::ConnectedSubnet),
            ("10.0.0.1/32", Reject::OwnAddress),
            ("10.0.0.0/24", Reject::ConnectedSubnet),
        ] {
            assert_eq!(m.import(false, &p(pfx), tor), Err(why), "{pfx} from a ToR");
        }
        for pfx in [
            "0.0.0.0/1",
            "10.0.0.0/8",
            "10.244.2.0/24",
            "198.51.100.0/24",
        ] {
            assert_eq!(m.import(false, &p(pfx), tor), Ok(()), "{pfx} from a ToR");
        }
    }

    #[test]
    fn ipv6_special_space_and_owners() {
        let mut n = crate::kube::objects::Node::default();
        n.metadata.name = "n1".into();
        n.status.addresses.push(crate::kube::objects::NodeAddress {
            type_: "InternalIP".into(),
            address: "fd00::1".into(),
        });
        n.spec.pod_cidrs = vec!["fd00:244:1::/64".into()];
        let me = NodeModel::from_node(&n, &mut vec![]);
        let mut n2 = n.clone();
        n2.metadata.name = "n2".into();
        n2.status.addresses[0].address = "fd00::2".into();
        n2.spec.pod_cidrs = vec!["fd00:244:2::/64".into()];
        let other = NodeModel::from_node(&n2, &mut vec![]);
        let mut m = PolicyModel::build(
            &Settings::default(),
            &me,
            &[me.clone(), other],
            BTreeSet::new(),
            false,
            &mut vec![],
        );
        m.connected = vec![p("fd00::/64")];
        let nh2 = Some("fd00::2".parse().unwrap());
        assert_eq!(m.import(true, &p("fd00:244:2::/64"), nh2), Ok(()));
        assert_eq!(
            m.import(
                true,
                &p("fd00:244:2::/64"),
                Some("fd00::3".parse().unwrap())
            ),
            Err(Reject::NotOwner)
        );
        for (pfx, why) in [
            ("2001:db8::/32", Reject::NotPodCidr),
            ("::1/128", Reject::Special(SpecialSpace::Loopback)),
            ("fe80::/64", Reject::Special(SpecialSpace::LinkLocal)),
            ("febf::/16", Reject::Special(SpecialSpace::LinkLocal)),
            ("ff02::1/128", Reject::Special(SpecialSpace::Multicast)),
            (
                "::ffff:10.0.0.0/104",
                Reject::Special(SpecialSpace::Ipv4Mapped),
            ),
            ("::/128", Reject::Special(SpecialSpace::Unspecified)),
            ("fd00::1/128", Reject::OwnAddress),
            ("fd00::2/128", Reject::ConnectedSubnet),
            ("fd00:244:1::/80", Reject::OwnPodCidr),
        ] {
            assert_eq!(m.import(true, &p(pfx), nh2), Err(why), "{pfx}");
            if !matches!(why, Reject::NotPodCidr) {
                assert_eq!(m.import(false, &p(pfx), nh2), Err(why), "{pfx} external");
            }
        }
        // A covering prefix is not special: ::/1 from a router is accepted.
        assert_eq!(m.import(false, &p("::/1"), nh2), Ok(()));
    }

    /// Pod CIDRs inside a broad connected subnet (node network 10.0.0.0/8, pods in
    /// 10.244.0.0/16): the API assigned that space, so its owners' routes still go in.
    #[test]
    fn pod_cidrs_inside_a_connected_subnet_are_accepted_from_their_owner() {
        let me = model("n1", "10.0.0.1", "10.244.1.0/24", &[]);
        let n2 = model("n2", "10.0.0.2", "10.244.2.0/24", &[]);
        let mut m = PolicyModel::build(
            &Settings::default(),
            &me,
            &[me.clone(), n2],
            BTreeSet::new(),
            false,
            &mut vec![],
        );
        m.connected = vec![p("10.0.0.0/8")];
        let nh2 = Some("10.0.0.2".parse().unwrap());
        assert_eq!(m.import(true, &p("10.244.2.0/24"), nh2), Ok(()));
        assert_eq!(m.import(false, &p("10.244.2.0/24"), nh2), Ok(()));
        assert_eq!(
            m.import(false, &p("10.5.0.0/16"), nh2),
            Err(Reject::ConnectedSubnet)
        );
        assert_eq!(
            m.import(false, &p("10.0.0.0/8"), nh2),
            Err(Reject::ConnectedSubnet)
        );
    }

    #[test]
    fn owner_index_finds_the_most_specific_cidr() {
        let a: IpAddr = "10.0.0.2".parse().unwrap();
        let b: IpAddr = "10.0.0.3".parse().unwrap();
        let o = PodCidrOwners::new([
            (p("10.244.0.0/16"), vec![a]),
            (p("10.244.5.0/24"), vec![b]),
            (p("fd00:244::/48"), vec![a]),
        ]);
        assert_eq!(o.len(), 3);
        assert_eq!(
            o.owner_of(&p("10.244.5.7/32")),
            Some((p("10.244.5.0/24"), &[b][..]))
        );
        assert_eq!(
            o.owner_of(&p("10.244.6.0/24")),
            Some((p("10.244.0.0/16"), &[a][..]))
        );
        assert_eq!(o.owner_of(&p("10.245.0.0/24")), None);
        assert_eq!(o.owner_of(&p("10.0.0.0/8")), None);
        assert_eq!(
            o.owner_of(&p("fd00:244:0:1::/64")),
            Some((p("fd00:244::/48"), &[a][..]))
        );
        assert!(
            PodCidrOwners::default()
                .owner_of(&p("10.0.0.0/8"))
                .is_none()
        );
        for r in Reject::ALL {
            assert!(!r.label().is_empty());
            assert!(!r.to_string().is_empty());
        }
    }

    #[test]
    fn export_matrix_and_actions() {
        let me = model(
            "n1",
            "10.0.0.1",
            "10.244.1.0/24",
            &[
                (ANN_PREPEND_AS, "65010"),
                (ANN_PREPEND_N, "2"),
                (ANN_COMMUNITIES, "65000:100,no-export,bogus"),
            ],
        );
        let st = Settings {
            override_nexthop: true,
            ..Settings::default()
        };
        let mut probs = vec![];
        let m = PolicyModel::build(
            &st,
            &me,
            std::slice::from_ref(&me),
            BTreeSet::new(),
            false,
            &mut probs,
        );
        assert_eq!(probs.len(), 1, "{probs:?}");
        assert_eq!(
            m.export(true, RouteSource::LocalPod),
            Ok(ExternalActions::default())
        );
        assert_eq!(
            m.export(true, RouteSource::LocalVip),
            Err(ExportStop::VipToNode)
        );
        assert_eq!(
            m.export(true, RouteSource::FromNode),
            Err(ExportStop::NotReflector)
        );
        assert_eq!(
            m.export(true, RouteSource::FromExternal),
            Err(ExportStop::ExternalToNode)
        );
        assert_eq!(
            m.export(false, RouteSource::FromNode),
            Err(ExportStop::LearnedToExternal)
        );
        assert_eq!(
            m.export(false, RouteSource::FromExternal),
            Err(ExportStop::LearnedToExternal)
        );
        let a = m.export(false, RouteSource::LocalVip).unwrap();
        assert_eq!(a.prepend, Some((65010, 2)));
        assert_eq!(a.communities, vec![(65000 << 16) | 100, 0xFFFF_FF01]);
        assert!(a.next_hop_self);
        let mut m2 = m.clone();
        m2.advertise_pod_cidr = false;
        assert_eq!(
            m2.export(false, RouteSource::LocalPod),
            Err(ExportStop::PodCidrNotAdvertised)
        );
        m2.rr_server = true;
        assert!(m2.export(true, RouteSource::FromNode).is_ok());
    }

    #[test]
    fn prepend_needs_both_annotations() {
        let me = model(
            "n1",
            "10.0.0.1",
            "10.244.1.0/24",
            &[(ANN_PREPEND_AS, "65010")],
        );
        let mut probs = vec![];
        let m = PolicyModel::build(
            &Settings::default(),
            &me,
            &[],
            BTreeSet::new(),
            false,
            &mut probs,
        );
        assert_eq!(m.external.prepend, None);
        assert!(probs[0].to_string().contains("must be set"));
    }

    /// RFC 8326 attribute rewriting: the community is added once, LOCAL_PREF 0 only
    /// towards iBGP, nothing copied when nothing changes; on import only a route with
    /// the community is touched.
    #[test]
    fn graceful_shutdown_rewrites() {
        use crate::bgp::types::community::{GRACEFUL_SHUTDOWN, NO_EXPORT};
        let base = Attrs {
            communities: vec![NO_EXPORT],
            local_pref: Some(100),
            ..Attrs::default()
        };
        let mut e = Cow::Borrowed(&base);
        graceful_shutdown_export(&mut e, false);
        assert_eq!(e.communities, vec![NO_EXPORT, GRACEFUL_SHUTDOWN]);
        assert_eq!(e.local_pref, Some(100), "eBGP: LOCAL_PREF left to the RIB");
        let mut i = Cow::Borrowed(&base);
        graceful_shutdown_export(&mut i, true);
        assert_eq!(i.communities, vec![NO_EXPORT, GRACEFUL_SHUTDOWN]);
        assert_eq!(i.local_pref, Some(0));
        // Already drained: unchanged and not copied.
        let done = i.into_owned();
        let mut again = Cow::Borrowed(&done);
        graceful_shutdown_export(&mut again, true);
        assert!(matches!(again, Cow::Borrowed(_)));

        let mut plain = Cow::Borrowed(&base);
        assert!(!graceful_shutdown_import(&mut plain));
        assert!(matches!(plain, Cow::Borrowed(_)));
        assert_eq!(plain.local_pref, Some(100));
        let tagged = Attrs {
            communities: vec![GRACEFUL_SHUTDOWN],
            local_pref: None,
            ..Attrs::default()
        };
        let mut t = Cow::Borrowed(&tagged);
        assert!(graceful_shutdown_import(&mut t));
        assert_eq!(t.local_pref, Some(0));
    }

    /// The plan drains on cordon only when asked to, and only for the local node.
    #[test]
    fn cordon_drains_only_with_the_flag() {
        let mut n = Node::default();
        n.metadata.name = "n1".into();
        n.status.addresses.push(NodeAddress {
            type_: "InternalIP".into(),
            address: "10.0.0.1".into(),
        });
        n.spec.pod_cidr = "10.244.1.0/24".into();
        let build = |node: &Node, flag: bool| {
            let me = NodeModel::from_node(node, &mut vec![]);
            let st = Settings {
                graceful_shutdown_on_cordon: flag,
                ..Settings::default()
            };
            PolicyModel::build(
                &st,
                &me,
                std::slice::from_ref(&me),
                BTreeSet::new(),
                false,
                &mut vec![],
            )
            .graceful_shutdown
        };
        assert!(!build(&n, true));
        n.spec.unschedulable = true;
        assert!(build(&n, true));
        assert!(!build(&n, false));
        // As the API sends it: `kubectl cordon` sets the field, uncordon removes it.
        let json = r#"{"metadata":{"name":"n1"},"spec":{"unschedulable":true}}"#;
        let cordoned: Node = serde_json::from_str(json).unwrap();
        assert!(cordoned.spec.unschedulable);
        let json = r#"{"metadata":{"name":"n1"},"spec":{"unschedulable":null}}"#;
        let plain: Node = serde_json::from_str(json).unwrap();
        assert!(!plain.spec.unschedulable);
    }
}
