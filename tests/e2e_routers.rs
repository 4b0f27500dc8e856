//! End-to-end tests of kube-bgp with real external routers, configured as
//! docs/configuration.md shows: two global peers (one with a TCP-MD5 key, one without),
//! a router with the wrong key, node-specific peers from `kubectl annotate`, and service
//! cluster IPs advertised to a router and withdrawn when the Service is deleted. Each
//! checks kube-bgp's own view, the router's view and, where it matters, the kernel.
mod common;

use std::time::{Duration, Instant};

use base64::Engine;
use common::lab::checks::{available, set, timed};
use common::lab::{Lab, LabConfig};
use common::routers::{Neighbor, RouterConfig, RouterDaemon, SessionState};

/// First convergence (lab start, sessions, routes) on a loaded 2-core machine.
const UP: Duration = Duration::from_secs(40);
/// A live change (D1): it should take well under a second; this is only the bound.
const CHANGE: Duration = Duration::from_secs(10);

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// Scenario 5: `--peer-router-ips="<r1>,<r2>" --peer-router-asns="65000,65000"
/// --peer-router-passwords="<base64>,"` on three nodes: BIRD (router 1) with the MD5
/// key, GoBGP (router 2) without. Every node is Established with both routers and the
/// other nodes; each router has every node's pod CIDR with that node as next hop.
#[test]
fn two_global_routers_one_with_md5() {
    let test = "two_global_routers_one_with_md5";
    if !available(test, &[RouterDaemon::Bird, RouterDaemon::Gobgp]) {
        return;
    }
    let secret = "SecurePassword";
    let mut lab = Lab::new("e2gr", LabConfig::new(3).routers(2));
    let c1 = lab.router_config(0, 65000, 64512, Some(secret));
    let c2 = lab.router_config(1, 65000, 64512, None);
    lab.start_router(0, RouterDaemon::Bird, c1);
    lab.start_router(1, RouterDaemon::Gobgp, c2);
    let (r1, r2) = (lab.router(0).ipv4.clone(), lab.router(1).ipv4.clone());
    let ips = format!("--peer-router-ips={r1},{r2}");
    let pw = format!("--peer-router-passwords={},", b64(secret));
    for i in 0..3 {
        lab.start_kube_bgp(i, &[&ips, "--peer-router-asns=65000,65000", &pw]);
    }
    for i in 0..3 {
        let mut want = lab.ips(&[0, 1, 2]);
        want.remove(&lab.node(i).ipv4);
        want.insert(r1.clone());
        want.insert(r2.clone());
        let took = lab.expect_peers(i, &want, UP);
        eprintln!("{test}: node{} up after {took:?}", i + 1);
        for r in lab.neighbor_rows(i) {
            if r.address == r1 || r.address == r2 {
                lab.check(
                    r.asn == 65000 && r.peer_type == "external" && r.source == "global",
                    &format!("node{}: {r:?}", i + 1),
                );
            }
        }
        let d1 = lab.neighbor_detail(i, &r1);
        let d2 = lab.neighbor_detail(i, &r2);
        lab.check(
            d1.as_ref().is_some_and(|d| d.password) && d2.as_ref().is_some_and(|d| !d.password),
            &format!("password flags: {d1:?} {d2:?}"),
        );
    }
    for j in 0..2 {
        for node in lab.nodes() {
            lab.check(
                lab.rtr(j).wait_established(&node.ipv4, UP),
                &format!("router {j} not Established with {}", node.name),
            );
            lab.expect_router_paths(j, &node.pod_cidr4, &set(&[&node.ipv4]), UP);
        }
    }
    // The password never reaches the logs (only the redacted start header).
    for i in 0..3 {
        lab.check(
            !lab.log(i).contains(&b64(secret)) && !lab.log(i).contains(secret),
            "a password is in the log",
        );
    }
}

