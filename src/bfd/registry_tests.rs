//! The registry: discriminator allocation, demultiplexing and the session-level
//! reception checks (TTL, discriminator, addresses, authentication).

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::packet::{ControlPacket, PacketError};
use super::registry::{BfdRegistry, RegistryError, RxDrop, RxMeta, SessionKey};
use super::session::{BfdInput, BfdOutput};
use super::{BfdState, BfdTimers, Diag, HopMode};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn key(peer: &str, local: &str, hop: HopMode) -> SessionKey {
    SessionKey::new(ip(peer), ip(local), hop)
}

fn fast() -> BfdTimers {
    BfdTimers {
        desired_min_tx: Duration::from_millis(100),
        required_min_rx: Duration::from_millis(100),
        detect_mult: 3,
    }
}

fn meta(src: &str, dst: &str, ttl: Option<u8>, hop: HopMode) -> RxMeta {
    RxMeta {
        src: ip(src),
        dst: ip(dst),
        ttl,
        hop,
    }
}

/// A Down packet from a peer that does not know us yet.
fn hello(my: u32, your: u32) -> Vec<u8> {
    ControlPacket {
        diag: Diag::NONE,
        state: BfdState::Down,
        poll: false,
        final_bit: false,
        control_plane_independent: false,
        demand: false,
        detect_mult: 3,
        my_discr: my,
        your_discr: your,
        desired_min_tx_us: 1_000_000,
        required_min_rx_us: 100_000,
        required_min_echo_rx_us: 0,
        auth: None,
    }
    .encode()
    .to_vec()
}

#[test]
fn discriminators_are_unique_and_non_zero() {
    let now = Instant::now();
    let mut r = BfdRegistry::new(7);
    let mut seen = HashSet::new();
    for i in 0..2000u32 {
        let peer = IpAddr::from([10, (i >> 16) as u8, (i >> 8) as u8, i as u8]);
        let d = r
            .add(
                SessionKey::new(peer, ip("10.255.0.1"), HopMode::SingleHop),
                fast(),
                now,
            )
            .unwrap();
        assert_ne!(d, 0);
        assert!(seen.insert(d), "discriminator {d} handed out twice");
    }
    assert_eq!(r.len(), 2000);
    // Different seeds, different discriminators (they are not a counter from 1).
    let mut other = BfdRegistry::new(8);
    let d = other
        .add(key("10.0.0.1", "10.0.0.2", HopMode::SingleHop), fast(), now)
        .unwrap();
    let mut first = BfdRegistry::new(7);
    let d7 = first
        .add(key("10.0.0.1", "10.0.0.2", HopMode::SingleHop), fast(), now)
        .unwrap();
    assert_ne!(d, d7);
}

#[test]
fn one_session_per_key_and_keys_are_canonical() {
    let now = Instant::now();
    let mut r = BfdRegistry::new(1);
    let k = key("10.0.0.1", "10.0.0.2", HopMode::SingleHop);
    r.add(k, fast(), now).unwrap();
    assert_eq!(r.add(k, fast(), now), Err(RegistryError::Duplicate(k)));
    // The same peer written as v4-mapped IPv6 is the same session.
    let mapped = key("::ffff:10.0.0.1", "::ffff:10.0.0.2", HopMode::SingleHop);
    assert_eq!(mapped, k);
    assert!(r.add(mapped, fast(), now).is_err());
    // Multihop to the same peer is another session.
    r.add(key("10.0.0.1", "10.0.0.2", HopMode::MultiHop), fast(), now)
        .unwrap();
    // Bad timers are refused with the key in the error.
    let bad = BfdTimers {
        detect_mult: 0,
        ..fast()
    };
    let e = r
        .add(key("10.0.0.9", "10.0.0.2", HopMode::SingleHop), bad, now)
        .unwrap_err();
    assert!(e.to_string().contains("10.0.0.9"), "{e}");
    assert_eq!(r.len(), 2);
    assert!(r.remove(&k).is_some());
    assert!(r.remove(&k).is_none());
    assert!(r.session(&k).is_none());
    assert_eq!(
        r.handle(&k, BfdInput::Timers, now),
        Err(RegistryError::NoSuchSession(k))
    );
}

