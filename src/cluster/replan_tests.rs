//! Tests of incremental planning: after any sequence of API changes the [`Planner`]'s
//! plan equals the full plan of the same snapshot (random sequences from fixed seeds),
//! and a change recomputes only the objects it reaches.

use super::*;
use crate::cluster::{GlobalPeer, KernelFacts, plan};
use crate::kube::objects::{
    Endpoint, EndpointSlice, KubeObject, LoadBalancerIngress, Node, NodeAddress, ResourceKind,
    SERVICE_NAME_LABEL, Service,
};
use crate::kube::snapshot::KubeEvent;

/// splitmix64: the sequences are fixed by their seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len())]
    }
}

const NODES: usize = 6;
const SERVICES: usize = 6;
const SLICES: usize = 8;
const LOCAL: &str = "n0";

/// A random Node `n{i}`: addresses, pod CIDRs (some shared between nodes) and routing
/// annotations, valid or not, drawn from small sets so that changes collide.
fn random_node(r: &mut Rng, i: usize) -> Node {
    let mut n = Node::default();
    n.metadata.name = format!("n{i}");
    let mut addrs = Vec::new();
    if !r.chance(10) {
        addrs.push(("InternalIP", format!("10.0.0.{}", 1 + r.below(NODES + 2))));
    }
    if r.chance(25) {
        addrs.push(("InternalIP", format!("fd00::{}", 1 + r.below(4))));
    }
    if r.chance(20) {
        addrs.push(("ExternalIP", format!("192.0.2.{}", 1 + r.below(4))));
    }
    if r.chance(5) {
        addrs.push(("InternalIP", "not-an-ip".to_string()));
    }
    n.status.addresses = addrs
        .into_iter()
        .map(|(t, a)| NodeAddress {
            type_: t.into(),
            address: a,
        })
        .collect();
    if !r.chance(15) {
        n.spec.pod_cidr = format!("10.244.{}.0/24", r.below(NODES + 1));
    }
    if r.chance(20) {
        n.spec.pod_cidrs = vec![
            n.spec.pod_cidr.clone(),
            r.pick(&["fd10::/64", "fd10:1::/64", "10.245.0.0/16", "bad"])
                .to_string(),
        ];
    }
    let ann: &[(&str, &[&str])] = &[
        ("kube-router.io/rr.server", &["0.0.0.1", "0.0.0.2", "x"]),
        ("kube-router.io/rr.client", &["0.0.0.1", "0.0.0.2", "x"]),
        ("kube-router.io/node.asn", &["65000", "65001", "0", "y"]),
        (
            "kube-router.io/pod-cidrs",
            &["10.246.0.0/24", "10.246.0.0/24,fd20::/64", "z"],
        ),
        ("kube-router.io/peer.ips", &["192.0.2.100", "10.0.0.2"]),
        ("kube-router.io/peer.asns", &["65100", "65100,65101"]),
        ("kube-router.io/path-prepend.as", &["65000"]),
        ("kube-router.io/path-prepend.repeat-n", &["2", "300"]),
        ("kube-router.io/bgp-communities", &["100:100", "no"]),
        (
            "kube-router.io/customimportreject",
            &["10.244.3.0/24", "bad"],
        ),
        ("kube-router.io/bgp-local-addresses", &["10.0.0.1", "q"]),
    ];
    for (k, vals) in ann {
        if r.chance(12) {
            n.metadata
                .annotations
                .insert(k.to_string(), r.pick(vals).to_string());
        }
    }
    n.spec.unschedulable = r.chance(10);
    n
}

