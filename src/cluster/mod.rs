//! kube-router's routing semantics, as pure functions of (settings, cluster snapshot,
//! the kernel facts the rules depend on).
//!
//! Owns: who this node is (router ID, ASN, role), which BGP peers should exist, which
//! routes this node originates (pod CIDRs, service VIPs) and the import/export rules
//! (as kube-router's routing controller does, with decisions D2, D4, D5, D9 of
//! docs/differences-from-kube-router.md). Does no I/O and keeps no state between
//! calls: the daemon recomputes on every change and diffs against what runs. The
//! kernel facts (connected subnets, local addresses, routes adopted at start) come in
//! as [`KernelFacts`], so a [`Plan`] is complete: nothing is patched into it after.
//!
//! Every problem found in an annotation becomes a [`Problem`] naming the node (or
//! service), the annotation and what is wrong — never a password — and costs only the
//! piece of configuration it belongs to.

pub(crate) mod adverts;
pub(crate) mod node;
pub mod peers;
mod replan;
pub(crate) mod rules;
pub(crate) mod values;

pub use replan::Planner;

use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::config::{Bfd, Password};
use crate::prefix::Prefix;

/// The default cluster ASN when `--cluster-asn` is 0 or unset.
pub(crate) const DEFAULT_CLUSTER_ASN: u32 = 64512;

/// How the router ID is chosen (`--router-id`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum RouterIdSetting {
    /// Empty: the primary IP if it is IPv4, else an error.
    #[default]
    Auto,
    /// `generate`: FNV-1a of the primary IP.
    Generate,
    Fixed(Ipv4Addr),
}

/// A global external peer from `--peer-router-*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalPeer {
    pub ip: IpAddr,
    pub asn: u32,
    pub port: u16,
    pub password: Option<Password>,
}

/// The routing part of the command line, as the cluster logic needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `--cluster-asn`, 0 meaning 64512.
    pub cluster_asn: u32,
    pub nodes_full_mesh: bool,
    pub enable_ibgp: bool,
    pub global_peers: Vec<GlobalPeer>,
    pub multihop_ttl: u8,
    pub bgp_port: u16,
    /// Hold time offered to external peers (`--bgp-holdtime`), seconds.
    pub hold_time: u16,
    pub advertise_pod_cidr: bool,
    pub advertise_cluster_ip: bool,
    pub advertise_external_ip: bool,
    pub advertise_loadbalancer_ip: bool,
    pub override_nexthop: bool,
    pub router_id: RouterIdSetting,
    pub graceful_restart: bool,
    pub graceful_restart_time: Duration,
    pub graceful_restart_deferral: Duration,
    pub strict_external_ip_validation: bool,
    pub service_cluster_ip_range: Vec<Prefix>,
    pub service_external_ip_range: Vec<Prefix>,
    pub loadbalancer_ip_range: Vec<Prefix>,
    /// `--enable-ipv4` / `--enable-ipv6`: the local Node must have an address of the family.
    pub require_ipv4: bool,
    pub require_ipv6: bool,
    /// `--bgp-max-prefixes`: the prefix limit of external peers (0 = unlimited).
    pub max_prefixes: u32,
    /// `--bgp-node-password-file`: TCP-MD5 key of every node-to-node session.
    pub node_password: Option<Password>,
    /// BFD for the global peers (`--enable-bfd` and the `--bfd-*` values).
    pub global_bfd: Option<Bfd>,
    /// BFD for node-to-node sessions (`--enable-bfd-nodes`).
    pub node_bfd: Option<Bfd>,
    /// `--graceful-shutdown-on-cordon`: announce with GRACEFUL_SHUTDOWN (RFC 8326)
    /// while the local Node is cordoned.
    pub graceful_shutdown_on_cordon: bool,
    /// `--bgp-node-ttl-security`: GTSM (RFC 5082) for node peers on a connected subnet.
    pub node_ttl_security: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            cluster_asn: 0,
            nodes_full_mesh: true,
            enable_ibgp: true,
            global_peers: Vec::new(),
            multihop_ttl: 0,
            bgp_port: 179,
            hold_time: 90,
            advertise_pod_cidr: true,
            advertise_cluster_ip: false,
            advertise_external_ip: false,
            advertise_loadbalancer_ip: false,
            override_nexthop: false,
            router_id: RouterIdSetting::Auto,
            graceful_restart: false,
            graceful_restart_time: Duration::from_secs(90),
            graceful_restart_deferral: Duration::from_secs(360),
            strict_external_ip_validation: true,
            service_cluster_ip_range: vec![Prefix::V4(Ipv4Addr::new(10, 96, 0, 0), 12)],
            service_external_ip_range: Vec::new(),
            loadbalancer_ip_range: Vec::new(),
            require_ipv4: true,
            require_ipv6: false,
            max_prefixes: 10_000,
            node_password: None,
            global_bfd: None,
            node_bfd: None,
            graceful_shutdown_on_cordon: false,
            node_ttl_security: false,
        }
    }
}

