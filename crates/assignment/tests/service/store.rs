//! The store on its own: the database refuses a double booking.

use assignment::domain::{Commitment, ExpertId, Period};
use assignment::roster::RosterFile;
use assignment::store::{self, WorkshopRow};
use contract::proto::assignment::v1::ExpertRole;
use messaging::HandlerError;
use test_support::test_db;

use crate::helpers::at;

fn row(id: &str) -> WorkshopRow {
    WorkshopRow {
        id: id.to_owned(),
        version: 1,
        status: store::ACTIVE.to_owned(),
        kind: "PILOT_PROJECT".to_owned(),
        format: "IN_PERSON".to_owned(),
        topics: vec!["TRANSPORT".to_owned()],
        languages: vec!["en".to_owned()],
        cities: vec!["colombo".to_owned()],
        participants: 5,
        session_starts: vec![],
        session_ends: vec![],
    }
}

fn hold_of(expert: &ExpertId, workshop: &str, start: &str, end: &str) -> Commitment {
    Commitment {
        expert_id: expert.clone(),
        workshop_id: workshop.to_owned(),
        period: Period::new(at(start), at(end)).unwrap(),
        month: (2027, 9),
    }
}

#[tokio::test]
async fn the_exclusion_constraint_refuses_an_overlapping_hold_and_it_is_retryable() {
    let db = test_db().await;
    messaging::migrate(&db.url, &assignment::schema(), &assignment::MIGRATIONS)
        .await
        .unwrap();
    let roster = RosterFile::parse(
        "experts:\n  - {id: only-one, displayName: O, email: o@seoul.example, topics: [TRANSPORT], languages: [en], timeZone: Asia/Seoul}\n",
    )
    .unwrap();
    let mut conn = db.pool.acquire().await.unwrap();
    store::upsert_expert(&mut conn, &roster.entries[0])
        .await
        .unwrap();
    for id in ["w1", "w2", "w3"] {
        assert!(store::put_workshop(&mut conn, &row(id)).await.unwrap());
    }
    let expert = ExpertId::parse("only-one").unwrap();
    let first = hold_of(
        &expert,
        "w1",
        "2027-09-01T00:00:00Z",
        "2027-09-06T00:00:00Z",
    );
    store::hold(&mut conn, "w1", &expert, ExpertRole::Lead, 1, &first)
        .await
        .unwrap();

    let overlapping = hold_of(
        &expert,
        "w2",
        "2027-09-05T00:00:00Z",
        "2027-09-06T00:00:00Z",
    );
    let error = store::hold(&mut conn, "w2", &expert, ExpertRole::Lead, 1, &overlapping)
        .await
        .unwrap_err();
    let code = error.as_database_error().and_then(|e| e.code()).unwrap();
    assert_eq!(code, "23P01", "{error}");
    assert!(matches!(
        HandlerError::from(error),
        HandlerError::Retryable(_)
    ));

    // Back to back is fine: periods are half-open.
    let next = hold_of(
        &expert,
        "w3",
        "2027-09-06T00:00:00Z",
        "2027-09-07T00:00:00Z",
    );
    store::hold(&mut conn, "w3", &expert, ExpertRole::Lead, 1, &next)
        .await
        .unwrap();

    // A released hold no longer blocks.
    store::release(&mut conn, "w1", None, 2).await.unwrap();
    store::hold(&mut conn, "w2", &expert, ExpertRole::Lead, 1, &overlapping)
        .await
        .unwrap_or_else(|e| panic!("still blocked after release: {e}"));
}
