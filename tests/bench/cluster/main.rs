//! Cluster-scale benchmarks of kube-bgp, as its users feel them (a benchmark, not a test:
//! `cargo test` does not run it). Needs root, iproute2, python3, openssl and BIRD 2.
//!
//! ```sh
//! cargo bench --offline --locked --bench cluster -- converge --out DIR [--nodes 20]
//!     [--trials 30] [--lost-trials 30]
//!     [--rows add,readd,delete,vip,kill,rr,asn,lost,lost-bfd]
//!     [--settle-ms 300] [--timeout-s 30]
//! cargo bench --offline --locked --bench cluster -- scale --out DIR [--sizes 1000,5000]
//!     [--modes mesh,rr] [--mesh-max 1000] [--services 10000] [--node-churn 10]
//!     [--slice-churn 5] [--window-s 60] [--idle-s 30] [--reactions 30]
//!     [--startups N] [--dut-verbosity V]
//! ```
//! `converge` (converge.rs): a lab of N nodes in network namespaces, one kube-bgp each,
//! the fake API server and BIRD, timing user changes until every node is right
//! (`--lost-trials` trials of each node-lost row, `lost` and `lost-bfd`, run in waves).
//! `scale` (scale.rs): one kube-bgp facing a large simulated cluster (simulated BGP
//! peers in sim.rs), its memory, CPU under API churn, start-up and reaction times
//! (`--startups N`: only the start-up, N times, with the slowest routes and, with
//! `--dut-verbosity 1`, kube-bgp's kernel passes).
//! Both write `trials.jsonl`/`runs.jsonl` and `table.md` into their output directory;
//! tests/bench/run-bench.sh runs them as the `converge` and `scale` workloads.
//!
//! It is a `harness = false` bench target (not an example) because it reuses the test
//! lab in tests/common, which needs Cargo's `CARGO_BIN_EXE_kube-bgp` (set for tests and
//! benches only) and the release build of kube-bgp that `cargo bench` makes.

#[path = "../../common/mod.rs"]
mod common;
mod converge;
mod events;
mod monitor;
mod procstat;
mod scale;
mod sim;
mod stats;
mod waves;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::Relaxed);
}

/// Whether SIGINT or SIGTERM arrived: loops stop at the next trial and clean up.
pub(crate) fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// The 1-minute load average, for the record of each trial.
pub(crate) fn loadavg() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|x| x.parse().ok()))
        .unwrap_or(f64::NAN)
}

fn list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

fn num<T: std::str::FromStr>(flag: &str, v: Option<std::ffi::OsString>) -> Result<T, String> {
    let s = v
        .and_then(|v| v.into_string().ok())
        .ok_or_else(|| format!("{flag} needs a value"))?;
    s.parse().map_err(|_| format!("{flag}: not a number: {s}"))
}

fn text(flag: &str, v: Option<std::ffi::OsString>) -> Result<String, String> {
    v.and_then(|v| v.into_string().ok())
        .ok_or_else(|| format!("{flag} needs a value"))
}

fn parse_converge(mut p: lexopt::Parser) -> Result<converge::ConvergeOpts, String> {
    use lexopt::Arg::Long;
    let mut o = converge::ConvergeOpts {
        nodes: 20,
        trials: 30,
        lost_trials: 30,
        rows: converge::ALL_ROWS.iter().map(|s| s.to_string()).collect(),
        out: PathBuf::new(),
        settle: Duration::from_millis(300),
        timeout: Duration::from_secs(30),
    };
    while let Some(arg) = p.next().map_err(|e| e.to_string())? {
        match arg {
            Long("nodes") => o.nodes = num("--nodes", p.value().ok())?,
            Long("trials") => o.trials = num("--trials", p.value().ok())?,
            Long("lost-trials") => o.lost_trials = num("--lost-trials", p.value().ok())?,
            Long("rows") => o.rows = list(&text("--rows", p.value().ok())?),
            Long("out") => o.out = text("--out", p.value().ok())?.into(),
            Long("settle-ms") => {
                o.settle = Duration::from_millis(num("--settle-ms", p.value().ok())?)
            }
            Long("timeout-s") => {
                o.timeout = Duration::from_secs(num("--timeout-s", p.value().ok())?)
            }
            Long("bench") => {}
            a => return Err(format!("converge: unexpected {a:?}")),
        }
    }
    if let Some(bad) = o
        .rows
        .iter()
        .find(|r| !converge::ALL_ROWS.contains(&r.as_str()))
    {
        return Err(format!(
            "--rows: unknown row {bad} (rows: {})",
            converge::ALL_ROWS.join(",")
        ));
    }
    if o.out.as_os_str().is_empty() {
        return Err("--out DIR is required".into());
    }
    Ok(o)
}

