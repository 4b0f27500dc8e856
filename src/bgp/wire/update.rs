//! UPDATE messages (RFC 4271 §4.3, RFC 4760, RFC 4724 End-of-RIB) with RFC 7606 message-
//! level error handling, and the packers that turn one attribute set and many prefixes
//! into as few UPDATEs as possible. Attribute contents are `attrs`' business; prefixes
//! are `nlri`'s.

use std::iter::Peekable;
use std::net::IpAddr;

use super::attrs::{self, MpReach, OPTIONAL};
use super::{Ctx, DecodeError, EncodeError, Issue, IssueAction, MAX_MESSAGE_LEN, header, nlri};
use crate::bgp::types::{Afi, Attrs, MpNextHop, NotificationCode, Prefix, Update};

fn malformed(reason: &str) -> DecodeError {
    DecodeError::new(
        NotificationCode::UpdateMalformedAttrList,
        Vec::new(),
        format!("malformed UPDATE: {reason}"),
    )
}

/// RFC 7606 §5.3: unparsable NLRI cannot be treat-as-withdraw; the session is reset.
fn bad_nlri(field: &str, e: String) -> DecodeError {
    let kind = if field.starts_with("MP") {
        NotificationCode::UpdateOptionalAttr
    } else {
        NotificationCode::UpdateInvalidNetwork
    };
    DecodeError::new(kind, Vec::new(), format!("{field}: {e}"))
}

fn split_u16_len(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&[l0, l1], rest) = buf.split_first_chunk::<2>()?;
    rest.split_at_checked(usize::from(u16::from_be_bytes([l0, l1])))
}

/// Decodes an UPDATE body. Treat-as-withdraw is applied here (announced prefixes move
/// to `withdrawn`, `attrs` becomes None) and reported in `issues`.
pub(super) fn decode(
    body: &[u8],
    ctx: &Ctx,
    issues: &mut Vec<Issue>,
) -> Result<Update, DecodeError> {
    let Some((wbuf, rest)) = split_u16_len(body) else {
        return Err(malformed("withdrawn routes length exceeds the message"));
    };
    let Some((abuf, nbuf)) = split_u16_len(rest) else {
        return Err(malformed("total path attribute length exceeds the message"));
    };
    let mut u = Update::default();
    if wbuf.is_empty() && abuf.is_empty() && nbuf.is_empty() {
        u.end_of_rib = Some(Afi::Ipv4);
        return Ok(u);
    }
    nlri::decode(wbuf, Afi::Ipv4, &mut u.withdrawn).map_err(|e| bad_nlri("withdrawn routes", e))?;
    let mut w = attrs::walk(abuf, ctx, issues)?;
    // RFC 7606 §4 makes a framing error treat-as-withdraw, but §3(j) allows that only
    // when every NLRI was parsed: an MP_REACH_NLRI or MP_UNREACH_NLRI may hide in the
    // part that could not be walked. Only when both were found before the error is
    // nothing hidden; otherwise the session is reset, as FRR does.
    if let Some(e) = w.framing.take() {
        if !(w.reach_seen && w.unreach_seen) {
            let reason = format!(
                "{} (an MP_REACH_NLRI/MP_UNREACH_NLRI may follow unseen: RFC 7606 §3(j))",
                e.reason
            );
            return Err(DecodeError { reason, ..e });
        }
        w.withdraw
            .get_or_insert((0, format!("attribute list framing: {}", e.reason)));
    }
    if let Some(m) = &w.mp_unreach {
        nlri::decode(m.nlri, m.afi, &mut u.withdrawn)
            .map_err(|e| bad_nlri("MP_UNREACH_NLRI", e))?;
    }
    nlri::decode(nbuf, Afi::Ipv4, &mut u.announced).map_err(|e| bad_nlri("NLRI", e))?;
    let classic = u.announced.len();
    if let Some(m) = &w.mp_reach {
        nlri::decode(m.nlri, m.afi, &mut u.announced).map_err(|e| bad_nlri("MP_REACH_NLRI", e))?;
    }

    // RFC 4724 §2: an UPDATE holding only an empty MP_UNREACH_NLRI is End-of-RIB.
    if let (Some(m), false, true, 0) = (&w.mp_unreach, w.reach_seen, w.unreach_seen, w.others) {
        if u.withdrawn.is_empty() && u.announced.is_empty() && wbuf.is_empty() {
            u.end_of_rib = Some(m.afi);
            return Ok(u);
        }
    }

    // RFC 7606 §3(d): missing well-known mandatory attributes are treat-as-withdraw;
    // NEXT_HOP is only mandatory with classic NLRI (RFC 4760).
    if !u.announced.is_empty() {
        if !w.has_origin {
            w.withdraw
                .get_or_insert((attrs::ORIGIN, "ORIGIN missing".into()));
        }
        if !w.has_as_path {
            w.withdraw
                .get_or_insert((attrs::AS_PATH, "AS_PATH missing".into()));
        }
        if classic > 0 && !w.has_next_hop {
            w.withdraw
                .get_or_insert((attrs::NEXT_HOP, "NEXT_HOP missing".into()));
        }
    }
    if let Some((attr, reason)) = w.withdraw {
        // RFC 7606 §5.2: with attributes but no reachable NLRI, nothing shows that the
        // NLRI were parsed right: an error stronger than attribute discard is a reset.
        if u.announced.is_empty() && (w.others > 0 || w.reach_seen) {
            return Err(malformed(&format!(
                "{reason}, in an UPDATE without reachable NLRI (RFC 7606 §5.2)"
            )));
        }
        issues.push(Issue {
            action: IssueAction::TreatAsWithdraw,
            attr,
            reason,
        });
        u.withdrawn.append(&mut u.announced);
        only_negotiated(&mut u, ctx, issues);
        return Ok(u);
    }
    // RFC 7606 §5.2: NEXT_HOP without classic NLRI is ignored.
    if classic == 0 {
        w.attrs.next_hop = None;
    }
    if let Some(MpReach { next_hop, .. }) = w.mp_reach {
        w.attrs.mp_next_hop = Some(next_hop);
    }
    if w.others > 0 || w.mp_reach.is_some() {
        u.attrs = Some(w.attrs);
    }
    only_negotiated(&mut u, ctx, issues);
    Ok(u)
}

