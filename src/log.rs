//! Logging: one line per event on stderr, `LEVEL component: message key=value`.
//!
//! Timestamps (Unix time with microseconds, the wall clock every network namespace of the
//! host shares, so benchmarks can line log events up with other clocks) are added unless
//! `JOURNAL_STREAM` is set (journald adds its own). The level is global and set once at
//! start from `-v` flags. Never pass a password here.

use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Level {
    Error = 0,
    Warn = 1,
    Info = 2,
    Debug = 3,
    Trace = 4,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Error => "ERROR",
            Level::Warn => "WARN",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        }
    }
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);
static TIMESTAMPS: OnceLock<bool> = OnceLock::new();

/// Sets the most verbose level that is printed.
pub fn set_level(level: Level) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// Whether a message at `level` would be printed.
pub(crate) fn enabled(level: Level) -> bool {
    level as u8 <= LEVEL.load(Ordering::Relaxed)
}

/// Writes one log line. Use the `error!`/`warn!`/`info!`/`debug!` macros instead.
pub fn write(level: Level, component: &str, msg: std::fmt::Arguments<'_>) {
    if !enabled(level) {
        return;
    }
    let ts = *TIMESTAMPS.get_or_init(|| std::env::var_os("JOURNAL_STREAM").is_none());
    let mut line = String::with_capacity(128);
    if ts {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        line.push_str(&format!("{}.{:06} ", now.as_secs(), now.subsec_micros()));
    }
    line.push_str(&format!("{} {}: {}\n", level.name(), component, msg));
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Rate limit for one source of repeated log lines (one peer's errors): at most
/// `burst` lines per `window`; the first line of a later window says how many were
/// left out. Sans-IO: the caller gives `now`.
#[derive(Clone, Debug)]
pub(crate) struct LogGate {
    window: std::time::Duration,
    burst: u32,
    started: Option<std::time::Instant>,
    used: u32,
    suppressed: u64,
}

/// What the caller may log now.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Gate {
    /// Log the line; `suppressed` lines were left out before it (say so when > 0).
    Open { suppressed: u64 },
    /// Leave the line out (it is counted).
    Closed,
}

impl LogGate {
    pub(crate) fn new(window: std::time::Duration, burst: u32) -> LogGate {
        LogGate {
            window,
            burst,
            started: None,
            used: 0,
            suppressed: 0,
        }
    }

    /// Whether a line may be logged at `now`.
    pub(crate) fn pass(&mut self, now: std::time::Instant) -> Gate {
        let fresh = self
            .started
            .is_none_or(|s| now.saturating_duration_since(s) >= self.window);
        if fresh {
            self.started = Some(now);
            self.used = 0;
        }
        if self.used < self.burst {
            self.used += 1;
            let suppressed = std::mem::take(&mut self.suppressed);
            Gate::Open { suppressed }
        } else {
            self.suppressed += 1;
            Gate::Closed
        }
    }
}

#[macro_export]
macro_rules! error {
    ($comp:expr, $($arg:tt)*) => { $crate::log::write($crate::log::Level::Error, $comp, format_args!($($arg)*)) };
}
#[macro_export]
macro_rules! warn {
    ($comp:expr, $($arg:tt)*) => { $crate::log::write($crate::log::Level::Warn, $comp, format_args!($($arg)*)) };
}
#[macro_export]
macro_rules! info {
    ($comp:expr, $($arg:tt)*) => { $crate::log::write($crate::log::Level::Info, $comp, format_args!($($arg)*)) };
}
#[macro_export]
macro_rules! debug {
    ($comp:expr, $($arg:tt)*) => { $crate::log::write($crate::log::Level::Debug, $comp, format_args!($($arg)*)) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn gate_passes_a_burst_per_window_and_counts_the_rest() {
        let t = Instant::now();
        let mut g = LogGate::new(Duration::from_secs(60), 3);
        for _ in 0..3 {
            assert_eq!(g.pass(t), Gate::Open { suppressed: 0 });
        }
        for k in 1..=100u64 {
            assert_eq!(g.pass(t + Duration::from_millis(k)), Gate::Closed);
        }
        // The next window opens with the count of what was left out, once.
        let t2 = t + Duration::from_secs(60);
        assert_eq!(g.pass(t2), Gate::Open { suppressed: 100 });
        assert_eq!(g.pass(t2), Gate::Open { suppressed: 0 });
    }
}
