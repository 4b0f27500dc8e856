//! The RIB's policy hook filled with kube-router's rules: adapts `cluster::rules`'s
//! pure decisions to `bgp::rib::Policy` (peer classification, origin of local routes,
//! the actions applied towards external peers), and counts and logs import refusals
//! (each (peer, prefix) logged once, in a bounded set).

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::rc::Rc;

use crate::bgp::rib::{PeerInfo, Policy, Source};
use crate::bgp::types::Attrs;
use crate::cluster::adverts::OriginKind;
use crate::cluster::rules::{PolicyModel, Reject, RouteSource, SpecialSpace};
use crate::prefix::{Afi, Prefix};

/// Most refusals remembered; beyond that new ones are counted but no longer logged.
const REFUSALS_LOGGED: usize = 4096;

/// Import refusals: counted by reason for the metrics, and logged once per (peer,
/// prefix). Shared by the successive policies of one daemon so a re-evaluation after a
/// policy change neither logs nor counts again what was already refused.
pub(crate) struct RefusalLog {
    /// Most (peer, prefix) pairs remembered.
    cap: usize,
    logged: RefCell<BTreeSet<(IpAddr, Prefix)>>,
    counts: RefCell<BTreeMap<Reject, u64>>,
    /// The RIB is re-running import over paths it already holds (`Rib::reevaluate`).
    replaying: Cell<bool>,
    /// The log set is full: said once.
    full_said: Cell<bool>,
}

/// The log is bookkeeping, not part of the rules: two policies that differ only in
/// what was logged are the same policy (the daemon skips re-evaluation then).
impl PartialEq for RefusalLog {
    fn eq(&self, _: &RefusalLog) -> bool {
        true
    }
}

impl Eq for RefusalLog {}

impl std::fmt::Debug for RefusalLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RefusalLog({} logged)", self.logged.borrow().len())
    }
}

impl Default for RefusalLog {
    fn default() -> RefusalLog {
        RefusalLog::with_cap(REFUSALS_LOGGED)
    }
}

impl RefusalLog {
    fn with_cap(cap: usize) -> RefusalLog {
        RefusalLog {
            cap,
            logged: RefCell::default(),
            counts: RefCell::default(),
            replaying: Cell::new(false),
            full_said: Cell::new(false),
        }
    }

    fn note(&self, peer: IpAddr, prefix: &Prefix, why: Reject) {
        let mut seen = self.logged.borrow_mut();
        let new = seen.len() < self.cap && seen.insert((peer, *prefix));
        // A re-evaluation counts only what it newly refuses.
        if new || !self.replaying.get() {
            *self.counts.borrow_mut().entry(why).or_default() += 1;
        }
        if new {
            crate::info!(
                "policy",
                "peer {peer}: {prefix} not imported: {}",
                reason(why)
            );
        } else if seen.len() >= self.cap && !self.full_said.replace(true) {
            crate::warn!(
                "policy",
                "{} import refusals logged; further ones are only counted \
                 (kube_bgp_import_refused_total)",
                self.cap
            );
        }
    }

    /// Runs `f` (a re-evaluation of held paths) without counting old refusals again.
    pub fn replay<T>(&self, f: impl FnOnce() -> T) -> T {
        self.replaying.set(true);
        let out = f();
        self.replaying.set(false);
        out
    }

    /// Refusals so far, by reason.
    pub fn counts(&self) -> BTreeMap<Reject, u64> {
        self.counts.borrow().clone()
    }
}

