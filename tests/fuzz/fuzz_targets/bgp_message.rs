//! Fuzz target: a stream of BGP messages, framed like a session's receive loop and
//! decoded under a negotiated context chosen by the first input byte (4-octet AS or
//! not, iBGP or eBGP, negotiated families; add-path is never negotiated).
//!
//! Fails on: a panic; an UPDATE holding more prefixes than input bytes, or routes of a
//! family not negotiated, or announced routes without attributes and a next hop for
//! their family; a message that decodes, re-encodes and is then refused by the decoder.
#![no_main]

use kube_bgp::bgp::types::Message;
use kube_bgp::bgp::wire::{self, AfiSet, Ctx};
use libfuzzer_sys::fuzz_target;

/// The context selected by one byte: bit 0 4-octet AS, bit 1 iBGP, bits 2-3 families.
fn ctx_of(b: u8) -> Ctx {
    Ctx {
        four_octet_as: b & 1 != 0,
        ibgp: b & 2 != 0,
        families: match (b >> 2) & 3 {
            0 => AfiSet::IPV4,
            1 => AfiSet::IPV6,
            2 => AfiSet::ALL,
            _ => AfiSet::NONE,
        },
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, mut buf)) = data.split_first() else {
        return;
    };
    let ctx = ctx_of(sel);
    let mut out = Vec::new();
    // Stop at the first framing error, as a session does.
    while let Ok(Some(n)) = wire::frame(buf) {
        let Some((msg, rest)) = buf.split_at_checked(n) else {
            break;
        };
        buf = rest;
        let Ok(d) = wire::decode(msg, &ctx) else {
            continue;
        };
        if let Message::Update(u) = &d.message {
            assert!(u.announced.len() + u.withdrawn.len() <= msg.len());
            for p in u.announced.iter().chain(&u.withdrawn) {
                assert!(ctx.families.contains(p.afi()), "{p} not negotiated");
            }
            if !u.announced.is_empty() {
                let a = u.attrs.as_ref().expect("announced routes carry attributes");
                for p in &u.announced {
                    assert!(a.next_hop_for(p.afi()).is_some(), "{p} without next hop");
                }
            }
        }
        out.clear();
        if wire::encode(&d.message, &ctx, &mut out).is_ok()
            && let Err(e) = wire::decode(&out, &ctx)
        {
            panic!("{:?} re-encoded is refused: {e}", d.message);
        }
    }
});
