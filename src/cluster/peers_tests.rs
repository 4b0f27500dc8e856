//! Unit tests of peer selection: every peering mode, external and annotation peers,
//! identity rules and the problems bad annotations give.

use super::*;
use crate::cluster::GlobalPeer;
use crate::cluster::node::{ANN_NODE_ASN, ANN_RR_CLIENT, ANN_RR_SERVER};
use crate::kube::objects::{Node, NodeAddress};

fn node(name: &str, ip: &str, ann: &[(&str, &str)]) -> NodeModel {
    let mut n = Node::default();
    n.metadata.name = name.into();
    n.status.addresses.push(NodeAddress {
        type_: "InternalIP".into(),
        address: ip.into(),
    });
    n.spec.pod_cidr = format!("10.244.{}.0/24", ip.rsplit('.').next().unwrap_or("0"));
    for (k, v) in ann {
        n.metadata.annotations.insert(k.to_string(), v.to_string());
    }
    NodeModel::from_node(&n, &mut vec![])
}

fn peers_of(settings: &Settings, nodes: &[NodeModel], me: &str) -> Vec<(String, bool)> {
    let local = nodes.iter().find(|n| n.name == me).unwrap();
    let mut probs = vec![];
    let id = identity(settings, Some(local), &mut probs).unwrap();
    node_peers(settings, &id, local, nodes, &mut probs)
        .into_iter()
        .map(|p| match p.kind {
            PeerKind::Node { name } => (name, p.rr_client),
            _ => unreachable!(),
        })
        .collect()
}

fn names(v: &[(String, bool)]) -> Vec<&str> {
    v.iter().map(|(n, _)| n.as_str()).collect()
}

#[test]
fn full_mesh_peers_everyone_else_with_cluster_asn() {
    let st = Settings {
        cluster_asn: 65100,
        ..Settings::default()
    };
    let nodes = vec![
        node("a", "10.0.0.1", &[]),
        node("b", "10.0.0.2", &[]),
        node("c", "10.0.0.3", &[]),
    ];
    assert_eq!(names(&peers_of(&st, &nodes, "a")), vec!["b", "c"]);
    let local = &nodes[0];
    let id = identity(&st, Some(local), &mut vec![]).unwrap();
    assert_eq!(id.local_asn, 65100);
    assert_eq!(id.router_id.to_string(), "10.0.0.1");
    let p = node_peers(&st, &id, local, &nodes, &mut vec![]);
    assert!(
        p.iter()
            .all(|p| p.remote_asn == 65100 && p.port == 179 && p.ttl.is_none())
    );
    let off = Settings {
        enable_ibgp: false,
        ..Settings::default()
    };
    assert!(peers_of(&off, &nodes, "a").is_empty());
}

#[test]
fn per_node_asn_groups_do_not_peer() {
    let st = Settings {
        nodes_full_mesh: false,
        ..Settings::default()
    };
    let nodes = vec![
        node("a", "10.0.0.1", &[(ANN_NODE_ASN, "65001")]),
        node("b", "10.0.0.2", &[(ANN_NODE_ASN, "65001")]),
        node("c", "10.0.0.3", &[(ANN_NODE_ASN, "65002")]),
        node("d", "10.0.0.4", &[]),
    ];
    assert_eq!(names(&peers_of(&st, &nodes, "a")), vec!["b"]);
    assert!(peers_of(&st, &nodes, "c").is_empty());
    let mut probs = vec![];
    assert!(identity(&st, Some(&nodes[3]), &mut probs).is_none());
    assert!(probs[0].to_string().contains(ANN_NODE_ASN));
}

#[test]
fn route_reflector_cluster_ids() {
    let st = Settings::default();
    let nodes = vec![
        node("s1", "10.0.0.1", &[(ANN_RR_SERVER, "42")]),
        node("s2", "10.0.0.2", &[(ANN_RR_SERVER, "0.0.0.42")]),
        node("c1", "10.0.0.3", &[(ANN_RR_CLIENT, "42")]),
        node("c2", "10.0.0.4", &[(ANN_RR_CLIENT, "42")]),
        node("x1", "10.0.0.5", &[(ANN_RR_CLIENT, "7")]),
        node("plain", "10.0.0.6", &[]),
    ];
    let s1 = peers_of(&st, &nodes, "s1");
    assert_eq!(
        s1,
        vec![
            ("s2".to_string(), false),
            ("c1".to_string(), true),
            ("c2".to_string(), true),
            ("plain".to_string(), false)
        ]
    );
    assert_eq!(names(&peers_of(&st, &nodes, "c1")), vec!["s1", "s2"]);
    assert!(
        peers_of(&st, &nodes, "x1").is_empty(),
        "client of another ID"
    );
    assert_eq!(names(&peers_of(&st, &nodes, "plain")), vec!["s1", "s2"]);
}

