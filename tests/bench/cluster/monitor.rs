//! Kernel route notifications, timestamped: one thread per network namespace joins it
//! (setns on that thread only), subscribes a NETLINK_ROUTE socket to the IPv4 and IPv6
//! route groups and the link group, and records every RTM_NEWROUTE / RTM_DELROUTE, and
//! every link's administrative state in RTM_NEWLINK (as a note on `link:IFNAME`: the
//! kernel removes an IPv4 connected route with its link without a RTM_DELROUTE), with
//! the wall-clock time
//! (CLOCK_REALTIME, the clock every namespace of the host shares) at which `recv`
//! returned it. The kernel sends the notification while it applies the change, so the
//! time is late only by the thread's wake-up; no polling interval enters a figure.
//!
//! The threads only append to a hand-over list (`incoming`, locked for the append);
//! readers move it into their own list (`events`) and run their predicates there, under
//! a lock the threads never take. A predicate that scans thousands of events for
//! thousands of prefixes thus never holds up a `recv`. (When the threads appended to the
//! readers' list, a notification that came while a predicate ran was timed after it: a
//! start-up's 5,000 routes were seen 0.05–0.23 s after kube-bgp's pass that installed
//! them had ended, by as many predicate runs as the reader won the lock during the burst.)
//!
//! Owns: its sockets, threads and the event lists. Must not: change any route or link;
//! lose an overflow silently (ENOBUFS is counted per namespace and reported); make a
//! thread wait for a reader.

use std::ffi::CString;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::events::realtime_ns;

pub(crate) const RTM_NEWROUTE: u16 = 24;
pub(crate) const RTM_DELROUTE: u16 = 25;
pub(crate) const RTA_DST: u16 = 1;
pub(crate) const RTA_GATEWAY: u16 = 5;
pub(crate) const RTA_MULTIPATH: u16 = 9;
pub(crate) const RTA_TABLE: u16 = 15;
pub(crate) const RTM_NEWLINK: u16 = 16;
pub(crate) const IFLA_IFNAME: u16 = 3;
const IFF_UP: u32 = 1;
const RTMGRP_LINK: u32 = 0x1;
const RTMGRP_IPV4_ROUTE: u32 = 0x40;
const RTMGRP_IPV6_ROUTE: u32 = 0x400;

/// One route notification, or a link's state (`prefix` = `link:IFNAME`, `added` = the
/// link is administratively up).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RouteNote {
    /// CLOCK_REALTIME in ns when the monitor received it.
    pub(crate) t_ns: i64,
    /// Which namespace (the label given to `RouteMonitor::start`).
    pub(crate) ns: usize,
    /// RTM_NEWROUTE (true) or RTM_DELROUTE.
    pub(crate) added: bool,
    /// `a.b.c.d/len` or `x::/len` (or `link:IFNAME`).
    pub(crate) prefix: String,
    pub(crate) protocol: u8,
    pub(crate) table: u32,
    /// Next hops: 1 for a plain route with a gateway, the count for a multipath route,
    /// 0 for a route without a gateway (connected, blackhole).
    pub(crate) nexthops: u16,
}

/// Errors of the monitor, with the namespace they concern.
#[derive(Debug)]
pub(crate) enum MonitorError {
    Setup { ns: String, what: String },
}

impl std::fmt::Display for MonitorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MonitorError::Setup { ns, what } => write!(f, "route monitor in {ns}: {what}"),
        }
    }
}

/// Reads a u16 / u32 in host order at `off`, if the slice is long enough.
fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Next hops in an RTA_MULTIPATH payload (a list of `struct rtnexthop`).
pub(crate) fn count_multipath(mut p: &[u8]) -> u16 {
    let mut n = 0u16;
    while let Some(len) = u16_at(p, 0) {
        let len = usize::from(len);
        if len < 8 || len > p.len() {
            break;
        }
        n = n.saturating_add(1);
        p = p.get(align4(len)..).unwrap_or_default();
    }
    n
}

