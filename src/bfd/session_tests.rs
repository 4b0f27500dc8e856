//! The session state machine on virtual time: two sessions wired back to back (or one
//! session and hand-made packets), every transition, timer negotiation, poll/final,
//! detection and jitter bounds.

use std::time::{Duration, Instant};

use super::packet::ControlPacket;
use super::session::{BfdInput, BfdOutput, BfdSession, ChangeCause, SessionError, StateChange};
use super::{BfdState, BfdTimers, Diag};

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn timers(tx: u64, rx: u64, mult: u8) -> BfdTimers {
    BfdTimers {
        desired_min_tx: ms(tx),
        required_min_rx: ms(rx),
        detect_mult: mult,
    }
}

fn sent(out: &[BfdOutput]) -> Vec<ControlPacket> {
    out.iter()
        .filter_map(|o| match o {
            BfdOutput::Send(p) => Some(*p),
            _ => None,
        })
        .collect()
}

fn changes(out: &[BfdOutput]) -> Vec<StateChange> {
    out.iter()
        .filter_map(|o| match o {
            BfdOutput::StateChanged(c) => Some(*c),
            _ => None,
        })
        .collect()
}

/// A packet from a peer with discriminator 77 and the given fields.
fn peer_pkt(state: BfdState, your: u32, tx_ms: u64, rx_ms: u64, mult: u8) -> ControlPacket {
    ControlPacket {
        diag: Diag::NONE,
        state,
        poll: false,
        final_bit: false,
        control_plane_independent: false,
        demand: false,
        detect_mult: mult,
        my_discr: 77,
        your_discr: your,
        desired_min_tx_us: (tx_ms * 1000) as u32,
        required_min_rx_us: (rx_ms * 1000) as u32,
        required_min_echo_rx_us: 0,
        auth: None,
    }
}

/// Which way a packet travels on the virtual link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dir {
    AtoB,
    BtoA,
}

/// Two sessions connected by a lossless, zero-delay link (which a test may cut in
/// either direction), on a virtual clock.
struct BfdPair {
    a: BfdSession,
    b: BfdSession,
    now: Instant,
    start: Instant,
    cut_a_to_b: bool,
    cut_b_to_a: bool,
    /// (time since start, which side, change)
    events: Vec<(Duration, char, StateChange)>,
    /// (time since start, direction, packet) of every packet sent.
    packets: Vec<(Duration, Dir, ControlPacket)>,
}

impl BfdPair {
    fn new(ta: BfdTimers, tb: BfdTimers) -> BfdPair {
        let now = Instant::now();
        let a = BfdSession::new(0x0A, ta, now, 1).unwrap();
        let b = BfdSession::new(0x0B, tb, now, 2).unwrap();
        BfdPair {
            a,
            b,
            now,
            start: now,
            cut_a_to_b: false,
            cut_b_to_a: false,
            events: Vec::new(),
            packets: Vec::new(),
        }
    }

    fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Delivers `out` (produced by side `from`) and everything it causes, recursively.
    fn deliver(&mut self, from: char, out: Vec<BfdOutput>) {
        let mut queue: Vec<(char, BfdOutput)> = out.into_iter().map(|o| (from, o)).collect();
        while !queue.is_empty() {
            let (side, o) = queue.remove(0);
            match o {
                BfdOutput::StateChanged(c) => self.events.push((self.elapsed(), side, c)),
                BfdOutput::Send(p) => {
                    let dir = if side == 'a' { Dir::AtoB } else { Dir::BtoA };
                    self.packets.push((self.elapsed(), dir, p));
                    let (cut, dst, dst_name) = if side == 'a' {
                        (self.cut_a_to_b, &mut self.b, 'b')
                    } else {
                        (self.cut_b_to_a, &mut self.a, 'a')
                    };
                    if cut {
                        continue;
                    }
                    // The packet goes through the codec, as on the wire.
                    let wire = ControlPacket::decode(&p.encode()).expect("own packet decodes");
                    for o in dst.handle(BfdInput::Packet(&wire), self.now) {
                        queue.push((dst_name, o));
                    }
                }
            }
        }
    }

    /// Advances to the next deadline (not past `limit`) and runs both sessions' timers.
    fn step(&mut self, limit: Instant) -> bool {
        let next = [self.a.next_deadline(), self.b.next_deadline()]
            .into_iter()
            .flatten()
            .min();
        let Some(next) = next else { return false };
        if next > limit {
            self.now = limit;
            return false;
        }
        self.now = self.now.max(next);
        let now = self.now;
        let oa = self.a.handle(BfdInput::Timers, now);
        self.deliver('a', oa);
        let ob = self.b.handle(BfdInput::Timers, now);
        self.deliver('b', ob);
        true
    }

    fn run_for(&mut self, d: Duration) {
        let limit = self.now + d;
        let mut guard = 0;
        while self.step(limit) {
            guard += 1;
            assert!(guard < 1_000_000, "runaway simulation");
        }
        self.now = limit;
    }

    /// A link whose sessions are both Up (within 10 s of simulated time).
    fn up(a: BfdTimers, b: BfdTimers) -> BfdPair {
        let mut l = BfdPair::new(a, b);
        l.run_until_up(Duration::from_secs(10));
        l
    }