fn parse_scale(mut p: lexopt::Parser) -> Result<scale::ScaleOpts, String> {
    use lexopt::Arg::Long;
    let mut o = scale::ScaleOpts::default();
    while let Some(arg) = p.next().map_err(|e| e.to_string())? {
        match arg {
            Long("sizes") => {
                o.sizes = list(&text("--sizes", p.value().ok())?)
                    .iter()
                    .map(|s| s.parse().map_err(|_| format!("--sizes: {s}")))
                    .collect::<Result<_, _>>()?
            }
            Long("modes") => o.modes = list(&text("--modes", p.value().ok())?),
            Long("mesh-max") => o.mesh_max = num("--mesh-max", p.value().ok())?,
            Long("services") => o.services = num("--services", p.value().ok())?,
            Long("node-churn") => o.node_churn = num("--node-churn", p.value().ok())?,
            Long("slice-churn") => o.slice_churn = num("--slice-churn", p.value().ok())?,
            Long("window-s") => o.window = Duration::from_secs(num("--window-s", p.value().ok())?),
            Long("idle-s") => o.idle = Duration::from_secs(num("--idle-s", p.value().ok())?),
            Long("reactions") => o.reactions = num("--reactions", p.value().ok())?,
            Long("startups") => o.startups = num("--startups", p.value().ok())?,
            Long("dut-verbosity") => o.dut_verbosity = num("--dut-verbosity", p.value().ok())?,
            Long("out") => o.out = text("--out", p.value().ok())?.into(),
            Long("bench") => {}
            a => return Err(format!("scale: unexpected {a:?}")),
        }
    }
    if let Some(bad) = o
        .modes
        .iter()
        .find(|m| !["mesh", "rr"].contains(&m.as_str()))
    {
        return Err(format!("--modes: unknown mode {bad} (mesh, rr)"));
    }
    if o.out.as_os_str().is_empty() {
        return Err("--out DIR is required".into());
    }
    Ok(o)
}

fn main() {
    // SAFETY: installing a handler that only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
    let mut p = lexopt::Parser::from_env();
    let mut cmd = None;
    loop {
        match p.next() {
            Ok(Some(lexopt::Arg::Long("bench"))) => continue,
            Ok(Some(lexopt::Arg::Value(v))) => {
                cmd = v.into_string().ok();
                break;
            }
            Ok(Some(a)) => {
                eprintln!(
                    "cluster bench: unexpected {a:?} before the workload (converge or scale)"
                );
                std::process::exit(2);
            }
            Ok(None) => break,
            Err(e) => {
                eprintln!("cluster bench: {e}");
                std::process::exit(2);
            }
        }
    }
    if !common::require_root("cluster bench") {
        std::process::exit(2);
    }
    let r = match cmd.as_deref() {
        Some("converge") => parse_converge(p).and_then(|o| converge::run(&o)),
        Some("scale") => parse_scale(p).and_then(|o| scale::run(&o)),
        _ => Err(
            "usage: cluster (converge|scale) --out DIR [options] (see tests/bench/cluster/main.rs)"
                .into(),
        ),
    };
    if let Err(e) = r {
        eprintln!("cluster bench: {e}");
        std::process::exit(1);
    }
    if interrupted() {
        eprintln!("cluster bench: interrupted; partial tables written");
        std::process::exit(130);
    }
}
