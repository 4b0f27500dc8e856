//! The simulation loop: virtual time, faults, agents' turns and invariant checks.
//!
//! Owns one run: the clock, the API server, the queue of pending fault actions (by
//! virtual time, then sequence number), each agent's next turn, the graceful-restart
//! guards and the trace. Time jumps to the earliest of every agent's `poll_at`, the
//! API's next delivery and the next fault action. After each episode's faults are over
//! and the settle time has passed, the cluster must equal the oracle's expectation;
//! while a node restarts under graceful restart, no route may leave any kernel. Drives
//! the agents only through [`World`]; must not look inside them.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::kernel::fou::af_of;
use crate::kernel::sim::{OverlayView, RouteHop};
use crate::kernel::tunnel::{TunnelEncap, tunnel_name};
use crate::kube::snapshot::KubeEvent;
use crate::prefix::Prefix;

use super::api::{SimApi, SimNode};
use super::clock::SimClock;
use super::faults::{Fault, FaultKind, FlagChange, ROUTER_NAME, Scenario, StopKind};
use super::oracle::{self, AgentFlags, pair};
use super::rng::SimRng;

/// Where the scenario's external router is (the same address the real one uses).
pub(crate) const ROUTER_ADDR: IpAddr = IpAddr::V4(super::router::ROUTER_IP);

/// The cluster under test as the driver sees it: one agent per node (real or toy),
/// the nodes' kernels (which outlive the agents) and the network between them.
pub(crate) trait World {
    /// Starts `node`'s agent with `flags` over its kernel (a new, empty one when
    /// `fresh_kernel`; else whatever earlier agents, perhaps with other flags, left).
    fn start(&mut self, node: &SimNode, flags: AgentFlags, fresh_kernel: bool, now: Instant);
    /// Ends the agent: killed, or through its own stop (SIGTERM).
    fn stop(&mut self, name: &str, how: StopKind, now: Instant);
    fn running(&self, name: &str) -> bool;
    /// API events from the agent's reader threads.
    fn deliver(&mut self, name: &str, events: Vec<KubeEvent>, now: Instant);
    fn turn(&mut self, name: &str, now: Instant);
    /// When the agent needs its next turn (`None` when it is not running).
    fn poll_at(&mut self, name: &str, now: Instant) -> Option<Instant>;
    /// Whether input waits unread: turn again before time moves.
    fn busy(&self, name: &str) -> bool;
    /// kube-bgp's routes in the node's kernel: prefix -> where it leads.
    fn kernel_routes(&self, name: &str) -> BTreeMap<Prefix, RouteHop>;
    /// The overlay's objects in the node's kernel (none in a world without them).
    fn overlay(&self, _name: &str) -> OverlayView {
        OverlayView::default()
    }
    /// Open BGP connections between node addresses.
    fn sessions(&self) -> Vec<(IpAddr, IpAddr)>;
    fn cut(&mut self, a: IpAddr, b: IpAddr);
    fn heal(&mut self, a: IpAddr, b: IpAddr);
    fn reset(&mut self, a: IpAddr, b: IpAddr);
    /// The node's kernel refuses its next `n` route requests.
    fn kernel_fail(&mut self, name: &str, n: usize);
    /// Another program adds a route to the node's kernel.
    fn add_foreign(&mut self, name: &str, prefix: Prefix, gateway: IpAddr);
    /// The routes of other programs in the node's kernel: prefix -> gateway.
    fn foreign_routes(&self, name: &str) -> BTreeMap<Prefix, IpAddr>;
    /// Route change notifications of the node's kernel are lost (or no longer).
    fn lose_notifications(&mut self, name: &str, lose: bool);
    /// Another program deletes one of the node's tunnels: its name, `None` if the node
    /// has none.
    fn delete_tunnel(&mut self, _name: &str) -> Option<String> {
        None
    }
    /// The peers `name`'s agent has an Established BGP session with.
    fn established(&self, name: &str) -> BTreeSet<IpAddr>;
    /// Sets the external router's peers (node address -> ASN); no-op without one.
    fn set_router_peers(&mut self, _nodes: &BTreeMap<IpAddr, u32>, _now: Instant) {}
    /// When the external router needs its next turn (`None`: none, or nothing due).
    fn router_poll_at(&mut self) -> Option<Instant> {
        None
    }
    fn router_turn(&mut self, _now: Instant) {}
    /// The external router's process is killed (`set_router_peers` starts a new one).
    fn router_stop(&mut self) {}
    /// The external router's best routes: prefix -> next hop (`None`: no router).
    fn router_routes(&self) -> Option<BTreeMap<Prefix, IpAddr>> {
        None
    }
    /// What the agent knows of `prefix` (for failure messages).
    fn explain(&self, _name: &str, _prefix: &Prefix) -> String {
        String::new()
    }
}

/// How long the cluster gets to converge at the start.
pub(crate) const START_SETTLE: Duration = Duration::from_secs(60);
/// How long after an episode's last fault action the cluster must have converged:
/// the node hold time (90 s) plus the longest connect retry (30 s) and margin.
pub(crate) const SETTLE: Duration = Duration::from_secs(150);
/// A graceful restart is checked when the agent is back this long before its restart
/// time runs out (time to reconnect and send End-of-RIB).
pub(crate) const GR_MARGIN: Duration = Duration::from_secs(15);
/// Shortest gap between two turns of an agent that is not busy (the real loop's 1 ms
/// poll floor).
const TURN_FLOOR: Duration = Duration::from_millis(1);
/// Turns in a row an agent may stay busy at one instant.
const BUSY_TURNS: usize = 256;
/// After a restart hold's bound, time for the agent to remove what it held (its first
/// list comes at most 50 ms after its start, then one pass and the tunnels' pruning).
const HOLD_MARGIN: Duration = Duration::from_secs(5);
/// Virtual time an episode's fault actions may span.
const EPISODE_LIMIT: Duration = Duration::from_secs(3600);
/// Steps (instants at which something ran) a run may take.
const STEP_BUDGET: u64 = 2_000_000;

/// What a run did.
#[derive(Clone, Debug, Default)]
pub(crate) struct Outcome {
    /// One line per fault action and per invariant check.
    pub(crate) trace: Vec<String>,
    /// The first broken invariant.
    pub(crate) failure: Option<String>,
    pub(crate) checks: u32,
    pub(crate) faults: u32,
    pub(crate) steps: u64,
    /// Steps at which graceful-restart or drain guards were checked.
    pub(crate) guarded_steps: u64,
    /// Virtual time the run covered.
    pub(crate) virtual_time: Duration,
    /// In a timed run ([`run_timed`]), per node added: its name and the virtual time
    /// from its Node's write until the cluster equalled the oracle's expectation
    /// (`None`: not within the limit).
    pub(crate) latencies: Vec<(String, Option<Duration>)>,
}