    /// Runs until both sides are Up (at most `max`); returns the time it took.
    fn run_until_up(&mut self, max: Duration) -> Duration {
        let limit = self.now + max;
        while !(self.a.state() == BfdState::Up && self.b.state() == BfdState::Up) {
            assert!(self.step(limit), "not Up within {max:?}: {:?}", self.events);
        }
        self.elapsed()
    }

    fn input(&mut self, side: char, input: BfdInput<'_>) {
        let now = self.now;
        let out = if side == 'a' {
            self.a.handle(input, now)
        } else {
            self.b.handle(input, now)
        };
        self.deliver(side, out);
    }

    /// Times between consecutive periodic packets in `dir` sent in [from, to), Finals
    /// excluded.
    fn gaps(&self, dir: Dir, from: Duration, to: Duration) -> Vec<Duration> {
        let times: Vec<Duration> = self
            .packets
            .iter()
            .filter(|(t, d, p)| *d == dir && *t >= from && *t < to && !p.final_bit)
            .map(|(t, _, _)| *t)
            .collect();
        times.windows(2).map(|w| w[1] - w[0]).collect()
    }
}

#[test]
fn new_session_starts_down_and_sends_at_once() {
    let now = Instant::now();
    let mut s = BfdSession::new(5, timers(100, 200, 3), now, 9).unwrap();
    assert_eq!(s.state(), BfdState::Down);
    assert_eq!(s.remote_discr(), 0);
    assert_eq!(s.next_deadline(), Some(now));
    assert_eq!(s.detection_time(), None);
    let p = sent(&s.handle(BfdInput::Timers, now));
    assert_eq!(p.len(), 1);
    let p = p[0];
    assert_eq!(p.state, BfdState::Down);
    assert_eq!(p.my_discr, 5);
    assert_eq!(p.your_discr, 0);
    assert_eq!(p.detect_mult, 3);
    // Not Up: Desired Min TX is raised to 1 s; Required Min RX is as configured.
    assert_eq!(p.desired_min_tx_us, 1_000_000);
    assert_eq!(p.required_min_rx_us, 200_000);
    assert_eq!(p.required_min_echo_rx_us, 0);
    assert!(!p.poll && !p.final_bit && !p.demand && !p.control_plane_independent);
    assert!(p.auth.is_none());
    // The next one is 750-1000 ms later (RemoteMinRx is 1 µs until the peer speaks).
    let next = s.next_deadline().unwrap() - now;
    assert!(next >= ms(750) && next <= ms(1000), "{next:?}");
}

#[test]
fn invalid_configuration_is_refused() {
    let now = Instant::now();
    assert_eq!(
        BfdSession::new(0, timers(100, 100, 3), now, 1).unwrap_err(),
        SessionError::ZeroDiscriminator
    );
    for bad in [
        timers(100, 100, 0),
        timers(0, 100, 3),
        BfdTimers {
            desired_min_tx: Duration::from_secs(5000),
            ..BfdTimers::DEFAULT
        },
        BfdTimers {
            required_min_rx: Duration::from_secs(5000),
            ..BfdTimers::DEFAULT
        },
    ] {
        assert!(
            matches!(
                BfdSession::new(1, bad, now, 1),
                Err(SessionError::InvalidTimers(_))
            ),
            "{bad:?}"
        );
    }
    let mut s = BfdSession::new(1, BfdTimers::DEFAULT, now, 1).unwrap();
    assert!(s.reconfigure(timers(100, 100, 0), now).is_err());
    assert_eq!(
        *s.config(),
        BfdTimers::DEFAULT,
        "a refused change changes nothing"
    );
}

#[test]
fn three_way_handshake_comes_up_and_speeds_up_with_a_poll() {
    let mut l = BfdPair::new(timers(100, 100, 3), timers(100, 100, 3));
    let took = l.run_until_up(Duration::from_secs(10));
    // Both send at once; each goes Init on the other's Down; Up on the next packet
    // (which the slow start spaces 0.75-1 s apart).
    assert!(took <= Duration::from_secs(2), "{took:?}");
    let a_path: Vec<(BfdState, BfdState)> = l
        .events
        .iter()
        .filter(|e| e.1 == 'a')
        .map(|e| (e.2.from, e.2.to))
        .collect();
    assert!(
        a_path
            == [
                (BfdState::Down, BfdState::Init),
                (BfdState::Init, BfdState::Up)
            ]
            || a_path == [(BfdState::Down, BfdState::Up)],
        "{a_path:?}"
    );
    for e in &l.events {
        assert!(matches!(e.2.cause, ChangeCause::Handshake { .. }), "{e:?}");
        assert_eq!(e.2.diag, Diag::NONE);
        assert!(!e.2.is_failure());
    }
    assert_eq!(l.a.remote_discr(), 0x0B);
    assert_eq!(l.b.remote_discr(), 0x0A);
    // Going Up lowered Desired Min TX from 1 s to 100 ms: a poll, answered with Final.
    l.run_for(ms(50));
    assert!(!l.a.polling() && !l.b.polling());
    assert!(l.packets.iter().any(|(_, d, p)| *d == Dir::AtoB && p.poll));
    assert!(
        l.packets
            .iter()
            .any(|(_, d, p)| *d == Dir::BtoA && p.final_bit)
    );
    assert!(
        !l.packets.iter().any(|(_, _, p)| p.poll && p.final_bit),
        "P and F never together"
    );
    assert_eq!(l.a.advertised(), (ms(100), ms(100)));
    assert_eq!(l.a.tx_interval(), Some(ms(100)));
    assert_eq!(l.a.detection_time(), Some(ms(300)));
    // Now the sessions run at 75-100 ms and stay Up.
    let before = l.events.len();
    let from = l.elapsed();
    l.run_for(Duration::from_secs(5));
    assert_eq!(l.events.len(), before, "{:?}", &l.events[before..]);
    for g in l.gaps(Dir::AtoB, from, l.elapsed()) {
        assert!(g >= ms(75) && g <= ms(100), "{g:?}");
    }
    assert!(l.a.counters().packets_received >= 50);
    assert_eq!(l.a.counters().ups, 1);
}

