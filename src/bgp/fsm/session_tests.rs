//! Multi-connection FSM tests: collisions, inbound while Established, reconfiguration,
//! and two `Peer`s wired back to back through a simulated network.

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use super::fsm_tests::{
    LOCAL_ID, REMOTE_ID, cfg, closed, connect_of, down_of, gr_cfg, notif, open, open_sent,
    peer_gr_cap, sent,
};
use super::*;

fn is_established_on(out: &[Output], c: ConnId) -> bool {
    out.iter()
        .any(|o| matches!(o, Output::Established { conn, .. } if *conn == c))
}

/// An active peer with an outbound (OpenSent) and an inbound (OpenSent) connection.
fn two_connections(config: PeerConfig) -> (Peer, ConnId, ConnId, Instant) {
    let t = Instant::now();
    let (mut p, out_c) = open_sent(config, 11, t);
    let in_c = p.alloc_conn();
    let out = p.handle(
        Input::TcpConnected {
            conn: in_c,
            inbound: true,
        },
        t,
    );
    assert!(matches!(sent(&out, in_c).first(), Some(Message::Open(_))));
    assert!(
        !closed(&out, out_c),
        "both connections live until OPENs arrive"
    );
    (p, out_c, in_c, t)
}

fn rx(p: &mut Peer, conn: ConnId, msg: Message, t: Instant) -> Vec<Output> {
    p.handle(Input::Received { conn, msg }, t)
}

fn cease_collision(out: &[Output], c: ConnId) -> bool {
    sent(out, c).contains(&notif(6, 7)) && closed(out, c)
}

#[test]
fn collision_higher_local_id_keeps_outbound() {
    let mut c = cfg();
    c.router_id = Ipv4Addr::new(10, 0, 0, 9); // higher than REMOTE_ID
    let (mut p, out_c, in_c, t) = two_connections(c);
    // OPEN on the inbound connection: it loses.
    let out = rx(&mut p, in_c, open(65001, REMOTE_ID, 90, vec![]), t);
    assert!(cease_collision(&out, in_c), "{out:?}");
    assert!(!closed(&out, out_c));
    assert_eq!(p.state(), State::OpenSent);
    rx(&mut p, out_c, open(65001, REMOTE_ID, 90, vec![]), t);
    let out = rx(&mut p, out_c, Message::Keepalive, t);
    assert!(is_established_on(&out, out_c));
}

#[test]
fn collision_lower_local_id_keeps_inbound() {
    let (mut p, out_c, in_c, t) = two_connections(cfg()); // LOCAL_ID < REMOTE_ID
    let out = rx(&mut p, in_c, open(65001, REMOTE_ID, 90, vec![]), t);
    assert!(cease_collision(&out, out_c), "{out:?}");
    assert_eq!(sent(&out, in_c), vec![Message::Keepalive]);
    assert_eq!(p.state(), State::OpenConfirm);
    let out = rx(&mut p, in_c, Message::Keepalive, t);
    assert!(is_established_on(&out, in_c));
    // Late messages on the closed connection are ignored.
    assert!(rx(&mut p, out_c, Message::Keepalive, t).is_empty());
}

#[test]
fn collision_detected_against_open_confirm() {
    // The outbound reaches OpenConfirm before the peer's connection even arrives.
    let t = Instant::now();
    let (mut p, out_c) = open_sent(cfg(), 4, t);
    rx(&mut p, out_c, open(65001, REMOTE_ID, 90, vec![]), t);
    assert_eq!(p.state(), State::OpenConfirm);
    let in_c = p.alloc_conn();
    p.handle(
        Input::TcpConnected {
            conn: in_c,
            inbound: true,
        },
        t,
    );
    assert_eq!(
        p.state(),
        State::OpenConfirm,
        "the most advanced connection counts"
    );
    let out = rx(&mut p, in_c, open(65001, REMOTE_ID, 90, vec![]), t);
    // Remote id is higher: its connection (our inbound) wins.
    assert!(cease_collision(&out, out_c));
    assert_eq!(sent(&out, in_c), vec![Message::Keepalive]);
}

