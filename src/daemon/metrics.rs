//! Prometheus metrics: kube-router's routing metric names and labels (its
//! `controller_bgp_*` collectors; docs/troubleshooting.md lists them), so
//! dashboards carry over, then kube-bgp's own (`kube_bgp_*`). Rendered from the
//! node's status model (`daemon::status`) alone; never shows a password.

use std::fmt::Write as _;

use crate::ops::http::prom;

use super::status::AgentStatus;
use super::views::{neighbor_row, status_info};

/// Prometheus text: kube-router's routing metrics, then kube-bgp's own. `st` must
/// carry the Loc-RIB's counts (`RibCounting::Walk`).
pub(crate) fn render(st: &AgentStatus) -> String {
    let mut o = String::new();
    let peers = &st.sessions;
    prom::header(
        &mut o,
        "kube_router_bgp_peer_info",
        "gauge",
        "BGP peer information",
    );
    for p in peers {
        let r = neighbor_row(st, p);
        prom::sample(
            &mut o,
            "kube_router_bgp_peer_info",
            &[
                ("address", &r.address),
                ("type", &r.peer_type),
                ("asn", &r.asn.to_string()),
                ("state", p.state.name()),
            ],
            1.0,
        );
    }
    prom::header(
        &mut o,
        "kube_router_controller_bgp_advertisements_received",
        "counter",
        "BGP best-path changes received from the RIB",
    );
    prom::sample(
        &mut o,
        "kube_router_controller_bgp_advertisements_received",
        &[],
        st.bgp.best_received as f64,
    );
    prom::header(
        &mut o,
        "kube_router_controller_bgp_advertisements_sent",
        "counter",
        "Routes this node originated (pod-route, advertise-vip) or withdrew (withdraw-vip)",
    );
    for (t, v) in [
        ("pod-route", st.bgp.pod_routes_advertised),
        ("advertise-vip", st.bgp.vips_advertised),
        ("withdraw-vip", st.bgp.vips_withdrawn),
    ] {
        prom::sample(
            &mut o,
            "kube_router_controller_bgp_advertisements_sent",
            &[("type", t)],
            v as f64,
        );
    }
    st.bgp.peers_sync_time.write(
        &mut o,
        "kube_router_controller_bgp_internal_peers_sync_time",
        "Time to apply the node peer set after a change",
    );
    st.egress_sync_time.write(
        &mut o,
        "kube_router_controller_routes_sync_time",
        "Time to sync the pod egress sets of every node's pod CIDRs and addresses (kube-router's node ipset sync)",
    );
    prom::header(
        &mut o,
        "kube_router_controller_bgp_peers",
        "gauge",
        "Nodes the peer set was computed from (kube-router counts the Node objects)",
    );
    prom::sample(
        &mut o,
        "kube_router_controller_bgp_peers",
        &[],
        st.api.nodes as f64,
    );
    st.kernel.pass_time.write(
        &mut o,
        "kube_router_host_routes_sync_time",
        "Time of a kernel route reconcile pass",
    );
    prom::header(
        &mut o,
        "kube_router_host_routes_synced",
        "gauge",
        "Routes kube-bgp has installed in the kernel",
    );
    prom::sample(
        &mut o,
        "kube_router_host_routes_synced",
        &[],
        st.kernel.installed as f64,
    );
    prom::header(
        &mut o,
        "kube_router_host_routes_added",
        "counter",
        "Kernel routes added or replaced",
    );
    prom::sample(
        &mut o,
        "kube_router_host_routes_added",
        &[],
        (st.kernel.added + st.kernel.replaced) as f64,
    );
    prom::header(
        &mut o,
        "kube_router_host_routes_removed",
        "counter",
        "Kernel routes removed",
    );
    prom::sample(
        &mut o,
        "kube_router_host_routes_removed",
        &[],
        st.kernel.deleted as f64,
    );
    let version = env!("CARGO_PKG_VERSION");
    prom::header(
        &mut o,
        "kube_router_build_info",
        "gauge",
        "Build information",
    );
    prom::sample(
        &mut o,
        "kube_router_build_info",
        &[("goversion", "none (kube-bgp, Rust)"), ("version", version)],
        1.0,
    );

    // kube-bgp's own.
    prom::header(
        &mut o,
        "kube_bgp_build_info",
        "gauge",
        "kube-bgp build information",
    );
    prom::sample(
        &mut o,
        "kube_bgp_build_info",
        &[
            ("version", version),
            (
                "commit",
                option_env!("KUBE_BGP_GIT_COMMIT").unwrap_or("unknown"),
            ),
        ],
        1.0,
    );
    prom::header(
        &mut o,
        "kube_bgp_peer_state_changes_total",
        "counter",
        "BGP session state changes per peer",
    );
    for p in peers {
        prom::sample(
            &mut o,
            "kube_bgp_peer_state_changes_total",
            &[("address", &p.addr.to_string())],
            p.state_changes as f64,
        );
    }
    prom::header(
        &mut o,
        "kube_bgp_peer_established_total",
        "counter",
        "Times each session reached Established",
    );
    for p in peers {
        prom::sample(
            &mut o,
            "kube_bgp_peer_established_total",
            &[("address", &p.addr.to_string())],
            p.established_transitions as f64,
        );
    }
    bfd_metrics(&mut o, st);
    prom::header(
        &mut o,
        "kube_bgp_import_refused_total",
        "counter",
        "Prefixes refused by import safety, by reason (each (peer, prefix) is logged once)",
    );
    for r in crate::cluster::rules::Reject::ALL {
        prom::sample(
            &mut o,
            "kube_bgp_import_refused_total",
            &[("reason", r.label())],
            st.import_refused.get(&r).copied().unwrap_or(0) as f64,
        );
    }
    prom::header(
        &mut o,
        "kube_bgp_ctl_requests_total",
        "counter",
        "Control-socket requests by verb (neighbor, rib, status, explain, and the admin actions disable, enable, softreset, softreset-in, softreset-out)",
    );
    for verb in [
        "neighbor",
        "rib",
        "status",
        "explain",
        "disable",
        "enable",
        "softreset",
        "softreset-in",
        "softreset-out",
    ] {
        prom::sample(
            &mut o,
            "kube_bgp_ctl_requests_total",
            &[("verb", verb)],
            st.ctl_requests.get(verb).copied().unwrap_or(0) as f64,
        );
    }
    prom::header(
        &mut o,
        "kube_bgp_ctl_refused_total",
        "counter",
        "Admin actions refused (the caller was neither root nor kube-bgp's user)",
    );
    prom::sample(
        &mut o,
        "kube_bgp_ctl_refused_total",
        &[],
        st.ctl_refused as f64,
    );
    prom::header(
        &mut o,
        "kube_bgp_peer_admin_down",
        "gauge",
        "1 for each neighbor disabled by `kube-bgp neighbor ADDR disable`",
    );
    for p in peers {
        prom::sample(
            &mut o,
            "kube_bgp_peer_admin_down",
            &[("address", &p.addr.to_string())],
            if p.admin_down.is_some() { 1.0 } else { 0.0 },
        );
    }
    let (uin, uout) = (st.bgp.updates_received, st.bgp.updates_sent);
    prom::header(
        &mut o,
        "kube_bgp_updates_received_total",
        "counter",
        "UPDATE messages received",
    );
    prom::sample(&mut o, "kube_bgp_updates_received_total", &[], uin as f64);
    prom::header(
        &mut o,
        "kube_bgp_updates_sent_total",
        "counter",
        "UPDATE messages sent",
    );
    prom::sample(&mut o, "kube_bgp_updates_sent_total", &[], uout as f64);
    let info = status_info(st);
    prom::header(
        &mut o,
        "kube_bgp_rib_prefixes",
        "gauge",
        "Prefixes in the Loc-RIB",
    );
    prom::sample(
        &mut o,
        "kube_bgp_rib_prefixes",
        &[("family", "ipv4")],
        info.rib_ipv4 as f64,
    );
    prom::sample(
        &mut o,
        "kube_bgp_rib_prefixes",
        &[("family", "ipv6")],
        info.rib_ipv6 as f64,
    );
    prom::header(
        &mut o,
        "kube_bgp_kernel_routes_pending",
        "gauge",
        "Prefixes waiting for a kernel reconcile pass",
    );
    prom::sample(
        &mut o,
        "kube_bgp_kernel_routes_pending",
        &[],
        st.kernel.pending as f64,
    );
    prom::header(
        &mut o,
        "kube_bgp_kernel_reconcile_total",
        "counter",
        "Kernel reconcile passes",
    );
    prom::sample(
        &mut o,
        "kube_bgp_kernel_reconcile_total",
        &[],
        st.kernel.passes as f64,
    );
    prom::header(
        &mut o,
        "kube_bgp_kernel_reconcile_duration_seconds",
        "gauge",
        "Duration of the last kernel reconcile pass",
    );
    prom::sample(
        &mut o,
        "kube_bgp_kernel_reconcile_duration_seconds",
        &[],
        st.kernel.last_pass.as_secs_f64(),
    );
    prom::header(
        &mut o,
        "kube_bgp_kernel_route_failures_total",
        "counter",
        "Kernel route operations that failed",
    );
    prom::sample(
        &mut o,
        "kube_bgp_kernel_route_failures_total",
        &[],
        st.kernel.failed as f64,
    );
    prom::header(
        &mut o,
        "kube_bgp_api_watch_state",
        "gauge",
        "1 for each resource's current API watch state",
    );
    for (res, state) in &info.api {
        let s = state.split(':').next().unwrap_or(state);
        prom::sample(
            &mut o,
            "kube_bgp_api_watch_state",
            &[("resource", res), ("state", s)],
            1.0,
        );
    }
    prom::header(
        &mut o,
        "kube_bgp_api_relists_total",
        "counter",
        "Relists after 410 or broken watches",
    );
    prom::sample(
        &mut o,
        "kube_bgp_api_relists_total",
        &[],
        st.api.relists as f64,
    );
    prom::header(
        &mut o,
        "kube_bgp_api_events_total",
        "counter",
        "Events received from the API watchers",
    );
    prom::sample(
        &mut o,
        "kube_bgp_api_events_total",
        &[],
        st.api.events as f64,
    );
    prom::header(
        &mut o,
        "kube_bgp_graceful_shutdown_active",
        "gauge",
        "1 while routes are announced with the GRACEFUL_SHUTDOWN community (RFC 8326): \
         the node is cordoned with --graceful-shutdown-on-cordon, or kube-bgp is stopping",
    );
    prom::sample(
        &mut o,
        "kube_bgp_graceful_shutdown_active",
        &[],
        if st.graceful_shutdown { 1.0 } else { 0.0 },
    );
    prom::header(
        &mut o,
        "kube_bgp_restart_hold_active",
        "gauge",
        "1 while routes an earlier run left in the kernel are kept at start (until the API \
         server and the peers have been heard, at most the deferral time after the API's \
         first list)",
    );
    prom::sample(
        &mut o,
        "kube_bgp_restart_hold_active",
        &[],
        if st.kernel.restart_hold.is_some() {
            1.0
        } else {
            0.0
        },
    );
    prom::header(
        &mut o,
        "kube_bgp_config_problems",
        "gauge",
        "Annotation or configuration problems in force",
    );
    prom::sample(
        &mut o,
        "kube_bgp_config_problems",
        &[],
        st.problems.len() as f64,
    );
    prom::header(
        &mut o,
        "kube_bgp_healthy",
        "gauge",
        "1 when /healthz answers OK",
    );
    prom::sample(
        &mut o,
        "kube_bgp_healthy",
        &[],
        if st.healthy { 1.0 } else { 0.0 },
    );
    let _ = writeln!(o);
    o
}

