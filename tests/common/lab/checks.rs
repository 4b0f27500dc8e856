//! Typed views of a lab node's kube-bgp state (neighbours, RIB, per-session detail) and
//! the bounded waits the end-to-end tests are built from: "exactly these sessions
//! Established", "these kernel routes present and those absent", pings between pods in
//! parallel, and timers that report how long a change took to show.
//!
//! Owns nothing: it only reads through the control socket, `ip route` and `ping`. Must
//! not: change any state.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use kube_bgp::ops::ctl::{NeighborDetail, NeighborRow, RibRow};

use super::super::routers::{Router, RouterDaemon};
use super::super::wait_for;
use super::Lab;

/// Whether everything an end-to-end test needs is here: root, the fake API server's
/// tools, kubectl, ping and the given router daemons (loud skip, or a CI failure).
pub fn available(test: &str, routers: &[RouterDaemon]) -> bool {
    super::super::require_root(test)
        && super::super::apiserver::available(test)
        && super::super::require_tool(test, "kubectl")
        && super::super::require_tool(test, "ping")
        && routers.iter().all(|d| d.available(test))
}

/// FNV-1a 32-bit over the 16-byte (IPv4-mapped for IPv4) form of `ip`, as a dotted
/// quad: the router ID `--router-id=generate` must produce (kube-router's
/// hash).
pub fn fnv_router_id(ip: &str) -> String {
    let ip: std::net::IpAddr = ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}"));
    let bytes = match ip {
        std::net::IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
        std::net::IpAddr::V6(a) => a.octets(),
    };
    let mut h: u32 = 0x811c_9dc5;
    for b in bytes {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    std::net::Ipv4Addr::from(h).to_string()
}

/// Polls `f` (every 50 ms) until it holds or `timeout` passes: the time it took.
pub fn timed(timeout: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let t0 = Instant::now();
    wait_for(timeout, || f().then_some(())).map(|()| t0.elapsed())
}

/// A set of addresses from a list of string-likes.
pub fn set<S: AsRef<str>>(items: &[S]) -> BTreeSet<String> {
    items.iter().map(|s| s.as_ref().to_string()).collect()
}

impl Lab {
    /// `kube-bgp neighbor -o json` on node `i` as rows (empty when it does not answer).
    pub fn neighbor_rows(&self, i: usize) -> Vec<NeighborRow> {
        self.neighbors_json(i)
            .ok()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default()
    }

    /// `kube-bgp neighbor ADDR -o json` on node `i`.
    pub fn neighbor_detail(&self, i: usize, addr: &str) -> Option<NeighborDetail> {
        self.ctl_json(i, &["neighbor", addr])
            .ok()
            .and_then(|v| serde_json::from_value(v).ok())
    }

    /// `kube-bgp global rib -o json` on node `i` (empty when it does not answer).
    pub fn rib_rows(&self, i: usize) -> Vec<RibRow> {
        self.ctl_json(i, &["global", "rib"])
            .ok()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default()
    }

    /// Addresses node `i` has configured as neighbours (any state).
    pub fn configured_peers(&self, i: usize) -> BTreeSet<String> {
        self.neighbor_rows(i)
            .into_iter()
            .map(|r| r.address)
            .collect()
    }

    /// Addresses node `i` reports Established.
    pub fn established_peers(&self, i: usize) -> BTreeSet<String> {
        self.neighbor_rows(i)
            .into_iter()
            .filter(|r| r.state == "Established")
            .map(|r| r.address)
            .collect()
    }

    /// Waits until node `i`'s configured neighbours are exactly `want` and all are
    /// Established; fails the test (with logs) otherwise. Returns the time it took.
    pub fn expect_peers(&self, i: usize, want: &BTreeSet<String>, timeout: Duration) -> Duration {
        let took = timed(timeout, || {
            let rows = self.neighbor_rows(i);
            rows.len() == want.len()
                && rows
                    .iter()
                    .all(|r| r.state == "Established" && want.contains(&r.address))
        });
        match took {
            Some(d) => d,
            None => self.fail(&format!(
                "{}: want exactly {want:?} Established, have {:?}",
                self.node(i).name,
                self.neighbor_rows(i)
                    .iter()
                    .map(|r| format!("{} {} as{}", r.address, r.state, r.asn))
                    .collect::<Vec<_>>()
            )),
        }
    }

    /// `established_transitions` per Established neighbour of node `i`.
    pub fn transitions(&self, i: usize) -> BTreeMap<String, u64> {
        self.established_peers(i)
            .into_iter()
            .filter_map(|a| {
                let d = self.neighbor_detail(i, &a)?;
                Some((a, d.established_transitions))
            })
            .collect()
    }

