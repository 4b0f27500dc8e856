//! Unit tests for the RIB: decision process, import checks, export rules, route
//! reflection, policy, graceful restart and Adj-RIB-Out diffing.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use super::out::messages_for;
use super::*;
use crate::bgp::types::{AsPath, AsSegment, Origin};

const LOCAL_AS: u32 = 65000;

fn cfg(cluster: Option<&str>) -> RibConfig {
    RibConfig {
        router_id: "10.0.0.1".parse().unwrap(),
        cluster_id: cluster.map(|c| c.parse().unwrap()),
    }
}

fn info(n: u8, asn: u32) -> PeerInfo {
    PeerInfo {
        addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, n)),
        remote_asn: asn,
        local_asn: LOCAL_AS,
        router_id: Ipv4Addr::new(1, 1, 1, n),
        ibgp: asn == LOCAL_AS,
        rr_client: false,
        families: vec![Afi::Ipv4, Afi::Ipv6],
        local_addr_v4: Some(Ipv4Addr::new(192, 0, 2, 254)),
        local_addr_v6: Some("2001:db8::fe".parse().unwrap()),
        next_hop_self: false,
    }
}

fn client(n: u8) -> PeerInfo {
    PeerInfo {
        rr_client: true,
        ..info(n, LOCAL_AS)
    }
}

fn attrs(path: &[u32], nh: &str) -> Attrs {
    let mut a = Attrs::default();
    if !path.is_empty() {
        a.as_path = AsPath {
            segments: vec![AsSegment::Sequence(path.to_vec())],
        };
    }
    a.next_hop = Some(nh.parse().unwrap());
    a
}

fn pfx(s: &str) -> Prefix {
    s.parse().unwrap()
}

fn rib(cluster: Option<&str>) -> Rib {
    Rib::new(cfg(cluster), Box::new(AcceptAll))
}

fn up(rib: &mut Rib, info: PeerInfo) -> PeerId {
    let id = rib.add_peer(info.clone());
    rib.peer_up(id, info).unwrap();
    id
}

fn best_peer(rib: &Rib, p: &str) -> Option<PeerId> {
    rib.paths(&pfx(p))
        .first()
        .filter(|x| x.accepted().is_some())
        .map(|x| x.peer())?
}

fn announced(msgs: &[OutMsg]) -> Vec<(Prefix, Arc<Attrs>)> {
    let mut v = Vec::new();
    for m in msgs {
        if let OutMsg::Announce { attrs, prefixes } = m {
            v.extend(prefixes.iter().map(|p| (*p, attrs.clone())));
        }
    }
    v.sort_by_key(|x| x.0);
    v
}

fn withdrawn(msgs: &[OutMsg]) -> Vec<Prefix> {
    let mut v: Vec<Prefix> = msgs
        .iter()
        .flat_map(|m| match m {
            OutMsg::Withdraw { prefixes } => prefixes.clone(),
            _ => Vec::new(),
        })
        .collect();
    v.sort();
    v
}

/// Two peers announce the same prefix; returns which one wins, checking that the
/// result does not depend on arrival order.
fn duel(a: (PeerInfo, Attrs), b: (PeerInfo, Attrs)) -> usize {
    let mut winners = Vec::new();
    for flip in [false, true] {
        let mut r = rib(None);
        let ia = up(&mut r, a.0.clone());
        let ib = up(&mut r, b.0.clone());
        let order = if flip {
            [(ib, b.1.clone()), (ia, a.1.clone())]
        } else {
            [(ia, a.1.clone()), (ib, b.1.clone())]
        };
        for (id, at) in order {
            r.announce(id, at, &[pfx("10.9.0.0/16")]).unwrap();
        }
        let w = best_peer(&r, "10.9.0.0/16").unwrap();
        winners.push(if w == ia { 0 } else { 1 });
    }
    assert_eq!(winners[0], winners[1], "order-dependent result");
    winners[0]
}

#[test]
fn decision_local_pref() {
    let mut hi = attrs(&[], "192.0.2.1");
    hi.local_pref = Some(200);
    let lo = attrs(&[], "192.0.2.2");
    assert_eq!(
        duel((info(1, LOCAL_AS), hi.clone()), (info(2, LOCAL_AS), lo)),
        0
    );
    // LOCAL_PREF from an eBGP peer is ignored (counts as 100): a longer iBGP path
    // with 150 beats it.
    let mut e = attrs(&[65100], "192.0.2.3");
    e.local_pref = Some(300);
    let mut i = attrs(&[65100, 65101], "192.0.2.4");
    i.local_pref = Some(150);
    assert_eq!(duel((info(3, 65100), e), (info(4, LOCAL_AS), i)), 1);
}

#[test]
fn decision_as_path_then_origin() {
    let short = attrs(&[65100], "192.0.2.1");
    let long = attrs(&[65200, 65201], "192.0.2.2");
    assert_eq!(duel((info(1, 65200), long), (info(2, 65100), short)), 1);
    let igp = attrs(&[65100], "192.0.2.1");
    let mut inc = attrs(&[65200], "192.0.2.2");
    inc.origin = Origin::Incomplete;
    assert_eq!(duel((info(1, 65100), inc), (info(2, 65200), igp)), 1);
}

#[test]
fn decision_med_only_same_neighbour_as() {
    // Same neighbouring AS: lower MED wins even though router id is higher.
    let mut a = attrs(&[65100], "192.0.2.1");
    a.med = Some(50);
    let b = attrs(&[65100], "192.0.2.9"); // missing MED = 0
    assert_eq!(duel((info(1, 65100), a.clone()), (info(9, 65100), b)), 1);
    // Different neighbouring AS: MED ignored, lower router id (peer 1) wins.
    let c = attrs(&[65300], "192.0.2.9");
    let mut a2 = a;
    a2.med = Some(500);
    assert_eq!(duel((info(1, 65100), a2), (info(9, 65300), c)), 0);
}

#[test]
fn decision_ebgp_over_ibgp() {
    let e = attrs(&[65100], "192.0.2.9");
    let i = attrs(&[65100], "192.0.2.1");
    assert_eq!(duel((info(1, LOCAL_AS), i), (info(9, 65100), e)), 1);
}

