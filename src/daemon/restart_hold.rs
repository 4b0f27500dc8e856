//! Safe restarts: when kube-bgp may delete the protocol-17 routes an earlier run left in
//! the kernel. Pure (sans-IO): peer sync states and `now` in, "release" and a deadline
//! out; the daemon feeds it and ends the reconciler's hold on deletions when it says so.
//!
//! In every mode (graceful restart or not), adopted routes stay until
//! 1. the API server's first full list has arrived (before that nobody knows which
//!    peers exist: an API outage during a restart keeps every route, for as long as it
//!    lasts), BGP runs, and
//! 2. every configured peer that is up has re-sent its routes: it is Established and
//!    has sent End-of-RIB for each negotiated family, or its first UPDATE burst has
//!    settled (no UPDATE for `SETTLE`). A peer not Established within `ESTABLISH_WAIT`
//!    of the first list is taken as down and not waited for (FRR's `update-delay` with
//!    `establish-wait` works the same way),
//!
//! or until `max_wait` (`--bgp-graceful-restart-deferral-time`, 6 minutes by default)
//! has passed since the first list — never counted from the process start, so it cannot
//! expire while the peers are still unknown (BIRD's kernel protocol likewise waits for
//! its protocols' recovery, bounded by `graceful restart wait`). Listed but without BGP
//! (the local Node is gone, or its annotations keep BGP from starting, such as
//! `--nodes-full-mesh=false` without a valid `kube-router.io/node.asn`) only `max_wait`
//! ends the hold: the earlier run's routes keep forwarding for that long, in case the
//! annotation is fixed, and then go like any stale route (a route whose protocol cannot
//! run would black-hole traffic once the pods behind it move). Must not touch the
//! kernel.

use std::time::{Duration, Instant};

/// A peer Established but silent this long has sent its initial routes (for peers that
/// do not send End-of-RIB).
pub(crate) const SETTLE: Duration = Duration::from_secs(3);
/// After the first list, peers not Established within this time are not waited for.
pub(crate) const ESTABLISH_WAIT: Duration = Duration::from_secs(15);
/// How often the daemon looks again while holding (the inputs change without events).
const RECHECK: Duration = Duration::from_millis(500);

/// One configured peer as the hold sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PeerSync {
    /// Not Established (connecting, refused, down).
    NotEstablished,
    /// Established; `last_activity` is when it became Established or last sent an
    /// UPDATE, whichever is later; `eor_all`: End-of-RIB arrived for every family.
    Established {
        last_activity: Instant,
        eor_all: bool,
    },
}

impl PeerSync {
    fn synced(&self, now: Instant) -> bool {
        match *self {
            PeerSync::NotEstablished => false,
            PeerSync::Established {
                last_activity,
                eor_all,
            } => eor_all || now >= last_activity + SETTLE,
        }
    }
}

/// Why the hold ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Release {
    /// Listed, and every peer that is up re-sent its routes.
    Synced { waited_for: usize, down: usize },
    /// `max_wait` after the first list.
    Timeout,
}

/// See the module documentation.
#[derive(Clone, Debug)]
pub(crate) struct RestartHold {
    max_wait: Duration,
    /// When the API's first list was seen with BGP running.
    ready_at: Option<Instant>,
    released: bool,
}

impl RestartHold {
    /// A hold on adopted routes, released at most `max_wait` after the first list.
    pub(crate) fn new(max_wait: Duration) -> RestartHold {
        RestartHold {
            max_wait,
            ready_at: None,
            released: false,
        }
    }

    #[cfg(test)]
    pub(crate) fn is_released(&self) -> bool {
        self.released
    }

    #[cfg(test)]
    /// When the API's first list was taken into account (`None`: not yet).
    pub(crate) fn ready_at(&self) -> Option<Instant> {
        self.ready_at
    }

    /// When `max_wait` ends the hold at the latest (`None` before the API's first list,
    /// and once released).
    pub(crate) fn bound(&self) -> Option<Instant> {
        if self.released {
            return None;
        }
        self.ready_at.map(|t| t + self.max_wait)
    }

    /// One look at the state. `listed`: the API's first full list has arrived;
    /// `bgp`: BGP runs; `peers`: every configured peer. Returns the release, once.
    pub(crate) fn poll(
        &mut self,
        listed: bool,
        bgp: bool,
        peers: &[PeerSync],
        now: Instant,
    ) -> Option<Release> {
        if self.released {
            return None;
        }
        if !listed && self.ready_at.is_none() {
            return None;
        }
        let since = *self.ready_at.get_or_insert(now);
        if now >= since + self.max_wait {
            self.released = true;
            return Some(Release::Timeout);
        }
        if !bgp {
            return None;
        }
        let establish_over = now >= since + ESTABLISH_WAIT;
        let mut waited_for = 0;
        let mut down = 0;
        for p in peers {
            match p {
                PeerSync::NotEstablished if establish_over => down += 1,
                PeerSync::NotEstablished => return None,
                p if p.synced(now) => waited_for += 1,
                _ => return None,
            }
        }
        self.released = true;
        Some(Release::Synced { waited_for, down })
    }

