//! The node agent's status as plain data: exactly what the control socket's views
//! (`kube-bgp neighbor`, `kube-bgp status`) and the Prometheus metrics show, copied
//! from the owners' state at one instant by [`Daemon::status`]. `daemon::views` and
//! `daemon::metrics` render from it and never reach into the daemon's parts.
//!
//! Owns nothing live: each [`AgentStatus`] is a copy taken when asked, in one pass over
//! the peers and the BFD sessions, plus one pass over the Loc-RIB to count its
//! prefixes only when the caller asks for it ([`RibCounting::Walk`]: `status` and
//! `/metrics`; a table of a million prefixes is not walked for `kube-bgp neighbor`).
//! Must not hold references into the daemon, decide anything, or carry what no view
//! shows (no paths; of a password only whether one is set). Listings and lookups of
//! routes are queries, not status: `global rib` reads the Loc-RIB through
//! [`Daemon::loc_rib_reader`], `explain` through `daemon::explain`.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use crate::bfd::{BfdState, BfdTimers, Diag, HopMode};
use crate::bgp::fsm::{Negotiated, State};
use crate::bgp::rib::{PeerId, Rib};
use crate::cluster::Problem;
use crate::cluster::peers::PeerKind;
use crate::cluster::rules::Reject;
use crate::kube::objects::ResourceKind;
use crate::kube::snapshot::SyncState;
use crate::ops::ctl::MessageCounters;
use crate::ops::http::prom::Histogram;
use crate::prefix::{Afi, Prefix};

use super::Daemon;
use super::speaker::{PeerSlot, SpeakerCore};

/// Whether [`Daemon::status`] counts the Loc-RIB's prefixes (one pass over the table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RibCounting {
    Skip,
    Walk,
}

/// The node agent's status at one instant.
#[derive(Clone, Debug)]
pub(crate) struct AgentStatus {
    /// This node's name.
    pub(crate) node: String,
    /// The BGP identity the plan gives this node; none while BGP cannot run.
    pub(crate) identity: Option<IdentityStatus>,
    /// `--nodes-full-mesh`.
    pub(crate) full_mesh: bool,
    /// What `/healthz` answers ([`Daemon::healthy`]).
    pub(crate) healthy: bool,
    /// Annotation and configuration problems in force.
    pub(crate) problems: Vec<Problem>,
    pub(crate) api: ApiStatus,
    /// Every configured peer's session, by address; none before BGP runs.
    pub(crate) sessions: Vec<SessionStatus>,
    /// The BFD sessions protecting BGP peers, by peer address.
    pub(crate) bfd: BTreeMap<IpAddr, BfdStatus>,
    /// Received BFD packets dropped, by reason.
    pub(crate) bfd_drops: BTreeMap<&'static str, u64>,
    pub(crate) bgp: BgpTotals,
    /// Prefixes in the Loc-RIB, when asked for ([`RibCounting::Walk`]).
    pub(crate) loc_rib: Option<LocRibCounts>,
    pub(crate) kernel: KernelSyncStatus,
    /// Time to sync the pod egress sets (kube-router's `controller_routes_sync_time`).
    pub(crate) egress_sync_time: Histogram,
    /// Prefixes refused by import safety, by reason.
    pub(crate) import_refused: BTreeMap<Reject, u64>,
    /// Control-socket requests by verb, and admin actions refused.
    pub(crate) ctl_requests: BTreeMap<&'static str, u64>,
    pub(crate) ctl_refused: u64,
    /// Routes are announced with GRACEFUL_SHUTDOWN (a cordon, or the stop's drain).
    pub(crate) graceful_shutdown: bool,
}

/// The node's BGP identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IdentityStatus {
    pub(crate) router_id: Ipv4Addr,
    pub(crate) local_asn: u32,
    /// The route reflector cluster ID when this node is a server.
    pub(crate) rr_server: Option<Ipv4Addr>,
    /// The cluster ID of the servers this node is a client of.
    pub(crate) rr_client: Option<Ipv4Addr>,
}