#[test]
fn decision_originator_id_then_cluster_list_then_address() {
    // ORIGINATOR_ID replaces the router id: peer 1 (router id 1.1.1.1) carries a
    // higher ORIGINATOR_ID than peer 9's router id.
    let mut a = attrs(&[], "192.0.2.1");
    a.originator_id = Some("9.9.9.9".parse().unwrap());
    let b = attrs(&[], "192.0.2.9");
    assert_eq!(duel((info(1, LOCAL_AS), a), (info(9, LOCAL_AS), b)), 1);
    // Same originator: shorter CLUSTER_LIST wins.
    let mut c = attrs(&[], "192.0.2.1");
    c.originator_id = Some("5.5.5.5".parse().unwrap());
    c.cluster_list = vec!["7.7.7.7".parse().unwrap(), "8.8.8.8".parse().unwrap()];
    let mut d = c.clone();
    d.cluster_list.truncate(1);
    assert_eq!(
        duel((info(1, LOCAL_AS), c), (info(9, LOCAL_AS), d.clone())),
        1
    );
    // All equal: lowest peer address (same router id on both).
    let p1 = info(1, LOCAL_AS);
    let p9 = PeerInfo {
        router_id: p1.router_id,
        ..info(9, LOCAL_AS)
    };
    assert_eq!(duel((p9, d.clone()), (p1, d)), 1);
}

#[test]
fn local_route_wins_over_learned() {
    let mut r = rib(None);
    let p = up(&mut r, info(1, LOCAL_AS));
    let mut a = attrs(&[], "192.0.2.1");
    a.local_pref = Some(1000);
    r.announce(p, a, &[pfx("10.1.0.0/24")]).unwrap();
    r.originate(pfx("10.1.0.0/24"), attrs(&[], "192.0.2.254"));
    assert_eq!(r.paths(&pfx("10.1.0.0/24"))[0].peer(), None);
    r.withdraw_local(&pfx("10.1.0.0/24"));
    assert_eq!(best_peer(&r, "10.1.0.0/24"), Some(p));
}

#[test]
fn import_loop_checks() {
    let mut r = rib(Some("10.0.0.99"));
    let p = up(&mut r, client(1));
    r.announce(
        p,
        attrs(&[65100, LOCAL_AS], "192.0.2.1"),
        &[pfx("10.1.0.0/24")],
    )
    .unwrap();
    let mut own = attrs(&[], "192.0.2.1");
    own.originator_id = Some("10.0.0.1".parse().unwrap());
    r.announce(p, own, &[pfx("10.2.0.0/24")]).unwrap();
    let mut cl = attrs(&[], "192.0.2.1");
    cl.cluster_list = vec!["10.0.0.99".parse().unwrap()];
    r.announce(p, cl, &[pfx("10.3.0.0/24")]).unwrap();
    r.announce(p, attrs(&[65100], "192.0.2.1"), &[pfx("10.4.0.0/24")])
        .unwrap();
    for bad in ["10.1.0.0/24", "10.2.0.0/24", "10.3.0.0/24"] {
        assert_eq!(best_peer(&r, bad), None, "{bad} must be rejected");
        assert_eq!(r.paths(&pfx(bad)).len(), 1, "kept pre-policy");
    }
    assert_eq!(best_peer(&r, "10.4.0.0/24"), Some(p));
    let c = r.counters(p).unwrap();
    assert_eq!((c.received, c.accepted), (4, 1));
}

#[test]
fn ibgp_split_horizon_and_ebgp_rewrite() {
    let mut r = rib(None);
    let i1 = up(&mut r, info(1, LOCAL_AS));
    let i2 = up(&mut r, info(2, LOCAL_AS));
    let e = up(&mut r, info(3, 65100));
    r.take_out();
    let mut a = attrs(&[65200], "192.0.2.77");
    a.local_pref = Some(250);
    a.med = Some(7);
    a.originator_id = Some("3.3.3.3".parse().unwrap());
    a.cluster_list = vec!["4.4.4.4".parse().unwrap()];
    r.announce(i1, a, &[pfx("10.1.0.0/24")]).unwrap();
    let out = r.take_out();
    assert!(messages_for(&out, i1).is_empty(), "not back to the source");
    assert!(messages_for(&out, i2).is_empty(), "iBGP split horizon");
    let got = announced(&messages_for(&out, e));
    assert_eq!(got.len(), 1);
    let x = &got[0].1;
    assert_eq!(x.as_path.to_string(), "65000 65200");
    assert_eq!(x.next_hop, Some("192.0.2.254".parse().unwrap()));
    assert_eq!(x.local_pref, None);
    assert_eq!(x.med, None, "MED not propagated to another AS");
    assert_eq!(x.originator_id, None);
    assert!(x.cluster_list.is_empty());
    // A local route keeps its MED towards eBGP; an IPv6 one gets our IPv6 next hop.
    let mut l = attrs(&[], "192.0.2.254");
    l.med = Some(9);
    r.originate(pfx("10.5.0.0/24"), l.clone());
    l.next_hop = None;
    r.originate(pfx("2001:db8:5::/48"), l);
    let out = r.take_out();
    let got = announced(&messages_for(&out, e));
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].1.med, Some(9));
    assert_eq!(
        got[1].1.next_hop_for(Afi::Ipv6),
        Some("2001:db8::fe".parse().unwrap())
    );
    // iBGP gets the local routes with LOCAL_PREF 100.
    let got = announced(&messages_for(&out, i2));
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|(_, a)| a.local_pref == Some(100)));
}

#[test]
fn ebgp_local_path_keeps_its_next_hop_unless_next_hop_self() {
    let mut r = rib(None);
    let e = up(&mut r, info(3, 65100));
    let nhs = up(
        &mut r,
        PeerInfo {
            next_hop_self: true,
            ..info(4, 65100)
        },
    );
    r.take_out();
    // Originated with another of our addresses than the session's (192.0.2.254).
    r.originate(pfx("10.5.0.0/24"), attrs(&[], "198.51.100.7"));
    let out = r.take_out();
    let got = announced(&messages_for(&out, e));
    assert_eq!(got[0].1.next_hop, Some("198.51.100.7".parse().unwrap()));
    let got = announced(&messages_for(&out, nhs));
    assert_eq!(got[0].1.next_hop, Some("192.0.2.254".parse().unwrap()));
}

#[test]
fn ebgp_learned_to_ibgp_next_hop_unchanged_or_self() {
    let mut r = rib(None);
    let e = up(&mut r, info(3, 65100));
    let i = up(&mut r, info(1, LOCAL_AS));
    let nhs = up(
        &mut r,
        PeerInfo {
            next_hop_self: true,
            ..info(2, LOCAL_AS)
        },
    );
    r.take_out();
    r.announce(e, attrs(&[65100], "192.0.2.3"), &[pfx("10.1.0.0/24")])
        .unwrap();
    let out = r.take_out();
    let a = announced(&messages_for(&out, i));
    assert_eq!(a[0].1.next_hop, Some("192.0.2.3".parse().unwrap()));
    assert_eq!(a[0].1.local_pref, Some(100));
    let b = announced(&messages_for(&out, nhs));
    assert_eq!(b[0].1.next_hop, Some("192.0.2.254".parse().unwrap()));
}

