//! The BGP speaker's sans-IO core: each configured peer's session state machine
//! (`bgp::fsm`), its connections' buffers (`daemon::conn`: framing, send queues with
//! the update groups' shared encodings), the RIB (`bgp::rib`), the per-peer timers, the
//! prefix limits (`bgp::limit` decides, the FSM ends the session) and the per-peer rate
//! limit of log lines.
//!
//! Inputs are events with `now`: a connection accepted or connected, a connect failed,
//! bytes read, bytes the socket took, a connection closed, timers, configuration
//! ([`SpeakerCore::set_peers`], listen addresses) and operator actions. Outputs are
//! data: socket operations to carry out ([`SocketOp`]: connect with source address,
//! TTL/GTSM and TCP-MD5 key, close after the last bytes, listen, keys on listeners),
//! connections with bytes to send ([`SpeakerCore::pop_writable`] and their
//! [`SendQueue`]) and [`SpeakerCore::next_deadline`]. Never touches a socket, the
//! clock or the kernel; does not decide which peers exist (that is `cluster`). The
//! socket part (`speaker::sockets`) drives it on the daemon's mio loop; peer
//! configuration is in `speaker::peers`, operator actions in `speaker::admin`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::time::{Duration, Instant};

use super::{LocalParams, PeerStats};
#[cfg(test)]
use crate::bgp::fsm::State;
use crate::bgp::fsm::{self, ConnId, DownReason, Input, Output};
use crate::bgp::limit::{LimitVerdict, PrefixLimiter};
use crate::bgp::rib::{OutBatch, PeerId, Rib};
use crate::bgp::types::{Message, NotificationCode, Update};
use crate::bgp::wire;
use crate::cluster::peers::PeerPlan;
use crate::config::Password;
use crate::daemon::conn::{Conn, GroupEncoding, SendQueue, count, same_peer_runs};
use crate::log::{Gate, LogGate};
use crate::net::Timers;
use crate::prefix::Afi;
use crate::{debug, error, info, warn};

#[cfg(test)]
#[path = "sessions_tests.rs"]
mod tests;

/// Changed prefixes one `flush_rib` call exports at most.
const OUT_CHUNK: usize = 64 * 1024;
/// Per peer, at most this many error lines per `LOG_WINDOW`.
pub(super) const LOG_BURST: u32 = 10;
pub(super) const LOG_WINDOW: Duration = Duration::from_secs(60);

/// One connection, as the core and the socket part both name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ConnKey {
    pub(crate) peer: IpAddr,
    pub(crate) conn: ConnId,
}

/// A socket operation the core asks for, in order.
pub(crate) enum SocketOp {
    /// Open a connection to `remote` (from `local` when given) with these settings;
    /// report [`SpeakerCore::connected`] or [`SpeakerCore::connect_failed`].
    Connect {
        key: ConnKey,
        remote: SocketAddr,
        local: Option<IpAddr>,
        ttl: Option<u8>,
        min_ttl: Option<u8>,
        md5: Option<Password>,
    },
    /// The FSM closed the connection: write what is left (`unsent`, whole messages
    /// and the one partly written) as the socket takes it, for a bounded time, then
    /// close.
    Close { key: ConnKey, unsent: SendQueue },
    /// Close at once (the peer is gone).
    Abort { key: ConnKey },
    /// Listen on `addr` with these TCP-MD5 keys (peer, key); with `gtsm`, SYN-ACKs go
    /// out with TTL 255 and each SYN's TTL is kept for [`SpeakerCore::admit`].
    Listen {
        addr: SocketAddr,
        gtsm: bool,
        keys: Vec<(IpAddr, Password)>,
    },
    /// Stop listening on `addr`.
    Unlisten { addr: SocketAddr },
    /// Set (or with `None` remove) `peer`'s TCP-MD5 key on every listener of its family.
    SetKey { peer: IpAddr, key: Option<Password> },
}

