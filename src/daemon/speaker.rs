//! The BGP speaker as the daemon's loop sees it: a façade over the sans-IO core
//! (`speaker::sessions`: sessions, FSMs, connection buffers, RIB, timers) and the
//! [`SessionIo`] that drives it: the real sockets (`speaker::sockets`: mio streams,
//! listeners, tokens, read budget, vectored writes, closing connections) or, in tests,
//! a simulated network (`speaker::sim_net`). Each method feeds the core one input and
//! lets the io carry out what the core asked; nothing else lives here.
//!
//! `Speaker` dereferences to the core, so views, metrics and the plan's application
//! read the peers and the RIB (`sp.peers`, `sp.rib`) where they live. Does not decide
//! which peers exist (that is `cluster`, applied through [`Speaker::set_peers`]) and
//! does not touch the kernel. Runs on the daemon thread only.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

use mio::Token;

use crate::bgp::rib::Rib;
use crate::cluster::peers::PeerPlan;
use crate::ops::ctl::MessageCounters;
use crate::prefix::Afi;

pub(super) mod admin;
mod peers;
mod sessions;
#[cfg(test)]
pub(crate) mod sim_net;
mod sockets;
#[cfg(test)]
#[path = "speaker_tests.rs"]
mod tests;

use admin::{AdminError, SoftResetIn};
pub(crate) use sessions::PeerSlot;
pub(crate) use sessions::SpeakerCore;
pub(crate) use sockets::SpeakerSockets;

/// Settings that are the same for every peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LocalParams {
    pub(crate) router_id: Ipv4Addr,
    pub(crate) local_asn: u32,
    pub(crate) port: u16,
    /// Node addresses used as next hops when a session of the other family carries
    /// routes of this one.
    pub(crate) best_v4: Option<Ipv4Addr>,
    pub(crate) best_v6: Option<Ipv6Addr>,
    /// Graceful restart (RFC 4724): restart time advertised, and whether this process
    /// is restarting (R bit).
    pub(crate) graceful_restart: Option<(u16, bool)>,
    /// `--bgp-accept-zero-holdtime`.
    pub(crate) accept_zero_holdtime: bool,
    /// `--bgp-prefix-limit-restart`: Idle wait after a prefix limit was exceeded.
    pub(crate) prefix_limit_restart: Duration,
    /// `--bgp-max-send-buffer`: bytes queued per connection before Cease 6/8.
    pub(crate) max_send_buffer: usize,
    /// `--bgp-node-ttl-security`: listeners answer with TTL 255 (the SYN-ACK comes from
    /// the listener, and a GTSM peer drops it otherwise).
    pub(crate) gtsm: bool,
}

#[cfg(test)]
impl LocalParams {
    /// Test settings: router ID `id`, AS `asn`, port 179, `id` as the IPv4 next hop,
    /// no graceful restart, 32 MiB send buffers (change fields with `..`).
    pub(crate) fn plain(id: Ipv4Addr, asn: u32) -> LocalParams {
        LocalParams {
            router_id: id,
            local_asn: asn,
            port: 179,
            best_v4: Some(id),
            best_v6: None,
            graceful_restart: None,
            accept_zero_holdtime: false,
            prefix_limit_restart: Duration::from_secs(60),
            max_send_buffer: 32 << 20,
            gtsm: false,
        }
    }
}

/// Counters and history for the CLI and metrics.
#[derive(Clone, Debug, Default)]
pub(crate) struct PeerStats {
    pub(crate) sent: MessageCounters,
    pub(crate) received: MessageCounters,
    pub(crate) established_transitions: u64,
    pub(crate) state_changes: u64,
    pub(crate) last_error: Option<String>,
    pub(crate) state_since: Option<Instant>,
    pub(crate) local_addr: Option<IpAddr>,
    /// Families whose End-of-RIB arrived in the current session.
    pub(crate) eor: Vec<Afi>,
    /// When the last UPDATE (End-of-RIB included) arrived.
    pub(crate) last_update: Option<Instant>,
}

/// What carries out the speaker core's socket operations and writes and feeds it what
/// the network brings: the real sockets on the mio loop ([`SpeakerSockets`]) or a
/// simulated network. The core's inputs it calls: `admit`/`accepted`, `connected`,
/// `connect_failed`, `on_read`, `on_written`, `on_closed`, `listen_failed`; its outputs
/// it takes: `pop_op`, `pop_writable` and `send_queue`. Makes no protocol decision.
pub(crate) trait SessionIo {
    /// Carries out what the core asks (socket operations, writes of the send queues)
    /// until it asks nothing more: each can lead the core to ask more.
    fn service(&mut self, core: &mut SpeakerCore, now: Instant);
    /// Readiness of one of its tokens (only an io with tokens gets any).
    fn ready(&mut self, core: &mut SpeakerCore, token: Token, now: Instant);
    /// Whether `token` is one of its tokens.
    fn owns(&self, token: Token) -> bool;
    /// Its own timers at `now` (closing connections whose linger time is over) and
    /// whatever else is due by then (a simulated network hands over its arrivals).
    fn on_timers(&mut self, core: &mut SpeakerCore, now: Instant);
    /// Whether some connection has unread input left from an earlier turn.
    fn has_pending_reads(&self) -> bool;
    /// Reads on (one budget each) from the connections that stopped at their budget.
    fn drive_pending(&mut self, core: &mut SpeakerCore, now: Instant);
    /// When it next needs `on_timers`.
    fn next_deadline(&mut self) -> Option<Instant>;
    /// The addresses listened on.
    #[cfg(test)]
    fn listening(&self) -> Vec<SocketAddr>;
    /// Listen addresses that could not be opened since the last call, with the error.
    fn take_listen_failures(&mut self) -> Vec<(SocketAddr, String)>;
    /// At exit: gives the closing connections up to `budget` in total to write their
    /// last bytes, then drops them.
    fn drain_closing(&mut self, budget: Duration);
    /// The concrete io, for tests that look inside it.
    #[cfg(test)]
    fn as_any(&self) -> &dyn std::any::Any;
}

