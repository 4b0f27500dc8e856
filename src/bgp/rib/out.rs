//! Export and Adj-RIB-Out: update groups, the BGP export rules and diffing.
//!
//! Owns: grouping established peers by export class, the iBGP split-horizon, route
//! reflection (RFC 4456) and eBGP rewrite rules, the export policy call, what each group
//! last sent, and turning differences into `OutBatch`es. Must not: encode messages or
//! touch best-path selection.
//!
//! A group holds one Adj-RIB-Out slot per prefix id it exports: the attributes sent to
//! every member, except to the peer the path came from (`except`), which gets nothing.
//! The slots are a hash map while few prefixes are exported (an eBGP group of kube-bgp
//! exports a handful of pod and service prefixes out of a large table) and a vector
//! over all ids once many are (a route reflector's groups).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use super::policy::Source;
use super::table::{F_EXPORT, IdMap, LOCAL_SRC};
use super::{DEFAULT_LOCAL_PREF, PeerId, PeerInfo, Rib, RibConfig, ScanOrder};
use crate::bgp::types::{Afi, Attrs, MpNextHop, Prefix, community};

/// One message's worth of changes (before splitting to the wire's size limit).
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) enum OutMsg {
    /// Prefixes (possibly of both families; the encoder splits them) sharing `attrs`.
    Announce {
        attrs: Arc<Attrs>,
        prefixes: Vec<Prefix>,
    },
    Withdraw {
        prefixes: Vec<Prefix>,
    },
    EndOfRib(Afi),
}

/// Messages for a set of peers: encode `msgs` once, send them in order to every peer
/// in `peers` except `except`. Batches must be sent in the order returned.
#[derive(Clone, Debug)]
pub struct OutBatch {
    pub(crate) peers: Arc<[PeerId]>,
    pub(crate) except: Option<PeerId>,
    pub(crate) msgs: Vec<OutMsg>,
}

#[cfg(test)]
/// The messages one peer gets from `batches`, in order (for simple consumers and tests).
pub(crate) fn messages_for(batches: &[OutBatch], peer: PeerId) -> Vec<OutMsg> {
    batches
        .iter()
        .filter(|b| b.except != Some(peer) && b.peers.contains(&peer))
        .flat_map(|b| b.msgs.iter().cloned())
        .collect()
}

const NO_PEER: u32 = u32::MAX;

/// What makes two peers' export identical.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct GroupKey {
    ibgp: bool,
    rr_client: bool,
    local_asn: u32,
    /// eBGP only (0 for iBGP).
    remote_asn: u32,
    local_addr_v4: Option<std::net::Ipv4Addr>,
    local_addr_v6: Option<std::net::Ipv6Addr>,
    next_hop_self: bool,
    families: Vec<Afi>,
    policy: u64,
}

#[derive(Clone, Debug)]
pub(crate) struct OutSlot {
    pub(crate) attrs: Option<Arc<Attrs>>,
    except: u32,
}

impl Default for OutSlot {
    fn default() -> OutSlot {
        OutSlot {
            attrs: None,
            except: NO_PEER,
        }
    }
}

/// A group's Adj-RIB-Out by prefix id. Only slots holding attributes count; the others
/// read as empty. Sparse (a map of the slots holding attributes) while they are few
/// against the table's ids, dense (a vector indexed by id) once many are; it switches
/// with hysteresis (dense above a quarter of the ids, sparse again below a sixteenth).
/// A flush that is filling the group fast goes dense early (`expect`), so a reflector's
/// new group does not build a large map first.
#[derive(Debug)]
pub(crate) enum Slots {
    Sparse(IdMap<u32, OutSlot>),
    /// `used`: slots holding attributes.
    Dense {
        v: Vec<OutSlot>,
        used: usize,
    },
}

impl Default for Slots {
    fn default() -> Slots {
        Slots::Sparse(IdMap::default())
    }
}

impl Slots {
    /// Whether `used` slots among `limit` ids are too many for the map.
    fn too_many(used: usize, limit: usize) -> bool {
        used >= 64 && used > limit / 4
    }

    /// Whether `used` slots among `limit` ids are few enough for the map.
    fn few(used: usize, limit: usize) -> bool {
        used < 32 || used < limit / 16
    }

    /// The slot of prefix `id` when it holds attributes.
    pub(crate) fn get(&self, id: u32) -> Option<&OutSlot> {
        match self {
            Slots::Sparse(m) => m.get(&id),
            Slots::Dense { v, .. } => v.get(id as usize).filter(|s| s.attrs.is_some()),
        }
    }

