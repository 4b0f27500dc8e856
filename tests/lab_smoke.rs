//! Proves the lab harness (tests/common/lab.rs) without kube-bgp: a 3-node dual-stack
//! lab whose pods reach each other once static routes are added by hand, whose API server
//! every node reaches with its own kubeconfig, and which leaves nothing behind.
mod common;

use std::time::Instant;

use common::lab::kernel::routes_via;
use common::lab::{Lab, LabConfig, parse_ping};
use common::routers::SessionState;

fn tools(test: &str) -> bool {
    common::require_root(test)
        && common::apiserver::available(test)
        && common::require_tool(test, "kubectl")
        && common::require_tool(test, "ping")
}

fn namespaces() -> String {
    common::sh("ip netns list")
}

#[test]
fn lab_three_nodes_static_routes_api_and_teardown() {
    if !tools("lab_three_nodes_static_routes_api_and_teardown") {
        return;
    }
    let t0 = Instant::now();
    let mut lab = Lab::new(
        "lab",
        LabConfig::new(3)
            .dual_stack()
            .routers(1)
            .annotate(1, "kube-router.io/node.asn", "64512"),
    );
    let names = lab.namespace_names();
    assert_eq!(names.len(), 1 + 3 * 2 + 1, "{names:?}");
    let listed = namespaces();
    for n in &names {
        assert!(
            listed.lines().any(|l| l.split(' ').next() == Some(n)),
            "{n} not in {listed}"
        );
    }
    let dir = lab.dir().to_path_buf();
    let api_pid = lab.api().pid();

    // Before any route between nodes: a pod reaches its own node, not another pod.
    let (s, r) = lab.ping(0, "10.244.1.1", 1);
    assert_eq!((s, r), (1, 1), "pod 1 cannot reach its own node");
    let (s, r) = lab.ping(0, &lab.node(1).pod_ip4, 1);
    assert_eq!((s, r), (1, 0), "pods reached each other without routes");
    // The router namespace sits on the bridge with the nodes.
    let rt = lab.router(0);
    rt.ns
        .sh(&format!("ping -n -q -c 1 -W 2 {}", lab.node(2).ipv4));

    // Static routes: node i reaches pod CIDR j via node j.
    for a in lab.nodes() {
        for b in lab.nodes().iter().filter(|b| b.index != a.index) {
            a.ns.sh(&format!("ip route add {} via {}", b.pod_cidr4, b.ipv4));
            if let (Some(c6), Some(ip6)) = (&b.pod_cidr6, &b.ipv6) {
                a.ns.sh(&format!("ip -6 route add {c6} via {ip6}"));
            }
        }
    }
    // Every pod to every other pod, both families, concurrently; no loss.
    std::thread::scope(|s| {
        let lab = &lab;
        let mut jobs = Vec::new();
        for a in lab.nodes() {
            for b in lab.nodes().iter().filter(|b| b.index != a.index) {
                let targets = [Some(b.pod_ip4.clone()), b.pod_ip6.clone()];
                for to in targets.into_iter().flatten() {
                    let from = a.index;
                    jobs.push((from, to.clone(), s.spawn(move || lab.ping(from, &to, 3))));
                }
            }
        }
        assert_eq!(jobs.len(), 12);
        for (from, to, job) in jobs {
            let got = job.join().expect("ping thread");
            assert_eq!(got, (3, 3), "pod {} -> {to}", from + 1);
        }
    });

    // The API server from each node's namespace, with that node's kubeconfig.
    for i in 0..3 {
        let out = lab.kubectl_from(i, &["get", "nodes", "-o", "name"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "kubectl from node{}: {}",
            i + 1,
            String::from_utf8_lossy(&out.stderr)
        );
        let mut got: Vec<&str> = stdout.lines().collect();
        got.sort();
        assert_eq!(
            got,
            ["node/node1", "node/node2", "node/node3"],
            "from node{}",
            i + 1
        );
    }
    // Each node authenticated with its own token.
    let log = lab.api().requests();
    for n in 1..=3 {
        assert!(
            log.contains(&format!("system:node:node{n}")),
            "no request as node{n}:\n{log}"
        );
    }
    // The Node objects carry what the lab promised.
    let ips = lab.kubectl_ok(&[
        "get", "node", "node2", "-o",
        "jsonpath={.status.addresses[*].address} {.spec.podCIDR} {.spec.podCIDRs[*]} {.metadata.annotations}",
    ]);
    let n2 = lab.node(1);
    let ip6 = n2.ipv6.as_deref().unwrap_or("?");
    let c6 = n2.pod_cidr6.as_deref().unwrap_or("?");
    let want = format!("{} {ip6} node2 10.244.2.0/24 10.244.2.0/24 {c6}", n2.ipv4);
    assert!(ips.starts_with(&want), "node2: {ips}\nwant prefix: {want}");
    assert!(
        ips.contains("\"kube-router.io/node.asn\":\"64512\""),
        "{ips}"
    );
    lab.annotate(0, "kube-router.io/rr.server", "42");
    let ann = lab.kubectl_ok(&[
        "get",
        "node",
        "node1",
        "-o",
        "jsonpath={.metadata.annotations}",
    ]);
    assert!(ann.contains("\"kube-router.io/rr.server\":\"42\""), "{ann}");
    lab.delete_node("node3");
    let left = lab.kubectl_ok(&["get", "nodes", "-o", "name"]);
    assert!(!left.contains("node3"), "{left}");
    // A BIRD peer for every node in the router namespace (routers.rs): it runs and
    // tries the sessions, which stay down without kube-bgp.
    if common::routers::RouterDaemon::Bird.available("lab smoke (bird part)") {
        let cfg = lab.router_config(0, 65000, 64512, Some("lab-secret"));
        assert_eq!(cfg.neighbors.len(), 3);
        assert!(
            cfg.neighbors
                .iter()
                .all(|n| n.v4 && n.v6 && n.password.is_some())
        );
        let node_ip = lab.node(0).ipv4.clone();
        let bird = lab.start_router(0, common::routers::RouterDaemon::Bird, cfg);
        assert_ne!(bird.session(&node_ip), SessionState::Established);
        assert_ne!(bird.session(&node_ip), SessionState::Unknown);
    }
    // No kube-bgp ran: no proto-17 routes, and the helpers say so.
    assert_eq!(lab.kernel_routes(0).trim(), "");
    assert!(lab.try_ctl(0, &["status"]).is_err());

    drop(lab);
    let listed = namespaces();
    for n in &names {
        assert!(
            !listed.lines().any(|l| l.split(' ').next() == Some(n)),
            "{n} left behind: {listed}"
        );
    }
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(
        !std::path::Path::new(&format!("/proc/{api_pid}")).exists(),
        "API server still running"
    );
    eprintln!("lab smoke: {:?}", t0.elapsed());
}

#[test]
fn ping_summary_parsing() {
    let out = "PING 10.244.2.2 (10.244.2.2) 56(84) bytes of data.\n\n--- 10.244.2.2 ping statistics ---\n\
               3 packets transmitted, 2 received, 33.3333% packet loss, time 405ms\n";
    assert_eq!(parse_ping(out), (3, 2));
    let dup = "5 packets transmitted, 5 received, +1 duplicates, 0% packet loss\n";
    assert_eq!(parse_ping(dup), (5, 5));
    let err = "1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms\n";
    assert_eq!(parse_ping(err), (1, 0));
    assert_eq!(
        parse_ping("ping: connect: Network is unreachable\n"),
        (0, 0)
    );
}

#[test]
fn log_tail_and_established_count() {
    use common::lab::daemon::{count_established, redact, tail};
    assert_eq!(
        redact("--peer-router-passwords=c2VjcmV0"),
        "--peer-router-passwords=<redacted>"
    );
    assert_eq!(
        redact("--peer-router-ips=10.0.0.1"),
        "--peer-router-ips=10.0.0.1"
    );
    assert_eq!(redact("password=x"), "password=x");
    assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
    assert_eq!(tail("a\n", 50), "a");
    assert_eq!(tail("", 5), "");
    let rows: serde_json::Value = serde_json::from_str(
        r#"[{"address":"10.1.0.2","state":"Established"},{"address":"10.1.0.3","state":"Active"},
            {"address":"10.1.0.201","state":"Establ"}]"#,
    )
    .expect("json");
    assert_eq!(count_established(&rows), 2);
    let wrapped = serde_json::json!({"neighbors": rows});
    assert_eq!(count_established(&wrapped), 2);
    assert_eq!(count_established(&serde_json::json!({"error": "x"})), 0);
}

