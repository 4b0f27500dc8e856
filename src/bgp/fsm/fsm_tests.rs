//! Single-peer FSM tests: the peer is driven by hand-made inputs and simulated time.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use super::*;
use crate::bgp::types::{Capability, GrFamily, GracefulRestartCap, NotificationCode, Open};

pub(super) const LOCAL_ID: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub(super) const REMOTE_ID: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

pub(super) fn cfg() -> PeerConfig {
    PeerConfig::new(65000, 65001, LOCAL_ID)
}

pub(super) fn gr_cfg() -> PeerConfig {
    let mut c = cfg();
    c.graceful_restart = Some(GrConfig {
        restart_time: 90,
        restarting: false,
        forwarding_preserved: true,
    });
    c
}

pub(super) fn open(asn: u32, id: Ipv4Addr, hold: u16, caps: Vec<Capability>) -> Message {
    Message::Open(Open {
        version: 4,
        asn,
        hold_time: hold,
        router_id: id,
        capabilities: caps,
    })
}

pub(super) fn peer_gr_cap() -> Capability {
    Capability::GracefulRestart(GracefulRestartCap {
        restart_state: false,
        restart_time: 120,
        families: vec![GrFamily {
            afi: 1,
            safi: 1,
            forwarding_preserved: true,
        }],
    })
}

pub(super) fn connect_of(out: &[Output]) -> Option<ConnId> {
    out.iter().find_map(|o| match o {
        Output::Connect { conn } => Some(*conn),
        _ => None,
    })
}

/// A peer `Peer::new(config, seed)` started at `t` whose outbound connection is up
/// (OpenSent); returns it and that connection.
pub(super) fn open_sent(config: PeerConfig, seed: u64, t: Instant) -> (Peer, ConnId) {
    let mut p = Peer::new(config, seed).expect("valid");
    let c = connect_of(&p.handle(Input::Start, t)).expect("Connect");
    p.handle(
        Input::TcpConnected {
            conn: c,
            inbound: false,
        },
        t,
    );
    (p, c)
}

pub(super) fn sent(out: &[Output], to: ConnId) -> Vec<Message> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send { conn, msg } if *conn == to => Some(msg.clone()),
            _ => None,
        })
        .collect()
}

pub(super) fn closed(out: &[Output], c: ConnId) -> bool {
    out.iter()
        .any(|o| matches!(o, Output::Close { conn } if *conn == c))
}

pub(super) fn notif(code: u8, subcode: u8) -> Message {
    Message::Notification(Notification {
        code,
        subcode,
        data: Vec::new(),
    })
}

fn sent_codes(out: &[Output], to: ConnId) -> Vec<(u8, u8)> {
    sent(out, to)
        .into_iter()
        .filter_map(|m| match m {
            Message::Notification(n) => Some((n.code, n.subcode)),
            _ => None,
        })
        .collect()
}

pub(super) fn down_of(out: &[Output]) -> Option<(DownReason, bool, bool)> {
    out.iter().find_map(|o| match o {
        Output::Down {
            reason,
            was_established,
            graceful,
            ..
        } => Some((reason.clone(), *was_established, *graceful)),
        _ => None,
    })
}

fn rx(p: &mut Peer, conn: ConnId, msg: Message, now: Instant) -> Vec<Output> {
    p.handle(Input::Received { conn, msg }, now)
}

/// Drives an active peer to Established on an outbound connection; returns the conn.
fn establish_outbound(p: &mut Peer, peer_caps: Vec<Capability>, hold: u16, t: Instant) -> ConnId {
    let out = p.handle(Input::Start, t);
    let c = connect_of(&out).expect("Connect");
    p.handle(
        Input::TcpConnected {
            conn: c,
            inbound: false,
        },
        t,
    );
    rx(p, c, open(65001, REMOTE_ID, hold, peer_caps), t);
    let out = rx(p, c, Message::Keepalive, t);
    assert!(out.iter().any(|o| matches!(o, Output::Established { .. })));
    assert_eq!(p.state(), State::Established);
    c
}

