//! End to end through the real daemon, restarts and outages (issue 6 item 5 part 5,
//! issue 4 item 6): graceful restart in the data plane (D8) — zero pings lost between
//! pods while kube-bgp on one node is stopped or killed and started again, adopted
//! routes kept and only the ones that did not come back swept —, the same without
//! graceful restart (no route deleted until the API and the peers have been heard), a
//! Cease NOTIFICATION on SIGTERM without graceful restart so peers withdraw at once, and
//! the API server down for five minutes while sessions and routes stay (a node
//! restarted twice during it keeps its routes), then caught up.
mod common;

use std::time::{Duration, Instant};

use common::lab::{Lab, LabConfig};
use common::routers::RouterDaemon;

const UP: Duration = Duration::from_secs(30);

/// Every node routes every other node's pod CIDR (up to `UP`).
fn all_routes(lab: &Lab) {
    let n = lab.nodes().len();
    for a in 0..n {
        for b in (0..n).filter(|b| *b != a) {
            let (cidr, ip) = (lab.node(b).pod_cidr4.clone(), lab.node(b).ipv4.clone());
            lab.expect_via(a, &cidr, &ip, UP);
        }
    }
}

/// Pings pod1 -> pod2 every 50 ms while `during` runs; asserts nothing was lost.
fn no_loss(lab: &mut Lab, what: &str, count: u32, during: impl FnOnce(&mut Lab)) {
    let to = lab.node(1).pod_ip4.clone();
    let ping = lab.ping_start(0, &to, 0.05, count);
    // Let a few replies through first so a broken path shows as loss, not as a no-op.
    std::thread::sleep(Duration::from_millis(500));
    during(lab);
    let (sent, received, out) = ping.finish();
    eprintln!("{what}: ping pod1 -> pod2: {sent} sent, {received} received");
    lab.check(
        sent == count && received == sent,
        &format!("{what}: lost packets: {sent} sent, {received} received\n{out}"),
    );
}