impl Settings {
    /// The routing settings of a validated command line.
    pub(crate) fn from_config(c: &crate::config::Config) -> Settings {
        use crate::config::RouterIdMode;
        let gr = c.graceful_restart.as_ref();
        let defaults = Settings::default();
        Settings {
            cluster_asn: c.cluster_asn,
            nodes_full_mesh: c.nodes_full_mesh,
            enable_ibgp: c.enable_ibgp,
            global_peers: c
                .peers
                .iter()
                .map(|p| GlobalPeer {
                    ip: p.ip,
                    asn: p.asn,
                    port: p.port,
                    password: p.password.clone(),
                })
                .collect(),
            multihop_ttl: c.peer_multihop_ttl,
            bgp_port: c.bgp_port,
            hold_time: c.bgp_holdtime.as_secs().min(u16::MAX as u64) as u16,
            advertise_pod_cidr: c.advertise_pod_cidr,
            advertise_cluster_ip: c.advertise_cluster_ip,
            advertise_external_ip: c.advertise_external_ip,
            advertise_loadbalancer_ip: c.advertise_loadbalancer_ip,
            override_nexthop: c.override_nexthop,
            router_id: match c.router_id {
                RouterIdMode::PrimaryIp => RouterIdSetting::Auto,
                RouterIdMode::Generate => RouterIdSetting::Generate,
                RouterIdMode::Fixed(a) => RouterIdSetting::Fixed(a),
            },
            graceful_restart: gr.is_some(),
            graceful_restart_time: gr
                .map(|g| g.restart_time)
                .unwrap_or(defaults.graceful_restart_time),
            graceful_restart_deferral: gr
                .map(|g| g.deferral_time)
                .unwrap_or(defaults.graceful_restart_deferral),
            strict_external_ip_validation: c.strict_external_ip_validation,
            service_cluster_ip_range: c.service_cluster_ip_range.clone(),
            service_external_ip_range: c.service_external_ip_range.clone(),
            loadbalancer_ip_range: c.loadbalancer_ip_range.clone(),
            require_ipv4: c.enable_ipv4,
            require_ipv6: c.enable_ipv6,
            max_prefixes: c.max_prefixes,
            node_password: c.node_password.clone(),
            global_bfd: c.bfd,
            node_bfd: c.bfd_nodes,
            graceful_shutdown_on_cordon: c.graceful_shutdown_on_cordon,
            node_ttl_security: c.node_ttl_security,
        }
    }

    /// The cluster ASN with 0 read as 64512.
    pub(crate) fn effective_cluster_asn(&self) -> u32 {
        if self.cluster_asn == 0 {
            DEFAULT_CLUSTER_ASN
        } else {
            self.cluster_asn
        }
    }
}

/// What a problem is about: a node annotation/field, a service, or the local setup.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// e.g. `node n1` or `service default/web`.
    pub(crate) object: String,
    /// The annotation or field, e.g. `kube-router.io/peer.asns`.
    pub(crate) field: String,
    pub(crate) message: String,
}

/// Longest problem message kept: a message quoting a huge value is cut, so one bad
/// annotation costs one short log line.
const MAX_PROBLEM_MESSAGE: usize = 400;

/// `s` cut to at most `max` bytes (on a character boundary), marked when cut.
fn bounded(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("…(cut)");
    }
    s
}

impl Problem {
    pub(crate) fn node(name: &str, field: &str, message: impl Into<String>) -> Problem {
        Problem {
            object: bounded(format!("node {name}"), MAX_PROBLEM_MESSAGE),
            field: bounded(field.to_string(), MAX_PROBLEM_MESSAGE),
            message: bounded(message.into(), MAX_PROBLEM_MESSAGE),
        }
    }

