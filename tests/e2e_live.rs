//! End-to-end tests of live changes (D1, issue 5 items 9 and 10) on a running lab: a
//! bad annotation on one node while the others keep routing, a Node deleted from the
//! API, a node added, and annotations changed without restarting kube-bgp. Every test
//! checks that sessions not concerned by the change were not reset (their
//! `established_transitions` count is unchanged) and prints how long each change took
//! to show; the bounds are generous, the printed times are the measurement.
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::lab::checks::{available, set, timed};
use common::lab::{Lab, LabConfig};
use common::routers::{RouterDaemon, SessionState};

/// First convergence (lab start, sessions, routes) on a loaded 2-core machine.
const UP: Duration = Duration::from_secs(40);
/// A live change: it should take well under a second; this is only the bound.
const CHANGE: Duration = Duration::from_secs(10);

/// `nodes` without `i`.
fn others(nodes: &[usize], i: usize) -> Vec<usize> {
    nodes.iter().copied().filter(|&j| j != i).collect()
}

/// Fails unless every session in `before[i]` whose address is still in `keep` has the
/// same `established_transitions` now (it was not reset).
fn expect_not_reset(
    lab: &Lab,
    before: &BTreeMap<usize, BTreeMap<String, u64>>,
    keep: &BTreeSet<String>,
    what: &str,
) {
    for (&i, sessions) in before {
        let now = lab.transitions(i);
        for (addr, n) in sessions.iter().filter(|(a, _)| keep.contains(*a)) {
            lab.check(
                now.get(addr) == Some(n),
                &format!(
                    "{what}: node{}'s session with {addr} was reset or dropped: {n} -> {:?}",
                    i + 1,
                    now.get(addr)
                ),
            );
        }
    }
}

fn transitions_of(lab: &Lab, nodes: &[usize]) -> BTreeMap<usize, BTreeMap<String, u64>> {
    nodes.iter().map(|&i| (i, lab.transitions(i))).collect()
}

