//! The control packet codec: layout, every reception check, and robustness on
//! arbitrary bytes. Captured packets from BIRD and FRR are checked in
//! `tests/bfd_fixtures.rs`.

use super::packet::{AuthHeader, ControlPacket, MANDATORY_LEN, PacketError};
use super::{BfdState, Diag};
use crate::bgp::fsm::timers::Prng;

fn sample() -> ControlPacket {
    ControlPacket {
        diag: Diag::NEIGHBOR_DOWN,
        state: BfdState::Up,
        poll: true,
        final_bit: false,
        control_plane_independent: false,
        demand: false,
        detect_mult: 3,
        my_discr: 0x0102_0304,
        your_discr: 0xA0B0_C0D0,
        desired_min_tx_us: 100_000,
        required_min_rx_us: 300_000,
        required_min_echo_rx_us: 0,
        auth: None,
    }
}

#[test]
fn layout_matches_rfc5880_section_4_1() {
    let b = sample().encode();
    assert_eq!(
        b,
        [
            0x23, // version 1, diag 3
            0xE0, // state Up (3 << 6), P
            3,    // detect mult
            24,   // length
            0x01, 0x02, 0x03, 0x04, // my discriminator
            0xA0, 0xB0, 0xC0, 0xD0, // your discriminator
            0x00, 0x01, 0x86, 0xA0, // 100000 us
            0x00, 0x04, 0x93, 0xE0, // 300000 us
            0, 0, 0, 0, // echo
        ]
    );
    let flags = |p: ControlPacket| p.encode()[1];
    for (p, bits) in [
        (
            ControlPacket {
                poll: false,
                final_bit: true,
                ..sample()
            },
            0xD0,
        ),
        (
            ControlPacket {
                poll: false,
                control_plane_independent: true,
                ..sample()
            },
            0xC8,
        ),
        (
            ControlPacket {
                poll: false,
                demand: true,
                state: BfdState::AdminDown,
                ..sample()
            },
            0x02,
        ),
        (
            ControlPacket {
                poll: false,
                state: BfdState::Init,
                ..sample()
            },
            0x80,
        ),
        (
            ControlPacket {
                poll: false,
                state: BfdState::Down,
                ..sample()
            },
            0x40,
        ),
    ] {
        assert_eq!(flags(p), bits, "{p}");
    }
}

#[test]
fn round_trip_over_all_states_flags_and_diags() {
    for state in [
        BfdState::AdminDown,
        BfdState::Down,
        BfdState::Init,
        BfdState::Up,
    ] {
        for diag in 0..32u8 {
            for bits in 0..8u8 {
                let p = ControlPacket {
                    state,
                    diag: Diag::from_bits(diag),
                    poll: bits & 1 != 0,
                    final_bit: bits & 1 == 0 && bits & 2 != 0,
                    control_plane_independent: bits & 4 != 0,
                    demand: bits & 2 != 0,
                    your_discr: if state >= BfdState::Init { 9 } else { 0 },
                    required_min_echo_rx_us: u32::from(diag) * 1000,
                    ..sample()
                };
                assert_eq!(ControlPacket::decode(&p.encode()), Ok(p), "{p}");
            }
        }
    }
}

#[test]
fn encode_never_sets_the_auth_bit() {
    let p = ControlPacket {
        auth: Some(AuthHeader {
            auth_type: 1,
            len: 8,
        }),
        ..sample()
    };
    let b = p.encode();
    assert_eq!(b[1] & 0x04, 0);
    assert_eq!(b[3], 24);
}

/// Bytes of `sample()` with `f` applied.
fn with(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut b = sample().encode().to_vec();
    f(&mut b);
    b
}

