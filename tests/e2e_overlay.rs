//! The overlay end to end: nodes in two subnets joined by a gateway that has no route
//! to any pod CIDR, kube-bgp on every node with `--enable-overlay`, real pods pinging
//! each other, packet captures proving what was on the wire.
//!
//! - ipip, `--overlay-type=subnet` then `full`, dual-stack: cross-subnet pod traffic
//!   (and pod-to-node traffic, through table 77) goes through ipip/ip6tnl tunnels and
//!   the gateway never sees a pod address; same-subnet traffic stays direct; `full`
//!   tunnels to every node; tunnel parameters, MTU, table 77 and the rules are what
//!   kube-router makes; a tunnel someone deletes comes back; a node deleted from the
//!   API loses its tunnels everywhere.
//! - fou (GUE), dual-stack: the same with UDP port 5555; an external router's next hop
//!   never gets a tunnel (D7); a restart with `--overlay-encap=ipip` replaces every
//!   tunnel and closes the FoU ports.
//! - graceful restart (SIGTERM and SIGKILL) across a GUE tunnel: a continuous
//!   cross-subnet ping loses nothing, and no tunnel is duplicated, orphaned or remade;
//!   then `--cleanup-config` removes the overlay.
//!
//! This machine's kernel may lack the tunnels: each test then runs itself inside the VM
//! lab (`common::vm`), where everything is several times slower, hence the long bounds.
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::lab::checks::available;
use common::lab::overlay::LabTunnel;
use common::lab::{Lab, LabConfig};
use common::routers::{Neighbor, RouterConfig, RouterDaemon};
use common::{Netns, wait_for};
use kube_bgp::kernel::tunnel::tunnel_name;

/// Convergence bound inside the VM (no KVM: ~10x slower than this machine).
const UP: Duration = Duration::from_secs(240);
/// Bound of one whole test in its VM.
const VM_TIMEOUT: Duration = Duration::from_secs(1800);

fn name_of(addr: &str) -> String {
    let a: IpAddr = addr.parse().unwrap_or_else(|e| panic!("{addr}: {e}"));
    tunnel_name(&a)
}

/// Node `j`'s addresses (IPv4, then IPv6 if the lab has it).
fn addrs(lab: &Lab, j: usize) -> Vec<String> {
    let n = lab.node(j);
    let mut v = vec![n.ipv4.clone()];
    v.extend(n.ipv6.clone());
    v
}

/// Node `j`'s pod CIDRs (IPv4, then IPv6).
fn cidrs(lab: &Lab, j: usize) -> Vec<String> {
    let n = lab.node(j);
    let mut v = vec![n.pod_cidr4.clone()];
    v.extend(n.pod_cidr6.clone());
    v
}

/// Whether node `i` should reach node `j` through a tunnel.
fn tunnelled(lab: &Lab, i: usize, j: usize, full: bool) -> bool {
    i != j && (full || lab.node(i).subnet != lab.node(j).subnet)
}

/// The remotes node `i` should have tunnels to, among `nodes`.
fn want_remotes(lab: &Lab, i: usize, nodes: &[usize], full: bool) -> BTreeSet<String> {
    nodes
        .iter()
        .filter(|&&j| tunnelled(lab, i, j, full))
        .flat_map(|&j| addrs(lab, j))
        .collect()
}

/// Waits until node `i`'s tunnels go to exactly `want` (one link each); returns them.
fn expect_tunnels(lab: &Lab, i: usize, want: &BTreeSet<String>) -> Vec<LabTunnel> {
    let got = wait_for(UP, || {
        let t = lab.tunnel_links(i);
        let remotes: BTreeSet<String> = t.iter().map(|t| t.remote.clone()).collect();
        (remotes == *want && t.len() == want.len()).then_some(t)
    });
    got.unwrap_or_else(|| {
        lab.fail(&format!(
            "node{}: tunnels to {:?}, want exactly {want:?}:\n{}",
            i + 1,
            lab.tunnel_links(i)
                .iter()
                .map(|t| t.details.clone())
                .collect::<Vec<_>>(),
            lab.ip(i, "-d link show")
        ))
    })
}

