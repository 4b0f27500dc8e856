//! FoU/GUE receive ports, through the generic-netlink family `fou`: what `ip [-6] fou
//! add port P gue` and `ip [-6] fou del port P` do, byte for byte. kube-router opens one
//! GUE port (`--overlay-encap-port`) per address family before it builds GUE tunnels; the
//! kernel then takes GUE packets arriving on that UDP port off to the ipip/ip6tnl
//! tunnel that matches their addresses.
//!
//! Owns: a generic-netlink socket, the `fou` family id (resolved once) and the message
//! layouts. Does not load the `fou`/`fou6` modules (`modules` does: without them the
//! family does not exist) and does not decide when ports are wanted.

use std::fmt;

use super::netlink::{
    AF_INET, AF_INET6, Errno, MsgWriter, NLM_F_ACK, NLM_F_REQUEST, Netlink, NetlinkError,
    NetlinkRequests, attrs,
};

pub(crate) const GENL_ID_CTRL: u16 = 0x10;
pub(crate) const CTRL_CMD_GETFAMILY: u8 = 3;
pub(crate) const CTRL_ATTR_FAMILY_ID: u16 = 1;
pub(crate) const CTRL_ATTR_FAMILY_NAME: u16 = 2;
pub(crate) const GENL_HDR_LEN: usize = 4;

pub(crate) const FOU_GENL_NAME: &str = "fou";
pub(crate) const FOU_GENL_VERSION: u8 = 1;
pub(crate) const FOU_CMD_ADD: u8 = 1;
pub(crate) const FOU_CMD_DEL: u8 = 2;
pub(crate) const FOU_CMD_GET: u8 = 3;
pub(crate) const FOU_ATTR_PORT: u16 = 1;
pub(crate) const FOU_ATTR_AF: u16 = 2;
pub(crate) const FOU_ATTR_TYPE: u16 = 4;
/// `FOU_ENCAP_DIRECT`: iproute2's type when none is named (what `ip fou del` sends).
pub(crate) const FOU_ENCAP_DIRECT: u8 = 1;
pub(crate) const FOU_ENCAP_GUE: u8 = 2;

/// Errors of FoU port management.
#[derive(Debug)]
pub enum FouError {
    /// The kernel has no `fou` generic-netlink family: the `fou` module is not loaded.
    NoFamily(Errno),
    /// The kernel refused a request.
    Kernel {
        what: String,
        error: Errno,
    },
    Netlink(NetlinkError),
}

impl fmt::Display for FouError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FouError::NoFamily(e) => write!(
                f,
                "the kernel has no FoU support ({e}): the fou and fou6 modules are not loaded"
            ),
            FouError::Kernel { what, error } => write!(f, "{what}: {error}"),
            FouError::Netlink(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for FouError {}

impl From<NetlinkError> for FouError {
    fn from(e: NetlinkError) -> FouError {
        FouError::Netlink(e)
    }
}

/// `CTRL_CMD_GETFAMILY` for `name`, as iproute2's `genl_resolve_family` sends it.
fn encode_get_family(w: &mut MsgWriter, name: &str) {
    w.begin(GENL_ID_CTRL, NLM_F_REQUEST);
    w.raw(&[CTRL_CMD_GETFAMILY, 0, 0, 0]);
    w.attr_str(CTRL_ATTR_FAMILY_NAME, name);
    w.end();
}

/// The family id in a `CTRL_CMD_NEWFAMILY` reply payload.
fn parse_family_id(payload: &[u8]) -> Option<u16> {
    attrs(payload.get(GENL_HDR_LEN..)?)
        .find(|(t, _)| *t == CTRL_ATTR_FAMILY_ID)
        .and_then(|(_, d)| Some(u16::from_ne_bytes(d.get(..2)?.try_into().ok()?)))
}

/// `ip [-6] fou add port P gue` (`add`) or `ip [-6] fou del port P`, for family id
/// `family_id` and address family `af` (AF_INET or AF_INET6).
pub(crate) fn encode_port(w: &mut MsgWriter, family_id: u16, add: bool, port: u16, af: u8) {
    w.begin(family_id, NLM_F_REQUEST | NLM_F_ACK);
    let cmd = if add { FOU_CMD_ADD } else { FOU_CMD_DEL };
    w.raw(&[cmd, FOU_GENL_VERSION, 0, 0]);
    w.attr(FOU_ATTR_PORT, &port.to_be_bytes());
    w.attr_u8(
        FOU_ATTR_TYPE,
        if add { FOU_ENCAP_GUE } else { FOU_ENCAP_DIRECT },
    );
    w.attr_u8(FOU_ATTR_AF, af);
    w.end();
}

/// `ip fou show`: a dump of every FoU port.
fn encode_list(w: &mut MsgWriter, family_id: u16) {
    w.begin(family_id, NLM_F_REQUEST);
    w.raw(&[FOU_CMD_GET, FOU_GENL_VERSION, 0, 0]);
    w.end();
}

/// One FoU port as the kernel lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FouPort {
    pub(crate) port: u16,
    /// AF_INET or AF_INET6.
    pub(crate) af: u8,
    /// Whether it takes GUE (else direct FoU with a fixed inner protocol).
    pub(crate) gue: bool,
}