    /// Stores `new` as the slot of `id` (one of `limit` ids), returning the old one.
    fn set(&mut self, id: u32, new: OutSlot, limit: usize) -> OutSlot {
        match self {
            Slots::Sparse(m) => {
                let old = match new.attrs {
                    Some(_) => m.insert(id, new),
                    None => m.remove(&id),
                };
                if Self::too_many(m.len(), limit) {
                    self.make_dense(limit);
                }
                old.unwrap_or_default()
            }
            Slots::Dense { v, used } => {
                let idx = id as usize;
                if v.len() <= idx {
                    if new.attrs.is_none() {
                        return OutSlot::default();
                    }
                    // Grow by at least an eighth: amortised, without doubling.
                    let extra = (idx + 1 - v.len()).max(v.capacity() / 8);
                    v.reserve_exact(extra);
                    v.resize_with(idx + 1, OutSlot::default);
                }
                *used += usize::from(new.attrs.is_some());
                let old = std::mem::replace(&mut v[idx], new);
                *used -= usize::from(old.attrs.is_some());
                old
            }
        }
    }

    /// Goes dense now if `used` slots (an estimate) will be too many for the map.
    fn expect(&mut self, used: usize, limit: usize) {
        if !self.is_dense() && Self::too_many(used, limit) {
            self.make_dense(limit);
        }
    }

    fn make_dense(&mut self, limit: usize) {
        let Slots::Sparse(m) = self else { return };
        let len = m
            .keys()
            .map(|&id| id as usize + 1)
            .max()
            .unwrap_or(0)
            .max(limit);
        let mut v = Vec::with_capacity(len);
        v.resize_with(len, OutSlot::default);
        let used = m.len();
        for (id, s) in m.drain() {
            v[id as usize] = s;
        }
        *self = Slots::Dense { v, used };
    }

    /// Switches between sparse and dense for a table of `limit` ids, and gives back a
    /// map's memory after many removals.
    fn rebalance(&mut self, limit: usize) {
        match self {
            Slots::Sparse(m) => {
                if Self::too_many(m.len(), limit) {
                    self.make_dense(limit);
                } else if m.capacity() > 1024 && m.len() < m.capacity() / 8 {
                    m.shrink_to_fit();
                }
            }
            Slots::Dense { v, used } => {
                if Self::few(*used, limit) {
                    let mut m = IdMap::with_capacity_and_hasher(*used, Default::default());
                    for (id, s) in std::mem::take(v).into_iter().enumerate() {
                        if s.attrs.is_some() {
                            m.insert(id as u32, s);
                        }
                    }
                    *self = Slots::Sparse(m);
                }
            }
        }
    }

    /// The slots holding attributes, in id order.
    pub(crate) fn iter(&self) -> Box<dyn Iterator<Item = (u32, &OutSlot)> + '_> {
        match self {
            Slots::Sparse(m) => {
                let mut all: Vec<(u32, &OutSlot)> = m.iter().map(|(&id, s)| (id, s)).collect();
                all.sort_unstable_by_key(|x| x.0);
                Box::new(all.into_iter())
            }
            Slots::Dense { v, .. } => Box::new(
                v.iter()
                    .enumerate()
                    .filter(|(_, s)| s.attrs.is_some())
                    .map(|(id, s)| (id as u32, s)),
            ),
        }
    }

    pub(crate) fn is_dense(&self) -> bool {
        matches!(self, Slots::Dense { .. })
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Slots::Sparse(m) => super::map_bytes::<(u32, OutSlot)>(m.capacity()),
            Slots::Dense { v, .. } => v.capacity() * std::mem::size_of::<OutSlot>(),
        }
    }
}

#[derive(Debug)]
pub(crate) struct UpdateGroup {
    key: GroupKey,
    /// The peer export rules and policy are evaluated for: always one of the group's
    /// own peers (member, joiner or mover), read from the peer table at each use. Not a
    /// copy of the settings of the peer the group was created for: once that peer is
    /// gone, the policy may classify its address differently (a deleted Node is no
    /// longer a node), and its export would no longer be the group's.
    rep: PeerId,
    /// In sync with `slots`; sorted.
    pub(crate) members: Vec<PeerId>,
    /// Just established: get the whole table and End-of-RIB at the next flush.
    pub(crate) joiners: Vec<PeerId>,
    /// Moved from another group (or asked for a refresh): get the differences against
    /// what they were sent before.
    movers: Vec<(PeerId, HashMap<Prefix, Arc<Attrs>>)>,
    pub(crate) slots: Slots,
    /// Slots not yet computed.
    fresh: bool,
    advertised: usize,
    excepts: IdMap<u32, usize>,
}

