//! From best paths to kernel routes: the daemon-side glue of `kernel::Reconciler`.
//!
//! Owns the desired kernel route of every learned best path (kube-router §4.2: `via`
//! the next hop when it is on a connected subnet; otherwise an overlay tunnel towards
//! cluster nodes only (D7) when overlay is on, else nothing), when reconcile passes run
//! (on every change, on kernel notifications, and every `--injected-routes-sync-period`
//! as a safety net), and the graceful-restart hold on adopted routes (D8).
//!
//! Pass scheduling: a pass is a full diff of the desired and known kernel tables plus a
//! blocking netlink batch, so while UPDATEs stream in (`input_pending`) passes are
//! deferred, for at most `MAX_DEFER`: the BGP input is not starved by the kernel, and a
//! burst of N changes costs a few passes rather than one O(table) diff per 20 ms. The
//! daemon hands the RIB's changes over in bounded slices when a pass is `due`. Each
//! slice's own notifications overflow the change subscription (ENOBUFS); the full
//! re-read that an overflow calls for is done once the backlog is drained, not before
//! every slice (the known state already has our own changes from the batch results).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::bgp::rib::BestInfo;
use crate::bgp::types::Prefix;
use crate::cluster::Plan;
use crate::cluster::adverts::OriginKind;
use crate::config::{Config, OverlayType};
use crate::kernel::netlink::Netlink;
use crate::kernel::tunnel::{self, TunnelError};
use crate::kernel::{KernelRoute, Reconciler, RouteKind, Watch};
use crate::kube::snapshot::Snapshot;
use crate::{debug, info, warn};

use super::speaker::Speaker;

/// Least time between two reconcile passes (coalesces bursts of best-path changes).
const MIN_GAP: Duration = Duration::from_millis(20);
/// Longest a due pass waits for the BGP input to drain.
const MAX_DEFER: Duration = Duration::from_secs(2);

/// Totals for metrics.
#[derive(Clone, Debug, Default)]
pub struct RouteStats {
    pub passes: u64,
    pub added: u64,
    pub replaced: u64,
    pub deleted: u64,
    pub failed: u64,
    pub last_duration: Duration,
    /// kube-router's `host_routes_sync_time`.
    pub sync_time: crate::ops::http::prom::Histogram,
}

pub struct KernelRoutes {
    rec: Option<Reconciler>,
    watch: Option<Watch>,
    /// Learned best paths that did not get a plain `via` route (tunnel routes, or no
    /// route at all): prefix -> next hop. Paths with a `via` route are not kept here:
    /// the reconciler's desired set already holds them (one copy of a 1M table, not two).
    other: BTreeMap<Prefix, IpAddr>,
    node_addrs: HashSet<IpAddr>,
    overlay: bool,
    overlay_full: bool,
    /// Second netlink handle for links, table 77 and rules (tunnels).
    links: Option<Netlink>,
    /// Tunnels in use: remote next hop -> ifindex.
    tunnels: BTreeMap<IpAddr, u32>,
    tunnels_unsupported: bool,
    local_v4: Option<IpAddr>,
    local_v6: Option<IpAddr>,
    pod_cidrs: Vec<Prefix>,
    rules: BTreeSet<Prefix>,
    graceful_restart: bool,
    adopted: usize,
    deferral: Duration,
    hold_until: Option<Instant>,
    dirty: bool,
    /// The daemon still holds best-path changes for later passes (a burst).
    backlog: bool,
    /// Notifications were lost during a burst: re-read the kernel once it is over.
    deferred_resync: bool,
    /// When the oldest change not yet in the kernel arrived (bounds the deferral).
    dirty_since: Option<Instant>,
    /// Earliest start of the next pass: previous start + max(MIN_GAP, its duration).
    next_pass: Option<Instant>,
    resync_period: Duration,
    next_resync: Option<Instant>,
    logged_refused: BTreeSet<Prefix>,
    logged_unroutable: BTreeSet<Prefix>,
    /// Failures already logged (prefix -> "op: error"): a route that keeps failing (e.g.
    /// another protocol holds the prefix) is retried every second but logged once.
    logged_failures: BTreeMap<Prefix, String>,
    pub stats: RouteStats,
}