#[test]
fn happy_path_outbound() {
    let t = Instant::now();
    let mut p = Peer::new(cfg(), 1).expect("valid config");
    assert_eq!(p.state(), State::Idle);
    let out = p.handle(Input::Start, t);
    let c = connect_of(&out).expect("Connect");
    assert!(out.contains(&Output::StateChange {
        from: State::Idle,
        to: State::Connect
    }));
    let out = p.handle(
        Input::TcpConnected {
            conn: c,
            inbound: false,
        },
        t,
    );
    let msgs = sent(&out, c);
    let Some(Message::Open(o)) = msgs.first() else {
        panic!("no OPEN sent: {out:?}");
    };
    assert_eq!((o.asn, o.hold_time, o.router_id), (65000, 90, LOCAL_ID));
    assert_eq!(p.state(), State::OpenSent);
    assert_eq!(p.next_deadline(), Some(t + LARGE_HOLD_TIME));

    let caps = vec![Capability::RouteRefresh, Capability::FourOctetAs(65001)];
    let out = rx(&mut p, c, open(65001, REMOTE_ID, 60, caps), t);
    assert_eq!(sent(&out, c), vec![Message::Keepalive]);
    assert_eq!(p.state(), State::OpenConfirm);
    assert!(p.negotiated().is_none(), "not Established yet");

    let out = rx(&mut p, c, Message::Keepalive, t);
    let neg = out
        .iter()
        .find_map(|o| match o {
            Output::Established { conn, negotiated } if *conn == c => Some(negotiated.clone()),
            _ => None,
        })
        .expect("Established output");
    assert_eq!((neg.hold_time, neg.keepalive), (60, 20));
    assert_eq!(neg.families, vec![Afi::Ipv4]);
    assert!(neg.route_refresh && neg.four_octet_as && !neg.ibgp);
    assert_eq!((neg.remote_asn, neg.remote_router_id), (65001, REMOTE_ID));
    assert_eq!(p.established_conn(), Some(c));
    assert!(out.contains(&Output::StateChange {
        from: State::OpenConfirm,
        to: State::Established
    }));

    let upd = crate::bgp::types::Update {
        announced: vec!["10.244.1.0/24".parse().expect("prefix")],
        ..Default::default()
    };
    let out = rx(&mut p, c, Message::Update(upd.clone()), t);
    assert_eq!(out, vec![Output::Update(upd)]);
    let out = rx(&mut p, c, Message::RouteRefresh { afi: 1, safi: 1 }, t);
    assert_eq!(
        out,
        vec![Output::RouteRefresh {
            afi: Afi::Ipv4,
            safi: 1
        }]
    );
    // A family that was not negotiated is ignored.
    assert!(rx(&mut p, c, Message::RouteRefresh { afi: 2, safi: 1 }, t).is_empty());
}

#[test]
fn happy_path_inbound_passive() {
    let t = Instant::now();
    let mut c = cfg();
    c.passive = true;
    let mut p = Peer::new(c, 1).expect("valid");
    let out = p.handle(Input::Start, t);
    assert_eq!(connect_of(&out), None);
    assert_eq!(p.state(), State::Active);
    let conn = p.alloc_conn();
    let out = p.handle(
        Input::TcpConnected {
            conn,
            inbound: true,
        },
        t,
    );
    assert!(matches!(sent(&out, conn).first(), Some(Message::Open(_))));
    assert_eq!(p.state(), State::OpenSent);
    rx(&mut p, conn, open(65001, REMOTE_ID, 90, vec![]), t);
    assert_eq!(p.state(), State::OpenConfirm);
    let out = rx(&mut p, conn, Message::Keepalive, t);
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::Established { conn: c, .. } if *c == conn))
    );
    assert_eq!(p.state(), State::Established);
}