impl UpdateGroup {
    pub(crate) fn advertised_to(&self, id: PeerId) -> usize {
        self.advertised - self.excepts.get(&id.0).copied().unwrap_or(0)
    }

    /// Heap bytes held (Adj-RIB-Out slots, member lists, movers' previous tables).
    pub(crate) fn heap_bytes(&self) -> usize {
        let movers: usize = self
            .movers
            .iter()
            .map(|(_, m)| super::map_bytes::<(Prefix, Arc<Attrs>)>(m.capacity()))
            .sum();
        self.slots.heap_bytes()
            + (self.members.capacity() + self.joiners.capacity()) * 4
            + self.movers.capacity() * std::mem::size_of::<(PeerId, HashMap<Prefix, Arc<Attrs>>)>()
            + movers
            + super::map_bytes::<(u32, usize)>(self.excepts.capacity())
    }

    /// A new group to fill, or peers waiting for a table.
    pub(crate) fn has_work(&self) -> bool {
        self.fresh || !self.joiners.is_empty() || !self.movers.is_empty()
    }

    fn is_empty(&self) -> bool {
        self.members.is_empty() && self.joiners.is_empty() && self.movers.is_empty()
    }

    /// Stores the slot of prefix `id` (of `limit` ids), keeping the counters.
    fn set_slot(&mut self, id: u32, new: OutSlot, limit: usize) -> OutSlot {
        let count = |g: &mut UpdateGroup, s: &OutSlot, up: bool| {
            if s.attrs.is_none() {
                return;
            }
            if up {
                g.advertised += 1;
            } else {
                g.advertised -= 1;
            }
            if s.except != NO_PEER {
                let c = g.excepts.entry(s.except).or_insert(0);
                if up {
                    *c += 1;
                } else {
                    *c -= 1;
                }
            }
        };
        count(self, &new, true);
        let old = self.slots.set(id, new, limit);
        count(self, &old, false);
        old
    }
}

/// Changes for one recipient set, announcements grouped by attribute set.
#[derive(Default)]
struct Builder {
    index: IdMap<usize, usize>,
    last: Option<(usize, usize)>,
    announces: Vec<(Arc<Attrs>, Vec<Prefix>)>,
    withdraws: Vec<Prefix>,
}

impl Builder {
    fn announce(&mut self, attrs: &Arc<Attrs>, prefix: Prefix) {
        let key = Arc::as_ptr(attrs) as usize;
        let i = match self.last {
            Some((k, i)) if k == key => i,
            _ => {
                let i = *self.index.entry(key).or_insert_with(|| {
                    self.announces.push((attrs.clone(), Vec::new()));
                    self.announces.len() - 1
                });
                self.last = Some((key, i));
                i
            }
        };
        if let Some((_, v)) = self.announces.get_mut(i) {
            v.push(prefix);
        }
    }

    fn into_msgs(self) -> Vec<OutMsg> {
        let mut msgs = Vec::with_capacity(self.announces.len() + 1);
        if !self.withdraws.is_empty() {
            msgs.push(OutMsg::Withdraw {
                prefixes: self.withdraws,
            });
        }
        msgs.extend(
            self.announces
                .into_iter()
                .map(|(attrs, prefixes)| OutMsg::Announce { attrs, prefixes }),
        );
        msgs
    }
}

fn set_self_next_hop(a: &mut Attrs, to: &PeerInfo, afi: Afi) {
    match afi {
        Afi::Ipv4 => {
            a.next_hop = to.local_addr_v4;
            a.mp_next_hop = None;
        }
        Afi::Ipv6 => {
            a.next_hop = None;
            a.mp_next_hop = to.local_addr_v6.map(|v6| MpNextHop {
                addr: IpAddr::V6(v6),
                link_local: None,
            });
        }
    }
}

