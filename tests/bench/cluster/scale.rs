//! `scale`: one node's view of a large cluster, simulated cheaply. The fake API server
//! holds N kubelet-shaped Nodes (pod CIDRs, addresses, annotations) and S Services with
//! one EndpointSlice each; one kube-bgp (the device under test) runs as node `dut0`; its
//! BGP peers are simulated (sim.rs) in a second namespace: every other node in full-mesh
//! mode, or two route reflectors announcing every node's pod CIDR in RR-client mode.
//!
//! Measured per (mode, N): start-up (spawn → every watched kind listed, → all sessions
//! Established, → every pod CIDR in the kernel), CPU (on-CPU ns of all threads from
//! /proc) and RSS while idle and under a steady churn of writes that change nothing
//! kube-bgp acts on (Node status heartbeats, EndpointSlice pod moves: the API server's
//! churn hook), and, under that churn, the reaction to real changes: a Node deleted →
//! its route gone from the kernel (full mesh: its session ends; RR client: the path
//! the reflectors still send is no pod CIDR of any node any more, so the import rules
//! drop it: a replan and a re-evaluation of every path), and a node announcing / withdrawing a
//! more-specific of its own pod CIDR (what the import allow-list accepts from a node)
//! → kernel. A probe kube-bgp refuses ends the run with an error naming the reason.
//!
//! Start-up is timed from the route monitor's notifications, each looked at once as it
//! comes (`RouteArrivals`); each run records when half and all of the pod CIDRs were in,
//! the last ones, and, with `--dut-verbosity 1`, kube-bgp's kernel passes from its log
//! (a slow start-up then shows whether the routes waited for kube-bgp or for the
//! measurement). `--startups N` runs only the start-up, N times, each in a fresh
//! environment whose directory keeps kube-bgp's log.
//!
//! Owns: the namespaces, the API server, the simulator, kube-bgp and the run records.
//! Must not: count the API server's or the simulator's cost as kube-bgp's.

use std::collections::HashSet;
use std::fs::File;
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::common::apiserver::FakeApiServer;
use super::common::{ChildGuard, Netns, kube_bgp_bin, sh};
use super::events::{commit_after, line_time, realtime_ns};
use super::monitor::{RouteMonitor, RouteNote, first_event};
use super::procstat;
use super::sim::{Sim, SimPeer, SimRoute};
use super::stats::{fmt_ms, group_thousands, md_table, median, summarize};
use super::{interrupted, loadavg};

const DUT_IP: Ipv4Addr = Ipv4Addr::new(10, 255, 255, 254);
const DUT_MAC: &str = "02:00:0a:ff:ff:fe";
const SIM_MAC: &str = "02:00:0a:ff:00:01";
const CLUSTER_ID: Ipv4Addr = Ipv4Addr::new(0, 0, 0, 1);

pub(crate) struct ScaleOpts {
    pub(crate) sizes: Vec<usize>,
    pub(crate) modes: Vec<String>,
    /// Full mesh only up to this many Nodes (peers = N - 1).
    pub(crate) mesh_max: usize,
    pub(crate) services: usize,
    pub(crate) node_churn: f64,
    pub(crate) slice_churn: f64,
    pub(crate) window: Duration,
    pub(crate) idle: Duration,
    pub(crate) reactions: usize,
    /// `--startups N`: only the start-up, N times per (mode, size), each in a fresh
    /// environment, with the per-route arrival times and the slowest routes recorded
    /// (0: the full runs).
    pub(crate) startups: usize,
    /// kube-bgp's `-v` (1 logs every kernel pass: the evidence behind a slow start-up).
    pub(crate) dut_verbosity: u32,
    pub(crate) out: PathBuf,
}

impl Default for ScaleOpts {
    fn default() -> ScaleOpts {
        ScaleOpts {
            sizes: vec![1000, 5000],
            modes: vec!["mesh".into(), "rr".into()],
            mesh_max: 1000,
            services: 10_000,
            node_churn: 10.0,
            slice_churn: 5.0,
            window: Duration::from_secs(60),
            idle: Duration::from_secs(30),
            reactions: 30,
            startups: 0,
            dut_verbosity: 0,
            out: PathBuf::new(),
        }
    }
}

/// Node `i` (1..N-1) of the simulated cluster: its address and pod CIDR.
fn node_ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 255, 0, 0)) + i as u32)
}

fn pod_cidr(i: usize) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 200, 0, 0)) + ((i as u32) << 8))
}

/// Where kube-bgp serves /metrics inside the DUT's namespace (read only between
/// measurements: to tell a refused probe from a slow one).
const METRICS_PORT: u16 = 20244;