#[test]
fn single_hop_needs_ttl_255_multihop_does_not() {
    let now = Instant::now();
    let mut r = BfdRegistry::new(1);
    r.add(key("10.0.0.1", "10.0.0.2", HopMode::SingleHop), fast(), now)
        .unwrap();
    r.add(key("10.9.0.1", "10.0.0.2", HopMode::MultiHop), fast(), now)
        .unwrap();
    for ttl in [None, Some(0), Some(1), Some(64), Some(254)] {
        assert_eq!(
            r.receive(
                &meta("10.0.0.1", "10.0.0.2", ttl, HopMode::SingleHop),
                &hello(5, 0),
                now
            )
            .unwrap_err(),
            RxDrop::BadTtl { ttl }
        );
    }
    let (k, out) = r
        .receive(
            &meta("10.0.0.1", "10.0.0.2", Some(255), HopMode::SingleHop),
            &hello(5, 0),
            now,
        )
        .unwrap();
    assert_eq!(k, key("10.0.0.1", "10.0.0.2", HopMode::SingleHop));
    assert!(
        out.iter()
            .any(|o| matches!(o, BfdOutput::StateChanged(c) if c.to == BfdState::Init))
    );
    // Multihop: any TTL.
    let (k, _) = r
        .receive(
            &meta("10.9.0.1", "10.0.0.2", Some(250), HopMode::MultiHop),
            &hello(6, 0),
            now,
        )
        .unwrap();
    assert_eq!(k.hop, HopMode::MultiHop);
}

#[test]
fn demultiplexing_by_discriminator_then_by_addresses() {
    let now = Instant::now();
    let mut r = BfdRegistry::new(3);
    let k1 = key("10.0.0.1", "10.0.0.100", HopMode::SingleHop);
    let k2 = key("10.0.0.2", "10.0.0.100", HopMode::SingleHop);
    let k3 = key("2001:db8::1", "2001:db8::100", HopMode::SingleHop);
    let d1 = r.add(k1, fast(), now).unwrap();
    let d2 = r.add(k2, fast(), now).unwrap();
    let d3 = r.add(k3, fast(), now).unwrap();
    let m = |src, dst| meta(src, dst, Some(255), HopMode::SingleHop);
    // Your Discriminator 0: by (peer, local, hop).
    assert_eq!(
        r.receive(&m("10.0.0.2", "10.0.0.100"), &hello(20, 0), now)
            .unwrap()
            .0,
        k2
    );
    assert_eq!(
        r.receive(&m("2001:db8::1", "2001:db8::100"), &hello(30, 0), now)
            .unwrap()
            .0,
        k3
    );
    // ...and v4-mapped source addresses are matched as IPv4.
    assert_eq!(
        r.receive(
            &m("::ffff:10.0.0.1", "::ffff:10.0.0.100"),
            &hello(10, 0),
            now
        )
        .unwrap()
        .0,
        k1
    );
    // Unknown addresses: no session.
    assert_eq!(
        r.receive(&m("10.0.0.3", "10.0.0.100"), &hello(40, 0), now)
            .unwrap_err(),
        RxDrop::NoSession {
            src: ip("10.0.0.3"),
            dst: ip("10.0.0.100"),
            hop: HopMode::SingleHop
        }
    );
    // Known peer, other local address: no session either.
    assert!(matches!(
        r.receive(&m("10.0.0.1", "10.0.0.200"), &hello(10, 0), now),
        Err(RxDrop::NoSession { .. })
    ));
    // Known peer over the multihop port: not the single-hop session.
    assert!(matches!(
        r.receive(
            &meta("10.0.0.1", "10.0.0.100", Some(255), HopMode::MultiHop),
            &hello(10, 0),
            now
        ),
        Err(RxDrop::NoSession { .. })
    ));
    // Your Discriminator set: by discriminator.
    assert_eq!(
        r.receive(&m("10.0.0.1", "10.0.0.100"), &hello(10, d1), now)
            .unwrap()
            .0,
        k1
    );
    let unknown = d1 ^ d2 ^ d3 ^ 0x5555;
    assert_eq!(
        r.receive(&m("10.0.0.1", "10.0.0.100"), &hello(10, unknown), now)
            .unwrap_err(),
        RxDrop::UnknownDiscriminator(unknown)
    );
    // A discriminator of another peer's session: refused.
    assert_eq!(
        r.receive(&m("10.0.0.1", "10.0.0.100"), &hello(10, d2), now)
            .unwrap_err(),
        RxDrop::WrongPeer {
            discr: d2,
            src: ip("10.0.0.1")
        }
    );
    // The right discriminator over the wrong hop mode: refused.
    assert!(matches!(
        r.receive(
            &meta("10.0.0.1", "10.0.0.100", Some(255), HopMode::MultiHop),
            &hello(10, d1),
            now
        ),
        Err(RxDrop::WrongPeer { .. })
    ));
    // Each session saw only its own peer.
    assert_eq!(r.session(&k1).unwrap().remote_discr(), 10);
    assert_eq!(r.session(&k2).unwrap().remote_discr(), 20);
    assert_eq!(r.session(&k3).unwrap().remote_discr(), 30);
}

