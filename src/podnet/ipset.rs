//! The kernel's ipset protocol (nfnetlink subsystem 6), for kube-router's two sets:
//! `kube-router-pod-subnets` (hash:net) and `kube-router-node-ips` (hash:ip), and their
//! `inet6:` twins.
//!
//! Owns: the messages the `ipset` tool sends for `list NAME`, `destroy NAME`, `add NAME
//! ELEM timeout 0` and `del NAME ELEM` (byte-identical, see the tests), and parsing a
//! list reply into the set's index (what iptables rules refer to) and members. Pure.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::nfmsg::{NLM_F_ACK, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NfWriter, as_str, nf_attrs};
use crate::kernel::codec::attrs;
use crate::prefix::Prefix;

pub(crate) const POD_SUBNETS: &str = "kube-router-pod-subnets";
pub(crate) const NODE_IPS: &str = "kube-router-node-ips";
pub(crate) const INET6: &str = "inet6:";

const IPSET_PROTOCOL: u8 = 7;
/// IPSET_ERR_BUSY: "Set cannot be destroyed: it is in use by a kernel component".
const IPSET_ERR_BUSY: i32 = 4100;

/// Whether a refused `destroy` means the set is still referenced (by a rule).
pub(crate) fn is_busy(errno: i32) -> bool {
    errno == IPSET_ERR_BUSY || errno == libc::EBUSY
}
pub(crate) const IPSET_CMD_DESTROY: u16 = 3;
pub(crate) const IPSET_CMD_LIST: u16 = 7;
pub(crate) const IPSET_CMD_ADD: u16 = 9;
pub(crate) const IPSET_CMD_DEL: u16 = 10;
const IPSET_ATTR_PROTOCOL: u16 = 1;
const IPSET_ATTR_SETNAME: u16 = 2;
const IPSET_ATTR_TYPENAME: u16 = 3;
const IPSET_ATTR_FAMILY: u16 = 5;
const IPSET_ATTR_DATA: u16 = 7;
const IPSET_ATTR_ADT: u16 = 8;
const IPSET_ATTR_LINENO: u16 = 9;
const IPSET_ATTR_INDEX: u16 = 11;
const IPSET_ATTR_IP: u16 = 1;
const IPSET_ATTR_CIDR: u16 = 3;
const IPSET_ATTR_TIMEOUT: u16 = 6;
const IPSET_ATTR_IPADDR_IPV4: u16 = 1;
const IPSET_ATTR_IPADDR_IPV6: u16 = 2;
/// NLA_F_NET_BYTEORDER: the value is in network byte order.
const NET_BYTEORDER: u16 = 0x4000;
const NFPROTO_IPV6: u8 = 10;

/// The four set names, IPv4 then IPv6: (pod subnets, node addresses).
pub(crate) fn names(v6: bool) -> (String, String) {
    let pre = if v6 { INET6 } else { "" };
    (format!("{pre}{POD_SUBNETS}"), format!("{pre}{NODE_IPS}"))
}

/// `ipset list NAME` (a dump of one set).
pub(crate) fn encode_list(w: &mut NfWriter, name: &str) {
    w.begin_ipset(IPSET_CMD_LIST, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP);
    w.bytes(IPSET_ATTR_PROTOCOL, &[IPSET_PROTOCOL]);
    w.str(IPSET_ATTR_SETNAME, name);
    w.end();
}

/// `ipset destroy NAME` (refused with EBUSY while an iptables rule refers to it).
pub(crate) fn encode_destroy(w: &mut NfWriter, name: &str) {
    w.begin_ipset(IPSET_CMD_DESTROY, NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL);
    w.bytes(IPSET_ATTR_PROTOCOL, &[IPSET_PROTOCOL]);
    w.str(IPSET_ATTR_SETNAME, name);
    w.end();
}

/// `ipset add NAME MEMBER timeout 0` (how kube-router fills its sets) or `ipset del
/// NAME MEMBER`. A member is a host address (hash:ip) or a CIDR (hash:net).
pub(crate) fn encode_member(w: &mut NfWriter, add: bool, name: &str, m: &Member) {
    let cmd = if add { IPSET_CMD_ADD } else { IPSET_CMD_DEL };
    w.begin_ipset(cmd, NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL);
    w.bytes(IPSET_ATTR_PROTOCOL, &[IPSET_PROTOCOL]);
    w.str(IPSET_ATTR_SETNAME, name);
    let data = w.nest(IPSET_ATTR_DATA);
    let ip = w.nest(IPSET_ATTR_IP);
    match m.addr {
        IpAddr::V4(a) => w.bytes(IPSET_ATTR_IPADDR_IPV4 | NET_BYTEORDER, &a.octets()),
        IpAddr::V6(a) => w.bytes(IPSET_ATTR_IPADDR_IPV6 | NET_BYTEORDER, &a.octets()),
    }
    w.end_nest(ip);
    if let Some(c) = m.cidr {
        w.bytes(IPSET_ATTR_CIDR, &[c]);
    }
    if add {
        w.bytes(IPSET_ATTR_TIMEOUT | NET_BYTEORDER, &0u32.to_be_bytes());
    }
    w.bytes(IPSET_ATTR_LINENO | NET_BYTEORDER, &0u32.to_be_bytes());
    w.end_nest(data);
    w.end();
}

/// One member of a set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Member {
    pub(crate) addr: IpAddr,
    /// The prefix length for hash:net members (hash:ip members have none).
    pub(crate) cidr: Option<u8>,
}

impl Member {
    pub(crate) fn net(p: &Prefix) -> Member {
        Member {
            addr: p.addr(),
            cidr: Some(p.len()),
        }
    }

    pub(crate) fn ip(a: IpAddr) -> Member {
        Member {
            addr: a,
            cidr: None,
        }
    }
}

