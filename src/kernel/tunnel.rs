//! kube-router's overlay tunnels: tunnel names, ipip/ip6tnl links with or without GUE
//! encapsulation, the table-77 host route through each tunnel, the `from <pod CIDR>
//! lookup 77` rules, and removal of orphaned `tun-*` links (D6, P-12).
//!
//! Owns: the link/rule message layouts (the link-creation message is byte-for-byte
//! what `ip [-6] link add NAME type ipip|ip6tnl remote R local L` sends, or with
//! `--overlay-encap=fou` what kube-router runs: `… ttl 225 encap gue encap-sport auto
//! encap-dport P mode ipip|ip6ip6`), reading a link's tunnel parameters back, and the
//! calls that apply them. Does not decide which next hops get tunnels (D7 is the
//! daemon's) nor open FoU ports (`fou`), and only ever deletes links that are named
//! `tun-*` *and* are ipip/ip6tnl links.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;

use super::netlink::{
    AF_INET, AF_INET6, DumpSource, Errno, MsgWriter, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL,
    NLM_F_REQUEST, NetlinkError, NetlinkRequests, attrs, u32_at,
};
use super::route::{KernelRoute, RT_SCOPE_LINK, RT_TABLE_KUBE_ROUTER, encode_del, encode_new};
use super::watch::RTM_NEWLINK;
use crate::prefix::Prefix;

pub(crate) const RTM_DELLINK: u16 = 17;
pub(crate) const RTM_GETLINK: u16 = 18;
pub(crate) const RTM_NEWRULE: u16 = 32;
pub(crate) const RTM_DELRULE: u16 = 33;
pub(crate) const RTM_GETRULE: u16 = 34;
const FRA_TABLE: u16 = 15;
pub(crate) const IFLA_IFNAME: u16 = 3;
const IFLA_LINKINFO: u16 = 18;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const IFLA_IPTUN_LINK: u16 = 1;
const IFLA_IPTUN_LOCAL: u16 = 2;
const IFLA_IPTUN_REMOTE: u16 = 3;
const IFLA_IPTUN_TTL: u16 = 4;
const IFLA_IPTUN_TOS: u16 = 5;
const IFLA_IPTUN_ENCAP_LIMIT: u16 = 6;
const IFLA_IPTUN_FLOWINFO: u16 = 7;
const IFLA_IPTUN_FLAGS: u16 = 8;
const IFLA_IPTUN_PROTO: u16 = 9;
const IFLA_IPTUN_PMTUDISC: u16 = 10;
const IFLA_IPTUN_ENCAP_TYPE: u16 = 15;
const IFLA_IPTUN_ENCAP_FLAGS: u16 = 16;
const IFLA_IPTUN_ENCAP_SPORT: u16 = 17;
const IFLA_IPTUN_ENCAP_DPORT: u16 = 18;
const IFLA_IPTUN_FWMARK: u16 = 20;
/// `TUNNEL_ENCAP_NONE` / `TUNNEL_ENCAP_GUE` (IFLA_IPTUN_ENCAP_TYPE values).
const TUNNEL_ENCAP_NONE: u16 = 0;
const TUNNEL_ENCAP_GUE: u16 = 2;
/// The inner protocol of `mode ipip` and `mode ip6ip6`.
const IPPROTO_IPIP: u8 = 4;
const IPPROTO_IPV6: u8 = 41;
/// kube-router's hop limit for GUE tunnels (`ttl 225`).
const GUE_TTL: u8 = 225;
const FRA_SRC: u16 = 2;
const FR_ACT_TO_TBL: u8 = 1;
const IFF_UP: u32 = 0x1;
/// TUNNEL_ENCAP_FLAG_CSUM6, iproute2's default for ip6tnl.
const TUNNEL_ENCAP_FLAG_CSUM6: u16 = 2;
/// IPV6_DEFAULT_TNL_ENCAP_LIMIT and iproute2's default hop limit for ip6tnl.
const IP6TNL_ENCAP_LIMIT: u8 = 4;
const IP6TNL_TTL: u8 = 64;

/// Errors of tunnel management.
#[derive(Debug)]
pub enum TunnelError {
    /// This kernel has no ipip/ip6tnl support ("Unknown device type").
    Unsupported {
        kind: &'static str,
        error: Errno,
    },
    /// The kernel refused a request.
    Kernel {
        what: String,
        error: Errno,
    },
    /// The kernel refused a GUE tunnel (its encapsulation is not registered: the
    /// `fou`/`fou6` module is not loaded).
    NoGue {
        name: String,
        error: Errno,
    },
    /// Local and remote addresses are of different families.
    FamilyMismatch {
        local: IpAddr,
        remote: IpAddr,
    },
    Netlink(NetlinkError),
}

