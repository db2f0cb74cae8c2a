//! Workshop events in, staffing out.

use crate::helpers::*;
use async_nats::HeaderMap;
use contract::proto::assignment::v1::ExpertRole;
use contract::proto::common::v1::{EnquiryKind, Topic};
use contract::proto::workshop::v1::{WorkshopCancelled, WorkshopRescheduled};
use contract::{CloudEvent, subjects};

fn roles(made: &contract::proto::assignment::v1::AssignmentMade) -> Vec<(String, ExpertRole)> {
    made.experts
        .iter()
        .map(|e| (e.expert_id.clone(), e.role()))
        .collect()
}

fn covers(expert_id: &str, topic: Topic) -> bool {
    seed_entries()
        .entries
        .iter()
        .any(|e| e.expert.id.as_str() == expert_id && e.expert.topics.contains(&topic))
}

#[tokio::test]
async fn a_scheduled_mission_gets_a_lead_who_covers_its_primary_topic() {
    let service = TestService::spawn().await;
    let mut outcomes = service.outcomes().await;
    let id = workshop_id("mission");
    let event = workshop(
        &id,
        EnquiryKind::PilotProject,
        &[Topic::UrbanPlanning, Topic::Transport],
        &[("makassar", 12)],
        "2027-04-05T01:00:00Z",
        5,
    );
    service.scheduled(&event).await;

    let made = outcomes.made_for(&id).await;
    assert_eq!(made.workshop_version, 1);
    let [lead] = made.experts.as_slice() else {
        panic!("one expert expected: {made:?}")
    };
    assert_eq!(lead.role(), ExpertRole::Lead);
    assert!(covers(&lead.expert_id, Topic::UrbanPlanning), "{lead:?}");
    assert!(!lead.display_name.is_empty());
    // Nobody has worked with Makassar and nobody is busy: the lowest id wins.
    assert_eq!(lead.expert_id, "baek-sunwoo");

    let held: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM assignment.assignments WHERE workshop_id = $1 AND released_at IS NULL",
    )
    .bind(&id)
    .fetch_one(&service.db.pool)
    .await
    .unwrap();
    assert_eq!(held, 1);
}

#[tokio::test]
async fn a_joint_workshop_grown_past_25_participants_gains_a_support_expert() {
    let service = TestService::spawn().await;
    let mut outcomes = service.outcomes().await;
    let id = workshop_id("joint");
    let mut event = workshop(
        &id,
        EnquiryKind::JointWorkshop,
        &[Topic::SocialInnovation, Topic::LocalGovernance],
        &[("makassar", 18)],
        "2027-05-10T00:00:00Z",
        2,
    );
    service.scheduled(&event).await;
    let first = outcomes.made_for(&id).await;
    let first_roles = roles(&first);
    assert!(
        first_roles.len() == 1 && first_roles[0].1 == ExpertRole::Lead,
        "a lead alone expected for 18 participants: {first:?}"
    );
    let lead = first_roles[0].0.clone();

    // Colombo joins with 12 more: version 2, 30 participants.
    event.version = 2;
    event
        .cities
        .push(contract::proto::workshop::v1::Participation {
            city: "colombo".into(),
            enquiry_id: "enquiry-colombo".into(),
            participants: 12,
        });
    service.scheduled(&event).await;
    let second = outcomes.made_for(&id).await;
    assert_eq!(second.workshop_version, 2);
    let staffed = roles(&second);
    assert_eq!(staffed.len(), 2, "{second:?}");
    assert_eq!(
        staffed[0],
        (lead.clone(), ExpertRole::Lead),
        "the lead is kept"
    );
    let (support, role) = &staffed[1];
    assert_eq!(*role, ExpertRole::Support);
    assert_ne!(support, &lead);
    // A support covering another topic than the primary is preferred.
    assert!(covers(support, Topic::LocalGovernance), "{support}");

    let rows: Vec<(String, String, i32)> = sqlx::query_as(
        "SELECT expert_id, role, workshop_version FROM assignment.assignments
         WHERE workshop_id = $1 AND released_at IS NULL ORDER BY role",
    )
    .bind(&id)
    .fetch_all(&service.db.pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        [
            (lead, "LEAD".to_owned(), 2),
            (support.clone(), "SUPPORT".to_owned(), 2)
        ]
    );
}

