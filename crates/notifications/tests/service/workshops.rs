//! Confirmations, changes and cancellations of workshops.

use crate::helpers::*;
use chrono::{Duration, Utc};
use contract::proto::assignment::v1::ExpertRole;
use contract::proto::workshop::v1::{WorkshopCancelled, WorkshopRescheduled};
use contract::{Service, subjects};

/// Two cities, two experts, a workshop staffed: everyone is told, each city
/// on its own feed only, with local times.
#[tokio::test]
async fn a_staffed_workshop_is_confirmed_to_each_city_and_expert() {
    let service = TestService::spawn().await;
    let mut makassar_feed = service.city_feed("makassar").await;
    let mut colombo_feed = service.city_feed("colombo").await;
    let makassar = enquiry("makassar", "MKS-1", "Asia/Makassar");
    let colombo = enquiry("colombo", "CMB-1", "Asia/Colombo");
    // Experts' contacts first: once the cities' acknowledgements are out,
    // the contacts consumer (in stream order) has handled them too.
    service
        .expert("lee", "lee@seoul.example", "ko", "Asia/Seoul")
        .await;
    service
        .expert("park", "park@seoul.example", "en", "Asia/Seoul")
        .await;
    service
        .accept(&makassar, "mks@makassar.example", "id")
        .await;
    service.accept(&colombo, "cmb@colombo.example", "en").await;
    service.smtp.wait_for(2, DEADLINE).await;
    assert_eq!(
        ce_type(&makassar_feed.next(DEADLINE).await),
        "ileaps.city.enquiry.received.v1"
    );
    assert_eq!(
        ce_type(&colombo_feed.next(DEADLINE).await),
        "ileaps.city.enquiry.received.v1"
    );

    // 03:30 UTC is 09:00 in Colombo and 11:30 in Makassar.
    let start = "2027-02-10T03:30:00Z".parse().unwrap();
    let workshop = workshop(&[&makassar, &colombo], start);
    service.scheduled(&workshop).await;
    service
        .made(
            &workshop,
            &[("lee", ExpertRole::Lead), ("park", ExpertRole::Support)],
        )
        .await;

    let mail = service.smtp.wait_for(6, DEADLINE).await;
    let confirmations: Vec<_> = mail[2..].iter().collect();
    let mut to: Vec<_> = confirmations.iter().map(|m| m.rcpt_to[0].clone()).collect();
    to.sort();
    assert_eq!(
        to,
        [
            "cmb@colombo.example",
            "lee@seoul.example",
            "mks@makassar.example",
            "park@seoul.example"
        ]
    );
    let colombo_mail = confirmations
        .iter()
        .find(|m| m.rcpt_to[0] == "cmb@colombo.example")
        .unwrap();
    let text = colombo_mail.text.clone().unwrap();
    assert!(text.contains("CMB-1"), "{text}");
    assert!(text.contains("09:00"), "Colombo's local time: {text}");
    assert!(text.contains("03:30"), "UTC: {text}");
    assert!(text.contains("Expert lee"), "{text}");

    let notice = colombo_feed.next(DEADLINE).await;
    assert_eq!(
        notice.subject.as_str(),
        "ileaps.outbound.colombo.workshop.confirmed"
    );
    let body = json(&notice);
    assert_eq!(body["reference"], "CMB-1");
    assert_eq!(body["enquiryId"], colombo.enquiry_id.as_str());
    assert_eq!(
        body["sessions"][0]["localStart"],
        "2027-02-10T09:00:00+05:30"
    );
    assert_eq!(body["experts"].as_array().unwrap().len(), 2);
    let notice = makassar_feed.next(DEADLINE).await;
    assert_eq!(json(&notice)["reference"], "MKS-1");
    assert_eq!(
        json(&notice)["sessions"][0]["localStart"],
        "2027-02-10T11:30:00+08:00"
    );
    // Nothing of one city on the other's feed.
    for message in colombo_feed.rest(QUIET).await {
        assert!(message.subject.starts_with("ileaps.outbound.colombo."));
    }
}

#[tokio::test]
async fn a_repeated_or_unchanged_staffing_confirms_nothing_again() {
    let service = TestService::spawn().await;
    let city = enquiry("makassar", "MKS-2", "Asia/Makassar");
    service
        .expert("lee", "lee@seoul.example", "en", "Asia/Seoul")
        .await;
    service.accept(&city, "mks@makassar.example", "en").await;
    service.smtp.wait_for(1, DEADLINE).await;
    let workshop = workshop(&[&city], Utc::now() + Duration::days(30));
    service.scheduled(&workshop).await;
    let made = service.made(&workshop, &[("lee", ExpertRole::Lead)]).await;
    service.smtp.wait_for(3, DEADLINE).await;

    // The same event delivered again (a new Nats-Msg-Id, so JetStream does
    // not drop it: only notifications' inbox can).
    let mut again = made.clone();
    again.insert("Nats-Msg-Id", uuid::Uuid::now_v7().to_string().as_str());
    let body = made_for(&workshop, &[("lee", ExpertRole::Lead)]);
    service
        .publish_with(
            subjects::ASSIGNMENT_MADE,
            again,
            contract::CloudEvent::to_json(&body),
        )
        .await;
    // Another staffing of the same version with the same people.
    service.made(&workshop, &[("lee", ExpertRole::Lead)]).await;
    service.sentinel(4).await;
    assert_eq!(service.smtp.messages().len(), 4);
}

