//! From best paths to kernel routes: the daemon-side glue of `kernel::Reconciler`.
//!
//! Owns the answer to "which kernel route does this prefix get" (kube-router's routing
//! controller: `via` the next hop when it is on a connected subnet; otherwise an overlay
//! tunnel towards cluster nodes only (D7) when overlay is on, else nothing); when
//! reconcile passes run (on best-path changes, on kernel notifications, and every
//! `--injected-routes-sync-period` as a safety net); when the overlay's tunnels are made
//! and pruned; and the restart hold on adopted routes (D8, and `restart_hold` in every
//! mode). The tunnels, FoU ports and rules themselves are `overlay::OverlayLinks`'.
//!
//! A pass is planned from data: the prefixes it looks at with their learned best next
//! hops, read from the Loc-RIB before planning (no second copy of the table is kept),
//! and the route context (node addresses, connected subnets, overlay settings, the
//! tunnels made so far). `plan_pass` is pure: a route through a tunnel not made yet
//! asks for it; the pass makes the tunnels it asked for, then settles each route on the
//! outcome (through the tunnel, or what the underlay allows) before the reconciler
//! encodes the batch.
//!
//! The loop drives it with one call per turn, [`KernelRoutes::sync`], plus its inputs
//! (kernel notifications, a plan's context) and its deadline (`next_deadline`). Pass
//! scheduling: while UPDATEs stream in (`input_pending`) passes are deferred, for at most
//! `MAX_DEFER`, so the BGP input is not starved by the kernel. `sync` takes the RIB's
//! changed prefixes at most `room()` at a time, in the order the kernel takes fastest
//! (`KERNEL_ORDER`), and each pass sends a bounded number of operations, so a million
//! routes go in as many short passes with the event loop (control socket, timers,
//! sessions) served in between.
//!
//! Every dump, batch and notification goes through one `kernel::port::KernelPort`: the
//! host's netlink sockets and route writer thread (`new`), or a simulated kernel in
//! tests (`with_port`), the overlay's links included (`KernelPort::link_port`).

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::bgp::rib::{Rib, ScanOrder};
use crate::cluster::Plan;
use crate::cluster::adverts::OriginKind;
use crate::config::{Config, OverlayType};
use crate::kernel::netlink::NetlinkError;
use crate::kernel::port::{HostLinks, KernelPort, NetlinkPort};
use crate::kernel::reconciler::DEFAULT_PASS_LIMIT;
use crate::kernel::reconciler::RouteFailure;
use crate::kernel::tunnel::TunnelSpec;
use crate::kernel::writer::Job;
use crate::kernel::{BatchOptions, Desired, Op, Pass, ReconcileStats, Reconciler, RouteKind};
use crate::kube::snapshot::Snapshot;
use crate::net::timers::Stopwatch;
use crate::prefix::Prefix;
use crate::{debug, info, warn};

use super::overlay::OverlayLinks;
use super::restart_hold::{PeerSync, Release, RestartHold};

/// Least time between two reconcile passes (coalesces bursts of best-path changes).
const MIN_GAP: Duration = Duration::from_millis(20);
/// Longest a due pass waits for the BGP input to drain.
const MAX_DEFER: Duration = Duration::from_secs(2);
/// Batches handed to the route writer at once: one being sent, one waiting, so the
/// kernel never waits for the daemon thread to plan the next.
const MAX_IN_FLIGHT: usize = 2;
/// Route failures remembered for log deduplication (beyond this, failures are counted).
const MAX_LOGGED_FAILURES: usize = 10_000;

/// The order in which a large set of changed prefixes is taken from the RIB: bit-reversed
/// (spread across the address space), the order in which the kernel's FIB trie takes
/// routes fastest: a million /24s cost the kernel about 1.4x less time than in address
/// order (in passes of 16k, each sorted; tests/bench/RESULTS.md, "Insertion order").
const KERNEL_ORDER: ScanOrder = ScanOrder::BitReversed;

/// A full comparison's walk over the Loc-RIB: hands every prefix with a best path to
/// the passes, a pass's room at a time, in `order` over the RIB's ids (ids follow
/// arrival order, so bit-reversed spreads them over the address space). A prefix whose
/// best path changes meanwhile comes as a change anyway; a prefix with no best path any
/// more is covered by the comparison of the installed routes.
#[derive(Debug)]
struct RibWalk {
    /// Next position, in `0..1 << bits`.
    pos: u64,
    /// The walk covers ids below `1 << bits` (fixed when it starts).
    bits: u32,
    order: ScanOrder,
}

impl RibWalk {
    fn new(id_limit: u32, order: ScanOrder) -> RibWalk {
        RibWalk {
            pos: 0,
            bits: u32::BITS - id_limit.saturating_sub(1).leading_zeros(),
            order,
        }
    }

    /// The id at position `pos`.
    fn id_at(&self, pos: u64) -> u32 {
        match self.order {
            ScanOrder::BitReversed if self.bits > 0 => {
                (pos as u32).reverse_bits() >> (u32::BITS - self.bits)
            }
            ScanOrder::BitReversed => 0,
            ScanOrder::Id => pos as u32,
        }
    }

    /// Appends the walk's next prefixes to `out`, at most `limit`.
    fn take(&mut self, rib: &Rib, limit: usize, out: &mut Vec<Prefix>) {
        let end = 1u64 << self.bits;
        let mut n = 0;
        while n < limit && self.pos < end {
            let id = self.id_at(self.pos);
            self.pos += 1;
            if let Some((p, _)) = rib.loc_rib_range(id..id.saturating_add(1)).next() {
                out.push(p);
                n += 1;
            }
        }
    }

    fn done(&self) -> bool {
        self.pos >= 1u64 << self.bits
    }
}

/// What the restart hold needs to know to release (see `RestartHold`).
pub(crate) struct HoldFacts {
    /// The API's first list arrived.
    pub(crate) listed: bool,
    /// BGP runs.
    pub(crate) bgp: bool,
    /// Every configured peer.
    pub(crate) peers: Vec<PeerSync>,
    /// The local node's pod CIDRs as the API gives them, BGP or not: when the hold ends
    /// with no BGP running, the earlier run's `from <pod CIDR> lookup 77` rules on them
    /// go with its routes and tunnels.
    pub(crate) pod_cidrs: Vec<Prefix>,
}

/// What one [`KernelRoutes::sync`] did that the daemon must act on.
#[derive(Debug, Default)]
pub(crate) struct SyncReport {
    /// Changed prefixes taken from the RIB (not those a full comparison walks).
    pub(crate) best_taken: usize,
    /// Connected subnets or local addresses changed (import safety depends on them).
    pub(crate) addrs_changed: bool,
}

/// Totals for metrics.
#[derive(Clone, Debug, Default)]
pub(crate) struct RouteStats {
    pub(crate) passes: u64,
    pub(crate) added: u64,
    pub(crate) replaced: u64,
    pub(crate) deleted: u64,
    pub(crate) failed: u64,
    pub(crate) last_duration: Duration,
    /// Time the route writer waited for a batch while passes were running.
    pub(crate) writer_idle: Duration,
    /// kube-router's `host_routes_sync_time`.
    pub(crate) sync_time: crate::ops::http::prom::Histogram,
}

/// What choosing a prefix's kernel route needs, as data: the cluster's node addresses,
/// the overlay settings, the connected subnets and this node's tunnel sources. The
/// tunnels made so far are read from `OverlayLinks` (never made while choosing).
struct RouteCtx {
    /// Every address of every cluster node, both families (a tree: looked up for each
    /// prefix planned).
    node_addrs: BTreeSet<IpAddr>,
    connected: BTreeSet<Prefix>,
    overlay: bool,
    overlay_full: bool,
    local_v4: Option<IpAddr>,
    local_v6: Option<IpAddr>,
}

/// A prefix's kernel route as a pass plans it, before the pass's tunnels are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PlannedRoute {
    /// This route: `via` the next hop, or `dev` through a tunnel already made.
    Route(RouteKind),
    /// Through the tunnel `spec`, which the pass makes first; `on_subnet`: the next hop
    /// is on a connected subnet (the route goes `via` it if the tunnel cannot be made).
    Tunnel { spec: TunnelSpec, on_subnet: bool },
    /// No route: the best path's next hop cannot be used (why).
    Unroutable(NoKernelRoute, IpAddr),
    /// No route: no learned best path.
    Nothing,
}

