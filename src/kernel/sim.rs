//! A simulated kernel for tests: one node's main routing table behind a [`KernelPort`],
//! so the real `Reconciler` and the daemon's `KernelRoutes` run against it on one
//! thread, deterministically, with no clock of its own.
//!
//! Owns: the table (kube-bgp's protocol-17 routes, other programs' routes, the
//! connected subnets' kernel routes), kube-bgp's nexthop objects, the node's addresses
//! (one, or one per family on a dual-stack node),
//! the notifications waiting for the newest port's subscription, and injected faults
//! (failing requests, lost notifications, other programs' changes). It reads the request
//! bytes the reconciler encodes with the crate's own decoders (`route::parse_route`,
//! `nexthop::parse_nexthop`), answers with NLMSG_ERROR replies read back by the real ACK
//! matching (`netlink::read_acks`), answers dumps with encoded messages the real dump
//! parsers read, and reports other programs' changes as the notification bytes
//! `watch::classify` reads.
//!
//! Modelled: NLM_F_CREATE/EXCL/REPLACE on one route per prefix (metrics are not: a
//! second route for a prefix is refused with EEXIST); a replace takes the prefix whoever
//! held it, as the kernel's does; a delete names its protocol and misses (ESRCH) a route
//! of any other; a gateway off every connected subnet is ENETUNREACH; a device route needs
//! the node's one link. Nexthop objects (`--kernel-nexthop-objects`): single next hops,
//! made exclusively, named by routes (which the dumps report by id only), deleted with
//! the routes naming them. A port's writer sends its batches when the daemon collects
//! them, in order; batches a port still holds when it is dropped (its agent crashed)
//! are lost. Our own changes cause no notifications (the real port filters them);
//! other programs' additions, replacements and deletions do, unless they are lost.
//!
//! The overlay's objects, from the same request bytes `kernel::tunnel` encodes for the
//! host (through the port's `LinkPort`): links (the node's own link and ipip/ip6tnl
//! tunnels with their parameters, created down, set up, deleted with every route through
//! them), table 77 (`<remote> dev tun-…` host routes) and `from <prefix> lookup <table>`
//! rules (duplicates allowed, as the kernel allows unprioritised ones). Another program
//! may delete a link (`delete_link`): the newest port hears an RTM_DELLINK; the routes
//! through it go silently, as IPv4's do.
//! FoU ports (`--overlay-encap=fou`), from the bytes `kernel::fou` encodes, on a
//! generic-netlink socket of their own: the `fou` family is resolved by name, ports are
//! added (EALREADY when the port and family are taken, whatever the type), deleted by
//! port and family (EINVAL when there is none, as the kernel answers) and dumped; GUE
//! tunnels (encap type and destination port from the link request's attributes) are
//! made whether or not a port is open, as the kernel makes them.
//! Not modelled: nexthop groups, tables other than main and 77, two addresses of one
//! family, address changes (a readdressed node gets a new kernel), notification overflow, UDP ports held by other programs.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::os::unix::io::RawFd;
use std::rc::Rc;
use std::time::Duration;

use super::addr::{RTM_GETADDR, RTM_NEWADDR};
use super::fou::{
    CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME, CTRL_CMD_GETFAMILY, FOU_ATTR_AF, FOU_ATTR_PORT,
    FOU_ATTR_TYPE, FOU_CMD_ADD, FOU_CMD_DEL, FOU_CMD_GET, FOU_ENCAP_DIRECT, FOU_ENCAP_GUE,
    FOU_GENL_NAME, FOU_GENL_VERSION, FouPort, GENL_HDR_LEN, GENL_ID_CTRL, parse_port,
};
use super::modules::{Loaded, ModuleError};
use super::netlink::{
    AF_INET, AF_INET6, BatchOptions, Errno, Failure, MsgWriter, NLM_F_ACK_TLVS, NLM_F_CAPPED,
    NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NLMSG_ERROR, NLMSG_HDR_LEN, NLMSGERR_ATTR_MSG,
    NetlinkError, NlMsg, attrs, messages, read_acks, request_offsets, u32_at,
};
use super::netlink::{DumpSource, NetlinkRequests};
use super::nexthop::{
    NhKey, RTM_DELNEXTHOP, RTM_GETNEXTHOP, RTM_NEWNEXTHOP, encode_new_nexthop, parse_nexthop,
};
use super::port::{KernelPort, LinkPort};
use super::route::{
    KernelRoute, RT_SCOPE_LINK, RT_SCOPE_UNIVERSE, RT_TABLE_KUBE_ROUTER, RT_TABLE_MAIN,
    RTM_DELROUTE, RTM_GETROUTE, RTM_NEWROUTE, RTPROT_KUBE_ROUTER, RouteKind, encode_new,
    encode_new_nh, parse_route,
};
use super::tunnel::{
    IFLA_IFNAME, RTM_DELLINK, RTM_DELRULE, RTM_GETLINK, RTM_GETRULE, RTM_NEWRULE, TunnelSpec,
    encode_create, encode_rule, ifinfomsg, parse_link, parse_rule,
};
use super::watch::RTM_NEWLINK;
use super::watch::{Changes, classify};
use super::writer::{Done, Job};
use crate::prefix::Prefix;

/// The ifindex of the node's one link (its address and connected subnet are on it).
const LINK_IFINDEX: u32 = 2;
/// Its name.
const LINK_NAME: &str = "eth0";
/// The ifindex of the first link made (the kernel's counter goes on from there).
const FIRST_NEW_IFINDEX: u32 = 10;
/// `IFF_UP`.
const IFF_UP: u32 = 0x1;
/// The protocol of the kernel's own route for a connected subnet.
const RTPROT_KERNEL: u8 = 2;
/// The errno of a request made to fail (`fail_next`): the kernel could not allocate.
const INJECTED_ERRNO: i32 = libc::ENOMEM;
/// The generic-netlink id of the `fou` family (the kernel hands ids out at module load).
const FOU_FAMILY_ID: u16 = 0x1d;
/// `CTRL_CMD_NEWFAMILY`: the command of the controller's reply.
const CTRL_CMD_NEWFAMILY: u8 = 1;

/// One route of the main table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SimRoute {
    /// Where it leads (for a route naming a nexthop object: where the object leads).
    kind: RouteKind,
    protocol: u8,
    /// The nexthop object it names, if it names one.
    nh: Option<u32>,
}

/// RTM_DELROUTE on one table: the request names its protocol, and another protocol's
/// route does not match (ESRCH, as the kernel answers).
fn delete_route(
    table: &mut BTreeMap<Prefix, SimRoute>,
    dst: &Prefix,
    protocol: u8,
) -> Result<(), Refusal> {
    match table.get(dst) {
        Some(r) if r.protocol == protocol => {
            table.remove(dst);
            Ok(())
        }
        _ => Err((libc::ESRCH, "")),
    }
}

/// RTM_NEWROUTE on one table: an existing route is replaced only with NLM_F_REPLACE
/// (else EEXIST), a missing one made only with NLM_F_CREATE (else ENOENT).
fn put_route(
    table: &mut BTreeMap<Prefix, SimRoute>,
    dst: Prefix,
    flags: u16,
    route: SimRoute,
) -> Result<(), Refusal> {
    let exists = table.contains_key(&dst);
    if exists && flags & NLM_F_REPLACE == 0 {
        return Err((libc::EEXIST, ""));
    }
    if !exists && flags & NLM_F_CREATE == 0 {
        return Err((libc::ENOENT, ""));
    }
    table.insert(dst, route);
    Ok(())
}

/// A link: the node's own (`tunnel` none) or a tunnel.
#[derive(Clone, Debug, PartialEq, Eq)]
struct SimLink {
    name: String,
    /// The tunnel's parameters as created.
    tunnel: Option<TunnelSpec>,
    up: bool,
}

/// Where a route of kube-bgp's leads, as the simulator's oracle reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum RouteHop {
    /// `via` a gateway.
    Via(IpAddr),
    /// `dev` an ipip/ip6tnl tunnel whose remote end is this address.
    Tunnel(IpAddr),
    /// `dev` a link that is not a tunnel (its ifindex).
    Link(u32),
}

impl std::fmt::Display for RouteHop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RouteHop::Via(gw) => write!(f, "via {gw}"),
            RouteHop::Tunnel(r) => write!(f, "tunnel to {r}"),
            RouteHop::Link(i) => write!(f, "dev #{i}"),
        }
    }
}

/// The overlay's objects in a kernel: tunnels, table 77 and the rules.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct OverlayView {
    /// `tun-*` ipip/ip6tnl links by name: their parameters, and whether they are up.
    pub(crate) tunnels: BTreeMap<String, (TunnelSpec, bool)>,
    /// Table 77: destination -> the name of the link it goes through.
    pub(crate) table77: BTreeMap<Prefix, String>,
    /// `from <prefix> lookup 77` rules, as many times as each is there.
    pub(crate) rules: Vec<Prefix>,
    /// FoU receive ports: (UDP port, AF_INET or AF_INET6) -> whether it takes GUE.
    pub(crate) fou_ports: BTreeMap<(u16, u8), bool>,
}

