//! What the daemon shows: answers on the control socket (`kube-bgp neighbor`, `global
//! rib`, `status`, `explain`) and the HTTP endpoints (`/healthz`, and `/metrics`
//! rendered by `daemon::metrics`). `neighbor` and `status` render the node's status
//! model (`daemon::status`); `global rib` lists the Loc-RIB part by part through
//! `Daemon::loc_rib_reader`, `explain` asks `daemon::explain`, `/healthz` asks
//! `Daemon::healthy`: queries, not copies. Nothing here changes state (admin verbs are
//! `daemon::admin`'s). Never shows a password. The CLI side renders the answers
//! (`ops::ctl::render`).

use std::net::IpAddr;
use std::time::Instant;

use crate::bgp::fsm::State;
use crate::bgp::types::Attrs;
use crate::cluster::peers::PeerKind;
use crate::kube::snapshot::SyncState;
use crate::ops::ctl::{self, NeighborDetail, NeighborRow, Request, Response, RibRow, StatusInfo};
use crate::ops::http;
use crate::ops::serve::Responder;
use crate::prefix::{Afi, Prefix};

use super::Daemon;
use super::status::{AgentStatus, BfdStatus, RibCounting, SessionStatus};

pub(super) fn state_name(s: State) -> &'static str {
    match s {
        State::Idle => "Idle",
        State::Connect => "Connect",
        State::Active => "Active",
        State::OpenSent => "OpenSent",
        State::OpenConfirm => "OpenConfirm",
        State::Established => "Established",
    }
}

fn source_name(k: &PeerKind) -> String {
    match k {
        PeerKind::Node { name } => format!("node {name}"),
        PeerKind::Global => "global".into(),
        PeerKind::NodeAnnotation => "annotation".into(),
    }
}

/// One row of `kube-bgp neighbor` (and the labels of `kube_router_bgp_peer_info`).
pub(super) fn neighbor_row(st: &AgentStatus, p: &SessionStatus) -> NeighborRow {
    NeighborRow {
        address: p.addr.to_string(),
        asn: p.remote_asn,
        peer_type: if p.remote_asn == p.local_asn {
            "internal".into()
        } else {
            "external".into()
        },
        rr_client: p.rr_client,
        source: source_name(&p.kind),
        state: state_name(p.state).into(),
        uptime_secs: p.in_state_for.map(|t| t.as_secs()).unwrap_or(0),
        received: p.received,
        accepted: p.accepted,
        advertised: p.advertised,
        bfd: st
            .bfd
            .get(&p.addr)
            .map(|b| b.state.name().to_string())
            .unwrap_or_default(),
        admin_down: p.admin_down.is_some(),
    }
}

fn us(v: std::time::Duration) -> u64 {
    u64::try_from(v.as_micros()).unwrap_or(u64::MAX)
}

/// The BFD session protecting a peer, as `kube-bgp neighbor ADDR` shows it.
fn bfd_detail(b: &BfdStatus) -> ctl::NeighborBfd {
    let detection = b.detection_time;
    let mult = b.remote_detect_mult;
    ctl::NeighborBfd {
        state: b.state.name().into(),
        remote_state: b.remote_state.name().into(),
        hop: b.hop.name().into(),
        local_address: b.local.to_string(),
        port: b.port,
        local_discriminator: b.local_discr,
        remote_discriminator: b.remote_discr,
        desired_min_tx_us: us(b.timers.desired_min_tx),
        required_min_rx_us: us(b.timers.required_min_rx),
        detect_mult: b.timers.detect_mult,
        tx_interval_us: b.tx_interval.filter(|_| b.remote_discr != 0).map(us),
        rx_interval_us: detection
            .filter(|_| mult > 0)
            .map(|t| us(t / u32::from(mult))),
        remote_detect_mult: mult,
        detection_time_us: detection.map(us),
        local_diag: b.local_diag.to_string(),
        remote_diag: b.remote_diag.to_string(),
        since_secs: b.in_state_for.as_secs(),
        failures: b.detection_expired + b.peer_down,
        peer_admin_downs: b.peer_admin_down,
    }
}