impl RouteCtx {
    /// The kernel route for a learned best path to `p` via `nh`, given the tunnels made
    /// so far (`links`, only read). Pure: a tunnel not made yet is asked for, not made.
    fn plan_route(&self, links: &OverlayLinks, p: Prefix, nh: IpAddr) -> PlannedRoute {
        let on_subnet = self.connected.iter().any(|s| s.contains_addr(&nh));
        let overlay = Overlay {
            enabled: self.overlay && !links.unsupported(),
            full: self.overlay_full,
        };
        match route_for(p, nh, on_subnet, self.node_addrs.contains(&nh), overlay) {
            Choice::Via => PlannedRoute::Route(RouteKind::Via(nh)),
            Choice::None(why) => PlannedRoute::Unroutable(why, nh),
            Choice::Tunnel => {
                let local = match nh {
                    IpAddr::V4(_) => self.local_v4,
                    IpAddr::V6(_) => self.local_v6,
                };
                let Some(local) = local else {
                    // No source address for the tunnel: what the underlay allows.
                    return tunnel_fallback(nh, on_subnet);
                };
                let spec = TunnelSpec {
                    local,
                    remote: nh,
                    encap: links.encap(),
                };
                match links.made(&spec) {
                    Some(ifindex) => PlannedRoute::Route(RouteKind::Dev {
                        ifindex,
                        src: Some(local),
                    }),
                    None => PlannedRoute::Tunnel { spec, on_subnet },
                }
            }
        }
    }
}

/// The route when the tunnel to `nh` cannot be had: `via` it on a connected subnet,
/// else none.
fn tunnel_fallback(nh: IpAddr, on_subnet: bool) -> PlannedRoute {
    if on_subnet {
        PlannedRoute::Route(RouteKind::Via(nh))
    } else {
        PlannedRoute::Unroutable(NoKernelRoute::TunnelUnavailable, nh)
    }
}

/// The next hop of `p`'s best path when it is a learned one with a usable next hop
/// (locally originated paths get no kernel route).
fn learned_next_hop(rib: &Rib, p: &Prefix) -> Option<IpAddr> {
    match rib.best_next_hop(p)? {
        (Some(_), nh) if !nh.is_unspecified() => Some(nh),
        _ => None,
    }
}

/// What a pass plans from its inputs (each prefix it looks at with its learned best
/// next hop, taken from the RIB before planning): every prefix's route, and the
/// tunnels the pass must make before its batch goes to the writer (one per remote).
#[derive(Debug, Default, PartialEq, Eq)]
struct PassPlan {
    routes: Vec<(Prefix, PlannedRoute)>,
    tunnels: Vec<TunnelSpec>,
}

/// Plans a pass's routes: a pure function of the inputs, the route context and the
/// tunnels made so far.
fn plan_pass(
    inputs: &[(Prefix, Option<IpAddr>)],
    ctx: &RouteCtx,
    links: &OverlayLinks,
) -> PassPlan {
    let mut tunnels: BTreeMap<IpAddr, TunnelSpec> = BTreeMap::new();
    let routes = inputs
        .iter()
        .map(|&(p, nh)| {
            let planned = match nh {
                Some(nh) => ctx.plan_route(links, p, nh),
                None => PlannedRoute::Nothing,
            };
            if let PlannedRoute::Tunnel { spec, .. } = planned {
                tunnels.entry(spec.remote).or_insert(spec);
            }
            (p, planned)
        })
        .collect();
    PassPlan {
        routes,
        tunnels: tunnels.into_values().collect(),
    }
}

/// The wanted routes of the prefixes one pass looks at (`Reconciler::next_looked_at`), after
/// its tunnels were made: the reconciler's `Desired`, a lookup in data.
struct PassWants {
    /// Sorted by prefix, one entry per prefix.
    routes: Vec<(Prefix, Option<RouteKind>)>,
    /// Where the entry after the last one found is: the reconciler asks in prefix
    /// order, so the next question is mostly answered there without a search. Only a
    /// hint: the answers do not depend on it.
    next: Cell<usize>,
}

impl PassWants {
    /// Settles `plan`'s routes: through a tunnel the pass made (`made`: remote ->
    /// ifindex), else what the underlay allows. Next hops without a route are logged
    /// once each (`logged`).
    fn settle(
        plan: PassPlan,
        made: &BTreeMap<IpAddr, u32>,
        logged: &mut BTreeSet<IpAddr>,
    ) -> PassWants {
        let mut routes: Vec<(Prefix, Option<RouteKind>)> = plan
            .routes
            .into_iter()
            .map(|(p, planned)| {
                let planned = match planned {
                    PlannedRoute::Tunnel { spec, on_subnet } => match made.get(&spec.remote) {
                        Some(&ifindex) => PlannedRoute::Route(RouteKind::Dev {
                            ifindex,
                            src: Some(spec.local),
                        }),
                        None => tunnel_fallback(spec.remote, on_subnet),
                    },
                    other => other,
                };
                let want = match planned {
                    PlannedRoute::Route(k) => Some(k),
                    PlannedRoute::Unroutable(why, nh) => {
                        if logged.insert(nh) {
                            debug!("kernel", "routes via {nh} (e.g. {p}) not installed: {why}");
                        }
                        None
                    }
                    PlannedRoute::Tunnel { .. } | PlannedRoute::Nothing => None,
                };
                (p, want)
            })
            .collect();
        // Stable: the inputs are a few sorted runs (the connected subnets, then the
        // pending prefixes in order), which a stable sort merges in linear time.
        routes.sort_by_key(|r| r.0);
        routes.dedup_by_key(|r| r.0);
        PassWants {
            routes,
            next: Cell::new(0),
        }
    }
}

impl Desired for PassWants {
    fn route(&self, dst: &Prefix) -> Option<RouteKind> {
        let hint = self.next.get();
        let i = match self.routes.get(hint) {
            Some(r) if r.0 == *dst => hint,
            _ => self.routes.binary_search_by_key(dst, |r| r.0).ok()?,
        };
        self.next.set(i + 1);
        self.routes.get(i).and_then(|r| r.1)
    }

    /// Never asked: the full comparison is the sync's own (`Reconciler::take_full`).
    fn each(&self, _: &mut dyn FnMut(Prefix, RouteKind)) {}
}

/// The kernel route a prefix wants, as `kube-bgp explain` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum WantedRoute {
    Via(IpAddr),
    /// Through the overlay tunnel to `remote`: its name and ifindex once made.
    Tunnel {
        remote: IpAddr,
        link: Option<(String, u32)>,
    },
}

/// What the kernel side knows and wants for one prefix (`KernelRoutes::explain`).
#[derive(Clone, Debug)]
pub(crate) struct KernelView {
    /// kube-bgp's route for the prefix in the main table, as last seen.
    pub(crate) installed: Option<RouteKind>,
    /// The route wanted now, or why none.
    pub(crate) wanted: Result<WantedRoute, NoKernelRoute>,
    /// The last failure to install it, as logged.
    pub(crate) failure: Option<String>,
    /// Deletions are held by the restart hold.
    pub(crate) held: bool,
}

impl RouteCtx {
    /// The route a pass would plan, for `explain`: the same decision (`route_for`),
    /// reading the tunnels made so far (`links`). A kernel that cannot make tunnels at
    /// all gives what a pass falls back to, named as a missing tunnel (the overlay is
    /// on, it is the tunnel that cannot be).
    fn wanted(
        &self,
        links: &OverlayLinks,
        p: Prefix,
        nh: IpAddr,
    ) -> Result<WantedRoute, NoKernelRoute> {
        let on_subnet = self.connected.iter().any(|s| s.contains_addr(&nh));
        let overlay = Overlay {
            enabled: self.overlay,
            full: self.overlay_full,
        };
        match route_for(p, nh, on_subnet, self.node_addrs.contains(&nh), overlay) {
            Choice::Via => Ok(WantedRoute::Via(nh)),
            Choice::None(why) => Err(why),
            Choice::Tunnel if links.unsupported() => match on_subnet {
                true => Ok(WantedRoute::Via(nh)),
                false => Err(NoKernelRoute::TunnelUnavailable),
            },
            Choice::Tunnel => match links.tunnel_state(&nh) {
                (Some(link), _) => Ok(WantedRoute::Tunnel {
                    remote: nh,
                    link: Some(link),
                }),
                (None, Some(_)) if on_subnet => Ok(WantedRoute::Via(nh)),
                (None, Some(_)) => Err(NoKernelRoute::TunnelUnavailable),
                (None, None) => Ok(WantedRoute::Tunnel {
                    remote: nh,
                    link: None,
                }),
            },
        }
    }
}

