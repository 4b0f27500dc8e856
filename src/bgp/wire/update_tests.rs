//! Hand-built UPDATE vectors: attributes, AS4 merging, MP_REACH/MP_UNREACH, End-of-RIB
//! and the packers (the RFC 7606 cases are in `tests_rfc7606`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::wire_tests::{err_code, msg};
use super::*;
use crate::bgp::types::{Aggregator, AsPath, AsSegment, MpNextHop, RawAttr, Update};

pub(super) const CTX4: Ctx = Ctx {
    four_octet_as: true,
    ibgp: true,
    families: AfiSet::ALL,
};
pub(super) const CTX2: Ctx = Ctx {
    four_octet_as: false,
    ibgp: false,
    families: AfiSet::ALL,
};

pub(super) fn upd(withdrawn: &[u8], attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut b = (withdrawn.len() as u16).to_be_bytes().to_vec();
    b.extend_from_slice(withdrawn);
    b.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    b.extend_from_slice(attrs);
    b.extend_from_slice(nlri);
    msg(2, &b)
}

pub(super) fn attr(flags: u8, code: u8, value: &[u8]) -> Vec<u8> {
    let mut a = vec![flags, code];
    if flags & 0x10 != 0 {
        a.extend_from_slice(&(value.len() as u16).to_be_bytes());
    } else {
        a.push(value.len() as u8);
    }
    a.extend_from_slice(value);
    a
}

pub(super) fn origin() -> Vec<u8> {
    attr(0x40, 1, &[0])
}

pub(super) fn seg(typ: u8, asns: &[u32], four: bool) -> Vec<u8> {
    let mut v = vec![typ, asns.len() as u8];
    for &a in asns {
        if four {
            v.extend_from_slice(&a.to_be_bytes());
        } else {
            v.extend_from_slice(&(a as u16).to_be_bytes());
        }
    }
    v
}

pub(super) fn as_path4(asns: &[u32]) -> Vec<u8> {
    attr(0x40, 2, &seg(2, asns, true))
}

pub(super) fn next_hop() -> Vec<u8> {
    attr(0x40, 3, &[10, 0, 0, 1])
}

/// ORIGIN, AS_PATH 65001, NEXT_HOP 10.0.0.1, plus `extra`.
pub(super) fn base(extra: &[u8]) -> Vec<u8> {
    [origin(), as_path4(&[65001]), next_hop(), extra.to_vec()].concat()
}

pub(super) const NLRI: &[u8] = &[24, 192, 0, 2, 16, 10, 1];

pub(super) fn p(s: &str) -> Prefix {
    s.parse().unwrap()
}

pub(super) fn dec(m: &[u8], ctx: &Ctx) -> (Update, Vec<Issue>) {
    let d = decode(m, ctx).unwrap_or_else(|e| panic!("decode failed: {e}"));
    match d.message {
        Message::Update(u) => (u, d.issues),
        other => panic!("not an UPDATE: {other:?}"),
    }
}

fn seq(v: &[u32]) -> AsSegment {
    AsSegment::Sequence(v.to_vec())
}

#[test]
fn ipv4_update_all_attributes() {
    let attrs = [
        origin(),
        as_path4(&[65001, 4_200_000_000]),
        next_hop(),
        attr(0x80, 4, &[0, 0, 0, 5]),
        attr(0x40, 5, &[0, 0, 0, 200]),
        attr(0x40, 6, &[]),
        attr(0xC0, 7, &[0, 0, 0xFD, 0xE9, 192, 0, 2, 9]),
        attr(0xC0, 8, &[0xFF, 0xFF, 0xFF, 0x01, 0, 1, 0, 2]),
        attr(0x80, 9, &[1, 1, 1, 1]),
        attr(0x80, 10, &[2, 2, 2, 2, 3, 3, 3, 3]),
    ]
    .concat();
    let m = upd(&[8, 172], &attrs, NLRI);
    let (u, issues) = dec(&m, &CTX4);
    assert!(issues.is_empty(), "{issues:?}");
    assert_eq!(u.withdrawn, vec![p("172.0.0.0/8")]);
    assert_eq!(u.announced, vec![p("192.0.2.0/24"), p("10.1.0.0/16")]);
    let a = u.attrs.clone().unwrap();
    assert_eq!(a.as_path.segments, vec![seq(&[65001, 4_200_000_000])]);
    assert_eq!(a.next_hop, Some(Ipv4Addr::new(10, 0, 0, 1)));
    assert_eq!((a.med, a.local_pref), (Some(5), Some(200)));
    assert!(a.atomic_aggregate);
    assert_eq!(
        a.aggregator,
        Some(Aggregator {
            asn: 65001,
            addr: Ipv4Addr::new(192, 0, 2, 9)
        })
    );
    assert_eq!(a.communities, vec![0xFFFF_FF01, 0x0001_0002]);
    assert_eq!(a.originator_id, Some(Ipv4Addr::new(1, 1, 1, 1)));
    assert_eq!(a.cluster_list.len(), 2);
    // Re-encoded byte for byte: the vector is already in type-code order.
    let mut out = Vec::new();
    encode(&Message::Update(u), &CTX4, &mut out).unwrap();
    assert_eq!(out, m);
}

