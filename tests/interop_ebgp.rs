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
use common::routers::{Neighbor, Route, Router, RouterConfig, RouterDaemon};

const WAIT: Duration = Duration::from_secs(20);

fn have(test: &str, d: RouterDaemon) -> bool {
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
fn single_session(test: &str, daemon: RouterDaemon, router_asn: u32, cluster_asn: Option<u32>) {
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
    single_session("ebgp_bird", RouterDaemon::Bird, 65001, None);
}

#[test]
fn ebgp_gobgp() {
    single_session("ebgp_gobgp", RouterDaemon::Gobgp, 65001, None);
}

#[test]
fn ebgp_frr() {
    single_session("ebgp_frr", RouterDaemon::Frr, 65001, None);
}

#[test]
fn ibgp_bird() {
    single_session("ibgp_bird", RouterDaemon::Bird, 64512, None);
}

#[test]
fn ibgp_gobgp() {
    single_session("ibgp_gobgp", RouterDaemon::Gobgp, 64512, None);
}

#[test]
fn ibgp_frr() {
    single_session("ibgp_frr", RouterDaemon::Frr, 64512, None);
}

#[test]
fn four_octet_asns_frr() {
    single_session(
        "four_octet_asns_frr",
        RouterDaemon::Frr,
        4_200_000_001,
        Some(4_200_000_000),
    );
}

#[test]
fn four_octet_asns_gobgp() {
    single_session(
        "four_octet_asns_gobgp",
        RouterDaemon::Gobgp,
        4_200_000_001,
        Some(4_200_000_000),
    );
}

/// A dual-stack node (both InternalIPs and pod CIDRs) and a router announcing an IPv4
/// and an IPv6 prefix, all over one IPv4 session with both families negotiated.
fn dual_stack(test: &str, daemon: RouterDaemon) {
    if !have(test, daemon) {
        return;
    }
    eprintln!("{test}: {}", daemon.version());
    let p: Pair = kbnode::pair("iopd");
    kbnode::create_node(
        &p.api,
        "n1",
        &["10.0.0.1", "fd00::1"],
        &["10.244.1.0/24", "fd00:244:1::/64"],
        &[],
    );
    let mut rtr = Router::start(
        daemon,
        &p.rtr,
        RouterConfig::new(65001, "10.0.0.2")
            .neighbor(Neighbor::new("10.0.0.1", 64512).families(true, true))
            .prefix("10.100.1.0/24")
            .prefix("fd00:100:1::/64"),
    );
    let kb = KbNode::start(
        &p.kb,
        &p.api,
        "n1",
        &["--peer-router-ips=10.0.0.2", "--peer-router-asns=65001"],
    );
    must_establish(&rtr, &kb, "10.0.0.1", "10.0.0.2");
    let n = kb.neighbor("10.0.0.2").expect("neighbor detail");
    assert!(
        n.families.iter().any(|f| f.contains("ipv4"))
            && n.families.iter().any(|f| f.contains("ipv6")),
        "negotiated families {:?}",
        n.families
    );

    // Router side: both pod CIDRs, each with a next hop of its own family.
    let r4 = must_route(&rtr, &kb, "10.244.1.0/24");
    assert_eq!(r4.next_hop, Some("10.0.0.1".parse().unwrap()), "{r4:?}");
    let r6 = must_route(&rtr, &kb, "fd00:244:1::/64");
    assert_eq!(r6.next_hop, Some("fd00::1".parse().unwrap()), "{r6:?}");
    assert_eq!(r6.as_path, vec![64512], "{r6:?}");

    // kube-bgp side: both prefixes in the RIB and the kernel.
    for (pfx, nh) in [
        ("10.100.1.0/24", "10.0.0.2"),
        ("fd00:100:1::/64", "fd00::2"),
    ] {
        let got = kb.wait_rib(pfx, WAIT).unwrap_or_else(|| {
            panic!(
                "kube-bgp never got {pfx}: {:?} {:?}\n{}",
                kb.rib(false),
                kb.rib(true),
                kb.logs()
            )
        });
        assert_eq!(got.next_hop, nh, "{got:?}");
        assert_eq!(got.as_path.trim(), "65001", "{got:?}");
        let kr = kb.wait_kernel(pfx, WAIT).unwrap_or_else(|| {
            panic!(
                "{pfx} not in the kernel: {:?}\n{}",
                kb.kernel_routes(),
                kb.logs()
            )
        });
        assert!(kr.contains(&format!("via {nh}")), "{kr}");
    }
    // Withdrawing the IPv6 prefix leaves the IPv4 one alone.
    rtr.withdraw("fd00:100:1::/64");
    assert!(
        kb.wait_no_rib("fd00:100:1::/64", WAIT),
        "{:?}",
        kb.rib(true)
    );
    assert!(
        kb.wait_no_kernel("fd00:100:1::/64", WAIT),
        "{:?}",
        kb.kernel_routes()
    );
    assert!(kb.rib_best("10.100.1.0/24").is_some());
    assert!(kb.kernel_route("10.100.1.0/24").is_some());
}

#[test]
fn dual_stack_frr() {
    dual_stack("dual_stack_frr", RouterDaemon::Frr);
}

#[test]
fn dual_stack_bird() {
    dual_stack("dual_stack_bird", RouterDaemon::Bird);
}

/// A 4-octet path through a 2-octet-only BIRD: GoBGP (AS 4200000001) -- BIRD (AS 65001,
/// `enable as4 off` towards kube-bgp) -- kube-bgp (AS 64512). BIRD sends kube-bgp
/// AS_PATH "65001 23456" with AS4_PATH "4200000001"; kube-bgp must show the real path.
/// (BIRD with as4 off refuses a 4-octet neighbour ASN, so the cluster ASN is 2-octet
/// here; `two_octet_peer_frr` covers a 4-octet cluster ASN.)
#[test]
fn two_octet_peer_bird() {
    let test = "two_octet_peer_bird";
    if !have(test, RouterDaemon::Bird) || !RouterDaemon::Gobgp.available(test) {
        return;
    }
    eprintln!(
        "{test}: {} / {}",
        RouterDaemon::Bird.version(),
        RouterDaemon::Gobgp.version()
    );
    let p: Pair = kbnode::pair("iopa");
    let far = common::Netns::new("iopa");
    common::veth(&p.rtr, &["10.1.0.1/24"], &far, &["10.1.0.2/24"]);
    kbnode::create_node(&p.api, "n1", &["10.0.0.1"], &["10.244.1.0/24"], &[]);
    let bird = Router::bird(
        &p.rtr,
        RouterConfig::new(65001, "10.0.0.2")
            .neighbor(Neighbor::new("10.0.0.1", 64512).no_as4())
            .neighbor(Neighbor::new("10.1.0.2", 4_200_000_001)),
    );
    let gobgp = Router::gobgp(
        &far,
        RouterConfig::new(4_200_000_001, "10.1.0.2")
            .neighbor(Neighbor::new("10.1.0.1", 65001))
            .prefix("10.101.0.0/24"),
    );
    let kb = KbNode::start(
        &p.kb,
        &p.api,
        "n1",
        &["--peer-router-ips=10.0.0.2", "--peer-router-asns=65001"],
    );
    must_establish(&bird, &kb, "10.0.0.1", "10.0.0.2");
    assert!(gobgp.wait_established("10.1.0.1", WAIT), "{}", gobgp.logs());
    let n = kb.neighbor("10.0.0.2").expect("neighbor detail");
    assert!(
        n.capabilities
            .iter()
            .any(|c| c == "4-octet AS: not supported by the peer"),
        "{:?}",
        n.capabilities
    );

    // kube-bgp -> BIRD (2-octet session) -> GoBGP.
    let r = must_route(&bird, &kb, "10.244.1.0/24");
    assert_eq!(r.as_path, vec![64512], "BIRD: {r:?}");
    let r = must_route(&gobgp, &kb, "10.244.1.0/24");
    assert_eq!(r.as_path, vec![65001, 64512], "GoBGP: {r:?}");

    // GoBGP -> BIRD -> kube-bgp: AS_PATH "65001 23456" + AS4_PATH merged.
    let got = kb.wait_rib("10.101.0.0/24", WAIT).unwrap_or_else(|| {
        panic!(
            "kube-bgp never got 10.101.0.0/24: {:?}\n{}\n{}",
            kb.rib(false),
            bird.logs(),
            kb.logs()
        )
    });
    assert_eq!(got.as_path.trim(), "65001 4200000001", "{got:?}");
    assert_eq!(got.next_hop, "10.0.0.2", "{got:?}");
}

/// kube-bgp with a 4-octet cluster ASN (4200000000) and a BIRD peer without the
/// 4-octet AS capability (`enable as4 off`, AS 65001): kube-bgp must put AS_TRANS in
/// its OPEN and AS_PATH with the real ASN in AS4_PATH (BIRD, as a 2-octet speaker,
/// rebuilds the real path from it), and read BIRD's 2-octet AS_PATH.
#[test]
fn four_octet_cluster_two_octet_peer_bird() {
    let test = "four_octet_cluster_two_octet_peer_bird";
    if !have(test, RouterDaemon::Bird) {
        return;
    }
    eprintln!("{test}: {}", RouterDaemon::Bird.version());
    let p: Pair = kbnode::pair("iopa");
    kbnode::create_node(&p.api, "n1", &["10.0.0.1"], &["10.244.1.0/24"], &[]);
    let bird = Router::bird(
        &p.rtr,
        RouterConfig::new(65001, "10.0.0.2")
            .neighbor(Neighbor::new("10.0.0.1", 4_200_000_000).no_as4())
            .prefix("10.100.1.0/24"),
    );
    let kb = KbNode::start(
        &p.kb,
        &p.api,
        "n1",
        &[
            "--cluster-asn=4200000000",
            "--peer-router-ips=10.0.0.2",
            "--peer-router-asns=65001",
        ],
    );
    must_establish(&bird, &kb, "10.0.0.1", "10.0.0.2");
    let n = kb.neighbor("10.0.0.2").expect("neighbor detail");
    assert!(
        n.capabilities
            .iter()
            .any(|c| c == "4-octet AS: not supported by the peer"),
        "{:?}",
        n.capabilities
    );
    let r = must_route(&bird, &kb, "10.244.1.0/24");
    assert_eq!(r.as_path, vec![4_200_000_000], "BIRD: {r:?}");
    assert_eq!(r.next_hop, Some("10.0.0.1".parse().unwrap()), "{r:?}");
    let got = kb.wait_rib("10.100.1.0/24", WAIT).unwrap_or_else(|| {
        panic!(
            "kube-bgp never got 10.100.1.0/24: {:?}\n{}\n{}",
            kb.rib(false),
            bird.logs(),
            kb.logs()
        )
    });
    assert_eq!(got.as_path.trim(), "65001", "{got:?}");
    assert!(
        kb.wait_kernel("10.100.1.0/24", WAIT).is_some(),
        "{:?}",
        kb.kernel_routes()
    );
}
