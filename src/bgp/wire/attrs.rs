//! Path attributes (RFC 4271 §4.3/§5, RFC 6793, RFC 1997, RFC 4456, RFC 4760) with the
//! RFC 7606 error handling per attribute. The MP_REACH/MP_UNREACH values are handed to
//! the UPDATE layer unparsed beyond their headers; NLRI are not decoded here.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{AS_TRANS, Ctx, DecodeError, Issue, IssueAction};
use crate::bgp::types::{
    Afi, Aggregator, AsPath, AsSegment, Attrs, MpNextHop, NotificationCode, Origin, RawAttr,
};

pub(super) const OPTIONAL: u8 = 0x80;
pub(super) const TRANSITIVE: u8 = 0x40;
pub(super) const PARTIAL: u8 = 0x20;
pub(super) const EXTENDED: u8 = 0x10;

pub(super) const ORIGIN: u8 = 1;
pub(super) const AS_PATH: u8 = 2;
pub(super) const NEXT_HOP: u8 = 3;
pub(super) const MED: u8 = 4;
pub(super) const LOCAL_PREF: u8 = 5;
pub(super) const ATOMIC_AGGREGATE: u8 = 6;
pub(super) const AGGREGATOR: u8 = 7;
pub(super) const COMMUNITIES: u8 = 8;
pub(super) const ORIGINATOR_ID: u8 = 9;
pub(super) const CLUSTER_LIST: u8 = 10;
pub(super) const MP_REACH: u8 = 14;
pub(super) const MP_UNREACH: u8 = 15;
pub(super) const AS4_PATH: u8 = 17;
pub(super) const AS4_AGGREGATOR: u8 = 18;

const SEG_SET: u8 = 1;
const SEG_SEQUENCE: u8 = 2;

/// Type codes the codec interprets; `Attrs.unknown` entries with these codes are not
/// emitted.
fn is_owned(code: u8) -> bool {
    matches!(code, 1..=10 | 14 | 15 | 17 | 18)
}

/// Expected (optional, transitive) flags of the attributes the codec interprets.
fn expected_flags(code: u8) -> Option<u8> {
    match code {
        ORIGIN | AS_PATH | NEXT_HOP | LOCAL_PREF | ATOMIC_AGGREGATE => Some(TRANSITIVE),
        MED | ORIGINATOR_ID | CLUSTER_LIST | MP_REACH | MP_UNREACH => Some(OPTIONAL),
        AGGREGATOR | COMMUNITIES | AS4_PATH | AS4_AGGREGATOR => Some(OPTIONAL | TRANSITIVE),
        _ => None,
    }
}

/// What a malformed attribute of an interpreted type costs (RFC 7606 §7; §3(c) makes
/// wrong Optional/Transitive flags one kind of malformed).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Malformed {
    /// ORIGIN, AS_PATH, NEXT_HOP, MED, LOCAL_PREF, COMMUNITIES, ORIGINATOR_ID,
    /// CLUSTER_LIST (§7.1-§7.5, §7.8-§7.10, §3(e)).
    Withdraw,
    /// ATOMIC_AGGREGATE, AGGREGATOR (§7.6, §7.7, §3(f)) and AS4_PATH, AS4_AGGREGATOR
    /// (RFC 6793 §6): they do not take part in route selection. FRR discards them for
    /// wrong flags too; so does kube-bgp.
    Discard,
    /// MP_REACH_NLRI, MP_UNREACH_NLRI (§5.3, §7.11): the NLRI cannot be trusted.
    Reset,
}

fn malformed_handling(code: u8) -> Malformed {
    match code {
        ATOMIC_AGGREGATE | AGGREGATOR | AS4_PATH | AS4_AGGREGATOR => Malformed::Discard,
        MP_REACH | MP_UNREACH => Malformed::Reset,
        _ => Malformed::Withdraw,
    }
}

