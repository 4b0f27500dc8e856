//! Self-check of the cluster benchmark's instruments (tests/bench/cluster, run with
//! `cargo bench --bench cluster`): the statistics, the parsers of the API server's commit
//! log, kube-bgp's peer log lines and /proc, the plan of the node-lost waves, the
//! simulated peers' BGP messages, and the route monitor against real kernel route changes
//! in a namespace (root). The benchmark itself is not run here.
#![allow(dead_code)]

mod common;
#[path = "bench/cluster/events.rs"]
mod events;
#[path = "bench/cluster/monitor.rs"]
mod monitor;
#[path = "bench/cluster/procstat.rs"]
mod procstat;
#[path = "bench/cluster/sim.rs"]
mod sim;
#[path = "bench/cluster/stats.rs"]
mod stats;
#[path = "bench/cluster/waves.rs"]
mod waves;

mod stats_tests {
    use super::stats::*;

    #[test]
    fn nearest_rank_on_thirty_values() {
        let v: Vec<f64> = (1..=30).map(f64::from).collect();
        assert_eq!(nearest_rank(&v, 50.0), Some(15.0));
        assert_eq!(nearest_rank(&v, 95.0), Some(29.0));
        assert_eq!(nearest_rank(&v, 99.0), Some(30.0));
        assert_eq!(nearest_rank(&v, 100.0), Some(30.0));
        assert_eq!(nearest_rank(&v, 1.0), Some(1.0));
        assert_eq!(nearest_rank(&[], 50.0), None);
        assert_eq!(nearest_rank(&v, 0.0), None);
        assert_eq!(nearest_rank(&v, 101.0), None);
    }

    #[test]
    fn summary_sorts_and_drops_nan() {
        let s = summarize(&[5.0, f64::NAN, 1.0, 3.0, 2.0, 4.0]).unwrap();
        assert_eq!(
            s,
            Summary {
                n: 5,
                p50: 3.0,
                p95: 5.0,
                p99: 5.0,
                max: 5.0
            }
        );
        assert!(summarize(&[f64::NAN]).is_none());
        assert_eq!(median(&[7.0, 1.0]), Some(1.0));
    }

    #[test]
    fn numbers_for_tables() {
        assert_eq!(fmt_ms(1.234), "1.23");
        assert_eq!(fmt_ms(42.04), "42.0");
        assert_eq!(fmt_ms(90_412.6), "90,413");
        assert_eq!(fmt_ms(f64::NAN), "–");
        assert_eq!(group_thousands(-1_234_567), "-1,234,567");
        assert_eq!(group_thousands(999), "999");
        let t = md_table(
            &["row", "n", "what"],
            &[
                vec!["a".into(), "1".into(), "text".into()],
                vec!["b".into(), "–".into(), "2 s".into()],
            ],
        );
        assert_eq!(
            t,
            "| row | n | what |\n|---|---:|---|\n| a | 1 | text |\n| b | – | 2 s |\n"
        );
    }
}

mod events_tests {
    use super::events::*;
    use std::net::IpAddr;