/// Every tunnel of node `i` is kube-router's for `gue` (None: plain ipip/ip6tnl), from
/// the node's own address, named after its remote, with the kernel's MTU for it.
fn check_tunnel_params(lab: &Lab, i: usize, tunnels: &[LabTunnel], gue: Option<u16>) {
    let own = addrs(lab, i);
    for t in tunnels {
        let v6 = t.remote.contains(':');
        let local = if v6 { &own[1] } else { &own[0] };
        let (kind, mtu, ttl) = match (v6, gue) {
            (false, None) => ("ipip", 1480, "ttl inherit"),
            (true, None) => ("ip6tnl", 1452, "hoplimit 64"),
            (false, Some(_)) => ("ipip", 1468, "ttl 225"),
            (true, Some(_)) => ("ip6tnl", 1440, "hoplimit 225"),
        };
        let ok = t.name == name_of(&t.remote)
            && t.kind == kind
            && t.local == *local
            && t.mtu == mtu
            && t.gue_port == gue
            && t.details.contains(ttl)
            && t.details.contains("state UNKNOWN")
            && (gue.is_none() || t.details.contains("encap-sport auto"));
        lab.check(
            ok,
            &format!(
                "node{}: tunnel not as kube-router makes it ({kind}, local {local}, mtu {mtu}, {ttl}, gue {gue:?}):\n{}",
                i + 1,
                t.details
            ),
        );
    }
}

/// Table 77 of node `i` is one host route per tunnel, and nothing else.
fn check_table77(lab: &Lab, i: usize, tunnels: &[LabTunnel]) {
    let got = wait_for(UP, || {
        let t77 = lab.table77(i);
        let ok = t77.len() == tunnels.len()
            && tunnels.iter().all(|t| {
                let head = format!("{} dev {} proto 17 ", t.remote, t.name);
                t77.iter().any(|l| {
                    l.starts_with(&head) && (t.kind == "ip6tnl" || l.ends_with("scope link"))
                })
            });
        ok.then_some(())
    });
    lab.check(
        got.is_some(),
        &format!(
            "node{}: table 77 {:?} for tunnels {:?}",
            i + 1,
            lab.table77(i),
            tunnels.iter().map(|t| &t.name).collect::<Vec<_>>()
        ),
    );
}

/// The rules of node `i` are exactly those `ip rule add from <pod CIDR> lookup 77`
/// (kube-router's command) makes, one per pod CIDR: compared with iproute2's own in a
/// scratch namespace.
fn check_rules(lab: &Lab, i: usize) {
    let scratch = Netns::new("e2ox");
    for c in cidrs(lab, i) {
        let fam = if c.contains(':') { "-6" } else { "-4" };
        scratch.sh(&format!("ip {fam} rule add from {c} lookup 77"));
    }
    let want: Vec<String> = scratch
        .sh("ip -4 rule show; ip -6 rule show")
        .lines()
        .filter(|l| l.contains("lookup 77"))
        .map(|l| l.trim().to_string())
        .collect();
    let got = lab.rules77(i);
    lab.check(
        got == want && want.len() == cidrs(lab, i).len(),
        &format!("node{}: rules {got:?}, kube-router's {want:?}", i + 1),
    );
}

/// Node `i` routes node `j`'s pod CIDRs through the tunnel to `j` (with node `i`'s own
/// address as source), or via `j` when not tunnelled.
fn expect_pod_routes(lab: &Lab, i: usize, j: usize, full: bool) {
    let (ours, theirs) = (addrs(lab, i), addrs(lab, j));
    for (k, cidr) in cidrs(lab, j).iter().enumerate() {
        if tunnelled(lab, i, j, full) {
            let want = format!("dev {} proto 17 src {} ", name_of(&theirs[k]), ours[k]);
            let got = lab.wait_bgp_route(i, cidr, UP, |r| format!("{r} ").contains(&want));
            lab.check(
                got.is_some(),
                &format!(
                    "node{}: {cidr} not `{want}`: {:?}\n{}",
                    i + 1,
                    lab.bgp_route(i, cidr),
                    lab.route_table(i)
                ),
            );
        } else {
            lab.expect_via(i, cidr, &theirs[k], UP);
        }
    }
}

