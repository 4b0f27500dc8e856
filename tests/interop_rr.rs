//! Interop: route reflection (RFC 4456) configured with kube-router's annotations.
//! Real routers stand in for cluster nodes: each is registered as a Node object with
//! `kube-router.io/rr.client` / `rr.server`, and kube-bgp derives its sessions from
//! those. kube-bgp as the reflector for a BIRD and a GoBGP client, and kube-bgp as a
//! client of an FRR reflector. All speakers share one LAN (a bridge in kube-bgp's
//! namespace), so reflected next hops are directly reachable.
mod common;

use std::process::Command;
use std::time::Duration;

use common::Netns;
use common::apiserver::FakeApiServer;
use common::kbnode::{self, KbNode};
use common::routers::{Neighbor, Route, Router, RouterConfig, RouterDaemon};

const WAIT: Duration = Duration::from_secs(20);

/// kube-bgp's namespace (10.0.0.1/24 on bridge br0, fake API server on loopback) and
/// `n` router namespaces at 10.0.0.2, 10.0.0.3, ... on the same bridge.
struct Lan {
    api: FakeApiServer,
    kb: Netns,
    rtrs: Vec<Netns>,
}

fn lan(n: usize) -> Lan {
    let kb = Netns::new("iopr");
    kb.sh("ip link add br0 type bridge && ip link set br0 up && ip addr add 10.0.0.1/24 dev br0");
    let mut rtrs = Vec::new();
    for i in 0..n {
        let r = Netns::new("iopr");
        let (kb_if, _) = common::veth(&kb, &[], &r, &[&format!("10.0.0.{}/24", i + 2)]);
        kb.sh(&format!("ip link set {kb_if} master br0"));
        rtrs.push(r);
    }
    let api = FakeApiServer::start("127.0.0.1", Some(&kb));
    Lan { api, kb, rtrs }
}

