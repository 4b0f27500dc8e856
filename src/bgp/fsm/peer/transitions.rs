//! Connection-level transitions of [`Peer`]: TCP up/down, received messages, OPEN
//! handling with collision resolution, Established, and timer expiry.
//!
//! Owns: what each event does to one connection (RFC 4271 §8.2.2, §6.8). Must not do
//! I/O or read the clock; peer-wide bookkeeping (Idle, Down, backoff) is in the parent.

use std::time::Instant;

use super::super::negotiate::{build_open, check_open};
use super::super::timers::{after, jitter};
use super::super::{
    ConnId, DownReason, LARGE_HOLD_TIME, LastNotification, Negotiated, Output, State, keep_outbound,
};
use super::{COLLISION_RETRY_WAITS, ConnState, FsmConn, Peer, notification, secs};
use crate::bgp::types::{Afi, Message, Notification, NotificationCode, Open};

impl Peer {
    /// Our outbound connection is up: send OPEN, wait for the peer's (OpenSent).
    pub(super) fn connected(&mut self, conn: ConnId, now: Instant, out: &mut Vec<Output>) {
        let Some(i) = self
            .index(conn)
            .filter(|&i| self.conns.get(i).map(|c| c.state) == Some(ConnState::Connecting))
        else {
            // Not an attempt we are waiting for (given up, or unknown).
            out.push(Output::Close { conn });
            return;
        };
        self.open_sent(i, now, out);
    }

    fn open_sent(&mut self, i: usize, now: Instant, out: &mut Vec<Output>) {
        let open = build_open(&self.cfg);
        if let Some(c) = self.conns.get_mut(i) {
            c.state = ConnState::OpenSent;
            c.hold_at = Some(after(now, LARGE_HOLD_TIME));
            out.push(Output::Send {
                conn: c.id,
                msg: open,
            });
        }
        self.connect_retry_at = None;
    }

    /// The peer connected to us.
    pub(super) fn accept(&mut self, conn: ConnId, now: Instant, out: &mut Vec<Output>) {
        // IdleHold damps peers that fail in the protocol. A peer whose connection merely
        // went away (it restarted or crashed) may come back at once: that is what makes
        // a restarting neighbour's routes converge in a second instead of a backoff.
        // So may a peer that left on purpose (it shut us down, removed us from its
        // configuration, reset us or changed its settings) and now connects again: it
        // configured us afresh, and a back-off inherited from its leaving would only
        // delay a deliberate return (a Node deleted and re-created, a peer re-added).
        if self.admin_up
            && self.idle_hold_until.is_some()
            && self.last_down.as_ref().is_some_and(returns_at_once)
        {
            self.idle_hold_until = None;
            self.backoff.reset();
        }
        if self.state() == State::Idle || self.index(conn).is_some() {
            out.push(Output::Close { conn });
            return;
        }
        if self.established().is_some() {
            let gr = self.negotiated().is_some_and(Negotiated::graceful_capable);
            if !gr {
                out.push(Output::Send {
                    conn,
                    msg: Message::Notification(notification(NotificationCode::CeaseCollision)),
                });
                out.push(Output::Close { conn });
                return;
            }
            // RFC 4724 §4.2: the peer may have restarted. The session stays until the
            // new connection brings an OPEN that passes every check (`open_received`).
        }
        // One pending inbound connection at a time: a newer one replaces the older.
        if let Some(i) = self
            .conns
            .iter()
            .position(|c| c.inbound && c.state != ConnState::Established)
        {
            self.close_collision(i, out);
        }
        self.conns.push(FsmConn::new(conn, true));
        let i = self.conns.len() - 1;
        self.open_sent(i, now, out);
    }

    /// The caller reports the socket gone (it emits no Close for it).
    pub(super) fn tcp_down(&mut self, conn: ConnId, now: Instant, out: &mut Vec<Output>) {
        let Some(c) = self.index(conn).and_then(|i| self.remove(i)) else {
            return;
        };
        if c.state >= ConnState::OpenConfirm {
            // RFC 4271: OpenConfirm/Established on TCP failure go to Idle.
            self.after_removal(c, DownReason::ConnectionLost, now, out);
        } else if self.conns.is_empty() && !self.cfg.passive && self.connect_retry_at.is_none() {
            // RFC 4271: a failure in Connect/OpenSent goes to Active and retries when
            // the ConnectRetry timer fires (already running for a failed connect).
            let wait = self.backoff.next(&mut self.rng);
            self.connect_retry_at = Some(after(now, wait));
        }
    }

