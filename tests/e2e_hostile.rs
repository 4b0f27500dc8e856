//! Hostile input end to end (issue 14 items 1, 5 and 8), on the real multi-node lab:
//! a rogue "node" (a GoBGP router holding a Node object) announcing everything a node
//! must not, a ToR announcing special-purpose space next to legitimate routes, a YAML
//! alias bomb in a node's `kube-router.io/peers`, and planted passwords that must never
//! show in logs, metrics, CLI output or errors. Plus the process hardening (not
//! dumpable, loud warning on `insecure-skip-tls-verify`).
mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::lab::checks::available;
use common::lab::{Lab, LabConfig};
use common::routers::RouterDaemon;
use common::{Netns, kube_bgp_bin, wait_for};

const UP: Duration = Duration::from_secs(40);
const METRICS: &str = "--metrics-port=20300";

/// Passwords planted in the passwords file and in an annotation (and their base64).
const FILE_SECRET: &str = "PlantedSecret-7f3a";
const ANNOTATION_SECRET: &str = "AnnotSecret-91c2";

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// The prefixes of node `i`'s protocol-17 routes (both families).
fn kernel_prefixes(lab: &Lab, i: usize) -> BTreeSet<String> {
    lab.kernel_routes(i)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

fn metrics(lab: &Lab, i: usize) -> String {
    lab.node(i)
        .ns
        .sh("curl -s -m 5 http://127.0.0.1:20300/metrics")
}

/// `kube_bgp_import_refused_total{reason="R"}` on node `i`.
fn refused(lab: &Lab, i: usize, reason: &str) -> u64 {
    let key = format!("kube_bgp_import_refused_total{{reason=\"{reason}\"}} ");
    metrics(lab, i)
        .lines()
        .find_map(|l| l.strip_prefix(&key)?.trim().parse().ok())
        .unwrap_or(0)
}

/// A rogue node and a ToR announce what they should not, next to what they may; every
/// node installs exactly the allowed routes (IPv4 and IPv6), counts each refusal by
/// reason and logs each (peer, prefix) once. Then a YAML alias bomb on node2, and the
/// planted passwords searched for everywhere.
#[test]
fn hostile_peers_annotations_and_planted_passwords() {
    let test = "hostile_peers_annotations_and_planted_passwords";
    if !available(test, &[RouterDaemon::Gobgp]) || !common::require_tool(test, "curl") {
        return;
    }
    let mut lab = Lab::new("e2hx", LabConfig::new(2).routers(2).dual_stack());
    let (rogue4, rogue6) = (
        lab.router(0).ipv4.clone(),
        lab.router(0).ipv6.clone().expect("dual-stack router"),
    );
    let (tor4, tor6) = (
        lab.router(1).ipv4.clone(),
        lab.router(1).ipv6.clone().expect("dual-stack router"),
    );
    // The rogue "node": a Node object with the router's addresses and its own pod CIDRs.
    lab.api().create(
        "/api/v1/nodes",
        &format!(
            "{{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{{\"name\":\"rogue\"}},\
             \"spec\":{{\"podCIDR\":\"10.244.50.0/24\",\"podCIDRs\":[\"10.244.50.0/24\",\"fd00:244:50::/64\"]}},\
             \"status\":{{\"addresses\":[{{\"type\":\"InternalIP\",\"address\":\"{rogue4}\"}},\
             {{\"type\":\"InternalIP\",\"address\":\"{rogue6}\"}}]}}}}"
        ),
    );
    let cfg = lab.router_config(0, 64512, 64512, None);
    lab.start_router(0, RouterDaemon::Gobgp, cfg);
    // The ToR: node1's session keyed with the password from a private file (a global
    // peer), node2's with another password from its annotations (a node's own peer).
    let tor_cfg = common::routers::RouterConfig::new(65001, &tor4)
        .listen(&tor4)
        .neighbor(
            common::routers::Neighbor::new(&lab.node(0).ipv4, 64512)
                .families(true, true)
                .password(FILE_SECRET),
        )
        .neighbor(
            common::routers::Neighbor::new(&lab.node(1).ipv4, 64512)
                .families(true, true)
                .password(ANNOTATION_SECRET),
        );
    lab.start_router(1, RouterDaemon::Gobgp, tor_cfg);
    let pwfile = lab.dir().join("pw");
    std::fs::write(&pwfile, b64(FILE_SECRET)).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pwfile, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    lab.annotate(1, "kube-router.io/peer.ips", &tor4);
    lab.annotate(1, "kube-router.io/peer.asns", "65001");
    lab.annotate(1, "kube-router.io/peer.passwords", &b64(ANNOTATION_SECRET));
    let common_flags = [
        "--enable-ipv6=true".to_string(),
        METRICS.to_string(),
        "--metrics-addr=127.0.0.1".to_string(),
    ];
    let mut node1_flags = vec![
        format!("--peer-router-ips={tor4}"),
        "--peer-router-asns=65001".to_string(),
        format!("--peer-router-passwords-file={}", pwfile.display()),
    ];
    node1_flags.extend(common_flags.iter().cloned());
    let flags: Vec<&str> = node1_flags.iter().map(String::as_str).collect();
    let flags2: Vec<&str> = common_flags.iter().map(String::as_str).collect();
    lab.start_kube_bgp(0, &flags);
    lab.start_kube_bgp(1, &flags2);
    for i in 0..2 {
        // node, rogue, ToR (keyed: Established proves each password is in use).
        let up = lab.wait_established(i, 3, UP);
        lab.check(
            up,
            &format!("node{}: sessions {:?}", i + 1, lab.neighbors_json(i)),
        );
    }
    let (n1, n2) = (lab.node(0).ipv4.clone(), lab.node(1).ipv4.clone());
    let api = lab.api_ip();
    let sub = lab.subnet4();
    let more_specific = format!("{}/25", sub.split('/').next().unwrap_or_default());
    let announce = |lab: &mut Lab, j: usize, afi: &str, p: &str, nh: &str| {
        let out = lab
            .routers_mut(j)
            .gobgp_cli(&["global", "rib", "add", "-a", afi, p, "nexthop", nh]);
        if let Err(e) = out {
            lab.fail(&format!("gobgp add {p}: {e}"));
        }
    };
    // The rogue: its own pod CIDRs (allowed) and everything else (refused).
    let rogue_ok = ["10.244.50.0/24", "fd00:244:50::/64"];
    let rogue_bad: Vec<(String, &str)> = vec![
        ("0.0.0.0/1".into(), "not-a-pod-cidr"),
        ("128.0.0.0/1".into(), "not-a-pod-cidr"),
        ("10.244.99.0/24".into(), "not-a-pod-cidr"),
        ("10.244.2.0/24".into(), "not-the-owner"),
        ("169.254.169.254/32".into(), "link-local"),
        ("127.0.0.0/8".into(), "loopback"),
        ("224.0.0.0/24".into(), "multicast"),
        (format!("{n2}/32"), "connected-subnet"),
        (format!("{api}/32"), "connected-subnet"),
        ("fd00:244:99::/64".into(), "not-a-pod-cidr"),
        ("fd00:244:2::/64".into(), "not-the-owner"),
        ("2001:db8::/32".into(), "not-a-pod-cidr"),
        ("fe80::/64".into(), "link-local"),
        ("ff02::/16".into(), "multicast"),
    ];
    for p in rogue_ok
        .iter()
        .map(|s| s.to_string())
        .chain(rogue_bad.iter().map(|(p, _)| p.clone()))
    {
        let (afi, nh) = if p.contains(':') {
            ("ipv6", rogue6.as_str())
        } else {
            ("ipv4", rogue4.as_str())
        };
        announce(&mut lab, 0, afi, &p, nh);
    }
    // The ToR: other racks' routes (allowed, D5) and special space (refused).
    let tor_ok = ["10.244.77.0/24", "198.51.100.0/24", "2001:db8:77::/48"];
    let tor_bad: Vec<(String, &str)> = vec![
        ("169.254.169.254/32".into(), "link-local"),
        (more_specific.clone(), "connected-subnet"),
        ("fe80::/64".into(), "link-local"),
        ("ff02::/16".into(), "multicast"),
    ];
    for p in tor_ok
        .iter()
        .map(|s| s.to_string())
        .chain(tor_bad.iter().map(|(p, _)| p.clone()))
    {
        let (afi, nh) = if p.contains(':') {
            ("ipv6", tor6.as_str())
        } else {
            ("ipv4", tor4.as_str())
        };
        announce(&mut lab, 1, afi, &p, nh);
    }
    // Every node: exactly the allowed routes, via the right next hops.
    for i in 0..2 {
        let other = 1 - i;
        let mut want: BTreeSet<String> = rogue_ok
            .iter()
            .chain(tor_ok.iter())
            .map(|s| s.to_string())
            .collect();
        want.insert(lab.node(other).pod_cidr4.clone());
        want.insert(lab.node(other).pod_cidr6.clone().unwrap_or_default());
        let got = wait_for(UP, || {
            let k = kernel_prefixes(&lab, i);
            (k == want).then_some(k)
        });
        lab.check(
            got.is_some(),
            &format!(
                "node{}: kernel prefixes {:?}, want {want:?}",
                i + 1,
                kernel_prefixes(&lab, i)
            ),
        );
        lab.expect_via(i, "10.244.50.0/24", &rogue4, Duration::from_secs(1));
        lab.expect_via(i, "10.244.77.0/24", &tor4, Duration::from_secs(1));
        lab.expect_via(
            i,
            &lab.node(other).pod_cidr4.clone(),
            &lab.node(other).ipv4.clone(),
            Duration::from_secs(1),
        );
        // The refusals: logged once per (peer, prefix), counted by reason.
        let log = lab.log(i);
        for (peer, bad) in [(&rogue4, &rogue_bad), (&tor4, &tor_bad)] {
            for (p, reason) in bad.iter() {
                // The node's own address is refused as such, not as connected.
                if (i == 1 && p == &format!("{n2}/32")) || (i == 0 && p == &format!("{n1}/32")) {
                    continue;
                }
                // Another node's pod CIDR is this node's own on that node.
                let own = [
                    lab.node(i).pod_cidr4.clone(),
                    lab.node(i).pod_cidr6.clone().unwrap_or_default(),
                ];
                let reason = if own.contains(p) {
                    "own-pod-cidr"
                } else {
                    reason
                };
                let line = format!("peer {peer}: {p} not imported: ");
                let n = log.matches(&line).count();
                lab.check(n == 1, &format!("node{}: {line:?} logged {n} times", i + 1));
                lab.check(
                    refused(&lab, i, reason) >= 1,
                    &format!("node{}: no {reason} refusal counted", i + 1),
                );
            }
        }
        lab.check(
            refused(&lab, i, "not-a-pod-cidr") >= 5 && refused(&lab, i, "link-local") >= 4,
            &format!("node{}: refusal counts:\n{}", i + 1, metrics(&lab, i)),
        );
    }
    lab.check(
        refused(&lab, 1, "own-address") >= 1,
        "node2: its own address from the rogue not refused as own-address",
    );

    // A YAML alias bomb (1 KB) in node2's peers annotation: one clear log line, memory
    // unchanged; it costs only node2's annotation peers (the ToR: kube-router drops the
    // whole set on any error) and no other session; removing it is logged as fixed and
    // the ToR comes back.
    let before: std::collections::BTreeMap<String, u64> = lab
        .transitions(1)
        .into_iter()
        .filter(|(a, _)| *a != tor4)
        .collect();
    // Nine levels of nine aliases each: 9^9 (387 million) copies of the first mapping
    // in a loader that expands aliases.
    let mut bomb = String::from("- &a {remoteip: 10.99.0.1, remoteasn: 65000}\n");
    let levels = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
    for w in levels.windows(2) {
        let refs = vec![format!("*{}", w[0]); 9].join(", ");
        bomb.push_str(&format!("- &{} [{refs}]\n", w[1]));
    }
    assert!(bomb.len() < 1024, "{} bytes", bomb.len());
    lab.annotate(1, "kube-router.io/peers", &bomb);
    let said = wait_for(UP, || {
        let n = lab
            .log(1)
            .matches("node node2: kube-router.io/peers: YAML anchors and aliases")
            .count();
        (n > 0).then_some(n)
    });
    lab.check(
        said == Some(1),
        &format!("node2: bomb logged {said:?} times"),
    );
    let rss_kb = |i: usize| -> u64 {
        let pid = lab.kube_bgp_pid(i).unwrap_or(0);
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_default()
            .lines()
            .find_map(|l| {
                l.strip_prefix("VmRSS:")?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            })
            .unwrap_or(0)
    };
    let rss = rss_kb(1);
    eprintln!("{test}: node2 RSS with the alias bomb: {rss} kB");
    lab.check(rss > 0 && rss < 100_000, &format!("node2 RSS {rss} kB"));
    let after: std::collections::BTreeMap<String, u64> = lab
        .transitions(1)
        .into_iter()
        .filter(|(a, _)| *a != tor4)
        .collect();
    lab.check(
        after == before,
        &format!("node2's sessions: {before:?} -> {after:?}"),
    );
    lab.remove_annotation(1, "kube-router.io/peers");
    let fixed = wait_for(UP, || {
        lab.log(1)
            .contains("fixed: node node2: kube-router.io/peers")
            .then_some(())
    });
    lab.check(
        fixed.is_some(),
        "node2: the bomb's removal was not logged as fixed",
    );
    lab.check(
        lab.wait_established(1, 3, UP),
        "node2: the ToR did not come back",
    );
    // A bad password annotation that looks like a secret: refused without quoting it.
    lab.annotate(
        1,
        "kube-router.io/peer.passwords",
        &format!("{ANNOTATION_SECRET}!!"),
    );
    let said = wait_for(UP, || {
        lab.log(1)
            .contains("kube-router.io/peer.passwords: entry 1: could not parse")
            .then_some(())
    });
    lab.check(
        said.is_some(),
        "node2: bad password annotation not reported",
    );

    // Planted passwords: nowhere in logs, metrics, health, CLI output, or errors.
    let tor = tor4.clone();
    let mut seen: Vec<(String, String)> = Vec::new();
    for i in 0..2 {
        seen.push((format!("node{} log", i + 1), lab.log(i)));
        seen.push((format!("node{} metrics", i + 1), metrics(&lab, i)));
        seen.push((
            format!("node{} healthz", i + 1),
            lab.node(i)
                .ns
                .sh("curl -s -m 5 http://127.0.0.1:20244/healthz"),
        ));
        for args in [
            vec!["neighbor"],
            vec!["neighbor", "-o", "json"],
            vec!["neighbor", tor.as_str()],
            vec!["neighbor", tor.as_str(), "-o", "json"],
            vec!["status"],
            vec!["status", "-o", "json"],
            vec!["global", "rib"],
            vec!["global", "rib", "-a", "ipv6", "-o", "json"],
        ] {
            let out = lab.try_ctl(i, &args).unwrap_or_else(|e| e);
            seen.push((format!("node{} kube-bgp {}", i + 1, args.join(" ")), out));
        }
    }
    // The same flags through --check-config, and a start with a readable passwords file.
    let check = std::process::Command::new(kube_bgp_bin())
        .args(["run", "--check-config"])
        .args(&flags)
        .output()
        .unwrap();
    seen.push((
        "--check-config".into(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        ),
    ));
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pwfile, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let bad = std::process::Command::new(kube_bgp_bin())
        .arg("run")
        .args(&flags)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&bad.stderr).to_string();
    lab.check(
        bad.status.code() == Some(2) && err.contains("mode 0644"),
        &format!("a readable passwords file was not refused: {err}"),
    );
    seen.push(("start with a readable passwords file".into(), err));
    let secrets = [
        FILE_SECRET.to_string(),
        ANNOTATION_SECRET.to_string(),
        b64(FILE_SECRET),
        b64(ANNOTATION_SECRET),
    ];
    for (what, text) in &seen {
        lab.check(!text.is_empty(), &format!("{what}: empty"));
        for s in &secrets {
            lab.check(
                !text.contains(s.as_str()),
                &format!("{what} shows a password ({s})"),
            );
        }
    }
    eprintln!(
        "{test}: {} outputs searched for {} planted secrets",
        seen.len(),
        secrets.len()
    );
}