/// A fault's later part.
#[derive(Clone, Debug)]
enum Action {
    Fault(Fault),
    /// The agent of `name` starts again (its kernel fresh after a reboot), with
    /// `change` made to its flags.
    Start {
        name: String,
        fresh: bool,
        change: Option<FlagChange>,
    },
    Heal {
        a: (String, IpAddr),
        b: (String, IpAddr),
    },
    OutageEnd {
        name: String,
    },
    NotificationsBack {
        name: String,
    },
    RouterBack,
    /// A Node object comes back.
    PutNode(SimNode),
}

/// A route that must stay in `holder`'s kernel while `restarting` is away.
#[derive(Clone, Debug)]
struct Guard {
    /// The node whose stop is guarded.
    restarting: String,
    /// Guarded for the stop's drain only (without graceful restart), not the restart.
    drain: bool,
    holder: String,
    prefix: Prefix,
    hop: RouteHop,
}

struct Run<'w, W: World> {
    sc: &'w Scenario,
    world: &'w mut W,
    seed: u64,
    clock: SimClock,
    api: SimApi,
    actions: BTreeMap<(Instant, u64), Action>,
    seq: u64,
    /// Running agents: when each last turned.
    last_turn: BTreeMap<String, Instant>,
    /// Agents told to stop that drain first (they still turn).
    draining: BTreeSet<String>,
    /// How many times each agent connected to the API (for its latency draw).
    connects: BTreeMap<String, u64>,
    guards: Vec<Guard>,
    /// Nodes touched by a fault of the current episode (their guards end).
    touched: BTreeSet<String>,
    /// The current episode changed the topology (guards end).
    topology_changed: bool,
    /// The external router is down (restarting).
    router_down: bool,
    /// Routes other programs added, per node: they must stay (until a reboot).
    foreign: BTreeMap<String, BTreeMap<Prefix, IpAddr>>,
    /// Each node's agent flags: the scenario's, until a `Reconfigure` restarts it with
    /// one changed (the oracle reads these).
    flags: BTreeMap<String, AgentFlags>,
    /// When each node's agent last started.
    started: BTreeMap<String, Instant>,
    /// A timed run: how long each node add may take to converge before it counts as
    /// not converged.
    timed: Option<Duration>,
    out: Outcome,
}

/// FNV-1a of a name, to give each node its own random stream.
fn name_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Runs `sc` on `world` (built for it) with the driver's choices drawn from `seed`.
pub(crate) fn run<W: World>(sc: &Scenario, world: &mut W, seed: u64) -> Outcome {
    run_timed(sc, world, seed, None)
}

/// [`run`], and with `limit` also times every node add: from the write of its Node,
/// the cluster is compared with the oracle's expectation after every step (the only
/// instants its state changes) until they are equal, for at most `limit` and not past
/// the next fault action; the time taken goes into `Outcome::latencies`, and the trace
/// gets each change of the open connections and Established sessions meanwhile.
pub(crate) fn run_timed<W: World>(
    sc: &Scenario,
    world: &mut W,
    seed: u64,
    limit: Option<Duration>,
) -> Outcome {
    let clock = SimClock::new();
    let mut r = Run {
        sc,
        world,
        seed,
        clock,
        api: SimApi::new(),
        actions: BTreeMap::new(),
        seq: 0,
        last_turn: BTreeMap::new(),
        draining: BTreeSet::new(),
        connects: BTreeMap::new(),
        guards: Vec::new(),
        touched: BTreeSet::new(),
        topology_changed: false,
        foreign: BTreeMap::new(),
        flags: BTreeMap::new(),
        started: BTreeMap::new(),
        router_down: false,
        timed: limit,
        out: Outcome::default(),
    };
    match r.run_all() {
        Ok(()) => {
            let line = format!("end after {} steps", r.out.steps);
            r.note(line);
        }
        Err(e) => {
            r.note(format!("FAILED: {e}"));
            r.out.failure = Some(e);
        }
    }
    r.out.virtual_time = r.clock.elapsed();
    r.out
}

