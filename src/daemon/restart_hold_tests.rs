//! The restart hold as a whole agent lives it: a node whose agent restarts into
//! per-node-ASN mode (`--nodes-full-mesh=false`) while its Node has no
//! `kube-router.io/node.asn`, and one whose node.asn is removed while it runs (no
//! restart, so no hold: the contrast). Two `Daemon`s over simulated kernels and a simulated
//! network on virtual time; node b sits in another subnet, so a reaches it through an
//! overlay tunnel.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::config::{DEFAULT_GR_DEFERRAL, DaemonAction, parse_daemon_args};
use crate::daemon::speaker::sim_net::SimNet;
use crate::daemon::status::RibCounting;
use crate::daemon::{AgentParts, Daemon, routes::KernelRoutes};
use crate::kernel::sim::{RouteHop, SimKernel};
use crate::kube::objects::{Item, KubeObject, ResourceKind};
use crate::kube::snapshot::KubeEvent;
use crate::prefix::Prefix;

const ANN_ASN: &str = "kube-router.io/node.asn";

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

fn prefix(s: &str) -> Prefix {
    s.parse().expect("prefix")
}

fn node(name: &str, addr: &str, cidr: &str, asn: Option<&str>) -> KubeObject {
    let annotations: BTreeMap<&str, &str> = asn.map(|a| (ANN_ASN, a)).into_iter().collect();
    let v = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "resourceVersion": "1",
            "annotations": annotations,
        },
        "spec": {"podCIDR": cidr, "podCIDRs": [cidr]},
        "status": {"addresses": [{"type": "InternalIP", "address": addr}]},
    });
    match KubeObject::from_value(ResourceKind::Node, v) {
        Item::Ok(o) => o,
        Item::Bad { error, .. } => panic!("test node does not decode: {error}"),
    }
}

/// The cluster's Node objects; `asn`: the node.asn annotation both carry, if any.
fn nodes(asn: Option<&str>) -> Vec<KubeObject> {
    vec![
        node("a", "10.0.0.1", "10.244.1.0/24", asn),
        node("b", "10.0.1.2", "10.244.2.0/24", asn),
    ]
}

fn listed(d: &mut Daemon, objects: Vec<KubeObject>) {
    let lists = [
        (ResourceKind::Node, objects),
        (ResourceKind::Service, Vec::new()),
        (ResourceKind::EndpointSlice, Vec::new()),
    ];
    d.on_kube_events(
        lists
            .into_iter()
            .map(|(kind, objects)| KubeEvent::Replaced { kind, objects }),
    );
}

/// Upserts `objects` into both agents' API views.
fn upsert(agents: &mut [&mut Daemon], objects: &[KubeObject]) {
    for d in agents.iter_mut() {
        d.on_kube_events(objects.iter().cloned().map(KubeEvent::Upsert));
    }
}

/// The two hosts: the simulated network and the kernels of a (10.0.0.1/24) and b
/// (10.0.1.2/24, another subnet).
fn two_hosts(seed: u64) -> (SimNet, SimKernel, SimKernel) {
    (
        SimNet::new(seed),
        SimKernel::new(ip("10.0.0.1"), prefix("10.0.0.0/24")),
        SimKernel::new(ip("10.0.1.2"), prefix("10.0.1.0/24")),
    )
}

/// The agents of a and b started on `two_hosts`, each given the API's list of
/// `nodes(asn)`.
fn two_agents(
    net: &SimNet,
    ka: &SimKernel,
    kb: &SimKernel,
    full_mesh: bool,
    asn: Option<&str>,
    now: Instant,
) -> (Daemon, Daemon) {
    let mut a = agent(net, ka, "a", ip("10.0.0.1"), full_mesh, now);
    let mut b = agent(net, kb, "b", ip("10.0.1.2"), full_mesh, now);
    listed(&mut a, nodes(asn));
    listed(&mut b, nodes(asn));
    (a, b)
}

/// a's route table when it peers with b: b's pods through the tunnel to b.
fn b_pods_through_tunnel() -> BTreeMap<Prefix, RouteHop> {
    BTreeMap::from([(prefix("10.244.2.0/24"), RouteHop::Tunnel(ip("10.0.1.2")))])
}

/// An agent for node `name` at `addr` over `kernel` (the overlay on, no graceful
/// restart: the restart hold's bound is the 6-minute default).
fn agent(
    net: &SimNet,
    kernel: &SimKernel,
    name: &str,
    addr: IpAddr,
    full_mesh: bool,
    now: Instant,
) -> Daemon {
    let args = vec![
        format!("--hostname-override={name}"),
        format!("--nodes-full-mesh={full_mesh}"),
        "--enable-overlay=true".to_string(),
        "--graceful-shutdown-time=0s".to_string(),
        "--health-port=0".to_string(),
        "--metrics-port=0".to_string(),
    ];
    let cfg = match parse_daemon_args(args.into_iter().map(Into::into).collect()) {
        Ok(DaemonAction::Run { config, .. }) => *config,
        _ => panic!("the test's flags do not make a run"),
    };
    let net = net.clone();
    let parts = AgentParts {
        routes: KernelRoutes::with_port(&cfg, kernel.port()),
        session_io: Box::new(move || net.session_io(addr)),
        seed: 11,
        host: false,
    };
    Daemon::start_with(cfg, name.into(), parts, now)
}