/// Parses one datagram of route notifications (several netlink messages). Messages
/// that are not routes, or are cut short, are skipped.
pub(crate) fn parse_route_msgs(buf: &[u8], t_ns: i64, ns: usize) -> Vec<RouteNote> {
    let mut out = Vec::new();
    let mut off = 0;
    while let (Some(len), Some(kind)) = (u32_at(buf, off), u16_at(buf, off + 4)) {
        let len = len as usize;
        if len < 16 || off + len > buf.len() {
            break;
        }
        let msg = &buf[off + 16..off + len];
        off += align4(len);
        if kind == RTM_NEWLINK {
            out.extend(parse_link_msg(msg, t_ns, ns));
            continue;
        }
        if kind != RTM_NEWROUTE && kind != RTM_DELROUTE {
            continue;
        }
        // struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags
        let Some(hdr) = msg.get(..12) else { continue };
        let (family, dst_len) = (hdr[0], hdr[1]);
        let mut table = u32::from(hdr[4]);
        let protocol = hdr[5];
        let mut dst: Option<IpAddr> = None;
        let mut nexthops = 0u16;
        let mut a = 12;
        while let (Some(alen), Some(atype)) = (u16_at(msg, a), u16_at(msg, a + 2)) {
            let alen = usize::from(alen);
            if alen < 4 || a + alen > msg.len() {
                break;
            }
            let data = &msg[a + 4..a + alen];
            match atype & 0x3fff {
                RTA_DST => {
                    dst = match (family as i32, data.len()) {
                        (libc::AF_INET, 4) => Some(IpAddr::V4(Ipv4Addr::new(
                            data[0], data[1], data[2], data[3],
                        ))),
                        (libc::AF_INET6, 16) => {
                            let o: [u8; 16] = data.try_into().unwrap_or([0; 16]);
                            Some(IpAddr::V6(Ipv6Addr::from(o)))
                        }
                        _ => None,
                    }
                }
                RTA_GATEWAY => nexthops = nexthops.max(1),
                RTA_MULTIPATH => nexthops = count_multipath(data),
                RTA_TABLE => table = u32_at(data, 0).unwrap_or(table),
                _ => {}
            }
            a += align4(alen);
        }
        let dst = match (dst, family as i32) {
            (Some(d), _) => d,
            (None, libc::AF_INET) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            (None, libc::AF_INET6) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            _ => continue,
        };
        out.push(RouteNote {
            t_ns,
            ns,
            added: kind == RTM_NEWROUTE,
            prefix: format!("{dst}/{dst_len}"),
            protocol,
            table,
            nexthops,
        });
    }
    out
}

/// A RTM_NEWLINK body (struct ifinfomsg, then attributes): the link's name and whether
/// it is administratively up.
fn parse_link_msg(msg: &[u8], t_ns: i64, ns: usize) -> Option<RouteNote> {
    let flags = u32_at(msg, 8)?;
    let mut a = 16;
    while let (Some(alen), Some(atype)) = (u16_at(msg, a), u16_at(msg, a + 2)) {
        let alen = usize::from(alen);
        if alen < 4 || a + alen > msg.len() {
            break;
        }
        if atype & 0x3fff == IFLA_IFNAME {
            let data = &msg[a + 4..a + alen];
            let name = data.split(|&b| b == 0).next().unwrap_or_default();
            return Some(RouteNote {
                t_ns,
                ns,
                added: flags & IFF_UP != 0,
                prefix: format!("link:{}", String::from_utf8_lossy(name)),
                protocol: 0,
                table: 0,
                nexthops: 0,
            });
        }
        a += align4(alen);
    }
    None
}

struct MonitorShared {
    /// Received, not yet taken by a reader (the threads' side).
    incoming: Mutex<Vec<RouteNote>>,
    /// Signalled when `incoming` grows.
    cond: Condvar,
    /// Every event taken so far (the readers' side; the threads never lock it).
    events: Mutex<Vec<RouteNote>>,
    stop: AtomicBool,
    overflows: Vec<AtomicU64>,
}

