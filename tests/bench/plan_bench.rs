//! What one API change costs the planner in a large cluster: a snapshot of N Nodes (pod
//! CIDR, address; the local node an RR client of two servers, as the scale bench's
//! `rr` mode, or a full-mesh member) and S Services with one EndpointSlice each, all
//! cluster IPs advertised. Times `cluster::plan` from scratch (what every change cost
//! before incremental planning) and `cluster::Planner` after one change of each kind
//! (a Service's cluster IP, an EndpointSlice moving to another node, another Node's pod
//! CIDR, a Node deleted and created again), each the median over rounds, with the drop
//! of the previous plan included (as the daemon replaces its plan). Checks each
//! incremental plan against the full one outside the timed part.
//!
//! Also reports the heap the planner keeps between plans (live bytes and allocations,
//! counted by this program's global allocator), beside the heap of one `Plan` and of the
//! snapshot, since the daemon holds all three.
//!
//! `cargo run --release --example plan_bench -- [--nodes 5000] [--services 10000]
//! [--mode rr|mesh] [--rounds 30]`

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use kube_bgp::cluster::{KernelFacts, Planner, Settings, plan};
use kube_bgp::kube::objects::{EndpointSlice, KubeObject, Node, ResourceKind, Service};
use kube_bgp::kube::snapshot::{KubeEvent, Snapshot};

/// The system allocator, counting live bytes and allocations.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static LIVE_ALLOCS: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to the system allocator with the same arguments; the
// counters are only statistics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        LIVE_ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as the trait requires of the caller.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        LIVE_ALLOCS.fetch_sub(1, Ordering::Relaxed);
        // SAFETY: as the trait requires of the caller.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: as the trait requires of the caller.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Live heap now: (bytes, allocations).
fn live() -> (isize, isize) {
    (
        LIVE_BYTES.load(Ordering::Relaxed),
        LIVE_ALLOCS.load(Ordering::Relaxed),
    )
}

/// "X MB in Y allocations" for the difference between two `live()` readings.
fn heap(before: (isize, isize), after: (isize, isize)) -> String {
    format!(
        "{:.2} MB in {} allocations",
        (after.0 - before.0) as f64 / 1e6,
        after.1 - before.1
    )
}

fn node(i: usize, mode: &str, cidr_base: usize) -> Node {
    let ann = match (mode, i) {
        ("rr", 0) => r#""kube-router.io/rr.client":"0.0.0.1""#.to_string(),
        ("rr", 1 | 2) => r#""kube-router.io/rr.server":"0.0.0.1""#.to_string(),
        _ => String::new(),
    };
    let c = cidr_base + i;
    let json = format!(
        r#"{{"metadata":{{"name":"node-{i}","annotations":{{{ann}}}}},
            "spec":{{"podCIDR":"10.{}.{}.0/24"}},
            "status":{{"addresses":[{{"type":"InternalIP","address":"10.255.{}.{}"}}]}}}}"#,
        100 + c / 256,
        c % 256,
        i / 250,
        1 + i % 250
    );
    serde_json::from_str(&json).expect("node JSON")
}

fn service(i: usize, ip_base: usize) -> Service {
    let ip = ip_base + i;
    let json = format!(
        r#"{{"metadata":{{"namespace":"default","name":"svc-{i}"}},
            "spec":{{"type":"ClusterIP","clusterIP":"10.96.{}.{}"}}}}"#,
        ip / 250,
        1 + ip % 250
    );
    serde_json::from_str(&json).expect("service JSON")
}

fn slice(i: usize, on: usize) -> EndpointSlice {
    let json = format!(
        r#"{{"metadata":{{"namespace":"default","name":"svc-{i}-x",
               "labels":{{"kubernetes.io/service-name":"svc-{i}"}}}},
            "addressType":"IPv4",
            "endpoints":[{{"addresses":["10.1.0.1"],"nodeName":"node-{on}"}}]}}"#
    );
    serde_json::from_str(&json).expect("slice JSON")
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

