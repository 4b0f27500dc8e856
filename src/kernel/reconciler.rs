//! The kernel-route reconciler owned by the daemon thread: the main table's protocol-17
//! routes brought to match what kube-bgp wants, statistics out.
//!
//! Owns: the kernel port it dumps and sends through (`port::KernelPort`), what it knows
//! to be installed (a compact `RouteTable`, kept current from batch results and other
//! programs' change notifications), the prefixes waiting for a pass, the connected
//! subnets, and the graceful-restart hold on deletions (D6, D8). Never
//! touches a route of another protocol, and never adds or removes a prefix equal to a
//! connected subnet (D5, P-13).
//!
//! It keeps no copy of the wanted routes: it looks the route of each prefix up in a
//! [`Desired`], a pure lookup (the daemon gives the routes of the prefixes the pass
//! looks at, `next_looked_at`, as data). An ordinary pass looks only at the prefixes
//! named by `changed` (O(changes)); a full comparison, after a re-read of the kernel,
//! an address change or the end of a graceful-restart hold, looks at everything (made
//! by the reconciler from `Desired::each`, or by the caller: `take_full`). A pass
//! compares at most `pass_limit` prefixes and sends at most as many operations; the
//! rest wait for the next one.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use super::addr::{connected, dump_addrs};
use super::netlink::{BatchOptions, Errno, Failure, MsgWriter, NetlinkError};
use super::nexthop::{Nexthops, NhBatch};
use super::port::{KernelPort, NetlinkPort};
use super::route::{KernelRoute, RouteKind, dump_ours_into};
use super::route_op::{Op, op_for};
use super::table::RouteTable;
use super::watch::{Changes, RouteEvent};
use crate::net::timers::Stopwatch;
use crate::prefix::Prefix;

/// Operations one pass sends by default (about a tenth of a second of kernel work).
pub(crate) const DEFAULT_PASS_LIMIT: usize = 16 * 1024;

/// The routes kube-bgp wants in the main table, as the reconciler looks them up: a pure
/// lookup (no side effects; the answer may not change during a pass).
pub trait Desired {
    /// The route wanted for `dst` now; `None`: no route of ours should exist for it.
    fn route(&self, dst: &Prefix) -> Option<RouteKind>;
    /// For a full comparison planned by the reconciler itself: calls `f` with every
    /// wanted route, in any order. A caller that holds only the routes of the prefixes
    /// a pass looks at (`Reconciler::next_looked_at`) compares everything itself instead
    /// (`Reconciler::take_full`) and never reaches this.
    fn each(&self, f: &mut dyn FnMut(Prefix, RouteKind));
}

/// A plain map is a `Desired` (tests and small tools).
impl Desired for BTreeMap<Prefix, KernelRoute> {
    fn route(&self, dst: &Prefix) -> Option<RouteKind> {
        self.get(dst).map(|r| r.kind)
    }

    fn each(&self, f: &mut dyn FnMut(Prefix, RouteKind)) {
        for (p, r) in self.iter() {
            f(*p, r.kind);
        }
    }
}

/// One route operation the kernel (or our own check) refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteFailure {
    pub op: Op,
    pub error: Errno,
}

impl std::fmt::Display for RouteFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.op.name(), self.op.route(), self.error)
    }
}

/// What one reconcile pass did, for metrics and logs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReconcileStats {
    pub added: usize,
    pub replaced: usize,
    pub deleted: usize,
    pub failed: usize,
    /// Deletions held back by graceful restart (adopted routes kept until `sweep`).
    pub held: usize,
    /// Desired prefixes equal to a connected subnet: refused, never touched.
    pub refused: Vec<Prefix>,
    /// Every failure with its cause (EEXIST: another protocol's route holds the
    /// prefix; ENETUNREACH: the next hop is not on a connected subnet; …).
    pub failures: Vec<RouteFailure>,
    /// Whether the pass started from a fresh dump of the kernel tables.
    pub resynced: bool,
    /// Whether it compared every route (not only the changed prefixes).
    pub(crate) full: bool,
    /// Prefixes still waiting after this pass (the pass limit was reached).
    pub more: bool,
    /// From planning to finish, measured by a `Stopwatch` (metrics only).
    pub(crate) duration: Duration,
    /// Of `duration`: the time spent in the kernel's netlink batch.
    pub(crate) kernel: Duration,
}

