//! The BGP session state machine (RFC 4271 §8), sans-IO.
//!
//! Owns: one [`Peer`] per configured neighbour — its state (Idle, Connect, Active,
//! OpenSent, OpenConfirm, Established), up to two TCP connections at once (one we
//! initiated, one the peer initiated) with collision resolution (§6.8), the ConnectRetry,
//! IdleHold, Hold and Keepalive timers, OPEN checks and capability negotiation.
//! Must not: read the clock (`now` is an argument), draw OS randomness (jitter comes
//! from a seed the caller gives), touch sockets or bytes (it works on decoded
//! [`Message`]s; `bgp::wire` encodes them), or keep routes (that is the RIB).
//!
//! Driving it: feed every event as an [`Input`] to [`Peer::handle`] with the current
//! time and carry out the returned [`Output`]s in order; call `handle(Input::Timers)`
//! when `Peer::next_deadline` has passed.
//!
//! Connection ids (`ConnId`) are allocated by the `Peer`, unique within it: the FSM
//! picks the id of an outbound connection in [`Output::Connect`]; for an accepted
//! inbound socket the caller first takes an id from `Peer::alloc_conn`, then reports
//! `Input::TcpConnected { conn, inbound: true }`. The speaker keys sockets by
//! (peer, conn). `Output::Send` followed by `Output::Close` on the same connection means
//! "flush what is queued (best effort), then close": a NOTIFICATION precedes its close.
//!
//! Timers: ConnectRetry and IdleHold share one exponential backoff (`connect_retry_start`
//! doubling to `connect_retry_max`, each interval multiplied by a jitter factor in
//! [0.75, 1.0], RFC 4271 §10). The backoff is reset once a session has stayed
//! Established for `connect_retry_max`, so a flapping peer is not retried every second.
//! After a session error the peer waits in Idle for one backoff interval (IdleHold,
//! refusing inbound connections as RFC 4271 Idle does), then starts again by itself.
//! OpenSent uses the large hold timer (4 minutes); later states use the negotiated hold
//! time, restarted by every message received; keepalives go out every hold/3 seconds.
//!
//! Collisions: the connection initiated by the speaker with the higher BGP identifier
//! survives, the other is closed with Cease/Connection Collision Resolution (6/7). An
//! inbound connection while Established is closed with 6/7 — unless the session
//! negotiated graceful restart both ways: then it may mean the peer restarted (RFC 4724
//! §4.2). The new connection gets our OPEN and waits beside the session; only when the
//! peer's OPEN on it has passed every check does the old session end (gracefully) and
//! the new one proceed. A bare connection from the peer's address never displaces an
//! Established session. A 6/7 received on our last connection before Established means
//! the peer kept a connection we no longer have (one we closed before we knew the
//! peer): we connect again at once and accept the peer's connection instead of waiting
//! in IdleHold; if the peer still answers 6/7, twice more after 100 and 400 ms, then
//! IdleHold as for any error (the count restarts with each session).
//!
//! Sending: the speaker reports every write attempt ([`Input::Sent`]) with the bytes
//! still queued. Past `max_send_buffer` the session ends with Cease/Out of Resources
//! (6/8). The send hold timer (RFC 9687) runs while bytes wait and the socket takes
//! none: twice the negotiated hold time, as BIRD uses (`SEND_HOLD_NO_HOLD_TIME` when
//! the hold time is 0); at expiry the connection is closed without a NOTIFICATION (it
//! could not be delivered), as BIRD does.
//!
//! Prefix limits: the speaker says when a peer sent more prefixes than allowed
//! ([`Input::PrefixLimit`]); the session ends with Cease/Maximum Number of Prefixes
//! Reached (6/1, RFC 4486, data AFI/SAFI/limit) and the peer stays in Idle for
//! `prefix_limit_restart`, doubling on each repeated trip up to
//! `PREFIX_LIMIT_RESTART_MAX` (FRR's `maximum-prefix ... restart`, with BIRD's
//! growing error wait); the wait resets once a session stays up that long.

mod collision;
mod negotiate;
mod peer;
pub(crate) mod timers;

#[cfg(test)]
mod fsm_tests;
#[cfg(test)]
mod guard_tests;
#[cfg(test)]
mod session_tests;

use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

use crate::bgp::types::{Afi, Message, Notification, NotificationCode, Update};

pub(crate) use collision::keep_outbound;
pub(crate) use negotiate::Negotiated;
pub use peer::Peer;

/// Identifies one TCP connection of a [`Peer`] (see the module docs for who allocates).
pub(crate) type ConnId = u64;

