//! The NETLINK_NETFILTER socket: nftables batches, dumps and single requests (nftables
//! and ipset), and the notification subscription to nftables changes.
//!
//! Owns: the socket, sequence numbers and matching replies to requests. A batch is sent
//! as `nft` sends it: no ACK requested per message; the kernel processes the batch
//! inside `sendmsg` and queues an error for every message it refuses (and then aborts
//! the whole transaction), so once `sendmsg` returns, draining the socket without
//! waiting yields every error there is. Every receive is bounded by a timeout.

use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::kernel::codec::{NLMSG_DONE, NLMSG_ERROR, NLMSG_HDR_LEN, messages, parse_error, u32_at};
use crate::kernel::netlink::{Errno, port_id, setsockopt_int};

use super::nfmsg::{NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};

const NETLINK_NETFILTER: libc::c_int = 12;
/// NFNLGRP_NFTABLES: every nftables ruleset change.
pub(crate) const NFNLGRP_NFTABLES: u32 = 7;
const SOL_NETLINK: libc::c_int = 270;
const NETLINK_ADD_MEMBERSHIP: libc::c_int = 1;
const NETLINK_EXT_ACK: libc::c_int = 11;
const BUF_BYTES: libc::c_int = 4 << 20;
const RECV_TIMEOUT_SECS: i32 = 5;

/// What went wrong talking to netfilter.
#[derive(Debug)]
pub(crate) enum NfError {
    Io(&'static str, io::Error),
    /// The kernel refused a request (or message `index` of a batch).
    Kernel {
        index: usize,
        error: Errno,
    },
    Malformed(&'static str),
}

impl fmt::Display for NfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NfError::Io(what, e) => write!(f, "netfilter netlink {what}: {e}"),
            NfError::Kernel { index: 0, error } => write!(f, "{error}"),
            NfError::Kernel { index, error } => write!(f, "message {index} of the batch: {error}"),
            NfError::Malformed(what) => write!(f, "malformed netfilter reply: {what}"),
        }
    }
}

impl NfError {
    /// The kernel's errno, if the kernel refused.
    pub(crate) fn errno(&self) -> Option<i32> {
        match self {
            NfError::Kernel { error, .. } => Some(error.errno),
            _ => None,
        }
    }
}

/// A netfilter netlink socket.
pub(crate) struct NfSock {
    fd: OwnedFd,
    seq: u32,
    rx: Vec<u8>,
}

impl NfSock {
    /// Opens a netfilter socket for requests (blocking, receives bounded by a timeout),
    /// or, with `groups`, a non-blocking subscription to those multicast groups.
    pub(crate) fn open(groups: &[u32]) -> Result<NfSock, NfError> {
        NfSock::open_proto(NETLINK_NETFILTER, groups)
    }