pub(crate) struct KernelRoutes {
    /// The reconciler, and through it the kernel port: the writer that sends the
    /// batches on its own thread (or none: sent on the daemon thread) and the change
    /// subscription (`None`: netlink unavailable).
    rec: Option<Reconciler>,
    /// Passes whose batches the writer has, oldest first.
    in_flight: VecDeque<Pass>,
    ctx: RouteCtx,
    /// The tunnels, FoU ports and table-77 rules.
    links: OverlayLinks,
    /// Next hops whose routes are not installed, logged once each (not once per prefix:
    /// a million prefixes behind one unusable next hop are one line).
    logged_unroutable: BTreeSet<IpAddr>,
    /// This host's interface addresses (import safety: never a host route to them).
    local_addrs: BTreeSet<IpAddr>,
    /// Connected subnets or local addresses changed since the daemon last asked.
    addrs_changed: bool,
    /// A full comparison's walk over the Loc-RIB, while it lasts.
    walk: Option<RibWalk>,
    pod_cidrs: Vec<Prefix>,
    graceful_restart: bool,
    adopted: usize,
    /// Routes of an earlier run are not deleted until this releases (every mode).
    hold: Option<RestartHold>,
    /// The hold has said (once) that BGP is not running and when the routes will go.
    hold_told_without_bgp: bool,
    /// The local pod CIDRs whose earlier-run rules were last removed while BGP was not
    /// running and nothing was held (`without_bgp`), so the removal is not repeated.
    rules_cleared_for: Vec<Prefix>,
    dirty: bool,
    /// When the oldest change not yet in the kernel arrived (bounds the deferral).
    dirty_since: Option<Instant>,
    /// Earliest start of the next pass: previous start + max(MIN_GAP, its duration).
    next_pass: Option<Instant>,
    resync_period: Duration,
    next_resync: Option<Instant>,
    logged_refused: BTreeSet<Prefix>,
    /// Failures already logged (prefix -> "op: error"): a route that keeps failing (e.g.
    /// another protocol holds the prefix) is retried every second but logged once.
    logged_failures: BTreeMap<Prefix, String>,
    /// Prefixes whose route through a tunnel failed (another program's route holds the
    /// prefix, say), with the tunnel's ifindex: the tunnel stays for their retries.
    retrying_tunnels: BTreeMap<Prefix, u32>,
    pub(crate) stats: RouteStats,
}

impl KernelRoutes {
    /// Over the host's kernel: `waker` wakes the daemon's loop when the route writer
    /// finished a batch.
    pub(crate) fn new(cfg: &Config, waker: Option<Arc<mio::Waker>>) -> KernelRoutes {
        match NetlinkPort::open(waker) {
            Ok(port) => KernelRoutes::with_port(cfg, Box::new(port)),
            Err(e) => {
                warn!(
                    "kernel",
                    "netlink unavailable, routes will not be installed: {e}"
                );
                KernelRoutes::assemble(cfg, None)
            }
        }
    }

    /// Over `port`: the host's kernel (`new`) or a simulated one. Routes of protocol 17
    /// already there are adopted (the restart hold keeps them until it releases). The
    /// overlay's links go through the port's `link_port`.
    pub(crate) fn with_port(cfg: &Config, port: Box<dyn KernelPort>) -> KernelRoutes {
        // Deletions are held from the start in every mode: routes an earlier run left
        // stay until `RestartHold` says the API and the peers have been heard.
        let rec = match Reconciler::with_port(true, port) {
            Ok(mut r) => {
                r.set_nexthop_objects(cfg.kernel_nexthop_objects);
                Some(r)
            }
            Err(e) => {
                warn!(
                    "kernel",
                    "netlink unavailable, routes will not be installed: {e}"
                );
                None
            }
        };
        KernelRoutes::assemble(cfg, rec)
    }

    fn assemble(cfg: &Config, mut rec: Option<Reconciler>) -> KernelRoutes {
        let gr = cfg.graceful_restart.is_some();
        let overlay = cfg.enable_overlay && cfg.overlay_type != OverlayType::Never;
        let link_port = match rec.as_ref() {
            Some(r) => r.port_ref().link_port(),
            None => Box::new(HostLinks),
        };
        let links = OverlayLinks::new(cfg, overlay, link_port);
        if let Some(r) = rec.as_mut() {
            let others: Vec<u32> = links.port_id().into_iter().collect();
            if let Err(e) = r.port().ignore_senders(&others) {
                warn!(
                    "kernel",
                    "cannot filter our own route notifications ({e}); large tables will cost more"
                );
            }
        }
        let adopted = rec.as_ref().map(|r| r.installed().len()).unwrap_or(0);
        let deferral = cfg
            .graceful_restart
            .as_ref()
            .map(|g| g.deferral_time)
            .unwrap_or(crate::config::DEFAULT_GR_DEFERRAL);
        let hold = if adopted == 0 {
            // Nothing adopted, so nothing to hold: without this the hold kept every
            // route ever installed, withdrawn or not, until the release.
            if let Some(r) = rec.as_mut() {
                r.sweep();
            }
            None
        } else {
            info!(
                "kernel",
                "{}: adopted {adopted} routes left by the previous run; they stay until the API server has been listed and the peers that are up have re-sent their routes (at most {}s after the first list)",
                if gr { "graceful restart" } else { "restart" },
                deferral.as_secs()
            );
            Some(RestartHold::new(deferral))
        };
        let connected = rec
            .as_ref()
            .map(|r| r.connected().clone())
            .unwrap_or_default();
        let local_addrs = rec
            .as_ref()
            .map(|r| r.local_addrs().clone())
            .unwrap_or_default();
        KernelRoutes {
            rec,
            in_flight: VecDeque::new(),
            ctx: RouteCtx {
                node_addrs: BTreeSet::new(),
                connected,
                overlay,
                overlay_full: cfg.overlay_type == OverlayType::Full,
                local_v4: None,
                local_v6: None,
            },
            links,
            logged_unroutable: BTreeSet::new(),
            local_addrs,
            addrs_changed: false,
            walk: None,
            pod_cidrs: Vec::new(),
            graceful_restart: gr,
            adopted,
            hold,
            hold_told_without_bgp: false,
            rules_cleared_for: Vec::new(),
            dirty: true,
            dirty_since: None,
            next_pass: None,
            resync_period: cfg.injected_routes_sync_period,
            next_resync: None,
            logged_refused: BTreeSet::new(),
            logged_failures: BTreeMap::new(),
            retrying_tunnels: BTreeMap::new(),
            stats: RouteStats::default(),
        }
    }

    /// Starts the periodic re-read clock.
    pub(crate) fn start(&mut self, now: Instant) {
        self.next_resync = Some(now + self.resync_period);
    }

    /// Whether routes of an earlier run are still protected from deletion.
    pub(crate) fn holding(&self) -> bool {
        self.hold.is_some()
    }

    /// When the restart hold ends at the latest, while it holds: `Some(None)` before
    /// the API's first list (no bound runs yet), `None` once released or never held.
    pub(crate) fn hold_bound(&self) -> Option<Option<Instant>> {
        self.hold.as_ref().map(RestartHold::bound)
    }