    pub(crate) fn service(
        ns: &str,
        name: &str,
        field: &str,
        message: impl Into<String>,
    ) -> Problem {
        Problem {
            object: bounded(format!("service {ns}/{name}"), MAX_PROBLEM_MESSAGE),
            field: bounded(field.to_string(), MAX_PROBLEM_MESSAGE),
            message: bounded(message.into(), MAX_PROBLEM_MESSAGE),
        }
    }
}

#[cfg(test)]
#[test]
fn problems_quoting_huge_values_are_cut() {
    let p = Problem::node("n1", "kube-router.io/node.asn", "x".repeat(100_000));
    assert!(
        p.message.len() < MAX_PROBLEM_MESSAGE + 10,
        "{}",
        p.message.len()
    );
    assert!(p.message.ends_with("…(cut)"));
    let s = Problem::service("ns", "web", "f", "é".repeat(1000));
    assert!(s.message.len() <= MAX_PROBLEM_MESSAGE + 8);
    assert_eq!(Problem::node("a", "b", "c").message, "c");
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.object, self.field, self.message)
    }
}

/// What the plan needs to know about this host's kernel, read by the daemon's kernel
/// side and passed in.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct KernelFacts {
    /// Locally connected subnets: never imported (D5); node peers on one get GTSM
    /// with `--bgp-node-ttl-security`.
    pub(crate) connected: Vec<Prefix>,
    /// This host's interface addresses: never imported as host routes.
    pub(crate) local_addrs: BTreeSet<IpAddr>,
    /// This run found routes of an earlier run in the kernel and adopted them: with
    /// graceful restart on, it announces itself as restarting (RFC 4724 §3, the R bit).
    pub(crate) adopted_at_start: bool,
}

/// Everything the daemon should make true, computed from one cluster snapshot and the
/// kernel facts.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Plan {
    /// `None` while BGP cannot run (no local Node, no address, no ASN...): the problems
    /// say why. The daemon then keeps no sessions to nodes but leaves routes alone.
    pub(crate) identity: Option<peers::Identity>,
    pub peers: Vec<peers::PeerPlan>,
    pub originated: Vec<adverts::Originated>,
    pub(crate) policy: rules::PolicyModel,
    /// Every problem found, sorted; the daemon logs the ones that are new.
    pub problems: Vec<Problem>,
    /// All nodes' primary addresses (to tell node peers from external ones).
    pub(crate) node_addrs: Vec<IpAddr>,
    /// What the pod network on this node needs from the cluster.
    pub(crate) pod_network: PodNetwork,
    /// The graceful-restart capability to announce (`--enable-gr`): restart time in
    /// seconds and whether this run is restarting (RFC 4724 §3). `None`: no GR.
    pub(crate) graceful_restart: Option<(u16, bool)>,
}

/// The cluster facts the node's pod network is built from (`crate::podnet`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct PodNetwork {
    /// The local node's pod CIDRs (what it advertises), in order: the CNI ranges.
    pub(crate) local_cidrs: Vec<Prefix>,
    /// The local node's primary address: the interface holding it gives the MTU.
    pub(crate) local_primary: Option<IpAddr>,
    /// Whether the local node has IPv6 (addresses or pod CIDRs).
    pub(crate) local_ipv6: bool,
    /// Every node's pod CIDRs from every source (annotations and spec), sorted: pod
    /// traffic to these keeps its source address.
    pub(crate) cluster_cidrs: Vec<Prefix>,
    /// Every node's InternalIP and ExternalIP addresses, sorted: so does traffic to
    /// these.
    pub(crate) node_ips: Vec<IpAddr>,
}

impl PodNetwork {
    /// Whether node `n` has IPv6 (addresses or pod CIDRs).
    fn has_ipv6(n: &node::NodeModel) -> bool {
        !n.v6.is_empty() || n.pod_cidrs.iter().any(|p| matches!(p, Prefix::V6(..)))
    }

