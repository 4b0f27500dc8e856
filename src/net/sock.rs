//! BGP transport sockets: TCP-MD5 (RFC 2385) keys, TTL / hop limit and GTSM minimum TTL
//! (RFC 5082), DSCP CS6, source address binding, dual-stack listeners, and v4-mapped
//! address normalisation.
//!
//! Owns: every `unsafe` call of the network edge. Each one sits in a small private fn
//! whose comment states the invariant it relies on; the public fns are safe. Must not:
//! read or write BGP bytes, keep state, retry, or log keys (they are passwords).
//!
//! Sockets are created non-blocking and close-on-exec and returned as mio types, ready
//! to be registered with the event loop.

use std::io;
use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use mio::net::{TcpListener, TcpStream};

/// Longest TCP-MD5 key Linux accepts (`TCP_MD5SIG_MAXKEYLEN`).
pub(crate) const MD5_MAX_KEY_LEN: usize = 80;

/// IP TOS byte for DSCP CS6 (network control), the class BGP traffic belongs to.
pub const TOS_CS6: u8 = 0xC0;

/// Listen backlog; BGP has few peers, but a route reflector may see a burst of SYNs.
const BACKLOG: libc::c_int = 1024;

/// Linux `struct tcp_md5sig` (include/uapi/linux/tcp.h); the libc crate lacks it.
#[repr(C)]
struct TcpMd5Sig {
    addr: libc::sockaddr_storage,
    flags: u8,
    prefixlen: u8,
    keylen: u16,
    ifindex: libc::c_int,
    key: [u8; MD5_MAX_KEY_LEN],
}

// The kernel copies exactly this many bytes: 128 + 1 + 1 + 2 + 4 + 80.
const _: () = assert!(mem::size_of::<TcpMd5Sig>() == 216);