struct SimState {
    /// The link's addresses, each with its connected subnet.
    addrs: Vec<(IpAddr, Prefix)>,
    /// The main table: one route per prefix.
    table: BTreeMap<Prefix, SimRoute>,
    /// Table 77 (the overlay's host routes to tunnel remotes).
    table77: BTreeMap<Prefix, SimRoute>,
    /// Links by ifindex.
    links: BTreeMap<u32, SimLink>,
    next_ifindex: u32,
    /// `from <prefix> lookup <table>` rules, in order.
    rules: Vec<(Prefix, u32)>,
    /// Nexthop objects by id: where each leads, and its protocol.
    objects: BTreeMap<u32, (NhKey, u8)>,
    /// FoU receive ports: (UDP port, address family) -> whether it takes GUE.
    fou: BTreeMap<(u16, u8), bool>,
    /// Route requests still to fail.
    fail_next: usize,
    /// Other programs' changes are not notified.
    lose: bool,
    /// Notification datagrams waiting for the newest port.
    notes: VecDeque<Vec<u8>>,
    /// Which port is the newest (only it reads notifications).
    generation: u64,
}

/// See the module documentation. A shared handle: clones see the same kernel, which
/// outlives the ports (and the agents) made from it.
#[derive(Clone)]
pub(crate) struct SimKernel {
    state: Rc<RefCell<SimState>>,
}

impl SimKernel {
    /// A node whose one link has address `local` in the connected subnet `subnet` (the
    /// kernel's own route for the subnet is in the table, as on a real host).
    pub(crate) fn new(local: IpAddr, subnet: Prefix) -> SimKernel {
        SimKernel::with_addresses(&[(local, subnet)])
    }

    /// A node whose one link has these addresses, each in its connected subnet (a
    /// dual-stack node: one per family), with the kernel's own route for each subnet.
    pub(crate) fn with_addresses(addrs: &[(IpAddr, Prefix)]) -> SimKernel {
        let mut table = BTreeMap::new();
        for (local, subnet) in addrs {
            table.insert(
                *subnet,
                SimRoute {
                    kind: RouteKind::Dev {
                        ifindex: LINK_IFINDEX,
                        src: Some(*local),
                    },
                    protocol: RTPROT_KERNEL,
                    nh: None,
                },
            );
        }
        let link = SimLink {
            name: LINK_NAME.to_string(),
            tunnel: None,
            up: true,
        };
        SimKernel {
            state: Rc::new(RefCell::new(SimState {
                addrs: addrs.to_vec(),
                table,
                table77: BTreeMap::new(),
                links: [(LINK_IFINDEX, link)].into_iter().collect(),
                next_ifindex: FIRST_NEW_IFINDEX,
                rules: Vec::new(),
                objects: BTreeMap::new(),
                fou: BTreeMap::new(),
                fail_next: 0,
                lose: false,
                notes: VecDeque::new(),
                generation: 0,
            })),
        }
    }

    /// A port for a new agent process: its subscription starts empty, and ports made
    /// earlier no longer receive notifications (their process is gone).
    pub(crate) fn port(&self) -> Box<dyn KernelPort> {
        let mut st = self.state.borrow_mut();
        st.generation += 1;
        st.notes.clear();
        Box::new(SimPort {
            kernel: self.clone(),
            generation: st.generation,
            jobs: VecDeque::new(),
        })
    }

    /// kube-bgp's routes (protocol 17): prefix -> gateway.
    pub(crate) fn routes(&self) -> BTreeMap<Prefix, IpAddr> {
        self.state
            .borrow()
            .table
            .iter()
            .filter(|(_, r)| r.protocol == RTPROT_KUBE_ROUTER)
            .filter_map(|(p, r)| match r.kind {
                RouteKind::Via(gw) => Some((*p, gw)),
                _ => None,
            })
            .collect()
    }

    /// Other programs' routes with a gateway: prefix -> (gateway, protocol). The
    /// connected subnet's kernel route has none and is not listed.
    pub(crate) fn foreign(&self) -> BTreeMap<Prefix, (IpAddr, u8)> {
        self.state
            .borrow()
            .table
            .iter()
            .filter(|(_, r)| r.protocol != RTPROT_KUBE_ROUTER)
            .filter_map(|(p, r)| match r.kind {
                RouteKind::Via(gw) => Some((*p, (gw, r.protocol))),
                _ => None,
            })
            .collect()
    }

    /// Another program adds a route (`ip route replace <prefix> via <gateway> proto
    /// <protocol>`): it takes the prefix, whoever held it, and the newest port is
    /// notified unless notifications are being lost.
    pub(crate) fn add_foreign(&self, prefix: Prefix, gateway: IpAddr, protocol: u8) {
        let mut st = self.state.borrow_mut();
        let route = SimRoute {
            kind: RouteKind::Via(gateway),
            protocol,
            nh: None,
        };
        let replaced = st.table.insert(prefix, route).is_some();
        if !st.lose {
            let mut w = MsgWriter::new();
            let flags = if replaced {
                NLM_F_REPLACE
            } else {
                NLM_F_CREATE | NLM_F_EXCL
            };
            encode_route(&mut w, prefix, route, flags);
            st.notes.push_back(w.take());
        }
    }

    /// The nexthop objects (kube-bgp's, `--kernel-nexthop-objects`): id -> gateway.
    pub(crate) fn nexthop_objects(&self) -> BTreeMap<u32, Option<IpAddr>> {
        self.state
            .borrow()
            .objects
            .iter()
            .map(|(id, (key, _))| (*id, key.gateway))
            .collect()
    }

    /// Another program deletes the route for `prefix`, whoever's it is (`ip route del
    /// <prefix>`); the newest port is notified unless notifications are being lost.
    /// False if there was none.
    pub(crate) fn delete_route(&self, prefix: Prefix) -> bool {
        let mut st = self.state.borrow_mut();
        let Some(route) = st.table.remove(&prefix) else {
            return false;
        };
        if !st.lose {
            let mut w = MsgWriter::new();
            encode_route(&mut w, prefix, route, 0);
            let mut d = w.take();
            d[4..6].copy_from_slice(&RTM_DELROUTE.to_ne_bytes());
            st.notes.push_back(d);
        }
        true
    }

    /// The next `n` route requests fail (ENOMEM, as the kernel's ACK says it).
    pub(crate) fn fail_next(&self, n: usize) {
        self.state.borrow_mut().fail_next = n;
    }

    /// While on, other programs' changes are not notified (nor is the loss).
    pub(crate) fn lose_notifications(&self, lose: bool) {
        self.state.borrow_mut().lose = lose;
    }

    /// kube-bgp's routes (protocol 17) in the main table, with where each leads (a
    /// device route through a tunnel by the tunnel's remote end).
    pub(crate) fn hops(&self) -> BTreeMap<Prefix, RouteHop> {
        let st = self.state.borrow();
        st.table
            .iter()
            .filter(|(_, r)| r.protocol == RTPROT_KUBE_ROUTER)
            .filter_map(|(p, r)| {
                let hop = match r.kind {
                    RouteKind::Via(gw) => RouteHop::Via(gw),
                    RouteKind::Dev { ifindex, .. } => {
                        match st.links.get(&ifindex).and_then(|l| l.tunnel) {
                            Some(t) => RouteHop::Tunnel(t.remote),
                            None => RouteHop::Link(ifindex),
                        }
                    }
                    RouteKind::Other => return None,
                };
                Some((*p, hop))
            })
            .collect()
    }

    /// The overlay's objects: our tunnels, table 77, the rules to table 77.
    pub(crate) fn overlay(&self) -> OverlayView {
        let st = self.state.borrow();
        let name_of = |i: u32| st.links.get(&i).map_or(format!("#{i}"), |l| l.name.clone());
        OverlayView {
            tunnels: st
                .links
                .values()
                .filter_map(|l| Some((l.name.clone(), (l.tunnel?, l.up))))
                .collect(),
            table77: st
                .table77
                .iter()
                .map(|(p, r)| {
                    let via = match r.kind {
                        RouteKind::Dev { ifindex, .. } => name_of(ifindex),
                        RouteKind::Via(gw) => format!("via {gw}"),
                        RouteKind::Other => "?".to_string(),
                    };
                    (*p, via)
                })
                .collect(),
            rules: st
                .rules
                .iter()
                .filter(|(_, t)| *t == RT_TABLE_KUBE_ROUTER)
                .map(|(p, _)| *p)
                .collect(),
            fou_ports: st.fou.clone(),
        }
    }

    /// Another program deletes link `name` (`ip link del`): the routes through it go
    /// (silently, as IPv4's do) and the newest port hears an RTM_DELLINK unless
    /// notifications are being lost. False if there was none.
    pub(crate) fn delete_link(&self, name: &str) -> bool {
        let mut st = self.state.borrow_mut();
        let Some(ifindex) = st
            .links
            .iter()
            .find(|(_, l)| l.name == name)
            .map(|(i, _)| *i)
        else {
            return false;
        };
        let Some(link) = st.remove_link(ifindex) else {
            return false;
        };
        if !st.lose {
            let mut w = MsgWriter::new();
            encode_link(&mut w, ifindex, &link);
            let mut d = w.take();
            d[4..6].copy_from_slice(&RTM_DELLINK.to_ne_bytes());
            st.notes.push_back(d);
        }
        true
    }
}

