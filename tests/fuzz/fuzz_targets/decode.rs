//! Fuzz target: frame and decode arbitrary bytes as a session would, with 4-octet and
//! 2-octet AS contexts (iBGP and eBGP). Any panic is a bug; decoded UPDATEs must hold no
//! more prefixes than input bytes, and every decoded message must re-encode.
#![no_main]

use kube_bgp::bgp::types::Message;
use kube_bgp::bgp::wire::{self, Ctx};
use libfuzzer_sys::fuzz_target;

const CTXS: [Ctx; 3] = [
    Ctx {
        four_octet_as: true,
        ibgp: true,
        families: AfiSet::ALL,
    },
    Ctx {
        four_octet_as: false,
        ibgp: false,
        families: AfiSet::ALL,
    },
    Ctx {
        four_octet_as: false,
        ibgp: true,
        families: AfiSet::ALL,
    },
];

fuzz_target!(|data: &[u8]| {
    let mut buf = data;
    let mut out = Vec::new();
    // Walk the buffer like a receive loop; stop at the first framing error.
    while let Ok(Some(n)) = wire::frame(buf) {
        let Some((msg, rest)) = buf.split_at_checked(n) else {
            break;
        };
        for ctx in &CTXS {
            if let Ok(d) = wire::decode(msg, ctx) {
                if let Message::Update(u) = &d.message {
                    assert!(u.announced.len() + u.withdrawn.len() <= msg.len());
                }
                out.clear();
                // Encoding what was decoded may fail (e.g. too long once re-packed) but
                // must not panic.
                let _ = wire::encode(&d.message, ctx, &mut out);
            }
        }
        buf = rest;
    }
    // The unframed bytes as one message too (the decoder checks the header itself).
    for ctx in &CTXS {
        let _ = wire::decode(data, ctx);
    }
});
