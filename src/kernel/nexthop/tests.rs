use super::*;
use crate::kernel::netlink::{Errno, messages};
use crate::kernel::route::{RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, encode_new_nh, parse_route_nh};

fn p(s: &str) -> Prefix {
    s.parse().expect("prefix")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

/// The messages of a buffer: (type, flags, payload).
fn msgs(b: &[u8]) -> Vec<(u16, u16, Vec<u8>)> {
    messages(b)
        .map(|m| m.expect("parse"))
        .map(|m| (m.msg_type, m.flags, m.payload.to_vec()))
        .collect()
}

fn attr(kind: u16, data: &[u8]) -> Vec<u8> {
    let mut v = ((4 + data.len()) as u16).to_ne_bytes().to_vec();
    v.extend_from_slice(&kind.to_ne_bytes());
    v.extend_from_slice(data);
    v
}

const ID: u32 = 0x4b42_0001;

// The expected bytes below are what iproute2 6.1 sends (`strace -xx ip nexthop add id
// N via 10.0.0.2 dev v0 proto 17`, `ip route add 10.5.0.0/24 nhid N proto 17`, …):
// the same header, attributes and order; iproute2 adds NLM_F_ACK, which our batches set
// themselves.

#[test]
fn new_nexthop_with_gateway_matches_iproute2() {
    let mut w = MsgWriter::new();
    let key = NhKey {
        family: AF_INET,
        gateway: Some(ip("10.0.0.2")),
        oif: 3,
    };
    encode_new_nexthop(&mut w, ID, &key);
    let b = w.take();
    assert_eq!(b.len(), 48);
    let m = msgs(&b);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].0, RTM_NEWNEXTHOP);
    assert_eq!(m[0].1, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL);
    let mut want = vec![2, 0, 17, 0, 0, 0, 0, 0];
    want.extend(attr(1, &ID.to_ne_bytes()));
    want.extend(attr(6, &[10, 0, 0, 2]));
    want.extend(attr(5, &3u32.to_ne_bytes()));
    assert_eq!(m[0].2, want);
    let o = parse_nexthop(&m[0].2).expect("parse back");
    assert_eq!(o.id, ID);
    assert_eq!(o.key, Some(key));
    assert!(o.ours());
}

#[test]
fn new_device_and_ipv6_nexthops_match_iproute2() {
    let mut w = MsgWriter::new();
    let dev = NhKey {
        family: AF_INET,
        gateway: None,
        oif: 3,
    };
    encode_new_nexthop(&mut w, ID + 1, &dev);
    let v6 = NhKey {
        family: AF_INET6,
        gateway: Some(ip("fd00::2")),
        oif: 3,
    };
    encode_new_nexthop(&mut w, ID + 2, &v6);
    let b = w.take();
    assert_eq!(b.len(), 40 + 60);
    let m = msgs(&b);
    let mut want = vec![2, 0, 17, 0, 0, 0, 0, 0];
    want.extend(attr(1, &(ID + 1).to_ne_bytes()));
    want.extend(attr(5, &3u32.to_ne_bytes()));
    assert_eq!(m[0].2, want);
    let mut want = vec![10, 0, 17, 0, 0, 0, 0, 0];
    want.extend(attr(1, &(ID + 2).to_ne_bytes()));
    want.extend(attr(6, &ip_bytes(&ip("fd00::2"))));
    want.extend(attr(5, &3u32.to_ne_bytes()));
    assert_eq!(m[1].2, want);
    assert_eq!(parse_nexthop(&m[0].2).and_then(|o| o.key), Some(dev));
    assert_eq!(parse_nexthop(&m[1].2).and_then(|o| o.key), Some(v6));
}

#[test]
fn delete_nexthop_matches_iproute2() {
    let mut w = MsgWriter::new();
    encode_del_nexthop(&mut w, ID + 2);
    let b = w.take();
    assert_eq!(b.len(), 32);
    let m = msgs(&b);
    assert_eq!((m[0].0, m[0].1), (RTM_DELNEXTHOP, NLM_F_REQUEST));
    let mut want = vec![0; 8];
    want.extend(attr(1, &(ID + 2).to_ne_bytes()));
    assert_eq!(m[0].2, want);
}

