//! Change subscription: a non-blocking rtnetlink socket joined to the route, address
//! and link groups, for the daemon's mio loop.
//!
//! Owns: the multicast socket, turning its notifications into `Changes`, and each
//! link's last notified carrier (a carrier change, notified with an empty change mask,
//! is told apart only by comparing with it). It does not act on them: the `Reconciler` updates its view and decides whether to reconcile.
//! Register it with `mio::unix::SourceFd(&watch.as_raw_fd())` for READABLE, then call
//! `drain` on every readiness event until it returns.

use std::collections::HashMap;
use std::io;
use std::os::unix::io::{AsRawFd, RawFd};

use neli::consts::socket::Msg;
use neli::socket::NlSocket;

use super::addr::{RTM_DELADDR, RTM_NEWADDR};
use super::netlink::{NLM_F_REPLACE, NetlinkError, messages, open_socket, setsockopt_int, u32_at};
use super::nexthop::{RTM_DELNEXTHOP, parse_nexthop};
use super::route::{
    KernelRoute, RT_TABLE_MAIN, RTM_DELROUTE, RTM_NEWROUTE, RTPROT_KUBE_ROUTER, RouteKind,
    parse_route,
};
use crate::prefix::Prefix;

const RTNLGRP_LINK: u32 = 1;
const RTNLGRP_IPV4_IFADDR: u32 = 5;
const RTNLGRP_IPV4_ROUTE: u32 = 7;
const RTNLGRP_IPV6_IFADDR: u32 = 9;
const RTNLGRP_IPV6_ROUTE: u32 = 11;
/// Nexthop objects (Linux 5.3 and later; joined on its own: older kernels refuse it).
const RTNLGRP_NEXTHOP: libc::c_int = 32;
pub(crate) const RTM_NEWLINK: u16 = 16;
pub(crate) const RTM_DELLINK: u16 = 17;
const IFF_UP: u32 = 0x1;
const IFF_RUNNING: u32 = 0x40;
const IFF_LOWER_UP: u32 = 0x10000;

/// A change to a route in the main table that matters to us.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteEvent {
    /// A protocol-17 route appeared (ours, or another kube-router/kube-bgp's).
    Added(KernelRoute),
    /// A protocol-17 route disappeared (our delete, or someone's `ip route del`).
    Removed(KernelRoute),
    /// Another protocol's route replaced whatever held this prefix (maybe ours).
    ForeignReplaced(Prefix),
}

/// What a drain saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub routes: Vec<RouteEvent>,
    /// An address was added or removed: connected subnets may have changed.
    pub addresses: bool,
    /// A link went up/down or disappeared: the kernel may have flushed routes silently
    /// (IPv4 sends no RTM_DELROUTE for those), so a full re-read is needed.
    pub links: bool,
    /// Notifications were lost (ENOBUFS): a full re-read is needed.
    pub overflow: bool,
    /// Someone deleted a nexthop object of ours: the kernel removed the routes naming
    /// it without notifications (IPv4), so a full re-read is needed.
    pub nexthops: bool,
    /// A protocol-17 route was notified with only the id of the nexthop object it names
    /// (`net.ipv4.nexthop_compat_mode=0`): where it leads is not in the message, so a
    /// full re-read (objects first) is needed.
    pub by_object_id: bool,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
            && !self.addresses
            && !self.links
            && !self.overflow
            && !self.nexthops
            && !self.by_object_id
    }

    /// Whether only a full re-read of the kernel tables can be trusted now.
    pub(crate) fn needs_resync(&self) -> bool {
        self.links || self.overflow || self.nexthops || self.by_object_id
    }
}

/// The subscription socket.
pub struct Watch {
    sock: NlSocket,
    buf: Vec<u8>,
    /// Per link (ifindex): its IFF_RUNNING | IFF_LOWER_UP bits as last notified.
    carrier: HashMap<u32, u32>,
}

impl Watch {
    /// Opens the socket (non-blocking) joined to route, address and link groups.
    pub fn open() -> Result<Watch, NetlinkError> {
        let sock = open_socket(&[
            RTNLGRP_LINK,
            RTNLGRP_IPV4_IFADDR,
            RTNLGRP_IPV4_ROUTE,
            RTNLGRP_IPV6_IFADDR,
            RTNLGRP_IPV6_ROUTE,
        ])?;
        sock.nonblock()
            .map_err(|e| NetlinkError::Open(format!("O_NONBLOCK: {e}")))?;
        // SAFETY: a socket we own; the group number is a plain c_int. Refused by kernels
        // without nexthop objects, which then have none to lose.
        unsafe {
            setsockopt_int(
                sock.as_raw_fd(),
                libc::SOL_NETLINK,
                libc::NETLINK_ADD_MEMBERSHIP,
                RTNLGRP_NEXTHOP,
            )
        };
        Ok(Watch {
            sock,
            buf: vec![0; 1 << 18],
            carrier: HashMap::new(),
        })
    }

