//! Scheduling's proposed team (module docs, decision 8): taken where it
//! qualifies, the matcher for the rest, the matcher alone when nothing of
//! it can stand.

use contract::proto::assignment::v1::ExpertRole;
use std::collections::BTreeMap;

use super::testkit::*;
use super::{Expert, ExpertId, Need, Rules, Staffing, staff_proposed};

fn propose(
    need: &Need,
    current: &[super::Current],
    proposal: &[(&str, ExpertRole)],
    experts: &[Expert],
    commitments: &[super::Commitment],
) -> Staffing {
    let proposal: Vec<(ExpertId, ExpertRole)> = proposal
        .iter()
        .map(|(name, role)| (id(name), *role))
        .collect();
    staff_proposed(
        need,
        current,
        &proposal,
        experts,
        commitments,
        &BTreeMap::new(),
        &Rules::default(),
    )
}

/// Three who can lead [`need`] (urban planning, Indonesian or English);
/// `ahn` ranks first by id.
fn roster() -> Vec<Expert> {
    vec![
        expert("ahn", &[UrbanPlanning], &["en"]),
        expert("bae", &[UrbanPlanning, Transport], &["id"]),
        expert("cho", &[UrbanPlanning, Transport], &["ko", "en"]),
        expert("kor", &[UrbanPlanning], &["ko"]),
    ]
}

#[test]
fn a_qualifying_proposed_lead_is_taken_over_the_better_ranked_one() {
    let experts = roster();
    assert_eq!(assigned(&run(&need(), &[], &experts, &[])), [lead("ahn")]);
    let staffing = propose(&need(), &[], &[("cho", Lead)], &experts, &[]);
    assert!(staffing.is_staffed());
    assert_eq!(assigned(&staffing), [lead("cho")]);
}

#[test]
fn a_proposed_expert_who_does_not_qualify_is_overridden_by_the_matcher() {
    let experts = roster();
    let matcher = run(&need(), &[], &experts, &[]);
    // No shared language; busy elsewhere; not on the roster; a topic they lack.
    for (who, role, holds) in [
        ("kor", Lead, vec![]),
        (
            "cho",
            Lead,
            vec![hold(
                "cho",
                "w9",
                "2027-03-03T00:00:00Z",
                "2027-03-04T00:00:00Z",
            )],
        ),
        ("nobody", Lead, vec![]),
    ] {
        let staffing = propose(&need(), &[], &[(who, role)], &experts, &holds);
        assert_eq!(staffing, run(&need(), &[], &experts, &holds), "{who}");
    }
    let no_topic = vec![
        expert("ahn", &[UrbanPlanning], &["en"]),
        expert("dan", &[Housing], &["en"]),
    ];
    assert_eq!(
        propose(&need(), &[], &[("dan", Lead)], &no_topic, &[]),
        run(&need(), &[], &no_topic, &[])
    );
    // A support the version does not need is ignored, whoever it is.
    assert_eq!(
        propose(&need(), &[], &[("cho", Support)], &experts, &[]),
        matcher
    );
}

#[test]
fn the_matcher_fills_the_role_the_proposal_leaves_open_without_its_other_expert() {
    let mut experts = roster();
    experts.push(expert("eom", &[Transport], &["en"]));
    // Proposed: a support only. The lead is the matcher's, never `cho`.
    let staffing = propose(&large_need(), &[], &[("cho", Support)], &experts, &[]);
    assert_eq!(assigned(&staffing), [lead("ahn"), support("cho")]);
    // Proposed: both.
    let staffing = propose(
        &large_need(),
        &[],
        &[("bae", Lead), ("eom", Support)],
        &experts,
        &[],
    );
    assert_eq!(assigned(&staffing), [lead("bae"), support("eom")]);
    // A second entry for a role, or for an expert already named, is
    // ignored: the support is the matcher's (`cho` ranks before `eom`).
    let staffing = propose(
        &large_need(),
        &[],
        &[("bae", Lead), ("eom", Lead), ("bae", Support)],
        &experts,
        &[],
    );
    assert_eq!(assigned(&staffing), [lead("bae"), support("cho")]);
}

#[test]
fn an_expert_kept_in_a_role_keeps_it_whoever_is_proposed() {
    let experts = roster();
    let staffing = propose(
        &need(),
        &[current("bae", Lead)],
        &[("cho", Lead)],
        &experts,
        &[],
    );
    assert_eq!(kept(&staffing), [lead("bae")]);
    assert!(staffing.add.is_empty() && staffing.release.is_empty());
}

#[test]
fn a_proposal_that_cannot_make_a_whole_team_gives_way_to_the_matcher() {
    // Only `cho` can lead; `eom` can only support. Proposing `cho` as the
    // support leaves nobody to lead: the matcher's team is taken instead.
    let experts = vec![
        expert("cho", &[UrbanPlanning], &["en"]),
        expert("eom", &[Transport], &["en"]),
    ];
    let matcher = run(&large_need(), &[], &experts, &[]);
    assert_eq!(assigned(&matcher), [lead("cho"), support("eom")]);
    let staffing = propose(&large_need(), &[], &[("cho", Support)], &experts, &[]);
    assert_eq!(staffing, matcher);
}
