//! A compact map from prefix to kernel route: what kube-bgp knows to be installed.
//!
//! Owns: the storage of the reconciler's view of our protocol-17 routes. A million IPv4
//! routes cost one 8-byte slot each (plus the table's spare room), not a tree node per
//! route: the prefix and a small route-kind id share one `u64` in an open-addressing
//! table, and the few distinct route kinds (next hops, tunnel interfaces) are interned
//! with reference counts. IPv6 routes, rarer, live in an ordinary hash map. Must not:
//! know about netlink or decide anything.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::route::RouteKind;
use crate::prefix::Prefix;

/// Bits of a slot that hold the route-kind id.
const KIND_BITS: u32 = 24;
const KIND_MASK: u64 = (1 << KIND_BITS) - 1;
/// Route-kind ids at or above this do not fit a slot (such routes go to `wide`).
const MAX_SLOT_KIND: u32 = 1 << KIND_BITS;
/// No IPv4 key has length 255, so an all-ones slot is free.
const EMPTY: u64 = u64::MAX;

/// Interned route kinds with reference counts; ids are reused once unused.
#[derive(Debug, Default)]
struct Kinds {
    list: Vec<(RouteKind, u32)>,
    index: HashMap<RouteKind, u32>,
    free: Vec<u32>,
}

impl Kinds {
    fn acquire(&mut self, k: RouteKind) -> u32 {
        if let Some(&id) = self.index.get(&k) {
            if let Some(e) = self.list.get_mut(id as usize) {
                e.1 += 1;
            }
            return id;
        }
        let id = match self.free.pop() {
            Some(id) => {
                if let Some(e) = self.list.get_mut(id as usize) {
                    *e = (k, 1);
                }
                id
            }
            None => {
                self.list.push((k, 1));
                (self.list.len() - 1) as u32
            }
        };
        self.index.insert(k, id);
        id
    }

    fn release(&mut self, id: u32) {
        let Some(e) = self.list.get_mut(id as usize) else {
            return;
        };
        e.1 = e.1.saturating_sub(1);
        if e.1 == 0 {
            self.index.remove(&e.0);
            self.free.push(id);
        }
    }

    fn get(&self, id: u32) -> Option<RouteKind> {
        self.list.get(id as usize).filter(|e| e.1 > 0).map(|e| e.0)
    }
}

fn v4_key(a: Ipv4Addr, len: u8) -> u64 {
    (u64::from(u32::from(a)) << 8) | u64::from(len)
}

fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Prefix → route kind. See the module documentation.
#[derive(Debug, Default)]
pub struct RouteTable {
    /// IPv4: `key << 24 | kind id`, open addressing with linear probing.
    slots: Vec<u64>,
    mask: usize,
    v4_len: usize,
    /// IPv6 routes, and any route whose kind id does not fit a slot.
    wide: HashMap<(u128, u8), (bool, u32)>,
    kinds: Kinds,
}

impl RouteTable {
    pub(crate) fn new() -> RouteTable {
        RouteTable::default()
    }

    /// Number of routes.
    pub fn len(&self) -> usize {
        self.v4_len + self.wide.len()
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every route (and releases the slot memory).
    pub(crate) fn clear(&mut self) {
        *self = RouteTable::default();
    }

    fn find_v4(&self, key: u64) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mut i = mix(key) as usize & self.mask;
        loop {
            let s = *self.slots.get(i)?;
            if s == EMPTY {
                return None;
            }
            if s >> KIND_BITS == key {
                return Some(i);
            }
            i = (i + 1) & self.mask;
        }
    }

    fn wide_key(p: &Prefix) -> (u128, u8) {
        match *p {
            Prefix::V4(a, l) => (u128::from(u32::from(a)), l),
            Prefix::V6(a, l) => (u128::from(a), l),
        }
    }

    /// The route kind known for `p`.
    pub fn get(&self, p: &Prefix) -> Option<RouteKind> {
        if let Prefix::V4(a, l) = *p {
            if let Some(i) = self.find_v4(v4_key(a, l)) {
                return self.kinds.get((self.slots[i] & KIND_MASK) as u32);
            }
        }
        let &(_, id) = self.wide.get(&Self::wide_key(p))?;
        self.kinds.get(id)
    }

