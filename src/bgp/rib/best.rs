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

/// Orders `a` before `b` when `a` is the better path (`Less` = `a` wins).
/// `peer` resolves a path's source id to its peer (absent for local paths).
pub(crate) fn compare<'p>(
    a: &Path,
    b: &Path,
    peer: &impl Fn(u32) -> Option<&'p PeerInfo>,
) -> Ordering {
    let (Some(aa), Some(ba)) = (a.accepted(), b.accepted()) else {
        // Rejected paths are never best.
        return a.rejected.cmp(&b.rejected);
    };
    // Locally originated paths win over learned ones.
    let (a_local, b_local) = (a.src == LOCAL_SRC, b.src == LOCAL_SRC);
    if a_local != b_local {
        return b_local.cmp(&a_local);
    }
    let lp = |x: &crate::bgp::types::Attrs| x.local_pref.unwrap_or(DEFAULT_LOCAL_PREF);
    let ord = lp(ba).cmp(&lp(aa));
    if ord != Ordering::Equal {
        return ord;
    }
    let ord = aa.as_path.path_len().cmp(&ba.as_path.path_len());
    if ord != Ordering::Equal {
        return ord;
    }
    let ord = aa.origin.cmp(&ba.origin);
    if ord != Ordering::Equal {
        return ord;
    }
    let (pa, pb) = (peer(a.src), peer(b.src));
    // MED only between paths from the same neighbouring AS; missing MED = 0.
    let neighbour = |x: &crate::bgp::types::Attrs, p: Option<&PeerInfo>| {
        x.as_path.first_as().or_else(|| p.map(|p| p.local_asn))
    };
    if neighbour(aa, pa) == neighbour(ba, pb) {
        let ord = aa.med.unwrap_or(0).cmp(&ba.med.unwrap_or(0));
        if ord != Ordering::Equal {
            return ord;
        }
    }
    // eBGP over iBGP.
    let ibgp = |p: Option<&PeerInfo>| p.is_some_and(|p| p.ibgp);
    let ord = ibgp(pa).cmp(&ibgp(pb));
    if ord != Ordering::Equal {
        return ord;
    }
    // Lowest ORIGINATOR_ID, or router id of the peer when absent.
    let rid = |x: &crate::bgp::types::Attrs, p: Option<&PeerInfo>| {
        x.originator_id
            .or_else(|| p.map(|p| p.router_id))
            .unwrap_or(Ipv4Addr::UNSPECIFIED)
    };
    let ord = rid(aa, pa).cmp(&rid(ba, pb));
    if ord != Ordering::Equal {
        return ord;
    }
    let ord = aa.cluster_list.len().cmp(&ba.cluster_list.len());
    if ord != Ordering::Equal {
        return ord;
    }
    let ord = pa.map(|p| p.addr).cmp(&pb.map(|p| p.addr));
    if ord != Ordering::Equal {
        return ord;
    }
    a.src.cmp(&b.src)
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
