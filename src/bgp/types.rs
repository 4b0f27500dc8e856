//! BGP value types shared by the codec, the session state machine and the RIB.
//!
//! Owns: prefixes, path attributes and decoded messages as plain data. Does no I/O and
//! no wire encoding (that is `bgp::wire`); everything here is cheap to clone, hashable
//! (attribute sets are interned by the RIB) and printable for logs and the CLI.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub(crate) use crate::prefix::{Afi, Prefix};

/// ORIGIN attribute (RFC 4271 §5.1.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub enum Origin {
    #[default]
    Igp = 0,
    Egp = 1,
    Incomplete = 2,
}

impl Origin {
    pub(crate) fn from_code(code: u8) -> Option<Origin> {
        match code {
            0 => Some(Origin::Igp),
            1 => Some(Origin::Egp),
            2 => Some(Origin::Incomplete),
            _ => None,
        }
    }

    /// gobgp's one-letter form: `i`, `e`, `?`.
    pub(crate) fn letter(self) -> &'static str {
        match self {
            Origin::Igp => "i",
            Origin::Egp => "e",
            Origin::Incomplete => "?",
        }
    }
}

/// One AS_PATH segment; AS numbers are always held as 4 octets (RFC 6793).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum AsSegment {
    Sequence(Vec<u32>),
    Set(Vec<u32>),
}

/// AS_PATH with AS4_PATH already merged in by the codec.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct AsPath {
    pub segments: Vec<AsSegment>,
}

impl AsPath {
    /// Path length for best-path selection: each AS in a sequence counts 1, a set counts 1.
    pub(crate) fn path_len(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s {
                AsSegment::Sequence(v) => v.len(),
                AsSegment::Set(_) => 1,
            })
            .sum()
    }

    /// Whether `asn` appears anywhere in the path (loop detection).
    pub(crate) fn contains(&self, asn: u32) -> bool {
        self.segments.iter().any(|s| match s {
            AsSegment::Sequence(v) | AsSegment::Set(v) => v.contains(&asn),
        })
    }

    /// The first AS of the path (the neighbouring AS), if the path starts with a sequence.
    pub(crate) fn first_as(&self) -> Option<u32> {
        match self.segments.first() {
            Some(AsSegment::Sequence(v)) => v.first().copied(),
            _ => None,
        }
    }

    /// Prepends `asn` `count` times to the leading sequence (creating one if needed).
    pub(crate) fn prepend(&mut self, asn: u32, count: usize) {
        if count == 0 {
            return;
        }
        match self.segments.first_mut() {
            Some(AsSegment::Sequence(v)) if v.len() + count <= 255 => {
                v.splice(0..0, std::iter::repeat_n(asn, count));
            }
            _ => self
                .segments
                .insert(0, AsSegment::Sequence(vec![asn; count])),
        }
    }
}

impl fmt::Display for AsPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for seg in &self.segments {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            match seg {
                AsSegment::Sequence(v) => {
                    let s: Vec<String> = v.iter().map(|a| a.to_string()).collect();
                    f.write_str(&s.join(" "))?;
                }
                AsSegment::Set(v) => {
                    let s: Vec<String> = v.iter().map(|a| a.to_string()).collect();
                    write!(f, "{{{}}}", s.join(","))?;
                }
            }
        }
        Ok(())
    }
}

/// AGGREGATOR (with AS4_AGGREGATOR merged in).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Aggregator {
    pub asn: u32,
    pub addr: Ipv4Addr,
}

/// Next hop carried in MP_REACH_NLRI (RFC 4760; RFC 2545 for IPv6 link-local).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct MpNextHop {
    pub addr: IpAddr,
    pub link_local: Option<Ipv6Addr>,
}

/// An attribute kube-bgp does not interpret, kept to pass on (optional transitive only).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct RawAttr {
    pub flags: u8,
    pub type_code: u8,
    pub value: Vec<u8>,
}

/// Well-known communities (RFC 1997, RFC 3765, RFC 7999, RFC 8326, RFC 7611).
pub(crate) mod community {
    pub(crate) const NO_EXPORT: u32 = 0xFFFF_FF01;
    pub(crate) const NO_ADVERTISE: u32 = 0xFFFF_FF02;
    pub(crate) const NO_EXPORT_SUBCONFED: u32 = 0xFFFF_FF03;
    pub(crate) const NO_PEER: u32 = 0xFFFF_FF04;
    pub(crate) const GRACEFUL_SHUTDOWN: u32 = 0xFFFF_0000;
    pub(crate) const ACCEPT_OWN: u32 = 0xFFFF_0001;
    pub(crate) const BLACKHOLE: u32 = 0xFFFF_029A;
}

