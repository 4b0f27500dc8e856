//! BIRD 2 behind [`Router`]: config rendering, `birdc` queries, reconfiguration.
//! Neighbour `i` is `protocol bgp n<i>`; prefixes are blackhole static routes; BFD
//! sessions live in `protocol bfd bfd1`, which logs its state changes ("Session to X
//! changed state from Up to Down"; "Session to X expired" when its detection timer
//! fired).

use std::net::IpAddr;

use super::{BfdView, Route, Router, SessionState};

fn sock(r: &Router) -> String {
    r.dir.join("bird.ctl").display().to_string()
}

fn render(r: &Router) -> String {
    let c = &r.config;
    let mut s = String::new();
    s += &format!("router id {};\n", c.router_id);
    s += &format!("log \"{}\" all;\n", r.dir.join("bird.log").display());
    s += "protocol device { scan time 10; }\n";
    // Connected routes, so iBGP (recursive) next hops on the link resolve.
    s += "protocol direct { ipv4; ipv6; }\n";
    for (name, v6) in [("s4", false), ("s6", true)] {
        s += &format!(
            "protocol static {name} {{\n  {};\n",
            if v6 { "ipv6" } else { "ipv4" }
        );
        for p in c.prefixes.iter().filter(|p| p.addr().is_ipv6() == v6) {
            s += &format!("  route {p} blackhole;\n");
        }
        s += "}\n";
    }
    // Only our statics and what BGP learned go out (not the connected routes).
    let tag: String = c
        .export_communities
        .iter()
        .map(|(a, v)| format!("bgp_community.add(({a}, {v})); "))
        .collect();
    s += &format!(
        "filter bgp_out {{ if source ~ [RTS_STATIC, RTS_BGP] then {{ {tag}accept; }} reject; }}\n"
    );
    // RFC 8326 §4: a route its sender is draining gets LOCAL_PREF 0.
    let import = if c.graceful_shutdown_import {
        s += "filter bgp_in { if (65535, 0) ~ bgp_community then bgp_local_pref = 0; accept; }\n";
        "import filter bgp_in"
    } else {
        "import all"
    };
    if c.kernel_export {
        // The best BGP routes go into the kernel: the router forwards along them.
        for v in ["ipv4", "ipv6"] {
            s += &format!(
                "protocol kernel {{ {v} {{ import none; export where source = RTS_BGP; }}; }}\n"
            );
        }
    }
    let port = if c.port == 179 {
        String::new()
    } else {
        format!(" port {}", c.port)
    };
    if !c.bfd.is_empty() {
        s += "protocol bfd bfd1 {\n  debug { states, events };\n";
        let opts = |p: &super::BfdPeer| {
            format!(
                "{{ min rx interval {} ms; min tx interval {} ms; multiplier {}; }}",
                p.min_rx_ms, p.min_tx_ms, p.multiplier
            )
        };
        if let Some(p) = c.bfd.iter().find(|p| !p.multihop) {
            s += &format!("  interface \"*\" {};\n", opts(p));
        }
        if let Some(p) = c.bfd.iter().find(|p| p.multihop) {
            s += &format!("  multihop {};\n", opts(p));
        }
        for p in &c.bfd {
            s += &format!(
                "  neighbor {} local {}{};\n",
                p.addr,
                p.local,
                if p.multihop { " multihop on" } else { "" }
            );
        }
        s += "}\n";
    }
    for (i, n) in c.neighbors.iter().enumerate() {
        s += &format!("protocol bgp n{i} {{\n");
        match c.listen {
            Some(l) => s += &format!("  local {l}{port} as {};\n", c.asn),
            None => s += &format!("  local{port} as {};\n", c.asn),
        }
        if !n.as4 && n.asn > 0xFFFF {
            // With `enable as4 off` BIRD refuses a 4-octet neighbour ASN (and still
            // checks the one in the peer's AS4 capability): accept any external AS.
            s += &format!("  neighbor {} external;\n", n.addr);
        } else {
            s += &format!("  neighbor {} as {};\n", n.addr, n.asn);
        }
        if let Some(p) = &n.password {
            s += &format!("  password \"{p}\";\n");
        }
        if n.passive {
            s += "  passive on;\n";
        }
        if let Some(ttl) = n.multihop {
            s += &format!("  multihop {ttl};\n");
        }
        if n.rr_client {
            s += "  rr client;\n";
        }
        if n.graceful_restart {
            s += "  graceful restart on;\n";
        }
        if !n.as4 {
            s += "  enable as4 off;\n";
        }
        if n.bfd_graceful {
            s += "  bfd graceful;\n";
        } else if n.bfd {
            s += "  bfd on;\n";
        }
        s += &format!(
            "  hold time {}; keepalive time {}; connect retry time {}; connect delay time 1;\n  error wait time 1, 5;\n",
            c.hold_time,
            c.keepalive(),
            c.connect_retry
        );
        if n.v4 {
            s += &format!("  ipv4 {{ {import}; export filter bgp_out; }};\n");
        }
        if n.v6 {
            s += &format!("  ipv6 {{ {import}; export filter bgp_out; }};\n");
        }
        s += "}\n";
    }
    s
}

pub(super) fn start(r: &mut Router) {
    let conf = r.write("bird.conf", &render(r));
    let conf = conf.display().to_string();
    let ctl = sock(r);
    r.spawn("bird", "bird", &["-f", "-c", &conf, "-s", &ctl]);
    r.wait_ready("start", |r| {
        r.query(false, "birdc", &["-s", &sock(r), "show", "status"])
            .is_ok_and(|o| o.contains("Daemon is up"))
    });
}