/// The prefixes of the passes in flight, each list sorted, asked about in ascending
/// order: each list's cursor only moves forward.
struct InFlightScan<'a> {
    lists: Vec<&'a [Prefix]>,
}

impl InFlightScan<'_> {
    /// Whether `p` is in one of the lists; `p` must not be below an earlier question.
    fn contains(&mut self, p: &Prefix) -> bool {
        let mut found = false;
        for l in self.lists.iter_mut() {
            // Mostly a step or two: the lists and the questions are both sorted.
            while let Some((first, rest)) = l.split_first() {
                if first >= p {
                    found |= first == p;
                    break;
                }
                *l = rest;
            }
        }
        found
    }
}

/// See the module documentation.
pub struct Reconciler {
    /// The kernel: dumps and batches sent on this thread (and, for the daemon, its
    /// writer and change subscription, which the reconciler itself never uses).
    port: Box<dyn KernelPort>,
    opts: BatchOptions,
    pass_limit: usize,
    installed: RouteTable,
    connected: BTreeSet<Prefix>,
    /// This host's own interface addresses (every family and scope).
    local_addrs: BTreeSet<std::net::IpAddr>,
    hold_deletes: bool,
    resync: bool,
    addrs_stale: bool,
    /// Prefixes whose wanted or installed route may differ (deduplicated per pass).
    pending: Vec<Prefix>,
    /// Prefixes whose last operation failed: looked at again by the next pass.
    retry: Vec<Prefix>,
    /// The next pass compares everything.
    full: bool,
    /// The caller took the full comparison (`take_full`): the next pass reports it.
    full_taken: bool,
    /// Each planned pass not yet finished: its id and its prefixes (sorted).
    in_flight: VecDeque<(u64, Vec<Prefix>)>,
    next_pass_id: u64,
    /// Nexthop objects: which our routes name, made and deleted with the passes.
    nexthops: Nexthops,
}

impl Reconciler {
    /// Opens a netlink socket and reads the kernel's current state. With
    /// `graceful_restart`, protocol-17 routes already in the kernel are adopted: they
    /// stay (and may be replaced) but are not deleted until `sweep`.
    pub fn new(graceful_restart: bool) -> Result<Reconciler, NetlinkError> {
        Reconciler::with_port(graceful_restart, Box::new(NetlinkPort::requests_only()?))
    }

    /// As `new`, over `port` (the host's kernel with the daemon's writer and
    /// subscription, or a simulated kernel).
    pub(crate) fn with_port(
        graceful_restart: bool,
        port: Box<dyn KernelPort>,
    ) -> Result<Reconciler, NetlinkError> {
        let mut r = Reconciler {
            port,
            opts: BatchOptions::default(),
            pass_limit: DEFAULT_PASS_LIMIT,
            installed: RouteTable::new(),
            connected: BTreeSet::new(),
            local_addrs: BTreeSet::new(),
            hold_deletes: graceful_restart,
            resync: true,
            addrs_stale: true,
            pending: Vec::new(),
            retry: Vec::new(),
            full: true,
            full_taken: false,
            in_flight: VecDeque::new(),
            next_pass_id: 0,
            nexthops: Nexthops::new(super::nexthop::DEFAULT_NEXTHOP_OBJECTS),
        };
        r.refresh()?;
        Ok(r)
    }

    /// Changes how batches are sent (chunk size, ACK per request).
    pub fn set_batch_options(&mut self, opts: BatchOptions) {
        self.opts = opts;
    }

    /// Whether added and replaced routes name nexthop objects (one per distinct next
    /// hop) instead of carrying their gateway or device; routes already installed in
    /// either form stay while they match. Without kernel support routes stay plain.
    pub fn set_nexthop_objects(&mut self, on: bool) {
        self.nexthops.set_wanted(on);
    }

