//! The BFD control packet (RFC 5880 §4.1): decoding of untrusted bytes with the
//! packet-level reception checks of §6.8.6, and encoding of the packets we send.
//!
//! Owns: the byte layout. Must not: panic or allocate on any input, know about
//! sessions (discriminator lookup, TTL and authentication policy are the registry's),
//! or keep authentication keys (kube-bgp has none; the section is only framed).

use std::fmt;

use super::{BfdState, Diag};

/// Length of the mandatory section; the only length we send.
pub(crate) const MANDATORY_LEN: usize = 24;
/// The shortest packet that can carry an authentication section (RFC 5880 §6.8.6).
pub(crate) const MIN_AUTH_LEN: usize = 26;
/// The protocol version we speak and accept.
pub(crate) const VERSION: u8 = 1;

const FLAG_POLL: u8 = 0x20;
const FLAG_FINAL: u8 = 0x10;
const FLAG_CPI: u8 = 0x08;
const FLAG_AUTH: u8 = 0x04;
const FLAG_DEMAND: u8 = 0x02;
const FLAG_MULTIPOINT: u8 = 0x01;

/// The framing of an authentication section (RFC 5880 §4.1): type and length only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthHeader {
    /// 1 simple password, 2 keyed MD5, 3 meticulous keyed MD5, 4 keyed SHA1, 5 meticulous
    /// keyed SHA1.
    pub(crate) auth_type: u8,
    /// The section's length, type and length bytes included.
    pub(crate) len: u8,
}

/// One decoded control packet. Intervals are in microseconds, as on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControlPacket {
    pub diag: Diag,
    pub state: BfdState,
    /// P: the sender asks for parameter confirmation (a Poll Sequence).
    pub poll: bool,
    /// F: the answer to a Poll.
    pub final_bit: bool,
    /// C: the sender's BFD does not share fate with its control plane.
    pub control_plane_independent: bool,
    /// D: the sender wants Demand mode.
    pub demand: bool,
    pub detect_mult: u8,
    pub my_discr: u32,
    pub your_discr: u32,
    pub desired_min_tx_us: u32,
    pub required_min_rx_us: u32,
    pub required_min_echo_rx_us: u32,
    /// Present when the A bit is set. kube-bgp never sends one.
    pub auth: Option<AuthHeader>,
}

/// Why bytes are not an acceptable control packet (RFC 5880 §6.8.6, in its order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketError {
    /// Fewer bytes than the mandatory section.
    Truncated {
        got: usize,
    },
    BadVersion(u8),
    /// The Length field is below 24 (26 with the A bit).
    LengthTooSmall {
        length: u8,
        auth: bool,
    },
    /// The Length field says more than the datagram holds.
    LengthExceedsPayload {
        length: u8,
        payload: usize,
    },
    ZeroDetectMult,
    /// The M bit (reserved for multipoint) is set.
    Multipoint,
    /// P and F together: no sender may do that (RFC 5880 §6.5).
    PollAndFinal,
    ZeroMyDiscriminator,
    /// Your Discriminator is 0 but the state is Init or Up.
    ZeroYourDiscriminator(BfdState),
    /// The authentication section's length does not fit the packet.
    BadAuthSection {
        auth_len: u8,
        length: u8,
    },
}

impl fmt::Display for PacketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PacketError::Truncated { got } => {
                write!(
                    f,
                    "{got} bytes, shorter than the {MANDATORY_LEN}-byte header"
                )
            }
            PacketError::BadVersion(v) => write!(f, "version {v}, expected {VERSION}"),
            PacketError::LengthTooSmall { length, auth } => write!(
                f,
                "length field {length} is below the minimum of {}",
                if *auth { MIN_AUTH_LEN } else { MANDATORY_LEN }
            ),
            PacketError::LengthExceedsPayload { length, payload } => write!(
                f,
                "length field {length} exceeds the {payload}-byte datagram"
            ),
            PacketError::ZeroDetectMult => f.write_str("detect multiplier is 0"),
            PacketError::Multipoint => f.write_str("multipoint (M) bit set"),
            PacketError::PollAndFinal => f.write_str("both poll (P) and final (F) bits set"),
            PacketError::ZeroMyDiscriminator => f.write_str("my discriminator is 0"),
            PacketError::ZeroYourDiscriminator(s) => {
                write!(f, "your discriminator is 0 in state {s}")
            }
            PacketError::BadAuthSection { auth_len, length } => write!(
                f,
                "authentication section of {auth_len} bytes does not fit a {length}-byte packet"
            ),
        }
    }
}

impl std::error::Error for PacketError {}

