//! The FSM against peers that misbehave: connections that would displace a session,
//! peers that stop reading (send buffer bound, RFC 9687 send hold timer), prefix limits
//! with their restart wait, and hold time 0.

use std::time::{Duration, Instant};

use super::fsm_tests::{
    REMOTE_ID, cfg, closed, connect_of, down_of, gr_cfg, notif, open, open_sent, peer_gr_cap, sent,
};
use super::*;
use crate::bgp::types::Capability;

fn rx(p: &mut Peer, conn: ConnId, msg: Message, t: Instant) -> Vec<Output> {
    p.handle(Input::Received { conn, msg }, t)
}

/// A peer Established on an outbound connection with `hold`; returns (peer, conn).
fn established(config: PeerConfig, caps: Vec<Capability>, hold: u16, t: Instant) -> (Peer, ConnId) {
    let (mut p, c) = open_sent(config, 11, t);
    rx(&mut p, c, open(65001, REMOTE_ID, hold, caps), t);
    rx(&mut p, c, Message::Keepalive, t);
    assert_eq!(p.state(), State::Established);
    (p, c)
}

fn sent_input(conn: ConnId, pending: usize, progressed: bool) -> Input {
    Input::Sent {
        conn,
        pending,
        progressed,
    }
}

#[test]
fn a_bare_connection_never_displaces_a_graceful_restart_session() {
    let t = Instant::now();
    let (mut p, c) = established(gr_cfg(), vec![peer_gr_cap()], 90, t);
    // Connections that never send an OPEN, one after the other: each replaces the
    // previous pending one; the session stays.
    let mut last = None;
    for k in 0..5 {
        let fresh = p.alloc_conn();
        let out = p.handle(
            Input::TcpConnected {
                conn: fresh,
                inbound: true,
            },
            t + Duration::from_secs(k),
        );
        assert!(!closed(&out, c), "{out:?}");
        if let Some(prev) = last {
            assert!(closed(&out, prev), "the older pending connection is closed");
        }
        assert_eq!(down_of(&out), None);
        last = Some(fresh);
    }
    assert_eq!(p.established_conn(), Some(c));
    // The pending one times out on the large hold timer; the session is untouched
    // (the peer keeps its keepalives coming).
    let mut now = t;
    while now < t + LARGE_HOLD_TIME + Duration::from_secs(10) {
        now += Duration::from_secs(20);
        rx(&mut p, c, Message::Keepalive, now);
        let out = p.handle(Input::Timers, now);
        assert_eq!(down_of(&out), None, "{out:?}");
    }
    let pending = last.expect("a pending connection");
    assert_eq!(p.established_conn(), Some(c));
    // The pending connection got Hold Timer Expired and is gone: a message on it is
    // ignored.
    assert!(rx(&mut p, pending, Message::Keepalive, now).is_empty());
}

#[test]
fn an_invalid_open_on_a_new_connection_leaves_the_session() {
    let t = Instant::now();
    let (mut p, c) = established(gr_cfg(), vec![peer_gr_cap()], 90, t);
    let fresh = p.alloc_conn();
    p.handle(
        Input::TcpConnected {
            conn: fresh,
            inbound: true,
        },
        t,
    );
    // Wrong AS (D4): refused with 2/2 on that connection only.
    let out = rx(
        &mut p,
        fresh,
        open(65099, REMOTE_ID, 90, vec![peer_gr_cap()]),
        t,
    );
    assert!(closed(&out, fresh));
    assert!(!closed(&out, c));
    assert_eq!(down_of(&out), None, "{out:?}");
    assert_eq!(p.established_conn(), Some(c));
    // Hold time 0 (not accepted by default): 2/6, session stays.
    let fresh = p.alloc_conn();
    p.handle(
        Input::TcpConnected {
            conn: fresh,
            inbound: true,
        },
        t,
    );
    let out = rx(
        &mut p,
        fresh,
        open(65001, REMOTE_ID, 0, vec![peer_gr_cap()]),
        t,
    );
    assert!(sent(&out, fresh).contains(&notif(2, 6)), "{out:?}");
    assert_eq!(p.established_conn(), Some(c));
    // A message other than OPEN first: FSM error on that connection only.
    let fresh = p.alloc_conn();
    p.handle(
        Input::TcpConnected {
            conn: fresh,
            inbound: true,
        },
        t,
    );
    let out = rx(&mut p, fresh, Message::Keepalive, t);
    assert!(sent(&out, fresh).contains(&notif(5, 1)), "{out:?}");
    assert_eq!(p.established_conn(), Some(c));
}

