//! Operator actions on one neighbor (`kube-bgp neighbor ADDR disable|enable|softreset`):
//! administrative shutdown with a Shutdown Communication and its undoing, and soft
//! resets in both directions. Who asked is the caller's to log; this only acts and says
//! what it did.

use std::net::IpAddr;
use std::time::Instant;

use super::sessions::{PeerSlot, SpeakerCore};
use crate::bgp::fsm::{Input, Output, State};
use crate::bgp::types::Message;
use crate::prefix::Afi;

/// Why an operator action could not be carried out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum AdminError {
    NoSuchPeer(IpAddr),
    AlreadyDisabled(IpAddr),
    NotDisabled(IpAddr),
    NotEstablished(IpAddr),
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminError::NoSuchPeer(a) => write!(f, "no neighbor {a}"),
            AdminError::AlreadyDisabled(a) => write!(f, "neighbor {a} is already disabled"),
            AdminError::NotDisabled(a) => write!(f, "neighbor {a} is not disabled"),
            AdminError::NotEstablished(a) => {
                write!(f, "neighbor {a} is not Established: nothing to reset")
            }
        }
    }
}

/// What a soft reset inbound did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SoftResetIn {
    /// ROUTE-REFRESH sent for these families (RFC 2918).
    Refresh(usize),
    /// The peer does not support route refresh: import policy re-applied to the
    /// paths held from it.
    Reapplied,
}

impl SpeakerCore {
    /// The slot of neighbor `addr`, or why an action on it cannot be carried out.
    fn admin_slot(&mut self, addr: IpAddr) -> Result<&mut PeerSlot, AdminError> {
        self.peers
            .get_mut(&addr)
            .ok_or(AdminError::NoSuchPeer(addr))
    }

    /// Administrative shutdown: Cease/Administrative Shutdown (6/2) with `message`
    /// (RFC 9003), and the session stays down until [`SpeakerCore::enable_peer`].
    pub(crate) fn disable_peer(
        &mut self,
        addr: IpAddr,
        message: Option<String>,
        now: Instant,
    ) -> Result<(), AdminError> {
        let slot = self.admin_slot(addr)?;
        if slot.admin_down.is_some() {
            return Err(AdminError::AlreadyDisabled(addr));
        }
        let message = message.unwrap_or_default();
        slot.admin_down = Some(message.clone());
        self.input(addr, Input::Shutdown { message }, now);
        Ok(())
    }

    /// Undoes [`SpeakerCore::disable_peer`]: the session starts again.
    pub(crate) fn enable_peer(&mut self, addr: IpAddr, now: Instant) -> Result<(), AdminError> {
        let slot = self.admin_slot(addr)?;
        if slot.admin_down.take().is_none() {
            return Err(AdminError::NotDisabled(addr));
        }
        self.input(addr, Input::Start, now);
        Ok(())
    }

    /// Soft reset inbound: ROUTE-REFRESH for every negotiated family when the peer
    /// supports it, else import policy re-applied to what it sent.
    pub(crate) fn soft_reset_in(
        &mut self,
        addr: IpAddr,
        now: Instant,
    ) -> Result<SoftResetIn, AdminError> {
        let slot = self.peers.get(&addr).ok_or(AdminError::NoSuchPeer(addr))?;
        let (Some(conn), Some(neg)) = (slot.fsm.established_conn(), slot.fsm.negotiated()) else {
            return Err(AdminError::NotEstablished(addr));
        };
        if !neg.route_refresh {
            let id = slot.rib_id;
            self.rib.reimport_peer(id);
            return Ok(SoftResetIn::Reapplied);
        }
        let sends: Vec<Output> = neg
            .families
            .iter()
            .map(|f| Output::Send {
                conn,
                msg: Message::RouteRefresh {
                    afi: match f {
                        Afi::Ipv4 => 1,
                        Afi::Ipv6 => 2,
                    },
                    safi: 1,
                },
            })
            .collect();
        let n = sends.len();
        self.run_outputs(addr, sends, now);
        Ok(SoftResetIn::Refresh(n))
    }

    /// Soft reset outbound: our whole Adj-RIB-Out goes to the peer again at the next
    /// flush (without End-of-RIB), as for a ROUTE-REFRESH from it.
    pub(crate) fn soft_reset_out(&mut self, addr: IpAddr) -> Result<(), AdminError> {
        let slot = self.peers.get(&addr).ok_or(AdminError::NoSuchPeer(addr))?;
        if slot.fsm.state() != State::Established {
            return Err(AdminError::NotEstablished(addr));
        }
        self.rib.resend(slot.rib_id);
        Ok(())
    }
}