#[tokio::test]
async fn a_housing_workshop_is_unfilled_because_nobody_covers_housing() {
    let service = TestService::spawn().await;
    let mut outcomes = service.outcomes().await;
    let id = workshop_id("housing");
    service
        .scheduled(&workshop(
            &id,
            EnquiryKind::ConsultativeSupport,
            &[Topic::Housing],
            &[("colombo", 5)],
            "2027-04-07T04:00:00Z",
            1,
        ))
        .await;
    match outcomes.next_for(&id).await {
        Outcome::Unfilled(unfilled) => {
            assert_eq!(unfilled.reason_code, "NO_EXPERT_FOR_TOPIC");
            assert_eq!(unfilled.workshop_version, 1);
            assert!(unfilled.detail.contains("HOUSING"), "{}", unfilled.detail);
        }
        other => panic!("expected unfilled, got {other:?}"),
    }
}

#[tokio::test]
async fn a_cancelled_workshop_releases_its_experts() {
    let service = TestService::spawn().await;
    let mut outcomes = service.outcomes().await;
    let id = workshop_id("cancelled");
    service
        .scheduled(&workshop(
            &id,
            EnquiryKind::PilotProject,
            &[Topic::Transport],
            &[("colombo", 8)],
            "2027-06-07T03:30:00Z",
            5,
        ))
        .await;
    let made = outcomes.made_for(&id).await;
    let lead = made.experts[0].expert_id.clone();

    service
        .cancelled(&WorkshopCancelled {
            workshop_id: id.clone(),
            version: 2,
            reason: "the city withdrew".into(),
        })
        .await;
    match outcomes.next_for(&id).await {
        Outcome::Released(released) => {
            assert_eq!(released.expert_ids, [lead]);
            assert_eq!(released.workshop_version, 2);
            assert_eq!(released.reason, "WORKSHOP_CANCELLED");
        }
        other => panic!("expected released, got {other:?}"),
    }
    let active: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM assignment.assignments WHERE workshop_id = $1 AND released_at IS NULL",
    )
    .bind(&id)
    .fetch_one(&service.db.pool)
    .await
    .unwrap();
    assert_eq!(active, 0);
}

#[tokio::test]
async fn a_workshop_moved_onto_its_leads_other_booking_gets_another_lead() {
    let service = TestService::spawn().await;
    let mut outcomes = service.outcomes().await;
    let april = workshop_id("april");
    let june = workshop_id("june");
    // Both about urban planning; in different months, so the same expert
    // (lowest id, nobody busy) leads both.
    service
        .scheduled(&workshop(
            &april,
            EnquiryKind::PilotProject,
            &[Topic::UrbanPlanning],
            &[("makassar", 10)],
            "2027-04-12T01:00:00Z",
            5,
        ))
        .await;
    let first = outcomes.made_for(&april).await;
    service
        .scheduled(&workshop(
            &june,
            EnquiryKind::PilotProject,
            &[Topic::UrbanPlanning],
            &[("colombo", 10)],
            "2027-06-14T03:30:00Z",
            5,
        ))
        .await;
    let second = outcomes.made_for(&june).await;
    let shared = first.experts[0].expert_id.clone();
    assert_eq!(second.experts[0].expert_id, shared);

    // June's mission moves onto April's dates: its lead is booked then.
    service
        .rescheduled(&WorkshopRescheduled {
            workshop_id: june.clone(),
            version: 2,
            sessions: sessions("2027-04-13T03:30:00Z", 5),
            reason: "the city asked for April".into(),
            proposed_team: Vec::new(),
        })
        .await;
    match outcomes.next_for(&june).await {
        Outcome::Released(released) => {
            assert_eq!(released.expert_ids, std::slice::from_ref(&shared));
            assert_eq!(released.workshop_version, 2);
        }
        other => panic!("expected the old lead released first, got {other:?}"),
    }
    let replaced = outcomes.made_for(&june).await;
    assert_eq!(replaced.workshop_version, 2);
    let [lead] = replaced.experts.as_slice() else {
        panic!("{replaced:?}")
    };
    assert_ne!(lead.expert_id, shared);
    assert_eq!(lead.role(), ExpertRole::Lead);
    assert!(covers(&lead.expert_id, Topic::UrbanPlanning));
}