/// Rewrites the config from `r.config` and applies it with `birdc configure`.
pub(super) fn reconfigure(r: &mut Router) {
    r.write("bird.conf", &render(r));
    let out = r
        .query(false, "birdc", &["-s", &sock(r), "configure"])
        .unwrap_or_else(|e| panic!("birdc configure: {e}\n{}", r.logs()));
    assert!(
        out.contains("Reconfigur"),
        "birdc configure: {out}\n{}",
        r.logs()
    );
}

fn protocol_peer(r: &Router, name: &str) -> Option<IpAddr> {
    let i: usize = name.strip_prefix('n')?.parse().ok()?;
    r.config.neighbors.get(i).map(|n| n.addr)
}

pub(super) fn routes(r: &Router) -> Vec<Route> {
    let out = r
        .query(false, "birdc", &["-s", &sock(r), "show", "route", "all"])
        .unwrap_or_default();
    parse_routes(&out, |name| protocol_peer(r, name))
}

/// Parses `birdc show route all`: a line starting in column 0 opens a prefix and its
/// first path, a line starting with spaces opens another path of the same prefix, and
/// tab-indented lines are attributes of the current path. Only BGP paths are kept.
pub fn parse_routes(out: &str, peer_of: impl Fn(&str) -> Option<IpAddr>) -> Vec<Route> {
    struct BirdRoutePath {
        route: Route,
        bgp: bool,
    }
    let mut paths: Vec<BirdRoutePath> = Vec::new();
    let mut current = None;
    for line in out.lines() {
        if line.starts_with("BIRD ") || line.starts_with("Table ") || line.trim().is_empty() {
            continue;
        }
        if line.starts_with('\t') {
            let Some(p) = paths.last_mut() else { continue };
            let attr = line.trim();
            if attr.starts_with("Type: BGP") {
                p.bgp = true;
            } else if let Some(v) = attr.strip_prefix("BGP.as_path:") {
                p.route.as_path = v
                    .split_whitespace()
                    .filter_map(|a| a.trim_matches(['{', '}']).parse().ok())
                    .collect();
            } else if let Some(v) = attr.strip_prefix("BGP.next_hop:") {
                p.route.next_hop = v.split_whitespace().next().and_then(|a| a.parse().ok());
            }
            continue;
        }
        let mut words = line.split_whitespace();
        if !line.starts_with(' ') {
            current = words.next().and_then(|w| w.parse().ok());
        }
        let Some(pfx) = current else { continue };
        // "unicast [n0 12:00:00.000] * (100) [AS65002i]"
        let proto = line
            .split('[')
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .unwrap_or("");
        paths.push(BirdRoutePath {
            route: Route {
                prefix: pfx,
                next_hop: None,
                as_path: Vec::new(),
                best: line.contains("] * "),
                from: peer_of(proto),
            },
            bgp: false,
        });
    }
    paths
        .into_iter()
        .filter(|p| p.bgp)
        .map(|p| p.route)
        .collect()
}

pub(super) fn protocol_text(r: &Router, peer: IpAddr) -> String {
    let Some(i) = r.config.neighbors.iter().position(|n| n.addr == peer) else {
        return String::new();
    };
    r.query(
        false,
        "birdc",
        &["-s", &sock(r), "show", "protocols", "all", &format!("n{i}")],
    )
    .unwrap_or_default()
}

pub(super) fn session(r: &Router, peer: IpAddr) -> SessionState {
    let Some(i) = r.config.neighbors.iter().position(|n| n.addr == peer) else {
        return SessionState::Unknown;
    };
    let name = format!("n{i}");
    let out = r
        .query(
            false,
            "birdc",
            &["-s", &sock(r), "show", "protocols", "all", &name],
        )
        .unwrap_or_default();
    out.lines()
        .find_map(|l| l.trim().strip_prefix("BGP state:"))
        .map(SessionState::parse)
        .unwrap_or(SessionState::Unknown)
}

/// Parses `birdc show bfd sessions`: one line per session, "IP Interface State Since
/// Interval Timeout", the last two in seconds (Interval: the negotiated transmit
/// interval; Timeout: the detection time).
pub fn parse_bfd_sessions(out: &str) -> Vec<BfdView> {
    let secs_to_ms = |s: &str| s.parse::<f64>().ok().map(|v| (v * 1000.0).round() as u64);
    out.lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let peer: IpAddr = w.first()?.parse().ok()?;
            if w.len() < 6 {
                return None;
            }
            Some(BfdView {
                peer,
                state: w[2].to_ascii_lowercase(),
                tx_interval_ms: secs_to_ms(w[w.len() - 2])?,
                detect_ms: secs_to_ms(w[w.len() - 1]),
                remote_tx_ms: None,
                remote_rx_ms: None,
                remote_mult: None,
                diag: None,
                remote_diag: None,
            })
        })
        .collect()
}

pub(super) fn bfd_sessions(r: &Router) -> Vec<BfdView> {
    let out = r
        .query(false, "birdc", &["-s", &sock(r), "show", "bfd", "sessions"])
        .unwrap_or_default();
    parse_bfd_sessions(&out)
}

pub(super) fn bfd_shutdown(r: &mut Router, down: bool) {
    let verb = if down { "disable" } else { "enable" };
    let out = r
        .query(false, "birdc", &["-s", &sock(r), verb, "bfd1"])
        .unwrap_or_else(|e| panic!("birdc {verb} bfd1: {e}\n{}", r.logs()));
    assert!(
        out.contains(if down { "disabled" } else { "enabled" }),
        "birdc {verb}: {out}"
    );
}
