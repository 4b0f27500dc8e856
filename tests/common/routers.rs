//! A harness for real BGP daemons — BIRD 2, GoBGP and FRR bgpd — inside test network
//! namespaces: generated configs, start/stop, and queries for received routes and
//! session states, plus announcing and withdrawing prefixes at run time. BIRD's `bfd`
//! protocol and FRR's bfdd run BFD sessions ([`BfdPeer`]) with queries for their view
//! of each session ([`BfdView`]).
//!
//! Owns: the daemons it starts (killed on drop) and one temporary directory per router
//! (configs, control sockets, logs; removed on drop). Must not: touch the host's daemons
//! or config directories, or anything outside its namespace and its directory.
//!
//! Versions checked on Debian 12: BIRD 2.0.12, GoBGP 3.10, FRR 8.4.4. Quirks handled:
//! BIRD needs an explicit channel per family (`ipv4 { import all; export ...; }`) and a
//! `direct` protocol so iBGP next hops resolve; GoBGP has no static routes in its TOML,
//! so prefixes are added through its API after start; FRR needs
//! `no bgp ebgp-requires-policy` (else eBGP exchanges nothing) and
//! `no bgp network import-check` (else `network` needs a matching IGP route), and its
//! run directory must belong to user `frr`.

pub mod bird;
pub mod frr;
pub mod gobgp;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use kube_bgp::prefix::Prefix;

use super::{ChildGuard, Netns};

/// Which daemon a [`Router`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouterDaemon {
    Bird,
    Gobgp,
    Frr,
}

impl RouterDaemon {
    /// The executables the daemon needs (for `require_tool`).
    pub fn tools(self) -> &'static [&'static str] {
        match self {
            RouterDaemon::Bird => &["bird", "birdc"],
            RouterDaemon::Gobgp => &["gobgpd", "gobgp"],
            RouterDaemon::Frr => &["/usr/lib/frr/bgpd", "/usr/lib/frr/zebra", "vtysh"],
        }
    }

    /// True when the daemon is installed; loud skip (or CI panic) otherwise.
    pub fn available(self, test: &str) -> bool {
        self.tools().iter().all(|t| super::require_tool(test, t))
    }

    /// The daemon's version line, e.g. "BIRD version 2.0.12".
    pub fn version(self) -> String {
        let cmd = match self {
            RouterDaemon::Bird => "bird --version",
            RouterDaemon::Gobgp => "gobgpd --version",
            RouterDaemon::Frr => "/usr/lib/frr/bgpd --version",
        };
        let out = super::run(&format!("{cmd} 2>&1"));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_string()
    }
}

impl fmt::Display for RouterDaemon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RouterDaemon::Bird => "bird",
            RouterDaemon::Gobgp => "gobgp",
            RouterDaemon::Frr => "frr",
        })
    }
}

/// One configured BGP neighbour.
#[derive(Clone, Debug)]
pub struct Neighbor {
    pub addr: IpAddr,
    pub asn: u32,
    /// TCP-MD5 password.
    pub password: Option<String>,
    /// Wait for the peer to connect; never connect out.
    pub passive: bool,
    /// eBGP multihop TTL (`None` = directly connected).
    pub multihop: Option<u8>,
    pub rr_client: bool,
    /// Address families carried: IPv4 unicast, IPv6 unicast.
    pub v4: bool,
    pub v6: bool,
    pub graceful_restart: bool,
    /// Advertise the 4-octet AS capability (RFC 6793). Off: BIRD `enable as4 off`
    /// (a 4-octet neighbour ASN is then configured as `neighbor X external`, which
    /// BIRD accepts), FRR `dont-capability-negotiate` (no capabilities at all, but FRR
    /// still reads the peer's AS4 capability and then ignores AS4_PATH); GoBGP
    /// ignores it.
    pub as4: bool,
    /// BGP follows the BFD session with this neighbour (BIRD `bfd on`, FRR `neighbor X
    /// bfd`); needs a matching [`BfdPeer`].
    pub bfd: bool,
    /// BIRD only: `bfd graceful` (a BFD down starts graceful restart instead of
    /// ending the session).
    pub bfd_graceful: bool,
    /// FRR only: `neighbor X bfd check-control-plane-failure` (a BFD down of a peer
    /// in graceful restart whose C bit is 0 is ignored).
    pub bfd_check_control_plane: bool,
}

