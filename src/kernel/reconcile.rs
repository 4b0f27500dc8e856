//! The pure difference between the routes kube-bgp wants and the protocol-17 routes the
//! kernel's main table holds.
//!
//! Owns: `Op` and `diff`. No I/O, no clock, no policy (connected-subnet refusal and
//! graceful-restart holding are applied by the caller on the result).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use super::route::KernelRoute;
use crate::bgp::types::Prefix;

/// One change to bring the kernel to the desired state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// No route of ours for the prefix: add it (refusing to overwrite anyone else's).
    Add(KernelRoute),
    /// Our route for the prefix differs: replace it in place.
    Replace(KernelRoute),
    /// Our route for a prefix that is no longer wanted: delete it.
    Delete(KernelRoute),
}

impl Op {
    pub fn prefix(&self) -> Prefix {
        match self {
            Op::Add(r) | Op::Replace(r) | Op::Delete(r) => r.dst,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Op::Add(_) => "add",
            Op::Replace(_) => "replace",
            Op::Delete(_) => "delete",
        }
    }
}

/// Operations that turn `actual` (our protocol-17 routes in the main table, nothing
/// else) into `desired`, in prefix order. One linear merge of the two sorted maps.
pub fn diff(
    desired: &BTreeMap<Prefix, KernelRoute>,
    actual: &BTreeMap<Prefix, KernelRoute>,
) -> Vec<Op> {
    let mut ops = Vec::new();
    let mut d = desired.iter().peekable();
    let mut a = actual.iter().peekable();
    loop {
        let ord = match (d.peek(), a.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((dk, _)), Some((ak, _))) => dk.cmp(ak),
        };
        match ord {
            Ordering::Less => {
                if let Some((_, r)) = d.next() {
                    ops.push(Op::Add(*r));
                }
            }
            Ordering::Greater => {
                if let Some((_, r)) = a.next() {
                    ops.push(Op::Delete(*r));
                }
            }
            Ordering::Equal => {
                if let (Some((_, want)), Some((_, have))) = (d.next(), a.next()) {
                    if want != have {
                        ops.push(Op::Replace(*want));
                    }
                }
            }
        }
    }
    ops
}

/// The same as [`diff`], restricted to the prefixes in `only`: an ordinary pass after a
/// burst of changes costs O(changes), not O(table).
pub fn diff_some(
    desired: &BTreeMap<Prefix, KernelRoute>,
    actual: &BTreeMap<Prefix, KernelRoute>,
    only: &std::collections::BTreeSet<Prefix>,
) -> Vec<Op> {
    only.iter()
        .filter_map(|p| match (desired.get(p), actual.get(p)) {
            (Some(want), None) => Some(Op::Add(*want)),
            (Some(want), Some(have)) if want != have => Some(Op::Replace(*want)),
            (None, Some(have)) => Some(Op::Delete(*have)),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::route::RouteKind;
    use std::net::IpAddr;

    fn r(p: &str, nh: &str) -> KernelRoute {
        KernelRoute::via(
            p.parse().expect("prefix"),
            nh.parse::<IpAddr>().expect("ip"),
        )
    }

    fn map(rs: &[KernelRoute]) -> BTreeMap<Prefix, KernelRoute> {
        rs.iter().map(|r| (r.dst, *r)).collect()
    }

    #[test]
    fn empty_sides() {
        let a = map(&[r("10.1.0.0/24", "10.0.0.2")]);
        assert!(diff(&BTreeMap::new(), &BTreeMap::new()).is_empty());
        assert_eq!(
            diff(&a, &BTreeMap::new()),
            vec![Op::Add(a[&"10.1.0.0/24".parse().expect("p")])]
        );
        assert_eq!(diff(&BTreeMap::new(), &a).len(), 1);
        assert!(matches!(diff(&BTreeMap::new(), &a)[0], Op::Delete(_)));
        assert!(diff(&a, &a).is_empty());
    }

    #[test]
    fn add_replace_delete_in_prefix_order() {
        let desired = map(&[
            r("10.1.0.0/24", "10.0.0.2"),
            r("10.2.0.0/24", "10.0.0.3"),
            r("fd00:1::/64", "fd00::2"),
        ]);
        let actual = map(&[
            r("10.0.9.0/24", "10.0.0.2"),
            r("10.2.0.0/24", "10.0.0.2"),
            r("fd00:1::/64", "fd00::2"),
            r("fd00:9::/64", "fd00::2"),
        ]);
        let ops = diff(&desired, &actual);
        assert_eq!(
            ops,
            vec![
                Op::Delete(r("10.0.9.0/24", "10.0.0.2")),
                Op::Add(r("10.1.0.0/24", "10.0.0.2")),
                Op::Replace(r("10.2.0.0/24", "10.0.0.3")),
                Op::Delete(r("fd00:9::/64", "fd00::2")),
            ]
        );
    }

    #[test]
    fn kind_change_and_other_are_replaced() {
        let p: Prefix = "10.5.0.0/16".parse().expect("p");
        let want = KernelRoute::dev(p, 4, None);
        let have = KernelRoute {
            dst: p,
            kind: RouteKind::Other,
        };
        assert_eq!(diff(&map(&[want]), &map(&[have])), vec![Op::Replace(want)]);
        let src_changed = KernelRoute::dev(p, 4, Some("10.0.0.1".parse().expect("ip")));
        assert_eq!(
            diff(&map(&[want]), &map(&[src_changed])),
            vec![Op::Replace(want)]
        );
    }

    #[test]
    fn applying_the_diff_yields_desired() {
        // A deterministic pseudo-random mix; applying ops to actual must give desired.
        let mut seed = 0x2545_f491_u32;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        for _ in 0..20 {
            let mut desired = BTreeMap::new();
            let mut actual = BTreeMap::new();
            for _ in 0..200 {
                let x = next();
                let route = r(
                    &format!("10.{}.{}.0/24", x % 7, (x >> 8) % 50),
                    &format!("10.0.0.{}", 1 + (x >> 16) % 3),
                );
                if x & 1 == 0 {
                    desired.insert(route.dst, route);
                } else {
                    actual.insert(route.dst, route);
                }
            }
            let mut applied = actual.clone();
            for op in diff(&desired, &actual) {
                match op {
                    Op::Add(r) => assert!(applied.insert(r.dst, r).is_none()),
                    Op::Replace(r) => assert!(applied.insert(r.dst, r).is_some()),
                    Op::Delete(r) => assert!(applied.remove(&r.dst).is_some()),
                }
            }
            assert_eq!(applied, desired);
            // Restricted to a subset of prefixes: exactly the full diff's ops on them.
            let only: std::collections::BTreeSet<Prefix> = desired
                .keys()
                .chain(actual.keys())
                .filter(|p| p.addr().to_string().ends_with(".0") && next() % 3 == 0)
                .copied()
                .collect();
            let full: Vec<Op> = diff(&desired, &actual)
                .into_iter()
                .filter(|op| only.contains(&op.prefix()))
                .collect();
            assert_eq!(diff_some(&desired, &actual, &only), full);
        }
    }
}
