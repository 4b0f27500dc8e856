//! A randomized sequence of cluster changes on the real multi-node lab (issue 14 item
//! 10): at least 50 steps drawn from node add (Node object created), delete, annotate
//! (pod CIDR override, import reject, a YAML alias bomb), kube-bgp restart (SIGTERM or
//! SIGKILL, with and without graceful restart) and 410 storms (history compacted, watches
//! dropped, the next requests answered 410), run back to back without waiting for
//! convergence. Afterwards every registered node's kernel routes must equal what the
//! final API state implies.
//!
//! The seed is printed; `KB_RANDOM_SEED=<seed> cargo test --test e2e_random` replays a
//! run step for step (`KB_RANDOM_STEPS` changes the number of steps).
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::lab::checks::available;
use common::lab::{Lab, LabConfig};

const NODES: usize = 5;
const UP: Duration = Duration::from_secs(40);
const CONVERGE: Duration = Duration::from_secs(120);
const POD_CIDRS: &str = "kube-router.io/pod-cidrs";
const REJECT: &str = "kube-router.io/node.bgp.customimportreject";
const PEERS: &str = "kube-router.io/peers";

/// xorshift64*: deterministic for a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// What the test believes the API holds and which daemons run.
#[derive(Clone, Debug, Default)]
struct Model {
    registered: [bool; NODES],
    running: [bool; NODES],
    /// Per node: annotation key -> value.
    ann: [BTreeMap<String, String>; NODES],
}

/// Nodes 1, 3, 5 run with graceful restart.
fn flags(i: usize) -> &'static [&'static str] {
    if i % 2 == 0 {
        &["--bgp-graceful-restart", "--bgp-graceful-restart-time=30s"]
    } else {
        &[]
    }
}

fn spec_cidr(i: usize) -> String {
    format!("10.244.{}.0/24", i + 1)
}

fn alt_cidr(i: usize) -> String {
    format!("10.245.{}.0/24", i + 1)
}

/// A YAML alias bomb (refused, and costs nothing: no annotation peers in this lab).
fn bomb() -> String {
    let mut b = String::from("- &a {remoteip: 10.99.0.1, remoteasn: 65000}\n");
    let levels = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    for w in levels.windows(2) {
        let refs = vec![format!("*{}", w[0]); 8].join(", ");
        b.push_str(&format!("- &{} [{refs}]\n", w[1]));
    }
    b
}

/// The pod CIDRs node `j` advertises: `kube-router.io/pod-cidrs` if set, else its spec.
fn advertised(m: &Model, j: usize) -> Vec<String> {
    match m.ann[j].get(POD_CIDRS) {
        Some(v) => v.split(',').map(|s| s.trim().to_string()).collect(),
        None => vec![spec_cidr(j)],
    }
}

/// What node `i`'s kernel must hold: every other registered node's advertised pod
/// CIDRs via that node, except what `i`'s import-reject annotation lists.
fn expected(lab: &Lab, m: &Model, i: usize) -> BTreeMap<String, String> {
    let reject: BTreeSet<String> = m.ann[i]
        .get(REJECT)
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
        .unwrap_or_default();
    let mut out = BTreeMap::new();
    for j in (0..NODES).filter(|&j| j != i && m.registered[j]) {
        for c in advertised(m, j) {
            if !reject.contains(&c) {
                out.insert(c, lab.node(j).ipv4.clone());
            }
        }
    }
    out
}

/// Node `i`'s protocol-17 IPv4 routes: prefix -> next hop.
fn kernel(lab: &Lab, i: usize) -> BTreeMap<String, String> {
    lab.kernel_routes(i)
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let p = w.next()?.to_string();
            let mut via = String::new();
            while let Some(x) = w.next() {
                if x == "via" {
                    via = w.next().unwrap_or_default().to_string();
                }
            }
            Some((p, via))
        })
        .collect()
}

fn set_ann(lab: &Lab, m: &mut Model, i: usize, key: &str, value: Option<String>) {
    match value {
        Some(v) => {
            if m.registered[i] {
                lab.annotate(i, key, &v);
            }
            m.ann[i].insert(key.to_string(), v);
        }
        None => {
            if m.registered[i] {
                lab.remove_annotation(i, key);
            }
            m.ann[i].remove(key);
        }
    }
}

fn register(lab: &Lab, m: &Model, i: usize) {
    let ann: Vec<(&str, &str)> = m.ann[i]
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    lab.register_node(i, &ann);
}