#[test]
fn send_buffer_over_the_bound_is_cease_out_of_resources() {
    let t = Instant::now();
    let mut config = cfg();
    config.max_send_buffer = 1000;
    let (mut p, c) = established(config, vec![], 90, t);
    assert!(p.handle(sent_input(c, 1000, false), t).is_empty());
    let out = p.handle(sent_input(c, 1001, true), t);
    assert_eq!(sent(&out, c), vec![notif(6, 8)]);
    assert!(closed(&out, c));
    let (reason, was_est, graceful) = down_of(&out).expect("Down");
    assert_eq!(reason, DownReason::SendBufferFull { limit: 1000 });
    assert!(was_est && !graceful);
    assert_eq!(p.state(), State::Idle);
    // 0 means unbounded.
    let mut config = cfg();
    config.max_send_buffer = 0;
    let (mut p, c) = established(config, vec![], 90, t);
    assert!(p.handle(sent_input(c, usize::MAX, false), t).is_empty());
}

#[test]
fn send_hold_timer_runs_while_bytes_wait_and_expires_without_notification() {
    let t = Instant::now();
    let (mut p, c) = established(gr_cfg(), vec![peer_gr_cap()], 9, t);
    // Nothing waits: no send hold deadline beyond keepalive/hold.
    let before = p.next_deadline();
    p.handle(sent_input(c, 0, true), t);
    assert_eq!(p.next_deadline(), before);
    // Bytes wait, the socket takes none: expiry 2 x hold = 18 s later. Progress
    // restarts it; the peer's keepalives (it still sends) keep the hold timer alive.
    p.handle(sent_input(c, 500, false), t);
    let t5 = t + Duration::from_secs(5);
    p.handle(sent_input(c, 400, true), t5);
    let mut now = t5;
    let mut down = None;
    while now < t5 + Duration::from_secs(30) {
        now += Duration::from_secs(1);
        rx(&mut p, c, Message::Keepalive, now);
        p.handle(sent_input(c, 600, false), now);
        let out = p.handle(Input::Timers, now);
        if let Some(d) = down_of(&out) {
            assert!(sent(&out, c).is_empty(), "no NOTIFICATION: {out:?}");
            assert!(closed(&out, c));
            down = Some((now, d));
            break;
        }
    }
    let (at, (reason, was_est, graceful)) = down.expect("send hold timer expired");
    assert_eq!(at, t5 + Duration::from_secs(18));
    assert_eq!(reason, DownReason::SendHoldTimerExpired);
    // Not graceful even with graceful restart: a peer that stops reading is broken,
    // not restarting (BIRD drops the session the same way).
    assert!(was_est && !graceful);
    // A drained buffer stops the timer.
    let (mut p, c) = established(cfg(), vec![], 9, t);
    p.handle(sent_input(c, 10, false), t);
    p.handle(sent_input(c, 0, true), t + Duration::from_secs(1));
    for s in 2..40 {
        let now = t + Duration::from_secs(s);
        rx(&mut p, c, Message::Keepalive, now);
        assert_eq!(down_of(&p.handle(Input::Timers, now)), None);
    }
}

#[test]
fn a_write_that_left_nothing_queued_changes_nothing_unless_the_send_hold_timer_runs() {
    let t = Instant::now();
    let (mut p, c) = established(cfg(), vec![], 9, t);
    // Nothing queued, no send hold timer: reporting the write would change nothing.
    assert!(!p.sent_changes(c, 0));
    let before = (p.next_deadline(), p.state());
    assert!(p.handle(sent_input(c, 0, true), t).is_empty());
    assert_eq!((p.next_deadline(), p.state()), before);
    // Bytes left queued: reported (the timer starts), and then an emptied queue is
    // reported too (it stops the timer).
    assert!(p.sent_changes(c, 10));
    p.handle(sent_input(c, 10, false), t);
    assert!(p.sent_changes(c, 0));
    p.handle(sent_input(c, 0, true), t + Duration::from_secs(1));
    assert!(!p.sent_changes(c, 0));
    // Another connection's timer does not count for this one.
    assert!(!p.sent_changes(c + 100, 0));
}

#[test]
fn send_hold_without_hold_time_is_eight_minutes() {
    let t = Instant::now();
    let mut config = cfg();
    config.accept_zero_hold_time = true;
    let (mut p, c) = established(config, vec![], 0, t);
    p.handle(sent_input(c, 10, false), t);
    assert_eq!(p.next_deadline(), Some(t + SEND_HOLD_NO_HOLD_TIME));
    let out = p.handle(Input::Timers, t + SEND_HOLD_NO_HOLD_TIME);
    assert_eq!(
        down_of(&out).map(|d| d.0),
        Some(DownReason::SendHoldTimerExpired)
    );
}