/// Adds context to the current OS error, keeping its kind.
pub(super) fn os_error(what: &str) -> io::Error {
    let e = io::Error::last_os_error();
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// An all-zero `sockaddr_storage`.
pub(super) fn zeroed_storage() -> libc::sockaddr_storage {
    // SAFETY: sockaddr_storage is a C struct of integers and byte arrays; the all-zero
    // bit pattern is a valid value (AF_UNSPEC, empty address).
    unsafe { mem::zeroed() }
}

/// Encodes a socket address as the kernel expects it.
pub(super) fn to_storage(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    let mut storage = zeroed_storage();
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for every sockaddr
            // type, so writing a sockaddr_in at its start stays in bounds and aligned.
            unsafe { std::ptr::write((&raw mut storage).cast::<libc::sockaddr_in>(), sin) };
            mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: as above, for sockaddr_in6.
            unsafe { std::ptr::write((&raw mut storage).cast::<libc::sockaddr_in6>(), sin6) };
            mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

/// Decodes a kernel socket address; `None` for families other than IPv4/IPv6.
pub(super) fn from_storage(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match libc::c_int::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in; the storage is
            // large enough and aligned for it.
            let sin =
                unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
            Some(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let sin6 = unsafe {
                &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Some(SocketAddr::V6(SocketAddrV6::new(
                ip,
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// A new non-blocking, close-on-exec TCP socket of `domain`.
fn new_socket(domain: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: socket() takes no pointers; a non-negative return is a fresh descriptor
    // that nothing else owns, so handing it to OwnedFd (which closes it once) is sound.
    unsafe {
        let fd = libc::socket(
            domain,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        );
        if fd < 0 {
            return Err(os_error("socket"));
        }
        Ok(OwnedFd::from_raw_fd(fd))
    }
}

/// setsockopt with a value of type `T`.
pub(super) fn setsockopt<T>(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
    what: &str,
) -> io::Result<()> {
    // SAFETY: `fd` is a live descriptor (borrowed for the call); the pointer and length
    // describe exactly the `T` behind a shared reference, which outlives the call, and
    // the kernel only reads from it.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast::<libc::c_void>(),
            mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc < 0 { Err(os_error(what)) } else { Ok(()) }
}

/// getsockopt for an `int` option.
pub(super) fn getsockopt_int(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    what: &str,
) -> io::Result<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `fd` is live; value/len point to writable locals of the sizes given, and
    // the kernel writes at most `len` bytes.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&raw mut value).cast::<libc::c_void>(),
            &mut len,
        )
    };
    if rc < 0 {
        Err(os_error(what))
    } else {
        Ok(value)
    }
}

/// getsockname / getpeername.
fn sock_name(fd: BorrowedFd<'_>, peer: bool) -> io::Result<Option<SocketAddr>> {
    let mut storage = zeroed_storage();
    let mut len = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    let ptr = (&raw mut storage).cast::<libc::sockaddr>();
    // SAFETY: `fd` is live; ptr/len describe the local storage, which is large enough for
    // any address and which the kernel fills up to `len` bytes.
    let rc = unsafe {
        if peer {
            libc::getpeername(fd.as_raw_fd(), ptr, &mut len)
        } else {
            libc::getsockname(fd.as_raw_fd(), ptr, &mut len)
        }
    };
    if rc < 0 {
        return Err(os_error(if peer { "getpeername" } else { "getsockname" }));
    }
    Ok(from_storage(&storage))
}

/// The address family of a socket (AF_INET or AF_INET6), read with getsockname.
fn family(fd: BorrowedFd<'_>) -> io::Result<libc::c_int> {
    match sock_name(fd, false)? {
        Some(SocketAddr::V4(_)) => Ok(libc::AF_INET),
        Some(SocketAddr::V6(_)) => Ok(libc::AF_INET6),
        None => Err(invalid("not an IPv4/IPv6 socket".into())),
    }
}

/// bind(2).
pub(super) fn bind(fd: BorrowedFd<'_>, addr: SocketAddr) -> io::Result<()> {
    let (storage, len) = to_storage(addr);
    // SAFETY: `fd` is live; the pointer/length describe an initialised sockaddr of the
    // right family inside `storage`, which outlives the call.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&raw const storage).cast::<libc::sockaddr>(),
            len,
        )
    };
    if rc < 0 {
        Err(os_error(&format!("bind {addr}")))
    } else {
        Ok(())
    }
}

/// Non-blocking connect(2); EINPROGRESS counts as success (completion is signalled by
/// writability, then `take_error`).
fn start_connect(fd: BorrowedFd<'_>, addr: SocketAddr) -> io::Result<()> {
    let (storage, len) = to_storage(addr);
    // SAFETY: as for bind.
    let rc = unsafe {
        libc::connect(
            fd.as_raw_fd(),
            (&raw const storage).cast::<libc::sockaddr>(),
            len,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EINPROGRESS) {
        return Ok(());
    }
    Err(io::Error::new(e.kind(), format!("connect {addr}: {e}")))
}

/// listen(2).
fn start_listen(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: `fd` is live; listen takes no pointers.
    let rc = unsafe { libc::listen(fd.as_raw_fd(), BACKLOG) };
    if rc < 0 {
        Err(os_error("listen"))
    } else {
        Ok(())
    }
}

/// Maps IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) to plain IPv4.
pub(crate) fn normalize_ip(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

/// [`normalize_ip`] for a socket address; the port is kept.
pub(crate) fn normalize(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

/// Sets (`Some(key)`) or deletes (`None`) the TCP-MD5 key used with `peer` on `sock`
/// (a listener, before the peer's SYN; or an unconnected socket, before connect).
///
/// The peer is written in the socket's own family: on an IPv6 (e.g. dual-stack `[::]`)
/// socket an IPv4 peer becomes `::ffff:a.b.c.d`, as the kernel requires. Keys longer
/// than `MD5_MAX_KEY_LEN` are refused; deleting a key that is not set succeeds.
pub fn set_md5<S: AsFd>(sock: &S, peer: IpAddr, key: Option<&[u8]>) -> io::Result<()> {
    let fd = sock.as_fd();
    let key = key.unwrap_or(&[]);
    if key.len() > MD5_MAX_KEY_LEN {
        return Err(invalid(format!(
            "TCP-MD5 key for {peer} is {} bytes, the maximum is {MD5_MAX_KEY_LEN}",
            key.len()
        )));
    }
    let addr = match (family(fd)?, peer.to_canonical()) {
        (libc::AF_INET6, IpAddr::V4(v4)) => IpAddr::V6(v4.to_ipv6_mapped()),
        (libc::AF_INET, IpAddr::V6(v6)) => {
            return Err(invalid(format!(
                "TCP-MD5 peer {v6} is IPv6 but the socket is IPv4"
            )));
        }
        (_, ip) => ip,
    };
    let (storage, _) = to_storage(SocketAddr::new(addr, 0));
    let mut sig = TcpMd5Sig {
        addr: storage,
        flags: 0,
        prefixlen: 0,
        keylen: key.len() as u16, // <= 80, checked above
        ifindex: 0,
        key: [0; MD5_MAX_KEY_LEN],
    };
    if let Some(dst) = sig.key.get_mut(..key.len()) {
        dst.copy_from_slice(key);
    }
    match setsockopt(
        fd,
        libc::IPPROTO_TCP,
        libc::TCP_MD5SIG,
        &sig,
        "setsockopt TCP_MD5SIG",
    ) {
        // Deleting a key that was never set: the kernel says ENOENT; the wanted state holds.
        Err(e) if key.is_empty() && e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io::Error::new(e.kind(), format!("{e} (peer {peer})"))),
        Ok(()) => Ok(()),
    }
}

/// Sets the unicast TTL (IPv4) / hop limit (IPv6) of outgoing packets. On an IPv6
/// socket both are set, so a v4-mapped peer of a dual-stack socket gets it too.
pub(crate) fn set_ttl<S: AsFd>(sock: &S, ttl: u8) -> io::Result<()> {
    let fd = sock.as_fd();
    let v = libc::c_int::from(ttl);
    if family(fd)? == libc::AF_INET6 {
        setsockopt(
            fd,
            libc::IPPROTO_IPV6,
            libc::IPV6_UNICAST_HOPS,
            &v,
            "setsockopt IPV6_UNICAST_HOPS",
        )?;
    }
    setsockopt(fd, libc::IPPROTO_IP, libc::IP_TTL, &v, "setsockopt IP_TTL")
}

/// GTSM (RFC 5082): the kernel drops the socket's incoming packets whose TTL (IPv4) or
/// hop limit (IPv6) is below `min`. On an IPv6 socket both are set, for v4-mapped
/// peers of a dual-stack socket.
pub(crate) fn set_min_ttl<S: AsFd>(sock: &S, min: u8) -> io::Result<()> {
    let fd = sock.as_fd();
    let v = libc::c_int::from(min);
    if family(fd)? == libc::AF_INET6 {
        setsockopt(
            fd,
            libc::IPPROTO_IPV6,
            libc::IPV6_MINHOPCOUNT,
            &v,
            "setsockopt IPV6_MINHOPCOUNT",
        )?;
    }
    setsockopt(
        fd,
        libc::IPPROTO_IP,
        libc::IP_MINTTL,
        &v,
        "setsockopt IP_MINTTL",
    )
}

/// Makes a listener keep the headers of each connection's SYN, to be read once with
/// [`syn_ttl`] on the accepted stream (`TCP_SAVE_SYN`).
pub(crate) fn set_save_syn<S: AsFd>(sock: &S) -> io::Result<()> {
    let one: libc::c_int = 1;
    setsockopt(
        sock.as_fd(),
        libc::IPPROTO_TCP,
        libc::TCP_SAVE_SYN,
        &one,
        "setsockopt TCP_SAVE_SYN",
    )
}

/// The TTL (IPv4) or hop limit (IPv6) the connection's SYN arrived with, from the headers
/// its listener saved ([`set_save_syn`]); `None` when none were saved. Readable once.
///
/// GTSM on an accepted connection: the minimum TTL can only be set once the connection
/// exists, after its first data may already be queued; the SYN's TTL says whether the
/// peer is one hop away from the start.
pub(crate) fn syn_ttl(stream: &TcpStream) -> io::Result<Option<u8>> {
    let mut buf = [0u8; 256];
    let mut len = buf.len() as libc::socklen_t;
    // SAFETY: `stream` is a live socket; buf/len describe a writable local buffer and
    // the kernel writes at most `len` bytes into it.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_SAVED_SYN,
            buf.as_mut_ptr().cast::<libc::c_void>(),
            &mut len,
        )
    };
    if rc < 0 {
        let e = io::Error::last_os_error();
        // ENOENT: nothing saved (already read, or the listener did not save it).
        if e.raw_os_error() == Some(libc::ENOENT) {
            return Ok(None);
        }
        return Err(io::Error::new(
            e.kind(),
            format!("getsockopt TCP_SAVED_SYN: {e}"),
        ));
    }
    let hdr = buf.get(..len as usize).unwrap_or_default();
    Ok(match hdr.first().map(|b| b >> 4) {
        Some(4) => hdr.get(8).copied(),
        Some(6) => hdr.get(7).copied(),
        _ => None,
    })
}

#[cfg(test)]
/// The minimum TTL set by [`set_min_ttl`] for IPv4 packets (0 when none).
pub(crate) fn min_ttl<S: AsFd>(sock: &S) -> io::Result<u8> {
    let v = getsockopt_int(
        sock.as_fd(),
        libc::IPPROTO_IP,
        libc::IP_MINTTL,
        "getsockopt IP_MINTTL",
    )?;
    u8::try_from(v).map_err(|_| invalid(format!("kernel reported minimum TTL {v}")))
}

/// The TTL / hop limit that applies to the socket's packets: IP_TTL for IPv4 sockets
/// and for IPv6 sockets whose peer is v4-mapped, IPV6_UNICAST_HOPS otherwise.
pub fn ttl<S: AsFd>(sock: &S) -> io::Result<u8> {
    let fd = sock.as_fd();
    let v4_path = match sock_name(fd, true) {
        Ok(Some(peer)) => peer.ip().to_canonical().is_ipv4(),
        _ => family(fd)? == libc::AF_INET,
    };
    let v = if v4_path {
        getsockopt_int(fd, libc::IPPROTO_IP, libc::IP_TTL, "getsockopt IP_TTL")?
    } else {
        getsockopt_int(
            fd,
            libc::IPPROTO_IPV6,
            libc::IPV6_UNICAST_HOPS,
            "getsockopt IPV6_UNICAST_HOPS",
        )?
    };
    u8::try_from(v).map_err(|_| invalid(format!("kernel reported TTL {v}")))
}

/// Sets the TOS byte (IPv4) and traffic class (IPv6) of outgoing packets.
pub(crate) fn set_tos<S: AsFd>(sock: &S, tos: u8) -> io::Result<()> {
    let fd = sock.as_fd();
    let v = libc::c_int::from(tos);
    if family(fd)? == libc::AF_INET6 {
        setsockopt(
            fd,
            libc::IPPROTO_IPV6,
            libc::IPV6_TCLASS,
            &v,
            "setsockopt IPV6_TCLASS",
        )?;
    }
    setsockopt(fd, libc::IPPROTO_IP, libc::IP_TOS, &v, "setsockopt IP_TOS")
}

/// Disables (true) or enables Nagle; BGP writes whole messages, so nodelay is wanted.
pub(crate) fn set_nodelay(stream: &TcpStream, on: bool) -> io::Result<()> {
    stream.set_nodelay(on)
}

/// The remote address of a connected stream, v4-mapped addresses shown as IPv4.
pub fn peer_addr(stream: &TcpStream) -> io::Result<SocketAddr> {
    stream.peer_addr().map(normalize)
}

/// The local address of a stream, v4-mapped addresses shown as IPv4.
pub fn local_addr(stream: &TcpStream) -> io::Result<SocketAddr> {
    stream.local_addr().map(normalize)
}

/// Where a non-blocking [`connect`] stands, to be asked when the stream turns writable
/// (mio may wake spuriously): `Ok(true)` connected, `Ok(false)` still in progress,
/// `Err` the attempt failed (refused, unreachable, timed out).
pub fn connect_finished(stream: &TcpStream) -> io::Result<bool> {
    if let Some(e) = stream.take_error()? {
        return Err(e);
    }
    match stream.peer_addr() {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
        Err(e) => Err(e),
    }
}

/// Prepares a stream returned by `accept`: nodelay, DSCP CS6 and, when given, the TTL
/// and the GTSM minimum TTL (before anything is read from it).
pub fn prepare_accepted(
    stream: &TcpStream,
    ttl: Option<u8>,
    min_ttl: Option<u8>,
) -> io::Result<()> {
    set_nodelay(stream, true)?;
    set_tos(stream, TOS_CS6)?;
    if let Some(t) = ttl {
        set_ttl(stream, t)?;
    }
    if let Some(m) = min_ttl {
        set_min_ttl(stream, m)?;
    }
    Ok(())
}

/// Starts a non-blocking connection to `peer`.
///
/// In order: socket, TCP-MD5 key for the peer (before the SYN, so the first SYN is
/// signed), DSCP CS6, TTL when given, bind to `local` (port chosen at connect time)
/// when given, nodelay, connect. The stream is connected once it is writable and
/// `take_error()` is `None`. v4-mapped addresses are treated as IPv4.
pub fn connect(
    peer: SocketAddr,
    local: Option<IpAddr>,
    ttl: Option<u8>,
    md5: Option<&[u8]>,
) -> io::Result<TcpStream> {
    connect_gtsm(peer, local, ttl, None, md5)
}

/// [`connect`] with a GTSM minimum TTL (RFC 5082) set before the SYN, so even the
/// SYN-ACK must arrive with it.
pub(crate) fn connect_gtsm(
    peer: SocketAddr,
    local: Option<IpAddr>,
    ttl: Option<u8>,
    min_ttl: Option<u8>,
    md5: Option<&[u8]>,
) -> io::Result<TcpStream> {
    let peer = normalize(peer);
    let local = local.map(normalize_ip);
    if let Some(l) = local
        && l.is_ipv4() != peer.is_ipv4()
    {
        return Err(invalid(format!(
            "local address {l} and peer {peer} are of different families"
        )));
    }
    let domain = if peer.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    let fd = new_socket(domain)?;
    if let Some(key) = md5 {
        set_md5(&fd, peer.ip(), Some(key))?;
    }
    set_tos(&fd, TOS_CS6)?;
    if let Some(t) = ttl {
        set_ttl(&fd, t)?;
    }
    if let Some(m) = min_ttl {
        set_min_ttl(&fd, m)?;
    }
    if let Some(l) = local {
        // Defer the port choice to connect, so many sessions from one address do not
        // exhaust the ephemeral range at bind time.
        let one: libc::c_int = 1;
        setsockopt(
            fd.as_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            &one,
            "setsockopt IP_BIND_ADDRESS_NO_PORT",
        )?;
        bind(fd.as_fd(), SocketAddr::new(l, 0))?;
    }
    let one: libc::c_int = 1;
    setsockopt(
        fd.as_fd(),
        libc::IPPROTO_TCP,
        libc::TCP_NODELAY,
        &one,
        "setsockopt TCP_NODELAY",
    )?;
    start_connect(fd.as_fd(), peer)?;
    Ok(TcpStream::from_std(std::net::TcpStream::from(fd)))
}

/// A non-blocking listener on `addr` with SO_REUSEADDR and DSCP CS6. On the IPv6
/// wildcard `[::]` it is dual-stack (IPV6_V6ONLY=0) whatever the sysctl default; MD5
/// keys for IPv4 peers are then mapped by [`set_md5`].
pub fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let domain = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    let fd = new_socket(domain)?;
    let one: libc::c_int = 1;
    setsockopt(
        fd.as_fd(),
        libc::SOL_SOCKET,
        libc::SO_REUSEADDR,
        &one,
        "setsockopt SO_REUSEADDR",
    )?;
    if let IpAddr::V6(v6) = addr.ip()
        && v6.is_unspecified()
    {
        let zero: libc::c_int = 0;
        setsockopt(
            fd.as_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_V6ONLY,
            &zero,
            "setsockopt IPV6_V6ONLY",
        )?;
    }
    set_tos(&fd, TOS_CS6)?;
    bind(fd.as_fd(), addr)?;
    start_listen(fd.as_fd())?;
    Ok(TcpListener::from_std(std::net::TcpListener::from(fd)))
}

/// Whether an IPv6 socket is IPv6-only (false = dual-stack).
pub fn v6_only<S: AsFd>(sock: &S) -> io::Result<bool> {
    getsockopt_int(
        sock.as_fd(),
        libc::IPPROTO_IPV6,
        libc::IPV6_V6ONLY,
        "getsockopt IPV6_V6ONLY",
    )
    .map(|v| v != 0)
}

/// The TOS byte of an IPv4 (or dual-stack) socket.
pub fn tos<S: AsFd>(sock: &S) -> io::Result<u8> {
    let v = getsockopt_int(
        sock.as_fd(),
        libc::IPPROTO_IP,
        libc::IP_TOS,
        "getsockopt IP_TOS",
    )?;
    u8::try_from(v).map_err(|_| invalid(format!("kernel reported TOS {v}")))
}

#[cfg(test)]
#[path = "sock_tests.rs"]
mod tests;
