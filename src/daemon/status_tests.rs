//! The status model built by real agents: two `Daemon`s over simulated kernels and a
//! simulated network on virtual time (a full mesh, plus a configured external peer
//! that never answers), then the model, the control socket's answers and the metrics
//! rendered from it.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::bgp::fsm::State;
use crate::cluster::peers::PeerKind;
use crate::config::{DaemonAction, parse_daemon_args};
use crate::daemon::speaker::sim_net::SimNet;
use crate::daemon::status::{AgentStatus, RibCounting};
use crate::daemon::views::{CtlView, HttpView};
use crate::daemon::{AgentParts, Daemon, routes::KernelRoutes};
use crate::kernel::sim::SimKernel;
use crate::kube::objects::{Item, KubeObject, ResourceKind};
use crate::kube::snapshot::{KubeEvent, SyncState};
use crate::ops::serve::Responder;
use crate::prefix::{Afi, Prefix};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

fn node(name: &str, addr: &str, cidr: &str, annotations: &[(&str, &str)]) -> KubeObject {
    let annotations: BTreeMap<&str, &str> = annotations.iter().copied().collect();
    let v = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "resourceVersion": "1",
            "labels": {"kubernetes.io/hostname": name},
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

/// An agent for node `name` at `addr` that touches nothing outside its parts.
fn agent(net: &SimNet, name: &str, addr: IpAddr, flags: &[&str], now: Instant) -> Daemon {
    let subnet: Prefix = "10.0.0.0/24".parse().expect("prefix");
    let kernel = SimKernel::new(addr, subnet);
    let mut args = vec![
        format!("--hostname-override={name}"),
        "--nodes-full-mesh=true".to_string(),
        "--graceful-shutdown-time=0s".to_string(),
        "--health-port=0".to_string(),
        "--metrics-port=0".to_string(),
    ];
    args.extend(flags.iter().map(|f| f.to_string()));
    let cfg = match parse_daemon_args(args.into_iter().map(Into::into).collect()) {
        Ok(DaemonAction::Run { config, .. }) => *config,
        _ => panic!("the test's flags do not make a run"),
    };
    let net = net.clone();
    let parts = AgentParts {
        routes: KernelRoutes::with_port(&cfg, kernel.port()),
        session_io: Box::new(move || net.session_io(addr)),
        seed: 7,
        host: false,
    };
    Daemon::start_with(cfg, name.into(), parts, now)
}

/// Nodes a (with an external peer 10.0.0.9 that never answers) and b (a bad
/// pod-cidr annotation), listed by both, run for 20 s of virtual time: their session is
/// Established and each has the other's pod CIDR. Returns the agents and the time.
fn cluster() -> (Daemon, Daemon, Instant) {
    let t0 = Instant::now();
    let net = SimNet::new(1);
    let ext = ["--peer-router-ips=10.0.0.9", "--peer-router-asns=65009"];
    let mut a = agent(&net, "a", ip("10.0.0.1"), &ext, t0);
    let mut b = agent(&net, "b", ip("10.0.0.2"), &[], t0);
    let nodes = vec![
        node("a", "10.0.0.1", "10.244.1.0/24", &[]),
        node(
            "b",
            "10.0.0.2",
            "10.244.2.0/24",
            &[("kube-router.io/pod-cidr", "bogus")],
        ),
    ];
    for d in [&mut a, &mut b] {
        let lists = [
            (ResourceKind::Node, nodes.clone()),
            (ResourceKind::Service, Vec::new()),
            (ResourceKind::EndpointSlice, Vec::new()),
        ];
        d.on_kube_events(
            lists
                .into_iter()
                .map(|(kind, objects)| KubeEvent::Replaced { kind, objects }),
        );
    }
    let mut now = t0;
    for _ in 0..4000 {
        now += Duration::from_millis(5);
        net.set_time(now);
        a.turn(now);
        b.turn(now);
    }
    (a, b, now)
}

fn ctl(d: &mut Daemon, now: Instant, req: &str) -> serde_json::Value {
    let mut out = Vec::new();
    let caller = Some(crate::ops::peercred::PeerCred {
        pid: 1,
        uid: 0,
        gid: 0,
    });
    let mut view = CtlView { d, now };
    let cursor = view.answer_from(caller, format!("{req}\n").as_bytes(), &mut out);
    assert!(cursor.is_none(), "{req} is answered whole");
    serde_json::from_slice(&out).expect("one JSON document")
}

fn metrics(st: &AgentStatus) -> String {
    crate::daemon::metrics::render(st)
}

#[test]
fn the_model_holds_what_the_owners_say() {
    let (a, b, now) = cluster();
    let st = a.status(now, RibCounting::Walk);
    assert_eq!(st.node, "a");
    let me = st.identity.expect("BGP runs");
    assert_eq!(
        (me.router_id.to_string(), me.local_asn),
        ("10.0.0.1".into(), 64512)
    );
    assert!(st.full_mesh && st.healthy);
    // Node b's bad annotation is a problem in force for every node that reads it.
    assert_eq!(st.problems.len(), 1);
    assert!(st.problems[0].to_string().contains("pod-cidr"));
    let peers: Vec<(IpAddr, State)> = st.sessions.iter().map(|s| (s.addr, s.state)).collect();
    assert_eq!(peers.len(), 2);
    assert_eq!(peers[0], (ip("10.0.0.2"), State::Established));
    assert_ne!(peers[1].1, State::Established);
    let mesh = &st.sessions[0];
    assert_eq!(mesh.kind, PeerKind::Node { name: "b".into() });
    assert_eq!((mesh.received, mesh.accepted, mesh.advertised), (1, 1, 1));
    assert_eq!(mesh.established_transitions, 1);
    assert_eq!(mesh.local_addr, Some(ip("10.0.0.1")));
    let neg = mesh.negotiated.as_ref().expect("negotiated");
    assert_eq!(neg.families, vec![Afi::Ipv4]);
    assert_eq!(st.sessions[1].kind, PeerKind::Global);
    assert!(st.sessions[1].negotiated.is_none());
    assert_eq!(st.loc_rib.map(|r| (r.ipv4, r.ipv6)), Some((2, 0)));
    assert_eq!(st.kernel.installed, 1);
    assert_eq!(st.api.nodes, 2);
    assert!(
        st.api
            .watches
            .iter()
            .all(|(_, s)| *s == Some(SyncState::Synced))
    );
    assert!(st.bgp.updates_received >= 1 && st.bgp.updates_sent >= 1);
    assert_eq!(st.bgp.pod_routes_advertised, 1);
    assert!(!st.graceful_shutdown);
    // Counting the Loc-RIB is asked for, not done for every view.
    assert_eq!(a.status(now, RibCounting::Skip).loc_rib, None);
    // b runs BGP all the same.
    let sb = b.status(now, RibCounting::Skip);
    assert_eq!(sb.problems.len(), 1);
    assert_eq!(sb.sessions[0].state, State::Established);
}

#[test]
fn times_are_read_at_the_instant_given() {
    let (a, _b, now) = cluster();
    let up = a.status(now, RibCounting::Skip).sessions[0]
        .in_state_for
        .expect("changed state");
    let later = a.status(now + Duration::from_secs(100), RibCounting::Skip);
    assert_eq!(
        later.sessions[0].in_state_for,
        Some(up + Duration::from_secs(100))
    );
    // The loop has not turned for longer than the sync period allows: unhealthy.
    let stalled = now + Duration::from_secs(15 * 60);
    assert!(!a.status(stalled, RibCounting::Skip).healthy);
    assert!(!a.healthy(stalled) && a.healthy(now));
}

#[test]
fn views_and_metrics_render_the_model() {
    let (mut a, b, now) = cluster();
    let status = ctl(&mut a, now, r#"{"cmd":"status"}"#);
    assert_eq!(status["data"]["peers_total"], 2);
    assert_eq!(status["data"]["peers_established"], 1);
    assert_eq!(status["data"]["rib_ipv4"], 2);
    assert_eq!(status["data"]["kernel_routes"], 1);
    assert_eq!(status["data"]["mode"], "full-mesh");
    let rows = ctl(&mut a, now, r#"{"cmd":"neighbor","addr":null}"#);
    assert_eq!(rows["data"][0]["address"], "10.0.0.2");
    assert_eq!(rows["data"][0]["state"], "Established");
    assert_eq!(rows["data"][1]["source"], "global");
    let one = ctl(&mut a, now, r#"{"cmd":"neighbor","addr":"10.0.0.2"}"#);
    assert_eq!(one["data"]["remote_router_id"], "10.0.0.2");
    assert_eq!(one["data"]["families"][0], "ipv4-unicast");
    let none = ctl(&mut a, now, r#"{"cmd":"neighbor","addr":"10.0.0.77"}"#);
    assert_eq!(none["error"], "no neighbor 10.0.0.77");
    // An admin action shows in the next status taken.
    let done = ctl(
        &mut a,
        now,
        r#"{"cmd":"neighbor_admin","addr":"10.0.0.9","action":{"verb":"disable","message":"swap"}}"#,
    );
    assert_eq!(done["ok"], true, "{done}");
    let st = a.status(now, RibCounting::Walk);
    assert_eq!(st.sessions[1].admin_down.as_deref(), Some("swap"));
    assert_eq!(st.ctl_requests.get("neighbor"), Some(&3));
    let text = metrics(&st);
    for line in [
        "kube_bgp_peer_established_total{address=\"10.0.0.2\"} 1",
        "kube_bgp_peer_admin_down{address=\"10.0.0.9\"} 1",
        "kube_bgp_rib_prefixes{family=\"ipv4\"} 2",
        "kube_router_host_routes_synced 1",
        "kube_router_controller_bgp_peers 2",
        "kube_bgp_ctl_requests_total{verb=\"disable\"} 1",
        "kube_bgp_api_watch_state{resource=\"Node\",state=\"synced\"} 1",
        "kube_bgp_config_problems 1",
        "kube_bgp_healthy 1",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
    }
    // The endpoints: metrics on its path, health from the same instant.
    let mut out = Vec::new();
    let req = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut view = HttpView {
        d: &b,
        now,
        metrics: true,
    };
    view.answer(req, &mut out);
    let page = String::from_utf8(out).expect("text");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("\nkube_bgp_healthy 1\n"));
    let mut out = Vec::new();
    let stalled = now + Duration::from_secs(15 * 60);
    let mut health = HttpView {
        d: &b,
        now: stalled,
        metrics: false,
    };
    health.answer(b"GET /healthz HTTP/1.1\r\n\r\n", &mut out);
    assert!(
        String::from_utf8(out)
            .expect("text")
            .starts_with("HTTP/1.1 500")
    );
}
