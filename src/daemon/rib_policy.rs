//! The RIB's policy hook filled with kube-router's rules: adapts `cluster::rules`'s
//! pure decisions to `bgp::rib::Policy` (peer classification, origin of local routes,
//! the actions applied towards external peers, RFC 8326 graceful shutdown on export
//! while draining and on import always), and counts and logs import refusals (each
//! (peer, prefix) logged once, in a bounded set).

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::rc::Rc;

use crate::bgp::rib::{PeerInfo, Policy, Source};
use crate::bgp::types::Attrs;
use crate::cluster::adverts::OriginKind;
use crate::cluster::rules::{
    ExportStop, ExternalActions, PolicyModel, Reject, RouteSource, graceful_shutdown_export,
    graceful_shutdown_import,
};
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
            crate::info!("policy", "peer {peer}: {prefix} not imported: {why}");
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
    pub(crate) fn replay<T>(&self, f: impl FnOnce() -> T) -> T {
        self.replaying.set(true);
        let out = f();
        self.replaying.set(false);
        out
    }

    /// Refusals so far, by reason.
    pub(crate) fn counts(&self) -> BTreeMap<Reject, u64> {
        self.counts.borrow().clone()
    }
}

/// kube-router's import/export rules for one snapshot of the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct KubePolicy {
    pub(crate) model: PolicyModel,
    /// Addresses of node peers (sessions to other cluster nodes). A tree, not a hash
    /// set: looked up for every prefix imported and exported, where hashing an address
    /// cost more than a few comparisons.
    pub(crate) node_peers: BTreeSet<IpAddr>,
    /// What each locally originated prefix is.
    pub(crate) local: HashMap<Prefix, OriginKind>,
    /// Refusals logged so far (shared with earlier and later policies).
    pub(crate) refusals: Rc<RefusalLog>,
}

impl KubePolicy {
    /// Whether `addr` is a cluster node's (a node peer, or any node address).
    pub(crate) fn is_node(&self, addr: &IpAddr) -> bool {
        self.node_peers.contains(addr)
    }

    /// The import decision for `prefix` from `peer` with next hop from `attrs`: the one
    /// the RIB's hook takes (which also counts and logs a refusal). No side effects.
    pub(crate) fn import_verdict(
        &self,
        peer: IpAddr,
        prefix: &Prefix,
        attrs: &Attrs,
    ) -> Result<(), Reject> {
        let nh = attrs.next_hop_for(prefix.afi());
        self.model.import(self.is_node(&peer), prefix, nh)
    }

    /// The export decision for `prefix` towards `peer`: the actions applied (empty
    /// towards nodes), or why not. The one the RIB's hook takes; no side effects.
    pub(crate) fn export_verdict(
        &self,
        peer: IpAddr,
        prefix: &Prefix,
        source: Source<'_>,
    ) -> Result<ExternalActions, ExportStop> {
        self.export_decision(self.is_node(&peer), prefix, source)
    }

    /// [`KubePolicy::export_verdict`] with the peer already classified, so the export
    /// hook looks its peer up once.
    fn export_decision(
        &self,
        to_node: bool,
        prefix: &Prefix,
        source: Source<'_>,
    ) -> Result<ExternalActions, ExportStop> {
        let src = match source {
            Source::Local => match self.local.get(prefix) {
                Some(OriginKind::PodCidr) => RouteSource::LocalPod,
                Some(OriginKind::Vip) => RouteSource::LocalVip,
                None => return Err(ExportStop::NotOriginated),
            },
            Source::Peer(p) if self.is_node(&p.addr) => RouteSource::FromNode,
            Source::Peer(_) => RouteSource::FromExternal,
        };
        self.model.export(to_node, src)
    }
}

