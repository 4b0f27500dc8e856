//! The real node agents in the simulation: kube-bgp's `Daemon` per node, over a
//! simulated kernel (`kernel::sim::SimKernel`) and the simulated network
//! (`daemon::speaker::sim_net::SimNet`).
//!
//! Owns each node's kernel (which outlives its agents: a new agent adopts its routes),
//! the running `Daemon`s and the shared network. The agents are built by
//! `Daemon::start_with` from a `Config` parsed from flags, as the binary's are, with
//! `AgentParts { host: false, .. }`, so nothing reaches the host. Must not copy any of
//! the daemon's glue: everything an agent does goes through its own handlers.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::config::{Config, DaemonAction, parse_daemon_args};
use crate::daemon::speaker::sim_net::SimNet;
use crate::daemon::{AgentParts, Daemon, routes::KernelRoutes};
use crate::kernel::sim::{OverlayView, RouteHop, SimKernel};
use crate::kube::snapshot::KubeEvent;
use crate::prefix::Prefix;

use super::api::SimNode;
use super::driver::World;
use super::faults::{Scenario, StopKind};
use super::oracle::{AgentFlags, SIM_DEFERRAL, SimEncap, subnet_of};
use super::rng::SimRng;
use super::router::{ROUTER_ASN, ROUTER_IP, SimRouter};

/// `ip route ... proto static`: what an administrator's route carries.
const RTPROT_STATIC: u8 = 4;

/// One node: its kernel and, while it runs, its agent.
struct RealHost {
    /// Its primary address (where its sessions are).
    ip: IpAddr,
    /// Its addresses, primary first, each with its connected subnet.
    addrs: Vec<(IpAddr, Prefix)>,
    kernel: SimKernel,
    daemon: Option<Daemon>,
}

pub(crate) struct RealWorld {
    net: SimNet,
    hosts: BTreeMap<String, RealHost>,
    /// `--bgp-graceful-restart-time` of the agents with graceful restart.
    restart_time: Duration,
    /// `--overlay-encap` (and its port): the same for every agent of a scenario.
    encap: SimEncap,
    /// Whether the nodes peer with an external router (made at its first peer list).
    with_router: bool,
    router: Option<SimRouter>,
    rng: SimRng,
}

/// The flags a simulated agent runs with: a short graceful-restart deferral, the
/// mesh, cluster ASN, graceful restart (for `restart_time`), overlay, iBGP and pod
/// CIDR advertisement as the node's `flags` say; the scenario's encapsulation
/// `encap`; `--enable-ipv4`/`--enable-ipv6` for the families the node has an address
/// of (`v4`, `v6`: an enabled family must have one), and on a node whose primary
/// address is IPv6 (`primary_v6`) `--router-id=generate` (kube-router cannot take an
/// IPv6 address as its router ID);
/// the rest as the binary's defaults (a SIGTERM without graceful restart drains for
/// 5 s).
pub(crate) fn sim_config(
    node: &str,
    flags: AgentFlags,
    encap: SimEncap,
    restart_time: Duration,
    router: bool,
    (primary_v6, v4, v6): (bool, bool, bool),
) -> Result<Config, String> {
    let mut args = vec![
        format!("--hostname-override={node}"),
        format!("--nodes-full-mesh={}", flags.full_mesh),
        format!("--cluster-asn={}", flags.cluster_asn),
        "--health-port=0".to_string(),
        "--metrics-port=0".to_string(),
        format!(
            "--bgp-graceful-restart-deferral-time={}s",
            SIM_DEFERRAL.as_secs()
        ),
    ];
    args.extend(flags.overlay.flags().map(str::to_string));
    args.extend(encap.flags());
    args.push(format!("--enable-ibgp={}", flags.ibgp));
    args.push(format!("--advertise-pod-cidr={}", flags.advertise_pod_cidr));
    args.push(format!("--enable-ipv4={v4}"));
    args.push(format!("--enable-ipv6={v6}"));
    if primary_v6 {
        args.push("--router-id=generate".to_string());
    }
    if router {
        args.push(format!("--peer-router-ips={ROUTER_IP}"));
        args.push(format!("--peer-router-asns={ROUTER_ASN}"));
    }
    if flags.graceful_restart {
        args.push("--bgp-graceful-restart=true".to_string());
        args.push(format!(
            "--bgp-graceful-restart-time={}s",
            restart_time.as_secs()
        ));
    }
    let args = args.into_iter().map(std::ffi::OsString::from).collect();
    match parse_daemon_args(args) {
        Ok(DaemonAction::Run { config, .. }) => Ok(*config),
        Ok(_) => Err("the simulator's flags do not make a run".into()),
        Err(e) => Err(format!("the simulator's flags: {e}")),
    }
}