    /// Feeds the restart hold (see `RestartHold`) with `f`: `listed` once the API's first
    /// list arrived, `bgp` while BGP runs, `peers` every configured peer. Ends the hold
    /// (the next pass deletes adopted routes that did not come back, and the tunnels
    /// they used) when it releases; when BGP is not running then, the earlier run's
    /// rules on the local pod CIDRs go too: nothing of the routing is wanted.
    fn poll_hold(&mut self, f: &HoldFacts, now: Instant) {
        let Some(h) = self.hold.as_mut() else {
            return;
        };
        let released = h.poll(f.listed, f.bgp, &f.peers, now);
        let what = if self.graceful_restart {
            "graceful restart"
        } else {
            "restart"
        };
        if released.is_none() {
            if let Some(bound) = h.bound().filter(|_| !f.bgp) {
                if !self.hold_told_without_bgp {
                    warn!(
                        "kernel",
                        "{what}: BGP is not running on this node (the problems logged say why; `kube-bgp status` lists them): the {} routes of the previous run are kept for at most {}s more, then removed with their tunnels unless BGP starts",
                        self.installed(),
                        bound.saturating_duration_since(now).as_secs()
                    );
                }
                self.hold_told_without_bgp = true;
            } else if f.bgp {
                self.hold_told_without_bgp = false;
            }
            return;
        }
        let Some(release) = released else {
            return;
        };
        match release {
            Release::Synced { waited_for, down } => info!(
                "kernel",
                "{what}: API server listed and all peers that are up re-sent their routes ({waited_for} synced, {down} down); removing adopted routes that did not come back"
            ),
            Release::Timeout if !f.bgp => warn!(
                "kernel",
                "{what}: deferral time over since the API server was listed and BGP is still not running on this node: removing the routes, tunnels and rules the previous run left"
            ),
            Release::Timeout => info!(
                "kernel",
                "{what}: deferral time over since the API server was listed; removing adopted routes that did not come back"
            ),
        }
        self.hold = None;
        if let Some(r) = self.rec.as_mut() {
            r.sweep();
        }
        self.links.check_orphans();
        if !f.bgp {
            self.sync_rules_forgetting(&f.pod_cidrs);
        }
        self.mark_dirty(now);
    }

    /// Whether this run started with routes of a previous run in the kernel (we are a
    /// restarting speaker: the R bit).
    pub(crate) fn adopted_at_start(&self) -> bool {
        self.graceful_restart && self.adopted > 0
    }

    pub(crate) fn watch_fd(&self) -> Option<std::os::unix::io::RawFd> {
        self.rec.as_ref().and_then(|r| r.port_ref().watch_fd())
    }

    /// Locally connected subnets (D5: never imported, never installed).
    pub(crate) fn connected(&self) -> Vec<Prefix> {
        self.ctx.connected.iter().copied().collect()
    }

    /// This host's interface addresses.
    pub(crate) fn local_addrs(&self) -> &BTreeSet<IpAddr> {
        &self.local_addrs
    }

    /// Whether connected subnets or local addresses changed since the last call (the
    /// import policy depends on them).
    fn take_addrs_changed(&mut self) -> bool {
        std::mem::take(&mut self.addrs_changed)
    }

    /// The kernel side of one prefix (for `kube-bgp explain`): read-only, bounded.
    pub(crate) fn explain(&self, prefix: &Prefix, rib: Option<&Rib>) -> KernelView {
        let installed = self.rec.as_ref().and_then(|r| r.installed().get(prefix));
        let wanted = match rib.and_then(|r| r.best_next_hop(prefix)) {
            _ if self.rec.is_none() => Err(NoKernelRoute::NoNetlink),
            None => Err(NoKernelRoute::NoBestPath),
            Some((None, _)) => Err(NoKernelRoute::LocalRoute),
            Some((Some(_), nh)) if nh.is_unspecified() => Err(NoKernelRoute::NoBestPath),
            // The reconciler never touches a prefix equal to a connected subnet.
            Some(_) if self.ctx.connected.contains(prefix) => Err(NoKernelRoute::ConnectedSubnet),
            Some((Some(_), nh)) => self.ctx.wanted(&self.links, *prefix, nh),
        };
        KernelView {
            installed,
            wanted,
            failure: self.logged_failures.get(prefix).cloned(),
            held: self.hold.is_some(),
        }
    }

    /// Number of our routes in the kernel.
    pub(crate) fn installed(&self) -> usize {
        self.rec.as_ref().map(|r| r.installed().len()).unwrap_or(0)
    }

    /// Prefixes waiting for a reconcile pass.
    pub(crate) fn pending(&self) -> usize {
        self.rec.as_ref().map(|r| r.pending()).unwrap_or(0)
    }

    /// How many more changed prefixes the next pass can take (the daemon leaves the
    /// rest queued, compactly, in the RIB).
    fn room(&self) -> usize {
        DEFAULT_PASS_LIMIT.saturating_sub(self.pending())
    }

    /// `input_waits`: the pacing holds kernel passes while BGP input streams in (its own
    /// deadline names the end of that wait), so a pending pass is due at the latest when
    /// `MAX_DEFER` bounds the wait, not at once.
    pub(crate) fn next_deadline(&self, input_waits: bool, now: Instant) -> Option<Instant> {
        let mut d = self.next_resync;
        // Results or changes a simulated kernel holds, which nothing else announces.
        if let Some(port) = self.rec.as_ref().map(Reconciler::port_ref) {
            if port.results_waiting() || port.changes_waiting() {
                d = Some(d.map_or(now, |x| x.min(now)));
            }
        }
        // While the writer holds all the batches it may, its report wakes the loop.
        if self.dirty && !self.blocked() {
            let mut at = self.next_pass.unwrap_or(now);
            if input_waits {
                if let Some(since) = self.dirty_since {
                    at = at.max(since + MAX_DEFER);
                }
            }
            d = Some(d.map_or(at, |x| x.min(at)));
        }
        if let Some(h) = self.hold.as_ref().and_then(|h| h.next_deadline(now)) {
            d = Some(d.map_or(h, |x| x.min(h)));
        }
        d
    }

    /// Reads kernel notifications (other programs' changes; ours are filtered out);
    /// true when a reconcile pass is needed.
    pub(crate) fn on_notification(&mut self) -> bool {
        let Some(r) = self.rec.as_mut() else {
            return false;
        };
        let mut dirty = false;
        // Edge-triggered: read until the socket is empty.
        for _ in 0..64 {
            match r.port().changes(256) {
                Ok(ch) => {
                    if ch.is_empty() {
                        break;
                    }
                    if ch.links {
                        // Maybe one of our tunnels went: look at them after the pass.
                        self.links.check_orphans();
                    }
                    dirty |= r.absorb(&ch);
                }
                Err(e) => {
                    warn!("kernel", "reading route notifications: {e}");
                    r.force_resync();
                    return true;
                }
            }
        }
        dirty
    }

    pub(crate) fn request_reconcile(&mut self, now: Instant) {
        self.mark_dirty(now);
    }

    fn mark_dirty(&mut self, now: Instant) {
        if !self.dirty || self.dirty_since.is_none() {
            self.dirty_since = Some(now);
        }
        self.dirty = true;
    }

    /// Node addresses (D7: tunnels only towards cluster nodes), local addresses (tunnel
    /// sources) and local pod CIDRs (the `from <pod CIDR> lookup 77` rules).
    pub(crate) fn set_context(&mut self, plan: &Plan, _snap: &Snapshot, now: Instant) {
        let new: BTreeSet<IpAddr> = plan.pod_network.node_ips.iter().copied().collect();
        let (mut v4, mut v6) = (None, None);
        if let Some(me) = &plan.identity {
            for a in &me.listen {
                match a {
                    IpAddr::V4(_) if v4.is_none() => v4 = Some(*a),
                    IpAddr::V6(_) if v6.is_none() => v6 = Some(*a),
                    _ => {}
                }
            }
        }
        let pods: Vec<Prefix> = plan
            .originated
            .iter()
            .filter(|o| o.kind == OriginKind::PodCidr)
            .map(|o| o.prefix)
            .collect();
        let c = &mut self.ctx;
        if new != c.node_addrs || v4 != c.local_v4 || v6 != c.local_v6 {
            c.node_addrs = new;
            c.local_v4 = v4;
            c.local_v6 = v6;
            // Any prefix's route may change: compare everything at the next pass.
            if let Some(r) = self.rec.as_mut() {
                r.changed_all();
            }
            self.mark_dirty(now);
        }
        if pods != self.pod_cidrs {
            self.pod_cidrs = pods;
            self.sync_rules();
        }
    }