/// Drops routes of families the session did not negotiate (RFC 4760 §7 lets a speaker
/// ignore them; BIRD and FRR discard them with a log line, and so does kube-bgp).
fn only_negotiated(u: &mut Update, ctx: &Ctx, issues: &mut Vec<Issue>) {
    for afi in [Afi::Ipv4, Afi::Ipv6] {
        if ctx.families.contains(afi) {
            continue;
        }
        let before = u.announced.len() + u.withdrawn.len();
        u.announced.retain(|p| p.afi() != afi);
        u.withdrawn.retain(|p| p.afi() != afi);
        let dropped = before - u.announced.len() - u.withdrawn.len();
        if dropped > 0 {
            issues.push(Issue {
                action: IssueAction::AttributeDiscard,
                attr: 0,
                reason: format!(
                    "{dropped} {} route(s) on a session that did not negotiate that family",
                    afi.name()
                ),
            });
        }
    }
}

fn put_next_hop(afi: Afi, nh: &MpNextHop, out: &mut Vec<u8>) {
    let at = out.len();
    out.push(0);
    match (afi, nh.addr) {
        (Afi::Ipv4, IpAddr::V4(a)) => out.extend_from_slice(&a.octets()),
        (_, IpAddr::V4(a)) => out.extend_from_slice(&a.to_ipv6_mapped().octets()),
        (_, IpAddr::V6(a)) => out.extend_from_slice(&a.octets()),
    }
    if let (IpAddr::V6(_), Some(ll)) = (nh.addr, nh.link_local) {
        out.extend_from_slice(&ll.octets());
    }
    out[at] = (out.len() - at - 1) as u8;
}

/// Appends prefixes from `it` while the message started at `msg_at` stays within the
/// limit with `reserve` more bytes to come. Returns how many were written.
fn fill<'p>(
    it: &mut Peekable<impl Iterator<Item = &'p Prefix>>,
    out: &mut Vec<u8>,
    msg_at: usize,
    reserve: usize,
) -> usize {
    let mut n = 0;
    while let Some(p) =
        it.next_if(|p| out.len() - msg_at + nlri::wire_len(p) + reserve <= MAX_MESSAGE_LEN)
    {
        nlri::encode(p, out);
        n += 1;
    }
    n
}

