//! The FORWARD accept rules for pod traffic, in iptables' own `filter` table.
//!
//! kube-router inserts, at position 1 of `filter`/`FORWARD` in each family,
//! `-m comment --comment "allow outbound traffic from pods" -i kube-bridge -j ACCEPT`,
//! the same with `-o kube-bridge` ("allow inbound traffic to pods"), and `-o <node
//! interface>` ("allow outbound node port traffic on node interface with which node ip
//! is associated"). An accept in a table of our own would not help: a packet dropped by
//! any base chain of the hook is dropped, and a DROP policy (Docker sets one) lives in
//! this chain. So kube-bgp writes these rules into that chain exactly as iptables-nft
//! writes them (`iptables -L` shows them as kube-router's), and only when the chain
//! exists: without it nothing drops forwarded packets there.
//!
//! Owns: the three rules as values, recognising them (or kube-router's identical
//! ones) in a dump of the chain, and the batch that inserts the missing ones and deletes
//! stale ones (a rule with one of these comments that is no longer wanted). Pure.

use super::nfmsg::{
    DumpedRule, NF_ACCEPT, NFT_META_IIFNAME, NFT_META_OIFNAME, NFT_MSG_DELRULE, NFT_MSG_NEWRULE,
    NFTA_RULE_CHAIN, NFTA_RULE_EXPRESSIONS, NFTA_RULE_HANDLE, NFTA_RULE_TABLE, NLM_F_CREATE,
    NLM_F_REQUEST, NfFamily, NfWriter, XT_COMMENT_LEN,
};

pub(crate) const FILTER_TABLE: &str = "filter";
pub(crate) const FORWARD_CHAIN: &str = "FORWARD";
pub(crate) const BRIDGE: &str = "kube-bridge";
pub(crate) const COMMENT_FROM_PODS: &str = "allow outbound traffic from pods";
pub(crate) const COMMENT_TO_PODS: &str = "allow inbound traffic to pods";
pub(crate) const COMMENT_NODE_IF: &str =
    "allow outbound node port traffic on node interface with which node ip is associated";

/// Which interface a rule matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ForwardDir {
    /// `-i`
    In,
    /// `-o`
    Out,
}

/// One accept rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AcceptRule {
    pub(crate) dir: ForwardDir,
    pub(crate) ifname: String,
    pub(crate) comment: &'static str,
}

/// The rules kube-router keeps, in the order it inserts them (each at position 1, so
/// the chain ends up listing them in reverse). `node_if`: the interface holding the
/// node's address, if known.
pub(crate) fn wanted(node_if: Option<&str>) -> Vec<AcceptRule> {
    let mut v = vec![
        AcceptRule {
            dir: ForwardDir::In,
            ifname: BRIDGE.into(),
            comment: COMMENT_FROM_PODS,
        },
        AcceptRule {
            dir: ForwardDir::Out,
            ifname: BRIDGE.into(),
            comment: COMMENT_TO_PODS,
        },
    ];
    if let Some(i) = node_if {
        v.push(AcceptRule {
            dir: ForwardDir::Out,
            ifname: i.to_string(),
            comment: COMMENT_NODE_IF,
        });
    }
    v
}

/// Whether a comment is one of ours (and kube-router's).
fn our_comment(c: &str) -> Option<&'static str> {
    [COMMENT_FROM_PODS, COMMENT_TO_PODS, COMMENT_NODE_IF]
        .into_iter()
        .find(|k| *k == c)
}

