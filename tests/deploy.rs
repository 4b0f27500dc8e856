//! The DaemonSet manifests in deploy/ against the project's fake API server with the real
//! `kubectl`: server-side dry runs and creation of both variants, refusal of broken
//! copies, the documented node-by-node takeover from a kube-router DaemonSet and its
//! roll-back (the fake runs a DaemonSet controller, so pods appear and go per node), the
//! manifest's RBAC rules as exactly what kube-bgp needs (RBAC enforced, kube-bgp run with
//! the service account's identity), and the manifest's capabilities as enough to peer with
//! TCP-MD5, listen on port 179, install routes and answer /healthz (kube-bgp run with only
//! those capabilities by `setpriv`).
mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::apiserver::FakeApiServer;
use common::kbnode::{self, KbNode};
use common::routers::{Neighbor, Router, RouterConfig, RouterDaemon};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn tools(test: &str) -> bool {
    common::apiserver::available(test) && common::require_tool(test, "kubectl")
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The objects of a manifest file as kubectl reads them (client-side, nothing sent).
fn objects(srv: &FakeApiServer, file: &Path) -> Vec<Value> {
    let out = srv.kubectl_ok(&[
        "create",
        "--dry-run=client",
        "-o",
        "json",
        "-f",
        path_str(file),
    ]);
    // One JSON document per object, one after the other.
    serde_json::Deserializer::from_str(&out)
        .into_iter::<Value>()
        .map(|v| v.expect("kubectl printed JSON"))
        .collect()
}

fn find<'a>(objs: &'a [Value], kind: &str) -> &'a Value {
    objs.iter()
        .find(|o| o["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in the manifest"))
}

fn cargo_version() -> String {
    let toml = std::fs::read_to_string(repo("Cargo.toml")).expect("read Cargo.toml");
    toml.lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("version in Cargo.toml")
        .to_string()
}

/// The container of the kube-bgp DaemonSet in `objs`.
fn container(objs: &[Value]) -> &Value {
    &find(objs, "DaemonSet")["spec"]["template"]["spec"]["containers"][0]
}

/// Pods of the namespace kube-system as "node app" lines, sorted.
fn pods(srv: &FakeApiServer) -> Vec<String> {
    let out = srv.kubectl_ok(&[
        "-n",
        "kube-system",
        "get",
        "pods",
        "-o",
        "jsonpath={range .items[*]}{.spec.nodeName} {.metadata.labels.k8s-app}{\"\\n\"}{end}",
    ]);
    let mut v: Vec<String> = out.lines().map(str::to_string).collect();
    v.sort();
    v
}