/// A probe for the BGP reactions, announced as a real node would: the upper half of
/// `node`'s pod CIDR (a more-specific the node owns, distinct in the kernel from the
/// /24 already installed) with that node's address as next hop, both read back from
/// the API server, so the import allow-list accepts it.
struct Probe {
    prefix: Ipv4Addr,
    len: u8,
    next_hop: Ipv4Addr,
}

impl Probe {
    fn of(api: &FakeApiServer, node: &str) -> Result<Probe, String> {
        let (code, out) = api.call(
            "GET",
            &format!("/api/v1/nodes/{node}"),
            None,
            "application/json",
        );
        if code != 200 {
            return Err(format!("GET node {node}: HTTP {code}: {out}"));
        }
        let v: serde_json::Value =
            serde_json::from_str(&out).map_err(|e| format!("node {node}: {e}"))?;
        let cidr = v["spec"]["podCIDR"]
            .as_str()
            .ok_or_else(|| format!("node {node} has no spec.podCIDR"))?;
        let (net, len) = cidr
            .split_once('/')
            .and_then(|(a, l)| Some((a.parse::<Ipv4Addr>().ok()?, l.parse::<u8>().ok()?)))
            .filter(|&(_, l)| l < 32)
            .ok_or_else(|| {
                format!("node {node}: pod CIDR {cidr:?} is not an IPv4 prefix shorter than /32")
            })?;
        let next_hop = v["status"]["addresses"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["type"] == "InternalIP")
            .and_then(|a| a["address"].as_str()?.parse::<Ipv4Addr>().ok())
            .ok_or_else(|| format!("node {node} has no IPv4 InternalIP"))?;
        let half = 1u32 << (31 - len);
        Ok(Probe {
            prefix: Ipv4Addr::from(u32::from(net) | half),
            len: len + 1,
            next_hop,
        })
    }

    fn route(&self) -> String {
        format!("{}/{}", self.prefix, self.len)
    }
}

