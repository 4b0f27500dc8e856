//! `converge`: how long from a change a user makes until every node is right, in a lab
//! of N nodes (network namespaces on one bridge, the fake API server, kube-bgp on every
//! node, BIRD as an external router), trial after trial; the node-lost rows, bounded
//! by a protocol timer, several trials at a time in waves (waves.rs), each trial with its
//! own start and end.
//!
//! Every figure is the difference of two recorded timestamps (CLOCK_REALTIME, shared by
//! all namespaces), never a polling interval:
//! * start: the API server's commit of the write (its commit log), or the moment the
//!   benchmark sent SIGKILL, or the kernel's notification (in the lost node's namespace)
//!   that its link went down;
//! * end: the kernel's route notification in each node's namespace (monitor.rs), the
//!   route BIRD exported into its namespace's kernel table, or kube-bgp's own log line
//!   for a session change (microsecond timestamps).
//!
//! Polling (the control socket, `birdc`, `ip route`, kube-bgp's log) is used only to know
//! when the lab has settled before the next trial and to check that the end state is the
//! right one (for the node-lost rows: the route gone and the loss detected by the row's
//! mechanism, the hold timer or BFD, on every node still up).
//!
//! Owns: the lab, BIRD, the monitors and the trial records of one run. Must not: change
//! kube-bgp; count a trial whose end state is wrong (it is recorded as failed).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use super::common::apiserver::json_str;
use super::common::lab::{Lab, LabConfig};
use super::common::{ChildGuard, wait_for};
use super::events::{PeerLog, commit_after, parse_peer_line, realtime_ns};
use super::monitor::{RouteMonitor, first_event};
use super::stats::{fmt_ms, md_table, median, summarize};
use super::waves::{LostWave, Stagger, plan_waves};
use super::{interrupted, loadavg};

const ANN_SERVER: &str = "kube-router.io/rr.server";
const ANN_CLIENT: &str = "kube-router.io/rr.client";
const ANN_ASN: &str = "kube-router.io/node.asn";
const ROUTER_ASN: u32 = 65000;
const CLUSTER_ASN: u32 = 64512;
/// kube-bgp's hold time for node-to-node sessions (not configurable, as in kube-router).
const NODE_HOLD_S: u64 = 90;

/// What to run.
pub(crate) struct ConvergeOpts {
    pub(crate) nodes: usize,
    pub(crate) trials: usize,
    /// Trials of each node-lost row (`lost`, `lost-bfd`), run in waves of up to half
    /// the running nodes.
    pub(crate) lost_trials: usize,
    pub(crate) rows: Vec<String>,
    pub(crate) out: PathBuf,
    /// Pause after the lab has settled, before the next trial.
    pub(crate) settle: Duration,
    /// Bound of one trial (a trial that takes longer is recorded as failed).
    pub(crate) timeout: Duration,
}

pub(crate) const ALL_ROWS: [&str; 9] = [
    "add", "readd", "delete", "vip", "kill", "rr", "asn", "lost", "lost-bfd",
];

/// One measured trial.
struct Trial {
    row: &'static str,
    trial: usize,
    /// The figure: until the last node was right, ms.
    all_ms: Option<f64>,
    /// Per affected node (or path), ms.
    per_node_ms: Vec<f64>,
    /// Row-specific second figure (e.g. all paths at BIRD), ms.
    extra_ms: Option<f64>,
    note: String,
}

impl Trial {
    fn new(row: &'static str, trial: usize) -> Trial {
        Trial {
            row,
            trial,
            all_ms: None,
            per_node_ms: Vec::new(),
            extra_ms: None,
            note: String::new(),
        }
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "row": self.row, "trial": self.trial, "ok": self.all_ms.is_some(),
            "all_ms": self.all_ms, "per_node_ms": self.per_node_ms, "extra_ms": self.extra_ms,
            "note": self.note, "loadavg": loadavg(),
        })
    }
}

struct Bench<'a> {
    lab: Lab,
    mon: RouteMonitor,
    opts: &'a ConvergeOpts,
    commits: PathBuf,
    trials: Vec<Trial>,
    jsonl: File,
    /// Index of the router's namespace in the monitor.
    router_mon: usize,
    bird: Option<ChildGuard>,
    /// Wall time of each phase, for the table (how long a run takes).
    phases: Vec<(String, Duration)>,
}

fn ms(from_ns: i64, to_ns: i64) -> f64 {
    (to_ns - from_ns) as f64 / 1e6
}

impl Bench<'_> {
    fn want(&self, row: &str) -> bool {
        self.opts.rows.iter().any(|r| r == row)
    }

    fn record(&mut self, t: Trial) {
        let line = t.json().to_string();
        let _ = writeln!(self.jsonl, "{line}");
        eprintln!(
            "converge: {} #{}: {} {}",
            t.row,
            t.trial,
            t.all_ms.map(fmt_ms).unwrap_or_else(|| "FAILED".into()),
            t.note
        );
        self.trials.push(t);
    }

    fn commit_log(&self) -> String {
        std::fs::read_to_string(&self.commits).unwrap_or_default()
    }

    /// The commit time of a write the benchmark just made (started at `since`).
    fn commit_time(&self, resource: &str, key: &str, kind: &str, since: i64) -> Option<i64> {
        wait_for(Duration::from_secs(5), || {
            commit_after(&self.commit_log(), resource, key, kind, since).map(|c| c.t_ns)
        })
    }

    /// Waits until each of `nodes` saw `prefix` added (or removed) after `t0`; fills the
    /// trial with the per-node times. `t0` None fails the trial.
    fn wait_routes(
        &self,
        t: &mut Trial,
        t0: Option<i64>,
        nodes: &[usize],
        prefix: &str,
        added: bool,
    ) {
        let Some(t0) = t0 else {
            t.note = "no start timestamp".into();
            return;
        };
        let got = self.mon.wait(self.opts.timeout, |ev| {
            let v: Option<Vec<i64>> = nodes
                .iter()
                .map(|&i| first_event(ev, i, prefix, added, u16::from(added), t0))
                .collect();
            v
        });
        match got {
            Some(times) => {
                t.per_node_ms = times.iter().map(|&x| ms(t0, x)).collect();
                t.all_ms = t.per_node_ms.iter().copied().reduce(f64::max);
            }
            None => {
                let missing: Vec<String> = self.mon.with_events(|ev| {
                    nodes
                        .iter()
                        .filter(|&&i| {
                            first_event(ev, i, prefix, added, u16::from(added), t0).is_none()
                        })
                        .map(|&i| self.lab.node(i).name.clone())
                        .collect()
                });
                t.note = format!(
                    "{prefix} not {} within {:?} on {}",
                    if added { "installed" } else { "removed" },
                    self.opts.timeout,
                    missing.join(",")
                );
            }
        }
    }

    /// Waits (bounded) until each node in `nodes` has at least `want` Established
    /// sessions; false if one does not get there.
    fn settle(&self, nodes: &[usize], want: usize) -> bool {
        let ok = nodes
            .iter()
            .all(|&i| self.lab.wait_established(i, want, Duration::from_secs(60)));
        std::thread::sleep(self.opts.settle);
        ok
    }
}

