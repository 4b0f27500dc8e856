//! BFD beside the BGP sessions: one BFD session (RFC 5880) for each BGP peer that has
//! BFD configured, created, changed and removed with that peer, driven on the daemon's
//! event loop.
//!
//! Owns: the node's BFD registry and sockets (`crate::bfd`), which BFD session protects
//! which BGP peer ([`BfdWant`], [`LinkedBfd`]), the mio tokens of the receive sockets,
//! and the per-peer BFD counters shown by `kube-bgp neighbor` and the metrics. It only
//! moves bytes between the sockets and the sans-IO registry and reports state changes.
//! Must not: act on BGP sessions (the daemon hands failures to the speaker, which ends
//! the session with Cease 6/10), or block the loop (only [`BfdLink::admin_down_before_stop`]
//! waits, bounded, after the loop has ended).
//!
//! Choices:
//! - Single hop (RFC 5881, TTL 255 enforced) when the peer's address is on a subnet the
//!   node is directly connected to and the BGP session is not eBGP multihop; multihop
//!   (RFC 5883) otherwise.
//! - The configured port (`--bfd-port`, the `bfd:` block's `port`) is the destination
//!   port; its default 3784 stands for the standard port of the session's mode, so a
//!   multihop session uses 4784.
//! - BGP never waits for BFD: sessions are established whatever BFD says (as BIRD and
//!   FRR do by default). Only a failure of a BFD session that was Up ends a BGP session.
//! - A peer's AdminDown is not a failure: the BGP session stays (RFC 5882 §3.2).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use mio::{Interest, Registry, Token};

use crate::bfd::registry::RxMeta;
use crate::bfd::session::{BfdInput, BfdOutput, ChangeCause};
use crate::bfd::sockets::BfdSockets;
use crate::bfd::{
    BfdRegistry, BfdSession, BfdState, BfdTimers, Diag, HopMode, SINGLE_HOP_PORT, SessionKey,
    StateChange,
};
use crate::cluster::peers::PeerPlan;
use crate::log::{Gate, LogGate};
use crate::prefix::Prefix;
use crate::{debug, info, warn};

/// First mio token of the BFD receive sockets.
pub(crate) const TOKEN_BASE: usize = 3000;
/// Receive sockets at most: (single hop, multihop) x (IPv4, IPv6) x a few ports.
const RX_SLOTS: usize = 16;
/// Datagrams read from one socket per turn of the loop; the rest waits for the next.
const RX_BUDGET: usize = 1024;
/// Error log lines per minute (drops of foreign packets, send errors).
const LOG_BURST: u32 = 10;
const LOG_WINDOW: Duration = Duration::from_secs(60);

/// One BFD session the configuration asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BfdWant {
    /// The BGP peer it protects.
    pub(crate) peer: IpAddr,
    pub(crate) key: SessionKey,
    /// Destination UDP port.
    pub(crate) port: u16,
    pub(crate) timers: BfdTimers,
}

/// The BFD sessions for `plans`: every peer with BFD configured and a source address.
/// `connected` are the node's directly connected subnets (they decide single hop).
pub(crate) fn bfd_wants(plans: &[PeerPlan], connected: &[Prefix]) -> Vec<BfdWant> {
    plans
        .iter()
        .filter_map(|p| {
            let b = p.bfd?;
            let local = p.local_addr?;
            let on_link = connected
                .iter()
                .any(|c| !c.is_default() && c.contains_addr(&p.addr));
            let multihop_bgp = p.ttl.is_some_and(|t| t >= 2);
            let hop = if on_link && !multihop_bgp {
                HopMode::SingleHop
            } else {
                HopMode::MultiHop
            };
            let port = if b.port == SINGLE_HOP_PORT {
                hop.default_port()
            } else {
                b.port
            };
            Some(BfdWant {
                peer: p.addr,
                key: SessionKey::new(p.addr, local, hop),
                port,
                timers: BfdTimers::from(&b),
            })
        })
        .collect()
}