/// The port of a `FOU_CMD_GET` reply payload, or of an add or delete request (the
/// same attributes after the same generic-netlink header).
pub(crate) fn parse_port(payload: &[u8]) -> Option<FouPort> {
    let (mut port, mut af, mut kind) = (None, None, None);
    for (t, d) in attrs(payload.get(GENL_HDR_LEN..)?) {
        match t {
            FOU_ATTR_PORT => port = Some(u16::from_be_bytes(d.get(..2)?.try_into().ok()?)),
            FOU_ATTR_AF => af = d.first().copied(),
            FOU_ATTR_TYPE => kind = d.first().copied(),
            _ => {}
        }
    }
    Some(FouPort {
        port: port?,
        af: af?,
        gue: kind? == FOU_ENCAP_GUE,
    })
}

/// The address family byte for an IP version.
pub fn af_of(ipv6: bool) -> u8 {
    if ipv6 { AF_INET6 } else { AF_INET }
}

/// A generic-netlink socket for FoU ports.
pub struct FouPorts {
    nl: Box<dyn NetlinkRequests>,
    family: Option<u16>,
}

impl FouPorts {
    /// Over a generic-netlink socket of the host.
    pub fn open() -> Result<FouPorts, FouError> {
        Ok(FouPorts::over(Box::new(Netlink::open_generic()?)))
    }

    /// Over `nl`, a generic-netlink request socket (the host's, or a simulated kernel's).
    pub(crate) fn over(nl: Box<dyn NetlinkRequests>) -> FouPorts {
        FouPorts { nl, family: None }
    }

    /// The `fou` family id (asked once; an error if the module is not loaded).
    fn family(&mut self) -> Result<u16, FouError> {
        if let Some(id) = self.family {
            return Ok(id);
        }
        let reply = self
            .nl
            .query(&mut |w| encode_get_family(w, FOU_GENL_NAME))
            .map_err(|e| {
                if e.errno == libc::ENOENT {
                    FouError::NoFamily(e)
                } else {
                    FouError::Kernel {
                        what: "resolve the fou generic-netlink family".into(),
                        error: e,
                    }
                }
            })?;
        let id = parse_family_id(&reply).ok_or(FouError::Netlink(NetlinkError::Malformed(
            "family reply without an id",
        )))?;
        self.family = Some(id);
        Ok(id)
    }

    /// Every FoU port of this network namespace.
    pub(crate) fn list(&mut self) -> Result<Vec<FouPort>, FouError> {
        let id = self.family()?;
        let found = std::cell::RefCell::new(Vec::new());
        self.nl.dump(
            "FoU ports",
            &|w: &mut MsgWriter| encode_list(w, id),
            &mut || found.borrow_mut().clear(),
            &mut |m| {
                if m.msg_type == id {
                    if let Some(p) = parse_port(m.payload) {
                        found.borrow_mut().push(p);
                    }
                }
            },
        )?;
        Ok(found.into_inner())
    }

    /// Opens GUE port `port` for `af` unless it is open; true when it was opened now.
    /// The UDP port held by anything else (a direct FoU port, another program) is an
    /// error: GUE packets would not reach the tunnels.
    pub fn add_gue(&mut self, port: u16, af: u8) -> Result<bool, FouError> {
        let id = self.family()?;
        let want = FouPort {
            port,
            af,
            gue: true,
        };
        if self.list()?.contains(&want) {
            return Ok(false);
        }
        match self.nl.request(&mut |w| encode_port(w, id, true, port, af)) {
            Ok(()) => Ok(true),
            Err(error) => Err(FouError::Kernel {
                what: format!(
                    "open FoU/GUE port {port} ({}){}",
                    family_name(af),
                    if error.errno == libc::EADDRINUSE {
                        ": the UDP port is in use by something else"
                    } else {
                        ""
                    }
                ),
                error,
            }),
        }
    }

    /// Closes GUE port `port` of `af` if it is open; true when it was closed now. A
    /// kernel without the `fou` family has no ports: nothing to do. A direct FoU port
    /// on that UDP port is not ours and stays.
    pub fn remove(&mut self, port: u16, af: u8) -> Result<bool, FouError> {
        let id = match self.family() {
            Ok(id) => id,
            Err(FouError::NoFamily(_)) => return Ok(false),
            Err(e) => return Err(e),
        };
        let ours = FouPort {
            port,
            af,
            gue: true,
        };
        if !self.list()?.contains(&ours) {
            return Ok(false);
        }
        match self
            .nl
            .request(&mut |w| encode_port(w, id, false, port, af))
        {
            Ok(()) => Ok(true),
            Err(error) => Err(FouError::Kernel {
                what: format!("close FoU port {port} ({})", family_name(af)),
                error,
            }),
        }
    }
}

