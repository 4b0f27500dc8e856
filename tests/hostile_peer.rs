//! End-to-end: kube-bgp against a peer that sends crafted messages (tests/common/
//! rawpeer.rs) over a real TCP session between namespaces. RFC 7606: the session
//! survives what the RFC says it survives (treat-as-withdraw, attribute discard, routes
//! of a family not negotiated) and is reset where the RFC says so; repeated errors are
//! logged at a bounded rate. Prefix limits: warning at 80 %, Cease 6/1 with the RFC
//! 4486 data, no session before the restart wait, then a new one (also with BIRD as the
//! peer). Hold time 0 refused unless configured.
mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use common::kbnode::{self, KbNode, Pair};
use common::rawpeer::{OpenSpec, RawPeer, attr, base_attrs, message, nlri, update};
use common::routers::{Neighbor, Router, RouterConfig, RouterDaemon};
use kube_bgp::bgp::types::{Message, Notification};

const WAIT: Duration = Duration::from_secs(20);
const PEER: &str = "10.0.0.2";
const NH: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const ASN: u32 = 65001;

fn have(test: &str) -> bool {
    common::require_root(test) && common::apiserver::available(test)
}

/// kube-bgp (node n1, 10.0.0.1) with the crafted peer 10.0.0.2 / AS 65001 as its
/// global peer, plus `flags`.
fn setup(tag: &str, flags: &[&str]) -> (Pair, KbNode) {
    setup_node(tag, flags, &[])
}

/// [`setup`] with annotations on the Node.
fn setup_node(tag: &str, flags: &[&str], annotations: &[(&str, &str)]) -> (Pair, KbNode) {
    let p = kbnode::pair(tag);
    kbnode::create_node(&p.api, "n1", &["10.0.0.1"], &["10.244.1.0/24"], annotations);
    let mut all = vec!["--peer-router-ips=10.0.0.2", "--peer-router-asns=65001"];
    all.extend_from_slice(flags);
    let kb = KbNode::start(&p.kb, &p.api, "n1", &all);
    (p, kb)
}

