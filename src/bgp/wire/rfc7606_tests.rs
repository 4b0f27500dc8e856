//! RFC 7606 (revised UPDATE error handling), one test per case of the RFC: §3 (the
//! general rules), §4 (attribute lengths), §5 (NLRI) and §7 (each attribute), plus the
//! RFC 6793 AS4 attributes and routes of a family the session did not negotiate.
//!
//! Each case decodes a hand-built UPDATE and checks the approach taken: session reset
//! (an `Err` with the NOTIFICATION), treat-as-withdraw (the announced prefixes come back
//! as withdrawn, no attributes) or attribute discard (the route stands without the
//! attribute). Where the RFC leaves a choice, the comment says which implementation
//! kube-bgp follows.

use super::update_tests::{
    CTX2, CTX4, NLRI, as_path4, attr, base, dec, mp_reach_v6, next_hop, origin, p, seg, upd,
};
use super::wire_tests::err_code;
use super::*;
use crate::bgp::types::Attrs;

/// An external 4-octet session (CTX4 is internal).
const EBGP4: Ctx = Ctx {
    four_octet_as: true,
    ibgp: false,
    families: AfiSet::ALL,
};

/// The NLRI prefixes of [`NLRI`].
fn nlri_prefixes() -> Vec<Prefix> {
    vec![p("192.0.2.0/24"), p("10.1.0.0/16")]
}

/// Decodes `attrs` + NLRI and checks it was treated as withdraw because of `code`.
fn assert_withdrawn(attrs: &[u8], ctx: &Ctx, code: u8) {
    let (u, issues) = dec(&upd(&[], attrs, NLRI), ctx);
    assert_eq!(u.attrs, None);
    assert!(u.announced.is_empty());
    assert_eq!(u.withdrawn, nlri_prefixes());
    let taw: Vec<_> = issues
        .iter()
        .filter(|i| i.action == IssueAction::TreatAsWithdraw)
        .collect();
    assert_eq!(taw.len(), 1, "{issues:?}");
    assert_eq!(taw[0].attr, code, "{}", taw[0]);
}

/// Decodes `attrs` + NLRI and checks the route stands with attribute `code` discarded.
fn assert_discarded(attrs: &[u8], ctx: &Ctx, code: u8) -> Attrs {
    let (u, issues) = dec(&upd(&[], attrs, NLRI), ctx);
    assert_eq!(u.announced, nlri_prefixes(), "{issues:?}");
    assert!(
        issues
            .iter()
            .any(|i| i.action == IssueAction::AttributeDiscard && i.attr == code),
        "{issues:?}"
    );
    assert!(
        issues
            .iter()
            .all(|i| i.action == IssueAction::AttributeDiscard)
    );
    u.attrs.expect("attributes kept")
}

/// Decodes `m` and returns the NOTIFICATION (code, subcode) of the session reset.
fn reset(m: &[u8], ctx: &Ctx) -> (u8, u8) {
    let (c, s, _) = err_code(decode(m, ctx));
    (c, s)
}

// ----- §3: general rules -----

#[test]
fn s3b_lengths_beyond_the_message_reset_with_malformed_attribute_list() {
    let mut m = upd(&[], &[], &[]);
    m[20] = 9; // Withdrawn Routes Length past the end
    assert_eq!(reset(&m, &CTX4), (3, 1));
    let mut m = upd(&[], &[], &[]);
    m[22] = 9; // Total Path Attribute Length past the end
    assert_eq!(reset(&m, &CTX4), (3, 1));
}

#[test]
fn s3c_wrong_flags_on_route_selection_attributes_are_treat_as_withdraw() {
    // Each attribute with the Optional bit flipped (0x40 <-> 0xC0 / 0x80 <-> 0x00).
    let path = as_path4(&[1]);
    let cases: Vec<(u8, Vec<u8>)> = vec![
        (1, [attr(0xC0, 1, &[0]), path.clone(), next_hop()].concat()),
        (
            2,
            [origin(), attr(0xC0, 2, &seg(2, &[1], true)), next_hop()].concat(),
        ),
        (
            3,
            [origin(), path.clone(), attr(0xC0, 3, &[10, 0, 0, 1])].concat(),
        ),
        (4, base(&attr(0xC0, 4, &[0, 0, 0, 1]))),
        (5, base(&attr(0xC0, 5, &[0, 0, 0, 100]))),
        (8, base(&attr(0x40, 8, &[0, 0, 0, 1]))),
        (9, base(&attr(0x00, 9, &[1, 1, 1, 1]))),
        (10, base(&attr(0xC0, 10, &[1, 1, 1, 1]))),
    ];
    for (code, attrs) in cases {
        assert_withdrawn(&attrs, &CTX4, code);
    }
}