    /// The cluster's node addresses and this node's tunnel source, as `set_context`
    /// takes them from a plan (tests that have no plan).
    #[cfg(test)]
    pub(crate) fn set_nodes(&mut self, node_addrs: &[IpAddr], local_v4: IpAddr, now: Instant) {
        self.ctx.node_addrs = node_addrs.iter().copied().collect();
        self.ctx.local_v4 = Some(local_v4);
        if let Some(r) = self.rec.as_mut() {
            r.changed_all();
        }
        self.mark_dirty(now);
    }

    /// BGP is not running on this node (no speaker: the plan has no identity) and the
    /// local node's pod CIDRs are `pod_cidrs`: nothing of the routing is wanted. While
    /// the restart hold keeps an earlier run's routes this waits for the hold's end
    /// (`poll_hold` clears then); with nothing held, the `from <pod CIDR> lookup 77`
    /// rules an earlier run may have left go now.
    pub(crate) fn without_bgp(&mut self, pod_cidrs: &[Prefix]) {
        if self.hold.is_some() || self.rules_cleared_for == pod_cidrs {
            return;
        }
        self.rules_cleared_for = pod_cidrs.to_vec();
        self.sync_rules_forgetting(pod_cidrs);
    }

    /// Overlay on: one `from <pod CIDR> lookup 77` rule per local pod CIDR; off: none.
    fn sync_rules(&mut self) {
        self.sync_rules_forgetting(&[]);
    }

    /// `sync_rules`, also removing rules on `others` that are not wanted (rules an
    /// earlier run made, which this run does not know it has).
    fn sync_rules_forgetting(&mut self, others: &[Prefix]) {
        let want: BTreeSet<Prefix> = if self.ctx.overlay {
            self.pod_cidrs.iter().copied().collect()
        } else {
            BTreeSet::new()
        };
        let mut forget = self.pod_cidrs.clone();
        forget.extend(others.iter().filter(|p| !self.pod_cidrs.contains(p)));
        self.links.sync_rules(&want, &forget);
    }

    /// Deletes the tunnels no installed route uses and no failing route retries (a
    /// deleted node's, an earlier run's), when there is anything to delete. Not while
    /// the restart hold keeps adopted routes, nor while a full comparison waits,
    /// batches are out or changed prefixes wait (their routes may be about to use a tunnel that is not installed
    /// yet). Routes that keep failing do not hold it up: they would keep every other
    /// tunnel alive for as long as they fail.
    fn prune_tunnels(&mut self) {
        if self.hold.is_some() || !self.in_flight.is_empty() {
            return; // restart hold: adopted state stays until the sweep
        }
        let Some(rec) = self.rec.as_ref() else {
            return;
        };
        // A full comparison not run yet (the hold's sweep, say) first settles which
        // routes stay: else the orphan check would run now, keep every tunnel the
        // doomed routes still use, and not come again.
        if rec.queued() > 0 || rec.full_pending() {
            return;
        }
        let used: BTreeSet<u32> = rec
            .installed()
            .kinds()
            .filter_map(|k| match k {
                RouteKind::Dev { ifindex, .. } => Some(ifindex),
                _ => None,
            })
            .chain(self.retrying_tunnels.values().copied())
            .collect();
        if self.links.prune_due(&used) {
            self.links.prune(&used);
        }
    }

    /// Takes prefixes whose best path changed.
    fn best_changed(&mut self, prefixes: Vec<Prefix>, now: Instant) {
        if let Some(rec) = self.rec.as_mut() {
            for p in prefixes {
                rec.changed(p);
            }
        }
        self.mark_dirty(now);
    }

    /// Whether a pass may run now: the gap after the previous one is over, and BGP input
    /// is quiet or the oldest waiting change has waited `MAX_DEFER`.
    fn due(&self, now: Instant, input_pending: bool) -> bool {
        if self.next_pass.is_some_and(|t| now < t) {
            return false;
        }
        !(input_pending && self.dirty_since.is_some_and(|t| now < t + MAX_DEFER))
    }

    /// More changes wait (in the reconciler or the RIB): the next pass may start at once,
    /// and counts as due since `now`.
    fn continue_backlog(&mut self, now: Instant) {
        self.next_pass = None;
        self.mark_dirty(now);
    }

    /// Whether the reconciler still holds prefixes for later passes, or a full
    /// comparison's walk over the RIB is not over. Failed prefixes are not a backlog:
    /// they wait for the retry a second later (`after_pass`), or the next pass would
    /// follow at once and fail again, over and over.
    fn has_backlog(&self) -> bool {
        self.walk.is_some() || self.rec.as_ref().is_some_and(|r| r.queued() > 0)
    }

    /// One turn of the RIB-to-kernel sync, after the loop handled its events: takes the
    /// RIB's changed prefixes (at most what the next pass can hold, once a pass is due,
    /// in `KERNEL_ORDER`), and while a full comparison walks the Loc-RIB, the walk's
    /// next prefixes in the room left; feeds the restart hold (`hold`: given while
    /// `holding()`), runs a pass when one is due, and keeps passes coming while changes
    /// wait. `rib` is `None` before BGP runs; `input_pending`: BGP input is streaming
    /// (passes wait, `MAX_DEFER` at most).
    pub(crate) fn sync(
        &mut self,
        mut rib: Option<&mut Rib>,
        input_pending: bool,
        hold: Option<HoldFacts>,
        now: Instant,
    ) -> SyncReport {
        let mut report = SyncReport::default();
        let mut backlog = false;
        if let Some(rib) = rib.as_deref_mut() {
            // The changes stay queued in the RIB (one flag per prefix) until a pass is
            // due, and only as many as one pass sends are taken at a time: each pass's
            // netlink work is bounded (~0.1 s), so the loop serves the control socket,
            // timers and sessions between passes even while a million routes go in.
            if rib.has_best_changes() || self.walk.is_some() {
                self.request_reconcile(now);
                let room = self.room();
                if room > 0 && self.due(now, input_pending) {
                    let mut changed = rib.take_best_changed(room, KERNEL_ORDER);
                    report.best_taken = changed.len();
                    if let Some(w) = self.walk.as_mut() {
                        // A full comparison: every prefix goes through the passes again.
                        w.take(rib, room - changed.len(), &mut changed);
                        if w.done() {
                            self.walk = None;
                        }
                    }
                    self.best_changed(changed, now);
                }
                backlog = rib.has_best_changes() || self.walk.is_some();
            }
        }
        if let Some(h) = hold.filter(|_| self.holding()) {
            self.poll_hold(&h, now);
        }
        self.run(now, input_pending, rib.as_deref());
        report.addrs_changed = self.take_addrs_changed();
        if backlog || self.has_backlog() {
            // More changes wait: next pass as soon as events are handled.
            self.continue_backlog(now);
        }
        report
    }

