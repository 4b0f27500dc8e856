//! The I/O side of the pod network: compares each piece of host state with what it
//! should be and applies the difference over rtnetlink, netfilter netlink and files.
//!
//! Owns: the two request sockets (rtnetlink, netfilter) and the operations on them.
//! Each operation reads what exists, changes only what differs, and returns what it
//! changed (for the log) or an error with context. It decides nothing itself: the wanted
//! state comes from `plan`, the scheduling and logging from `super::PodNet`.

use std::fmt;
use std::path::Path;

use super::bridge::{self, BRIDGE, LinkState};
use super::cni::{self, CniProblem, CniWant};
use super::egress::{self, EgressTable, TableDump};
use super::forward::{self, AcceptRule, FILTER_TABLE, FORWARD_CHAIN};
use super::nfmsg::{
    self, DumpedRule, NFT_MSG_GETCHAIN, NFT_MSG_GETGEN, NFT_MSG_GETRULE, NFT_MSG_GETSET,
    NFT_MSG_GETSETELEM, NFT_MSG_GETTABLE, NFTA_CHAIN_NAME, NFTA_CHAIN_TABLE, NFTA_RULE_CHAIN,
    NFTA_RULE_TABLE, NFTA_SET_ELEM_LIST_SET, NFTA_SET_ELEM_LIST_TABLE, NFTA_SET_FLAGS,
    NFTA_SET_KEY_LEN, NFTA_SET_KEY_TYPE, NFTA_SET_NAME, NFTA_SET_TABLE, NFTA_TABLE_NAME, NfFamily,
    NfWriter,
};
use super::nfsock::{NfError, NfSock};
use crate::kernel::netlink::{Errno, Netlink, NetlinkError};

mod leftovers;

pub(crate) use leftovers::legacy_tables;

/// ERESTART: the ruleset changed between our dump and our batch (generation id).
const ERESTART: i32 = 85;

/// A failed host operation, with what was being done.
#[derive(Debug)]
pub(crate) enum HostError {
    Netlink(&'static str, NetlinkError),
    Link(String, Errno),
    Nf(String, NfError),
    File(String, std::io::Error),
    Cni(String, CniProblem),
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::Netlink(what, e) => write!(f, "{what}: {e}"),
            HostError::Link(what, e) => write!(f, "{what}: {e}"),
            HostError::Nf(what, e) => write!(f, "{what}: {e}"),
            HostError::File(what, e) => write!(f, "{what}: {e}"),
            HostError::Cni(path, p) => {
                write!(
                    f,
                    "CNI configuration {path}: {p}; leaving the file untouched"
                )
            }
        }
    }
}

type Res<T> = Result<T, HostError>;

fn nf(what: impl Into<String>) -> impl FnOnce(NfError) -> HostError {
    let what = what.into();
    move |e| HostError::Nf(what, e)
}

/// The request sockets.
pub(crate) struct Host {
    nl: Netlink,
    nf: NfSock,
}

impl Host {
    pub(crate) fn open() -> Res<Host> {
        Ok(Host {
            nl: Netlink::open().map_err(|e| HostError::Netlink("rtnetlink socket", e))?,
            nf: NfSock::open(&[]).map_err(nf("netfilter socket"))?,
        })
    }

    /// The port ids of the request sockets (our own changes' notifications).
    pub(crate) fn port_ids(&self) -> Vec<u32> {
        [self.nl.port_id(), self.nf.port_id()]
            .into_iter()
            .flatten()
            .collect()
    }

    pub(crate) fn links(&mut self) -> Res<Vec<LinkState>> {
        bridge::dump(&mut self.nl).map_err(|e| HostError::Netlink("dump links", e))
    }

    pub(crate) fn link_holding(
        &mut self,
        links: &[LinkState],
        addr: std::net::IpAddr,
    ) -> Res<Option<LinkState>> {
        bridge::holding(&mut self.nl, links, addr)
            .map_err(|e| HostError::Netlink("dump addresses", e))
    }

    // ---- kube-bridge ----

