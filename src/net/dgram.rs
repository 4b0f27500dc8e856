//! UDP sockets for protocols that check how a datagram arrived (BFD, RFC 5881 §5):
//! binding with TTL / hop limit and DSCP set, and receiving each datagram together with
//! its received TTL / hop limit and destination address from the kernel's ancillary
//! data (IP_RECVTTL + IP_PKTINFO, IPV6_RECVHOPLIMIT + IPV6_RECVPKTINFO).
//!
//! Owns: the `unsafe` calls this needs (recvmsg and its control messages), each in a
//! small fn with the invariant it relies on; the public fns are safe. Must not: parse
//! payloads, keep state or retry. Sockets are non-blocking and close-on-exec, returned
//! as mio types for the event loop to register.

use std::io;
use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use mio::net::UdpSocket;

use super::sock::{bind, from_storage, os_error, setsockopt, zeroed_storage};

/// How to set up a datagram socket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DgramOptions {
    /// TTL / hop limit of unicast packets sent.
    pub(crate) ttl: Option<u8>,
    /// TOS byte / traffic class of packets sent.
    pub(crate) tos: Option<u8>,
    /// Ask the kernel for each datagram's TTL / hop limit and destination address.
    pub(crate) recv_info: bool,
    /// Receive buffer size in bytes (the kernel doubles it and applies its minimum).
    pub(crate) recv_buffer: Option<usize>,
}

/// One received datagram's metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RecvInfo {
    /// Payload bytes written to the buffer.
    pub(crate) len: usize,
    /// The payload was longer than the buffer and was cut.
    pub(crate) truncated: bool,
    /// Sender, v4-mapped addresses shown as IPv4.
    pub(crate) src: SocketAddr,
    /// Destination address of the datagram (IP_PKTINFO / IPV6_PKTINFO).
    pub(crate) dst: Option<IpAddr>,
    /// Interface it arrived on.
    pub(crate) ifindex: Option<u32>,
    /// TTL / hop limit it arrived with.
    pub(crate) ttl: Option<u8>,
}

/// A new non-blocking, close-on-exec UDP socket of `domain`.
fn new_udp_socket(domain: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: socket() takes no pointers; a non-negative return is a fresh descriptor
    // that nothing else owns, so handing it to OwnedFd (which closes it once) is sound.
    unsafe {
        let fd = libc::socket(
            domain,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        );
        if fd < 0 {
            return Err(os_error("socket(UDP)"));
        }
        Ok(OwnedFd::from_raw_fd(fd))
    }
}

/// A non-blocking UDP socket bound to `addr`. An IPv6 socket is IPv6-only, so the same
/// port can be bound for IPv4 separately. EADDRINUSE keeps its error kind
/// ([`io::ErrorKind::AddrInUse`]) so callers can try another port.
pub(crate) fn bind_udp(addr: SocketAddr, opts: &DgramOptions) -> io::Result<UdpSocket> {
    let v6 = addr.is_ipv6();
    let fd = new_udp_socket(if v6 { libc::AF_INET6 } else { libc::AF_INET })?;
    let fd_b = fd.as_fd();
    let one: libc::c_int = 1;
    if v6 {
        setsockopt(
            fd_b,
            libc::IPPROTO_IPV6,
            libc::IPV6_V6ONLY,
            &one,
            "setsockopt IPV6_V6ONLY",
        )?;
    }
    if let Some(ttl) = opts.ttl {
        let v = libc::c_int::from(ttl);
        if v6 {
            setsockopt(
                fd_b,
                libc::IPPROTO_IPV6,
                libc::IPV6_UNICAST_HOPS,
                &v,
                "setsockopt IPV6_UNICAST_HOPS",
            )?;
        } else {
            setsockopt(
                fd_b,
                libc::IPPROTO_IP,
                libc::IP_TTL,
                &v,
                "setsockopt IP_TTL",
            )?;
        }
    }
    if let Some(tos) = opts.tos {
        let v = libc::c_int::from(tos);
        if v6 {
            setsockopt(
                fd_b,
                libc::IPPROTO_IPV6,
                libc::IPV6_TCLASS,
                &v,
                "setsockopt IPV6_TCLASS",
            )?;
        } else {
            setsockopt(
                fd_b,
                libc::IPPROTO_IP,
                libc::IP_TOS,
                &v,
                "setsockopt IP_TOS",
            )?;
        }
    }
    if opts.recv_info {
        if v6 {
            setsockopt(
                fd_b,
                libc::IPPROTO_IPV6,
                libc::IPV6_RECVHOPLIMIT,
                &one,
                "setsockopt IPV6_RECVHOPLIMIT",
            )?;
            setsockopt(
                fd_b,
                libc::IPPROTO_IPV6,
                libc::IPV6_RECVPKTINFO,
                &one,
                "setsockopt IPV6_RECVPKTINFO",
            )?;
        } else {
            setsockopt(
                fd_b,
                libc::IPPROTO_IP,
                libc::IP_RECVTTL,
                &one,
                "setsockopt IP_RECVTTL",
            )?;
            setsockopt(
                fd_b,
                libc::IPPROTO_IP,
                libc::IP_PKTINFO,
                &one,
                "setsockopt IP_PKTINFO",
            )?;
        }
    }
    if let Some(size) = opts.recv_buffer {
        let v = libc::c_int::try_from(size).unwrap_or(libc::c_int::MAX);
        setsockopt(
            fd_b,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            &v,
            "setsockopt SO_RCVBUF",
        )?;
    }
    bind(fd_b, addr)?;
    Ok(UdpSocket::from_std(std::net::UdpSocket::from(fd)))
}

