//! The faults of a run, chosen by the seed, and the minimisation of a failing list.
//!
//! Owns the cluster a run starts from ([`Scenario`]) and the fault list: node
//! add/delete/annotate/readdress (one family of a dual-stack node), a dual-stack node's
//! second pod CIDR removed, agent crash or stop and restart (with one flag
//! changed, `Reconfigure`), link cut/heal and reset, API outage and 410. Faults come in
//! episodes: the faults of one episode overlap in time, and the run checks its
//! invariants at the quiescent point after each episode.
//! A fault names nodes; one whose node is gone when it comes due is skipped, so any
//! sublist of a fault list is a valid run (what `ddmin` needs). Must not run anything.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::prefix::Prefix;

use super::api::{OutageEnd, SimNode};
use super::oracle::{
    ANN_ASN, ANN_RR_CLIENT, ANN_RR_SERVER, AgentFlags, CLUSTER_ASN, SimEncap, SimOverlay, Topology,
};
use super::rng::SimRng;

/// How a stopped agent goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StopKind {
    /// Killed: nothing sent, connections closed as the kernel closes a dead process's.
    Crash,
    /// SIGTERM: the agent's own stop (graceful restart, or drain and Cease).
    Term,
}

/// One flag an operator changes when restarting an agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FlagChange {
    /// `--nodes-full-mesh`.
    FullMesh(bool),
    /// `--cluster-asn`.
    ClusterAsn(u32),
    /// `--enable-overlay` / `--overlay-type` (off, subnet, full).
    Overlay(SimOverlay),
    /// `--bgp-graceful-restart`.
    GracefulRestart(bool),
    /// `--enable-ibgp`.
    Ibgp(bool),
    /// `--advertise-pod-cidr`.
    AdvertisePodCidr(bool),
}

impl FlagChange {
    /// `flags` with this change.
    pub(crate) fn apply(self, flags: AgentFlags) -> AgentFlags {
        match self {
            FlagChange::FullMesh(full_mesh) => AgentFlags { full_mesh, ..flags },
            FlagChange::ClusterAsn(cluster_asn) => AgentFlags {
                cluster_asn,
                ..flags
            },
            FlagChange::Overlay(overlay) => AgentFlags { overlay, ..flags },
            FlagChange::GracefulRestart(graceful_restart) => AgentFlags {
                graceful_restart,
                ..flags
            },
            FlagChange::Ibgp(ibgp) => AgentFlags { ibgp, ..flags },
            FlagChange::AdvertisePodCidr(advertise_pod_cidr) => AgentFlags {
                advertise_pod_cidr,
                ..flags
            },
        }
    }
}

impl fmt::Display for FlagChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlagChange::FullMesh(v) => write!(f, "--nodes-full-mesh={v}"),
            FlagChange::ClusterAsn(a) => write!(f, "--cluster-asn={a}"),
            FlagChange::Overlay(o) => f.write_str(&o.flags().join(" ")),
            FlagChange::GracefulRestart(v) => write!(f, "--bgp-graceful-restart={v}"),
            FlagChange::Ibgp(v) => write!(f, "--enable-ibgp={v}"),
            FlagChange::AdvertisePodCidr(v) => write!(f, "--advertise-pod-cidr={v}"),
        }
    }
}