/// A set as listed: its index (what `-m set` matches refer to), type, family, members.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Listed {
    pub(crate) index: Option<u16>,
    pub(crate) type_name: String,
    pub(crate) v6: bool,
    pub(crate) members: Vec<Member>,
}

/// Folds one reply message of a list dump into `out` (the header and the members may
/// come in several messages).
pub(crate) fn parse_list(payload: &[u8], out: &mut Listed) {
    for (k, d) in nf_attrs(payload) {
        match k {
            IPSET_ATTR_INDEX => {
                if let Some(b) = d.get(..2) {
                    out.index = Some(u16::from_be_bytes([b[0], b[1]]));
                }
            }
            IPSET_ATTR_TYPENAME => out.type_name = as_str(d),
            IPSET_ATTR_FAMILY => out.v6 = d.first() == Some(&NFPROTO_IPV6),
            IPSET_ATTR_ADT => {
                for (dk, data) in attrs(d) {
                    if dk != IPSET_ATTR_DATA {
                        continue;
                    }
                    if let Some(m) = parse_member(data) {
                        out.members.push(m);
                    }
                }
            }
            _ => {}
        }
    }
}

fn parse_member(data: &[u8]) -> Option<Member> {
    let mut addr = None;
    let mut cidr = None;
    for (k, v) in attrs(data) {
        match k {
            IPSET_ATTR_IP => {
                for (ak, av) in attrs(v) {
                    addr = match ak {
                        IPSET_ATTR_IPADDR_IPV4 => {
                            Some(IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(av).ok()?)))
                        }
                        IPSET_ATTR_IPADDR_IPV6 => {
                            Some(IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(av).ok()?)))
                        }
                        _ => addr,
                    };
                }
            }
            IPSET_ATTR_CIDR => cidr = v.first().copied(),
            _ => {}
        }
    }
    Some(Member { addr: addr?, cidr })
}

/// The members to add and to delete so that a set holds exactly `want`.
pub(crate) fn member_diff(have: &[Member], want: &[Member]) -> (Vec<Member>, Vec<Member>) {
    let add = want.iter().filter(|m| !have.contains(m)).copied().collect();
    let del = have.iter().filter(|m| !want.contains(m)).copied().collect();
    (add, del)
}

#[cfg(test)]
mod tests {
    use super::super::nfmsg::fixtures::{assert_same, messages, split};
    use super::*;

    fn one(f: impl FnOnce(&mut NfWriter)) -> Vec<Vec<u8>> {
        let mut w = NfWriter::new();
        f(&mut w);
        split(&w.take())
    }

    fn p(s: &str) -> Prefix {
        s.parse().expect("prefix")
    }

    /// Byte for byte what the `ipset` tool sent (testdata/capture.sh).
    #[test]
    fn messages_match_the_ipset_tool() {
        let (ps4, ni4) = names(false);
        let (ps6, ni6) = names(true);
        assert_same(
            "add net",
            &one(|w| encode_member(w, true, &ps4, &Member::net(&p("10.244.3.0/24")))),
            &messages(include_str!("testdata/ipset_add_net.hex")),
        );
        assert_same(
            "add ip",
            &one(|w| encode_member(w, true, &ni4, &Member::ip("10.11.0.3".parse().unwrap()))),
            &messages(include_str!("testdata/ipset_add_ip.hex")),
        );
        assert_same(
            "add net6",
            &one(|w| encode_member(w, true, &ps6, &Member::net(&p("fd00:244:3::/64")))),
            &messages(include_str!("testdata/ipset_add_net6.hex")),
        );
        assert_same(
            "add ip6",
            &one(|w| encode_member(w, true, &ni6, &Member::ip("fd00:11::3".parse().unwrap()))),
            &messages(include_str!("testdata/ipset_add_ip6.hex")),
        );
        assert_same(
            "del net",
            &one(|w| encode_member(w, false, &ps4, &Member::net(&p("10.244.3.0/24")))),
            &messages(include_str!("testdata/ipset_del_net.hex")),
        );
        assert_same(
            "list",
            &one(|w| encode_list(w, &ps4)),
            &messages(include_str!("testdata/ipset_list.hex")),
        );
        assert_same(
            "destroy",
            &one(|w| encode_destroy(w, &ni4)),
            &messages(include_str!("testdata/ipset_destroy.hex")),
        );
    }

    /// The kernel's answer to `ipset list kube-router-pod-subnets` holding two CIDRs.
    #[test]
    fn parses_a_list_reply() {
        let mut l = Listed::default();
        for m in messages(include_str!("testdata/ipset_list_reply.hex")) {
            if u16::from_ne_bytes([m[4], m[5]]) == (6 << 8) | IPSET_CMD_LIST {
                parse_list(&m[16..], &mut l);
            }
        }
        assert_eq!(l.index, Some(0));
        assert_eq!(l.type_name, "hash:net");
        assert!(!l.v6);
        assert_eq!(
            l.members,
            vec![
                Member::net(&p("10.244.4.0/24")),
                Member::net(&p("10.244.5.0/24"))
            ]
        );
        let want = [
            Member::net(&p("10.244.5.0/24")),
            Member::net(&p("10.244.6.0/24")),
        ];
        let (add, del) = member_diff(&l.members, &want);
        assert_eq!(add, vec![want[1]]);
        assert_eq!(del, vec![l.members[0]]);
    }

    #[test]
    fn garbage_does_not_panic() {
        let mut l = Listed::default();
        for cut in 0..40 {
            parse_list(&[7u8; 40][..cut], &mut l);
        }
        assert!(parse_member(&[8, 0, 1, 0, 1, 2, 3, 4]).is_none());
    }
}