/// Process control and failure reporting, with a kube-bgp that exits at once (a flag
/// error: exit status 2 and one error line, whatever the daemon grows into).
#[test]
fn lab_kube_bgp_process_and_failure_report() {
    if !tools("lab_kube_bgp_process_and_failure_report") {
        return;
    }
    let mut lab = Lab::new("labk", LabConfig::new(1));
    lab.start_kube_bgp(0, &["--peer-router-asns=not-a-number"]);
    let status = common::wait_for(std::time::Duration::from_secs(10), || {
        lab.kube_bgp_exited(0)
    });
    assert_eq!(status.and_then(|s| s.code()), Some(2), "{}", lab.log(0));
    let log = lab.log(0);
    let sock = lab.node(0).ctl_socket();
    let header = format!(
        "---- lab: start #1 in {}: kube-bgp --kubeconfig={} --hostname-override=node1 \
         --ctl-socket={} --metrics-port=0 --cni-conf-path={} \
         --graceful-shutdown-time=0 --peer-router-asns=not-a-number ----",
        lab.node(0).ns.name,
        lab.node(0).kubeconfig().display(),
        sock.display(),
        lab.node(0).cni_conf().display()
    );
    assert!(log.starts_with(&header), "{log}\nwant header: {header}");
    assert!(log.contains("kube-bgp: error:"), "{log}");
    assert_eq!(lab.kube_bgp_pid(0), None);
    // A restart appends to the same log; a flag given by the test replaces the lab's.
    lab.start_kube_bgp(0, &["--metrics-port=1", "--peer-router-asns=x"]);
    let restarted = common::wait_for(std::time::Duration::from_secs(10), || {
        lab.kube_bgp_exited(0)
    });
    assert!(restarted.is_some());
    let log = lab.log(0);
    let second = log.lines().find(|l| l.starts_with("---- lab: start #2 in"));
    let second = second.unwrap_or_else(|| panic!("no second start header: {log}"));
    assert!(
        second.contains(" --metrics-port=1 ") && !second.contains("--metrics-port=0"),
        "{second}"
    );
    assert_eq!(log.matches("kube-bgp: error:").count(), 2, "{log}");
    // Nothing answers on the socket; the helpers report that rather than hang.
    assert!(lab.try_ctl(0, &["neighbor"]).is_err());
    assert!(!lab.wait_established(0, 1, std::time::Duration::from_millis(300)));
    // A failed lab assertion carries every node's log tail.
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        lab.check(false, "sessions did not come up")
    }));
    let msg = caught
        .err()
        .and_then(|p| p.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    assert!(
        msg.starts_with("sessions did not come up\n==> node1 ("),
        "{msg}"
    );
    assert!(
        msg.contains("start #2") && msg.contains("kube-bgp: error:"),
        "{msg}"
    );
}