/// One fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FaultKind {
    /// A node joins: its Node object, then its agent.
    AddNode(SimNode),
    /// A node leaves: its agent stops (SIGTERM) and its Node object is deleted.
    DeleteNode { name: String },
    /// An annotation set (`Some`) or removed (`None`).
    Annotate {
        name: String,
        key: String,
        value: Option<String>,
    },
    /// The node reboots with a new InternalIP: agent killed, kernel routes lost, Node
    /// updated, agent started again.
    /// On a dual-stack node, the address of `ip`'s family changes; the other stays.
    Readdress { name: String, ip: IpAddr },
    /// A dual-stack node loses its second pod CIDR (`spec.podCIDRs` keeps the first):
    /// the node is re-provisioned, its agent crashes and starts again 3 s later over the
    /// same kernel (a node with one pod CIDR: skipped).
    DropPodCidr { name: String },
    /// The agent goes and comes back after `down`.
    Restart {
        name: String,
        how: StopKind,
        down: Duration,
    },
    /// The agent goes and comes back after `down` with one flag changed, as an
    /// operator rolls out a new configuration: its kernel keeps what the old flags
    /// made, which the new agent must clean up or adopt.
    Reconfigure {
        name: String,
        how: StopKind,
        down: Duration,
        change: FlagChange,
    },
    /// The link between two nodes drops everything (no FIN) for `dur`.
    Cut { a: String, b: String, dur: Duration },
    /// The connections between two nodes are reset (both ends see a close).
    Reset { a: String, b: String },
    /// The agent's API watches break for `dur`.
    Outage {
        name: String,
        dur: Duration,
        end: OutageEnd,
    },
    /// A 410 Gone on the agent's Node watch.
    Gone { name: String },
    /// The node's kernel refuses its next `n` route requests.
    KernelFail { name: String, n: usize },
    /// Another program adds a route (to an unrelated prefix or to a node's pod CIDR);
    /// it must stay, and kube-bgp leaves that prefix alone.
    ForeignRoute {
        name: String,
        prefix: Prefix,
        gateway: IpAddr,
    },
    /// The node's route change notifications are lost for `dur`.
    LoseNotifications { name: String, dur: Duration },
    /// Another program deletes one of the node's overlay tunnels (the first by name;
    /// skipped if it has none): the routes through it go with it.
    DeleteTunnel { name: String },
    /// The external router goes down (its process killed) for `down`.
    RouterRestart { down: Duration },
    /// The Node object is deleted and created again `gap` later (a kubelet
    /// re-registering) while its agent keeps running.
    Reregister { name: String, gap: Duration },
}

/// A fault at `offset` into episode `episode`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Fault {
    pub(crate) episode: u32,
    pub(crate) offset: Duration,
    pub(crate) kind: FaultKind,
}

fn secs(d: Duration) -> String {
    format!("{}.{:03}s", d.as_secs(), d.subsec_millis())
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultKind::AddNode(n) => write!(
                f,
                "add-node {} ip {} pod-cidr {}{}{}",
                n.name,
                n.ips().map(|a| a.to_string()).collect::<Vec<_>>().join(","),
                n.pod_cidr,
                n.other_pod_cidr
                    .map(|c| format!(",{c}"))
                    .unwrap_or_default(),
                n.annotations
                    .iter()
                    .map(|(k, v)| format!(" {k}={v}"))
                    .collect::<String>()
            ),
            FaultKind::DeleteNode { name } => write!(f, "delete-node {name}"),
            FaultKind::Annotate { name, key, value } => match value {
                Some(v) => write!(f, "annotate {name} {key}={v}"),
                None => write!(f, "annotate {name} {key}-"),
            },
            FaultKind::Readdress { name, ip } => write!(f, "readdress {name} {ip}"),
            FaultKind::DropPodCidr { name } => write!(f, "drop-pod-cidr {name}"),
            FaultKind::Restart { name, how, down } => write!(
                f,
                "{} {name} down {}",
                match how {
                    StopKind::Crash => "crash",
                    StopKind::Term => "stop",
                },
                secs(*down)
            ),
            FaultKind::Reconfigure {
                name,
                how,
                down,
                change,
            } => write!(
                f,
                "reconfigure {name} {change} ({}, down {})",
                match how {
                    StopKind::Crash => "crash",
                    StopKind::Term => "stop",
                },
                secs(*down)
            ),
            FaultKind::Cut { a, b, dur } => write!(f, "cut {a}-{b} for {}", secs(*dur)),
            FaultKind::Reset { a, b } => write!(f, "reset {a}-{b}"),
            FaultKind::Outage { name, dur, end } => write!(
                f,
                "api-outage {name} for {} then {}",
                secs(*dur),
                match end {
                    OutageEnd::Resume => "resume",
                    OutageEnd::Relist => "relist",
                }
            ),
            FaultKind::Gone { name } => write!(f, "api-410 {name}"),
            FaultKind::KernelFail { name, n } => write!(f, "kernel-fail {name} next {n}"),
            FaultKind::ForeignRoute {
                name,
                prefix,
                gateway,
            } => write!(f, "foreign-route {name} {prefix} via {gateway}"),
            FaultKind::LoseNotifications { name, dur } => {
                write!(f, "lose-notifications {name} for {}", secs(*dur))
            }
            FaultKind::DeleteTunnel { name } => write!(f, "delete-tunnel {name}"),
            FaultKind::RouterRestart { down } => {
                write!(f, "router-restart down {}", secs(*down))
            }
            FaultKind::Reregister { name, gap } => {
                write!(f, "reregister {name} after {}", secs(*gap))
            }
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ep{} +{} {}", self.episode, secs(self.offset), self.kind)
    }
}

