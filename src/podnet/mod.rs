//! The pod network on this node: everything kube-router's routing controller sets up
//! on a host besides routes and BGP.
//!
//! * the CNI configuration (`--enable-cni`): the bridge plugin's IPAM ranges are the
//!   node's pod CIDRs, its MTU the node interface's (`cni`);
//! * `kube-bridge`, created and up, with that MTU (`--auto-mtu`) (`bridge`);
//! * pod egress (`--enable-pod-egress`): traffic from pods to anything that is neither
//!   a pod nor a node is masqueraded, in nftables table `inet kube-bgp` (`egress`);
//! * the FORWARD accept rules for pod traffic in iptables' filter table (`forward`);
//! * forwarding and bridge-netfilter sysctls (`sysctl`);
//! * what kube-router's egress left behind: its MASQUERADE rules and ipsets
//!   (`kuberouter`, `ipset`);
//! * `--cleanup-config` (`cleanup`).
//!
//! Shape: `plan::compute` is pure (flags + cluster facts + the node interface → the
//! host state wanted); `host` compares each piece with the kernel and the file system
//! and applies the difference; `PodNet` is the daemon's handle: facts and `now` in, a
//! deadline out, readiness of two subscriptions (link changes, nftables changes) so a
//! deleted `kube-bridge` or a flushed ruleset is repaired at once. Every failure is
//! logged once with its context and retried with backoff; nothing here ever blocks or
//! stops BGP, and nothing runs an external program or loads a kernel module.

mod bridge;
pub mod cleanup;
mod cni;
mod egress;
mod forward;
mod host;
mod ipset;
mod kuberouter;
mod nfmsg;
mod nfsock;
mod plan;
mod sysctl;

use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use crate::cluster::PodNetwork;
use crate::config::Config;
use crate::net::timers::Stopwatch;
use crate::{info, warn};

use host::{Host, HostError};
use nfmsg::NfFamily;
use nfsock::{NFNLGRP_NFTABLES, NfSock};
use plan::PodNetConfig;

const NETLINK_ROUTE: libc::c_int = 0;
const RTNLGRP_LINK: u32 = 1;
/// First retry after a failure; doubled up to `MAX_BACKOFF`.
const MIN_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A change notification is acted on this soon (coalescing bursts)...
const EVENT_DELAY: Duration = Duration::from_millis(50);
/// ...but checks triggered by notifications are at least this far apart (a check
/// takes a few milliseconds; this bounds the work when something rewrites rules in a
/// loop).
const EVENT_GAP: Duration = Duration::from_millis(200);
/// After kube-router's rules were removed, its sets are destroyed this much later
/// (the kernel releases the rules' references to them asynchronously).
const SETTLE_DELAY: Duration = Duration::from_secs(1);

/// The pieces checked, each with its own error state (per family where a family can
/// fail on its own, so one family's success never hides the other's failure).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Piece {
    Sockets,
    Links,
    Addresses,
    Sysctl,
    Bridge,
    Cni,
    Forward { v6: bool },
    Egress,
    KubeRouter { v6: bool },
}

impl std::fmt::Display for Piece {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fam = |v6: bool| if v6 { "IPv6" } else { "IPv4" };
        match self {
            Piece::Sockets => f.write_str("netlink sockets"),
            Piece::Links => f.write_str("reading links"),
            Piece::Addresses => f.write_str("reading addresses"),
            Piece::Sysctl => f.write_str("sysctls"),
            Piece::Bridge => f.write_str("kube-bridge"),
            Piece::Cni => f.write_str("CNI configuration"),
            Piece::Forward { v6 } => write!(f, "{} FORWARD accept rules", fam(*v6)),
            Piece::Egress => f.write_str("pod egress table"),
            Piece::KubeRouter { v6 } => {
                write!(f, "kube-router's {} egress rules and ipsets", fam(*v6))
            }
        }
    }
}

