//! Message header (RFC 4271 §4.1): framing, header checks, and the small message types
//! (NOTIFICATION, KEEPALIVE, ROUTE-REFRESH). Must not look into OPEN or UPDATE bodies.

use super::{DecodeError, EncodeError, HEADER_LEN, MAX_MESSAGE_LEN};
use crate::bgp::types::{Message, Notification, NotificationCode};

pub(super) const OPEN: u8 = 1;
pub(super) const UPDATE: u8 = 2;
pub(super) const NOTIFICATION: u8 = 3;
pub(super) const KEEPALIVE: u8 = 4;
pub(super) const ROUTE_REFRESH: u8 = 5;

const MARKER: [u8; 16] = [0xFF; 16];

fn bad_length(len: u16, reason: String) -> DecodeError {
    DecodeError::new(
        NotificationCode::HeaderBadLength,
        len.to_be_bytes().to_vec(),
        reason,
    )
}

/// Length of the next complete message at the start of `buf`, `None` if more bytes are
/// needed. Errors are Message Header Errors (RFC 4271 §6.1): a wrong marker (subcode 1)
/// or a length outside 19..=4096 (subcode 2).
pub fn frame(buf: &[u8]) -> Result<Option<usize>, DecodeError> {
    let seen = buf.len().min(MARKER.len());
    if buf.get(..seen) != MARKER.get(..seen) {
        return Err(DecodeError::new(
            NotificationCode::HeaderNotSynchronized,
            Vec::new(),
            "message marker is not all ones".into(),
        ));
    }
    let Some(&[hi, lo]) = buf.get(16..18) else {
        return Ok(None);
    };
    let len = u16::from_be_bytes([hi, lo]);
    let n = usize::from(len);
    if !(HEADER_LEN..=MAX_MESSAGE_LEN).contains(&n) {
        return Err(bad_length(
            len,
            format!("message length {n} outside {HEADER_LEN}..={MAX_MESSAGE_LEN}"),
        ));
    }
    Ok(if buf.len() >= n { Some(n) } else { None })
}

/// Checks a complete message's header; returns its type and body.
pub(super) fn check(msg: &[u8]) -> Result<(u8, &[u8]), DecodeError> {
    let n = match frame(msg)? {
        Some(n) if n == msg.len() => n,
        _ => {
            let claimed = msg
                .get(16..18)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
                .unwrap_or(0);
            return Err(bad_length(
                claimed,
                format!(
                    "length field {claimed} does not match the {} bytes given",
                    msg.len()
                ),
            ));
        }
    };
    let (typ, body) = match msg.get(18..) {
        Some([t, body @ ..]) => (*t, body),
        _ => return Err(bad_length(0, "truncated header".into())),
    };
    let len = u16::try_from(n).unwrap_or(u16::MAX);
    let (min, max) = match typ {
        OPEN => (29, MAX_MESSAGE_LEN),
        UPDATE => (23, MAX_MESSAGE_LEN),
        NOTIFICATION => (21, MAX_MESSAGE_LEN),
        KEEPALIVE => (19, 19),
        // RFC 7313 §5 makes a wrong ROUTE-REFRESH length its own error (code 7).
        ROUTE_REFRESH => (HEADER_LEN, MAX_MESSAGE_LEN),
        _ => {
            return Err(DecodeError::new(
                NotificationCode::HeaderBadType,
                vec![typ],
                format!("unknown message type {typ}"),
            ));
        }
    };
    if n < min || n > max {
        return Err(bad_length(
            len,
            format!("length {n} is invalid for message type {typ}"),
        ));
    }
    Ok((typ, body))
}

pub(super) fn decode_notification(body: &[u8]) -> Result<Message, DecodeError> {
    match body {
        [code, subcode, data @ ..] => Ok(Message::Notification(Notification {
            code: *code,
            subcode: *subcode,
            data: data.to_vec(),
        })),
        _ => Err(bad_length(0, "NOTIFICATION too short".into())),
    }
}

pub(super) fn decode_route_refresh(msg: &[u8], body: &[u8]) -> Result<Message, DecodeError> {
    match body {
        [a0, a1, _subtype, safi] => Ok(Message::RouteRefresh {
            afi: u16::from_be_bytes([*a0, *a1]),
            safi: *safi,
        }),
        _ => Err(DecodeError::new(
            NotificationCode::RouteRefreshBadLength,
            msg.to_vec(),
            format!("ROUTE-REFRESH of {} bytes (must be 23)", msg.len()),
        )),
    }
}

/// Starts a message of type `typ`: writes the marker, a length placeholder and the type.
pub(super) fn begin(out: &mut Vec<u8>, typ: u8) -> usize {
    let at = out.len();
    out.extend_from_slice(&MARKER);
    out.extend_from_slice(&[0, 0, typ]);
    at
}

/// Fills in the length of the message started at `at`, refusing oversized messages
/// (the caller truncates `out` on error).
pub(super) fn finish(out: &mut [u8], at: usize) -> Result<(), EncodeError> {
    let len = out.len().saturating_sub(at);
    if len > MAX_MESSAGE_LEN {
        return Err(EncodeError::TooLong { len });
    }
    let be = u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes();
    if let Some(slot) = out.get_mut(at + 16..at + 18) {
        slot.copy_from_slice(&be);
    }
    Ok(())
}

/// NOTIFICATION; data beyond the message size limit is cut off.
pub(super) fn encode_notification(n: &Notification, out: &mut Vec<u8>) {
    let at = begin(out, NOTIFICATION);
    out.extend_from_slice(&[n.code, n.subcode]);
    let room = MAX_MESSAGE_LEN - HEADER_LEN - 2;
    out.extend_from_slice(n.data.get(..room).unwrap_or(&n.data));
    // Cannot fail: the data was cut to fit.
    let _ = finish(out, at);
}