    pub(super) fn received(
        &mut self,
        conn: ConnId,
        msg: Message,
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        let Some(i) = self.index(conn) else {
            return;
        };
        let Some(c) = self.conns.get_mut(i) else {
            return;
        };
        let state = c.state;
        // Any message restarts the hold timer once the hold time is negotiated.
        if state >= ConnState::OpenConfirm {
            if let Some(n) = &c.negotiated {
                if n.hold_time > 0 {
                    c.hold_at = Some(after(now, secs(n.hold_time)));
                }
            }
        }
        if let Message::Notification(n) = msg {
            if n.kind() == NotificationCode::CeaseCollision
                && state < ConnState::Established
                && self.collision_lost(i, &n, now, out)
            {
                return;
            }
            let reason = DownReason::NotificationReceived(n);
            self.conn_error(i, reason, None, now, out);
            return;
        }
        match (state, msg) {
            (ConnState::OpenSent, Message::Open(open)) => self.open_received(i, &open, now, out),
            (ConnState::OpenConfirm, Message::Keepalive) => self.establish(i, now, out),
            (ConnState::Established, Message::Keepalive) => {}
            (ConnState::Established, Message::Update(u)) => out.push(Output::Update(u)),
            (ConnState::Established, Message::RouteRefresh { afi, safi }) => {
                let wanted = self.cfg.route_refresh
                    && safi == Afi::SAFI_UNICAST
                    && Afi::from_code(afi).is_some_and(|a| {
                        self.negotiated().is_some_and(|n| n.families.contains(&a))
                    });
                if let (true, Some(afi)) = (wanted, Afi::from_code(afi)) {
                    out.push(Output::RouteRefresh { afi, safi });
                }
            }
            (ConnState::Connecting, _) => {}
            (s, _) => {
                let sub = match s {
                    ConnState::OpenSent => NotificationCode::FsmInOpenSent,
                    ConnState::OpenConfirm => NotificationCode::FsmInOpenConfirm,
                    _ => NotificationCode::FsmInEstablished,
                };
                let n = notification(sub);
                self.conn_error(
                    i,
                    DownReason::NotificationSent(n.clone()),
                    Some(n),
                    now,
                    out,
                );
            }
        }
    }

    fn open_received(&mut self, mut i: usize, open: &Open, now: Instant, out: &mut Vec<Output>) {
        let neg = match check_open(&self.cfg, open) {
            Ok(n) => n,
            Err(n) => {
                self.conn_error(
                    i,
                    DownReason::NotificationSent(n.clone()),
                    Some(n),
                    now,
                    out,
                );
                return;
            }
        };
        let Some(this_inbound) = self.conns.get(i).map(|c| c.inbound) else {
            return;
        };
        // A valid OPEN on a new connection while the session is Established (only
        // accepted with graceful restart negotiated): the peer restarted (RFC 4724
        // §4.2). The old session ends gracefully and this connection goes on.
        if let Some(j) = self
            .conns
            .iter()
            .position(|c| c.state == ConnState::Established)
        {
            let old = self.conns.remove(j);
            out.push(Output::Close { conn: old.id });
            let gr = old
                .negotiated
                .as_ref()
                .and_then(Negotiated::graceful_restart_time);
            self.finish_session(now, DownReason::PeerRestarted, true, gr, out);
            i = if j < i { i - 1 } else { i };
        }
        // §6.8: another connection that has sent its OPEN collides with this one.
        let other = self
            .conns
            .iter()
            .position(|c| c.inbound != this_inbound && c.state >= ConnState::OpenSent);
        if let Some(j) = other {
            let keep_out = keep_outbound(
                self.cfg.router_id,
                neg.remote_router_id,
                self.cfg.local_asn,
                self.cfg.remote_asn,
            );
            if keep_out == this_inbound {
                self.close_collision(i, out);
                return;
            }
            self.close_collision(j, out);
            if j < i {
                i -= 1;
            }
        }
        let Some(c) = self.conns.get_mut(i) else {
            return;
        };
        c.state = ConnState::OpenConfirm;
        c.hold_at = (neg.hold_time > 0).then(|| after(now, secs(neg.hold_time)));
        c.keepalive_at = (neg.keepalive > 0).then(|| after(now, secs(neg.keepalive)));
        c.negotiated = Some(neg);
        out.push(Output::Send {
            conn: c.id,
            msg: Message::Keepalive,
        });
    }

