//! The overlay's kernel objects against a kernel that has them: ipip and ip6tnl tunnels,
//! plain and inside GUE, made by kube-bgp's netlink code and compared with the links
//! iproute2 makes from the very commands kube-router uses (same parameters, same MTU);
//! the FoU receive ports; replacement when the encapsulation, port or local address
//! changes; orphan removal that never touches another link; kernel module loading; and
//! packets carried through GUE tunnels between two namespaces, both families.
//!
//! This machine's kernel may lack ipip/ip6tnl/fou: each test then runs itself inside the
//! VM lab (`common::vm`, `tests/vm/run.sh`), never skipped.
mod common;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use common::{Netns, in_ns};
use kube_bgp::kernel::fou::{self, FouPorts};
use kube_bgp::kernel::modules;
use kube_bgp::kernel::netlink::Netlink;
use kube_bgp::kernel::tunnel::{
    self, Ensured, TunnelAction, TunnelEncap, TunnelSpec, ensure_tunnel, tunnel_name,
};

const VM_TIMEOUT: Duration = Duration::from_secs(900);
const GUE: TunnelEncap = TunnelEncap::Gue { port: 5555 };

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

fn spec(local: &str, remote: &str, encap: TunnelEncap) -> TunnelSpec {
    TunnelSpec {
        local: ip(local),
        remote: ip(remote),
        encap,
    }
}

/// Two namespaces joined by a veth: a = 10.0.0.1/24, fd00::1/64; b = .2 / ::2.
fn pair(tag: &str) -> (Netns, Netns, String, String) {
    let a = Netns::new(tag);
    let b = Netns::new(tag);
    let (da, db) = common::veth(
        &a,
        &["10.0.0.1/24", "fd00::1/64"],
        &b,
        &["10.0.0.2/24", "fd00::2/64"],
    );
    (a, b, da, db)
}

/// `ip -d link show NAME` without what differs between two otherwise equal links:
/// the ifindex and name, and the random permanent address of ip6tnl links.
fn details(ns: &Netns, name: &str) -> String {
    let out = ns.sh(&format!("ip -d -o link show dev {name}"));
    let rest = out
        .split_once(&format!("{name}@"))
        .map(|(_, r)| r)
        .unwrap_or(&out);
    let mut words: Vec<&str> = Vec::new();
    let mut it = rest.split_whitespace().skip(1);
    while let Some(w) = it.next() {
        if w == "permaddr" {
            it.next();
            continue;
        }
        words.push(w);
    }
    words.join(" ")
}

/// The MTU of link `name`.
fn mtu(ns: &Netns, name: &str) -> u32 {
    let out = ns.sh(&format!("ip -o link show dev {name}"));
    out.split_whitespace()
        .skip_while(|w| *w != "mtu")
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("no mtu in {out}"))
}

/// What iproute2 makes from `cmd` (a link named `kbref`, brought up), then deleted
/// again so kube-bgp's own link with the same parameters can be made next.
fn reference(ns: &Netns, cmd: &str) -> String {
    ns.sh(&format!("{cmd} && ip link set kbref up"));
    let d = details(ns, "kbref");
    ns.sh("ip link del kbref");
    d
}

fn ensure(nl: &mut Netlink, s: &TunnelSpec) -> Ensured {
    ensure_tunnel(nl, s).unwrap_or_else(|e| panic!("ensure {s:?}: {e}"))
}

/// The tests, named `in_vm::…`: `tests/run.sh` runs them in their own stage (each
/// in a VM where this kernel lacks the tunnels) and leaves them out of the main one.
mod in_vm {
    use super::*;

