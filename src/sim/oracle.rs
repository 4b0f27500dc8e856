//! What a converged cluster must look like, worked out from the API objects alone.
//!
//! Owns the expected state: for each live node, the kernel routes kube-bgp must hold
//! (other nodes' pod CIDRs: `via` their InternalIP of the CIDR's family when it is on
//! the node's own subnet of that family, through an overlay tunnel to it otherwise, or
//! always with `--overlay-type=full`; none off the subnet without the overlay), the
//! overlay's tunnels (one per remote a route goes through, none other), their table-77
//! host routes and the `from <pod CIDR> lookup 77` rule of each pod CIDR, and the node
//! pairs that must have a BGP session (every other pair must not). Dual-stack nodes
//! (an InternalIP and a pod CIDR of each family) peer over their primary address, and
//! a session carries each family both ends have an address of. Written from
//! kube-router's documented rules (full mesh, `--nodes-full-mesh=false` with
//! `kube-router.io/node.asn`, route reflectors by `kube-router.io/rr.server` /
//! `rr.client` cluster ID) and RFC 4456 reflection, independently of `cluster::plan`:
//! it must not call it, or the simulator would check the code against itself.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use crate::kernel::sim::RouteHop;
use crate::kernel::tunnel::TunnelEncap;
use crate::prefix::Prefix;

use super::api::SimNode;

pub(crate) const ANN_ASN: &str = "kube-router.io/node.asn";
pub(crate) const ANN_RR_SERVER: &str = "kube-router.io/rr.server";
pub(crate) const ANN_RR_CLIENT: &str = "kube-router.io/rr.client";
/// kube-router's cluster ASN when `--cluster-asn` is 0 (its default).
pub(crate) const CLUSTER_ASN: u32 = 64512;

/// The cluster-wide choices of a scenario: the flags every agent starts with (each
/// node's current ones are its `AgentFlags`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Topology {
    /// `--nodes-full-mesh`: true, one ASN for all; false, each node's annotation.
    pub(crate) full_mesh: bool,
    /// `--enable-overlay` and `--overlay-type`.
    pub(crate) overlay: SimOverlay,
    /// `--overlay-encap` and `--overlay-encap-port`: the same for every agent for the
    /// whole run (a flag change at a restart never touches it).
    pub(crate) encap: SimEncap,
}

/// How the overlay's tunnels are encapsulated, as the agents' flags set it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SimEncap {
    /// `--overlay-encap=ipip` (kube-router's default): plain ipip/ip6tnl tunnels.
    Ipip,
    /// `--overlay-encap=fou --overlay-encap-port=<port>`: tunnels inside GUE, each
    /// tunnel sending to `port`; the node receives GUE on `port` of the tunnel's family.
    Fou { port: u16 },
}

impl SimEncap {
    /// The agents' flags for it.
    pub(crate) fn flags(self) -> Vec<String> {
        match self {
            SimEncap::Ipip => vec!["--overlay-encap=ipip".to_string()],
            SimEncap::Fou { port } => vec![
                "--overlay-encap=fou".to_string(),
                format!("--overlay-encap-port={port}"),
            ],
        }
    }

    /// The encapsulation every tunnel must carry.
    pub(crate) fn tunnel(self) -> TunnelEncap {
        match self {
            SimEncap::Ipip => TunnelEncap::Ipip,
            SimEncap::Fou { port } => TunnelEncap::Gue { port },
        }
    }
}

/// The flags of one agent that the oracle reads, per node: an operator may restart one
/// agent with other flags (`FaultKind::Reconfigure`), so nodes of one cluster differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AgentFlags {
    /// `--nodes-full-mesh`: true, the node's ASN is `cluster_asn` and it peers with
    /// every node; false, its ASN is its `node.asn` annotation (none: no BGP at all)
    /// and it peers with the nodes annotated with the same ASN.
    pub(crate) full_mesh: bool,
    /// `--cluster-asn` (0 is not used: the simulator writes the ASN it means).
    pub(crate) cluster_asn: u32,
    /// `--enable-overlay` and `--overlay-type`: how this node reaches other pod CIDRs,
    /// and whether it holds the `from <pod CIDR> lookup 77` rule.
    pub(crate) overlay: SimOverlay,
    /// `--bgp-graceful-restart`.
    pub(crate) graceful_restart: bool,
    /// `--enable-ibgp`: false, no session with any other node (external peers only).
    pub(crate) ibgp: bool,
    /// `--advertise-pod-cidr`: false, the pod CIDR is not announced to external peers
    /// (other nodes still hear it over iBGP).
    pub(crate) advertise_pod_cidr: bool,
}

