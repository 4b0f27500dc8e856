//! The pod egress table: `table inet kube-bgp`, owned by kube-bgp alone.
//!
//! ```text
//! table inet kube-bgp {
//!     set pod-cidrs-v4 { type ipv4_addr; flags interval; elements = { every node's pod CIDRs } }
//!     set node-ips-v4  { type ipv4_addr; elements = { every node's addresses } }
//!     set pod-cidrs-v6 { ... }  set node-ips-v6 { ... }
//!     chain pod-egress {
//!         type nat hook postrouting priority srcnat; policy accept;
//!         ip saddr @pod-cidrs-v4 ip daddr != @pod-cidrs-v4 ip daddr != @node-ips-v4 masquerade fully-random
//!         ip6 saddr @pod-cidrs-v6 ip6 daddr != @pod-cidrs-v6 ip6 daddr != @node-ips-v6 masquerade fully-random
//!     }
//! }
//! ```
//! This is kube-router's `-m set --match-set kube-router-pod-subnets src -m set !
//! --match-set kube-router-pod-subnets dst -m set ! --match-set kube-router-node-ips dst
//! -j MASQUERADE --random-fully`, per family, in nftables.
//!
//! Owns: the table's layout and contents as values ([`EgressTable`]), the batch that
//! replaces the whole table atomically (written exactly as `nft -f` writes the same
//! ruleset), and the comparison of a dump of the table with what it should hold. Pure:
//! the executor does the I/O.

use std::net::IpAddr;

use super::nfmsg::{
    DumpedChain, DumpedElem, DumpedRule, NF_ACCEPT, NF_INET_POST_ROUTING,
    NF_NAT_RANGE_PROTO_RANDOM_FULLY, NFT_META_NFPROTO, NFT_MSG_DELTABLE, NFT_MSG_NEWCHAIN,
    NFT_MSG_NEWRULE, NFT_MSG_NEWSET, NFT_MSG_NEWSETELEM, NFT_MSG_NEWTABLE,
    NFT_SET_ELEM_INTERVAL_END, NFT_SET_INTERVAL, NFTA_CHAIN_HOOK, NFTA_CHAIN_NAME,
    NFTA_CHAIN_POLICY, NFTA_CHAIN_TABLE, NFTA_CHAIN_TYPE, NFTA_HOOK_HOOKNUM, NFTA_HOOK_PRIORITY,
    NFTA_RULE_CHAIN, NFTA_RULE_EXPRESSIONS, NFTA_RULE_TABLE, NFTA_SET_ELEM_FLAGS,
    NFTA_SET_ELEM_KEY, NFTA_SET_ELEM_LIST_ELEMENTS, NFTA_SET_ELEM_LIST_SET,
    NFTA_SET_ELEM_LIST_SET_ID, NFTA_SET_ELEM_LIST_TABLE, NFTA_SET_FLAGS, NFTA_SET_ID,
    NFTA_SET_KEY_LEN, NFTA_SET_KEY_TYPE, NFTA_SET_NAME, NFTA_SET_TABLE, NFTA_TABLE_FLAGS,
    NFTA_TABLE_NAME, NLM_F_APPEND, NLM_F_CREATE, NLM_F_REQUEST, NfFamily, NfWriter,
};
use crate::prefix::Prefix;

pub(crate) const TABLE: &str = "kube-bgp";
pub(crate) const CHAIN: &str = "pod-egress";
/// nft's `srcnat` priority.
const PRIORITY_SRCNAT: i32 = 100;
/// nft's datatype ids: `ipv4_addr`, `ipv6_addr`.
const TYPE_IPV4_ADDR: u32 = 7;
const TYPE_IPV6_ADDR: u32 = 8;
/// NFTA_SET_ELEM_USERDATA, and libnftnl's NFTNL_UDATA_SET_ELEM_FLAGS with
/// NFTNL_SET_ELEM_F_INTERVAL_OPEN: an interval that runs to the end of the address space.
const NFTA_SET_ELEM_USERDATA: u16 = 6;
const UDATA_SET_ELEM_FLAGS: u8 = 1;
const SET_ELEM_F_INTERVAL_OPEN: u32 = 1;