impl<W: World> Run<'_, W> {
    fn note(&mut self, line: String) {
        let t = self.clock.elapsed();
        self.out
            .trace
            .push(format!("t={}.{:03} {line}", t.as_secs(), t.subsec_millis()));
    }

    fn schedule(&mut self, at: Instant, a: Action) {
        self.seq += 1;
        self.actions.insert((at, self.seq), a);
    }

    fn run_all(&mut self) -> Result<(), String> {
        let now = self.clock.now();
        for n in &self.sc.nodes {
            self.api
                .put_node(n.clone(), now)
                .map_err(|e| e.to_string())?;
        }
        let names: Vec<SimNode> = self.sc.nodes.clone();
        for n in &names {
            self.start_agent(n, true);
        }
        self.note(format!(
            "start {} nodes{}, {}, graceful restart {}",
            names.len(),
            if self.sc.router {
                " and an external router"
            } else {
                ""
            },
            if self.sc.topology.full_mesh {
                "full mesh"
            } else {
                "per-node ASN"
            },
            if self.sc.graceful_restart {
                "on"
            } else {
                "off"
            }
        ));
        self.update_router();
        let t = self.clock.now() + START_SETTLE;
        self.run_until(t)?;
        self.check("start")?;
        let mut episodes: Vec<u32> = self.sc.faults.iter().map(|f| f.episode).collect();
        episodes.dedup();
        for ep in episodes {
            let start = self.clock.now();
            self.touched.clear();
            self.topology_changed = false;
            let faults: Vec<Fault> = self
                .sc
                .faults
                .iter()
                .filter(|f| f.episode == ep)
                .cloned()
                .collect();
            for f in faults {
                self.schedule(start + f.offset, Action::Fault(f));
            }
            while let Some((&(at, seq), _)) = self.actions.iter().next() {
                if at.saturating_duration_since(start) > EPISODE_LIMIT {
                    return Err(format!(
                        "ep{ep}: fault actions still pending after {EPISODE_LIMIT:?}"
                    ));
                }
                self.run_until(at)?;
                if let Some(a) = self.actions.remove(&(at, seq)) {
                    let added = match &a {
                        Action::Fault(Fault {
                            kind: FaultKind::AddNode(n),
                            ..
                        }) => Some(n.name.clone()),
                        _ => None,
                    };
                    let applied = self.out.faults;
                    self.apply(a)?;
                    if let (Some(name), Some(limit)) = (added, self.timed) {
                        if self.out.faults > applied {
                            self.time_convergence(name, limit)?;
                        }
                    }
                }
            }
            let t = self.clock.now() + SETTLE;
            self.run_until(t)?;
            if let Some(t) = self.holds_over().filter(|t| *t > self.clock.now()) {
                self.run_until(t)?;
            }
            self.guards.clear();
            self.check(&format!("ep{ep}"))?;
        }
        Ok(())
    }

    /// The flags `name`'s agent runs (or last ran, or will first run) with.
    fn flags_of(&self, name: &str) -> AgentFlags {
        self.flags
            .get(name)
            .copied()
            .unwrap_or_else(|| self.sc.flags())
    }

    fn start_agent(&mut self, n: &SimNode, fresh: bool) {
        let now = self.clock.now();
        if fresh {
            self.foreign.remove(&n.name);
        }
        let flags = self.flags_of(&n.name);
        self.flags.insert(n.name.clone(), flags);
        self.started.insert(n.name.clone(), now);
        self.world.start(n, flags, fresh, now);
        let k = self.connects.entry(n.name.clone()).or_insert(0);
        *k += 1;
        let mut rng = SimRng::new(self.seed ^ name_hash(&n.name) ^ k.wrapping_mul(0x9E37));
        let latency = Duration::from_millis(rng.range(1, 50));
        self.api.connect(&n.name, latency, now);
        // The first turn at once, as the real loop turns before its first poll.
        self.last_turn.insert(n.name.clone(), now - TURN_FLOOR);
    }

    /// The node's machine is re-provisioned with `node` as its Node object: its agent (if
    /// running) crashes, the API server takes the new object, and the agent starts again
    /// 3 s later (`fresh`: with an empty kernel).
    fn reprovision(
        &mut self,
        name: &str,
        node: SimNode,
        fresh: bool,
        now: Instant,
    ) -> Result<(), String> {
        self.topology_changed = true;
        if self.world.running(name) {
            self.stop_agent(name, StopKind::Crash);
        }
        self.api.put_node(node, now).map_err(|e| e.to_string())?;
        self.schedule(
            now + Duration::from_secs(3),
            Action::Start {
                name: name.to_string(),
                fresh,
                change: None,
            },
        );
        Ok(())
    }

    /// Stops `name`'s agent; one that drains first (RFC 8326) keeps turning until its
    /// stop is due.
    fn stop_agent(&mut self, name: &str, how: StopKind) {
        let now = self.clock.now();
        self.world.stop(name, how, now);
        self.api.disconnect(name);
        if self.world.running(name) {
            self.note(format!("{name} drains before it stops"));
            self.draining.insert(name.to_string());
        } else {
            self.stopped(name);
        }
    }

    /// Steps from now (`name`'s Node just written) until the cluster equals the oracle's
    /// expectation, for at most `limit` and not past the next fault action; records the
    /// time taken and notes each change of the connections and sessions meanwhile.
    fn time_convergence(&mut self, name: String, limit: Duration) -> Result<(), String> {
        let start = self.clock.now();
        let mut end = start + limit;
        if let Some(&(t, _)) = self.actions.keys().next() {
            end = end.min(t);
        }
        let mut seen = String::new();
        let latency = loop {
            let links = self.links();
            if links != seen {
                self.note(links.clone());
                seen = links;
            }
            let left = match self.compare() {
                Ok(_) => break Some(self.clock.now() - start),
                Err(left) => left,
            };
            let Some(next) = self.next_event().filter(|t| *t <= end) else {
                self.note(format!("{name}: not converged: {}", left.join("; ")));
                break None;
            };
            self.clock.advance_to(next.max(self.clock.now()));
            self.step()?;
        };
        let shown = latency.map_or("-".to_string(), |d| format!("{} ms", d.as_millis()));
        self.note(format!("{name} added: converged after {shown}"));
        self.out.latencies.push((name, latency));
        Ok(())
    }

    /// The open connections between nodes and each running agent's Established
    /// peers, on one line.
    fn links(&self) -> String {
        let conns: Vec<String> = self
            .world
            .sessions()
            .into_iter()
            .map(|(a, b)| format!("{a}-{b}"))
            .collect();
        let mut s = format!("connections [{}]; established", conns.join(" "));
        for name in self.last_turn.keys() {
            let peers: Vec<String> = self
                .world
                .established(name)
                .iter()
                .map(|p| p.to_string())
                .collect();
            s += &format!(" {name}:[{}]", peers.join(" "));
        }
        s
    }

    /// `name`'s agent is gone: it turns no more, and a drain's guards end.
    fn stopped(&mut self, name: &str) {
        self.last_turn.remove(name);
        self.draining.remove(name);
        self.guards.retain(|g| !(g.drain && g.restarting == name));
    }

    /// The earliest instant something is due, if any.
    fn next_event(&mut self) -> Option<Instant> {
        let now = self.clock.now();
        let names: Vec<String> = self.last_turn.keys().cloned().collect();
        let mut next: Option<Instant> = None;
        for name in names {
            let last = self.last_turn.get(&name).copied().unwrap_or(now);
            let turn = self
                .world
                .poll_at(&name, now)
                .map(|t| t.max(last + TURN_FLOOR));
            for t in [turn, self.api.next_at(&name)].into_iter().flatten() {
                next = Some(next.map_or(t, |n: Instant| n.min(t)));
            }
        }
        if let Some(t) = self.world.router_poll_at() {
            next = Some(next.map_or(t, |n: Instant| n.min(t)));
        }
        next
    }

    /// Runs everything due up to and including `t`, then sets the clock to `t`.
    fn run_until(&mut self, t: Instant) -> Result<(), String> {
        let mut at_same = 0u32;
        let mut last = self.clock.now();
        loop {
            let Some(next) = self.next_event().filter(|n| *n <= t) else {
                self.clock.advance_to(t);
                return Ok(());
            };
            let next = next.max(self.clock.now());
            if next == last {
                at_same += 1;
                if at_same > 10_000 {
                    return Err("no progress: agents keep asking for a turn at one instant".into());
                }
            } else {
                at_same = 0;
                last = next;
            }
            self.clock.advance_to(next);
            self.step()?;
        }
    }

    /// One instant: API deliveries and turns of the agents due, in name order.
    fn step(&mut self) -> Result<(), String> {
        self.out.steps += 1;
        if self.out.steps > STEP_BUDGET {
            return Err(format!("step budget of {STEP_BUDGET} exhausted"));
        }
        let now = self.clock.now();
        let names: Vec<String> = self.last_turn.keys().cloned().collect();
        for name in names {
            let events = self.api.take_due(&name, now).map_err(|e| e.to_string())?;
            let last = self.last_turn.get(&name).copied().unwrap_or(now);
            let due = self
                .world
                .poll_at(&name, now)
                .is_some_and(|t| t.max(last + TURN_FLOOR) <= now);
            if events.is_empty() && !due {
                continue;
            }
            if !events.is_empty() {
                self.world.deliver(&name, events, now);
            }
            self.world.turn(&name, now);
            let mut n = 0;
            while self.world.busy(&name) && n < BUSY_TURNS {
                self.world.turn(&name, now);
                n += 1;
            }
            if self.world.running(&name) {
                self.last_turn.insert(name, now);
            } else {
                self.note(format!("{name} stopped after its drain"));
                self.stopped(&name);
            }
        }
        if self.world.router_poll_at().is_some_and(|t| t <= now) {
            self.world.router_turn(now);
        }
        self.check_guards()
    }

    /// The external router peers with the API's nodes (an operator's configuration,
    /// kept current): each with an IPv4 address at that address (the router's family;
    /// a dual-stack node's IPv4 one even when its IPv6 one comes first), with its ASN.
    fn update_router(&mut self) {
        if !self.sc.router || self.router_down {
            return;
        }
        let nodes: BTreeMap<IpAddr, u32> = self
            .api
            .nodes()
            .filter_map(|n| {
                Some((
                    n.ip_of_family(false)?,
                    oracle::local_asn(n, self.flags_of(&n.name))?,
                ))
            })
            .collect();
        let now = self.clock.now();
        self.world.set_router_peers(&nodes, now);
    }

    /// Whether a node of the API has address `ip`.
    fn taken(&self, ip: IpAddr) -> bool {
        self.api.nodes().any(|o| o.ips().any(|a| a == ip))
    }

    fn ip_of(&self, name: &str) -> Option<IpAddr> {
        if self.sc.router && name == ROUTER_NAME {
            return Some(ROUTER_ADDR);
        }
        self.api.node(name).map(|n| n.internal_ip)
    }

    /// Counts a fault that took effect and writes it into the trace, with `detail` after
    /// it when given.
    fn applied(&mut self, f: &Fault, detail: Option<&str>) {
        self.out.faults += 1;
        match detail {
            Some(d) => self.note(format!("{f}: {d}")),
            None => self.note(f.to_string()),
        }
    }

    fn skip(&mut self, f: &Fault, why: &str) {
        self.note(format!("skip {} ({why})", f.kind));
    }

    fn apply(&mut self, a: Action) -> Result<(), String> {
        let now = self.clock.now();
        match a {
            Action::Fault(f) => self.apply_fault(f)?,
            Action::Start {
                name,
                fresh,
                change,
            } => match self.api.node(&name).cloned() {
                Some(n) if !self.world.running(&name) => {
                    match change {
                        Some(c) => {
                            self.note(format!("restart {name} with {c}"));
                            let flags = c.apply(self.flags_of(&name));
                            self.flags.insert(name.clone(), flags);
                            // The operator changes the router's side with the
                            // node's ASN.
                            self.update_router();
                        }
                        None => self.note(format!("restart {name}")),
                    }
                    self.start_agent(&n, fresh);
                }
                // Still draining: the new process starts once the old one is gone.
                Some(_) if self.draining.contains(&name) => {
                    self.schedule(
                        now + Duration::from_secs(1),
                        Action::Start {
                            name,
                            fresh,
                            change,
                        },
                    );
                }
                Some(_) => self.note(format!("no restart of {name} (running)")),
                None => self.note(format!("no restart of {name} (deleted)")),
            },
            Action::Heal { a, b } => {
                self.note(format!("heal {}-{}", a.0, b.0));
                self.world.heal(a.1, b.1);
            }
            Action::OutageEnd { name } => {
                self.note(format!("api back for {name}"));
                self.api.outage_end(&name, now);
            }
            Action::PutNode(n) => {
                if self.api.node(&n.name).is_some() || n.ips().any(|a| self.taken(a)) {
                    self.note(format!("no re-registration of {} (taken)", n.name));
                } else {
                    self.note(format!("{} registered again", n.name));
                    self.api.put_node(n, now).map_err(|e| e.to_string())?;
                    self.update_router();
                }
            }
            Action::RouterBack => {
                self.note("router back".to_string());
                self.router_down = false;
                self.update_router();
            }
            Action::NotificationsBack { name } => {
                self.note(format!("notifications back for {name}"));
                self.world.lose_notifications(&name, false);
            }
        }
        Ok(())
    }

    fn apply_fault(&mut self, f: Fault) -> Result<(), String> {
        let now = self.clock.now();
        let exists = |r: &Self, n: &str| r.api.node(n).is_some();
        match &f.kind {
            FaultKind::AddNode(n) => {
                if exists(self, &n.name) || n.ips().any(|a| self.taken(a)) {
                    self.skip(&f, "name or address taken");
                    return Ok(());
                }
                self.applied(&f, None);
                self.topology_changed = true;
                self.api
                    .put_node(n.clone(), now)
                    .map_err(|e| e.to_string())?;
                self.start_agent(n, true);
            }
            FaultKind::DeleteNode { name } => {
                if !exists(self, name) {
                    self.skip(&f, "no such node");
                    return Ok(());
                }
                self.applied(&f, None);
                self.topology_changed = true;
                self.api.delete_node(name, now).map_err(|e| e.to_string())?;
                if self.world.running(name) && !self.draining.contains(name) {
                    self.stop_agent(name, StopKind::Term);
                }
            }
            FaultKind::Annotate { name, key, value } => {
                let Some(mut n) = self.api.node(name).cloned() else {
                    self.skip(&f, "no such node");
                    return Ok(());
                };
                self.applied(&f, None);
                self.topology_changed = true;
                match value {
                    Some(v) => n.annotations.insert(key.clone(), v.clone()),
                    None => n.annotations.remove(key),
                };
                self.api.put_node(n, now).map_err(|e| e.to_string())?;
            }
            FaultKind::Readdress { name, ip } => {
                let Some(mut n) = self.api.node(name).cloned() else {
                    self.skip(&f, "no such node");
                    return Ok(());
                };
                if self.taken(*ip) {
                    self.skip(&f, "address taken");
                    return Ok(());
                }
                // The address of the new one's family: a dual-stack node's other family
                // keeps its address.
                if n.internal_ip.is_ipv6() == ip.is_ipv6() {
                    n.internal_ip = *ip;
                } else if n.other_ip.is_some() {
                    n.other_ip = Some(*ip);
                } else {
                    self.skip(&f, "no address of that family");
                    return Ok(());
                }
                self.applied(&f, None);
                // A reboot: a drain in progress ends with the machine.
                self.reprovision(name, n, true, now)?;
            }
            FaultKind::DropPodCidr { name } => {
                let Some(mut n) = self.api.node(name).cloned() else {
                    self.skip(&f, "no such node");
                    return Ok(());
                };
                if n.other_pod_cidr.take().is_none() {
                    self.skip(&f, "one pod CIDR only");
                    return Ok(());
                }
                self.applied(&f, None);
                // The agent reads its own pod CIDRs when it starts (as kube-router
                // does): the node is re-provisioned, the kernel keeps what the old
                // agent made for the dropped CIDR, which the new one must clean up.
                self.reprovision(name, n, false, now)?;
            }
            FaultKind::Restart { name, how, down } => {
                self.restart(&f, name, *how, *down, None);
            }
            FaultKind::Reconfigure {
                name,
                how,
                down,
                change,
            } => {
                self.restart(&f, name, *how, *down, Some(*change));
            }
            FaultKind::Cut { a, b, dur } => {
                let (Some(ia), Some(ib)) = (self.ip_of(a), self.ip_of(b)) else {
                    self.skip(&f, "no such node");
                    return Ok(());
                };
                self.applied(&f, None);
                self.touch(&[a, b]);
                self.world.cut(ia, ib);
                self.schedule(
                    now + *dur,
                    Action::Heal {
                        a: (a.clone(), ia),
                        b: (b.clone(), ib),
                    },
                );
            }
            FaultKind::Reset { a, b } => {
                let (Some(ia), Some(ib)) = (self.ip_of(a), self.ip_of(b)) else {
                    self.skip(&f, "no such node");
                    return Ok(());
                };
                self.applied(&f, None);
                self.touch(&[a, b]);
                self.world.reset(ia, ib);
            }
            FaultKind::Outage { name, dur, end } => {
                if !self.world.running(name) {
                    self.skip(&f, "not running");
                    return Ok(());
                }
                self.applied(&f, None);
                self.api.outage_start(name, *end, now);
                self.schedule(now + *dur, Action::OutageEnd { name: name.clone() });
            }
            FaultKind::Gone { name } => {
                if !self.world.running(name) {
                    self.skip(&f, "not running");
                    return Ok(());
                }
                self.applied(&f, None);
                self.api.gone(name, now);
            }
            FaultKind::KernelFail { name, n } => {
                if !exists(self, name) {
                    self.skip(&f, "no such node");
                    return Ok(());
                }
                self.applied(&f, None);
                self.world.kernel_fail(name, *n);
            }
            FaultKind::ForeignRoute {
                name,
                prefix,
                gateway,
            } => {
                if !exists(self, name) {
                    self.skip(&f, "no such node");
                    return Ok(());
                }
                self.applied(&f, None);
                // It may take one of kube-bgp's prefixes: guards end.
                self.touch(&[name]);
                self.world.add_foreign(name, *prefix, *gateway);
                self.foreign
                    .entry(name.clone())
                    .or_default()
                    .insert(*prefix, *gateway);
            }
            FaultKind::Reregister { name, gap } => {
                let Some(n) = self.api.node(name).cloned() else {
                    self.skip(&f, "no such node");
                    return Ok(());
                };
                self.applied(&f, None);
                self.topology_changed = true;
                self.api.delete_node(name, now).map_err(|e| e.to_string())?;
                self.schedule(now + *gap, Action::PutNode(n));
            }
            FaultKind::RouterRestart { down } => {
                if !self.sc.router || self.router_down {
                    self.skip(&f, "no router running");
                    return Ok(());
                }
                self.applied(&f, None);
                self.router_down = true;
                self.world.router_stop();
                self.schedule(now + *down, Action::RouterBack);
            }
            FaultKind::DeleteTunnel { name } => {
                if !exists(self, name) {
                    self.skip(&f, "no such node");
                    return Ok(());
                }
                let Some(tun) = self.world.delete_tunnel(name) else {
                    self.skip(&f, "no tunnel");
                    return Ok(());
                };
                self.applied(&f, Some(&tun));
                // Routes through it leave the kernel until it is made again.
                self.touch(&[name]);
            }
            FaultKind::LoseNotifications { name, dur } => {
                if !exists(self, name) {
                    self.skip(&f, "no such node");
                    return Ok(());
                }
                self.applied(&f, None);
                self.world.lose_notifications(name, true);
                self.schedule(now + *dur, Action::NotificationsBack { name: name.clone() });
            }
        }
        if self.topology_changed {
            self.guards.clear();
            self.update_router();
        }
        Ok(())
    }

    /// The agent of `name` stops (`how`) and starts again after `down`, with `change`
    /// made to its flags.
    fn restart(
        &mut self,
        f: &Fault,
        name: &String,
        how: StopKind,
        down: Duration,
        change: Option<FlagChange>,
    ) {
        if !self.world.running(name) || self.draining.contains(name) {
            self.skip(f, "not running");
            return;
        }
        self.applied(f, None);
        let old = self.flags_of(name);
        let new = change.map_or(old, |c| c.apply(old));
        // Guarded only as the episode's first fault that touches a node: a route may
        // travel through any node (reflectors), so a second one may legitimately move
        // it.
        let first = !self.topology_changed && self.touched.is_empty();
        // The other nodes keep its routes when it restarted with graceful restart and
        // comes back with it (back without it, its peers drop the stale routes as its
        // new session opens, RFC 4724 section 4.2), and every other agent helps (runs
        // with graceful restart too). A node that comes back without iBGP takes its
        // routes away for good.
        let helpers = self
            .last_turn
            .keys()
            .filter(|n| *n != name)
            .all(|n| self.flags_of(n).graceful_restart);
        // A new ASN or mesh mode changes who peers with it: not guarded either.
        let same_peering = old.full_mesh == new.full_mesh && old.cluster_asn == new.cluster_asn;
        let gr = old.graceful_restart
            && new.graceful_restart
            && helpers
            && same_peering
            && (new.ibgp || !old.ibgp)
            && down + GR_MARGIN < self.sc.restart_time;
        // Without graceful restart a SIGTERM drains first: nothing moves until the
        // agent has stopped (whatever its new flags).
        let drain = !old.graceful_restart && how == StopKind::Term;
        self.touch(&[name]);
        if first && (gr || drain) {
            // A new overlay setting changes how the node itself routes (`via` <->
            // tunnel, or no route off its subnet): its own kernel is then only checked
            // at the episode's end.
            let own = drain || old.overlay == new.overlay;
            self.guard_restart(name, !gr, own);
        }
        self.stop_agent(name, how);
        self.schedule(
            self.clock.now() + down,
            Action::Start {
                name: name.clone(),
                fresh: false,
                change,
            },
        );
    }

    /// A fault reaches `names`: every guard ends (a route may pass through any node).
    fn touch(&mut self, names: &[&String]) {
        for n in names {
            self.touched.insert((*n).clone());
        }
        self.guards.clear();
    }

    /// `name` restarts under graceful restart: every route in every running agent's
    /// kernel, and in its own when `own`, must stay until the episode's check or until
    /// another fault touches a node.
    fn guard_restart(&mut self, name: &str, drain: bool, own: bool) {
        let holders: Vec<String> = self
            .last_turn
            .keys()
            .filter(|h| own || *h != name)
            .cloned()
            .collect();
        for holder in holders {
            for (prefix, hop) in self.world.kernel_routes(&holder) {
                self.guards.push(Guard {
                    restarting: name.to_string(),
                    drain,
                    holder: holder.clone(),
                    prefix,
                    hop,
                });
            }
        }
    }

    fn check_guards(&mut self) -> Result<(), String> {
        if self.guards.is_empty() {
            return Ok(());
        }
        self.out.guarded_steps += 1;
        let mut tables: BTreeMap<&str, BTreeMap<Prefix, RouteHop>> = BTreeMap::new();
        for g in &self.guards {
            let t = tables
                .entry(g.holder.as_str())
                .or_insert_with(|| self.world.kernel_routes(&g.holder));
            if t.get(&g.prefix) != Some(&g.hop) {
                return Err(format!(
                    "{} of {}: route {} {} left {}'s kernel (now {:?})",
                    if g.drain { "drain" } else { "graceful restart" },
                    g.restarting,
                    g.prefix,
                    g.hop,
                    g.holder,
                    t.get(&g.prefix)
                ));
            }
        }
        Ok(())
    }

    /// When the restart holds of the running agents that cannot run BGP have ended
    /// (what their earlier runs left must be gone then), if there are any.
    fn holds_over(&self) -> Option<Instant> {
        let live: BTreeSet<String> = self
            .api
            .nodes()
            .filter(|n| self.world.running(&n.name))
            .map(|n| n.name.clone())
            .collect();
        let router = self.sc.router.then_some(ROUTER_ADDR);
        let exp = oracle::expect(self.api.nodes(), &live, router, &|n| self.flags_of(n));
        exp.without_bgp
            .iter()
            .filter_map(|n| {
                let bound = oracle::hold_bound(self.flags_of(n));
                Some(*self.started.get(n)? + bound + HOLD_MARGIN)
            })
            .max()
    }

    /// The quiescent point's invariants: every running agent's kernel routes and the
    /// open sessions equal the oracle's (a node without BGP has no routes, tunnels or
    /// rules: the driver checks only after its restart hold is over).
    fn check(&mut self, label: &str) -> Result<(), String> {
        self.out.checks += 1;
        match self.compare() {
            Ok(summary) => {
                self.note(format!("check {label} ok: {summary}"));
                Ok(())
            }
            Err(problems) => Err(format!("check {label}: {}", problems.join("; "))),
        }
    }

    /// The cluster against the oracle's expectation (what `check` checks): a summary
    /// when they are equal, else every difference.
    fn compare(&self) -> Result<String, Vec<String>> {
        let live: BTreeSet<String> = self
            .api
            .nodes()
            .filter(|n| self.world.running(&n.name))
            .map(|n| n.name.clone())
            .collect();
        let router = self.sc.router.then_some(ROUTER_ADDR);
        let exp = oracle::expect(self.api.nodes(), &live, router, &|n| self.flags_of(n));
        let mut problems = Vec::new();
        let mut routes = 0;
        for name in &live {
            let got = self.world.kernel_routes(name);
            // A prefix another program holds is theirs: kube-bgp must leave it alone.
            let wanted = exp.routes.get(name).cloned().unwrap_or_default();
            let mut want = wanted.clone();
            if let Some(theirs) = self.foreign.get(name) {
                want.retain(|p, _| !theirs.contains_key(p));
            }
            let want = &want;
            routes += want.len();
            for (p, hop) in want {
                match got.get(p) {
                    Some(g) if g == hop => {}
                    Some(g) => problems.push(format!(
                        "{name}: {p} {g}, want {hop} ({})",
                        self.world.explain(name, p)
                    )),
                    None => problems.push(format!(
                        "{name}: {p} {hop} missing ({})",
                        self.world.explain(name, p)
                    )),
                }
            }
            for (p, g) in &got {
                if !want.contains_key(p) {
                    problems.push(format!("{name}: {p} {g} must not be there"));
                }
            }
            let locals: Vec<IpAddr> = self
                .api
                .node(name)
                .map(|n| n.ips().collect())
                .unwrap_or_default();
            let rules = exp.rules.get(name).cloned().unwrap_or_default();
            self.check_overlay(name, &locals, want, &wanted, &rules, &mut problems);
            if let Some(mine) = self.foreign.get(name) {
                let theirs = self.world.foreign_routes(name);
                for (p, g) in mine {
                    if theirs.get(p) != Some(g) {
                        problems.push(format!("{name}: another program's {p} via {g} is gone"));
                    }
                }
            }
        }
        if let Some(got) = self.world.router_routes() {
            for (p, nh) in &exp.router {
                if got.get(p) != Some(nh) {
                    problems.push(format!(
                        "router: {p} via {nh} missing (has {:?})",
                        got.get(p)
                    ));
                }
            }
            for (p, nh) in &got {
                if !exp.router.contains_key(p) {
                    problems.push(format!("router: {p} via {nh} must not be there"));
                }
            }
        }
        let got: BTreeSet<(IpAddr, IpAddr)> = self
            .world
            .sessions()
            .into_iter()
            .map(|(a, b)| pair(a, b))
            .collect();
        for s in exp.sessions.difference(&got) {
            problems.push(format!("no session {}-{}", s.0, s.1));
        }
        let by_ip: BTreeMap<IpAddr, &String> = self
            .api
            .nodes()
            .filter(|n| live.contains(&n.name))
            .flat_map(|n| n.ips().map(move |a| (a, &n.name)))
            .collect();
        for (a, b) in &exp.sessions {
            for (me, peer) in [(a, b), (b, a)] {
                if let Some(name) = by_ip.get(me) {
                    if !self.world.established(name).contains(peer) {
                        problems.push(format!("{name}: session to {peer} not Established"));
                    }
                }
            }
        }
        for s in got.difference(&exp.sessions) {
            problems.push(format!("session {}-{} must not exist", s.0, s.1));
        }
        if problems.is_empty() {
            Ok(format!(
                "{} nodes, {routes} routes, {} sessions{}",
                live.len(),
                exp.sessions.len(),
                if self.sc.router {
                    format!(", router has {}", exp.router.len())
                } else {
                    String::new()
                }
            ))
        } else {
            Err(problems)
        }
    }
}

