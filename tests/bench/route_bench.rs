//! Installs N IPv4 routes (/24s from 16.0.0.0, via a veth neighbour) into a throwaway
//! network namespace through `kernel::Reconciler` and prints routes/s; with
//! `--reference PATH` it also runs the reference `nlbatch.py` (same prefixes, same
//! topology, fresh namespace) so both numbers come from the same session.
//!
//! Needs root. `cargo run --release --example route_bench -- -n 1000000 --reference
//! ../shared/bench/nlbatch.py [--chunk 1024] [--ack-each] [--rounds 3]
//! [--pass-limit 16384 -v] [--watch] [--order ascending|scattered]
//! [--nexthop-objects on|off|both]`.
//! `--pass-limit`: operations per reconcile pass, as the daemon runs them; `-v` prints
//! each pass's time; `--watch`: with the daemon's change subscription open;
//! `--order scattered`: passes take the prefixes in bit-reversed order, as the daemon
//! hands a large table over, instead of address order; `--nexthop-objects`: routes name
//! one nexthop object (on, the daemon's default), carry their gateway (off), or both
//! variants run in every round, interleaved with the reference, with medians at the end.
//! Namespaces are named `kbbench<pid>…` and deleted on exit.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::io::AsRawFd;
use std::process::{Command, Stdio};
use std::time::Instant;

use kube_bgp::kernel::{BatchOptions, KernelRoute, Reconciler, Watch};
use kube_bgp::prefix::Prefix;

