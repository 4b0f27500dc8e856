//! Deadline min-heap keyed by a caller-chosen key (a peer's hold timer, a reconnect
//! back-off, a reconcile tick, ...), and [`Stopwatch`], the one way the node agent's
//! core measures how long its own work took.
//!
//! Owns: which key fires when. Must not: read the clock (every call takes `now` or an
//! `Instant` from the caller; [`Stopwatch`] alone reads it, to measure) or know what a
//! key means. Rescheduling a key is O(log n):
//! the old heap entry is left in place and skipped when it reaches the top (lazy
//! deletion); the heap is rebuilt when stale entries outnumber live ones, so a keepalive
//! rescheduled every few seconds cannot make it grow without bound.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::hash::Hash;
use std::time::{Duration, Instant};

/// One heap slot. `seq` is unique per insertion, so ordering on `(at, seq)` is total and
/// equal deadlines fire in insertion order.
struct Slot<K> {
    at: Instant,
    seq: u64,
    key: K,
}

impl<K> PartialEq for Slot<K> {
    fn eq(&self, other: &Self) -> bool {
        self.seq == other.seq
    }
}

impl<K> Eq for Slot<K> {}

impl<K> PartialOrd for Slot<K> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<K> Ord for Slot<K> {
    /// Reversed so that `BinaryHeap` (a max-heap) yields the earliest deadline first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// A set of deadlines, at most one per key.
pub(crate) struct Timers<K> {
    heap: BinaryHeap<Slot<K>>,
    /// The live deadline of each key and the `seq` of its heap slot.
    live: HashMap<K, (Instant, u64)>,
    next_seq: u64,
}

impl<K: Eq + Hash + Clone> Default for Timers<K> {
    fn default() -> Self {
        Timers::new()
    }
}

impl<K: Eq + Hash + Clone> Timers<K> {
    pub(crate) fn new() -> Timers<K> {
        Timers {
            heap: BinaryHeap::new(),
            live: HashMap::new(),
            next_seq: 0,
        }
    }

    /// Sets `key` to fire at `at`, replacing any deadline it had.
    pub(crate) fn set(&mut self, key: K, at: Instant) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.live.insert(key.clone(), (at, seq));
        self.heap.push(Slot { at, seq, key });
        self.compact_if_needed();
    }

    /// Removes `key`'s deadline; returns whether it had one.
    pub(crate) fn cancel(&mut self, key: &K) -> bool {
        let had = self.live.remove(key).is_some();
        if had {
            self.compact_if_needed();
        }
        had
    }

    /// The deadline currently set for `key`.
    pub(crate) fn deadline(&self, key: &K) -> Option<Instant> {
        self.live.get(key).map(|&(at, _)| at)
    }

    /// The earliest live deadline (stale heap entries on top are discarded).
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        self.drop_stale_top();
        self.heap.peek().map(|s| s.at)
    }

    /// How long a poll may sleep before the next deadline: `None` when no timer is set,
    /// zero when one is already due.
    #[cfg(test)]
    pub(crate) fn timeout(&mut self, now: Instant) -> Option<Duration> {
        self.next_deadline()
            .map(|at| at.saturating_duration_since(now))
    }

    /// Removes and returns one key whose deadline is at or before `now`, earliest first.
    /// Call in a loop (`while let Some(k) = t.pop_expired(now)`) to drain all of them.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<K> {
        self.drop_stale_top();
        if self.heap.peek().is_some_and(|s| s.at <= now) {
            let slot = self.heap.pop()?;
            self.live.remove(&slot.key);
            return Some(slot.key);
        }
        None
    }

    /// Number of live deadlines.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.live.len()
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// Pops heap entries that were replaced or cancelled.
    fn drop_stale_top(&mut self) {
        while let Some(top) = self.heap.peek() {
            if self.is_live(top) {
                return;
            }
            self.heap.pop();
        }
    }

    fn is_live(&self, slot: &Slot<K>) -> bool {
        matches!(self.live.get(&slot.key), Some(&(_, seq)) if seq == slot.seq)
    }

    /// Rebuilds the heap from the live map when most of it is stale.
    fn compact_if_needed(&mut self) {
        if self.heap.len() <= 64 || self.heap.len() <= 2 * self.live.len() {
            return;
        }
        let live = &self.live;
        self.heap
            .retain(|s| matches!(live.get(&s.key), Some(&(_, seq)) if seq == s.seq));
    }

    /// Heap slots including stale ones (for tests of the compaction bound).
    #[cfg(test)]
    fn slots(&self) -> usize {
        self.heap.len()
    }
}

/// How long a piece of work took (a netlink batch, applying the peer set), for metrics
/// and logs only. It reads the clock, so it measures and never decides: no deadline,
/// timer, pacing or state change may depend on what it returns (those take `now` from
/// the caller). Under the simulator's virtual time it still measures real time, which
/// is why nothing may decide on it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stopwatch(Instant);