    /// Whether new routes name nexthop objects now (wanted, and the kernel has them).
    pub fn nexthop_objects(&self) -> bool {
        self.nexthops.active()
    }

    /// The ids of our nexthop objects known to exist, ascending.
    pub fn nexthop_object_ids(&self) -> Vec<u32> {
        self.nexthops.ours().keys().copied().collect()
    }

    /// Changes how many operations one pass sends at most.
    pub fn set_pass_limit(&mut self, n: usize) {
        self.pass_limit = n.max(1);
    }

    /// The netlink port id of the request socket (its own change notifications carry it).
    pub fn port_id(&self) -> Option<u32> {
        self.port.port_id()
    }

    /// The kernel this reconciler talks to (the daemon reaches the writer and the
    /// change subscription through it).
    pub(crate) fn port(&mut self) -> &mut dyn KernelPort {
        self.port.as_mut()
    }

    /// As `port`, read-only.
    pub(crate) fn port_ref(&self) -> &dyn KernelPort {
        self.port.as_ref()
    }

    /// The wanted route for `dst` may have changed: look at it in the next pass.
    pub fn changed(&mut self, dst: Prefix) {
        self.pending.push(dst);
    }

    /// The wanted routes may have changed anywhere: the next pass compares everything.
    pub fn changed_all(&mut self) {
        self.full = true;
    }

    /// Prefixes waiting for a pass (before deduplication).
    pub fn pending(&self) -> usize {
        self.pending.len() + self.retry.len()
    }

    /// Prefixes waiting for a pass, not counting those whose last operation failed
    /// (the daemon retries those after a pause, not at once).
    pub(crate) fn queued(&self) -> usize {
        self.pending.len()
    }

    /// A full comparison is asked for (`sweep`, `changed_all`) and no pass has taken
    /// it yet: routes may be about to go.
    pub(crate) fn full_pending(&self) -> bool {
        self.full
    }

    /// Our routes as last seen in (or put into) the kernel.
    pub fn installed(&self) -> &RouteTable {
        &self.installed
    }

    pub fn connected(&self) -> &BTreeSet<Prefix> {
        &self.connected
    }

    /// This host's interface addresses, as of the last re-read.
    pub(crate) fn local_addrs(&self) -> &BTreeSet<std::net::IpAddr> {
        &self.local_addrs
    }

    /// Ends the graceful-restart hold (after End-of-RIB or the deferral timer): the
    /// next `reconcile` deletes adopted routes that are not desired.
    pub fn sweep(&mut self) {
        self.hold_deletes = false;
        self.full = true;
    }

    /// Asks for a full re-read of the kernel before the next pass (periodic safety net).
    pub(crate) fn force_resync(&mut self) {
        self.resync = true;
        self.addrs_stale = true;
    }

    /// Folds other programs' change notifications into the known state. Returns true
    /// when the kernel may now differ from what is wanted (the daemon should reconcile).
    pub fn absorb(&mut self, ch: &Changes) -> bool {
        let mut dirty = false;
        if ch.needs_resync() {
            crate::debug!(
                "kernel",
                "{}: re-reading the routing table",
                if ch.overflow {
                    "route notifications were lost"
                } else if ch.nexthops {
                    "a nexthop object of ours was deleted"
                } else if ch.by_object_id {
                    "a route was notified by its nexthop object's id only"
                } else {
                    "a link changed state"
                }
            );
            self.resync = true;
            self.addrs_stale = true;
            dirty = true;
        }
        if ch.addresses {
            crate::debug!("kernel", "an address changed: re-reading connected subnets");
            self.addrs_stale = true;
            dirty = true;
        }
        for ev in &ch.routes {
            let p = match *ev {
                RouteEvent::Added(r) | RouteEvent::Removed(r) => r.dst,
                RouteEvent::ForeignReplaced(p) => p,
            };
            if self.is_in_flight(&p) {
                // Someone else changed a prefix our batch is changing right now: which
                // came first is unknown here, so re-read once the batch is done.
                self.resync = true;
                dirty = true;
                continue;
            }
            match *ev {
                RouteEvent::Added(r) => {
                    if self.installed.get(&r.dst) != Some(r.kind) {
                        self.installed.insert(r.dst, r.kind);
                        self.pending.push(r.dst);
                        dirty = true;
                    }
                }
                RouteEvent::Removed(r) => {
                    // Only forget it if it is the route we know for that prefix.
                    if self.installed.get(&r.dst) == Some(r.kind) {
                        self.installed.remove(&r.dst);
                        self.pending.push(r.dst);
                        dirty = true;
                    }
                }
                RouteEvent::ForeignReplaced(p) => {
                    if self.installed.remove(&p).is_some() {
                        self.pending.push(p);
                        dirty = true;
                    }
                }
            }
        }
        dirty
    }

