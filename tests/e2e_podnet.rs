//! End to end, the pod network on nodes that never ran kube-router (issue 12): bare
//! nodes in namespaces (no forwarding, no kube-bridge, no CNI configuration, iptables'
//! FORWARD policy DROP as Docker sets it), kube-bgp started as users start it, pods
//! given their interfaces by the real CNI reference plugins (bridge, host-local,
//! portmap) with the configuration kube-bgp wrote, and traffic checked by the address
//! the receiver sees: a pod on another node sees the pod's address, a host outside the
//! cluster (no route to pod CIDRs) sees the node's, a node sees the pod's. Then a node
//! joins, and `--cleanup-config` must leave the node as it was. Also: repairs after
//! kube-bridge, its MTU or the rules are changed behind kube-bgp's back; bad CNI files;
//! `--enable-pod-egress=false`; and a node that ran kube-router (its MASQUERADE rule and
//! ipsets installed with Debian's iptables and ipset, nft and legacy backends).
//! Every wait is bounded; measured latencies are printed, never asserted.
mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::lab::checks::timed;
use common::lab::cni::PodAddrs;
use common::lab::{Lab, LabConfig};
use common::{ChildGuard, Netns, require_tool, sh, wait_for};

const UP: Duration = Duration::from_secs(30);
/// Bound for a change that should take well under a second (generous: shared CI).
const FAST: Duration = Duration::from_secs(5);

fn available(test: &str) -> bool {
    common::lab::checks::available(test, &[])
        && common::lab::cni::available(test)
        && ["iptables", "ip6tables", "iptables-legacy", "nft", "ipset"]
            .iter()
            .all(|t| require_tool(test, t))
}

/// A TCP listener in `ns` on `ip:port` that accepts one connection and reports the
/// peer address it saw.
struct OneShotListener {
    child: ChildGuard,
    out: BufReader<std::process::ChildStdout>,
}

const LISTENER: &str = r#"
import socket, sys
ip, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((ip, port))
s.listen(1)
print("READY", flush=True)
s.settimeout(15)
c, a = s.accept()
print(a[0], flush=True)
"#;

const CONNECT: &str = r#"
import socket, sys
socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10).close()
"#;

