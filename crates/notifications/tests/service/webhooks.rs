//! Integrators' webhooks: signed per Standard Webhooks, retried on 5xx,
//! stopped by 410, refused on private targets unless allowed.

use crate::helpers::*;
use chrono::Utc;
use notifications::domain::WebhookSecret;
use serde_json::json;
use test_support::WebhookReceiver;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async fn add(service: &TestService, receiver: &WebhookReceiver) -> String {
    let reply = service
        .admin(
            "webhooks.add",
            &json!({ "url": receiver.url(), "secret": SECRET, "allowPrivate": true }),
        )
        .await
        .expect("endpoint added");
    reply["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_programme_event_reaches_the_endpoint_signed() {
    let service = TestService::spawn().await;
    let receiver = WebhookReceiver::start([200]).await;
    add(&service, &receiver).await;
    let city = enquiry("makassar", "MKS-W", "Asia/Makassar");
    service.accept(&city, "mks@makassar.example", "en").await;

    let requests = receiver.wait_for(1, DEADLINE).await;
    let request = &requests[0];
    let id = request.header("webhook-id").expect("webhook-id");
    let timestamp = request
        .header("webhook-timestamp")
        .expect("webhook-timestamp");
    let signature = request
        .header("webhook-signature")
        .expect("webhook-signature");
    WebhookSecret::parse(SECRET)
        .unwrap()
        .verify(
            id,
            timestamp,
            signature,
            &request.body,
            Utc::now().timestamp(),
            std::time::Duration::from_secs(300),
        )
        .expect("the signature verifies with the endpoint's secret");
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["type"], "ileaps.enquiry.received.v1");
    assert_eq!(body["data"]["reference"], "MKS-W");
    // Programme events carry no personal data, and nor does the webhook.
    assert!(!String::from_utf8_lossy(&request.body).contains("mks@makassar.example"));
    // A tampered body does not verify.
    let mut tampered = request.body.clone();
    tampered.push(b' ');
    assert!(
        WebhookSecret::parse(SECRET)
            .unwrap()
            .verify(
                id,
                timestamp,
                signature,
                &tampered,
                Utc::now().timestamp(),
                std::time::Duration::from_secs(300)
            )
            .is_err()
    );
    // Notifications' own events are not offered: the endpoint got exactly
    // the one programme event.
    service.sentinel(2).await;
    let types: Vec<String> = receiver
        .requests()
        .iter()
        .map(|r| {
            serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(
        types.iter().all(|t| !t.starts_with("ileaps.notification.")),
        "{types:?}"
    );
}

#[tokio::test]
async fn a_500_is_retried_and_a_410_is_not() {
    let service = TestService::spawn().await;
    let flaky = WebhookReceiver::start([500, 200]).await;
    let gone = WebhookReceiver::start([410]).await;
    let flaky_id = add(&service, &flaky).await;
    let gone_id = add(&service, &gone).await;
    let mut events = service.notification_events().await;
    let city = enquiry("colombo", "CMB-W", "Asia/Colombo");
    service.received(&city).await;

    let (mut delivered, mut failed) = (None, None);
    while delivered.is_none() || failed.is_none() {
        match announced(&events.next(DEADLINE).await) {
            Announced::Delivered(d) if d.recipient_ref == flaky_id => delivered = Some(d),
            Announced::Failed(f) if f.recipient_ref == gone_id => failed = Some(f),
            _ => {}
        }
    }
    assert_eq!(delivered.unwrap().attempts, 2);
    let failed = failed.unwrap();
    assert_eq!(failed.attempts, 1);
    assert_eq!(failed.last_error_class, "PERMANENT_REFUSAL");
    assert_eq!(flaky.requests().len(), 2);
    assert_eq!(gone.requests().len(), 1);
    // Both attempts of the retried one are the same message.
    let requests = flaky.requests();
    assert_eq!(
        requests[0].header("webhook-id"),
        requests[1].header("webhook-id")
    );
}

#[tokio::test]
async fn a_private_target_is_refused_unless_allowed_and_endpoints_can_be_removed() {
    let service = TestService::spawn().await;
    let receiver = WebhookReceiver::start([200]).await;
    let refused = service
        .admin(
            "webhooks.add",
            &json!({ "url": receiver.url(), "secret": SECRET }),
        )
        .await
        .expect_err("loopback is refused without allowPrivate");
    assert_eq!(refused.code, "TARGET_NOT_ALLOWED");
    for url in [
        "http://10.0.0.5/hook",
        "http://169.254.169.254/latest",
        "ftp://example.org/x",
    ] {
        let refused = service
            .admin("webhooks.add", &json!({ "url": url, "secret": SECRET }))
            .await
            .expect_err(url);
        assert_eq!(refused.code, "TARGET_NOT_ALLOWED", "{url}");
    }
    let bad_secret = service
        .admin(
            "webhooks.add",
            &json!({ "url": "https://hooks.example.org/ileaps", "secret": "hunter2" }),
        )
        .await
        .expect_err("not a whsec_ secret");
    assert_eq!(bad_secret.code, "INVALID_SECRET");

    let id = add(&service, &receiver).await;
    let listed = service.admin("webhooks.list", &json!({})).await.unwrap();
    assert_eq!(listed["endpoints"][0]["id"], id.as_str());
    assert!(
        !listed.to_string().contains(SECRET),
        "secrets are never listed"
    );
    service
        .admin("webhooks.remove", &json!({ "id": id }))
        .await
        .unwrap();
    let city = enquiry("makassar", "MKS-X", "Asia/Makassar");
    service.accept(&city, "mks@makassar.example", "en").await;
    service.sentinel(2).await;
    assert!(receiver.requests().is_empty());
}
