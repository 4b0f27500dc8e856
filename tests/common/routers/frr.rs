//! FRR 8.x (zebra + bgpd) behind [`Router`], run by hand as the shared benchmark harness's duts/frr.sh (../shared/bench beside the checkout)
//! does, not as the system service: one run directory per router (owned by user frr,
//! which the daemons drop to) holding configs, vty sockets (`--vty_socket`) and the
//! zserv socket; bgpd runs with `-n` (routes are not pushed to the kernel). With BFD
//! peers configured, bfdd runs too (its control socket in the same directory).

use std::net::IpAddr;

use kube_bgp::prefix::Prefix;
use serde_json::Value;

use super::{BfdPeer, BfdView, Route, Router, SessionState};

const FRR: &str = "/usr/lib/frr";

fn render(r: &Router) -> String {
    let c = &r.config;
    let mut s = String::new();
    s += "frr defaults traditional\nhostname kbtest\n";
    s += &format!(
        "log file {} informational\n",
        r.dir.join("bgpd.log").display()
    );
    s += &format!("router bgp {}\n bgp router-id {}\n", c.asn, c.router_id);
    // Without these, FRR 8 sends nothing to eBGP peers and drops `network` routes that
    // have no IGP route behind them.
    s += " no bgp ebgp-requires-policy\n no bgp network import-check\n no bgp default ipv4-unicast\n";
    // Session changes and NOTIFICATIONs (with a shutdown message) in bgpd.log.
    s += " bgp log-neighbor-changes\n";
    for n in &c.neighbors {
        let a = n.addr;
        s += &format!(" neighbor {a} remote-as {}\n", n.asn);
        s += &format!(" neighbor {a} timers {} {}\n", c.keepalive(), c.hold_time);
        s += &format!(" neighbor {a} timers connect {}\n", c.connect_retry);
        if let Some(p) = &n.password {
            s += &format!(" neighbor {a} password {p}\n");
        }
        if n.passive {
            s += &format!(" neighbor {a} passive\n");
        }
        if let Some(ttl) = n.multihop {
            s += &format!(" neighbor {a} ebgp-multihop {ttl}\n");
        }
        if let Some(l) = c.listen {
            s += &format!(" neighbor {a} update-source {l}\n");
        }
        if n.graceful_restart {
            s += &format!(" neighbor {a} graceful-restart\n");
        }
        if !n.as4 {
            s += &format!(" neighbor {a} dont-capability-negotiate\n");
        }
        if n.bfd {
            s += &format!(" neighbor {a} bfd\n");
        }
        if n.bfd_check_control_plane {
            s += &format!(" neighbor {a} bfd check-control-plane-failure\n");
        }
    }
    for (v6, name) in [(false, "ipv4"), (true, "ipv6")] {
        s += &format!(" address-family {name} unicast\n");
        for p in c.prefixes.iter().filter(|p| p.addr().is_ipv6() == v6) {
            s += &format!("  network {p}\n");
        }
        for n in c.neighbors.iter().filter(|n| if v6 { n.v6 } else { n.v4 }) {
            s += &format!("  neighbor {} activate\n", n.addr);
            if n.rr_client {
                s += &format!("  neighbor {} route-reflector-client\n", n.addr);
            }
        }
        s += " exit-address-family\n";
    }
    s
}

fn vtysh(r: &Router, cmds: &[&str]) -> Result<String, String> {
    vtysh_daemon(r, "bgpd", cmds)
}

pub(super) fn vtysh_daemon(r: &Router, daemon: &str, cmds: &[&str]) -> Result<String, String> {
    let dir = r.dir.display().to_string();
    let mut args = vec!["--vty_socket", &dir, "-d", daemon];
    for c in cmds {
        args.push("-c");
        args.push(c);
    }
    r.query(false, "vtysh", &args)
}

