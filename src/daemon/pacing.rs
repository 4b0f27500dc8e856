//! Pacing of the node's outputs against the BGP input: when the RIB's output goes to the
//! peers, and whether a kernel pass waits for the input to go quiet.
//!
//! While UPDATEs stream in (a route reflector receiving many clients' routes at once, a
//! full table arriving), output to peers is coalesced: one flush, one write per peer,
//! for the whole burst instead of one per loop turn, held until the input has been quiet
//! `OUT_QUIET` and never longer than `OUT_MAX_DELAY`. Input that came alone (nothing in
//! the `OUT_QUIET` before it) goes out at once: a lone UPDATE is not held, and a burst
//! costs at most one extra flush, for its first message. Kernel passes wait while the
//! input streams (unread input, or input in the last `INPUT_QUIET`), so the kernel does
//! not starve the sessions; the kernel sync bounds that wait itself.
//!
//! Sans-IO: it sees what the speaker says about its input ([`Arrivals`]) and `now`, and
//! owns only since when output has been held. It flushes nothing and runs no pass: the
//! daemon does, when told.

use std::time::{Duration, Instant};

/// RIB output waits until BGP input has been quiet this long (unless the input came
/// alone, after a pause at least this long)...
pub(super) const OUT_QUIET: Duration = Duration::from_millis(1);
/// ...but never longer than this.
pub(super) const OUT_MAX_DELAY: Duration = Duration::from_millis(20);
/// Kernel passes wait until BGP input has been quiet this long (the kernel sync bounds
/// the wait).
pub(super) const INPUT_QUIET: Duration = Duration::from_millis(20);

/// What the speaker says about its input at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Arrivals {
    /// When bytes last arrived from any peer (`None`: never).
    pub(super) last: Option<Instant>,
    /// Whether nothing arrived in the `OUT_QUIET` before `last` (the first input ever
    /// counts as alone).
    pub(super) alone: bool,
    /// Whether input is left unread in a socket (a read stopped at its budget).
    pub(super) unread: bool,
}

/// The output pacing: since when RIB output has been held back.
#[derive(Debug, Default)]
pub(super) struct Pacing {
    out_held_since: Option<Instant>,
}

impl Pacing {
    /// Whether the RIB's output goes to the peers now. Asked once per loop turn while
    /// BGP runs; a `true` must be followed by [`Pacing::flushed`].
    pub(super) fn flush_now(&mut self, input: &Arrivals, now: Instant) -> bool {
        let quiet = !input.unread
            && (input.alone
                || input
                    .last
                    .is_none_or(|t| now.saturating_duration_since(t) >= OUT_QUIET));
        let held = *self.out_held_since.get_or_insert(now);
        quiet || now.saturating_duration_since(held) >= OUT_MAX_DELAY
    }

    /// After a flush: `more` when the RIB still has output (more than one flush's
    /// worth), which then goes as soon as the input is quiet, or `OUT_MAX_DELAY` from
    /// now while it streams.
    pub(super) fn flushed(&mut self, more: bool, now: Instant) {
        self.out_held_since = more.then_some(now);
    }

    /// Whether a kernel pass waits: UPDATEs are streaming in when input is left unread
    /// or arrived very recently (a fast reader empties the socket between two segments
    /// of a burst).
    pub(super) fn kernel_waits(&self, input: &Arrivals, now: Instant) -> bool {
        input.unread
            || input
                .last
                .is_some_and(|t| now.saturating_duration_since(t) < INPUT_QUIET)
    }