#[test]
fn deploy_manifests_server_dry_run_and_create() {
    if !tools("deploy_manifests_server_dry_run_and_create") {
        return;
    }
    let srv = FakeApiServer::start("127.0.0.1", None);
    for file in ["deploy/kube-bgp.yaml", "deploy/kube-bgp-takeover.yaml"] {
        let f = repo(file);
        let out = srv.kubectl_ok(&["apply", "--dry-run=server", "-f", path_str(&f)]);
        for obj in [
            "serviceaccount/kube-bgp",
            "clusterrole.rbac.authorization.k8s.io/kube-bgp",
            "clusterrolebinding.rbac.authorization.k8s.io/kube-bgp",
            "daemonset.apps/kube-bgp",
        ] {
            assert!(
                out.contains(&format!("{obj} created (server dry run)")),
                "{file}: {out}"
            );
        }
        // A dry run stores nothing.
        let (code, body) = srv.call(
            "GET",
            "/apis/apps/v1/namespaces/kube-system/daemonsets/kube-bgp",
            None,
            "",
        );
        assert_eq!(code, 404, "{file}: dry run stored the DaemonSet: {body}");
    }
    let log = srv.requests();
    assert!(
        log.lines()
            .any(|l| l.contains("daemonsets?dryRun=All") && l.contains("fieldValidation=Strict")),
        "kubectl did not send a strict server-side dry run:\n{log}"
    );

    // Created for real, then applied again unchanged.
    let f = repo("deploy/kube-bgp.yaml");
    let out = srv.kubectl_ok(&["create", "-f", path_str(&f)]);
    assert!(out.contains("daemonset.apps/kube-bgp created"), "{out}");
    let out = srv.kubectl_ok(&["apply", "-f", path_str(&f)]);
    assert!(out.contains("daemonset.apps/kube-bgp configured"), "{out}");
    let out = srv.kubectl_ok(&["apply", "-f", path_str(&f)]);
    assert!(out.contains("daemonset.apps/kube-bgp unchanged"), "{out}");
    let (code, body) = srv.call(
        "GET",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles/kube-bgp",
        None,
        "",
    );
    assert_eq!(code, 200, "{body}");
    let role: Value = serde_json::from_str(&body).expect("JSON");
    let mut granted = Vec::new();
    for rule in role["rules"].as_array().expect("rules") {
        for g in rule["apiGroups"].as_array().expect("apiGroups") {
            for r in rule["resources"].as_array().expect("resources") {
                for v in rule["verbs"].as_array().expect("verbs") {
                    granted.push(format!(
                        "{}/{}:{}",
                        g.as_str().unwrap_or("?"),
                        r.as_str().unwrap_or("?"),
                        v.as_str().unwrap_or("?")
                    ));
                }
            }
        }
        assert!(rule.get("resourceNames").is_none(), "{rule}");
    }
    granted.sort();
    assert_eq!(
        granted,
        [
            "/nodes:list",
            "/nodes:watch",
            "/services:list",
            "/services:watch",
            "discovery.k8s.io/endpointslices:list",
            "discovery.k8s.io/endpointslices:watch",
        ]
    );
    // The 3-way apply keeps the server's defaults and the DaemonSet is one generation old.
    let generation = srv.kubectl_ok(&[
        "-n",
        "kube-system",
        "get",
        "ds",
        "kube-bgp",
        "-o",
        "jsonpath={.metadata.generation} {.spec.template.spec.restartPolicy}",
    ]);
    assert_eq!(generation.trim(), "1 Always");

    // Switching variants in place: apply the takeover file over the plain one.
    let t = repo("deploy/kube-bgp-takeover.yaml");
    let out = srv.kubectl_ok(&["apply", "-f", path_str(&t)]);
    assert!(out.contains("daemonset.apps/kube-bgp configured"), "{out}");
    let sel = srv.kubectl_ok(&[
        "-n",
        "kube-system",
        "get",
        "ds",
        "kube-bgp",
        "-o",
        "jsonpath={.spec.template.spec.nodeSelector} {.metadata.generation}",
    ]);
    assert_eq!(sel.trim(), r#"{"kube-bgp/routing":"true"} 2"#);
}

/// The two variants differ in the node selector and the health port only; both run the
/// image of this version with the health probes on the port kube-bgp serves.
#[test]
fn deploy_variants_agree() {
    if !tools("deploy_variants_agree") {
        return;
    }
    let srv = FakeApiServer::start("127.0.0.1", None);
    let plain = objects(&srv, &repo("deploy/kube-bgp.yaml"));
    let take = objects(&srv, &repo("deploy/kube-bgp-takeover.yaml"));
    assert_eq!(plain.len(), 4);
    for (i, (a, b)) in plain.iter().zip(&take).enumerate() {
        if a["kind"] != "DaemonSet" {
            assert_eq!(a, b, "object {i} differs");
        }
    }
    for (objs, port) in [(&plain, 20244), (&take, 20245)] {
        let c = container(objs);
        assert_eq!(
            c["image"].as_str(),
            Some(format!("kube-bgp:{}", cargo_version()).as_str())
        );
        let args: Vec<&str> = c["args"]
            .as_array()
            .expect("args")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            args.contains(&format!("--health-port={port}").as_str()),
            "{args:?}"
        );
        for probe in ["startupProbe", "livenessProbe", "readinessProbe"] {
            assert_eq!(c[probe]["httpGet"]["path"], "/healthz", "{probe}");
            assert_eq!(c[probe]["httpGet"]["port"], port, "{probe}");
        }
        // kube-bgp itself accepts these flags.
        let out = std::process::Command::new(common::kube_bgp_bin())
            .args(["run", "--check-config"])
            .args(&args)
            .output()
            .expect("run kube-bgp");
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
    let mut a = find(&plain, "DaemonSet").clone();
    let mut b = find(&take, "DaemonSet").clone();
    assert_eq!(
        b["spec"]["template"]["spec"]["nodeSelector"],
        serde_json::json!({"kube-bgp/routing": "true"})
    );
    if let Some(spec) = b["spec"]["template"]["spec"].as_object_mut() {
        spec.remove("nodeSelector");
    }
    let a_text = serde_json::to_string(&a)
        .expect("json")
        .replace("20244", "20240");
    let b_text = serde_json::to_string(&b)
        .expect("json")
        .replace("20245", "20240");
    a = serde_json::from_str(&a_text).expect("json");
    b = serde_json::from_str(&b_text).expect("json");
    assert_eq!(a, b, "the DaemonSets differ in more than selector and port");
}

#[test]
fn deploy_broken_manifests_are_refused() {
    if !tools("deploy_broken_manifests_are_refused") {
        return;
    }
    let srv = FakeApiServer::start("127.0.0.1", None);
    let good = std::fs::read_to_string(repo("deploy/kube-bgp.yaml")).expect("read manifest");
    let cases: [(&str, &str, &str, &str); 8] = [
        (
            "typo in a field name",
            "      hostNetwork: true\n",
            "      hostNetwrok: true\n",
            r#"unknown field "spec.template.spec.hostNetwrok""#,
        ),
        (
            "no image",
            "        image: kube-bgp:",
            "        # image: kube-bgp:",
            "spec.template.spec.containers[0].image: Required value",
        ),
        (
            "selector does not match the pod labels",
            "  selector:\n    matchLabels:\n      k8s-app: kube-bgp\n",
            "  selector:\n    matchLabels:\n      k8s-app: kube-bgb\n",
            "`selector` does not match template `labels`",
        ),
        (
            "capabilities as a string",
            "add: [NET_ADMIN, NET_BIND_SERVICE]",
            "add: NET_ADMIN",
            "capabilities.add of type []string",
        ),
        (
            "mount of an undeclared volume",
            "        - name: run-kube-bgp\n          mountPath",
            "        - name: run-kubebgp\n          mountPath",
            r#"volumeMounts[0].name: Not found: "run-kubebgp""#,
        ),
        (
            "binding to a Role kind that does not exist",
            "  kind: ClusterRole\n  name: kube-bgp\nsubjects",
            "  kind: ClusterRol\n  name: kube-bgp\nsubjects",
            r#"roleRef.kind: Unsupported value: "ClusterRol""#,
        ),
        (
            "rule without verbs",
            "  resources: [nodes, services]\n  verbs: [list, watch]\n",
            "  resources: [nodes, services]\n",
            "rules[0].verbs: Required value",
        ),
        (
            "toleration with a value and operator Exists",
            "      - key: CriticalAddonsOnly\n        operator: Exists\n",
            "      - key: CriticalAddonsOnly\n        operator: Exists\n        value: \"true\"\n",
            "value must be empty when `operator` is 'Exists'",
        ),
    ];
    let f = srv.state_dir().join("broken.yaml");
    for (what, from, to, want) in cases {
        assert!(good.contains(from), "{what}: the manifest lacks {from:?}");
        std::fs::write(&f, good.replacen(from, to, 1)).expect("write manifest");
        for verb in [&["apply", "--dry-run=server"][..], &["create"][..]] {
            let mut args = verb.to_vec();
            args.extend(["-f", path_str(&f)]);
            let out = srv.kubectl(&args);
            assert!(!out.status.success(), "{what}: {verb:?} accepted it");
            assert!(stderr(&out).contains(want), "{what}: {}", stderr(&out));
        }
        // Nothing of the broken object was stored; clean the rest for the next case.
        let _ = srv.kubectl(&[
            "delete",
            "--ignore-not-found",
            "-f",
            path_str(&repo("deploy/kube-bgp.yaml")),
        ]);
    }
    // A namespace that does not exist is refused too (dry run included).
    std::fs::write(
        &f,
        good.replace("namespace: kube-system", "namespace: kube-sytsem"),
    )
    .expect("write manifest");
    let out = srv.kubectl(&["apply", "--dry-run=server", "-f", path_str(&f)]);
    assert!(
        stderr(&out).contains(r#"namespaces "kube-sytsem" not found"#),
        "{}",
        stderr(&out)
    );
}

/// docs/migration.md, "The DaemonSet way" (with the kube-router steps of its preparation):
/// the same commands, in the same order.
#[test]
fn deploy_takeover_switch_and_roll_back() {
    if !tools("deploy_takeover_switch_and_roll_back")
        || !common::require_tool("deploy_takeover_switch_and_roll_back", "sh")
    {
        return;
    }
    let srv = FakeApiServer::start("127.0.0.1", None);
    srv.create_node("n1", "192.168.0.11", "10.244.1.0/24", &[]);
    srv.create_node("n2", "192.168.0.12", "10.244.2.0/24", &[]);
    srv.create_node("cp1", "192.168.0.10", "10.244.0.0/24", &[]);
    srv.kubectl_ok(&[
        "taint",
        "node",
        "cp1",
        "node-role.kubernetes.io/control-plane:NoSchedule",
    ]);
    srv.kubectl_ok(&[
        "apply",
        "-f",
        path_str(&repo("tests/manifests/kube-router.yaml")),
    ]);
    assert_eq!(
        pods(&srv),
        ["cp1 kube-router", "n1 kube-router", "n2 kube-router"]
    );

    // The documented commands run by a shell, with kubectl pointed at the fake.
    let sh = |script: &str| {
        let cmd = format!("set -eu; cd {}; {script}", env!("CARGO_MANIFEST_DIR"));
        let out = std::process::Command::new("sh")
            .args(["-c", &cmd])
            .env("KUBECONFIG", srv.kubeconfig("cert"))
            .env("KUBECACHEDIR", srv.state_dir().join("kubectl-cache-docs"))
            .output()
            .expect("run sh");
        assert!(
            out.status.success(),
            "{script}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            stderr(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // Preparation, once.
    sh("kubectl -n kube-system get ds kube-router -o json \
        | kubectl patch --local -f - --type=json --patch-file=deploy/takeover/kube-router-no-routing.json -o json \
        | kubectl create -f -");
    sh(
        "kubectl -n kube-system patch ds kube-router --patch-file=deploy/takeover/kube-router-skip-migrated.yaml",
    );
    sh("kubectl apply -f deploy/kube-bgp-takeover.yaml");
    assert_eq!(
        pods(&srv),
        ["cp1 kube-router", "n1 kube-router", "n2 kube-router"],
        "preparation alone must not move anything"
    );
    let copy = srv.kubectl_ok(&[
        "-n",
        "kube-system",
        "get",
        "ds",
        "kube-router-no-routing",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].args} {.spec.template.spec.serviceAccountName}",
    ]);
    assert!(
        copy.contains(r#""--run-firewall=true","--run-service-proxy=true""#)
            && copy.contains(r#""--run-router=false"]"#)
            && copy.trim_end().ends_with(" kube-router"),
        "{copy}"
    );

    // Switch n1: kube-router's pod leaves, then kube-bgp and the no-routing copy arrive.
    sh("kubectl label node n1 kube-bgp/routing=pending");
    sh(
        "kubectl -n kube-system wait --for=delete pod -l k8s-app=kube-router \
        --field-selector spec.nodeName=n1 --timeout=120s",
    );
    assert_eq!(pods(&srv), ["cp1 kube-router", "n2 kube-router"]);
    sh("kubectl label --overwrite node n1 kube-bgp/routing=true");
    sh(
        "kubectl -n kube-system wait --for=condition=Ready pod -l k8s-app=kube-bgp \
        --field-selector spec.nodeName=n1 --timeout=300s",
    );
    assert_eq!(
        pods(&srv),
        [
            "cp1 kube-router",
            "n1 kube-bgp",
            "n1 kube-router-no-routing",
            "n2 kube-router"
        ]
    );
    // The tainted control-plane node moves too (kube-router's tolerations are kept).
    sh(
        "kubectl label node cp1 kube-bgp/routing=pending && kubectl label --overwrite node cp1 kube-bgp/routing=true",
    );
    assert_eq!(
        pods(&srv),
        [
            "cp1 kube-bgp",
            "cp1 kube-router-no-routing",
            "n1 kube-bgp",
            "n1 kube-router-no-routing",
            "n2 kube-router"
        ]
    );

    // Roll back n1.
    sh("kubectl label --overwrite node n1 kube-bgp/routing=pending");
    sh(
        "kubectl -n kube-system wait --for=delete pod -l k8s-app=kube-bgp \
        --field-selector spec.nodeName=n1 --timeout=120s",
    );
    sh("kubectl label node n1 kube-bgp/routing-");
    assert_eq!(
        pods(&srv),
        [
            "cp1 kube-bgp",
            "cp1 kube-router-no-routing",
            "n1 kube-router",
            "n2 kube-router"
        ]
    );
    // The health port is not shared by two pods of one node.
    let ports = srv.kubectl_ok(&[
        "-n",
        "kube-system",
        "get",
        "pods",
        "--field-selector",
        "spec.nodeName=cp1",
        "-o",
        "jsonpath={range .items[*]}{.spec.containers[0].args}{\"\\n\"}{end}",
    ]);
    assert!(
        ports.contains("--health-port=20245") && !ports.contains("--health-port=20244"),
        "{ports}"
    );
}

/// The token of the manifest's service account, as kube-bgp gets it in a pod.
const SA_USER: &str = "system:serviceaccount:kube-system:kube-bgp";

/// kube-bgp with the service account's identity and the RBAC server: `status` says
/// every resource synced and healthy with the manifest's ClusterRole; with any one of
/// its six grants removed, the resource that grant covers is not synced.
#[test]
fn deploy_rbac_is_what_kube_bgp_needs() {
    let test = "deploy_rbac_is_what_kube_bgp_needs";
    if !common::require_root(test) || !tools(test) {
        return;
    }
    let ns = common::Netns::new("dprb");
    ns.sh("ip addr add 10.0.0.1/32 dev lo");
    let srv = FakeApiServer::start_with("127.0.0.1", Some(&ns), &["--authorization", "rbac"]);
    kbnode::create_node(&srv, "n1", &["10.0.0.1"], &["10.244.1.0/24"], &[]);
    srv.set_tokens(&[(srv.token(), SA_USER)]);
    // Without any binding the service account may not even list nodes.
    let out = srv.kubectl_as("token", &["get", "nodes"]);
    assert!(
        stderr(&out).contains(&format!(
            r#"nodes is forbidden: User "{SA_USER}" cannot list resource "nodes" in API group "" at the cluster scope"#
        )),
        "{}",
        stderr(&out)
    );
    let manifest = repo("deploy/kube-bgp.yaml");
    srv.kubectl_ok(&["create", "-f", path_str(&manifest)]);
    let status = |kb: &KbNode| kb.ctl(&["status"]).unwrap_or(Value::Null);
    let kb = KbNode::start(&ns, &srv, "n1", &[]);
    let st = common::wait_for(WAIT, || {
        let s = status(&kb);
        (s["healthy"] == true).then_some(s)
    });
    let st = st.unwrap_or_else(|| {
        panic!(
            "not healthy with the manifest's role: {}\n{}",
            status(&kb),
            kb.logs()
        )
    });
    let api = st["api"].as_array().expect("api").clone();
    assert_eq!(api.len(), 3, "{st}");
    for row in &api {
        assert_eq!(row[1], "synced", "{st}");
    }
    drop(kb);

    let role: Value =
        serde_json::from_str(&srv.kubectl_ok(&["get", "clusterrole", "kube-bgp", "-o", "json"]))
            .expect("JSON");
    let f = srv.state_dir().join("role.json");
    for (rule, resource, kind) in [
        (0, "nodes", "Node"),
        (0, "services", "Service"),
        (1, "endpointslices", "EndpointSlice"),
    ] {
        for verb in ["list", "watch"] {
            let mut smaller = role.clone();
            let others = |v: &Value, want: &str| -> Value {
                Value::Array(
                    v.as_array()
                        .expect("array")
                        .iter()
                        .filter(|x| x.as_str() != Some(want))
                        .cloned()
                        .collect(),
                )
            };
            // Split the rule so that only (resource, verb) goes away.
            let r = smaller["rules"][rule].clone();
            let mut without = r.clone();
            without["resources"] = others(&r["resources"], resource);
            let mut only = r.clone();
            only["resources"] = serde_json::json!([resource]);
            only["verbs"] = others(&r["verbs"], verb);
            let mut rules: Vec<Value> = smaller["rules"].as_array().expect("rules").clone();
            rules[rule] = only;
            if without["resources"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
            {
                rules.push(without);
            }
            smaller["rules"] = Value::Array(rules);
            if let Some(md) = smaller["metadata"].as_object_mut() {
                md.retain(|k, _| k == "name");
            }
            std::fs::write(&f, smaller.to_string()).expect("write role");
            srv.kubectl_ok(&["replace", "-f", path_str(&f)]);
            let kb = KbNode::start(&ns, &srv, "n1", &[]);
            let seen = common::wait_for(WAIT, || {
                let s = status(&kb);
                let rows = s["api"].as_array()?.clone();
                let mine = rows.iter().find(|r| r[0] == kind)?;
                let others_synced = rows
                    .iter()
                    .filter(|r| r[0] != kind)
                    .all(|r| r[1] == "synced");
                // The refusal is reported for exactly this resource and verb.
                let refused = mine[1].as_str().is_some_and(|t| {
                    t.starts_with("unreachable:")
                        && t.contains("403 Forbidden")
                        && t.contains(&format!(r#"cannot {verb} resource "{resource}""#))
                });
                (others_synced && refused).then_some(s)
            });
            assert!(
                seen.is_some(),
                "without {verb} on {resource}: {}\n{}",
                status(&kb),
                kb.logs()
            );
            eprintln!(
                "without {verb} on {resource}: {}",
                seen.unwrap_or_default()["api"]
            );
        }
    }
}

/// kube-bgp run with exactly the capabilities of the manifest (and no_new_privs, as
/// `allowPrivilegeEscalation: false`): TCP-MD5 session with FRR, its route in the kernel,
/// port 179 listened on, /healthz 200. Without NET_ADMIN the route stays out of the
/// kernel, without NET_BIND_SERVICE port 179 stays closed: both are needed.
#[test]
fn deploy_capabilities_are_what_kube_bgp_needs() {
    let test = "deploy_capabilities_are_what_kube_bgp_needs";
    if !common::require_root(test)
        || !tools(test)
        || !RouterDaemon::Frr.available(test)
        || !common::require_tool(test, "setpriv")
        || !common::require_tool(test, "curl")
    {
        return;
    }
    let p = kbnode::pair("dpcp");
    let objs = objects(&p.api, &repo("deploy/kube-bgp.yaml"));
    let sc = &container(&objs)["securityContext"];
    assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
    assert_eq!(sc["privileged"], false);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    let caps: Vec<String> = sc["capabilities"]["add"]
        .as_array()
        .expect("capabilities.add")
        .iter()
        .filter_map(Value::as_str)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    assert!(!caps.is_empty());

    kbnode::create_node(&p.api, "n1", &["10.0.0.1"], &["10.244.1.0/24"], &[]);
    let _frr = Router::frr(
        &p.rtr,
        RouterConfig::new(65001, "10.0.0.2")
            .neighbor(Neighbor::new("10.0.0.1", 64512).password("s3cret"))
            .prefix("10.100.1.0/24"),
    );
    let flags = [
        "--peer-router-ips=10.0.0.2",
        "--peer-router-asns=65001",
        "--peer-router-passwords=czNjcmV0",
        "--health-port=20244",
    ];
    let run = |grant: &[String]| {
        let bounding = format!(
            "--bounding-set=-all{}",
            grant.iter().map(|c| format!(",+{c}")).collect::<String>()
        );
        let wrapper = [
            "setpriv",
            &bounding,
            "--inh-caps=-all",
            "--no-new-privs",
            "--",
        ];
        KbNode::start_wrapped(&p.kb, &p.api, "n1", &flags, &wrapper)
    };
    // The capabilities the daemon really holds, as the kernel reports them.
    let effective = |kb: &KbNode| {
        let pid = kb.pid().expect("kube-bgp runs");
        common::sh(&format!("grep -E '^Cap(Eff|Bnd)' /proc/{pid}/status"))
    };

    let kb = run(&caps);
    assert!(
        kb.wait_established("10.0.0.2", WAIT),
        "no MD5 session with the manifest's capabilities: {}",
        kb.logs()
    );
    assert!(
        kb.wait_kernel("10.100.1.0/24", WAIT).is_some(),
        "route not installed: {:?}\n{}",
        kb.kernel_routes(),
        kb.logs()
    );
    let listening = p.kb.sh("ss -Htln 'sport = :179'");
    assert!(!listening.trim().is_empty(), "not listening on 179");
    let health =
        p.kb.sh("curl -s -o /dev/null -w '%{http_code}' http://10.0.0.1:20244/healthz");
    assert_eq!(health.trim(), "200");
    // The kernel's view: exactly those capabilities, effective and bounding.
    let mut mask = 0u64;
    for c in &caps {
        mask |= 1
            << match c.as_str() {
                "net_bind_service" => 10,
                "net_admin" => 12,
                "net_raw" => 13,
                other => panic!("capability {other}: add its number here"),
            };
    }
    let held = effective(&kb);
    assert!(
        held.contains(&format!("CapEff:\t{mask:016x}"))
            && held.contains(&format!("CapBnd:\t{mask:016x}")),
        "{caps:?}: {held}"
    );
    drop(kb);

    for missing in ["net_admin", "net_bind_service"] {
        assert!(
            caps.iter().any(|c| c == missing),
            "{caps:?} lacks {missing}"
        );
        let fewer: Vec<String> = caps.iter().filter(|c| *c != missing).cloned().collect();
        // The routes the previous run left (as a stopped kube-bgp does) go first: the
        // nexthop objects, with the routes naming them (iproute2's `route flush` cannot
        // delete those: it sends their gateway with the id, which the kernel refuses),
        // then any plain ones.
        p.kb.sh("ip nexthop flush protocol 17; ip route flush proto 17");
        let kb = run(&fewer);
        let failed = match missing {
            "net_admin" => common::wait_for(WAIT, || {
                let logs = kb.logs();
                (kb.kernel_routes()
                    .iter()
                    .all(|r| !r.contains("10.100.1.0/24"))
                    && logs.contains("Operation not permitted"))
                .then_some(())
            }),
            _ => common::wait_for(WAIT, || {
                let logs = kb.logs();
                (logs.contains("cannot listen on")
                    && p.kb.sh("ss -Htln 'sport = :179'").trim().is_empty())
                .then_some(())
            }),
        };
        assert!(
            failed.is_some(),
            "without {missing}: no failure shown\n{}",
            kb.logs()
        );
    }
}
