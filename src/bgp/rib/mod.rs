//! The RIB: Adj-RIB-In per peer, the Loc-RIB with the RFC 4271 decision process, and
//! Adj-RIB-Out per update group with iBGP split horizon and RFC 4456 route reflection.
//!
//! Owns: paths (pre- and post-import-policy), best-path selection, what each peer was
//! last sent, graceful-restart stale paths, and the queues of pending changes (for peers
//! and for the kernel/CLI). Must not: do I/O, read the clock or encode messages. Input
//! is decoded updates and peer events; output is `OutBatch`es of attribute-grouped
//! prefixes (encoded once per batch by the speaker) and best-path changes.
//!
//! Storage: every prefix has a dense id (`table`); paths live inline in its entry, with
//! one attribute pointer each (the pre-policy attributes of the few paths import
//! changed are kept beside, keyed by prefix id and source); attribute sets are interned
//! (`intern`); each update group (peers with the same export class) keeps its
//! Adj-RIB-Out by prefix id, sparse or dense as it fills (`out`).

mod best;
mod intern;
mod out;
mod policy;
#[cfg(test)]
mod rib_tests;
mod table;
mod view;

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use crate::bgp::types::{Afi, Attrs, Prefix, Update};

pub(crate) use best::{BestStep, DEFAULT_LOCAL_PREF};
#[cfg(test)]
pub(crate) use out::messages_for;
pub(crate) use out::{ExportBlock, OutBatch, OutMsg};
pub use policy::{AcceptAll, Policy, Source};
pub(crate) use table::Path;

use intern::Interner;
use out::UpdateGroup;
use table::{F_BEST, F_EXPORT, F_LIVE, IdMap, LOCAL_SRC, Table};

/// Bytes of a std `HashMap`/`HashSet` whose `capacity()` is `capacity`, with `T` per
/// bucket (hashbrown: buckets of `T`, one control byte each, plus one group's width).
pub(crate) fn map_bytes<T>(capacity: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let buckets = if capacity < 8 {
        capacity + 1
    } else {
        capacity / 7 * 8
    };
    buckets * (std::mem::size_of::<T>() + 1) + 16
}

/// Prefixes of an UPDATE whose index slots are loaded together before they are
/// applied (see `Table::touch`).
const TOUCH_AHEAD: usize = 32;

/// A peer's handle in the RIB (small, reused after `remove_peer`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct PeerId(pub u32);

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "peer#{}", self.0)
    }
}

/// What the RIB needs to know about a neighbour.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PeerInfo {
    pub addr: IpAddr,
    pub remote_asn: u32,
    pub local_asn: u32,
    /// The remote's BGP identifier (known once Established).
    pub router_id: Ipv4Addr,
    pub ibgp: bool,
    /// The peer is a route-reflector client of ours (meaningful with a cluster id).
    pub rr_client: bool,
    pub families: Vec<Afi>,
    /// Our addresses on this session, used as next hop towards it.
    pub local_addr_v4: Option<Ipv4Addr>,
    pub local_addr_v6: Option<Ipv6Addr>,
    pub next_hop_self: bool,
}

/// RIB-wide configuration.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RibConfig {
    /// Our BGP identifier (ORIGINATOR_ID loop check).
    pub router_id: Ipv4Addr,
    /// Set: we are a route reflector with this CLUSTER_ID (RFC 4456).
    pub cluster_id: Option<Ipv4Addr>,
}

#[cfg(test)]
/// The best path of a prefix as the kernel and CLI see it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct BestInfo {
    /// Next hop for the prefix's family (unspecified when the path has none, which
    /// only happens for locally originated paths).
    pub(crate) next_hop: IpAddr,
    /// `None` for a locally originated path.
    pub(crate) peer: Option<PeerId>,
    pub(crate) attrs: Arc<Attrs>,
}

