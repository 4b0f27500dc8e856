//! Hand-built vectors for framing, OPEN and the small message types.

use super::*;
use crate::bgp::types::{Capability, GrFamily, GracefulRestartCap, Open};

/// A full message of type `typ` around `body`.
pub(super) fn msg(typ: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xFF; 16];
    m.extend_from_slice(&((body.len() + 19) as u16).to_be_bytes());
    m.push(typ);
    m.extend_from_slice(body);
    m
}

pub(super) fn err_code(r: Result<Decoded, DecodeError>) -> (u8, u8, Vec<u8>) {
    let e = r.expect_err("expected a session reset");
    (
        e.notification.code,
        e.notification.subcode,
        e.notification.data,
    )
}

const CTX4: Ctx = Ctx {
    four_octet_as: true,
    ibgp: false,
    families: AfiSet::ALL,
};

#[test]
fn frame_checks_marker_and_length() {
    let ka = msg(4, &[]);
    assert_eq!(frame(&ka[..10]), Ok(None));
    assert_eq!(frame(&ka[..18]), Ok(None));
    assert_eq!(frame(&ka), Ok(Some(19)));
    let mut two = ka.clone();
    two.extend_from_slice(&msg(2, &[0, 0, 0, 0]));
    assert_eq!(frame(&two), Ok(Some(19)));
    // A bad marker is seen as soon as its byte arrives.
    let e = frame(&[0xFF, 0xFF, 0x00]).unwrap_err();
    assert_eq!((e.notification.code, e.notification.subcode), (1, 1));
    let mut short = ka.clone();
    short[16..18].copy_from_slice(&18u16.to_be_bytes());
    let e = frame(&short).unwrap_err();
    assert_eq!(
        (
            e.notification.code,
            e.notification.subcode,
            e.notification.data
        ),
        (1, 2, vec![0, 18])
    );
    let mut long = ka.clone();
    long[16..18].copy_from_slice(&4097u16.to_be_bytes());
    assert_eq!(frame(&long).unwrap_err().notification.subcode, 2);
}

#[test]
fn keepalive_and_header_errors() {
    let ka = msg(4, &[]);
    assert_eq!(decode(&ka, &CTX4).unwrap().message, Message::Keepalive);
    let mut out = Vec::new();
    encode(&Message::Keepalive, &CTX4, &mut out).unwrap();
    assert_eq!(out, ka);
    // KEEPALIVE must be exactly 19 bytes.
    assert_eq!(err_code(decode(&msg(4, &[0]), &CTX4)), (1, 2, vec![0, 20]));
    assert_eq!(err_code(decode(&msg(9, &[]), &CTX4)), (1, 3, vec![9]));
    // OPEN shorter than 29 bytes, UPDATE shorter than 23.
    assert_eq!(err_code(decode(&msg(1, &[4; 9]), &CTX4)).1, 2);
    assert_eq!(err_code(decode(&msg(2, &[0, 0, 0]), &CTX4)).1, 2);
    // Length field disagreeing with the slice given.
    let mut extra = ka.clone();
    extra.push(0);
    assert_eq!(err_code(decode(&extra, &CTX4)).1, 2);
}

#[test]
fn notification_and_route_refresh() {
    let n = msg(3, &[6, 2, b'b', b'y', b'e']);
    let d = decode(&n, &CTX4).unwrap();
    let want = Message::Notification(Notification {
        code: 6,
        subcode: 2,
        data: b"bye".to_vec(),
    });
    assert_eq!(d.message, want);
    let mut out = Vec::new();
    encode(&want, &CTX4, &mut out).unwrap();
    assert_eq!(out, n);
    // Oversized data is cut to fit one message.
    let big = Message::Notification(Notification {
        code: 3,
        subcode: 1,
        data: vec![7; 5000],
    });
    out.clear();
    encode(&big, &CTX4, &mut out).unwrap();
    assert_eq!(out.len(), MAX_MESSAGE_LEN);
    assert!(decode(&out, &CTX4).is_ok());

    let rr = msg(5, &[0, 2, 0, 1]);
    let want = Message::RouteRefresh { afi: 2, safi: 1 };
    assert_eq!(decode(&rr, &CTX4).unwrap().message, want);
    out.clear();
    encode(&want, &CTX4, &mut out).unwrap();
    assert_eq!(out, rr);
    // RFC 7313: wrong length is ROUTE-REFRESH Message Error / Invalid Message Length.
    let bad = msg(5, &[0, 2, 0, 1, 0]);
    assert_eq!(err_code(decode(&bad, &CTX4)), (7, 1, bad.clone()));
}

/// OPEN from AS 65777 (AS_TRANS in My AS), hold 90, id 10.0.0.1, capabilities split
/// over two optional parameters, including unknown ones.
fn open_vector() -> Vec<u8> {
    let mut b = vec![4, 0x5B, 0xA0, 0, 90, 10, 0, 0, 1];
    let p1: &[u8] = &[
        2, 14, // Capabilities parameter, 14 bytes
        1, 4, 0, 1, 0, 1, // MP IPv4 unicast
        1, 4, 0, 2, 0, 1, // MP IPv6 unicast
        2, 0, // route refresh
    ];
    let p2: &[u8] = &[
        2, 22, // second Capabilities parameter
        65, 4, 0, 1, 0, 0xF1, // 4-octet AS 65777
        64, 6, 0x80, 120, 0, 1, 1, 0x80, // GR: R bit, 120 s, IPv4 unicast F bit
        70, 0, // enhanced route refresh (unknown here)
        1, 4, 0, 25, 0, 70, // MP L2VPN EVPN (unknown pair, kept)
    ];
    b.push((p1.len() + p2.len()) as u8);
    b.extend_from_slice(p1);
    b.extend_from_slice(p2);
    msg(1, &b)
}