fn main() {
    let mut nodes = 5000usize;
    let mut services = 10_000usize;
    let mut rounds = 30usize;
    let mut mode = "rr".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().unwrap_or_default();
        match a.as_str() {
            "--nodes" => nodes = v.parse().expect("--nodes N"),
            "--services" => services = v.parse().expect("--services N"),
            "--rounds" => rounds = v.parse().expect("--rounds N"),
            "--mode" => mode = v,
            _ => panic!("unknown argument {a}"),
        }
    }
    let settings = Settings {
        advertise_cluster_ip: true,
        ..Settings::default()
    };
    let kernel = KernelFacts::default();
    let local = "node-0";
    let empty = live();
    let mut snap = Snapshot::new();
    snap.apply(KubeEvent::Replaced {
        kind: ResourceKind::Node,
        objects: (0..nodes)
            .map(|i| KubeObject::Node(node(i, &mode, 0)))
            .collect(),
    });
    snap.apply(KubeEvent::Replaced {
        kind: ResourceKind::Service,
        objects: (0..services)
            .map(|i| KubeObject::Service(service(i, 0)))
            .collect(),
    });
    snap.apply(KubeEvent::Replaced {
        kind: ResourceKind::EndpointSlice,
        objects: (0..services)
            .map(|i| KubeObject::EndpointSlice(slice(i, i % nodes)))
            .collect(),
    });
    // The changes recorded while loading are not the snapshot's: a first plan starts
    // from scratch without them.
    drop(snap.take_changes());
    let with_snapshot = live();
    let one_plan = plan(&settings, local, &snap, &kernel);
    let with_plan = live();
    drop(one_plan);
    let full: Vec<Duration> = (0..rounds.min(10))
        .map(|_| {
            let t = Instant::now();
            drop(plan(&settings, local, &snap, &kernel));
            t.elapsed()
        })
        .collect();
    let mut planner = Planner::new();
    let t = Instant::now();
    let mut current = planner.plan(&settings, local, &mut snap, &kernel);
    let first = t.elapsed();
    let with_planner = live();
    let mut rows: Vec<(&str, Vec<Duration>)> = Vec::new();
    type MakeEvents = fn(usize, usize, usize) -> Vec<KubeEvent>;
    let kinds: [(&str, MakeEvents); 4] = [
        ("a Service's cluster IP changed", |k, _, s| {
            let i = (k * 7919) % s;
            vec![KubeEvent::Upsert(KubeObject::Service(service(i, s + k)))]
        }),
        ("an EndpointSlice moved to another node", |k, n, s| {
            let i = (k * 104_729) % s;
            vec![KubeEvent::Upsert(KubeObject::EndpointSlice(slice(
                i,
                (i + 1 + k) % n,
            )))]
        }),
        ("another Node's pod CIDR changed", |k, n, _| {
            let i = 3 + (k * 31) % (n - 3);
            vec![KubeEvent::Upsert(KubeObject::Node(node(i, "", n + k)))]
        }),
        ("a Node deleted, then created again", |k, n, _| {
            let i = 3 + (k * 37) % (n - 3);
            vec![KubeEvent::Delete(KubeObject::Node(node(i, "", 0)))]
        }),
    ];
    for (what, change) in kinds {
        let mut times = Vec::new();
        for k in 0..rounds {
            let events = change(k, nodes, services);
            let undo: Vec<KubeEvent> = match &events[0] {
                KubeEvent::Delete(KubeObject::Node(n)) => {
                    vec![KubeEvent::Upsert(KubeObject::Node(n.clone()))]
                }
                _ => Vec::new(),
            };
            for ev in events {
                snap.apply(ev);
            }
            let t = Instant::now();
            current = planner.plan(&settings, local, &mut snap, &kernel);
            times.push(t.elapsed());
            assert_eq!(
                current,
                plan(&settings, local, &snap, &kernel),
                "{what}: the incremental plan differs from the full one"
            );
            for ev in undo {
                snap.apply(ev);
                current = planner.plan(&settings, local, &mut snap, &kernel);
            }
        }
        rows.push((what, times));
    }
    println!(
        "{nodes} Nodes, {services} Services with one EndpointSlice each, local node in {mode} mode \
         ({} peers, {} originated routes); medians over {rounds} changes of each kind\n",
        current.peers.len(),
        current.originated.len()
    );
    println!(
        "heap: snapshot {}; one plan {}; planner's cache {}\n",
        heap(empty, with_snapshot),
        heap(with_snapshot, with_plan),
        heap(with_plan, with_planner)
    );
    println!("| what | ms |\n|---|---:|");
    println!(
        "| full plan from scratch (every change before incremental planning) | {} |",
        ms(median(full))
    );
    println!("| incremental: first plan (start-up) | {} |", ms(first));
    for (what, times) in rows {
        println!("| incremental: {what} | {} |", ms(median(times)));
    }
}
