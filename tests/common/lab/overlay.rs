//! Overlay views of the lab for end-to-end tests: each node's `tun-*` tunnels with their
//! parameters, table 77, the policy rules, the FoU ports, and packet captures (on the
//! gateway between the subnets, or on a node's uplink) that show which addresses were
//! on the wire.
//!
//! Owns: the tcpdump processes it starts (by pid, through `ChildGuard`, each bounded by
//! `timeout`) and their output files in the lab directory. Must not: change anything
//! in the lab's namespaces.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::super::{ChildGuard, Netns, run, sh, wait_for};
use super::Lab;

static CAPTURES: AtomicU32 = AtomicU32::new(0);

/// A `tun-*` link as `ip -d -o link show` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabTunnel {
    pub name: String,
    pub ifindex: u32,
    /// `ipip` or `ip6tnl`.
    pub kind: String,
    pub local: String,
    pub remote: String,
    pub mtu: u32,
    /// `Some(port)` for GUE encapsulation.
    pub gue_port: Option<u16>,
    /// Everything `ip -d` said, for failure messages and exact checks.
    pub details: String,
}

/// The word after `key` in `words`.
fn after<'a>(words: &[&'a str], key: &str) -> Option<&'a str> {
    words
        .iter()
        .position(|w| *w == key)
        .and_then(|i| words.get(i + 1).copied())
}

/// Parses one line of `ip -d -o link show` if it is a `tun-*` ipip/ip6tnl link.
pub fn parse_tunnel(line: &str) -> Option<LabTunnel> {
    let (idx, rest) = line.split_once(": ")?;
    let (name, _) = rest.split_once(['@', ':'])?;
    if !name.starts_with("tun-") {
        return None;
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let kind = if words.contains(&"link/ipip") {
        "ipip"
    } else if words.contains(&"link/tunnel6") {
        "ip6tnl"
    } else {
        return None;
    };
    let gue_port = if line.contains(" encap gue ") {
        after(&words, "encap-dport").and_then(|p| p.parse().ok())
    } else {
        None
    };
    Some(LabTunnel {
        name: name.to_string(),
        ifindex: idx.trim().parse().ok()?,
        kind: kind.to_string(),
        local: after(&words, "local")?.to_string(),
        remote: after(&words, "remote")?.to_string(),
        mtu: after(&words, "mtu")?.parse().ok()?,
        gue_port,
        details: line.to_string(),
    })
}

impl Lab {
    /// Node `i`'s `tun-*` tunnels.
    pub fn tunnel_links(&self, i: usize) -> Vec<LabTunnel> {
        self.ip(i, "-d -o link show")
            .lines()
            .filter_map(parse_tunnel)
            .collect()
    }

    /// Node `i`'s table 77, both families, one route per line. (An IPv6 table that
    /// never held a route does not exist: `ip` then fails, and it is empty.)
    pub fn table77(&self, i: usize) -> Vec<String> {
        let ns = &self.node(i).ns.name;
        let v6 = run(&format!("ip -n {ns} -6 route show table 77"));
        let v6 = String::from_utf8_lossy(&v6.stdout).into_owned();
        let mut v: Vec<String> = self
            .ip(i, "-4 route show table 77")
            .lines()
            .chain(v6.lines())
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect();
        v.sort();
        v
    }

    /// Node `i`'s policy rules that look up table 77, both families.
    pub fn rules77(&self, i: usize) -> Vec<String> {
        self.ip(i, "-4 rule show")
            .lines()
            .chain(self.ip(i, "-6 rule show").lines())
            .filter(|l| l.contains("lookup 77"))
            .map(|l| l.trim().to_string())
            .collect()
    }

    /// Node `i`'s FoU ports (`ip fou show`, both families).
    pub fn fou_ports(&self, i: usize) -> Vec<String> {
        let mut v: Vec<String> = self
            .ip(i, "fou show")
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect();
        v.sort();
        v
    }

    /// Starts tcpdump in `ns` on `iface` with `filter`; stop it with `Capture::stop`.
    /// Waits (bounded) until tcpdump is listening.
    pub fn capture(&self, ns: &Netns, iface: &str, filter: &str) -> Capture {
        let k = CAPTURES.fetch_add(1, Ordering::SeqCst);
        let out = self.dir().join(format!("capture{k}.txt"));
        let err = self.dir().join(format!("capture{k}.err"));
        let file = |p: &PathBuf| {
            std::fs::File::create(p).unwrap_or_else(|e| panic!("create {}: {e}", p.display()))
        };
        let child = ns
            .command("timeout")
            .args(["600", "tcpdump", "-n", "-l", "-i", iface])
            .arg(filter)
            .stdin(Stdio::null())
            .stdout(file(&out))
            .stderr(file(&err))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run tcpdump: {e}"));
        let guard = ChildGuard::new(child, "tcpdump");
        let listening = wait_for(Duration::from_secs(60), || {
            let e = std::fs::read_to_string(&err).unwrap_or_default();
            e.contains("listening on").then_some(())
        });
        if listening.is_none() {
            let e = std::fs::read_to_string(&err).unwrap_or_default();
            self.fail(&format!(
                "tcpdump on {iface} in {} did not start: {e}",
                ns.name
            ));
        }
        Capture {
            guard: Some(guard),
            out,
            what: format!("{} {iface} '{filter}'", ns.name),
        }
    }
}

/// A running packet capture.
pub struct Capture {
    guard: Option<ChildGuard>,
    out: PathBuf,
    pub what: String,
}

impl Capture {
    /// Stops the capture (SIGINT, bounded) and returns one line per packet.
    pub fn stop(mut self) -> Vec<String> {
        if let Some(mut g) = self.guard.take() {
            // tcpdump runs under `timeout`, which passes SIGINT on.
            std::thread::sleep(Duration::from_millis(500));
            g.signal(libc::SIGINT);
            if wait_for(Duration::from_secs(10), || {
                g.child.try_wait().ok().flatten()
            })
            .is_none()
            {
                let _ = g.child.kill();
                let _ = g.child.wait();
            }
        }
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        let _ = sh(&format!("rm -f {}", self.out.display()));
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect()
    }
}