/// Why a prefix is not in a peer's Adj-RIB-Out (the RIB's own rules; `Policy` when the
/// policy hook said no, whose reason the policy's owner can tell).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExportBlock {
    /// No accepted path: nothing to send.
    NoBestPath,
    /// The session is not Established.
    PeerDown,
    /// The prefix's family is not negotiated with this peer.
    FamilyNotNegotiated,
    /// The path carries NO_ADVERTISE (RFC 1997).
    NoAdvertise,
    /// The path carries NO_EXPORT or NO_EXPORT_SUBCONFED and the peer is eBGP.
    NoExport,
    /// iBGP-learned to an iBGP peer, and this node is no route reflector (RFC 4271 §9.2).
    IbgpSplitHorizon,
    /// Reflection between two non-clients (RFC 4456 §6).
    NonClientToNonClient,
    /// The policy sends this peer no learned path at all, only local ones.
    LearnedNotExported,
    /// The policy hook refused it.
    Policy,
    /// The best path has no next hop of the prefix's family for this peer.
    NoNextHop,
    /// The best path came from this peer: nothing is sent back to it.
    FromThisPeer,
}

impl ExportBlock {
    /// Short name (JSON field).
    pub(crate) fn label(self) -> &'static str {
        match self {
            ExportBlock::NoBestPath => "no-best-path",
            ExportBlock::PeerDown => "peer-down",
            ExportBlock::FamilyNotNegotiated => "family-not-negotiated",
            ExportBlock::NoAdvertise => "no-advertise",
            ExportBlock::NoExport => "no-export",
            ExportBlock::IbgpSplitHorizon => "ibgp-split-horizon",
            ExportBlock::NonClientToNonClient => "non-client-to-non-client",
            ExportBlock::LearnedNotExported => "learned-not-exported",
            ExportBlock::Policy => "policy",
            ExportBlock::NoNextHop => "no-next-hop",
            ExportBlock::FromThisPeer => "from-this-peer",
        }
    }
}

impl std::fmt::Display for ExportBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ExportBlock::NoBestPath => "no accepted path to send",
            ExportBlock::PeerDown => "the session is not Established",
            ExportBlock::FamilyNotNegotiated => {
                "the address family is not negotiated with this peer"
            }
            ExportBlock::NoAdvertise => "the path carries NO_ADVERTISE",
            ExportBlock::NoExport => "the path carries NO_EXPORT and the peer is in another AS",
            ExportBlock::IbgpSplitHorizon => {
                "learned over iBGP and the peer is iBGP: only a route reflector passes it on"
            }
            ExportBlock::NonClientToNonClient => {
                "reflection between two non-clients is not allowed (RFC 4456)"
            }
            ExportBlock::LearnedNotExported => "this peer is sent only this node's own routes",
            ExportBlock::Policy => "refused by export policy",
            ExportBlock::NoNextHop => "no next hop of this address family for the peer",
            ExportBlock::FromThisPeer => "the best path was learned from this peer",
        })
    }
}

/// One prefix towards one peer, for `kube-bgp explain`: what its Adj-RIB-Out holds and
/// what the export decision gives now (they differ only while a change waits to be sent).
#[derive(Clone, Debug)]
pub(crate) struct ExportView {
    pub(crate) sent: Option<Arc<Attrs>>,
    pub(crate) decision: Result<Arc<Attrs>, ExportBlock>,
    /// A change of this prefix is waiting for the next flush.
    pub(crate) pending: bool,
}

