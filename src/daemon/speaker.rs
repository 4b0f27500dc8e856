//! The BGP speaker's I/O: binds each configured peer's session state machine
//! (`bgp::fsm`) and the RIB (`bgp::rib`) to real sockets on the daemon's mio loop.
//!
//! Owns the sessions' I/O: accepting and connecting, framing and decoding, carrying out
//! the FSM's actions, handing UPDATEs to the RIB and the RIB's output to the sockets,
//! the per-peer timers, prefix-limit checks after each UPDATE (`bgp::limit` decides, the
//! FSM ends the session), connections being closed (their last bytes are written as the
//! socket takes them, for a few seconds at most; nothing blocks the loop) and the
//! per-peer rate limit of error log lines. Peer configuration (add/change/remove, listeners, MD5 keys) is in
//! `speaker::peers`; one connection's buffers in `daemon::conn`. Does not decide which
//! peers exist (that is `cluster`, applied through [`Speaker::set_peers`]) and does not
//! touch the kernel. Runs on the daemon thread only.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Interest, Registry, Token};

use crate::bgp::fsm::{self, ConnId, DownReason, Input, Output, State};
use crate::bgp::limit::{LimitVerdict, PrefixLimiter};
use crate::bgp::rib::{PeerId, Rib};
use crate::bgp::types::{Message, NotificationCode, Update};
use crate::bgp::wire;
use crate::cluster::peers::PeerPlan;
use crate::log::{Gate, LogGate};
use crate::net::{Timers, sock};
use crate::ops::ctl::MessageCounters;
use crate::prefix::Afi;
use crate::{debug, error, info, warn};

pub(super) mod admin;
mod peers;
#[cfg(test)]
#[path = "speaker_tests.rs"]
mod tests;
use peers::passwd;

use super::conn::{Conn, ReadEnd, count, encode_batch, queue, read_in, send_parts, write_out};

/// First token of the speaker's range; listeners use `BASE..BASE+LISTENER_SLOTS`.
pub(crate) const TOKEN_BASE: usize = 1 << 20;
/// Changed prefixes one `flush_rib` call exports at most.
const OUT_CHUNK: usize = 64 * 1024;
const LISTENER_SLOTS: usize = 64;
/// How long a closed connection may take to write its last bytes (a NOTIFICATION).
const CLOSE_LINGER: Duration = Duration::from_secs(3);
/// Per peer, at most this many error lines per `LOG_WINDOW`.
const LOG_BURST: u32 = 10;
const LOG_WINDOW: Duration = Duration::from_secs(60);

/// Settings that are the same for every peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalParams {
    pub router_id: Ipv4Addr,
    pub local_asn: u32,
    pub port: u16,
    /// Node addresses used as next hops when a session of the other family carries
    /// routes of this one.
    pub(crate) best_v4: Option<Ipv4Addr>,
    pub(crate) best_v6: Option<Ipv6Addr>,
    /// Graceful restart (RFC 4724): restart time advertised, and whether this process
    /// is restarting (R bit).
    pub graceful_restart: Option<(u16, bool)>,
    /// `--bgp-accept-zero-holdtime`.
    pub(crate) accept_zero_holdtime: bool,
    /// `--bgp-prefix-limit-restart`: Idle wait after a prefix limit was exceeded.
    pub(crate) prefix_limit_restart: Duration,
    /// `--bgp-max-send-buffer`: bytes queued per connection before Cease 6/8.
    pub(crate) max_send_buffer: usize,
    /// `--bgp-node-ttl-security`: listeners answer with TTL 255 (the SYN-ACK comes from
    /// the listener, and a GTSM peer drops it otherwise).
    pub(crate) gtsm: bool,
}

/// Counters and history for the CLI and metrics.
#[derive(Clone, Debug, Default)]
pub struct PeerStats {
    pub sent: MessageCounters,
    pub received: MessageCounters,
    pub established_transitions: u64,
    pub(crate) state_changes: u64,
    pub last_error: Option<String>,
    pub(crate) state_since: Option<Instant>,
    pub local_addr: Option<IpAddr>,
    /// Families whose End-of-RIB arrived in the current session.
    pub eor: Vec<Afi>,
    /// When the last UPDATE (End-of-RIB included) arrived.
    pub(crate) last_update: Option<Instant>,
}

/// A configured neighbour and its session.
pub struct PeerSlot {
    pub plan: PeerPlan,
    pub fsm: fsm::Peer,
    pub(crate) rib_id: PeerId,
    conns: HashMap<ConnId, Conn>,
    pub stats: PeerStats,
    stale_deadline: Option<Instant>,
    limiter: PrefixLimiter,
    /// Rate limit of this peer's error log lines.
    log_gate: LogGate,
    /// Disabled by `kube-bgp neighbor ADDR disable`, with the message sent (maybe
    /// empty): the session stays down until enabled or kube-bgp restarts.
    pub admin_down: Option<String>,
}

