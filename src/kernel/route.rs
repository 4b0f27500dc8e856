//! Kernel routes: the value kube-bgp installs, its RTM_NEWROUTE/RTM_DELROUTE encoding,
//! and parsing of route dumps and notifications.
//!
//! Owns: `KernelRoute`/`RouteKind`, the message layout for routes in the main table
//! with protocol 17 (kube-router's "zebra"), and the split of a dump into our routes
//! and everyone else's. Must not decide what to install (that is the reconciler's job)
//! and never builds a delete that could match another protocol's route.

#[cfg(test)]
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::netlink::DumpSource;
use super::netlink::{
    AF_INET, AF_INET6, MsgWriter, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST,
    NetlinkError, NlMsg, attrs, u32_at,
};
use super::route_op::Op;
use super::table::RouteTable;
use crate::prefix::Prefix;

pub(crate) const RTM_NEWROUTE: u16 = 24;
pub(crate) const RTM_DELROUTE: u16 = 25;
pub(crate) const RTM_GETROUTE: u16 = 26;

pub(crate) const RTA_DST: u16 = 1;
pub(crate) const RTA_OIF: u16 = 4;
pub(crate) const RTA_GATEWAY: u16 = 5;
pub(crate) const RTA_PRIORITY: u16 = 6;
pub(crate) const RTA_PREFSRC: u16 = 7;
pub(crate) const RTA_TABLE: u16 = 15;
/// The nexthop object a route uses (`nhid`), instead of a gateway and device.
pub(crate) const RTA_NH_ID: u16 = 30;

pub(crate) const RT_TABLE_MAIN: u32 = 254;
/// kube-router's policy-routing table for tunnels.
pub(crate) const RT_TABLE_KUBE_ROUTER: u32 = 77;
/// kube-router's route protocol number ("zebra"); every route we own carries it.
pub(crate) const RTPROT_KUBE_ROUTER: u8 = 17;

pub(crate) const RT_SCOPE_UNIVERSE: u8 = 0;
pub(crate) const RT_SCOPE_LINK: u8 = 253;
pub(crate) const RT_SCOPE_NOWHERE: u8 = 255;
pub(crate) const RTN_UNSPEC: u8 = 0;
pub(crate) const RTN_UNICAST: u8 = 1;

/// Where a route sends traffic.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum RouteKind {
    /// Through a next hop on a connected subnet (`via nh`).
    Via(IpAddr),
    /// Straight into an interface (a tunnel), with an optional preferred source.
    Dev { ifindex: u32, src: Option<IpAddr> },
    /// A protocol-17 route of a shape kube-bgp never installs (blackhole, multipath,
    /// …). Seen only in dumps; never desired, so reconciling replaces or deletes it.
    Other,
}

/// One route kube-bgp wants (or found) in the main table with protocol 17, no metric.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct KernelRoute {
    pub dst: Prefix,
    pub kind: RouteKind,
}

impl KernelRoute {
    pub fn via(dst: Prefix, nh: IpAddr) -> KernelRoute {
        KernelRoute {
            dst,
            kind: RouteKind::Via(nh),
        }
    }

    pub fn dev(dst: Prefix, ifindex: u32, src: Option<IpAddr>) -> KernelRoute {
        KernelRoute {
            dst,
            kind: RouteKind::Dev { ifindex, src },
        }
    }

    /// Why this route cannot be installed as is, if it cannot.
    pub(crate) fn check(&self) -> Result<(), RouteError> {
        let fam = self.dst.afi();
        match self.kind {
            RouteKind::Via(nh) if crate::prefix::Afi::of(&nh) != fam => {
                Err(RouteError::FamilyMismatch(*self))
            }
            RouteKind::Dev { src: Some(s), .. } if crate::prefix::Afi::of(&s) != fam => {
                Err(RouteError::FamilyMismatch(*self))
            }
            RouteKind::Dev { ifindex: 0, .. } => Err(RouteError::NoInterface(*self)),
            RouteKind::Other => Err(RouteError::NotInstallable(*self)),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for KernelRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            RouteKind::Via(nh) => write!(f, "{} via {nh}", self.dst),
            RouteKind::Dev { ifindex, src: None } => write!(f, "{} dev #{ifindex}", self.dst),
            RouteKind::Dev {
                ifindex,
                src: Some(s),
            } => write!(f, "{} dev #{ifindex} src {s}", self.dst),
            RouteKind::Other => write!(f, "{} (unsupported form)", self.dst),
        }
    }
}