/// The BGP export rules (before policy): why not, when the path must not go to `to`.
/// `src` is the peer the path was learned from, `None` for a local path.
fn rewrite(
    cfg: &RibConfig,
    to: &PeerInfo,
    afi: Afi,
    src: Option<&PeerInfo>,
    a: &Attrs,
) -> Result<Attrs, ExportBlock> {
    if !to.families.contains(&afi) {
        return Err(ExportBlock::FamilyNotNegotiated);
    }
    if a.communities.contains(&community::NO_ADVERTISE) {
        return Err(ExportBlock::NoAdvertise);
    }
    let no_export = a.communities.contains(&community::NO_EXPORT)
        || a.communities.contains(&community::NO_EXPORT_SUBCONFED);
    let mut o = a.clone();
    if !to.ibgp {
        if no_export {
            return Err(ExportBlock::NoExport);
        }
        o.as_path.prepend(to.local_asn, 1);
        o.local_pref = None;
        o.originator_id = None;
        o.cluster_list.clear();
        if src.is_some() {
            // MED is not propagated from another AS.
            o.med = None;
        }
        // A local path keeps the next hop it was originated with (the node's address
        // of the route's family, as GoBGP and so kube-router do) unless the peer wants
        // next-hop-self or the path has none for this family; learned paths get ours.
        if src.is_some() || to.next_hop_self || o.next_hop_for(afi).is_none() {
            set_self_next_hop(&mut o, to, afi);
        }
        return Ok(o);
    }
    o.local_pref.get_or_insert(DEFAULT_LOCAL_PREF);
    match src {
        None => {
            if to.next_hop_self || o.next_hop_for(afi).is_none() {
                set_self_next_hop(&mut o, to, afi);
            }
        }
        Some(s) if !s.ibgp => {
            if to.next_hop_self {
                set_self_next_hop(&mut o, to, afi);
            }
        }
        Some(s) => {
            // iBGP-learned to iBGP: only when reflecting (RFC 4456 §6).
            let cluster = cfg.cluster_id.ok_or(ExportBlock::IbgpSplitHorizon)?;
            if !(s.rr_client || to.rr_client) {
                return Err(ExportBlock::NonClientToNonClient);
            }
            o.originator_id.get_or_insert(s.router_id);
            o.cluster_list.insert(0, cluster);
        }
    }
    Ok(o)
}

type RewriteCache = IdMap<(usize, u32), Result<Arc<Attrs>, ExportBlock>>;

/// What the Adj-RIB-Out of a group represented by `rep` holds for prefix `id`: the
/// attributes to send (and the source peer that gets nothing), or why nothing. The one
/// export decision, used by every flush and by `Rib::explain_export`.
/// `learned`: the policy may export learned paths to this group at all.
#[allow(clippy::too_many_arguments)]
fn export_decision(
    cfg: &RibConfig,
    table: &super::table::Table,
    peers: &[Option<super::RibPeer>],
    policy: &dyn super::Policy,
    interner: &mut super::intern::Interner,
    rep: &PeerInfo,
    id: u32,
    learned: bool,
    cache: &mut RewriteCache,
) -> Result<OutSlot, ExportBlock> {
    let e = table.entry(id).ok_or(ExportBlock::NoBestPath)?;
    let best = e.best().ok_or(ExportBlock::NoBestPath)?;
    if !learned && best.src != LOCAL_SRC {
        return Err(ExportBlock::LearnedNotExported);
    }
    let attrs = &best.attrs;
    let src = if best.src == LOCAL_SRC {
        None
    } else {
        match peers.get(best.src as usize) {
            Some(Some(s)) => Some(&s.info),
            _ => return Err(ExportBlock::NoBestPath),
        }
    };
    let prefix = table.prefix_of(e);
    let afi = prefix.afi();
    let key = (Arc::as_ptr(attrs) as usize, best.src);
    let r = cache
        .entry(key)
        .or_insert_with(|| rewrite(cfg, rep, afi, src, attrs).map(|a| interner.intern(a)))
        .clone()?;
    let source = src.map_or(Source::Local, Source::Peer);
    let mut cow = Cow::Borrowed(&*r);
    if !policy.export(rep, &prefix, source, &mut cow) {
        return Err(ExportBlock::Policy);
    }
    let fin = match cow {
        Cow::Borrowed(_) => r.clone(),
        Cow::Owned(a) => interner.intern(a),
    };
    if fin.next_hop_for(afi).is_none() {
        return Err(ExportBlock::NoNextHop);
    }
    Ok(OutSlot {
        attrs: Some(fin),
        except: best.src,
    })
}

impl Rib {
    fn group_key(&self, info: &PeerInfo) -> GroupKey {
        let mut families = info.families.clone();
        families.sort();
        families.dedup();
        GroupKey {
            ibgp: info.ibgp,
            rr_client: info.rr_client,
            local_asn: info.local_asn,
            remote_asn: if info.ibgp { 0 } else { info.remote_asn },
            local_addr_v4: info.local_addr_v4,
            local_addr_v6: info.local_addr_v6,
            next_hop_self: info.next_hop_self,
            families,
            policy: self.policy.export_group(info),
        }
    }

