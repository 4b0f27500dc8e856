//! Shared pieces of the integration tests: root checks that skip loudly, network
//! namespaces that clean themselves up, and child processes killed by pid on drop.
//!
//! Every namespace a test creates is named `kb<tag><pid><n>` so concurrent test binaries
//! never collide, and is deleted (with its veths) when the guard drops, even on panic.
#![allow(dead_code)]

pub mod apiserver;
pub mod feeder;
pub mod kbnode;
pub mod lab;

use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub mod rawpeer;
pub mod routers;
pub mod vm;

/// True when running as root with `ip netns` usable. When not root: prints a loud
/// SKIPPED line and returns false; under CI (`CI=true`) it panics instead, because CI
/// runs as root and a silent skip there would hide a broken test.
pub fn require_root(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        return true;
    }
    let msg = format!("SKIPPED {test}: needs root (network namespaces); run tests/run.sh as root");
    if std::env::var("CI").map(|v| v == "true").unwrap_or(false) {
        panic!("{msg} (CI=true: root tests must run)");
    }
    eprintln!("\n!!!!!!!! {msg} !!!!!!!!\n");
    false
}

/// Whether an executable is on PATH. Under CI a missing tool is a failure (the test
/// command installs everything); elsewhere the caller skips loudly.
pub fn require_tool(test: &str, tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if found {
        return true;
    }
    let msg = format!("SKIPPED {test}: {tool} is not installed (tests/run.sh installs it)");
    if std::env::var("CI").map(|v| v == "true").unwrap_or(false) {
        panic!("{msg}");
    }
    eprintln!("\n!!!!!!!! {msg} !!!!!!!!\n");
    false
}

static NS_COUNTER: AtomicU32 = AtomicU32::new(0);

/// Runs a command, returning its output; panics with stderr if it fails.
pub fn sh(cmd: &str) -> String {
    let out = run(cmd);
    if !out.status.success() {
        panic!(
            "command failed: {cmd}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a command through `sh -c` and returns its output whatever the status.
pub fn run(cmd: &str) -> Output {
    Command::new("sh")
        .args(["-c", cmd])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run sh for {cmd}: {e}"))
}

/// A network namespace deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// Creates `kb<tag><pid>n<k>` with loopback up. `tag` is a short word naming the test
    /// file, so leftovers can be traced to their owner.
    pub fn new(tag: &str) -> Netns {
        let k = NS_COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("kb{tag}{}n{k}", std::process::id());
        sh(&format!("ip netns add {name}"));
        sh(&format!("ip -n {name} link set lo up"));
        Netns { name }
    }

    /// `ip netns exec NAME sh -c CMD`, panicking on failure.
    pub fn sh(&self, cmd: &str) -> String {
        sh(&format!(
            "ip netns exec {} sh -c '{}'",
            self.name,
            cmd.replace('\'', "'\\''")
        ))
    }

    /// Same, returning the output whatever the status.
    pub fn run(&self, cmd: &str) -> Output {
        run(&format!(
            "ip netns exec {} sh -c '{}'",
            self.name,
            cmd.replace('\'', "'\\''")
        ))
    }

    /// A `Command` that runs `program` inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Kill anything still running inside (processes we started there), then delete.
        let _ = run(&format!(
            "for p in $(ip netns pids {} 2>/dev/null); do kill -9 $p 2>/dev/null; done",
            self.name
        ));
        let _ = run(&format!("ip netns del {}", self.name));
    }
}

/// Runs `f` on a thread that has entered `ns` (network namespaces are per thread), for
/// calling the library's netlink code inside a namespace.
pub fn in_ns<T: Send>(ns: &Netns, f: impl FnOnce() -> T + Send) -> T {
    let name = ns.name.clone();
    std::thread::scope(|s| {
        let h = s.spawn(move || {
            let file = std::fs::File::open(format!("/var/run/netns/{name}"))
                .unwrap_or_else(|e| panic!("open netns {name}: {e}"));
            // SAFETY: setns on an open namespace fd; affects only this thread.
            let rc = unsafe {
                libc::setns(
                    std::os::unix::io::AsRawFd::as_raw_fd(&file),
                    libc::CLONE_NEWNET,
                )
            };
            assert_eq!(rc, 0, "setns {name}: {}", std::io::Error::last_os_error());
            f()
        });
        match h.join() {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p),
        }
    })
}

/// Joins two namespaces with a veth pair and gives each side an address (CIDR form,
/// e.g. "10.0.0.1/24"); IPv6 addresses are added with `nodad`. Returns the interface
/// names (a side, b side).
pub fn veth(a: &Netns, a_addrs: &[&str], b: &Netns, b_addrs: &[&str]) -> (String, String) {
    let k = NS_COUNTER.fetch_add(1, Ordering::SeqCst);
    let ia = format!("va{k}");
    let ib = format!("vb{k}");
    sh(&format!(
        "ip link add {ia} netns {} type veth peer name {ib} netns {}",
        a.name, b.name
    ));
    for (ns, ifname, addrs) in [(a, &ia, a_addrs), (b, &ib, b_addrs)] {
        for addr in addrs {
            let extra = if addr.contains(':') { " nodad" } else { "" };
            sh(&format!(
                "ip -n {} addr add {addr} dev {ifname}{extra}",
                ns.name
            ));
        }
        sh(&format!("ip -n {} link set {ifname} up", ns.name));
    }
    (ia, ib)
}

/// A child process killed (SIGKILL) and reaped on drop.
pub struct ChildGuard {
    pub child: Child,
    pub what: String,
}

impl ChildGuard {
    pub fn new(child: Child, what: &str) -> ChildGuard {
        ChildGuard {
            child,
            what: what.to_string(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal (e.g. libc::SIGTERM) to the child.
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill with a pid we own; errors (already exited) are ignored.
        unsafe {
            libc::kill(self.child.id() as i32, sig);
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `f` every 50 ms until it returns Some or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if start.elapsed() >= timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Path of the kube-bgp binary built for this test run.
pub fn kube_bgp_bin() -> &'static str {
    env!("CARGO_BIN_EXE_kube-bgp")
}