/// D8 in the data plane: node2's kube-bgp stopped (SIGTERM) and restarted, then killed
/// (SIGKILL) and restarted, while pod1 pings pod2 every 50 ms: nothing is lost. While
/// node2 is down the first time nothing changes; the second time node3 is deleted from
/// the API, so node2's adopted route to node3's pods must be swept after End-of-RIB
/// (long before the deferral time), and only that route. node2 first runs with
/// `--kernel-nexthop-objects=false` (the plain routes kube-router or an older kube-bgp
/// leaves), then with the default: the plain routes are adopted as they are, not one
/// route or nexthop object changed.
#[test]
fn graceful_restart_zero_loss_and_sweep() {
    let test = "graceful_restart_zero_loss_and_sweep";
    if !common::lab::checks::available(test, &[]) {
        return;
    }
    let mut lab = Lab::new("e2rg", LabConfig::new(3));
    let flags = [
        "--bgp-graceful-restart",
        "--bgp-graceful-restart-deferral-time=60s",
    ];
    let plain = [flags[0], flags[1], "--kernel-nexthop-objects=false"];
    lab.start_kube_bgp(0, &flags);
    lab.start_kube_bgp(1, &plain);
    lab.start_kube_bgp(2, &flags);
    for i in 0..3 {
        let up = lab.wait_established(i, 2, UP);
        lab.check(up, &format!("node{}: sessions", i + 1));
    }
    all_routes(&lab);
    let (cidr1, n1) = (lab.node(0).pod_cidr4.clone(), lab.node(0).ipv4.clone());
    let (cidr2, n2) = (lab.node(1).pod_cidr4.clone(), lab.node(1).ipv4.clone());
    let (cidr3, n3) = (lab.node(2).pod_cidr4.clone(), lab.node(2).ipv4.clone());
    let plain_routes = lab.kernel_routes(1);
    lab.check(
        !plain_routes.contains(" nhid ") && lab.ip(1, "nexthop show protocol 17").is_empty(),
        &format!("node2 with --kernel-nexthop-objects=false:\n{plain_routes}"),
    );

    // (a) SIGTERM and restart with the default: 200 pings = 10 s covering stop, start
    // and re-sync.
    let mon = lab.route_monitor(1, "term");
    no_loss(&mut lab, "SIGTERM restart", 200, |lab| {
        let t0 = Instant::now();
        lab.stop_kube_bgp(1);
        lab.start_kube_bgp(1, &flags);
        let up = lab.wait_established(1, 2, UP);
        lab.check(up, "node2: sessions after the SIGTERM restart");
        eprintln!(
            "SIGTERM restart: node2 Established again after {:?}",
            t0.elapsed()
        );
        // Helpers kept node2's routes while it was away.
        lab.check(
            !lab.bgp_route(0, &cidr2).is_empty(),
            "node1 lost node2's pods",
        );
    });
    let log = lab.log(1);
    lab.check(
        log.contains("graceful restart: adopted 2 routes"),
        "node2 did not adopt its 2 kernel routes",
    );
    let sweep =
        "graceful restart: API server listed and all peers that are up re-sent their routes";
    lab.check(
        common::wait_for(UP, || lab.log(1).contains(sweep).then_some(())).is_some(),
        "node2: no End-of-RIB sweep after the SIGTERM restart",
    );
    all_routes(&lab);
    // The plain routes were adopted as they are: no route or object changed.
    lab.check(
        lab.kernel_routes(1) == plain_routes,
        &format!(
            "node2's routes changed across the restart:\n{plain_routes}\n->\n{}",
            lab.kernel_routes(1)
        ),
    );
    let objects = lab.ip(1, "nexthop show protocol 17");
    lab.check(
        objects.is_empty(),
        &format!("node2 made objects: {objects}"),
    );
    let (gone, gone_nh) = (mon.deleted(), mon.deleted_nexthops());
    lab.check(
        gone.is_empty() && gone_nh.is_empty(),
        &format!("node2 deleted routes around its restart: {gone:?} {gone_nh:?}"),
    );

    // (b) SIGKILL; node3 deleted while node2 is down; restart.
    let sweeps_before = lab.log(1).matches(sweep).count();
    // 300 pings = 15 s covering kill, start, re-sync and sweep.
    no_loss(&mut lab, "SIGKILL restart", 300, |lab| {
        lab.kill_kube_bgp(1);
        lab.delete_node("node3");
        // The others drop node3 at once; node2 is not running to do so.
        lab.expect_no_route(0, &cidr3, Duration::from_secs(10));
        lab.check(
            !lab.bgp_route(1, &cidr3).is_empty(),
            "node2's route to node3's pods vanished while kube-bgp was down",
        );
        let t0 = Instant::now();
        lab.start_kube_bgp(1, &flags);
        let up = lab.wait_established(1, 1, UP);
        lab.check(up, "node2: session with node1 after the SIGKILL restart");
        eprintln!(
            "SIGKILL restart: node2 Established again after {:?}",
            t0.elapsed()
        );
        // The sweep, inside the ping window: it must remove node3's route only.
        let swept = lab.expect_no_route(1, &cidr3, Duration::from_secs(20));
        eprintln!("SIGKILL restart: node3's adopted route swept {swept:?} after Established");
    });
    lab.check(
        lab.log(1).matches(sweep).count() > sweeps_before,
        "node2: the stale route went, but not by the End-of-RIB sweep",
    );
    lab.expect_via(1, &cidr1, &n1, Duration::from_secs(1));
    lab.expect_via(0, &cidr2, &n2, Duration::from_secs(1));
    let _ = n3;
    for i in 0..3 {
        let t = lab.tunnels(i);
        lab.check(t.is_empty(), &format!("node{}: tunnels {t:?}", i + 1));
    }
}