#[test]
fn route_reflection_matrix() {
    let mut r = rib(Some("10.0.0.99"));
    let c1 = up(&mut r, client(1));
    let c2 = up(&mut r, client(2));
    let n1 = up(&mut r, info(3, LOCAL_AS));
    let n2 = up(&mut r, info(4, LOCAL_AS));
    let e = up(&mut r, info(5, 65100));
    r.take_out();
    let cid: Ipv4Addr = "10.0.0.99".parse().unwrap();

    r.announce(c1, attrs(&[], "192.0.2.1"), &[pfx("10.1.0.0/24")])
        .unwrap();
    let out = r.take_out();
    assert!(
        messages_for(&out, c1).is_empty(),
        "never back to the source"
    );
    for p in [c2, n1, n2] {
        let a = announced(&messages_for(&out, p));
        assert_eq!(a.len(), 1, "{p}");
        assert_eq!(a[0].1.originator_id, Some(Ipv4Addr::new(1, 1, 1, 1)));
        assert_eq!(a[0].1.cluster_list, vec![cid]);
        assert_eq!(a[0].1.next_hop, Some("192.0.2.1".parse().unwrap()));
    }
    assert_eq!(announced(&messages_for(&out, e)).len(), 1);

    r.announce(n1, attrs(&[], "192.0.2.3"), &[pfx("10.3.0.0/24")])
        .unwrap();
    let out = r.take_out();
    assert_eq!(announced(&messages_for(&out, c1)).len(), 1);
    assert_eq!(announced(&messages_for(&out, c2)).len(), 1);
    assert!(messages_for(&out, n1).is_empty());
    assert!(
        messages_for(&out, n2).is_empty(),
        "non-client to non-client"
    );
    assert_eq!(announced(&messages_for(&out, e)).len(), 1);

    r.announce(e, attrs(&[65100], "192.0.2.5"), &[pfx("10.5.0.0/24")])
        .unwrap();
    let out = r.take_out();
    for p in [c1, c2, n1, n2] {
        let a = announced(&messages_for(&out, p));
        assert_eq!(a.len(), 1, "{p}");
        assert_eq!(
            a[0].1.originator_id, None,
            "not reflected, no ORIGINATOR_ID"
        );
        assert!(a[0].1.cluster_list.is_empty());
    }
    assert!(messages_for(&out, e).is_empty());

    // An existing ORIGINATOR_ID is kept, the cluster id is prepended.
    let mut a = attrs(&[], "192.0.2.2");
    a.originator_id = Some("6.6.6.6".parse().unwrap());
    a.cluster_list = vec!["10.0.0.50".parse().unwrap()];
    r.announce(c2, a, &[pfx("10.2.0.0/24")]).unwrap();
    let out = r.take_out();
    let got = announced(&messages_for(&out, c1));
    assert_eq!(got[0].1.originator_id, Some("6.6.6.6".parse().unwrap()));
    assert_eq!(
        got[0].1.cluster_list,
        vec![cid, "10.0.0.50".parse().unwrap()]
    );
}

/// Becoming a reflector (and ceasing to be one) on a running RIB: after
/// `set_cluster_id` + `reevaluate`, routes are reflected or withdrawn as differences,
/// with no peer going down.
#[test]
fn cluster_id_set_and_cleared_in_place() {
    let mut r = rib(None);
    let c1 = up(&mut r, client(1));
    let n1 = up(&mut r, info(3, LOCAL_AS));
    r.take_out();
    r.announce(n1, attrs(&[], "192.0.2.3"), &[pfx("10.3.0.0/24")])
        .unwrap();
    let out = r.take_out();
    assert!(messages_for(&out, c1).is_empty(), "no reflection yet");
    let cid: Ipv4Addr = "0.0.0.42".parse().unwrap();
    r.set_cluster_id(Some(cid));
    r.reevaluate();
    let out = r.take_out();
    let a = announced(&messages_for(&out, c1));
    assert_eq!(a.len(), 1, "reflected once a reflector");
    assert_eq!(a[0].1.cluster_list, vec![cid]);
    assert_eq!(a[0].1.next_hop, Some("192.0.2.3".parse().unwrap()));
    assert!(messages_for(&out, n1).is_empty());
    r.set_cluster_id(None);
    r.reevaluate();
    let out = r.take_out();
    assert_eq!(withdrawn(&messages_for(&out, c1)), vec![pfx("10.3.0.0/24")]);
    assert!(r.is_up(c1) && r.is_up(n1));
}

#[test]
fn reflected_best_moving_between_clients_sends_minimal_changes() {
    let mut r = rib(Some("10.0.0.99"));
    let c1 = up(&mut r, client(1));
    let c2 = up(&mut r, client(2));
    let c3 = up(&mut r, client(3));
    r.take_out();
    // Same attributes from two clients: best is c1 (lower router id).
    let a = attrs(&[], "192.0.2.50");
    r.announce(c2, a.clone(), &[pfx("10.1.0.0/24")]).unwrap();
    r.take_out();
    r.announce(c1, a, &[pfx("10.1.0.0/24")]).unwrap();
    assert_eq!(best_peer(&r, "10.1.0.0/24"), Some(c1));
    let out = r.take_out();
    // c1 had c2's path and now is the source: withdraw; c2 gets c1's path; c3 gets the
    // new ORIGINATOR_ID.
    assert_eq!(withdrawn(&messages_for(&out, c1)), vec![pfx("10.1.0.0/24")]);
    assert!(announced(&messages_for(&out, c1)).is_empty());
    let to2 = announced(&messages_for(&out, c2));
    assert_eq!(to2[0].1.originator_id, Some(Ipv4Addr::new(1, 1, 1, 1)));
    assert_eq!(announced(&messages_for(&out, c3)).len(), 1);
    assert_eq!(r.counters(c1).unwrap().advertised, 0);
    assert_eq!(r.counters(c2).unwrap().advertised, 1);
}

struct TestPolicy {
    reject: Prefix,
    lp: u32,
    no_ebgp: Prefix,
}

impl Policy for TestPolicy {
    fn import(&self, _: &PeerInfo, prefix: &Prefix, attrs: &mut Cow<'_, Attrs>) -> bool {
        if *prefix == self.reject {
            return false;
        }
        attrs.to_mut().local_pref = Some(self.lp);
        true
    }

    fn export(
        &self,
        peer: &PeerInfo,
        prefix: &Prefix,
        src: Source<'_>,
        _: &mut Cow<'_, Attrs>,
    ) -> bool {
        let local = matches!(src, Source::Local);
        if peer.ibgp {
            local
        } else {
            *prefix != self.no_ebgp
        }
    }
}