/// The path attributes of one route, as decoded (and as encoded, for export).
///
/// Next hops: `next_hop` is the NEXT_HOP attribute (used for IPv4 NLRI);
/// `mp_next_hop` comes from MP_REACH_NLRI (used for IPv6 NLRI). Use
/// [`Attrs::next_hop_for`] to get the one that applies to a prefix's family.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct Attrs {
    pub origin: Origin,
    pub as_path: AsPath,
    pub next_hop: Option<Ipv4Addr>,
    pub mp_next_hop: Option<MpNextHop>,
    pub med: Option<u32>,
    pub local_pref: Option<u32>,
    pub atomic_aggregate: bool,
    pub aggregator: Option<Aggregator>,
    /// RFC 1997 communities, in the order received.
    pub communities: Vec<u32>,
    pub originator_id: Option<Ipv4Addr>,
    pub cluster_list: Vec<Ipv4Addr>,
    /// Unknown optional transitive attributes, passed on with the Partial bit set.
    pub unknown: Vec<RawAttr>,
}

impl Attrs {
    /// The next hop that applies to routes of family `afi`.
    pub fn next_hop_for(&self, afi: Afi) -> Option<IpAddr> {
        match afi {
            Afi::Ipv4 => self
                .next_hop
                .map(IpAddr::V4)
                .or_else(|| self.mp_next_hop.map(|m| m.addr)),
            Afi::Ipv6 => self.mp_next_hop.map(|m| m.addr),
        }
    }

    /// Sets the next hop for family `afi` (IPv4 via NEXT_HOP, IPv6 via MP_REACH).
    pub(crate) fn set_next_hop(&mut self, afi: Afi, addr: IpAddr, link_local: Option<Ipv6Addr>) {
        match (afi, addr) {
            (Afi::Ipv4, IpAddr::V4(a)) => self.next_hop = Some(a),
            _ => self.mp_next_hop = Some(MpNextHop { addr, link_local }),
        }
    }
}

/// BGP capabilities advertised in OPEN (RFC 5492).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Capability {
    /// RFC 4760: (AFI, SAFI).
    Multiprotocol { afi: u16, safi: u8 },
    /// RFC 2918.
    RouteRefresh,
    /// RFC 6793: the speaker's 4-octet AS number.
    FourOctetAs(u32),
    /// RFC 4724.
    GracefulRestart(GracefulRestartCap),
    /// Anything else, kept as received.
    Unknown { code: u8, value: Vec<u8> },
}

/// The graceful restart capability's contents (RFC 4724 §3).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct GracefulRestartCap {
    /// R bit: the sender has restarted.
    pub restart_state: bool,
    /// Restart time in seconds (12 bits).
    pub restart_time: u16,
    /// Families with their "forwarding state preserved" (F) bit.
    pub families: Vec<GrFamily>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct GrFamily {
    pub afi: u16,
    pub safi: u8,
    pub forwarding_preserved: bool,
}

/// OPEN message (RFC 4271 §4.2). `asn` is the real (4-octet) AS: the codec takes it
/// from the FourOctetAs capability when present, else from the 2-octet field.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Open {
    pub version: u8,
    pub asn: u32,
    pub hold_time: u16,
    pub router_id: Ipv4Addr,
    pub capabilities: Vec<Capability>,
}

/// UPDATE message, decoded for all families at once.
///
/// `withdrawn` holds the classic withdrawn routes and MP_UNREACH_NLRI prefixes;
/// `announced` holds the classic NLRI and MP_REACH_NLRI prefixes, all sharing `attrs`.
/// An End-of-RIB marker (RFC 4724 §2) decodes to an empty update with `end_of_rib` set.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Update {
    pub withdrawn: Vec<Prefix>,
    pub announced: Vec<Prefix>,
    pub attrs: Option<Attrs>,
    pub end_of_rib: Option<Afi>,
}