#[test]
fn timers_are_negotiated_per_direction() {
    // A: tx 100, rx 300, mult 3. B: tx 200, rx 50, mult 5.
    let mut l = BfdPair::up(timers(100, 300, 3), timers(200, 50, 5));
    l.run_for(Duration::from_secs(1));
    // Transmit interval = max(own DesiredMinTx, peer's RequiredMinRx).
    assert_eq!(l.a.tx_interval(), Some(ms(100)));
    assert_eq!(l.b.tx_interval(), Some(ms(300)));
    // Detection time = peer's DetectMult x max(own RequiredMinRx, peer's DesiredMinTx).
    assert_eq!(l.a.detection_time(), Some(ms(5 * 300)));
    assert_eq!(l.b.detection_time(), Some(ms(3 * 100)));
    assert_eq!(l.a.remote_detect_mult(), 5);
    assert_eq!(l.a.remote_min_rx(), ms(50));
    assert_eq!(l.a.remote_min_tx(), ms(200));
    let t = l.elapsed();
    l.run_for(Duration::from_secs(3));
    for g in l.gaps(Dir::BtoA, t, l.elapsed()) {
        assert!(
            g >= ms(225) && g <= ms(300),
            "B sends every 225-300 ms: {g:?}"
        );
    }
}

#[test]
fn not_up_means_one_second_at_most() {
    // A peer that never answers: we keep sending Down packets at the slow rate.
    let mut l = BfdPair::new(timers(10, 10, 3), timers(10, 10, 3));
    l.cut_a_to_b = true;
    l.cut_b_to_a = true;
    l.run_for(Duration::from_secs(60));
    let gaps = l.gaps(Dir::AtoB, Duration::ZERO, l.elapsed());
    assert!(gaps.len() >= 59, "{}", gaps.len());
    for g in &gaps {
        assert!(*g >= ms(750) && *g <= ms(1000), "{g:?}");
    }
    for (_, _, p) in &l.packets {
        assert_eq!(p.state, BfdState::Down);
        assert_eq!(p.desired_min_tx_us, 1_000_000);
        assert_eq!(p.required_min_rx_us, 10_000);
    }
    assert!(l.events.is_empty());
}

#[test]
fn configured_interval_above_one_second_is_kept_while_down() {
    let now = Instant::now();
    let mut s = BfdSession::new(1, timers(2500, 100, 3), now, 1).unwrap();
    let p = sent(&s.handle(BfdInput::Timers, now))[0];
    assert_eq!(p.desired_min_tx_us, 2_500_000);
}

#[test]
fn detection_time_expiry_takes_the_session_down_on_time() {
    let mut l = BfdPair::up(timers(100, 100, 3), timers(100, 100, 3));
    l.run_for(Duration::from_secs(1));
    // Cut B -> A. A must go Down exactly one detection time after B's last packet.
    l.cut_b_to_a = true;
    let cut_at = l.elapsed();
    l.run_for(Duration::from_secs(2));
    let last_b = l
        .packets
        .iter()
        .filter(|(t, d, _)| *d == Dir::BtoA && *t < cut_at)
        .map(|(t, _, _)| *t)
        .max()
        .unwrap();
    let down: Vec<_> = l
        .events
        .iter()
        .filter(|e| e.1 == 'a' && e.2.to == BfdState::Down)
        .collect();
    assert_eq!(down.len(), 1, "{:?}", l.events);
    let (t, _, c) = down[0];
    assert_eq!(*t - last_b, ms(300), "detection = 3 x max(100, 100)");
    assert_eq!(c.from, BfdState::Up);
    assert_eq!(c.diag, Diag::CONTROL_DETECTION_EXPIRED);
    assert_eq!(c.cause, ChangeCause::DetectionTimeExpired);
    assert!(c.is_failure());
    assert_eq!(l.a.counters().failures, 1);
    // RFC 5880 §6.8.1: the remote discriminator is forgotten.
    assert_eq!(l.a.remote_discr(), 0);
    // B then hears A's Down and goes Down too (neighbor signaled), a failure for B.
    let b_down: Vec<_> = l
        .events
        .iter()
        .filter(|e| e.1 == 'b' && e.2.from == BfdState::Up)
        .collect();
    assert_eq!(b_down.len(), 1);
    assert_eq!(b_down[0].2.diag, Diag::NEIGHBOR_DOWN);
    assert!(
        matches!(b_down[0].2.cause, ChangeCause::PeerDown { peer_diag } if peer_diag == Diag::CONTROL_DETECTION_EXPIRED)
    );
    assert!(b_down[0].2.is_failure());
    // A, Down, sends at the slow rate with Diag 1; B stays at Init or Down until healed.
    let p = l
        .packets
        .iter()
        .rev()
        .find(|(_, d, _)| *d == Dir::AtoB)
        .unwrap()
        .2;
    assert_eq!(p.state, BfdState::Down);
    assert_eq!(p.diag, Diag::CONTROL_DETECTION_EXPIRED);
    assert_eq!(p.desired_min_tx_us, 1_000_000);
    // Heal: both come Up again and A's diagnostic is cleared.
    l.cut_b_to_a = false;
    l.run_until_up(Duration::from_secs(10));
    assert_eq!(l.a.local_diag(), Diag::NONE);
    assert_eq!(l.a.counters().ups, 2);
}