    #[test]
    fn commit_lines() {
        let text = r#"{"t_ns": 1764700000123456789, "rv": 1002, "type": "ADDED", "resource": "nodes", "key": "/node20"}
not json
{"t_ns": 1764700001000000000, "rv": 1003, "type": "DELETED", "resource": "nodes", "key": "/node20"}
{"t_ns": 1764700002000000000, "rv": 1004, "type": "ADDED", "resource": "nodes", "key": "/node20"}
"#;
        let c = commit_after(text, "nodes", "/node20", "ADDED", 1_764_700_000_200_000_000).unwrap();
        assert_eq!((c.t_ns, c.rv), (1_764_700_002_000_000_000, 1004));
        let c = commit_after(text, "nodes", "/node20", "ADDED", 0).unwrap();
        assert_eq!(c.rv, 1002);
        let d = commit_after(text, "nodes", "/node20", "DELETED", 0).unwrap();
        assert_eq!(d.rv, 1003);
        assert!(commit_after(text, "services", "/node20", "ADDED", 0).is_none());
        assert!(
            commit_after(
                text,
                "nodes",
                "/node20",
                "DELETED",
                1_764_700_001_000_000_001
            )
            .is_none()
        );
        assert!(parse_commit(r#"{"t_ns": "x"}"#).is_none());
    }

    #[test]
    fn peer_lines() {
        let a: IpAddr = "10.12.0.5".parse().unwrap();
        let cases = [
            (
                "1764700000.123456 INFO bgp: peer 10.12.0.5 added: AS 64512 internal port 179 rr-client",
                PeerLog::Added {
                    asn: 64512,
                    rr_client: true,
                },
            ),
            (
                "1764700000.123456 INFO bgp: peer 10.12.0.5 added: AS 65000 external port 179 md5",
                PeerLog::Added {
                    asn: 65000,
                    rr_client: false,
                },
            ),
            (
                "1764700000.123456 INFO bgp: peer 10.12.0.5 removed",
                PeerLog::Removed,
            ),
            (
                "1764700000.123456 INFO bgp: peer 10.12.0.5: Established (AS 64513, router-id 10.12.0.5, hold 90s, families ipv4)",
                PeerLog::Established { asn: 64513 },
            ),
            (
                "1764700000.123456 WARN bgp: peer 10.12.0.5: session down: hold timer expired",
                PeerLog::Down {
                    reason: "hold timer expired".into(),
                },
            ),
            (
                "1764700000.123456 WARN bgp: peer 10.12.0.5: session down: BFD detected a forwarding failure; sent Cease/BFD Down (6/10, RFC 9384)",
                PeerLog::Down {
                    reason:
                        "BFD detected a forwarding failure; sent Cease/BFD Down (6/10, RFC 9384)"
                            .into(),
                },
            ),
            (
                "1764700000.123456 INFO bgp: peer 10.12.0.5: route-reflector client off (session kept)",
                PeerLog::RrClient { on: false },
            ),
        ];
        for (line, want) in cases {
            let p = parse_peer_line(line).unwrap_or_else(|| panic!("{line}"));
            assert_eq!(
                p,
                PeerLine {
                    t_ns: 1_764_700_000_123_456_000,
                    addr: a,
                    what: want
                }
            );
        }
        for other in [
            "1764700000.123 INFO kube: nodes: synced",
            "1764700000.123456 INFO bgp: peer 10.12.0.5: End-of-RIB ipv4",
            "---- lab: start #1 in kbx: kube-bgp --x ----",
            "INFO bgp: peer 10.12.0.5 removed",
            "17647x0000.123456 INFO bgp: peer 10.12.0.5 removed",
            "1764700000.123456 INFO bgp: peer nonsense removed",
        ] {
            assert_eq!(parse_peer_line(other), None, "{other}");
        }
        assert_eq!(
            line_time("1764700000.5 INFO x"),
            Some(1_764_700_000_500_000_000)
        );
        assert_eq!(line_time("1764700000.1234567890 INFO x"), None);
    }
}

mod monitor_tests {
    use super::monitor::*;

    fn attr(kind: u16, data: &[u8]) -> Vec<u8> {
        let mut a = Vec::new();
        a.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
        a.extend_from_slice(&kind.to_ne_bytes());
        a.extend_from_slice(data);
        while a.len() % 4 != 0 {
            a.push(0);
        }
        a
    }

    fn msg(kind: u16, family: u8, dst_len: u8, proto: u8, attrs: &[Vec<u8>]) -> Vec<u8> {
        let mut body = vec![family, dst_len, 0, 0, 254, proto, 0, 1, 0, 0, 0, 0];
        for a in attrs {
            body.extend_from_slice(a);
        }
        let mut m = Vec::new();
        m.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&[0; 10]);
        m.extend_from_slice(&body);
        m
    }

    #[test]
    fn parses_new_del_multipath_and_v6() {
        let mut dg = msg(
            RTM_NEWROUTE,
            libc::AF_INET as u8,
            24,
            17,
            &[
                attr(RTA_DST, &[10, 244, 3, 0]),
                attr(RTA_GATEWAY, &[10, 0, 0, 3]),
            ],
        );
        let nh = |gw: u8| {
            let mut n = vec![16, 0, 0, 0, 2, 0, 0, 0];
            n.extend(attr(RTA_GATEWAY, &[10, 0, 0, gw]));
            n
        };
        let mp: Vec<u8> = [nh(1), nh(2), nh(3)].concat();
        dg.extend(msg(
            RTM_NEWROUTE,
            libc::AF_INET as u8,
            32,
            12,
            &[attr(RTA_DST, &[10, 96, 0, 1]), attr(RTA_MULTIPATH, &mp)],
        ));
        let mut v6 = [0u8; 16];
        v6[0] = 0xfd;
        dg.extend(msg(
            RTM_DELROUTE,
            libc::AF_INET6 as u8,
            64,
            17,
            &[attr(RTA_DST, &v6), attr(RTA_TABLE, &1000u32.to_ne_bytes())],
        ));
        dg.extend(msg(RTM_NEWLINK, 0, 0, 0, &[])); // a link without a name: skipped
        // RTM_NEWLINK of a link set down: struct ifinfomsg (flags without IFF_UP), name.
        let link = |flags: u32| {
            let mut body = vec![0u8, 0, 1, 0, 7, 0, 0, 0];
            body.extend_from_slice(&flags.to_ne_bytes());
            body.extend_from_slice(&[0; 4]);
            body.extend(attr(IFLA_IFNAME, b"veth3\0"));
            let mut m = Vec::new();
            m.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
            m.extend_from_slice(&RTM_NEWLINK.to_ne_bytes());
            m.extend_from_slice(&[0; 10]);
            m.extend_from_slice(&body);
            m
        };
        dg.extend(link(0x1002)); // IFF_BROADCAST | IFF_MULTICAST: down
        let ev = parse_route_msgs(&dg, 7, 2);
        assert_eq!(ev.len(), 4, "{ev:?}");
        assert_eq!((ev[3].prefix.as_str(), ev[3].added), ("link:veth3", false));
        assert!(parse_route_msgs(&link(0x1003), 7, 2)[0].added);
        let ev = &ev[..3];
        assert_eq!(
            ev[0],
            RouteNote {
                t_ns: 7,
                ns: 2,
                added: true,
                prefix: "10.244.3.0/24".into(),
                protocol: 17,
                table: 254,
                nexthops: 1
            }
        );
        assert_eq!((ev[1].prefix.as_str(), ev[1].nexthops), ("10.96.0.1/32", 3));
        assert_eq!(
            (ev[2].prefix.as_str(), ev[2].added, ev[2].table),
            ("fd00::/64", false, 1000)
        );
        assert_eq!(first_event(ev, 2, "10.96.0.1/32", true, 3, 0), Some(7));
        assert_eq!(first_event(ev, 2, "10.96.0.1/32", true, 4, 0), None);
        assert_eq!(first_event(ev, 2, "fd00::/64", false, 0, 8), None);
    }

    #[test]
    fn truncated_input_is_skipped_not_a_panic() {
        let m = msg(
            RTM_NEWROUTE,
            libc::AF_INET as u8,
            24,
            17,
            &[attr(RTA_DST, &[10, 244, 3, 0])],
        );
        for cut in 0..m.len() {
            let _ = parse_route_msgs(&m[..cut], 0, 0);
        }
        let mut bad = m.clone();
        bad[0] = 200; // length beyond the buffer
        assert!(parse_route_msgs(&bad, 0, 0).is_empty());
        assert_eq!(count_multipath(&[4, 0, 0, 0]), 0);
    }
}

mod waves_tests {
    use super::waves::*;
    use std::collections::BTreeSet;
    use std::time::Duration;