/// The cluster a run starts from and its faults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Scenario {
    pub(crate) topology: Topology,
    /// `--bgp-graceful-restart` on every agent.
    pub(crate) graceful_restart: bool,
    /// `--bgp-graceful-restart-time` when on.
    pub(crate) restart_time: Duration,
    pub(crate) nodes: Vec<SimNode>,
    pub(crate) faults: Vec<Fault>,
    /// An external router every node peers with (`--peer-router-ips`).
    pub(crate) router: bool,
}

impl Scenario {
    /// The flags every agent starts with (a `Reconfigure` changes one node's).
    pub(crate) fn flags(&self) -> AgentFlags {
        AgentFlags::defaults(self.topology, self.graceful_restart)
    }
}

/// The external router's name in link faults (`cut n1-router`).
pub(crate) const ROUTER_NAME: &str = "router";

/// The subnets the simulated nodes are on: the external router's, and in half the
/// scenarios a second one (its nodes reach the others through the overlay).
pub(crate) const SUBNETS: [&str; 2] = ["10.0.0.0/24", "10.0.1.0/24"];
/// The same two subnets for IPv6 nodes.
pub(crate) const SUBNETS6: [&str; 2] = ["fd00::/64", "fd00:0:0:1::/64"];
/// Graceful restart time of the runs with graceful restart.
pub(crate) const RESTART_TIME: Duration = Duration::from_secs(60);

/// The `i`th address handed out, on the first subnet or the second (the last octet is
/// unique either way), IPv4 or IPv6.
fn node_ip(i: u32, second: bool, v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::new(
            0xfd00,
            0,
            0,
            u16::from(second),
            0,
            0,
            0,
            10 + i as u16,
        ))
    } else {
        IpAddr::V4(Ipv4Addr::new(10, 0, u8::from(second), (10 + i) as u8))
    }
}

/// The address families of a scenario's nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Families {
    /// Every node IPv4-only (addresses and pod CIDRs).
    V4,
    /// Every node IPv6-only.
    V6,
    /// Each node IPv4-only or IPv6-only: nodes of the other family must be left alone.
    Mixed,
    /// Dual-stack nodes (an InternalIP and a pod CIDR of each family, either family's
    /// address first) among single-stack ones of either family.
    Dual,
}

/// What the generator knows of the cluster while it picks faults.
struct GenState {
    /// Node name -> current primary address.
    nodes: BTreeMap<String, IpAddr>,
    /// The dual-stack nodes, and whether each still has its second pod CIDR.
    dual: BTreeMap<String, bool>,
    next_node: u32,
    next_ip: u32,
    /// Nodes may be on the second subnet.
    two_subnets: bool,
    /// Draws for the addresses' subnets (a stream of its own, so that the rest of a
    /// seed's scenario does not depend on them).
    subnet_rng: SimRng,
    /// Draws for flag changes at restarts (a stream of its own, likewise).
    flags_rng: SimRng,
    families: Families,
    /// Draws for the nodes' families (a stream of its own, likewise).
    family_rng: SimRng,
}