#[tokio::test]
async fn new_dates_and_cancellation_reach_everyone_who_was_told() {
    let service = TestService::spawn().await;
    let mut feed = service.city_feed("colombo").await;
    let city = enquiry("colombo", "CMB-7", "Asia/Colombo");
    service
        .expert("lee", "lee@seoul.example", "en", "Asia/Seoul")
        .await;
    service.accept(&city, "cmb@colombo.example", "en").await;
    service.smtp.wait_for(1, DEADLINE).await;
    let start = Utc::now() + Duration::days(30);
    let mut workshop = workshop(&[&city], start);
    service.scheduled(&workshop).await;
    service.made(&workshop, &[("lee", ExpertRole::Lead)]).await;
    service.smtp.wait_for(3, DEADLINE).await;
    feed.next(DEADLINE).await; // received
    feed.next(DEADLINE).await; // confirmed

    // New dates: told at once, then confirmed again once re-staffed.
    workshop.version = 2;
    let moved = start + Duration::days(2);
    let rescheduled = WorkshopRescheduled {
        workshop_id: workshop.workshop_id.clone(),
        version: 2,
        sessions: vec![contract::proto::common::v1::Session {
            start: Some(timestamp(moved)),
            end: Some(timestamp(moved + Duration::hours(3))),
        }],
        reason: "EXPERT_UNAVAILABLE".into(),
        proposed_team: Vec::new(),
    };
    service
        .publish(
            Service::Scheduling,
            subjects::WORKSHOP_RESCHEDULED,
            &workshop.workshop_id,
            &rescheduled,
        )
        .await;
    let notice = feed.next(DEADLINE).await;
    assert_eq!(ce_type(&notice), "ileaps.city.workshop.rescheduled.v1");
    assert_eq!(json(&notice)["version"], 2);
    service.smtp.wait_for(5, DEADLINE).await;
    service.made(&workshop, &[("lee", ExpertRole::Lead)]).await;
    let notice = feed.next(DEADLINE).await;
    assert_eq!(ce_type(&notice), "ileaps.city.workshop.confirmed.v1");
    assert_eq!(json(&notice)["version"], 2);
    service.smtp.wait_for(7, DEADLINE).await;

    let cancelled = WorkshopCancelled {
        workshop_id: workshop.workshop_id.clone(),
        version: 2,
        reason: "ALL_CITIES_WITHDREW".into(),
    };
    service
        .publish(
            Service::Scheduling,
            subjects::WORKSHOP_CANCELLED,
            &workshop.workshop_id,
            &cancelled,
        )
        .await;
    let notice = feed.next(DEADLINE).await;
    assert_eq!(ce_type(&notice), "ileaps.city.workshop.cancelled.v1");
    let mail = service.smtp.wait_for(9, DEADLINE).await;
    let mut last: Vec<_> = mail[7..].iter().map(|m| m.rcpt_to[0].clone()).collect();
    last.sort();
    assert_eq!(last, ["cmb@colombo.example", "lee@seoul.example"]);
    // The reminders of the cancelled workshop will never be sent.
    assert_eq!(
        service
            .count_deliveries("PENDING", "WORKSHOP_REMINDER")
            .await,
        0
    );
    assert!(
        service
            .count_deliveries("CANCELLED", "WORKSHOP_REMINDER")
            .await
            > 0
    );
}

/// An expert's address travels on another stream than the staffing: when it
/// is late, the confirmation waits for it instead of failing.
#[tokio::test]
async fn a_confirmation_waits_for_an_address_that_arrives_late() {
    let service = TestService::spawn().await;
    let city = enquiry("makassar", "MKS-L", "Asia/Makassar");
    service.accept(&city, "mks@makassar.example", "en").await;
    service.smtp.wait_for(1, DEADLINE).await;
    let workshop = workshop(&[&city], Utc::now() + Duration::days(30));
    service.scheduled(&workshop).await;
    service.made(&workshop, &[("late", ExpertRole::Lead)]).await;
    // The staffing was tried and failed (redelivered), and is offered again
    // while the address is missing.
    let consumer = service
        .js
        .get_consumer_from_stream::<async_nats::jetstream::consumer::pull::Config, _, _>(
            notifications::handlers::EVENTS_CONSUMER,
            subjects::STREAM_EVENTS,
        )
        .await
        .expect("notifications' consumer");
    test_support::eventually("the staffing retried", DEADLINE, || {
        let mut consumer = consumer.clone();
        async move {
            let info = consumer.info().await.ok()?;
            (info.num_redelivered > 0).then_some(())
        }
    })
    .await;
    assert_eq!(service.smtp.messages().len(), 1, "nothing confirmed yet");

    service
        .expert("late", "late@seoul.example", "en", "Asia/Seoul")
        .await;
    let mail = service.smtp.wait_for(3, DEADLINE).await;
    let mut to: Vec<_> = mail[1..].iter().map(|m| m.rcpt_to[0].clone()).collect();
    to.sort();
    assert_eq!(to, ["late@seoul.example", "mks@makassar.example"]);
}
