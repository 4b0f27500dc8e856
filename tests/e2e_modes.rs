//! End-to-end tests of the node-to-node peering modes documented in
//! docs/configuration.md, each on a lab of real namespaces with kube-bgp on every node:
//! full mesh, `--cluster-asn` (and a node refused for another ASN, D4), one ASN per
//! group with `--nodes-full-mesh=false`, and route reflectors with two cluster IDs.
//! Each checks kube-bgp's own view (`neighbor`/`global rib -o json`), the kernel routes
//! and pod-to-pod pings across nodes. Annotations are set with `kubectl annotate`, as
//! the documentation shows.
mod common;

use std::time::Duration;

use common::lab::checks::{available, set};
use common::lab::{Lab, LabConfig};

/// First convergence (lab start, sessions, routes) on a loaded 2-core machine.
const UP: Duration = Duration::from_secs(40);

/// Every ordered pair of distinct nodes among `nodes`.
fn all_pairs(nodes: &[usize]) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    for &a in nodes {
        for &b in nodes.iter().filter(|&&b| b != a) {
            v.push((a, b));
        }
    }
    v
}

/// `nodes` without `i`.
fn others(nodes: &[usize], i: usize) -> Vec<usize> {
    nodes.iter().copied().filter(|&j| j != i).collect()
}

/// Scenario 1: four nodes, default flags. Every node is Established with the three
/// others in AS 64512, has every other pod CIDR in its RIB (next hop = the owner) and
/// in its kernel, and every pod reaches every other pod.
#[test]
fn full_mesh_four_nodes() {
    let test = "full_mesh_four_nodes";
    if !available(test, &[]) {
        return;
    }
    let mut lab = Lab::new("e2fm", LabConfig::new(4));
    let all = [0, 1, 2, 3];
    for i in all {
        lab.start_kube_bgp(i, &[]);
    }
    for i in all {
        let took = lab.expect_peers(i, &lab.ips(&others(&all, i)), UP);
        eprintln!("{test}: node{} full mesh up after {took:?}", i + 1);
        for r in lab.neighbor_rows(i) {
            lab.check(
                r.asn == 64512 && r.peer_type == "internal" && r.source.starts_with("node node"),
                &format!("node{}: {r:?}", i + 1),
            );
        }
    }
    for i in all {
        let want = lab.pod_routes(&others(&all, i));
        lab.check(
            common::wait_for(UP, || {
                let rib = lab.rib_best(i);
                want.iter()
                    .all(|(c, via)| rib.get(c) == Some(via))
                    .then_some(())
            })
            .is_some(),
            &format!("node{} RIB {:?}, want {want:?}", i + 1, lab.rib_best(i)),
        );
        let own = lab.node(i).pod_cidr4.clone();
        lab.expect_kernel(i, &want, &[own], UP);
    }
    lab.expect_pings(&all_pairs(&all), 2);
}

