//! The graceful-shutdown wait of a stop without graceful restart (RFC 8326): what a
//! stop signal means, and when the wait is over.
//!
//! Owns: whether the daemon is draining before it stops, and until when. Pure (signals
//! and `now` in; a decision and a deadline out): the loop keeps turning during the wait
//! (sessions read, keepalives sent, API changes applied), the RIB re-announces the
//! routes through the export rules (`cluster::rules`), and the stop sequence itself
//! (withdraw, Cease) is the daemon's. Must not: touch sessions, the RIB or the kernel.

use std::time::{Duration, Instant};

/// What the loop does with a SIGTERM or SIGINT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StopVerdict {
    /// Stop now (no drain configured, graceful restart on, nobody to tell, or the
    /// second signal).
    StopNow,
    /// Announce with GRACEFUL_SHUTDOWN and stop when [`StopDrain::deadline`] passes.
    Drain { until: Instant },
    /// Stop now: the routes have carried GRACEFUL_SHUTDOWN (a cordon) for at least the
    /// wait already, so routers have moved.
    AlreadyDrained,
}

/// The stop-time drain of one daemon.
#[derive(Clone, Debug)]
pub(crate) struct StopDrain {
    /// `--graceful-shutdown-time`; zero turns the drain off.
    wait: Duration,
    /// Graceful restart is on: peers keep our routes across the stop, so draining them
    /// would move traffic away for nothing.
    graceful_restart: bool,
    /// Set once the first signal started a drain.
    until: Option<Instant>,
    started: Option<Instant>,
}

impl StopDrain {
    pub(crate) fn new(wait: Duration, graceful_restart: bool) -> StopDrain {
        StopDrain {
            wait,
            graceful_restart,
            until: None,
            started: None,
        }
    }

    /// A stop signal arrived; `established` sessions would hear about the drain;
    /// `drained_for`: how long routes have already carried GRACEFUL_SHUTDOWN (a cordon
    /// with `--graceful-shutdown-on-cordon`): as long as the wait or longer, routers
    /// have moved already and the stop need not wait again.
    pub(crate) fn on_signal(
        &mut self,
        now: Instant,
        established: usize,
        drained_for: Option<Duration>,
    ) -> StopVerdict {
        if self.until.is_some() || self.wait.is_zero() || self.graceful_restart || established == 0
        {
            return StopVerdict::StopNow;
        }
        if drained_for.is_some_and(|d| d >= self.wait) {
            return StopVerdict::AlreadyDrained;
        }
        let until = now + self.wait;
        self.until = Some(until);
        self.started = Some(now);
        StopVerdict::Drain { until }
    }

    /// Whether routes are being announced with GRACEFUL_SHUTDOWN because of a stop.
    pub(crate) fn active(&self) -> bool {
        self.until.is_some()
    }

    /// When the drain ends (the loop wakes up then).
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.until
    }

    /// Whether the drain is over and the daemon should stop.
    pub(crate) fn due(&self, now: Instant) -> bool {
        self.until.is_some_and(|t| now >= t)
    }

    /// How long the drain lasted so far (for the log), if one started.
    pub(crate) fn elapsed(&self, now: Instant) -> Option<Duration> {
        self.started.map(|s| now.saturating_duration_since(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAIT: Duration = Duration::from_secs(5);

    /// Routes already drained by a cordon for the whole wait: stop at once; drained for
    /// less: the stop still waits its full time.
    #[test]
    fn a_long_enough_cordon_drain_counts() {
        let t0 = Instant::now();
        let mut d = StopDrain::new(WAIT, false);
        assert_eq!(d.on_signal(t0, 1, Some(WAIT)), StopVerdict::AlreadyDrained);
        assert!(!d.active());
        let mut d = StopDrain::new(WAIT, false);
        assert_eq!(
            d.on_signal(t0, 1, Some(Duration::from_secs(1))),
            StopVerdict::Drain { until: t0 + WAIT }
        );
    }

    #[test]
    fn first_signal_drains_second_stops() {
        let t0 = Instant::now();
        let mut d = StopDrain::new(WAIT, false);
        assert!(!d.active());
        assert_eq!(d.deadline(), None);
        assert!(!d.due(t0));
        assert_eq!(
            d.on_signal(t0, 2, None),
            StopVerdict::Drain { until: t0 + WAIT }
        );
        assert!(d.active());
        assert_eq!(d.deadline(), Some(t0 + WAIT));
        assert!(!d.due(t0 + Duration::from_secs(4)));
        assert!(d.due(t0 + WAIT));
        assert_eq!(
            d.elapsed(t0 + Duration::from_secs(1)),
            Some(Duration::from_secs(1))
        );
        // The second signal: at once, and the drain does not start over.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(d.on_signal(t1, 2, None), StopVerdict::StopNow);
        assert_eq!(d.deadline(), Some(t0 + WAIT));
    }

    #[test]
    fn no_drain_when_off_with_graceful_restart_or_nobody_listening() {
        let t0 = Instant::now();
        for (mut d, established) in [
            (StopDrain::new(Duration::ZERO, false), 3),
            (StopDrain::new(WAIT, true), 3),
            (StopDrain::new(WAIT, false), 0),
        ] {
            let mut again = d.clone();
            assert_eq!(
                again.on_signal(t0, established, Some(WAIT)),
                StopVerdict::StopNow
            );
            assert_eq!(d.on_signal(t0, established, None), StopVerdict::StopNow);
            assert!(!d.active());
            assert!(!d.due(t0 + WAIT));
            assert_eq!(d.elapsed(t0), None);
        }
    }
}