#[test]
fn open_on_either_connection_resolves_at_once() {
    // Our id is lower: an OPEN on our outbound connection already tells us it loses.
    let (mut p, out_c, in_c, t) = two_connections(cfg());
    let out = rx(&mut p, out_c, open(65001, REMOTE_ID, 90, vec![]), t);
    assert!(cease_collision(&out, out_c));
    assert!(!closed(&out, in_c));
    assert_eq!(p.state(), State::OpenSent);
}

#[test]
fn collision_tie_breaks_on_asn() {
    // Same router id on eBGP (allowed by RFC 6286); our AS 65000 < theirs 65001.
    let (mut p, out_c, in_c, t) = two_connections(cfg());
    let out = rx(&mut p, out_c, open(65001, LOCAL_ID, 90, vec![]), t);
    assert!(
        cease_collision(&out, out_c),
        "smaller AS: our connection loses"
    );
    assert!(!closed(&out, in_c));
    let mut big = cfg();
    big.local_asn = 65100;
    let (mut p, out_c, in_c, t) = two_connections(big);
    let out = rx(&mut p, out_c, open(65001, LOCAL_ID, 90, vec![]), t);
    assert!(
        cease_collision(&out, in_c),
        "larger AS: our connection wins"
    );
    assert_eq!(sent(&out, out_c), vec![Message::Keepalive]);
}

#[test]
fn establishing_closes_the_other_connection() {
    // Our connect is still pending when the peer's connection gets the session up.
    let t = Instant::now();
    let mut p = Peer::new(cfg(), 4).expect("valid");
    let out_c = connect_of(&p.handle(Input::Start, t)).expect("Connect");
    let in_c = p.alloc_conn();
    p.handle(
        Input::TcpConnected {
            conn: in_c,
            inbound: true,
        },
        t,
    );
    rx(&mut p, in_c, open(65001, REMOTE_ID, 90, vec![]), t);
    let out = rx(&mut p, in_c, Message::Keepalive, t);
    assert!(is_established_on(&out, in_c));
    assert!(closed(&out, out_c));
    assert!(
        sent(&out, out_c).is_empty(),
        "no BGP message on an unopened socket"
    );
    // Its late completion is turned away.
    let out = p.handle(
        Input::TcpConnected {
            conn: out_c,
            inbound: false,
        },
        t,
    );
    assert_eq!(out, vec![Output::Close { conn: out_c }]);
}

#[test]
fn inbound_while_established_is_refused() {
    let t = Instant::now();
    let (mut p, out_c) = open_sent(cfg(), 4, t);
    rx(&mut p, out_c, open(65001, REMOTE_ID, 90, vec![]), t);
    rx(&mut p, out_c, Message::Keepalive, t);
    assert_eq!(p.state(), State::Established);
    let late = p.alloc_conn();
    let out = p.handle(
        Input::TcpConnected {
            conn: late,
            inbound: true,
        },
        t,
    );
    assert_eq!(
        out,
        vec![
            Output::Send {
                conn: late,
                msg: notif(6, 7)
            },
            Output::Close { conn: late }
        ]
    );
    assert_eq!(p.state(), State::Established);
    assert_eq!(p.established_conn(), Some(out_c));
}

#[test]
fn inbound_while_established_with_gr_means_peer_restarted_once_its_open_is_valid() {
    let t = Instant::now();
    let (mut p, c) = open_sent(gr_cfg(), 3, t);
    rx(
        &mut p,
        c,
        open(65001, REMOTE_ID, 90, vec![peer_gr_cap()]),
        t,
    );
    rx(&mut p, c, Message::Keepalive, t);
    let fresh = p.alloc_conn();
    let out = p.handle(
        Input::TcpConnected {
            conn: fresh,
            inbound: true,
        },
        t,
    );
    // The connection alone changes nothing: it gets our OPEN and waits.
    assert!(!closed(&out, c), "{out:?}");
    assert_eq!(down_of(&out), None);
    assert!(matches!(sent(&out, fresh).first(), Some(Message::Open(_))));
    assert_eq!(p.state(), State::Established);
    assert_eq!(p.established_conn(), Some(c));
    // Its valid OPEN ends the old session gracefully (RFC 4724 §4.2).
    let out = rx(
        &mut p,
        fresh,
        open(65001, REMOTE_ID, 90, vec![peer_gr_cap()]),
        t,
    );
    assert!(closed(&out, c));
    assert_eq!(down_of(&out), Some((DownReason::PeerRestarted, true, true)));
    assert_eq!(p.state(), State::OpenConfirm);
    let out = rx(&mut p, fresh, Message::Keepalive, t);
    assert!(is_established_on(&out, fresh));
}