/// Without graceful restart, SIGTERM closes every session with a Cease NOTIFICATION:
/// the other node and a router withdraw the stopped node's pod CIDR at once (the node
/// hold time is 90 s, the router's 9 s — both far longer than the bound).
#[test]
fn sigterm_without_graceful_restart_sends_cease() {
    let test = "sigterm_without_graceful_restart_sends_cease";
    if !common::lab::checks::available(test, &[]) || !RouterDaemon::Gobgp.available(test) {
        return;
    }
    let mut lab = Lab::new("e2rc", LabConfig::new(2).routers(1));
    let cfg = lab.router_config(0, 65001, 64512, None);
    lab.start_router(0, RouterDaemon::Gobgp, cfg);
    let peer = format!("--peer-router-ips={}", lab.router(0).ipv4);
    lab.start_all(&[&peer, "--peer-router-asns=65001"], 2, UP);
    all_routes(&lab);
    let (cidr2, n2) = (lab.node(1).pod_cidr4.clone(), lab.node(1).ipv4.clone());
    let router = lab.router(0).router.as_ref().expect("router started");
    lab.check(
        router.wait_route(&cidr2, UP).is_some(),
        "router never learned node2's pod CIDR",
    );

    let t0 = Instant::now();
    let status = lab.stop_kube_bgp(1);
    lab.check(
        status.is_some_and(|s| s.success()),
        &format!("kube-bgp on node2 exited with {status:?}"),
    );
    let node_gone = lab.expect_no_route(0, &cidr2, Duration::from_secs(5));
    let router = lab.router(0).router.as_ref().expect("router started");
    let router_gone = router.wait_no_route(&cidr2, Duration::from_secs(5));
    let router_took = t0.elapsed();
    lab.check(router_gone, "the router kept node2's pod CIDR");
    eprintln!(
        "Cease: node1 withdrew node2's pods {node_gone:?} after SIGTERM; router within {router_took:?}"
    );
    lab.check(
        node_gone < Duration::from_secs(2),
        &format!("node1 took {node_gone:?}, want ~1 s"),
    );
    // node1 saw a Cease NOTIFICATION, not a dropped connection.
    let detail = lab.ctl_json(0, &["neighbor", &n2]).unwrap_or_default();
    let last = detail
        .get("last_error")
        .and_then(|e| e.as_str())
        .unwrap_or_default()
        .to_string();
    lab.check(
        last.contains("received NOTIFICATION") && last.to_ascii_lowercase().contains("cease"),
        &format!("node1's last error with node2: {detail}"),
    );
    let log = lab.log(1);
    lab.check(
        log.contains("closing sessions with Cease"),
        "node2 did not say it closes with Cease",
    );
}