#[test]
fn policy_accept_reject_modify_and_reevaluate() {
    let mut r = Rib::new(
        cfg(None),
        Box::new(TestPolicy {
            reject: pfx("10.1.0.0/24"),
            lp: 300,
            no_ebgp: pfx("10.9.0.0/24"),
        }),
    );
    let e1 = up(&mut r, info(1, 65100));
    let e2 = up(&mut r, info(2, 65200));
    let i = up(&mut r, info(3, LOCAL_AS));
    r.take_out();
    r.announce(
        e1,
        attrs(&[65100], "192.0.2.1"),
        &[pfx("10.1.0.0/24"), pfx("10.2.0.0/24")],
    )
    .unwrap();
    r.originate(pfx("10.9.0.0/24"), attrs(&[], "192.0.2.254"));
    assert_eq!(best_peer(&r, "10.1.0.0/24"), None);
    let acc = r.paths(&pfx("10.2.0.0/24"))[0].accepted().unwrap().clone();
    assert_eq!(acc.local_pref, Some(300));
    let path = &r.paths(&pfx("10.2.0.0/24"))[0];
    assert_eq!(r.received(&pfx("10.2.0.0/24"), path).local_pref, None);
    let out = r.take_out();
    assert_eq!(
        announced(&messages_for(&out, e2))
            .iter()
            .map(|x| x.0)
            .collect::<Vec<_>>(),
        vec![pfx("10.2.0.0/24")]
    );
    assert_eq!(
        announced(&messages_for(&out, i))
            .iter()
            .map(|x| x.0)
            .collect::<Vec<_>>(),
        vec![pfx("10.9.0.0/24")],
        "learned routes filtered towards iBGP by export policy"
    );

    // New policy: accept 10.1, reject 10.2; the local route may go to eBGP now.
    r.set_policy(Box::new(TestPolicy {
        reject: pfx("10.2.0.0/24"),
        lp: 300,
        no_ebgp: pfx("10.8.0.0/24"),
    }));
    r.reevaluate();
    assert_eq!(best_peer(&r, "10.1.0.0/24"), Some(e1));
    assert_eq!(best_peer(&r, "10.2.0.0/24"), None);
    // Only the accepted path's attributes differ from the received ones.
    assert_eq!(r.received.len(), 1);
    let rejected = &r.paths(&pfx("10.2.0.0/24"))[0];
    assert_eq!(r.received(&pfx("10.2.0.0/24"), rejected).local_pref, None);
    let out = r.take_out();
    let m = messages_for(&out, e2);
    let ann: Vec<Prefix> = announced(&m).iter().map(|x| x.0).collect();
    assert_eq!(ann, vec![pfx("10.1.0.0/24"), pfx("10.9.0.0/24")]);
    assert_eq!(withdrawn(&m), vec![pfx("10.2.0.0/24")]);
    assert!(messages_for(&out, i).is_empty(), "nothing changed for iBGP");
    let changes = r.take_best_changes();
    assert!(
        changes
            .iter()
            .any(|(p, b)| *p == pfx("10.2.0.0/24") && b.is_none())
    );
    // Re-evaluating an unchanged policy sends nothing.
    r.reevaluate();
    assert!(r.take_out().is_empty());
}

/// LOCAL_PREF from an eBGP peer is dropped on import; the received attributes are kept
/// beside the path (for re-evaluation and the Adj-RIB-In) only while they differ.
#[test]
fn ebgp_local_pref_kept_pre_policy() {
    let mut r = rib(None);
    let e = up(&mut r, info(1, 65100));
    let i = up(&mut r, info(2, LOCAL_AS));
    r.take_out();
    let mut a = attrs(&[65100], "192.0.2.1");
    a.local_pref = Some(300);
    let (p1, p2, p3) = (pfx("10.1.0.0/24"), pfx("10.2.0.0/24"), pfx("10.3.0.0/24"));
    r.announce(e, a.clone(), &[p1, p2]).unwrap();
    // A looped path is rejected and keeps what was received, without a side copy.
    r.announce(e, attrs(&[65100, LOCAL_AS], "192.0.2.1"), &[p3])
        .unwrap();
    let path = &r.paths(&p1)[0];
    assert_eq!(path.accepted().unwrap().local_pref, None);
    assert_eq!(r.received(&p1, path).local_pref, Some(300));
    let looped = &r.paths(&p3)[0];
    assert!(looped.accepted().is_none());
    assert_eq!(r.received(&p3, looped).as_path.path_len(), 2);
    assert_eq!(r.received.len(), 2);
    let got = announced(&messages_for(&r.take_out(), i));
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].1.local_pref, Some(100), "ours, not the peer's");

    // Re-evaluation starts from the received attributes and keeps them.
    r.reevaluate();
    assert!(r.take_out().is_empty());
    assert_eq!(r.received.len(), 2);
    assert_eq!(r.received(&p2, &r.paths(&p2)[0]).local_pref, Some(300));
    let c = r.counters(e).unwrap();
    assert_eq!((c.received, c.accepted), (3, 2));

    // Replaced by a path import leaves alone, withdrawn, swept: the copy goes.
    r.announce(e, attrs(&[65100], "192.0.2.1"), &[p1]).unwrap();
    assert_eq!(r.received.len(), 1);
    let path = &r.paths(&p1)[0];
    assert!(Arc::ptr_eq(r.received(&p1, path), path.accepted().unwrap()));
    r.withdraw(e, &[p2]).unwrap();
    assert!(r.received.is_empty());
    r.announce(e, a, &[p2]).unwrap();
    let in_e: Vec<(Prefix, Option<u32>)> = r
        .adj_rib_in(e)
        .map(|(p, path)| (p, r.received(&p, path).local_pref))
        .collect();
    assert_eq!(in_e.len(), 3);
    assert!(in_e.contains(&(p2, Some(300))));
    assert!(in_e.contains(&(p1, None)));
    r.peer_down(e, false).unwrap();
    assert!(r.received.is_empty());
    assert!(r.paths(&p2).is_empty());
}