/// Per-peer counters (gobgp's received / accepted / advertised).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) struct PeerCounters {
    pub(crate) received: usize,
    pub(crate) accepted: usize,
    pub(crate) advertised: usize,
}

/// Why a RIB call was refused.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum RibError {
    UnknownPeer(PeerId),
    PeerNotUp(PeerId),
    /// An update announced prefixes without path attributes.
    MissingAttrs(PeerId),
}

impl fmt::Display for RibError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RibError::UnknownPeer(p) => write!(f, "rib: unknown {p}"),
            RibError::PeerNotUp(p) => write!(f, "rib: {p} is not established"),
            RibError::MissingAttrs(p) => {
                write!(
                    f,
                    "rib: update from {p} announces prefixes without attributes"
                )
            }
        }
    }
}

impl std::error::Error for RibError {}

#[derive(Debug)]
struct RibPeer {
    info: PeerInfo,
    up: bool,
    group: Option<usize>,
    /// Paths held from the peer, accepted or not (and of them, IPv6 ones): what a
    /// prefix limit counts.
    received: usize,
    received_v6: usize,
    accepted: usize,
}

/// The order in which a scan of a large change set hands ids over; the consumer
/// chooses it (see [`Rib::take_best_changed`]). Ids follow arrival order, and a peer
/// sends its table in address order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ScanOrder {
    /// Id order: cheapest for the RIB (sequential memory).
    #[default]
    Id,
    /// Bit-reversed id order (0, N/2, N/4, 3N/4, ...): a large change set handed over
    /// spread across the address space; a cache miss per id in the scan.
    BitReversed,
}

/// Ids whose state changed, with a flag bit in the entry to avoid duplicates. When the
/// list would grow past a fraction of the table, it switches to scanning the flags, in
/// the [`ScanOrder`] the first drain of the scan asks for.
#[derive(Debug, Default)]
struct Dirty {
    ids: Vec<u32>,
    scan: bool,
    scattered: bool,
    /// Next scan position, in `0..1 << bits`; when scattered, position and id are
    /// bit-reversals of each other, else equal.
    cursor: u64,
    /// The scan covers ids below `1 << bits` (fixed when it starts); ids made later are
    /// listed in `ids`.
    bits: u32,
}

/// The id at scan position `pos` (and the position of id `pos`) in a `bits`-bit space.
fn scatter(pos: u64, bits: u32) -> u64 {
    if bits == 0 {
        return 0;
    }
    u64::from((pos as u32).reverse_bits() >> (32 - bits))
}

impl Dirty {
    /// The id at scan position `pos` (and the position of id `pos`).
    fn at(&self, pos: u64) -> u64 {
        if self.scattered {
            scatter(pos, self.bits)
        } else {
            pos
        }
    }

    /// Starts a scan covering every id below `id_limit`.
    fn start_scan(&mut self, id_limit: usize) {
        self.ids = Vec::new();
        self.scan = true;
        self.cursor = 0;
        self.bits = (usize::BITS - id_limit.saturating_sub(1).leading_zeros()).min(32);
    }

    /// Whether a running scan has yet to reach `id`.
    fn ahead(&self, id: u32) -> bool {
        self.scan && u64::from(id) < 1 << self.bits && self.at(u64::from(id)) >= self.cursor
    }

    fn mark(&mut self, id: u32, table_len: usize, id_limit: usize) {
        if self.ahead(id) {
            return;
        }
        self.ids.push(id);
        // Also while scanning: ids made after the scan started pile up in the list;
        // a new scan over the whole range takes them (flags cleared by the old scan
        // are skipped), still in scattered order.
        if self.ids.len() > 65_536 && self.ids.len() > table_len / 4 {
            self.start_scan(id_limit);
        }
    }

