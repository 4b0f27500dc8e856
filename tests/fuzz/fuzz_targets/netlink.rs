//! Fuzz target: arbitrary bytes as rtnetlink replies and notifications: message framing,
//! attributes, error payloads, route, address and link messages, and the notification
//! classifier the daemon runs on every datagram. Any panic is a bug.
#![no_main]

use kube_bgp::kernel::Changes;
use kube_bgp::kernel::addr::parse_addr;
use kube_bgp::kernel::codec::{attrs, messages, parse_error};
use kube_bgp::kernel::route::parse_route;
use kube_bgp::kernel::tunnel::parse_link;
use kube_bgp::kernel::watch::classify;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for m in messages(data).take(1024) {
        let Ok(m) = m else { break };
        let _ = parse_error(m.flags, m.payload);
        let _ = parse_route(m.payload);
        let _ = parse_addr(m.payload);
        let _ = parse_link(m.payload);
        assert!(attrs(m.payload).count() <= m.payload.len());
    }
    let mut ch = Changes::default();
    classify(data, &mut ch);
    assert!(ch.routes.len() <= data.len());
});
