//! A simulated network for the speaker (tests only): several agents' speakers, each
//! through its own [`SessionIo`] endpoint, talk over in-memory connections on virtual
//! time, in one thread, deterministically (the same calls give the same deliveries in
//! the same order; nothing depends on the wall clock or a hash map's order).
//!
//! Owns the listeners, the connections (two sides each) and the events in flight,
//! ordered by (arrival time, sequence number). A connect reaches the listener after the
//! link's delay, the connector hears `connected` (or, without a listener, "connection
//! refused") one delay later; bytes written arrive whole, in order, one delay later; a
//! close arrives behind the last bytes. Faults: per-link delay, a cut link (nothing
//! crosses it, no FIN: hold timers decide; what waits crosses after the heal, as TCP
//! would retransmit it), a reset (both ends see the connection closed), a crashed host
//! (its connections close as a killed process's do, its listeners are gone), a refused
//! connection whose end the connector hears late ([`SimNet::set_refusal_lag`]).
//!
//! An endpoint hands its core what is due at `now` when the speaker runs its timers
//! ([`SessionIo::on_timers`], called on every turn of the daemon), and reports when the
//! next is due through [`SessionIo::next_deadline`]. A link may take a bounded number
//! of bytes per write ([`SimNet::set_budget`]): the rest is written on one delay later,
//! so queues fill up as behind a slow socket. Makes no protocol decision and does not
//! model TCP-MD5. Dropping an endpoint closes its connections and listeners, as a
//! process's exit does.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant};

use mio::Token;

use super::SessionIo;
use super::sessions::{ConnKey, SocketOp, SpeakerCore};

/// A link's delay unless [`SimNet::set_delay`] says otherwise.
const DEFAULT_DELAY: Duration = Duration::from_millis(1);
/// The TTL a SYN arrives with when the connector asked for none (a Linux default).
const DEFAULT_TTL: u8 = 64;

/// A shared handle on one simulated network.
#[derive(Clone)]
pub(crate) struct SimNet {
    net: Rc<RefCell<Net>>,
}

type EndpointId = u64;
type LinkId = u64;

/// The connector's side of a link (index into `Link::sides`).
const CONNECTOR: usize = 0;
/// The listener's side.
const ACCEPTOR: usize = 1;

struct Net {
    /// The latest `now` any endpoint was driven with: faults take effect then.
    now: Option<Instant>,
    default_delay: Duration,
    /// Delays by host pair (lower address first).
    delays: BTreeMap<(IpAddr, IpAddr), Duration>,
    /// Cut host pairs (lower address first).
    cuts: BTreeSet<(IpAddr, IpAddr)>,
    /// Bytes one write may take, by host pair (lower address first); unbounded
    /// otherwise.
    budgets: BTreeMap<(IpAddr, IpAddr), usize>,
    /// Connections whose last write stopped at the link's budget: when, which
    /// endpoint's, in the order they stopped.
    retries: Vec<(Instant, EndpointId, ConnKey)>,
    /// Live endpoints and their host.
    endpoints: BTreeMap<EndpointId, IpAddr>,
    next_endpoint: EndpointId,
    listeners: BTreeMap<SocketAddr, EndpointId>,
    links: BTreeMap<LinkId, Link>,
    next_link: LinkId,
    /// Events in flight by (arrival, sequence).
    events: BTreeMap<(Instant, u64), Event>,
    seq: u64,
    next_port: u16,
    /// How much later than the connect's completion the connector hears the end of a
    /// connection the acceptor's speaker refused.
    refusal_lag: Duration,
}

/// One side of a connection.
struct Side {
    endpoint: EndpointId,
    host: IpAddr,
    addr: SocketAddr,
    /// The core's name for it (the acceptor's: once accepted).
    key: Option<ConnKey>,
    /// Connected (connector) or accepted (acceptor), and not closed since.
    up: bool,
    /// Closed on this side (by its core, its process, or a close that reached it).
    closed: bool,
    /// When the last event to this side arrives: later ones arrive after it.
    last_arrival: Option<Instant>,
}

/// A connection: the connector's side and the acceptor's.
struct Link {
    sides: [Side; 2],
    /// The TTL the connector's SYN carries.
    syn_ttl: u8,
    /// Reset: nothing more crosses it.
    reset: bool,
}

