//! Fuzz target: arbitrary bytes as a control-socket request (one JSON line) and as an
//! HTTP request head on the metrics and health endpoints. Each must parse or be refused
//! with a message, never panic. Any panic is a bug.
#![no_main]

use kube_bgp::daemon::views::parse_ctl_request;
use kube_bgp::ops::http::{parse_request, request_complete};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = parse_ctl_request(data) {
        assert!(!e.is_empty());
    }
    let _ = request_complete(data);
    if let Some((method, path)) = parse_request(data) {
        assert!(method.len() <= data.len() && path.len() <= data.len());
    }
});
