//! `--cleanup-config`: removes from this node everything kube-bgp sets up, and what
//! kube-router's routing controller left in the same places, then the process exits.
//!
//! Removed: protocol-17 routes of the main table, kube-bgp's nexthop objects, the `tun-*` overlay tunnels (and the
//! FoU/GUE receive ports of those that used GUE), every route of table 77 and every
//! rule that looks it up, the pod egress table `inet kube-bgp`, the FORWARD accept rules
//! kube-bgp and kube-router insert, kube-router's pod egress MASQUERADE rules and
//! ipsets, and `kube-bridge` when no pod is attached to it. Nothing else is touched: no other route, rule, link, table or chain. Needs no
//! API server. Sysctls and the CNI configuration file are left as they are (other
//! software may rely on forwarding; the CNI file belongs to the node's pods).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::host::{self, Host};
use super::nfmsg::NfFamily;
use crate::config::Config;
use crate::kernel::codec::{MsgWriter, NLM_F_ACK, NLM_F_REQUEST};
use crate::kernel::fou::{self, FouPorts};
use crate::kernel::netlink::{BatchOptions, Netlink, NetlinkError};
use crate::kernel::route::{
    RT_TABLE_KUBE_ROUTER, RT_TABLE_MAIN, RTM_DELROUTE, RTM_GETROUTE, RTM_NEWROUTE,
    RTPROT_KUBE_ROUTER, parse_route,
};
use crate::kernel::tunnel::{self, TunnelEncap};
use crate::{info, warn};

const RTM_NEWRULE: u16 = 32;
const RTM_DELRULE: u16 = 33;
const RTM_GETRULE: u16 = 34;
const FRA_TABLE: u16 = 15;
/// How long to wait for the kernel to release kube-router's sets after their rules
/// are gone.
const SET_RELEASE_WAIT: Duration = Duration::from_secs(3);

/// Runs the clean-up. `Err` lists what could not be removed (everything else was).
pub fn run(_cfg: &Config) -> Result<(), String> {
    let mut failed: Vec<String> = Vec::new();
    let mut host = Host::open().map_err(|e| e.to_string())?;
    let mut step = |what: &str, r: Result<String, String>| match r {
        Ok(done) if done.is_empty() => {}
        Ok(done) => info!("cleanup", "{done}"),
        Err(e) => {
            warn!("cleanup", "{what}: {e}");
            failed.push(what.to_string());
        }
    };

    step(
        "pod egress table",
        host.ensure_egress(None)
            .map(Option::unwrap_or_default)
            .map_err(|e| e.to_string()),
    );
    for fam in [NfFamily::Ipv4, NfFamily::Ipv6] {
        step(
            "FORWARD accept rules",
            host.remove_forward(fam)
                .map(|n| {
                    if n == 0 {
                        String::new()
                    } else {
                        format!(
                            "removed {n} accept rule(s) from {} filter FORWARD",
                            fam.name()
                        )
                    }
                })
                .map_err(|e| e.to_string()),
        );
    }
    for v6 in [false, true] {
        step(
            "kube-router's pod egress rules and ipsets",
            kube_router(&mut host, v6),
        );
    }
    let nl = host.netlink();
    // Objects first: the kernel deletes the routes naming them with them (a dumped
    // route naming an object cannot be echoed back as a delete: it also carries the
    // object's gateway and device).
    step(
        "nexthop objects",
        crate::kernel::nexthop::remove_ours(nl)
            .map(|n| count(n, "nexthop object(s) of protocol 17"))
            .map_err(|e| e.to_string()),
    );
    step(
        "protocol-17 routes",
        delete_routes(nl, |t, proto| {
            t == RT_TABLE_MAIN && proto == RTPROT_KUBE_ROUTER
        })
        .map(|n| count(n, "protocol-17 route(s) of the main table"))
        .map_err(|e| e.to_string()),
    );
    let mut gue_ports = BTreeSet::new();
    step(
        "tunnels",
        tunnel::remove_orphans(nl, &BTreeSet::new())
            .map(|gone| {
                for l in &gone {
                    if let Some(t) = l.tunnel {
                        if let (Some(TunnelEncap::Gue { port }), Some(r)) = (t.encap(), t.remote) {
                            gue_ports.insert((port, fou::af_of(r.is_ipv6())));
                        }
                    }
                }
                let names: Vec<&str> = gone.iter().map(|l| l.name.as_str()).collect();
                if names.is_empty() {
                    String::new()
                } else {
                    format!("removed tunnel(s) {}", names.join(", "))
                }
            })
            .map_err(|e| e.to_string()),
    );
    // The GUE receive ports those tunnels used (`--overlay-encap=fou`).
    if !gue_ports.is_empty() {
        step(
            "FoU ports",
            FouPorts::open()
                .and_then(|mut f| {
                    let mut closed = Vec::new();
                    for (port, af) in &gue_ports {
                        if f.remove(*port, *af)? {
                            closed.push(port.to_string());
                        }
                    }
                    Ok(if closed.is_empty() {
                        String::new()
                    } else {
                        format!("closed FoU/GUE port(s) {}", closed.join(", "))
                    })
                })
                .map_err(|e| e.to_string()),
        );
    }
    step(
        "table 77 routes",
        delete_routes(nl, |t, _| t == RT_TABLE_KUBE_ROUTER)
            .map(|n| count(n, "route(s) of table 77"))
            .map_err(|e| e.to_string()),
    );
    step(
        "table 77 rules",
        delete_rules(nl)
            .map(|n| count(n, "rule(s) looking up table 77"))
            .map_err(|e| e.to_string()),
    );
    step(
        "kube-bridge",
        host.delete_unused_bridge()
            .map(|kept| match kept {
                Some(why) => {
                    warn!("cleanup", "kube-bridge kept: {why}");
                    String::new()
                }
                None => String::new(),
            })
            .map_err(|e| e.to_string()),
    );
    if failed.is_empty() {
        info!("cleanup", "done");
        Ok(())
    } else {
        Err(format!("could not remove: {}", failed.join(", ")))
    }
}