/// Writes a link as the kernel reports it (dump or `get` reply, notification): a tunnel
/// with the attributes it was created with, the node's own link with its name only.
fn encode_link(w: &mut MsgWriter, ifindex: u32, l: &SimLink) {
    let at = w.buf.len();
    let flags = if l.up { IFF_UP } else { 0 };
    let created = match &l.tunnel {
        Some(spec) => encode_create(w, &l.name, spec).is_ok(),
        None => false,
    };
    if created {
        // Header: flags at 6..8; ifinfomsg: index at 4..8, flags at 8..12.
        let h = at + NLMSG_HDR_LEN;
        w.buf[at + 6..at + 8].copy_from_slice(&0u16.to_ne_bytes());
        w.buf[h + 4..h + 8].copy_from_slice(&ifindex.to_ne_bytes());
        w.buf[h + 8..h + 12].copy_from_slice(&flags.to_ne_bytes());
    } else {
        w.buf.truncate(at);
        w.begin(RTM_NEWLINK, 0);
        w.raw(&ifinfomsg(0, ifindex, flags, 0));
        w.attr_str(IFLA_IFNAME, &l.name);
        w.end();
    }
}

/// Writes a route of the main table as the kernel reports it (dump reply or
/// notification).
fn encode_route(w: &mut MsgWriter, dst: Prefix, r: SimRoute, flags: u16) {
    encode_route_in(w, RT_TABLE_MAIN, dst, r, flags);
}

/// Writes a route of `table` as the kernel reports it.
fn encode_route_in(w: &mut MsgWriter, table: u32, dst: Prefix, r: SimRoute, flags: u16) {
    let at = w.buf.len();
    let scope = match r.kind {
        RouteKind::Dev { .. } if r.protocol == RTPROT_KERNEL || table != RT_TABLE_MAIN => {
            RT_SCOPE_LINK
        }
        _ => RT_SCOPE_UNIVERSE,
    };
    // A route naming an object is reported with its id only (the dump parser then
    // resolves it through the objects it read first).
    encode_new_nh(
        w,
        &KernelRoute { dst, kind: r.kind },
        table,
        false,
        scope,
        r.nh,
    );
    // Header: flags at 6..8; rtmsg: protocol at 5.
    w.buf[at + 6..at + 8].copy_from_slice(&flags.to_ne_bytes());
    w.buf[at + 16 + 5] = r.protocol;
}

fn family_of(p: &Prefix) -> u8 {
    if p.addr().is_ipv4() {
        AF_INET
    } else {
        AF_INET6
    }
}