impl fmt::Display for TunnelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TunnelError::Unsupported { kind, error } => write!(
                f,
                "this kernel has no {kind} tunnel support ({error}); overlay tunnels cannot be used"
            ),
            TunnelError::Kernel { what, error } => write!(f, "{what}: {error}"),
            TunnelError::NoGue { name, error } => write!(
                f,
                "create GUE tunnel {name}: {error}; the fou and fou6 kernel modules must be loaded"
            ),
            TunnelError::FamilyMismatch { local, remote } => {
                write!(
                    f,
                    "tunnel local {local} and remote {remote} differ in family"
                )
            }
            TunnelError::Netlink(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for TunnelError {}

impl From<NetlinkError> for TunnelError {
    fn from(e: NetlinkError) -> TunnelError {
        TunnelError::Netlink(e)
    }
}

/// kube-router's tunnel name: `tun-` + the first 11 hex digits of SHA-256 of the next
/// hop's text with every `.` and `:` removed (15 characters, the kernel's limit).
pub fn tunnel_name(nexthop: &IpAddr) -> String {
    let text: String = nexthop
        .to_string()
        .chars()
        .filter(|c| *c != '.' && *c != ':')
        .collect();
    let d = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    let mut name = String::from("tun-");
    for b in d.as_ref().iter().take(6) {
        name.push_str(&format!("{b:02x}"));
    }
    name.truncate(15);
    name
}

/// How a tunnel's packets are carried (`--overlay-encap`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TunnelEncap {
    /// Plain IP-in-IP (`ipip`, or `ip6tnl` for IPv6).
    Ipip,
    /// IP-in-IP inside GUE on UDP: sent to `port` (`--overlay-encap-port`).
    Gue { port: u16 },
}

impl fmt::Display for TunnelEncap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TunnelEncap::Ipip => f.write_str("ipip"),
            TunnelEncap::Gue { port } => write!(f, "gue port {port}"),
        }
    }
}

/// A tunnel as kube-bgp wants it: named after `remote` (`tunnel_name`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TunnelSpec {
    pub local: IpAddr,
    pub remote: IpAddr,
    pub encap: TunnelEncap,
}

/// The link kind for a tunnel to `remote`.
pub(crate) fn tunnel_kind(remote: &IpAddr) -> &'static str {
    match remote {
        IpAddr::V4(_) => "ipip",
        IpAddr::V6(_) => "ip6tnl",
    }
}

/// The ifinfomsg header (family, index, flags, change mask), shared with podnet's bridge.
pub(crate) fn ifinfomsg(family: u8, index: u32, flags: u32, change: u32) -> [u8; 16] {
    let mut h = [0u8; 16];
    h[0] = family;
    h[4..8].copy_from_slice(&index.to_ne_bytes());
    h[8..12].copy_from_slice(&flags.to_ne_bytes());
    h[12..16].copy_from_slice(&change.to_ne_bytes());
    h
}

/// Writes the RTM_NEWLINK that creates tunnel `name` as `spec` says, with the
/// attributes and defaults iproute2 sends. Plain ipip: pmtudisc on, ttl inherit; plain
/// ip6tnl: proto any, hop limit 64, encap limit 4. GUE: the same but `ttl 225`, the
/// inner protocol fixed (`mode ipip` / `mode ip6ip6`), encap type GUE, source port
/// chosen by the kernel per flow (`encap-sport auto`), destination port `port`.
pub(crate) fn encode_create(
    w: &mut MsgWriter,
    name: &str,
    spec: &TunnelSpec,
) -> Result<(), TunnelError> {
    let (local, remote) = (spec.local, spec.remote);
    let (fam, l, r) = match (local, remote) {
        (IpAddr::V4(l), IpAddr::V4(r)) => (0u8, l.octets().to_vec(), r.octets().to_vec()),
        (IpAddr::V6(l), IpAddr::V6(r)) => (AF_INET6, l.octets().to_vec(), r.octets().to_vec()),
        _ => return Err(TunnelError::FamilyMismatch { local, remote }),
    };
    let v6 = fam == AF_INET6;
    let (proto, ttl, encap_type, dport) = match spec.encap {
        TunnelEncap::Ipip => (0, if v6 { IP6TNL_TTL } else { 0 }, TUNNEL_ENCAP_NONE, 0),
        TunnelEncap::Gue { port } => (
            if v6 { IPPROTO_IPV6 } else { IPPROTO_IPIP },
            GUE_TTL,
            TUNNEL_ENCAP_GUE,
            port,
        ),
    };
    w.begin(
        RTM_NEWLINK,
        NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE,
    );
    w.raw(&ifinfomsg(fam, 0, 0, 0));
    w.attr_str(IFLA_IFNAME, name);
    let info = w.begin_nest(IFLA_LINKINFO);
    w.attr(IFLA_INFO_KIND, tunnel_kind(&remote).as_bytes());
    let data = w.begin_nest(IFLA_INFO_DATA);
    w.attr_u8(IFLA_IPTUN_PROTO, proto);
    w.attr(IFLA_IPTUN_LOCAL, &l);
    w.attr(IFLA_IPTUN_REMOTE, &r);
    if v6 {
        w.attr_u8(IFLA_IPTUN_TTL, ttl);
        w.attr_u8(IFLA_IPTUN_ENCAP_LIMIT, IP6TNL_ENCAP_LIMIT);
        w.attr_u32(IFLA_IPTUN_FLOWINFO, 0);
        w.attr_u32(IFLA_IPTUN_FLAGS, 0);
    } else {
        w.attr_u8(IFLA_IPTUN_PMTUDISC, 1);
        w.attr_u8(IFLA_IPTUN_TOS, 0);
        w.attr_u8(IFLA_IPTUN_TTL, ttl);
    }
    w.attr_u32(IFLA_IPTUN_LINK, 0);
    w.attr_u32(IFLA_IPTUN_FWMARK, 0);
    w.attr_u16(IFLA_IPTUN_ENCAP_TYPE, encap_type);
    let encap_flags = if v6 { TUNNEL_ENCAP_FLAG_CSUM6 } else { 0 };
    w.attr_u16(IFLA_IPTUN_ENCAP_FLAGS, encap_flags);
    w.attr_u16(IFLA_IPTUN_ENCAP_SPORT, 0);
    w.attr(IFLA_IPTUN_ENCAP_DPORT, &dport.to_be_bytes());
    w.end_nest(data);
    w.end_nest(info);
    w.end();
    Ok(())
}