/// What arrives at one side of a link.
#[derive(Debug)]
enum Arrival {
    /// The SYN at the listener.
    Syn,
    /// The connect completed.
    Connected,
    /// No listener answered.
    Refused,
    Bytes(Vec<u8>),
    /// The other side closed (FIN after its last bytes).
    Fin,
    /// The connection was reset.
    Reset,
}

struct Event {
    link: LinkId,
    to: usize,
    what: Arrival,
    /// Arises on the receiving host itself (a reset): a cut does not hold it.
    local: bool,
}

/// A host pair, lower address first.
fn pair(a: IpAddr, b: IpAddr) -> (IpAddr, IpAddr) {
    if a <= b { (a, b) } else { (b, a) }
}

impl Net {
    fn delay(&self, a: IpAddr, b: IpAddr) -> Duration {
        self.delays
            .get(&pair(a, b))
            .copied()
            .unwrap_or(self.default_delay)
    }

    fn link_delay(&self, link: &Link) -> Duration {
        self.delay(link.sides[CONNECTOR].host, link.sides[ACCEPTOR].host)
    }

    /// Queues `what` for side `to` of `link`, arriving at `at` or after what is already
    /// on its way to that side.
    fn schedule(&mut self, link: LinkId, to: usize, what: Arrival, at: Instant) {
        let Some(l) = self.links.get_mut(&link) else {
            return;
        };
        let side = &mut l.sides[to];
        let at = side.last_arrival.map_or(at, |t| t.max(at));
        side.last_arrival = Some(at);
        self.seq += 1;
        self.events.insert(
            (at, self.seq),
            Event {
                link,
                to,
                what,
                local: false,
            },
        );
    }

    /// Whether `ev` waits behind a cut.
    fn held(&self, ev: &Event) -> bool {
        if ev.local {
            return false;
        }
        self.links.get(&ev.link).is_some_and(|l| {
            self.cuts
                .contains(&pair(l.sides[CONNECTOR].host, l.sides[ACCEPTOR].host))
        })
    }

    fn endpoint_of(&self, ev: &Event) -> Option<EndpointId> {
        self.links.get(&ev.link).map(|l| l.sides[ev.to].endpoint)
    }

    /// The first event for `endpoint` that can arrive (not held by a cut), with its
    /// place in the queue.
    fn first_for(&self, endpoint: EndpointId) -> Option<(Instant, u64)> {
        self.events
            .iter()
            .find(|(_, ev)| self.endpoint_of(ev) == Some(endpoint) && !self.held(ev))
            .map(|(k, _)| *k)
    }

    /// When `endpoint` next has something due: an arrival (not held by a cut) or a
    /// write that stopped at its link's budget.
    fn next_for(&self, endpoint: EndpointId) -> Option<Instant> {
        let retry = self
            .retries
            .iter()
            .filter(|(_, e, _)| *e == endpoint)
            .map(|(at, _, _)| *at)
            .min();
        let event = self.first_for(endpoint).map(|(at, _)| at);
        retry.into_iter().chain(event).min()
    }

    /// The listener endpoint for a connect to `to` (its address, or the wildcard of its
    /// family on a host that has that address).
    fn listener_for(&self, to: SocketAddr) -> Option<EndpointId> {
        if let Some(e) = self.listeners.get(&to) {
            return Some(*e);
        }
        let any: IpAddr = if to.is_ipv4() {
            std::net::Ipv4Addr::UNSPECIFIED.into()
        } else {
            std::net::Ipv6Addr::UNSPECIFIED.into()
        };
        let e = *self.listeners.get(&SocketAddr::new(any, to.port()))?;
        (self.endpoints.get(&e) == Some(&to.ip())).then_some(e)
    }

    /// Closes side `s` of `link` (its core closed it, or its process is gone): the other
    /// side hears a FIN behind `last` bytes, if it is still there to hear it.
    fn close_side(&mut self, link: LinkId, s: usize, last: Vec<u8>, now: Instant) {
        let Some(l) = self.links.get_mut(&link) else {
            return;
        };
        if l.sides[s].closed {
            return;
        }
        let was_up = l.sides[s].up;
        l.sides[s].closed = true;
        l.sides[s].up = false;
        let other = 1 - s;
        // A listener's side that never accepted has nothing to close (its SYN is
        // refused instead).
        let reaches = !l.reset
            && l.sides[s].key.is_some()
            && !l.sides[other].closed
            && l.sides[other].key.is_some();
        let hosts = (l.sides[CONNECTOR].host, l.sides[ACCEPTOR].host);
        let d = self.delay(hosts.0, hosts.1);
        if reaches {
            if was_up && !last.is_empty() {
                self.schedule(link, other, Arrival::Bytes(last), now + d);
            }
            self.schedule(link, other, Arrival::Fin, now + d);
        }
        self.forget_if_done(link);
    }

