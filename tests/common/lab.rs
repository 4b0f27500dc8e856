//! A reusable lab: an N-node "cluster" built from network namespaces on one Linux bridge,
//! with a pod per node, the fake API server holding a Node object per node, optional
//! external router namespaces, and kube-bgp run inside each node as its users run it.
//!
//! Owns: every namespace, process and temporary file it creates (all torn down on drop:
//! processes by pid, namespaces by name, the lab directory unless a test panicked — then
//! it is kept and the tail of every node's log is printed). Must not: touch the host's
//! network, or use any address outside its own namespaces.
//!
//! Topology (k = the lab's second octet, n = node number = index + 1):
//! ```text
//!   switch ns: bridge, 10.k.0.254/24 (+ fd00:k::254/64), fake API server on 10.k.0.254
//!   node n ns: 10.k.0.n/24 (+ fd00:k::n/64), forwarding on, pod CIDR 10.244.n.0/24
//!              (+ fd00:244:n::/64) routed to its pod over a veth (node side .1 / ::1)
//!   pod  n ns: 10.244.n.2 (+ fd00:244:n::2), default route via .1 / ::1
//!   router j:  10.k.0.(201+j)/24 (+ fd00:k::(201+j)/64), for BIRD/GoBGP/FRR (routers.rs)
//! ```
//! With `two_subnets(m)`, nodes m.. and (optionally) the routers sit on a second bridge,
//! subnet 10.k.1.0/24 (+ fd00:k:1::/64), at 10.k.1.n; a gateway namespace routes between
//! the two (10.k.0.253 and 10.k.1.253, ::253) and is everyone's default route. It has
//! no route to any pod CIDR: pods in different subnets reach each other only through
//! the overlay.
//! ```text
//!   switch ns: br0 (subnet 0, API server) and br1 (subnet 1, no address)
//!   gw ns:     a leg on each bridge, forwarding on, nothing else
//! ```
//! A *bare* lab (`LabConfig::bare`) is a set of freshly installed nodes instead: no
//! forwarding, no pod veth, no `kube-bridge`, no CNI configuration; each node's pod
//! namespace is empty until the CNI plugins give it an interface (`lab/cni.rs`).
//! The kube-bgp process side (start/stop/ctl/logs) is in `lab/daemon.rs`.

pub mod checks;
pub mod cni;
pub mod daemon;
pub mod kernel;
pub mod overlay;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::apiserver::{FakeApiServer, json_str};
use super::routers::{Neighbor, Router, RouterConfig, RouterDaemon};
use super::{ChildGuard, Netns, sh, veth};

static LAB_COUNTER: AtomicU32 = AtomicU32::new(0);

/// What to build. `LabConfig::new(3).dual_stack().annotate(0, "k", "v")`.
#[derive(Clone, Debug)]
pub struct LabConfig {
    pub nodes: usize,
    pub dual_stack: bool,
    /// External router namespaces on the bridge.
    pub routers: usize,
    /// (node index, key, value) annotations put on the Node objects at creation.
    pub annotations: Vec<(usize, String, String)>,
    /// Create the Node objects (default true).
    pub register_nodes: bool,
    /// Nodes as freshly installed: no forwarding, no pod interface (see the module doc).
    pub bare: bool,
    /// Nodes from this index on (and routers, if `routers_in_second_subnet`) are in a
    /// second subnet behind a gateway.
    pub second_subnet_from: Option<usize>,
    pub routers_in_second_subnet: bool,
}

impl LabConfig {
    pub fn new(nodes: usize) -> LabConfig {
        LabConfig {
            nodes,
            dual_stack: false,
            routers: 0,
            annotations: Vec::new(),
            register_nodes: true,
            bare: false,
            second_subnet_from: None,
            routers_in_second_subnet: false,
        }
    }

    /// Two subnets joined by a gateway: nodes `first..` in the second one.
    pub fn two_subnets(mut self, first: usize) -> LabConfig {
        self.second_subnet_from = Some(first);
        self
    }

    /// With `two_subnets`: the router namespaces go into the second subnet.
    pub fn routers_in_second_subnet(mut self) -> LabConfig {
        self.routers_in_second_subnet = true;
        self
    }