#[test]
fn detection_uses_the_peer_multiplier_and_slower_interval() {
    // A: rx 50, B: tx 200 mult 4 -> A detects in 4 x max(50, 200) = 800 ms.
    let mut l = BfdPair::up(timers(100, 50, 3), timers(200, 100, 4));
    l.run_for(Duration::from_secs(1));
    assert_eq!(l.a.detection_time(), Some(ms(800)));
    l.cut_b_to_a = true;
    let cut_at = l.elapsed();
    l.run_for(Duration::from_secs(2));
    let last_b = l
        .packets
        .iter()
        .filter(|(t, d, _)| *d == Dir::BtoA && *t < cut_at)
        .map(|(t, _, _)| *t)
        .max()
        .unwrap();
    let t_down = l
        .events
        .iter()
        .find(|e| e.1 == 'a' && e.2.to == BfdState::Down)
        .unwrap()
        .0;
    assert_eq!(t_down - last_b, ms(800));
}

#[test]
fn jitter_stays_within_bounds_over_many_draws() {
    for (mult, hi) in [(3u8, 1000u64), (1u8, 900u64)] {
        let mut l = BfdPair::up(timers(100, 100, mult), timers(100, 100, 3));
        l.run_for(ms(100));
        let from = l.elapsed();
        l.run_for(Duration::from_secs(600));
        let gaps = l.gaps(Dir::AtoB, from, l.elapsed());
        assert!(gaps.len() > 5000, "{}", gaps.len());
        let min = gaps.iter().min().unwrap();
        let max = gaps.iter().max().unwrap();
        assert!(*min >= ms(75), "mult {mult}: {min:?}");
        // `hi` is in thousandths of the 100 ms interval.
        assert!(*max <= ms(hi / 10), "mult {mult}: {max:?}");
        // The draws spread over the whole range, not one fixed value.
        assert!(*min < ms(77), "mult {mult}: {min:?}");
        assert!(*max > ms(hi / 10 - 2), "mult {mult}: {max:?}");
        let mean = gaps.iter().sum::<Duration>() / gaps.len() as u32;
        let mid = Duration::from_micros((750 + hi) * 50);
        assert!(
            mean > mid - ms(3) && mean < mid + ms(3),
            "mult {mult}: mean {mean:?}"
        );
    }
}

#[test]
fn peer_admin_down_is_not_a_failure() {
    let mut l = BfdPair::up(timers(100, 100, 3), timers(100, 100, 3));
    l.run_for(ms(500));
    l.input('b', BfdInput::AdminDown(Diag::ADMIN_DOWN));
    let c = l
        .events
        .iter()
        .find(|e| e.1 == 'a' && e.2.to == BfdState::Down)
        .unwrap()
        .2;
    assert_eq!(c.from, BfdState::Up);
    assert_eq!(c.diag, Diag::NEIGHBOR_DOWN, "RFC 5880 §6.8.6: diag 3");
    assert_eq!(
        c.cause,
        ChangeCause::PeerAdminDown {
            peer_diag: Diag::ADMIN_DOWN
        }
    );
    assert!(!c.is_failure());
    assert_eq!(l.a.remote_state(), BfdState::AdminDown);
    assert_eq!(l.a.counters().failures, 0);
    // A stays Down (no Init on AdminDown packets) while B is AdminDown.
    l.run_for(Duration::from_secs(5));
    assert_eq!(l.a.state(), BfdState::Down, "{:#?}", l.events);
    assert_eq!(l.b.state(), BfdState::AdminDown);
    // B's side: its own change is LocalAdminDown, not a failure either.
    let cb = l
        .events
        .iter()
        .find(|e| e.1 == 'b' && e.2.to == BfdState::AdminDown)
        .unwrap()
        .2;
    assert_eq!(cb.cause, ChangeCause::LocalAdminDown);
    assert_eq!(cb.diag, Diag::ADMIN_DOWN);
    assert!(!cb.is_failure());
    // Enable: B goes Down, then both come Up again.
    let n = l.events.len();
    l.input('b', BfdInput::Enable);
    let c = l.events[n].2;
    assert_eq!(
        (l.events[n].1, c.from, c.to),
        ('b', BfdState::AdminDown, BfdState::Down)
    );
    assert_eq!(c.cause, ChangeCause::LocalEnable);
    l.run_until_up(Duration::from_secs(10));
}

