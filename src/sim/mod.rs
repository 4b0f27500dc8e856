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
//! `sim::replay` replays one; `sim::same_seed_same_trace`; `sim::adds::converge_fast`
//! times fault-free node adds (`adds`). Environment:
//! `KB_SIM_SECONDS` (wall time of `seeds`, default 60), `KB_SIM_SEED_BASE` (its first
//! seed, default 0), `KB_SIM_KEEP_GOING` (report every failing seed instead of stopping
//! at the first), `KB_SIM_DEBUG_SEEDS` (print each seed before it runs, to find one
//! that hangs), `KB_SIM_SEED` (the seed `replay` runs), `KB_SIM_ADD_SEED` (the one
//! seed `adds::converge_fast` then runs, with its trace).

mod adds;
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
        other_ip: None,
        other_pod_cidr: None,
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

/// Agents restarted with one flag changed, one at a time, on two subnets with an
/// external router: after each, the node's kernel and sessions follow its new flags
/// (overlay off: its tunnels, table-77 routes and rule go, and so do its routes to the
/// far node; full: tunnels to its neighbours too; iBGP off: no node session, no node
/// route; pod CIDR not advertised: the router loses it) while the other nodes keep
/// theirs. The route counts of the checks differ, so the old flags' state would fail.
/// The tunnels are FoU (`--overlay-encap` is not among the changed flags): the
/// overlay switched off and on again keeps the GUE port and the tunnels' encapsulation.
#[test]
fn restarts_with_changed_flags_leave_no_leftovers() {
    use api::SimNode;
    use driver::run;
    use faults::{Fault, FaultKind, FlagChange, RESTART_TIME, StopKind};
    use oracle::{SimEncap, SimOverlay, Topology};
    use std::net::{IpAddr, Ipv4Addr};
    crate::log::set_level(crate::log::Level::Error);
    let node = |i: u8, subnet: u8| SimNode {
        name: format!("n{i}"),
        internal_ip: IpAddr::V4(Ipv4Addr::new(10, 0, subnet, 10 + i)),
        pod_cidr: format!("10.244.{i}.0/24").parse().unwrap(),
        other_ip: None,
        other_pod_cidr: None,
        annotations: Default::default(),
    };
    let changes = [
        ("n1", FlagChange::Overlay(SimOverlay::Off), StopKind::Crash),
        ("n1", FlagChange::Overlay(SimOverlay::Full), StopKind::Term),
        (
            "n1",
            FlagChange::Overlay(SimOverlay::Subnet),
            StopKind::Crash,
        ),
        ("n2", FlagChange::Ibgp(false), StopKind::Term),
        ("n2", FlagChange::Ibgp(true), StopKind::Crash),
        ("n3", FlagChange::AdvertisePodCidr(false), StopKind::Crash),
        ("n3", FlagChange::GracefulRestart(false), StopKind::Term),
        ("n3", FlagChange::GracefulRestart(true), StopKind::Crash),
    ];
    let faults = changes
        .iter()
        .enumerate()
        .map(|(ep, (name, change, how))| Fault {
            episode: ep as u32,
            offset: Duration::from_millis(500),
            kind: FaultKind::Reconfigure {
                name: name.to_string(),
                how: *how,
                down: Duration::from_secs(5),
                change: *change,
            },
        })
        .collect();
    let sc = Scenario {
        topology: Topology {
            full_mesh: true,
            overlay: SimOverlay::Subnet,
            encap: SimEncap::Fou { port: 5555 },
        },
        graceful_restart: true,
        restart_time: RESTART_TIME,
        nodes: vec![node(1, 0), node(2, 0), node(3, 1)],
        faults,
        router: true,
    };
    let seed = 7;
    let mut w = RealWorld::new(&sc, seed);
    let out = run(&sc, &mut w, seed);
    let trace = out.trace.join("\n");
    assert_eq!(out.failure, None, "{trace}");
    assert_eq!(out.faults as usize, changes.len(), "{trace}");
    let checks: Vec<&str> = out
        .trace
        .iter()
        .filter_map(|l| l.split_once(" check ").map(|(_, c)| c))
        .collect();
    // start, then one per change: overlay off drops n1's route to n3 (6 -> 5); full and
    // subnet again keep the count; iBGP off on n2 drops 4 routes and 2 sessions; the
    // router hears one pod CIDR fewer without n3's advertisement.
    let want = [
        "start ok: 3 nodes, 6 routes, 6 sessions, router has 3",
        "ep0 ok: 3 nodes, 5 routes, 6 sessions, router has 3",
        "ep1 ok: 3 nodes, 6 routes, 6 sessions, router has 3",
        "ep2 ok: 3 nodes, 6 routes, 6 sessions, router has 3",
        "ep3 ok: 3 nodes, 2 routes, 4 sessions, router has 3",
        "ep4 ok: 3 nodes, 6 routes, 6 sessions, router has 3",
        "ep5 ok: 3 nodes, 6 routes, 6 sessions, router has 2",
        "ep6 ok: 3 nodes, 6 routes, 6 sessions, router has 2",
        "ep7 ok: 3 nodes, 6 routes, 6 sessions, router has 2",
    ];
    assert_eq!(checks, want, "{trace}");
}