/// Recognises an accept rule of this shape in a dump: `meta iifname|oifname`, `cmp eq
/// NAME\0`, `match comment`, an optional counter, `immediate accept`. Any other rule
/// (even with one of our comments) is not ours and is left alone.
pub(crate) fn recognise(r: &DumpedRule<'_>) -> Option<AcceptRule> {
    let e: Vec<_> = r.exprs.iter().filter(|x| x.name != "counter").collect();
    let [meta, cmp, m, imm] = e.as_slice() else {
        return None;
    };
    let dir = match meta.meta_key()? {
        NFT_META_IIFNAME => ForwardDir::In,
        NFT_META_OIFNAME => ForwardDir::Out,
        _ => return None,
    };
    let name = cmp.cmp_eq_value()?;
    let name = name.strip_suffix(&[0])?;
    if name.contains(&0) {
        return None;
    }
    let (mname, rev, info) = m.xt()?;
    if m.name != "match" || mname != "comment" || rev != 0 {
        return None;
    }
    let text = info.split(|&c| c == 0).next().unwrap_or(&[]);
    let comment = our_comment(std::str::from_utf8(text).ok()?)?;
    if imm.verdict()? != NF_ACCEPT {
        return None;
    }
    Some(AcceptRule {
        dir,
        ifname: String::from_utf8(name.to_vec()).ok()?,
        comment,
    })
}

/// What to change in one family's FORWARD chain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ForwardChange {
    /// Handles of our rules that are not wanted (stale interface, duplicates).
    pub(crate) delete: Vec<u64>,
    /// Wanted rules that are missing, in insertion order.
    pub(crate) insert: Vec<AcceptRule>,
}

impl ForwardChange {
    pub(crate) fn is_empty(&self) -> bool {
        self.delete.is_empty() && self.insert.is_empty()
    }
}

