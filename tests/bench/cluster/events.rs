//! Timestamped events from the instruments other than the route monitor: the fake API
//! server's commit log (`/__test/commit-log`, one JSON line per committed change) and
//! kube-bgp's own log lines about its peers (each line starts with the Unix time in
//! microseconds). All times are CLOCK_REALTIME in nanoseconds.
//!
//! Owns: parsing only. Must not: decide what a figure means (converge.rs does).

use std::net::IpAddr;

/// CLOCK_REALTIME now, in ns since the Unix epoch.
pub(crate) fn realtime_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// One line of the API server's commit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Commit {
    pub(crate) t_ns: i64,
    pub(crate) rv: u64,
    /// ADDED, MODIFIED or DELETED.
    pub(crate) kind: String,
    /// Plural resource name: nodes, services, endpointslices, ...
    pub(crate) resource: String,
    /// `namespace/name` (`/name` for cluster-scoped objects).
    pub(crate) key: String,
}

/// Parses one commit-log line; None for anything else.
pub(crate) fn parse_commit(line: &str) -> Option<Commit> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    Some(Commit {
        t_ns: v.get("t_ns")?.as_i64()?,
        rv: v.get("rv")?.as_u64()?,
        kind: v.get("type")?.as_str()?.to_string(),
        resource: v.get("resource")?.as_str()?.to_string(),
        key: v.get("key")?.as_str()?.to_string(),
    })
}

/// The first commit of `kind` on `resource`/`key` at or after `after_ns` in a
/// commit-log text.
pub(crate) fn commit_after(
    text: &str,
    resource: &str,
    key: &str,
    kind: &str,
    after_ns: i64,
) -> Option<Commit> {
    text.lines()
        .filter_map(parse_commit)
        .find(|c| c.t_ns >= after_ns && c.resource == resource && c.key == key && c.kind == kind)
}

/// What kube-bgp logged about one peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PeerLog {
    /// `peer A added: AS n ... [rr-client]`
    Added { asn: u32, rr_client: bool },
    /// `peer A removed`
    Removed,
    /// `peer A: Established (AS n, ...)`
    Established { asn: u32 },
    /// `peer A: session down: REASON` (why: `hold timer expired`, `BFD detected a
    /// forwarding failure; sent Cease/BFD Down (6/10, ...)`, ...).
    Down { reason: String },
    /// `peer A: route-reflector client on|off (session kept)`
    RrClient { on: bool },
}

/// One kube-bgp log line about a peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PeerLine {
    pub(crate) t_ns: i64,
    pub(crate) addr: IpAddr,
    pub(crate) what: PeerLog,
}

/// `1764700000.123456` → ns. Accepts 1 to 9 fractional digits.
fn parse_unix_time(s: &str) -> Option<i64> {
    let (sec, frac) = s.split_once('.')?;
    if frac.is_empty() || frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sec: i64 = sec.parse().ok()?;
    let mut ns: i64 = frac.parse().ok()?;
    for _ in frac.len()..9 {
        ns *= 10;
    }
    Some(sec * 1_000_000_000 + ns)
}

/// The number after `AS ` in `text`.
fn asn_after(text: &str) -> Option<u32> {
    let rest = text.split_once("AS ")?.1;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Parses a `bgp` component line about a peer; None for every other line.
pub(crate) fn parse_peer_line(line: &str) -> Option<PeerLine> {
    let (ts, rest) = line.split_once(' ')?;
    let t_ns = parse_unix_time(ts)?;
    let (_level, rest) = rest.split_once(' ')?;
    let msg = rest.strip_prefix("bgp: peer ")?;
    let (addr, tail) = msg.split_once([' ', ':'])?;
    let addr: IpAddr = addr.parse().ok()?;
    let what = if let Some(t) = tail.strip_prefix("added: ") {
        PeerLog::Added {
            asn: asn_after(t)?,
            rr_client: t.split_whitespace().any(|w| w == "rr-client"),
        }
    } else if tail.trim_end() == "removed" {
        PeerLog::Removed
    } else if let Some(t) = tail.strip_prefix(" Established (") {
        PeerLog::Established { asn: asn_after(t)? }
    } else if let Some(t) = tail.strip_prefix(" session down") {
        PeerLog::Down {
            reason: t.strip_prefix(": ").unwrap_or(t).trim_end().to_string(),
        }
    } else if let Some(t) = tail.strip_prefix(" route-reflector client ") {
        PeerLog::RrClient {
            on: t.starts_with("on"),
        }
    } else {
        return None;
    };
    Some(PeerLine { t_ns, addr, what })
}

/// The Unix time (ns) at the start of a kube-bgp log line, if it has one.
pub(crate) fn line_time(line: &str) -> Option<i64> {
    parse_unix_time(line.split(' ').next()?)
}