fn be32(b: &[u8; MANDATORY_LEN], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl ControlPacket {
    /// Decodes one datagram's payload and applies the checks RFC 5880 §6.8.6 makes
    /// before a session is looked up. Bytes beyond the Length field are ignored.
    pub fn decode(bytes: &[u8]) -> Result<ControlPacket, PacketError> {
        let Some(head) = bytes.first_chunk::<MANDATORY_LEN>() else {
            return Err(PacketError::Truncated { got: bytes.len() });
        };
        let version = head[0] >> 5;
        if version != VERSION {
            return Err(PacketError::BadVersion(version));
        }
        let flags = head[1];
        let auth = flags & FLAG_AUTH != 0;
        let length = head[3];
        let min = if auth { MIN_AUTH_LEN } else { MANDATORY_LEN };
        if usize::from(length) < min {
            return Err(PacketError::LengthTooSmall { length, auth });
        }
        if usize::from(length) > bytes.len() {
            return Err(PacketError::LengthExceedsPayload {
                length,
                payload: bytes.len(),
            });
        }
        let detect_mult = head[2];
        if detect_mult == 0 {
            return Err(PacketError::ZeroDetectMult);
        }
        if flags & FLAG_MULTIPOINT != 0 {
            return Err(PacketError::Multipoint);
        }
        let poll = flags & FLAG_POLL != 0;
        let final_bit = flags & FLAG_FINAL != 0;
        if poll && final_bit {
            return Err(PacketError::PollAndFinal);
        }
        let my_discr = be32(head, 4);
        if my_discr == 0 {
            return Err(PacketError::ZeroMyDiscriminator);
        }
        let your_discr = be32(head, 8);
        let state = BfdState::from_bits(flags >> 6);
        if your_discr == 0 && matches!(state, BfdState::Init | BfdState::Up) {
            return Err(PacketError::ZeroYourDiscriminator(state));
        }
        let auth = if auth {
            // Length >= 26 was checked, and the datagram holds `length` bytes.
            let (auth_type, auth_len) = match (bytes.get(24), bytes.get(25)) {
                (Some(t), Some(l)) => (*t, *l),
                _ => return Err(PacketError::Truncated { got: bytes.len() }),
            };
            if auth_len < 2 || MANDATORY_LEN + usize::from(auth_len) > usize::from(length) {
                return Err(PacketError::BadAuthSection { auth_len, length });
            }
            Some(AuthHeader {
                auth_type,
                len: auth_len,
            })
        } else {
            None
        };
        Ok(ControlPacket {
            diag: Diag::from_bits(head[0]),
            state,
            poll,
            final_bit,
            control_plane_independent: flags & FLAG_CPI != 0,
            demand: flags & FLAG_DEMAND != 0,
            detect_mult,
            my_discr,
            your_discr,
            desired_min_tx_us: be32(head, 12),
            required_min_rx_us: be32(head, 16),
            required_min_echo_rx_us: be32(head, 20),
            auth,
        })
    }

    /// The 24 bytes of the packet. The A bit is never set and an `auth` header, if
    /// any, is not written: kube-bgp does not authenticate.
    pub fn encode(&self) -> [u8; MANDATORY_LEN] {
        let mut b = [0u8; MANDATORY_LEN];
        b[0] = (VERSION << 5) | self.diag.bits();
        let mut flags = self.state.bits() << 6;
        for (on, bit) in [
            (self.poll, FLAG_POLL),
            (self.final_bit, FLAG_FINAL),
            (self.control_plane_independent, FLAG_CPI),
            (self.demand, FLAG_DEMAND),
        ] {
            if on {
                flags |= bit;
            }
        }
        b[1] = flags;
        b[2] = self.detect_mult;
        b[3] = MANDATORY_LEN as u8;
        for (at, v) in [
            (4, self.my_discr),
            (8, self.your_discr),
            (12, self.desired_min_tx_us),
            (16, self.required_min_rx_us),
            (20, self.required_min_echo_rx_us),
        ] {
            b[at..at + 4].copy_from_slice(&v.to_be_bytes());
        }
        b
    }
}

impl fmt::Display for ControlPacket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} diag={} mult={} my={} your={} tx={}us rx={}us",
            self.state,
            self.diag.bits(),
            self.detect_mult,
            self.my_discr,
            self.your_discr,
            self.desired_min_tx_us,
            self.required_min_rx_us
        )?;
        for (on, name) in [
            (self.poll, " P"),
            (self.final_bit, " F"),
            (self.control_plane_independent, " C"),
            (self.auth.is_some(), " A"),
            (self.demand, " D"),
        ] {
            if on {
                f.write_str(name)?;
            }
        }
        Ok(())
    }
}