impl AgentFlags {
    /// The agents' flags of a scenario before any change: the mesh, `overlay` and
    /// graceful restart as given, the rest kube-router's defaults.
    pub(crate) fn defaults(topo: Topology, graceful_restart: bool) -> AgentFlags {
        AgentFlags {
            full_mesh: topo.full_mesh,
            cluster_asn: CLUSTER_ASN,
            overlay: topo.overlay,
            graceful_restart,
            ibgp: true,
            advertise_pod_cidr: true,
        }
    }
}

/// The overlay as the agents' flags set it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SimOverlay {
    /// `--enable-overlay=false`: off-subnet nodes get no route.
    Off,
    /// `--overlay-type=subnet` (kube-router's default): tunnels to off-subnet nodes.
    Subnet,
    /// `--overlay-type=full`: tunnels to every node.
    Full,
}

impl SimOverlay {
    /// The agents' flags for it.
    pub(crate) fn flags(self) -> [&'static str; 2] {
        match self {
            SimOverlay::Off => ["--enable-overlay=false", "--overlay-type=subnet"],
            SimOverlay::Subnet => ["--enable-overlay=true", "--overlay-type=subnet"],
            SimOverlay::Full => ["--enable-overlay=true", "--overlay-type=full"],
        }
    }
}

/// The subnet a simulated node's address is on (its link's connected subnet): the /24
/// of an IPv4 address, the /64 of an IPv6 one.
pub(crate) fn subnet_of(ip: IpAddr) -> Prefix {
    let len = if ip.is_ipv4() { 24 } else { 64 };
    Prefix::new(ip, len).unwrap_or_else(|_| Prefix::host(ip))
}

/// How a node at `from` reaches the pod CIDR of the node at `to`, if at all.
fn hop(overlay: SimOverlay, from: IpAddr, to: IpAddr) -> Option<RouteHop> {
    let same = subnet_of(from) == subnet_of(to);
    match overlay {
        SimOverlay::Full => Some(RouteHop::Tunnel(to)),
        SimOverlay::Subnet if !same => Some(RouteHop::Tunnel(to)),
        SimOverlay::Off if !same => None,
        SimOverlay::Subnet | SimOverlay::Off => Some(RouteHop::Via(to)),
    }
}

/// A node's route-reflector role as its annotations say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Plain,
    Server(u32),
    Client(u32),
    /// An RR annotation that does not parse: no node peering at all.
    Broken,
}

/// A cluster ID: dotted IPv4 or decimal, both the same 32 bits.
fn cluster_id(v: &str) -> Option<u32> {
    if let Ok(a) = v.parse::<Ipv4Addr>() {
        return Some(u32::from(a));
    }
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse::<u32>().ok()
}

fn role(n: &SimNode) -> Role {
    let server = n.annotations.get(ANN_RR_SERVER).map(|v| cluster_id(v));
    let client = n.annotations.get(ANN_RR_CLIENT).map(|v| cluster_id(v));
    match (server, client) {
        (Some(None), _) | (_, Some(None)) => Role::Broken,
        (Some(Some(s)), _) => Role::Server(s),
        (None, Some(Some(c))) => Role::Client(c),
        (None, None) => Role::Plain,
    }
}

/// An ASN annotation in asplain (what the simulator writes).
fn asn(n: &SimNode) -> Option<u32> {
    let v = n.annotations.get(ANN_ASN)?;
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse::<u32>().ok().filter(|a| *a != 0)
}

/// The converged state the cluster must reach.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Expected {
    /// Per live node: prefix -> where it leads.
    pub(crate) routes: BTreeMap<String, BTreeMap<Prefix, RouteHop>>,
    /// Per live node: the `from <prefix> lookup 77` rules (its pod CIDR, overlay on).
    pub(crate) rules: BTreeMap<String, Vec<Prefix>>,
    /// Node pairs (lower address first) that must have a session; no other pair may.
    pub(crate) sessions: BTreeSet<(IpAddr, IpAddr)>,
    /// With an external router: what it must have learned (every node able to run BGP
    /// announces its pod CIDR to it, next hop its address).
    pub(crate) router: BTreeMap<Prefix, IpAddr>,
    /// Live nodes whose flags leave them without an ASN (`--nodes-full-mesh=false` and
    /// no `node.asn` annotation): BGP cannot start, so they have no session, and their
    /// kernel is not judged. kube-bgp then keeps whatever routes, tunnels and rule an
    /// earlier run left (as kube-router touches nothing while its BGP server cannot
    /// start), also after its restart hold's bound; whether it should remove them
    /// after the bound is an open question, so the simulator states what it does.
    pub(crate) without_bgp: BTreeSet<String>,
}

/// Orders a pair of addresses.
pub(crate) fn pair(a: IpAddr, b: IpAddr) -> (IpAddr, IpAddr) {
    if a <= b { (a, b) } else { (b, a) }
}

/// The ASN node `n` runs BGP with under flags `f`: the cluster ASN in the full mesh,
/// else its annotation (none: it cannot run BGP).
pub(crate) fn local_asn(n: &SimNode, f: AgentFlags) -> Option<u32> {
    if f.full_mesh {
        Some(f.cluster_asn)
    } else {
        asn(n)
    }
}

