//! BFD: Bidirectional Forwarding Detection (RFC 5880 asynchronous mode) over UDP, single
//! hop (RFC 5881) and multihop (RFC 5883), IPv4 and IPv6.
//!
//! Owns: the control packet codec ([`packet`]), the per-session state machine
//! ([`session`]: states, timer negotiation, poll/final sequences, detection, jitter,
//! AdminDown), the set of sessions with discriminator allocation and the demultiplexing
//! of received packets ([`registry`]), and the UDP sockets BFD needs ([`sockets`]).
//! Everything but `sockets` is sans-IO: bytes and `now` in; packets, state changes and
//! deadlines out. Must not: read the clock, draw OS randomness (the caller gives seeds),
//! register sockets with the event loop (the daemon does), or act on BGP sessions (the
//! caller decides what a state change means for them).
//!
//! What kube-bgp's BFD does and does not do:
//! - Asynchronous mode only. Demand mode is never requested (the D bit is always 0);
//!   a peer that asks for it is honoured as RFC 5880 §6.8.7 requires (periodic packets
//!   stop while both ends are Up) and still answers polls. No echo function (Required
//!   Min Echo RX Interval is always 0).
//! - No authentication: packets with the A bit set are discarded, as RFC 5880 §6.8.6
//!   requires of a session without authentication, and counted as
//!   [`registry::RxDrop::AuthNotSupported`] so a peer configured for it is visible.
//! - The C bit (Control Plane Independent) is 0: BFD runs inside the agent, so it fails
//!   with the agent, and a restart of kube-bgp is indistinguishable from a forwarding
//!   failure unless kube-bgp first sends AdminDown (RFC 5880 §6.8.16).
//! - A peer's AdminDown takes our session Down with diagnostic 3, as the RFC says, but
//!   is reported as [`session::ChangeCause::PeerAdminDown`], not as a failure
//!   ([`session::StateChange::is_failure`]).

pub mod packet;
pub mod registry;
pub mod session;
pub mod sockets;

#[cfg(test)]
mod packet_tests;
#[cfg(test)]
mod registry_tests;
#[cfg(test)]
mod session_tests;

use std::fmt;
use std::time::Duration;

pub(crate) use registry::{BfdRegistry, SessionKey};
pub(crate) use session::{BfdSession, StateChange};

/// Destination UDP port of single-hop control packets (RFC 5881 §4).
pub(crate) const SINGLE_HOP_PORT: u16 = 3784;
/// Destination UDP port of multihop control packets (RFC 5883 §5).
pub(crate) const MULTI_HOP_PORT: u16 = 4784;
/// The TTL / hop limit single-hop packets are sent with and must arrive with (RFC 5881 §5).
pub(crate) const SINGLE_HOP_TTL: u8 = 255;
/// Source ports of control packets (RFC 5881 §4: 49152 through 65535).
pub(crate) const SOURCE_PORTS: std::ops::RangeInclusive<u16> = 49152..=65535;
/// While a session is not Up it transmits no faster than this (RFC 5880 §6.8.3).
pub(crate) const SLOW_TX: Duration = Duration::from_secs(1);
/// The largest interval the protocol can carry: 2^32 - 1 microseconds.
pub(crate) const MAX_INTERVAL: Duration = Duration::from_micros(u32::MAX as u64);

/// Session states (RFC 5880 §4.1, the Sta field), ordered as on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BfdState {
    AdminDown = 0,
    Down = 1,
    Init = 2,
    Up = 3,
}

impl BfdState {
    /// From the two-bit wire value (higher bits are ignored).
    pub(crate) fn from_bits(v: u8) -> BfdState {
        match v & 3 {
            0 => BfdState::AdminDown,
            1 => BfdState::Down,
            2 => BfdState::Init,
            _ => BfdState::Up,
        }
    }

    pub(crate) fn bits(self) -> u8 {
        self as u8
    }

    /// The name BIRD and FRR print.
    pub(crate) fn name(self) -> &'static str {
        match self {
            BfdState::AdminDown => "AdminDown",
            BfdState::Down => "Down",
            BfdState::Init => "Init",
            BfdState::Up => "Up",
        }
    }
}

impl fmt::Display for BfdState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A diagnostic code (RFC 5880 §4.1, the Diag field: 5 bits). Codes 9-31 are reserved
/// but carried as received.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Diag(u8);

