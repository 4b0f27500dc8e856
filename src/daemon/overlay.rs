//! The overlay's kernel objects, as kube-router makes them: one `tun-*` tunnel per
//! cluster-node next hop that needs one (ipip/ip6tnl, or inside GUE with
//! `--overlay-encap=fou`), its host route in table 77, the FoU/GUE receive port of each
//! address family, and the `from <pod CIDR> lookup 77` rules.
//!
//! Owns: the link/rule netlink socket and the FoU socket (both opened through the kernel
//! port's `LinkPort`: the host's, or a simulated kernel's), the tunnels made (next hop
//! -> ifindex and parameters) and the rules made. A tunnel is made when a reconcile pass
//! that routes through it asks for it (`make`), before the pass's batch is sent; a
//! link of the same name
//! with other parameters (another encapsulation after a restart with another
//! `--overlay-encap`, another port, another local address) is replaced. Tunnels that no
//! installed route uses any more are deleted (`prune`): that is how a deleted node's
//! tunnel goes, and how tunnels left by an earlier run are cleaned up (D6). Must not:
//! decide which next hops get tunnels (`routes::route_for`, D7) or touch any link that
//! is not one of our `tun-*` tunnels.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use crate::config::{Config, OverlayEncap};
use crate::kernel::fou::{self, FouPorts};
use crate::kernel::modules;
use crate::kernel::netlink::NetlinkRequests;
use crate::kernel::port::LinkPort;
use crate::kernel::tunnel::{self, TunnelAction, TunnelEncap, TunnelError, TunnelSpec};
use crate::prefix::Prefix;
use crate::{debug, info, warn};

/// How `--overlay-encap` and `--overlay-encap-port` encapsulate the tunnels.
fn encap_of(cfg: &Config) -> TunnelEncap {
    match cfg.overlay_encap {
        OverlayEncap::Ipip => TunnelEncap::Ipip,
        OverlayEncap::Fou => TunnelEncap::Gue {
            port: cfg.overlay_encap_port,
        },
    }
}

/// A tunnel this run made or checked.
#[derive(Clone, Copy, Debug)]
struct MadeTunnel {
    ifindex: u32,
    spec: TunnelSpec,
}

pub(crate) struct OverlayLinks {
    /// Where the sockets come from, and how modules are loaded.
    port: Box<dyn LinkPort>,
    /// Links, table 77 and rules (`None`: netlink unavailable).
    nl: Option<Box<dyn NetlinkRequests>>,
    /// FoU ports, opened only for `--overlay-encap=fou`.
    fou: Option<FouPorts>,
    encap: TunnelEncap,
    made: BTreeMap<IpAddr, MadeTunnel>,
    /// This kernel cannot make tunnels of the kind needed: none are tried any more.
    unsupported: bool,
    /// Address families (AF_INET/AF_INET6) whose GUE port is known open.
    gue_open: BTreeSet<u8>,
    /// Next hops whose tunnel failed, with the error last logged (logged once each).
    failed: BTreeMap<IpAddr, String>,
    /// A link was replaced: routes through its old ifindex must all be planned again.
    replaced: bool,
    /// Orphaned tunnels are to be looked for at the next `prune`.
    orphan_check: bool,
    rules: BTreeSet<Prefix>,
    /// The kernel's table-77 rules have been read once, so that those an earlier run
    /// left for pod CIDRs this node no longer has are removed.
    rules_swept: bool,
}