/// Why an attribute is dropped whatever its flags and contents, if it is: LOCAL_PREF,
/// ORIGINATOR_ID and CLUSTER_LIST from an external peer (RFC 7606 §7.5, §7.9, §7.10),
/// AS4_PATH and AS4_AGGREGATOR between 4-octet speakers (RFC 6793 §4.1).
fn always_discarded(code: u8, ctx: &Ctx) -> Option<&'static str> {
    match code {
        LOCAL_PREF if !ctx.ibgp => Some("LOCAL_PREF from an external peer"),
        ORIGINATOR_ID if !ctx.ibgp => Some("ORIGINATOR_ID from an external peer"),
        CLUSTER_LIST if !ctx.ibgp => Some("CLUSTER_LIST from an external peer"),
        AS4_PATH | AS4_AGGREGATOR if ctx.four_octet_as => {
            Some("AS4 attribute from a 4-octet AS peer")
        }
        _ => None,
    }
}

/// MP_REACH_NLRI of a family kube-bgp carries.
pub(super) struct MpReach<'a> {
    pub(crate) afi: Afi,
    pub(crate) next_hop: MpNextHop,
    pub(crate) nlri: &'a [u8],
}

/// MP_UNREACH_NLRI of a family kube-bgp carries.
pub(super) struct MpUnreach<'a> {
    pub(crate) afi: Afi,
    pub(crate) nlri: &'a [u8],
}

/// Result of walking the path attributes of one UPDATE.
#[derive(Default)]
pub(super) struct Walk<'a> {
    pub(crate) attrs: Attrs,
    pub(crate) has_origin: bool,
    pub(crate) has_as_path: bool,
    pub(crate) has_next_hop: bool,
    /// Attributes other than MP_REACH/MP_UNREACH seen (valid or not).
    pub(crate) others: usize,
    /// An MP_REACH_NLRI / MP_UNREACH_NLRI was located, of any family.
    pub(crate) reach_seen: bool,
    pub(crate) unreach_seen: bool,
    pub(crate) mp_reach: Option<MpReach<'a>>,
    pub(crate) mp_unreach: Option<MpUnreach<'a>>,
    /// First reason to treat the UPDATE as a withdrawal.
    pub(crate) withdraw: Option<(u8, String)>,
    /// The attribute list could not be walked to its end (RFC 7606 §4): the NOTIFICATION
    /// to send if that makes treat-as-withdraw impossible (§3(j), see `update`).
    pub(crate) framing: Option<DecodeError>,
}

fn as_size(four: bool) -> usize {
    if four { 4 } else { 2 }
}

fn read_as(b: &[u8]) -> u32 {
    match *b {
        [a, b] => u32::from(u16::from_be_bytes([a, b])),
        [a, b, c, d] => u32::from_be_bytes([a, b, c, d]),
        _ => 0,
    }
}

/// Parses AS_PATH / AS4_PATH segments with `size`-byte AS numbers. AS 0 is refused
/// (RFC 7607), as are confederation segments (kube-bgp is not in a confederation).
fn parse_as_path(mut buf: &[u8], size: usize) -> Result<AsPath, String> {
    let mut segments = Vec::new();
    while let [typ, count, rest @ ..] = buf {
        if *count == 0 {
            return Err("empty AS path segment".into());
        }
        let n = usize::from(*count) * size;
        let Some((body, tail)) = rest.split_at_checked(n) else {
            return Err("AS path segment overruns the attribute".into());
        };
        buf = tail;
        let asns: Vec<u32> = body.chunks_exact(size).map(read_as).collect();
        if asns.contains(&0) {
            return Err("AS 0 in AS path".into());
        }
        segments.push(match *typ {
            SEG_SET => AsSegment::Set(asns),
            SEG_SEQUENCE => AsSegment::Sequence(asns),
            3 | 4 => return Err("confederation segment from a non-confederation peer".into()),
            t => return Err(format!("unknown AS path segment type {t}")),
        });
    }
    if !buf.is_empty() {
        return Err("truncated AS path segment header".into());
    }
    Ok(AsPath { segments })
}