/// The speaker: its core and the io that drives it.
pub(crate) struct Speaker {
    core: SpeakerCore,
    io: Box<dyn SessionIo>,
}

impl Deref for Speaker {
    type Target = SpeakerCore;

    fn deref(&self) -> &SpeakerCore {
        &self.core
    }
}

impl DerefMut for Speaker {
    fn deref_mut(&mut self) -> &mut SpeakerCore {
        &mut self.core
    }
}

impl Speaker {
    /// A speaker without peers driven by `io`; `seed` varies the sessions' jitter.
    pub(crate) fn with_io(
        rib: Rib,
        local: LocalParams,
        seed: u64,
        io: Box<dyn SessionIo>,
    ) -> Speaker {
        Speaker {
            core: SpeakerCore::new(rib, local, seed),
            io,
        }
    }

    pub(crate) fn owns(&self, token: Token) -> bool {
        self.io.owns(token)
    }

    /// The addresses currently listened on.
    #[cfg(test)]
    pub(crate) fn listening(&self) -> Vec<SocketAddr> {
        self.io.listening()
    }

    /// The next instant the speaker needs to run timers (its io's included).
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        match (self.core.next_deadline(), self.io.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs expired timers, the io's included (and what it has due).
    pub(crate) fn on_timers(&mut self, now: Instant) {
        self.core.on_timers(now);
        self.io.on_timers(&mut self.core, now);
        self.io.service(&mut self.core, now);
    }

    /// Whether some connection has unread input left from an earlier turn: the loop
    /// must not sleep, and calls [`Speaker::drive_pending`].
    pub(crate) fn has_pending_reads(&self) -> bool {
        self.io.has_pending_reads()
    }

    /// Reads on (one budget each) from the connections that stopped at their read
    /// budget on an earlier turn.
    pub(crate) fn drive_pending(&mut self, now: Instant) {
        self.io.drive_pending(&mut self.core, now);
    }

    /// Handles readiness of a speaker token.
    pub(crate) fn ready(&mut self, token: Token, now: Instant) {
        self.io.ready(&mut self.core, token, now);
    }

    /// Encodes what the RIB wants sent (at most one chunk: call again while
    /// `rib.has_out()`) and writes it to the peers' connections.
    pub(crate) fn flush_rib(&mut self, now: Instant) {
        self.core.flush_rib(now);
        self.io.service(&mut self.core, now);
    }

    /// Listens on exactly `addrs` (port `local.port`); keeps sockets that stay.
    /// Returns the addresses that could not be bound, with the error.
    pub(crate) fn set_listen(
        &mut self,
        addrs: &[IpAddr],
        now: Instant,
    ) -> Vec<(SocketAddr, String)> {
        self.core.set_listen(addrs);
        self.io.service(&mut self.core, now);
        self.io.take_listen_failures()
    }

    /// Makes the configured peer set equal to `plans` (see [`SpeakerCore::set_peers`]).
    pub(crate) fn set_peers(&mut self, plans: &[PeerPlan], now: Instant) {
        self.core.set_peers(plans, now);
        self.io.service(&mut self.core, now);
    }

    /// Stops every session. `notify`: send Cease (administrative shutdown) so peers
    /// withdraw at once; otherwise just close (graceful restart: peers keep our routes).
    ///
    /// Nothing here waits: with `notify` the NOTIFICATIONs are queued on connections
    /// that are closing; [`Speaker::drain_closing`] gives them a bounded time at exit.
    pub(crate) fn shutdown(&mut self, notify: bool, now: Instant) {
        self.core.shutdown(notify, now);
        self.io.service(&mut self.core, now);
    }

    /// At exit: gives the closing connections up to `budget` in total (not per peer) to
    /// write their last bytes, then drops them.
    pub(crate) fn drain_closing(&mut self, budget: Duration) {
        self.io.drain_closing(budget);
    }

    /// The BFD session protecting `addr` detected a forwarding failure (see
    /// [`SpeakerCore::bfd_down`]).
    pub(crate) fn bfd_down(&mut self, addr: IpAddr, now: Instant) {
        self.core.bfd_down(addr, now);
        self.io.service(&mut self.core, now);
    }

    /// `kube-bgp neighbor ADDR disable` (see [`SpeakerCore::disable_peer`]).
    pub(crate) fn disable_peer(
        &mut self,
        addr: IpAddr,
        message: Option<String>,
        now: Instant,
    ) -> Result<(), AdminError> {
        let r = self.core.disable_peer(addr, message, now);
        self.io.service(&mut self.core, now);
        r
    }

    /// `kube-bgp neighbor ADDR enable` (see [`SpeakerCore::enable_peer`]).
    pub(crate) fn enable_peer(&mut self, addr: IpAddr, now: Instant) -> Result<(), AdminError> {
        let r = self.core.enable_peer(addr, now);
        self.io.service(&mut self.core, now);
        r
    }

    /// `kube-bgp neighbor ADDR softreset in` (see [`SpeakerCore::soft_reset_in`]).
    pub(crate) fn soft_reset_in(
        &mut self,
        addr: IpAddr,
        now: Instant,
    ) -> Result<SoftResetIn, AdminError> {
        let r = self.core.soft_reset_in(addr, now);
        self.io.service(&mut self.core, now);
        r
    }
}