impl<W: World> Run<'_, W> {
    /// The overlay's objects on live node `name` (addresses `locals`), for the routes it
    /// must hold (`want`) and those it wants but another program's route blocks
    /// (`wanted` less `want`): exactly one `tun-*` tunnel, up, from the local address of
    /// the remote's family to each remote a route goes through, one to a remote whose routes are all blocked
    /// allowed (kube-bgp keeps trying them), no other (none outlives the node it
    /// served); each tunnel with its table-77 host route and the scenario's
    /// encapsulation; the rules `rules` once each. With `--overlay-encap=fou`, the GUE
    /// receive port of each family a tunnel exists for (on `--overlay-encap-port`; a
    /// port whose last tunnel went may stay open, as kube-router leaves it while the
    /// settings use it), and no FoU port of any other kind or number; with ipip, none.
    fn check_overlay(
        &self,
        name: &str,
        locals: &[IpAddr],
        want: &BTreeMap<Prefix, RouteHop>,
        wanted: &BTreeMap<Prefix, RouteHop>,
        rules: &[Prefix],
        problems: &mut Vec<String>,
    ) {
        let got = self.world.overlay(name);
        let remotes_of = |routes: &BTreeMap<Prefix, RouteHop>| -> BTreeSet<IpAddr> {
            routes
                .values()
                .filter_map(|h| match h {
                    RouteHop::Tunnel(r) => Some(*r),
                    _ => None,
                })
                .collect()
        };
        let remotes = remotes_of(want);
        let allowed = remotes_of(wanted);
        let mut table77 = BTreeMap::new();
        for r in allowed.difference(&remotes) {
            if let Some((spec, _)) = got.tunnels.get(&tunnel_name(r)) {
                if spec.remote == *r {
                    table77.insert(Prefix::host(*r), tunnel_name(r));
                }
            }
        }
        for r in &remotes {
            let tun = tunnel_name(r);
            table77.insert(Prefix::host(*r), tun.clone());
            match got.tunnels.get(&tun) {
                None => problems.push(format!("{name}: tunnel {tun} to {r} missing")),
                Some((spec, up)) => {
                    let local = locals.iter().find(|a| a.is_ipv6() == r.is_ipv6());
                    if spec.remote != *r || Some(&spec.local) != local || !up {
                        problems.push(format!(
                            "{name}: tunnel {tun} is {} -> {} ({}), want {local:?} -> {r} (up)",
                            spec.local,
                            spec.remote,
                            if *up { "up" } else { "down" }
                        ));
                    }
                }
            }
        }
        let encap = self.sc.topology.encap.tunnel();
        for (tun, (spec, _)) in &got.tunnels {
            if !allowed.contains(&spec.remote) {
                problems.push(format!(
                    "{name}: tunnel {tun} to {} must not be there",
                    spec.remote
                ));
            }
            if spec.encap != encap {
                problems.push(format!(
                    "{name}: tunnel {tun} is {}, want {encap}",
                    spec.encap
                ));
            }
        }
        match encap {
            TunnelEncap::Gue { port } => {
                let families: BTreeSet<u8> = got
                    .tunnels
                    .values()
                    .map(|(s, _)| af_of(s.remote.is_ipv6()))
                    .collect();
                for af in families {
                    if got.fou_ports.get(&(port, af)) != Some(&true) {
                        problems.push(format!(
                            "{name}: no GUE port {port} (family {af}) for its tunnels"
                        ));
                    }
                }
                for (p, af) in got.fou_ports.keys() {
                    if got.fou_ports.get(&(*p, *af)) != Some(&true) || *p != port {
                        problems.push(format!(
                            "{name}: FoU port {p} (family {af}) must not be there"
                        ));
                    }
                }
            }
            TunnelEncap::Ipip => {
                if !got.fou_ports.is_empty() {
                    problems.push(format!(
                        "{name}: FoU ports {:?} with ipip tunnels",
                        got.fou_ports
                    ));
                }
            }
        }
        if got.table77 != table77 {
            problems.push(format!(
                "{name}: table 77 is {:?}, want {table77:?}",
                got.table77
            ));
        }
        let mut have = got.rules.clone();
        have.sort();
        let mut rules = rules.to_vec();
        rules.sort();
        if have != rules {
            problems.push(format!(
                "{name}: rules to table 77 from {have:?}, want from {rules:?}"
            ));
        }
    }
}

