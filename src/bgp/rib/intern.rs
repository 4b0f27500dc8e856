//! Attribute-set interning: identical `Attrs` share one `Arc`, so the RIB stores a
//! pointer per path and compares attribute sets by pointer.
//!
//! Owns: the set of live attribute sets and dropping the ones nothing else holds.
//! Must not: interpret attributes.

use std::collections::HashSet;
use std::sync::Arc;

use crate::bgp::types::Attrs;

#[derive(Debug, Default)]
pub(crate) struct Interner {
    set: HashSet<Arc<Attrs>>,
    gc_at: usize,
}

impl Interner {
    /// The shared copy of `attrs`.
    pub(crate) fn intern(&mut self, attrs: Attrs) -> Arc<Attrs> {
        if let Some(a) = self.set.get(&attrs) {
            return a.clone();
        }
        let a = Arc::new(attrs);
        self.set.insert(a.clone());
        a
    }

    /// Drops sets that only the interner still holds.
    pub(crate) fn gc(&mut self) {
        self.set.retain(|a| Arc::strong_count(a) > 1);
        self.gc_at = (self.set.len() * 2).max(1024);
    }

    /// Collects when the set has doubled since the last collection (amortised O(1)).
    pub(crate) fn maybe_gc(&mut self) {
        if self.set.len() >= self.gc_at {
            self.gc();
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.set.len()
    }

    /// Heap bytes held: the set and the attribute sets themselves (as far as the
    /// interner still knows them).
    pub(crate) fn heap_bytes(&self) -> usize {
        super::map_bytes::<Arc<Attrs>>(self.set.capacity())
            + self.set.iter().map(|a| attrs_bytes(a)).sum::<usize>()
    }
}

/// Heap bytes of one shared attribute set (the `Arc` allocation and its vectors).
fn attrs_bytes(a: &Attrs) -> usize {
    use crate::bgp::types::AsSegment;
    let segments: usize = a
        .as_path
        .segments
        .iter()
        .map(|s| match s {
            AsSegment::Sequence(v) | AsSegment::Set(v) => v.capacity() * 4,
        })
        .sum();
    2 * std::mem::size_of::<usize>()
        + std::mem::size_of::<Attrs>()
        + a.as_path.segments.capacity() * std::mem::size_of::<AsSegment>()
        + segments
        + a.communities.capacity() * 4
        + a.cluster_list.capacity() * 4
        + a.unknown.capacity() * std::mem::size_of::<crate::bgp::types::RawAttr>()
        + a.unknown.iter().map(|u| u.value.capacity()).sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_collects() {
        let mut i = Interner::default();
        let a = i.intern(Attrs {
            med: Some(5),
            ..Attrs::default()
        });
        let b = i.intern(Attrs {
            med: Some(5),
            ..Attrs::default()
        });
        assert!(Arc::ptr_eq(&a, &b));
        let c = i.intern(Attrs::default());
        assert_eq!(i.len(), 2);
        drop(c);
        i.gc();
        assert_eq!(i.len(), 1);
        drop((a, b));
        i.gc();
        assert_eq!(i.len(), 0);
    }
}