/// Default hold time offered (GoBGP's and kube-router's default).
pub(crate) const DEFAULT_HOLD_TIME: u16 = 90;
/// First connect-retry / idle-hold interval: short, so a node converges fast.
pub(crate) const DEFAULT_CONNECT_RETRY_START: Duration = Duration::from_secs(1);
/// Largest connect-retry / idle-hold interval.
pub(crate) const DEFAULT_CONNECT_RETRY_MAX: Duration = Duration::from_secs(30);
/// The hold timer while waiting for the peer's OPEN (RFC 4271 §8: "4 minutes").
pub(crate) const LARGE_HOLD_TIME: Duration = Duration::from_secs(240);
/// The send hold time when the negotiated hold time is 0 (no hold timer).
pub(crate) const SEND_HOLD_NO_HOLD_TIME: Duration = Duration::from_secs(480);
/// Default bound of the bytes queued for one connection (see the module docs).
pub(crate) const DEFAULT_MAX_SEND_BUFFER: usize = 32 << 20;
/// First Idle wait after a prefix limit was exceeded.
pub(crate) const DEFAULT_PREFIX_LIMIT_RESTART: Duration = Duration::from_secs(60);
/// The prefix-limit wait doubles up to this.
pub(crate) const PREFIX_LIMIT_RESTART_MAX: Duration = Duration::from_secs(900);

/// Longest Shutdown Communication sent, in bytes: RFC 8203's limit, which receivers of
/// both RFC 8203 and RFC 9003 (which allows 255) accept.
pub(crate) const MAX_SHUTDOWN_COMMUNICATION: usize = 128;

/// The data of a Cease/Administrative Shutdown NOTIFICATION carrying `message`
/// (RFC 9003 §2): empty for no message, else its length in one octet and the UTF-8
/// bytes, cut on a character boundary to [`MAX_SHUTDOWN_COMMUNICATION`].
pub(crate) fn shutdown_communication(message: &str) -> Vec<u8> {
    if message.is_empty() {
        return Vec::new();
    }
    let mut end = message.len().min(MAX_SHUTDOWN_COMMUNICATION);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    let mut data = Vec::with_capacity(end + 1);
    data.push(end as u8);
    data.extend_from_slice(&message.as_bytes()[..end]);
    data
}

/// Graceful restart settings we advertise (RFC 4724).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct GrConfig {
    /// Restart time in seconds (at most 4095).
    pub restart_time: u16,
    /// The R bit: we have just restarted and the peer should wait for our End-of-RIB.
    pub restarting: bool,
    /// The F bit for every family: our forwarding state survived the restart.
    pub forwarding_preserved: bool,
}

/// Per-neighbour configuration.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PeerConfig {
    pub local_asn: u32,
    /// The AS the peer must open with (D4): anything else is refused with 2/2.
    pub remote_asn: u32,
    /// Our BGP identifier.
    pub(crate) router_id: Ipv4Addr,
    /// Hold time we offer, in seconds: 0 (no keepalives) or at least 3.
    pub(crate) hold_time: u16,
    /// First connect-retry / idle-hold interval (must be non-zero).
    pub(crate) connect_retry_start: Duration,
    /// The interval doubles up to this.
    pub(crate) connect_retry_max: Duration,
    /// Never connect; only accept the peer's connection.
    pub(crate) passive: bool,
    /// Unicast families to negotiate (at least one).
    pub families: Vec<Afi>,
    /// Advertise route refresh (RFC 2918).
    pub(crate) route_refresh: bool,
    /// Advertise graceful restart.
    pub graceful_restart: Option<GrConfig>,
    /// Accept a peer's hold time of 0 (no keepalives, no hold timer). Off: an OPEN with
    /// hold time 0 is refused with Unacceptable Hold Time (2/6) unless we offer 0.
    pub accept_zero_hold_time: bool,
    /// Most bytes queued for one connection before it is reset with Cease/Out of
    /// Resources; 0 = unbounded.
    pub(crate) max_send_buffer: usize,
    /// First Idle wait after the peer exceeded its prefix limit (doubles on repeats).
    pub(crate) prefix_limit_restart: Duration,
}

