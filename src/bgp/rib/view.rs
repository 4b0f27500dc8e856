//! Read side of the RIB: best-path changes for the kernel, Loc-RIB and Adj-RIB-In
//! iteration and per-peer counters for the CLI and metrics.
//!
//! Owns: nothing; it only reads the RIB (and clears best-path dirty flags). Must not:
//! change paths or export state.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

#[cfg(test)]
use super::BestInfo;
use super::out::UpdateGroup;
use super::table::{F_BEST, Path};
use super::{PeerCounters, PeerId, Rib, ScanOrder, path_key};
use crate::bgp::types::{Afi, Attrs, Prefix};

fn kernel_view(prefix: &Prefix, best: &Path) -> Option<(Option<PeerId>, IpAddr)> {
    let afi = prefix.afi();
    let nh = best.accepted()?.next_hop_for(afi).unwrap_or(match afi {
        Afi::Ipv4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Afi::Ipv6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    });
    Some((best.peer(), nh))
}

impl Rib {
    #[cfg(test)]
    /// All best-path changes since the last take, coalesced (`None` = no route).
    pub(crate) fn take_best_changes(&mut self) -> Vec<(Prefix, Option<BestInfo>)> {
        self.take_best_changes_max(usize::MAX)
    }

    #[cfg(test)]
    /// Like `take_best_changes`, at most `limit` at a time (bounded memory for large
    /// tables); call again while it returns `limit` items.
    pub(crate) fn take_best_changes_max(
        &mut self,
        limit: usize,
    ) -> Vec<(Prefix, Option<BestInfo>)> {
        let ids = self
            .best_dirty
            .drain(&mut self.table, F_BEST, limit, ScanOrder::BitReversed);
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(e) = self.table.entry(id) else {
                continue;
            };
            let prefix = self.table.prefix_of(e);
            let best = e.best().map(|p| {
                let attrs = p.attrs.clone();
                let afi = prefix.afi();
                let next_hop = attrs.next_hop_for(afi).unwrap_or(match afi {
                    Afi::Ipv4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                    Afi::Ipv6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                });
                BestInfo {
                    next_hop,
                    peer: p.peer(),
                    attrs,
                }
            });
            out.push((prefix, best));
            self.maybe_free(id);
        }
        out
    }

    /// The prefixes whose best path changed since the last take, coalesced, at most
    /// `limit` at a time (call again while it returns `limit`), a large change set in
    /// the consumer's `order`. Look their best paths up with `best_next_hop`.
    pub fn take_best_changed(&mut self, limit: usize, order: ScanOrder) -> Vec<Prefix> {
        let ids = self.best_dirty.drain(&mut self.table, F_BEST, limit, order);
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(p) = self.table.prefix(id) {
                out.push(p);
                self.maybe_free(id);
            }
        }
        out
    }

    /// The best path of `prefix` as the kernel sees it: the peer it came from (`None`
    /// for a local path) and its next hop for the prefix's family (unspecified when it
    /// has none). `None` when the prefix has no accepted path.
    pub(crate) fn best_next_hop(&self, prefix: &Prefix) -> Option<(Option<PeerId>, IpAddr)> {
        let e = self.table.entry(self.table.get(prefix)?)?;
        kernel_view(prefix, e.best()?)
    }

    /// Whether changes for peers are waiting (`take_out`).
    pub fn has_out(&self) -> bool {
        !self.export_dirty.is_empty()
            || !self.pending.is_empty()
            || self.export_all
            || self.groups.iter().flatten().any(UpdateGroup::has_work)
    }

    /// Whether best-path changes are waiting.
    pub(crate) fn has_best_changes(&self) -> bool {
        !self.best_dirty.is_empty()
    }

    /// The Loc-RIB: each prefix with its best path.
    pub(crate) fn loc_rib(&self) -> impl Iterator<Item = (Prefix, &Path)> + '_ {
        self.table
            .entries
            .iter()
            .filter_map(|e| e.best().map(|p| (self.table.prefix_of(e), p)))
    }

    /// Upper bound of the table's ids: `loc_rib_range` over consecutive ranges up to it
    /// walks the whole Loc-RIB in parts (an entry keeps its id while it lives).
    pub(crate) fn loc_rib_ids(&self) -> u32 {
        self.table.id_limit() as u32
    }

    /// The Loc-RIB entries whose ids are in `ids`: each prefix with its best path.
    pub(crate) fn loc_rib_range(
        &self,
        ids: std::ops::Range<u32>,
    ) -> impl Iterator<Item = (Prefix, &Path)> + '_ {
        let end = (ids.end as usize).min(self.table.entries.len());
        let start = (ids.start as usize).min(end);
        self.table.entries[start..end]
            .iter()
            .filter_map(|e| e.best().map(|p| (self.table.prefix_of(e), p)))
    }

    /// All paths of one prefix, best first (if any path is accepted).
    pub(crate) fn paths(&self, prefix: &Prefix) -> &[Path] {
        self.table
            .get(prefix)
            .and_then(|id| self.table.entry(id))
            .map_or(&[], |e| e.paths.as_slice())
    }

    #[cfg(test)]
    /// The Adj-RIB-In of a peer: the import result of each path (its pre-policy
    /// attributes: `received`).
    pub(crate) fn adj_rib_in(&self, id: PeerId) -> impl Iterator<Item = (Prefix, &Path)> + '_ {
        self.table.entries.iter().flat_map(move |e| {
            e.paths
                .as_slice()
                .iter()
                .filter(move |p| p.src == id.0)
                .map(move |p| (self.table.prefix_of(e), p))
        })
    }

    /// The attributes of `path`, one of the paths of `prefix` (`paths`, `adj_rib_in`),
    /// as received, before import policy (pre-policy Adj-RIB-In).
    pub(crate) fn received<'a>(&'a self, prefix: &Prefix, path: &'a Path) -> &'a Arc<Attrs> {
        if path.modified {
            let kept = self
                .table
                .get(prefix)
                .and_then(|id| self.received.get(&path_key(id, path.src)));
            if let Some(a) = kept {
                return a;
            }
        }
        &path.attrs
    }

    #[cfg(test)]
    /// Number of prefixes known (with any path, or still being withdrawn).
    pub(crate) fn prefix_count(&self) -> usize {
        self.table.len()
    }

    /// Paths of family `afi` held from a peer, accepted by import or not (rejected
    /// paths are kept for re-evaluation, so they cost memory too): what a prefix limit
    /// counts, like BIRD's `receive limit`.
    pub fn received_of(&self, id: PeerId, afi: Afi) -> usize {
        self.slot(id).map_or(0, |s| match afi {
            Afi::Ipv4 => s.received.saturating_sub(s.received_v6),
            Afi::Ipv6 => s.received_v6,
        })
    }

    pub(crate) fn counters(&self, id: PeerId) -> Option<PeerCounters> {
        let s = self.slot(id)?;
        let advertised = match (s.up, s.group.and_then(|g| self.groups.get(g)?.as_ref())) {
            (true, Some(g)) if g.members.contains(&id) => g.advertised_to(id),
            _ => 0,
        };
        Some(PeerCounters {
            received: s.received,
            accepted: s.accepted,
            advertised,
        })
    }
}

impl Rib {
    /// For each path of `prefix` (in `paths` order, best first): the decision-process
    /// step by which the best path beat it (`None` for the best path itself).
    pub(crate) fn explain_best(&self, prefix: &Prefix) -> Vec<Option<super::BestStep>> {
        let paths = self.paths(prefix);
        let lookup = super::peer_lookup(&self.peers);
        let Some(best) = paths.first() else {
            return Vec::new();
        };
        std::iter::once(None)
            .chain(
                paths[1..]
                    .iter()
                    .map(|p| Some(super::best::compare_step(best, p, &lookup).1)),
            )
            .collect()
    }

    /// Why the RIB itself would refuse `attrs` from `peer` (loops), before any import
    /// policy: the same check every received path goes through.
    pub(crate) fn import_loop(&self, peer: PeerId, attrs: &Attrs) -> Result<(), super::ImportLoop> {
        match self.peer(peer) {
            Some(info) => super::import_loop_check(&self.cfg, info, attrs),
            None => Ok(()),
        }
    }
}
