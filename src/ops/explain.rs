//! `kube-bgp explain PREFIX`: the answer's data (what kube-bgp knows and decided about
//! one prefix) as it travels over the control socket, and its rendering for the
//! terminal. The daemon fills it from its own decisions (`daemon::explain`); nothing
//! here decides anything.

use serde::{Deserialize, Serialize};

/// Everything about one prefix.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ExplainReport {
    /// What was asked (a prefix, or an address looked up by longest match).
    pub(crate) query: String,
    /// The prefix explained (empty when nothing matched an address).
    pub(crate) prefix: String,
    /// This node originates it.
    pub(crate) local: Option<LocalOrigin>,
    /// Every path held, best first: accepted and refused.
    pub(crate) paths: Vec<PathReport>,
    pub(crate) best: Option<BestReport>,
    pub(crate) kernel: KernelReport,
    /// Per configured peer: advertised or not, and why.
    pub(crate) peers: Vec<PeerExportReport>,
    pub(crate) notes: Vec<String>,
}

/// A route this node originates.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LocalOrigin {
    /// `pod-cidr` or `vip`.
    pub(crate) kind: String,
    pub(crate) next_hop: String,
    /// For a VIP: each Service (and EndpointSlice) that makes it advertisable here.
    pub(crate) services: Vec<VipService>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct VipService {
    /// `namespace/name`.
    pub(crate) service: String,
    /// `cluster-ip`, `external-ip` or `loadbalancer-ip`.
    pub(crate) kind: String,
    /// The annotation that turned it on, if not the flag.
    pub(crate) annotation: Option<String>,
    /// `namespace/name` of the slice with a local endpoint (traffic policy Local).
    pub(crate) endpoint_slice: Option<String>,
    pub(crate) reason: String,
}

/// One path of the prefix.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PathReport {
    /// Peer address, or `local`.
    pub(crate) source: String,
    /// `node`, `external` or `local`.
    pub(crate) source_kind: String,
    /// Attributes as received (before import policy).
    pub(crate) next_hop: String,
    pub(crate) as_path: String,
    pub(crate) origin: String,
    pub(crate) local_pref: Option<u32>,
    pub(crate) med: Option<u32>,
    pub(crate) communities: Vec<String>,
    pub(crate) stale: bool,
    pub(crate) imported: bool,
    /// `accepted`, `originated`, or the rule that refused it (e.g. `not-a-pod-cidr`).
    pub(crate) import_rule: String,
    pub(crate) import_reason: String,
    pub(crate) best: bool,
    /// For a path that is not best: the step by which the best path beat it.
    pub(crate) lost_at: Option<String>,
}

/// The best path and why it won.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BestReport {
    pub(crate) source: String,
    /// The decision-process step that chose it over the runner-up (`only-path` when it
    /// had no competitor).
    pub(crate) step: String,
    pub(crate) reason: String,
}

/// The kernel side.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct KernelReport {
    /// kube-bgp's route for the prefix in the main table (`via …`, `dev …`).
    pub(crate) installed: Option<String>,
    /// The route wanted now.
    pub(crate) wanted: Option<String>,
    /// Why no route is wanted: rule and text.
    pub(crate) rule: Option<String>,
    pub(crate) reason: Option<String>,
    /// The last failure to install it.
    pub(crate) failure: Option<String>,
    /// Adopted routes of an earlier run are kept until the restart hold ends.
    pub(crate) restart_hold: bool,
    /// The installed route is the wanted one.
    #[serde(default)]
    pub(crate) in_sync: bool,
}

/// One peer: is the prefix advertised to it, with what, or why not.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PeerExportReport {
    pub(crate) peer: String,
    pub(crate) state: String,
    pub(crate) advertised: bool,
    /// A change for this prefix waits for the next flush.
    pub(crate) pending: bool,
    /// The rule that stopped it (RIB rule, or the export policy's).
    pub(crate) rule: Option<String>,
    pub(crate) reason: Option<String>,
    /// Attributes sent.
    pub(crate) as_path: Option<String>,
    pub(crate) next_hop: Option<String>,
    pub(crate) communities: Vec<String>,
    pub(crate) local_pref: Option<u32>,
    pub(crate) med: Option<u32>,
    /// Export actions applied towards external peers.
    pub(crate) prepend: Option<String>,
    pub(crate) added_communities: Vec<String>,
    pub(crate) next_hop_self: bool,
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map(|x| x.to_string()).unwrap_or_default()
}

