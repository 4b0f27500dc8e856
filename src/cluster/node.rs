//! A Node object read the way kube-router reads it: addresses, primary IP, best address
//! per family, pod CIDRs and the routing annotations
//! (`kube-router.io/*`, docs/configuration.md).
//!
//! Pure: takes a `kube::objects::Node`, returns a `NodeModel` plus the problems found in
//! its annotations (each naming the node and the annotation). A bad annotation only
//! makes that field unusable; it never hides the rest of the node.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Problem;
use super::values;
use crate::kube::objects::{MetaMap, Node};
use crate::prefix::{Afi, Prefix};

pub(crate) const ANN_NODE_ASN: &str = "kube-router.io/node.asn";
pub(crate) const ANN_POD_CIDR: &str = "kube-router.io/pod-cidr";
pub(crate) const ANN_POD_CIDRS: &str = "kube-router.io/pod-cidrs";
pub(crate) const ANN_RR_SERVER: &str = "kube-router.io/rr.server";
pub(crate) const ANN_RR_CLIENT: &str = "kube-router.io/rr.client";
/// The annotations kube-bgp reads all start with this.
pub(crate) const ANN_PREFIX: &str = crate::kube::objects::KUBE_ROUTER_ANNOTATIONS;
/// Longest `kube-router.io/*` annotation value read (a peers list of several hundred
/// peers fits); a longer one is ignored with one problem line, like any bad value.
pub(crate) const MAX_ANNOTATION_BYTES: usize = 64 * 1024;

/// One node as kube-bgp understands it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NodeModel {
    pub(crate) name: String,
    /// First InternalIP, else first ExternalIP (any family).
    pub(crate) primary: Option<IpAddr>,
    /// InternalIP v4s then ExternalIP v4s, in order.
    pub(crate) v4: Vec<Ipv4Addr>,
    pub(crate) v6: Vec<Ipv6Addr>,
    /// Pod CIDRs this node advertises: `kube-router.io/pod-cidrs` if present, else
    /// `spec.podCIDRs` (+ `spec.podCIDR`).
    pub(crate) pod_cidrs: Vec<Prefix>,
    /// Every pod CIDR any source assigns to this node (annotations and spec): what
    /// import safety (D5) treats as owned by this node.
    pub(crate) owned_cidrs: Vec<Prefix>,
    /// `kube-router.io/node.asn`, when present and valid.
    pub(crate) asn: Option<u32>,
    /// `kube-router.io/rr.server` cluster ID, when present and valid.
    pub(crate) rr_server: Option<Ipv4Addr>,
    /// `kube-router.io/rr.client` cluster ID, when present and valid.
    pub(crate) rr_client: Option<Ipv4Addr>,
    /// The node's `kube-router.io/*` annotations within `MAX_ANNOTATION_BYTES`.
    pub(crate) annotations: MetaMap,
    /// `spec.unschedulable`: the node is cordoned.
    pub(crate) cordoned: bool,
}

impl NodeModel {
    /// Reads a Node object. Problems in its annotations are pushed to `problems`.
    pub(crate) fn from_node(node: &Node, problems: &mut Vec<Problem>) -> NodeModel {
        let name = node.metadata.name.clone();
        let mut ann = MetaMap::new();
        for (k, v) in &node.metadata.annotations {
            if !k.starts_with(ANN_PREFIX) {
                continue;
            }
            if v.len() > MAX_ANNOTATION_BYTES {
                problems.push(Problem::node(
                    &name,
                    k,
                    format!(
                        "{} bytes, longer than the {MAX_ANNOTATION_BYTES} accepted; ignored",
                        v.len()
                    ),
                ));
                continue;
            }
            ann.insert(k.clone(), v.clone());
        }
        let ann = &ann;
        let mut internal = Vec::new();
        let mut external = Vec::new();
        for a in &node.status.addresses {
            let Ok(ip) = a.address.parse::<IpAddr>() else {
                continue;
            };
            match a.type_.as_str() {
                "InternalIP" => internal.push(ip),
                "ExternalIP" => external.push(ip),
                _ => {}
            }
        }
        let primary = internal.first().or(external.first()).copied();
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for ip in internal.iter().chain(external.iter()) {
            match ip {
                IpAddr::V4(a) => v4.push(*a),
                IpAddr::V6(a) => v6.push(*a),
            }
        }

        let mut spec_cidrs = Vec::new();
        for s in node
            .spec
            .pod_cidrs
            .iter()
            .chain(std::iter::once(&node.spec.pod_cidr))
        {
            if s.is_empty() {
                continue;
            }
            match s.parse::<Prefix>() {
                Ok(p) if !spec_cidrs.contains(&p) => spec_cidrs.push(p),
                Ok(_) => {}
                Err(e) => problems.push(Problem::node(&name, "spec.podCIDRs", e.to_string())),
            }
        }
        let mut ann_cidrs = Vec::new();
        if let Some(v) = ann.get(ANN_POD_CIDRS) {
            for item in values::split_list(v) {
                match item.parse::<Prefix>() {
                    Ok(p) if !ann_cidrs.contains(&p) => ann_cidrs.push(p),
                    Ok(_) => {}
                    Err(e) => problems.push(Problem::node(&name, ANN_POD_CIDRS, e.to_string())),
                }
            }
        }
        let mut single = None;
        if let Some(v) = ann.get(ANN_POD_CIDR) {
            match v.parse::<Prefix>() {
                Ok(p) => single = Some(p),
                Err(e) => problems.push(Problem::node(&name, ANN_POD_CIDR, e.to_string())),
            }
        }
        let pod_cidrs = if ann.contains_key(ANN_POD_CIDRS) {
            ann_cidrs.clone()
        } else if !spec_cidrs.is_empty() {
            spec_cidrs.clone()
        } else {
            single.into_iter().collect()
        };
        let mut owned_cidrs = Vec::new();
        for p in ann_cidrs
            .iter()
            .chain(spec_cidrs.iter())
            .chain(single.iter())
        {
            if !owned_cidrs.contains(p) {
                owned_cidrs.push(*p);
            }
        }

        let asn = ann
            .get(ANN_NODE_ASN)
            .and_then(|v| match values::parse_asn(v) {
                Ok(a) if a != 0 => Some(a),
                Ok(_) => {
                    problems.push(Problem::node(&name, ANN_NODE_ASN, "ASN 0 is not valid"));
                    None
                }
                Err(e) => {
                    problems.push(Problem::node(&name, ANN_NODE_ASN, e));
                    None
                }
            });
        let cluster_id = |key: &str, problems: &mut Vec<Problem>| {
            ann.get(key)
                .and_then(|v| match values::parse_cluster_id(v) {
                    Ok(id) => Some(id),
                    Err(e) => {
                        problems.push(Problem::node(&name, key, e));
                        None
                    }
                })
        };
        let rr_server = cluster_id(ANN_RR_SERVER, problems);
        let rr_client = cluster_id(ANN_RR_CLIENT, problems);

        NodeModel {
            name,
            primary,
            v4,
            v6,
            pod_cidrs,
            owned_cidrs,
            asn,
            rr_server,
            rr_client,
            annotations: ann.clone(),
            cordoned: node.spec.unschedulable,
        }
    }