impl GenState {
    fn pick(&self, rng: &mut SimRng) -> Option<String> {
        let names: Vec<&String> = self.nodes.keys().collect();
        rng.choose(&names).map(|s| s.to_string())
    }

    fn pick_two(&self, rng: &mut SimRng) -> Option<(String, String)> {
        let mut names: Vec<&String> = self.nodes.keys().collect();
        if names.len() < 2 {
            return None;
        }
        rng.shuffle(&mut names);
        Some((names[0].to_string(), names[1].to_string()))
    }

    /// A new address of family `v6`.
    fn fresh_ip(&mut self, v6: bool) -> IpAddr {
        let second = self.two_subnets && self.subnet_rng.chance(0.4);
        let ip = node_ip(self.next_ip, second, v6);
        self.next_ip += 1;
        ip
    }
}

fn rr_annotations(rng: &mut SimRng, full_mesh: bool) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    if !full_mesh {
        let asn = if rng.chance(0.8) { "64512" } else { "64513" };
        a.insert(ANN_ASN.to_string(), asn.to_string());
    }
    if rng.chance(0.25) {
        let id = *rng.choose(&["1", "0.0.0.1", "2"]).unwrap_or(&"1");
        let key = if rng.chance(0.4) {
            ANN_RR_SERVER
        } else {
            ANN_RR_CLIENT
        };
        a.insert(key.to_string(), id.to_string());
    }
    a
}

/// A scenario from `seed`: 2 to 7 nodes (at most 8 with additions) on one subnet or
/// two, IPv4, IPv6, some of each, or dual-stack nodes among single-stack ones; full
/// mesh or per-node ASN, graceful restart or not, the overlay off, on for other subnets
/// (mostly) or on for all, and 2 to 6 episodes of 1 to 3 faults each.
pub(crate) fn generate(seed: u64) -> Scenario {
    let mut rng = SimRng::new(seed);
    let full_mesh = rng.chance(0.75);
    let graceful_restart = rng.chance(0.5);
    let router = rng.chance(0.5);
    let count = rng.range(2, 8) as u32;
    // The overlay's choices from a stream of their own: the rest of the scenario is
    // what the seed gave before they existed.
    let mut subnet_rng = SimRng::new(seed ^ 0x0FE7_1A75_0B9E_7A11);
    let two_subnets = subnet_rng.chance(0.5);
    let overlay = match subnet_rng.range(0, 100) {
        0..=69 => SimOverlay::Subnet,
        70..=84 => SimOverlay::Full,
        _ => SimOverlay::Off,
    };
    // The encapsulation from a stream of its own too.
    let mut encap_rng = SimRng::new(seed ^ 0x0E1C_A9F0_0D15_EA5E);
    let encap = if encap_rng.chance(0.35) {
        SimEncap::Fou {
            port: *encap_rng.choose(&[5555, 6081, 40000]).unwrap_or(&5555),
        }
    } else {
        SimEncap::Ipip
    };
    let mut family_rng = SimRng::new(seed ^ 0x0FA3_1E55_1BF6_0D06);
    let families = match family_rng.range(0, 100) {
        0..=49 => Families::V4,
        50..=64 => Families::V6,
        65..=79 => Families::Mixed,
        _ => Families::Dual,
    };
    let mut st = GenState {
        nodes: BTreeMap::new(),
        dual: BTreeMap::new(),
        next_node: 1,
        next_ip: 0,
        two_subnets,
        subnet_rng,
        flags_rng: SimRng::new(seed ^ 0x0F1A_6C4A_9E5D_0001),
        families,
        family_rng,
    };
    let mut nodes = Vec::new();
    for _ in 0..count {
        nodes.push(new_node(&mut rng, &mut st, full_mesh));
    }
    let mut faults = Vec::new();
    let episodes = rng.range(2, 7) as u32;
    for episode in 0..episodes {
        for _ in 0..rng.range(1, 4) {
            let offset = Duration::from_millis(rng.range(0, 5_000));
            let kind = if router && rng.chance(0.1) {
                router_fault(&mut rng, &st)
            } else {
                fault_kind(&mut rng, &mut st, full_mesh, graceful_restart)
            };
            if let Some(kind) = kind {
                faults.push(Fault {
                    episode,
                    offset,
                    kind,
                });
            }
        }
    }
    faults.sort_by_key(|f| (f.episode, f.offset));
    Scenario {
        topology: Topology {
            full_mesh,
            overlay,
            encap,
        },
        graceful_restart,
        restart_time: RESTART_TIME,
        nodes,
        faults,
        router,
    }
}