/// A random Service `ns/s{i}`: type, cluster IPs (shared between Services now and
/// then), external and load-balancer IPs, traffic policies and annotations.
fn random_service(r: &mut Rng, ns: &str, i: usize) -> Service {
    let mut s = Service::default();
    s.metadata.namespace = ns.into();
    s.metadata.name = format!("s{i}");
    s.spec.type_ = r
        .pick(&["", "ClusterIP", "LoadBalancer", "NodePort", "ExternalName"])
        .into();
    s.spec.cluster_ip = r
        .pick(&["10.96.0.1", "10.96.0.2", "10.96.0.3", "None", "", "fd96::1"])
        .into();
    s.spec.cluster_ips = vec![s.spec.cluster_ip.clone()];
    if r.chance(30) {
        s.spec.external_ips = vec![
            r.pick(&["198.51.100.1", "198.51.100.2", "10.96.0.9"])
                .into(),
        ];
    }
    if r.chance(30) {
        s.status.load_balancer.ingress = vec![LoadBalancerIngress {
            ip: r.pick(&["203.0.113.1", "203.0.113.2", "fd99::1"]).into(),
            ip_mode: r.pick(&["", "VIP", "Proxy"]).into(),
            hostname: String::new(),
        }];
    }
    s.spec.internal_traffic_policy = r.pick(&["", "Cluster", "Local"]).into();
    s.spec.external_traffic_policy = r.pick(&["", "Cluster", "Local"]).into();
    for (k, vals) in [
        (
            "kube-router.io/service.advertise.clusterip",
            &["true", "false", "maybe"],
        ),
        (
            "kube-router.io/service.advertise.externalip",
            &["true", "false", "maybe"],
        ),
        (
            "kube-router.io/service.advertise.loadbalancerip",
            &["true", "false", "maybe"],
        ),
        ("kube-router.io/service.local", &["true", "false", "x"]),
        ("kube-router.io/service.skiplbips", &["true", "", "x"]),
    ] {
        if r.chance(20) {
            s.metadata
                .annotations
                .insert(k.to_string(), r.pick(vals).to_string());
        }
    }
    s
}

/// A random EndpointSlice `ns/e{i}` of a random Service, with endpoints on random
/// nodes (by name, or by address only).
fn random_slice(r: &mut Rng, ns: &str, i: usize) -> EndpointSlice {
    let mut e = EndpointSlice::default();
    e.metadata.namespace = ns.into();
    e.metadata.name = format!("e{i}");
    if !r.chance(10) {
        e.metadata
            .labels
            .insert(SERVICE_NAME_LABEL.into(), format!("s{}", r.below(SERVICES)));
    }
    if r.chance(5) {
        e.metadata
            .annotations
            .insert(crate::kube::objects::LEADER_ANNOTATION.into(), "x".into());
    }
    for _ in 0..r.below(3) {
        e.endpoints.push(Endpoint {
            addresses: vec![format!("10.0.0.{}", 1 + r.below(NODES + 2))],
            node_name: r.pick(&["", "n0", "n1", "n2"]).into(),
            ..Default::default()
        });
    }
    e
}

fn random_object(r: &mut Rng) -> KubeObject {
    let ns = r.pick(&["a", "b"]);
    match r.below(3) {
        0 => {
            let i = r.below(NODES);
            KubeObject::Node(random_node(r, i))
        }
        1 => {
            let i = r.below(SERVICES);
            KubeObject::Service(random_service(r, ns, i))
        }
        _ => {
            let i = r.below(SLICES);
            KubeObject::EndpointSlice(random_slice(r, ns, i))
        }
    }
}

/// One random API event: mostly upserts and deletes, now and then a relist of a kind.
fn random_event(r: &mut Rng) -> KubeEvent {
    match r.below(20) {
        0 => {
            let kind = [
                ResourceKind::Node,
                ResourceKind::Service,
                ResourceKind::EndpointSlice,
            ][r.below(3)];
            let objects = (0..r.below(8))
                .map(|_| random_object(r))
                .filter(|o| o.kind() == kind)
                .collect();
            KubeEvent::Replaced { kind, objects }
        }
        1..=5 => KubeEvent::Delete(random_object(r)),
        _ => KubeEvent::Upsert(random_object(r)),
    }
}