pub(super) fn start(r: &mut Router) {
    let dir = r.dir.display().to_string();
    super::super::sh(&format!("chown frr:frr {dir} && chmod 755 {dir}"));
    let bgpd_conf = r.write("bgpd.conf", &render(r)).display().to_string();
    let zebra_conf = r
        .write(
            "zebra.conf",
            &format!("hostname kbtest\nlog file {dir}/zebra.log warnings\n"),
        )
        .display()
        .to_string();
    super::super::sh(&format!("chown frr:frr {bgpd_conf} {zebra_conf}"));
    let zserv = format!("{dir}/zserv.api");
    let common = ["-P", "0", "--vty_socket", &dir, "-z", &zserv];
    let zebra_pid = format!("{dir}/zebra.pid");
    let mut args: Vec<&str> = common.to_vec();
    args.extend(["-f", &zebra_conf, "-i", &zebra_pid]);
    r.spawn("zebra", &format!("{FRR}/zebra"), &args);
    let zs = r.dir.join("zserv.api");
    r.wait_ready("zebra start", |_| zs.exists());
    if !r.config.bfd.is_empty() {
        let bfdd_conf = r.write("bfdd.conf", &render_bfdd(r)).display().to_string();
        super::super::sh(&format!("chown frr:frr {bfdd_conf}"));
        let bfdd_pid = format!("{dir}/bfdd.pid");
        let bfdctl = format!("{dir}/bfdd.sock");
        let mut args: Vec<&str> = common.to_vec();
        args.extend(["-f", &bfdd_conf, "-i", &bfdd_pid, "--bfdctl", &bfdctl]);
        r.spawn("bfdd", &format!("{FRR}/bfdd"), &args);
        r.wait_ready("bfdd start", |r| {
            vtysh_daemon(r, "bfdd", &["show bfd peers"]).is_ok()
        });
    }
    let bgpd_pid = format!("{dir}/bgpd.pid");
    let listen = r.config.listen.map(|l| l.to_string());
    let mut args: Vec<&str> = common.to_vec();
    args.extend(["-n", "-p", "179", "-f", &bgpd_conf, "-i", &bgpd_pid]);
    if let Some(l) = &listen {
        args.extend(["-l", l]);
    }
    r.spawn("bgpd", &format!("{FRR}/bgpd"), &args);
    r.wait_ready("bgpd start", |r| vtysh(r, &["show bgp summary"]).is_ok());
}

pub(super) fn announce(r: &mut Router, p: Prefix, add: bool) {
    let router = format!("router bgp {}", r.config.asn);
    let afi = if p.addr().is_ipv6() {
        "address-family ipv6 unicast"
    } else {
        "address-family ipv4 unicast"
    };
    let net = format!("{}network {p}", if add { "" } else { "no " });
    if let Err(e) = vtysh(r, &["configure terminal", &router, afi, &net]) {
        panic!("vtysh {net}: {e}\n{}", r.logs());
    }
}

pub(super) fn routes(r: &Router) -> Vec<Route> {
    let mut all = Vec::new();
    for afi in ["ipv4", "ipv6"] {
        let out = vtysh(r, &[&format!("show bgp {afi} unicast json")]).unwrap_or_default();
        all.extend(parse_routes(&out));
    }
    all
}

/// Parses `show bgp <afi> unicast json`: `routes: {prefix: [path, ...]}`; received
/// paths have a `peerId` address (local ones say "(unspec)"), `path` is the AS path as
/// text, `nexthops[0].ip` the next hop (the global one comes first for IPv6).
pub fn parse_routes(json: &str) -> Vec<Route> {
    let Ok(v) = serde_json::from_str::<Value>(json) else {
        return Vec::new();
    };
    let Some(map) = v.get("routes").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (pfx, paths) in map {
        let Ok(pfx) = pfx.parse() else { continue };
        for path in paths.as_array().into_iter().flatten() {
            let Some(from) = path
                .get("peerId")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<IpAddr>().ok())
            else {
                continue;
            };
            let as_path = path
                .get("path")
                .and_then(Value::as_str)
                .unwrap_or("")
                .split_whitespace()
                .filter_map(|a| a.trim_matches(['{', '}', ',']).parse().ok())
                .collect();
            let next_hop = path
                .get("nexthops")
                .and_then(Value::as_array)
                .and_then(|nh| nh.first())
                .and_then(|nh| nh.get("ip"))
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok());
            out.push(Route {
                prefix: pfx,
                next_hop,
                as_path,
                best: path
                    .get("bestpath")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                from: Some(from),
            });
        }
    }
    out
}