#[test]
fn broken_rr_annotation_isolates_only_that_node() {
    let st = Settings::default();
    let nodes = vec![
        node("a", "10.0.0.1", &[]),
        node("b", "10.0.0.2", &[(ANN_RR_CLIENT, "not-an-id")]),
        node("c", "10.0.0.3", &[]),
    ];
    assert_eq!(names(&peers_of(&st, &nodes, "a")), vec!["c"]);
    assert!(peers_of(&st, &nodes, "b").is_empty());
}

#[test]
fn global_peers_win_over_annotations() {
    let st = Settings {
        global_peers: vec![
            GlobalPeer {
                ip: "192.168.1.99".parse().unwrap(),
                asn: 65000,
                port: 179,
                password: Some(Password::new(b"SecurePassword\n".to_vec())),
            },
            GlobalPeer {
                ip: "192.168.1.100".parse().unwrap(),
                asn: 64512,
                port: 1179,
                password: None,
            },
        ],
        multihop_ttl: 0,
        ..Settings::default()
    };
    let local = node(
        "a",
        "10.0.0.1",
        &[(ANN_PEER_IPS, "10.9.9.9"), (ANN_PEER_ASNS, "65009")],
    );
    let id = identity(&st, Some(&local), &mut vec![]).unwrap();
    let p = external_peers(&st, &id, &local, &mut vec![]);
    assert_eq!(p.len(), 2);
    assert_eq!(p[0].kind, PeerKind::Global);
    assert_eq!(p[0].ttl, Some(1), "single-hop eBGP");
    assert_eq!(p[1].ttl, None, "same ASN: iBGP");
    assert_eq!(p[1].port, 1179);
    assert_eq!(p[0].hold_time, 90);
    assert!(!format!("{:?}", p[0]).contains("Secure"));
    let st2 = Settings {
        multihop_ttl: 5,
        ..st
    };
    assert_eq!(
        external_peers(&st2, &id, &local, &mut vec![])[0].ttl,
        Some(5)
    );
}

#[test]
fn individual_peer_annotations() {
    let st = Settings::default();
    let local = node(
        "a",
        "10.0.0.1",
        &[
            (ANN_PEER_IPS, "10.0.0.254,10.0.0.253"),
            (ANN_PEER_ASNS, "65000,65001"),
            (ANN_PEER_PASSWORDS, "U2VjdXJlUGFzc3dvcmQK,"),
            (ANN_PEER_PORTS, "179,1790"),
            (ANN_PEER_LOCALIPS, ",10.0.0.1"),
        ],
    );
    let id = identity(&st, Some(&local), &mut vec![]).unwrap();
    let p = external_peers(&st, &id, &local, &mut vec![]);
    assert_eq!(p.len(), 2);
    assert_eq!(
        p[0].password,
        Some(Password::new(b"SecurePassword\n".to_vec()))
    );
    assert_eq!(p[1].password, None);
    assert_eq!(p[1].port, 1790);
    assert_eq!(p[0].kind, PeerKind::NodeAnnotation);
}