/// Whether `a` (with flags `fa`) wants a session with `b` (flags `fb`; both able to
/// run BGP), and whether `a` treats `b` as its route-reflector client. `a` configures
/// node peers with its own ASN as theirs: every node in the full mesh, else the nodes
/// annotated with its ASN; a peer that opens with another ASN is refused.
fn wants(a: &SimNode, fa: AgentFlags, b: &SimNode, fb: AgentFlags) -> Option<bool> {
    if !fa.ibgp {
        return None;
    }
    let mine = local_asn(a, fa)?;
    if !fa.full_mesh && asn(b) != Some(mine) {
        return None;
    }
    if local_asn(b, fb) != Some(mine) {
        return None;
    }
    // Nodes peer over their primary addresses, only with nodes of the same family.
    if a.internal_ip.is_ipv4() != b.internal_ip.is_ipv4() {
        return None;
    }
    match (role(a), role(b)) {
        (Role::Broken, _) | (_, Role::Broken) => None,
        // A client peers only with servers of its cluster ID.
        (Role::Client(c), Role::Server(s)) if c == s => Some(false),
        (Role::Client(_), _) => None,
        // A server: its own clients, other servers, plain nodes.
        (Role::Server(s), Role::Client(c)) => (s == c).then_some(true),
        (Role::Server(_), _) => Some(false),
        // A plain node: plain nodes and servers.
        (Role::Plain, Role::Client(_)) => None,
        (Role::Plain, _) => Some(false),
    }
}

/// The expected state for the API's `nodes` of which `live` run an agent, each agent
/// with the flags `flags_of` gives for its node (its current ones), every node
/// peering with the external `router` when there is one.
pub(crate) fn expect<'a>(
    nodes: impl IntoIterator<Item = &'a SimNode>,
    live: &BTreeSet<String>,
    router: Option<IpAddr>,
    flags_of: &dyn Fn(&str) -> AgentFlags,
) -> Expected {
    // Nodes able to run BGP: a live agent (its router ID is its IPv4 address, or
    // generated from its IPv6 one as the simulator's flags say), and in per-node-ASN
    // mode an ASN.
    let mut out = Expected::default();
    let mut speakers: Vec<&SimNode> = nodes
        .into_iter()
        .filter(|n| live.contains(&n.name))
        .filter(|n| {
            let asn = local_asn(n, flags_of(&n.name));
            if asn.is_none() {
                out.without_bgp.insert(n.name.clone());
            }
            asn.is_some()
        })
        .collect();
    speakers.sort_by(|a, b| a.name.cmp(&b.name));
    let flags: Vec<AgentFlags> = speakers.iter().map(|n| flags_of(&n.name)).collect();
    let count = speakers.len();
    // Sessions: both ends want it (a BGP session needs both configured).
    let mut client_of = vec![vec![false; count]; count];
    let mut peers = vec![Vec::new(); count];
    for i in 0..count {
        for j in 0..count {
            if i == j || speakers[i].internal_ip == speakers[j].internal_ip {
                continue;
            }
            let (Some(ci), Some(_)) = (
                wants(speakers[i], flags[i], speakers[j], flags[j]),
                wants(speakers[j], flags[j], speakers[i], flags[i]),
            ) else {
                continue;
            };
            client_of[i][j] = ci;
            peers[i].push(j);
            if i < j {
                out.sessions
                    .insert(pair(speakers[i].internal_ip, speakers[j].internal_ip));
            }
        }
    }
    for (n, f) in speakers.iter().zip(&flags) {
        out.routes.insert(n.name.clone(), BTreeMap::new());
        // The rule follows the node's own overlay flag: one left by a run with the
        // overlay on must go when it restarts with it off.
        // One rule per pod CIDR, of each family.
        let rules = match f.overlay {
            SimOverlay::Off => Vec::new(),
            SimOverlay::Subnet | SimOverlay::Full => n.pod_cidrs().collect(),
        };
        out.rules.insert(n.name.clone(), rules);
        // The router is configured on every node. The session's source is the node's
        // address of the router's family; a node without one skips the router.
        // (kube-router takes the primary address and skips a router of the other
        // family, so a dual-stack node whose IPv6 address comes first would not peer
        // with an IPv4 router; kube-bgp peers from the node's address of the peer's
        // family, as its configuration guide says of `peer.localips`.) External peers
        // do not depend on `--enable-ibgp`. The session carries every family the node
        // has an address of (the router takes both): each pod CIDR with the node's
        // address of its family as next hop.
        let source = router.and_then(|r| Some((r, n.ip_of_family(r.is_ipv6())?)));
        if let Some((r, src)) = source {
            out.sessions.insert(pair(src, r));
            if f.advertise_pod_cidr {
                for (cidr, nh) in originated(n) {
                    out.router.insert(cidr, nh);
                }
            }
        }
    }
    // Each node's pod CIDRs spread as RFC 4456 says, each family on its own: a session
    // between nodes carries a family when both nodes have an address of it (each
    // configures the other with the families of the other's addresses; the OPENs'
    // multiprotocol capabilities leave the common ones). The originator sends its pod
    // CIDR of a family to every peer; a reflector passes on its best path (shortest CLUSTER_LIST, then lowest
    // peer address: the ORIGINATOR_ID stands in for the router ID, so it ties) learned
    // from a client to every peer, learned from a non-client to its clients, adding its
    // cluster ID; a route carrying the receiver's cluster ID or coming back to its
    // originator is dropped.
    for v6 in [false, true] {
        let has: Vec<bool> = speakers
            .iter()
            .map(|n| n.ip_of_family(v6).is_some())
            .collect();
        let fam_peers: Vec<Vec<usize>> = peers
            .iter()
            .enumerate()
            .map(|(i, ps)| {
                if has[i] {
                    ps.iter().copied().filter(|&j| has[j]).collect()
                } else {
                    Vec::new()
                }
            })
            .collect();
        spread(&speakers, &flags, &fam_peers, &client_of, v6, &mut out);
    }
    out
}

