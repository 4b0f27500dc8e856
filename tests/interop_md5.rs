//! Interop: TCP-MD5 (RFC 2385) between kube-bgp and BIRD, GoBGP and FRR, with the key
//! given the way the documentation shows (`--peer-router-passwords=<base64>`). The
//! right key brings the session up and routes flow; a wrong key or no key on
//! kube-bgp's side never reaches Established on either side within 8 s.
mod common;

use std::time::{Duration, Instant};

use common::kbnode::{self, KbNode, Pair};
use common::routers::{Neighbor, Router, RouterConfig, RouterDaemon, SessionState};

const WAIT: Duration = Duration::from_secs(20);
const KEY: &str = "s3cret";
/// base64("s3cret").
const KEY_B64: &str = "czNjcmV0";
/// base64("wrong-key").
const WRONG_B64: &str = "d3Jvbmcta2V5";

fn have(test: &str, d: RouterDaemon) -> bool {
    common::require_root(test) && common::apiserver::available(test) && d.available(test)
}

/// Router at 10.0.0.2 (AS 65001, key KEY) and kube-bgp node n1 at 10.0.0.1 with
/// `extra` flags.
fn setup(daemon: RouterDaemon, extra: &[&str]) -> (Pair, Router, KbNode) {
    let p = kbnode::pair("iopm");
    kbnode::create_node(&p.api, "n1", &["10.0.0.1"], &["10.244.1.0/24"], &[]);
    let rtr = Router::start(
        daemon,
        &p.rtr,
        RouterConfig::new(65001, "10.0.0.2")
            .neighbor(Neighbor::new("10.0.0.1", 64512).password(KEY))
            .prefix("10.100.1.0/24"),
    );
    let mut flags = vec!["--peer-router-ips=10.0.0.2", "--peer-router-asns=65001"];
    flags.extend_from_slice(extra);
    let kb = KbNode::start(&p.kb, &p.api, "n1", &flags);
    (p, rtr, kb)
}

fn right_key(test: &str, daemon: RouterDaemon) {
    if !have(test, daemon) {
        return;
    }
    eprintln!("{test}: {}", daemon.version());
    let pw = format!("--peer-router-passwords={KEY_B64}");
    let (_p, rtr, kb) = setup(daemon, &[&pw]);
    assert!(
        rtr.wait_established("10.0.0.1", WAIT),
        "{}: {:?}\n{}\n{}",
        daemon,
        rtr.session("10.0.0.1"),
        rtr.logs(),
        kb.logs()
    );
    assert!(
        kb.wait_established("10.0.0.2", WAIT),
        "{:?}\n{}",
        kb.neighbor("10.0.0.2"),
        kb.logs()
    );
    let n = kb.neighbor("10.0.0.2").expect("neighbor detail");
    assert!(n.password, "neighbor detail should say a key is set: {n:?}");
    assert!(
        rtr.wait_route("10.244.1.0/24", WAIT).is_some(),
        "{:?}",
        rtr.routes()
    );
    assert!(
        kb.wait_rib("10.100.1.0/24", WAIT).is_some(),
        "{:?}\n{}",
        kb.rib(false),
        kb.logs()
    );
    // The key never appears in the log.
    assert!(!kb.logs().contains(KEY), "the key was logged");
}

/// Neither side reaches Established during `secs` seconds.
fn never_established(rtr: &Router, kb: &KbNode, secs: u64) {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        let r = rtr.session("10.0.0.1");
        assert_ne!(
            r,
            SessionState::Established,
            "{} established despite the key mismatch\n{}",
            rtr.daemon,
            rtr.logs()
        );
        let k = kb.state("10.0.0.2");
        assert!(
            !k.is_empty(),
            "kube-bgp does not list the peer\n{}",
            kb.logs()
        );
        assert_ne!(k, "Established", "kube-bgp established\n{}", kb.logs());
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(rtr.route("10.244.1.0/24").is_none(), "{:?}", rtr.routes());
    assert!(
        kb.rib_best("10.100.1.0/24").is_none(),
        "{:?}",
        kb.rib(false)
    );
}

#[test]
fn md5_right_key_bird() {
    right_key("md5_right_key_bird", RouterDaemon::Bird);
}

#[test]
fn md5_right_key_gobgp() {
    right_key("md5_right_key_gobgp", RouterDaemon::Gobgp);
}

#[test]
fn md5_right_key_frr() {
    right_key("md5_right_key_frr", RouterDaemon::Frr);
}

#[test]
fn md5_wrong_key_bird() {
    let test = "md5_wrong_key_bird";
    if !have(test, RouterDaemon::Bird) {
        return;
    }
    let pw = format!("--peer-router-passwords={WRONG_B64}");
    let (_p, rtr, kb) = setup(RouterDaemon::Bird, &[&pw]);
    never_established(&rtr, &kb, 8);
    assert!(kb.neighbor("10.0.0.2").is_some_and(|n| n.password));
}

#[test]
fn md5_wrong_key_frr() {
    let test = "md5_wrong_key_frr";
    if !have(test, RouterDaemon::Frr) {
        return;
    }
    let pw = format!("--peer-router-passwords={WRONG_B64}");
    let (_p, rtr, kb) = setup(RouterDaemon::Frr, &[&pw]);
    never_established(&rtr, &kb, 8);
}

#[test]
fn md5_missing_key_gobgp() {
    let test = "md5_missing_key_gobgp";
    if !have(test, RouterDaemon::Gobgp) {
        return;
    }
    let (_p, rtr, kb) = setup(RouterDaemon::Gobgp, &[]);
    never_established(&rtr, &kb, 8);
    assert!(kb.neighbor("10.0.0.2").is_some_and(|n| !n.password));
}