/// A NOTIFICATION's error code and subcode (RFC 4271 §4.5, RFC 4486 Cease subcodes,
/// RFC 6608 FSM subcodes, RFC 7313, RFC 9687), the one name for them in the codec, the
/// session state machine, the speaker and the logs. `Other` keeps any pair we do not
/// name, so a received NOTIFICATION always round-trips.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum NotificationCode {
    HeaderNotSynchronized,
    HeaderBadLength,
    HeaderBadType,
    OpenUnspecific,
    OpenUnsupportedVersion,
    OpenBadPeerAs,
    OpenBadBgpId,
    OpenUnsupportedParam,
    OpenUnacceptableHoldTime,
    OpenUnsupportedCapability,
    UpdateMalformedAttrList,
    UpdateUnrecognizedWellKnown,
    UpdateMissingWellKnown,
    UpdateAttrFlags,
    UpdateAttrLength,
    UpdateInvalidOrigin,
    UpdateInvalidNextHop,
    UpdateOptionalAttr,
    UpdateInvalidNetwork,
    UpdateMalformedAsPath,
    HoldTimerExpired,
    FsmUnspecified,
    FsmInOpenSent,
    FsmInOpenConfirm,
    FsmInEstablished,
    CeaseMaxPrefixes,
    CeaseAdminShutdown,
    CeasePeerDeconfigured,
    CeaseAdminReset,
    CeaseConnectionRejected,
    CeaseConfigChange,
    CeaseCollision,
    CeaseOutOfResources,
    /// RFC 9384: the BFD session protecting the BGP session went down.
    CeaseBfdDown,
    RouteRefreshBadLength,
    SendHoldTimerExpired,
    /// A pair without a name here (received from a peer).
    Other {
        code: u8,
        subcode: u8,
    },
}

use NotificationCode as N;

/// Every named pair with its (code, subcode) and its RFC name.
const NAMED: [(NotificationCode, u8, u8, &str); 36] = [
    (
        N::HeaderNotSynchronized,
        1,
        1,
        "Connection Not Synchronized",
    ),
    (N::HeaderBadLength, 1, 2, "Bad Message Length"),
    (N::HeaderBadType, 1, 3, "Bad Message Type"),
    (N::OpenUnspecific, 2, 0, ""),
    (
        N::OpenUnsupportedVersion,
        2,
        1,
        "Unsupported Version Number",
    ),
    (N::OpenBadPeerAs, 2, 2, "Bad Peer AS"),
    (N::OpenBadBgpId, 2, 3, "Bad BGP Identifier"),
    (
        N::OpenUnsupportedParam,
        2,
        4,
        "Unsupported Optional Parameter",
    ),
    (N::OpenUnacceptableHoldTime, 2, 6, "Unacceptable Hold Time"),
    (N::OpenUnsupportedCapability, 2, 7, "Unsupported Capability"),
    (N::UpdateMalformedAttrList, 3, 1, "Malformed Attribute List"),
    (
        N::UpdateUnrecognizedWellKnown,
        3,
        2,
        "Unrecognized Well-known Attribute",
    ),
    (
        N::UpdateMissingWellKnown,
        3,
        3,
        "Missing Well-known Attribute",
    ),
    (N::UpdateAttrFlags, 3, 4, "Attribute Flags Error"),
    (N::UpdateAttrLength, 3, 5, "Attribute Length Error"),
    (N::UpdateInvalidOrigin, 3, 6, "Invalid ORIGIN Attribute"),
    (N::UpdateInvalidNextHop, 3, 8, "Invalid NEXT_HOP Attribute"),
    (N::UpdateOptionalAttr, 3, 9, "Optional Attribute Error"),
    (N::UpdateInvalidNetwork, 3, 10, "Invalid Network Field"),
    (N::UpdateMalformedAsPath, 3, 11, "Malformed AS_PATH"),
    (N::HoldTimerExpired, 4, 0, ""),
    (N::FsmUnspecified, 5, 0, ""),
    (N::FsmInOpenSent, 5, 1, "Unexpected Message in OpenSent"),
    (
        N::FsmInOpenConfirm,
        5,
        2,
        "Unexpected Message in OpenConfirm",
    ),
    (
        N::FsmInEstablished,
        5,
        3,
        "Unexpected Message in Established",
    ),
    (
        N::CeaseMaxPrefixes,
        6,
        1,
        "Maximum Number of Prefixes Reached",
    ),
    (N::CeaseAdminShutdown, 6, 2, "Administrative Shutdown"),
    (N::CeasePeerDeconfigured, 6, 3, "Peer De-configured"),
    (N::CeaseAdminReset, 6, 4, "Administrative Reset"),
    (N::CeaseConnectionRejected, 6, 5, "Connection Rejected"),
    (N::CeaseConfigChange, 6, 6, "Other Configuration Change"),
    (N::CeaseCollision, 6, 7, "Connection Collision Resolution"),
    (N::CeaseOutOfResources, 6, 8, "Out of Resources"),
    (N::CeaseBfdDown, 6, 10, "BFD Down"),
    (N::RouteRefreshBadLength, 7, 1, "Invalid Message Length"),
    (N::SendHoldTimerExpired, 8, 0, ""),
];

