//! `kube-bgp explain PREFIX`: what the daemon knows and decided about one prefix,
//! answered from the same decision functions the daemon runs (the RIB's loop checks,
//! best-path comparison and export rules, the kube-router policy's verdicts, the kernel
//! route choice, the VIP decision), never from a second copy of the rules.
//!
//! Read-only and bounded: one prefix's paths, one export decision per configured peer,
//! one pass over the Services for a VIP, and for an address at most one exact lookup
//! per prefix length (never a scan of the table). Nothing here changes state: the
//! verdicts used have no side effects (no counting, no logging).

use std::net::IpAddr;

use crate::bgp::rib::{ExportBlock, Source};
use crate::bgp::types::Attrs;
use crate::cluster::adverts::{self, OriginKind};
use crate::kernel::RouteKind;
use crate::ops::explain::{
    BestReport, ExplainReport, KernelReport, LocalOrigin, PathReport, PeerExportReport, VipService,
};
use crate::prefix::Prefix;

use super::Daemon;
use super::routes::WantedRoute;

/// What `kube-bgp explain` was asked about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExplainQuery {
    Prefix(Prefix),
    /// The longest prefix holding this address.
    Address(IpAddr),
}

fn communities(a: &Attrs) -> Vec<String> {
    a.communities
        .iter()
        .map(|c| format!("{}:{}", c >> 16, c & 0xffff))
        .collect()
}

fn route_text(k: &RouteKind) -> String {
    match k {
        RouteKind::Via(nh) => format!("via {nh}"),
        RouteKind::Dev { ifindex, src } => match src {
            Some(s) => format!("dev #{ifindex} src {s}"),
            None => format!("dev #{ifindex}"),
        },
        RouteKind::Other => "a route of a form kube-bgp does not install".into(),
    }
}

/// The prefix an address query stands for: the longest one with a path or originated.
fn resolve(d: &Daemon, q: ExplainQuery) -> Option<Prefix> {
    match q {
        ExplainQuery::Prefix(p) => Some(p),
        ExplainQuery::Address(ip) => {
            let max = Prefix::host(ip).len();
            (0..=max).rev().find_map(|len| {
                let p = Prefix::new(ip, len).ok()?;
                let known = d.originated.contains_key(&p)
                    || d.speaker
                        .as_ref()
                        .is_some_and(|s| !s.rib.paths(&p).is_empty());
                known.then_some(p)
            })
        }
    }
}