#[test]
fn malformed_and_authenticated_packets_are_dropped_and_change_nothing() {
    let now = Instant::now();
    let mut r = BfdRegistry::new(3);
    let k = key("10.0.0.1", "10.0.0.2", HopMode::SingleHop);
    r.add(k, fast(), now).unwrap();
    let m = meta("10.0.0.1", "10.0.0.2", Some(255), HopMode::SingleHop);
    assert_eq!(
        r.receive(&m, &[0x20, 0x40, 3], now).unwrap_err(),
        RxDrop::Malformed(PacketError::Truncated { got: 3 })
    );
    let mut auth = hello(10, 0);
    auth[1] |= 0x04;
    auth.extend_from_slice(&[2, 24, 1, 0, 0, 0, 0, 1]);
    auth.extend_from_slice(&[0; 16]);
    auth[3] = auth.len() as u8;
    let e = r.receive(&m, &auth, now).unwrap_err();
    assert_eq!(e, RxDrop::AuthNotSupported { auth_type: 2 });
    assert!(e.to_string().contains("authentication"), "{e}");
    assert_eq!(e.kind(), "auth_not_supported");
    let s = r.session(&k).unwrap();
    assert_eq!(s.remote_discr(), 0, "no dropped packet reached the session");
    assert_eq!(s.counters().packets_received, 0);
}

/// Two registries on a virtual wire: the full handshake through `receive` and
/// `timers`, then a cut detected on time.
#[test]
fn two_registries_come_up_and_detect_a_cut() {
    let t0 = Instant::now();
    let mut a = BfdRegistry::new(11);
    let mut b = BfdRegistry::new(12);
    let ka = key("10.0.0.2", "10.0.0.1", HopMode::SingleHop);
    let kb = key("10.0.0.1", "10.0.0.2", HopMode::SingleHop);
    a.add(ka, fast(), t0).unwrap();
    b.add(kb, fast(), t0).unwrap();
    let mut now = t0;
    let mut cut = false;
    let mut a_events = Vec::new();
    // Delivers one side's outputs to the other, collecting A's state changes.
    fn pump(
        from_a: bool,
        outs: Vec<BfdOutput>,
        a: &mut BfdRegistry,
        b: &mut BfdRegistry,
        now: Instant,
        cut: bool,
        a_events: &mut Vec<(Instant, super::StateChange)>,
    ) {
        let mut queue: Vec<(bool, BfdOutput)> = outs.into_iter().map(|o| (from_a, o)).collect();
        while let Some((fa, o)) = queue.pop() {
            match o {
                BfdOutput::StateChanged(c) => {
                    if fa {
                        a_events.push((now, c));
                    }
                }
                BfdOutput::Send(p) => {
                    if cut && !fa {
                        continue;
                    }
                    let (dst, m) = if fa {
                        (
                            &mut *b,
                            meta("10.0.0.1", "10.0.0.2", Some(255), HopMode::SingleHop),
                        )
                    } else {
                        (
                            &mut *a,
                            meta("10.0.0.2", "10.0.0.1", Some(255), HopMode::SingleHop),
                        )
                    };
                    let (_, outs) = dst.receive(&m, &p.encode(), now).expect("accepted");
                    queue.extend(outs.into_iter().map(|o| (!fa, o)));
                }
            }
        }
    }
    let mut cut_at = None;
    while now < t0 + Duration::from_secs(20) {
        let next = [a.next_deadline(), b.next_deadline()]
            .into_iter()
            .flatten()
            .min()
            .unwrap();
        now = next;
        if !cut && now >= t0 + Duration::from_secs(10) {
            cut = true;
            cut_at = Some(now);
        }
        let outs: Vec<BfdOutput> = a.timers(now).into_iter().map(|(_, o)| o).collect();
        pump(true, outs, &mut a, &mut b, now, cut, &mut a_events);
        let outs: Vec<BfdOutput> = b.timers(now).into_iter().map(|(_, o)| o).collect();
        pump(false, outs, &mut a, &mut b, now, cut, &mut a_events);
    }
    let up = a_events.iter().find(|(_, c)| c.to == BfdState::Up).unwrap();
    assert!(up.0 - t0 < Duration::from_secs(2), "{:?}", up.0 - t0);
    let down: Vec<_> = a_events
        .iter()
        .filter(|(_, c)| c.from == BfdState::Up)
        .collect();
    assert_eq!(down.len(), 1, "{a_events:?}");
    assert!(down[0].1.is_failure());
    let detect = down[0].0 - cut_at.unwrap();
    assert!(
        detect <= Duration::from_millis(300),
        "detected {detect:?} after the cut"
    );
    assert_eq!(a.session(&ka).unwrap().state(), BfdState::Down);
}