/// Runs both agents on virtual time from `*now` to `until`, each turning when it asks
/// to (at least every 100 ms of virtual time, so nothing depends on a missed deadline).
fn run(net: &SimNet, agents: &mut [&mut Daemon], now: &mut Instant, until: Instant) {
    let mut steps = 0;
    while *now < until {
        steps += 1;
        assert!(steps < 200_000, "virtual time does not advance");
        net.set_time(*now);
        for d in agents.iter_mut() {
            d.turn(*now);
            for _ in 0..256 {
                if !d.busy() {
                    break;
                }
                d.turn(*now);
            }
        }
        let next = agents
            .iter_mut()
            .map(|d| d.poll_at(*now))
            .fold(*now + Duration::from_millis(100), Instant::min);
        *now = next.max(*now + Duration::from_millis(1)).min(until);
    }
    net.set_time(*now);
}

fn metric(d: &Daemon, now: Instant, name: &str) -> Option<String> {
    let st = d.status(now, RibCounting::Skip);
    let text = crate::daemon::metrics::render(&st);
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")).map(str::to_string))
}

/// Restarted into per-node-ASN mode without node.asn: BGP cannot run, which the
/// log, `status` and the metrics say. The earlier run's route, tunnel and rule keep
/// forwarding through the restart hold (the 6-minute default, counted from the API's
/// first list), then go like any stale route; when the annotation appears, BGP starts
/// and they come back.
#[test]
fn restarted_without_an_asn_keeps_routes_through_the_hold_then_removes_them() {
    let t0 = Instant::now();
    let mut now = t0;
    let (net, ka, kb) = two_hosts(3);
    let (mut a, mut b) = two_agents(&net, &ka, &kb, true, None, now);
    run(
        &net,
        &mut [&mut a, &mut b],
        &mut now,
        t0 + Duration::from_secs(20),
    );
    let a_pods = prefix("10.244.1.0/24");
    let through_tunnel = b_pods_through_tunnel();
    assert_eq!(
        ka.hops(),
        through_tunnel,
        "full mesh: b's pods via the tunnel"
    );
    let before = ka.overlay();
    assert_eq!(before.tunnels.len(), 1, "{before:?}");
    assert_eq!(before.rules, vec![a_pods]);

    // a's agent is killed and comes back with --nodes-full-mesh=false; a has no
    // node.asn.
    drop(a);
    net.crash(ip("10.0.0.1"));
    let restart = now;
    let mut a = agent(&net, &ka, "a", ip("10.0.0.1"), false, now);
    listed(&mut a, nodes(None));
    run(
        &net,
        &mut [&mut a, &mut b],
        &mut now,
        restart + Duration::from_secs(1),
    );
    let st = a.status(now, RibCounting::Skip);
    assert!(st.identity.is_none(), "no ASN, no BGP");
    assert!(!st.healthy);
    assert!(
        st.problems
            .iter()
            .any(|p| p.field == ANN_ASN && p.message.contains("--nodes-full-mesh=false")),
        "{:?}",
        st.problems
    );
    let hold = st
        .kernel
        .restart_hold
        .expect("the earlier run's route is held");
    let left = hold.bound_in.expect("listed: the bound runs");
    assert!(
        left <= DEFAULT_GR_DEFERRAL && left + Duration::from_secs(2) > DEFAULT_GR_DEFERRAL,
        "{left:?}"
    );
    assert_eq!(
        metric(&a, now, "kube_bgp_restart_hold_active").as_deref(),
        Some("1")
    );
    let shown = crate::daemon::views::status_info(&st).restart_hold;
    assert!(
        shown
            .as_deref()
            .is_some_and(|s| s.contains("BGP not running")),
        "{shown:?}"
    );

    // Just before the bound everything still forwards as before.
    let bound = restart + DEFAULT_GR_DEFERRAL;
    run(
        &net,
        &mut [&mut a, &mut b],
        &mut now,
        bound - Duration::from_secs(1),
    );
    assert_eq!(ka.hops(), through_tunnel, "kept through the hold");
    assert_eq!(ka.overlay().tunnels, before.tunnels);
    assert_eq!(ka.overlay().rules, vec![a_pods]);
    assert!(
        a.status(now, RibCounting::Skip)
            .kernel
            .restart_hold
            .is_some()
    );

    // At the bound the stale route goes, and with it its tunnel and the rule.
    run(
        &net,
        &mut [&mut a, &mut b],
        &mut now,
        bound + Duration::from_secs(2),
    );
    assert_eq!(
        ka.hops(),
        BTreeMap::new(),
        "stale routes removed at the bound"
    );
    let after = ka.overlay();
    assert!(after.tunnels.is_empty(), "{after:?}");
    assert!(after.table77.is_empty(), "{after:?}");
    assert!(after.rules.is_empty(), "{after:?}");
    let st = a.status(now, RibCounting::Skip);
    assert!(st.kernel.restart_hold.is_none());
    assert_eq!(
        metric(&a, now, "kube_bgp_restart_hold_active").as_deref(),
        Some("0")
    );
    // b, still in the full mesh, configures a and keeps trying; a configures nobody.
    assert!(a.established_peers().next().is_none());

    // The ASN appears (on both nodes: a peers only with nodes of its ASN): BGP starts
    // without a restart, and the route, tunnel and rule come back.
    upsert(&mut [&mut a, &mut b], &nodes(Some("64512")));
    let fixed_at = now;
    run(
        &net,
        &mut [&mut a, &mut b],
        &mut now,
        fixed_at + Duration::from_secs(40),
    );
    let st = a.status(now, RibCounting::Skip);
    assert_eq!(st.identity.map(|i| i.local_asn), Some(64512));
    assert!(st.healthy);
    assert_eq!(ka.hops(), through_tunnel, "recovered");
    let back = ka.overlay();
    assert_eq!(back.tunnels.len(), 1, "{back:?}");
    assert_eq!(back.rules, vec![a_pods]);
}