fn count(n: usize, what: &str) -> String {
    if n == 0 {
        String::new()
    } else {
        format!("removed {n} {what}")
    }
}

/// kube-router's egress rules and sets of one family; waits briefly for the kernel to
/// release the sets after the rules are gone.
fn kube_router(host: &mut Host, v6: bool) -> Result<String, String> {
    let start = Instant::now();
    let mut done = Vec::new();
    loop {
        let left = host
            .settle_kube_router(v6, &[], &[], &mut done)
            .map_err(|e| e.to_string())?;
        done.retain(|c| !c.contains("still in use"));
        if left.sets.is_empty() {
            return Ok(done.join("; "));
        }
        if start.elapsed() >= SET_RELEASE_WAIT {
            let legacy = !host::legacy_tables(v6).is_empty();
            return Err(format!(
                "ipset(s) {} still in use by a rule kube-bgp cannot see{}; remove kube-router's \
                 MASQUERADE rule from nat POSTROUTING, then `ipset destroy` them",
                left.sets.join(", "),
                if legacy {
                    " (iptables' legacy backend is loaded: use iptables-legacy)"
                } else {
                    ""
                }
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Dumps `kind` messages of both families, keeps those `keep` accepts, and sends each
/// back as `delete` (the kernel deletes exactly what the echoed message describes).
fn echo_delete(
    nl: &mut Netlink,
    what: &'static str,
    dump: u16,
    reply: u16,
    delete: u16,
    header_len: usize,
    keep: &dyn Fn(&[u8]) -> bool,
) -> Result<usize, NetlinkError> {
    let mut found: Vec<Vec<u8>> = Vec::new();
    for fam in [libc::AF_INET as u8, libc::AF_INET6 as u8] {
        let cell = std::cell::RefCell::new(Vec::new());
        nl.dump(
            what,
            &|w: &mut MsgWriter| {
                w.begin(dump, NLM_F_REQUEST);
                let mut h = vec![0u8; header_len];
                h[0] = fam;
                w.raw(&h);
                w.end();
            },
            &mut || cell.borrow_mut().clear(),
            &mut |m| {
                if m.msg_type == reply && keep(m.payload) {
                    cell.borrow_mut().push(m.payload.to_vec());
                }
            },
        )?;
        found.extend(cell.into_inner());
    }
    let failures = nl.batch(found.len(), BatchOptions::default(), &mut |i, w| {
        w.begin(delete, NLM_F_REQUEST | NLM_F_ACK);
        w.raw(&found[i]);
        w.end();
    })?;
    let gone = failures
        .iter()
        .filter(|f| f.error.errno != libc::ESRCH && f.error.errno != libc::ENOENT)
        .count();
    if gone > 0 {
        if let Some(f) = failures.first() {
            return Err(NetlinkError::Dump(what, f.error.clone()));
        }
    }
    Ok(found.len() - failures.len())
}

fn delete_routes(nl: &mut Netlink, keep: impl Fn(u32, u8) -> bool) -> Result<usize, NetlinkError> {
    echo_delete(
        nl,
        "routes",
        RTM_GETROUTE,
        RTM_NEWROUTE,
        RTM_DELROUTE,
        12,
        &|p| parse_route(p).is_some_and(|r| keep(r.table, r.protocol)),
    )
}

/// The table a rule (`struct fib_rule_hdr` + attributes) looks up.
fn rule_table(p: &[u8]) -> Option<u32> {
    let mut table = u32::from(*p.get(4)?);
    for (k, d) in crate::kernel::codec::attrs(p.get(12..)?) {
        if k == FRA_TABLE {
            table = crate::kernel::codec::u32_at(d, 0).unwrap_or(table);
        }
    }
    Some(table)
}

fn delete_rules(nl: &mut Netlink) -> Result<usize, NetlinkError> {
    echo_delete(
        nl,
        "rules",
        RTM_GETRULE,
        RTM_NEWRULE,
        RTM_DELRULE,
        12,
        &|p| rule_table(p) == Some(RT_TABLE_KUBE_ROUTER),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_table_reads_header_and_attribute() {
        let mut p = vec![2, 0, 24, 0, 77, 0, 0, 1, 0, 0, 0, 0];
        assert_eq!(rule_table(&p), Some(77));
        p[4] = 252; // RT_TABLE_COMPAT: the real table is in FRA_TABLE
        p.extend_from_slice(&8u16.to_ne_bytes());
        p.extend_from_slice(&FRA_TABLE.to_ne_bytes());
        p.extend_from_slice(&1000u32.to_ne_bytes());
        assert_eq!(rule_table(&p), Some(1000));
        assert_eq!(rule_table(&p[..3]), None);
    }
}