impl KernelRoutes {
    pub fn new(cfg: &Config) -> KernelRoutes {
        let gr = cfg.graceful_restart.is_some();
        let rec = match Reconciler::new(gr) {
            Ok(r) => Some(r),
            Err(e) => {
                warn!(
                    "kernel",
                    "netlink unavailable, routes will not be installed: {e}"
                );
                None
            }
        };
        let watch = match Watch::open() {
            Ok(w) => Some(w),
            Err(e) => {
                warn!("kernel", "route change notifications unavailable: {e}");
                None
            }
        };
        let adopted = rec.as_ref().map(|r| r.actual().len()).unwrap_or(0);
        let mut rec = rec;
        if adopted == 0 {
            // Nothing adopted, so nothing to hold: without this the hold (ended only by
            // the post-restart sweep, which never comes) kept every route ever
            // installed, withdrawn or not, for the life of the process.
            if let Some(r) = rec.as_mut() {
                r.sweep();
            }
        }
        if gr && adopted > 0 {
            info!(
                "kernel",
                "graceful restart: adopted {adopted} routes left by the previous run; they stay until peers re-send them or the deferral timer ends"
            );
        }
        KernelRoutes {
            rec,
            watch,
            other: BTreeMap::new(),
            node_addrs: HashSet::new(),
            overlay: cfg.enable_overlay && cfg.overlay_type != OverlayType::Never,
            overlay_full: cfg.overlay_type == OverlayType::Full,
            links: Netlink::open().ok(),
            tunnels: BTreeMap::new(),
            tunnels_unsupported: false,
            local_v4: None,
            local_v6: None,
            pod_cidrs: Vec::new(),
            rules: BTreeSet::new(),
            graceful_restart: gr,
            adopted,
            deferral: cfg
                .graceful_restart
                .as_ref()
                .map(|g| g.deferral_time)
                .unwrap_or(Duration::from_secs(360)),
            hold_until: None,
            dirty: true,
            backlog: false,
            deferred_resync: false,
            dirty_since: None,
            next_pass: None,
            resync_period: cfg.injected_routes_sync_period,
            next_resync: None,
            logged_refused: BTreeSet::new(),
            logged_unroutable: BTreeSet::new(),
            logged_failures: BTreeMap::new(),
            stats: RouteStats::default(),
        }
    }

    /// Starts the graceful-restart hold clock.
    pub fn start(&mut self, now: Instant) {
        if self.graceful_restart && self.adopted > 0 {
            self.hold_until = Some(now + self.deferral);
        }
        self.next_resync = Some(now + self.resync_period);
    }

    /// Whether this run started with routes of a previous run in the kernel (we are a
    /// restarting speaker: the R bit).
    pub fn adopted_at_start(&self) -> bool {
        self.graceful_restart && self.adopted > 0
    }

    pub fn watch_fd(&self) -> Option<std::os::unix::io::RawFd> {
        use std::os::unix::io::AsRawFd;
        self.watch.as_ref().map(|w| w.as_raw_fd())
    }

    /// Locally connected subnets (D5: never imported, never installed).
    pub fn connected(&self) -> Vec<Prefix> {
        self.rec
            .as_ref()
            .map(|r| r.connected().iter().copied().collect())
            .unwrap_or_default()
    }

    /// Number of our routes in the kernel.
    pub fn installed(&self) -> usize {
        self.rec.as_ref().map(|r| r.actual().len()).unwrap_or(0)
    }

    /// Number of routes we want in the kernel.
    pub fn desired(&self) -> usize {
        self.rec.as_ref().map(|r| r.desired().len()).unwrap_or(0)
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        let mut d = self.next_resync;
        if self.dirty {
            let at = self.next_pass.unwrap_or_else(Instant::now);
            d = Some(d.map_or(at, |x| x.min(at)));
        }
        if let Some(h) = self.hold_until {
            d = Some(d.map_or(h, |x| x.min(h)));
        }
        d
    }