impl Diag {
    pub const NONE: Diag = Diag(0);
    pub const CONTROL_DETECTION_EXPIRED: Diag = Diag(1);
    pub(crate) const ECHO_FAILED: Diag = Diag(2);
    pub const NEIGHBOR_DOWN: Diag = Diag(3);
    pub(crate) const FORWARDING_PLANE_RESET: Diag = Diag(4);
    pub(crate) const PATH_DOWN: Diag = Diag(5);
    pub(crate) const CONCATENATED_PATH_DOWN: Diag = Diag(6);
    pub const ADMIN_DOWN: Diag = Diag(7);
    pub(crate) const REVERSE_CONCATENATED_PATH_DOWN: Diag = Diag(8);

    /// From the wire value; only the low 5 bits count.
    pub fn from_bits(v: u8) -> Diag {
        Diag(v & 0x1F)
    }

    pub(crate) fn bits(self) -> u8 {
        self.0
    }

    /// The RFC 5880 name, or "reserved (N)".
    pub(crate) fn name(self) -> &'static str {
        match self {
            Diag::NONE => "no diagnostic",
            Diag::CONTROL_DETECTION_EXPIRED => "control detection time expired",
            Diag::ECHO_FAILED => "echo function failed",
            Diag::NEIGHBOR_DOWN => "neighbor signaled session down",
            Diag::FORWARDING_PLANE_RESET => "forwarding plane reset",
            Diag::PATH_DOWN => "path down",
            Diag::CONCATENATED_PATH_DOWN => "concatenated path down",
            Diag::ADMIN_DOWN => "administratively down",
            Diag::REVERSE_CONCATENATED_PATH_DOWN => "reverse concatenated path down",
            _ => "reserved",
        }
    }
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 > 8 {
            write!(f, "reserved ({})", self.0)
        } else {
            f.write_str(self.name())
        }
    }
}

/// Single hop (RFC 5881: directly connected, TTL 255 enforced) or multihop (RFC 5883).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HopMode {
    SingleHop,
    MultiHop,
}

impl HopMode {
    /// The standard destination port of the mode: 3784 or 4784.
    pub fn default_port(self) -> u16 {
        match self {
            HopMode::SingleHop => SINGLE_HOP_PORT,
            HopMode::MultiHop => MULTI_HOP_PORT,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            HopMode::SingleHop => "single-hop",
            HopMode::MultiHop => "multihop",
        }
    }
}

impl fmt::Display for HopMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The locally configured timer parameters of one session (RFC 5880 §6.8.1:
/// bfd.DesiredMinTxInterval, bfd.RequiredMinRxInterval, bfd.DetectMult).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BfdTimers {
    /// How often we would like to send once Up (before Up we send at most once per
    /// second whatever this says).
    pub desired_min_tx: Duration,
    /// The fastest rate at which we accept the peer's packets. Zero asks the peer to
    /// send nothing.
    pub required_min_rx: Duration,
    /// Missed packets before the session is declared down (at least 1).
    pub detect_mult: u8,
}

impl BfdTimers {
    /// kube-router's defaults: 1000 ms both ways, multiplier 3.
    pub(crate) const DEFAULT: BfdTimers = BfdTimers {
        desired_min_tx: Duration::from_millis(1000),
        required_min_rx: Duration::from_millis(1000),
        detect_mult: 3,
    };

    /// Refuses values the protocol cannot carry: a zero multiplier, a zero transmit
    /// interval (RFC 5880 §6.8.1: it must be positive), intervals over 2^32-1 µs.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.detect_mult == 0 {
            return Err("detection multiplier must be at least 1".into());
        }
        if self.desired_min_tx < Duration::from_micros(1) {
            return Err("desired minimum transmit interval must be positive".into());
        }
        for (what, d) in [
            ("desired minimum transmit interval", self.desired_min_tx),
            ("required minimum receive interval", self.required_min_rx),
        ] {
            if d > MAX_INTERVAL {
                return Err(format!("{what} {d:?} exceeds 2^32-1 microseconds"));
            }
        }
        Ok(())
    }
}

impl From<&crate::config::Bfd> for BfdTimers {
    /// The timers of a validated `--bfd-*` flag set or `bfd:` annotation block (its
    /// port is the socket layer's business).
    fn from(b: &crate::config::Bfd) -> BfdTimers {
        BfdTimers {
            desired_min_tx: b.desired_min_tx,
            required_min_rx: b.required_min_rx,
            detect_mult: b.detection_multiplier,
        }
    }
}

impl Default for BfdTimers {
    fn default() -> BfdTimers {
        BfdTimers::DEFAULT
    }
}

/// Microseconds as carried on the wire (saturating at 2^32-1).
pub(crate) fn to_micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// A wire interval as a `Duration`.
pub(crate) fn from_micros(us: u32) -> Duration {
    Duration::from_micros(u64::from(us))
}