/// `ip link set dev #index up`.
pub(crate) fn encode_up(w: &mut MsgWriter, ifindex: u32) {
    w.begin(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK);
    w.raw(&ifinfomsg(0, ifindex, IFF_UP, IFF_UP));
    w.end();
}

fn encode_del_link(w: &mut MsgWriter, ifindex: u32) {
    w.begin(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK);
    w.raw(&ifinfomsg(0, ifindex, 0, 0));
    w.end();
}

/// `ip rule add|del from <cidr> lookup 77` (`add` refuses a duplicate with EEXIST).
pub(crate) fn encode_rule(w: &mut MsgWriter, add: bool, from: &Prefix) {
    let (fam, addr) = match from {
        Prefix::V4(a, _) => (AF_INET, a.octets().to_vec()),
        Prefix::V6(a, _) => (AF_INET6, a.octets().to_vec()),
    };
    if add {
        w.begin(
            RTM_NEWRULE,
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE,
        );
    } else {
        w.begin(RTM_DELRULE, NLM_F_REQUEST | NLM_F_ACK);
    }
    let table = RT_TABLE_KUBE_ROUTER as u8;
    w.raw(&[
        fam,
        0,
        from.len(),
        0,
        table,
        0,
        0,
        FR_ACT_TO_TBL,
        0,
        0,
        0,
        0,
    ]);
    w.attr(FRA_SRC, &addr);
    w.end();
}

/// A tunnel link's parameters, as the kernel reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TunnelParams {
    pub(crate) local: Option<IpAddr>,
    pub(crate) remote: Option<IpAddr>,
    pub(crate) ttl: u8,
    /// IFLA_IPTUN_ENCAP_TYPE (0 none, 2 GUE).
    pub(crate) encap_type: u16,
    /// IFLA_IPTUN_ENCAP_DPORT, host order.
    pub(crate) encap_dport: u16,
}

impl TunnelParams {
    /// The encapsulation, if it is one kube-bgp builds.
    pub(crate) fn encap(&self) -> Option<TunnelEncap> {
        match self.encap_type {
            TUNNEL_ENCAP_NONE => Some(TunnelEncap::Ipip),
            TUNNEL_ENCAP_GUE => Some(TunnelEncap::Gue {
                port: self.encap_dport,
            }),
            _ => None,
        }
    }
}

/// A link as dumped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    pub ifindex: u32,
    pub name: String,
    /// IFLA_INFO_KIND (`ipip`, `veth`, …); empty for links without one.
    pub kind: String,
    pub(crate) up: bool,
    /// For ipip/ip6tnl links: their parameters.
    pub(crate) tunnel: Option<TunnelParams>,
}

impl LinkInfo {
    /// Whether this link is exactly the tunnel `spec` describes (kind, addresses and
    /// encapsulation); kube-router reuses a tunnel only when its encapsulation is right.
    pub(crate) fn is_tunnel(&self, spec: &TunnelSpec) -> bool {
        self.kind == tunnel_kind(&spec.remote)
            && self.tunnel.is_some_and(|t| {
                t.local == Some(spec.local)
                    && t.remote == Some(spec.remote)
                    && t.encap() == Some(spec.encap)
            })
    }
}

fn addr_of(data: &[u8]) -> Option<IpAddr> {
    match data.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(data).ok()?)),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(data).ok()?)),
        _ => None,
    }
}

fn parse_tunnel(data: &[u8]) -> TunnelParams {
    let mut t = TunnelParams {
        local: None,
        remote: None,
        ttl: 0,
        encap_type: TUNNEL_ENCAP_NONE,
        encap_dport: 0,
    };
    for (k, d) in attrs(data) {
        match k {
            IFLA_IPTUN_LOCAL => t.local = addr_of(d),
            IFLA_IPTUN_REMOTE => t.remote = addr_of(d),
            IFLA_IPTUN_TTL => t.ttl = d.first().copied().unwrap_or(0),
            IFLA_IPTUN_ENCAP_TYPE => {
                if let Some(b) = d.get(..2) {
                    t.encap_type = u16::from_ne_bytes([b[0], b[1]]);
                }
            }
            IFLA_IPTUN_ENCAP_DPORT => {
                if let Some(b) = d.get(..2) {
                    t.encap_dport = u16::from_be_bytes([b[0], b[1]]);
                }
            }
            _ => {}
        }
    }
    t
}

