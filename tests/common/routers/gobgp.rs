//! GoBGP (gobgpd 3.x) behind [`Router`]: TOML config, queries through the `gobgp` CLI
//! (run inside the namespace: the API listens on its loopback), prefixes added and
//! removed through the API (the TOML has no static routes).

use std::net::IpAddr;

use kube_bgp::prefix::Prefix;
use serde_json::Value;

use super::{Route, Router, SessionState};

fn render(r: &Router) -> String {
    let c = &r.config;
    let mut s = String::new();
    s += "[global.config]\n";
    s += &format!(
        "  as = {}\n  router-id = \"{}\"\n  port = {}\n",
        c.asn, c.router_id, c.port
    );
    if let Some(l) = c.listen {
        s += &format!("  local-address-list = [\"{l}\"]\n");
    }
    for n in &c.neighbors {
        s += "[[neighbors]]\n  [neighbors.config]\n";
        s += &format!(
            "    neighbor-address = \"{}\"\n    peer-as = {}\n",
            n.addr, n.asn
        );
        if let Some(p) = &n.password {
            s += &format!("    auth-password = \"{p}\"\n");
        }
        s += "  [neighbors.timers.config]\n";
        s += &format!(
            "    hold-time = {}\n    keepalive-interval = {}\n    connect-retry = {}\n",
            c.hold_time,
            c.keepalive(),
            c.connect_retry
        );
        s += "  [neighbors.transport.config]\n";
        s += &format!("    passive-mode = {}\n", n.passive);
        if let Some(l) = c.listen {
            s += &format!("    local-address = \"{l}\"\n");
        }
        if let Some(ttl) = n.multihop {
            s += "  [neighbors.ebgp-multihop.config]\n";
            s += &format!("    enabled = true\n    multihop-ttl = {ttl}\n");
        }
        if n.rr_client {
            s += "  [neighbors.route-reflector.config]\n";
            s += &format!(
                "    route-reflector-client = true\n    route-reflector-cluster-id = \"{}\"\n",
                c.router_id
            );
        }
        if n.graceful_restart {
            s += "  [neighbors.graceful-restart.config]\n    enabled = true\n    restart-time = 120\n";
        }
        for (on, name) in [(n.v4, "ipv4-unicast"), (n.v6, "ipv6-unicast")] {
            if !on {
                continue;
            }
            s += "  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n";
            s += &format!("      afi-safi-name = \"{name}\"\n");
            if n.graceful_restart {
                s += "    [neighbors.afi-safis.mp-graceful-restart.config]\n      enabled = true\n";
            }
        }
    }
    s
}

pub(super) fn cli(r: &Router, args: &[&str]) -> Result<String, String> {
    let port = r.api_port.to_string();
    let mut all = vec!["-u", "127.0.0.1", "-p", &port];
    all.extend_from_slice(args);
    r.query(true, "gobgp", &all)
}

pub(super) fn start(r: &mut Router) {
    let conf = r.write("gobgpd.toml", &render(r)).display().to_string();
    let api = format!("127.0.0.1:{}", r.api_port);
    r.spawn(
        "gobgpd",
        "gobgpd",
        &[
            "-f",
            &conf,
            "-t",
            "toml",
            "--api-hosts",
            &api,
            "--pprof-disable",
        ],
    );
    r.wait_ready("start", |r| cli(r, &["global"]).is_ok());
    for p in r.config.prefixes.clone() {
        announce(r, p, true);
    }
}

pub(super) fn announce(r: &mut Router, p: Prefix, add: bool) {
    let afi = if p.addr().is_ipv6() { "ipv6" } else { "ipv4" };
    let ps = p.to_string();
    let verb = if add { "add" } else { "del" };
    if let Err(e) = cli(r, &["global", "rib", verb, "-a", afi, &ps]) {
        panic!("gobgp global rib {verb} {ps}: {e}\n{}", r.logs());
    }
}

pub(super) fn routes(r: &Router) -> Vec<Route> {
    let mut all = Vec::new();
    for afi in ["ipv4", "ipv6"] {
        let out = cli(r, &["global", "rib", "-a", afi, "-j"]).unwrap_or_default();
        all.extend(parse_routes(&out));
    }
    all
}