/// PR_SET_DUMPABLE 0: kube-bgp run as an unprivileged user is not dumpable (its /proc
/// files then belong to root, not to that user), and `insecure-skip-tls-verify` in the
/// kubeconfig is logged as INSECURE.
#[test]
fn daemon_is_not_dumpable_and_warns_on_insecure_tls() {
    let test = "daemon_is_not_dumpable_and_warns_on_insecure_tls";
    if !common::require_root(test) || !common::require_tool(test, "setpriv") {
        return;
    }
    let ns = Netns::new("e2hd");
    let dir = std::env::temp_dir().join(format!("kbe2hd{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let kc = dir.join("kubeconfig");
    std::fs::write(
        &kc,
        "apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n\
         clusters:\n- name: k\n  cluster: {server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}\n\
         users:\n- name: u\n  user: {token: t}\n",
    )
    .unwrap();
    let log = dir.join("log");
    let child = ns
        .command("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            kube_bgp_bin(),
        ])
        .arg(format!("--kubeconfig={}", kc.display()))
        .arg(format!("--ctl-socket={}", dir.join("ctl.sock").display()))
        .args([
            "--hostname-override=x",
            "--health-port=0",
            "--metrics-port=0",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let guard = common::ChildGuard::new(child, "kube-bgp as nobody");
    let pid = guard.pid();
    let seen = wait_for(Duration::from_secs(10), || {
        std::fs::read_to_string(&log)
            .ok()
            .filter(|l| l.contains("starting for node"))
    });
    let text = seen.unwrap_or_else(|| {
        panic!(
            "kube-bgp did not start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        )
    });
    assert!(
        text.contains("INSECURE:") && text.contains("insecure-skip-tls-verify"),
        "{text}"
    );
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .unwrap_or_default();
    assert!(uid.split_whitespace().all(|u| u == "65534"), "Uid: {uid}");
    use std::os::unix::fs::MetadataExt;
    let owner = std::fs::metadata(format!("/proc/{pid}/status"))
        .unwrap()
        .uid();
    assert_eq!(
        owner, 0,
        "/proc/{pid} belongs to uid {owner}: the process is dumpable"
    );
    drop(guard);
    let _ = std::fs::remove_dir_all(&dir);
}