    /// Reads kernel notifications; true when a reconcile pass is needed.
    pub fn on_notification(&mut self) -> bool {
        let (Some(w), Some(r)) = (self.watch.as_mut(), self.rec.as_mut()) else {
            return false;
        };
        let mut dirty = false;
        // Edge-triggered: read until the socket is empty.
        for _ in 0..64 {
            match w.drain(256) {
                Ok(mut ch) => {
                    if ch.is_empty() {
                        break;
                    }
                    if ch.overflow && self.backlog {
                        // Most likely our own slice's notifications: re-read after the burst.
                        ch.overflow = false;
                        self.deferred_resync = true;
                        dirty = true;
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

    pub fn request_reconcile(&mut self, now: Instant) {
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
    pub fn set_context(&mut self, plan: &Plan, _snap: &Snapshot, _now: Instant) {
        let new: HashSet<IpAddr> = plan.node_addrs.iter().copied().collect();
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
        if new != self.node_addrs || v4 != self.local_v4 || v6 != self.local_v6 {
            self.node_addrs = new;
            self.local_v4 = v4;
            self.local_v6 = v6;
            self.recompute_all();
        }
        if pods != self.pod_cidrs {
            self.pod_cidrs = pods;
            self.sync_rules();
        }
    }

    /// Overlay on: one `from <pod CIDR> lookup 77` rule per local pod CIDR; off: none.
    fn sync_rules(&mut self) {
        let Some(nl) = self.links.as_mut() else {
            return;
        };
        let want: BTreeSet<Prefix> = if self.overlay {
            self.pod_cidrs.iter().copied().collect()
        } else {
            BTreeSet::new()
        };
        for p in self.rules.difference(&want).copied().collect::<Vec<_>>() {
            if let Err(e) = tunnel::remove_rule(nl, &p) {
                warn!("kernel", "removing rule from {p} lookup 77: {e}");
            }
            self.rules.remove(&p);
        }
        for p in &want {
            if !self.rules.contains(p) {
                match tunnel::ensure_rule(nl, p) {
                    Ok(()) => {
                        self.rules.insert(*p);
                    }
                    Err(e) => warn!("kernel", "adding rule from {p} lookup 77: {e}"),
                }
            }
        }
        if !self.overlay {
            for p in &self.pod_cidrs {
                let _ = tunnel::remove_rule(nl, p);
            }
        }
    }

    /// Deletes `tun-*` links of ours that no route uses (D6), and table-77 routes with them.
    fn remove_orphan_tunnels(&mut self) {
        let Some(nl) = self.links.as_mut() else {
            return;
        };
        let keep: BTreeSet<String> = self.tunnels.keys().map(tunnel::tunnel_name).collect();
        match tunnel::remove_orphans(nl, &keep) {
            Ok(gone) => {
                for name in gone {
                    info!("kernel", "removed orphaned tunnel {name}");
                }
            }
            Err(e) => debug!("kernel", "orphaned tunnels: {e}"),
        }
    }

    /// A tunnel to `nh` (created if needed); its ifindex and our source address.
    fn tunnel_to(&mut self, nh: IpAddr) -> Option<(u32, IpAddr)> {
        let local = match nh {
            IpAddr::V4(_) => self.local_v4,
            IpAddr::V6(_) => self.local_v6,
        }?;
        if let Some(idx) = self.tunnels.get(&nh) {
            return Some((*idx, local));
        }
        if self.tunnels_unsupported {
            return None;
        }
        let nl = self.links.as_mut()?;
        match tunnel::ensure_tunnel(nl, local, nh) {
            Ok(idx) => {
                if let Err(e) = tunnel::ensure_tunnel_route(nl, nh, idx) {
                    warn!("kernel", "table 77 route to {nh}: {e}");
                }
                info!("kernel", "tunnel {} to {nh} up", tunnel::tunnel_name(&nh));
                self.tunnels.insert(nh, idx);
                Some((idx, local))
            }
            Err(TunnelError::Unsupported { kind, error }) => {
                warn!(
                    "kernel",
                    "this kernel cannot create {kind} tunnels ({error}); routes to off-subnet nodes are not installed"
                );
                self.tunnels_unsupported = true;
                None
            }
            Err(e) => {
                warn!("kernel", "tunnel to {nh}: {e}");
                None
            }
        }
    }

    /// Takes the RIB's best-path changes.
    pub fn best_changed(
        &mut self,
        changes: Vec<(Prefix, Option<BestInfo>)>,
        _sp: &Speaker,
        now: Instant,
    ) {
        for (p, b) in changes {
            match b {
                Some(b) if b.peer.is_some() && !b.next_hop.is_unspecified() => {
                    self.update_one(p, Some(b.next_hop));
                }
                _ => self.update_one(p, None),
            }
        }
        self.mark_dirty(now);
    }

    fn recompute_all(&mut self) {
        let mut best: Vec<(Prefix, IpAddr)> = self.other.iter().map(|(p, n)| (*p, *n)).collect();
        if let Some(rec) = self.rec.as_ref() {
            best.extend(rec.desired().iter().filter_map(|(p, r)| match r.kind {
                RouteKind::Via(nh) => Some((*p, nh)),
                _ => None,
            }));
        }
        for (p, nh) in best {
            self.update_one(p, Some(nh));
        }
        self.dirty = true;
    }

    fn update_one(&mut self, p: Prefix, nh: Option<IpAddr>) {
        let Some(rec) = self.rec.as_mut() else {
            return;
        };
        let Some(nh) = nh else {
            rec.remove(&p);
            self.other.remove(&p);
            return;
        };
        let on_subnet = rec.connected().iter().any(|s| s.contains_addr(&nh));
        let overlay = Overlay {
            enabled: self.overlay && !self.tunnels_unsupported,
            full: self.overlay_full,
        };
        let mut choice = route_for(p, nh, on_subnet, self.node_addrs.contains(&nh), overlay);
        if choice == Choice::Tunnel {
            match self.tunnel_to(nh) {
                Some((idx, src)) => {
                    if let Some(rec) = self.rec.as_mut() {
                        rec.upsert(KernelRoute::dev(p, idx, Some(src)));
                    }
                    self.other.insert(p, nh);
                    self.logged_unroutable.remove(&p);
                    return;
                }
                // No tunnel could be made: fall back to what the underlay allows.
                None => {
                    choice = if on_subnet {
                        Choice::Via
                    } else {
                        Choice::None(
                            "next hop is not on a connected subnet and no tunnel could be made",
                        )
                    };
                }
            }
        }
        let Some(rec) = self.rec.as_mut() else {
            return;
        };
        match choice {
            Choice::Via => {
                rec.upsert(KernelRoute::via(p, nh));
                self.other.remove(&p);
                self.logged_unroutable.remove(&p);
            }
            Choice::None(why) | Choice::Unreachable(why) => {
                rec.remove(&p);
                self.other.insert(p, nh);
                if self.logged_unroutable.insert(p) {
                    debug!("kernel", "{p} via {nh} not installed: {why}");
                }
            }
            Choice::Tunnel => {}
        }
    }

    /// Forgets tunnels no best path uses any more, then deletes orphaned `tun-*` links.
    fn prune_tunnels(&mut self) {
        if self.hold_until.is_some() {
            return; // graceful restart: adopted state stays until the sweep
        }
        let used: BTreeSet<IpAddr> = self.other.values().copied().collect();
        self.tunnels.retain(|nh, _| used.contains(nh));
        self.remove_orphan_tunnels();
    }

    /// Ends the graceful-restart hold when every peer has sent End-of-RIB.
    pub fn all_peers_synced(&mut self) {
        if self.hold_until.take().is_some() {
            info!(
                "kernel",
                "graceful restart: all peers sent End-of-RIB; removing adopted routes that did not come back"
            );
            if let Some(r) = self.rec.as_mut() {
                r.sweep();
            }
            self.dirty = true;
        }
    }

    /// Whether a pass may run now: the gap after the previous one is over, and BGP input
    /// is quiet or the oldest waiting change has waited `MAX_DEFER`.
    pub fn due(&self, now: Instant, input_pending: bool) -> bool {
        if self.next_pass.is_some_and(|t| now < t) {
            return false;
        }
        !(input_pending && self.dirty_since.is_some_and(|t| now < t + MAX_DEFER))
    }

    /// More changes wait (the daemon hands them over in slices): the next pass may
    /// start at once, and counts as due since `now`.
    pub fn continue_backlog(&mut self, now: Instant) {
        self.next_pass = None;
        self.mark_dirty(now);
    }

    /// Whether the daemon still holds changes for later passes (see `continue_backlog`).
    pub fn set_backlog(&mut self, on: bool) {
        self.backlog = on;
    }

    /// Runs a reconcile pass when one is due. `input_pending`: the speaker has unread
    /// BGP input; the pass then waits (at most `MAX_DEFER` after the oldest change).
    pub fn run(&mut self, now: Instant, input_pending: bool) {
        if let Some(h) = self.hold_until {
            if now >= h {
                self.hold_until = None;
                info!(
                    "kernel",
                    "graceful restart: deferral time over; removing adopted routes that did not come back"
                );
                if let Some(r) = self.rec.as_mut() {
                    r.sweep();
                }
                self.dirty = true;
            }
        }
        if let Some(t) = self.next_resync {
            if now >= t {
                if let Some(r) = self.rec.as_mut() {
                    r.force_resync();
                }
                self.prune_tunnels();
                self.dirty = true;
                self.next_resync = Some(now + self.resync_period);
            }
        }
        if self.deferred_resync && !self.backlog && !self.dirty {
            // The burst is installed: now the one full re-read it called for.
            self.deferred_resync = false;
            if let Some(r) = self.rec.as_mut() {
                r.force_resync();
            }
            self.mark_dirty(now);
        }
        if !self.dirty || !self.due(now, input_pending) {
            return;
        }
        let Some(rec) = self.rec.as_mut() else {
            self.dirty = false;
            return;
        };
        self.dirty = false;
        self.dirty_since = None;
        let res = rec.reconcile(now);
        self.next_pass = Some(Instant::now() + MIN_GAP);
        match res {
            Ok(st) => {
                if st.resynced && !self.backlog {
                    // That pass re-read the kernel: no other re-read is owed.
                    self.deferred_resync = false;
                }
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
                        "reconciled: +{} ~{} -{} in {:?}",
                        st.added,
                        st.replaced,
                        st.deleted,
                        st.duration
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
                let failing: BTreeSet<Prefix> = st.failures.iter().map(|f| f.op.prefix()).collect();
                for (p, _) in self
                    .logged_failures
                    .iter()
                    .filter(|(p, _)| !failing.contains(p))
                {
                    if rec.desired().contains_key(p) && rec.actual().contains_key(p) {
                        info!("kernel", "{p} installed after earlier failures");
                    }
                }
                self.logged_failures.retain(|p, _| failing.contains(p));
                let mut shown = 0;
                for f in &st.failures {
                    let what = format!("{}: {}", f.op.name(), f.error);
                    if self.logged_failures.get(&f.op.prefix()) == Some(&what) {
                        continue;
                    }
                    self.logged_failures.insert(f.op.prefix(), what);
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
                if st.failed > 0 {
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

/// Overlay settings that decide tunnels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Overlay {
    pub enabled: bool,
    /// `--overlay-type=full`: tunnel even to on-subnet nodes.
    pub full: bool,
}

/// What kind of kernel route a learned best path gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    /// `dst via nexthop` (next hop on a connected subnet).
    Via,
    /// `dst dev tun-…` through an overlay tunnel to a cluster node.
    Tunnel,
    /// No kernel route; routing is left to the underlay (why).
    None(&'static str),
    /// No kernel route: the next hop cannot carry this prefix (why).
    Unreachable(&'static str),
}

/// kube-router §4.2 with D7: tunnel when overlay is on and (full, or the next hop is
/// off-subnet) — but only towards cluster nodes; otherwise `via` when the next hop is on
/// a connected subnet; otherwise nothing.
pub fn route_for(
    p: Prefix,
    nh: IpAddr,
    on_subnet: bool,
    is_node: bool,
    overlay: Overlay,
) -> Choice {
    if p.afi() != crate::bgp::types::Afi::of(&nh) {
        return Choice::Unreachable("next hop is of another address family");
    }
    if overlay.enabled && (overlay.full || !on_subnet) && is_node {
        return Choice::Tunnel;
    }
    if on_subnet {
        return Choice::Via;
    }
    if !overlay.enabled {
        Choice::None("next hop is not on a connected subnet and overlay is disabled")
    } else {
        Choice::None(
            "next hop is not on a connected subnet and is not a cluster node (no tunnel to external routers, D7)",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(
            matches!(route_for(pfx, nh, false, false, ON), Choice::None(w) if w.contains("D7"))
        );
        assert!(
            matches!(route_for(pfx, nh, false, true, OFF), Choice::None(w) if w.contains("overlay is disabled"))
        );
    }

    #[test]
    fn family_mismatch_is_never_installed() {
        assert!(matches!(
            route_for(p("fd00:244:2::/64"), ip("10.0.0.2"), true, true, ON),
            Choice::Unreachable(_)
        ));
    }
}
