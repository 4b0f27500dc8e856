//! kube-router's import and export rules (spec §3.7–§3.8) with kube-bgp's import safety
//! (decision D5), as pure decisions on (peer class, prefix, next hop / origin).
//!
//! The RIB calls these through its policy hook. Nothing here knows about sessions.

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::node::NodeModel;
use super::values;
use super::{Problem, Settings};
use crate::bgp::types::Prefix;

pub const ANN_PREPEND_AS: &str = "kube-router.io/path-prepend.as";
pub const ANN_PREPEND_N: &str = "kube-router.io/path-prepend.repeat-n";
pub const ANN_COMMUNITIES: &str = "kube-router.io/node.bgp.communities";
pub const ANN_IMPORT_REJECT: &str = "kube-router.io/node.bgp.customimportreject";

/// Where a route in the RIB came from, for export decisions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteSource {
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
pub struct ExternalActions {
    /// (ASN, count) to prepend (after the local AS).
    pub prepend: Option<(u32, u8)>,
    pub communities: Vec<u32>,
    /// `--override-nexthop`: next hop = the session's local address.
    pub next_hop_self: bool,
}

/// Why an import was refused (for counters and debug logs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reject {
    DefaultRoute,
    ServiceVip,
    CustomImportReject,
    OwnPodCidr,
    ConnectedSubnet,
    /// Inside another node's pod CIDR but not from that node's address (D5).
    NotOwner,
}

/// The rules in force, recomputed whenever the cluster snapshot changes.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PolicyModel {
    pub local_pod_cidrs: Vec<Prefix>,
    pub vips: BTreeSet<Prefix>,
    pub custom_reject: Vec<Prefix>,
    /// Locally connected subnets (from the kernel).
    pub connected: Vec<Prefix>,
    /// Every node's owned pod CIDRs with that node's addresses (D5).
    pub owners: Vec<(Prefix, Vec<IpAddr>)>,
    pub external: ExternalActions,
    pub advertise_pod_cidr: bool,
    pub rr_server: bool,
}

impl PolicyModel {
    /// Builds the model for the local node. `vips` are the VIPs this node advertises.
    pub fn build(
        settings: &Settings,
        local: &NodeModel,
        nodes: &[NodeModel],
        vips: BTreeSet<Prefix>,
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
        let owners = nodes
            .iter()
            .flat_map(|n| {
                let addrs: Vec<IpAddr> =
                    n.v4.iter()
                        .map(|a| IpAddr::V4(*a))
                        .chain(n.v6.iter().map(|a| IpAddr::V6(*a)))
                        .collect();
                n.owned_cidrs
                    .iter()
                    .map(move |p| (*p, addrs.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();
        PolicyModel {
            local_pod_cidrs: local.owned_cidrs.clone(),
            vips,
            custom_reject,
            connected: Vec::new(),
            owners,
            external: ExternalActions {
                prepend,
                communities,
                next_hop_self: settings.override_nexthop,
            },
            advertise_pod_cidr: settings.advertise_pod_cidr,
            rr_server,
        }
    }

    /// Import decision for a path learned from a peer (node or external).
    pub fn import(
        &self,
        from_node: bool,
        prefix: &Prefix,
        next_hop: Option<IpAddr>,
    ) -> Result<(), Reject> {
        if prefix.is_default() {
            return Err(Reject::DefaultRoute);
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
        if self.connected.contains(prefix) {
            return Err(Reject::ConnectedSubnet);
        }
        if from_node {
            for (cidr, addrs) in &self.owners {
                if cidr.covers(prefix) {
                    let ok = next_hop.map(|nh| addrs.contains(&nh)).unwrap_or(false);
                    if !ok {
                        return Err(Reject::NotOwner);
                    }
                }
            }
        }
        Ok(())
    }

    /// Export decision. `None`: not exported to this peer. `Some(actions)`: exported,
    /// with the actions to apply (empty for node peers).
    pub fn export(&self, to_node: bool, source: RouteSource) -> Option<ExternalActions> {
        match (to_node, source) {
            (true, RouteSource::LocalPod) => Some(ExternalActions::default()),
            (true, RouteSource::LocalVip) => None,
            // Reflection between nodes: the RIB applies RFC 4456 (only a reflector passes
            // iBGP-learned routes on); kube-router's default reject covers the rest.
            (true, RouteSource::FromNode) => self.rr_server.then(ExternalActions::default),
            (true, RouteSource::FromExternal) => None,
            (false, RouteSource::LocalVip) => Some(self.external.clone()),
            (false, RouteSource::LocalPod) => {
                self.advertise_pod_cidr.then(|| self.external.clone())
            }
            (false, RouteSource::FromNode | RouteSource::FromExternal) => None,
        }
    }
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
            Some(ExternalActions::default())
        );
        assert_eq!(m.export(true, RouteSource::LocalVip), None);
        assert_eq!(m.export(true, RouteSource::FromNode), None);
        assert_eq!(m.export(false, RouteSource::FromNode), None);
        assert_eq!(m.export(false, RouteSource::FromExternal), None);
        let a = m.export(false, RouteSource::LocalVip).unwrap();
        assert_eq!(a.prepend, Some((65010, 2)));
        assert_eq!(a.communities, vec![(65000 << 16) | 100, 0xFFFF_FF01]);
        assert!(a.next_hop_self);
        let mut m2 = m.clone();
        m2.advertise_pod_cidr = false;
        assert_eq!(m2.export(false, RouteSource::LocalPod), None);
        m2.rr_server = true;
        assert!(m2.export(true, RouteSource::FromNode).is_some());
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
}
