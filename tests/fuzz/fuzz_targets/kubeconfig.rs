//! Fuzz target: arbitrary text as a kubeconfig. It must load or fail with an error naming
//! the field, never panic; aliases are refused and sizes capped. Inputs naming device,
//! proc or sys files are skipped (a kubeconfig may name any file to read; the fuzzer
//! must not read a terminal). Relative paths resolve in a directory that does not exist.
#![no_main]

use std::path::Path;

use kube_bgp::kube::kubeconfig::from_str;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if ["/dev", "/proc", "/sys", "/run"]
        .iter()
        .any(|p| text.contains(p))
    {
        return;
    }
    let base = Path::new("/nonexistent-kube-bgp-fuzz");
    for master in [None, Some("https://192.0.2.1:6443")] {
        if let Err(e) = from_str(&text, "kubeconfig fuzz", base, master) {
            assert!(e.to_string().starts_with("kubeconfig fuzz"), "{e}");
        }
    }
});