    /// Runs a reconcile pass when one is due, asking `rib` (none before BGP runs) which
    /// route each prefix wants. `input_pending`: the speaker has unread BGP input; the
    /// pass then waits (at most `MAX_DEFER` after the oldest change).
    fn run(&mut self, now: Instant, input_pending: bool, rib: Option<&Rib>) {
        if let Some(t) = self.next_resync {
            if now >= t {
                if let Some(r) = self.rec.as_mut() {
                    r.force_resync();
                }
                self.links.check_orphans();
                self.dirty = true;
                self.next_resync = Some(now + self.resync_period);
            }
        }
        self.collect(now);
        if !self.dirty || !self.due(now, input_pending) || self.blocked() {
            self.tend_tunnels(now);
            return;
        }
        let Some(mut rec) = self.rec.take() else {
            self.dirty = false;
            return;
        };
        self.dirty = false;
        self.dirty_since = None;
        // A re-read (in `prepare`) only between passes, never while a batch is out.
        let prepared = if self.in_flight.is_empty() {
            rec.prepare()
        } else {
            Ok(())
        };
        if rec.connected() != &self.ctx.connected {
            self.ctx.connected = rec.connected().clone();
            self.addrs_changed = true;
        }
        if rec.local_addrs() != &self.local_addrs {
            self.local_addrs = rec.local_addrs().clone();
            self.addrs_changed = true;
        }
        let planned = prepared.and_then(|()| {
            let wants = self.pass_wants(&mut rec, rib);
            rec.plan(&wants)
        });
        self.next_pass = Some(now + MIN_GAP);
        let res = match (planned, rec.port_ref().has_writer()) {
            (Ok(mut pass), true) if !pass.is_empty() => {
                let job = Job {
                    requests: std::mem::take(&mut pass.requests),
                    opts: BatchOptions::default(),
                };
                match rec.port().submit(job) {
                    Ok(()) => {
                        // Finished by `collect` when the writer reports back.
                        self.in_flight.push_back(pass);
                        self.rec = Some(rec);
                        self.tend_tunnels(now);
                        return;
                    }
                    Err(e) => {
                        let covered = self.covered(&pass);
                        (rec.finish(pass, Err(e)), covered)
                    }
                }
            }
            // Nothing to send, or no writer thread: send on this thread.
            (Ok(pass), _) => {
                let mut pass = pass;
                let took = Stopwatch::start();
                let result = rec.send(&mut pass);
                pass.set_kernel_time(took.elapsed());
                let covered = self.covered(&pass);
                (rec.finish(pass, result), covered)
            }
            (Err(e), _) => (Err(e), None),
        };
        let (res, covered) = res;
        self.after_pass(res, covered.as_deref(), &mut rec, now);
        self.rec = Some(rec);
        self.tend_tunnels(now);
    }

    /// The inputs of the next pass as data, then its routes: a due full comparison
    /// first (every installed route checked against its wanted one, the changed ones
    /// queued, and a walk over the Loc-RIB started that `sync` hands to the following
    /// passes), then each prefix the pass looks at with
    /// its learned best next hop from `rib` (none before BGP runs), planned
    /// (`plan_pass`), the tunnels the plan asks for made, and the routes settled.
    fn pass_wants(&mut self, rec: &mut Reconciler, rib: Option<&Rib>) -> PassWants {
        if rec.take_full() {
            let stale: Vec<Prefix> = rec
                .installed()
                .iter()
                .filter(|&(p, have)| {
                    let want = match rib.and_then(|r| learned_next_hop(r, &p)) {
                        Some(nh) => match self.ctx.plan_route(&self.links, p, nh) {
                            PlannedRoute::Route(k) => Some(k),
                            // A tunnel still to make, or fallen back from: the pass
                            // looks at it.
                            PlannedRoute::Tunnel { .. } => return true,
                            PlannedRoute::Unroutable(..) | PlannedRoute::Nothing => None,
                        },
                        None => None,
                    };
                    want != Some(have)
                })
                .map(|(p, _)| p)
                .collect();
            for p in stale {
                rec.changed(p);
            }
            self.walk = rib.map(|r| RibWalk::new(r.loc_rib_ids(), KERNEL_ORDER));
        }
        let inputs: Vec<(Prefix, Option<IpAddr>)> = rec
            .next_looked_at()
            .into_iter()
            .map(|p| (p, rib.and_then(|r| learned_next_hop(r, &p))))
            .collect();
        let plan = plan_pass(&inputs, &self.ctx, &self.links);
        let made: BTreeMap<IpAddr, u32> = plan
            .tunnels
            .iter()
            .filter_map(|spec| self.links.make(*spec).map(|i| (spec.remote, i)))
            .collect();
        PassWants::settle(plan, &made, &mut self.logged_unroutable)
    }

    /// After planning or finishing passes: a replaced tunnel has a new ifindex, so every
    /// prefix is compared again (routes through the old one are gone or stale); tunnels
    /// no installed route uses are pruned.
    fn tend_tunnels(&mut self, now: Instant) {
        if self.links.take_replaced() {
            if let Some(r) = self.rec.as_mut() {
                r.changed_all();
            }
            self.mark_dirty(now);
        }
        self.prune_tunnels();
    }

    /// Whether a new pass must wait for the writer: two batches are out already, or the
    /// next pass needs a re-read of the kernel, which waits until none is out.
    fn blocked(&self) -> bool {
        let Some(rec) = self.rec.as_ref() else {
            return false;
        };
        self.in_flight.len() >= MAX_IN_FLIGHT || (!self.in_flight.is_empty() && !rec.can_plan())
    }

    /// Finishes the passes whose batches the writer has sent. First reads the changes
    /// a port without a socket to poll holds (a simulated kernel): on a host the loop
    /// reads them as events, before its turn collects.
    pub(crate) fn collect(&mut self, now: Instant) {
        if self
            .rec
            .as_ref()
            .is_some_and(|r| r.port_ref().changes_waiting())
            && self.on_notification()
        {
            self.request_reconcile(now);
        }
        let Some(mut rec) = self.rec.take() else {
            return;
        };
        let mut done = Vec::new();
        while let Some(d) = rec.port().try_done() {
            done.push(d);
        }
        if done.is_empty() {
            self.rec = Some(rec);
            return;
        }
        for d in done {
            let Some(mut pass) = self.in_flight.pop_front() else {
                break;
            };
            pass.set_kernel_time(d.duration);
            self.stats.writer_idle += d.idle;
            let covered = self.covered(&pass);
            let res = rec.finish(pass, d.result);
            self.after_pass(res, covered.as_deref(), &mut rec, now);
        }
        self.rec = Some(rec);
        self.tend_tunnels(now);
    }

    /// The prefixes `pass` operates on, sorted, when some route failure is remembered
    /// (only then does `log_failures` need them; a pass holds up to 16k operations).
    fn covered(&self, pass: &Pass) -> Option<Vec<Prefix>> {
        if self.logged_failures.is_empty() && self.retrying_tunnels.is_empty() {
            return None;
        }
        let mut v: Vec<Prefix> = pass.ops().iter().map(|o| o.prefix()).collect();
        v.sort_unstable();
        Some(v)
    }

    /// Statistics, logs and the next pass's timing after a pass finished. `covered`:
    /// the pass's prefixes (see `covered`).
    fn after_pass(
        &mut self,
        res: Result<ReconcileStats, NetlinkError>,
        covered: Option<&[Prefix]>,
        rec: &mut Reconciler,
        now: Instant,
    ) {
        match res {
            Ok(st) => {
                self.stats.passes += 1;
                self.stats.added += st.added as u64;
                self.stats.replaced += st.replaced as u64;
                self.stats.deleted += st.deleted as u64;
                self.stats.failed += st.failed as u64;
                self.stats.last_duration = st.duration;
                self.stats.sync_time.observe(st.duration);
                if st.added + st.replaced + st.deleted > 0 {
                    debug!(
                        "kernel",
                        "reconciled: +{} ~{} -{} in {:?} (netlink {:?}, writer idle so far {:?}){}{}",
                        st.added,
                        st.replaced,
                        st.deleted,
                        st.duration,
                        st.kernel,
                        self.stats.writer_idle,
                        if st.resynced { ", after a re-read" } else { "" },
                        if st.full { ", full comparison" } else { "" }
                    );
                }
                for p in &st.refused {
                    if self.logged_refused.insert(*p) {
                        warn!(
                            "kernel",
                            "{p} not installed: it is a locally connected subnet (D5)"
                        );
                    }
                }
                log_failures(&mut self.logged_failures, &st.failures, covered, |p| {
                    rec.installed().get(p).is_some()
                });
                if let Some(c) = covered {
                    self.retrying_tunnels
                        .retain(|p, _| c.binary_search(p).is_err());
                }
                for f in &st.failures {
                    if let Op::Add(r) | Op::Replace(r) = f.op {
                        if let RouteKind::Dev { ifindex, .. } = r.kind {
                            self.retrying_tunnels.insert(r.dst, ifindex);
                        }
                    }
                }
                if st.more {
                    self.continue_backlog(now);
                } else if st.failed > 0 {
                    // Retry soon: a next hop may become reachable.
                    self.mark_dirty(now);
                    self.next_pass = Some(now + Duration::from_secs(1));
                }
            }
            Err(e) => {
                warn!("kernel", "reconcile failed: {e}; retrying");
                rec.force_resync();
                self.mark_dirty(now);
                self.next_pass = Some(now + Duration::from_secs(1));
            }
        }
    }
}