/// Writes at `at` the 2-byte length of everything from `from` to the end of `out`.
fn patch_len(out: &mut [u8], at: usize, from: usize) {
    let value = out.len().saturating_sub(from);
    let be = u16::try_from(value).unwrap_or(u16::MAX).to_be_bytes();
    if let Some(slot) = out.get_mut(at..at + 2) {
        slot.copy_from_slice(&be);
    }
}

fn family(prefixes: &[Prefix], afi: Afi) -> impl Iterator<Item = &Prefix> {
    prefixes.iter().filter(move |p| p.afi() == afi)
}

/// Encodes one UPDATE carrying everything in `u` (see [`super::encode`]).
pub(super) fn encode(u: &Update, ctx: &Ctx, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    if let (Some(afi), true, true, None) = (
        u.end_of_rib,
        u.withdrawn.is_empty(),
        u.announced.is_empty(),
        &u.attrs,
    ) {
        end_of_rib(afi, out);
        return Ok(());
    }
    let has = |afi| u.announced.iter().any(|p| p.afi() == afi);
    let (has4, has6) = (has(Afi::Ipv4), has(Afi::Ipv6));
    let attrs = match &u.attrs {
        Some(a) => Some(a),
        None if u.announced.is_empty() => None,
        None => return Err(EncodeError::MissingAttrs),
    };
    let classic4 = has4 && attrs.is_some_and(|a| a.next_hop.is_some());
    let mp_family = match (has4 && !classic4, has6) {
        (true, true) => return Err(EncodeError::MixedMpFamilies),
        (true, false) => Some(Afi::Ipv4),
        (false, true) => Some(Afi::Ipv6),
        (false, false) => None,
    };

    let at = header::begin(out, header::UPDATE);
    let wl = out.len();
    out.extend_from_slice(&[0, 0]);
    for p in family(&u.withdrawn, Afi::Ipv4) {
        nlri::encode(p, out);
    }
    patch_len(out, wl, wl + 2);
    let al = out.len();
    out.extend_from_slice(&[0, 0]);
    if let (Some(afi), Some(a)) = (mp_family, attrs) {
        let nh = a.mp_next_hop.ok_or(EncodeError::MissingNextHop(afi))?;
        attrs::put(out, OPTIONAL, attrs::MP_REACH, |o| {
            o.extend_from_slice(&afi.code().to_be_bytes());
            o.push(Afi::SAFI_UNICAST);
            put_next_hop(afi, &nh, o);
            o.push(0);
            for p in family(&u.announced, afi) {
                nlri::encode(p, o);
            }
        });
    }
    if u.withdrawn.iter().any(|p| p.afi() == Afi::Ipv6) {
        attrs::put(out, OPTIONAL, attrs::MP_UNREACH, |o| {
            o.extend_from_slice(&Afi::Ipv6.code().to_be_bytes());
            o.push(Afi::SAFI_UNICAST);
            for p in family(&u.withdrawn, Afi::Ipv6) {
                nlri::encode(p, o);
            }
        });
    }
    if let Some(a) = attrs {
        attrs::encode(a, ctx, classic4, out);
    }
    patch_len(out, al, al + 2);
    if classic4 {
        for p in family(&u.announced, Afi::Ipv4) {
            nlri::encode(p, out);
        }
    }
    header::finish(out, at)
}

/// Longest prefix encoding of a family.
fn max_prefix_len(afi: Afi) -> usize {
    match afi {
        Afi::Ipv4 => 5,
        Afi::Ipv6 => 17,
    }
}