/// The report as text.
pub(crate) fn render_explain(r: &ExplainReport) -> String {
    let mut o = String::new();
    if r.prefix.is_empty() {
        o.push_str(&format!("{}: no route known\n", r.query));
    } else if r.query != r.prefix {
        o.push_str(&format!("{} (longest match for {})\n", r.prefix, r.query));
    } else {
        o.push_str(&format!("{}\n", r.prefix));
    }
    if let Some(l) = &r.local {
        let what = if l.kind == "vip" {
            "a service VIP"
        } else {
            "its pod CIDR"
        };
        o.push_str(&format!(
            "  Originated by this node: {what}, next hop {}\n",
            l.next_hop
        ));
        for s in &l.services {
            o.push_str(&format!("    service {}: {}\n", s.service, s.reason));
        }
    }
    if !r.paths.is_empty() {
        o.push_str(&format!("  Paths ({}):\n", r.paths.len()));
    }
    for p in &r.paths {
        let mut attrs = vec![format!("next hop {}", p.next_hop)];
        if !p.as_path.is_empty() {
            attrs.push(format!("AS_PATH {}", p.as_path));
        }
        attrs.push(format!("origin {}", p.origin));
        if let Some(lp) = p.local_pref {
            attrs.push(format!("LOCAL_PREF {lp}"));
        }
        if let Some(m) = p.med {
            attrs.push(format!("MED {m}"));
        }
        if !p.communities.is_empty() {
            attrs.push(format!("communities {}", p.communities.join(" ")));
        }
        if p.stale {
            attrs.push("stale".into());
        }
        o.push_str(&format!(
            "  {} from {} ({}): {}\n",
            if p.best { "*>" } else { "  " },
            p.source,
            p.source_kind,
            attrs.join(", ")
        ));
        if p.imported {
            o.push_str(&format!("       import: {}\n", p.import_reason));
        } else {
            o.push_str(&format!(
                "       import: REFUSED [{}]: {}\n",
                p.import_rule, p.import_reason
            ));
        }
        if let Some(l) = &p.lost_at {
            o.push_str(&format!("       not best: the best path wins by {l}\n"));
        }
    }
    if let Some(b) = &r.best {
        o.push_str(&format!(
            "  Best path: from {} [{}]: {}\n",
            b.source, b.step, b.reason
        ));
    } else if !r.prefix.is_empty() {
        o.push_str("  Best path: none (no accepted path)\n");
    }
    let k = &r.kernel;
    match (&k.installed, &k.wanted) {
        (Some(i), Some(w)) if k.in_sync && i == w => {
            o.push_str(&format!("  Kernel: installed, {i}\n"))
        }
        (Some(i), Some(w)) if k.in_sync => o.push_str(&format!("  Kernel: installed, {i}: {w}\n")),
        (Some(i), Some(w)) => o.push_str(&format!(
            "  Kernel: installed {i}; wanted {w} (next pass)\n"
        )),
        (Some(i), None) => o.push_str(&format!(
            "  Kernel: installed {i}, not wanted any more [{}]: {}{}\n",
            opt(&k.rule),
            opt(&k.reason),
            if k.restart_hold {
                " (kept by the restart hold)"
            } else {
                ""
            }
        )),
        (None, Some(w)) => o.push_str(&format!("  Kernel: not installed yet, wanted {w}\n")),
        (None, None) => o.push_str(&format!(
            "  Kernel: no route [{}]: {}\n",
            opt(&k.rule),
            opt(&k.reason)
        )),
    }
    if let Some(f) = &k.failure {
        o.push_str(&format!("    last failure: {f}\n"));
    }
    if !r.peers.is_empty() {
        o.push_str("  Peers:\n");
    }
    for p in &r.peers {
        if p.advertised {
            let mut a = vec![format!("next hop {}", opt(&p.next_hop))];
            if let Some(ap) = p.as_path.as_ref().filter(|x| !x.is_empty()) {
                a.push(format!("AS_PATH {ap}"));
            }
            if !p.communities.is_empty() {
                a.push(format!("communities {}", p.communities.join(" ")));
            }
            if let Some(lp) = p.local_pref {
                a.push(format!("LOCAL_PREF {lp}"));
            }
            o.push_str(&format!(
                "    {} ({}): advertised, {}\n",
                p.peer,
                p.state,
                a.join(", ")
            ));
            let mut acts = Vec::new();
            if let Some(pp) = &p.prepend {
                acts.push(format!("prepend {pp}"));
            }
            if !p.added_communities.is_empty() {
                acts.push(format!("communities +{}", p.added_communities.join(" +")));
            }
            if p.next_hop_self {
                acts.push("next hop self".into());
            }
            if !acts.is_empty() {
                o.push_str(&format!("      export actions: {}\n", acts.join(", ")));
            }
        } else {
            o.push_str(&format!(
                "    {} ({}): not advertised [{}]: {}\n",
                p.peer,
                p.state,
                opt(&p.rule),
                opt(&p.reason)
            ));
        }
        if p.pending {
            o.push_str("      (a change waits for the next update)\n");
        }
    }
    for n in &r.notes {
        o.push_str(&format!("  Note: {n}\n"));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_shows_refusals_kernel_and_export_rules() {
        let r = ExplainReport {
            query: "10.244.9.0/24".into(),
            prefix: "10.244.9.0/24".into(),
            paths: vec![PathReport {
                source: "10.0.0.2".into(),
                source_kind: "node".into(),
                next_hop: "10.0.0.2".into(),
                origin: "i".into(),
                import_rule: "not-a-pod-cidr".into(),
                import_reason: "cluster nodes may only announce pod CIDRs".into(),
                ..Default::default()
            }],
            kernel: KernelReport {
                rule: Some("no-best-path".into()),
                reason: Some("no accepted path".into()),
                ..Default::default()
            },
            peers: vec![PeerExportReport {
                peer: "192.0.2.1".into(),
                state: "Established".into(),
                rule: Some("no-best-path".into()),
                reason: Some("no accepted path to send".into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        let t = render_explain(&r);
        assert!(t.contains("import: REFUSED [not-a-pod-cidr]"), "{t}");
        assert!(t.contains("Best path: none"), "{t}");
        assert!(t.contains("Kernel: no route [no-best-path]"), "{t}");
        assert!(
            t.contains("192.0.2.1 (Established): not advertised [no-best-path]"),
            "{t}"
        );
        let tunnel = ExplainReport {
            prefix: "10.244.3.0/24".into(),
            kernel: KernelReport {
                installed: Some("dev #7 src 10.0.0.1".into()),
                wanted: Some("dev #7 (tunnel tun-0a000003 to 10.0.0.3)".into()),
                in_sync: true,
                ..Default::default()
            },
            ..Default::default()
        };
        let t2 = render_explain(&tunnel);
        assert!(
            t2.contains("Kernel: installed, dev #7 src 10.0.0.1: dev #7 (tunnel tun-0a000003"),
            "{t2}"
        );
        let back: ExplainReport =
            serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }
}