/// The outer source and destination of a `tcpdump -n` line (ports stripped).
fn outer(line: &str) -> Option<(IpAddr, IpAddr)> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "IP" || *w == "IP6")?;
    let addr = |w: &str| -> Option<IpAddr> {
        let w = w.trim_end_matches(':');
        w.parse()
            .ok()
            .or_else(|| w.rsplit_once('.').and_then(|(a, _)| a.parse().ok()))
    };
    Some((addr(words.get(at + 1)?)?, addr(words.get(at + 3)?)?))
}

fn is_pod(a: &IpAddr) -> bool {
    let s = a.to_string();
    s.starts_with("10.244.") || s.starts_with("fd00:244:")
}

/// What a capture saw: packets with a pod address outside, and encapsulated packets
/// between two node addresses (`ipip`: tcpdump shows the inner pod packet; GUE: UDP
/// to the FoU port).
struct Captured {
    bare_pod: Vec<String>,
    tunnelled: usize,
}

fn classify(lab: &Lab, lines: &[String], gue: Option<u16>) -> Captured {
    let nodes: BTreeSet<IpAddr> = (0..lab.nodes().len())
        .flat_map(|j| addrs(lab, j))
        .filter_map(|a| a.parse().ok())
        .collect();
    let mut seen = Captured {
        bare_pod: Vec::new(),
        tunnelled: 0,
    };
    for l in lines {
        let Some((src, dst)) = outer(l) else {
            continue;
        };
        if is_pod(&src) || is_pod(&dst) {
            seen.bare_pod.push(l.clone());
            continue;
        }
        if !(nodes.contains(&src) && nodes.contains(&dst)) {
            continue;
        }
        let enc = match gue {
            None => l.contains(" 10.244.") || l.contains(" fd00:244:"),
            Some(p) => l.contains(&format!(".{p}: UDP")) || l.contains(&format!("> {p}: UDP")),
        };
        if enc {
            seen.tunnelled += 1;
        }
    }
    seen
}

/// Pings (`count` each) from pod `a` to every address in `to`; all must come back.
fn pings(lab: &Lab, a: usize, to: &[String], count: u32) {
    for t in to {
        let got = lab.ping(a, t, count);
        lab.check(
            got == (count, count),
            &format!("ping pod{} -> {t}: {got:?}", a + 1),
        );
    }
}

/// Pod `a` pings pod `b`'s addresses (and node `b`'s IPv4 address: pod-to-node traffic
/// takes table 77) while the gateway captures: every packet crossing it is tunnelled,
/// no pod address is ever on the wire there.
fn cross_subnet_through_tunnels(lab: &Lab, a: usize, b: usize, gue: Option<u16>) {
    let cap = lab.capture(lab.gateway(), "any", "not tcp and not arp");
    let mut to = vec![lab.node(b).pod_ip4.clone()];
    to.extend(lab.node(b).pod_ip6.clone());
    to.push(lab.node(b).ipv4.clone());
    pings(lab, a, &to, 3);
    let lines = cap.stop();
    let seen = classify(lab, &lines, gue);
    eprintln!(
        "gateway capture, pod{} -> {to:?}: {} packets, {} tunnelled, {} with pod addresses",
        a + 1,
        lines.len(),
        seen.tunnelled,
        seen.bare_pod.len()
    );
    lab.check(
        seen.bare_pod.is_empty(),
        &format!(
            "the gateway saw pod addresses:\n{}",
            seen.bare_pod.join("\n")
        ),
    );
    // Each ping's request and reply cross both of the gateway's legs.
    let want = 4 * 3 * to.len();
    lab.check(
        seen.tunnelled >= want,
        &format!(
            "the gateway saw {} tunnelled packets, want at least {want}:\n{}",
            seen.tunnelled,
            lines.join("\n")
        ),
    );
}