    fn from_nodes(local_name: &str, nodes: &[node::NodeModel]) -> PodNetwork {
        let local = nodes.iter().find(|n| n.name == local_name);
        let mut cluster_cidrs: Vec<Prefix> = nodes
            .iter()
            .flat_map(|n| n.owned_cidrs.iter().copied())
            .collect();
        cluster_cidrs.sort();
        cluster_cidrs.dedup();
        let mut node_ips: Vec<IpAddr> = nodes
            .iter()
            .flat_map(|n| {
                n.v4.iter()
                    .map(|a| IpAddr::V4(*a))
                    .chain(n.v6.iter().map(|a| IpAddr::V6(*a)))
            })
            .collect();
        node_ips.sort();
        node_ips.dedup();
        PodNetwork {
            local_cidrs: local.map(|n| n.pod_cidrs.clone()).unwrap_or_default(),
            local_primary: local.and_then(|n| n.primary),
            local_ipv6: local.is_some_and(PodNetwork::has_ipv6),
            cluster_cidrs,
            node_ips,
        }
    }
}

/// The graceful-restart capability `settings` and `kernel` call for.
fn graceful_restart(settings: &Settings, kernel: &KernelFacts) -> Option<(u16, bool)> {
    settings.graceful_restart.then(|| {
        (
            settings.graceful_restart_time.as_secs().min(4095) as u16,
            kernel.adopted_at_start,
        )
    })
}

/// The problem of a local Node not in the snapshot.
fn local_missing(local_name: &str) -> Problem {
    Problem::node(
        local_name,
        "metadata.name",
        "the local Node object was not found (set --hostname-override or NODE_NAME)",
    )
}

/// The peer list's last touches: one session per address (a node that is also listed
/// as an external peer stays a node peer; kube-router would configure it twice), and
/// GTSM for node peers on a connected subnet.
fn finish_peers(settings: &Settings, kernel: &KernelFacts, peer_list: &mut Vec<peers::PeerPlan>) {
    let mut seen = BTreeSet::new();
    peer_list.retain(|p| seen.insert(p.addr));
    if settings.node_ttl_security {
        peers::gtsm_for_connected_nodes(peer_list, &kernel.connected);
    }
}

/// The import rules' kernel part: connected subnets and the host's own addresses.
fn apply_kernel_facts(policy: &mut rules::PolicyModel, kernel: &KernelFacts) {
    policy.connected = kernel.connected.clone();
    policy.own_addrs.extend(kernel.local_addrs.iter().copied());
}

/// Computes the plan for the local node `local_name` from a snapshot and the kernel
/// facts.
pub fn plan(
    settings: &Settings,
    local_name: &str,
    snap: &crate::kube::snapshot::Snapshot,
    kernel: &KernelFacts,
) -> Plan {
    let mut problems = Vec::new();
    let nodes: Vec<node::NodeModel> = snap
        .nodes
        .values()
        .map(|n| node::NodeModel::from_node(n, &mut problems))
        .collect();
    let local = nodes.iter().find(|n| n.name == local_name);
    if local.is_none() {
        problems.push(local_missing(local_name));
    }
    let node_addrs = nodes.iter().filter_map(|n| n.primary).collect();
    let pod_network = PodNetwork::from_nodes(local_name, &nodes);
    let parts = PlanParts {
        local,
        problems,
        node_addrs,
        pod_network,
    };
    build_plan(settings, kernel, parts, |me, local, problems| {
        let node_peers = peers::node_peers(settings, me, local, &nodes, problems);
        let slices = adverts::slices_by_service(snap.slices.values());
        let vips = adverts::vip_routes(settings, local, snap.services.values(), &slices, problems);
        let vip_set = vips.iter().map(|o| o.prefix).collect();
        let policy = rules::PolicyModel::build(
            settings,
            local,
            &nodes,
            vip_set,
            me.rr_server.is_some(),
            problems,
        );
        BgpParts {
            node_peers,
            vips,
            policy,
        }
    })
}

/// What [`plan`] and the incremental [`Planner`] compute alike before BGP is planned:
/// the local node (if found), the problems so far, and the facts every plan carries.
struct PlanParts<'a> {
    local: Option<&'a node::NodeModel>,
    problems: Vec<Problem>,
    node_addrs: Vec<IpAddr>,
    pod_network: PodNetwork,
}

/// The BGP parts that [`plan`] and the [`Planner`] compute each their own way (from
/// the snapshot, or from their cache): node peers, service VIP routes, import policy.
struct BgpParts {
    node_peers: Vec<peers::PeerPlan>,
    vips: Vec<adverts::Originated>,
    policy: rules::PolicyModel,
}