    /// Bare nodes: nothing of the pod network exists before kube-bgp starts.
    pub fn bare(mut self) -> LabConfig {
        self.bare = true;
        self
    }

    pub fn dual_stack(mut self) -> LabConfig {
        self.dual_stack = true;
        self
    }

    pub fn routers(mut self, n: usize) -> LabConfig {
        self.routers = n;
        self
    }

    pub fn annotate(mut self, node: usize, key: &str, value: &str) -> LabConfig {
        self.annotations
            .push((node, key.to_string(), value.to_string()));
        self
    }

    /// Build the namespaces only; Node objects are created later with `register_node`
    /// (annotations given here are then not applied).
    pub fn unregistered(mut self) -> LabConfig {
        self.register_nodes = false;
        self
    }
}

/// One node: its namespace, its pod, its addresses and its kube-bgp process.
pub struct LabNode {
    pub index: usize,
    /// 0, or 1 for nodes in the second subnet of a `two_subnets` lab.
    pub subnet: usize,
    /// The interface towards the bridge (the underlay).
    pub uplink: String,
    /// Node object name: `node<n>`.
    pub name: String,
    pub ipv4: String,
    pub ipv6: Option<String>,
    pub pod_cidr4: String,
    pub pod_cidr6: Option<String>,
    pub pod_ip4: String,
    pub pod_ip6: Option<String>,
    /// kubeconfig (token auth, this node's own token), ctl socket, kube-bgp log.
    pub dir: PathBuf,
    /// Bearer token in this node's kubeconfig (user `system:node:<name>` on the server).
    pub token: String,
    daemon: Option<ChildGuard>,
    flags: Vec<String>,
    starts: u32,
    // Namespaces last: the daemon above must die before its namespace goes.
    pub pod: Netns,
    pub ns: Netns,
}

impl LabNode {
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    pub fn ctl_socket(&self) -> PathBuf {
        self.dir.join("ctl.sock")
    }

    /// kube-bgp's stdout and stderr, appended across restarts.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("kube-bgp.log")
    }

    /// The CNI configuration kube-bgp manages on this node (`--cni-conf-path`; the
    /// directory does not exist until kube-bgp writes the file). Never the host's
    /// /etc/cni: every node of every lab has its own.
    pub fn cni_conf(&self) -> PathBuf {
        self.dir.join("net.d").join("10-kuberouter.conflist")
    }
}

/// A namespace on the bridge for an external BGP router, and the router once started.
pub struct LabRouter {
    pub name: String,
    /// 0, or 1 in the second subnet.
    pub subnet: usize,
    pub ipv4: String,
    pub ipv6: Option<String>,
    /// Set by `Lab::start_router`; dropped (daemon killed) before the namespace.
    pub router: Option<Router>,
    pub ns: Netns,
}

/// The whole lab. Field order is teardown order after `Drop::drop` has stopped every
/// kube-bgp: nodes, routers, API server, switch, then the directory.
pub struct Lab {
    nodes: Vec<LabNode>,
    routers: Vec<LabRouter>,
    api: FakeApiServer,
    /// The gateway between the two subnets of a `two_subnets` lab.
    pub gw: Option<Netns>,
    pub switch: Netns,
    dir: PathBuf,
    k: u32,
    dual_stack: bool,
    dumped: std::sync::atomic::AtomicBool,
}

struct DirGuard(Option<PathBuf>);