#[test]
fn as4_path_merge_from_two_octet_peer() {
    // AS_PATH 100 23456 23456 200, AS4_PATH 70000 80000 200 (RFC 6793 §4.2.3).
    let attrs = [
        origin(),
        attr(0x40, 2, &seg(2, &[100, 23456, 23456, 200], false)),
        next_hop(),
        attr(0xC0, 7, &[0x5B, 0xA0, 192, 0, 2, 1]),
        attr(0xC0, 17, &seg(2, &[70000, 80000, 200], true)),
        attr(0xC0, 18, &[0, 1, 0x11, 0x70, 192, 0, 2, 1]),
    ]
    .concat();
    let (u, issues) = dec(&upd(&[], &attrs, NLRI), &CTX2);
    assert!(issues.is_empty());
    let a = u.attrs.unwrap();
    assert_eq!(
        a.as_path.segments,
        vec![seq(&[100]), seq(&[70000, 80000, 200])]
    );
    assert_eq!(a.as_path.path_len(), 4);
    assert_eq!(a.aggregator.unwrap().asn, 70000);

    // AGGREGATOR not AS_TRANS: AS4_PATH and AS4_AGGREGATOR are ignored.
    let attrs = [
        origin(),
        attr(0x40, 2, &seg(2, &[100, 23456], false)),
        next_hop(),
        attr(0xC0, 7, &[0, 100, 192, 0, 2, 1]),
        attr(0xC0, 17, &seg(2, &[70000], true)),
    ]
    .concat();
    let a = dec(&upd(&[], &attrs, NLRI), &CTX2).0.attrs.unwrap();
    assert_eq!(a.as_path.segments, vec![seq(&[100, 23456])]);

    // AS4_PATH longer than AS_PATH: ignored.
    let attrs = [
        origin(),
        attr(0x40, 2, &seg(2, &[23456], false)),
        next_hop(),
        attr(0xC0, 17, &seg(2, &[70000, 80000], true)),
    ]
    .concat();
    let a = dec(&upd(&[], &attrs, NLRI), &CTX2).0.attrs.unwrap();
    assert_eq!(a.as_path.segments, vec![seq(&[23456])]);

    // AS4_PATH from a 4-octet peer: discarded.
    let m = upd(&[], &base(&attr(0xC0, 17, &seg(2, &[70000], true))), NLRI);
    let (u, issues) = dec(&m, &CTX4);
    assert_eq!(issues[0].action, IssueAction::AttributeDiscard);
    assert_eq!(u.attrs.unwrap().as_path.segments, vec![seq(&[65001])]);
}

#[test]
fn two_octet_encoding_uses_as_trans_and_as4_attributes() {
    let a = Attrs {
        as_path: AsPath {
            segments: vec![seq(&[65001, 4_200_000_000]), AsSegment::Set(vec![70000, 7])],
        },
        next_hop: Some(Ipv4Addr::new(10, 0, 0, 1)),
        aggregator: Some(Aggregator {
            asn: 4_200_000_001,
            addr: Ipv4Addr::new(10, 9, 9, 9),
        }),
        ..Attrs::default()
    };
    let mut out = Vec::new();
    encode_announce(&a, &[p("10.0.0.0/8")], &CTX2, &mut out).unwrap();
    // AS_PATH with AS_TRANS in 2-octet form.
    let as_path = attr(
        0x40,
        2,
        &[seg(2, &[65001, 23456], false), seg(1, &[23456, 7], false)].concat(),
    );
    assert!(out.windows(as_path.len()).any(|w| w == as_path.as_slice()));
    assert!(out.windows(2).any(|w| w == [0xC0, 17]));
    assert!(out.windows(2).any(|w| w == [0xC0, 18]));
    let (u, issues) = dec(&out, &CTX2);
    assert!(issues.is_empty());
    assert_eq!(u.attrs.unwrap(), a);
}

pub(super) fn mp_reach_v6(nh: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 2, 1, nh.len() as u8];
    v.extend_from_slice(nh);
    v.push(0);
    v.extend_from_slice(nlri);
    attr(0x90, 14, &v)
}

