//! The set of BFD sessions of one node: local discriminator allocation, the
//! demultiplexing of received packets to sessions, and their timers.
//!
//! Owns: every [`BfdSession`], keyed by its local discriminator and by its
//! [`SessionKey`] (peer address, local address, single hop or multihop), the deadline
//! heap over them, and the reception checks of RFC 5880 §6.8.6 that need more than the
//! packet: the TTL rule of RFC 5881 §5, session selection by Your Discriminator (or by
//! addresses when it is zero, RFC 5881 §3 / RFC 5883 §3), and the authentication rule.
//! Must not: read the clock, touch sockets, or decide what a state change means for
//! BGP. Sans-IO: bytes with their addresses and `now` in; session outputs out.
//!
//! A packet whose Your Discriminator names a session is accepted only if it comes from
//! that session's peer over the same hop mode: a discriminator is not a password, but
//! this keeps a stray or spoofed packet of one peer from driving another's session.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::time::Instant;

use super::packet::{ControlPacket, PacketError};
use super::session::{BfdInput, BfdOutput, BfdSession, SessionError};
use super::{BfdTimers, HopMode, SINGLE_HOP_TTL};
use crate::bgp::fsm::timers::Prng;
use crate::net::Timers;

/// Identifies a session by its addresses: there is at most one per key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionKey {
    pub peer: IpAddr,
    pub(crate) local: IpAddr,
    pub hop: HopMode,
}

impl SessionKey {
    /// A key with IPv4-mapped IPv6 addresses written as IPv4.
    pub fn new(peer: IpAddr, local: IpAddr, hop: HopMode) -> SessionKey {
        SessionKey {
            peer: peer.to_canonical(),
            local: local.to_canonical(),
            hop,
        }
    }
}

impl fmt::Display for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} from {} ({})", self.peer, self.local, self.hop)
    }
}

/// Where a datagram came from, as the socket layer saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxMeta {
    /// Source address of the datagram.
    pub src: IpAddr,
    /// Destination address (one of ours).
    pub dst: IpAddr,
    /// Received TTL / hop limit, when the kernel reported it.
    pub ttl: Option<u8>,
    /// Which kind of socket received it: single hop (port 3784) or multihop (4784).
    pub hop: HopMode,
}

/// Why a received datagram was discarded. Each is cheap: nothing else is affected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RxDrop {
    /// Not a valid control packet (RFC 5880 §6.8.6 packet checks).
    Malformed(PacketError),
    /// A single-hop packet that did not arrive with TTL / hop limit 255 (RFC 5881 §5):
    /// it was forwarded, or the kernel did not report the TTL.
    BadTtl { ttl: Option<u8> },
    /// Your Discriminator names no session of ours.
    UnknownDiscriminator(u32),
    /// Your Discriminator names a session of another peer or hop mode.
    WrongPeer { discr: u32, src: IpAddr },
    /// Your Discriminator is 0 and no session matches the addresses.
    NoSession {
        src: IpAddr,
        dst: IpAddr,
        hop: HopMode,
    },
    /// The A bit is set: kube-bgp's sessions use no authentication, and RFC 5880
    /// §6.8.6 says such packets must be discarded. The peer is configured for it.
    AuthNotSupported { auth_type: u8 },
}

impl RxDrop {
    /// A short stable name, for logs and metric labels.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            RxDrop::Malformed(_) => "malformed",
            RxDrop::BadTtl { .. } => "bad_ttl",
            RxDrop::UnknownDiscriminator(_) => "unknown_discriminator",
            RxDrop::WrongPeer { .. } => "wrong_peer",
            RxDrop::NoSession { .. } => "no_session",
            RxDrop::AuthNotSupported { .. } => "auth_not_supported",
        }
    }
}