fn parse_aggregator(v: &[u8], size: usize) -> Result<Aggregator, String> {
    if v.len() != size + 4 {
        return Err(format!("length {} (expected {})", v.len(), size + 4));
    }
    let (a, ip) = v.split_at(size);
    let asn = read_as(a);
    if asn == 0 {
        return Err("AS 0".into());
    }
    Ok(Aggregator {
        asn,
        addr: Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]),
    })
}

fn u32_of(v: &[u8]) -> Option<u32> {
    match *v {
        [a, b, c, d] => Some(u32::from_be_bytes([a, b, c, d])),
        _ => None,
    }
}

fn mp_err(reason: String) -> DecodeError {
    DecodeError::new(NotificationCode::UpdateOptionalAttr, Vec::new(), reason)
}

/// Supported (AFI, SAFI) of an MP attribute, `None` for families kube-bgp ignores.
fn mp_family(a0: u8, a1: u8, safi: u8) -> Option<Afi> {
    Afi::from_code(u16::from_be_bytes([a0, a1])).filter(|_| safi == Afi::SAFI_UNICAST)
}

fn parse_mp_reach(v: &[u8]) -> Result<Option<MpReach<'_>>, DecodeError> {
    let [a0, a1, safi, nh_len, rest @ ..] = v else {
        return Err(mp_err("MP_REACH_NLRI shorter than 5 bytes".into()));
    };
    let Some((nh, after)) = rest.split_at_checked(usize::from(*nh_len)) else {
        return Err(mp_err(
            "MP_REACH_NLRI next hop overruns the attribute".into(),
        ));
    };
    let Some((_reserved, nlri)) = after.split_first() else {
        return Err(mp_err("MP_REACH_NLRI without its reserved byte".into()));
    };
    let Some(afi) = mp_family(*a0, *a1, *safi) else {
        return Ok(None);
    };
    let v6 = |b: &[u8]| -> Ipv6Addr {
        let mut a = [0u8; 16];
        a.copy_from_slice(b);
        Ipv6Addr::from(a)
    };
    // RFC 2545 (IPv6: global, or global + link-local); RFC 8950 (IPv4 over IPv6 next hop).
    let next_hop = match (afi, nh.len()) {
        (Afi::Ipv4, 4) => MpNextHop {
            addr: IpAddr::V4(Ipv4Addr::new(nh[0], nh[1], nh[2], nh[3])),
            link_local: None,
        },
        (_, 16) => MpNextHop {
            addr: IpAddr::V6(v6(nh)),
            link_local: None,
        },
        (_, 32) => {
            let ll = v6(&nh[16..]);
            MpNextHop {
                addr: IpAddr::V6(v6(&nh[..16])),
                link_local: (!ll.is_unspecified()).then_some(ll),
            }
        }
        (afi, n) => {
            return Err(mp_err(format!(
                "MP_REACH_NLRI next hop length {n} invalid for {}",
                afi.name()
            )));
        }
    };
    Ok(Some(MpReach {
        afi,
        next_hop,
        nlri,
    }))
}

fn parse_mp_unreach(v: &[u8]) -> Result<Option<MpUnreach<'_>>, DecodeError> {
    let [a0, a1, safi, nlri @ ..] = v else {
        return Err(mp_err("MP_UNREACH_NLRI shorter than 3 bytes".into()));
    };
    Ok(mp_family(*a0, *a1, *safi).map(|afi| MpUnreach { afi, nlri }))
}

impl<'a> Walk<'a> {
    fn withdraw(&mut self, code: u8, reason: String) {
        if self.withdraw.is_none() {
            self.withdraw = Some((code, reason));
        }
    }
}

fn discard(issues: &mut Vec<Issue>, attr: u8, reason: String) {
    issues.push(Issue {
        action: IssueAction::AttributeDiscard,
        attr,
        reason,
    });
}

