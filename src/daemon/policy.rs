//! The RIB's policy hook filled with kube-router's rules: adapts `cluster::policy`'s
//! pure decisions to `bgp::rib::Policy` (peer classification, origin of local routes,
//! the actions applied towards external peers), and logs each import refusal once with
//! its reason.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::rc::Rc;

use crate::bgp::rib::{PeerInfo, Policy, Source};
use crate::bgp::types::{Afi, Attrs, Prefix};
use crate::cluster::adverts::OriginKind;
use crate::cluster::policy::{PolicyModel, Reject, RouteSource};

/// Most refusals remembered; beyond that new ones are no longer logged.
const REFUSALS_LOGGED: usize = 4096;

/// Import refusals already logged, shared by the successive policies of one daemon so
/// each (peer, prefix) is logged once, not at every re-evaluation.
#[derive(Default)]
pub struct RefusalLog(RefCell<BTreeSet<(IpAddr, Prefix)>>);

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
        write!(f, "RefusalLog({} logged)", self.0.borrow().len())
    }
}

impl RefusalLog {
    fn note(&self, peer: IpAddr, prefix: &Prefix, why: Reject) {
        let mut seen = self.0.borrow_mut();
        if seen.len() >= REFUSALS_LOGGED || !seen.insert((peer, *prefix)) {
            return;
        }
        crate::info!(
            "policy",
            "peer {peer}: {prefix} not imported: {}",
            reason(why)
        );
    }
}

/// Why a prefix was refused, for the log.
pub fn reason(r: Reject) -> &'static str {
    match r {
        Reject::DefaultRoute => "a default route is never imported (D5, P-5)",
        Reject::ServiceVip => "it is a service VIP of this cluster (D5)",
        Reject::CustomImportReject => "listed in the node's customimportreject annotation",
        Reject::OwnPodCidr => "inside this node's own pod CIDR (D5)",
        Reject::ConnectedSubnet => {
            "equal to a locally connected subnet; the connected route is kept (D5, P-13)"
        }
        Reject::NotOwner => "inside another node's pod CIDR but not from that node's address (D5)",
    }
}

/// kube-router's import/export rules for one snapshot of the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubePolicy {
    pub model: PolicyModel,
    /// Addresses of node peers (sessions to other cluster nodes).
    pub node_peers: HashSet<IpAddr>,
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
}