#[test]
fn bad_peer_annotations_are_one_clear_problem_without_password() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[
                (ANN_PEER_IPS, "10.0.0.254,10.0.0.253"),
                (ANN_PEER_ASNS, "65000"),
            ],
            ANN_PEER_ASNS,
        ),
        (
            &[(ANN_PEER_IPS, "10.0.0.254"), (ANN_PEER_ASNS, "0x10")],
            ANN_PEER_ASNS,
        ),
        (
            &[(ANN_PEER_IPS, "10.0.0.254"), (ANN_PEER_ASNS, "23456")],
            ANN_PEER_ASNS,
        ),
        (
            &[(ANN_PEER_IPS, "10.0.0.999"), (ANN_PEER_ASNS, "65000")],
            ANN_PEER_IPS,
        ),
        (
            &[
                (ANN_PEER_IPS, "10.0.0.254"),
                (ANN_PEER_ASNS, "65000"),
                (ANN_PEER_PASSWORDS, "sekrit!!"),
            ],
            ANN_PEER_PASSWORDS,
        ),
        (
            &[
                (ANN_PEER_IPS, "10.0.0.254"),
                (ANN_PEER_ASNS, "65000"),
                (ANN_PEER_PORTS, "70000"),
            ],
            ANN_PEER_PORTS,
        ),
        (
            &[
                (ANN_PEER_IPS, "10.0.0.254"),
                (ANN_PEER_ASNS, "65000"),
                (ANN_PEER_PORTS, ""),
            ],
            ANN_PEER_PORTS,
        ),
        (&[(ANN_PEERS, "- remoteip: [oops")], ANN_PEERS),
        (&[(ANN_PEERS, "- remoteasn: 65000")], ANN_PEERS),
    ];
    for (ann, key) in cases {
        let local = node("bad", "10.0.0.1", ann);
        let err = annotation_peers(&local).expect_err(&format!("{ann:?} accepted"));
        let s = err.to_string();
        assert!(s.contains("node bad") && s.contains(key), "{s}");
        assert!(!s.contains("sekrit"), "password leaked: {s}");
    }
}

#[test]
fn peers_yaml_annotation() {
    let y = "- remoteip: 10.0.0.254\n  remoteasn: 65000\n  password: U2VjdXJlUGFzc3dvcmQK\n  port: 1790\n  unknown: x\n- remoteip: \"2001:db8::1\"\n  remoteasn: \"4200000001\"\n  localip: 2001:db8::2\n";
    let p = parse_peers_yaml(y).unwrap();
    assert_eq!(p.len(), 2);
    assert_eq!(p[0].port, 1790);
    assert_eq!(
        p[0].password,
        Some(Password::new(b"SecurePassword\n".to_vec()))
    );
    assert_eq!(p[1].asn, 4200000001);
    assert_eq!(p[1].local_ip, Some("2001:db8::2".parse().unwrap()));
    assert!(parse_peers_yaml("- remoteip: 10.0.0.1\n  remoteasn: 65535\n").is_err());
}

/// A 1 KB alias bomb in `kube-router.io/peers` (writable by the node's kubelet) is
/// refused at the first anchor: one problem naming node and annotation, no expansion.
#[test]
fn peers_yaml_alias_bomb_and_oversize_are_one_problem_each() {
    let mut bomb = String::from("- &a {remoteip: 10.0.0.9, remoteasn: 65000}\n");
    for i in 0..40 {
        bomb.push_str(&format!("- [*a, *a, *a, *a, *a, *a, *a, *a] # {i}\n"));
    }
    let local = node("n1", "10.0.0.1", &[(ANN_PEERS, bomb.as_str())]);
    let p = annotation_peers(&local).unwrap_err();
    let text = p.to_string();
    assert!(
        text.starts_with("node n1: kube-router.io/peers: "),
        "{text}"
    );
    assert!(text.contains("anchors and aliases"), "{text}");
    let deep = format!("{}{}", "[".repeat(20), "]".repeat(20));
    let local = node("n1", "10.0.0.1", &[(ANN_PEERS, deep.as_str())]);
    let text = annotation_peers(&local).unwrap_err().to_string();
    assert!(text.contains("nested deeper than"), "{text}");
    // Over the annotation cap: dropped when the node is read, with one problem.
    let huge = format!(
        "- remoteip: 10.0.0.9\n  remoteasn: 65000\n#{}\n",
        "x".repeat(crate::cluster::node::MAX_ANNOTATION_BYTES)
    );
    let mut n = Node::default();
    n.metadata.name = "n1".into();
    n.metadata.annotations.insert(ANN_PEERS.into(), huge);
    let mut probs = vec![];
    let m = NodeModel::from_node(&n, &mut probs);
    assert!(!m.annotations.contains_key(ANN_PEERS));
    assert_eq!(probs.len(), 1, "{probs:?}");
    let text = probs[0].to_string();
    assert!(text.contains("longer than the 65536 accepted"), "{text}");
    assert!(text.len() < 600, "{}", text.len());
    assert_eq!(annotation_peers(&m).unwrap(), vec![]);
}

