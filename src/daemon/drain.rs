//! The graceful-shutdown wait of a stop without graceful restart (RFC 8326): what a
//! stop signal means, and when the wait is over.
//!
//! Owns: whether the daemon is draining before it stops, and until when. Pure (signals
//! and `now` in; a decision and a deadline out): the loop keeps turning during the wait
//! (sessions read, keepalives sent, API changes applied), the RIB re-announces the
//! routes through the export policy (`cluster::policy`), and the stop sequence itself
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

    /// A stop signal arrived; `established` sessions would hear about the drain.
    pub(crate) fn on_signal(&mut self, now: Instant, established: usize) -> StopVerdict {
        if self.until.is_some() || self.wait.is_zero() || self.graceful_restart || established == 0
        {
            return StopVerdict::StopNow;
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

    #[test]
    fn first_signal_drains_second_stops() {
        let t0 = Instant::now();
        let mut d = StopDrain::new(WAIT, false);
        assert!(!d.active());
        assert_eq!(d.deadline(), None);
        assert!(!d.due(t0));
        assert_eq!(d.on_signal(t0, 2), StopVerdict::Drain { until: t0 + WAIT });
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
        assert_eq!(d.on_signal(t1, 2), StopVerdict::StopNow);
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
            assert_eq!(d.on_signal(t0, established), StopVerdict::StopNow);
            assert!(!d.active());
            assert!(!d.due(t0 + WAIT));
            assert_eq!(d.elapsed(t0), None);
        }
    }
}
