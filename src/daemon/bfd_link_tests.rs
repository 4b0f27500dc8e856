//! Unit tests of `daemon::bfd_link`: hop mode and port selection, and sessions on
//! loopback through real sockets.

use super::*;
use crate::config::Bfd;

fn plan(addr: &str, ttl: Option<u8>, bfd: Option<Bfd>) -> PeerPlan {
    PeerPlan {
        local_addr: Some(if addr.contains(':') {
            "fd00::1".parse().expect("addr")
        } else {
            "10.0.0.1".parse().expect("addr")
        }),
        ttl,
        families: Vec::new(),
        bfd,
        ..PeerPlan::plain(addr.parse().expect("addr"), 64512, 65000)
    }
}

#[test]
fn hop_mode_and_port_follow_where_the_peer_is() {
    let b = Bfd {
        port: 3784,
        detection_multiplier: 3,
        desired_min_tx: Duration::from_millis(100),
        required_min_rx: Duration::from_millis(200),
    };
    let odd = Bfd { port: 5000, ..b };
    let connected: Vec<Prefix> = ["10.0.0.0/24", "fd00::/64", "0.0.0.0/0"]
        .iter()
        .map(|s| s.parse().expect("prefix"))
        .collect();
    let plans = vec![
        plan("10.0.0.2", Some(1), Some(b)),
        plan("10.9.0.2", None, Some(b)),
        plan("10.0.0.3", Some(5), Some(b)),
        plan("fd00::2", None, Some(odd)),
        plan("10.9.0.3", None, Some(odd)),
        plan("10.0.0.4", None, None),
    ];
    let w = bfd_wants(&plans, &connected);
    let got: Vec<(String, HopMode, u16)> = w
        .iter()
        .map(|w| (w.peer.to_string(), w.key.hop, w.port))
        .collect();
    assert_eq!(
        got,
        vec![
            ("10.0.0.2".into(), HopMode::SingleHop, 3784),
            // Behind a router (the default route does not make it on-link).
            ("10.9.0.2".into(), HopMode::MultiHop, 4784),
            // eBGP multihop on a connected subnet: still multihop.
            ("10.0.0.3".into(), HopMode::MultiHop, 4784),
            ("fd00::2".into(), HopMode::SingleHop, 5000),
            ("10.9.0.3".into(), HopMode::MultiHop, 5000),
        ]
    );
    assert_eq!(w[0].key.local.to_string(), "10.0.0.1");
    assert_eq!(w[0].timers.required_min_rx, Duration::from_millis(200));
    // No source address: no session.
    let mut p = plan("10.0.0.2", None, Some(b));
    p.local_addr = None;
    assert!(bfd_wants(&[p], &connected).is_empty());
}

/// Both ends of a session on loopback: they come Up through real sockets, and a
/// removed session tells its peer AdminDown, which is not a failure.
#[test]
fn sessions_come_up_and_removal_is_admin_down_on_loopback() {
    let poll = mio::Poll::new().expect("poll");
    let reg = poll.registry();
    let now = Instant::now();
    let timers = BfdTimers {
        desired_min_tx: Duration::from_millis(10),
        required_min_rx: Duration::from_millis(10),
        detect_mult: 3,
    };
    // An unprivileged free port; multihop sessions need no TTL 255. One link holds
    // both ends (127.0.0.1 <-> 127.0.0.2) over its one receive socket.
    let port = std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.local_addr())
        .expect("free port")
        .port();
    let a_ip: IpAddr = "127.0.0.1".parse().expect("ip");
    let b_ip: IpAddr = "127.0.0.2".parse().expect("ip");
    let mut a = BfdLink::new(1);
    a.attach(reg).expect("registry");
    let want_a = BfdWant {
        peer: b_ip,
        key: SessionKey::new(b_ip, a_ip, HopMode::MultiHop),
        port,
        timers,
    };
    let want_b = BfdWant {
        peer: a_ip,
        key: SessionKey::new(a_ip, b_ip, HopMode::MultiHop),
        port,
        timers,
    };
    a.set_sessions(&[want_a, want_b], now);
    assert_eq!(a.sessions().count(), 2);
    let up = pump(&mut a, |a| {
        a.sessions().all(|(_, _, s)| s.state() == BfdState::Up)
    });
    assert!(up, "sessions did not come Up");
    // New timers: the sessions are retimed in place (a poll sequence), not replaced.
    let discrs: Vec<u32> = a.sessions().map(|(_, _, s)| s.local_discr()).collect();
    let slower = BfdTimers {
        desired_min_tx: Duration::from_millis(20),
        ..timers
    };
    let (want_a, want_b) = (
        BfdWant {
            timers: slower,
            ..want_a
        },
        BfdWant {
            timers: slower,
            ..want_b
        },
    );
    a.set_sessions(&[want_a, want_b], Instant::now());
    let retimed = pump(&mut a, |a| {
        a.sessions().all(|(_, _, s)| {
            s.state() == BfdState::Up
                && !s.polling()
                && s.tx_interval() == Some(Duration::from_millis(20))
        })
    });
    assert!(retimed, "timers not applied");
    let after: Vec<u32> = a.sessions().map(|(_, _, s)| s.local_discr()).collect();
    assert_eq!(discrs, after, "sessions were replaced");
    assert!(a.sessions().all(|(_, l, _)| l.timers == slower));
    // Remove one: the other hears AdminDown and goes Down, not as a failure.
    a.set_sessions(&[want_b], Instant::now());
    assert_eq!(a.sessions().count(), 1);
    let mut seen = Vec::new();
    let down = pump_changes(&mut a, &mut seen, |a| {
        a.session(&a_ip)
            .is_some_and(|(_, s)| s.state() == BfdState::Down)
    });
    assert!(down, "no Down after the peer's AdminDown: {seen:?}");
    assert!(seen.iter().all(|(_, c)| !c.is_failure()), "{seen:?}");
    let (l, _) = a.session(&a_ip).expect("session");
    assert_eq!(l.peer_admin_down, 1);
    assert_eq!(l.detection_expired + l.peer_down, 0);
}

fn pump(link: &mut BfdLink, done: impl Fn(&BfdLink) -> bool) -> bool {
    let mut seen = Vec::new();
    pump_changes(link, &mut seen, done)
}

fn pump_changes(
    link: &mut BfdLink,
    seen: &mut Vec<(IpAddr, StateChange)>,
    done: impl Fn(&BfdLink) -> bool,
) -> bool {
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end {
        if done(link) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
        let now = Instant::now();
        for i in 0..link.registered {
            seen.extend(link.read(i, now));
        }
        seen.extend(link.on_timers(now));
    }
    done(link)
}
