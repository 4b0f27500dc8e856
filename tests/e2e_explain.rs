//! End-to-end tests of `kube-bgp explain` and the admin verbs with a real BIRD router
//! in the namespace lab: two nodes, BIRD as a global peer announcing a prefix the nodes
//! accept and one node1 refuses by its `customimportreject` annotation, and a Service
//! with `internalTrafficPolicy: Local` whose endpoint is on node1. Checks explain's JSON
//! for a learned, a refused, an own pod CIDR and a VIP prefix; `neighbor ADDR disable
//! MESSAGE` as BIRD sees it (the session closed with the shutdown message), `neighbor`
//! showing it, `enable` bringing it back; soft resets as BIRD counts them; that a
//! non-root user cannot use the control socket, and cannot act even when an operator
//! opens it to everyone. The admin verbs once more against FRR.
mod common;

use std::time::Duration;

use common::lab::checks::available;
use common::lab::{Lab, LabConfig};
use common::routers::{RouterDaemon, SessionState};
use serde_json::Value;

/// First convergence (lab start, sessions, routes) on a loaded 2-core machine.
const UP: Duration = Duration::from_secs(40);
/// A live change: well under a second normally; this is only the bound.
const CHANGE: Duration = Duration::from_secs(15);

const LEARNED: &str = "198.51.100.0/24";
const REFUSED: &str = "203.0.113.0/24";
const VIP: &str = "10.96.0.60";

const SERVICE: &str = "\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  type: ClusterIP
  clusterIP: 10.96.0.60
  clusterIPs: [10.96.0.60]
  internalTrafficPolicy: Local
  ports: [{name: http, port: 80, protocol: TCP}]
  selector: {app: web}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-x1
  namespace: default
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
endpoints:
- addresses: [10.244.1.5]
  nodeName: node1
ports: [{name: http, port: 80, protocol: TCP}]
";

/// `explain -o json` on node `i`, waiting (bounded) until `ready` holds.
fn explain_until(lab: &Lab, i: usize, q: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    let got = common::wait_for(CHANGE, || {
        let v = lab.ctl_json(i, &["explain", q]).ok()?;
        last = v.clone();
        ready(&v).then_some(v)
    });
    got.unwrap_or_else(|| {
        let text = lab.try_ctl(i, &["explain", q]).unwrap_or_else(|e| e);
        lab.fail(&format!(
            "explain {q} on node{}:\n{text}\n{}",
            i + 1,
            serde_json::to_string(&last).unwrap_or_default()
        ))
    })
}

fn peer<'a>(v: &'a Value, addr: &str) -> &'a Value {
    v["peers"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["peer"] == addr))
        .unwrap_or(&Value::Null)
}