    /// Every trial once, each wave's nodes distinct, candidates only, observers the
    /// running nodes not cut in the wave (never fewer than the cut ones), cuts in time
    /// order within the stagger's bounds.
    fn check(
        trials: usize,
        up: &[usize],
        candidates: &[usize],
        stagger: &Stagger,
        waves: &[LostWave],
    ) {
        let all: Vec<usize> = waves
            .iter()
            .flat_map(|w| w.cuts.iter().map(|c| c.trial))
            .collect();
        assert_eq!(all, (0..trials).collect::<Vec<_>>());
        let size = max_wave(up.len(), candidates.len());
        assert_eq!(waves.len(), trials.div_ceil(size));
        for w in waves {
            assert!(!w.cuts.is_empty() && w.cuts.len() <= size, "{w:?}");
            let nodes: BTreeSet<usize> = w.cuts.iter().map(|c| c.node).collect();
            assert_eq!(nodes.len(), w.cuts.len(), "nodes not distinct: {w:?}");
            assert!(nodes.iter().all(|n| candidates.contains(n)));
            let obs: BTreeSet<usize> = w.observers.iter().copied().collect();
            let want: BTreeSet<usize> = up.iter().copied().filter(|i| !nodes.contains(i)).collect();
            assert_eq!(obs, want);
            assert!(obs.len() >= nodes.len());
            assert!(w.cuts.windows(2).all(|p| p[0].at < p[1].at), "{w:?}");
            let last = w.cuts.last().map(|c| c.at).unwrap_or_default();
            match stagger {
                Stagger::Spread { span } => assert!(last < *span, "{w:?}"),
                Stagger::Apart { gap, jitter } => {
                    for (j, c) in w.cuts.iter().enumerate() {
                        assert!(c.at >= *gap * j as u32 && c.at < *gap * j as u32 + *jitter);
                    }
                }
            }
        }
        // Balanced: sizes differ by at most one.
        let sizes: Vec<usize> = waves.iter().map(|w| w.cuts.len()).collect();
        assert!(
            sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1,
            "{sizes:?}"
        );
    }

