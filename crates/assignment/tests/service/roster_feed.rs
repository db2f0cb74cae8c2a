//! What assignment tells scheduling on `ileaps.internal.roster.>`: each
//! expert's planning profile (no personal data) and each workshop's live
//! holds, whole, every time they change.

use crate::helpers::*;
use contract::proto::assignment::v1::{ExpertProfile, ExpertRole, WorkshopHolds};
use contract::proto::common::v1::{DateWindow, EnquiryKind, Topic};
use contract::proto::workshop::v1::WorkshopCancelled;
use contract::{CloudEvent, subjects};
use serde_json::json;
use test_support::StreamReader;

async fn profiles(service: &TestService) -> StreamReader {
    StreamReader::new(
        &service.js,
        subjects::STREAM_INTERNAL,
        subjects::INTERNAL_ROSTER_PROFILE,
    )
    .await
}

fn window(start: &str, end: &str) -> DateWindow {
    DateWindow {
        start: start.into(),
        end: end.into(),
    }
}

#[tokio::test]
async fn an_import_publishes_every_experts_profile_without_any_contact_data() {
    let service = TestService::spawn_bare(1).await;
    service.import(&seed_roster()).await.unwrap();
    let count = seed_entries().entries.len();

    let mut reader = profiles(&service).await;
    let mut seen = Vec::new();
    for _ in 0..count {
        let message = reader.next(DEADLINE).await;
        let body = String::from_utf8(message.payload.to_vec()).unwrap();
        // No address, and no field that could carry one.
        assert!(!body.contains('@'), "{body}");
        assert!(!body.to_lowercase().contains("email"), "{body}");
        assert_eq!(
            message
                .headers
                .as_ref()
                .unwrap()
                .get("ce-type")
                .unwrap()
                .as_str(),
            ExpertProfile::TYPE
        );
        seen.push(ExpertProfile::from_json(&message.payload).unwrap());
    }
    let kim = seen.iter().find(|p| p.expert_id == "kim-jiwoo").unwrap();
    assert_eq!(kim.display_name, "Kim Ji-woo");
    assert_eq!(
        kim.topics().collect::<Vec<_>>(),
        [Topic::UrbanPlanning, Topic::Transport]
    );
    assert_eq!(kim.languages, ["ko", "en"]);
    assert_eq!(kim.time_zone, "Asia/Seoul");
    assert_eq!(kim.unavailable, [window("2027-02-01", "2027-02-14")]);
    assert_eq!(kim.monthly_limit, 4);
    assert!(kim.active);
    assert_eq!(kim.revision, 1);

    // An operator's unavailable days: a new revision with both periods.
    service
        .admin(
            "experts.unavailable",
            &json!({"expertId": "kim-jiwoo", "start": "2027-03-01", "end": "2027-03-03", "reason": "a private matter"}),
        )
        .await
        .unwrap();
    let message = reader.next(DEADLINE).await;
    assert!(!String::from_utf8_lossy(&message.payload).contains("private"));
    let kim = ExpertProfile::from_json(&message.payload).unwrap();
    assert_eq!(kim.expert_id, "kim-jiwoo");
    assert_eq!(kim.revision, 2);
    assert_eq!(
        kim.unavailable,
        [
            window("2027-02-01", "2027-02-14"),
            window("2027-03-01", "2027-03-03")
        ]
    );

    // The same file again changes nobody: nothing is published.
    service.import(&seed_roster()).await.unwrap();
    assert!(reader.collect_for(QUIET).await.is_empty());

    // A changed entry is published with the next revision.
    let mut roster = seed_roster();
    roster["experts"][0]["monthlyLimit"] = json!(2);
    service.import(&roster).await.unwrap();
    let kim = ExpertProfile::from_json(&reader.next(DEADLINE).await.payload).unwrap();
    assert_eq!(
        (kim.expert_id.as_str(), kim.monthly_limit, kim.revision),
        ("kim-jiwoo", 2, 3)
    );
    assert!(reader.collect_for(QUIET).await.is_empty());

    // `experts.publish` sends everyone again, at their current revisions.
    let reply = service.admin("experts.publish", &json!({})).await.unwrap();
    assert_eq!(reply["experts"], json!(count));
    let again: Vec<ExpertProfile> = reader
        .collect_for(QUIET)
        .await
        .iter()
        .map(|m| ExpertProfile::from_json(&m.payload).unwrap())
        .collect();
    assert_eq!(again.len(), count);
    let kim = again.iter().find(|p| p.expert_id == "kim-jiwoo").unwrap();
    assert_eq!((kim.revision, kim.monthly_limit), (3, 2));
}