/// The plan from `parts`, shared by [`plan`] and the [`Planner`]: the identity; without
/// one, a plan with no BGP; with one, the BGP parts `bgp` computes, the external peers
/// after the node peers, the pod routes before the VIP routes, and [`finish_plan`].
fn build_plan<'a>(
    settings: &Settings,
    kernel: &KernelFacts,
    parts: PlanParts<'a>,
    bgp: impl FnOnce(&peers::Identity, &'a node::NodeModel, &mut Vec<Problem>) -> BgpParts,
) -> Plan {
    let PlanParts {
        local,
        mut problems,
        node_addrs,
        pod_network,
    } = parts;
    let identity = peers::identity(settings, local, &mut problems);
    let (Some(local), Some(me)) = (local, identity.as_ref()) else {
        let plan = Plan {
            identity,
            problems,
            node_addrs,
            pod_network,
            ..Plan::default()
        };
        return finish_plan(plan, settings, kernel, false);
    };
    let BgpParts {
        node_peers: mut peer_list,
        vips,
        policy,
    } = bgp(me, local, &mut problems);
    peer_list.extend(peers::external_peers(settings, me, local, &mut problems));
    finish_peers(settings, kernel, &mut peer_list);
    let mut originated = adverts::pod_routes(local);
    originated.extend(vips);
    let plan = Plan {
        identity,
        peers: peer_list,
        originated,
        policy,
        problems,
        node_addrs,
        pod_network,
        graceful_restart: None,
    };
    finish_plan(plan, settings, kernel, true)
}