impl PeerSlot {
    /// Logs a warning about this peer unless its lines are being rate-limited.
    fn warn(&mut self, now: Instant, msg: std::fmt::Arguments<'_>) {
        gated_warn(&mut self.log_gate, self.plan.addr, now, msg);
    }
}

/// A warning about peer `addr`, through its rate limit.
fn gated_warn(gate: &mut LogGate, addr: IpAddr, now: Instant, msg: std::fmt::Arguments<'_>) {
    match gate.pass(now) {
        Gate::Open { suppressed: 0 } => warn!("bgp", "peer {addr}: {msg}"),
        Gate::Open { suppressed } => warn!(
            "bgp",
            "peer {addr}: {msg} ({suppressed} earlier lines about this peer were suppressed)"
        ),
        Gate::Closed => {}
    }
}

/// A connection the FSM closed whose last bytes are still being written.
struct Closing {
    conn: Conn,
    peer: IpAddr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum TimerKey {
    Fsm(IpAddr),
    Stale(IpAddr),
    /// The linger time of a closing connection is over.
    Closing(Token),
}

struct Listener {
    addr: SocketAddr,
    sock: TcpListener,
}

/// The speaker: peers, sockets and the RIB.
pub struct Speaker {
    pub rib: Rib,
    pub local: LocalParams,
    pub peers: BTreeMap<IpAddr, PeerSlot>,
    by_rib: HashMap<PeerId, IpAddr>,
    tokens: HashMap<Token, (IpAddr, ConnId)>,
    /// Closed connections still writing their last bytes, by token.
    closing: HashMap<Token, Closing>,
    next_token: usize,
    listeners: Vec<Listener>,
    /// Connections whose last read stopped at `READ_BUDGET` with data possibly left in
    /// the socket. Readiness is edge-triggered: no new event comes for bytes already
    /// there, so these are driven again on the next turn of the loop.
    pending_reads: Vec<Token>,
    /// When bytes last arrived on any connection (the kernel side holds back while
    /// UPDATEs stream in).
    last_input: Option<Instant>,
    /// How long before `last_input` the input before it arrived (`None`: the first).
    input_gap: Option<Duration>,
    timers: Timers<TimerKey>,
    seed: u64,
    /// UPDATE messages sent and received (metrics).
    pub(crate) updates_in: u64,
    pub(crate) updates_out: u64,
}

impl Speaker {
    pub fn new(rib: Rib, local: LocalParams) -> Speaker {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x5eed)
            ^ (std::process::id() as u64) << 32;
        Speaker {
            rib,
            local,
            peers: BTreeMap::new(),
            by_rib: HashMap::new(),
            tokens: HashMap::new(),
            closing: HashMap::new(),
            next_token: TOKEN_BASE + LISTENER_SLOTS,
            listeners: Vec::new(),
            pending_reads: Vec::new(),
            last_input: None,
            input_gap: None,
            timers: Timers::new(),
            seed,
            updates_in: 0,
            updates_out: 0,
        }
    }

    pub fn owns(&self, token: Token) -> bool {
        token.0 >= TOKEN_BASE
    }

    /// The addresses currently listened on.
    pub fn listening(&self) -> Vec<SocketAddr> {
        self.listeners.iter().map(|l| l.addr).collect()
    }

    fn alloc_token(&mut self) -> Token {
        self.next_token += 1;
        Token(self.next_token)
    }