/// A route that cannot be expressed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RouteError {
    FamilyMismatch(KernelRoute),
    NoInterface(KernelRoute),
    NotInstallable(KernelRoute),
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteError::FamilyMismatch(r) => {
                write!(
                    f,
                    "route {r}: next hop/source family differs from the prefix"
                )
            }
            RouteError::NoInterface(r) => write!(f, "route {r}: no interface index"),
            RouteError::NotInstallable(r) => write!(f, "route {r}: not an installable form"),
        }
    }
}

impl std::error::Error for RouteError {}

fn family(p: &Prefix) -> u8 {
    match p {
        Prefix::V4(..) => AF_INET,
        Prefix::V6(..) => AF_INET6,
    }
}

fn ip_bytes(a: &IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// `struct rtmsg` (12 bytes).
fn rtmsg(fam: u8, dst_len: u8, table: u32, protocol: u8, scope: u8, rtype: u8) -> [u8; 12] {
    let t = if table < 256 { table as u8 } else { 252 }; // RT_TABLE_COMPAT
    [fam, dst_len, 0, 0, t, protocol, scope, rtype, 0, 0, 0, 0]
}

/// Writes an RTM_NEWROUTE for `r` in `table`: `replace` selects NLM_F_REPLACE (change
/// our existing route in place), otherwise NLM_F_EXCL so an existing route of anyone
/// else for the same prefix and metric is refused with EEXIST instead of overwritten.
/// The route must have passed `KernelRoute::check`.
pub(crate) fn encode_new(w: &mut MsgWriter, r: &KernelRoute, table: u32, replace: bool, scope: u8) {
    encode_new_nh(w, r, table, replace, scope, None);
}

/// As `encode_new`, but with `nh_id` the route names that nexthop object (RTA_NH_ID)
/// instead of carrying its gateway or device; a preferred source stays on the route.
pub(crate) fn encode_new_nh(
    w: &mut MsgWriter,
    r: &KernelRoute,
    table: u32,
    replace: bool,
    scope: u8,
    nh_id: Option<u32>,
) {
    let flags = NLM_F_REQUEST | NLM_F_CREATE | if replace { NLM_F_REPLACE } else { NLM_F_EXCL };
    w.begin(RTM_NEWROUTE, flags);
    w.raw(&rtmsg(
        family(&r.dst),
        r.dst.len(),
        table,
        RTPROT_KUBE_ROUTER,
        scope,
        RTN_UNICAST,
    ));
    w.attr(RTA_DST, &ip_bytes(&r.dst.addr()));
    if table >= 256 {
        w.attr_u32(RTA_TABLE, table);
    }
    match (r.kind, nh_id) {
        (RouteKind::Via(_), Some(id)) => w.attr_u32(RTA_NH_ID, id),
        (RouteKind::Via(nh), None) => w.attr(RTA_GATEWAY, &ip_bytes(&nh)),
        (RouteKind::Dev { ifindex, src }, id) => {
            match id {
                Some(id) => w.attr_u32(RTA_NH_ID, id),
                None => w.attr_u32(RTA_OIF, ifindex),
            }
            if let Some(s) = src {
                w.attr(RTA_PREFSRC, &ip_bytes(&s));
            }
        }
        (RouteKind::Other, _) => {}
    }
    w.end();
}

/// Encodes one reconcile operation on the main table (`nh_id`: the nexthop object an
/// add or replace names, see `nexthop`).
pub(crate) fn encode_op(w: &mut MsgWriter, op: &Op, nh_id: Option<u32>) {
    match op {
        Op::Add(r) => encode_new_nh(w, r, RT_TABLE_MAIN, false, RT_SCOPE_UNIVERSE, nh_id),
        Op::Replace(r) => encode_new_nh(w, r, RT_TABLE_MAIN, true, RT_SCOPE_UNIVERSE, nh_id),
        Op::Delete(r) => encode_del(w, &r.dst, RT_TABLE_MAIN),
    }
}

/// Writes an RTM_DELROUTE for our route to `dst` in `table`. It names protocol 17, so
/// the kernel never matches another protocol's route; scope NOWHERE and type UNSPEC
/// are the wildcards IPv4 needs (anything else gives ESRCH for routes of other scopes).
pub(crate) fn encode_del(w: &mut MsgWriter, dst: &Prefix, table: u32) {
    w.begin(RTM_DELROUTE, NLM_F_REQUEST);
    w.raw(&rtmsg(
        family(dst),
        dst.len(),
        table,
        RTPROT_KUBE_ROUTER,
        RT_SCOPE_NOWHERE,
        RTN_UNSPEC,
    ));
    w.attr(RTA_DST, &ip_bytes(&dst.addr()));
    if table >= 256 {
        w.attr_u32(RTA_TABLE, table);
    }
    w.end();
}

/// A route message decoded far enough to classify it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteInfo {
    pub(crate) table: u32,
    pub(crate) protocol: u8,
    /// Source-specific (IPv6 `from`) routes have a non-zero source length.
    pub(crate) src_len: u8,
    pub(crate) priority: u32,
    /// The nexthop object the route names, if it names one.
    pub(crate) nh_id: Option<u32>,
    pub(crate) route: KernelRoute,
}