/// `sc` with only the faults in `faults`.
pub(crate) fn with_faults(sc: &Scenario, faults: &[Fault]) -> Scenario {
    Scenario {
        faults: faults.to_vec(),
        ..sc.clone()
    }
}

/// A 1-minimal fault list of a failing run of `sc` (at most `budget` reruns).
pub(crate) fn minimise<W: World>(
    sc: &Scenario,
    seed: u64,
    make: &dyn Fn(&Scenario) -> W,
    budget: usize,
) -> Vec<Fault> {
    super::faults::ddmin(
        sc.faults.clone(),
        |fs| {
            let sub = with_faults(sc, fs);
            let mut w = make(&sub);
            run(&sub, &mut w, seed).failure.is_some()
        },
        budget,
    )
}

/// What a failing seed prints: the failure, the replay command, the minimised faults
/// and the trace of the minimised run.
pub(crate) fn failure_report<W: World>(
    seed: u64,
    sc: &Scenario,
    outcome: &Outcome,
    make: &dyn Fn(&Scenario) -> W,
) -> String {
    let minimal = minimise(sc, seed, make, 200);
    let sub = with_faults(sc, &minimal);
    let mut w = make(&sub);
    let min_run = run(&sub, &mut w, seed);
    let mut s = String::new();
    s += &format!(
        "simulation seed {seed} failed: {}\n",
        outcome.failure.as_deref().unwrap_or("?")
    );
    s += &format!(
        "replay: KB_SIM_SEED={seed} cargo test --offline --lib sim::replay -- --nocapture\n"
    );
    s += &format!(
        "minimised fault list ({} of {} faults){}:\n",
        minimal.len(),
        sc.faults.len(),
        match &min_run.failure {
            Some(f) => format!(", fails with: {f}"),
            None => " (did not fail again on its own)".into(),
        }
    );
    for f in &minimal {
        s += &format!("  {f}\n");
    }
    s += "initial nodes:\n";
    for n in &sc.nodes {
        s += &format!(
            "  {}\n",
            FaultKind::AddNode(n.clone())
                .to_string()
                .trim_start_matches("add-node ")
        );
    }
    s += "minimised run's trace:\n";
    for l in &min_run.trace {
        s += &format!("  {l}\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::super::faults::{RESTART_TIME, generate};
    use super::super::oracle::{ANN_ASN, ANN_RR_CLIENT, ANN_RR_SERVER, SimOverlay, Topology};
    use super::super::toy::{ToyBug, ToyWorld};
    use super::*;

    /// A generated scenario the toy can run: full mesh, no RR or ASN annotations, IPv4.
    fn mesh_only(seed: u64) -> Scenario {
        let mut sc = generate(seed);
        sc.topology = Topology {
            full_mesh: true,
            overlay: SimOverlay::Off,
            ..sc.topology
        };
        sc.router = false;
        // One subnet: the toy knows no overlay.
        let flat = |ip: &mut IpAddr| match ip {
            IpAddr::V4(a) => {
                let o = a.octets();
                *a = std::net::Ipv4Addr::new(o[0], o[1], 0, o[3]);
            }
            IpAddr::V6(a) => {
                let last = a.octets()[15];
                *ip = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, last));
            }
        };
        let strip = |n: &mut SimNode| {
            for k in [ANN_ASN, ANN_RR_CLIENT, ANN_RR_SERVER] {
                n.annotations.remove(k);
            }
            flat(&mut n.internal_ip);
            n.other_ip = None;
            n.other_pod_cidr = None;
            if let Prefix::V6(..) = n.pod_cidr {
                let last = n.internal_ip.to_string();
                let i = last.rsplit('.').next().unwrap_or("0");
                n.pod_cidr = format!("10.245.{i}.0/24").parse().unwrap();
            }
        };
        sc.nodes.iter_mut().for_each(strip);
        // The toy knows no flags: a new configuration is a plain restart.
        for f in &mut sc.faults {
            if let FaultKind::Reconfigure {
                name, how, down, ..
            } = &f.kind
            {
                f.kind = FaultKind::Restart {
                    name: name.clone(),
                    how: *how,
                    down: *down,
                };
            }
        }
        sc.faults.retain_mut(|f| match &mut f.kind {
            FaultKind::AddNode(n) => {
                strip(n);
                true
            }
            FaultKind::Annotate { key, .. } => key.as_str() == "kube-router.io/unrelated",
            FaultKind::DropPodCidr { .. } => false,
            FaultKind::Readdress { ip, .. } => {
                flat(ip);
                true
            }
            _ => true,
        });
        sc
    }

    fn toy(bug: ToyBug) -> impl Fn(&Scenario) -> ToyWorld {
        move |sc: &Scenario| ToyWorld::new(sc.graceful_restart.then_some(RESTART_TIME), bug)
    }

    #[test]
    fn a_correct_toy_cluster_passes_every_check() {
        let mut checks = 0;
        let mut faults = 0;
        for seed in 0..40 {
            let sc = mesh_only(seed);
            let mut w = toy(ToyBug::None)(&sc);
            let out = run(&sc, &mut w, seed);
            assert_eq!(out.failure, None, "seed {seed}:\n{}", out.trace.join("\n"));
            assert!(out.checks >= 2);
            checks += out.checks;
            faults += out.faults;
        }
        assert!(faults > 100, "{faults} faults applied");
        assert!(checks > 100, "{checks} checks");
    }

    #[test]
    fn same_seed_same_trace() {
        let sc = mesh_only(3);
        let a = run(&sc, &mut toy(ToyBug::None)(&sc), 3);
        let b = run(&sc, &mut toy(ToyBug::None)(&sc), 3);
        assert!(a.trace.len() > 3);
        assert_eq!(a.trace, b.trace);
        assert_eq!(a.steps, b.steps);
    }

    #[test]
    fn a_kept_route_of_a_deleted_node_is_caught_and_minimised() {
        let make = toy(ToyBug::KeepDeletedRoutes);
        let (seed, sc, out) = (0..200)
            .map(|s| (s, mesh_only(s)))
            .find_map(|(s, sc)| {
                let out = run(&sc, &mut make(&sc), s);
                out.failure.is_some().then_some((s, sc, out))
            })
            .expect("some seed deletes a node");
        let failure = out.failure.clone().unwrap_or_default();
        assert!(failure.contains("must not be there"), "{failure}");
        let min = minimise(&sc, seed, &make, 200);
        assert!(
            min.iter()
                .any(|f| matches!(f.kind, FaultKind::DeleteNode { .. })),
            "{min:?}"
        );
        assert!(min.len() <= 2, "minimal: {min:?}");
        let report = failure_report(seed, &sc, &out, &make);
        assert!(
            report.contains(&format!("KB_SIM_SEED={seed} cargo test")),
            "{report}"
        );
        assert!(report.contains("delete-node"), "{report}");
    }

    #[test]
    fn routes_lost_during_a_graceful_restart_are_caught() {
        let mut sc = mesh_only(1);
        sc.graceful_restart = true;
        sc.faults = vec![Fault {
            episode: 0,
            offset: Duration::from_secs(1),
            kind: FaultKind::Restart {
                name: sc.nodes[0].name.clone(),
                how: StopKind::Crash,
                down: Duration::from_secs(10),
            },
        }];
        let ok = run(&sc, &mut toy(ToyBug::None)(&sc), 1);
        assert_eq!(ok.failure, None, "{}", ok.trace.join("\n"));
        let bad = run(&sc, &mut toy(ToyBug::FlushOnStop)(&sc), 1);
        let f = bad.failure.unwrap_or_default();
        assert!(f.starts_with("graceful restart of n1: route"), "{f}");
        // Without graceful restart the same loss is allowed while the agent is down.
        sc.graceful_restart = false;
        let ok = run(&sc, &mut toy(ToyBug::FlushOnStop)(&sc), 1);
        assert_eq!(ok.failure, None, "{}", ok.trace.join("\n"));
    }

    #[test]
    fn another_programs_route_removed_is_caught() {
        let mut sc = mesh_only(2);
        sc.faults = vec![Fault {
            episode: 0,
            offset: Duration::from_secs(1),
            kind: FaultKind::ForeignRoute {
                name: sc.nodes[1].name.clone(),
                prefix: "192.168.7.0/24".parse().unwrap(),
                gateway: "10.0.0.254".parse().unwrap(),
            },
        }];
        let ok = run(&sc, &mut toy(ToyBug::None)(&sc), 2);
        assert_eq!(ok.failure, None, "{}", ok.trace.join("\n"));
        let bad = run(&sc, &mut toy(ToyBug::DropForeign)(&sc), 2);
        let f = bad.failure.clone().unwrap_or_default();
        assert!(
            f.contains("n2: another program's 192.168.7.0/24 via 10.0.0.254 is gone"),
            "{f}: {}",
            bad.trace.join("\n")
        );
    }
}