/// BFD: per protected peer its state, negotiated detection time, state changes and the
/// failures it detected (each ended the peer's BGP session), and node-wide drops.
fn bfd_metrics(o: &mut String, st: &AgentStatus) {
    prom::header(
        o,
        "kube_bgp_bfd_session_up",
        "gauge",
        "1 while the BFD session protecting a BGP peer is Up, else 0",
    );
    for (addr, b) in &st.bfd {
        prom::sample(
            o,
            "kube_bgp_bfd_session_up",
            &[("address", &addr.to_string()), ("hop", b.hop.name())],
            if b.state == crate::bfd::BfdState::Up {
                1.0
            } else {
                0.0
            },
        );
    }
    prom::header(
        o,
        "kube_bgp_bfd_detection_time_seconds",
        "gauge",
        "Negotiated BFD detection time (peer multiplier x agreed receive interval)",
    );
    for (addr, b) in &st.bfd {
        if let Some(t) = b.detection_time {
            prom::sample(
                o,
                "kube_bgp_bfd_detection_time_seconds",
                &[("address", &addr.to_string())],
                t.as_secs_f64(),
            );
        }
    }
    prom::header(
        o,
        "kube_bgp_bfd_state_changes_total",
        "counter",
        "BFD session state changes per peer",
    );
    for (addr, b) in &st.bfd {
        prom::sample(
            o,
            "kube_bgp_bfd_state_changes_total",
            &[("address", &addr.to_string())],
            b.state_changes as f64,
        );
    }
    prom::header(
        o,
        "kube_bgp_bfd_failures_total",
        "counter",
        "Forwarding failures BFD detected per peer (each ends the BGP session with Cease 6/10), by cause",
    );
    for (addr, b) in &st.bfd {
        let a = addr.to_string();
        for (cause, v) in [
            ("detection_time_expired", b.detection_expired),
            ("peer_down", b.peer_down),
        ] {
            prom::sample(
                o,
                "kube_bgp_bfd_failures_total",
                &[("address", &a), ("cause", cause)],
                v as f64,
            );
        }
    }
    prom::header(
        o,
        "kube_bgp_bfd_peer_admin_down_total",
        "counter",
        "Times a BFD peer went AdminDown (planned; the BGP session is kept)",
    );
    for (addr, b) in &st.bfd {
        prom::sample(
            o,
            "kube_bgp_bfd_peer_admin_down_total",
            &[("address", &addr.to_string())],
            b.peer_admin_down as f64,
        );
    }
    prom::header(
        o,
        "kube_bgp_bfd_packets_dropped_total",
        "counter",
        "Received BFD packets dropped, by reason",
    );
    for (reason, v) in &st.bfd_drops {
        prom::sample(
            o,
            "kube_bgp_bfd_packets_dropped_total",
            &[("reason", reason)],
            *v as f64,
        );
    }
}
