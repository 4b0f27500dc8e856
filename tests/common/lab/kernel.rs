//! Kernel-side helpers of the lab for end-to-end tests: routes of one prefix in a node,
//! bounded waits on them, the routes kube-bgp does not own (to prove they are never
//! touched), links, a continuous background ping between pods, and the fields of
//! `kube-bgp status` / `neighbor ADDR` the tests read.
//!
//! Owns: the ping processes it starts (by pid, through `ChildGuard`). Must not: touch
//! anything outside the lab's namespaces.

use std::process::Stdio;
use std::time::{Duration, Instant};

use super::super::{ChildGuard, wait_for};
use super::{Lab, parse_ping};

/// `ip` with `-6` for IPv6 prefixes and addresses.
fn family(prefix: &str) -> &'static str {
    if prefix.contains(':') { "-6" } else { "-4" }
}

impl Lab {
    /// Router `j`'s running daemon, to announce and withdraw prefixes.
    pub fn routers_mut(&mut self, j: usize) -> &mut super::super::routers::Router {
        let len = self.routers.len();
        self.routers
            .get_mut(j)
            .and_then(|r| r.router.as_mut())
            .unwrap_or_else(|| panic!("router index {j} of {len} is not running"))
    }

    /// `ip route show <prefix>` in node `i`'s main table (every protocol): "" when absent.
    pub fn route(&self, i: usize, prefix: &str) -> String {
        let ns = &self.node(i).ns.name;
        super::super::sh(&format!(
            "ip -n {ns} {} route show exact {prefix}",
            family(prefix)
        ))
        .trim()
        .to_string()
    }

    /// The kube-bgp route (`proto 17`) to `prefix` in node `i`, "" when absent.
    pub fn bgp_route(&self, i: usize, prefix: &str) -> String {
        self.route(i, prefix)
            .lines()
            .find(|l| l.contains(" proto 17"))
            .unwrap_or("")
            .to_string()
    }

    /// Waits up to `timeout` until `ok(bgp_route(i, prefix))`; returns the elapsed time.
    pub fn wait_bgp_route(
        &self,
        i: usize,
        prefix: &str,
        timeout: Duration,
        ok: impl Fn(&str) -> bool,
    ) -> Option<Duration> {
        let t0 = Instant::now();
        wait_for(timeout, || {
            ok(&self.bgp_route(i, prefix)).then(|| t0.elapsed())
        })
    }

    /// Waits until node `i` routes `prefix` with `proto 17 … via nh`; fails with logs.
    pub fn expect_via(&self, i: usize, prefix: &str, nh: &str, timeout: Duration) -> Duration {
        let want = format!("via {nh} ");
        let got = self.wait_bgp_route(i, prefix, timeout, |r| r.contains(&want));
        match got {
            Some(d) => d,
            None => self.fail(&format!(
                "node{}: no `{prefix} {want}proto 17` within {timeout:?}; routes:\n{}",
                i + 1,
                self.route_table(i)
            )),
        }
    }

    /// Waits until node `i` has no kube-bgp route to `prefix`; fails with logs.
    pub fn expect_no_route(&self, i: usize, prefix: &str, timeout: Duration) -> Duration {
        match self.wait_bgp_route(i, prefix, timeout, str::is_empty) {
            Some(d) => d,
            None => self.fail(&format!(
                "node{}: {prefix} still routed by kube-bgp after {timeout:?}:\n{}",
                i + 1,
                self.route_table(i)
            )),
        }
    }

    /// Node `i`'s whole main table, both families (for failure messages).
    pub fn route_table(&self, i: usize) -> String {
        let ns = &self.node(i).ns.name;
        let mut s = super::super::sh(&format!("ip -n {ns} -4 route show"));
        s.push_str(&super::super::sh(&format!("ip -n {ns} -6 route show")));
        s
    }