#[test]
fn ipv6_primary_needs_router_id() {
    let local = node("v6", "fd00::1", &[]);
    let v6only = Settings {
        require_ipv4: false,
        require_ipv6: true,
        ..Settings::default()
    };
    let mut probs = vec![];
    assert!(identity(&v6only, Some(&local), &mut probs).is_none());
    assert!(probs[0].to_string().contains("router-id"));
    let st = Settings {
        router_id: RouterIdSetting::Generate,
        ..v6only
    };
    assert!(identity(&st, Some(&local), &mut vec![]).is_some());
}

#[test]
fn enabled_family_must_exist_on_the_node() {
    let local = node("v6", "fd00::1", &[]);
    let mut probs = vec![];
    let st = Settings {
        router_id: RouterIdSetting::Generate,
        ..Settings::default()
    };
    assert!(identity(&st, Some(&local), &mut probs).is_none());
    assert!(probs[0].to_string().contains("--enable-ipv4"), "{probs:?}");
    let v4 = node("v4", "10.0.0.1", &[]);
    let st = Settings {
        require_ipv6: true,
        ..Settings::default()
    };
    let mut probs = vec![];
    assert!(identity(&st, Some(&v4), &mut probs).is_none());
    assert!(
        probs[0].to_string().contains("no IPv6 address"),
        "{probs:?}"
    );
}

#[test]
fn node_peers_get_a_prefix_limit_from_the_clusters_pod_cidrs_and_the_mesh_password() {
    let st = Settings {
        max_prefixes: 500,
        node_password: Some(Password::new(b"mesh".to_vec())),
        ..Settings::default()
    };
    // Three nodes with one pod CIDR each, one of them also listing two more in the
    // pod-cidrs annotation (it owns three): 5 owned in all -> 2 x 5 + 64 = 74.
    let nodes = vec![
        node("a", "10.0.0.1", &[]),
        node(
            "b",
            "10.0.0.2",
            &[(
                crate::cluster::node::ANN_POD_CIDRS,
                "10.244.2.0/24,10.250.0.0/24,10.250.1.0/24",
            )],
        ),
        node("c", "10.0.0.3", &[(ANN_RR_SERVER, "1.1.1.1")]),
    ];
    let local = &nodes[0];
    let id = identity(&st, Some(local), &mut vec![]).unwrap();
    let peers = node_peers(&st, &id, local, &nodes, &mut vec![]);
    let limit = |name: &str| {
        peers
            .iter()
            .find(|p| p.kind == PeerKind::Node { name: name.into() })
            .map(|p| p.prefix_limit)
    };
    assert_eq!(limit("b"), Some(74));
    // A route reflector server may also reflect what its external peers send.
    assert_eq!(limit("c"), Some(74 + 500));
    assert!(
        peers
            .iter()
            .all(|p| p.password.is_some() && p.min_ttl.is_none())
    );
    // With external peers unlimited, so is a reflector.
    let unlimited = Settings {
        max_prefixes: 0,
        ..st.clone()
    };
    assert_eq!(
        node_prefix_limit(&unlimited, owned_cidr_total(&nodes), &nodes[2]),
        0
    );
    assert_eq!(
        node_prefix_limit(&unlimited, owned_cidr_total(&nodes), &nodes[1]),
        74
    );
    // External peers get --bgp-max-prefixes and never the mesh password.
    let ext = Settings {
        global_peers: vec![GlobalPeer {
            ip: "192.168.1.99".parse().unwrap(),
            asn: 65000,
            port: 179,
            password: None,
        }],
        ..st
    };
    let p = external_peers(&ext, &id, local, &mut vec![]);
    assert_eq!(p[0].prefix_limit, 500);
    assert!(p[0].password.is_none());
}