/// Scenario 5, wrong key: node1 and node2 run the same flags (key "right-key"); the BIRD
/// router has "right-key" for node2 and "other-key" for node1. node2's session comes up
/// (the setup works); node1's never does, on either side, for 10 s after that.
#[test]
fn global_router_with_wrong_md5_key_stays_down() {
    let test = "global_router_with_wrong_md5_key_stays_down";
    if !available(test, &[RouterDaemon::Bird]) {
        return;
    }
    let mut lab = Lab::new("e2pw", LabConfig::new(2).routers(1));
    let r = lab.router(0).ipv4.clone();
    let (n1, n2) = (lab.node(0).ipv4.clone(), lab.node(1).ipv4.clone());
    let cfg = RouterConfig::new(65000, &r)
        .listen(&r)
        .neighbor(Neighbor::new(&n1, 64512).password("other-key"))
        .neighbor(Neighbor::new(&n2, 64512).password("right-key"));
    lab.start_router(0, RouterDaemon::Bird, cfg);
    let ips = format!("--peer-router-ips={r}");
    let pw = format!("--peer-router-passwords={}", b64("right-key"));
    for i in 0..2 {
        lab.start_kube_bgp(i, &[&ips, "--peer-router-asns=65000", &pw]);
    }
    lab.expect_peers(1, &set(&[&n1, &r]), UP);
    lab.check(lab.rtr(0).wait_established(&n2, UP), "router: node2 down");
    let t0 = Instant::now();
    let came_up = common::wait_for(Duration::from_secs(10), || {
        (lab.established_peers(0).contains(&r)
            || lab.rtr(0).session(&n1) == SessionState::Established)
            .then_some(())
    });
    lab.check(
        came_up.is_none(),
        "node1 came up with the router despite the wrong key",
    );
    let row = lab.neighbor_rows(0).into_iter().find(|x| x.address == r);
    lab.check(
        row.as_ref().is_some_and(|x| x.state != "Established"),
        &format!("node1's row for the router: {row:?}"),
    );
    eprintln!("{test}: node1 stayed down for {:?}", t0.elapsed());
}

/// Scenario 6: no global peers; node1 gets its own router with
/// `kubectl annotate node node1 "kube-router.io/peer.ips=<r>"
/// "kube-router.io/peer.asns=65000" "kube-router.io/peer.passwords=<base64>"`.
/// Only node1 peers with the router (which would accept all three nodes); the router
/// learns node1's pod CIDR and nothing else.
#[test]
fn node_specific_peer_from_annotations() {
    let test = "node_specific_peer_from_annotations";
    if !available(test, &[RouterDaemon::Bird]) {
        return;
    }
    let secret = "node1-tor-key";
    let mut lab = Lab::new("e2np", LabConfig::new(3).routers(1));
    let cfg = lab.router_config(0, 65000, 64512, Some(secret));
    lab.start_router(0, RouterDaemon::Bird, cfg);
    let r = lab.router(0).ipv4.clone();
    for i in 0..3 {
        lab.start_kube_bgp(i, &[]);
    }
    for i in 0..3 {
        let mut want = lab.ips(&[0, 1, 2]);
        want.remove(&lab.node(i).ipv4);
        lab.expect_peers(i, &want, UP);
    }
    let t0 = Instant::now();
    let out = lab.kubectl_ok(&[
        "annotate",
        "node",
        "node1",
        &format!("kube-router.io/peer.ips={r}"),
        "kube-router.io/peer.asns=65000",
        &format!("kube-router.io/peer.passwords={}", b64(secret)),
    ]);
    lab.check(out.contains("node/node1 annotated"), &out);
    let want1 = set(&[&lab.node(1).ipv4, &lab.node(2).ipv4, &r]);
    let took = lab.expect_peers(0, &want1, UP);
    eprintln!(
        "{test}: node1 Established with its router {:?} after the annotation ({took:?} after kubectl returned)",
        t0.elapsed()
    );
    let row = lab.neighbor_rows(0).into_iter().find(|x| x.address == r);
    lab.check(
        row.as_ref()
            .is_some_and(|x| x.source == "annotation" && x.asn == 65000),
        &format!("{row:?}"),
    );
    lab.check(
        lab.neighbor_detail(0, &r).is_some_and(|d| d.password),
        "node1's router session has no key",
    );
    let n1 = lab.node(0);
    lab.check(
        lab.rtr(0).wait_established(&n1.ipv4, UP),
        "router: node1 down",
    );
    lab.expect_router_paths(0, &n1.pod_cidr4, &set(&[&n1.ipv4]), UP);
    for i in 1..3 {
        lab.check(
            !lab.configured_peers(i).contains(&r),
            &format!("node{} peers with node1's router", i + 1),
        );
        let ip = lab.node(i).ipv4.clone();
        lab.check(
            lab.rtr(0).session(&ip) != SessionState::Established,
            &format!("router Established with node{}", i + 1),
        );
        // Nodes never pass on what they learned from other nodes.
        lab.check(
            lab.router_next_hops(0, &lab.node(i).pod_cidr4).is_empty(),
            &format!("router learned node{}'s CIDR", i + 1),
        );
    }
}

