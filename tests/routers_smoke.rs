//! Proves the real-router harness (tests/common/routers.rs) before kube-bgp's speaker
//! exists: BIRD <-> GoBGP and GoBGP <-> FRR in namespaces exchange prefixes both ways,
//! at start and at run time, checked through the harness's own query helpers. Also
//! checks the output parsers on captured daemon output.
mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::Netns;
use common::routers::{self, Neighbor, Route, Router, RouterConfig, RouterDaemon, SessionState};

const WAIT: Duration = Duration::from_secs(30);

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn must_route(r: &Router, prefix: &str) -> Route {
    r.wait_route(prefix, WAIT).unwrap_or_else(|| {
        panic!(
            "{} never received {prefix}; has {:?}\n{}",
            r.daemon,
            r.routes(),
            r.logs()
        )
    })
}

fn must_establish(r: &Router, peer: &str) {
    assert!(
        r.wait_established(peer, WAIT),
        "{} session with {peer} is {:?}\n{}",
        r.daemon,
        r.session(peer),
        r.logs()
    );
}

fn have(test: &str, daemons: &[RouterDaemon]) -> bool {
    common::require_root(test) && daemons.iter().all(|d| d.available(test))
}

#[test]
fn bird_and_gobgp_exchange_v4_and_v6_with_md5() {
    let test = "bird_and_gobgp_exchange_v4_and_v6_with_md5";
    if !have(test, &[RouterDaemon::Bird, RouterDaemon::Gobgp]) {
        return;
    }
    eprintln!(
        "{} / {}",
        RouterDaemon::Bird.version(),
        RouterDaemon::Gobgp.version()
    );
    let a = Netns::new("rtr");
    let b = Netns::new("rtr");
    common::veth(
        &a,
        &["10.230.0.1/24", "fd00:230::1/64"],
        &b,
        &["10.230.0.2/24", "fd00:230::2/64"],
    );

    let bird = Router::bird(
        &a,
        RouterConfig::new(65001, "10.230.0.1")
            .neighbor(
                Neighbor::new("10.230.0.2", 65002)
                    .password("md5-pw")
                    .graceful_restart(),
            )
            .neighbor(Neighbor::new("fd00:230::2", 65002))
            .prefix("10.231.1.0/24")
            .prefix("fd00:231:1::/64"),
    );
    let mut gobgp = Router::gobgp(
        &b,
        RouterConfig::new(65002, "10.230.0.2")
            .neighbor(
                Neighbor::new("10.230.0.1", 65001)
                    .password("md5-pw")
                    .passive()
                    .graceful_restart(),
            )
            .neighbor(Neighbor::new("fd00:230::1", 65001))
            .prefix("10.231.2.0/24")
            .prefix("fd00:231:2::/64"),
    );
    must_establish(&bird, "10.230.0.2");
    must_establish(&bird, "fd00:230::2");
    must_establish(&gobgp, "10.230.0.1");
    must_establish(&gobgp, "fd00:230::1");
    assert_eq!(
        bird.session("10.9.9.9"),
        SessionState::Unknown,
        "unconfigured peer"
    );

    let r = must_route(&bird, "10.231.2.0/24");
    assert_eq!(
        (r.next_hop, r.as_path.clone(), r.from),
        (Some(ip("10.230.0.2")), vec![65002], Some(ip("10.230.0.2")))
    );
    assert!(r.best);
    let r = must_route(&gobgp, "10.231.1.0/24");
    assert_eq!(
        (r.next_hop, r.as_path.clone()),
        (Some(ip("10.230.0.1")), vec![65001])
    );
    let r = must_route(&bird, "fd00:231:2::/64");
    assert_eq!(
        (r.next_hop, r.as_path.clone()),
        (Some(ip("fd00:230::2")), vec![65002])
    );
    let r = must_route(&gobgp, "fd00:231:1::/64");
    assert_eq!(
        (r.next_hop, r.as_path.clone()),
        (Some(ip("fd00:230::1")), vec![65001])
    );
    // Locally originated prefixes are not "received".
    assert!(bird.route("10.231.1.0/24").is_none());
    assert!(gobgp.route("10.231.2.0/24").is_none());

    // Run time: GoBGP announces and withdraws through its API.
    gobgp.announce("10.231.3.0/24");
    must_route(&bird, "10.231.3.0/24");
    gobgp.withdraw("10.231.3.0/24");
    assert!(
        bird.wait_no_route("10.231.3.0/24", WAIT),
        "withdraw reached BIRD"
    );
    assert!(bird.route("10.231.2.0/24").is_some(), "other prefixes stay");
    // GoBGP dies: the IPv6 session (no graceful restart) takes its routes with it; the
    // IPv4 one negotiated graceful restart, so BIRD keeps its routes as stale.
    drop(gobgp);
    assert!(
        bird.wait_no_route("fd00:231:2::/64", WAIT),
        "routes go with the session: {:?}\n{}",
        bird.routes(),
        bird.logs()
    );
    assert_ne!(bird.session("10.230.0.2"), SessionState::Established);
    assert!(
        bird.route("10.231.2.0/24").is_some(),
        "graceful restart keeps stale routes"
    );
}

