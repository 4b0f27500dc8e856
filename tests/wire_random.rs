//! Randomized tests of the BGP wire codec: random valid messages must round-trip, and
//! garbled messages or random bytes must never panic the decoder. Deterministic
//! (fixed seeds, xorshift PRNG) so a failure reproduces.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use kube_bgp::bgp::types::{
    Aggregator, AsPath, AsSegment, Attrs, Capability, GrFamily, GracefulRestartCap, Message,
    MpNextHop, Notification, Open, Origin, RawAttr, Update,
};
use kube_bgp::bgp::wire::{self, AfiSet, Ctx, EncodeError};
use kube_bgp::prefix::{Afi, Prefix};

/// xorshift64* — small, fast, good enough to explore inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }
    fn u8(&mut self) -> u8 {
        self.next() as u8
    }
    fn bytes(&mut self, max: u64) -> Vec<u8> {
        (0..self.below(max + 1)).map(|_| self.u8()).collect()
    }
}

fn prefix(r: &mut Rng, afi: Afi) -> Prefix {
    match afi {
        Afi::Ipv4 => {
            let a = IpAddr::V4(Ipv4Addr::from(r.next() as u32));
            Prefix::new(a, r.below(33) as u8).unwrap()
        }
        Afi::Ipv6 => {
            let a = IpAddr::V6(Ipv6Addr::from(
                ((r.next() as u128) << 64) | r.next() as u128,
            ));
            Prefix::new(a, r.below(129) as u8).unwrap()
        }
    }
}

/// Up to `max` prefixes, IPv4 first then IPv6 (the order decoding produces).
fn prefixes(r: &mut Rng, max: u64) -> Vec<Prefix> {
    let n4 = r.below(max + 1);
    let n6 = r.below(max + 1);
    let mut v: Vec<Prefix> = (0..n4).map(|_| prefix(r, Afi::Ipv4)).collect();
    v.extend((0..n6).map(|_| prefix(r, Afi::Ipv6)));
    v
}

fn asn(r: &mut Rng) -> u32 {
    match r.below(4) {
        0 => 1 + r.below(65535) as u32,
        1 => 64512 + r.below(1000) as u32,
        2 => 65536 + r.below(1_000_000) as u32,
        _ => (r.next() as u32).max(1),
    }
}

fn v6(r: &mut Rng) -> Ipv6Addr {
    Ipv6Addr::from(((r.next() as u128) << 64) | r.next() as u128 | 1)
}

fn attrs(r: &mut Rng, ctx: &Ctx, u: &Update, v4_via_mp: bool) -> Attrs {
    let has = |afi| u.announced.iter().any(|p: &Prefix| p.afi() == afi);
    let segments = (0..r.below(4))
        .map(|_| {
            let asns = (0..1 + r.below(12)).map(|_| asn(r)).collect();
            if r.chance(4) {
                AsSegment::Set(asns)
            } else {
                AsSegment::Sequence(asns)
            }
        })
        .collect();
    let as_path = AsPath { segments };
    let mut aggregator = r.chance(3).then(|| Aggregator {
        asn: asn(r),
        addr: Ipv4Addr::from(r.next() as u32),
    });
    // RFC 6793: a 2-octet AGGREGATOR that is not AS_TRANS hides AS4_PATH.
    if let Some(a) = aggregator.as_mut() {
        if !ctx.four_octet_as && a.asn <= 0xFFFF {
            a.asn = wire::AS_TRANS;
        }
    }
    let mp_next_hop = if has(Afi::Ipv6) || (v4_via_mp && has(Afi::Ipv4)) {
        let addr = if v4_via_mp && r.chance(2) {
            IpAddr::V4(Ipv4Addr::from(r.next() as u32))
        } else {
            IpAddr::V6(v6(r))
        };
        let link_local = (addr.is_ipv6() && r.chance(2)).then(|| v6(r));
        Some(MpNextHop { addr, link_local })
    } else {
        None
    };
    let mut unknown_codes: Vec<u8> = (0..r.below(3))
        .map(|_| [11, 12, 13, 16, 19, 32, 40, 128, 200, 255][r.below(10) as usize])
        .collect();
    unknown_codes.sort();
    unknown_codes.dedup();
    Attrs {
        origin: [Origin::Igp, Origin::Egp, Origin::Incomplete][r.below(3) as usize],
        as_path,
        next_hop: (has(Afi::Ipv4) && !v4_via_mp).then(|| Ipv4Addr::from(r.next() as u32)),
        mp_next_hop,
        med: r.chance(2).then(|| r.next() as u32),
        local_pref: (ctx.ibgp && r.chance(2)).then(|| r.next() as u32),
        atomic_aggregate: r.chance(3),
        aggregator,
        communities: (0..r.below(6)).map(|_| r.next() as u32).collect(),
        // Route reflection attributes only between internal peers (RFC 4456).
        originator_id: (ctx.ibgp && r.chance(4)).then(|| Ipv4Addr::from(r.next() as u32)),
        cluster_list: (0..if ctx.ibgp { r.below(3) } else { 0 })
            .map(|_| Ipv4Addr::from(r.next() as u32))
            .collect(),
        unknown: unknown_codes
            .into_iter()
            .map(|c| {
                let max = if r.chance(8) { 300 } else { 8 };
                RawAttr {
                    flags: 0xE0,
                    type_code: c,
                    value: r.bytes(max),
                }
            })
            .collect(),
    }
}

