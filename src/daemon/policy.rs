//! The RIB's policy hook filled with kube-router's rules: adapts `cluster::policy`'s
//! pure decisions to `bgp::rib::Policy` (peer classification, origin of local routes,
//! the actions applied towards external peers).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use crate::bgp::rib::{PeerInfo, Policy, Source};
use crate::bgp::types::{Afi, Attrs, Prefix};
use crate::cluster::adverts::OriginKind;
use crate::cluster::policy::{PolicyModel, RouteSource};

/// kube-router's import/export rules for one snapshot of the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubePolicy {
    pub model: PolicyModel,
    /// Addresses of node peers (sessions to other cluster nodes).
    pub node_peers: HashSet<IpAddr>,
    /// What each locally originated prefix is.
    pub local: HashMap<Prefix, OriginKind>,
}

impl KubePolicy {
    fn is_node(&self, addr: &IpAddr) -> bool {
        self.node_peers.contains(addr)
    }
}

impl Policy for KubePolicy {
    fn import(&self, peer: &PeerInfo, prefix: &Prefix, attrs: &mut Cow<'_, Attrs>) -> bool {
        let nh = attrs.next_hop_for(prefix.afi());
        self.model
            .import(self.is_node(&peer.addr), prefix, nh)
            .is_ok()
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