    /// Every IPv4 route in every table of node `i` except kube-bgp's own (main table,
    /// `proto 17`, and the `nh_info` line `-d` prints under a route naming one of
    /// kube-bgp's nexthop objects), with details, one per line, sorted: what kube-bgp
    /// must never touch.
    pub fn foreign_routes4(&self, i: usize) -> Vec<String> {
        let ns = &self.node(i).ns.name;
        let out = super::super::sh(&format!("ip -n {ns} -4 -d -o route show table all"));
        let ours_nh = |l: &str| {
            l.trim_start().starts_with("nh_info id ")
                && l.trim_end().ends_with(" proto 17")
                && l.split_whitespace()
                    .nth(2)
                    .and_then(|id| id.parse::<u32>().ok())
                    .is_some_and(|id| (0x4b42_0001..=0x4b42_ffff).contains(&id))
        };
        let mut v: Vec<String> = out
            .lines()
            .filter(|l| !l.contains(" table main proto 17 ") && !ours_nh(l))
            .map(|l| l.trim_end().to_string())
            .collect();
        v.sort();
        v
    }

    /// Runs an `ip` command (without the leading `ip`) inside node `i`.
    pub fn ip(&self, i: usize, args: &str) -> String {
        super::super::sh(&format!("ip -n {} {args}", self.node(i).ns.name))
    }

    /// Names of node `i`'s links that look like kube-bgp/kube-router tunnels (`tun-*`).
    pub fn tunnels(&self, i: usize) -> Vec<String> {
        let out = self.ip(i, "-o link show");
        out.lines()
            .filter_map(|l| l.split(": ").nth(1))
            .map(|n| n.split('@').next().unwrap_or(n).to_string())
            .filter(|n| n.starts_with("tun-"))
            .collect()
    }

    /// Starts `ping -i interval -c count` from node `from`'s pod to `to_ip` in the
    /// background (bounded by `-w`); finish it with `PingRun::finish`.
    pub fn ping_start(&self, from: usize, to_ip: &str, interval: f64, count: u32) -> PingRun {
        ping_in(&self.node(from).pod, to_ip, interval, count)
    }

    /// As `ping_start`, from router `j`'s namespace (through the routes its daemon
    /// installed there).
    pub fn ping_start_from_router(
        &self,
        j: usize,
        to_ip: &str,
        interval: f64,
        count: u32,
    ) -> PingRun {
        ping_in(&self.router(j).ns, to_ip, interval, count)
    }

    /// Starts `ip monitor route nexthop` in node `i`'s namespace, writing every route
    /// and nexthop object change to a file in the lab directory; `IpRouteMonitor::deleted`
    /// then lists the deletions of kube-bgp's routes seen so far, however brief, and
    /// `deleted_nexthops` those of its nexthop objects (which take the routes naming
    /// them along, without a notification per IPv4 route).
    pub fn route_monitor(&self, i: usize, tag: &str) -> IpRouteMonitor {
        let node = self.node(i);
        let path = node.dir.join(format!("routes-{tag}.log"));
        let out = std::fs::File::create(&path)
            .unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        let child = node
            .ns
            .command("ip")
            .args(["monitor", "route", "nexthop"])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run ip monitor: {e}"));
        // Give it a moment to subscribe before the caller changes anything.
        std::thread::sleep(Duration::from_millis(200));
        IpRouteMonitor {
            _guard: ChildGuard::new(child, "ip monitor route"),
            path,
        }
    }