/// One address family of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Fam {
    V4,
    V6,
}

impl Fam {
    pub(crate) const BOTH: [Fam; 2] = [Fam::V4, Fam::V6];

    fn pod_set(self) -> &'static str {
        match self {
            Fam::V4 => "pod-cidrs-v4",
            Fam::V6 => "pod-cidrs-v6",
        }
    }

    fn node_set(self) -> &'static str {
        match self {
            Fam::V4 => "node-ips-v4",
            Fam::V6 => "node-ips-v6",
        }
    }

    fn key_type(self) -> u32 {
        match self {
            Fam::V4 => TYPE_IPV4_ADDR,
            Fam::V6 => TYPE_IPV6_ADDR,
        }
    }

    fn key_len(self) -> usize {
        match self {
            Fam::V4 => 4,
            Fam::V6 => 16,
        }
    }

    /// NFPROTO_* as `meta nfproto` compares it.
    fn nfproto(self) -> u8 {
        match self {
            Fam::V4 => NfFamily::Ipv4 as u8,
            Fam::V6 => NfFamily::Ipv6 as u8,
        }
    }

    /// Source and destination address offsets in the network header.
    fn addr_offsets(self) -> (u32, u32) {
        match self {
            Fam::V4 => (12, 16),
            Fam::V6 => (8, 24),
        }
    }

    fn comment(self) -> &'static str {
        match self {
            Fam::V4 => "kube-bgp: pod egress IPv4",
            Fam::V6 => "kube-bgp: pod egress IPv6",
        }
    }

    /// Set ids in the batch, in nft's declaration order.
    fn pod_set_id(self) -> u32 {
        match self {
            Fam::V4 => 1,
            Fam::V6 => 3,
        }
    }

    fn node_set_id(self) -> u32 {
        self.pod_set_id() + 1
    }

    fn of(a: &IpAddr) -> Fam {
        match a {
            IpAddr::V4(_) => Fam::V4,
            IpAddr::V6(_) => Fam::V6,
        }
    }
}

/// What the table holds: every node's pod CIDRs and addresses, per family.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct EgressTable {
    /// Pod CIDRs, none inside another, sorted (what the interval sets hold).
    pub(crate) pod_cidrs: Vec<Prefix>,
    /// Node addresses, sorted, without duplicates.
    pub(crate) node_ips: Vec<IpAddr>,
}

impl EgressTable {
    /// Builds the table's contents from any list of CIDRs and addresses: CIDRs inside
    /// another one are dropped (an interval set refuses overlaps), duplicates removed.
    pub(crate) fn new(cidrs: &[Prefix], ips: &[IpAddr]) -> EgressTable {
        let mut c: Vec<Prefix> = cidrs.to_vec();
        // Shorter prefixes first, so a covering prefix is kept before what it covers.
        c.sort_by_key(|p| (p.len(), *p));
        c.dedup();
        let mut kept: Vec<Prefix> = Vec::with_capacity(c.len());
        for p in c {
            if !kept.iter().any(|k| k.covers(&p)) {
                kept.push(p);
            }
        }
        kept.sort();
        let mut n = ips.to_vec();
        n.sort();
        n.dedup();
        EgressTable {
            pod_cidrs: kept,
            node_ips: n,
        }
    }

    fn cidrs(&self, f: Fam) -> impl Iterator<Item = &Prefix> {
        self.pod_cidrs
            .iter()
            .filter(move |p| Fam::of(&p.addr()) == f)
    }

    fn ips(&self, f: Fam) -> impl Iterator<Item = &IpAddr> {
        self.node_ips.iter().filter(move |a| Fam::of(a) == f)
    }