#[test]
fn admin_down_drains_for_one_detection_time_then_idles() {
    let mut l = BfdPair::up(timers(100, 100, 3), timers(100, 100, 3));
    l.run_for(ms(500));
    let t0 = l.elapsed();
    l.input('a', BfdInput::AdminDown(Diag::ADMIN_DOWN));
    // Sent at once, in AdminDown with diag 7.
    let (t, _, p) = *l
        .packets
        .iter()
        .rev()
        .find(|(_, d, _)| *d == Dir::AtoB)
        .unwrap();
    assert_eq!(t, t0);
    assert_eq!(p.state, BfdState::AdminDown);
    assert_eq!(p.diag, Diag::ADMIN_DOWN);
    assert!(!l.a.is_drained(l.now));
    // Still at 75-100 ms for one detection time of the peer (3 x 100 ms)...
    l.run_for(ms(300));
    assert!(l.a.is_drained(l.now));
    let drain = l.gaps(Dir::AtoB, t0, t0 + ms(300));
    assert!(drain.len() >= 2, "{drain:?}");
    for g in &drain {
        assert!(*g <= ms(100), "{g:?}");
    }
    // ...then at the 1 s idle rate, advertising 1 s.
    let t1 = l.elapsed();
    l.run_for(Duration::from_secs(10));
    for g in l.gaps(Dir::AtoB, t1 + ms(100), l.elapsed()) {
        assert!(g >= ms(750) && g <= ms(1000), "{g:?}");
    }
    let p = l
        .packets
        .iter()
        .rev()
        .find(|(_, d, _)| *d == Dir::AtoB)
        .unwrap()
        .2;
    assert_eq!(p.state, BfdState::AdminDown);
    assert_eq!(p.desired_min_tx_us, 1_000_000);
    // Packets from B do not move A out of AdminDown, and get no Final.
    assert_eq!(l.a.state(), BfdState::AdminDown);
    let before = l.packets.len();
    let poll = ControlPacket {
        poll: true,
        ..peer_pkt(BfdState::Down, 0x0A, 1000, 1000, 3)
    };
    let now = l.now;
    let out = l.a.handle(BfdInput::Packet(&poll), now);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(l.packets.len(), before);
    // Admin down twice is a no-op.
    assert!(
        l.a.handle(BfdInput::AdminDown(Diag::ADMIN_DOWN), now)
            .is_empty()
    );
}

#[test]
fn admin_down_without_a_peer_is_drained_at_once() {
    let now = Instant::now();
    let mut s = BfdSession::new(1, timers(100, 100, 3), now, 1).unwrap();
    let out = s.handle(BfdInput::AdminDown(Diag::PATH_DOWN), now);
    assert_eq!(changes(&out).len(), 1);
    assert_eq!(sent(&out)[0].diag, Diag::PATH_DOWN);
    assert!(s.is_drained(now));
    // Enable on a session that is not AdminDown does nothing.
    let mut t = BfdSession::new(2, timers(100, 100, 3), now, 1).unwrap();
    assert!(t.handle(BfdInput::Enable, now).is_empty());
    assert!(!t.is_drained(now));
}

