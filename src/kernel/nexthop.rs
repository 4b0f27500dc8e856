//! Nexthop objects (RTM_NEWNEXTHOP, Linux 5.3 and later): one kernel object per distinct
//! next hop of our routes, which the routes then name by id (`RTA_NH_ID`) instead of each
//! carrying a gateway or device. The kernel checks a next hop once, when its object is
//! made, instead of once per route.
//!
//! Owns: the message layout of nexthop objects; the ids kube-bgp uses (`NH_ID_FIRST..=
//! NH_ID_LAST`, always with protocol 17); which of those exist in the kernel and what
//! they point at; and, per route operation of a pass, whether it names an object or is
//! a plain route (plain when objects are turned off, when the kernel has none, or when
//! the device of a gateway is unknown). A pass's requests are laid out as: objects to
//! make, the route operations, objects to delete. An object is deleted only when no
//! route of ours can name it (no installed route with its next hop, no pass in flight):
//! the kernel deletes the routes of an object deleted under them.
//!
//! Must not: decide which routes are wanted, or touch an object of another protocol or
//! outside our id range. Routes that name an object are compared by where they lead
//! (`RouteKind`), exactly as plain routes are: either form found in the kernel is ours
//! and kept when it matches, so restarts and version changes cause no churn.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::netlink::DumpSource;
use super::netlink::{
    AF_INET, AF_INET6, Failure, MsgWriter, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, Netlink,
    NetlinkError, NlMsg, attrs, u32_at,
};
use super::route::{KernelRoute, RTPROT_KUBE_ROUTER, RouteKind, encode_op};
use super::route_op::Op;
use super::table::RouteTable;
use crate::prefix::Prefix;

pub(crate) const RTM_NEWNEXTHOP: u16 = 104;
pub(crate) const RTM_DELNEXTHOP: u16 = 105;
pub(crate) const RTM_GETNEXTHOP: u16 = 106;

const NHA_ID: u16 = 1;
const NHA_GROUP: u16 = 2;
const NHA_BLACKHOLE: u16 = 4;
const NHA_OIF: u16 = 5;
const NHA_GATEWAY: u16 = 6;
const NHA_ENCAP_TYPE: u16 = 7;
const NHA_FDB: u16 = 11;

/// The first nexthop object id kube-bgp uses ("KB" in the high half, so an id of ours
/// reads as 0x4b42xxxx in `ip nexthop` output).
pub(crate) const NH_ID_FIRST: u32 = 0x4b42_0001;
/// The last one: 65,535 objects, far more than the distinct next hops of a cluster.
pub(crate) const NH_ID_LAST: u32 = 0x4b42_ffff;

/// Whether routes name nexthop objects unless told otherwise (`--kernel-nexthop-objects`).
pub(crate) const DEFAULT_NEXTHOP_OBJECTS: bool = true;

/// What one single (non-group) nexthop object points at.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub(crate) struct NhKey {
    /// AF_INET or AF_INET6: the family of the routes that may use it.
    pub(crate) family: u8,
    /// The gateway (`via`), or none for a device-only next hop (a tunnel).
    pub(crate) gateway: Option<IpAddr>,
    /// The outgoing device's ifindex.
    pub(crate) oif: u32,
}

/// One nexthop object as dumped.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct NhObject {
    pub(crate) id: u32,
    pub(crate) protocol: u8,
    /// `None` for groups, blackholes, FDB and encapsulating next hops.
    pub(crate) key: Option<NhKey>,
}

impl NhObject {
    /// Ours: protocol 17 and an id in our range.
    pub(crate) fn ours(&self) -> bool {
        self.protocol == RTPROT_KUBE_ROUTER && (NH_ID_FIRST..=NH_ID_LAST).contains(&self.id)
    }
}