impl Stopwatch {
    /// Starts measuring now.
    pub(crate) fn start() -> Stopwatch {
        Stopwatch(Instant::now())
    }

    /// The real time since [`Stopwatch::start`].
    pub(crate) fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> Instant {
        Instant::now()
    }

    #[test]
    fn pops_in_deadline_order_and_only_when_due() {
        let now = t0();
        let mut t = Timers::new();
        t.set("c", now + Duration::from_secs(3));
        t.set("a", now + Duration::from_secs(1));
        t.set("b", now + Duration::from_secs(2));
        assert_eq!(t.next_deadline(), Some(now + Duration::from_secs(1)));
        assert_eq!(t.pop_expired(now), None);
        let later = now + Duration::from_secs(2);
        assert_eq!(t.pop_expired(later), Some("a"));
        assert_eq!(t.pop_expired(later), Some("b"));
        assert_eq!(t.pop_expired(later), None);
        assert_eq!(t.len(), 1);
        assert_eq!(t.timeout(later), Some(Duration::from_secs(1)));
    }

    #[test]
    fn replace_moves_the_deadline_both_ways() {
        let now = t0();
        let mut t = Timers::new();
        t.set(1u32, now + Duration::from_secs(1));
        t.set(1u32, now + Duration::from_secs(10));
        assert_eq!(t.len(), 1);
        assert_eq!(t.next_deadline(), Some(now + Duration::from_secs(10)));
        assert_eq!(t.pop_expired(now + Duration::from_secs(5)), None);
        t.set(1u32, now + Duration::from_secs(2));
        assert_eq!(t.deadline(&1), Some(now + Duration::from_secs(2)));
        assert_eq!(t.pop_expired(now + Duration::from_secs(5)), Some(1));
        assert_eq!(t.pop_expired(now + Duration::from_secs(60)), None);
        assert!(t.is_empty());
    }

    #[test]
    fn cancel_removes_and_reports() {
        let now = t0();
        let mut t = Timers::new();
        t.set('x', now);
        t.set('y', now + Duration::from_millis(5));
        assert!(t.cancel(&'x'));
        assert!(!t.cancel(&'x'));
        assert_eq!(t.deadline(&'x'), None);
        assert_eq!(t.next_deadline(), Some(now + Duration::from_millis(5)));
        assert_eq!(t.pop_expired(now + Duration::from_secs(1)), Some('y'));
        assert_eq!(t.next_deadline(), None);
        assert_eq!(t.timeout(now), None);
    }

    #[test]
    fn equal_deadlines_fire_in_insertion_order() {
        let now = t0();
        let mut t = Timers::new();
        for k in [5, 3, 9, 1] {
            t.set(k, now);
        }
        let got: Vec<i32> = std::iter::from_fn(|| t.pop_expired(now)).collect();
        assert_eq!(got, vec![5, 3, 9, 1]);
    }

    #[test]
    fn overdue_timeout_is_zero() {
        let now = t0();
        let mut t = Timers::new();
        t.set(0u8, now);
        assert_eq!(
            t.timeout(now + Duration::from_secs(1)),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn rescheduling_does_not_grow_the_heap_without_bound() {
        let now = t0();
        let mut t = Timers::new();
        for round in 0..10_000u64 {
            for peer in 0..4u32 {
                t.set(peer, now + Duration::from_millis(round + u64::from(peer)));
            }
        }
        assert_eq!(t.len(), 4);
        assert!(t.slots() <= 64 + 8, "heap kept {} slots", t.slots());
        let got: Vec<u32> =
            std::iter::from_fn(|| t.pop_expired(now + Duration::from_secs(3600))).collect();
        assert_eq!(got, vec![0, 1, 2, 3]);
    }

    #[test]
    fn matches_a_naive_model_under_random_operations() {
        // Deterministic xorshift so the test is reproducible.
        let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut rnd = move |n: u64| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s % n
        };
        let base = t0();
        let mut t = Timers::new();
        let mut model: HashMap<u64, Instant> = HashMap::new();
        let mut now = base;
        for _ in 0..20_000 {
            match rnd(4) {
                0 | 1 => {
                    let k = rnd(50);
                    let at = now + Duration::from_millis(rnd(1000));
                    t.set(k, at);
                    model.insert(k, at);
                }
                2 => {
                    let k = rnd(50);
                    assert_eq!(t.cancel(&k), model.remove(&k).is_some());
                }
                _ => {
                    now += Duration::from_millis(rnd(300));
                    while let Some(k) = t.pop_expired(now) {
                        let at = model.remove(&k).expect("popped key must be live in model");
                        assert!(at <= now);
                    }
                    assert!(model.values().all(|&at| at > now));
                }
            }
            assert_eq!(t.len(), model.len());
            assert_eq!(t.next_deadline(), model.values().min().copied());
        }
    }
}
