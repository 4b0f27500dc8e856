//! rtnetlink transport: one socket, dumps, and batched requests whose ACKs and errors
//! are matched to each request by sequence number.
//!
//! Owns: the netlink socket (opened through neli's `NlSocketHandle`, then used as a raw
//! `NlSocket` for byte-level send/recv) and its options. Message bytes are `codec`'s
//! (re-exported here); routes, addresses and links are `route`, `addr` and `tunnel`.
//!
//! Why bytes by hand: neli builds every message and attribute as separate heap objects,
//! and its typed attributes for routes differ between glibc and musl builds. Installing
//! a million routes needs hundreds of requests per `sendmsg` with ACKs matched by
//! sequence number, so requests are written straight into one reusable buffer here.

use std::fmt;
use std::io;
use std::os::unix::io::{AsRawFd, RawFd};

use neli::consts::socket::{Msg, NlFamily};
use neli::socket::NlSocket;
use neli::socket::synchronous::NlSocketHandle;
use neli::utils::Groups;

pub(crate) use super::codec::*;

const SOL_NETLINK: libc::c_int = 270;
const NETLINK_CAP_ACK: libc::c_int = 10;
const NETLINK_EXT_ACK: libc::c_int = 11;

/// Requests per `sendmsg` when every request is ACKed. More than ~256 ACKs queued at
/// once overflowed the default receive buffer on these machines; the socket also asks
/// for a larger buffer, so 256 keeps a wide margin.
pub(crate) const MAX_CHUNK: usize = 256;

/// Receive-buffer bytes budgeted per reply that may be queued (an error reply with its
/// extended-ACK text is a few hundred bytes of skb truesize; 1 KiB leaves a margin).
const BYTES_PER_REPLY: usize = 1024;

/// Longest wait for one reply before a request is reported as failed.
const RECV_TIMEOUT_SECS: i32 = 30;

/// Receive buffer asked for (SO_RCVBUFFORCE as root, else SO_RCVBUF capped by rmem_max).
const RCVBUF_BYTES: libc::c_int = 8 << 20;

/// Errors of the netlink transport.
#[derive(Debug)]
pub enum NetlinkError {
    /// Opening or configuring the socket failed.
    Open(String),
    /// `sendmsg`/`recvmsg` failed.
    Io(&'static str, io::Error),
    /// The kernel dropped replies (ENOBUFS): what happened to the requests is unknown.
    Overrun,
    /// A reply was malformed.
    Malformed(&'static str),
    /// A dump was refused or kept being interrupted.
    Dump(&'static str, Errno),
}

impl fmt::Display for NetlinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetlinkError::Open(e) => write!(f, "netlink socket: {e}"),
            NetlinkError::Io(what, e) => write!(f, "netlink {what}: {e}"),
            NetlinkError::Overrun => {
                f.write_str("netlink receive buffer overrun (ENOBUFS): replies were lost")
            }
            NetlinkError::Malformed(what) => write!(f, "malformed netlink reply: {what}"),
            NetlinkError::Dump(what, e) => write!(f, "netlink dump of {what} failed: {e}"),
        }
    }
}

impl std::error::Error for NetlinkError {}

/// A kernel error for one request: errno plus the extended-ACK text if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Errno {
    pub errno: i32,
    pub(crate) msg: Option<String>,
}

impl Errno {
    pub(crate) fn new(errno: i32) -> Errno {
        Errno { errno, msg: None }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let os = io::Error::from_raw_os_error(self.errno);
        match &self.msg {
            Some(m) => write!(f, "{os} ({m})"),
            None => write!(f, "{os}"),
        }
    }
}

/// How batched requests are sent.
///
/// Either way every request's outcome is known: the kernel answers every failed request
/// with an NLMSG_ERROR carrying its sequence number whether or not NLM_F_ACK was set,
/// processes requests in order, and the last request of each chunk is always ACKed, so
/// once that ACK is read every earlier request without an error reply succeeded.
#[derive(Clone, Copy, Debug)]
pub struct BatchOptions {
    /// Requests per `sendmsg`; also capped so that one reply per request fits the
    /// socket's receive buffer, and at `MAX_CHUNK` when `ack_each`.
    pub chunk: usize,
    /// Ask for an ACK on every request (the kernel then builds and queues one reply per
    /// request: measured ~40% more kernel time per route here). Default: off.
    pub ack_each: bool,
}