#[test]
fn reconfigure_with_and_without_reset() {
    let t = Instant::now();
    let (mut p, c) = open_sent(cfg(), 3, t);
    rx(&mut p, c, open(65001, REMOTE_ID, 90, vec![]), t);
    rx(&mut p, c, Message::Keepalive, t);

    // Hold time and timers: no reset, nothing to do now.
    let mut next = cfg();
    next.hold_time = 30;
    next.connect_retry_max = Duration::from_secs(10);
    let (reset, out) = p.reconfigure(next.clone(), t).expect("valid");
    assert!(!reset && out.is_empty());
    assert_eq!(p.state(), State::Established);
    // Invalid configuration is refused and changes nothing.
    let mut bad = next.clone();
    bad.hold_time = 1;
    assert!(p.reconfigure(bad, t).is_err());
    assert_eq!(p.config().hold_time, 30);

    // A new family changes the OPEN: Cease 6/6, Down, and an immediate reconnect.
    next.families = vec![Afi::Ipv4, Afi::Ipv6];
    let (reset, out) = p.reconfigure(next.clone(), t).expect("valid");
    assert!(reset);
    assert_eq!(sent(&out, c), vec![notif(6, 6)]);
    assert!(closed(&out, c));
    assert_eq!(down_of(&out).map(|d| d.0), Some(DownReason::ConfigChange));
    let c2 = connect_of(&out).expect("reconnects at once");
    assert_eq!(p.state(), State::Connect);
    let out = p.handle(
        Input::TcpConnected {
            conn: c2,
            inbound: false,
        },
        t,
    );
    let Some(Message::Open(o)) = sent(&out, c2).into_iter().next() else {
        panic!("no OPEN");
    };
    assert_eq!(o.hold_time, 30, "new hold time offered in the next session");

    // In OpenSent our OPEN is out: an ASN change resets too.
    next.remote_asn = 65002;
    let (reset, _) = p.reconfigure(next.clone(), t).expect("valid");
    assert!(reset);

    // Passive on: the pending connect is dropped, no reset; passive off: connects.
    assert_eq!(p.state(), State::Connect);
    next.passive = true;
    let (reset, out) = p.reconfigure(next.clone(), t).expect("valid");
    assert!(!reset);
    assert!(out.iter().any(|o| matches!(o, Output::Close { .. })));
    assert_eq!(p.state(), State::Active);
    assert_eq!(p.next_deadline(), None);
    next.passive = false;
    let (reset, out) = p.reconfigure(next, t).expect("valid");
    assert!(!reset);
    assert!(connect_of(&out).is_some());
    assert_eq!(p.state(), State::Connect);
}

/// Two peers and the TCP connections between them, delivered in order.
struct WiredPeers {
    a: Peer,
    b: Peer,
    /// (a's conn, b's conn) per live connection.
    links: Vec<(ConnId, ConnId)>,
    /// Pending deliveries: (to_a, conn at the receiver, input).
    queue: VecDeque<(bool, Input)>,
    now: Instant,
    a_up: u32,
    b_up: u32,
    b_down: Vec<DownReason>,
}

impl WiredPeers {
    fn new(a: PeerConfig, b: PeerConfig) -> WiredPeers {
        WiredPeers {
            a: Peer::new(a, 1).expect("valid a"),
            b: Peer::new(b, 2).expect("valid b"),
            links: Vec::new(),
            queue: VecDeque::new(),
            now: Instant::now(),
            a_up: 0,
            b_up: 0,
            b_down: Vec::new(),
        }
    }