    /// The next instant the speaker needs to run timers.
    pub fn next_deadline(&mut self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// Runs expired timers.
    pub(crate) fn on_timers(&mut self, registry: &Registry, now: Instant) {
        while let Some(k) = self.timers.pop_expired(now) {
            match k {
                TimerKey::Fsm(addr) => self.input(registry, addr, Input::Timers, now),
                TimerKey::Stale(addr) => {
                    if let Some(slot) = self.peers.get_mut(&addr) {
                        slot.stale_deadline = None;
                        let id = slot.rib_id;
                        info!(
                            "bgp",
                            "peer {addr}: graceful-restart time over; removing its stale routes"
                        );
                        rib_outcome(addr, "stale route removal", self.rib.stale_timeout(id));
                    }
                }
                TimerKey::Closing(token) => {
                    if let Some(mut cl) = self.closing.remove(&token) {
                        debug!(
                            "bgp",
                            "peer {}: closing connection: {} bytes left unsent",
                            cl.peer,
                            cl.conn.pending()
                        );
                        let _ = registry.deregister(&mut cl.conn.stream);
                    }
                }
            }
        }
    }

    /// Whether some connection has unread input left from an earlier turn: the loop
    /// must not sleep, and calls [`Speaker::drive_pending`].
    pub(crate) fn has_pending_reads(&self) -> bool {
        !self.pending_reads.is_empty()
    }

    /// When bytes last arrived from any peer.
    pub(crate) fn last_input(&self) -> Option<Instant> {
        self.last_input
    }

    /// Whether the last input came alone: at least `quiet` after the input before it
    /// (reads on several connections in one turn of the loop are not alone).
    pub fn input_alone(&self, quiet: Duration) -> bool {
        self.input_gap.is_none_or(|g| g >= quiet)
    }

    /// Reads on (one budget each) from the connections that stopped at their read
    /// budget on an earlier turn.
    pub(crate) fn drive_pending(&mut self, registry: &Registry, now: Instant) {
        let pending = std::mem::take(&mut self.pending_reads);
        for token in pending {
            if let Some(&(addr, conn)) = self.tokens.get(&token) {
                self.drive_conn(registry, addr, conn, now);
            }
        }
    }

    /// Handles readiness of a speaker token.
    pub fn ready(&mut self, registry: &Registry, token: Token, now: Instant) {
        if token.0 < TOKEN_BASE + LISTENER_SLOTS {
            self.accept_all(registry, now);
            return;
        }
        if self.closing.contains_key(&token) {
            self.flush_closing(registry, token);
            return;
        }
        let Some(&(addr, conn)) = self.tokens.get(&token) else {
            return;
        };
        self.drive_conn(registry, addr, conn, now);
    }

    fn accept_all(&mut self, registry: &Registry, now: Instant) {
        let mut accepted = Vec::new();
        for l in &self.listeners {
            loop {
                match l.sock.accept() {
                    Ok((s, _)) => accepted.push(s),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        warn!("bgp", "accept on {}: {e}", l.addr);
                        break;
                    }
                }
            }
        }
        for mut stream in accepted {
            let Ok(remote) = sock::peer_addr(&stream) else {
                continue;
            };
            let ip = remote.ip();
            let Some(slot) = self.peers.get_mut(&ip) else {
                // D12: not a configured peer: closed before any message is read.
                debug!(
                    "bgp",
                    "refused connection from {remote}: not a configured peer"
                );
                continue;
            };
            if let Some(min) = slot.plan.min_ttl {
                // GTSM (RFC 5082): the SYN must have come from one hop away. (The
                // minimum TTL set below guards what follows; data may already be queued
                // by the time it is set.)
                match sock::syn_ttl(&stream) {
                    Ok(Some(ttl)) if ttl >= min => {}
                    other => {
                        let why = match other {
                            Ok(Some(ttl)) => format!("its SYN arrived with TTL {ttl}"),
                            Ok(None) => "its SYN's TTL is unknown".into(),
                            Err(e) => e.to_string(),
                        };
                        gated_warn(
                            &mut slot.log_gate,
                            ip,
                            now,
                            format_args!(
                                "connection refused by TTL security (GTSM, minimum {min}): {why}"
                            ),
                        );
                        continue;
                    }
                }
            }
            if let Err(e) = sock::prepare_accepted(&stream, slot.plan.ttl, slot.plan.min_ttl) {
                warn!("bgp", "peer {ip}: setting up accepted connection: {e}");
                if slot.plan.min_ttl.is_some() {
                    // Without GTSM in force the connection must not be used.
                    continue;
                }
            }
            let conn = slot.fsm.alloc_conn();
            self.next_token += 1;
            let token = Token(self.next_token);
            if let Err(e) =
                registry.register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
            {
                warn!("bgp", "peer {ip}: register: {e}");
                continue;
            }
            let local = sock::local_addr(&stream).ok();
            slot.conns
                .insert(conn, Conn::new(stream, token, false, local));
            self.tokens.insert(token, (ip, conn));
            debug!("bgp", "peer {ip}: accepted connection from {remote}");
            self.input(
                registry,
                ip,
                Input::TcpConnected {
                    conn,
                    inbound: true,
                },
                now,
            );
        }
    }