impl Neighbor {
    /// A neighbour carrying the family of its address.
    pub fn new(addr: &str, asn: u32) -> Neighbor {
        let addr: IpAddr = addr
            .parse()
            .unwrap_or_else(|e| panic!("neighbor address {addr}: {e}"));
        Neighbor {
            addr,
            asn,
            password: None,
            passive: false,
            multihop: None,
            rr_client: false,
            v4: addr.is_ipv4(),
            v6: addr.is_ipv6(),
            graceful_restart: false,
            as4: true,
            bfd: false,
            bfd_graceful: false,
            bfd_check_control_plane: false,
        }
    }

    /// FRR `neighbor X bfd check-control-plane-failure`.
    pub fn bfd_check_control_plane(mut self) -> Neighbor {
        self.bfd = true;
        self.bfd_check_control_plane = true;
        self
    }

    /// BGP follows BFD (`bfd on` / `neighbor X bfd`).
    pub fn bfd(mut self) -> Neighbor {
        self.bfd = true;
        self
    }

    /// BIRD `bfd graceful`.
    pub fn bfd_graceful(mut self) -> Neighbor {
        self.bfd = true;
        self.bfd_graceful = true;
        self
    }

    pub fn password(mut self, p: &str) -> Neighbor {
        self.password = Some(p.to_string());
        self
    }

    pub fn passive(mut self) -> Neighbor {
        self.passive = true;
        self
    }

    pub fn multihop(mut self, ttl: u8) -> Neighbor {
        self.multihop = Some(ttl);
        self
    }

    pub fn rr_client(mut self) -> Neighbor {
        self.rr_client = true;
        self
    }

    pub fn families(mut self, v4: bool, v6: bool) -> Neighbor {
        self.v4 = v4;
        self.v6 = v6;
        self
    }

    pub fn graceful_restart(mut self) -> Neighbor {
        self.graceful_restart = true;
        self
    }

    /// A 2-octet-only speaker towards this neighbour (BIRD, FRR).
    pub fn no_as4(mut self) -> Neighbor {
        self.as4 = false;
        self
    }
}

/// One BFD session a router runs (BIRD `protocol bfd` neighbor, FRR bfdd `peer`).
///
/// BIRD 2.0 takes timers per interface pattern, not per neighbour: it is given the
/// timers of its first single-hop peer for every interface, and of its first multihop
/// peer for multihop sessions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BfdPeer {
    pub addr: IpAddr,
    pub local: IpAddr,
    pub multihop: bool,
    pub min_rx_ms: u32,
    pub min_tx_ms: u32,
    pub multiplier: u8,
}

impl BfdPeer {
    /// A single-hop session with 100 ms timers and multiplier 3.
    pub fn new(addr: &str, local: &str) -> BfdPeer {
        let ip =
            |s: &str| -> IpAddr { s.parse().unwrap_or_else(|e| panic!("BFD address {s}: {e}")) };
        BfdPeer {
            addr: ip(addr),
            local: ip(local),
            multihop: false,
            min_rx_ms: 100,
            min_tx_ms: 100,
            multiplier: 3,
        }
    }

    pub fn multihop(mut self) -> BfdPeer {
        self.multihop = true;
        self
    }

    pub fn timers(mut self, min_tx_ms: u32, min_rx_ms: u32, multiplier: u8) -> BfdPeer {
        self.min_tx_ms = min_tx_ms;
        self.min_rx_ms = min_rx_ms;
        self.multiplier = multiplier;
        self
    }
}

/// A router's view of one BFD session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BfdView {
    pub peer: IpAddr,
    /// Lower case: "up", "down", "init", "admindown".
    pub state: String,
    /// The negotiated transmit interval (BIRD), or the router's own configured one (FRR).
    pub tx_interval_ms: u64,
    /// BIRD: the detection time. FRR: `None` (it does not print one).
    pub detect_ms: Option<u64>,
    /// FRR only: what the router received from us.
    pub remote_tx_ms: Option<u64>,
    pub remote_rx_ms: Option<u64>,
    pub remote_mult: Option<u64>,
    /// FRR only: its own diagnostic and the one it received from us.
    pub diag: Option<String>,
    pub remote_diag: Option<String>,
}