    /// Plain ipip and ip6tnl: equal to iproute2's links (and so MTU = underlay - header),
    /// kept when asked again, replaced when the local address or the link kind is wrong,
    /// table 77 through them, and orphan removal that deletes only our `tun-*` tunnels.
    #[test]
    fn plain_tunnels_as_iproute2_makes_them() {
        let test = "in_vm::plain_tunnels_as_iproute2_makes_them";
        if !common::vm::here_or_in_vm(test, VM_TIMEOUT) {
            return;
        }
        let (a, _b, dev, _) = pair("ktp");
        let t4 = tunnel_name(&ip("10.0.0.2"));
        let t6 = tunnel_name(&ip("fd00::2"));
        let want4 = reference(
            &a,
            "ip link add kbref type ipip remote 10.0.0.2 local 10.0.0.1",
        );
        let want6 = reference(
            &a,
            "ip -6 link add kbref type ip6tnl remote fd00::2 local fd00::1",
        );
        let s4 = spec("10.0.0.1", "10.0.0.2", TunnelEncap::Ipip);
        let s6 = spec("fd00::1", "fd00::2", TunnelEncap::Ipip);
        in_ns(&a, || {
            let mut nl = Netlink::open().expect("netlink");
            let e4 = ensure(&mut nl, &s4);
            let e6 = ensure(&mut nl, &s6);
            assert_eq!(e4.action, TunnelAction::Created);
            assert_eq!(e6.action, TunnelAction::Created);
            assert_eq!(details(&a, &t4), want4);
            assert_eq!(details(&a, &t6), want6);
            assert!(want4.contains("ipip any remote 10.0.0.2 local 10.0.0.1 ttl inherit pmtudisc"));
            assert!(want6.contains("remote fd00::2 local fd00::1 hoplimit 64 encaplimit 4"));
            // No MTU is set: the kernel's default from the underlay (veth 1500).
            assert_eq!(mtu(&a, &dev), 1500);
            assert_eq!(mtu(&a, &t4), 1480);
            assert_eq!(mtu(&a, &t6), 1452);
            for (s, e) in [(&s4, e4), (&s6, e6)] {
                let again = ensure(&mut nl, s);
                assert_eq!(
                    again,
                    Ensured {
                        ifindex: e.ifindex,
                        action: TunnelAction::Kept
                    }
                );
            }

            // Table 77 through the tunnel.
            tunnel::ensure_tunnel_route(&mut nl, ip("10.0.0.2"), e4.ifindex).expect("t77");
            tunnel::ensure_tunnel_route(&mut nl, ip("fd00::2"), e6.ifindex).expect("t77 v6");
            let t77 = a.sh("ip route show table 77; ip -6 route show table 77");
            assert!(
                t77.contains(&format!("10.0.0.2 dev {t4} proto 17 scope link")),
                "{t77}"
            );
            assert!(t77.contains(&format!("fd00::2 dev {t6} proto 17")), "{t77}");

            // Another local address: replaced (a node whose address changed).
            a.sh(&format!("ip addr add 10.0.0.11/24 dev {dev}"));
            let moved = spec("10.0.0.11", "10.0.0.2", TunnelEncap::Ipip);
            let e = ensure(&mut nl, &moved);
            assert_eq!(
                e.action,
                TunnelAction::Replaced {
                    was: Some(TunnelEncap::Ipip)
                }
            );
            assert_ne!(e.ifindex, e4.ifindex);
            assert!(details(&a, &t4).contains("remote 10.0.0.2 local 10.0.0.11"));
            // The table-77 route went with the old link.
            let t77 = a.sh("ip route show table 77");
            assert!(!t77.contains(&t4), "{t77}");

            // A link of our name that is not a tunnel at all: replaced too.
            a.sh(&format!("ip link del {t6} && ip link add {t6} type dummy"));
            let e = ensure(&mut nl, &s6);
            assert_eq!(e.action, TunnelAction::Replaced { was: None });
            assert_eq!(details(&a, &t6), want6);

            // Orphans: only our tun-* tunnels, never the veth, the kernel's fallback
            // devices (tunl0, ip6tnl0) or another ipip link.
            a.sh("ip link add kbother type ipip remote 10.0.0.9 local 10.0.0.1");
            let keep: BTreeSet<String> = [t4.clone()].into();
            let gone = tunnel::remove_orphans(&mut nl, &keep).expect("orphans");
            let names: Vec<&str> = gone.iter().map(|l| l.name.as_str()).collect();
            assert_eq!(names, [t6.as_str()]);
            let gone = tunnel::remove_orphans(&mut nl, &BTreeSet::new()).expect("orphans");
            let names: Vec<&str> = gone.iter().map(|l| l.name.as_str()).collect();
            assert_eq!(names, [t4.as_str()]);
            let left = a.sh("ip -o link show");
            for l in [dev.as_str(), "tunl0", "ip6tnl0", "kbother"] {
                assert!(left.contains(&format!(": {l}")), "{l} gone:\n{left}");
            }
            assert!(!left.contains("tun-"), "{left}");
        });
    }