/// The report for one query.
pub(crate) fn explain(d: &Daemon, q: ExplainQuery) -> ExplainReport {
    let query = match q {
        ExplainQuery::Prefix(p) => p.to_string(),
        ExplainQuery::Address(ip) => ip.to_string(),
    };
    let mut r = ExplainReport {
        query,
        ..ExplainReport::default()
    };
    let Some(prefix) = resolve(d, q) else {
        r.notes
            .push("no peer sent a route holding this address and this node originates none".into());
        return r;
    };
    r.prefix = prefix.to_string();
    r.local = local_origin(d, &prefix);
    let Some(sp) = d.speaker.as_ref() else {
        r.notes.push(
            "BGP is not running on this node (see `kube-bgp status` for the problems)".into(),
        );
        return r;
    };
    let policy = d.policy.as_ref();
    let paths = sp.rib.paths(&prefix);
    let steps = sp.rib.explain_best(&prefix);
    for (i, path) in paths.iter().enumerate() {
        let received = sp.rib.received(&prefix, path);
        let peer = path.peer();
        let addr = peer.and_then(|id| sp.addr_of(id));
        let (source, source_kind) = match addr {
            Some(a) => (
                a.to_string(),
                if policy.is_some_and(|p| p.is_node(&a)) {
                    "node"
                } else {
                    "external"
                },
            ),
            None => ("local".to_string(), "local"),
        };
        // The import decision, re-run with the functions the RIB ran: loop checks, then
        // the policy's verdict.
        let verdict: Result<(), (String, String)> = match (peer, addr) {
            (Some(id), Some(a)) => sp
                .rib
                .import_loop(id, received)
                .map_err(|l| (l.label().to_string(), l.to_string()))
                .and_then(|()| match policy {
                    Some(pol) => pol
                        .import_verdict(a, &prefix, received)
                        .map_err(|why| (why.label().to_string(), why.to_string())),
                    None => Ok(()),
                }),
            _ => Ok(()),
        };
        let imported = path.accepted().is_some();
        if imported == verdict.is_err() {
            r.notes.push(format!(
                "the path from {source} is {} but the rules now say {}: a re-evaluation is due",
                if imported {
                    "held as accepted"
                } else {
                    "held as refused"
                },
                if imported { "refuse" } else { "accept" }
            ));
        }
        let (import_rule, import_reason) = match (&verdict, peer) {
            (_, None) => (
                "originated".to_string(),
                "originated by this node".to_string(),
            ),
            (Ok(()), _) => ("accepted".to_string(), "accepted".to_string()),
            (Err((rule, why)), _) => (rule.clone(), why.clone()),
        };
        r.paths.push(PathReport {
            source,
            source_kind: source_kind.into(),
            next_hop: received
                .next_hop_for(prefix.afi())
                .map(|n| n.to_string())
                .unwrap_or_else(|| "none".into()),
            as_path: received.as_path.to_string(),
            origin: received.origin.letter().into(),
            local_pref: received.local_pref,
            med: received.med,
            communities: communities(received),
            stale: path.is_stale(),
            imported,
            import_rule,
            import_reason,
            best: i == 0 && imported,
            // A refused path is never best: its import line says why.
            lost_at: steps
                .get(i)
                .copied()
                .flatten()
                .filter(|_| imported)
                .map(|s| format!("{} ({})", s, s.label())),
        });
    }
    if let Some(first) = r.paths.first().filter(|p| p.best) {
        let runner_up = r.paths.get(1).filter(|p| p.imported);
        let (step, reason) = match (steps.get(1).copied().flatten(), runner_up) {
            (Some(s), Some(other)) => (
                s.label().to_string(),
                format!("wins over the path from {}: {s}", other.source),
            ),
            _ => (
                "only-path".to_string(),
                "the only accepted path".to_string(),
            ),
        };
        r.best = Some(BestReport {
            source: first.source.clone(),
            step,
            reason,
        });
    }
    r.kernel = kernel(d, &prefix);
    // Export, peer by peer.
    let best = paths.first().filter(|p| p.accepted().is_some());
    let src_info = best.and_then(|b| b.peer()).and_then(|id| sp.rib.peer(id));
    for slot in sp.peers.values() {
        let addr = slot.plan.addr;
        let view = sp.rib.explain_export(slot.rib_id, &prefix);
        let mut e = PeerExportReport {
            peer: addr.to_string(),
            state: super::views::state_name(slot.fsm.state()).into(),
            pending: view.pending,
            ..PeerExportReport::default()
        };
        if let Some(a) = &view.sent {
            e.advertised = true;
            e.as_path = Some(a.as_path.to_string());
            e.next_hop = a.next_hop_for(prefix.afi()).map(|n| n.to_string());
            e.communities = communities(a);
            e.local_pref = a.local_pref;
            e.med = a.med;
        }
        let source = match src_info {
            Some(info) => Source::Peer(info),
            None => Source::Local,
        };
        match (&view.decision, policy) {
            (Ok(_), Some(pol)) => {
                if let Ok(acts) = pol.export_verdict(addr, &prefix, source) {
                    if !pol.is_node(&addr) {
                        e.prepend = acts.prepend.map(|(asn, n)| format!("{asn} x{n}"));
                        e.added_communities = acts
                            .communities
                            .iter()
                            .map(|c| format!("{}:{}", c >> 16, c & 0xffff))
                            .collect();
                        e.next_hop_self = acts.next_hop_self;
                    }
                }
            }
            (Err(ExportBlock::Policy), Some(pol)) => {
                match pol.export_verdict(addr, &prefix, source) {
                    Err(stop) => {
                        e.rule = Some(stop.label().into());
                        e.reason = Some(stop.to_string());
                    }
                    Ok(_) => {
                        e.rule = Some(ExportBlock::Policy.label().into());
                        e.reason = Some(ExportBlock::Policy.to_string());
                    }
                }
            }
            (Err(b), _) => {
                e.rule = Some(b.label().into());
                e.reason = Some(b.to_string());
            }
            (Ok(_), None) => {}
        }
        if !e.advertised && e.rule.is_none() {
            e.rule = Some("pending".into());
            e.reason = Some("decided, waiting for the next update to this peer".into());
        }
        r.peers.push(e);
    }
    if paths.is_empty() && r.local.is_none() {
        r.notes
            .push("no path: no peer sent this prefix and this node does not originate it".into());
    }
    r
}