    /// The group for peer `id`'s current settings, created (fresh) if needed.
    pub(super) fn group_for(&mut self, id: PeerId) -> usize {
        let Some(key) = self.slot(id).map(|s| self.group_key(&s.info)) else {
            return usize::MAX;
        };
        if let Some(i) = self
            .groups
            .iter()
            .position(|g| g.as_ref().is_some_and(|g| g.key == key))
        {
            return i;
        }
        let g = UpdateGroup {
            key,
            rep: id,
            members: Vec::new(),
            joiners: Vec::new(),
            movers: Vec::new(),
            slots: Slots::default(),
            fresh: true,
            advertised: 0,
            excepts: IdMap::default(),
        };
        if let Some(i) = self.groups.iter().position(Option::is_none) {
            self.groups[i] = Some(g);
            i
        } else {
            self.groups.push(Some(g));
            self.groups.len() - 1
        }
    }

    /// Takes peer `id` out of its group, returning what it had been sent (`None` if it
    /// had been sent nothing yet). An emptied group is dropped.
    pub(super) fn leave_group(&mut self, id: PeerId) -> Option<HashMap<Prefix, Arc<Attrs>>> {
        let gi = self.peers.get_mut(id.0 as usize)?.as_mut()?.group.take()?;
        let g = self.groups.get_mut(gi)?.as_mut()?;
        let mut sent = None;
        if let Ok(i) = g.members.binary_search(&id) {
            g.members.remove(i);
            let mut m = HashMap::new();
            for (idx, s) in g.slots.iter() {
                if let (Some(a), true) = (&s.attrs, s.except != id.0) {
                    if let Some(p) = self.table.prefix(idx) {
                        m.insert(p, a.clone());
                    }
                }
            }
            sent = Some(m);
        }
        g.joiners.retain(|&p| p != id);
        if let Some(i) = g.movers.iter().position(|(p, _)| *p == id) {
            sent = Some(g.movers.swap_remove(i).1);
        }
        if g.rep == id {
            // Any remaining peer of the group represents it: they all share its key.
            let next = g.members.first().or(g.joiners.first());
            if let Some(&p) = next.or(g.movers.first().map(|(p, _)| p)) {
                g.rep = p;
            }
        }
        if g.is_empty() {
            self.groups[gi] = None;
            let ids: Vec<u32> = self.table.live_ids().collect();
            for i in ids {
                self.maybe_free(i);
            }
        }
        sent
    }

    /// Moves an established peer to the group matching its settings, if that changed.
    pub(super) fn regroup(&mut self, id: PeerId) {
        let Some(slot) = self.slot(id) else { return };
        let key = self.group_key(&slot.info);
        let current = slot.group.and_then(|g| self.groups.get(g)?.as_ref());
        if current.is_some_and(|g| g.key == key) {
            return;
        }
        let sent = self.leave_group(id);
        let gi = self.group_for(id);
        if let Some(Some(g)) = self.groups.get_mut(gi) {
            match sent {
                Some(m) => g.movers.push((id, m)),
                None => g.joiners.push(id),
            }
        }
        if let Some(Some(s)) = self.peers.get_mut(id.0 as usize) {
            s.group = Some(gi);
        }
    }

    /// Asks for the whole Adj-RIB-Out to be sent again to an established peer (route
    /// refresh); only the table, no End-of-RIB.
    pub(crate) fn resend(&mut self, id: PeerId) {
        let gi = match self.slot(id) {
            Some(s) if s.up => s.group,
            _ => None,
        };
        if let Some(g) = gi.and_then(|gi| self.groups.get_mut(gi)?.as_mut()) {
            if let Ok(i) = g.members.binary_search(&id) {
                g.members.remove(i);
                g.movers.push((id, HashMap::new()));
            }
        }
    }

    /// What each established peer must be sent since the last call: the differences
    /// against its Adj-RIB-Out, and full tables plus End-of-RIB for new sessions.
    pub fn take_out(&mut self) -> Vec<OutBatch> {
        self.take_out_max(usize::MAX)
    }

    /// Like `take_out`, but handles at most `limit` changed prefixes per call (bounded
    /// memory while a large table arrives); call again while `has_out` is true. Full
    /// tables for new sessions and re-evaluation after a policy change are not bounded.
    pub fn take_out_max(&mut self, limit: usize) -> Vec<OutBatch> {
        let mut out = std::mem::take(&mut self.pending);
        let mut dirty = self
            .export_dirty
            .drain(&mut self.table, F_EXPORT, limit, ScanOrder::Id);
        let all: Vec<u32> = if self.export_all || self.groups.iter().flatten().any(|g| g.fresh) {
            self.table.live_ids().collect()
        } else {
            Vec::new()
        };
        for gi in 0..self.groups.len() {
            let Some(mut g) = self.groups.get_mut(gi).and_then(Option::take) else {
                continue;
            };
            let ids = if g.fresh || self.export_all {
                &all
            } else {
                &dirty
            };
            self.flush_group(&mut g, ids, &mut out);
            g.fresh = false;
            self.dump(&mut g, &mut out);
            if let Some(slot) = self.groups.get_mut(gi) {
                *slot = Some(g);
            }
        }
        self.export_all = false;
        dirty.extend(all);
        for id in dirty {
            self.maybe_free(id);
        }
        self.interner.maybe_gc();
        out
    }

