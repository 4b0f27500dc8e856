//! "A kube-bgp node in a namespace" for integration tests: starts the real binary with
//! a kubeconfig of the fake API server and kube-router flags, stops/restarts it (any
//! signal), and reads its state through the product's own CLI (`kube-bgp neighbor -o
//! json`, `kube-bgp global rib -o json`) and the kernel (`ip route show proto 17`).
//!
//! Owns: the kube-bgp process (killed on drop) and one temporary directory (control
//! socket and logs; removed on drop). Must not: create namespaces or Node objects (the
//! test does) or touch anything outside its namespace and directory.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use kube_bgp::ops::ctl::{NeighborDetail, NeighborRow, RibRow};
use serde_json::Value;

use super::apiserver::FakeApiServer;
use super::{ChildGuard, Netns, kube_bgp_bin, wait_for};

static DIR_COUNTER: AtomicU32 = AtomicU32::new(0);

/// A kube-bgp daemon running inside a namespace as the Node `node`.
pub struct KbNode {
    pub ns: String,
    pub node: String,
    dir: PathBuf,
    args: Vec<String>,
    /// Programs that exec kube-bgp, e.g. `setpriv --bounding-set=...` (empty: none).
    wrapper: Vec<String>,
    child: Option<ChildGuard>,
    runs: u32,
}

impl KbNode {
    /// Starts `kube-bgp --kubeconfig <api token kubeconfig> --hostname-override node
    /// --ctl-socket DIR/ctl.sock --health-port 0 --cni-conf-path DIR/10-kuberouter.conflist
    /// -v 2 FLAGS...` in `ns` and waits (10 s)
    /// until its control socket answers.
    pub fn start(ns: &Netns, api: &FakeApiServer, node: &str, flags: &[&str]) -> KbNode {
        Self::start_wrapped(ns, api, node, flags, &[])
    }

    /// As `start`, with kube-bgp exec'ed by `wrapper` (a program and its arguments that
    /// ends by exec'ing the rest of its command line, such as `setpriv ... --`).
    pub fn start_wrapped(
        ns: &Netns,
        api: &FakeApiServer,
        node: &str,
        flags: &[&str],
        wrapper: &[&str],
    ) -> KbNode {
        let k = DIR_COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("kbnode{}n{k}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        let mut args = vec![
            "--kubeconfig".to_string(),
            api.kubeconfig_token().display().to_string(),
            "--hostname-override".into(),
            node.into(),
            "--ctl-socket".into(),
            dir.join("ctl.sock").display().to_string(),
            "--health-port".into(),
            "0".into(),
            // The CNI configuration goes into the test's directory, never /etc/cni.
            "--cni-conf-path".into(),
            dir.join("10-kuberouter.conflist").display().to_string(),
            "-v".into(),
            "2".into(),
            // Stops send Cease at once (the drain is tested on its own); a test's own
            // --graceful-shutdown-time comes later and wins.
            "--graceful-shutdown-time=0".into(),
        ];
        args.extend(flags.iter().map(|s| s.to_string()));
        let mut n = KbNode {
            ns: ns.name.clone(),
            node: node.into(),
            dir,
            args,
            wrapper: wrapper.iter().map(|s| s.to_string()).collect(),
            child: None,
            runs: 0,
        };
        n.spawn();
        n
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("kube-bgp.log")
    }