    /// Drops a link both of whose sides are closed (or never opened).
    fn forget_if_done(&mut self, link: LinkId) {
        let done = self.links.get(&link).is_some_and(|l| {
            l.sides[CONNECTOR].closed
                && (l.sides[ACCEPTOR].closed || l.sides[ACCEPTOR].key.is_none())
        });
        if done {
            self.links.remove(&link);
            self.events.retain(|_, ev| ev.link != link);
        }
    }

    /// A process's end: its listeners go, its connections close (peers hear a FIN
    /// behind what was already sent), a SYN on its way to it is refused.
    fn kill(&mut self, endpoint: EndpointId) {
        if self.endpoints.remove(&endpoint).is_none() {
            return;
        }
        self.listeners.retain(|_, e| *e != endpoint);
        self.retries.retain(|(_, e, _)| *e != endpoint);
        let Some(now) = self.now else {
            return;
        };
        // SYNs not yet accepted: refused.
        let syns: Vec<(Instant, u64)> = self
            .events
            .iter()
            .filter(|(_, ev)| {
                matches!(ev.what, Arrival::Syn) && self.endpoint_of(ev) == Some(endpoint)
            })
            .map(|(k, _)| *k)
            .collect();
        for k in syns {
            if let Some(ev) = self.events.remove(&k) {
                self.refuse(ev.link, now);
            }
        }
        let mine: Vec<(LinkId, usize)> = self
            .links
            .iter()
            .flat_map(|(id, l)| {
                (0..2)
                    .filter(|s| l.sides[*s].endpoint == endpoint)
                    .map(|s| (*id, s))
                    .collect::<Vec<_>>()
            })
            .collect();
        for (link, s) in mine {
            self.close_side(link, s, Vec::new(), now);
            // Whatever was still on its way to the dead side is lost.
            let dead = |ev: &Event| ev.link == link && ev.to == s;
            self.events.retain(|_, ev| !dead(ev));
            self.forget_if_done(link);
        }
    }

    /// The SYN of `link` found no listener: the connector hears it one delay later.
    fn refuse(&mut self, link: LinkId, now: Instant) {
        let Some(l) = self.links.get(&link) else {
            return;
        };
        let d = self.link_delay(l);
        self.schedule(link, CONNECTOR, Arrival::Refused, now + d);
    }
}

impl SimNet {
    /// An empty network; `seed` picks where the ephemeral ports start.
    pub(crate) fn new(seed: u64) -> SimNet {
        SimNet {
            net: Rc::new(RefCell::new(Net {
                now: None,
                default_delay: DEFAULT_DELAY,
                delays: BTreeMap::new(),
                cuts: BTreeSet::new(),
                budgets: BTreeMap::new(),
                retries: Vec::new(),
                endpoints: BTreeMap::new(),
                next_endpoint: 0,
                listeners: BTreeMap::new(),
                links: BTreeMap::new(),
                next_link: 0,
                events: BTreeMap::new(),
                seq: 0,
                next_port: 32768 + (seed % 16384) as u16,
                refusal_lag: Duration::ZERO,
            })),
        }
    }

    /// A new endpoint on `host` (one agent's speaker: its listeners and connections,
    /// every connection from source address `host`).
    pub(crate) fn session_io(&self, host: IpAddr) -> Box<dyn SessionIo> {
        let mut net = self.net.borrow_mut();
        net.next_endpoint += 1;
        let id = net.next_endpoint;
        net.endpoints.insert(id, host);
        Box::new(SimSessionIo {
            net: self.clone(),
            endpoint: id,
            host,
            conns: HashMap::new(),
            listen_failures: Vec::new(),
        })
    }

    /// When something is next due for `host` (what a cut holds back is not).
    pub(crate) fn next_event_at(&self, host: IpAddr) -> Option<Instant> {
        let net = self.net.borrow();
        net.endpoints
            .iter()
            .filter(|(_, h)| **h == host)
            .filter_map(|(e, _)| net.next_for(*e))
            .min()
    }