/// Connects the crafted peer to kube-bgp (retrying while it is not listening or still
/// refuses us), and completes the handshake with `spec`.
fn connect(p: &Pair, kb: &KbNode, spec: &OpenSpec) -> RawPeer {
    let to: SocketAddr = "10.0.0.1:179".parse().expect("addr");
    let deadline = Instant::now() + WAIT;
    let mut last = String::new();
    while Instant::now() < deadline {
        match RawPeer::connect(&p.rtr, PEER, to, None) {
            Ok(mut raw) => match raw.handshake(spec, Duration::from_secs(5)) {
                Ok(_) => return raw,
                Err(e) => last = e,
            },
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!("no session with kube-bgp: {last}\n{}", kb.logs());
}

/// kube-bgp's whole log (`KbNode::logs` is only the tail).
fn full_log(kb: &KbNode) -> String {
    std::fs::read_to_string(kb.dir().join("kube-bgp.log")).unwrap_or_default()
}

fn established(kb: &KbNode) -> bool {
    kb.state(PEER) == "Established"
}

fn code(n: &Notification) -> (u8, u8) {
    (n.code, n.subcode)
}

/// Sends `bytes`, then checks (through a valid UPDATE for `probe` that must show up in
/// the RIB) that kube-bgp took them and the session is still up.
fn survives(raw: &mut RawPeer, kb: &KbNode, bytes: &[u8], probe: &str, what: &str) {
    raw.send_raw(bytes).expect("send");
    raw.send_raw(&update(&[], &base_attrs(ASN, NH, &[]), &nlri(&[probe])))
        .expect("send probe");
    assert!(
        kb.wait_rib(probe, WAIT).is_some(),
        "{what}: probe {probe} not in the RIB\n{}",
        kb.logs()
    );
    assert!(established(kb), "{what}: session lost\n{}", kb.logs());
    assert!(
        !raw.ended_within(Duration::from_millis(100)),
        "{what}: kube-bgp ended the session: {:?}",
        raw.log
    );
}

#[test]
fn rfc7606_session_survives_treat_as_withdraw_and_attribute_discard() {
    let test = "rfc7606_session_survives_treat_as_withdraw_and_attribute_discard";
    if !have(test) {
        return;
    }
    let (p, kb) = setup("hp7", &[]);
    let mut raw = connect(&p, &kb, &OpenSpec::new(ASN, PEER));
    assert!(kb.wait_established(PEER, WAIT), "{}", kb.logs());
    let good = |prefixes: &[&str]| update(&[], &base_attrs(ASN, NH, &[]), &nlri(prefixes));
    raw.send_raw(&good(&["10.100.1.0/24", "10.100.2.0/24"]))
        .expect("send");
    assert!(
        kb.wait_kernel("10.100.1.0/24", WAIT).is_some(),
        "{}",
        kb.logs()
    );
    assert!(kb.wait_rib("10.100.2.0/24", WAIT).is_some());

    // §7.4 (via §3(e)): a MULTI_EXIT_DISC of 3 bytes: treat-as-withdraw of 10.100.1.0/24.
    let bad_med = update(
        &[],
        &base_attrs(ASN, NH, &attr(0x80, 4, &[0, 0, 1])),
        &nlri(&["10.100.1.0/24"]),
    );
    survives(&mut raw, &kb, &bad_med, "10.100.50.0/24", "§7.4 bad MED");
    assert!(kb.wait_no_rib("10.100.1.0/24", WAIT), "{:?}", kb.rib(false));
    assert!(kb.wait_no_kernel("10.100.1.0/24", WAIT));
    // §7.1: undefined ORIGIN value.
    let mut path = vec![2, 1];
    path.extend_from_slice(&ASN.to_be_bytes());
    let bad_origin = update(
        &[],
        &[
            attr(0x40, 1, &[7]),
            attr(0x40, 2, &path),
            attr(0x40, 3, &NH.octets()),
        ]
        .concat(),
        &nlri(&["10.100.2.0/24"]),
    );
    survives(
        &mut raw,
        &kb,
        &bad_origin,
        "10.100.51.0/24",
        "§7.1 bad ORIGIN",
    );
    assert!(kb.wait_no_rib("10.100.2.0/24", WAIT), "{:?}", kb.rib(false));
    // §3(c) + §7.6: ATOMIC_AGGREGATE with wrong flags: discarded, the route stands.
    let aa = update(
        &[],
        &base_attrs(ASN, NH, &attr(0xC0, 6, &[])),
        &nlri(&["10.100.3.0/24"]),
    );
    survives(
        &mut raw,
        &kb,
        &aa,
        "10.100.52.0/24",
        "§7.6 ATOMIC_AGGREGATE flags",
    );
    assert!(
        kb.rib_best("10.100.3.0/24").is_some(),
        "{:?}",
        kb.rib(false)
    );
    // §7.9, §7.10: ORIGINATOR_ID and CLUSTER_LIST from an external peer (one of them
    // malformed): discarded, the route stands.
    let rr = update(
        &[],
        &base_attrs(
            ASN,
            NH,
            &[attr(0x80, 9, &[1, 2, 3]), attr(0x80, 10, &[9, 9, 9, 9])].concat(),
        ),
        &nlri(&["10.100.4.0/24"]),
    );
    survives(&mut raw, &kb, &rr, "10.100.53.0/24", "§7.9/§7.10 from eBGP");
    assert!(kb.rib_best("10.100.4.0/24").is_some());
    // §3(g): a repeated attribute: the first is kept.
    let twice = update(
        &[],
        &base_attrs(
            ASN,
            NH,
            &[attr(0x80, 4, &[0, 0, 0, 5]), attr(0x80, 4, &[0, 0, 0, 9])].concat(),
        ),
        &nlri(&["10.100.5.0/24"]),
    );
    survives(
        &mut raw,
        &kb,
        &twice,
        "10.100.54.0/24",
        "§3(g) repeated MED",
    );
    assert!(kb.rib_best("10.100.5.0/24").is_some());
    // RFC 4760: IPv6 routes on a session that negotiated IPv4 only are discarded.
    let nh6 = [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    let mut mp = vec![0, 2, 1, 16];
    mp.extend_from_slice(&nh6);
    mp.extend_from_slice(&[0, 32, 0x20, 1, 0x0d, 0xb8]);
    let v6 = update(
        &[],
        &[attr(0x80, 14, &mp), base_attrs(ASN, NH, &[])].concat(),
        &[],
    );
    survives(&mut raw, &kb, &v6, "10.100.55.0/24", "IPv6 not negotiated");
    assert!(kb.rib(true).is_empty(), "{:?}", kb.rib(true));

    // §6 and the rate limit: 40 more malformed UPDATEs; each is logged with its NLRI
    // and the message, but at most 10 lines per peer and minute.
    let before = full_log(&kb).matches("malformed UPDATE").count();
    for _ in 0..40 {
        raw.send_raw(&bad_med).expect("send");
    }
    survives(&mut raw, &kb, &[], "10.100.56.0/24", "40 malformed UPDATEs");
    std::thread::sleep(Duration::from_millis(300));
    let log = full_log(&kb);
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("malformed UPDATE"))
        .collect();
    // 46 malformed UPDATEs in all: at most 10 lines per minute (20 if the test spans a
    // window boundary).
    assert!(
        !lines.is_empty() && lines.len() - before <= 20 && lines.len() <= 20,
        "{} malformed-UPDATE lines (before the burst: {before})",
        lines.len()
    );
    let line = lines.first().expect("at least one line");
    assert!(line.contains("NLRI (1): 10.100.1.0/24"), "{line}");
    assert!(
        line.contains("message ffffffffffffffffffffffffffffffff"),
        "{line}"
    );

    // §3(j): an attribute overrunning the list before any MP attribute: reset with an
    // Attribute Length Error; the peer's routes go.
    let mut over = base_attrs(ASN, NH, &[]);
    over.extend_from_slice(&[0x80, 4, 9, 0, 0]);
    raw.send_raw(&update(&[], &over, &nlri(&["10.100.6.0/24"])))
        .expect("send");
    let n = raw.wait_notification(WAIT).expect("NOTIFICATION");
    assert_eq!(code(&n), (3, 5), "{n:?}");
    assert_eq!(n.data, vec![0x80, 4, 9, 0, 0]);
    assert!(kb.wait_no_rib("10.100.3.0/24", WAIT), "{:?}", kb.rib(false));
    assert!(kb.wait_no_kernel("10.100.3.0/24", WAIT));
    assert!(!established(&kb));
}

/// Each case resets the session: (what, the UPDATE, the expected code and subcode).
fn reset_cases(tag: &str, cases: &[(&str, Vec<u8>, (u8, u8))]) {
    let (p, kb) = setup(tag, &[]);
    for (what, bytes, want) in cases {
        let mut raw = connect(&p, &kb, &OpenSpec::new(ASN, PEER));
        raw.send_raw(&update(
            &[],
            &base_attrs(ASN, NH, &[]),
            &nlri(&["10.102.0.0/24"]),
        ))
        .expect("send");
        assert!(
            kb.wait_rib("10.102.0.0/24", WAIT).is_some(),
            "{}",
            kb.logs()
        );
        raw.send_raw(bytes).expect("send");
        let n = raw
            .wait_notification(WAIT)
            .unwrap_or_else(|| panic!("{what}: no NOTIFICATION: {:?}\n{}", raw.log, kb.logs()));
        assert_eq!(code(&n), *want, "{what}: {n:?}");
        assert!(raw.wait_closed(WAIT), "{what}: connection not closed");
        assert!(
            kb.wait_no_rib("10.102.0.0/24", WAIT),
            "{what}: routes kept after the reset"
        );
        let last = kb
            .neighbor(PEER)
            .and_then(|d| d.last_error)
            .unwrap_or_default();
        assert!(
            last.contains(&format!("({}/{})", want.0, want.1)),
            "{what}: {last}"
        );
    }
}

#[test]
fn rfc7606_resets_where_the_rfc_says_so_a() {
    let test = "rfc7606_resets_where_the_rfc_says_so_a";
    if !have(test) {
        return;
    }
    let u6 = attr(0x80, 15, &[0, 2, 1]);
    reset_cases(
        "hpra",
        &[
            // §5.2: an error other than discard without reachable NLRI.
            (
                "§5.2",
                update(
                    &nlri(&["10.102.0.0/24"]),
                    &base_attrs(ASN, NH, &attr(0x80, 4, &[1])),
                    &[],
                ),
                (3, 1),
            ),
            // §3(g): MP_UNREACH_NLRI twice.
            (
                "§3(g)",
                update(&[], &[u6.clone(), u6].concat(), &[]),
                (3, 1),
            ),
            // §3(b): Total Path Attribute Length beyond the message.
            ("§3(b)", message(2, &[0, 0, 0, 40, 0x40, 1, 1, 0]), (3, 1)),
        ],
    );
}

#[test]
fn rfc7606_resets_where_the_rfc_says_so_b() {
    let test = "rfc7606_resets_where_the_rfc_says_so_b";
    if !have(test) {
        return;
    }
    let nh6 = [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    let mp = |flags: u8, nh: &[u8]| {
        let mut v = vec![0, 1, 1, nh.len() as u8];
        v.extend_from_slice(nh);
        v.extend_from_slice(&[0, 24, 10, 103, 0]);
        attr(flags, 14, &v)
    };
    let mut path = vec![2, 1];
    path.extend_from_slice(&ASN.to_be_bytes());
    let rest = [attr(0x40, 1, &[0]), attr(0x40, 2, &path)].concat();
    reset_cases(
        "hprb",
        &[
            // §5.3: a prefix length of 33 in the NLRI field.
            (
                "§5.3",
                update(&[], &base_attrs(ASN, NH, &[]), &[33, 10, 0, 0, 0, 0]),
                (3, 10),
            ),
            // §5.3 / §3(c): MP_REACH_NLRI flagged transitive.
            (
                "§5.3 flags",
                update(&[], &[mp(0xC0, &NH.octets()), rest.clone()].concat(), &[]),
                (3, 9),
            ),
            // §7.11: an MP_REACH_NLRI next hop of the wrong length.
            (
                "§7.11",
                update(&[], &[mp(0x80, &nh6[..7]), rest].concat(), &[]),
                (3, 9),
            ),
        ],
    );
}

#[test]
fn prefix_limit_cease_with_data_then_restart_after_the_wait() {
    let test = "prefix_limit_cease_with_data_then_restart_after_the_wait";
    if !have(test) {
        return;
    }
    let (p, kb) = setup(
        "hppl",
        &["--bgp-max-prefixes=50", "--bgp-prefix-limit-restart=5s"],
    );
    let mut raw = connect(&p, &kb, &OpenSpec::new(ASN, PEER));
    let prefixes: Vec<String> = (0..51).map(|i| format!("10.101.{i}.0/24")).collect();
    let refs: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    // 40 of 50: a warning, the routes are used.
    raw.send_raw(&update(&[], &base_attrs(ASN, NH, &[]), &nlri(&refs[..40])))
        .expect("send");
    assert!(
        kb.wait_kernel("10.101.39.0/24", WAIT).is_some(),
        "{}",
        kb.logs()
    );
    let warned = common::wait_for(WAIT, || {
        kb.logs()
            .contains("40 ipv4-unicast prefixes received, 80% of its limit 50")
            .then_some(())
    });
    assert!(warned.is_some(), "{}", kb.logs());
    assert!(established(&kb));
    // 51: Cease 6/1 with AFI 1, SAFI 1, limit 50 (RFC 4486).
    raw.send_raw(&update(&[], &base_attrs(ASN, NH, &[]), &nlri(&refs[40..])))
        .expect("send");
    let n = raw.wait_notification(WAIT).expect("NOTIFICATION");
    let ceased = Instant::now();
    assert_eq!(
        n,
        Notification {
            code: 6,
            subcode: 1,
            data: vec![0, 1, 1, 0, 0, 0, 50]
        }
    );
    assert!(
        kb.wait_no_kernel("10.101.0.0/24", WAIT),
        "{:?}",
        kb.kernel_routes()
    );
    assert!(
        kb.rib(false)
            .iter()
            .all(|r| !r.prefix.starts_with("10.101."))
    );
    let last = kb
        .neighbor(PEER)
        .and_then(|d| d.last_error)
        .unwrap_or_default();
    assert!(
        last.contains("Maximum Number of Prefixes Reached"),
        "{last}"
    );
    // Right after: kube-bgp accepts the TCP connection (the kernel does) but closes it
    // without an OPEN: the peer waits out the restart time (3.75..5 s with jitter).
    let to: SocketAddr = "10.0.0.1:179".parse().expect("addr");
    let mut early = RawPeer::connect(&p.rtr, PEER, to, None).expect("tcp");
    assert!(early.wait_closed(Duration::from_secs(3)), "{:?}", early.log);
    assert!(
        !early
            .log
            .iter()
            .any(|s| matches!(s, common::rawpeer::Seen::Msg(Message::Open(_)))),
        "kube-bgp opened a session during the wait: {:?}",
        early.log
    );
    drop(early);
    // Then a new session.
    let _again = connect(&p, &kb, &OpenSpec::new(ASN, PEER));
    let waited = ceased.elapsed();
    assert!(
        waited >= Duration::from_millis(3750),
        "restarted after {waited:?}"
    );
    assert!(kb.wait_established(PEER, WAIT));
    eprintln!("{test}: new session {waited:?} after the Cease");
}

#[test]
fn prefix_limit_seen_by_bird() {
    let test = "prefix_limit_seen_by_bird";
    if !have(test) || !RouterDaemon::Bird.available(test) {
        return;
    }
    eprintln!("{test}: {}", RouterDaemon::Bird.version());
    let p = kbnode::pair("hpbd");
    kbnode::create_node(&p.api, "n1", &["10.0.0.1"], &["10.244.1.0/24"], &[]);
    let mut cfg = RouterConfig::new(ASN, PEER).neighbor(Neighbor::new("10.0.0.1", 64512));
    for i in 0..30 {
        cfg = cfg.prefix(&format!("10.104.{i}.0/24"));
    }
    let rtr = Router::bird(&p.rtr, cfg);
    let kb = KbNode::start(
        &p.kb,
        &p.api,
        "n1",
        &[
            "--peer-router-ips=10.0.0.2",
            "--peer-router-asns=65001",
            "--bgp-max-prefixes=20",
            "--bgp-prefix-limit-restart=1m",
        ],
    );
    // BIRD names the NOTIFICATION it received: our Cease 6/1 data parsed as such.
    let seen = common::wait_for(WAIT, || {
        let t = rtr.bird_protocol("10.0.0.1");
        t.contains("Maximum number of prefixes reached")
            .then_some(t)
    });
    assert!(
        seen.is_some(),
        "{}\n{}\n{}",
        rtr.bird_protocol("10.0.0.1"),
        rtr.logs(),
        kb.logs()
    );
    assert!(kb.logs().contains("over its limit 20"), "{}", kb.logs());
    assert!(kb.kernel_routes().iter().all(|r| !r.contains("10.104.")));
    // The peer is kept down for the restart time.
    std::thread::sleep(Duration::from_secs(3));
    assert_ne!(kb.state(PEER), "Established");
}

#[test]
fn hold_time_zero_refused_unless_configured() {
    let test = "hold_time_zero_refused_unless_configured";
    if !have(test) {
        return;
    }
    let to: SocketAddr = "10.0.0.1:179".parse().expect("addr");
    let (p, kb) = setup("hph0", &[]);
    let spec = OpenSpec::new(ASN, PEER).hold(0);
    let n = common::wait_for(WAIT, || {
        let mut raw = RawPeer::connect(&p.rtr, PEER, to, None).ok()?;
        raw.send(&spec.message()).ok()?;
        raw.wait_notification(Duration::from_secs(3))
    })
    .unwrap_or_else(|| panic!("no NOTIFICATION\n{}", kb.logs()));
    assert_eq!(code(&n), (2, 6));
    drop(kb);
    drop(p);
    let (p, kb) = setup("hph1", &["--bgp-accept-zero-holdtime"]);
    let _raw = connect(&p, &kb, &spec);
    assert!(kb.wait_established(PEER, WAIT), "{}", kb.logs());
    let d = kb.neighbor(PEER).expect("detail");
    assert_eq!((d.hold_time, d.keepalive), (0, 0));
}

/// A small TCP send buffer for kube-bgp (a per-namespace sysctl), so a peer that stops
/// reading blocks kube-bgp's writes once its own receive window (the default, some
/// 64 KB) is full. (Shrinking the peer's receive buffer too makes its kernel drop
/// in-window segments and stall its own sending: not what a real slow peer does.)
fn small_tcp_buffers(p: &Pair) {
    p.kb.sh("sysctl -qw net.ipv4.tcp_wmem='4096 4096 4096'");
}

/// Makes kube-bgp send its routes again and again (ROUTE-REFRESH every `every`) while
/// `raw` reads nothing, sending a KEEPALIVE every 2 s so kube-bgp's hold timer stays
/// happy, until `done` says stop (or `limit` passes). Returns whether `done` said so.
fn flood_while_not_reading(
    raw: &mut RawPeer,
    every: Duration,
    limit: Duration,
    mut done: impl FnMut() -> bool,
) -> bool {
    raw.pause_reading(true);
    let refresh = message(5, &[0, 1, 0, 1]);
    let start = Instant::now();
    let mut last_ka = Instant::now();
    while start.elapsed() < limit {
        if raw.send_raw(&refresh).is_err() {
            break;
        }
        if last_ka.elapsed() >= Duration::from_secs(2) {
            let _ = raw.send(&Message::Keepalive);
            last_ka = Instant::now();
        }
        if done() {
            return true;
        }
        std::thread::sleep(every);
    }
    done()
}

#[test]
fn a_peer_that_stops_reading_hits_the_send_hold_timer() {
    let test = "a_peer_that_stops_reading_hits_the_send_hold_timer";
    if !have(test) {
        return;
    }
    // 800 pod CIDRs: each ROUTE-REFRESH makes kube-bgp send about 3 KB.
    let cidrs = many_pod_cidrs(800);
    let (p, kb) = setup_node("hpsh", &[], &[("kube-router.io/pod-cidrs", &cidrs)]);
    small_tcp_buffers(&p);
    // Hold time 9 s: the send hold time is 18 s.
    let mut raw = connect(&p, &kb, &OpenSpec::new(ASN, PEER).hold(9));
    assert!(kb.wait_established(PEER, WAIT));
    let start = Instant::now();
    let down = flood_while_not_reading(
        &mut raw,
        Duration::from_millis(25),
        Duration::from_secs(90),
        || !established(&kb),
    );
    assert!(down, "still Established after 90 s\n{}", kb.logs());
    let took = start.elapsed();
    let last = kb
        .neighbor(PEER)
        .and_then(|d| d.last_error)
        .unwrap_or_default();
    assert!(
        last.contains("send hold timer expired"),
        "{last}\n{}",
        kb.logs()
    );
    // Not before the send hold time has passed since the peer stopped reading.
    assert!(took >= Duration::from_secs(18), "down after {took:?}");
    eprintln!("{test}: session ended {took:?} after the peer stopped reading");
}

#[test]
fn a_slow_reader_is_reset_at_the_send_buffer_bound_and_others_are_not_disturbed() {
    let test = "a_slow_reader_is_reset_at_the_send_buffer_bound_and_others_are_not_disturbed";
    if !have(test) {
        return;
    }
    let p = kbnode::pair("hpsb");
    p.rtr
        .sh(&format!("ip addr add 10.0.0.3/24 dev {}", p.rtr_if));
    let cidrs = many_pod_cidrs(800);
    kbnode::create_node(
        &p.api,
        "n1",
        &["10.0.0.1"],
        &["10.244.1.0/24"],
        &[("kube-router.io/pod-cidrs", &cidrs)],
    );
    let kb = KbNode::start(
        &p.kb,
        &p.api,
        "n1",
        &[
            "--peer-router-ips=10.0.0.2,10.0.0.3",
            "--peer-router-asns=65001,65002",
            "--bgp-max-send-buffer=65536",
        ],
    );
    small_tcp_buffers(&p);
    let mut slow = connect(&p, &kb, &OpenSpec::new(ASN, PEER));
    let to: SocketAddr = "10.0.0.1:179".parse().expect("addr");
    let mut other = common::wait_for(WAIT, || {
        let mut r = RawPeer::connect(&p.rtr, "10.0.0.3", to, None).ok()?;
        r.handshake(&OpenSpec::new(65002, "10.0.0.3"), Duration::from_secs(5))
            .ok()?;
        Some(r)
    })
    .unwrap_or_else(|| panic!("second peer\n{}", kb.logs()));
    assert!(kb.wait_established("10.0.0.3", WAIT));
    let down = flood_while_not_reading(
        &mut slow,
        Duration::from_millis(25),
        Duration::from_secs(60),
        || !established(&kb),
    );
    assert!(down, "slow peer still Established\n{}", kb.logs());
    let last = kb
        .neighbor(PEER)
        .and_then(|d| d.last_error)
        .unwrap_or_default();
    assert!(
        last.contains("Out of Resources (6/8)"),
        "{last}\n{}",
        kb.logs()
    );
    assert!(
        kb.logs().contains("more than 65536 bytes waiting"),
        "{}",
        kb.logs()
    );
    // The other peer was not touched: still Established, no NOTIFICATION, and it keeps
    // getting kube-bgp's routes (its refresh is answered).
    assert!(established_with(&kb, "10.0.0.3"));
    assert!(
        !other.ended_within(Duration::from_millis(100)),
        "{:?}",
        other.log
    );
    other.send_raw(&message(5, &[0, 1, 0, 1])).expect("refresh");
    let pod = other.wait_for(WAIT, |s| {
        matches!(s, common::rawpeer::Seen::Msg(Message::Update(u))
            if u.announced.iter().any(|p| p.to_string() == "10.244.1.0/24"))
    });
    assert!(pod.is_some(), "{:?}", other.log);
}

/// `n` /24 pod CIDRs from 10.244.0.0 on, comma-separated (10.244.1.0/24 among them).
fn many_pod_cidrs(n: u32) -> String {
    (0..n)
        .map(|i| format!("10.{}.{}.0/24", 244 + i / 256, i % 256))
        .collect::<Vec<_>>()
        .join(",")
}

fn established_with(kb: &KbNode, peer: &str) -> bool {
    kb.state(peer) == "Established"
}

#[test]
fn a_new_connection_displaces_a_graceful_restart_session_only_after_a_valid_open() {
    let test = "a_new_connection_displaces_a_graceful_restart_session_only_after_a_valid_open";
    if !have(test) {
        return;
    }
    let (p, kb) = setup("hpgr", &["--bgp-graceful-restart"]);
    let spec = OpenSpec::new(ASN, PEER).graceful_restart();
    let mut first = connect(&p, &kb, &spec);
    first
        .send_raw(&update(
            &[],
            &base_attrs(ASN, NH, &[]),
            &nlri(&["10.105.0.0/24"]),
        ))
        .expect("send");
    first.send_raw(&update(&[], &[], &[])).expect("End-of-RIB");
    assert!(
        kb.wait_kernel("10.105.0.0/24", WAIT).is_some(),
        "{}",
        kb.logs()
    );
    let transitions = || {
        kb.neighbor(PEER)
            .map(|d| d.established_transitions)
            .unwrap_or(0)
    };
    let before = transitions();
    let to: SocketAddr = "10.0.0.1:179".parse().expect("addr");

    // A bare connection from the peer's address: it gets kube-bgp's OPEN and waits;
    // the session is untouched.
    let mut bare = RawPeer::connect(&p.rtr, PEER, to, None).expect("tcp");
    let opened = bare.wait_for(Duration::from_secs(5), |s| {
        matches!(s, common::rawpeer::Seen::Msg(Message::Open(_)))
    });
    assert!(
        opened.is_some(),
        "no OPEN on the new connection: {:?}",
        bare.log
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !first.ended_within(Duration::from_millis(100)),
        "{:?}",
        first.log
    );
    assert!(established(&kb) && transitions() == before);
    // An OPEN that fails a check (wrong AS): refused on that connection only.
    bare.send(&OpenSpec::new(65099, PEER).graceful_restart().message())
        .expect("send");
    let n = bare.wait_notification(WAIT).expect("NOTIFICATION");
    assert_eq!(code(&n), (2, 2));
    assert!(
        !first.ended_within(Duration::from_secs(1)),
        "{:?}",
        first.log
    );
    assert!(established(&kb) && transitions() == before);
    assert!(kb.kernel_route("10.105.0.0/24").is_some());

    // A valid OPEN: the peer restarted (RFC 4724 §4.2). The old connection is closed
    // without a NOTIFICATION, the route stays (stale) and the new session takes over.
    let mut second = RawPeer::connect(&p.rtr, PEER, to, None).expect("tcp");
    second
        .handshake(&spec, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("{e}\n{}", kb.logs()));
    assert!(
        first.wait_closed(WAIT),
        "old connection not closed: {:?}",
        first.log
    );
    assert!(
        !first
            .log
            .iter()
            .any(|s| matches!(s, common::rawpeer::Seen::Msg(Message::Notification(_)))),
        "{:?}",
        first.log
    );
    assert!(kb.wait_established(PEER, WAIT));
    assert_eq!(transitions(), before + 1);
    assert!(
        kb.kernel_route("10.105.0.0/24").is_some(),
        "route lost while restarting"
    );
    second
        .send_raw(&update(
            &[],
            &base_attrs(ASN, NH, &[]),
            &nlri(&["10.105.0.0/24"]),
        ))
        .expect("send");
    second.send_raw(&update(&[], &[], &[])).expect("End-of-RIB");
    assert!(kb.wait_kernel("10.105.0.0/24", WAIT).is_some());
}