impl Default for BatchOptions {
    fn default() -> BatchOptions {
        BatchOptions {
            chunk: 1024,
            ack_each: false,
        }
    }
}

/// A request of a batch that the kernel refused: its index and the error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub(crate) index: usize,
    pub(crate) error: Errno,
}

/// A blocking rtnetlink request socket.
pub struct Netlink {
    sock: NlSocket,
    /// Replies that fit in the receive buffer at once.
    max_replies: usize,
    seq: u32,
    rx: Vec<u8>,
    tx: MsgWriter,
}

/// Opens a NETLINK_ROUTE socket through neli, joined to `groups` (group numbers).
pub(crate) fn open_socket(groups: &[u32]) -> Result<NlSocket, NetlinkError> {
    open_family(NlFamily::Route, groups)
}

/// Opens a netlink socket of `family` through neli, joined to `groups`.
fn open_family(family: NlFamily, groups: &[u32]) -> Result<NlSocket, NetlinkError> {
    let handle = NlSocketHandle::connect(family, None, Groups::new_groups(groups))
        .map_err(|e| NetlinkError::Open(e.to_string()))?;
    let sock = NlSocket::from(handle);
    let fd = sock.as_raw_fd();
    let rcvbuf = RCVBUF_BYTES;
    // SAFETY: setsockopt on a socket we own with a pointer to a live c_int of the size
    // given. SO_RCVBUFFORCE needs CAP_NET_ADMIN; without it fall back to SO_RCVBUF.
    let forced = unsafe { setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, rcvbuf) };
    if !forced {
        // SAFETY: as above.
        unsafe { setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, rcvbuf) };
    }
    // Short error replies (header only) with the kernel's error text. Both are optional.
    // SAFETY: as above.
    unsafe {
        setsockopt_int(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1);
        setsockopt_int(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1);
    }
    Ok(sock)
}

/// The port id a netlink socket is bound to.
pub(crate) fn port_id(fd: RawFd) -> Option<u32> {
    // SAFETY: an all-zero sockaddr_nl is a valid value of this plain C struct.
    let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
    // SAFETY: getsockname writes at most `len` bytes into `sa`, which outlives the call.
    let rc = unsafe { libc::getsockname(fd, (&mut sa as *mut libc::sockaddr_nl).cast(), &mut len) };
    (rc == 0 && sa.nl_family == libc::AF_NETLINK as libc::sa_family_t).then_some(sa.nl_pid)
}

/// The receive buffer the kernel actually granted (0 if unknown).
fn recv_buffer_bytes(sock: &NlSocket) -> usize {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `v`, which outlives the call.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc == 0 { v.max(0) as usize } else { 0 }
}

/// Bounds every blocking receive, so a lost reply is an error instead of a hang.
fn set_recv_timeout(sock: &NlSocket, secs: i32) -> Result<(), NetlinkError> {
    let tv = libc::timeval {
        tv_sec: secs.into(),
        tv_usec: 0,
    };
    // SAFETY: the pointer and length describe `tv`, which outlives the call.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(NetlinkError::Open(format!(
            "SO_RCVTIMEO: {}",
            io::Error::last_os_error()
        )));
    }
    Ok(())
}

/// # Safety
/// `fd` must be an open socket.
pub(crate) unsafe fn setsockopt_int(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    v: libc::c_int,
) -> bool {
    // SAFETY: the pointer and length describe `v`, which outlives the call.
    unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&v as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        ) == 0
    }
}

impl Netlink {
    /// A NETLINK_ROUTE request socket.
    pub fn open() -> Result<Netlink, NetlinkError> {
        Netlink::with_socket(open_socket(&[])?)
    }

    /// A NETLINK_GENERIC request socket (generic-netlink families such as `fou`).
    pub(crate) fn open_generic() -> Result<Netlink, NetlinkError> {
        Netlink::with_socket(open_family(NlFamily::Generic, &[])?)
    }

    fn with_socket(sock: NlSocket) -> Result<Netlink, NetlinkError> {
        set_recv_timeout(&sock, RECV_TIMEOUT_SECS)?;
        let max_replies = (recv_buffer_bytes(&sock) / BYTES_PER_REPLY).max(16);
        Ok(Netlink {
            sock,
            max_replies,
            seq: 1,
            rx: vec![0; 1 << 20],
            tx: MsgWriter::new(),
        })
    }