    fn apply(&mut self, from_a: bool, outs: Vec<Output>) {
        for o in outs {
            match o {
                Output::Connect { conn } => {
                    // The other side accepts: it allocates its own id.
                    let theirs = if from_a {
                        self.b.alloc_conn()
                    } else {
                        self.a.alloc_conn()
                    };
                    self.links.push(if from_a {
                        (conn, theirs)
                    } else {
                        (theirs, conn)
                    });
                    self.queue.push_back((
                        from_a,
                        Input::TcpConnected {
                            conn,
                            inbound: false,
                        },
                    ));
                    let inbound = Input::TcpConnected {
                        conn: theirs,
                        inbound: true,
                    };
                    self.queue.push_back((!from_a, inbound));
                }
                Output::Send { conn, msg } => {
                    if let Some(to) = self.peer_of(from_a, conn) {
                        self.queue
                            .push_back((!from_a, Input::Received { conn: to, msg }));
                    }
                }
                Output::Close { conn } => {
                    if let Some(to) = self.peer_of(from_a, conn) {
                        self.links
                            .retain(|&(x, y)| if from_a { x != conn } else { y != conn });
                        self.queue
                            .push_back((!from_a, Input::TcpClosed { conn: to }));
                    }
                }
                Output::Established { .. } if from_a => self.a_up += 1,
                Output::Established { .. } => self.b_up += 1,
                Output::Down { reason, .. } if !from_a => self.b_down.push(reason),
                _ => {}
            }
        }
    }

    fn peer_of(&self, from_a: bool, conn: ConnId) -> Option<ConnId> {
        self.links.iter().find_map(|&(x, y)| match from_a {
            true if x == conn => Some(y),
            false if y == conn => Some(x),
            _ => None,
        })
    }

    /// Delivers queued inputs (to the side named in the entry), bounded.
    fn run(&mut self) {
        for _ in 0..1000 {
            let Some((to_a, input)) = self.queue.pop_front() else {
                return;
            };
            let out = if to_a {
                self.a.handle(input, self.now)
            } else {
                self.b.handle(input, self.now)
            };
            self.apply(to_a, out);
        }
        panic!("did not settle");
    }

    /// Advances simulated time to the next deadline of either peer, up to `until`.
    fn tick(&mut self, until: Instant) -> bool {
        let next = [self.a.next_deadline(), self.b.next_deadline()]
            .into_iter()
            .flatten()
            .min();
        match next {
            Some(t) if t <= until => {
                self.now = self.now.max(t);
                let oa = self.a.handle(Input::Timers, self.now);
                self.apply(true, oa);
                let ob = self.b.handle(Input::Timers, self.now);
                self.apply(false, ob);
                self.run();
                true
            }
            _ => false,
        }
    }
}

fn lab_configs() -> (PeerConfig, PeerConfig) {
    let a = PeerConfig::new(65000, 65001, LOCAL_ID);
    let b = PeerConfig::new(65001, 65000, REMOTE_ID);
    (a, b)
}