/// Compares the chain's rules with `want`.
pub(crate) fn compare(rules: &[DumpedRule<'_>], want: &[AcceptRule]) -> ForwardChange {
    let mut seen: Vec<AcceptRule> = Vec::new();
    let mut change = ForwardChange::default();
    for r in rules {
        let Some(a) = recognise(r) else {
            continue;
        };
        if want.contains(&a) && !seen.contains(&a) {
            seen.push(a);
        } else {
            change.delete.push(r.handle);
        }
    }
    change.insert = want.iter().filter(|w| !seen.contains(w)).cloned().collect();
    change
}

/// Every rule of ours in a dump (for clean-up).
pub(crate) fn ours(rules: &[DumpedRule<'_>]) -> Vec<u64> {
    rules
        .iter()
        .filter(|r| recognise(r).is_some())
        .map(|r| r.handle)
        .collect()
}

/// The batch for one family: deletions, then each missing rule inserted at the head,
/// as `iptables -I FORWARD 1 -m comment --comment C -i|-o IF -j ACCEPT` writes it.
/// `genid`: the ruleset generation the dump was taken at (the kernel refuses the batch
/// if anything changed since).
pub(crate) fn encode_change(w: &mut NfWriter, fam: NfFamily, c: &ForwardChange, genid: u32) {
    w.batch_begin(Some(genid));
    for h in &c.delete {
        encode_delete_rule(w, fam, FILTER_TABLE, FORWARD_CHAIN, *h);
    }
    for r in &c.insert {
        encode_insert(w, fam, r);
    }
    w.batch_end();
}

fn encode_insert(w: &mut NfWriter, fam: NfFamily, r: &AcceptRule) {
    w.begin(NFT_MSG_NEWRULE, NLM_F_REQUEST | NLM_F_CREATE, fam);
    w.str(NFTA_RULE_TABLE, FILTER_TABLE);
    w.str(NFTA_RULE_CHAIN, FORWARD_CHAIN);
    let exprs = w.nest(NFTA_RULE_EXPRESSIONS);
    w.expr_meta(match r.dir {
        ForwardDir::In => NFT_META_IIFNAME,
        ForwardDir::Out => NFT_META_OIFNAME,
    });
    let mut name = r.ifname.as_bytes().to_vec();
    name.push(0);
    w.expr_cmp_eq(&name);
    debug_assert!(r.comment.len() < XT_COMMENT_LEN);
    w.expr_xt_comment(r.comment);
    w.expr_counter();
    w.expr_verdict(NF_ACCEPT);
    w.end_nest(exprs);
    w.rule_compat_none();
    w.end();
}

/// `nft delete rule FAMILY TABLE CHAIN handle H` (one message, inside a batch).
pub(crate) fn encode_delete_rule(
    w: &mut NfWriter,
    fam: NfFamily,
    table: &str,
    chain: &str,
    handle: u64,
) {
    w.begin(NFT_MSG_DELRULE, NLM_F_REQUEST, fam);
    w.str(NFTA_RULE_TABLE, table);
    w.str(NFTA_RULE_CHAIN, chain);
    w.be64(NFTA_RULE_HANDLE, handle);
    w.end();
}

#[cfg(test)]
mod tests {
    use super::super::nfmsg::fixtures::{assert_same, messages, split};
    use super::super::nfmsg::{NFNL_SUBSYS_NFTABLES, parse_rule};
    use super::*;

    /// The generation id iptables-nft put in each captured batch (its first message).
    fn genid(fixture: &[Vec<u8>]) -> u32 {
        u32::from_be_bytes(fixture[0][24..28].try_into().expect("genid"))
    }

    fn insert_one(fixture: &str, fam: NfFamily, r: AcceptRule) {
        let want = messages(fixture);
        let mut w = NfWriter::new();
        let c = ForwardChange {
            delete: vec![],
            insert: vec![r],
        };
        encode_change(&mut w, fam, &c, genid(&want));
        assert_same("insert", &split(&w.take()), &want);
    }

    /// Byte for byte what `iptables -I FORWARD 1 -m comment ... -j ACCEPT` (nft
    /// backend) sent, for each of kube-router's three rules and for ip6tables.
    #[test]
    fn inserts_match_iptables_nft() {
        let w = wanted(Some("eth0"));
        insert_one(
            include_str!("testdata/ipt_forward_in.hex"),
            NfFamily::Ipv4,
            w[0].clone(),
        );
        insert_one(
            include_str!("testdata/ipt_forward_out.hex"),
            NfFamily::Ipv4,
            w[1].clone(),
        );
        insert_one(
            include_str!("testdata/ipt_forward_node.hex"),
            NfFamily::Ipv4,
            w[2].clone(),
        );
        insert_one(
            include_str!("testdata/ip6t_forward_in.hex"),
            NfFamily::Ipv6,
            w[0].clone(),
        );
    }

    #[test]
    fn delete_matches_nft() {
        let mut w = NfWriter::new();
        w.batch_begin(None);
        encode_delete_rule(&mut w, NfFamily::Ipv4, FILTER_TABLE, FORWARD_CHAIN, 2);
        w.batch_end();
        assert_same(
            "delete",
            &split(&w.take()),
            &messages(include_str!("testdata/nft_rule_delete.hex")),
        );
    }

    fn dumped(fixture: &str) -> Vec<Vec<u8>> {
        messages(fixture)
            .into_iter()
            .filter(|m| u16::from_ne_bytes([m[4], m[5]]) == (NFNL_SUBSYS_NFTABLES << 8) | 6)
            .collect()
    }

    /// The chain as the kernel dumped it to `iptables -S FORWARD`: the three rules of
    /// kube-router, the IPv6-less ones, and someone else's rule with another comment.
    #[test]
    fn recognises_kube_router_rules_in_a_dump() {
        let msgs = dumped(include_str!("testdata/ipt_forward_dump.hex"));
        let rules: Vec<_> = msgs
            .iter()
            .map(|m| parse_rule(&m[16..]).expect("rule"))
            .collect();
        assert_eq!(rules.len(), 4);
        let found: Vec<_> = rules.iter().map(recognise).collect();
        assert_eq!(found[3], None, "someone else's rule");
        let want = wanted(Some("eth0"));
        assert_eq!(
            compare(&rules, &want),
            ForwardChange::default(),
            "all three present"
        );
        // The node interface changed: the old rule goes, the new one comes.
        let c = compare(&rules, &wanted(Some("ens3")));
        assert_eq!(c.delete.len(), 1);
        assert_eq!(c.insert.len(), 1);
        assert_eq!(c.insert[0].ifname, "ens3");
        // Clean-up finds exactly the three.
        assert_eq!(ours(&rules).len(), 3);
        // A missing interface: only the two bridge rules are wanted.
        assert_eq!(compare(&rules, &wanted(None)).delete.len(), 1);
    }
}