    /// `--overlay-encap=fou`: the modules load without `modprobe`, the GUE ports open per
    /// family (idempotently), the tunnels equal what kube-router's `ip link add … encap gue
    /// …` command makes, and a change of encapsulation or port replaces them.
    #[test]
    fn gue_tunnels_and_fou_ports() {
        let test = "in_vm::gue_tunnels_and_fou_ports";
        if !common::vm::here_or_in_vm(test, VM_TIMEOUT) {
            return;
        }
        // Loaded by kube-bgp's own loader (a fresh VM has neither).
        for m in ["fou", "fou6"] {
            let loaded = modules::load(m).unwrap_or_else(|e| panic!("load {m}: {e}"));
            eprintln!("{m}: {loaded:?}");
            assert!(std::path::Path::new("/sys/module").join(m).exists());
            assert_eq!(modules::load(m).expect("again"), modules::Loaded::Already);
        }
        assert!(modules::load("no_such_module_kb").is_err());

        let (a, _b, _dev, _) = pair("ktg");
        let t4 = tunnel_name(&ip("10.0.0.2"));
        let t6 = tunnel_name(&ip("fd00::2"));
        // kube-router's commands for --overlay-encap=fou (FoU port first, as it does).
        a.sh("ip fou add port 5555 gue && ip -6 fou add port 5555 gue");
        let want4 = reference(
            &a,
            "ip link add name kbref type ipip remote 10.0.0.2 local 10.0.0.1 ttl 225 \
             encap gue encap-sport auto encap-dport 5555 mode ipip",
        );
        let want6 = reference(
            &a,
            "ip -6 link add name kbref type ip6tnl remote fd00::2 local fd00::1 ttl 225 \
             encap gue encap-sport auto encap-dport 5555 mode ip6ip6",
        );
        a.sh("ip fou del port 5555 && ip -6 fou del port 5555");
        assert!(a.sh("ip fou show").trim().is_empty());

        in_ns(&a, || {
            let mut ports = FouPorts::open().expect("fou socket");
            for af in [fou::af_of(false), fou::af_of(true)] {
                assert!(ports.add_gue(5555, af).expect("open port"));
                assert!(!ports.add_gue(5555, af).expect("open port again"));
            }
            let shown = a.sh("ip fou show");
            assert!(shown.contains("port 5555 gue\n"), "{shown}");
            assert!(shown.contains("port 5555 gue -6"), "{shown}");

            let mut nl = Netlink::open().expect("netlink");
            let g4 = spec("10.0.0.1", "10.0.0.2", GUE);
            let g6 = spec("fd00::1", "fd00::2", GUE);
            // Plain tunnels first, as a run with --overlay-encap=ipip left them.
            let plain4 = ensure(
                &mut nl,
                &TunnelSpec {
                    encap: TunnelEncap::Ipip,
                    ..g4
                },
            );
            let e4 = ensure(&mut nl, &g4);
            assert_eq!(
                e4.action,
                TunnelAction::Replaced {
                    was: Some(TunnelEncap::Ipip)
                }
            );
            assert_ne!(e4.ifindex, plain4.ifindex);
            let e6 = ensure(&mut nl, &g6);
            assert_eq!(e6.action, TunnelAction::Created);
            assert_eq!(details(&a, &t4), want4);
            assert_eq!(details(&a, &t6), want6);
            assert!(want4.contains(
                "ipip ipip remote 10.0.0.2 local 10.0.0.1 ttl 225 pmtudisc encap gue \
                 encap-sport auto encap-dport 5555"
            ));
            assert!(want6.contains("ip6tnl ip6ip6 remote fd00::2 local fd00::1 hoplimit 225"));
            assert!(want6.contains("encap gue encap-sport auto encap-dport 5555"));
            // The kernel's MTU for GUE: the underlay's less outer IP, UDP and GUE headers.
            assert_eq!(mtu(&a, &t4), 1468);
            assert_eq!(mtu(&a, &t6), 1440);
            assert_eq!(ensure(&mut nl, &g4).action, TunnelAction::Kept);

            // Another port: replaced; back to plain ipip: replaced.
            let p2 = TunnelSpec {
                encap: TunnelEncap::Gue { port: 5556 },
                ..g6
            };
            assert_eq!(
                ensure(&mut nl, &p2).action,
                TunnelAction::Replaced { was: Some(GUE) }
            );
            assert!(details(&a, &t6).contains("encap-dport 5556"));
            let back = TunnelSpec {
                encap: TunnelEncap::Ipip,
                ..g6
            };
            assert_eq!(
                ensure(&mut nl, &back).action,
                TunnelAction::Replaced {
                    was: Some(TunnelEncap::Gue { port: 5556 })
                }
            );
            assert!(!details(&a, &t6).contains("encap gue"));

            for af in [fou::af_of(false), fou::af_of(true)] {
                assert!(ports.remove(5555, af).expect("close"));
                assert!(!ports.remove(5555, af).expect("close again"));
            }
            assert!(a.sh("ip fou show").trim().is_empty());
        });
    }