fn family_name(af: u8) -> &'static str {
    if af == AF_INET6 { "IPv6" } else { "IPv4" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        s.split("\\x")
            .filter(|h| !h.is_empty())
            .map(|h| u8::from_str_radix(h, 16).expect("hex"))
            .collect()
    }

    /// A header as iproute2 sent it (seq zeroed), then `body`.
    fn message(len: u32, msg_type: u16, flags: u16, body: &str) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&len.to_ne_bytes());
        m.extend_from_slice(&msg_type.to_ne_bytes());
        m.extend_from_slice(&flags.to_ne_bytes());
        m.extend_from_slice(&[0; 8]);
        m.extend_from_slice(&hex(body));
        m
    }

    /// The bytes iproute2 6.1 sent (`strace -e trace=sendmsg -xx`, in the VM lab) to
    /// resolve the family for `ip fou add port 5555 gue`.
    #[test]
    fn family_lookup_matches_iproute2_bytes() {
        let want = message(
            28,
            GENL_ID_CTRL,
            NLM_F_REQUEST,
            "\\x03\\x00\\x00\\x00\\x08\\x00\\x02\\x00\\x66\\x6f\\x75\\x00",
        );
        let mut w = MsgWriter::new();
        encode_get_family(&mut w, "fou");
        assert_eq!(w.take(), want);
    }

    /// `ip fou add port 5555 gue`, `ip -6 fou add port 5555 gue`, `ip fou del port
    /// 5555` and `ip -6 fou del port 5555` (family id as the kernel gave it: 0x1b here).
    #[test]
    fn port_messages_match_iproute2_bytes() {
        let id = 0x1b;
        let f = NLM_F_REQUEST | NLM_F_ACK;
        let cases = [
            (
                true,
                AF_INET,
                "\\x01\\x01\\x00\\x00\\x06\\x00\\x01\\x00\\x15\\xb3\\x00\\x00\\x05\\x00\\x04\\x00\\x02\\x00\\x00\\x00\\x05\\x00\\x02\\x00\\x02\\x00\\x00\\x00",
            ),
            (
                true,
                AF_INET6,
                "\\x01\\x01\\x00\\x00\\x06\\x00\\x01\\x00\\x15\\xb3\\x00\\x00\\x05\\x00\\x04\\x00\\x02\\x00\\x00\\x00\\x05\\x00\\x02\\x00\\x0a\\x00\\x00\\x00",
            ),
            (
                false,
                AF_INET,
                "\\x02\\x01\\x00\\x00\\x06\\x00\\x01\\x00\\x15\\xb3\\x00\\x00\\x05\\x00\\x04\\x00\\x01\\x00\\x00\\x00\\x05\\x00\\x02\\x00\\x02\\x00\\x00\\x00",
            ),
            (
                false,
                AF_INET6,
                "\\x02\\x01\\x00\\x00\\x06\\x00\\x01\\x00\\x15\\xb3\\x00\\x00\\x05\\x00\\x04\\x00\\x01\\x00\\x00\\x00\\x05\\x00\\x02\\x00\\x0a\\x00\\x00\\x00",
            ),
        ];
        for (add, af, body) in cases {
            let mut w = MsgWriter::new();
            encode_port(&mut w, id, add, 5555, af);
            assert_eq!(w.take(), message(44, id, f, body), "add={add} af={af}");
        }
    }

    #[test]
    fn port_list_request_and_reply() {
        let mut w = MsgWriter::new();
        encode_list(&mut w, 0x1b);
        let b = w.take();
        assert_eq!(&b[4..6], &0x1bu16.to_ne_bytes());
        assert_eq!(&b[16..20], &[FOU_CMD_GET, FOU_GENL_VERSION, 0, 0]);
        // A reply as the kernel builds it: port, af, ipproto, type.
        let mut p = vec![FOU_CMD_ADD, 1, 0, 0];
        p.extend_from_slice(&[6, 0, 1, 0, 0x15, 0xb3, 0, 0]);
        p.extend_from_slice(&[5, 0, 2, 0, AF_INET6, 0, 0, 0]);
        p.extend_from_slice(&[5, 0, 3, 0, 0, 0, 0, 0]);
        p.extend_from_slice(&[5, 0, 4, 0, FOU_ENCAP_GUE, 0, 0, 0]);
        assert_eq!(
            parse_port(&p),
            Some(FouPort {
                port: 5555,
                af: AF_INET6,
                gue: true
            })
        );
        assert_eq!(parse_port(&p[..20]), None);
    }

    #[test]
    fn family_id_parse() {
        // genl header, CTRL_ATTR_FAMILY_NAME "fou", CTRL_ATTR_FAMILY_ID 0x1b.
        let mut p = vec![1, 2, 0, 0];
        p.extend_from_slice(&[8, 0, 2, 0, b'f', b'o', b'u', 0]);
        p.extend_from_slice(&[6, 0, 1, 0, 0x1b, 0, 0, 0]);
        assert_eq!(parse_family_id(&p), Some(0x1b));
        assert_eq!(parse_family_id(&p[..12]), None);
        assert_eq!(parse_family_id(&[1, 2]), None);
        assert_eq!(parse_family_id(&[1, 2, 0, 0, 5, 0, 1, 0, 7, 0, 0, 0]), None);
    }
}
