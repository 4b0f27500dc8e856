//! A simulated kernel for tests: one node's main routing table behind a [`KernelPort`],
//! so the real `Reconciler` and the daemon's `KernelRoutes` run against it on one
//! thread, deterministically, with no clock of its own.
//!
//! Owns: the table (kube-bgp's protocol-17 routes, other programs' routes, the
//! connected subnet's kernel route), kube-bgp's nexthop objects, the node's one address,
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
//! of any other; a gateway off the connected subnet is ENETUNREACH; a device route needs
//! the node's one link. Nexthop objects (`--kernel-nexthop-objects`): single next hops,
//! made exclusively, named by routes (which the dumps report by id only), deleted with
//! the routes naming them. A port's writer sends its batches when the daemon collects
//! them, in order; batches a port still holds when it is dropped (its agent crashed)
//! are lost. Our own changes cause no notifications (the real port filters them);
//! other programs' additions, replacements and deletions do, unless they are lost.
//! Not modelled: nexthop groups, tables other than main, overlay links (`host_links` is
//! false: no tunnels), a second address or family, address changes, link events,
//! notification overflow.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::os::unix::io::RawFd;
use std::rc::Rc;
use std::time::Duration;

use super::addr::{RTM_GETADDR, RTM_NEWADDR};
use super::netlink::{
    AF_INET, AF_INET6, BatchOptions, Errno, Failure, MsgWriter, NLM_F_ACK_TLVS, NLM_F_CAPPED,
    NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NLMSG_ERROR, NLMSG_HDR_LEN, NLMSGERR_ATTR_MSG,
    NetlinkError, NlMsg, messages, read_acks, request_offsets,
};
use super::nexthop::{
    NhKey, RTM_DELNEXTHOP, RTM_GETNEXTHOP, RTM_NEWNEXTHOP, encode_new_nexthop, parse_nexthop,
};
use super::port::{DumpSource, KernelPort};
use super::route::{
    KernelRoute, RT_SCOPE_LINK, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, RTM_DELROUTE, RTM_GETROUTE,
    RTM_NEWROUTE, RTPROT_KUBE_ROUTER, RouteKind, encode_new, encode_new_nh, parse_route,
};
use super::watch::{Changes, classify};
use super::writer::{Done, Job};
use crate::prefix::Prefix;

/// The ifindex of the node's one link (its address and connected subnet are on it).
const LINK_IFINDEX: u32 = 2;
/// The protocol of the kernel's own route for a connected subnet.
const RTPROT_KERNEL: u8 = 2;
/// The errno of a request made to fail (`fail_next`): the kernel could not allocate.
const INJECTED_ERRNO: i32 = libc::ENOMEM;

/// One route of the main table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SimRoute {
    /// Where it leads (for a route naming a nexthop object: where the object leads).
    kind: RouteKind,
    protocol: u8,
    /// The nexthop object it names, if it names one.
    nh: Option<u32>,
}