#[test]
fn passive_peer_never_connects() {
    let t0 = Instant::now();
    let mut c = cfg();
    c.passive = true;
    let mut p = Peer::new(c, 3).expect("valid");
    let mut all = p.handle(Input::Start, t0);
    assert_eq!(p.next_deadline(), None, "Active passive peer has no timers");
    // An inbound attempt that fails before OPEN must not make it connect either.
    let conn = p.alloc_conn();
    all.extend(p.handle(
        Input::TcpConnected {
            conn,
            inbound: true,
        },
        t0,
    ));
    all.extend(p.handle(Input::TcpClosed { conn }, t0));
    for s in 1..=600 {
        all.extend(p.handle(Input::Timers, t0 + Duration::from_secs(s)));
    }
    assert_eq!(connect_of(&all), None, "{all:?}");
    assert_eq!(p.state(), State::Active);
}

#[test]
fn keepalive_cadence_and_hold_expiry() {
    let t0 = Instant::now();
    let mut c = cfg();
    c.hold_time = 9;
    let mut p = Peer::new(c, 5).expect("valid");
    let conn = establish_outbound(&mut p, vec![], 90, t0);
    // Keepalives every 3 s while the peer keeps talking (every 5 s).
    let mut ka_times = Vec::new();
    let mut next_rx = t0 + Duration::from_secs(5);
    while ka_times.len() < 10 {
        let deadline = p.next_deadline().expect("timers run in Established");
        if next_rx <= deadline {
            assert!(rx(&mut p, conn, Message::Keepalive, next_rx).is_empty());
            next_rx += Duration::from_secs(5);
            continue;
        }
        let out = p.handle(Input::Timers, deadline);
        let at = deadline - t0;
        assert_eq!(sent(&out, conn), vec![Message::Keepalive], "at {at:?}");
        ka_times.push(at.as_secs());
    }
    assert_eq!(ka_times, vec![3, 6, 9, 12, 15, 18, 21, 24, 27, 30]);
    assert_eq!(p.state(), State::Established);
    // The peer goes silent: hold expires 9 s after its last message (at 30 s).
    let last_rx = next_rx - Duration::from_secs(5);
    let mut expired = None;
    for _ in 0..10 {
        let d = p.next_deadline().expect("deadline");
        let out = p.handle(Input::Timers, d);
        if let Some(down) = down_of(&out) {
            assert_eq!(sent_codes(&out, conn), vec![(4, 0)]);
            assert!(closed(&out, conn));
            expired = Some((d, down));
            break;
        }
    }
    let (at, (reason, was_est, graceful)) = expired.expect("hold timer expired");
    assert_eq!(at, last_rx + Duration::from_secs(9));
    assert_eq!(reason, DownReason::HoldTimerExpired);
    assert!(was_est && !graceful);
    assert_eq!(p.state(), State::Idle);
    let last = p.last_notification().expect("recorded");
    assert!(last.sent && last.notification.code == 4);
}

#[test]
fn zero_hold_time_runs_no_timers() {
    let t0 = Instant::now();
    let mut c = cfg();
    c.accept_zero_hold_time = true;
    let mut p = Peer::new(c, 5).expect("valid");
    establish_outbound(&mut p, vec![], 0, t0);
    let neg = p.negotiated().expect("negotiated");
    assert_eq!((neg.hold_time, neg.keepalive), (0, 0));
    assert_eq!(p.next_deadline(), None);
    let out = p.handle(Input::Timers, t0 + Duration::from_secs(100_000));
    assert!(out.is_empty());
    assert_eq!(p.state(), State::Established);
}

#[test]
fn open_sent_uses_large_hold_timer() {
    let t0 = Instant::now();
    let (mut p, c) = open_sent(cfg(), 5, t0);
    assert!(
        p.handle(Input::Timers, t0 + Duration::from_secs(239))
            .is_empty()
    );
    let out = p.handle(Input::Timers, t0 + Duration::from_secs(240));
    assert_eq!(sent_codes(&out, c), vec![(4, 0)]);
    let (reason, was_est, _) = down_of(&out).expect("Down");
    assert_eq!(reason, DownReason::HoldTimerExpired);
    assert!(!was_est);
}

fn refused_open(msg: Message, config: PeerConfig) -> (Vec<Output>, Peer, ConnId) {
    let t = Instant::now();
    let (mut p, c) = open_sent(config, 1, t);
    let out = rx(&mut p, c, msg, t);
    (out, p, c)
}

