//! The per-neighbour FSM: [`Peer`] and its transitions (RFC 4271 §8.2.2).
//!
//! Owns: the peer's connections (at most one outbound and one inbound), their
//! per-connection states and timers, and the peer-wide ConnectRetry / IdleHold timers.
//! Must not do I/O or read the clock; see the module docs of `bgp::fsm` for the
//! contract with the caller.

use std::time::{Duration, Instant};

use super::timers::{Backoff, Prng, after};
mod transitions;

use super::{
    ConnId, DownReason, FsmError, Input, LastNotification, Negotiated, Output,
    PREFIX_LIMIT_RESTART_MAX, PeerConfig, SEND_HOLD_NO_HOLD_TIME, State,
};
use crate::bgp::types::{Afi, Message, Notification, NotificationCode};

/// Where one TCP connection stands. Ordered by progress.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum ConnState {
    /// Outbound TCP connect under way.
    Connecting,
    OpenSent,
    OpenConfirm,
    Established,
}

#[derive(Clone, Debug)]
struct FsmConn {
    id: ConnId,
    inbound: bool,
    state: ConnState,
    hold_at: Option<Instant>,
    keepalive_at: Option<Instant>,
    /// RFC 9687: when queued bytes that the socket does not take end the connection.
    send_hold_at: Option<Instant>,
    /// Set once the peer's OPEN on this connection was accepted.
    negotiated: Option<Negotiated>,
}

impl FsmConn {
    fn new(id: ConnId, inbound: bool) -> FsmConn {
        FsmConn {
            id,
            inbound,
            state: ConnState::Connecting,
            hold_at: None,
            keepalive_at: None,
            send_hold_at: None,
            negotiated: None,
        }
    }

    /// The send hold time: twice the negotiated hold time (as BIRD), or
    /// [`SEND_HOLD_NO_HOLD_TIME`] without a hold timer.
    fn send_hold_time(&self) -> Duration {
        match self.negotiated.as_ref().map(|n| n.hold_time) {
            Some(h) if h > 0 => secs(h).saturating_mul(2),
            _ => SEND_HOLD_NO_HOLD_TIME,
        }
    }
}

/// One configured neighbour's session state machine.
#[derive(Clone, Debug)]
pub struct Peer {
    cfg: PeerConfig,
    rng: Prng,
    backoff: Backoff,
    /// The Idle wait after a prefix limit was exceeded (separate from `backoff`).
    limit_backoff: Backoff,
    /// Start received and no Stop since.
    admin_up: bool,
    idle_hold_until: Option<Instant>,
    connect_retry_at: Option<Instant>,
    conns: Vec<FsmConn>,
    next_conn: ConnId,
    established_at: Option<Instant>,
    last_notification: Option<LastNotification>,
    last_down: Option<DownReason>,
    /// Quick reconnects after a Cease/Connection Collision Resolution (6/7) on our last
    /// connection since the last session or start (`collision_lost`); once
    /// [`COLLISION_RETRY_WAITS`] is used up, a 6/7 is handled as any error (IdleHold).
    collision_retries: usize,
    /// When the next quick reconnect is due, if one waits.
    collision_retry_at: Option<Instant>,
    /// The state last reported (for StateChange).
    reported: State,
}

/// The waits before the quick reconnects after a Cease 6/7 on our last connection
/// (`collision_lost`), each well under the first back-off interval: the peer may not
/// yet have read the end of the connection it kept, and each wait gives it longer.
const COLLISION_RETRY_WAITS: [Duration; 3] = [
    Duration::ZERO,
    Duration::from_millis(100),
    Duration::from_millis(400),
];

fn notification(kind: NotificationCode) -> Notification {
    Notification::new(kind, Vec::new())
}

fn secs(s: u16) -> Duration {
    Duration::from_secs(u64::from(s))
}

impl Peer {
    /// A peer in Idle. `seed` feeds the jitter generator (give each peer its own).
    pub fn new(cfg: PeerConfig, seed: u64) -> Result<Peer, FsmError> {
        cfg.validate()?;
        Ok(Peer {
            backoff: Backoff::new(cfg.connect_retry_start, cfg.connect_retry_max),
            limit_backoff: Backoff::new(cfg.prefix_limit_restart, PREFIX_LIMIT_RESTART_MAX),
            cfg,
            rng: Prng::new(seed),
            admin_up: false,
            idle_hold_until: None,
            connect_retry_at: None,
            conns: Vec::new(),
            next_conn: 1,
            established_at: None,
            last_notification: None,
            last_down: None,
            collision_retries: 0,
            collision_retry_at: None,
            reported: State::Idle,
        })
    }