/// An error code with the kernel's extended-ACK text (empty: the kernel sends none).
type Refusal = (i32, &'static str);

impl SimState {
    /// Applies one request; the kernel's refusal if it refuses it.
    fn apply(&mut self, msg_type: u16, flags: u16, payload: &[u8]) -> Result<(), Refusal> {
        match msg_type {
            RTM_NEWROUTE | RTM_DELROUTE => {}
            RTM_NEWNEXTHOP => return self.new_nexthop(payload),
            RTM_DELNEXTHOP => return self.del_nexthop(payload),
            RTM_NEWLINK => return self.new_link(flags, payload),
            RTM_DELLINK => return self.del_link(payload),
            RTM_NEWRULE | RTM_DELRULE => return self.rule(msg_type == RTM_NEWRULE, payload),
            _ => return Err((libc::EOPNOTSUPP, "simulated kernel: unknown request")),
        }
        let Some(info) = parse_route(payload) else {
            return Err((libc::EINVAL, "malformed route message"));
        };
        if info.src_len != 0 || info.priority != 0 {
            return Err((libc::EINVAL, "simulated kernel: metric 0 only"));
        }
        if info.table == RT_TABLE_KUBE_ROUTER {
            return self.apply77(msg_type, flags, info);
        }
        if info.table != RT_TABLE_MAIN {
            return Err((libc::EINVAL, "simulated kernel: tables main and 77 only"));
        }
        if self.fail_next > 0 {
            self.fail_next -= 1;
            return Err((INJECTED_ERRNO, "simulated failure"));
        }
        let dst = info.route.dst;
        if msg_type == RTM_DELROUTE {
            return delete_route(&mut self.table, &dst, info.protocol);
        }
        let kind = match info.nh_id {
            None => info.route.kind,
            Some(id) => {
                let Some((key, _)) = self.objects.get(&id) else {
                    return Err((libc::EINVAL, "Nexthop id does not exist"));
                };
                if key.family != family_of(&dst) {
                    return Err((libc::EINVAL, "Nexthop family does not match the route"));
                }
                match key.gateway {
                    Some(gw) => RouteKind::Via(gw),
                    None => RouteKind::Dev {
                        ifindex: key.oif,
                        src: None,
                    },
                }
            }
        };
        self.reachable(kind)?;
        let route = SimRoute {
            kind,
            protocol: info.protocol,
            nh: info.nh_id,
        };
        put_route(&mut self.table, dst, flags, route)
    }

    /// Whether a next hop can be used: a gateway on the connected subnet, or the link.
    fn reachable(&self, kind: RouteKind) -> Result<(), Refusal> {
        match kind {
            RouteKind::Via(gw) if !self.addrs.iter().any(|(_, s)| s.contains_addr(&gw)) => {
                Err((libc::ENETUNREACH, "Nexthop has invalid gateway"))
            }
            RouteKind::Dev { ifindex, .. } => match self.links.get(&ifindex) {
                None => Err((libc::ENODEV, "Nexthop device does not exist")),
                Some(l) if !l.up => Err((libc::ENETDOWN, "Nexthop device is not up")),
                Some(_) => Ok(()),
            },
            RouteKind::Via(_) => Ok(()),
            RouteKind::Other => Err((libc::EINVAL, "route without a next hop")),
        }
    }

    /// A route request on table 77: host routes through tunnels.
    fn apply77(
        &mut self,
        msg_type: u16,
        flags: u16,
        info: super::route::RouteInfo,
    ) -> Result<(), Refusal> {
        let dst = info.route.dst;
        if msg_type == RTM_DELROUTE {
            return delete_route(&mut self.table77, &dst, info.protocol);
        }
        self.reachable(info.route.kind)?;
        let route = SimRoute {
            kind: info.route.kind,
            protocol: info.protocol,
            nh: None,
        };
        put_route(&mut self.table77, dst, flags, route)
    }

    /// RTM_NEWLINK: with NLM_F_CREATE a new ipip/ip6tnl tunnel (created down; a name or
    /// a local/remote pair already taken is EEXIST); without, `ip link set up|down`.
    fn new_link(&mut self, flags: u16, payload: &[u8]) -> Result<(), Refusal> {
        if flags & NLM_F_CREATE == 0 {
            let (Some(index), Some(set), Some(change)) =
                (u32_at(payload, 4), u32_at(payload, 8), u32_at(payload, 12))
            else {
                return Err((libc::EINVAL, "malformed link message"));
            };
            let Some(l) = self.links.get_mut(&index) else {
                return Err((libc::ENODEV, ""));
            };
            if change & IFF_UP != 0 {
                l.up = set & IFF_UP != 0;
            }
            return Ok(());
        }
        let Some(info) = parse_link(payload) else {
            return Err((libc::EINVAL, "malformed link message"));
        };
        if info.kind != "ipip" && info.kind != "ip6tnl" {
            return Err((libc::EOPNOTSUPP, "Unknown device type"));
        }
        let Some(t) = info.tunnel else {
            return Err((libc::EINVAL, "tunnel without parameters"));
        };
        let (Some(local), Some(remote)) = (t.local, t.remote) else {
            return Err((libc::EINVAL, "tunnel without addresses"));
        };
        let Some(encap) = t.encap() else {
            return Err((libc::EINVAL, "unknown encapsulation"));
        };
        if (info.kind == "ipip") != (local.is_ipv4() && remote.is_ipv4()) {
            return Err((libc::EINVAL, "tunnel addresses of the wrong family"));
        }
        let spec = TunnelSpec {
            local,
            remote,
            encap,
        };
        let taken = self.links.values().any(|l| {
            l.name == info.name
                || l.tunnel
                    .is_some_and(|o| (o.local, o.remote) == (local, remote))
        });
        if taken {
            return Err((libc::EEXIST, ""));
        }
        let index = self.next_ifindex;
        self.next_ifindex += 1;
        self.links.insert(
            index,
            SimLink {
                name: info.name,
                tunnel: Some(spec),
                up: false,
            },
        );
        Ok(())
    }

    /// RTM_DELLINK by ifindex (the node's own link stays: EOPNOTSUPP).
    fn del_link(&mut self, payload: &[u8]) -> Result<(), Refusal> {
        let Some(index) = u32_at(payload, 4) else {
            return Err((libc::EINVAL, "malformed link message"));
        };
        if index == LINK_IFINDEX {
            return Err((libc::EOPNOTSUPP, ""));
        }
        match self.remove_link(index) {
            Some(_) => Ok(()),
            None => Err((libc::ENODEV, "")),
        }
    }

    /// Removes a link and, as the kernel does, every route and nexthop object through it.
    fn remove_link(&mut self, index: u32) -> Option<SimLink> {
        let link = self.links.remove(&index)?;
        let through =
            |r: &SimRoute| matches!(r.kind, RouteKind::Dev { ifindex, .. } if ifindex == index);
        let gone: Vec<u32> = self
            .objects
            .iter()
            .filter(|(_, (k, _))| k.oif == index)
            .map(|(id, _)| *id)
            .collect();
        for id in &gone {
            self.objects.remove(id);
        }
        self.table
            .retain(|_, r| !through(r) && !r.nh.is_some_and(|id| gone.contains(&id)));
        self.table77.retain(|_, r| !through(r));
        Some(link)
    }

    /// RTM_NEWRULE (appended: unprioritised rules never clash) or RTM_DELRULE (the
    /// first equal rule; ENOENT if none).
    fn rule(&mut self, add: bool, payload: &[u8]) -> Result<(), Refusal> {
        let Some(rule) = parse_rule(payload) else {
            return Err((
                libc::EINVAL,
                "simulated kernel: `from <prefix> lookup <table>` rules only",
            ));
        };
        if add {
            self.rules.push(rule);
            return Ok(());
        }
        match self.rules.iter().position(|r| *r == rule) {
            Some(i) => {
                self.rules.remove(i);
                Ok(())
            }
            None => Err((libc::ENOENT, "")),
        }
    }

    /// The reply to RTM_GETLINK by name (`ip link show NAME`): the link's message payload.
    fn get_link(&self, payload: &[u8]) -> Result<Vec<u8>, Refusal> {
        let name = payload
            .get(16..)
            .and_then(|a| attrs(a).find(|(t, _)| *t == IFLA_IFNAME))
            .map(|(_, d)| d.split(|&c| c == 0).next().unwrap_or_default().to_vec());
        let Some(name) = name else {
            return Err((
                libc::EINVAL,
                "simulated kernel: links are looked up by name",
            ));
        };
        let Some((index, l)) = self.links.iter().find(|(_, l)| l.name.as_bytes() == name) else {
            return Err((libc::ENODEV, ""));
        };
        let mut w = MsgWriter::new();
        encode_link(&mut w, *index, l);
        Ok(w.take().get(NLMSG_HDR_LEN..).unwrap_or_default().to_vec())
    }

    /// RTM_NEWNEXTHOP (kube-bgp always makes them exclusively): a single next hop.
    fn new_nexthop(&mut self, payload: &[u8]) -> Result<(), Refusal> {
        let Some(obj) = parse_nexthop(payload) else {
            return Err((libc::EINVAL, "malformed nexthop message"));
        };
        let Some(key) = obj.key else {
            return Err((libc::EOPNOTSUPP, "simulated kernel: single next hops only"));
        };
        if !self.links.contains_key(&key.oif) {
            return Err((libc::ENODEV, "Nexthop device does not exist"));
        }
        if let Some(gw) = key.gateway {
            self.reachable(RouteKind::Via(gw))?;
        }
        if self.objects.contains_key(&obj.id) {
            return Err((libc::EEXIST, "Nexthop id already exists"));
        }
        self.objects.insert(obj.id, (key, obj.protocol));
        Ok(())
    }

    /// RTM_DELNEXTHOP: the object goes, and with it every route naming it (silently, as
    /// IPv4 does).
    fn del_nexthop(&mut self, payload: &[u8]) -> Result<(), Refusal> {
        let Some(id) = parse_nexthop(payload).map(|o| o.id) else {
            return Err((libc::EINVAL, "malformed nexthop message"));
        };
        if self.objects.remove(&id).is_none() {
            return Err((libc::ENOENT, "Nexthop id does not exist"));
        }
        self.table.retain(|_, r| r.nh != Some(id));
        Ok(())
    }

    /// Applies a batch of requests in order and returns the kernel's replies: an
    /// NLMSG_ERROR for each refused request and an ACK for the last, with sequence
    /// numbers 1.. in request order.
    fn apply_batch(&mut self, requests: &[u8]) -> Result<(Vec<u8>, u32), NetlinkError> {
        let offsets = request_offsets(requests)?;
        let count = offsets.len() as u32;
        let mut w = MsgWriter::new();
        for ((i, m), &off) in messages(requests).enumerate().zip(&offsets) {
            let m = m?;
            let seq = i as u32 + 1;
            let outcome = self.apply(m.msg_type, m.flags, m.payload);
            if outcome.is_ok() && seq != count {
                continue;
            }
            let (errno, text) = outcome.err().unwrap_or((0, ""));
            let flags = if text.is_empty() {
                NLM_F_CAPPED
            } else {
                NLM_F_CAPPED | NLM_F_ACK_TLVS
            };
            let at = w.buf.len();
            w.begin(NLMSG_ERROR, flags);
            w.raw(&(-errno).to_ne_bytes());
            // The request's header, echoed (capped: the header only).
            w.raw(requests.get(off..off + NLMSG_HDR_LEN).unwrap_or_default());
            if !text.is_empty() {
                w.attr_str(NLMSGERR_ATTR_MSG, text);
            }
            w.end();
            w.buf[at + 8..at + 12].copy_from_slice(&seq.to_ne_bytes());
        }
        Ok((w.take(), count))
    }

    /// The replies to a dump request (`msg_type`, its family-header `payload`).
    fn answer_dump(&self, msg_type: u16, payload: &[u8]) -> Result<Vec<u8>, Refusal> {
        let mut w = MsgWriter::new();
        match msg_type {
            RTM_GETADDR => {
                for (local, subnet) in &self.addrs {
                    let (fam, bytes) = match local {
                        IpAddr::V4(a) => (AF_INET, a.octets().to_vec()),
                        IpAddr::V6(a) => (AF_INET6, a.octets().to_vec()),
                    };
                    w.begin(RTM_NEWADDR, 0);
                    let mut ifa = vec![fam, subnet.len(), 0, RT_SCOPE_UNIVERSE];
                    ifa.extend_from_slice(&LINK_IFINDEX.to_ne_bytes());
                    w.raw(&ifa);
                    w.attr(1 /* IFA_ADDRESS */, &bytes);
                    if fam == AF_INET {
                        w.attr(2 /* IFA_LOCAL */, &bytes);
                    }
                    w.end();
                }
            }
            RTM_GETROUTE => {
                let fam = payload.first().copied().unwrap_or(0);
                for (p, r) in &self.table {
                    if fam == 0 || fam == family_of(p) {
                        encode_route(&mut w, *p, *r, 0);
                    }
                }
                for (p, r) in &self.table77 {
                    if fam == 0 || fam == family_of(p) {
                        encode_route_in(&mut w, RT_TABLE_KUBE_ROUTER, *p, *r, 0);
                    }
                }
            }
            RTM_GETLINK => {
                for (index, l) in &self.links {
                    encode_link(&mut w, *index, l);
                }
            }
            RTM_GETRULE => {
                let fam = payload.first().copied().unwrap_or(0);
                for (p, table) in &self.rules {
                    if fam == 0 || fam == family_of(p) {
                        let at = w.buf.len();
                        encode_rule(&mut w, true, p);
                        // Header flags at 6..8; fib_rule_hdr: table at 4.
                        w.buf[at + 6..at + 8].copy_from_slice(&0u16.to_ne_bytes());
                        w.buf[at + NLMSG_HDR_LEN + 4] = u8::try_from(*table).unwrap_or(252);
                    }
                }
            }
            RTM_GETNEXTHOP => {
                for (id, (key, protocol)) in &self.objects {
                    let at = w.buf.len();
                    encode_new_nexthop(&mut w, *id, key);
                    // nhmsg: protocol at 2.
                    w.buf[at + NLMSG_HDR_LEN + 2] = *protocol;
                }
            }
            _ => return Err((libc::EOPNOTSUPP, "simulated kernel: unknown dump")),
        }
        Ok(w.take())
    }
}

/// One agent process's view of a `SimKernel`.
struct SimPort {
    kernel: SimKernel,
    generation: u64,
    /// Batches handed to the writer, sent when the daemon collects them.
    jobs: VecDeque<Job>,
}

impl SimPort {
    fn batch(&self, requests: &[u8]) -> Result<Vec<Failure>, NetlinkError> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let (replies, count) = self.kernel.state.borrow_mut().apply_batch(requests)?;
        let mut failures = Vec::new();
        if !read_acks(&replies, 1, count, 0, &mut failures)? {
            return Err(NetlinkError::Malformed("no ACK for the last request"));
        }
        Ok(failures)
    }

    fn newest(&self) -> bool {
        self.kernel.state.borrow().generation == self.generation
    }
}