    /// Drops, in the kernel, every notification whose sender is one of `ports` (our own
    /// request sockets): those only repeat what the batch replies already told us, and
    /// a large batch's own notifications would overflow the socket (ENOBUFS) and force
    /// a full re-read of the tables. A classic BPF filter on the netlink header's
    /// `nlmsg_pid`; changes made by anyone else (and by the kernel, port 0) still arrive.
    pub fn ignore_senders(&mut self, ports: &[u32]) -> Result<(), NetlinkError> {
        let prog = sender_filter(ports);
        let fprog = libc::sock_fprog {
            len: prog.len() as libc::c_ushort,
            filter: prog.as_ptr().cast_mut(),
        };
        // SAFETY: `fprog` points at `prog`, which outlives the call; the kernel copies
        // the program and checks it before attaching it.
        let rc = unsafe {
            libc::setsockopt(
                self.sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ATTACH_FILTER,
                (&fprog as *const libc::sock_fprog).cast(),
                std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(NetlinkError::Open(format!(
                "SO_ATTACH_FILTER: {}",
                io::Error::last_os_error()
            )));
        }
        Ok(())
    }

    /// Reads every pending notification (bounded: stops at `max_reads` recvs so a flood
    /// cannot starve the loop; the socket stays readable and mio reports it again).
    pub fn drain(&mut self, max_reads: usize) -> Result<Changes, NetlinkError> {
        let mut ch = Changes::default();
        for _ in 0..max_reads {
            let n = match self.sock.recv(&mut self.buf[..], Msg::empty()) {
                Ok((n, _)) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    ch.overflow = true;
                    continue;
                }
                Err(e) => return Err(NetlinkError::Io("recv notifications", e)),
            };
            classify(&self.buf[..n], &mut ch);
            ch.links |= carrier_changed(&self.buf[..n], &mut self.carrier);
        }
        Ok(ch)
    }
}

/// Whether a link of `buf`'s notifications gained or lost its carrier, given the bits
/// last seen per link (`seen`, updated). The kernel notifies a carrier change with an
/// empty change mask, and deletes the nexthop objects on a link that loses it (and the
/// IPv4 routes naming them) without a notification: only a re-read tells. A link not
/// seen before counts as changed when it has no carrier (its first notification may be
/// that loss); with one, it is only recorded (a loss before this socket existed was
/// read by the re-read every start makes).
fn carrier_changed(buf: &[u8], seen: &mut HashMap<u32, u32>) -> bool {
    let mut changed = false;
    // Route bursts are most of what arrives: only link messages are looked into.
    let links = messages(buf)
        .map_while(Result::ok)
        .filter(|m| m.msg_type == RTM_NEWLINK || m.msg_type == RTM_DELLINK);
    for m in links {
        let Some(ifindex) = u32_at(m.payload, 4) else {
            continue;
        };
        match m.msg_type {
            RTM_NEWLINK => {
                let bits = u32_at(m.payload, 8).unwrap_or(0) & (IFF_RUNNING | IFF_LOWER_UP);
                changed |= match seen.insert(ifindex, bits) {
                    Some(before) => before != bits,
                    None => bits & IFF_LOWER_UP == 0,
                };
            }
            RTM_DELLINK => {
                seen.remove(&ifindex);
            }
            _ => {}
        }
    }
    changed
}

/// Classic BPF: accept a datagram unless its first header's `nlmsg_pid` (offset 12) is
/// one of `ports`. Absolute loads read big-endian words; netlink headers are in host
/// order, so the constants are byte-swapped on little-endian machines.
fn sender_filter(ports: &[u32]) -> Vec<libc::sock_filter> {
    const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    let ins = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
    let ports: Vec<u32> = ports.iter().copied().take(200).collect();
    let n = ports.len();
    let mut prog = vec![ins(LD_W_ABS, 0, 0, 12)];
    for (i, p) in ports.iter().enumerate() {
        // Match: jump over the remaining tests and the accept to the drop.
        let to_drop = (n - i) as u8;
        prog.push(ins(JEQ_K, to_drop, 0, u32::from_be_bytes(p.to_ne_bytes())));
    }
    prog.push(ins(RET_K, 0, 0, u32::MAX));
    prog.push(ins(RET_K, 0, 0, 0));
    prog
}