    #[test]
    fn plans() {
        let spread = Stagger::Spread {
            span: Duration::from_secs(30),
        };
        let apart = Stagger::Apart {
            gap: Duration::from_secs(2),
            jitter: Duration::from_millis(100),
        };
        // The benchmark's lab: 20 nodes, 19 registered (0..19), node 0 never lost.
        let up: Vec<usize> = (0..19).collect();
        let cand: Vec<usize> = (1..19).collect();
        for stagger in [&spread, &apart] {
            for trials in [1, 2, 9, 10, 30, 31] {
                let w = plan_waves(trials, &up, &cand, stagger).unwrap();
                check(trials, &up, &cand, stagger, &w);
            }
        }
        let w = plan_waves(30, &up, &cand, &spread).unwrap();
        assert_eq!(
            w.iter().map(|w| w.cuts.len()).collect::<Vec<_>>(),
            [8, 8, 7, 7]
        );
        // A small lab: 5 running, 4 candidates → waves of 2.
        let up: Vec<usize> = (0..5).collect();
        let cand: Vec<usize> = (1..5).collect();
        let w = plan_waves(3, &up, &cand, &spread).unwrap();
        check(3, &up, &cand, &spread, &w);
        assert_eq!(w.len(), 2);
        assert!(plan_waves(0, &up, &cand, &spread).unwrap().is_empty());
        // Not plannable.
        assert_eq!(
            plan_waves(3, &[0], &[], &spread),
            Err(WavePlanError::TooFewNodes {
                up: 1,
                candidates: 0
            })
        );
        assert_eq!(
            plan_waves(3, &[0, 1, 2], &[3], &spread),
            Err(WavePlanError::NotUp { node: 3 })
        );
    }
}

mod procstat_tests {
    use super::procstat::*;

    #[test]
    fn status_and_schedstat() {
        let st = "Name:\tkube-bgp\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\nRssAnon:\t   30000 kB\nThreads:\t4\n";
        assert_eq!(
            parse_status_mem(st),
            Mem {
                rss_kb: 40960,
                hwm_kb: 51200,
                anon_kb: 30000
            }
        );
        assert_eq!(parse_schedstat("123456789 2000 17\n"), Some(123_456_789));
        assert_eq!(parse_schedstat(""), None);
        let me = std::process::id();
        assert!(cpu_ns(me).is_some_and(|c| c > 0));
        assert!(mem(me).is_some_and(|m| m.rss_kb > 0));
    }
}

mod sim_tests {
    use super::sim::*;
    use std::net::Ipv4Addr;