    /// Sets the route for `p`, returning the one it replaces.
    pub(crate) fn insert(&mut self, p: Prefix, kind: RouteKind) -> Option<RouteKind> {
        let old = self.remove(&p);
        let id = self.kinds.acquire(kind);
        match p {
            Prefix::V4(a, l) if id < MAX_SLOT_KIND => {
                if (self.v4_len + 1) * 8 > self.slots.len() * 7 {
                    self.grow();
                }
                self.place((v4_key(a, l) << KIND_BITS) | u64::from(id));
                self.v4_len += 1;
            }
            Prefix::V4(..) => {
                self.wide.insert(Self::wide_key(&p), (false, id));
            }
            Prefix::V6(..) => {
                self.wide.insert(Self::wide_key(&p), (true, id));
            }
        }
        old
    }

    /// Removes the route for `p`, returning it.
    pub(crate) fn remove(&mut self, p: &Prefix) -> Option<RouteKind> {
        if let Prefix::V4(a, l) = *p {
            if let Some(i) = self.find_v4(v4_key(a, l)) {
                let id = (self.slots[i] & KIND_MASK) as u32;
                let kind = self.kinds.get(id);
                self.delete_slot(i);
                self.v4_len -= 1;
                self.kinds.release(id);
                return kind;
            }
        }
        let (_, id) = self.wide.remove(&Self::wide_key(p))?;
        let kind = self.kinds.get(id);
        self.kinds.release(id);
        kind
    }

    fn place(&mut self, slot: u64) {
        let mut i = mix(slot >> KIND_BITS) as usize & self.mask;
        while let Some(s) = self.slots.get_mut(i) {
            if *s == EMPTY {
                *s = slot;
                return;
            }
            i = (i + 1) & self.mask;
        }
    }

    fn grow(&mut self) {
        let n = (self.slots.len() * 2).max(64);
        let old = std::mem::replace(&mut self.slots, vec![EMPTY; n]);
        self.mask = n - 1;
        for s in old.into_iter().filter(|&s| s != EMPTY) {
            self.place(s);
        }
    }

    /// Deletes slot `i` with backward shift (no tombstones).
    fn delete_slot(&mut self, i: usize) {
        let mut hole = i;
        let mut j = (i + 1) & self.mask;
        loop {
            let s = self.slots[j];
            if s == EMPTY {
                break;
            }
            let home = mix(s >> KIND_BITS) as usize & self.mask;
            // `s` may move into the hole unless its home lies cyclically in (hole, j].
            let stays = if hole <= j {
                home > hole && home <= j
            } else {
                home > hole || home <= j
            };
            if !stays {
                self.slots[hole] = s;
                hole = j;
            }
            j = (j + 1) & self.mask;
        }
        self.slots[hole] = EMPTY;
    }