/// Safe restart without graceful restart (issue 14 item 6): kube-bgp killed and started
/// again keeps every protocol-17 route in the kernel (not one deletion, however brief,
/// seen by `ip monitor`) until the API has been listed and the peers have re-sent their
/// routes; a node deleted while it was down is then swept, and only that node's route.
/// The routes are first installed naming nexthop objects (the default); node2 restarts
/// with `--kernel-nexthop-objects=false` and adopts them as they are, objects included;
/// the swept route's object goes with it, and no other.
#[test]
fn restart_without_graceful_restart_keeps_routes_until_synced() {
    let test = "restart_without_graceful_restart_keeps_routes_until_synced";
    if !common::lab::checks::available(test, &[]) {
        return;
    }
    let mut lab = Lab::new("e2rn", LabConfig::new(3));
    lab.start_all(&[], 2, UP);
    all_routes(&lab);
    let (cidr1, n1) = (lab.node(0).pod_cidr4.clone(), lab.node(0).ipv4.clone());
    let cidr3 = lab.node(2).pod_cidr4.clone();
    let release = "restart: API server listed and all peers that are up re-sent their routes";

    // (a) SIGKILL and start again.
    let before = lab.kernel_routes(1);
    let objects = lab.ip(1, "nexthop show protocol 17");
    lab.check(
        before.lines().count() == 2
            && before.lines().all(|l| l.contains(" nhid "))
            && objects.lines().count() == 2,
        &format!("node2 by default:\n{before}{objects}"),
    );
    let plain = ["--kernel-nexthop-objects=false"];
    let mon = lab.route_monitor(1, "kill");
    lab.kill_kube_bgp(1);
    let t0 = Instant::now();
    lab.start_kube_bgp(1, &plain);
    let released = common::wait_for(UP, || lab.log(1).contains(release).then(|| t0.elapsed()));
    let released = released.unwrap_or_else(|| lab.fail("node2: the restart hold never ended"));
    eprintln!("non-GR SIGKILL restart: node2's hold released after {released:?}");
    lab.check(
        lab.log(1)
            .contains("restart: adopted 2 routes left by the previous run"),
        "node2 did not adopt its 2 kernel routes",
    );
    lab.check(
        lab.log(1).contains("(2 synced, 0 down)"),
        "node2's release did not wait for both peers",
    );
    lab.check(
        lab.wait_established(1, 2, UP),
        "node2: sessions after the restart",
    );
    std::thread::sleep(Duration::from_secs(1));
    let (gone, gone_nh) = (mon.deleted(), mon.deleted_nexthops());
    lab.check(
        gone.is_empty() && gone_nh.is_empty(),
        &format!("node2 deleted routes around its restart: {gone:?} {gone_nh:?}"),
    );
    all_routes(&lab);
    lab.check(
        lab.kernel_routes(1) == before && lab.ip(1, "nexthop show protocol 17") == objects,
        &format!(
            "node2's routes or objects changed across the restart:\n{before}{objects}->\n{}{}",
            lab.kernel_routes(1),
            lab.ip(1, "nexthop show protocol 17")
        ),
    );

    // (b) Killed; node3 deleted meanwhile; started: node3's route swept after the
    // release, node1's never touched.
    let mon = lab.route_monitor(1, "sweep");
    lab.kill_kube_bgp(1);
    lab.delete_node("node3");
    lab.expect_no_route(0, &cidr3, Duration::from_secs(10));
    lab.start_kube_bgp(1, &plain);
    let swept = lab.expect_no_route(1, &cidr3, UP);
    eprintln!("non-GR restart: node3's stale route swept {swept:?} after the start");
    lab.check(
        lab.log(1).matches(release).count() >= 2,
        "node3's route went, but not by the release",
    );
    lab.expect_via(1, &cidr1, &n1, Duration::from_secs(1));
    let gone = mon.deleted();
    lab.check(
        gone.len() == 1 && gone[0].starts_with(&format!("Deleted {cidr3} ")),
        &format!("node2's deletions: {gone:?}, want only {cidr3}"),
    );
    // The object of node3's address, named by no route now, goes too; node1's stays.
    let via3 = format!(" via {} ", lab.node(2).ipv4);
    let gone_nh = common::wait_for(Duration::from_secs(5), || {
        let d = mon.deleted_nexthops();
        (!d.is_empty()).then_some(d)
    })
    .unwrap_or_default();
    lab.check(
        gone_nh.len() == 1 && gone_nh[0].contains(&via3),
        &format!("node2's object deletions: {gone_nh:?}, want only the one{via3}"),
    );
    let left = lab.ip(1, "nexthop show protocol 17");
    lab.check(
        left.lines().count() == 1 && left.contains(&format!(" via {n1} ")),
        &format!("node2's objects: {left}"),
    );
}