/// A BFD session protecting one BGP peer, with its history.
#[derive(Clone, Debug)]
pub(crate) struct LinkedBfd {
    pub(crate) key: SessionKey,
    pub(crate) port: u16,
    pub(crate) timers: BfdTimers,
    /// State changes of the session.
    pub(crate) state_changes: u64,
    /// Failures detected: the detection time expired.
    pub(crate) detection_expired: u64,
    /// Failures detected: the peer said Down while we were Up.
    pub(crate) peer_down: u64,
    /// The peer's AdminDown (not a failure).
    pub(crate) peer_admin_down: u64,
    pub(crate) last_failure: Option<Instant>,
    /// Rate limit of this session's state-change log lines: a peer that flaps its
    /// session on purpose cannot flood the log (every change is still counted).
    change_log: LogGate,
}

/// Node-wide counters (metrics).
#[derive(Clone, Debug, Default)]
pub(crate) struct BfdLinkCounters {
    /// Datagrams dropped, by [`crate::bfd::registry::RxDrop::kind`].
    pub(crate) drops: BTreeMap<&'static str, u64>,
    pub(crate) send_errors: u64,
}

/// The node's BFD.
pub(crate) struct BfdLink {
    registry: BfdRegistry,
    /// The loop's registry (a clone), given by [`BfdLink::attach`]: without it (an
    /// agent that does not touch the host) no session is opened.
    mio: Option<Registry>,
    sockets: BfdSockets,
    /// Receive sockets registered with the loop (indices `0..registered`).
    registered: usize,
    by_peer: BTreeMap<IpAddr, LinkedBfd>,
    by_key: HashMap<SessionKey, IpAddr>,
    /// Receive sockets that stopped at their budget: read again next turn.
    pending: Vec<usize>,
    log_gate: LogGate,
    pub(crate) counters: BfdLinkCounters,
}

impl BfdLink {
    pub(crate) fn new(seed: u64) -> BfdLink {
        BfdLink {
            registry: BfdRegistry::new(seed),
            mio: None,
            sockets: BfdSockets::new(seed.rotate_left(17) ^ 0xB0FD),
            registered: 0,
            by_peer: BTreeMap::new(),
            by_key: HashMap::new(),
            pending: Vec::new(),
            log_gate: LogGate::new(LOG_WINDOW, LOG_BURST),
            counters: BfdLinkCounters::default(),
        }
    }

    /// Registers receive sockets with the loop of `registry` from now on.
    pub(crate) fn attach(&mut self, registry: &Registry) -> std::io::Result<()> {
        self.mio = Some(registry.try_clone()?);
        Ok(())
    }

    pub(crate) fn owns(&self, token: Token) -> bool {
        (TOKEN_BASE..TOKEN_BASE + RX_SLOTS).contains(&token.0)
    }

    /// The session protecting BGP peer `peer`, with its history (the views read
    /// [`BfdLink::sessions`] through the status model).
    #[cfg(test)]
    pub(crate) fn session(&self, peer: &IpAddr) -> Option<(&LinkedBfd, &BfdSession)> {
        let l = self.by_peer.get(peer)?;
        Some((l, self.registry.session(&l.key)?))
    }

