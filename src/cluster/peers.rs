//! Who this node is and which BGP peers it should have (kube-router's node mesh, route
//! reflector and external-peer rules, docs/configuration.md; decisions D2 and D4).
//!
//! Pure: from the settings and the node models, computes the local `Identity` and the
//! list of [`PeerPlan`]s. The daemon diffs this list against its running peers.

use std::net::{IpAddr, Ipv4Addr};

use yaml_rust2::Yaml;

use crate::safe_yaml::{ANNOTATION_LIMITS, load_first};

use super::node::NodeModel;
use super::values;
use super::{Problem, RouterIdSetting, Settings};
use crate::config::{Bfd, Password};
use crate::prefix::{Afi, Prefix};

pub(crate) const ANN_PEERS: &str = "kube-router.io/peers";
pub(crate) const ANN_PEER_IPS: &str = "kube-router.io/peer.ips";
pub(crate) const ANN_PEER_ASNS: &str = "kube-router.io/peer.asns";
pub(crate) const ANN_PEER_PORTS: &str = "kube-router.io/peer.ports";
pub(crate) const ANN_PEER_PASSWORDS: &str = "kube-router.io/peer.passwords";
pub(crate) const ANN_PEER_LOCALIPS: &str = "kube-router.io/peer.localips";
pub(crate) const ANN_LOCAL_ADDRESSES: &str = "kube-router.io/bgp-local-addresses";

/// Hold time for node-to-node sessions (GoBGP's default, as kube-router uses).
pub(crate) const NODE_HOLD_TIME: u16 = 90;

/// The prefix limit of a node peer: a node sends only its own pod CIDRs (a route
/// reflector those of every node), so twice the pod CIDRs the cluster's nodes own plus
/// this margin leaves room for renumbering and still stops a node that floods. A route
/// reflector server may also reflect what its external peers send: `--bgp-max-prefixes`
/// more (unlimited when that is 0).
pub(crate) const NODE_PREFIX_MARGIN: u32 = 64;

/// How many pod CIDRs the cluster's nodes own, counted as [`node_prefix_limit`] needs.
pub(crate) fn owned_cidr_total(nodes: &[NodeModel]) -> usize {
    nodes.iter().map(|n| n.owned_cidrs.len()).sum()
}

/// The prefix limit (per family) for a node peer, see [`NODE_PREFIX_MARGIN`]; `owned` is
/// [`owned_cidr_total`] of the cluster's nodes.
pub(crate) fn node_prefix_limit(settings: &Settings, owned: usize, peer: &NodeModel) -> u32 {
    let base = u32::try_from(owned)
        .unwrap_or(u32::MAX)
        .saturating_mul(2)
        .saturating_add(NODE_PREFIX_MARGIN);
    match (peer.rr_server.is_some(), settings.max_prefixes) {
        (false, _) => base,
        (true, 0) => 0,
        (true, ext) => base.saturating_add(ext),
    }
}

/// The local node's BGP identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Identity {
    pub(crate) node: String,
    pub(crate) primary: IpAddr,
    pub(crate) router_id: Ipv4Addr,
    pub(crate) local_asn: u32,
    /// This node's RR cluster ID when it is a route-reflector server.
    pub(crate) rr_server: Option<Ipv4Addr>,
    /// The cluster ID of the servers it is a client of.
    pub(crate) rr_client: Option<Ipv4Addr>,
    pub(crate) families: Vec<Afi>,
    /// Addresses to listen on for BGP (`bgp-local-addresses`, else best v4 and v6).
    pub(crate) listen: Vec<IpAddr>,
}

/// Where a peer comes from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum PeerKind {
    /// Another cluster node (iBGP or per-node-ASN peering).
    Node { name: String },
    /// `--peer-router-ips`.
    Global,
    /// The local node's `kube-router.io/peer*` annotations.
    NodeAnnotation,
}

impl PeerKind {
    pub(crate) fn is_node(&self) -> bool {
        matches!(self, PeerKind::Node { .. })
    }
}

