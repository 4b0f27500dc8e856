//! End to end through the real daemon: BFD protecting BGP sessions (issue 16 items 2,
//! 3 and 5), in the namespace lab, against BIRD's `bfd` protocol and FRR's bfdd.
//!
//! - Timers: the negotiated values as `kube-bgp neighbor ADDR` shows them, and as BIRD
//!   (`birdc show bfd sessions`) and FRR (`show bfd peers json`) see them.
//! - A cut (netfilter drops UDP 3784 only, inside a namespace): the BGP session ends
//!   with Cease 6/10 "BFD Down" and its routes leave the kernel, on every node of a
//!   three-node mesh (`--enable-bfd-nodes`) and towards an external BIRD; the detection
//!   time (from the log's timestamps) and cut-to-route-gone times are printed and only
//!   loosely bounded (exact timer behaviour is unit-tested on virtual time).
//! - Graceful restart with BFD: kube-bgp stopped with SIGTERM closes its BGP
//!   connections and then tells its BFD peers AdminDown: BIRD (`bfd graceful`) keeps
//!   its routes and a ping every 50 ms through the learned route loses nothing; FRR
//!   (`neighbor X bfd check-control-plane-failure`) keeps our route; the other nodes of
//!   a BFD mesh count AdminDown, not a failure. A SIGKILL sends nothing: BIRD with
//!   plain `bfd on` detects it by BFD and drops the routes long before the hold time.
//! - Multihop (RFC 5883, UDP 4784) through a gateway, IPv4 and IPv6, against BIRD.
mod common;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::Netns;
use common::lab::{Lab, LabConfig};
use common::routers::{BfdPeer, RouterDaemon, SessionState};
use kube_bgp::ops::ctl::NeighborBfd;

const UP: Duration = Duration::from_secs(30);

/// Drops incoming UDP to `port` inside a namespace (only BFD; BGP's TCP still flows),
/// optionally only from `from`; removed on drop.
struct BfdCut<'a> {
    ns: &'a Netns,
}

impl<'a> BfdCut<'a> {
    fn bfd(ns: &'a Netns, port: u16, from: Option<&str>) -> BfdCut<'a> {
        let src = from.map(|a| format!("ip saddr {a} ")).unwrap_or_default();
        ns.sh(&format!(
            "nft add table inet kbbfdcut && nft add chain inet kbbfdcut input '{{ type filter hook input priority 0; }}' && nft add rule inet kbbfdcut input {src}udp dport {port} drop"
        ));
        BfdCut { ns }
    }
}

impl Drop for BfdCut<'_> {
    fn drop(&mut self) {
        let _ = self.ns.run("nft delete table inet kbbfdcut");
    }
}

fn bfd_of(lab: &Lab, i: usize, peer: &str) -> Option<NeighborBfd> {
    lab.neighbor_detail(i, peer).and_then(|d| d.bfd_session)
}

/// Waits until node `i`'s BFD session with `peer` satisfies `f`; fails with the logs.
fn wait_bfd(
    lab: &Lab,
    i: usize,
    peer: &str,
    what: &str,
    f: impl Fn(&NeighborBfd) -> bool,
) -> NeighborBfd {
    match common::wait_for(UP, || bfd_of(lab, i, peer).filter(|b| f(b))) {
        Some(b) => b,
        None => lab.fail(&format!(
            "node{}: BFD with {peer}: {what} not reached in {UP:?}; now {:?}",
            i + 1,
            bfd_of(lab, i, peer)
        )),
    }
}

fn now_epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The wall-clock time (from its log line) when node `i` first saw its BFD session
/// with `peer` fail after `since` (epoch seconds).
fn failure_logged(lab: &Lab, i: usize, peer: &str, since: f64) -> Option<f64> {
    let needle = format!("peer {peer}: BFD session ");
    lab.log(i)
        .lines()
        .filter(|l| l.contains(&needle) && l.contains("Up -> Down"))
        .filter_map(|l| l.split_whitespace().next()?.parse::<f64>().ok())
        .find(|t| *t >= since)
}

