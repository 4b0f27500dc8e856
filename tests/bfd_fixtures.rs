//! BFD control packets captured from BIRD 2.0.12 and FRR 8.4.4 (tests/fixtures/bfd/
//! captures.txt): each decodes to the fields the daemons meant, our encoder reproduces
//! each byte for byte, and replaying each daemon's sequence through a session gives
//! the RFC 5880 transitions (including FRR's AdminDown, which is not a failure).

use std::time::{Duration, Instant};

use kube_bgp::bfd::packet::ControlPacket;
use kube_bgp::bfd::session::{BfdInput, BfdOutput, BfdSession, ChangeCause};
use kube_bgp::bfd::{BfdState, BfdTimers, Diag};

const CAPTURES: &str = include_str!("fixtures/bfd/captures.txt");

const BIRD_V4: u32 = 0xbc90_32a1;
const FRR_V4: u32 = 0x99e1_3940;
const BIRD_V6: u32 = 0x0a0a_e0f5;
const FRR_V6: u32 = 0x6b35_25fb;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or_else(|e| panic!("{s}: {e}")))
        .collect()
}

fn fixture(name: &str) -> Vec<u8> {
    CAPTURES
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some(name)).then(|| hex(w.next().unwrap_or("")))
        })
        .unwrap_or_else(|| panic!("no fixture {name}"))
}

fn decode(name: &str) -> ControlPacket {
    let b = fixture(name);
    ControlPacket::decode(&b).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// (name, state, diag, P, F, mult, my, your, tx µs, rx µs, echo µs)
type Expect = (
    &'static str,
    BfdState,
    u8,
    bool,
    bool,
    u8,
    u32,
    u32,
    u32,
    u32,
    u32,
);

#[rustfmt::skip]
const EXPECTED: &[Expect] = &[
    ("bird_v4_down", BfdState::Down, 0, false, false, 3, BIRD_V4, 0, 1_000_000, 100_000, 0),
    ("bird_v6_down", BfdState::Down, 0, false, false, 3, BIRD_V6, 0, 1_000_000, 100_000, 0),
    // FRR also slows its Required Min RX to 1 s while not Up, and offers echo at 50 ms.
    ("frr_v4_init", BfdState::Init, 0, false, false, 3, FRR_V4, BIRD_V4, 1_000_000, 1_000_000, 50_000),
    ("frr_v6_init", BfdState::Init, 0, false, false, 5, FRR_V6, BIRD_V6, 1_000_000, 1_000_000, 50_000),
    ("bird_v4_up_poll", BfdState::Up, 0, true, false, 3, BIRD_V4, FRR_V4, 100_000, 100_000, 0),
    ("frr_v4_up_poll", BfdState::Up, 0, true, false, 3, FRR_V4, BIRD_V4, 200_000, 200_000, 50_000),
    ("bird_v4_up_final", BfdState::Up, 0, false, true, 3, BIRD_V4, FRR_V4, 100_000, 100_000, 0),
    ("frr_v4_up_final", BfdState::Up, 0, false, true, 3, FRR_V4, BIRD_V4, 200_000, 200_000, 50_000),
    ("frr_v6_up_poll", BfdState::Up, 0, true, false, 5, FRR_V6, BIRD_V6, 300_000, 300_000, 50_000),
    ("bird_v6_up_final", BfdState::Up, 0, false, true, 3, BIRD_V6, FRR_V6, 100_000, 100_000, 0),
    ("bird_v4_up", BfdState::Up, 0, false, false, 3, BIRD_V4, FRR_V4, 100_000, 100_000, 0),
    ("frr_v4_up", BfdState::Up, 0, false, false, 3, FRR_V4, BIRD_V4, 200_000, 200_000, 50_000),
    ("frr_v6_up", BfdState::Up, 0, false, false, 5, FRR_V6, BIRD_V6, 300_000, 300_000, 50_000),
    // FRR's shutdown: AdminDown with diagnostic 0.
    ("frr_v4_admin_down", BfdState::AdminDown, 0, false, false, 3, FRR_V4, BIRD_V4, 200_000, 200_000, 50_000),
    // BIRD goes Down with diag 3 and polls (its Desired Min TX went back to 1 s).
    ("bird_v4_down_neighbor_poll", BfdState::Down, 3, true, false, 3, BIRD_V4, FRR_V4, 1_000_000, 100_000, 0),
    // FRR answers that poll from AdminDown.
    ("frr_v4_admin_down_final", BfdState::AdminDown, 0, false, true, 3, FRR_V4, BIRD_V4, 200_000, 200_000, 50_000),
    // After a detection time of silence BIRD forgets FRR's discriminator.
    ("bird_v4_down_neighbor_forgotten", BfdState::Down, 3, false, false, 3, BIRD_V4, 0, 1_000_000, 100_000, 0),
    ("frr_v4_down", BfdState::Down, 0, false, false, 3, FRR_V4, BIRD_V4, 200_000, 200_000, 50_000),
    ("bird_v4_init", BfdState::Init, 0, false, false, 3, BIRD_V4, FRR_V4, 1_000_000, 100_000, 0),
];

#[test]
fn every_capture_decodes_to_what_the_daemon_sent() {
    let names: Vec<&str> = CAPTURES
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        names.len(),
        EXPECTED.len(),
        "every fixture has expectations"
    );
    for &(name, state, diag, poll, fin, mult, my, your, tx, rx, echo) in EXPECTED {
        let p = decode(name);
        assert_eq!(p.state, state, "{name}");
        assert_eq!(p.diag, Diag::from_bits(diag), "{name}");
        assert_eq!((p.poll, p.final_bit), (poll, fin), "{name}");
        assert!(
            !p.control_plane_independent,
            "{name}: neither daemon claims C"
        );
        assert!(!p.demand && p.auth.is_none(), "{name}");
        assert_eq!(p.detect_mult, mult, "{name}");
        assert_eq!((p.my_discr, p.your_discr), (my, your), "{name}");
        assert_eq!(
            (
                p.desired_min_tx_us,
                p.required_min_rx_us,
                p.required_min_echo_rx_us
            ),
            (tx, rx, echo),
            "{name}"
        );
    }
}