impl RealWorld {
    pub(crate) fn new(sc: &Scenario, seed: u64) -> RealWorld {
        let mut rng = SimRng::new(seed ^ 0x5EED_0FA6_E7D1);
        RealWorld {
            net: SimNet::new(rng.next_u64()),
            hosts: BTreeMap::new(),
            restart_time: sc.restart_time,
            encap: sc.topology.encap,
            with_router: sc.router,
            router: None,
            rng,
        }
    }

    /// See `SimNet::set_refusal_lag`.
    pub(crate) fn set_refusal_lag(&self, lag: Duration) {
        self.net.set_refusal_lag(lag);
    }

    fn daemon(&mut self, name: &str) -> Option<&mut Daemon> {
        self.hosts.get_mut(name)?.daemon.as_mut()
    }
}

impl World for RealWorld {
    fn start(&mut self, node: &SimNode, flags: AgentFlags, fresh_kernel: bool, now: Instant) {
        let ip = node.internal_ip;
        let addrs: Vec<(IpAddr, Prefix)> = node.ips().map(|a| (a, subnet_of(a))).collect();
        let host = self
            .hosts
            .entry(node.name.clone())
            .or_insert_with(|| RealHost {
                ip,
                addrs: addrs.clone(),
                kernel: SimKernel::with_addresses(&addrs),
                daemon: None,
            });
        if fresh_kernel || host.addrs != addrs {
            host.ip = ip;
            host.kernel = SimKernel::with_addresses(&addrs);
            host.addrs = addrs;
        }
        let families = (
            ip.is_ipv6(),
            node.ip_of_family(false).is_some(),
            node.ip_of_family(true).is_some(),
        );
        let cfg = match sim_config(
            &node.name,
            flags,
            self.encap,
            self.restart_time,
            self.with_router,
            families,
        ) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        let net = self.net.clone();
        let parts = AgentParts {
            routes: KernelRoutes::with_port(&cfg, host.kernel.port()),
            session_io: Box::new(move || net.session_io(ip)),
            seed: self.rng.next_u64(),
            host: false,
        };
        host.daemon = Some(Daemon::start_with(cfg, node.name.clone(), parts, now));
    }

    fn stop(&mut self, name: &str, how: StopKind, now: Instant) {
        let Some(host) = self.hosts.get_mut(name) else {
            return;
        };
        let Some(d) = host.daemon.as_mut() else {
            return;
        };
        if how == StopKind::Term {
            d.on_signal(libc::SIGTERM, now);
            if !d.stop_due(now) {
                // The RFC 8326 drain: the loop runs on; `turn` ends it.
                return;
            }
            d.stop(now);
        }
        host.daemon = None;
        // The process is gone: whatever it had open closes as the kernel closes a dead
        // process's sockets.
        self.net.crash(host.ip);
    }

    fn running(&self, name: &str) -> bool {
        self.hosts.get(name).is_some_and(|h| h.daemon.is_some())
    }

    fn deliver(&mut self, name: &str, events: Vec<KubeEvent>, _now: Instant) {
        if let Some(d) = self.daemon(name) {
            d.on_kube_events(events.into_iter());
        }
    }

    fn turn(&mut self, name: &str, now: Instant) {
        let Some(host) = self.hosts.get_mut(name) else {
            return;
        };
        let Some(d) = host.daemon.as_mut() else {
            return;
        };
        // As the real loop: a stop that is due ends it before the turn.
        if d.stop_due(now) {
            d.stop(now);
            host.daemon = None;
            self.net.crash(host.ip);
            return;
        }
        d.turn(now);
    }

    fn poll_at(&mut self, name: &str, now: Instant) -> Option<Instant> {
        self.daemon(name).map(|d| d.poll_at(now))
    }