    /// The settings of the peer representing group `g`.
    fn rep_info(&self, g: &UpdateGroup) -> Option<&PeerInfo> {
        self.slot(g.rep).map(|s| &s.info)
    }

    /// The Adj-RIB-Out entry of prefix `id` for group `g` (empty if the group has no
    /// representative, which `leave_group` rules out).
    /// `learned`: the policy may export learned paths to this group at all.
    fn compute(
        &mut self,
        g: &UpdateGroup,
        id: u32,
        learned: bool,
        cache: &mut RewriteCache,
    ) -> OutSlot {
        let Some(Some(rep)) = self.peers.get(g.rep.0 as usize) else {
            return OutSlot::default();
        };
        export_decision(
            &self.cfg,
            &self.table,
            &self.peers,
            &*self.policy,
            &mut self.interner,
            &rep.info,
            id,
            learned,
            cache,
        )
        .unwrap_or_default()
    }

    /// One prefix towards one peer (see [`ExportView`]): the same decision a flush
    /// takes, on scratch storage, so asking changes nothing.
    pub(crate) fn explain_export(&self, peer: PeerId, prefix: &Prefix) -> ExportView {
        let id = self.table.get(prefix);
        let pending = id
            .and_then(|i| self.table.entry(i))
            .is_some_and(|e| e.flags() & F_EXPORT != 0);
        let slot = self.slot(peer);
        let group = slot
            .filter(|s| s.up)
            .and_then(|s| s.group)
            .and_then(|g| self.groups.get(g)?.as_ref());
        let sent = match (id, group) {
            (Some(i), Some(g)) if g.members.binary_search(&peer).is_ok() => g
                .slots
                .get(i)
                .filter(|s| s.except != peer.0)
                .and_then(|s| s.attrs.clone()),
            _ => None,
        };
        let decision = match (slot, id) {
            (None, _) => Err(ExportBlock::PeerDown),
            (Some(s), _) if !s.up => Err(ExportBlock::PeerDown),
            (_, None) => Err(ExportBlock::NoBestPath),
            (Some(_), Some(i))
                if self
                    .table
                    .entry(i)
                    .and_then(|e| e.best())
                    .is_some_and(|b| b.src == peer.0) =>
            {
                Err(ExportBlock::FromThisPeer)
            }
            (Some(s), Some(i)) => {
                let learned = self.policy.exports_learned(&s.info);
                let mut interner = super::intern::Interner::default();
                let mut cache = RewriteCache::default();
                export_decision(
                    &self.cfg,
                    &self.table,
                    &self.peers,
                    &*self.policy,
                    &mut interner,
                    &s.info,
                    i,
                    learned,
                    &mut cache,
                )
                .and_then(|o| {
                    if o.except == peer.0 {
                        Err(ExportBlock::FromThisPeer)
                    } else {
                        o.attrs.ok_or(ExportBlock::NoBestPath)
                    }
                })
            }
        };
        ExportView {
            sent,
            decision,
            pending,
        }
    }

