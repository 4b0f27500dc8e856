//! The I/O for what kube-router's pod egress left on a node: its ipsets (listed,
//! destroyed, or kept up to date) and its MASQUERADE rules in `nat`/`POSTROUTING`
//! (removed where iptables keeps them in nftables). What is kube-router's is decided by
//! `kuberouter` and `ipset`; this only talks to the kernel.

use super::super::forward;
use super::super::ipset::{self, Listed, Member};
use super::super::kuberouter::{self, NAT_TABLE, POSTROUTING};
use super::super::nfmsg::{self, NfFamily, NfWriter};
use super::super::nfsock::NfError;
use super::{Host, HostError, Res, nf};

/// What kube-router's egress left behind in one family, after a check.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct KubeRouterLeft {
    /// Sets that still exist (names).
    pub(crate) sets: Vec<String>,
    /// Sets kube-bgp keeps up to date because something it cannot remove uses them.
    pub(crate) taken_over: Vec<String>,
    /// kube-router rules removed by this check (their sets are released a little later).
    pub(crate) rules_removed: usize,
}

impl Host {
    fn list_set(&mut self, name: &str) -> Res<Option<Listed>> {
        let msgs = self.request_opt(
            &format!("ipset list {name}"),
            |w| ipset::encode_list(w, name),
            true,
        )?;
        Ok(msgs.map(|msgs| {
            let mut l = Listed::default();
            for m in &msgs {
                ipset::parse_list(m, &mut l);
            }
            l
        }))
    }

    /// One ipset command (add, del, destroy), waiting for its ACK.
    fn ipset_cmd(&mut self, build: impl FnOnce(&mut NfWriter)) -> Result<(), NfError> {
        let mut w = NfWriter::new();
        build(&mut w);
        self.nf.request(w.take(), false).map(drop)
    }

    /// Removes kube-router's egress rules of one family (where iptables keeps them in
    /// nftables) and destroys its sets; a set still in use by a rule kube-bgp cannot
    /// remove gets `want` as its members instead. `v6` selects the family.
    pub(crate) fn settle_kube_router(
        &mut self,
        v6: bool,
        want_subnets: &[Member],
        want_ips: &[Member],
        changes: &mut Vec<String>,
    ) -> Res<KubeRouterLeft> {
        let (subnets, ips) = ipset::names(v6);
        let mut listed = Vec::new();
        for (name, want) in [(&subnets, want_subnets), (&ips, want_ips)] {
            if let Some(l) = self.list_set(name)? {
                listed.push((name.clone(), l, want));
            }
        }
        let mut left = KubeRouterLeft::default();
        if listed.is_empty() {
            return Ok(left);
        }
        let fam = if v6 { NfFamily::Ipv6 } else { NfFamily::Ipv4 };
        let indices: Vec<u16> = listed.iter().filter_map(|(_, l, _)| l.index).collect();
        // A rule is kube-router's only if every set it matches is one of these.
        if self.chain_exists(fam, NAT_TABLE, POSTROUTING)? {
            let genid = self.genid()?;
            let payloads = self.rule_payloads(fam, NAT_TABLE, POSTROUTING)?;
            let handles: Vec<u64> = payloads
                .iter()
                .filter_map(|p| nfmsg::parse_rule(p))
                .filter(|r| kuberouter::is_egress_rule(r, &indices))
                .map(|r| r.handle)
                .collect();
            if !handles.is_empty() {
                let mut w = NfWriter::new();
                w.batch_begin(Some(genid));
                for h in &handles {
                    forward::encode_delete_rule(&mut w, fam, NAT_TABLE, POSTROUTING, *h);
                }
                w.batch_end();
                self.send_batch(
                    &format!(
                        "remove kube-router's {} nat POSTROUTING masquerade",
                        fam.name()
                    ),
                    &mut w,
                )?;
                changes.push(format!(
                    "removed kube-router's pod egress MASQUERADE rule(s) from {} nat POSTROUTING ({})",
                    fam.name(),
                    handles.len()
                ));
                left.rules_removed = handles.len();
            }
        }
        for (name, l, want) in listed {
            let n = name.clone();
            match self.ipset_cmd(|w| ipset::encode_destroy(w, &n)) {
                Ok(()) => changes.push(format!("destroyed kube-router's ipset {name}")),
                Err(e) if e.errno() == Some(libc::ENOENT) => {}
                Err(e) if e.errno().is_some_and(ipset::is_busy) => {
                    // Still referenced: a rule kube-bgp cannot remove (legacy iptables),
                    // or the kernel has not yet released a rule just deleted. Either
                    // way the set must stay correct until it can go.
                    let (add, del) = ipset::member_diff(&l.members, want);
                    for m in &del {
                        self.ipset_cmd(|w| ipset::encode_member(w, false, &name, m))
                            .map_err(nf(format!("ipset del {name} {}", member_text(m))))?;
                    }
                    for m in &add {
                        self.ipset_cmd(|w| ipset::encode_member(w, true, &name, m))
                            .map_err(nf(format!("ipset add {name} {}", member_text(m))))?;
                    }
                    if !add.is_empty() || !del.is_empty() {
                        changes.push(format!(
                            "kube-router's ipset {name} (still in use): +{} -{} members",
                            add.len(),
                            del.len()
                        ));
                    }
                    left.taken_over.push(name.clone());
                    left.sets.push(name);
                }
                Err(e) => return Err(HostError::Nf(format!("ipset destroy {name}"), e)),
            }
        }
        Ok(left)
    }
}

fn member_text(m: &Member) -> String {
    match m.cidr {
        Some(c) => format!("{}/{c}", m.addr),
        None => m.addr.to_string(),
    }
}

/// Whether iptables' legacy (x_tables) backend has a table loaded in this network
/// namespace: `/proc/net/ip_tables_names` (or `ip6_tables_names`) lists it.
pub(crate) fn legacy_tables(v6: bool) -> Vec<String> {
    let path = if v6 {
        "/proc/net/ip6_tables_names"
    } else {
        "/proc/net/ip_tables_names"
    };
    std::fs::read_to_string(path)
        .map(|t| t.lines().map(str::to_string).collect())
        .unwrap_or_default()
}