/// Route monitors in a set of namespaces, indexed as given to `start`.
pub(crate) struct RouteMonitor {
    shared: Arc<MonitorShared>,
    threads: Vec<JoinHandle<()>>,
    names: Vec<String>,
}

/// A netlink socket subscribed to route changes inside `netns` (the calling thread
/// joins that namespace first).
fn open_in(netns: &str) -> Result<libc::c_int, String> {
    let path = CString::new(format!("/run/netns/{netns}")).map_err(|e| e.to_string())?;
    // SAFETY: path is a valid C string; the fd is checked and closed below.
    let nsfd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if nsfd < 0 {
        return Err(format!("open: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: nsfd is an open namespace file; setns affects only this thread.
    let rc = unsafe { libc::setns(nsfd, libc::CLONE_NEWNET) };
    let err = std::io::Error::last_os_error();
    // SAFETY: closing the fd we opened.
    unsafe { libc::close(nsfd) };
    if rc != 0 {
        return Err(format!("setns: {err}"));
    }
    // SAFETY: plain socket(2) call; the result is checked.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if fd < 0 {
        return Err(format!("socket: {}", std::io::Error::last_os_error()));
    }
    let fail = |what: &str| {
        let e = std::io::Error::last_os_error();
        // SAFETY: closing the socket we opened.
        unsafe { libc::close(fd) };
        Err(format!("{what}: {e}"))
    };
    let rcvbuf: libc::c_int = 32 << 20;
    let tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 200_000,
    };
    // SAFETY: valid option pointers and sizes for these socket options. SO_RCVBUFFORCE
    // (root) lifts the rmem_max cap; SO_RCVBUF is the fallback.
    unsafe {
        let p = &rcvbuf as *const libc::c_int as *const libc::c_void;
        let n = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        if libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, p, n) != 0 {
            libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, p, n);
        }
        if libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            &tv as *const libc::timeval as *const libc::c_void,
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        ) != 0
        {
            return fail("SO_RCVTIMEO");
        }
    }
    // SAFETY: a zeroed sockaddr_nl is valid; bind with its exact size.
    let rc = unsafe {
        let mut sa: libc::sockaddr_nl = std::mem::zeroed();
        sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        sa.nl_groups = RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE | RTMGRP_LINK;
        libc::bind(
            fd,
            &sa as *const libc::sockaddr_nl as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return fail("bind");
    }
    Ok(fd)
}

fn run(fd: libc::c_int, index: usize, shared: &MonitorShared) {
    let mut buf = vec![0u8; 1 << 20];
    while !shared.stop.load(Ordering::Relaxed) {
        // SAFETY: buf is valid for buf.len() bytes.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
        let t = realtime_ns();
        if n < 0 {
            let e = std::io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::ENOBUFS) => {
                    shared.overflows[index].fetch_add(1, Ordering::Relaxed);
                }
                Some(libc::EAGAIN) | Some(libc::EINTR) => {}
                _ => break,
            }
            continue;
        }
        let evs = parse_route_msgs(&buf[..n as usize], t, index);
        if !evs.is_empty() {
            // Held for the append only: readers hold this lock just to move the list.
            let mut g = shared.incoming.lock().unwrap_or_else(|p| p.into_inner());
            g.extend(evs);
            shared.cond.notify_all();
        }
    }
    // SAFETY: closing our socket.
    unsafe { libc::close(fd) };
}

