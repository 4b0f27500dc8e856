//! Timer arithmetic for the session FSM: the connect-retry / idle-hold backoff with
//! RFC 4271 §10 jitter, and overflow-safe deadlines.
//!
//! Owns: the small deterministic PRNG that draws jitter (seeded by the caller) and the
//! backoff sequence. Must not read the clock or any OS randomness: `now` and the seed
//! come from outside, so a test can replay a sequence exactly.

use std::time::{Duration, Instant};

/// Lower bound of the jitter factor, in thousandths (RFC 4271 §10: 0.75..1.0).
const JITTER_MIN_PERMILLE: u64 = 750;

/// The latest deadline the FSM ever sets: further-out values are clamped to it (a
/// configured duration of years must not overflow `Instant`).
const FAR_FUTURE: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// `now + d`, never panicking: a duration too large for `Instant` is clamped.
pub(crate) fn after(now: Instant, d: Duration) -> Instant {
    now.checked_add(d.min(FAR_FUTURE))
        .or_else(|| now.checked_add(Duration::from_secs(24 * 3600)))
        .unwrap_or(now)
}

/// A splitmix64 generator: tiny, good enough for jitter, fully determined by its seed.
#[derive(Clone, Debug)]
pub(crate) struct Prng(u64);

impl Prng {
    pub(crate) fn new(seed: u64) -> Prng {
        Prng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Multiplies `d` by a jitter factor uniformly drawn from [0.75, 1.0] (in 1/1000 steps).
pub(crate) fn jitter(d: Duration, rng: &mut Prng) -> Duration {
    let permille = JITTER_MIN_PERMILLE + rng.next_u64() % (1000 - JITTER_MIN_PERMILLE + 1);
    let nanos = d.as_nanos().saturating_mul(u128::from(permille)) / 1000;
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// Exponential backoff: attempt `k` (0-based) waits `min(start · 2^k, max)`, jittered.
///
/// The same sequence spaces outbound connection attempts (ConnectRetry timer) and the
/// IdleHold pause after a session error, so a peer that keeps failing is retried less
/// and less often, up to `max`.
#[derive(Clone, Debug)]
pub(crate) struct Backoff {
    pub(crate) start: Duration,
    pub(crate) max: Duration,
    /// How many intervals have been drawn since the last reset.
    attempts: u32,
}

impl Backoff {
    pub(crate) fn new(start: Duration, max: Duration) -> Backoff {
        Backoff {
            start,
            max,
            attempts: 0,
        }
    }

    /// The un-jittered interval for the next draw.
    pub(crate) fn base(&self) -> Duration {
        let factor = 1u32 << self.attempts.min(31);
        self.start
            .saturating_mul(factor)
            .min(self.max.max(self.start))
    }

    /// Draws the next interval and advances the sequence.
    pub(crate) fn next(&mut self, rng: &mut Prng) -> Duration {
        let d = jitter(self.base(), rng);
        self.attempts = self.attempts.saturating_add(1);
        d
    }

    pub(crate) fn reset(&mut self) {
        self.attempts = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_max_within_jitter_bounds() {
        let mut rng = Prng::new(7);
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        let expected = [1u64, 2, 4, 8, 16, 30, 30, 30];
        for base in expected {
            let d = b.next(&mut rng);
            let lo = Duration::from_millis(base * 750);
            let hi = Duration::from_secs(base);
            assert!(d >= lo && d <= hi, "{d:?} not in [{lo:?}, {hi:?}]");
        }
        b.reset();
        assert_eq!(b.base(), Duration::from_secs(1));
    }

    #[test]
    fn jitter_is_spread_and_deterministic() {
        let mut a = Prng::new(42);
        let mut b = Prng::new(42);
        let xs: Vec<Duration> = (0..200)
            .map(|_| jitter(Duration::from_secs(4), &mut a))
            .collect();
        let ys: Vec<Duration> = (0..200)
            .map(|_| jitter(Duration::from_secs(4), &mut b))
            .collect();
        assert_eq!(xs, ys);
        let min = xs.iter().min().copied().unwrap_or_default();
        let max = xs.iter().max().copied().unwrap_or_default();
        assert!(min >= Duration::from_secs(3) && max <= Duration::from_secs(4));
        // 200 draws over 251 steps: the spread must cover most of the range.
        assert!(max - min > Duration::from_millis(800), "{min:?}..{max:?}");
    }

    #[test]
    fn huge_durations_do_not_overflow() {
        let mut rng = Prng::new(1);
        let mut b = Backoff::new(Duration::MAX, Duration::MAX);
        let d = b.next(&mut rng);
        assert!(d > Duration::from_secs(1));
        let now = Instant::now();
        assert!(after(now, Duration::MAX) > now);
    }
}