fn random_settings(r: &mut Rng) -> Settings {
    let mut s = Settings {
        nodes_full_mesh: !r.chance(25),
        enable_ibgp: !r.chance(10),
        advertise_cluster_ip: r.chance(60),
        advertise_external_ip: r.chance(50),
        advertise_loadbalancer_ip: r.chance(50),
        node_ttl_security: r.chance(30),
        graceful_restart: r.chance(30),
        graceful_shutdown_on_cordon: r.chance(30),
        require_ipv6: r.chance(5),
        service_external_ip_range: vec!["198.51.100.0/24".parse().expect("prefix")],
        loadbalancer_ip_range: vec!["203.0.113.0/24".parse().expect("prefix")],
        strict_external_ip_validation: !r.chance(30),
        ..Settings::default()
    };
    if r.chance(20) {
        s.global_peers.push(GlobalPeer {
            ip: "10.0.0.3".parse().expect("ip"),
            asn: 65300,
            port: 179,
            password: None,
        });
    }
    s
}

fn random_facts(r: &mut Rng) -> KernelFacts {
    KernelFacts {
        connected: ["10.0.0.0/24", "10.244.3.0/24", "fd00::/64"]
            .iter()
            .filter(|_| r.chance(50))
            .map(|s| s.parse().expect("prefix"))
            .collect(),
        local_addrs: ["10.0.0.1", "192.168.1.1"]
            .iter()
            .filter(|_| r.chance(50))
            .map(|s| s.parse().expect("ip"))
            .collect(),
        adopted_at_start: r.chance(50),
    }
}

/// The property: after every step of a random sequence of API changes (with now and
/// then new settings or kernel facts), the incremental plan equals the full one.
#[test]
fn incremental_plan_equals_the_full_plan_after_random_changes() {
    const SEEDS: u64 = 300;
    const STEPS: usize = 80;
    let mut non_trivial = 0;
    for seed in 0..SEEDS {
        let mut r = Rng(seed);
        let mut snap = Snapshot::new();
        let mut planner = Planner::new();
        let mut settings = random_settings(&mut r);
        let mut kernel = random_facts(&mut r);
        for step in 0..STEPS {
            for _ in 0..1 + r.below(3) {
                snap.apply(random_event(&mut r));
            }
            if r.chance(3) {
                settings = random_settings(&mut r);
            }
            if r.chance(5) {
                kernel = random_facts(&mut r);
            }
            let local = if r.chance(3) { "n1" } else { LOCAL };
            let want = plan(&settings, local, &snap, &kernel);
            let got = planner.plan(&settings, local, &mut snap, &kernel);
            assert_eq!(
                got, want,
                "seed {seed} step {step}: incremental plan differs from the full plan"
            );
            if want.identity.is_some() && (!want.peers.is_empty() || !want.originated.is_empty()) {
                non_trivial += 1;
            }
        }
    }
    // The generators must reach plans with sessions and routes, not only empty ones.
    assert!(
        non_trivial > (SEEDS as usize * STEPS) / 4,
        "only {non_trivial} plans had sessions or routes"
    );
}