#[test]
fn our_encoder_reproduces_every_capture() {
    for &(name, ..) in EXPECTED {
        let b = fixture(name);
        assert_eq!(b.len(), 24, "{name}");
        assert_eq!(decode(name).encode().to_vec(), b, "{name}");
    }
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn sent(out: &[BfdOutput]) -> Vec<ControlPacket> {
    out.iter()
        .filter_map(|o| match o {
            BfdOutput::Send(p) => Some(*p),
            _ => None,
        })
        .collect()
}

fn changes(out: &[BfdOutput]) -> Vec<(BfdState, BfdState, Diag, ChangeCause)> {
    out.iter()
        .filter_map(|o| match o {
            BfdOutput::StateChanged(c) => Some((c.from, c.to, c.diag, c.cause)),
            _ => None,
        })
        .collect()
}

/// BIRD's IPv4 packets, in order, to a session standing in for FRR (its discriminator).
#[test]
fn bird_sequence_through_a_session() {
    let t0 = Instant::now();
    let timers = BfdTimers {
        desired_min_tx: ms(200),
        required_min_rx: ms(200),
        detect_mult: 3,
    };
    let mut s = BfdSession::new(FRR_V4, timers, t0, 1).unwrap();
    let feed = |s: &mut BfdSession, name: &str, at: Duration| {
        s.handle(BfdInput::Packet(&decode(name)), t0 + at)
    };
    let out = feed(&mut s, "bird_v4_down", ms(10));
    assert_eq!(changes(&out)[0].1, BfdState::Init);
    assert_eq!(s.remote_discr(), BIRD_V4);
    let out = feed(&mut s, "bird_v4_up_poll", ms(20));
    assert_eq!(changes(&out)[0].1, BfdState::Up);
    let fin: Vec<_> = sent(&out).into_iter().filter(|p| p.final_bit).collect();
    assert_eq!(fin.len(), 1, "BIRD's poll is answered with one Final");
    assert_eq!(fin[0].your_discr, BIRD_V4);
    // BIRD's timers now: tx = max(200, 100), detection = 3 x max(200, 100).
    assert_eq!(s.tx_interval(), Some(ms(200)));
    assert_eq!(s.detection_time(), Some(ms(600)));
    assert!(changes(&feed(&mut s, "bird_v4_up_final", ms(30))).is_empty());
    assert!(!s.polling(), "BIRD's Final ended our poll");
    assert!(changes(&feed(&mut s, "bird_v4_up", ms(130))).is_empty());
    // BIRD says Down (diag 3) with a poll: that is the neighbour signalling Down.
    let out = feed(&mut s, "bird_v4_down_neighbor_poll", ms(230));
    let c = changes(&out)[0];
    assert_eq!(
        (c.0, c.1, c.2),
        (BfdState::Up, BfdState::Down, Diag::NEIGHBOR_DOWN)
    );
    assert!(matches!(c.3, ChangeCause::PeerDown { peer_diag } if peer_diag == Diag::NEIGHBOR_DOWN));
    assert!(sent(&out).iter().any(|p| p.final_bit && !p.poll));
    // Down again from Down: Init; then BIRD's Init takes us Up.
    assert_eq!(
        changes(&feed(&mut s, "bird_v4_down_neighbor_forgotten", ms(900)))[0].1,
        BfdState::Init
    );
    assert_eq!(
        changes(&feed(&mut s, "bird_v4_init", ms(1000)))[0].1,
        BfdState::Up
    );
}

/// FRR's IPv4 packets, in order, to a session standing in for BIRD.
#[test]
fn frr_sequence_through_a_session() {
    let t0 = Instant::now();
    let timers = BfdTimers {
        desired_min_tx: ms(100),
        required_min_rx: ms(100),
        detect_mult: 3,
    };
    let mut s = BfdSession::new(BIRD_V4, timers, t0, 1).unwrap();
    let feed = |s: &mut BfdSession, name: &str, at: Duration| {
        s.handle(BfdInput::Packet(&decode(name)), t0 + at)
    };
    // FRR in Init takes a Down session straight to Up.
    let out = feed(&mut s, "frr_v4_init", ms(10));
    assert_eq!(changes(&out)[0].0, BfdState::Down);
    assert_eq!(changes(&out)[0].1, BfdState::Up);
    // While FRR is not Up it asks for 1 s both ways.
    assert_eq!(s.tx_interval(), Some(ms(1000)));
    assert_eq!(s.detection_time(), Some(ms(3000)));
    let out = feed(&mut s, "frr_v4_up_poll", ms(20));
    assert!(sent(&out).iter().any(|p| p.final_bit));
    assert_eq!(s.tx_interval(), Some(ms(200)));
    assert_eq!(s.detection_time(), Some(ms(600)));
    feed(&mut s, "frr_v4_up_final", ms(30));
    assert!(!s.polling());
    feed(&mut s, "frr_v4_up", ms(200));
    // FRR's shutdown: Down with diag 3, caused by the peer's AdminDown, no failure.
    let out = feed(&mut s, "frr_v4_admin_down", ms(400));
    let c = changes(&out)[0];
    assert_eq!(
        (c.0, c.1, c.2),
        (BfdState::Up, BfdState::Down, Diag::NEIGHBOR_DOWN)
    );
    assert_eq!(
        c.3,
        ChangeCause::PeerAdminDown {
            peer_diag: Diag::NONE
        }
    );
    assert_eq!(s.counters().failures, 0);
    assert_eq!(s.remote_state(), BfdState::AdminDown);
    assert!(changes(&feed(&mut s, "frr_v4_admin_down_final", ms(410))).is_empty());
    // Re-enabled FRR says Down: we go Init.
    assert_eq!(
        changes(&feed(&mut s, "frr_v4_down", ms(1500)))[0].1,
        BfdState::Init
    );
}