    /// The elements of one family's pod CIDR set as nft writes them: a leading
    /// interval-end at address 0 (unless a CIDR starts there), then per CIDR its start
    /// and (unless it runs to the top of the address space) the end one past it.
    pub(crate) fn pod_elements(&self, f: Fam) -> Vec<Elem> {
        let mut out = Vec::new();
        let mut first = true;
        for p in self.cidrs(f) {
            let start = addr_bytes(&p.addr());
            if first && start.iter().any(|b| *b != 0) {
                out.push(Elem {
                    key: vec![0; f.key_len()],
                    end: true,
                    open: false,
                });
            }
            first = false;
            let end = interval_end(p);
            out.push(Elem {
                key: start,
                end: false,
                open: end.is_none(),
            });
            if let Some(e) = end {
                out.push(Elem {
                    key: e,
                    end: true,
                    open: false,
                });
            }
        }
        out
    }

    fn node_elements(&self, f: Fam) -> Vec<Elem> {
        self.ips(f)
            .map(|a| Elem {
                key: addr_bytes(a),
                end: false,
                open: false,
            })
            .collect()
    }
}

/// One set element to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Elem {
    key: Vec<u8>,
    /// An interval end (NFT_SET_ELEM_INTERVAL_END).
    end: bool,
    /// An interval start with no end (runs to the top of the address space).
    open: bool,
}

fn addr_bytes(a: &IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(v) => v.octets().to_vec(),
        IpAddr::V6(v) => v.octets().to_vec(),
    }
}

/// The address one past the last of `p`, or `None` if `p` reaches the top.
fn interval_end(p: &Prefix) -> Option<Vec<u8>> {
    let mut b = addr_bytes(&p.addr());
    let bits = b.len() * 8;
    let len = p.len() as usize;
    // Set the host bits, then add one with carry.
    for i in len..bits {
        b[i / 8] |= 0x80 >> (i % 8);
    }
    for byte in b.iter_mut().rev() {
        let (v, carry) = byte.overflowing_add(1);
        *byte = v;
        if !carry {
            return Some(b);
        }
    }
    None
}

/// Writes the batch that makes the table exactly `t`: when `exists`, the old table is
/// deleted in the same transaction, so packets see either the old or the new one.
pub(crate) fn encode_replace(w: &mut NfWriter, t: &EgressTable, exists: bool) {
    w.batch_begin(None);
    if exists {
        encode_deltable(w);
    }
    let inet = NfFamily::Inet;
    w.begin(NFT_MSG_NEWTABLE, NLM_F_REQUEST, inet);
    w.str(NFTA_TABLE_NAME, TABLE);
    w.be32(NFTA_TABLE_FLAGS, 0);
    w.end();

    w.begin(NFT_MSG_NEWCHAIN, NLM_F_REQUEST | NLM_F_CREATE, inet);
    w.str(NFTA_CHAIN_TABLE, TABLE);
    w.str(NFTA_CHAIN_NAME, CHAIN);
    w.str(NFTA_CHAIN_TYPE, "nat");
    w.be32(NFTA_CHAIN_POLICY, NF_ACCEPT);
    let h = w.nest(NFTA_CHAIN_HOOK);
    w.be32(NFTA_HOOK_HOOKNUM, NF_INET_POST_ROUTING);
    w.be32(NFTA_HOOK_PRIORITY, PRIORITY_SRCNAT as u32);
    w.end_nest(h);
    w.end();

    for f in Fam::BOTH {
        encode_set(w, f.pod_set(), f.pod_set_id(), f, true, &t.pod_elements(f));
        encode_set(
            w,
            f.node_set(),
            f.node_set_id(),
            f,
            false,
            &t.node_elements(f),
        );
    }
    for f in Fam::BOTH {
        encode_rule(w, f);
    }
    w.batch_end();
}

/// Writes the batch that deletes the table.
pub(crate) fn encode_delete(w: &mut NfWriter) {
    w.batch_begin(None);
    encode_deltable(w);
    w.batch_end();
}

fn encode_deltable(w: &mut NfWriter) {
    w.begin(NFT_MSG_DELTABLE, NLM_F_REQUEST, NfFamily::Inet);
    w.str(NFTA_TABLE_NAME, TABLE);
    w.end();
}

