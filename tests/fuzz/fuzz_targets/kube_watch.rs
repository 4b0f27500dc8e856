//! Fuzz target: arbitrary bytes as an API server's watch body and as a List body, for
//! every watched kind; each decoded event is turned into an object, applied to a
//! snapshot, and the plan is computed from it. Any panic is a bug.
#![no_main]

use kube_bgp::cluster::{self, Settings};
use kube_bgp::kube::decoder::{Frame, WatchDecoder, decode_list};
use kube_bgp::kube::objects::{Item, KubeObject, ResourceKind};
use kube_bgp::kube::snapshot::{KubeEvent, Snapshot};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut snap = Snapshot::new();
    // Bounded: at most 64 frames per input.
    for frame in WatchDecoder::with_cap(data, 1 << 20).take(64) {
        let Ok(Frame::Event { type_, object }) = frame else {
            continue;
        };
        for kind in ResourceKind::ALL {
            if let Item::Ok(o) = KubeObject::from_value(kind, object.clone()) {
                let ev = if type_ == "DELETED" {
                    KubeEvent::Delete(o)
                } else {
                    KubeEvent::Upsert(o)
                };
                snap.apply(ev);
            }
        }
    }
    for kind in ResourceKind::ALL {
        if let Ok(page) = decode_list(kind, data) {
            let objects = page
                .items
                .into_iter()
                .filter_map(|i| match i {
                    Item::Ok(o) => Some(o),
                    Item::Bad { .. } => None,
                })
                .collect();
            snap.apply(KubeEvent::Replaced { kind, objects });
        }
    }
    let names: Vec<String> = snap.nodes.keys().take(4).cloned().collect();
    for name in names {
        let _ = cluster::plan(&Settings::default(), &name, &snap, &Default::default());
    }
});