#[test]
fn routes_naming_an_object_match_iproute2() {
    // `ip route add 10.5.0.0/24 nhid N proto 17`: rtmsg, RTA_DST, RTA_NH_ID (44 bytes).
    let mut w = MsgWriter::new();
    let r = KernelRoute::via(p("10.5.0.0/24"), ip("10.0.0.2"));
    encode_new_nh(
        &mut w,
        &r,
        RT_TABLE_MAIN,
        false,
        RT_SCOPE_UNIVERSE,
        Some(ID),
    );
    // `ip route replace 10.5.0.0/24 nhid N proto 17 src 10.0.0.1` (52 bytes).
    let d = KernelRoute::dev(p("10.5.0.0/24"), 3, Some(ip("10.0.0.1")));
    encode_new_nh(
        &mut w,
        &d,
        RT_TABLE_MAIN,
        true,
        RT_SCOPE_UNIVERSE,
        Some(ID + 1),
    );
    let b = w.take();
    assert_eq!(b.len(), 44 + 52);
    let m = msgs(&b);
    let mut want = vec![2, 24, 0, 0, 254, 17, 0, 1, 0, 0, 0, 0];
    want.extend(attr(1, &[10, 5, 0, 0]));
    want.extend(attr(30, &ID.to_ne_bytes()));
    assert_eq!(m[0].2, want);
    assert_eq!(m[0].1, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL);
    let mut want = vec![2, 24, 0, 0, 254, 17, 0, 1, 0, 0, 0, 0];
    want.extend(attr(1, &[10, 5, 0, 0]));
    want.extend(attr(30, &(ID + 1).to_ne_bytes()));
    want.extend(attr(7, &[10, 0, 0, 1]));
    assert_eq!(m[1].2, want);
    assert_eq!(
        m[1].1,
        NLM_F_REQUEST | NLM_F_CREATE | crate::kernel::netlink::NLM_F_REPLACE
    );
}

#[test]
fn routes_dumped_with_only_an_id_are_read_through_the_objects() {
    let mut w = MsgWriter::new();
    let r = KernelRoute::via(p("10.5.0.0/24"), ip("10.0.0.2"));
    encode_new_nh(
        &mut w,
        &r,
        RT_TABLE_MAIN,
        false,
        RT_SCOPE_UNIVERSE,
        Some(ID),
    );
    let d = KernelRoute::dev(p("10.6.0.0/24"), 3, Some(ip("10.0.0.1")));
    encode_new_nh(
        &mut w,
        &d,
        RT_TABLE_MAIN,
        false,
        RT_SCOPE_UNIVERSE,
        Some(ID + 1),
    );
    let b = w.take();
    let m = msgs(&b);
    let mut nh = Nexthops::new(true);
    nh.absorb_dump(&[
        NhObject {
            id: ID,
            protocol: 17,
            key: Some(NhKey {
                family: AF_INET,
                gateway: Some(ip("10.0.0.2")),
                oif: 3,
            }),
        },
        NhObject {
            id: ID + 1,
            protocol: 17,
            key: Some(NhKey {
                family: AF_INET,
                gateway: None,
                oif: 3,
            }),
        },
    ]);
    let look = |id| nh.target(id).map(|k| (k.gateway, k.oif));
    let a = parse_route_nh(&m[0].2, &look).expect("route");
    assert_eq!((a.route, a.nh_id), (r, Some(ID)));
    let b2 = parse_route_nh(&m[1].2, &look).expect("route");
    assert_eq!(b2.route, d);
    // Without the objects (unknown id): a form we never install.
    let none = parse_route_nh(&m[0].2, &|_| None).expect("route");
    assert_eq!(none.route.kind, RouteKind::Other);
}