#[test]
fn bad_peer_as_is_refused() {
    let (out, p, c) = refused_open(open(65099, REMOTE_ID, 90, vec![]), cfg());
    assert_eq!(sent_codes(&out, c), vec![(2, 2)]);
    assert!(closed(&out, c));
    let (reason, was_est, graceful) = down_of(&out).expect("Down");
    assert!(matches!(reason, DownReason::NotificationSent(ref n) if n.subcode == 2));
    assert!(!was_est && !graceful);
    assert_eq!(p.state(), State::Idle);
    assert!(
        p.next_deadline().is_some(),
        "IdleHold runs, then it retries"
    );
    assert!(p.last_notification().is_some_and(|l| l.sent));
}

#[test]
fn bad_router_id_and_hold_time_are_refused() {
    let (out, _, c) = refused_open(open(65001, Ipv4Addr::UNSPECIFIED, 90, vec![]), cfg());
    assert_eq!(sent_codes(&out, c), vec![(2, 3)]);
    let mut ibgp = cfg();
    ibgp.remote_asn = 65000;
    let (out, _, c) = refused_open(open(65000, LOCAL_ID, 90, vec![]), ibgp);
    assert_eq!(sent_codes(&out, c), vec![(2, 3)]);
    for hold in [1, 2] {
        let (out, _, c) = refused_open(open(65001, REMOTE_ID, hold, vec![]), cfg());
        assert_eq!(sent_codes(&out, c), vec![(2, 6)], "hold {hold}");
    }
}

#[test]
fn unexpected_messages_are_fsm_errors() {
    // KEEPALIVE in OpenSent: 5/1.
    let (out, _, c) = refused_open(Message::Keepalive, cfg());
    assert_eq!(sent_codes(&out, c), vec![(5, 1)]);
    // UPDATE in OpenConfirm: 5/2.
    let t = Instant::now();
    let (mut p, c) = open_sent(cfg(), 1, t);
    rx(&mut p, c, open(65001, REMOTE_ID, 90, vec![]), t);
    let out = rx(&mut p, c, Message::Update(Default::default()), t);
    assert_eq!(sent_codes(&out, c), vec![(5, 2)]);
    assert!(!out.iter().any(|o| matches!(o, Output::Update(_))));
    // OPEN in Established: 5/3.
    let mut p = Peer::new(cfg(), 1).expect("valid");
    let c = establish_outbound(&mut p, vec![], 90, t);
    let out = rx(&mut p, c, open(65001, REMOTE_ID, 90, vec![]), t);
    assert_eq!(sent_codes(&out, c), vec![(5, 3)]);
    assert_eq!(p.state(), State::Idle);
}

#[test]
fn graceful_down_carries_the_peers_restart_time() {
    // The speaker needs the restart time when the session is already gone from the FSM.
    let t = Instant::now();
    let mut p = Peer::new(gr_cfg(), 1).expect("valid");
    let c = establish_outbound(&mut p, vec![peer_gr_cap()], 90, t);
    let out = p.handle(Input::TcpClosed { conn: c }, t);
    let restart = out.iter().find_map(|o| match o {
        Output::Down {
            graceful: true,
            restart_time,
            ..
        } => Some(*restart_time),
        _ => None,
    });
    assert_eq!(restart, Some(120), "{out:?}");

    // Without graceful restart on our side there is no restart time.
    let mut p = Peer::new(cfg(), 1).expect("valid");
    let c = establish_outbound(&mut p, vec![peer_gr_cap()], 90, t);
    let out = p.handle(Input::TcpClosed { conn: c }, t);
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Down {
            graceful: false,
            restart_time: 0,
            ..
        }
    )));
}

