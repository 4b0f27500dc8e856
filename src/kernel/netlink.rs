//! rtnetlink transport: one socket, message encoding/decoding, dumps, and batched
//! requests whose ACKs and errors are matched to each request by sequence number.
//!
//! Owns: the netlink socket (opened through neli's `NlSocketHandle`, then used as a raw
//! `NlSocket` for byte-level send/recv), the small message writer and the bounds-checked
//! message/attribute readers. Knows nothing about routes, addresses or links beyond the
//! numeric constants; those live in `route`, `addr` and `tunnel`.
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

pub const NLMSG_HDR_LEN: usize = 16;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const NLMSG_OVERRUN: u16 = 4;

pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_MULTI: u16 = 0x2;
pub const NLM_F_ACK: u16 = 0x4;
pub const NLM_F_DUMP_INTR: u16 = 0x10;
pub const NLM_F_ROOT: u16 = 0x100;
pub const NLM_F_MATCH: u16 = 0x200;
pub const NLM_F_DUMP: u16 = NLM_F_ROOT | NLM_F_MATCH;
pub const NLM_F_REPLACE: u16 = 0x100;
pub const NLM_F_EXCL: u16 = 0x200;
pub const NLM_F_CREATE: u16 = 0x400;
/// In an NLMSG_ERROR: the echoed request is only its header.
pub const NLM_F_CAPPED: u16 = 0x100;
/// In an NLMSG_ERROR: extended-ACK attributes follow the echoed request.
pub const NLM_F_ACK_TLVS: u16 = 0x200;
const NLMSGERR_ATTR_MSG: u16 = 1;

const SOL_NETLINK: libc::c_int = 270;
const NETLINK_CAP_ACK: libc::c_int = 10;
const NETLINK_EXT_ACK: libc::c_int = 11;

pub const AF_INET: u8 = libc::AF_INET as u8;
pub const AF_INET6: u8 = libc::AF_INET6 as u8;

/// Requests per `sendmsg` when every request is ACKed. More than ~256 ACKs queued at
/// once overflowed the default receive buffer on these machines; the socket also asks
/// for a larger buffer, so 256 keeps a wide margin.
pub const MAX_CHUNK: usize = 256;

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
    pub msg: Option<String>,
}

impl Errno {
    pub fn new(errno: i32) -> Errno {
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

/// Writes netlink messages into a byte buffer: header, fixed family header, attributes
/// (nested with `begin_nest`/`end_nest`). Lengths are patched when a message or nest
/// ends, so nothing is counted by hand.
#[derive(Default)]
pub struct MsgWriter {
    pub buf: Vec<u8>,
    start: usize,
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

impl MsgWriter {
    pub fn new() -> MsgWriter {
        MsgWriter::default()
    }

    /// Starts a message (seq 0, pid 0; `Netlink` fills the sequence number in).
    pub fn begin(&mut self, msg_type: u16, flags: u16) {
        self.start = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        self.buf.extend_from_slice(&msg_type.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&[0; 8]);
    }

    /// Appends raw bytes (a family header such as `rtmsg`), padded to 4.
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        self.pad();
    }

    fn pad(&mut self) {
        let want = align4(self.buf.len());
        self.buf.resize(want, 0);
    }

    /// Appends one attribute.
    pub fn attr(&mut self, kind: u16, data: &[u8]) {
        let len = (4 + data.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
    }

    pub fn attr_u8(&mut self, kind: u16, v: u8) {
        self.attr(kind, &[v]);
    }

    pub fn attr_u16(&mut self, kind: u16, v: u16) {
        self.attr(kind, &v.to_ne_bytes());
    }

    pub fn attr_u32(&mut self, kind: u16, v: u32) {
        self.attr(kind, &v.to_ne_bytes());
    }

    /// A NUL-terminated string attribute.
    pub fn attr_str(&mut self, kind: u16, s: &str) {
        let len = (4 + s.len() + 1) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
        self.pad();
    }

    /// Opens a nested attribute; returns its offset for `end_nest`.
    pub fn begin_nest(&mut self, kind: u16) -> usize {
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        at
    }

    pub fn end_nest(&mut self, at: usize) {
        let len = (self.buf.len() - at) as u16;
        self.buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
    }

    /// Closes the current message, writing its length.
    pub fn end(&mut self) {
        let len = (self.buf.len() - self.start) as u32;
        self.buf[self.start..self.start + 4].copy_from_slice(&len.to_ne_bytes());
    }

    /// The bytes written so far, leaving the writer empty.
    pub fn take(&mut self) -> Vec<u8> {
        self.start = 0;
        std::mem::take(&mut self.buf)
    }
}

/// One message read from a reply buffer.
#[derive(Clone, Copy, Debug)]
pub struct NlMsg<'a> {
    pub msg_type: u16,
    pub flags: u16,
    pub seq: u32,
    pub payload: &'a [u8],
}

/// Iterates over the messages of a buffer; stops (yielding an error) at a bad length.
pub struct Messages<'a> {
    buf: &'a [u8],
}

pub fn messages(buf: &[u8]) -> Messages<'_> {
    Messages { buf }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

pub fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<NlMsg<'a>, NetlinkError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.len() < NLMSG_HDR_LEN {
            return None;
        }
        let b = self.buf;
        let (Some(len), Some(msg_type), Some(flags), Some(seq)) =
            (u32_at(b, 0), u16_at(b, 4), u16_at(b, 6), u32_at(b, 8))
        else {
            return None;
        };
        let len = len as usize;
        if len < NLMSG_HDR_LEN || len > b.len() {
            self.buf = &[];
            return Some(Err(NetlinkError::Malformed("message length")));
        }
        let payload = &b[NLMSG_HDR_LEN..len];
        self.buf = b.get(align4(len)..).unwrap_or(&[]);
        Some(Ok(NlMsg {
            msg_type,
            flags,
            seq,
            payload,
        }))
    }
}