#[test]
fn every_reception_transition_of_rfc5880() {
    let now = Instant::now();
    let fresh = || BfdSession::new(1, timers(100, 100, 3), now, 1).unwrap();
    let to = |s: &mut BfdSession, st: BfdState| {
        let out = s.handle(BfdInput::Packet(&peer_pkt(st, 1, 100, 100, 3)), now);
        changes(&out)
    };
    // Down: Down -> Init, Init -> Up, Up and AdminDown -> stay.
    let mut s = fresh();
    assert_eq!(to(&mut s, BfdState::Down)[0].to, BfdState::Init);
    let mut s = fresh();
    assert_eq!(to(&mut s, BfdState::Init)[0].to, BfdState::Up);
    for st in [BfdState::Up, BfdState::AdminDown] {
        let mut s = fresh();
        assert!(to(&mut s, st).is_empty(), "{st:?}");
        assert_eq!(s.state(), BfdState::Down);
    }
    // Init: Init or Up -> Up, Down -> stay, AdminDown -> Down (diag 3).
    for st in [BfdState::Init, BfdState::Up] {
        let mut s = fresh();
        to(&mut s, BfdState::Down);
        assert_eq!(to(&mut s, st)[0].to, BfdState::Up, "{st:?}");
    }
    let mut s = fresh();
    to(&mut s, BfdState::Down);
    assert!(to(&mut s, BfdState::Down).is_empty());
    assert_eq!(s.state(), BfdState::Init);
    let c = to(&mut s, BfdState::AdminDown)[0];
    assert_eq!(
        (c.from, c.to, c.diag),
        (BfdState::Init, BfdState::Down, Diag::NEIGHBOR_DOWN)
    );
    assert!(!c.is_failure());
    // Up: Init and Up -> stay, Down -> Down (diag 3, failure), AdminDown -> Down (not).
    for st in [BfdState::Init, BfdState::Up] {
        let mut s = fresh();
        to(&mut s, BfdState::Init);
        assert!(to(&mut s, st).is_empty());
        assert_eq!(s.state(), BfdState::Up);
    }
    let mut s = fresh();
    to(&mut s, BfdState::Init);
    let c = to(&mut s, BfdState::Down)[0];
    assert_eq!(
        (c.from, c.to, c.diag),
        (BfdState::Up, BfdState::Down, Diag::NEIGHBOR_DOWN)
    );
    assert!(c.is_failure());
    // Init with detection expiry: Down with diag 1, but not a failure (never Up).
    let mut s = fresh();
    to(&mut s, BfdState::Down);
    let at = s.next_deadline().unwrap();
    let mut t = now;
    let mut seen = Vec::new();
    while s.state() == BfdState::Init {
        t = s.next_deadline().unwrap().max(t);
        seen.extend(changes(&s.handle(BfdInput::Timers, t)));
    }
    assert!(at <= t);
    assert_eq!(t - now, ms(300), "3 x max(100 ms, 100 ms)");
    assert_eq!(seen[0].cause, ChangeCause::DetectionTimeExpired);
    assert!(!seen[0].is_failure());
}

#[test]
fn detection_time_in_down_only_forgets_the_peer() {
    let now = Instant::now();
    let mut s = BfdSession::new(1, timers(100, 100, 3), now, 1).unwrap();
    // A peer that says AdminDown: we stay Down but learn its discriminator.
    s.handle(
        BfdInput::Packet(&peer_pkt(BfdState::AdminDown, 1, 1000, 1000, 3)),
        now,
    );
    assert_eq!(s.remote_discr(), 77);
    assert_eq!(s.detection_time(), Some(ms(3000)));
    let mut t = now;
    let mut evs = Vec::new();
    while s.remote_discr() != 0 {
        t = s.next_deadline().unwrap().max(t);
        evs.extend(changes(&s.handle(BfdInput::Timers, t)));
        assert!(t - now <= ms(3000));
    }
    assert!(evs.is_empty(), "{evs:?}");
    assert_eq!(s.state(), BfdState::Down);
    assert_eq!(s.remote_state(), BfdState::Down);
    assert_eq!(s.detection_time(), None);
}

#[test]
fn poll_is_answered_with_final_at_once_without_poll() {
    let now = Instant::now();
    let mut s = BfdSession::new(1, timers(100, 100, 3), now, 1).unwrap();
    s.handle(
        BfdInput::Packet(&peer_pkt(BfdState::Init, 1, 1000, 100, 3)),
        now,
    );
    assert_eq!(s.state(), BfdState::Up);
    // We went Up, so we are polling ourselves; a Poll from the peer gets a Final
    // without P.
    assert!(s.polling());
    let poll = ControlPacket {
        poll: true,
        ..peer_pkt(BfdState::Up, 1, 100, 100, 3)
    };
    let out = sent(&s.handle(BfdInput::Packet(&poll), now + ms(1)));
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(out[0].final_bit);
    assert!(!out[0].poll);
    assert_eq!(out[0].your_discr, 77);
    // The periodic packets still carry P.
    let t = s.next_deadline().unwrap();
    let p = sent(&s.handle(BfdInput::Timers, t));
    assert!(p[0].poll && !p[0].final_bit);
    // A Final ends our poll; a second Final is harmless.
    let fin = ControlPacket {
        final_bit: true,
        ..peer_pkt(BfdState::Up, 1, 100, 100, 3)
    };
    s.handle(BfdInput::Packet(&fin), t + ms(1));
    assert!(!s.polling());
    s.handle(BfdInput::Packet(&fin), t + ms(2));
    assert!(!s.polling());
    let t = s.next_deadline().unwrap();
    assert!(!sent(&s.handle(BfdInput::Timers, t))[0].poll);
}

#[test]
fn raising_desired_tx_while_up_waits_for_final() {
    let mut l = BfdPair::up(timers(100, 100, 3), timers(100, 100, 3));
    l.run_for(ms(500));
    // Cut B -> A so A's poll cannot complete, then raise A's DesiredMinTx to 400 ms.
    l.cut_b_to_a = true;
    let now = l.now;
    let out = l.a.reconfigure(timers(400, 100, 3), now).unwrap();
    let p = sent(&out);
    assert_eq!(p.len(), 1, "the poll goes out at once");
    assert!(p[0].poll);
    assert_eq!(p[0].desired_min_tx_us, 400_000);
    l.deliver('a', out);
    assert!(l.a.polling());
    assert_eq!(l.a.advertised().0, ms(400));
    assert_eq!(
        l.a.tx_interval(),
        Some(ms(100)),
        "still the old rate before Final"
    );
    // Heal before A's detection fires; B's next packet... has no Final (B answers
    // Polls with F at once, but this one was already answered into the cut link).
    l.run_for(ms(150));
    l.cut_b_to_a = false;
    l.run_for(ms(200));
    // A's periodic P packets got B's Final: the slower rate is in force.
    assert!(!l.a.polling());
    assert_eq!(l.a.tx_interval(), Some(ms(400)));
    // B adopted the new detection time for A: 3 x 400 ms.
    assert_eq!(l.b.detection_time(), Some(ms(1200)));
    assert_eq!(l.a.state(), BfdState::Up);
    assert_eq!(l.b.state(), BfdState::Up);
}