#[test]
fn notification_received_and_decode_error() {
    let t = Instant::now();
    let mut p = Peer::new(gr_cfg(), 1).expect("valid");
    let c = establish_outbound(&mut p, vec![peer_gr_cap()], 90, t);
    let out = rx(&mut p, c, notif(6, 2), t);
    assert!(closed(&out, c));
    assert!(sent(&out, c).is_empty(), "no reply to a NOTIFICATION");
    let (reason, was_est, graceful) = down_of(&out).expect("Down");
    assert!(matches!(reason, DownReason::NotificationReceived(ref n) if n.code == 6));
    assert!(
        was_est && !graceful,
        "a NOTIFICATION ends GR (RFC 4724 §4.2)"
    );
    let last = p.last_notification().expect("recorded");
    assert!(!last.sent && last.notification.subcode == 2);
    assert_eq!(p.last_down(), Some(&reason));

    let mut p = Peer::new(cfg(), 1).expect("valid");
    let c = establish_outbound(&mut p, vec![], 90, t);
    let bad = Notification {
        code: 3,
        subcode: 1,
        data: vec![],
    };
    let out = p.handle(
        Input::DecodeError {
            conn: c,
            notification: bad.clone(),
        },
        t,
    );
    assert_eq!(sent(&out, c), vec![Message::Notification(bad.clone())]);
    assert_eq!(
        down_of(&out).map(|d| d.0),
        Some(DownReason::NotificationSent(bad))
    );
}

#[test]
fn connect_retry_backoff_with_jitter() {
    let t0 = Instant::now();
    let mut c = cfg();
    c.connect_retry_start = Duration::from_secs(2);
    c.connect_retry_max = Duration::from_secs(20);
    let mut p = Peer::new(c, 99).expect("valid");
    let mut conn = connect_of(&p.handle(Input::Start, t0)).expect("Connect");
    let mut last = t0;
    let mut gaps = Vec::new();
    for _ in 0..7 {
        let out = p.handle(Input::TcpFailed { conn }, last);
        assert_eq!(connect_of(&out), None, "no immediate retry");
        assert_eq!(p.state(), State::Active);
        let d = p.next_deadline().expect("ConnectRetry running");
        let out = p.handle(Input::Timers, d);
        conn = connect_of(&out).expect("retry connects");
        assert_eq!(p.state(), State::Connect);
        gaps.push(d - last);
        last = d;
    }
    for (gap, base) in gaps.iter().zip([2u64, 4, 8, 16, 20, 20, 20]) {
        let lo = Duration::from_millis(base * 750);
        assert!(
            *gap >= lo && *gap <= Duration::from_secs(base),
            "{gap:?} vs {base}"
        );
    }
    // Jitter is in use: not every interval is exactly its base.
    assert!(gaps.iter().any(|g| g.subsec_nanos() != 0));
    // A connect attempt that hangs is abandoned when ConnectRetry fires.
    let d = p.next_deadline().expect("deadline");
    let out = p.handle(Input::Timers, d);
    assert!(closed(&out, conn));
    assert!(connect_of(&out).is_some_and(|c| c != conn));
}

#[test]
fn idle_hold_refuses_inbound_then_restarts() {
    // After a protocol failure (here the peer's NOTIFICATION: our UPDATE was malformed)
    // IdleHold damps the peer: inbound connections are refused until the backoff ends.
    let t0 = Instant::now();
    let mut p = Peer::new(cfg(), 7).expect("valid");
    let c = establish_outbound(&mut p, vec![], 90, t0);
    let n = Notification {
        code: 3,
        subcode: 1,
        data: vec![],
    };
    let out = p.handle(
        Input::Received {
            conn: c,
            msg: Message::Notification(n.clone()),
        },
        t0,
    );
    let (reason, was_est, graceful) = down_of(&out).expect("Down");
    assert_eq!(reason, DownReason::NotificationReceived(n));
    assert!(was_est && !graceful);
    assert_eq!(p.state(), State::Idle);
    let resume = p.next_deadline().expect("IdleHold");
    // Second draw of the backoff (the first spaced the connect): 2 s base, jittered.
    assert!(resume >= t0 + Duration::from_millis(1500) && resume <= t0 + Duration::from_secs(2));
    let inbound = p.alloc_conn();
    let out = p.handle(
        Input::TcpConnected {
            conn: inbound,
            inbound: true,
        },
        t0,
    );
    assert_eq!(out, vec![Output::Close { conn: inbound }]);
    let out = p.handle(Input::Timers, resume);
    assert!(connect_of(&out).is_some());
    assert_eq!(p.state(), State::Connect);
}