/// The API server down for five minutes (issue 4 item 6, issue 14 items 6 and 10).
/// node1 and node2 keep every session (no new Established transition) and every kernel
/// route not involving node3, and `status` says the API is unreachable. node3 is
/// restarted twice during the outage: SIGKILL with graceful restart and a 30 s deferral
/// time, then SIGTERM and a start without graceful restart. Both times it keeps all its
/// kernel routes for the rest of the outage (the deferral time, long over, does not
/// flush routes whose peers cannot be known without the API) and releases them only
/// after the API is back. Once back, every node relists and acts on a change made after
/// the outage (a new Node becomes a peer). The only long test; the outage length is the
/// scenario, the restarts overlap it.
#[test]
fn api_server_outage_keeps_sessions_and_routes() {
    let test = "api_server_outage_keeps_sessions_and_routes";
    if !common::lab::checks::available(test, &[]) || !RouterDaemon::Gobgp.available(test) {
        return;
    }
    let mut lab = Lab::new("e2ra", LabConfig::new(3).routers(1));
    let cfg = lab
        .router_config(0, 65001, 64512, None)
        .prefix("10.98.0.0/24");
    lab.start_router(0, RouterDaemon::Gobgp, cfg);
    let r1 = lab.router(0).ipv4.clone();
    let peer = format!("--peer-router-ips={r1}");
    let plain: Vec<String> = vec![peer.clone(), "--peer-router-asns=65001".into()];
    let mut gr = plain.clone();
    gr.extend([
        "--bgp-graceful-restart".to_string(),
        "--bgp-graceful-restart-deferral-time=30s".to_string(),
    ]);
    let plain: Vec<&str> = plain.iter().map(String::as_str).collect();
    let gr: Vec<&str> = gr.iter().map(String::as_str).collect();
    lab.start_kube_bgp(0, &plain);
    lab.start_kube_bgp(1, &plain);
    lab.start_kube_bgp(2, &gr);
    for i in 0..3 {
        let up = lab.wait_established(i, 3, UP);
        lab.check(up, &format!("node{}: sessions", i + 1));
    }
    all_routes(&lab);
    for i in 0..3 {
        lab.expect_via(i, "10.98.0.0/24", &r1, UP);
    }
    let synced = |lab: &Lab, i: usize| {
        let s = lab.api_states(i);
        !s.is_empty() && s.iter().all(|(_, st)| st == "synced")
    };
    for i in 0..3 {
        lab.check(
            synced(&lab, i),
            &format!("node{}: API not synced: {:?}", i + 1, lab.api_states(i)),
        );
    }
    let (n3, cidr3) = (lab.node(2).ipv4.clone(), lab.node(2).pod_cidr4.clone());
    // node1 and node2: (peer, established transitions) without node3, and the kernel
    // routes without node3's pod CIDR.
    let peers_of = |lab: &Lab, i: usize| {
        let other = lab.node(1 - i).ipv4.clone();
        [other, r1.clone()]
            .into_iter()
            .map(|p| {
                let t = lab.established_transitions(i, &p);
                (p, t)
            })
            .collect::<Vec<_>>()
    };
    let routes_of = |lab: &Lab, i: usize| {
        lab.kernel_routes(i)
            .lines()
            .filter(|l| !l.starts_with(&format!("{cidr3} ")))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let sessions: Vec<_> = (0..2).map(|i| peers_of(&lab, i)).collect();
    let routes: Vec<String> = (0..2).map(|i| routes_of(&lab, i)).collect();
    for s in &sessions {
        assert!(s.iter().all(|(_, t)| *t == Some(1)), "{sessions:?}");
    }
    let routes3 = lab.kernel_routes(2);
    assert_eq!(routes3.lines().count(), 3, "node3's routes: {routes3}");
    let mon3 = lab.route_monitor(2, "outage");
    let release = "API server listed and all peers that are up re-sent their routes";

    let down = Duration::from_secs(300);
    lab.api()
        .hook(&format!("restart?down_ms={}", down.as_millis()));
    let t0 = Instant::now();
    let unreachable = |lab: &Lab, i: usize| {
        lab.api_states(i)
            .iter()
            .any(|(k, st)| k == "Node" && st.starts_with("unreachable"))
    };
    for i in 0..3 {
        let seen = common::wait_for(Duration::from_secs(30), || {
            unreachable(&lab, i).then(|| t0.elapsed())
        });
        match seen {
            Some(d) => eprintln!("node{}: API unreachable reported after {d:?}", i + 1),
            None => lab.fail(&format!(
                "node{}: status never said unreachable: {:?}",
                i + 1,
                lab.api_states(i)
            )),
        }
    }
    // Through the outage: every 5 s, sessions, transitions and routes as before; node3
    // restarted at 20 s (SIGKILL, graceful restart) and at 120 s (SIGTERM, then without).
    let mut checks = 0;
    let mut restarts = 0;
    while t0.elapsed() + Duration::from_secs(3) < down {
        if restarts == 0 && t0.elapsed() >= Duration::from_secs(20) {
            lab.kill_kube_bgp(2);
            lab.start_kube_bgp(2, &gr);
            restarts = 1;
        } else if restarts == 1 && t0.elapsed() >= Duration::from_secs(120) {
            lab.stop_kube_bgp(2);
            lab.start_kube_bgp(2, &plain);
            restarts = 2;
        }
        for i in 0..2 {
            let now = peers_of(&lab, i);
            lab.check(
                now == sessions[i],
                &format!(
                    "node{}: sessions changed during the outage at {:?}: {now:?} vs {:?}",
                    i + 1,
                    t0.elapsed(),
                    sessions[i]
                ),
            );
            let r = routes_of(&lab, i);
            lab.check(
                r == routes[i],
                &format!("node{}: routes changed during the outage:\n{r}", i + 1),
            );
            lab.check(
                unreachable(&lab, i),
                &format!(
                    "node{}: status during the outage: {:?}",
                    i + 1,
                    lab.api_states(i)
                ),
            );
        }
        let r3 = lab.kernel_routes(2);
        lab.check(
            r3 == routes3,
            &format!(
                "node3: routes changed during the outage at {:?}:\n{r3}",
                t0.elapsed()
            ),
        );
        lab.check(
            !lab.log(2).contains(release),
            "node3 released its routes while the API was down",
        );
        checks += 1;
        std::thread::sleep(Duration::from_secs(5));
    }
    assert!(checks >= 50, "only {checks} checks during the outage");
    assert_eq!(restarts, 2);
    let log3 = lab.log(2);
    lab.check(
        log3.contains("graceful restart: adopted 3 routes left by the previous run")
            && log3.contains("restart: adopted 3 routes left by the previous run"),
        "node3 did not adopt its 3 routes at both restarts",
    );
    let back = common::wait_for(Duration::from_secs(30), || {
        (lab.api().call("GET", "/__test/state", None, "").0 == 200).then(Instant::now)
    });
    let back = back.unwrap_or_else(|| lab.fail("the API server did not come back"));
    eprintln!("API server back after {:?}", t0.elapsed());

    // A change after the outage: a new Node, which every node must peer with.
    let k_ip = format!("{}.9", lab.api_ip().rsplit_once('.').map_or("", |(a, _)| a));
    lab.api().create_node("node9", &k_ip, "10.244.9.0/24", &[]);
    for i in 0..3 {
        let seen = common::wait_for(Duration::from_secs(60), || {
            let rows = lab.neighbors_json(i).ok()?;
            let has = rows
                .as_array()?
                .iter()
                .any(|r| r.get("address").and_then(|a| a.as_str()) == Some(k_ip.as_str()));
            (has && synced(&lab, i)).then(|| back.elapsed())
        });
        match seen {
            Some(d) => eprintln!(
                "node{}: caught up (synced, node9 a peer) {d:?} after the server came back",
                i + 1
            ),
            None => lab.fail(&format!(
                "node{}: did not catch up: {:?}, {:?}",
                i + 1,
                lab.api_states(i),
                lab.neighbors_json(i)
            )),
        }
    }
    // node3 releases once listed and synced (node9 never answers: down, not waited for
    // past the establish wait), with every route it had.
    let released = common::wait_for(Duration::from_secs(60), || {
        lab.log(2).contains(release).then(|| back.elapsed())
    });
    match released {
        Some(d) => eprintln!("node3: restart hold released {d:?} after the server came back"),
        None => lab.fail("node3 never released its restart hold"),
    }
    lab.check(
        lab.wait_established(2, 3, UP),
        "node3: sessions after the outage",
    );
    for i in 0..2 {
        let now = peers_of(&lab, i);
        lab.check(
            now == sessions[i],
            &format!("node{}: sessions flapped on catch-up: {now:?}", i + 1),
        );
        lab.check(
            routes_of(&lab, i) == routes[i],
            &format!("node{}: routes changed on catch-up", i + 1),
        );
        lab.expect_via(i, &cidr3, &n3, UP);
    }
    all_routes(&lab);
    lab.check(
        lab.kernel_routes(2) == routes3,
        &format!("node3's routes after the outage:\n{}", lab.kernel_routes(2)),
    );
    let gone = mon3.deleted();
    lab.check(
        gone.is_empty(),
        &format!("node3 deleted routes during or after the outage: {gone:?}"),
    );
}
