//! The desired host state of the pod network, computed from the flags, the cluster
//! facts and the node interface that holds the node's address.
//!
//! Pure: no I/O, no clock. The executor (`super::PodNet`) gathers the inputs, calls
//! [`compute`], and makes the host match the result.

use std::path::PathBuf;
use std::time::Duration;

use super::bridge::LinkState;
use super::cni::CniWant;
use super::egress::EgressTable;
use super::forward::{self, AcceptRule};
use super::ipset::Member;
use super::sysctl::{self, Setting};
use crate::cluster::PodNetwork;
use crate::prefix::Prefix;

/// The pod network's part of the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PodNetConfig {
    /// `--enable-cni`
    pub(crate) enable_cni: bool,
    /// The CNI configuration file (resolved from the flag, the environment, defaults).
    pub(crate) cni_path: PathBuf,
    /// `--auto-mtu`
    pub(crate) auto_mtu: bool,
    /// `--enable-pod-egress`
    pub(crate) egress: bool,
    /// The safety net: everything is checked at least this often.
    pub(crate) period: Duration,
}

/// kube-router's ipsets with the members they must hold if a rule kube-bgp cannot
/// remove still uses them, per family (index 0 IPv4, 1 IPv6).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct KubeRouterSets {
    pub(crate) pod_subnets: [Vec<Member>; 2],
    pub(crate) node_ips: [Vec<Member>; 2],
}

/// What the host should look like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HostPlan {
    /// kube-bridge's MTU (`None`: leave it as it is).
    pub(crate) bridge_mtu: Option<u32>,
    /// The CNI configuration (`None`: not managed, or the node has no pod CIDR yet).
    pub(crate) cni: Option<CniWant>,
    pub(crate) sysctls: Vec<Setting>,
    /// The FORWARD accept rules (for every family whose filter FORWARD chain exists).
    pub(crate) forward: Vec<AcceptRule>,
    /// The egress table (`None`: it must not exist).
    pub(crate) egress: Option<EgressTable>,
    pub(crate) kube_router_sets: KubeRouterSets,
}

fn v6(p: &Prefix) -> bool {
    matches!(p, Prefix::V6(..))
}

/// Computes the plan. `node_if`: the link holding the node's primary address, if found.
pub(crate) fn compute(
    cfg: &PodNetConfig,
    facts: &PodNetwork,
    node_if: Option<&LinkState>,
) -> HostPlan {
    let mtu = if cfg.auto_mtu {
        node_if.map(|l| l.mtu).filter(|m| *m > 0)
    } else {
        None
    };
    let cni = (cfg.enable_cni && !facts.local_cidrs.is_empty()).then(|| CniWant {
        ranges: facts.local_cidrs.clone(),
        mtu,
    });
    let egress = cfg
        .egress
        .then(|| EgressTable::new(&facts.cluster_cidrs, &facts.node_ips));
    let mut sets = KubeRouterSets::default();
    for p in &facts.cluster_cidrs {
        sets.pod_subnets[usize::from(v6(p))].push(Member::net(p));
    }
    for a in &facts.node_ips {
        sets.node_ips[usize::from(a.is_ipv6())].push(Member::ip(*a));
    }
    HostPlan {
        bridge_mtu: mtu,
        cni,
        sysctls: sysctl::wanted(facts.local_ipv6),
        forward: forward::wanted(node_if.map(|l| l.name.as_str())),
        egress,
        kube_router_sets: sets,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> PodNetConfig {
        PodNetConfig {
            enable_cni: true,
            cni_path: "/etc/cni/net.d/10-kuberouter.conflist".into(),
            auto_mtu: true,
            egress: true,
            period: Duration::from_secs(300),
        }
    }

    fn facts() -> PodNetwork {
        PodNetwork {
            local_cidrs: vec!["10.244.1.0/24".parse().unwrap()],
            local_primary: Some("10.0.0.1".parse().unwrap()),
            local_ipv6: false,
            cluster_cidrs: vec![
                "10.244.1.0/24".parse().unwrap(),
                "10.244.2.0/24".parse().unwrap(),
                "fd00:244:2::/64".parse().unwrap(),
            ],
            node_ips: vec!["10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap()],
        }
    }

    fn eth0() -> LinkState {
        LinkState {
            index: 2,
            name: "eth0".into(),
            kind: String::new(),
            up: true,
            mtu: 1450,
            master: None,
        }
    }

    #[test]
    fn everything_on() {
        let p = compute(&cfg(), &facts(), Some(&eth0()));
        assert_eq!(p.bridge_mtu, Some(1450));
        assert_eq!(
            p.cni,
            Some(CniWant {
                ranges: facts().local_cidrs,
                mtu: Some(1450)
            })
        );
        let e = p.egress.expect("egress on");
        assert_eq!(e.pod_cidrs.len(), 3);
        assert_eq!(e.node_ips.len(), 2);
        assert_eq!(p.forward.len(), 3);
        assert_eq!(p.forward[2].ifname, "eth0");
        assert_eq!(
            p.sysctls.len(),
            2,
            "no IPv6 on the node: IPv4 settings only"
        );
        assert_eq!(p.kube_router_sets.pod_subnets[0].len(), 2);
        assert_eq!(p.kube_router_sets.pod_subnets[1].len(), 1);
        assert_eq!(p.kube_router_sets.node_ips[1].len(), 0);
    }

    #[test]
    fn flags_off_and_missing_inputs() {
        let mut c = cfg();
        c.auto_mtu = false;
        c.egress = false;
        let p = compute(&c, &facts(), Some(&eth0()));
        assert_eq!(p.bridge_mtu, None);
        assert_eq!(p.cni.as_ref().and_then(|c| c.mtu), None);
        assert_eq!(p.egress, None);
        c.enable_cni = false;
        assert_eq!(compute(&c, &facts(), None).cni, None);
        // No pod CIDR yet: no CNI configuration is written; no node interface: only
        // the two bridge rules.
        let mut f = facts();
        f.local_cidrs.clear();
        f.local_ipv6 = true;
        let p = compute(&cfg(), &f, None);
        assert_eq!(p.cni, None);
        assert_eq!(p.forward.len(), 2);
        assert_eq!(p.bridge_mtu, None);
        assert_eq!(p.sysctls.len(), 4);
    }
}