pub(super) fn announce(
    a: &Attrs,
    prefixes: &[Prefix],
    ctx: &Ctx,
    out: &mut Vec<u8>,
) -> Result<usize, EncodeError> {
    let mut messages = 0;
    // IPv4 with a NEXT_HOP: shared attribute block, NLRI field filled to the limit.
    let mut v4 = family(prefixes, Afi::Ipv4).peekable();
    if v4.peek().is_some() && a.next_hop.is_some() {
        let mut block = Vec::new();
        attrs::encode(a, ctx, true, &mut block);
        let fixed = super::HEADER_LEN + 4 + block.len();
        if fixed + max_prefix_len(Afi::Ipv4) > MAX_MESSAGE_LEN {
            return Err(EncodeError::TooLong { len: fixed + 5 });
        }
        while v4.peek().is_some() {
            let at = header::begin(out, header::UPDATE);
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&u16::try_from(block.len()).unwrap_or(0).to_be_bytes());
            out.extend_from_slice(&block);
            fill(&mut v4, out, at, 0);
            header::finish(out, at)?;
            messages += 1;
        }
    }
    // IPv6, and IPv4 with only an MP next hop: MP_REACH_NLRI first, then the rest.
    for afi in [Afi::Ipv4, Afi::Ipv6] {
        let mut it = family(prefixes, afi).peekable();
        if it.peek().is_none() || (afi == Afi::Ipv4 && a.next_hop.is_some()) {
            continue;
        }
        let nh = a.mp_next_hop.ok_or(EncodeError::MissingNextHop(afi))?;
        let mut rest = Vec::new();
        attrs::encode(a, ctx, false, &mut rest);
        // Header, two lengths, MP_REACH header (4), AFI/SAFI/NH length (4), NH, reserved.
        let fixed = super::HEADER_LEN + 4 + 4 + 4 + 32 + 1 + rest.len();
        if fixed + max_prefix_len(afi) > MAX_MESSAGE_LEN {
            return Err(EncodeError::TooLong {
                len: fixed + max_prefix_len(afi),
            });
        }
        while it.peek().is_some() {
            let at = header::begin(out, header::UPDATE);
            out.extend_from_slice(&[0, 0, 0, 0]);
            attrs::put(out, OPTIONAL, attrs::MP_REACH, |o| {
                o.extend_from_slice(&afi.code().to_be_bytes());
                o.push(Afi::SAFI_UNICAST);
                put_next_hop(afi, &nh, o);
                o.push(0);
                // One byte kept for the Extended Length form of the attribute.
                fill(&mut it, o, at, rest.len() + 1);
            });
            out.extend_from_slice(&rest);
            patch_len(out, at + 21, at + 23);
            header::finish(out, at)?;
            messages += 1;
        }
    }
    Ok(messages)
}

pub(super) fn withdraw(prefixes: &[Prefix], out: &mut Vec<u8>) -> usize {
    let mut messages = 0;
    let mut v4 = family(prefixes, Afi::Ipv4).peekable();
    while v4.peek().is_some() {
        let at = header::begin(out, header::UPDATE);
        out.extend_from_slice(&[0, 0]);
        let n = fill(&mut v4, out, at, 2);
        patch_len(out, at + 19, at + 21);
        out.extend_from_slice(&[0, 0]);
        // Cannot fail: `fill` kept the message within the limit.
        let _ = header::finish(out, at);
        debug_assert!(n > 0);
        messages += 1;
    }
    let mut v6 = family(prefixes, Afi::Ipv6).peekable();
    while v6.peek().is_some() {
        let at = header::begin(out, header::UPDATE);
        out.extend_from_slice(&[0, 0, 0, 0]);
        attrs::put(out, OPTIONAL, attrs::MP_UNREACH, |o| {
            o.extend_from_slice(&Afi::Ipv6.code().to_be_bytes());
            o.push(Afi::SAFI_UNICAST);
            fill(&mut v6, o, at, 1);
        });
        patch_len(out, at + 21, at + 23);
        let _ = header::finish(out, at);
        messages += 1;
    }
    messages
}

pub(super) fn end_of_rib(afi: Afi, out: &mut Vec<u8>) {
    let at = header::begin(out, header::UPDATE);
    match afi {
        Afi::Ipv4 => out.extend_from_slice(&[0, 0, 0, 0]),
        Afi::Ipv6 => {
            out.extend_from_slice(&[0, 0, 0, 6, OPTIONAL, attrs::MP_UNREACH, 3]);
            out.extend_from_slice(&afi.code().to_be_bytes());
            out.push(Afi::SAFI_UNICAST);
        }
    }
    let _ = header::finish(out, at);
}