fn kernel(d: &Daemon, prefix: &Prefix) -> KernelReport {
    let v = d.routes.explain(prefix, d.speaker.as_ref().map(|s| &s.rib));
    let mut k = KernelReport {
        installed: v.installed.as_ref().map(route_text),
        failure: v.failure,
        restart_hold: v.held,
        ..KernelReport::default()
    };
    match &v.wanted {
        Ok(WantedRoute::Via(nh)) => {
            k.wanted = Some(format!("via {nh}"));
            k.in_sync = v.installed == Some(RouteKind::Via(*nh));
        }
        Ok(WantedRoute::Tunnel { remote, link }) => {
            k.wanted = Some(match link {
                Some((name, ifindex)) => format!("dev #{ifindex} (tunnel {name} to {remote})"),
                None => format!("through a tunnel to {remote}, not made yet"),
            });
            k.in_sync = matches!(
                (link, v.installed),
                (Some((_, want)), Some(RouteKind::Dev { ifindex, .. })) if *want == ifindex
            );
        }
        Err(why) => {
            k.rule = Some(why.label().into());
            k.reason = Some(why.to_string());
        }
    }
    k
}

/// This node's own route for `prefix`, with the Services that make a VIP advertisable.
fn local_origin(d: &Daemon, prefix: &Prefix) -> Option<LocalOrigin> {
    let o = d.originated.get(prefix)?;
    let mut l = LocalOrigin {
        kind: match o.kind {
            OriginKind::PodCidr => "pod-cidr",
            OriginKind::Vip => "vip",
        }
        .into(),
        next_hop: o.next_hop.to_string(),
        services: Vec::new(),
    };
    if o.kind != OriginKind::Vip {
        return Some(l);
    }
    let node = d.snapshot.nodes.get(&d.node_name)?;
    let local = crate::cluster::node::NodeModel::from_node(node, &mut Vec::new());
    let snap = &d.snapshot;
    let slices_of = |svc| service_slices(snap, svc);
    for (service, why) in adverts::vip_origins(
        &d.settings,
        &local,
        snap.services.values(),
        slices_of,
        prefix.addr(),
    ) {
        l.services.push(VipService {
            service,
            kind: why.kind.label().into(),
            annotation: why.annotation.map(str::to_string),
            endpoint_slice: why.local_slice.clone(),
            reason: why.to_string(),
        });
    }
    Some(l)
}

/// The EndpointSlices that count for `svc`, as the plan groups them.
fn service_slices<'a>(
    snap: &'a crate::kube::snapshot::Snapshot,
    svc: &'a crate::kube::objects::Service,
) -> Vec<&'a crate::kube::objects::EndpointSlice> {
    snap.slices_for_service(&svc.metadata.namespace, &svc.metadata.name)
        .filter(|s| adverts::counts_for_service(s))
        .collect()
}