fn encode_set(w: &mut NfWriter, name: &str, id: u32, f: Fam, interval: bool, elems: &[Elem]) {
    let inet = NfFamily::Inet;
    w.begin(NFT_MSG_NEWSET, NLM_F_REQUEST | NLM_F_CREATE, inet);
    w.str(NFTA_SET_TABLE, TABLE);
    w.str(NFTA_SET_NAME, name);
    w.be32(NFTA_SET_FLAGS, if interval { NFT_SET_INTERVAL } else { 0 });
    w.be32(NFTA_SET_KEY_TYPE, f.key_type());
    w.be32(NFTA_SET_KEY_LEN, f.key_len() as u32);
    w.be32(NFTA_SET_ID, id);
    w.set_udata_big_endian();
    w.end();
    if elems.is_empty() {
        return;
    }
    w.begin(NFT_MSG_NEWSETELEM, NLM_F_REQUEST | NLM_F_CREATE, inet);
    w.str(NFTA_SET_ELEM_LIST_TABLE, TABLE);
    w.str(NFTA_SET_ELEM_LIST_SET, name);
    w.be32(NFTA_SET_ELEM_LIST_SET_ID, id);
    let list = w.nest(NFTA_SET_ELEM_LIST_ELEMENTS);
    // libnftnl numbers the elements of the list 1, 2, 3... (the kernel ignores the type).
    for (i, e) in elems.iter().enumerate() {
        let el = w.nest((i + 1) as u16);
        if e.end {
            w.be32(NFTA_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
        }
        w.data_value(NFTA_SET_ELEM_KEY, &e.key);
        if e.open {
            let mut u = vec![UDATA_SET_ELEM_FLAGS, 4];
            u.extend_from_slice(&SET_ELEM_F_INTERVAL_OPEN.to_ne_bytes());
            w.bytes(NFTA_SET_ELEM_USERDATA, &u);
        }
        w.end_nest(el);
    }
    w.end_nest(list);
    w.end();
}

fn encode_rule(w: &mut NfWriter, f: Fam) {
    w.begin(
        NFT_MSG_NEWRULE,
        NLM_F_REQUEST | NLM_F_CREATE | NLM_F_APPEND,
        NfFamily::Inet,
    );
    w.str(NFTA_RULE_TABLE, TABLE);
    w.str(NFTA_RULE_CHAIN, CHAIN);
    let exprs = w.nest(NFTA_RULE_EXPRESSIONS);
    w.expr_meta(NFT_META_NFPROTO);
    w.expr_cmp_eq(&[f.nfproto()]);
    let (src, dst) = f.addr_offsets();
    let len = f.key_len() as u32;
    w.expr_payload_network(src, len);
    w.expr_lookup(f.pod_set(), f.pod_set_id(), false);
    w.expr_payload_network(dst, len);
    w.expr_lookup(f.pod_set(), f.pod_set_id(), true);
    w.expr_payload_network(dst, len);
    w.expr_lookup(f.node_set(), f.node_set_id(), true);
    w.expr_masq(NF_NAT_RANGE_PROTO_RANDOM_FULLY);
    w.end_nest(exprs);
    w.rule_comment(f.comment());
    w.end();
}

/// What a dump of the table showed (filled by the executor from the kernel).
#[derive(Clone, Debug, Default)]
pub(crate) struct TableDump<'a> {
    pub(crate) chains: Vec<DumpedChain>,
    /// (name, flags, key type, key length) of each set.
    pub(crate) sets: Vec<(String, u32, u32, u32)>,
    /// Elements per set name.
    pub(crate) elems: Vec<(String, Vec<DumpedElem>)>,
    pub(crate) rules: Vec<DumpedRule<'a>>,
}

/// The set names the table must have.
pub(crate) fn set_names() -> [&'static str; 4] {
    [
        Fam::V4.pod_set(),
        Fam::V4.node_set(),
        Fam::V6.pod_set(),
        Fam::V6.node_set(),
    ]
}