fn new_node(rng: &mut SimRng, st: &mut GenState, full_mesh: bool) -> SimNode {
    let i = st.next_node;
    st.next_node += 1;
    // (primary family IPv6, dual-stack)
    let (v6, dual) = match st.families {
        Families::V4 => (false, false),
        Families::V6 => (true, false),
        Families::Mixed => (st.family_rng.chance(0.5), false),
        Families::Dual => match st.family_rng.range(0, 100) {
            0..=44 => (false, true),
            45..=64 => (true, true),
            65..=84 => (false, false),
            _ => (true, false),
        },
    };
    let ip = st.fresh_ip(v6);
    let other_ip = dual.then(|| st.fresh_ip(!v6));
    let name = format!("n{i}");
    st.nodes.insert(name.clone(), ip);
    if dual {
        st.dual.insert(name.clone(), true);
    }
    let cidr = |v6: bool| {
        let p = if v6 {
            Prefix::new(
                IpAddr::V6(Ipv6Addr::new(0xfd00, 0x244, i as u16, 0, 0, 0, 0, 0)),
                64,
            )
        } else {
            Prefix::new(IpAddr::V4(Ipv4Addr::new(10, 244, i as u8, 0)), 24)
        };
        p.unwrap_or_else(|_| Prefix::host(ip))
    };
    SimNode {
        name,
        internal_ip: ip,
        pod_cidr: cidr(v6),
        other_ip,
        other_pod_cidr: dual.then(|| cidr(!v6)),
        annotations: rr_annotations(rng, full_mesh),
    }
}

/// A fault of the external router: restarted, or its link to a node cut.
fn router_fault(rng: &mut SimRng, st: &GenState) -> Option<FaultKind> {
    let ms = |rng: &mut SimRng, lo: u64, hi: u64| Duration::from_millis(rng.range(lo, hi));
    Some(if rng.chance(0.5) {
        FaultKind::RouterRestart {
            down: ms(rng, 200, 60_000),
        }
    } else {
        FaultKind::Cut {
            a: st.pick(rng)?,
            b: ROUTER_NAME.to_string(),
            dur: ms(rng, 100, 150_000),
        }
    })
}