    /// From now on the connector of a connection the acceptor's speaker refuses (closes
    /// at once, unread) hears its end `lag` after the connect completed, not with it:
    /// meanwhile its speaker still takes that connection for a live one. Stands for an
    /// agent that handles newer connections before it has read the end of an older
    /// one.
    pub(crate) fn set_refusal_lag(&self, lag: Duration) {
        self.net.borrow_mut().refusal_lag = lag;
    }

    /// The one-way delay between `a` and `b` from now on (bytes already on their way
    /// keep theirs; nothing overtakes what was sent before it).
    pub(crate) fn set_delay(&self, a: IpAddr, b: IpAddr, delay: Duration) {
        self.net.borrow_mut().delays.insert(pair(a, b), delay);
    }

    /// At most `bytes` per write between `a` and `b` (`None`: no limit): what a write
    /// leaves in the send queue is written on one delay later, so a slow link's
    /// queues fill up as a slow socket's would.
    pub(crate) fn set_budget(&self, a: IpAddr, b: IpAddr, bytes: Option<usize>) {
        let mut net = self.net.borrow_mut();
        match bytes {
            Some(n) => net.budgets.insert(pair(a, b), n.max(1)),
            None => net.budgets.remove(&pair(a, b)),
        };
    }

    /// The driver's clock: faults (reset, crash) take effect at the latest of the times
    /// given here and those the endpoints were driven with. A driver that injects a
    /// fault between turns says when with this first.
    pub(crate) fn set_time(&self, now: Instant) {
        let mut net = self.net.borrow_mut();
        net.now = Some(net.now.map_or(now, |t| t.max(now)));
    }

    /// Nothing crosses between `a` and `b` until [`SimNet::heal`]; no side hears of it.
    pub(crate) fn cut(&self, a: IpAddr, b: IpAddr) {
        self.net.borrow_mut().cuts.insert(pair(a, b));
    }

    /// Ends a cut: what waited crosses now.
    pub(crate) fn heal(&self, a: IpAddr, b: IpAddr) {
        self.net.borrow_mut().cuts.remove(&pair(a, b));
    }

    /// Resets every connection between `a` and `b`: both ends hear it at once (a
    /// connect in progress fails), what was on its way is lost.
    pub(crate) fn reset(&self, a: IpAddr, b: IpAddr) {
        let mut net = self.net.borrow_mut();
        let Some(now) = net.now else {
            return;
        };
        let hosts = pair(a, b);
        let links: Vec<LinkId> = net
            .links
            .iter()
            .filter(|(_, l)| {
                !l.reset && pair(l.sides[CONNECTOR].host, l.sides[ACCEPTOR].host) == hosts
            })
            .map(|(id, _)| *id)
            .collect();
        for link in links {
            net.events.retain(|_, ev| ev.link != link);
            let Some(l) = net.links.get_mut(&link) else {
                continue;
            };
            l.reset = true;
            let ends: Vec<usize> = (0..2)
                .filter(|s| !l.sides[*s].closed && l.sides[*s].key.is_some())
                .collect();
            if ends.is_empty() {
                net.links.remove(&link);
                continue;
            }
            for s in ends {
                net.seq += 1;
                let seq = net.seq;
                net.events.insert(
                    (now, seq),
                    Event {
                        link,
                        to: s,
                        what: Arrival::Reset,
                        local: true,
                    },
                );
            }
        }
    }

    /// The agent on `host` is killed: its connections close as a dead process's do
    /// (peers hear the close), its listeners are gone, and its endpoints hand nothing
    /// more to their cores. A new [`SimNet::session_io`] for `host` starts clean.
    pub(crate) fn crash(&self, host: IpAddr) {
        let mut net = self.net.borrow_mut();
        let dead: Vec<EndpointId> = net
            .endpoints
            .iter()
            .filter(|(_, h)| **h == host)
            .map(|(e, _)| *e)
            .collect();
        for e in dead {
            net.kill(e);
        }
    }