/// Pod `a` pings pod `b` in the same subnet while `a`'s uplink is captured: the packets
/// carry the pod addresses themselves (direct), none is encapsulated. With `tunnel`
/// (overlay full) it is the other way round.
fn same_subnet(lab: &Lab, a: usize, b: usize, gue: Option<u16>, tunnel: bool) {
    let node = lab.node(a);
    let cap = lab.capture(&node.ns, &node.uplink, "not tcp and not arp");
    let mut to = vec![lab.node(b).pod_ip4.clone()];
    to.extend(lab.node(b).pod_ip6.clone());
    pings(lab, a, &to, 3);
    let lines = cap.stop();
    let seen = classify(lab, &lines, gue);
    let (bare, enc) = (seen.bare_pod.len(), seen.tunnelled);
    eprintln!(
        "pod{} -> pod{} on node{}'s uplink: {bare} direct, {enc} tunnelled (want tunnel: {tunnel})",
        a + 1,
        b + 1,
        a + 1
    );
    let want = 2 * 3 * to.len();
    let ok = if tunnel {
        bare == 0 && enc >= want
    } else {
        enc == 0 && bare >= want
    };
    lab.check(
        ok,
        &format!("pod{} -> pod{}:\n{}", a + 1, b + 1, lines.join("\n")),
    );
}

/// The state every node of `nodes` must reach: pod routes, tunnels, their parameters,
/// table 77 and the rules. Returns each node's tunnels.
fn converge(lab: &Lab, nodes: &[usize], full: bool, gue: Option<u16>) -> Vec<Vec<LabTunnel>> {
    let mut all = Vec::new();
    for &i in nodes {
        for &j in nodes.iter().filter(|&&j| j != i) {
            expect_pod_routes(lab, i, j, full);
        }
        let tunnels = expect_tunnels(lab, i, &want_remotes(lab, i, nodes, full));
        check_tunnel_params(lab, i, &tunnels, gue);
        check_table77(lab, i, &tunnels);
        check_rules(lab, i);
        all.push(tunnels);
    }
    all
}

fn start(lab: &mut Lab, flags: &[&str], sessions: usize) {
    let t0 = Instant::now();
    lab.start_all(flags, sessions, UP);
    eprintln!(
        "{} nodes Established after {:?}",
        lab.nodes().len(),
        t0.elapsed()
    );
}

fn restart_all(lab: &mut Lab, flags: &[&str], sessions: usize) {
    for i in 0..lab.nodes().len() {
        lab.stop_kube_bgp(i);
    }
    start(lab, flags, sessions);
}

/// The tests, named `in_vm::…`: `tests/run.sh` runs them in their own stage (each
/// in a VM where this kernel lacks the tunnels) and leaves them out of the main one.
mod in_vm {
    use super::*;

    /// ipip, dual-stack, nodes 1-2 in one subnet and 3-4 in the other.
    #[test]
    fn ipip_subnet_full_and_node_deletion() {
        let test = "in_vm::ipip_subnet_full_and_node_deletion";
        if !common::vm::here_or_in_vm(test, VM_TIMEOUT) || !available(test, &[]) {
            return;
        }
        let mut lab = Lab::new("e2oi", LabConfig::new(4).dual_stack().two_subnets(2));
        let subnet = [
            "--enable-ipv6=true",
            "--enable-overlay=true",
            "--overlay-type=subnet",
        ];
        start(&mut lab, &subnet, 3);
        let all = [0, 1, 2, 3];
        converge(&lab, &all, false, None);
        cross_subnet_through_tunnels(&lab, 0, 2, None);
        cross_subnet_through_tunnels(&lab, 3, 1, None);
        same_subnet(&lab, 0, 1, None, false);

        // --overlay-type=full: the same-subnet neighbour is tunnelled too.
        let full = ["--enable-ipv6=true", "--overlay-type=full"];
        restart_all(&mut lab, &full, 3);
        converge(&lab, &all, true, None);
        same_subnet(&lab, 0, 1, None, true);
        cross_subnet_through_tunnels(&lab, 1, 3, None);

        // Someone deletes a tunnel: kube-bgp makes it again, with its routes (D6).
        let t3 = name_of(&lab.node(2).ipv4);
        let old = lab
            .tunnel_links(0)
            .into_iter()
            .find(|t| t.name == t3)
            .map(|t| t.ifindex);
        lab.ip(0, &format!("link del {t3}"));
        let t0 = Instant::now();
        let back = wait_for(UP, || {
            lab.tunnel_links(0)
                .into_iter()
                .find(|t| t.name == t3 && Some(t.ifindex) != old)
        });
        lab.check(back.is_some(), &format!("node1: {t3} not made again"));
        eprintln!("a deleted tunnel was made again after {:?}", t0.elapsed());
        converge(&lab, &all, true, None);
        pings(&lab, 0, &[lab.node(2).pod_ip4.clone()], 2);

        // node4 deleted from the API: its tunnels, table-77 routes and pod routes go
        // everywhere.
        let t0 = Instant::now();
        lab.delete_node("node4");
        for i in 0..3 {
            for c in cidrs(&lab, 3) {
                lab.expect_no_route(i, &c, UP);
            }
            let tunnels = expect_tunnels(&lab, i, &want_remotes(&lab, i, &[0, 1, 2], true));
            check_table77(&lab, i, &tunnels);
        }
        eprintln!(
            "node4 deleted: its tunnels gone everywhere after {:?}",
            t0.elapsed()
        );
        for i in 0..3 {
            let gone = lab.log_lines(i, &["removed tunnel", &name_of(&lab.node(3).ipv4)]);
            lab.check(
                !gone.is_empty(),
                &format!("node{}: no removal logged", i + 1),
            );
        }
        pings(&lab, 0, &[lab.node(2).pod_ip4.clone()], 2);
    }