fn update(r: &mut Rng, ctx: &Ctx) -> Update {
    if r.chance(20) {
        let afi = if r.chance(2) { Afi::Ipv4 } else { Afi::Ipv6 };
        return Update {
            end_of_rib: Some(afi),
            ..Update::default()
        };
    }
    let mut u = Update {
        withdrawn: prefixes(r, 6),
        announced: prefixes(r, 6),
        ..Update::default()
    };
    // IPv4 routes with only an MP next hop cannot share MP_REACH with IPv6 routes.
    let v4_via_mp = r.chance(5) && !u.announced.iter().any(|p| p.afi() == Afi::Ipv6);
    if !u.announced.is_empty() || r.chance(3) {
        u.attrs = Some(attrs(r, ctx, &u, v4_via_mp));
    }
    if u.withdrawn.is_empty() && u.announced.is_empty() && u.attrs.is_none() {
        u.withdrawn.push(prefix(r, Afi::Ipv4));
    }
    u
}

fn open(r: &mut Rng) -> Open {
    let asn = asn(r);
    let mut caps = Vec::new();
    for _ in 0..r.below(6) {
        caps.push(match r.below(5) {
            0 => Capability::Multiprotocol {
                afi: r.below(3) as u16,
                safi: r.u8(),
            },
            1 => Capability::RouteRefresh,
            2 => Capability::GracefulRestart(GracefulRestartCap {
                restart_state: r.chance(2),
                restart_time: r.below(4096) as u16,
                families: (0..r.below(3))
                    .map(|_| GrFamily {
                        afi: 1 + r.below(2) as u16,
                        safi: 1,
                        forwarding_preserved: r.chance(2),
                    })
                    .collect(),
            }),
            _ => Capability::Unknown {
                code: [0, 3, 5, 6, 69, 70, 73, 128, 255][r.below(9) as usize],
                value: r.bytes(10),
            },
        });
    }
    if asn > 0xFFFF || r.chance(2) {
        let at = r.below(caps.len() as u64 + 1) as usize;
        caps.insert(at, Capability::FourOctetAs(asn));
    }
    let hold_time = match r.below(3) {
        0 => 0,
        _ => 3 + r.below(65533) as u16,
    };
    Open {
        version: 4,
        asn,
        hold_time,
        router_id: Ipv4Addr::from((r.next() as u32).max(1)),
        capabilities: caps,
    }
}

fn message(r: &mut Rng, ctx: &Ctx) -> Message {
    match r.below(8) {
        0 => Message::Open(open(r)),
        1 => Message::Keepalive,
        2 => Message::Notification(Notification {
            code: r.u8(),
            subcode: r.u8(),
            data: r.bytes(40),
        }),
        3 => Message::RouteRefresh {
            afi: r.next() as u16,
            safi: r.u8(),
        },
        _ => Message::Update(update(r, ctx)),
    }
}

const CTXS: [Ctx; 4] = [
    Ctx {
        four_octet_as: true,
        ibgp: true,
        families: AfiSet::ALL,
    },
    Ctx {
        four_octet_as: true,
        ibgp: false,
        families: AfiSet::ALL,
    },
    Ctx {
        four_octet_as: false,
        ibgp: true,
        families: AfiSet::ALL,
    },
    Ctx {
        four_octet_as: false,
        ibgp: false,
        families: AfiSet::ALL,
    },
];

#[test]
fn random_valid_messages_round_trip() {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let mut buf = Vec::new();
    let (mut checked, mut too_long) = (0, 0);
    for i in 0..20_000 {
        let ctx = CTXS[i % 4];
        let m = message(&mut r, &ctx);
        buf.clear();
        match wire::encode(&m, &ctx, &mut buf) {
            Ok(()) => {}
            Err(EncodeError::TooLong { .. }) => {
                too_long += 1;
                continue;
            }
            Err(e) => panic!("cannot encode {m:?}: {e}"),
        }
        assert_eq!(wire::frame(&buf), Ok(Some(buf.len())), "{m:?}");
        let d = wire::decode(&buf, &ctx).unwrap_or_else(|e| panic!("{m:?}: {e}"));
        assert_eq!(d.message, m, "ctx {ctx:?} bytes {buf:02x?}");
        assert!(d.issues.is_empty(), "{:?}", d.issues);
        checked += 1;
    }
    assert!(checked > 19_000, "{checked} checked, {too_long} too long");
}

