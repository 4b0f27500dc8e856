//! The prefix table: every prefix the RIB knows, with its paths, under a dense `u32` id.
//!
//! Owns: the prefix → id index (an open-addressing table of 8-byte slots: id plus a
//! hash tag, so probing rarely touches the entries), the entries (prefix, dirty flags and paths stored inline for the usual one
//! path), and id reuse. Other tables (Adj-RIB-Out per update group) are plain vectors
//! indexed by the same id. Must not: know about peers, policy or best-path rules.

use std::sync::Arc;

use crate::bgp::types::{Attrs, Prefix};

/// Source id of a locally originated path.
pub(crate) const LOCAL_SRC: u32 = u32::MAX;
/// Entry flag: the best path changed since the last `take_best_changes`.
pub(crate) const F_BEST: u8 = 1;
/// Entry flag: the export of this prefix must be recomputed at the next flush.
pub(crate) const F_EXPORT: u8 = 2;
/// Entry flag: the entry is in use (not on the free list).
pub(crate) const F_LIVE: u8 = 4;

/// One path to a prefix: what a peer (or the local node) sent, before and after import.
#[derive(Clone, Debug)]
pub struct Path {
    pub(crate) in_attrs: Arc<Attrs>,
    pub(crate) attrs: Option<Arc<Attrs>>,
    pub(crate) src: u32,
    pub(crate) stale: bool,
}

impl Path {
    /// The peer it came from; `None` for a locally originated path.
    pub fn peer(&self) -> Option<super::PeerId> {
        (self.src != LOCAL_SRC).then_some(super::PeerId(self.src))
    }

    /// The attributes as received (pre-policy Adj-RIB-In).
    pub fn received(&self) -> &Arc<Attrs> {
        &self.in_attrs
    }

    /// The attributes after import checks and policy; `None` when rejected.
    pub fn accepted(&self) -> Option<&Arc<Attrs>> {
        self.attrs.as_ref()
    }

    /// Whether the path is stale (its peer is restarting gracefully, RFC 4724).
    pub fn is_stale(&self) -> bool {
        self.stale
    }
}

/// Inline storage for the paths of one prefix: no heap object for a single path.
#[derive(Debug, Default)]
pub(crate) enum Paths {
    #[default]
    Empty,
    One(Path),
    // Boxed so `Paths` stays 24 bytes (the Vec header would make every entry larger).
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

#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) prefix: Prefix,
    pub(crate) flags: u8,
    pub(crate) paths: Paths,
}

impl Entry {
    /// The current best path: the first path, when it was accepted.
    pub(crate) fn best(&self) -> Option<&Path> {
        self.paths.as_slice().first().filter(|p| p.attrs.is_some())
    }
}

const EMPTY: u64 = u64::MAX;

fn slot_of(hash: u64, id: u32) -> u64 {
    (hash & 0xffff_ffff_0000_0000) | u64::from(id)
}

/// Prefix → id index plus the entries.
#[derive(Debug, Default)]
pub(crate) struct Table {
    slots: Vec<u64>,
    mask: usize,
    pub(crate) entries: Vec<Entry>,
    free: Vec<u32>,
    live: usize,
}

/// A fast, well-mixed hash of a prefix (splitmix64 finaliser over its bits).
fn hash_prefix(p: &Prefix) -> u64 {
    fn mix(mut x: u64) -> u64 {
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    }
    match *p {
        Prefix::V4(a, l) => mix(u64::from(u32::from(a)) | (u64::from(l) << 32)),
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

    pub(crate) fn get(&self, prefix: &Prefix) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let hash = hash_prefix(prefix);
        let tag = hash >> 32;
        let mut i = hash as usize & self.mask;
        loop {
            let s = *self.slots.get(i)?;
            if s == EMPTY {
                return None;
            }
            let id = s as u32;
            if s >> 32 == tag && self.entries.get(id as usize).map(|e| &e.prefix) == Some(prefix) {
                return Some(id);
            }
            i = (i + 1) & self.mask;
        }
    }

    pub(crate) fn entry(&self, id: u32) -> Option<&Entry> {
        self.entries.get(id as usize)
    }

    pub(crate) fn entry_mut(&mut self, id: u32) -> Option<&mut Entry> {
        self.entries.get_mut(id as usize)
    }

    /// The id of `prefix`, creating an empty entry if it is new.
    pub(crate) fn get_or_insert(&mut self, prefix: Prefix) -> u32 {
        if let Some(id) = self.get(&prefix) {
            return id;
        }
        if (self.live + 1) * 5 > self.slots.len() * 4 {
            self.grow();
        }
        let id = match self.free.pop() {
            Some(id) => {
                if let Some(e) = self.entries.get_mut(id as usize) {
                    e.prefix = prefix;
                    e.flags = F_LIVE;
                    e.paths = Paths::Empty;
                }
                id
            }
            None => {
                self.entries.push(Entry {
                    prefix,
                    flags: F_LIVE,
                    paths: Paths::Empty,
                });
                (self.entries.len() - 1) as u32
            }
        };
        self.place(hash_prefix(&prefix), id);
        self.live += 1;
        id
    }

    fn place(&mut self, hash: u64, id: u32) {
        let mut i = hash as usize & self.mask;
        while let Some(slot) = self.slots.get_mut(i) {
            if *slot == EMPTY {
                *slot = slot_of(hash, id);
                return;
            }
            i = (i + 1) & self.mask;
        }
    }

    fn grow(&mut self) {
        let n = (self.slots.len() * 2).max(16);
        self.slots = vec![EMPTY; n];
        self.mask = n - 1;
        for id in 0..self.entries.len() {
            let e = &self.entries[id];
            if e.flags & F_LIVE != 0 {
                let h = hash_prefix(&e.prefix);
                self.place(h, id as u32);
            }
        }
    }

    /// Frees an entry that has no paths left; the caller has checked nothing refers to it.
    pub(crate) fn free(&mut self, id: u32) {
        let Some(e) = self.entries.get_mut(id as usize) else {
            return;
        };
        if e.flags & F_LIVE == 0 {
            return;
        }
        e.flags = 0;
        e.paths = Paths::Empty;
        let prefix = e.prefix;
        // Find the slot, then delete with backward shift (linear probing).
        let mut i = hash_prefix(&prefix) as usize & self.mask;
        loop {
            match self.slots.get(i) {
                Some(&s) if s != EMPTY && s as u32 == id => break,
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
            let home = hash_prefix(&self.entries[s as u32 as usize].prefix) as usize & self.mask;
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
        self.live -= 1;
    }

    /// Heap bytes held (index, entries, spilled path vectors, free list).
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
            + self.entries.capacity() * std::mem::size_of::<Entry>()
            + self.free.capacity() * 4
            + spilled
    }

    /// Ids of live entries.
    pub(crate) fn live_ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.flags & F_LIVE != 0)
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
            in_attrs: a.clone(),
            attrs: None,
            src,
            stale: false,
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
        assert!(std::mem::size_of::<Paths>() <= 24);
        assert!(std::mem::size_of::<Entry>() <= 48);
    }
}