    /// Takes up to `limit` ids whose `flag` is set, clearing it. A scan takes `order`
    /// when it starts handing ids over (until then no position has been passed, so the
    /// order can still be chosen).
    fn drain(&mut self, table: &mut Table, flag: u8, limit: usize, order: ScanOrder) -> Vec<u32> {
        let mut out = Vec::new();
        if self.scan && self.cursor == 0 {
            self.scattered = order == ScanOrder::BitReversed;
        }
        if self.scan {
            let end = 1u64 << self.bits;
            while self.cursor < end && out.len() < limit {
                let id = self.at(self.cursor) as u32;
                self.cursor += 1;
                if let Some(e) = table.entry_mut(id) {
                    if e.flags() & flag != 0 {
                        e.clear_flags(flag);
                        out.push(id);
                    }
                }
            }
            if self.cursor >= end {
                self.scan = false;
                self.cursor = 0;
            }
        }
        while out.len() < limit {
            let Some(id) = self.ids.pop() else { break };
            if let Some(e) = table.entry_mut(id) {
                if e.flags() & flag != 0 {
                    e.clear_flags(flag);
                    out.push(id);
                }
            }
        }
        if self.ids.is_empty() && self.ids.capacity() > 4096 {
            self.ids = Vec::new();
        }
        out
    }

    fn is_empty(&self) -> bool {
        !self.scan && self.ids.is_empty()
    }
}

/// The routing information base. See the module documentation.
pub struct Rib {
    cfg: RibConfig,
    policy: Box<dyn Policy>,
    peers: Vec<Option<RibPeer>>,
    table: Table,
    interner: Interner,
    /// Pre-policy attributes of the paths whose import changed them (`Path::modified`),
    /// by `path_key(prefix id, source)`.
    received: IdMap<u64, Arc<Attrs>>,
    groups: Vec<Option<UpdateGroup>>,
    best_dirty: Dirty,
    export_dirty: Dirty,
    /// Every group recomputes every prefix at the next flush (policy change).
    export_all: bool,
    /// Per-peer batches produced outside a flush (moves between groups).
    pending: Vec<OutBatch>,
}

/// (source, attribute pointer) of an entry's best path, for change detection.
fn best_ident(e: &table::PrefixEntry) -> Option<(u32, *const Attrs)> {
    e.best().map(|p| (p.src, Arc::as_ptr(&p.attrs)))
}

/// Key of a path's pre-policy attributes in `Rib::received`.
fn path_key(id: u32, src: u32) -> u64 {
    u64::from(id) << 32 | u64::from(src)
}

/// A path holding import's result: the accepted attributes, or the received ones when
/// rejected. When it comes out `modified`, the caller keeps `received` aside.
fn make_path(src: u32, received: &Arc<Attrs>, accepted: Option<Arc<Attrs>>) -> Path {
    let (attrs, rejected, modified) = match accepted {
        Some(a) => {
            let modified = !Arc::ptr_eq(&a, received);
            (a, false, modified)
        }
        None => (received.clone(), true, false),
    };
    Path {
        attrs,
        src,
        stale: false,
        rejected,
        modified,
    }
}

/// Why the RIB itself refuses a received path before any import policy runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ImportLoop {
    /// Our AS is in the AS_PATH (RFC 4271 §9.1.2).
    AsPath(u32),
    /// The ORIGINATOR_ID is our router ID (RFC 4456 §8).
    OriginatorId,
    /// Our CLUSTER_ID is in the CLUSTER_LIST (RFC 4456 §8).
    ClusterList,
}

impl ImportLoop {
    /// Short name (JSON field).
    pub(crate) fn label(self) -> &'static str {
        match self {
            ImportLoop::AsPath(_) => "as-loop",
            ImportLoop::OriginatorId => "originator-id-loop",
            ImportLoop::ClusterList => "cluster-list-loop",
        }
    }
}

impl fmt::Display for ImportLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportLoop::AsPath(asn) => write!(f, "AS loop: our AS {asn} is in the AS_PATH"),
            ImportLoop::OriginatorId => f.write_str("ORIGINATOR_ID is our own router ID"),
            ImportLoop::ClusterList => f.write_str("our CLUSTER_ID is in the CLUSTER_LIST"),
        }
    }
}