/// What a router is configured with.
#[derive(Clone, Debug)]
pub struct RouterConfig {
    pub asn: u32,
    pub router_id: Ipv4Addr,
    /// Address to listen on and source sessions from; `None` = all addresses.
    pub listen: Option<IpAddr>,
    pub neighbors: Vec<Neighbor>,
    /// Prefixes originated from the start.
    pub prefixes: Vec<Prefix>,
    /// Hold time in seconds (keepalive = hold / 3). Short by default so tests are quick.
    pub hold_time: u16,
    /// Seconds between connection attempts.
    pub connect_retry: u16,
    /// TCP port the router listens on (GoBGP and BIRD; FRR always uses 179).
    pub port: u16,
    /// BFD sessions (BIRD and FRR only).
    pub bfd: Vec<BfdPeer>,
    /// BIRD only: install the best BGP routes into the namespace's kernel table, so the
    /// router forwards traffic along them.
    pub kernel_export: bool,
    /// BIRD only: RFC 8326 §4 on import, LOCAL_PREF 0 for routes carrying the
    /// GRACEFUL_SHUTDOWN community 65535:0.
    pub graceful_shutdown_import: bool,
    /// BIRD only: communities (`(asn, value)`) added to every route sent to neighbours.
    pub export_communities: Vec<(u16, u16)>,
}

impl RouterConfig {
    pub fn new(asn: u32, router_id: &str) -> RouterConfig {
        RouterConfig {
            asn,
            router_id: router_id
                .parse()
                .unwrap_or_else(|e| panic!("router id {router_id}: {e}")),
            listen: None,
            neighbors: Vec::new(),
            prefixes: Vec::new(),
            hold_time: 9,
            connect_retry: 2,
            port: 179,
            bfd: Vec::new(),
            kernel_export: false,
            graceful_shutdown_import: false,
            export_communities: Vec::new(),
        }
    }

    /// BIRD only: best BGP routes go into the kernel (the router forwards along them).
    pub fn kernel_export(mut self) -> RouterConfig {
        self.kernel_export = true;
        self
    }

    /// BIRD only: routes carrying 65535:0 get LOCAL_PREF 0 (RFC 8326 §4).
    pub fn graceful_shutdown_import(mut self) -> RouterConfig {
        self.graceful_shutdown_import = true;
        self
    }

    pub fn listen(mut self, addr: &str) -> RouterConfig {
        self.listen = Some(
            addr.parse()
                .unwrap_or_else(|e| panic!("listen address {addr}: {e}")),
        );
        self
    }

    pub fn neighbor(mut self, n: Neighbor) -> RouterConfig {
        self.neighbors.push(n);
        self
    }

    pub fn prefix(mut self, p: &str) -> RouterConfig {
        self.prefixes.push(prefix(p));
        self
    }

    /// Listen on `port` instead of 179 (GoBGP and BIRD only).
    pub fn port(mut self, port: u16) -> RouterConfig {
        self.port = port;
        self
    }

    /// Adds a BFD session (BIRD and FRR only).
    pub fn bfd(mut self, peer: BfdPeer) -> RouterConfig {
        self.bfd.push(peer);
        self
    }

    pub fn hold_time(mut self, secs: u16) -> RouterConfig {
        self.hold_time = secs;
        self
    }

    /// The keepalive interval used for `hold_time` (at least 1 s).
    pub fn keepalive(&self) -> u16 {
        (self.hold_time / 3).max(1)
    }
}

/// Parses a prefix written by a test or printed by a daemon; panics on nonsense.
pub fn prefix(p: &str) -> Prefix {
    p.parse().unwrap_or_else(|e| panic!("prefix {p}: {e}"))
}

/// A path the router received from a neighbour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub prefix: Prefix,
    pub next_hop: Option<IpAddr>,
    pub as_path: Vec<u32>,
    /// Selected as best path.
    pub best: bool,
    /// The neighbour it came from, when the daemon says.
    pub from: Option<IpAddr>,
}

/// BGP FSM state of one session as the daemon reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionState {
    Idle,
    Connect,
    Active,
    OpenSent,
    OpenConfirm,
    Established,
    /// Not configured, not reported, or a word the harness does not know.
    Unknown,
}