impl Drop for DirGuard {
    fn drop(&mut self) {
        if let Some(d) = &self.0 {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

fn mkdir(p: &Path) {
    std::fs::create_dir_all(p).unwrap_or_else(|e| panic!("mkdir {}: {e}", p.display()));
}

impl Lab {
    /// Builds the lab. Panics (after cleaning up what was built) if any step fails.
    /// Needs root, python3, openssl (the fake API server) and iproute2.
    pub fn new(tag: &str, cfg: LabConfig) -> Lab {
        assert!(
            (1..=200).contains(&cfg.nodes),
            "lab: 1..=200 nodes, not {}",
            cfg.nodes
        );
        assert!(cfg.routers <= 50, "lab: at most 50 routers");
        let seq = LAB_COUNTER.fetch_add(1, Ordering::SeqCst);
        let k = 10 + seq % 200;
        if let Some((i, key, _)) = cfg.annotations.iter().find(|(i, _, _)| *i >= cfg.nodes) {
            panic!(
                "lab: annotation {key} for node index {i}, but only {} nodes",
                cfg.nodes
            );
        }
        let dir = std::env::temp_dir().join(format!("kblab{}n{seq}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        mkdir(&dir);
        // Removes the directory if building the lab panics; disarmed once `Lab` owns it.
        let mut dir_guard = DirGuard(Some(dir.clone()));

        let switch = Netns::new(&format!("{tag}s"));
        switch.sh(&format!(
            "ip link add br0 type bridge forward_delay 0 && \
             ip addr add 10.{k}.0.254/24 dev br0 && ip link set br0 up"
        ));
        if cfg.dual_stack {
            switch.sh(&format!("ip addr add fd00:{k}::254/64 dev br0 nodad"));
        }
        // Addresses of host `h` in subnet `s` (v4 CIDR, v6 CIDR if dual-stack).
        let addrs = |s: usize, h: usize| -> (String, Option<String>) {
            let v6 = if s == 0 {
                format!("fd00:{k}::{h}")
            } else {
                format!("fd00:{k}:{s}::{h}")
            };
            (format!("10.{k}.{s}.{h}"), cfg.dual_stack.then_some(v6))
        };
        let gw = cfg.second_subnet_from.map(|_| {
            switch.sh("ip link add br1 type bridge forward_delay 0 && ip link set br1 up");
            let gw = Netns::new(&format!("{tag}g"));
            gw.sh("sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1");
            for s in 0..2 {
                let (v4, v6) = addrs(s, 253);
                let mut a = vec![format!("{v4}/24")];
                a.extend(v6.map(|v6| format!("{v6}/64")));
                let refs: Vec<&str> = a.iter().map(String::as_str).collect();
                let (port, _) = veth(&switch, &[], &gw, &refs);
                sh(&format!(
                    "ip -n {} link set {port} master br{s}",
                    switch.name
                ));
            }
            // The API server on subnet 0 answers subnet 1 through the gateway.
            switch.sh(&format!("ip route add default via 10.{k}.0.253"));
            if cfg.dual_stack {
                switch.sh(&format!("ip -6 route add default via fd00:{k}::253"));
            }
            gw
        });
        // Joins `ns` to bridge `s` with the given addresses; the default route goes
        // through the gateway when there is one. Returns the namespace's interface.
        let attach = |ns: &Netns, s: usize, v4: &str, v6: &Option<String>| -> String {
            let mut addrs = vec![format!("{v4}/24")];
            if let Some(v6) = v6 {
                addrs.push(format!("{v6}/64"));
            }
            let refs: Vec<&str> = addrs.iter().map(String::as_str).collect();
            let (port, inner) = veth(&switch, &[], ns, &refs);
            sh(&format!(
                "ip -n {} link set {port} master br{s}",
                switch.name
            ));
            if gw.is_some() {
                ns.sh(&format!("ip route add default via 10.{k}.{s}.253"));
                if v6.is_some() {
                    let via = if s == 0 {
                        format!("fd00:{k}::253")
                    } else {
                        format!("fd00:{k}:{s}::253")
                    };
                    ns.sh(&format!("ip -6 route add default via {via}"));
                }
            }
            inner
        };

        let mut nodes = Vec::with_capacity(cfg.nodes);
        for index in 0..cfg.nodes {
            let n = index + 1;
            let ns = Netns::new(&format!("{tag}n"));
            let pod = Netns::new(&format!("{tag}p"));
            let subnet = usize::from(cfg.second_subnet_from.is_some_and(|m| index >= m));
            let (ipv4, ipv6) = addrs(subnet, n);
            let uplink = attach(&ns, subnet, &ipv4, &ipv6);
            let pod_cidr4 = format!("10.244.{n}.0/24");
            let pod_cidr6 = cfg.dual_stack.then(|| format!("fd00:244:{n}::/64"));
            let node_dir = dir.join(format!("node{n}"));
            mkdir(&node_dir);
            let (pod_ip4, pod_ip6) = if cfg.bare {
                // A fresh node: forwarding off (kube-bgp turns it on), an empty pod
                // namespace, no address for the pod yet (the CNI plugins assign one).
                ns.sh("sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0");
                (String::new(), None)
            } else {
                ns.sh("sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1");
                let mut node_side = vec![format!("10.244.{n}.1/24")];
                let mut pod_side = vec![format!("10.244.{n}.2/24")];
                if cfg.dual_stack {
                    node_side.push(format!("fd00:244:{n}::1/64"));
                    pod_side.push(format!("fd00:244:{n}::2/64"));
                }
                let a: Vec<&str> = node_side.iter().map(String::as_str).collect();
                let b: Vec<&str> = pod_side.iter().map(String::as_str).collect();
                veth(&ns, &a, &pod, &b);
                pod.sh(&format!("ip route add default via 10.244.{n}.1"));
                if cfg.dual_stack {
                    pod.sh(&format!("ip -6 route add default via fd00:244:{n}::1"));
                }
                (
                    format!("10.244.{n}.2"),
                    cfg.dual_stack.then(|| format!("fd00:244:{n}::2")),
                )
            };
            nodes.push(LabNode {
                index,
                subnet,
                uplink,
                name: format!("node{n}"),
                ipv4,
                ipv6,
                pod_cidr4,
                pod_cidr6,
                pod_ip4,
                pod_ip6,
                dir: node_dir,
                token: format!("lab-{seq}-node{n}-token"),
                daemon: None,
                flags: Vec::new(),
                starts: 0,
                pod,
                ns,
            });
        }

        let mut routers = Vec::with_capacity(cfg.routers);
        for j in 0..cfg.routers {
            let ns = Netns::new(&format!("{tag}r"));
            let subnet = usize::from(cfg.routers_in_second_subnet && gw.is_some());
            let (ipv4, ipv6) = addrs(subnet, 201 + j);
            attach(&ns, subnet, &ipv4, &ipv6);
            routers.push(LabRouter {
                name: format!("router{}", j + 1),
                subnet,
                ipv4,
                ipv6,
                router: None,
                ns,
            });
        }

        let api = FakeApiServer::start(&format!("10.{k}.0.254"), Some(&switch));
        // Each node gets its own token so the request log shows who asked what.
        let mut tokens: Vec<(&str, String)> = vec![(api.token(), "kube-bgp".to_string())];
        for node in &nodes {
            tokens.push((&node.token, format!("system:node:{}", node.name)));
        }
        let pairs: Vec<(&str, &str)> = tokens.iter().map(|(t, u)| (*t, u.as_str())).collect();
        api.set_tokens(&pairs);
        let template = std::fs::read_to_string(api.kubeconfig_token())
            .unwrap_or_else(|e| panic!("read the API server's token kubeconfig: {e}"));
        for node in &nodes {
            let text = template.replace(api.token(), &node.token);
            assert!(
                text.contains(&node.token),
                "token kubeconfig has no token line"
            );
            std::fs::write(node.kubeconfig(), text)
                .unwrap_or_else(|e| panic!("write {}: {e}", node.kubeconfig().display()));
        }

        dir_guard.0 = None;
        let lab = Lab {
            nodes,
            routers,
            api,
            gw,
            switch,
            dir,
            k,
            dual_stack: cfg.dual_stack,
            dumped: std::sync::atomic::AtomicBool::new(false),
        };
        if cfg.register_nodes {
            for i in 0..lab.nodes.len() {
                let ann: Vec<(&str, &str)> = cfg
                    .annotations
                    .iter()
                    .filter(|(n, _, _)| *n == i)
                    .map(|(_, key, v)| (key.as_str(), v.as_str()))
                    .collect();
                lab.register_node(i, &ann);
            }
        }
        lab
    }

    // ---- topology ----

    pub fn node(&self, i: usize) -> &LabNode {
        self.nodes
            .get(i)
            .unwrap_or_else(|| panic!("lab has {} nodes, no index {i}", self.nodes.len()))
    }

    fn node_mut(&mut self, i: usize) -> &mut LabNode {
        let len = self.nodes.len();
        self.nodes
            .get_mut(i)
            .unwrap_or_else(|| panic!("lab has {len} nodes, no index {i}"))
    }

    pub fn nodes(&self) -> &[LabNode] {
        &self.nodes
    }

    pub fn router(&self, j: usize) -> &LabRouter {
        self.routers
            .get(j)
            .unwrap_or_else(|| panic!("lab has {} routers, no index {j}", self.routers.len()))
    }

    pub fn routers(&self) -> &[LabRouter] {
        &self.routers
    }

    pub fn dual_stack(&self) -> bool {
        self.dual_stack
    }

    /// The bridge subnet, `10.k.0.0/24`.
    pub fn subnet4(&self) -> String {
        format!("10.{}.0.0/24", self.k)
    }

    /// The gateway namespace of a `two_subnets` lab.
    pub fn gateway(&self) -> &Netns {
        self.gw
            .as_ref()
            .unwrap_or_else(|| panic!("this lab has one subnet and no gateway"))
    }

    /// The API server's address on the bridge (also the switch namespace's address).
    pub fn api_ip(&self) -> String {
        format!("10.{}.0.254", self.k)
    }

    pub fn api(&self) -> &FakeApiServer {
        &self.api
    }

    /// The lab's directory (per-node subdirectories with kubeconfig, socket, log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every namespace the lab created (to check teardown).
    pub fn namespace_names(&self) -> Vec<String> {
        let mut v = vec![self.switch.name.clone()];
        v.extend(self.gw.iter().map(|g| g.name.clone()));
        for n in &self.nodes {
            v.push(n.ns.name.clone());
            v.push(n.pod.name.clone());
        }
        v.extend(self.routers.iter().map(|r| r.ns.name.clone()));
        v
    }

    // ---- Kubernetes ----

    /// Creates node `i`'s Node object: InternalIP(s), Hostname, podCIDR/podCIDRs, the
    /// `kubernetes.io/hostname` label and the given annotations.
    pub fn register_node(&self, i: usize, annotations: &[(&str, &str)]) {
        let node = self.node(i);
        let ann: Vec<String> = annotations
            .iter()
            .map(|(key, v)| format!("{}:{}", json_str(key), json_str(v)))
            .collect();
        let mut addrs = vec![format!(
            "{{\"type\":\"InternalIP\",\"address\":{}}}",
            json_str(&node.ipv4)
        )];
        let mut cidrs = vec![json_str(&node.pod_cidr4)];
        if let (Some(ip6), Some(c6)) = (&node.ipv6, &node.pod_cidr6) {
            addrs.push(format!(
                "{{\"type\":\"InternalIP\",\"address\":{}}}",
                json_str(ip6)
            ));
            cidrs.push(json_str(c6));
        }
        addrs.push(format!(
            "{{\"type\":\"Hostname\",\"address\":{}}}",
            json_str(&node.name)
        ));
        let json = format!(
            "{{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{{\"name\":{n},\
             \"labels\":{{\"kubernetes.io/hostname\":{n}}},\"annotations\":{{{a}}}}},\
             \"spec\":{{\"podCIDR\":{c},\"podCIDRs\":[{cs}]}},\
             \"status\":{{\"addresses\":[{ad}]}}}}",
            n = json_str(&node.name),
            a = ann.join(","),
            c = json_str(&node.pod_cidr4),
            cs = cidrs.join(","),
            ad = addrs.join(","),
        );
        self.api.create("/api/v1/nodes", &json);
    }

    /// Sets one annotation on node `i`'s Node object.
    pub fn annotate(&self, i: usize, key: &str, value: &str) {
        self.api
            .annotate_node(&self.node(i).name, &[(key, Some(value))]);
    }

    /// Removes one annotation from node `i`'s Node object.
    pub fn remove_annotation(&self, i: usize, key: &str) {
        self.api.annotate_node(&self.node(i).name, &[(key, None)]);
    }

    /// Deletes a Node object by name (the namespaces stay).
    pub fn delete_node(&self, name: &str) {
        self.api.delete_node(name);
    }

    /// `kubectl` as admin (client certificate), run in the switch namespace.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.api.kubectl(args)
    }

    /// Same, panicking (with kube-bgp logs) unless it succeeds; returns stdout.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        if !out.status.success() {
            self.fail(&format!(
                "kubectl {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `kubectl` with node `i`'s kubeconfig, run inside node `i`'s namespace: what
    /// kube-bgp on that node sees.
    pub fn kubectl_from(&self, i: usize, args: &[&str]) -> Output {
        let node = self.node(i);
        node.ns
            .command("kubectl")
            .arg("--kubeconfig")
            .arg(node.kubeconfig())
            .arg("--cache-dir")
            .arg(node.dir.join("kubectl-cache"))
            .arg("--request-timeout=20s")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run kubectl: {e}"))
    }

    // ---- routers ----

    /// A config for router `j` that peers with every node (node ASN `node_asn`, both
    /// families over one session when dual-stack, as kube-router's global peers do),
    /// listening on the router's IPv4 address, with an optional TCP-MD5 password.
    pub fn router_config(
        &self,
        j: usize,
        asn: u32,
        node_asn: u32,
        password: Option<&str>,
    ) -> RouterConfig {
        let r = self.router(j);
        let mut cfg = RouterConfig::new(asn, &r.ipv4).listen(&r.ipv4);
        for node in &self.nodes {
            let mut n = Neighbor::new(&node.ipv4, node_asn).families(true, self.dual_stack);
            if let Some(p) = password {
                n = n.password(p);
            }
            cfg = cfg.neighbor(n);
        }
        cfg
    }

    /// Starts `daemon` in router `j`'s namespace (replacing a running one).
    pub fn start_router(
        &mut self,
        j: usize,
        daemon: RouterDaemon,
        cfg: RouterConfig,
    ) -> &mut Router {
        let len = self.routers.len();
        let r = self
            .routers
            .get_mut(j)
            .unwrap_or_else(|| panic!("lab has {len} routers, no index {j}"));
        r.router = None;
        r.router.insert(Router::start(daemon, &r.ns, cfg))
    }

    /// The router started in router namespace `j`, to change it at run time.
    pub fn rtr_mut(&mut self, j: usize) -> &mut Router {
        let len = self.routers.len();
        match self.routers.get_mut(j).and_then(|r| r.router.as_mut()) {
            Some(r) => r,
            None => panic!("lab has {len} routers; router {j} was not started"),
        }
    }

    // ---- data plane ----

    /// Routes kube-bgp installed in node `i` (`proto 17`), IPv4 then IPv6.
    pub fn kernel_routes(&self, i: usize) -> String {
        let ns = &self.node(i).ns.name;
        let mut out = sh(&format!("ip -n {ns} route show proto 17"));
        out.push_str(&sh(&format!("ip -n {ns} -6 route show proto 17")));
        out
    }

    /// Pings `to_ip` from node `i`'s pod: (sent, received). Bounded: about
    /// 0.2 s per packet plus 2 s.
    pub fn ping(&self, from_pod: usize, to_ip: &str, count: u32) -> (u32, u32) {
        let out = self
            .node(from_pod)
            .pod
            .command("ping")
            .args(["-n", "-q", "-i", "0.2", "-W", "2", "-c"])
            .arg(count.to_string())
            .arg(to_ip)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run ping: {e}"));
        parse_ping(&String::from_utf8_lossy(&out.stdout))
    }
}

/// Reads "N packets transmitted, M received" from ping's summary; (0, 0) if absent.
pub fn parse_ping(out: &str) -> (u32, u32) {
    for line in out.lines() {
        let Some((sent, rest)) = line.split_once(" packets transmitted, ") else {
            continue;
        };
        let received = rest.split(' ').next().and_then(|r| r.parse().ok());
        if let (Ok(s), Some(r)) = (sent.trim().parse(), received) {
            return (s, r);
        }
    }
    (0, 0)
}

/// Runs a program (not through a shell), returning its output.
fn exec(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

impl Drop for Lab {
    fn drop(&mut self) {
        let panicking = std::thread::panicking();
        if panicking
            && !self.dumped.load(Ordering::SeqCst)
            && self.nodes.iter().any(|n| n.starts > 0)
        {
            eprintln!("{}", self.logs_tail(50));
        }
        for i in 0..self.nodes.len() {
            self.stop_bounded(i, Duration::from_secs(5));
        }
        if panicking {
            eprintln!("lab: kept {} for inspection", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
        // Fields drop next: nodes' and routers' namespaces (each kills what is still
        // inside it by pid, then is deleted), routers' daemons, the API server, the switch.
    }
}