impl fmt::Display for RxDrop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RxDrop::Malformed(e) => write!(f, "malformed BFD packet: {e}"),
            RxDrop::BadTtl { ttl: Some(t) } => {
                write!(
                    f,
                    "single-hop BFD packet with TTL {t}, not {SINGLE_HOP_TTL}"
                )
            }
            RxDrop::BadTtl { ttl: None } => {
                f.write_str("single-hop BFD packet without a received TTL")
            }
            RxDrop::UnknownDiscriminator(d) => write!(f, "no BFD session with discriminator {d}"),
            RxDrop::WrongPeer { discr, src } => write!(
                f,
                "BFD discriminator {discr} belongs to another peer than {src}"
            ),
            RxDrop::NoSession { src, dst, hop } => {
                write!(f, "no {hop} BFD session for peer {src} on {dst}")
            }
            RxDrop::AuthNotSupported { auth_type } => write!(
                f,
                "BFD packet with authentication (type {auth_type}): kube-bgp does not \
                 support BFD authentication; disable it on the peer"
            ),
        }
    }
}

impl std::error::Error for RxDrop {}

/// Errors of this module's management calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistryError {
    /// A session for these addresses exists already.
    Duplicate(SessionKey),
    NoSuchSession(SessionKey),
    Session(SessionKey, SessionError),
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryError::Duplicate(k) => write!(f, "BFD session to {k} exists already"),
            RegistryError::NoSuchSession(k) => write!(f, "no BFD session to {k}"),
            RegistryError::Session(k, e) => write!(f, "BFD session to {k}: {e}"),
        }
    }
}

impl std::error::Error for RegistryError {}

struct Entry {
    key: SessionKey,
    session: BfdSession,
}

/// All sessions of the node.
pub struct BfdRegistry {
    by_discr: HashMap<u32, Entry>,
    by_key: HashMap<SessionKey, u32>,
    timers: Timers<u32>,
    rng: Prng,
}

impl BfdRegistry {
    /// An empty registry; `seed` drives discriminator choice and every session's jitter.
    pub fn new(seed: u64) -> BfdRegistry {
        BfdRegistry {
            by_discr: HashMap::new(),
            by_key: HashMap::new(),
            timers: Timers::new(),
            rng: Prng::new(seed),
        }
    }

    /// Creates a session (state Down, first packet due at once) and returns its local
    /// discriminator: random, non-zero and unused (RFC 5880 §6.8.1).
    pub fn add(
        &mut self,
        key: SessionKey,
        timers: BfdTimers,
        now: Instant,
    ) -> Result<u32, RegistryError> {
        let key = SessionKey::new(key.peer, key.local, key.hop);
        if self.by_key.contains_key(&key) {
            return Err(RegistryError::Duplicate(key));
        }
        let mut discr = (self.rng.next_u64() >> 32) as u32;
        while discr == 0 || self.by_discr.contains_key(&discr) {
            discr = discr.wrapping_add(1);
        }
        let session = BfdSession::new(discr, timers, now, self.rng.next_u64())
            .map_err(|e| RegistryError::Session(key, e))?;
        self.by_discr.insert(discr, Entry { key, session });
        self.by_key.insert(key, discr);
        self.rearm(discr);
        Ok(discr)
    }

    /// Removes a session at once (after [`BfdInput::AdminDown`] and
    /// [`BfdSession::is_drained`] for a graceful removal).
    pub(crate) fn remove(&mut self, key: &SessionKey) -> Option<BfdSession> {
        let discr = self.by_key.remove(key)?;
        self.timers.cancel(&discr);
        self.by_discr.remove(&discr).map(|e| e.session)
    }

    pub(crate) fn session(&self, key: &SessionKey) -> Option<&BfdSession> {
        let d = self.by_key.get(key)?;
        self.by_discr.get(d).map(|e| &e.session)
    }

    /// Every session with its key, in no particular order.
    pub fn sessions(&self) -> impl Iterator<Item = (&SessionKey, &BfdSession)> {
        self.by_discr.values().map(|e| (&e.key, &e.session))
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_discr.len()
    }

    /// Feeds a management input (AdminDown, Enable, Timers) to one session.
    pub fn handle(
        &mut self,
        key: &SessionKey,
        input: BfdInput<'_>,
        now: Instant,
    ) -> Result<Vec<BfdOutput>, RegistryError> {
        self.with_session(key, |s| Ok(s.handle(input, now)))
    }