/// Logs each failing route once (and once when it recovers); `logged` remembers what
/// was logged for which prefix. A remembered prefix is forgotten only when this pass
/// operated on it (`covered`, sorted) without failing: with two batches in flight, a
/// pass that did not touch a still-failing prefix says nothing about it.
fn log_failures(
    logged: &mut BTreeMap<Prefix, String>,
    failures: &[RouteFailure],
    covered: Option<&[Prefix]>,
    installed: impl Fn(&Prefix) -> bool,
) {
    let failing: BTreeSet<Prefix> = failures.iter().map(|f| f.op.prefix()).collect();
    let covered = covered.unwrap_or_default();
    let settled = |p: &Prefix| !failing.contains(p) && covered.binary_search(p).is_ok();
    for p in logged.keys().filter(|p| settled(p)) {
        if installed(p) {
            info!("kernel", "{p} installed after earlier failures");
        }
    }
    logged.retain(|p, _| !settled(p));
    let mut shown = 0;
    for f in failures {
        let what = format!("{}: {}", f.op.name(), f.error);
        if logged.get(&f.op.prefix()) == Some(&what) {
            continue;
        }
        if logged.len() < MAX_LOGGED_FAILURES {
            logged.insert(f.op.prefix(), what);
        }
        shown += 1;
        if shown <= 5 {
            warn!(
                "kernel",
                "{} {} failed: {}; retrying every second",
                f.op.name(),
                f.op.prefix(),
                f.error
            );
        }
    }
    if shown > 5 {
        warn!("kernel", "... and {} more route failures", shown - 5);
    }
}

/// Overlay settings that decide tunnels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Overlay {
    pub(crate) enabled: bool,
    /// `--overlay-type=full`: tunnel even to on-subnet nodes.
    pub(crate) full: bool,
}

/// What kind of kernel route a learned best path gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Choice {
    /// `dst via nexthop` (next hop on a connected subnet).
    Via,
    /// `dst dev tun-…` through an overlay tunnel to a cluster node.
    Tunnel,
    /// No kernel route (why).
    None(NoKernelRoute),
}

/// Why a prefix gets no kernel route from kube-bgp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NoKernelRoute {
    /// No accepted path.
    NoBestPath,
    /// The best path is this node's own (its pod CIDR, a VIP).
    LocalRoute,
    /// The prefix equals a connected subnet: the kernel's own route stays (D5).
    ConnectedSubnet,
    /// The next hop is of another address family than the prefix.
    FamilyMismatch,
    /// Off-subnet next hop and overlay disabled.
    OffSubnetOverlayOff,
    /// Off-subnet next hop that is no cluster node: no tunnel to it (D7).
    OffSubnetNotNode,
    /// A tunnel was wanted but could not be made, and the next hop is off-subnet.
    TunnelUnavailable,
    /// No netlink: kube-bgp installs no routes at all.
    NoNetlink,
}

impl NoKernelRoute {
    /// Short name (JSON field).
    pub(crate) fn label(self) -> &'static str {
        match self {
            NoKernelRoute::NoBestPath => "no-best-path",
            NoKernelRoute::LocalRoute => "local-route",
            NoKernelRoute::ConnectedSubnet => "connected-subnet",
            NoKernelRoute::FamilyMismatch => "family-mismatch",
            NoKernelRoute::OffSubnetOverlayOff => "off-subnet-overlay-off",
            NoKernelRoute::OffSubnetNotNode => "off-subnet-not-a-node",
            NoKernelRoute::TunnelUnavailable => "tunnel-unavailable",
            NoKernelRoute::NoNetlink => "no-netlink",
        }
    }
}

impl std::fmt::Display for NoKernelRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NoKernelRoute::NoBestPath => "no accepted path",
            NoKernelRoute::LocalRoute => "the best path is this node's own route",
            NoKernelRoute::ConnectedSubnet => {
                "it is a locally connected subnet: the kernel's connected route is kept (D5)"
            }
            NoKernelRoute::FamilyMismatch => "next hop is of another address family",
            NoKernelRoute::OffSubnetOverlayOff => {
                "next hop is not on a connected subnet and overlay is disabled"
            }
            NoKernelRoute::OffSubnetNotNode => {
                "next hop is not on a connected subnet and is not a cluster node (no tunnel to external routers, D7)"
            }
            NoKernelRoute::TunnelUnavailable => {
                "next hop is not on a connected subnet and no tunnel could be made"
            }
            NoKernelRoute::NoNetlink => "netlink is unavailable: no routes are installed",
        })
    }
}