/// Dual-stack nodes among single-stack ones, on two subnets of each family, with FoU
/// and an external router: the IPv6 pod CIDRs travel over IPv4 sessions with IPv6 next
/// hops, each family routed by its own subnets; a readdressed family moves its routes
/// from a tunnel to `via`; a node re-provisioned without its IPv6 pod CIDR loses its
/// route on the others and on the router, and its own rule for it (which an earlier
/// run's agent left in the kernel).
#[test]
fn dual_stack_nodes_readdressed_and_without_a_pod_cidr() {
    use api::SimNode;
    use driver::run;
    use faults::{Fault, FaultKind, RESTART_TIME};
    use oracle::{SimEncap, SimOverlay, Topology};
    use std::net::IpAddr;
    crate::log::set_level(crate::log::Level::Error);
    let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
    let node = |i: u8, primary: &str, other: Option<&str>| SimNode {
        name: format!("n{i}"),
        internal_ip: ip(primary),
        pod_cidr: if primary.contains(':') {
            format!("fd00:244:{i}::/64").parse().unwrap()
        } else {
            format!("10.244.{i}.0/24").parse().unwrap()
        },
        other_ip: other.map(ip),
        other_pod_cidr: other.map(|o| {
            if o.contains(':') {
                format!("fd00:244:{i}::/64").parse().unwrap()
            } else {
                format!("10.244.{i}.0/24").parse().unwrap()
            }
        }),
        annotations: Default::default(),
    };
    let fault = |episode: u32, kind: FaultKind| Fault {
        episode,
        offset: Duration::from_millis(500),
        kind,
    };
    let sc = Scenario {
        topology: Topology {
            full_mesh: true,
            overlay: SimOverlay::Subnet,
            encap: SimEncap::Fou { port: 5555 },
        },
        graceful_restart: true,
        restart_time: RESTART_TIME,
        nodes: vec![
            node(1, "10.0.0.11", Some("fd00::b")),
            node(2, "fd00::c", Some("10.0.0.12")),
            node(3, "10.0.1.13", None),
            node(4, "10.0.0.14", Some("fd00:0:0:1::e")),
        ],
        faults: vec![
            fault(
                0,
                FaultKind::Readdress {
                    name: "n4".into(),
                    ip: ip("fd00::f"),
                },
            ),
            fault(1, FaultKind::DropPodCidr { name: "n1".into() }),
            fault(
                2,
                FaultKind::Readdress {
                    name: "n1".into(),
                    ip: ip("10.0.1.20"),
                },
            ),
        ],
        router: true,
    };
    let seed = 3;
    let mut w = RealWorld::new(&sc, seed);
    let out = run(&sc, &mut w, seed);
    let trace = out.trace.join("\n");
    assert_eq!(out.failure, None, "{trace}");
    assert_eq!(out.faults, 3, "{trace}");
    let checks: Vec<&str> = out
        .trace
        .iter()
        .filter_map(|l| l.split_once(" check ").map(|(_, c)| c))
        .collect();
    // n1, n3, n4 mesh over IPv4 (n2's primary is IPv6: alone among nodes); all four
    // peer with the router. n1 holds n3's and n4's IPv4 CIDRs and n4's IPv6 one, n3
    // the IPv4 ones of n1 and n4, n4 n1's two and n3's: 8. The router hears both
    // families of the dual-stack nodes and n3's: 7. n1 without its IPv6 CIDR: n4 loses
    // it, and so does the router.
    let want = [
        "start ok: 4 nodes, 8 routes, 7 sessions, router has 7",
        "ep0 ok: 4 nodes, 8 routes, 7 sessions, router has 7",
        "ep1 ok: 4 nodes, 7 routes, 7 sessions, router has 6",
        "ep2 ok: 4 nodes, 7 routes, 7 sessions, router has 6",
    ];
    assert_eq!(checks, want, "{trace}");
}