fn sh(cmd: &str) -> Result<String, String> {
    let out = Command::new("sh")
        .args(["-c", cmd])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{cmd}: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A namespace pair joined by a veth (10.0.0.1/24 here, 10.0.0.2/24 there); deleted on drop.
struct VethPair {
    ns: String,
    peer: String,
    dev: String,
}

impl VethPair {
    fn new(k: u32) -> Result<VethPair, String> {
        let pid = std::process::id();
        let p = VethPair {
            ns: format!("kbbench{pid}a{k}"),
            peer: format!("kbbench{pid}b{k}"),
            dev: format!("vbench{k}"),
        };
        sh(&format!("ip netns add {}", p.ns))?;
        sh(&format!("ip netns add {}", p.peer))?;
        sh(&format!(
            "ip link add {d} netns {a} type veth peer name {d}p netns {b} && \
             ip -n {a} addr add 10.0.0.1/24 dev {d} && ip -n {a} link set {d} up && \
             ip -n {b} addr add 10.0.0.2/24 dev {d}p && ip -n {b} link set {d}p up",
            d = p.dev,
            a = p.ns,
            b = p.peer
        ))?;
        Ok(p)
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        let _ = sh(&format!(
            "ip netns del {}; ip netns del {}",
            self.ns, self.peer
        ));
    }
}

/// (system, user) CPU seconds of the calling thread. The kernel installs routes inside
/// `sendmsg`, so system time is the route-installation work, whatever the machine load.
fn thread_cpu() -> (f64, f64) {
    // SAFETY: getrusage fills the zeroed struct we pass; RUSAGE_THREAD is Linux-specific.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (t(ru.ru_stime), t(ru.ru_utime))
}

type Measured = (f64, f64, f64, usize);

/// How the reconciler runs (the command line's choices).
#[derive(Clone, Copy)]
struct Setup {
    opts: BatchOptions,
    pass_limit: usize,
    verbose: bool,
    watch: bool,
    scattered: bool,
}

fn ours(pair: &VethPair, n: u32, setup: Setup, objects: bool) -> Result<Measured, String> {
    let Setup {
        opts,
        pass_limit,
        verbose,
        watch,
        scattered,
    } = setup;
    let name = pair.ns.clone();
    std::thread::scope(|s| {
        s.spawn(move || -> Result<Measured, String> {
            let f = File::open(format!("/var/run/netns/{name}")).map_err(|e| e.to_string())?;
            // SAFETY: setns with an open namespace fd; affects only this thread.
            if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(format!("setns: {}", std::io::Error::last_os_error()));
            }
            let mut r = Reconciler::new(false).map_err(|e| e.to_string())?;
            r.set_batch_options(opts);
            r.set_nexthop_objects(objects);
            // As in the daemon: a change subscription that filters our own notifications.
            let _watch = if watch {
                let mut w = Watch::open().map_err(|e| e.to_string())?;
                w.ignore_senders(&r.port_id().into_iter().collect::<Vec<_>>())
                    .map_err(|e| e.to_string())?;
                Some(w)
            } else {
                None
            };
            r.set_pass_limit(pass_limit);
            // As the daemon starts: the first pass reads the (empty) kernel table while
            // nothing is wanted yet. Not timed.
            let mut want = BTreeMap::new();
            r.reconcile(&want).map_err(|e| e.to_string())?;
            let gw = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
            let prefix = |i: u32| {
                let a = IpAddr::V4(Ipv4Addr::from(0x1000_0000u32.wrapping_add(i << 8)));
                Prefix::new(a, 24).map_err(|e| e.to_string())
            };
            for i in 0..n {
                let p = prefix(i)?;
                want.insert(p, KernelRoute::via(p, gw));
            }
            // Scattered: as the daemon hands a large change set over (the RIB's scattered
            // scan, `pass_limit` prefixes per pass): bit-reversed order across passes,
            // each pass sorted by the reconciler. (Queuing them all at once would be
            // sorted back into address order.)
            let mut order = Vec::new();
            if scattered {
                let bits = u32::BITS - n.saturating_sub(1).leading_zeros();
                order.extend(
                    (0..1u64 << bits)
                        .map(|k| (k as u32).reverse_bits() >> (32 - bits.max(1)))
                        .filter(|&i| i < n),
                );
            } else {
                r.changed_all();
            }
            let mut fed = 0;
            let c0 = thread_cpu();
            let t0 = Instant::now();
            let mut failed = 0;
            let mut passes = Vec::new();
            loop {
                let t = Instant::now();
                if r.pending() == 0 {
                    for &i in order[fed..].iter().take(pass_limit) {
                        r.changed(prefix(i)?);
                        fed += 1;
                    }
                }
                let st = r.reconcile(&want).map_err(|e| e.to_string())?;
                passes.push((t.elapsed().as_secs_f64(), st.added));
                failed += st.failed;
                if !st.more && fed == order.len() {
                    break;
                }
            }
            let wall = t0.elapsed().as_secs_f64();
            let (sys, user) = thread_cpu();
            if verbose {
                println!(
                    "  installed-route mirror: {:.1} MB heap",
                    r.installed().heap_bytes() as f64 / 1e6
                );
                let mut done = 0;
                for (secs, added) in &passes {
                    done += added;
                    println!("  pass: +{added} in {secs:.3} s (total {done})");
                }
            }
            Ok((wall, sys - c0.0, user - c0.1, failed))
        })
        .join()
        .map_err(|_| "benchmark thread panicked".to_string())?
    })
}

/// Runs the reference; returns (wall seconds of its timed part, system CPU seconds of the
/// whole python process, which includes its start-up and message building).
fn reference(pair: &VethPair, n: u32, script: &str) -> Result<(f64, f64), String> {
    let cpu_file = format!("/tmp/kbbench{}.cpu", std::process::id());
    let out = sh(&format!(
        "ip netns exec {} /usr/bin/time -o {cpu_file} -f %S python3 {script} -n {n} --gw 10.0.0.2 --dev {}",
        pair.ns, pair.dev
    ))?;
    let sys = std::fs::read_to_string(&cpu_file).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&cpu_file);
    let sys: f64 = sys.trim().parse().map_err(|e| format!("{e}: {sys}"))?;
    let v: serde_json::Value =
        serde_json::from_str(out.trim()).map_err(|e| format!("{e}: {out}"))?;
    let (t0, t1) = (v["t0"].as_f64(), v["t1"].as_f64());
    match (t0, t1) {
        (Some(a), Some(b)) => Ok((b - a, sys)),
        _ => Err(format!("unexpected output: {out}")),
    }
}

