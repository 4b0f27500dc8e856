//! The kernel-route reconciler owned by the daemon thread: the main table's protocol-17
//! routes brought to match what kube-bgp wants, statistics out.
//!
//! Owns: what it knows to be installed (a compact `RouteTable`, kept current from batch
//! results and other programs' change notifications), the prefixes waiting for a pass,
//! the connected subnets, and the graceful-restart hold on deletions (D6, D8). Never
//! touches a route of another protocol, and never adds or removes a prefix equal to a
//! connected subnet (D5, P-13).
//!
//! It keeps no copy of the wanted routes: it asks a [`Desired`] for the route of each
//! prefix it looks at (the daemon answers from the Loc-RIB). An ordinary pass looks only
//! at the prefixes named by `changed` (O(changes)); a full pass, after a re-read of the
//! kernel, an address change or the end of a graceful-restart hold, compares everything.
//! A pass sends at most `pass_limit` operations; the rest wait for the next one.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::addr::{connected, dump_addrs};
use super::netlink::{BatchOptions, Errno, Netlink, NetlinkError};
use super::reconcile::{Op, op_for};
use super::route::{
    KernelRoute, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, RouteKind, dump_ours_into, encode_del,
    encode_new,
};
use super::table::RouteTable;
use super::watch::{Changes, RouteEvent};
use crate::bgp::types::Prefix;

/// Operations one pass sends by default (about a tenth of a second of kernel work).
pub const DEFAULT_PASS_LIMIT: usize = 16 * 1024;

/// The routes kube-bgp wants in the main table, as the reconciler asks for them.
pub trait Desired {
    /// The route wanted for `dst` now; `None`: no route of ours should exist for it.
    fn route(&mut self, dst: &Prefix) -> Option<RouteKind>;
    /// For a full pass: calls `f` with every wanted route, in any order. An
    /// implementation may instead see to it that every wanted prefix soon reaches
    /// `Reconciler::changed` (the daemon does, through the RIB's change flags, rather
    /// than list a million prefixes at once).
    fn each(&mut self, f: &mut dyn FnMut(Prefix, RouteKind));
}

/// A plain map is a `Desired` (tests and small tools).
impl Desired for BTreeMap<Prefix, KernelRoute> {
    fn route(&mut self, dst: &Prefix) -> Option<RouteKind> {
        self.get(dst).map(|r| r.kind)
    }

    fn each(&mut self, f: &mut dyn FnMut(Prefix, RouteKind)) {
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
    pub full: bool,
    /// Prefixes still waiting after this pass (the pass limit was reached).
    pub more: bool,
    pub duration: Duration,
    /// Of `duration`: the time spent in the kernel's netlink batch.
    pub kernel: Duration,
}

/// See the module documentation.
pub struct Reconciler {
    nl: Netlink,
    opts: BatchOptions,
    pass_limit: usize,
    installed: RouteTable,
    connected: BTreeSet<Prefix>,
    hold_deletes: bool,
    resync: bool,
    addrs_stale: bool,
    /// Prefixes whose wanted or installed route may differ (deduplicated per pass).
    pending: Vec<Prefix>,
    /// Prefixes whose last operation failed: looked at again by the next pass.
    retry: Vec<Prefix>,
    /// The next pass compares everything.
    full: bool,
}

impl Reconciler {
    /// Opens a netlink socket and reads the kernel's current state. With
    /// `graceful_restart`, protocol-17 routes already in the kernel are adopted: they
    /// stay (and may be replaced) but are not deleted until `sweep`.
    pub fn new(graceful_restart: bool) -> Result<Reconciler, NetlinkError> {
        let mut r = Reconciler {
            nl: Netlink::open()?,
            opts: BatchOptions::default(),
            pass_limit: DEFAULT_PASS_LIMIT,
            installed: RouteTable::new(),
            connected: BTreeSet::new(),
            hold_deletes: graceful_restart,
            resync: true,
            addrs_stale: true,
            pending: Vec::new(),
            retry: Vec::new(),
            full: true,
        };
        r.refresh()?;
        Ok(r)
    }

    /// Changes how batches are sent (chunk size, ACK per request).
    pub fn set_batch_options(&mut self, opts: BatchOptions) {
        self.opts = opts;
    }