/// BIRD's "Import updates: received" count for its session with `peer`.
fn bird_updates_received(lab: &Lab, peer: &str) -> Option<u64> {
    let text = lab.rtr(0).bird_protocol(peer);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("Import updates:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

#[test]
fn explain_and_admin_verbs_against_bird() {
    let test = "explain_and_admin_verbs_against_bird";
    if !available(test, &[RouterDaemon::Bird]) || !common::require_tool(test, "setpriv") {
        return;
    }
    let mut lab = Lab::new(
        "e2ex",
        LabConfig::new(2)
            .routers(1)
            .annotate(0, "kube-router.io/node.bgp.customimportreject", REFUSED)
            .annotate(0, "kube-router.io/path-prepend.as", "65099")
            .annotate(0, "kube-router.io/path-prepend.repeat-n", "2")
            .annotate(0, "kube-router.io/node.bgp.communities", "65000:100"),
    );
    let cfg = lab
        .router_config(0, 65000, 64512, None)
        .prefix(LEARNED)
        .prefix(REFUSED);
    lab.start_router(0, RouterDaemon::Bird, cfg);
    let r = lab.router(0).ipv4.clone();
    let (n1, n2) = (lab.node(0).ipv4.clone(), lab.node(1).ipv4.clone());
    let pod1 = lab.node(0).pod_cidr4.clone();
    let ips = format!("--peer-router-ips={r}");
    for i in 0..2 {
        lab.start_kube_bgp(
            i,
            &[&ips, "--peer-router-asns=65000", "--advertise-cluster-ip"],
        );
    }
    for (i, other) in [(0, &n2), (1, &n1)] {
        lab.expect_peers(i, &common::lab::checks::set(&[&r, other]), UP);
    }
    let manifest = lab.dir().join("web.yaml");
    std::fs::write(&manifest, SERVICE).unwrap_or_else(|e| panic!("write manifest: {e}"));
    lab.kubectl_ok(&["create", "-f", &manifest.display().to_string()]);

    // A learned prefix: from BIRD, accepted, best as the only path, in the kernel via
    // the router (on the node subnet); not passed to node2 (only a reflector would),
    // not sent back to BIRD.
    let v = explain_until(&lab, 0, LEARNED, |v| {
        v["kernel"]["installed"] == format!("via {r}")
    });
    eprintln!(
        "{test}: explain {LEARNED}:\n{}",
        lab.ctl(0, &["explain", LEARNED])
    );
    let p = &v["paths"][0];
    lab.check(
        p["source"] == r.as_str()
            && p["source_kind"] == "external"
            && p["imported"] == true
            && p["import_rule"] == "accepted"
            && p["as_path"] == "65000"
            && p["best"] == true,
        &format!("learned path: {v:#}"),
    );
    lab.check(
        v["best"]["source"] == r.as_str() && v["best"]["step"] == "only-path",
        &format!("best: {v:#}"),
    );
    lab.check(
        v["kernel"]["wanted"] == format!("via {r}") && v["kernel"]["in_sync"] == true,
        &format!("kernel: {v:#}"),
    );
    let to_n2 = peer(&v, &n2);
    lab.check(
        to_n2["advertised"] == false && to_n2["rule"] == "learned-not-exported",
        &format!("to node2: {to_n2:#}"),
    );
    let to_r = peer(&v, &r);
    lab.check(
        to_r["advertised"] == false && to_r["rule"] == "from-this-peer",
        &format!("to the router: {to_r:#}"),
    );

    // A refused prefix: held, refused by the customimportreject rule, no best path, no
    // kernel route, advertised to nobody. node2 (no annotation) accepts it.
    let v = explain_until(&lab, 0, REFUSED, |v| {
        !v["paths"].as_array().is_none_or(Vec::is_empty)
    });
    eprintln!(
        "{test}: explain {REFUSED}:\n{}",
        lab.ctl(0, &["explain", REFUSED])
    );
    let p = &v["paths"][0];
    lab.check(
        p["imported"] == false
            && p["import_rule"] == "custom-import-reject"
            && p["import_reason"]
                .as_str()
                .is_some_and(|s| s.contains("customimportreject")),
        &format!("refused path: {v:#}"),
    );
    lab.check(
        v["best"].is_null() && v["kernel"]["rule"] == "no-best-path",
        &format!("refused: best/kernel: {v:#}"),
    );
    lab.check(
        v["peers"]
            .as_array()
            .is_some_and(|a| a.iter().all(|x| x["advertised"] == false)),
        &format!("refused: peers: {v:#}"),
    );
    let v2 = explain_until(&lab, 1, REFUSED, |v| v["paths"][0]["imported"] == true);
    lab.check(
        v2["paths"][0]["import_rule"] == "accepted",
        &format!("{v2:#}"),
    );

    // This node's pod CIDR: originated, not in the kernel (a local route), advertised
    // to node2 unchanged and to BIRD with our AS.
    let v = explain_until(&lab, 0, &pod1, |v| {
        peer(v, &r)["advertised"] == true && peer(v, &n2)["advertised"] == true
    });
    eprintln!(
        "{test}: explain {pod1}:\n{}",
        lab.ctl(0, &["explain", &pod1])
    );
    lab.check(
        v["local"]["kind"] == "pod-cidr" && v["paths"][0]["source"] == "local",
        &format!("pod CIDR origin: {v:#}"),
    );
    lab.check(
        v["kernel"]["rule"] == "local-route",
        &format!("pod CIDR kernel: {v:#}"),
    );
    // Towards BIRD with node1's export actions (prepend and communities annotations),
    // towards node2 unchanged.
    let to_r = peer(&v, &r);
    lab.check(
        to_r["as_path"] == "65099 65099 64512"
            && to_r["next_hop"] == n1.as_str()
            && to_r["prepend"] == "65099 x2"
            && to_r["added_communities"] == serde_json::json!(["65000:100"])
            && to_r["communities"] == serde_json::json!(["65000:100"]),
        &format!("pod CIDR to BIRD: {v:#}"),
    );
    let to_n2 = peer(&v, &n2);
    lab.check(
        to_n2["as_path"] == "" && to_n2["prepend"].is_null() && to_n2["local_pref"] == 100,
        &format!("pod CIDR to node2: {v:#}"),
    );
    // BIRD agrees (the AS path; the lab reads communities from GoBGP only).
    let bird_path = lab.rtr(0).wait_route(&pod1, CHANGE);
    lab.check(
        bird_path
            .as_ref()
            .is_some_and(|x| x.as_path == [65099, 65099, 64512]),
        &format!("BIRD's path for node1's pod CIDR: {bird_path:?}"),
    );
    // node2's view of it: learned from node1, accepted by the allow-list, via node1.
    let v = explain_until(&lab, 1, &pod1, |v| {
        v["kernel"]["installed"] == format!("via {n1}")
    });
    lab.check(
        v["paths"][0]["source"] == n1.as_str()
            && v["paths"][0]["source_kind"] == "node"
            && v["paths"][0]["import_rule"] == "accepted",
        &format!("node2 on node1's pod CIDR: {v:#}"),
    );

    // node2's pod CIDR on node1: from node2 (accepted, best, via node2) and reflected
    // back by BIRD with our AS in the path (refused by the RIB's AS loop check).
    let pod2 = lab.node(1).pod_cidr4.clone();
    let v = explain_until(&lab, 0, &pod2, |v| {
        v["paths"].as_array().is_some_and(|a| a.len() == 2)
            && v["kernel"]["installed"] == format!("via {n2}")
    });
    eprintln!(
        "{test}: explain {pod2}:\n{}",
        lab.ctl(0, &["explain", &pod2])
    );
    let from = |src: &str| {
        v["paths"]
            .as_array()
            .and_then(|a| a.iter().find(|p| p["source"] == src))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let (via_n2, via_r) = (from(&n2), from(&r));
    lab.check(
        via_n2["best"] == true
            && via_n2["import_rule"] == "accepted"
            && via_r["imported"] == false
            && via_r["import_rule"] == "as-loop"
            && via_r["as_path"] == "65000 64512"
            && v["best"]["source"] == n2.as_str()
            && v["best"]["step"] == "only-path",
        &format!("node2's pod CIDR on node1: {v:#}"),
    );

    // The VIP, asked by address: node1 advertises it (its endpoint is local) because of
    // the Service and the EndpointSlice named; BIRD gets it, node2 does not (VIPs go to
    // external peers only). node2 has no local endpoint: it does not originate it.
    let v = explain_until(&lab, 0, VIP, |v| peer(v, &r)["advertised"] == true);
    eprintln!("{test}: explain {VIP}:\n{}", lab.ctl(0, &["explain", VIP]));
    let svc = &v["local"]["services"][0];
    lab.check(
        v["prefix"] == format!("{VIP}/32")
            && v["local"]["kind"] == "vip"
            && svc["service"] == "default/web"
            && svc["kind"] == "cluster-ip"
            && svc["annotation"].is_null()
            && svc["endpoint_slice"] == "default/web-x1",
        &format!("VIP origin: {v:#}"),
    );
    lab.check(
        peer(&v, &n2)["rule"] == "vip-to-node",
        &format!("VIP to node2: {v:#}"),
    );
    let v2 = lab
        .ctl_json(1, &["explain", VIP])
        .unwrap_or_else(|e| lab.fail(&e));
    lab.check(
        v2["local"].is_null(),
        &format!("node2 originates the Local VIP: {v2:#}"),
    );
    lab.check(
        lab.rtr(0)
            .wait_route(&format!("{VIP}/32"), CHANGE)
            .is_some(),
        "BIRD never got the VIP",
    );

    // disable with a message: BIRD sees the session closed by an administrative
    // shutdown carrying it; `neighbor` shows the peer disabled; it stays down.
    let msg = "kube-bgp maintenance window 42";
    let out = lab.ctl(0, &["neighbor", &r, "disable", msg]);
    lab.check(out.contains("Cease 6/2"), &out);
    let closed = common::wait_for(CHANGE, || {
        (lab.rtr(0).session(&n1) != SessionState::Established).then_some(())
    });
    lab.check(closed.is_some(), "BIRD still Established after disable");
    let text = common::wait_for(CHANGE, || {
        let t = lab.rtr(0).bird_protocol(&n1);
        t.contains(msg).then_some(t)
    });
    lab.check(
        text.is_some(),
        &format!(
            "BIRD does not show the shutdown message:\n{}",
            lab.rtr(0).bird_protocol(&n1)
        ),
    );
    eprintln!("{test}: BIRD after disable:\n{}", text.unwrap_or_default());
    let row = lab.neighbor_rows(0).into_iter().find(|x| x.address == r);
    lab.check(
        row.as_ref()
            .is_some_and(|x| x.admin_down && x.state != "Established"),
        &format!("neighbor row after disable: {row:?}"),
    );
    let table = lab.ctl(0, &["neighbor"]);
    lab.check(table.contains("Idle(Admin)"), &table);
    let detail = lab.neighbor_detail(0, &r);
    lab.check(
        detail
            .as_ref()
            .is_some_and(|d| d.admin_down.as_deref() == Some(msg)),
        &format!("neighbor detail: {detail:?}"),
    );
    // BIRD keeps retrying; the session stays down for 5 s (no automatic restart).
    std::thread::sleep(Duration::from_secs(5));
    lab.check(
        lab.rtr(0).session(&n1) != SessionState::Established,
        "the disabled session came back by itself",
    );
    lab.check(
        lab.try_ctl(0, &["neighbor", &r, "disable"]).is_err(),
        "disabling twice is not an error",
    );
    let log = lab.log(0);
    lab.check(
        log.lines()
            .any(|l| l.contains(&format!("neighbor {r} disabled")) && l.contains("by uid 0 pid")),
        "the disable is not logged with who asked",
    );

    // enable: Established again on both sides.
    lab.ctl(0, &["neighbor", &r, "enable"]);
    lab.check(
        lab.rtr(0).wait_established(&n1, UP),
        "BIRD not Established after enable",
    );
    lab.expect_peers(0, &common::lab::checks::set(&[&r, &n2]), UP);
    lab.check(
        lab.rtr(0).wait_route(&pod1, CHANGE).is_some(),
        "BIRD lacks node1's pod CIDR after enable",
    );

    // softreset out: BIRD receives our routes again (its update counter grows by at
    // least the two routes we advertise: the pod CIDR and the VIP).
    lab.check(
        lab.rtr(0)
            .wait_route(&format!("{VIP}/32"), CHANGE)
            .is_some(),
        "BIRD lacks the VIP after enable",
    );
    let settled = common::wait_for(CHANGE, || {
        let a = bird_updates_received(&lab, &n1)?;
        std::thread::sleep(Duration::from_millis(500));
        (bird_updates_received(&lab, &n1)? == a).then_some(a)
    });
    let before = settled.unwrap_or_else(|| {
        lab.fail(&format!(
            "no update counter from BIRD:\n{}",
            lab.rtr(0).bird_protocol(&n1)
        ))
    });
    let out = lab.ctl(0, &["neighbor", &r, "softreset", "out"]);
    lab.check(out.contains("soft reset out"), &out);
    let after = common::wait_for(CHANGE, || {
        bird_updates_received(&lab, &n1).filter(|n| *n >= before + 2)
    });
    lab.check(
        after.is_some(),
        &format!(
            "BIRD's received updates did not grow by 2 after softreset out (before {before}):\n{}",
            lab.rtr(0).bird_protocol(&n1)
        ),
    );
    eprintln!(
        "{test}: BIRD import updates received {before} -> {}",
        after.unwrap_or(0)
    );

    // softreset in: BIRD supports route refresh, so a ROUTE-REFRESH goes out and BIRD
    // sends its routes again (our received UPDATE counter grows).
    let sent_refresh = |lab: &Lab| lab.neighbor_detail(0, &r).map(|d| d.messages_sent.refresh);
    let updates_in = |lab: &Lab| {
        lab.neighbor_detail(0, &r)
            .map(|d| d.messages_received.update)
    };
    let (rr0, up0) = (sent_refresh(&lab), updates_in(&lab));
    let out = lab.ctl(0, &["neighbor", &r, "softreset", "in"]);
    lab.check(out.contains("ROUTE-REFRESH sent"), &out);
    let grew = common::wait_for(CHANGE, || {
        (sent_refresh(&lab) > rr0 && updates_in(&lab) > up0).then_some(())
    });
    lab.check(
        grew.is_some(),
        &format!(
            "after softreset in: refresh sent {rr0:?} -> {:?}, updates received {up0:?} -> {:?}",
            sent_refresh(&lab),
            updates_in(&lab)
        ),
    );

    // Permission: an unprivileged user cannot connect to the control socket (0600
    // root), so can neither read nor act.
    let sock = lab.node(0).ctl_socket();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(common::kube_bgp_bin())
        .args(["neighbor", &r, "disable"])
        .arg(format!("--ctl-socket={}", sock.display()))
        .output()
        .unwrap_or_else(|e| panic!("setpriv: {e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    lab.check(
        out.status.code() == Some(1) && err.contains("Permission denied"),
        &format!("unprivileged client: {} {err}", out.status),
    );
    lab.check(
        lab.rtr(0).session(&n1) == SessionState::Established,
        "the unprivileged disable took effect",
    );
    // Second guard: with the socket opened to everyone (an operator's chmod), the same
    // user may read but an admin action is refused by its peer credentials.
    use std::os::unix::fs::PermissionsExt;
    let set_mode = |m: u32| {
        std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(m))
            .unwrap_or_else(|e| panic!("chmod {}: {e}", sock.display()))
    };
    set_mode(0o666);
    let as_nobody = |args: &[&str]| {
        std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(common::kube_bgp_bin())
            .args(args)
            .arg(format!("--ctl-socket={}", sock.display()))
            .output()
            .unwrap_or_else(|e| panic!("setpriv: {e}"))
    };
    let read = as_nobody(&["neighbor"]);
    let act = as_nobody(&["neighbor", &r, "disable"]);
    set_mode(0o600);
    lab.check(
        read.status.success() && String::from_utf8_lossy(&read.stdout).contains(&r),
        &format!("read with the socket open: {read:?}"),
    );
    let err = String::from_utf8_lossy(&act.stderr);
    lab.check(
        act.status.code() == Some(1) && err.contains("refused: uid 65534"),
        &format!("admin action by uid 65534: {} {err}", act.status),
    );
    lab.check(
        lab.log(0)
            .lines()
            .any(|l| l.contains(&format!("neighbor {r} disable refused: asked by uid 65534"))),
        "the refused action is not logged",
    );
    lab.check(
        lab.rtr(0).session(&n1) == SessionState::Established,
        "the refused disable took effect",
    );
}

/// `neighbor ADDR disable MESSAGE` and `enable` against FRR: FRR records the
/// administrative shutdown with its message, and the session comes back on enable;
/// `softreset in` gets FRR's routes again through ROUTE-REFRESH.
#[test]
fn admin_verbs_against_frr() {
    let test = "admin_verbs_against_frr";
    if !available(test, &[RouterDaemon::Frr]) {
        return;
    }
    let mut lab = Lab::new("e2ef", LabConfig::new(1).routers(1));
    let cfg = lab.router_config(0, 65000, 64512, None).prefix(LEARNED);
    lab.start_router(0, RouterDaemon::Frr, cfg);
    let r = lab.router(0).ipv4.clone();
    let n1 = lab.node(0).ipv4.clone();
    lab.start_kube_bgp(
        0,
        &[
            &format!("--peer-router-ips={r}"),
            "--peer-router-asns=65000",
        ],
    );
    lab.expect_peers(0, &common::lab::checks::set(&[&r]), UP);
    lab.check(lab.rtr(0).wait_established(&n1, UP), "FRR not Established");
    explain_until(&lab, 0, LEARNED, |v| v["best"]["source"] == r.as_str());

    let msg = "frr maintenance 7";
    lab.ctl(0, &["neighbor", &r, "disable", msg]);
    // FRR: the session reset by an administrative shutdown, the message in its log.
    let seen = common::wait_for(CHANGE, || {
        let t = lab.rtr(0).frr_neighbor(&n1);
        let log = lab.rtr(0).logs();
        (lab.rtr(0).session(&n1) != SessionState::Established
            && t.contains("Notification received (Cease/Administrative Shutdown")
            && log.contains(msg))
        .then_some(log)
    });
    lab.check(
        seen.is_some(),
        &format!(
            "FRR does not show the shutdown and its message:\n{}\n{}",
            lab.rtr(0).frr_neighbor(&n1),
            lab.rtr(0).logs()
        ),
    );
    eprintln!(
        "{test}: FRR after disable: {}",
        seen.unwrap_or_default()
            .lines()
            .filter(|l| l.contains(msg))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    lab.ctl(0, &["neighbor", &r, "enable"]);
    lab.check(
        lab.rtr(0).wait_established(&n1, UP),
        "FRR not Established after enable",
    );
    explain_until(&lab, 0, LEARNED, |v| v["best"]["source"] == r.as_str());
    let updates_in = |lab: &Lab| {
        lab.neighbor_detail(0, &r)
            .map(|d| (d.messages_sent.refresh, d.messages_received.update))
    };
    let before = updates_in(&lab);
    let out = lab.ctl(0, &["neighbor", &r, "softreset", "in"]);
    lab.check(out.contains("ROUTE-REFRESH sent"), &out);
    let grew = common::wait_for(CHANGE, || {
        let now = updates_in(&lab)?;
        let (r0, u0) = before?;
        (now.0 > r0 && now.1 > u0).then_some(now)
    });
    lab.check(
        grew.is_some(),
        &format!("after softreset in: {before:?} -> {:?}", updates_in(&lab)),
    );
}

/// The kernel side of explain across two subnets (a gateway between them that routes
/// node addresses only): with the overlay on, node2's pod CIDR on node1 goes through a
/// tunnel, or, on a kernel that cannot make one, explain says the tunnel is missing;
/// with `--enable-overlay=false` it says no route is installed because the next hop is
/// off-subnet and the overlay is off.
#[test]
fn explain_kernel_reasons_across_subnets() {
    let test = "explain_kernel_reasons_across_subnets";
    if !common::require_root(test) || !common::apiserver::available(test) {
        return;
    }
    let mut lab = Lab::new("e2ek", LabConfig::new(2).two_subnets(1));
    let n2 = lab.node(1).ipv4.clone();
    let pod2 = lab.node(1).pod_cidr4.clone();
    for i in 0..2 {
        lab.start_kube_bgp(i, &["--enable-overlay=true", "--overlay-type=subnet"]);
    }
    lab.expect_peers(0, &common::lab::checks::set(&[&n2]), UP);
    let v = explain_until(&lab, 0, &pod2, |v| {
        v["kernel"]["in_sync"] == true || v["kernel"]["rule"] == "tunnel-unavailable"
    });
    eprintln!("{test}: overlay on:\n{}", lab.ctl(0, &["explain", &pod2]));
    let k = &v["kernel"];
    if k["rule"] == "tunnel-unavailable" {
        // This kernel cannot make the tunnel: nothing installed, and the log says why.
        lab.check(k["installed"].is_null(), &format!("{v:#}"));
        lab.check(
            lab.log(0).contains("tunnel"),
            "no log line about the missing tunnel",
        );
    } else {
        let wanted = k["wanted"].as_str().unwrap_or_default();
        lab.check(
            wanted.contains(&format!("to {n2}")) && wanted.contains("tunnel"),
            &format!("{v:#}"),
        );
    }
    for i in 0..2 {
        lab.stop_kube_bgp(i);
        lab.start_kube_bgp(i, &["--enable-overlay=false"]);
    }
    lab.expect_peers(0, &common::lab::checks::set(&[&n2]), UP);
    let v = explain_until(&lab, 0, &pod2, |v| {
        v["kernel"]["rule"] == "off-subnet-overlay-off"
    });
    eprintln!("{test}: overlay off:\n{}", lab.ctl(0, &["explain", &pod2]));
    lab.check(
        v["kernel"]["installed"].is_null() && v["paths"][0]["import_rule"] == "accepted",
        &format!("{v:#}"),
    );
}