    /// The next instant pacing needs a loop turn: when held output may go (the input
    /// quiet, or `OUT_MAX_DELAY` over), and when a kernel pass's wait ends.
    pub(super) fn poll_at(&self, input: &Arrivals, now: Instant) -> Option<Instant> {
        let out = self.out_held_since.map(|h| {
            let quiet_at = input.last.map_or(now, |t| t + OUT_QUIET);
            quiet_at.min(h + OUT_MAX_DELAY)
        });
        let kernel = input
            .last
            .map(|t| t + INPUT_QUIET)
            .filter(|&t| t > now && !input.unread);
        match (out, kernel) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Input as the speaker reports it: last bytes at `t0 + last` ms.
    fn input(t0: Instant, last: u64, alone: bool, unread: bool) -> Arrivals {
        Arrivals {
            last: Some(t0 + ms(last)),
            alone,
            unread,
        }
    }

    #[test]
    fn lone_input_is_flushed_at_once() {
        let t0 = Instant::now();
        let mut p = Pacing::default();
        let a = input(t0, 0, true, false);
        assert!(p.flush_now(&a, t0));
        p.flushed(false, t0);
        assert_eq!(p.out_held_since, None);
    }

    #[test]
    fn no_input_ever_flushes_at_once() {
        let t0 = Instant::now();
        let mut p = Pacing::default();
        assert!(p.flush_now(&Arrivals::default(), t0));
    }

    #[test]
    fn streaming_input_is_held_until_quiet() {
        let t0 = Instant::now();
        let mut p = Pacing::default();
        // Back-to-back input: held.
        let a = input(t0, 0, false, false);
        assert!(!p.flush_now(&a, t0));
        // The loop is woken when the input has been quiet OUT_QUIET.
        assert_eq!(p.poll_at(&a, t0), Some(t0 + OUT_QUIET));
        assert!(!p.flush_now(&a, t0 + ms(1) - Duration::from_micros(1)));
        assert!(p.flush_now(&a, t0 + OUT_QUIET));
        p.flushed(false, t0 + OUT_QUIET);
        assert_eq!(p.poll_at(&a, t0 + OUT_QUIET), Some(t0 + INPUT_QUIET));
    }

    #[test]
    fn unread_input_holds_output_at_most_out_max_delay() {
        let t0 = Instant::now();
        let mut p = Pacing::default();
        // A socket keeps data unread turn after turn: held, even if it came alone.
        for step in 0..20 {
            let now = t0 + ms(step);
            let a = input(t0, step, true, true);
            assert!(!p.flush_now(&a, now), "held at {step} ms");
            // (The loop does not sleep while input is unread.)
            assert_eq!(p.poll_at(&a, now), Some(now + OUT_QUIET));
        }
        let now = t0 + OUT_MAX_DELAY;
        assert!(p.flush_now(&input(t0, 20, false, true), now));
        // More than one flush's worth: the rest waits another OUT_MAX_DELAY at most.
        p.flushed(true, now);
        let a = input(t0, 20, false, true);
        assert!(!p.flush_now(&a, now + ms(19)));
        assert!(p.flush_now(&a, now + OUT_MAX_DELAY));
    }

    #[test]
    fn stream_that_never_pauses_is_flushed_every_out_max_delay() {
        let t0 = Instant::now();
        let mut p = Pacing::default();
        let mut flushes = Vec::new();
        // Input every 0.5 ms for 100 ms, a turn after each.
        for step in 0..200u64 {
            let now = t0 + Duration::from_micros(500 * step);
            let a = Arrivals {
                last: Some(now),
                alone: false,
                unread: false,
            };
            if p.flush_now(&a, now) {
                p.flushed(true, now);
                flushes.push(now.duration_since(t0));
            }
        }
        assert_eq!(flushes, vec![ms(20), ms(40), ms(60), ms(80)]);
    }

    #[test]
    fn kernel_waits_while_input_streams() {
        let t0 = Instant::now();
        let p = Pacing::default();
        assert!(!p.kernel_waits(&Arrivals::default(), t0));
        let streaming = input(t0, 0, false, false);
        assert!(p.kernel_waits(&streaming, t0 + ms(19)));
        assert!(!p.kernel_waits(&streaming, t0 + INPUT_QUIET));
        assert_eq!(p.poll_at(&streaming, t0 + ms(5)), Some(t0 + INPUT_QUIET));
        assert_eq!(p.poll_at(&streaming, t0 + INPUT_QUIET), None);
        // Unread input: waits whatever the time.
        assert!(p.kernel_waits(&input(t0, 0, true, true), t0 + ms(500)));
    }
}
