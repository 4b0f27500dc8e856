//! OPEN handling for the session FSM: the OPEN we send, and the checks and capability
//! negotiation applied to the OPEN we receive (RFC 4271 §6.2, RFC 5492, RFC 4760,
//! RFC 6793, RFC 2918, RFC 4724, RFC 6286).
//!
//! Owns: what goes into our OPEN and what a peer's OPEN must satisfy. Pure functions of
//! the peer configuration and the decoded message; no state, no timers, no bytes.

use std::net::Ipv4Addr;

use super::PeerConfig;
use crate::bgp::types::{
    Afi, Capability, GrFamily, GracefulRestartCap, Message, Notification, NotificationCode, Open,
};
use crate::bgp::wire::AS_TRANS;

/// BGP version spoken (RFC 4271).
pub(crate) const BGP_VERSION: u8 = 4;

/// What both ends agreed on for one session; handed to the speaker and the RIB when the
/// session reaches Established.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Negotiated {
    /// Negotiated hold time in seconds: the smaller of both OPENs; 0 = no hold timer.
    pub(crate) hold_time: u16,
    /// Keepalive interval in seconds (a third of the hold time); 0 = no keepalives.
    pub(crate) keepalive: u16,
    /// Both sides sent the 4-octet AS capability (we always do).
    pub four_octet_as: bool,
    /// Families both sides advertised (IPv4 unicast when the peer sent no MP capability,
    /// RFC 4760 §8), sorted.
    pub families: Vec<Afi>,
    /// Both sides advertised route refresh (RFC 2918).
    pub(crate) route_refresh: bool,
    pub(crate) remote_asn: u32,
    pub remote_router_id: Ipv4Addr,
    /// Same AS on both ends.
    pub ibgp: bool,
    /// The peer's graceful restart capability, as received.
    pub(crate) peer_gr: Option<GracefulRestartCap>,
    /// We sent the graceful restart capability in this session.
    pub(crate) local_gr_advertised: bool,
}

impl Negotiated {
    /// Whether the end of this session should leave the peer's routes in place as stale
    /// (RFC 4724 §4.2): both sides exchanged the capability. The caller decides per
    /// family using `peer_gr` (F bits, families listed).
    pub(crate) fn graceful_capable(&self) -> bool {
        self.peer_gr.is_some() && self.local_gr_advertised
    }

    /// The restart time the peer advertised, when the session is graceful-restart
    /// capable (see [`Negotiated::graceful_capable`]).
    pub(crate) fn graceful_restart_time(&self) -> Option<u16> {
        self.peer_gr
            .as_ref()
            .filter(|_| self.local_gr_advertised)
            .map(|g| g.restart_time)
    }
}

/// The OPEN we send to this peer.
pub(crate) fn build_open(cfg: &PeerConfig) -> Message {
    let mut families = cfg.families.clone();
    families.sort();
    families.dedup();
    let mut caps: Vec<Capability> = families
        .iter()
        .map(|afi| Capability::Multiprotocol {
            afi: afi.code(),
            safi: Afi::SAFI_UNICAST,
        })
        .collect();
    if cfg.route_refresh {
        caps.push(Capability::RouteRefresh);
    }
    caps.push(Capability::FourOctetAs(cfg.local_asn));
    if let Some(gr) = &cfg.graceful_restart {
        caps.push(Capability::GracefulRestart(GracefulRestartCap {
            restart_state: gr.restarting,
            restart_time: gr.restart_time.min(0x0FFF),
            families: families
                .iter()
                .map(|afi| GrFamily {
                    afi: afi.code(),
                    safi: Afi::SAFI_UNICAST,
                    forwarding_preserved: gr.forwarding_preserved,
                })
                .collect(),
        }));
    }
    Message::Open(Open {
        version: BGP_VERSION,
        asn: cfg.local_asn,
        hold_time: cfg.hold_time,
        router_id: cfg.router_id,
        capabilities: caps,
    })
}

fn open_error(kind: NotificationCode, data: Vec<u8>) -> Notification {
    Notification::new(kind, data)
}

