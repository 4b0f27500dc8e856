//! One BFD session in asynchronous mode (RFC 5880 §6.8), sans-IO.
//!
//! Owns: the session's state variables (§6.8.1), the Down/Init/Up/AdminDown machine
//! (§6.2, §6.8.6), timer negotiation (§6.8.2: transmit interval = max(our
//! DesiredMinTx, peer's RequiredMinRx); §6.8.4: detection time = peer's DetectMult ×
//! max(our RequiredMinRx, peer's DesiredMinTx)), the 1 s floor while not Up (§6.8.3),
//! poll/final sequences (§6.5, §6.8.3), jitter (§6.8.7) and AdminDown (§6.8.16).
//! Must not: read the clock (`now` is an argument), draw OS randomness (a seed is
//! given), look at addresses, TTLs or sockets, or decide what a state change means for
//! BGP.
//!
//! Driving it: feed each [`BfdInput`] to [`BfdSession::handle`] with the current time
//! and carry out the returned [`BfdOutput`]s in order (send each packet, report each
//! state change); call `handle(BfdInput::Timers)` when [`BfdSession::next_deadline`]
//! has passed (spurious calls are harmless). Packets must already have passed
//! [`ControlPacket::decode`] and the registry's checks (session lookup, TTL, no
//! authentication).
//!
//! Choices where the RFC leaves room:
//! - A packet goes out at once (outside the periodic schedule) when the local state
//!   changes (so the peer learns of Init, Up, Down or AdminDown without waiting up to a
//!   second of slow start, and before its detection timer for us runs out at our old
//!   rate), when a Poll Sequence starts, and to answer a Poll with Final; otherwise
//!   only on the jittered schedule.
//! - A parameter change while a poll is in progress waits for its Final and then starts
//!   a new poll. No poll is run while the session is Down or AdminDown (the peer runs no
//!   detection timer for us then); the new values are simply advertised.
//! - After AdminDown the session keeps sending at its current rate for one detection
//!   time of the peer (our DetectMult × transmit interval), so a lost packet does not
//!   leave the peer to detect a failure; then at the 1 s idle rate until removed.
//!   [`BfdSession::is_drained`] says when a stopping daemon may go.

use std::time::{Duration, Instant};

use super::packet::ControlPacket;
use super::{BfdState, BfdTimers, Diag, SLOW_TX, from_micros, to_micros};
use crate::bgp::fsm::timers::{Prng, after};

/// An event for a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BfdInput<'a> {
    /// A control packet from the peer, matched to this session by the registry.
    Packet(&'a ControlPacket),
    /// Check the timers (transmit, detection, AdminDown drain).
    Timers,
    /// Administratively disable the session (RFC 5880 §6.8.16) with this diagnostic,
    /// normally [`Diag::ADMIN_DOWN`]; e.g. before a graceful stop.
    AdminDown(Diag),
    /// Administratively enable a session in AdminDown again (it goes Down).
    Enable,
}

/// What the caller must do, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BfdOutput {
    /// Send this packet to the peer now.
    Send(ControlPacket),
    /// The local state changed.
    StateChanged(StateChange),
}

/// Why the local state changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeCause {
    /// The three-way handshake advanced (Down→Init, Down→Up, Init→Up) on a packet from
    /// the peer in this state.
    Handshake { peer_state: BfdState },
    /// No valid packet within the detection time (diagnostic 1).
    DetectionTimeExpired,
    /// The peer reported Down while we were Up: it lost our packets, or it restarted
    /// (diagnostic 3; `peer_diag` is the peer's own reason).
    PeerDown { peer_diag: Diag },
    /// The peer went AdminDown (diagnostic 3). It stopped its session on purpose (e.g.
    /// a graceful restart or maintenance): not a forwarding failure.
    PeerAdminDown { peer_diag: Diag },
    /// We were disabled with [`BfdInput::AdminDown`].
    LocalAdminDown,
    /// We were enabled again with [`BfdInput::Enable`].
    LocalEnable,
}