#[test]
fn gobgp_and_frr_exchange_and_reconfigure() {
    let test = "gobgp_and_frr_exchange_and_reconfigure";
    if !have(test, &[RouterDaemon::Gobgp, RouterDaemon::Frr]) {
        return;
    }
    eprintln!(
        "{} / {}",
        RouterDaemon::Gobgp.version(),
        RouterDaemon::Frr.version()
    );
    let b = Netns::new("rtr");
    let c = Netns::new("rtr");
    common::veth(&b, &["10.232.0.2/24"], &c, &["10.232.0.3/24"]);

    let gobgp = Router::gobgp(
        &b,
        RouterConfig::new(65002, "10.232.0.2")
            .listen("10.232.0.2")
            .neighbor(Neighbor::new("10.232.0.3", 65003).passive())
            .prefix("10.233.2.0/24"),
    );
    let mut frr = Router::frr(
        &c,
        RouterConfig::new(65003, "10.232.0.3")
            .listen("10.232.0.3")
            .neighbor(Neighbor::new("10.232.0.2", 65002).graceful_restart())
            .prefix("10.233.3.0/24"),
    );
    must_establish(&frr, "10.232.0.2");
    must_establish(&gobgp, "10.232.0.3");

    let r = must_route(&frr, "10.233.2.0/24");
    assert_eq!(
        (r.next_hop, r.as_path.clone(), r.from),
        (Some(ip("10.232.0.2")), vec![65002], Some(ip("10.232.0.2")))
    );
    let r = must_route(&gobgp, "10.233.3.0/24");
    assert_eq!(
        (r.next_hop, r.as_path.clone()),
        (Some(ip("10.232.0.3")), vec![65003])
    );

    frr.announce("10.233.4.0/24");
    let r = must_route(&gobgp, "10.233.4.0/24");
    assert_eq!(r.as_path, vec![65003]);
    frr.withdraw("10.233.4.0/24");
    assert!(
        gobgp.wait_no_route("10.233.4.0/24", WAIT),
        "FRR withdraw reached GoBGP"
    );
    assert!(gobgp.route("10.233.3.0/24").is_some());
}

#[test]
fn bird_reconfigure_announces_and_withdraws_to_frr_over_ibgp_rr() {
    let test = "bird_reconfigure_announces_and_withdraws_to_frr_over_ibgp_rr";
    if !have(test, &[RouterDaemon::Bird, RouterDaemon::Frr]) {
        return;
    }
    let a = Netns::new("rtr");
    let c = Netns::new("rtr");
    common::veth(&a, &["fd00:234::1/64"], &c, &["fd00:234::3/64"]);
    // iBGP over IPv6: FRR is a route reflector with BIRD as its client.
    let mut bird = Router::bird(
        &a,
        RouterConfig::new(65010, "10.234.0.1")
            .neighbor(Neighbor::new("fd00:234::3", 65010).password("rr")),
    );
    let frr = Router::frr(
        &c,
        RouterConfig::new(65010, "10.234.0.3")
            .neighbor(
                Neighbor::new("fd00:234::1", 65010)
                    .password("rr")
                    .rr_client()
                    .passive(),
            )
            .prefix("fd00:235:3::/64"),
    );
    must_establish(&frr, "fd00:234::1");
    let r = must_route(&bird, "fd00:235:3::/64");
    assert_eq!(
        (r.next_hop, r.as_path.clone()),
        (Some(ip("fd00:234::3")), vec![]),
        "iBGP: empty AS path"
    );

    bird.announce("fd00:235:1::/64");
    let r = must_route(&frr, "fd00:235:1::/64");
    assert_eq!(
        (r.next_hop, r.as_path.clone()),
        (Some(ip("fd00:234::1")), vec![])
    );
    bird.withdraw("fd00:235:1::/64");
    assert!(
        frr.wait_no_route("fd00:235:1::/64", WAIT),
        "BIRD withdraw (birdc configure) reached FRR"
    );
}

// ---- parsers on captured output (no root needed) ----

const BIRD_OUT: &str = "BIRD 2.0.12 ready.
Table master4:
10.250.0.0/24        unicast [direct1 15:39:55.173] * (240)
\tdev xa0
\tType: device univ
10.93.0.0/24         unicast [n0 15:40:05.800] * (100) [AS65003i]
\tvia 10.250.0.2 on xa0
\tType: BGP univ
\tBGP.origin: IGP
\tBGP.as_path: 65002 65003
\tBGP.next_hop: 10.250.0.2
\tBGP.local_pref: 100
                     unicast [n1 15:40:06.800] (100) [AS65009i]
\tvia 10.250.0.9 on xa0
\tType: BGP univ
\tBGP.as_path: 65009 {65010 65011}
\tBGP.next_hop: 10.250.0.9
10.90.1.0/24         blackhole [s4 15:39:55.172] * (200)
\tType: static univ

