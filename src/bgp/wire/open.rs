//! OPEN message and capabilities (RFC 4271 §4.2/§6.2, RFC 5492, RFC 4760, RFC 2918,
//! RFC 6793, RFC 4724, RFC 9072 extended optional parameters). Checks only what the
//! message alone shows (version, AS 0, BGP identifier 0, hold time 1-2); whether the AS
//! or capabilities are acceptable for a peer is the session's decision.

use std::net::Ipv4Addr;

use super::{AS_TRANS, DecodeError, EncodeError, header};
use crate::bgp::types::{Capability, GrFamily, GracefulRestartCap, NotificationCode, Open};

const PARAM_CAPABILITIES: u8 = 2;
const PARAM_EXTENDED: u8 = 255;

const CAP_MULTIPROTOCOL: u8 = 1;
const CAP_ROUTE_REFRESH: u8 = 2;
const CAP_GRACEFUL_RESTART: u8 = 64;
const CAP_FOUR_OCTET_AS: u8 = 65;

fn open_err(kind: NotificationCode, data: Vec<u8>, reason: String) -> DecodeError {
    DecodeError::new(kind, data, reason)
}

fn malformed(reason: &str) -> DecodeError {
    open_err(
        NotificationCode::OpenUnspecific,
        Vec::new(),
        format!("malformed OPEN: {reason}"),
    )
}

/// Decodes an OPEN body (after the header).
pub(super) fn decode(body: &[u8]) -> Result<Open, DecodeError> {
    let [version, a0, a1, h0, h1, i0, i1, i2, i3, plen, params @ ..] = body else {
        return Err(malformed("shorter than 10 bytes"));
    };
    if *version != 4 {
        return Err(open_err(
            NotificationCode::OpenUnsupportedVersion,
            4u16.to_be_bytes().to_vec(),
            format!("BGP version {version} (only 4 is supported)"),
        ));
    }
    let my_as = u16::from_be_bytes([*a0, *a1]);
    let hold_time = u16::from_be_bytes([*h0, *h1]);
    let router_id = Ipv4Addr::new(*i0, *i1, *i2, *i3);

    let capabilities = decode_params(*plen, params)?;

    let four = capabilities.iter().find_map(|c| match c {
        Capability::FourOctetAs(a) => Some(*a),
        _ => None,
    });
    let asn = four.unwrap_or(u32::from(my_as));
    // RFC 7607: AS 0 in My AS or the 4-octet AS capability is a Bad Peer AS.
    if my_as == 0 || asn == 0 {
        return Err(open_err(
            NotificationCode::OpenBadPeerAs,
            Vec::new(),
            "peer AS 0".into(),
        ));
    }
    // RFC 6286: any non-zero 32-bit value is a valid BGP identifier.
    if router_id.is_unspecified() {
        return Err(open_err(
            NotificationCode::OpenBadBgpId,
            Vec::new(),
            "BGP identifier 0.0.0.0".into(),
        ));
    }
    if hold_time == 1 || hold_time == 2 {
        return Err(open_err(
            NotificationCode::OpenUnacceptableHoldTime,
            Vec::new(),
            format!("hold time {hold_time} (must be 0 or at least 3)"),
        ));
    }
    Ok(Open {
        version: *version,
        asn,
        hold_time,
        router_id,
        capabilities,
    })
}

/// Walks the optional parameters (classic or RFC 9072 extended form) and decodes every
/// capability in every Capabilities parameter, in order.
fn decode_params(plen: u8, params: &[u8]) -> Result<Vec<Capability>, DecodeError> {
    let mut caps = Vec::new();
    // RFC 9072: length 255 with a first parameter type of 255 announces 2-byte lengths.
    let (mut rest, extended) = match params {
        [PARAM_EXTENDED, l0, l1, rest @ ..] if plen == 255 => {
            let n = usize::from(u16::from_be_bytes([*l0, *l1]));
            if rest.len() != n {
                return Err(malformed("extended optional parameters length mismatch"));
            }
            (rest, true)
        }
        _ => {
            if params.len() != usize::from(plen) {
                return Err(malformed("optional parameters length mismatch"));
            }
            (params, false)
        }
    };
    while !rest.is_empty() {
        let (typ, len, after) = match (extended, rest) {
            (true, [t, l0, l1, after @ ..]) => {
                (*t, usize::from(u16::from_be_bytes([*l0, *l1])), after)
            }
            (false, [t, l, after @ ..]) => (*t, usize::from(*l), after),
            _ => return Err(malformed("truncated optional parameter header")),
        };
        let Some((value, tail)) = after.split_at_checked(len) else {
            return Err(malformed("optional parameter overruns the message"));
        };
        rest = tail;
        if typ != PARAM_CAPABILITIES {
            return Err(open_err(
                NotificationCode::OpenUnsupportedParam,
                Vec::new(),
                format!("unsupported optional parameter type {typ}"),
            ));
        }
        decode_caps(value, &mut caps)?;
    }
    Ok(caps)
}

