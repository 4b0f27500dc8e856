//! End-to-end tests of the options that shape what a node exchanges with its peers, each
//! configured as docs/configuration.md shows and checked on a real router (GoBGP), in
//! kube-bgp's own view (`neighbor`, `global rib`, `status -o json`), in the kernel and
//! in the sockets (`ss`): AS-path prepend and communities towards external peers,
//! `--override-nexthop`, node-specific peers (YAML with `port:`/`localip:` and the
//! individual annotations with `peer.ports`/`peer.localips`), custom import reject,
//! `--enable-ibgp=false`, `--bgp-port`, `--router-id=generate` and
//! `bgp-local-addresses`.
mod common;

use std::time::Duration;

use common::lab::checks::{available, fnv_router_id, set};
use common::lab::{Lab, LabConfig};
use common::routers::{Neighbor, RouterConfig, RouterDaemon};
use common::{Netns, wait_for};

/// First convergence (lab start, sessions, routes) on a loaded 2-core machine.
const UP: Duration = Duration::from_secs(40);
/// A live change: it should take well under a second; this is only the bound.
const CHANGE: Duration = Duration::from_secs(10);

/// `10.k.1`: a second subnet on the lab's bridge (the lab itself uses `10.k.0.0/24`).
fn second_subnet(lab: &Lab) -> String {
    let ip = &lab.node(0).ipv4;
    let mut parts = ip.split('.');
    let (a, b) = (parts.next().unwrap_or("10"), parts.next().unwrap_or("0"));
    format!("{a}.{b}.1")
}

/// Adds `cidr` on the interface of `ns` that holds `existing` (its bridge port).
fn add_addr(ns: &Netns, existing: &str, cidr: &str) {
    let line = ns.sh(&format!("ip -o -4 addr show to {existing}/32"));
    let dev = line
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("{}: no interface holds {existing}: {line}", ns.name));
    ns.sh(&format!("ip addr add {cidr} dev {dev}"));
}

#[test]
fn fnv_router_id_matches_the_spec_vectors() {
    assert_eq!(fnv_router_id("10.0.0.1"), "0.15.248.254");
    assert_eq!(fnv_router_id("10.1.0.1"), "195.41.72.217");
    assert_eq!(fnv_router_id("2001:db8::1"), "110.91.4.244");
}

