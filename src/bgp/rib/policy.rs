//! Policy hooks: the import and export decisions the cluster layer plugs into the RIB.
//!
//! Owns: the `Policy` trait, the `Source` of a path as a policy sees it, and the
//! accept-all default. Must not: hold RIB state; policies are pure functions of their
//! arguments (and their own configuration), so the RIB can re-run them at any time.

use std::borrow::Cow;

use super::PeerInfo;
use crate::bgp::types::{Attrs, Prefix};

/// Where a path being exported came from.
#[derive(Clone, Copy, Debug)]
pub enum Source<'a> {
    /// Originated by this node (`Rib::originate`).
    Local,
    /// Learned from this peer.
    Peer(&'a PeerInfo),
}

/// Import and export filters. `attrs` is copy-on-write: call `attrs.to_mut()` only to
/// change something, so accepting unchanged costs nothing.
///
/// Export runs once per update group, not per peer: peers whose export must differ
/// have to return different [`Policy::export_group`] keys.
pub trait Policy {
    /// Whether to accept `prefix` from `peer` (after the RIB's loop checks).
    fn import(&self, peer: &PeerInfo, prefix: &Prefix, attrs: &mut Cow<'_, Attrs>) -> bool {
        let _ = (peer, prefix, attrs);
        true
    }

    /// Whether to send `prefix` to `peer` (after the RIB's BGP export rules).
    fn export(
        &self,
        peer: &PeerInfo,
        prefix: &Prefix,
        source: Source<'_>,
        attrs: &mut Cow<'_, Attrs>,
    ) -> bool {
        let _ = (peer, prefix, source, attrs);
        true
    }

    /// Whether `peer` may be sent any path learned from a peer (`false`: only local
    /// paths are ever exported to it, so the RIB skips the export rules and `export`
    /// for learned paths altogether: a million learned prefixes cost a group nothing).
    fn exports_learned(&self, peer: &PeerInfo) -> bool {
        let _ = peer;
        true
    }

    /// Extra update-group key: peers are grouped (and share one export computation and
    /// encoding) only when the RIB's own export class and this key are equal.
    fn export_group(&self, peer: &PeerInfo) -> u64 {
        let _ = peer;
        0
    }
}

/// Accepts everything unchanged.
#[derive(Clone, Copy, Debug, Default)]
pub struct AcceptAll;

impl Policy for AcceptAll {}
