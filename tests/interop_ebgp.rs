//! Interop: kube-bgp's speaker against BIRD 2, GoBGP and FRR as external routers
//! configured through the product path (a Node object in the fake API server and
//! kube-router's `--peer-router-*` flags): eBGP and iBGP sessions, pod CIDR and
//! service cluster IP announced to the router, the router's prefix learned, installed
//! in the kernel and withdrawn; IPv4 and IPv6 over one session; 4-octet ASNs and a
//! peer without the 4-octet AS capability. Every fact is checked on both sides: the
//! router's CLI (birdc / gobgp / vtysh) and kube-bgp's own CLI and the kernel.
mod common;

use std::time::Duration;

use common::kbnode::{self, KbNode, Pair};
use common::routers::{Daemon, Neighbor, Route, Router, RouterConfig};

const WAIT: Duration = Duration::from_secs(20);

fn have(test: &str, d: Daemon) -> bool {
    common::require_root(test) && common::apiserver::available(test) && d.available(test)
}

fn must_route(r: &Router, kb: &KbNode, prefix: &str) -> Route {
    r.wait_route(prefix, WAIT).unwrap_or_else(|| {
        panic!(
            "{} never received {prefix}; has {:?}\n{}\n{}",
            r.daemon,
            r.routes(),
            r.logs(),
            kb.logs()
        )
    })
}

fn must_establish(r: &Router, kb: &KbNode, kb_addr: &str, rtr_addr: &str) {
    assert!(
        r.wait_established(kb_addr, WAIT),
        "{}: session with kube-bgp is {:?}\n{}\n{}",
        r.daemon,
        r.session(kb_addr),
        r.logs(),
        kb.logs()
    );
    assert!(
        kb.wait_established(rtr_addr, WAIT),
        "kube-bgp: session with {} is {:?}\n{}",
        r.daemon,
        kb.neighbor(rtr_addr),
        kb.logs()
    );
}

/// One router at 10.0.0.2 with AS `router_asn`, kube-bgp node n1 at 10.0.0.1 (pod CIDR
/// 10.244.1.0/24, service 10.96.0.10) peering with it as a global peer. Checks the
/// session, both directions of routes, the kernel route, and withdrawal.
fn single_session(test: &str, daemon: Daemon, router_asn: u32, cluster_asn: Option<u32>) {
    if !have(test, daemon) {
        return;
    }
    eprintln!("{test}: {}", daemon.version());
    let local_asn = cluster_asn.unwrap_or(64512);
    let p: Pair = kbnode::pair("iope");
    kbnode::create_node(&p.api, "n1", &["10.0.0.1"], &["10.244.1.0/24"], &[]);
    kbnode::create_service(&p.api, "web", "10.96.0.10");
    let mut rtr = Router::start(
        daemon,
        &p.rtr,
        RouterConfig::new(router_asn, "10.0.0.2")
            .neighbor(Neighbor::new("10.0.0.1", local_asn))
            .prefix("10.100.1.0/24"),
    );
    let asns = format!("--peer-router-asns={router_asn}");
    let mut flags = vec![
        "--peer-router-ips=10.0.0.2",
        asns.as_str(),
        "--advertise-cluster-ip=true",
    ];
    let casn = cluster_asn.map(|a| format!("--cluster-asn={a}"));
    if let Some(c) = &casn {
        flags.push(c);
    }
    let kb = KbNode::start(&p.kb, &p.api, "n1", &flags);
    must_establish(&rtr, &kb, "10.0.0.1", "10.0.0.2");
    let ibgp = router_asn == local_asn;

    // kube-bgp -> router: pod CIDR and cluster IP, next hop = the node, AS path.
    let expect_path: Vec<u32> = if ibgp { vec![] } else { vec![local_asn] };
    for pfx in ["10.244.1.0/24", "10.96.0.10/32"] {
        let r = must_route(&rtr, &kb, pfx);
        assert_eq!(
            r.next_hop,
            Some("10.0.0.1".parse().unwrap()),
            "{pfx}: {r:?}"
        );
        assert_eq!(r.as_path, expect_path, "{pfx}: {r:?}");
    }
    let n = kb.neighbor("10.0.0.2").expect("neighbor detail");
    assert_eq!(n.row.asn, router_asn);
    assert_eq!(n.row.peer_type, if ibgp { "internal" } else { "external" });
    assert!(n.row.advertised >= 2, "advertised {:?}", n.row);
    assert!(
        n.capabilities.iter().any(|c| c == "4-octet AS: negotiated"),
        "{:?}",
        n.capabilities
    );

    // router -> kube-bgp: RIB, then the kernel (next hop on the link).
    let got = kb.wait_rib("10.100.1.0/24", WAIT).unwrap_or_else(|| {
        panic!(
            "kube-bgp never got 10.100.1.0/24: {:?}\n{}",
            kb.rib(false),
            kb.logs()
        )
    });
    assert_eq!(got.source, "10.0.0.2", "{got:?}");
    assert_eq!(got.next_hop, "10.0.0.2", "{got:?}");
    let want_path = if ibgp {
        String::new()
    } else {
        router_asn.to_string()
    };
    assert_eq!(got.as_path.trim(), want_path, "{got:?}");
    let kr = kb.wait_kernel("10.100.1.0/24", WAIT).unwrap_or_else(|| {
        panic!(
            "10.100.1.0/24 not in the kernel: {:?}\n{}",
            kb.kernel_routes(),
            kb.logs()
        )
    });
    assert!(kr.contains("via 10.0.0.2"), "{kr}");
    assert!(
        kb.neighbor("10.0.0.2").is_some_and(|n| n.row.accepted >= 1),
        "{:?}",
        kb.neighbor("10.0.0.2")
    );

    // Withdrawal on the router removes it from kube-bgp's RIB and the kernel.
    rtr.withdraw("10.100.1.0/24");
    assert!(
        kb.wait_no_rib("10.100.1.0/24", WAIT),
        "still in kube-bgp's RIB: {:?}\n{}",
        kb.rib(false),
        kb.logs()
    );
    assert!(
        kb.wait_no_kernel("10.100.1.0/24", WAIT),
        "still in the kernel: {:?}",
        kb.kernel_routes()
    );
    // And the router still has kube-bgp's routes (the session survived).
    assert!(rtr.route("10.244.1.0/24").is_some(), "{:?}", rtr.routes());
}

#[test]
fn ebgp_bird() {
    single_session("ebgp_bird", Daemon::Bird, 65001, None);
}

#[test]
fn ebgp_gobgp() {
    single_session("ebgp_gobgp", Daemon::Gobgp, 65001, None);
}

#[test]
fn ebgp_frr() {
    single_session("ebgp_frr", Daemon::Frr, 65001, None);
}

#[test]
fn ibgp_bird() {
    single_session("ibgp_bird", Daemon::Bird, 64512, None);
}

#[test]
fn ibgp_gobgp() {
    single_session("ibgp_gobgp", Daemon::Gobgp, 64512, None);
}

#[test]
fn ibgp_frr() {
    single_session("ibgp_frr", Daemon::Frr, 64512, None);
}

#[test]
fn four_octet_asns_frr() {
    single_session(
        "four_octet_asns_frr",
        Daemon::Frr,
        4_200_000_001,
        Some(4_200_000_000),
    );
}

#[test]
fn four_octet_asns_gobgp() {
    single_session(
        "four_octet_asns_gobgp",
        Daemon::Gobgp,
        4_200_000_001,
        Some(4_200_000_000),
    );
}