/// One BGP neighbour as it should be configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerPlan {
    pub(crate) addr: IpAddr,
    pub(crate) port: u16,
    pub(crate) remote_asn: u32,
    pub(crate) local_asn: u32,
    /// Source address for the session.
    pub(crate) local_addr: Option<IpAddr>,
    pub(crate) password: Option<Password>,
    /// IP TTL for outgoing packets: 1 for single-hop eBGP, the multihop TTL when set,
    /// None for the OS default (iBGP).
    pub(crate) ttl: Option<u8>,
    pub(crate) hold_time: u16,
    /// We reflect routes to this peer as its route reflector (RFC 4456).
    pub(crate) rr_client: bool,
    pub(crate) families: Vec<Afi>,
    pub(crate) kind: PeerKind,
    /// Most prefixes per family the peer may send; 0 = unlimited.
    pub(crate) prefix_limit: u32,
    /// GTSM (RFC 5082): drop packets from the peer with a TTL below this (set for
    /// directly connected nodes with `--bgp-node-ttl-security`).
    pub(crate) min_ttl: Option<u8>,
    /// BFD protects this session: `--enable-bfd` for global peers, the peer's `bfd:`
    /// block for annotation peers, `--enable-bfd-nodes` for node peers. The daemon runs
    /// the BFD session (single hop or multihop by where the peer is) beside the BGP one.
    pub(crate) bfd: Option<Bfd>,
}

#[cfg(test)]
impl PeerPlan {
    /// Test peer: `addr` on port 179, a global peer from AS `local_asn` to AS
    /// `remote_asn`, hold time 90 s, IPv4 only, no password, TTL, limit or BFD (change
    /// fields with `..`).
    pub(crate) fn plain(addr: IpAddr, local_asn: u32, remote_asn: u32) -> PeerPlan {
        PeerPlan {
            addr,
            port: 179,
            remote_asn,
            local_asn,
            local_addr: None,
            password: None,
            ttl: None,
            hold_time: 90,
            rr_client: false,
            families: vec![Afi::Ipv4],
            kind: PeerKind::Global,
            prefix_limit: 0,
            min_ttl: None,
            bfd: None,
        }
    }
}

/// Computes the local identity. `None` (with problems) when BGP cannot run yet: no local
/// Node object, no address, no router ID, or no ASN in per-node-ASN mode.
pub(crate) fn identity(
    settings: &Settings,
    local: Option<&NodeModel>,
    problems: &mut Vec<Problem>,
) -> Option<Identity> {
    let local = local?;
    let Some(primary) = local.primary else {
        problems.push(Problem::node(
            &local.name,
            "status.addresses",
            "no InternalIP or ExternalIP address (host IP unknown)",
        ));
        return None;
    };
    for (need, have, fam, flag) in [
        (
            settings.require_ipv4,
            !local.v4.is_empty(),
            "IPv4",
            "--enable-ipv4",
        ),
        (
            settings.require_ipv6,
            !local.v6.is_empty(),
            "IPv6",
            "--enable-ipv6",
        ),
    ] {
        if need && !have {
            problems.push(Problem::node(
                &local.name,
                flag,
                format!("{fam} was enabled, but the node has no {fam} address"),
            ));
            return None;
        }
    }
    let router_id = match &settings.router_id {
        RouterIdSetting::Fixed(a) => *a,
        RouterIdSetting::Generate => values::generated_router_id(primary),
        RouterIdSetting::Auto => match primary {
            IpAddr::V4(a) => a,
            IpAddr::V6(_) => {
                problems.push(Problem::node(
                    &local.name,
                    "--router-id",
                    "router-id must be specified when the primary node IP is IPv6 (use --router-id=generate)",
                ));
                return None;
            }
        },
    };
    let local_asn = if settings.nodes_full_mesh {
        settings.effective_cluster_asn()
    } else {
        match local.asn {
            Some(a) => a,
            None => {
                if !local.annotations.contains_key(super::node::ANN_NODE_ASN) {
                    problems.push(Problem::node(
                        &local.name,
                        super::node::ANN_NODE_ASN,
                        "missing: --nodes-full-mesh=false needs the node's ASN",
                    ));
                }
                return None;
            }
        }
    };
    let mut listen = Vec::new();
    match local.annotations.get(ANN_LOCAL_ADDRESSES) {
        Some(v) => {
            for item in values::split_list(v) {
                match values::parse_ip(item) {
                    Ok(ip) => listen.push(ip),
                    Err(e) => problems.push(Problem::node(&local.name, ANN_LOCAL_ADDRESSES, e)),
                }
            }
        }
        None => {
            listen.extend(local.best_v4().map(IpAddr::V4));
            listen.extend(local.best_v6().map(IpAddr::V6));
        }
    }
    // rr.server wins when both are present (kube-router).
    let (rr_server, rr_client) = match (local.rr_server, local.rr_client) {
        (Some(s), _) => (Some(s), None),
        (None, c) => (None, c),
    };
    Some(Identity {
        node: local.name.clone(),
        primary,
        router_id,
        local_asn,
        rr_server,
        rr_client,
        families: local.families(),
        listen,
    })
}