    /// The connections open at both ends, one entry each as (lower address, higher
    /// address), sorted.
    pub(crate) fn sessions(&self) -> Vec<(IpAddr, IpAddr)> {
        let net = self.net.borrow();
        let mut v: Vec<(IpAddr, IpAddr)> = net
            .links
            .values()
            .filter(|l| !l.reset && l.sides.iter().all(|s| s.up && !s.closed))
            .map(|l| pair(l.sides[CONNECTOR].host, l.sides[ACCEPTOR].host))
            .collect();
        v.sort();
        v
    }
}

/// One agent's endpoint on a [`SimNet`].
struct SimSessionIo {
    net: SimNet,
    endpoint: EndpointId,
    host: IpAddr,
    /// The core's connections: which link and side each is.
    conns: HashMap<ConnKey, (LinkId, usize)>,
    listen_failures: Vec<(SocketAddr, String)>,
}

impl SimSessionIo {
    fn alive(&self) -> bool {
        self.net.net.borrow().endpoints.contains_key(&self.endpoint)
    }

    fn note_now(&self, now: Instant) {
        let mut net = self.net.net.borrow_mut();
        net.now = Some(net.now.map_or(now, |t| t.max(now)));
    }

    fn apply(&mut self, core: &mut SpeakerCore, op: SocketOp, now: Instant) {
        match op {
            SocketOp::Connect {
                key, remote, ttl, ..
            } => self.connect(key, remote, ttl, now),
            SocketOp::Close { key, unsent } => {
                let mut bytes = Vec::new();
                let mut io = Vec::new();
                loop {
                    unsent.slices(bytes.len(), &mut io);
                    if io.is_empty() {
                        break;
                    }
                    for s in &io {
                        bytes.extend_from_slice(s);
                    }
                }
                self.close(key, bytes, now);
            }
            SocketOp::Abort { key } => self.close(key, Vec::new(), now),
            SocketOp::Listen { addr, .. } => {
                let mut net = self.net.net.borrow_mut();
                match net.listeners.get(&addr) {
                    Some(e) if *e != self.endpoint => {
                        drop(net);
                        core.listen_failed(addr);
                        self.listen_failures
                            .push((addr, "address already in use".to_string()));
                    }
                    _ => {
                        net.listeners.insert(addr, self.endpoint);
                    }
                }
            }
            SocketOp::Unlisten { addr } => {
                let mut net = self.net.net.borrow_mut();
                if net.listeners.get(&addr) == Some(&self.endpoint) {
                    net.listeners.remove(&addr);
                }
            }
            // No TCP-MD5 in the simulation.
            SocketOp::SetKey { .. } => {}
        }
    }

    fn connect(&mut self, key: ConnKey, remote: SocketAddr, ttl: Option<u8>, now: Instant) {
        let mut net = self.net.net.borrow_mut();
        net.next_port = net.next_port.checked_add(1).unwrap_or(32768);
        let port = net.next_port;
        net.next_link += 1;
        let link = net.next_link;
        let target = net.listener_for(remote);
        let side = |endpoint, host, addr, key| Side {
            endpoint,
            host,
            addr,
            key,
            up: false,
            closed: false,
            last_arrival: None,
        };
        net.links.insert(
            link,
            Link {
                sides: [
                    side(
                        self.endpoint,
                        self.host,
                        SocketAddr::new(self.host, port),
                        Some(key),
                    ),
                    // Nobody's until a listener takes it.
                    side(0, remote.ip(), remote, None),
                ],
                syn_ttl: ttl.unwrap_or(DEFAULT_TTL),
                reset: false,
            },
        );
        self.conns.insert(key, (link, CONNECTOR));
        let d = net.delay(self.host, remote.ip());
        match target {
            Some(e) => {
                if let Some(l) = net.links.get_mut(&link) {
                    l.sides[ACCEPTOR].endpoint = e;
                }
                net.schedule(link, ACCEPTOR, Arrival::Syn, now + d);
            }
            None => net.schedule(link, CONNECTOR, Arrival::Refused, now + d + d),
        }
    }

    fn close(&mut self, key: ConnKey, last: Vec<u8>, now: Instant) {
        let Some((link, s)) = self.conns.remove(&key) else {
            return;
        };
        let mut net = self.net.net.borrow_mut();
        net.close_side(link, s, last, now);
        // Nothing more reaches the closed side.
        net.events.retain(|_, ev| !(ev.link == link && ev.to == s));
        net.forget_if_done(link);
    }