/// The daemon's handle on the pod network.
pub(crate) struct PodNet {
    cfg: PodNetConfig,
    facts: Option<PodNetwork>,
    host: Option<Host>,
    /// Link and nftables change subscriptions (`None` if they could not be opened:
    /// the periodic check still repairs everything).
    link_watch: Option<NfSock>,
    nft_watch: Option<NfSock>,
    own_ports: Vec<u32>,
    due: Option<Instant>,
    last_check: Option<Instant>,
    backoff: Duration,
    /// The error last logged per piece (logged again only when it changes).
    errors: BTreeMap<Piece, String>,
    /// One-time notices already logged.
    noted: BTreeSet<String>,
    /// Index of the node interface (link events about it, and about any link named
    /// kube-bridge, matter).
    watched_links: Vec<u32>,
    /// kube-router's sets exist: changes in the nat tables matter.
    kube_router_left: bool,
    /// Whether the last check was waiting for a pod CIDR for the CNI configuration.
    waiting_for_cidr: bool,
    /// Time the current check spent on the egress sets and kube-router's ipsets.
    sets_time: Duration,
}

impl PodNet {
    /// Sets up the handle (no host change before the first facts arrive).
    pub(crate) fn new(cfg: &Config) -> PodNet {
        let cni_path = cni::conf_path(
            cfg.cni_conf_path.as_deref(),
            std::env::var_os(cni::ENV_CONF_FILE),
            |p| p.exists(),
        );
        let pc = PodNetConfig {
            enable_cni: cfg.enable_cni,
            cni_path,
            auto_mtu: cfg.auto_mtu,
            egress: cfg.enable_pod_egress,
            period: cfg.routes_sync_period,
        };
        info!(
            "podnet",
            "pod network: CNI configuration {}, kube-bridge MTU {}, pod egress masquerade {}",
            if pc.enable_cni {
                pc.cni_path.display().to_string()
            } else {
                "not managed (--enable-cni=false)".into()
            },
            if pc.auto_mtu {
                "from the node interface"
            } else {
                "left as is (--auto-mtu=false)"
            },
            if pc.egress { "on" } else { "off" }
        );
        let link_watch = match NfSock::open_proto(NETLINK_ROUTE, &[RTNLGRP_LINK]) {
            Ok(s) => Some(s),
            Err(e) => {
                warn!(
                    "podnet",
                    "link change notifications unavailable ({e}); kube-bridge is checked every {:?}",
                    pc.period
                );
                None
            }
        };
        let nft_watch = match NfSock::open(&[NFNLGRP_NFTABLES]) {
            Ok(s) => Some(s),
            Err(e) => {
                warn!(
                    "podnet",
                    "nftables change notifications unavailable ({e}); rules are checked every {:?}",
                    pc.period
                );
                None
            }
        };
        PodNet {
            cfg: pc,
            facts: None,
            host: None,
            link_watch,
            nft_watch,
            own_ports: Vec::new(),
            due: None,
            last_check: None,
            backoff: MIN_BACKOFF,
            errors: BTreeMap::new(),
            noted: BTreeSet::new(),
            watched_links: Vec::new(),
            kube_router_left: false,
            waiting_for_cidr: false,
            sets_time: Duration::ZERO,
        }
    }

    /// The subscription sockets to register (readable) with the event loop.
    pub(crate) fn fds(&self) -> Vec<RawFd> {
        [&self.link_watch, &self.nft_watch]
            .into_iter()
            .flatten()
            .map(|s| s.as_raw_fd())
            .collect()
    }

    /// New cluster facts (after every plan the daemon applies). A change is acted on
    /// at once.
    pub(crate) fn set_facts(&mut self, facts: &PodNetwork, now: Instant) {
        if self.facts.as_ref() != Some(facts) {
            self.facts = Some(facts.clone());
            self.due = Some(now);
        } else if self.due.is_none() {
            self.due = Some(now);
        }
    }

    /// Checks everything again at once (SIGHUP).
    pub(crate) fn check_now(&mut self, now: Instant) {
        self.due = Some(now);
    }