#[test]
fn graceful_restart_stale_and_sweep() {
    let mut r = rib(None);
    let e = up(&mut r, info(1, 65100));
    let i = up(&mut r, info(2, LOCAL_AS));
    let a = attrs(&[65100], "192.0.2.1");
    let (p1, p2, p6) = (
        pfx("10.1.0.0/24"),
        pfx("10.2.0.0/24"),
        pfx("2001:db8:1::/48"),
    );
    r.announce(e, a.clone(), &[p1, p2]).unwrap();
    let mut a6 = a.clone();
    a6.set_next_hop(Afi::Ipv6, "2001:db8::1".parse().unwrap(), None);
    r.announce(e, a6, &[p6]).unwrap();
    assert_eq!(announced(&messages_for(&r.take_out(), i)).len(), 3);
    r.take_best_changes();
    r.peer_down(e, true).unwrap();
    assert!(r.paths(&p1)[0].is_stale());
    assert_eq!(
        best_peer(&r, "10.1.0.0/24"),
        Some(e),
        "stale paths still used"
    );
    assert!(r.take_out().is_empty(), "nothing withdrawn during restart");
    assert!(r.take_best_changes().is_empty());
    r.peer_up(e, info(1, 65100)).unwrap();
    r.announce(e, a, &[p1]).unwrap();
    assert!(!r.paths(&p1)[0].is_stale());
    r.end_of_rib(e, Afi::Ipv4).unwrap();
    assert!(r.paths(&p2).is_empty(), "stale IPv4 path swept");
    assert!(
        r.paths(&p6)[0].is_stale(),
        "IPv6 waits for its own End-of-RIB"
    );
    let out = r.take_out();
    assert_eq!(withdrawn(&messages_for(&out, i)), vec![p2]);
    assert!(announced(&messages_for(&out, i)).is_empty(), "p1 unchanged");
    r.stale_timeout(e).unwrap();
    assert!(r.paths(&p6).is_empty());
    let out = r.take_out();
    assert_eq!(withdrawn(&messages_for(&out, i)), vec![p6]);
}

#[test]
fn adj_rib_out_diffing() {
    let mut r = rib(None);
    let e = up(&mut r, info(1, 65100));
    let i = up(&mut r, info(2, LOCAL_AS));
    r.take_out();
    let a = attrs(&[65100], "192.0.2.1");
    let p = pfx("10.1.0.0/24");
    r.announce(e, a.clone(), &[p]).unwrap();
    assert_eq!(announced(&messages_for(&r.take_out(), i)).len(), 1);
    r.announce(e, a.clone(), &[p]).unwrap();
    assert!(r.take_out().is_empty(), "duplicate announcement suppressed");
    r.withdraw(e, &[p]).unwrap();
    r.announce(e, a.clone(), &[p]).unwrap();
    assert!(
        r.take_out().is_empty(),
        "flap back to the same state sends nothing"
    );
    // A prefix that was never sent is not withdrawn.
    let q = pfx("10.2.0.0/24");
    r.announce(e, a.clone(), &[q]).unwrap();
    r.withdraw(e, &[q]).unwrap();
    assert!(r.take_out().is_empty());
    // Changed attributes: one announcement with the new set.
    let mut b = a;
    b.med = Some(1);
    r.announce(e, b, &[p]).unwrap();
    let got = announced(&messages_for(&r.take_out(), i));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1.med, Some(1));
    r.withdraw(e, &[p]).unwrap();
    assert_eq!(withdrawn(&messages_for(&r.take_out(), i)), vec![p]);
    assert_eq!(
        r.prefix_count(),
        2,
        "kept until the best-path change is taken"
    );
    r.take_best_changes();
    assert_eq!(r.prefix_count(), 0, "unused prefixes are freed");
}

/// The group of `id`.
fn group_of(r: &Rib, id: PeerId) -> &out::UpdateGroup {
    let gi = r.slot(id).and_then(|s| s.group).unwrap();
    r.groups[gi].as_ref().unwrap()
}

