//! Interop: failures and restarts against real routers. Hold-timer expiry when the
//! link is cut (the router's 9 s hold time is negotiated; kube-bgp must drop the session
//! and the routes from its RIB and the kernel within it); graceful restart (RFC 4724)
//! keeping kube-bgp's routes on FRR across a kube-bgp restart, then refreshed; and,
//! without graceful restart, SIGTERM sending a Cease so the router withdraws at once.
mod common;

use std::time::{Duration, Instant};

use common::kbnode::{self, KbNode, Pair};
use common::routers::{Neighbor, Router, RouterConfig, RouterDaemon, SessionState};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(20);

fn have(test: &str, d: RouterDaemon) -> bool {
    common::require_root(test) && common::apiserver::available(test) && d.available(test)
}

fn setup(daemon: RouterDaemon, gr: bool, kb_flags: &[&str]) -> (Pair, Router, KbNode) {
    let p = kbnode::pair("iopf");
    kbnode::create_node(&p.api, "n1", &["10.0.0.1"], &["10.244.1.0/24"], &[]);
    let mut n = Neighbor::new("10.0.0.1", 64512);
    if gr {
        n = n.graceful_restart();
    }
    let rtr = Router::start(
        daemon,
        &p.rtr,
        RouterConfig::new(65001, "10.0.0.2")
            .neighbor(n)
            .prefix("10.100.1.0/24"),
    );
    let mut flags = vec!["--peer-router-ips=10.0.0.2", "--peer-router-asns=65001"];
    flags.extend_from_slice(kb_flags);
    let kb = KbNode::start(&p.kb, &p.api, "n1", &flags);
    assert!(
        rtr.wait_established("10.0.0.1", WAIT),
        "{:?}\n{}\n{}",
        rtr.session("10.0.0.1"),
        rtr.logs(),
        kb.logs()
    );
    assert!(kb.wait_established("10.0.0.2", WAIT), "{}", kb.logs());
    assert!(
        rtr.wait_route("10.244.1.0/24", WAIT).is_some(),
        "{:?}\n{}",
        rtr.routes(),
        kb.logs()
    );
    assert!(
        kb.wait_kernel("10.100.1.0/24", WAIT).is_some(),
        "{:?}\n{}",
        kb.kernel_routes(),
        kb.logs()
    );
    (p, rtr, kb)
}

fn hold_timer(test: &str, daemon: RouterDaemon) {
    if !have(test, daemon) {
        return;
    }
    eprintln!("{test}: {}", daemon.version());
    let (p, rtr, kb) = setup(daemon, false, &[]);
    let hold = rtr.config().hold_time;
    let n = kb.neighbor("10.0.0.2").expect("neighbor detail");
    assert_eq!(n.hold_time, hold, "negotiated hold time: {n:?}");
    assert_eq!(n.keepalive, hold / 3, "keepalive: {n:?}");

    // Cut the link on the router's side: no FIN, no RST; only the hold timer can tell.
    p.rtr.sh(&format!("ip link set dev {} down", p.rtr_if));
    let cut = Instant::now();
    let limit = Duration::from_secs(u64::from(hold) + 4);
    let down = common::wait_for(limit, || {
        (kb.state("10.0.0.2") != "Established").then_some(())
    });
    assert!(
        down.is_some(),
        "kube-bgp still Established {:?} after the cut (hold time {hold} s)\n{}",
        cut.elapsed(),
        kb.logs()
    );
    let detected = cut.elapsed();
    eprintln!("{test}: session down {detected:?} after the cut");
    assert!(
        kb.wait_no_rib("10.100.1.0/24", Duration::from_secs(3)),
        "route kept after the session dropped: {:?}",
        kb.rib(false)
    );
    assert!(
        kb.wait_no_kernel("10.100.1.0/24", Duration::from_secs(3)),
        "kernel route kept: {:?}",
        kb.kernel_routes()
    );
    let d = kb.neighbor("10.0.0.2").expect("neighbor detail");
    let err = d.last_error.unwrap_or_default();
    assert!(err.to_lowercase().contains("hold"), "last error {err:?}");

    // The link comes back: the session and the route return.
    p.rtr.sh(&format!("ip link set dev {} up", p.rtr_if));
    assert!(kb.wait_established("10.0.0.2", WAIT), "{}", kb.logs());
    assert!(
        kb.wait_kernel("10.100.1.0/24", WAIT).is_some(),
        "{:?}",
        kb.kernel_routes()
    );
    drop(rtr);
}