/// Room for the control messages we ask for: a TTL int and a pktinfo each way, with
/// headroom. `u64` elements keep it aligned for `cmsghdr`.
const CMSG_BUF_WORDS: usize = 32;

/// What recvmsg(2) filled in.
struct RawRecv {
    len: usize,
    flags: libc::c_int,
    src: libc::sockaddr_storage,
    cmsg: [u64; CMSG_BUF_WORDS],
    cmsg_len: usize,
}

/// recvmsg(2) of one datagram into `buf`, with its source address and control data.
fn recvmsg_raw(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<RawRecv> {
    let mut src = zeroed_storage();
    let mut cmsg = [0u64; CMSG_BUF_WORDS];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast::<libc::c_void>(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is a C struct of integers and pointers; all-zero is a valid value
    // (null pointers, zero lengths) that we then fill in field by field.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_name = (&raw mut src).cast::<libc::c_void>();
    msg.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cmsg.as_mut_ptr().cast::<libc::c_void>();
    msg.msg_controllen = mem::size_of_val(&cmsg) as _;
    // SAFETY: `fd` is live; every pointer in `msg` points to a local (`src`, `iov`,
    // `cmsg`) or to `buf`, all of which outlive the call, with the lengths given; the
    // kernel writes at most those lengths.
    let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &raw mut msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(RawRecv {
        len: n as usize,
        flags: msg.msg_flags,
        src,
        cmsg,
        cmsg_len: msg.msg_controllen as usize,
    })
}

/// Calls `f(level, type, data)` for each control message in `cmsg[..len]`.
fn for_each_cmsg(cmsg: &[u64; CMSG_BUF_WORDS], len: usize, mut f: impl FnMut(i32, i32, &[u8])) {
    // SAFETY: `cmsg` is an initialised array of u64; viewing its memory as bytes (u8 has
    // no alignment or validity requirements) for its full size is sound.
    let bytes: &[u8] =
        unsafe { std::slice::from_raw_parts(cmsg.as_ptr().cast::<u8>(), mem::size_of_val(cmsg)) };
    let bytes = &bytes[..len.min(bytes.len())];
    // Walk the buffer by hand (header, then data, each aligned to size_t) rather than
    // through CMSG_NXTHDR, so every read is bounds-checked.
    let hdr_len = mem::size_of::<libc::cmsghdr>();
    let align = mem::size_of::<usize>();
    let mut at = 0usize;
    while let Some(hdr) = bytes.get(at..at + hdr_len) {
        // SAFETY: cmsghdr is a C struct of integers (any bit pattern is valid) and `hdr`
        // holds exactly size_of::<cmsghdr>() initialised bytes; read_unaligned has no
        // alignment requirement.
        let h: libc::cmsghdr = unsafe { std::ptr::read_unaligned(hdr.as_ptr().cast()) };
        let clen = h.cmsg_len as usize;
        if clen < hdr_len {
            break;
        }
        let Some(data) = bytes.get(at + hdr_len.next_multiple_of(align)..at + clen) else {
            break;
        };
        f(h.cmsg_level, h.cmsg_type, data);
        at += clen.next_multiple_of(align);
    }
}

fn int_of(data: &[u8]) -> Option<i32> {
    data.first_chunk::<4>().map(|b| i32::from_ne_bytes(*b))
}

/// Receives one datagram without blocking. `WouldBlock` when none is queued.
pub(crate) fn recv_with_info(sock: &UdpSocket, buf: &mut [u8]) -> io::Result<RecvInfo> {
    let raw = recvmsg_raw(sock.as_fd(), buf)?;
    let src = from_storage(&raw.src)
        .map(super::sock::normalize)
        .ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, "datagram from a non-IP address")
        })?;
    let mut info = RecvInfo {
        len: raw.len.min(buf.len()),
        truncated: raw.flags & libc::MSG_TRUNC != 0,
        src,
        dst: None,
        ifindex: None,
        ttl: None,
    };
    for_each_cmsg(&raw.cmsg, raw.cmsg_len, |level, kind, data| {
        match (level, kind) {
            (libc::IPPROTO_IP, libc::IP_TTL) | (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT) => {
                info.ttl = int_of(data).and_then(|v| u8::try_from(v).ok());
            }
            (libc::IPPROTO_IP, libc::IP_PKTINFO) => {
                // struct in_pktinfo { int ipi_ifindex; in_addr ipi_spec_dst; in_addr ipi_addr; }
                if let (Some(ifi), Some(addr)) = (int_of(data), data.get(8..12)) {
                    info.ifindex = u32::try_from(ifi).ok();
                    let a: [u8; 4] = [addr[0], addr[1], addr[2], addr[3]];
                    info.dst = Some(IpAddr::V4(Ipv4Addr::from(a)));
                }
            }
            (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => {
                // struct in6_pktinfo { in6_addr ipi6_addr; unsigned int ipi6_ifindex; }
                if let (Some(addr), Some(ifi)) = (data.first_chunk::<16>(), data.get(16..20)) {
                    let dst = Ipv6Addr::from(*addr);
                    info.dst = Some(IpAddr::V6(dst).to_canonical());
                    info.ifindex = Some(u32::from_ne_bytes([ifi[0], ifi[1], ifi[2], ifi[3]]));
                }
            }
            _ => {}
        }
    });
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Loopback round trip: the receiver learns TTL and destination, both families.
    #[test]
    fn loopback_reports_ttl_and_destination() {
        for (any, lo) in [
            ("127.0.0.1:0", IpAddr::V4(Ipv4Addr::LOCALHOST)),
            ("[::1]:0", IpAddr::V6(Ipv6Addr::LOCALHOST)),
        ] {
            let rx = match bind_udp(
                any.parse().unwrap(),
                &DgramOptions {
                    recv_info: true,
                    ..Default::default()
                },
            ) {
                Ok(s) => s,
                // A machine without IPv6 loopback: nothing to test for that family,
                // except under CI, whose machines have it.
                Err(e) if lo.is_ipv6() && std::env::var_os("CI").is_none_or(|v| v != "true") => {
                    eprintln!("skipping IPv6 loopback: {e}");
                    continue;
                }
                Err(e) => panic!("bind {any}: {e}"),
            };
            let tx = bind_udp(
                SocketAddr::new(lo, 0),
                &DgramOptions {
                    ttl: Some(200),
                    tos: Some(0xC0),
                    ..Default::default()
                },
            )
            .unwrap();
            let to = rx.local_addr().unwrap();
            tx.send_to(b"hello", to).unwrap();
            let mut buf = [0u8; 64];
            let mut got = None;
            for _ in 0..200 {
                match recv_with_info(&rx, &mut buf) {
                    Ok(i) => {
                        got = Some(i);
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        std::thread::sleep(std::time::Duration::from_millis(5))
                    }
                    Err(e) => panic!("recv: {e}"),
                }
            }
            let info = got.expect("datagram not received");
            assert_eq!(&buf[..info.len], b"hello");
            assert!(!info.truncated);
            assert_eq!(info.src, tx.local_addr().unwrap());
            assert_eq!(info.dst, Some(lo));
            assert_eq!(info.ttl, Some(200));
            assert!(info.ifindex.is_some_and(|i| i > 0));
            // A buffer too small: the datagram is cut and says so.
            tx.send_to(b"0123456789", to).unwrap();
            let mut small = [0u8; 4];
            let mut cut = None;
            for _ in 0..200 {
                match recv_with_info(&rx, &mut small) {
                    Ok(i) => {
                        cut = Some(i);
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        std::thread::sleep(std::time::Duration::from_millis(5))
                    }
                    Err(e) => panic!("recv: {e}"),
                }
            }
            let cut = cut.expect("second datagram not received");
            assert!(cut.truncated);
            assert_eq!(cut.len, 4);
            // Nothing queued: WouldBlock, not a hang.
            assert_eq!(
                recv_with_info(&rx, &mut buf).unwrap_err().kind(),
                io::ErrorKind::WouldBlock
            );
        }
    }

    #[test]
    fn same_port_binds_per_family_and_reports_addr_in_use() {
        let v4 = bind_udp("127.0.0.1:0".parse().unwrap(), &DgramOptions::default()).unwrap();
        let port = v4.local_addr().unwrap().port();
        let again = bind_udp(
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
            &DgramOptions::default(),
        );
        assert_eq!(again.unwrap_err().kind(), io::ErrorKind::AddrInUse);
        // IPv6-only: the IPv6 wildcard on the same port does not collide with IPv4.
        if let Err(e) = bind_udp(
            SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port),
            &DgramOptions::default(),
        ) {
            assert_ne!(e.kind(), io::ErrorKind::AddrInUse, "{e}");
        }
    }
}