/// One transition of the local state, with the diagnostic we now send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateChange {
    pub from: BfdState,
    pub to: BfdState,
    pub diag: Diag,
    pub cause: ChangeCause,
}

impl StateChange {
    /// Whether this is a forwarding failure of a session that was Up: detection time
    /// expired, or the peer says Down. An Up session taken down by the peer's (or our)
    /// AdminDown is not one, nor is anything that happens before Up.
    pub fn is_failure(&self) -> bool {
        self.from == BfdState::Up
            && self.to == BfdState::Down
            && matches!(
                self.cause,
                ChangeCause::DetectionTimeExpired | ChangeCause::PeerDown { .. }
            )
    }
}

/// Errors of this module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionError {
    /// Timer values the protocol cannot use.
    InvalidTimers(String),
    /// Local discriminators must be non-zero (RFC 5880 §6.8.1).
    ZeroDiscriminator,
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionError::InvalidTimers(s) => write!(f, "invalid BFD timers: {s}"),
            SessionError::ZeroDiscriminator => f.write_str("BFD local discriminator is 0"),
        }
    }
}

impl std::error::Error for SessionError {}

/// Counters for monitoring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionCounters {
    pub(crate) packets_received: u64,
    pub(crate) packets_sent: u64,
    /// Up→Down transitions that [`StateChange::is_failure`] calls failures.
    pub failures: u64,
    /// Transitions to Up.
    pub(crate) ups: u64,
}

/// One BFD session. Intervals are kept in microseconds, as on the wire.
#[derive(Clone, Debug)]
pub struct BfdSession {
    local_discr: u32,
    config: BfdTimers,
    state: BfdState,
    local_diag: Diag,
    remote_discr: u32,
    remote_state: BfdState,
    remote_diag: Diag,
    remote_demand: bool,
    remote_cpi: bool,
    /// bfd.RemoteMinRxInterval: 1 µs until the peer says otherwise (§6.8.1).
    remote_min_rx_us: u32,
    /// The peer's last Desired Min TX Interval (0 before any packet).
    remote_min_tx_us: u32,
    /// The peer's Detect Mult (0 before any packet: no detection).
    remote_detect_mult: u8,
    /// bfd.DesiredMinTxInterval and bfd.RequiredMinRxInterval as advertised.
    adv_tx_us: u32,
    adv_rx_us: u32,
    /// The values in force for our transmit interval and our detection time. They lag
    /// the advertised ones while a poll holds back a slower rate or a shorter detection
    /// (§6.8.3).
    eff_tx_us: u32,
    eff_rx_us: u32,
    /// A Poll Sequence is in progress: periodic packets carry P until a Final arrives.
    polling: bool,
    last_tx: Option<Instant>,
    next_tx: Option<Instant>,
    /// When the last valid packet arrived; the detection deadline counts from it.
    last_rx: Option<Instant>,
    detect_at: Option<Instant>,
    /// While AdminDown: until when packets keep the pre-AdminDown rate.
    drain_until: Option<Instant>,
    last_change: Instant,
    /// A packet should go out at the end of the current input (state change, poll
    /// start, AdminDown).
    send_now: bool,
    rng: Prng,
    counters: SessionCounters,
}

impl BfdSession {
    /// A new session in state Down (RFC 5880 §6.8.1) that sends its first packet at once.
    pub fn new(
        local_discr: u32,
        config: BfdTimers,
        now: Instant,
        seed: u64,
    ) -> Result<BfdSession, SessionError> {
        if local_discr == 0 {
            return Err(SessionError::ZeroDiscriminator);
        }
        config.validate().map_err(SessionError::InvalidTimers)?;
        let tx = to_micros(config.desired_min_tx.max(SLOW_TX));
        let rx = to_micros(config.required_min_rx);
        Ok(BfdSession {
            local_discr,
            config,
            state: BfdState::Down,
            local_diag: Diag::NONE,
            remote_discr: 0,
            remote_state: BfdState::Down,
            remote_diag: Diag::NONE,
            remote_demand: false,
            remote_cpi: false,
            remote_min_rx_us: 1,
            remote_min_tx_us: 0,
            remote_detect_mult: 0,
            adv_tx_us: tx,
            adv_rx_us: rx,
            eff_tx_us: tx,
            eff_rx_us: rx,
            polling: false,
            last_tx: None,
            next_tx: Some(now),
            last_rx: None,
            detect_at: None,
            drain_until: None,
            last_change: now,
            send_now: false,
            rng: Prng::new(seed),
            counters: SessionCounters::default(),
        })
    }