fn fault_kind(rng: &mut SimRng, st: &mut GenState, full_mesh: bool, gr: bool) -> Option<FaultKind> {
    let ms = |rng: &mut SimRng, lo: u64, hi: u64| Duration::from_millis(rng.range(lo, hi));
    Some(match rng.range(0, 100) {
        0..=7 if st.nodes.len() < 8 => FaultKind::AddNode(new_node(rng, st, full_mesh)),
        8..=13 if st.nodes.len() > 2 => {
            let name = st.pick(rng)?;
            st.nodes.remove(&name);
            st.dual.remove(&name);
            FaultKind::DeleteNode { name }
        }
        14..=23 => {
            let name = st.pick(rng)?;
            let (key, value) = match rng.range(0, 4) {
                0 if !full_mesh => (ANN_ASN, Some(rng.choose(&["64512", "64513"])?.to_string())),
                0 | 1 => (
                    ANN_RR_CLIENT,
                    rng.choose(&[Some("1"), Some("2"), None, Some("bad id")])?
                        .map(str::to_string),
                ),
                2 => (
                    ANN_RR_SERVER,
                    rng.choose(&[Some("1"), Some("0.0.0.2"), None])?
                        .map(str::to_string),
                ),
                _ => (
                    "kube-router.io/unrelated",
                    Some(rng.range(0, 1000).to_string()),
                ),
            };
            FaultKind::Annotate {
                name,
                key: key.to_string(),
                value,
            }
        }
        24..=29 => {
            let mut name = st.pick(rng)?;
            // Among dual-stack nodes, mostly one of them.
            let duals: Vec<&String> = st.dual.keys().collect();
            if !duals.is_empty() && st.family_rng.chance(0.7) {
                name = st.family_rng.choose(&duals)?.to_string();
            }
            let primary_v6 = st.nodes.get(&name).is_some_and(IpAddr::is_ipv6);
            // A dual-stack node: its second pod CIDR removed, or one family readdressed
            // (draws of the family stream, so single-stack scenarios stay as they were).
            let second = st.dual.get(&name).copied();
            if second == Some(true) && st.family_rng.chance(0.4) {
                st.dual.insert(name.clone(), false);
                return Some(FaultKind::DropPodCidr { name });
            }
            let v6 = if second.is_some() && st.family_rng.chance(0.5) {
                !primary_v6
            } else {
                primary_v6
            };
            let ip = st.fresh_ip(v6);
            if v6 == primary_v6 {
                st.nodes.insert(name.clone(), ip);
            }
            FaultKind::Readdress { name, ip }
        }
        30..=54 => {
            let name = st.pick(rng)?;
            let how = if rng.chance(0.6) {
                StopKind::Crash
            } else {
                StopKind::Term
            };
            // Mostly within the graceful restart time; sometimes well past it.
            let down = if gr && rng.chance(0.8) {
                ms(rng, 200, 40_000)
            } else {
                ms(rng, 200, 120_000)
            };
            // A third of the restarts roll out a changed flag.
            match flag_change(&mut st.flags_rng) {
                Some(change) => FaultKind::Reconfigure {
                    name,
                    how,
                    down,
                    change,
                },
                None => FaultKind::Restart { name, how, down },
            }
        }
        55..=69 => {
            let (a, b) = st.pick_two(rng)?;
            FaultKind::Cut {
                a,
                b,
                dur: ms(rng, 100, 150_000),
            }
        }
        70..=77 => {
            let (a, b) = st.pick_two(rng)?;
            FaultKind::Reset { a, b }
        }
        78..=91 => FaultKind::Outage {
            name: st.pick(rng)?,
            dur: ms(rng, 100, 60_000),
            end: if rng.chance(0.5) {
                OutageEnd::Resume
            } else {
                OutageEnd::Relist
            },
        },
        92 | 93 => FaultKind::Reregister {
            name: st.pick(rng)?,
            gap: ms(rng, 100, 30_000),
        },
        94 | 95 => FaultKind::Gone {
            name: st.pick(rng)?,
        },
        96 | 97 => FaultKind::KernelFail {
            name: st.pick(rng)?,
            n: rng.range(1, 6) as usize,
        },
        98 if rng.chance(0.5) => FaultKind::DeleteTunnel {
            name: st.pick(rng)?,
        },
        98 => {
            // An unrelated prefix, or another node's pod CIDR (then it is theirs).
            let third = if rng.chance(0.5) {
                rng.range(1, u64::from(st.next_node)) as u8
            } else {
                rng.range(0, 250) as u8
            };
            let second = if rng.chance(0.5) { 244 } else { 168 };
            FaultKind::ForeignRoute {
                name: st.pick(rng)?,
                prefix: Prefix::new(IpAddr::V4(Ipv4Addr::new(10, second, third, 0)), 24).ok()?,
                gateway: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 254)),
            }
        }
        _ => FaultKind::LoseNotifications {
            name: st.pick(rng)?,
            dur: ms(rng, 1_000, 120_000),
        },
    })
}