    pub(crate) fn config(&self) -> &PeerConfig {
        &self.cfg
    }

    /// The current RFC 4271 state (the most advanced connection's).
    pub fn state(&self) -> State {
        if !self.admin_up || self.idle_hold_until.is_some() {
            return State::Idle;
        }
        match self.conns.iter().map(|c| c.state).max() {
            Some(ConnState::Established) => State::Established,
            Some(ConnState::OpenConfirm) => State::OpenConfirm,
            Some(ConnState::OpenSent) => State::OpenSent,
            Some(ConnState::Connecting) => State::Connect,
            None => State::Active,
        }
    }

    /// A fresh connection id, for an inbound connection the caller accepted.
    pub(crate) fn alloc_conn(&mut self) -> ConnId {
        let id = self.next_conn;
        self.next_conn = self.next_conn.wrapping_add(1);
        id
    }

    /// What was negotiated for the Established session, if any.
    pub(crate) fn negotiated(&self) -> Option<&Negotiated> {
        self.established().and_then(|c| c.negotiated.as_ref())
    }

    /// The connection carrying the Established session, if any.
    pub(crate) fn established_conn(&self) -> Option<ConnId> {
        self.established().map(|c| c.id)
    }

    /// The last NOTIFICATION sent to or received from the peer (for the CLI).
    pub(crate) fn last_notification(&self) -> Option<&LastNotification> {
        self.last_notification.as_ref()
    }

    #[cfg(test)]
    /// Why the peer last went to Idle.
    pub(crate) fn last_down(&self) -> Option<&DownReason> {
        self.last_down.as_ref()
    }