/// `kube-bgp neighbor ADDR`.
fn detail(st: &AgentStatus, p: &SessionStatus) -> NeighborDetail {
    let neg = p.negotiated.as_ref();
    let mut caps = Vec::new();
    if let Some(n) = neg {
        caps.push(if n.four_octet_as {
            "4-octet AS: negotiated".to_string()
        } else {
            "4-octet AS: not supported by the peer".to_string()
        });
        caps.push(format!(
            "route refresh: {}",
            if n.route_refresh { "negotiated" } else { "no" }
        ));
        for f in &n.families {
            caps.push(format!("multiprotocol: {}", f.name()));
        }
        match &n.peer_gr {
            Some(g) => caps.push(format!(
                "graceful restart: peer restart time {}s{}{}",
                g.restart_time,
                if g.restart_state { ", restarting" } else { "" },
                if n.local_gr_advertised {
                    ""
                } else {
                    " (not enabled locally)"
                }
            )),
            None => caps.push("graceful restart: not advertised by the peer".into()),
        }
    }
    NeighborDetail {
        row: neighbor_row(st, p),
        remote_port: p.port,
        local_address: p.local_addr.map(|a| a.to_string()).unwrap_or_default(),
        remote_router_id: neg
            .map(|n| n.remote_router_id.to_string())
            .unwrap_or_default(),
        hold_time: neg.map(|n| n.hold_time).unwrap_or(p.hold_time),
        keepalive: neg.map(|n| n.keepalive).unwrap_or(p.hold_time / 3),
        families: neg
            .map(|n| &n.families)
            .unwrap_or(&p.families)
            .iter()
            .map(|f| f.name().to_string())
            .collect(),
        capabilities: caps,
        password: p.password,
        ttl: p.ttl,
        messages_sent: p.sent.clone(),
        messages_received: p.received_msgs.clone(),
        established_transitions: p.established_transitions,
        last_error: p.last_error.clone(),
        bfd_session: st.bfd.get(&p.addr).map(bfd_detail),
        admin_down: p.admin_down.clone(),
    }
}

fn communities(a: &Attrs) -> Vec<String> {
    a.communities
        .iter()
        .map(|c| format!("{}:{}", c >> 16, c & 0xffff))
        .collect()
}

/// Which prefixes `global rib` shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RibQuery {
    All(Option<Afi>),
    Exact(Prefix),
    /// The longest prefix containing the address.
    Lookup(IpAddr),
}

/// Prefixes one part of a streamed `global rib` answer carries at most.
const RIB_ROWS_PER_PART: u32 = 2048;
/// Table ids one part looks at while collecting the prefixes to show.
const RIB_IDS_PER_PART: u32 = 64 * 1024;

/// Where a streamed `global rib` answer stands. A full listing first collects the
/// prefixes part by part (a slice of the table's ids each, sorted into a run), then
/// merges the runs in prefix order, `RIB_ROWS_PER_PART` per part: every part is a
/// bounded piece of work, and the rows are looked up only when they go out (a prefix
/// withdrawn meanwhile simply has none).
#[derive(Debug)]
pub(crate) struct RibCursor {
    query: RibQuery,
    /// Next table id to collect, and where collecting ends.
    next_id: u32,
    id_end: u32,
    /// Sorted runs of collected prefixes, and the merge front: (prefix, run, position).
    runs: Vec<Vec<Prefix>>,
    front: std::collections::BinaryHeap<std::cmp::Reverse<(Prefix, usize, usize)>>,
    last: Option<Prefix>,
    rows: u64,
}