/// Scenario 8 (issue 5 item 10): four nodes in full mesh, node1 also with its own router
/// from peer annotations. A bad `rr.client=notanid` on node3 is logged once on every
/// node as `node node3: kube-router.io/rr.client: ...notanid...`, takes node3 out of the
/// mesh and nothing else; removing it heals the mesh. Then `peer.asns=0x10` on node1
/// is logged once, drops only node1's router session, and fixing it restores it.
#[test]
fn bad_annotation_costs_only_its_part() {
    let test = "bad_annotation_costs_only_its_part";
    if !available(test, &[RouterDaemon::Bird]) {
        return;
    }
    let mut lab = Lab::new("e2ba", LabConfig::new(4).routers(1));
    let cfg = lab.router_config(0, 65000, 64512, None);
    lab.start_router(0, RouterDaemon::Bird, cfg);
    let r = lab.router(0).ipv4.clone();
    let all = [0, 1, 2, 3];
    for i in all {
        lab.start_kube_bgp(i, &[]);
    }
    lab.kubectl_ok(&[
        "annotate",
        "node",
        "node1",
        &format!("kube-router.io/peer.ips={r}"),
        "kube-router.io/peer.asns=65000",
    ]);
    let mesh = |lab: &Lab, i: usize| {
        let mut w = lab.ips(&others(&all, i));
        if i == 0 {
            w.insert(r.clone());
        }
        w
    };
    for i in all {
        lab.expect_peers(i, &mesh(&lab, i), UP);
    }

    // A bad RR annotation on node3.
    let survivors = [0, 1, 3];
    let before = transitions_of(&lab, &survivors);
    let t0 = Instant::now();
    lab.kubectl_ok(&[
        "annotate",
        "node",
        "node3",
        "kube-router.io/rr.client=notanid",
    ]);
    let needle = ["node node3: kube-router.io/rr.client:", "notanid"];
    for i in all {
        let took = timed(CHANGE, || !lab.log_lines(i, &needle).is_empty());
        lab.check(
            took.is_some(),
            &format!("node{} did not log the problem", i + 1),
        );
    }
    let n3 = lab.node(2).ipv4.clone();
    for i in survivors {
        let mut want = mesh(&lab, i);
        want.remove(&n3);
        lab.expect_peers(i, &want, CHANGE);
    }
    lab.expect_peers(2, &BTreeSet::new(), CHANGE);
    eprintln!(
        "{test}: rr.client=notanid on node3 applied everywhere {:?} after kubectl",
        t0.elapsed()
    );
    let keep: BTreeSet<String> = lab.ips(&survivors).into_iter().chain([r.clone()]).collect();
    expect_not_reset(&lab, &before, &keep, "bad rr.client on node3");
    lab.expect_pings(&[(0, 1), (1, 3), (3, 0)], 2);
    for i in all {
        let lines = lab.log_lines(i, &needle);
        lab.check(
            lines.len() == 1,
            &format!("node{}: want the problem logged once: {lines:?}", i + 1),
        );
    }
    eprintln!("{test}: logged: {}", lab.log_lines(0, &needle).join(""));

    // Fixed: node3 rejoins, the other sessions still untouched.
    let t0 = Instant::now();
    lab.kubectl_ok(&["annotate", "node", "node3", "kube-router.io/rr.client-"]);
    for i in all {
        lab.expect_peers(i, &mesh(&lab, i), CHANGE);
    }
    eprintln!(
        "{test}: mesh healed {:?} after removing the annotation",
        t0.elapsed()
    );
    expect_not_reset(&lab, &before, &keep, "node3 healed");
    lab.check(
        !lab.log_lines(0, &["fixed: node node3: kube-router.io/rr.client"])
            .is_empty(),
        "node1 did not log the fix",
    );

    // A bad ASN in node1's peer annotations: only the router session goes.
    let before = transitions_of(&lab, &all);
    let t0 = Instant::now();
    lab.kubectl_ok(&[
        "annotate",
        "--overwrite",
        "node",
        "node1",
        "kube-router.io/peer.asns=0x10",
    ]);
    let needle = ["node node1: kube-router.io/peer.asns:", "0x10"];
    let took = timed(CHANGE, || !lab.log_lines(0, &needle).is_empty());
    lab.check(took.is_some(), "node1 did not log the bad peer.asns");
    let mut want = mesh(&lab, 0);
    want.remove(&r);
    lab.expect_peers(0, &want, CHANGE);
    eprintln!(
        "{test}: peer.asns=0x10 closed node1's router session {:?} after kubectl",
        t0.elapsed()
    );
    let n1 = lab.node(0).ipv4.clone();
    lab.check(
        timed(CHANGE, || {
            lab.rtr(0).session(&n1) != SessionState::Established
        })
        .is_some(),
        "the router still has a session with node1",
    );
    expect_not_reset(&lab, &before, &lab.ips(&all), "bad peer.asns on node1");
    lab.check(
        lab.log_lines(0, &needle).len() == 1,
        &format!("want one line: {:?}", lab.log_lines(0, &needle)),
    );
    eprintln!("{test}: logged: {}", lab.log_lines(0, &needle).join(""));
    let t0 = Instant::now();
    lab.kubectl_ok(&[
        "annotate",
        "--overwrite",
        "node",
        "node1",
        "kube-router.io/peer.asns=65000",
    ]);
    lab.expect_peers(0, &mesh(&lab, 0), CHANGE);
    eprintln!(
        "{test}: router session back {:?} after fixing peer.asns",
        t0.elapsed()
    );
    expect_not_reset(&lab, &before, &lab.ips(&all), "peer.asns fixed");
}

