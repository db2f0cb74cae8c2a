//! Retries, refusals, crashes and reminders: nothing lost, nothing sent
//! twice without the receiver being able to tell.

use crate::helpers::*;
use chrono::{Duration, Utc};
use contract::proto::assignment::v1::ExpertRole;
use contract::proto::workshop::v1::WorkshopCancelled;
use contract::{Service, subjects};
use serde_json::json;
use std::time::Duration as StdDuration;
use test_support::WebhookReceiver;

/// The next `notification.failed` (skipping deliveries).
async fn next_failure(
    events: &mut test_support::StreamReader,
) -> contract::proto::notification::v1::NotificationFailed {
    loop {
        if let Announced::Failed(failed) = announced(&events.next(DEADLINE).await) {
            return failed;
        }
    }
}

#[tokio::test]
async fn a_permanent_smtp_refusal_fails_at_once_and_is_announced() {
    let service = TestService::spawn().await;
    let mut events = service.notification_events().await;
    let city = enquiry("makassar", "MKS-R", "Asia/Makassar");
    service
        .accept(&city, "refuse-me@makassar.example", "en")
        .await;
    let failed = next_failure(&mut events).await;
    assert_eq!(failed.channel().as_str_name(), "EMAIL");
    assert_eq!(failed.recipient_ref, "makassar");
    assert_eq!(failed.last_error_class, "PERMANENT_REFUSAL");
    assert_eq!(failed.attempts, 1);
    assert!(service.smtp.messages().is_empty());
}

#[tokio::test]
async fn a_temporary_refusal_is_retried_until_the_last_attempt() {
    let service = TestService::spawn().await;
    let mut events = service.notification_events().await;
    let city = enquiry("makassar", "MKS-T", "Asia/Makassar");
    service.accept(&city, "later@makassar.example", "en").await;
    let failed = next_failure(&mut events).await;
    assert_eq!(failed.last_error_class, "TEMPORARY_REFUSAL");
    assert_eq!(failed.attempts, service.settings.retry.max_attempts);
}

#[tokio::test]
async fn an_smtp_outage_is_retried_until_the_server_is_back() {
    let mut service = TestService::spawn_with(|s| {
        s.retry.max_attempts = 20;
        s.retry.base = StdDuration::from_millis(300);
    })
    .await;
    let mut events = service.notification_events().await;
    service.smtp.stop().await;
    let city = enquiry("colombo", "CMB-O", "Asia/Colombo");
    service.accept(&city, "office@colombo.example", "en").await;
    // Wait until an attempt has failed, then bring the server back.
    let pool = sqlx::PgPool::connect(&service.db.url).await.unwrap();
    test_support::eventually("a failed email attempt", DEADLINE, || async {
        let class: Option<String> = sqlx::query_scalar(
            "SELECT last_error_class FROM notifications.deliveries WHERE channel = 'EMAIL'",
        )
        .fetch_optional(&pool)
        .await
        .unwrap()
        .flatten();
        class.filter(|c| c == "CONNECTION")
    })
    .await;
    service.smtp.restart().await;
    let mail = service.smtp.wait_for(1, DEADLINE).await;
    assert_eq!(mail[0].rcpt_to, vec!["office@colombo.example"]);
    loop {
        if let Announced::Delivered(d) = announced(&events.next(DEADLINE).await)
            && d.channel().as_str_name() == "EMAIL"
        {
            assert!(d.attempts >= 2, "{d:?}");
            break;
        }
    }
}

/// A process killed after the receiver got the request but before the
/// result was recorded sends it again after restart, with the same
/// webhook-id and body, so the receiver can tell it is the same message.
#[tokio::test]
async fn a_crash_between_sending_and_recording_resends_with_the_same_id() {
    // A short lease, so the crashed attempt is taken up again soon.
    let mut service = TestService::spawn_with(|s| {
        s.send_timeout = StdDuration::from_secs(4);
        s.lease = StdDuration::from_secs(5);
    })
    .await;
    let receiver = WebhookReceiver::start_with_delay([200], StdDuration::from_secs(1)).await;
    service
        .admin(
            "webhooks.add",
            &json!({
                "url": receiver.url(),
                "allowPrivate": true,
                "eventTypes": ["ileaps.enquiry.received.v1"],
            }),
        )
        .await
        .expect("endpoint added");
    let city = enquiry("makassar", "MKS-C", "Asia/Makassar");
    service.received(&city).await;
    let first = receiver.wait_for(1, DEADLINE).await;
    service.crash();

    service.start().await;
    let both = receiver.wait_for(2, DEADLINE).await;
    assert_eq!(both.len(), 2);
    assert_eq!(first[0].header("webhook-id"), both[1].header("webhook-id"));
    assert_eq!(first[0].body, both[1].body);
    // Then it is recorded once, and never sent a third time.
    let mut events = service.notification_events().await;
    loop {
        if let Announced::Delivered(d) = announced(&events.next(DEADLINE).await)
            && d.channel().as_str_name() == "WEBHOOK"
        {
            assert_eq!(d.attempts, 2);
            break;
        }
    }
    assert_eq!(receiver.requests().len(), 2);
}