    #[test]
    fn messages_are_well_formed() {
        let id: Ipv4Addr = "10.255.0.7".parse().unwrap();
        let o = open_msg(id);
        assert_eq!(frame(&o).unwrap(), Some((1, o.len())));
        assert_eq!(&o[19..29], &[4, 0xfc, 0x00, 0, 90, 10, 255, 0, 7, 16]);
        let r = SimPeerRoute {
            prefix: "10.200.3.0".parse().unwrap(),
            len: 24,
            next_hop: "10.255.0.3".parse().unwrap(),
            reflected: Some(("10.255.0.3".parse().unwrap(), "0.0.0.1".parse().unwrap())),
        };
        let u = update_msg(&r);
        assert_eq!(frame(&u).unwrap(), Some((2, u.len())));
        // withdrawn 0, attributes 4+3+7+7+7+7 = 35 bytes, NLRI /24 = 4 bytes
        assert_eq!(&u[19..23], &[0, 0, 0, 35]);
        assert_eq!(&u[u.len() - 4..], &[24, 10, 200, 3]);
        let w = withdraw_msg("10.250.1.0".parse().unwrap(), 24);
        assert_eq!(&w[19..], &[0, 4, 24, 10, 250, 1, 0, 0]);
        assert_eq!(frame(&w[..10]).unwrap(), None);
        let mut bad = w.clone();
        bad[0] = 0;
        assert!(frame(&bad).is_err());
        let mut long = w.clone();
        long[16] = 0x20;
        assert!(frame(&long).is_err());
    }
}

/// The monitor against the kernel: routes added (one next hop, two), replaced and
/// deleted in a namespace arrive with their prefix, protocol, next-hop count and a time
/// between the commands' start and end.
#[test]
fn route_monitor_sees_kernel_changes() {
    if !common::require_root("route_monitor_sees_kernel_changes") {
        return;
    }
    let a = common::Netns::new("bcm");
    let b = common::Netns::new("bcm");
    common::veth(&a, &["10.77.0.1/24"], &b, &["10.77.0.2/24"]);
    a.sh("ip addr add 10.77.0.3/24 dev lo");
    let mon = monitor::RouteMonitor::start(std::slice::from_ref(&a.name)).expect("monitor");
    let t0 = events::realtime_ns();
    a.sh("ip route add 10.9.9.0/24 via 10.77.0.2 proto 17");
    a.sh("ip route add 10.9.8.0/24 proto 17 nexthop via 10.77.0.2 nexthop via 10.77.0.3");
    a.sh("ip route del 10.9.9.0/24");
    let t1 = events::realtime_ns();
    // A link set down: the connected IPv4 route goes without a RTM_DELROUTE, the link's
    // RTM_NEWLINK says it is down.
    let ifname = a.sh("ip -o -4 addr show to 10.77.0.1/24");
    let ifname = ifname
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.split('@').next())
        .expect("the veth's name")
        .to_string();
    let t_down = events::realtime_ns();
    a.sh(&format!("ip link set dev {ifname} down"));
    let link = format!("link:{ifname}");
    let down = mon.wait(std::time::Duration::from_secs(5), |ev| {
        monitor::first_event(ev, 0, &link, false, 0, t_down)
    });
    assert!(down.is_some_and(|t| t >= t_down), "no link-down note");
    let ev = mon
        .wait(std::time::Duration::from_secs(5), |ev| {
            (ev.iter().filter(|e| e.prefix.starts_with("10.9.")).count() >= 3).then(|| ev.to_vec())
        })
        .expect("three route events");
    let mine: Vec<_> = ev
        .iter()
        .filter(|e| e.prefix.starts_with("10.9."))
        .collect();
    assert_eq!(
        mine.iter()
            .map(|e| (e.prefix.as_str(), e.added, e.nexthops, e.protocol, e.table))
            .collect::<Vec<_>>(),
        vec![
            ("10.9.9.0/24", true, 1, 17, 254),
            ("10.9.8.0/24", true, 2, 17, 254),
            ("10.9.9.0/24", false, 1, 17, 254)
        ]
    );
    assert!(
        mine.iter()
            .all(|e| e.t_ns >= t0 && e.t_ns <= t1 + 1_000_000_000)
    );
    assert_eq!(
        monitor::first_event(&ev, 0, "10.9.8.0/24", true, 2, t0),
        Some(mine[1].t_ns)
    );
    assert_eq!(mon.overflows(), vec![0]);
}