impl OneShotListener {
    fn start(ns: &Netns, ip: &str, port: u16) -> OneShotListener {
        let mut child = ns
            .command("python3")
            .args(["-c", LISTENER, ip, &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("python3: {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let mut l = OneShotListener {
            child: ChildGuard::new(child, "listener"),
            out: BufReader::new(stdout),
        };
        let mut line = String::new();
        let _ = l.out.read_line(&mut line);
        assert_eq!(
            line.trim(),
            "READY",
            "listener on {ip}:{port} in {}",
            ns.name
        );
        l
    }

    /// The peer address of the one connection (bounded by the listener's own 15 s).
    fn peer(mut self) -> Option<String> {
        let mut line = String::new();
        let _ = self.out.read_line(&mut line);
        let _ = self.child.child.wait();
        let a = line.trim().trim_start_matches("::ffff:").to_string();
        (!a.is_empty()).then_some(a)
    }
}

/// Connects from `from` to `ip:port`; the source address the listener in `to` saw.
fn seen_source(from: &Netns, to: &Netns, ip: &str, port: u16) -> Option<String> {
    let l = OneShotListener::start(to, ip, port);
    let out = from
        .command("python3")
        .args(["-c", CONNECT, ip, &port.to_string()])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    if !out.status.success() {
        eprintln!(
            "connect {} -> {ip}:{port} failed: {}",
            from.name,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
    }
    l.peer()
}

/// The interface holding `ip` in `ns`.
fn interface_of(ns: &str, ip: &str) -> String {
    sh(&format!("ip -n {ns} -o addr show"))
        .lines()
        .find(|l| l.contains(&format!(" {ip}/")))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("no interface holds {ip} in {ns}"))
        .to_string()
}

/// What `--cleanup-config` must restore: links, routes, nexthop objects, rules, the
/// nftables ruleset.
/// IPv6 `anycast` routes are left out: they are the kernel's subnet-router anycast
/// addresses, present while IPv6 forwarding is on, and the forwarding sysctls are
/// deliberately not turned back off (other software may need them).
fn host_state(ns: &str) -> String {
    sh(&format!(
        "echo '# ip link'; ip -n {ns} -br link; \
         echo '# ip route'; ip -n {ns} -4 route show table all; \
         echo '# ip -6 route'; ip -n {ns} -6 route show table all | grep -v '^anycast '; \
         echo '# ip nexthop'; ip -n {ns} nexthop show; \
         echo '# ip rule'; ip -n {ns} rule; ip -n {ns} -6 rule; \
         echo '# nft'; ip netns exec {ns} nft list ruleset"
    ))
}

fn sysctl(ns: &str, key: &str) -> String {
    sh(&format!("ip netns exec {ns} cat /proc/sys/{key}"))
        .trim()
        .to_string()
}

/// Waits until node `i`'s CNI configuration has exactly `ranges`; returns it.
fn wait_cni(lab: &Lab, i: usize, ranges: &[String]) -> serde_json::Value {
    let want: Vec<serde_json::Value> = ranges
        .iter()
        .map(|r| serde_json::json!([{ "subnet": r }]))
        .collect();
    let got = wait_for(UP, || {
        let c = lab.cni_conf_json(i)?;
        (c["plugins"][0]["ipam"]["ranges"] == serde_json::Value::Array(want.clone())).then_some(c)
    });
    got.unwrap_or_else(|| {
        lab.fail(&format!(
            "node{}: CNI configuration never got ranges {ranges:?}: {:?}",
            i + 1,
            lab.cni_conf_json(i)
        ))
    })
}

fn pod_ranges(lab: &Lab, i: usize) -> Vec<String> {
    let n = lab.node(i);
    let mut r = vec![n.pod_cidr4.clone()];
    r.extend(n.pod_cidr6.clone());
    r
}

/// CNI ADD of node `i`'s pod; checks the addresses come from the node's pod CIDRs.
fn add_pod(lab: &Lab, i: usize) -> PodAddrs {
    let n = lab.node(i);
    let a = lab
        .cni_add(i, &n.pod, &format!("pod{}", i + 1))
        .unwrap_or_else(|e| lab.fail(&e));
    let v4 =
        a.v4.clone()
            .unwrap_or_else(|| lab.fail("no IPv4 address from CNI"));
    let prefix4 = n.pod_cidr4.trim_end_matches("0/24");
    lab.check(
        v4.starts_with(prefix4),
        &format!("pod address {v4} outside {}", n.pod_cidr4),
    );
    if let Some(c6) = &n.pod_cidr6 {
        let v6 =
            a.v6.clone()
                .unwrap_or_else(|| lab.fail("no IPv6 address from CNI"));
        lab.check(
            v6.starts_with(c6.trim_end_matches("::/64")),
            &format!("pod address {v6} outside {c6}"),
        );
    }
    eprintln!("node{}: pod got {:?} {:?}", i + 1, a.v4, a.v6);
    a
}

/// Docker's FORWARD policy on a node (both families).
fn forward_drop(lab: &Lab, i: usize) {
    lab.node(i)
        .ns
        .sh("iptables -P FORWARD DROP && ip6tables -P FORWARD DROP");
}

fn expect_source(lab: &Lab, what: &str, from: &Netns, to: &Netns, ip: &str, want: &str, port: u16) {
    let got = seen_source(from, to, ip, port);
    lab.check(
        got.as_deref() == Some(want),
        &format!("{what}: {ip} saw source {got:?}, expected {want}"),
    );
    eprintln!("{what}: {ip} saw {want}");
}

/// The whole story on fresh nodes, IPv4 only or dual-stack.
fn fresh_nodes(test: &str, tag: &str, dual: bool) {
    if !available(test) {
        return;
    }
    let mut cfg = LabConfig::new(3).bare().routers(1).unregistered();
    if dual {
        cfg = cfg.dual_stack();
    }
    let mut lab = Lab::new(tag, cfg);
    for i in 0..3 {
        forward_drop(&lab, i);
    }
    // Node 1's interface gets a smaller MTU: --auto-mtu must carry it to the bridge and
    // the CNI configuration.
    let ns0 = lab.node(0).ns.name.clone();
    let if0 = interface_of(&ns0, &lab.node(0).ipv4);
    sh(&format!("ip -n {ns0} link set dev {if0} mtu 1400"));
    // The kernel's own link-local addresses must have finished duplicate address
    // detection, or they would appear between the two snapshots.
    let settled = wait_for(FAST, || {
        sh(&format!("ip -n {ns0} -6 addr show tentative"))
            .trim()
            .is_empty()
            .then_some(())
    });
    lab.check(settled.is_some(), "IPv6 addresses still tentative");
    let before = host_state(&ns0);
    lab.check(
        !before.contains("kube-bridge") && !lab.node(0).cni_conf().exists(),
        "the node is not bare",
    );
    lab.check(
        sysctl(&ns0, "net/ipv4/ip_forward") == "0",
        "forwarding already on",
    );

    lab.register_node(0, &[]);
    lab.register_node(1, &[]);
    lab.start_kube_bgp(0, &[]);
    lab.start_kube_bgp(1, &[]);
    for i in 0..2 {
        lab.check(lab.wait_established(i, 1, UP), "sessions");
    }

    // The CNI configuration: kube-router's default, ranges and MTU filled in.
    let conf = wait_cni(&lab, 0, &pod_ranges(&lab, 0));
    let bridge = &conf["plugins"][0];
    lab.check(
        bridge["type"] == "bridge" && bridge["bridge"] == "kube-bridge" && bridge["mtu"] == 1400,
        &format!("CNI configuration: {conf}"),
    );
    lab.check(
        conf["plugins"][1]["type"] == "portmap",
        &format!("portmap missing: {conf}"),
    );
    wait_cni(&lab, 1, &pod_ranges(&lab, 1));
    lab.check(
        lab.log(0)
            .contains("did not exist: wrote kube-router's default CNI configuration"),
        "the log does not say the default configuration was written",
    );
    // kube-bridge: up, MTU of the node interface, no address from kube-bgp.
    let br = wait_for(FAST, || {
        let out = sh(&format!(
            "ip -n {ns0} -d link show dev kube-bridge 2>/dev/null || true"
        ));
        (out.contains("mtu 1400") && out.contains(",UP")).then_some(out)
    });
    lab.check(br.is_some(), "kube-bridge not up with MTU 1400");
    lab.check(
        sh(&format!("ip -n {ns0} -4 addr show dev kube-bridge"))
            .trim()
            .is_empty(),
        "kube-bgp gave kube-bridge an address",
    );
    lab.check(
        sysctl(&ns0, "net/ipv4/ip_forward") == "1",
        "ip_forward not set",
    );
    lab.check(
        sysctl(&ns0, "net/bridge/bridge-nf-call-iptables") == "1",
        "bridge-nf-call-iptables not set",
    );
    if dual {
        lab.check(
            sysctl(&ns0, "net/ipv6/conf/all/forwarding") == "1",
            "IPv6 forwarding not set",
        );
    }
    // kube-router's three FORWARD rules, readable by iptables.
    let rules = wait_for(FAST, || {
        let r = lab.node(0).ns.sh("iptables -S FORWARD");
        (r.matches("-j ACCEPT").count() == 3).then_some(r)
    })
    .unwrap_or_else(|| lab.fail("FORWARD accept rules missing"));
    for want in [
        "-A FORWARD -i kube-bridge -m comment --comment \"allow outbound traffic from pods\" -j ACCEPT",
        "-A FORWARD -o kube-bridge -m comment --comment \"allow inbound traffic to pods\" -j ACCEPT",
        &format!(
            "-A FORWARD -o {if0} -m comment --comment \"allow outbound node port traffic on node interface with which node ip is associated\" -j ACCEPT"
        ),
    ] {
        lab.check(
            rules.contains(want),
            &format!("missing {want} in:\n{rules}"),
        );
    }

    // Pods, addressed by the real plugins from the configuration kube-bgp wrote.
    let p0 = add_pod(&lab, 0);
    let p1 = add_pod(&lab, 1);
    let (pod0, pod1) = (&lab.node(0).pod, &lab.node(1).pod);
    let v4_0 = p0.v4.clone().unwrap_or_default();
    let v4_1 = p1.v4.clone().unwrap_or_default();
    let outside = lab.router(0);
    expect_source(&lab, "pod1 -> pod2", pod0, pod1, &v4_1, &v4_0, 8001);
    expect_source(&lab, "pod2 -> pod1", pod1, pod0, &v4_0, &v4_1, 8002);
    expect_source(
        &lab,
        "pod1 -> outside host",
        pod0,
        &outside.ns,
        &outside.ipv4,
        &lab.node(0).ipv4,
        8003,
    );
    expect_source(
        &lab,
        "pod1 -> node2",
        pod0,
        &lab.node(1).ns,
        &lab.node(1).ipv4,
        &v4_0,
        8004,
    );
    // A second pod on node1: traffic between pods on one bridge goes through iptables
    // (bridge netfilter, which kube-bgp turned on) and the FORWARD policy DROP.
    let pod0b = Netns::new(&format!("{tag}x"));
    let p0b = lab
        .cni_add(0, &pod0b, "pod1b")
        .unwrap_or_else(|e| lab.fail(&e));
    let v4_0b = p0b.v4.clone().unwrap_or_default();
    expect_source(
        &lab,
        "pod1b -> pod1 (same node)",
        &pod0b,
        pod0,
        &v4_0,
        &v4_0b,
        8010,
    );
    if dual {
        let (a, b) = (
            p0.v6.clone().unwrap_or_default(),
            p1.v6.clone().unwrap_or_default(),
        );
        let out6 = outside.ipv6.clone().unwrap_or_default();
        let node0_6 = lab.node(0).ipv6.clone().unwrap_or_default();
        expect_source(&lab, "pod1 -> pod2 (IPv6)", pod0, pod1, &b, &a, 8005);
        expect_source(
            &lab,
            "pod1 -> outside host (IPv6)",
            pod0,
            &outside.ns,
            &out6,
            &node0_6,
            8006,
        );
    }

    // A node joins: every node's egress sets follow at once (timed from the moment the
    // API server has the Node object).
    lab.register_node(2, &[]);
    let t0 = Instant::now();
    let cidr2 = lab.node(2).pod_cidr4.clone();
    let seen = timed(FAST, || {
        lab.node(0)
            .ns
            .sh("nft list set inet kube-bgp pod-cidrs-v4")
            .contains(&cidr2)
    });
    lab.check(
        seen.is_some(),
        "node3's pod CIDR never reached node1's egress set",
    );
    eprintln!(
        "node1: node3's pod CIDR in the egress set {:?} after the Node was created",
        t0.elapsed()
    );
    lab.start_kube_bgp(2, &[]);
    lab.check(lab.wait_established(2, 2, UP), "node3 sessions");
    wait_cni(&lab, 2, &pod_ranges(&lab, 2));
    let p2 = add_pod(&lab, 2);
    let v4_2 = p2.v4.clone().unwrap_or_default();
    let (pod0, pod1, pod2) = (&lab.node(0).pod, &lab.node(1).pod, &lab.node(2).pod);
    let outside = lab.router(0);
    expect_source(
        &lab,
        "pod1 -> pod3 (joined later)",
        pod0,
        pod2,
        &v4_2,
        &v4_0,
        8007,
    );
    expect_source(&lab, "pod3 -> pod2", pod2, pod1, &v4_1, &v4_2, 8008);
    expect_source(
        &lab,
        "pod3 -> outside host",
        pod2,
        &outside.ns,
        &outside.ipv4,
        &lab.node(2).ipv4,
        8009,
    );

    // --cleanup-config: pods gone first (the runtime's job), then kube-bgp stopped, then
    // the node is exactly as before kube-bgp started.
    lab.cni_del(0, pod0, "pod1", &p0)
        .unwrap_or_else(|e| lab.fail(&e));
    lab.cni_del(0, &pod0b, "pod1b", &p0b)
        .unwrap_or_else(|e| lab.fail(&e));
    lab.stop_kube_bgp(0);
    let (cleaned, log) = lab.cleanup_config(0);
    lab.check(cleaned, &format!("--cleanup-config failed: {log}"));
    let after = host_state(&ns0);
    if after != before {
        lab.fail(&format!(
            "--cleanup-config left the node changed.\n---- before\n{before}\n---- after\n{after}\n---- cleanup log\n{log}"
        ));
    }
}

#[test]
fn fresh_ipv4_nodes_run_pods() {
    fresh_nodes("fresh_ipv4_nodes_run_pods", "pn4", false);
}

#[test]
fn fresh_dual_stack_nodes_run_pods() {
    fresh_nodes("fresh_dual_stack_nodes_run_pods", "pn6", true);
}

/// Changes behind kube-bgp's back are repaired at once (through the link and nftables
/// change notifications, not the five-minute safety net): kube-bridge deleted, its MTU
/// changed, the egress table flushed away, the FORWARD rules flushed.
#[test]
fn host_changes_are_repaired() {
    let test = "host_changes_are_repaired";
    if !available(test) {
        return;
    }
    let mut lab = Lab::new("pnr", LabConfig::new(1).bare());
    forward_drop(&lab, 0);
    lab.start_kube_bgp(0, &[]);
    let ns = lab.node(0).ns.name.clone();
    let link = |ns: &str| {
        sh(&format!(
            "ip -n {ns} link show dev kube-bridge 2>/dev/null || true"
        ))
    };
    lab.check(
        timed(UP, || link(&ns).contains("mtu 1500")).is_some(),
        "kube-bridge never appeared",
    );
    wait_cni(&lab, 0, &pod_ranges(&lab, 0));

    sh(&format!("ip -n {ns} link del kube-bridge"));
    let t = timed(FAST, || link(&ns).contains("kube-bridge"));
    lab.check(t.is_some(), "kube-bridge not recreated");
    eprintln!("kube-bridge recreated {t:?} after its deletion");

    sh(&format!("ip -n {ns} link set dev kube-bridge mtu 1300"));
    let t = timed(FAST, || link(&ns).contains("mtu 1500"));
    lab.check(t.is_some(), "kube-bridge MTU not restored");
    eprintln!("kube-bridge MTU restored {t:?} after the change");

    let table = |ns: &str| {
        sh(&format!(
            "ip netns exec {ns} nft list table inet kube-bgp 2>/dev/null || true"
        ))
    };
    lab.check(table(&ns).contains("masquerade"), "no egress table");
    sh(&format!(
        "ip netns exec {ns} nft delete table inet kube-bgp"
    ));
    let t = timed(FAST, || table(&ns).contains("masquerade fully-random"));
    lab.check(t.is_some(), "egress table not restored");
    eprintln!("egress table restored {t:?} after its deletion");

    lab.node(0).ns.sh("iptables -F FORWARD");
    let t = timed(FAST, || {
        lab.node(0)
            .ns
            .sh("iptables -S FORWARD")
            .matches("-j ACCEPT")
            .count()
            == 3
    });
    lab.check(t.is_some(), "FORWARD rules not restored");
    eprintln!("FORWARD accept rules restored {t:?} after a flush");
    let exited = lab.kube_bgp_exited(0);
    lab.check(exited.is_none(), &format!("kube-bgp exited: {exited:?}"));
}

/// Bad CNI files cost nothing but one log line: the file stays untouched, BGP runs; once
/// fixed, the file gets its ranges (on the safety net, here 2 s). With
/// `--enable-pod-egress=false` the egress table is removed.
#[test]
fn bad_cni_file_and_egress_off() {
    let test = "bad_cni_file_and_egress_off";
    if !available(test) {
        return;
    }
    let mut lab = Lab::new("pnb", LabConfig::new(2).bare());
    let path = lab.node(0).cni_conf();
    std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
    std::fs::write(&path, "{ this is not json").expect("write");
    lab.start_all(&["--routes-sync-period=2s"], 1, UP);
    let logged = wait_for(UP, || {
        lab.log(0)
            .lines()
            .find(|l| l.contains(&path.display().to_string()) && l.contains("not valid JSON"))
            .map(str::to_string)
    });
    lab.check(logged.is_some(), "no log line naming the bad CNI file");
    std::thread::sleep(Duration::from_secs(5));
    lab.check(
        std::fs::read_to_string(&path).expect("read") == "{ this is not json",
        "the bad CNI file was changed",
    );
    let n = lab
        .log(0)
        .lines()
        .filter(|l| l.contains("not valid JSON"))
        .count();
    lab.check(
        n == 1,
        &format!("the problem was logged {n} times, not once"),
    );
    lab.check(lab.established(0) == 1, "BGP stopped over a bad CNI file");

    // A valid file without a bridge plugin: named problem, untouched.
    let flannel = r#"{"cniVersion":"0.3.1","name":"x","plugins":[{"type":"flannel"}]}"#;
    std::fs::write(&path, flannel).expect("write");
    lab.check(
        wait_for(UP, || {
            lab.log(0)
                .contains("no plugin of \"type\": \"bridge\"")
                .then_some(())
        })
        .is_some(),
        "no log line for the missing bridge plugin",
    );
    lab.check(
        std::fs::read_to_string(&path).expect("read") == flannel,
        "changed",
    );

    // Fixed (kube-router's manifest conflist, no ranges): rewritten with the ranges,
    // mode kept, unknown fields kept.
    let manifest = r#"{"cniVersion":"0.3.0","name":"mynet","custom":7,"plugins":[{"name":"kubernetes","type":"bridge","bridge":"kube-bridge","isDefaultGateway":true,"ipam":{"type":"host-local","subnet":"10.99.0.0/24"}}]}"#;
    std::fs::write(&path, manifest).expect("write");
    sh(&format!("chmod 600 {}", path.display()));
    let conf = wait_cni(&lab, 0, &pod_ranges(&lab, 0));
    lab.check(conf["custom"] == 7, "unknown field lost");
    lab.check(
        conf["plugins"][0]["ipam"].get("subnet").is_none(),
        "legacy subnet kept",
    );
    let mode = sh(&format!("stat -c %a {}", path.display()));
    lab.check(mode.trim() == "600", &format!("mode changed to {mode}"));

    // Egress off: the table goes.
    let ns = lab.node(1).ns.name.clone();
    let has_table = || {
        common::run(&format!("ip netns exec {ns} nft list table inet kube-bgp"))
            .status
            .success()
    };
    lab.check(
        wait_for(UP, || has_table().then_some(())).is_some(),
        "no egress table",
    );
    lab.stop_kube_bgp(1);
    lab.start_kube_bgp(1, &["--enable-pod-egress=false"]);
    lab.check(
        wait_for(UP, || (!has_table()).then_some(())).is_some(),
        "--enable-pod-egress=false did not remove the table",
    );
}

/// kube-router's MASQUERADE rule and ipsets, installed exactly as it writes them with
/// Debian's iptables (nft backend) on node1 and iptables-legacy on node2, with members
/// for the nodes that exist then. A node that joins afterwards must still get pod
/// traffic with the pods' source addresses: on node1 kube-bgp removes kube-router's
/// rule and sets; on node2 (legacy, which it cannot edit) it keeps the sets up to date.
#[test]
fn migrated_node_does_not_masquerade_pods_of_new_nodes() {
    let test = "migrated_node_does_not_masquerade_pods_of_new_nodes";
    if !available(test) {
        return;
    }
    let mut lab = Lab::new("pnm", LabConfig::new(3).bare().unregistered());
    let mut kube_router = String::from(
        "ipset create kube-router-pod-subnets hash:net timeout 0 && \
         ipset create kube-router-node-ips hash:ip timeout 0 && \
         ipset create inet6:kube-router-pod-subnets hash:net family inet6 timeout 0 && \
         ipset create inet6:kube-router-node-ips hash:ip family inet6 timeout 0",
    );
    for j in 0..2 {
        let n = lab.node(j);
        kube_router.push_str(&format!(
            " && ipset add kube-router-pod-subnets {} timeout 0 && ipset add kube-router-node-ips {} timeout 0",
            n.pod_cidr4, n.ipv4
        ));
    }
    let rule = "-t nat -A POSTROUTING -m set --match-set kube-router-pod-subnets src \
                -m set ! --match-set kube-router-pod-subnets dst \
                -m set ! --match-set kube-router-node-ips dst -j MASQUERADE --random-fully";
    let old_rule = "-t nat -A POSTROUTING -m set --match-set kube-router-pod-subnets src \
                    -m set ! --match-set kube-router-pod-subnets dst -j MASQUERADE";
    let rule6 = "-t nat -A POSTROUTING -m set --match-set inet6:kube-router-pod-subnets src \
                 -m set ! --match-set inet6:kube-router-pod-subnets dst \
                 -m set ! --match-set inet6:kube-router-node-ips dst -j MASQUERADE --random-fully";
    lab.node(0).ns.sh(&format!(
        "{kube_router} && iptables {rule} && iptables {old_rule} && ip6tables {rule6}"
    ));
    lab.node(1)
        .ns
        .sh(&format!("{kube_router} && iptables-legacy {rule}"));
    for i in 0..2 {
        lab.register_node(i, &[]);
        lab.start_kube_bgp(i, &[]);
    }
    for i in 0..2 {
        lab.check(lab.wait_established(i, 1, UP), "sessions");
        wait_cni(&lab, i, &pod_ranges(&lab, i));
    }
    // node1 (nft backend): rules and sets gone.
    let gone = wait_for(UP, || {
        let nat = lab
            .node(0)
            .ns
            .sh("iptables -t nat -S POSTROUTING; ip6tables -t nat -S POSTROUTING");
        let sets = lab.node(0).ns.sh("ipset list -n");
        (!nat.contains("kube-router") && sets.trim().is_empty()).then_some(())
    });
    lab.check(
        gone.is_some(),
        "kube-router's rules or ipsets left on node1",
    );

    // A node joins.
    lab.register_node(2, &[]);
    lab.start_kube_bgp(2, &[]);
    lab.check(lab.wait_established(2, 2, UP), "node3 sessions");
    wait_cni(&lab, 2, &pod_ranges(&lab, 2));
    // node2 (legacy rule still there): its set learned node3's pod CIDR.
    let cidr2 = lab.node(2).pod_cidr4.clone();
    let learned = wait_for(UP, || {
        lab.node(1)
            .ns
            .sh("ipset list kube-router-pod-subnets")
            .contains(&cidr2)
            .then_some(())
    });
    lab.check(
        learned.is_some(),
        "node2: kube-router's set never learned node3's CIDR",
    );
    lab.check(
        lab.node(1)
            .ns
            .sh("iptables-legacy -t nat -S POSTROUTING")
            .contains("kube-router-pod-subnets"),
        "the legacy rule is gone (it cannot have been removed by kube-bgp)",
    );
    let p: Vec<PodAddrs> = (0..3).map(|i| add_pod(&lab, i)).collect();
    let v4 = |i: usize| p[i].v4.clone().unwrap_or_default();
    let (pod0, pod1, pod2) = (&lab.node(0).pod, &lab.node(1).pod, &lab.node(2).pod);
    expect_source(
        &lab,
        "migrated nft node: pod1 -> pod3",
        pod0,
        pod2,
        &v4(2),
        &v4(0),
        8101,
    );
    expect_source(
        &lab,
        "migrated legacy node: pod2 -> pod3",
        pod1,
        pod2,
        &v4(2),
        &v4(1),
        8102,
    );
    expect_source(&lab, "pod3 -> pod1", pod2, pod0, &v4(0), &v4(2), 8103);
    // Clean-up also says what it cannot do on the legacy node, and does the rest.
    lab.stop_kube_bgp(1);
    let (cleaned, log) = lab.cleanup_config(1);
    lab.check(
        !cleaned && log.contains("iptables-legacy"),
        &format!("cleanup on the legacy node: {log}"),
    );
    lab.check(
        !common::run(&format!(
            "ip netns exec {} nft list table inet kube-bgp",
            lab.node(1).ns.name
        ))
        .status
        .success(),
        "cleanup left the egress table",
    );
    lab.node(1).ns.sh("iptables-legacy -t nat -F POSTROUTING");
}
