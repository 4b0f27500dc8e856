//! Kernel route reconciliation against a real kernel, inside throwaway namespaces.
//!
//! Each test makes a "node" namespace joined by a veth to a "peer" namespace
//! (10.0.0.1/24 + fd00::1/64 on the node side), runs the reconciler on a thread that
//! has entered the node namespace, and checks the result with `ip route`.
mod common;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::os::unix::io::AsRawFd;
use std::time::{Duration, Instant};

use common::{Netns, in_ns};
use kube_bgp::kernel::netlink::Netlink;
use kube_bgp::kernel::tunnel;
use kube_bgp::kernel::{
    BatchOptions, KernelRoute, Op, ReconcileStats, Reconciler, RouteKind, Watch, Writer,
};
use kube_bgp::prefix::Prefix;

struct NodeAndPeer {
    node: Netns,
    peer: Netns,
    dev: String,
    /// The veth's end in `peer`: set down, `dev` loses its carrier.
    peer_dev: String,
}

fn node(tag: &str) -> NodeAndPeer {
    let node = Netns::new(tag);
    let peer = Netns::new(tag);
    let (dev, peer_dev) = common::veth(
        &node,
        &["10.0.0.1/24", "fd00::1/64"],
        &peer,
        &["10.0.0.2/24", "fd00::2/64"],
    );
    NodeAndPeer {
        node,
        peer,
        dev,
        peer_dev,
    }
}

