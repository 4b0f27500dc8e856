//! End-to-end tests of IPv6 routing between nodes: a dual-stack full mesh
//! (`--enable-ipv6=true`, Node objects with an IPv4 and an IPv6 InternalIP and pod CIDR)
//! and an IPv6-only cluster (Node objects with IPv6 addresses and pod CIDRs only,
//! `--router-id=generate --enable-ipv4=false --enable-ipv6=true`). Each checks
//! kube-bgp's RIB (IPv6 pod CIDRs with IPv6 next hops), the kernel routes and
//! pod-to-pod ping over IPv6.
mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use kube_bgp::ops::ctl::RibRow;

use common::lab::checks::{available, fnv_router_id};
use common::lab::{Lab, LabConfig};
use common::wait_for;

/// First convergence (lab start, sessions, routes) on a loaded 2-core machine.
const UP: Duration = Duration::from_secs(40);

/// Node `i`'s best paths of the family of `prefix` (`global rib -a ipv4|ipv6 -o json`):
/// prefix -> next hop.
fn rib_best(lab: &Lab, i: usize, prefix: &str) -> BTreeMap<String, String> {
    let afi = if prefix.contains(':') { "ipv6" } else { "ipv4" };
    let rows: Vec<RibRow> = lab
        .ctl_json(i, &["global", "rib", "-a", afi])
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    rows.into_iter()
        .filter(|r| r.best)
        .map(|r| (r.prefix, r.next_hop))
        .collect()
}

/// Waits until node `i`'s best RIB path for `prefix` has next hop `nh`; fails otherwise.
fn expect_rib(lab: &Lab, i: usize, prefix: &str, nh: &str) {
    let ok = wait_for(UP, || {
        (rib_best(lab, i, prefix).get(prefix).map(String::as_str) == Some(nh)).then_some(())
    });
    lab.check(
        ok.is_some(),
        &format!(
            "node{} RIB: want {prefix} via {nh}, have {:?}",
            i + 1,
            rib_best(lab, i, prefix)
        ),
    );
}

/// Pings `count` packets from pod `a` to `to`; fails unless all come back.
fn expect_ping(lab: &Lab, a: usize, to: &str, count: u32) {
    let got = lab.ping(a, to, count);
    lab.check(
        got == (count, count),
        &format!("ping pod{} -> {to}: {got:?}", a + 1),
    );
}

/// Three dual-stack nodes, `--enable-ipv6=true`: every node learns the others' IPv4 and
/// IPv6 pod CIDRs, the IPv6 ones with the owner's IPv6 address as next hop, installs
/// both, and every pod reaches every other pod over IPv6 (and IPv4).
#[test]
fn dual_stack_full_mesh_routes_ipv6() {
    let test = "dual_stack_full_mesh_routes_ipv6";
    if !available(test, &[]) {
        return;
    }
    let mut lab = Lab::new("e2d6", LabConfig::new(3).dual_stack());
    for i in 0..3 {
        lab.start_kube_bgp(i, &["--enable-ipv6=true"]);
    }
    for i in 0..3 {
        for j in (0..3).filter(|&j| j != i) {
            let other = lab.node(j);
            let (c6, ip6) = (
                other.pod_cidr6.clone().unwrap_or_default(),
                other.ipv6.clone().unwrap_or_default(),
            );
            expect_rib(&lab, i, &c6, &ip6);
            expect_rib(&lab, i, &other.pod_cidr4, &other.ipv4);
            lab.expect_via(i, &c6, &ip6, UP);
            lab.expect_via(i, &other.pod_cidr4, &other.ipv4, UP);
        }
        // Its own pod CIDRs are not routed by kube-bgp.
        let own6 = lab.node(i).pod_cidr6.clone().unwrap_or_default();
        lab.check(
            lab.bgp_route(i, &own6).is_empty(),
            &format!("node{} routes its own {own6}", i + 1),
        );
    }
    for a in 0..3 {
        for b in (0..3).filter(|&b| b != a) {
            let to6 = lab.node(b).pod_ip6.clone().unwrap_or_default();
            expect_ping(&lab, a, &to6, 2);
        }
    }
    lab.expect_pings(&[(0, 1), (1, 2), (2, 0)], 2);
}