/// Scenario 2: `--cluster-asn=65100` on three nodes: their sessions carry AS 65100.
/// A fourth node started with `--cluster-asn=65200` is refused (D4): never Established,
/// with a log line saying the AS number is not the configured one. Restarted with the
/// right ASN, it joins.
#[test]
fn cluster_asn_and_mismatched_node() {
    let test = "cluster_asn_and_mismatched_node";
    if !available(test, &[]) {
        return;
    }
    let mut lab = Lab::new("e2ca", LabConfig::new(4));
    let good = [0, 1, 2];
    for i in good {
        lab.start_kube_bgp(i, &["--cluster-asn=65100"]);
    }
    lab.start_kube_bgp(3, &["--cluster-asn=65200"]);
    let odd = lab.node(3).ipv4.clone();
    for i in good {
        let want = lab.ips(&others(&good, i));
        let ok = common::wait_for(UP, || {
            let rows = lab.neighbor_rows(i);
            let est: Vec<&str> = rows
                .iter()
                .filter(|r| r.state == "Established")
                .map(|r| r.address.as_str())
                .collect();
            (rows.len() == 3 && set(&est) == want).then_some(())
        });
        lab.check(
            ok.is_some(),
            &format!("node{}: {:?}", i + 1, lab.neighbor_rows(i)),
        );
        for r in lab.neighbor_rows(i) {
            lab.check(
                r.asn == 65100 && r.peer_type == "internal",
                &format!("node{}: {r:?}", i + 1),
            );
        }
        let status = lab.ctl_json(i, &["status"]).unwrap_or_default();
        lab.check(
            status.get("asn").and_then(|a| a.as_u64()) == Some(65100),
            &format!("node{} status: {status}", i + 1),
        );
    }
    // Each node logs the refusal, naming the peer and both AS numbers.
    let refused = common::wait_for(UP, || {
        let lines: Vec<Vec<String>> = good
            .iter()
            .map(|&i| lab.log_lines(i, &[&format!("peer {odd}"), "refused", "65200", "65100"]))
            .collect();
        lines
            .iter()
            .all(|l| !l.is_empty())
            .then(|| lines[0][0].clone())
    });
    lab.check(refused.is_some(), "no log line about the mismatched ASN");
    eprintln!("{test}: refusal logged: {}", refused.unwrap_or_default());
    // Bounded look: the odd node stays down everywhere for a few more seconds.
    let stayed_down = common::wait_for(Duration::from_secs(5), || {
        let up = good
            .iter()
            .any(|&i| lab.established_peers(i).contains(&odd))
            || !lab.established_peers(3).is_empty();
        up.then_some(())
    });
    lab.check(
        stayed_down.is_none(),
        "the node with AS 65200 got a session",
    );
    for r in lab.neighbor_rows(3) {
        lab.check(r.asn == 65200, &format!("node4: {r:?}"));
    }
    // Same ASN after a restart: it joins, and the others' sessions were not reset.
    let before: Vec<_> = good.iter().map(|&i| lab.transitions(i)).collect();
    lab.stop_kube_bgp(3);
    lab.start_kube_bgp(3, &["--cluster-asn=65100"]);
    lab.expect_peers(3, &lab.ips(&good), UP);
    for (k, &i) in good.iter().enumerate() {
        lab.expect_peers(i, &lab.ips(&others(&all4(), i)), UP);
        let after = lab.transitions(i);
        for (addr, n) in &before[k] {
            lab.check(
                after.get(addr) == Some(n),
                &format!("node{}: session {addr} reset: {n} -> {after:?}", i + 1),
            );
        }
    }
}

fn all4() -> [usize; 4] {
    [0, 1, 2, 3]
}

/// Scenario 3: `--nodes-full-mesh=false` with the ASNs set as the documentation shows
/// (`kubectl annotate node n "kube-router.io/node.asn=65001"`): node1 and node2 in
/// 65001 peer only with each other, node3 and node4 in 65002 likewise. Before the
/// annotations exist no node runs BGP, and the log says why.
#[test]
fn per_node_asn_two_groups() {
    let test = "per_node_asn_two_groups";
    if !available(test, &[]) {
        return;
    }
    let mut lab = Lab::new("e2pa", LabConfig::new(4));
    for i in all4() {
        lab.start_kube_bgp(i, &["--nodes-full-mesh=false"]);
    }
    let said = common::wait_for(UP, || {
        lab.log_lines(0, &["node node1", "kube-router.io/node.asn"])
            .into_iter()
            .next()
    });
    lab.check(said.is_some(), "node1 never said it has no node.asn");
    eprintln!("{test}: before annotating: {}", said.unwrap_or_default());
    lab.check(
        lab.neighbor_rows(0).is_empty(),
        "node1 peers without an ASN",
    );
    for (node, asn) in [
        ("node1", "65001"),
        ("node2", "65001"),
        ("node3", "65002"),
        ("node4", "65002"),
    ] {
        let out = lab.kubectl_ok(&[
            "annotate",
            "node",
            node,
            &format!("kube-router.io/node.asn={asn}"),
        ]);
        lab.check(out.contains("annotated"), &out);
    }
    let groups = [([0, 1], 65001u32), ([2, 3], 65002u32)];
    for (members, asn) in groups {
        for &i in &members {
            let took = lab.expect_peers(i, &lab.ips(&others(&members, i)), UP);
            eprintln!("{test}: node{} in AS {asn} up after {took:?}", i + 1);
            for r in lab.neighbor_rows(i) {
                lab.check(r.asn == asn && r.peer_type == "internal", &format!("{r:?}"));
            }
        }
    }
    for (members, _) in groups {
        for &i in &members {
            let outside: Vec<usize> = all4()
                .into_iter()
                .filter(|j| !members.contains(j))
                .collect();
            let absent: Vec<String> = outside
                .iter()
                .map(|&j| lab.node(j).pod_cidr4.clone())
                .collect();
            lab.expect_kernel(i, &lab.pod_routes(&others(&members, i)), &absent, UP);
            let rib = lab.rib_best(i);
            lab.check(
                absent.iter().all(|c| !rib.contains_key(c)),
                &format!("node{} RIB has another group's CIDR: {rib:?}", i + 1),
            );
        }
    }
    lab.expect_pings(&[(0, 1), (1, 0), (2, 3), (3, 2)], 2);
    lab.check(lab.ping_fails(0, 2), "pod1 reached pod3 across groups");
}