impl RibCursor {
    fn new(d: &Daemon, query: RibQuery) -> RibCursor {
        let id_end = match query {
            RibQuery::All(_) => d.loc_rib_reader().map_or(0, |r| r.rib.loc_rib_ids()),
            _ => 0,
        };
        RibCursor {
            query,
            next_id: 0,
            id_end,
            runs: Vec::new(),
            front: std::collections::BinaryHeap::new(),
            last: None,
            rows: 0,
        }
    }
}

/// The rows of one prefix (best first).
fn prefix_rows(d: &Daemon, p: &Prefix, out: &mut Vec<RibRow>) {
    let Some(r) = d.loc_rib_reader() else {
        return;
    };
    for (i, path) in r.rib.paths(p).iter().enumerate() {
        let Some(a) = path.accepted() else {
            continue;
        };
        let source = match path.peer().and_then(|id| r.source(id)) {
            Some(addr) => addr.to_string(),
            None => "local".into(),
        };
        out.push(RibRow {
            prefix: p.to_string(),
            next_hop: a
                .next_hop_for(p.afi())
                .map(|n| n.to_string())
                .unwrap_or_else(|| "0.0.0.0".into()),
            as_path: a.as_path.to_string(),
            origin: a.origin.letter().into(),
            best: i == 0,
            source,
            local_pref: a.local_pref,
            med: a.med,
            communities: communities(a),
            stale: path.is_stale(),
        });
    }
}

/// The prefixes of an exact or longest-match query.
fn lookup(d: &Daemon, q: RibQuery) -> Vec<Prefix> {
    let Some(r) = d.loc_rib_reader() else {
        return Vec::new();
    };
    let all = r.prefixes();
    match q {
        RibQuery::Exact(x) => all.filter(|p| *p == x).collect(),
        RibQuery::Lookup(ip) => all
            .filter(|p| p.contains_addr(&ip))
            .max_by_key(|p| p.len())
            .into_iter()
            .collect(),
        RibQuery::All(_) => Vec::new(),
    }
}

/// Collects one slice of table ids into a sorted run; true when collecting is over.
fn collect_part(d: &Daemon, c: &mut RibCursor) -> bool {
    let RibQuery::All(family) = c.query else {
        return true;
    };
    if c.next_id >= c.id_end {
        return true;
    }
    let end = c.id_end.min(c.next_id.saturating_add(RIB_IDS_PER_PART));
    if let Some(r) = d.loc_rib_reader() {
        let mut run: Vec<Prefix> = r
            .rib
            .loc_rib_range(c.next_id..end)
            .map(|(p, _)| p)
            .filter(|p| family.is_none_or(|f| p.afi() == f))
            .collect();
        run.sort_unstable();
        if let Some(first) = run.first() {
            c.front.push(std::cmp::Reverse((*first, c.runs.len(), 0)));
            c.runs.push(run);
        }
    }
    c.next_id = end;
    c.next_id >= c.id_end
}

/// The next prefixes in order from the merged runs, at most `max`.
fn merge_part(c: &mut RibCursor, max: u32) -> Vec<Prefix> {
    let mut out = Vec::new();
    while out.len() < max as usize {
        let Some(std::cmp::Reverse((p, run, pos))) = c.front.pop() else {
            break;
        };
        match c.runs[run].get(pos + 1) {
            Some(next) => c.front.push(std::cmp::Reverse((*next, run, pos + 1))),
            // An exhausted run's memory goes at once.
            None => c.runs[run] = Vec::new(),
        }
        // An entry re-used under another id while collecting may show twice.
        if c.last != Some(p) {
            out.push(p);
            c.last = Some(p);
        }
    }
    out
}

