//! NLRI prefixes (RFC 4271 §4.3, RFC 4760 §5): `<length, prefix>` tuples for IPv4 and
//! IPv6 unicast. Hot path of a full-table ingest: no allocation besides the output Vec.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::bgp::types::{Afi, Prefix};

/// Decodes a run of prefixes of family `afi`, appending to `out`. Host bits beyond the
/// prefix length are cleared. Errors name the offending prefix.
pub(super) fn decode(buf: &[u8], afi: Afi, out: &mut Vec<Prefix>) -> Result<(), String> {
    match afi {
        Afi::Ipv4 => decode_v4(buf, out),
        Afi::Ipv6 => decode_v6(buf, out),
    }
}

fn decode_v4(mut buf: &[u8], out: &mut Vec<Prefix>) -> Result<(), String> {
    // A /24 takes 4 bytes: the common full-table case is sized exactly.
    out.reserve(buf.len() / 4);
    while let [len, rest @ ..] = buf {
        let len = *len;
        if len > 32 {
            return Err(format!("IPv4 prefix length {len} > 32"));
        }
        let n = usize::from(len).div_ceil(8);
        let Some((bytes, tail)) = rest.split_at_checked(n) else {
            return Err(format!("IPv4 /{len} prefix truncated"));
        };
        let mut a = [0u8; 4];
        a[..n].copy_from_slice(bytes);
        let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
        out.push(Prefix::V4(
            Ipv4Addr::from(u32::from_be_bytes(a) & mask),
            len,
        ));
        buf = tail;
    }
    Ok(())
}

fn decode_v6(mut buf: &[u8], out: &mut Vec<Prefix>) -> Result<(), String> {
    out.reserve(buf.len() / 8);
    while let [len, rest @ ..] = buf {
        let len = *len;
        if len > 128 {
            return Err(format!("IPv6 prefix length {len} > 128"));
        }
        let n = usize::from(len).div_ceil(8);
        let Some((bytes, tail)) = rest.split_at_checked(n) else {
            return Err(format!("IPv6 /{len} prefix truncated"));
        };
        let mut a = [0u8; 16];
        a[..n].copy_from_slice(bytes);
        let mask = if len == 0 {
            0
        } else {
            u128::MAX << (128 - len)
        };
        out.push(Prefix::V6(
            Ipv6Addr::from(u128::from_be_bytes(a) & mask),
            len,
        ));
        buf = tail;
    }
    Ok(())
}

/// Bytes `p` takes on the wire.
pub(super) fn wire_len(p: &Prefix) -> usize {
    1 + usize::from(p.len()).div_ceil(8)
}

/// Appends `p` in NLRI form. Prefix lengths are trusted (the type keeps them in range).
pub(super) fn encode(p: &Prefix, out: &mut Vec<u8>) {
    let n = usize::from(p.len()).div_ceil(8);
    match p {
        Prefix::V4(a, l) => {
            out.push(*l);
            out.extend_from_slice(a.octets().get(..n).unwrap_or(&a.octets()));
        }
        Prefix::V6(a, l) => {
            out.push(*l);
            out.extend_from_slice(a.octets().get(..n).unwrap_or(&a.octets()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    #[test]
    fn v4_vectors() {
        // 10.0.0.0/8, 192.168.1.0/24, 0.0.0.0/0, 10.1.2.3/32, 172.16.0.0/12 with host bits.
        let buf = [8, 10, 24, 192, 168, 1, 0, 32, 10, 1, 2, 3, 12, 172, 31];
        let mut out = Vec::new();
        decode(&buf, Afi::Ipv4, &mut out).unwrap();
        assert_eq!(
            out,
            vec![
                p("10.0.0.0/8"),
                p("192.168.1.0/24"),
                p("0.0.0.0/0"),
                p("10.1.2.3/32"),
                p("172.16.0.0/12")
            ]
        );
        let mut enc = Vec::new();
        for q in &out {
            encode(q, &mut enc);
        }
        assert_eq!(
            enc,
            [8, 10, 24, 192, 168, 1, 0, 32, 10, 1, 2, 3, 12, 172, 16]
        );
    }

    #[test]
    fn v6_vectors() {
        let buf = [
            32, 0x20, 0x01, 0x0d, 0xb8, 128, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
        ];
        let mut out = Vec::new();
        decode(&buf, Afi::Ipv6, &mut out).unwrap();
        assert_eq!(out, vec![p("2001:db8::/32"), p("::1/128")]);
    }

    #[test]
    fn errors() {
        let mut out = Vec::new();
        assert!(decode(&[33, 1, 2, 3, 4, 5], Afi::Ipv4, &mut out).is_err());
        assert!(decode(&[24, 10, 0], Afi::Ipv4, &mut out).is_err());
        assert!(decode(&[129], Afi::Ipv6, &mut out).is_err());
        assert!(decode(&[64, 1, 2, 3], Afi::Ipv6, &mut out).is_err());
    }
}