#[test]
fn groups_blackholes_and_garbage_are_not_single_next_hops() {
    let mut pl = vec![2, 0, 17, 0, 0, 0, 0, 0];
    pl.extend(attr(1, &ID.to_ne_bytes()));
    pl.extend(attr(4, &[]));
    let o = parse_nexthop(&pl).expect("parse");
    assert_eq!(o.key, None);
    assert!(parse_nexthop(&pl[..7]).is_none());
    let mut no_id = vec![2, 0, 17, 0, 0, 0, 0, 0];
    no_id.extend(attr(5, &3u32.to_ne_bytes()));
    assert!(parse_nexthop(&no_id).is_none());
    let mut bad_gw = vec![2, 0, 17, 0, 0, 0, 0, 0];
    bad_gw.extend(attr(1, &ID.to_ne_bytes()));
    bad_gw.extend(attr(6, &[1, 2, 3]));
    assert!(parse_nexthop(&bad_gw).is_none());
    for cut in 0..pl.len() {
        let _ = parse_nexthop(&pl[..cut]);
    }
    // Another protocol's object in our range is not ours, nor one of ours out of range.
    let foreign = NhObject {
        id: ID,
        protocol: 4,
        key: None,
    };
    assert!(!foreign.ours());
    let low = NhObject {
        id: 7,
        protocol: 17,
        key: None,
    };
    assert!(!low.ours());
}

fn links() -> Vec<(Prefix, u32)> {
    vec![
        (p("10.0.0.0/24"), 3),
        (p("10.0.0.0/16"), 9),
        (p("fd00::/64"), 3),
    ]
}

fn add(dst: &str, gw: &str) -> Op {
    Op::Add(KernelRoute::via(p(dst), ip(gw)))
}

/// (type, NHA_ID or RTA_NH_ID or 0) of every request.
fn shape(b: &[u8]) -> Vec<(u16, u32)> {
    msgs(b)
        .into_iter()
        .map(|(t, _, pl)| {
            let skip = if t >= RTM_NEWNEXTHOP { 8 } else { 12 };
            let id = attrs(&pl[skip..])
                .find(|(k, _)| (t >= RTM_NEWNEXTHOP && *k == NHA_ID) || *k == 30)
                .and_then(|(_, d)| u32_at(d, 0))
                .unwrap_or(0);
            (t, id)
        })
        .collect()
}

#[test]
fn objects_come_first_are_shared_and_go_last_once_unused() {
    let mut nh = Nexthops::new(true);
    nh.set_links(links());
    let mut installed = RouteTable::new();
    let ops = vec![
        add("10.5.0.0/24", "10.0.0.2"),
        add("10.6.0.0/24", "10.0.0.2"),
        add("10.7.0.0/24", "10.0.1.9"), // on the /16 only: device 9
        Op::Add(KernelRoute::dev(p("10.8.0.0/24"), 12, None)),
        Op::Delete(KernelRoute::via(p("10.9.0.0/24"), ip("10.0.0.2"))),
    ];
    let mut w = MsgWriter::new();
    let b = nh.encode(&ops, &installed, true, &mut w);
    let s = shape(&w.take());
    assert_eq!(
        s,
        vec![
            (RTM_NEWNEXTHOP, ID),
            (RTM_NEWNEXTHOP, ID + 1),
            (RTM_NEWNEXTHOP, ID + 2),
            (24, ID),
            (24, ID),
            (24, ID + 1),
            (24, ID + 2),
            (25, 0),
        ]
    );
    let keys: Vec<NhKey> = nh.ours().values().copied().collect();
    assert_eq!(keys[1].oif, 9, "longest connected subnet gives the device");
    assert_eq!(keys[2].gateway, None);
    let out = nh.finish(b, Vec::new());
    assert!(out.route_failures.is_empty() && out.retry.is_empty());
    for op in &ops[..4] {
        installed.insert(op.prefix(), op.route().kind);
    }
    assert!(!nh.has_unused(&installed));
    // The routes through 10.0.1.9 go: its object is deleted by the next quiet pass,
    // after that pass's route operations, not while another pass is in flight.
    installed.remove(&p("10.7.0.0/24"));
    assert!(nh.has_unused(&installed));
    let mut w = MsgWriter::new();
    let b = nh.encode(&[], &installed, false, &mut w);
    assert!(w.take().is_empty());
    nh.finish(b, Vec::new());
    let ops = vec![add("10.10.0.0/24", "10.0.0.2")];
    let b = nh.encode(&ops, &installed, true, &mut w);
    assert_eq!(shape(&w.take()), vec![(24, ID), (RTM_DELNEXTHOP, ID + 1)]);
    nh.finish(b, Vec::new());
    assert!(!nh.ours().contains_key(&(ID + 1)));
    assert!(!nh.has_unused(&installed));
}