/// Appends the next part of a streamed `global rib` answer (one JSON row per line);
/// false after the last part, which ends with the trailer line.
fn rib_part(d: &Daemon, c: &mut RibCursor, out: &mut Vec<u8>) -> bool {
    let (prefixes, last) = match c.query {
        RibQuery::All(_) => {
            if !collect_part(d, c) {
                return true;
            }
            let ps = merge_part(c, RIB_ROWS_PER_PART);
            let last = c.front.is_empty();
            (ps, last)
        }
        q => (lookup(d, q), true),
    };
    let mut rows = Vec::new();
    for p in &prefixes {
        prefix_rows(d, p, &mut rows);
    }
    for r in &rows {
        if serde_json::to_writer(&mut *out, r).is_ok() {
            out.push(b'\n');
        }
    }
    c.rows += rows.len() as u64;
    if last {
        let end = ctl::StreamEnd {
            end: true,
            rows: c.rows,
        };
        if serde_json::to_writer(&mut *out, &end).is_ok() {
            out.push(b'\n');
        }
    }
    !last
}

/// `kube-bgp status` (and the API states and Loc-RIB counts `/metrics` shows).
pub(super) fn status_info(st: &AgentStatus) -> StatusInfo {
    let peers_established = st
        .sessions
        .iter()
        .filter(|p| p.state == State::Established)
        .count();
    let rib = st.loc_rib.unwrap_or_default();
    let me = st.identity.as_ref();
    let mode = match me {
        None => "not running (see problems)".to_string(),
        Some(m) => {
            let base = if st.full_mesh {
                "full-mesh"
            } else {
                "per-node-asn"
            };
            match (m.rr_server, m.rr_client) {
                (Some(c), _) => format!("{base}, route-reflector server (cluster {c})"),
                (None, Some(c)) => format!("{base}, route-reflector client (cluster {c})"),
                _ => base.to_string(),
            }
        }
    };
    let api = st
        .api
        .watches
        .iter()
        .map(|(k, state)| {
            let s = match state {
                None => "not listed yet".to_string(),
                Some(SyncState::Synced) => "synced".to_string(),
                Some(SyncState::Relisting) => "relisting".to_string(),
                Some(SyncState::Unreachable { error }) => format!("unreachable: {error}"),
            };
            (k.name().to_string(), s)
        })
        .collect();
    StatusInfo {
        version: env!("CARGO_PKG_VERSION").into(),
        node: st.node.clone(),
        router_id: me.map(|m| m.router_id.to_string()).unwrap_or_default(),
        asn: me.map(|m| m.local_asn).unwrap_or(0),
        mode,
        api,
        peers_total: st.sessions.len(),
        peers_established,
        rib_ipv4: rib.ipv4,
        rib_ipv6: rib.ipv6,
        kernel_routes: st.kernel.installed,
        restart_hold: st.kernel.restart_hold.map(|h| match h.bound_in {
            Some(left) => format!(
                "keeping the routes of the previous run until the peers re-sent theirs, at most {} s more{}",
                left.as_secs(),
                if st.identity.is_none() {
                    " (BGP not running: then they are removed)"
                } else {
                    ""
                }
            ),
            None => "keeping the routes of the previous run until the API server has been listed"
                .to_string(),
        }),
        healthy: st.healthy,
        problems: st.problems.iter().map(|p| p.to_string()).collect(),
    }
}

fn ok(data: serde_json::Value) -> Vec<u8> {
    let r = Response {
        ok: true,
        error: None,
        stream: false,
        data,
    };
    serde_json::to_vec(&r).unwrap_or_default()
}

fn err(msg: String) -> Vec<u8> {
    let r = Response {
        ok: false,
        error: Some(msg),
        stream: false,
        data: serde_json::Value::Null,
    };
    serde_json::to_vec(&r).unwrap_or_default()
}

/// The control socket's answers. `global rib` is streamed: a header line saying so,
/// one JSON row per line produced part by part as the client reads, then a trailer
/// line with the row count. Everything else is one JSON document. Admin actions
/// (`neighbor ADDR disable|enable|softreset`) change the daemon's state
/// (`daemon::admin`), so the view holds it mutably. `now`: when the requests are
/// answered.
pub(crate) struct CtlView<'a> {
    pub(crate) d: &'a mut Daemon,
    pub(crate) now: Instant,
}