/// Handles attribute `code` found malformed as [`malformed_handling`] says.
fn malformed(
    w: &mut Walk<'_>,
    issues: &mut Vec<Issue>,
    code: u8,
    reason: String,
) -> Result<(), DecodeError> {
    match malformed_handling(code) {
        Malformed::Withdraw => w.withdraw(code, reason),
        Malformed::Discard => discard(issues, code, reason),
        Malformed::Reset => return Err(mp_err(reason)),
    }
    Ok(())
}

/// Walks the path attributes field. Fatal errors (session reset) are returned; treat-as-
/// withdraw is recorded in `Walk::withdraw`; discarded attributes are added to `issues`.
pub(super) fn walk<'a>(
    mut buf: &'a [u8],
    ctx: &Ctx,
    issues: &mut Vec<Issue>,
) -> Result<Walk<'a>, DecodeError> {
    let mut w = Walk::default();
    let mut seen = [false; 256];
    let size = as_size(ctx.four_octet_as);
    let mut aggregator: Option<Aggregator> = None;
    let mut as4_path: Option<AsPath> = None;
    let mut as4_aggregator: Option<Aggregator> = None;

    while !buf.is_empty() {
        // RFC 7606 §4: an attribute that does not fit ends the walk; whether the UPDATE
        // can still be treated as withdraw is decided by the caller (§3(j)).
        let (flags, code, len, hdr) = match *buf {
            [f, c, l0, l1, ..] if f & EXTENDED != 0 => {
                (f, c, usize::from(u16::from_be_bytes([l0, l1])), 4)
            }
            [f, c, l, ..] if f & EXTENDED == 0 => (f, c, usize::from(l), 3),
            _ => {
                w.framing = Some(DecodeError::new(
                    NotificationCode::UpdateMalformedAttrList,
                    Vec::new(),
                    format!(
                        "{} bytes left in the attribute list: too few for an attribute header",
                        buf.len()
                    ),
                ));
                break;
            }
        };
        let Some(value) = buf.get(hdr..hdr + len) else {
            // RFC 4271 §6.3: Attribute Length Error, the data is the attribute (as much of
            // it as there is).
            w.framing = Some(DecodeError::new(
                NotificationCode::UpdateAttrLength,
                buf.get(..hdr + len).unwrap_or(buf).to_vec(),
                format!(
                    "attribute {code} length {len} overruns the attribute list ({} bytes left)",
                    buf.len() - hdr
                ),
            ));
            break;
        };
        let raw = buf.get(..hdr + len).unwrap_or_default();
        buf = buf.get(hdr + len..).unwrap_or_default();

        let is_mp = code == MP_REACH || code == MP_UNREACH;
        if seen[usize::from(code)] {
            if is_mp {
                return Err(DecodeError::new(
                    NotificationCode::UpdateMalformedAttrList,
                    Vec::new(),
                    format!("attribute {code} appears twice"),
                ));
            }
            discard(issues, code, "repeated attribute (first one kept)".into());
            continue;
        }
        seen[usize::from(code)] = true;
        match code {
            MP_REACH => w.reach_seen = true,
            MP_UNREACH => w.unreach_seen = true,
            _ => w.others += 1,
        }

        if let Some(why) = always_discarded(code, ctx) {
            discard(issues, code, why.into());
            continue;
        }
        // RFC 7606 §3(c): Optional/Transitive bits in conflict make the attribute
        // malformed; what that costs depends on the attribute.
        if let Some(want) = expected_flags(code) {
            if flags & (OPTIONAL | TRANSITIVE) != want {
                let reason =
                    format!("attribute {code} has flags {flags:#04x}, expected {want:#04x}");
                malformed(&mut w, issues, code, reason)?;
                continue;
            }
        }
        // RFC 7606 §4: only AS_PATH and ATOMIC_AGGREGATE may be empty.
        if value.is_empty()
            && expected_flags(code).is_some()
            && !matches!(code, AS_PATH | ATOMIC_AGGREGATE)
        {
            let reason = format!("attribute {code} is empty");
            malformed(&mut w, issues, code, reason)?;
            continue;
        }

        match code {
            ORIGIN => match value {
                [o] => match Origin::from_code(*o) {
                    Some(o) => {
                        w.attrs.origin = o;
                        w.has_origin = true;
                    }
                    None => w.withdraw(code, format!("ORIGIN value {o}")),
                },
                _ => w.withdraw(code, format!("ORIGIN length {len}")),
            },
            AS_PATH => match parse_as_path(value, size) {
                Ok(p) => {
                    w.attrs.as_path = p;
                    w.has_as_path = true;
                }
                Err(e) => w.withdraw(code, format!("AS_PATH: {e}")),
            },
            NEXT_HOP => match value {
                [a, b, c, d] => {
                    w.attrs.next_hop = Some(Ipv4Addr::new(*a, *b, *c, *d));
                    w.has_next_hop = true;
                }
                _ => w.withdraw(code, format!("NEXT_HOP length {len}")),
            },
            MED => match u32_of(value) {
                Some(m) => w.attrs.med = Some(m),
                None => w.withdraw(code, format!("MULTI_EXIT_DISC length {len}")),
            },
            LOCAL_PREF => match u32_of(value) {
                Some(p) => w.attrs.local_pref = Some(p),
                None => w.withdraw(code, format!("LOCAL_PREF length {len}")),
            },
            ATOMIC_AGGREGATE => {
                if value.is_empty() {
                    w.attrs.atomic_aggregate = true;
                } else {
                    discard(issues, code, format!("ATOMIC_AGGREGATE length {len}"));
                }
            }
            AGGREGATOR => match parse_aggregator(value, size) {
                Ok(a) => aggregator = Some(a),
                Err(e) => discard(issues, code, format!("AGGREGATOR: {e}")),
            },
            COMMUNITIES => {
                if value.is_empty() || value.len() % 4 != 0 {
                    w.withdraw(code, format!("COMMUNITIES length {len}"));
                } else {
                    w.attrs.communities = value.chunks_exact(4).filter_map(u32_of).collect();
                }
            }
            ORIGINATOR_ID => match value {
                [a, b, c, d] => w.attrs.originator_id = Some(Ipv4Addr::new(*a, *b, *c, *d)),
                _ => w.withdraw(code, format!("ORIGINATOR_ID length {len}")),
            },
            CLUSTER_LIST => {
                if value.is_empty() || value.len() % 4 != 0 {
                    w.withdraw(code, format!("CLUSTER_LIST length {len}"));
                } else {
                    w.attrs.cluster_list = value
                        .chunks_exact(4)
                        .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
                        .collect();
                }
            }
            MP_REACH => match parse_mp_reach(value)? {
                Some(m) => w.mp_reach = Some(m),
                None => discard(
                    issues,
                    code,
                    "MP_REACH_NLRI of an unsupported family".into(),
                ),
            },
            MP_UNREACH => match parse_mp_unreach(value)? {
                Some(m) => w.mp_unreach = Some(m),
                None => discard(
                    issues,
                    code,
                    "MP_UNREACH_NLRI of an unsupported family".into(),
                ),
            },
            AS4_PATH => match parse_as_path(value, 4) {
                Ok(p) => as4_path = Some(p),
                Err(e) => discard(issues, code, format!("AS4_PATH: {e}")),
            },
            AS4_AGGREGATOR => match parse_aggregator(value, 4) {
                Ok(a) => as4_aggregator = Some(a),
                Err(e) => discard(issues, code, format!("AS4_AGGREGATOR: {e}")),
            },
            _ if flags & OPTIONAL == 0 => {
                return Err(DecodeError::new(
                    NotificationCode::UpdateUnrecognizedWellKnown,
                    raw.to_vec(),
                    format!("unrecognized well-known attribute {code}"),
                ));
            }
            _ if flags & TRANSITIVE != 0 => w.attrs.unknown.push(RawAttr {
                flags: OPTIONAL | TRANSITIVE | PARTIAL,
                type_code: code,
                value: value.to_vec(),
            }),
            // Unrecognized optional non-transitive: quietly ignored (RFC 4271 §5).
            _ => {}
        }
    }

    // RFC 6793 §4.2.3: AS4_AGGREGATOR and AS4_PATH only count when AGGREGATOR (if
    // present) carries AS_TRANS.
    match aggregator {
        Some(a) if a.asn != AS_TRANS => {
            w.attrs.aggregator = Some(a);
        }
        Some(a) => {
            w.attrs.aggregator = Some(as4_aggregator.unwrap_or(a));
            if let Some(p4) = as4_path {
                w.attrs.as_path = merge_as4_path(&w.attrs.as_path, p4);
            }
        }
        None => {
            if let Some(p4) = as4_path {
                w.attrs.as_path = merge_as4_path(&w.attrs.as_path, p4);
            }
        }
    }
    Ok(w)
}