/// Creates node `i`'s Node object with its IPv6 InternalIP and IPv6 pod CIDR only.
fn register_v6_only(lab: &Lab, i: usize) {
    let node = lab.node(i);
    let (ip6, c6) = (
        node.ipv6.clone().unwrap_or_default(),
        node.pod_cidr6.clone().unwrap_or_default(),
    );
    let json = format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{{\"name\":\"{n}\",\
         \"labels\":{{\"kubernetes.io/hostname\":\"{n}\"}}}},\
         \"spec\":{{\"podCIDR\":\"{c6}\",\"podCIDRs\":[\"{c6}\"]}},\
         \"status\":{{\"addresses\":[{{\"type\":\"InternalIP\",\"address\":\"{ip6}\"}},\
         {{\"type\":\"Hostname\",\"address\":\"{n}\"}}]}}}}",
        n = node.name,
    );
    lab.api().create("/api/v1/nodes", &json);
}

/// Three nodes whose Node objects carry only IPv6 addresses and IPv6 pod CIDRs, run
/// with `--router-id=generate --enable-ipv4=false --enable-ipv6=true`: the sessions are
/// between the IPv6 node addresses, each node's router ID is the FNV value of its IPv6
/// address (and its peers see it), IPv6 pod CIDRs are learned with IPv6 next hops and
/// installed, no IPv4 route is installed, and pods reach each other over IPv6.
#[test]
fn ipv6_only_cluster() {
    let test = "ipv6_only_cluster";
    if !available(test, &[]) {
        return;
    }
    let mut lab = Lab::new("e2v6", LabConfig::new(3).dual_stack().unregistered());
    for i in 0..3 {
        register_v6_only(&lab, i);
    }
    let v6 = |i: usize| lab.node(i).ipv6.clone().unwrap_or_default();
    let addrs: Vec<String> = (0..3).map(v6).collect();
    for i in 0..3 {
        lab.start_kube_bgp(
            i,
            &[
                "--router-id=generate",
                "--enable-ipv4=false",
                "--enable-ipv6=true",
            ],
        );
    }
    for i in 0..3 {
        let want = addrs
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, a)| a.clone())
            .collect();
        lab.expect_peers(i, &want, UP);
        let status = lab.ctl_json(i, &["status"]).unwrap_or_default();
        let id = fnv_router_id(&addrs[i]);
        lab.check(
            status.get("router_id").and_then(|v| v.as_str()) == Some(id.as_str()),
            &format!("node{} status {status}, want router_id {id}", i + 1),
        );
        // The peers see that identifier.
        let j = (i + 1) % 3;
        let d = lab.neighbor_detail(j, &addrs[i]);
        lab.check(
            d.as_ref().is_some_and(|d| d.remote_router_id == id),
            &format!("node{} sees node{} as {d:?}, want {id}", j + 1, i + 1),
        );
    }
    for i in 0..3 {
        for j in (0..3).filter(|&j| j != i) {
            let c6 = lab.node(j).pod_cidr6.clone().unwrap_or_default();
            expect_rib(&lab, i, &c6, &addrs[j]);
            lab.expect_via(i, &c6, &addrs[j], UP);
        }
        let v4 = lab.ip(i, "-4 route show proto 17");
        lab.check(
            v4.trim().is_empty(),
            &format!("node{} has IPv4 kube-bgp routes: {v4}", i + 1),
        );
    }
    for a in 0..3 {
        for b in (0..3).filter(|&b| b != a) {
            let to6 = lab.node(b).pod_ip6.clone().unwrap_or_default();
            expect_ping(&lab, a, &to6, 2);
        }
    }
}
