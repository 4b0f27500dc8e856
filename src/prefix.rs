//! IP prefixes and address families: the value types shared by the BGP speaker, the
//! kernel route code, the cluster planner and the configuration.
//!
//! Owns: `Prefix` (host bits always cleared, 18 bytes, `Copy`), `Afi` and the parse
//! error. No I/O, no wire encoding (BGP's NLRI encoding is `bgp::wire`, netlink's is
//! `kernel::codec`).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Address family (RFC 4760 AFI). Only unicast SAFI (1) is carried by kube-bgp.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Afi {
    Ipv4,
    Ipv6,
}

impl Afi {
    pub(crate) const SAFI_UNICAST: u8 = 1;

    /// The AFI number on the wire.
    pub fn code(self) -> u16 {
        match self {
            Afi::Ipv4 => 1,
            Afi::Ipv6 => 2,
        }
    }

    pub(crate) fn from_code(code: u16) -> Option<Afi> {
        match code {
            1 => Some(Afi::Ipv4),
            2 => Some(Afi::Ipv6),
            _ => None,
        }
    }

    pub(crate) fn of(addr: &IpAddr) -> Afi {
        match addr {
            IpAddr::V4(_) => Afi::Ipv4,
            IpAddr::V6(_) => Afi::Ipv6,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Afi::Ipv4 => "ipv4-unicast",
            Afi::Ipv6 => "ipv6-unicast",
        }
    }
}

/// An IP prefix with its host bits cleared. 18 bytes, `Copy`, no heap.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Prefix {
    V4(Ipv4Addr, u8),
    V6(Ipv6Addr, u8),
}

/// Why a prefix string or value was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrefixError(pub String);

impl fmt::Display for PrefixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PrefixError {}

#[allow(clippy::len_without_is_empty)] // `len` is the prefix length, not a size
impl Prefix {
    /// Builds a prefix, clearing host bits. `len` must fit the family.
    pub fn new(addr: IpAddr, len: u8) -> Result<Prefix, PrefixError> {
        match addr {
            IpAddr::V4(a) if len <= 32 => {
                let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                Ok(Prefix::V4(Ipv4Addr::from(u32::from(a) & mask), len))
            }
            IpAddr::V6(a) if len <= 128 => {
                let mask = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - len)
                };
                Ok(Prefix::V6(Ipv6Addr::from(u128::from(a) & mask), len))
            }
            _ => Err(PrefixError(format!(
                "prefix length {len} too long for {addr}"
            ))),
        }
    }

    /// The host route (/32 or /128) of an address.
    pub(crate) fn host(addr: IpAddr) -> Prefix {
        match addr {
            IpAddr::V4(a) => Prefix::V4(a, 32),
            IpAddr::V6(a) => Prefix::V6(a, 128),
        }
    }

    pub fn afi(&self) -> Afi {
        match self {
            Prefix::V4(..) => Afi::Ipv4,
            Prefix::V6(..) => Afi::Ipv6,
        }
    }

    pub fn addr(&self) -> IpAddr {
        match *self {
            Prefix::V4(a, _) => IpAddr::V4(a),
            Prefix::V6(a, _) => IpAddr::V6(a),
        }
    }

    pub(crate) fn len(&self) -> u8 {
        match *self {
            Prefix::V4(_, l) | Prefix::V6(_, l) => l,
        }
    }

    /// True for 0.0.0.0/0 and ::/0.
    pub(crate) fn is_default(&self) -> bool {
        self.len() == 0
    }

    /// Whether `addr` lies inside this prefix.
    pub(crate) fn contains_addr(&self, addr: &IpAddr) -> bool {
        match (*self, *addr) {
            (Prefix::V4(p, l), IpAddr::V4(a)) => {
                let mask = if l == 0 { 0 } else { u32::MAX << (32 - l) };
                u32::from(a) & mask == u32::from(p)
            }
            (Prefix::V6(p, l), IpAddr::V6(a)) => {
                let mask = if l == 0 { 0 } else { u128::MAX << (128 - l) };
                u128::from(a) & mask == u128::from(p)
            }
            _ => false,
        }
    }

    /// Whether `other` is this prefix or a more-specific of it.
    pub(crate) fn covers(&self, other: &Prefix) -> bool {
        self.afi() == other.afi() && other.len() >= self.len() && self.contains_addr(&other.addr())
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Prefix::V4(a, l) => write!(f, "{a}/{l}"),
            Prefix::V6(a, l) => write!(f, "{a}/{l}"),
        }
    }
}

impl FromStr for Prefix {
    type Err = PrefixError;

    /// Parses `addr/len`; host bits are cleared, as Go's `net.ParseCIDR` does for the
    /// network kube-router uses. A bare address is refused.
    fn from_str(s: &str) -> Result<Prefix, PrefixError> {
        let (a, l) = s
            .split_once('/')
            .ok_or_else(|| PrefixError(format!("{s:?} is not a CIDR (missing /length)")))?;
        let addr: IpAddr = a
            .parse()
            .map_err(|_| PrefixError(format!("{s:?} is not a CIDR (bad address)")))?;
        if l.is_empty() || l.len() > 3 || !l.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PrefixError(format!("{s:?} is not a CIDR (bad length)")));
        }
        let len: u8 = l
            .parse()
            .map_err(|_| PrefixError(format!("{s:?} is not a CIDR (bad length)")))?;
        let p = Prefix::new(addr, len).map_err(|e| PrefixError(format!("{s:?}: {e}")))?;
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_parse_and_contain() {
        let p: Prefix = "10.244.1.0/24".parse().unwrap();
        assert_eq!(p.to_string(), "10.244.1.0/24");
        assert!(p.contains_addr(&"10.244.1.7".parse().unwrap()));
        assert!(!p.contains_addr(&"10.244.2.7".parse().unwrap()));
        assert!(p.covers(&"10.244.1.128/25".parse().unwrap()));
        assert!(!p.covers(&"10.244.0.0/16".parse().unwrap()));
        let d: Prefix = "::/0".parse().unwrap();
        assert!(d.is_default());
        assert!("10.0.0.0".parse::<Prefix>().is_err());
        assert!("10.0.0.0/33".parse::<Prefix>().is_err());
        assert!("10.0.0.0/ 8".parse::<Prefix>().is_err());
        assert_eq!(std::mem::size_of::<Prefix>(), 18);
    }

    #[test]
    fn prefix_new_clears_host_bits() {
        let p = Prefix::new("10.1.2.3".parse().unwrap(), 16).unwrap();
        assert_eq!(p.to_string(), "10.1.0.0/16");
        let q = Prefix::new("2001:db8::1".parse().unwrap(), 32).unwrap();
        assert_eq!(q.to_string(), "2001:db8::/32");
    }
}
