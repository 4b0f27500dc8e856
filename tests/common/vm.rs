//! Tests that need kernel features this machine may lack (ipip, ip6tnl and FoU/GUE
//! tunnels) run where the kernel has them: here when it does, otherwise inside the VM
//! lab (`tests/vm/run.sh`: QEMU with Debian's kernel, this machine's filesystem shared
//! read-only), where the same test binary runs just that one test.
//!
//! Owns: the decision (here or in a VM) and the runner process (its output is printed
//! when it ends; the runner itself always tears its VM down). Must not: skip a test
//! whose VM ran — a VM that cannot boot fails the test under CI (`CI=true`) and is a
//! loud skip elsewhere, like a missing tool.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Modules a tunnel test needs (loaded, built in, or loadable from `/lib/modules`).
const TUNNEL_MODULES: [&str; 4] = ["ipip", "ip6_tunnel", "fou", "fou6"];

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Whether this process runs inside the VM lab.
pub fn in_vm() -> bool {
    std::env::var("KB_IN_VM").is_ok_and(|v| v == "1")
}

/// Whether this kernel can make ipip, ip6tnl and FoU/GUE tunnels: each module is
/// loaded, built in or listed in the running kernel's `modules.dep`.
pub fn kernel_has_tunnels() -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let dir = Path::new("/lib/modules").join(release.trim());
    let dep = std::fs::read_to_string(dir.join("modules.dep")).unwrap_or_default();
    let builtin = std::fs::read_to_string(dir.join("modules.builtin")).unwrap_or_default();
    TUNNEL_MODULES.iter().all(|m| {
        Path::new("/sys/module").join(m).exists()
            || kube_bgp::kernel::modules::load_order(&dep, m).is_some()
            || builtin.lines().any(|l| l.ends_with(&format!("/{m}.ko")))
    })
}

/// Call first in a test that needs tunnels. True: run the test here (this kernel has
/// them, or this is the VM). False: the test has just run inside a VM lab and passed
/// there (a failure there panics here, with the VM's output); the caller returns.
/// `KB_VM=1` sends the test to a VM even when this kernel could run it.
pub fn here_or_in_vm(test: &str, timeout: Duration) -> bool {
    if !super::require_root(test) {
        return false;
    }
    let forced = std::env::var("KB_VM").is_ok_and(|v| v == "1");
    if in_vm() || (!forced && kernel_has_tunnels()) {
        return true;
    }
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{test}: own path: {e}"));
    let runner = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vm/run.sh");
    eprintln!(
        "{test}: this kernel lacks ipip/ip6tnl/fou; running the test in a VM ({})",
        runner.display()
    );
    let t0 = Instant::now();
    let out = Command::new(&runner)
        .arg("--timeout")
        .arg(timeout.as_secs().to_string())
        .arg("--")
        .arg(&exe)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .args(["--color", "never"])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{test}: cannot run {}: {e}", runner.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "---- {test} in the VM ({:?}) ----\n{text}---- end of {test} in the VM ----",
        t0.elapsed()
    );
    match out.status.code() {
        Some(0) => {
            assert!(
                text.contains("test result: ok. 1 passed"),
                "{test}: the VM run passed but did not run the test"
            );
            false
        }
        Some(125) => {
            let msg = format!("{test}: the VM lab could not start (see above)");
            if ci() {
                panic!("{msg} (CI=true: the VM tests must run)");
            }
            eprintln!("\n!!!!!!!! SKIPPED {msg} !!!!!!!!\n");
            false
        }
        Some(124) => panic!("{test}: the VM run timed out after {timeout:?}"),
        other => panic!("{test}: failed in the VM (exit status {other:?})"),
    }
}