/// Where the API watches stand.
#[derive(Clone, Debug, Default)]
pub(crate) struct ApiStatus {
    /// Each watched resource's state; none before its first list.
    pub(crate) watches: Vec<(ResourceKind, Option<SyncState>)>,
    /// Node objects known.
    pub(crate) nodes: usize,
    /// Events received from the watchers, and relists among them.
    pub(crate) events: u64,
    pub(crate) relists: u64,
}

/// One configured peer and its session.
#[derive(Clone, Debug)]
pub(crate) struct SessionStatus {
    pub(crate) addr: IpAddr,
    pub(crate) port: u16,
    pub(crate) remote_asn: u32,
    pub(crate) local_asn: u32,
    pub(crate) rr_client: bool,
    /// Where the peer comes from (a Node, `--peer-router-ips`, an annotation).
    pub(crate) kind: PeerKind,
    pub(crate) state: State,
    /// How long the session has been in `state`; none before its first change.
    pub(crate) in_state_for: Option<Duration>,
    /// Paths received from the peer, accepted by import, and advertised to it.
    pub(crate) received: u64,
    pub(crate) accepted: u64,
    pub(crate) advertised: u64,
    /// Disabled by `kube-bgp neighbor ADDR disable`, with the message sent.
    pub(crate) admin_down: Option<String>,
    /// The connection's source address, else the configured one.
    pub(crate) local_addr: Option<IpAddr>,
    /// What the session negotiated, while it is Established.
    pub(crate) negotiated: Option<Negotiated>,
    /// The configured hold time, families, TTL and whether a password is set.
    pub(crate) hold_time: u16,
    pub(crate) families: Vec<Afi>,
    pub(crate) ttl: Option<u8>,
    pub(crate) password: bool,
    pub(crate) sent: MessageCounters,
    pub(crate) received_msgs: MessageCounters,
    pub(crate) established_transitions: u64,
    pub(crate) state_changes: u64,
    /// The last NOTIFICATION sent or received, else the last connection error.
    pub(crate) last_error: Option<String>,
}

/// One BFD session protecting a BGP peer.
#[derive(Clone, Debug)]
pub(crate) struct BfdStatus {
    pub(crate) hop: HopMode,
    pub(crate) local: IpAddr,
    pub(crate) port: u16,
    /// The configured timers.
    pub(crate) timers: BfdTimers,
    pub(crate) local_discr: u32,
    pub(crate) remote_discr: u32,
    pub(crate) state: BfdState,
    pub(crate) remote_state: BfdState,
    /// The agreed transmit interval and detection time, once known.
    pub(crate) tx_interval: Option<Duration>,
    pub(crate) detection_time: Option<Duration>,
    pub(crate) remote_detect_mult: u8,
    pub(crate) local_diag: Diag,
    pub(crate) remote_diag: Diag,
    /// Since the last state change.
    pub(crate) in_state_for: Duration,
    pub(crate) state_changes: u64,
    /// Failures detected: the detection time expired, the peer said Down.
    pub(crate) detection_expired: u64,
    pub(crate) peer_down: u64,
    /// The peer's AdminDowns (not failures).
    pub(crate) peer_admin_down: u64,
}

/// BGP totals of the node.
#[derive(Clone, Debug, Default)]
pub(crate) struct BgpTotals {
    pub(crate) updates_received: u64,
    pub(crate) updates_sent: u64,
    /// Best-path changes taken from the RIB.
    pub(crate) best_received: u64,
    /// Routes originated (pod CIDRs, service VIPs) and VIPs withdrawn.
    pub(crate) pod_routes_advertised: u64,
    pub(crate) vips_advertised: u64,
    pub(crate) vips_withdrawn: u64,
    /// Time to apply the peer set after a change.
    pub(crate) peers_sync_time: Histogram,
}

/// Prefixes in the Loc-RIB, per family.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LocRibCounts {
    pub(crate) ipv4: usize,
    pub(crate) ipv6: usize,
}

