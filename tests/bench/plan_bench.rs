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
//! snapshot, since the daemon holds all three. The snapshot is loaded as the daemon
//! loads it: each kind listed in pages of 500 decoded from streamed JSON bodies shaped
//! like the scale bench's API server's objects (kubelet-shaped Nodes, Services with the
//! server's defaults, EndpointSlices of three endpoints), with the bytes kept per object
//! and the heap's peak while listing and replacing.
//!
//! `cargo run --release --example plan_bench -- [--nodes 5000] [--services 10000]
//! [--mode rr|mesh] [--rounds 30]`

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use kube_bgp::cluster::{KernelFacts, Planner, Settings, plan};
use kube_bgp::kube::decoder::decode_list;
use kube_bgp::kube::objects::{EndpointSlice, Item, KubeObject, Node, ResourceKind, Service};
use kube_bgp::kube::snapshot::{KubeEvent, Snapshot};

/// The system allocator, counting live bytes and allocations.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static LIVE_ALLOCS: AtomicIsize = AtomicIsize::new(0);
static PEAK_BYTES: AtomicIsize = AtomicIsize::new(0);

fn note_peak(now: isize) {
    PEAK_BYTES.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to the system allocator with the same arguments; the
// counters are only statistics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        note_peak(now + layout.size() as isize);
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
        let delta = new_size as isize - layout.size() as isize;
        let now = LIVE_BYTES.fetch_add(delta, Ordering::Relaxed);
        // A realloc may hold both blocks for a moment.
        note_peak(now + new_size as isize);
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

/// A Node as the scale bench's API server writes it (kubelet-shaped: labels,
/// annotations, conditions, images), the local node `node-0` an RR client of `node-1`
/// and `node-2` in `rr` mode, every other node a client too.
fn node_json(i: usize, mode: &str) -> String {
    let ann = match (mode, i) {
        ("rr", 1 | 2) => r#","kube-router.io/rr.server":"0.0.0.1""#,
        ("rr", _) => r#","kube-router.io/rr.client":"0.0.0.1""#,
        _ => "",
    };
    let now = "2026-12-07T12:00:00Z";
    let conds: Vec<String> = ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]
        .iter()
        .map(|t| {
            format!(
                r#"{{"type":"{t}","status":"False","lastHeartbeatTime":"{now}","lastTransitionTime":"{now}","reason":"Kubelet{t}","message":"kubelet has no {t}"}}"#
            )
        })
        .collect();
    let images: Vec<String> = (0..8)
        .map(|k| {
            format!(
                r#"{{"names":["registry.example/app-{k}@sha256:{:064x}","registry.example/app-{k}:v1.{k}"],"sizeBytes":{}}}"#,
                k * 7919 + 1,
                10_000_000 + k * 12345
            )
        })
        .collect();
    format!(
        r#"{{"apiVersion":"v1","kind":"Node","metadata":{{"name":"node-{i}","uid":"uid-{i}","resourceVersion":"{i}","creationTimestamp":"{now}",
  "labels":{{"kubernetes.io/hostname":"node-{i}","kubernetes.io/os":"linux","kubernetes.io/arch":"amd64","beta.kubernetes.io/os":"linux","beta.kubernetes.io/arch":"amd64","node.kubernetes.io/instance-type":"bare-metal","topology.kubernetes.io/zone":"zone-a"}},
  "annotations":{{"node.alpha.kubernetes.io/ttl":"0","volumes.kubernetes.io/controller-managed-attach-detach":"true","kubeadm.alpha.kubernetes.io/cri-socket":"unix:///run/containerd/containerd.sock"{ann}}}}},
 "spec":{{"podCIDR":"10.{}.{}.0/24","podCIDRs":["10.{}.{}.0/24"]}},
 "status":{{"addresses":[{{"type":"InternalIP","address":"10.255.{}.{}"}},{{"type":"Hostname","address":"node-{i}"}}],
  "conditions":[{}],
  "capacity":{{"cpu":"32","memory":"131901388Ki","pods":"110","ephemeral-storage":"479596204Ki"}},
  "allocatable":{{"cpu":"31","memory":"129701388Ki","pods":"110","ephemeral-storage":"441993122629"}},
  "daemonEndpoints":{{"kubeletEndpoint":{{"Port":10250}}}},
  "nodeInfo":{{"architecture":"amd64","bootID":"boot-node-{i}","containerRuntimeVersion":"containerd://1.7.24","kernelVersion":"6.1.0-28-amd64","kubeProxyVersion":"v1.32.4","kubeletVersion":"v1.32.4","machineID":"machine-node-{i}","operatingSystem":"linux","osImage":"Debian GNU/Linux 12 (bookworm)","systemUUID":"uuid-node-{i}"}},
  "images":[{}]}}}}"#,
        100 + i / 256,
        i % 256,
        100 + i / 256,
        i % 256,
        i / 250,
        1 + i % 250,
        conds.join(","),
        images.join(",")
    )
}