impl SessionState {
    /// Parses the state names the daemons print (case-insensitive; "Establ" too).
    pub fn parse(s: &str) -> SessionState {
        match s.trim().to_ascii_lowercase().as_str() {
            "idle" => SessionState::Idle,
            "connect" => SessionState::Connect,
            "active" => SessionState::Active,
            "opensent" => SessionState::OpenSent,
            "openconfirm" => SessionState::OpenConfirm,
            "established" | "establ" => SessionState::Established,
            _ => SessionState::Unknown,
        }
    }
}

/// Waits (up to 5 s) until no IPv6 address in `ns` is tentative, so link-local
/// addresses exist before a daemon starts (FRR resets IPv6 sessions that come up on an
/// interface without one, and BIRD then backs off).
pub fn wait_ipv6_ready(ns: &Netns) {
    let _ = super::wait_for(Duration::from_secs(5), || {
        let out = ns.run("ip -6 addr show tentative");
        (out.status.success() && out.stdout.is_empty()).then_some(())
    });
}

static ROUTER_COUNTER: AtomicU32 = AtomicU32::new(0);

/// A running daemon in a namespace. Killed, and its directory removed, on drop.
pub struct Router {
    pub daemon: RouterDaemon,
    ns: String,
    dir: PathBuf,
    config: RouterConfig,
    /// GoBGP's gRPC port on the namespace's loopback.
    api_port: u16,
    /// Started processes, in start order (stopped in reverse).
    children: Vec<ChildGuard>,
}

impl Router {
    /// Starts `daemon` in `ns` with `config` and waits until its control interface
    /// answers (panics with its logs if it does not within 15 s). The namespace must
    /// outlive the router.
    pub fn start(daemon: RouterDaemon, ns: &Netns, config: RouterConfig) -> Router {
        wait_ipv6_ready(ns);
        let k = ROUTER_COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("kbrtr{}n{k}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        let mut r = Router {
            daemon,
            ns: ns.name.clone(),
            dir,
            config,
            api_port: 50051 + (k % 1000) as u16,
            children: Vec::new(),
        };
        match daemon {
            RouterDaemon::Bird => bird::start(&mut r),
            RouterDaemon::Gobgp => gobgp::start(&mut r),
            RouterDaemon::Frr => frr::start(&mut r),
        }
        r
    }

    pub fn bird(ns: &Netns, config: RouterConfig) -> Router {
        Router::start(RouterDaemon::Bird, ns, config)
    }

    pub fn gobgp(ns: &Netns, config: RouterConfig) -> Router {
        Router::start(RouterDaemon::Gobgp, ns, config)
    }

    pub fn frr(ns: &Netns, config: RouterConfig) -> Router {
        Router::start(RouterDaemon::Frr, ns, config)
    }

