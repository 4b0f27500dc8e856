//! nfnetlink message bytes: the nftables batch (begin, messages, end), the attribute
//! layouts of tables, chains, sets, set elements and rules, and the few expressions
//! kube-bgp uses; plus bounds-checked readers for what the kernel dumps back.
//!
//! Owns the wire format only (numbers from `linux/netfilter/nf_tables.h`,
//! `nfnetlink.h`, `nf_tables_compat.h`). Pure: no sockets. Messages are written the way
//! `nft` and `iptables-nft` write them (attribute order included), so the unit tests of
//! the modules using this can compare with their captured bytes. Nothing read from the
//! kernel can make it panic.

use crate::kernel::codec::{MsgWriter, attrs};

pub(crate) const NFNL_SUBSYS_IPSET: u16 = 6;
pub(crate) const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFNL_BATCH_GENID: u16 = 1;
pub(crate) const NLA_F_NESTED: u16 = 0x8000;

/// `nfgen_family` values (NFPROTO_*).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum NfFamily {
    Inet = 1,
    Ipv4 = 2,
    Ipv6 = 10,
}

impl NfFamily {
    /// The name `nft list ruleset` shows.
    pub(crate) fn name(self) -> &'static str {
        match self {
            NfFamily::Inet => "inet",
            NfFamily::Ipv4 => "ip",
            NfFamily::Ipv6 => "ip6",
        }
    }
}

// NFT_MSG_*
pub(crate) const NFT_MSG_NEWTABLE: u16 = 0;
pub(crate) const NFT_MSG_GETTABLE: u16 = 1;
pub(crate) const NFT_MSG_DELTABLE: u16 = 2;
pub(crate) const NFT_MSG_NEWCHAIN: u16 = 3;
pub(crate) const NFT_MSG_GETCHAIN: u16 = 4;
pub(crate) const NFT_MSG_NEWRULE: u16 = 6;
pub(crate) const NFT_MSG_GETRULE: u16 = 7;
pub(crate) const NFT_MSG_DELRULE: u16 = 8;
pub(crate) const NFT_MSG_NEWSET: u16 = 9;
pub(crate) const NFT_MSG_GETSET: u16 = 10;
pub(crate) const NFT_MSG_NEWSETELEM: u16 = 12;
pub(crate) const NFT_MSG_GETSETELEM: u16 = 13;
pub(crate) const NFT_MSG_GETGEN: u16 = 16;

// Attributes.
pub(crate) const NFTA_TABLE_NAME: u16 = 1;
pub(crate) const NFTA_TABLE_FLAGS: u16 = 2;
pub(crate) const NFTA_CHAIN_TABLE: u16 = 1;
pub(crate) const NFTA_CHAIN_NAME: u16 = 3;
pub(crate) const NFTA_CHAIN_HOOK: u16 = 4;
pub(crate) const NFTA_CHAIN_POLICY: u16 = 5;
pub(crate) const NFTA_CHAIN_TYPE: u16 = 7;
pub(crate) const NFTA_HOOK_HOOKNUM: u16 = 1;
pub(crate) const NFTA_HOOK_PRIORITY: u16 = 2;
pub(crate) const NFTA_RULE_TABLE: u16 = 1;
pub(crate) const NFTA_RULE_CHAIN: u16 = 2;
pub(crate) const NFTA_RULE_HANDLE: u16 = 3;
pub(crate) const NFTA_RULE_EXPRESSIONS: u16 = 4;
pub(crate) const NFTA_RULE_COMPAT: u16 = 5;
pub(crate) const NFTA_RULE_USERDATA: u16 = 7;
const NFTA_RULE_COMPAT_PROTO: u16 = 1;
const NFTA_RULE_COMPAT_FLAGS: u16 = 2;
pub(crate) const NFTA_LIST_ELEM: u16 = 1;
pub(crate) const NFTA_EXPR_NAME: u16 = 1;
pub(crate) const NFTA_EXPR_DATA: u16 = 2;
pub(crate) const NFTA_DATA_VALUE: u16 = 1;
pub(crate) const NFTA_DATA_VERDICT: u16 = 2;
pub(crate) const NFTA_VERDICT_CODE: u16 = 1;
pub(crate) const NFTA_SET_TABLE: u16 = 1;
pub(crate) const NFTA_SET_NAME: u16 = 2;
pub(crate) const NFTA_SET_FLAGS: u16 = 3;
pub(crate) const NFTA_SET_KEY_TYPE: u16 = 4;
pub(crate) const NFTA_SET_KEY_LEN: u16 = 5;
pub(crate) const NFTA_SET_ID: u16 = 10;
pub(crate) const NFTA_SET_USERDATA: u16 = 13;
pub(crate) const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
pub(crate) const NFTA_SET_ELEM_LIST_SET: u16 = 2;
pub(crate) const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
pub(crate) const NFTA_SET_ELEM_LIST_SET_ID: u16 = 4;
pub(crate) const NFTA_SET_ELEM_KEY: u16 = 1;
pub(crate) const NFTA_SET_ELEM_FLAGS: u16 = 3;
pub(crate) const NFTA_GEN_ID: u16 = 1;