#[test]
fn every_packet_check_of_rfc5880_section_6_8_6() {
    let dec = |b: &[u8]| ControlPacket::decode(b);
    // Shorter than the mandatory section, at every length.
    let full = sample().encode();
    for n in 0..MANDATORY_LEN {
        assert_eq!(dec(&full[..n]), Err(PacketError::Truncated { got: n }));
    }
    // Version other than 1.
    for v in [0u8, 2, 3, 7] {
        let b = with(|b| b[0] = (v << 5) | 3);
        assert_eq!(dec(&b), Err(PacketError::BadVersion(v)));
    }
    // Length field below 24.
    for l in [0u8, 1, 23] {
        let b = with(|b| b[3] = l);
        assert_eq!(
            dec(&b),
            Err(PacketError::LengthTooSmall {
                length: l,
                auth: false
            })
        );
    }
    // With the A bit, below 26.
    let b = with(|b| {
        b[1] |= 0x04;
        b[3] = 25;
        b.push(1);
    });
    assert_eq!(
        dec(&b),
        Err(PacketError::LengthTooSmall {
            length: 25,
            auth: true
        })
    );
    // Length field beyond the datagram.
    let b = with(|b| b[3] = 25);
    assert_eq!(
        dec(&b),
        Err(PacketError::LengthExceedsPayload {
            length: 25,
            payload: 24
        })
    );
    // Detect Mult zero.
    let b = with(|b| b[2] = 0);
    assert_eq!(dec(&b), Err(PacketError::ZeroDetectMult));
    // Multipoint bit.
    let b = with(|b| b[1] |= 0x01);
    assert_eq!(dec(&b), Err(PacketError::Multipoint));
    // Poll and Final together.
    let b = with(|b| b[1] |= 0x10);
    assert_eq!(dec(&b), Err(PacketError::PollAndFinal));
    // My Discriminator zero.
    let b = with(|b| b[4..8].copy_from_slice(&[0; 4]));
    assert_eq!(dec(&b), Err(PacketError::ZeroMyDiscriminator));
    // Your Discriminator zero: only in Down or AdminDown.
    for (state, ok) in [
        (BfdState::AdminDown, true),
        (BfdState::Down, true),
        (BfdState::Init, false),
        (BfdState::Up, false),
    ] {
        let b = with(|b| {
            b[1] = state.bits() << 6;
            b[8..12].copy_from_slice(&[0; 4]);
        });
        match dec(&b) {
            Ok(p) => assert!(ok && p.your_discr == 0 && p.state == state),
            Err(e) => assert!(!ok && e == PacketError::ZeroYourDiscriminator(state), "{e}"),
        }
    }
}

#[test]
fn auth_section_is_framed_not_interpreted() {
    // Simple password (type 1): type, len, key id, password "secret".
    let mut b = sample().encode().to_vec();
    b[1] |= 0x04;
    let section = [1u8, 9, 1, b's', b'e', b'c', b'r', b'e', b't'];
    b.extend_from_slice(&section);
    b[3] = (24 + section.len()) as u8;
    let p = ControlPacket::decode(&b).unwrap();
    assert_eq!(
        p.auth,
        Some(AuthHeader {
            auth_type: 1,
            len: 9
        })
    );
    // A section claiming more than the packet, or less than its own header.
    for bad_len in [0u8, 1, 10, 200] {
        let mut c = b.clone();
        c[25] = bad_len;
        assert_eq!(
            ControlPacket::decode(&c),
            Err(PacketError::BadAuthSection {
                auth_len: bad_len,
                length: b[3]
            }),
            "{bad_len}"
        );
    }
}

#[test]
fn bytes_beyond_the_length_field_are_ignored() {
    let mut b = sample().encode().to_vec();
    b.extend_from_slice(&[0xFF; 40]);
    assert_eq!(ControlPacket::decode(&b), Ok(sample()));
    // A Length above 24 without authentication: the extra bytes are just skipped.
    b[3] = 30;
    assert_eq!(ControlPacket::decode(&b), Ok(sample()));
}

#[test]
fn reserved_diagnostics_are_kept_and_printed() {
    let b = with(|b| b[0] = (1 << 5) | 31);
    let p = ControlPacket::decode(&b).unwrap();
    assert_eq!(p.diag.bits(), 31);
    assert_eq!(p.diag.to_string(), "reserved (31)");
    assert_eq!(Diag::ADMIN_DOWN.to_string(), "administratively down");
    assert_eq!(p.encode()[0], 0x3F);
}

#[test]
fn errors_say_what_is_wrong() {
    for (e, words) in [
        (PacketError::Truncated { got: 3 }, "3 bytes"),
        (PacketError::BadVersion(2), "version 2"),
        (
            PacketError::LengthExceedsPayload {
                length: 30,
                payload: 24,
            },
            "30",
        ),
        (PacketError::ZeroYourDiscriminator(BfdState::Up), "Up"),
    ] {
        assert!(e.to_string().contains(words), "{e}");
    }
}

/// Arbitrary bytes never panic, and whatever decodes re-encodes to the same mandatory
/// section (up to the fields encode owns: version, length, A bit).
#[test]
fn arbitrary_bytes_never_panic() {
    let mut rng = Prng::new(0x5EED);
    let mut accepted = 0;
    for i in 0..200_000u32 {
        let len = (rng.next_u64() % 64) as usize;
        let mut b: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        // Bias half the inputs towards plausible headers so the deep checks run.
        if i % 2 == 0 && b.len() >= 4 {
            b[0] = (1 << 5) | (b[0] & 0x1F);
            b[1] &= !0x01;
            b[3] = (24 + rng.next_u64() % 8) as u8;
        }
        if let Ok(p) = ControlPacket::decode(&b) {
            accepted += 1;
            let e = p.encode();
            assert_eq!(e[0], b[0]);
            assert_eq!(e[1], b[1] & !0x04);
            assert_eq!(e[2], b[2]);
            assert_eq!(&e[4..24], &b[4..24]);
        }
    }
    assert!(
        accepted > 1000,
        "too few inputs reached the deep checks: {accepted}"
    );
}