    fn drive_conn(&mut self, registry: &Registry, addr: IpAddr, conn: ConnId, now: Instant) {
        // 1. Transport: finish a connect, flush what is queued, read what arrived.
        let mut first = Vec::new();
        let mut eof = false;
        let mut wrote = None;
        {
            let Some(slot) = self.peers.get_mut(&addr) else {
                return;
            };
            let Some(c) = slot.conns.get_mut(&conn) else {
                return;
            };
            if c.connecting {
                match sock::connect_finished(&c.stream) {
                    Ok(true) => {
                        c.connecting = false;
                        c.local = sock::local_addr(&c.stream).ok();
                        first.push(Input::TcpConnected {
                            conn,
                            inbound: false,
                        });
                    }
                    Ok(false) => return,
                    Err(e) => {
                        debug!("bgp", "peer {addr}: connect failed: {e}");
                        slot.stats.last_error = Some(format!("connect: {e}"));
                        first.push(Input::TcpFailed { conn });
                    }
                }
            }
            if !c.connecting && first.iter().all(|i| !matches!(i, Input::TcpFailed { .. })) {
                match write_out(c) {
                    Err(e) => {
                        debug!("bgp", "peer {addr}: write: {e}");
                        eof = true;
                    }
                    Ok(n) => {
                        if n > 0 || c.pending() > 0 {
                            wrote = Some(Input::Sent {
                                conn,
                                pending: c.pending(),
                                progressed: n > 0,
                            });
                        }
                    }
                }
                if !eof {
                    let before = c.rbuf.len();
                    let res = read_in(c);
                    if c.rbuf.len() > before {
                        self.input_gap = self.last_input.map(|t| now.saturating_duration_since(t));
                        self.last_input = Some(now);
                    }
                    match res {
                        Ok(ReadEnd::Drained) => {}
                        Ok(ReadEnd::Budget) => {
                            if !self.pending_reads.contains(&c.token) {
                                self.pending_reads.push(c.token);
                            }
                        }
                        Ok(ReadEnd::Eof) => eof = true,
                        Err(e) => {
                            debug!("bgp", "peer {addr}: read: {e}");
                            eof = true;
                        }
                    }
                }
            }
        }
        let failed = first.iter().any(|i| matches!(i, Input::TcpFailed { .. }));
        for i in first.into_iter().chain(wrote) {
            self.input(registry, addr, i, now);
        }
        if failed {
            self.drop_conn(registry, addr, conn);
            return;
        }
        // 2. Messages, one at a time: each is decoded with the context in force after
        // the previous one (the OPEN decides 4-octet AS and iBGP for what follows).
        loop {
            let Some(slot) = self.peers.get_mut(&addr) else {
                return;
            };
            let Some(c) = slot.conns.get_mut(&conn) else {
                return;
            };
            let ctx = c.ctx;
            // A framing or decoding error ends the session with the codec's NOTIFICATION.
            let Some(decoded) = c.next_message(&ctx) else {
                break;
            };
            let input = match decoded {
                Ok(d) => {
                    if !d.issues.is_empty() {
                        // RFC 7606 §6: the error, the NLRI involved and the whole message.
                        let line = issue_line(&d, c.last_message());
                        gated_warn(&mut slot.log_gate, addr, now, format_args!("{line}"));
                    }
                    count(&mut slot.stats.received, &d.message);
                    if matches!(d.message, Message::Update(_)) {
                        self.updates_in += 1;
                    }
                    Input::Received {
                        conn,
                        msg: d.message,
                    }
                }
                Err(e) => {
                    gated_warn(
                        &mut slot.log_gate,
                        addr,
                        now,
                        format_args!("bad message: {e}"),
                    );
                    slot.stats.last_error = Some(e.to_string());
                    Input::DecodeError {
                        conn,
                        notification: e.notification,
                    }
                }
            };
            self.input(registry, addr, input, now);
        }
        if eof {
            self.input(registry, addr, Input::TcpClosed { conn }, now);
            self.drop_conn(registry, addr, conn);
        }
    }

    fn drop_conn(&mut self, registry: &Registry, addr: IpAddr, conn: ConnId) {
        if let Some(slot) = self.peers.get_mut(&addr) {
            if let Some(mut c) = slot.conns.remove(&conn) {
                let _ = registry.deregister(&mut c.stream);
                self.tokens.remove(&c.token);
            }
        }
    }

    /// The FSM closed `conn`: it leaves the peer at once. Whatever it still has to send
    /// (a NOTIFICATION) is written as the socket takes it, for `CLOSE_LINGER` at most,
    /// from the event loop; the loop never waits for it.
    fn close_conn(&mut self, registry: &Registry, addr: IpAddr, conn: ConnId, now: Instant) {
        let Some(mut c) = self
            .peers
            .get_mut(&addr)
            .and_then(|slot| slot.conns.remove(&conn))
        else {
            return;
        };
        self.tokens.remove(&c.token);
        if c.connecting || c.pending() == 0 {
            let _ = registry.deregister(&mut c.stream);
            return;
        }
        let token = c.token;
        self.closing.insert(
            token,
            Closing {
                conn: c,
                peer: addr,
            },
        );
        self.timers
            .set(TimerKey::Closing(token), now + CLOSE_LINGER);
    }

    /// Writes on for a closing connection; drops it once all is written or it broke.
    fn flush_closing(&mut self, registry: &Registry, token: Token) {
        let Some(cl) = self.closing.get_mut(&token) else {
            return;
        };
        let done = write_out(&mut cl.conn).is_err() || cl.conn.pending() == 0;
        if done {
            if let Some(mut cl) = self.closing.remove(&token) {
                let _ = registry.deregister(&mut cl.conn.stream);
            }
            self.timers.cancel(&TimerKey::Closing(token));
        }
    }