pub(crate) const NFT_SET_INTERVAL: u32 = 0x4;
pub(crate) const NFT_SET_ELEM_INTERVAL_END: u32 = 0x1;
pub(crate) const NF_ACCEPT: u32 = 1;
pub(crate) const NF_INET_POST_ROUTING: u32 = 4;

// Expressions.
const NFTA_META_DREG: u16 = 1;
const NFTA_META_KEY: u16 = 2;
pub(crate) const NFT_META_IIFNAME: u32 = 6;
pub(crate) const NFT_META_OIFNAME: u32 = 7;
pub(crate) const NFT_META_NFPROTO: u32 = 15;
const NFTA_CMP_SREG: u16 = 1;
const NFTA_CMP_OP: u16 = 2;
const NFTA_CMP_DATA: u16 = 3;
const NFT_CMP_EQ: u32 = 0;
const NFTA_PAYLOAD_DREG: u16 = 1;
const NFTA_PAYLOAD_BASE: u16 = 2;
const NFTA_PAYLOAD_OFFSET: u16 = 3;
const NFTA_PAYLOAD_LEN: u16 = 4;
pub(crate) const NFT_PAYLOAD_NETWORK_HEADER: u32 = 1;
const NFTA_LOOKUP_SET: u16 = 1;
const NFTA_LOOKUP_SREG: u16 = 2;
const NFTA_LOOKUP_SET_ID: u16 = 4;
const NFTA_LOOKUP_FLAGS: u16 = 5;
const NFT_LOOKUP_F_INV: u32 = 1;
const NFTA_MASQ_FLAGS: u16 = 1;
/// NF_NAT_RANGE_PROTO_RANDOM_FULLY: iptables' `--random-fully`.
pub(crate) const NF_NAT_RANGE_PROTO_RANDOM_FULLY: u32 = 0x10;
const NFTA_COUNTER_BYTES: u16 = 1;
const NFTA_COUNTER_PACKETS: u16 = 2;
const NFTA_IMMEDIATE_DREG: u16 = 1;
const NFTA_IMMEDIATE_DATA: u16 = 2;
pub(crate) const NFTA_MATCH_NAME: u16 = 1;
pub(crate) const NFTA_MATCH_REV: u16 = 2;
pub(crate) const NFTA_MATCH_INFO: u16 = 3;
/// Registers as nft and iptables-nft number them (the 16-byte NFT_REG_1).
pub(crate) const NFT_REG_VERDICT: u32 = 0;
pub(crate) const NFT_REG_1: u32 = 1;
/// `struct xt_comment_info`: the comment, NUL-padded.
pub(crate) const XT_COMMENT_LEN: usize = 256;
/// NFTNL_UDATA_RULE_COMMENT / NFTNL_UDATA_SET_KEYBYTEORDER in libnftnl's user data.
const UDATA_RULE_COMMENT: u8 = 0;
const UDATA_SET_KEYBYTEORDER: u8 = 0;
/// nft's BYTEORDER_BIG_ENDIAN, the key byte order of address sets.
const BYTEORDER_BIG_ENDIAN: u32 = 2;

/// Netlink flags used here.
pub(crate) const NLM_F_REQUEST: u16 = 0x1;
pub(crate) const NLM_F_ACK: u16 = 0x4;
pub(crate) const NLM_F_EXCL: u16 = 0x200;
pub(crate) const NLM_F_CREATE: u16 = 0x400;
pub(crate) const NLM_F_APPEND: u16 = 0x800;
pub(crate) const NLM_F_DUMP: u16 = 0x300;

/// The nfnetlink header after `nlmsghdr`: family, version 0, big-endian resource id.
pub(crate) fn nfgenmsg(family: u8, res_id: u16) -> [u8; 4] {
    let r = res_id.to_be_bytes();
    [family, 0, r[0], r[1]]
}