fn ip_from(fam: u8, b: &[u8]) -> Option<IpAddr> {
    match fam {
        AF_INET => {
            let o: [u8; 4] = b.try_into().ok()?;
            Some(IpAddr::V4(Ipv4Addr::from(o)))
        }
        AF_INET6 => {
            let o: [u8; 16] = b.try_into().ok()?;
            Some(IpAddr::V6(Ipv6Addr::from(o)))
        }
        _ => None,
    }
}

/// Decodes an RTM_NEWROUTE/RTM_DELROUTE payload; `None` for other families or
/// malformed messages. A route that names a nexthop object is read from the gateway and
/// device the kernel adds to it (`net.ipv4.nexthop_compat_mode=1`, the default);
/// without them it is `Other` (see `parse_route_nh`).
pub fn parse_route(payload: &[u8]) -> Option<RouteInfo> {
    parse_route_nh(payload, &|_| None)
}

/// As `parse_route`; `nexthop(id)` tells where a route naming object `id` leads
/// (gateway, device) when the message carries only the id.
pub(crate) fn parse_route_nh(
    payload: &[u8],
    nexthop: &dyn Fn(u32) -> Option<(Option<IpAddr>, u32)>,
) -> Option<RouteInfo> {
    let hdr = payload.get(..12)?;
    let (fam, dst_len, src_len, table8, protocol, rtype) =
        (hdr[0], hdr[1], hdr[2], hdr[4], hdr[5], hdr[7]);
    let unspecified = match fam {
        AF_INET => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        AF_INET6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        _ => return None,
    };
    let mut table = u32::from(table8);
    let mut dst = unspecified;
    let (mut gw, mut oif, mut src, mut priority, mut multipath) = (None, 0u32, None, 0u32, false);
    let mut nh_id = None;
    for (kind, data) in attrs(payload.get(12..)?) {
        match kind {
            RTA_DST => dst = ip_from(fam, data)?,
            RTA_GATEWAY => gw = ip_from(fam, data),
            RTA_OIF => oif = u32_at(data, 0).unwrap_or(0),
            RTA_PREFSRC => src = ip_from(fam, data),
            RTA_TABLE => table = u32_at(data, 0).unwrap_or(table),
            RTA_PRIORITY => priority = u32_at(data, 0).unwrap_or(0),
            RTA_NH_ID => nh_id = u32_at(data, 0),
            9 /* RTA_MULTIPATH */ | 18 /* RTA_VIA */ => multipath = true,
            _ => {}
        }
    }
    let dst = Prefix::new(dst, dst_len).ok()?;
    if let (Some(id), None, 0, false) = (nh_id, gw, oif, multipath) {
        if let Some((g, dev)) = nexthop(id) {
            (gw, oif) = (g, dev);
        }
    }
    let kind = match (rtype, gw, multipath) {
        (RTN_UNICAST, Some(g), false) => RouteKind::Via(g),
        (RTN_UNICAST, None, false) if oif != 0 => RouteKind::Dev { ifindex: oif, src },
        _ => RouteKind::Other,
    };
    Some(RouteInfo {
        table,
        protocol,
        src_len,
        priority,
        nh_id,
        route: KernelRoute { dst, kind },
    })
}

