//! `kube-bridge`, the Linux bridge the CNI bridge plugin attaches pods to, and the
//! node's primary interface (whose MTU pods get).
//!
//! Owns: the rtnetlink messages for the bridge (create, MTU, up, delete: the bytes
//! `ip link` sends, see the tests), reading links and their MTU, master and kind from a
//! dump or a notification, and finding the interface that holds an address. Never gives
//! the bridge an address (the bridge plugin does, in gateway mode) and never deletes a
//! link other than a `kube-bridge` of kind bridge.

use std::net::IpAddr;

use crate::kernel::addr::dump_addrs;
use crate::kernel::codec::{MsgWriter, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, attrs};
use crate::kernel::netlink::{Errno, Netlink, NetlinkError, u32_at};
use crate::kernel::tunnel::{dump_links_as, ifinfomsg};

pub(crate) const BRIDGE: &str = "kube-bridge";
pub(crate) const RTM_NEWLINK: u16 = 16;
pub(crate) const RTM_DELLINK: u16 = 17;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_INFO_KIND: u16 = 1;
const IFF_UP: u32 = 0x1;

/// A link as the kernel describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LinkState {
    pub(crate) index: u32,
    pub(crate) name: String,
    /// IFLA_INFO_KIND (`bridge`, `veth`, …), empty when none.
    pub(crate) kind: String,
    pub(crate) up: bool,
    pub(crate) mtu: u32,
    /// The bridge (or bond) this link is a port of.
    pub(crate) master: Option<u32>,
}

/// `ip link add NAME type bridge`.
pub(crate) fn encode_create(w: &mut MsgWriter, name: &str) {
    w.begin(
        RTM_NEWLINK,
        NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE,
    );
    w.raw(&ifinfomsg(0, 0, 0, 0));
    w.attr_str(IFLA_IFNAME, name);
    let info = w.begin_nest(IFLA_LINKINFO);
    w.attr(IFLA_INFO_KIND, b"bridge");
    w.end_nest(info);
    w.end();
}

/// `ip link set dev #INDEX mtu MTU`.
pub(crate) fn encode_mtu(w: &mut MsgWriter, index: u32, mtu: u32) {
    w.begin(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK);
    w.raw(&ifinfomsg(0, index, 0, 0));
    w.attr_u32(IFLA_MTU, mtu);
    w.end();
}

/// `ip link set dev #INDEX up`.
pub(crate) fn encode_up(w: &mut MsgWriter, index: u32) {
    w.begin(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK);
    w.raw(&ifinfomsg(0, index, IFF_UP, IFF_UP));
    w.end();
}

/// `ip link del dev #INDEX`.
pub(crate) fn encode_delete(w: &mut MsgWriter, index: u32) {
    w.begin(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK);
    w.raw(&ifinfomsg(0, index, 0, 0));
    w.end();
}

/// Decodes an RTM_NEWLINK/RTM_DELLINK payload.
pub(crate) fn parse_link(payload: &[u8]) -> Option<LinkState> {
    let index = u32_at(payload, 4)?;
    let flags = u32_at(payload, 8)?;
    let mut l = LinkState {
        index,
        name: String::new(),
        kind: String::new(),
        up: flags & IFF_UP != 0,
        mtu: 0,
        master: None,
    };
    let mut named = false;
    for (t, d) in attrs(payload.get(16..)?) {
        match t {
            IFLA_IFNAME => {
                l.name = String::from_utf8_lossy(d.split(|&c| c == 0).next().unwrap_or(&[]))
                    .into_owned();
                named = true;
            }
            IFLA_MTU => l.mtu = u32_at(d, 0).unwrap_or(0),
            IFLA_MASTER => l.master = u32_at(d, 0).filter(|m| *m != 0),
            IFLA_LINKINFO => {
                for (it, id) in attrs(d) {
                    if it == IFLA_INFO_KIND {
                        l.kind =
                            String::from_utf8_lossy(id.split(|&c| c == 0).next().unwrap_or(&[]))
                                .into_owned();
                    }
                }
            }
            _ => {}
        }
    }
    named.then_some(l)
}

/// Every link.
pub(crate) fn dump(nl: &mut Netlink) -> Result<Vec<LinkState>, NetlinkError> {
    dump_links_as(nl, parse_link)
}

/// The link holding address `addr`, if any.
pub(crate) fn holding(
    nl: &mut Netlink,
    links: &[LinkState],
    addr: IpAddr,
) -> Result<Option<LinkState>, NetlinkError> {
    let index = dump_addrs(nl)?
        .into_iter()
        .find(|a| a.addr == addr)
        .map(|a| a.ifindex);
    Ok(index.and_then(|i| links.iter().find(|l| l.index == i).cloned()))
}

/// Sends one request built by `f`, waiting for its ACK.
pub(crate) fn request(nl: &mut Netlink, f: impl Fn(&mut MsgWriter)) -> Result<(), Errno> {
    nl.request(&mut |w| f(w))
}

#[cfg(test)]
mod tests {
    use super::super::nfmsg::fixtures::{assert_same, messages, split};
    use super::*;

    fn one(f: impl FnOnce(&mut MsgWriter)) -> Vec<Vec<u8>> {
        let mut w = MsgWriter::new();
        f(&mut w);
        split(&w.take())
    }

    /// Byte for byte what `ip link` sent (testdata/capture.sh; the bridge had index 2).
    #[test]
    fn messages_match_iproute2() {
        assert_same(
            "create",
            &one(|w| encode_create(w, BRIDGE)),
            &messages(include_str!("testdata/link_bridge_create.hex")),
        );
        assert_same(
            "mtu",
            &one(|w| encode_mtu(w, 2, 1400)),
            &messages(include_str!("testdata/link_bridge_mtu.hex")),
        );
        assert_same(
            "up",
            &one(|w| encode_up(w, 2)),
            &messages(include_str!("testdata/link_bridge_up.hex")),
        );
        assert_same(
            "delete",
            &one(|w| encode_delete(w, 2)),
            &messages(include_str!("testdata/link_bridge_delete.hex")),
        );
    }

    #[test]
    fn parses_what_it_writes_and_survives_garbage() {
        let mut w = MsgWriter::new();
        encode_create(&mut w, BRIDGE);
        let b = w.take();
        let l = parse_link(&b[16..]).expect("link");
        assert_eq!((l.name.as_str(), l.kind.as_str()), (BRIDGE, "bridge"));
        assert!(!l.up && l.master.is_none());
        for cut in 0..b.len() {
            let _ = parse_link(&b[16.min(cut)..cut]);
        }
    }
}