#[test]
fn plain_routes_when_turned_off_or_the_device_is_unknown() {
    let mut nh = Nexthops::new(false);
    nh.set_links(links());
    let installed = RouteTable::new();
    let mut w = MsgWriter::new();
    let b = nh.encode(&[add("10.5.0.0/24", "10.0.0.2")], &installed, true, &mut w);
    assert_eq!(shape(&w.take()), vec![(24, 0)]);
    nh.finish(b, Vec::new());
    nh.set_wanted(true);
    // 192.0.2.1 is on no connected subnet; fe80:: is on every link.
    let ops = vec![
        add("10.5.0.0/24", "192.0.2.1"),
        add("fd01::/64", "fe80::1"),
        add("fd02::/64", "fd00::7"),
    ];
    let b = nh.encode(&ops, &installed, true, &mut w);
    assert_eq!(
        shape(&w.take()),
        vec![(RTM_NEWNEXTHOP, ID), (24, 0), (24, 0), (24, ID)]
    );
    nh.finish(b, Vec::new());
}

fn fail(index: usize, errno: i32) -> Failure {
    Failure {
        index,
        error: Errno::new(errno),
    }
}

#[test]
fn a_kernel_without_objects_falls_back_once_and_routes_are_retried() {
    let mut nh = Nexthops::new(true);
    nh.set_links(links());
    let installed = RouteTable::new();
    let ops = vec![
        add("10.5.0.0/24", "10.0.0.2"),
        add("10.6.0.0/24", "10.0.0.2"),
    ];
    let mut w = MsgWriter::new();
    let b = nh.encode(&ops, &installed, true, &mut w);
    w.take();
    // The object is refused (old kernel: unknown message type), so are its routes.
    let out = nh.finish(
        b,
        vec![
            fail(0, libc::EOPNOTSUPP),
            fail(1, libc::EINVAL),
            fail(2, libc::EINVAL),
        ],
    );
    assert!(out.route_failures.is_empty());
    assert_eq!(out.retry, vec![0, 1]);
    assert!(!nh.active());
    assert!(nh.ours().is_empty());
    let b = nh.encode(&ops, &installed, true, &mut w);
    assert_eq!(shape(&w.take()), vec![(24, 0), (24, 0)]);
    // A plain route's own failure is reported as before.
    let out = nh.finish(b, vec![fail(1, libc::ENETUNREACH)]);
    assert_eq!(out.route_failures, vec![fail(1, libc::ENETUNREACH)]);
}

#[test]
fn a_first_route_refused_for_its_id_falls_back_too() {
    let mut nh = Nexthops::new(true);
    nh.set_links(links());
    let installed = RouteTable::new();
    let mut w = MsgWriter::new();
    let b = nh.encode(&[add("10.5.0.0/24", "10.0.0.2")], &installed, true, &mut w);
    let out = nh.finish(b, vec![fail(1, libc::EINVAL)]);
    assert_eq!(out.retry, vec![0]);
    assert!(!nh.active());
}

#[test]
fn once_objects_work_an_einval_is_about_one_next_hop() {
    let mut nh = Nexthops::new(true);
    nh.set_links(links());
    let installed = RouteTable::new();
    let mut w = MsgWriter::new();
    let b = nh.encode(&[add("10.5.0.0/24", "10.0.0.2")], &installed, true, &mut w);
    nh.finish(b, Vec::new());
    let ops = vec![
        add("10.6.0.0/24", "10.0.0.3"),
        add("10.7.0.0/24", "10.0.0.2"),
    ];
    let b = nh.encode(&ops, &installed, true, &mut w);
    w.take();
    // The object for 10.0.0.3 is refused; routes naming an existing object fail alone.
    let out = nh.finish(
        b,
        vec![
            fail(0, libc::EINVAL),
            fail(1, libc::EINVAL),
            fail(2, libc::ENOMEM),
        ],
    );
    assert!(nh.active());
    assert_eq!(out.retry, vec![0]);
    assert_eq!(out.route_failures, vec![fail(1, libc::ENOMEM)]);
    // Its routes now go plain, the others still name the working object.
    let b = nh.encode(&ops, &installed, true, &mut w);
    assert_eq!(shape(&w.take()), vec![(24, 0), (24, ID)]);
    nh.finish(b, Vec::new());
    // New links: the refused next hop is tried again.
    nh.set_links(vec![(p("10.0.0.0/24"), 4)]);
    let b = nh.encode(&ops[..1], &installed, false, &mut w);
    assert_eq!(shape(&w.take())[0].0, RTM_NEWNEXTHOP);
    nh.finish(b, Vec::new());
}

