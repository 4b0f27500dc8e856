//! The committed seed corpora of the BGP fuzz targets (tests/fuzz/seeds/<target>/):
//! valid messages of every type encoded by kube-bgp's codec and the RFC 7606 cases, each
//! behind the context byte the targets read first. `cargo test --test fuzz_seeds --
//! --ignored` writes them again; the ordinary test checks that every committed seed
//! exists and goes through the decoder (no fuzzing engine needed).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use kube_bgp::bgp::types::{
    Aggregator, AsPath, AsSegment, Attrs, Capability, GrFamily, GracefulRestartCap, Message,
    MpNextHop, Notification, Open, Origin, Update,
};
use kube_bgp::bgp::wire::{self, AfiSet, Ctx};
use kube_bgp::prefix::{Afi, Prefix};

fn seeds_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/seeds")
        .join(target)
}

fn enc(m: &Message, ctx: &Ctx) -> Vec<u8> {
    let mut out = Vec::new();
    wire::encode(m, ctx, &mut out).unwrap_or_else(|e| panic!("encode {m:?}: {e}"));
    out
}

fn raw(typ: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xFF; 16];
    m.extend_from_slice(&((body.len() + 19) as u16).to_be_bytes());
    m.push(typ);
    m.extend_from_slice(body);
    m
}

fn attr(flags: u8, code: u8, value: &[u8]) -> Vec<u8> {
    let mut a = vec![flags, code, value.len() as u8];
    a.extend_from_slice(value);
    a
}

fn update(withdrawn: &[u8], attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut b = (withdrawn.len() as u16).to_be_bytes().to_vec();
    b.extend_from_slice(withdrawn);
    b.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    b.extend_from_slice(attrs);
    b.extend_from_slice(nlri);
    raw(2, &b)
}

fn p(s: &str) -> Prefix {
    s.parse().expect("prefix")
}

fn open(asn: u32, families: &[Afi], gr: bool, hold: u16) -> Message {
    let mut caps: Vec<Capability> = families
        .iter()
        .map(|a| Capability::Multiprotocol {
            afi: a.code(),
            safi: 1,
        })
        .collect();
    caps.push(Capability::RouteRefresh);
    caps.push(Capability::FourOctetAs(asn));
    if gr {
        caps.push(Capability::GracefulRestart(GracefulRestartCap {
            restart_state: false,
            restart_time: 120,
            families: families
                .iter()
                .map(|a| GrFamily {
                    afi: a.code(),
                    safi: 1,
                    forwarding_preserved: true,
                })
                .collect(),
        }));
    }
    Message::Open(Open {
        version: 4,
        asn,
        hold_time: hold,
        router_id: Ipv4Addr::new(10, 0, 0, 2),
        capabilities: caps,
    })
}

fn v4_attrs(asn: u32) -> Attrs {
    Attrs {
        origin: Origin::Igp,
        as_path: AsPath {
            segments: vec![AsSegment::Sequence(vec![asn, 4_200_000_001])],
        },
        next_hop: Some(Ipv4Addr::new(10, 0, 0, 2)),
        med: Some(10),
        communities: vec![0xFDE8_0001],
        aggregator: Some(Aggregator {
            asn,
            addr: Ipv4Addr::new(10, 0, 0, 2),
        }),
        ..Attrs::default()
    }
}

fn v6_attrs(asn: u32) -> Attrs {
    Attrs {
        origin: Origin::Igp,
        as_path: AsPath {
            segments: vec![AsSegment::Sequence(vec![asn])],
        },
        mp_next_hop: Some(MpNextHop {
            addr: IpAddr::V6("2001:db8::2".parse::<Ipv6Addr>().expect("v6")),
            link_local: Some("fe80::2".parse().expect("ll")),
        }),
        ..Attrs::default()
    }
}