/// Why a prefix was refused, for the log.
pub fn reason(r: Reject) -> &'static str {
    match r {
        Reject::DefaultRoute => "a default route is never imported (D5, P-5)",
        Reject::Special(SpecialSpace::Unspecified) => {
            "it is in 0.0.0.0/8 or ::/128, addresses that are never routed"
        }
        Reject::Special(SpecialSpace::Loopback) => "it is loopback space (127.0.0.0/8, ::1)",
        Reject::Special(SpecialSpace::LinkLocal) => {
            "it is link-local space (169.254.0.0/16, fe80::/10)"
        }
        Reject::Special(SpecialSpace::Multicast) => "it is multicast space (224.0.0.0/4, ff00::/8)",
        Reject::Special(SpecialSpace::Reserved) => "it is reserved space (240.0.0.0/4)",
        Reject::Special(SpecialSpace::Ipv4Mapped) => "it is IPv4-mapped IPv6 space (::ffff:0:0/96)",
        Reject::OwnAddress => "it is a host route to one of this node's own addresses",
        Reject::ServiceVip => "it is a service VIP of this cluster (D5)",
        Reject::CustomImportReject => "listed in the node's customimportreject annotation",
        Reject::OwnPodCidr => "inside this node's own pod CIDR (D5)",
        Reject::ConnectedSubnet => {
            "a locally connected subnet or a more-specific of one; the connected route is kept (D5, P-13)"
        }
        Reject::NotPodCidr => {
            "cluster nodes may only announce pod CIDRs the API assigned to a node"
        }
        Reject::NotOwner => "inside a node's pod CIDR but not from that node's address (D5)",
    }
}

/// kube-router's import/export rules for one snapshot of the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct KubePolicy {
    pub model: PolicyModel,
    /// Addresses of node peers (sessions to other cluster nodes). A tree, not a hash
    /// set: looked up for every prefix imported and exported, where hashing an address
    /// cost more than a few comparisons.
    pub(crate) node_peers: BTreeSet<IpAddr>,
    /// What each locally originated prefix is.
    pub local: HashMap<Prefix, OriginKind>,
    /// Refusals logged so far (shared with earlier and later policies).
    pub refusals: Rc<RefusalLog>,
}

impl KubePolicy {
    fn is_node(&self, addr: &IpAddr) -> bool {
        self.node_peers.contains(addr)
    }
}

impl Policy for KubePolicy {
    fn import(&self, peer: &PeerInfo, prefix: &Prefix, attrs: &mut Cow<'_, Attrs>) -> bool {
        let nh = attrs.next_hop_for(prefix.afi());
        match self.model.import(self.is_node(&peer.addr), prefix, nh) {
            Ok(()) => true,
            Err(why) => {
                self.refusals.note(peer.addr, prefix, why);
                false
            }
        }
    }

    fn export(
        &self,
        peer: &PeerInfo,
        prefix: &Prefix,
        source: Source<'_>,
        attrs: &mut Cow<'_, Attrs>,
    ) -> bool {
        let to_node = self.is_node(&peer.addr);
        let src = match source {
            Source::Local => match self.local.get(prefix) {
                Some(OriginKind::PodCidr) => RouteSource::LocalPod,
                Some(OriginKind::Vip) => RouteSource::LocalVip,
                None => return false,
            },
            Source::Peer(p) if self.is_node(&p.addr) => RouteSource::FromNode,
            Source::Peer(_) => RouteSource::FromExternal,
        };
        let Some(actions) = self.model.export(to_node, src) else {
            return false;
        };
        if to_node {
            return true;
        }
        if let Some((asn, n)) = actions.prepend {
            attrs.to_mut().as_path.prepend(asn, n as usize);
        }
        for c in &actions.communities {
            if !attrs.communities.contains(c) {
                attrs.to_mut().communities.push(*c);
            }
        }
        if actions.next_hop_self {
            let afi = prefix.afi();
            let own = match afi {
                Afi::Ipv4 => peer.local_addr_v4.map(IpAddr::V4),
                Afi::Ipv6 => peer.local_addr_v6.map(IpAddr::V6),
            };
            if let Some(a) = own {
                attrs.to_mut().set_next_hop(afi, a, None);
            }
        }
        true
    }

    fn export_group(&self, peer: &PeerInfo) -> u64 {
        u64::from(self.is_node(&peer.addr))
    }

