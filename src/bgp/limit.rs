//! Per-peer prefix limits: from the number of prefixes a peer holds in the RIB to a
//! verdict (fine, warn once at 80 %, exceeded).
//!
//! Owns: the limit of one peer and whether the 80 % warning was given for each family.
//! Must not: count prefixes (the RIB does: every path held from the peer, accepted by
//! import or not), end sessions (the FSM does, on `Input::PrefixLimit`) or log.
//!
//! What counts is BIRD's `receive limit`: paths rejected by import are kept for
//! re-evaluation and cost memory too. The warning threshold and the restart after a wait
//! are FRR's `maximum-prefix N 80 restart M`.

use crate::bgp::types::Afi;

/// Percentage of the limit at which a warning is given.
pub(crate) const WARN_PERCENT: u64 = 80;

/// What a prefix count means against the limit.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LimitVerdict {
    Fine,
    /// The count reached `WARN_PERCENT` of the limit (reported once until it falls
    /// below again).
    Warn {
        count: usize,
        limit: u32,
    },
    /// The count is above the limit: the session must end.
    Exceeded {
        count: usize,
        limit: u32,
    },
}

/// One peer's limit (the same number for each family; 0 = unlimited).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PrefixLimiter {
    limit: u32,
    warned: [bool; 2],
}

fn slot(afi: Afi) -> usize {
    match afi {
        Afi::Ipv4 => 0,
        Afi::Ipv6 => 1,
    }
}

impl PrefixLimiter {
    pub fn new(limit: u32) -> PrefixLimiter {
        PrefixLimiter {
            limit,
            warned: [false; 2],
        }
    }

    #[cfg(test)]
    pub(crate) fn limit(&self) -> u32 {
        self.limit
    }

    /// Changes the limit; the caller checks the current counts again.
    pub(crate) fn set_limit(&mut self, limit: u32) {
        if limit != self.limit {
            self.limit = limit;
            self.warned = [false; 2];
        }
    }

    /// The verdict for `count` prefixes of `afi`.
    pub fn check(&mut self, afi: Afi, count: usize) -> LimitVerdict {
        if self.limit == 0 {
            return LimitVerdict::Fine;
        }
        let limit = u64::from(self.limit);
        let n = count as u64;
        let warned = &mut self.warned[slot(afi)];
        if n > limit {
            return LimitVerdict::Exceeded {
                count,
                limit: self.limit,
            };
        }
        if n * 100 >= limit * WARN_PERCENT {
            if !*warned {
                *warned = true;
                return LimitVerdict::Warn {
                    count,
                    limit: self.limit,
                };
            }
        } else {
            *warned = false;
        }
        LimitVerdict::Fine
    }

    /// The session ended: the next one warns again.
    pub fn reset(&mut self) {
        self.warned = [false; 2];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_once_at_80_percent_then_exceeds_above_the_limit() {
        let mut l = PrefixLimiter::new(100);
        assert_eq!(l.check(Afi::Ipv4, 0), LimitVerdict::Fine);
        assert_eq!(l.check(Afi::Ipv4, 79), LimitVerdict::Fine);
        assert_eq!(
            l.check(Afi::Ipv4, 80),
            LimitVerdict::Warn {
                count: 80,
                limit: 100
            }
        );
        assert_eq!(l.check(Afi::Ipv4, 90), LimitVerdict::Fine);
        // The other family has its own warning.
        assert_eq!(
            l.check(Afi::Ipv6, 85),
            LimitVerdict::Warn {
                count: 85,
                limit: 100
            }
        );
        assert_eq!(l.check(Afi::Ipv4, 100), LimitVerdict::Fine);
        assert_eq!(
            l.check(Afi::Ipv4, 101),
            LimitVerdict::Exceeded {
                count: 101,
                limit: 100
            }
        );
        // Falling below the threshold re-arms the warning.
        assert_eq!(l.check(Afi::Ipv4, 50), LimitVerdict::Fine);
        assert!(matches!(l.check(Afi::Ipv4, 81), LimitVerdict::Warn { .. }));
        l.reset();
        assert!(matches!(l.check(Afi::Ipv4, 81), LimitVerdict::Warn { .. }));
    }

    #[test]
    fn zero_is_unlimited_and_changes_rearm() {
        let mut l = PrefixLimiter::new(0);
        assert_eq!(l.check(Afi::Ipv6, usize::MAX), LimitVerdict::Fine);
        l.set_limit(10);
        assert_eq!(l.limit(), 10);
        assert!(matches!(
            l.check(Afi::Ipv6, 11),
            LimitVerdict::Exceeded { .. }
        ));
        assert!(matches!(l.check(Afi::Ipv6, 9), LimitVerdict::Warn { .. }));
        // Small limits: 80 % of 1 is reached by 1.
        let mut one = PrefixLimiter::new(1);
        assert!(matches!(one.check(Afi::Ipv4, 1), LimitVerdict::Warn { .. }));
        assert!(matches!(
            one.check(Afi::Ipv4, 2),
            LimitVerdict::Exceeded { .. }
        ));
    }
}
