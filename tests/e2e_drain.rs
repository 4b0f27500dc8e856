//! End-to-end tests of graceful shutdown (RFC 8326) as docs/drain.md describes it:
//! two nodes announce the same service VIP to a BIRD router that forwards a client's
//! traffic along its best path and gives routes carrying 65535:0 LOCAL_PREF 0 (RFC 8326
//! §4). The node BIRD prefers is drained — its kube-bgp stopped without graceful
//! restart (SIGTERM), or the node cordoned with `--graceful-shutdown-on-cordon` — while
//! the client pings the VIP every 50 ms. BIRD must see the VIP again from that node with
//! community (65535,0), move to the other node before the route is withdrawn, and the
//! ping must lose nothing even though the drained node stops answering for the VIP as
//! soon as the router has moved away.
//!
//! ```text
//!   client ns 198.18.0.2 -- 198.18.0.1 router ns (BIRD, kernel export) 10.k.0.201
//!                                            |  bridge
//!                       node1 10.k.0.1 (VIP on lo)   node2 10.k.0.2 (VIP on lo)
//! ```
mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::lab::checks::{available, set};
use common::lab::{Lab, LabConfig, parse_ping};
use common::routers::RouterDaemon;
use common::{ChildGuard, Netns, veth, wait_for};

/// First convergence (lab start, sessions, routes) on a loaded 2-core machine.
const UP: Duration = Duration::from_secs(40);
/// A live change: it should take well under a second; this is only the bound.
const CHANGE: Duration = Duration::from_secs(10);
/// `--graceful-shutdown-time` of the nodes.
const DRAIN: Duration = Duration::from_secs(4);
const DRAIN_FLAG: &str = "--graceful-shutdown-time=4s";
const VIP: &str = "203.0.113.30";
const VIP_PREFIX: &str = "203.0.113.30/32";
const METRICS: &str = "--metrics-port=20310";

const SERVICE: &str = "\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  type: ClusterIP
  clusterIP: 10.96.0.80
  clusterIPs: [10.96.0.80]
  externalIPs: [203.0.113.30]
  ports: [{name: http, port: 80, protocol: TCP}]
  selector: {app: web}
";

/// One path of `birdc show route all for VIP`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct BirdPath {
    /// The BGP protocol it came from, `n<i>` = node i.
    proto: String,
    best: bool,
    gshut: bool,
    local_pref: Option<u32>,
}

/// Parses `birdc show route all for P`: a line with `unicast [` opens a path, tab
/// lines are its attributes.
fn parse_bird_paths(out: &str) -> Vec<BirdPath> {
    let mut paths: Vec<BirdPath> = Vec::new();
    for line in out.lines() {
        if line.starts_with('\t') {
            let Some(p) = paths.last_mut() else { continue };
            let attr = line.trim();
            if let Some(v) = attr.strip_prefix("BGP.community:") {
                p.gshut = v.contains("(65535,0)");
            } else if let Some(v) = attr.strip_prefix("BGP.local_pref:") {
                p.local_pref = v.trim().parse().ok();
            }
            continue;
        }
        if !line.contains("unicast [") {
            continue;
        }
        let proto = line
            .split('[')
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .unwrap_or("")
            .to_string();
        paths.push(BirdPath {
            proto,
            best: line.contains("] * "),
            gshut: false,
            local_pref: None,
        });
    }
    paths
}

