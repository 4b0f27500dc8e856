//! Fuzz target: every `kube-router.io/*` node and service annotation with arbitrary
//! values, read by the cluster layer as the daemon does (`cluster::plan` for the local
//! node, in full-mesh and per-node-ASN modes, with global peers and without). The input
//! is split on NUL bytes; each part is one annotation: its first byte selects the key
//! (and the node), the rest is the value. Any panic is a bug.
#![no_main]

use kube_bgp::cluster::{self, GlobalPeer, Settings};
use kube_bgp::kube::KubeObject;
use kube_bgp::kube::objects::{Node, NodeAddress, Service};
use kube_bgp::kube::snapshot::{KubeEvent, Snapshot};
use libfuzzer_sys::fuzz_target;

const NODE_KEYS: [&str; 18] = [
    "kube-router.io/node.asn",
    "kube-router.io/pod-cidr",
    "kube-router.io/pod-cidrs",
    "kube-router.io/rr.server",
    "kube-router.io/rr.client",
    "kube-router.io/peers",
    "kube-router.io/peer.ips",
    "kube-router.io/peer.asns",
    "kube-router.io/peer.passwords",
    "kube-router.io/peer.ports",
    "kube-router.io/peer.localips",
    "kube-router.io/bgp-local-addresses",
    "kube-router.io/path-prepend.as",
    "kube-router.io/path-prepend.repeat-n",
    "kube-router.io/node.bgp.communities",
    "kube-router.io/node.bgp.customimportreject",
    "kube-router.io/node.bgp.holdtime",
    "kube-router.io/unknown",
];

const SERVICE_KEYS: [&str; 5] = [
    "kube-router.io/service.advertise.clusterip",
    "kube-router.io/service.advertise.externalip",
    "kube-router.io/service.advertise.loadbalancerip",
    "kube-router.io/service.local",
    "kube-router.io/service.skiplbips",
];

fn node(name: &str, ip: &str, cidr: &str) -> Node {
    let mut n = Node::default();
    n.metadata.name = name.into();
    n.status.addresses.push(NodeAddress {
        type_: "InternalIP".into(),
        address: ip.into(),
    });
    n.spec.pod_cidr = cidr.into();
    n.spec.pod_cidrs = vec![cidr.into()];
    n
}

fuzz_target!(|data: &[u8]| {
    let mut local = node("n1", "10.0.0.1", "10.244.1.0/24");
    let mut other = node("n2", "10.0.0.2", "10.244.2.0/24");
    let mut svc = Service::default();
    svc.metadata.name = "web".into();
    svc.metadata.namespace = "default".into();
    svc.spec.cluster_ip = "10.96.0.10".into();
    for part in data.split(|b| *b == 0) {
        let Some((sel, value)) = part.split_first() else {
            continue;
        };
        let s = *sel as usize;
        let value = String::from_utf8_lossy(value).into_owned();
        let all = NODE_KEYS.len() + SERVICE_KEYS.len();
        match s % all {
            i if i < NODE_KEYS.len() => {
                let target = if (s / all).is_multiple_of(2) {
                    &mut local
                } else {
                    &mut other
                };
                target
                    .metadata
                    .annotations
                    .insert(NODE_KEYS[i].to_string(), value);
            }
            i => {
                svc.metadata
                    .annotations
                    .insert(SERVICE_KEYS[i - NODE_KEYS.len()].to_string(), value);
            }
        }
    }
    let mut snap = Snapshot::new();
    for o in [
        KubeObject::Node(local),
        KubeObject::Node(other),
        KubeObject::Service(svc),
    ] {
        snap.apply(KubeEvent::Upsert(o));
    }
    let mesh = Settings::default();
    let per_node = Settings {
        nodes_full_mesh: false,
        ..Settings::default()
    };
    let global = Settings {
        global_peers: vec![GlobalPeer {
            ip: "192.0.2.1"
                .parse()
                .unwrap_or(std::net::Ipv4Addr::LOCALHOST.into()),
            asn: 65000,
            port: 179,
            password: None,
        }],
        advertise_cluster_ip: true,
        ..Settings::default()
    };
    for settings in [&mesh, &per_node, &global] {
        let plan = cluster::plan(settings, "n1", &snap, &cluster::KernelFacts::default());
        // Every problem is a short line that names its object.
        for p in &plan.problems {
            assert!(p.to_string().len() < 4096, "long problem: {p}");
        }
    }
});