    /// `kube-bgp status -o json` on node `i`: the state of each API resource, e.g.
    /// `[("nodes", "synced"), …]` (empty if the daemon does not answer).
    pub fn api_states(&self, i: usize) -> Vec<(String, String)> {
        let Ok(v) = self.ctl_json(i, &["status"]) else {
            return Vec::new();
        };
        v.get("api")
            .and_then(|a| a.as_array())
            .map(|rows| {
                rows.iter()
                    .filter_map(|r| {
                        let k = r.get(0)?.as_str()?;
                        let s = r.get(1)?.as_str()?;
                        Some((k.to_string(), s.to_string()))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `established_transitions` of node `i`'s session with `peer` (`neighbor ADDR`).
    pub fn established_transitions(&self, i: usize, peer: &str) -> Option<u64> {
        self.ctl_json(i, &["neighbor", peer])
            .ok()?
            .get("established_transitions")?
            .as_u64()
    }
}

/// Whether `routes` (`ip route show` lines) routes `prefix` via `gw` in either form
/// kube-bgp installs: plain (`<prefix> via <gw> dev …`) or naming one of its nexthop
/// objects (`<prefix> nhid N via <gw> dev …`; the kernel prints the object's gateway
/// after its id).
pub fn routes_via(routes: &str, prefix: &str, gw: &str) -> bool {
    routes.lines().any(|l| {
        let w: Vec<&str> = l.split_whitespace().collect();
        let rest = match w.get(1) {
            Some(&"nhid") => w
                .get(2)
                .and_then(|id| id.parse::<u32>().ok())
                .filter(|id| (0x4b42_0001..=0x4b42_ffff).contains(id))
                .and_then(|_| w.get(3..)),
            _ => w.get(1..),
        };
        w.first() == Some(&prefix) && rest.is_some_and(|r| r.starts_with(&["via", gw]))
    })
}

/// A background `ip monitor route nexthop`; killed on drop.
pub struct IpRouteMonitor {
    _guard: ChildGuard,
    path: std::path::PathBuf,
}

impl IpRouteMonitor {
    /// Every deletion of a protocol-17 route seen so far (`Deleted <prefix> … proto 17`).
    pub fn deleted(&self) -> Vec<String> {
        self.deletions()
            .into_iter()
            .filter(|l| !l.starts_with("Deleted id "))
            .collect()
    }

    /// Every deletion of a protocol-17 nexthop object seen so far (`Deleted id N …
    /// proto 17`): each also removed, silently for IPv4, every route naming it.
    pub fn deleted_nexthops(&self) -> Vec<String> {
        self.deletions()
            .into_iter()
            .filter(|l| l.starts_with("Deleted id "))
            .collect()
    }

    fn deletions(&self) -> Vec<String> {
        std::fs::read_to_string(&self.path)
            .unwrap_or_default()
            .lines()
            .filter(|l| {
                l.starts_with("Deleted ")
                    && l.split_whitespace()
                        .collect::<Vec<_>>()
                        .windows(2)
                        .any(|w| w == ["proto", "17"])
            })
            .map(str::to_string)
            .collect()
    }

    /// Deletions of the route to `prefix` seen so far.
    pub fn deleted_prefix(&self, prefix: &str) -> Vec<String> {
        let head = format!("Deleted {prefix} ");
        self.deleted()
            .into_iter()
            .filter(|l| l.starts_with(&head))
            .collect()
    }
}

/// A background ping; killed on drop if not finished.
pub struct PingRun {
    guard: Option<ChildGuard>,
    pub started: Instant,
    bound: Duration,
}

impl PingRun {
    /// Waits for ping to end by itself (bounded) and returns (sent, received, output).
    pub fn finish(mut self) -> (u32, u32, String) {
        let Some(mut g) = self.guard.take() else {
            return (0, 0, String::new());
        };
        let left = self.bound.saturating_sub(self.started.elapsed());
        let done = wait_for(left, || g.child.try_wait().ok().flatten());
        if done.is_none() {
            g.signal(libc::SIGINT);
            let _ = wait_for(Duration::from_secs(3), || g.child.try_wait().ok().flatten());
        }
        let mut out = String::new();
        if let Some(mut so) = g.child.stdout.take() {
            let _ = std::io::Read::read_to_string(&mut so, &mut out);
        }
        if let Some(mut se) = g.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut se, &mut out);
        }
        let (s, r) = parse_ping(&out);
        (s, r, out)
    }
}

/// Starts `count` pings to `to_ip` every `interval` seconds inside `ns`.
fn ping_in(ns: &super::super::Netns, to_ip: &str, interval: f64, count: u32) -> PingRun {
    let deadline = (f64::from(count) * interval * 1.5 + 10.0).ceil() as u64;
    let child = ns
        .command("ping")
        .args(["-n", "-q", "-W", "1"])
        .arg("-i")
        .arg(interval.to_string())
        .arg("-c")
        .arg(count.to_string())
        .arg("-w")
        .arg(deadline.to_string())
        .arg(to_ip)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run ping: {e}"));
    PingRun {
        guard: Some(ChildGuard::new(child, "ping")),
        started: Instant::now(),
        bound: Duration::from_secs(deadline + 5),
    }
}
