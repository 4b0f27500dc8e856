//! Local interface addresses and the subnets they make connected.
//!
//! Owns: decoding RTM_NEWADDR messages and the address dump. A prefix equal to a
//! connected subnet is never installed or removed by kube-bgp (D5, P-13); this module
//! only reports which subnets those are.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::netlink::DumpSource;
use super::netlink::{AF_INET, AF_INET6, MsgWriter, NLM_F_REQUEST, NetlinkError, attrs, u32_at};
use crate::prefix::Prefix;

pub(crate) const RTM_NEWADDR: u16 = 20;
pub(crate) const RTM_DELADDR: u16 = 21;
pub(crate) const RTM_GETADDR: u16 = 22;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;

/// One address on one interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LocalAddr {
    pub(crate) ifindex: u32,
    /// The interface's own address.
    pub(crate) addr: IpAddr,
    /// The subnet it makes connected (peer address for point-to-point, host bits clear).
    pub(crate) subnet: Prefix,
    /// RT_SCOPE_* of the address (0 universe, 253 link, 254 host).
    pub(crate) scope: u8,
}

fn ip(fam: u8, b: &[u8]) -> Option<IpAddr> {
    match fam {
        AF_INET => Some(IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(b).ok()?))),
        AF_INET6 => Some(IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(b).ok()?))),
        _ => None,
    }
}

/// Decodes an RTM_NEWADDR/RTM_DELADDR payload (`struct ifaddrmsg` + attributes).
pub fn parse_addr(payload: &[u8]) -> Option<LocalAddr> {
    let hdr = payload.get(..8)?;
    let (fam, plen, scope) = (hdr[0], hdr[1], hdr[3]);
    let ifindex = u32_at(hdr, 4)?;
    let (mut address, mut local) = (None, None);
    for (kind, data) in attrs(payload.get(8..)?) {
        match kind {
            IFA_ADDRESS => address = ip(fam, data),
            IFA_LOCAL => local = ip(fam, data),
            _ => {}
        }
    }
    // IPv4: IFA_LOCAL is ours, IFA_ADDRESS the peer (equal unless point-to-point).
    // IPv6: only IFA_ADDRESS (IFA_LOCAL appears for point-to-point).
    let own = local.or(address)?;
    let net = address.unwrap_or(own);
    let subnet = Prefix::new(net, plen).ok()?;
    Some(LocalAddr {
        ifindex,
        addr: own,
        subnet,
        scope,
    })
}

/// Dumps every address of both families.
pub(crate) fn dump_addrs<D: DumpSource + ?Sized>(
    nl: &mut D,
) -> Result<Vec<LocalAddr>, NetlinkError> {
    let out = std::cell::RefCell::new(Vec::new());
    nl.dump(
        "addresses",
        &|w: &mut MsgWriter| {
            w.begin(RTM_GETADDR, NLM_F_REQUEST);
            w.raw(&[0u8; 8]); // ifaddrmsg, AF_UNSPEC: both families
            w.end();
        },
        &mut || out.borrow_mut().clear(),
        &mut |m| {
            if m.msg_type == RTM_NEWADDR {
                if let Some(a) = parse_addr(m.payload) {
                    out.borrow_mut().push(a);
                }
            }
        },
    )?;
    Ok(out.into_inner())
}

/// The connected subnets of a set of addresses.
pub(crate) fn connected(addrs: &[LocalAddr]) -> BTreeSet<Prefix> {
    addrs.iter().map(|a| a.subnet).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(fam: u8, plen: u8, idx: u32, at: &[(u16, &[u8])]) -> Vec<u8> {
        let mut w = MsgWriter::new();
        w.begin(RTM_NEWADDR, 0);
        let mut h = vec![fam, plen, 0, 0];
        h.extend_from_slice(&idx.to_ne_bytes());
        w.raw(&h);
        for (k, d) in at {
            w.attr(*k, d);
        }
        w.end();
        w.take()[16..].to_vec()
    }

    #[test]
    fn ipv4_subnet_host_bits_cleared() {
        let pl = msg(
            AF_INET,
            24,
            3,
            &[(IFA_ADDRESS, &[10, 0, 0, 1]), (IFA_LOCAL, &[10, 0, 0, 1])],
        );
        let a = parse_addr(&pl).expect("parse");
        assert_eq!(a.ifindex, 3);
        assert_eq!(a.addr, "10.0.0.1".parse::<IpAddr>().expect("ip"));
        assert_eq!(a.subnet, "10.0.0.0/24".parse().expect("p"));
    }

    #[test]
    fn ipv6_and_point_to_point() {
        let mut v6 = [0u8; 16];
        v6[0] = 0xfd;
        v6[15] = 1;
        let a = parse_addr(&msg(AF_INET6, 64, 2, &[(IFA_ADDRESS, &v6)])).expect("v6");
        assert_eq!(a.subnet, "fd00::/64".parse().expect("p"));
        let p = parse_addr(&msg(
            AF_INET,
            32,
            2,
            &[(IFA_ADDRESS, &[10, 9, 9, 9]), (IFA_LOCAL, &[10, 0, 0, 1])],
        ))
        .expect("ptp");
        assert_eq!(p.addr, "10.0.0.1".parse::<IpAddr>().expect("ip"));
        assert_eq!(p.subnet, "10.9.9.9/32".parse().expect("p"));
    }

    #[test]
    fn garbage_is_none() {
        assert!(parse_addr(&[]).is_none());
        assert!(parse_addr(&msg(AF_INET, 24, 1, &[])).is_none());
        assert!(parse_addr(&msg(AF_INET, 40, 1, &[(IFA_ADDRESS, &[1, 2, 3, 4])])).is_none());
        assert!(parse_addr(&msg(AF_INET, 24, 1, &[(IFA_ADDRESS, &[1, 2, 3])])).is_none());
        assert!(parse_addr(&msg(7, 24, 1, &[(IFA_ADDRESS, &[1, 2, 3, 4])])).is_none());
    }
}