impl Responder for CtlView<'_> {
    type Cursor = RibCursor;

    fn answer(&mut self, req: &[u8], out: &mut Vec<u8>) -> Option<RibCursor> {
        self.answer_from(None, req, out)
    }

    fn answer_from(
        &mut self,
        caller: Option<crate::ops::peercred::PeerCred>,
        req: &[u8],
        out: &mut Vec<u8>,
    ) -> Option<RibCursor> {
        if let Ok(CtlQuery::Admin(addr, action)) = parse_ctl_request(req) {
            let bytes = match super::admin::act(self.d, caller, addr, &action, self.now) {
                Ok(done) => match serde_json::to_value(done) {
                    Ok(v) => ok(v),
                    Err(e) => err(e.to_string()),
                },
                Err(e) => err(e),
            };
            out.extend_from_slice(&bytes);
            return None;
        }
        let d: &Daemon = self.d;
        match ctl_request(d, req, self.now) {
            CtlAnswer::Whole(bytes) => {
                out.extend_from_slice(&bytes);
                None
            }
            CtlAnswer::Rib(query) => {
                let head = Response {
                    ok: true,
                    error: None,
                    stream: true,
                    data: serde_json::Value::Null,
                };
                if serde_json::to_writer(&mut *out, &head).is_ok() {
                    out.push(b'\n');
                }
                Some(RibCursor::new(d, query))
            }
        }
    }

    fn more(&mut self, cursor: &mut RibCursor, out: &mut Vec<u8>) -> bool {
        rib_part(self.d, cursor, out)
    }

    fn too_large(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(&err("request too large".into()));
    }
}

enum CtlAnswer {
    Whole(Vec<u8>),
    Rib(RibQuery),
}

/// What a control-socket request asks for, once checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CtlQuery {
    Neighbors,
    Neighbor(IpAddr),
    Rib(RibQuery),
    Status,
    Explain(super::explain::ExplainQuery),
    /// An admin action (changes state; answered by `daemon::admin`).
    Admin(IpAddr, crate::ops::ctl::AdminAction),
}

impl CtlQuery {
    /// The verb counted in `kube_bgp_ctl_requests_total`.
    pub(crate) fn verb(&self) -> &'static str {
        match self {
            CtlQuery::Neighbors | CtlQuery::Neighbor(_) => "neighbor",
            CtlQuery::Rib(_) => "rib",
            CtlQuery::Status => "status",
            CtlQuery::Explain(_) => "explain",
            CtlQuery::Admin(_, a) => a.verb(),
        }
    }
}

/// Parses one control-socket request (the first line of `req`): the query, or the
/// error to send back. Pure: no daemon state.
pub fn parse_ctl_request(req: &[u8]) -> Result<CtlQuery, String> {
    let line = req.split(|b| *b == b'\n').next().unwrap_or(&[]);
    let req: Request = serde_json::from_slice(line).map_err(|e| format!("bad request: {e}"))?;
    Ok(match req {
        Request::Neighbor { addr: None } => CtlQuery::Neighbors,
        Request::Neighbor { addr: Some(a) } => CtlQuery::Neighbor(
            a.parse::<IpAddr>()
                .map_err(|_| format!("{a:?} is not an IP address"))?,
        ),
        Request::Rib { family, prefix } => {
            let fam = match family.as_deref() {
                None => None,
                Some("ipv4") => Some(Afi::Ipv4),
                Some("ipv6") => Some(Afi::Ipv6),
                Some(f) => return Err(format!("unknown family {f:?} (ipv4 or ipv6)")),
            };
            CtlQuery::Rib(match prefix.as_deref() {
                None => RibQuery::All(fam),
                Some(s) => match (s.parse::<Prefix>(), s.parse::<IpAddr>()) {
                    (Ok(p), _) => RibQuery::Exact(p),
                    (_, Ok(ip)) => RibQuery::Lookup(ip),
                    _ => return Err(format!("{s:?} is not a prefix or an address")),
                },
            })
        }
        Request::Status => CtlQuery::Status,
        Request::NeighborAdmin { addr, action } => {
            if let crate::ops::ctl::AdminAction::Disable { message: Some(m) } = &action {
                if m.len() > crate::bgp::fsm::MAX_SHUTDOWN_COMMUNICATION {
                    return Err(format!(
                        "the shutdown message is {} bytes; at most {} are sent",
                        m.len(),
                        crate::bgp::fsm::MAX_SHUTDOWN_COMMUNICATION
                    ));
                }
            }
            CtlQuery::Admin(
                addr.parse::<IpAddr>()
                    .map_err(|_| format!("{addr:?} is not an IP address"))?,
                action,
            )
        }
        Request::Explain { prefix: s } => {
            use super::explain::ExplainQuery;
            CtlQuery::Explain(match (s.parse::<Prefix>(), s.parse::<IpAddr>()) {
                (Ok(p), _) => ExplainQuery::Prefix(p),
                (_, Ok(ip)) => ExplainQuery::Address(ip),
                _ => return Err(format!("{s:?} is not a prefix or an address")),
            })
        }
    })
}