/// The harness driving the real daemon: three dual-stack nodes in full mesh with a BIRD
/// global peer (TCP-MD5), sessions seen through the ctl helpers, routes in the kernel,
/// pods reaching each other, and a node that is stopped and restarted.
#[test]
fn lab_kube_bgp_full_mesh_with_bird() {
    let test = "lab_kube_bgp_full_mesh_with_bird";
    if !tools(test) || !common::routers::RouterDaemon::Bird.available(test) {
        return;
    }
    let secret = "lab-md5-secret";
    let mut lab = Lab::new("labe", LabConfig::new(3).dual_stack().routers(1));
    let cfg = lab.router_config(0, 65000, 64512, Some(secret));
    lab.start_router(0, common::routers::RouterDaemon::Bird, cfg);
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, secret);
    let peer = format!("--peer-router-ips={}", lab.router(0).ipv4);
    let pw = format!("--peer-router-passwords={b64}");
    for i in 0..3 {
        lab.start_kube_bgp(i, &[&peer, "--peer-router-asns=65000", &pw]);
    }
    let timeout = std::time::Duration::from_secs(30);
    for i in 0..3 {
        let up = lab.wait_established(i, 3, timeout);
        lab.check(
            up,
            &format!("node{}: sessions: {:?}", i + 1, lab.neighbors_json(i)),
        );
    }
    let bird = lab.router(0).router.as_ref().expect("bird started");
    for node in lab.nodes() {
        let got = bird.wait_route(&node.pod_cidr4, timeout);
        let nh = got.as_ref().and_then(|r| r.next_hop).map(|a| a.to_string());
        lab.check(
            nh.as_deref() == Some(node.ipv4.as_str()),
            &format!("BIRD: {got:?}"),
        );
    }
    // Kernel routes to the other nodes' pod CIDRs, then pods reach each other.
    let want = |i: usize| {
        let mut w = Vec::new();
        for b in lab.nodes().iter().filter(|b| b.index != i) {
            w.push((b.pod_cidr4.clone(), b.ipv4.clone()));
            if let (Some(c), Some(ip)) = (&b.pod_cidr6, &b.ipv6) {
                w.push((c.clone(), ip.clone()));
            }
        }
        w
    };
    for i in 0..3 {
        let ok = common::wait_for(timeout, || {
            let routes = lab.kernel_routes(i);
            want(i)
                .iter()
                .all(|(c, via)| routes_via(&routes, c, via))
                .then_some(())
        });
        let routes = lab.kernel_routes(i);
        lab.check(
            ok.is_some(),
            &format!("node{} routes:\n{routes}\nwant {:?}", i + 1, want(i)),
        );
    }
    for (a, b) in [(0, 1), (1, 2), (2, 0)] {
        let to4 = lab.node(b).pod_ip4.clone();
        lab.check(lab.ping(a, &to4, 2) == (2, 2), &format!("pod {a} -> {to4}"));
        if let Some(to6) = lab.node(b).pod_ip6.clone() {
            lab.check(lab.ping(a, &to6, 2) == (2, 2), &format!("pod {a} -> {to6}"));
        }
    }
    // A stopped node's routes go from the others; a restart brings them back.
    let status = lab.stop_kube_bgp(2);
    lab.check(status.is_some(), "node3 was not running");
    let gone = common::wait_for(timeout, || {
        (!lab.kernel_routes(0).contains("10.244.3.0/24")).then_some(())
    });
    lab.check(gone.is_some(), "node1 kept the route to node3's pods");
    lab.restart_kube_bgp(2);
    lab.check(lab.wait_established(2, 3, timeout), "node3 after restart");
    let n3 = lab.node(2).ipv4.clone();
    let back = common::wait_for(timeout, || {
        routes_via(&lab.kernel_routes(0), "10.244.3.0/24", &n3).then_some(())
    });
    lab.check(back.is_some(), "node1 did not relearn node3's pod CIDR");
    let log = lab.log(2);
    assert!(log.contains("---- lab: start #2 in"), "{log}");
    assert!(
        log.contains("--peer-router-passwords=<redacted>") && !log.contains(&b64),
        "{log}"
    );
}