/// Writes nftables (and ipset) messages; the nftables ones inside one batch.
pub(crate) struct NfWriter {
    pub(crate) w: MsgWriter,
}

impl NfWriter {
    pub(crate) fn new() -> NfWriter {
        NfWriter {
            w: MsgWriter::new(),
        }
    }

    /// `NFNL_MSG_BATCH_BEGIN` for the nftables subsystem; `genid` makes the kernel
    /// refuse the batch (ERESTART) if the ruleset changed since that generation, as
    /// iptables-nft does.
    pub(crate) fn batch_begin(&mut self, genid: Option<u32>) {
        self.w.begin(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST);
        self.w.raw(&nfgenmsg(0, NFNL_SUBSYS_NFTABLES));
        if let Some(g) = genid {
            self.w.attr(NFNL_BATCH_GENID, &g.to_be_bytes());
        }
        self.w.end();
    }

    pub(crate) fn batch_end(&mut self) {
        self.w.begin(NFNL_MSG_BATCH_END, NLM_F_REQUEST);
        self.w.raw(&nfgenmsg(0, NFNL_SUBSYS_NFTABLES));
        self.w.end();
    }

    /// Starts an nftables message (`NFT_MSG_*`) of `family`.
    pub(crate) fn begin(&mut self, msg: u16, flags: u16, family: NfFamily) {
        self.w.begin((NFNL_SUBSYS_NFTABLES << 8) | msg, flags);
        self.w.raw(&nfgenmsg(family as u8, 0));
    }

    /// Starts an ipset message (`IPSET_CMD_*`), always AF_INET in the header as the
    /// `ipset` tool sends it.
    pub(crate) fn begin_ipset(&mut self, cmd: u16, flags: u16) {
        self.w.begin((NFNL_SUBSYS_IPSET << 8) | cmd, flags);
        self.w.raw(&nfgenmsg(libc::AF_INET as u8, 0));
    }

    pub(crate) fn end(&mut self) {
        self.w.end();
    }

    pub(crate) fn str(&mut self, kind: u16, s: &str) {
        self.w.attr_str(kind, s);
    }

    pub(crate) fn be32(&mut self, kind: u16, v: u32) {
        self.w.attr(kind, &v.to_be_bytes());
    }

    pub(crate) fn be64(&mut self, kind: u16, v: u64) {
        self.w.attr(kind, &v.to_be_bytes());
    }

    pub(crate) fn bytes(&mut self, kind: u16, v: &[u8]) {
        self.w.attr(kind, v);
    }

    pub(crate) fn nest(&mut self, kind: u16) -> usize {
        self.w.begin_nest(kind | NLA_F_NESTED)
    }

    pub(crate) fn end_nest(&mut self, at: usize) {
        self.w.end_nest(at);
    }

    /// `NFTA_DATA_VALUE` inside a nest of `kind`.
    pub(crate) fn data_value(&mut self, kind: u16, v: &[u8]) {
        let n = self.nest(kind);
        self.bytes(NFTA_DATA_VALUE, v);
        self.end_nest(n);
    }

    fn expr(&mut self, name: &str, body: impl FnOnce(&mut NfWriter)) {
        let e = self.nest(NFTA_LIST_ELEM);
        self.str(NFTA_EXPR_NAME, name);
        let d = self.nest(NFTA_EXPR_DATA);
        body(self);
        self.end_nest(d);
        self.end_nest(e);
    }

    /// `meta load KEY => reg 1`.
    pub(crate) fn expr_meta(&mut self, key: u32) {
        self.expr("meta", |w| {
            w.be32(NFTA_META_KEY, key);
            w.be32(NFTA_META_DREG, NFT_REG_1);
        });
    }

    /// `cmp eq reg 1 VALUE`.
    pub(crate) fn expr_cmp_eq(&mut self, value: &[u8]) {
        self.expr("cmp", |w| {
            w.be32(NFTA_CMP_SREG, NFT_REG_1);
            w.be32(NFTA_CMP_OP, NFT_CMP_EQ);
            w.data_value(NFTA_CMP_DATA, value);
        });
    }