/// The kernel route sync's totals.
#[derive(Clone, Debug, Default)]
pub(crate) struct KernelSyncStatus {
    /// Routes installed, and prefixes waiting for a pass.
    pub(crate) installed: usize,
    pub(crate) pending: usize,
    pub(crate) passes: u64,
    pub(crate) added: u64,
    pub(crate) replaced: u64,
    pub(crate) deleted: u64,
    pub(crate) failed: u64,
    /// The last pass's duration, and all passes'.
    pub(crate) last_pass: Duration,
    pub(crate) pass_time: Histogram,
    /// Routes of an earlier run kept at start, while the restart hold lasts.
    pub(crate) restart_hold: Option<RestartHoldStatus>,
}

/// The restart hold on routes an earlier run left (`daemon::restart_hold`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RestartHoldStatus {
    /// Time left until the deferral bound ends the hold at the latest; none before the
    /// API's first list (the bound has not started).
    pub(crate) bound_in: Option<Duration>,
}

/// The Loc-RIB for `global rib` listings and lookups, and who sent each path: a query
/// the control socket runs part by part, not status.
pub(crate) struct LocRibReader<'a> {
    pub(crate) rib: &'a Rib,
    speaker: &'a SpeakerCore,
}

impl LocRibReader<'_> {
    /// The address of the peer a path came from (none for this node's own routes).
    pub(crate) fn source(&self, id: PeerId) -> Option<IpAddr> {
        self.speaker.addr_of(id)
    }

    /// The Loc-RIB's prefixes (one pass over the table).
    pub(crate) fn prefixes(&self) -> impl Iterator<Item = Prefix> + '_ {
        self.rib.loc_rib().map(|(p, _)| p)
    }
}

impl Daemon {
    /// The node's status at `now`, from each part's owner; `rib` says whether to count
    /// the Loc-RIB's prefixes (a pass over the whole table).
    pub(crate) fn status(&self, now: Instant, rib: RibCounting) -> AgentStatus {
        let sp = self.speaker.as_ref();
        let sessions = sp
            .map(|s| {
                s.peers
                    .values()
                    .map(|p| session_status(s, p, now))
                    .collect()
            })
            .unwrap_or_default();
        let bfd = self
            .bfd
            .sessions()
            .map(|(addr, l, s)| {
                let status = BfdStatus {
                    hop: l.key.hop,
                    local: l.key.local,
                    port: l.port,
                    timers: l.timers,
                    local_discr: s.local_discr(),
                    remote_discr: s.remote_discr(),
                    state: s.state(),
                    remote_state: s.remote_state(),
                    tx_interval: s.tx_interval(),
                    detection_time: s.detection_time(),
                    remote_detect_mult: s.remote_detect_mult(),
                    local_diag: s.local_diag(),
                    remote_diag: s.remote_diag(),
                    in_state_for: now.saturating_duration_since(s.last_change()),
                    state_changes: l.state_changes,
                    detection_expired: l.detection_expired,
                    peer_down: l.peer_down,
                    peer_admin_down: l.peer_admin_down,
                };
                (*addr, status)
            })
            .collect();
        let loc_rib = (rib == RibCounting::Walk).then(|| {
            let mut n = LocRibCounts::default();
            for (p, _) in sp.into_iter().flat_map(|s| s.rib.loc_rib()) {
                match p.afi() {
                    Afi::Ipv4 => n.ipv4 += 1,
                    Afi::Ipv6 => n.ipv6 += 1,
                }
            }
            n
        });
        let c = &self.counters;
        let stats = &self.routes.stats;
        AgentStatus {
            node: self.node_name.clone(),
            identity: self.plan.identity.as_ref().map(|m| IdentityStatus {
                router_id: m.router_id,
                local_asn: m.local_asn,
                rr_server: m.rr_server,
                rr_client: m.rr_client,
            }),
            full_mesh: self.settings.nodes_full_mesh,
            healthy: self.healthy(now),
            problems: self.plan.problems.clone(),
            api: ApiStatus {
                watches: ResourceKind::ALL
                    .iter()
                    .map(|k| (*k, self.snapshot.state(*k).cloned()))
                    .collect(),
                nodes: self.snapshot.nodes.len(),
                events: c.api_events,
                relists: c.relists,
            },
            sessions,
            bfd,
            bfd_drops: self.bfd.counters.drops.clone(),
            bgp: BgpTotals {
                updates_received: sp.map_or(0, |s| s.updates_in),
                updates_sent: sp.map_or(0, |s| s.updates_out),
                best_received: c.best_received,
                pod_routes_advertised: c.adv_pod_route,
                vips_advertised: c.adv_vip,
                vips_withdrawn: c.withdraw_vip,
                peers_sync_time: c.peers_sync_time.clone(),
            },
            loc_rib,
            kernel: KernelSyncStatus {
                installed: self.routes.installed(),
                pending: self.routes.pending(),
                passes: stats.passes,
                added: stats.added,
                replaced: stats.replaced,
                deleted: stats.deleted,
                failed: stats.failed,
                last_pass: stats.last_duration,
                pass_time: stats.sync_time.clone(),
                restart_hold: self.routes.hold_bound().map(|b| RestartHoldStatus {
                    bound_in: b.map(|t| t.saturating_duration_since(now)),
                }),
            },
            egress_sync_time: c.routes_sync_time.clone(),
            import_refused: self.refusals.counts(),
            ctl_requests: c.ctl_requests.borrow().clone(),
            ctl_refused: c.ctl_refused,
            graceful_shutdown: self
                .policy
                .as_ref()
                .is_some_and(|p| p.model.graceful_shutdown),
        }
    }