    pub fn local_discr(&self) -> u32 {
        self.local_discr
    }

    /// The peer's discriminator (0 while unknown, and again after a detection time
    /// without packets).
    pub fn remote_discr(&self) -> u32 {
        self.remote_discr
    }

    pub fn state(&self) -> BfdState {
        self.state
    }

    /// The peer's state as it last said (Down while unknown).
    pub fn remote_state(&self) -> BfdState {
        self.remote_state
    }

    /// The diagnostic we send: why our state last changed.
    pub(crate) fn local_diag(&self) -> Diag {
        self.local_diag
    }

    /// The diagnostic in the peer's last packet.
    pub(crate) fn remote_diag(&self) -> Diag {
        self.remote_diag
    }

    /// Whether the peer claims Control Plane Independence (its C bit).
    #[cfg(test)]
    pub(crate) fn remote_control_plane_independent(&self) -> bool {
        self.remote_cpi
    }

    #[cfg(test)]
    pub(crate) fn config(&self) -> &BfdTimers {
        &self.config
    }

    /// When the local state last changed (or the session was created).
    pub(crate) fn last_change(&self) -> Instant {
        self.last_change
    }

    pub fn counters(&self) -> SessionCounters {
        self.counters
    }

    /// Whether a Poll Sequence is waiting for its Final.
    pub fn polling(&self) -> bool {
        self.polling
    }

    /// The interval between our periodic packets before jitter: max(our
    /// DesiredMinTx in force, the peer's RequiredMinRx). `None` while we must not send
    /// periodically (the peer asked for no packets, or for Demand mode).
    pub fn tx_interval(&self) -> Option<Duration> {
        self.tx_interval_us().map(from_micros)
    }

    /// The detection time: the peer's DetectMult × max(our RequiredMinRx in force, the
    /// peer's DesiredMinTx). `None` before the first packet from the peer.
    pub fn detection_time(&self) -> Option<Duration> {
        if self.remote_detect_mult == 0 {
            return None;
        }
        let us = u64::from(self.eff_rx_us.max(self.remote_min_tx_us))
            * u64::from(self.remote_detect_mult);
        Some(Duration::from_micros(us))
    }

    /// The peer's required minimum receive interval (1 µs before any packet).
    #[cfg(test)]
    pub(crate) fn remote_min_rx(&self) -> Duration {
        from_micros(self.remote_min_rx_us)
    }

    /// The peer's desired minimum transmit interval (0 before any packet).
    #[cfg(test)]
    pub(crate) fn remote_min_tx(&self) -> Duration {
        from_micros(self.remote_min_tx_us)
    }

    /// The peer's detection multiplier (0 before any packet).
    pub(crate) fn remote_detect_mult(&self) -> u8 {
        self.remote_detect_mult
    }

    /// The Desired Min TX and Required Min RX intervals we advertise now.
    #[cfg(test)]
    pub(crate) fn advertised(&self) -> (Duration, Duration) {
        (from_micros(self.adv_tx_us), from_micros(self.adv_rx_us))
    }

    /// Whether a session in AdminDown has told the peer for long enough (one detection
    /// time of the peer, or at once if no peer was ever heard) that it may be removed.
    pub fn is_drained(&self, now: Instant) -> bool {
        self.state == BfdState::AdminDown && self.drain_until.is_none_or(|t| now >= t)
    }

