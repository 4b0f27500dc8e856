//! The local control socket: its wire format (one JSON request line, one JSON answer,
//! then close; `global rib` answers stream one JSON row per line between a header and a
//! trailer line, so a million routes are never held whole on either side), the data it
//! carries, and the CLI client that renders it as tables shaped like the `gobgp` CLI
//! kube-router users know, or as JSON (`-o json`).
//!
//! The daemon side only fills these structs from its state; it never formats tables.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Default socket path (`--ctl-socket`).
pub(crate) const DEFAULT_SOCKET: &str = "/run/kube-bgp/ctl.sock";

/// What the CLI asks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    Neighbor {
        addr: Option<String>,
    },
    Rib {
        family: Option<String>,
        prefix: Option<String>,
    },
    Status,
    /// `kube-bgp explain PREFIX|ADDR`.
    Explain {
        prefix: String,
    },
    /// `kube-bgp neighbor ADDR disable|enable|softreset`: changes state.
    NeighborAdmin {
        addr: String,
        action: AdminAction,
    },
}

/// An administrative action on one neighbor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verb", rename_all = "snake_case")]
pub enum AdminAction {
    Disable {
        #[serde(default)]
        message: Option<String>,
    },
    Enable,
    Softreset {
        inbound: bool,
        outbound: bool,
    },
}

impl AdminAction {
    /// The verb as logged and counted (`disable`, `enable`, `softreset-in`, …).
    pub(crate) fn verb(&self) -> &'static str {
        match self {
            AdminAction::Disable { .. } => "disable",
            AdminAction::Enable => "enable",
            AdminAction::Softreset {
                inbound: true,
                outbound: true,
            } => "softreset",
            AdminAction::Softreset { inbound: true, .. } => "softreset-in",
            AdminAction::Softreset { .. } => "softreset-out",
        }
    }
}

/// The daemon's answer to an admin action: what it did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AdminDone {
    pub(crate) neighbor: String,
    pub(crate) done: Vec<String>,
}

/// The daemon's answer (for a streamed answer: its first line).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Response {
    pub(crate) ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// Rows follow, one JSON value per line, until a [`StreamEnd`] line.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) stream: bool,
    #[serde(default)]
    pub(crate) data: serde_json::Value,
}

/// The last line of a streamed answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct StreamEnd {
    pub(crate) end: bool,
    pub(crate) rows: u64,
}

/// Longest line of a streamed answer the CLI accepts (one row).
const MAX_LINE: u64 = 1024 * 1024;

/// One row of `kube-bgp neighbor`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeighborRow {
    pub address: String,
    pub asn: u32,
    /// `internal` or `external`.
    #[serde(rename = "type")]
    pub peer_type: String,
    pub rr_client: bool,
    /// `node NAME`, `global` or `annotation`.
    pub source: String,
    /// RFC 4271 state name: Idle, Connect, Active, OpenSent, OpenConfirm, Established.
    pub state: String,
    /// Seconds in the current state (up time when Established).
    pub(crate) uptime_secs: u64,
    pub(crate) received: u64,
    pub accepted: u64,
    pub advertised: u64,
    /// Disabled by `kube-bgp neighbor ADDR disable` (shown as state `Idle(Admin)`).
    #[serde(default)]
    pub admin_down: bool,
    /// State of the BFD session protecting this peer (`Up`, `Down`, `Init`,
    /// `AdminDown`); empty without BFD.
    #[serde(default)]
    pub bfd: String,
}