    /// `payload load LEN @ network header + OFFSET => reg 1`.
    pub(crate) fn expr_payload_network(&mut self, offset: u32, len: u32) {
        self.expr("payload", |w| {
            w.be32(NFTA_PAYLOAD_DREG, NFT_REG_1);
            w.be32(NFTA_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
            w.be32(NFTA_PAYLOAD_OFFSET, offset);
            w.be32(NFTA_PAYLOAD_LEN, len);
        });
    }

    /// `lookup reg 1 set NAME` (inverted: `!=`), naming the set also by its id in the
    /// same batch as nft does.
    pub(crate) fn expr_lookup(&mut self, set: &str, set_id: u32, inverted: bool) {
        self.expr("lookup", |w| {
            w.be32(NFTA_LOOKUP_SREG, NFT_REG_1);
            w.str(NFTA_LOOKUP_SET, set);
            w.be32(NFTA_LOOKUP_SET_ID, set_id);
            if inverted {
                w.be32(NFTA_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
            }
        });
    }

    /// `masq flags FLAGS`.
    pub(crate) fn expr_masq(&mut self, flags: u32) {
        self.expr("masq", |w| w.be32(NFTA_MASQ_FLAGS, flags));
    }

    /// `counter` with zero counts (as iptables-nft writes every rule).
    pub(crate) fn expr_counter(&mut self) {
        self.expr("counter", |w| {
            w.be64(NFTA_COUNTER_BYTES, 0);
            w.be64(NFTA_COUNTER_PACKETS, 0);
        });
    }

    /// `immediate reg 0 VERDICT`.
    pub(crate) fn expr_verdict(&mut self, code: u32) {
        self.expr("immediate", |w| {
            w.be32(NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
            let d = w.nest(NFTA_IMMEDIATE_DATA);
            let v = w.nest(NFTA_DATA_VERDICT);
            w.be32(NFTA_VERDICT_CODE, code);
            w.end_nest(v);
            w.end_nest(d);
        });
    }

    /// iptables' `-m comment --comment TEXT` (an xtables match run by nft_compat).
    pub(crate) fn expr_xt_comment(&mut self, text: &str) {
        let mut info = [0u8; XT_COMMENT_LEN];
        let n = text.len().min(XT_COMMENT_LEN - 1);
        info[..n].copy_from_slice(&text.as_bytes()[..n]);
        self.expr("match", |w| {
            w.str(NFTA_MATCH_NAME, "comment");
            w.be32(NFTA_MATCH_REV, 0);
            w.bytes(NFTA_MATCH_INFO, &info);
        });
    }

    /// `NFTA_RULE_COMPAT` as iptables-nft writes it for rules without a protocol match.
    pub(crate) fn rule_compat_none(&mut self) {
        let c = self.nest(NFTA_RULE_COMPAT);
        self.be32(NFTA_RULE_COMPAT_PROTO, 0);
        self.be32(NFTA_RULE_COMPAT_FLAGS, 0);
        self.end_nest(c);
    }

    /// A rule comment in libnftnl's user data format (what `nft list` shows).
    pub(crate) fn rule_comment(&mut self, text: &str) {
        let mut u = vec![UDATA_RULE_COMMENT, (text.len() + 1).min(255) as u8];
        u.extend_from_slice(text.as_bytes());
        u.push(0);
        self.bytes(NFTA_RULE_USERDATA, &u);
    }

    /// A set's user data as nft writes it for address keys: key byte order big endian.
    pub(crate) fn set_udata_big_endian(&mut self) {
        let mut u = vec![UDATA_SET_KEYBYTEORDER, 4];
        u.extend_from_slice(&BYTEORDER_BIG_ENDIAN.to_ne_bytes());
        self.bytes(NFTA_SET_USERDATA, &u);
    }

    pub(crate) fn take(&mut self) -> Vec<u8> {
        self.w.take()
    }
}

// ---- reading what the kernel sends ----

/// The attributes of an nfnetlink message payload (after the 4-byte nfgenmsg).
pub(crate) fn nf_attrs(payload: &[u8]) -> crate::kernel::codec::NlAttrs<'_> {
    attrs(payload.get(4..).unwrap_or(&[]))
}

/// The first attribute of `kind` in `buf`.
pub(crate) fn find(buf: &[u8], kind: u16) -> Option<&[u8]> {
    attrs(buf).find(|(k, _)| *k == kind).map(|(_, d)| d)
}

/// A NUL-terminated string attribute.
pub(crate) fn as_str(data: &[u8]) -> String {
    let s = data.split(|&c| c == 0).next().unwrap_or(&[]);
    String::from_utf8_lossy(s).into_owned()
}

pub(crate) fn as_be32(data: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(data.get(..4)?.try_into().ok()?))
}

pub(crate) fn as_be64(data: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(data.get(..8)?.try_into().ok()?))
}