#[test]
fn hold_timer_expiry_gobgp() {
    hold_timer("hold_timer_expiry_gobgp", RouterDaemon::Gobgp);
}

#[test]
fn hold_timer_expiry_bird() {
    hold_timer("hold_timer_expiry_bird", RouterDaemon::Bird);
}

/// FRR's view of one prefix: (present, stale).
fn frr_path(r: &Router, prefix: &str) -> (bool, bool) {
    let out = std::process::Command::new("vtysh")
        .arg("--vty_socket")
        .arg(r.dir())
        .args([
            "-d",
            "bgpd",
            "-c",
            &format!("show bgp ipv4 unicast {prefix} json"),
        ])
        .output()
        .expect("run vtysh");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let paths = v
        .get("paths")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let stale = paths
        .iter()
        .any(|p| p.get("stale").and_then(Value::as_bool).unwrap_or(false));
    (!paths.is_empty(), stale)
}

/// kube-bgp stops with `sig` while FRR helps it restart: the pod CIDR stays on FRR
/// (stale) while kube-bgp is down, and is refreshed (not stale) once it is back.
fn graceful_restart(test: &str, sig: i32) {
    if !have(test, RouterDaemon::Frr) {
        return;
    }
    eprintln!("{test}: {}", RouterDaemon::Frr.version());
    let (_p, rtr, mut kb) = setup(RouterDaemon::Frr, true, &["--bgp-graceful-restart"]);
    let n = kb.neighbor("10.0.0.2").expect("neighbor detail");
    assert!(
        n.capabilities
            .iter()
            .any(|c| c.starts_with("graceful restart: peer restart time")
                && !c.contains("not enabled locally")),
        "{:?}",
        n.capabilities
    );
    assert_eq!(frr_path(&rtr, "10.244.1.0/24"), (true, false));

    kb.stop(sig);
    assert!(
        common::wait_for(Duration::from_secs(5), || {
            (rtr.session("10.0.0.1") != SessionState::Established).then_some(())
        })
        .is_some(),
        "FRR did not notice kube-bgp stopping\n{}",
        rtr.logs()
    );
    // While kube-bgp is down, FRR keeps the route, marked stale.
    let stale = common::wait_for(Duration::from_secs(5), || {
        (frr_path(&rtr, "10.244.1.0/24") == (true, true)).then_some(())
    });
    assert!(
        stale.is_some(),
        "FRR dropped or did not mark kube-bgp's route: {:?}\n{}",
        frr_path(&rtr, "10.244.1.0/24"),
        rtr.logs()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        frr_path(&rtr, "10.244.1.0/24"),
        (true, true),
        "{}",
        rtr.logs()
    );

    kb.restart();
    assert!(
        rtr.wait_established("10.0.0.1", WAIT),
        "{:?}\n{}\n{}",
        rtr.session("10.0.0.1"),
        rtr.logs(),
        kb.logs()
    );
    let fresh = common::wait_for(WAIT, || {
        (frr_path(&rtr, "10.244.1.0/24") == (true, false)).then_some(())
    });
    assert!(
        fresh.is_some(),
        "route not refreshed after the restart: {:?}\n{}\n{}",
        frr_path(&rtr, "10.244.1.0/24"),
        rtr.logs(),
        kb.logs()
    );
    assert!(
        kb.wait_kernel("10.100.1.0/24", WAIT).is_some(),
        "{:?}",
        kb.kernel_routes()
    );
}

#[test]
fn graceful_restart_kill9_frr() {
    graceful_restart("graceful_restart_kill9_frr", libc::SIGKILL);
}

#[test]
fn graceful_restart_sigterm_frr() {
    graceful_restart("graceful_restart_sigterm_frr", libc::SIGTERM);
}