/// The sum of kube-bgp's `kube_bgp_import_refused_total` samples and the non-zero ones
/// (by reason), read from its /metrics in the DUT's namespace.
fn import_refused(dut: &Netns) -> Result<(u64, String), String> {
    let out = dut.run(&format!(
        "curl -sf -m 5 http://127.0.0.1:{METRICS_PORT}/metrics"
    ));
    if !out.status.success() {
        return Err(format!(
            "cannot read kube-bgp's /metrics on port {METRICS_PORT}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut total = 0;
    let mut which = Vec::new();
    for l in text
        .lines()
        .filter(|l| l.starts_with("kube_bgp_import_refused_total{"))
    {
        let Some((labels, v)) = l.rsplit_once(' ') else {
            continue;
        };
        let v = v.parse::<f64>().unwrap_or(0.0) as u64;
        if v > 0 {
            total += v;
            which.push(format!("{labels} {v}"));
        }
    }
    Ok((total, which.join(", ")))
}

/// What one run measured.
#[derive(Default)]
struct ScaleRun {
    mode: String,
    nodes: usize,
    peers: usize,
    services: usize,
    api_synced_s: Option<f64>,
    sessions_s: Option<f64>,
    routes_s: Option<f64>,
    rss_idle_mb: Option<f64>,
    rss_churn_mb: Option<f64>,
    hwm_mb: Option<f64>,
    cpu_idle_pct: Option<f64>,
    cpu_churn_pct: Option<f64>,
    churn_node_per_s: Option<f64>,
    churn_slice_per_s: Option<f64>,
    api_delete_ms: Vec<f64>,
    bgp_announce_ms: Vec<f64>,
    bgp_withdraw_ms: Vec<f64>,
    /// Start-up: when half the pod CIDRs were in the kernel (from the spawn).
    routes_half_s: Option<f64>,
    /// Start-up: the last pod CIDRs to reach the kernel, latest first (prefix, s).
    last_routes: Vec<(String, f64)>,
    /// Start-up: kube-bgp's kernel passes as it logged them with `-v 1` or more
    /// (seconds from the spawn, and what the pass did).
    kernel_passes: Vec<(f64, String)>,
    notes: Vec<String>,
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

fn secs(from_ns: i64, to_ns: i64) -> f64 {
    (to_ns - from_ns) as f64 / 1e9
}

/// Samples `pid`'s RSS once a second for `d`; returns (median RSS MB, CPU % over `d`).
fn window(pid: u32, d: Duration) -> (Option<f64>, Option<f64>) {
    let c0 = procstat::cpu_ns(pid);
    let t0 = Instant::now();
    let mut rss = Vec::new();
    while t0.elapsed() < d && !interrupted() {
        std::thread::sleep(Duration::from_secs(1).min(d.saturating_sub(t0.elapsed())));
        if let Some(m) = procstat::mem(pid) {
            rss.push(mb(m.rss_kb));
        }
    }
    let c1 = procstat::cpu_ns(pid);
    let wall = t0.elapsed().as_nanos() as f64;
    let cpu = match (c0, c1) {
        (Some(a), Some(b)) if wall > 0.0 => Some((b.saturating_sub(a)) as f64 / wall * 100.0),
        _ => None,
    };
    (median(&rss), cpu)
}

/// Waits until `pid` spends under 2 % of a core for 2 s in a row (bounded).
fn wait_quiet(pid: u32, bound: Duration) -> bool {
    let t0 = Instant::now();
    let mut quiet = 0;
    let mut last = procstat::cpu_ns(pid);
    while t0.elapsed() < bound && !interrupted() {
        std::thread::sleep(Duration::from_secs(1));
        let now = procstat::cpu_ns(pid);
        let (Some(a), Some(b)) = (last, now) else {
            return false;
        };
        quiet = if b.saturating_sub(a) < 20_000_000 {
            quiet + 1
        } else {
            0
        };
        if quiet >= 2 {
            return true;
        }
        last = now;
    }
    false
}

struct ScaleEnv {
    dut: Netns,
    sim_ns: Netns,
    dir: PathBuf,
}

impl ScaleEnv {
    /// Two namespaces on one veth: the DUT at 10.255.255.254/16, the simulated nodes at
    /// 10.255.0.1.. on the other side; fixed MACs and permanent neighbour entries on both
    /// sides (no ARP for thousands of addresses, nothing against the neighbour table's
    /// garbage-collection thresholds).
    fn new(nodes: usize, dir: PathBuf) -> ScaleEnv {
        let dut = Netns::new("scd");
        let sim_ns = Netns::new("scs");
        sh(&format!(
            "ip link add sd0 netns {d} address {DUT_MAC} type veth peer name ss0 netns {s} address {SIM_MAC}",
            d = dut.name,
            s = sim_ns.name
        ));
        sh(&format!(
            "ip -n {d} addr add {DUT_IP}/16 dev sd0 && ip -n {d} link set sd0 up && \
             ip -n {s} link set ss0 up && ip -n {s} neigh add {DUT_IP} lladdr {DUT_MAC} dev ss0 nud permanent",
            d = dut.name,
            s = sim_ns.name
        ));
        let mut addrs = String::new();
        let mut neigh = String::new();
        for i in 1..nodes {
            addrs += &format!("addr add {}/16 dev ss0\n", node_ip(i));
            neigh += &format!(
                "neigh add {} lladdr {SIM_MAC} dev sd0 nud permanent\n",
                node_ip(i)
            );
        }
        let a = dir.join("addrs.batch");
        let n = dir.join("neigh.batch");
        std::fs::write(&a, addrs).unwrap_or_else(|e| panic!("{}: {e}", a.display()));
        std::fs::write(&n, neigh).unwrap_or_else(|e| panic!("{}: {e}", n.display()));
        sh(&format!("ip -n {} -batch {}", sim_ns.name, a.display()));
        sh(&format!("ip -n {} -batch {}", dut.name, n.display()));
        ScaleEnv { dut, sim_ns, dir }
    }
}

impl Drop for ScaleEnv {
    fn drop(&mut self) {
        // The DUT side first: its thousands of routes go synchronously, not in the
        // background of the next run.
        let _ = super::common::run(&format!("ip -n {} link del sd0", self.dut.name));
    }
}

fn api_post(api: &FakeApiServer, path: &str, body: &str) -> Result<String, String> {
    let (code, out) = api.call("POST", path, Some(body), "application/json");
    if (200..300).contains(&code) {
        Ok(out)
    } else {
        Err(format!("POST {path}: HTTP {code}: {out}"))
    }
}

fn load_cluster(api: &FakeApiServer, mode: &str, n: usize, services: usize) -> Result<(), String> {
    let dut_ann = if mode == "rr" {
        r#"{"kube-router.io/rr.client": "1"}"#
    } else {
        "{}"
    };
    api_post(
        api,
        "/__test/load",
        &format!(
            r#"{{"resource":"nodes","generate":{{"count":1,"prefix":"dut","start":0,"first_ip":"{DUT_IP}","pod_base":"10.244.0.0","annotations":{dut_ann}}}}}"#
        ),
    )?;
    // Generated names are prefix + index: the DUT's Node is "dut0".
    let generated = |start: usize, count: usize, ann: &str| {
        format!(
            r#"{{"resource":"nodes","generate":{{"count":{count},"start":{start},"prefix":"node-","first_ip":"{}","pod_base":"{}","annotations":{ann}}}}}"#,
            node_ip(start),
            pod_cidr(start)
        )
    };
    if mode == "rr" {
        api_post(
            api,
            "/__test/load",
            &generated(1, 2, r#"{"kube-router.io/rr.server": "1"}"#),
        )?;
        if n > 3 {
            api_post(
                api,
                "/__test/load",
                &generated(3, n - 3, r#"{"kube-router.io/rr.client": "1"}"#),
            )?;
        }
    } else {
        api_post(api, "/__test/load", &generated(1, n - 1, "{}"))?;
    }
    if services > 0 {
        api_post(
            api,
            "/__test/load",
            &format!(
                r#"{{"resource":"services","namespace":"bench","generate":{{"count":{services},"endpoints":3}}}}"#
            ),
        )?;
    }
    Ok(())
}

fn peers_for(mode: &str, n: usize) -> Vec<SimPeer> {
    let own = |i: usize| SimRoute {
        prefix: pod_cidr(i),
        len: 24,
        next_hop: node_ip(i),
        reflected: None,
    };
    if mode == "rr" {
        (1..=2)
            .map(|s| SimPeer {
                addr: node_ip(s),
                routes: (1..n)
                    .map(|j| SimRoute {
                        reflected: (j != s).then_some((node_ip(j), CLUSTER_ID)),
                        ..own(j)
                    })
                    .collect(),
            })
            .collect()
    } else {
        (1..n)
            .map(|i| SimPeer {
                addr: node_ip(i),
                routes: vec![own(i)],
            })
            .collect()
    }
}

/// The start-up's route arrivals: the first notification adding each pod CIDR (with a
/// next hop) after the spawn, gathered from the monitor's events as they come, each
/// event looked at once (a scan of every event for every prefix at each wake-up costs
/// O(prefixes × events): seconds of CPU at 5,000 Nodes, on the machine under test).
struct RouteArrivals {
    waiting: HashSet<String>,
    /// (prefix, CLOCK_REALTIME ns) in arrival order.
    first: Vec<(String, i64)>,
    /// Events already looked at (the monitor's list only grows during the start-up).
    seen: usize,
    after_ns: i64,
}

impl RouteArrivals {
    fn new(prefixes: &[String], after_ns: i64) -> RouteArrivals {
        RouteArrivals {
            waiting: prefixes.iter().cloned().collect(),
            first: Vec::with_capacity(prefixes.len()),
            seen: 0,
            after_ns,
        }
    }

    /// Takes the events not looked at yet.
    fn absorb(&mut self, events: &[RouteNote]) {
        for e in events.get(self.seen..).unwrap_or_default() {
            if e.ns == 0
                && e.added
                && e.nexthops >= 1
                && e.t_ns >= self.after_ns
                && self.waiting.remove(&e.prefix)
            {
                self.first.push((e.prefix.clone(), e.t_ns));
            }
        }
        self.seen = events.len();
    }

    /// When the last prefix arrived, once all have.
    fn all_in(&self) -> Option<i64> {
        if !self.waiting.is_empty() {
            return None;
        }
        self.first.iter().map(|f| f.1).max()
    }
}

/// kube-bgp's kernel passes in its log (`-v 1`: `kernel: reconciled: +A ~R -D in ...`),
/// as (seconds from `t0_ns`, the line's text after `reconciled: `).
fn kernel_passes(log: &str, t0_ns: i64) -> Vec<(f64, String)> {
    log.lines()
        .filter_map(|l| {
            let (_, what) = l.split_once(" kernel: reconciled: ")?;
            Some((secs(t0_ns, line_time(l)?), what.to_string()))
        })
        .collect()
}

fn one_run(opts: &ScaleOpts, mode: &str, n: usize) -> Result<ScaleRun, String> {
    one_run_in(opts, mode, n, &format!("{mode}-{n}"), false)
}

/// One run in `opts.out`/`dirname`; `startup_only`: ends after the start-up.
fn one_run_in(
    opts: &ScaleOpts,
    mode: &str,
    n: usize,
    dirname: &str,
    startup_only: bool,
) -> Result<ScaleRun, String> {
    let mut run = ScaleRun {
        mode: mode.into(),
        nodes: n,
        peers: if mode == "rr" { 2 } else { n - 1 },
        services: opts.services,
        ..ScaleRun::default()
    };
    let dir = opts.out.join(dirname);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let env = ScaleEnv::new(n, dir.clone());
    let api = FakeApiServer::start("127.0.0.1", Some(&env.dut));
    api.hook("commit-log?enable=1");
    let t_load = Instant::now();
    load_cluster(&api, mode, n, opts.services)?;
    eprintln!(
        "scale {mode} {n}: API loaded in {:.1}s",
        t_load.elapsed().as_secs_f64()
    );
    let sim = Sim::start(&env.sim_ns.name, peers_for(mode, n))?;
    let mon =
        RouteMonitor::start(std::slice::from_ref(&env.dut.name)).map_err(|e| e.to_string())?;
    let log_path = env.dir.join("kube-bgp.log");
    let log = File::create(&log_path).map_err(|e| e.to_string())?;
    let err = log.try_clone().map_err(|e| e.to_string())?;
    let t_spawn = realtime_ns();
    let child = env
        .dut
        .command(&dut_bin())
        .arg(format!("--kubeconfig={}", api.kubeconfig_token().display()))
        .args([
            "--hostname-override=dut0",
            "--health-port=0",
            "--metrics-addr=127.0.0.1",
            &format!("--metrics-port={METRICS_PORT}"),
            "--enable-overlay=false",
            "--advertise-cluster-ip=true",
        ])
        .args(["-v", &opts.dut_verbosity.to_string()])
        .arg(format!(
            "--ctl-socket={}",
            env.dir.join("ctl.sock").display()
        ))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("cannot start kube-bgp: {e}"))?;
    let guard = ChildGuard::new(child, "kube-bgp (scale)");
    let pid = guard.pid();
    let pods: Vec<String> = (1..n).map(|i| format!("{}/24", pod_cidr(i))).collect();
    // Start-up: all sessions, every pod CIDR in the kernel.
    let mut arrivals = RouteArrivals::new(&pods, t_spawn);
    let up = mon.wait(Duration::from_secs(600), |ev| {
        arrivals.absorb(ev);
        if sim.stats().established < run.peers {
            return None;
        }
        arrivals.all_in()
    });
    match up {
        Some(t) => run.routes_s = Some(secs(t_spawn, t)),
        None => run.notes.push(format!(
            "start-up incomplete after 600 s: {} sessions, {} of {} pod CIDRs in the kernel",
            sim.stats().established,
            arrivals.first.len(),
            pods.len()
        )),
    }
    if let Some(&(_, t)) = arrivals.first.get(pods.len() / 2) {
        run.routes_half_s = Some(secs(t_spawn, t));
    }
    run.last_routes = arrivals
        .first
        .iter()
        .rev()
        .take(3)
        .map(|(p, t)| (p.clone(), secs(t_spawn, *t)))
        .collect();
    let st = sim.stats();
    if st.established >= run.peers {
        run.sessions_s = Some(secs(t_spawn, st.last_established_ns));
    }
    let log_text = std::fs::read_to_string(&log_path).unwrap_or_default();
    run.api_synced_s = log_text
        .lines()
        .filter(|l| l.contains(" kube: listed kind="))
        .filter_map(line_time)
        .max()
        .map(|t| secs(t_spawn, t));
    if startup_only {
        // The pass's log line follows its last route's notification: read it a moment
        // later.
        std::thread::sleep(Duration::from_secs(1));
        let log_text = std::fs::read_to_string(&log_path).unwrap_or_default();
        run.kernel_passes = kernel_passes(&log_text, t_spawn);
        if mon.overflows().iter().any(|&o| o > 0) {
            run.notes
                .push("route notifications lost (ENOBUFS): start-up times may be late".into());
        }
        return Ok(run);
    }
    if !wait_quiet(pid, Duration::from_secs(120)) {
        run.notes
            .push("kube-bgp not quiet within 120 s of start-up".into());
    }
    let log_text = std::fs::read_to_string(&log_path).unwrap_or_default();
    run.kernel_passes = kernel_passes(&log_text, t_spawn);
    // Idle window, then churn.
    let (rss, cpu) = window(pid, opts.idle);
    run.rss_idle_mb = rss;
    run.cpu_idle_pct = cpu;
    api.hook(&format!(
        "churn?node_updates={}&slice_updates={}&seed=1",
        opts.node_churn, opts.slice_churn
    ));
    std::thread::sleep(Duration::from_secs(3));
    let c0 = churn_counts(&api);
    let t_c0 = Instant::now();
    let (rss, cpu) = window(pid, opts.window);
    let c1 = churn_counts(&api);
    let wall = t_c0.elapsed().as_secs_f64();
    run.rss_churn_mb = rss;
    run.cpu_churn_pct = cpu;
    if let (Some(a), Some(b)) = (c0, c1) {
        run.churn_node_per_s = Some((b.0 - a.0) / wall);
        run.churn_slice_per_s = Some((b.1 - a.1) / wall);
    }
    reactions(opts, &env, &api, &sim, &mon, &mut run)?;
    api.hook("churn?node_updates=0&slice_updates=0");
    run.hwm_mb = procstat::mem(pid).map(|m| mb(m.hwm_kb));
    if mon.overflows().iter().any(|&o| o > 0) {
        run.notes
            .push("route notifications lost (ENOBUFS): reaction times may be late".into());
    }
    let st = sim.stats();
    if !st.errors.is_empty() {
        run.notes
            .push(format!("simulator: {}", st.errors.join("; ")));
    }
    drop(guard);
    drop(sim);
    drop(mon);
    Ok(run)
}

/// The kube-bgp binary measured: `KUBE_BGP_BIN` (e.g. the static musl release build
/// users run, whose allocator differs from glibc's), else the one `cargo bench` built.
fn dut_bin() -> String {
    std::env::var("KUBE_BGP_BIN").unwrap_or_else(|_| kube_bgp_bin().to_string())
}

/// (node updates, slice updates) the churn hook has done so far.
fn churn_counts(api: &FakeApiServer) -> Option<(f64, f64)> {
    let v: serde_json::Value = serde_json::from_str(&api.hook("churn")).ok()?;
    Some((v["node_updates"].as_f64()?, v["slice_updates"].as_f64()?))
}

fn reactions(
    opts: &ScaleOpts,
    env: &ScaleEnv,
    api: &FakeApiServer,
    sim: &Sim,
    mon: &RouteMonitor,
    run: &mut ScaleRun,
) -> Result<(), String> {
    let (mode, n) = (run.mode.clone(), run.nodes);
    let timeout = Duration::from_secs(30);
    let (refused0, _) = import_refused(&env.dut)?;
    // Mesh: the announcing nodes come from the lower half, the deleted ones from the top.
    let lower = ((n - 1) / 2).max(1);
    for k in 0..opts.reactions {
        if interrupted() {
            return Ok(());
        }
        // BGP: a node announces, then withdraws, a more-specific of its own pod CIDR
        // (mesh: on its own session; RR: reflected by the first server, next hop and
        // originator kept as RFC 4456 reflection keeps them).
        let (from, j) = if mode == "rr" {
            (node_ip(1), 3 + k % (n - 3).max(1))
        } else {
            let j = 1 + k % lower;
            (node_ip(j), j)
        };
        'bgp: {
            let probe = Probe::of(api, &format!("node-{j}"))?;
            let r = SimRoute {
                prefix: probe.prefix,
                len: probe.len,
                next_hop: probe.next_hop,
                reflected: (mode == "rr").then_some((probe.next_hop, CLUSTER_ID)),
            };
            let p = probe.route();
            let Some(t0) = sim.announce(from, &r) else {
                run.notes.push(format!("{p}: simulated peer {from} not up"));
                break 'bgp;
            };
            // Waited in 1 s slices: a refusal (counted on /metrics) ends the run at once.
            let end = Instant::now() + timeout;
            let installed = loop {
                let slice =
                    Duration::from_secs(1).min(end.saturating_duration_since(Instant::now()));
                if let Some(t) = mon.wait(slice, |ev| first_event(ev, 0, &p, true, 1, t0)) {
                    break Some(t);
                }
                let (refused, which) = import_refused(&env.dut)?;
                if refused > refused0 {
                    return Err(format!(
                        "probe {p} (next hop {nh}) announced by simulated peer {from} was refused by kube-bgp's import rules ({which}); the reaction rows would only measure timeouts: see {log}",
                        nh = r.next_hop,
                        log = env.dir.join("kube-bgp.log").display()
                    ));
                }
                if Instant::now() >= end {
                    break None;
                }
            };
            match installed {
                Some(t) => run.bgp_announce_ms.push((t - t0) as f64 / 1e6),
                None => {
                    run.notes
                        .push(format!("{p} not installed within {timeout:?}"));
                    break 'bgp;
                }
            }
            std::thread::sleep(Duration::from_millis(200));
            if let Some(t0) = sim.withdraw(from, probe.prefix, probe.len) {
                match mon.wait(timeout, |ev| first_event(ev, 0, &p, false, 0, t0)) {
                    Some(t) => run.bgp_withdraw_ms.push((t - t0) as f64 / 1e6),
                    None => run
                        .notes
                        .push(format!("{p} not removed within {timeout:?}")),
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        // API: a Node deleted → its route gone (full mesh: the peer and its routes go;
        // RR: the reflected path is refused). Taken from the top, away from the probes'
        // nodes (RR: 3..3 + reactions).
        let deletable = if mode == "rr" {
            n - 1 - k > 3 + opts.reactions
        } else {
            n - 1 - k > lower
        };
        if deletable {
            let i = n - 1 - k;
            let name = format!("node-{i}");
            let since = realtime_ns();
            let (code, out) = api.call(
                "DELETE",
                &format!("/api/v1/nodes/{name}"),
                None,
                "application/json",
            );
            if code != 200 {
                run.notes.push(format!("delete {name}: {code} {out}"));
                continue;
            }
            let log =
                std::fs::read_to_string(api.state_dir().join("commits.jsonl")).unwrap_or_default();
            let Some(c) = commit_after(&log, "nodes", &format!("/{name}"), "DELETED", since) else {
                run.notes.push(format!("no commit for deleting {name}"));
                continue;
            };
            let p = format!("{}/24", pod_cidr(i));
            match mon.wait(timeout, |ev| first_event(ev, 0, &p, false, 0, c.t_ns)) {
                Some(t) => run.api_delete_ms.push((t - c.t_ns) as f64 / 1e6),
                None => run.notes.push(format!(
                    "{p} not removed within {timeout:?} of deleting {name}"
                )),
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        mon.forget_before(realtime_ns() - 30_000_000_000);
    }
    let (refused, which) = import_refused(&env.dut)?;
    if refused > refused0 {
        run.notes
            .push(format!("import refusals during the reactions: {which}"));
    }
    Ok(())
}

fn json(r: &ScaleRun) -> serde_json::Value {
    serde_json::json!({
        "mode": r.mode, "nodes": r.nodes, "peers": r.peers, "services": r.services,
        "api_synced_s": r.api_synced_s, "sessions_s": r.sessions_s, "routes_s": r.routes_s,
        "rss_idle_mb": r.rss_idle_mb, "rss_churn_mb": r.rss_churn_mb, "hwm_mb": r.hwm_mb,
        "cpu_idle_pct": r.cpu_idle_pct, "cpu_churn_pct": r.cpu_churn_pct,
        "churn_node_per_s": r.churn_node_per_s, "churn_slice_per_s": r.churn_slice_per_s,
        "api_delete_ms": r.api_delete_ms, "bgp_announce_ms": r.bgp_announce_ms,
        "bgp_withdraw_ms": r.bgp_withdraw_ms, "routes_half_s": r.routes_half_s,
        "last_routes": r.last_routes, "kernel_passes": r.kernel_passes,
        "notes": r.notes, "loadavg": loadavg(),
    })
}

fn opt(x: Option<f64>, digits: usize) -> String {
    x.map(|v| format!("{v:.digits$}"))
        .unwrap_or_else(|| "–".into())
}

fn p50_p99(v: &[f64]) -> String {
    summarize(v)
        .map(|s| format!("{} / {} ({})", fmt_ms(s.p50), fmt_ms(s.p99), s.n))
        .unwrap_or_else(|| "–".into())
}

fn render(runs: &[ScaleRun], opts: &ScaleOpts) -> String {
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            vec![
                if r.mode == "rr" {
                    "RR client of 2".into()
                } else {
                    "full mesh".into()
                },
                group_thousands(r.nodes as i64),
                group_thousands(r.peers as i64),
                group_thousands(r.services as i64),
                opt(r.api_synced_s, 2),
                opt(r.sessions_s, 2),
                opt(r.routes_s, 2),
                opt(r.rss_idle_mb, 1),
                opt(r.rss_churn_mb, 1),
                opt(r.hwm_mb, 1),
                opt(r.cpu_idle_pct, 3),
                opt(r.cpu_churn_pct, 3),
                format!(
                    "{} / {}",
                    opt(r.churn_node_per_s, 1),
                    opt(r.churn_slice_per_s, 1)
                ),
                p50_p99(&r.api_delete_ms),
                p50_p99(&r.bgp_announce_ms),
                p50_p99(&r.bgp_withdraw_ms),
            ]
        })
        .collect();
    let mut out = format!(
        "One node's view of a large cluster: {} Services with one EndpointSlice each; churn {} Node heartbeats/s + {} EndpointSlice changes/s; idle window {} s, churn window {} s, {} reactions per kind under churn:\n\n",
        opts.services,
        opts.node_churn,
        opts.slice_churn,
        opts.idle.as_secs(),
        opts.window.as_secs(),
        opts.reactions
    );
    out += &md_table(
        &[
            "mode",
            "Nodes",
            "BGP peers",
            "Services",
            "API synced s",
            "sessions up s",
            "all routes in kernel s",
            "RSS MB idle",
            "RSS MB churn",
            "peak RSS MB",
            "CPU % idle",
            "CPU % churn",
            "churn done node/s / slice/s",
            "Node deleted → route gone p50 / p99 ms (n)",
            "peer announce → kernel p50 / p99 ms (n)",
            "peer withdraw → kernel p50 / p99 ms (n)",
        ],
        &rows,
    );
    out += "\nStart-up times from kube-bgp's spawn; CPU = on-CPU time of all kube-bgp threads \
            (/proc/PID/task/*/schedstat) over the window, % of one core; RSS = median of \
            1 s samples of VmRSS; peak = VmHWM at the end. Reactions: from the API server's \
            commit or the simulator's write to the kernel's route notification in kube-bgp's \
            namespace. Targets: CPU < 1 % of a core under churn; RSS < 64 MB at 5,000 Nodes \
            in RR-client mode.\n";
    for r in runs.iter().filter(|r| !r.notes.is_empty()) {
        out += &format!("\n{} {}: {}\n", r.mode, r.nodes, r.notes.join("; "));
    }
    out
}

/// The start-up repeats (`--startups`): one line per start-up, then the spread.
fn render_startups(runs: &[ScaleRun]) -> String {
    let rows: Vec<Vec<String>> = runs
        .iter()
        .enumerate()
        .map(|(k, r)| {
            vec![
                (k + 1).to_string(),
                format!("{} / {}", r.mode, group_thousands(r.nodes as i64)),
                opt(r.api_synced_s, 2),
                opt(r.sessions_s, 2),
                opt(r.routes_half_s, 2),
                opt(r.routes_s, 2),
                r.last_routes
                    .iter()
                    .map(|(p, t)| format!("{p} {t:.2}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                r.kernel_passes
                    .iter()
                    .map(|(t, w)| {
                        let what = w.split(" in ").next().unwrap_or(w);
                        format!("{t:.2}: {what}")
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            ]
        })
        .collect();
    let mut out = "Start-ups (seconds from kube-bgp's spawn):\n\n".to_string();
    out += &md_table(
        &[
            "#",
            "mode / Nodes",
            "API synced s",
            "sessions up s",
            "half the routes s",
            "all routes in kernel s",
            "last routes (s)",
            "kernel passes (-v 1: end s: +added ~replaced -deleted)",
        ],
        &rows,
    );
    let all: Vec<f64> = runs.iter().filter_map(|r| r.routes_s).collect();
    if let Some(s) = summarize(&all) {
        out += &format!(
            "\nall routes in kernel: n {} p50 {:.2} s, p95 {:.2} s, max {:.2} s\n",
            s.n, s.p50, s.p95, s.max
        );
    }
    for (k, r) in runs.iter().enumerate().filter(|(_, r)| !r.notes.is_empty()) {
        out += &format!("\nstart-up {}: {}\n", k + 1, r.notes.join("; "));
    }
    out
}

/// Runs every (size, mode); writes runs.jsonl and table.md into `opts.out`.
pub(crate) fn run(opts: &ScaleOpts) -> Result<(), String> {
    std::fs::create_dir_all(&opts.out).map_err(|e| format!("{}: {e}", opts.out.display()))?;
    let mut jsonl = File::create(opts.out.join("runs.jsonl")).map_err(|e| e.to_string())?;
    let mut runs = Vec::new();
    for &n in &opts.sizes {
        if !(4..=12_000).contains(&n) {
            return Err(format!("--sizes: {n} is outside 4..=12000"));
        }
        for mode in &opts.modes {
            if interrupted() {
                break;
            }
            if mode == "mesh" && n > opts.mesh_max {
                eprintln!(
                    "scale: full mesh skipped at {n} Nodes (--mesh-max {})",
                    opts.mesh_max
                );
                continue;
            }
            if opts.startups > 0 {
                for k in 1..=opts.startups {
                    if interrupted() {
                        break;
                    }
                    let r = one_run_in(opts, mode, n, &format!("{mode}-{n}-start{k}"), true)?;
                    eprintln!(
                        "scale: {mode} {n} start-up {k}/{}: sessions {} s, all routes {} s (load {:.2})",
                        opts.startups,
                        opt(r.sessions_s, 2),
                        opt(r.routes_s, 2),
                        loadavg()
                    );
                    let _ = writeln!(jsonl, "{}", json(&r));
                    runs.push(r);
                }
                continue;
            }
            eprintln!("scale: {mode} with {n} Nodes");
            let r = one_run(opts, mode, n)?;
            let _ = writeln!(jsonl, "{}", json(&r));
            runs.push(r);
        }
    }
    let table = if opts.startups > 0 {
        render_startups(&runs)
    } else {
        render(&runs, opts)
    };
    std::fs::write(opts.out.join("table.md"), &table).map_err(|e| e.to_string())?;
    println!("{table}");
    Ok(())
}