/// A Service as the scale bench's API server stores it (defaults filled in).
fn service_json(i: usize) -> String {
    let ip = format!("10.96.{}.{}", i / 250, 1 + i % 250);
    format!(
        r#"{{"apiVersion":"v1","kind":"Service","metadata":{{"name":"svc-{i}","namespace":"bench","uid":"uid-s{i}","resourceVersion":"{i}","labels":{{"app":"svc-{i}"}}}},
 "spec":{{"selector":{{"app":"svc-{i}"}},"ports":[{{"name":"http","port":80,"targetPort":8080,"protocol":"TCP"}}],
  "type":"ClusterIP","sessionAffinity":"None","clusterIP":"{ip}","clusterIPs":["{ip}"],"ipFamilies":["IPv4"],"ipFamilyPolicy":"SingleStack"}},
 "status":{{"loadBalancer":{{}}}}}}"#
    )
}

/// An EndpointSlice of three endpoints as the scale bench's API server writes it.
fn slice_json(i: usize, nodes: usize) -> String {
    let eps: Vec<String> = (0..3)
        .map(|k| {
            let n = (i * 7 + k * 1009) % nodes;
            format!(
                r#"{{"addresses":["10.{}.{}.{}"],"nodeName":"node-{n}","conditions":{{"ready":true,"serving":true,"terminating":false}},"targetRef":{{"kind":"Pod","namespace":"default","name":"app-{i:08x}{k}","uid":"uid-app-{i:08x}{k}"}}}}"#,
                100 + n / 256,
                n % 256,
                2 + k
            )
        })
        .collect();
    format!(
        r#"{{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","addressType":"IPv4",
 "metadata":{{"name":"svc-{i}-abcde","namespace":"bench","resourceVersion":"{i}","labels":{{"kubernetes.io/service-name":"svc-{i}","endpointslice.kubernetes.io/managed-by":"endpointslice-controller.k8s.io"}}}},
 "ports":[{{"name":"http","port":8080,"protocol":"TCP"}}],"endpoints":[{}]}}"#,
        eps.join(",")
    )
}

/// A List body made item by item as it is read, like a streamed response: only the
/// item being read is held.
struct ListBody<F: FnMut(usize) -> String> {
    item: F,
    next: usize,
    end: usize,
    buf: Vec<u8>,
    pos: usize,
}

impl<F: FnMut(usize) -> String> std::io::Read for ListBody<F> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.buf.len() {
            self.pos = 0;
            self.buf = if self.next == usize::MAX {
                Vec::new()
            } else if self.next == self.end {
                self.next = usize::MAX;
                b"]}".to_vec()
            } else {
                let sep = if self.next % 500 == 0 { "" } else { "," };
                let s = format!("{sep}{}", (self.item)(self.next));
                self.next += 1;
                s.into_bytes()
            };
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Lists `count` objects of `kind` the way the reflector does: pages of 500 decoded
/// from streamed JSON bodies, the objects collected into one vector.
fn listed(kind: ResourceKind, count: usize, nodes: usize, mode: &str) -> Vec<KubeObject> {
    let mut objects = Vec::new();
    let mut start = 0;
    while start < count {
        let end = (start + 500).min(count);
        let head = r#"{"kind":"List","metadata":{"resourceVersion":"9"},"items":["#;
        let body = std::io::Read::chain(
            head.as_bytes(),
            ListBody {
                item: |i| match kind {
                    ResourceKind::Node => node_json(i, mode),
                    ResourceKind::Service => service_json(i),
                    ResourceKind::EndpointSlice => slice_json(i, nodes),
                },
                next: start,
                end,
                buf: Vec::new(),
                pos: 0,
            },
        );
        let page = decode_list(kind, body).expect("list page");
        for item in page.items {
            match item {
                Item::Ok(o) => objects.push(o),
                Item::Bad { who, error } => panic!("{who}: {error}"),
            }
        }
        start = end;
    }
    objects
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
    let mut loads = Vec::new();
    for kind in ResourceKind::ALL {
        let count = match kind {
            ResourceKind::Node => nodes,
            _ => services,
        };
        let before = live();
        PEAK_BYTES.store(before.0, Ordering::Relaxed);
        let objects = listed(kind, count, nodes, &mode);
        snap.apply(KubeEvent::Replaced { kind, objects });
        let after = live();
        let peak = PEAK_BYTES.load(Ordering::Relaxed) - before.0;
        loads.push(format!(
            "{kind}: {count} listed, kept {} ({:.0} bytes each), peak while listing +{:.2} MB",
            heap(before, after),
            (after.0 - before.0) as f64 / count.max(1) as f64,
            peak as f64 / 1e6
        ));
    }
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
    for l in &loads {
        println!("{l}");
    }
    println!();
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