/// Scenario 7: `--advertise-cluster-ip` on every node and a Service created with
/// `kubectl create -f`: the router receives the /32 from every node (ECMP candidates,
/// each node as next hop), never from a node that did not originate it; a second
/// Service annotated `service.advertise.clusterip=false` is not advertised; deleting the
/// Service withdraws its /32 from the router.
#[test]
fn cluster_ip_advertised_and_withdrawn() {
    let test = "cluster_ip_advertised_and_withdrawn";
    if !available(test, &[RouterDaemon::Bird]) {
        return;
    }
    let mut lab = Lab::new("e2ci", LabConfig::new(3).routers(1));
    let cfg = lab.router_config(0, 65000, 64512, None);
    lab.start_router(0, RouterDaemon::Bird, cfg);
    let r = lab.router(0).ipv4.clone();
    let ips = format!("--peer-router-ips={r}");
    for i in 0..3 {
        lab.start_kube_bgp(
            i,
            &[&ips, "--peer-router-asns=65000", "--advertise-cluster-ip"],
        );
    }
    for node in lab.nodes() {
        lab.check(
            lab.rtr(0).wait_established(&node.ipv4, UP),
            &format!("router: {} down", node.name),
        );
    }
    let manifest = lab.dir().join("services.yaml");
    let svc = |name: &str, ip: &str, ann: &str| {
        let head = format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: default\n{ann}"
        );
        let spec = format!(
            "spec:\n  type: ClusterIP\n  clusterIP: {ip}\n  clusterIPs: [\"{ip}\"]\n  ports: [{{name: http, port: 80, protocol: TCP}}]\n  selector: {{app: {name}}}\n"
        );
        head + &spec
    };
    let text = format!(
        "{}---\n{}",
        svc("web", "10.96.0.50", ""),
        svc(
            "quiet",
            "10.96.0.51",
            "  annotations:\n    kube-router.io/service.advertise.clusterip: \"false\"\n"
        )
    );
    std::fs::write(&manifest, text).unwrap_or_else(|e| panic!("write manifest: {e}"));
    let t0 = Instant::now();
    let out = lab.kubectl_ok(&["create", "-f", &manifest.display().to_string()]);
    lab.check(
        out.contains("service/web created") && out.contains("service/quiet created"),
        &out,
    );
    let all = lab.ips(&[0, 1, 2]);
    let took = lab.expect_router_paths(0, "10.96.0.50/32", &all, CHANGE);
    eprintln!(
        "{test}: router has 10.96.0.50/32 from all 3 nodes {:?} after create ({took:?} after kubectl returned)",
        t0.elapsed()
    );
    lab.check(
        lab.router_next_hops(0, "10.96.0.51/32").is_empty(),
        "the service annotated clusterip=false was advertised",
    );
    // Each node originates it itself; none carries another node's copy.
    for i in 0..3 {
        let rows: Vec<_> = lab
            .rib_rows(i)
            .into_iter()
            .filter(|x| x.prefix == "10.96.0.50/32")
            .collect();
        lab.check(
            rows.len() == 1 && rows.iter().all(|x| x.source == "local"),
            &format!("node{} RIB for the cluster IP: {rows:?}", i + 1),
        );
    }
    let t0 = Instant::now();
    lab.kubectl_ok(&["delete", "service", "web"]);
    let took = lab.expect_router_paths(0, "10.96.0.50/32", &set::<&str>(&[]), CHANGE);
    eprintln!(
        "{test}: withdrawn from the router {:?} after delete ({took:?} after kubectl returned)",
        t0.elapsed()
    );
    let gone = timed(CHANGE, || {
        (0..3).all(|i| !lab.rib_best(i).contains_key("10.96.0.50/32"))
    });
    lab.check(gone.is_some(), "a node kept the deleted service's /32");
    // The pod CIDRs stay.
    for node in lab.nodes() {
        lab.check(
            lab.router_next_hops(0, &node.pod_cidr4) == set(&[&node.ipv4]),
            &format!("router lost {}'s pod CIDR", node.name),
        );
    }
}