    /// New timer values for one session (see [`BfdSession::reconfigure`]).
    pub(crate) fn reconfigure(
        &mut self,
        key: &SessionKey,
        timers: BfdTimers,
        now: Instant,
    ) -> Result<Vec<BfdOutput>, RegistryError> {
        self.with_session(key, |s| {
            s.reconfigure(timers, now)
                .map_err(|err| RegistryError::Session(*key, err))
        })
    }

    /// Runs `f` on the session of `key`, then rearms its timer.
    fn with_session(
        &mut self,
        key: &SessionKey,
        f: impl FnOnce(&mut BfdSession) -> Result<Vec<BfdOutput>, RegistryError>,
    ) -> Result<Vec<BfdOutput>, RegistryError> {
        let discr = *self
            .by_key
            .get(key)
            .ok_or(RegistryError::NoSuchSession(*key))?;
        let e = self
            .by_discr
            .get_mut(&discr)
            .ok_or(RegistryError::NoSuchSession(*key))?;
        let out = f(&mut e.session)?;
        self.rearm(discr);
        Ok(out)
    }

    /// Checks one received datagram (RFC 5880 §6.8.6, RFC 5881 §5) and hands it to its
    /// session. Returns the session's key and outputs, or why it was dropped.
    pub fn receive(
        &mut self,
        meta: &RxMeta,
        bytes: &[u8],
        now: Instant,
    ) -> Result<(SessionKey, Vec<BfdOutput>), RxDrop> {
        if meta.hop == HopMode::SingleHop && meta.ttl != Some(SINGLE_HOP_TTL) {
            return Err(RxDrop::BadTtl { ttl: meta.ttl });
        }
        let pkt = ControlPacket::decode(bytes).map_err(RxDrop::Malformed)?;
        let src = meta.src.to_canonical();
        let dst = meta.dst.to_canonical();
        let discr = if pkt.your_discr != 0 {
            let e = self
                .by_discr
                .get(&pkt.your_discr)
                .ok_or(RxDrop::UnknownDiscriminator(pkt.your_discr))?;
            if e.key.peer != src || e.key.hop != meta.hop {
                return Err(RxDrop::WrongPeer {
                    discr: pkt.your_discr,
                    src,
                });
            }
            pkt.your_discr
        } else {
            *self
                .by_key
                .get(&SessionKey::new(src, dst, meta.hop))
                .ok_or(RxDrop::NoSession {
                    src,
                    dst,
                    hop: meta.hop,
                })?
        };
        if let Some(a) = pkt.auth {
            return Err(RxDrop::AuthNotSupported {
                auth_type: a.auth_type,
            });
        }
        let Some(e) = self.by_discr.get_mut(&discr) else {
            return Err(RxDrop::UnknownDiscriminator(discr));
        };
        let out = e.session.handle(BfdInput::Packet(&pkt), now);
        let key = e.key;
        self.rearm(discr);
        Ok((key, out))
    }

    /// Runs every session whose deadline has passed; outputs come with their session.
    pub fn timers(&mut self, now: Instant) -> Vec<(SessionKey, BfdOutput)> {
        let mut out = Vec::new();
        let mut due = Vec::new();
        while let Some(d) = self.timers.pop_expired(now) {
            due.push(d);
        }
        for d in due {
            if let Some(e) = self.by_discr.get_mut(&d) {
                let key = e.key;
                out.extend(
                    e.session
                        .handle(BfdInput::Timers, now)
                        .into_iter()
                        .map(|o| (key, o)),
                );
            }
            self.rearm(d);
        }
        out
    }

    /// The earliest deadline of any session.
    pub fn next_deadline(&mut self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    fn rearm(&mut self, discr: u32) {
        match self
            .by_discr
            .get(&discr)
            .and_then(|e| e.session.next_deadline())
        {
            Some(at) => self.timers.set(discr, at),
            None => {
                self.timers.cancel(&discr);
            }
        }
    }
}
