//! The pure decision for one prefix: given the route kube-bgp wants and the route of
//! ours the kernel holds, which operation (if any) brings the kernel to the wanted state.
//!
//! Owns: `Op` and `op_for`. No I/O, no clock, no policy (connected-subnet refusal and
//! graceful-restart holding are applied by the reconciler on the result).

use super::route::{KernelRoute, RouteKind};
use crate::prefix::Prefix;

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

    pub(crate) fn route(&self) -> KernelRoute {
        match self {
            Op::Add(r) | Op::Replace(r) | Op::Delete(r) => *r,
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        match self {
            Op::Add(_) => "add",
            Op::Replace(_) => "replace",
            Op::Delete(_) => "delete",
        }
    }
}

/// The operation that turns `have` (our route for `dst` in the kernel, if any) into
/// `want` (the route we want for it, if any); `None` when they already agree.
pub(crate) fn op_for(dst: Prefix, want: Option<RouteKind>, have: Option<RouteKind>) -> Option<Op> {
    match (want, have) {
        (Some(w), None) => Some(Op::Add(KernelRoute { dst, kind: w })),
        (Some(w), Some(h)) if w != h => Some(Op::Replace(KernelRoute { dst, kind: w })),
        (None, Some(h)) => Some(Op::Delete(KernelRoute { dst, kind: h })),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::net::IpAddr;

    fn via(nh: &str) -> RouteKind {
        RouteKind::Via(nh.parse::<IpAddr>().expect("ip"))
    }

    fn p(s: &str) -> Prefix {
        s.parse().expect("prefix")
    }

    #[test]
    fn each_case() {
        let d = p("10.1.0.0/24");
        assert_eq!(op_for(d, None, None), None);
        assert_eq!(
            op_for(d, Some(via("10.0.0.2")), Some(via("10.0.0.2"))),
            None
        );
        assert_eq!(
            op_for(d, Some(via("10.0.0.2")), None),
            Some(Op::Add(KernelRoute::via(
                d,
                "10.0.0.2".parse().expect("ip")
            )))
        );
        assert_eq!(
            op_for(d, Some(via("10.0.0.3")), Some(via("10.0.0.2"))),
            Some(Op::Replace(KernelRoute::via(
                d,
                "10.0.0.3".parse().expect("ip")
            )))
        );
        // A delete names the route being removed.
        assert_eq!(
            op_for(d, None, Some(via("10.0.0.2"))),
            Some(Op::Delete(KernelRoute::via(
                d,
                "10.0.0.2".parse().expect("ip")
            )))
        );
        // A route of an unsupported form is replaced by the wanted one.
        let dev = RouteKind::Dev {
            ifindex: 4,
            src: None,
        };
        assert!(matches!(
            op_for(d, Some(dev), Some(RouteKind::Other)),
            Some(Op::Replace(_))
        ));
    }

    #[test]
    fn applying_the_ops_yields_desired() {
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
                let dst = p(&format!("10.{}.{}.0/24", x % 7, (x >> 8) % 50));
                let kind = via(&format!("10.0.0.{}", 1 + (x >> 16) % 3));
                if x & 1 == 0 {
                    desired.insert(dst, kind);
                } else {
                    actual.insert(dst, kind);
                }
            }
            let mut applied = actual.clone();
            let all: std::collections::BTreeSet<Prefix> =
                desired.keys().chain(actual.keys()).copied().collect();
            for dst in all {
                let op = op_for(dst, desired.get(&dst).copied(), actual.get(&dst).copied());
                match op {
                    Some(Op::Add(r)) => assert!(applied.insert(r.dst, r.kind).is_none()),
                    Some(Op::Replace(r)) => assert!(applied.insert(r.dst, r.kind).is_some()),
                    Some(Op::Delete(r)) => assert_eq!(applied.remove(&r.dst), Some(r.kind)),
                    None => {}
                }
            }
            assert_eq!(applied, desired);
        }
    }
}