struct SimState {
    local: IpAddr,
    subnet: Prefix,
    /// The main table: one route per prefix.
    table: BTreeMap<Prefix, SimRoute>,
    /// Nexthop objects by id: where each leads, and its protocol.
    objects: BTreeMap<u32, (NhKey, u8)>,
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
        let mut table = BTreeMap::new();
        table.insert(
            subnet,
            SimRoute {
                kind: RouteKind::Dev {
                    ifindex: LINK_IFINDEX,
                    src: Some(local),
                },
                protocol: RTPROT_KERNEL,
                nh: None,
            },
        );
        SimKernel {
            state: Rc::new(RefCell::new(SimState {
                local,
                subnet,
                table,
                objects: BTreeMap::new(),
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
}

/// Writes a route of the table as the kernel reports it (dump reply or notification).
fn encode_route(w: &mut MsgWriter, dst: Prefix, r: SimRoute, flags: u16) {
    let at = w.buf.len();
    let scope = match r.kind {
        RouteKind::Dev { .. } if r.protocol == RTPROT_KERNEL => RT_SCOPE_LINK,
        _ => RT_SCOPE_UNIVERSE,
    };
    // A route naming an object is reported with its id only (the dump parser then
    // resolves it through the objects it read first).
    encode_new_nh(
        w,
        &KernelRoute { dst, kind: r.kind },
        RT_TABLE_MAIN,
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
            _ => return Err((libc::EOPNOTSUPP, "simulated kernel: route requests only")),
        }
        if self.fail_next > 0 {
            self.fail_next -= 1;
            return Err((INJECTED_ERRNO, "simulated failure"));
        }
        let Some(info) = parse_route(payload) else {
            return Err((libc::EINVAL, "malformed route message"));
        };
        if info.table != RT_TABLE_MAIN || info.src_len != 0 || info.priority != 0 {
            return Err((libc::EINVAL, "simulated kernel: main table, metric 0 only"));
        }
        let dst = info.route.dst;
        if msg_type == RTM_DELROUTE {
            // The request names its protocol: another protocol's route does not match.
            return match self.table.get(&dst) {
                Some(r) if r.protocol == info.protocol => {
                    self.table.remove(&dst);
                    Ok(())
                }
                _ => Err((libc::ESRCH, "")),
            };
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
        let exists = self.table.contains_key(&dst);
        if exists && flags & NLM_F_REPLACE == 0 {
            return Err((libc::EEXIST, ""));
        }
        if !exists && flags & NLM_F_CREATE == 0 {
            return Err((libc::ENOENT, ""));
        }
        self.table.insert(
            dst,
            SimRoute {
                kind,
                protocol: info.protocol,
                nh: info.nh_id,
            },
        );
        Ok(())
    }

    /// Whether a next hop can be used: a gateway on the connected subnet, or the link.
    fn reachable(&self, kind: RouteKind) -> Result<(), Refusal> {
        match kind {
            RouteKind::Via(gw) if !self.subnet.contains_addr(&gw) => {
                Err((libc::ENETUNREACH, "Nexthop has invalid gateway"))
            }
            RouteKind::Dev { ifindex, .. } if ifindex != LINK_IFINDEX => {
                Err((libc::ENODEV, "Nexthop device does not exist"))
            }
            RouteKind::Via(_) | RouteKind::Dev { .. } => Ok(()),
            RouteKind::Other => Err((libc::EINVAL, "route without a next hop")),
        }
    }

    /// RTM_NEWNEXTHOP (kube-bgp always makes them exclusively): a single next hop.
    fn new_nexthop(&mut self, payload: &[u8]) -> Result<(), Refusal> {
        let Some(obj) = parse_nexthop(payload) else {
            return Err((libc::EINVAL, "malformed nexthop message"));
        };
        let Some(key) = obj.key else {
            return Err((libc::EOPNOTSUPP, "simulated kernel: single next hops only"));
        };
        if key.oif != LINK_IFINDEX {
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
                let (fam, bytes) = match self.local {
                    IpAddr::V4(a) => (AF_INET, a.octets().to_vec()),
                    IpAddr::V6(a) => (AF_INET6, a.octets().to_vec()),
                };
                w.begin(RTM_NEWADDR, 0);
                let mut ifa = vec![fam, self.subnet.len(), 0, RT_SCOPE_UNIVERSE];
                ifa.extend_from_slice(&LINK_IFINDEX.to_ne_bytes());
                w.raw(&ifa);
                w.attr(1 /* IFA_ADDRESS */, &bytes);
                if fam == AF_INET {
                    w.attr(2 /* IFA_LOCAL */, &bytes);
                }
                w.end();
            }
            RTM_GETROUTE => {
                let fam = payload.first().copied().unwrap_or(0);
                for (p, r) in &self.table {
                    if fam == 0 || fam == family_of(p) {
                        encode_route(&mut w, *p, *r, 0);
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

impl DumpSource for SimPort {
    fn dump(
        &mut self,
        what: &'static str,
        build: &dyn Fn(&mut MsgWriter),
        _reset: &mut dyn FnMut(),
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
            .kernel
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

    fn host_links(&self) -> bool {
        false
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
}