/// Node-specific peers on a second subnet, shaping on node1 only:
/// - node1: `kube-router.io/peers` YAML (`remoteip`, `remoteasn`, `localip` 10.k.1.1,
///   `port: 1179`), `path-prepend.as=65010` + `repeat-n=2`,
///   `node.bgp.communities=65000:100,no-export,0xFFFFFF01` (the last one invalid), and
///   `--override-nexthop`;
/// - node2: `peer.ips`/`peer.asns`/`peer.ports=1179`/`peer.localips=10.k.1.2`, no
///   shaping, no `--override-nexthop`.
///
/// The GoBGP router listens on 1179 only and never connects (passive), so each session
/// exists only because kube-bgp connected to the configured port from the configured
/// source. The router must see node1's pod CIDR and cluster IP with AS_PATH
/// [65010 65010 64512], both communities and next hop 10.k.1.1 (the session address,
/// not the node's 10.k.0.1); node2's with AS_PATH [64512], no communities and next hop
/// 10.k.0.2 (its node address, not the session's 10.k.1.2). Between the nodes nothing
/// is shaped: node2 learns node1's pod CIDR with next hop 10.k.0.1, an empty AS path
/// and no communities, and installs it.
#[test]
fn prepend_communities_override_nexthop_and_annotation_peers() {
    let test = "prepend_communities_override_nexthop_and_annotation_peers";
    if !available(test, &[RouterDaemon::Gobgp]) {
        return;
    }
    let mut lab = Lab::new("e2sh", LabConfig::new(2).routers(1));
    let sub = second_subnet(&lab);
    let (rt, l1, l2) = (format!("{sub}.201"), format!("{sub}.1"), format!("{sub}.2"));
    add_addr(&lab.router(0).ns, &lab.router(0).ipv4, &format!("{rt}/24"));
    add_addr(&lab.node(0).ns, &lab.node(0).ipv4, &format!("{l1}/24"));
    add_addr(&lab.node(1).ns, &lab.node(1).ipv4, &format!("{l2}/24"));
    let cfg = RouterConfig::new(65000, &rt)
        .port(1179)
        .neighbor(Neighbor::new(&l1, 64512).passive())
        .neighbor(Neighbor::new(&l2, 64512).passive());
    lab.start_router(0, RouterDaemon::Gobgp, cfg);
    let yaml = format!("- remoteip: {rt}\n  remoteasn: 65000\n  localip: {l1}\n  port: 1179\n");
    lab.annotate(0, "kube-router.io/peers", &yaml);
    lab.annotate(0, "kube-router.io/path-prepend.as", "65010");
    lab.annotate(0, "kube-router.io/path-prepend.repeat-n", "2");
    lab.annotate(
        0,
        "kube-router.io/node.bgp.communities",
        "65000:100,no-export,0xFFFFFF01",
    );
    lab.annotate(1, "kube-router.io/peer.ips", &rt);
    lab.annotate(1, "kube-router.io/peer.asns", "65000");
    lab.annotate(1, "kube-router.io/peer.ports", "1179");
    lab.annotate(1, "kube-router.io/peer.localips", &l2);
    lab.start_kube_bgp(0, &["--override-nexthop", "--advertise-cluster-ip"]);
    lab.start_kube_bgp(1, &["--advertise-cluster-ip"]);
    let (n1, n2) = (lab.node(0).ipv4.clone(), lab.node(1).ipv4.clone());
    lab.expect_peers(0, &set(&[&n2, &rt]), UP);
    lab.expect_peers(1, &set(&[&n1, &rt]), UP);
    for (i, local) in [(0, &l1), (1, &l2)] {
        let d = lab.neighbor_detail(i, &rt);
        lab.check(
            d.as_ref().is_some_and(|d| {
                d.remote_port == 1179
                    && d.local_address == *local
                    && d.row.source == "annotation"
                    && d.row.peer_type == "external"
            }),
            &format!("node{} session with the router: {d:?}", i + 1),
        );
    }
    let manifest = lab.dir().join("web.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\n\
         spec: {type: ClusterIP, clusterIP: 10.96.0.60, clusterIPs: [10.96.0.60], \
         ports: [{port: 80, protocol: TCP}]}\n",
    )
    .unwrap_or_else(|e| panic!("write manifest: {e}"));
    lab.kubectl_ok(&["create", "-f", &manifest.display().to_string()]);
    let (c1, c2) = (lab.node(0).pod_cidr4.clone(), lab.node(1).pod_cidr4.clone());
    let vip = "10.96.0.60/32";
    lab.expect_router_paths(0, &c1, &set(&[&l1]), UP);
    lab.expect_router_paths(0, &c2, &set(&[&n2]), UP);
    lab.expect_router_paths(0, vip, &set(&[&l1, &n2]), UP);
    let routes = lab.rtr(0).routes();
    let from = |ip: &str| {
        Some(
            ip.parse::<std::net::IpAddr>()
                .unwrap_or_else(|e| panic!("{e}")),
        )
    };
    for (prefix, peer, path, comms) in [
        (
            &c1,
            &l1,
            vec![65010, 65010, 64512],
            vec!["65000:100", "65535:65281"],
        ),
        (&c2, &l2, vec![64512], vec![]),
        (
            &vip.to_string(),
            &l1,
            vec![65010, 65010, 64512],
            vec!["65000:100", "65535:65281"],
        ),
        (&vip.to_string(), &l2, vec![64512], vec![]),
    ] {
        let got = routes
            .iter()
            .find(|r| r.prefix.to_string() == *prefix && r.from == from(peer));
        lab.check(
            got.is_some_and(|r| r.as_path == path),
            &format!("router: {prefix} from {peer}: {got:?}, want AS path {path:?}"),
        );
        let mut have = lab.rtr(0).communities(prefix, peer).unwrap_or_default();
        have.sort();
        lab.check(
            have == comms,
            &format!("router: {prefix} from {peer}: communities {have:?}, want {comms:?}"),
        );
    }
    // The invalid community is reported, naming it; the others still apply (above).
    lab.check(
        !lab.log_lines(0, &["0xFFFFFF01"]).is_empty(),
        "node1 did not log the invalid community 0xFFFFFF01",
    );
    // Node to node: no prepend, no communities, the node's own address as next hop.
    let ok = wait_for(UP, || {
        lab.rib_rows(1)
            .into_iter()
            .find(|r| r.prefix == c1 && r.best)
            .filter(|r| r.next_hop == n1 && r.as_path.is_empty() && r.communities.is_empty())
    });
    lab.check(
        ok.is_some(),
        &format!(
            "node2's RIB for {c1}: {:?}",
            lab.rib_rows(1)
                .into_iter()
                .filter(|r| r.prefix == c1)
                .collect::<Vec<_>>()
        ),
    );
    lab.expect_via(1, &c1, &n1, UP);
    lab.expect_via(0, &c2, &n2, UP);
    // kube-bgp's RIB keeps what it originates unshaped (shaping is on export only).
    let own: Vec<_> = lab
        .rib_rows(0)
        .into_iter()
        .filter(|r| r.prefix == c1)
        .collect();
    lab.check(
        own.len() == 1
            && own
                .iter()
                .all(|r| r.source == "local" && r.communities.is_empty()),
        &format!("node1's own {c1}: {own:?}"),
    );
}