#[test]
fn bird_route_output_is_parsed() {
    let out = "BIRD 2.0.12 ready.\nTable master4:\n\
        203.0.113.30/32      unicast [n1 00:01:02.345] * (100) [AS64512i]\n\
        \tvia 10.10.0.2 on vb3\n\tType: BGP univ\n\tBGP.origin: IGP\n\tBGP.as_path: 64512\n\
        \tBGP.next_hop: 10.10.0.2\n\tBGP.local_pref: 100\n\
        \x20                    unicast [n0 00:01:02.300] (100) [AS64512i]\n\
        \tvia 10.10.0.1 on vb3\n\tType: BGP univ\n\tBGP.local_pref: 0\n\
        \tBGP.community: (65000,100) (65535,0)\n";
    assert_eq!(
        parse_bird_paths(out),
        vec![
            BirdPath {
                proto: "n1".into(),
                best: true,
                gshut: false,
                local_pref: Some(100),
            },
            BirdPath {
                proto: "n0".into(),
                best: false,
                gshut: true,
                local_pref: Some(0),
            },
        ]
    );
}

/// The drain lab: the nodes, the BIRD router, the client namespace behind it.
struct DrainLab {
    lab: Lab,
    client: Netns,
}

impl DrainLab {
    fn birdc(&self, args: &[&str]) -> String {
        let sock = self.lab.rtr(0).dir().join("bird.ctl");
        let out = Command::new("birdc")
            .arg("-s")
            .arg(&sock)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("birdc: {e}"));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn vip_paths(&self) -> Vec<BirdPath> {
        parse_bird_paths(&self.birdc(&["show", "route", "all", "for", VIP_PREFIX]))
    }

    /// BIRD's protocol name for node `i` (neighbours are configured in node order).
    fn proto(i: usize) -> String {
        format!("n{i}")
    }

    /// The node BIRD's best path for the VIP comes from.
    fn best_node(&self) -> Option<usize> {
        self.vip_paths()
            .iter()
            .find(|p| p.best)
            .and_then(|p| p.proto.strip_prefix('n')?.parse().ok())
    }

    /// The router's kernel route to the VIP: the next hop it forwards along.
    fn router_next_hop(&self) -> Option<String> {
        let out = self.lab.router(0).ns.run(&format!("ip route show {VIP}"));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut words = text.split_whitespace();
        words.find(|w| *w == "via")?;
        words.next().map(str::to_string)
    }

    fn set_vip(&self, i: usize, present: bool) {
        let verb = if present { "add" } else { "del" };
        self.lab
            .node(i)
            .ns
            .sh(&format!("ip addr {verb} {VIP}/32 dev lo"));
    }

    /// `ping -i 0.05 -c count VIP` from the client, in the background.
    fn start_ping(&self, count: u32) -> ChildGuard {
        let child: Child = self
            .client
            .command("ping")
            .args(["-n", "-q", "-i", "0.05", "-W", "1", "-c"])
            .arg(count.to_string())
            .arg(VIP)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run ping: {e}"));
        ChildGuard::new(child, "ping")
    }

    /// Waits (bounded) for the ping to end: (sent, received).
    fn finish_ping(&self, mut g: ChildGuard, count: u32) -> (u32, u32) {
        let bound = Duration::from_millis(u64::from(count) * 50) + Duration::from_secs(20);
        let done = wait_for(bound, || g.child.try_wait().ok().flatten());
        if done.is_none() {
            self.lab
                .fail(&format!("ping still running after {bound:?}"));
        }
        let mut out = String::new();
        if let Some(mut s) = g.child.stdout.take() {
            use std::io::Read;
            let _ = s.read_to_string(&mut out);
        }
        parse_ping(&out)
    }

    /// Waits until BIRD's paths for the VIP satisfy `f`; the paths, or a failure.
    fn wait_paths(
        &self,
        what: &str,
        timeout: Duration,
        f: impl Fn(&[BirdPath]) -> bool,
    ) -> Vec<BirdPath> {
        match wait_for(timeout, || Some(self.vip_paths()).filter(|p| f(p))) {
            Some(p) => p,
            None => self.lab.fail(&format!(
                "BIRD: {what}: paths {:?}\n{}",
                self.vip_paths(),
                self.lab.rtr(0).logs()
            )),
        }
    }