/// BIRD 2 as the external router: one eBGP session per node, imports everything,
/// exports nothing to BGP and everything to its namespace's kernel table (merging equal
/// paths into one multipath route), where the route monitor sees it arrive.
fn start_bird(lab: &Lab, nodes: usize) -> ChildGuard {
    let r = lab.router(0);
    let dir = lab.dir().join("bird");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    let mut conf = format!(
        "router id {ip};\nlog \"{log}\" all;\nprotocol device {{ scan time 10; }}\n\
         protocol kernel {{ ipv4 {{ import none; export all; }}; merge paths on limit 64; scan time 60; }}\n",
        ip = r.ipv4,
        log = dir.join("bird.log").display()
    );
    for n in lab.nodes().iter().take(nodes) {
        conf += &format!(
            "protocol bgp n{idx} {{\n  local {me} as {ROUTER_ASN};\n  neighbor {nip} as {CLUSTER_ASN};\n  \
             ipv4 {{ import all; export none; }};\n  hold time 90; connect delay time 1; error wait time 1, 5;\n}}\n",
            idx = n.index + 1,
            me = r.ipv4,
            nip = n.ipv4
        );
    }
    let conf_path = dir.join("bird.conf");
    std::fs::write(&conf_path, conf).unwrap_or_else(|e| panic!("write bird.conf: {e}"));
    let sock = dir.join("bird.ctl");
    let out = File::create(dir.join("bird.out")).unwrap_or_else(|e| panic!("bird.out: {e}"));
    let err = out.try_clone().unwrap_or_else(|e| panic!("dup: {e}"));
    let child =
        r.ns.command("bird")
            .arg("-f")
            .arg("-c")
            .arg(&conf_path)
            .arg("-s")
            .arg(&sock)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start bird: {e}"));
    let guard = ChildGuard::new(child, "bird");
    let up = wait_for(Duration::from_secs(20), || {
        let o =
            r.ns.command("birdc")
                .arg("-s")
                .arg(&sock)
                .args(["show", "status"])
                .stdin(Stdio::null())
                .output()
                .ok()?;
        String::from_utf8_lossy(&o.stdout)
            .contains("Daemon is up")
            .then_some(())
    });
    assert!(up.is_some(), "bird did not come up (see {})", dir.display());
    guard
}

/// Routes BIRD installed in its namespace (`proto bird`).
fn bird_kernel_routes(lab: &Lab) -> usize {
    let o = lab
        .router(0)
        .ns
        .command("ip")
        .args(["-4", "route", "show", "proto", "bird"])
        .stdin(Stdio::null())
        .output();
    o.map(|o| String::from_utf8_lossy(&o.stdout).lines().count())
        .unwrap_or(0)
}

/// One node's view: configured peer address → (rr-client flag, peer ASN), and whether
/// all of them are Established.
type PeerView = BTreeMap<String, (bool, u32)>;

fn view(lab: &Lab, i: usize) -> (PeerView, bool) {
    let rows = lab.neighbor_rows(i);
    let all_up = rows.iter().all(|r| r.state == "Established");
    (
        rows.into_iter()
            .map(|r| (r.address, (r.rr_client, r.asn)))
            .collect(),
        all_up,
    )
}

/// The model of who peers with whom, for the peer-set rows.
#[derive(Clone)]
enum PeerTopology {
    /// Route reflection with one cluster ID: servers peer with everyone (their clients
    /// flagged), clients only with the servers.
    Rr { servers: Vec<bool> },
    /// `--nodes-full-mesh=false`: nodes peer with the nodes of their own ASN.
    Asn { asns: Vec<u32> },
}

impl PeerTopology {
    fn expected(&self, lab: &Lab, i: usize) -> PeerView {
        let n = lab.nodes().len();
        let mut v = PeerView::new();
        for j in (0..n).filter(|&j| j != i) {
            let addr = lab.node(j).ipv4.clone();
            match self {
                PeerTopology::Rr { servers } => {
                    if servers[i] {
                        v.insert(addr, (!servers[j], CLUSTER_ASN));
                    } else if servers[j] {
                        v.insert(addr, (false, CLUSTER_ASN));
                    }
                }
                PeerTopology::Asn { asns } => {
                    if asns[j] == asns[i] {
                        v.insert(addr, (false, asns[i]));
                    }
                }
            }
        }
        v
    }
}