    /// fou (GUE), dual-stack, plus an external BGP router in the second subnet (eBGP
    /// multihop to the nodes of the first). Then every node restarts (graceful restart)
    /// with `--overlay-encap=ipip`: tunnels replaced, FoU ports closed, traffic back.
    #[test]
    fn fou_subnet_external_router_and_encap_change() {
        let test = "in_vm::fou_subnet_external_router_and_encap_change";
        if !common::vm::here_or_in_vm(test, VM_TIMEOUT)
            || !available(test, &[])
            || !RouterDaemon::Bird.available(test)
        {
            return;
        }
        let mut lab = Lab::new(
            "e2of",
            LabConfig::new(4)
                .dual_stack()
                .two_subnets(2)
                .routers(1)
                .routers_in_second_subnet(),
        );
        let r = lab.router(0).ipv4.clone();
        let mut rcfg = RouterConfig::new(65001, &r)
            .listen(&r)
            .prefix("10.98.0.0/24");
        for node in lab.nodes() {
            rcfg = rcfg.neighbor(
                Neighbor::new(&node.ipv4, 64512)
                    .families(true, false)
                    .multihop(2),
            );
        }
        lab.start_router(0, RouterDaemon::Bird, rcfg);
        let peer = format!("--peer-router-ips={r}");
        // With graceful restart the peers keep each node's routes through the restart
        // below; each node keeps its own adopted routes and tunnels until it chooses
        // the routes again, which replaces every tunnel in place.
        let common_flags = [
            "--enable-ipv6=true",
            peer.as_str(),
            "--peer-router-asns=65001",
            "--peer-router-multihop-ttl=2",
            "--bgp-graceful-restart",
        ];
        let mut flags = common_flags.to_vec();
        flags.push("--overlay-encap=fou");
        start(&mut lab, &flags, 4);
        let all = [0, 1, 2, 3];
        let before = converge(&lab, &all, false, Some(5555));
        for i in all {
            let ports = lab.fou_ports(i);
            lab.check(
                ports == ["port 5555 gue", "port 5555 gue -6"],
                &format!("node{}: FoU ports {ports:?}", i + 1),
            );
        }
        cross_subnet_through_tunnels(&lab, 0, 3, Some(5555));
        cross_subnet_through_tunnels(&lab, 2, 1, Some(5555));
        same_subnet(&lab, 2, 3, Some(5555), false);

        // D7: the router's prefix is learned everywhere; the nodes in its subnet route it
        // via the router, the others install nothing, and no node has a tunnel to it.
        for i in all {
            let learned = wait_for(UP, || lab.rib_best(i).get("10.98.0.0/24").cloned());
            lab.check(
                learned.as_deref() == Some(r.as_str()),
                &format!("node{}: router prefix learned as {learned:?}", i + 1),
            );
            if lab.node(i).subnet == 1 {
                lab.expect_via(i, "10.98.0.0/24", &r, UP);
            } else {
                lab.check(
                    lab.bgp_route(i, "10.98.0.0/24").is_empty(),
                    &format!("node{}: {}", i + 1, lab.bgp_route(i, "10.98.0.0/24")),
                );
            }
            lab.check(
                !lab.tunnel_links(i).iter().any(|t| t.remote == r)
                    && !lab.ip(i, "-o link show").contains(&name_of(&r)),
                &format!("node{}: a tunnel to the external router", i + 1),
            );
        }

        // Encapsulation change: restart everyone with ipip.
        let mut flags = common_flags.to_vec();
        flags.push("--overlay-encap=ipip");
        restart_all(&mut lab, &flags, 4);
        let after = converge(&lab, &all, false, None);
        for (k, &i) in all.iter().enumerate() {
            let old: BTreeMap<&str, u32> = before[k]
                .iter()
                .map(|t| (t.name.as_str(), t.ifindex))
                .collect();
            for t in &after[k] {
                lab.check(
                    old.get(t.name.as_str())
                        .is_some_and(|idx| *idx != t.ifindex),
                    &format!("node{}: {} was not replaced ({old:?})", i + 1, t.name),
                );
            }
            let closed = wait_for(UP, || lab.fou_ports(i).is_empty().then_some(()));
            lab.check(
                closed.is_some(),
                &format!("node{}: FoU ports left open: {:?}", i + 1, lab.fou_ports(i)),
            );
            lab.check(
                !lab.log_lines(i, &["replaced: gue port 5555 -> ipip"])
                    .is_empty(),
                &format!("node{}: no replacement logged", i + 1),
            );
        }
        cross_subnet_through_tunnels(&lab, 0, 3, None);
    }

