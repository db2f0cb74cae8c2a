//! `assignment.made` and `assignment.unfilled`: staffed, or moved to later
//! dates until the tries run out.

use crate::helpers::{TestService, enquiry, expert, span, utc};
use contract::proto::assignment::v1::ExpertRole;
use contract::proto::common::v1::DateWindow;

#[tokio::test]
async fn unfilled_moves_the_workshop_later_three_times_then_gives_up_with_no_expert_after_retries()
{
    let mut service = TestService::spawn().await;
    let makassar = enquiry("makassar", "Asia/Makassar");
    service.receive(&makassar).await;
    let scheduled = service.next().await.scheduled();
    let id = scheduled.workshop_id.clone();
    let mut first = span(&scheduled.sessions[0]).0;

    for version in 1..=3 {
        service.unfilled(&id, version).await;
        let moved = service.next().await.rescheduled();
        assert_eq!(moved.workshop_id, id);
        assert_eq!(moved.version, version + 1);
        assert_eq!(moved.reason, "NO_EXPERT: ALL_EXPERTS_BUSY");
        let start = span(&moved.sessions[0]).0;
        assert!(
            start > first,
            "try {version} moved to {start}, not after {first}"
        );
        assert_eq!(moved.sessions.len(), 2);
        first = start;
    }

    service.unfilled(&id, 4).await;
    let gave_up = service.next().await.unschedulable();
    assert_eq!(gave_up.reason_code, "NO_EXPERT_AFTER_RETRIES");
    assert_eq!(gave_up.enquiry_id, makassar.enquiry_id);
    assert_eq!(gave_up.city, "makassar");
    assert_eq!(gave_up.workshop_id, id);
    let cancelled = service.next().await.cancelled();
    assert_eq!(cancelled.workshop_id, id);
    assert_eq!(cancelled.version, 5);
    assert!(
        cancelled.reason.starts_with("NO_EXPERT_AFTER_RETRIES"),
        "{}",
        cancelled.reason
    );

    let listed = service.list().await;
    assert_eq!(listed[0]["status"], "UNSCHEDULABLE");
    assert_eq!(listed[0]["reschedules"], 3);
    service.stop().await;
}

#[tokio::test]
async fn an_unfilled_for_an_older_version_is_ignored() {
    let mut service = TestService::spawn().await;
    service.receive(&enquiry("makassar", "Asia/Makassar")).await;
    let first = service.next().await.scheduled();
    service.receive(&enquiry("colombo", "Asia/Colombo")).await;
    let joined = service.next().await.scheduled();
    assert_eq!(joined.version, 2);

    service.unfilled(&first.workshop_id, 1).await;
    service.unfilled(&first.workshop_id, 2).await;
    // Events are handled in order: had the stale one done anything, it
    // would come first.
    let moved = service.next().await.rescheduled();
    assert_eq!(moved.version, 3);
    service.stop().await;
}

#[tokio::test]
async fn assignment_made_for_the_current_version_marks_the_workshop_staffed_and_a_stale_one_does_not()
 {
    let mut service = TestService::spawn().await;
    service.receive(&enquiry("makassar", "Asia/Makassar")).await;
    let first = service.next().await.scheduled();
    service.made(&first.workshop_id, 1).await;
    let staffed = test_support::eventually("version 1 staffed", crate::helpers::DEADLINE, || {
        let service = &service;
        async move {
            let listed = service.list().await;
            (listed[0]["staffed"] == true).then_some(listed)
        }
    })
    .await;
    assert_eq!(staffed[0]["staffedVersion"], 1);
    assert_eq!(staffed[0]["cities"][0]["city"], "makassar");

    service.receive(&enquiry("colombo", "Asia/Colombo")).await;
    assert_eq!(service.next().await.scheduled().version, 2);
    service.made(&first.workshop_id, 1).await;
    // A stale `made`, then something observable after it in the stream.
    service.unfilled(&first.workshop_id, 2).await;
    assert_eq!(service.next().await.rescheduled().version, 3);
    let listed = service.list().await;
    assert_eq!(listed[0]["version"], 3);
    assert_eq!(listed[0]["staffed"], false);
    assert_eq!(listed[0]["staffedVersion"], 1);
    service.stop().await;
}

/// Kim, the only expert, goes on leave for `first`–`last` after the
/// workshop was planned with them (a new profile revision), and assignment
/// reports the workshop unfilled.
async fn kim_goes_on_leave(service: &TestService, first: &str, last: &str) {
    let mut away = expert("kim");
    away.revision = 2;
    away.unavailable = vec![DateWindow {
        start: first.to_owned(),
        end: last.to_owned(),
    }];
    service.send_profile(&away).await;
    test_support::eventually("the leave is read", crate::helpers::DEADLINE, || async {
        let mut conn = service.pool().acquire().await.ok()?;
        let experts = scheduling::roster::roster(&mut conn).await.ok()?;
        (!experts.first()?.unavailable.is_empty()).then_some(())
    })
    .await;
}

#[tokio::test]
async fn with_a_roster_unfilled_moves_the_workshop_to_the_first_dates_an_expert_is_free() {
    let mut service = TestService::spawn().await;
    service.roster_of(&[expert("kim")]).await;
    let makassar = enquiry("makassar", "Asia/Makassar");
    service.receive(&makassar).await;
    let scheduled = service.next().await.scheduled();
    let (start, _) = span(&scheduled.sessions[0]);
    assert!(
        start < utc("2027-02-10T00:00:00Z"),
        "alone, the earliest dates: {start}"
    );

    kim_goes_on_leave(&service, "2027-02-01", "2027-02-28").await;
    service.unfilled(&scheduled.workshop_id, 1).await;
    let moved = service.next().await.rescheduled();
    assert_eq!(moved.version, 2);
    assert_eq!(moved.reason, "NO_EXPERT: ALL_EXPERTS_BUSY");
    let (start, _) = span(&moved.sessions[0]);
    // Not the next working day (first-fit's retry): past the leave, on
    // 1 March in Makassar (UTC+8) at the earliest.
    assert!(
        start >= utc("2027-02-28T16:00:00Z"),
        "moved past the leave: {start}"
    );
    let team: Vec<(&str, ExpertRole)> = moved
        .proposed_team
        .iter()
        .map(|p| (p.expert_id.as_str(), p.role()))
        .collect();
    assert_eq!(team, [("kim", ExpertRole::Lead)]);
    service.stop().await;
}

#[tokio::test]
async fn with_a_roster_and_nobody_free_on_a_later_date_unfilled_gives_up_at_once() {
    let mut service = TestService::spawn().await;
    service.roster_of(&[expert("kim")]).await;
    let makassar = enquiry("makassar", "Asia/Makassar");
    service.receive(&makassar).await;
    let scheduled = service.next().await.scheduled();

    kim_goes_on_leave(&service, "2027-02-01", "2027-03-31").await;
    service.unfilled(&scheduled.workshop_id, 1).await;
    let gave_up = service.next().await.unschedulable();
    assert_eq!(gave_up.reason_code, "NO_EXPERT_AFTER_RETRIES");
    assert_eq!(gave_up.enquiry_id, makassar.enquiry_id);
    assert!(
        gave_up
            .detail
            .contains("no later date in the window has one free"),
        "{}",
        gave_up.detail
    );
    let cancelled = service.next().await.cancelled();
    assert_eq!(cancelled.version, 2);
    let listed = service.list().await;
    assert_eq!(listed[0]["status"], "UNSCHEDULABLE");
    assert_eq!(listed[0]["reschedules"], 0, "no date was tried in vain");
    service.stop().await;
}