impl Bench<'_> {
    /// Applies `patch` to node `x`'s annotations and measures until every node's peer
    /// set equals `after` (the model): the last needed session event in kube-bgp's logs
    /// (peer added and Established, removed, RR-client flag changed, re-established
    /// with a new ASN) minus the API server's commit.
    fn peer_set_trial(
        &mut self,
        row: &'static str,
        k: usize,
        x: usize,
        patch: &[(&str, Option<&str>)],
        after: &PeerTopology,
    ) {
        let n = self.lab.nodes().len();
        let mut t = Trial::new(row, k);
        let before: Vec<PeerView> = (0..n).map(|i| view(&self.lab, i).0).collect();
        let want: Vec<PeerView> = (0..n).map(|i| after.expected(&self.lab, i)).collect();
        let since = realtime_ns();
        let name = self.lab.node(x).name.clone();
        self.lab.api().annotate_node(&name, patch);
        let Some(t0) = self.commit_time("nodes", &format!("/{name}"), "MODIFIED", since) else {
            t.note = "no commit".into();
            self.record(t);
            return;
        };
        // Settle: every node's configured peers as the model says, all Established.
        let settled = wait_for(self.opts.timeout, || {
            (0..n)
                .all(|i| {
                    let (v, up) = view(&self.lab, i);
                    up && v == want[i]
                })
                .then_some(())
        });
        if settled.is_none() {
            let wrong: Vec<String> = (0..n)
                .filter(|&i| {
                    let (v, up) = view(&self.lab, i);
                    !(up && v == want[i])
                })
                .map(|i| self.lab.node(i).name.clone())
                .collect();
            t.note = format!(
                "peer sets not right within {:?} on {}",
                self.opts.timeout,
                wrong.join(",")
            );
            self.record(t);
            return;
        }
        let mut worst: Option<f64> = None;
        let mut resets = 0usize;
        let mut missing = Vec::new();
        for i in 0..n {
            let lines: Vec<_> = self
                .lab
                .log(i)
                .lines()
                .filter_map(parse_peer_line)
                .filter(|p| p.t_ns >= t0)
                .collect();
            let find = |addr: &str, f: &dyn Fn(&PeerLog) -> bool| {
                lines
                    .iter()
                    .filter(|p| p.addr.to_string() == addr && f(&p.what))
                    .map(|p| p.t_ns)
                    .max()
            };
            let mut needed: Vec<Option<i64>> = Vec::new();
            for (addr, (rr, asn)) in &want[i] {
                match before[i].get(addr) {
                    None => {
                        needed.push(find(addr, &|w| matches!(w, PeerLog::Added { .. })));
                        needed.push(find(addr, &|w| matches!(w, PeerLog::Established { .. })));
                    }
                    Some((rr0, asn0)) => {
                        if rr0 != rr {
                            needed.push(find(
                                addr,
                                &|w| matches!(w, PeerLog::RrClient { on } if on == rr),
                            ));
                        }
                        if asn0 != asn {
                            needed.push(find(
                                addr,
                                &|w| matches!(w, PeerLog::Established { asn: a } if a == asn),
                            ));
                        } else if find(addr, &|w| matches!(w, PeerLog::Down { .. })).is_some() {
                            resets += 1;
                        }
                    }
                }
            }
            for addr in before[i].keys().filter(|a| !want[i].contains_key(*a)) {
                needed.push(find(addr, &|w| matches!(w, PeerLog::Removed)));
            }
            if needed.is_empty() {
                continue;
            }
            if needed.iter().any(Option::is_none) {
                missing.push(self.lab.node(i).name.clone());
                continue;
            }
            let last = needed.iter().flatten().copied().max().unwrap_or(t0);
            let d = ms(t0, last);
            t.per_node_ms.push(d);
            worst = Some(worst.map_or(d, |w: f64| w.max(d)));
        }
        if missing.is_empty() {
            t.all_ms = worst;
        } else {
            t.note = format!("log lines missing on {}", missing.join(","));
        }
        if resets > 0 {
            t.note = format!("{} {resets} unexpected session reset(s)", t.note);
        }
        self.record(t);
        std::thread::sleep(self.opts.settle);
    }
}

/// Runs the convergence benchmark; writes trials.jsonl and table.md into `opts.out`.
pub(crate) fn run(opts: &ConvergeOpts) -> Result<(), String> {
    std::fs::create_dir_all(&opts.out).map_err(|e| format!("{}: {e}", opts.out.display()))?;
    let n = opts.nodes;
    if !(3..=200).contains(&n) {
        return Err(format!("--nodes must be 3..=200, not {n}"));
    }
    let jsonl = File::create(opts.out.join("trials.jsonl")).map_err(|e| e.to_string())?;
    let lab = Lab::new("cv", LabConfig::new(n).routers(1).unregistered());
    lab.api().hook("commit-log?enable=1");
    let commits = lab.api().state_dir().join("commits.jsonl");
    let mut names: Vec<String> = lab.nodes().iter().map(|x| x.ns.name.clone()).collect();
    names.push(lab.router(0).ns.name.clone());
    let mon = RouteMonitor::start(&names).map_err(|e| e.to_string())?;
    let mut b = Bench {
        lab,
        mon,
        opts,
        commits,
        trials: Vec::new(),
        jsonl,
        router_mon: n,
        bird: None,
        phases: Vec::new(),
    };
    let started = realtime_ns();
    if ["add", "readd", "delete", "vip", "kill", "lost"]
        .iter()
        .any(|r| b.want(r))
    {
        let t = std::time::Instant::now();
        full_mesh_phase(&mut b);
        b.phases
            .push(("full-mesh phase (with `lost`)".into(), t.elapsed()));
    }
    if b.want("lost-bfd") && !interrupted() {
        let t = std::time::Instant::now();
        lost_bfd_phase(&mut b);
        b.phases.push(("BFD phase".into(), t.elapsed()));
    }
    if b.want("rr") && !interrupted() {
        let t = std::time::Instant::now();
        rr_phase(&mut b);
        b.phases.push(("rr phase".into(), t.elapsed()));
    }
    if b.want("asn") && !interrupted() {
        let t = std::time::Instant::now();
        asn_phase(&mut b);
        b.phases.push(("asn phase".into(), t.elapsed()));
    }
    let overflows = b.mon.overflows();
    let lost_events: Vec<String> = overflows
        .iter()
        .enumerate()
        .filter(|(_, c)| **c > 0)
        .map(|(i, c)| format!("{}: {c}", b.mon.name(i)))
        .collect();
    let table = render(&b.trials, opts, n, &lost_events, started, &b.phases);
    std::fs::write(opts.out.join("table.md"), &table).map_err(|e| e.to_string())?;
    println!("{table}");
    b.bird = None;
    Ok(())
}

