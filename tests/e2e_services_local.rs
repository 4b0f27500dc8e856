//! End-to-end tests of service IP advertisement with `externalTrafficPolicy: Local`, as
//! docs/configuration.md ("Advertising services") describes: external IPs and
//! load-balancer IPs under strict validation (`--service-external-ip-range`,
//! `--loadbalancer-ip-range`), advertised only by the nodes with a local endpoint,
//! following the EndpointSlice when the endpoint moves, and a Local service without any
//! EndpointSlice not disturbing the others (D9). Checked on a GoBGP router and in
//! kube-bgp's RIB.
mod common;

use std::time::{Duration, Instant};

use common::lab::checks::{available, set, timed};
use common::lab::{Lab, LabConfig};
use common::routers::RouterDaemon;

/// First convergence (lab start, sessions, routes) on a loaded 2-core machine.
const UP: Duration = Duration::from_secs(40);
/// A live change: it should take well under a second; this is only the bound.
const CHANGE: Duration = Duration::from_secs(10);

/// Writes `text` to a file in the lab directory and `kubectl create -f`s it.
fn create(lab: &Lab, name: &str, text: &str) -> String {
    let path = lab.dir().join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    lab.kubectl_ok(&["create", "-f", &path.display().to_string()])
}

const SERVICES: &str = "\
apiVersion: v1
kind: Service
metadata: {name: local, namespace: default}
spec:
  type: LoadBalancer
  clusterIP: 10.96.0.70
  clusterIPs: [10.96.0.70]
  externalIPs: [203.0.113.10, 192.0.2.10]
  externalTrafficPolicy: Local
  ports: [{name: http, port: 80, protocol: TCP}]
  selector: {app: local}
---
apiVersion: v1
kind: Service
metadata: {name: orphan, namespace: default}
spec:
  type: LoadBalancer
  clusterIP: 10.96.0.71
  clusterIPs: [10.96.0.71]
  externalIPs: [203.0.113.20]
  externalTrafficPolicy: Local
  ports: [{name: http, port: 80, protocol: TCP}]
  selector: {app: orphan}
---
apiVersion: v1
kind: Service
metadata: {name: spread, namespace: default}
spec:
  type: ClusterIP
  clusterIP: 10.96.0.72
  clusterIPs: [10.96.0.72]
  externalIPs: [203.0.113.30, 10.96.0.99]
  ports: [{name: http, port: 80, protocol: TCP}]
  selector: {app: spread}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: local-abc
  namespace: default
  labels: {kubernetes.io/service-name: local}
addressType: IPv4
endpoints:
- addresses: [10.244.1.5]
  nodeName: node1
ports: [{name: http, port: 80, protocol: TCP}]
";

/// Two nodes peering with a GoBGP router, with `--advertise-external-ip
/// --service-external-ip-range=203.0.113.0/24 --advertise-loadbalancer-ip
/// --loadbalancer-ip-range=198.51.100.0/24`:
/// - `local` (LoadBalancer, `externalTrafficPolicy: Local`, endpoint on node1):
///   203.0.113.10 and, once its status gets ingress 198.51.100.10 (and 192.0.2.99, out
///   of range), 198.51.100.10 are advertised by node1 only; 192.0.2.10 (out of range)
///   and 192.0.2.99 never;
/// - `spread` (Cluster policy): 203.0.113.30 from both nodes; 10.96.0.99 (in the
///   cluster IP range) never;
/// - `orphan` (Local, no EndpointSlice at all): 203.0.113.20 from nobody, and it does
///   not stop the others (D9);
/// - moving `local`'s endpoint to node2 (patching the EndpointSlice) moves both of its
///   IPs to node2 within seconds.
#[test]
fn local_traffic_policy_follows_the_endpoint() {
    let test = "local_traffic_policy_follows_the_endpoint";
    if !available(test, &[RouterDaemon::Gobgp]) {
        return;
    }
    let mut lab = Lab::new("e2sl", LabConfig::new(2).routers(1));
    let cfg = lab.router_config(0, 65000, 64512, None);
    lab.start_router(0, RouterDaemon::Gobgp, cfg);
    let rt = lab.router(0).ipv4.clone();
    let ips = format!("--peer-router-ips={rt}");
    for i in 0..2 {
        lab.start_kube_bgp(
            i,
            &[
                &ips,
                "--peer-router-asns=65000",
                "--advertise-external-ip",
                "--service-external-ip-range=203.0.113.0/24",
                "--advertise-loadbalancer-ip",
                "--loadbalancer-ip-range=198.51.100.0/24",
            ],
        );
    }
    let (n1, n2) = (lab.node(0).ipv4.clone(), lab.node(1).ipv4.clone());
    for node in [&n1, &n2] {
        lab.check(
            lab.rtr(0).wait_established(node, UP),
            &format!("router: {node} not Established"),
        );
    }
    let out = create(&lab, "services.yaml", SERVICES);
    lab.check(out.contains("endpointslice"), &out);
    lab.expect_router_paths(0, "203.0.113.30/32", &set(&[&n1, &n2]), UP);
    lab.expect_router_paths(0, "203.0.113.10/32", &set(&[&n1]), CHANGE);
    lab.kubectl_ok(&[
        "patch",
        "service",
        "local",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"loadBalancer":{"ingress":[{"ip":"198.51.100.10"},{"ip":"192.0.2.99"}]}}}"#,
    ]);
    lab.expect_router_paths(0, "198.51.100.10/32", &set(&[&n1]), CHANGE);
    let none = set::<&str>(&[]);
    for p in [
        "203.0.113.20/32",
        "192.0.2.10/32",
        "192.0.2.99/32",
        "10.96.0.99/32",
    ] {
        lab.check(
            lab.router_next_hops(0, p).is_empty(),
            &format!("router received {p}: {:?}", lab.router_next_hops(0, p)),
        );
    }
    // kube-bgp's own view: node2 originates only the Cluster-policy service's IP.
    let rib2 = lab.rib_best(1);
    lab.check(
        rib2.get("203.0.113.30/32") == Some(&n2)
            && !rib2.contains_key("203.0.113.10/32")
            && !rib2.contains_key("198.51.100.10/32"),
        &format!("node2 RIB: {rib2:?}"),
    );
    // Move the endpoint to node2.
    let t0 = Instant::now();
    lab.kubectl_ok(&[
        "patch",
        "endpointslice",
        "local-abc",
        "--type=merge",
        "-p",
        r#"{"endpoints":[{"addresses":["10.244.2.5"],"nodeName":"node2"}]}"#,
    ]);
    let took = timed(CHANGE, || {
        lab.router_next_hops(0, "203.0.113.10/32") == set(&[&n2])
            && lab.router_next_hops(0, "198.51.100.10/32") == set(&[&n2])
    });
    lab.check(
        took.is_some(),
        &format!(
            "after the move: 203.0.113.10 {:?}, 198.51.100.10 {:?}",
            lab.router_next_hops(0, "203.0.113.10/32"),
            lab.router_next_hops(0, "198.51.100.10/32")
        ),
    );
    eprintln!(
        "{test}: advertisement moved {:?} after the patch ({took:?} after kubectl returned)",
        t0.elapsed()
    );
    lab.expect_router_paths(0, "203.0.113.30/32", &set(&[&n1, &n2]), CHANGE);
    lab.expect_router_paths(0, "203.0.113.20/32", &none, CHANGE);
}