/// How an accepted connection must be set up before it is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AcceptRules {
    pub(crate) ttl: Option<u8>,
    /// GTSM: the minimum TTL; without it in force the connection must not be used.
    pub(crate) min_ttl: Option<u8>,
}

/// A configured neighbour and its session.
pub(crate) struct PeerSlot {
    pub(crate) plan: PeerPlan,
    pub(crate) fsm: fsm::Peer,
    pub(crate) rib_id: PeerId,
    pub(super) conns: HashMap<ConnId, Conn>,
    pub(crate) stats: PeerStats,
    pub(super) stale_deadline: Option<Instant>,
    pub(super) limiter: PrefixLimiter,
    /// Rate limit of this peer's error log lines.
    pub(super) log_gate: LogGate,
    /// Disabled by `kube-bgp neighbor ADDR disable`, with the message sent (maybe
    /// empty): the session stays down until enabled or kube-bgp restarts.
    pub(crate) admin_down: Option<String>,
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

/// Puts `key` on the list of connections with bytes to send (once).
fn want_write(list: &mut VecDeque<ConnKey>, c: &mut Conn, key: ConnKey) {
    if !c.want_write {
        c.want_write = true;
        list.push_back(key);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum TimerKey {
    Fsm(IpAddr),
    Stale(IpAddr),
}

/// RIB output taken by a flush whose members' parts are not all queued yet.
struct Flushed {
    batches: Vec<OutBatch>,
    /// Runs of batches with the same peers, and whether those peers are sorted.
    runs: Vec<(Range<usize>, bool)>,
    /// Per run: its encoding for each context seen so far.
    enc: Vec<Vec<GroupEncoding>>,
    /// Members whose parts are not queued yet, in order.
    members: VecDeque<PeerId>,
    now: Instant,
}

/// Write reports that change something for a member's FSM (bytes left queued, or a
/// send hold timer to stop), held while a flush is being written and given once every
/// member was written: the writes to K peers go out back to back, none waiting for
/// another's bookkeeping. A report that changes nothing is never held (nor given).
#[derive(Default)]
struct FanoutBook {
    /// The connection, the bytes still queued after the write, whether the socket took
    /// any, and when.
    written: Vec<(ConnKey, usize, bool, Instant)>,
}

impl FanoutBook {
    fn is_empty(&self) -> bool {
        self.written.is_empty()
    }
}

/// The speaker's sessions, their buffers and the RIB, without sockets.
pub(crate) struct SpeakerCore {
    pub(crate) rib: Rib,
    pub(crate) local: LocalParams,
    pub(crate) peers: BTreeMap<IpAddr, PeerSlot>,
    pub(super) by_rib: HashMap<PeerId, IpAddr>,
    /// The addresses listened on (asked for and not reported failed).
    pub(super) listen: Vec<SocketAddr>,
    /// Socket operations not yet taken by the socket part.
    pub(super) ops: VecDeque<SocketOp>,
    /// Connections with bytes to send, not yet taken by the socket part.
    pub(super) want_write: VecDeque<ConnKey>,
    /// RIB output of the last `flush_rib` not yet queued on every member's connection.
    flushed: Option<Flushed>,
    /// The FSM inputs of the flush being written, given once it is all written.
    book: FanoutBook,
    /// When bytes last arrived on any connection (the kernel side holds back while
    /// UPDATEs stream in).
    last_input: Option<Instant>,
    /// How long before `last_input` the input before it arrived (`None`: the first).
    input_gap: Option<Duration>,
    pub(super) timers: Timers<TimerKey>,
    pub(super) seed: u64,
    /// UPDATE messages sent and received (metrics).
    pub(crate) updates_in: u64,
    pub(crate) updates_out: u64,
}

impl SpeakerCore {
    /// A core without peers; `seed` varies the FSMs' jitter.
    pub(crate) fn new(rib: Rib, local: LocalParams, seed: u64) -> SpeakerCore {
        SpeakerCore {
            rib,
            local,
            peers: BTreeMap::new(),
            by_rib: HashMap::new(),
            listen: Vec::new(),
            ops: VecDeque::new(),
            want_write: VecDeque::new(),
            flushed: None,
            book: FanoutBook::default(),
            last_input: None,
            input_gap: None,
            timers: Timers::new(),
            seed,
            updates_in: 0,
            updates_out: 0,
        }
    }

    /// The next socket operation to carry out.
    pub(crate) fn pop_op(&mut self) -> Option<SocketOp> {
        self.ops.pop_front()
    }

    /// The next connection with bytes to send: write from [`SpeakerCore::send_queue`],
    /// then report [`SpeakerCore::on_written`]. `None` once nothing is left to write;
    /// the write reports of a flush's members that change something for their FSMs
    /// (bytes left queued) are given then, after the last member's write.
    pub(crate) fn pop_writable(&mut self) -> Option<ConnKey> {
        loop {
            while let Some(key) = self.want_write.pop_front() {
                if let Some(c) = self.conn_mut(key) {
                    c.want_write = false;
                    if c.pending() > 0 {
                        return Some(key);
                    }
                }
            }
            // Then the members of the last flush, one at a time: queued here, written next.
            while self.flushed.is_some() {
                if let Some(key) = self.queue_next_member() {
                    return Some(key);
                }
            }
            if self.book.is_empty() {
                return None;
            }
            // Everything is written: the FSMs hear the held reports of what the sockets
            // took (which may queue more, such as a NOTIFICATION).
            self.settle_fanout();
        }
    }

    /// Tells the FSMs of a flush's members what their sockets took, in the order it
    /// happened for each connection.
    fn settle_fanout(&mut self) {
        let book = std::mem::take(&mut self.book);
        for (key, pending, progressed, at) in book.written {
            if let Some(c) = self.conn_mut(key) {
                c.report_held = false;
            }
            let input = Input::Sent {
                conn: key.conn,
                pending,
                progressed,
            };
            self.input(key.peer, input, at);
        }
    }

    /// Keeps the peer's FSM timer no later than the FSM's next deadline. A deadline
    /// that moved later (the next KEEPALIVE postponed by an UPDATE sent, the hold timer
    /// restarted by a message received) leaves the earlier timer set: when it fires, the
    /// FSM finds nothing due and the timer is set again, to the deadline then. So a
    /// fan-out to K peers costs no timer operation per peer, and later at most one
    /// early wake-up per peer that does nothing.
    fn set_fsm_timer(&mut self, addr: IpAddr) {
        let Some(slot) = self.peers.get_mut(&addr) else {
            return;
        };
        let key = TimerKey::Fsm(addr);
        match slot.fsm.next_deadline() {
            Some(d) if self.timers.deadline(&key).is_some_and(|t| t <= d) => {}
            Some(d) => self.timers.set(key, d),
            None => {
                self.timers.cancel(&key);
            }
        }
    }

    /// What waits to be sent on a connection.
    pub(crate) fn send_queue(&self, key: ConnKey) -> Option<&SendQueue> {
        self.peers
            .get(&key.peer)
            .and_then(|s| s.conns.get(&key.conn))
            .map(|c| &c.sendq)
    }

    fn conn_mut(&mut self, key: ConnKey) -> Option<&mut Conn> {
        self.peers
            .get_mut(&key.peer)
            .and_then(|s| s.conns.get_mut(&key.conn))
    }

    /// The next instant the core needs [`SpeakerCore::on_timers`].
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// Runs expired timers.
    pub(crate) fn on_timers(&mut self, now: Instant) {
        while let Some(k) = self.timers.pop_expired(now) {
            match k {
                TimerKey::Fsm(addr) => self.input(addr, Input::Timers, now),
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
            }
        }
    }

    /// When bytes last arrived from any peer.
    pub(crate) fn last_input(&self) -> Option<Instant> {
        self.last_input
    }

    /// Whether the last input came alone: at least `quiet` after the input before it
    /// (reads on several connections in one turn of the loop are not alone).
    pub(crate) fn input_alone(&self, quiet: Duration) -> bool {
        self.input_gap.is_none_or(|g| g >= quiet)
    }

    /// A connection from `remote` was accepted (`syn_ttl`: the TTL its SYN arrived
    /// with, when the listener kept it). `None`: close it (not a configured peer, or
    /// GTSM refuses it); otherwise set it up with the rules and report
    /// [`SpeakerCore::accepted`].
    pub(crate) fn admit(
        &mut self,
        remote: SocketAddr,
        syn_ttl: Result<Option<u8>, String>,
        now: Instant,
    ) -> Option<AcceptRules> {
        let ip = remote.ip();
        let Some(slot) = self.peers.get_mut(&ip) else {
            // D12: not a configured peer: closed before any message is read.
            debug!(
                "bgp",
                "refused connection from {remote}: not a configured peer"
            );
            return None;
        };
        if let Some(min) = slot.plan.min_ttl {
            // GTSM (RFC 5082): the SYN must have come from one hop away. (The minimum
            // TTL set on the connection guards what follows; data may already be queued
            // by the time it is set.)
            match syn_ttl {
                Ok(Some(ttl)) if ttl >= min => {}
                other => {
                    let why = match other {
                        Ok(Some(ttl)) => format!("its SYN arrived with TTL {ttl}"),
                        Ok(None) => "its SYN's TTL is unknown".into(),
                        Err(e) => e,
                    };
                    gated_warn(
                        &mut slot.log_gate,
                        ip,
                        now,
                        format_args!(
                            "connection refused by TTL security (GTSM, minimum {min}): {why}"
                        ),
                    );
                    return None;
                }
            }
        }
        Some(AcceptRules {
            ttl: slot.plan.ttl,
            min_ttl: slot.plan.min_ttl,
        })
    }

    /// An admitted connection from `remote` is set up: it becomes one of the peer's
    /// connections. `None` when the peer is gone.
    pub(crate) fn accepted(
        &mut self,
        remote: SocketAddr,
        local: Option<SocketAddr>,
        now: Instant,
    ) -> Option<ConnKey> {
        let ip = remote.ip();
        let slot = self.peers.get_mut(&ip)?;
        let conn = slot.fsm.alloc_conn();
        slot.conns.insert(conn, Conn::new(local));
        debug!("bgp", "peer {ip}: accepted connection from {remote}");
        self.input(
            ip,
            Input::TcpConnected {
                conn,
                inbound: true,
            },
            now,
        );
        Some(ConnKey { peer: ip, conn })
    }

    /// An outbound connection is up (`local`: its local address).
    pub(crate) fn connected(&mut self, key: ConnKey, local: Option<SocketAddr>, now: Instant) {
        let Some(c) = self.conn_mut(key) else {
            return;
        };
        c.local = local;
        self.input(
            key.peer,
            Input::TcpConnected {
                conn: key.conn,
                inbound: false,
            },
            now,
        );
    }

    /// An outbound connection could not be opened or did not come up.
    pub(crate) fn connect_failed(
        &mut self,
        key: ConnKey,
        err: &dyn std::fmt::Display,
        now: Instant,
    ) {
        let addr = key.peer;
        if let Some(slot) = self.peers.get_mut(&addr) {
            slot.stats.last_error = Some(format!("connect: {err}"));
        }
        debug!("bgp", "peer {addr}: connect: {err}");
        self.input(addr, Input::TcpFailed { conn: key.conn }, now);
        self.drop_conn(key);
    }

    /// Bytes read from a connection (all of one read turn at once): framed, decoded
    /// and handed to the FSM one message at a time.
    pub(crate) fn on_read(&mut self, key: ConnKey, bytes: &[u8], now: Instant) {
        let ConnKey { peer: addr, conn } = key;
        let Some(c) = self.conn_mut(key) else {
            return;
        };
        if bytes.is_empty() {
            return;
        }
        c.received(bytes);
        self.input_gap = self.last_input.map(|t| now.saturating_duration_since(t));
        self.last_input = Some(now);
        // Messages, one at a time: each is decoded with the context in force after the
        // previous one (the OPEN decides 4-octet AS and iBGP for what follows).
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
            self.input(addr, input, now);
        }
    }

    /// The socket took `n` bytes of the connection's send queue (maybe 0): the FSM
    /// hears what still waits (the send-buffer cap and the RFC 9687 send hold timer).
    pub(crate) fn on_written(&mut self, key: ConnKey, n: usize, now: Instant) {
        let holding = self.flushed.is_some() || !self.book.is_empty();
        let Some(slot) = self.peers.get_mut(&key.peer) else {
            return;
        };
        let Some(c) = slot.conns.get_mut(&key.conn) else {
            return;
        };
        c.sendq.consume(n);
        let pending = c.pending();
        if n == 0 && pending == 0 {
            return;
        }
        // Decided here, with the peer at hand: a report that changes nothing is dropped
        // (a fan-out whose sockets took everything leaves no bookkeeping), unless an
        // earlier report of this connection is held (the FSM hears both, in order).
        if !c.report_held && !slot.fsm.sent_changes(key.conn, pending) {
            return;
        }
        if holding {
            // A flush is being written: the FSM hears it after the last member.
            c.report_held = true;
            self.book.written.push((key, pending, n > 0, now));
            return;
        }
        self.input(
            key.peer,
            Input::Sent {
                conn: key.conn,
                pending,
                progressed: n > 0,
            },
            now,
        );
    }

    /// The connection closed or broke (`why` for the debug log); the socket is gone.
    pub(crate) fn on_closed(&mut self, key: ConnKey, why: Option<&str>, now: Instant) {
        if let Some(why) = why {
            debug!("bgp", "peer {}: {why}", key.peer);
        }
        if self.conn_mut(key).is_none() {
            return;
        }
        self.input(key.peer, Input::TcpClosed { conn: key.conn }, now);
        self.drop_conn(key);
    }

    /// Forgets a connection whose socket is gone.
    fn drop_conn(&mut self, key: ConnKey) {
        if let Some(slot) = self.peers.get_mut(&key.peer) {
            slot.conns.remove(&key.conn);
        }
    }

    /// The FSM closed `conn`: it leaves the peer at once; the socket part writes what
    /// it still has to send (a NOTIFICATION) for a bounded time, and never waits.
    fn close_conn(&mut self, addr: IpAddr, conn: ConnId) {
        self.queue_flushed_all();
        let Some(c) = self
            .peers
            .get_mut(&addr)
            .and_then(|slot| slot.conns.remove(&conn))
        else {
            return;
        };
        self.ops.push_back(SocketOp::Close {
            key: ConnKey { peer: addr, conn },
            unsent: c.sendq,
        });
    }

    /// Feeds one input to a peer's FSM and carries out what it asks.
    pub(super) fn input(&mut self, addr: IpAddr, input: Input, now: Instant) {
        let Some(slot) = self.peers.get_mut(&addr) else {
            return;
        };
        let outputs = slot.fsm.handle(input, now);
        self.run_outputs(addr, outputs, now);
    }

    pub(super) fn run_outputs(&mut self, addr: IpAddr, outputs: Vec<Output>, now: Instant) {
        let mut work: VecDeque<Output> = outputs.into();
        while let Some(out) = work.pop_front() {
            work.extend(self.run_output(addr, out, now));
        }
        self.set_fsm_timer(addr);
    }

    /// Carries out one FSM output; returns the outputs it led to (the FSM's answer to
    /// a write it was told about).
    fn run_output(&mut self, addr: IpAddr, out: Output, now: Instant) -> Vec<Output> {
        match out {
            Output::Connect { conn } => self.connect(addr, conn),
            Output::Send { conn, msg } => {
                // The flushed UPDATEs come before anything sent after the flush (and a
                // NOTIFICATION drops what waits behind the message being written).
                self.queue_flushed_all();
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
                    c.sendq.drop_queued();
                }
                c.sendq.push_own(&buf);
                // The socket part writes it and reports (`on_written`): the FSM hears
                // how much still waits then.
                want_write(&mut self.want_write, c, ConnKey { peer: addr, conn });
            }
            Output::Close { conn } => self.close_conn(addr, conn),
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
    pub(super) fn check_limit(&mut self, addr: IpAddr, afi: Afi, now: Instant) -> Vec<Output> {
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

    /// Asks the socket part for an outbound connection.
    fn connect(&mut self, addr: IpAddr, conn: ConnId) {
        let Some(slot) = self.peers.get_mut(&addr) else {
            return;
        };
        let plan = &slot.plan;
        slot.conns.insert(conn, Conn::new(None));
        self.ops.push_back(SocketOp::Connect {
            key: ConnKey { peer: addr, conn },
            remote: SocketAddr::new(addr, plan.port),
            local: plan.local_addr,
            ttl: plan.ttl,
            min_ttl: plan.min_ttl,
            md5: plan.password.clone(),
        });
    }

    /// Takes what the RIB wants sent; each peer's part is queued on its connection when
    /// the socket part asks for the next connection to write ([`SpeakerCore::pop_writable`],
    /// which the socket part calls right after), so a flush to K peers touches each
    /// peer's send queue just before its write, and moves its next KEEPALIVE then (a
    /// cheap change with the peer at hand, which needs no timer work). What the sockets
    /// took is reported to the FSMs only when it changes something for them (bytes left
    /// queued), after the last member's write: the K writes go out back to back, and a
    /// fan-out whose sockets took everything leaves no per-member work after them.
    ///
    /// The batches going to the same peers (an update group's output: one batch per
    /// member left out, such as a route reflector's client that sent those routes) are
    /// encoded once per encoding context, back to back in one allocation shared by every
    /// member: each member's queue holds ranges of it (all but what leaves it out), never
    /// a copy, and the socket part writes them straight from there. A route reflector
    /// sending K clients the other K-1 routes holds one copy of the burst and about two
    /// ranges per client, however slowly some clients read; the copy is freed when the
    /// last member has written its ranges.
    ///
    /// At most `OUT_CHUNK` changed prefixes are handled per call (a million prefixes
    /// arriving must not make one turn of the loop last a quarter of a second); call
    /// again while `rib.has_out()`.
    pub(crate) fn flush_rib(&mut self, now: Instant) {
        // What an earlier flush still holds goes first (each peer's output in order).
        self.queue_flushed_all();
        let batches = self.rib.take_out_max(OUT_CHUNK);
        if batches.is_empty() {
            return;
        }
        // Runs of batches with the same peers: (batch range, whether the peers are
        // sorted), then every peer any of them goes to.
        let runs: Vec<(Range<usize>, bool)> = same_peer_runs(&batches)
            .into_iter()
            .map(|r| {
                let sorted = batches.get(r.start).is_some_and(|b| b.peers.is_sorted());
                (r, sorted)
            })
            .collect();
        let mut recipients: Vec<PeerId> = runs
            .iter()
            .filter_map(|(r, _)| batches.get(r.start))
            .flat_map(|b| b.peers.iter().copied())
            .collect();
        recipients.sort_unstable();
        recipients.dedup();
        let enc = runs.iter().map(|_| Vec::new()).collect();
        self.flushed = Some(Flushed {
            batches,
            runs,
            enc,
            members: recipients.into(),
            now,
        });
    }

    /// Queues every member's part of the last flush (their connections go on the list
    /// of connections to write).
    fn queue_flushed_all(&mut self) {
        while self.flushed.is_some() {
            if let Some(key) = self.queue_next_member() {
                let conn = self
                    .peers
                    .get_mut(&key.peer)
                    .and_then(|s| s.conns.get_mut(&key.conn));
                if let Some(c) = conn {
                    want_write(&mut self.want_write, c, key);
                }
            }
        }
    }

    /// Queues the next member's part of the last flush: its connection, or `None` when
    /// that member has no session to send on (or no member is left).
    fn queue_next_member(&mut self) -> Option<ConnKey> {
        let SpeakerCore {
            flushed,
            peers,
            by_rib,
            updates_out,
            ..
        } = self;
        let f = flushed.as_mut()?;
        let Some(pid) = f.members.pop_front() else {
            *flushed = None;
            return None;
        };
        let addr = by_rib.get(&pid).copied()?;
        let slot = peers.get_mut(&addr)?;
        let conn = slot.fsm.established_conn()?;
        let c = slot.conns.get_mut(&conn)?;
        let ctx = c.ctx;
        let mut n = 0u64;
        let mut any = false;
        for ((r, sorted), cache) in f.runs.iter().zip(f.enc.iter_mut()) {
            let Some(run) = f.batches.get(r.clone()) else {
                continue;
            };
            let peers = run.first().map(|b| &b.peers[..]).unwrap_or_default();
            let member = if *sorted {
                peers.binary_search(&pid).is_ok()
            } else {
                peers.contains(&pid)
            };
            if !member {
                continue;
            }
            let ei = match cache.iter().position(|e| e.ctx == ctx) {
                Some(i) => i,
                None => {
                    cache.push(GroupEncoding::new(run, ctx));
                    cache.len() - 1
                }
            };
            if let Some(e) = cache.get(ei) {
                n += e.queue_for(pid, run, &mut c.sendq);
                any = true;
            }
        }
        if !any {
            return None;
        }
        slot.stats.sent.update += n;
        *updates_out += n;
        // An UPDATE counts as a sign of life: the next KEEPALIVE moves. Only later, so
        // the peer's timer, set no later than the FSM's deadline, stays as it is (see
        // `set_fsm_timer`): no timer work per member.
        slot.fsm.message_sent(f.now);
        Some(ConnKey { peer: addr, conn })
    }

    /// Stops every session. `notify`: send Cease (administrative shutdown) so peers
    /// withdraw at once; otherwise nothing is sent (graceful restart: peers keep our
    /// routes), and the sockets close when the process exits.
    ///
    /// Nothing here waits: with `notify` the NOTIFICATIONs are queued on connections
    /// that are closing, which the socket part gives a bounded time at exit.
    pub(crate) fn shutdown(&mut self, notify: bool, now: Instant) {
        if !notify {
            return;
        }
        let addrs: Vec<IpAddr> = self.peers.keys().copied().collect();
        for addr in addrs {
            self.input(
                addr,
                Input::Stop {
                    cease: NotificationCode::CeaseAdminShutdown,
                },
                now,
            );
        }
    }

    /// The BFD session protecting `addr` detected a forwarding failure: an Established
    /// session ends at once with Cease 6/10 and its routes are withdrawn (no graceful
    /// restart retention), as on a hold timer expiry; otherwise nothing happens.
    pub(crate) fn bfd_down(&mut self, addr: IpAddr, now: Instant) {
        if self.peers.contains_key(&addr) {
            self.input(addr, Input::BfdDown, now);
        }
    }

    /// Peer address of a RIB peer id.
    pub(crate) fn addr_of(&self, id: PeerId) -> Option<IpAddr> {
        self.by_rib.get(&id).copied()
    }

    /// The state of a peer's session.
    #[cfg(test)]
    pub(crate) fn state(&self, addr: &IpAddr) -> Option<State> {
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