    /// The router's working directory (configs, sockets, logs).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn config(&self) -> &RouterConfig {
        &self.config
    }

    /// All paths received from neighbours, both families (locally originated ones are
    /// not included).
    pub fn routes(&self) -> Vec<Route> {
        match self.daemon {
            RouterDaemon::Bird => bird::routes(self),
            RouterDaemon::Gobgp => gobgp::routes(self),
            RouterDaemon::Frr => frr::routes(self),
        }
    }

    /// Communities (`a:b`, decimal halves) on the path for `prefix` received from
    /// `from`, or None when there is no such path. GoBGP only (panics for the others).
    pub fn communities(&self, prefix_str: &str, from: &str) -> Option<Vec<String>> {
        assert_eq!(self.daemon, RouterDaemon::Gobgp, "communities: GoBGP only");
        let from: IpAddr = from.parse().unwrap_or_else(|e| panic!("from {from}: {e}"));
        gobgp::communities(self, prefix(prefix_str), from)
    }

    /// Runs the `gobgp` CLI against this GoBGP router (e.g. `["neighbor", "-j"]`).
    pub fn gobgp_cli(&self, args: &[&str]) -> Result<String, String> {
        assert_eq!(self.daemon, RouterDaemon::Gobgp, "gobgp_cli: GoBGP only");
        gobgp::cli(self, args)
    }

    /// The best received path for `prefix` (or the first one if none is marked best).
    pub fn route(&self, prefix_str: &str) -> Option<Route> {
        let p = prefix(prefix_str);
        let mut paths: Vec<Route> = self
            .routes()
            .into_iter()
            .filter(|r| r.prefix == p)
            .collect();
        paths.sort_by_key(|r| !r.best);
        paths.into_iter().next()
    }

    /// Waits up to `timeout` for a received path for `prefix`.
    pub fn wait_route(&self, prefix_str: &str, timeout: Duration) -> Option<Route> {
        super::wait_for(timeout, || self.route(prefix_str))
    }

    /// Waits up to `timeout` for `prefix` to be gone; true if it went.
    pub fn wait_no_route(&self, prefix_str: &str, timeout: Duration) -> bool {
        super::wait_for(timeout, || self.route(prefix_str).is_none().then_some(())).is_some()
    }

    /// The session state with the neighbour at `peer`.
    pub fn session(&self, peer: &str) -> SessionState {
        let peer: IpAddr = peer.parse().unwrap_or_else(|e| panic!("peer {peer}: {e}"));
        match self.daemon {
            RouterDaemon::Bird => bird::session(self, peer),
            RouterDaemon::Gobgp => gobgp::session(self, peer),
            RouterDaemon::Frr => frr::session(self, peer),
        }
    }

    /// Runs one `vtysh` command against this FRR router's `daemon` (`bgpd`, `bfdd`).
    /// FRR only (panics for the others).
    pub fn vtysh(&self, daemon: &str, cmd: &str) -> Result<String, String> {
        assert_eq!(self.daemon, RouterDaemon::Frr, "vtysh: FRR only");
        frr::vtysh_daemon(self, daemon, &[cmd])
    }

    /// BIRD's `show protocols all` text for the session with `peer` (its "Last error"
    /// line names the last NOTIFICATION). BIRD only (panics for the others).
    pub fn bird_protocol(&self, peer: &str) -> String {
        assert_eq!(self.daemon, RouterDaemon::Bird, "bird_protocol: BIRD only");
        let peer: IpAddr = peer.parse().unwrap_or_else(|e| panic!("peer {peer}: {e}"));
        bird::protocol_text(self, peer)
    }

    /// FRR's `show bgp neighbors PEER` text (its "Last reset" line names the last
    /// NOTIFICATION and a shutdown message). FRR only (panics for the others).
    pub fn frr_neighbor(&self, peer: &str) -> String {
        assert_eq!(self.daemon, RouterDaemon::Frr, "frr_neighbor: FRR only");
        let peer: IpAddr = peer.parse().unwrap_or_else(|e| panic!("peer {peer}: {e}"));
        frr::neighbor_text(self, peer)
    }

    /// Waits up to `timeout` for the session with `peer` to be Established.
    pub fn wait_established(&self, peer: &str, timeout: Duration) -> bool {
        super::wait_for(timeout, || {
            (self.session(peer) == SessionState::Established).then_some(())
        })
        .is_some()
    }

    /// The router's BFD sessions as it reports them (BIRD and FRR only).
    pub fn bfd_sessions(&self) -> Vec<BfdView> {
        match self.daemon {
            RouterDaemon::Bird => bird::bfd_sessions(self),
            RouterDaemon::Frr => frr::bfd_sessions(self),
            RouterDaemon::Gobgp => panic!("bfd_sessions: BIRD and FRR only"),
        }
    }

    /// The router's view of the BFD session with `peer`.
    pub fn bfd_session(&self, peer: IpAddr) -> Option<BfdView> {
        self.bfd_sessions().into_iter().find(|v| v.peer == peer)
    }

    /// Waits up to `timeout` for the BFD session with `peer` to satisfy `f`.
    pub fn wait_bfd(
        &self,
        peer: IpAddr,
        timeout: Duration,
        f: impl Fn(&BfdView) -> bool,
    ) -> Option<BfdView> {
        super::wait_for(timeout, || self.bfd_session(peer).filter(|v| f(v)))
    }

    /// Administratively disables (`true`) or enables a BFD session. FRR: `shutdown` on
    /// the peer, which sends AdminDown. BIRD 2.0 has no per-session shutdown and never
    /// sends AdminDown: this disables or enables its whole `bfd` protocol, which stops
    /// its packets silently.
    pub fn bfd_shutdown(&mut self, peer: &BfdPeer, down: bool) {
        match self.daemon {
            RouterDaemon::Bird => bird::bfd_shutdown(self, down),
            RouterDaemon::Frr => frr::bfd_shutdown(self, peer, down),
            RouterDaemon::Gobgp => panic!("bfd_shutdown: BIRD and FRR only"),
        }
    }

    /// Sets the communities added to every route sent to neighbours and applies the
    /// change at once (BIRD only: `birdc configure`, which re-sends the routes).
    pub fn set_export_communities(&mut self, communities: &[(u16, u16)]) {
        assert_eq!(
            self.daemon,
            RouterDaemon::Bird,
            "set_export_communities: BIRD only"
        );
        self.config.export_communities = communities.to_vec();
        bird::reconfigure(self);
    }

    /// Starts originating `prefix` (no-op if already originated).
    pub fn announce(&mut self, prefix_str: &str) {
        let p = prefix(prefix_str);
        if self.config.prefixes.contains(&p) {
            return;
        }
        self.config.prefixes.push(p);
        match self.daemon {
            RouterDaemon::Bird => bird::reconfigure(self),
            RouterDaemon::Gobgp => gobgp::announce(self, p, true),
            RouterDaemon::Frr => frr::announce(self, p, true),
        }
    }

    /// Stops originating `prefix`.
    pub fn withdraw(&mut self, prefix_str: &str) {
        let p = prefix(prefix_str);
        self.config.prefixes.retain(|q| *q != p);
        match self.daemon {
            RouterDaemon::Bird => bird::reconfigure(self),
            RouterDaemon::Gobgp => gobgp::announce(self, p, false),
            RouterDaemon::Frr => frr::announce(self, p, false),
        }
    }

    /// The daemon's logs and output, for failure messages (at most the last 8 KB).
    pub fn logs(&self) -> String {
        let mut out = String::new();
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return out;
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "log" || x == "out"))
            .collect();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            let tail = text.len().saturating_sub(8192);
            let start = (tail..text.len())
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(text.len());
            out.push_str(&format!("==> {} <==\n{}\n", f.display(), &text[start..]));
        }
        out
    }

    // ---- helpers for the per-daemon modules ----

    /// Writes a file in the router's directory and returns its path.
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// Spawns `program args` inside the namespace, output to `DIR/<name>.out`.
    fn spawn(&mut self, name: &str, program: &str, args: &[&str]) {
        let out = std::fs::File::create(self.dir.join(format!("{name}.out")))
            .unwrap_or_else(|e| panic!("create {name}.out: {e}"));
        let err = out
            .try_clone()
            .unwrap_or_else(|e| panic!("dup {name}.out: {e}"));
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns, program])
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {program}: {e}"));
        self.children.push(ChildGuard::new(child, name));
    }

    /// Runs a command (in the namespace when `in_ns`), returning stdout on success and
    /// a description with stderr on failure.
    fn query(&self, in_ns: bool, program: &str, args: &[&str]) -> Result<String, String> {
        let mut cmd = if in_ns {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", &self.ns, program]);
            c
        } else {
            Command::new(program)
        };
        let out = cmd
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{program}: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(stdout)
        } else {
            Err(format!(
                "{program} {args:?} failed ({}): {stdout}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// Waits until `ready` holds, panicking with the logs if a child exits or 15 s pass.
    fn wait_ready(&mut self, what: &str, mut ready: impl FnMut(&Router) -> bool) {
        let ok = super::wait_for(Duration::from_secs(15), || {
            for c in &mut self.children {
                if let Ok(Some(status)) = c.child.try_wait() {
                    return Some(Err(format!("{} exited: {status}", c.what)));
                }
            }
            ready(self).then_some(Ok(()))
        });
        match ok {
            Some(Ok(())) => {}
            Some(Err(e)) => panic!("{} {what}: {e}\n{}", self.daemon, self.logs()),
            None => panic!(
                "{} {what}: not ready after 15 s\n{}",
                self.daemon,
                self.logs()
            ),
        }
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        while let Some(child) = self.children.pop() {
            drop(child);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