impl SimKernel {
    /// Answers the dump request `build` writes, calling `each` with every reply.
    fn dump(
        &self,
        what: &'static str,
        build: &dyn Fn(&mut MsgWriter),
        each: &mut dyn FnMut(&NlMsg<'_>),
    ) -> Result<(), NetlinkError> {
        let mut w = MsgWriter::new();
        build(&mut w);
        let request = w.take();
        let Some(m) = messages(&request).next() else {
            return Err(NetlinkError::Malformed("empty dump request"));
        };
        let m = m?;
        let replies = self
            .state
            .borrow()
            .answer_dump(m.msg_type, m.payload)
            .map_err(|(errno, text)| {
                NetlinkError::Dump(
                    what,
                    Errno {
                        errno,
                        msg: Some(text.into()),
                    },
                )
            })?;
        for r in messages(&replies) {
            each(&r?);
        }
        Ok(())
    }
}

impl DumpSource for SimPort {
    fn dump(
        &mut self,
        what: &'static str,
        build: &dyn Fn(&mut MsgWriter),
        _reset: &mut dyn FnMut(),
        each: &mut dyn FnMut(&NlMsg<'_>),
    ) -> Result<(), NetlinkError> {
        self.kernel.dump(what, build, each)
    }
}

/// A refusal as the request's caller reads it.
fn errno_of((errno, text): Refusal) -> Errno {
    Errno {
        errno,
        msg: (!text.is_empty()).then(|| text.to_string()),
    }
}

/// The overlay's way to a `SimKernel`: its link socket and its generic-netlink socket
/// (FoU ports); every module counts as built in.
struct SimLinks {
    kernel: SimKernel,
}

impl LinkPort for SimLinks {
    fn open_links(&mut self) -> Result<Box<dyn NetlinkRequests>, NetlinkError> {
        Ok(Box::new(SimLinkSocket {
            kernel: self.kernel.clone(),
        }))
    }

    fn open_generic(&mut self) -> Result<Box<dyn NetlinkRequests>, NetlinkError> {
        Ok(Box::new(SimGenericSocket {
            kernel: self.kernel.clone(),
        }))
    }

    fn load_module(&mut self, _name: &str) -> Result<Loaded, ModuleError> {
        Ok(Loaded::Already)
    }
}

/// The overlay's request socket on a `SimKernel`: one request at a time, answered at
/// once; its changes are never notified (the real port ignores its sender).
struct SimLinkSocket {
    kernel: SimKernel,
}

impl SimLinkSocket {
    /// The one message `encode` writes.
    fn message(encode: &mut dyn FnMut(&mut MsgWriter)) -> Result<Vec<u8>, Errno> {
        let mut w = MsgWriter::new();
        encode(&mut w);
        let b = w.take();
        match messages(&b).next() {
            Some(Ok(_)) => Ok(b),
            _ => Err(errno_of((libc::EINVAL, "no request"))),
        }
    }
}

impl NetlinkRequests for SimLinkSocket {
    fn request(&mut self, encode: &mut dyn FnMut(&mut MsgWriter)) -> Result<(), Errno> {
        let b = SimLinkSocket::message(encode)?;
        let Some(Ok(m)) = messages(&b).next() else {
            return Err(errno_of((libc::EINVAL, "no request")));
        };
        self.kernel
            .state
            .borrow_mut()
            .apply(m.msg_type, m.flags, m.payload)
            .map_err(errno_of)
    }

    fn query(&mut self, encode: &mut dyn FnMut(&mut MsgWriter)) -> Result<Vec<u8>, Errno> {
        let b = SimLinkSocket::message(encode)?;
        let Some(Ok(m)) = messages(&b).next() else {
            return Err(errno_of((libc::EINVAL, "no request")));
        };
        if m.msg_type != RTM_GETLINK {
            return Err(errno_of((
                libc::EOPNOTSUPP,
                "simulated kernel: link lookups only",
            )));
        }
        self.kernel
            .state
            .borrow()
            .get_link(m.payload)
            .map_err(errno_of)
    }

    fn port_id(&self) -> Option<u32> {
        None
    }
}

impl DumpSource for SimLinkSocket {
    fn dump(
        &mut self,
        what: &'static str,
        build: &dyn Fn(&mut MsgWriter),
        _reset: &mut dyn FnMut(),
        each: &mut dyn FnMut(&NlMsg<'_>),
    ) -> Result<(), NetlinkError> {
        self.kernel.dump(what, build, each)
    }
}

impl KernelPort for SimPort {
    fn send(
        &mut self,
        requests: &mut [u8],
        _opts: BatchOptions,
    ) -> Result<Vec<Failure>, NetlinkError> {
        self.batch(requests)
    }

    fn has_writer(&self) -> bool {
        true
    }

    fn submit(&mut self, job: Job) -> Result<(), NetlinkError> {
        self.jobs.push_back(job);
        Ok(())
    }

    fn try_done(&mut self) -> Option<Done> {
        let job = self.jobs.pop_front()?;
        let result = self.batch(&job.requests);
        Some(Done {
            requests: job.requests,
            result,
            duration: Duration::ZERO,
            idle: Duration::ZERO,
        })
    }

    fn changes(&mut self, max_reads: usize) -> Result<Changes, NetlinkError> {
        let mut ch = Changes::default();
        if !self.newest() {
            return Ok(ch);
        }
        let mut st = self.kernel.state.borrow_mut();
        for _ in 0..max_reads {
            let Some(d) = st.notes.pop_front() else { break };
            classify(&d, &mut ch);
        }
        Ok(ch)
    }

    fn watch_fd(&self) -> Option<RawFd> {
        None
    }

    fn ignore_senders(&mut self, _others: &[u32]) -> Result<(), NetlinkError> {
        Ok(())
    }

    fn port_id(&self) -> Option<u32> {
        None
    }

    fn results_waiting(&self) -> bool {
        !self.jobs.is_empty()
    }

    fn changes_waiting(&self) -> bool {
        self.newest() && !self.kernel.state.borrow().notes.is_empty()
    }

    fn link_port(&self) -> Box<dyn LinkPort> {
        Box::new(SimLinks {
            kernel: self.kernel.clone(),
        })
    }
}

/// A generic-netlink request socket on a `SimKernel`: the controller's family lookup
/// and the `fou` family's port requests and dump, one request at a time, answered at
/// once. Message types here are generic-netlink family ids, not rtnetlink types.
struct SimGenericSocket {
    kernel: SimKernel,
}

impl SimGenericSocket {
    /// The one message `encode` writes: its type, and its payload after the header.
    fn message(encode: &mut dyn FnMut(&mut MsgWriter)) -> Result<(u16, Vec<u8>), Errno> {
        let mut w = MsgWriter::new();
        encode(&mut w);
        let b = w.take();
        match messages(&b).next() {
            Some(Ok(m)) => Ok((m.msg_type, m.payload.to_vec())),
            _ => Err(errno_of((libc::EINVAL, "no request"))),
        }
    }
}

/// Writes one FoU port as the kernel lists it (a `FOU_CMD_GET` dump reply).
fn encode_fou_port(w: &mut MsgWriter, p: FouPort) {
    w.begin(FOU_FAMILY_ID, 0);
    w.raw(&[FOU_CMD_GET, FOU_GENL_VERSION, 0, 0]);
    w.attr(FOU_ATTR_PORT, &p.port.to_be_bytes());
    w.attr_u8(FOU_ATTR_AF, p.af);
    w.attr_u8(
        FOU_ATTR_TYPE,
        if p.gue {
            FOU_ENCAP_GUE
        } else {
            FOU_ENCAP_DIRECT
        },
    );
    w.end();
}

impl SimState {
    /// A `fou` family request: `FOU_CMD_ADD` or `FOU_CMD_DEL` of one port.
    fn fou_request(&mut self, payload: &[u8]) -> Result<(), Refusal> {
        let cmd = payload.first().copied();
        let Some(p) = parse_port(payload) else {
            return Err((libc::EINVAL, "FoU request without port, family or type"));
        };
        if p.af != AF_INET && p.af != AF_INET6 {
            return Err((libc::EINVAL, "FoU port of an unknown family"));
        }
        match cmd {
            Some(FOU_CMD_ADD) => {
                if self.fou.contains_key(&(p.port, p.af)) {
                    return Err((libc::EALREADY, ""));
                }
                self.fou.insert((p.port, p.af), p.gue);
                Ok(())
            }
            Some(FOU_CMD_DEL) => match self.fou.remove(&(p.port, p.af)) {
                Some(_) => Ok(()),
                None => Err((libc::EINVAL, "")),
            },
            _ => Err((
                libc::EOPNOTSUPP,
                "simulated kernel: FoU add and delete only",
            )),
        }
    }
}

impl NetlinkRequests for SimGenericSocket {
    fn request(&mut self, encode: &mut dyn FnMut(&mut MsgWriter)) -> Result<(), Errno> {
        let (msg_type, payload) = SimGenericSocket::message(encode)?;
        if msg_type != FOU_FAMILY_ID {
            return Err(errno_of((libc::EOPNOTSUPP, "simulated kernel: fou only")));
        }
        self.kernel
            .state
            .borrow_mut()
            .fou_request(&payload)
            .map_err(errno_of)
    }

    fn query(&mut self, encode: &mut dyn FnMut(&mut MsgWriter)) -> Result<Vec<u8>, Errno> {
        let (msg_type, payload) = SimGenericSocket::message(encode)?;
        if msg_type != GENL_ID_CTRL || payload.first() != Some(&CTRL_CMD_GETFAMILY) {
            return Err(errno_of((
                libc::EOPNOTSUPP,
                "simulated kernel: family lookups only",
            )));
        }
        let name = payload
            .get(GENL_HDR_LEN..)
            .and_then(|a| attrs(a).find(|(t, _)| *t == CTRL_ATTR_FAMILY_NAME))
            .map(|(_, d)| d.split(|&c| c == 0).next().unwrap_or_default().to_vec());
        if name.as_deref() != Some(FOU_GENL_NAME.as_bytes()) {
            return Err(errno_of((libc::ENOENT, "")));
        }
        let mut w = MsgWriter::new();
        w.begin(GENL_ID_CTRL, 0);
        w.raw(&[CTRL_CMD_NEWFAMILY, 2, 0, 0]);
        w.attr_str(CTRL_ATTR_FAMILY_NAME, FOU_GENL_NAME);
        w.attr(CTRL_ATTR_FAMILY_ID, &FOU_FAMILY_ID.to_ne_bytes());
        w.end();
        Ok(w.take().get(NLMSG_HDR_LEN..).unwrap_or_default().to_vec())
    }

