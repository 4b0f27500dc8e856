//! BGP value types shared by the codec, the session state machine and the RIB.
//!
//! Owns: prefixes, path attributes and decoded messages as plain data. Does no I/O and
//! no wire encoding (that is `bgp::wire`); everything here is cheap to clone, hashable
//! (attribute sets are interned by the RIB) and printable for logs and the CLI.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use crate::prefix::{Afi, Prefix, PrefixError};

/// ORIGIN attribute (RFC 4271 §5.1.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub enum Origin {
    #[default]
    Igp = 0,
    Egp = 1,
    Incomplete = 2,
}

impl Origin {
    pub fn from_code(code: u8) -> Option<Origin> {
        match code {
            0 => Some(Origin::Igp),
            1 => Some(Origin::Egp),
            2 => Some(Origin::Incomplete),
            _ => None,
        }
    }

    /// gobgp's one-letter form: `i`, `e`, `?`.
    pub fn letter(self) -> &'static str {
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
    pub fn path_len(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s {
                AsSegment::Sequence(v) => v.len(),
                AsSegment::Set(_) => 1,
            })
            .sum()
    }

    /// Whether `asn` appears anywhere in the path (loop detection).
    pub fn contains(&self, asn: u32) -> bool {
        self.segments.iter().any(|s| match s {
            AsSegment::Sequence(v) | AsSegment::Set(v) => v.contains(&asn),
        })
    }

    /// The first AS of the path (the neighbouring AS), if the path starts with a sequence.
    pub fn first_as(&self) -> Option<u32> {
        match self.segments.first() {
            Some(AsSegment::Sequence(v)) => v.first().copied(),
            _ => None,
        }
    }

    /// Prepends `asn` `count` times to the leading sequence (creating one if needed).
    pub fn prepend(&mut self, asn: u32, count: usize) {
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
pub mod community {
    pub const NO_EXPORT: u32 = 0xFFFF_FF01;
    pub const NO_ADVERTISE: u32 = 0xFFFF_FF02;
    pub const NO_EXPORT_SUBCONFED: u32 = 0xFFFF_FF03;
    pub const NO_PEER: u32 = 0xFFFF_FF04;
    pub const GRACEFUL_SHUTDOWN: u32 = 0xFFFF_0000;
    pub const ACCEPT_OWN: u32 = 0xFFFF_0001;
    pub const BLACKHOLE: u32 = 0xFFFF_029A;
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
    pub fn set_next_hop(&mut self, afi: Afi, addr: IpAddr, link_local: Option<Ipv6Addr>) {
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

/// NOTIFICATION message (RFC 4271 §4.5).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Notification {
    pub code: u8,
    pub subcode: u8,
    pub data: Vec<u8>,
}

impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.code {
            1 => "Message Header Error",
            2 => "OPEN Message Error",
            3 => "UPDATE Message Error",
            4 => "Hold Timer Expired",
            5 => "Finite State Machine Error",
            6 => "Cease",
            7 => "ROUTE-REFRESH Message Error",
            8 => "Send Hold Timer Expired",
            _ => "Unknown",
        };
        // RFC 4486 Cease subcodes.
        let sub = match (self.code, self.subcode) {
            (6, 1) => "/Maximum Number of Prefixes Reached",
            (6, 2) => "/Administrative Shutdown",
            (6, 3) => "/Peer De-configured",
            (6, 4) => "/Administrative Reset",
            (6, 5) => "/Connection Rejected",
            (6, 6) => "/Other Configuration Change",
            (6, 7) => "/Connection Collision Resolution",
            (6, 8) => "/Out of Resources",
            _ => "",
        };
        write!(f, "{name}{sub} ({}/{})", self.code, self.subcode)
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