impl Policy for KubePolicy {
    fn import(&self, peer: &PeerInfo, prefix: &Prefix, attrs: &mut Cow<'_, Attrs>) -> bool {
        match self.import_verdict(peer.addr, prefix, attrs) {
            Ok(()) => {
                graceful_shutdown_import(attrs);
                true
            }
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
        let Ok(actions) = self.export_decision(to_node, prefix, source) else {
            return false;
        };
        if to_node {
            if self.model.graceful_shutdown {
                graceful_shutdown_export(attrs, peer.ibgp);
            }
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
        if self.model.graceful_shutdown {
            graceful_shutdown_export(attrs, peer.ibgp);
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
    use crate::cluster::rules::SpecialSpace;
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

    /// The verdicts explain shows are the hook's decisions, without its side effects.
    #[test]
    fn verdicts_agree_with_the_hook_and_count_nothing() {
        let pol = policy();
        let node = peer("10.0.0.2", 64512);
        let ext = peer("192.0.2.1", 65000);
        let a = Attrs {
            next_hop: Some(Ipv4Addr::new(10, 0, 0, 2)),
            ..Attrs::default()
        };
        let bogus: Prefix = "192.0.2.0/24".parse().unwrap();
        assert_eq!(
            pol.import_verdict(node.addr, &bogus, &a),
            Err(Reject::NotPodCidr)
        );
        assert!(pol.refusals.counts().is_empty(), "a verdict counts nothing");
        assert!(!pol.import(&node, &bogus, &mut Cow::Borrowed(&a)));
        assert_eq!(pol.refusals.counts().get(&Reject::NotPodCidr), Some(&1));
        assert!(
            Reject::NotPodCidr.to_string().contains("allow-list"),
            "{}",
            Reject::NotPodCidr
        );
        let vip: Prefix = "10.96.0.10/32".parse().unwrap();
        assert_eq!(
            pol.export_verdict(node.addr, &vip, Source::Local),
            Err(ExportStop::VipToNode)
        );
        let acts = pol
            .export_verdict(ext.addr, &vip, Source::Local)
            .expect("VIP to an external peer");
        assert_eq!(acts.prepend, Some((65010, 2)));
        assert_eq!(
            pol.export_verdict(
                ext.addr,
                &"10.244.2.0/24".parse().unwrap(),
                Source::Peer(&node)
            ),
            Err(ExportStop::LearnedToExternal)
        );
        assert_eq!(
            pol.export_verdict(ext.addr, &"172.16.0.0/16".parse().unwrap(), Source::Local),
            Err(ExportStop::NotOriginated)
        );
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

    /// The announcements `to` is sent in `out`: (prefix, attributes).
    fn sent_to(
        out: &[crate::bgp::rib::OutBatch],
        to: crate::bgp::rib::PeerId,
    ) -> Vec<(Prefix, Attrs)> {
        let mut v = Vec::new();
        for m in crate::bgp::rib::messages_for(out, to) {
            if let crate::bgp::rib::OutMsg::Announce { attrs, prefixes } = m {
                v.extend(prefixes.iter().map(|p| (*p, (*attrs).clone())));
            }
        }
        v
    }

    fn rib_with(pol: &KubePolicy) -> crate::bgp::rib::Rib {
        crate::bgp::rib::Rib::new(
            crate::bgp::rib::RibConfig {
                router_id: Ipv4Addr::new(10, 0, 0, 1),
                cluster_id: None,
            },
            Box::new(pol.clone()),
        )
    }

    fn up(rib: &mut crate::bgp::rib::Rib, info: &PeerInfo) -> crate::bgp::rib::PeerId {
        let id = rib.add_peer(info.clone());
        rib.peer_up(id, info.clone()).expect("peer up");
        id
    }

    /// RFC 8326 on export, through the RIB as the daemon runs it: while draining, every
    /// local route goes to every peer again with 65535:0 added (after the node's own
    /// communities), and with LOCAL_PREF 0 to iBGP peers only; a peer that comes up
    /// during the drain gets the same; ending the drain sends the normal attributes.
    #[test]
    fn draining_reannounces_with_graceful_shutdown_and_restores() {
        use crate::bgp::types::community::GRACEFUL_SHUTDOWN;
        let mut pol = policy();
        let mut rib = rib_with(&pol);
        let ext = peer("192.0.2.1", 65000);
        let ibgp_ext = peer("192.0.2.2", 64512);
        let node = peer("10.0.0.2", 64512);
        let (e, i, n) = (
            up(&mut rib, &ext),
            up(&mut rib, &ibgp_ext),
            up(&mut rib, &node),
        );
        let pod: Prefix = "10.244.1.0/24".parse().unwrap();
        let vip: Prefix = "10.96.0.10/32".parse().unwrap();
        for p in [pod, vip] {
            let mut a = Attrs::default();
            a.set_next_hop(Afi::Ipv4, "10.0.0.1".parse().unwrap(), None);
            rib.originate(p, a);
        }
        let out = rib.take_out();
        for (to, want) in [(e, 2), (i, 2), (n, 1)] {
            let got = sent_to(&out, to);
            assert_eq!(got.len(), want, "{got:?}");
            assert!(
                got.iter()
                    .all(|(_, a)| !a.communities.contains(&GRACEFUL_SHUTDOWN)),
                "{got:?}"
            );
        }

        // Starting the drain touches export only (what the daemon does).
        pol.model.graceful_shutdown = true;
        rib.set_policy(Box::new(pol.clone()));
        rib.reexport();
        let out = rib.take_out();
        let to_ext = sent_to(&out, e);
        assert_eq!(to_ext.len(), 2, "both routes re-announced: {to_ext:?}");
        for (p, a) in &to_ext {
            assert_eq!(
                a.communities,
                vec![(65000 << 16) | 100, GRACEFUL_SHUTDOWN],
                "{p}"
            );
            assert_eq!(a.local_pref, None, "no LOCAL_PREF to eBGP: {p}");
        }
        let to_ibgp = sent_to(&out, i);
        assert_eq!(to_ibgp.len(), 2);
        assert!(
            to_ibgp
                .iter()
                .all(|(_, a)| a.local_pref == Some(0)
                    && a.communities.contains(&GRACEFUL_SHUTDOWN)),
            "{to_ibgp:?}"
        );
        let to_node = sent_to(&out, n);
        assert_eq!(to_node.len(), 1);
        assert_eq!(to_node[0].0, pod);
        assert_eq!(to_node[0].1.local_pref, Some(0));
        assert_eq!(to_node[0].1.communities, vec![GRACEFUL_SHUTDOWN]);

        // A peer that comes up while draining gets the drained attributes at once.
        let late = peer("192.0.2.9", 65009);
        let l = up(&mut rib, &late);
        let got = sent_to(&rib.take_out(), l);
        assert_eq!(got.len(), 2);
        assert!(
            got.iter()
                .all(|(_, a)| a.communities.contains(&GRACEFUL_SHUTDOWN))
        );

        pol.model.graceful_shutdown = false;
        rib.set_policy(Box::new(pol));
        rib.reevaluate();
        let out = rib.take_out();
        for (to, want) in [(e, 2), (i, 2), (n, 1), (l, 2)] {
            let got = sent_to(&out, to);
            assert_eq!(got.len(), want, "restored: {got:?}");
            assert!(
                got.iter()
                    .all(|(_, a)| !a.communities.contains(&GRACEFUL_SHUTDOWN)
                        && a.local_pref != Some(0)),
                "restored: {got:?}"
            );
        }
    }

    /// RFC 8326 §4 on import: of two paths for one prefix, the one carrying 65535:0
    /// gets LOCAL_PREF 0 and loses, whatever the tie-breakers said before; once the
    /// community is gone it competes normally again.
    #[test]
    fn received_graceful_shutdown_loses_the_best_path() {
        use crate::bgp::types::community::GRACEFUL_SHUTDOWN;
        let pol = policy();
        let mut rib = rib_with(&pol);
        // Two routers in one AS, both offering the same external prefix; the one with
        // the lower router ID wins while neither drains.
        let mut r1 = peer("192.0.2.1", 65000);
        r1.router_id = Ipv4Addr::new(1, 1, 1, 1);
        let mut r2 = peer("192.0.2.2", 65000);
        r2.router_id = Ipv4Addr::new(2, 2, 2, 2);
        let (a, b) = (up(&mut rib, &r1), up(&mut rib, &r2));
        let p: Prefix = "198.51.100.0/24".parse().unwrap();
        let path = |nh: &str, gshut: bool| {
            let mut x = Attrs {
                as_path: AsPath {
                    segments: vec![AsSegment::Sequence(vec![65000])],
                },
                next_hop: Some(nh.parse().unwrap()),
                ..Attrs::default()
            };
            if gshut {
                x.communities.push(GRACEFUL_SHUTDOWN);
            }
            x
        };
        rib.announce(a, path("192.0.2.1", false), &[p]).unwrap();
        rib.announce(b, path("192.0.2.2", false), &[p]).unwrap();
        assert_eq!(rib.best_next_hop(&p).map(|x| x.0), Some(Some(a)));
        rib.announce(a, path("192.0.2.1", true), &[p]).unwrap();
        assert_eq!(rib.best_next_hop(&p).map(|x| x.0), Some(Some(b)));
        let drained = rib
            .paths(&p)
            .iter()
            .find(|x| x.peer() == Some(a))
            .and_then(|x| x.accepted())
            .map(|x| x.local_pref);
        assert_eq!(drained, Some(Some(0)));
        rib.announce(a, path("192.0.2.1", false), &[p]).unwrap();
        assert_eq!(rib.best_next_hop(&p).map(|x| x.0), Some(Some(a)));
    }

    /// IPv6 routes are drained the same way: an IPv6 pod CIDR goes to a dual-stack
    /// iBGP node peer with 65535:0 and LOCAL_PREF 0, and to an eBGP router with the
    /// community only.
    #[test]
    fn ipv6_routes_are_drained_too() {
        use crate::bgp::types::community::GRACEFUL_SHUTDOWN;
        let mut pol = policy();
        let pod6: Prefix = "fd00:244:1::/64".parse().unwrap();
        pol.local.insert(pod6, OriginKind::PodCidr);
        pol.model.graceful_shutdown = true;
        let mut rib = rib_with(&pol);
        let dual = |addr: &str, asn: u32| PeerInfo {
            families: vec![Afi::Ipv4, Afi::Ipv6],
            local_addr_v6: Some("fd00::1".parse().unwrap()),
            ..peer(addr, asn)
        };
        let (node, ext) = (dual("10.0.0.2", 64512), dual("192.0.2.1", 65000));
        let (n, e) = (up(&mut rib, &node), up(&mut rib, &ext));
        let mut a = Attrs::default();
        a.set_next_hop(Afi::Ipv6, "fd00::1".parse().unwrap(), None);
        rib.originate(pod6, a);
        let out = rib.take_out();
        let to_node = sent_to(&out, n);
        assert_eq!(to_node.len(), 1, "{to_node:?}");
        assert_eq!(to_node[0].0, pod6);
        assert_eq!(to_node[0].1.local_pref, Some(0));
        assert_eq!(to_node[0].1.communities, vec![GRACEFUL_SHUTDOWN]);
        let to_ext = sent_to(&out, e);
        assert_eq!(to_ext.len(), 1, "{to_ext:?}");
        assert_eq!(to_ext[0].1.local_pref, None);
        assert!(to_ext[0].1.communities.contains(&GRACEFUL_SHUTDOWN));
    }

    /// Node n4 (10.0.0.4) with node peers n1..n3 (10.0.0.1..3, n1 a route-reflector
    /// client when `rr`); each peer up in turn, so the group of plain node peers is
    /// created for n2 with a reflector, for n1 without. Each announces its pod CIDR.
    struct Cluster {
        pol: KubePolicy,
        rib: crate::bgp::rib::Rib,
        ids: [crate::bgp::rib::PeerId; 3],
        infos: [PeerInfo; 3],
    }

    const N1_POD: &str = "10.244.1.0/24";
    const N4_POD: &str = "10.244.4.0/24";

    impl Cluster {
        /// `rr`: n4 reflects (cluster id set, n1 its client). `external`: what n4 applies
        /// towards non-node peers (communities, pod CIDR advertised or not).
        fn new(rr: bool, external: ExternalActions, advertise_pod_cidr: bool) -> Cluster {
            let node = |i: u8| -> IpAddr { IpAddr::V4(Ipv4Addr::new(10, 0, 0, i)) };
            let pod = |i: u8| -> Prefix { format!("10.244.{i}.0/24").parse().unwrap() };
            let model = PolicyModel {
                local_pod_cidrs: vec![pod(4)],
                owners: crate::cluster::rules::PodCidrOwners::new(
                    (1..=3).map(|i| (pod(i), vec![node(i)])),
                ),
                external,
                advertise_pod_cidr,
                rr_server: rr,
                ..PolicyModel::default()
            };
            let pol = KubePolicy {
                model,
                node_peers: (1..=3).map(node).collect(),
                local: [(pod(4), OriginKind::PodCidr)].into_iter().collect(),
                refusals: Rc::new(RefusalLog::default()),
            };
            let mut rib = crate::bgp::rib::Rib::new(
                crate::bgp::rib::RibConfig {
                    router_id: Ipv4Addr::new(10, 0, 0, 4),
                    cluster_id: rr.then_some(Ipv4Addr::new(10, 0, 0, 4)),
                },
                Box::new(pol.clone()),
            );
            let infos = [1, 2, 3].map(|i| PeerInfo {
                router_id: Ipv4Addr::new(10, 0, 0, i),
                rr_client: rr && i == 1,
                local_addr_v4: Some(Ipv4Addr::new(10, 0, 0, 4)),
                ..peer(&format!("10.0.0.{i}"), 64512)
            });
            let ids = [0, 1, 2].map(|i| up(&mut rib, &infos[i]));
            let mut a = Attrs::default();
            a.set_next_hop(Afi::Ipv4, node(4), None);
            rib.originate(pod(4), a);
            for (i, &id) in ids.iter().enumerate() {
                let n = i as u8 + 1;
                let a = Attrs {
                    next_hop: Some(Ipv4Addr::new(10, 0, 0, n)),
                    ..Attrs::default()
                };
                rib.announce(id, a, &[pod(n)]).expect("announce");
            }
            let mut c = Cluster {
                pol,
                rib,
                ids,
                infos,
            };
            let out = c.rib.take_out();
            let n3 = sent_to(&out, c.ids[2]);
            let mut want = vec![N4_POD];
            if rr {
                want.insert(0, N1_POD);
            }
            let mut got: Vec<String> = n3.iter().map(|(p, _)| p.to_string()).collect();
            got.sort();
            assert_eq!(got, want, "n3's table before anything happens");
            c
        }

        /// What the daemon does when Node `n` (1..=3) is deleted: the policy no longer
        /// counts it as a node, then its peer is removed.
        fn delete_node(&mut self, n: u8) {
            let addr: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, n));
            self.pol.node_peers.remove(&addr);
            self.rib.set_policy(Box::new(self.pol.clone()));
            self.rib.reevaluate();
            self.rib
                .remove_peer(self.ids[n as usize - 1])
                .expect("remove");
        }
    }

    /// Everything `to` is sent in `out`, as text, for exact comparisons.
    fn all_to(out: &[crate::bgp::rib::OutBatch], to: crate::bgp::rib::PeerId) -> Vec<String> {
        crate::bgp::rib::messages_for(out, to)
            .iter()
            .map(|m| match m {
                crate::bgp::rib::OutMsg::Announce { prefixes, attrs } => {
                    format!("announce {prefixes:?} {:?}", attrs.communities)
                }
                crate::bgp::rib::OutMsg::Withdraw { prefixes } => format!("withdraw {prefixes:?}"),
                crate::bgp::rib::OutMsg::EndOfRib(f) => format!("eor {f:?}"),
            })
            .collect()
    }

    /// Deleting the Node an update group of node peers was created for changes nothing
    /// for the group's other members: a reflector keeps reflecting n1's pod CIDR to n3,
    /// and every node keeps n4's own pod CIDR unchanged (not withdrawn when pod CIDRs are
    /// not advertised to external peers, not re-sent with the external peers'
    /// communities). Whether the deleted node's session was up, went down gracefully
    /// first, or its stale routes had already been flushed.
    #[test]
    fn deleting_a_groups_first_node_leaves_the_other_nodes_routes() {
        let external = ExternalActions {
            communities: vec![(65000 << 16) | 100],
            ..ExternalActions::default()
        };
        for rr in [true, false] {
            // The plain nodes' group was created for the first plain node up: n2 when
            // n1 is a client, n1 otherwise.
            let gone = if rr { 2 } else { 1 };
            let others: Vec<usize> = (1..=3).filter(|&n| n != gone).collect();
            for advertise in [true, false] {
                for before in ["up", "graceful-down", "stale-flushed"] {
                    let case = format!("rr={rr} advertise-pod-cidr={advertise} n{gone} {before}");
                    let mut c = Cluster::new(rr, external.clone(), advertise);
                    let ids = c.ids;
                    let id = |n: usize| ids[n - 1];
                    let g = id(gone);
                    if before != "up" {
                        c.rib.peer_down(g, true).expect("down");
                        let out = c.rib.take_out();
                        for &n in &others {
                            assert_eq!(all_to(&out, id(n)), Vec::<String>::new(), "{case}");
                        }
                    }
                    if before == "stale-flushed" {
                        c.rib.stale_timeout(g).expect("stale");
                        let out = c.rib.take_out();
                        assert_eq!(all_to(&out, id(3)), Vec::<String>::new(), "{case}");
                    }
                    c.delete_node(gone as u8);
                    let out = c.rib.take_out();
                    assert_eq!(all_to(&out, id(3)), Vec::<String>::new(), "{case}");
                    // n1 (a client) loses n2's pod CIDR when it was still held; without
                    // a reflector n2 was never sent n1's.
                    let (other, want) = if rr && before != "stale-flushed" {
                        (1, vec!["withdraw [V4(10.244.2.0, 24)]".to_string()])
                    } else {
                        (others[0], vec![])
                    };
                    assert_eq!(all_to(&out, id(other)), want, "{case}");
                    // What n3 is sent is what a fresh export for n3 decides.
                    for p in [N1_POD, N4_POD] {
                        let p: Prefix = p.parse().unwrap();
                        let sent = c.rib.explain_export(id(3), &p);
                        assert_eq!(sent.decision.ok(), sent.sent, "{case} {p}");
                    }
                }
            }
        }
    }

    /// A group outlives the peer it was created for in every way that peer can leave:
    /// moving to another group (it becomes a route-reflector client), and being the last
    /// member removed (the group is dropped; a peer coming up later gets the full table
    /// from a new one).
    #[test]
    fn update_groups_outlive_the_peer_they_were_created_for() {
        let mut c = Cluster::new(true, ExternalActions::default(), true);
        let [n1, n2, n3] = c.ids;
        // n2 becomes a client: it moves out of the plain nodes' group; n3 stays there
        // and is now reflected n2's pod CIDR (from a client).
        let mut info = c.infos[1].clone();
        info.rr_client = true;
        c.rib.update_peer(n2, info).expect("update");
        let out = c.rib.take_out();
        assert_eq!(
            all_to(&out, n3),
            vec!["announce [V4(10.244.2.0, 24)] []".to_string()]
        );
        // As a client, n2 now also gets n3's pod CIDR reflected.
        assert_eq!(
            all_to(&out, n2),
            vec!["announce [V4(10.244.3.0, 24)] []".to_string()]
        );
        assert_eq!(all_to(&out, n1), Vec::<String>::new());
        // Then n2's node is deleted: n3 (now alone in the group) loses n2's pod CIDR
        // and keeps everything else.
        c.delete_node(2);
        let out = c.rib.take_out();
        assert_eq!(
            all_to(&out, n3),
            vec!["withdraw [V4(10.244.2.0, 24)]".to_string()]
        );
        // n3, the last plain member, is deleted too; a new plain node comes up.
        c.delete_node(3);
        let out = c.rib.take_out();
        assert_eq!(
            all_to(&out, n1),
            vec!["withdraw [V4(10.244.3.0, 24)]".to_string()]
        );
        let n5_addr: IpAddr = "10.0.0.5".parse().unwrap();
        c.pol.node_peers.insert(n5_addr);
        c.rib.set_policy(Box::new(c.pol.clone()));
        c.rib.reevaluate();
        let info = PeerInfo {
            addr: n5_addr,
            ..c.infos[2].clone()
        };
        let n5 = up(&mut c.rib, &info);
        let out = c.rib.take_out();
        assert_eq!(
            all_to(&out, n5),
            vec![
                "announce [V4(10.244.4.0, 24)] []".to_string(),
                "announce [V4(10.244.1.0, 24)] []".to_string(),
                "eor Ipv4".to_string()
            ]
        );
    }
}