/// The hold time both ends use: the smaller of the two, where 0 (no hold timer) wins.
/// A received 1 or 2 is refused (RFC 4271 §6.2) with OPEN error subcode 6.
pub(crate) fn negotiate_hold_time(ours: u16, theirs: u16) -> Result<u16, Notification> {
    if theirs == 1 || theirs == 2 {
        return Err(open_error(
            NotificationCode::OpenUnacceptableHoldTime,
            Vec::new(),
        ));
    }
    Ok(ours.min(theirs))
}

/// Checks a received OPEN against the configuration and negotiates the session, or
/// returns the NOTIFICATION to send.
pub(crate) fn check_open(cfg: &PeerConfig, open: &Open) -> Result<Negotiated, Notification> {
    if open.version != BGP_VERSION {
        return Err(open_error(
            NotificationCode::OpenUnsupportedVersion,
            u16::from(BGP_VERSION).to_be_bytes().to_vec(),
        ));
    }
    if open.asn != cfg.remote_asn {
        // The data field carries the AS we saw; 2 octets per RFC 4271 (AS_TRANS beyond).
        let shown = u16::try_from(open.asn).unwrap_or(AS_TRANS as u16);
        return Err(open_error(
            NotificationCode::OpenBadPeerAs,
            shown.to_be_bytes().to_vec(),
        ));
    }
    // RFC 4271 allows 0 (no hold timer): a peer that never has to send anything could
    // hold the session and its routes forever. Refused unless configured (BIRD's
    // `min hold time`, FRR's `bgp minimum-holdtime`) or offered by us.
    if open.hold_time == 0 && cfg.hold_time != 0 && !cfg.accept_zero_hold_time {
        return Err(open_error(
            NotificationCode::OpenUnacceptableHoldTime,
            Vec::new(),
        ));
    }
    let hold_time = negotiate_hold_time(cfg.hold_time, open.hold_time)?;
    let ibgp = cfg.local_asn == cfg.remote_asn;
    // RFC 6286 §2.2: 0 is never valid; equal to ours only matters within one AS.
    if open.router_id.is_unspecified() || (ibgp && open.router_id == cfg.router_id) {
        return Err(open_error(
            NotificationCode::OpenBadBgpId,
            open.router_id.octets().to_vec(),
        ));
    }

    let mut peer_families: Vec<Afi> = Vec::new();
    let mut saw_mp = false;
    let mut peer_rr = false;
    let mut peer_as4 = false;
    let mut peer_gr = None;
    for cap in &open.capabilities {
        match cap {
            Capability::Multiprotocol { afi, safi } => {
                saw_mp = true;
                if *safi == Afi::SAFI_UNICAST {
                    if let Some(a) = Afi::from_code(*afi) {
                        peer_families.push(a);
                    }
                }
            }
            Capability::RouteRefresh => peer_rr = true,
            Capability::FourOctetAs(_) => peer_as4 = true,
            Capability::GracefulRestart(gr) => peer_gr = Some(gr.clone()),
            Capability::Unknown { .. } => {}
        }
    }
    if !saw_mp {
        peer_families.push(Afi::Ipv4);
    }
    let mut families: Vec<Afi> = cfg
        .families
        .iter()
        .copied()
        .filter(|a| peer_families.contains(a))
        .collect();
    families.sort();
    families.dedup();
    if families.is_empty() {
        // Nothing could be exchanged: say which families we need (RFC 5492 §3).
        let mut data = Vec::new();
        for afi in &cfg.families {
            data.extend_from_slice(&[1, 4]);
            data.extend_from_slice(&afi.code().to_be_bytes());
            data.extend_from_slice(&[0, Afi::SAFI_UNICAST]);
        }
        return Err(open_error(
            NotificationCode::OpenUnsupportedCapability,
            data,
        ));
    }

    Ok(Negotiated {
        hold_time,
        keepalive: hold_time / 3,
        four_octet_as: peer_as4,
        families,
        route_refresh: cfg.route_refresh && peer_rr,
        remote_asn: open.asn,
        remote_router_id: open.router_id,
        ibgp,
        peer_gr,
        local_gr_advertised: cfg.graceful_restart.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgp::fsm::GrConfig;

    fn cfg() -> PeerConfig {
        let mut c = PeerConfig::new(65000, 65001, Ipv4Addr::new(10, 0, 0, 1));
        c.families = vec![Afi::Ipv4, Afi::Ipv6];
        c
    }

    fn open_from(asn: u32, id: Ipv4Addr, hold: u16, caps: Vec<Capability>) -> Open {
        Open {
            version: 4,
            asn,
            hold_time: hold,
            router_id: id,
            capabilities: caps,
        }
    }

    fn mp(afi: Afi) -> Capability {
        Capability::Multiprotocol {
            afi: afi.code(),
            safi: 1,
        }
    }

    #[test]
    fn hold_time_table() {
        // (ours, theirs) -> negotiated, or refused with subcode 6
        let table: [(u16, u16, Option<u16>); 9] = [
            (90, 90, Some(90)),
            (90, 30, Some(30)),
            (30, 90, Some(30)),
            (90, 0, Some(0)),
            (0, 90, Some(0)),
            (90, 3, Some(3)),
            (90, 1, None),
            (90, 2, None),
            (0, 2, None),
        ];
        for (ours, theirs, want) in table {
            let got = negotiate_hold_time(ours, theirs);
            match want {
                Some(h) => assert_eq!(got, Ok(h), "ours={ours} theirs={theirs}"),
                None => {
                    let n = got.expect_err("must refuse");
                    assert_eq!((n.code, n.subcode), (2, 6), "ours={ours} theirs={theirs}");
                }
            }
        }
        let mut c = cfg();
        c.hold_time = 9;
        let n = check_open(&c, &open_from(65001, Ipv4Addr::new(1, 1, 1, 1), 90, vec![]))
            .expect("valid");
        assert_eq!((n.hold_time, n.keepalive), (9, 3));
        // A peer's hold time 0 is refused unless configured, or offered by us.
        let zero = open_from(65001, Ipv4Addr::new(1, 1, 1, 1), 0, vec![]);
        let n = check_open(&c, &zero).expect_err("hold time 0 refused");
        assert_eq!((n.code, n.subcode), (2, 6));
        c.accept_zero_hold_time = true;
        let n = check_open(&c, &zero).expect("valid");
        assert_eq!((n.hold_time, n.keepalive), (0, 0));
        c.accept_zero_hold_time = false;
        c.hold_time = 0;
        let n = check_open(&c, &zero).expect("valid");
        assert_eq!((n.hold_time, n.keepalive), (0, 0));
    }

    #[test]
    fn families_intersection_and_missing_mp() {
        let id = Ipv4Addr::new(10, 0, 0, 2);
        let n = check_open(&cfg(), &open_from(65001, id, 90, vec![])).expect("valid");
        assert_eq!(
            n.families,
            vec![Afi::Ipv4],
            "no MP capability means IPv4 unicast"
        );
        let n = check_open(&cfg(), &open_from(65001, id, 90, vec![mp(Afi::Ipv6)])).expect("ok");
        assert_eq!(n.families, vec![Afi::Ipv6]);
        let caps = vec![mp(Afi::Ipv6), mp(Afi::Ipv4), Capability::RouteRefresh];
        let n = check_open(&cfg(), &open_from(65001, id, 90, caps)).expect("ok");
        assert_eq!(n.families, vec![Afi::Ipv4, Afi::Ipv6]);
        assert!(n.route_refresh && !n.four_octet_as && !n.ibgp);
        // Only a SAFI we do not carry: nothing in common -> Unsupported Capability.
        let caps = vec![Capability::Multiprotocol { afi: 1, safi: 128 }];
        let e = check_open(&cfg(), &open_from(65001, id, 90, caps)).expect_err("refused");
        assert_eq!((e.code, e.subcode), (2, 7));
        let mut v6only = cfg();
        v6only.families = vec![Afi::Ipv6];
        let e = check_open(&v6only, &open_from(65001, id, 90, vec![])).expect_err("refused");
        assert_eq!((e.code, e.subcode), (2, 7));
        assert_eq!(e.data, vec![1, 4, 0, 2, 0, 1]);
    }

    #[test]
    fn version_asn_and_router_id_checks() {
        let id = Ipv4Addr::new(10, 0, 0, 2);
        let mut o = open_from(65001, id, 90, vec![]);
        o.version = 3;
        let e = check_open(&cfg(), &o).expect_err("bad version");
        assert_eq!((e.code, e.subcode, e.data.clone()), (2, 1, vec![0, 4]));
        let e = check_open(&cfg(), &open_from(65002, id, 90, vec![])).expect_err("bad AS");
        assert_eq!((e.code, e.subcode), (2, 2));
        let e = check_open(&cfg(), &open_from(4_200_000_000, id, 90, vec![])).expect_err("AS");
        assert_eq!(e.data, vec![0x5b, 0xa0], "4-octet AS shows as AS_TRANS");
        let zero = Ipv4Addr::UNSPECIFIED;
        let e = check_open(&cfg(), &open_from(65001, zero, 90, vec![])).expect_err("id 0");
        assert_eq!((e.code, e.subcode), (2, 3));
        // Same router id: fine on eBGP (RFC 6286), refused on iBGP.
        let ours = cfg().router_id;
        assert!(check_open(&cfg(), &open_from(65001, ours, 90, vec![])).is_ok());
        let mut ibgp = cfg();
        ibgp.remote_asn = 65000;
        let e = check_open(&ibgp, &open_from(65000, ours, 90, vec![])).expect_err("same id");
        assert_eq!((e.code, e.subcode), (2, 3));
        let n = check_open(&ibgp, &open_from(65000, id, 90, vec![])).expect("ok");
        assert!(n.ibgp);
    }

    #[test]
    fn open_carries_configured_capabilities() {
        let mut c = cfg();
        c.graceful_restart = Some(GrConfig {
            restart_time: 120,
            restarting: true,
            forwarding_preserved: true,
        });
        let Message::Open(o) = build_open(&c) else {
            panic!("not an OPEN");
        };
        assert_eq!((o.version, o.asn, o.hold_time), (4, 65000, 90));
        assert!(o.capabilities.contains(&mp(Afi::Ipv4)));
        assert!(o.capabilities.contains(&mp(Afi::Ipv6)));
        assert!(o.capabilities.contains(&Capability::RouteRefresh));
        assert!(o.capabilities.contains(&Capability::FourOctetAs(65000)));
        let gr = o.capabilities.iter().find_map(|c| match c {
            Capability::GracefulRestart(g) => Some(g.clone()),
            _ => None,
        });
        let gr = gr.expect("GR capability");
        assert!(gr.restart_state);
        assert_eq!(gr.restart_time, 120);
        assert_eq!(gr.families.len(), 2);
        assert!(
            gr.families
                .iter()
                .all(|f| f.forwarding_preserved && f.safi == 1)
        );

        c.graceful_restart = None;
        c.route_refresh = false;
        let Message::Open(o) = build_open(&c) else {
            panic!("not an OPEN");
        };
        assert!(!o.capabilities.contains(&Capability::RouteRefresh));
        assert!(
            !o.capabilities
                .iter()
                .any(|c| matches!(c, Capability::GracefulRestart(_)))
        );
    }

    #[test]
    fn gr_capability_negotiation() {
        let id = Ipv4Addr::new(10, 0, 0, 2);
        let peer_gr = GracefulRestartCap {
            restart_state: false,
            restart_time: 90,
            families: vec![GrFamily {
                afi: 1,
                safi: 1,
                forwarding_preserved: true,
            }],
        };
        let caps = vec![Capability::GracefulRestart(peer_gr.clone())];
        // Peer advertises, we do not: not graceful.
        let n = check_open(&cfg(), &open_from(65001, id, 90, caps.clone())).expect("ok");
        assert_eq!(n.peer_gr, Some(peer_gr.clone()));
        assert!(!n.local_gr_advertised && !n.graceful_capable());
        // Both advertise.
        let mut c = cfg();
        c.graceful_restart = Some(GrConfig {
            restart_time: 90,
            restarting: false,
            forwarding_preserved: true,
        });
        let n = check_open(&c, &open_from(65001, id, 90, caps)).expect("ok");
        assert!(n.local_gr_advertised && n.graceful_capable());
        // We advertise, peer does not.
        let n = check_open(&c, &open_from(65001, id, 90, vec![])).expect("ok");
        assert!(n.peer_gr.is_none() && !n.graceful_capable());
    }
}
