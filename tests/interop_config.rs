//! Interop: the other ways of configuring external peers, against real routers.
//! Per-node peers from the local Node's `kube-router.io/peer.*` annotations (with a
//! TCP-MD5 key), added and removed at run time by editing the Node; and eBGP multihop
//! (`--peer-router-multihop-ttl`) to a router two hops away, whose routes are learned
//! but not installed in the kernel (next hop not on a connected subnet, no overlay).
mod common;

use std::time::Duration;

use common::kbnode::{self, KbNode};
use common::routers::{Neighbor, Router, RouterConfig, RouterDaemon, SessionState};

const WAIT: Duration = Duration::from_secs(20);

fn have(test: &str, d: RouterDaemon) -> bool {
    common::require_root(test) && common::apiserver::available(test) && d.available(test)
}

#[test]
fn annotation_peer_with_md5_added_and_removed_frr() {
    let test = "annotation_peer_with_md5_added_and_removed_frr";
    if !have(test, RouterDaemon::Frr) {
        return;
    }
    eprintln!("{test}: {}", RouterDaemon::Frr.version());
    let p = kbnode::pair("iopc");
    kbnode::create_node(&p.api, "n1", &["10.0.0.1"], &["10.244.1.0/24"], &[]);
    let frr = Router::frr(
        &p.rtr,
        RouterConfig::new(65001, "10.0.0.2")
            .neighbor(Neighbor::new("10.0.0.1", 64512).password("s3cret"))
            .prefix("10.100.1.0/24"),
    );
    let kb = KbNode::start(&p.kb, &p.api, "n1", &[]);
    assert!(kb.neighbors().is_empty(), "{:?}", kb.neighbors());

    // Annotating the node adds the peer (base64 key "s3cret").
    p.api.annotate_node(
        "n1",
        &[
            ("kube-router.io/peer.ips", Some("10.0.0.2")),
            ("kube-router.io/peer.asns", Some("65001")),
            ("kube-router.io/peer.passwords", Some("czNjcmV0")),
        ],
    );
    assert!(
        frr.wait_established("10.0.0.1", WAIT),
        "{:?}\n{}\n{}",
        frr.session("10.0.0.1"),
        frr.logs(),
        kb.logs()
    );
    assert!(kb.wait_established("10.0.0.2", WAIT), "{}", kb.logs());
    let n = kb.neighbor("10.0.0.2").expect("neighbor detail");
    assert_eq!(n.row.source, "annotation");
    assert!(n.password);
    assert!(
        frr.wait_route("10.244.1.0/24", WAIT).is_some(),
        "{:?}",
        frr.routes()
    );
    assert!(
        kb.wait_kernel("10.100.1.0/24", WAIT).is_some(),
        "{:?}\n{}",
        kb.kernel_routes(),
        kb.logs()
    );

    // Removing the annotations removes the peer: FRR loses the session and the route,
    // kube-bgp its RIB entry and kernel route.
    p.api.annotate_node(
        "n1",
        &[
            ("kube-router.io/peer.ips", None),
            ("kube-router.io/peer.asns", None),
            ("kube-router.io/peer.passwords", None),
        ],
    );
    assert!(
        common::wait_for(WAIT, || kb.neighbors().is_empty().then_some(())).is_some(),
        "{:?}",
        kb.neighbors()
    );
    assert!(
        frr.wait_no_route("10.244.1.0/24", WAIT),
        "{:?}",
        frr.routes()
    );
    assert_ne!(frr.session("10.0.0.1"), SessionState::Established);
    assert!(kb.wait_no_rib("10.100.1.0/24", WAIT), "{:?}", kb.rib(false));
    assert!(
        kb.wait_no_kernel("10.100.1.0/24", WAIT),
        "{:?}",
        kb.kernel_routes()
    );
}

#[test]
fn ebgp_multihop_gobgp() {
    let test = "ebgp_multihop_gobgp";
    if !have(test, RouterDaemon::Gobgp) {
        return;
    }
    eprintln!("{test}: {}", RouterDaemon::Gobgp.version());
    // kube-bgp 10.0.0.1 -- 10.0.0.2 [mid, forwarding] 10.1.0.1 -- 10.1.0.2 GoBGP
    let p = kbnode::pair("iopc");
    let far = common::Netns::new("iopc");
    common::veth(&p.rtr, &["10.1.0.1/24"], &far, &["10.1.0.2/24"]);
    p.rtr.sh("sysctl -qw net.ipv4.ip_forward=1");
    p.kb.sh("ip route add 10.1.0.0/24 via 10.0.0.2");
    far.sh("ip route add 10.0.0.0/24 via 10.1.0.1");
    kbnode::create_node(&p.api, "n1", &["10.0.0.1"], &["10.244.1.0/24"], &[]);
    let gobgp = Router::gobgp(
        &far,
        RouterConfig::new(65001, "10.1.0.2")
            .neighbor(Neighbor::new("10.0.0.1", 64512).multihop(2))
            .prefix("10.100.1.0/24"),
    );
    let kb = KbNode::start(
        &p.kb,
        &p.api,
        "n1",
        &[
            "--peer-router-ips=10.1.0.2",
            "--peer-router-asns=65001",
            "--peer-router-multihop-ttl=2",
        ],
    );
    assert!(
        gobgp.wait_established("10.0.0.1", WAIT),
        "{:?}\n{}\n{}",
        gobgp.session("10.0.0.1"),
        gobgp.logs(),
        kb.logs()
    );
    assert!(kb.wait_established("10.1.0.2", WAIT), "{}", kb.logs());
    let n = kb.neighbor("10.1.0.2").expect("neighbor detail");
    assert_eq!(n.ttl, Some(2), "{n:?}");
    let r = gobgp
        .wait_route("10.244.1.0/24", WAIT)
        .unwrap_or_else(|| panic!("{:?}\n{}", gobgp.routes(), kb.logs()));
    assert_eq!(r.next_hop, Some("10.0.0.1".parse().unwrap()), "{r:?}");
    let got = kb
        .wait_rib("10.100.1.0/24", WAIT)
        .unwrap_or_else(|| panic!("{:?}\n{}", kb.rib(false), kb.logs()));
    assert_eq!(got.next_hop, "10.1.0.2", "{got:?}");
    // Next hop not on a connected subnet and no overlay: never installed.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        kb.kernel_route("10.100.1.0/24"),
        None,
        "installed although the next hop is not connected"
    );
}