/// Whether a node's RR annotations are present but unparsable (then it takes part in
/// no node peering until fixed; the problem was reported when it was read).
fn rr_annotation_broken(n: &NodeModel) -> bool {
    (n.annotations.contains_key(super::node::ANN_RR_SERVER) && n.rr_server.is_none())
        || (n.annotations.contains_key(super::node::ANN_RR_CLIENT) && n.rr_client.is_none())
}

/// A node's effective client ID: rr.server wins over rr.client.
fn client_of(n: &NodeModel) -> Option<Ipv4Addr> {
    if n.rr_server.is_some() {
        None
    } else {
        n.rr_client
    }
}

/// Whether this node takes part in node-to-node peering at all: iBGP enabled and its
/// own RR annotations readable.
pub(crate) fn node_peering_on(settings: &Settings, local: &NodeModel) -> bool {
    settings.enable_ibgp && !rr_annotation_broken(local)
}

/// Node-to-node peers (kube-router's full mesh and route reflectors, with D2 cluster-ID matching and D4 fixed peer ASN).
pub(crate) fn node_peers(
    settings: &Settings,
    me: &Identity,
    local: &NodeModel,
    nodes: &[NodeModel],
    problems: &mut Vec<Problem>,
) -> Vec<PeerPlan> {
    if !node_peering_on(settings, local) {
        return Vec::new();
    }
    let owned = owned_cidr_total(nodes);
    nodes
        .iter()
        .filter_map(|n| node_peer(settings, me, n, owned, problems))
        .collect()
}

/// The session to node `n`, if this node (`me`, with node peering on) should have one;
/// `owned` is [`owned_cidr_total`] of the cluster's nodes.
pub(crate) fn node_peer(
    settings: &Settings,
    me: &Identity,
    n: &NodeModel,
    owned: usize,
    problems: &mut Vec<Problem>,
) -> Option<PeerPlan> {
    if n.name == me.node {
        return None;
    }
    let primary = n.primary?;
    if primary == me.primary || rr_annotation_broken(n) {
        return None;
    }
    let remote_client_of = client_of(n);
    let remote_is_server = n.rr_server.is_some();
    let rr_client = match (me.rr_server, me.rr_client) {
        // A client peers only with servers of its own cluster ID (D2).
        (None, Some(id)) => {
            if n.rr_server != Some(id) {
                return None;
            }
            false
        }
        // A server: its clients (same ID), other servers, unannotated nodes.
        (Some(id), _) => match remote_client_of {
            Some(cid) if cid == id => true,
            Some(_) => return None,
            None => false,
        },
        // Unannotated: other unannotated nodes and servers (clients never peer back).
        (None, None) => {
            if remote_client_of.is_some() && !remote_is_server {
                return None;
            }
            false
        }
    };
    if !settings.nodes_full_mesh {
        match n.asn {
            Some(a) if a == me.local_asn => {}
            _ => return None,
        }
    }
    if std::mem::discriminant(&primary) != std::mem::discriminant(&me.primary) {
        problems.push(Problem::node(
            &n.name,
            "status.addresses",
            format!(
                "primary IP {primary} is not of the local node's family ({}); not peering",
                me.primary
            ),
        ));
        return None;
    }
    let families: Vec<Afi> = n
        .families()
        .into_iter()
        .filter(|f| me.families.contains(f))
        .collect();
    Some(PeerPlan {
        addr: primary,
        port: settings.bgp_port,
        remote_asn: me.local_asn,
        local_asn: me.local_asn,
        local_addr: Some(me.primary),
        password: settings.node_password.clone(),
        ttl: None,
        hold_time: NODE_HOLD_TIME,
        rr_client,
        families,
        kind: PeerKind::Node {
            name: n.name.clone(),
        },
        prefix_limit: node_prefix_limit(settings, owned, n),
        min_ttl: None,
        bfd: settings.node_bfd,
    })
}