    fn busy(&self, name: &str) -> bool {
        self.hosts
            .get(name)
            .and_then(|h| h.daemon.as_ref())
            .is_some_and(|d| d.busy())
    }

    fn kernel_routes(&self, name: &str) -> BTreeMap<Prefix, RouteHop> {
        self.hosts
            .get(name)
            .map(|h| h.kernel.hops())
            .unwrap_or_default()
    }

    fn overlay(&self, name: &str) -> OverlayView {
        self.hosts
            .get(name)
            .map(|h| h.kernel.overlay())
            .unwrap_or_default()
    }

    fn sessions(&self) -> Vec<(IpAddr, IpAddr)> {
        self.net.sessions()
    }

    fn cut(&mut self, a: IpAddr, b: IpAddr) {
        self.net.cut(a, b);
    }

    fn heal(&mut self, a: IpAddr, b: IpAddr) {
        self.net.heal(a, b);
    }

    fn reset(&mut self, a: IpAddr, b: IpAddr) {
        self.net.reset(a, b);
    }

    fn kernel_fail(&mut self, name: &str, n: usize) {
        if let Some(h) = self.hosts.get(name) {
            h.kernel.fail_next(n);
        }
    }

    fn add_foreign(&mut self, name: &str, prefix: Prefix, gateway: IpAddr) {
        if let Some(h) = self.hosts.get(name) {
            h.kernel.add_foreign(prefix, gateway, RTPROT_STATIC);
        }
    }

    fn foreign_routes(&self, name: &str) -> BTreeMap<Prefix, IpAddr> {
        self.hosts
            .get(name)
            .map(|h| {
                h.kernel
                    .foreign()
                    .into_iter()
                    .map(|(p, (gw, _))| (p, gw))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn lose_notifications(&mut self, name: &str, lose: bool) {
        if let Some(h) = self.hosts.get(name) {
            h.kernel.lose_notifications(lose);
        }
    }

    fn delete_tunnel(&mut self, name: &str) -> Option<String> {
        let h = self.hosts.get(name)?;
        let tun = h.kernel.overlay().tunnels.into_keys().next()?;
        h.kernel.delete_link(&tun).then_some(tun)
    }

    fn set_router_peers(&mut self, nodes: &BTreeMap<IpAddr, u32>, now: Instant) {
        if !self.with_router {
            return;
        }
        if self.router.is_none() {
            let seed = self.rng.next_u64();
            self.router = Some(SimRouter::new(&self.net, seed, now));
        }
        if let Some(r) = self.router.as_mut() {
            r.set_peers(nodes, now);
        }
    }

    fn router_poll_at(&mut self) -> Option<Instant> {
        self.router.as_mut()?.poll_at()
    }

    fn router_turn(&mut self, now: Instant) {
        if let Some(r) = self.router.as_mut() {
            r.turn(now);
        }
    }

    fn router_stop(&mut self) {
        if self.router.take().is_some() {
            self.net.crash(IpAddr::V4(ROUTER_IP));
        }
    }

    fn router_routes(&self) -> Option<BTreeMap<Prefix, IpAddr>> {
        self.router.as_ref().map(|r| r.routes())
    }

    fn established(&self, name: &str) -> BTreeSet<IpAddr> {
        self.hosts
            .get(name)
            .and_then(|h| h.daemon.as_ref())
            .map(|d| d.established_peers().collect())
            .unwrap_or_default()
    }

    fn explain(&self, name: &str, prefix: &Prefix) -> String {
        let Some(h) = self.hosts.get(name) else {
            return "no such host".into();
        };
        let Some(reader) = h.daemon.as_ref().and_then(|d| d.loc_rib_reader()) else {
            return "agent without BGP".into();
        };
        let paths: Vec<String> = reader
            .rib
            .paths(prefix)
            .iter()
            .map(|p| {
                let from = p
                    .peer()
                    .and_then(|id| reader.rib.peer(id))
                    .map_or("local".to_string(), |i| i.addr.to_string());
                format!(
                    "from {from} nh {:?} cluster-list {:?}{}{}",
                    p.attrs.next_hop,
                    p.attrs.cluster_list,
                    if p.stale { " stale" } else { "" },
                    if p.rejected { " rejected" } else { "" }
                )
            })
            .collect();
        format!("rib paths [{}]", paths.join(", "))
    }
}