/// Answers one control-socket request line at `now`.
fn ctl_request(d: &Daemon, req: &[u8], now: Instant) -> CtlAnswer {
    let query = match parse_ctl_request(req) {
        Ok(q) => q,
        Err(e) => return CtlAnswer::Whole(err(e)),
    };
    d.count_ctl(query.verb());
    let to_json = |v: Result<serde_json::Value, serde_json::Error>| {
        CtlAnswer::Whole(match v {
            Ok(v) => ok(v),
            Err(e) => err(e.to_string()),
        })
    };
    match query {
        CtlQuery::Neighbors => {
            let st = d.status(now, RibCounting::Skip);
            let rows: Vec<NeighborRow> = st.sessions.iter().map(|p| neighbor_row(&st, p)).collect();
            to_json(serde_json::to_value(rows))
        }
        CtlQuery::Neighbor(ip) => {
            let st = d.status(now, RibCounting::Skip);
            match st.sessions.iter().find(|p| p.addr == ip) {
                Some(p) => to_json(serde_json::to_value(detail(&st, p))),
                None => CtlAnswer::Whole(err(format!("no neighbor {ip}"))),
            }
        }
        CtlQuery::Rib(q) => CtlAnswer::Rib(q),
        CtlQuery::Status => to_json(serde_json::to_value(status_info(
            &d.status(now, RibCounting::Walk),
        ))),
        CtlQuery::Explain(q) => to_json(serde_json::to_value(super::explain::explain(d, q))),
        CtlQuery::Admin(..) => {
            CtlAnswer::Whole(err("admin actions need the control socket".into()))
        }
    }
}

/// The metrics (`metrics: true`) or health endpoint's answers at `now`: whole, never
/// streamed.
pub(crate) struct HttpView<'a> {
    pub(crate) d: &'a Daemon,
    pub(crate) now: Instant,
    pub(crate) metrics: bool,
}

impl Responder for HttpView<'_> {
    type Cursor = ();

    fn answer(&mut self, req: &[u8], out: &mut Vec<u8>) -> Option<()> {
        out.extend_from_slice(&http_answer(self.d, req, self.metrics, self.now));
        None
    }

    fn more(&mut self, _: &mut (), _: &mut Vec<u8>) -> bool {
        false
    }

    fn too_large(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(&http::response(
            431,
            "text/plain",
            "request too large\n",
            false,
        ));
    }
}