    /// kube-router sends external peers only this node's pod CIDRs and service IPs,
    /// and other nodes learned routes only when reflecting (`cluster::rules`).
    fn exports_learned(&self, peer: &PeerInfo) -> bool {
        self.is_node(&peer.addr) && self.model.rr_server
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgp::types::{AsPath, AsSegment};
    use crate::cluster::rules::ExternalActions;
    use std::net::Ipv4Addr;

    fn peer(addr: &str, remote_asn: u32) -> PeerInfo {
        PeerInfo {
            addr: addr.parse().unwrap(),
            remote_asn,
            local_asn: 64512,
            router_id: Ipv4Addr::new(1, 1, 1, 1),
            ibgp: remote_asn == 64512,
            rr_client: false,
            families: vec![Afi::Ipv4],
            local_addr_v4: Some(Ipv4Addr::new(10, 0, 0, 1)),
            local_addr_v6: None,
            next_hop_self: false,
        }
    }

    fn policy() -> KubePolicy {
        let pod: Prefix = "10.244.1.0/24".parse().unwrap();
        let vip: Prefix = "10.96.0.10/32".parse().unwrap();
        let model = PolicyModel {
            local_pod_cidrs: vec![pod],
            vips: [vip].into_iter().collect(),
            owners: crate::cluster::rules::PodCidrOwners::new([(
                "10.244.2.0/24".parse().unwrap(),
                vec!["10.0.0.2".parse().unwrap()],
            )]),
            external: ExternalActions {
                prepend: Some((65010, 2)),
                communities: vec![(65000 << 16) | 100],
                next_hop_self: true,
            },
            advertise_pod_cidr: true,
            ..PolicyModel::default()
        };
        KubePolicy {
            model,
            node_peers: ["10.0.0.2".parse().unwrap()].into_iter().collect(),
            local: [(pod, OriginKind::PodCidr), (vip, OriginKind::Vip)]
                .into_iter()
                .collect(),
            refusals: Rc::new(RefusalLog::default()),
        }
    }

    /// Attributes as the RIB hands them to export for an eBGP peer: local AS prepended,
    /// next hop the node's address.
    fn exported(pol: &KubePolicy, to: &PeerInfo, prefix: &str) -> Option<Attrs> {
        let mut a = Attrs {
            as_path: AsPath {
                segments: vec![AsSegment::Sequence(vec![64512])],
            },
            next_hop: Some(Ipv4Addr::new(10, 0, 0, 99)),
            ..Attrs::default()
        };
        a.communities.push(1);
        let mut cow = Cow::Owned(a);
        let p: Prefix = prefix.parse().unwrap();
        pol.export(to, &p, Source::Local, &mut cow)
            .then(|| cow.into_owned())
    }

    /// The shortcut the RIB takes must agree with `export` itself: when
    /// `exports_learned` says no, no learned path is exported, whatever its origin.
    #[test]
    fn exports_learned_agrees_with_export() {
        let node = peer("10.0.0.2", 64512);
        let ext = peer("192.0.2.1", 65000);
        let from_node = peer("10.0.0.2", 64512);
        let from_ext = peer("192.0.2.7", 65001);
        for rr in [false, true] {
            let mut pol = policy();
            pol.model.rr_server = rr;
            for to in [&node, &ext] {
                let any = [&from_node, &from_ext].iter().any(|src| {
                    let mut cow = Cow::Owned(Attrs::default());
                    let p: Prefix = "10.244.2.0/24".parse().unwrap();
                    pol.export(to, &p, Source::Peer(src), &mut cow)
                });
                if !pol.exports_learned(to) {
                    assert!(!any, "rr={rr} to {}: exported a learned path", to.addr);
                }
            }
            assert_eq!(pol.exports_learned(&node), rr);
            assert!(!pol.exports_learned(&ext));
        }
    }

    /// Refusals are counted by reason; each (peer, prefix) is logged once, and a
    /// re-evaluation (replay) counts only what it newly refuses.
    #[test]
    fn refusals_are_counted_once_per_decision_and_not_on_replay() {
        let pol = policy();
        let node = peer("10.0.0.2", 64512);
        let a = Attrs {
            next_hop: Some(Ipv4Addr::new(10, 0, 0, 2)),
            ..Attrs::default()
        };
        let bogus: Prefix = "0.0.0.0/1".parse().unwrap();
        let meta: Prefix = "169.254.169.254/32".parse().unwrap();
        for _ in 0..3 {
            assert!(!pol.import(&node, &bogus, &mut Cow::Borrowed(&a)));
        }
        assert!(!pol.import(&node, &meta, &mut Cow::Borrowed(&a)));
        let c = pol.refusals.counts();
        assert_eq!(c.get(&Reject::NotPodCidr), Some(&3));
        assert_eq!(
            c.get(&Reject::Special(SpecialSpace::LinkLocal)),
            Some(&1),
            "{c:?}"
        );
        assert_eq!(pol.refusals.logged.borrow().len(), 2);
        pol.refusals.replay(|| {
            assert!(!pol.import(&node, &bogus, &mut Cow::Borrowed(&a)));
            let other: Prefix = "192.0.2.0/24".parse().unwrap();
            assert!(!pol.import(&node, &other, &mut Cow::Borrowed(&a)));
        });
        assert_eq!(pol.refusals.counts().get(&Reject::NotPodCidr), Some(&4));
        assert!(!pol.refusals.replaying.get());
    }

    /// The log-once set is bounded: past the cap refusals are still counted.
    #[test]
    fn refusal_log_is_bounded() {
        assert_eq!(RefusalLog::default().cap, REFUSALS_LOGGED);
        let log = RefusalLog::with_cap(8);
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        for i in 0..20u32 {
            let p = Prefix::V4(Ipv4Addr::from(0xC000_0000 + (i << 8)), 24);
            log.note(peer, &p, Reject::NotPodCidr);
        }
        assert_eq!(log.logged.borrow().len(), 8);
        assert!(log.full_said.get());
        assert_eq!(log.counts().get(&Reject::NotPodCidr).copied(), Some(20));
    }

    #[test]
    fn external_peers_get_prepend_communities_and_next_hop_self() {
        let pol = policy();
        let ext = peer("192.0.2.1", 65000);
        let a = exported(&pol, &ext, "10.244.1.0/24").expect("pod CIDR exported");
        assert_eq!(a.as_path.to_string(), "65010 65010 64512");
        assert_eq!(a.communities, vec![1, (65000 << 16) | 100]);
        assert_eq!(
            a.next_hop,
            Some(Ipv4Addr::new(10, 0, 0, 1)),
            "session address"
        );
        let v = exported(&pol, &ext, "10.96.0.10/32").expect("VIP exported");
        assert_eq!(v.as_path.to_string(), "65010 65010 64512");
        assert_eq!(pol.export_group(&ext), 0);
    }

    #[test]
    fn node_peers_get_the_pod_cidr_unchanged_and_no_vips() {
        let pol = policy();
        let node = peer("10.0.0.2", 64512);
        let a = exported(&pol, &node, "10.244.1.0/24").expect("pod CIDR to nodes");
        assert_eq!(a.as_path.to_string(), "64512");
        assert_eq!(a.communities, vec![1]);
        assert_eq!(a.next_hop, Some(Ipv4Addr::new(10, 0, 0, 99)));
        assert!(exported(&pol, &node, "10.96.0.10/32").is_none());
        assert!(
            exported(&pol, &node, "172.16.0.0/16").is_none(),
            "unknown local prefix"
        );
        assert_eq!(pol.export_group(&node), 1);
    }

    #[test]
    fn learned_routes_are_not_passed_on_and_imports_follow_d5() {
        let pol = policy();
        let node = peer("10.0.0.2", 64512);
        let ext = peer("192.0.2.1", 65000);
        let p: Prefix = "10.244.2.0/24".parse().unwrap();
        let a = Attrs {
            next_hop: Some(Ipv4Addr::new(10, 0, 0, 2)),
            ..Attrs::default()
        };
        assert!(!pol.export(&ext, &p, Source::Peer(&node), &mut Cow::Borrowed(&a)));
        assert!(!pol.export(&node, &p, Source::Peer(&ext), &mut Cow::Borrowed(&a)));
        // From its owner: accepted; the same prefix from another next hop: refused.
        assert!(pol.import(&node, &p, &mut Cow::Borrowed(&a)));
        let wrong = Attrs {
            next_hop: Some(Ipv4Addr::new(10, 0, 0, 3)),
            ..Attrs::default()
        };
        assert!(!pol.import(&node, &p, &mut Cow::Borrowed(&wrong)));
        let own: Prefix = "10.244.1.0/25".parse().unwrap();
        assert!(
            !pol.import(&ext, &own, &mut Cow::Borrowed(&a)),
            "own pod CIDR"
        );
    }
}