    /// The socket's netlink port id (the `nlmsg_pid` the kernel puts in the change
    /// notifications our requests cause).
    pub(crate) fn port_id(&self) -> Option<u32> {
        port_id(self.sock.as_raw_fd())
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1).max(1);
        self.seq
    }

    fn recv(&mut self) -> Result<usize, NetlinkError> {
        loop {
            match self.sock.recv(&mut self.rx[..], Msg::empty()) {
                Ok((n, _)) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    return Err(NetlinkError::Overrun);
                }
                Err(e) => return Err(NetlinkError::Io("recv", e)),
            }
        }
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), NetlinkError> {
        loop {
            match self.sock.send(bytes, Msg::empty()) {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(NetlinkError::Io("send", e)),
            }
        }
    }

    /// Sends one dump request (built by `build` into a writer; flags REQUEST|DUMP are
    /// set here) and calls `each` with every reply message. An interrupted dump (the
    /// table changed meanwhile) is retried up to three times; `reset` is called before
    /// each retry so the caller can drop what it collected.
    pub(crate) fn dump(
        &mut self,
        what: &'static str,
        build: &dyn Fn(&mut MsgWriter),
        reset: &mut dyn FnMut(),
        each: &mut dyn FnMut(&NlMsg<'_>),
    ) -> Result<(), NetlinkError> {
        for _attempt in 0..3 {
            let seq = self.next_seq();
            let mut w = std::mem::take(&mut self.tx);
            w.buf.clear();
            build(&mut w);
            if w.buf.len() >= NLMSG_HDR_LEN {
                w.buf[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
                w.buf[8..12].copy_from_slice(&seq.to_ne_bytes());
            }
            let sent = self.send(&w.buf);
            self.tx = w;
            sent?;
            let mut interrupted = false;
            'recv: loop {
                let n = self.recv()?;
                let rx = std::mem::take(&mut self.rx);
                let mut result = Ok(false);
                for m in messages(&rx[..n]) {
                    let m = match m {
                        Ok(m) => m,
                        Err(e) => {
                            result = Err(e);
                            break;
                        }
                    };
                    if m.seq != seq {
                        continue;
                    }
                    if m.flags & NLM_F_DUMP_INTR != 0 {
                        interrupted = true;
                    }
                    match m.msg_type {
                        NLMSG_DONE => {
                            result = Ok(true);
                            break;
                        }
                        NLMSG_ERROR => {
                            result = match parse_error(m.flags, m.payload) {
                                Ok((0, _)) => Ok(true),
                                Ok((errno, msg)) => {
                                    Err(NetlinkError::Dump(what, Errno { errno, msg }))
                                }
                                Err(e) => Err(e),
                            };
                            break;
                        }
                        NLMSG_OVERRUN => {
                            result = Err(NetlinkError::Overrun);
                            break;
                        }
                        _ if !interrupted => each(&m),
                        _ => {}
                    }
                }
                self.rx = rx;
                if result? {
                    break 'recv;
                }
            }
            if !interrupted {
                return Ok(());
            }
            reset();
        }
        Err(NetlinkError::Dump(what, Errno::new(libc::EINTR)))
    }

    /// Sends `n` requests, many per `sendmsg`, and returns the ones the kernel refused.
    /// `encode(i, w)` writes request `i` with `MsgWriter::begin`/`end`; sequence numbers
    /// and NLM_F_ACK are filled in here (see `send_requests`).
    pub(crate) fn batch(
        &mut self,
        n: usize,
        opts: BatchOptions,
        encode: &mut dyn FnMut(usize, &mut MsgWriter),
    ) -> Result<Vec<Failure>, NetlinkError> {
        let mut w = std::mem::take(&mut self.tx);
        w.buf.clear();
        for i in 0..n {
            let at = w.buf.len();
            encode(i, &mut w);
            if w.buf.len() < at + NLMSG_HDR_LEN {
                self.tx = w;
                return Err(NetlinkError::Malformed("encoder wrote no message"));
            }
        }
        let result = self.send_requests(&mut w.buf, opts);
        self.tx = w;
        result
    }

    /// Sends already encoded requests (complete netlink messages back to back), many per
    /// `sendmsg`, and returns the ones the kernel refused, by their index in `requests`.
    /// Sequence numbers and NLM_F_ACK are written into the buffer here. Every reply is
    /// matched to its request by sequence number; replies are drained after each chunk
    /// so the receive buffer never holds more than one chunk's worth.
    pub(crate) fn send_requests(
        &mut self,
        requests: &mut [u8],
        opts: BatchOptions,
    ) -> Result<Vec<Failure>, NetlinkError> {
        let offsets = request_offsets(requests)?;
        let mut chunk = opts.chunk.clamp(1, self.max_replies);
        if opts.ack_each {
            chunk = chunk.min(MAX_CHUNK);
        }
        let mut failures = Vec::new();
        for (c, group) in offsets.chunks(chunk).enumerate() {
            let first_seq = self.seq.wrapping_add(1);
            for (k, &at) in group.iter().enumerate() {
                let seq = first_seq.wrapping_add(k as u32);
                let mut flags = u16::from_ne_bytes([requests[at + 6], requests[at + 7]]);
                if opts.ack_each || k + 1 == group.len() {
                    flags |= NLM_F_ACK;
                } else {
                    flags &= !NLM_F_ACK;
                }
                requests[at + 6..at + 8].copy_from_slice(&flags.to_ne_bytes());
                requests[at + 8..at + 12].copy_from_slice(&seq.to_ne_bytes());
            }
            self.seq = first_seq.wrapping_add(group.len() as u32 - 1);
            let last_seq = self.seq;
            let (Some(&start), Some(&last)) = (group.first(), group.last()) else {
                continue;
            };
            let end = last + u32_at(requests, last).unwrap_or(0) as usize;
            self.send(&requests[start..end.min(requests.len())])?;
            self.drain_acks(first_seq, last_seq, c * chunk, &mut failures)?;
        }
        Ok(failures)
    }

    /// Reads replies until the reply to `last_seq` arrived, recording every error whose
    /// sequence number lies in `first_seq..=last_seq` as a failure of request
    /// `base + (seq - first_seq)`.
    fn drain_acks(
        &mut self,
        first_seq: u32,
        last_seq: u32,
        base: usize,
        failures: &mut Vec<Failure>,
    ) -> Result<(), NetlinkError> {
        loop {
            let n = self.recv()?;
            let done = read_acks(&self.rx[..n], first_seq, last_seq, base, failures)?;
            if done {
                return Ok(());
            }
        }
    }

    /// One request whose answer is a message (a `get` without NLM_F_DUMP): returns the
    /// payload of the first reply that is not an ACK, or the kernel's error.
    pub(crate) fn query(
        &mut self,
        encode: &mut dyn FnMut(&mut MsgWriter),
    ) -> Result<Vec<u8>, Errno> {
        let io = |e: NetlinkError| Errno {
            errno: libc::EIO,
            msg: Some(e.to_string()),
        };
        let seq = self.next_seq();
        let mut w = std::mem::take(&mut self.tx);
        w.buf.clear();
        encode(&mut w);
        if w.buf.len() < NLMSG_HDR_LEN {
            self.tx = w;
            return Err(io(NetlinkError::Malformed("encoder wrote no message")));
        }
        let flags = u16::from_ne_bytes([w.buf[6], w.buf[7]]) | NLM_F_ACK;
        w.buf[6..8].copy_from_slice(&flags.to_ne_bytes());
        w.buf[8..12].copy_from_slice(&seq.to_ne_bytes());
        let sent = self.send(&w.buf);
        self.tx = w;
        sent.map_err(io)?;
        let mut reply: Option<Vec<u8>> = None;
        loop {
            let n = self.recv().map_err(io)?;
            let mut outcome = None;
            for m in messages(&self.rx[..n]) {
                let m = m.map_err(io)?;
                if m.seq != seq {
                    continue;
                }
                if m.msg_type != NLMSG_ERROR {
                    reply.get_or_insert_with(|| m.payload.to_vec());
                    continue;
                }
                outcome = Some(match parse_error(m.flags, m.payload).map_err(io)? {
                    (0, _) => Ok(()),
                    (errno, msg) => Err(Errno { errno, msg }),
                });
                break;
            }
            match outcome {
                Some(Ok(())) => {
                    return reply.ok_or_else(|| io(NetlinkError::Malformed("ACK without a reply")));
                }
                Some(Err(e)) => return Err(e),
                None => {}
            }
        }
    }

    /// One request, waiting for its ACK.
    pub(crate) fn request(&mut self, encode: &mut dyn FnMut(&mut MsgWriter)) -> Result<(), Errno> {
        let failures = self
            .batch(1, BatchOptions::default(), &mut |_, w| encode(w))
            .map_err(|e| Errno {
                errno: libc::EIO,
                msg: Some(e.to_string()),
            })?;
        match failures.into_iter().next() {
            Some(f) => Err(f.error),
            None => Ok(()),
        }
    }
}