/// Answers an HTTP request on the metrics or the health endpoint at `now`. The health
/// probe asks only [`Daemon::healthy`]: it comes every few seconds and needs no copy of
/// every peer's state.
fn http_answer(d: &Daemon, req: &[u8], metrics_endpoint: bool, now: Instant) -> Vec<u8> {
    let Some((method, path)) = http::parse_request(req) else {
        return http::response(404, "text/plain", "bad request\n", false);
    };
    let head = method == "HEAD";
    if method != "GET" && !head {
        return http::response(405, "text/plain", "method not allowed\n", false);
    }
    if metrics_endpoint && path == d.metrics_path() {
        let body = super::metrics::render(&d.status(now, RibCounting::Walk));
        return http::response(200, "text/plain; version=0.0.4", &body, head);
    }
    if path == "/healthz" {
        return if d.healthy(now) {
            http::response(200, "text/plain", "OK\n", head)
        } else {
            http::response(500, "text/plain", "Unhealthy\n", head)
        };
    }
    http::response(404, "text/plain", "not found\n", head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_requests_parse_or_say_why_not() {
        let p = |s: &str| parse_ctl_request(s.as_bytes());
        assert_eq!(p(r#"{"cmd":"status"}"#), Ok(CtlQuery::Status));
        assert_eq!(
            p("{\"cmd\":\"neighbor\",\"addr\":null}\ntrailing"),
            Ok(CtlQuery::Neighbors)
        );
        assert_eq!(
            p(r#"{"cmd":"rib","family":"ipv6","prefix":"fd00::1"}"#),
            Ok(CtlQuery::Rib(RibQuery::Lookup("fd00::1".parse().unwrap())))
        );
        assert_eq!(
            p(r#"{"cmd":"rib","family":null,"prefix":"10.0.0.0/8"}"#),
            Ok(CtlQuery::Rib(RibQuery::Exact(
                "10.0.0.0/8".parse().unwrap()
            )))
        );
        assert!(
            p(r#"{"cmd":"rib","family":"ipx","prefix":null}"#)
                .unwrap_err()
                .contains("unknown family")
        );
        assert!(
            p(r#"{"cmd":"neighbor","addr":"x"}"#)
                .unwrap_err()
                .contains("not an IP")
        );
        assert_eq!(
            p(r#"{"cmd":"explain","prefix":"10.244.2.0/24"}"#),
            Ok(CtlQuery::Explain(
                super::super::explain::ExplainQuery::Prefix("10.244.2.0/24".parse().unwrap())
            ))
        );
        assert_eq!(
            p(r#"{"cmd":"explain","prefix":"fd00::7"}"#).map(|q| q.verb()),
            Ok("explain")
        );
        assert!(
            p(r#"{"cmd":"explain","prefix":"x/99"}"#)
                .unwrap_err()
                .contains("not a prefix")
        );
        let admin = p(
            r#"{"cmd":"neighbor_admin","addr":"192.0.2.1","action":{"verb":"disable","message":"ToR swap"}}"#,
        );
        assert_eq!(
            admin,
            Ok(CtlQuery::Admin(
                "192.0.2.1".parse().unwrap(),
                crate::ops::ctl::AdminAction::Disable {
                    message: Some("ToR swap".into())
                }
            ))
        );
        assert_eq!(admin.map(|q| q.verb()), Ok("disable"));
        let soft = p(
            r#"{"cmd":"neighbor_admin","addr":"192.0.2.1","action":{"verb":"softreset","inbound":false,"outbound":true}}"#,
        );
        assert_eq!(soft.map(|q| q.verb()), Ok("softreset-out"));
        let long = format!(
            r#"{{"cmd":"neighbor_admin","addr":"192.0.2.1","action":{{"verb":"disable","message":"{}"}}}}"#,
            "x".repeat(129)
        );
        assert!(p(&long).unwrap_err().contains("at most 128"));
        assert!(
            p(r#"{"cmd":"neighbor_admin","addr":"nope","action":{"verb":"enable"}}"#)
                .unwrap_err()
                .contains("not an IP")
        );
        assert!(p("").unwrap_err().starts_with("bad request"));
        assert!(
            p(r#"{"cmd":"shutdown"}"#)
                .unwrap_err()
                .starts_with("bad request")
        );
    }
}