/// The last step of a plan, shared by [`plan`] and the incremental [`Planner`]: each
/// problem once and in order, the graceful-restart capability, and, when BGP runs
/// (`bgp`), the kernel's facts in the import policy.
fn finish_plan(mut plan: Plan, settings: &Settings, kernel: &KernelFacts, bgp: bool) -> Plan {
    if bgp {
        apply_kernel_facts(&mut plan.policy, kernel);
    }
    plan.problems.sort();
    plan.problems.dedup();
    plan.graceful_restart = graceful_restart(settings, kernel);
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, addrs: &[(&str, &str)]) -> crate::kube::objects::Node {
        let a: Vec<String> = addrs
            .iter()
            .map(|(t, ip)| format!("{{\"type\":\"{t}\",\"address\":\"{ip}\"}}"))
            .collect();
        let json = format!(
            "{{\"metadata\":{{\"name\":\"{name}\"}},\"spec\":{{\"podCIDR\":\"10.244.9.0/24\"}},\
             \"status\":{{\"addresses\":[{}]}}}}",
            a.join(",")
        );
        serde_json::from_str(&json).expect("node")
    }

    /// Node peers are told by primary address; overlay tunnels may go to any node
    /// address of either family (an IPv6 pod CIDR's next hop is the node's IPv6
    /// address).
    #[test]
    fn node_ips_hold_every_address_of_every_node() {
        let mut snap = crate::kube::snapshot::Snapshot::new();
        snap.nodes.insert(
            "a".into(),
            node(
                "a",
                &[
                    ("InternalIP", "10.0.0.1"),
                    ("InternalIP", "fd00::1"),
                    ("ExternalIP", "192.0.2.1"),
                    ("Hostname", "a"),
                ],
            ),
        );
        snap.nodes
            .insert("b".into(), node("b", &[("InternalIP", "fd00::2")]));
        let settings = Settings {
            cluster_asn: 64512,
            ..Settings::default()
        };
        let p = plan(&settings, "a", &snap, &KernelFacts::default());
        let ip = |s: &str| -> IpAddr { s.parse().expect("ip") };
        let mut addrs = p.node_addrs.clone();
        addrs.sort();
        assert_eq!(addrs, [ip("10.0.0.1"), ip("fd00::2")]);
        let ips: std::collections::BTreeSet<IpAddr> =
            p.pod_network.node_ips.iter().copied().collect();
        let want: std::collections::BTreeSet<IpAddr> =
            ["10.0.0.1", "192.0.2.1", "fd00::1", "fd00::2"]
                .iter()
                .map(|s| ip(s))
                .collect();
        assert_eq!(ips, want);
    }

    fn two_nodes() -> crate::kube::snapshot::Snapshot {
        let mut snap = crate::kube::snapshot::Snapshot::new();
        for (n, ip) in [("a", "10.0.0.1"), ("b", "10.0.0.2"), ("c", "10.9.0.3")] {
            snap.nodes.insert(n.into(), node(n, &[("InternalIP", ip)]));
        }
        snap
    }

    fn facts(connected: &[&str], addrs: &[&str], adopted: bool) -> KernelFacts {
        KernelFacts {
            connected: connected
                .iter()
                .map(|s| s.parse().expect("prefix"))
                .collect(),
            local_addrs: addrs.iter().map(|s| s.parse().expect("ip")).collect(),
            adopted_at_start: adopted,
        }
    }

    /// With `--bgp-node-ttl-security` the plan's node peers on a connected subnet carry
    /// GTSM; without the flag, or off the subnet, they keep the normal TTL.
    #[test]
    fn gtsm_comes_from_the_connected_subnets_given() {
        let snap = two_nodes();
        let kernel = facts(&["10.0.0.0/24"], &[], false);
        let ttls = |settings: &Settings| -> Vec<(String, Option<u8>, Option<u8>)> {
            plan(settings, "a", &snap, &kernel)
                .peers
                .iter()
                .map(|p| (p.addr.to_string(), p.ttl, p.min_ttl))
                .collect()
        };
        let mut settings = Settings::default();
        assert_eq!(
            ttls(&settings),
            vec![
                ("10.0.0.2".into(), None, None),
                ("10.9.0.3".into(), None, None)
            ]
        );
        settings.node_ttl_security = true;
        assert_eq!(
            ttls(&settings),
            vec![
                ("10.0.0.2".into(), Some(255), Some(255)),
                ("10.9.0.3".into(), None, None)
            ]
        );
        // A default route is no connected subnet.
        let p = plan(&settings, "a", &snap, &facts(&["0.0.0.0/0"], &[], false));
        assert!(p.peers.iter().all(|p| p.ttl.is_none()));
    }

    /// The import rules hold the kernel's connected subnets and local addresses: a
    /// connected subnet and a host route to a local address are refused.
    #[test]
    fn policy_holds_the_kernel_facts_given() {
        let snap = two_nodes();
        let settings = Settings::default();
        let kernel = facts(&["192.168.7.0/24"], &["192.168.7.1"], false);
        let p = plan(&settings, "a", &snap, &kernel);
        assert_eq!(p.policy.connected, kernel.connected);
        let ip = |s: &str| -> IpAddr { s.parse().expect("ip") };
        assert!(p.policy.own_addrs.contains(&ip("192.168.7.1")));
        assert!(
            p.policy.own_addrs.contains(&ip("10.0.0.1")),
            "the Node's own"
        );
        let pfx = |s: &str| -> Prefix { s.parse().expect("prefix") };
        assert_eq!(
            p.policy.import(false, &pfx("192.168.7.0/24"), None),
            Err(rules::Reject::ConnectedSubnet)
        );
        assert_eq!(
            p.policy.import(false, &pfx("192.168.7.1/32"), None),
            Err(rules::Reject::OwnAddress)
        );
        let bare = plan(&settings, "a", &snap, &KernelFacts::default());
        assert!(bare.policy.connected.is_empty());
        assert!(
            bare.policy
                .import(false, &pfx("192.168.7.0/24"), None)
                .is_ok()
        );
    }

    /// The graceful-restart capability: off without `--enable-gr`; with it, the
    /// restart time and the R bit from whether routes were adopted at start, also while
    /// BGP cannot run yet (no local Node).
    #[test]
    fn graceful_restart_comes_from_settings_and_adoption() {
        let snap = two_nodes();
        let mut settings = Settings::default();
        let adopted = facts(&[], &[], true);
        assert_eq!(plan(&settings, "a", &snap, &adopted).graceful_restart, None);
        settings.graceful_restart = true;
        settings.graceful_restart_time = Duration::from_secs(120);
        assert_eq!(
            plan(&settings, "a", &snap, &adopted).graceful_restart,
            Some((120, true))
        );
        assert_eq!(
            plan(&settings, "a", &snap, &KernelFacts::default()).graceful_restart,
            Some((120, false))
        );
        let absent = plan(&settings, "zz", &snap, &adopted);
        assert!(absent.identity.is_none());
        assert_eq!(absent.graceful_restart, Some((120, true)));
        settings.graceful_restart_time = Duration::from_secs(100_000);
        assert_eq!(
            plan(&settings, "a", &snap, &adopted).graceful_restart,
            Some((4095, true)),
            "the capability's 12-bit field"
        );
    }
}