    /// Re-reads what a pass would re-read (addresses, the kernel's routes) now, so the
    /// caller can see the current connected subnets before answering `Desired` calls.
    pub(crate) fn prepare(&mut self) -> Result<(), NetlinkError> {
        self.refresh()
    }

    fn refresh(&mut self) -> Result<(), NetlinkError> {
        if self.addrs_stale {
            let addrs = dump_addrs(self.port.as_mut())?;
            let now = connected(&addrs);
            self.local_addrs = addrs.iter().map(|a| a.addr).collect();
            self.nexthops
                .set_links(addrs.iter().map(|a| (a.subnet, a.ifindex)).collect());
            self.addrs_stale = false;
            if now != self.connected {
                // Which next hops are on a connected subnet may have changed.
                self.connected = now;
                self.full = true;
            }
        }
        if self.resync {
            // Read into the emptied table: a large table is never held twice. If the
            // dump fails, `resync` stays set and no pass runs on the partial table.
            // Objects first: routes may name them by id only.
            self.nexthops.reread(self.port.as_mut())?;
            let nh = &self.nexthops;
            dump_ours_into(self.port.as_mut(), &mut self.installed, &|id| {
                nh.target(id).map(|k| (k.gateway, k.oif))
            })?;
            self.resync = false;
            self.full = true;
        }
        Ok(())
    }

    /// Queues every prefix where the installed and the wanted route differ.
    fn compare_all(&mut self, desired: &dyn Desired) {
        let installed = &self.installed;
        let pending = &mut self.pending;
        for (p, have) in installed.iter() {
            if desired.route(&p) != Some(have) {
                pending.push(p);
            }
        }
        desired.each(&mut |p, want| {
            if installed.get(&p) != Some(want) {
                pending.push(p);
            }
        });
    }

    /// One pass, synchronously: re-reads the kernel if needed, then adds, replaces and
    /// deletes our routes so that the main table holds what `desired` wants, for the
    /// changed prefixes (or all, in a full pass), at most `pass_limit` operations, on
    /// this thread. The pass's duration is measured (`ReconcileStats::duration`), never
    /// decided on.
    pub fn reconcile(&mut self, desired: &dyn Desired) -> Result<ReconcileStats, NetlinkError> {
        let mut pass = self.plan(desired)?;
        let took = Stopwatch::start();
        let result = self.port.send(&mut pass.requests, self.opts);
        pass.st.kernel = took.elapsed();
        self.finish(pass, result)
    }

    /// Sends a planned pass's requests on this thread's socket (see `plan`).
    pub(crate) fn send(&mut self, pass: &mut Pass) -> Result<Vec<Failure>, NetlinkError> {
        self.port.send(&mut pass.requests, self.opts)
    }

    /// Whether `p` is in a batch that has been planned and not finished.
    fn is_in_flight(&self, p: &Prefix) -> bool {
        self.in_flight
            .iter()
            .any(|(_, f)| f.binary_search(p).is_ok())
    }