/// Parses `gobgp global rib -j`: `{prefix: [path, ...]}`; a path received from a peer
/// has "neighbor-ip"; AS_PATH is attribute type 2, next hop type 3 or MP_REACH (14).
pub fn parse_routes(json: &str) -> Vec<Route> {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(json) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (pfx, paths) in &map {
        let Ok(pfx) = pfx.parse() else { continue };
        for path in paths.as_array().into_iter().flatten() {
            let Some(from) = path
                .get("neighbor-ip")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok())
            else {
                continue;
            };
            let mut route = Route {
                prefix: pfx,
                next_hop: None,
                as_path: Vec::new(),
                best: path.get("best").and_then(Value::as_bool).unwrap_or(false),
                from: Some(from),
            };
            for attr in path
                .get("attrs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                match attr.get("type").and_then(Value::as_u64) {
                    Some(2) => {
                        for seg in attr
                            .get("as_paths")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                        {
                            for asn in seg
                                .get("asns")
                                .and_then(Value::as_array)
                                .into_iter()
                                .flatten()
                            {
                                if let Some(a) = asn.as_u64().and_then(|a| u32::try_from(a).ok()) {
                                    route.as_path.push(a);
                                }
                            }
                        }
                    }
                    Some(3) | Some(14) => {
                        route.next_hop = attr
                            .get("nexthop")
                            .and_then(Value::as_str)
                            .and_then(|s| s.parse().ok());
                    }
                    _ => {}
                }
            }
            out.push(route);
        }
    }
    out
}

pub(super) fn session(r: &Router, peer: IpAddr) -> SessionState {
    let out = cli(r, &["neighbor", "-j"]).unwrap_or_default();
    parse_session(&out, peer)
}

/// Finds `peer` in `gobgp neighbor -j` and maps its numeric `session_state`.
pub fn parse_session(json: &str, peer: IpAddr) -> SessionState {
    let Ok(Value::Array(peers)) = serde_json::from_str::<Value>(json) else {
        return SessionState::Unknown;
    };
    let Some(p) = peers.iter().find(|p| {
        p.pointer("/conf/neighbor_address")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<IpAddr>().ok())
            == Some(peer)
    }) else {
        return SessionState::Unknown;
    };
    match p.pointer("/state/session_state").and_then(Value::as_u64) {
        Some(1) => SessionState::Idle,
        Some(2) => SessionState::Connect,
        Some(3) => SessionState::Active,
        Some(4) => SessionState::OpenSent,
        Some(5) => SessionState::OpenConfirm,
        Some(6) => SessionState::Established,
        _ => SessionState::Unknown,
    }
}

/// Communities of the path for `p` received from `from` (`gobgp global rib -j`,
/// attribute type 8, each 32-bit value shown as `high:low`); None without such a path.
pub(super) fn communities(r: &Router, p: Prefix, from: IpAddr) -> Option<Vec<String>> {
    let afi = if p.addr().is_ipv6() { "ipv6" } else { "ipv4" };
    let out = cli(r, &["global", "rib", "-a", afi, "-j"]).unwrap_or_default();
    parse_communities(&out, p, from)
}

/// See [`communities`].
pub fn parse_communities(json: &str, p: Prefix, from: IpAddr) -> Option<Vec<String>> {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(json) else {
        return None;
    };
    let (_, paths) = map
        .iter()
        .find(|(k, _)| k.parse::<Prefix>().ok() == Some(p))?;
    let path = paths.as_array()?.iter().find(|x| {
        x.get("neighbor-ip")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<IpAddr>().ok())
            == Some(from)
    })?;
    let mut out = Vec::new();
    for attr in path
        .get("attrs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if attr.get("type").and_then(Value::as_u64) != Some(8) {
            continue;
        }
        for c in attr
            .get("communities")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(c) = c.as_u64() {
                out.push(format!("{}:{}", c >> 16, c & 0xFFFF));
            }
        }
    }
    Some(out)
}