/// RFC 4271 §9.1.2 AS loop, RFC 4456 §8 ORIGINATOR_ID and CLUSTER_LIST loops.
fn import_loop_check(cfg: &RibConfig, peer: &PeerInfo, a: &Attrs) -> Result<(), ImportLoop> {
    if a.as_path.contains(peer.local_asn) {
        return Err(ImportLoop::AsPath(peer.local_asn));
    }
    if a.originator_id == Some(cfg.router_id) {
        return Err(ImportLoop::OriginatorId);
    }
    if cfg.cluster_id.is_some_and(|c| a.cluster_list.contains(&c)) {
        return Err(ImportLoop::ClusterList);
    }
    Ok(())
}

fn import_loop_free(cfg: &RibConfig, peer: &PeerInfo, a: &Attrs) -> bool {
    import_loop_check(cfg, peer, a).is_ok()
}

/// The attributes import policy starts from: LOCAL_PREF from an eBGP peer is ignored.
fn import_base(interner: &mut Interner, peer: &PeerInfo, received: &Arc<Attrs>) -> Arc<Attrs> {
    if !peer.ibgp && received.local_pref.is_some() {
        let mut a = (**received).clone();
        a.local_pref = None;
        interner.intern(a)
    } else {
        received.clone()
    }
}

fn import_policy(
    policy: &dyn Policy,
    interner: &mut Interner,
    peer: &PeerInfo,
    prefix: &Prefix,
    base: &Arc<Attrs>,
) -> Option<Arc<Attrs>> {
    let mut cow = Cow::Borrowed(&**base);
    if !policy.import(peer, prefix, &mut cow) {
        return None;
    }
    Some(match cow {
        Cow::Borrowed(_) => base.clone(),
        Cow::Owned(a) => interner.intern(a),
    })
}

impl Rib {
    pub fn new(cfg: RibConfig, policy: Box<dyn Policy>) -> Rib {
        Rib {
            cfg,
            policy,
            peers: Vec::new(),
            table: Table::default(),
            interner: Interner::default(),
            received: IdMap::default(),
            groups: Vec::new(),
            best_dirty: Dirty::default(),
            export_dirty: Dirty::default(),
            export_all: false,
            pending: Vec::new(),
        }
    }

    pub(crate) fn config(&self) -> &RibConfig {
        &self.cfg
    }

    /// An estimate of the heap bytes held by the RIB's own storage, computed from the
    /// capacities of its vectors and maps (the prefix table, attribute sets, Adj-RIB-Out
    /// of every update group, dirty lists and peers; not batches waiting in `take_out`).
    pub fn heap_bytes(&self) -> usize {
        self.heap_parts().iter().map(|p| p.1).sum()
    }

    /// `heap_bytes` by component, for tests and diagnostics.
    pub(crate) fn heap_parts(&self) -> Vec<(&'static str, usize)> {
        let peers = self.peers.capacity() * std::mem::size_of::<Option<RibPeer>>()
            + self
                .peers
                .iter()
                .flatten()
                .map(|s| s.info.families.capacity() * std::mem::size_of::<Afi>())
                .sum::<usize>();
        let groups = self.groups.capacity() * std::mem::size_of::<Option<UpdateGroup>>()
            + self
                .groups
                .iter()
                .flatten()
                .map(UpdateGroup::heap_bytes)
                .sum::<usize>();
        let dirty = (self.best_dirty.ids.capacity() + self.export_dirty.ids.capacity()) * 4;
        vec![
            ("table", self.table.heap_bytes()),
            ("attrs", self.interner.heap_bytes()),
            (
                "received",
                map_bytes::<(u64, Arc<Attrs>)>(self.received.capacity()),
            ),
            ("groups", groups),
            ("dirty", dirty),
            ("peers", peers),
        ]
    }