#[test]
fn ids_skip_objects_of_others_and_a_taken_id_asks_for_a_reread() {
    let mut nh = Nexthops::new(true);
    nh.set_links(links());
    nh.absorb_dump(&[
        NhObject {
            id: ID,
            protocol: 4,
            key: None,
        },
        NhObject {
            id: ID + 1,
            protocol: 17,
            key: Some(NhKey {
                family: AF_INET,
                gateway: Some(ip("10.0.0.9")),
                oif: 3,
            }),
        },
    ]);
    let installed = RouteTable::new();
    let mut w = MsgWriter::new();
    let b = nh.encode(&[add("10.5.0.0/24", "10.0.0.2")], &installed, false, &mut w);
    assert_eq!(
        shape(&w.take()),
        vec![(RTM_NEWNEXTHOP, ID + 2), (24, ID + 2)]
    );
    let out = nh.finish(b, vec![fail(0, libc::EEXIST)]);
    assert!(nh.take_resync());
    assert!(!nh.take_resync());
    // The route went in, naming someone else's object: counted as done; the re-read
    // shows where it leads and the next comparison repairs it.
    assert!(out.retry.is_empty() && out.route_failures.is_empty());
    // Our unused object from an earlier run is deleted by the next quiet pass, the
    // foreign one never.
    let b = nh.encode(&[], &installed, true, &mut w);
    assert_eq!(shape(&w.take()), vec![(RTM_DELNEXTHOP, ID + 1)]);
    // A failed delete is not retried before the next re-read (no pass loop).
    nh.finish(b, vec![fail(0, libc::EBUSY)]);
    assert!(!nh.has_unused(&installed));
}

#[test]
fn adopted_objects_stay_while_a_route_leads_through_them() {
    let mut nh = Nexthops::new(false);
    nh.absorb_dump(&[
        NhObject {
            id: ID + 5,
            protocol: 17,
            key: Some(NhKey {
                family: AF_INET,
                gateway: Some(ip("10.0.0.2")),
                oif: 3,
            }),
        },
        NhObject {
            id: ID + 6,
            protocol: 17,
            key: Some(NhKey {
                family: AF_INET6,
                gateway: None,
                oif: 12,
            }),
        },
    ]);
    let mut installed = RouteTable::new();
    installed.insert(p("10.5.0.0/24"), RouteKind::Via(ip("10.0.0.2")));
    installed.insert(
        p("fd05::/64"),
        RouteKind::Dev {
            ifindex: 12,
            src: None,
        },
    );
    assert!(!nh.has_unused(&installed));
    installed.remove(&p("fd05::/64"));
    let mut w = MsgWriter::new();
    let b = nh.encode(&[], &installed, true, &mut w);
    assert_eq!(shape(&w.take()), vec![(RTM_DELNEXTHOP, ID + 6)]);
    nh.finish(b, Vec::new());
    assert_eq!(nh.ours().keys().copied().collect::<Vec<_>>(), vec![ID + 5]);
}

/// A kernel's dump socket that refuses every dump with `errno` (as a kernel before
/// Linux 5.3 refuses RTM_GETNEXTHOP, a message type it does not know: EOPNOTSUPP), and
/// counts the requests and their types.
struct RefusingDumps {
    errno: i32,
    asked: Vec<u16>,
}