fn ip_bytes(a: &IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// `struct nhmsg` (8 bytes).
fn nhmsg(family: u8, protocol: u8) -> [u8; 8] {
    [family, 0, protocol, 0, 0, 0, 0, 0]
}

/// Writes an RTM_NEWNEXTHOP making object `id` for `key`, protocol 17. NLM_F_EXCL: an
/// existing object with that id (anyone's) is refused with EEXIST, never changed.
pub(crate) fn encode_new_nexthop(w: &mut MsgWriter, id: u32, key: &NhKey) {
    w.begin(RTM_NEWNEXTHOP, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL);
    w.raw(&nhmsg(key.family, RTPROT_KUBE_ROUTER));
    w.attr_u32(NHA_ID, id);
    if let Some(gw) = key.gateway {
        w.attr(NHA_GATEWAY, &ip_bytes(&gw));
    }
    w.attr_u32(NHA_OIF, key.oif);
    w.end();
}

/// Writes an RTM_DELNEXTHOP for object `id`.
pub(crate) fn encode_del_nexthop(w: &mut MsgWriter, id: u32) {
    w.begin(RTM_DELNEXTHOP, NLM_F_REQUEST);
    w.raw(&nhmsg(0, 0));
    w.attr_u32(NHA_ID, id);
    w.end();
}

/// Decodes an RTM_NEWNEXTHOP payload; `None` if malformed or without an id.
pub(crate) fn parse_nexthop(payload: &[u8]) -> Option<NhObject> {
    let hdr = payload.get(..8)?;
    let (family, protocol) = (hdr[0], hdr[2]);
    let (mut id, mut oif, mut gateway, mut special) = (None, 0u32, None, false);
    for (kind, data) in attrs(payload.get(8..)?) {
        match kind {
            NHA_ID => id = u32_at(data, 0),
            NHA_OIF => oif = u32_at(data, 0).unwrap_or(0),
            NHA_GATEWAY => {
                gateway = match data.len() {
                    4 => <[u8; 4]>::try_from(data)
                        .ok()
                        .map(|o| IpAddr::V4(Ipv4Addr::from(o))),
                    16 => <[u8; 16]>::try_from(data)
                        .ok()
                        .map(|o| IpAddr::V6(Ipv6Addr::from(o))),
                    _ => return None,
                }
            }
            NHA_GROUP | NHA_BLACKHOLE | NHA_ENCAP_TYPE | NHA_FDB => special = true,
            _ => {}
        }
    }
    let id = id?;
    let single = !special && oif != 0 && (family == AF_INET || family == AF_INET6);
    Some(NhObject {
        id,
        protocol,
        key: single.then_some(NhKey {
            family,
            gateway,
            oif,
        }),
    })
}

/// Dumps every nexthop object. `Err(Dump(_, EOPNOTSUPP))` on a kernel without them.
pub(crate) fn dump_nexthops<D: DumpSource + ?Sized>(
    nl: &mut D,
) -> Result<Vec<NhObject>, NetlinkError> {
    let out = std::cell::RefCell::new(Vec::new());
    nl.dump(
        "nexthop objects",
        &|w: &mut MsgWriter| {
            w.begin(RTM_GETNEXTHOP, NLM_F_REQUEST);
            w.raw(&nhmsg(0, 0));
            w.end();
        },
        &mut || out.borrow_mut().clear(),
        &mut |m: &NlMsg<'_>| {
            if m.msg_type == RTM_NEWNEXTHOP {
                if let Some(o) = parse_nexthop(m.payload) {
                    out.borrow_mut().push(o);
                }
            }
        },
    )?;
    Ok(out.into_inner())
}