    /// When `run` next has work.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.facts.as_ref().and(self.due)
    }

    /// A subscription socket is readable: reads the notifications and schedules a
    /// check soon when one concerns the pod network.
    pub(crate) fn on_readable(&mut self, now: Instant) {
        let mut relevant = false;
        if let Some(w) = self.link_watch.as_mut() {
            let watched = &self.watched_links;
            let lost = w.drain(&mut |kind, _pid, payload| {
                relevant |= link_change_matters(kind, payload, watched);
            });
            relevant |= lost;
        }
        if let Some(w) = self.nft_watch.as_mut() {
            let own = &self.own_ports;
            let nat = self.kube_router_left;
            let lost = w.drain(&mut |kind, pid, payload| {
                relevant |= !own.contains(&pid) && nft_change_matters(kind, payload, nat);
            });
            relevant |= lost;
        }
        if relevant {
            crate::debug!("podnet", "a change notification concerns the pod network");
            let soonest = self
                .last_check
                .map_or(now, |t| t + EVENT_GAP)
                .max(now + EVENT_DELAY);
            self.due = Some(self.due.map_or(soonest, |d| d.min(soonest)));
        }
    }

    /// Checks and repairs the host if due. Returns, when a check ran, how long keeping
    /// the pod egress sets (every node's pod CIDRs and addresses, and kube-router's
    /// ipsets of the same) took: kube-router's `controller_routes_sync_time` measures
    /// its sync of those sets.
    pub(crate) fn run(&mut self, now: Instant) -> Option<Duration> {
        // Called on every turn of the event loop: nothing but this comparison until a
        // check is due (the facts list every node's CIDRs and addresses).
        if self.due.is_none_or(|d| now < d) {
            return None;
        }
        let facts = self.facts.clone()?;
        self.last_check = Some(now);
        self.sets_time = Duration::ZERO;
        let took = Stopwatch::start();
        let HostCheck { ok, settling } = self.check(&facts);
        crate::debug!(
            "podnet",
            "checked the pod network in {:?}{}",
            took.elapsed(),
            if ok { "" } else { " (something failed)" }
        );
        let next = if ok {
            self.backoff = MIN_BACKOFF;
            self.cfg.period
        } else {
            let b = self.backoff;
            self.backoff = (b * 2).min(MAX_BACKOFF);
            b
        };
        self.due = Some(next_check(now, next, settling));
        Some(self.sets_time)
    }

    /// Records the outcome of one piece; returns whether it succeeded.
    fn outcome<T>(&mut self, piece: Piece, r: Result<T, HostError>) -> Option<T> {
        match r {
            Ok(v) => {
                if self.errors.remove(&piece).is_some() {
                    info!("podnet", "{piece}: working again");
                }
                Some(v)
            }
            Err(e) => {
                let text = e.to_string();
                if self.errors.get(&piece) != Some(&text) {
                    warn!("podnet", "{text} (retrying)");
                    self.errors.insert(piece, text);
                }
                None
            }
        }
    }

    fn note_once(&mut self, key: &str, text: &str) {
        if self.noted.insert(key.to_string()) {
            warn!("podnet", "{text}");
        }
    }

    /// One pass over every piece.
    fn check(&mut self, facts: &PodNetwork) -> HostCheck {
        if self.host.is_none() {
            let h = Host::open();
            self.host = self.outcome(Piece::Sockets, h);
            if let Some(h) = &self.host {
                self.own_ports = h.port_ids();
            }
        }
        let Some(mut host) = self.host.take() else {
            return HostCheck::FAILED;
        };
        let pass = self.check_with(&mut host, facts);
        self.host = Some(host);
        pass
    }

    fn check_with(&mut self, host: &mut Host, facts: &PodNetwork) -> HostCheck {
        let mut ok = true;
        let links = host.links();
        let Some(links) = self.outcome(Piece::Links, links) else {
            return HostCheck::FAILED;
        };
        let node_if = match facts.local_primary {
            Some(ip) => {
                let l = host.link_holding(&links, ip);
                match self.outcome(Piece::Addresses, l) {
                    Some(Some(l)) => Some(l),
                    Some(None) => {
                        self.note_once(
                            "no-node-if",
                            &format!(
                                "no local interface holds the node address {ip}: kube-bridge keeps \
                                 its MTU and the FORWARD rule for the node interface is left out"
                            ),
                        );
                        None
                    }
                    None => {
                        ok = false;
                        None
                    }
                }
            }
            None => None,
        };
        let plan = plan::compute(&self.cfg, facts, node_if.as_ref());
        self.watched_links = node_if.iter().map(|l| l.index).collect();

        // Forwarding and bridge netfilter.
        let sys = sysctl::Sysctl::new();
        let mut sys_result = Ok(());
        for s in &plan.sysctls {
            let name = s.key.replace('/', ".");
            match sys.apply(s) {
                Ok(sysctl::Applied::Unchanged) => {}
                Ok(sysctl::Applied::Changed(old)) => {
                    info!("podnet", "sysctl {name} {old} -> {}", s.value)
                }
                Ok(sysctl::Applied::Missing) if s.key.starts_with("net/bridge/") => self.note_once(
                    s.key,
                    &format!(
                        "{name} does not exist: bridge netfilter (the br_netfilter module) is not \
                         loaded, so traffic between pods on one node bypasses iptables; kube-bgp \
                         loads no modules: run `modprobe br_netfilter` and list it in \
                         /etc/modules-load.d/ if you need it"
                    ),
                ),
                Ok(sysctl::Applied::Missing) => self.note_once(
                    s.key,
                    &format!("{name} does not exist in this kernel (IPv6 disabled?)"),
                ),
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::EROFS | libc::EACCES | libc::EPERM)
                    ) =>
                {
                    // Nothing kube-bgp can change (an unprivileged container has a
                    // read-only /proc/sys): say it once, do not retry.
                    self.note_once(
                        s.key,
                        &format!(
                            "cannot set {name} = {} ({e}); set it on the host (sysctl -w, and in \
                             /etc/sysctl.d/ to keep it)",
                            s.value
                        ),
                    )
                }
                Err(e) => {
                    if sys_result.is_ok() {
                        sys_result = Err(HostError::File(format!("sysctl {name}"), e));
                    }
                }
            }
        }
        ok &= self.outcome(Piece::Sysctl, sys_result).is_some();

        // kube-bridge.
        let r = host.ensure_bridge(&links, plan.bridge_mtu);
        match self.outcome(Piece::Bridge, r) {
            Some(changes) => {
                for c in changes {
                    info!("podnet", "{c}");
                }
            }
            None => ok = false,
        }

        // CNI configuration.
        if self.cfg.enable_cni {
            match &plan.cni {
                None => {
                    if !self.waiting_for_cidr {
                        info!(
                            "podnet",
                            "the local Node has no pod CIDR yet: the CNI configuration is written \
                             once it has one"
                        );
                        self.waiting_for_cidr = true;
                    }
                }
                Some(want) => {
                    self.waiting_for_cidr = false;
                    let path = self.cfg.cni_path.clone();
                    let r = host.ensure_cni(&path, want);
                    match self.outcome(Piece::Cni, r) {
                        Some(Some(c)) => info!("podnet", "{c}"),
                        Some(None) => {}
                        None => ok = false,
                    }
                }
            }
        }

        // FORWARD accept rules.
        let mut fwd_ok = true;
        for fam in [NfFamily::Ipv4, NfFamily::Ipv6] {
            let r = host.ensure_forward(fam, &plan.forward);
            let v6 = fam == NfFamily::Ipv6;
            match self.outcome(Piece::Forward { v6 }, r) {
                Some(changes) => {
                    for c in changes {
                        info!("podnet", "{c}");
                    }
                }
                None => fwd_ok = false,
            }
        }
        ok &= fwd_ok;
        for v6 in [false, true] {
            if host::legacy_tables(v6).iter().any(|t| t == "filter") {
                let cmd = if v6 {
                    "ip6tables-legacy"
                } else {
                    "iptables-legacy"
                };
                self.note_once(
                    &format!("legacy-filter-{v6}"),
                    &format!(
                        "the legacy iptables backend has a filter table on this node: kube-bgp \
                         writes its FORWARD accept rules only through nftables (iptables-nft) and \
                         cannot see or change x_tables rules; if that FORWARD policy is DROP, add \
                         `{cmd} -I FORWARD 1 -i {b} -j ACCEPT` and `{cmd} -I FORWARD 1 -o {b} -j ACCEPT`",
                        b = bridge::BRIDGE
                    ),
                );
            }
        }

        // Pod egress.
        let sets = Stopwatch::start();
        let r = host.ensure_egress(plan.egress.as_ref());
        match self.outcome(Piece::Egress, r) {
            Some(Some(c)) => info!("podnet", "{c}"),
            Some(None) => {}
            None => ok = false,
        }

        // kube-router's leftovers.
        let mut left = false;
        let mut settling = false;
        let mut changes = Vec::new();
        let mut kr_ok = true;
        for v6 in [false, true] {
            let i = usize::from(v6);
            let r = host.settle_kube_router(
                v6,
                &plan.kube_router_sets.pod_subnets[i],
                &plan.kube_router_sets.node_ips[i],
                &mut changes,
            );
            match self.outcome(Piece::KubeRouter { v6 }, r) {
                Some(l) => {
                    left |= !l.sets.is_empty();
                    // Sets of rules removed just now are released by the kernel a
                    // little later: not a sign of a rule kube-bgp cannot see.
                    settling |= l.rules_removed > 0 && !l.sets.is_empty();
                    let unseen = if l.rules_removed > 0 {
                        &[][..]
                    } else {
                        &l.taken_over[..]
                    };
                    for name in unseen {
                        self.note_once(
                            &format!("taken-over-{name}"),
                            &format!(
                                "kube-router's ipset {name} is still used by a rule kube-bgp \
                                 cannot remove (iptables' legacy backend?): kube-bgp keeps its \
                                 members up to date so that rule stays correct; delete kube-router's \
                                 MASQUERADE rule from nat POSTROUTING and kube-bgp removes the set"
                            ),
                        );
                    }
                }
                None => kr_ok = false,
            }
        }
        ok &= kr_ok;
        self.sets_time = sets.elapsed();
        for c in &changes {
            info!("podnet", "{c}");
        }
        self.kube_router_left = left;
        HostCheck { ok, settling }
    }
}