impl OverlayLinks {
    /// For `--overlay-encap=fou` loads the `fou` and `fou6` modules (as kube-router
    /// runs `modprobe fou fou6`) and opens the FoU socket; `overlay` is whether tunnels
    /// are wanted at all. Everything goes through `port`.
    pub(crate) fn new(cfg: &Config, overlay: bool, mut port: Box<dyn LinkPort>) -> OverlayLinks {
        let encap = encap_of(cfg);
        let mut fou = None;
        if encap != TunnelEncap::Ipip {
            if overlay {
                for m in ["fou", "fou6"] {
                    match port.load_module(m) {
                        Ok(modules::Loaded::Now(v)) => {
                            info!("kernel", "loaded kernel modules {}", v.join(", "))
                        }
                        Ok(modules::Loaded::Already) => {}
                        Err(e) => warn!(
                            "kernel",
                            "--overlay-encap=fou: cannot load kernel module {m}: {e}"
                        ),
                    }
                }
            }
            match port.open_generic() {
                Ok(nl) => fou = Some(FouPorts::over(nl)),
                Err(e) => warn!("kernel", "FoU ports unavailable: {e}"),
            }
        }
        OverlayLinks {
            nl: port.open_links().ok(),
            port,
            fou,
            encap,
            made: BTreeMap::new(),
            unsupported: false,
            gue_open: BTreeSet::new(),
            failed: BTreeMap::new(),
            replaced: false,
            orphan_check: true,
            rules: BTreeSet::new(),
            rules_swept: false,
        }
    }

    /// The link socket's netlink port id (its route notifications are ours).
    pub(crate) fn port_id(&self) -> Option<u32> {
        self.nl.as_ref().and_then(|nl| nl.port_id())
    }

    /// The tunnel this run made to `remote` (its name and ifindex), or the error that
    /// kept it from being made; `None` for both when it was never tried.
    pub(crate) fn tunnel_state(&self, remote: &IpAddr) -> (Option<(String, u32)>, Option<&str>) {
        let made = self
            .made
            .get(remote)
            .map(|m| (tunnel::tunnel_name(remote), m.ifindex));
        (made, self.failed.get(remote).map(String::as_str))
    }

    /// Whether this kernel has shown it cannot make the tunnels.
    pub(crate) fn unsupported(&self) -> bool {
        self.unsupported
    }

    /// Whether a link was replaced since the last call (every route may need planning).
    pub(crate) fn take_replaced(&mut self) -> bool {
        std::mem::take(&mut self.replaced)
    }

    /// How the tunnels are encapsulated (`--overlay-encap`, `--overlay-encap-port`).
    pub(crate) fn encap(&self) -> TunnelEncap {
        self.encap
    }

    /// The ifindex of the tunnel this run made to `spec.remote`, if it was made with
    /// exactly `spec` (else a pass must `make` it).
    pub(crate) fn made(&self, spec: &TunnelSpec) -> Option<u32> {
        self.made
            .get(&spec.remote)
            .filter(|m| m.spec == *spec)
            .map(|m| m.ifindex)
    }

    fn fail(&mut self, remote: IpAddr, why: String) -> Option<u32> {
        if self.failed.get(&remote) != Some(&why) {
            warn!(
                "kernel",
                "tunnel to {remote}: {why}; its routes wait (tried again when they change, and at every --injected-routes-sync-period)"
            );
            self.failed.insert(remote, why);
        }
        None
    }