/// Reads one buffer of replies to a chunk of requests sent with sequence numbers
/// `first_seq..=last_seq`: records every error as a failure of request `base + (seq -
/// first_seq)`; true once the reply to `last_seq` was read (the chunk is answered).
/// Replies to anything else are skipped.
pub(crate) fn read_acks(
    rx: &[u8],
    first_seq: u32,
    last_seq: u32,
    base: usize,
    failures: &mut Vec<Failure>,
) -> Result<bool, NetlinkError> {
    let span = last_seq.wrapping_sub(first_seq);
    let mut done = false;
    for m in messages(rx) {
        let m = m?;
        let off = m.seq.wrapping_sub(first_seq);
        if m.msg_type != NLMSG_ERROR || off > span {
            continue;
        }
        match parse_error(m.flags, m.payload)? {
            (0, _) => {}
            (errno, msg) => failures.push(Failure {
                index: base + off as usize,
                error: Errno { errno, msg },
            }),
        }
        if m.seq == last_seq {
            done = true;
        }
    }
    Ok(done)
}

/// The start of each message in a buffer of requests; an error if a length field does
/// not describe a whole message.
pub(crate) fn request_offsets(buf: &[u8]) -> Result<Vec<usize>, NetlinkError> {
    let mut offsets = Vec::new();
    let mut at = 0;
    while at < buf.len() {
        let len = u32_at(buf, at).unwrap_or(0) as usize;
        if len < NLMSG_HDR_LEN || at + len > buf.len() {
            return Err(NetlinkError::Malformed("request with a bad length"));
        }
        offsets.push(at);
        at += (len + 3) & !3;
    }
    Ok(offsets)
}