    /// The peer closed connection `i`, our last one, as the loser of a collision
    /// (Cease 6/7): it keeps another connection with us that we no longer have — most
    /// often one we closed before we knew the peer (a Node we had not configured yet),
    /// whose end it has not yet read. That is no failure of the peer: instead of
    /// IdleHold (which would refuse the peer's next connection for a back-off interval,
    /// on both sides in turn), connect again after the next of [`COLLISION_RETRY_WAITS`]
    /// (at once first) without advancing the back-off, and accept the peer's connection
    /// meanwhile. Those few per session, so a peer that answers every connection with
    /// 6/7 is damped as before. Returns false (nothing done) when another connection
    /// remains, the quick reconnects are used up or the peer is stopped.
    fn collision_lost(
        &mut self,
        i: usize,
        n: &Notification,
        now: Instant,
        out: &mut Vec<Output>,
    ) -> bool {
        let Some(&wait) = COLLISION_RETRY_WAITS.get(self.collision_retries) else {
            return false;
        };
        if self.conns.len() != 1 || !self.admin_up {
            return false;
        }
        let Some(c) = self.remove(i) else {
            return false;
        };
        self.collision_retries += 1;
        self.last_notification = Some(LastNotification {
            sent: false,
            notification: n.clone(),
        });
        out.push(Output::Close { conn: c.id });
        self.connect_retry_at = None;
        if !self.cfg.passive {
            if wait.is_zero() {
                self.reconnect_after_collision(now, out);
            } else {
                self.collision_retry_at = Some(after(now, wait));
            }
        }
        true
    }

    /// A quick reconnect (`collision_lost`): a new outbound connection, bounded by the
    /// ConnectRetry timer at the back-off's current interval, which it does not advance.
    fn reconnect_after_collision(&mut self, now: Instant, out: &mut Vec<Output>) {
        let wait = jitter(self.backoff.base(), &mut self.rng);
        self.open_outbound(now, wait, out);
    }

    fn establish(&mut self, i: usize, now: Instant, out: &mut Vec<Output>) {
        let Some(c) = self.conns.get_mut(i) else {
            return;
        };
        c.state = ConnState::Established;
        let id = c.id;
        let negotiated = c.negotiated.clone();
        self.established_at = Some(now);
        self.connect_retry_at = None;
        self.collision_retries = 0;
        self.collision_retry_at = None;
        // §6.8: any other connection collides with an Established session.
        while let Some(j) = self.conns.iter().position(|c| c.id != id) {
            self.close_collision(j, out);
        }
        if let Some(negotiated) = negotiated {
            out.push(Output::Established {
                conn: id,
                negotiated,
            });
        }
    }

    pub(super) fn timers(&mut self, now: Instant, out: &mut Vec<Output>) {
        if self.idle_hold_until.is_some_and(|t| t <= now) {
            self.idle_hold_until = None;
            if self.admin_up {
                self.begin(now, out);
            }
        }
        if self.collision_retry_at.is_some_and(|t| t <= now) {
            self.collision_retry_at = None;
            // Not when the peer's own connection came meanwhile.
            if self.admin_up && self.idle_hold_until.is_none() && self.conns.is_empty() {
                self.reconnect_after_collision(now, out);
            }
        }
        if self.connect_retry_at.is_some_and(|t| t <= now) {
            self.connect_retry_at = None;
            let busy = self.conns.iter().any(|c| c.state >= ConnState::OpenSent);
            if self.admin_up && !self.cfg.passive && !busy {
                for c in self.conns.drain(..) {
                    out.push(Output::Close { conn: c.id });
                }
                self.connect(now, out);
            }
        }
        while let Some(i) = self
            .conns
            .iter()
            .position(|c| c.hold_at.is_some_and(|t| t <= now))
        {
            let n = notification(NotificationCode::HoldTimerExpired);
            self.conn_error(i, DownReason::HoldTimerExpired, Some(n), now, out);
        }
        // RFC 9687: the peer has not taken our bytes for the send hold time. No
        // NOTIFICATION: it would wait behind the bytes the peer does not read.
        while let Some(i) = self
            .conns
            .iter()
            .position(|c| c.send_hold_at.is_some_and(|t| t <= now))
        {
            self.conn_error(i, DownReason::SendHoldTimerExpired, None, now, out);
        }
        for c in &mut self.conns {
            if c.keepalive_at.is_some_and(|t| t <= now) {
                let ka = c.negotiated.as_ref().map_or(0, |n| n.keepalive);
                c.keepalive_at = (ka > 0).then(|| after(now, secs(ka)));
                out.push(Output::Send {
                    conn: c.id,
                    msg: Message::Keepalive,
                });
            }
        }
    }
}

/// Whether a peer that went down for `reason` is let back in at once when it connects
/// during IdleHold: it went away without a protocol failure (a lost connection, a
/// restart) or left administratively (RFC 4486 Cease: administrative shutdown or reset,
/// peer de-configured, other configuration change).
fn returns_at_once(reason: &DownReason) -> bool {
    match reason {
        DownReason::ConnectionLost | DownReason::PeerRestarted => true,
        DownReason::NotificationReceived(n) => matches!(
            n.kind(),
            NotificationCode::CeaseAdminShutdown
                | NotificationCode::CeasePeerDeconfigured
                | NotificationCode::CeaseAdminReset
                | NotificationCode::CeaseConfigChange
        ),
        _ => false,
    }
}