/// Scenario 9 (issue 5 item 9): `kubectl delete node node3` in a four-node mesh. Every
/// other node drops the session with node3 and its pod CIDR from RIB and kernel, and
/// keeps its other sessions (not reset). Prints how long each node took.
#[test]
fn deleted_node_disappears_everywhere() {
    let test = "deleted_node_disappears_everywhere";
    if !available(test, &[]) {
        return;
    }
    let mut lab = Lab::new("e2dn", LabConfig::new(4));
    let all = [0, 1, 2, 3];
    for i in all {
        lab.start_kube_bgp(i, &[]);
    }
    for i in all {
        lab.expect_peers(i, &lab.ips(&others(&all, i)), UP);
    }
    let survivors = [0, 1, 3];
    for i in survivors {
        lab.expect_kernel(i, &lab.pod_routes(&others(&all, i)), &[], UP);
    }
    let before = transitions_of(&lab, &survivors);
    let (ip3, cidr3) = (lab.node(2).ipv4.clone(), lab.node(2).pod_cidr4.clone());
    let t0 = Instant::now();
    let out = lab.kubectl_ok(&["delete", "node", "node3"]);
    lab.check(out.contains("deleted"), &out);
    let kubectl_took = t0.elapsed();
    let mut took = Vec::new();
    for i in survivors {
        let gone = timed(CHANGE, || {
            !lab.configured_peers(i).contains(&ip3)
                && !lab.rib_best(i).contains_key(&cidr3)
                && !lab.kernel_routes(i).contains(&cidr3)
        });
        lab.check(
            gone.is_some(),
            &format!(
                "node{} still has node3: peers {:?}, kernel:\n{}",
                i + 1,
                lab.configured_peers(i),
                lab.kernel_routes(i)
            ),
        );
        took.push((i + 1, t0.elapsed()));
    }
    eprintln!(
        "{test}: kubectl delete returned after {kubectl_took:?}; node3 gone (session, RIB, kernel) at {took:?}"
    );
    for i in survivors {
        lab.expect_peers(i, &lab.ips(&others(&survivors, i)), CHANGE);
    }
    expect_not_reset(&lab, &before, &lab.ips(&survivors), "node3 deleted");
    lab.expect_pings(&[(0, 1), (1, 3), (3, 0)], 2);
}