/// The BFD session of a neighbour in `kube-bgp neighbor ADDR` (RFC 5880 terms).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeighborBfd {
    pub state: String,
    pub(crate) remote_state: String,
    /// `single-hop` or `multihop`.
    pub hop: String,
    pub(crate) local_address: String,
    pub port: u16,
    pub(crate) local_discriminator: u32,
    pub(crate) remote_discriminator: u32,
    /// Configured: desired min TX, required min RX (microseconds), multiplier.
    pub(crate) desired_min_tx_us: u64,
    pub(crate) required_min_rx_us: u64,
    pub(crate) detect_mult: u8,
    /// Negotiated: the interval we send at (max of our desired TX and the peer's
    /// required RX), the interval we expect the peer's packets at (max of our required
    /// RX and its desired TX), the peer's multiplier and the resulting detection time.
    /// `None` while the peer is not heard.
    pub tx_interval_us: Option<u64>,
    pub rx_interval_us: Option<u64>,
    pub remote_detect_mult: u8,
    pub detection_time_us: Option<u64>,
    /// The diagnostic we send (why our state last changed) and the peer's.
    pub(crate) local_diag: String,
    pub(crate) remote_diag: String,
    /// Seconds in the current state.
    pub(crate) since_secs: u64,
    /// Failures detected (detection time expired, or the peer said Down while Up).
    pub failures: u64,
    /// Times the peer went AdminDown (not failures).
    pub peer_admin_downs: u64,
}

/// `kube-bgp neighbor ADDR`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeighborDetail {
    #[serde(flatten)]
    pub row: NeighborRow,
    pub remote_port: u16,
    pub local_address: String,
    pub remote_router_id: String,
    pub hold_time: u16,
    pub keepalive: u16,
    pub families: Vec<String>,
    pub capabilities: Vec<String>,
    pub password: bool,
    pub ttl: Option<u8>,
    pub messages_sent: MessageCounters,
    pub messages_received: MessageCounters,
    pub established_transitions: u64,
    pub last_error: Option<String>,
    #[serde(default)]
    pub bfd_session: Option<NeighborBfd>,
    /// Disabled by `kube-bgp neighbor ADDR disable`: the message sent (may be empty).
    #[serde(default)]
    pub admin_down: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageCounters {
    pub(crate) open: u64,
    pub update: u64,
    pub(crate) notification: u64,
    pub(crate) keepalive: u64,
    pub refresh: u64,
}

/// One path of `kube-bgp global rib`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RibRow {
    pub prefix: String,
    pub next_hop: String,
    pub as_path: String,
    /// `i`, `e` or `?`.
    pub(crate) origin: String,
    pub best: bool,
    /// Peer address, or `local`.
    pub source: String,
    pub local_pref: Option<u32>,
    pub(crate) med: Option<u32>,
    pub communities: Vec<String>,
    pub stale: bool,
}

/// `kube-bgp status`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StatusInfo {
    pub(crate) version: String,
    pub(crate) node: String,
    pub(crate) router_id: String,
    pub(crate) asn: u32,
    /// e.g. `full-mesh`, `per-node-asn`, `route-reflector server 0.0.0.42`.
    pub(crate) mode: String,
    pub(crate) api: Vec<(String, String)>,
    pub(crate) peers_total: usize,
    pub(crate) peers_established: usize,
    pub(crate) rib_ipv4: usize,
    pub(crate) rib_ipv6: usize,
    pub(crate) kernel_routes: usize,
    /// While routes of an earlier run are kept at start: for how long at most.
    #[serde(default)]
    pub(crate) restart_hold: Option<String>,
    pub(crate) healthy: bool,
    pub(crate) problems: Vec<String>,
}

/// Sends one request to the daemon and returns its data, or a message for the user.
pub fn call(socket: &Path, req: &Request) -> Result<serde_json::Value, String> {
    let mut s = UnixStream::connect(socket).map_err(|e| {
        format!(
            "kube-bgp is not running or not reachable: cannot connect to {}: {e}",
            socket.display()
        )
    })?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(10)));
    let mut line = serde_json::to_vec(req).map_err(|e| e.to_string())?;
    line.push(b'\n');
    s.write_all(&line)
        .map_err(|e| format!("writing to {}: {e}", socket.display()))?;
    let mut buf = Vec::new();
    s.take(64 * 1024 * 1024)
        .read_to_end(&mut buf)
        .map_err(|e| format!("reading from {}: {e}", socket.display()))?;
    let resp: Response =
        serde_json::from_slice(&buf).map_err(|e| format!("bad answer from the daemon: {e}"))?;
    if resp.ok {
        Ok(resp.data)
    } else {
        Err(resp
            .error
            .unwrap_or_else(|| "the daemon refused the request".into()))
    }
}