/// One expression of a dumped rule: its name and its data attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DumpedExpr<'a> {
    pub(crate) name: String,
    pub(crate) data: &'a [u8],
}

/// A rule as the kernel dumps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DumpedRule<'a> {
    pub(crate) table: String,
    pub(crate) chain: String,
    pub(crate) handle: u64,
    pub(crate) exprs: Vec<DumpedExpr<'a>>,
    pub(crate) userdata: Option<&'a [u8]>,
}

/// Decodes an NFT_MSG_NEWRULE payload (nfgenmsg + attributes).
pub(crate) fn parse_rule(payload: &[u8]) -> Option<DumpedRule<'_>> {
    let (mut table, mut chain, mut handle, mut exprs, mut userdata) =
        (None, None, None, Vec::new(), None);
    for (k, d) in nf_attrs(payload) {
        match k {
            NFTA_RULE_TABLE => table = Some(as_str(d)),
            NFTA_RULE_CHAIN => chain = Some(as_str(d)),
            NFTA_RULE_HANDLE => handle = as_be64(d),
            NFTA_RULE_USERDATA => userdata = Some(d),
            NFTA_RULE_EXPRESSIONS => {
                for (lk, elem) in attrs(d) {
                    if lk != NFTA_LIST_ELEM {
                        continue;
                    }
                    let name = find(elem, NFTA_EXPR_NAME).map(as_str)?;
                    let data = find(elem, NFTA_EXPR_DATA).unwrap_or(&[]);
                    exprs.push(DumpedExpr { name, data });
                }
            }
            _ => {}
        }
    }
    Some(DumpedRule {
        table: table?,
        chain: chain?,
        handle: handle?,
        exprs,
        userdata,
    })
}

impl DumpedExpr<'_> {
    /// `meta load KEY`: the key.
    pub(crate) fn meta_key(&self) -> Option<u32> {
        (self.name == "meta")
            .then(|| find(self.data, NFTA_META_KEY).and_then(as_be32))
            .flatten()
    }

    /// `cmp eq`: the compared value.
    pub(crate) fn cmp_eq_value(&self) -> Option<&[u8]> {
        if self.name != "cmp" || find(self.data, NFTA_CMP_OP).and_then(as_be32) != Some(NFT_CMP_EQ)
        {
            return None;
        }
        find(find(self.data, NFTA_CMP_DATA)?, NFTA_DATA_VALUE)
    }

    /// `immediate`: the verdict code.
    pub(crate) fn verdict(&self) -> Option<u32> {
        if self.name != "immediate" {
            return None;
        }
        let v = find(find(self.data, NFTA_IMMEDIATE_DATA)?, NFTA_DATA_VERDICT)?;
        find(v, NFTA_VERDICT_CODE).and_then(as_be32)
    }

    /// An xtables match or target (`match`/`target`): its name, revision and info.
    pub(crate) fn xt(&self) -> Option<(String, u32, &[u8])> {
        if self.name != "match" && self.name != "target" {
            return None;
        }
        Some((
            find(self.data, NFTA_MATCH_NAME).map(as_str)?,
            find(self.data, NFTA_MATCH_REV).and_then(as_be32)?,
            find(self.data, NFTA_MATCH_INFO).unwrap_or(&[]),
        ))
    }

    /// `lookup`: set name and whether it is inverted.
    pub(crate) fn lookup(&self) -> Option<(String, bool)> {
        if self.name != "lookup" {
            return None;
        }
        let set = find(self.data, NFTA_LOOKUP_SET).map(as_str)?;
        let flags = find(self.data, NFTA_LOOKUP_FLAGS)
            .and_then(as_be32)
            .unwrap_or(0);
        Some((set, flags & NFT_LOOKUP_F_INV != 0))
    }

    /// `masq`: its flags.
    pub(crate) fn masq_flags(&self) -> Option<u32> {
        (self.name == "masq").then(|| {
            find(self.data, NFTA_MASQ_FLAGS)
                .and_then(as_be32)
                .unwrap_or(0)
        })
    }
}

/// A set element as dumped: key bytes and flags.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct DumpedElem {
    pub(crate) key: Vec<u8>,
    pub(crate) flags: u32,
}

