//! Scheduling's proposed team, end to end: `workshop.scheduled` with a
//! `proposedTeam` in, `assignment.made` out.

use crate::helpers::*;
use contract::proto::assignment::v1::ExpertRole;
use contract::proto::common::v1::{EnquiryKind, Topic};
use contract::proto::workshop::v1::{ProposedExpert, WorkshopScheduled};

/// A pilot mission in Makassar (urban planning, then transport): with no
/// proposal the matcher takes `baek-sunwoo` (see staffing.rs).
fn mission(id: &str, proposed: &[(&str, ExpertRole)]) -> WorkshopScheduled {
    let mut event = workshop(
        id,
        EnquiryKind::PilotProject,
        &[Topic::UrbanPlanning, Topic::Transport],
        &[("makassar", 12)],
        "2027-04-05T01:00:00Z",
        5,
    );
    event.proposed_team = proposed
        .iter()
        .map(|(expert, role)| ProposedExpert {
            expert_id: (*expert).into(),
            role: (*role).into(),
        })
        .collect();
    event
}

fn team(made: &contract::proto::assignment::v1::AssignmentMade) -> Vec<(&str, ExpertRole)> {
    made.experts
        .iter()
        .map(|e| (e.expert_id.as_str(), e.role()))
        .collect()
}

#[tokio::test]
async fn a_qualifying_proposed_lead_is_taken_and_announced() {
    let service = TestService::spawn().await;
    let mut outcomes = service.outcomes().await;
    let id = workshop_id("proposed");
    // kim-jiwoo covers urban planning, speaks English and is free in April,
    // though the matcher alone would rank baek-sunwoo first.
    service
        .scheduled(&mission(&id, &[("kim-jiwoo", ExpertRole::Lead)]))
        .await;
    let made = outcomes.made_for(&id).await;
    assert_eq!(team(&made), [("kim-jiwoo", ExpertRole::Lead)]);
    assert_eq!(made.experts[0].display_name, "Kim Ji-woo");
}

#[tokio::test]
async fn a_proposed_lead_who_does_not_qualify_is_overridden_by_the_matcher() {
    let service = TestService::spawn().await;
    let mut outcomes = service.outcomes().await;
    // yoon-taeho covers transport only (not the primary topic); nobody-here
    // is not on the roster; kim-jiwoo is away in the first half of February.
    let id = workshop_id("overridden");
    service
        .scheduled(&mission(
            &id,
            &[
                ("yoon-taeho", ExpertRole::Lead),
                ("nobody-here", ExpertRole::Lead),
            ],
        ))
        .await;
    assert_eq!(
        team(&outcomes.made_for(&id).await),
        [("baek-sunwoo", ExpertRole::Lead)]
    );

    let february = workshop_id("away");
    let mut event = mission(&february, &[("kim-jiwoo", ExpertRole::Lead)]);
    event.sessions = sessions("2027-02-08T01:00:00Z", 5);
    service.scheduled(&event).await;
    let made = outcomes.made_for(&february).await;
    assert_ne!(made.experts[0].expert_id, "kim-jiwoo", "{made:?}");
    assert_eq!(made.experts[0].role(), ExpertRole::Lead);
}