impl PeerConfig {
    /// A configuration with the defaults: hold 90 s, IPv4 unicast, route refresh, no GR,
    /// active, connect retry 1 s doubling to 30 s.
    pub fn new(local_asn: u32, remote_asn: u32, router_id: Ipv4Addr) -> PeerConfig {
        PeerConfig {
            local_asn,
            remote_asn,
            router_id,
            hold_time: DEFAULT_HOLD_TIME,
            connect_retry_start: DEFAULT_CONNECT_RETRY_START,
            connect_retry_max: DEFAULT_CONNECT_RETRY_MAX,
            passive: false,
            families: vec![Afi::Ipv4],
            route_refresh: true,
            graceful_restart: None,
            accept_zero_hold_time: false,
            max_send_buffer: DEFAULT_MAX_SEND_BUFFER,
            prefix_limit_restart: DEFAULT_PREFIX_LIMIT_RESTART,
        }
    }

    /// Refuses values the FSM cannot work with.
    pub(crate) fn validate(&self) -> Result<(), FsmError> {
        let bad = |what: String| Err(FsmError::Config(what));
        if self.local_asn == 0 || self.remote_asn == 0 {
            return bad("AS number 0 is reserved (RFC 7607)".into());
        }
        if self.router_id.is_unspecified() {
            return bad("router id 0.0.0.0 is not a valid BGP identifier".into());
        }
        if self.hold_time == 1 || self.hold_time == 2 {
            return bad(format!(
                "hold time {} s: must be 0 or at least 3",
                self.hold_time
            ));
        }
        if self.connect_retry_start.is_zero() {
            return bad("connect retry interval must be greater than zero".into());
        }
        if self.prefix_limit_restart.is_zero() {
            return bad("prefix limit restart time must be greater than zero".into());
        }
        if self.families.is_empty() {
            return bad("no address family configured".into());
        }
        if let Some(gr) = &self.graceful_restart {
            if gr.restart_time > 0x0FFF {
                return bad(format!(
                    "graceful restart time {} s: at most 4095",
                    gr.restart_time
                ));
            }
        }
        Ok(())
    }

    /// Whether a change from `self` to `new` alters the OPEN we send (so an open session
    /// must be reset to take effect).
    pub(crate) fn open_differs(&self, new: &PeerConfig) -> bool {
        let fam = |c: &PeerConfig| {
            let mut f = c.families.clone();
            f.sort();
            f.dedup();
            f
        };
        self.local_asn != new.local_asn
            || self.remote_asn != new.remote_asn
            || self.router_id != new.router_id
            || fam(self) != fam(new)
            || self.route_refresh != new.route_refresh
            || self.graceful_restart != new.graceful_restart
    }
}

/// Errors of this module (configuration only: protocol errors become NOTIFICATIONs).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum FsmError {
    Config(String),
}

impl fmt::Display for FsmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FsmError::Config(s) => write!(f, "invalid peer configuration: {s}"),
        }
    }
}

impl std::error::Error for FsmError {}

/// RFC 4271 session states. For a peer with two connections this is the most advanced
/// of them; Connect means an outbound TCP connection attempt is under way.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum State {
    Idle,
    Connect,
    Active,
    OpenSent,
    OpenConfirm,
    Established,
}

impl State {
    /// Lower-case name as kube-router's `bgp_peer_info` metric and gobgp print it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            State::Idle => "idle",
            State::Connect => "connect",
            State::Active => "active",
            State::OpenSent => "opensent",
            State::OpenConfirm => "openconfirm",
            State::Established => "established",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An event for the FSM.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Input {
    /// Administrative start (also after a [`Input::Stop`]).
    Start,
    /// Administrative stop: open connections get this Cease NOTIFICATION (RFC 4486:
    /// `CeaseAdminShutdown`, `CeasePeerDeconfigured`, `CeaseConfigChange`, ...).
    Stop { cease: NotificationCode },
    /// Administrative shutdown (Cease/Administrative Shutdown, 6/2) carrying a
    /// Shutdown Communication (RFC 9003 §2: a length octet and UTF-8 text), cut to
    /// `MAX_SHUTDOWN_COMMUNICATION` bytes on a character boundary. Like `Stop`, the
    /// peer stays down until `Start`.
    Shutdown { message: String },
    /// A connection is up: an outbound one we asked for, or an accepted inbound one
    /// (whose id came from `Peer::alloc_conn`).
    TcpConnected { conn: ConnId, inbound: bool },
    /// An outbound connection attempt failed.
    TcpFailed { conn: ConnId },
    /// An established TCP connection closed or broke.
    TcpClosed { conn: ConnId },
    /// A message decoded from the connection.
    Received { conn: ConnId, msg: Message },
    /// The codec found a malformed message; it built the NOTIFICATION to send.
    DecodeError {
        conn: ConnId,
        notification: Notification,
    },
    /// A write was attempted on the connection: `pending` bytes are still queued, and
    /// `progressed` says whether the socket took any bytes this time.
    Sent {
        conn: ConnId,
        pending: usize,
        progressed: bool,
    },
    /// The peer holds more than `limit` prefixes of `afi` (the speaker counts them).
    PrefixLimit { afi: Afi, limit: u32 },
    /// The BFD session protecting this BGP session detected a forwarding failure: an
    /// Established session ends at once with Cease 6/10 "BFD Down" (RFC 9384) and no
    /// graceful-restart retention; a session not yet Established is left alone.
    BfdDown,
    /// Check the timers (call when `next_deadline()` has passed; spurious calls are fine).
    Timers,
}

/// Why a session (or attempt) ended and the peer went to Idle.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum DownReason {
    /// [`Input::Stop`].
    AdminStop,
    /// A reconfiguration that changes the OPEN.
    ConfigChange,
    /// No message within the hold time; we sent 4/0.
    HoldTimerExpired,
    /// The TCP connection closed or broke.
    ConnectionLost,
    /// The peer sent this NOTIFICATION.
    NotificationReceived(Notification),
    /// We sent this NOTIFICATION: refused OPEN, FSM error or malformed message.
    NotificationSent(Notification),
    /// A new connection from a graceful-restart peer, whose OPEN passed every check,
    /// while Established (RFC 4724 §4.2).
    PeerRestarted,
    /// Queued bytes stayed unsent for the send hold time (RFC 9687).
    SendHoldTimerExpired,
    /// More than `max_send_buffer` bytes were queued; we sent Cease/Out of Resources.
    SendBufferFull { limit: usize },
    /// The peer exceeded its prefix limit; we sent Cease/Maximum Number of Prefixes.
    PrefixLimit { afi: Afi, limit: u32 },
    /// BFD detected a forwarding failure; we sent Cease/BFD Down (RFC 9384).
    BfdDown,
}

