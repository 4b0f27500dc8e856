//! The kernel-route reconciler owned by the daemon thread: desired routes in, the
//! main table's protocol-17 routes brought to match, statistics out.
//!
//! Owns: the desired set, the last known actual set (kept current from batch results
//! and change notifications), the connected subnets, and the graceful-restart hold on
//! deletions (D6, D8). Never touches a route of another protocol, and never adds or
//! removes a prefix equal to a connected subnet (D5, P-13).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::addr::{connected, dump_addrs};
use super::netlink::{BatchOptions, Errno, Netlink, NetlinkError};
use super::reconcile::{Op, diff, diff_some};
use super::route::{
    KernelRoute, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, dump_main, encode_del, encode_new,
};
use super::watch::{Changes, RouteEvent};
use crate::bgp::types::Prefix;

/// One route operation the kernel (or our own check) refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteFailure {
    pub op: Op,
    pub error: Errno,
}

impl std::fmt::Display for RouteFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = match self.op {
            Op::Add(r) | Op::Replace(r) | Op::Delete(r) => r,
        };
        write!(f, "{} {r}: {}", self.op.name(), self.error)
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
    pub duration: Duration,
}

/// See the module documentation.
pub struct Reconciler {
    nl: Netlink,
    opts: BatchOptions,
    desired: BTreeMap<Prefix, KernelRoute>,
    actual: BTreeMap<Prefix, KernelRoute>,
    connected: BTreeSet<Prefix>,
    hold_deletes: bool,
    resync: bool,
    addrs_stale: bool,
    /// Prefixes whose desired or actual route changed since the last pass: an ordinary
    /// pass looks only at these (O(changes), not O(table)).
    changed: BTreeSet<Prefix>,
    /// The next pass must compare the whole tables (after a re-read, a sweep, a new
    /// desired set, an address change, or a failed pass).
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
            desired: BTreeMap::new(),
            actual: BTreeMap::new(),
            connected: BTreeSet::new(),
            hold_deletes: graceful_restart,
            resync: true,
            addrs_stale: true,
            changed: BTreeSet::new(),
            full: true,
        };
        r.refresh()?;
        Ok(r)
    }

    /// Changes how batches are sent (chunk size, ACK per request).
    pub fn set_batch_options(&mut self, opts: BatchOptions) {
        self.opts = opts;
    }

    /// Replaces the whole desired set.
    pub fn set_desired(&mut self, desired: BTreeMap<Prefix, KernelRoute>) {
        self.desired = desired;
        self.full = true;
    }

    /// Wants one route (replacing any desired route for its prefix).
    pub fn upsert(&mut self, route: KernelRoute) {
        if self.desired.insert(route.dst, route) != Some(route) {
            self.changed.insert(route.dst);
        }
    }

    /// No longer wants a route for `dst`.
    pub fn remove(&mut self, dst: &Prefix) {
        if self.desired.remove(dst).is_some() {
            self.changed.insert(*dst);
        }
    }

    pub fn desired(&self) -> &BTreeMap<Prefix, KernelRoute> {
        &self.desired
    }

    /// Our routes as last seen in (or put into) the kernel.
    pub fn actual(&self) -> &BTreeMap<Prefix, KernelRoute> {
        &self.actual
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

    /// Folds change notifications into the known state. Returns true when the kernel
    /// may now differ from the desired set, i.e. the daemon should `reconcile` now.
    pub fn absorb(&mut self, ch: &Changes) -> bool {
        let mut dirty = false;
        if ch.needs_resync() {
            self.resync = true;
            self.addrs_stale = true;
            dirty = true;
        }
        if ch.addresses {
            self.addrs_stale = true;
            dirty = true;
        }
        for ev in &ch.routes {
            match *ev {
                RouteEvent::Added(r) => {
                    self.actual.insert(r.dst, r);
                    if self.desired.get(&r.dst) != Some(&r) {
                        self.changed.insert(r.dst);
                        dirty = true;
                    }
                }
                RouteEvent::Removed(r) => {
                    // Only forget it if it is the route we know for that prefix.
                    if self.actual.get(&r.dst) == Some(&r) {
                        self.actual.remove(&r.dst);
                        if self.desired.contains_key(&r.dst) {
                            self.changed.insert(r.dst);
                            dirty = true;
                        }
                    }
                }
                RouteEvent::ForeignReplaced(p) => {
                    if self.actual.remove(&p).is_some() && self.desired.contains_key(&p) {
                        self.changed.insert(p);
                        dirty = true;
                    }
                }
            }
        }
        dirty
    }

    fn refresh(&mut self) -> Result<(), NetlinkError> {
        if self.addrs_stale {
            self.connected = connected(&dump_addrs(&mut self.nl)?);
            self.addrs_stale = false;
            self.full = true;
        }
        if self.resync {
            // Dropped first: a 1M-route table is not held twice while re-reading it. If
            // the dump fails, `resync` stays set and no diff runs on the empty map.
            self.actual = BTreeMap::new();
            self.actual = dump_main(&mut self.nl)?.ours;
            self.resync = false;
            self.full = true;
        }
        Ok(())
    }

    /// One pass: re-reads the kernel if needed, then adds, replaces and deletes our
    /// routes so the main table matches the desired set. `now` is when the pass began
    /// (the daemon's loop time); the duration is measured from it.
    pub fn reconcile(&mut self, now: Instant) -> Result<ReconcileStats, NetlinkError> {
        let mut st = ReconcileStats {
            resynced: self.resync,
            ..ReconcileStats::default()
        };
        self.refresh()?;
        st.refused = self
            .connected
            .iter()
            .filter(|p| self.desired.contains_key(*p))
            .copied()
            .collect();
        let mut ops = Vec::new();
        let todo = if self.full {
            diff(&self.desired, &self.actual)
        } else {
            diff_some(&self.desired, &self.actual, &self.changed)
        };
        self.full = false;
        self.changed.clear();
        for op in todo {
            let p = op.prefix();
            if self.connected.contains(&p) {
                continue; // refused (desired) or left alone (ours, not desired): P-13
            }
            if self.hold_deletes && matches!(op, Op::Delete(_)) {
                st.held += 1;
                continue;
            }
            let route = match op {
                Op::Add(r) | Op::Replace(r) => r,
                Op::Delete(_) => {
                    ops.push(op);
                    continue;
                }
            };
            match route.check() {
                Ok(()) => ops.push(op),
                Err(e) => st.failures.push(RouteFailure {
                    op,
                    error: Errno {
                        errno: libc::EINVAL,
                        msg: Some(e.to_string()),
                    },
                }),
            }
        }
        let failures = self
            .nl
            .batch(ops.len(), self.opts, &mut |i, w| match ops.get(i) {
                Some(Op::Add(r)) => encode_new(w, r, RT_TABLE_MAIN, false, RT_SCOPE_UNIVERSE),
                Some(Op::Replace(r)) => encode_new(w, r, RT_TABLE_MAIN, true, RT_SCOPE_UNIVERSE),
                Some(Op::Delete(r)) => encode_del(w, &r.dst, RT_TABLE_MAIN),
                None => {}
            });
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
                    self.actual.remove(&r.dst);
                    st.deleted += 1;
                }
                // Our route vanished between dump and replace: forget it, retry next pass.
                Op::Replace(r) if f.error.errno == libc::ENOENT => {
                    self.actual.remove(&r.dst);
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
                    self.actual.insert(r.dst, *r);
                    st.added += 1;
                }
                Op::Replace(r) => {
                    self.actual.insert(r.dst, *r);
                    st.replaced += 1;
                }
                Op::Delete(r) => {
                    self.actual.remove(&r.dst);
                    st.deleted += 1;
                }
            }
        }
        // What failed is tried again on the next pass.
        for f in &st.failures {
            self.changed.insert(f.op.prefix());
        }
        st.failed = st.failures.len();
        st.duration = now.elapsed();
        Ok(st)
    }
}