/// Decodes the elements of an NFT_MSG_NEWSETELEM payload.
pub(crate) fn parse_set_elems(payload: &[u8], out: &mut Vec<DumpedElem>) {
    let Some(list) = nf_attrs(payload)
        .find(|(k, _)| *k == NFTA_SET_ELEM_LIST_ELEMENTS)
        .map(|(_, d)| d)
    else {
        return;
    };
    for (k, elem) in attrs(list) {
        if k != NFTA_LIST_ELEM {
            continue;
        }
        let key = find(elem, NFTA_SET_ELEM_KEY)
            .and_then(|k| find(k, NFTA_DATA_VALUE))
            .map(<[u8]>::to_vec);
        let flags = find(elem, NFTA_SET_ELEM_FLAGS)
            .and_then(as_be32)
            .unwrap_or(0);
        if let Some(key) = key {
            out.push(DumpedElem { key, flags });
        }
    }
}

/// A base chain's hook as dumped: hook number, priority, policy, type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DumpedChain {
    pub(crate) name: String,
    pub(crate) hook: Option<(u32, i32)>,
    pub(crate) policy: Option<u32>,
    pub(crate) kind: Option<String>,
}

/// Decodes an NFT_MSG_NEWCHAIN payload.
pub(crate) fn parse_chain(payload: &[u8]) -> Option<DumpedChain> {
    let mut c = DumpedChain {
        name: String::new(),
        hook: None,
        policy: None,
        kind: None,
    };
    let mut named = false;
    for (k, d) in nf_attrs(payload) {
        match k {
            NFTA_CHAIN_NAME => {
                c.name = as_str(d);
                named = true;
            }
            NFTA_CHAIN_HOOK => {
                let num = find(d, NFTA_HOOK_HOOKNUM).and_then(as_be32);
                let prio = find(d, NFTA_HOOK_PRIORITY).and_then(as_be32);
                if let (Some(n), Some(p)) = (num, prio) {
                    c.hook = Some((n, p as i32));
                }
            }
            NFTA_CHAIN_POLICY => c.policy = as_be32(d),
            NFTA_CHAIN_TYPE => c.kind = Some(as_str(d)),
            _ => {}
        }
    }
    named.then_some(c)
}

/// The generation id in an NFT_MSG_NEWGEN payload.
pub(crate) fn parse_gen(payload: &[u8]) -> Option<u32> {
    nf_attrs(payload)
        .find(|(k, _)| *k == NFTA_GEN_ID)
        .and_then(|(_, d)| as_be32(d))
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Reading the captured fixtures of `testdata/` (see `testdata/capture.sh`).

    /// The messages of a fixture file, in order, with sequence numbers zeroed.
    pub(crate) fn messages(text: &str) -> Vec<Vec<u8>> {
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let l = l.trim();
                let mut b: Vec<u8> = (0..l.len() / 2)
                    .map(|i| u8::from_str_radix(&l[2 * i..2 * i + 2], 16).expect("hex"))
                    .collect();
                zero_seq(&mut b);
                b
            })
            .collect()
    }

    pub(crate) fn zero_seq(m: &mut [u8]) {
        if m.len() >= 12 {
            m[8..12].copy_from_slice(&[0; 4]);
        }
    }

    /// Splits a buffer of back-to-back messages, zeroing sequence numbers.
    pub(crate) fn split(buf: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut at = 0;
        while at + 16 <= buf.len() {
            let n = u32::from_ne_bytes(buf[at..at + 4].try_into().expect("4")) as usize;
            assert!(n >= 16 && at + n <= buf.len(), "bad length at {at}");
            let mut m = buf[at..at + n].to_vec();
            zero_seq(&mut m);
            out.push(m);
            at += (n + 3) & !3;
        }
        assert_eq!(at, buf.len(), "trailing bytes");
        out
    }

    /// Asserts two message lists are equal, naming the first differing message and byte.
    pub(crate) fn assert_same(what: &str, got: &[Vec<u8>], want: &[Vec<u8>]) {
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            if g != w {
                let at = g.iter().zip(w.iter()).position(|(a, b)| a != b);
                panic!(
                    "{what}: message {i} differs (first at byte {at:?}, lengths {} vs {})\n got: {}\nwant: {}",
                    g.len(),
                    w.len(),
                    hex(g),
                    hex(w)
                );
            }
        }
        assert_eq!(got.len(), want.len(), "{what}: number of messages");
    }

    pub(crate) fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