pub(super) fn session(r: &Router, peer: IpAddr) -> SessionState {
    let out = vtysh(r, &[&format!("show bgp neighbors {peer} json")]).unwrap_or_default();
    let Ok(v) = serde_json::from_str::<Value>(&out) else {
        return SessionState::Unknown;
    };
    v.as_object()
        .and_then(|m| m.values().next())
        .and_then(|n| n.get("bgpState"))
        .and_then(Value::as_str)
        .map(SessionState::parse)
        .unwrap_or(SessionState::Unknown)
}

/// `show bgp neighbors PEER` as text (the last reset and its NOTIFICATION, message
/// counters).
pub(super) fn neighbor_text(r: &Router, peer: IpAddr) -> String {
    vtysh(r, &[&format!("show bgp neighbors {peer}")]).unwrap_or_default()
}

fn bfd_peer_line(p: &BfdPeer) -> String {
    format!(
        "peer {}{} local-address {}",
        p.addr,
        if p.multihop { " multihop" } else { "" },
        p.local
    )
}

fn render_bfdd(r: &Router) -> String {
    let mut s = String::new();
    s += "hostname kbtest\n";
    s += &format!(
        "log file {} informational\n",
        r.dir.join("bfdd.log").display()
    );
    s += "bfd\n";
    for p in &r.config.bfd {
        s += &format!(" {}\n", bfd_peer_line(p));
        s += &format!("  detect-multiplier {}\n", p.multiplier);
        s += &format!("  receive-interval {}\n", p.min_rx_ms);
        s += &format!("  transmit-interval {}\n", p.min_tx_ms);
        s += " !\n";
    }
    s
}

/// Parses `show bfd peers json`.
pub fn parse_bfd_peers(json: &str) -> Vec<BfdView> {
    let Ok(Value::Array(peers)) = serde_json::from_str::<Value>(json) else {
        return Vec::new();
    };
    let num = |p: &Value, k: &str| p.get(k).and_then(Value::as_u64);
    let text = |p: &Value, k: &str| p.get(k).and_then(Value::as_str).map(str::to_string);
    peers
        .iter()
        .filter_map(|p| {
            Some(BfdView {
                peer: p.get("peer")?.as_str()?.parse().ok()?,
                state: text(p, "status")?.to_ascii_lowercase(),
                tx_interval_ms: num(p, "transmit-interval")?,
                detect_ms: None,
                remote_tx_ms: num(p, "remote-transmit-interval"),
                remote_rx_ms: num(p, "remote-receive-interval"),
                remote_mult: num(p, "remote-detect-multiplier"),
                diag: text(p, "diagnostic"),
                remote_diag: text(p, "remote-diagnostic"),
            })
        })
        .collect()
}

pub(super) fn bfd_sessions(r: &Router) -> Vec<BfdView> {
    let out = vtysh_daemon(r, "bfdd", &["show bfd peers json"]).unwrap_or_default();
    parse_bfd_peers(&out)
}

pub(super) fn bfd_shutdown(r: &mut Router, p: &BfdPeer, down: bool) {
    let peer = bfd_peer_line(p);
    let cmd = if down { "shutdown" } else { "no shutdown" };
    if let Err(e) = vtysh_daemon(r, "bfdd", &["configure terminal", "bfd", &peer, cmd]) {
        panic!("vtysh bfd {peer} {cmd}: {e}\n{}", r.logs());
    }
}