    /// The earliest time [`BfdInput::Timers`] has work to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        [self.next_tx, self.detect_at, self.drain_until]
            .into_iter()
            .flatten()
            .min()
    }

    /// Applies new local timer values (RFC 5880 §6.8.3): a Poll Sequence tells the peer
    /// if the session is Init or Up; a slower transmit rate or a shorter detection time
    /// takes effect only once it is confirmed.
    pub(crate) fn reconfigure(
        &mut self,
        config: BfdTimers,
        now: Instant,
    ) -> Result<Vec<BfdOutput>, SessionError> {
        config.validate().map_err(SessionError::InvalidTimers)?;
        let mut out = Vec::new();
        self.config = config;
        self.sync_params(now);
        self.flush(now, &mut out);
        Ok(out)
    }

    pub fn handle(&mut self, input: BfdInput<'_>, now: Instant) -> Vec<BfdOutput> {
        let mut out = Vec::new();
        match input {
            BfdInput::Packet(p) => self.receive(p, now, &mut out),
            BfdInput::Timers => self.timers(now, &mut out),
            BfdInput::AdminDown(diag) => self.admin_down(diag, now, &mut out),
            BfdInput::Enable => {
                if self.state == BfdState::AdminDown {
                    self.drain_until = None;
                    self.set_state(
                        BfdState::Down,
                        Diag::NONE,
                        ChangeCause::LocalEnable,
                        now,
                        &mut out,
                    );
                }
            }
        }
        self.flush(now, &mut out);
        out
    }

    // ---- reception (RFC 5880 §6.8.6, from "Set bfd.RemoteDiscr" on) ----

    fn receive(&mut self, p: &ControlPacket, now: Instant, out: &mut Vec<BfdOutput>) {
        let old_interval = self.tx_interval_us();
        self.counters.packets_received += 1;
        self.remote_discr = p.my_discr;
        self.remote_state = p.state;
        self.remote_diag = p.diag;
        self.remote_demand = p.demand;
        self.remote_cpi = p.control_plane_independent;
        self.remote_min_rx_us = p.required_min_rx_us;
        self.remote_min_tx_us = p.desired_min_tx_us;
        self.remote_detect_mult = p.detect_mult;
        let poll_done = p.final_bit && self.polling;
        if poll_done {
            // The peer has seen the values of our poll: they take full effect.
            self.polling = false;
            self.eff_tx_us = self.adv_tx_us;
            self.eff_rx_us = self.adv_rx_us;
        }
        self.restart_detection(now);
        if self.state == BfdState::AdminDown {
            self.reschedule_tx(old_interval, now);
            return;
        }
        match (self.state, p.state) {
            (BfdState::Down, BfdState::AdminDown) => {}
            (_, BfdState::AdminDown) => self.set_state(
                BfdState::Down,
                Diag::NEIGHBOR_DOWN,
                ChangeCause::PeerAdminDown { peer_diag: p.diag },
                now,
                out,
            ),
            (BfdState::Down, BfdState::Down) => self.set_state(
                BfdState::Init,
                Diag::NONE,
                ChangeCause::Handshake {
                    peer_state: p.state,
                },
                now,
                out,
            ),
            (BfdState::Down, BfdState::Init) | (BfdState::Init, BfdState::Init | BfdState::Up) => {
                self.set_state(
                    BfdState::Up,
                    Diag::NONE,
                    ChangeCause::Handshake {
                        peer_state: p.state,
                    },
                    now,
                    out,
                )
            }
            (BfdState::Up, BfdState::Down) => self.set_state(
                BfdState::Down,
                Diag::NEIGHBOR_DOWN,
                ChangeCause::PeerDown { peer_diag: p.diag },
                now,
                out,
            ),
            _ => {}
        }
        if poll_done {
            // A change made while that poll was open gets its own poll now.
            self.sync_params(now);
        }
        if p.poll {
            // Answer at once, outside the periodic schedule, without P (§6.5, §6.8.7).
            out.push(BfdOutput::Send(self.packet(true)));
            self.counters.packets_sent += 1;
        }
        // The peer's RequiredMinRx, a Final, a state change or the peer's Demand mode
        // may have changed the transmit interval, or stopped or resumed periodic packets.
        self.reschedule_tx(old_interval, now);
    }

    // ---- timers ----

    fn timers(&mut self, now: Instant, out: &mut Vec<BfdOutput>) {
        if self.detect_at.is_some_and(|t| now >= t) {
            self.detect_at = None;
            self.detection_expired(now, out);
        }
        if self.drain_until.is_some_and(|t| now >= t) {
            self.drain_until = None;
            self.sync_params(now);
        }
        self.flush(now, out);
        if self.next_tx.is_some_and(|t| now >= t) {
            self.send_periodic(now, out);
        }
    }

    /// §6.8.4 and §6.8.1: a detection time without a valid packet.
    fn detection_expired(&mut self, now: Instant, out: &mut Vec<BfdOutput>) {
        let old_interval = self.tx_interval_us();
        self.remote_discr = 0;
        self.remote_state = BfdState::Down;
        self.remote_min_rx_us = 1;
        self.remote_min_tx_us = 0;
        self.remote_detect_mult = 0;
        self.remote_demand = false;
        if matches!(self.state, BfdState::Init | BfdState::Up) {
            self.set_state(
                BfdState::Down,
                Diag::CONTROL_DETECTION_EXPIRED,
                ChangeCause::DetectionTimeExpired,
                now,
                out,
            );
        } else {
            self.polling = false;
        }
        self.reschedule_tx(old_interval, now);
    }

    // ---- administrative control (§6.8.16) ----

    fn admin_down(&mut self, diag: Diag, now: Instant, out: &mut Vec<BfdOutput>) {
        if self.state == BfdState::AdminDown {
            return;
        }
        // Keep the current rate for one detection time of the peer, if there is one.
        self.drain_until = match (self.remote_discr, self.tx_interval_us()) {
            (0, _) | (_, None) => None,
            (_, Some(us)) => {
                let d = from_micros(us).saturating_mul(u32::from(self.config.detect_mult));
                Some(after(now, d))
            }
        };
        self.polling = false;
        self.set_state(
            BfdState::AdminDown,
            diag,
            ChangeCause::LocalAdminDown,
            now,
            out,
        );
    }

    // ---- helpers ----

    fn set_state(
        &mut self,
        to: BfdState,
        diag: Diag,
        cause: ChangeCause,
        now: Instant,
        out: &mut Vec<BfdOutput>,
    ) {
        let change = StateChange {
            from: self.state,
            to,
            diag,
            cause,
        };
        self.state = to;
        self.local_diag = diag;
        self.last_change = now;
        if !matches!(to, BfdState::Init | BfdState::Up) {
            // No poll outlives the session: whatever it carried is simply in force.
            self.polling = false;
            self.eff_tx_us = self.adv_tx_us;
            self.eff_rx_us = self.adv_rx_us;
        }
        if change.is_failure() {
            self.counters.failures += 1;
        }
        if to == BfdState::Up {
            self.counters.ups += 1;
        }
        out.push(BfdOutput::StateChanged(change));
        self.send_now = true;
        self.sync_params(now);
    }

    /// The DesiredMinTx we should advertise in the current state (§6.8.3).
    fn wanted_tx_us(&self) -> u32 {
        match self.state {
            BfdState::Up => to_micros(self.config.desired_min_tx),
            BfdState::AdminDown if self.drain_until.is_some() => self.adv_tx_us,
            _ => to_micros(self.config.desired_min_tx.max(SLOW_TX)),
        }
    }

    /// Brings the advertised (and in-force) parameters in line with the configuration
    /// and state, starting a Poll Sequence when the peer must confirm them.
    fn sync_params(&mut self, now: Instant) {
        let wanted_tx = self.wanted_tx_us();
        let wanted_rx = to_micros(self.config.required_min_rx);
        if (wanted_tx, wanted_rx) == (self.adv_tx_us, self.adv_rx_us) {
            return;
        }
        let old_interval = self.tx_interval_us();
        if matches!(self.state, BfdState::Init | BfdState::Up) && self.remote_discr != 0 {
            if self.polling {
                // Picked up when the Final of the current poll arrives.
                return;
            }
            let up = self.state == BfdState::Up;
            // Sending slower, or detecting faster, must wait for the peer's Final.
            if !(up && wanted_tx > self.eff_tx_us) {
                self.eff_tx_us = wanted_tx;
            }
            if !(up && wanted_rx < self.eff_rx_us) {
                self.eff_rx_us = wanted_rx;
            }
            self.adv_tx_us = wanted_tx;
            self.adv_rx_us = wanted_rx;
            self.polling = true;
            self.refresh_detection();
            self.send_now = true;
        } else {
            self.adv_tx_us = wanted_tx;
            self.adv_rx_us = wanted_rx;
            self.eff_tx_us = wanted_tx;
            self.eff_rx_us = wanted_rx;
            self.polling = false;
            self.refresh_detection();
            self.reschedule_tx(old_interval, now);
        }
    }

    fn tx_interval_us(&self) -> Option<u32> {
        if self.remote_min_rx_us == 0 {
            return None;
        }
        if self.remote_demand
            && !self.polling
            && self.state == BfdState::Up
            && self.remote_state == BfdState::Up
        {
            return None;
        }
        Some(self.eff_tx_us.max(self.remote_min_rx_us))
    }

    /// After the transmit interval may have changed from `old`: a new interval counts
    /// from the last packet sent (never in the past), so a shorter one is not waited
    /// out at the old rate and a longer one is respected (§6.8.3, §6.8.7).
    fn reschedule_tx(&mut self, old: Option<u32>, now: Instant) {
        let new = self.tx_interval_us();
        if new == old && (new.is_none() || self.next_tx.is_some()) {
            return;
        }
        self.next_tx = new.map(|us| match self.last_tx {
            Some(last) => after(last, self.jittered(us)).max(now),
            None => now,
        });
    }

    /// The detection deadline after a valid packet.
    fn restart_detection(&mut self, now: Instant) {
        self.last_rx = Some(now);
        self.detect_at = self.detection_time().map(|d| after(now, d));
    }

    /// Moves a running detection deadline when the detection time changed.
    fn refresh_detection(&mut self) {
        if let (Some(_), Some(last), Some(d)) =
            (self.detect_at, self.last_rx, self.detection_time())
        {
            self.detect_at = Some(after(last, d));
        }
    }

    /// Sends the packet a state change or a new poll asked for, unless the peer wants
    /// no packets.
    fn flush(&mut self, now: Instant, out: &mut Vec<BfdOutput>) {
        if std::mem::take(&mut self.send_now) && self.tx_interval_us().is_some() {
            self.send_periodic(now, out);
        }
    }

    /// Sends a periodic packet now and schedules the next one.
    fn send_periodic(&mut self, now: Instant, out: &mut Vec<BfdOutput>) {
        out.push(BfdOutput::Send(self.packet(false)));
        self.counters.packets_sent += 1;
        self.last_tx = Some(now);
        self.next_tx = self
            .tx_interval_us()
            .map(|us| after(now, self.jittered(us)));
    }

    /// `us` reduced by a random 0-25 % (10-25 % when our DetectMult is 1), §6.8.7.
    fn jittered(&mut self, us: u32) -> Duration {
        let (lo, hi) = if self.config.detect_mult == 1 {
            (750u64, 900u64)
        } else {
            (750u64, 1000u64)
        };
        let permille = lo + self.rng.next_u64() % (hi - lo + 1);
        Duration::from_micros(u64::from(us) * permille / 1000)
    }

    fn packet(&self, final_bit: bool) -> ControlPacket {
        ControlPacket {
            diag: self.local_diag,
            state: self.state,
            poll: self.polling && !final_bit,
            final_bit,
            control_plane_independent: false,
            demand: false,
            detect_mult: self.config.detect_mult,
            my_discr: self.local_discr,
            your_discr: self.remote_discr,
            desired_min_tx_us: self.adv_tx_us,
            required_min_rx_us: self.adv_rx_us,
            required_min_echo_rx_us: 0,
            auth: None,
        }
    }
}
