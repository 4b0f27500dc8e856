//! Virtual time: `Instant`s that only move when the simulation says so.
//!
//! Owns the base `Instant` (taken once per run) and the virtual offset. The agents take
//! `now` as input, so a `SimClock` instant is all they see; wall time never enters a
//! run's behaviour. Must not read the real clock after construction.

use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub(crate) struct SimClock {
    base: Instant,
    offset: Duration,
}

impl SimClock {
    /// A clock at virtual time zero: the real reading once, to which virtual time only
    /// adds, so `Instant` arithmetic the agents do (`now - earlier`) never underflows.
    pub(crate) fn new() -> SimClock {
        SimClock {
            base: Instant::now(),
            offset: Duration::ZERO,
        }
    }

    pub(crate) fn now(&self) -> Instant {
        self.base + self.offset
    }

    /// Virtual time since the start.
    pub(crate) fn elapsed(&self) -> Duration {
        self.offset
    }

    /// Virtual time of `t` (zero for instants before the start).
    pub(crate) fn since_start(&self, t: Instant) -> Duration {
        t.saturating_duration_since(self.base)
    }

    /// The instant `d` after the start.
    pub(crate) fn at(&self, d: Duration) -> Instant {
        self.base + d
    }

    /// Moves to `t`; time never goes back (an earlier `t` leaves the clock as it is).
    pub(crate) fn advance_to(&mut self, t: Instant) {
        let d = t.saturating_duration_since(self.base);
        if d > self.offset {
            self.offset = d;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_only_forward_and_only_when_told() {
        let mut c = SimClock::new();
        let t0 = c.now();
        assert_eq!(c.now(), t0, "no real time leaks in");
        c.advance_to(t0 + Duration::from_secs(90));
        assert_eq!(c.elapsed(), Duration::from_secs(90));
        assert_eq!(c.now(), c.at(Duration::from_secs(90)));
        c.advance_to(t0 + Duration::from_secs(1));
        assert_eq!(c.elapsed(), Duration::from_secs(90), "never back");
        assert_eq!(
            c.since_start(t0 + Duration::from_millis(1500)),
            Duration::from_millis(1500)
        );
        assert_eq!(c.since_start(t0), Duration::ZERO);
    }
}