    /// The same for another netlink protocol (the link-change subscription uses
    /// NETLINK_ROUTE).
    pub(crate) fn open_proto(proto: libc::c_int, groups: &[u32]) -> Result<NfSock, NfError> {
        let mut kind = libc::SOCK_RAW | libc::SOCK_CLOEXEC;
        if !groups.is_empty() {
            kind |= libc::SOCK_NONBLOCK;
        }
        // SAFETY: plain socket(2) call; the result is checked before use.
        let raw = unsafe { libc::socket(libc::AF_NETLINK, kind, proto) };
        if raw < 0 {
            return Err(NfError::Io("socket", io::Error::last_os_error()));
        }
        // SAFETY: `raw` is a fresh descriptor owned by nothing else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: an all-zero sockaddr_nl is valid; nl_family is set below.
        let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: the pointer and length describe `sa`, which outlives the call.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&sa as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(NfError::Io("bind", io::Error::last_os_error()));
        }
        let fdn = fd.as_raw_fd();
        // SAFETY: setsockopt on our own socket with c_int values (below as well).
        unsafe {
            if !setsockopt_int(fdn, libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, BUF_BYTES) {
                setsockopt_int(fdn, libc::SOL_SOCKET, libc::SO_SNDBUF, BUF_BYTES);
            }
            if !setsockopt_int(fdn, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, BUF_BYTES) {
                setsockopt_int(fdn, libc::SOL_SOCKET, libc::SO_RCVBUF, BUF_BYTES);
            }
            setsockopt_int(fdn, SOL_NETLINK, NETLINK_EXT_ACK, 1);
        }
        for g in groups {
            // SAFETY: as above.
            if !unsafe {
                setsockopt_int(fdn, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, *g as libc::c_int)
            } {
                return Err(NfError::Io("join group", io::Error::last_os_error()));
            }
        }
        if groups.is_empty() {
            let tv = libc::timeval {
                tv_sec: RECV_TIMEOUT_SECS.into(),
                tv_usec: 0,
            };
            // SAFETY: the pointer and length describe `tv`, which outlives the call.
            unsafe {
                libc::setsockopt(
                    fdn,
                    libc::SOL_SOCKET,
                    libc::SO_RCVTIMEO,
                    (&tv as *const libc::timeval).cast(),
                    std::mem::size_of::<libc::timeval>() as libc::socklen_t,
                );
            }
        }
        Ok(NfSock {
            fd,
            seq: 1,
            rx: vec![0; 1 << 20],
        })
    }

    /// The port id the kernel puts in notifications our requests cause.
    pub(crate) fn port_id(&self) -> Option<u32> {
        port_id(self.fd.as_raw_fd())
    }

    fn send(&self, buf: &[u8]) -> Result<(), NfError> {
        loop {
            // SAFETY: the pointer and length describe `buf`.
            let n = unsafe { libc::send(self.fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), 0) };
            if n >= 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(NfError::Io("send", e));
            }
        }
    }

    /// One receive into the buffer; `Ok(None)` when nothing is waiting and `wait` is
    /// false (or the timeout passed).
    fn recv(&mut self, wait: bool) -> Result<Option<usize>, NfError> {
        let flags = if wait { 0 } else { libc::MSG_DONTWAIT };
        loop {
            // SAFETY: the pointer and length describe `self.rx`.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    self.rx.as_mut_ptr().cast(),
                    self.rx.len(),
                    flags,
                )
            };
            if n >= 0 {
                return Ok(Some(n as usize));
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => return Ok(None),
                _ => return Err(NfError::Io("recv", e)),
            }
        }
    }

    /// Numbers the messages of `buf` (back to back) from the next sequence number;
    /// returns the first sequence number and the count.
    fn number(&mut self, buf: &mut [u8]) -> Result<(u32, usize), NfError> {
        let first = self.seq;
        let mut at = 0;
        let mut n = 0usize;
        while at < buf.len() {
            let len = u32_at(buf, at).unwrap_or(0) as usize;
            if len < NLMSG_HDR_LEN || at + len > buf.len() {
                return Err(NfError::Malformed("request with a bad length"));
            }
            let seq = first.wrapping_add(n as u32);
            buf[at + 8..at + 12].copy_from_slice(&seq.to_ne_bytes());
            n += 1;
            at += (len + 3) & !3;
        }
        self.seq = first.wrapping_add(n as u32).max(1);
        Ok((first, n))
    }

    /// Sends a batch (begin, messages, end) and returns the first refusal, if any.
    pub(crate) fn batch(&mut self, mut buf: Vec<u8>) -> Result<(), NfError> {
        // Drop anything stale (a late reply to an earlier request).
        while self.recv(false)?.is_some() {}
        let (first, count) = self.number(&mut buf)?;
        self.send(&buf)?;
        let mut refused: Option<NfError> = None;
        while let Some(n) = self.recv(false)? {
            for m in messages(&self.rx[..n]) {
                let m = m.map_err(|_| NfError::Malformed("message length"))?;
                let index = m.seq.wrapping_sub(first) as usize;
                if m.msg_type != NLMSG_ERROR || index >= count {
                    continue;
                }
                let (errno, msg) =
                    parse_error(m.flags, m.payload).map_err(|_| NfError::Malformed("error"))?;
                if errno != 0 && refused.is_none() {
                    refused = Some(NfError::Kernel {
                        index,
                        error: Errno { errno, msg },
                    });
                }
            }
        }
        refused.map_or(Ok(()), Err)
    }

    /// Sends one request (flags REQUEST|ACK are set here, DUMP when `dump`) and
    /// returns the payloads of its replies, until the ACK (or NLMSG_DONE for a dump).
    pub(crate) fn request(
        &mut self,
        mut msg: Vec<u8>,
        dump: bool,
    ) -> Result<Vec<Vec<u8>>, NfError> {
        if msg.len() < NLMSG_HDR_LEN {
            return Err(NfError::Malformed("request too short"));
        }
        let mut flags = u16::from_ne_bytes([msg[6], msg[7]]) | NLM_F_REQUEST | NLM_F_ACK;
        if dump {
            flags |= NLM_F_DUMP;
        }
        msg[6..8].copy_from_slice(&flags.to_ne_bytes());
        while self.recv(false)?.is_some() {}
        let (seq, _) = self.number(&mut msg)?;
        self.send(&msg)?;
        let mut out = Vec::new();
        loop {
            let Some(n) = self.recv(true)? else {
                return Err(NfError::Io(
                    "recv",
                    io::Error::new(io::ErrorKind::TimedOut, "no answer from the kernel"),
                ));
            };
            for m in messages(&self.rx[..n]) {
                let m = m.map_err(|_| NfError::Malformed("message length"))?;
                if m.seq != seq {
                    continue;
                }
                match m.msg_type {
                    NLMSG_DONE => return Ok(out),
                    NLMSG_ERROR => {
                        let (errno, msg) = parse_error(m.flags, m.payload)
                            .map_err(|_| NfError::Malformed("error"))?;
                        if errno == 0 {
                            // A dump ends with DONE (then the ACK); a request with the ACK.
                            if !dump {
                                return Ok(out);
                            }
                            continue;
                        }
                        return Err(NfError::Kernel {
                            index: 0,
                            error: Errno { errno, msg },
                        });
                    }
                    _ => out.push(m.payload.to_vec()),
                }
            }
        }
    }

    /// Reads every waiting notification (non-blocking socket), calling `each` with
    /// (message type, sender port id, payload). Returns whether notifications were lost
    /// (ENOBUFS) or the socket failed: then the caller must assume anything changed.
    pub(crate) fn drain(&mut self, each: &mut dyn FnMut(u16, u32, &[u8])) -> bool {
        for _ in 0..1024 {
            match self.recv(false) {
                Ok(Some(n)) => for_each_message(&self.rx[..n], each),
                Ok(None) => return false,
                Err(_) => {
                    // ENOBUFS (notifications dropped) or worse: read on, report it.
                    while let Ok(Some(_)) = self.recv(false) {}
                    return true;
                }
            }
        }
        true
    }
}

/// Calls `each(type, pid, payload)` for every whole message of `buf`.
pub(crate) fn for_each_message(buf: &[u8], each: &mut dyn FnMut(u16, u32, &[u8])) {
    let mut at = 0;
    while at + NLMSG_HDR_LEN <= buf.len() {
        let len = u32_at(buf, at).unwrap_or(0) as usize;
        if len < NLMSG_HDR_LEN || at + len > buf.len() {
            return;
        }
        let kind = u16::from_ne_bytes([buf[at + 4], buf[at + 5]]);
        let pid = u32_at(buf, at + 12).unwrap_or(0);
        each(kind, pid, &buf[at + NLMSG_HDR_LEN..at + len]);
        at += (len + 3) & !3;
    }
}

impl AsRawFd for NfSock {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
