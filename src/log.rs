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
pub fn enabled(level: Level) -> bool {
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
