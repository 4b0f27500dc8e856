//! What kube-router's pod egress left on a node it ran on: its MASQUERADE rules in
//! `nat`/`POSTROUTING` and the two ipsets they match.
//!
//! kube-router appends, per family, `-m set --match-set kube-router-pod-subnets src -m
//! set ! --match-set kube-router-pod-subnets dst -m set ! --match-set
//! kube-router-node-ips dst -j MASQUERADE [--random-fully]` (older releases: without the
//! node-ips match), and fills the sets from the API on every sync. Once kube-router
//! stops, nothing updates the sets, so a node that joins later would have its pods'
//! traffic masqueraded. kube-bgp removes these rules where iptables keeps them in
//! nftables (iptables-nft, Debian's default) and then destroys the sets; where a rule it
//! cannot remove still refers to a set (the legacy x_tables backend), it keeps the set's
//! members up to date instead, so the rule stays correct.
//!
//! Owns: recognising those rules in a dump of the chain, by the indices of kube-router's
//! sets that their `set` matches refer to. Pure.

use super::nfmsg::DumpedRule;

pub(crate) const NAT_TABLE: &str = "nat";
pub(crate) const POSTROUTING: &str = "POSTROUTING";

/// `struct xt_set_info` flags: the match is inverted (`!`).
const IPSET_INV_MATCH: u8 = 0x01;

/// Whether a dumped rule is one of kube-router's egress rules: only `set` matches, each
/// referring to one of `indices` (kube-router's sets of this family), the first one not
/// inverted; an optional counter; the MASQUERADE target; nothing else.
pub(crate) fn is_egress_rule(r: &DumpedRule<'_>, indices: &[u16]) -> bool {
    if indices.is_empty() {
        return false;
    }
    let mut sets = 0;
    let mut masquerade = false;
    for e in &r.exprs {
        match e.name.as_str() {
            "counter" => {}
            "match" => {
                let Some((name, _rev, info)) = e.xt() else {
                    return false;
                };
                // Every revision of the set match starts with struct xt_set_info:
                // u16 index (host order), u8 dim, u8 flags.
                let (Some(ix), Some(&flags)) = (info.get(..2), info.get(3)) else {
                    return false;
                };
                let index = u16::from_ne_bytes([ix[0], ix[1]]);
                if name != "set" || !indices.contains(&index) {
                    return false;
                }
                if sets == 0 && flags & IPSET_INV_MATCH != 0 {
                    return false;
                }
                sets += 1;
            }
            "target" => match e.xt() {
                Some((name, _, _)) if name == "MASQUERADE" => masquerade = true,
                _ => return false,
            },
            _ => return false,
        }
    }
    sets > 0 && masquerade
}

#[cfg(test)]
mod tests {
    use super::super::nfmsg::fixtures::messages;
    use super::super::nfmsg::parse_rule;
    use super::*;

    fn rules(fixture: &str) -> Vec<Vec<u8>> {
        messages(fixture)
            .into_iter()
            .filter(|m| u16::from_ne_bytes([m[4], m[5]]) == (10 << 8) | 6)
            .collect()
    }

    /// `iptables -t nat -S POSTROUTING` on a node with someone's `-o eth9 -j
    /// MASQUERADE`, kube-router's current rule and its older variant (set indices 0 =
    /// kube-router-pod-subnets, 1 = kube-router-node-ips in that capture).
    #[test]
    fn recognises_kube_router_rules_and_nothing_else() {
        let msgs = rules(include_str!("testdata/ipt_kuberouter_nat_dump.hex"));
        let parsed: Vec<_> = msgs
            .iter()
            .map(|m| parse_rule(&m[16..]).expect("rule"))
            .collect();
        assert_eq!(parsed.len(), 3);
        let found: Vec<bool> = parsed.iter().map(|r| is_egress_rule(r, &[0, 1])).collect();
        assert_eq!(found, [false, true, true]);
        // Other sets' indices: not kube-router's rule.
        assert!(!parsed.iter().any(|r| is_egress_rule(r, &[5, 6])));
        assert!(!parsed.iter().any(|r| is_egress_rule(r, &[])));
        // Only the node-ips set known: the rule also refers to pod-subnets, so no.
        assert!(!is_egress_rule(&parsed[1], &[1]));
    }

    #[test]
    fn recognises_the_ipv6_rule() {
        let msgs = rules(include_str!("testdata/ip6t_kuberouter_nat_dump.hex"));
        let parsed: Vec<_> = msgs
            .iter()
            .map(|m| parse_rule(&m[16..]).expect("rule"))
            .collect();
        assert_eq!(parsed.len(), 1);
        // inet6:kube-router-pod-subnets and inet6:kube-router-node-ips: 2 and 3.
        assert!(is_egress_rule(&parsed[0], &[2, 3]));
        assert!(!is_egress_rule(&parsed[0], &[0, 1]));
    }
}