/// The simulated peers against a real BGP speaker: BIRD connects to a passive simulated
/// peer, learns its routes (one reflected, with ORIGINATOR_ID and CLUSTER_LIST) and
/// exports them to its kernel table, where the monitor sees them; a prefix announced
/// and withdrawn later on command follows, each after the time the command returned.
#[test]
fn simulated_peer_feeds_bird_and_the_monitor_sees_it() {
    let test = "simulated_peer_feeds_bird_and_the_monitor_sees_it";
    if !common::require_root(test) || !common::require_tool(test, "bird") {
        return;
    }
    use std::net::Ipv4Addr;
    use std::time::Duration;
    let a = common::Netns::new("bcs");
    let b = common::Netns::new("bcs");
    common::veth(&a, &["10.77.0.1/24"], &b, &["10.77.0.2/24"]);
    let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
    let route = |p: &str, reflected| sim::SimPeerRoute {
        prefix: ip(p),
        len: 24,
        next_hop: ip("10.77.0.2"),
        reflected,
    };
    let peer = sim::SimPeer {
        addr: ip("10.77.0.2"),
        routes: vec![
            route("10.200.7.0", None),
            route("10.200.8.0", Some((ip("10.77.0.9"), ip("0.0.0.1")))),
        ],
    };
    let simr = sim::Sim::start(&b.name, vec![peer]).expect("simulator");
    let mon = monitor::RouteMonitor::start(std::slice::from_ref(&a.name)).expect("monitor");
    struct RemoveDir(std::path::PathBuf);
    impl Drop for RemoveDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let dir = std::env::temp_dir().join(format!("kb-bench-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let _cleanup = RemoveDir(dir.clone());
    let conf = dir.join("bird.conf");
    std::fs::write(
        &conf,
        "router id 10.77.0.1;\nprotocol device { scan time 10; }\nprotocol direct { ipv4; }\n\
         protocol kernel { ipv4 { import none; export filter { if source = RTS_BGP then accept; reject; }; }; }\n\
         protocol bgp sim { local 10.77.0.1 as 64512; neighbor 10.77.0.2 as 64512; \
         ipv4 { import all; export none; }; connect delay time 1; connect retry time 1; }\n",
    )
    .unwrap();
    let child = a
        .command("bird")
        .arg("-f")
        .arg("-c")
        .arg(&conf)
        .arg("-s")
        .arg(dir.join("bird.ctl"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start bird");
    let _bird = common::ChildGuard::new(child, "bird");
    let learned = mon.wait(Duration::from_secs(30), |ev| {
        let x = monitor::first_event(ev, 0, "10.200.7.0/24", true, 1, 0)?;
        let y = monitor::first_event(ev, 0, "10.200.8.0/24", true, 1, 0)?;
        Some((x, y))
    });
    assert!(
        learned.is_some(),
        "BIRD did not install the simulated routes: {:?}",
        simr.stats()
    );
    // BIRD's End-of-RIB may follow its installing our routes by a moment: wait for it
    // (bounded) before reading the counters.
    let until = std::time::Instant::now() + Duration::from_secs(10);
    let mut st = simr.stats();
    while st.updates_rx == 0 && std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
        st = simr.stats();
    }
    assert_eq!((st.established, st.closed), (1, 0), "{st:?}");
    assert!(st.updates_rx >= 1, "no End-of-RIB from BIRD: {st:?}");
    let probe = route("10.250.1.0", None);
    let t_ann = simr.announce(ip("10.77.0.2"), &probe).expect("announce");
    let got = mon.wait(Duration::from_secs(10), |ev| {
        monitor::first_event(ev, 0, "10.250.1.0/24", true, 1, t_ann)
    });
    assert!(got.is_some_and(|t| t >= t_ann));
    let t_wd = simr
        .withdraw(ip("10.77.0.2"), ip("10.250.1.0"), 24)
        .expect("withdraw");
    let gone = mon.wait(Duration::from_secs(10), |ev| {
        monitor::first_event(ev, 0, "10.250.1.0/24", false, 0, t_wd)
    });
    assert!(gone.is_some_and(|t| t >= t_wd));
    assert!(
        simr.announce(ip("10.77.0.99"), &probe).is_none(),
        "unknown peer"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