/// A socket that answers rtnetlink dumps (RTM_GET* with NLM_F_DUMP): the address,
/// route and nexthop-object dumps are written against this, so they read the host's
/// kernel through `Netlink` or a simulated one through its port alike.
pub trait DumpSource {
    /// Sends the dump request `build` writes (REQUEST|DUMP and the sequence number are
    /// set by the source) and calls `each` with every reply message; `reset` before a
    /// restart of an interrupted dump. See `Netlink::dump`.
    fn dump(
        &mut self,
        what: &'static str,
        build: &dyn Fn(&mut MsgWriter),
        reset: &mut dyn FnMut(),
        each: &mut dyn FnMut(&NlMsg<'_>),
    ) -> Result<(), NetlinkError>;
}

impl DumpSource for Netlink {
    fn dump(
        &mut self,
        what: &'static str,
        build: &dyn Fn(&mut MsgWriter),
        reset: &mut dyn FnMut(),
        each: &mut dyn FnMut(&NlMsg<'_>),
    ) -> Result<(), NetlinkError> {
        Netlink::dump(self, what, build, reset, each)
    }
}

/// A netlink request socket as the overlay's link, rule and FoU code uses it: one
/// request answered by an ACK, one `get` answered by a message, dumps (its
/// [`DumpSource`]). [`Netlink`] is the host's socket; a simulated kernel (tests) answers
/// the same bytes itself.
pub trait NetlinkRequests: DumpSource {
    /// See `Netlink::request`.
    fn request(&mut self, encode: &mut dyn FnMut(&mut MsgWriter)) -> Result<(), Errno>;
    /// See `Netlink::query`.
    fn query(&mut self, encode: &mut dyn FnMut(&mut MsgWriter)) -> Result<Vec<u8>, Errno>;
    /// The socket's netlink port id (the sender of the notifications its requests cause).
    fn port_id(&self) -> Option<u32>;
}

impl NetlinkRequests for Netlink {
    fn request(&mut self, encode: &mut dyn FnMut(&mut MsgWriter)) -> Result<(), Errno> {
        Netlink::request(self, encode)
    }

    fn query(&mut self, encode: &mut dyn FnMut(&mut MsgWriter)) -> Result<Vec<u8>, Errno> {
        Netlink::query(self, encode)
    }

    fn port_id(&self) -> Option<u32> {
        Netlink::port_id(self)
    }
}

impl AsRawFd for Netlink {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}