#[tokio::test]
async fn a_workshops_holds_are_published_whole_when_made_grown_and_cancelled() {
    let service = TestService::spawn().await;
    let mut outcomes = service.outcomes().await;
    let mut holds = StreamReader::new(
        &service.js,
        subjects::STREAM_INTERNAL,
        subjects::INTERNAL_ROSTER_HOLDS,
    )
    .await;
    let id = workshop_id("held");
    let mut event = workshop(
        &id,
        EnquiryKind::JointWorkshop,
        &[Topic::SocialInnovation, Topic::LocalGovernance],
        &[("makassar", 18)],
        "2027-05-10T00:00:00Z",
        2,
    );
    service.scheduled(&event).await;
    let made = outcomes.made_for(&id).await;
    let lead = made.experts[0].expert_id.clone();

    let first = WorkshopHolds::from_json(&holds.next(DEADLINE).await.payload).unwrap();
    assert_eq!(
        (
            first.workshop_id.as_str(),
            first.workshop_version,
            first.revision
        ),
        (id.as_str(), 1, 1)
    );
    let [hold] = first.holds.as_slice() else {
        panic!("one hold expected: {first:?}")
    };
    assert_eq!(
        (hold.expert_id.as_str(), hold.role()),
        (lead.as_str(), ExpertRole::Lead)
    );
    // In person: a travel day before the first session and after the last.
    let instant = |t: &Option<pbjson_types::Timestamp>| t.as_ref().unwrap().seconds;
    assert_eq!(instant(&hold.start), at("2027-05-09T00:00:00Z").timestamp());
    assert_eq!(instant(&hold.end), at("2027-05-12T08:00:00Z").timestamp());
    assert_eq!(hold.month, "2027-05");

    // Colombo joins: the lead is kept and a support added, all in one message.
    event.version = 2;
    event
        .cities
        .push(contract::proto::workshop::v1::Participation {
            city: "colombo".into(),
            enquiry_id: "enquiry-colombo".into(),
            participants: 12,
        });
    service.scheduled(&event).await;
    let second_made = outcomes.made_for(&id).await;
    let second = WorkshopHolds::from_json(&holds.next(DEADLINE).await.payload).unwrap();
    assert_eq!((second.workshop_version, second.revision), (2, 2));
    let held: Vec<(String, ExpertRole)> = second
        .holds
        .iter()
        .map(|h| (h.expert_id.clone(), h.role()))
        .collect();
    let made: Vec<(String, ExpertRole)> = second_made
        .experts
        .iter()
        .map(|e| (e.expert_id.clone(), e.role()))
        .collect();
    assert_eq!(held, made);
    assert_eq!(held.len(), 2);

    // Cancelled: everything released, and an empty list says so, with a
    // higher revision though the version is the same.
    service
        .cancelled(&WorkshopCancelled {
            workshop_id: id.clone(),
            version: 2,
            reason: "all cities withdrew".into(),
        })
        .await;
    let third = WorkshopHolds::from_json(&holds.next(DEADLINE).await.payload).unwrap();
    assert_eq!((third.workshop_version, third.revision), (2, 3));
    assert!(third.holds.is_empty(), "{third:?}");

    // `experts.publish` sends the workshop again at that revision, empty.
    let reply = service.admin("experts.publish", &json!({})).await.unwrap();
    assert_eq!(reply["workshops"], json!(1));
    let again = WorkshopHolds::from_json(&holds.next(DEADLINE).await.payload).unwrap();
    assert_eq!(again, third);
}

#[tokio::test]
async fn a_workshop_nobody_can_staff_and_nobody_held_publishes_no_holds() {
    let service = TestService::spawn().await;
    let mut outcomes = service.outcomes().await;
    let id = workshop_id("housing");
    service
        .scheduled(&workshop(
            &id,
            EnquiryKind::ConsultativeSupport,
            &[Topic::Housing],
            &[("colombo", 5)],
            "2027-05-10T04:00:00Z",
            1,
        ))
        .await;
    match outcomes.next_for(&id).await {
        Outcome::Unfilled(_) => {}
        other => panic!("expected unfilled, got {other:?}"),
    }
    let mut holds = StreamReader::new(
        &service.js,
        subjects::STREAM_INTERNAL,
        subjects::INTERNAL_ROSTER_HOLDS,
    )
    .await;
    assert!(holds.collect_for(QUIET).await.is_empty());
}