/// Sends one request whose answer is streamed (`global rib`) and hands each row to
/// `row` as it arrives; returns the number of rows. Memory stays one line, whatever the
/// size of the table.
pub fn call_rows<T: serde::de::DeserializeOwned>(
    socket: &Path,
    req: &Request,
    row: &mut dyn FnMut(T) -> Result<(), String>,
) -> Result<u64, String> {
    call_lines(socket, req, &mut |line: &[u8]| {
        let v: T =
            serde_json::from_slice(line).map_err(|e| format!("bad row from the daemon: {e}"))?;
        row(v)
    })
}

/// `call_rows` handing each row over as its JSON text (one line, no newline), unparsed.
pub fn call_lines(
    socket: &Path,
    req: &Request,
    row: &mut dyn FnMut(&[u8]) -> Result<(), String>,
) -> Result<u64, String> {
    let mut s = UnixStream::connect(socket).map_err(|e| {
        format!(
            "kube-bgp is not running or not reachable: cannot connect to {}: {e}",
            socket.display()
        )
    })?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(10)));
    let mut line = serde_json::to_vec(req).map_err(|e| e.to_string())?;
    line.push(b'\n');
    s.write_all(&line)
        .map_err(|e| format!("writing to {}: {e}", socket.display()))?;
    let mut r = BufReader::new(s);
    let mut buf = Vec::new();
    let mut next_line = |buf: &mut Vec<u8>| -> Result<bool, String> {
        buf.clear();
        let n = (&mut r)
            .take(MAX_LINE)
            .read_until(b'\n', buf)
            .map_err(|e| format!("reading from {}: {e}", socket.display()))?;
        Ok(n > 0)
    };
    if !next_line(&mut buf)? {
        return Err("the daemon closed the connection without answering".into());
    }
    let head: Response =
        serde_json::from_slice(&buf).map_err(|e| format!("bad answer from the daemon: {e}"))?;
    if !head.ok {
        return Err(head
            .error
            .unwrap_or_else(|| "the daemon refused the request".into()));
    }
    if !head.stream {
        return Err("the daemon answered without the expected rows".into());
    }
    let mut count = 0;
    loop {
        if !next_line(&mut buf)? {
            return Err(format!(
                "the answer ended after {count} rows without its last line (daemon stopped?)"
            ));
        }
        if buf.starts_with(b"{\"end\"") {
            if let Ok(end) = serde_json::from_slice::<StreamEnd>(&buf) {
                if end.end {
                    return Ok(count);
                }
            }
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
        row(&buf)?;
        count += 1;
    }
}