/// Valid messages of every type and the RFC 7606 vectors, for one context.
fn messages(ctx: &Ctx, asn: u32) -> Vec<(String, Vec<u8>)> {
    let mut v = vec![
        ("keepalive".to_string(), enc(&Message::Keepalive, ctx)),
        (
            "open".into(),
            enc(&open(asn, &[Afi::Ipv4, Afi::Ipv6], true, 90), ctx),
        ),
        (
            "notification".into(),
            enc(
                &Message::Notification(Notification {
                    code: 6,
                    subcode: 1,
                    data: vec![0, 1, 1, 0, 0, 0, 50],
                }),
                ctx,
            ),
        ),
        (
            "route-refresh".into(),
            enc(&Message::RouteRefresh { afi: 1, safi: 1 }, ctx),
        ),
        (
            "update-v4".into(),
            enc(
                &Message::Update(Update {
                    withdrawn: vec![p("10.9.0.0/16")],
                    announced: vec![p("10.100.1.0/24"), p("10.100.2.128/25")],
                    attrs: Some(v4_attrs(asn)),
                    end_of_rib: None,
                }),
                ctx,
            ),
        ),
        (
            "update-v6".into(),
            enc(
                &Message::Update(Update {
                    withdrawn: vec![p("2001:db8:9::/48")],
                    announced: vec![p("2001:db8:1::/48"), p("::/0")],
                    attrs: Some(v6_attrs(asn)),
                    end_of_rib: None,
                }),
                ctx,
            ),
        ),
    ];
    let mut eor = Vec::new();
    wire::encode_end_of_rib(Afi::Ipv4, &mut eor);
    wire::encode_end_of_rib(Afi::Ipv6, &mut eor);
    v.push(("end-of-rib".into(), eor));
    // RFC 7606 cases (the decoder tests have one per case).
    let mut path = vec![2, 1];
    path.extend_from_slice(&asn.to_be_bytes());
    let base = [
        attr(0x40, 1, &[0]),
        attr(0x40, 2, &path),
        attr(0x40, 3, &[10, 0, 0, 2]),
    ]
    .concat();
    let nlri = [24, 10, 100, 1];
    let with = |extra: Vec<u8>| update(&[], &[base.clone(), extra].concat(), &nlri);
    for (name, m) in [
        ("7606-bad-med", with(attr(0x80, 4, &[0, 1]))),
        (
            "7606-bad-origin",
            update(&[], &[attr(0x40, 1, &[5])].concat(), &nlri),
        ),
        ("7606-flags", with(attr(0xC0, 6, &[]))),
        ("7606-ebgp-rr", with(attr(0x80, 9, &[1, 2, 3]))),
        (
            "7606-dup",
            with([attr(0x80, 4, &[0; 4]), attr(0x80, 4, &[0; 4])].concat()),
        ),
        ("7606-overrun", with(vec![0x80, 4, 9, 0, 0])),
        (
            "7606-dup-mp",
            with([attr(0x80, 15, &[0, 2, 1]), attr(0x80, 15, &[0, 2, 1])].concat()),
        ),
        ("7606-nlri", update(&[], &base, &[33, 1, 2, 3, 4, 5])),
        (
            "7606-no-nlri",
            update(
                &[24, 10, 1, 2],
                &[base.clone(), attr(0x80, 4, &[1])].concat(),
                &[],
            ),
        ),
    ] {
        v.push((name.into(), m));
    }
    v
}

/// The contexts the targets select with their first byte (see the targets' `ctx_of`).
const CONTEXT_BYTES: [u8; 4] = [0b1000, 0b1011, 0b1010, 0b0001];

fn message_seeds() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for sel in CONTEXT_BYTES {
        let ctx = Ctx {
            four_octet_as: sel & 1 != 0,
            ibgp: sel & 2 != 0,
            families: AfiSet::ALL,
        };
        for (name, m) in messages(&ctx, 65001) {
            let mut seed = vec![sel];
            seed.extend_from_slice(&m);
            out.push((format!("ctx{sel:02x}-{name}"), seed));
        }
    }
    out
}

/// Sessions from the peer's side: OPEN, KEEPALIVE, routes, End-of-RIB, then one of the
/// messages above (the byte selects the target's configuration).
fn session_seeds() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    // sel: bit 0 iBGP, bits 1-2 families, bit 3 GR, bit 4 hold 0 accepted, bit 5 RR, bit 6
    // prefix limit 3.
    for sel in [0b0000_0100u8, 0b0000_1101, 0b0110_0101, 0b0001_0100] {
        let asn = if sel & 1 != 0 { 65000 } else { 65001 };
        let ctx = Ctx {
            four_octet_as: true,
            ibgp: sel & 1 != 0,
            families: AfiSet::ALL,
        };
        let hold = if sel & 16 != 0 { 0 } else { 90 };
        let mut start = vec![sel];
        start.extend(enc(
            &open(asn, &[Afi::Ipv4, Afi::Ipv6], sel & 8 != 0, hold),
            &ctx,
        ));
        start.extend(enc(&Message::Keepalive, &ctx));
        for (name, m) in messages(&ctx, asn) {
            if name == "open" {
                continue;
            }
            let mut seed = start.clone();
            seed.extend(&m);
            seed.extend(enc(&Message::Keepalive, &ctx));
            out.push((format!("sel{sel:02x}-{name}"), seed));
        }
    }
    out
}

/// (file name, bytes) of one seed.
type Seed = (String, Vec<u8>);

fn all_seeds() -> Vec<(&'static str, Vec<Seed>)> {
    vec![
        ("bgp_message", message_seeds()),
        ("bgp_session", session_seeds()),
    ]
}

#[test]
#[ignore = "writes tests/fuzz/seeds; run by hand after changing the seeds"]
fn write_seeds() {
    for (target, seeds) in all_seeds() {
        let dir = seeds_dir(target);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        for (name, bytes) in seeds {
            std::fs::write(dir.join(name), bytes).expect("write seed");
        }
    }
}

#[test]
fn committed_seeds_match_and_decode() {
    for (target, seeds) in all_seeds() {
        let dir = seeds_dir(target);
        for (name, bytes) in &seeds {
            let path = dir.join(name);
            let committed = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("{}: {e} (write them: --ignored)", path.display()));
            assert_eq!(&committed, bytes, "{} is stale", path.display());
            // Every message of the seed goes through the decoder without a panic.
            let (&sel, mut buf) = committed.split_first().expect("not empty");
            let ctx = Ctx {
                four_octet_as: sel & 1 != 0,
                ibgp: sel & 2 != 0,
                families: AfiSet::ALL,
            };
            while let Ok(Some(n)) = wire::frame(buf) {
                let (m, rest) = buf.split_at(n);
                let _ = wire::decode(m, &ctx);
                buf = rest;
            }
        }
        let on_disk = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
        assert_eq!(
            on_disk,
            seeds.len(),
            "{target}: unexpected files in {}",
            dir.display()
        );
    }
}