    /// The GUE receive port for `remote`'s family is open (opened now if needed).
    fn gue_port(&mut self, port: u16, remote: IpAddr) -> Result<(), String> {
        let af = fou::af_of(remote.is_ipv6());
        if self.gue_open.contains(&af) {
            return Ok(());
        }
        let Some(f) = self.fou.as_mut() else {
            return Err("no FoU socket".into());
        };
        match f.add_gue(port, af) {
            Ok(opened) => {
                if opened {
                    info!(
                        "kernel",
                        "FoU/GUE receive port {port} open ({})",
                        if remote.is_ipv6() { "IPv6" } else { "IPv4" }
                    );
                }
                self.gue_open.insert(af);
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        }
    }

    /// Closes the port of a GUE tunnel that went away (replaced or removed), unless
    /// the current settings still use it.
    fn close_old_port(&mut self, was: Option<TunnelEncap>, remote: IpAddr) {
        let Some(TunnelEncap::Gue { port }) = was else {
            return;
        };
        if self.encap == (TunnelEncap::Gue { port }) {
            return;
        }
        let af = fou::af_of(remote.is_ipv6());
        let closed = match self.fou.as_mut() {
            Some(f) => f.remove(port, af),
            None => match self.port.open_generic() {
                Ok(nl) => FouPorts::over(nl).remove(port, af),
                Err(e) => Err(e.into()),
            },
        };
        match closed {
            Ok(true) => info!(
                "kernel",
                "FoU port {port} ({}) closed: no GUE tunnel uses it",
                if remote.is_ipv6() { "IPv6" } else { "IPv4" }
            ),
            Ok(false) => {}
            Err(e) => warn!("kernel", "closing FoU port {port}: {e}"),
        }
    }

    /// Makes (or replaces) the tunnel `spec` with its table-77 route, a tunnel a pass
    /// asked for (one call per tunnel per pass); its ifindex, or `None` if it cannot be
    /// made (logged once per error).
    pub(crate) fn make(&mut self, spec: TunnelSpec) -> Option<u32> {
        if let Some(ifindex) = self.made(&spec) {
            return Some(ifindex);
        }
        if self.unsupported {
            return None;
        }
        let remote = spec.remote;
        if let TunnelEncap::Gue { port } = spec.encap {
            if let Err(e) = self.gue_port(port, remote) {
                return self.fail(remote, format!("FoU/GUE port {port}: {e}"));
            }
        }
        let nl = self.nl.as_deref_mut()?;
        let port = &mut self.port;
        let mut load = |m: &str| port.load_module(m).is_ok();
        let ensured = match tunnel::ensure_tunnel_loading(nl, &spec, &mut load) {
            Ok(e) => e,
            Err(TunnelError::Unsupported { kind, error }) => {
                warn!(
                    "kernel",
                    "this kernel cannot create {kind} tunnels ({error}); routes to off-subnet nodes are not installed"
                );
                self.unsupported = true;
                return None;
            }
            Err(e) => return self.fail(remote, e.to_string()),
        };
        if let Err(e) = tunnel::ensure_tunnel_route(nl, remote, ensured.ifindex) {
            warn!("kernel", "table 77 route to {remote}: {e}");
        }
        let name = tunnel::tunnel_name(&remote);
        match ensured.action {
            TunnelAction::Kept => info!(
                "kernel",
                "tunnel {name} to {remote} ({}) kept from an earlier run", spec.encap
            ),
            TunnelAction::Created => {
                info!("kernel", "tunnel {name} to {remote} ({}) up", spec.encap)
            }
            TunnelAction::Replaced { was } => {
                info!(
                    "kernel",
                    "tunnel {name} to {remote} replaced: {} -> {}",
                    was.map_or("another kind of link".to_string(), |w| w.to_string()),
                    spec.encap
                );
                self.replaced = true;
                self.close_old_port(was, remote);
            }
        }
        if let Some(old) = self.made.get(&remote) {
            if old.ifindex != ensured.ifindex {
                self.replaced = true;
            }
        }
        self.failed.remove(&remote);
        self.made.insert(
            remote,
            MadeTunnel {
                ifindex: ensured.ifindex,
                spec,
            },
        );
        Some(ensured.ifindex)
    }

    /// Whether `prune` has work: a tunnel made by this run is no longer in `used`, or
    /// orphans of an earlier run are still to be looked for.
    pub(crate) fn prune_due(&self, used: &BTreeSet<u32>) -> bool {
        self.orphan_check || self.made.values().any(|m| !used.contains(&m.ifindex))
    }

    /// Asks for a look for orphaned tunnels at the next `prune`.
    pub(crate) fn check_orphans(&mut self) {
        self.orphan_check = true;
    }

    /// Deletes every `tun-*` tunnel whose ifindex no installed route uses (`used`):
    /// tunnels of deleted nodes, and those an earlier run left. Their table-77 routes go
    /// with them; so does the FoU port of a GUE tunnel the current settings no longer
    /// use. On the periodic check (`check_orphans`) it also puts back what someone else
    /// removed: a tunnel that vanished is made again when its routes are planned (they
    /// all are), a table-77 route or a rule is re-added.
    pub(crate) fn prune(&mut self, used: &BTreeSet<u32>) {
        self.made.retain(|_, m| used.contains(&m.ifindex));
        let Some(nl) = self.nl.as_deref_mut() else {
            return;
        };
        let links = match tunnel::dump_links(nl) {
            Ok(l) => l,
            Err(e) => {
                debug!("kernel", "listing links for orphaned tunnels: {e}");
                return;
            }
        };
        if std::mem::take(&mut self.orphan_check) {
            let present: BTreeSet<(u32, &str)> =
                links.iter().map(|l| (l.ifindex, l.name.as_str())).collect();
            let before = self.made.len();
            self.made.retain(|remote, m| {
                present.contains(&(m.ifindex, tunnel::tunnel_name(remote).as_str()))
            });
            if self.made.len() != before {
                warn!(
                    "kernel",
                    "{} tunnel(s) were deleted by someone else; making them again",
                    before - self.made.len()
                );
                self.replaced = true;
            }
            for (remote, m) in &self.made {
                if let Err(e) = tunnel::ensure_tunnel_route(nl, *remote, m.ifindex) {
                    warn!("kernel", "table 77 route to {remote}: {e}");
                }
            }
            for p in &self.rules {
                if let Err(e) = tunnel::ensure_rule(nl, p) {
                    warn!("kernel", "rule from {p} lookup 77: {e}");
                }
            }
            if let (TunnelEncap::Gue { port }, Some(f)) = (self.encap, self.fou.as_mut()) {
                for af in &self.gue_open {
                    match f.add_gue(port, *af) {
                        Ok(true) => warn!(
                            "kernel",
                            "FoU port {port} was closed by someone else; opened again"
                        ),
                        Ok(false) => {}
                        Err(e) => warn!("kernel", "FoU port {port}: {e}"),
                    }
                }
            }
        }
        let keep: BTreeSet<String> = links
            .iter()
            .filter(|l| used.contains(&l.ifindex))
            .map(|l| l.name.clone())
            .collect();
        match tunnel::remove_orphans(nl, &keep) {
            Ok(gone) => {
                for l in gone {
                    info!("kernel", "removed tunnel {} (no route uses it)", l.name);
                    let remote = l.tunnel.and_then(|t| t.remote);
                    if let Some(r) = remote {
                        self.close_old_port(l.tunnel.and_then(|t| t.encap()), r);
                    }
                }
            }
            Err(e) => debug!("kernel", "orphaned tunnels: {e}"),
        }
    }

    /// Makes the `from <pod CIDR> lookup 77` rules exactly `want` (overlay on: the
    /// local pod CIDRs; off: none, and any left by an earlier run are removed too).
    /// The first call also removes every other rule to table 77 an earlier run left
    /// (for a pod CIDR the node no longer has).
    pub(crate) fn sync_rules(&mut self, want: &BTreeSet<Prefix>, forget: &[Prefix]) {
        let Some(nl) = self.nl.as_deref_mut() else {
            return;
        };
        if !self.rules_swept {
            match tunnel::table_77_rules(nl) {
                Ok(found) => {
                    self.rules_swept = true;
                    let stale: BTreeSet<Prefix> = found
                        .into_iter()
                        .filter(|p| !want.contains(p) && !self.rules.contains(p))
                        .collect();
                    for p in stale {
                        match tunnel::remove_rule(nl, &p) {
                            Ok(()) => info!(
                                "kernel",
                                "removed rule from {p} lookup 77 (not a local pod CIDR)"
                            ),
                            Err(e) => warn!("kernel", "removing rule from {p} lookup 77: {e}"),
                        }
                    }
                }
                Err(e) => debug!("kernel", "reading the rules to table 77: {e}"),
            }
        }
        for p in self.rules.difference(want).copied().collect::<Vec<_>>() {
            if let Err(e) = tunnel::remove_rule(nl, &p) {
                warn!("kernel", "removing rule from {p} lookup 77: {e}");
            }
            self.rules.remove(&p);
        }
        for p in want {
            if !self.rules.contains(p) {
                match tunnel::ensure_rule(nl, p) {
                    Ok(()) => {
                        self.rules.insert(*p);
                    }
                    Err(e) => warn!("kernel", "adding rule from {p} lookup 77: {e}"),
                }
            }
        }
        for p in forget {
            if !want.contains(p) {
                let _ = tunnel::remove_rule(nl, p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DaemonAction, parse_daemon_args};
    use crate::kernel::sim::SimKernel;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    fn cfg() -> Config {
        match parse_daemon_args(vec!["--enable-overlay=true".into()]) {
            Ok(DaemonAction::Run { config, .. }) => *config,
            _ => panic!("flags"),
        }
    }

    /// A node at `local` on its /24 (or /64), and its overlay over the kernel's port.
    fn node(local: &str) -> (SimKernel, OverlayLinks) {
        let local = ip(local);
        let subnet = Prefix::new(local, if local.is_ipv4() { 24 } else { 64 }).expect("p");
        let k = SimKernel::new(local, subnet);
        let links = OverlayLinks::new(&cfg(), true, k.port().link_port());
        (k, links)
    }

    fn fou_cfg() -> Config {
        let flags = [
            "--enable-overlay=true",
            "--overlay-encap=fou",
            "--overlay-encap-port=6000",
        ];
        match parse_daemon_args(flags.iter().map(Into::into).collect()) {
            Ok(DaemonAction::Run { config, .. }) => *config,
            _ => panic!("flags"),
        }
    }

    fn spec(local: &str, remote: &str) -> TunnelSpec {
        TunnelSpec {
            local: ip(local),
            remote: ip(remote),
            encap: TunnelEncap::Ipip,
        }
    }

    #[test]
    fn tunnels_table_77_and_rules_go_through_the_kernel_port() {
        let (k, mut links) = node("10.0.0.1");
        let s = spec("10.0.0.1", "10.0.1.7");
        let name = tunnel::tunnel_name(&s.remote);
        let idx = links.make(s).expect("made");
        let v = k.overlay();
        assert_eq!(
            v.tunnels.get(&name),
            Some(&(s, true)),
            "created, then set up"
        );
        let t77: BTreeMap<Prefix, String> = [(Prefix::host(s.remote), name.clone())].into();
        assert_eq!(v.table77, t77);
        assert_eq!(links.make(s), Some(idx), "made once");
        let pods: BTreeSet<Prefix> = ["10.244.1.0/24".parse().expect("p")].into();
        links.sync_rules(&pods, &[]);
        links.sync_rules(&pods, &[]);
        assert_eq!(k.overlay().rules, pods.iter().copied().collect::<Vec<_>>());

        // The agent restarts: the tunnel and the rule are found, not made again.
        drop(links);
        let mut links = OverlayLinks::new(&cfg(), true, k.port().link_port());
        assert_eq!(links.make(s), Some(idx), "kept from the earlier run");
        assert!(!links.take_replaced());
        links.sync_rules(&pods, &[]);
        assert_eq!(k.overlay().rules.len(), 1);

        // No installed route uses it: it goes, and its table-77 route with it.
        assert!(links.prune_due(&BTreeSet::new()));
        links.prune(&BTreeSet::new());
        let v = k.overlay();
        assert!(v.tunnels.is_empty() && v.table77.is_empty(), "{v:?}");
        // The overlay turned off: the rules go.
        links.sync_rules(&BTreeSet::new(), &[]);
        assert!(k.overlay().rules.is_empty());
    }

    /// Found by the simulator (a dual-stack node re-provisioned without its IPv6 pod
    /// CIDR): a rule an earlier run made for a pod CIDR the node no longer has stayed,
    /// as the new run only knew the rules it made itself.
    #[test]
    fn a_rule_an_earlier_run_left_for_a_former_pod_cidr_goes() {
        let k = SimKernel::with_addresses(&[
            (ip("10.0.0.1"), "10.0.0.0/24".parse().expect("p")),
            (ip("fd00::1"), "fd00::/64".parse().expect("p")),
        ]);
        let v4: Prefix = "10.244.1.0/24".parse().expect("p");
        let v6: Prefix = "fd00:244:1::/64".parse().expect("p");
        let mut links = OverlayLinks::new(&cfg(), true, k.port().link_port());
        links.sync_rules(&[v4, v6].into(), &[]);
        assert_eq!(k.overlay().rules.len(), 2);
        drop(links);
        let mut links = OverlayLinks::new(&cfg(), true, k.port().link_port());
        links.sync_rules(&[v4].into(), &[v4]);
        assert_eq!(k.overlay().rules, vec![v4]);
    }

    #[test]
    fn a_tunnel_deleted_by_someone_else_is_made_again() {
        let (k, mut links) = node("10.0.0.1");
        let s = spec("10.0.0.1", "10.0.1.7");
        let name = tunnel::tunnel_name(&s.remote);
        let idx = links.make(s).expect("made");
        assert!(k.delete_link(&name));
        assert!(k.overlay().table77.is_empty(), "its route went with it");
        // The link notification asks for a look at the tunnels.
        links.check_orphans();
        let used: BTreeSet<u32> = [idx].into();
        links.prune(&used);
        assert!(
            links.take_replaced(),
            "every route through it is planned again"
        );
        let again = links.make(s).expect("made again");
        assert_ne!(again, idx);
        assert_eq!(k.overlay().tunnels.get(&name), Some(&(s, true)));
        assert_eq!(k.overlay().table77.len(), 1);
    }

    #[test]
    fn an_ipv6_tunnel_is_an_ip6tnl_with_a_host_route() {
        let (k, mut links) = node("fd00::1");
        let s = spec("fd00::1", "fd00:1::7");
        links.make(s).expect("made");
        let v = k.overlay();
        assert_eq!(v.tunnels.len(), 1);
        assert_eq!(
            v.table77.keys().copied().collect::<Vec<_>>(),
            vec![Prefix::host(s.remote)]
        );
        // A GUE tunnel cannot be made by an overlay set up for ipip (it opened no FoU
        // socket): logged, none made, nothing else disturbed.
        let gue = TunnelSpec {
            encap: TunnelEncap::Gue { port: 5555 },
            ..spec("fd00::1", "fd00:2::7")
        };
        assert_eq!(links.make(gue), None);
        assert_eq!(links.tunnel_state(&gue.remote).0, None);
        assert_eq!(k.overlay().tunnels.len(), 1);
    }

    /// `--overlay-encap=fou`: the GUE port of the tunnel's family is opened before its
    /// first tunnel, found (not opened again) by a restarted agent, and closed when a
    /// restart with `--overlay-encap=ipip` replaces the tunnel.
    #[test]
    fn fou_opens_the_gue_port_of_each_family_before_its_tunnels() {
        let local = ip("10.0.0.1");
        let k = SimKernel::new(local, Prefix::new(local, 24).expect("p"));
        let mut links = OverlayLinks::new(&fou_cfg(), true, k.port().link_port());
        let gue = TunnelSpec {
            encap: TunnelEncap::Gue { port: 6000 },
            ..spec("10.0.0.1", "10.0.1.7")
        };
        let idx = links.make(gue).expect("made");
        let v = k.overlay();
        assert_eq!(v.fou_ports, [((6000, fou::af_of(false)), true)].into());
        let name = tunnel::tunnel_name(&gue.remote);
        assert_eq!(v.tunnels.get(&name), Some(&(gue, true)), "encap read back");
        drop(links);
        let mut links = OverlayLinks::new(&fou_cfg(), true, k.port().link_port());
        assert_eq!(links.make(gue), Some(idx), "kept");
        assert_eq!(k.overlay().fou_ports.len(), 1);
        drop(links);
        let mut links = OverlayLinks::new(&cfg(), true, k.port().link_port());
        let plain = spec("10.0.0.1", "10.0.1.7");
        links.make(plain).expect("replaced");
        let v = k.overlay();
        assert_eq!(v.tunnels.get(&name), Some(&(plain, true)));
        assert!(v.fou_ports.is_empty(), "{v:?}");
    }
}
