//! `WebhookSender` against real HTTP receivers.

use crate::{DEADLINE, closed_port};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use notifications::channels::webhook::{WebhookSender, WebhookTarget};
use notifications::channels::{ErrorClass, SendError};
use notifications::domain::WebhookSecret;
use sha2::Sha256;
use std::time::Duration;
use test_support::WebhookReceiver;
use url::Url;

const BODY: &[u8] = br#"{"type":"ileaps.workshop.staffed.v1","workshopId":"w-1"}"#;

fn target(url: &str, allow_private: bool) -> WebhookTarget {
    WebhookTarget {
        url: Url::parse(url).expect("a URL"),
        secret: WebhookSecret::generate(),
        allow_private,
    }
}

fn sender() -> WebhookSender {
    WebhookSender::new(Duration::from_secs(10))
}

/// A whole second, as the header carries it.
fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(Utc::now().timestamp(), 0).expect("a valid time")
}

fn assert_failure(result: Result<(), SendError>, permanent: bool, class: ErrorClass) {
    let error = result.expect_err("the send fails");
    assert_eq!(error.is_permanent(), permanent, "{error}");
    assert_eq!(error.class(), class, "{error}");
}

/// The Standard Webhooks signature computed here, from the secret's text
/// form, independently of the code under test.
fn expected_signature(secret: &WebhookSecret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let text = secret.to_text();
    let key = BASE64
        .decode(text.strip_prefix("whsec_").expect("whsec_ prefix"))
        .expect("base64 key");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn a_webhook_arrives_signed_with_the_three_standard_headers() {
    let receiver = WebhookReceiver::start([200]).await;
    let target = target(&receiver.url(), true);
    let sent_at = now();

    sender()
        .send(&target, "msg_0192-abc", sent_at, BODY)
        .await
        .expect("delivered");

    let request = receiver.wait_for(1, DEADLINE).await.remove(0);
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/webhook");
    assert_eq!(request.body, BODY);
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert!(
        request
            .header("user-agent")
            .is_some_and(|agent| agent.starts_with("ileaps-notifications/"))
    );
    assert_eq!(request.header("webhook-id"), Some("msg_0192-abc"));
    let timestamp = request.header("webhook-timestamp").expect("timestamp");
    assert_eq!(timestamp, sent_at.timestamp().to_string());
    let signature = request.header("webhook-signature").expect("signature");
    assert_eq!(
        signature,
        expected_signature(&target.secret, "msg_0192-abc", sent_at.timestamp(), BODY)
    );
    target
        .secret
        .verify(
            "msg_0192-abc",
            timestamp,
            signature,
            &request.body,
            Utc::now().timestamp(),
            Duration::from_secs(300),
        )
        .expect("the receiver-side check accepts it");
}

#[tokio::test]
async fn a_host_name_is_resolved_and_called_at_the_checked_address() {
    let receiver = WebhookReceiver::start([204]).await;
    let url = format!(
        "http://localhost:{}/hooks/ileaps",
        receiver.address().port()
    );

    sender()
        .send(&target(&url, true), "msg_1", now(), BODY)
        .await
        .expect("delivered through the resolved address");

    let request = receiver.wait_for(1, DEADLINE).await.remove(0);
    assert_eq!(request.path, "/hooks/ileaps");
}

#[tokio::test]
async fn a_server_error_is_transient_and_the_retry_carries_the_same_id() {
    let receiver = WebhookReceiver::start([500, 200]).await;
    let target = target(&receiver.url(), true);

    let first = sender().send(&target, "msg_2", now(), BODY).await;
    assert_failure(first, false, ErrorClass::TemporaryRefusal);
    sender()
        .send(&target, "msg_2", now(), BODY)
        .await
        .expect("the retry is delivered");

    let requests = receiver.wait_for(2, DEADLINE).await;
    assert_eq!(requests[0].status, 500);
    assert_eq!(requests[1].status, 200);
    assert_eq!(requests[0].header("webhook-id"), Some("msg_2"));
    assert_eq!(requests[1].header("webhook-id"), Some("msg_2"));
}

#[tokio::test]
async fn too_many_requests_is_transient() {
    let receiver = WebhookReceiver::start([429]).await;

    let result = sender()
        .send(&target(&receiver.url(), true), "msg_3", now(), BODY)
        .await;

    assert_failure(result, false, ErrorClass::TemporaryRefusal);
}

#[tokio::test]
async fn gone_is_a_permanent_refusal() {
    let receiver = WebhookReceiver::start([410]).await;

    let result = sender()
        .send(&target(&receiver.url(), true), "msg_4", now(), BODY)
        .await;

    assert_failure(result, true, ErrorClass::PermanentRefusal);
    assert_eq!(receiver.requests().len(), 1);
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let receiver = WebhookReceiver::start([307]).await;

    let result = sender()
        .send(&target(&receiver.url(), true), "msg_5", now(), BODY)
        .await;

    assert_failure(result, false, ErrorClass::TemporaryRefusal);
    assert_eq!(receiver.requests().len(), 1);
}

#[tokio::test]
async fn a_loopback_target_without_allow_private_is_refused_and_never_called() {
    let receiver = WebhookReceiver::start([200]).await;
    let by_name = format!("http://localhost:{}/webhook", receiver.address().port());

    for url in [receiver.url(), by_name] {
        let result = sender()
            .send(&target(&url, false), "msg_6", now(), BODY)
            .await;
        assert_failure(result, true, ErrorClass::TargetNotAllowed);
    }

    assert!(receiver.requests().is_empty());
}

#[tokio::test]
async fn a_receiver_slower_than_the_timeout_is_a_timeout() {
    let receiver = WebhookReceiver::start_with_delay([200], Duration::from_secs(30)).await;
    let sender = WebhookSender::new(Duration::from_millis(500));

    let result = sender
        .send(&target(&receiver.url(), true), "msg_7", now(), BODY)
        .await;

    assert_failure(result, false, ErrorClass::Timeout);
    assert_eq!(receiver.requests().len(), 1);
}

#[tokio::test]
async fn a_receiver_that_is_not_there_is_a_transient_connection_failure() {
    let url = format!("http://127.0.0.1:{}/webhook", closed_port());

    let result = sender()
        .send(&target(&url, true), "msg_8", now(), BODY)
        .await;

    assert_failure(result, false, ErrorClass::Connection);
}

#[tokio::test]
async fn https_to_a_plain_http_receiver_is_a_tls_failure() {
    let receiver = WebhookReceiver::start([200]).await;
    let url = format!("https://127.0.0.1:{}/webhook", receiver.address().port());

    let result = sender()
        .send(&target(&url, true), "msg_9", now(), BODY)
        .await;

    assert_failure(result, false, ErrorClass::Tls);
    assert!(receiver.requests().is_empty());
}