/// What node `n` originates: each pod CIDR of a family it has an address of, next hop
/// that address.
fn originated(n: &SimNode) -> Vec<(Prefix, IpAddr)> {
    n.pod_cidrs()
        .filter_map(|c| Some((c, n.ip_of_family(c.addr().is_ipv6())?)))
        .collect()
}

/// Spreads the pod CIDRs of family `v6` over the sessions `peers` that carry it, and
/// records each receiver's route to them.
fn spread(
    speakers: &[&SimNode],
    flags: &[AgentFlags],
    peers: &[Vec<usize>],
    client_of: &[Vec<bool>],
    v6: bool,
    out: &mut Expected,
) {
    let count = speakers.len();
    for o in 0..count {
        let Some(nh) = speakers[o].ip_of_family(v6) else {
            continue;
        };
        let cidrs: Vec<Prefix> = speakers[o]
            .pod_cidrs()
            .filter(|c| c.addr().is_ipv6() == v6)
            .collect();
        if cidrs.is_empty() {
            continue;
        }
        // best[x] = (cluster list, learned from)
        let mut best: Vec<Option<(Vec<u32>, usize)>> = vec![None; count];
        let mut changed = true;
        let mut rounds = 0;
        while changed && rounds <= count + 1 {
            changed = false;
            rounds += 1;
            for x in 0..count {
                if x == o {
                    continue;
                }
                let mut cand: Option<(Vec<u32>, usize)> = None;
                for &p in &peers[x] {
                    let offered: Option<Vec<u32>> = if p == o {
                        Some(Vec::new())
                    } else {
                        match (&best[p], role(speakers[p])) {
                            (Some((cl, from)), Role::Server(id)) => {
                                let from_client = client_of[p][*from];
                                if from_client || client_of[p][x] {
                                    let mut cl = cl.clone();
                                    cl.push(id);
                                    Some(cl)
                                } else {
                                    None
                                }
                            }
                            _ => None,
                        }
                    };
                    let Some(cl) = offered else { continue };
                    if let Role::Server(id) = role(speakers[x]) {
                        if cl.contains(&id) {
                            continue;
                        }
                    }
                    let better = match &cand {
                        None => true,
                        Some((ccl, cp)) => {
                            (cl.len(), speakers[p].internal_ip)
                                < (ccl.len(), speakers[*cp].internal_ip)
                        }
                    };
                    if better {
                        cand = Some((cl, p));
                    }
                }
                if cand != best[x] {
                    best[x] = cand;
                    changed = true;
                }
            }
        }
        for (x, b) in best.iter().enumerate() {
            let me = speakers[x];
            if b.is_none() {
                continue;
            }
            // How the route is installed is the receiving node's own choice, from its
            // address of the family (a session carries a family only to a node that
            // has one).
            let Some(mine) = me.ip_of_family(v6) else {
                continue;
            };
            let Some(h) = hop(flags[x].overlay, mine, nh) else {
                continue;
            };
            if let Some(r) = out.routes.get_mut(&me.name) {
                for c in &cidrs {
                    r.insert(*c, h);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(name: &str, i: u8, ann: &[(&str, &str)]) -> SimNode {
        SimNode {
            name: name.into(),
            internal_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, i)),
            pod_cidr: format!("10.244.{i}.0/24").parse().unwrap(),
            other_ip: None,
            other_pod_cidr: None,
            annotations: ann
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn ip(i: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, i))
    }

    fn live(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    /// Every agent with the scenario's flags.
    fn expect_all<'a>(
        topo: Topology,
        nodes: impl IntoIterator<Item = &'a SimNode>,
        live: &BTreeSet<String>,
        router: Option<IpAddr>,
    ) -> Expected {
        expect(nodes, live, router, &|_| AgentFlags::defaults(topo, false))
    }

    const MESH: Topology = Topology {
        full_mesh: true,
        overlay: SimOverlay::Subnet,
        encap: SimEncap::Ipip,
    };

    #[test]
    fn full_mesh_every_live_pair_and_every_other_pod_cidr() {
        let nodes = [n("a", 1, &[]), n("b", 2, &[]), n("c", 3, &[])];
        let e = expect_all(MESH, &nodes, &live(&["a", "b", "c"]), None);
        assert_eq!(
            e.sessions,
            [pair(ip(1), ip(2)), pair(ip(1), ip(3)), pair(ip(2), ip(3))].into()
        );
        let a = &e.routes["a"];
        assert_eq!(a.len(), 2);
        assert_eq!(a[&"10.244.2.0/24".parse().unwrap()], RouteHop::Via(ip(2)));
        assert_eq!(a[&"10.244.3.0/24".parse().unwrap()], RouteHop::Via(ip(3)));
        assert_eq!(e.rules["a"], vec!["10.244.1.0/24".parse().unwrap()]);
        // c's agent is down: nobody peers with it or routes to it; it gets no entry.
        let e = expect_all(MESH, &nodes, &live(&["a", "b"]), None);
        assert_eq!(e.sessions, [pair(ip(1), ip(2))].into());
        assert_eq!(e.routes["a"].len(), 1);
        assert!(!e.routes.contains_key("c"));
    }

    #[test]
    fn route_reflectors_reach_everyone_through_their_servers() {
        let s = [(ANN_RR_SERVER, "42")];
        let c = [(ANN_RR_CLIENT, "0.0.0.42")];
        let nodes = [
            n("s1", 1, &s),
            n("c1", 2, &c),
            n("c2", 3, &c),
            n("p", 4, &[]),
        ];
        let e = expect_all(MESH, &nodes, &live(&["s1", "c1", "c2", "p"]), None);
        // Clients peer only with their server; the plain node with the server.
        assert_eq!(
            e.sessions,
            [pair(ip(1), ip(2)), pair(ip(1), ip(3)), pair(ip(1), ip(4))].into()
        );
        for (name, r) in &e.routes {
            assert_eq!(r.len(), 3, "{name} hears every other node");
        }
        // Without its server, a client is alone; the plain node still meshes with none.
        let e = expect_all(MESH, &nodes, &live(&["c1", "c2", "p"]), None);
        assert!(e.sessions.is_empty());
        assert!(e.routes.values().all(|r| r.is_empty()));
        // An external router peers with every node and hears every pod CIDR.
        let r: IpAddr = "10.0.0.250".parse().unwrap();
        let e = expect_all(MESH, &nodes, &live(&["c1", "c2", "p"]), Some(r));
        assert_eq!(e.sessions.len(), 3);
        assert!(e.sessions.contains(&pair(ip(2), r)));
        assert_eq!(e.router.len(), 3);
        assert_eq!(e.router[&"10.244.4.0/24".parse().unwrap()], ip(4));
    }

    #[test]
    fn clients_of_another_cluster_id_and_broken_annotations_do_not_peer() {
        let nodes = [
            n("s1", 1, &[(ANN_RR_SERVER, "1")]),
            n("s2", 2, &[(ANN_RR_SERVER, "2")]),
            n("c2", 3, &[(ANN_RR_CLIENT, "2")]),
            n("x", 4, &[(ANN_RR_CLIENT, "not-an-id")]),
        ];
        let e = expect_all(MESH, &nodes, &live(&["s1", "s2", "c2", "x"]), None);
        assert_eq!(e.sessions, [pair(ip(1), ip(2)), pair(ip(2), ip(3))].into());
        // c2's route: client -> s2 reflects to all -> s1. s1's route: non-client to s2,
        // which reflects it to its client c2.
        assert_eq!(e.routes["s1"].len(), 2);
        assert_eq!(e.routes["c2"].len(), 2);
        assert!(e.routes["x"].is_empty());
    }

    #[test]
    fn a_reflector_does_not_pass_non_client_routes_to_non_clients() {
        // Two plain nodes that only reach each other through a server: p1 and p2 both
        // peer with s and with each other (plain nodes mesh), so both hear each other
        // directly; the server never passes p1's route to p2 (non-client to non-client).
        let nodes = [
            n("s", 1, &[(ANN_RR_SERVER, "7")]),
            n("p1", 2, &[]),
            n("p2", 3, &[]),
        ];
        let e = expect_all(MESH, &nodes, &live(&["s", "p1", "p2"]), None);
        assert_eq!(e.sessions.len(), 3);
        assert_eq!(
            e.routes["p2"][&"10.244.2.0/24".parse().unwrap()],
            RouteHop::Via(ip(2))
        );
        // Per-node ASN, p2 in another AS: p1 and s still peer; p2 alone.
        let nodes = [
            n("s", 1, &[(ANN_RR_SERVER, "7"), (ANN_ASN, "64512")]),
            n("p1", 2, &[(ANN_ASN, "64512")]),
            n("p2", 3, &[(ANN_ASN, "64513")]),
            n("none", 4, &[]),
        ];
        let topo = Topology {
            full_mesh: false,
            ..MESH
        };
        let e = expect_all(topo, &nodes, &live(&["s", "p1", "p2", "none"]), None);
        assert_eq!(e.sessions, [pair(ip(1), ip(2))].into());
        assert!(e.routes["p2"].is_empty());
        assert!(!e.routes.contains_key("none"), "no ASN: BGP cannot run");
    }

    #[test]
    fn two_servers_of_one_cluster_id_drop_each_others_reflections() {
        let s = [(ANN_RR_SERVER, "5")];
        let c = [(ANN_RR_CLIENT, "5")];
        let nodes = [n("s1", 1, &s), n("s2", 2, &s), n("c", 3, &c)];
        let e = expect_all(MESH, &nodes, &live(&["s1", "s2", "c"]), None);
        assert_eq!(e.sessions.len(), 3);
        // s2 hears c directly (the reflection via s1 carries cluster ID 5 and is dropped).
        assert_eq!(e.routes["s2"].len(), 2);
        assert_eq!(e.routes["c"].len(), 2);
        assert_eq!(cluster_id("0.0.0.5"), Some(5));
        assert_eq!(cluster_id("-5"), None);
        assert_eq!(cluster_id(""), None);
    }

    #[test]
    fn off_subnet_nodes_go_through_tunnels_as_the_overlay_says() {
        let far = SimNode {
            internal_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 1, 7)),
            ..n("far", 7, &[])
        };
        let nodes = [n("a", 1, &[]), n("b", 2, &[]), far];
        let all = live(&["a", "b", "far"]);
        let cidr = |i: u8| -> Prefix { format!("10.244.{i}.0/24").parse().unwrap() };
        let far_ip = IpAddr::V4(Ipv4Addr::new(10, 0, 1, 7));
        let e = expect_all(MESH, &nodes, &all, None);
        assert_eq!(e.routes["a"][&cidr(2)], RouteHop::Via(ip(2)));
        assert_eq!(e.routes["a"][&cidr(7)], RouteHop::Tunnel(far_ip));
        assert_eq!(e.routes["far"][&cidr(1)], RouteHop::Tunnel(ip(1)));
        let full = Topology {
            overlay: SimOverlay::Full,
            ..MESH
        };
        let e = expect_all(full, &nodes, &all, None);
        assert_eq!(e.routes["a"][&cidr(2)], RouteHop::Tunnel(ip(2)));
        let off = Topology {
            overlay: SimOverlay::Off,
            ..MESH
        };
        let e = expect_all(off, &nodes, &all, None);
        assert_eq!(
            e.routes["a"].len(),
            1,
            "only the on-subnet node: {:?}",
            e.routes
        );
        assert!(e.routes["far"].is_empty());
        assert!(e.rules.values().all(Vec::is_empty));
        assert_eq!(e.sessions.len(), 3, "sessions do not care about subnets");
    }

    #[test]
    fn each_node_is_judged_by_its_own_flags() {
        let far_ip = IpAddr::V4(Ipv4Addr::new(10, 0, 1, 7));
        let far = SimNode {
            internal_ip: far_ip,
            ..n("far", 7, &[])
        };
        let nodes = [n("a", 1, &[]), n("b", 2, &[]), far];
        let all = live(&["a", "b", "far"]);
        let cidr = |i: u8| -> Prefix { format!("10.244.{i}.0/24").parse().unwrap() };
        let base = AgentFlags::defaults(MESH, true);
        // a restarted with the overlay off: no tunnel, no rule, no route to the far
        // node; the others still tunnel to a and keep their rules.
        let off = |name: &str| AgentFlags {
            overlay: if name == "a" {
                SimOverlay::Off
            } else {
                SimOverlay::Subnet
            },
            ..base
        };
        let e = expect(&nodes, &all, None, &off);
        assert_eq!(e.routes["a"].len(), 1);
        assert_eq!(e.routes["a"][&cidr(2)], RouteHop::Via(ip(2)));
        assert!(e.rules["a"].is_empty());
        assert_eq!(e.rules["b"], vec![cidr(2)]);
        assert_eq!(e.routes["far"][&cidr(1)], RouteHop::Tunnel(ip(1)));
        assert_eq!(e.sessions.len(), 3);
        // b with full overlay: a tunnel to its on-subnet neighbour; a unchanged.
        let full = |name: &str| AgentFlags {
            overlay: if name == "b" {
                SimOverlay::Full
            } else {
                SimOverlay::Subnet
            },
            ..base
        };
        let e = expect(&nodes, &all, None, &full);
        assert_eq!(e.routes["b"][&cidr(1)], RouteHop::Tunnel(ip(1)));
        assert_eq!(e.routes["a"][&cidr(2)], RouteHop::Via(ip(2)));
        // b without iBGP: no session with a node, no route to or from it; the router
        // still peers with it; without --advertise-pod-cidr it does not hear a's.
        let r: IpAddr = "10.0.0.250".parse().unwrap();
        let quiet = |name: &str| AgentFlags {
            ibgp: name != "b",
            advertise_pod_cidr: name != "a",
            ..base
        };
        let e = expect(&nodes, &all, Some(r), &quiet);
        assert!(e.routes["b"].is_empty());
        assert!(!e.routes["a"].contains_key(&cidr(2)));
        assert_eq!(e.routes["a"][&cidr(7)], RouteHop::Tunnel(far_ip));
        assert!(e.sessions.contains(&pair(ip(2), r)));
        assert!(!e.sessions.contains(&pair(ip(1), ip(2))));
        assert!(e.sessions.contains(&pair(ip(1), far_ip)));
        assert_eq!(
            e.router.keys().copied().collect::<Vec<_>>(),
            vec![cidr(2), cidr(7)]
        );
        // a with another cluster ASN: the others refuse it and it them; the router is
        // configured with its new ASN and still peers. b per-node ASN without an
        // annotation: no BGP at all, so no session, no route and no rule.
        let apart = |name: &str| AgentFlags {
            cluster_asn: if name == "a" {
                CLUSTER_ASN + 1
            } else {
                CLUSTER_ASN
            },
            full_mesh: name != "b",
            ..base
        };
        let e = expect(&nodes, &all, Some(r), &apart);
        assert_eq!(
            e.sessions,
            [pair(ip(1), r), pair(far_ip, r)].into(),
            "{:?}",
            e.sessions
        );
        assert!(e.routes["a"].is_empty() && e.routes["far"].is_empty());
        assert!(!e.routes.contains_key("b") && !e.rules.contains_key("b"));
        assert_eq!(e.without_bgp, live(&["b"]));
        assert_eq!(local_asn(&nodes[0], apart("a")), Some(CLUSTER_ASN + 1));
        // Mixed modes agree when the ASNs do: b per-node with annotation 64512 peers
        // with full-mesh a annotated alike, not with the unannotated far node it does
        // not configure (which configures b, in vain).
        let mut nodes = nodes.clone();
        for n in &mut nodes[..2] {
            n.annotations
                .insert(ANN_ASN.into(), CLUSTER_ASN.to_string());
        }
        let mixed = |name: &str| AgentFlags {
            full_mesh: name != "b",
            ..base
        };
        let e = expect(&nodes, &all, None, &mixed);
        assert_eq!(e.sessions, [pair(ip(1), ip(2)), pair(ip(1), far_ip)].into());
    }

    #[test]
    fn nodes_peer_and_route_only_within_their_family() {
        let v6 = |name: &str, i: u16, second: bool| SimNode {
            name: name.into(),
            internal_ip: IpAddr::V6(std::net::Ipv6Addr::new(
                0xfd00,
                0,
                0,
                u16::from(second),
                0,
                0,
                0,
                i,
            )),
            pod_cidr: format!("fd00:244:{i}::/64").parse().unwrap(),
            other_ip: None,
            other_pod_cidr: None,
            annotations: BTreeMap::new(),
        };
        let nodes = [
            n("a", 1, &[]),
            n("b", 2, &[]),
            v6("x", 1, false),
            v6("y", 2, false),
            v6("z", 3, true),
        ];
        let r: IpAddr = "10.0.0.250".parse().unwrap();
        let e = expect_all(MESH, &nodes, &live(&["a", "b", "x", "y", "z"]), Some(r));
        let (x, y, z) = (
            nodes[2].internal_ip,
            nodes[3].internal_ip,
            nodes[4].internal_ip,
        );
        assert_eq!(
            e.sessions,
            [
                pair(ip(1), ip(2)),
                pair(x, y),
                pair(x, z),
                pair(y, z),
                pair(ip(1), r),
                pair(ip(2), r),
            ]
            .into(),
            "no session across families; the IPv4 router only with IPv4 nodes"
        );
        assert_eq!(e.routes["a"].len(), 1);
        assert_eq!(
            e.routes["x"][&"fd00:244:2::/64".parse().unwrap()],
            RouteHop::Via(y)
        );
        assert_eq!(
            e.routes["x"][&"fd00:244:3::/64".parse().unwrap()],
            RouteHop::Tunnel(z),
            "another /64: through an ip6tnl tunnel"
        );
        assert_eq!(e.routes["z"].len(), 2);
        assert_eq!(e.rules["z"], vec!["fd00:244:3::/64".parse().unwrap()]);
        assert_eq!(e.router.len(), 2);
    }

    #[test]
    fn dual_stack_nodes_carry_both_families_over_their_primary_sessions() {
        let v6 = |s: &str| -> IpAddr { s.parse().unwrap() };
        let cidr = |s: &str| -> Prefix { s.parse().unwrap() };
        let dual = |name: &str, primary: &str, other: &str, c1: &str, c2: &str| SimNode {
            name: name.into(),
            internal_ip: v6(primary),
            pod_cidr: cidr(c1),
            other_ip: Some(v6(other)),
            other_pod_cidr: Some(cidr(c2)),
            annotations: BTreeMap::new(),
        };
        let x = SimNode {
            name: "x".into(),
            internal_ip: v6("fd00::5"),
            pod_cidr: cidr("fd00:244:5::/64"),
            other_ip: None,
            other_pod_cidr: None,
            annotations: BTreeMap::new(),
        };
        let nodes = [
            dual(
                "d4",
                "10.0.0.1",
                "fd00::1",
                "10.244.1.0/24",
                "fd00:244:1::/64",
            ),
            dual(
                "d6",
                "fd00::2",
                "10.0.0.2",
                "fd00:244:2::/64",
                "10.244.2.0/24",
            ),
            n("a", 3, &[]),
            // IPv4 on another subnet, IPv6 on the same one.
            dual(
                "b",
                "10.0.1.4",
                "fd00::4",
                "10.244.4.0/24",
                "fd00:244:4::/64",
            ),
            x,
        ];
        let r: IpAddr = "10.0.0.250".parse().unwrap();
        let e = expect_all(MESH, &nodes, &live(&["d4", "d6", "a", "b", "x"]), Some(r));
        let b4 = v6("10.0.1.4");
        assert_eq!(
            e.sessions,
            [
                pair(ip(1), ip(3)),
                pair(ip(1), b4),
                pair(ip(3), b4),
                pair(v6("fd00::2"), v6("fd00::5")),
                pair(ip(1), r),
                pair(ip(2), r),
                pair(ip(3), r),
                pair(b4, r),
            ]
            .into(),
            "nodes by primary family; the router from each node's IPv4 address"
        );
        let want = |pairs: &[(&str, RouteHop)]| -> BTreeMap<Prefix, RouteHop> {
            pairs.iter().map(|(c, h)| (cidr(c), *h)).collect()
        };
        assert_eq!(
            e.routes["d4"],
            want(&[
                ("10.244.3.0/24", RouteHop::Via(ip(3))),
                ("10.244.4.0/24", RouteHop::Tunnel(b4)),
                ("fd00:244:4::/64", RouteHop::Via(v6("fd00::4"))),
            ]),
            "each family's next hop and subnet on its own"
        );
        assert_eq!(
            e.routes["a"],
            want(&[
                ("10.244.1.0/24", RouteHop::Via(ip(1))),
                ("10.244.4.0/24", RouteHop::Tunnel(b4)),
            ]),
            "an IPv4-only node's sessions carry no IPv6"
        );
        assert_eq!(
            e.routes["b"],
            want(&[
                ("10.244.1.0/24", RouteHop::Tunnel(ip(1))),
                ("fd00:244:1::/64", RouteHop::Via(v6("fd00::1"))),
                ("10.244.3.0/24", RouteHop::Tunnel(ip(3))),
            ])
        );
        assert_eq!(
            e.routes["x"],
            want(&[("fd00:244:2::/64", RouteHop::Via(v6("fd00::2")))])
        );
        assert_eq!(
            e.routes["d6"],
            want(&[("fd00:244:5::/64", RouteHop::Via(v6("fd00::5")))])
        );
        assert_eq!(
            e.rules["d6"],
            vec![cidr("fd00:244:2::/64"), cidr("10.244.2.0/24")]
        );
        assert_eq!(
            e.router,
            [
                (cidr("10.244.1.0/24"), ip(1)),
                (cidr("fd00:244:1::/64"), v6("fd00::1")),
                (cidr("fd00:244:2::/64"), v6("fd00::2")),
                (cidr("10.244.2.0/24"), ip(2)),
                (cidr("10.244.3.0/24"), ip(3)),
                (cidr("10.244.4.0/24"), b4),
                (cidr("fd00:244:4::/64"), v6("fd00::4")),
            ]
            .into(),
            "both families over one IPv4 session, next hop of each family"
        );
        // Without its second pod CIDR, b originates IPv4 only.
        let mut nodes = nodes.clone();
        nodes[3].other_pod_cidr = None;
        let e = expect_all(MESH, &nodes, &live(&["d4", "d6", "a", "b", "x"]), Some(r));
        assert_eq!(e.routes["d4"].len(), 2);
        assert_eq!(e.rules["b"], vec![cidr("10.244.4.0/24")]);
        assert_eq!(e.router.len(), 6);
    }
}