fn p(s: &str) -> Prefix {
    s.parse().expect("prefix")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

fn via(dst: &str, nh: &str) -> KernelRoute {
    KernelRoute::via(p(dst), ip(nh))
}

fn map(rs: &[KernelRoute]) -> BTreeMap<Prefix, KernelRoute> {
    rs.iter().map(|r| (r.dst, *r)).collect()
}

/// The reconciler with a plain map as the routes it is asked for (the daemon answers
/// from the Loc-RIB instead), plus the edits the daemon makes: replace the whole set,
/// change one prefix.
struct Rec {
    r: Reconciler,
    want: BTreeMap<Prefix, KernelRoute>,
}

impl Rec {
    fn new(graceful_restart: bool) -> Rec {
        Rec {
            r: Reconciler::new(graceful_restart).expect("reconciler"),
            want: BTreeMap::new(),
        }
    }

    fn set_desired(&mut self, want: BTreeMap<Prefix, KernelRoute>) {
        self.want = want;
        self.r.changed_all();
    }

    fn upsert(&mut self, rt: KernelRoute) {
        self.want.insert(rt.dst, rt);
        self.r.changed(rt.dst);
    }

    fn remove(&mut self, dst: &Prefix) {
        self.want.remove(dst);
        self.r.changed(*dst);
    }

    fn reconcile(&mut self) -> ReconcileStats {
        self.r.reconcile(&self.want).expect("reconcile")
    }

    fn installed(&self) -> BTreeMap<Prefix, RouteKind> {
        self.r.installed().iter().collect()
    }

    fn connected(&self) -> &std::collections::BTreeSet<Prefix> {
        self.r.connected()
    }

    fn sweep(&mut self) {
        self.r.sweep();
    }

    fn absorb(&mut self, ch: &kube_bgp::kernel::Changes) -> bool {
        self.r.absorb(ch)
    }
}

/// `ip [-6] route show proto 17` lines, sorted, whitespace-trimmed, without the
/// `nhid N` of routes that name a nexthop object (the kernel prints their gateway and
/// device too; which form a route has is checked by `nexthop_objects_adopted_…`).
fn ours(ns: &Netns, v6: bool) -> Vec<String> {
    let mut v: Vec<String> = ours_raw(ns, v6)
        .into_iter()
        .map(|l| {
            let mut w: Vec<&str> = l.split_whitespace().collect();
            if let Some(i) = w.iter().position(|t| *t == "nhid") {
                w.drain(i..(i + 2).min(w.len()));
            }
            w.join(" ")
        })
        .collect();
    v.sort();
    v
}

/// `ip [-6] route show proto 17` lines as printed, sorted, whitespace-trimmed.
fn ours_raw(ns: &Netns, v6: bool) -> Vec<String> {
    let fam = if v6 { "-6" } else { "-4" };
    let mut v: Vec<String> = ns
        .sh(&format!("ip {fam} route show table main proto 17"))
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    v.sort();
    v
}

#[test]
fn install_replace_withdraw_ipv4_and_ipv6() {
    if !common::require_root("install_replace_withdraw_ipv4_and_ipv6") {
        return;
    }
    let n = node("krt");
    in_ns(&n.node, || {
        let mut r = Rec::new(false);
        r.set_desired(map(&[
            via("10.1.0.0/24", "10.0.0.2"),
            via("10.2.0.0/24", "10.0.0.3"),
            via("fd00:1::/64", "fd00::2"),
            via("fd00:2::/64", "fd00::3"),
        ]));
        let st = r.reconcile();
        assert_eq!(
            (st.added, st.replaced, st.deleted, st.failed),
            (4, 0, 0, 0),
            "{st:?}"
        );
        let d = &n.dev;
        assert_eq!(
            ours(&n.node, false),
            vec![
                format!("10.1.0.0/24 via 10.0.0.2 dev {d}"),
                format!("10.2.0.0/24 via 10.0.0.3 dev {d}")
            ]
        );
        let v6 = ours(&n.node, true);
        assert_eq!(v6.len(), 2, "{v6:?}");
        assert!(
            v6[0].starts_with(&format!("fd00:1::/64 via fd00::2 dev {d}")),
            "{v6:?}"
        );

        // Nothing to do: no kernel traffic, nothing counted.
        let st = r.reconcile();
        assert_eq!((st.added, st.replaced, st.deleted, st.failed), (0, 0, 0, 0));

        // Next-hop change (replace) and withdrawal (delete), both families.
        r.upsert(via("10.2.0.0/24", "10.0.0.4"));
        r.upsert(via("fd00:2::/64", "fd00::4"));
        r.remove(&p("10.1.0.0/24"));
        r.remove(&p("fd00:1::/64"));
        let st = r.reconcile();
        assert_eq!(
            (st.added, st.replaced, st.deleted, st.failed),
            (0, 2, 2, 0),
            "{st:?}"
        );
        assert_eq!(
            ours(&n.node, false),
            vec![format!("10.2.0.0/24 via 10.0.0.4 dev {d}")]
        );
        let v6 = ours(&n.node, true);
        assert_eq!(v6.len(), 1, "{v6:?}");
        assert!(
            v6[0].starts_with(&format!("fd00:2::/64 via fd00::4 dev {d}")),
            "{v6:?}"
        );

        // A fresh reconciler (e.g. after a restart without GR) sees the same state.
        let mut again = Rec::new(false);
        assert_eq!(again.installed(), r.installed());
        again.set_desired(BTreeMap::new());
        let st = again.reconcile();
        assert_eq!(st.deleted, 2);
        assert!(ours(&n.node, false).is_empty() && ours(&n.node, true).is_empty());
    });
}

#[test]
fn foreign_routes_are_never_touched() {
    if !common::require_root("foreign_routes_are_never_touched") {
        return;
    }
    let n = node("krt");
    let d = n.dev.clone();
    // Same prefix and metric as a desired route; same prefix with another metric;
    // an unrelated static route; a proto-kernel route; IPv6 static with the same prefix.
    for cmd in [
        "ip route add 10.5.0.0/24 via 10.0.0.9 proto static".to_string(),
        "ip route add 10.7.0.0/24 via 10.0.0.9 proto static metric 100".to_string(),
        "ip route add 10.8.0.0/24 via 10.0.0.9 proto static".to_string(),
        format!("ip route add 10.6.0.0/24 dev {d} proto kernel metric 200"),
        "ip -6 route add fd00:5::/64 via fd00::9 proto static".to_string(),
    ] {
        n.node.sh(&cmd);
    }
    let before4 = n.node.sh("ip -4 route show table main");
    let before6 = n.node.sh("ip -6 route show table main");
    in_ns(&n.node, || {
        let mut r = Rec::new(false);
        // Nothing desired and nothing ours: reconciling must not delete anything.
        let st = r.reconcile();
        assert_eq!(st.deleted, 0);
        r.set_desired(map(&[
            via("10.5.0.0/24", "10.0.0.2"),
            via("10.6.0.0/24", "10.0.0.2"),
            via("10.7.0.0/24", "10.0.0.2"),
            via("fd00:5::/64", "fd00::2"),
        ]));
        let st = r.reconcile();
        // 10.5/24 and fd00:5::/64 collide with a static route of the same metric: refused
        // with EEXIST, never overwritten. The others coexist at another metric.
        assert_eq!((st.added, st.failed), (2, 2), "{st:?}");
        let mut bad: Vec<_> = st
            .failures
            .iter()
            .map(|f| (f.op.prefix(), f.error.errno))
            .collect();
        bad.sort();
        assert_eq!(
            bad,
            vec![
                (p("10.5.0.0/24"), libc::EEXIST),
                (p("fd00:5::/64"), libc::EEXIST)
            ]
        );
        let held = n.node.sh("ip route show 10.5.0.0/24");
        assert!(
            held.contains("via 10.0.0.9") && held.contains("proto static"),
            "{held}"
        );
        // Withdraw everything: only ours go.
        r.set_desired(BTreeMap::new());
        let st = r.reconcile();
        assert_eq!((st.deleted, st.failed), (2, 0), "{st:?}");
    });
    assert_eq!(n.node.sh("ip -4 route show table main"), before4);
    assert_eq!(n.node.sh("ip -6 route show table main"), before6);
}

#[test]
fn connected_subnet_is_refused_and_untouched() {
    if !common::require_root("connected_subnet_is_refused_and_untouched") {
        return;
    }
    let n = node("krt");
    let before = n
        .node
        .sh("ip -4 route show table main; ip -6 route show table main");
    in_ns(&n.node, || {
        let mut r = Rec::new(false);
        assert!(
            r.connected().contains(&p("10.0.0.0/24")),
            "{:?}",
            r.connected()
        );
        r.set_desired(map(&[
            via("10.0.0.0/24", "10.0.0.2"),
            via("fd00::/64", "fd00::2"),
            via("10.3.0.0/24", "10.0.0.2"),
        ]));
        let st = r.reconcile();
        assert_eq!(st.refused, vec![p("10.0.0.0/24"), p("fd00::/64")]);
        assert_eq!((st.added, st.failed), (1, 0), "{st:?}");
    });
    let after = n
        .node
        .sh("ip -4 route show table main; ip -6 route show table main");
    let without_ours: String = after
        .lines()
        .filter(|l| !l.starts_with("10.3.0.0/24"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(without_ours, before);
}

#[test]
fn route_deleted_by_hand_is_restored_via_subscription() {
    if !common::require_root("route_deleted_by_hand_is_restored_via_subscription") {
        return;
    }
    let n = node("krt");
    let name = n.node.name.clone();
    in_ns(&n.node, || {
        let mut r = Rec::new(false);
        let mut watch = Watch::open().expect("watch");
        let mut poll = mio::Poll::new().expect("poll");
        let fd = watch.as_raw_fd();
        poll.registry()
            .register(
                &mut mio::unix::SourceFd(&fd),
                mio::Token(7),
                mio::Interest::READABLE,
            )
            .expect("register");
        let mut events = mio::Events::with_capacity(8);
        r.set_desired(map(&[
            via("10.1.0.0/24", "10.0.0.2"),
            via("fd00:1::/64", "fd00::2"),
        ]));
        // Our own changes are filtered out in the kernel: only an unfiltered socket
        // sees them.
        let port = r.r.port_id().expect("port id");
        watch.ignore_senders(&[port]).expect("filter");
        let mut unfiltered = Watch::open().expect("watch");
        let mut poll2 = mio::Poll::new().expect("poll");
        let fd2 = unfiltered.as_raw_fd();
        poll2
            .registry()
            .register(
                &mut mio::unix::SourceFd(&fd2),
                mio::Token(8),
                mio::Interest::READABLE,
            )
            .expect("register");
        let st = r.reconcile();
        assert_eq!(st.added, 2, "{st:?}");
        let mine = drain_ready(
            &mut poll2,
            &mut events,
            &mut unfiltered,
            Duration::from_secs(2),
        );
        assert_eq!(mine.routes.len(), 2, "our adds, seen unfiltered: {mine:?}");
        let ch = drain_ready(
            &mut poll,
            &mut events,
            &mut watch,
            Duration::from_millis(500),
        );
        assert!(ch.is_empty(), "our own adds passed the filter: {ch:?}");

        for del in [
            format!("ip -n {name} route del 10.1.0.0/24 proto 17"),
            format!("ip -n {name} -6 route del fd00:1::/64 proto 17"),
        ] {
            let t0 = Instant::now();
            common::sh(&del);
            let ch = drain_ready(&mut poll, &mut events, &mut watch, Duration::from_secs(2));
            assert!(r.absorb(&ch), "deletion not noticed: {ch:?}");
            let st = r.reconcile();
            assert_eq!(st.added, 1, "{st:?}");
            assert!(
                t0.elapsed() < Duration::from_secs(1),
                "took {:?}",
                t0.elapsed()
            );
        }
        assert_eq!(ours(&n.node, false).len(), 1);
        assert_eq!(ours(&n.node, true).len(), 1);

        // Link down/up: IPv4 routes vanish without notifications; the link event
        // forces a re-read that finds and restores them. (IPv6 addresses are kept over
        // the bounce, as on a node with static addressing.)
        common::sh(&format!(
            "ip netns exec {name} sysctl -qw net.ipv6.conf.{}.keep_addr_on_down=1",
            n.dev
        ));
        common::sh(&format!("ip -n {name} link set {} down", n.dev));
        common::sh(&format!("ip -n {name} link set {} up", n.dev));
        let ch = drain_ready(&mut poll, &mut events, &mut watch, Duration::from_secs(2));
        assert!(r.absorb(&ch), "{ch:?}");
        let st = r.reconcile();
        assert!(st.resynced);
        assert_eq!(ours(&n.node, false).len(), 1, "{st:?}");
        assert_eq!(ours(&n.node, true).len(), 1, "{st:?}");
    });
}

/// Waits (bounded) for the watch socket to be readable, then drains it, also picking up
/// anything arriving within 100 ms after the first readiness.
fn drain_ready(
    poll: &mut mio::Poll,
    events: &mut mio::Events,
    watch: &mut Watch,
    timeout: Duration,
) -> kube_bgp::kernel::Changes {
    let deadline = Instant::now() + timeout;
    let mut all = kube_bgp::kernel::Changes::default();
    let mut got = false;
    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let wait = if got {
            Duration::from_millis(100)
        } else {
            deadline - now
        };
        poll.poll(events, Some(wait)).expect("poll");
        if events.is_empty() {
            if got {
                break;
            }
            continue;
        }
        let ch = watch.drain(64).expect("drain");
        got = true;
        all.routes.extend(ch.routes);
        all.addresses |= ch.addresses;
        all.links |= ch.links;
        all.overflow |= ch.overflow;
        all.nexthops |= ch.nexthops;
        all.by_object_id |= ch.by_object_id;
    }
    all
}

#[test]
fn batch_of_10000_with_one_unreachable_next_hop() {
    if !common::require_root("batch_of_10000_with_one_unreachable_next_hop") {
        return;
    }
    let n = node("krt");
    in_ns(&n.node, || {
        let mut r = Rec::new(false);
        let mut want = BTreeMap::new();
        for i in 0..10_000u32 {
            let a = std::net::Ipv4Addr::from(0x1000_0000 + (i << 8));
            let nh = if i == 5_000 { "10.9.9.9" } else { "10.0.0.2" };
            let rt = KernelRoute::via(Prefix::new(IpAddr::V4(a), 24).expect("p"), ip(nh));
            want.insert(rt.dst, rt);
        }
        r.set_desired(want);
        let st = r.reconcile();
        assert_eq!((st.added, st.failed), (9_999, 1), "{:?}", st.failures);
        let f = &st.failures[0];
        assert_eq!(f.op, Op::Add(via("16.19.136.0/24", "10.9.9.9")));
        assert_eq!(f.error.errno, libc::ENETUNREACH, "{f}");
        assert_eq!(r.installed().len(), 9_999);
        let count = n.node.sh("ip -4 route show table main proto 17 | wc -l");
        assert_eq!(count.trim(), "9999");
        // Retried on the next pass, still reported.
        let st = r.reconcile();
        assert_eq!((st.added, st.failed), (0, 1));
        // The other batching mode (an ACK per request, 256 per sendmsg), with replaces.
        r.r.set_batch_options(BatchOptions {
            chunk: 256,
            ack_each: true,
        });
        let moved: BTreeMap<_, _> = r
            .want
            .values()
            .map(|rt| match rt.kind {
                RouteKind::Via(nh) if nh == ip("10.0.0.2") => {
                    KernelRoute::via(rt.dst, ip("10.0.0.3"))
                }
                _ => *rt,
            })
            .map(|rt| (rt.dst, rt))
            .collect();
        r.set_desired(moved);
        let st = r.reconcile();
        assert_eq!(
            (st.replaced, st.added, st.failed),
            (9_999, 0, 1),
            "{:?}",
            st.failures
        );
        assert_eq!(st.failures[0].op.prefix(), p("16.19.136.0/24"));
        let moved = n
            .node
            .sh("ip -4 route show table main proto 17 | grep -c \"via 10.0.0.3 \"");
        assert_eq!(moved.trim(), "9999");
    });
}

/// The daemon's way: passes planned on one thread, sent by the route writer on
/// another, two batches out at once. A prefix whose batch is still out is left for a
/// later pass (never in two batches at once), and everything ends up as wanted.
#[test]
fn writer_thread_two_batches_out_and_a_change_in_flight() {
    if !common::require_root("writer_thread_two_batches_out_and_a_change_in_flight") {
        return;
    }
    let n = node("krt");
    in_ns(&n.node, || {
        let mut r = Reconciler::new(false).expect("reconciler");
        r.set_pass_limit(1000);
        let mut w = Writer::start(None).expect("writer");
        let mut want = BTreeMap::new();
        for i in 0..3000u32 {
            let a = std::net::Ipv4Addr::from(0x1000_0000 + (i << 8));
            let rt = KernelRoute::via(Prefix::new(IpAddr::V4(a), 24).expect("p"), ip("10.0.0.2"));
            want.insert(rt.dst, rt);
        }
        r.changed_all();
        let mut out = std::collections::VecDeque::new();
        let submit =
            |r: &mut Reconciler,
             want: &mut BTreeMap<Prefix, KernelRoute>,
             w: &mut Writer,
             out: &mut std::collections::VecDeque<kube_bgp::kernel::Pass>| {
                let mut pass = r.plan(want).expect("plan");
                let n = pass.len();
                w.submit(kube_bgp::kernel::writer::Job {
                    requests: std::mem::take(&mut pass.requests),
                    opts: BatchOptions::default(),
                })
                .expect("submit");
                out.push_back(pass);
                n
            };
        assert_eq!(submit(&mut r, &mut want, &mut w, &mut out), 1000);
        assert_eq!(submit(&mut r, &mut want, &mut w, &mut out), 1000);
        // The first prefix of the first batch changes while that batch is out.
        let moved = out[0].ops()[0].prefix();
        want.insert(moved, KernelRoute::via(moved, ip("10.0.0.3")));
        r.changed(moved);
        let third = {
            let mut pass = r.plan(&want).expect("plan");
            assert!(
                pass.ops().iter().all(|op| op.prefix() != moved),
                "a prefix of a batch in flight was planned again"
            );
            let n = pass.len();
            w.submit(kube_bgp::kernel::writer::Job {
                requests: std::mem::take(&mut pass.requests),
                opts: BatchOptions::default(),
            })
            .expect("submit");
            out.push_back(pass);
            n
        };
        assert_eq!(third, 1000);
        let mut added = 0;
        let mut replaced = 0;
        for _ in 0..20 {
            while let Some(pass) = out.pop_front() {
                let done = w.wait_done(Duration::from_secs(10)).expect("writer result");
                let st = r.finish(pass, done.result).expect("finish");
                assert_eq!(st.failed, 0, "{:?}", st.failures);
                added += st.added;
                replaced += st.replaced;
            }
            if r.pending() == 0 {
                break;
            }
            submit(&mut r, &mut want, &mut w, &mut out);
        }
        assert_eq!(
            (added, replaced),
            (3000, 1),
            "the in-flight change came after"
        );
        assert_eq!(r.installed().len(), 3000);
        assert_eq!(
            r.installed().get(&moved),
            Some(RouteKind::Via(ip("10.0.0.3")))
        );
        let count = n.node.sh("ip -4 route show table main proto 17 | wc -l");
        assert_eq!(count.trim(), "3000");
        let shown = n.node.sh(&format!("ip route show {moved}"));
        assert!(shown.contains("via 10.0.0.3"), "{shown}");
    });
}

#[test]
fn graceful_restart_adopts_then_sweeps() {
    if !common::require_root("graceful_restart_adopts_then_sweeps") {
        return;
    }
    let n = node("krt");
    // Left by the previous instance.
    n.node.sh("ip route add 10.1.0.0/24 via 10.0.0.2 proto 17");
    n.node.sh("ip route add 10.2.0.0/24 via 10.0.0.2 proto 17");
    n.node
        .sh("ip -6 route add fd00:9::/64 via fd00::2 proto 17");
    in_ns(&n.node, || {
        let mut r = Rec::new(true);
        assert_eq!(r.installed().len(), 3);
        // Routes re-learned so far: 10.1/24 (same), 10.3/24 (new).
        r.set_desired(map(&[
            via("10.1.0.0/24", "10.0.0.2"),
            via("10.3.0.0/24", "10.0.0.2"),
        ]));
        let st = r.reconcile();
        assert_eq!((st.added, st.deleted, st.held), (1, 0, 2), "{st:?}");
        assert_eq!(ours(&n.node, false).len(), 3);
        assert_eq!(ours(&n.node, true).len(), 1);
        r.sweep();
        let st = r.reconcile();
        assert_eq!((st.added, st.deleted, st.held), (0, 2, 0), "{st:?}");
        let v4 = ours(&n.node, false);
        assert_eq!(v4.len(), 2, "{v4:?}");
        assert!(v4[0].starts_with("10.1.0.0/24") && v4[1].starts_with("10.3.0.0/24"));
        assert!(ours(&n.node, true).is_empty());
    });
}

#[test]
fn tunnels_rules_and_table_77() {
    if !common::require_root("tunnels_rules_and_table_77") {
        return;
    }
    let n = node("krt");
    let name = n.node.name.clone();
    in_ns(&n.node, || {
        let mut nl = Netlink::open().expect("netlink");
        // Rules: idempotent add, then delete (both families).
        for cidr in ["10.244.1.0/24", "fd00:244:1::/64"] {
            tunnel::ensure_rule(&mut nl, &p(cidr)).expect("rule");
            tunnel::ensure_rule(&mut nl, &p(cidr)).expect("rule again");
        }
        let rules = common::sh(&format!(
            "ip -n {name} rule show; ip -n {name} -6 rule show"
        ));
        assert_eq!(
            rules.matches("from 10.244.1.0/24 lookup 77").count(),
            1,
            "{rules}"
        );
        assert_eq!(
            rules.matches("from fd00:244:1::/64 lookup 77").count(),
            1,
            "{rules}"
        );
        // The dump of table 77's rules finds both families' and no other table's.
        common::sh(&format!(
            "ip -n {name} rule add from 10.9.0.0/16 lookup 100"
        ));
        let mut found = tunnel::table_77_rules(&mut nl).expect("rule dump");
        found.sort();
        assert_eq!(found, vec![p("10.244.1.0/24"), p("fd00:244:1::/64")]);
        for cidr in ["10.244.1.0/24", "fd00:244:1::/64"] {
            tunnel::remove_rule(&mut nl, &p(cidr)).expect("del rule");
            tunnel::remove_rule(&mut nl, &p(cidr)).expect("del rule again");
        }
        let rules = common::sh(&format!(
            "ip -n {name} rule show; ip -n {name} -6 rule show"
        ));
        assert!(!rules.contains("lookup 77"), "{rules}");

        // Orphan removal never touches links that are not our tunnels.
        let links = tunnel::dump_links(&mut nl).expect("links");
        assert!(
            links.iter().any(|l| l.name == n.dev && l.kind == "veth"),
            "{links:?}"
        );
        assert!(
            tunnel::remove_orphans(&mut nl, &Default::default())
                .expect("orphans")
                .is_empty()
        );

        // Table 77 through an existing link (the tunnels themselves are tested where
        // the kernel has them: tests/kernel_tunnels.rs, in the VM lab if need be).
        let idx = links
            .iter()
            .find(|l| l.name == n.dev)
            .map(|l| l.ifindex)
            .expect("veth");
        tunnel::ensure_tunnel_route(&mut nl, ip("10.0.0.2"), idx).expect("t77");
        let t77 = common::sh(&format!("ip -n {name} route show table 77"));
        assert!(
            t77.contains(&format!("10.0.0.2 dev {} proto 17", n.dev)),
            "{t77}"
        );
        tunnel::remove_tunnel_route(&mut nl, ip("10.0.0.2")).expect("t77 del");
        tunnel::remove_tunnel_route(&mut nl, ip("10.0.0.2")).expect("t77 del again");
        let t77 = common::sh(&format!("ip -n {name} route show table 77"));
        assert!(t77.trim().is_empty(), "{t77}");
    });
}

/// `ip nexthop` lines of protocol 17, sorted, whitespace-trimmed.
fn our_nexthops(ns: &Netns) -> Vec<String> {
    let mut v: Vec<String> = ns
        .sh("ip nexthop show")
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| l.ends_with("proto 17"))
        .collect();
    v.sort();
    v
}

/// The ids in `ip nexthop` lines.
fn nexthop_ids(lines: &[String]) -> Vec<u32> {
    lines
        .iter()
        .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
        .collect()
}

/// Routes go in naming one nexthop object per distinct next hop; a restart (with the
/// gateway printed by the kernel, and without it: `nexthop_compat_mode=0`) adopts them
/// without a single route or object change, as it adopts plain routes of an older
/// version; an adopted plain route that changes is replaced in place by one naming an
/// object; turned off, changed routes go plain and the unused object is deleted;
/// `--cleanup-config` removes our objects and no one else's.
#[test]
fn nexthop_objects_adopted_without_churn_fall_back_and_clean_up() {
    if !common::require_root("nexthop_objects_adopted_without_churn_fall_back_and_clean_up") {
        return;
    }
    let n = node("krt");
    let d = n.dev.clone();
    // Someone else's object, in our id range but of another protocol: never touched.
    n.node.sh(&format!(
        "ip nexthop add id 1262616600 via 10.0.0.2 dev {d} proto static"
    ));
    // Left by an older version: a plain protocol-17 route.
    n.node.sh("ip route add 10.9.0.0/24 via 10.0.0.3 proto 17");
    let ifindex = in_ns(&n.node, || {
        let name = std::ffi::CString::new(d.clone()).expect("name");
        // SAFETY: a NUL-terminated name; if_nametoindex only reads it.
        unsafe { libc::if_nametoindex(name.as_ptr()) }
    });
    assert_ne!(ifindex, 0);
    let want = {
        let mut m = map(&[
            via("10.1.0.0/24", "10.0.0.2"),
            via("10.2.0.0/24", "10.0.0.2"),
            via("10.3.0.0/24", "10.0.0.3"),
            via("10.9.0.0/24", "10.0.0.3"),
            via("fd00:1::/64", "fd00::2"),
            via("fd00:2::/64", "fd00::2"),
        ]);
        let dev = KernelRoute::dev(p("10.4.0.0/24"), ifindex, Some(ip("10.0.0.1")));
        m.insert(dev.dst, dev);
        m
    };
    let first = in_ns(&n.node, || {
        let mut r = Rec::new(false);
        assert!(r.r.nexthop_objects(), "nexthop objects are on by default");
        r.set_desired(want.clone());
        let st = r.reconcile();
        // 10.9/24 (plain, same next hop) is adopted as it is.
        assert_eq!((st.added, st.replaced, st.failed), (6, 0, 0), "{st:?}");
        r.r.nexthop_object_ids()
    });
    let v4 = ours_raw(&n.node, false);
    assert_eq!(
        v4.iter().filter(|l| l.contains(" nhid ")).count(),
        4,
        "{v4:?}"
    );
    assert!(
        v4.contains(&format!("10.9.0.0/24 via 10.0.0.3 dev {d}")),
        "{v4:?}"
    );
    assert!(
        v4.iter()
            .any(|l| l.starts_with("10.4.0.0/24 nhid ") && l.ends_with("src 10.0.0.1"))
    );
    let v6 = ours_raw(&n.node, true);
    assert!(
        v6.iter().all(|l| l.contains(" nhid ")) && v6.len() == 2,
        "{v6:?}"
    );
    // One object per distinct next hop: 10.0.0.2, 10.0.0.3, fd00::2, the device.
    let objs = our_nexthops(&n.node);
    assert_eq!(objs.len(), 4, "{objs:?}");
    assert_eq!(nexthop_ids(&objs), first);
    assert!(
        first
            .iter()
            .all(|id| (0x4b42_0001..=0x4b42_ffff).contains(id)),
        "{first:?}"
    );
    assert!(
        objs.iter().any(|l| l.contains("via fd00::2 dev")),
        "{objs:?}"
    );
    // Routes that name the same next hop name the same object.
    let id_of = |prefix: &str| {
        let l = v4.iter().find(|l| l.starts_with(prefix)).expect("route");
        l.split_whitespace().nth(2).map(str::to_string)
    };
    assert_eq!(id_of("10.1.0.0/24"), id_of("10.2.0.0/24"));
    let routes_before = (ours_raw(&n.node, false), ours_raw(&n.node, true));
    let shown_before = ours(&n.node, false);

    // Restarts: adopted without one route message, with and without compat mode.
    for compat in ["1", "0"] {
        n.node
            .sh(&format!("sysctl -qw net.ipv4.nexthop_compat_mode={compat}"));
        in_ns(&n.node, || {
            let mut watch = Watch::open().expect("watch");
            let mut poll = mio::Poll::new().expect("poll");
            let fd = watch.as_raw_fd();
            poll.registry()
                .register(
                    &mut mio::unix::SourceFd(&fd),
                    mio::Token(7),
                    mio::Interest::READABLE,
                )
                .expect("register");
            let mut events = mio::Events::with_capacity(8);
            let mut r = Rec::new(true);
            r.r.set_nexthop_objects(true);
            let adopted: BTreeMap<Prefix, RouteKind> =
                want.iter().map(|(p, r)| (*p, r.kind)).collect();
            assert_eq!(r.installed(), adopted, "compat mode {compat}");
            r.set_desired(want.clone());
            let st = r.reconcile();
            assert_eq!(
                (st.added, st.replaced, st.deleted, st.held, st.failed),
                (0, 0, 0, 0, 0),
                "compat mode {compat}: {st:?}"
            );
            r.r.sweep();
            let st = r.reconcile();
            assert_eq!((st.added, st.replaced, st.deleted), (0, 0, 0), "{st:?}");
            // Nothing at all reached the kernel's route tables.
            let ch = drain_ready(
                &mut poll,
                &mut events,
                &mut watch,
                Duration::from_millis(500),
            );
            assert!(ch.routes.is_empty(), "compat mode {compat}: {ch:?}");
            assert_eq!(r.r.nexthop_object_ids(), first);
        });
        n.node.sh("sysctl -qw net.ipv4.nexthop_compat_mode=1");
        assert_eq!(
            (ours_raw(&n.node, false), ours_raw(&n.node, true)),
            routes_before
        );
        assert_eq!(nexthop_ids(&our_nexthops(&n.node)), first);
    }

    // An object of ours deleted by hand takes its routes with it, silently for IPv4:
    // its notification makes the reconciler re-read and restore both.
    in_ns(&n.node, || {
        let mut r = Rec::new(false);
        r.r.set_nexthop_objects(true);
        let mut watch = Watch::open().expect("watch");
        let port = r.r.port_id().expect("port id");
        watch.ignore_senders(&[port]).expect("filter");
        let mut poll = mio::Poll::new().expect("poll");
        let fd = watch.as_raw_fd();
        poll.registry()
            .register(
                &mut mio::unix::SourceFd(&fd),
                mio::Token(7),
                mio::Interest::READABLE,
            )
            .expect("register");
        let mut events = mio::Events::with_capacity(8);
        r.set_desired(want.clone());
        let st = r.reconcile();
        assert_eq!((st.added, st.replaced), (0, 0), "{st:?}");
        let victim = id_of("10.1.0.0/24").expect("id");
        common::sh(&format!("ip -n {} nexthop del id {victim}", n.node.name));
        let ch = drain_ready(&mut poll, &mut events, &mut watch, Duration::from_secs(2));
        assert!(ch.nexthops, "{ch:?}");
        assert!(r.absorb(&ch));
        let st = r.reconcile();
        assert!(st.resynced, "{st:?}");
        assert_eq!((st.added, st.failed), (2, 0), "{st:?}");
    });
    assert_eq!(ours(&n.node, false), shown_before);
    assert_eq!(our_nexthops(&n.node).len(), 4);

    // An adopted plain route whose next hop changes is converted in place: replaced (no
    // deletion, no gap) by a route naming the object of its new next hop.
    in_ns(&n.node, || {
        let mut r = Rec::new(false);
        r.set_desired(want.clone());
        let st = r.reconcile();
        assert_eq!((st.added, st.replaced, st.deleted), (0, 0, 0), "{st:?}");
        r.upsert(via("10.9.0.0/24", "10.0.0.2"));
        let st = r.reconcile();
        assert_eq!(
            (st.added, st.replaced, st.deleted, st.failed),
            (0, 1, 0, 0),
            "{st:?}"
        );
        assert_eq!(r.r.nexthop_object_ids(), first, "no new object");
    });
    let v4 = ours_raw(&n.node, false);
    let converted = v4
        .iter()
        .find(|l| l.starts_with("10.9.0.0/24 "))
        .expect("10.9/24");
    assert_eq!(
        converted.split_whitespace().nth(2).map(str::to_string),
        id_of("10.1.0.0/24"),
        "{v4:?}"
    );
    assert!(
        converted.ends_with(&format!(" via 10.0.0.2 dev {d}")),
        "{converted}"
    );

    // Turned off: changed routes go plain; the object of 10.0.0.3, no longer used by
    // any route, is deleted by the next pass; the others stay under their routes.
    in_ns(&n.node, || {
        let mut r = Rec::new(false);
        r.r.set_nexthop_objects(false);
        assert!(!r.r.nexthop_objects());
        r.set_desired(want.clone());
        r.upsert(via("10.3.0.0/24", "10.0.0.4"));
        r.upsert(via("10.9.0.0/24", "10.0.0.4"));
        r.upsert(via("10.5.0.0/24", "10.0.0.2"));
        let st = r.reconcile();
        assert_eq!((st.added, st.replaced, st.failed), (1, 2, 0), "{st:?}");
        assert!(st.more, "an unused object waits for the next pass");
        let st = r.reconcile();
        assert_eq!((st.added, st.replaced, st.deleted), (0, 0, 0), "{st:?}");
        assert!(!st.more);
        assert_eq!(r.r.nexthop_object_ids().len(), 3);
    });
    let v4 = ours_raw(&n.node, false);
    for plain in [
        "10.3.0.0/24 via 10.0.0.4",
        "10.9.0.0/24 via 10.0.0.4",
        "10.5.0.0/24 via 10.0.0.2",
    ] {
        assert!(v4.contains(&format!("{plain} dev {d}")), "{plain}: {v4:?}");
    }
    assert!(
        v4.iter().any(|l| l.starts_with("10.1.0.0/24 nhid ")),
        "{v4:?}"
    );
    let objs = our_nexthops(&n.node);
    assert_eq!(objs.len(), 3, "{objs:?}");
    assert!(
        !objs.iter().any(|l| l.contains("via 10.0.0.3 ")),
        "{objs:?}"
    );

    // --cleanup-config: our routes and objects go, the other protocol's object stays.
    let out = n
        .node
        .run(&format!("{} --cleanup-config", common::kube_bgp_bin()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(ours_raw(&n.node, false).is_empty() && ours_raw(&n.node, true).is_empty());
    assert!(our_nexthops(&n.node).is_empty());
    let all = n.node.sh("ip nexthop show");
    assert!(all.contains("id 1262616600 via 10.0.0.2"), "{all}");
}

/// A device losing its carrier takes its nexthop objects, and every route naming them,
/// with it (without a notification for the objects and the IPv4 routes), where plain
/// routes would stay (`linkdown`): the link's notification makes the reconciler re-read
/// and put the routes back at once, plain,
/// since the kernel refuses objects on a device without carrier. With the carrier back
/// those plain routes stay as they are, and a new route names an object again.
#[test]
fn carrier_loss_takes_objects_and_their_routes_come_back_plain() {
    if !common::require_root("carrier_loss_takes_objects_and_their_routes_come_back_plain") {
        return;
    }
    let n = node("krc");
    let d = n.dev.clone();
    let want = map(&[
        via("10.1.0.0/24", "10.0.0.2"),
        via("10.2.0.0/24", "10.0.0.2"),
        via("fd00:1::/64", "fd00::2"),
    ]);
    let carrier = |up: bool| {
        common::sh(&format!(
            "ip -n {} link set dev {} {}",
            n.peer.name,
            n.peer_dev,
            if up { "up" } else { "down" }
        ));
    };
    in_ns(&n.node, || {
        let mut r = Rec::new(false);
        let mut watch = Watch::open().expect("watch");
        let port = r.r.port_id().expect("port id");
        watch.ignore_senders(&[port]).expect("filter");
        let mut poll = mio::Poll::new().expect("poll");
        let fd = watch.as_raw_fd();
        poll.registry()
            .register(
                &mut mio::unix::SourceFd(&fd),
                mio::Token(7),
                mio::Interest::READABLE,
            )
            .expect("register");
        let mut events = mio::Events::with_capacity(8);
        r.set_desired(want.clone());
        let st = r.reconcile();
        assert_eq!((st.added, st.failed), (3, 0), "{st:?}");
        assert_eq!(r.r.nexthop_object_ids().len(), 2);

        carrier(false);
        // The kernel says nothing of the objects and IPv4 routes it deletes; the link's
        // notification (its carrier gone) asks for a re-read.
        let ch = drain_ready(&mut poll, &mut events, &mut watch, Duration::from_secs(2));
        assert!(ch.links, "{ch:?}");
        assert!(our_nexthops(&n.node).is_empty(), "the kernel kept objects");
        assert!(
            ours_raw(&n.node, false).is_empty() && ours_raw(&n.node, true).is_empty(),
            "the kernel kept routes naming its deleted objects"
        );
        assert!(r.absorb(&ch));
        // The re-read, then the routes (a pass or two, bounded).
        let st = r.reconcile();
        assert!(st.resynced, "{st:?}");
        let (mut added, mut failed, mut more) = (st.added, st.failed, st.more);
        for _ in 0..3 {
            if !more {
                break;
            }
            let st = r.reconcile();
            (added, failed, more) = (added + st.added, failed + st.failed, st.more);
        }
        assert_eq!((added, failed, more), (3, 0, false));
        assert!(r.r.nexthop_object_ids().is_empty());
        let v4 = ours_raw(&n.node, false);
        for prefix in ["10.1.0.0/24", "10.2.0.0/24"] {
            assert!(
                v4.contains(&format!("{prefix} via 10.0.0.2 dev {d} linkdown")),
                "{prefix}: {v4:?}"
            );
        }
        let v6 = ours_raw(&n.node, true);
        assert!(
            v6.len() == 1 && v6[0].starts_with(&format!("fd00:1::/64 via fd00::2 dev {d} ")),
            "{v6:?}"
        );

        carrier(true);
        let ch = drain_ready(&mut poll, &mut events, &mut watch, Duration::from_secs(2));
        assert!(ch.links, "{ch:?}");
        assert!(r.absorb(&ch));
        for _ in 0..3 {
            let st = r.reconcile();
            assert_eq!(
                (st.added, st.replaced, st.deleted, st.failed),
                (0, 0, 0, 0),
                "the plain routes stay: {st:?}"
            );
            if !st.more {
                break;
            }
        }
        r.upsert(via("10.3.0.0/24", "10.0.0.2"));
        let st = r.reconcile();
        assert_eq!((st.added, st.failed), (1, 0), "{st:?}");
        assert_eq!(r.r.nexthop_object_ids().len(), 1);
    });
    let v4 = ours_raw(&n.node, false);
    assert!(
        v4.iter()
            .any(|l| l.starts_with("10.3.0.0/24 nhid ") && l.contains(" via 10.0.0.2 ")),
        "{v4:?}"
    );
    assert!(
        !v4.iter().any(|l| l.contains("linkdown")),
        "carrier back: {v4:?}"
    );
}