/// Scenario 10 (D1): a fourth node whose kube-bgp already runs is registered (Node
/// object created) in a running three-node mesh: the others peer with it at once,
/// without resetting their sessions. Then annotations change with kube-bgp running:
/// node4 becomes `rr.client=42` (no server yet: it leaves the mesh), node1 becomes
/// `rr.server=42` (node4 peers with node1 only, as an RR client, and learns the other
/// pod CIDRs through it with their next hops), and no other session is reset.
#[test]
fn node_added_and_annotations_changed_live() {
    let test = "node_added_and_annotations_changed_live";
    if !available(test, &[]) {
        return;
    }
    let mut lab = Lab::new("e2lv", LabConfig::new(4).unregistered());
    let old = [0, 1, 2];
    let all = [0, 1, 2, 3];
    for i in old {
        lab.register_node(i, &[]);
        lab.start_kube_bgp(i, &[]);
    }
    for i in old {
        lab.expect_peers(i, &lab.ips(&others(&old, i)), UP);
    }
    lab.start_kube_bgp(3, &[]);
    lab.check(lab.wait_ctl(3, UP), "node4's kube-bgp does not answer");
    let before = transitions_of(&lab, &old);

    // The new Node object appears.
    let t0 = Instant::now();
    lab.register_node(3, &[]);
    let n4 = lab.node(3).ipv4.clone();
    let mut took = Vec::new();
    for i in old {
        let up = timed(CHANGE, || lab.established_peers(i).contains(&n4));
        lab.check(
            up.is_some(),
            &format!("node{} did not peer with node4", i + 1),
        );
        took.push((i + 1, t0.elapsed()));
    }
    eprintln!(
        "{test}: node4 Established on node1..3 at {took:?} after its Node object was created"
    );
    lab.expect_peers(3, &lab.ips(&old), CHANGE);
    expect_not_reset(&lab, &before, &lab.ips(&old), "node4 added");
    for i in all {
        lab.expect_kernel(i, &lab.pod_routes(&others(&all, i)), &[], CHANGE);
    }
    lab.expect_pings(&[(3, 0), (0, 3)], 2);

    // node4 becomes a client of a cluster without a server: it leaves the mesh.
    let before = transitions_of(&lab, &old);
    let t0 = Instant::now();
    lab.kubectl_ok(&["annotate", "node", "node4", "kube-router.io/rr.client=42"]);
    for i in old {
        lab.expect_peers(i, &lab.ips(&others(&old, i)), CHANGE);
    }
    lab.expect_peers(3, &BTreeSet::new(), CHANGE);
    eprintln!(
        "{test}: node4 out of the mesh {:?} after rr.client=42",
        t0.elapsed()
    );
    expect_not_reset(&lab, &before, &lab.ips(&old), "node4 rr.client");

    // node1 becomes the server: node4 peers with it only, as an RR client.
    let t0 = Instant::now();
    lab.kubectl_ok(&["annotate", "node", "node1", "kube-router.io/rr.server=42"]);
    let took = lab.expect_peers(3, &set(&[&lab.node(0).ipv4]), CHANGE);
    lab.expect_peers(0, &lab.ips(&[1, 2, 3]), CHANGE);
    eprintln!(
        "{test}: node4 Established with its new server {:?} after rr.server=42 ({took:?} after kubectl)",
        t0.elapsed()
    );
    for i in [1, 2] {
        lab.expect_peers(i, &lab.ips(&others(&old, i)), CHANGE);
    }
    let row = lab.neighbor_rows(0).into_iter().find(|x| x.address == n4);
    lab.check(
        row.as_ref().is_some_and(|x| x.rr_client),
        &format!("node1's row for node4: {row:?}"),
    );
    expect_not_reset(&lab, &before, &lab.ips(&old), "node1 rr.server");
    // Reflected: node4 reaches node2's and node3's pods via their own addresses.
    lab.expect_kernel(3, &lab.pod_routes(&[0, 1, 2]), &[], CHANGE);
    lab.expect_kernel(1, &lab.pod_routes(&[3]), &[], CHANGE);
    lab.expect_pings(&[(3, 1), (1, 3), (3, 2)], 2);

    // node2, already peered with node1, becomes a client too: its session with node1
    // turns into a client session in place (not negotiated, no reset); node2 and node3
    // stop peering (a client peers only with servers); routes still flow via node1.
    let before = transitions_of(&lab, &[0, 1]);
    let t0 = Instant::now();
    lab.kubectl_ok(&["annotate", "node", "node2", "kube-router.io/rr.client=42"]);
    lab.expect_peers(1, &set(&[&lab.node(0).ipv4]), CHANGE);
    lab.expect_peers(2, &set(&[&lab.node(0).ipv4]), CHANGE);
    let row = timed(CHANGE, || {
        lab.neighbor_rows(0)
            .iter()
            .any(|x| x.address == lab.node(1).ipv4 && x.rr_client)
    });
    lab.check(row.is_some(), "node1 does not show node2 as an RR client");
    eprintln!(
        "{test}: node2 became a client {:?} after rr.client=42",
        t0.elapsed()
    );
    let mut keep = BTreeSet::new();
    keep.insert(lab.node(0).ipv4.clone());
    keep.insert(lab.node(1).ipv4.clone());
    expect_not_reset(&lab, &before, &keep, "node2 rr.client");
    for i in [1, 2, 3] {
        lab.expect_kernel(i, &lab.pod_routes(&others(&all, i)), &[], CHANGE);
    }
    lab.expect_pings(&[(1, 2), (2, 3), (3, 1)], 2);
}