/// Whether node 0's Loc-RIB has a best path for `prefix` (`kube-bgp global rib`).
fn rib_has(lab: &Lab, prefix: &str) -> bool {
    let mut args = vec!["global", "rib"];
    if prefix.contains(':') {
        args.extend(["-a", "ipv6"]);
    }
    lab.ctl_json(0, &args)
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .any(|r| r.get("prefix").and_then(|p| p.as_str()) == Some(prefix))
}

/// Polls (every ~10 ms, bounded) until every (node, prefix) pair has no kube-bgp
/// route; returns when each went, measured from `t0`.
fn routes_gone(
    lab: &Lab,
    pairs: &[(usize, String)],
    t0: Instant,
) -> BTreeMap<(usize, String), Duration> {
    let mut gone = BTreeMap::new();
    let end = t0 + Duration::from_secs(10);
    while gone.len() < pairs.len() && Instant::now() < end {
        for (i, p) in pairs {
            if !gone.contains_key(&(*i, p.clone())) && lab.bgp_route(*i, p).is_empty() {
                gone.insert((*i, p.clone()), t0.elapsed());
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    gone
}

/// A three-node mesh with BFD on the node sessions (3 x 100 ms) and graceful restart:
/// cutting node3's BFD takes every session with node3 and its routes away, on all
/// three nodes, in well under a second (no graceful-restart retention for a BFD
/// failure); the sessions come back on their own, and BFD once the cut is gone. Then
/// node3's kube-bgp restarts with SIGTERM while pod1 pings pod3 every 50 ms: the other
/// nodes hear AdminDown, not a failure, and nothing is lost.
#[test]
fn link_cut_takes_sessions_and_routes_away_on_every_node() {
    let test = "link_cut_takes_sessions_and_routes_away_on_every_node";
    if !common::lab::checks::available(test, &[]) || !common::require_tool(test, "nft") {
        return;
    }
    let mut lab = Lab::new("e2bf", LabConfig::new(3));
    let flags = [
        "--enable-bfd-nodes",
        "--bgp-graceful-restart",
        "--metrics-port=20310",
        "--bfd-desired-min-tx-interval=100",
        "--bfd-required-min-rx-interval=100",
        "--bfd-detection-multiplier=3",
    ];
    lab.start_all(&flags, 2, UP);
    let ip: Vec<String> = (0..3).map(|i| lab.node(i).ipv4.clone()).collect();
    let cidr: Vec<String> = (0..3).map(|i| lab.node(i).pod_cidr4.clone()).collect();
    for a in 0..3 {
        for b in (0..3).filter(|b| *b != a) {
            lab.expect_via(a, &cidr[b], &ip[b], UP);
            let v = wait_bfd(&lab, a, &ip[b], "Up at 100 ms", |v| {
                v.state == "Up" && v.detection_time_us == Some(300_000)
            });
            lab.check(v.hop == "single-hop", &format!("{v:?}"));
            lab.check(
                v.tx_interval_us == Some(100_000) && v.rx_interval_us == Some(100_000),
                &format!("negotiated timers: {v:?}"),
            );
        }
    }
    let text = lab.ctl(0, &["neighbor", &ip[2]]);
    lab.check(
        text.contains("detection time 300 ms"),
        &format!("kube-bgp neighbor: {text}"),
    );
    std::thread::sleep(Duration::from_millis(500));

    let since = now_epoch();
    let t0 = Instant::now();
    let cut = BfdCut::bfd(&lab.node(2).ns, 3784, None);
    let pairs = vec![
        (0, cidr[2].clone()),
        (1, cidr[2].clone()),
        (2, cidr[0].clone()),
        (2, cidr[1].clone()),
    ];
    let gone = routes_gone(&lab, &pairs, t0);
    for ((i, p), d) in &gone {
        eprintln!("{test}: node{}: {p} gone {d:?} after the cut", i + 1);
    }
    lab.check(
        gone.len() == pairs.len(),
        &format!("routes still there 10 s after the cut: gone {gone:?}"),
    );
    // Detection, from each node's own log line.
    for (i, peer) in [(0, &ip[2]), (1, &ip[2]), (2, &ip[0]), (2, &ip[1])] {
        let at = failure_logged(&lab, i, peer, since - 0.05);
        let Some(at) = at else {
            lab.fail(&format!("node{}: no BFD failure logged for {peer}", i + 1));
        };
        let detect = at - since;
        eprintln!(
            "{test}: node{}: BFD with {peer} failed {:.0} ms after the cut (detection time 300 ms)",
            i + 1,
            detect * 1000.0
        );
        lab.check(
            detect < 1.0,
            &format!("node{} detection {detect:.3} s", i + 1),
        );
    }
    for ((i, p), d) in &gone {
        lab.check(
            *d < Duration::from_secs(1),
            &format!("node{}: {p} gone only {d:?} after the cut", i + 1),
        );
    }
    // Each side ended the BGP session with Cease 6/10, and the other peers were not
    // disturbed (node1-node2 kept its session).
    for i in [0, 1] {
        let d = lab.neighbor_detail(i, &ip[2]).expect("neighbor detail");
        let b = d.bfd_session.as_ref().expect("bfd");
        lab.check(b.failures >= 1, &format!("node{}: {b:?}", i + 1));
        let other = if i == 0 { &ip[1] } else { &ip[0] };
        lab.check(
            lab.established_transitions(i, other) == Some(1),
            &format!("node{}: the session with {other} was disturbed", i + 1),
        );
    }
    let cease10 = (0..3).any(|i| {
        lab.neighbor_detail(i, if i == 2 { &ip[0] } else { &ip[2] })
            .and_then(|d| d.last_error)
            .is_some_and(|e| e.contains("BFD Down (6/10)"))
    });
    lab.check(cease10, "no Cease 6/10 BFD Down recorded as last error");
    // The failure is in the metrics.
    let metrics = lab
        .node(0)
        .ns
        .sh("curl -s -m 5 http://127.0.0.1:20310/metrics");
    let want = format!(
        "kube_bgp_bfd_failures_total{{address=\"{}\",cause=\"detection_time_expired\"}} 1",
        ip[2]
    );
    let want_pd = format!(
        "kube_bgp_bfd_failures_total{{address=\"{}\",cause=\"peer_down\"}} 1",
        ip[2]
    );
    lab.check(
        metrics.contains(&want) || metrics.contains(&want_pd),
        &format!(
            "metrics lack {want}:\n{}",
            metrics
                .lines()
                .filter(|l| l.contains("bfd"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    );
    lab.check(
        metrics.contains(&format!(
            "kube_bgp_bfd_detection_time_seconds{{address=\"{}\"}} 0.3",
            ip[1]
        )),
        "metrics: node1's detection time towards node2",
    );

    drop(cut);
    let all_up = |lab: &Lab, what: &str| {
        for a in 0..3 {
            for b in (0..3).filter(|b| *b != a) {
                wait_bfd(lab, a, &ip[b], what, |v| v.state == "Up");
                lab.expect_via(a, &cidr[b], &ip[b], UP);
            }
        }
    };
    all_up(&lab, "Up again after the cut");

    // A graceful restart of node3: AdminDown, not a failure, on the other nodes.
    let failures_before: Vec<u64> = [0, 1]
        .iter()
        .map(|&i| bfd_of(&lab, i, &ip[2]).map_or(0, |b| b.failures))
        .collect();
    let to = lab.node(2).pod_ip4.clone();
    let count = 160;
    let ping = lab.ping_start(0, &to, 0.05, count);
    std::thread::sleep(Duration::from_millis(500));
    lab.restart_kube_bgp(2);
    let back = lab.wait_established(2, 2, UP);
    let (sent, received, out) = ping.finish();
    eprintln!("{test}: node3 SIGTERM restart: ping pod1 -> pod3 {sent} sent, {received} received");
    lab.check(back, "node3: sessions after the restart");
    for (k, i) in [0, 1].into_iter().enumerate() {
        let b = wait_bfd(&lab, i, &ip[2], "Up after node3's restart", |v| {
            v.state == "Up"
        });
        lab.check(
            b.peer_admin_downs >= 1 && b.failures == failures_before[k],
            &format!("node{}: node3's restart seen as {b:?}", i + 1),
        );
    }
    lab.check(
        sent == count && received == sent,
        &format!("lost packets: {sent} sent, {received} received\n{out}"),
    );
    all_up(&lab, "Up after node3's restart");
}

/// External routers with BFD: BIRD (`bfd on`) and FRR (bfdd, `neighbor X bfd`). The
/// negotiated timers on both sides; then BIRD's BFD cut at our node: our detection
/// ends the BIRD session with Cease 6/10 and the routes both ways are gone within a
/// second, while the FRR session is untouched.
#[test]
fn bird_and_frr_timers_and_a_cut_towards_bird() {
    let test = "bird_and_frr_timers_and_a_cut_towards_bird";
    if !common::lab::checks::available(test, &[RouterDaemon::Bird, RouterDaemon::Frr])
        || !common::require_tool(test, "nft")
        || !common::require_tool(test, "/usr/lib/frr/bfdd")
    {
        return;
    }
    let mut lab = Lab::new("e2bx", LabConfig::new(1).routers(2));
    let node = lab.node(0).ipv4.clone();
    let cidr = lab.node(0).pod_cidr4.clone();
    let (bird_ip, frr_ip) = (lab.router(0).ipv4.clone(), lab.router(1).ipv4.clone());
    let mut bird = lab
        .router_config(0, 65001, 64512, None)
        .prefix("10.201.0.0/24");
    bird.neighbors[0] = bird.neighbors[0].clone().bfd();
    let bird = bird.bfd(BfdPeer::new(&node, &bird_ip).timers(100, 150, 3));
    lab.start_router(0, RouterDaemon::Bird, bird);
    let mut frr = lab
        .router_config(1, 65002, 64512, None)
        .prefix("10.202.0.0/24");
    frr.neighbors[0] = frr.neighbors[0].clone().bfd();
    let frr = frr.bfd(BfdPeer::new(&node, &frr_ip).timers(100, 150, 3));
    lab.start_router(1, RouterDaemon::Frr, frr);
    let peers = format!("--peer-router-ips={bird_ip},{frr_ip}");
    let flags = [
        peers.as_str(),
        "--peer-router-asns=65001,65002",
        "--enable-bfd",
        "--bfd-desired-min-tx-interval=100",
        "--bfd-required-min-rx-interval=120",
        "--bfd-detection-multiplier=3",
    ];
    lab.start_all(&flags, 2, UP);
    lab.expect_via(0, "10.201.0.0/24", &bird_ip, UP);
    lab.expect_via(0, "10.202.0.0/24", &frr_ip, UP);

    // Timers: ours from `kube-bgp neighbor`, theirs from their CLIs. We send at
    // max(our 100, their RequiredMinRx 150) and detect in their 3 x max(our 120,
    // their DesiredMinTx 100).
    let node_ip: IpAddr = node.parse().expect("ip");
    for (j, peer) in [(0, &bird_ip), (1, &frr_ip)] {
        // Both values: the detection time follows the router's DesiredMinTx, which
        // stays at its 1 s slow-start rate until its Poll after Up (RFC 5880 6.8.3).
        let v = wait_bfd(&lab, 0, peer, "Up with negotiated timers", |v| {
            v.state == "Up"
                && v.tx_interval_us == Some(150_000)
                && v.detection_time_us == Some(360_000)
        });
        lab.check(
            v.rx_interval_us == Some(120_000)
                && v.detection_time_us == Some(360_000)
                && v.remote_detect_mult == 3
                && v.hop == "single-hop",
            &format!("{peer}: {v:?}"),
        );
        let theirs = lab
            .rtr(j)
            .wait_bfd(node_ip, UP, |b| b.state == "up")
            .unwrap_or_else(|| {
                lab.fail(&format!(
                    "router {j}: BFD not up: {:?}",
                    lab.rtr(j).bfd_sessions()
                ))
            });
        match j {
            // BIRD: it sends at max(its 100, our RequiredMinRx 120) and times out in
            // our 3 x max(its RequiredMinRx 150, our DesiredMinTx 100).
            0 => lab.check(
                theirs.tx_interval_ms == 120 && theirs.detect_ms == Some(450),
                &format!("BIRD: {theirs:?}"),
            ),
            // FRR prints what it received from us.
            _ => lab.check(
                theirs.remote_tx_ms == Some(100)
                    && theirs.remote_rx_ms == Some(120)
                    && theirs.remote_mult == Some(3),
                &format!("FRR: {theirs:?}"),
            ),
        }
        eprintln!("{test}: {peer}: ours {v:?}; theirs {theirs:?}");
    }
    std::thread::sleep(Duration::from_millis(500));

    // Cut BIRD's BFD packets at our node only.
    let since = now_epoch();
    let t0 = Instant::now();
    let cut = BfdCut::bfd(&lab.node(0).ns, 3784, Some(&bird_ip));
    let gone = routes_gone(&lab, &[(0, "10.201.0.0/24".to_string())], t0);
    let ours = gone.values().next().copied();
    let theirs = lab.expect_router_paths(0, &cidr, &Default::default(), Duration::from_secs(10));
    let detect = failure_logged(&lab, 0, &bird_ip, since - 0.05).map(|t| t - since);
    eprintln!(
        "{test}: cut: detected after {:?} s (detection time 360 ms); BIRD's route gone from our kernel after {ours:?}; ours gone from BIRD within {theirs:?} of that",
        detect
    );
    lab.check(
        detect.is_some_and(|d| d < 1.0),
        &format!("detection {detect:?}"),
    );
    lab.check(
        ours.is_some_and(|d| d < Duration::from_secs(1)),
        &format!("BIRD's route gone only after {ours:?}"),
    );
    let d = lab.neighbor_detail(0, &bird_ip).expect("detail");
    lab.check(
        d.last_error
            .as_deref()
            .is_some_and(|e| e.contains("sent NOTIFICATION Cease/BFD Down (6/10)")),
        &format!("last error {:?}", d.last_error),
    );
    let bird_says = lab.rtr(0).bird_protocol(&node);
    eprintln!("{test}: BIRD after the cut:\n{bird_says}");
    // FRR untouched.
    lab.check(
        lab.rtr(1).session(&node) == SessionState::Established
            && lab.established_transitions(0, &frr_ip) == Some(1),
        "the FRR session was disturbed",
    );
    drop(cut);
    wait_bfd(&lab, 0, &bird_ip, "Up after the cut", |v| v.state == "Up");
    lab.expect_via(0, "10.201.0.0/24", &bird_ip, UP);
}

/// Graceful restart with BFD. A SIGTERM closes the BGP connections and then sends BFD
/// AdminDown: BIRD with `bfd graceful` (routes in its kernel) forwards a ping every
/// 50 ms to the node's pod through the learned route without losing one while
/// kube-bgp restarts, and its BFD hears AdminDown (no expiry); FRR (`neighbor X bfd
/// check-control-plane-failure`) hears AdminDown and keeps our route. Then a SIGKILL:
/// nothing is sent, BIRD with plain `bfd on` detects the failure by BFD and drops our
/// route well before its 9 s hold time, while `bfd graceful` and FRR keep it. What BIRD
/// `bfd on` and FRR plain `neighbor X bfd` do on SIGTERM (and FRR plain on SIGKILL) is
/// printed, not asserted: it is their behaviour, not ours.
#[test]
fn graceful_restart_with_bfd_loses_no_packet() {
    let test = "graceful_restart_with_bfd_loses_no_packet";
    if !common::lab::checks::available(test, &[RouterDaemon::Bird, RouterDaemon::Frr])
        || !common::require_tool(test, "/usr/lib/frr/bfdd")
    {
        return;
    }
    let mut lab = Lab::new("e2bg", LabConfig::new(1).routers(4));
    let node = lab.node(0).ipv4.clone();
    let cidr = lab.node(0).pod_cidr4.clone();
    let pod = lab.node(0).pod_ip4.clone();
    let rips: Vec<String> = (0..4).map(|j| lab.router(j).ipv4.clone()).collect();
    let mut graceful = lab.router_config(0, 65001, 64512, None).kernel_export();
    graceful.neighbors[0] = graceful.neighbors[0]
        .clone()
        .graceful_restart()
        .bfd_graceful();
    let graceful = graceful.bfd(BfdPeer::new(&node, &rips[0]).timers(100, 100, 3));
    lab.start_router(0, RouterDaemon::Bird, graceful);
    let mut frr = lab.router_config(1, 65002, 64512, None);
    frr.neighbors[0] = frr.neighbors[0]
        .clone()
        .graceful_restart()
        .bfd_check_control_plane();
    let frr = frr.bfd(BfdPeer::new(&node, &rips[1]).timers(100, 100, 3));
    lab.start_router(1, RouterDaemon::Frr, frr);
    let mut strict = lab.router_config(2, 65003, 64512, None);
    strict.neighbors[0] = strict.neighbors[0].clone().graceful_restart().bfd();
    let strict = strict.bfd(BfdPeer::new(&node, &rips[2]).timers(100, 100, 3));
    lab.start_router(2, RouterDaemon::Bird, strict);
    let mut plain = lab.router_config(3, 65004, 64512, None);
    plain.neighbors[0] = plain.neighbors[0].clone().graceful_restart().bfd();
    let plain = plain.bfd(BfdPeer::new(&node, &rips[3]).timers(100, 100, 3));
    lab.start_router(3, RouterDaemon::Frr, plain);
    let peers = format!("--peer-router-ips={}", rips.join(","));
    let flags = [
        peers.as_str(),
        "--peer-router-asns=65001,65002,65003,65004",
        "--bgp-graceful-restart",
        "--enable-bfd",
        "--bfd-desired-min-tx-interval=100",
        "--bfd-required-min-rx-interval=100",
    ];
    lab.start_all(&flags, 4, UP);
    let node_ip: IpAddr = node.parse().expect("ip");
    let me: std::collections::BTreeSet<String> = [node.clone()].into();
    let all_up = |lab: &Lab, what: &str| {
        for (j, peer) in rips.iter().enumerate() {
            wait_bfd(lab, 0, peer, what, |v| v.state == "Up");
            lab.expect_router_paths(j, &cidr, &me, UP);
            lab.rtr(j)
                .wait_bfd(node_ip, UP, |b| b.state == "up")
                .unwrap_or_else(|| lab.fail(&format!("router {j}: BFD not up ({what})")));
        }
    };
    all_up(&lab, "Up");
    // BIRD put the pod CIDR into its namespace's kernel.
    let rt = lab.router(0).ns.sh(&format!("ip route show {cidr}"));
    lab.check(rt.contains(&node), &format!("BIRD's kernel route: {rt:?}"));

    let logs_before: Vec<String> = [0].iter().map(|&j| lab.rtr(j).logs()).collect();
    let count = 200;
    let ping = lab.ping_start_from_router(0, &pod, 0.05, count);
    std::thread::sleep(Duration::from_millis(500));
    let t0 = Instant::now();
    lab.stop_kube_bgp(0);
    // While we are away (our BFD silent for 5x the detection time): every router keeps
    // our route.
    std::thread::sleep(Duration::from_millis(1500));
    let kept: Vec<_> = (0..4).map(|j| lab.router_next_hops(j, &cidr)).collect();
    let frr_bfd = lab.rtr(1).bfd_session(node_ip);
    let frr_neighbor = lab
        .rtr(1)
        .vtysh("bgpd", &format!("show bgp neighbors {node} json"))
        .unwrap_or_default();
    lab.start_kube_bgp(0, &flags);
    let back = lab.wait_established(0, 4, UP);
    eprintln!("{test}: restarted, sessions back after {:?}", t0.elapsed());
    let (sent, received, out) = ping.finish();
    eprintln!("{test}: ping router -> pod during the restart: {sent} sent, {received} received");
    lab.check(back, "sessions after the restart");
    lab.check(
        lab.log_lines(0, &["told 4 BFD peer(s) AdminDown"]).len() == 1,
        "no AdminDown before the stop",
    );
    eprintln!("{test}: FRR's BFD view while we were away: {frr_bfd:?}");
    lab.check(
        frr_bfd
            .as_ref()
            .is_some_and(|b| b.remote_diag.as_deref() == Some("administratively down")),
        &format!("FRR did not hear AdminDown: {frr_bfd:?}"),
    );
    // BIRD `bfd graceful` and FRR `check-control-plane-failure` keep our route. BIRD
    // 2.0 with plain `bfd on` takes a peer's AdminDown for a failure (RFC 5882 §3.2
    // says it should not): printed, not asserted.
    for (j, k) in kept.iter().enumerate().take(2) {
        lab.check(
            *k == me,
            &format!(
                "router {j} dropped our route during the restart: {k:?}\n{frr_neighbor}\n{}",
                lab.rtr(j).logs()
            ),
        );
    }
    for (j, what) in [(2, "BIRD `bfd on`"), (3, "FRR plain `bfd`")] {
        eprintln!(
            "{test}: {what} during the restart: our route {}",
            if kept[j] == me { "kept" } else { "dropped" }
        );
    }
    // BIRD logs "expired" just before "Up to Down" when its timer ended the session;
    // after AdminDown it goes Down first (and may log an expiry later, while Down).
    let log = lab.rtr(0).logs();
    let new = log.strip_prefix(&logs_before[0]).unwrap_or(&log);
    let lines: Vec<&str> = new
        .lines()
        .filter(|l| l.contains(&format!("Session to {node} ")))
        .collect();
    let down = lines
        .iter()
        .position(|l| l.contains("changed state from Up to Down"));
    lab.check(
        down.is_some_and(|i| i == 0 || !lines[i - 1].contains("expired")),
        &format!("BIRD timed out instead of hearing AdminDown:\n{new}"),
    );
    lab.check(
        sent == count && received == sent,
        &format!("lost packets: {sent} sent, {received} received\n{out}"),
    );

    // SIGKILL: no AdminDown (the kernel still closes the TCP connections). BIRD with
    // `bfd on` detects the BFD failure and drops our route long before the 9 s hold
    // time would; BIRD `bfd graceful` and FRR keep it (graceful restart).
    all_up(&lab, "Up again");
    std::thread::sleep(Duration::from_millis(500));
    let t = Instant::now();
    lab.kill_kube_bgp(0);
    lab.expect_router_paths(2, &cidr, &Default::default(), Duration::from_secs(8));
    let gone = t.elapsed();
    eprintln!("{test}: SIGKILL: BIRD (bfd on) dropped our route within {gone:?} of the kill");
    std::thread::sleep(Duration::from_millis(1000));
    let kept: Vec<_> = (0..4).map(|j| lab.router_next_hops(j, &cidr)).collect();
    eprintln!(
        "{test}: SIGKILL: {:?} after it, FRR plain `bfd` {} our route",
        t.elapsed(),
        if kept[3] == me { "kept" } else { "dropped" }
    );
    for j in [0, 1] {
        lab.check(
            kept[j] == me,
            &format!("router {j} dropped our route after the SIGKILL"),
        );
    }
    let log = lab.rtr(2).logs();
    lab.check(
        log.contains(&format!("Session to {node} expired")),
        &format!("BIRD did not detect the SIGKILL by BFD:\n{log}"),
    );
    lab.check(
        gone < Duration::from_secs(3),
        &format!("BIRD kept our route {gone:?} after a SIGKILL"),
    );
}

/// Multihop BFD (RFC 5883, UDP 4784) through the daemon, IPv4 and IPv6: two BIRD
/// routers behind a gateway (eBGP multihop, `bfd on`), one peered over IPv4 and one
/// over IPv6. Both sessions come Up as multihop with the negotiated timers; cutting UDP
/// 4784 at the node takes both BGP sessions and their routes away (checked in the
/// Loc-RIB: the routers' next hops are behind the gateway).
#[test]
fn multihop_bfd_ipv4_and_ipv6_across_a_router() {
    let test = "multihop_bfd_ipv4_and_ipv6_across_a_router";
    if !common::lab::checks::available(test, &[RouterDaemon::Bird])
        || !common::require_tool(test, "nft")
    {
        return;
    }
    let mut lab = Lab::new(
        "e2bm",
        LabConfig::new(1)
            .dual_stack()
            .routers(2)
            .two_subnets(1)
            .routers_in_second_subnet(),
    );
    let node4 = lab.node(0).ipv4.clone();
    let node6 = lab.node(0).ipv6.clone().expect("dual stack");
    let r4 = lab.router(0).ipv4.clone();
    let r6 = lab.router(1).ipv6.clone().expect("dual stack");
    let cfg4 = common::routers::RouterConfig::new(65001, &r4)
        .listen(&r4)
        .neighbor(
            common::routers::Neighbor::new(&node4, 64512)
                .multihop(2)
                .bfd(),
        )
        .prefix("10.201.0.0/24")
        .bfd(BfdPeer::new(&node4, &r4).multihop().timers(100, 100, 3));
    lab.start_router(0, RouterDaemon::Bird, cfg4);
    let r1_id = lab.router(1).ipv4.clone();
    let cfg6 = common::routers::RouterConfig::new(65002, &r1_id)
        .listen(&r6)
        .neighbor(
            common::routers::Neighbor::new(&node6, 64512)
                .multihop(2)
                .bfd(),
        )
        .prefix("2001:db8:202::/48")
        .bfd(BfdPeer::new(&node6, &r6).multihop().timers(100, 100, 3));
    lab.start_router(1, RouterDaemon::Bird, cfg6);
    let peers = format!("--peer-router-ips={r4},{r6}");
    let flags = [
        peers.as_str(),
        "--peer-router-asns=65001,65002",
        "--peer-router-multihop-ttl=2",
        "--enable-bfd",
        "--bfd-desired-min-tx-interval=100",
        "--bfd-required-min-rx-interval=100",
    ];
    lab.start_all(&flags, 2, UP);
    // The routers' next hops are not on a connected subnet: the routes are checked in
    // the Loc-RIB, not the kernel.
    for p in ["10.201.0.0/24", "2001:db8:202::/48"] {
        if common::wait_for(UP, || rib_has(&lab, p).then_some(())).is_none() {
            lab.fail(&format!("{p} not in the RIB"));
        }
    }
    for (j, peer, node) in [(0, &r4, &node4), (1, &r6, &node6)] {
        // The router leaves its 1 s slow-start rate only after Up, with a Poll (RFC 5880
        // 6.8.3): until then our rates and detection time follow its 1 s DesiredMinTx, so
        // wait for the final values (checked again below).
        let v = wait_bfd(&lab, 0, peer, "Up at 100 ms", |v| {
            v.state == "Up"
                && v.tx_interval_us == Some(100_000)
                && v.detection_time_us == Some(300_000)
        });
        lab.check(
            v.hop == "multihop"
                && v.port == 4784
                && v.tx_interval_us == Some(100_000)
                && v.detection_time_us == Some(300_000),
            &format!("{peer}: {v:?}"),
        );
        let ip: IpAddr = node.parse().expect("ip");
        let theirs = lab
            .rtr(j)
            .wait_bfd(ip, UP, |b| b.state == "up")
            .unwrap_or_else(|| lab.fail(&format!("router {j}: BFD not up")));
        eprintln!("{test}: {peer}: ours {v:?}; BIRD {theirs:?}");
    }
    std::thread::sleep(Duration::from_millis(500));
    let t0 = Instant::now();
    let cut = BfdCut::bfd(&lab.node(0).ns, 4784, None);
    let mut gone = BTreeMap::new();
    while gone.len() < 2 && t0.elapsed() < Duration::from_secs(10) {
        for p in ["10.201.0.0/24", "2001:db8:202::/48"] {
            if !gone.contains_key(p) && !rib_has(&lab, p) {
                gone.insert(p, t0.elapsed());
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    for (p, d) in &gone {
        eprintln!("{test}: {p} gone from the RIB {d:?} after the cut of UDP 4784");
    }
    lab.check(
        gone.len() == 2,
        &format!("routes left after the cut: {gone:?}"),
    );
    for d in gone.values() {
        lab.check(
            *d < Duration::from_secs(1),
            &format!("route gone after {d:?}"),
        );
    }
    drop(cut);
    for peer in [&r4, &r6] {
        wait_bfd(&lab, 0, peer, "Up after the cut", |v| v.state == "Up");
    }
}
