//! The prefix table: every prefix the RIB knows, with its paths, under a dense `u32` id.
//!
//! Owns: the prefix → id index (an open-addressing table of 8-byte slots: id plus a
//! hash tag, so probing rarely touches the entries), the entries (24 bytes: the prefix
//! packed with the entry's flags in one `u64`, and the paths, stored inline for the
//! usual one path), the IPv6 addresses (a side vector, as they do not fit the key), and
//! id reuse. Other tables (Adj-RIB-Out per update group) are indexed by the same id.
//! Must not: know about peers, policy or best-path rules.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use crate::bgp::types::{Attrs, Prefix};

/// Source id of a locally originated path.
pub(crate) const LOCAL_SRC: u32 = u32::MAX;
/// PrefixEntry flag: the best path changed since the last `take_best_changes`.
pub(crate) const F_BEST: u8 = 1;
/// PrefixEntry flag: the export of this prefix must be recomputed at the next flush.
pub(crate) const F_EXPORT: u8 = 2;
/// PrefixEntry flag: the entry is in use (not on the free list).
pub(crate) const F_LIVE: u8 = 4;

/// A cheap hasher for internal keys (ids and pointers, never chosen by a peer).
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(23) ^ v).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
}

/// A hash map keyed by ids or pointers.
pub(crate) type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// One path to a prefix: what a peer (or the local node) sent, after import; 16 bytes.
///
/// `attrs` holds the accepted attributes, or the received ones when the path was
/// rejected. When import changed the attributes (`modified`), the received ones are
/// kept by the RIB beside the table (`Rib::received`).
#[derive(Clone, Debug)]
pub(crate) struct Path {
    pub(crate) attrs: Arc<Attrs>,
    pub(crate) src: u32,
    pub(crate) stale: bool,
    /// Refused by the import checks or policy: never best, not exported.
    pub(crate) rejected: bool,
    /// Accepted with attributes that differ from the received ones.
    pub(crate) modified: bool,
}

impl Path {
    /// The peer it came from; `None` for a locally originated path.
    pub(crate) fn peer(&self) -> Option<super::PeerId> {
        (self.src != LOCAL_SRC).then_some(super::PeerId(self.src))
    }

    /// The attributes after import checks and policy; `None` when rejected.
    pub(crate) fn accepted(&self) -> Option<&Arc<Attrs>> {
        (!self.rejected).then_some(&self.attrs)
    }

    /// Whether the path is stale (its peer is restarting gracefully, RFC 4724).
    pub(crate) fn is_stale(&self) -> bool {
        self.stale
    }
}

/// Inline storage for the paths of one prefix: no heap object for a single path.
#[derive(Debug, Default)]
pub(crate) enum Paths {
    #[default]
    Empty,
    One(Path),
    // Boxed so `Paths` stays 16 bytes (the Vec header would make every entry larger);
    // the tag lives in a niche of `Path`'s flags.
    #[allow(clippy::box_collection)]
    Many(Box<Vec<Path>>),
}