#[test]
fn mp_reach_ipv6_with_link_local() {
    let global: Ipv6Addr = "2001:db8::1".parse().unwrap();
    let ll: Ipv6Addr = "fe80::1".parse().unwrap();
    let nh = [global.octets(), ll.octets()].concat();
    let nlri = [48, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0];
    let attrs = [mp_reach_v6(&nh, &nlri), origin(), as_path4(&[65001])].concat();
    let m = upd(&[], &attrs, &[]);
    let (u, issues) = dec(&m, &CTX4);
    assert!(issues.is_empty());
    assert_eq!(u.announced, vec![p("2001:db8:1::/48"), p("::/0")]);
    let a = u.attrs.clone().unwrap();
    assert_eq!(
        a.mp_next_hop,
        Some(MpNextHop {
            addr: IpAddr::V6(global),
            link_local: Some(ll)
        })
    );
    assert_eq!(
        a.next_hop_for(crate::bgp::types::Afi::Ipv6),
        Some(IpAddr::V6(global))
    );
    let mut out = Vec::new();
    encode(&Message::Update(u.clone()), &CTX4, &mut out).unwrap();
    assert_eq!(dec(&out, &CTX4).0, u);
    // MP_REACH comes first (RFC 7606 §5.1).
    assert_eq!(&out[23..25], &[0x80, 14]);
    // Bad next-hop length for IPv6: session reset.
    let bad = upd(&[], &[mp_reach_v6(&[0; 8], &nlri), origin()].concat(), &[]);
    assert_eq!(err_code(decode(&bad, &CTX4)).0, 3);
    // Truncated MP_REACH: session reset.
    let bad = upd(&[], &attr(0x80, 14, &[0, 2, 1]), &[]);
    assert_eq!(err_code(decode(&bad, &CTX4)).0, 3);
    // Bad prefix inside MP_REACH: session reset.
    let bad = upd(
        &[],
        &[mp_reach_v6(&global.octets(), &[129]), origin()].concat(),
        &[],
    );
    assert_eq!(err_code(decode(&bad, &CTX4)).0, 3);
}

#[test]
fn end_of_rib_forms() {
    let v4 = upd(&[], &[], &[]);
    assert_eq!(dec(&v4, &CTX4).0.end_of_rib, Some(Afi::Ipv4));
    let v6 = upd(&[], &attr(0x80, 15, &[0, 2, 1]), &[]);
    let (u, _) = dec(&v6, &CTX4);
    assert_eq!(u.end_of_rib, Some(Afi::Ipv6));
    assert!(u.withdrawn.is_empty() && u.attrs.is_none());
    let mut out = Vec::new();
    encode_end_of_rib(Afi::Ipv4, &mut out);
    assert_eq!(out, v4);
    out.clear();
    encode_end_of_rib(Afi::Ipv6, &mut out);
    assert_eq!(out, v6);
    out.clear();
    let eor = Update {
        end_of_rib: Some(Afi::Ipv6),
        ..Update::default()
    };
    encode(&Message::Update(eor), &CTX4, &mut out).unwrap();
    assert_eq!(out, v6);
    // An MP_UNREACH with prefixes is a withdrawal, not End-of-RIB.
    let w = upd(
        &[],
        &attr(0x80, 15, &[0, 2, 1, 32, 0x20, 1, 0xd, 0xb8]),
        &[],
    );
    let (u, _) = dec(&w, &CTX4);
    assert_eq!(
        (u.end_of_rib, u.withdrawn),
        (None, vec![p("2001:db8::/32")])
    );
}