/// Adds the notifications of one datagram to `ch`.
pub fn classify(buf: &[u8], ch: &mut Changes) {
    for m in messages(buf) {
        let Ok(m) = m else {
            ch.overflow = true; // unreadable: re-read everything
            return;
        };
        match m.msg_type {
            RTM_NEWROUTE | RTM_DELROUTE => {
                let Some(info) = parse_route(m.payload) else {
                    continue;
                };
                if info.table != RT_TABLE_MAIN || info.src_len != 0 {
                    continue;
                }
                let new = m.msg_type == RTM_NEWROUTE;
                if info.protocol == RTPROT_KUBE_ROUTER
                    && info.route.kind == RouteKind::Other
                    && info.nh_id.is_some()
                {
                    ch.by_object_id = true;
                } else if info.protocol == RTPROT_KUBE_ROUTER {
                    ch.routes.push(if new {
                        RouteEvent::Added(info.route)
                    } else {
                        RouteEvent::Removed(info.route)
                    });
                } else if new && m.flags & NLM_F_REPLACE != 0 {
                    ch.routes.push(RouteEvent::ForeignReplaced(info.route.dst));
                }
            }
            RTM_DELNEXTHOP if parse_nexthop(m.payload).is_some_and(|o| o.ours()) => {
                ch.nexthops = true;
            }
            RTM_NEWADDR | RTM_DELADDR => ch.addresses = true,
            RTM_DELLINK => ch.links = true,
            RTM_NEWLINK => {
                let change = u32_at(m.payload, 12).unwrap_or(u32::MAX);
                if change & (IFF_UP | IFF_RUNNING | IFF_LOWER_UP) != 0 {
                    ch.links = true;
                }
            }
            _ => {}
        }
    }
}

impl AsRawFd for Watch {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::netlink::MsgWriter;
    use crate::kernel::route::{encode_del, encode_new};

    #[test]
    fn classifies_route_addr_link_messages() {
        let r = KernelRoute::via(
            "10.2.0.0/24".parse().expect("p"),
            "10.0.0.2".parse().expect("ip"),
        );
        let mut w = MsgWriter::new();
        encode_new(&mut w, &r, RT_TABLE_MAIN, false, 0);
        encode_new(&mut w, &r, 77, false, 0); // other table: ignored
        w.begin(RTM_NEWADDR, 0);
        w.raw(&[2, 24, 0, 0, 1, 0, 0, 0]);
        w.end();
        w.begin(RTM_NEWLINK, 0);
        w.raw(&[0; 16]); // ifi_change 0: statistics-only update, ignored
        w.end();
        let mut ch = Changes::default();
        classify(&w.take(), &mut ch);
        assert_eq!(ch.routes, vec![RouteEvent::Added(r)]);
        assert!(ch.addresses && !ch.links && !ch.overflow);

        // A delete notification echoes the route; a foreign replace names the prefix.
        let mut w = MsgWriter::new();
        encode_new(&mut w, &r, RT_TABLE_MAIN, false, 0);
        let mut b = w.take();
        b[4..6].copy_from_slice(&RTM_DELROUTE.to_ne_bytes());
        let mut ch = Changes::default();
        classify(&b, &mut ch);
        assert_eq!(ch.routes, vec![RouteEvent::Removed(r)]);
        b[4..6].copy_from_slice(&RTM_NEWROUTE.to_ne_bytes());
        b[6..8].copy_from_slice(&NLM_F_REPLACE.to_ne_bytes());
        b[16 + 5] = 4; // static
        let mut ch = Changes::default();
        classify(&b, &mut ch);
        assert_eq!(ch.routes, vec![RouteEvent::ForeignReplaced(r.dst)]);
        assert!(!ch.needs_resync());
    }

