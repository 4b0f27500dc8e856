//! Deterministic simulation of whole clusters under faults (tests only).
//!
//! Owns the simulated world around the node agents: virtual time (`clock`), one seeded
//! random source (`rng`), the API server (`api`), the expected state (`oracle`), the
//! fault lists and their minimisation (`faults`), the event loop that runs agents,
//! applies faults and checks invariants at quiescent points (`driver`), the real agents
//! (`world`: kube-bgp's `Daemon` over a simulated kernel and network), an external
//! router built from the BGP core (`router`) and a toy world for the driver's own tests
//! (`toy`). Must never touch the host: no sockets, no netlink, no files.
//!
//! The tests here: `sim::seeds` runs seeds for a bounded wall time and prints seeds/s;
//! `sim::replay` replays one; `sim::same_seed_same_trace`. Environment:
//! `KB_SIM_SECONDS` (wall time of `seeds`, default 60), `KB_SIM_SEED_BASE` (its first
//! seed, default 0), `KB_SIM_KEEP_GOING` (report every failing seed instead of stopping
//! at the first), `KB_SIM_DEBUG_SEEDS` (print each seed before it runs, to find one
//! that hangs), `KB_SIM_SEED` (the seed `replay` runs).

mod api;
mod clock;
mod driver;
mod faults;
mod oracle;
mod rng;
mod router;
mod runs;
mod toy;
mod world;

use std::time::{Duration, Instant};

use faults::Scenario;
use runs::{env_u64, report, run_seed};
use world::RealWorld;

#[test]
fn seeds() {
    crate::log::set_level(crate::log::Level::Error);
    let budget = Duration::from_secs(env_u64("KB_SIM_SECONDS").unwrap_or(60));
    let base = env_u64("KB_SIM_SEED_BASE").unwrap_or(0);
    let started = Instant::now();
    let (mut seeds, mut faults, mut checks, mut steps) = (0u64, 0u64, 0u64, 0u64);
    let mut guarded = 0u64;
    let mut virtual_time = Duration::ZERO;
    let keep_going = std::env::var_os("KB_SIM_KEEP_GOING").is_some();
    let mut failed = Vec::new();
    let mut seed = base;
    while seeds == 0 || started.elapsed() < budget {
        if std::env::var_os("KB_SIM_DEBUG_SEEDS").is_some() {
            eprintln!("SEED {seed}");
        }
        let (sc, out) = run_seed(seed);
        if out.failure.is_some() {
            let r = report(seed, &sc, &out);
            if !keep_going {
                panic!("{r}");
            }
            println!("{r}");
            failed.push(seed);
        }
        seeds += 1;
        faults += u64::from(out.faults);
        checks += u64::from(out.checks);
        steps += out.steps;
        guarded += out.guarded_steps;
        virtual_time += out.virtual_time;
        seed += 1;
    }
    let wall = started.elapsed().as_secs_f64();
    println!(
        "sim::seeds: {seeds} seeds ({base}..{seed}) in {wall:.1} s = {:.2} seeds/s; \
         {faults} faults, {checks} quiescent checks, {steps} steps ({guarded} under a \
         graceful-restart or drain guard), {:.0} h of virtual time",
        seeds as f64 / wall,
        virtual_time.as_secs_f64() / 3600.0
    );
    assert!(failed.is_empty(), "failed seeds: {failed:?}");
    assert!(
        checks >= 2 * seeds,
        "every seed checked at least its start and one episode"
    );
}

#[test]
fn replay() {
    let Some(seed) = env_u64("KB_SIM_SEED") else {
        println!("sim::replay: set KB_SIM_SEED=<n> to replay a seed; skipped");
        return;
    };
    let (sc, out) = run_seed(seed);
    println!("seed {seed}: {} faults", sc.faults.len());
    for f in &sc.faults {
        println!("  {f}");
    }
    for l in &out.trace {
        println!("{l}");
    }
    if out.failure.is_some() {
        panic!("{}", report(seed, &sc, &out));
    }
}

#[test]
fn same_seed_same_trace() {
    crate::log::set_level(crate::log::Level::Error);
    for seed in [1, 2, 5, 7, 11, 13] {
        let (_, a) = run_seed(seed);
        let (_, b) = run_seed(seed);
        assert!(a.trace.len() >= 3, "{:?}", a.trace);
        assert_eq!(a.trace, b.trace, "seed {seed}");
        assert_eq!(a.steps, b.steps, "seed {seed}: same number of steps");
    }
}

/// A route reflector update-group bug found by seed 224, minimised to one fault: n4
/// reflects for its client n1; n2 and n3 are plain nodes in one update group of n4
/// created for n2. Deleting n2 made n4's export policy treat the group as external
/// peers (the group was represented by a copy of n2's settings), so n1's pod CIDR was
/// withdrawn from n3.
#[test]
fn known_bug_rr_group_rep() {
    use api::SimNode;
    use driver::run;
    use faults::{Fault, FaultKind, RESTART_TIME};
    use oracle::{ANN_RR_CLIENT, ANN_RR_SERVER, SimEncap, SimOverlay, Topology};
    let node = |i: u8, ann: Option<(&str, &str)>| SimNode {
        name: format!("n{i}"),
        internal_ip: std::net::IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 9 + i)),
        pod_cidr: format!("10.244.{i}.0/24").parse().unwrap(),
        annotations: ann
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    let sc = Scenario {
        topology: Topology {
            full_mesh: true,
            overlay: SimOverlay::Subnet,
            encap: SimEncap::Ipip,
        },
        graceful_restart: true,
        restart_time: RESTART_TIME,
        nodes: vec![
            node(1, Some((ANN_RR_CLIENT, "1"))),
            node(2, None),
            node(3, None),
            node(4, Some((ANN_RR_SERVER, "1"))),
        ],
        faults: vec![Fault {
            episode: 0,
            offset: Duration::from_millis(418),
            kind: FaultKind::DeleteNode { name: "n2".into() },
        }],
        router: false,
    };
    let seed = 224;
    let mut w = RealWorld::new(&sc, seed);
    let out = run(&sc, &mut w, seed);
    assert_eq!(out.failure, None, "{}", out.trace.join("\n"));
}