    /// Every route, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (Prefix, RouteKind)> + '_ {
        let v4 = self.slots.iter().filter(|&&s| s != EMPTY).filter_map(|&s| {
            let key = s >> KIND_BITS;
            let p = Prefix::V4(Ipv4Addr::from((key >> 8) as u32), key as u8);
            Some((p, self.kinds.get((s & KIND_MASK) as u32)?))
        });
        let wide = self.wide.iter().filter_map(|(&(a, l), &(v6, id))| {
            let p = if v6 {
                Prefix::V6(Ipv6Addr::from(a), l)
            } else {
                Prefix::V4(Ipv4Addr::from(a as u32), l)
            };
            Some((p, self.kinds.get(id)?))
        });
        v4.chain(wide)
    }

    /// The distinct route kinds in use (e.g. which tunnel interfaces routes point at).
    pub(crate) fn kinds(&self) -> impl Iterator<Item = RouteKind> + '_ {
        self.kinds.list.iter().filter(|e| e.1 > 0).map(|e| e.0)
    }

    /// Bytes held by the table's storage (for tests and metrics; excludes the IPv6 map's
    /// per-entry overhead estimate precision).
    pub fn heap_bytes(&self) -> usize {
        self.slots.capacity() * 8
            + self.wide.capacity() * (std::mem::size_of::<((u128, u8), (bool, u32))>() + 1)
            + self.kinds.list.capacity() * std::mem::size_of::<(RouteKind, u32)>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::net::IpAddr;

    fn via(s: &str) -> RouteKind {
        RouteKind::Via(s.parse::<IpAddr>().expect("ip"))
    }

    #[test]
    fn insert_get_replace_remove_both_families() {
        let mut t = RouteTable::new();
        let a: Prefix = "10.1.0.0/24".parse().expect("p");
        let b: Prefix = "fd00:1::/64".parse().expect("p");
        assert_eq!(t.insert(a, via("10.0.0.2")), None);
        assert_eq!(t.insert(b, via("fd00::2")), None);
        assert_eq!(t.get(&a), Some(via("10.0.0.2")));
        assert_eq!(t.get(&b), Some(via("fd00::2")));
        assert_eq!(t.len(), 2);
        assert_eq!(t.insert(a, via("10.0.0.3")), Some(via("10.0.0.2")));
        assert_eq!(t.len(), 2);
        assert_eq!(t.kinds().count(), 2, "the replaced next hop is released");
        assert_eq!(t.remove(&a), Some(via("10.0.0.3")));
        assert_eq!(t.remove(&a), None);
        assert_eq!(t.get(&a), None);
        // Same address, other length: another prefix.
        let a16: Prefix = "10.1.0.0/16".parse().expect("p");
        t.insert(a16, RouteKind::Other);
        assert_eq!(t.get(&a), None);
        assert_eq!(t.get(&a16), Some(RouteKind::Other));
        let all: BTreeMap<Prefix, RouteKind> = t.iter().collect();
        assert_eq!(all.len(), 2);
        t.clear();
        assert!(t.is_empty() && t.iter().next().is_none());
    }

    #[test]
    fn matches_a_model_under_random_churn() {
        let mut seed = 0x9e37_79b9_u32;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        let mut t = RouteTable::new();
        let mut model: BTreeMap<Prefix, RouteKind> = BTreeMap::new();
        for round in 0..60_000u32 {
            let x = next();
            let p = if x % 11 == 0 {
                Prefix::V6(Ipv6Addr::from(u128::from(x % 500) << 64), 64)
            } else {
                Prefix::V4(Ipv4Addr::from((x % 3000) << 8), 24)
            };
            let kind = RouteKind::Via(IpAddr::V4(Ipv4Addr::new(10, 0, 0, (x >> 20) as u8 % 7)));
            if (x >> 8) % 3 == 0 {
                assert_eq!(t.remove(&p), model.remove(&p), "round {round}");
            } else {
                assert_eq!(t.insert(p, kind), model.insert(p, kind), "round {round}");
            }
            if round % 5000 == 0 {
                let got: BTreeMap<Prefix, RouteKind> = t.iter().collect();
                assert_eq!(got, model);
            }
        }
        assert_eq!(t.len(), model.len());
        for (p, k) in &model {
            assert_eq!(t.get(p), Some(*k));
        }
        let used: std::collections::BTreeSet<RouteKind> = model.values().copied().collect();
        let kinds: std::collections::BTreeSet<RouteKind> = t.kinds().collect();
        assert_eq!(kinds, used);
    }

    #[test]
    fn a_million_ipv4_routes_fit_in_about_sixteen_megabytes() {
        let mut t = RouteTable::new();
        let nh = via("10.255.0.1");
        for i in 0..1_000_000u32 {
            t.insert(Prefix::V4(Ipv4Addr::from((16 << 24) + (i << 8)), 24), nh);
        }
        assert_eq!(t.len(), 1_000_000);
        assert!(t.heap_bytes() <= 17 << 20, "{} bytes", t.heap_bytes());
        assert_eq!(
            t.get(&"31.66.63.0/24".parse().expect("p")),
            Some(nh),
            "the last one"
        );
    }
}