/// Without graceful restart, SIGTERM makes kube-bgp send a Cease: the router drops the
/// session and withdraws the pod CIDR at once (well within its 9 s hold time).
fn sigterm_without_gr(test: &str, daemon: RouterDaemon) {
    if !have(test, daemon) {
        return;
    }
    eprintln!("{test}: {}", daemon.version());
    let (_p, rtr, mut kb) = setup(daemon, true, &[]);
    let t = Instant::now();
    kb.stop(libc::SIGTERM);
    assert!(
        rtr.wait_no_route("10.244.1.0/24", Duration::from_secs(3)),
        "{} kept kube-bgp's route {:?} after SIGTERM: {:?}\n{}",
        daemon,
        t.elapsed(),
        rtr.routes(),
        rtr.logs()
    );
    assert_ne!(rtr.session("10.0.0.1"), SessionState::Established);
    if daemon == RouterDaemon::Frr {
        let out = std::process::Command::new("vtysh")
            .arg("--vty_socket")
            .arg(rtr.dir())
            .args(["-d", "bgpd", "-c", "show bgp neighbors 10.0.0.1 json"])
            .output()
            .expect("run vtysh");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Cease") || text.contains("Notification received"),
            "FRR does not report a received Cease:\n{text}"
        );
    }
}

#[test]
fn sigterm_without_gr_frr() {
    sigterm_without_gr("sigterm_without_gr_frr", RouterDaemon::Frr);
}

#[test]
fn sigterm_without_gr_gobgp() {
    sigterm_without_gr("sigterm_without_gr_gobgp", RouterDaemon::Gobgp);
}

/// kube-bgp as the graceful-restart helper: GoBGP is killed (-9) and started again.
/// While it is gone, kube-bgp keeps its route, marked stale, in the RIB and the kernel;
/// once GoBGP is back and announces again, the route is fresh.
#[test]
fn graceful_restart_helper_gobgp() {
    let test = "graceful_restart_helper_gobgp";
    if !have(test, RouterDaemon::Gobgp) {
        return;
    }
    eprintln!("{test}: {}", RouterDaemon::Gobgp.version());
    let (p, rtr, kb) = setup(RouterDaemon::Gobgp, true, &["--bgp-graceful-restart"]);
    let row = kb
        .rib_best("10.100.1.0/24")
        .expect("route before the restart");
    assert!(!row.stale, "{row:?}");
    let config = rtr.config().clone();
    drop(rtr); // SIGKILL: the TCP connection closes without a NOTIFICATION.
    assert!(
        common::wait_for(Duration::from_secs(5), || {
            (kb.state("10.0.0.2") != "Established").then_some(())
        })
        .is_some(),
        "kube-bgp did not notice GoBGP going away\n{}",
        kb.logs()
    );
    let stale = common::wait_for(Duration::from_secs(5), || {
        kb.rib_best("10.100.1.0/24").filter(|r| r.stale)
    });
    assert!(
        stale.is_some(),
        "route not kept as stale: {:?}\n{}",
        kb.rib(false),
        kb.logs()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        kb.rib_best("10.100.1.0/24").is_some_and(|r| r.stale),
        "{:?}",
        kb.rib(false)
    );
    assert!(
        kb.kernel_route("10.100.1.0/24").is_some(),
        "kernel route removed during the restart: {:?}",
        kb.kernel_routes()
    );

    let rtr = Router::gobgp(&p.rtr, config);
    assert!(
        kb.wait_established("10.0.0.2", WAIT),
        "{}\n{}",
        rtr.logs(),
        kb.logs()
    );
    let fresh = common::wait_for(WAIT, || kb.rib_best("10.100.1.0/24").filter(|r| !r.stale));
    assert!(fresh.is_some(), "{:?}\n{}", kb.rib(false), kb.logs());
    assert!(kb.wait_kernel("10.100.1.0/24", WAIT).is_some());
    assert!(
        rtr.wait_route("10.244.1.0/24", WAIT).is_some(),
        "{:?}",
        rtr.routes()
    );
}
