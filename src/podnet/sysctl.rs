//! The kernel settings pods need: forwarding (IPv4, and IPv6 when the node has IPv6 pod
//! CIDRs) and, where the kernel has bridge netfilter, `bridge-nf-call-iptables` (and
//! `-ip6tables`), so traffic between pods on the same bridge passes the FORWARD chain
//! as on kube-router nodes.
//!
//! Owns: reading and writing those files under `/proc/sys` (of the network namespace
//! kube-bgp runs in). kube-bgp never loads kernel modules: when `net/bridge` is absent
//! (`br_netfilter` not loaded) it says so and carries on.

use std::path::{Path, PathBuf};

/// One setting: path relative to `/proc/sys`, wanted value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Setting {
    pub(crate) key: &'static str,
    pub(crate) value: &'static str,
}

pub(crate) const IP_FORWARD: &str = "net/ipv4/ip_forward";
pub(crate) const IPV6_FORWARDING: &str = "net/ipv6/conf/all/forwarding";
pub(crate) const BRIDGE_NF_IPTABLES: &str = "net/bridge/bridge-nf-call-iptables";
pub(crate) const BRIDGE_NF_IP6TABLES: &str = "net/bridge/bridge-nf-call-ip6tables";

/// The settings for a node with (or without) IPv6 pods.
pub(crate) fn wanted(ipv6: bool) -> Vec<Setting> {
    let mut v = vec![
        Setting {
            key: IP_FORWARD,
            value: "1",
        },
        Setting {
            key: BRIDGE_NF_IPTABLES,
            value: "1",
        },
    ];
    if ipv6 {
        v.push(Setting {
            key: IPV6_FORWARDING,
            value: "1",
        });
        v.push(Setting {
            key: BRIDGE_NF_IP6TABLES,
            value: "1",
        });
    }
    v
}

/// What applying one setting did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Applied {
    Unchanged,
    /// Changed from the old value.
    Changed(String),
    /// The file does not exist (bridge netfilter not loaded).
    Missing,
}

/// Reads and writes settings under a root (`/proc/sys`, or a directory in tests).
pub(crate) struct Sysctl {
    root: PathBuf,
}

impl Sysctl {
    pub(crate) fn new() -> Sysctl {
        Sysctl::at(Path::new("/proc/sys"))
    }

    pub(crate) fn at(root: &Path) -> Sysctl {
        Sysctl {
            root: root.to_path_buf(),
        }
    }

    /// Makes one setting true.
    pub(crate) fn apply(&self, s: &Setting) -> std::io::Result<Applied> {
        let path = self.root.join(s.key);
        let old = match std::fs::read_to_string(&path) {
            Ok(v) => v.trim().to_string(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Applied::Missing),
            Err(e) => return Err(e),
        };
        if old == s.value {
            return Ok(Applied::Unchanged);
        }
        std::fs::write(&path, format!("{}\n", s.value))?;
        Ok(Applied::Changed(old))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_changes_only_and_reports_missing_bridge_netfilter() {
        let root = std::env::temp_dir().join(format!("kbsysctl{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("net/ipv4")).expect("mkdir");
        std::fs::write(root.join(IP_FORWARD), "0\n").expect("write");
        let s = Sysctl::at(&root);
        let w = wanted(false);
        assert_eq!(s.apply(&w[0]).expect("apply"), Applied::Changed("0".into()));
        assert_eq!(
            std::fs::read_to_string(root.join(IP_FORWARD)).expect("read"),
            "1\n"
        );
        assert_eq!(s.apply(&w[0]).expect("apply"), Applied::Unchanged);
        // No net/bridge: br_netfilter is not loaded; nothing is created.
        assert_eq!(s.apply(&w[1]).expect("apply"), Applied::Missing);
        assert!(!root.join("net/bridge").exists());
        assert_eq!(wanted(true).len(), 4);
        let _ = std::fs::remove_dir_all(&root);
    }
}
