//! The BGP ingest path without sockets: N IPv4 /24s (from 16.0.0.0, as the shared
//! harness's injector sends them: one attribute set, UPDATEs packed to 4096 bytes) are
//! encoded once, then each round decodes every message and applies it to a fresh RIB
//! with one established eBGP peer and a second eBGP peer's export group that takes no
//! learned routes (kube-bgp towards an external router), then drains the exports and the
//! best-path changes as the daemon does. Prints each phase's time (median over rounds)
//! and the RIB's storage estimate.
//!
//! `cargo run --release --example ingest_bench -- [-n 1000000] [--rounds 5]`

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use kube_bgp::bgp::rib::{PeerInfo, Policy, Rib, RibConfig, ScanOrder, Source};
use kube_bgp::bgp::types::{AsPath, AsSegment, Attrs, Message, Origin};
use kube_bgp::bgp::wire;
use kube_bgp::prefix::{Afi, Prefix};

/// kube-router's shape towards external peers: accept imports, export no learned path.
struct External;

impl Policy for External {
    fn export(&self, _: &PeerInfo, _: &Prefix, s: Source<'_>, _: &mut Cow<'_, Attrs>) -> bool {
        matches!(s, Source::Local)
    }

    fn exports_learned(&self, _: &PeerInfo) -> bool {
        false
    }
}

fn peer(n: u8, asn: u32) -> PeerInfo {
    PeerInfo {
        addr: IpAddr::V4(Ipv4Addr::new(10, 255, 0, n)),
        remote_asn: asn,
        local_asn: 65000,
        router_id: Ipv4Addr::new(10, 255, 0, n),
        ibgp: false,
        rr_client: false,
        families: vec![Afi::Ipv4],
        local_addr_v4: Some(Ipv4Addr::new(10, 255, 0, 2)),
        local_addr_v6: None,
        next_hop_self: false,
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() -> Result<(), String> {
    let mut n = 1_000_000u32;
    let mut rounds = 5u32;
    let mut args = lexopt::Parser::from_env();
    while let Some(arg) = args.next().map_err(|e| e.to_string())? {
        use lexopt::prelude::*;
        let num = |a: &mut lexopt::Parser| -> Result<u32, String> {
            a.value()
                .map_err(|e| e.to_string())?
                .parse::<u32>()
                .map_err(|e| e.to_string())
        };
        match arg {
            Short('n') => n = num(&mut args)?,
            Long("rounds") => rounds = num(&mut args)?.max(1),
            _ => return Err(arg.unexpected().to_string()),
        }
    }
    let ctx = wire::Ctx {
        four_octet_as: true,
        ibgp: false,
        families: wire::AfiSet::ALL,
    };
    let attrs = Attrs {
        origin: Origin::Igp,
        as_path: AsPath {
            segments: vec![AsSegment::Sequence(vec![65001])],
        },
        next_hop: Some(Ipv4Addr::new(10, 255, 0, 1)),
        ..Attrs::default()
    };
    let prefixes: Vec<Prefix> = (0..n)
        .map(|i| Prefix::V4(Ipv4Addr::from(0x1000_0000u32.wrapping_add(i << 8)), 24))
        .collect();
    let mut stream = Vec::new();
    let msgs =
        wire::encode_announce(&attrs, &prefixes, &ctx, &mut stream).map_err(|e| e.to_string())?;
    println!("{n} prefixes in {msgs} UPDATEs, {} bytes", stream.len());
    let (mut t_decode, mut t_rib, mut t_out, mut t_best) = (vec![], vec![], vec![], vec![]);
    let mut heap = 0;
    for _ in 0..rounds {
        let mut rib = Rib::new(
            RibConfig {
                router_id: Ipv4Addr::new(10, 255, 0, 2),
                cluster_id: None,
            },
            Box::new(External),
        );
        let src = rib.add_peer(peer(1, 65001));
        rib.peer_up(src, peer(1, 65001))
            .map_err(|e| e.to_string())?;
        let other = rib.add_peer(peer(3, 65003));
        rib.peer_up(other, peer(3, 65003))
            .map_err(|e| e.to_string())?;
        rib.take_out();
        // Decode everything first (timed), then apply (timed), as separate phases.
        let t = Instant::now();
        let mut updates = Vec::with_capacity(msgs);
        let mut at = 0;
        while at < stream.len() {
            let len = wire::frame(&stream[at..])
                .map_err(|e| e.reason)?
                .ok_or("truncated stream")?;
            let d = wire::decode(&stream[at..at + len], &ctx).map_err(|e| e.reason)?;
            if let Message::Update(u) = d.message {
                updates.push(u);
            }
            at += len;
        }
        t_decode.push(t.elapsed());
        let t = Instant::now();
        for u in updates {
            rib.apply_update(src, u).map_err(|e| e.to_string())?;
        }
        t_rib.push(t.elapsed());
        let t = Instant::now();
        while rib.has_out() {
            rib.take_out_max(64 * 1024);
        }
        t_out.push(t.elapsed());
        let t = Instant::now();
        let mut taken = 0;
        loop {
            let c = rib.take_best_changed(16 * 1024, ScanOrder::BitReversed);
            taken += c.len();
            if c.is_empty() {
                break;
            }
        }
        t_best.push(t.elapsed());
        if taken != n as usize {
            return Err(format!("{taken} best changes for {n} prefixes"));
        }
        heap = rib.heap_bytes();
    }
    let (d, r, o, b) = (
        median(t_decode),
        median(t_rib),
        median(t_out),
        median(t_best),
    );
    println!(
        "median of {rounds}: decode {d:?}, RIB apply {r:?}, exports {o:?}, best changes {b:?}; \
         decode+apply {:?} = {:.0} ns/prefix; RIB storage {:.1} MB",
        d + r,
        (d + r).as_nanos() as f64 / f64::from(n),
        heap as f64 / 1e6
    );
    Ok(())
}