    #[test]
    fn a_route_notified_by_object_id_only_needs_resync() {
        let r = KernelRoute::via(
            "10.2.0.0/24".parse().expect("p"),
            "10.0.0.2".parse().expect("ip"),
        );
        // As the kernel notifies a route naming an object with
        // `net.ipv4.nexthop_compat_mode=0`: the id, no gateway or device.
        let mut w = MsgWriter::new();
        crate::kernel::route::encode_new_nh(&mut w, &r, RT_TABLE_MAIN, false, 0, Some(7));
        let mut b = w.take();
        b[4..6].copy_from_slice(&RTM_DELROUTE.to_ne_bytes());
        let mut ch = Changes::default();
        classify(&b, &mut ch);
        assert!(ch.routes.is_empty(), "{ch:?}");
        assert!(ch.by_object_id && ch.needs_resync() && !ch.is_empty());
        // With the gateway the kernel adds in compat mode, it is read as usual.
        let mut w = MsgWriter::new();
        encode_new(&mut w, &r, RT_TABLE_MAIN, false, 0);
        let mut ch = Changes::default();
        classify(&w.take(), &mut ch);
        assert_eq!(ch.routes, vec![RouteEvent::Added(r)]);
        assert!(!ch.by_object_id);
    }

    #[test]
    fn a_carrier_change_is_told_by_the_link_flags() {
        let link = |ty: u16, ifindex: u32, flags: u32| {
            let mut w = MsgWriter::new();
            w.begin(ty, 0);
            let mut ifi = [0u8; 16];
            ifi[4..8].copy_from_slice(&ifindex.to_ne_bytes());
            ifi[8..12].copy_from_slice(&flags.to_ne_bytes());
            w.raw(&ifi); // ifi_change 0, as the kernel sends a carrier change
            w.end();
            w.take()
        };
        let (up, carrier) = (IFF_UP, IFF_UP | IFF_RUNNING | IFF_LOWER_UP);
        let mut seen = HashMap::new();
        assert!(
            !carrier_changed(&link(RTM_NEWLINK, 3, carrier), &mut seen),
            "first seen"
        );
        assert!(
            carrier_changed(&link(RTM_NEWLINK, 4, up), &mut seen),
            "first seen, none"
        );
        assert!(!carrier_changed(&link(RTM_NEWLINK, 3, carrier), &mut seen));
        assert!(
            carrier_changed(&link(RTM_NEWLINK, 3, up), &mut seen),
            "carrier lost"
        );
        assert!(!carrier_changed(&link(RTM_NEWLINK, 3, up), &mut seen));
        assert!(
            carrier_changed(&link(RTM_NEWLINK, 3, carrier), &mut seen),
            "back"
        );
        // An MTU or address change keeps the carrier: nothing to re-read for it.
        assert!(!carrier_changed(
            &link(RTM_NEWLINK, 3, carrier | 0x1000),
            &mut seen
        ));
        assert!(!carrier_changed(&link(RTM_DELLINK, 3, 0), &mut seen));
        assert!(!carrier_changed(&link(RTM_DELLINK, 4, 0), &mut seen));
        assert!(seen.is_empty());
        // The payload classify reads alone: an empty change mask is no link change.
        let mut ch = Changes::default();
        classify(&link(RTM_NEWLINK, 3, up), &mut ch);
        assert!(!ch.links);
    }

    #[test]
    fn link_down_and_garbage_need_resync() {
        let mut w = MsgWriter::new();
        w.begin(RTM_NEWLINK, 0);
        let mut ifi = [0u8; 16];
        ifi[12..16].copy_from_slice(&IFF_UP.to_ne_bytes());
        w.raw(&ifi);
        w.end();
        let mut ch = Changes::default();
        classify(&w.take(), &mut ch);
        assert!(ch.links && ch.needs_resync());

        let mut w = MsgWriter::new();
        encode_del(&mut w, &"10.0.0.0/8".parse().expect("p"), RT_TABLE_MAIN);
        let mut b = w.take();
        b[0..4].copy_from_slice(&9999u32.to_ne_bytes());
        let mut ch = Changes::default();
        classify(&b, &mut ch);
        assert!(ch.overflow);

        // Someone deleted an object of ours (not someone else's): re-read.
        let mut w = MsgWriter::new();
        for id in [7, crate::kernel::nexthop::NH_ID_FIRST] {
            w.begin(RTM_DELNEXTHOP, 0);
            w.raw(&[2, 0, 17, 0, 0, 0, 0, 0]);
            w.attr_u32(1, id);
            w.end();
        }
        let b = w.take();
        let mut ch = Changes::default();
        classify(&b[..b.len() / 2], &mut ch);
        assert!(ch.is_empty());
        classify(&b, &mut ch);
        assert!(ch.nexthops && ch.needs_resync());
    }
}
