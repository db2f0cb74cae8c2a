//! Two replicas racing for one expert.

use crate::helpers::*;
use contract::proto::common::v1::{EnquiryKind, Topic};
use futures::future::join_all;
use serde_json::json;
use std::collections::BTreeMap;

#[tokio::test]
async fn two_replicas_racing_for_one_expert_never_double_book_them() {
    let service = TestService::spawn_bare(2).await;
    assert_eq!(service.replicas(), 2);
    service
        .import(&json!({"experts": [{
            "id": "only-one", "displayName": "Only One", "email": "only@seoul.example",
            "topics": ["TRANSPORT"], "languages": ["en"], "timeZone": "Asia/Seoul",
            "monthlyLimit": 31
        }]}))
        .await
        .unwrap();
    let mut outcomes = service.outcomes().await;

    // Sixteen missions whose periods all overlap (each starts a day after
    // the previous one and lasts five), published at once.
    const COUNT: usize = 16;
    let ids: Vec<String> = (0..COUNT)
        .map(|i| workshop_id(&format!("race{i}")))
        .collect();
    let events: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            workshop(
                id,
                EnquiryKind::PilotProject,
                &[Topic::Transport],
                &[("colombo", 5)],
                &format!("2027-09-{:02}T03:30:00Z", 1 + i % 3),
                5,
            )
        })
        .collect();
    join_all(events.iter().map(|e| service.scheduled(e))).await;

    // Every workshop gets exactly one outcome.
    let mut outcome_of: BTreeMap<String, Outcome> = BTreeMap::new();
    while outcome_of.len() < COUNT {
        let message = outcomes.0.next(DEADLINE).await;
        let outcome = decode(&message);
        let previous = outcome_of.insert(outcome.workshop_id().to_owned(), outcome.clone());
        assert!(previous.is_none(), "a second outcome: {outcome:?}");
    }
    assert!(outcomes.rest().await.is_empty());

    let made: Vec<&String> = outcome_of
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Made(_)))
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        made.len(),
        1,
        "exactly one workshop gets the expert: {outcome_of:#?}"
    );
    for outcome in outcome_of.values() {
        if let Outcome::Unfilled(unfilled) = outcome {
            assert_eq!(unfilled.reason_code, "ALL_EXPERTS_BUSY", "{unfilled:?}");
        }
    }

    let holders: Vec<String> = sqlx::query_scalar(
        "SELECT workshop_id FROM assignment.assignments WHERE released_at IS NULL",
    )
    .fetch_all(&service.db.pool)
    .await
    .unwrap();
    assert_eq!(holders, [made[0].clone()]);
    let overlapping: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM assignment.assignments a JOIN assignment.assignments b
           ON a.expert_id = b.expert_id AND a.workshop_id < b.workshop_id AND a.period && b.period
         WHERE a.released_at IS NULL AND b.released_at IS NULL",
    )
    .fetch_one(&service.db.pool)
    .await
    .unwrap();
    assert_eq!(overlapping, 0);
}
