//! Parsing of the values kube-bgp reads from `kube-router.io/*` annotations: numbers,
//! ASNs, cluster IDs, passwords, communities, booleans and lists.
//!
//! Owns the value rules of kube-bgp's decision D3 (decimal numbers, plus RFC 5396 asdot
//! for ASNs; never octal or hex) and kube-router's list splitting (split on `,`, no
//! trimming). Pure functions; errors are plain strings that the caller prefixes with the
//! node and annotation. Never puts a password (or its encoding) in an error.

use crate::config::Password;
use std::net::{IpAddr, Ipv4Addr};

/// Splits an annotation list the way kube-router does: on `,`, no trimming; an empty
/// string is one empty element.
pub(crate) fn split_list(s: &str) -> Vec<&str> {
    s.split(',').collect()
}

/// A decimal number per D3 (the same rules as the command line).
pub(crate) fn parse_decimal(s: &str, max: u64) -> Result<u64, String> {
    crate::config::parse::decimal(s, max).map_err(|e| format!("{s:?}: {e}"))
}

/// An AS number: decimal ("65000", "4200000001") or RFC 5396 asdot ("1.10" = 65546).
pub(crate) fn parse_asn(s: &str) -> Result<u32, String> {
    crate::config::parse::asn(s).map_err(|e| format!("bad ASN {s:?}: {e}"))
}

/// kube-router's "non-reserved ASN" rule for peers (its `validateASN`).
pub(crate) fn check_peer_asn(asn: u32) -> Result<u32, String> {
    let ok = matches!(asn,
        1..=23455 | 23457..=63999 | 64512..=65534 | 131072..=4199999999 | 4200000000..=4294967294);
    if ok {
        Ok(asn)
    } else {
        Err(format!("reserved ASN number {asn}"))
    }
}

/// A route-reflector cluster ID: a decimal u32 or a dotted IPv4 address; both mean the
/// same 32-bit CLUSTER_ID (42 = 0.0.0.42), decision D2.
pub(crate) fn parse_cluster_id(s: &str) -> Result<Ipv4Addr, String> {
    if let Ok(a) = s.parse::<Ipv4Addr>() {
        return Ok(a);
    }
    parse_decimal(s, u32::MAX as u64)
        .map(|v| Ipv4Addr::from(v as u32))
        .map_err(|_| format!("cluster ID {s:?} is neither a decimal number nor an IPv4 address"))
}

/// A base64 TCP-MD5 password, decoded as Go's standard decoder does (`\r`/`\n`
/// ignored, padding required). An empty entry means "no password" (`None`). The error
/// never contains the value.
pub(crate) fn parse_password(s: &str) -> Result<Option<Password>, String> {
    let key = crate::config::parse::base64_std(s)
        .map_err(|_| "could not parse value as a base64 encoded string".to_string())?;
    if key.is_empty() {
        return Ok(None);
    }
    if key.len() > 80 {
        return Err(format!(
            "decoded password is {} bytes; TCP-MD5 keys are at most 80",
            key.len()
        ));
    }
    Ok(Some(Password::new(key)))
}

/// Go's `strconv.ParseBool`; anything else is `None` (kube-router then reads false).
pub(crate) fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// A BGP community: a 32-bit decimal, `a:b` with two 16-bit decimals, or a well-known
/// name as GoBGP spells it.
pub(crate) fn parse_community(s: &str) -> Result<u32, String> {
    use crate::bgp::types::community::*;
    let named = match s.to_ascii_lowercase().as_str() {
        "no-export" => Some(NO_EXPORT),
        "no-advertise" => Some(NO_ADVERTISE),
        "no-export-subconfed" => Some(NO_EXPORT_SUBCONFED),
        "no-peer" => Some(NO_PEER),
        "graceful-shutdown" | "planned-shut" => Some(GRACEFUL_SHUTDOWN),
        "accept-own" => Some(ACCEPT_OWN),
        "blackhole" => Some(BLACKHOLE),
        "internet" => Some(0),
        "llgr-stale" => Some(0xFFFF_0006),
        "no-llgr" => Some(0xFFFF_0007),
        "accept-own-nexthop" => Some(0xFFFF_0008),
        _ => None,
    };
    if let Some(v) = named {
        return Ok(v);
    }
    if let Some((hi, lo)) = s.split_once(':') {
        let hi = parse_decimal(hi, 65535).map_err(|e| format!("community {s:?}: {e}"))?;
        let lo = parse_decimal(lo, 65535).map_err(|e| format!("community {s:?}: {e}"))?;
        return Ok(((hi as u32) << 16) | lo as u32);
    }
    parse_decimal(s, u32::MAX as u64)
        .map(|v| v as u32)
        .map_err(|_| format!("{s:?} is not a community (32-bit number, a:b, or a well-known name)"))
}