    /// `is_in_flight` for prefixes asked in ascending order (a pass's sorted pending
    /// list): one merge over the in-flight passes' sorted prefixes instead of a binary
    /// search per prefix and pass.
    fn in_flight_scan(&self) -> InFlightScan<'_> {
        InFlightScan {
            lists: self
                .in_flight
                .iter()
                .map(|(_, f)| f.as_slice())
                .filter(|f| !f.is_empty())
                .collect(),
        }
    }

    /// Whether a pass may be planned now: a re-read of the kernel waits until every
    /// planned pass has finished (a dump must not race our own batches).
    pub(crate) fn can_plan(&self) -> bool {
        self.in_flight.is_empty() || !(self.resync || self.addrs_stale)
    }

    /// Takes a due full comparison for the caller to make (between passes only, after
    /// `prepare`): true when every wanted and every installed route must be compared;
    /// the caller then queues (`changed`) every prefix where they may differ, and the
    /// next pass reports itself as full.
    pub(crate) fn take_full(&mut self) -> bool {
        if !self.full || !self.in_flight.is_empty() || self.resync || self.addrs_stale {
            return false;
        }
        self.full = false;
        self.full_taken = true;
        true
    }

    /// The prefixes the next pass will look at, for a caller that answers `Desired`
    /// only for them: the connected subnets (refused if wanted) and, in prefix order,
    /// the first `pass_limit` prefixes waiting (changed, or failed before) that are not
    /// in a batch in flight (those wait for a later pass).
    pub(crate) fn next_looked_at(&mut self) -> Vec<Prefix> {
        self.pending.append(&mut self.retry);
        self.pending.sort_unstable();
        self.pending.dedup();
        let mut v: Vec<Prefix> = self.connected.iter().copied().collect();
        let mut in_flight = self.in_flight_scan();
        v.extend(
            self.pending
                .iter()
                .filter(|p| !in_flight.contains(p))
                .take(self.pass_limit),
        );
        v
    }

    /// Plans a pass: re-reads the kernel if needed (only when no pass is in flight, see
    /// `can_plan`), compares what `desired` wants with what is installed for the changed
    /// prefixes (or all, in a full pass) and encodes at most `pass_limit` operations.
    /// Prefixes of passes still in flight are left for a later pass, so one prefix is
    /// never in two batches at once. Send `Pass::requests` (here or on a `Writer`), then
    /// give the result to `finish`, in planning order.
    pub fn plan(&mut self, desired: &dyn Desired) -> Result<Pass, NetlinkError> {
        let mut st = ReconcileStats {
            resynced: self.resync && self.in_flight.is_empty(),
            full: std::mem::take(&mut self.full_taken),
            ..ReconcileStats::default()
        };
        if self.in_flight.is_empty() {
            self.refresh()?;
        }
        st.refused = self
            .connected
            .iter()
            .filter(|p| desired.route(p).is_some())
            .copied()
            .collect();
        if self.full && self.in_flight.is_empty() {
            self.full = false;
            st.full = true;
            self.compare_all(desired);
        }
        self.pending.append(&mut self.retry);
        // Prefix order: deterministic, and the in-flight check can binary-search. (The
        // order across passes is the caller's: the daemon takes a large change set from
        // the RIB scattered over the address space, which the kernel's trie takes
        // fastest.)
        self.pending.sort_unstable();
        self.pending.dedup();
        let mut ops = Vec::with_capacity(self.pending.len().min(self.pass_limit));
        let mut later = Vec::new();
        let mut looked = 0;
        let mut compared = 0;
        let mut in_flight = self.in_flight_scan();
        for &p in self.pending.iter() {
            // At most `pass_limit` operations, and as many prefixes compared (those of
            // `next_looked_at`).
            if ops.len() >= self.pass_limit || compared >= self.pass_limit {
                break;
            }
            looked += 1;
            if in_flight.contains(&p) {
                later.push(p);
                continue;
            }
            compared += 1;
            if self.connected.contains(&p) {
                continue; // refused (desired) or left alone (ours, not desired): P-13
            }
            let Some(op) = op_for(p, desired.route(&p), self.installed.get(&p)) else {
                continue;
            };
            if self.hold_deletes && matches!(op, Op::Delete(_)) {
                st.held += 1;
                continue;
            }
            if let Op::Add(r) | Op::Replace(r) = op {
                if let Err(e) = r.check() {
                    st.failures.push(RouteFailure {
                        op,
                        error: Errno {
                            errno: libc::EINVAL,
                            msg: Some(e.to_string()),
                        },
                    });
                    continue;
                }
            }
            ops.push(op);
        }
        self.pending.drain(..looked);
        self.pending.extend(later);
        if self.pending.is_empty() && self.pending.capacity() > 4 * self.pass_limit {
            self.pending = Vec::new();
        }
        let mut w = MsgWriter::new();
        let nh = self
            .nexthops
            .encode(&ops, &self.installed, self.in_flight.is_empty(), &mut w);
        // `ops` is in prefix order: `is_in_flight` can binary-search it.
        let id = self.next_pass_id;
        self.next_pass_id += 1;
        if !ops.is_empty() || !w.buf.is_empty() {
            self.in_flight
                .push_back((id, ops.iter().map(Op::prefix).collect()));
        }
        Ok(Pass {
            id,
            ops,
            nh,
            requests: w.take(),
            st,
            started: Stopwatch::start(),
        })
    }

    /// Applies a planned pass's outcome (`result` of sending `Pass::requests`): what
    /// went in is recorded as installed, what failed is retried by the next pass.
    /// Passes must be finished in the order they were planned.
    pub fn finish(
        &mut self,
        pass: Pass,
        result: Result<Vec<Failure>, NetlinkError>,
    ) -> Result<ReconcileStats, NetlinkError> {
        let Pass {
            id,
            ops,
            nh,
            mut st,
            started,
            ..
        } = pass;
        self.in_flight.retain(|(i, _)| *i != id);
        let failures = match result {
            Ok(f) => self.nexthops.finish(nh, f),
            Err(e) => {
                // Unknown outcome for part of the batch: trust nothing until a re-read.
                self.resync = true;
                self.full = true;
                self.retry.extend(ops.iter().map(Op::prefix));
                return Err(e);
            }
        };
        let mut failed = vec![false; ops.len()];
        // Routes whose nexthop object could not be made: sent again (plain, if the
        // kernel has no objects) by the next pass; not a failure of the route.
        for &i in &failures.retry {
            if let (Some(op), Some(slot)) = (ops.get(i), failed.get_mut(i)) {
                *slot = true;
                self.pending.push(op.prefix());
            }
        }
        if self.nexthops.take_resync() {
            self.resync = true;
            self.full = true;
        }
        for f in failures.route_failures {
            let Some(op) = ops.get(f.index) else { continue };
            if let Some(slot) = failed.get_mut(f.index) {
                *slot = true;
            }
            match op {
                // Already gone: that is what we wanted.
                Op::Delete(r) if f.error.errno == libc::ESRCH => {
                    self.installed.remove(&r.dst);
                    st.deleted += 1;
                }
                // Our route vanished between dump and replace: forget it, retry next pass.
                Op::Replace(r) if f.error.errno == libc::ENOENT => {
                    self.installed.remove(&r.dst);
                    st.failures.push(RouteFailure {
                        op: *op,
                        error: f.error,
                    });
                }
                _ => st.failures.push(RouteFailure {
                    op: *op,
                    error: f.error,
                }),
            }
        }
        for (op, bad) in ops.iter().zip(failed) {
            if bad {
                continue;
            }
            match op {
                Op::Add(r) => {
                    self.installed.insert(r.dst, r.kind);
                    st.added += 1;
                }
                Op::Replace(r) => {
                    self.installed.insert(r.dst, r.kind);
                    st.replaced += 1;
                }
                Op::Delete(r) => {
                    self.installed.remove(&r.dst);
                    st.deleted += 1;
                }
            }
        }
        // What failed is looked at again by the next pass.
        self.retry.extend(st.failures.iter().map(|f| f.op.prefix()));
        st.failed = st.failures.len();
        st.more = !self.pending.is_empty()
            || (self.in_flight.is_empty() && self.nexthops.has_unused(&self.installed));
        st.duration = started.elapsed();
        Ok(st)
    }
}