/// Decodes an RTM_NEWLINK payload.
pub fn parse_link(payload: &[u8]) -> Option<LinkInfo> {
    let ifindex = u32_at(payload, 4)?;
    let flags = u32_at(payload, 8)?;
    let mut name = None;
    let mut kind = String::new();
    let mut data = None;
    for (t, d) in attrs(payload.get(16..)?) {
        match t {
            IFLA_IFNAME => {
                let s = d.split(|&c| c == 0).next().unwrap_or(&[]);
                name = Some(String::from_utf8_lossy(s).into_owned());
            }
            IFLA_LINKINFO => {
                for (it, idata) in attrs(d) {
                    match it {
                        IFLA_INFO_KIND => {
                            let s = idata.split(|&c| c == 0).next().unwrap_or(&[]);
                            kind = String::from_utf8_lossy(s).into_owned();
                        }
                        IFLA_INFO_DATA => data = Some(idata),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    let tunnel = (kind == "ipip" || kind == "ip6tnl").then(|| parse_tunnel(data.unwrap_or(&[])));
    Some(LinkInfo {
        ifindex,
        name: name?,
        kind,
        up: flags & IFF_UP != 0,
        tunnel,
    })
}

/// `ip link show NAME`: the link of that name, `None` if there is none.
pub(crate) fn get_link(
    nl: &mut dyn NetlinkRequests,
    name: &str,
) -> Result<Option<LinkInfo>, TunnelError> {
    let reply = nl.query(&mut |w| {
        w.begin(RTM_GETLINK, NLM_F_REQUEST);
        w.raw(&ifinfomsg(0, 0, 0, 0));
        w.attr_str(IFLA_IFNAME, name);
        w.end();
    });
    match reply {
        Ok(payload) => Ok(parse_link(&payload)),
        Err(e) if e.errno == libc::ENODEV => Ok(None),
        Err(error) => Err(TunnelError::Kernel {
            what: format!("look up link {name}"),
            error,
        }),
    }
}

/// Dumps every link.
pub fn dump_links(nl: &mut dyn NetlinkRequests) -> Result<Vec<LinkInfo>, NetlinkError> {
    dump_links_as(nl, parse_link)
}

/// Dumps every link (RTM_GETLINK), keeping what `parse` makes of each RTM_NEWLINK
/// payload (the overlay reads tunnels, pod networking reads bridges and MTUs).
pub(crate) fn dump_links_as<T>(
    nl: &mut (impl DumpSource + ?Sized),
    parse: impl Fn(&[u8]) -> Option<T>,
) -> Result<Vec<T>, NetlinkError> {
    let out = std::cell::RefCell::new(Vec::new());
    nl.dump(
        "links",
        &|w: &mut MsgWriter| {
            w.begin(RTM_GETLINK, NLM_F_REQUEST);
            w.raw(&ifinfomsg(0, 0, 0, 0));
            w.end();
        },
        &mut || out.borrow_mut().clear(),
        &mut |m| {
            if m.msg_type == RTM_NEWLINK {
                if let Some(l) = parse(m.payload) {
                    out.borrow_mut().push(l);
                }
            }
        },
    )?;
    Ok(out.into_inner())
}

fn kernel(what: String) -> impl FnOnce(Errno) -> TunnelError {
    move |error| TunnelError::Kernel { what, error }
}

/// What `ensure_tunnel` found and did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TunnelAction {
    /// The link was there as wanted (brought up if it was down).
    Kept,
    /// There was no link of that name.
    Created,
    /// A link of that name but of another kind, other addresses or another
    /// encapsulation (`was`, if it was one kube-bgp builds) was deleted and made anew.
    Replaced { was: Option<TunnelEncap> },
}

/// The tunnel a `ensure_tunnel` call left: its ifindex and what was done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ensured {
    pub ifindex: u32,
    pub action: TunnelAction,
}

fn is_unsupported(error: &Errno) -> bool {
    error.errno == libc::EOPNOTSUPP
        || error
            .msg
            .as_deref()
            .is_some_and(|m| m.contains("Unknown device type"))
}

fn create_link(
    nl: &mut dyn NetlinkRequests,
    name: &str,
    spec: &TunnelSpec,
) -> Result<(), TunnelError> {
    let mut err = None;
    let res = nl.request(&mut |w| {
        if let Err(e) = encode_create(w, name, spec) {
            err = Some(e);
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    res.map_err(|error| TunnelError::Kernel {
        what: format!("create {} link {name}", tunnel_kind(&spec.remote)),
        error,
    })
}

/// Makes sure the tunnel `spec` describes exists under its name and is up: created if
/// missing, deleted and created again if the link of that name is not exactly that
/// tunnel (kind, addresses, encapsulation). A kernel without the link type gets one
/// try at loading its module; then `TunnelError::Unsupported`. The link's MTU is left
/// to the kernel (the underlay's, less the headers), as kube-router leaves it.
pub fn ensure_tunnel(
    nl: &mut dyn NetlinkRequests,
    spec: &TunnelSpec,
) -> Result<Ensured, TunnelError> {
    ensure_tunnel_loading(nl, spec, &mut |m| super::modules::load(m).is_ok())
}

/// As `ensure_tunnel`, with `load` loading a kernel module (true when it is loaded).
pub(crate) fn ensure_tunnel_loading(
    nl: &mut dyn NetlinkRequests,
    spec: &TunnelSpec,
    load: &mut dyn FnMut(&str) -> bool,
) -> Result<Ensured, TunnelError> {
    let name = tunnel_name(&spec.remote);
    let kind = tunnel_kind(&spec.remote);
    let mut action = TunnelAction::Created;
    let mut link = get_link(nl, &name)?;
    if let Some(l) = &link {
        if !l.is_tunnel(spec) {
            let idx = l.ifindex;
            action = TunnelAction::Replaced {
                was: l.tunnel.and_then(|t| t.encap()),
            };
            nl.request(&mut |w| encode_del_link(w, idx))
                .map_err(kernel(format!("delete link {name}")))?;
            link = None;
        } else {
            action = TunnelAction::Kept;
        }
    }
    let link = match link {
        Some(l) => l,
        None => {
            let mut res = create_link(nl, &name, spec);
            if let Err(TunnelError::Kernel { error, .. }) = &res {
                if is_unsupported(error) {
                    let module = if kind == "ipip" { "ipip" } else { "ip6_tunnel" };
                    res = match load(module) {
                        true => create_link(nl, &name, spec),
                        false => Err(TunnelError::Unsupported {
                            kind,
                            error: error.clone(),
                        }),
                    };
                }
            }
            match res {
                Err(TunnelError::Kernel { error, .. }) if is_unsupported(&error) => {
                    return Err(TunnelError::Unsupported { kind, error });
                }
                Err(TunnelError::Kernel { error, .. })
                    if error.errno == libc::EINVAL
                        && matches!(spec.encap, TunnelEncap::Gue { .. }) =>
                {
                    return Err(TunnelError::NoGue { name, error });
                }
                Err(e) => return Err(e),
                Ok(()) => {}
            }
            get_link(nl, &name)?.ok_or_else(|| TunnelError::Kernel {
                what: format!("link {name} missing after creation"),
                error: Errno::new(libc::ENODEV),
            })?
        }
    };
    if !link.up {
        let idx = link.ifindex;
        nl.request(&mut |w| encode_up(w, idx))
            .map_err(kernel(format!("set {name} up")))?;
    }
    Ok(Ensured {
        ifindex: link.ifindex,
        action,
    })
}

/// Table 77: `<remote>/32 (or /128) dev <tunnel>` (replaced if present).
pub fn ensure_tunnel_route(
    nl: &mut dyn NetlinkRequests,
    remote: IpAddr,
    ifindex: u32,
) -> Result<(), TunnelError> {
    let r = KernelRoute::dev(Prefix::host(remote), ifindex, None);
    nl.request(&mut |w| encode_new(w, &r, RT_TABLE_KUBE_ROUTER, true, RT_SCOPE_LINK))
        .map_err(kernel(format!("table 77 route {r}")))
}

/// Removes our table-77 route to `remote`, if any.
pub fn remove_tunnel_route(
    nl: &mut dyn NetlinkRequests,
    remote: IpAddr,
) -> Result<(), TunnelError> {
    match nl.request(&mut |w| encode_del(w, &Prefix::host(remote), RT_TABLE_KUBE_ROUTER)) {
        Err(e) if e.errno != libc::ESRCH => Err(TunnelError::Kernel {
            what: format!("delete table 77 route to {remote}"),
            error: e,
        }),
        _ => Ok(()),
    }
}

/// A `from <prefix> lookup <table>` rule as dumped.
pub(crate) fn parse_rule(payload: &[u8]) -> Option<(Prefix, u32)> {
    let h = payload.get(..12)?;
    let (fam, src_len, table8, action) = (h[0], h[2], h[4], h[7]);
    if action != FR_ACT_TO_TBL {
        return None;
    }
    let mut table = u32::from(table8);
    let mut src = None;
    for (t, data) in attrs(payload.get(12..)?) {
        match t {
            FRA_SRC => src = Some(data),
            FRA_TABLE => table = u32_at(data, 0).unwrap_or(table),
            _ => {}
        }
    }
    let addr = match (fam, src) {
        (AF_INET, Some(b)) => IpAddr::V4(std::net::Ipv4Addr::from(<[u8; 4]>::try_from(b).ok()?)),
        (AF_INET6, Some(b)) => IpAddr::V6(std::net::Ipv6Addr::from(<[u8; 16]>::try_from(b).ok()?)),
        _ => return None,
    };
    Some((Prefix::new(addr, src_len).ok()?, table))
}

/// How many `from <pod_cidr> lookup 77` rules exist. (The kernel's duplicate check for
/// NLM_F_EXCL compares priorities too, so an unprioritised add is never refused as a
/// duplicate: existence has to be checked by a dump.)
pub(crate) fn count_rules(
    nl: &mut dyn NetlinkRequests,
    pod_cidr: &Prefix,
) -> Result<usize, NetlinkError> {
    let rules = table_77_rules_of(nl, family(pod_cidr))?;
    Ok(rules.iter().filter(|p| *p == pod_cidr).count())
}

/// The source prefixes of every `from <prefix> lookup 77` rule of both families (a
/// prefix once per rule).
pub fn table_77_rules(nl: &mut dyn NetlinkRequests) -> Result<Vec<Prefix>, NetlinkError> {
    let mut found = table_77_rules_of(nl, AF_INET)?;
    found.extend(table_77_rules_of(nl, AF_INET6)?);
    Ok(found)
}

/// The source prefixes of the `from <prefix> lookup 77` rules of one address family.
fn table_77_rules_of(nl: &mut dyn NetlinkRequests, fam: u8) -> Result<Vec<Prefix>, NetlinkError> {
    let found = std::cell::RefCell::new(Vec::new());
    nl.dump(
        "rules",
        &|w: &mut MsgWriter| {
            w.begin(RTM_GETRULE, NLM_F_REQUEST);
            w.raw(&[fam, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            w.end();
        },
        &mut || found.borrow_mut().clear(),
        &mut |m| {
            if m.msg_type == RTM_NEWRULE {
                if let Some((p, RT_TABLE_KUBE_ROUTER)) = parse_rule(m.payload) {
                    found.borrow_mut().push(p);
                }
            }
        },
    )?;
    Ok(found.into_inner())
}

fn family(p: &Prefix) -> u8 {
    match p {
        Prefix::V4(..) => AF_INET,
        Prefix::V6(..) => AF_INET6,
    }
}

/// `ip rule add from <pod_cidr> lookup 77` unless such a rule exists.
pub fn ensure_rule(nl: &mut dyn NetlinkRequests, pod_cidr: &Prefix) -> Result<(), TunnelError> {
    if count_rules(nl, pod_cidr)? > 0 {
        return Ok(());
    }
    nl.request(&mut |w| encode_rule(w, true, pod_cidr))
        .map_err(kernel(format!("rule from {pod_cidr} lookup 77")))
}

/// Deletes every `from <pod_cidr> lookup 77` rule.
pub fn remove_rule(nl: &mut dyn NetlinkRequests, pod_cidr: &Prefix) -> Result<(), TunnelError> {
    let n = count_rules(nl, pod_cidr)?;
    for _ in 0..n {
        match nl.request(&mut |w| encode_rule(w, false, pod_cidr)) {
            Err(e) if e.errno == libc::ENOENT => break,
            Err(error) => {
                return Err(TunnelError::Kernel {
                    what: format!("delete rule from {pod_cidr} lookup 77"),
                    error,
                });
            }
            Ok(()) => {}
        }
    }
    Ok(())
}

/// Whether a link is one of our tunnels: named `tun-<11 hex>` and of kind ipip/ip6tnl.
pub(crate) fn is_our_tunnel(l: &LinkInfo) -> bool {
    let hex = l.name.strip_prefix("tun-").unwrap_or("");
    hex.len() == 11
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && (l.kind == "ipip" || l.kind == "ip6tnl")
}

/// Deletes our tunnels whose names are not in `keep`; returns the links deleted.
pub fn remove_orphans(
    nl: &mut dyn NetlinkRequests,
    keep: &BTreeSet<String>,
) -> Result<Vec<LinkInfo>, TunnelError> {
    let mut gone = Vec::new();
    for l in dump_links(nl)? {
        if !is_our_tunnel(&l) || keep.contains(&l.name) {
            continue;
        }
        match nl.request(&mut |w| encode_del_link(w, l.ifindex)) {
            Ok(()) => gone.push(l),
            Err(e) if e.errno == libc::ENODEV => {}
            Err(error) => {
                return Err(TunnelError::Kernel {
                    what: format!("delete orphaned tunnel {}", l.name),
                    error,
                });
            }
        }
    }
    Ok(gone)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn spec(l: &str, r: &str, encap: TunnelEncap) -> TunnelSpec {
        TunnelSpec {
            local: ip(l),
            remote: ip(r),
            encap,
        }
    }

    fn hex(s: &str) -> Vec<u8> {
        s.split("\\x")
            .filter(|h| !h.is_empty())
            .map(|h| u8::from_str_radix(h, 16).expect("hex"))
            .collect()
    }

    #[test]
    fn names_match_kube_router() {
        // Expected values from `echo -n 10002 | sha256sum` (56acd2f8550…) and
        // `echo -n fd001 | sha256sum` (5393ee7fb5c…): first 11 hex digits.
        assert_eq!(tunnel_name(&ip("10.0.0.2")), "tun-56acd2f8550");
        assert_eq!(tunnel_name(&ip("fd00::1")), "tun-5393ee7fb5c");
        assert_ne!(tunnel_name(&ip("10.0.0.2")), tunnel_name(&ip("10.0.0.3")));
    }

    #[test]
    fn sha256_known_answer() {
        // NIST vector: SHA-256("abc").
        let d = ring::digest::digest(&ring::digest::SHA256, b"abc");
        assert_eq!(&d.as_ref()[..4], &[0xba, 0x78, 0x16, 0xbf]);
    }

    /// The bytes iproute2 6.x sent for `ip link add tun-x type ipip remote 10.0.0.2
    /// local 10.0.0.1` (captured with `strace -e trace=sendmsg -xx`), seq zeroed.
    #[test]
    fn ipip_create_matches_iproute2_bytes() {
        let mut want = Vec::new();
        want.extend_from_slice(&156u32.to_ne_bytes());
        want.extend_from_slice(&16u16.to_ne_bytes());
        want.extend_from_slice(&0x605u16.to_ne_bytes());
        want.extend_from_slice(&[0; 8]);
        want.extend_from_slice(&[0; 16]); // ifinfomsg, AF_UNSPEC
        want.extend_from_slice(&hex(
            "\\x0a\\x00\\x03\\x00\\x74\\x75\\x6e\\x2d\\x78\\x00\\x00\\x00",
        ));
        want.extend_from_slice(&hex(
            "\\x70\\x00\\x12\\x00\\x08\\x00\\x01\\x00\\x69\\x70\\x69\\x70\\x64\\x00\\x02\\x00",
        ));
        want.extend_from_slice(&hex(
            "\\x05\\x00\\x09\\x00\\x00\\x00\\x00\\x00\\x08\\x00\\x02\\x00\\x0a\\x00\\x00\\x01\\x08\\x00\\x03\\x00\\x0a\\x00\\x00\\x02\\x05\\x00\\x0a\\x00\\x01\\x00\\x00\\x00\\x05\\x00\\x05\\x00\\x00\\x00\\x00\\x00\\x05\\x00\\x04\\x00\\x00\\x00\\x00\\x00\\x08\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x08\\x00\\x14\\x00\\x00\\x00\\x00\\x00\\x06\\x00\\x0f\\x00\\x00\\x00\\x00\\x00\\x06\\x00\\x10\\x00\\x00\\x00\\x00\\x00\\x06\\x00\\x11\\x00\\x00\\x00\\x00\\x00\\x06\\x00\\x12\\x00\\x00\\x00\\x00\\x00",
        ));
        let mut w = MsgWriter::new();
        encode_create(
            &mut w,
            "tun-x",
            &spec("10.0.0.1", "10.0.0.2", TunnelEncap::Ipip),
        )
        .expect("encode");
        assert_eq!(w.take(), want);
    }

    /// Same for `ip -6 link add tun-y type ip6tnl remote fd00::2 local fd00::1`.
    #[test]
    fn ip6tnl_create_matches_iproute2_bytes() {
        let mut want = Vec::new();
        want.extend_from_slice(&192u32.to_ne_bytes());
        want.extend_from_slice(&16u16.to_ne_bytes());
        want.extend_from_slice(&0x605u16.to_ne_bytes());
        want.extend_from_slice(&[0; 8]);
        let mut ifi = [0u8; 16];
        ifi[0] = 10;
        want.extend_from_slice(&ifi);
        want.extend_from_slice(&hex(
            "\\x0a\\x00\\x03\\x00\\x74\\x75\\x6e\\x2d\\x79\\x00\\x00\\x00",
        ));
        want.extend_from_slice(&hex("\\x94\\x00\\x12\\x00\\x0a\\x00\\x01\\x00\\x69\\x70\\x36\\x74\\x6e\\x6c\\x00\\x00\\x84\\x00\\x02\\x00"));
        want.extend_from_slice(&hex(
            "\\x05\\x00\\x09\\x00\\x00\\x00\\x00\\x00\\x14\\x00\\x02\\x00\\xfd\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x01\\x14\\x00\\x03\\x00\\xfd\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x05\\x00\\x04\\x00\\x40\\x00\\x00\\x00\\x05\\x00\\x06\\x00\\x04\\x00\\x00\\x00\\x08\\x00\\x07\\x00\\x00\\x00\\x00\\x00\\x08\\x00\\x08\\x00\\x00\\x00\\x00\\x00\\x08\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x08\\x00\\x14\\x00\\x00\\x00\\x00\\x00\\x06\\x00\\x0f\\x00\\x00\\x00\\x00\\x00\\x06\\x00\\x10\\x00\\x02\\x00\\x00\\x00\\x06\\x00\\x11\\x00\\x00\\x00\\x00\\x00\\x06\\x00\\x12\\x00\\x00\\x00\\x00\\x00",
        ));
        let mut w = MsgWriter::new();
        encode_create(
            &mut w,
            "tun-y",
            &spec("fd00::1", "fd00::2", TunnelEncap::Ipip),
        )
        .expect("encode");
        assert_eq!(w.take(), want);
    }

    const GUE: TunnelEncap = TunnelEncap::Gue { port: 5555 };

    /// kube-router's FoU tunnel: the bytes iproute2 6.1 sent for `ip link add name tun-x
    /// type ipip remote 10.0.0.2 local 10.0.0.1 ttl 225 encap gue encap-sport auto
    /// encap-dport 5555 mode ipip` (strace in the VM lab), seq zeroed.
    #[test]
    fn gue_ipip_create_matches_iproute2_bytes() {
        let mut want = Vec::new();
        want.extend_from_slice(&156u32.to_ne_bytes());
        want.extend_from_slice(&16u16.to_ne_bytes());
        want.extend_from_slice(&0x605u16.to_ne_bytes());
        want.extend_from_slice(&[0; 8]);
        want.extend_from_slice(&[0; 16]);
        want.extend_from_slice(&hex(
            "\\x0a\\x00\\x03\\x00\\x74\\x75\\x6e\\x2d\\x78\\x00\\x00\\x00",
        ));
        want.extend_from_slice(&hex(
            "\\x70\\x00\\x12\\x00\\x08\\x00\\x01\\x00\\x69\\x70\\x69\\x70\\x64\\x00\\x02\\x00",
        ));
        want.extend_from_slice(&hex(
            "\\x05\\x00\\x09\\x00\\x04\\x00\\x00\\x00\\x08\\x00\\x02\\x00\\x0a\\x00\\x00\\x01\\x08\\x00\\x03\\x00\\x0a\\x00\\x00\\x02\\x05\\x00\\x0a\\x00\\x01\\x00\\x00\\x00\\x05\\x00\\x05\\x00\\x00\\x00\\x00\\x00\\x05\\x00\\x04\\x00\\xe1\\x00\\x00\\x00\\x08\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x08\\x00\\x14\\x00\\x00\\x00\\x00\\x00\\x06\\x00\\x0f\\x00\\x02\\x00\\x00\\x00\\x06\\x00\\x10\\x00\\x00\\x00\\x00\\x00\\x06\\x00\\x11\\x00\\x00\\x00\\x00\\x00\\x06\\x00\\x12\\x00\\x15\\xb3\\x00\\x00",
        ));
        let mut w = MsgWriter::new();
        encode_create(&mut w, "tun-x", &spec("10.0.0.1", "10.0.0.2", GUE)).expect("encode");
        assert_eq!(w.take(), want);
    }

    /// Same for `ip -6 link add name tun-y type ip6tnl remote fd00::2 local fd00::1
    /// ttl 225 encap gue encap-sport auto encap-dport 5555 mode ip6ip6`.
    #[test]
    fn gue_ip6tnl_create_matches_iproute2_bytes() {
        let mut want = Vec::new();
        want.extend_from_slice(&192u32.to_ne_bytes());
        want.extend_from_slice(&16u16.to_ne_bytes());
        want.extend_from_slice(&0x605u16.to_ne_bytes());
        want.extend_from_slice(&[0; 8]);
        let mut ifi = [0u8; 16];
        ifi[0] = 10;
        want.extend_from_slice(&ifi);
        want.extend_from_slice(&hex(
            "\\x0a\\x00\\x03\\x00\\x74\\x75\\x6e\\x2d\\x79\\x00\\x00\\x00",
        ));
        want.extend_from_slice(&hex("\\x94\\x00\\x12\\x00\\x0a\\x00\\x01\\x00\\x69\\x70\\x36\\x74\\x6e\\x6c\\x00\\x00\\x84\\x00\\x02\\x00"));
        want.extend_from_slice(&hex(
            "\\x05\\x00\\x09\\x00\\x29\\x00\\x00\\x00\\x14\\x00\\x02\\x00\\xfd\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x01\\x14\\x00\\x03\\x00\\xfd\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x05\\x00\\x04\\x00\\xe1\\x00\\x00\\x00\\x05\\x00\\x06\\x00\\x04\\x00\\x00\\x00\\x08\\x00\\x07\\x00\\x00\\x00\\x00\\x00\\x08\\x00\\x08\\x00\\x00\\x00\\x00\\x00\\x08\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x08\\x00\\x14\\x00\\x00\\x00\\x00\\x00\\x06\\x00\\x0f\\x00\\x02\\x00\\x00\\x00\\x06\\x00\\x10\\x00\\x02\\x00\\x00\\x00\\x06\\x00\\x11\\x00\\x00\\x00\\x00\\x00\\x06\\x00\\x12\\x00\\x15\\xb3\\x00\\x00",
        ));
        let mut w = MsgWriter::new();
        encode_create(&mut w, "tun-y", &spec("fd00::1", "fd00::2", GUE)).expect("encode");
        assert_eq!(w.take(), want);
    }

    /// A created link's own message parses back to the parameters it asked for, so a
    /// link dumped by the kernel (same attribute layout) is compared field by field.
    #[test]
    fn tunnel_params_parse_and_match() {
        for (l, r) in [("10.0.0.1", "10.0.0.2"), ("fd00::1", "fd00::2")] {
            for encap in [TunnelEncap::Ipip, GUE] {
                let want = spec(l, r, encap);
                let mut w = MsgWriter::new();
                encode_create(&mut w, &tunnel_name(&want.remote), &want).expect("encode");
                let b = w.take();
                let link = parse_link(&b[16..]).expect("parse");
                let t = link.tunnel.expect("tunnel params");
                assert_eq!((t.local, t.remote), (Some(want.local), Some(want.remote)));
                assert_eq!(t.encap(), Some(encap));
                assert!(link.is_tunnel(&want), "{link:?}");
                let other_port = TunnelSpec {
                    encap: TunnelEncap::Gue { port: 5556 },
                    ..want
                };
                let plain = TunnelSpec {
                    encap: TunnelEncap::Ipip,
                    ..want
                };
                let moved = TunnelSpec {
                    local: want.remote,
                    ..want
                };
                assert!(!link.is_tunnel(&other_port));
                assert_eq!(link.is_tunnel(&plain), encap == TunnelEncap::Ipip);
                assert!(!link.is_tunnel(&moved));
            }
        }
        let unknown = TunnelParams {
            local: None,
            remote: None,
            ttl: 0,
            encap_type: 1,
            encap_dport: 0,
        };
        assert_eq!(unknown.encap(), None);
    }

    /// `ip rule add from 10.1.0.0/24 lookup 77` as iproute2 sends it.
    #[test]
    fn rule_matches_iproute2_bytes() {
        let mut w = MsgWriter::new();
        encode_rule(&mut w, true, &"10.1.0.0/24".parse().expect("p"));
        let b = w.take();
        assert_eq!(u32_at(&b, 0), Some(36));
        assert_eq!(&b[4..8], &[32, 0, 0x05, 0x06]);
        assert_eq!(&b[16..28], &[2, 0, 24, 0, 77, 0, 0, 1, 0, 0, 0, 0]);
        assert_eq!(&b[28..36], &[8, 0, 2, 0, 10, 1, 0, 0]);
    }

    #[test]
    fn rule_parse_roundtrip() {
        let mut w = MsgWriter::new();
        let cidr: Prefix = "fd00:244::/64".parse().expect("p");
        encode_rule(&mut w, true, &cidr);
        let b = w.take();
        assert_eq!(parse_rule(&b[16..]), Some((cidr, 77)));
        assert_eq!(parse_rule(&b[16..20]), None);
        let mut goto = b[16..].to_vec();
        goto[7] = 2; // FR_ACT_GOTO
        assert_eq!(parse_rule(&goto), None);
    }

    #[test]
    fn mixed_families_refused_and_link_parse() {
        let mut w = MsgWriter::new();
        assert!(encode_create(&mut w, "tun-z", &spec("10.0.0.1", "fd00::2", GUE)).is_err());
        encode_create(
            &mut w,
            "tun-0123456789a",
            &spec("10.0.0.1", "10.0.0.2", TunnelEncap::Ipip),
        )
        .expect("encode");
        let b = w.take();
        let l = parse_link(&b[16..]).expect("parse");
        assert_eq!(l.name, "tun-0123456789a");
        assert_eq!(l.kind, "ipip");
        assert!(is_our_tunnel(&l));
        assert!(!is_our_tunnel(&LinkInfo {
            kind: "veth".into(),
            ..l.clone()
        }));
        assert!(!is_our_tunnel(&LinkInfo {
            name: "tun-x".into(),
            ..l
        }));
        assert!(parse_link(&b[16..20]).is_none());
    }
}