/// kube-router's route injection with D7: tunnel when overlay is on and (full, or the next hop is
/// off-subnet) — but only towards cluster nodes; otherwise `via` when the next hop is on
/// a connected subnet; otherwise nothing.
pub(crate) fn route_for(
    p: Prefix,
    nh: IpAddr,
    on_subnet: bool,
    is_node: bool,
    overlay: Overlay,
) -> Choice {
    if p.afi() != crate::prefix::Afi::of(&nh) {
        return Choice::None(NoKernelRoute::FamilyMismatch);
    }
    if overlay.enabled && (overlay.full || !on_subnet) && is_node {
        return Choice::Tunnel;
    }
    if on_subnet {
        return Choice::Via;
    }
    if !overlay.enabled {
        Choice::None(NoKernelRoute::OffSubnetOverlayOff)
    } else {
        Choice::None(NoKernelRoute::OffSubnetNotNode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_remembered_until_a_pass_that_touched_it_succeeds() {
        let bad = p("10.244.3.0/24");
        let other = p("10.244.4.0/24");
        let fail = |pr: Prefix| RouteFailure {
            op: crate::kernel::Op::Add(crate::kernel::KernelRoute::via(pr, ip("10.0.0.2"))),
            error: crate::kernel::netlink::Errno {
                errno: libc::EEXIST,
                msg: None,
            },
        };
        let mut logged = BTreeMap::new();
        log_failures(&mut logged, &[fail(bad)], Some(&[bad]), |_| false);
        assert!(logged.contains_key(&bad));
        // A pass (the other batch in flight) that did not touch it: still remembered.
        log_failures(&mut logged, &[], Some(&[other]), |_| false);
        log_failures(&mut logged, &[], None, |_| false);
        assert!(
            logged.contains_key(&bad),
            "forgotten by a pass that never touched it"
        );
        // The same failure again: remembered once, not logged again.
        log_failures(&mut logged, &[fail(bad)], Some(&[bad]), |_| false);
        assert_eq!(logged.len(), 1);
        // A pass that touched it without failing: forgotten.
        log_failures(&mut logged, &[], Some(&[bad, other]), |q| *q == bad);
        assert!(logged.is_empty());
    }

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }
    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    const ON: Overlay = Overlay {
        enabled: true,
        full: false,
    };
    const FULL: Overlay = Overlay {
        enabled: true,
        full: true,
    };
    const OFF: Overlay = Overlay {
        enabled: false,
        full: false,
    };

    #[test]
    fn on_subnet_next_hops_get_via_unless_full_overlay_to_a_node() {
        let (pfx, nh) = (p("10.244.2.0/24"), ip("10.0.0.2"));
        assert_eq!(route_for(pfx, nh, true, true, ON), Choice::Via);
        assert_eq!(route_for(pfx, nh, true, true, OFF), Choice::Via);
        assert_eq!(route_for(pfx, nh, true, true, FULL), Choice::Tunnel);
        // An external router on the subnet: via, even with overlay full (D7).
        assert_eq!(route_for(pfx, nh, true, false, FULL), Choice::Via);
    }

    #[test]
    fn off_subnet_next_hops_tunnel_only_to_nodes() {
        let (pfx, nh) = (p("10.244.3.0/24"), ip("192.0.2.3"));
        assert_eq!(route_for(pfx, nh, false, true, ON), Choice::Tunnel);
        assert_eq!(
            route_for(pfx, nh, false, false, ON),
            Choice::None(NoKernelRoute::OffSubnetNotNode)
        );
        assert!(NoKernelRoute::OffSubnetNotNode.to_string().contains("D7"));
        assert_eq!(
            route_for(pfx, nh, false, true, OFF),
            Choice::None(NoKernelRoute::OffSubnetOverlayOff)
        );
    }

    /// A node at 10.0.0.1 on 10.0.0.0/24 with the subnet overlay on, two nodes (one on the
    /// subnet, one in another), and its overlay links (none made yet).
    fn overlay_fixture() -> (RouteCtx, OverlayLinks) {
        let cfg = match crate::config::parse_daemon_args(vec!["--enable-overlay=true".into()]) {
            Ok(crate::config::DaemonAction::Run { config, .. }) => config,
            _ => panic!("flags"),
        };
        let ctx = RouteCtx {
            node_addrs: [ip("10.0.0.2"), ip("192.0.2.3")].into_iter().collect(),
            connected: [p("10.0.0.0/24")].into_iter().collect(),
            overlay: true,
            overlay_full: false,
            local_v4: Some(ip("10.0.0.1")),
            local_v6: None,
        };
        (ctx, OverlayLinks::new(&cfg, true, Box::new(HostLinks)))
    }

    /// The route explain shows is `route_for`'s choice, read without making tunnels.
    #[test]
    fn explained_route_follows_the_choice_without_making_tunnels() {
        let (mut ctx, links) = overlay_fixture();
        let pfx = p("10.244.2.0/24");
        assert_eq!(
            ctx.wanted(&links, pfx, ip("10.0.0.2")),
            Ok(WantedRoute::Via(ip("10.0.0.2")))
        );
        assert_eq!(
            ctx.wanted(&links, pfx, ip("192.0.2.3")),
            Ok(WantedRoute::Tunnel {
                remote: ip("192.0.2.3"),
                link: None
            }),
            "a node in another subnet: a tunnel, not made by asking"
        );
        assert_eq!(links.tunnel_state(&ip("192.0.2.3")), (None, None));
        assert_eq!(
            ctx.wanted(&links, pfx, ip("198.51.100.1")),
            Err(NoKernelRoute::OffSubnetNotNode)
        );
        ctx.overlay = false;
        assert_eq!(
            ctx.wanted(&links, pfx, ip("192.0.2.3")),
            Err(NoKernelRoute::OffSubnetOverlayOff)
        );
        assert_eq!(
            ctx.wanted(&links, p("fd00:244::/64"), ip("10.0.0.2")),
            Err(NoKernelRoute::FamilyMismatch)
        );
        for r in [
            NoKernelRoute::NoBestPath,
            NoKernelRoute::LocalRoute,
            NoKernelRoute::ConnectedSubnet,
            NoKernelRoute::TunnelUnavailable,
            NoKernelRoute::NoNetlink,
        ] {
            assert!(!r.label().is_empty() && !r.to_string().is_empty());
        }
    }

    /// A pass plans from data: the tunnels it needs are asked for once per remote, not
    /// made; the routes through them are settled with what was made, and fall back to
    /// what the underlay allows when a tunnel could not be made.
    #[test]
    fn a_pass_asks_for_its_tunnels_and_settles_routes_on_the_outcome() {
        let (mut ctx, links) = overlay_fixture();
        let inputs = [
            (p("10.244.2.0/24"), Some(ip("10.0.0.2"))),
            (p("10.244.3.0/24"), Some(ip("192.0.2.3"))),
            (p("10.244.4.0/24"), Some(ip("192.0.2.3"))),
            (p("10.244.5.0/24"), None),
            (p("10.244.6.0/24"), Some(ip("198.51.100.1"))),
        ];
        let spec = TunnelSpec {
            local: ip("10.0.0.1"),
            remote: ip("192.0.2.3"),
            encap: links.encap(),
        };
        let plan = plan_pass(&inputs, &ctx, &links);
        assert_eq!(plan.tunnels, vec![spec], "one tunnel per remote");
        assert_eq!(
            plan.routes[0].1,
            PlannedRoute::Route(RouteKind::Via(ip("10.0.0.2")))
        );
        assert_eq!(
            plan.routes[1].1,
            PlannedRoute::Tunnel {
                spec,
                on_subnet: false
            }
        );
        assert_eq!(plan.routes[3].1, PlannedRoute::Nothing);
        assert_eq!(
            plan.routes[4].1,
            PlannedRoute::Unroutable(NoKernelRoute::OffSubnetNotNode, ip("198.51.100.1"))
        );
        assert_eq!(links.made(&spec), None, "planning made no tunnel");

        let mut logged = BTreeSet::new();
        let made: BTreeMap<IpAddr, u32> = [(ip("192.0.2.3"), 7)].into_iter().collect();
        let wants = PassWants::settle(plan_pass(&inputs, &ctx, &links), &made, &mut logged);
        let dev = Some(RouteKind::Dev {
            ifindex: 7,
            src: Some(ip("10.0.0.1")),
        });
        assert_eq!(wants.route(&p("10.244.3.0/24")), dev);
        assert_eq!(wants.route(&p("10.244.4.0/24")), dev);
        assert_eq!(
            wants.route(&p("10.244.2.0/24")),
            Some(RouteKind::Via(ip("10.0.0.2")))
        );
        assert_eq!(wants.route(&p("10.244.5.0/24")), None);
        assert_eq!(wants.route(&p("10.244.6.0/24")), None);
        assert_eq!(wants.route(&p("10.244.9.0/24")), None, "not looked at");
        assert!(logged.contains(&ip("198.51.100.1")));

        // The tunnel could not be made: off-subnet routes get none, logged once.
        let failed = PassWants::settle(
            plan_pass(&inputs, &ctx, &links),
            &BTreeMap::new(),
            &mut logged,
        );
        assert_eq!(failed.route(&p("10.244.3.0/24")), None);
        assert!(logged.contains(&ip("192.0.2.3")));
        // With --overlay-type=full an on-subnet node's tunnel that failed: via.
        ctx.overlay_full = true;
        let plan = plan_pass(&inputs[..1], &ctx, &links);
        assert_eq!(plan.tunnels.len(), 1);
        let wants = PassWants::settle(plan, &BTreeMap::new(), &mut logged);
        assert_eq!(
            wants.route(&p("10.244.2.0/24")),
            Some(RouteKind::Via(ip("10.0.0.2")))
        );
    }

    /// A full comparison's walk hands every Loc-RIB prefix over exactly once, a
    /// bounded number per call, bit-reversed spread over the table.
    #[test]
    fn rib_walk_hands_every_prefix_over_once_in_bounded_slices() {
        let mut rib = Rib::new(
            crate::bgp::rib::RibConfig {
                router_id: std::net::Ipv4Addr::new(10, 0, 0, 1),
                cluster_id: None,
            },
            Box::new(crate::bgp::rib::AcceptAll),
        );
        let all: BTreeSet<Prefix> = (0..1000u32)
            .map(|i| p(&format!("10.{}.{}.0/24", i / 256, i % 256)))
            .collect();
        for q in &all {
            rib.originate(*q, crate::bgp::types::Attrs::default());
        }
        for order in [ScanOrder::BitReversed, ScanOrder::Id] {
            let mut walk = RibWalk::new(rib.loc_rib_ids(), order);
            let mut got = Vec::new();
            let mut calls = 0;
            while !walk.done() {
                let before = got.len();
                walk.take(&rib, 100, &mut got);
                assert!(got.len() - before <= 100);
                calls += 1;
                assert!(calls < 100, "the walk ends");
            }
            assert_eq!(got.len(), all.len(), "each prefix once");
            assert_eq!(got.iter().copied().collect::<BTreeSet<_>>(), all);
            // Bit-reversed: the first slice spans the table; by id: its first tenth.
            let spread = got[..100].iter().any(|q| *q > p("10.2.0.0/24"));
            assert_eq!(spread, order == ScanOrder::BitReversed);
        }
    }

    #[test]
    fn family_mismatch_is_never_installed() {
        assert_eq!(
            route_for(p("fd00:244:2::/64"), ip("10.0.0.2"), true, true, ON),
            Choice::None(NoKernelRoute::FamilyMismatch)
        );
    }
}