    /// Whether the daemon is healthy in kube-router's sense at `now`: BGP is running
    /// (the plan produced an identity) and the loop is turning.
    pub(crate) fn healthy(&self, now: Instant) -> bool {
        self.plan.identity.is_some()
            && self.speaker.is_some()
            && now.saturating_duration_since(self.last_heartbeat)
                < self.cfg.routes_sync_period + Duration::from_secs(5)
    }

    /// The addresses of the peers whose sessions are Established (none before BGP
    /// runs): what the stop's drain counts and the simulator checks, without the
    /// rest of [`Daemon::status`].
    pub(crate) fn established_peers(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.speaker.iter().flat_map(|sp| {
            sp.peers
                .iter()
                .filter(|(_, p)| p.fsm.state() == State::Established)
                .map(|(a, _)| *a)
        })
    }

    /// The Loc-RIB to list or look up routes in; none before BGP runs.
    pub(crate) fn loc_rib_reader(&self) -> Option<LocRibReader<'_>> {
        self.speaker.as_ref().map(|s| LocRibReader {
            rib: &s.rib,
            speaker: s,
        })
    }

    /// The path the metrics endpoint answers on (`--metrics-path`).
    pub(crate) fn metrics_path(&self) -> &str {
        &self.cfg.metrics_path
    }
}

/// One peer's session as the views show it.
fn session_status(sp: &SpeakerCore, p: &PeerSlot, now: Instant) -> SessionStatus {
    let counters = sp.rib.counters(p.rib_id).unwrap_or_default();
    let last_error = p
        .fsm
        .last_notification()
        .map(|l| {
            format!(
                "{} NOTIFICATION {}",
                if l.sent { "sent" } else { "received" },
                l.notification
            )
        })
        .or_else(|| p.stats.last_error.clone());
    SessionStatus {
        addr: p.plan.addr,
        port: p.plan.port,
        remote_asn: p.plan.remote_asn,
        local_asn: p.plan.local_asn,
        rr_client: p.plan.rr_client,
        kind: p.plan.kind.clone(),
        state: p.fsm.state(),
        in_state_for: p
            .stats
            .state_since
            .map(|t| now.saturating_duration_since(t)),
        received: counters.received as u64,
        accepted: counters.accepted as u64,
        advertised: counters.advertised as u64,
        admin_down: p.admin_down.clone(),
        local_addr: p.stats.local_addr.or(p.plan.local_addr),
        negotiated: p.fsm.negotiated().cloned(),
        hold_time: p.plan.hold_time,
        families: p.plan.families.clone(),
        ttl: p.plan.ttl,
        password: p.plan.password.is_some(),
        sent: p.stats.sent.clone(),
        received_msgs: p.stats.received.clone(),
        established_transitions: p.stats.established_transitions,
        state_changes: p.stats.state_changes,
        last_error,
    }
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
