//! Fuzz target: the `kube-router.io/peers` annotation (YAML) with arbitrary text. It
//! must parse or fail with a message, never panic, and never expand aliases (they are
//! refused), so time and memory stay linear in the input. Any panic is a bug.
#![no_main]

use kube_bgp::cluster::peers::parse_peers_yaml;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(peers) = parse_peers_yaml(&text) {
        // No more peers than input bytes: nothing was expanded.
        assert!(
            peers.len() <= data.len(),
            "{} peers from {} bytes",
            peers.len(),
            data.len()
        );
    }
});