#[test]
fn prefix_limit_sends_cease_with_the_rfc_4486_data_and_waits_before_restarting() {
    let t = Instant::now();
    let mut config = gr_cfg();
    config.prefix_limit_restart = Duration::from_secs(60);
    let (mut p, c) = established(config, vec![peer_gr_cap()], 90, t);
    let out = p.handle(
        Input::PrefixLimit {
            afi: Afi::Ipv6,
            limit: 1000,
        },
        t,
    );
    let n = Notification {
        code: 6,
        subcode: 1,
        data: vec![0, 2, 1, 0, 0, 0x03, 0xE8],
    };
    assert_eq!(sent(&out, c), vec![Message::Notification(n.clone())]);
    assert!(closed(&out, c));
    let (reason, was_est, graceful) = down_of(&out).expect("Down");
    assert_eq!(
        reason,
        DownReason::PrefixLimit {
            afi: Afi::Ipv6,
            limit: 1000
        }
    );
    // A NOTIFICATION ends the session: no graceful restart for its routes.
    assert!(was_est && !graceful);
    assert_eq!(
        p.last_notification(),
        Some(&LastNotification {
            sent: true,
            notification: n
        })
    );
    // Idle for 45..60 s (jitter): no connect, inbound refused.
    let wait = p.next_deadline().expect("idle hold") - t;
    assert!(
        wait >= Duration::from_secs(45) && wait <= Duration::from_secs(60),
        "{wait:?}"
    );
    let fresh = p.alloc_conn();
    let out = p.handle(
        Input::TcpConnected {
            conn: fresh,
            inbound: true,
        },
        t + Duration::from_secs(5),
    );
    assert!(closed(&out, fresh));
    assert_eq!(p.state(), State::Idle);
    // Then it starts again by itself.
    let out = p.handle(Input::Timers, t + wait);
    let c2 = connect_of(&out).expect("reconnects after the wait");
    // Tripping again at once doubles the wait (90..120 s).
    let t2 = t + wait;
    p.handle(
        Input::TcpConnected {
            conn: c2,
            inbound: false,
        },
        t2,
    );
    rx(
        &mut p,
        c2,
        open(65001, REMOTE_ID, 90, vec![peer_gr_cap()]),
        t2,
    );
    rx(&mut p, c2, Message::Keepalive, t2);
    p.handle(
        Input::PrefixLimit {
            afi: Afi::Ipv4,
            limit: 1000,
        },
        t2,
    );
    let wait2 = p.next_deadline().expect("idle hold") - t2;
    assert!(
        wait2 >= Duration::from_secs(90) && wait2 <= Duration::from_secs(120),
        "{wait2:?}"
    );
    // Without an Established session the input means nothing.
    let mut idle = Peer::new(cfg(), 1).expect("valid");
    assert!(
        idle.handle(
            Input::PrefixLimit {
                afi: Afi::Ipv4,
                limit: 1
            },
            t
        )
        .is_empty()
    );
}

#[test]
fn bfd_down_ends_an_established_session_with_cease_10_and_no_graceful_restart() {
    let t = Instant::now();
    // Both sides negotiated graceful restart: a TCP loss would keep the routes, a BFD
    // failure must not (RFC 9384; the forwarding path is gone).
    let (mut p, c) = established(gr_cfg(), vec![peer_gr_cap()], 90, t);
    let out = p.handle(Input::BfdDown, t);
    assert_eq!(sent(&out, c), vec![notif(6, 10)]);
    assert!(closed(&out, c));
    let (reason, was_est, graceful) = down_of(&out).expect("Down");
    assert_eq!(reason, DownReason::BfdDown);
    assert!(was_est && !graceful);
    assert_eq!(p.state(), State::Idle);
    assert_eq!(
        p.last_notification()
            .map(|l| (l.sent, l.notification.subcode)),
        Some((true, 10))
    );
    // It starts again by itself after one back-off interval.
    let at = p.next_deadline().expect("idle hold");
    assert!(at > t && at - t <= Duration::from_secs(120), "{:?}", at - t);
    assert!(connect_of(&p.handle(Input::Timers, at)).is_some());
    // A session still opening is not touched: BGP does not wait for BFD.
    let (mut opening, _) = open_sent(cfg(), 3, t);
    assert!(opening.handle(Input::BfdDown, t).is_empty());
    assert_eq!(opening.state(), State::OpenSent);
}

#[test]
fn hold_time_zero_is_refused_unless_configured() {
    let t = Instant::now();
    let (mut p, c) = open_sent(cfg(), 2, t);
    let out = rx(&mut p, c, open(65001, REMOTE_ID, 0, vec![]), t);
    assert_eq!(sent(&out, c), vec![notif(2, 6)]);
    assert_eq!(p.state(), State::Idle);
}