impl NotificationCode {
    /// The error code and subcode on the wire.
    pub(crate) fn wire(self) -> (u8, u8) {
        if let N::Other { code, subcode } = self {
            return (code, subcode);
        }
        NAMED
            .iter()
            .find(|(n, ..)| *n == self)
            .map_or((0, 0), |&(_, c, s, _)| (c, s))
    }

    /// The name of a (code, subcode) pair; `Other` when it has none here.
    pub(crate) fn from_wire(code: u8, subcode: u8) -> NotificationCode {
        NAMED
            .iter()
            .find(|&&(_, c, s, _)| (c, s) == (code, subcode))
            .map_or(N::Other { code, subcode }, |&(n, ..)| n)
    }

    /// The RFC name of the error code alone.
    pub(crate) fn code_name(code: u8) -> &'static str {
        match code {
            1 => "Message Header Error",
            2 => "OPEN Message Error",
            3 => "UPDATE Message Error",
            4 => "Hold Timer Expired",
            5 => "Finite State Machine Error",
            6 => "Cease",
            7 => "ROUTE-REFRESH Message Error",
            8 => "Send Hold Timer Expired",
            _ => "Unknown",
        }
    }
}

impl fmt::Display for NotificationCode {
    /// `Cease/Administrative Shutdown (6/2)`, `Hold Timer Expired (4/0)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (code, subcode) = self.wire();
        let sub = NAMED
            .iter()
            .find(|(n, ..)| n == self)
            .map_or("", |&(.., name)| name);
        let name = NotificationCode::code_name(code);
        if sub.is_empty() {
            write!(f, "{name} ({code}/{subcode})")
        } else {
            write!(f, "{name}/{sub} ({code}/{subcode})")
        }
    }
}

/// NOTIFICATION message (RFC 4271 §4.5). `code` and `subcode` are the bytes as sent or
/// received; `Notification::kind` names them.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Notification {
    pub code: u8,
    pub subcode: u8,
    pub data: Vec<u8>,
}

impl Notification {
    pub(crate) fn new(kind: NotificationCode, data: Vec<u8>) -> Notification {
        let (code, subcode) = kind.wire();
        Notification {
            code,
            subcode,
            data,
        }
    }

    pub(crate) fn kind(&self) -> NotificationCode {
        NotificationCode::from_wire(self.code, self.subcode)
    }
}

impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kind().fmt(f)
    }
}

/// Any BGP message.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Message {
    Open(Open),
    Update(Update),
    Notification(Notification),
    Keepalive,
    /// RFC 2918 (the reserved/subtype byte is ignored).
    RouteRefresh {
        afi: u16,
        safi: u8,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notification_codes_round_trip_and_print() {
        for &(n, c, sc, _) in NAMED.iter() {
            assert_eq!(n.wire(), (c, sc));
            assert_eq!(NotificationCode::from_wire(c, sc), n);
        }
        let odd = NotificationCode::from_wire(6, 99);
        assert_eq!(
            odd,
            N::Other {
                code: 6,
                subcode: 99
            }
        );
        assert_eq!(odd.wire(), (6, 99));
        assert_eq!(odd.to_string(), "Cease (6/99)");
        assert_eq!(
            N::CeaseAdminShutdown.to_string(),
            "Cease/Administrative Shutdown (6/2)"
        );
        assert_eq!(N::HoldTimerExpired.to_string(), "Hold Timer Expired (4/0)");
        let n = Notification::new(N::OpenBadPeerAs, vec![0xfd, 0xe8]);
        assert_eq!((n.code, n.subcode, n.kind()), (2, 2, N::OpenBadPeerAs));
        assert_eq!(n.to_string(), "OPEN Message Error/Bad Peer AS (2/2)");
    }

    #[test]
    fn as_path_prepend_and_len() {
        let mut p = AsPath::default();
        p.prepend(65000, 1);
        p.prepend(65001, 3);
        assert_eq!(p.to_string(), "65001 65001 65001 65000");
        assert_eq!(p.path_len(), 4);
        assert_eq!(p.first_as(), Some(65001));
        assert!(p.contains(65000));
    }
}