fn cluster(nodes: usize, services: usize) -> Snapshot {
    let mut snap = Snapshot::new();
    let mut objects = Vec::new();
    for i in 0..nodes {
        let mut n = Node::default();
        n.metadata.name = format!("n{i}");
        n.status.addresses.push(NodeAddress {
            type_: "InternalIP".into(),
            address: format!("10.0.{}.{}", i / 250, 1 + i % 250),
        });
        n.spec.pod_cidr = format!("10.{}.{}.0/24", 100 + i / 250, i % 250);
        objects.push(KubeObject::Node(n));
    }
    snap.apply(KubeEvent::Replaced {
        kind: ResourceKind::Node,
        objects,
    });
    let mut svcs = Vec::new();
    let mut slices = Vec::new();
    for i in 0..services {
        let mut s = Service::default();
        s.metadata.namespace = "default".into();
        s.metadata.name = format!("s{i}");
        s.spec.cluster_ip = format!("10.96.{}.{}", i / 250, 1 + i % 250);
        svcs.push(KubeObject::Service(s));
        let mut e = EndpointSlice::default();
        e.metadata.namespace = "default".into();
        e.metadata.name = format!("s{i}-x");
        e.metadata
            .labels
            .insert(SERVICE_NAME_LABEL.into(), format!("s{i}"));
        e.endpoints.push(Endpoint {
            addresses: vec!["10.1.0.1".into()],
            node_name: format!("n{}", i % nodes),
            ..Default::default()
        });
        slices.push(KubeObject::EndpointSlice(e));
    }
    snap.apply(KubeEvent::Replaced {
        kind: ResourceKind::Service,
        objects: svcs,
    });
    snap.apply(KubeEvent::Replaced {
        kind: ResourceKind::EndpointSlice,
        objects: slices,
    });
    snap
}

/// A change is recomputed where it reaches only: one Service's VIPs for a Service or
/// EndpointSlice change, one Node (model and session) for another Node's change,
/// everything for a change of the local Node.
#[test]
fn a_change_recomputes_only_what_it_reaches() {
    let settings = Settings {
        advertise_cluster_ip: true,
        ..Settings::default()
    };
    let kernel = KernelFacts::default();
    let mut snap = cluster(50, 80);
    let mut planner = Planner::new();
    let first = planner.plan(&settings, LOCAL, &mut snap, &kernel);
    assert_eq!(first.peers.len(), 49);
    assert_eq!(first.originated.len(), 81, "a pod CIDR and 80 VIPs");
    assert_eq!(
        planner.work(),
        Work {
            nodes: 50,
            sessions: 50,
            services: 80
        }
    );
    let step = |snap: &mut Snapshot, planner: &mut Planner, ev: KubeEvent| {
        snap.apply(ev);
        let got = planner.plan(&settings, LOCAL, snap, &kernel);
        assert_eq!(got, plan(&settings, LOCAL, snap, &kernel));
        (got, planner.work())
    };
    // Nothing changed (a resync): nothing recomputed.
    let same = snap.nodes.values().cloned().map(KubeObject::Node).collect();
    let (_, w) = step(
        &mut snap,
        &mut planner,
        KubeEvent::Replaced {
            kind: ResourceKind::Node,
            objects: same,
        },
    );
    assert_eq!(w, Work::default());
    // A Service's cluster IP changes.
    let mut s = snap.services.values().nth(7).cloned().expect("service");
    s.spec.cluster_ip = "10.97.0.1".into();
    let (p, w) = step(
        &mut snap,
        &mut planner,
        KubeEvent::Upsert(KubeObject::Service(s)),
    );
    assert!(
        p.policy
            .vips
            .contains(&"10.97.0.1/32".parse().expect("prefix"))
    );
    assert_eq!(
        w,
        Work {
            services: 1,
            ..Work::default()
        }
    );
    // An EndpointSlice moves to another Service: both are recomputed.
    let mut e = snap.slices.values().nth(3).cloned().expect("slice");
    e.metadata
        .labels
        .insert(SERVICE_NAME_LABEL.into(), "s9".into());
    let (_, w) = step(
        &mut snap,
        &mut planner,
        KubeEvent::Upsert(KubeObject::EndpointSlice(e)),
    );
    assert_eq!(
        w,
        Work {
            services: 2,
            ..Work::default()
        }
    );
    // Another Node is deleted: its model and its session, nothing else.
    let gone = snap.nodes["n17"].clone();
    let (p, w) = step(
        &mut snap,
        &mut planner,
        KubeEvent::Delete(KubeObject::Node(gone)),
    );
    assert_eq!(p.peers.len(), 48);
    assert_eq!(
        w,
        Work {
            nodes: 1,
            sessions: 1,
            ..Work::default()
        }
    );
    // The local Node changes (a new address): every session and VIP depends on it.
    let mut me = snap.nodes[LOCAL].clone();
    me.status.addresses[0].address = "10.0.9.9".into();
    let (_, w) = step(
        &mut snap,
        &mut planner,
        KubeEvent::Upsert(KubeObject::Node(me)),
    );
    assert_eq!(
        w,
        Work {
            nodes: 1,
            sessions: 49,
            services: 80
        }
    );
}