/// `--bgp-node-ttl-security`: GTSM (RFC 5082) for node peers on a subnet this node is
/// directly connected to: packets go out with TTL 255 and the kernel drops the peer's
/// packets that arrive with less, which no sender more than one hop away can produce.
/// Nodes behind a router keep the normal TTL (GTSM would refuse them).
pub(crate) fn gtsm_for_connected_nodes(peers: &mut [PeerPlan], connected: &[Prefix]) {
    for p in peers.iter_mut().filter(|p| p.kind.is_node()) {
        if connected
            .iter()
            .any(|c| !c.is_default() && c.contains_addr(&p.addr))
        {
            p.ttl = Some(255);
            p.min_ttl = Some(255);
        }
    }
}

/// One external peer before the per-node details (source address, families) are added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalSpec {
    pub(crate) ip: IpAddr,
    pub(crate) asn: u32,
    pub(crate) port: u16,
    pub(crate) password: Option<Password>,
    pub(crate) local_ip: Option<IpAddr>,
    /// BFD for this peer: `--enable-bfd` for global peers, the peer's `bfd:` block for
    /// annotation peers.
    pub(crate) bfd: Option<Bfd>,
}

/// External peers: the global ones, or (when there are none) the local node's
/// annotation peers (`kube-router.io/peer.*`), as kube-router chooses them.
pub(crate) fn external_peers(
    settings: &Settings,
    me: &Identity,
    local: &NodeModel,
    problems: &mut Vec<Problem>,
) -> Vec<PeerPlan> {
    let (specs, kind) = if !settings.global_peers.is_empty() {
        let specs = settings
            .global_peers
            .iter()
            .map(|g| ExternalSpec {
                ip: g.ip,
                asn: g.asn,
                port: g.port,
                password: g.password.clone(),
                local_ip: None,
                bfd: settings.global_bfd,
            })
            .collect();
        (specs, PeerKind::Global)
    } else {
        match annotation_peers(local) {
            Ok(s) => (s, PeerKind::NodeAnnotation),
            Err(p) => {
                problems.push(p);
                (Vec::new(), PeerKind::NodeAnnotation)
            }
        }
    };
    let mut out = Vec::new();
    for s in specs {
        let afi = Afi::of(&s.ip);
        let local_addr = match s.local_ip {
            Some(ip) => Some(ip),
            None => local.best(afi),
        };
        let Some(local_addr) = local_addr else {
            problems.push(Problem::node(
                &local.name,
                "status.addresses",
                format!(
                    "no local address of the family of peer {}; not peering",
                    s.ip
                ),
            ));
            continue;
        };
        if Afi::of(&local_addr) != afi {
            problems.push(Problem::node(
                &local.name,
                ANN_PEER_LOCALIPS,
                format!("local IP {local_addr} is not of peer {}'s family", s.ip),
            ));
            continue;
        }
        let ebgp = s.asn != me.local_asn;
        let ttl = if settings.multihop_ttl >= 2 {
            Some(settings.multihop_ttl)
        } else if ebgp {
            Some(1)
        } else {
            None
        };
        out.push(PeerPlan {
            addr: s.ip,
            port: s.port,
            remote_asn: s.asn,
            local_asn: me.local_asn,
            local_addr: Some(local_addr),
            password: s.password,
            ttl,
            hold_time: settings.hold_time,
            rr_client: false,
            families: me.families.clone(),
            kind: kind.clone(),
            prefix_limit: settings.max_prefixes,
            min_ttl: None,
            bfd: s.bfd,
        });
    }
    out
}