#[test]
fn open_with_capabilities() {
    let d = decode(&open_vector(), &CTX4).unwrap();
    let Message::Open(o) = d.message else {
        panic!("not an OPEN")
    };
    assert_eq!(o.asn, 65777);
    assert_eq!(o.hold_time, 90);
    assert_eq!(
        o.router_id,
        "10.0.0.1".parse::<std::net::Ipv4Addr>().unwrap()
    );
    assert_eq!(
        o.capabilities,
        vec![
            Capability::Multiprotocol { afi: 1, safi: 1 },
            Capability::Multiprotocol { afi: 2, safi: 1 },
            Capability::RouteRefresh,
            Capability::FourOctetAs(65777),
            Capability::GracefulRestart(GracefulRestartCap {
                restart_state: true,
                restart_time: 120,
                families: vec![GrFamily {
                    afi: 1,
                    safi: 1,
                    forwarding_preserved: true
                }],
            }),
            Capability::Unknown {
                code: 70,
                value: vec![]
            },
            Capability::Multiprotocol { afi: 25, safi: 70 },
        ]
    );
    // Re-encoded: one parameter, My AS = AS_TRANS, same capabilities.
    let mut out = Vec::new();
    encode(&Message::Open(o.clone()), &CTX4, &mut out).unwrap();
    assert_eq!(&out[20..22], &[0x5B, 0xA0]);
    assert_eq!(decode(&out, &CTX4).unwrap().message, Message::Open(o));
}

fn open_body(version: u8, asn: u16, hold: u16, id: [u8; 4], params: &[u8]) -> Vec<u8> {
    let mut b = vec![version];
    b.extend_from_slice(&asn.to_be_bytes());
    b.extend_from_slice(&hold.to_be_bytes());
    b.extend_from_slice(&id);
    b.push(params.len() as u8);
    b.extend_from_slice(params);
    msg(1, &b)
}

#[test]
fn open_errors_use_rfc4271_subcodes() {
    let id = [192, 0, 2, 1];
    let ok = open_body(4, 65001, 90, id, &[]);
    assert!(decode(&ok, &CTX4).is_ok());
    assert_eq!(
        err_code(decode(&open_body(3, 65001, 90, id, &[]), &CTX4)),
        (2, 1, vec![0, 4])
    );
    assert_eq!(err_code(decode(&open_body(4, 0, 90, id, &[]), &CTX4)).1, 2);
    // AS 0 in the 4-octet AS capability (RFC 7607).
    let cap0 = [2, 6, 65, 4, 0, 0, 0, 0];
    assert_eq!(
        err_code(decode(&open_body(4, 23456, 90, id, &cap0), &CTX4)).1,
        2
    );
    assert_eq!(
        err_code(decode(&open_body(4, 65001, 90, [0; 4], &[]), &CTX4)).1,
        3
    );
    assert_eq!(
        err_code(decode(&open_body(4, 65001, 1, id, &[]), &CTX4)).1,
        6
    );
    assert_eq!(
        err_code(decode(&open_body(4, 65001, 2, id, &[]), &CTX4)).1,
        6
    );
    assert!(decode(&open_body(4, 65001, 0, id, &[]), &CTX4).is_ok());
    assert!(decode(&open_body(4, 65001, 3, id, &[]), &CTX4).is_ok());
    // Authentication parameter (type 1) is not supported.
    assert_eq!(
        err_code(decode(&open_body(4, 65001, 90, id, &[1, 1, 0]), &CTX4)).1,
        4
    );
    // A capability running past its parameter.
    assert_eq!(
        err_code(decode(
            &open_body(4, 65001, 90, id, &[2, 3, 65, 4, 0]),
            &CTX4
        ))
        .1,
        0
    );
    // Parameter length disagreeing with the message.
    let mut bad = open_body(4, 65001, 90, id, &[2, 2, 2, 0]);
    bad[28] = 5;
    assert_eq!(err_code(decode(&bad, &CTX4)).1, 0);
    // A 2-octet OPEN without the capability: asn from My AS.
    let Message::Open(o) = decode(&ok, &CTX4).unwrap().message else {
        panic!()
    };
    assert_eq!(o.asn, 65001);
    assert!(o.capabilities.is_empty());
}

#[test]
fn open_extended_optional_parameters() {
    // RFC 9072: 255, 255, 2-byte length, parameters with 2-byte lengths.
    let caps: &[u8] = &[65, 4, 0, 0, 0xFD, 0xE9, 2, 0];
    let mut params = vec![255, 0, (caps.len() + 3) as u8, 2, 0, caps.len() as u8];
    params.extend_from_slice(caps);
    let mut b = vec![4, 0xFD, 0xE9, 0, 90, 1, 2, 3, 4, 255];
    b.extend_from_slice(&params);
    let Message::Open(o) = decode(&msg(1, &b), &CTX4).unwrap().message else {
        panic!()
    };
    assert_eq!(
        o.capabilities,
        vec![Capability::FourOctetAs(65001), Capability::RouteRefresh]
    );
    // Large capability sets are encoded in the extended form and read back.
    let big = Open {
        version: 4,
        asn: 4_200_000_000,
        hold_time: 9,
        router_id: "10.1.1.1".parse().unwrap(),
        capabilities: (0..60u8)
            .map(|i| Capability::Unknown {
                code: 100 + i,
                value: vec![i; 3],
            })
            .chain([Capability::FourOctetAs(4_200_000_000)])
            .collect(),
    };
    let mut out = Vec::new();
    encode(&Message::Open(big.clone()), &CTX4, &mut out).unwrap();
    assert_eq!(out[28], 255);
    assert_eq!(decode(&out, &CTX4).unwrap().message, Message::Open(big));
}
