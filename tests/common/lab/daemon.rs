//! The kube-bgp side of the lab: start, stop, kill and restart the daemon inside a node
//! namespace as its users run it, talk to it through its control socket with the
//! kube-bgp CLI, and read its logs for failure messages.
//!
//! Owns: the daemon processes (by pid, through `ChildGuard`) and their log files. Must
//! not: signal anything it did not start.

use std::fs::OpenOptions;
use std::io::Write;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use super::super::{ChildGuard, kube_bgp_bin, wait_for};
use super::Lab;

/// Flags the lab passes unless the test gives them itself. The graceful-shutdown wait
/// is off (`0`): a stop sends Cease at once, as the tests written before it expect;
/// the drain tests give `--graceful-shutdown-time` themselves.
const LAB_FLAGS: [&str; 6] = [
    "kubeconfig",
    "hostname-override",
    "ctl-socket",
    "metrics-port",
    "cni-conf-path",
    "graceful-shutdown-time",
];

/// Whether `flags` already sets `--name` (as `--name=v` or `--name v`).
fn has_flag(flags: &[String], name: &str) -> bool {
    let long = format!("--{name}");
    flags
        .iter()
        .any(|f| *f == long || f.starts_with(&format!("{long}=")))
}

/// A flag as shown in the log: the value of any `--*password*=` flag hidden.
pub fn redact(flag: &str) -> String {
    match flag.split_once('=') {
        Some((name, _)) if name.starts_with("--") && name.contains("password") => {
            format!("{name}=<redacted>")
        }
        _ => flag.to_string(),
    }
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(n);
    lines.get(start..).unwrap_or_default().join("\n")
}

/// Counts neighbours in Established state in a `neighbor -o json` answer: a list of
/// rows, or an object holding one under `neighbors`.
pub fn count_established(v: &serde_json::Value) -> usize {
    let rows = match v {
        serde_json::Value::Array(a) => a.as_slice(),
        serde_json::Value::Object(o) => match o.get("neighbors") {
            Some(serde_json::Value::Array(a)) => a.as_slice(),
            _ => &[],
        },
        _ => &[],
    };
    rows.iter()
        .filter(|r| {
            r.get("state")
                .and_then(|s| s.as_str())
                .is_some_and(|s| s.eq_ignore_ascii_case("established") || s == "Establ")
        })
        .count()
}

impl Lab {
    /// Starts kube-bgp in node `i`'s namespace: `kube-bgp --kubeconfig=… \
    /// --hostname-override=<name> --ctl-socket=<dir>/ctl.sock --metrics-port=0 \
    /// --cni-conf-path=<dir>/net.d/10-kuberouter.conflist --graceful-shutdown-time=0 \
    /// EXTRA`
    /// (a lab flag the caller also gives is left out). Output goes to the node's log.
    /// Does not wait for anything; see `wait_ctl` and `wait_established`.
    pub fn start_kube_bgp(&mut self, i: usize, extra: &[&str]) {
        let flags: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        self.node_mut(i).flags = flags;
        self.spawn_kube_bgp(i);
    }

    fn spawn_kube_bgp(&mut self, i: usize) {
        let node = self.node_mut(i);
        assert!(
            node.daemon.is_none(),
            "kube-bgp already running on {}",
            node.name
        );
        let mut args = Vec::new();
        for (flag, value) in LAB_FLAGS.iter().zip([
            node.kubeconfig().display().to_string(),
            node.name.clone(),
            node.ctl_socket().display().to_string(),
            "0".to_string(),
            node.cni_conf().display().to_string(),
            "0".to_string(),
        ]) {
            if !has_flag(&node.flags, flag) {
                args.push(format!("--{flag}={value}"));
            }
        }
        args.extend(node.flags.iter().cloned());
        node.starts += 1;
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(node.log_path())
            .unwrap_or_else(|e| panic!("open {}: {e}", node.log_path().display()));
        let shown: Vec<String> = args.iter().map(|a| redact(a)).collect();
        let _ = writeln!(
            log,
            "---- lab: start #{} in {}: kube-bgp {} ----",
            node.starts,
            node.ns.name,
            shown.join(" ")
        );
        let err = log
            .try_clone()
            .unwrap_or_else(|e| panic!("dup the log file: {e}"));
        // `ip netns exec` execs the program, so the child's pid is kube-bgp's own.
        let child = node
            .ns
            .command(kube_bgp_bin())
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start kube-bgp: {e}"));
        let what = format!("kube-bgp on {}", node.name);
        node.daemon = Some(ChildGuard::new(child, &what));
    }

    /// kube-bgp's pid on node `i`, if the lab started it and has not stopped it.
    pub fn kube_bgp_pid(&self, i: usize) -> Option<u32> {
        self.node(i).daemon.as_ref().map(ChildGuard::pid)
    }

    /// Whether kube-bgp on node `i` has exited by itself (reaps it; the status is
    /// returned and the node counts as stopped).
    pub fn kube_bgp_exited(&mut self, i: usize) -> Option<ExitStatus> {
        let node = self.node_mut(i);
        let status = node.daemon.as_mut()?.child.try_wait().ok().flatten()?;
        node.daemon = None;
        Some(status)
    }

    /// SIGTERM, then SIGKILL if it has not exited within 10 s. Returns the exit status
    /// (None if it was not running).
    pub fn stop_kube_bgp(&mut self, i: usize) -> Option<ExitStatus> {
        self.stop_bounded(i, Duration::from_secs(10))
    }