fn decode_caps(mut buf: &[u8], caps: &mut Vec<Capability>) -> Result<(), DecodeError> {
    while let [code, len, after @ ..] = buf {
        let Some((value, tail)) = after.split_at_checked(usize::from(*len)) else {
            return Err(malformed("capability overruns its parameter"));
        };
        buf = tail;
        caps.push(decode_cap(*code, value));
    }
    if buf.is_empty() {
        Ok(())
    } else {
        Err(malformed("truncated capability header"))
    }
}

/// One capability; a known code with a value of the wrong shape is kept as Unknown.
fn decode_cap(code: u8, value: &[u8]) -> Capability {
    match (code, value) {
        (CAP_MULTIPROTOCOL, [a0, a1, _reserved, safi]) => Capability::Multiprotocol {
            afi: u16::from_be_bytes([*a0, *a1]),
            safi: *safi,
        },
        (CAP_ROUTE_REFRESH, []) => Capability::RouteRefresh,
        (CAP_FOUR_OCTET_AS, [a, b, c, d]) => {
            Capability::FourOctetAs(u32::from_be_bytes([*a, *b, *c, *d]))
        }
        (CAP_GRACEFUL_RESTART, [f0, f1, tuples @ ..]) if tuples.len() % 4 == 0 => {
            let families = tuples
                .chunks_exact(4)
                .map(|t| GrFamily {
                    afi: u16::from_be_bytes([t[0], t[1]]),
                    safi: t[2],
                    forwarding_preserved: t[3] & 0x80 != 0,
                })
                .collect();
            Capability::GracefulRestart(GracefulRestartCap {
                restart_state: f0 & 0x80 != 0,
                restart_time: u16::from_be_bytes([f0 & 0x0F, *f1]),
                families,
            })
        }
        _ => Capability::Unknown {
            code,
            value: value.to_vec(),
        },
    }
}

fn encode_cap(cap: &Capability, out: &mut Vec<u8>) {
    let at = out.len();
    out.extend_from_slice(&[0, 0]);
    let code = match cap {
        Capability::Multiprotocol { afi, safi } => {
            out.extend_from_slice(&afi.to_be_bytes());
            out.extend_from_slice(&[0, *safi]);
            CAP_MULTIPROTOCOL
        }
        Capability::RouteRefresh => CAP_ROUTE_REFRESH,
        Capability::FourOctetAs(a) => {
            out.extend_from_slice(&a.to_be_bytes());
            CAP_FOUR_OCTET_AS
        }
        Capability::GracefulRestart(gr) => {
            let t = gr.restart_time & 0x0FFF;
            let r = if gr.restart_state { 0x80 } else { 0 };
            out.extend_from_slice(&[r | (t >> 8) as u8, (t & 0xFF) as u8]);
            for f in &gr.families {
                out.extend_from_slice(&f.afi.to_be_bytes());
                let fbit = if f.forwarding_preserved { 0x80 } else { 0 };
                out.extend_from_slice(&[f.safi, fbit]);
            }
            CAP_GRACEFUL_RESTART
        }
        Capability::Unknown { code, value } => {
            out.extend_from_slice(value.get(..255).unwrap_or(value));
            *code
        }
    };
    let len = out.len() - at - 2;
    out[at] = code;
    out[at + 1] = u8::try_from(len).unwrap_or(u8::MAX);
}

/// Appends an OPEN. The 2-octet My AS field carries AS_TRANS when `asn` does not fit
/// (RFC 6793); the caller includes the FourOctetAs capability. All capabilities go in
/// one Capabilities parameter, in RFC 9072 extended form if longer than 255 bytes.
pub(super) fn encode(o: &Open, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let at = header::begin(out, header::OPEN);
    let my_as = u16::try_from(o.asn).unwrap_or(AS_TRANS as u16);
    out.push(o.version);
    out.extend_from_slice(&my_as.to_be_bytes());
    out.extend_from_slice(&o.hold_time.to_be_bytes());
    out.extend_from_slice(&o.router_id.octets());
    let mut caps = Vec::new();
    for c in &o.capabilities {
        encode_cap(c, &mut caps);
    }
    if caps.is_empty() {
        out.push(0);
    } else if caps.len() <= 253 {
        out.extend_from_slice(&[caps.len() as u8 + 2, PARAM_CAPABILITIES, caps.len() as u8]);
        out.extend_from_slice(&caps);
    } else {
        let plen = u16::try_from(caps.len() + 3).unwrap_or(u16::MAX);
        let clen = u16::try_from(caps.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&[255, PARAM_EXTENDED]);
        out.extend_from_slice(&plen.to_be_bytes());
        out.push(PARAM_CAPABILITIES);
        out.extend_from_slice(&clen.to_be_bytes());
        out.extend_from_slice(&caps);
    }
    header::finish(out, at)
}
