//! Netlink message bytes: a writer for requests and bounds-checked readers for replies.
//!
//! Owns: the header/attribute layout (`nlmsghdr`, `nlattr`, 4-byte alignment), message
//! flags, and the NLMSG_ERROR payload. Pure: no sockets, no allocation beyond the
//! writer's buffer, and nothing read from the kernel can make it panic.

use super::netlink::NetlinkError;

pub(crate) const NLMSG_HDR_LEN: usize = 16;
pub(crate) const NLMSG_ERROR: u16 = 2;
pub(crate) const NLMSG_DONE: u16 = 3;
pub(crate) const NLMSG_OVERRUN: u16 = 4;

pub(crate) const NLM_F_REQUEST: u16 = 0x1;
pub(crate) const NLM_F_ACK: u16 = 0x4;
pub(crate) const NLM_F_DUMP_INTR: u16 = 0x10;
pub(crate) const NLM_F_ROOT: u16 = 0x100;
pub(crate) const NLM_F_MATCH: u16 = 0x200;
pub(crate) const NLM_F_DUMP: u16 = NLM_F_ROOT | NLM_F_MATCH;
pub(crate) const NLM_F_REPLACE: u16 = 0x100;
pub(crate) const NLM_F_EXCL: u16 = 0x200;
pub(crate) const NLM_F_CREATE: u16 = 0x400;
/// In an NLMSG_ERROR: the echoed request is only its header.
pub(crate) const NLM_F_CAPPED: u16 = 0x100;
/// In an NLMSG_ERROR: extended-ACK attributes follow the echoed request.
pub(crate) const NLM_F_ACK_TLVS: u16 = 0x200;
pub(crate) const NLMSGERR_ATTR_MSG: u16 = 1;

pub(crate) const AF_INET: u8 = libc::AF_INET as u8;
pub(crate) const AF_INET6: u8 = libc::AF_INET6 as u8;

/// Writes netlink messages into a byte buffer: header, fixed family header, attributes
/// (nested with `begin_nest`/`end_nest`). Lengths are patched when a message or nest
/// ends, so nothing is counted by hand.
#[derive(Default)]
pub struct MsgWriter {
    pub(crate) buf: Vec<u8>,
    start: usize,
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

impl MsgWriter {
    pub(crate) fn new() -> MsgWriter {
        MsgWriter::default()
    }

    /// Starts a message (seq 0, pid 0; `Netlink` fills the sequence number in).
    pub(crate) fn begin(&mut self, msg_type: u16, flags: u16) {
        self.start = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        self.buf.extend_from_slice(&msg_type.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&[0; 8]);
    }

    /// Appends raw bytes (a family header such as `rtmsg`), padded to 4.
    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        self.pad();
    }

    fn pad(&mut self) {
        let want = align4(self.buf.len());
        self.buf.resize(want, 0);
    }

    /// Appends one attribute.
    pub(crate) fn attr(&mut self, kind: u16, data: &[u8]) {
        let len = (4 + data.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
    }

    pub(crate) fn attr_u8(&mut self, kind: u16, v: u8) {
        self.attr(kind, &[v]);
    }

    pub(crate) fn attr_u16(&mut self, kind: u16, v: u16) {
        self.attr(kind, &v.to_ne_bytes());
    }

    pub(crate) fn attr_u32(&mut self, kind: u16, v: u32) {
        self.attr(kind, &v.to_ne_bytes());
    }

    /// A NUL-terminated string attribute.
    pub(crate) fn attr_str(&mut self, kind: u16, s: &str) {
        let len = (4 + s.len() + 1) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
        self.pad();
    }

    /// Opens a nested attribute; returns its offset for `end_nest`.
    pub(crate) fn begin_nest(&mut self, kind: u16) -> usize {
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        at
    }

    pub(crate) fn end_nest(&mut self, at: usize) {
        let len = (self.buf.len() - at) as u16;
        self.buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
    }

    /// Closes the current message, writing its length.
    pub(crate) fn end(&mut self) {
        let len = (self.buf.len() - self.start) as u32;
        self.buf[self.start..self.start + 4].copy_from_slice(&len.to_ne_bytes());
    }

    /// The bytes written so far, leaving the writer empty.
    pub(crate) fn take(&mut self) -> Vec<u8> {
        self.start = 0;
        std::mem::take(&mut self.buf)
    }
}

/// One message read from a reply buffer.
#[derive(Clone, Copy, Debug)]
pub struct NlMsg<'a> {
    pub(crate) msg_type: u16,
    pub flags: u16,
    pub(crate) seq: u32,
    pub payload: &'a [u8],
}

/// Iterates over the messages of a buffer; stops (yielding an error) at a bad length.
pub struct Messages<'a> {
    buf: &'a [u8],
}

pub fn messages(buf: &[u8]) -> Messages<'_> {
    Messages { buf }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

pub(crate) fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<NlMsg<'a>, NetlinkError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.len() < NLMSG_HDR_LEN {
            return None;
        }
        let b = self.buf;
        let (Some(len), Some(msg_type), Some(flags), Some(seq)) =
            (u32_at(b, 0), u16_at(b, 4), u16_at(b, 6), u32_at(b, 8))
        else {
            return None;
        };
        let len = len as usize;
        if len < NLMSG_HDR_LEN || len > b.len() {
            self.buf = &[];
            return Some(Err(NetlinkError::Malformed("message length")));
        }
        let payload = &b[NLMSG_HDR_LEN..len];
        self.buf = b.get(align4(len)..).unwrap_or(&[]);
        Some(Ok(NlMsg {
            msg_type,
            flags,
            seq,
            payload,
        }))
    }
}