#[test]
fn lowering_desired_tx_applies_at_once() {
    let mut l = BfdPair::up(timers(400, 100, 3), timers(100, 100, 3));
    l.run_for(ms(1000));
    assert_eq!(l.a.tx_interval(), Some(ms(400)));
    l.cut_b_to_a = true;
    let now = l.now;
    let out = l.a.reconfigure(timers(100, 100, 3), now).unwrap();
    l.deliver('a', out);
    assert!(l.a.polling());
    assert_eq!(
        l.a.tx_interval(),
        Some(ms(100)),
        "faster needs no confirmation"
    );
}

#[test]
fn lowering_required_rx_keeps_the_old_detection_time_until_final() {
    let mut l = BfdPair::up(timers(100, 400, 3), timers(100, 100, 3));
    l.run_for(ms(1000));
    assert_eq!(l.a.detection_time(), Some(ms(1200)));
    l.cut_b_to_a = true;
    let now = l.now;
    let out = l.a.reconfigure(timers(100, 100, 3), now).unwrap();
    l.deliver('a', out);
    assert_eq!(l.a.advertised().1, ms(100));
    assert_eq!(
        l.a.detection_time(),
        Some(ms(1200)),
        "the peer may still send every 400 ms"
    );
    l.cut_b_to_a = false;
    l.run_for(ms(1000));
    assert!(!l.a.polling());
    assert_eq!(l.a.detection_time(), Some(ms(300)));
    assert_eq!(l.b.tx_interval(), Some(ms(100)));
}

#[test]
fn raising_required_rx_applies_at_once() {
    let mut l = BfdPair::up(timers(100, 100, 3), timers(100, 100, 3));
    l.run_for(ms(500));
    l.cut_b_to_a = true;
    let now = l.now;
    let out = l.a.reconfigure(timers(100, 500, 3), now).unwrap();
    l.deliver('a', out);
    assert_eq!(l.a.detection_time(), Some(ms(1500)));
}

#[test]
fn a_change_during_a_poll_starts_a_second_poll_after_the_final() {
    let mut l = BfdPair::up(timers(100, 100, 3), timers(100, 100, 3));
    l.run_for(ms(500));
    l.cut_b_to_a = true;
    let now = l.now;
    let out = l.a.reconfigure(timers(200, 100, 3), now).unwrap();
    l.deliver('a', out);
    let out = l.a.reconfigure(timers(300, 100, 3), now + ms(10)).unwrap();
    assert!(sent(&out).is_empty(), "no new poll while one is open");
    assert_eq!(l.a.advertised().0, ms(200), "the open poll's values stay");
    l.run_for(ms(50));
    l.cut_b_to_a = false;
    let t = l.elapsed();
    l.run_for(ms(1000));
    assert!(!l.a.polling());
    assert_eq!(l.a.advertised().0, ms(300));
    assert_eq!(l.a.tx_interval(), Some(ms(300)));
    assert_eq!(l.b.detection_time(), Some(ms(900)));
    // Two distinct polled values went out after the heal: 200 then 300.
    let polled: Vec<u32> = l
        .packets
        .iter()
        .filter(|(pt, d, p)| *pt >= t && *d == Dir::AtoB && p.poll)
        .map(|(_, _, p)| p.desired_min_tx_us)
        .collect();
    assert!(
        polled.contains(&200_000) && polled.contains(&300_000),
        "{polled:?}"
    );
    assert!(polled.windows(2).all(|w| w[0] <= w[1]), "{polled:?}");
}

#[test]
fn no_poll_while_down_values_just_change() {
    let now = Instant::now();
    let mut s = BfdSession::new(1, timers(100, 100, 3), now, 1).unwrap();
    let out = s.reconfigure(timers(100, 250, 5), now).unwrap();
    assert!(out.is_empty());
    assert!(!s.polling());
    assert_eq!(s.advertised(), (ms(1000), ms(250)));
    let p = sent(&s.handle(BfdInput::Timers, now))[0];
    assert!(!p.poll);
    assert_eq!(p.detect_mult, 5);
    assert_eq!(p.required_min_rx_us, 250_000);
}