    /// Makes kube-bridge exist, be up and (with `mtu`) have that MTU. Returns the
    /// changes made.
    pub(crate) fn ensure_bridge(
        &mut self,
        links: &[LinkState],
        mtu: Option<u32>,
    ) -> Res<Vec<String>> {
        let mut changes = Vec::new();
        let mut link = links.iter().find(|l| l.name == BRIDGE).cloned();
        if let Some(l) = &link {
            if l.kind != "bridge" {
                return Err(HostError::Link(
                    format!(
                        "a link named {BRIDGE} exists but is of kind {:?}, not a bridge; \
                         kube-bgp leaves it alone",
                        l.kind
                    ),
                    Errno::new(libc::EEXIST),
                ));
            }
        }
        if link.is_none() {
            match bridge::request(&mut self.nl, |w| bridge::encode_create(w, BRIDGE)) {
                Ok(()) => changes.push(format!("created {BRIDGE}")),
                Err(e) if e.errno == libc::EEXIST => {}
                Err(e) => return Err(HostError::Link(format!("create {BRIDGE}"), e)),
            }
            link = self.links()?.into_iter().find(|l| l.name == BRIDGE);
        }
        let Some(l) = link else {
            return Err(HostError::Link(
                format!("{BRIDGE} missing right after its creation"),
                Errno::new(libc::ENODEV),
            ));
        };
        if let Some(m) = mtu.filter(|m| *m != l.mtu) {
            bridge::request(&mut self.nl, |w| bridge::encode_mtu(w, l.index, m))
                .map_err(|e| HostError::Link(format!("set {BRIDGE} MTU {m}"), e))?;
            changes.push(format!("{BRIDGE} MTU {} -> {m}", l.mtu));
        }
        if !l.up {
            bridge::request(&mut self.nl, |w| bridge::encode_up(w, l.index))
                .map_err(|e| HostError::Link(format!("set {BRIDGE} up"), e))?;
            changes.push(format!("{BRIDGE} up"));
        }
        Ok(changes)
    }

    /// Deletes kube-bridge if it is a bridge with no ports. `Ok(Some(reason))` when it
    /// was kept.
    pub(crate) fn delete_unused_bridge(&mut self) -> Res<Option<String>> {
        let links = self.links()?;
        let Some(b) = links.iter().find(|l| l.name == BRIDGE) else {
            return Ok(None);
        };
        if b.kind != "bridge" {
            return Ok(Some(format!(
                "{BRIDGE} is a {:?} link, not a bridge",
                b.kind
            )));
        }
        let ports: Vec<&str> = links
            .iter()
            .filter(|l| l.master == Some(b.index))
            .map(|l| l.name.as_str())
            .collect();
        if !ports.is_empty() {
            return Ok(Some(format!(
                "{BRIDGE} still has ports ({}): pods are attached",
                ports.join(", ")
            )));
        }
        let index = b.index;
        match bridge::request(&mut self.nl, |w| bridge::encode_delete(w, index)) {
            Ok(()) => Ok(None),
            Err(e) if e.errno == libc::ENODEV => Ok(None),
            Err(e) => Err(HostError::Link(format!("delete {BRIDGE}"), e)),
        }
    }

    // ---- CNI configuration ----

    /// Makes the CNI file say `want`; returns a description of the change, if any.
    pub(crate) fn ensure_cni(&mut self, path: &Path, want: &CniWant) -> Res<Option<String>> {
        let shown = path.display().to_string();
        let list = cni::is_list(path);
        match cni::read(path).map_err(|e| HostError::File(format!("read {shown}"), e))? {
            None => {
                let text = cni::default_conf(list, want);
                cni::write_atomic(path, &text, 0o644)
                    .map_err(|e| HostError::File(format!("write {shown}"), e))?;
                Ok(Some(format!(
                    "{shown} did not exist: wrote kube-router's default CNI configuration \
                     (bridge {BRIDGE}, host-local ranges {}, mtu {})",
                    ranges_text(want),
                    mtu_text(want)
                )))
            }
            Some((text, mode)) => match cni::update(&text, list, want) {
                Err(p) => Err(HostError::Cni(shown, p)),
                Ok(None) => Ok(None),
                Ok(Some(new)) => {
                    cni::write_atomic(path, &new, mode)
                        .map_err(|e| HostError::File(format!("write {shown}"), e))?;
                    Ok(Some(format!(
                        "updated {shown}: ranges {}, mtu {}",
                        ranges_text(want),
                        mtu_text(want)
                    )))
                }
            },
        }
    }

    // ---- nftables helpers ----

    fn request(
        &mut self,
        what: &str,
        build: impl FnOnce(&mut NfWriter),
        dump: bool,
    ) -> Res<Vec<Vec<u8>>> {
        let mut w = NfWriter::new();
        build(&mut w);
        self.nf.request(w.take(), dump).map_err(nf(what))
    }