#[test]
fn back_to_back_active_and_passive() {
    let (a, mut b) = lab_configs();
    b.passive = true;
    let mut lab = WiredPeers::new(a, b);
    let now = lab.now;
    let oa = lab.a.handle(Input::Start, now);
    lab.apply(true, oa);
    let ob = lab.b.handle(Input::Start, now);
    lab.apply(false, ob);
    lab.run();
    assert_eq!(lab.a.state(), State::Established);
    assert_eq!(lab.b.state(), State::Established);
    assert_eq!((lab.a_up, lab.b_up), (1, 1));
    let (na, nb) = (
        lab.a.negotiated().expect("a").clone(),
        lab.b.negotiated().expect("b").clone(),
    );
    assert_eq!((na.remote_asn, nb.remote_asn), (65001, 65000));
    assert_eq!(na.hold_time, nb.hold_time);

    // Ten simulated minutes of keepalives keep both sessions up.
    let end = lab.now + Duration::from_secs(600);
    let mut ticks = 0;
    while lab.tick(end) {
        ticks += 1;
        assert!(ticks < 1000, "timer storm");
    }
    assert!(ticks >= 20, "keepalives flowed ({ticks} ticks)");
    assert_eq!(lab.a.state(), State::Established);
    assert_eq!(lab.b.state(), State::Established);

    // A stops: B receives Cease and goes down.
    let oa = lab.a.handle(
        Input::Stop {
            cease: NotificationCode::CeaseAdminShutdown,
        },
        lab.now,
    );
    lab.apply(true, oa);
    lab.run();
    assert_eq!(lab.b.state(), State::Idle);
    assert!(matches!(
        lab.b_down.first(),
        Some(DownReason::NotificationReceived(n)) if (n.code, n.subcode) == (6, 2)
    ));
}

#[test]
fn back_to_back_both_active_resolve_collision() {
    let (a, b) = lab_configs();
    let mut lab = WiredPeers::new(a, b);
    let now = lab.now;
    // Both connect at the same instant: two TCP connections, one must survive.
    let oa = lab.a.handle(Input::Start, now);
    let ob = lab.b.handle(Input::Start, now);
    lab.apply(true, oa);
    lab.apply(false, ob);
    lab.run();
    assert_eq!(lab.a.state(), State::Established);
    assert_eq!(lab.b.state(), State::Established);
    assert_eq!((lab.a_up, lab.b_up), (1, 1));
    // Both ends kept the same TCP connection: the one B (higher id) initiated.
    let (ca, cb) = (
        lab.a.established_conn().expect("a"),
        lab.b.established_conn().expect("b"),
    );
    assert_eq!(lab.links, vec![(ca, cb)]);
    assert_eq!(lab.peer_of(true, ca), Some(cb));
    assert_eq!(cb, 1, "B's own first (outbound) connection");
}

/// Accepts an inbound connection; whether it was taken (got our OPEN) or refused.
fn offer_inbound(p: &mut Peer, t: Instant) -> (ConnId, bool) {
    let c = p.alloc_conn();
    let out = p.handle(
        Input::TcpConnected {
            conn: c,
            inbound: true,
        },
        t,
    );
    let taken = matches!(sent(&out, c).first(), Some(Message::Open(_)));
    assert_eq!(taken, !closed(&out, c), "{out:?}");
    (c, taken)
}

/// Our outbound connection `conn` is up: we send OPEN on it.
fn outbound_up(p: &mut Peer, conn: ConnId, t: Instant) -> Vec<Output> {
    p.handle(
        Input::TcpConnected {
            conn,
            inbound: false,
        },
        t,
    )
}

/// The peer's OPEN and KEEPALIVE arrive on `conn`; whether the session came up on it.
fn peer_confirms(p: &mut Peer, conn: ConnId, t: Instant) -> bool {
    rx(p, conn, open(65001, REMOTE_ID, 90, vec![]), t);
    is_established_on(&rx(p, conn, Message::Keepalive, t), conn)
}

#[test]
fn collision_lost_on_last_connection_reconnects_at_once() {
    // The peer keeps a connection we already closed and sends 6/7 on our only one.
    let t = Instant::now();
    let (mut p, out_c) = open_sent(cfg(), 21, t);
    let out = rx(&mut p, out_c, notif(6, 7), t);
    assert!(closed(&out, out_c), "{out:?}");
    assert!(down_of(&out).is_none(), "not a failed attempt: {out:?}");
    let again = connect_of(&out).expect("a new connection at once");
    assert_ne!(again, out_c);
    assert_eq!(p.state(), State::Connect);
    let last = p.last_notification().expect("kept for status");
    assert!(!last.sent);
    assert_eq!(last.notification.kind(), NotificationCode::CeaseCollision);
    // The back-off did not advance: the first connect drew 1 s and the retry's timer
    // uses the 2 s the next draw would have, not 4 s.
    let wait = p.next_deadline().expect("ConnectRetry") - t;
    assert!(wait <= 2 * DEFAULT_CONNECT_RETRY_START, "{wait:?}");
    assert!(wait >= DEFAULT_CONNECT_RETRY_START, "{wait:?}");
    // ... and the attempt after it, should this connect hang, draws those 2 s too.
    let t2 = t + wait;
    let out = p.handle(Input::Timers, t2);
    assert!(connect_of(&out).is_some(), "{out:?}");
    let wait2 = p.next_deadline().expect("ConnectRetry") - t2;
    assert!(wait2 <= 2 * DEFAULT_CONNECT_RETRY_START, "{wait2:?}");
    // Meanwhile the peer's own connection is welcome (no IdleHold).
    let (_, taken) = offer_inbound(&mut p, t);
    assert!(taken);
}

