//! BGP wire codec (RFC 4271, 4760, 2545, 6793, 2918, 4724, 4456, 1997, 5492, 7606, 7607,
//! 9072): bytes to [`Message`] values and back.
//!
//! Owns: message framing, decoding with RFC 7606 error handling (session reset via
//! [`DecodeError`], treat-as-withdraw and attribute-discard reported as [`Issue`]s), and
//! encoding, including the UPDATE packer the RIB uses. Must not: do I/O, read the clock,
//! keep session state (the negotiated parameters come in as [`Ctx`]), panic or allocate
//! more than a small multiple of the input on any input.

mod attrs;
mod header;
mod nlri;
mod open;
mod update;

#[cfg(test)]
mod rfc7606_tests;
#[cfg(test)]
mod update_tests;
#[cfg(test)]
mod wire_tests;

use std::fmt;

use super::types::{Afi, Attrs, Message, Notification, NotificationCode, Prefix};

pub use header::frame;

/// Largest message without the extended-message capability (RFC 4271 §4.1).
pub(crate) const MAX_MESSAGE_LEN: usize = 4096;
/// Marker + length + type.
pub(crate) const HEADER_LEN: usize = 19;
/// The 2-octet stand-in for a 4-octet AS number (RFC 6793).
pub const AS_TRANS: u32 = 23456;

/// A set of the unicast address families kube-bgp carries.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct AfiSet(u8);

impl AfiSet {
    pub const NONE: AfiSet = AfiSet(0);
    pub const IPV4: AfiSet = AfiSet(1);
    pub const IPV6: AfiSet = AfiSet(2);
    pub const ALL: AfiSet = AfiSet(3);

    fn bit(afi: Afi) -> u8 {
        match afi {
            Afi::Ipv4 => 1,
            Afi::Ipv6 => 2,
        }
    }

    pub fn of(afis: &[Afi]) -> AfiSet {
        AfiSet(afis.iter().fold(0, |m, a| m | AfiSet::bit(*a)))
    }

    pub fn contains(self, afi: Afi) -> bool {
        self.0 & AfiSet::bit(afi) != 0
    }
}

/// Negotiated session parameters that change the encoding or what is accepted.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Ctx {
    /// Both sides sent the 4-octet AS capability (RFC 6793): AS numbers are 4 octets
    /// in AS_PATH/AGGREGATOR. When false, AS_TRANS and AS4_PATH/AS4_AGGREGATOR are used.
    pub four_octet_as: bool,
    /// The peer is in our AS. LOCAL_PREF is only sent to and accepted from internal
    /// peers (RFC 4271 §5.1.5; from an external peer it is discarded, RFC 7606 §7.5),
    /// and so are ORIGINATOR_ID and CLUSTER_LIST (RFC 7606 §7.9, §7.10).
    pub ibgp: bool,
    /// The families negotiated for the session: routes of any other family are
    /// discarded when decoding (as BIRD and FRR do). Add-path is never negotiated.
    pub families: AfiSet,
}

/// A fatal decoding error: the session must be reset with `notification`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    pub notification: Notification,
    /// What was wrong, for the log.
    pub reason: String,
}

impl DecodeError {
    pub(crate) fn new(kind: NotificationCode, data: Vec<u8>, reason: String) -> DecodeError {
        DecodeError {
            notification: Notification::new(kind, data),
            reason,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.notification, self.reason)
    }
}

impl std::error::Error for DecodeError {}

/// The RFC 7606 approach applied to a non-fatal UPDATE error.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum IssueAction {
    /// The announced prefixes were moved to `withdrawn` and `attrs` cleared.
    TreatAsWithdraw,
    /// The attribute was dropped; the rest of the UPDATE stands.
    AttributeDiscard,
}

/// A non-fatal problem found (and already handled) while decoding an UPDATE.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Issue {
    pub(crate) action: IssueAction,
    /// Type code of the attribute concerned, 0 when not about one attribute.
    pub(crate) attr: u8,
    pub(crate) reason: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.action {
            IssueAction::TreatAsWithdraw => "treat-as-withdraw",
            IssueAction::AttributeDiscard => "attribute-discard",
        };
        write!(f, "{what} (attribute {}): {}", self.attr, self.reason)
    }
}