    /// Pings pod `from` -> `to_ip` every 50 ms (`count` packets) while `during` runs, which
    /// must end before the ping does; nothing may be lost.
    fn no_loss(
        lab: &mut Lab,
        what: &str,
        from: usize,
        to_ip: &str,
        count: u32,
        during: impl FnOnce(&mut Lab),
    ) {
        let ping = lab.ping_start(from, to_ip, 0.05, count);
        std::thread::sleep(Duration::from_secs(1));
        let t0 = Instant::now();
        during(lab);
        let took = t0.elapsed();
        let window = Duration::from_millis(50 * u64::from(count));
        let (sent, received, out) = ping.finish();
        eprintln!(
            "{what}: took {took:?}; ping pod{} -> {to_ip}: {sent} sent, {received} received",
            from + 1
        );
        lab.check(
            took + Duration::from_secs(1) < window,
            &format!("{what}: took {took:?}, longer than the ping window {window:?}"),
        );
        lab.check(
            sent == count && received == sent,
            &format!("{what}: lost packets: {sent} sent, {received} received\n{out}"),
        );
    }

    /// Graceful restart across a GUE tunnel: node1 in the first subnet, node2 and node3 in
    /// the second. node2's kube-bgp is stopped (SIGTERM) and restarted, then killed (SIGKILL)
    /// and restarted with node3 deleted meanwhile, while pod1 pings pod2 every 50 ms
    /// through the tunnel: nothing is lost, the tunnels to the remaining nodes are the same
    /// links before and after (not remade), and node3's tunnels are removed everywhere.
    /// Last, `--cleanup-config` removes node1's overlay: tunnel, FoU ports, table 77, rules.
    #[test]
    fn graceful_restart_through_tunnel() {
        let test = "in_vm::graceful_restart_through_tunnel";
        if !common::vm::here_or_in_vm(test, VM_TIMEOUT) || !available(test, &[]) {
            return;
        }
        let mut lab = Lab::new("e2og", LabConfig::new(3).two_subnets(1));
        let flags = [
            "--overlay-encap=fou",
            "--bgp-graceful-restart",
            "--bgp-graceful-restart-deferral-time=120s",
        ];
        start(&mut lab, &flags, 2);
        let all = [0, 1, 2];
        let before = converge(&lab, &all, false, Some(5555));
        let links = |lab: &Lab, i: usize| -> BTreeMap<String, u32> {
            lab.tunnel_links(i)
                .into_iter()
                .map(|t| (t.name, t.ifindex))
                .collect()
        };
        let pod2 = lab.node(1).pod_ip4.clone();
        let sweep = "graceful restart: API server listed and all peers that are up re-sent";

        // (a) SIGTERM and restart. 600 pings = 30 s; in the VM the restart, the
        // sessions and the End-of-RIB sweep took 3-7 s (`no_loss` fails if they do
        // not fit in the window).
        no_loss(&mut lab, "SIGTERM restart", 0, &pod2, 600, |lab| {
            lab.restart_kube_bgp(1);
            let up = lab.wait_established(1, 2, UP);
            lab.check(up, "node2: sessions after the SIGTERM restart");
            let swept = wait_for(UP, || lab.log(1).contains(sweep).then_some(()));
            lab.check(
                swept.is_some(),
                "node2: no End-of-RIB sweep after the SIGTERM restart",
            );
        });
        lab.check(
            lab.log(1).contains("kept from an earlier run"),
            "node2 did not reuse its tunnels",
        );
        let after = converge(&lab, &all, false, Some(5555));
        for i in all {
            let (b, a): (BTreeMap<_, _>, BTreeMap<_, _>) = (
                before[i]
                    .iter()
                    .map(|t| (t.name.clone(), t.ifindex))
                    .collect(),
                after[i]
                    .iter()
                    .map(|t| (t.name.clone(), t.ifindex))
                    .collect(),
            );
            lab.check(
                a == b,
                &format!("node{}: tunnels remade: {b:?} -> {a:?}", i + 1),
            );
        }

        // (b) SIGKILL; node3 deleted while node2 is down; restart.
        let node1_links = links(&lab, 0);
        let sweeps = lab.log(1).matches(sweep).count();
        let n3: Vec<String> = addrs(&lab, 2);
        no_loss(&mut lab, "SIGKILL restart", 0, &pod2, 600, |lab| {
            lab.kill_kube_bgp(1);
            lab.delete_node("node3");
            let c3 = lab.node(2).pod_cidr4.clone();
            lab.expect_no_route(0, &c3, UP);
            lab.start_kube_bgp(1, &flags);
            let up = lab.wait_established(1, 1, UP);
            lab.check(up, "node2: session with node1 after the SIGKILL restart");
            let swept = wait_for(UP, || {
                (lab.log(1).matches(sweep).count() > sweeps).then_some(())
            });
            lab.check(
                swept.is_some(),
                "node2: no End-of-RIB sweep after the SIGKILL restart",
            );
        });
        for i in [0, 1] {
            let t = expect_tunnels(&lab, i, &want_remotes(&lab, i, &[0, 1], false));
            check_table77(&lab, i, &t);
            lab.check(
                t.iter().all(|t| !n3.contains(&t.remote)),
                &format!("node{}: a tunnel to deleted node3 is left", i + 1),
            );
        }
        // node1's tunnel to node2 was never touched; node2's to node1 is the same link too.
        let kept = links(&lab, 0);
        let n2_name = name_of(&lab.node(1).ipv4);
        lab.check(
            kept.get(&n2_name) == node1_links.get(&n2_name),
            &format!("node1's tunnel to node2 changed: {node1_links:?} -> {kept:?}"),
        );
        let n1_name = name_of(&lab.node(0).ipv4);
        let node2_before: BTreeMap<String, u32> = before[1]
            .iter()
            .map(|t| (t.name.clone(), t.ifindex))
            .collect();
        lab.check(
            links(&lab, 1).get(&n1_name) == node2_before.get(&n1_name),
            "node2's tunnel to node1 was remade by the restarts",
        );

        // --cleanup-config on node1 (kube-bgp stopped): its tunnel, the FoU ports,
        // table 77 and the rules are gone.
        lab.stop_kube_bgp(0);
        let (cleaned, log) = lab.cleanup_config(0);
        lab.check(cleaned, &format!("--cleanup-config: {log}"));
        let left = (
            lab.tunnel_links(0),
            lab.fou_ports(0),
            lab.table77(0),
            lab.rules77(0),
        );
        lab.check(
            left.0.is_empty() && left.1.is_empty() && left.2.is_empty() && left.3.is_empty(),
            &format!(
                "--cleanup-config left {left:?}
{log}"
            ),
        );
    }
}