fn main() -> Result<(), String> {
    let mut n = 1_000_000u32;
    let mut script = None;
    let mut opts = BatchOptions::default();
    let mut rounds = 1u32;
    let mut pass_limit = usize::MAX;
    let mut verbose = false;
    let mut watch = false;
    let mut scattered = false;
    let mut variants = vec![true];
    let mut args = lexopt::Parser::from_env();
    while let Some(arg) = args.next().map_err(|e| e.to_string())? {
        use lexopt::prelude::*;
        let num = |a: &mut lexopt::Parser| -> Result<u32, String> {
            a.value()
                .map_err(|e| e.to_string())?
                .parse::<u32>()
                .map_err(|e| e.to_string())
        };
        match arg {
            Short('n') => n = num(&mut args)?,
            Long("chunk") => opts.chunk = num(&mut args)? as usize,
            Long("ack-each") => opts.ack_each = true,
            Long("rounds") => rounds = num(&mut args)?.max(1),
            Long("pass-limit") => pass_limit = num(&mut args)?.max(1) as usize,
            Short('v') => verbose = true,
            Long("watch") => watch = true,
            Long("order") => {
                scattered = match args.value().map_err(|e| e.to_string())?.to_str() {
                    Some("ascending") => false,
                    Some("scattered") => true,
                    other => return Err(format!("--order ascending|scattered, not {other:?}")),
                }
            }
            Long("nexthop-objects") => {
                variants = match args.value().map_err(|e| e.to_string())?.to_str() {
                    Some("on") => vec![true],
                    Some("off") => vec![false],
                    Some("both") => vec![false, true],
                    other => return Err(format!("--nexthop-objects on|off|both, not {other:?}")),
                }
            }
            Long("reference") => {
                script = Some(
                    args.value()
                        .map_err(|e| e.to_string())?
                        .string()
                        .map_err(|e| format!("{e:?}"))?,
                )
            }
            _ => return Err(arg.unexpected().to_string()),
        }
    }
    println!(
        "routes={n} chunk={} order={} ack={}",
        opts.chunk,
        if scattered { "scattered" } else { "ascending" },
        if opts.ack_each {
            "each"
        } else {
            "last-of-chunk"
        }
    );
    let setup = Setup {
        opts,
        pass_limit,
        verbose,
        watch,
        scattered,
    };
    // Wall seconds per variant (plain, objects, reference), for the medians.
    let mut walls: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut k = 0;
    for round in 0..rounds {
        for &objects in &variants {
            let pair = VethPair::new(k)?;
            k += 1;
            let (secs, sys, user, failed) = ours(&pair, n, setup, objects)?;
            let what = if objects {
                "kube-bgp Reconciler, nexthop objects"
            } else {
                "kube-bgp Reconciler, plain routes"
            };
            println!(
                "round {round}: {what}: {n} routes, wall {secs:.3} s = {:.0} routes/s; \
                 cpu sys {sys:.3} + user {user:.3} s = {:.0} routes/cpu-s (failed {failed})",
                f64::from(n) / secs,
                f64::from(n) / (sys + user)
            );
            walls.entry(what).or_default().push(secs);
            drop(pair);
        }
        if let Some(s) = &script {
            let pair = VethPair::new(k)?;
            k += 1;
            let (secs, sys) = reference(&pair, n, s)?;
            walls.entry("reference nlbatch.py").or_default().push(secs);
            println!(
                "round {round}: reference nlbatch.py: {n} routes, wall {secs:.3} s = {:.0} routes/s; \
                 cpu sys {sys:.3} s = {:.0} routes/sys-s",
                f64::from(n) / secs,
                f64::from(n) / sys
            );
        }
    }
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let reference = walls.get("reference nlbatch.py").map(|v| median(v));
    for (what, v) in &walls {
        let m = median(v);
        let ratio = reference
            .map(|r| format!(", {:.2}x the reference's rate", r / m))
            .unwrap_or_default();
        println!(
            "median of {}: {what}: wall {m:.3} s = {:.0} routes/s{ratio}",
            v.len(),
            f64::from(n) / m
        );
    }
    Ok(())
}