/// Applies 1-4 random edits; half the time the length field is fixed up so the damage
/// reaches the body parsers instead of the header check.
fn garble(r: &mut Rng, m: &mut Vec<u8>) {
    for _ in 0..1 + r.below(4) {
        if m.is_empty() {
            break;
        }
        let at = r.below(m.len() as u64) as usize;
        match r.below(6) {
            0 => m[at] ^= 1 << r.below(8),
            1 => m[at] = r.u8(),
            2 => m[at] = [0, 1, 0xFF, 0x80, 0x40, 0x10, 32, 33, 128, 129][r.below(10) as usize],
            3 => m.truncate(at),
            4 => m.insert(at, r.u8()),
            _ => {
                m.remove(at);
            }
        }
    }
    if r.chance(2) && m.len() >= 19 {
        let len = (m.len().min(0xFFFF) as u16).to_be_bytes();
        m[16..18].copy_from_slice(&len);
        m[..16].fill(0xFF);
    }
}

fn check_no_panic(m: &[u8]) {
    // Framing first, like the session does.
    let _ = wire::frame(m);
    for ctx in &CTXS {
        if let Ok(d) = wire::decode(m, ctx) {
            if let Message::Update(u) = &d.message {
                // Every prefix takes at least one byte of input.
                assert!(u.announced.len() + u.withdrawn.len() <= m.len());
            }
        }
    }
}

#[test]
fn garbled_and_random_input_never_panics() {
    let mut r = Rng(0xD1B5_4A32_D192_ED03);
    let mut valid = Vec::new();
    for i in 0..2_000 {
        let ctx = CTXS[i % 4];
        let mut b = Vec::new();
        if wire::encode(&message(&mut r, &ctx), &ctx, &mut b).is_ok() {
            valid.push(b);
        }
    }
    let mut m = Vec::new();
    for _ in 0..150_000 {
        m.clear();
        m.extend_from_slice(&valid[r.below(valid.len() as u64) as usize]);
        garble(&mut r, &mut m);
        check_no_panic(&m);
    }
    // Random bodies behind a valid header of each type.
    for _ in 0..100_000 {
        let max = if r.chance(10) { 600 } else { 60 };
        let body = r.bytes(max);
        m.clear();
        m.extend_from_slice(&[0xFF; 16]);
        m.extend_from_slice(&((body.len() + 19) as u16).to_be_bytes());
        m.push(1 + r.below(5) as u8);
        m.extend_from_slice(&body);
        check_no_panic(&m);
    }
    // Short random byte strings, markers included or not.
    for _ in 0..50_000 {
        let b = r.bytes(40);
        check_no_panic(&b);
    }
}

/// Times decoding of a full IPv4 table: 1M /24 prefixes packed by `encode_announce`.
/// Run with `cargo test --release --test wire_random -- --ignored --nocapture`.
#[test]
#[ignore]
fn timing_decode_1m_ipv4_prefixes() {
    use std::time::Instant;
    let prefixes: Vec<Prefix> = (0..1_000_000u32)
        .map(|i| Prefix::V4(Ipv4Addr::from((i + (1 << 24)) << 8), 24))
        .collect();
    let attrs = Attrs {
        as_path: AsPath {
            segments: vec![AsSegment::Sequence(vec![65001, 65002, 65003])],
        },
        next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
        med: Some(10),
        communities: vec![0xFDE9_0001],
        ..Attrs::default()
    };
    let ctx = CTXS[1];
    let t = Instant::now();
    let mut wire_bytes = Vec::new();
    let n = wire::encode_announce(&attrs, &prefixes, &ctx, &mut wire_bytes).unwrap();
    let enc = t.elapsed();
    let mut best = std::time::Duration::MAX;
    let mut total = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let mut buf = wire_bytes.as_slice();
        total = 0;
        while let Some(len) = wire::frame(buf).unwrap() {
            let (m, rest) = buf.split_at(len);
            if let Message::Update(u) = wire::decode(m, &ctx).unwrap().message {
                total += u.announced.len();
            }
            buf = rest;
        }
        best = best.min(t.elapsed());
    }
    assert_eq!(total, prefixes.len());
    println!(
        "1M IPv4 /24: {n} UPDATEs, {} bytes; encode {:?}; decode best of 5 {:?} ({:.1} M prefixes/s)",
        wire_bytes.len(),
        enc,
        best,
        total as f64 / best.as_secs_f64() / 1e6
    );
}
