//! TCP-MD5 (RFC 2385) and TTL on real sockets between network namespaces, through
//! `kube_bgp::net::sock`: a right key connects, a wrong or missing key is dropped
//! silently (only the kernel's MIB counters show it), IPv4 peers of a dual-stack
//! listener, and TTL limits across a router namespace.
mod common;

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::Duration;

use common::Netns;
use kube_bgp::net::sock;
use mio::net::{TcpListener, TcpStream};

/// Runs `f` on a thread that has entered `ns`'s network namespace, so sockets it creates
/// live there (they keep working from any thread afterwards).
fn in_ns<T: Send + 'static>(ns: &Netns, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{}", ns.name);
    std::thread::spawn(move || {
        let file = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
        // SAFETY: setns with a descriptor of a network namespace file that stays open for
        // the call; CLONE_NEWNET only changes this thread's namespace.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns {path}: {}", io::Error::last_os_error());
        f()
    })
    .join()
    .expect("namespace thread panicked")
}

/// A kernel MIB counter of `ns` (e.g. "TcpExtTCPMD5Failure").
fn counter(ns: &Netns, name: &str) -> u64 {
    // -s: do not touch nstat's history file; -a: absolute values; -z: show zeros.
    let out = ns.sh(&format!("nstat -saz {name}"));
    out.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            (it.next() == Some(name)).then(|| it.next()?.parse().ok())?
        })
        .next()
        .unwrap_or_else(|| panic!("counter {name} not in nstat output: {out}"))
}

/// How a connection attempt ended.
#[derive(Debug)]
enum ConnectOutcome {
    /// Client connected and the listener accepted it (the server side stream).
    Up(TcpStream),
    /// Nothing happened within the timeout: SYNs dropped silently.
    Silent,
    /// The client socket failed (e.g. ICMP time exceeded -> EHOSTUNREACH).
    Failed(io::Error),
}

/// Waits up to `timeout` for the client to connect and the listener to accept it.
fn session(l: &TcpListener, c: &TcpStream, timeout: Duration) -> ConnectOutcome {
    let mut accepted = None;
    let done = common::wait_for(timeout, || {
        if accepted.is_none() {
            accepted = l.accept().ok().map(|(s, _)| s);
        }
        if let Ok(Some(e)) = c.take_error() {
            return Some(Err(e));
        }
        (accepted.is_some() && c.peer_addr().is_ok()).then_some(Ok(()))
    });
    match (done, accepted) {
        (Some(Ok(())), Some(s)) => ConnectOutcome::Up(s),
        (Some(Err(e)), _) => ConnectOutcome::Failed(e),
        _ => ConnectOutcome::Silent,
    }
}

fn up(o: ConnectOutcome) -> TcpStream {
    match o {
        ConnectOutcome::Up(s) => s,
        other => panic!("expected a session, got {other:?}"),
    }
}

fn silent(o: ConnectOutcome) -> bool {
    matches!(o, ConnectOutcome::Silent)
}

/// Sends `msg` from one stream and reads it on the other, bounded in time.
fn send_recv(from: &mut TcpStream, to: &mut TcpStream, msg: &[u8; 4]) {
    from.write_all(msg).expect("write");
    let mut buf = [0u8; 4];
    let mut got = 0;
    common::wait_for(Duration::from_secs(5), || {
        match to.read(&mut buf[got..]) {
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("read: {e}"),
        }
        (got == 4).then_some(())
    })
    .expect("bytes arrive within 5 s");
    assert_eq!(&buf, msg);
}

/// Sends four bytes each way over a connected pair.
fn exchange(a: &mut TcpStream, b: &mut TcpStream) {
    send_recv(a, b, b"open");
    send_recv(b, a, b"keep");
}

struct Md5Hosts {
    server: Netns,
    client: Netns,
}