/// Parses the local node's peer annotations: `kube-router.io/peers` (YAML) or the
/// individual `peer.*` lists. Any error fails the whole set (as kube-router) and is
/// returned as one problem naming the annotation.
pub(crate) fn annotation_peers(local: &NodeModel) -> Result<Vec<ExternalSpec>, Problem> {
    let ann = &local.annotations;
    let node = local.name.as_str();
    if let Some(v) = ann.get(ANN_PEERS) {
        return parse_peers_yaml(v).map_err(|e| Problem::node(node, ANN_PEERS, e));
    }
    let (Some(ips), Some(asns)) = (ann.get(ANN_PEER_IPS), ann.get(ANN_PEER_ASNS)) else {
        return Ok(Vec::new());
    };
    let ips = values::split_list(ips);
    let asns = values::split_list(asns);
    if ips.len() != asns.len() {
        return Err(Problem::node(
            node,
            ANN_PEER_ASNS,
            format!(
                "the number of IPs ({}) and ASN numbers ({}) must be equal",
                ips.len(),
                asns.len()
            ),
        ));
    }
    let optional = |key: &str| -> Result<Option<Vec<&str>>, Problem> {
        match ann.get(key) {
            None => Ok(None),
            Some(v) => {
                let l = values::split_list(v);
                if l.len() != ips.len() {
                    Err(Problem::node(
                        node,
                        key,
                        format!(
                            "has {} entries; give none or one per peer IP ({})",
                            l.len(),
                            ips.len()
                        ),
                    ))
                } else {
                    Ok(Some(l))
                }
            }
        }
    };
    let passwords = optional(ANN_PEER_PASSWORDS)?;
    let ports = optional(ANN_PEER_PORTS)?;
    let localips = optional(ANN_PEER_LOCALIPS)?;
    let mut out = Vec::new();
    for (i, (ip_s, asn_s)) in ips.iter().zip(asns.iter()).enumerate() {
        let n = i + 1;
        let ip = values::parse_ip(ip_s)
            .map_err(|e| Problem::node(node, ANN_PEER_IPS, format!("entry {n}: {e}")))?;
        let asn = values::parse_asn(asn_s)
            .and_then(values::check_peer_asn)
            .map_err(|e| Problem::node(node, ANN_PEER_ASNS, format!("entry {n}: {e}")))?;
        let password = match &passwords {
            Some(p) => values::parse_password(p[i])
                .map_err(|e| Problem::node(node, ANN_PEER_PASSWORDS, format!("entry {n}: {e}")))?,
            None => None,
        };
        let port = match &ports {
            Some(p) => port_value(p[i])
                .map_err(|e| Problem::node(node, ANN_PEER_PORTS, format!("entry {n}: {e}")))?,
            None => 179,
        };
        let local_ip =
            match &localips {
                Some(l) if !l[i].is_empty() => Some(values::parse_ip(l[i]).map_err(|e| {
                    Problem::node(node, ANN_PEER_LOCALIPS, format!("entry {n}: {e}"))
                })?),
                _ => None,
            };
        out.push(ExternalSpec {
            ip,
            asn,
            port,
            password,
            local_ip,
            // kube-router reads BFD only from the YAML annotation.
            bfd: None,
        });
    }
    Ok(out)
}

fn port_value(s: &str) -> Result<u16, String> {
    let v = values::parse_decimal(s, 65535)?;
    if v == 0 {
        return Err("port 0 is not valid".into());
    }
    Ok(v as u16)
}

