//! Admin actions on the control socket (`kube-bgp neighbor ADDR disable [MESSAGE] |
//! enable | softreset [in|out]`): who may ask, logging who asked, and carrying the
//! action out through the speaker.
//!
//! The socket itself is the first guard (created mode 0600, owned by the daemon's
//! user). As a second one, an action is refused unless the caller's peer credentials
//! say root or the daemon's own user, so loosening the socket's mode to let a group
//! read `kube-bgp neighbor` never lets that group reset sessions.

use std::net::IpAddr;
use std::time::Instant;

use crate::ops::ctl::{AdminAction, AdminDone};
use crate::ops::peercred::{PeerCred, own_uid};
use crate::{info, warn};

use super::Daemon;
use super::speaker::admin::SoftResetIn;

/// Carries out one admin action asked by `caller` at `now`; the lines to show, or the
/// error.
pub(super) fn act(
    d: &mut Daemon,
    caller: Option<PeerCred>,
    addr: IpAddr,
    action: &AdminAction,
    now: Instant,
) -> Result<AdminDone, String> {
    let verb = action.verb();
    d.count_ctl(verb);
    let who = match caller {
        Some(c) if c.uid == 0 || c.uid == own_uid() => c,
        Some(c) => {
            d.counters.ctl_refused += 1;
            warn!(
                "ctl",
                "neighbor {addr} {verb} refused: asked by {c}, not root nor kube-bgp's user"
            );
            return Err(format!(
                "refused: uid {} may not change sessions (root or kube-bgp's user only)",
                c.uid
            ));
        }
        None => {
            d.counters.ctl_refused += 1;
            warn!(
                "ctl",
                "neighbor {addr} {verb} refused: the caller's credentials are unknown"
            );
            return Err("refused: the caller's credentials are unknown".into());
        }
    };
    let Some(sp) = d.speaker.as_mut() else {
        return Err("BGP is not running on this node".into());
    };
    let mut done = Vec::new();
    match action {
        AdminAction::Disable { message } => {
            let text = message.clone().filter(|m| !m.is_empty());
            sp.disable_peer(addr, text.clone(), now)
                .map_err(|e| e.to_string())?;
            info!(
                "ctl",
                "neighbor {addr} disabled (Cease/Administrative Shutdown{}) by {who}",
                text.as_ref()
                    .map(|m| format!(", message {m:?}"))
                    .unwrap_or_default()
            );
            done.push(format!(
                "neighbor {addr}: administrative shutdown sent (Cease 6/2){}; it stays down until `kube-bgp neighbor {addr} enable` or a restart of kube-bgp",
                text.map(|m| format!(" with message {m:?}"))
                    .unwrap_or_default()
            ));
        }
        AdminAction::Enable => {
            sp.enable_peer(addr, now).map_err(|e| e.to_string())?;
            info!("ctl", "neighbor {addr} enabled by {who}");
            done.push(format!("neighbor {addr}: enabled, connecting"));
        }
        AdminAction::Softreset { inbound, outbound } => {
            if *inbound {
                // Re-applying import counts only refusals that are new.
                let refusals = d.refusals.clone();
                let r = refusals
                    .replay(|| sp.soft_reset_in(addr, now))
                    .map_err(|e| e.to_string())?;
                let what = match r {
                    SoftResetIn::Refresh(n) => {
                        format!("ROUTE-REFRESH sent for {n} address families")
                    }
                    SoftResetIn::Reapplied => {
                        "the peer does not support route refresh: import policy re-applied to its routes"
                            .to_string()
                    }
                };
                info!("ctl", "neighbor {addr} soft reset in by {who}: {what}");
                done.push(format!("neighbor {addr}: soft reset in: {what}"));
            }
            if *outbound {
                sp.soft_reset_out(addr).map_err(|e| e.to_string())?;
                info!(
                    "ctl",
                    "neighbor {addr} soft reset out by {who}: all advertised routes sent again"
                );
                done.push(format!(
                    "neighbor {addr}: soft reset out: all advertised routes are sent again"
                ));
            }
        }
    }
    Ok(AdminDone {
        neighbor: addr.to_string(),
        done,
    })
}