#[test]
fn peer_that_left_administratively_may_reconnect_during_idle_hold() {
    // A peer that removed us (Cease / peer de-configured, as when our Node was deleted)
    // or reset us on purpose is let back in as soon as it connects again; a Cease for a
    // protocol reason (here Out of Resources) still damps.
    for (subcode, at_once) in [(2, true), (3, true), (4, true), (6, true), (8, false)] {
        let t0 = Instant::now();
        let mut p = Peer::new(cfg(), 7).expect("valid");
        let c = establish_outbound(&mut p, vec![], 90, t0);
        let n = Notification {
            code: 6,
            subcode,
            data: vec![],
        };
        let out = p.handle(
            Input::Received {
                conn: c,
                msg: Message::Notification(n.clone()),
            },
            t0,
        );
        assert_eq!(
            down_of(&out).map(|d| d.0),
            Some(DownReason::NotificationReceived(n))
        );
        assert_eq!(p.state(), State::Idle);
        assert!(p.next_deadline().is_some(), "IdleHold armed (6/{subcode})");
        let inbound = p.alloc_conn();
        let out = p.handle(
            Input::TcpConnected {
                conn: inbound,
                inbound: true,
            },
            t0 + Duration::from_millis(10),
        );
        let opened = out
            .iter()
            .any(|o| matches!(o, Output::Send { conn, msg: Message::Open(_) } if *conn == inbound));
        assert_eq!(opened, at_once, "Cease 6/{subcode}: {out:?}");
        if !at_once {
            assert_eq!(out, vec![Output::Close { conn: inbound }]);
        }
    }
}

#[test]
fn connection_lost_peer_may_reconnect_during_idle_hold() {
    // A peer whose TCP connection just went away (restart, crash) is let back in at once.
    let t0 = Instant::now();
    let mut p = Peer::new(cfg(), 7).expect("valid");
    let c = establish_outbound(&mut p, vec![], 90, t0);
    let out = p.handle(Input::TcpClosed { conn: c }, t0);
    assert!(!closed(&out, c), "the caller already dropped the socket");
    let (reason, was_est, graceful) = down_of(&out).expect("Down");
    assert_eq!(reason, DownReason::ConnectionLost);
    assert!(was_est && !graceful, "no GR negotiated");
    assert_eq!(p.state(), State::Idle);
    assert!(p.next_deadline().is_some(), "IdleHold armed");
    let inbound = p.alloc_conn();
    let out = p.handle(
        Input::TcpConnected {
            conn: inbound,
            inbound: true,
        },
        t0,
    );
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::Send { conn, msg: Message::Open(_) } if *conn == inbound)),
        "{out:?}"
    );
    assert_eq!(p.state(), State::OpenSent);
}

#[test]
fn stop_sends_cease_and_stays_idle() {
    let t0 = Instant::now();
    let mut p = Peer::new(cfg(), 7).expect("valid");
    let c = establish_outbound(&mut p, vec![], 90, t0);
    let out = p.handle(
        Input::Stop {
            cease: NotificationCode::CeaseAdminShutdown,
        },
        t0,
    );
    assert_eq!(sent_codes(&out, c), vec![(6, 2)]);
    assert!(closed(&out, c));
    assert_eq!(down_of(&out).map(|d| d.0), Some(DownReason::AdminStop));
    assert_eq!(p.state(), State::Idle);
    assert_eq!(p.next_deadline(), None);
    assert!(
        p.handle(
            Input::Stop {
                cease: NotificationCode::CeaseAdminShutdown,
            },
            t0
        )
        .is_empty()
    );
    assert!(connect_of(&p.handle(Input::Start, t0)).is_some());
}