/// Deletes every nexthop object of ours (`--cleanup-config`); returns how many. A kernel
/// without nexthop objects has none.
pub(crate) fn remove_ours(nl: &mut Netlink) -> Result<usize, NetlinkError> {
    let list = match dump_nexthops(nl) {
        Err(NetlinkError::Dump(_, e)) if unsupported_errno(e.errno) => return Ok(0),
        r => r?,
    };
    let ids: Vec<u32> = list.iter().filter(|o| o.ours()).map(|o| o.id).collect();
    let failures = nl.batch(ids.len(), Default::default(), &mut |i, w| {
        encode_del_nexthop(w, ids[i])
    })?;
    // ENOENT: gone meanwhile (deleting a device deletes its objects).
    let bad: Vec<_> = failures
        .iter()
        .filter(|f| f.error.errno != libc::ENOENT)
        .collect();
    if let Some(f) = bad.first() {
        return Err(NetlinkError::Dump(
            "nexthop objects (delete)",
            f.error.clone(),
        ));
    }
    Ok(ids.len() - failures.len())
}

fn unsupported_errno(e: i32) -> bool {
    e == libc::EOPNOTSUPP || e == libc::EINVAL
}

fn family_of(a: &IpAddr) -> u8 {
    if a.is_ipv4() { AF_INET } else { AF_INET6 }
}

fn family_of_prefix(p: &Prefix) -> u8 {
    match p {
        Prefix::V4(..) => AF_INET,
        Prefix::V6(..) => AF_INET6,
    }
}

/// What a planned pass did with nexthop objects; handed back to `Nexthops::finish`.
#[derive(Debug, Default)]
pub(crate) struct NhBatch {
    /// Objects made by this pass (their requests come first).
    created: Vec<(u32, NhKey)>,
    /// Route operations (their requests come next).
    routes: usize,
    /// Per route operation: the object it names (`None`: a plain route). Empty when
    /// no operation names one.
    refs: Vec<Option<u32>>,
    /// Objects deleted by this pass (their requests come last).
    deleted: Vec<(u32, NhKey)>,
}

/// The outcome of a pass's batch, seen from the route operations.
#[derive(Debug, Default)]
pub(crate) struct NhOutcome {
    /// Failures of route operations, indexed by operation (not by request).
    pub(crate) route_failures: Vec<Failure>,
    /// Operations that failed only because their object could not be made: not an
    /// error of the route; retried at once (as plain routes if objects fell back).
    pub(crate) retry: Vec<usize>,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Nexthops {
    /// Whether new routes should name objects (`--kernel-nexthop-objects`).
    wanted: bool,
    /// Whether the kernel has nexthop objects (false once it said it has not).
    supported: bool,
    /// The kernel accepted an object or a route naming one: from now on an EINVAL is
    /// about that request, not about nexthop objects as such.
    proven: bool,
    /// Our objects: id → what it points at.
    ours: BTreeMap<u32, NhKey>,
    /// The object new routes use for a next hop.
    by_key: HashMap<NhKey, u32>,
    /// Every single object in the kernel, anyone's (reading routes dumped with only an
    /// id, and never choosing a taken id).
    known: HashMap<u32, NhKey>,
    /// Ids in our range held by someone else's object.
    taken: BTreeSet<u32>,
    /// Connected subnets and their device (which device a gateway is reached through).
    links: Vec<(Prefix, u32)>,
    /// Next hops whose object the kernel refused: their routes are sent plain until
    /// the links or the kernel's objects are read again.
    refused: BTreeSet<NhKey>,
    /// Objects whose deletion failed: not tried again until the next re-read.
    stuck: BTreeSet<u32>,
    /// Objects named by route operations of the last pass that failed (e.g. a prefix
    /// another daemon holds): those routes are retried by every pass, naming them
    /// again, so they are not counted as waiting for deletion (else a pass would be
    /// wanted at once, over and over, without time passing).
    retried: BTreeSet<u32>,
    next_id: u32,
    /// An object id of ours turned out to be someone else's: re-read everything.
    resync: bool,
}

impl Default for Nexthops {
    fn default() -> Nexthops {
        Nexthops::new(true)
    }
}

impl Nexthops {
    pub(crate) fn new(wanted: bool) -> Nexthops {
        Nexthops {
            wanted,
            supported: true,
            proven: false,
            ours: BTreeMap::new(),
            by_key: HashMap::new(),
            known: HashMap::new(),
            taken: BTreeSet::new(),
            links: Vec::new(),
            refused: BTreeSet::new(),
            stuck: BTreeSet::new(),
            retried: BTreeSet::new(),
            next_id: NH_ID_FIRST,
            resync: false,
        }
    }