impl RouteMonitor {
    /// Starts one monitor per namespace name; returns once every socket is subscribed,
    /// so nothing that happens after this call is missed.
    pub(crate) fn start(netns: &[String]) -> Result<RouteMonitor, MonitorError> {
        let shared = Arc::new(MonitorShared {
            incoming: Mutex::new(Vec::new()),
            cond: Condvar::new(),
            events: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            overflows: netns.iter().map(|_| AtomicU64::new(0)).collect(),
        });
        let mut mon = RouteMonitor {
            shared: shared.clone(),
            threads: Vec::new(),
            names: netns.to_vec(),
        };
        for (index, name) in netns.iter().enumerate() {
            let (tx, rx) = mpsc::channel();
            let sh = shared.clone();
            let nm = name.clone();
            let h = std::thread::Builder::new()
                .name(format!("routes-{index}"))
                .spawn(move || match open_in(&nm) {
                    Ok(fd) => {
                        let _ = tx.send(Ok(()));
                        run(fd, index, &sh);
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                    }
                })
                .map_err(|e| MonitorError::Setup {
                    ns: name.clone(),
                    what: format!("thread: {e}"),
                })?;
            mon.threads.push(h);
            match rx.recv_timeout(Duration::from_secs(10)) {
                Ok(Ok(())) => {}
                Ok(Err(what)) => {
                    return Err(MonitorError::Setup {
                        ns: name.clone(),
                        what,
                    });
                }
                Err(_) => {
                    return Err(MonitorError::Setup {
                        ns: name.clone(),
                        what: "no answer from the monitor thread".into(),
                    });
                }
            }
        }
        Ok(mon)
    }

    /// Namespace name of index `i`.
    pub(crate) fn name(&self, i: usize) -> &str {
        self.names.get(i).map(String::as_str).unwrap_or("?")
    }

    /// ENOBUFS seen per namespace (notifications lost by the kernel): non-zero means
    /// the figures that depend on that namespace cannot be trusted.
    pub(crate) fn overflows(&self) -> Vec<u64> {
        self.shared
            .overflows
            .iter()
            .map(|o| o.load(Ordering::Relaxed))
            .collect()
    }

    /// The readers' list, with everything received so far moved into it.
    fn take_incoming(&self) -> MutexGuard<'_, Vec<RouteNote>> {
        let mut g = self.shared.events.lock().unwrap_or_else(|p| p.into_inner());
        self.move_incoming(&mut g);
        g
    }

    /// Moves what the threads received into `events` (the hand-over lock is held for
    /// the move only).
    fn move_incoming(&self, events: &mut Vec<RouteNote>) {
        let mut inc = self
            .shared
            .incoming
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        events.append(&mut inc);
    }

    /// Runs `f` over all events recorded so far.
    pub(crate) fn with_events<T>(&self, f: impl FnOnce(&[RouteNote]) -> T) -> T {
        f(&self.take_incoming())
    }

    /// Waits until `f` over the recorded events returns Some (woken by each new event,
    /// and at least every 100 ms), or `timeout` passes. `f` runs on the caller's list:
    /// however long it takes, the monitor threads go on receiving and timing.
    pub(crate) fn wait<T>(
        &self,
        timeout: Duration,
        mut f: impl FnMut(&[RouteNote]) -> Option<T>,
    ) -> Option<T> {
        let end = Instant::now() + timeout;
        let mut events = self.take_incoming();
        loop {
            if let Some(v) = f(&events) {
                return Some(v);
            }
            let now = Instant::now();
            if now >= end {
                return None;
            }
            let step = (end - now).min(Duration::from_millis(100));
            let inc = self
                .shared
                .incoming
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if inc.is_empty() {
                let _ = self.shared.cond.wait_timeout(inc, step);
            } else {
                drop(inc);
            }
            self.move_incoming(&mut events);
        }
    }

    /// Forgets events older than `t_ns` (keeps memory bounded over long runs).
    pub(crate) fn forget_before(&self, t_ns: i64) {
        self.take_incoming().retain(|e| e.t_ns >= t_ns);
    }
}

impl Drop for RouteMonitor {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for h in self.threads.drain(..) {
            let _ = h.join();
        }
    }
}

/// The first event in namespace `ns` at or after `after_ns` for `prefix` that adds
/// (`added`) or removes it, optionally with at least `min_nexthops` next hops.
pub(crate) fn first_event(
    events: &[RouteNote],
    ns: usize,
    prefix: &str,
    added: bool,
    min_nexthops: u16,
    after_ns: i64,
) -> Option<i64> {
    events
        .iter()
        .filter(|e| {
            e.ns == ns
                && e.added == added
                && e.t_ns >= after_ns
                && e.prefix == prefix
                && (!added || e.nexthops >= min_nexthops)
        })
        .map(|e| e.t_ns)
        .min()
}