fn full_mesh_phase(b: &mut Bench<'_>) {
    let n = b.lab.nodes().len();
    let x = n - 1; // created and deleted, trial after trial
    let v = n - 2; // killed and restarted
    let with_router = b.want("vip");
    for i in 0..x {
        b.lab.register_node(i, &[]);
    }
    if with_router {
        b.bird = Some(start_bird(&b.lab, n));
    }
    let rip = b.lab.router(0).ipv4.clone();
    let flags: Vec<String> = if with_router {
        vec![
            format!("--peer-router-ips={rip}"),
            format!("--peer-router-asns={ROUTER_ASN}"),
            "--advertise-cluster-ip=true".into(),
        ]
    } else {
        Vec::new()
    };
    let fl: Vec<&str> = flags.iter().map(String::as_str).collect();
    for i in 0..x {
        b.lab.start_kube_bgp(i, &fl);
    }
    let registered: Vec<usize> = (0..x).collect();
    let sessions = x - 1 + usize::from(with_router);
    assert!(
        b.settle(&registered, sessions),
        "full mesh did not come up:\n{}",
        b.lab.logs_tail(20)
    );
    if with_router {
        let all = wait_for(Duration::from_secs(60), || {
            (bird_kernel_routes(&b.lab) >= x).then_some(())
        });
        assert!(all.is_some(), "BIRD did not get every pod CIDR");
    }
    let xname = b.lab.node(x).name.clone();
    let others: Vec<usize> = (0..x).collect();
    for k in 0..b.opts.trials {
        if interrupted() {
            return;
        }
        b.mon.forget_before(realtime_ns() - 60_000_000_000);
        if b.want("add") || b.want("delete") || b.want("readd") {
            // A fresh kube-bgp on X, waiting for its Node (as when it starts before the
            // kubelet registers the node).
            b.lab.start_kube_bgp(x, &fl);
            if !b.lab.wait_ctl(x, Duration::from_secs(30)) {
                eprintln!("converge: kube-bgp on {xname} does not answer; trial {k} skipped");
                b.lab.stop_kube_bgp(x);
                continue;
            }
            std::thread::sleep(b.opts.settle);
            add_delete(b, "add", k, x, &others, x + usize::from(with_router));
            if b.want("readd") {
                // The same Node again, its kube-bgp having run on while it was deleted.
                add_delete(b, "readd", k, x, &others, x + usize::from(with_router));
            }
            b.lab.stop_kube_bgp(x);
        }
        if with_router {
            vip_trial(b, k, x);
        }
        if b.want("kill") {
            kill_trial(b, k, v, &fl, sessions);
        }
    }
    if b.want("lost") && !interrupted() {
        // Node 0 always stays up; the node of the add rows (x) is not registered now.
        let candidates: Vec<usize> = (1..x).collect();
        let row = lost_row(b, false);
        lost_waves(b, &row, &registered, &candidates, &fl, sessions);
    }
}

/// `lost-bfd`: the lab of the full-mesh phase (nodes 0..N-1 registered, BIRD kept if it
/// runs), every kube-bgp restarted with BFD on its node-to-node sessions, then the
/// lost waves.
fn lost_bfd_phase(b: &mut Bench<'_>) {
    let n = b.lab.nodes().len();
    let x = n - 1;
    for i in 0..n {
        b.lab.stop_kube_bgp(i);
    }
    for i in 0..x {
        ensure_node(
            &b.lab,
            i,
            &[(ANN_SERVER, None), (ANN_CLIENT, None), (ANN_ASN, None)],
        );
    }
    let with_router = b.bird.is_some();
    let rip = b.lab.router(0).ipv4.clone();
    let mut flags = bfd_flags();
    if with_router {
        flags.push(format!("--peer-router-ips={rip}"));
        flags.push(format!("--peer-router-asns={ROUTER_ASN}"));
        flags.push("--advertise-cluster-ip=true".into());
    }
    let fl: Vec<&str> = flags.iter().map(String::as_str).collect();
    for i in 0..x {
        b.lab.start_kube_bgp(i, &fl);
    }
    let up: Vec<usize> = (0..x).collect();
    let sessions = x - 1 + usize::from(with_router);
    assert!(
        b.settle(&up, sessions),
        "full mesh with BFD did not come up:\n{}",
        b.lab.logs_tail(20)
    );
    let candidates: Vec<usize> = (1..x).collect();
    let row = lost_row(b, true);
    lost_waves(b, &row, &up, &candidates, &fl, sessions);
}

/// Creates node `x`'s Node (row `row`: until its pod CIDR is in every other kernel),
/// waits for its sessions, then deletes it (row `delete`: until the route is gone).
fn add_delete(
    b: &mut Bench<'_>,
    row: &'static str,
    k: usize,
    x: usize,
    others: &[usize],
    sessions: usize,
) {
    let xname = b.lab.node(x).name.clone();
    let xcidr = b.lab.node(x).pod_cidr4.clone();
    let mut t = Trial::new(row, k);
    let since = realtime_ns();
    b.lab.register_node(x, &[]);
    let t0 = b.commit_time("nodes", &format!("/{xname}"), "ADDED", since);
    b.wait_routes(&mut t, t0, others, &xcidr, true);
    if b.want(row) {
        b.record(t);
    }
    if !b.settle(&[x], sessions) {
        eprintln!("converge: {xname} did not get all its sessions after {row} #{k}");
    }
    let mut t = Trial::new("delete", k);
    let since = realtime_ns();
    b.lab.delete_node(&xname);
    let t0 = b.commit_time("nodes", &format!("/{xname}"), "DELETED", since);
    b.wait_routes(&mut t, t0, others, &xcidr, false);
    if b.want("delete") {
        t.note = format!("after {row}");
        b.record(t);
    }
    std::thread::sleep(b.opts.settle);
}