#[tokio::test]
async fn a_stale_version_is_acknowledged_without_effect() {
    let service = TestService::spawn().await;
    let mut outcomes = service.outcomes().await;
    let id = workshop_id("stale");
    let mut event = workshop(
        &id,
        EnquiryKind::ConsultativeSupport,
        &[Topic::DigitalGovernment],
        &[("colombo", 5)],
        "2027-04-14T04:00:00Z",
        1,
    );
    event.version = 2;
    service.scheduled(&event).await;
    let made = outcomes.made_for(&id).await;
    assert_eq!(made.workshop_version, 2);

    // Version 1 arrives late, and a move to an older version too.
    event.version = 1;
    event.topics = vec![Topic::Housing.into()];
    event.primary_topic = Topic::Housing.into();
    service.scheduled(&event).await;
    service
        .rescheduled(&WorkshopRescheduled {
            workshop_id: id.clone(),
            version: 2,
            sessions: sessions("2027-05-14T04:00:00Z", 1),
            reason: String::new(),
            proposed_team: Vec::new(),
        })
        .await;
    // A later workshop's outcome shows both were handled (one consumer, in order).
    let sentinel = workshop_id("sentinel");
    service
        .scheduled(&workshop(
            &sentinel,
            EnquiryKind::ConsultativeSupport,
            &[Topic::Transport],
            &[("colombo", 5)],
            "2027-04-20T04:00:00Z",
            1,
        ))
        .await;
    outcomes.made_for(&sentinel).await;
    let rest = outcomes.rest().await;
    assert!(rest.iter().all(|o| o.workshop_id() != id), "{rest:?}");

    let (version, topics): (i32, Vec<String>) =
        sqlx::query_as("SELECT version, topics FROM assignment.workshops WHERE id = $1")
            .bind(&id)
            .fetch_one(&service.db.pool)
            .await
            .unwrap();
    assert_eq!(
        (version, topics),
        (2, vec!["DIGITAL_GOVERNMENT".to_owned()])
    );
}

#[tokio::test]
async fn a_redelivered_event_changes_nothing() {
    let service = TestService::spawn().await;
    let mut outcomes = service.outcomes().await;
    let id = workshop_id("redelivered");
    let event = workshop(
        &id,
        EnquiryKind::PilotProject,
        &[Topic::WasteManagement],
        &[("makassar", 9)],
        "2027-04-19T01:00:00Z",
        5,
    );
    let headers = service
        .publish(subjects::WORKSHOP_SCHEDULED, &id, &event)
        .await;
    outcomes.made_for(&id).await;
    let before: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT expert_id, role, period::text FROM assignment.assignments ORDER BY expert_id",
    )
    .fetch_all(&service.db.pool)
    .await
    .unwrap();

    // The same message (same ce-id) again, past JetStream's duplicate
    // window: only the inbox can recognise it.
    let mut again = HeaderMap::new();
    for (name, values) in headers.iter() {
        for value in values {
            again.append(name.clone(), value.clone());
        }
    }
    again.insert("Nats-Msg-Id", uuid::Uuid::now_v7().to_string().as_str());
    service
        .publish_with(subjects::WORKSHOP_SCHEDULED, again, event.to_json())
        .await;
    let sentinel = workshop_id("sentinel");
    service
        .scheduled(&workshop(
            &sentinel,
            EnquiryKind::ConsultativeSupport,
            &[Topic::Transport],
            &[("colombo", 5)],
            "2027-07-20T04:00:00Z",
            1,
        ))
        .await;
    outcomes.made_for(&sentinel).await;
    let rest = outcomes.rest().await;
    assert!(rest.iter().all(|o| o.workshop_id() != id), "{rest:?}");
    let after: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT expert_id, role, period::text FROM assignment.assignments
         WHERE workshop_id <> $1 ORDER BY expert_id",
    )
    .bind(&sentinel)
    .fetch_all(&service.db.pool)
    .await
    .unwrap();
    assert_eq!(before, after);
}