impl Paths {
    pub(crate) fn as_slice(&self) -> &[Path] {
        match self {
            Paths::Empty => &[],
            Paths::One(p) => std::slice::from_ref(p),
            Paths::Many(v) => v,
        }
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [Path] {
        match self {
            Paths::Empty => &mut [],
            Paths::One(p) => std::slice::from_mut(p),
            Paths::Many(v) => v,
        }
    }

    pub(crate) fn push(&mut self, path: Path) {
        match std::mem::take(self) {
            Paths::Empty => *self = Paths::One(path),
            Paths::One(p) => *self = Paths::Many(Box::new(vec![p, path])),
            Paths::Many(mut v) => {
                v.push(path);
                *self = Paths::Many(v);
            }
        }
    }

    /// Removes the path at `idx` (order of the rest is not kept).
    pub(crate) fn remove(&mut self, idx: usize) -> Option<Path> {
        match std::mem::take(self) {
            Paths::Empty => None,
            Paths::One(p) => {
                if idx == 0 {
                    Some(p)
                } else {
                    *self = Paths::One(p);
                    None
                }
            }
            Paths::Many(mut v) => {
                let out = (idx < v.len()).then(|| v.swap_remove(idx));
                *self = match v.len() {
                    0 => Paths::Empty,
                    1 => match v.pop() {
                        Some(p) => Paths::One(p),
                        None => Paths::Empty,
                    },
                    _ => Paths::Many(v),
                };
                out
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, Paths::Empty)
    }
}

// PrefixEntry key layout: bits 0-31 the IPv4 address (or the IPv6 address's index in
// `Table::v6`), 32-39 the prefix length, 40 set for IPv6, 56-63 the entry flags.
const LEN_SHIFT: u32 = 32;
const V6_BIT: u64 = 1 << 40;
const PREFIX_BITS: u64 = (1 << 41) - 1;
const FLAG_SHIFT: u32 = 56;

fn v4_key(a: Ipv4Addr, len: u8) -> u64 {
    u64::from(u32::from(a)) | u64::from(len) << LEN_SHIFT
}

#[derive(Debug)]
pub(crate) struct PrefixEntry {
    /// The prefix (see the key layout above) and the flags.
    key: u64,
    pub(crate) paths: Paths,
}

impl PrefixEntry {
    /// The current best path: the first path, when it was accepted.
    pub(crate) fn best(&self) -> Option<&Path> {
        self.paths.as_slice().first().filter(|p| !p.rejected)
    }

    /// The `F_*` flags.
    pub(crate) fn flags(&self) -> u8 {
        (self.key >> FLAG_SHIFT) as u8
    }

    pub(crate) fn is_live(&self) -> bool {
        self.flags() & F_LIVE != 0
    }

    pub(crate) fn set_flags(&mut self, flags: u8) {
        self.key = self.key & PREFIX_BITS | u64::from(flags) << FLAG_SHIFT;
    }

    pub(crate) fn add_flags(&mut self, flags: u8) {
        self.key |= u64::from(flags) << FLAG_SHIFT;
    }

    pub(crate) fn clear_flags(&mut self, flags: u8) {
        self.key &= !(u64::from(flags) << FLAG_SHIFT);
    }
}

/// A free index slot. Used slots hold the top 32 bits of the prefix's hash and the
/// entry id plus one, so no used slot is zero and a fresh index is zeroed memory.
const EMPTY: u64 = 0;

fn slot_of(hash: u64, id: u32) -> u64 {
    (hash & 0xffff_ffff_0000_0000) | (u64::from(id) + 1)
}

/// The entry id a used slot points at.
fn slot_id(s: u64) -> u32 {
    (s as u32).wrapping_sub(1)
}

/// Prefix → id index plus the entries.
#[derive(Debug, Default)]
pub(crate) struct Table {
    /// The index: `1 << bits` slots, linear probing. A prefix's home slot is the top
    /// `bits` bits of its hash, which the slot keeps: growing the index re-places the
    /// slots from the slots alone, in order, without hashing or reading an entry.
    slots: Vec<u64>,
    mask: usize,
    bits: u32,
    pub(crate) entries: Vec<PrefixEntry>,
    free: Vec<u32>,
    live: usize,
    /// Addresses of IPv6 entries (indexed from their key), with their own free list.
    v6: Vec<Ipv6Addr>,
    v6_free: Vec<u32>,
}

/// A fast, well-mixed hash of a prefix (splitmix64 finaliser over its bits).
fn hash_prefix(p: &Prefix) -> u64 {
    fn mix(mut x: u64) -> u64 {
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    }
    match *p {
        Prefix::V4(a, l) => mix(v4_key(a, l)),
        Prefix::V6(a, l) => {
            let x = u128::from(a);
            mix(mix(x as u64 ^ u64::from(l)) ^ (x >> 64) as u64 ^ 0x6a09_e667_f3bc_c909)
        }
    }
}

impl Table {
    /// Number of live prefixes.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// Upper bound of ids (for per-id vectors).
    pub(crate) fn id_limit(&self) -> usize {
        self.entries.len()
    }

    /// The prefix of an entry of this table.
    pub(crate) fn prefix_of(&self, e: &PrefixEntry) -> Prefix {
        let len = (e.key >> LEN_SHIFT) as u8;
        if e.key & V6_BIT == 0 {
            Prefix::V4(Ipv4Addr::from(e.key as u32), len)
        } else {
            let a = self.v6.get(e.key as u32 as usize).copied();
            Prefix::V6(a.unwrap_or(Ipv6Addr::UNSPECIFIED), len)
        }
    }

    /// The prefix of entry `id` (live or not).
    pub(crate) fn prefix(&self, id: u32) -> Option<Prefix> {
        self.entry(id).map(|e| self.prefix_of(e))
    }

    /// The prefix of entry `id` if it is live.
    pub(crate) fn live_prefix(&self, id: u32) -> Option<Prefix> {
        self.entry(id)
            .filter(|e| e.is_live())
            .map(|e| self.prefix_of(e))
    }

    /// Whether entry `e` holds `prefix`.
    fn holds(&self, e: &PrefixEntry, prefix: &Prefix) -> bool {
        match *prefix {
            Prefix::V4(a, l) => e.key & PREFIX_BITS == v4_key(a, l),
            Prefix::V6(a, l) => {
                e.key & (PREFIX_BITS & !0xffff_ffff) == V6_BIT | u64::from(l) << LEN_SHIFT
                    && self.v6.get(e.key as u32 as usize) == Some(&a)
            }
        }
    }

    /// Probes for `prefix`: its id, or the empty slot where it would go. `None` when
    /// the index has no slots yet.
    fn find(&self, prefix: &Prefix, hash: u64) -> Option<Result<u32, usize>> {
        let tag = hash >> 32;
        let mut i = self.home(hash);
        loop {
            let s = *self.slots.get(i)?;
            if s == EMPTY {
                return Some(Err(i));
            }
            let id = slot_id(s);
            if s >> 32 == tag
                && self
                    .entries
                    .get(id as usize)
                    .is_some_and(|e| self.holds(e, prefix))
            {
                return Some(Ok(id));
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Loads the index slots of `prefixes` into the cache, all at once. A million-prefix table does not fit the cache, so each
    /// lookup misses; issued together, the misses overlap instead of queuing one
    /// behind the other, and the lookups that follow hit.
    pub(crate) fn touch(&self, prefixes: &[Prefix]) {
        if self.slots.is_empty() {
            return;
        }
        let mut acc = 0u64;
        for p in prefixes {
            let s = self
                .slots
                .get(self.home(hash_prefix(p)))
                .copied()
                .unwrap_or(EMPTY);
            acc ^= s;
        }
        std::hint::black_box(acc);
    }

    pub(crate) fn get(&self, prefix: &Prefix) -> Option<u32> {
        self.find(prefix, hash_prefix(prefix))?.ok()
    }

    pub(crate) fn entry(&self, id: u32) -> Option<&PrefixEntry> {
        self.entries.get(id as usize)
    }

    pub(crate) fn entry_mut(&mut self, id: u32) -> Option<&mut PrefixEntry> {
        self.entries.get_mut(id as usize)
    }

    /// The id of `prefix`, creating an empty entry if it is new.
    pub(crate) fn get_or_insert(&mut self, prefix: Prefix) -> u32 {
        let hash = hash_prefix(&prefix);
        let slot = match self.find(&prefix, hash) {
            Some(Ok(id)) => return id,
            Some(Err(i)) if (self.live + 1) * 5 <= self.slots.len() * 4 => Some(i),
            _ => None,
        };
        if slot.is_none() {
            // Before the new entry exists: `grow` places every live entry.
            self.grow();
        }
        let key = u64::from(F_LIVE) << FLAG_SHIFT
            | match prefix {
                Prefix::V4(a, l) => v4_key(a, l),
                Prefix::V6(a, l) => {
                    let i = match self.v6_free.pop() {
                        Some(i) => {
                            if let Some(x) = self.v6.get_mut(i as usize) {
                                *x = a;
                            }
                            i
                        }
                        None => {
                            self.v6.push(a);
                            (self.v6.len() - 1) as u32
                        }
                    };
                    V6_BIT | u64::from(l) << LEN_SHIFT | u64::from(i)
                }
            };
        let id = match self.free.pop() {
            Some(id) => {
                if let Some(e) = self.entries.get_mut(id as usize) {
                    e.key = key;
                    e.paths = Paths::Empty;
                }
                id
            }
            None => {
                self.entries.push(PrefixEntry {
                    key,
                    paths: Paths::Empty,
                });
                (self.entries.len() - 1) as u32
            }
        };
        match slot {
            Some(i) => self.slots[i] = slot_of(hash, id),
            None => self.place(hash, id),
        }
        self.live += 1;
        id
    }

    /// The home slot of a hash (also of a used slot, which keeps the hash's top bits).
    fn home(&self, hash: u64) -> usize {
        if self.bits == 0 {
            0
        } else {
            (hash >> (64 - self.bits)) as usize
        }
    }

    fn place(&mut self, hash: u64, id: u32) {
        self.put(slot_of(hash, id));
    }

    /// Puts a used slot at or after its home.
    fn put(&mut self, slot: u64) {
        let mut i = self.home(slot);
        while let Some(s) = self.slots.get_mut(i) {
            if *s == EMPTY {
                *s = slot;
                return;
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Doubles the index (the caller places the entry it is adding). The old slots are
    /// re-placed in their order, so the new index is written almost sequentially.
    fn grow(&mut self) {
        let n = (self.slots.len() * 2).max(16);
        let old = std::mem::replace(&mut self.slots, vec![EMPTY; n]);
        self.mask = n - 1;
        self.bits = n.trailing_zeros().min(32);
        for s in old.into_iter().filter(|&s| s != EMPTY) {
            self.put(s);
        }
    }

    /// Frees an entry that has no paths left; the caller has checked nothing refers to it.
    pub(crate) fn free(&mut self, id: u32) {
        let Some(e) = self.entries.get(id as usize) else {
            return;
        };
        if !e.is_live() {
            return;
        }
        let prefix = self.prefix_of(e);
        let v6 = (e.key & V6_BIT != 0).then_some(e.key as u32);
        if let Some(e) = self.entries.get_mut(id as usize) {
            e.set_flags(0);
            e.paths = Paths::Empty;
        }
        // Find the slot, then delete with backward shift (linear probing).
        let mut i = self.home(hash_prefix(&prefix));
        loop {
            match self.slots.get(i) {
                Some(&s) if s != EMPTY && slot_id(s) == id => break,
                Some(&s) if s != EMPTY => i = (i + 1) & self.mask,
                _ => return,
            }
        }
        let mut hole = i;
        let mut j = (i + 1) & self.mask;
        loop {
            let s = self.slots[j];
            if s == EMPTY {
                break;
            }
            let home = self.home(s);
            // Move `s` into the hole unless its home lies cyclically in (hole, j].
            let in_range = if hole <= j {
                home > hole && home <= j
            } else {
                home > hole || home <= j
            };
            if !in_range {
                self.slots[hole] = s;
                hole = j;
            }
            j = (j + 1) & self.mask;
        }
        self.slots[hole] = EMPTY;
        self.free.push(id);
        if let Some(i) = v6 {
            self.v6_free.push(i);
        }
        self.live -= 1;
    }

    /// Heap bytes held (index, entries, spilled path vectors, IPv6 addresses, free lists).
    pub(crate) fn heap_bytes(&self) -> usize {
        let spilled: usize = self
            .entries
            .iter()
            .map(|e| match &e.paths {
                Paths::Many(v) => {
                    std::mem::size_of::<Vec<Path>>() + v.capacity() * std::mem::size_of::<Path>()
                }
                _ => 0,
            })
            .sum();
        self.slots.capacity() * 8
            + self.entries.capacity() * std::mem::size_of::<PrefixEntry>()
            + self.v6.capacity() * std::mem::size_of::<Ipv6Addr>()
            + (self.free.capacity() + self.v6_free.capacity()) * 4
            + spilled
    }

    /// Ids of live entries.
    pub(crate) fn live_ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.is_live())
            .map(|(i, _)| i as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(i: u32) -> Prefix {
        Prefix::V4(std::net::Ipv4Addr::from(i << 8), 24)
    }

    #[test]
    fn insert_find_free_reuse() {
        let mut t = Table::default();
        let ids: Vec<u32> = (0..1000).map(|i| t.get_or_insert(p(i))).collect();
        assert_eq!(t.len(), 1000);
        for i in 0..1000u32 {
            assert_eq!(t.get(&p(i)), Some(ids[i as usize]));
        }
        for i in (0..1000u32).step_by(3) {
            t.free(ids[i as usize]);
        }
        for i in 0..1000u32 {
            let found = t.get(&p(i));
            if i % 3 == 0 {
                assert_eq!(found, None, "{i}");
            } else {
                assert_eq!(found, Some(ids[i as usize]), "{i}");
            }
        }
        let again = t.get_or_insert(p(5000));
        assert!(again < 1000, "freed id reused");
        assert_eq!(t.get(&p(5000)), Some(again));
        assert_eq!(t.len(), 1000 - 334 + 1);
        let v6: Prefix = "2001:db8::/32".parse().unwrap();
        let id6 = t.get_or_insert(v6);
        assert_eq!(t.get(&v6), Some(id6));
    }

    #[test]
    fn paths_inline_and_spill() {
        let a = Arc::new(Attrs::default());
        let mk = |src| Path {
            attrs: a.clone(),
            src,
            stale: false,
            rejected: true,
            modified: false,
        };
        let mut ps = Paths::default();
        ps.push(mk(1));
        assert!(matches!(ps, Paths::One(_)));
        ps.push(mk(2));
        ps.push(mk(3));
        assert_eq!(ps.as_slice().len(), 3);
        assert_eq!(ps.remove(0).map(|p| p.src), Some(1));
        assert_eq!(ps.remove(0).map(|p| p.src), Some(3));
        assert!(matches!(ps, Paths::One(_)));
        assert!(ps.remove(1).is_none());
        assert_eq!(ps.remove(0).map(|p| p.src), Some(2));
        assert!(ps.is_empty());
        // One path inline, no heap object: the per-prefix cost stays small.
        assert!(std::mem::size_of::<Path>() <= 16);
        assert!(std::mem::size_of::<Paths>() <= 16);
        assert!(std::mem::size_of::<PrefixEntry>() <= 24);
    }

    /// Random inserts and frees of both families against a map, through index growth.
    #[test]
    fn matches_a_map_under_churn() {
        let mut t = Table::default();
        let mut model = std::collections::HashMap::new();
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for step in 0..40_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let n = (x >> 8) as u32 % 3000;
            let prefix = if x & 1 == 0 {
                Prefix::V4(std::net::Ipv4Addr::from(n << 8), 24)
            } else {
                Prefix::V6(std::net::Ipv6Addr::from(u128::from(n) << 80), 48)
            };
            if x & 6 == 0 {
                if let Some(id) = model.remove(&prefix) {
                    t.free(id);
                }
            } else {
                let id = t.get_or_insert(prefix);
                assert_eq!(*model.entry(prefix).or_insert(id), id, "step {step}");
            }
            assert_eq!(t.len(), model.len());
        }
        for (p, &id) in &model {
            assert_eq!(t.get(p), Some(id));
            assert_eq!(t.live_prefix(id), Some(*p));
        }
        assert_eq!(t.live_ids().count(), model.len());
        let v6_live = model.keys().filter(|p| matches!(p, Prefix::V6(..))).count();
        assert_eq!(t.v6.len() - t.v6_free.len(), v6_live);
    }

    #[test]
    fn prefixes_and_flags_packed() {
        let mut t = Table::default();
        let all: Vec<Prefix> = [
            "0.0.0.0/0",
            "10.0.0.0/8",
            "255.255.255.255/32",
            "::/0",
            "2001:db8::/32",
            "2001:db8::1/128",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .chain([Prefix::V4(std::net::Ipv4Addr::new(10, 0, 0, 0), 200)])
        .collect();
        let ids: Vec<u32> = all.iter().map(|p| t.get_or_insert(*p)).collect();
        for (p, &id) in all.iter().zip(&ids) {
            assert_eq!(t.get(p), Some(id));
            assert_eq!(t.prefix(id), Some(*p));
            assert_eq!(t.live_prefix(id), Some(*p));
            let e = t.entry_mut(id).unwrap();
            assert_eq!(e.flags(), F_LIVE);
            e.add_flags(F_BEST | F_EXPORT);
            e.clear_flags(F_BEST);
            assert_eq!(e.flags(), F_LIVE | F_EXPORT);
            assert_eq!(t.prefix(id), Some(*p), "flags leave the prefix alone");
        }
        assert_eq!(t.get(&"10.0.0.0/9".parse().unwrap()), None);
        assert_eq!(t.get(&"2001:db8::/33".parse().unwrap()), None);
        assert_eq!(t.get(&"2001:db9::/32".parse().unwrap()), None);
        // IPv6 slots are reused, and a freed id may come back as another family.
        let v6 = ids[4];
        t.free(v6);
        assert_eq!(t.live_prefix(v6), None);
        assert_eq!(t.get(&all[4]), None);
        let again = t.get_or_insert("2001:db8:1::/48".parse().unwrap());
        assert_eq!(again, v6);
        assert_eq!(t.v6.len(), 4);
        assert_eq!(t.prefix(again), Some("2001:db8:1::/48".parse().unwrap()));
        t.free(again);
        let v4 = t.get_or_insert("192.0.2.0/24".parse().unwrap());
        assert_eq!(t.prefix(v4), Some("192.0.2.0/24".parse().unwrap()));
        for (p, &id) in all.iter().zip(&ids) {
            if id != v6 {
                assert_eq!(t.get(p), Some(id), "{p:?}");
            }
        }
    }
}