#[test]
fn peers_yaml_bfd_block() {
    use std::time::Duration;
    let y = "\
- remoteip: 10.0.0.254
  remoteasn: 65000
  bfd:
    enabled: true
    port: 3785
    detection_multiplier: 5
    desired_min_tx_interval: 100
    required_min_rx_interval: \"300\"
    future_key: ignored
- remoteip: 10.0.0.253
  remoteasn: 65000
  bfd:
    enabled: true
- remoteip: 10.0.0.252
  remoteasn: 65000
  bfd:
    enabled: false
    port: 4000
- remoteip: 10.0.0.251
  remoteasn: 65000
- remoteip: 10.0.0.250
  remoteasn: 65000
  bfd:
";
    let p = parse_peers_yaml(y).unwrap();
    assert_eq!(
        p[0].bfd,
        Some(Bfd {
            port: 3785,
            detection_multiplier: 5,
            desired_min_tx: Duration::from_millis(100),
            required_min_rx: Duration::from_millis(300),
        })
    );
    // Enabled with nothing else: kube-router's defaults, not the --bfd-* flags.
    assert_eq!(
        p[1].bfd,
        Some(Bfd {
            port: 3784,
            detection_multiplier: 3,
            desired_min_tx: Duration::from_secs(1),
            required_min_rx: Duration::from_secs(1),
        })
    );
    assert_eq!(p[2].bfd, None, "validated but not enabled");
    assert_eq!(p[3].bfd, None);
    assert_eq!(p[4].bfd, None, "an empty block");
    // The largest intervals that fit 32 bits of microseconds are accepted.
    let max = "- remoteip: 10.0.0.1\n  remoteasn: 65000\n  bfd: {enabled: true, desired_min_tx_interval: 4294967, required_min_rx_interval: 4294967, port: 65535, detection_multiplier: 255}\n";
    let b = parse_peers_yaml(max).unwrap()[0].bfd.unwrap();
    assert_eq!(b.desired_min_tx, Duration::from_millis(4294967));
    assert_eq!(b.detection_multiplier, 255);
}

#[test]
fn peers_yaml_bad_bfd_block_names_node_annotation_and_field() {
    let cases = [
        ("port: 0", "bfd.port: must be 1-65535, got 0"),
        ("port: 65536", "bfd.port: must be 1-65535, got 65536"),
        (
            "detection_multiplier: 0",
            "bfd.detection_multiplier: must be 1-255, got 0",
        ),
        ("detection_multiplier: 256", "bfd.detection_multiplier"),
        (
            "desired_min_tx_interval: 0",
            "bfd.desired_min_tx_interval: must be 1-4294967, got 0",
        ),
        (
            "desired_min_tx_interval: 4294968",
            "bfd.desired_min_tx_interval",
        ),
        (
            "required_min_rx_interval: 0",
            "bfd.required_min_rx_interval: must be 1-4294967, got 0",
        ),
        (
            "required_min_rx_interval: -5",
            "bfd.required_min_rx_interval",
        ),
        (
            "required_min_rx_interval: 1.5",
            "bfd.required_min_rx_interval",
        ),
        (
            "required_min_rx_interval: [1]",
            "bfd.required_min_rx_interval: must be a number",
        ),
        ("enabled: maybe", "bfd.enabled: must be true or false"),
    ];
    for (field, want) in cases {
        // 0 (or any bad value) is refused even when BFD is not enabled, as kube-router.
        for enabled in ["true", "false"] {
            let y = format!(
                "- remoteip: 10.0.0.254\n  remoteasn: 65000\n- remoteip: 10.0.0.9\n  remoteasn: 65000\n  bfd:\n    enabled: {enabled}\n    {field}\n"
            );
            let y = if field.starts_with("enabled") {
                format!("- remoteip: 10.0.0.9\n  remoteasn: 65000\n  bfd:\n    {field}\n")
            } else {
                y
            };
            let local = node("n7", "10.0.0.1", &[(ANN_PEERS, &y)]);
            let p = annotation_peers(&local).unwrap_err();
            let msg = p.to_string();
            assert!(
                msg.starts_with("node n7: kube-router.io/peers: peer "),
                "{msg}"
            );
            assert!(msg.contains(want), "{field}: {msg}");
        }
    }
    let not_a_map = "- remoteip: 10.0.0.9\n  remoteasn: 65000\n  bfd: yes please\n";
    let e = parse_peers_yaml(not_a_map).unwrap_err();
    assert!(e.contains("peer 1: bfd: must be a mapping"), "{e}");
}