    /// Best IPv4: the primary if it is v4, else the first v4.
    pub(crate) fn best_v4(&self) -> Option<Ipv4Addr> {
        match self.primary {
            Some(IpAddr::V4(a)) => Some(a),
            _ => self.v4.first().copied(),
        }
    }

    /// Best IPv6: the primary if it is v6, else the first v6.
    pub(crate) fn best_v6(&self) -> Option<Ipv6Addr> {
        match self.primary {
            Some(IpAddr::V6(a)) => Some(a),
            _ => self.v6.first().copied(),
        }
    }

    /// Best address of a family.
    pub(crate) fn best(&self, afi: Afi) -> Option<IpAddr> {
        match afi {
            Afi::Ipv4 => self.best_v4().map(IpAddr::V4),
            Afi::Ipv6 => self.best_v6().map(IpAddr::V6),
        }
    }

    /// Families the node has addresses of (kube-router's "capable").
    pub(crate) fn families(&self) -> Vec<Afi> {
        let mut f = Vec::new();
        if !self.v4.is_empty() {
            f.push(Afi::Ipv4);
        }
        if !self.v6.is_empty() {
            f.push(Afi::Ipv6);
        }
        f
    }

    /// Whether `ip` is one of the node's Internal/External addresses.
    pub(crate) fn has_addr(&self, ip: &IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => self.v4.contains(a),
            IpAddr::V6(a) => self.v6.contains(a),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::objects::{Node, NodeAddress};

    pub(crate) fn node(
        name: &str,
        addrs: &[(&str, &str)],
        cidrs: &[&str],
        ann: &[(&str, &str)],
    ) -> Node {
        let mut n = Node::default();
        n.metadata.name = name.into();
        for (t, a) in addrs {
            n.status.addresses.push(NodeAddress {
                type_: t.to_string(),
                address: a.to_string(),
            });
        }
        n.spec.pod_cidrs = cidrs.iter().map(|s| s.to_string()).collect();
        n.spec.pod_cidr = cidrs.first().map(|s| s.to_string()).unwrap_or_default();
        for (k, v) in ann {
            n.metadata.annotations.insert(k.to_string(), v.to_string());
        }
        n
    }

    #[test]
    fn primary_and_families() {
        let n = node(
            "a",
            &[
                ("Hostname", "a"),
                ("ExternalIP", "192.0.2.1"),
                ("InternalIP", "fd00::1"),
                ("InternalIP", "10.0.0.1"),
            ],
            &["10.244.1.0/24", "fd00:244:1::/64"],
            &[],
        );
        let mut p = vec![];
        let m = NodeModel::from_node(&n, &mut p);
        assert!(p.is_empty());
        assert_eq!(m.primary, Some("fd00::1".parse().unwrap()));
        assert_eq!(m.best_v4(), Some("10.0.0.1".parse().unwrap()));
        assert_eq!(m.v4.len(), 2);
        assert_eq!(m.families(), vec![Afi::Ipv4, Afi::Ipv6]);
        assert_eq!(m.pod_cidrs.len(), 2);
    }

    #[test]
    fn annotations_and_problems() {
        let n = node(
            "b",
            &[("InternalIP", "10.0.0.2")],
            &["10.244.2.0/24"],
            &[
                (ANN_NODE_ASN, "0x10"),
                (ANN_RR_SERVER, "42"),
                (ANN_POD_CIDRS, "10.244.9.0/24,bogus"),
            ],
        );
        let mut p = vec![];
        let m = NodeModel::from_node(&n, &mut p);
        assert_eq!(m.asn, None);
        assert_eq!(m.rr_server, Some(Ipv4Addr::new(0, 0, 0, 42)));
        assert_eq!(m.pod_cidrs, vec!["10.244.9.0/24".parse().unwrap()]);
        assert_eq!(m.owned_cidrs.len(), 2);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p.iter().all(|x| x.to_string().contains("node b")));
        assert!(p.iter().any(|x| x.to_string().contains(ANN_NODE_ASN)));
    }
}