impl fmt::Display for DownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DownReason::AdminStop => f.write_str("administratively stopped"),
            DownReason::ConfigChange => f.write_str("configuration changed"),
            DownReason::HoldTimerExpired => f.write_str("hold timer expired"),
            DownReason::ConnectionLost => f.write_str("connection lost"),
            DownReason::NotificationReceived(n) => write!(f, "received NOTIFICATION {n}"),
            DownReason::NotificationSent(n) => write!(f, "sent NOTIFICATION {n}"),
            DownReason::PeerRestarted => f.write_str("peer restarted (new connection)"),
            DownReason::SendHoldTimerExpired => {
                f.write_str("send hold timer expired: the peer stopped reading (RFC 9687)")
            }
            DownReason::SendBufferFull { limit } => write!(
                f,
                "more than {limit} bytes waiting to be sent: the peer reads too slowly; sent Cease/Out of Resources (6/8)"
            ),
            DownReason::PrefixLimit { afi, limit } => write!(
                f,
                "more than {limit} {} prefixes received; sent Cease/Maximum Number of Prefixes Reached (6/1)",
                afi.name()
            ),
            DownReason::BfdDown => f.write_str(
                "BFD detected a forwarding failure; sent Cease/BFD Down (6/10, RFC 9384)",
            ),
        }
    }
}

/// An action for the caller, to be carried out in order.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Output {
    /// Open an outbound TCP connection to the peer, identified by `conn` from now on.
    Connect { conn: ConnId },
    /// Encode and queue a message on a connection.
    Send { conn: ConnId, msg: Message },
    /// Flush what is queued on the connection (best effort), then close it.
    Close { conn: ConnId },
    /// The session is up on `conn`; the speaker may send its routes there.
    Established {
        conn: ConnId,
        negotiated: Negotiated,
    },
    /// An UPDATE received in Established.
    Update(Update),
    /// The peer asked for our routes of a negotiated family again (RFC 2918).
    RouteRefresh { afi: Afi, safi: u8 },
    /// The peer went to Idle. `graceful`: the session was Established with graceful
    /// restart negotiated both ways and ended without a NOTIFICATION (TCP loss, hold
    /// expiry, peer restart) — the RIB keeps its routes as stale (RFC 4724 §4.2).
    /// `restart_time`: with `graceful`, the restart time the peer advertised in the
    /// session that ended (how long its routes may stay stale); 0 otherwise.
    Down {
        reason: DownReason,
        was_established: bool,
        graceful: bool,
        restart_time: u16,
    },
    /// The peer's state changed (net change over one call).
    StateChange { from: State, to: State },
}

/// The last NOTIFICATION exchanged with the peer, for the CLI.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct LastNotification {
    /// True when we sent it, false when the peer did.
    pub(crate) sent: bool,
    pub(crate) notification: Notification,
}