    /// Both nodes' paths present, neither draining, best from some node, and the
    /// router's kernel forwarding along it: returns the best node.
    fn wait_normal(&self, timeout: Duration) -> usize {
        self.wait_paths("both nodes, normal attributes", timeout, |p| {
            p.len() == 2 && p.iter().all(|x| !x.gshut) && p.iter().any(|x| x.best)
        });
        let best = self
            .best_node()
            .unwrap_or_else(|| self.lab.fail("BIRD has no best path"));
        let nh = self.lab.node(best).ipv4.clone();
        let ok = wait_for(CHANGE, || {
            (self.router_next_hop().as_deref() == Some(nh.as_str())).then_some(())
        });
        self.lab.check(
            ok.is_some(),
            &format!(
                "router kernel: VIP via {:?}, want {nh}",
                self.router_next_hop()
            ),
        );
        best
    }

    /// Polls BIRD (every ~10 ms) until the drained node `d`'s path carries 65535:0 and
    /// the other node's path is best; returns the time since `t0`. The drained path
    /// must still be there: traffic moved before the withdrawal.
    fn wait_moved_away(&self, d: usize, t0: Instant, timeout: Duration) -> Duration {
        let (pd, other) = (Self::proto(d), Self::proto(1 - d));
        let until = t0 + timeout;
        loop {
            let paths = self.vip_paths();
            let drained = paths.iter().find(|p| p.proto == pd);
            let best = paths.iter().find(|p| p.best);
            if let (Some(x), Some(b)) = (drained, best) {
                if x.gshut && b.proto == other {
                    self.lab.check(
                        x.local_pref == Some(0),
                        &format!("the drained path's LOCAL_PREF is not 0: {x:?}"),
                    );
                    return t0.elapsed();
                }
            }
            if drained.is_none() && t0.elapsed() > Duration::from_millis(100) {
                self.lab.fail(&format!(
                    "node{}'s path was withdrawn before BIRD saw 65535:0 on it: {paths:?}",
                    d + 1
                ));
            }
            if Instant::now() >= until {
                self.lab.fail(&format!(
                    "BIRD did not move away from node{} within {timeout:?}: {paths:?}",
                    d + 1
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for the router's kernel to forward the VIP via node `i`.
    fn expect_forwarding_via(&self, i: usize) -> Duration {
        let nh = self.lab.node(i).ipv4.clone();
        let t = Instant::now();
        let ok = wait_for(CHANGE, || {
            (self.router_next_hop().as_deref() == Some(nh.as_str())).then_some(())
        });
        self.lab.check(
            ok.is_some(),
            &format!(
                "router kernel: VIP via {:?}, want node{} {nh}",
                self.router_next_hop(),
                i + 1
            ),
        );
        t.elapsed()
    }

    /// Stops node `i`'s kube-bgp without its drain (SIGTERM, then SIGINT at once), so
    /// the teardown does not wait for it; fails if it does not exit.
    fn stop_now(&mut self, i: usize) {
        let Some(pid) = self.lab.kube_bgp_pid(i) else {
            return;
        };
        for sig in [libc::SIGTERM, libc::SIGINT] {
            // SAFETY: kill with the pid of the kube-bgp process this lab started.
            unsafe {
                libc::kill(pid as i32, sig);
            }
        }
        let exited = wait_for(CHANGE, || self.lab.kube_bgp_exited(i));
        self.lab.check(
            exited.is_some_and(|s| s.success()),
            &format!("node{}: kube-bgp exit status {exited:?}", i + 1),
        );
    }

    /// `kube_bgp_graceful_shutdown_active` on node `i`.
    fn gauge(&self, i: usize) -> Option<u64> {
        let text = self
            .lab
            .node(i)
            .ns
            .sh("curl -s -m 5 http://127.0.0.1:20310/metrics");
        text.lines().find_map(|l| {
            l.strip_prefix("kube_bgp_graceful_shutdown_active ")?
                .trim()
                .parse()
                .ok()
        })
    }

    /// Fails unless node `i`'s kube_bgp_graceful_shutdown_active gauge is 1 `when`.
    fn check_draining_gauge(&self, i: usize, when: &str) {
        let gauge = self.gauge(i);
        self.lab.check(
            gauge == Some(1),
            &format!(
                "node{}: kube_bgp_graceful_shutdown_active {gauge:?} {when}",
                i + 1
            ),
        );
    }
}

/// Builds the lab, starts BIRD, kube-bgp on both nodes (`extra` flags added), the
/// Service, and waits until BIRD forwards the VIP along one of the two nodes.
fn drain_lab(tag: &str, extra: &[&str]) -> DrainLab {
    drain_lab_with(tag, extra, Session::Ebgp)
}

/// How BIRD peers with the nodes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Session {
    /// AS 65000, with the RFC 8326 import filter (eBGP carries no LOCAL_PREF).
    Ebgp,
    /// The cluster's AS 64512 and no filter: only the LOCAL_PREF 0 kube-bgp sends.
    Ibgp,
}

fn drain_lab_with(tag: &str, extra: &[&str], session: Session) -> DrainLab {
    let mut lab = Lab::new(tag, LabConfig::new(2).routers(1));
    let asn = match session {
        Session::Ebgp => 65000,
        Session::Ibgp => 64512,
    };
    let mut cfg = lab.router_config(0, asn, 64512, None).kernel_export();
    if session == Session::Ebgp {
        cfg = cfg.graceful_shutdown_import();
    }
    lab.start_router(0, RouterDaemon::Bird, cfg);
    let rt = lab.router(0).ipv4.clone();
    // The client behind the router.
    let client = Netns::new(&format!("{tag}c"));
    veth(
        &lab.router(0).ns,
        &["198.18.0.1/24"],
        &client,
        &["198.18.0.2/24"],
    );
    client.sh("ip route add default via 198.18.0.1");
    lab.router(0).ns.sh("sysctl -qw net.ipv4.ip_forward=1");
    for i in 0..2 {
        // Both nodes answer for the VIP (kube-proxy's part, done by hand here) and
        // reach the client through the router.
        lab.node(i)
            .ns
            .sh(&format!("ip route add 198.18.0.0/24 via {rt}"));
    }
    let ips = format!("--peer-router-ips={rt}");
    let asns = format!("--peer-router-asns={asn}");
    let mut flags = vec![
        ips.as_str(),
        asns.as_str(),
        "--advertise-external-ip",
        "--service-external-ip-range=203.0.113.0/24",
        METRICS,
    ];
    flags.extend_from_slice(extra);
    for i in 0..2 {
        lab.start_kube_bgp(i, &flags);
    }
    let d = DrainLab { lab, client };
    for i in 0..2 {
        d.set_vip(i, true);
    }
    for i in 0..2 {
        let ip = d.lab.node(i).ipv4.clone();
        d.lab.check(
            d.lab.rtr(0).wait_established(&ip, UP),
            &format!("BIRD: node{} not Established", i + 1),
        );
    }
    let path = d.lab.dir().join("service.yaml");
    std::fs::write(&path, SERVICE).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    d.lab
        .kubectl_ok(&["create", "-f", &path.display().to_string()]);
    let both = set(&[&d.lab.node(0).ipv4, &d.lab.node(1).ipv4]);
    d.lab.expect_router_paths(0, VIP_PREFIX, &both, UP);
    d
}

/// SIGTERM without graceful restart: the preferred node re-announces the VIP with
/// 65535:0, BIRD moves to the other node before the withdrawal (the stopping node no
/// longer answers for the VIP once BIRD has moved), then the node withdraws and
/// closes with Cease/administrative shutdown; a continuous ping loses nothing.
#[test]
fn sigterm_drains_before_withdrawing() {
    let test = "sigterm_drains_before_withdrawing";
    if !available(test, &[RouterDaemon::Bird]) || !common::require_tool(test, "curl") {
        return;
    }
    sigterm_drain(test, drain_lab("e2dt", &[DRAIN_FLAG]));
}

/// The same towards an iBGP router without any graceful-shutdown policy of its own:
/// the LOCAL_PREF 0 kube-bgp sends is enough to move it.
#[test]
fn sigterm_drains_an_ibgp_router_by_local_pref() {
    let test = "sigterm_drains_an_ibgp_router_by_local_pref";
    if !available(test, &[RouterDaemon::Bird]) || !common::require_tool(test, "curl") {
        return;
    }
    sigterm_drain(test, drain_lab_with("e2di", &[DRAIN_FLAG], Session::Ibgp));
}

/// SIGTERM to the preferred node's kube-bgp under a continuous ping; see the module
/// doc for what must hold.
fn sigterm_drain(test: &str, mut d: DrainLab) {
    let a = d.wait_normal(CHANGE);
    let b = 1 - a;
    d.lab
        .check(d.gauge(a) == Some(0), "gauge set before any drain");
    let count = 200; // 10 s at 50 ms
    let ping = d.start_ping(count);
    std::thread::sleep(Duration::from_millis(1000));
    let pid = d
        .lab
        .kube_bgp_pid(a)
        .unwrap_or_else(|| d.lab.fail("kube-bgp not running"));
    let t0 = Instant::now();
    // SAFETY: kill with the pid of the kube-bgp process this lab started.
    unsafe {
        libc::kill(pid as i32, libc::SIGTERM);
    }
    let switched = d.wait_moved_away(a, t0, DRAIN);
    let kernel = d.expect_forwarding_via(b);
    d.check_draining_gauge(a, "while draining");
    // The node goes away for maintenance as soon as the network has moved.
    d.set_vip(a, false);
    // Still announced (with 65535:0) until the wait is over: then withdrawn and closed.
    let still = d.vip_paths().iter().any(|p| p.proto == DrainLab::proto(a));
    let withdrawn = wait_for(DRAIN + CHANGE, || {
        (!d.vip_paths().iter().any(|p| p.proto == DrainLab::proto(a))).then(|| t0.elapsed())
    });
    let exited = wait_for(CHANGE, || d.lab.kube_bgp_exited(a));
    let stopped = t0.elapsed();
    let (sent, received) = d.finish_ping(ping, count);
    eprintln!(
        "{test}: BIRD moved to node{} {switched:?} after SIGTERM (router kernel {kernel:?} later); \
         node{}'s route withdrawn {withdrawn:?} after SIGTERM, kube-bgp exited by {stopped:?}; \
         ping {sent} sent, {} lost",
        b + 1,
        a + 1,
        sent.saturating_sub(received)
    );
    d.lab
        .check(still, "the drained path was gone right after the switch");
    d.lab.check(
        withdrawn.is_some_and(|w| w >= DRAIN),
        &format!("withdrawn {withdrawn:?}, want after the {DRAIN:?} wait"),
    );
    d.lab.check(
        exited.is_some_and(|s| s.success()),
        &format!("kube-bgp exit status {exited:?}"),
    );
    d.lab.check(
        sent == count && received == sent,
        &format!("ping: {sent} sent, {received} received"),
    );
    // The session ended with Cease/administrative shutdown (6/2), as BIRD logs it (its
    // "Last error" is already the reconnection attempt's) and as the other node saw it.
    let logs = d.lab.rtr(0).logs();
    d.lab.check(
        logs.contains("Received: Administrative shutdown"),
        &format!("BIRD did not receive Cease/administrative shutdown:\n{logs}"),
    );
    d.lab.check(
        !d.lab
            .log_lines(b, &["Cease/Administrative Shutdown (6/2)"])
            .is_empty(),
        &d.lab.log_tail(b, 20),
    );
    d.lab.check(
        !d.lab
            .log_lines(a, &["graceful shutdown over after", "routes withdrawn"])
            .is_empty(),
        &d.lab.log_tail(a, 20),
    );
    d.stop_now(b);
}

/// A second SIGTERM during the wait stops at once.
#[test]
fn second_sigterm_stops_at_once() {
    let test = "second_sigterm_stops_at_once";
    if !available(test, &[RouterDaemon::Bird]) || !common::require_tool(test, "curl") {
        return;
    }
    let mut d = drain_lab("e2d2", &["--graceful-shutdown-time=30s"]);
    let a = d.wait_normal(CHANGE);
    let pid = d
        .lab
        .kube_bgp_pid(a)
        .unwrap_or_else(|| d.lab.fail("kube-bgp not running"));
    let t0 = Instant::now();
    // SAFETY: kill with the pid of the kube-bgp process this lab started.
    unsafe {
        libc::kill(pid as i32, libc::SIGTERM);
    }
    d.wait_moved_away(a, t0, CHANGE);
    let t1 = Instant::now();
    // SAFETY: as above; the process is still running (it drains for 30 s).
    unsafe {
        libc::kill(pid as i32, libc::SIGINT);
    }
    let exited = wait_for(CHANGE, || d.lab.kube_bgp_exited(a));
    let took = t1.elapsed();
    eprintln!(
        "{test}: exited {took:?} after the second signal ({:?} after the first)",
        t0.elapsed()
    );
    d.lab.check(
        exited.is_some_and(|s| s.success()),
        &format!("kube-bgp exit status {exited:?}"),
    );
    d.lab.check(
        took < Duration::from_secs(5),
        &format!("took {took:?} after the second signal; the wait is 30 s"),
    );
    d.lab.check(
        !d.lab.log_lines(a, &["second stop signal"]).is_empty(),
        &d.lab.log_tail(a, 20),
    );
    d.wait_paths("the stopped node's path withdrawn", CHANGE, |p| {
        p.len() == 1 && p[0].proto == DrainLab::proto(1 - a)
    });
    d.stop_now(1 - a);
}

/// `--graceful-shutdown-on-cordon`: cordoning the preferred node (kubectl cordon on
/// the API server) re-announces its VIP with 65535:0 and BIRD moves to the other
/// node; the drained attributes survive a session reset (BIRD restarts the session
/// while the node is cordoned); uncordon restores normal announcements and BIRD moves
/// back. The node stops answering for the VIP while drained and answers again before
/// the uncordon; a continuous ping loses nothing.
#[test]
fn cordon_drains_and_uncordon_restores() {
    let test = "cordon_drains_and_uncordon_restores";
    if !available(test, &[RouterDaemon::Bird]) || !common::require_tool(test, "curl") {
        return;
    }
    let mut d = drain_lab(
        "e2dc",
        &[
            "--graceful-shutdown-on-cordon",
            "--graceful-shutdown-time=2s",
        ],
    );
    let a = d.wait_normal(CHANGE);
    let b = 1 - a;
    let name = d.lab.node(a).name.clone();
    let count = 400; // 20 s at 50 ms
    let ping = d.start_ping(count);
    std::thread::sleep(Duration::from_millis(1000));
    let t0 = Instant::now();
    d.lab.kubectl_ok(&["cordon", &name]);
    let switched = d.wait_moved_away(a, t0, CHANGE);
    let kernel = d.expect_forwarding_via(b);
    d.check_draining_gauge(a, "while cordoned");
    d.set_vip(a, false);
    // A session reset while cordoned: the new session carries the drained attributes.
    let out = d.birdc(&["restart", &DrainLab::proto(a)]);
    d.lab
        .check(out.contains("restarted"), &format!("birdc restart: {out}"));
    let reset = Instant::now();
    d.wait_paths("drained path back after the reset", UP, |p| {
        p.iter().any(|x| x.proto == DrainLab::proto(a))
    });
    let after = d.wait_paths("drained path after the reset", CHANGE, |p| {
        p.len() == 2
            && p.iter()
                .any(|x| x.proto == DrainLab::proto(a) && x.gshut && !x.best)
    });
    let reset_took = reset.elapsed();
    d.lab.check(
        d.best_node() == Some(b),
        &format!("best moved back to the cordoned node after the reset: {after:?}"),
    );
    // Back in service: the node answers again, then is uncordoned.
    d.set_vip(a, true);
    let t1 = Instant::now();
    d.lab.kubectl_ok(&["uncordon", &name]);
    d.wait_paths("normal attributes after uncordon", CHANGE, |p| {
        p.len() == 2 && p.iter().all(|x| !x.gshut)
    });
    let restored = t1.elapsed();
    let back = d.wait_normal(CHANGE);
    let gauge = d.gauge(a);
    let (sent, received) = d.finish_ping(ping, count);
    eprintln!(
        "{test}: cordon → BIRD on node{} after {switched:?} (router kernel {kernel:?} later); \
         session reset while cordoned: drained path back in {reset_took:?}; \
         uncordon → normal attributes after {restored:?}, best node{}; \
         ping {sent} sent, {} lost",
        b + 1,
        back + 1,
        sent.saturating_sub(received)
    );
    d.lab.check(
        back == a,
        &format!(
            "after uncordon BIRD prefers node{}, not node{} again",
            back + 1,
            a + 1
        ),
    );
    d.lab
        .check(gauge == Some(0), &format!("gauge {gauge:?} after uncordon"));
    d.lab.check(
        sent == count && received == sent,
        &format!("ping: {sent} sent, {received} received"),
    );
    d.lab.check(
        !d.lab
            .log_lines(
                a,
                &["graceful shutdown over: normal announcements restored"],
            )
            .is_empty(),
        &d.lab.log_tail(a, 20),
    );
    // Cordoned for longer than the stop's wait, then stopped: the routers moved long
    // ago, so SIGTERM closes the sessions without waiting again.
    d.lab.kubectl_ok(&["cordon", &name]);
    d.wait_paths("drained again", CHANGE, |p| {
        p.iter().any(|x| x.proto == DrainLab::proto(a) && x.gshut)
    });
    std::thread::sleep(Duration::from_millis(2500));
    let pid = d
        .lab
        .kube_bgp_pid(a)
        .unwrap_or_else(|| d.lab.fail("kube-bgp not running"));
    let t2 = Instant::now();
    // SAFETY: kill with the pid of the kube-bgp process this lab started.
    unsafe {
        libc::kill(pid as i32, libc::SIGTERM);
    }
    let exited = wait_for(CHANGE, || d.lab.kube_bgp_exited(a));
    let stop_took = t2.elapsed();
    eprintln!("{test}: SIGTERM after a 2.5 s cordon: exited in {stop_took:?}");
    d.lab.check(
        exited.is_some_and(|s| s.success()) && stop_took < Duration::from_millis(1500),
        &format!("exit {exited:?} after {stop_took:?}; the 2 s wait was already served"),
    );
    d.lab.check(
        !d.lab.log_lines(a, &["no further wait"]).is_empty(),
        &d.lab.log_tail(a, 20),
    );
    d.stop_now(b);
}

/// The kernel route of node `i` for `prefix`: its next hop.
fn node_next_hop(lab: &Lab, i: usize, prefix: &str) -> Option<String> {
    let out = lab.node(i).ns.run(&format!("ip route show {prefix}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut words = text.split_whitespace();
    words.find(|w| *w == "via")?;
    words.next().map(str::to_string)
}

/// RFC 8326 §4 on the node: two routers announce the same prefix; when the one whose
/// path the node uses re-announces it with 65535:0 (on the live session), kube-bgp gives
/// that path LOCAL_PREF 0 and moves its kernel route to the other router, keeping the
/// drained path as a backup; without the community it moves back.
#[test]
fn received_graceful_shutdown_moves_the_node_route() {
    let test = "received_graceful_shutdown_moves_the_node_route";
    if !available(test, &[RouterDaemon::Bird]) {
        return;
    }
    const PREFIX: &str = "198.51.100.0/24";
    let mut lab = Lab::new("e2dm", LabConfig::new(1).routers(2));
    for j in 0..2 {
        let cfg = lab
            .router_config(j, 65001 + j as u32, 64512, None)
            .prefix(PREFIX);
        lab.start_router(j, RouterDaemon::Bird, cfg);
    }
    let (r0, r1) = (lab.router(0).ipv4.clone(), lab.router(1).ipv4.clone());
    let ips = format!("--peer-router-ips={r0},{r1}");
    lab.start_kube_bgp(0, &[&ips, "--peer-router-asns=65001,65002"]);
    // The path in use is known once both routers' paths are in node1's RIB and its
    // kernel route follows the best one. The first route installed need not be that
    // path: a router may send its routes seconds after its session came up (BIRD 2.0
    // sometimes sends its first UPDATE only with its next KEEPALIVE), and until then the
    // other router's path is the only one.
    let via = wait_for(UP, || {
        let rows = lab.rib_rows(0);
        let paths: Vec<_> = rows.iter().filter(|r| r.prefix == PREFIX).collect();
        let both = [&r0, &r1].iter().all(|a| paths.iter().any(|r| r.source == **a));
        let best = paths.iter().find(|r| r.best)?;
        (both && node_next_hop(&lab, 0, PREFIX).as_deref() == Some(best.next_hop.as_str()))
            .then(|| best.source.clone())
    })
    .unwrap_or_else(|| {
        lab.fail(&format!(
            "node1 never had {PREFIX} from both routers, routed via the best path: RIB {:?}, kernel via {:?}",
            lab.rib_rows(0),
            node_next_hop(&lab, 0, PREFIX)
        ))
    });
    let (p, q) = if via == r0 { (0, &r1) } else { (1, &r0) };
    let from_p = lab.router(p).ipv4.clone();
    let sessions = lab.transitions(0);
    lab.check(sessions.len() == 2, &format!("sessions: {sessions:?}"));
    let t0 = Instant::now();
    lab.rtr_mut(p).set_export_communities(&[(65535, 0)]);
    let moved = wait_for(CHANGE, || {
        (node_next_hop(&lab, 0, PREFIX).as_deref() == Some(q.as_str())).then(|| t0.elapsed())
    });
    let rows = lab.rib_rows(0);
    let drained = rows
        .iter()
        .find(|r| r.prefix == PREFIX && r.source == from_p)
        .cloned();
    eprintln!("{test}: node1's kernel route moved to {q} {moved:?} after the re-announcement");
    lab.check(
        moved.is_some(),
        &format!(
            "node1 still routes {PREFIX} via {:?}; RIB {rows:?}",
            node_next_hop(&lab, 0, PREFIX)
        ),
    );
    lab.check(
        drained.as_ref().is_some_and(|r| {
            !r.best && r.local_pref == Some(0) && r.communities.iter().any(|c| c == "65535:0")
        }),
        &format!("the drained path in node1's RIB: {drained:?}"),
    );
    lab.rtr_mut(p).set_export_communities(&[]);
    let back = wait_for(CHANGE, || {
        (node_next_hop(&lab, 0, PREFIX).as_deref() == Some(from_p.as_str())).then_some(())
    });
    lab.check(
        back.is_some(),
        &format!(
            "node1 routes {PREFIX} via {:?} after the community went, want {from_p}",
            node_next_hop(&lab, 0, PREFIX)
        ),
    );
    // Re-announcements on the live sessions: none of them was reset.
    let after = lab.transitions(0);
    lab.check(
        after == sessions,
        &format!("sessions reset: {sessions:?} -> {after:?}"),
    );
}