    fn flush_group(&mut self, g: &mut UpdateGroup, ids: &[u32], out: &mut Vec<OutBatch>) {
        let limit = self.table.id_limit();
        let learned = self
            .rep_info(g)
            .is_some_and(|r| self.policy.exports_learned(r));
        debug_assert!(
            self.rep_info(g).is_some_and(|r| self.group_key(r) == g.key),
            "update group represented by a peer of another export class"
        );
        let mut cache = RewriteCache::default();
        let mut shared: BTreeMap<u32, Builder> = BTreeMap::new();
        let mut single: BTreeMap<PeerId, Builder> = BTreeMap::new();
        let start = g.advertised;
        for (done, &id) in ids.iter().enumerate() {
            // A group filling fast (a new one exporting much of the table, which may
            // arrive over many flushes) goes dense early rather than through a large
            // map first: the share of slots this flush added, over the whole table.
            if done % 1024 == 1023 && g.advertised > start {
                let share = (g.advertised - start) * self.table.len() / done;
                g.slots.expect(share, limit);
            }
            let Some(prefix) = self.table.live_prefix(id) else {
                continue;
            };
            let new = self.compute(g, id, learned, &mut cache);
            let old = g.slots.get(id).cloned().unwrap_or_default();
            let same_attrs = match (&old.attrs, &new.attrs) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            };
            if same_attrs && (old.except == new.except || new.attrs.is_none()) {
                continue;
            }
            let member = |e: u32| {
                if e != NO_PEER && g.members.binary_search(&PeerId(e)).is_ok() {
                    e
                } else {
                    NO_PEER
                }
            };
            let (oe, ne) = (member(old.except), member(new.except));
            match (&old.attrs, &new.attrs) {
                (None, None) => {}
                (None, Some(n)) => shared.entry(ne).or_default().announce(n, prefix),
                (Some(_), None) => shared.entry(oe).or_default().withdraws.push(prefix),
                (Some(_), Some(n)) => {
                    if !same_attrs {
                        shared.entry(ne).or_default().announce(n, prefix);
                    } else if oe != NO_PEER && oe != ne {
                        single.entry(PeerId(oe)).or_default().announce(n, prefix);
                    }
                    if ne != NO_PEER && ne != oe {
                        single.entry(PeerId(ne)).or_default().withdraws.push(prefix);
                    }
                }
            }
            g.set_slot(id, new, limit);
        }
        g.slots.rebalance(limit);
        if g.members.is_empty() {
            return;
        }
        let peers: Arc<[PeerId]> = g.members.as_slice().into();
        for (except, b) in shared {
            if g.members.len() == 1 && g.members.first() == Some(&PeerId(except)) {
                continue;
            }
            out.push(OutBatch {
                peers: peers.clone(),
                except: (except != NO_PEER).then_some(PeerId(except)),
                msgs: b.into_msgs(),
            });
        }
        for (p, b) in single {
            out.push(OutBatch {
                peers: Arc::new([p]),
                except: None,
                msgs: b.into_msgs(),
            });
        }
    }

    /// Full tables for joiners (then End-of-RIB), differences for movers.
    fn dump(&mut self, g: &mut UpdateGroup, out: &mut Vec<OutBatch>) {
        if !g.joiners.is_empty() {
            let mut joiners = std::mem::take(&mut g.joiners);
            joiners.sort();
            joiners.dedup();
            let mut by_except: BTreeMap<u32, Builder> = BTreeMap::new();
            for (idx, s) in g.slots.iter() {
                let (Some(a), Some(p)) = (&s.attrs, self.table.prefix(idx)) else {
                    continue;
                };
                let key = if joiners.binary_search(&PeerId(s.except)).is_ok() {
                    if joiners.len() == 1 {
                        continue;
                    }
                    s.except
                } else {
                    NO_PEER
                };
                by_except.entry(key).or_default().announce(a, p);
            }
            let peers: Arc<[PeerId]> = joiners.as_slice().into();
            by_except.entry(NO_PEER).or_default();
            for (except, b) in by_except {
                let mut msgs = b.into_msgs();
                if except == NO_PEER {
                    msgs.extend(g.key.families.iter().map(|&f| OutMsg::EndOfRib(f)));
                }
                out.push(OutBatch {
                    peers: peers.clone(),
                    except: (except != NO_PEER).then_some(PeerId(except)),
                    msgs,
                });
            }
            g.members.extend(joiners);
        }
        for (p, mut prev) in std::mem::take(&mut g.movers) {
            let mut b = Builder::default();
            for (idx, s) in g.slots.iter() {
                let (Some(a), Some(prefix)) = (&s.attrs, self.table.prefix(idx)) else {
                    continue;
                };
                if s.except == p.0 {
                    continue;
                }
                match prev.remove(&prefix) {
                    Some(old) if Arc::ptr_eq(&old, a) => {}
                    _ => b.announce(a, prefix),
                }
            }
            b.withdraws.extend(prev.into_keys());
            b.withdraws.sort();
            let msgs = b.into_msgs();
            if !msgs.is_empty() {
                out.push(OutBatch {
                    peers: Arc::new([p]),
                    except: None,
                    msgs,
                });
            }
            g.members.push(p);
        }
        g.members.sort();
        g.members.dedup();
    }
}