/// An update group's Adj-RIB-Out turns dense when most prefixes are exported and
/// sparse again when few are; what peers are sent does not change with it.
#[test]
fn adj_rib_out_sparse_and_dense() {
    let mut r = rib(None);
    let e = up(&mut r, info(1, 65100));
    let i = up(&mut r, info(2, LOCAL_AS));
    r.take_out();
    assert!(!group_of(&r, i).slots.is_dense());
    let all: Vec<Prefix> = (0..1000u32)
        .map(|n| Prefix::V4(Ipv4Addr::from(0x0a00_0000 + (n << 8)), 24))
        .collect();
    let a = attrs(&[65100], "192.0.2.1");
    r.announce(e, a.clone(), &all[..40]).unwrap();
    assert_eq!(announced(&messages_for(&r.take_out(), i)).len(), 40);
    assert!(!group_of(&r, i).slots.is_dense(), "40 of 40 ids, but few");
    r.announce(e, a.clone(), &all[40..]).unwrap();
    assert_eq!(announced(&messages_for(&r.take_out(), i)).len(), 960);
    assert!(group_of(&r, i).slots.is_dense());
    assert_eq!(r.counters(i).unwrap().advertised, 1000);

    // Withdraw all but ten (spread over the ids): sparse again.
    let keep: Vec<Prefix> = all.iter().step_by(100).copied().collect();
    let gone: Vec<Prefix> = all.iter().filter(|p| !keep.contains(p)).copied().collect();
    r.withdraw(e, &gone).unwrap();
    assert_eq!(withdrawn(&messages_for(&r.take_out(), i)), gone);
    r.take_best_changes();
    assert!(!group_of(&r, i).slots.is_dense());
    assert_eq!(r.counters(i).unwrap().advertised, 10);
    assert_eq!(r.prefix_count(), 10);

    // A joiner gets the ten in id order, then End-of-RIB.
    let i2 = up(&mut r, info(3, LOCAL_AS));
    let m = messages_for(&r.take_out(), i2);
    match &m[0] {
        OutMsg::Announce { prefixes, .. } => assert_eq!(prefixes, &keep),
        other => panic!("{other:?}"),
    }
    assert_eq!(m.len(), 3);
    // A mover gets only the differences, and the dense store serves it as well.
    r.announce(e, a, &gone).unwrap();
    r.take_out();
    assert!(group_of(&r, i).slots.is_dense());
    let nhs = PeerInfo {
        next_hop_self: true,
        ..info(3, LOCAL_AS)
    };
    r.update_peer(i2, nhs).unwrap();
    let m = messages_for(&r.take_out(), i2);
    let got = announced(&m);
    assert_eq!(got.len(), 1000);
    assert!(withdrawn(&m).is_empty());
    assert!(got.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(r.counters(i2).unwrap().advertised, 1000);
}

#[test]
fn peer_up_gets_full_table_then_end_of_rib() {
    let mut r = rib(None);
    let e = up(&mut r, info(1, 65100));
    r.announce(
        e,
        attrs(&[65100], "192.0.2.1"),
        &[pfx("10.1.0.0/24"), pfx("10.2.0.0/24")],
    )
    .unwrap();
    r.originate(pfx("10.3.0.0/24"), attrs(&[], "192.0.2.254"));
    r.take_out();
    let i = up(&mut r, info(2, LOCAL_AS));
    let m = messages_for(&r.take_out(), i);
    assert_eq!(announced(&m).len(), 3);
    assert_eq!(
        &m[m.len() - 2..],
        &[OutMsg::EndOfRib(Afi::Ipv4), OutMsg::EndOfRib(Afi::Ipv6)]
    );
    // Another peer of the same class joining later also gets the table; the first
    // gets nothing again.
    let i2 = up(&mut r, info(3, LOCAL_AS));
    let out = r.take_out();
    assert!(messages_for(&out, i).is_empty());
    assert_eq!(announced(&messages_for(&out, i2)).len(), 3);
    assert_eq!(r.counters(i2).unwrap().advertised, 3);
    // The source peer reconnecting does not get its own routes back.
    r.peer_down(e, true).unwrap();
    r.peer_up(e, info(1, 65100)).unwrap();
    let m = messages_for(&r.take_out(), e);
    assert_eq!(announced(&m).len(), 1);
}

#[test]
fn peer_removal_withdraws_its_routes() {
    let mut r = rib(None);
    let e = up(&mut r, info(1, 65100));
    let i = up(&mut r, info(2, LOCAL_AS));
    r.announce(e, attrs(&[65100], "192.0.2.1"), &[pfx("10.1.0.0/24")])
        .unwrap();
    r.take_out();
    r.take_best_changes();
    r.remove_peer(e).unwrap();
    assert_eq!(
        withdrawn(&messages_for(&r.take_out(), i)),
        vec![pfx("10.1.0.0/24")]
    );
    assert_eq!(r.take_best_changes(), vec![(pfx("10.1.0.0/24"), None)]);
    assert!(r.peer(e).is_none());
    assert_eq!(
        r.announce(e, Attrs::default(), &[]),
        Err(RibError::UnknownPeer(e))
    );
}

#[test]
fn best_changes_coalesced_and_chunked() {
    let mut r = rib(None);
    let e = up(&mut r, info(1, 65100));
    let ps: Vec<Prefix> = (0..10u8).map(|n| pfx(&format!("10.{n}.0.0/16"))).collect();
    r.announce(e, attrs(&[65100], "192.0.2.1"), &ps).unwrap();
    r.announce(e, attrs(&[65100, 65101], "192.0.2.1"), &ps)
        .unwrap();
    let first = r.take_best_changes_max(4);
    assert_eq!(first.len(), 4);
    let rest = r.take_best_changes();
    assert_eq!(rest.len(), 6);
    let b = first[0].1.as_ref().unwrap();
    assert_eq!(b.next_hop, IpAddr::V4("192.0.2.1".parse().unwrap()));
    assert_eq!(b.peer, Some(e));
    assert_eq!(b.attrs.as_path.path_len(), 2);
    assert!(r.take_best_changes().is_empty());
    assert_eq!(r.loc_rib().count(), 10);
    assert_eq!(r.adj_rib_in(e).count(), 10);
}

#[test]
fn peer_settings_change_sends_differences_only() {
    let mut r = rib(None);
    let e = up(&mut r, info(1, 65100));
    let i = up(&mut r, info(2, LOCAL_AS));
    r.announce(e, attrs(&[65100], "192.0.2.1"), &[pfx("10.1.0.0/24")])
        .unwrap();
    r.originate(pfx("10.3.0.0/24"), attrs(&[], "192.0.2.254"));
    r.take_out();
    let nhs = PeerInfo {
        next_hop_self: true,
        ..info(2, LOCAL_AS)
    };
    r.update_peer(i, nhs).unwrap();
    let m = messages_for(&r.take_out(), i);
    let got = announced(&m);
    assert_eq!(got.len(), 1, "only the learned route changes next hop");
    assert_eq!(got[0].1.next_hop, Some("192.0.2.254".parse().unwrap()));
    assert!(withdrawn(&m).is_empty());
    r.resend(i);
    assert_eq!(announced(&messages_for(&r.take_out(), i)).len(), 2);
}

#[test]
fn apply_update_and_errors() {
    let mut r = rib(None);
    let id = r.add_peer(info(1, 65100));
    let u = Update {
        announced: vec![pfx("10.1.0.0/24")],
        attrs: Some(attrs(&[65100], "192.0.2.1")),
        ..Update::default()
    };
    assert_eq!(r.apply_update(id, u.clone()), Err(RibError::PeerNotUp(id)));
    r.peer_up(id, info(1, 65100)).unwrap();
    r.apply_update(id, u).unwrap();
    let bad = Update {
        announced: vec![pfx("10.2.0.0/24")],
        ..Update::default()
    };
    assert_eq!(r.apply_update(id, bad), Err(RibError::MissingAttrs(id)));
    let w = Update {
        withdrawn: vec![pfx("10.1.0.0/24")],
        ..Update::default()
    };
    r.apply_update(id, w).unwrap();
    assert!(r.paths(&pfx("10.1.0.0/24")).is_empty());
}

fn vm(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        .unwrap_or(0)
}

/// Ingest of 1M IPv4 prefixes from one peer sharing one attribute set, with one
/// iBGP peer to export to. Run: `cargo test --release --lib rib::tests::ingest_1m --
/// --ignored --nocapture`.
#[test]
#[ignore]
fn ingest_1m() {
    let mut r = rib(None);
    let src = up(&mut r, info(1, 65100));
    let dst = up(&mut r, info(2, LOCAL_AS));
    r.take_out();
    let a = attrs(&[65100, 65101, 65102], "192.0.2.1");
    let t0 = std::time::Instant::now();
    let mut chunk = Vec::with_capacity(1000);
    for n in 0..1_000_000u32 {
        chunk.push(Prefix::V4(Ipv4Addr::from(0x0b00_0000 + (n << 4)), 28));
        if chunk.len() == 1000 {
            r.announce(src, a.clone(), &chunk).unwrap();
            chunk.clear();
        }
    }
    let t_in = t0.elapsed();
    let hwm_in = vm("VmHWM");
    let mut best = 0;
    loop {
        let c = r.take_best_changes_max(4096);
        best += c.len();
        if c.len() < 4096 {
            break;
        }
    }
    let t_best = t0.elapsed();
    let hwm_best = vm("VmHWM");
    let mut sent = 0;
    while r.has_out() {
        let out = r.take_out_max(65_536);
        sent += out
            .iter()
            .filter(|b| b.peers.contains(&dst) && b.except != Some(dst))
            .flat_map(|b| &b.msgs)
            .map(|m| match m {
                OutMsg::Announce { prefixes, .. } => prefixes.len(),
                _ => 0,
            })
            .sum::<usize>();
    }
    let t_out = t0.elapsed();
    let hwm_out = vm("VmHWM");
    eprintln!(
        "ingest 1M: rib {t_in:?} (VmHWM {hwm_in} kB), +best changes {t_best:?} \
         ({hwm_best} kB), +adj-rib-out {t_out:?} ({hwm_out} kB); now VmRSS {} kB",
        vm("VmRSS")
    );
    assert_eq!(r.prefix_count(), 1_000_000);
    assert_eq!(best, 1_000_000);
    assert_eq!(sent, 1_000_000);
}

/// Route reflector with 1000 clients × one /24 each, all established before the routes
/// arrive. Run: `cargo test --release --lib rib::tests::reflect_1000 -- --ignored
/// --nocapture`.
#[test]
#[ignore]
fn reflect_1000_clients() {
    let mut r = rib(Some("10.0.0.99"));
    let ids: Vec<PeerId> = (0..1000u32)
        .map(|n| {
            let mut c = client(0);
            c.addr = IpAddr::V4(Ipv4Addr::from(0x0a01_0000 + n));
            c.router_id = Ipv4Addr::from(0x0a01_0000 + n);
            c.families = vec![Afi::Ipv4];
            up(&mut r, c)
        })
        .collect();
    r.take_out();
    let t0 = std::time::Instant::now();
    for (n, &id) in ids.iter().enumerate() {
        let p = Prefix::V4(Ipv4Addr::from(0x0a80_0000 + ((n as u32) << 8)), 24);
        let nh = Ipv4Addr::from(0x0a01_0000 + n as u32).to_string();
        r.announce(id, attrs(&[], &nh), &[p]).unwrap();
    }
    let out = r.take_out();
    let t = t0.elapsed();
    // Each client gets the 999 routes of the others.
    let mut total = 0;
    for b in &out {
        let n: usize = b
            .msgs
            .iter()
            .map(|m| match m {
                OutMsg::Announce { prefixes, .. } => prefixes.len(),
                _ => 0,
            })
            .sum();
        let recipients =
            b.peers.len() - usize::from(b.except.is_some_and(|e| b.peers.contains(&e)));
        total += n * recipients;
    }
    eprintln!(
        "reflect 1000x1: {t:?}, {} batches, VmHWM {} kB",
        out.len(),
        vm("VmHWM")
    );
    assert_eq!(total, 1000 * 999);
    assert_eq!(r.counters(ids[0]).unwrap().advertised, 999);
}

/// The change list's scan (in either order) hands every marked id over exactly once
/// per mark: ids marked ahead of and behind the scan position, ids made after the scan
/// started, and a full re-mark.
#[test]
fn dirty_scan_hands_every_marked_id_over_once() {
    dirty_scan_case(ScanOrder::BitReversed);
    dirty_scan_case(ScanOrder::Id);
}

fn dirty_scan_case(order: ScanOrder) {
    let mut d = Dirty::default();
    use std::collections::BTreeSet;
    let mut t = table::Table::default();
    let p = |i: u32| Prefix::V4(Ipv4Addr::from(0x1000_0000 + (i << 8)), 24);
    for i in 0..100_000 {
        t.get_or_insert(p(i));
    }
    // Ids marked and not yet handed over.
    let mut owed = BTreeSet::new();
    // Mark like `Rib::mark`: set the flag, queue only when it was clear.
    let mark = |t: &mut table::Table, d: &mut Dirty, owed: &mut BTreeSet<u32>, id: u32| {
        let e = t.entry_mut(id).expect("entry");
        if e.flags() & F_BEST == 0 {
            e.add_flags(F_BEST);
            let (len, limit) = (t.len(), t.id_limit());
            d.mark(id, len, limit);
        }
        owed.insert(id);
    };
    let take = |t: &mut table::Table, d: &mut Dirty, owed: &mut BTreeSet<u32>, n: usize| {
        let got = d.drain(t, F_BEST, n, order);
        for id in &got {
            assert!(owed.remove(id), "id {id} handed over without a mark");
        }
        got
    };
    for id in 0..90_000 {
        mark(&mut t, &mut d, &mut owed, id);
    }
    assert!(d.scan, "a large change set is scanned");
    let first = take(&mut t, &mut d, &mut owed, 1000);
    // Scattered: spread over the id space, not the first thousand ids.
    let spread = first.iter().any(|&i| i > 60_000) && first.iter().any(|&i| i < 1000);
    assert_eq!(spread, order == ScanOrder::BitReversed);
    // Marks during the scan: some behind the cursor, some ahead, and new ids.
    for id in (0..100_000).step_by(7) {
        mark(&mut t, &mut d, &mut owed, id);
    }
    for i in 200_000..200_100 {
        let id = t.get_or_insert(p(i));
        mark(&mut t, &mut d, &mut owed, id);
    }
    let mut rounds = 0;
    while !d.is_empty() {
        take(&mut t, &mut d, &mut owed, 5000);
        rounds += 1;
        assert!(rounds < 1000);
    }
    assert!(owed.is_empty(), "{} ids never handed over", owed.len());
}

/// Imports everything, exports nothing (kube-bgp towards an external peer that is sent
/// only pod CIDRs and service IPs, none of which exist here).
struct ExportNothing;

impl Policy for ExportNothing {
    fn export(&self, _: &PeerInfo, _: &Prefix, _: Source<'_>, _: &mut Cow<'_, Attrs>) -> bool {
        false
    }
}

/// `n` IPv4 /24 prefixes sharing one attribute set from one established eBGP peer, with
/// an eBGP export group that exports nothing; best changes and exports drained.
fn load_ebgp(n: u32) -> Rib {
    let mut r = Rib::new(cfg(None), Box::new(ExportNothing));
    let src = up(&mut r, info(1, 65100));
    let _dst = up(&mut r, info(2, 65200));
    r.take_out();
    let a = attrs(&[65100, 65101, 65102], "192.0.2.1");
    let t0 = std::time::Instant::now();
    let mut chunk = Vec::with_capacity(1000);
    for i in 0..n {
        chunk.push(Prefix::V4(Ipv4Addr::from(0x0100_0000 + (i << 8)), 24));
        if chunk.len() == 1000 || i + 1 == n {
            r.announce(src, a.clone(), &chunk).unwrap();
            chunk.clear();
        }
    }
    let t_in = t0.elapsed();
    while r.take_best_changed(65_536, ScanOrder::Id).len() == 65_536 {}
    let t_best = t0.elapsed();
    while r.has_out() {
        assert!(r.take_out_max(65_536).is_empty(), "nothing is exported");
    }
    eprintln!(
        "load {n} from eBGP: announce {t_in:?}, +best changed {t_best:?}, +take_out {:?}",
        t0.elapsed()
    );
    assert_eq!(r.prefix_count(), n as usize);
    r
}

fn heap_report(r: &Rib, n: u32) -> f64 {
    let total = r.heap_bytes();
    let per = total as f64 / f64::from(n);
    eprintln!(
        "rib heap for {n} prefixes: {total} bytes ({per:.1} per prefix): {:?}",
        r.heap_parts()
    );
    per
}

#[test]
fn heap_per_prefix_100k() {
    let n = 100_000;
    let r = load_ebgp(n);
    let per = heap_report(&r, n);
    // 24-byte entries and 8-byte index slots (at most 4/5 full, doubled when growing),
    // nothing per prefix in a group that exports nothing.
    assert!(per <= 45.0, "{per:.1} bytes per prefix");
}

/// The benchmark's shape: 1M /24s from one eBGP peer (a few seconds in a debug build).
/// See the numbers: `cargo test --lib rib::tests::heap_1m -- --nocapture`.
#[test]
fn heap_1m() {
    let n = 1_000_000;
    let r = load_ebgp(n);
    heap_report(&r, n);
    assert!(r.heap_bytes() <= 45_000_000, "{} bytes", r.heap_bytes());
}

/// Exports local paths only (`exports_learned` false): learned paths never reach the
/// group, without the export rules running for them; a policy change that allows them
/// sends them after re-evaluation.
struct LocalOnly(bool);

impl Policy for LocalOnly {
    fn exports_learned(&self, _: &PeerInfo) -> bool {
        self.0
    }
}

#[test]
fn groups_that_take_no_learned_paths_get_only_local_ones() {
    let mut r = Rib::new(cfg(None), Box::new(LocalOnly(false)));
    let src = up(&mut r, info(1, 65001));
    let to = up(&mut r, info(2, 65002));
    r.take_out();
    r.announce(src, attrs(&[65001], "192.0.2.1"), &[pfx("10.1.0.0/24")])
        .unwrap();
    r.originate(pfx("10.244.0.0/24"), attrs(&[], "192.0.2.254"));
    let out = r.take_out();
    let to_peer: Vec<Prefix> = announced(&messages_for(&out, to))
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(to_peer, vec![pfx("10.244.0.0/24")]);
    assert_eq!(r.counters(to).unwrap().advertised, 1);
    // Now learned paths may go: re-evaluation sends the learned one.
    r.set_policy(Box::new(LocalOnly(true)));
    r.reevaluate();
    let out = r.take_out();
    let more: Vec<Prefix> = announced(&messages_for(&out, to))
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(more, vec![pfx("10.1.0.0/24")]);
    assert_eq!(r.counters(to).unwrap().advertised, 2);
}

/// `explain_best` names the decision step the daemon's selection used, for each loser.
#[test]
fn explain_best_names_the_deciding_step() {
    let mut r = rib(None);
    let a = up(&mut r, info(1, 65001));
    let b = up(&mut r, info(2, 65002));
    let c = up(&mut r, info(3, LOCAL_AS));
    let p = pfx("10.9.0.0/16");
    r.announce(a, attrs(&[65001], "192.0.2.1"), &[p]).unwrap();
    r.announce(b, attrs(&[65002, 65009], "192.0.2.2"), &[p])
        .unwrap();
    let mut lp = attrs(&[65003], "192.0.2.3");
    lp.local_pref = Some(50);
    r.announce(c, lp, &[p]).unwrap();
    let paths = r.paths(&p);
    assert_eq!(paths[0].peer(), Some(a));
    let steps = r.explain_best(&p);
    let by_peer: Vec<(Option<PeerId>, Option<BestStep>)> =
        paths.iter().map(|x| x.peer()).zip(steps).collect();
    assert!(by_peer.contains(&(Some(a), None)));
    assert!(by_peer.contains(&(Some(b), Some(BestStep::AsPathLength))));
    assert!(by_peer.contains(&(Some(c), Some(BestStep::LocalPref))));
    // A local path beats everything at the "locally originated" step.
    r.originate(p, attrs(&[], "192.0.2.254"));
    let steps = r.explain_best(&p);
    assert_eq!(steps.len(), 4);
    assert!(steps[1..].iter().all(|s| *s == Some(BestStep::Local)));
    assert!(BestStep::Med.to_string().contains("MED"));
}

/// The loop checks say which loop; `explain_export` gives the RIB's export rule that
/// stopped a prefix, and the attributes actually sent when it went out.
#[test]
fn import_loops_and_export_blocks_have_reasons() {
    let mut r = rib(None);
    let ext = up(&mut r, info(1, 65001));
    let ib1 = up(&mut r, info(2, LOCAL_AS));
    let ib2 = up(&mut r, info(3, LOCAL_AS));
    assert_eq!(
        r.import_loop(ext, &attrs(&[65001, LOCAL_AS], "192.0.2.1")),
        Err(ImportLoop::AsPath(LOCAL_AS))
    );
    let mut orig = attrs(&[], "192.0.2.2");
    orig.originator_id = Some("10.0.0.1".parse().unwrap());
    assert_eq!(r.import_loop(ib1, &orig), Err(ImportLoop::OriginatorId));
    assert_eq!(r.import_loop(ib1, &attrs(&[], "192.0.2.2")), Ok(()));
    // An iBGP-learned prefix: sent to the eBGP peer, not to the other iBGP peer (no
    // reflection), and nothing back to its source.
    let p = pfx("10.20.0.0/16");
    r.announce(ib1, attrs(&[], "192.0.2.2"), &[p]).unwrap();
    r.take_out();
    let to_ext = r.explain_export(ext, &p);
    let sent = to_ext.sent.expect("sent to the eBGP peer");
    assert_eq!(sent.as_path.to_string(), LOCAL_AS.to_string());
    assert!(to_ext.decision.is_ok() && !to_ext.pending);
    assert_eq!(
        r.explain_export(ib2, &p).decision.err(),
        Some(ExportBlock::IbgpSplitHorizon)
    );
    assert!(r.explain_export(ib2, &p).sent.is_none());
    assert_eq!(
        r.explain_export(ib1, &p).decision.err(),
        Some(ExportBlock::FromThisPeer)
    );
    // NO_EXPORT keeps it from the eBGP peer; a prefix nobody has: no best path.
    let mut ne = attrs(&[], "192.0.2.2");
    ne.communities.push(crate::bgp::types::community::NO_EXPORT);
    let q = pfx("10.21.0.0/16");
    r.announce(ib1, ne, &[q]).unwrap();
    assert!(r.explain_export(ext, &q).pending, "not flushed yet");
    r.take_out();
    assert_eq!(
        r.explain_export(ext, &q).decision.err(),
        Some(ExportBlock::NoExport)
    );
    assert_eq!(
        r.explain_export(ext, &pfx("10.99.0.0/16")).decision.err(),
        Some(ExportBlock::NoBestPath)
    );
    // A peer that is down.
    r.peer_down(ext, false).unwrap();
    assert_eq!(
        r.explain_export(ext, &p).decision.err(),
        Some(ExportBlock::PeerDown)
    );
}
