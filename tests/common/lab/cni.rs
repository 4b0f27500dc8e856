//! A container runtime's side of CNI, for lab nodes: runs the real reference plugins
//! (Debian's `containernetworking-plugins`, in /usr/lib/cni) with the configuration
//! kube-bgp wrote on the node, exactly as a runtime does for a pod sandbox — each
//! plugin of the list in order, `CNI_COMMAND=ADD|DEL`, `CNI_CONTAINERID`,
//! `CNI_NETNS=/var/run/netns/<pod namespace>`, `CNI_IFNAME`, `CNI_PATH`, the plugin's
//! object plus the list's `name` and `cniVersion` (and the previous plugin's result as
//! `prevResult`) on stdin — inside the node's network namespace.
//!
//! One difference from a runtime, on purpose: host-local keeps its leases in
//! /var/lib/cni/networks/<network name> by default, a directory shared by every node of
//! every lab and test on this machine (they all use kube-router's network name). So
//! each call points `ipam.dataDir` at the node's own directory; the file on the node is
//! not changed.
//!
//! Owns nothing that outlives a call (the plugins' state is in the node's namespace
//! and directory). Must not: write outside the lab's directory and namespaces.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use serde_json::{Value, json};

use super::super::Netns;
use super::Lab;

/// Where Debian installs the reference plugins.
pub const CNI_BIN_DIR: &str = "/usr/lib/cni";

/// Whether the reference plugins are installed (loud skip, or a CI failure).
pub fn available(test: &str) -> bool {
    let ok = ["bridge", "host-local", "portmap"]
        .iter()
        .all(|p| Path::new(CNI_BIN_DIR).join(p).exists());
    if ok {
        return true;
    }
    let msg = format!(
        "SKIPPED {test}: the CNI reference plugins are not in {CNI_BIN_DIR} \
         (apt-get install containernetworking-plugins; tests/run.sh does)"
    );
    if std::env::var("CI").map(|v| v == "true").unwrap_or(false) {
        panic!("{msg}");
    }
    eprintln!("\n!!!!!!!! {msg} !!!!!!!!\n");
    false
}

/// The addresses a CNI ADD gave the pod.
#[derive(Clone, Debug, Default)]
pub struct PodAddrs {
    pub v4: Option<String>,
    pub v6: Option<String>,
    /// The whole result of the last plugin.
    pub result: Value,
}

impl Lab {
    /// Node `i`'s CNI configuration as kube-bgp wrote it (`None` until it exists or while
    /// it is not valid JSON).
    pub fn cni_conf_json(&self, i: usize) -> Option<Value> {
        let text = std::fs::read_to_string(self.node(i).cni_conf()).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// `CNI_COMMAND=ADD` for `pod` on node `i` with the node's configuration list:
    /// returns the addresses assigned, or the failing plugin's output.
    pub fn cni_add(&self, i: usize, pod: &Netns, container_id: &str) -> Result<PodAddrs, String> {
        let conf = self
            .cni_conf_json(i)
            .ok_or_else(|| format!("node{}: no CNI configuration yet", i + 1))?;
        let plugins = self.plugin_configs(i, &conf)?;
        let mut prev: Option<Value> = None;
        for p in plugins {
            let mut p = p;
            if let Some(r) = &prev {
                p["prevResult"] = r.clone();
            }
            let out = self.run_plugin(i, "ADD", pod, container_id, &p)?;
            prev = Some(
                serde_json::from_str(&out)
                    .map_err(|e| format!("plugin {} printed no JSON ({e}): {out}", p["type"]))?,
            );
        }
        let result = prev.unwrap_or(Value::Null);
        let mut addrs = PodAddrs {
            result: result.clone(),
            ..PodAddrs::default()
        };
        for ip in result["ips"].as_array().into_iter().flatten() {
            let a = ip["address"].as_str().unwrap_or("");
            let host = a.split('/').next().unwrap_or("").to_string();
            if host.contains(':') {
                addrs.v6 = Some(host);
            } else if !host.is_empty() {
                addrs.v4 = Some(host);
            }
        }
        Ok(addrs)
    }

    /// `CNI_COMMAND=DEL` for `pod` on node `i` (plugins in reverse order, each given the
    /// ADD result as `prevResult`, as runtimes do).
    pub fn cni_del(
        &self,
        i: usize,
        pod: &Netns,
        container_id: &str,
        added: &PodAddrs,
    ) -> Result<(), String> {
        let conf = self
            .cni_conf_json(i)
            .ok_or_else(|| format!("node{}: no CNI configuration", i + 1))?;
        let mut plugins = self.plugin_configs(i, &conf)?;
        plugins.reverse();
        for mut p in plugins {
            p["prevResult"] = added.result.clone();
            self.run_plugin(i, "DEL", pod, container_id, &p)?;
        }
        Ok(())
    }

    /// Each plugin's stdin configuration: the plugin object, the list's name and
    /// version, and this node's own host-local lease directory.
    fn plugin_configs(&self, i: usize, conf: &Value) -> Result<Vec<Value>, String> {
        let list: Vec<Value> = match conf.get("plugins").and_then(Value::as_array) {
            Some(p) => p.clone(),
            None => vec![conf.clone()],
        };
        let data_dir = self.node(i).dir.join("cni-ipam").display().to_string();
        let mut out = Vec::new();
        for mut p in list {
            if !p.is_object() {
                return Err(format!("plugin entry is not an object: {p}"));
            }
            p["name"] = conf["name"].clone();
            p["cniVersion"] = conf["cniVersion"].clone();
            if p["ipam"]["type"] == json!("host-local") {
                p["ipam"]["dataDir"] = json!(data_dir);
            }
            out.push(p);
        }
        Ok(out)
    }

    fn run_plugin(
        &self,
        i: usize,
        command: &str,
        pod: &Netns,
        container_id: &str,
        conf: &Value,
    ) -> Result<String, String> {
        let kind = conf["type"].as_str().unwrap_or("").to_string();
        if kind.is_empty() || kind.contains('/') {
            return Err(format!("bad plugin type in {conf}"));
        }
        let bin = Path::new(CNI_BIN_DIR).join(&kind);
        let mut child = self
            .node(i)
            .ns
            .command(&bin.display().to_string())
            .env("CNI_COMMAND", command)
            .env("CNI_CONTAINERID", container_id)
            .env("CNI_NETNS", format!("/var/run/netns/{}", pod.name))
            .env("CNI_IFNAME", "eth0")
            .env("CNI_PATH", CNI_BIN_DIR)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(conf.to_string().as_bytes())
                .map_err(|e| format!("{kind}: stdin: {e}"))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| format!("{kind}: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            return Err(format!(
                "CNI {command} with plugin {kind} on node{} failed ({}): {stdout}{}",
                i + 1,
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(stdout)
    }
}