/// Why a dumped table differs from what it should be (`None`: it is exactly right).
pub(crate) fn difference(t: &EgressTable, d: &TableDump<'_>) -> Option<String> {
    match d.chains.as_slice() {
        [c] if c.name == CHAIN => {
            if c.hook != Some((NF_INET_POST_ROUTING, PRIORITY_SRCNAT))
                || c.policy != Some(NF_ACCEPT)
                || c.kind.as_deref() != Some("nat")
            {
                return Some(format!("chain {CHAIN} has another hook, policy or type"));
            }
        }
        other => {
            let names: Vec<&str> = other.iter().map(|c| c.name.as_str()).collect();
            return Some(format!("chains {names:?} instead of [{CHAIN}]"));
        }
    }
    let mut want_sets = Vec::new();
    for f in Fam::BOTH {
        want_sets.push((
            f.pod_set().to_string(),
            NFT_SET_INTERVAL,
            f.key_type(),
            f.key_len() as u32,
        ));
        want_sets.push((
            f.node_set().to_string(),
            0,
            f.key_type(),
            f.key_len() as u32,
        ));
    }
    let mut got_sets = d.sets.clone();
    got_sets.sort();
    want_sets.sort();
    if got_sets != want_sets {
        return Some("its sets differ in names, types or flags".into());
    }
    for f in Fam::BOTH {
        for (name, want) in [
            (f.pod_set(), t.pod_elements(f)),
            (f.node_set(), t.node_elements(f)),
        ] {
            let mut want: Vec<DumpedElem> = want
                .iter()
                .map(|e| DumpedElem {
                    key: e.key.clone(),
                    flags: if e.end { NFT_SET_ELEM_INTERVAL_END } else { 0 },
                })
                .collect();
            want.sort();
            let mut got: Vec<DumpedElem> = d
                .elems
                .iter()
                .filter(|(n, _)| n == name)
                .flat_map(|(_, e)| e.iter().cloned())
                .collect();
            got.sort();
            if got != want {
                return Some(format!(
                    "set {name} holds {} elements, {} expected",
                    got.len(),
                    want.len()
                ));
            }
        }
    }
    if d.rules.len() != 2 {
        return Some(format!("{} rules instead of 2", d.rules.len()));
    }
    for (f, r) in Fam::BOTH.iter().zip(&d.rules) {
        if !rule_is(r, *f) {
            return Some(format!("the {:?} rule was changed", f));
        }
    }
    None
}

/// Whether a dumped rule is the egress rule of family `f`, expression by expression.
fn rule_is(r: &DumpedRule<'_>, f: Fam) -> bool {
    let e = &r.exprs;
    if e.len() != 9 {
        return false;
    }
    let lookups: Vec<Option<(String, bool)>> = [3, 5, 7].iter().map(|&i| e[i].lookup()).collect();
    e[0].meta_key() == Some(NFT_META_NFPROTO)
        && e[1].cmp_eq_value() == Some(&[f.nfproto()][..])
        && [2, 4, 6].iter().all(|&i| e[i].name == "payload")
        && lookups
            == [
                Some((f.pod_set().to_string(), false)),
                Some((f.pod_set().to_string(), true)),
                Some((f.node_set().to_string(), true)),
            ]
        && e[8].masq_flags() == Some(NF_NAT_RANGE_PROTO_RANDOM_FULLY)
}

#[cfg(test)]
mod tests {
    use super::super::nfmsg::fixtures::{assert_same, messages, split};
    use super::super::nfmsg::{NLM_F_REQUEST, parse_set_elems};
    use super::*;

