//! Connection collision resolution (RFC 4271 §6.8, tie-break from RFC 6286 §2.3).
//!
//! Owns: the rule that picks which of two connections to the same peer survives. Pure;
//! the FSM decides when a collision exists and closes the loser with Cease 6/7.

use std::net::Ipv4Addr;

/// Whether the connection *we* initiated (outbound) survives a collision.
///
/// The connection initiated by the speaker with the higher BGP identifier (compared as
/// 32-bit unsigned integers) is kept. With equal identifiers (possible only on eBGP,
/// since an iBGP OPEN with our identifier is refused) the speaker with the larger AS
/// number wins (RFC 6286 §2.3). Both ends evaluate this with the roles swapped and so
/// agree on the same TCP connection.
pub(crate) fn keep_outbound(
    local_id: Ipv4Addr,
    remote_id: Ipv4Addr,
    local_asn: u32,
    remote_asn: u32,
) -> bool {
    let (l, r) = (u32::from(local_id), u32::from(remote_id));
    if l != r {
        l > r
    } else {
        local_asn > remote_asn
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_id_keeps_its_own_connection() {
        let low = Ipv4Addr::new(10, 0, 0, 1);
        let high = Ipv4Addr::new(10, 0, 0, 2);
        assert!(keep_outbound(high, low, 65000, 65000));
        assert!(!keep_outbound(low, high, 65000, 65000));
        // Compared as unsigned integers, not as signed or by string.
        let big = Ipv4Addr::new(200, 0, 0, 1);
        let small = Ipv4Addr::new(9, 255, 255, 255);
        assert!(keep_outbound(big, small, 1, 1));
    }

    #[test]
    fn equal_ids_break_ties_by_asn_and_both_ends_agree() {
        let id = Ipv4Addr::new(10, 0, 0, 1);
        assert!(keep_outbound(id, id, 65002, 65001));
        assert!(!keep_outbound(id, id, 65001, 65002));
        // Each end's answer names the same TCP connection: exactly one keeps its own.
        for (a, b) in [(65001u32, 65002u32), (65002, 65001)] {
            assert_ne!(keep_outbound(id, id, a, b), keep_outbound(id, id, b, a));
        }
    }
}