/// Server 10.211.0.1 / fd00:211::1, client 10.211.0.2 / fd00:211::2 on one veth.
fn pair() -> Md5Hosts {
    let server = Netns::new("md5");
    let client = Netns::new("md5");
    common::veth(
        &server,
        &["10.211.0.1/24", "fd00:211::1/64"],
        &client,
        &["10.211.0.2/24", "fd00:211::2/64"],
    );
    Md5Hosts { server, client }
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

/// A listener in the server namespace with `key` for `peer`, and a client connection
/// from the client namespace with `client_key`.
fn attempt(
    p: &Md5Hosts,
    listen_on: &str,
    peer: IpAddr,
    key: &'static [u8],
    target: &str,
    client_key: Option<&'static [u8]>,
) -> (TcpListener, TcpStream) {
    let listen_on: SocketAddr = listen_on.parse().expect("listen address");
    let l = in_ns(&p.server, move || {
        let l = sock::listen(listen_on).expect("listen");
        sock::set_md5(&l, peer, Some(key)).expect("listener key");
        l
    });
    let target: SocketAddr = target.parse().expect("target");
    let c = in_ns(&p.client, move || {
        sock::connect(target, None, None, client_key).expect("connect")
    });
    (l, c)
}

#[test]
fn md5_right_key_connects_and_exchanges_bytes() {
    if !common::require_root("md5_right_key_connects_and_exchanges_bytes") {
        return;
    }
    let p = pair();
    let failures = counter(&p.server, "TcpExtTCPMD5Failure");
    let (l, mut c) = attempt(
        &p,
        "10.211.0.1:179",
        ip("10.211.0.2"),
        b"s3cret-key",
        "10.211.0.1:179",
        Some(b"s3cret-key"),
    );
    let mut s = up(session(&l, &c, Duration::from_secs(5)));
    assert_eq!(sock::peer_addr(&s).unwrap().ip(), ip("10.211.0.2"));
    exchange(&mut c, &mut s);
    assert_eq!(counter(&p.server, "TcpExtTCPMD5Failure"), failures);

    // The session is really signed: a plain client to the same listener is dropped.
    let notfound = counter(&p.server, "TcpExtTCPMD5NotFound");
    let c2 = in_ns(&p.client, || {
        sock::connect("10.211.0.1:179".parse().unwrap(), None, None, None).unwrap()
    });
    assert!(silent(session(&l, &c2, Duration::from_millis(1500))));
    assert!(counter(&p.server, "TcpExtTCPMD5NotFound") > notfound);
}

#[test]
fn md5_wrong_key_never_connects() {
    if !common::require_root("md5_wrong_key_never_connects") {
        return;
    }
    let p = pair();
    let before = counter(&p.server, "TcpExtTCPMD5Failure");
    let (l, c) = attempt(
        &p,
        "10.211.0.1:179",
        ip("10.211.0.2"),
        b"right",
        "10.211.0.1:179",
        Some(b"wrong"),
    );
    // Two SYNs (t=0, t=1 s) are dropped in 3 s; the connect stays pending.
    assert!(
        silent(session(&l, &c, Duration::from_secs(3))),
        "wrong key must not connect"
    );
    assert!(c.peer_addr().is_err());
    assert!(matches!(l.accept(), Err(e) if e.kind() == io::ErrorKind::WouldBlock));
    let after = counter(&p.server, "TcpExtTCPMD5Failure");
    assert!(after > before, "TCPMD5Failure {before} -> {after}");
}

#[test]
fn md5_missing_key_never_connects() {
    if !common::require_root("md5_missing_key_never_connects") {
        return;
    }
    let p = pair();
    let before = counter(&p.server, "TcpExtTCPMD5NotFound");
    let (l, c) = attempt(
        &p,
        "10.211.0.1:179",
        ip("10.211.0.2"),
        b"right",
        "10.211.0.1:179",
        None,
    );
    assert!(
        silent(session(&l, &c, Duration::from_secs(3))),
        "unsigned SYN must not connect"
    );
    let after = counter(&p.server, "TcpExtTCPMD5NotFound");
    assert!(after > before, "TCPMD5NotFound {before} -> {after}");
}

#[test]
fn md5_key_removed_at_runtime_stops_new_sessions() {
    if !common::require_root("md5_key_removed_at_runtime_stops_new_sessions") {
        return;
    }
    let p = pair();
    let (l, c) = attempt(
        &p,
        "10.211.0.1:179",
        ip("10.211.0.2"),
        b"k1",
        "10.211.0.1:179",
        Some(b"k1"),
    );
    up(session(&l, &c, Duration::from_secs(5)));
    // Delete the key (keylen 0): signed SYNs are now "unexpected" and dropped; unsigned
    // ones are accepted again.
    sock::set_md5(&l, ip("10.211.0.2"), None).unwrap();
    let signed = in_ns(&p.client, || {
        sock::connect("10.211.0.1:179".parse().unwrap(), None, None, Some(b"k1")).unwrap()
    });
    assert!(silent(session(&l, &signed, Duration::from_millis(1500))));
    let plain = in_ns(&p.client, || {
        sock::connect("10.211.0.1:179".parse().unwrap(), None, None, None).unwrap()
    });
    up(session(&l, &plain, Duration::from_secs(5)));
}

#[test]
fn md5_ipv4_client_on_dual_stack_listener() {
    if !common::require_root("md5_ipv4_client_on_dual_stack_listener") {
        return;
    }
    let p = pair();
    // The key is given as plain IPv4; set_md5 maps it to ::ffff:10.211.0.2 on the
    // IPv6 socket (the kernel refuses AF_INET keys there).
    let (l, mut c) = attempt(
        &p,
        "[::]:179",
        ip("10.211.0.2"),
        b"dual",
        "10.211.0.1:179",
        Some(b"dual"),
    );
    assert!(!sock::v6_only(&l).unwrap());
    let mut s = up(session(&l, &c, Duration::from_secs(5)));
    assert_eq!(
        sock::peer_addr(&s).unwrap().ip(),
        ip("10.211.0.2"),
        "v4-mapped peer shown as IPv4"
    );
    assert_eq!(sock::local_addr(&s).unwrap().ip(), ip("10.211.0.1"));
    exchange(&mut c, &mut s);

    // An IPv6 peer on the same listener with its own key.
    sock::set_md5(&l, ip("fd00:211::2"), Some(b"six")).unwrap();
    let c6 = in_ns(&p.client, || {
        sock::connect(
            "[fd00:211::1]:179".parse().unwrap(),
            Some(ip("fd00:211::2")),
            None,
            Some(b"six"),
        )
        .unwrap()
    });
    let s6 = up(session(&l, &c6, Duration::from_secs(5)));
    assert_eq!(sock::peer_addr(&s6).unwrap().ip(), ip("fd00:211::2"));

    // The wrong key for the IPv4 peer still fails on the dual-stack socket.
    let before = counter(&p.server, "TcpExtTCPMD5Failure");
    let bad = in_ns(&p.client, || {
        sock::connect("10.211.0.1:179".parse().unwrap(), None, None, Some(b"nope")).unwrap()
    });
    assert!(silent(session(&l, &bad, Duration::from_millis(1500))));
    assert!(counter(&p.server, "TcpExtTCPMD5Failure") > before);
}

#[test]
fn ttl_is_set_and_limits_hops() {
    if !common::require_root("ttl_is_set_and_limits_hops") {
        return;
    }
    // client -- router -- server: the server is two hops away.
    let client = Netns::new("ttl");
    let router = Netns::new("ttl");
    let server = Netns::new("ttl");
    common::veth(&client, &["10.212.1.2/24"], &router, &["10.212.1.1/24"]);
    common::veth(&router, &["10.212.2.1/24"], &server, &["10.212.2.2/24"]);
    router.sh("sysctl -qw net.ipv4.ip_forward=1");
    client.sh("ip route add 10.212.2.0/24 via 10.212.1.1");
    server.sh("ip route add 10.212.1.0/24 via 10.212.2.1");

    let l = in_ns(&server, || {
        sock::listen("10.212.2.2:179".parse().unwrap()).unwrap()
    });
    let target: SocketAddr = "10.212.2.2:179".parse().unwrap();
    let local = ip("10.212.1.2");
    let one = in_ns(&client, move || {
        sock::connect(target, Some(local), Some(1), None).unwrap()
    });
    assert_eq!(sock::ttl(&one).unwrap(), 1, "getsockopt IP_TTL");
    assert_eq!(sock::tos(&one).unwrap(), sock::TOS_CS6);
    // The router answers the TTL-1 SYN with ICMP time exceeded: EHOSTUNREACH here.
    match session(&l, &one, Duration::from_secs(3)) {
        ConnectOutcome::Failed(e) => assert_eq!(e.raw_os_error(), Some(libc::EHOSTUNREACH), "{e}"),
        other => panic!("TTL 1 must die at the router, got {other:?}"),
    }

    let two = in_ns(&client, move || {
        sock::connect(target, Some(local), Some(2), None).unwrap()
    });
    assert_eq!(sock::ttl(&two).unwrap(), 2);
    let s = up(session(&l, &two, Duration::from_secs(5)));
    assert_eq!(
        sock::peer_addr(&s).unwrap().ip(),
        local,
        "bound source address used"
    );
    // TTL on an accepted stream.
    sock::prepare_accepted(&s, Some(1), None).unwrap();
    assert_eq!(sock::ttl(&s).unwrap(), 1);
}