#[test]
fn s3c_wrong_flags_on_aggregation_and_as4_attributes_are_discarded() {
    // §7.6 and §7.7 make a malformed ATOMIC_AGGREGATE / AGGREGATOR attribute-discard,
    // RFC 6793 §6 the AS4 attributes; wrong flags are one way of being malformed (FRR).
    let a = assert_discarded(&base(&attr(0xC0, 6, &[])), &CTX4, 6);
    assert!(!a.atomic_aggregate);
    let a = assert_discarded(&base(&attr(0x40, 7, &[0, 0, 0, 1, 192, 0, 2, 1])), &CTX4, 7);
    assert_eq!(a.aggregator, None);
    let b2 = [origin(), attr(0x40, 2, &seg(2, &[1], false)), next_hop()].concat();
    let a = assert_discarded(
        &[b2.clone(), attr(0x40, 17, &seg(2, &[70000], true))].concat(),
        &CTX2,
        17,
    );
    assert_eq!(a.as_path.to_string(), "1");
    assert_discarded(
        &[b2, attr(0x80, 18, &[0, 1, 0, 0, 192, 0, 2, 1])].concat(),
        &CTX2,
        18,
    );
}

#[test]
fn s3c_wrong_flags_on_mp_attributes_reset_the_session() {
    // §5.3: MP_REACH/MP_UNREACH flags inconsistent with RFC 4760 make the NLRI unusable.
    let nh = [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let mut v = vec![0, 2, 1, 16];
    v.extend_from_slice(&nh);
    v.extend_from_slice(&[0, 32, 0x20, 1, 0xd, 0xb8]);
    let attrs = [attr(0xC0, 14, &v), origin(), as_path4(&[1])].concat();
    assert_eq!(reset(&upd(&[], &attrs, &[]), &CTX4), (3, 9));
    let attrs = attr(0x40, 15, &[0, 2, 1, 32, 0x20, 1, 0xd, 0xb8]);
    assert_eq!(reset(&upd(&[], &attrs, &[]), &CTX4), (3, 9));
}

#[test]
fn s3d_missing_mandatory_attributes_are_treat_as_withdraw() {
    assert_withdrawn(&[as_path4(&[1]), next_hop()].concat(), &CTX4, 1);
    assert_withdrawn(&[origin(), next_hop()].concat(), &CTX4, 2);
    assert_withdrawn(&[origin(), as_path4(&[1])].concat(), &CTX4, 3);
    // NEXT_HOP is not mandatory when only MP_REACH_NLRI carries routes (RFC 4760).
    let nh = [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let m = upd(
        &[],
        &[
            mp_reach_v6(&nh, &[32, 0x20, 1, 0xd, 0xb8]),
            origin(),
            as_path4(&[1]),
        ]
        .concat(),
        &[],
    );
    let (u, issues) = dec(&m, &CTX4);
    assert!(issues.is_empty(), "{issues:?}");
    assert_eq!(u.announced, vec![p("2001:db8::/32")]);
}

#[test]
fn s3e_errors_in_route_selection_attributes_never_reset() {
    // §3(e): cases RFC 4271 made a reset (bad length, bad value) are treat-as-withdraw
    // for ORIGIN, AS_PATH, NEXT_HOP, MULTI_EXIT_DISC and LOCAL_PREF.
    assert_withdrawn(
        &[attr(0x40, 1, &[0, 0]), as_path4(&[1]), next_hop()].concat(),
        &CTX4,
        1,
    );
    assert_withdrawn(
        &[origin(), attr(0x40, 2, &[2]), next_hop()].concat(),
        &CTX4,
        2,
    );
    assert_withdrawn(
        &[origin(), as_path4(&[1]), attr(0x40, 3, &[1])].concat(),
        &CTX4,
        3,
    );
    assert_withdrawn(&base(&attr(0x80, 4, &[0; 5])), &CTX4, 4);
    assert_withdrawn(&base(&attr(0x40, 5, &[0; 2])), &CTX4, 5);
}

#[test]
fn s3f_errors_in_aggregation_attributes_never_withdraw() {
    // §3(f): ATOMIC_AGGREGATE and AGGREGATOR errors are attribute discard.
    assert_discarded(&base(&attr(0x40, 6, &[1])), &CTX4, 6);
    assert_discarded(&base(&attr(0xC0, 7, &[0, 0, 1])), &CTX4, 7);
}

#[test]
fn s3g_repeated_mp_attribute_resets_with_malformed_attribute_list() {
    let u6 = attr(0x80, 15, &[0, 2, 1]);
    assert_eq!(
        reset(&upd(&[], &[u6.clone(), u6].concat(), &[]), &CTX4),
        (3, 1)
    );
    let nh = [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let r6 = mp_reach_v6(&nh, &[32, 0x20, 1, 0xd, 0xb8]);
    let attrs = [r6.clone(), origin(), as_path4(&[1]), r6].concat();
    assert_eq!(reset(&upd(&[], &attrs, &[]), &CTX4), (3, 1));
}

#[test]
fn s3g_other_repeated_attributes_keep_the_first() {
    let twice = base(&[attr(0x80, 4, &[0, 0, 0, 1]), attr(0x80, 4, &[0, 0, 0, 2])].concat());
    assert_eq!(assert_discarded(&twice, &CTX4, 4).med, Some(1));
    // Also for an attribute kube-bgp does not interpret.
    let twice = base(&[attr(0xC0, 99, &[1]), attr(0xC0, 99, &[2])].concat());
    let a = assert_discarded(&twice, &CTX4, 99);
    assert_eq!(a.unknown.len(), 1);
    assert_eq!(a.unknown[0].value, vec![1]);
}

#[test]
fn s3h_the_strongest_approach_wins() {
    // Discard (bad ATOMIC_AGGREGATE) and withdraw (bad MED): treat-as-withdraw, with
    // both reported.
    let attrs = base(&[attr(0x40, 6, &[1]), attr(0x80, 4, &[1])].concat());
    let (u, issues) = dec(&upd(&[], &attrs, NLRI), &CTX4);
    assert!(u.announced.is_empty());
    assert_eq!(u.withdrawn, nlri_prefixes());
    assert!(
        issues
            .iter()
            .any(|i| i.action == IssueAction::AttributeDiscard)
    );
    assert!(
        issues
            .iter()
            .any(|i| i.action == IssueAction::TreatAsWithdraw)
    );
    // Withdraw (bad MED) and reset (repeated MP_UNREACH): reset.
    let u6 = attr(0x80, 15, &[0, 2, 1]);
    let attrs = base(&[attr(0x80, 4, &[1]), u6.clone(), u6].concat());
    assert_eq!(reset(&upd(&[], &attrs, NLRI), &CTX4), (3, 1));
}

#[test]
fn s3i_withdrawn_routes_are_checked_like_nlri() {
    assert_eq!(reset(&upd(&[24, 10, 0], &[], &[]), &CTX4), (3, 10));
    assert_eq!(reset(&upd(&[33, 10, 0, 0, 0, 0], &[], &[]), &CTX4), (3, 10));
}

#[test]
fn s3j_a_framing_error_that_may_hide_mp_nlri_resets_the_session() {
    // The last attribute overruns the attribute list: an MP_REACH_NLRI could be inside
    // the part that cannot be walked, so treat-as-withdraw is not possible (§3(j)).
    // Attribute Length Error with the attribute as data, as RFC 4271 §6.3 and FRR.
    let mut over = base(&[]);
    over.extend_from_slice(&[0x80, 4, 9, 0, 0]);
    let (c, s, data) = err_code(decode(&upd(&[], &over, NLRI), &CTX4));
    assert_eq!((c, s), (3, 5));
    assert_eq!(data, vec![0x80, 4, 9, 0, 0]);
    // Too few bytes left for an attribute header: Malformed Attribute List.
    let mut trunc = base(&[]);
    trunc.extend_from_slice(&[0x90, 4, 0]);
    assert_eq!(reset(&upd(&[], &trunc, NLRI), &CTX4), (3, 1));
}

#[test]
fn s4_a_framing_error_after_both_mp_attributes_is_treat_as_withdraw() {
    // Both MP attributes were found before the broken one: no NLRI can be hidden, the
    // Total Path Attribute Length locates the NLRI field, and treat-as-withdraw applies.
    let nh = [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let r6 = mp_reach_v6(&nh, &[32, 0x20, 1, 0xd, 0xb8]);
    let u6 = attr(0x80, 15, &[0, 2, 1, 48, 0x20, 1, 0xd, 0xb8, 0, 9]);
    let mut attrs = [r6, u6, base(&[])].concat();
    attrs.extend_from_slice(&[0x80, 4, 9, 0, 0]);
    let (u, issues) = dec(&upd(&[], &attrs, NLRI), &CTX4);
    assert!(u.announced.is_empty());
    assert_eq!(u.attrs, None);
    let mut want = vec![p("2001:db8:9::/48")];
    want.extend(nlri_prefixes());
    want.push(p("2001:db8::/32"));
    assert_eq!(u.withdrawn, want);
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].action, IssueAction::TreatAsWithdraw);
}

#[test]
fn s4_empty_attributes_other_than_as_path_and_atomic_aggregate_are_malformed() {
    // ORIGIN, NEXT_HOP, MED, LOCAL_PREF, COMMUNITIES, ORIGINATOR_ID, CLUSTER_LIST:
    // treat-as-withdraw.
    assert_withdrawn(
        &[attr(0x40, 1, &[]), as_path4(&[1]), next_hop()].concat(),
        &CTX4,
        1,
    );
    assert_withdrawn(
        &[origin(), as_path4(&[1]), attr(0x40, 3, &[])].concat(),
        &CTX4,
        3,
    );
    for (flags, code) in [(0x80, 4), (0x40, 5), (0xC0, 8), (0x80, 9), (0x80, 10)] {
        assert_withdrawn(&base(&attr(flags, code, &[])), &CTX4, code);
    }
    // AGGREGATOR and, from a 2-octet peer, AS4_PATH / AS4_AGGREGATOR: discard.
    assert_discarded(&base(&attr(0xC0, 7, &[])), &CTX4, 7);
    let b2 = [origin(), attr(0x40, 2, &seg(2, &[1], false)), next_hop()].concat();
    let a = assert_discarded(&[b2.clone(), attr(0xC0, 17, &[])].concat(), &CTX2, 17);
    assert_eq!(a.as_path.to_string(), "1");
    assert_discarded(&[b2, attr(0xC0, 18, &[])].concat(), &CTX2, 18);
    // An empty AS_PATH (a route originated in the peer's own AS) and ATOMIC_AGGREGATE
    // are valid.
    let attrs = [origin(), attr(0x40, 2, &[]), next_hop(), attr(0x40, 6, &[])].concat();
    let (u, issues) = dec(&upd(&[], &attrs, NLRI), &CTX4);
    assert!(issues.is_empty(), "{issues:?}");
    let a = u.attrs.expect("attributes");
    assert!(a.as_path.segments.is_empty() && a.atomic_aggregate);
}

// ----- §5: NLRI -----

#[test]
fn s5_1_mp_attributes_are_accepted_in_any_position() {
    let nh = [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let r6 = mp_reach_v6(&nh, &[32, 0x20, 1, 0xd, 0xb8]);
    let u6 = attr(0x80, 15, &[0, 2, 1, 48, 0x20, 1, 0xd, 0xb8, 0, 9]);
    let attrs = [origin(), u6, as_path4(&[1]), r6, next_hop()].concat();
    let (u, issues) = dec(&upd(&[], &attrs, NLRI), &CTX4);
    assert!(issues.is_empty(), "{issues:?}");
    let mut ann = nlri_prefixes();
    ann.push(p("2001:db8::/32"));
    assert_eq!(u.announced, ann);
    assert_eq!(u.withdrawn, vec![p("2001:db8:9::/48")]);
}

#[test]
fn s5_2_an_error_without_reachable_nlri_resets_the_session() {
    // Only withdrawn routes and a malformed MED: nothing shows the NLRI were parsed
    // right, so a treat-as-withdraw error becomes a reset (Malformed Attribute List).
    let attrs = base(&attr(0x80, 4, &[1]));
    assert_eq!(reset(&upd(&[24, 10, 0, 0], &attrs, &[]), &CTX4), (3, 1));
    // A missing mandatory attribute is no error without NLRI (nothing is announced).
    let (u, issues) = dec(&upd(&[24, 10, 0, 0], &origin(), &[]), &CTX4);
    assert!(issues.is_empty(), "{issues:?}");
    assert_eq!(u.withdrawn, vec![p("10.0.0.0/24")]);
    // Attribute discard alone is fine without NLRI.
    let (u, issues) = dec(
        &upd(&[24, 10, 0, 0], &base(&attr(0x40, 6, &[1])), &[]),
        &CTX4,
    );
    assert_eq!(issues.len(), 1);
    assert_eq!(u.withdrawn, vec![p("10.0.0.0/24")]);
}

#[test]
fn s5_3_nlri_that_cannot_be_parsed_reset_the_session() {
    // Classic NLRI: prefix longer than 32, last prefix overrunning the field.
    assert_eq!(
        reset(&upd(&[], &base(&[]), &[33, 1, 2, 3, 4, 5]), &CTX4),
        (3, 10)
    );
    assert_eq!(reset(&upd(&[], &base(&[]), &[24, 10, 1]), &CTX4), (3, 10));
    // MP_REACH_NLRI: IPv6 prefix longer than 128, overrun; shorter than 5 bytes.
    let nh = [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let with = |nlri: &[u8]| upd(&[], &[mp_reach_v6(&nh, nlri), origin()].concat(), &[]);
    assert_eq!(reset(&with(&[129]), &CTX4), (3, 9));
    assert_eq!(reset(&with(&[64, 0x20, 1]), &CTX4), (3, 9));
    assert_eq!(
        reset(&upd(&[], &attr(0x80, 14, &[0, 2, 1, 0]), &[]), &CTX4),
        (3, 9)
    );
    // MP_UNREACH_NLRI: shorter than 3 bytes, overrun.
    assert_eq!(
        reset(&upd(&[], &attr(0x80, 15, &[0, 2]), &[]), &CTX4),
        (3, 9)
    );
    assert_eq!(
        reset(&upd(&[], &attr(0x80, 15, &[0, 2, 1, 64, 1]), &[]), &CTX4),
        (3, 9)
    );
}

// ----- §7: each attribute -----

#[test]
fn s7_1_origin_undefined_value_or_length_is_treat_as_withdraw() {
    assert_withdrawn(
        &[attr(0x40, 1, &[3]), as_path4(&[1]), next_hop()].concat(),
        &CTX4,
        1,
    );
    assert_withdrawn(
        &[attr(0x40, 1, &[0, 0]), as_path4(&[1]), next_hop()].concat(),
        &CTX4,
        1,
    );
}

#[test]
fn s7_2_malformed_as_path_is_treat_as_withdraw() {
    let o_and_nh = |path: Vec<u8>| [origin(), path, next_hop()].concat();
    // Segment overrun, underrun (one byte left), zero-length segment, unknown type.
    assert_withdrawn(&o_and_nh(attr(0x40, 2, &[2, 3, 0, 0, 0, 1])), &CTX4, 2);
    assert_withdrawn(&o_and_nh(attr(0x40, 2, &[2, 1, 0, 0, 0, 1, 2])), &CTX4, 2);
    assert_withdrawn(&o_and_nh(attr(0x40, 2, &[2, 0])), &CTX4, 2);
    assert_withdrawn(&o_and_nh(attr(0x40, 2, &seg(9, &[1], true))), &CTX4, 2);
    // Confederation segments from a peer outside any confederation, AS 0 (RFC 7607),
    // 2-octet encoding on a 4-octet session (overrun of the last segment).
    assert_withdrawn(&o_and_nh(attr(0x40, 2, &seg(3, &[1], true))), &CTX4, 2);
    assert_withdrawn(&o_and_nh(as_path4(&[65001, 0])), &CTX4, 2);
    assert_withdrawn(
        &o_and_nh(attr(0x40, 2, &seg(2, &[1, 2, 3], false))),
        &CTX4,
        2,
    );
}

#[test]
fn s7_3_next_hop_of_the_wrong_length_is_treat_as_withdraw() {
    let np = |nh: Vec<u8>| [origin(), as_path4(&[1]), nh].concat();
    assert_withdrawn(&np(attr(0x40, 3, &[10, 0, 0, 1, 0])), &CTX4, 3);
    assert_withdrawn(&np(attr(0x40, 3, &[10, 0, 0])), &CTX4, 3);
}

#[test]
fn s7_4_med_of_the_wrong_length_is_treat_as_withdraw() {
    assert_withdrawn(&base(&attr(0x80, 4, &[0, 0, 1])), &CTX4, 4);
}

#[test]
fn s7_5_local_pref_discarded_from_external_peers_checked_from_internal() {
    // External: discarded whatever it holds (even malformed, even with wrong flags).
    for lp in [
        attr(0x40, 5, &[0, 0, 0, 100]),
        attr(0x40, 5, &[0, 1]),
        attr(0xC0, 5, &[0, 0, 0, 100]),
    ] {
        let a = assert_discarded(&base(&lp), &EBGP4, 5);
        assert_eq!(a.local_pref, None);
    }
    // Internal: kept when well-formed, treat-as-withdraw when not 4 bytes.
    let (u, _) = dec(
        &upd(&[], &base(&attr(0x40, 5, &[0, 0, 0, 100])), NLRI),
        &CTX4,
    );
    assert_eq!(u.attrs.expect("attributes").local_pref, Some(100));
    assert_withdrawn(&base(&attr(0x40, 5, &[0, 0, 1])), &CTX4, 5);
}

#[test]
fn s7_6_atomic_aggregate_with_a_value_is_discarded() {
    let a = assert_discarded(&base(&attr(0x40, 6, &[1])), &CTX4, 6);
    assert!(!a.atomic_aggregate);
}

#[test]
fn s7_7_aggregator_of_the_wrong_length_is_discarded() {
    // 8 bytes between 4-octet speakers, 6 otherwise; AS 0 (RFC 7607) too.
    let a = assert_discarded(&base(&attr(0xC0, 7, &[0, 0, 1, 192, 0, 2, 1])), &CTX4, 7);
    assert_eq!(a.aggregator, None);
    assert_discarded(&base(&attr(0xC0, 7, &[0, 0, 0, 0, 192, 0, 2, 1])), &CTX4, 7);
    let b2 = [origin(), attr(0x40, 2, &seg(2, &[1], false)), next_hop()].concat();
    assert_discarded(
        &[b2, attr(0xC0, 7, &[0, 0, 0, 1, 192, 0, 2, 1])].concat(),
        &CTX2,
        7,
    );
}

#[test]
fn s7_8_communities_not_a_non_zero_multiple_of_4_are_treat_as_withdraw() {
    assert_withdrawn(&base(&attr(0xC0, 8, &[0, 0, 0, 1, 2])), &CTX4, 8);
    assert_withdrawn(&base(&attr(0xC0, 8, &[0, 0])), &CTX4, 8);
}

#[test]
fn s7_9_originator_id_discarded_from_external_peers_checked_from_internal() {
    for oid in [
        attr(0x80, 9, &[1, 1, 1, 1]),
        attr(0x80, 9, &[1, 1, 1]),
        attr(0xC0, 9, &[1, 1, 1, 1]),
    ] {
        let a = assert_discarded(&base(&oid), &EBGP4, 9);
        assert_eq!(a.originator_id, None);
    }
    assert_withdrawn(&base(&attr(0x80, 9, &[1, 1, 1])), &CTX4, 9);
    let (u, _) = dec(&upd(&[], &base(&attr(0x80, 9, &[1, 1, 1, 1])), NLRI), &CTX4);
    assert!(u.attrs.expect("attributes").originator_id.is_some());
}

#[test]
fn s7_10_cluster_list_discarded_from_external_peers_checked_from_internal() {
    for cl in [
        attr(0x80, 10, &[1, 1, 1, 1]),
        attr(0x80, 10, &[1, 1, 1, 1, 2]),
        attr(0x40, 10, &[1, 1, 1, 1]),
    ] {
        let a = assert_discarded(&base(&cl), &EBGP4, 10);
        assert!(a.cluster_list.is_empty());
    }
    assert_withdrawn(&base(&attr(0x80, 10, &[1, 1, 1, 1, 2, 2])), &CTX4, 10);
    let (u, _) = dec(
        &upd(&[], &base(&attr(0x80, 10, &[1, 1, 1, 1])), NLRI),
        &CTX4,
    );
    assert_eq!(u.attrs.expect("attributes").cluster_list.len(), 1);
}

#[test]
fn s7_11_mp_reach_next_hop_of_the_wrong_length_resets_the_session() {
    let bad = upd(
        &[],
        &[mp_reach_v6(&[0; 8], &[32, 0x20, 1, 0xd, 0xb8]), origin()].concat(),
        &[],
    );
    assert_eq!(reset(&bad, &CTX4), (3, 9));
}

#[test]
fn s7_12_mp_unreach_of_another_family_is_discarded_not_an_error() {
    // An AFI/SAFI kube-bgp does not carry (here L2VPN EVPN): the attribute is ignored.
    assert_discarded(&base(&attr(0x80, 15, &[0, 25, 70, 1, 2])), &CTX4, 15);
}

#[test]
fn s7_13_to_16_attributes_kube_bgp_does_not_interpret_are_passed_on() {
    // Traffic Engineering (24), Extended Communities (16), IPv6 Extended Communities
    // (25), ATTR_SET (128): kube-bgp does not read them, so it cannot find them
    // malformed; optional transitive ones are kept (and re-sent with Partial).
    let extra = [
        attr(0xC0, 16, &[0; 7]),
        attr(0xC0, 24, &[1]),
        attr(0xC0, 25, &[0; 3]),
        attr(0xD0, 128, &[0; 4]),
    ]
    .concat();
    let (u, issues) = dec(&upd(&[], &base(&extra), NLRI), &CTX4);
    assert!(issues.is_empty(), "{issues:?}");
    let codes: Vec<u8> = u
        .attrs
        .expect("attributes")
        .unknown
        .iter()
        .map(|r| r.type_code)
        .collect();
    assert_eq!(codes, vec![16, 24, 25, 128]);
}

// ----- RFC 6793 and RFC 4760 -----

#[test]
fn rfc6793_malformed_as4_attributes_are_discarded() {
    let b2 = [origin(), attr(0x40, 2, &seg(2, &[1], false)), next_hop()].concat();
    let a = assert_discarded(
        &[b2.clone(), attr(0xC0, 17, &[2, 2, 0, 0])].concat(),
        &CTX2,
        17,
    );
    assert_eq!(a.as_path.to_string(), "1");
    assert_discarded(&[b2, attr(0xC0, 18, &[0, 0, 1])].concat(), &CTX2, 18);
    // Between 4-octet speakers AS4 attributes are ignored whatever they hold.
    assert_discarded(&base(&attr(0xC0, 17, &seg(2, &[7], true))), &CTX4, 17);
}

#[test]
fn rfc4760_routes_of_a_family_not_negotiated_are_discarded() {
    let v4_only = Ctx {
        families: AfiSet::IPV4,
        ..CTX4
    };
    let nh = [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let r6 = mp_reach_v6(&nh, &[32, 0x20, 1, 0xd, 0xb8]);
    let u6 = attr(0x80, 15, &[0, 2, 1, 48, 0x20, 1, 0xd, 0xb8, 0, 9]);
    let attrs = [r6, u6, base(&[])].concat();
    let m = upd(&[], &attrs, NLRI);
    let (u, issues) = dec(&m, &v4_only);
    assert_eq!(u.announced, nlri_prefixes());
    assert!(u.withdrawn.is_empty());
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].action, IssueAction::AttributeDiscard);
    // And IPv4 routes (classic NLRI and withdrawn routes) on an IPv6-only session.
    let v6_only = Ctx {
        families: AfiSet::IPV6,
        ..CTX4
    };
    let (u, issues) = dec(&upd(&[24, 10, 0, 0], &base(&[]), NLRI), &v6_only);
    assert!(u.announced.is_empty() && u.withdrawn.is_empty());
    assert_eq!(issues.len(), 1, "{issues:?}");
    let (u, _) = dec(&m, &v6_only);
    assert_eq!(u.announced, vec![p("2001:db8::/32")]);
    assert_eq!(u.withdrawn, vec![p("2001:db8:9::/48")]);
}