#[test]
fn random_cluster_changes_converge_to_the_api_state() {
    let test = "random_cluster_changes_converge_to_the_api_state";
    if !available(test, &[]) {
        return;
    }
    let seed = std::env::var("KB_RANDOM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        })
        | 1;
    let steps: usize = std::env::var("KB_RANDOM_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    eprintln!(
        "{test}: seed {seed}, {steps} steps (replay: KB_RANDOM_SEED={seed} cargo test --test e2e_random)"
    );
    let mut rng = Rng(seed);
    let mut lab = Lab::new("e2rr", LabConfig::new(NODES).unregistered());
    let mut m = Model::default();
    // Start: a random subset registered (at least two), every daemon running.
    for i in 0..NODES {
        m.registered[i] = i < 2 || rng.chance(60);
        if m.registered[i] {
            register(&lab, &m, i);
        }
    }
    for i in 0..NODES {
        lab.start_kube_bgp(i, flags(i));
        m.running[i] = true;
    }
    let reg: Vec<usize> = (0..NODES).filter(|&i| m.registered[i]).collect();
    for &i in &reg {
        let up = lab.wait_established(i, reg.len() - 1, UP);
        lab.check(up, &format!("seed {seed}: node{}: first sessions", i + 1));
    }

    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let t0 = Instant::now();
    for step in 0..steps {
        let i = rng.below(NODES);
        let what = match rng.below(100) {
            0..=17 => {
                if m.registered[i] {
                    "add (already there: delete)"
                } else {
                    "add"
                }
            }
            18..=32 => "delete",
            33..=47 => "pod-cidrs",
            48..=62 => "import-reject",
            63..=69 => "alias-bomb",
            70..=79 => "restart-term",
            80..=89 => "restart-kill",
            _ => "410-storm",
        };
        let desc;
        match what {
            "add" => {
                register(&lab, &m, i);
                m.registered[i] = true;
                desc = format!("add node{}", i + 1);
            }
            "add (already there: delete)" | "delete" => {
                if m.registered[i] {
                    lab.delete_node(&lab.node(i).name.clone());
                    m.registered[i] = false;
                    desc = format!("delete node{}", i + 1);
                } else {
                    register(&lab, &m, i);
                    m.registered[i] = true;
                    desc = format!("add node{}", i + 1);
                }
            }
            "pod-cidrs" => {
                let v = (!m.ann[i].contains_key(POD_CIDRS)).then(|| alt_cidr(i));
                desc = format!("node{}: pod-cidrs {v:?}", i + 1);
                set_ann(&lab, &mut m, i, POD_CIDRS, v);
            }
            "import-reject" => {
                let other = rng.below(NODES);
                let v = if m.ann[i].contains_key(REJECT) {
                    None
                } else {
                    Some(format!("{},{}", spec_cidr(other), alt_cidr(other)))
                };
                desc = format!("node{}: customimportreject {v:?}", i + 1);
                set_ann(&lab, &mut m, i, REJECT, v);
            }
            "alias-bomb" => {
                let v = (!m.ann[i].contains_key(PEERS)).then(bomb);
                desc = format!("node{}: peers alias bomb {}", i + 1, v.is_some());
                set_ann(&lab, &mut m, i, PEERS, v);
            }
            "restart-term" => {
                lab.stop_kube_bgp(i);
                lab.start_kube_bgp(i, flags(i));
                desc = format!("node{}: SIGTERM restart", i + 1);
            }
            "restart-kill" => {
                lab.kill_kube_bgp(i);
                lab.start_kube_bgp(i, flags(i));
                desc = format!("node{}: SIGKILL restart", i + 1);
            }
            _ => {
                lab.api().compact();
                lab.api().next_410("any");
                lab.api().drop_watches();
                desc = "410 storm: history compacted, watches dropped, next request 410".into();
            }
        }
        let kind = match what {
            "add (already there: delete)" | "delete" | "add" if desc.starts_with("add") => "add",
            "add (already there: delete)" | "delete" | "add" => "delete",
            w => w,
        };
        *counts.entry(kind).or_default() += 1;
        eprintln!("{test}: step {step:>2} at {:>6.1?}: {desc}", t0.elapsed());
        // Changes overlap: at most a short pause, no waiting for convergence.
        std::thread::sleep(Duration::from_millis(rng.below(400) as u64));
    }
    eprintln!("{test}: steps by kind: {counts:?}");

    // Converged: every registered node's kernel equals what the API state implies.
    let t1 = Instant::now();
    let registered: Vec<usize> = (0..NODES).filter(|&i| m.registered[i]).collect();
    let ok = common::wait_for(CONVERGE, || {
        registered
            .iter()
            .all(|&i| kernel(&lab, i) == expected(&lab, &m, i))
            .then_some(())
    });
    if ok.is_none() {
        let mut diff = String::new();
        for &i in &registered {
            let (have, want) = (kernel(&lab, i), expected(&lab, &m, i));
            if have != want {
                diff.push_str(&format!(
                    "node{}: have {have:?}\n       want {want:?}\n",
                    i + 1
                ));
            }
        }
        lab.fail(&format!(
            "seed {seed}: not converged {CONVERGE:?} after the last step:\n{diff}model: {m:?}"
        ));
    }
    eprintln!(
        "{test}: seed {seed}: {} registered nodes converged {:?} after the last step",
        registered.len(),
        t1.elapsed()
    );
    for &i in &registered {
        eprintln!("  node{}: {:?}", i + 1, kernel(&lab, i));
    }
}