    /// The daemon's pid while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(ChildGuard::pid)
    }

    pub fn ctl_socket(&self) -> PathBuf {
        self.dir.join("ctl.sock")
    }

    fn spawn(&mut self) {
        self.runs += 1;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap_or_else(|e| panic!("open kube-bgp.log: {e}"));
        let err = log.try_clone().unwrap_or_else(|e| panic!("dup log: {e}"));
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns])
            .args(&self.wrapper)
            .arg(kube_bgp_bin())
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn kube-bgp: {e}"));
        self.child = Some(ChildGuard::new(child, "kube-bgp"));
        let up = wait_for(Duration::from_secs(10), || {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(st)) = c.child.try_wait() {
                    return Some(Err(format!("exited: {st}")));
                }
            }
            self.ctl(&["status"]).ok().map(|_| Ok(()))
        });
        match up {
            Some(Ok(())) => {}
            other => panic!(
                "kube-bgp ({}) did not start: {other:?}\n{}",
                self.node,
                self.logs()
            ),
        }
    }

    /// Sends `sig` and waits (up to 10 s) for the process to exit; SIGKILL after that.
    pub fn stop(&mut self, sig: i32) {
        let Some(mut g) = self.child.take() else {
            return;
        };
        g.signal(sig);
        let exited = wait_for(Duration::from_secs(10), || {
            g.child.try_wait().ok().flatten()
        });
        if exited.is_none() {
            eprintln!("kube-bgp ({}) ignored signal {sig}; killing", self.node);
        }
        drop(g);
    }

    /// Starts the daemon again with the same flags (after `stop`).
    pub fn restart(&mut self) {
        self.stop(libc::SIGTERM);
        self.spawn();
    }

    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.child.try_wait(), Ok(None)))
    }

    /// `kube-bgp ARGS -o json --ctl-socket SOCK`: the JSON it prints, or why not.
    pub fn ctl(&self, args: &[&str]) -> Result<Value, String> {
        let out = Command::new(kube_bgp_bin())
            .args(args)
            .args(["-o", "json", "--ctl-socket"])
            .arg(self.ctl_socket())
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("run kube-bgp {args:?}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "kube-bgp {args:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| {
            format!(
                "kube-bgp {args:?}: bad JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    fn ctl_as<T: serde::de::DeserializeOwned>(&self, args: &[&str]) -> Result<T, String> {
        let v = self.ctl(args)?;
        serde_json::from_value(v).map_err(|e| format!("kube-bgp {args:?}: unexpected JSON: {e}"))
    }

    /// All neighbours (`kube-bgp neighbor -o json`); empty when the daemon does not answer.
    pub fn neighbors(&self) -> Vec<NeighborRow> {
        self.ctl_as(&["neighbor"]).unwrap_or_default()
    }

    /// One neighbour in detail (`kube-bgp neighbor ADDR -o json`).
    pub fn neighbor(&self, addr: &str) -> Option<NeighborDetail> {
        self.ctl_as(&["neighbor", addr]).ok()
    }

    /// The session state with `addr` ("" when unknown).
    pub fn state(&self, addr: &str) -> String {
        self.neighbors()
            .into_iter()
            .find(|n| n.address == addr)
            .map(|n| n.state)
            .unwrap_or_default()
    }

    pub fn wait_established(&self, addr: &str, timeout: Duration) -> bool {
        wait_for(timeout, || {
            (self.state(addr) == "Established").then_some(())
        })
        .is_some()
    }

    /// Every path of the Loc-RIB of one family (`kube-bgp global rib [-a ipv6] -o json`).
    pub fn rib(&self, v6: bool) -> Vec<RibRow> {
        let args: &[&str] = if v6 {
            &["global", "rib", "-a", "ipv6"]
        } else {
            &["global", "rib"]
        };
        self.ctl_as(args).unwrap_or_default()
    }

    /// The best path for `prefix`, if any.
    pub fn rib_best(&self, prefix: &str) -> Option<RibRow> {
        self.rib(prefix.contains(':'))
            .into_iter()
            .find(|r| r.prefix == prefix && r.best)
    }

    pub fn wait_rib(&self, prefix: &str, timeout: Duration) -> Option<RibRow> {
        wait_for(timeout, || self.rib_best(prefix))
    }

    pub fn wait_no_rib(&self, prefix: &str, timeout: Duration) -> bool {
        wait_for(timeout, || self.rib_best(prefix).is_none().then_some(())).is_some()
    }

    /// `ip route show proto 17` lines (both families) in the node's namespace.
    pub fn kernel_routes(&self) -> Vec<String> {
        let mut out = Vec::new();
        for fam in ["-4", "-6"] {
            let o = super::run(&format!("ip -n {} {fam} route show proto 17", self.ns));
            out.extend(
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .map(|l| l.trim().to_string()),
            );
        }
        out
    }

    /// The kernel route (proto 17) for `prefix`, as `ip route` prints it.
    pub fn kernel_route(&self, prefix: &str) -> Option<String> {
        self.kernel_routes()
            .into_iter()
            .find(|l| l.split_whitespace().next() == Some(prefix))
    }

    pub fn wait_kernel(&self, prefix: &str, timeout: Duration) -> Option<String> {
        wait_for(timeout, || self.kernel_route(prefix))
    }

    pub fn wait_no_kernel(&self, prefix: &str, timeout: Duration) -> bool {
        wait_for(timeout, || {
            self.kernel_route(prefix).is_none().then_some(())
        })
        .is_some()
    }

    /// The last 12 KB of the daemon's log (all runs), for failure messages.
    pub fn logs(&self) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let tail = text.len().saturating_sub(12288);
        let start = (tail..text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(text.len());
        format!(
            "==> kube-bgp {} ({} run(s)) <==\n{}",
            self.node,
            self.runs,
            &text[start..]
        )
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for KbNode {
    fn drop(&mut self) {
        self.child.take();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Creates a Node object with any number of InternalIPs and pod CIDRs (dual stack) and
/// annotations, through the fake API server.
pub fn create_node(
    api: &FakeApiServer,
    name: &str,
    ips: &[&str],
    pod_cidrs: &[&str],
    annotations: &[(&str, &str)],
) {
    use super::apiserver::json_str;
    let ann: Vec<String> = annotations
        .iter()
        .map(|(k, v)| format!("{}:{}", json_str(k), json_str(v)))
        .collect();
    let cidrs: Vec<String> = pod_cidrs.iter().map(|c| json_str(c)).collect();
    let spec = match pod_cidrs.first() {
        None => "{}".to_string(),
        Some(first) => format!(
            "{{\"podCIDR\":{},\"podCIDRs\":[{}]}}",
            json_str(first),
            cidrs.join(",")
        ),
    };
    let mut addrs: Vec<String> = ips
        .iter()
        .map(|ip| format!("{{\"type\":\"InternalIP\",\"address\":{}}}", json_str(ip)))
        .collect();
    addrs.push(format!(
        "{{\"type\":\"Hostname\",\"address\":{}}}",
        json_str(name)
    ));
    let json = format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{{\"name\":{n},\"labels\":{{\"kubernetes.io/hostname\":{n}}},\"annotations\":{{{a}}}}},\"spec\":{spec},\"status\":{{\"addresses\":[{addrs}]}}}}",
        n = json_str(name),
        a = ann.join(","),
        addrs = addrs.join(","),
    );
    api.create("/api/v1/nodes", &json);
}

/// Creates a ClusterIP Service `default/name` with the given cluster IP.
pub fn create_service(api: &FakeApiServer, name: &str, cluster_ip: &str) {
    use super::apiserver::json_str;
    let json = format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{{\"name\":{},\"namespace\":\"default\"}},\"spec\":{{\"type\":\"ClusterIP\",\"clusterIP\":{ip},\"clusterIPs\":[{ip}],\"ports\":[{{\"port\":80,\"protocol\":\"TCP\"}}]}}}}",
        json_str(name),
        ip = json_str(cluster_ip),
    );
    api.create("/api/v1/namespaces/default/services", &json);
}

/// Two namespaces joined by a veth: the kube-bgp node (10.0.0.1/24, fd00::1/64, with
/// the fake API server on its loopback) and a router (10.0.0.2/24, fd00::2/64).
pub struct Pair {
    pub api: FakeApiServer,
    pub kb: Netns,
    pub rtr: Netns,
    /// Interface names: kube-bgp side, router side.
    pub kb_if: String,
    pub rtr_if: String,
}

/// Builds a [`Pair`]; namespaces are named `kb<tag>...`.
pub fn pair(tag: &str) -> Pair {
    let kb = Netns::new(tag);
    let rtr = Netns::new(tag);
    let (kb_if, rtr_if) = super::veth(
        &kb,
        &["10.0.0.1/24", "fd00::1/64"],
        &rtr,
        &["10.0.0.2/24", "fd00::2/64"],
    );
    let api = FakeApiServer::start("127.0.0.1", Some(&kb));
    Pair {
        api,
        kb,
        rtr,
        kb_if,
        rtr_if,
    }
}