/// Administrative shutdown with a Shutdown Communication (RFC 9003): Cease 6/2 whose
/// data is a length octet and the UTF-8 message, cut on a character boundary; the peer
/// stays Idle (no timer, inbound refused) until Start.
#[test]
fn shutdown_sends_the_communication_and_stays_down() {
    let t0 = Instant::now();
    let mut p = Peer::new(cfg(), 1).expect("valid");
    let c = establish_outbound(&mut p, vec![], 90, t0);
    let out = p.handle(
        Input::Shutdown {
            message: "maintenance: ToR swap".into(),
        },
        t0,
    );
    let notes: Vec<Notification> = out
        .iter()
        .filter_map(|o| match o {
            Output::Send {
                conn,
                msg: Message::Notification(n),
            } if *conn == c => Some(n.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(notes.len(), 1);
    assert_eq!((notes[0].code, notes[0].subcode), (6, 2));
    assert_eq!(notes[0].data[0] as usize, "maintenance: ToR swap".len());
    assert_eq!(&notes[0].data[1..], b"maintenance: ToR swap");
    assert_eq!(p.state(), State::Idle);
    assert_eq!(p.next_deadline(), None);
    let later = t0 + Duration::from_secs(3600);
    assert!(connect_of(&p.handle(Input::Timers, later)).is_none());
    assert!(connect_of(&p.handle(Input::Start, later)).is_some());
    // Longer than 128 bytes: cut on a character boundary; empty: no data.
    let long = "é".repeat(100);
    let d = crate::bgp::fsm::shutdown_communication(&long);
    assert_eq!(d[0], 128);
    assert_eq!(d.len(), 129);
    assert!(std::str::from_utf8(&d[1..]).is_ok());
    let odd = format!("x{}", "é".repeat(100));
    let d = crate::bgp::fsm::shutdown_communication(&odd);
    assert_eq!(d[0], 127, "a 2-byte character does not fit at byte 128");
    assert!(crate::bgp::fsm::shutdown_communication("").is_empty());
}

#[test]
fn graceful_flag_follows_gr_negotiation_and_cause() {
    let t = Instant::now();
    // Both advertise GR; TCP loss -> graceful.
    let mut p = Peer::new(gr_cfg(), 1).expect("valid");
    let c = establish_outbound(&mut p, vec![peer_gr_cap()], 90, t);
    let neg = p.negotiated().expect("negotiated").clone();
    assert!(neg.local_gr_advertised && neg.peer_gr.is_some());
    let out = p.handle(Input::TcpClosed { conn: c }, t);
    assert_eq!(
        down_of(&out),
        Some((DownReason::ConnectionLost, true, true))
    );
    // Hold expiry -> graceful.
    let mut p = Peer::new(gr_cfg(), 1).expect("valid");
    establish_outbound(&mut p, vec![peer_gr_cap()], 90, t);
    let out = p.handle(Input::Timers, t + Duration::from_secs(90));
    assert_eq!(
        down_of(&out),
        Some((DownReason::HoldTimerExpired, true, true))
    );
    // Only the peer advertised -> not graceful.
    let mut p = Peer::new(cfg(), 1).expect("valid");
    let c = establish_outbound(&mut p, vec![peer_gr_cap()], 90, t);
    let out = p.handle(Input::TcpClosed { conn: c }, t);
    assert_eq!(
        down_of(&out),
        Some((DownReason::ConnectionLost, true, false))
    );
    // Only we advertised -> not graceful.
    let mut p = Peer::new(gr_cfg(), 1).expect("valid");
    let c = establish_outbound(&mut p, vec![], 90, t);
    let out = p.handle(Input::TcpClosed { conn: c }, t);
    assert_eq!(
        down_of(&out),
        Some((DownReason::ConnectionLost, true, false))
    );
}

#[test]
fn config_validation() {
    let mut c = cfg();
    c.hold_time = 2;
    assert!(Peer::new(c, 1).is_err());
    let mut c = cfg();
    c.families.clear();
    assert!(Peer::new(c, 1).is_err());
    let mut c = cfg();
    c.connect_retry_start = Duration::ZERO;
    let e = Peer::new(c, 1).expect_err("zero retry");
    assert!(e.to_string().contains("connect retry"));
    let mut c = gr_cfg();
    if let Some(g) = c.graceful_restart.as_mut() {
        g.restart_time = 4096;
    }
    assert!(Peer::new(c, 1).is_err());
}