/// An IP address with no surrounding spaces.
pub(crate) fn parse_ip(s: &str) -> Result<IpAddr, String> {
    s.parse::<IpAddr>()
        .map_err(|_| format!("{s:?} is not a valid IP address"))
}

/// FNV-1a 32-bit hash of the address in its 16-byte form (IPv4 as `::ffff:a.b.c.d`),
/// as a dotted IPv4 router ID: kube-router's `--router-id=generate`.
pub(crate) fn generated_router_id(primary: IpAddr) -> Ipv4Addr {
    let bytes = match primary {
        IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
        IpAddr::V6(a) => a.octets(),
    };
    let mut h: u32 = 0x811c_9dc5;
    for b in bytes {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    Ipv4Addr::from(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_rules() {
        assert_eq!(parse_decimal("65000", u32::MAX as u64), Ok(65000));
        assert_eq!(parse_decimal("0", 10), Ok(0));
        for bad in [
            "065000", "0x10", "08", " 1", "1 ", "+1", "-1", "", "1_000", "1e3",
        ] {
            assert!(
                parse_decimal(bad, u32::MAX as u64).is_err(),
                "{bad:?} accepted"
            );
        }
        assert!(parse_decimal("4294967296", u32::MAX as u64).is_err());
    }

    #[test]
    fn asn_forms() {
        assert_eq!(parse_asn("64512"), Ok(64512));
        assert_eq!(parse_asn("1.10"), Ok(65546));
        assert_eq!(parse_asn("4294967295"), Ok(u32::MAX));
        assert!(parse_asn("1.65536").is_err());
        assert!(parse_asn("0x10").is_err());
        assert!(check_peer_asn(23456).is_err());
        assert!(check_peer_asn(0).is_err());
        assert!(check_peer_asn(64000).is_err());
        assert!(check_peer_asn(65535).is_err());
        assert!(check_peer_asn(4294967295).is_err());
        assert!(check_peer_asn(65000).is_ok());
        assert!(check_peer_asn(4200000001).is_ok());
    }

    #[test]
    fn cluster_ids() {
        assert_eq!(parse_cluster_id("42"), Ok(Ipv4Addr::new(0, 0, 0, 42)));
        assert_eq!(parse_cluster_id("0.0.0.42"), Ok(Ipv4Addr::new(0, 0, 0, 42)));
        assert_eq!(parse_cluster_id("10.1.2.3"), Ok(Ipv4Addr::new(10, 1, 2, 3)));
        assert!(parse_cluster_id("abc").is_err());
        assert!(parse_cluster_id("042").is_err());
        assert!(parse_cluster_id("2001:db8::1").is_err());
    }

    #[test]
    fn passwords() {
        assert_eq!(
            parse_password("U2VjdXJlUGFzc3dvcmQK")
                .unwrap()
                .unwrap()
                .as_bytes(),
            b"SecurePassword\n"
        );
        assert_eq!(parse_password("").unwrap(), None);
        assert_eq!(
            parse_password("cGFzcw==\n").unwrap().unwrap().as_bytes(),
            b"pass"
        );
        let err = parse_password("not base64!").unwrap_err();
        assert!(!err.contains("not base64"));
        assert!(
            parse_password("cGFzcw").is_err(),
            "unpadded must be refused"
        );
    }

    #[test]
    fn communities() {
        assert_eq!(parse_community("65000:100"), Ok((65000 << 16) | 100));
        assert_eq!(parse_community("100"), Ok(100));
        assert_eq!(parse_community("no-export"), Ok(0xFFFF_FF01));
        assert!(parse_community("0xFFFFFFFF").is_err());
        assert!(parse_community("65536:1").is_err());
        assert!(parse_community("bogus-name").is_err());
    }

    #[test]
    fn router_id_generate_vectors() {
        // Vectors computed with kube-router's `--router-id=generate` hash (FNV-1a).
        assert_eq!(
            generated_router_id("10.0.0.1".parse().unwrap()),
            Ipv4Addr::new(0, 15, 248, 254)
        );
        assert_eq!(
            generated_router_id("10.1.0.1".parse().unwrap()),
            Ipv4Addr::new(195, 41, 72, 217)
        );
        assert_eq!(
            generated_router_id("2001:db8::1".parse().unwrap()),
            Ipv4Addr::new(110, 91, 4, 244)
        );
    }

    #[test]
    fn lists_and_bools() {
        assert_eq!(split_list(""), vec![""]);
        assert_eq!(split_list("a,,b"), vec!["a", "", "b"]);
        assert_eq!(split_list("a, b"), vec!["a", " b"]);
        assert_eq!(parse_go_bool("True"), Some(true));
        assert_eq!(parse_go_bool("yes"), None);
    }
}