#[test]
fn unknown_attributes_and_ignored_next_hop() {
    // Optional transitive: kept, re-sent with Partial; optional non-transitive: dropped.
    let attrs = base(&[attr(0xC0, 32, &[0; 12]), attr(0x80, 99, &[1])].concat());
    let (u, issues) = dec(&upd(&[], &attrs, NLRI), &CTX4);
    assert!(issues.is_empty());
    let a = u.attrs.clone().unwrap();
    assert_eq!(
        a.unknown,
        vec![RawAttr {
            flags: 0xE0,
            type_code: 32,
            value: vec![0; 12]
        }]
    );
    let mut out = Vec::new();
    encode(&Message::Update(u), &CTX4, &mut out).unwrap();
    assert!(out.windows(3).any(|w| w == [0xE0, 32, 12]));
    assert!(!out.windows(2).any(|w| w == [0x80, 99]));
    // NEXT_HOP without classic NLRI is ignored (RFC 7606 §5.2).
    let nh = [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let m = upd(
        &[],
        &[mp_reach_v6(&nh, &[32, 0x20, 1, 0xd, 0xb8]), base(&[])].concat(),
        &[],
    );
    let a = dec(&m, &CTX4).0.attrs.unwrap();
    assert_eq!(a.next_hop, None);
    assert!(a.mp_next_hop.is_some());
}

#[test]
fn long_attributes_use_extended_length() {
    let a = Attrs {
        next_hop: Some(Ipv4Addr::new(10, 0, 0, 1)),
        communities: (0..70).collect(),
        ..Attrs::default()
    };
    let mut out = Vec::new();
    encode_announce(&a, &[p("10.0.0.0/8")], &CTX4, &mut out).unwrap();
    assert!(out.windows(4).any(|w| w == [0xD0, 8, 1, 24]));
    assert_eq!(dec(&out, &CTX4).0.attrs.unwrap(), a);
}

fn decode_all(mut buf: &[u8], ctx: &Ctx) -> Vec<Update> {
    let mut v = Vec::new();
    while let Some(n) = frame(buf).unwrap() {
        assert!(n <= MAX_MESSAGE_LEN);
        v.push(dec(&buf[..n], ctx).0);
        buf = &buf[n..];
    }
    assert!(buf.is_empty());
    v
}

#[test]
fn packers_fill_messages_and_round_trip() {
    let v4: Vec<Prefix> = (0..3000u32)
        .map(|i| Prefix::new(IpAddr::V4(Ipv4Addr::from((10 << 24) | (i << 8))), 24).unwrap())
        .collect();
    let v6: Vec<Prefix> = (0..1500u128)
        .map(|i| {
            Prefix::new(
                IpAddr::V6(Ipv6Addr::from((0x2001_0db8u128 << 96) | (i << 64))),
                64,
            )
            .unwrap()
        })
        .collect();
    let mut mixed: Vec<Prefix> = v6.iter().chain(&v4).copied().collect();
    mixed.swap(0, 3000);
    let a = Attrs {
        as_path: AsPath {
            segments: vec![seq(&[65001])],
        },
        next_hop: Some(Ipv4Addr::new(10, 0, 0, 1)),
        mp_next_hop: Some(MpNextHop {
            addr: "2001:db8::1".parse().unwrap(),
            link_local: Some("fe80::1".parse().unwrap()),
        }),
        local_pref: Some(100),
        ..Attrs::default()
    };
    let mut out = Vec::new();
    let n = encode_announce(&a, &mixed, &CTX4, &mut out).unwrap();
    let ups = decode_all(&out, &CTX4);
    assert_eq!(ups.len(), n);
    // ~1000 /24s (4 bytes each) per IPv4 message, ~440 /64s (9 bytes) per IPv6 one.
    assert_eq!(n, 3 + 4);
    let mut got4 = Vec::new();
    let mut got6 = Vec::new();
    for u in &ups {
        let ua = u.attrs.as_ref().unwrap();
        assert_eq!(ua.local_pref, Some(100));
        for q in &u.announced {
            match q.afi() {
                Afi::Ipv4 => got4.push(*q),
                Afi::Ipv6 => got6.push(*q),
            }
        }
    }
    let mut want4 = v4.clone();
    want4.sort();
    got4.sort();
    assert_eq!(got4, want4);
    assert_eq!(got6.len(), v6.len());

    out.clear();
    let n = encode_withdraw(&mixed, &mut out);
    let ups = decode_all(&out, &CTX4);
    assert_eq!(ups.len(), n);
    let mut got: Vec<Prefix> = ups.iter().flat_map(|u| u.withdrawn.clone()).collect();
    let mut want = mixed.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn packer_errors() {
    let mut out = vec![1, 2, 3];
    let no_nh = Attrs::default();
    assert_eq!(
        encode_announce(&no_nh, &[p("2001:db8::/32")], &CTX4, &mut out),
        Err(EncodeError::MissingNextHop(Afi::Ipv6))
    );
    let huge = Attrs {
        next_hop: Some(Ipv4Addr::new(10, 0, 0, 1)),
        communities: vec![1; 1100],
        ..Attrs::default()
    };
    assert!(matches!(
        encode_announce(&huge, &[p("10.0.0.0/8")], &CTX4, &mut out),
        Err(EncodeError::TooLong { .. })
    ));
    let u = Update {
        announced: vec![p("10.0.0.0/8")],
        attrs: Some(huge),
        ..Update::default()
    };
    assert!(encode(&Message::Update(u), &CTX4, &mut out).is_err());
    assert_eq!(out, vec![1, 2, 3]);
    // Nothing to announce: no messages.
    assert_eq!(encode_announce(&no_nh, &[], &CTX4, &mut out), Ok(0));
    assert_eq!(encode_withdraw(&[], &mut out), 0);
}