/// Iterates over `(type, data)` of the attributes in `buf` (nested flag bits cleared);
/// stops at the first malformed attribute.
pub struct Attrs<'a> {
    buf: &'a [u8],
}

pub fn attrs(buf: &[u8]) -> Attrs<'_> {
    Attrs { buf }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let b = self.buf;
        let len = u16_at(b, 0)? as usize;
        let kind = u16_at(b, 2)? & 0x3fff;
        if len < 4 || len > b.len() {
            self.buf = &[];
            return None;
        }
        let data = &b[4..len];
        self.buf = b.get(align4(len)..).unwrap_or(&[]);
        Some((kind, data))
    }
}

/// Parses the payload of an NLMSG_ERROR: `(errno as positive number or 0, ext-ack text)`.
pub fn parse_error(flags: u16, payload: &[u8]) -> Result<(i32, Option<String>), NetlinkError> {
    let code = u32_at(payload, 0).ok_or(NetlinkError::Malformed("short NLMSG_ERROR"))? as i32;
    let mut msg = None;
    if flags & NLM_F_ACK_TLVS != 0 {
        let echoed = if flags & NLM_F_CAPPED != 0 {
            NLMSG_HDR_LEN
        } else {
            u32_at(payload, 4).unwrap_or(0) as usize
        };
        if let Some(tlvs) = payload.get(4 + align4(echoed)..) {
            for (kind, data) in attrs(tlvs) {
                if kind == NLMSGERR_ATTR_MSG {
                    let text = data.split(|&c| c == 0).next().unwrap_or(&[]);
                    msg = Some(String::from_utf8_lossy(text).into_owned());
                }
            }
        }
    }
    Ok((-code, msg))
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
    pub index: usize,
    pub error: Errno,
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
    let handle = NlSocketHandle::connect(NlFamily::Route, None, Groups::new_groups(groups))
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
unsafe fn setsockopt_int(fd: RawFd, level: libc::c_int, name: libc::c_int, v: libc::c_int) -> bool {
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
    pub fn open() -> Result<Netlink, NetlinkError> {
        let sock = open_socket(&[])?;
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
    pub fn dump(
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
    /// and NLM_F_ACK are filled in here. Every reply is matched to its request by
    /// sequence number; replies are drained after each chunk so the receive buffer
    /// never holds more than one chunk's worth.
    pub fn batch(
        &mut self,
        n: usize,
        opts: BatchOptions,
        encode: &mut dyn FnMut(usize, &mut MsgWriter),
    ) -> Result<Vec<Failure>, NetlinkError> {
        let mut chunk = opts.chunk.clamp(1, self.max_replies);
        if opts.ack_each {
            chunk = chunk.min(MAX_CHUNK);
        }
        let mut failures = Vec::new();
        let mut w = std::mem::take(&mut self.tx);
        let mut start = 0;
        let mut result = Ok(());
        while start < n {
            let end = (start + chunk).min(n);
            w.buf.clear();
            let first_seq = self.seq.wrapping_add(1);
            let mut offsets = Vec::with_capacity(end - start);
            for i in start..end {
                let at = w.buf.len();
                encode(i, &mut w);
                if w.buf.len() < at + NLMSG_HDR_LEN {
                    result = Err(NetlinkError::Malformed("encoder wrote no message"));
                    break;
                }
                offsets.push(at);
            }
            if result.is_err() {
                break;
            }
            for (k, &at) in offsets.iter().enumerate() {
                let seq = first_seq.wrapping_add(k as u32);
                let mut flags = u16::from_ne_bytes([w.buf[at + 6], w.buf[at + 7]]);
                if opts.ack_each || k + 1 == offsets.len() {
                    flags |= NLM_F_ACK;
                }
                w.buf[at + 6..at + 8].copy_from_slice(&flags.to_ne_bytes());
                w.buf[at + 8..at + 12].copy_from_slice(&seq.to_ne_bytes());
            }
            self.seq = first_seq.wrapping_add(offsets.len() as u32 - 1);
            let last_seq = self.seq;
            if let Err(e) = self.send(&w.buf) {
                result = Err(e);
                break;
            }
            if let Err(e) = self.drain_acks(first_seq, last_seq, start, &mut failures) {
                result = Err(e);
                break;
            }
            start = end;
        }
        self.tx = w;
        result.map(|()| failures)
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
        let span = last_seq.wrapping_sub(first_seq);
        loop {
            let n = self.recv()?;
            let rx = std::mem::take(&mut self.rx);
            let mut done = false;
            let mut bad = None;
            for m in messages(&rx[..n]) {
                let m = match m {
                    Ok(m) => m,
                    Err(e) => {
                        bad = Some(e);
                        break;
                    }
                };
                let off = m.seq.wrapping_sub(first_seq);
                if m.msg_type != NLMSG_ERROR || off > span {
                    continue;
                }
                match parse_error(m.flags, m.payload) {
                    Ok((0, _)) => {}
                    Ok((errno, msg)) => failures.push(Failure {
                        index: base + off as usize,
                        error: Errno { errno, msg },
                    }),
                    Err(e) => {
                        bad = Some(e);
                        break;
                    }
                }
                if m.seq == last_seq {
                    done = true;
                }
            }
            self.rx = rx;
            if let Some(e) = bad {
                return Err(e);
            }
            if done {
                return Ok(());
            }
        }
    }

    /// One request, waiting for its ACK.
    pub fn request(&mut self, encode: &mut dyn FnMut(&mut MsgWriter)) -> Result<(), Errno> {
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

impl AsRawFd for Netlink {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_patches_lengths_and_pads() {
        let mut w = MsgWriter::new();
        w.begin(24, NLM_F_REQUEST);
        w.raw(&[1, 2, 3]);
        w.attr_str(3, "ab");
        let n = w.begin_nest(18);
        w.attr_u8(9, 7);
        w.end_nest(n);
        w.end();
        let b = w.take();
        // header 16 + raw 3 (+1 pad) + "ab\0" attr 7 (+1 pad) + nest 4 + u8 attr 5 (+3 pad)
        assert_eq!(b.len(), 16 + 4 + 8 + 4 + 8);
        assert_eq!(u32_at(&b, 0), Some(b.len() as u32));
        let m: Vec<_> = messages(&b).collect::<Result<_, _>>().expect("parse");
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].msg_type, 24);
        let a: Vec<_> = attrs(&m[0].payload[4..]).collect();
        assert_eq!(a[0], (3, &b"ab\0"[..]));
        assert_eq!(a[1].0, 18);
        assert_eq!(a[1].1.len(), 8 + 4 - 4);
        let inner: Vec<_> = attrs(a[1].1).collect();
        assert_eq!(inner, vec![(9, &[7u8][..])]);
    }

    #[test]
    fn truncated_and_bogus_lengths_do_not_panic() {
        let mut w = MsgWriter::new();
        w.begin(24, 0);
        w.attr_u32(1, 5);
        w.end();
        let b = w.take();
        for cut in 0..b.len() {
            let _ = messages(&b[..cut]).count();
            let _ = attrs(&b[..cut]).count();
        }
        let mut bad = b.clone();
        bad[0..4].copy_from_slice(&4u32.to_ne_bytes());
        assert!(matches!(messages(&bad).next(), Some(Err(_))));
        let mut bad = b;
        bad[16..18].copy_from_slice(&200u16.to_ne_bytes());
        assert_eq!(attrs(&bad[16..]).count(), 0);
    }

    #[test]
    fn error_payload_with_ext_ack_text() {
        // error -101, capped echo of a 16-byte header, then NLMSGERR_ATTR_MSG.
        let mut p = Vec::new();
        p.extend_from_slice(&(-101i32).to_ne_bytes());
        p.extend_from_slice(&[0; 16]);
        p.extend_from_slice(&13u16.to_ne_bytes());
        p.extend_from_slice(&1u16.to_ne_bytes());
        p.extend_from_slice(b"Nexthop\0\0\0\0\0");
        let (e, m) = parse_error(NLM_F_CAPPED | NLM_F_ACK_TLVS, &p).expect("parse");
        assert_eq!(e, 101);
        assert_eq!(m.as_deref(), Some("Nexthop"));
        let (e, m) = parse_error(0, &0i32.to_ne_bytes()).expect("ack");
        assert_eq!((e, m), (0, None));
        assert!(parse_error(0, &[1, 2]).is_err());
    }
}