    /// When to look again while holding (`None` once released, or while the API has
    /// not been listed: then only its list, an event, can change anything).
    pub(crate) fn next_deadline(&self, now: Instant) -> Option<Instant> {
        if self.released {
            return None;
        }
        let since = self.ready_at?;
        Some((now + RECHECK).min(since + self.max_wait))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: Duration = Duration::from_secs(360);

    fn est(at: Instant, eor: bool) -> PeerSync {
        PeerSync::Established {
            last_activity: at,
            eor_all: eor,
        }
    }

    #[test]
    fn nothing_is_released_while_the_api_is_unlisted_however_long() {
        let t0 = Instant::now();
        let mut h = RestartHold::new(MAX);
        for mins in [0, 1, 5, 60, 600] {
            let now = t0 + Duration::from_secs(mins * 60);
            assert_eq!(h.poll(false, false, &[], now), None, "{mins} min");
            assert_eq!(h.next_deadline(now), None);
        }
        assert!(!h.is_released());
        // Listed an hour later: the bound counts from now, not from the start.
        let listed = t0 + Duration::from_secs(3600);
        assert_eq!(
            h.poll(true, true, &[PeerSync::NotEstablished], listed),
            None
        );
        assert_eq!(h.ready_at(), Some(listed));
        assert!(h.next_deadline(listed).is_some());
    }

    #[test]
    fn released_once_every_peer_sent_end_of_rib() {
        let t0 = Instant::now();
        let mut h = RestartHold::new(MAX);
        let peers = [est(t0, true), est(t0, false)];
        assert_eq!(
            h.poll(true, true, &peers, t0),
            None,
            "one peer still sending"
        );
        let peers = [est(t0, true), est(t0, true)];
        let t1 = t0 + Duration::from_millis(300);
        assert_eq!(
            h.poll(true, true, &peers, t1),
            Some(Release::Synced {
                waited_for: 2,
                down: 0
            })
        );
        assert!(h.is_released());
        assert_eq!(h.poll(true, true, &peers, t1), None, "released once");
        assert_eq!(h.next_deadline(t1), None);
    }

    /// A peer that sends no End-of-RIB counts as synced once its UPDATEs have settled.
    #[test]
    fn a_quiet_peer_without_end_of_rib_is_synced_after_settling() {
        let t0 = Instant::now();
        let mut h = RestartHold::new(MAX);
        let last = t0 + Duration::from_secs(1);
        let peers = [est(last, false)];
        assert_eq!(
            h.poll(true, true, &peers, t0 + Duration::from_secs(2)),
            None
        );
        assert_eq!(
            h.poll(true, true, &peers, last + SETTLE),
            Some(Release::Synced {
                waited_for: 1,
                down: 0
            })
        );
    }

    /// Peers that are down are waited for only `ESTABLISH_WAIT`; a peer that is up but
    /// never settles holds until `max_wait`.
    #[test]
    fn down_peers_wait_establish_time_and_busy_peers_the_bound() {
        let t0 = Instant::now();
        let mut h = RestartHold::new(Duration::from_secs(60));
        let peers = [est(t0, true), PeerSync::NotEstablished];
        assert_eq!(h.poll(true, true, &peers, t0), None);
        assert_eq!(h.poll(true, true, &peers, t0 + ESTABLISH_WAIT / 2), None);
        assert_eq!(
            h.poll(true, true, &peers, t0 + ESTABLISH_WAIT),
            Some(Release::Synced {
                waited_for: 1,
                down: 1
            })
        );
        let mut h = RestartHold::new(Duration::from_secs(60));
        assert_eq!(
            h.poll(true, true, &[], t0),
            Some(Release::Synced {
                waited_for: 0,
                down: 0
            })
        );
        let mut h = RestartHold::new(Duration::from_secs(60));
        let mut now = t0;
        let mut out = None;
        while out.is_none() && now < t0 + Duration::from_secs(120) {
            // Always another UPDATE just now, never End-of-RIB.
            out = h.poll(true, true, &[est(now, false)], now);
            now += Duration::from_secs(1);
        }
        assert_eq!(out, Some(Release::Timeout));
        assert_eq!(now, t0 + Duration::from_secs(61));
    }

    /// Listed without BGP (the local Node deleted, or no ASN in per-node-ASN mode): only
    /// the bound ends the hold, however long BGP stays down.
    #[test]
    fn listed_without_bgp_waits_for_the_bound() {
        let t0 = Instant::now();
        let mut h = RestartHold::new(Duration::from_secs(60));
        assert_eq!(h.bound(), None, "not listed yet");
        assert_eq!(h.poll(true, false, &[], t0), None);
        assert_eq!(h.bound(), Some(t0 + Duration::from_secs(60)));
        assert_eq!(h.poll(true, false, &[], t0 + ESTABLISH_WAIT * 2), None);
        assert_eq!(
            h.poll(true, false, &[], t0 + Duration::from_secs(60)),
            Some(Release::Timeout)
        );
        assert_eq!(h.bound(), None, "released");
    }

    #[test]
    fn not_ready_after_ready_keeps_counting() {
        // The API may go away again after its first list: the peers are known then,
        // and the bound keeps running.
        let t0 = Instant::now();
        let mut h = RestartHold::new(Duration::from_secs(30));
        assert_eq!(h.poll(true, true, &[est(t0, false)], t0), None);
        let later = t0 + Duration::from_secs(30);
        assert_eq!(
            h.poll(false, false, &[est(later, false)], later),
            Some(Release::Timeout)
        );
    }
}

#[cfg(test)]
#[path = "restart_hold_tests.rs"]
mod agent_tests;