/// A decoded message and the RFC 7606 issues already applied to it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Decoded {
    pub message: Message,
    pub issues: Vec<Issue>,
}

/// Why a message could not be encoded. Nothing is written to `out` in that case.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum EncodeError {
    /// The message would exceed `MAX_MESSAGE_LEN`.
    TooLong { len: usize },
    /// Announced prefixes of this family but no next hop for it in the attributes.
    MissingNextHop(Afi),
    /// Announced prefixes without attributes.
    MissingAttrs,
    /// IPv4 routes with only an MP next hop and IPv6 routes in one UPDATE (one MP_REACH).
    MixedMpFamilies,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::TooLong { len } => write!(
                f,
                "message of {len} bytes exceeds the {MAX_MESSAGE_LEN}-byte limit"
            ),
            EncodeError::MissingNextHop(afi) => {
                write!(f, "no next hop for {} routes", afi.name())
            }
            EncodeError::MissingAttrs => f.write_str("announced routes without attributes"),
            EncodeError::MixedMpFamilies => {
                f.write_str("IPv4 routes with an MP next hop and IPv6 routes in one UPDATE")
            }
        }
    }
}

impl std::error::Error for EncodeError {}

/// Decodes one complete message (header included, as delimited by [`frame`]).
pub fn decode(msg: &[u8], ctx: &Ctx) -> Result<Decoded, DecodeError> {
    let (typ, body) = header::check(msg)?;
    let mut issues = Vec::new();
    let message = match typ {
        header::OPEN => Message::Open(open::decode(body)?),
        header::UPDATE => Message::Update(update::decode(body, ctx, &mut issues)?),
        header::NOTIFICATION => header::decode_notification(body)?,
        header::KEEPALIVE => Message::Keepalive,
        header::ROUTE_REFRESH => header::decode_route_refresh(msg, body)?,
        _ => unreachable!("header::check accepts only known types"),
    };
    Ok(Decoded { message, issues })
}

/// Appends the encoding of `msg` to `out`. On error `out` is left as it was.
pub fn encode(msg: &Message, ctx: &Ctx, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let start = out.len();
    let res = match msg {
        Message::Open(o) => open::encode(o, out),
        Message::Update(u) => update::encode(u, ctx, out),
        Message::Notification(n) => {
            header::encode_notification(n, out);
            Ok(())
        }
        Message::Keepalive => {
            let at = header::begin(out, header::KEEPALIVE);
            header::finish(out, at)
        }
        Message::RouteRefresh { afi, safi } => {
            let at = header::begin(out, header::ROUTE_REFRESH);
            out.extend_from_slice(&afi.to_be_bytes());
            out.extend_from_slice(&[0, *safi]);
            header::finish(out, at)
        }
    };
    if res.is_err() {
        out.truncate(start);
    }
    res
}

/// Appends as many UPDATE messages as needed to announce `prefixes` (any mix of
/// families) with `attrs`, each packed up to `MAX_MESSAGE_LEN`. IPv4 prefixes use the
/// NLRI field and NEXT_HOP (or MP_REACH when only `mp_next_hop` is set); IPv6 prefixes
/// use MP_REACH_NLRI. Returns the number of messages written. On error `out` is left as
/// it was.
pub fn encode_announce(
    attrs: &Attrs,
    prefixes: &[Prefix],
    ctx: &Ctx,
    out: &mut Vec<u8>,
) -> Result<usize, EncodeError> {
    let start = out.len();
    let res = update::announce(attrs, prefixes, ctx, out);
    if res.is_err() {
        out.truncate(start);
    }
    res
}

/// Appends as many UPDATE messages as needed to withdraw `prefixes` (any mix of
/// families; IPv6 via MP_UNREACH_NLRI). Returns the number of messages written.
pub(crate) fn encode_withdraw(prefixes: &[Prefix], out: &mut Vec<u8>) -> usize {
    update::withdraw(prefixes, out)
}

/// Appends the End-of-RIB marker for `afi` (RFC 4724 §2).
pub fn encode_end_of_rib(afi: Afi, out: &mut Vec<u8>) {
    update::end_of_rib(afi, out)
}
