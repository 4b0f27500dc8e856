//! Unit tests of `net::sock` on loopback sockets (no namespaces, no root needed).

use super::*;
use mio::{Events, Interest, Poll, Token};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// Accepts one connection within `timeout`, polling the listener.
fn accept_within(l: &mut TcpListener, timeout: Duration) -> Option<TcpStream> {
    let mut poll = Poll::new().ok()?;
    poll.registry()
        .register(l, Token(0), Interest::READABLE)
        .ok()?;
    let mut events = Events::with_capacity(4);
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        match l.accept() {
            Ok((s, _)) => return Some(s),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let _ = poll.poll(&mut events, Some(Duration::from_millis(100)));
            }
            Err(_) => return None,
        }
    }
    None
}

#[test]
fn key_longer_than_80_bytes_is_refused() {
    let l = listen("127.0.0.1:0".parse().unwrap()).unwrap();
    let e = set_md5(&l, "127.0.0.1".parse().unwrap(), Some(&[b'k'; 81])).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("81 bytes"), "{e}");
    set_md5(&l, "127.0.0.1".parse().unwrap(), Some(&[b'k'; 80])).unwrap();
}

#[test]
fn deleting_a_key_is_idempotent() {
    let l = listen("127.0.0.1:0".parse().unwrap()).unwrap();
    let peer: IpAddr = "127.0.0.2".parse().unwrap();
    set_md5(&l, peer, None).unwrap();
    set_md5(&l, peer, Some(b"secret")).unwrap();
    set_md5(&l, peer, None).unwrap();
    set_md5(&l, peer, None).unwrap();
}

#[test]
fn ipv6_peer_on_ipv4_socket_is_refused() {
    let l = listen("127.0.0.1:0".parse().unwrap()).unwrap();
    let e = set_md5(&l, "fd00::1".parse().unwrap(), Some(b"x")).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    // A v4-mapped peer is plain IPv4 and is accepted.
    set_md5(&l, "::ffff:127.0.0.9".parse().unwrap(), Some(b"x")).unwrap();
}