/// What one check of the host found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct HostCheck {
    /// Every piece succeeded.
    ok: bool,
    /// kube-router's rules were removed just now and its sets are still there.
    settling: bool,
}

impl HostCheck {
    const FAILED: HostCheck = HostCheck {
        ok: false,
        settling: false,
    };
}

/// When the check after one run at `now` is due: `next` later (the period, or the
/// backoff after a failure), or sooner when kube-router's sets wait for the kernel to
/// let go of the deleted rules (`settling`): they are destroyed `SETTLE_DELAY` later.
fn next_check(now: Instant, next: Duration, settling: bool) -> Instant {
    let wanted = now + next;
    if settling {
        wanted.min(now + SETTLE_DELAY)
    } else {
        wanted
    }
}

/// Whether a link notification concerns the pod network: any link named kube-bridge,
/// or one of `watched` (the node interface, whose MTU pods get).
fn link_change_matters(kind: u16, payload: &[u8], watched: &[u32]) -> bool {
    if kind != bridge::RTM_NEWLINK && kind != bridge::RTM_DELLINK {
        return false;
    }
    bridge::parse_link(payload)
        .is_some_and(|l| l.name == bridge::BRIDGE || watched.contains(&l.index))
}

/// Whether an nftables notification concerns the pod network: a change to iptables'
/// filter tables (FORWARD), to our egress table, or (while kube-router's sets are still
/// there) to the nat tables. Every table, chain, rule, set and element message names its
/// table in attribute 1; generation messages name none.
fn nft_change_matters(kind: u16, payload: &[u8], nat: bool) -> bool {
    if kind >> 8 != nfmsg::NFNL_SUBSYS_NFTABLES {
        return false;
    }
    let fam = payload.first().copied().unwrap_or(0);
    let table = nfmsg::find(payload.get(4..).unwrap_or(&[]), 1).map(nfmsg::as_str);
    let ip = fam == NfFamily::Ipv4 as u8 || fam == NfFamily::Ipv6 as u8;
    match table.as_deref() {
        Some(forward::FILTER_TABLE) => ip,
        Some(kuberouter::NAT_TABLE) => ip && nat,
        Some(egress::TABLE) => fam == NfFamily::Inet as u8,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::nfmsg::fixtures::messages;
    use super::*;

    fn payloads(fixture: &str) -> Vec<(u16, Vec<u8>)> {
        messages(fixture)
            .into_iter()
            .map(|m| (u16::from_ne_bytes([m[4], m[5]]), m[16..].to_vec()))
            .collect()
    }

    /// The next check is a period (or a backoff) after the `now` of the check that ran,
    /// and a settle delay after it when kube-router's sets wait for the kernel.
    #[test]
    fn next_check_counts_from_the_given_now() {
        let t0 = Instant::now() + Duration::from_secs(3600);
        let period = Duration::from_secs(300);
        assert_eq!(next_check(t0, period, false), t0 + period);
        assert_eq!(next_check(t0, period, true), t0 + SETTLE_DELAY);
        // A backoff shorter than the settle delay wins.
        let backoff = Duration::from_millis(250);
        assert_eq!(next_check(t0, backoff, true), t0 + backoff);
        assert_eq!(next_check(t0, backoff, false), t0 + backoff);
        // Nothing but the given instant counts: an hour later, the same distances.
        let t1 = t0 + Duration::from_secs(3600);
        assert_eq!(next_check(t1, period, true) - t1, SETTLE_DELAY);
    }

    /// What the nftables subscription would deliver for these captured changes.
    #[test]
    fn which_nftables_changes_matter() {
        // Our own table being written (every message names inet kube-bgp).
        let ours = payloads(include_str!("testdata/nft_egress_create.hex"));
        let named: Vec<bool> = ours
            .iter()
            .filter(|(k, _)| *k >> 8 == nfmsg::NFNL_SUBSYS_NFTABLES)
            .map(|(k, p)| nft_change_matters(*k, p, false))
            .collect();
        assert!(!named.is_empty() && named.iter().all(|m| *m), "{named:?}");
        // A rule in ip filter FORWARD.
        for (k, p) in payloads(include_str!("testdata/ipt_forward_in.hex")) {
            if k >> 8 == nfmsg::NFNL_SUBSYS_NFTABLES {
                assert!(nft_change_matters(k, &p, false));
            }
        }
        // nat rules matter only while kube-router's sets exist.
        let nat: Vec<_> = payloads(include_str!("testdata/ipt_kuberouter_nat_dump.hex"))
            .into_iter()
            .filter(|(k, _)| *k == (nfmsg::NFNL_SUBSYS_NFTABLES << 8) | 6)
            .collect();
        assert!(!nat.is_empty());
        for (k, p) in &nat {
            assert!(!nft_change_matters(*k, p, false));
            assert!(nft_change_matters(*k, p, true));
        }
        // Batch markers and ipset messages never do; garbage does not panic.
        assert!(!nft_change_matters(0x10, &[0, 0, 0, 10], false));
        assert!(!nft_change_matters(0x0609, &[2, 0, 0, 0], true));
        assert!(!nft_change_matters((10 << 8) | 6, &[], true));
    }

    #[test]
    fn which_link_changes_matter() {
        let mut w = crate::kernel::codec::MsgWriter::new();
        bridge::encode_create(&mut w, bridge::BRIDGE);
        bridge::encode_create(&mut w, "eth7");
        let msgs = w.take();
        let first = u32::from_ne_bytes(msgs[0..4].try_into().expect("len")) as usize;
        let (a, b) = (&msgs[16..first], &msgs[first + 16..]);
        assert!(link_change_matters(bridge::RTM_NEWLINK, a, &[]));
        assert!(link_change_matters(bridge::RTM_DELLINK, a, &[]));
        assert!(!link_change_matters(bridge::RTM_NEWLINK, b, &[]));
        // eth7 is written with index 0 here: watched as the node interface, it matters.
        assert!(link_change_matters(bridge::RTM_NEWLINK, b, &[0]));
        assert!(!link_change_matters(20, a, &[]), "an address message");
        assert!(!link_change_matters(bridge::RTM_NEWLINK, &a[..8], &[]));
    }
}