fn have(test: &str, daemons: &[RouterDaemon]) -> bool {
    common::require_root(test)
        && common::apiserver::available(test)
        && daemons.iter().all(|d| d.available(test))
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

/// `birdc show route for PREFIX all` on a BIRD router.
fn birdc_route_all(r: &Router, prefix: &str) -> String {
    let sock = r.dir().join("bird.ctl");
    let out = Command::new("birdc")
        .arg("-s")
        .arg(&sock)
        .args(["show", "route", "for", prefix, "all"])
        .output()
        .expect("run birdc");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn kube_bgp_reflects_between_bird_and_gobgp_clients() {
    let test = "kube_bgp_reflects_between_bird_and_gobgp_clients";
    if !have(test, &[RouterDaemon::Bird, RouterDaemon::Gobgp]) {
        return;
    }
    eprintln!(
        "{test}: {} / {}",
        RouterDaemon::Bird.version(),
        RouterDaemon::Gobgp.version()
    );
    let l = lan(2);
    let rr = [("kube-router.io/rr.server", "1")];
    let client = [("kube-router.io/rr.client", "1")];
    kbnode::create_node(&l.api, "n1", &["10.0.0.1"], &["10.244.1.0/24"], &rr);
    kbnode::create_node(&l.api, "n2", &["10.0.0.2"], &["10.244.2.0/24"], &client);
    kbnode::create_node(&l.api, "n3", &["10.0.0.3"], &["10.244.3.0/24"], &client);
    let bird = Router::bird(
        &l.rtrs[0],
        RouterConfig::new(64512, "10.0.0.2")
            .neighbor(Neighbor::new("10.0.0.1", 64512))
            .prefix("10.244.2.0/24"),
    );
    let gobgp = Router::gobgp(
        &l.rtrs[1],
        RouterConfig::new(64512, "10.0.0.3")
            .neighbor(Neighbor::new("10.0.0.1", 64512))
            .prefix("10.244.3.0/24"),
    );
    let kb = KbNode::start(&l.kb, &l.api, "n1", &[]);
    for (r, addr) in [(&bird, "10.0.0.2"), (&gobgp, "10.0.0.3")] {
        assert!(
            r.wait_established("10.0.0.1", WAIT),
            "{}: {:?}\n{}\n{}",
            r.daemon,
            r.session("10.0.0.1"),
            r.logs(),
            kb.logs()
        );
        assert!(
            kb.wait_established(addr, WAIT),
            "{:?}\n{}",
            kb.neighbors(),
            kb.logs()
        );
        let n = kb.neighbor(addr).expect("neighbor detail");
        assert!(n.row.rr_client, "{addr} should be an RR client: {n:?}");
        assert_eq!(n.row.peer_type, "internal");
        assert_eq!(
            n.row.source,
            format!("node n{}", if addr.ends_with('2') { 2 } else { 3 })
        );
    }

    // BIRD's prefix reaches GoBGP and vice versa, next hop unchanged.
    let r = must_route(&gobgp, &kb, "10.244.2.0/24");
    assert_eq!(r.next_hop, Some("10.0.0.2".parse().unwrap()), "{r:?}");
    assert_eq!(r.from, Some("10.0.0.1".parse().unwrap()), "{r:?}");
    let r = must_route(&bird, &kb, "10.244.3.0/24");
    assert_eq!(r.next_hop, Some("10.0.0.3".parse().unwrap()), "{r:?}");
    assert!(r.as_path.is_empty(), "{r:?}");
    // RFC 4456 attributes as BIRD shows them.
    let all = birdc_route_all(&bird, "10.244.3.0/24");
    assert!(
        all.contains("BGP.originator_id: 10.0.0.3"),
        "no ORIGINATOR_ID = GoBGP's router ID:\n{all}"
    );
    assert!(
        all.contains("BGP.cluster_list: 0.0.0.1"),
        "no CLUSTER_LIST with cluster ID 1:\n{all}"
    );
    // The reflector's own pod CIDR reaches both clients from itself.
    for r in [&bird, &gobgp] {
        let got = must_route(r, &kb, "10.244.1.0/24");
        assert_eq!(got.next_hop, Some("10.0.0.1".parse().unwrap()), "{got:?}");
    }
    // kube-bgp itself uses both clients' routes.
    for (pfx, nh) in [("10.244.2.0/24", "10.0.0.2"), ("10.244.3.0/24", "10.0.0.3")] {
        let got = kb
            .wait_rib(pfx, WAIT)
            .unwrap_or_else(|| panic!("kube-bgp lacks {pfx}: {:?}\n{}", kb.rib(false), kb.logs()));
        assert_eq!(got.next_hop, nh, "{got:?}");
        let kr = kb.wait_kernel(pfx, WAIT).unwrap_or_else(|| {
            panic!(
                "{pfx} not in the kernel: {:?}\n{}",
                kb.kernel_routes(),
                kb.logs()
            )
        });
        assert!(kr.contains(&format!("via {nh}")), "{kr}");
    }
}

#[test]
fn kube_bgp_is_client_of_frr_reflector() {
    let test = "kube_bgp_is_client_of_frr_reflector";
    if !have(test, &[RouterDaemon::Frr, RouterDaemon::Bird]) {
        return;
    }
    eprintln!(
        "{test}: {} / {}",
        RouterDaemon::Frr.version(),
        RouterDaemon::Bird.version()
    );
    let l = lan(2);
    let rr = [("kube-router.io/rr.server", "1")];
    let client = [("kube-router.io/rr.client", "1")];
    kbnode::create_node(&l.api, "n1", &["10.0.0.1"], &["10.244.1.0/24"], &client);
    kbnode::create_node(&l.api, "n2", &["10.0.0.2"], &["10.244.2.0/24"], &rr);
    kbnode::create_node(&l.api, "n3", &["10.0.0.3"], &["10.244.3.0/24"], &client);
    let frr = Router::frr(
        &l.rtrs[0],
        RouterConfig::new(64512, "10.0.0.2")
            .neighbor(Neighbor::new("10.0.0.1", 64512).rr_client())
            .neighbor(Neighbor::new("10.0.0.3", 64512).rr_client())
            .prefix("10.244.2.0/24"),
    );
    let bird = Router::bird(
        &l.rtrs[1],
        RouterConfig::new(64512, "10.0.0.3")
            .neighbor(Neighbor::new("10.0.0.2", 64512))
            .prefix("10.244.3.0/24"),
    );
    let kb = KbNode::start(&l.kb, &l.api, "n1", &[]);
    assert!(
        frr.wait_established("10.0.0.1", WAIT),
        "{:?}\n{}\n{}",
        frr.session("10.0.0.1"),
        frr.logs(),
        kb.logs()
    );
    assert!(
        kb.wait_established("10.0.0.2", WAIT),
        "{:?}",
        kb.neighbors()
    );
    // A client peers only with its reflector, never with the other client.
    let peers: Vec<String> = kb.neighbors().into_iter().map(|n| n.address).collect();
    assert_eq!(peers, vec!["10.0.0.2".to_string()], "kube-bgp's peers");
    assert!(!kb.neighbor("10.0.0.2").expect("detail").row.rr_client);

    // BIRD's prefix, reflected by FRR: next hop still BIRD, installed via BIRD.
    let got = kb.wait_rib("10.244.3.0/24", WAIT).unwrap_or_else(|| {
        panic!(
            "kube-bgp lacks 10.244.3.0/24: {:?}\n{}\n{}",
            kb.rib(false),
            frr.logs(),
            kb.logs()
        )
    });
    assert_eq!(got.next_hop, "10.0.0.3", "{got:?}");
    assert_eq!(got.source, "10.0.0.2", "{got:?}");
    let kr = kb
        .wait_kernel("10.244.3.0/24", WAIT)
        .unwrap_or_else(|| panic!("{:?}\n{}", kb.kernel_routes(), kb.logs()));
    assert!(kr.contains("via 10.0.0.3"), "{kr}");
    // The reflector's own prefix too.
    let got = kb
        .wait_rib("10.244.2.0/24", WAIT)
        .expect("FRR's own prefix");
    assert_eq!(got.next_hop, "10.0.0.2", "{got:?}");

    // kube-bgp's pod CIDR reaches the other client through FRR, next hop kube-bgp.
    let r = must_route(&bird, &kb, "10.244.1.0/24");
    assert_eq!(r.next_hop, Some("10.0.0.1".parse().unwrap()), "{r:?}");
    assert_eq!(r.from, Some("10.0.0.2".parse().unwrap()), "{r:?}");
    let all = birdc_route_all(&bird, "10.244.1.0/24");
    assert!(all.contains("BGP.originator_id: 10.0.0.1"), "{all}");
}