#[test]
fn repeated_collision_losses_retry_later_then_wait_in_idle_hold() {
    // The peer still holds the connection it kept: each quick reconnect gets 6/7 too.
    let t0 = Instant::now();
    let (mut p, mut c) = open_sent(cfg(), 22, t0);
    let mut t = t0;
    let waits = [
        Duration::ZERO,
        Duration::from_millis(100),
        Duration::from_millis(400),
    ];
    for (k, wait) in waits.into_iter().enumerate() {
        let out = rx(&mut p, c, notif(6, 7), t);
        assert!(closed(&out, c));
        assert!(down_of(&out).is_none(), "retry {k}: {out:?}");
        let next = if wait.is_zero() {
            connect_of(&out).expect("the first at once")
        } else {
            assert!(connect_of(&out).is_none(), "retry {k} waits: {out:?}");
            assert_eq!(p.state(), State::Active, "no IdleHold");
            assert_eq!(p.next_deadline(), Some(t + wait));
            assert!(
                connect_of(&p.handle(Input::Timers, t + wait - Duration::from_millis(1))).is_none()
            );
            t += wait;
            connect_of(&p.handle(Input::Timers, t)).expect("after the wait")
        };
        outbound_up(&mut p, next, t);
        c = next;
    }
    // The quick reconnects are used up: the next 6/7 is an error as before.
    let out = rx(&mut p, c, notif(6, 7), t);
    assert!(connect_of(&out).is_none(), "{out:?}");
    let (reason, was_established, _) = down_of(&out).expect("Down as any error");
    assert!(!was_established);
    assert!(matches!(reason, DownReason::NotificationReceived(_)));
    assert_eq!(p.state(), State::Idle);
    let (_, taken) = offer_inbound(&mut p, t);
    assert!(!taken, "IdleHold refuses the peer as before");
}

#[test]
fn a_waiting_quick_reconnect_yields_to_the_peers_connection() {
    let t = Instant::now();
    let (mut p, c) = open_sent(cfg(), 26, t);
    let c2 = connect_of(&rx(&mut p, c, notif(6, 7), t)).expect("at once");
    outbound_up(&mut p, c2, t);
    rx(&mut p, c2, notif(6, 7), t);
    // The peer connects while the second quick reconnect waits.
    let (inb, taken) = offer_inbound(&mut p, t);
    assert!(taken);
    let out = p.handle(Input::Timers, t + Duration::from_millis(100));
    assert!(
        connect_of(&out).is_none(),
        "no collision of our own making: {out:?}"
    );
    assert!(peer_confirms(&mut p, inb, t));
}

#[test]
fn collision_retry_is_earned_again_by_a_session() {
    let t = Instant::now();
    let (mut p, out_c) = open_sent(cfg(), 23, t);
    let out = rx(&mut p, out_c, notif(6, 7), t);
    let c = connect_of(&out).expect("at once");
    outbound_up(&mut p, c, t);
    assert!(peer_confirms(&mut p, c, t));
    // The session ends by a lost connection; the next attempt may again retry at once.
    let t2 = t + Duration::from_secs(60);
    p.handle(Input::TcpClosed { conn: c }, t2);
    let (inb, taken) = offer_inbound(&mut p, t2);
    assert!(taken);
    let out = rx(&mut p, inb, notif(6, 7), t2);
    assert!(connect_of(&out).is_some(), "{out:?}");
    assert!(down_of(&out).is_none());
}