#[test]
fn going_down_during_a_poll_cancels_it() {
    let now = Instant::now();
    let mut s = BfdSession::new(1, timers(100, 100, 3), now, 1).unwrap();
    s.handle(
        BfdInput::Packet(&peer_pkt(BfdState::Init, 1, 1000, 100, 3)),
        now,
    );
    assert!(s.polling());
    let out = s.handle(
        BfdInput::Packet(&peer_pkt(BfdState::Down, 1, 1000, 100, 3)),
        now + ms(5),
    );
    assert_eq!(changes(&out)[0].to, BfdState::Down);
    assert!(!s.polling());
    assert_eq!(s.advertised().0, ms(1000));
    assert_eq!(s.tx_interval(), Some(ms(1000)));
}

#[test]
fn peer_asking_for_no_packets_stops_periodic_transmission() {
    let now = Instant::now();
    let mut s = BfdSession::new(1, timers(100, 100, 3), now, 1).unwrap();
    s.handle(BfdInput::Timers, now);
    s.handle(
        BfdInput::Packet(&peer_pkt(BfdState::Down, 1, 1000, 0, 3)),
        now + ms(1),
    );
    assert_eq!(s.tx_interval(), None);
    // Only the detection timer is left.
    let d = s.next_deadline().unwrap();
    assert_eq!(d - (now + ms(1)), ms(3000));
    // The peer allows packets again: transmission resumes.
    s.handle(
        BfdInput::Packet(&peer_pkt(BfdState::Down, 1, 1000, 100, 3)),
        now + ms(2000),
    );
    assert_eq!(s.tx_interval(), Some(ms(1000)));
    assert!(s.next_deadline().unwrap() <= now + ms(2000));
}

#[test]
fn peer_demand_mode_stops_periodic_packets_once_both_are_up() {
    let now = Instant::now();
    let mut s = BfdSession::new(1, timers(100, 100, 3), now, 1).unwrap();
    let demand = |st| ControlPacket {
        demand: true,
        final_bit: true,
        ..peer_pkt(st, 1, 100, 100, 3)
    };
    s.handle(BfdInput::Packet(&demand(BfdState::Init)), now);
    assert_eq!(s.state(), BfdState::Up);
    // Our own poll (for the faster rate) is still open: keep sending until its Final.
    assert!(s.tx_interval().is_some());
    s.handle(BfdInput::Packet(&demand(BfdState::Up)), now + ms(1));
    assert!(!s.polling());
    assert_eq!(s.tx_interval(), None, "demand mode active on the peer");
    // A poll from the peer is still answered.
    let poll = ControlPacket {
        poll: true,
        final_bit: false,
        ..demand(BfdState::Up)
    };
    let out = sent(&s.handle(BfdInput::Packet(&poll), now + ms(2)));
    assert!(out.len() == 1 && out[0].final_bit);
}

#[test]
fn a_restarted_peer_is_a_failure_unless_it_said_admin_down() {
    let now = Instant::now();
    let mut s = BfdSession::new(1, timers(100, 100, 3), now, 1).unwrap();
    s.handle(
        BfdInput::Packet(&peer_pkt(BfdState::Init, 1, 100, 100, 3)),
        now,
    );
    // A new instance of the peer: new discriminator, Down, Your Discriminator 0.
    let fresh = ControlPacket {
        my_discr: 999,
        ..peer_pkt(BfdState::Down, 0, 1000, 100, 3)
    };
    let c = changes(&s.handle(BfdInput::Packet(&fresh), now + ms(10)))[0];
    assert!(c.is_failure());
    assert_eq!(s.remote_discr(), 999);
    // Down -> Init on the same packet kind next time.
    let c = changes(&s.handle(BfdInput::Packet(&fresh), now + ms(20)))[0];
    assert_eq!(c.to, BfdState::Init);
}

#[test]
fn c_bit_is_zero_and_the_peers_is_reported() {
    let now = Instant::now();
    let mut s = BfdSession::new(1, timers(100, 100, 3), now, 1).unwrap();
    let cpi = ControlPacket {
        control_plane_independent: true,
        ..peer_pkt(BfdState::Down, 0, 1000, 100, 3)
    };
    s.handle(BfdInput::Packet(&cpi), now);
    assert!(s.remote_control_plane_independent());
    let t = s.next_deadline().unwrap();
    for p in sent(&s.handle(BfdInput::Timers, t)) {
        assert!(!p.control_plane_independent);
    }
}

#[test]
fn same_seed_same_schedule() {
    let run = || {
        let mut l = BfdPair::new(timers(50, 50, 3), timers(50, 50, 3));
        l.run_for(Duration::from_secs(20));
        l.packets
            .iter()
            .map(|(t, d, _)| (*t, *d))
            .collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
}

#[test]
fn timers_from_the_configuration() {
    let b = crate::config::Bfd {
        port: 3784,
        detection_multiplier: 255,
        desired_min_tx: Duration::from_millis(4_294_967),
        required_min_rx: ms(1),
    };
    let t = BfdTimers::from(&b);
    assert_eq!(t.detect_mult, 255);
    assert!(
        t.validate().is_ok(),
        "the configuration's largest values fit the wire"
    );
    let now = Instant::now();
    let mut s = BfdSession::new(1, t, now, 1).unwrap();
    let p = sent(&s.handle(BfdInput::Timers, now))[0];
    assert_eq!(p.desired_min_tx_us, 4_294_967_000);
    assert_eq!(p.required_min_rx_us, 1000);
}