/// Scenario 4: route reflectors as the documentation shows. node1 and node2 are
/// `rr.server=42`, node3..node5 `rr.client=42`, node6 `rr.client=7` (no server with that
/// ID). Servers peer with each other and with their clients (flagged as RR clients);
/// clients peer only with the servers and learn each other's pod CIDRs through them with
/// the next hop unchanged (kernel route via the originating node); node6 stays unpeered
/// and unrouted.
#[test]
fn route_reflectors_two_cluster_ids() {
    let test = "route_reflectors_two_cluster_ids";
    if !available(test, &[]) {
        return;
    }
    let mut lab = Lab::new("e2rr", LabConfig::new(6));
    for (node, ann) in [
        ("node1", "kube-router.io/rr.server=42"),
        ("node2", "kube-router.io/rr.server=42"),
        ("node3", "kube-router.io/rr.client=42"),
        ("node4", "kube-router.io/rr.client=42"),
        ("node5", "kube-router.io/rr.client=42"),
        ("node6", "kube-router.io/rr.client=7"),
    ] {
        lab.kubectl_ok(&["annotate", "node", node, ann]);
    }
    for i in 0..6 {
        lab.start_kube_bgp(i, &[]);
    }
    let servers = [0, 1];
    let clients = [2, 3, 4];
    let members = [0, 1, 2, 3, 4];
    for s in servers {
        let mut want = others(&servers, s);
        want.extend(clients);
        lab.expect_peers(s, &lab.ips(&want), UP);
        for r in lab.neighbor_rows(s) {
            let is_client = lab.ips(&clients).contains(&r.address);
            lab.check(r.rr_client == is_client, &format!("node{}: {r:?}", s + 1));
        }
    }
    for c in clients {
        lab.expect_peers(c, &lab.ips(&servers), UP);
    }
    // Given the time the others took, node6 has had its chance: no node peers at all.
    lab.check(
        lab.neighbor_rows(5).is_empty(),
        &format!("node6 (cluster ID 7) has peers: {:?}", lab.neighbor_rows(5)),
    );
    let lonely = lab.node(5).pod_cidr4.clone();
    for c in clients {
        let want = lab.pod_routes(&others(&members, c));
        // Reflected paths keep the originator's next hop.
        lab.check(
            common::wait_for(UP, || {
                let rib = lab.rib_best(c);
                want.iter()
                    .all(|(p, via)| rib.get(p) == Some(via))
                    .then_some(())
            })
            .is_some(),
            &format!("node{} RIB {:?}, want {want:?}", c + 1, lab.rib_best(c)),
        );
        lab.expect_kernel(c, &want, std::slice::from_ref(&lonely), UP);
    }
    for i in members {
        lab.check(
            !lab.rib_best(i).contains_key(&lonely),
            &format!("node{} learned node6's CIDR", i + 1),
        );
    }
    lab.expect_kernel(
        5,
        &[],
        &lab.pod_routes(&members)
            .into_iter()
            .map(|p| p.0)
            .collect::<Vec<_>>(),
        UP,
    );
    lab.expect_pings(&[(2, 3), (3, 4), (4, 2), (2, 0), (1, 4)], 2);
    lab.check(
        lab.ping_fails(5, 2),
        "pod6 reached pod3 without any peering",
    );
}
