//! The RFC 4271 §9.1.2.2 decision process, extended by RFC 4456 §9.
//!
//! Owns: comparing two paths to one prefix and picking the best. Must not: change
//! paths or know about Adj-RIB-Out; a pure function of the paths and their peers.

use std::cmp::Ordering;
use std::net::Ipv4Addr;

use super::PeerInfo;
use super::table::{LOCAL_SRC, Path, Paths};

/// LOCAL_PREF assumed when absent (eBGP-learned paths have theirs removed on import).
pub(crate) const DEFAULT_LOCAL_PREF: u32 = 100;

/// The step of the decision process that told two paths apart (RFC 4271 §9.1.2.2,
/// RFC 4456 §9), for `kube-bgp explain`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BestStep {
    /// One of them was refused by import and is never best.
    Eligibility,
    /// Locally originated paths win over learned ones.
    Local,
    LocalPref,
    AsPathLength,
    Origin,
    Med,
    /// eBGP-learned over iBGP-learned.
    ExternalOverInternal,
    /// Lowest ORIGINATOR_ID or peer router ID.
    RouterId,
    ClusterListLength,
    PeerAddress,
    /// Nothing else differed: the older source wins (a stable order).
    Arrival,
}

impl BestStep {
    /// Short name (JSON field).
    pub(crate) fn label(self) -> &'static str {
        match self {
            BestStep::Eligibility => "eligibility",
            BestStep::Local => "local",
            BestStep::LocalPref => "local-pref",
            BestStep::AsPathLength => "as-path-length",
            BestStep::Origin => "origin",
            BestStep::Med => "med",
            BestStep::ExternalOverInternal => "ebgp-over-ibgp",
            BestStep::RouterId => "router-id",
            BestStep::ClusterListLength => "cluster-list-length",
            BestStep::PeerAddress => "peer-address",
            BestStep::Arrival => "arrival",
        }
    }
}

impl std::fmt::Display for BestStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BestStep::Eligibility => "the other path was refused by import",
            BestStep::Local => "locally originated",
            BestStep::LocalPref => "higher LOCAL_PREF",
            BestStep::AsPathLength => "shorter AS_PATH",
            BestStep::Origin => "lower ORIGIN",
            BestStep::Med => "lower MED (same neighbouring AS)",
            BestStep::ExternalOverInternal => "eBGP over iBGP",
            BestStep::RouterId => "lower router ID (ORIGINATOR_ID)",
            BestStep::ClusterListLength => "shorter CLUSTER_LIST",
            BestStep::PeerAddress => "lower peer address",
            BestStep::Arrival => "older path (all else equal)",
        })
    }
}

/// Orders `a` before `b` when `a` is the better path (`Less` = `a` wins).
/// `peer` resolves a path's source id to its peer (absent for local paths).
pub(crate) fn compare<'p>(
    a: &Path,
    b: &Path,
    peer: &impl Fn(u32) -> Option<&'p PeerInfo>,
) -> Ordering {
    compare_step(a, b, peer).0
}

/// [`compare`], also saying which step decided (the last one when they are equal).
pub(crate) fn compare_step<'p>(
    a: &Path,
    b: &Path,
    peer: &impl Fn(u32) -> Option<&'p PeerInfo>,
) -> (Ordering, BestStep) {
    let (Some(aa), Some(ba)) = (a.accepted(), b.accepted()) else {
        // Rejected paths are never best.
        return (a.rejected.cmp(&b.rejected), BestStep::Eligibility);
    };
    let decided = |ord: Ordering, step: BestStep| (ord != Ordering::Equal).then_some((ord, step));
    // Locally originated paths win over learned ones.
    let (a_local, b_local) = (a.src == LOCAL_SRC, b.src == LOCAL_SRC);
    if let Some(d) = decided(b_local.cmp(&a_local), BestStep::Local) {
        return d;
    }
    let lp = |x: &crate::bgp::types::Attrs| x.local_pref.unwrap_or(DEFAULT_LOCAL_PREF);
    if let Some(d) = decided(lp(ba).cmp(&lp(aa)), BestStep::LocalPref) {
        return d;
    }
    let ord = aa.as_path.path_len().cmp(&ba.as_path.path_len());
    if let Some(d) = decided(ord, BestStep::AsPathLength) {
        return d;
    }
    if let Some(d) = decided(aa.origin.cmp(&ba.origin), BestStep::Origin) {
        return d;
    }
    let (pa, pb) = (peer(a.src), peer(b.src));
    // MED only between paths from the same neighbouring AS; missing MED = 0.
    let neighbour = |x: &crate::bgp::types::Attrs, p: Option<&PeerInfo>| {
        x.as_path.first_as().or_else(|| p.map(|p| p.local_asn))
    };
    if neighbour(aa, pa) == neighbour(ba, pb) {
        let ord = aa.med.unwrap_or(0).cmp(&ba.med.unwrap_or(0));
        if let Some(d) = decided(ord, BestStep::Med) {
            return d;
        }
    }
    // eBGP over iBGP.
    let ibgp = |p: Option<&PeerInfo>| p.is_some_and(|p| p.ibgp);
    if let Some(d) = decided(ibgp(pa).cmp(&ibgp(pb)), BestStep::ExternalOverInternal) {
        return d;
    }
    // Lowest ORIGINATOR_ID, or router id of the peer when absent.
    let rid = |x: &crate::bgp::types::Attrs, p: Option<&PeerInfo>| {
        x.originator_id
            .or_else(|| p.map(|p| p.router_id))
            .unwrap_or(Ipv4Addr::UNSPECIFIED)
    };
    if let Some(d) = decided(rid(aa, pa).cmp(&rid(ba, pb)), BestStep::RouterId) {
        return d;
    }
    let ord = aa.cluster_list.len().cmp(&ba.cluster_list.len());
    if let Some(d) = decided(ord, BestStep::ClusterListLength) {
        return d;
    }
    let ord = pa.map(|p| p.addr).cmp(&pb.map(|p| p.addr));
    if let Some(d) = decided(ord, BestStep::PeerAddress) {
        return d;
    }
    (a.src.cmp(&b.src), BestStep::Arrival)
}

/// Moves the best path to the front. Returns whether any path is eligible.
pub(crate) fn select<'p>(paths: &mut Paths, peer: &impl Fn(u32) -> Option<&'p PeerInfo>) -> bool {
    let s = paths.as_mut_slice();
    let mut best = 0;
    for i in 1..s.len() {
        if compare(&s[i], &s[best], peer) == Ordering::Less {
            best = i;
        }
    }
    if best != 0 {
        s.swap(0, best);
    }
    s.first().is_some_and(|p| !p.rejected)
}