    fn p(s: &str) -> Prefix {
        s.parse().expect("prefix")
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn capture_table() -> EgressTable {
        EgressTable::new(
            &[
                p("10.244.1.0/24"),
                p("10.244.2.0/24"),
                p("10.245.0.0/16"),
                p("fd00:244:1::/64"),
            ],
            &[ip("10.11.0.1"), ip("10.11.0.2"), ip("fd00:11::1")],
        )
    }

    /// Byte for byte what `nft -f` sent for the same ruleset (testdata/capture.sh).
    #[test]
    fn create_matches_nft() {
        let mut w = NfWriter::new();
        encode_replace(&mut w, &capture_table(), false);
        assert_same(
            "create",
            &split(&w.take()),
            &messages(include_str!("testdata/nft_egress_create.hex")),
        );
    }

    #[test]
    fn create_with_empty_sets_matches_nft() {
        let mut w = NfWriter::new();
        encode_replace(&mut w, &EgressTable::default(), false);
        assert_same(
            "create empty",
            &split(&w.take()),
            &messages(include_str!("testdata/nft_egress_create_empty.hex")),
        );
    }

    /// `delete table` followed by the new table in one `nft -f`: one transaction.
    #[test]
    fn replace_matches_nft() {
        let t = EgressTable::new(
            &[
                p("10.244.1.0/24"),
                p("10.244.2.0/24"),
                p("10.246.0.0/16"),
                p("fd00:244:1::/64"),
                p("fd00:244:2::/64"),
            ],
            &[
                ip("10.11.0.1"),
                ip("10.11.0.2"),
                ip("fd00:11::1"),
                ip("fd00:11::2"),
            ],
        );
        let mut w = NfWriter::new();
        encode_replace(&mut w, &t, true);
        assert_same(
            "replace",
            &split(&w.take()),
            &messages(include_str!("testdata/nft_egress_replace.hex")),
        );
    }

    #[test]
    fn delete_matches_nft() {
        let mut w = NfWriter::new();
        encode_delete(&mut w);
        assert_same(
            "delete",
            &split(&w.take()),
            &messages(include_str!("testdata/nft_egress_delete.hex")),
        );
    }

    #[test]
    fn nested_and_duplicate_cidrs_collapse() {
        let t = EgressTable::new(
            &[
                p("10.244.1.0/24"),
                p("10.244.0.0/16"),
                p("10.244.0.0/16"),
                p("10.250.0.0/24"),
            ],
            &[ip("10.0.0.2"), ip("10.0.0.1"), ip("10.0.0.2")],
        );
        assert_eq!(t.pod_cidrs, vec![p("10.244.0.0/16"), p("10.250.0.0/24")]);
        assert_eq!(t.node_ips, vec![ip("10.0.0.1"), ip("10.0.0.2")]);
    }

    #[test]
    fn interval_edges_like_nft() {
        // 0.0.0.0/8 starts at zero (no leading end element); 255.255.255.0/24 runs to
        // the top (no end element, an "open" start), as nft writes them.
        let t = EgressTable::new(&[p("0.0.0.0/8"), p("255.255.255.0/24")], &[]);
        let e = t.pod_elements(Fam::V4);
        assert_eq!(
            e,
            vec![
                Elem {
                    key: vec![0, 0, 0, 0],
                    end: false,
                    open: false
                },
                Elem {
                    key: vec![1, 0, 0, 0],
                    end: true,
                    open: false
                },
                Elem {
                    key: vec![255, 255, 255, 0],
                    end: false,
                    open: true
                },
            ]
        );
        assert_eq!(interval_end(&p("10.0.0.0/8")), Some(vec![11, 0, 0, 0]));
        assert_eq!(
            interval_end(&p("10.255.255.255/32")),
            Some(vec![11, 0, 0, 0])
        );
        assert_eq!(interval_end(&p("::/0")), None);
    }

    /// A dump of the table's pod CIDR set as the kernel sent it to `nft list set`.
    #[test]
    fn dumped_elements_compare_equal() {
        let mut got = Vec::new();
        for m in messages(include_str!("testdata/nft_egress_dump_elems.hex")) {
            let t = u16::from_ne_bytes([m[4], m[5]]);
            if t == (10 << 8) | NFT_MSG_NEWSETELEM {
                parse_set_elems(&m[16..], &mut got);
            }
        }
        // The set of the fixture after the replace: 10.244.1.0/24, 10.244.2.0/24,
        // 10.246.0.0/16.
        let t = EgressTable::new(
            &[p("10.244.1.0/24"), p("10.244.2.0/24"), p("10.246.0.0/16")],
            &[],
        );
        let mut want: Vec<DumpedElem> = t
            .pod_elements(Fam::V4)
            .iter()
            .map(|e| DumpedElem {
                key: e.key.clone(),
                flags: u32::from(e.end),
            })
            .collect();
        want.sort();
        got.sort();
        assert_eq!(got, want);
        let _ = NLM_F_REQUEST;
    }
}