    /// Changes how many operations one pass sends at most.
    pub fn set_pass_limit(&mut self, n: usize) {
        self.pass_limit = n.max(1);
    }

    /// The netlink port id of the request socket (its own change notifications carry it).
    pub fn port_id(&self) -> Option<u32> {
        self.nl.port_id()
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

    /// Whether the next pass has anything to look at.
    pub fn has_work(&self) -> bool {
        self.full || self.resync || self.addrs_stale || self.pending() > 0
    }

    /// Our routes as last seen in (or put into) the kernel.
    pub fn installed(&self) -> &RouteTable {
        &self.installed
    }

    pub fn connected(&self) -> &BTreeSet<Prefix> {
        &self.connected
    }

    /// Whether deletions are held for graceful restart.
    pub fn holding(&self) -> bool {
        self.hold_deletes
    }

    /// Ends the graceful-restart hold (after End-of-RIB or the deferral timer): the
    /// next `reconcile` deletes adopted routes that are not desired.
    pub fn sweep(&mut self) {
        self.hold_deletes = false;
        self.full = true;
    }

    /// Asks for a full re-read of the kernel before the next pass (periodic safety net).
    pub fn force_resync(&mut self) {
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
    pub fn prepare(&mut self) -> Result<(), NetlinkError> {
        self.refresh()
    }

    fn refresh(&mut self) -> Result<(), NetlinkError> {
        if self.addrs_stale {
            let now = connected(&dump_addrs(&mut self.nl)?);
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
            dump_ours_into(&mut self.nl, &mut self.installed)?;
            self.resync = false;
            self.full = true;
        }
        Ok(())
    }

    /// Queues every prefix where the installed and the wanted route differ.
    fn compare_all(&mut self, desired: &mut dyn Desired) {
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

    /// One pass: re-reads the kernel if needed, then adds, replaces and deletes our
    /// routes so that the main table holds what `desired` wants, for the changed
    /// prefixes (or all, in a full pass), at most `pass_limit` operations. `now` is when
    /// the pass began (the daemon's loop time); the duration is measured from it.
    pub fn reconcile(
        &mut self,
        desired: &mut dyn Desired,
        now: Instant,
    ) -> Result<ReconcileStats, NetlinkError> {
        let mut st = ReconcileStats {
            resynced: self.resync,
            ..ReconcileStats::default()
        };
        self.refresh()?;
        st.refused = self
            .connected
            .iter()
            .filter(|p| desired.route(p).is_some())
            .copied()
            .collect();
        if self.full {
            self.full = false;
            st.full = true;
            self.compare_all(desired);
        }
        self.pending.append(&mut self.retry);
        // Ascending prefix order: deterministic, and the kernel's trie grows evenly.
        self.pending.sort_unstable();
        self.pending.dedup();
        let take = self.pending.len().min(self.pass_limit);
        let mut ops = Vec::with_capacity(take);
        let mut looked = 0;
        for &p in self.pending.iter() {
            if ops.len() >= self.pass_limit {
                break;
            }
            looked += 1;
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
        if self.pending.is_empty() && self.pending.capacity() > 4 * self.pass_limit {
            self.pending = Vec::new();
        }
        st.more = !self.pending.is_empty();
        let batch_start = Instant::now();
        let failures = self
            .nl
            .batch(ops.len(), self.opts, &mut |i, w| match ops.get(i) {
                Some(Op::Add(r)) => encode_new(w, r, RT_TABLE_MAIN, false, RT_SCOPE_UNIVERSE),
                Some(Op::Replace(r)) => encode_new(w, r, RT_TABLE_MAIN, true, RT_SCOPE_UNIVERSE),
                Some(Op::Delete(r)) => encode_del(w, &r.dst, RT_TABLE_MAIN),
                None => {}
            });
        st.kernel = batch_start.elapsed();
        let failures = match failures {
            Ok(f) => f,
            Err(e) => {
                // Unknown outcome for part of the batch: trust nothing until a re-read.
                self.resync = true;
                self.full = true;
                return Err(e);
            }
        };
        let mut failed = vec![false; ops.len()];
        for f in failures {
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
        st.duration = now.elapsed();
        Ok(st)
    }
}