/// RFC 6793 §4.2.3: when AS_PATH is not shorter than AS4_PATH, the leading ASes of
/// AS_PATH that AS4_PATH does not cover are prepended to AS4_PATH; otherwise AS4_PATH
/// is ignored.
fn merge_as4_path(path: &AsPath, as4: AsPath) -> AsPath {
    let (n, n4) = (path.path_len(), as4.path_len());
    if n < n4 {
        return path.clone();
    }
    let mut lead = n - n4;
    let mut segments = Vec::with_capacity(path.segments.len() + as4.segments.len());
    for seg in &path.segments {
        if lead == 0 {
            break;
        }
        match seg {
            AsSegment::Sequence(v) => {
                let k = lead.min(v.len());
                segments.push(AsSegment::Sequence(v.get(..k).unwrap_or(v).to_vec()));
                lead -= k;
            }
            AsSegment::Set(v) => {
                segments.push(AsSegment::Set(v.clone()));
                lead -= 1;
            }
        }
    }
    segments.extend(as4.segments);
    AsPath { segments }
}

/// Writes one attribute: header, value from `f`, then the length (Extended Length when
/// the value exceeds 255 bytes).
pub(super) fn put(out: &mut Vec<u8>, flags: u8, code: u8, f: impl FnOnce(&mut Vec<u8>)) {
    let at = out.len();
    out.extend_from_slice(&[flags & !EXTENDED, code, 0]);
    f(out);
    let len = out.len() - at - 3;
    if len > 255 {
        out[at] |= EXTENDED;
        out.insert(at + 2, 0);
        let be = u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes();
        out[at + 2] = be[0];
        out[at + 3] = be[1];
    } else {
        out[at + 2] = len as u8;
    }
}