    #[cfg(test)]
    /// Connections still writing their last bytes.
    pub(crate) fn closing_count(&self) -> usize {
        self.closing.len()
    }

    /// At exit: gives the closing connections up to `budget` in total (not per peer) to
    /// write their last bytes, then drops them.
    pub(crate) fn drain_closing(&mut self, registry: &Registry, budget: Duration) {
        let deadline = Instant::now() + budget;
        loop {
            let tokens: Vec<Token> = self.closing.keys().copied().collect();
            for t in tokens {
                self.flush_closing(registry, t);
            }
            if self.closing.is_empty() || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        for (_, mut cl) in self.closing.drain() {
            let _ = registry.deregister(&mut cl.conn.stream);
        }
    }

    /// Feeds one input to a peer's FSM and carries out what it asks.
    fn input(&mut self, registry: &Registry, addr: IpAddr, input: Input, now: Instant) {
        let Some(slot) = self.peers.get_mut(&addr) else {
            return;
        };
        let outputs = slot.fsm.handle(input, now);
        self.run_outputs(registry, addr, outputs, now);
    }

    fn run_outputs(
        &mut self,
        registry: &Registry,
        addr: IpAddr,
        outputs: Vec<Output>,
        now: Instant,
    ) {
        let mut work: VecDeque<Output> = outputs.into();
        while let Some(out) = work.pop_front() {
            work.extend(self.run_output(registry, addr, out, now));
        }
        if let Some(slot) = self.peers.get_mut(&addr) {
            match slot.fsm.next_deadline() {
                Some(d) => self.timers.set(TimerKey::Fsm(addr), d),
                None => {
                    self.timers.cancel(&TimerKey::Fsm(addr));
                }
            }
        }
    }

    /// Carries out one FSM output; returns the outputs it led to (the FSM's answer to
    /// a write it was told about).
    fn run_output(
        &mut self,
        registry: &Registry,
        addr: IpAddr,
        out: Output,
        now: Instant,
    ) -> Vec<Output> {
        match out {
            Output::Connect { conn } => self.connect(registry, addr, conn, now),
            Output::Send { conn, msg } => {
                let Some(slot) = self.peers.get_mut(&addr) else {
                    return Vec::new();
                };
                count(&mut slot.stats.sent, &msg);
                let Some(c) = slot.conns.get_mut(&conn) else {
                    return Vec::new();
                };
                let mut buf = Vec::new();
                if let Err(e) = wire::encode(&msg, &c.ctx, &mut buf) {
                    error!("bgp", "peer {addr}: cannot encode {msg:?}: {e}");
                    return Vec::new();
                }
                if matches!(msg, Message::Notification(_)) {
                    // The session ends: what waits behind the message being written is
                    // dropped, so the NOTIFICATION goes out next.
                    c.drop_queued();
                }
                // A broken connection shows on its next readiness event.
                let progressed = queue(c, &buf).is_ok_and(|n| n > 0);
                let pending = c.pending();
                return slot.fsm.handle(
                    Input::Sent {
                        conn,
                        pending,
                        progressed,
                    },
                    now,
                );
            }
            Output::Close { conn } => self.close_conn(registry, addr, conn, now),
            Output::Established { conn, negotiated } => {
                let Some(slot) = self.peers.get_mut(&addr) else {
                    return Vec::new();
                };
                if let Some(c) = slot.conns.get_mut(&conn) {
                    c.ctx = wire::Ctx {
                        four_octet_as: negotiated.four_octet_as,
                        ibgp: negotiated.ibgp,
                        families: wire::AfiSet::of(&negotiated.families),
                    };
                }
                slot.stats.established_transitions += 1;
                slot.stats.eor.clear();
                slot.stats.local_addr = slot.conns.get(&conn).and_then(|c| c.local.map(|a| a.ip()));
                let plan = slot.plan.clone();
                let local = slot.stats.local_addr;
                let rib_id = slot.rib_id;
                let fams: Vec<&str> = negotiated.families.iter().map(|f| f.name()).collect();
                info!(
                    "bgp",
                    "peer {addr}: Established (AS {}, router-id {}, hold {}s, families {}{})",
                    negotiated.remote_asn,
                    negotiated.remote_router_id,
                    negotiated.hold_time,
                    fams.join(","),
                    if negotiated.graceful_capable() {
                        ", graceful restart"
                    } else {
                        ""
                    }
                );
                if slot.stale_deadline.take().is_some() {
                    self.timers.cancel(&TimerKey::Stale(addr));
                }
                let info = self.rib_info(&plan, Some(&negotiated), local);
                if let Err(e) = self.rib.peer_up(rib_id, info) {
                    error!("bgp", "peer {addr}: RIB refused the session: {e}");
                }
            }
            Output::Update(u) => return self.on_update(addr, u, now),
            Output::RouteRefresh { afi, .. } => {
                if let Some(slot) = self.peers.get(&addr) {
                    debug!("bgp", "peer {addr}: route refresh for {}", afi.name());
                    self.rib.resend(slot.rib_id);
                }
            }
            Output::Down {
                reason,
                was_established,
                graceful,
                restart_time: restart,
            } => {
                let Some(slot) = self.peers.get_mut(&addr) else {
                    return Vec::new();
                };
                if !matches!(reason, DownReason::AdminStop) {
                    slot.stats.last_error = Some(reason.to_string());
                }
                slot.limiter.reset();
                let rib_id = slot.rib_id;
                if was_established {
                    let level_warn = !matches!(reason, DownReason::AdminStop);
                    let msg = format!(
                        "session down: {reason}{}",
                        if graceful {
                            format!(
                                "; keeping its routes as stale for up to {restart}s (graceful restart)"
                            )
                        } else {
                            String::new()
                        }
                    );
                    if level_warn {
                        slot.warn(now, format_args!("{msg}"));
                    } else {
                        info!("bgp", "peer {addr}: {msg}");
                    }
                    if graceful && restart > 0 {
                        let at = now + Duration::from_secs(restart as u64);
                        slot.stale_deadline = Some(at);
                        self.timers.set(TimerKey::Stale(addr), at);
                        rib_outcome(addr, "session down", self.rib.peer_down(rib_id, true));
                    } else {
                        rib_outcome(addr, "session down", self.rib.peer_down(rib_id, false));
                    }
                } else if let DownReason::NotificationSent(n)
                | DownReason::NotificationReceived(n) = &reason
                {
                    // Refused OPENs (D4 ASN mismatch, bad id, hold time) are worth a line.
                    let sent = matches!(reason, DownReason::NotificationSent(_));
                    if sent && n.kind() == NotificationCode::OpenBadPeerAs && n.data.len() == 2 {
                        let seen = u16::from_be_bytes([n.data[0], n.data[1]]);
                        let remote_asn = slot.plan.remote_asn;
                        slot.warn(
                            now,
                            format_args!(
                                "refused: it opened with AS {seen}{}, but AS {remote_asn} is configured for it (D4)",
                                if u32::from(seen) == wire::AS_TRANS {
                                    " (AS_TRANS: a 4-octet AS)"
                                } else {
                                    ""
                                }
                            ),
                        );
                    } else {
                        slot.warn(
                            now,
                            format_args!("session not established: {reason} ({})", explain(n)),
                        );
                    }
                }
            }
            Output::StateChange { from, to } => {
                if let Some(slot) = self.peers.get_mut(&addr) {
                    slot.stats.state_changes += 1;
                    slot.stats.state_since = Some(now);
                    debug!("bgp", "peer {addr}: {from} -> {to}");
                }
            }
        }
        Vec::new()
    }

    /// Applies an UPDATE to the RIB, then checks the peer's prefix limit; returns the
    /// FSM's outputs when the limit was exceeded.
    fn on_update(&mut self, addr: IpAddr, u: Update, now: Instant) -> Vec<Output> {
        let Some(slot) = self.peers.get_mut(&addr) else {
            return Vec::new();
        };
        slot.stats.last_update = Some(now);
        let id = slot.rib_id;
        let eor = u.end_of_rib;
        if let Some(afi) = eor {
            debug!("bgp", "peer {addr}: End-of-RIB {}", afi.name());
            if !slot.stats.eor.contains(&afi) {
                slot.stats.eor.push(afi);
            }
            rib_outcome(addr, "End-of-RIB", self.rib.end_of_rib(id, afi));
            return Vec::new();
        }
        let v4 = u.announced.iter().any(|p| p.afi() == Afi::Ipv4);
        let v6 = u.announced.iter().any(|p| p.afi() == Afi::Ipv6);
        if let Err(e) = self.rib.apply_update(id, u) {
            slot.warn(now, format_args!("UPDATE not applied: {e}"));
        }
        let mut out = Vec::new();
        for afi in [(v4, Afi::Ipv4), (v6, Afi::Ipv6)]
            .into_iter()
            .filter_map(|(some, afi)| some.then_some(afi))
        {
            out.extend(self.check_limit(addr, afi, now));
        }
        out
    }

    /// Checks the prefix count of `afi` against the peer's limit: a warning at 80 %, the
    /// FSM's outputs (Cease 6/1) when exceeded.
    fn check_limit(&mut self, addr: IpAddr, afi: Afi, now: Instant) -> Vec<Output> {
        let Some(slot) = self.peers.get_mut(&addr) else {
            return Vec::new();
        };
        let count = self.rib.received_of(slot.rib_id, afi);
        match slot.limiter.check(afi, count) {
            LimitVerdict::Fine => Vec::new(),
            LimitVerdict::Warn { count, limit } => {
                warn!(
                    "bgp",
                    "peer {addr}: {count} {} prefixes received, {}% of its limit {limit}",
                    afi.name(),
                    (count as u64 * 100) / u64::from(limit.max(1))
                );
                Vec::new()
            }
            LimitVerdict::Exceeded { count, limit } => {
                warn!(
                    "bgp",
                    "peer {addr}: {count} {} prefixes received, over its limit {limit}: closing the session (Cease 6/1)",
                    afi.name()
                );
                slot.fsm.handle(Input::PrefixLimit { afi, limit }, now)
            }
        }
    }

    fn connect(&mut self, registry: &Registry, addr: IpAddr, conn: ConnId, now: Instant) {
        let Some(slot) = self.peers.get(&addr) else {
            return;
        };
        let plan = &slot.plan;
        let remote = SocketAddr::new(addr, plan.port);
        let res = sock::connect_gtsm(
            remote,
            plan.local_addr,
            plan.ttl,
            plan.min_ttl,
            passwd(plan),
        );
        match res {
            Ok(mut stream) => {
                let token = self.alloc_token();
                if let Err(e) =
                    registry.register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                {
                    warn!("bgp", "peer {addr}: register: {e}");
                    self.input(registry, addr, Input::TcpFailed { conn }, now);
                    return;
                }
                if let Some(slot) = self.peers.get_mut(&addr) {
                    slot.conns
                        .insert(conn, Conn::new(stream, token, true, None));
                    self.tokens.insert(token, (addr, conn));
                }
            }
            Err(e) => {
                if let Some(slot) = self.peers.get_mut(&addr) {
                    slot.stats.last_error = Some(format!("connect: {e}"));
                }
                debug!("bgp", "peer {addr}: connect: {e}");
                self.input(registry, addr, Input::TcpFailed { conn }, now);
            }
        }
    }

    /// Encodes what the RIB wants sent and writes it to the peers' connections. A batch
    /// is encoded once per encoding context and shared by every peer that gets it: each
    /// peer's part is written straight from the shared encodings (one vectored write
    /// per peer), and only what its socket does not take at once is copied into its
    /// buffer. A route reflector sending K clients the other K-1 routes no longer holds
    /// K copies of the burst.
    ///
    /// At most `OUT_CHUNK` changed prefixes are handled per call (a million prefixes
    /// arriving must not make one turn of the loop last a quarter of a second); call
    /// again while `rib.has_out()`.
    pub(crate) fn flush_rib(&mut self, registry: &Registry, now: Instant) {
        let batches = self.rib.take_out_max(OUT_CHUNK);
        if batches.is_empty() {
            return;
        }
        let sorted: Vec<bool> = batches.iter().map(|b| b.peers.is_sorted()).collect();
        let mut recipients: Vec<PeerId> = batches
            .iter()
            .flat_map(|b| b.peers.iter().copied())
            .collect();
        recipients.sort_unstable();
        recipients.dedup();
        // Per batch: (context, bytes, UPDATE count) for each context seen so far.
        let mut enc: Vec<Vec<(wire::Ctx, Vec<u8>, u64)>> = vec![Vec::new(); batches.len()];
        let mut parts: Vec<(usize, usize)> = Vec::new();
        let mut written = Vec::new();
        for pid in recipients {
            let Some(addr) = self.by_rib.get(&pid).copied() else {
                continue;
            };
            let Some(slot) = self.peers.get_mut(&addr) else {
                continue;
            };
            let Some(conn) = slot.fsm.established_conn() else {
                continue;
            };
            let Some(ctx) = slot.conns.get(&conn).map(|c| c.ctx) else {
                continue;
            };
            parts.clear();
            for (bi, b) in batches.iter().enumerate() {
                let member = if sorted[bi] {
                    b.peers.binary_search(&pid).is_ok()
                } else {
                    b.peers.contains(&pid)
                };
                if !member || b.except == Some(pid) {
                    continue;
                }
                let cache = &mut enc[bi];
                let ei = match cache.iter().position(|(c, _, _)| *c == ctx) {
                    Some(i) => i,
                    None => {
                        let (bytes, n) = encode_batch(&b.msgs, &ctx);
                        cache.push((ctx, bytes, n));
                        cache.len() - 1
                    }
                };
                parts.push((bi, ei));
            }
            let Some(c) = slot.conns.get_mut(&conn) else {
                continue;
            };
            if parts.is_empty() {
                continue;
            }
            let slices: Vec<&[u8]> = parts
                .iter()
                .map(|&(bi, ei)| enc[bi][ei].1.as_slice())
                .collect();
            let n: u64 = parts.iter().map(|&(bi, ei)| enc[bi][ei].2).sum();
            slot.stats.sent.update += n;
            self.updates_out += n;
            let res = send_parts(c, &slices);
            let sent = Input::Sent {
                conn,
                pending: c.pending(),
                progressed: res.as_ref().is_ok_and(|&n| n > 0),
            };
            written.push((addr, conn, res.is_err(), sent));
        }
        for (addr, conn, failed, sent) in written {
            if let Some(slot) = self.peers.get_mut(&addr) {
                slot.fsm.message_sent(now);
                if failed {
                    self.input(registry, addr, Input::TcpClosed { conn }, now);
                    self.drop_conn(registry, addr, conn);
                } else {
                    // The FSM bounds what waits for a slow peer (Cease 6/8 beyond it):
                    // only this peer's unwritten part was copied, the others are not
                    // held back.
                    self.input(registry, addr, sent, now);
                }
                self.rearm(addr);
            }
        }
    }

    fn rearm(&mut self, addr: IpAddr) {
        if let Some(slot) = self.peers.get_mut(&addr) {
            if let Some(d) = slot.fsm.next_deadline() {
                self.timers.set(TimerKey::Fsm(addr), d);
            }
        }
    }

    /// Stops every session. `notify`: send Cease (administrative shutdown) so peers
    /// withdraw at once; otherwise just close (graceful restart: peers keep our routes).
    ///
    /// Nothing here waits: with `notify` the NOTIFICATIONs are queued on connections
    /// that are closing; [`Speaker::drain_closing`] gives them a bounded time at exit.
    /// Without it the sockets are just closed (what the kernel holds is still sent).
    pub fn shutdown(&mut self, registry: &Registry, notify: bool, now: Instant) {
        let addrs: Vec<IpAddr> = self.peers.keys().copied().collect();
        for addr in addrs {
            if notify {
                self.input(
                    registry,
                    addr,
                    Input::Stop {
                        cease: NotificationCode::CeaseAdminShutdown,
                    },
                    now,
                );
            }
        }
    }

    /// The BFD session protecting `addr` detected a forwarding failure: an Established
    /// session ends at once with Cease 6/10 and its routes are withdrawn (no graceful
    /// restart retention), as on a hold timer expiry; otherwise nothing happens.
    pub(crate) fn bfd_down(&mut self, registry: &Registry, addr: IpAddr, now: Instant) {
        if self.peers.contains_key(&addr) {
            self.input(registry, addr, Input::BfdDown, now);
        }
    }

    /// Peer address of a RIB peer id.
    pub(crate) fn addr_of(&self, id: PeerId) -> Option<IpAddr> {
        self.by_rib.get(&id).copied()
    }

    /// The state of a peer's session.
    pub fn state(&self, addr: &IpAddr) -> Option<State> {
        self.peers.get(addr).map(|p| p.fsm.state())
    }
}

/// The log line for an UPDATE that RFC 7606 error handling changed: what was done, the
/// NLRI involved (the first few) and the whole message in hex (RFC 7606 §6).
fn issue_line(d: &wire::Decoded, raw: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut line = String::from("malformed UPDATE handled by ");
    for (i, issue) in d.issues.iter().enumerate() {
        if i > 0 {
            line.push_str("; ");
        }
        let _ = write!(line, "{issue}");
    }
    if let Message::Update(u) = &d.message {
        let nlri: Vec<String> = u
            .announced
            .iter()
            .chain(&u.withdrawn)
            .take(8)
            .map(|p| p.to_string())
            .collect();
        let total = u.announced.len() + u.withdrawn.len();
        let _ = write!(line, "; NLRI ({total}): {}", nlri.join(" "));
        if total > nlri.len() {
            line.push_str(" ...");
        }
    }
    line.push_str("; message ");
    for b in raw {
        let _ = write!(line, "{b:02x}");
    }
    line
}

/// Logs a RIB call the speaker's own bookkeeping says cannot fail (the peer is known
/// and in the state the call needs): an error here means the two disagree, a bug worth
/// a line rather than a silent drop.
pub(super) fn rib_outcome<T>(addr: IpAddr, what: &str, r: Result<T, crate::bgp::rib::RibError>) {
    if let Err(e) = r {
        error!(
            "bgp",
            "peer {addr}: {what}: {e} (the speaker and the RIB disagree)"
        );
    }
}

/// A short explanation of common OPEN refusals for the log.
fn explain(n: &crate::bgp::types::Notification) -> &'static str {
    match n.kind() {
        NotificationCode::OpenBadPeerAs => "the peer's AS number is not the one configured",
        NotificationCode::OpenBadBgpId => "bad BGP identifier",
        NotificationCode::OpenUnacceptableHoldTime => "unacceptable hold time",
        NotificationCode::OpenUnsupportedCapability => {
            "no common address family or unsupported capability"
        }
        NotificationCode::CeaseConnectionRejected => "connection rejected by the peer",
        NotificationCode::CeaseCollision => "connection collision",
        _ => "see RFC 4271 §6",
    }
}