/// Formats seconds as gobgp does: `HH:MM:SS`, or `Nd HH:MM:SS`.
pub(crate) fn duration(secs: u64) -> String {
    let (d, h, m, s) = (
        secs / 86400,
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60,
    );
    if d > 0 {
        format!("{d}d {h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

/// gobgp's short state names in the neighbor table.
fn short_state(s: &str) -> &str {
    match s {
        "Established" => "Establ",
        "OpenConfirm" => "OpenConf",
        other => other,
    }
}

pub(crate) fn render_neighbors(rows: &[NeighborRow]) -> String {
    let mut out = format!(
        "{:<40} {:>10} {:<8} {:<3} {:>10} {:<9} {:<9} |{:>9} {:>9} {:>10}\n",
        "Peer",
        "AS",
        "Type",
        "RR",
        "Up/Down",
        "State",
        "BFD",
        "#Received",
        "Accepted",
        "Advertised"
    );
    for r in rows {
        out.push_str(&format!(
            "{:<40} {:>10} {:<8} {:<3} {:>10} {:<9} {:<9} |{:>9} {:>9} {:>10}\n",
            r.address,
            r.asn,
            r.peer_type,
            if r.rr_client { "C" } else { "" },
            duration(r.uptime_secs),
            if r.admin_down {
                "Idle(Admin)"
            } else {
                short_state(&r.state)
            },
            if r.bfd.is_empty() { "-" } else { &r.bfd },
            r.received,
            r.accepted,
            r.advertised
        ));
    }
    out
}

pub(crate) fn render_neighbor_detail(d: &NeighborDetail) -> String {
    let r = &d.row;
    let mut o = String::new();
    o.push_str(&format!(
        "BGP neighbor is {}, remote AS {} ({})\n",
        r.address, r.asn, r.peer_type
    ));
    o.push_str(&format!("  Source: {}\n", r.source));
    o.push_str(&format!(
        "  BGP version 4, remote router ID {}\n",
        d.remote_router_id
    ));
    o.push_str(&format!(
        "  BGP state = {}, up for {}\n",
        r.state,
        duration(r.uptime_secs)
    ));
    o.push_str(&format!(
        "  Local address {}, remote port {}, TTL {}, TCP-MD5 {}\n",
        d.local_address,
        d.remote_port,
        d.ttl
            .map(|t| t.to_string())
            .unwrap_or_else(|| "default".into()),
        if d.password { "on" } else { "off" }
    ));
    o.push_str(&format!(
        "  Route reflector client: {}\n",
        if r.rr_client { "yes" } else { "no" }
    ));
    o.push_str(&format!(
        "  Hold time is {}, keepalive interval is {} seconds\n",
        d.hold_time, d.keepalive
    ));
    o.push_str("  Neighbor capabilities:\n");
    for c in &d.capabilities {
        o.push_str(&format!("    {c}\n"));
    }
    o.push_str(&format!("  Address families: {}\n", d.families.join(", ")));
    o.push_str("  Message statistics:\n");
    o.push_str(&format!("  {:<16}{:>10}{:>10}\n", "", "Sent", "Rcvd"));
    let (s, rc) = (&d.messages_sent, &d.messages_received);
    for (name, a, b) in [
        ("Opens:", s.open, rc.open),
        ("Notifications:", s.notification, rc.notification),
        ("Updates:", s.update, rc.update),
        ("Keepalives:", s.keepalive, rc.keepalive),
        ("Route Refresh:", s.refresh, rc.refresh),
    ] {
        o.push_str(&format!("    {name:<14}{a:>10}{b:>10}\n"));
    }
    o.push_str("  Route statistics:\n");
    o.push_str(&format!("    Advertised:  {:>10}\n", r.advertised));
    o.push_str(&format!("    Received:    {:>10}\n", r.received));
    o.push_str(&format!("    Accepted:    {:>10}\n", r.accepted));
    o.push_str(&format!(
        "  Established transitions: {}\n",
        d.established_transitions
    ));
    if let Some(e) = &d.last_error {
        o.push_str(&format!("  Last error: {e}\n"));
    }
    if let Some(m) = &d.admin_down {
        if m.is_empty() {
            o.push_str("  Administratively disabled (kube-bgp neighbor ADDR enable)\n");
        } else {
            o.push_str(&format!(
                "  Administratively disabled: \"{m}\" (kube-bgp neighbor ADDR enable)\n"
            ));
        }
    }
    if let Some(b) = &d.bfd_session {
        o.push_str(&render_neighbor_bfd(b));
    }
    o
}

/// Microseconds as milliseconds ("150 ms", "0.5 ms"), or "-".
fn ms_text(us: Option<u64>) -> String {
    match us {
        None => "-".into(),
        Some(us) if us % 1000 == 0 => format!("{} ms", us / 1000),
        Some(us) => format!("{} ms", us as f64 / 1000.0),
    }
}

fn render_neighbor_bfd(b: &NeighborBfd) -> String {
    let mut o = String::new();
    o.push_str(&format!(
        "  BFD state = {}, for {}, remote state {}; {} from {} to port {}\n",
        b.state,
        duration(b.since_secs),
        b.remote_state,
        b.hop,
        b.local_address,
        b.port
    ));
    o.push_str(&format!(
        "    Discriminators: local {}, remote {}\n",
        b.local_discriminator, b.remote_discriminator
    ));
    o.push_str(&format!(
        "    Configured: desired min TX {}, required min RX {}, multiplier {}\n",
        ms_text(Some(b.desired_min_tx_us)),
        ms_text(Some(b.required_min_rx_us)),
        b.detect_mult
    ));
    o.push_str(&format!(
        "    Negotiated: TX interval {}, RX interval {}, remote multiplier {}, detection time {}\n",
        ms_text(b.tx_interval_us),
        ms_text(b.rx_interval_us),
        b.remote_detect_mult,
        ms_text(b.detection_time_us)
    ));
    o.push_str(&format!(
        "    Diagnostic: local {}, remote {}\n",
        b.local_diag, b.remote_diag
    ));
    o.push_str(&format!(
        "    Failures detected: {}, peer AdminDown: {}\n",
        b.failures, b.peer_admin_downs
    ));
    o
}

pub(crate) fn render_rib(rows: &[RibRow]) -> String {
    let mut out = rib_header();
    for r in rows {
        out.push_str(&rib_line(r));
    }
    out
}

/// The header line of the `global rib` table.
pub fn rib_header() -> String {
    format!(
        "   {:<43} {:<39} {:<20} {}\n",
        "Network", "Next Hop", "AS_PATH", "Attrs"
    )
}

/// One line of the `global rib` table.
pub fn rib_line(r: &RibRow) -> String {
    {
        let mut attrs = vec![format!("{{Origin: {}}}", r.origin)];
        if let Some(lp) = r.local_pref {
            attrs.push(format!("{{LocalPref: {lp}}}"));
        }
        if let Some(m) = r.med {
            attrs.push(format!("{{Med: {m}}}"));
        }
        if !r.communities.is_empty() {
            attrs.push(format!("{{Communities: {}}}", r.communities.join(", ")));
        }
        if r.source != "local" {
            attrs.push(format!("{{From: {}}}", r.source));
        }
        if r.stale {
            attrs.push("{Stale}".into());
        }
        format!(
            "{}  {:<43} {:<39} {:<20} [{}]\n",
            if r.best { "*>" } else { "* " },
            r.prefix,
            r.next_hop,
            r.as_path,
            attrs.join(" ")
        )
    }
}

pub(crate) fn render_status(s: &StatusInfo) -> String {
    let mut o = String::new();
    o.push_str(&format!("kube-bgp {}\n", s.version));
    o.push_str(&format!("Node:        {}\n", s.node));
    o.push_str(&format!("Router ID:   {}\n", s.router_id));
    o.push_str(&format!("Local AS:    {}\n", s.asn));
    o.push_str(&format!("Mode:        {}\n", s.mode));
    o.push_str(&format!(
        "Peers:       {} established of {}\n",
        s.peers_established, s.peers_total
    ));
    o.push_str(&format!(
        "RIB:         {} IPv4, {} IPv6 prefixes\n",
        s.rib_ipv4, s.rib_ipv6
    ));
    o.push_str(&format!(
        "Kernel:      {} routes installed\n",
        s.kernel_routes
    ));
    if let Some(h) = &s.restart_hold {
        o.push_str(&format!("Restart:     {h}\n"));
    }
    for (k, v) in &s.api {
        o.push_str(&format!("API {k:<9} {v}\n"));
    }
    o.push_str(&format!(
        "Health:      {}\n",
        if s.healthy { "healthy" } else { "UNHEALTHY" }
    ));
    if !s.problems.is_empty() {
        o.push_str("Problems:\n");
        for p in &s.problems {
            o.push_str(&format!("  {p}\n"));
        }
    }
    o
}

/// Renders a ctl answer for the terminal (the CLI side).
pub fn render(req: &Request, data: &serde_json::Value, json: bool) -> Result<String, String> {
    if json {
        return serde_json::to_string_pretty(data)
            .map(|s| s + "\n")
            .map_err(|e| e.to_string());
    }
    let bad = |e: serde_json::Error| format!("unexpected answer from the daemon: {e}");
    Ok(match req {
        Request::Neighbor { addr: None } => {
            let rows: Vec<NeighborRow> = serde_json::from_value(data.clone()).map_err(bad)?;
            render_neighbors(&rows)
        }
        Request::Neighbor { addr: Some(_) } => {
            let d: NeighborDetail = serde_json::from_value(data.clone()).map_err(bad)?;
            render_neighbor_detail(&d)
        }
        Request::Rib { .. } => {
            let rows: Vec<RibRow> = serde_json::from_value(data.clone()).map_err(bad)?;
            render_rib(&rows)
        }
        Request::Status => {
            let s: StatusInfo = serde_json::from_value(data.clone()).map_err(bad)?;
            render_status(&s)
        }
        Request::Explain { .. } => {
            let r: super::explain::ExplainReport =
                serde_json::from_value(data.clone()).map_err(bad)?;
            super::explain::render_explain(&r)
        }
        Request::NeighborAdmin { .. } => {
            let r: AdminDone = serde_json::from_value(data.clone()).map_err(bad)?;
            r.done.iter().map(|l| format!("{l}\n")).collect()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_wire_format() {
        let r = Request::Rib {
            family: Some("ipv6".into()),
            prefix: None,
        };
        let s = serde_json::to_string(&r).unwrap();
        assert_eq!(s, r#"{"cmd":"rib","family":"ipv6","prefix":null}"#);
        assert_eq!(serde_json::from_str::<Request>(&s).unwrap(), r);
    }

    #[test]
    fn tables() {
        assert_eq!(duration(3725), "01:02:05");
        assert_eq!(duration(90061), "1d 01:01:01");
        let t = render_neighbors(&[NeighborRow {
            address: "10.0.0.2".into(),
            asn: 64512,
            peer_type: "internal".into(),
            state: "Established".into(),
            received: 1,
            accepted: 1,
            ..Default::default()
        }]);
        assert!(t.contains("10.0.0.2") && t.contains("Establ"));
        let d = render_neighbor_detail(&NeighborDetail {
            bfd_session: Some(NeighborBfd {
                state: "Up".into(),
                hop: "single-hop".into(),
                tx_interval_us: Some(150_000),
                rx_interval_us: Some(120_000),
                remote_detect_mult: 3,
                detection_time_us: Some(360_000),
                ..Default::default()
            }),
            ..Default::default()
        });
        assert!(
            d.contains(
                "TX interval 150 ms, RX interval 120 ms, remote multiplier 3, detection time 360 ms"
            ),
            "{d}"
        );
        let r = render_rib(&[RibRow {
            prefix: "10.244.2.0/24".into(),
            next_hop: "10.0.0.2".into(),
            origin: "i".into(),
            best: true,
            source: "10.0.0.2".into(),
            ..Default::default()
        }]);
        assert!(r.lines().nth(1).unwrap().starts_with("*>  10.244.2.0/24"));
    }

    #[test]
    fn call_without_daemon_is_a_clear_error() {
        let e = call(Path::new("/nonexistent/kube-bgp.sock"), &Request::Status).unwrap_err();
        assert!(e.contains("not running"), "{e}");
    }
}