/// The snapshot's maps are public: an edit that bypassed `apply` (unrecorded) and
/// changed how many objects there are is noticed, and the plan starts again.
#[test]
fn an_unrecorded_edit_of_the_snapshot_replans_from_scratch() {
    let settings = Settings::default();
    let kernel = KernelFacts::default();
    let mut snap = cluster(5, 3);
    let mut planner = Planner::new();
    planner.plan(&settings, LOCAL, &mut snap, &kernel);
    let mut extra = snap.nodes["n1"].clone();
    extra.metadata.name = "n9".into();
    extra.status.addresses[0].address = "10.0.0.99".into();
    snap.nodes.insert("n9".into(), extra);
    let got = planner.plan(&settings, LOCAL, &mut snap, &kernel);
    assert_eq!(got, plan(&settings, LOCAL, &snap, &kernel));
    assert_eq!(got.peers.len(), 5);
}

/// What a change does not touch is shared with the previous plan, not copied: the VIP
/// set while no VIP comes or goes, the pod CIDR owner index while no Node changes.
#[test]
fn unchanged_parts_are_shared_with_the_previous_plan() {
    let settings = Settings {
        advertise_cluster_ip: true,
        ..Settings::default()
    };
    let kernel = KernelFacts::default();
    let mut snap = cluster(20, 30);
    let mut planner = Planner::new();
    let before = planner.plan(&settings, LOCAL, &mut snap, &kernel);
    // An EndpointSlice moves: the Service's VIP stays (no local traffic policy).
    let mut e = snap.slices.values().nth(2).cloned().expect("slice");
    e.endpoints[0].node_name = "n5".into();
    snap.apply(KubeEvent::Upsert(KubeObject::EndpointSlice(e)));
    let after = planner.plan(&settings, LOCAL, &mut snap, &kernel);
    assert_eq!(after, plan(&settings, LOCAL, &snap, &kernel));
    assert!(after.policy.vips.shares(&before.policy.vips));
    assert!(after.policy.owners.shares(&before.policy.owners));
    // A new VIP: a new set; the owners are still shared.
    let mut s = snap.services.values().nth(4).cloned().expect("service");
    s.spec.cluster_ip = "10.97.1.1".into();
    snap.apply(KubeEvent::Upsert(KubeObject::Service(s)));
    let vip = planner.plan(&settings, LOCAL, &mut snap, &kernel);
    assert_eq!(vip, plan(&settings, LOCAL, &snap, &kernel));
    assert!(!vip.policy.vips.shares(&after.policy.vips));
    assert!(vip.policy.owners.shares(&after.policy.owners));
    // A Node changes: a new owner index, and the earlier plans keep theirs intact.
    let gone = snap.nodes["n7"].clone();
    snap.apply(KubeEvent::Delete(KubeObject::Node(gone)));
    let node = planner.plan(&settings, LOCAL, &mut snap, &kernel);
    assert_eq!(node, plan(&settings, LOCAL, &snap, &kernel));
    assert!(!node.policy.owners.shares(&vip.policy.owners));
    assert!(
        vip.policy
            .owners
            .owner_of(&"10.100.7.0/24".parse().expect("prefix"))
            .is_some()
    );
    assert!(
        node.policy
            .owners
            .owner_of(&"10.100.7.0/24".parse().expect("prefix"))
            .is_none()
    );
}