fn put_segments(out: &mut Vec<u8>, path: &AsPath, two_octet: bool) {
    for seg in &path.segments {
        let (typ, asns) = match seg {
            AsSegment::Set(v) => (SEG_SET, v),
            AsSegment::Sequence(v) => (SEG_SEQUENCE, v),
        };
        for chunk in asns.chunks(255) {
            out.extend_from_slice(&[typ, chunk.len() as u8]);
            for &a in chunk {
                if two_octet {
                    let a = u16::try_from(a).unwrap_or(AS_TRANS as u16);
                    out.extend_from_slice(&a.to_be_bytes());
                } else {
                    out.extend_from_slice(&a.to_be_bytes());
                }
            }
        }
    }
}

/// Appends every attribute except MP_REACH/MP_UNREACH, in type-code order, unknown
/// optional transitive ones interleaved with the Partial bit set. NEXT_HOP only when
/// `with_next_hop`; LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST only to internal peers.
pub(super) fn encode(a: &Attrs, ctx: &Ctx, with_next_hop: bool, out: &mut Vec<u8>) {
    let mut unknown: Vec<&RawAttr> = a
        .unknown
        .iter()
        .filter(|u| !is_owned(u.type_code))
        .collect();
    unknown.sort_by_key(|u| u.type_code);
    let mut unknown = unknown.into_iter().peekable();
    let mut flush = |out: &mut Vec<u8>, below: u16| {
        while let Some(u) = unknown.next_if(|u| u16::from(u.type_code) < below) {
            let flags = (u.flags | OPTIONAL | TRANSITIVE | PARTIAL) & 0xF0;
            put(out, flags, u.type_code, |o| o.extend_from_slice(&u.value));
        }
    };
    let two = !ctx.four_octet_as;
    put(out, TRANSITIVE, ORIGIN, |o| o.push(a.origin as u8));
    put(out, TRANSITIVE, AS_PATH, |o| {
        put_segments(o, &a.as_path, two)
    });
    if let (true, Some(nh)) = (with_next_hop, a.next_hop) {
        put(out, TRANSITIVE, NEXT_HOP, |o| {
            o.extend_from_slice(&nh.octets())
        });
    }
    if let Some(m) = a.med {
        put(out, OPTIONAL, MED, |o| {
            o.extend_from_slice(&m.to_be_bytes())
        });
    }
    if let (true, Some(p)) = (ctx.ibgp, a.local_pref) {
        put(out, TRANSITIVE, LOCAL_PREF, |o| {
            o.extend_from_slice(&p.to_be_bytes())
        });
    }
    if a.atomic_aggregate {
        put(out, TRANSITIVE, ATOMIC_AGGREGATE, |_| {});
    }
    if let Some(ag) = a.aggregator {
        put(out, OPTIONAL | TRANSITIVE, AGGREGATOR, |o| {
            if two {
                let asn = u16::try_from(ag.asn).unwrap_or(AS_TRANS as u16);
                o.extend_from_slice(&asn.to_be_bytes());
            } else {
                o.extend_from_slice(&ag.asn.to_be_bytes());
            }
            o.extend_from_slice(&ag.addr.octets());
        });
    }
    if !a.communities.is_empty() {
        put(out, OPTIONAL | TRANSITIVE, COMMUNITIES, |o| {
            for c in &a.communities {
                o.extend_from_slice(&c.to_be_bytes());
            }
        });
    }
    // Route reflection attributes are non-transitive and for internal peers only
    // (RFC 4456); an external peer would discard them (RFC 7606 §7.9, §7.10).
    if let (true, Some(id)) = (ctx.ibgp, a.originator_id) {
        put(out, OPTIONAL, ORIGINATOR_ID, |o| {
            o.extend_from_slice(&id.octets())
        });
    }
    if ctx.ibgp && !a.cluster_list.is_empty() {
        put(out, OPTIONAL, CLUSTER_LIST, |o| {
            for c in &a.cluster_list {
                o.extend_from_slice(&c.octets());
            }
        });
    }
    flush(out, u16::from(AS4_PATH));
    // RFC 6793 §4.2.2: to a 2-octet peer, the true path and aggregator go in AS4_*.
    if two
        && a.as_path.segments.iter().any(|s| match s {
            AsSegment::Sequence(v) | AsSegment::Set(v) => v.iter().any(|&x| x > 0xFFFF),
        })
    {
        put(out, OPTIONAL | TRANSITIVE, AS4_PATH, |o| {
            put_segments(o, &a.as_path, false)
        });
    }
    if let (true, Some(ag)) = (two, a.aggregator.filter(|g| g.asn > 0xFFFF)) {
        put(out, OPTIONAL | TRANSITIVE, AS4_AGGREGATOR, |o| {
            o.extend_from_slice(&ag.asn.to_be_bytes());
            o.extend_from_slice(&ag.addr.octets());
        });
    }
    flush(out, 256);
}