    /// Packets through GUE tunnels made by kube-bgp's code, both families: each namespace
    /// has its FoU port and a tunnel to the other, and an address on its loopback routed
    /// through the tunnel. Pings pass, and on the wire there is only UDP to port 5555
    /// between the underlay addresses.
    #[test]
    fn gue_carries_packets_both_families() {
        let test = "in_vm::gue_carries_packets_both_families";
        if !common::vm::here_or_in_vm(test, VM_TIMEOUT) {
            return;
        }
        for m in ["fou", "fou6"] {
            modules::load(m).unwrap_or_else(|e| panic!("load {m}: {e}"));
        }
        let (a, b, dev_a, _) = pair("ktd");
        let sides = [
            (&a, "10.0.0.1", "10.0.0.2", "fd00::1", "fd00::2", 1),
            (&b, "10.0.0.2", "10.0.0.1", "fd00::2", "fd00::1", 2),
        ];
        for (ns, l4, r4, l6, r6, n) in sides {
            let other = 3 - n;
            ns.sh(&format!(
                "ip addr add 10.99.{n}.1/32 dev lo && ip addr add fd00:99:{n}::1/128 dev lo nodad"
            ));
            in_ns(ns, || {
                let mut ports = FouPorts::open().expect("fou socket");
                ports.add_gue(5555, fou::af_of(false)).expect("port v4");
                ports.add_gue(5555, fou::af_of(true)).expect("port v6");
                let mut nl = Netlink::open().expect("netlink");
                ensure(&mut nl, &spec(l4, r4, GUE));
                ensure(&mut nl, &spec(l6, r6, GUE));
            });
            let (t4, t6) = (tunnel_name(&ip(r4)), tunnel_name(&ip(r6)));
            ns.sh(&format!(
                "ip route add 10.99.{other}.1/32 dev {t4} src 10.99.{n}.1 && \
                 ip -6 route add fd00:99:{other}::1/128 dev {t6} src fd00:99:{n}::1"
            ));
        }
        // Capture on a's underlay while pinging: bounded by tcpdump's own count and timeout.
        let cap = a
            .command("timeout")
            .args(["20", "tcpdump", "-n", "-l", "-i", &dev_a, "-c", "8"])
            // Everything on the wire but IPv6 neighbour discovery.
            .arg("(ip or ip6) and not icmp6")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("tcpdump");
        let cap = common::ChildGuard::new(cap, "tcpdump");
        std::thread::sleep(Duration::from_secs(3));
        let p4 = a.run("ping -n -c 2 -W 5 -I 10.99.1.1 10.99.2.1");
        let p6 = a.run("ping -n -c 2 -W 5 -I fd00:99:1::1 fd00:99:2::1");
        let out = {
            let mut g = cap;
            let _ = common::wait_for(Duration::from_secs(20), || {
                g.child.try_wait().ok().flatten()
            });
            g.signal(libc::SIGINT);
            let mut s = String::new();
            if let Some(mut o) = g.child.stdout.take() {
                let _ = std::io::Read::read_to_string(&mut o, &mut s);
            }
            s
        };
        eprintln!("capture on {dev_a}:\n{out}");
        assert!(
            p4.status.success(),
            "{}",
            String::from_utf8_lossy(&p4.stdout)
        );
        assert!(
            p6.status.success(),
            "{}",
            String::from_utf8_lossy(&p6.stdout)
        );
        let lines: Vec<&str> = out.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 8, "{out}");
        // `IP 10.0.0.1.P > 10.0.0.2.5555: UDP, …` and `IP6 fd00::1 > fd00::2: DSTOPT P >
        // 5555: UDP, …` (the ip6tnl encapsulation-limit option): outer addresses only.
        for l in &lines {
            let outer_ok = ["10.0.0.1.", "10.0.0.2."]
                .iter()
                .filter(|a| l.contains(*a))
                .count()
                == 2
                && l.contains(".5555: UDP")
                || (l.contains("IP6 fd00::1 > fd00::2: ") || l.contains("IP6 fd00::2 > fd00::1: "))
                    && l.contains(" > 5555: UDP");
            assert!(outer_ok, "not GUE between the underlay addresses: {l}");
            assert!(!l.contains("10.99.") && !l.contains("fd00:99:"), "{l}");
        }
    }
}