    /// Best RIB paths of node `i`: prefix -> next hop.
    pub fn rib_best(&self, i: usize) -> BTreeMap<String, String> {
        self.rib_rows(i)
            .into_iter()
            .filter(|r| r.best)
            .map(|r| (r.prefix, r.next_hop))
            .collect()
    }

    /// Waits until node `i`'s kernel has `cidr via ip` for every pair in `want` (plain
    /// or through a nexthop object of ours, `cidr nhid N via ip`) and no route at all for
    /// any prefix in `absent`; fails the test otherwise.
    pub fn expect_kernel(
        &self,
        i: usize,
        want: &[(String, String)],
        absent: &[String],
        timeout: Duration,
    ) -> Duration {
        let ok = |routes: &str| {
            want.iter()
                .all(|(c, via)| super::kernel::routes_via(routes, c, via))
                && absent
                    .iter()
                    .all(|c| !routes.lines().any(|l| l.starts_with(&format!("{c} "))))
        };
        match timed(timeout, || ok(&self.kernel_routes(i))) {
            Some(d) => d,
            None => self.fail(&format!(
                "{} kernel routes:\n{}\nwant {want:?}, absent {absent:?}",
                self.node(i).name,
                self.kernel_routes(i)
            )),
        }
    }

    /// (pod CIDR, node address) of every node in `nodes`: the kernel routes other nodes
    /// should have towards them.
    pub fn pod_routes(&self, nodes: &[usize]) -> Vec<(String, String)> {
        nodes
            .iter()
            .map(|&j| (self.node(j).pod_cidr4.clone(), self.node(j).ipv4.clone()))
            .collect()
    }

    /// Pings (IPv4, `count` packets) from pod `a` to pod `b` for every pair, in
    /// parallel; fails the test listing every pair that lost a packet.
    pub fn expect_pings(&self, pairs: &[(usize, usize)], count: u32) {
        let bad: Vec<String> = std::thread::scope(|s| {
            let jobs: Vec<_> = pairs
                .iter()
                .map(|&(a, b)| {
                    let to = self.node(b).pod_ip4.clone();
                    (a, b, s.spawn(move || self.ping(a, &to, count)))
                })
                .collect();
            jobs.into_iter()
                .filter_map(|(a, b, j)| {
                    let got = j.join().unwrap_or((0, 0));
                    (got != (count, count))
                        .then(|| format!("pod{} -> pod{}: {got:?}", a + 1, b + 1))
                })
                .collect()
        });
        self.check(bad.is_empty(), &format!("pings lost: {bad:?}"));
    }

    /// Whether a single ping from pod `a` to pod `b` gets no answer.
    pub fn ping_fails(&self, a: usize, b: usize) -> bool {
        let to = self.node(b).pod_ip4.clone();
        self.ping(a, &to, 1).1 == 0
    }

    /// The router started in router namespace `j`.
    pub fn rtr(&self, j: usize) -> &Router {
        match self.router(j).router.as_ref() {
            Some(r) => r,
            None => self.fail(&format!("router {j} was not started")),
        }
    }

    /// Next hops of every path router `j` received for `prefix`.
    pub fn router_next_hops(&self, j: usize, prefix: &str) -> BTreeSet<String> {
        let p = super::super::routers::prefix(prefix);
        self.rtr(j)
            .routes()
            .into_iter()
            .filter(|r| r.prefix == p)
            .filter_map(|r| r.next_hop.map(|a| a.to_string()))
            .collect()
    }

    /// Waits until router `j`'s paths for `prefix` have exactly the next hops `want`
    /// (empty: the prefix is gone); fails the test otherwise. Returns the time it took.
    pub fn expect_router_paths(
        &self,
        j: usize,
        prefix: &str,
        want: &BTreeSet<String>,
        timeout: Duration,
    ) -> Duration {
        match timed(timeout, || self.router_next_hops(j, prefix) == *want) {
            Some(d) => d,
            None => self.fail(&format!(
                "router {j}: {prefix} next hops {:?}, want {want:?}
{}",
                self.router_next_hops(j, prefix),
                self.rtr(j).logs()
            )),
        }
    }

    /// Node addresses of the given node indices.
    pub fn ips(&self, nodes: &[usize]) -> BTreeSet<String> {
        nodes.iter().map(|&j| self.node(j).ipv4.clone()).collect()
    }

    /// Lines of node `i`'s log that contain every one of `words`.
    pub fn log_lines(&self, i: usize, words: &[&str]) -> Vec<String> {
        self.log(i)
            .lines()
            .filter(|l| words.iter().all(|w| l.contains(w)))
            .map(str::to_string)
            .collect()
    }
}
