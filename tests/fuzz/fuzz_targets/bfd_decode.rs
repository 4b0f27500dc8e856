//! Fuzz target: BFD control packets (RFC 5880 §4.1). Arbitrary bytes are decoded; what
//! decodes must re-encode to the same mandatory section and decode again to the same
//! packet (less the authentication section, which kube-bgp never writes). The input is
//! also cut into datagrams and fed through a registry with two sessions, single hop and
//! multihop, under varying TTLs and addresses, so every reception check and state
//! transition runs on hostile input. Any panic is a bug.
#![no_main]

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use kube_bgp::bfd::packet::ControlPacket;
use kube_bgp::bfd::registry::{BfdRegistry, RxMeta, SessionKey};
use kube_bgp::bfd::session::BfdInput;
use kube_bgp::bfd::{BfdTimers, Diag, HopMode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = ControlPacket::decode(data) {
        let e = p.encode();
        assert_eq!(
            &e[..],
            &{
                let mut m = [0u8; 24];
                m.copy_from_slice(&data[..24]);
                m[1] &= !0x04; // the A bit is never written
                m[3] = 24;
                m
            }[..]
        );
        let again = ControlPacket::decode(&e).expect("re-encoded packet decodes");
        assert_eq!(again, ControlPacket { auth: None, ..p });
    }

    // Datagrams: a length byte, a control byte (TTL, source, hop mode), the payload.
    let t0 = Instant::now();
    let mut reg = BfdRegistry::new(1);
    let local = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let peers = [
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3)),
    ];
    let timers = BfdTimers {
        desired_min_tx: Duration::from_millis(10),
        required_min_rx: Duration::from_millis(10),
        detect_mult: 1,
    };
    let k1 = SessionKey::new(peers[0], local, HopMode::SingleHop);
    let k2 = SessionKey::new(peers[1], local, HopMode::MultiHop);
    let d1 = reg.add(k1, timers, t0).expect("add");
    let _ = reg.add(k2, timers, t0).expect("add");
    let mut now = t0;
    let mut rest = data;
    while let &[len, ctl, ref tail @ ..] = rest {
        let n = usize::from(len).min(tail.len());
        let (pkt, next) = tail.split_at(n);
        rest = next;
        // Point Your Discriminator at a real session now and then.
        let pkt: Cow<[u8]> = if ctl & 0x40 != 0 && pkt.len() >= 12 {
            let mut owned = pkt.to_vec();
            owned[8..12].copy_from_slice(&d1.to_be_bytes());
            Cow::Owned(owned)
        } else {
            Cow::Borrowed(pkt)
        };
        let meta = RxMeta {
            src: peers[usize::from(ctl & 1)],
            dst: local,
            ttl: if ctl & 2 != 0 { Some(255) } else { Some(ctl) },
            hop: if ctl & 4 != 0 {
                HopMode::MultiHop
            } else {
                HopMode::SingleHop
            },
        };
        let _ = reg.receive(&meta, &pkt, now);
        now += Duration::from_millis(u64::from(ctl >> 3));
        let _ = reg.timers(now);
        if ctl == 0xFF {
            let _ = reg.handle(&k1, BfdInput::AdminDown(Diag::ADMIN_DOWN), now);
        } else if ctl == 0xFE {
            let _ = reg.handle(&k1, BfdInput::Enable, now);
        }
    }
    for (_, s) in reg.sessions() {
        let _ = (s.tx_interval(), s.detection_time(), s.next_deadline());
    }
});