/// One planned pass: its operations and their encoded requests. See `Reconciler::plan`.
pub struct Pass {
    id: u64,
    ops: Vec<Op>,
    nh: NhBatch,
    /// The netlink requests to send, one per operation, in order.
    pub requests: Vec<u8>,
    st: ReconcileStats,
    /// Measures the pass from its planning to its finish (metrics only).
    started: Stopwatch,
}

impl Pass {
    /// The operations, in request order.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Number of operations (netlink requests).
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Records the kernel time the batch took (when it was sent elsewhere).
    pub(crate) fn set_kernel_time(&mut self, d: Duration) {
        self.st.kernel = d;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::sim::SimKernel;
    use std::net::IpAddr;

    fn p(s: &str) -> Prefix {
        s.parse().expect("prefix")
    }

    fn gw(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    fn want(prefixes: &[Prefix], via: &str) -> BTreeMap<Prefix, KernelRoute> {
        prefixes
            .iter()
            .map(|&dst| {
                let kind = RouteKind::Via(gw(via));
                (dst, KernelRoute { dst, kind })
            })
            .collect()
    }

    fn prefixes(pass: &Pass) -> Vec<Prefix> {
        pass.ops.iter().map(Op::prefix).collect()
    }

    /// The in-flight check made as one merge over sorted lists answers as a binary
    /// search per list does, whatever the lists and the questions hold.
    #[test]
    fn in_flight_scan_answers_as_a_search_does() {
        let all: Vec<Prefix> = (0..64u8).map(|i| p(&format!("10.244.{i}.0/24"))).collect();
        let a: Vec<Prefix> = all.iter().copied().step_by(3).collect();
        let b: Vec<Prefix> = all.iter().copied().skip(1).step_by(5).collect();
        let empty: Vec<Prefix> = Vec::new();
        let lists = [a.as_slice(), b.as_slice(), empty.as_slice()];
        for asked in [all.clone(), all.iter().copied().step_by(7).collect()] {
            let mut scan = InFlightScan {
                lists: lists.to_vec(),
            };
            for q in &asked {
                let searched = lists.iter().any(|l| l.binary_search(q).is_ok());
                assert_eq!(scan.contains(q), searched, "{q}");
            }
        }
    }

    /// A prefix of a batch still in flight is left for a later pass; the rest of the
    /// waiting prefixes go into the next one, in prefix order, up to the pass limit.
    #[test]
    fn prefixes_in_flight_wait_for_a_later_pass() {
        let k = SimKernel::new(gw("10.0.0.1"), p("10.0.0.0/24"));
        let mut rec = Reconciler::with_port(false, k.port()).expect("reconciler");
        rec.set_pass_limit(4);
        let all: Vec<Prefix> = (1..=9u8).map(|i| p(&format!("10.244.{i}.0/24"))).collect();
        // The initial full comparison, with nothing wanted yet.
        let none = want(&[], "10.0.0.2");
        let first = rec.plan(&none).expect("plan");
        assert!(first.ops.is_empty());
        rec.finish(first, Ok(Vec::new())).expect("finish");

        let desired = want(&all, "10.0.0.2");
        for &x in all.iter().rev() {
            rec.changed(x);
        }
        let one = rec.plan(&desired).expect("plan");
        assert_eq!(prefixes(&one), all[..4].to_vec());
        // While the first batch is out, two of its prefixes change again.
        let desired = {
            let mut d = desired;
            for x in [all[1], all[3]] {
                d.insert(
                    x,
                    KernelRoute {
                        dst: x,
                        kind: RouteKind::Via(gw("10.0.0.3")),
                    },
                );
            }
            d
        };
        rec.changed(all[3]);
        rec.changed(all[1]);
        assert_eq!(
            rec.next_looked_at(),
            [&[p("10.0.0.0/24")][..], &all[4..8]].concat(),
            "the connected subnet, then what is not in flight"
        );
        let two = rec.plan(&desired).expect("plan");
        assert_eq!(prefixes(&two), all[4..8].to_vec());
        rec.finish(one, Ok(Vec::new())).expect("finish");
        rec.finish(two, Ok(Vec::new())).expect("finish");
        let three = rec.plan(&desired).expect("plan");
        assert_eq!(prefixes(&three), vec![all[1], all[3], all[8]]);
        assert!(matches!(three.ops[0], Op::Replace(_)));
    }
}