#[test]
fn mixed_families_are_refused_before_any_socket_call() {
    let e = connect(
        "127.0.0.1:179".parse().unwrap(),
        Some("::1".parse().unwrap()),
        None,
        None,
    )
    .unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn normalises_v4_mapped_addresses() {
    let a: SocketAddr = "[::ffff:10.1.2.3]:179".parse().unwrap();
    assert_eq!(normalize(a), "10.1.2.3:179".parse::<SocketAddr>().unwrap());
    let b: SocketAddr = "[fd00::1]:179".parse().unwrap();
    assert_eq!(normalize(b), b);
}

#[test]
fn storage_round_trip() {
    for s in ["10.0.0.1:179", "[fd00::5]:1790", "0.0.0.0:0"] {
        let a: SocketAddr = s.parse().unwrap();
        let (st, _) = to_storage(a);
        assert_eq!(from_storage(&st), Some(a));
    }
    assert_eq!(from_storage(&zeroed_storage()), None);
}

#[test]
fn loopback_md5_session_with_ttl_and_cs6() {
    let mut l = listen("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = l.local_addr().unwrap().port();
    set_md5(&l, "127.0.0.1".parse().unwrap(), Some(b"loop-key")).unwrap();
    let local: IpAddr = "127.0.0.1".parse().unwrap();
    let mut c = connect(
        SocketAddr::new(local, port),
        Some(local),
        Some(1),
        Some(b"loop-key"),
    )
    .unwrap();
    assert_eq!(ttl(&c).unwrap(), 1);
    assert_eq!(tos(&c).unwrap(), TOS_CS6);
    let mut s = accept_within(&mut l, Duration::from_secs(5)).expect("accepted with the right key");
    prepare_accepted(&s, Some(7), None).unwrap();
    assert_eq!(ttl(&s).unwrap(), 7);
    assert_eq!(peer_addr(&s).unwrap(), local_addr(&c).unwrap());
    // Blocking-ish byte exchange over the non-blocking pair, bounded.
    let end = Instant::now() + Duration::from_secs(5);
    let mut written = false;
    let mut buf = [0u8; 4];
    let mut got = 0;
    while got < 4 && Instant::now() < end {
        if !written {
            written = c.write_all(b"BGP!").is_ok();
        }
        match s.read(&mut buf[got..]) {
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(e) => panic!("read: {e}"),
        }
    }
    assert_eq!(&buf, b"BGP!");
}

#[test]
fn connect_finished_reports_refusal_and_success() {
    // A port nobody listens on: bind a listener, note its port, drop it.
    let port = listen("127.0.0.1:0".parse().unwrap())
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = connect(
        SocketAddr::new(IpAddr::from([127, 0, 0, 1]), port),
        None,
        None,
        None,
    )
    .unwrap();
    let end = Instant::now() + Duration::from_secs(5);
    let mut refused = None;
    while refused.is_none() && Instant::now() < end {
        match connect_finished(&c) {
            Ok(false) => std::thread::sleep(Duration::from_millis(10)),
            Ok(true) => panic!("connected to a closed port"),
            Err(e) => refused = Some(e),
        }
    }
    assert_eq!(
        refused.map(|e| e.kind()),
        Some(io::ErrorKind::ConnectionRefused)
    );

    let mut l = listen("127.0.0.1:0".parse().unwrap()).unwrap();
    let c = connect(l.local_addr().unwrap(), None, None, None).unwrap();
    let _s = accept_within(&mut l, Duration::from_secs(5)).expect("accepted");
    let up = (0..500).any(|_| {
        let done = connect_finished(&c).unwrap();
        if !done {
            std::thread::sleep(Duration::from_millis(10));
        }
        done
    });
    assert!(up);
}

#[test]
fn dual_stack_listener_is_not_v6_only() {
    // Loopback may lack IPv6 in some sandboxes: skip loudly then.
    let l = match listen("[::]:0".parse().unwrap()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("SKIPPED dual_stack_listener_is_not_v6_only: no IPv6 ({e})");
            return;
        }
    };
    assert!(!v6_only(&l).unwrap());
    set_md5(&l, "127.0.0.1".parse().unwrap(), Some(b"k")).unwrap();
    set_md5(&l, "fd00::1".parse().unwrap(), Some(b"k")).unwrap();
}

/// Whether `s` receives anything within `wait` (non-blocking reads, bounded).
fn receives(s: &mut TcpStream, wait: Duration) -> bool {
    let end = Instant::now() + wait;
    let mut buf = [0u8; 16];
    while Instant::now() < end {
        match s.read(&mut buf) {
            Ok(n) if n > 0 => return true,
            Ok(_) => return false,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(_) => return false,
        }
    }
    false
}

#[test]
fn gtsm_drops_packets_below_the_minimum_ttl() {
    // Loopback does not decrement the TTL: what the sender sets is what arrives. (A
    // listener per case: `accept_within` registers it with a poll of its own.)
    for (sender_ttl, want) in [(64u8, false), (255u8, true)] {
        let mut l = listen("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = l.local_addr().unwrap();
        let mut c = connect(addr, None, Some(sender_ttl), None).unwrap();
        let mut s = accept_within(&mut l, Duration::from_secs(5))
            .unwrap_or_else(|| panic!("accepted (sender TTL {sender_ttl})"));
        prepare_accepted(&s, Some(255), Some(255)).unwrap();
        assert_eq!(min_ttl(&s).unwrap(), 255);
        assert_eq!(ttl(&s).unwrap(), 255);
        let end = Instant::now() + Duration::from_secs(5);
        while !connect_finished(&c).unwrap() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(5));
        }
        c.write_all(b"BGP!").unwrap();
        assert_eq!(
            receives(&mut s, Duration::from_millis(700)),
            want,
            "sender TTL {sender_ttl}"
        );
    }
    // The connecting side: with a minimum TTL set before the SYN, a SYN-ACK sent with
    // a lower TTL is dropped and the connection never completes.
    let low = listen("127.0.0.1:0".parse().unwrap()).unwrap();
    set_ttl(&low, 64).unwrap();
    let c = connect_gtsm(low.local_addr().unwrap(), None, Some(255), Some(255), None).unwrap();
    assert_eq!(min_ttl(&c).unwrap(), 255);
    std::thread::sleep(Duration::from_millis(700));
    assert!(!connect_finished(&c).unwrap_or(false));
    let high = listen("127.0.0.1:0".parse().unwrap()).unwrap();
    set_ttl(&high, 255).unwrap();
    let c = connect_gtsm(high.local_addr().unwrap(), None, Some(255), Some(255), None).unwrap();
    let end = Instant::now() + Duration::from_secs(5);
    let mut up = false;
    while !up && Instant::now() < end {
        up = connect_finished(&c).unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(up, "GTSM on both ends connects");
}

#[test]
fn a_listener_keeps_each_syns_ttl_once() {
    // A listener per case (see `accept_within`).
    for sender_ttl in [64u8, 255] {
        let mut l = listen("127.0.0.1:0".parse().unwrap()).unwrap();
        set_save_syn(&l).unwrap();
        let _c = connect(l.local_addr().unwrap(), None, Some(sender_ttl), None).unwrap();
        let s = accept_within(&mut l, Duration::from_secs(5)).expect("accepted");
        assert_eq!(syn_ttl(&s).unwrap(), Some(sender_ttl));
        // Read once: the kernel frees the saved headers.
        assert_eq!(syn_ttl(&s).unwrap(), None);
    }
    // Without TCP_SAVE_SYN nothing is known.
    let mut l = listen("127.0.0.1:0".parse().unwrap()).unwrap();
    let _c = connect(l.local_addr().unwrap(), None, Some(255), None).unwrap();
    let s = accept_within(&mut l, Duration::from_secs(5)).expect("accepted");
    assert_eq!(syn_ttl(&s).unwrap(), None);
}