impl DumpSource for RefusingDumps {
    fn dump(
        &mut self,
        what: &'static str,
        build: &dyn Fn(&mut MsgWriter),
        _reset: &mut dyn FnMut(),
        _each: &mut dyn FnMut(&NlMsg<'_>),
    ) -> Result<(), NetlinkError> {
        let mut w = MsgWriter::new();
        build(&mut w);
        self.asked
            .extend(msgs(&w.take()).into_iter().map(|(t, _, _)| t));
        Err(NetlinkError::Dump(what, Errno::new(self.errno)))
    }
}

#[test]
fn a_kernel_refusing_the_object_dump_gets_plain_routes_from_the_start() {
    for errno in [libc::EOPNOTSUPP, libc::EINVAL] {
        let mut nh = Nexthops::new(true);
        nh.set_links(links());
        assert!(nh.active());
        let mut k = RefusingDumps {
            errno,
            asked: Vec::new(),
        };
        nh.reread(&mut k)
            .expect("a refused object dump is not an error");
        assert_eq!(k.asked, vec![RTM_GETNEXTHOP], "errno {errno}");
        assert!(!nh.active(), "errno {errno}");
        // Plain routes from the first pass: no object, no id.
        let mut w = MsgWriter::new();
        let b = nh.encode(
            &[add("10.5.0.0/24", "10.0.0.2")],
            &RouteTable::new(),
            true,
            &mut w,
        );
        assert_eq!(shape(&w.take()), vec![(24, 0)], "errno {errno}");
        assert!(nh.finish(b, Vec::new()).route_failures.is_empty());
        // Detected once: later re-reads do not ask again.
        nh.reread(&mut k).expect("reread");
        assert_eq!(k.asked.len(), 1, "errno {errno}");
        // Turning objects on again (a reload) does not undo what the kernel said.
        nh.set_wanted(true);
        assert!(!nh.active(), "errno {errno}");
    }
}

#[test]
fn another_dump_failure_is_an_error_not_a_fall_back() {
    let mut nh = Nexthops::new(true);
    let mut k = RefusingDumps {
        errno: libc::EPERM,
        asked: Vec::new(),
    };
    assert!(nh.reread(&mut k).is_err());
    assert!(
        nh.active(),
        "objects stay on: the kernel did not say it lacks them"
    );
}

#[test]
fn an_object_only_failing_routes_name_waits_for_their_retry_not_a_pass_at_once() {
    let mut nh = Nexthops::new(true);
    nh.set_links(links());
    let mut installed = RouteTable::new();
    let mut w = MsgWriter::new();
    // 10.5/24 goes in through the object; 10.6/24 is refused (another daemon's route
    // holds the prefix).
    let ops = [
        add("10.5.0.0/24", "10.0.0.2"),
        add("10.6.0.0/24", "10.0.0.2"),
    ];
    let b = nh.encode(&ops, &installed, true, &mut w);
    w.take();
    nh.finish(b, vec![fail(2, libc::EEXIST)]);
    installed.insert(p("10.5.0.0/24"), RouteKind::Via(ip("10.0.0.2")));
    // 10.5/24 withdrawn (with the retry of 10.6/24, as every pass has it): the object
    // is named, so it stays; the retry fails again.
    let retry = add("10.6.0.0/24", "10.0.0.2");
    let ops = [
        Op::Delete(KernelRoute::via(p("10.5.0.0/24"), ip("10.0.0.2"))),
        retry,
    ];
    let b = nh.encode(&ops, &installed, true, &mut w);
    assert_eq!(shape(&w.take()), vec![(25, 0), (24, ID)]);
    let out = nh.finish(b, vec![fail(1, libc::EEXIST)]);
    assert_eq!(out.route_failures, vec![fail(1, libc::EEXIST)]);
    installed.remove(&p("10.5.0.0/24"));
    assert!(
        !nh.has_unused(&installed),
        "no pass at once: the retry (a second later) names it again"
    );
    // The refused route is no longer wanted: the next pass deletes the object.
    let b = nh.encode(&[], &installed, true, &mut w);
    assert_eq!(shape(&w.take()), vec![(RTM_DELNEXTHOP, ID)]);
    nh.finish(b, Vec::new());
    assert!(nh.ours().is_empty() && !nh.has_unused(&installed));
}