/// The flag a restart changes, if it changes one (a third of the time).
fn flag_change(rng: &mut SimRng) -> Option<FlagChange> {
    if !rng.chance(0.35) {
        return None;
    }
    Some(match rng.range(0, 100) {
        0..=39 => FlagChange::Overlay(*rng.choose(&[
            SimOverlay::Off,
            SimOverlay::Subnet,
            SimOverlay::Full,
        ])?),
        40..=54 => FlagChange::GracefulRestart(rng.chance(0.5)),
        55..=66 => FlagChange::Ibgp(rng.chance(0.5)),
        67..=76 => FlagChange::AdvertisePodCidr(rng.chance(0.5)),
        77..=88 => FlagChange::FullMesh(rng.chance(0.5)),
        _ => FlagChange::ClusterAsn(*rng.choose(&[CLUSTER_ASN, CLUSTER_ASN + 1])?),
    })
}

/// Delta debugging (Zeller's ddmin): a 1-minimal sublist of `items` for which `fails`
/// still holds (`items` itself must fail), trying at most `budget` sublists.
pub(crate) fn ddmin<T: Clone>(
    items: Vec<T>,
    mut fails: impl FnMut(&[T]) -> bool,
    budget: usize,
) -> Vec<T> {
    let mut cur = items;
    let mut n = 2usize;
    let mut tries = 0usize;
    while cur.len() >= 2 && tries < budget {
        let chunk = cur.len().div_ceil(n);
        let chunks: Vec<Vec<T>> = cur.chunks(chunk).map(|c| c.to_vec()).collect();
        let mut reduced = false;
        // A chunk alone, then the complement of a chunk.
        for c in &chunks {
            tries += 1;
            if fails(c) {
                cur = c.clone();
                n = 2;
                reduced = true;
                break;
            }
        }
        if !reduced && chunks.len() > 2 {
            for i in 0..chunks.len() {
                let rest: Vec<T> = chunks
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .flat_map(|(_, c)| c.iter().cloned())
                    .collect();
                tries += 1;
                if fails(&rest) {
                    cur = rest;
                    n = (n - 1).max(2);
                    reduced = true;
                    break;
                }
                if tries >= budget {
                    break;
                }
            }
        }
        if !reduced {
            if n >= cur.len() {
                break;
            }
            n = (n * 2).min(cur.len());
        }
    }
    if cur.len() == 1 && tries < budget && fails(&[]) {
        return Vec::new();
    }
    cur
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_one_scenario() {
        assert_eq!(generate(11), generate(11));
        let differ = (0..20)
            .filter(|s| generate(*s) != generate(s + 100))
            .count();
        assert!(differ >= 18);
    }

    #[test]
    fn scenarios_cover_every_fault_kind() {
        let mut seen = BTreeMap::new();
        let (mut two, mut overlays, mut encaps) = (0, BTreeMap::new(), BTreeMap::new());
        let (mut families, mut mixed) = (BTreeMap::new(), 0);
        let (mut duals, mut dual_and_single) = (BTreeMap::new(), 0);
        for seed in 0..400 {
            let s = generate(seed);
            assert!((2..=7).contains(&s.nodes.len()));
            let mut last = (0, Duration::ZERO);
            for f in &s.faults {
                assert!((f.episode, f.offset) >= last, "sorted");
                last = (f.episode, f.offset);
                let k = f.kind.to_string();
                let word = k.split(' ').next().unwrap_or("").to_string();
                *seen.entry(word).or_insert(0) += 1;
            }
            // Addresses are on the subnets.
            let subnets: Vec<Prefix> = SUBNETS
                .iter()
                .chain(SUBNETS6.iter())
                .map(|s| s.parse().unwrap())
                .collect();
            for n in &s.nodes {
                assert!(subnets.iter().any(|p| p.contains_addr(&n.internal_ip)));
                assert_eq!(n.internal_ip.is_ipv6(), n.pod_cidr.addr().is_ipv6());
                *families.entry(n.internal_ip.is_ipv6()).or_insert(0) += 1;
                if let Some(o) = n.other_ip {
                    assert!(subnets.iter().any(|p| p.contains_addr(&o)));
                    assert_ne!(o.is_ipv6(), n.internal_ip.is_ipv6());
                    assert_eq!(
                        n.other_pod_cidr.map(|c| c.addr().is_ipv6()),
                        Some(o.is_ipv6())
                    );
                    *duals.entry(n.internal_ip.is_ipv6()).or_insert(0) += 1;
                }
            }
            if s.nodes.iter().any(|n| n.other_ip.is_some())
                && s.nodes.iter().any(|n| n.other_ip.is_none())
            {
                dual_and_single += 1;
            }
            let second = s.nodes.iter().filter(|n| {
                [1, 3]
                    .iter()
                    .any(|&i| subnets[i].contains_addr(&n.internal_ip))
            });
            if second.count() > 0 {
                two += 1;
            }
            if s.nodes.iter().any(|n| n.internal_ip.is_ipv4())
                && s.nodes.iter().any(|n| n.internal_ip.is_ipv6())
            {
                mixed += 1;
            }
            *overlays
                .entry(format!("{:?}", s.topology.overlay))
                .or_insert(0) += 1;
            *encaps.entry(format!("{:?}", s.topology.encap)).or_insert(0) += 1;
        }
        for w in [
            "add-node",
            "delete-node",
            "annotate",
            "readdress",
            "crash",
            "stop",
            "cut",
            "reset",
            "api-outage",
            "api-410",
            "kernel-fail",
            "foreign-route",
            "lose-notifications",
            "router-restart",
            "reregister",
            "delete-tunnel",
            "reconfigure",
            "drop-pod-cidr",
        ] {
            assert!(seen.get(w).copied().unwrap_or(0) > 5, "{w}: {seen:?}");
        }
        assert!(
            two > 100,
            "{two} of 400 scenarios have nodes on the second subnet"
        );
        assert_eq!(overlays.len(), 3, "{overlays:?}");
        assert_eq!(encaps.len(), 4, "ipip and fou on three ports: {encaps:?}");
        assert!(
            families.values().all(|c| *c > 200) && mixed > 40,
            "IPv4 and IPv6 nodes {families:?}, {mixed} clusters of both"
        );
        assert!(
            duals.len() == 2 && duals.values().all(|c| *c > 30) && dual_and_single > 30,
            "dual-stack nodes by primary family {duals:?}, {dual_and_single} clusters \
             with dual-stack and single-stack nodes"
        );
    }

    #[test]
    fn lines_are_readable() {
        let f = Fault {
            episode: 2,
            offset: Duration::from_millis(3250),
            kind: FaultKind::Restart {
                name: "n3".into(),
                how: StopKind::Crash,
                down: Duration::from_secs(12),
            },
        };
        assert_eq!(f.to_string(), "ep2 +3.250s crash n3 down 12.000s");
    }

    #[test]
    fn ddmin_finds_the_two_culprits() {
        let items: Vec<u32> = (0..40).collect();
        let mut calls = 0;
        let min = ddmin(
            items,
            |s| {
                calls += 1;
                s.contains(&7) && s.contains(&31)
            },
            1000,
        );
        assert_eq!(min, vec![7, 31]);
        assert!(calls < 200, "{calls}");
        // One culprit; and a budget that stops early still returns a failing list.
        assert_eq!(ddmin((0..10).collect(), |s| s.contains(&3), 100), vec![3]);
        let partial = ddmin((0..64).collect::<Vec<u32>>(), |s| s.contains(&5), 2);
        assert!(partial.contains(&5) && partial.len() < 64);
        // A failure that needs no item at all.
        assert_eq!(ddmin(vec![1, 2, 3], |_| true, 100), Vec::<i32>::new());
    }
}