    /// The earliest time at which `handle(Input::Timers, ..)` has work to do.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let conn_deadlines = self
            .conns
            .iter()
            .flat_map(|c| [c.hold_at, c.keepalive_at, c.send_hold_at]);
        [
            self.idle_hold_until,
            self.connect_retry_at,
            self.collision_retry_at,
        ]
        .into_iter()
        .chain(conn_deadlines)
        .flatten()
        .min()
    }

    /// Whether `Input::Sent` reporting `pending` bytes still queued on `conn` would
    /// change anything. With nothing queued it only stops the connection's send hold
    /// timer (RFC 9687), so it changes nothing when that timer is not running: a fan-out
    /// to many peers whose sockets took everything need not report each write.
    pub(crate) fn sent_changes(&self, conn: ConnId, pending: usize) -> bool {
        pending > 0
            || self
                .conns
                .iter()
                .any(|c| c.id == conn && c.send_hold_at.is_some())
    }

    /// The speaker sent an UPDATE on the Established connection: that counts as a sign
    /// of life, so the next KEEPALIVE is due a keepalive interval from now.
    pub(crate) fn message_sent(&mut self, now: Instant) {
        if let Some(c) = self
            .conns
            .iter_mut()
            .find(|c| c.state == ConnState::Established)
        {
            if let Some(ka) = c.negotiated.as_ref().map(|n| n.keepalive) {
                if ka > 0 {
                    c.keepalive_at = Some(after(now, secs(ka)));
                }
            }
        }
    }

    /// Applies a new configuration. Returns whether the session had to be reset (the
    /// OPEN we already sent no longer matches: ASNs, router id, families, route refresh,
    /// graceful restart) and the outputs. A reset sends Cease/Other Configuration Change
    /// (6/6) and starts over at once. Hold time and timer changes apply from the next
    /// session; switching passive on or off takes effect immediately without a reset.
    pub(crate) fn reconfigure(
        &mut self,
        cfg: PeerConfig,
        now: Instant,
    ) -> Result<(bool, Vec<Output>), FsmError> {
        cfg.validate()?;
        let mut out = Vec::new();
        let reset = self.cfg.open_differs(&cfg)
            && self.conns.iter().any(|c| c.state >= ConnState::OpenSent);
        let passive_changed = self.cfg.passive != cfg.passive;
        self.backoff.start = cfg.connect_retry_start;
        self.backoff.max = cfg.connect_retry_max;
        self.limit_backoff.start = cfg.prefix_limit_restart;
        self.cfg = cfg;
        if reset {
            let n = notification(NotificationCode::CeaseConfigChange);
            self.last_notification = Some(LastNotification {
                sent: true,
                notification: n.clone(),
            });
            self.enter_idle(now, DownReason::ConfigChange, Some(&n), false, &mut out);
            if self.admin_up {
                self.begin(now, &mut out);
            }
        } else if passive_changed && self.state() != State::Idle {
            if self.cfg.passive {
                self.connect_retry_at = None;
                self.conns.retain(|c| {
                    let pending = c.state == ConnState::Connecting;
                    if pending {
                        out.push(Output::Close { conn: c.id });
                    }
                    !pending
                });
            } else if self.conns.is_empty() {
                self.connect(now, &mut out);
            }
        }
        self.report_state(&mut out);
        Ok((reset, out))
    }

    /// Feeds one event; returns the actions to carry out, in order.
    pub fn handle(&mut self, input: Input, now: Instant) -> Vec<Output> {
        let mut out = Vec::new();
        match input {
            Input::Start => self.start(now, &mut out),
            Input::Stop { cease } => self.stop(cease, Vec::new(), now, &mut out),
            Input::Shutdown { message } => {
                let data = super::shutdown_communication(&message);
                self.stop(NotificationCode::CeaseAdminShutdown, data, now, &mut out)
            }
            Input::TcpConnected { conn, inbound } => {
                if inbound {
                    self.accept(conn, now, &mut out);
                } else {
                    self.connected(conn, now, &mut out);
                }
            }
            Input::TcpFailed { conn } | Input::TcpClosed { conn } => {
                self.tcp_down(conn, now, &mut out);
            }
            Input::Received { conn, msg } => self.received(conn, msg, now, &mut out),
            Input::DecodeError { conn, notification } => {
                if let Some(i) = self.index(conn) {
                    let reason = DownReason::NotificationSent(notification.clone());
                    self.conn_error(i, reason, Some(notification), now, &mut out);
                }
            }
            Input::Sent {
                conn,
                pending,
                progressed,
            } => self.sent(conn, pending, progressed, now, &mut out),
            Input::PrefixLimit { afi, limit } => self.prefix_limit(afi, limit, now, &mut out),
            Input::BfdDown => self.bfd_down(now, &mut out),
            Input::Timers => self.timers(now, &mut out),
        }
        self.report_state(&mut out);
        out
    }

    fn established(&self) -> Option<&FsmConn> {
        self.conns
            .iter()
            .find(|c| c.state == ConnState::Established)
    }

    fn index(&self, conn: ConnId) -> Option<usize> {
        self.conns.iter().position(|c| c.id == conn)
    }

    fn report_state(&mut self, out: &mut Vec<Output>) {
        let now_state = self.state();
        if now_state != self.reported {
            out.push(Output::StateChange {
                from: self.reported,
                to: now_state,
            });
            self.reported = now_state;
        }
    }

    fn start(&mut self, now: Instant, out: &mut Vec<Output>) {
        if self.admin_up {
            return;
        }
        self.admin_up = true;
        self.idle_hold_until = None;
        self.collision_retries = 0;
        self.backoff.reset();
        self.begin(now, out);
    }

    /// Leaves Idle: Connect (open a connection) or, for a passive peer, Active.
    fn begin(&mut self, now: Instant, out: &mut Vec<Output>) {
        self.idle_hold_until = None;
        self.connect_retry_at = None;
        if !self.cfg.passive {
            self.connect(now, out);
        }
    }

    /// A new outbound connection, bounded by the ConnectRetry timer at the back-off's
    /// next interval.
    fn connect(&mut self, now: Instant, out: &mut Vec<Output>) {
        let wait = self.backoff.next(&mut self.rng);
        self.open_outbound(now, wait, out);
    }

    /// Opens an outbound connection and sets the ConnectRetry timer `retry_after` on.
    fn open_outbound(&mut self, now: Instant, retry_after: Duration, out: &mut Vec<Output>) {
        let conn = self.alloc_conn();
        self.conns.push(FsmConn::new(conn, false));
        out.push(Output::Connect { conn });
        self.connect_retry_at = Some(after(now, retry_after));
    }

    fn stop(
        &mut self,
        cease: NotificationCode,
        data: Vec<u8>,
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        if !self.admin_up {
            return;
        }
        let was_idle = self.state() == State::Idle;
        self.admin_up = false;
        let n = Notification::new(cease, data);
        if self.conns.iter().any(|c| c.state >= ConnState::OpenSent) {
            self.last_notification = Some(LastNotification {
                sent: true,
                notification: n.clone(),
            });
        }
        if was_idle {
            self.idle_hold_until = None;
        } else {
            self.enter_idle(now, DownReason::AdminStop, Some(&n), false, out);
        }
    }

    /// Drops every connection (telling those past OpenSent `notify`), reports Down and
    /// goes to Idle; with `hold`, waits one backoff interval before starting again.
    fn enter_idle(
        &mut self,
        now: Instant,
        reason: DownReason,
        notify: Option<&Notification>,
        hold: bool,
        out: &mut Vec<Output>,
    ) {
        let was_established = self.established().is_some();
        let gr_restart = self
            .negotiated()
            .and_then(Negotiated::graceful_restart_time);
        self.idle_after(now, reason, was_established, gr_restart, notify, hold, out);
    }

    /// [`Peer::enter_idle`] for when the session's connection is already removed.
    #[allow(clippy::too_many_arguments)]
    fn idle_after(
        &mut self,
        now: Instant,
        reason: DownReason,
        was_established: bool,
        gr_restart: Option<u16>,
        notify: Option<&Notification>,
        hold: bool,
        out: &mut Vec<Output>,
    ) {
        for c in self.conns.drain(..) {
            if let (Some(n), true) = (notify, c.state >= ConnState::OpenSent) {
                out.push(Output::Send {
                    conn: c.id,
                    msg: Message::Notification(n.clone()),
                });
            }
            out.push(Output::Close { conn: c.id });
        }
        self.finish_session(now, reason, was_established, gr_restart, out);
        self.connect_retry_at = None;
        self.collision_retry_at = None;
        self.idle_hold_until = None;
        if hold && self.admin_up {
            let wait = self.backoff.next(&mut self.rng);
            self.idle_hold_until = Some(after(now, wait));
        }
    }

    /// Reports the end of a session (or attempt) and settles the backoff. `gr_restart`:
    /// the peer's restart time when the session was graceful-restart capable.
    fn finish_session(
        &mut self,
        now: Instant,
        reason: DownReason,
        was_established: bool,
        gr_restart: Option<u16>,
        out: &mut Vec<Output>,
    ) {
        if let Some(since) = self.established_at.take() {
            // A session that stayed up long enough earns a fresh, short backoff.
            let up = now.saturating_duration_since(since);
            if up >= self.cfg.connect_retry_max {
                self.backoff.reset();
            }
            if up >= PREFIX_LIMIT_RESTART_MAX {
                self.limit_backoff.reset();
            }
        }
        let graceful = was_established
            && gr_restart.is_some()
            && matches!(
                reason,
                DownReason::HoldTimerExpired
                    | DownReason::ConnectionLost
                    | DownReason::PeerRestarted
            );
        self.last_down = Some(reason.clone());
        out.push(Output::Down {
            reason,
            was_established,
            graceful,
            restart_time: if graceful { gr_restart.unwrap_or(0) } else { 0 },
        });
    }

    /// Removes connection `i` after an error, sending `send` on it first. The peer goes
    /// to Idle when that was the session or the last connection.
    fn conn_error(
        &mut self,
        i: usize,
        reason: DownReason,
        send: Option<Notification>,
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        match &reason {
            DownReason::NotificationReceived(n) => {
                self.last_notification = Some(LastNotification {
                    sent: false,
                    notification: n.clone(),
                })
            }
            _ => {
                if let Some(n) = &send {
                    self.last_notification = Some(LastNotification {
                        sent: true,
                        notification: n.clone(),
                    })
                }
            }
        }
        let Some(c) = self.remove(i) else {
            return;
        };
        if let Some(n) = send {
            out.push(Output::Send {
                conn: c.id,
                msg: Message::Notification(n),
            });
        }
        out.push(Output::Close { conn: c.id });
        self.after_removal(c, reason, now, out);
    }

    /// Removes connection `i`, returning it.
    fn remove(&mut self, i: usize) -> Option<FsmConn> {
        (i < self.conns.len()).then(|| self.conns.remove(i))
    }

    /// After connection `c` ended: the peer goes to Idle when `c` carried the session
    /// or was the last connection past OpenSent; otherwise the other connection goes on.
    fn after_removal(
        &mut self,
        c: FsmConn,
        reason: DownReason,
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        let was_established = c.state == ConnState::Established;
        if was_established || self.conns.is_empty() {
            let gr = c
                .negotiated
                .as_ref()
                .and_then(Negotiated::graceful_restart_time);
            self.idle_after(now, reason, was_established, gr, None, true, out);
        } else if !self.cfg.passive
            && self.connect_retry_at.is_none()
            && self.conns.iter().all(|c| c.state == ConnState::Connecting)
        {
            // Only a pending connect is left: bound it with the ConnectRetry timer.
            let wait = self.backoff.next(&mut self.rng);
            self.connect_retry_at = Some(after(now, wait));
        }
    }

    /// A write attempt on `conn` left `pending` bytes queued (see [`Input::Sent`]).
    fn sent(
        &mut self,
        conn: ConnId,
        pending: usize,
        progressed: bool,
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        let Some(i) = self.index(conn) else {
            return;
        };
        let limit = self.cfg.max_send_buffer;
        if limit > 0 && pending > limit {
            let n = notification(NotificationCode::CeaseOutOfResources);
            self.conn_error(i, DownReason::SendBufferFull { limit }, Some(n), now, out);
            return;
        }
        let Some(c) = self.conns.get_mut(i) else {
            return;
        };
        // RFC 9687: from OpenConfirm on (as BIRD); the timer restarts whenever the
        // socket takes bytes and stops when nothing waits.
        if pending == 0 || c.state < ConnState::OpenConfirm {
            c.send_hold_at = None;
        } else if progressed || c.send_hold_at.is_none() {
            c.send_hold_at = Some(after(now, c.send_hold_time()));
        }
    }

    /// The peer sent more prefixes of `afi` than `limit`: Cease 6/1 with the RFC 4486
    /// data (AFI, SAFI, limit), then Idle for the prefix-limit wait.
    fn prefix_limit(&mut self, afi: Afi, limit: u32, now: Instant, out: &mut Vec<Output>) {
        if self.established().is_none() {
            return;
        }
        let mut data = afi.code().to_be_bytes().to_vec();
        data.push(Afi::SAFI_UNICAST);
        data.extend_from_slice(&limit.to_be_bytes());
        let n = Notification::new(NotificationCode::CeaseMaxPrefixes, data);
        self.last_notification = Some(LastNotification {
            sent: true,
            notification: n.clone(),
        });
        self.enter_idle(
            now,
            DownReason::PrefixLimit { afi, limit },
            Some(&n),
            false,
            out,
        );
        if self.admin_up {
            let wait = self.limit_backoff.next(&mut self.rng);
            self.idle_hold_until = Some(after(now, wait));
        }
    }

    /// BFD says the forwarding path failed (RFC 9384, RFC 5882 §4.3): the Established
    /// session ends now with Cease 6/10, not gracefully (its routes go at once), and the
    /// peer restarts after one back-off interval as after any error. Connections still
    /// opening are left alone: BGP establishment does not wait for BFD.
    fn bfd_down(&mut self, now: Instant, out: &mut Vec<Output>) {
        if self.established().is_none() {
            return;
        }
        let n = notification(NotificationCode::CeaseBfdDown);
        self.last_notification = Some(LastNotification {
            sent: true,
            notification: n.clone(),
        });
        self.enter_idle(now, DownReason::BfdDown, Some(&n), true, out);
    }

    /// Closes connection `i` as the loser of a collision (Cease 6/7).
    fn close_collision(&mut self, i: usize, out: &mut Vec<Output>) {
        let c = self.conns.remove(i);
        if c.state >= ConnState::OpenSent {
            out.push(Output::Send {
                conn: c.id,
                msg: Message::Notification(notification(NotificationCode::CeaseCollision)),
            });
        }
        out.push(Output::Close { conn: c.id });
    }
}