/// `--enable-ibgp=false` on both nodes with one global GoBGP peer announcing
/// 10.50.0.0/16, 10.50.1.0/24 and 10.60.0.0/24; node1 has
/// `node.bgp.customimportreject=10.50.0.0/16`. No node-to-node session exists (only the
/// router), and neither node learns the other's pod CIDR. node1 accepts and installs
/// 10.60.0.0/24 but neither 10.50 prefix; node2 (no annotation) has all three, so the
/// router does announce them.
#[test]
fn external_only_with_custom_import_reject() {
    let test = "external_only_with_custom_import_reject";
    if !available(test, &[RouterDaemon::Gobgp]) {
        return;
    }
    let mut lab = Lab::new(
        "e2ir",
        LabConfig::new(2).routers(1).annotate(
            0,
            "kube-router.io/node.bgp.customimportreject",
            "10.50.0.0/16",
        ),
    );
    let cfg = lab
        .router_config(0, 65000, 64512, None)
        .prefix("10.50.0.0/16")
        .prefix("10.50.1.0/24")
        .prefix("10.60.0.0/24");
    lab.start_router(0, RouterDaemon::Gobgp, cfg);
    let rt = lab.router(0).ipv4.clone();
    let ips = format!("--peer-router-ips={rt}");
    for i in 0..2 {
        lab.start_kube_bgp(
            i,
            &["--enable-ibgp=false", &ips, "--peer-router-asns=65000"],
        );
    }
    for i in 0..2 {
        lab.expect_peers(i, &set(&[&rt]), UP);
    }
    lab.expect_kernel(
        1,
        &[
            ("10.50.0.0/16".into(), rt.clone()),
            ("10.50.1.0/24".into(), rt.clone()),
            ("10.60.0.0/24".into(), rt.clone()),
        ],
        &[],
        UP,
    );
    lab.expect_kernel(
        0,
        &[("10.60.0.0/24".into(), rt.clone())],
        &["10.50.0.0/16".into(), "10.50.1.0/24".into()],
        UP,
    );
    let rib = lab.rib_best(0);
    lab.check(
        rib.get("10.60.0.0/24") == Some(&rt)
            && !rib.contains_key("10.50.0.0/16")
            && !rib.contains_key("10.50.1.0/24"),
        &format!("node1 RIB: {rib:?}"),
    );
    // The router sees both pod CIDRs; neither node has the other's, nor a session to it.
    for i in 0..2 {
        let node = lab.node(i);
        lab.expect_router_paths(0, &node.pod_cidr4, &set(&[&node.ipv4]), UP);
        let other = lab.node(1 - i).pod_cidr4.clone();
        lab.check(
            !lab.rib_best(i).contains_key(&other) && lab.bgp_route(i, &other).is_empty(),
            &format!("node{} learned {other} with --enable-ibgp=false", i + 1),
        );
        lab.check(
            lab.configured_peers(i) == set(&[&rt]),
            &format!("node{} peers: {:?}", i + 1, lab.configured_peers(i)),
        );
    }
}

/// The TCP sockets of `ns` in state `state` (`ss -Htn state …`): (local, peer) pairs.
fn sockets(ns: &Netns, args: &str) -> Vec<(String, String)> {
    ns.sh(&format!("ss -Htn {args}"))
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            // Recv-Q Send-Q Local Peer (with `state X` the State column is left out).
            let n = w.len();
            (n >= 2).then(|| (w[n - 2].to_string(), w[n - 1].to_string()))
        })
        .collect()
}