    /// Turns the use of objects for new routes on or off. Existing routes of either form
    /// stay as they are while they match.
    pub(crate) fn set_wanted(&mut self, on: bool) {
        self.wanted = on;
    }

    /// Whether new routes name nexthop objects now.
    pub(crate) fn active(&self) -> bool {
        self.wanted && self.supported
    }

    /// Our objects known to exist (for tests and views).
    pub(crate) fn ours(&self) -> &BTreeMap<u32, NhKey> {
        &self.ours
    }

    /// Records the connected subnets and their devices (after an address re-read).
    pub(crate) fn set_links(&mut self, links: Vec<(Prefix, u32)>) {
        if links != self.links {
            self.refused.clear();
        }
        self.links = links;
    }

    fn fall_back(&mut self, why: &str) {
        if self.supported {
            crate::warn!(
                "kernel",
                "nexthop objects are not available ({why}): installing plain routes"
            );
        }
        self.supported = false;
        self.ours.clear();
        self.by_key.clear();
    }

    /// Re-reads the kernel's objects (before a re-read of the routes, which may name
    /// them by id only). A kernel without nexthop objects is detected here, once.
    pub(crate) fn reread(&mut self, nl: &mut dyn DumpSource) -> Result<(), NetlinkError> {
        if !self.supported {
            return Ok(());
        }
        let list = match dump_nexthops(nl) {
            Ok(l) => l,
            Err(NetlinkError::Dump(_, e)) if unsupported_errno(e.errno) => {
                self.fall_back(&format!("RTM_GETNEXTHOP: {e}"));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        self.absorb_dump(&list);
        Ok(())
    }

    /// Rebuilds the view from a dump. Next hops whose object was refused are tried again
    /// (a re-read follows a link change, such as a device's carrier coming back, the
    /// usual reason for a refusal).
    pub(crate) fn absorb_dump(&mut self, list: &[NhObject]) {
        self.ours.clear();
        self.by_key.clear();
        self.known.clear();
        self.taken.clear();
        self.stuck.clear();
        self.refused.clear();
        self.resync = false;
        for o in list {
            if let Some(k) = o.key {
                self.known.insert(o.id, k);
            }
            if o.ours() {
                match o.key {
                    Some(k) => {
                        self.ours.insert(o.id, k);
                        self.by_key.entry(k).or_insert(o.id);
                    }
                    None => {
                        self.taken.insert(o.id);
                    }
                }
            } else if (NH_ID_FIRST..=NH_ID_LAST).contains(&o.id) {
                self.taken.insert(o.id);
            }
        }
    }

    /// Where a route naming object `id` leads, for routes dumped with only the id
    /// (`net.ipv4.nexthop_compat_mode=0`).
    pub(crate) fn target(&self, id: u32) -> Option<NhKey> {
        self.known.get(&id).copied()
    }

    /// Whether an id of ours turned out to be someone else's (then the caller re-reads
    /// the kernel: routes sent naming it lead elsewhere).
    pub(crate) fn take_resync(&mut self) -> bool {
        std::mem::take(&mut self.resync)
    }

    /// The object a route to be sent should name: `None` for a plain route.
    fn key_for(&self, r: &KernelRoute) -> Option<NhKey> {
        let family = family_of_prefix(&r.dst);
        match r.kind {
            RouteKind::Via(gw) => {
                if family_of(&gw) != family {
                    return None;
                }
                // A link-local gateway is reachable on every link: the kernel needs
                // the device from elsewhere; plain routes keep today's behaviour.
                if let IpAddr::V6(a) = gw {
                    if a.segments()[0] & 0xffc0 == 0xfe80 {
                        return None;
                    }
                }
                let oif = self
                    .links
                    .iter()
                    .filter(|(p, _)| p.contains_addr(&gw))
                    .max_by_key(|(p, _)| p.len())
                    .map(|&(_, i)| i)?;
                Some(NhKey {
                    family,
                    gateway: Some(gw),
                    oif,
                })
            }
            RouteKind::Dev { ifindex, .. } if ifindex != 0 => Some(NhKey {
                family,
                gateway: None,
                oif: ifindex,
            }),
            _ => None,
        }
    }

    fn allocate(&mut self) -> Option<u32> {
        let span = NH_ID_LAST - NH_ID_FIRST + 1;
        for k in 0..span {
            let id = NH_ID_FIRST + (self.next_id - NH_ID_FIRST + k) % span;
            if !self.ours.contains_key(&id)
                && !self.taken.contains(&id)
                && !self.known.contains_key(&id)
            {
                self.next_id = NH_ID_FIRST + (id - NH_ID_FIRST + 1) % span;
                return Some(id);
            }
        }
        None
    }

    /// The object id `r` names, making the object in this pass if needed.
    fn object_for(&mut self, r: &KernelRoute, created: &mut Vec<(u32, NhKey)>) -> Option<u32> {
        let key = self.key_for(r)?;
        if self.refused.contains(&key) {
            return None;
        }
        if let Some(&id) = self.by_key.get(&key) {
            return Some(id);
        }
        let id = self.allocate()?;
        self.ours.insert(id, key);
        self.by_key.insert(key, id);
        self.known.insert(id, key);
        created.push((id, key));
        Some(id)
    }

    /// Whether object `key` may still be named by an installed route of ours: any
    /// route with its gateway, or any device route through its device.
    fn in_use(key: &NhKey, kinds: &BTreeSet<RouteKind>, gateways: &BTreeSet<IpAddr>) -> bool {
        match key.gateway {
            Some(gw) => gateways.contains(&gw),
            None => kinds
                .iter()
                .any(|k| matches!(k, RouteKind::Dev { ifindex, .. } if *ifindex == key.oif)),
        }
    }

    /// Our objects that no route can name any more (`quiet`: no pass is in flight).
    fn unused(&self, installed: &RouteTable, busy: &BTreeSet<u32>) -> Vec<(u32, NhKey)> {
        if self.ours.is_empty() {
            return Vec::new();
        }
        let kinds: BTreeSet<RouteKind> = installed.kinds().collect();
        let gateways: BTreeSet<IpAddr> = kinds
            .iter()
            .filter_map(|k| match k {
                RouteKind::Via(g) => Some(*g),
                _ => None,
            })
            .collect();
        self.ours
            .iter()
            .filter(|(id, k)| {
                !busy.contains(id)
                    && !self.stuck.contains(id)
                    && !Self::in_use(k, &kinds, &gateways)
            })
            .map(|(&id, &k)| (id, k))
            .collect()
    }

    /// Whether an object of ours waits for deletion (then another pass is wanted). One
    /// that failed routes of the last pass named is not: their retry names it again.
    pub(crate) fn has_unused(&self, installed: &RouteTable) -> bool {
        !self.unused(installed, &self.retried).is_empty()
    }

    /// Encodes a pass: objects to make, then `ops` (naming objects where they can),
    /// then, when `quiet` (no other pass in flight), deletions of objects no route can
    /// name any more. `installed` is what is installed before the pass.
    pub(crate) fn encode(
        &mut self,
        ops: &[Op],
        installed: &RouteTable,
        quiet: bool,
        w: &mut MsgWriter,
    ) -> NhBatch {
        let mut b = NhBatch {
            routes: ops.len(),
            ..NhBatch::default()
        };
        if self.active() {
            b.refs.reserve(ops.len());
            for op in ops {
                b.refs.push(match op {
                    Op::Add(r) | Op::Replace(r) => self.object_for(r, &mut b.created),
                    Op::Delete(_) => None,
                });
            }
        }
        for (id, key) in &b.created {
            encode_new_nexthop(w, *id, key);
        }
        for (i, op) in ops.iter().enumerate() {
            encode_op(w, op, b.refs.get(i).copied().flatten());
        }
        if quiet {
            let busy: BTreeSet<u32> = b.refs.iter().flatten().copied().collect();
            // Deleted after this pass's route deletions and replacements: an object
            // whose last routes this pass removes goes in the next pass.
            b.deleted = self.unused(installed, &busy);
            for (id, key) in &b.deleted {
                encode_del_nexthop(w, *id);
                self.ours.remove(id);
                self.known.remove(id);
                if self.by_key.get(key) == Some(id) {
                    self.by_key.remove(key);
                }
            }
        }
        b
    }

    /// Takes a pass's batch result (`failures` indexed by request) apart: object
    /// failures are handled here (falling back to plain routes when the kernel has no
    /// objects), route failures come back indexed by operation.
    pub(crate) fn finish(&mut self, b: NhBatch, failures: Vec<Failure>) -> NhOutcome {
        let nc = b.created.len();
        let nr = b.routes;
        let mut out = NhOutcome::default();
        let mut failed_objects = BTreeSet::new();
        let mut route_failed = BTreeSet::new();
        for f in failures {
            if f.index < nc {
                let (id, key) = b.created[f.index];
                failed_objects.insert(id);
                self.ours.remove(&id);
                self.known.remove(&id);
                if self.by_key.get(&key) == Some(&id) {
                    self.by_key.remove(&key);
                }
                match f.error.errno {
                    libc::EOPNOTSUPP => self.fall_back(&format!("RTM_NEWNEXTHOP: {}", f.error)),
                    libc::EINVAL if !self.proven => {
                        self.fall_back(&format!("RTM_NEWNEXTHOP: {}", f.error))
                    }
                    libc::EEXIST => {
                        // Someone else made an object with this id meanwhile: routes
                        // of this batch naming it lead there. Re-read and repair.
                        self.taken.insert(id);
                        self.resync = true;
                    }
                    _ => {
                        crate::debug!(
                            "kernel",
                            "nexthop object for {:?} via #{} refused ({}): its routes go plain",
                            key.gateway,
                            key.oif,
                            f.error
                        );
                        self.refused.insert(key);
                    }
                }
                continue;
            }
            let i = f.index - nc;
            if i < nr {
                let id = b.refs.get(i).copied().flatten();
                if let Some(id) = id {
                    if failed_objects.contains(&id) && f.error.errno != libc::EEXIST {
                        out.retry.push(i);
                        continue;
                    }
                    if !self.proven && matches!(f.error.errno, libc::EINVAL | libc::EOPNOTSUPP) {
                        self.fall_back(&format!("RTA_NH_ID: {}", f.error));
                        out.retry.push(i);
                        continue;
                    }
                    route_failed.insert(i);
                }
                out.route_failures.push(Failure {
                    index: i,
                    error: f.error,
                });
                continue;
            }
            let k = i - nr;
            if let Some(&(id, _)) = b.deleted.get(k) {
                if f.error.errno != libc::ENOENT {
                    crate::warn!("kernel", "deleting nexthop object {id}: {}", f.error);
                    self.stuck.insert(id);
                }
            }
        }
        self.retried = route_failed
            .iter()
            .filter_map(|&i| b.refs.get(i).copied().flatten())
            .collect();
        if self.supported
            && (b.created.iter().any(|(id, _)| !failed_objects.contains(id))
                || b.refs
                    .iter()
                    .enumerate()
                    .any(|(i, r)| r.is_some() && !route_failed.contains(&i)))
        {
            self.proven = true;
        }
        out
    }
}

#[cfg(test)]
mod tests;