/// node.asn removed while the agent runs: the other nodes drop it at once (to them it
/// has no ASN, so it is no peer), and with the session its route goes; the agent
/// reports unhealthy and lists the problem, nothing is held (no restart), and its
/// speaker keeps running for any other peers. A new valid value takes effect at once
/// (another ASN: still no peer), and the old value back brings the session and the
/// route back, without a restart.
#[test]
fn node_asn_removed_while_running_is_no_peer_until_a_valid_value_returns() {
    let t0 = Instant::now();
    let mut now = t0;
    let (net, ka, kb) = two_hosts(5);
    let (mut a, mut b) = two_agents(&net, &ka, &kb, false, Some("64512"), now);
    run(
        &net,
        &mut [&mut a, &mut b],
        &mut now,
        t0 + Duration::from_secs(20),
    );
    let through_tunnel = b_pods_through_tunnel();
    assert_eq!(ka.hops(), through_tunnel, "same ASN: a and b peer");
    assert_eq!(a.established_peers().count(), 1);

    // The annotation is removed from a's Node.
    let a_without = node("a", "10.0.0.1", "10.244.1.0/24", None);
    upsert(&mut [&mut a, &mut b], &[a_without]);
    let removed_at = now;
    run(
        &net,
        &mut [&mut a, &mut b],
        &mut now,
        removed_at + Duration::from_secs(30),
    );
    let st = a.status(now, RibCounting::Skip);
    assert!(
        st.problems.iter().any(|p| p.field == ANN_ASN),
        "listed: {:?}",
        st.problems
    );
    assert!(st.identity.is_none(), "no valid ASN in the plan");
    assert!(!st.healthy, "/healthz says so");
    assert!(st.kernel.restart_hold.is_none(), "no restart: nothing held");
    assert_eq!(a.established_peers().count(), 0, "b dropped a");
    assert_eq!(b.established_peers().count(), 0);
    assert_eq!(
        ka.hops(),
        BTreeMap::new(),
        "the route went with the session"
    );

    // Another valid ASN: a speaks it at once; b (64512) is no longer its peer.
    let a_other = node("a", "10.0.0.1", "10.244.1.0/24", Some("64513"));
    upsert(&mut [&mut a, &mut b], &[a_other]);
    let moved_at = now;
    run(
        &net,
        &mut [&mut a, &mut b],
        &mut now,
        moved_at + Duration::from_secs(10),
    );
    let st = a.status(now, RibCounting::Skip);
    assert_eq!(st.identity.map(|i| i.local_asn), Some(64513));
    assert!(
        st.problems.iter().all(|p| p.field != ANN_ASN),
        "{:?}",
        st.problems
    );
    assert_eq!(a.established_peers().count(), 0);
    assert_eq!(ka.hops(), BTreeMap::new(), "no peer in AS 64513, no route");

    // Back to 64512: peers and route return without a restart.
    let a_back = node("a", "10.0.0.1", "10.244.1.0/24", Some("64512"));
    upsert(&mut [&mut a, &mut b], &[a_back]);
    let back_at = now;
    run(
        &net,
        &mut [&mut a, &mut b],
        &mut now,
        back_at + Duration::from_secs(40),
    );
    assert_eq!(a.established_peers().count(), 1);
    assert_eq!(ka.hops(), through_tunnel, "recovered");
    assert_eq!(ka.overlay().tunnels.len(), 1);
}