    fn write(&mut self, core: &mut SpeakerCore, key: ConnKey, now: Instant) {
        let Some(&(link, s)) = self.conns.get(&key) else {
            return;
        };
        let Some(q) = core.send_queue(key) else {
            return;
        };
        let (budget, d) = {
            let net = self.net.net.borrow();
            let Some(l) = net.links.get(&link) else {
                return;
            };
            if !l.sides[s].up {
                // Not connected yet: the core writes once it hears it is.
                return;
            }
            let hosts = pair(l.sides[CONNECTOR].host, l.sides[ACCEPTOR].host);
            (net.budgets.get(&hosts).copied(), net.link_delay(l))
        };
        let pending = q.pending();
        let take = budget.map_or(pending, |b| b.min(pending));
        let mut bytes = Vec::with_capacity(take);
        let mut io = Vec::new();
        while bytes.len() < take {
            q.slices(bytes.len(), &mut io);
            if io.is_empty() {
                break;
            }
            for sl in &io {
                bytes.extend_from_slice(sl);
            }
        }
        bytes.truncate(take);
        let n = bytes.len();
        {
            let mut net = self.net.net.borrow_mut();
            let other = 1 - s;
            // Bytes for a side that is gone are lost (its FIN is on its way here).
            if net
                .links
                .get(&link)
                .is_some_and(|l| !l.reset && !l.sides[other].closed)
            {
                net.schedule(link, other, Arrival::Bytes(bytes), now + d);
            }
        }
        if n < pending {
            let mut net = self.net.net.borrow_mut();
            let me = self.endpoint;
            if !net.retries.iter().any(|(_, e, k)| *e == me && *k == key) {
                net.retries.push((now + d, me, key));
            }
        }
        core.on_written(key, n, now);
    }

    /// Hands the core everything due for this endpoint at `now`, one arrival at a time,
    /// carrying out what the core asks after each.
    fn deliver(&mut self, core: &mut SpeakerCore, now: Instant) {
        let due: Vec<ConnKey> = {
            let mut net = self.net.net.borrow_mut();
            let me = self.endpoint;
            let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut net.retries)
                .into_iter()
                .partition(|(at, e, _)| *e == me && *at <= now);
            net.retries = later;
            due.into_iter().map(|(_, _, k)| k).collect()
        };
        if !due.is_empty() && self.alive() {
            for key in due {
                self.write(core, key, now);
            }
            self.service(core, now);
        }
        loop {
            let ev = {
                let mut net = self.net.net.borrow_mut();
                if !net.endpoints.contains_key(&self.endpoint) {
                    return;
                }
                let Some(k) = net.first_for(self.endpoint).filter(|(at, _)| *at <= now) else {
                    return;
                };
                match net.events.remove(&k) {
                    Some(ev) => ev,
                    None => return,
                }
            };
            self.arrive(core, ev, now);
            self.service(core, now);
        }
    }

    fn arrive(&mut self, core: &mut SpeakerCore, ev: Event, now: Instant) {
        let link = ev.link;
        let s = ev.to;
        let (key, remote, local, syn_ttl, up) = {
            let net = self.net.net.borrow();
            let Some(l) = net.links.get(&link) else {
                return;
            };
            let me = &l.sides[s];
            if me.closed {
                return;
            }
            (me.key, l.sides[1 - s].addr, me.addr, l.syn_ttl, me.up)
        };
        match ev.what {
            Arrival::Syn => self.accept(core, link, remote, local, syn_ttl, now),
            Arrival::Connected => {
                let Some(key) = key else { return };
                if let Some(l) = self.net.net.borrow_mut().links.get_mut(&link) {
                    l.sides[s].up = true;
                }
                core.connected(key, Some(local), now);
            }
            Arrival::Refused => {
                let Some(key) = key else { return };
                self.gone(link, s, key);
                core.connect_failed(key, &"connection refused", now);
            }
            Arrival::Bytes(b) => {
                if let Some(key) = key {
                    core.on_read(key, &b, now);
                }
            }
            Arrival::Fin | Arrival::Reset => {
                let Some(key) = key else { return };
                self.gone(link, s, key);
                let why = matches!(ev.what, Arrival::Reset).then_some("connection reset");
                if up {
                    core.on_closed(key, why, now);
                } else {
                    core.connect_failed(key, &why.unwrap_or("connection closed"), now);
                }
            }
        }
    }

    /// Side `s` of `link` heard its end: it is closed, the core is told next.
    fn gone(&mut self, link: LinkId, s: usize, key: ConnKey) {
        self.conns.remove(&key);
        let mut net = self.net.net.borrow_mut();
        if let Some(l) = net.links.get_mut(&link) {
            l.sides[s].closed = true;
            l.sides[s].up = false;
        }
        net.events.retain(|_, ev| !(ev.link == link && ev.to == s));
        net.forget_if_done(link);
    }

    /// A SYN reached this endpoint's listener.
    fn accept(
        &mut self,
        core: &mut SpeakerCore,
        link: LinkId,
        remote: SocketAddr,
        local: SocketAddr,
        syn_ttl: u8,
        now: Instant,
    ) {
        let listening = {
            let net = self.net.net.borrow();
            net.listener_for(local) == Some(self.endpoint)
                && net
                    .links
                    .get(&link)
                    .is_some_and(|l| !l.sides[CONNECTOR].closed)
        };
        if !listening {
            let mut net = self.net.net.borrow_mut();
            if net
                .links
                .get(&link)
                .is_some_and(|l| !l.sides[CONNECTOR].closed)
            {
                net.refuse(link, now);
            } else {
                net.links.remove(&link);
            }
            return;
        }
        let key = core
            .admit(remote, Ok(Some(syn_ttl)), now)
            .and_then(|_| core.accepted(remote, Some(local), now));
        let mut net = self.net.net.borrow_mut();
        let d = net.delay(self.host, remote.ip());
        match key {
            Some(key) => {
                if let Some(l) = net.links.get_mut(&link) {
                    l.sides[ACCEPTOR].key = Some(key);
                    l.sides[ACCEPTOR].up = true;
                }
                self.conns.insert(key, (link, ACCEPTOR));
                net.schedule(link, CONNECTOR, Arrival::Connected, now + d);
            }
            None => {
                // Accepted by the kernel, closed at once by the speaker.
                if let Some(l) = net.links.get_mut(&link) {
                    l.sides[ACCEPTOR].closed = true;
                }
                let lag = net.refusal_lag;
                net.schedule(link, CONNECTOR, Arrival::Connected, now + d);
                net.schedule(link, CONNECTOR, Arrival::Fin, now + d + lag);
            }
        }
    }
}