    /// Becomes, stops being, or changes cluster as a route reflector. Sessions are not
    /// touched (the CLUSTER_ID is not negotiated); call `reevaluate` to re-run the
    /// loop checks and export with it.
    pub(crate) fn set_cluster_id(&mut self, cluster_id: Option<Ipv4Addr>) {
        self.cfg.cluster_id = cluster_id;
    }

    // ----- peers -----

    /// Registers a configured peer (not yet established).
    pub fn add_peer(&mut self, info: PeerInfo) -> PeerId {
        let slot = RibPeer {
            info,
            up: false,
            group: None,
            received: 0,
            received_v6: 0,
            accepted: 0,
        };
        if let Some(i) = self.peers.iter().position(Option::is_none) {
            self.peers[i] = Some(slot);
            PeerId(i as u32)
        } else {
            self.peers.push(Some(slot));
            PeerId((self.peers.len() - 1) as u32)
        }
    }

    pub(crate) fn peer(&self, id: PeerId) -> Option<&PeerInfo> {
        self.slot(id).map(|s| &s.info)
    }

    pub(crate) fn is_up(&self, id: PeerId) -> bool {
        self.slot(id).is_some_and(|s| s.up)
    }

    /// Ids of all registered peers.
    pub(crate) fn peer_ids(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.peers
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_some())
            .map(|(i, _)| PeerId(i as u32))
    }

    fn slot(&self, id: PeerId) -> Option<&RibPeer> {
        self.peers.get(id.0 as usize).and_then(Option::as_ref)
    }

    fn slot_mut(&mut self, id: PeerId) -> Result<&mut RibPeer, RibError> {
        self.peers
            .get_mut(id.0 as usize)
            .and_then(Option::as_mut)
            .ok_or(RibError::UnknownPeer(id))
    }

    /// Changes a peer's settings. An established peer whose export class changes is
    /// moved to its new update group and sent only the differences.
    pub(crate) fn update_peer(&mut self, id: PeerId, info: PeerInfo) -> Result<(), RibError> {
        let slot = self.slot_mut(id)?;
        let changed_src = slot.info.ibgp != info.ibgp
            || slot.info.rr_client != info.rr_client
            || slot.info.router_id != info.router_id
            || slot.info.addr != info.addr
            || slot.info.local_asn != info.local_asn;
        slot.info = info;
        let up = slot.up;
        if changed_src {
            self.reimport(Some(id));
            self.export_all = true;
        }
        if up {
            self.regroup(id);
        }
        Ok(())
    }

    /// Forgets a peer: its paths are withdrawn from everyone (non-graceful).
    pub(crate) fn remove_peer(&mut self, id: PeerId) -> Result<(), RibError> {
        self.peer_down(id, false)?;
        if let Some(s) = self.peers.get_mut(id.0 as usize) {
            *s = None;
        }
        Ok(())
    }

    /// The session reached Established: the peer is sent the whole Adj-RIB-Out
    /// followed by End-of-RIB for each of its families at the next `take_out`.
    pub fn peer_up(&mut self, id: PeerId, info: PeerInfo) -> Result<(), RibError> {
        let slot = self.slot_mut(id)?;
        if slot.up {
            self.leave_group(id);
        }
        let slot = self.slot_mut(id)?;
        slot.info = info;
        slot.up = true;
        let g = self.group_for(id);
        if let Some(Some(group)) = self.groups.get_mut(g) {
            group.joiners.push(id);
        }
        if let Ok(slot) = self.slot_mut(id) {
            slot.group = Some(g);
        }
        Ok(())
    }

    /// The session went down. Not graceful: its paths are dropped. Graceful (RFC 4724):
    /// its paths are kept, marked stale, until `end_of_rib` or `stale_timeout`.
    pub fn peer_down(&mut self, id: PeerId, graceful: bool) -> Result<(), RibError> {
        let slot = self.slot_mut(id)?;
        slot.up = false;
        self.leave_group(id);
        if graceful {
            for e in &mut self.table.entries {
                for p in e.paths.as_mut_slice() {
                    if p.src == id.0 {
                        p.stale = true;
                    }
                }
            }
        } else {
            self.sweep(id, |_| true, false);
        }
        Ok(())
    }

    /// End-of-RIB from a peer: its still-stale paths of `afi` are removed.
    pub(crate) fn end_of_rib(&mut self, id: PeerId, afi: Afi) -> Result<(), RibError> {
        self.slot_mut(id)?;
        self.sweep(id, |p| p.afi() == afi, true);
        Ok(())
    }

    /// The restart timer of a peer expired: all its stale paths are removed.
    pub(crate) fn stale_timeout(&mut self, id: PeerId) -> Result<(), RibError> {
        self.slot_mut(id)?;
        self.sweep(id, |_| true, true);
        Ok(())
    }

    /// Removes paths of `id` whose prefix matches (only stale ones if `stale_only`).
    fn sweep(&mut self, id: PeerId, matches: impl Fn(&Prefix) -> bool, stale_only: bool) {
        let ids: Vec<u32> = self
            .table
            .live_ids()
            .filter(|&i| {
                self.table.entry(i).is_some_and(|e| {
                    matches(&self.table.prefix_of(e))
                        && e.paths
                            .as_slice()
                            .iter()
                            .any(|p| p.src == id.0 && (p.stale || !stale_only))
                })
            })
            .collect();
        for i in ids {
            if let Some(prefix) = self.table.prefix(i) {
                self.remove_path(id.0, &prefix);
            }
        }
        self.trim_received();
    }

    // ----- routes in -----

    /// Paths from an established peer sharing one attribute set.
    pub(crate) fn announce(
        &mut self,
        id: PeerId,
        attrs: Attrs,
        prefixes: &[Prefix],
    ) -> Result<(), RibError> {
        let slot = self.slot(id).ok_or(RibError::UnknownPeer(id))?;
        if !slot.up {
            return Err(RibError::PeerNotUp(id));
        }
        let info = slot.info.clone();
        let received = self.interner.intern(attrs);
        let base = import_loop_free(&self.cfg, &info, &received)
            .then(|| import_base(&mut self.interner, &info, &received));
        for chunk in prefixes.chunks(TOUCH_AHEAD) {
            self.table.touch(chunk);
            for prefix in chunk {
                let accepted = base.as_ref().and_then(|b| {
                    import_policy(&*self.policy, &mut self.interner, &info, prefix, b)
                });
                self.set_path(id.0, *prefix, &received, accepted);
            }
        }
        self.interner.maybe_gc();
        Ok(())
    }

    /// Withdrawals from a peer.
    pub(crate) fn withdraw(&mut self, id: PeerId, prefixes: &[Prefix]) -> Result<(), RibError> {
        let slot = self.slot(id).ok_or(RibError::UnknownPeer(id))?;
        if !slot.up {
            return Err(RibError::PeerNotUp(id));
        }
        for prefix in prefixes {
            self.remove_path(id.0, prefix);
        }
        self.trim_received();
        Ok(())
    }

    /// A decoded UPDATE: withdrawals, announcements and End-of-RIB.
    pub fn apply_update(&mut self, id: PeerId, update: Update) -> Result<(), RibError> {
        self.withdraw(id, &update.withdrawn)?;
        if !update.announced.is_empty() {
            let attrs = update.attrs.ok_or(RibError::MissingAttrs(id))?;
            self.announce(id, attrs, &update.announced)?;
        }
        if let Some(afi) = update.end_of_rib {
            self.end_of_rib(id, afi)?;
        }
        Ok(())
    }

    /// Originates a local route (wins over learned ones; not import-filtered).
    pub(crate) fn originate(&mut self, prefix: Prefix, attrs: Attrs) {
        let a = self.interner.intern(attrs);
        self.set_path(LOCAL_SRC, prefix, &a, Some(a.clone()));
    }

    /// Withdraws a locally originated route.
    pub(crate) fn withdraw_local(&mut self, prefix: &Prefix) {
        self.remove_path(LOCAL_SRC, prefix);
    }

    fn mark(&mut self, id: u32) {
        let (len, limit) = (self.table.len(), self.table.id_limit());
        let export = self.groups.iter().any(Option::is_some);
        let Some(e) = self.table.entry_mut(id) else {
            return;
        };
        let (nb, ne) = (e.flags() & F_BEST == 0, export && e.flags() & F_EXPORT == 0);
        e.add_flags(if export { F_BEST | F_EXPORT } else { F_BEST });
        if nb {
            self.best_dirty.mark(id, len, limit);
        }
        if ne {
            self.export_dirty.mark(id, len, limit);
        }
    }

    fn set_path(
        &mut self,
        src: u32,
        prefix: Prefix,
        received: &Arc<Attrs>,
        attrs: Option<Arc<Attrs>>,
    ) {
        let id = self.table.get_or_insert(prefix);
        let Some(e) = self.table.entry_mut(id) else {
            return;
        };
        let before = best_ident(e);
        let accepted = attrs.is_some();
        let path = make_path(src, received, attrs);
        let key = path_key(id, src);
        if path.modified {
            self.received.insert(key, received.clone());
        }
        let (mut new_path, mut was_accepted) = (true, false);
        let paths = e.paths.as_mut_slice();
        if let Some(p) = paths.iter_mut().find(|p| p.src == src) {
            new_path = false;
            was_accepted = !p.rejected;
            if p.modified && !path.modified {
                self.received.remove(&key);
            }
            *p = path;
        } else {
            e.paths.push(path);
        }
        if e.paths.as_slice().len() > 1 {
            best::select(&mut e.paths, &peer_lookup(&self.peers));
        }
        let changed = best_ident(e) != before;
        if let Some(Some(slot)) = self.peers.get_mut(src as usize) {
            slot.received += usize::from(new_path);
            slot.received_v6 += usize::from(new_path && prefix.afi() == Afi::Ipv6);
            slot.accepted = slot.accepted + usize::from(accepted) - usize::from(was_accepted);
        }
        if changed {
            self.mark(id);
        }
    }

    fn remove_path(&mut self, src: u32, prefix: &Prefix) {
        let Some(id) = self.table.get(prefix) else {
            return;
        };
        let Some(e) = self.table.entry_mut(id) else {
            return;
        };
        let Some(idx) = e.paths.as_slice().iter().position(|p| p.src == src) else {
            return;
        };
        let before = best_ident(e);
        let removed = e.paths.remove(idx);
        best::select(&mut e.paths, &peer_lookup(&self.peers));
        let changed = best_ident(e) != before;
        if removed.as_ref().is_some_and(|p| p.modified) {
            self.received.remove(&path_key(id, src));
        }
        if let (Some(p), Some(Some(slot))) = (removed, self.peers.get_mut(src as usize)) {
            slot.received = slot.received.saturating_sub(1);
            if prefix.afi() == Afi::Ipv6 {
                slot.received_v6 = slot.received_v6.saturating_sub(1);
            }
            if !p.rejected {
                slot.accepted = slot.accepted.saturating_sub(1);
            }
        }
        if changed {
            self.mark(id);
        } else {
            self.maybe_free(id);
        }
    }

    /// Gives memory back after many pre-policy attribute sets were dropped.
    fn trim_received(&mut self) {
        let cap = self.received.capacity();
        if cap > 1024 && self.received.len() < cap / 8 {
            self.received.shrink_to_fit();
        }
    }

    /// Frees a prefix nobody refers to any more.
    fn maybe_free(&mut self, id: u32) {
        let Some(e) = self.table.entry(id) else {
            return;
        };
        if e.flags() != F_LIVE || !e.paths.is_empty() {
            return;
        }
        let referenced = self
            .groups
            .iter()
            .flatten()
            .any(|g| g.slots.get(id).is_some());
        if !referenced {
            self.table.free(id);
        }
    }

    // ----- policy -----

    /// Replaces the policy; call `reevaluate` to apply it to existing routes.
    pub(crate) fn set_policy(&mut self, policy: Box<dyn Policy>) {
        self.policy = policy;
    }

    /// Re-runs import on the kept pre-policy Adj-RIB-In and export for every group;
    /// peers are sent only the differences at the next `take_out`.
    pub(crate) fn reevaluate(&mut self) {
        self.reimport(None);
        self.export_all = true;
        let up: Vec<PeerId> = self.peer_ids().filter(|&p| self.is_up(p)).collect();
        for id in up {
            self.regroup(id);
        }
    }

    /// Re-runs import policy on the paths held from one peer (a soft reset inbound for
    /// a peer without route refresh); peers are sent the differences.
    pub(crate) fn reimport_peer(&mut self, id: PeerId) {
        self.reimport(Some(id));
    }

    /// Re-runs export only, for every group: for a policy change that leaves import as
    /// it was (graceful shutdown starting or ending), without re-importing every path.
    /// Peers are sent only the differences at the next `take_out`.
    pub(crate) fn reexport(&mut self) {
        self.export_all = true;
        let up: Vec<PeerId> = self.peer_ids().filter(|&p| self.is_up(p)).collect();
        for id in up {
            self.regroup(id);
        }
    }

    /// Re-runs import for the paths of one peer (or all) and re-selects best paths.
    fn reimport(&mut self, only: Option<PeerId>) {
        let mut changed = Vec::new();
        let mut counts: Vec<usize> = vec![0; self.peers.len()];
        for id in 0..self.table.id_limit() as u32 {
            let Some(prefix) = self.table.live_prefix(id) else {
                continue;
            };
            let Some(e) = self.table.entry_mut(id) else {
                continue;
            };
            let before = best_ident(e);
            for p in e.paths.as_mut_slice() {
                if p.src == LOCAL_SRC || only.is_some_and(|o| o.0 != p.src) {
                    continue;
                }
                let Some(Some(slot)) = self.peers.get(p.src as usize) else {
                    continue;
                };
                let info = &slot.info;
                let key = path_key(id, p.src);
                let kept = if p.modified {
                    self.received.remove(&key)
                } else {
                    None
                };
                let received = kept.unwrap_or_else(|| p.attrs.clone());
                let accepted = if import_loop_free(&self.cfg, info, &received) {
                    let base = import_base(&mut self.interner, info, &received);
                    import_policy(&*self.policy, &mut self.interner, info, &prefix, &base)
                } else {
                    None
                };
                let stale = p.stale;
                *p = make_path(p.src, &received, accepted);
                p.stale = stale;
                if p.modified {
                    self.received.insert(key, received);
                }
                if let (false, Some(c)) = (p.rejected, counts.get_mut(p.src as usize)) {
                    *c += 1;
                }
            }
            best::select(&mut e.paths, &peer_lookup(&self.peers));
            if best_ident(e) != before {
                changed.push(id);
            }
        }
        for (i, slot) in self.peers.iter_mut().enumerate() {
            match slot {
                Some(s) if only.is_none_or(|o| o.0 as usize == i) => {
                    s.accepted = counts.get(i).copied().unwrap_or(0);
                }
                _ => {}
            }
        }
        for id in changed {
            self.mark(id);
        }
        self.trim_received();
        self.interner.gc();
    }
}

/// The best-path selection's view of the peers: source index -> that peer's info.
fn peer_lookup<'a>(peers: &'a [Option<RibPeer>]) -> impl Fn(u32) -> Option<&'a PeerInfo> + 'a {
    move |s: u32| {
        peers
            .get(s as usize)
            .and_then(Option::as_ref)
            .map(|p| &p.info)
    }
}