    /// Every session, by BGP peer address.
    pub(crate) fn sessions(&self) -> impl Iterator<Item = (&IpAddr, &LinkedBfd, &BfdSession)> {
        self.by_peer
            .iter()
            .filter_map(|(a, l)| Some((a, l, self.registry.session(&l.key)?)))
    }

    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        self.registry.next_deadline()
    }

    /// Whether a receive socket has datagrams left from an earlier turn.
    pub(crate) fn has_pending_reads(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Makes the running sessions equal to `want`: adds, reconfigures (timers: a poll
    /// sequence, the session stays Up) and removes sessions (a removed session first
    /// tells the peer AdminDown, so the peer sees no failure). A session whose sockets
    /// cannot be opened is logged and tried again on the next call.
    pub(crate) fn set_sessions(&mut self, want: &[BfdWant], now: Instant) {
        let wanted: BTreeMap<IpAddr, &BfdWant> = want.iter().map(|w| (w.peer, w)).collect();
        let gone: Vec<IpAddr> = self
            .by_peer
            .iter()
            .filter(|(a, l)| {
                wanted
                    .get(a)
                    .is_none_or(|w| w.key != l.key || w.port != l.port)
            })
            .map(|(a, _)| *a)
            .collect();
        for peer in gone {
            self.remove(&peer, now);
        }
        for w in want {
            match self.by_peer.get_mut(&w.peer) {
                Some(l) if l.timers == w.timers => {}
                Some(l) => {
                    l.timers = w.timers;
                    let key = l.key;
                    match self.registry.reconfigure(&key, w.timers, now) {
                        Ok(outs) => {
                            info!("bfd", "peer {}: BFD timers changed ({key})", w.peer);
                            self.carry_out(&key, outs, now);
                        }
                        Err(e) => warn!("bfd", "peer {}: {e}", w.peer),
                    }
                }
                None => self.add(w, now),
            }
        }
    }

    fn add(&mut self, w: &BfdWant, now: Instant) {
        let key = w.key;
        let Some(registry) = self.mio.as_ref() else {
            warn!(
                "bfd",
                "peer {}: no BFD session: this agent has no event loop for its sockets", w.peer
            );
            return;
        };
        let rx = match self.sockets.open_rx(key.hop, w.port, key.peer.is_ipv6()) {
            Ok(i) => i,
            Err(e) => {
                warn!("bfd", "peer {}: no BFD session: {e}", w.peer);
                return;
            }
        };
        while self.registered <= rx {
            let i = self.registered;
            if i >= RX_SLOTS {
                warn!(
                    "bfd",
                    "peer {}: no BFD session: more than {RX_SLOTS} BFD ports", w.peer
                );
                return;
            }
            let Some(sock) = self.sockets.rx_socket_mut(i) else {
                return;
            };
            if let Err(e) = registry.register(sock, Token(TOKEN_BASE + i), Interest::READABLE) {
                warn!("bfd", "peer {}: BFD receive socket: {e}", w.peer);
                return;
            }
            self.registered += 1;
            // Datagrams may have arrived before registration: read them next turn.
            self.pending.push(i);
        }
        if let Err(e) = self.sockets.open_tx(&key, w.port) {
            warn!("bfd", "peer {}: no BFD session: {e}", w.peer);
            return;
        }
        if let Err(e) = self.registry.add(key, w.timers, now) {
            warn!("bfd", "peer {}: no BFD session: {e}", w.peer);
            self.sockets.close_tx(&key);
            return;
        }
        info!(
            "bfd",
            "peer {}: BFD session {key}, port {}, tx {:?} rx {:?} x{}",
            w.peer,
            w.port,
            w.timers.desired_min_tx,
            w.timers.required_min_rx,
            w.timers.detect_mult
        );
        self.by_key.insert(key, w.peer);
        self.by_peer.insert(
            w.peer,
            LinkedBfd {
                key,
                port: w.port,
                timers: w.timers,
                state_changes: 0,
                detection_expired: 0,
                peer_down: 0,
                peer_admin_down: 0,
                last_failure: None,
                change_log: LogGate::new(LOG_WINDOW, LOG_BURST),
            },
        );
        // Its first packet is due at once: the loop's next turn sends it (through
        // `on_timers`, which also reports every other session's changes).
    }

    fn remove(&mut self, peer: &IpAddr, now: Instant) {
        let Some(l) = self.by_peer.remove(peer) else {
            return;
        };
        if let Ok(outs) = self
            .registry
            .handle(&l.key, BfdInput::AdminDown(Diag::ADMIN_DOWN), now)
        {
            self.carry_out(&l.key, outs, now);
        }
        self.registry.remove(&l.key);
        self.sockets.close_tx(&l.key);
        self.by_key.remove(&l.key);
        info!("bfd", "peer {peer}: BFD session {} removed", l.key);
    }

    /// A receive socket is readable: reads what it holds (up to the budget) and returns
    /// the state changes, by BGP peer.
    pub(crate) fn ready(&mut self, token: Token, now: Instant) -> Vec<(IpAddr, StateChange)> {
        let Some(i) = token.0.checked_sub(TOKEN_BASE) else {
            return Vec::new();
        };
        self.read(i, now)
    }

    /// Reads on from the sockets that stopped at their budget on an earlier turn.
    pub(crate) fn drive_pending(&mut self, now: Instant) -> Vec<(IpAddr, StateChange)> {
        let mut changes = Vec::new();
        for i in std::mem::take(&mut self.pending) {
            changes.extend(self.read(i, now));
        }
        changes
    }

    fn read(&mut self, i: usize, now: Instant) -> Vec<(IpAddr, StateChange)> {
        let mut got: Vec<(RxMeta, Vec<u8>)> = Vec::new();
        let n = match self
            .sockets
            .drain_rx(i, RX_BUDGET, |m, b| got.push((m, b.to_vec())))
        {
            Ok(n) => n,
            Err(e) => {
                self.gated(now, format_args!("{e}"));
                0
            }
        };
        if n >= RX_BUDGET && !self.pending.contains(&i) {
            self.pending.push(i);
        }
        let mut changes = Vec::new();
        for (meta, bytes) in got {
            match self.registry.receive(&meta, &bytes, now) {
                Ok((key, outs)) => changes.extend(self.carry_out(&key, outs, now)),
                Err(drop) => {
                    *self.counters.drops.entry(drop.kind()).or_default() += 1;
                    self.gated(
                        now,
                        format_args!("dropped a packet from {} ({}): {drop}", meta.src, meta.hop),
                    );
                }
            }
        }
        changes
    }

    /// Runs the sessions' timers (transmit, detection).
    pub(crate) fn on_timers(&mut self, now: Instant) -> Vec<(IpAddr, StateChange)> {
        let outs = self.registry.timers(now);
        self.carry_out_keyed(outs, now)
    }

    fn carry_out_keyed(
        &mut self,
        outs: Vec<(SessionKey, BfdOutput)>,
        now: Instant,
    ) -> Vec<(IpAddr, StateChange)> {
        let mut changes = Vec::new();
        for (key, o) in outs {
            changes.extend(self.carry_out(&key, vec![o], now));
        }
        changes
    }

    /// Sends a session's packets and records its state changes.
    fn carry_out(
        &mut self,
        key: &SessionKey,
        outs: Vec<BfdOutput>,
        now: Instant,
    ) -> Vec<(IpAddr, StateChange)> {
        let mut changes = Vec::new();
        for o in outs {
            match o {
                BfdOutput::Send(p) => {
                    if let Err(e) = self.sockets.send(key, &p) {
                        self.counters.send_errors += 1;
                        self.gated(now, format_args!("{e}"));
                    }
                }
                BfdOutput::StateChanged(c) => {
                    let Some(peer) = self.by_key.get(key).copied() else {
                        continue;
                    };
                    if let Some(l) = self.by_peer.get_mut(&peer) {
                        l.state_changes += 1;
                        match c.cause {
                            ChangeCause::DetectionTimeExpired if c.is_failure() => {
                                l.detection_expired += 1;
                                l.last_failure = Some(now);
                            }
                            ChangeCause::PeerDown { .. } if c.is_failure() => {
                                l.peer_down += 1;
                                l.last_failure = Some(now);
                            }
                            ChangeCause::PeerAdminDown { .. } => l.peer_admin_down += 1,
                            _ => {}
                        }
                        log_change(&mut l.change_log, now, peer, key, &c);
                    }
                    changes.push((peer, c));
                }
            }
        }
        changes
    }

    fn gated(&mut self, now: Instant, msg: std::fmt::Arguments<'_>) {
        match self.log_gate.pass(now) {
            Gate::Open { suppressed: 0 } => warn!("bfd", "{msg}"),
            Gate::Open { suppressed } => {
                warn!("bfd", "{msg} ({suppressed} earlier lines suppressed)")
            }
            Gate::Closed => {}
        }
    }

    /// Before a stop with graceful restart: every session goes AdminDown (RFC 5880
    /// §6.8.16) so peers see a planned stop, not a forwarding failure, and keep our
    /// routes as graceful restart says. The AdminDown packet goes out at once; then
    /// this waits (at most `bound`) while each session repeats it at its rate for one
    /// detection time of the peer, so one lost packet does not leave the peer to time
    /// out. Returns how many sessions were told.
    pub(crate) fn admin_down_before_stop(&mut self, bound: Duration) -> usize {
        let start = Instant::now();
        let keys: Vec<SessionKey> = self.by_peer.values().map(|l| l.key).collect();
        for key in &keys {
            if let Ok(outs) =
                self.registry
                    .handle(key, BfdInput::AdminDown(Diag::ADMIN_DOWN), start)
            {
                self.carry_out(key, outs, start);
            }
        }
        loop {
            let now = Instant::now();
            let drained = self
                .registry
                .sessions()
                .all(|(_, s)| s.state() != BfdState::AdminDown || s.is_drained(now));
            let end = start + bound;
            if drained || now >= end {
                break;
            }
            let next = self.registry.next_deadline().unwrap_or(end).min(end);
            std::thread::sleep(
                next.saturating_duration_since(now)
                    .max(Duration::from_millis(1)),
            );
            let outs = self.registry.timers(Instant::now());
            self.carry_out_keyed(outs, Instant::now());
        }
        keys.len()
    }
}

/// Logs a state change, through the session's rate limit (failures and changes to or
/// from Up at warn/info, the rest at debug).
fn log_change(gate: &mut LogGate, now: Instant, peer: IpAddr, key: &SessionKey, c: &StateChange) {
    let loud = c.is_failure() || c.from == BfdState::Up || c.to == BfdState::Up;
    let suppressed = match (loud, gate.pass(now)) {
        (true, Gate::Closed) => return,
        (true, Gate::Open { suppressed }) => suppressed,
        (false, _) => 0,
    };
    let more = if suppressed > 0 {
        format!(" ({suppressed} earlier state changes of this session not logged)")
    } else {
        String::new()
    };
    let why = match c.cause {
        ChangeCause::Handshake { peer_state } => format!("peer is {peer_state}"),
        ChangeCause::DetectionTimeExpired => "detection time expired".into(),
        ChangeCause::PeerDown { peer_diag } => format!("peer says Down ({peer_diag})"),
        ChangeCause::PeerAdminDown { peer_diag } => {
            format!("peer is administratively down ({peer_diag}): not a failure")
        }
        ChangeCause::LocalAdminDown => "administratively down".into(),
        ChangeCause::LocalEnable => "enabled".into(),
    };
    if c.is_failure() {
        warn!(
            "bfd",
            "peer {peer}: BFD session {key} {} -> {}: {why}{more}", c.from, c.to
        );
    } else if c.from == BfdState::Up || c.to == BfdState::Up {
        info!(
            "bfd",
            "peer {peer}: BFD session {key} {} -> {}: {why}{more}", c.from, c.to
        );
    } else {
        debug!(
            "bfd",
            "peer {peer}: BFD session {key} {} -> {}: {why}", c.from, c.to
        );
    }
}

#[cfg(test)]
#[path = "bfd_link_tests.rs"]
mod tests;