#[test]
fn collision_notice_with_another_connection_left_changes_nothing_else() {
    let (mut p, out_c, in_c, t) = two_connections(cfg());
    let out = rx(&mut p, out_c, notif(6, 7), t);
    assert!(closed(&out, out_c));
    assert!(connect_of(&out).is_none(), "{out:?}");
    assert!(down_of(&out).is_none());
    assert_eq!(p.state(), State::OpenSent);
    // The remaining connection goes on to a session.
    assert!(peer_confirms(&mut p, in_c, t));
}

#[test]
fn collision_lost_by_a_passive_peer_waits_for_the_peer() {
    let mut c = cfg();
    c.passive = true;
    let t = Instant::now();
    let mut p = Peer::new(c, 24).expect("valid");
    p.handle(Input::Start, t);
    let (inb, taken) = offer_inbound(&mut p, t);
    assert!(taken);
    let out = rx(&mut p, inb, notif(6, 7), t);
    assert!(closed(&out, inb));
    assert!(connect_of(&out).is_none(), "passive: never connects");
    assert!(down_of(&out).is_none());
    assert_eq!(p.state(), State::Active);
    assert!(offer_inbound(&mut p, t).1);
}

#[test]
fn collision_notice_on_an_established_session_ends_it() {
    let t = Instant::now();
    let (mut p, c) = open_sent(cfg(), 25, t);
    assert!(peer_confirms(&mut p, c, t));
    let out = rx(&mut p, c, notif(6, 7), t);
    let (_, was_established, _) = down_of(&out).expect("Down");
    assert!(was_established);
    assert!(connect_of(&out).is_none());
    assert_eq!(p.state(), State::Idle);
}

#[test]
fn back_to_back_collision_with_a_connection_closed_before_configuration() {
    // The interleaving that delayed a new Node by a back-off in the 20-node lab: B
    // (higher id) connects before A has configured it, and A's speaker closes that
    // socket; B has not read the close when A, now configured, connects to B.
    let (a, b) = lab_configs();
    let mut lab = WiredPeers::new(a, b);
    let now = lab.now;
    let ob = lab.b.handle(Input::Start, now);
    let early = connect_of(&ob).expect("B connects");
    let ob = outbound_up(&mut lab.b, early, now);
    assert!(matches!(sent(&ob, early).first(), Some(Message::Open(_))));
    let oa = lab.a.handle(Input::Start, now);
    lab.apply(true, oa);
    // Deliver until B has read A's OPEN: B keeps `early` (its own, higher id) and
    // closes A's connection with 6/7.
    let mut answered = false;
    for _ in 0..10 {
        let (to_a, input) = lab.queue.pop_front().expect("queued");
        let open_to_b = !to_a
            && matches!(
                &input,
                Input::Received {
                    msg: Message::Open(_),
                    ..
                }
            );
        let out = if to_a {
            lab.a.handle(input, lab.now)
        } else {
            lab.b.handle(input, lab.now)
        };
        lab.apply(to_a, out);
        if open_to_b {
            answered = true;
            break;
        }
    }
    assert!(answered);
    assert!(
        lab.queue
            .iter()
            .any(|(to_a, i)| *to_a
                && matches!(i, Input::Received { msg, .. } if *msg == notif(6, 7))),
        "B resolved the collision against A: {:?}",
        lab.queue
    );
    // Only now does B read the end of `early`.
    lab.queue
        .push_front((false, Input::TcpClosed { conn: early }));
    lab.run();
    // A reconnected at once: both sessions are up without any timer having run.
    assert_eq!(lab.now, now);
    assert_eq!(lab.a.state(), State::Established);
    assert_eq!(lab.b.state(), State::Established);
    assert_eq!((lab.a_up, lab.b_up), (1, 1));
}
