//! The real `kubectl` against the project's fake API server (tests/apiserver/): proves the
//! fake serves what kubectl needs (discovery, openapi v3, merge/strategic/apply patches,
//! create, delete with wait) over HTTPS with token and client-certificate credentials.
mod common;

use common::apiserver::FakeApiServer;

fn tools(test: &str) -> bool {
    common::apiserver::available(test) && common::require_tool(test, "kubectl")
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn kubectl_node_lifecycle() {
    if !tools("kubectl_node_lifecycle") {
        return;
    }
    let srv = FakeApiServer::start("127.0.0.1", None);
    srv.create_node("n1", "192.168.0.11", "10.244.1.0/24", &[]);

    let out = srv.kubectl_ok(&["get", "nodes"]);
    assert!(out.lines().any(|l| l.starts_with("n1 ")), "{out}");

    let out = srv.kubectl_ok(&["annotate", "node", "n1", "kube-router.io/node.asn=64512"]);
    assert!(out.contains("node/n1 annotated"), "{out}");
    let (code, body) = srv.call("GET", "/api/v1/nodes/n1", None, "");
    assert_eq!(code, 200);
    assert!(
        body.contains(r#""kube-router.io/node.asn": "64512""#),
        "{body}"
    );
    let log = srv.requests();
    assert!(
        log.lines().any(|l| l.contains(r#""method": "PATCH""#)
            && l.contains("fieldManager=kubectl-annotate")
            && l.contains("application/merge-patch+json")),
        "annotate did not send a merge patch:\n{log}"
    );

    // Without --overwrite kubectl refuses to change an existing value (client side).
    let out = srv.kubectl(&["annotate", "node", "n1", "kube-router.io/node.asn=65000"]);
    assert!(
        !out.status.success(),
        "annotate without --overwrite succeeded"
    );
    srv.kubectl_ok(&[
        "annotate",
        "--overwrite",
        "node",
        "n1",
        "kube-router.io/node.asn=65000",
    ]);
    let out = srv.kubectl_ok(&[
        "get",
        "node",
        "n1",
        "-o",
        "jsonpath={.metadata.annotations.kube-router\\.io/node\\.asn}",
    ]);
    assert_eq!(out.trim(), "65000");
    srv.kubectl_ok(&["annotate", "node", "n1", "kube-router.io/node.asn-"]);
    let out = srv.kubectl_ok(&["get", "node", "n1", "-o", "json"]);
    assert!(!out.contains("kube-router.io/node.asn"), "{out}");

    let out = srv.kubectl_ok(&["label", "node", "n1", "topology.kubernetes.io/zone=z1"]);
    assert!(out.contains("node/n1 labeled"), "{out}");
    let out = srv.kubectl_ok(&[
        "get",
        "nodes",
        "-l",
        "topology.kubernetes.io/zone=z1",
        "-o",
        "name",
    ]);
    assert_eq!(out.trim(), "node/n1");

    // create -f with server-side field validation (openapi v3), then apply changes.
    let manifest = srv.state_dir().join("n2.yaml");
    let yaml = "apiVersion: v1\nkind: Node\nmetadata:\n  name: n2\n  annotations:\n    kube-router.io/node.asn: \"64513\"\nspec:\n  podCIDR: 10.244.2.0/24\n";
    std::fs::write(&manifest, yaml).expect("write manifest");
    let m = manifest.to_str().expect("utf-8 path");
    let out = srv.kubectl_ok(&["create", "-f", m]);
    assert!(out.contains("node/n2 created"), "{out}");
    let out = srv.kubectl(&["create", "-f", m]);
    assert!(stderr(&out).contains("AlreadyExists"), "{}", stderr(&out));
    std::fs::write(&manifest, yaml.replace("64513", "64999")).expect("write manifest");
    let out = srv.kubectl_ok(&["apply", "-f", m]);
    assert!(out.contains("node/n2 configured"), "{out}");
    let out = srv.kubectl_ok(&["apply", "-f", m]);
    assert!(out.contains("node/n2 unchanged"), "{out}");
    let out = srv.kubectl_ok(&[
        "get",
        "node",
        "n2",
        "-o",
        "jsonpath={.metadata.annotations.kube-router\\.io/node\\.asn}",
    ]);
    assert_eq!(out.trim(), "64999");

    let out = srv.kubectl_ok(&["delete", "node", "n2"]);
    assert!(out.contains("\"n2\" deleted"), "{out}");
    let (code, body) = srv.call("GET", "/api/v1/nodes/n2", None, "");
    assert_eq!(code, 404, "{body}");
    assert!(body.contains(r#""reason": "NotFound""#), "{body}");
    let out = srv.kubectl_ok(&["get", "nodes", "-o", "name"]);
    assert_eq!(out.trim(), "node/n1");
}

#[test]
fn kubectl_credentials() {
    if !tools("kubectl_credentials") {
        return;
    }
    let srv = FakeApiServer::start("127.0.0.1", None);
    srv.create_node("n1", "192.168.0.11", "", &[]);
    for good in ["token", "tokenfile", "cert", "cert-data"] {
        let out = srv.kubectl_as(good, &["get", "nodes", "-o", "name"]);
        assert!(out.status.success(), "{good}: {}", stderr(&out));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "node/n1",
            "{good}"
        );
    }
    for bad in ["bad-token", "expired", "other-ca"] {
        let out = srv.kubectl_as(bad, &["get", "nodes"]);
        assert!(!out.status.success(), "{bad} was accepted");
        let err = stderr(&out);
        assert!(
            err.contains("Unauthorized") || err.contains("provide credentials"),
            "{bad}: {err}"
        );
    }
    // Rotating the accepted tokens locks out the old one at once.
    srv.set_tokens(&[("rotated-token", "kube-bgp")]);
    let out = srv.kubectl_as("token", &["get", "nodes"]);
    assert!(!out.status.success(), "old token still accepted");
    std::fs::write(srv.state_dir().join("token"), "rotated-token\n").expect("write token");
    let out = srv.kubectl_as("tokenfile", &["get", "nodes", "-o", "name"]);
    assert!(
        out.status.success(),
        "rotated token refused: {}",
        stderr(&out)
    );
}

#[test]
fn kubectl_services_and_endpointslices() {
    if !tools("kubectl_services_and_endpointslices") {
        return;
    }
    let srv = FakeApiServer::start("127.0.0.1", None);
    let manifest = srv.state_dir().join("svc.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: default\nspec:\n  type: LoadBalancer\n  externalTrafficPolicy: Local\n  ports: [{name: http, port: 80, targetPort: 8080, protocol: TCP}]\n  selector: {app: web}\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: web-abc\n  labels: {kubernetes.io/service-name: web}\naddressType: IPv4\nendpoints:\n- addresses: [\"10.244.1.17\"]\n  nodeName: n1\nports: [{name: http, port: 8080, protocol: TCP}]\n",
    )
    .expect("write manifest");
    let out = srv.kubectl_ok(&["apply", "-f", manifest.to_str().expect("utf-8 path")]);
    assert!(out.contains("service/web created"), "{out}");
    assert!(
        out.contains("endpointslice.discovery.k8s.io/web-abc created"),
        "{out}"
    );
    let out = srv.kubectl_ok(&["get", "svc", "-A", "-o", "name"]);
    assert_eq!(out.trim(), "service/web");
    let out = srv.kubectl_ok(&["get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}"]);
    assert!(
        out.trim().starts_with("10.96."),
        "no cluster IP allocated: {out}"
    );
    let out = srv.kubectl_ok(&[
        "get",
        "endpointslices",
        "-n",
        "default",
        "-l",
        "kubernetes.io/service-name=web",
        "-o",
        "jsonpath={.items[0].endpoints[0].nodeName}",
    ]);
    assert_eq!(out.trim(), "n1");
    let out = srv.kubectl_ok(&[
        "annotate",
        "svc",
        "web",
        "kube-router.io/service.local=true",
    ]);
    assert!(out.contains("service/web annotated"), "{out}");
    let out = srv.kubectl(&["get", "svc", "web", "-n", "other"]);
    assert!(stderr(&out).contains("NotFound"), "{}", stderr(&out));
}

#[test]
fn kubectl_survives_server_restart() {
    if !tools("kubectl_survives_server_restart") {
        return;
    }
    let srv = FakeApiServer::start("127.0.0.1", None);
    srv.create_node("n1", "192.168.0.11", "", &[]);
    let port = srv.port();
    let rv = srv.resource_version();
    srv.restart(300);
    assert_eq!(srv.port(), port);
    assert_eq!(srv.resource_version(), rv, "state lost across restart");
    let out = srv.kubectl_ok(&["get", "node", "n1", "-o", "name"]);
    assert_eq!(out.trim(), "node/n1");
}

#[test]
fn kubectl_in_namespace() {
    if !common::require_root("kubectl_in_namespace") || !tools("kubectl_in_namespace") {
        return;
    }
    let ns = common::Netns::new("kctl");
    ns.sh("ip addr add 10.211.0.1/32 dev lo");
    let srv = FakeApiServer::start("10.211.0.1", Some(&ns));
    assert_eq!(srv.url(), format!("https://10.211.0.1:{}", srv.port()));
    srv.create_node(
        "n1",
        "10.211.0.1",
        "10.244.0.0/24",
        &[("kube-router.io/node.asn", "64512")],
    );
    let out = srv.kubectl_ok(&[
        "get",
        "node",
        "n1",
        "-o",
        "jsonpath={.metadata.annotations.kube-router\\.io/node\\.asn}",
    ]);
    assert_eq!(out.trim(), "64512");
    // Not reachable from the host's namespace.
    let out = common::run(&format!(
        "timeout 3 bash -c '</dev/tcp/10.211.0.1/{}' 2>&1",
        srv.port()
    ));
    assert!(
        !out.status.success(),
        "server reachable outside its namespace"
    );
}