#[test]
fn bfd_settings_reach_the_cluster_settings() {
    use crate::config::{DaemonAction, parse_daemon_args};
    let args = [
        "--enable-bfd",
        "--bfd-detection-multiplier=4",
        "--enable-bfd-nodes",
    ];
    let DaemonAction::Run { config, .. } =
        parse_daemon_args(args.iter().map(std::ffi::OsString::from).collect()).unwrap()
    else {
        panic!("not a run");
    };
    let st = Settings::from_config(&config);
    assert_eq!(st.global_bfd.map(|b| b.detection_multiplier), Some(4));
    assert_eq!(st.node_bfd, st.global_bfd);
    assert_eq!(Settings::default().global_bfd, None);
    // Individual annotations carry no BFD (kube-router reads it only from the YAML).
    let local = node(
        "a",
        "10.0.0.1",
        &[(ANN_PEER_IPS, "10.9.9.9"), (ANN_PEER_ASNS, "65009")],
    );
    assert_eq!(annotation_peers(&local).unwrap()[0].bfd, None);
}

#[test]
fn bfd_reaches_each_kind_of_peer_plan() {
    let fast = Bfd {
        port: 3784,
        detection_multiplier: 3,
        desired_min_tx: std::time::Duration::from_millis(100),
        required_min_rx: std::time::Duration::from_millis(100),
    };
    let nodes = vec![node("a", "10.0.0.1", &[]), node("b", "10.0.0.2", &[])];
    let mesh = Settings {
        node_bfd: Some(fast),
        ..Settings::default()
    };
    let id = identity(&mesh, Some(&nodes[0]), &mut vec![]).unwrap();
    let p = node_peers(&mesh, &id, &nodes[0], &nodes, &mut vec![]);
    assert_eq!(p[0].bfd, Some(fast), "--enable-bfd-nodes");
    let p = node_peers(&Settings::default(), &id, &nodes[0], &nodes, &mut vec![]);
    assert_eq!(p[0].bfd, None);
    // Global peers take --enable-bfd; node peers do not.
    let global = Settings {
        global_peers: vec![GlobalPeer {
            ip: "10.0.0.99".parse().unwrap(),
            asn: 65000,
            port: 179,
            password: None,
        }],
        global_bfd: Some(fast),
        ..Settings::default()
    };
    let p = external_peers(&global, &id, &nodes[0], &mut vec![]);
    assert_eq!(p[0].bfd, Some(fast));
    assert_eq!(
        node_peers(&global, &id, &nodes[0], &nodes, &mut vec![])[0].bfd,
        None
    );
    // Annotation peers: each its own `bfd:` block.
    let yaml = "- remoteip: 10.0.0.7\n  remoteasn: 65000\n  bfd: {enabled: true, detection_multiplier: 5}\n- remoteip: 10.0.0.8\n  remoteasn: 65000\n";
    let local = node("a", "10.0.0.1", &[(ANN_PEERS, yaml)]);
    let p = external_peers(&Settings::default(), &id, &local, &mut vec![]);
    assert_eq!(p[0].bfd.map(|b| b.detection_multiplier), Some(5));
    assert_eq!(p[1].bfd, None);
}

fn peer_at(addr: &str, kind: PeerKind) -> PeerPlan {
    PeerPlan {
        families: Vec::new(),
        kind,
        ..PeerPlan::plain(addr.parse().expect("addr"), 64512, 64512)
    }
}

#[test]
fn gtsm_applies_to_node_peers_on_a_connected_subnet_only() {
    let node = |n: &str| PeerKind::Node { name: n.into() };
    let mut peers = vec![
        peer_at("10.0.0.2", node("near")),
        peer_at("10.9.0.2", node("routed")),
        peer_at("10.0.0.7", PeerKind::Global),
        peer_at("fd00::2", node("near6")),
    ];
    let connected: Vec<Prefix> = ["10.0.0.0/24", "fd00::/64", "0.0.0.0/0"]
        .iter()
        .map(|s| s.parse().expect("prefix"))
        .collect();
    gtsm_for_connected_nodes(&mut peers, &connected);
    let gtsm: Vec<(Option<u8>, Option<u8>)> = peers.iter().map(|p| (p.ttl, p.min_ttl)).collect();
    assert_eq!(
        gtsm,
        vec![
            (Some(255), Some(255)),
            (None, None),
            (None, None),
            (Some(255), Some(255))
        ]
    );
}