fn vip_trial(b: &mut Bench<'_>, k: usize, registered: usize) {
    let name = format!("bench-{k}");
    let body = format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{{\"name\":{}}},\
         \"spec\":{{\"selector\":{{\"app\":\"bench\"}},\"ports\":[{{\"port\":80}}]}}}}",
        json_str(&name)
    );
    let since = realtime_ns();
    let created = b
        .lab
        .api()
        .create("/api/v1/namespaces/default/services", &body);
    let ip = serde_json::from_str::<serde_json::Value>(&created)
        .ok()
        .and_then(|v| v["spec"]["clusterIP"].as_str().map(String::from))
        .unwrap_or_default();
    let vip = format!("{ip}/32");
    let key = format!("default/{name}");
    let mut t = Trial::new("vip", k);
    let t0 = b.commit_time("services", &key, "ADDED", since);
    let r = b.router_mon;
    b.wait_routes(&mut t, t0, &[r], &vip, true);
    if let (Some(t0), Some(_)) = (t0, t.all_ms) {
        // All paths: the multipath route with one next hop per node.
        let all = b.mon.wait(Duration::from_secs(10), |ev| {
            first_event(ev, r, &vip, true, registered as u16, t0)
        });
        t.extra_ms = all.map(|x| ms(t0, x));
        if all.is_none() {
            t.note = format!("no route with {registered} next hops at BIRD within 10 s");
        }
    }
    b.record(t);
    std::thread::sleep(b.opts.settle);
    let mut t = Trial::new("vip-del", k);
    let since = realtime_ns();
    let (code, out) = b.lab.api().call(
        "DELETE",
        &format!("/api/v1/namespaces/default/services/{name}"),
        None,
        "application/json",
    );
    if code != 200 {
        t.note = format!("delete failed: {code} {out}");
    } else {
        let t0 = b.commit_time("services", &key, "DELETED", since);
        b.wait_routes(&mut t, t0, &[r], &vip, false);
    }
    b.record(t);
    std::thread::sleep(b.opts.settle);
}

fn kill_trial(b: &mut Bench<'_>, k: usize, v: usize, flags: &[&str], sessions: usize) {
    let cidr = b.lab.node(v).pod_cidr4.clone();
    let others: Vec<usize> = (0..v).collect();
    let mut t = Trial::new("kill", k);
    let t0 = realtime_ns();
    b.lab.kill_kube_bgp(v);
    b.wait_routes(&mut t, Some(t0), &others, &cidr, false);
    b.record(t);
    std::thread::sleep(b.opts.settle);
    let mut t = Trial::new("restart", k);
    let t0 = realtime_ns();
    b.lab.start_kube_bgp(v, flags);
    b.wait_routes(&mut t, Some(t0), &others, &cidr, true);
    b.record(t);
    b.settle(&[v], sessions);
}

/// A row of node-lost trials: how its waves are staggered and what must end the lost
/// node's sessions on every node that stays up.
struct LostRow {
    row: &'static str,
    stagger: Stagger,
    /// Part of the reason every observer's kube-bgp must log when it drops the lost
    /// node's session (`session down: REASON`): proof of what detected the loss.
    detected_by: &'static str,
    /// A trial whose last route removal comes later than this after its start failed.
    limit: Duration,
    /// Whether the BFD sessions with every node must be Up before a wave.
    bfd: bool,
}

/// BFD on node-to-node sessions for `lost-bfd`: 100 ms transmit and receive intervals,
/// multiplier 3, i.e. a 300 ms detection time (a common production setting on a LAN).
const BFD_INTERVAL_MS: u64 = 100;
const BFD_MULT: u64 = 3;
/// Time between two cuts of a `lost-bfd` wave: a trial (300 ms detection, then the
/// withdrawal) is over before the next cut.
const BFD_CUT_GAP_MS: u64 = 2000;

fn bfd_flags() -> Vec<String> {
    vec![
        "--enable-bfd-nodes".into(),
        format!("--bfd-desired-min-tx-interval={BFD_INTERVAL_MS}"),
        format!("--bfd-required-min-rx-interval={BFD_INTERVAL_MS}"),
        format!("--bfd-detection-multiplier={BFD_MULT}"),
    ]
}

fn lost_row(b: &Bench<'_>, bfd: bool) -> LostRow {
    if bfd {
        LostRow {
            row: "lost-bfd",
            // Cuts 2 s apart (detection 300 ms plus the withdrawal, well within), each at
            // a random point of one BFD transmit interval.
            stagger: Stagger::Apart {
                gap: Duration::from_millis(BFD_CUT_GAP_MS),
                jitter: Duration::from_millis(BFD_INTERVAL_MS),
            },
            detected_by: "Cease/BFD Down (6/10",
            limit: b.opts.timeout,
            bfd: true,
        }
    } else {
        LostRow {
            row: "lost",
            // Over one keepalive interval (a third of the hold time).
            stagger: Stagger::Spread {
                span: Duration::from_secs(NODE_HOLD_S / 3),
            },
            detected_by: "hold timer expired",
            limit: Duration::from_secs(NODE_HOLD_S) + b.opts.timeout,
            bfd: false,
        }
    }
}

/// The node's interface on the bridge (the one holding its address).
fn bridge_ifname(lab: &Lab, v: usize) -> Option<String> {
    let o = lab
        .node(v)
        .ns
        .command("ip")
        .args(["-o", "-4", "addr", "show"])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let ip = format!(" {}/", lab.node(v).ipv4);
    text.lines()
        .find(|l| l.contains(&ip))
        .and_then(|l| l.split_whitespace().nth(1))
        .map(|s| {
            s.trim_end_matches(':')
                .split('@')
                .next()
                .unwrap_or(s)
                .to_string()
        })
}

/// Nodes among `nodes` whose kernel lacks kube-bgp's route to one of `prefixes`, with
/// the prefixes missing.
fn routes_missing(lab: &Lab, nodes: &[usize], prefixes: &[String]) -> Vec<String> {
    nodes
        .iter()
        .filter_map(|&i| {
            let routes = lab.kernel_routes(i);
            let missing: Vec<&str> = prefixes
                .iter()
                .filter(|p| !routes.lines().any(|l| l.starts_with(&format!("{p} "))))
                .map(String::as_str)
                .collect();
            (!missing.is_empty()).then(|| format!("node {i}: {}", missing.join(",")))
        })
        .collect()
}

/// Nodes among `nodes` with a node-to-node session whose BFD session is not Up.
fn bfd_not_up(lab: &Lab, nodes: &[usize]) -> Vec<String> {
    nodes
        .iter()
        .filter_map(|&i| {
            let rows = lab.neighbor_rows(i);
            let down: Vec<String> = rows
                .iter()
                .filter(|r| r.source.starts_with("node") && r.bfd != "Up")
                .map(|r| format!("{} {}", r.address, r.bfd))
                .collect();
            (rows.is_empty() || !down.is_empty())
                .then(|| format!("node {i}: [{}]", down.join(", ")))
        })
        .collect()
}

/// Runs `b.opts.lost_trials` trials of `row` in waves over the running nodes `up`,
/// losing nodes from `candidates`; restores each wave's nodes (their kube-bgp started
/// again with `flags`, `sessions` Established) before the next.
fn lost_waves(
    b: &mut Bench<'_>,
    row: &LostRow,
    up: &[usize],
    candidates: &[usize],
    flags: &[&str],
    sessions: usize,
) {
    let waves = match plan_waves(b.opts.lost_trials, up, candidates, &row.stagger) {
        Ok(w) => w,
        Err(e) => {
            for k in 0..b.opts.lost_trials {
                let mut t = Trial::new(row.row, k);
                t.note = format!("not run: {e}");
                b.record(t);
            }
            return;
        }
    };
    let started = std::time::Instant::now();
    for (w, wave) in waves.iter().enumerate() {
        if interrupted() {
            return;
        }
        b.mon.forget_before(realtime_ns() - 60_000_000_000);
        lost_wave(b, row, w, wave, flags, sessions);
    }
    b.phases.push((
        format!(
            "{} ({} wave{})",
            row.row,
            waves.len(),
            if waves.len() == 1 { "" } else { "s" }
        ),
        started.elapsed(),
    ));
}

/// One lost trial in flight.
struct LostTrial {
    trial: Trial,
    node: usize,
    ifname: Option<String>,
    /// The kernel's link-down notification in the node's namespace.
    t0: Option<i64>,
}

fn lost_wave(
    b: &mut Bench<'_>,
    row: &LostRow,
    w: usize,
    wave: &LostWave,
    flags: &[&str],
    sessions: usize,
) {
    let obs = &wave.observers;
    let cidrs: Vec<String> = wave
        .cuts
        .iter()
        .map(|c| b.lab.node(c.node).pod_cidr4.clone())
        .collect();
    // The wave starts from a settled lab: every lost node's route in every observer's
    // kernel (and, with BFD, every BFD session Up), bounded.
    let all: Vec<usize> = obs
        .iter()
        .copied()
        .chain(wave.cuts.iter().map(|c| c.node))
        .collect();
    let ready = wait_for(Duration::from_secs(30), || {
        let mut not = routes_missing(&b.lab, obs, &cidrs);
        if row.bfd {
            not.extend(bfd_not_up(&b.lab, &all));
        }
        not.is_empty().then_some(())
    });
    if ready.is_none() {
        let mut not = routes_missing(&b.lab, obs, &cidrs);
        if row.bfd {
            not.extend(bfd_not_up(&b.lab, &all));
        }
        eprintln!(
            "converge: {} wave {w}: lab not settled within 30 s, running anyway: {}",
            row.row,
            not.join("; ")
        );
    }
    let start = std::time::Instant::now();
    let mut cuts: Vec<LostTrial> = Vec::new();
    for c in &wave.cuts {
        let mut cut = LostTrial {
            trial: Trial::new(row.row, c.trial),
            node: c.node,
            ifname: bridge_ifname(&b.lab, c.node),
            t0: None,
        };
        let Some(ifname) = cut.ifname.clone() else {
            cut.trial.note = format!("node {}: no bridge interface found", c.node);
            cuts.push(cut);
            continue;
        };
        std::thread::sleep((start + c.at).saturating_duration_since(std::time::Instant::now()));
        let since = realtime_ns();
        b.lab
            .node(c.node)
            .ns
            .sh(&format!("ip link set dev {ifname} down"));
        // The start: the kernel's own notification (RTM_NEWLINK) that the link is down.
        let link = format!("link:{ifname}");
        cut.t0 = b.mon.wait(Duration::from_secs(2), |ev| {
            first_event(ev, c.node, &link, false, 0, since)
        });
        cut.trial.note = format!(
            "node {} cut {:.1} s into wave {w} ({} cut, {} up)",
            c.node,
            c.at.as_secs_f64(),
            wave.cuts.len(),
            obs.len()
        );
        if cut.t0.is_none() {
            cut.trial.note += "; no link-down notification within 2 s";
        }
        cuts.push(cut);
    }
    // Until every trial's route is gone from every observer, or the last one's limit.
    let limit_ns = row.limit.as_nanos() as i64;
    let last = cuts.iter().filter_map(|c| c.t0).max().unwrap_or(0) + limit_ns;
    let wait = Duration::from_nanos((last - realtime_ns()).max(0) as u64);
    b.mon.wait(wait, |ev| {
        cuts.iter()
            .filter_map(|c| c.t0.map(|t0| (c.node, t0)))
            .all(|(v, t0)| {
                let cidr = &b.lab.node(v).pod_cidr4;
                obs.iter()
                    .all(|&i| first_event(ev, i, cidr, false, 0, t0).is_some())
            })
            .then_some(())
    });
    // What ended each lost node's sessions, as every observer's kube-bgp logged it.
    let downs: Vec<Vec<(i64, IpAddr, String)>> = obs
        .iter()
        .map(|&i| {
            b.lab
                .log(i)
                .lines()
                .filter_map(parse_peer_line)
                .filter_map(|p| match p.what {
                    PeerLog::Down { reason } => Some((p.t_ns, p.addr, reason)),
                    _ => None,
                })
                .collect()
        })
        .collect();
    let kernels: Vec<String> = obs.iter().map(|&i| b.lab.kernel_routes(i)).collect();
    for cut in &mut cuts {
        let Some(t0) = cut.t0 else {
            continue;
        };
        judge_cut(b, row, cut, t0, obs, &downs, &kernels);
    }
    let lost: Vec<(usize, Option<String>)> =
        cuts.iter().map(|c| (c.node, c.ifname.clone())).collect();
    for cut in cuts {
        b.record(cut.trial);
    }
    // Restore: the lost nodes' kube-bgp killed (as the node's reboot would), links up,
    // kube-bgp started again, their sessions back.
    for (v, ifname) in &lost {
        b.lab.kill_kube_bgp(*v);
        if let Some(ifname) = ifname {
            b.lab
                .node(*v)
                .ns
                .sh(&format!("ip link set dev {ifname} up"));
        }
    }
    for (v, _) in &lost {
        b.lab.start_kube_bgp(*v, flags);
    }
    let nodes: Vec<usize> = lost.iter().map(|(v, _)| *v).collect();
    if !b.settle(&nodes, sessions) {
        eprintln!(
            "converge: {} wave {w}: not all sessions back within 60 s",
            row.row
        );
    }
}

/// Fills a cut's trial from the route notifications (its end), the observers' logs (what
/// detected the loss) and their kernels (the end state): any observer late, missing,
/// detecting by something else or still holding the route fails the trial.
fn judge_cut(
    b: &Bench<'_>,
    row: &LostRow,
    cut: &mut LostTrial,
    t0: i64,
    obs: &[usize],
    downs: &[Vec<(i64, IpAddr, String)>],
    kernels: &[String],
) {
    let cidr = b.lab.node(cut.node).pod_cidr4.clone();
    let addr: Option<IpAddr> = b.lab.node(cut.node).ipv4.parse().ok();
    let ends: Vec<Option<i64>> = b.mon.with_events(|ev| {
        obs.iter()
            .map(|&i| first_event(ev, i, &cidr, false, 0, t0))
            .collect()
    });
    let mut problems = Vec::new();
    let missing: Vec<String> = obs
        .iter()
        .zip(&ends)
        .filter(|(_, e)| e.is_none())
        .map(|(i, _)| i.to_string())
        .collect();
    if !missing.is_empty() {
        problems.push(format!(
            "route not removed within {:?} on nodes {}",
            row.limit,
            missing.join(",")
        ));
    }
    let late: Vec<String> = obs
        .iter()
        .zip(&ends)
        .filter_map(|(i, e)| {
            e.filter(|&e| e - t0 > row.limit.as_nanos() as i64)
                .map(|_| i)
        })
        .map(|i| i.to_string())
        .collect();
    if !late.is_empty() {
        problems.push(format!(
            "removed later than {:?} on nodes {}",
            row.limit,
            late.join(",")
        ));
    }
    for (k, &i) in obs.iter().enumerate() {
        let reason = downs[k]
            .iter()
            .find(|(t, a, _)| *t >= t0 && Some(*a) == addr)
            .map(|(_, _, r)| r.clone());
        match reason {
            Some(r) if r.contains(row.detected_by) => {}
            Some(r) => problems.push(format!("node {i} dropped the session: {r}")),
            None => problems.push(format!("node {i} logged no session down")),
        }
        if kernels[k]
            .lines()
            .any(|l| l.starts_with(&format!("{cidr} ")))
        {
            problems.push(format!("node {i} still has the route"));
        }
    }
    if problems.is_empty() {
        cut.trial.per_node_ms = ends.iter().flatten().map(|&x| ms(t0, x)).collect();
        cut.trial.all_ms = cut.trial.per_node_ms.iter().copied().reduce(f64::max);
        cut.trial.note += &format!("; '{}' on all {}", row.detected_by, obs.len());
    } else {
        cut.trial.note += &format!("; {}", problems.join("; "));
    }
}

fn rr_phase(b: &mut Bench<'_>) {
    let n = b.lab.nodes().len();
    let x = n - 1;
    for i in 0..n {
        b.lab.stop_kube_bgp(i);
    }
    b.bird = None;
    let mut servers = vec![false; n];
    servers[0] = true;
    servers[1] = true;
    for (i, &server) in servers.iter().enumerate() {
        let patch: [(&str, Option<&str>); 3] = if server {
            [(ANN_SERVER, Some("1")), (ANN_CLIENT, None), (ANN_ASN, None)]
        } else {
            [(ANN_CLIENT, Some("1")), (ANN_SERVER, None), (ANN_ASN, None)]
        };
        ensure_node(&b.lab, i, &patch);
    }
    for i in 0..n {
        b.lab.start_kube_bgp(i, &[]);
    }
    let base = PeerTopology::Rr {
        servers: servers.clone(),
    };
    wait_topology(b, &base);
    let mut promoted = servers.clone();
    promoted[x] = true;
    let up = PeerTopology::Rr { servers: promoted };
    for k in 0..b.opts.trials {
        if interrupted() {
            return;
        }
        b.peer_set_trial(
            "rr-up",
            k,
            x,
            &[(ANN_SERVER, Some("1")), (ANN_CLIENT, None)],
            &up,
        );
        b.peer_set_trial(
            "rr-down",
            k,
            x,
            &[(ANN_CLIENT, Some("1")), (ANN_SERVER, None)],
            &base,
        );
    }
}

fn asn_phase(b: &mut Bench<'_>) {
    let n = b.lab.nodes().len();
    let x = n - 1;
    for i in 0..n {
        b.lab.stop_kube_bgp(i);
    }
    b.bird = None;
    let asn = CLUSTER_ASN.to_string();
    for i in 0..n {
        ensure_node(
            &b.lab,
            i,
            &[
                (ANN_ASN, Some(&asn)),
                (ANN_SERVER, None),
                (ANN_CLIENT, None),
            ],
        );
    }
    for i in 0..n {
        b.lab.start_kube_bgp(i, &["--nodes-full-mesh=false"]);
    }
    let base = PeerTopology::Asn {
        asns: vec![CLUSTER_ASN; n],
    };
    wait_topology(b, &base);
    let mut moved = vec![CLUSTER_ASN; n];
    moved[x] = CLUSTER_ASN + 1;
    let away = PeerTopology::Asn { asns: moved };
    let other = (CLUSTER_ASN + 1).to_string();
    for k in 0..b.opts.trials {
        if interrupted() {
            return;
        }
        b.peer_set_trial("asn-leave", k, x, &[(ANN_ASN, Some(&other))], &away);
        b.peer_set_trial("asn-return", k, x, &[(ANN_ASN, Some(&asn))], &base);
    }
}

/// Registers node `i` if its Node object is missing, then applies the annotation patch.
fn ensure_node(lab: &Lab, i: usize, patch: &[(&str, Option<&str>)]) {
    let name = &lab.node(i).name;
    let (code, _) = lab.api().call(
        "GET",
        &format!("/api/v1/nodes/{name}"),
        None,
        "application/json",
    );
    if code == 404 {
        lab.register_node(i, &[]);
    }
    lab.api().annotate_node(name, patch);
}

fn wait_topology(b: &Bench<'_>, topo: &PeerTopology) {
    let n = b.lab.nodes().len();
    let ok = wait_for(Duration::from_secs(120), || {
        (0..n)
            .all(|i| {
                let (v, up) = view(&b.lab, i);
                up && v == topo.expected(&b.lab, i)
            })
            .then_some(())
    });
    assert!(
        ok.is_some(),
        "lab did not converge:\n{}",
        b.lab.logs_tail(20)
    );
    std::thread::sleep(b.opts.settle);
}

/// Rows of the table: key, what it measures, what bounds it, its target.
const ROWS: [(&str, &str, &str, &str); 13] = [
    (
        "add",
        "Node created (pod CIDR) → its route in every other node's kernel (its kube-bgp already running, waiting for its Node)",
        "API watch, BGP session setup, kernel",
        "p99 < 100 ms",
    ),
    (
        "readd",
        "the same Node deleted and created again, its kube-bgp running on → its route in every other kernel",
        "API watch, BGP session setup (the others' Cease when the Node left starts no back-off), kernel",
        "p99 < 100 ms",
    ),
    (
        "delete",
        "Node deleted → its route gone from every other kernel",
        "API watch, kernel",
        "p99 < 200 ms",
    ),
    (
        "vip",
        "Service created → its VIP in BIRD's kernel table (first path; all paths in the last column)",
        "API watch, BGP UPDATE, BIRD",
        "p99 < 200 ms",
    ),
    (
        "vip-del",
        "Service deleted → VIP gone from BIRD's kernel table",
        "API watch, BGP UPDATE, BIRD",
        "p99 < 200 ms",
    ),
    (
        "rr-up",
        "annotation rr.client → rr.server: every node's peer set right (sessions Established)",
        "API watch, BGP session setup",
        "p99 < 200 ms",
    ),
    (
        "rr-down",
        "annotation rr.server → rr.client: every node's peer set right",
        "API watch",
        "p99 < 200 ms",
    ),
    (
        "asn-leave",
        "node.asn changed (per-ASN mode): the node leaves its peers, everywhere",
        "API watch",
        "p99 < 200 ms",
    ),
    (
        "asn-return",
        "node.asn changed back: sessions with its group re-established everywhere",
        "API watch, BGP session setup",
        "p99 < 200 ms",
    ),
    (
        "kill",
        "kube-bgp SIGKILLed (no GR) → its routes gone from every other kernel",
        "the kernel closes its TCP sessions (FIN): peers see it at once, not after the hold time",
        "p99 < 200 ms",
    ),
    (
        "restart",
        "kube-bgp started again → its routes back in every other kernel",
        "process start, API list, session setup",
        "–",
    ),
    (
        "lost",
        "node lost (its link down, no FIN, no GR) → its routes gone from every node still up; the others detect it by the hold timer",
        "hold timer: 90 s for node sessions, i.e. 60–90 s after the last KEEPALIVE",
        "≤ 90 s + 200 ms",
    ),
    (
        "lost-bfd",
        "node lost (its link down, no FIN, no GR), every kube-bgp with BFD on its node sessions (`--enable-bfd-nodes`, 100 ms tx/rx × 3) → its routes gone from every node still up; the others detect it by BFD (Cease 6/10)",
        "BFD detection time: 3 × 100 ms = 300 ms",
        "≤ 300 ms + 200 ms",
    ),
];

fn render(
    trials: &[Trial],
    opts: &ConvergeOpts,
    n: usize,
    overflows: &[String],
    started: i64,
    phases: &[(String, Duration)],
) -> String {
    let mut rows = Vec::new();
    for (key, what, bound, target) in ROWS.iter() {
        let ts: Vec<&Trial> = trials.iter().filter(|t| t.row == *key).collect();
        if ts.is_empty() {
            continue;
        }
        let vals: Vec<f64> = ts.iter().filter_map(|t| t.all_ms).collect();
        let node_medians: Vec<f64> = ts.iter().filter_map(|t| median(&t.per_node_ms)).collect();
        let extra: Vec<f64> = ts.iter().filter_map(|t| t.extra_ms).collect();
        let s = summarize(&vals);
        let f = |g: fn(&super::stats::Summary) -> f64| {
            s.as_ref().map(g).map(fmt_ms).unwrap_or_else(|| "–".into())
        };
        rows.push(vec![
            format!("{key}: {what}"),
            format!("{}/{}", vals.len(), ts.len()),
            f(|s| s.p50),
            f(|s| s.p95),
            f(|s| s.p99),
            f(|s| s.max),
            median(&node_medians)
                .map(fmt_ms)
                .unwrap_or_else(|| "–".into()),
            if extra.is_empty() {
                "–".into()
            } else {
                let e = summarize(&extra);
                e.map(|e| format!("{} / {}", fmt_ms(e.p50), fmt_ms(e.p99)))
                    .unwrap_or_default()
            },
            (*target).into(),
            (*bound).into(),
        ]);
    }
    let mut out = format!(
        "Convergence, {n}-node lab, {} trials per row ({} for each `lost` row), started {}:\n\n",
        opts.trials,
        opts.lost_trials,
        started / 1_000_000_000
    );
    out += &md_table(
        &[
            "row",
            "ok/trials",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
            "median node ms",
            "all paths p50/p99 ms",
            "target",
            "bounded by",
        ],
        &rows,
    );
    out += "\nTimes are from the API server's commit (kill/restart: the signal or the spawn; \
            lost: the kernel's link-down notification) to the last node's kernel route \
            notification or kube-bgp's session log line; percentiles by nearest rank \
            (with 30 trials p99 is the maximum). `median node` = median over trials of the \
            median node.\n";
    if trials.iter().any(|t| t.row.starts_with("lost")) {
        out += &format!(
            "\n`lost` and `lost-bfd` trials ran in waves: in each, up to half of the running \
             nodes (never node 0, nor the external router) lost their links, `lost` at \
             staggered moments spread over one keepalive interval ({} s: the j-th cut at a \
             random point of the j-th of equal slots), `lost-bfd` {BFD_CUT_GAP_MS} ms apart (each at a random \
             point of one {BFD_INTERVAL_MS} ms BFD interval); each trial is timed from its own \
             node's link-down notification to its pod CIDR's removal from every node still up \
             (the wave's other lost nodes excluded), and fails if one of them is late \
             ({} s / {} s), logs another reason for dropping the session than the row's \
             (`hold timer expired` / `Cease/BFD Down (6/10)`), or still has the route. Then \
             the wave's nodes got their links back and their kube-bgp restarted, and the lab \
             settled (sessions Established, routes back, BFD Up) before the next wave.\n",
            NODE_HOLD_S / 3,
            NODE_HOLD_S + opts.timeout.as_secs(),
            opts.timeout.as_secs(),
        );
    }
    if !phases.is_empty() {
        let p: Vec<String> = phases
            .iter()
            .map(|(name, d)| format!("{name} {:.1} min", d.as_secs_f64() / 60.0))
            .collect();
        out += &format!("\nWall time by phase: {}.\n", p.join(", "));
    }
    if !overflows.is_empty() {
        out += &format!(
            "\n**Route notifications lost (ENOBUFS) in: {}** — figures from those namespaces may be late.\n",
            overflows.join(", ")
        );
    }
    let failed: Vec<String> = trials
        .iter()
        .filter(|t| t.all_ms.is_none())
        .map(|t| format!("{} #{}: {}", t.row, t.trial, t.note))
        .collect();
    if !failed.is_empty() {
        out += &format!("\nFailed trials:\n- {}\n", failed.join("\n- "));
    }
    out
}