    /// Like `request`, with "no such table/chain/set" as `None`.
    fn request_opt(
        &mut self,
        what: &str,
        build: impl FnOnce(&mut NfWriter),
        dump: bool,
    ) -> Res<Option<Vec<Vec<u8>>>> {
        match self.request(what, build, dump) {
            Ok(v) => Ok(Some(v)),
            Err(HostError::Nf(_, e)) if e.errno() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn genid(&mut self) -> Res<u32> {
        let replies = self.request(
            "read the ruleset generation",
            |w| {
                w.begin(NFT_MSG_GETGEN, 0, NfFamily::Inet);
                w.end();
            },
            false,
        )?;
        replies
            .iter()
            .find_map(|p| nfmsg::parse_gen(p))
            .ok_or_else(|| HostError::Nf("ruleset generation".into(), NfError::Malformed("no id")))
    }

    fn chain_exists(&mut self, fam: NfFamily, table: &str, chain: &str) -> Res<bool> {
        let what = format!("look up chain {} {table} {chain}", fam.name());
        Ok(self
            .request_opt(
                &what,
                |w| {
                    w.begin(NFT_MSG_GETCHAIN, 0, fam);
                    w.str(NFTA_CHAIN_TABLE, table);
                    w.str(NFTA_CHAIN_NAME, chain);
                    w.end();
                },
                false,
            )?
            .is_some())
    }

    /// The rules of a chain (raw payloads; parse with `nfmsg::parse_rule`).
    fn rule_payloads(&mut self, fam: NfFamily, table: &str, chain: &str) -> Res<Vec<Vec<u8>>> {
        let what = format!("list chain {} {table} {chain}", fam.name());
        let msgs = self.request_opt(
            &what,
            |w| {
                w.begin(NFT_MSG_GETRULE, 0, fam);
                w.str(NFTA_RULE_TABLE, table);
                w.str(NFTA_RULE_CHAIN, chain);
                w.end();
            },
            true,
        )?;
        Ok(msgs.unwrap_or_default())
    }

    fn send_batch(&mut self, what: &str, w: &mut NfWriter) -> Res<()> {
        self.nf.batch(w.take()).map_err(nf(what))
    }

    // ---- FORWARD accept rules ----

    /// Makes the FORWARD chain of `fam`'s iptables filter table hold `want` (when the
    /// chain exists). Returns the changes made.
    pub(crate) fn ensure_forward(
        &mut self,
        fam: NfFamily,
        want: &[AcceptRule],
    ) -> Res<Vec<String>> {
        for attempt in 0..2 {
            if !self.chain_exists(fam, FILTER_TABLE, FORWARD_CHAIN)? {
                return Ok(Vec::new());
            }
            let genid = self.genid()?;
            let payloads = self.rule_payloads(fam, FILTER_TABLE, FORWARD_CHAIN)?;
            let rules: Vec<DumpedRule<'_>> = payloads
                .iter()
                .filter_map(|p| nfmsg::parse_rule(p))
                .collect();
            let change = forward::compare(&rules, want);
            if change.is_empty() {
                return Ok(Vec::new());
            }
            let mut w = NfWriter::new();
            forward::encode_change(&mut w, fam, &change, genid);
            match self.send_batch(&format!("{} filter FORWARD rules", fam.name()), &mut w) {
                Ok(()) => {
                    let mut out: Vec<String> = change
                        .insert
                        .iter()
                        .map(|r| {
                            format!(
                                "{} filter FORWARD: inserted accept {} {} ({})",
                                fam.name(),
                                if r.dir == forward::ForwardDir::In {
                                    "-i"
                                } else {
                                    "-o"
                                },
                                r.ifname,
                                r.comment
                            )
                        })
                        .collect();
                    if !change.delete.is_empty() {
                        out.push(format!(
                            "{} filter FORWARD: removed {} stale accept rule(s)",
                            fam.name(),
                            change.delete.len()
                        ));
                    }
                    return Ok(out);
                }
                Err(HostError::Nf(_, e)) if e.errno() == Some(ERESTART) && attempt == 0 => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(Vec::new())
    }

    /// Removes every accept rule of ours (and kube-router's) from `fam`'s FORWARD chain.
    pub(crate) fn remove_forward(&mut self, fam: NfFamily) -> Res<usize> {
        if !self.chain_exists(fam, FILTER_TABLE, FORWARD_CHAIN)? {
            return Ok(0);
        }
        let genid = self.genid()?;
        let payloads = self.rule_payloads(fam, FILTER_TABLE, FORWARD_CHAIN)?;
        let rules: Vec<DumpedRule<'_>> = payloads
            .iter()
            .filter_map(|p| nfmsg::parse_rule(p))
            .collect();
        let handles = forward::ours(&rules);
        if handles.is_empty() {
            return Ok(0);
        }
        let change = forward::ForwardChange {
            delete: handles.clone(),
            insert: Vec::new(),
        };
        let mut w = NfWriter::new();
        forward::encode_change(&mut w, fam, &change, genid);
        self.send_batch(
            &format!("remove {} filter FORWARD rules", fam.name()),
            &mut w,
        )?;
        Ok(handles.len())
    }

    // ---- the egress table ----

    fn egress_exists(&mut self) -> Res<bool> {
        Ok(self
            .request_opt(
                "look up table inet kube-bgp",
                |w| {
                    w.begin(NFT_MSG_GETTABLE, 0, NfFamily::Inet);
                    w.str(NFTA_TABLE_NAME, egress::TABLE);
                    w.end();
                },
                false,
            )?
            .is_some())
    }

    /// Why the existing table differs from `t` (`None`: it does not).
    fn egress_difference(&mut self, t: &EgressTable) -> Res<Option<String>> {
        let inet = NfFamily::Inet;
        let table = egress::TABLE;
        let chains = self
            .request_opt(
                "list chains of inet kube-bgp",
                |w| {
                    w.begin(NFT_MSG_GETCHAIN, 0, inet);
                    w.str(NFTA_CHAIN_TABLE, table);
                    w.end();
                },
                true,
            )?
            .unwrap_or_default();
        let sets = self
            .request_opt(
                "list sets of inet kube-bgp",
                |w| {
                    w.begin(NFT_MSG_GETSET, 0, inet);
                    w.str(NFTA_SET_TABLE, table);
                    w.end();
                },
                true,
            )?
            .unwrap_or_default();
        let mut dump = TableDump::default();
        for c in &chains {
            if nfmsg::find(c.get(4..).unwrap_or(&[]), NFTA_CHAIN_TABLE).map(nfmsg::as_str)
                == Some(table.to_string())
            {
                if let Some(parsed) = nfmsg::parse_chain(c) {
                    dump.chains.push(parsed);
                }
            }
        }
        for s in &sets {
            let a = s.get(4..).unwrap_or(&[]);
            if nfmsg::find(a, NFTA_SET_TABLE).map(nfmsg::as_str) != Some(table.to_string()) {
                continue;
            }
            let name = nfmsg::find(a, NFTA_SET_NAME)
                .map(nfmsg::as_str)
                .unwrap_or_default();
            let be = |k| nfmsg::find(a, k).and_then(nfmsg::as_be32).unwrap_or(0);
            dump.sets.push((
                name,
                be(NFTA_SET_FLAGS),
                be(NFTA_SET_KEY_TYPE),
                be(NFTA_SET_KEY_LEN),
            ));
        }
        for name in egress::set_names() {
            let msgs = self
                .request_opt(
                    &format!("list set inet kube-bgp {name}"),
                    |w| {
                        w.begin(NFT_MSG_GETSETELEM, 0, inet);
                        w.str(NFTA_SET_ELEM_LIST_TABLE, table);
                        w.str(NFTA_SET_ELEM_LIST_SET, name);
                        w.end();
                    },
                    true,
                )?
                .unwrap_or_default();
            let mut elems = Vec::new();
            for m in &msgs {
                nfmsg::parse_set_elems(m, &mut elems);
            }
            dump.elems.push((name.to_string(), elems));
        }
        let rules = self.rule_payloads(inet, table, egress::CHAIN)?;
        dump.rules = rules.iter().filter_map(|p| nfmsg::parse_rule(p)).collect();
        Ok(egress::difference(t, &dump))
    }

    /// Makes the egress table hold exactly `t` (replaced atomically when it differs);
    /// `None` removes it. Returns a description of the change, if any.
    pub(crate) fn ensure_egress(&mut self, t: Option<&EgressTable>) -> Res<Option<String>> {
        let exists = self.egress_exists()?;
        let Some(t) = t else {
            if !exists {
                return Ok(None);
            }
            let mut w = NfWriter::new();
            egress::encode_delete(&mut w);
            self.send_batch("delete table inet kube-bgp", &mut w)?;
            return Ok(Some("removed table inet kube-bgp (pod egress off)".into()));
        };
        let why = if exists {
            match self.egress_difference(t)? {
                None => return Ok(None),
                Some(why) => why,
            }
        } else {
            "it did not exist".to_string()
        };
        let mut w = NfWriter::new();
        egress::encode_replace(&mut w, t, exists);
        self.send_batch("write table inet kube-bgp", &mut w)?;
        let v6 = t
            .pod_cidrs
            .iter()
            .filter(|p| p.afi() == crate::prefix::Afi::Ipv6)
            .count();
        Ok(Some(format!(
            "pod egress table inet kube-bgp written ({why}): {} pod CIDRs ({} IPv6), {} node addresses",
            t.pod_cidrs.len(),
            v6,
            t.node_ips.len()
        )))
    }

    // ---- clean-up helpers ----

    pub(crate) fn netlink(&mut self) -> &mut Netlink {
        &mut self.nl
    }
}

fn ranges_text(w: &CniWant) -> String {
    let r: Vec<String> = w.ranges.iter().map(|p| p.to_string()).collect();
    r.join(",")
}

fn mtu_text(w: &CniWant) -> String {
    w.mtu
        .map_or_else(|| "unchanged".to_string(), |m| m.to_string())
}