#[cfg(test)]
/// The main table as dumped: our routes and the prefixes of everyone else's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct MainTable {
    /// Protocol-17 routes, one per prefix (the first seen if the kernel holds several,
    /// e.g. with different metrics).
    pub(crate) ours: BTreeMap<Prefix, KernelRoute>,
    /// Prefixes with a route of another protocol (kernel, static, boot, dhcp, …).
    pub(crate) foreign: BTreeSet<Prefix>,
}

#[cfg(test)]
impl MainTable {
    /// Adds one dumped route message to the table.
    pub(crate) fn absorb(&mut self, payload: &[u8]) {
        let Some(info) = parse_route(payload) else {
            return;
        };
        if info.table != RT_TABLE_MAIN || info.src_len != 0 {
            return;
        }
        if info.protocol == RTPROT_KUBE_ROUTER {
            self.ours.entry(info.route.dst).or_insert(info.route);
        } else {
            self.foreign.insert(info.route.dst);
        }
    }
}

fn route_dump_request(w: &mut MsgWriter, fam: u8) {
    w.begin(RTM_GETROUTE, NLM_F_REQUEST);
    w.raw(&rtmsg(fam, 0, 0, 0, 0, 0));
    w.end();
}

/// Dumps both families' main-table routes with protocol 17 into `out` (cleared first;
/// the first route seen wins when the kernel holds several for one prefix). Streams:
/// nothing but `out` grows with the table. `nexthop` resolves routes dumped with only a
/// nexthop object id (see `parse_route_nh`).
pub(crate) fn dump_ours_into(
    nl: &mut dyn DumpSource,
    out: &mut RouteTable,
    nexthop: &dyn Fn(u32) -> Option<(Option<IpAddr>, u32)>,
) -> Result<(), NetlinkError> {
    out.clear();
    for fam in [AF_INET, AF_INET6] {
        let cell = std::cell::RefCell::new(&mut *out);
        nl.dump(
            "routes",
            &|w| route_dump_request(w, fam),
            // An interrupted dump starts over: forget this family's part.
            &mut || {
                let mut t = cell.borrow_mut();
                let drop: Vec<Prefix> = t
                    .iter()
                    .map(|(p, _)| p)
                    .filter(|p| family(p) == fam)
                    .collect();
                for p in drop {
                    t.remove(&p);
                }
            },
            &mut |m: &NlMsg<'_>| {
                if m.msg_type != RTM_NEWROUTE {
                    return;
                }
                let Some(info) = parse_route_nh(m.payload, nexthop) else {
                    return;
                };
                if info.table == RT_TABLE_MAIN
                    && info.src_len == 0
                    && info.protocol == RTPROT_KUBE_ROUTER
                {
                    let mut t = cell.borrow_mut();
                    if t.get(&info.route.dst).is_none() {
                        t.insert(info.route.dst, info.route.kind);
                    }
                }
            },
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::netlink::messages;
    use super::*;

    fn p(s: &str) -> Prefix {
        s.parse().expect("prefix")
    }

    fn one(w: &mut MsgWriter) -> Vec<u8> {
        let b = w.take();
        let m: Vec<_> = messages(&b).collect::<Result<_, _>>().expect("parse");
        assert_eq!(m.len(), 1);
        m[0].payload.to_vec()
    }

    #[test]
    fn new_route_layout_matches_iproute2() {
        // `ip route add 10.2.0.0/24 via 10.0.0.2 proto 17` sends rtmsg {AF_INET, 24, 0,
        // 0, 254, 17, UNIVERSE, UNICAST, 0} then RTA_DST and RTA_GATEWAY.
        let mut w = MsgWriter::new();
        let r = KernelRoute::via(p("10.2.0.0/24"), "10.0.0.2".parse().expect("ip"));
        encode_new(&mut w, &r, RT_TABLE_MAIN, false, RT_SCOPE_UNIVERSE);
        let b = w.buf.clone();
        assert_eq!(u32_at(&b, 0), Some(16 + 12 + 8 + 8));
        assert_eq!(&b[4..6], &RTM_NEWROUTE.to_ne_bytes());
        assert_eq!(
            &b[6..8],
            &(NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL).to_ne_bytes()
        );
        let pl = one(&mut w);
        assert_eq!(&pl[..12], &[2, 24, 0, 0, 254, 17, 0, 1, 0, 0, 0, 0]);
        assert_eq!(&pl[12..20], &[8, 0, 1, 0, 10, 2, 0, 0]);
        assert_eq!(&pl[20..28], &[8, 0, 5, 0, 10, 0, 0, 2]);
        let info = parse_route(&pl).expect("parse back");
        assert_eq!(info.route, r);
        assert_eq!((info.table, info.protocol), (254, 17));
    }

    #[test]
    fn delete_names_protocol_and_nowhere_scope() {
        let mut w = MsgWriter::new();
        encode_del(&mut w, &p("fd00:1::/64"), RT_TABLE_MAIN);
        let pl = one(&mut w);
        assert_eq!(&pl[..12], &[10, 64, 0, 0, 254, 17, 255, 0, 0, 0, 0, 0]);
        assert_eq!(u16::from_ne_bytes([pl[12], pl[13]]), 20);
    }

    #[test]
    fn dev_route_roundtrip_and_big_table() {
        let mut w = MsgWriter::new();
        let r = KernelRoute::dev(p("10.9.0.0/16"), 7, Some("10.0.0.1".parse().expect("ip")));
        encode_new(&mut w, &r, 1000, true, RT_SCOPE_UNIVERSE);
        let pl = one(&mut w);
        let info = parse_route(&pl).expect("parse");
        assert_eq!(info.route, r);
        assert_eq!(info.table, 1000);
    }

    #[test]
    fn check_refuses_mixed_families() {
        let r = KernelRoute::via(p("10.0.0.0/8"), "fd00::1".parse().expect("ip"));
        assert!(r.check().is_err());
        assert!(KernelRoute::dev(p("10.0.0.0/8"), 0, None).check().is_err());
        assert!(
            KernelRoute::via(p("fd00::/8"), "fd00::1".parse().expect("ip"))
                .check()
                .is_ok()
        );
    }

    #[test]
    fn main_table_split_and_garbage() {
        let mut t = MainTable::default();
        let mut w = MsgWriter::new();
        let r = KernelRoute::via(p("10.2.0.0/24"), "10.0.0.2".parse().expect("ip"));
        encode_new(&mut w, &r, RT_TABLE_MAIN, false, 0);
        let mut pl = one(&mut w);
        t.absorb(&pl);
        pl[5] = 4; // static
        pl[1] = 25;
        t.absorb(&pl);
        pl[4] = 77;
        t.absorb(&pl);
        t.absorb(&pl[..7]);
        t.absorb(&[]);
        assert_eq!(t.ours.len(), 1);
        assert_eq!(t.ours.get(&r.dst), Some(&r));
        // 10.2.0.0/25 with the address bits of /24: host bits cleared, foreign.
        assert_eq!(
            t.foreign.iter().collect::<Vec<_>>(),
            vec![&p("10.2.0.0/25")]
        );
    }
}