    pub(super) fn stop_bounded(&mut self, i: usize, grace: Duration) -> Option<ExitStatus> {
        let mut guard = self.node_mut(i).daemon.take()?;
        guard.signal(libc::SIGTERM);
        let status = wait_for(grace, || guard.child.try_wait().ok().flatten());
        match status {
            Some(s) => Some(s),
            None => {
                let _ = guard.child.kill();
                guard.child.wait().ok()
            }
        }
    }

    /// Runs `kube-bgp --cleanup-config` (source/destination check left alone) in node
    /// `i`'s namespace, as an operator does once its kube-bgp is stopped. Returns whether
    /// it exited with success, and its stderr.
    pub fn cleanup_config(&self, i: usize) -> (bool, String) {
        let out = self
            .node(i)
            .ns
            .command(kube_bgp_bin())
            .args(["--cleanup-config", "--disable-source-dest-check=false"])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cleanup: {e}"));
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// SIGKILL (a crash, no clean-up by the daemon).
    pub fn kill_kube_bgp(&mut self, i: usize) -> Option<ExitStatus> {
        let mut guard = self.node_mut(i).daemon.take()?;
        let _ = guard.child.kill();
        guard.child.wait().ok()
    }

    /// Stops (SIGTERM, bounded) and starts again with the same flags.
    pub fn restart_kube_bgp(&mut self, i: usize) {
        self.stop_kube_bgp(i);
        self.spawn_kube_bgp(i);
    }

    // ---- logs ----

    /// Node `i`'s whole kube-bgp log (all starts).
    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.node(i).log_path()).unwrap_or_default()
    }

    pub fn log_tail(&self, i: usize, n: usize) -> String {
        tail(&self.log(i), n)
    }

    /// The last `n` lines of every node's log, headed by node name and path.
    pub fn logs_tail(&self, n: usize) -> String {
        let mut out = String::new();
        for node in &self.nodes {
            out.push_str(&format!(
                "==> {} ({}) kube-bgp log, last {n} lines <==\n{}\n",
                node.name,
                node.log_path().display(),
                tail(&self.log(node.index), n)
            ));
        }
        out
    }

    /// Panics with `msg` and the last 50 lines of every node's log.
    pub fn fail(&self, msg: &str) -> ! {
        self.dumped.store(true, std::sync::atomic::Ordering::SeqCst);
        panic!("{msg}\n{}", self.logs_tail(50));
    }

    /// `assert!` that prints every node's log tail when it fails.
    pub fn check(&self, cond: bool, msg: &str) {
        if !cond {
            self.fail(msg);
        }
    }

    // ---- control socket ----

    /// Runs `kube-bgp ARGS --ctl-socket=<node's socket>` inside node `i`'s namespace:
    /// stdout on success, or a message with the status and stderr.
    pub fn try_ctl(&self, i: usize, args: &[&str]) -> Result<String, String> {
        let node = self.node(i);
        let out = super::exec(
            node.ns
                .command(kube_bgp_bin())
                .args(args)
                .arg(format!("--ctl-socket={}", node.ctl_socket().display())),
        );
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(stdout)
        } else {
            Err(format!(
                "kube-bgp {} on {} failed ({}): {stdout}{}",
                args.join(" "),
                node.name,
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// Same, failing the test (with logs) unless it succeeds.
    pub fn ctl(&self, i: usize, args: &[&str]) -> String {
        self.try_ctl(i, args).unwrap_or_else(|e| self.fail(&e))
    }

    /// `kube-bgp ARGS -o json`, parsed.
    pub fn ctl_json(&self, i: usize, args: &[&str]) -> Result<serde_json::Value, String> {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        let text = self.try_ctl(i, &all)?;
        serde_json::from_str(&text).map_err(|e| format!("kube-bgp {all:?}: not JSON: {e}: {text}"))
    }

    /// `kube-bgp neighbor -o json` on node `i`.
    pub fn neighbors_json(&self, i: usize) -> Result<serde_json::Value, String> {
        self.ctl_json(i, &["neighbor"])
    }

    /// Number of Established sessions node `i` reports (0 if it does not answer).
    pub fn established(&self, i: usize) -> usize {
        self.neighbors_json(i)
            .map(|v| count_established(&v))
            .unwrap_or(0)
    }

    /// Waits up to `timeout` for node `i` to report at least `n` Established sessions.
    /// Starts kube-bgp on every node with `flags` and waits (bounded by `timeout`) until
    /// each has `sessions` Established; a node that does not get there fails the test.
    pub fn start_all(&mut self, flags: &[&str], sessions: usize, timeout: Duration) {
        let n = self.nodes().len();
        for i in 0..n {
            self.start_kube_bgp(i, flags);
        }
        for i in 0..n {
            let up = self.wait_established(i, sessions, timeout);
            self.check(
                up,
                &format!("node{}: sessions: {:?}", i + 1, self.neighbors_json(i)),
            );
        }
    }

    pub fn wait_established(&self, i: usize, n: usize, timeout: Duration) -> bool {
        wait_for(timeout, || (self.established(i) >= n).then_some(())).is_some()
    }

    /// Waits up to `timeout` for node `i`'s control socket to answer `status`.
    pub fn wait_ctl(&self, i: usize, timeout: Duration) -> bool {
        wait_for(timeout, || self.try_ctl(i, &["status"]).ok()).is_some()
    }
}
