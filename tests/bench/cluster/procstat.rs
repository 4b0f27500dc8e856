//! What a process costs, read from /proc: on-CPU time summed over all its threads
//! (`/proc/PID/task/*/schedstat`, nanoseconds) and its memory (`VmRSS`, `VmHWM`,
//! `RssAnon` of `/proc/PID/status`).
//!
//! Owns: parsing and reading only. Must not: signal or change the process.

/// Memory figures of a process, in KiB as the kernel reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Mem {
    pub(crate) rss_kb: u64,
    pub(crate) hwm_kb: u64,
    pub(crate) anon_kb: u64,
}

/// Parses the memory lines of `/proc/PID/status`.
pub(crate) fn parse_status_mem(text: &str) -> Mem {
    let mut m = Mem::default();
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let kb = rest
            .split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        match key {
            "VmRSS" => m.rss_kb = kb,
            "VmHWM" => m.hwm_kb = kb,
            "RssAnon" => m.anon_kb = kb,
            _ => {}
        }
    }
    m
}

/// The first field of a `schedstat` line: time on CPU in ns.
pub(crate) fn parse_schedstat(text: &str) -> Option<u64> {
    text.split_whitespace().next()?.parse().ok()
}

pub(crate) fn mem(pid: u32) -> Option<Mem> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .map(|t| parse_status_mem(&t))
}

/// On-CPU ns of all threads of `pid` (threads that already exited are not counted:
/// kube-bgp's threads live as long as the process).
pub(crate) fn cpu_ns(pid: u32) -> Option<u64> {
    let dir = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut sum = 0u64;
    for t in dir.flatten() {
        if let Ok(text) = std::fs::read_to_string(t.path().join("schedstat")) {
            sum += parse_schedstat(&text).unwrap_or(0);
        }
    }
    Some(sum)
}