impl SessionIo for SimSessionIo {
    fn service(&mut self, core: &mut SpeakerCore, now: Instant) {
        self.note_now(now);
        if !self.alive() {
            // A dead process does nothing; its core's requests go nowhere.
            while core.pop_op().is_some() {}
            while core.pop_writable().is_some() {}
            return;
        }
        loop {
            let mut any = false;
            while let Some(op) = core.pop_op() {
                any = true;
                self.apply(core, op, now);
            }
            while let Some(key) = core.pop_writable() {
                any = true;
                self.write(core, key, now);
            }
            if !any {
                break;
            }
        }
    }

    fn ready(&mut self, _core: &mut SpeakerCore, _token: Token, _now: Instant) {}

    fn owns(&self, _token: Token) -> bool {
        false
    }

    fn on_timers(&mut self, core: &mut SpeakerCore, now: Instant) {
        self.note_now(now);
        self.deliver(core, now);
    }

    fn has_pending_reads(&self) -> bool {
        false
    }

    fn drive_pending(&mut self, core: &mut SpeakerCore, now: Instant) {
        self.note_now(now);
        self.deliver(core, now);
    }

    fn next_deadline(&mut self) -> Option<Instant> {
        let net = self.net.net.borrow();
        if !net.endpoints.contains_key(&self.endpoint) {
            return None;
        }
        net.next_for(self.endpoint)
    }

    fn listening(&self) -> Vec<SocketAddr> {
        let net = self.net.net.borrow();
        net.listeners
            .iter()
            .filter(|(_, e)| **e == self.endpoint)
            .map(|(a, _)| *a)
            .collect()
    }

    fn take_listen_failures(&mut self) -> Vec<(SocketAddr, String)> {
        std::mem::take(&mut self.listen_failures)
    }

    /// The last bytes went out with the close already.
    fn drain_closing(&mut self, _budget: Duration) {}

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl Drop for SimSessionIo {
    fn drop(&mut self) {
        self.net.net.borrow_mut().kill(self.endpoint);
    }
}

#[cfg(test)]
#[path = "sim_net_tests.rs"]
mod tests;