/// Reminders are rows with a due time: they fire after a restart, and a
/// cancelled workshop's never do.
#[tokio::test]
async fn reminders_fire_after_a_restart_and_not_after_a_cancellation() {
    let mut service = TestService::spawn_with(|s| s.reminder_days = vec![7]).await;
    let kept_city = enquiry("makassar", "MKS-K", "Asia/Makassar");
    let gone_city = enquiry("colombo", "CMB-G", "Asia/Colombo");
    // Experts' contacts first: once the cities' acknowledgements are out,
    // the contacts consumer (in stream order) has handled them too.
    service
        .expert("lee", "lee@seoul.example", "en", "Asia/Seoul")
        .await;
    service
        .expert("kim", "kim@seoul.example", "en", "Asia/Seoul")
        .await;
    service
        .accept(&kept_city, "kept@makassar.example", "en")
        .await;
    service
        .accept(&gone_city, "gone@colombo.example", "en")
        .await;
    service.smtp.wait_for(2, DEADLINE).await;
    // A little over seven days ahead: the 7-day reminder is due in an hour.
    let start = Utc::now() + Duration::days(7) + Duration::hours(1);
    let kept = workshop(&[&kept_city], start);
    let gone = workshop(&[&gone_city], start);
    service.scheduled(&kept).await;
    service.scheduled(&gone).await;
    service.made(&kept, &[("lee", ExpertRole::Lead)]).await;
    service.made(&gone, &[("kim", ExpertRole::Lead)]).await;
    service.smtp.wait_for(6, DEADLINE).await;

    let cancelled = WorkshopCancelled {
        workshop_id: gone.workshop_id.clone(),
        version: 1,
        reason: "ALL_CITIES_WITHDREW".into(),
    };
    service
        .publish(
            Service::Scheduling,
            subjects::WORKSHOP_CANCELLED,
            &gone.workshop_id,
            &cancelled,
        )
        .await;
    service.smtp.wait_for(8, DEADLINE).await;
    // The kept workshop's reminders wait as rows (city email and feed, expert).
    test_support::eventually("3 pending reminders", DEADLINE, || async {
        (service
            .count_deliveries("PENDING", "WORKSHOP_REMINDER")
            .await
            == 3)
            .then_some(())
    })
    .await;
    service.stop().await;

    // Down while the reminders fall due: the hour passes at once, for the
    // cancelled workshop's reminders too.
    let pool = sqlx::PgPool::connect(&service.db.url).await.unwrap();
    let moved = sqlx::query(
        "UPDATE notifications.deliveries SET due_at = now() - interval '1 second'
         WHERE notice = 'WORKSHOP_REMINDER'",
    )
    .execute(&pool)
    .await
    .unwrap()
    .rows_affected();
    assert_eq!(moved, 6, "3 reminders per workshop");
    pool.close().await;
    service.start().await;
    let mut feed = service.city_feed("makassar").await;
    let mail = service.smtp.wait_for(10, DEADLINE).await;
    let mut reminded: Vec<_> = mail[8..].iter().map(|m| m.rcpt_to[0].clone()).collect();
    reminded.sort();
    assert_eq!(reminded, ["kept@makassar.example", "lee@seoul.example"]);
    let notices: Vec<String> = {
        let mut seen = Vec::new();
        while seen.len() < 3 {
            seen.push(ce_type(&feed.next(DEADLINE).await));
        }
        seen
    };
    assert_eq!(
        notices,
        [
            "ileaps.city.enquiry.received.v1",
            "ileaps.city.workshop.confirmed.v1",
            "ileaps.city.workshop.reminder.v1"
        ]
    );
    service.sentinel(11).await;
    assert!(
        !service
            .smtp
            .messages()
            .iter()
            .skip(8)
            .any(|m| m.rcpt_to[0] == "gone@colombo.example" || m.rcpt_to[0] == "kim@seoul.example"),
        "no reminder for the cancelled workshop"
    );
}