    fn port_id(&self) -> Option<u32> {
        None
    }
}

impl DumpSource for SimGenericSocket {
    fn dump(
        &mut self,
        what: &'static str,
        build: &dyn Fn(&mut MsgWriter),
        _reset: &mut dyn FnMut(),
        each: &mut dyn FnMut(&NlMsg<'_>),
    ) -> Result<(), NetlinkError> {
        let (msg_type, payload) = SimGenericSocket::message(&mut |w| build(w))
            .map_err(|e| NetlinkError::Dump(what, e))?;
        if msg_type != FOU_FAMILY_ID || payload.first() != Some(&FOU_CMD_GET) {
            return Err(NetlinkError::Dump(
                what,
                errno_of((libc::EOPNOTSUPP, "simulated kernel: FoU port dumps only")),
            ));
        }
        let mut w = MsgWriter::new();
        for (&(port, af), &gue) in &self.kernel.state.borrow().fou {
            encode_fou_port(&mut w, FouPort { port, af, gue });
        }
        for r in messages(&w.take()) {
            each(&r?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::bgp::rib::{AcceptAll, PeerId, PeerInfo, Rib, RibConfig};
    use crate::bgp::types::{Attrs, Update};
    use crate::config::{Config, DaemonAction, parse_daemon_args};
    use crate::daemon::routes::{HoldFacts, KernelRoutes};
    use crate::prefix::Afi;

    fn p(s: &str) -> Prefix {
        s.parse().expect("prefix")
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    fn cfg() -> Config {
        cfg_with(&[])
    }

    fn cfg_with(extra: &[&str]) -> Config {
        let args = [&["--injected-routes-sync-period=10s"], extra].concat();
        match parse_daemon_args(args.iter().map(Into::into).collect()) {
            Ok(DaemonAction::Run { config, .. }) => *config,
            _ => panic!("flags"),
        }
    }

    /// A node at 10.0.0.1 on 10.0.0.0/24.
    fn kernel() -> SimKernel {
        SimKernel::new(ip("10.0.0.1"), p("10.0.0.0/24"))
    }

    /// A RIB with one eBGP peer up, whose routes are learned (they get kernel routes).
    fn learned() -> (Rib, PeerId) {
        let mut rib = Rib::new(
            RibConfig {
                router_id: "10.0.0.1".parse().expect("id"),
                cluster_id: None,
            },
            Box::new(AcceptAll),
        );
        let info = PeerInfo {
            addr: ip("10.0.0.2"),
            remote_asn: 65100,
            local_asn: 65000,
            router_id: "10.0.0.2".parse().expect("id"),
            ibgp: false,
            rr_client: false,
            families: vec![Afi::Ipv4],
            local_addr_v4: Some("10.0.0.1".parse().expect("ip")),
            local_addr_v6: None,
            next_hop_self: false,
        };
        let id = rib.add_peer(info.clone());
        rib.peer_up(id, info).expect("peer up");
        (rib, id)
    }

    /// The peer announces `prefixes` with next hop `nh`.
    fn announce(rib: &mut Rib, peer: PeerId, prefixes: &[&str], nh: &str) {
        let attrs = Attrs {
            next_hop: Some(nh.parse().expect("next hop")),
            as_path: crate::bgp::types::AsPath {
                segments: vec![crate::bgp::types::AsSegment::Sequence(vec![65100])],
            },
            ..Attrs::default()
        };
        let u = Update {
            announced: prefixes.iter().map(|s| p(s)).collect(),
            attrs: Some(attrs),
            ..Update::default()
        };
        rib.apply_update(peer, u).expect("update");
    }

    fn withdraw(rib: &mut Rib, peer: PeerId, prefixes: &[&str]) {
        let u = Update {
            withdrawn: prefixes.iter().map(|s| p(s)).collect(),
            ..Update::default()
        };
        rib.apply_update(peer, u).expect("withdraw");
    }

    /// Virtual time and the loop's calls, as the daemon makes them: collect, then one
    /// sync per turn, turning at the routes' own deadline.
    struct Drive {
        now: Instant,
    }

    impl Drive {
        fn new() -> Drive {
            Drive {
                now: Instant::now(),
            }
        }

        fn turn(&mut self, kr: &mut KernelRoutes, rib: &mut Rib) {
            kr.collect(self.now);
            let hold = kr.holding().then(|| HoldFacts {
                listed: true,
                bgp: true,
                peers: Vec::new(),
            });
            kr.sync(Some(rib), false, hold, self.now);
        }

        /// Turns until nothing is due before `for` from now has passed (bounded).
        fn settle(&mut self, kr: &mut KernelRoutes, rib: &mut Rib, span: Duration) {
            let end = self.now + span;
            for _ in 0..1000 {
                self.turn(kr, rib);
                match kr.next_deadline(false, self.now) {
                    Some(t) if t <= end => self.now = self.now.max(t),
                    _ => {
                        self.now = end;
                        return;
                    }
                }
            }
            panic!(
                "the routes never settled: {} passes, {} failed",
                kr.stats.passes, kr.stats.failed
            );
        }
    }

    fn start(k: &SimKernel, d: &Drive) -> KernelRoutes {
        start_with(k, d, &cfg())
    }

    fn start_with(k: &SimKernel, d: &Drive, cfg: &Config) -> KernelRoutes {
        let mut kr = KernelRoutes::with_port(cfg, k.port());
        kr.start(d.now);
        kr
    }

    fn via(pairs: &[(&str, &str)]) -> BTreeMap<Prefix, IpAddr> {
        pairs.iter().map(|(a, b)| (p(a), ip(b))).collect()
    }

    #[test]
    fn passes_install_replace_and_delete_routes() {
        let k = kernel();
        let mut d = Drive::new();
        let mut kr = start(&k, &d);
        assert!(kr.watch_fd().is_none(), "nothing to poll");
        let (mut rib, peer) = learned();
        announce(
            &mut rib,
            peer,
            &["10.244.1.0/24", "10.244.2.0/24"],
            "10.0.0.2",
        );
        announce(&mut rib, peer, &["10.244.3.0/24"], "192.0.2.9");
        d.settle(&mut kr, &mut rib, Duration::from_secs(1));
        assert_eq!(
            k.routes(),
            via(&[("10.244.1.0/24", "10.0.0.2"), ("10.244.2.0/24", "10.0.0.2")]),
            "an off-subnet next hop gets no route (the overlay is unavailable)"
        );
        assert_eq!(kr.installed(), 2);
        announce(&mut rib, peer, &["10.244.2.0/24"], "10.0.0.3");
        withdraw(&mut rib, peer, &["10.244.1.0/24"]);
        d.settle(&mut kr, &mut rib, Duration::from_secs(1));
        assert_eq!(k.routes(), via(&[("10.244.2.0/24", "10.0.0.3")]));
        assert_eq!(
            (kr.stats.added, kr.stats.replaced, kr.stats.deleted),
            (2, 1, 1)
        );
        assert!(k.foreign().is_empty(), "the connected route has no gateway");
    }

    #[test]
    fn failed_requests_are_retried() {
        let k = kernel();
        let mut d = Drive::new();
        let mut kr = start(&k, &d);
        let (mut rib, peer) = learned();
        k.fail_next(2);
        announce(
            &mut rib,
            peer,
            &["10.244.1.0/24", "10.244.2.0/24", "10.244.3.0/24"],
            "10.0.0.2",
        );
        d.turn(&mut kr, &mut rib);
        d.turn(&mut kr, &mut rib);
        assert_eq!(k.routes().len(), 1, "two of three refused");
        assert_eq!(kr.stats.failed, 2);
        // Retried a second later.
        d.settle(&mut kr, &mut rib, Duration::from_secs(3));
        assert_eq!(k.routes().len(), 3);
        assert_eq!(kr.stats.added, 3);
    }

    #[test]
    fn a_foreign_route_on_the_prefix_is_never_touched() {
        let k = kernel();
        let mut d = Drive::new();
        let mut kr = start(&k, &d);
        let (mut rib, peer) = learned();
        k.add_foreign(p("10.244.1.0/24"), ip("10.0.0.9"), 4);
        announce(
            &mut rib,
            peer,
            &["10.244.1.0/24", "10.244.2.0/24"],
            "10.0.0.2",
        );
        d.settle(&mut kr, &mut rib, Duration::from_secs(5));
        assert_eq!(k.routes(), via(&[("10.244.2.0/24", "10.0.0.2")]));
        assert_eq!(
            k.foreign(),
            [(p("10.244.1.0/24"), (ip("10.0.0.9"), 4))]
                .into_iter()
                .collect(),
            "refused with EEXIST, retried, never replaced"
        );
        // About once a second, not at once again and again.
        assert!(
            (2..=7).contains(&kr.stats.failed),
            "retried {} times in 5 s",
            kr.stats.failed
        );
        // Someone replaces our route: it is theirs now, and stays theirs.
        k.add_foreign(p("10.244.2.0/24"), ip("10.0.0.8"), 4);
        d.settle(&mut kr, &mut rib, Duration::from_secs(5));
        assert!(k.routes().is_empty());
        assert_eq!(k.foreign().len(), 2);
        assert_eq!(
            kr.installed(),
            0,
            "the notification told it the route is gone"
        );
        // Withdrawn: nothing of ours to delete, theirs stays.
        withdraw(&mut rib, peer, &["10.244.1.0/24", "10.244.2.0/24"]);
        d.settle(&mut kr, &mut rib, Duration::from_secs(30));
        assert_eq!(k.foreign().len(), 2);
    }

    #[test]
    fn a_new_agent_adopts_the_routes_left_and_holds_them() {
        let k = kernel();
        let mut d = Drive::new();
        let mut kr = start(&k, &d);
        let (mut rib, peer) = learned();
        announce(
            &mut rib,
            peer,
            &["10.244.1.0/24", "10.244.2.0/24"],
            "10.0.0.2",
        );
        d.settle(&mut kr, &mut rib, Duration::from_secs(1));
        drop(kr); // the agent crashed
        let left = k.routes();
        assert_eq!(left.len(), 2);

        let mut kr = start(&k, &d);
        assert_eq!(kr.installed(), 2, "adopted");
        assert!(kr.holding());
        // Before the hold releases (no RIB yet), nothing is deleted.
        kr.collect(d.now);
        kr.sync(None, false, None, d.now);
        assert_eq!(k.routes(), left);
        // The new run learns one of them again; the other is deleted once the hold
        // releases, the kept one is not touched.
        let (mut rib, peer) = learned();
        announce(&mut rib, peer, &["10.244.1.0/24"], "10.0.0.2");
        d.settle(&mut kr, &mut rib, Duration::from_secs(1));
        assert!(!kr.holding());
        assert_eq!(k.routes(), via(&[("10.244.1.0/24", "10.0.0.2")]));
        assert_eq!((kr.stats.added, kr.stats.deleted), (0, 1));
    }

    #[test]
    fn a_route_deleted_by_someone_else_is_put_back() {
        let k = kernel();
        let mut d = Drive::new();
        let mut kr = start(&k, &d);
        let (mut rib, peer) = learned();
        announce(
            &mut rib,
            peer,
            &["10.244.1.0/24", "10.244.2.0/24"],
            "10.0.0.2",
        );
        d.settle(&mut kr, &mut rib, Duration::from_secs(1));
        assert!(k.delete_route(p("10.244.1.0/24")));
        assert!(!k.delete_route(p("10.244.9.0/24")));
        assert_eq!(k.routes().len(), 1);
        d.settle(&mut kr, &mut rib, Duration::from_secs(1));
        assert_eq!(
            k.routes(),
            via(&[("10.244.1.0/24", "10.0.0.2"), ("10.244.2.0/24", "10.0.0.2")]),
            "the notification brought it back at once"
        );
        assert_eq!(kr.stats.added, 3);
    }

    #[test]
    fn a_change_racing_a_batch_in_flight_converges() {
        let k = kernel();
        let mut d = Drive::new();
        let mut kr = start(&k, &d);
        let (mut rib, peer) = learned();
        announce(&mut rib, peer, &["10.244.1.0/24"], "10.0.0.2");
        d.settle(&mut kr, &mut rib, Duration::from_secs(1));
        announce(&mut rib, peer, &["10.244.1.0/24"], "10.0.0.3");
        d.turn(&mut kr, &mut rib);
        assert_eq!(
            kr.next_deadline(false, d.now),
            Some(d.now),
            "the writer holds a batch: the loop turns at once"
        );
        assert_eq!(
            k.routes(),
            via(&[("10.244.1.0/24", "10.0.0.2")]),
            "not sent yet"
        );
        // Someone replaces the route while our replace is in flight: ours comes after
        // theirs, and the kernel applies it (a replace takes the prefix).
        k.add_foreign(p("10.244.1.0/24"), ip("10.0.0.9"), 4);
        d.settle(&mut kr, &mut rib, Duration::from_secs(1));
        assert_eq!(k.routes(), via(&[("10.244.1.0/24", "10.0.0.3")]));
        assert!(k.foreign().is_empty());
        assert_eq!(kr.installed(), 1, "the view re-read after the batch agrees");
        assert_eq!(
            kr.next_deadline(false, d.now),
            Some(d.now + Duration::from_secs(8)),
            "settled: only the periodic re-read is due (10 s after the start)"
        );
    }

    #[test]
    fn nexthop_objects_are_made_shared_adopted_and_deleted_when_unused() {
        let k = kernel();
        let mut d = Drive::new();
        let on = cfg_with(&["--kernel-nexthop-objects=true"]);
        let mut kr = start_with(&k, &d, &on);
        let (mut rib, peer) = learned();
        announce(
            &mut rib,
            peer,
            &["10.244.1.0/24", "10.244.2.0/24"],
            "10.0.0.2",
        );
        announce(&mut rib, peer, &["10.244.3.0/24"], "10.0.0.3");
        d.settle(&mut kr, &mut rib, Duration::from_secs(1));
        let all = via(&[
            ("10.244.1.0/24", "10.0.0.2"),
            ("10.244.2.0/24", "10.0.0.2"),
            ("10.244.3.0/24", "10.0.0.3"),
        ]);
        assert_eq!(k.routes(), all);
        let gateways: Vec<Option<IpAddr>> = k.nexthop_objects().into_values().collect();
        assert_eq!(gateways, vec![Some(ip("10.0.0.2")), Some(ip("10.0.0.3"))]);
        drop(kr);
        // A new run reads the routes through their objects: nothing to change.
        let mut kr = start_with(&k, &d, &on);
        assert_eq!(kr.installed(), 3);
        let (mut rib, peer) = learned();
        announce(
            &mut rib,
            peer,
            &["10.244.1.0/24", "10.244.2.0/24"],
            "10.0.0.2",
        );
        d.settle(&mut kr, &mut rib, Duration::from_secs(1));
        assert_eq!(
            (kr.stats.added, kr.stats.replaced, kr.stats.deleted),
            (0, 0, 1)
        );
        assert_eq!(k.routes().len(), 2);
        let gateways: Vec<Option<IpAddr>> = k.nexthop_objects().into_values().collect();
        assert_eq!(
            gateways,
            vec![Some(ip("10.0.0.2"))],
            "the unused object went"
        );
    }

    #[test]
    fn lost_notifications_are_healed_by_the_periodic_reread() {
        let k = kernel();
        let mut d = Drive::new();
        let mut kr = start(&k, &d);
        let (mut rib, peer) = learned();
        announce(&mut rib, peer, &["10.244.1.0/24"], "10.0.0.2");
        d.settle(&mut kr, &mut rib, Duration::from_secs(1));
        k.lose_notifications(true);
        k.add_foreign(p("10.244.1.0/24"), ip("10.0.0.7"), 4);
        d.settle(&mut kr, &mut rib, Duration::from_secs(1));
        assert_eq!(kr.installed(), 1, "not noticed yet");
        // The re-read (--injected-routes-sync-period=10s) finds the route gone.
        d.settle(&mut kr, &mut rib, Duration::from_secs(11));
        assert_eq!(kr.installed(), 0);
        assert!(k.routes().is_empty());
        assert_eq!(k.foreign().len(), 1, "theirs stays");
    }

    #[test]
    fn requests_are_decoded_with_the_kernels_rules() {
        let k = kernel();
        let mut port = k.port();
        let r = |dst: &str, gw: &str| KernelRoute::via(p(dst), ip(gw));
        let mut w = MsgWriter::new();
        encode_new(
            &mut w,
            &r("10.1.0.0/24", "10.0.0.2"),
            RT_TABLE_MAIN,
            false,
            0,
        );
        encode_new(
            &mut w,
            &r("10.1.0.0/24", "10.0.0.3"),
            RT_TABLE_MAIN,
            false,
            0,
        );
        encode_new(
            &mut w,
            &r("10.2.0.0/24", "192.0.2.1"),
            RT_TABLE_MAIN,
            false,
            0,
        );
        encode_new(
            &mut w,
            &r("10.1.0.0/24", "10.0.0.3"),
            RT_TABLE_MAIN,
            true,
            0,
        );
        crate::kernel::route::encode_del(&mut w, &p("10.3.0.0/24"), RT_TABLE_MAIN);
        crate::kernel::route::encode_del(&mut w, &p("10.0.0.0/24"), RT_TABLE_MAIN);
        let f = port
            .send(&mut w.take(), BatchOptions::default())
            .expect("batch");
        let errs: Vec<(usize, i32)> = f.iter().map(|f| (f.index, f.error.errno)).collect();
        assert_eq!(
            errs,
            vec![
                (1, libc::EEXIST),
                (2, libc::ENETUNREACH),
                (4, libc::ESRCH),
                (5, libc::ESRCH)
            ],
            "the connected route is not ours to delete"
        );
        assert_eq!(
            f[1].error.msg.as_deref(),
            Some("Nexthop has invalid gateway")
        );
        assert_eq!(k.routes(), via(&[("10.1.0.0/24", "10.0.0.3")]));
        // The dumps read back what the table holds.
        let rec = crate::kernel::Reconciler::with_port(false, k.port()).expect("reconciler");
        assert_eq!(rec.installed().len(), 1);
        assert_eq!(
            rec.connected().iter().copied().collect::<Vec<_>>(),
            vec![p("10.0.0.0/24")]
        );
        assert_eq!(
            rec.local_addrs().iter().copied().collect::<Vec<_>>(),
            vec![ip("10.0.0.1")]
        );
    }

    #[test]
    fn an_ipv6_node_is_modelled_alike() {
        let k = SimKernel::new(ip("fd00::1"), p("fd00::/64"));
        let mut port = k.port();
        let mut w = MsgWriter::new();
        for (dst, gw) in [("fd10::/64", "fd00::2"), ("fd11::/64", "fd01::1")] {
            encode_new(
                &mut w,
                &KernelRoute::via(p(dst), ip(gw)),
                RT_TABLE_MAIN,
                false,
                0,
            );
        }
        let f = port
            .send(&mut w.take(), BatchOptions::default())
            .expect("batch");
        assert_eq!(
            f.iter()
                .map(|f| (f.index, f.error.errno))
                .collect::<Vec<_>>(),
            vec![(1, libc::ENETUNREACH)]
        );
        let rec = crate::kernel::Reconciler::with_port(false, k.port()).expect("reconciler");
        assert_eq!(rec.installed().len(), 1);
        assert_eq!(
            rec.connected().iter().copied().collect::<Vec<_>>(),
            vec![p("fd00::/64")]
        );
        assert_eq!(k.routes(), via(&[("fd10::/64", "fd00::2")]));
    }

    #[test]
    fn routes_through_a_tunnel_go_with_it() {
        let k = kernel();
        let mut links = k.port().link_port();
        let mut sock = links.open_links().expect("link socket");
        let spec = TunnelSpec {
            local: ip("10.0.0.1"),
            remote: ip("10.0.1.7"),
            encap: super::super::tunnel::TunnelEncap::Ipip,
        };
        let made = super::super::tunnel::ensure_tunnel(sock.as_mut(), &spec).expect("tunnel");
        assert_eq!(
            super::super::tunnel::ensure_tunnel(sock.as_mut(), &spec)
                .expect("again")
                .ifindex,
            made.ifindex,
            "kept"
        );
        let mut port = k.port();
        let dev = |dst: &str, ifindex| KernelRoute {
            dst: p(dst),
            kind: RouteKind::Dev {
                ifindex,
                src: Some(ip("10.0.0.1")),
            },
        };
        let mut w = MsgWriter::new();
        encode_new(
            &mut w,
            &dev("10.244.7.0/24", made.ifindex),
            RT_TABLE_MAIN,
            false,
            0,
        );
        encode_new(&mut w, &dev("10.244.8.0/24", 99), RT_TABLE_MAIN, false, 0);
        let f = port
            .send(&mut w.take(), BatchOptions::default())
            .expect("batch");
        assert_eq!(
            f.iter()
                .map(|f| (f.index, f.error.errno))
                .collect::<Vec<_>>(),
            vec![(1, libc::ENODEV)]
        );
        assert_eq!(
            k.hops(),
            [(p("10.244.7.0/24"), RouteHop::Tunnel(spec.remote))].into()
        );
        // The dumps the reconciler reads: table 77 is not the main table's.
        super::super::tunnel::ensure_tunnel_route(sock.as_mut(), spec.remote, made.ifindex)
            .expect("table 77");
        let rec = crate::kernel::Reconciler::with_port(false, k.port()).expect("reconciler");
        assert_eq!(rec.installed().len(), 1);
        // Someone deletes the tunnel: its routes go silently, the link change is heard.
        let mut port = k.port();
        let name = super::super::tunnel::tunnel_name(&spec.remote);
        assert!(k.delete_link(&name));
        assert!(!k.delete_link(&name));
        assert!(k.hops().is_empty());
        assert!(k.overlay().table77.is_empty());
        assert!(port.changes(10).expect("changes").links);
        // The node's own link is not ours to delete.
        let mut w = MsgWriter::new();
        w.begin(RTM_DELLINK, 0);
        w.raw(&ifinfomsg(0, LINK_IFINDEX, 0, 0));
        w.end();
        let del = w.take();
        let refused = sock.request(&mut |w: &mut MsgWriter| w.buf.extend_from_slice(&del));
        assert_eq!(refused.map_err(|e| e.errno), Err(libc::EOPNOTSUPP));
    }

    /// A route that keeps failing (another program holds its prefix) keeps its own
    /// tunnel for its retries, but no other: a deleted node's tunnel still goes.
    #[test]
    fn a_blocked_route_keeps_its_tunnel_and_no_other() {
        let k = kernel();
        let mut d = Drive::new();
        let mut kr = start(&k, &d);
        let (near, far) = (ip("10.0.1.7"), ip("10.0.1.8"));
        kr.set_nodes(&[near, far], ip("10.0.0.1"), d.now);
        let (mut rib, peer) = learned();
        k.add_foreign(p("10.244.8.0/24"), ip("10.0.0.9"), 4);
        announce(&mut rib, peer, &["10.244.7.0/24"], "10.0.1.7");
        announce(&mut rib, peer, &["10.244.8.0/24"], "10.0.1.8");
        d.settle(&mut kr, &mut rib, Duration::from_secs(3));
        assert_eq!(
            k.hops(),
            [(p("10.244.7.0/24"), RouteHop::Tunnel(near))].into()
        );
        let names = |k: &SimKernel| k.overlay().tunnels.into_keys().collect::<Vec<_>>();
        let mut both = vec![
            super::super::tunnel::tunnel_name(&near),
            super::super::tunnel::tunnel_name(&far),
        ];
        both.sort();
        assert_eq!(
            names(&k),
            both,
            "the blocked route's tunnel stays for its retries"
        );
        let kept = k.overlay().tunnels;
        // The node at .7 goes; the route to .8 still fails every second.
        withdraw(&mut rib, peer, &["10.244.7.0/24"]);
        kr.set_nodes(&[far], ip("10.0.0.1"), d.now);
        d.settle(&mut kr, &mut rib, Duration::from_secs(5));
        assert!(k.hops().is_empty());
        assert_eq!(
            names(&k),
            vec![super::super::tunnel::tunnel_name(&far)],
            "the deleted node's tunnel went"
        );
        assert!(kr.stats.failed >= 3, "still retried: {}", kr.stats.failed);
        let name = super::super::tunnel::tunnel_name(&far);
        assert_eq!(
            k.overlay().tunnels.get(&name),
            kept.get(&name),
            "the same tunnel all along"
        );
    }

    #[test]
    fn fou_ports_and_gue_tunnels_are_decoded_from_the_request_bytes() {
        use crate::kernel::fou::{FouPorts, encode_port};
        let k = kernel();
        let mut links = k.port().link_port();
        let mut ports = FouPorts::over(links.open_generic().expect("generic socket"));
        assert!(ports.add_gue(5555, AF_INET).expect("add"));
        assert!(
            !ports.add_gue(5555, AF_INET).expect("listed"),
            "open already"
        );
        assert!(ports.add_gue(5555, AF_INET6).expect("add v6"));
        assert_eq!(
            k.overlay().fou_ports,
            [((5555, AF_INET), true), ((5555, AF_INET6), true)].into()
        );
        // A port and family already taken is refused, whatever the type.
        let mut raw = links.open_generic().expect("generic socket");
        let again = raw.request(&mut |w| encode_port(w, FOU_FAMILY_ID, true, 5555, AF_INET));
        assert_eq!(again.map_err(|e| e.errno), Err(libc::EALREADY));
        // rtnetlink requests mean nothing on this socket.
        let odd = raw.request(&mut |w| encode_rule(w, true, &p("10.244.0.0/24")));
        assert_eq!(odd.map_err(|e| e.errno), Err(libc::EOPNOTSUPP));
        // A GUE tunnel carries its encapsulation and port in its attributes.
        let mut sock = links.open_links().expect("link socket");
        let spec = TunnelSpec {
            local: ip("10.0.0.1"),
            remote: ip("10.0.1.7"),
            encap: crate::kernel::tunnel::TunnelEncap::Gue { port: 5555 },
        };
        super::super::tunnel::ensure_tunnel(sock.as_mut(), &spec).expect("tunnel");
        let name = super::super::tunnel::tunnel_name(&spec.remote);
        assert_eq!(k.overlay().tunnels.get(&name), Some(&(spec, true)));
        assert!(ports.remove(5555, AF_INET).expect("remove"));
        assert!(!ports.remove(5555, AF_INET).expect("none"), "gone already");
        let missing = raw.request(&mut |w| encode_port(w, FOU_FAMILY_ID, false, 5555, AF_INET));
        assert_eq!(missing.map_err(|e| e.errno), Err(libc::EINVAL));
        assert_eq!(k.overlay().fou_ports, [((5555, AF_INET6), true)].into());
    }
}