Table master6:
fd00:92::/64         unicast [n2 15:40:07.753] * (100) [AS65002?]
\tvia fd00:250::2 on xa0
\tType: BGP univ
\tBGP.as_path: 65002
\tBGP.next_hop: fd00:250::2 fe80::1
";

#[test]
fn parses_bird_show_route_all() {
    let peers = ["10.250.0.2", "10.250.0.9", "fd00:250::2"];
    let got = routers::bird::parse_routes(BIRD_OUT, |n| {
        n.strip_prefix('n')
            .and_then(|i| i.parse::<usize>().ok())
            .and_then(|i| peers.get(i))
            .map(|p| ip(p))
    });
    let want = vec![
        Route {
            prefix: routers::prefix("10.93.0.0/24"),
            next_hop: Some(ip("10.250.0.2")),
            as_path: vec![65002, 65003],
            best: true,
            from: Some(ip("10.250.0.2")),
        },
        Route {
            prefix: routers::prefix("10.93.0.0/24"),
            next_hop: Some(ip("10.250.0.9")),
            as_path: vec![65009, 65010, 65011],
            best: false,
            from: Some(ip("10.250.0.9")),
        },
        Route {
            prefix: routers::prefix("fd00:92::/64"),
            next_hop: Some(ip("fd00:250::2")),
            as_path: vec![65002],
            best: true,
            from: Some(ip("fd00:250::2")),
        },
    ];
    assert_eq!(got, want);
}

#[test]
fn parses_gobgp_rib_and_neighbor_json() {
    let rib = r#"{"10.90.1.0/24":[{"nlri":{"prefix":"10.90.1.0/24"},"best":true,"attrs":[{"type":1,"value":0},{"type":2,"as_paths":[{"segment_type":2,"num":1,"asns":[65001]}]},{"type":3,"nexthop":"10.250.0.1"}],"neighbor-ip":"10.250.0.1"}],
        "10.92.0.0/24":[{"nlri":{"prefix":"10.92.0.0/24"},"best":true,"attrs":[{"type":1,"value":2},{"type":3,"nexthop":"0.0.0.0"}]}],
        "fd00:92::/64":[{"best":false,"attrs":[{"type":14,"nexthop":"fd00::9","afi":2,"safi":1}],"neighbor-ip":"fd00::9"}]}"#;
    let mut got = routers::gobgp::parse_routes(rib);
    got.sort_by_key(|r| r.prefix);
    assert_eq!(got.len(), 2, "local 10.92.0.0/24 is not received: {got:?}");
    assert_eq!(got[0].as_path, vec![65001]);
    assert_eq!(got[0].next_hop, Some(ip("10.250.0.1")));
    assert_eq!((got[1].next_hop, got[1].best), (Some(ip("fd00::9")), false));
    assert!(routers::gobgp::parse_routes("garbage").is_empty());

    let nb = r#"[{"conf":{"neighbor_address":"10.250.0.1","peer_asn":65001},"state":{"session_state":6}},
                 {"conf":{"neighbor_address":"fd00::1"},"state":{"session_state":3}}]"#;
    assert_eq!(
        routers::gobgp::parse_session(nb, ip("10.250.0.1")),
        SessionState::Established
    );
    assert_eq!(
        routers::gobgp::parse_session(nb, ip("fd00::1")),
        SessionState::Active
    );
    assert_eq!(
        routers::gobgp::parse_session(nb, ip("10.0.0.9")),
        SessionState::Unknown
    );
}

#[test]
fn parses_frr_show_bgp_json() {
    let json = r#"{"routerId":"10.251.0.3","routes":{
        "10.90.1.0/24":[{"valid":true,"bestpath":true,"peerId":"10.251.0.2","path":"65002 65001","nexthops":[{"ip":"10.251.0.2","afi":"ipv4","used":true}]}],
        "10.93.0.0/24":[{"valid":true,"bestpath":true,"peerId":"(unspec)","path":"","nexthops":[{"ip":"0.0.0.0"}]}],
        "fd00:9::/64":[{"bestpath":false,"peerId":"fd00::2","path":"","nexthops":[{"ip":"fd00::2","scope":"global"},{"ip":"fe80::2","scope":"link-local"}]}]}}"#;
    let mut got = routers::frr::parse_routes(json);
    got.sort_by_key(|r| r.prefix);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(
        (got[0].as_path.clone(), got[0].next_hop, got[0].best),
        (vec![65002, 65001], Some(ip("10.251.0.2")), true)
    );
    assert_eq!(
        (got[1].as_path.clone(), got[1].next_hop, got[1].best),
        (vec![], Some(ip("fd00::2")), false)
    );
}

#[test]
fn session_state_names() {
    assert_eq!(SessionState::parse("Establ"), SessionState::Established);
    assert_eq!(
        SessionState::parse(" Established "),
        SessionState::Established
    );
    assert_eq!(SessionState::parse("OpenSent"), SessionState::OpenSent);
    assert_eq!(SessionState::parse("Clearing"), SessionState::Unknown);
}