/// A YAML scalar as text (numbers may be written bare or quoted).
fn scalar(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Real(r) => Some(r.clone()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// kube-router's defaults for the fields a `bfd:` block leaves out.
const BFD_BLOCK_DEFAULT: Bfd = Bfd {
    port: 3784,
    detection_multiplier: 3,
    desired_min_tx: std::time::Duration::from_millis(1000),
    required_min_rx: std::time::Duration::from_millis(1000),
};

/// Parses a peer's `bfd:` block, as kube-router reads it: `enabled` (bool), `port`,
/// `detection_multiplier`, `desired_min_tx_interval` and `required_min_rx_interval`
/// (milliseconds). As in kube-router every field that is present is range-checked,
/// 0 included, even when `enabled` is false; absent fields take kube-router's defaults
/// (3784, 3, 1000 ms, 1000 ms), not the `--bfd-*` flags. Other keys are ignored.
/// `None` when the block is empty or not enabled. Errors start with the field path
/// (".port: ...") for the caller to prefix with "bfd".
fn parse_bfd_block(y: &Yaml) -> Result<Option<Bfd>, String> {
    let map = match y {
        Yaml::Hash(_) => y,
        Yaml::Null => return Ok(None),
        _ => return Err(": must be a mapping of BFD settings".into()),
    };
    let field = |k: &str| {
        let v = &map[k];
        (!v.is_badvalue() && !v.is_null()).then_some(v)
    };
    let enabled = match field("enabled") {
        None => false,
        Some(Yaml::Boolean(b)) => *b,
        Some(v) => scalar(v)
            .and_then(|s| values::parse_go_bool(&s))
            .ok_or_else(|| ".enabled: must be true or false".to_string())?,
    };
    let number = |k: &str, max: u64| -> Result<Option<u64>, String> {
        let Some(v) = field(k) else {
            return Ok(None);
        };
        let s = scalar(v).ok_or_else(|| format!(".{k}: must be a number"))?;
        let n = values::parse_decimal(&s, u64::from(u32::MAX)).map_err(|e| format!(".{k}: {e}"))?;
        if n == 0 || n > max {
            return Err(format!(".{k}: must be 1-{max}, got {n}"));
        }
        Ok(Some(n))
    };
    // The largest interval whose microseconds fit the protocol's 32-bit fields.
    let max_ms = u64::from(u32::MAX) / 1000;
    let d = BFD_BLOCK_DEFAULT;
    let port = number("port", 65535)?.map_or(d.port, |v| v as u16);
    let mult = number("detection_multiplier", 255)?.map_or(d.detection_multiplier, |v| v as u8);
    let tx = number("desired_min_tx_interval", max_ms)?
        .map_or(d.desired_min_tx, std::time::Duration::from_millis);
    let rx = number("required_min_rx_interval", max_ms)?
        .map_or(d.required_min_rx, std::time::Duration::from_millis);
    Ok(enabled.then_some(Bfd {
        port,
        detection_multiplier: mult,
        desired_min_tx: tx,
        required_min_rx: rx,
    }))
}

/// Parses the `kube-router.io/peers` YAML list (keys: remoteip, remoteasn, localip,
/// password, port, bfd; others ignored, as kube-router's non-strict decoding).
pub fn parse_peers_yaml(text: &str) -> Result<Vec<ExternalSpec>, String> {
    let doc = load_first(text, &ANNOTATION_LIMITS).map_err(|e| e.to_string())?;
    let items = match doc {
        Yaml::Array(a) => a,
        Yaml::Null => return Ok(Vec::new()),
        _ => return Err("must be a YAML list of peers".into()),
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let n = i + 1;
        if !matches!(item, Yaml::Hash(_)) {
            return Err(format!("peer {n}: not a mapping"));
        }
        let get = |k: &str| {
            let v = &item[k];
            if v.is_badvalue() || v.is_null() {
                None
            } else {
                Some(v)
            }
        };
        let ip = get("remoteip")
            .and_then(scalar)
            .ok_or_else(|| format!("peer {n}: remoteip cannot be empty"))?;
        let ip = values::parse_ip(&ip).map_err(|e| format!("peer {n}: remoteip: {e}"))?;
        let asn = get("remoteasn")
            .and_then(scalar)
            .ok_or_else(|| format!("peer {n}: remoteasn cannot be empty"))?;
        let asn = values::parse_asn(&asn)
            .and_then(values::check_peer_asn)
            .map_err(|e| format!("peer {n}: remoteasn: {e}"))?;
        let local_ip = match get("localip").and_then(scalar) {
            Some(s) if !s.is_empty() => {
                Some(values::parse_ip(&s).map_err(|e| format!("peer {n}: localip: {e}"))?)
            }
            _ => None,
        };
        let password = match get("password").and_then(scalar) {
            Some(s) => {
                values::parse_password(&s).map_err(|e| format!("peer {n}: password: {e}"))?
            }
            None => None,
        };
        let port = match get("port").and_then(scalar) {
            Some(s) => port_value(&s).map_err(|e| format!("peer {n}: port: {e}"))?,
            None => 179,
        };
        let bfd = match get("bfd") {
            Some(b) => parse_bfd_block(b).map_err(|e| format!("peer {n}: bfd{e}"))?,
            None => None,
        };
        out.push(ExternalSpec {
            ip,
            asn,
            port,
            password,
            local_ip,
            bfd,
        });
    }
    Ok(out)
}

#[cfg(test)]
#[path = "peers_tests.rs"]
mod tests;