/// Iterates over `(type, data)` of the attributes in `buf` (nested flag bits cleared);
/// stops at the first malformed attribute.
pub struct NlAttrs<'a> {
    buf: &'a [u8],
}

pub fn attrs(buf: &[u8]) -> NlAttrs<'_> {
    NlAttrs { buf }
}

impl<'a> Iterator for NlAttrs<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let b = self.buf;
        let len = u16_at(b, 0)? as usize;
        let kind = u16_at(b, 2)? & 0x3fff;
        if len < 4 || len > b.len() {
            self.buf = &[];
            return None;
        }
        let data = &b[4..len];
        self.buf = b.get(align4(len)..).unwrap_or(&[]);
        Some((kind, data))
    }
}

/// Parses the payload of an NLMSG_ERROR: `(errno as positive number or 0, ext-ack text)`.
pub fn parse_error(flags: u16, payload: &[u8]) -> Result<(i32, Option<String>), NetlinkError> {
    let code = u32_at(payload, 0).ok_or(NetlinkError::Malformed("short NLMSG_ERROR"))? as i32;
    let mut msg = None;
    if flags & NLM_F_ACK_TLVS != 0 {
        let echoed = if flags & NLM_F_CAPPED != 0 {
            NLMSG_HDR_LEN
        } else {
            u32_at(payload, 4).unwrap_or(0) as usize
        };
        if let Some(tlvs) = payload.get(4 + align4(echoed)..) {
            for (kind, data) in attrs(tlvs) {
                if kind == NLMSGERR_ATTR_MSG {
                    let text = data.split(|&c| c == 0).next().unwrap_or(&[]);
                    msg = Some(String::from_utf8_lossy(text).into_owned());
                }
            }
        }
    }
    // The kernel sends -errno (or 0); a malformed reply must not overflow the negation.
    Ok((code.saturating_neg(), msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the netlink fuzz target: an error code of i32::MIN overflowed `-code`.
    #[test]
    fn error_code_extremes_do_not_overflow() {
        let min = (i32::MIN as u32).to_ne_bytes();
        assert_eq!(parse_error(0, &min).ok().map(|r| r.0), Some(i32::MAX));
        let enoent = (-2i32 as u32).to_ne_bytes();
        assert_eq!(parse_error(0, &enoent).ok().map(|r| r.0), Some(2));
        assert!(parse_error(0, &[1, 2]).is_err());
    }

    #[test]
    fn writer_patches_lengths_and_pads() {
        let mut w = MsgWriter::new();
        w.begin(24, NLM_F_REQUEST);
        w.raw(&[1, 2, 3]);
        w.attr_str(3, "ab");
        let n = w.begin_nest(18);
        w.attr_u8(9, 7);
        w.end_nest(n);
        w.end();
        let b = w.take();
        // header 16 + raw 3 (+1 pad) + "ab\0" attr 7 (+1 pad) + nest 4 + u8 attr 5 (+3 pad)
        assert_eq!(b.len(), 16 + 4 + 8 + 4 + 8);
        assert_eq!(u32_at(&b, 0), Some(b.len() as u32));
        let m: Vec<_> = messages(&b).collect::<Result<_, _>>().expect("parse");
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].msg_type, 24);
        let a: Vec<_> = attrs(&m[0].payload[4..]).collect();
        assert_eq!(a[0], (3, &b"ab\0"[..]));
        assert_eq!(a[1].0, 18);
        assert_eq!(a[1].1.len(), 8 + 4 - 4);
        let inner: Vec<_> = attrs(a[1].1).collect();
        assert_eq!(inner, vec![(9, &[7u8][..])]);
    }

    #[test]
    fn truncated_and_bogus_lengths_do_not_panic() {
        let mut w = MsgWriter::new();
        w.begin(24, 0);
        w.attr_u32(1, 5);
        w.end();
        let b = w.take();
        for cut in 0..b.len() {
            let _ = messages(&b[..cut]).count();
            let _ = attrs(&b[..cut]).count();
        }
        let mut bad = b.clone();
        bad[0..4].copy_from_slice(&4u32.to_ne_bytes());
        assert!(matches!(messages(&bad).next(), Some(Err(_))));
        let mut bad = b;
        bad[16..18].copy_from_slice(&200u16.to_ne_bytes());
        assert_eq!(attrs(&bad[16..]).count(), 0);
    }

    #[test]
    fn error_payload_with_ext_ack_text() {
        // error -101, capped echo of a 16-byte header, then NLMSGERR_ATTR_MSG.
        let mut p = Vec::new();
        p.extend_from_slice(&(-101i32).to_ne_bytes());
        p.extend_from_slice(&[0; 16]);
        p.extend_from_slice(&13u16.to_ne_bytes());
        p.extend_from_slice(&1u16.to_ne_bytes());
        p.extend_from_slice(b"Nexthop\0\0\0\0\0");
        let (e, m) = parse_error(NLM_F_CAPPED | NLM_F_ACK_TLVS, &p).expect("parse");
        assert_eq!(e, 101);
        assert_eq!(m.as_deref(), Some("Nexthop"));
        let (e, m) = parse_error(0, &0i32.to_ne_bytes()).expect("ack");
        assert_eq!((e, m), (0, None));
        assert!(parse_error(0, &[1, 2]).is_err());
    }
}