/// `--bgp-port=1790` on both nodes, `--router-id=generate` on node1, and node1's
/// `bgp-local-addresses` set to its node address while it also holds 10.k.1.1:
/// - node1 listens on exactly `10.k.0.1:1790` (not on 10.k.1.1, not on 179, not on the
///   wildcard); node2 on `10.k.0.2:1790`;
/// - the node-to-node connection runs on port 1790 (the listening side's port is 1790,
///   neither is 179) and the side that connected reports remote port 1790;
/// - node1's `status -o json` router_id is the FNV value of 10.k.0.1, and the GoBGP
///   router (an external peer, reached on 179 as always) sees that BGP identifier.
#[test]
fn bgp_port_router_id_generate_and_local_addresses() {
    let test = "bgp_port_router_id_generate_and_local_addresses";
    if !available(test, &[RouterDaemon::Gobgp]) || !common::require_tool(test, "ss") {
        return;
    }
    let mut lab = Lab::new("e2bp", LabConfig::new(2).routers(1));
    let sub = second_subnet(&lab);
    let extra = format!("{sub}.1");
    let (n1, n2) = (lab.node(0).ipv4.clone(), lab.node(1).ipv4.clone());
    add_addr(&lab.node(0).ns, &n1, &format!("{extra}/24"));
    lab.annotate(0, "kube-router.io/bgp-local-addresses", &n1);
    // The router connects too, but only kube-bgp's connection (to 179) can succeed.
    let cfg = lab.router_config(0, 65000, 64512, None);
    lab.start_router(0, RouterDaemon::Gobgp, cfg);
    let rt = lab.router(0).ipv4.clone();
    let ips = format!("--peer-router-ips={rt}");
    let common_flags = ["--bgp-port=1790", &ips, "--peer-router-asns=65000"];
    let mut f1 = common_flags.to_vec();
    f1.push("--router-id=generate");
    lab.start_kube_bgp(0, &f1);
    lab.start_kube_bgp(1, &common_flags);
    lab.expect_peers(0, &set(&[&n2, &rt]), UP);
    lab.expect_peers(1, &set(&[&n1, &rt]), UP);

    let listening = |i: usize| -> Vec<String> {
        let mut v: Vec<String> = sockets(&lab.node(i).ns, "state listening")
            .into_iter()
            .map(|(l, _)| l)
            // BGP sockets only (the health endpoint listens on its own port).
            .filter(|l| l.ends_with(":179") || l.ends_with(":1790"))
            .collect();
        v.sort();
        v
    };
    let l1 = listening(0);
    lab.check(
        l1 == vec![format!("{n1}:1790")],
        &format!("node1 listens on {l1:?}, want only {n1}:1790"),
    );
    let l2 = listening(1);
    lab.check(
        l2 == vec![format!("{n2}:1790")],
        &format!("node2 listens on {l2:?}"),
    );
    let session_ports = |i: usize| -> Vec<(String, String)> {
        sockets(&lab.node(i).ns, "state established")
            .into_iter()
            .filter(|(l, p)| l.starts_with(&format!("{n1}:")) && p.starts_with(&format!("{n2}:")))
            .collect()
    };
    let s = session_ports(0);
    lab.check(
        s.len() == 1
            && s.iter().all(|(l, p)| {
                (l.ends_with(":1790") || p.ends_with(":1790"))
                    && !l.ends_with(":179")
                    && !p.ends_with(":179")
            }),
        &format!("node1-node2 connections: {s:?}"),
    );
    // The side that connected reports the other's port as 1790.
    let remote_ports: Vec<Option<u16>> = [(0, &n2), (1, &n1)]
        .iter()
        .map(|(i, other)| lab.neighbor_detail(*i, other).map(|d| d.remote_port))
        .collect();
    lab.check(
        remote_ports.contains(&Some(1790)),
        &format!("node-to-node remote ports {remote_ports:?}, want one 1790"),
    );
    // Router ID.
    let want = fnv_router_id(&n1);
    let status = lab.ctl_json(0, &["status"]).unwrap_or_default();
    lab.check(
        status.get("router_id").and_then(|v| v.as_str()) == Some(want.as_str()),
        &format!("node1 status router_id: {status}, want {want}"),
    );
    let seen = wait_for(CHANGE, || {
        let out = lab.rtr(0).gobgp_cli(&["neighbor", &n1, "-j"]).ok()?;
        let v: serde_json::Value = serde_json::from_str(&out).ok()?;
        let id = v
            .pointer("/state/router_id")
            .and_then(|x| x.as_str())?
            .to_string();
        Some(id)
    });
    lab.check(
        seen.as_deref() == Some(want.as_str()),
        &format!("router sees node1's BGP identifier {seen:?}, want {want}"),
    );
    lab.check(
        lab.rtr(0).wait_established(&n1, UP),
        "router: node1 not Established",
    );
}
