//! Intake end to end: a city publishes, the programme answers on
//! `ileaps.events.>`, and nothing a city sends stops intake.

use crate::helpers::{
    DEADLINE, TestApp, body, ce_type, codes, intake_def, outcome_of, settings, submission,
};
use contract::event_types::{ENQUIRY_SUBMIT, ENQUIRY_WITHDRAW};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn a_city_enquiry_is_received_on_the_programme_stream_without_personal_data() {
    let app = TestApp::spawn().await;
    let mut events = app.events().await;

    let inbound = app
        .submit("makassar", &submission("makassar", "MKS-1"))
        .await;

    let received = outcome_of(&mut events, &inbound).await;
    assert_eq!(ce_type(&received), "ileaps.enquiry.received.v1");
    assert_eq!(received.subject.as_str(), "ileaps.events.enquiry.received");
    let event = body(&received);
    assert_eq!(event["city"], "makassar");
    assert_eq!(event["reference"], "MKS-1");
    assert_eq!(event["timeZone"], "Asia/Makassar");
    // From the registry: scheduling avoids that country's holidays.
    assert_eq!(event["country"], "ID");
    assert_eq!(event["beneficiary"], true);
    assert_eq!(event["priority"], true);
    assert_eq!(event["kind"], "JOINT_WORKSHOP");
    let raw = String::from_utf8_lossy(&received.payload);
    for personal in [
        "A. Rahman",
        "innovation.office@makassar.example",
        "+62 411 123",
    ] {
        assert!(!raw.contains(personal), "{personal} leaked into {raw}");
    }
    // The contact travels only on the internal stream.
    let mut internal = test_support::StreamReader::new(
        &app.js,
        contract::subjects::STREAM_INTERNAL,
        contract::subjects::INTERNAL_ENQUIRY_CONTACT,
    )
    .await;
    let contact = body(&internal.next(DEADLINE).await);
    assert_eq!(contact["email"], "innovation.office@makassar.example");
    assert_eq!(contact["enquiryId"], event["enquiryId"]);
    assert_eq!(contact["preferredLanguage"], "id");
    app.stop().await;
}

#[tokio::test]
async fn the_same_message_twice_gets_one_outcome() {
    let app = TestApp::spawn().await;
    let mut events = app.events().await;
    let headers = test_support::city_headers("colombo", ENQUIRY_SUBMIT);
    let payload = submission("colombo", "CMB-7").to_string();
    app.publish_raw(
        "ileaps.inbound.colombo.enquiry",
        headers.clone(),
        payload.clone(),
    )
    .await;
    // Past JetStream's duplicate window the same ce-id arrives as a new
    // stream message: the inbox must catch it.
    let mut again = headers;
    again.insert("Nats-Msg-Id", "a-later-retry-of-the-same-message");
    app.publish_raw("ileaps.inbound.colombo.enquiry", again, payload)
        .await;

    let outcomes = events.collect_for(Duration::from_secs(2)).await;
    let enquiry_outcomes: Vec<_> = outcomes
        .iter()
        .filter(|m| m.subject.starts_with("ileaps.events.enquiry."))
        .collect();
    assert_eq!(enquiry_outcomes.len(), 1, "expected one outcome");
    assert_eq!(ce_type(enquiry_outcomes[0]), "ileaps.enquiry.received.v1");
    app.stop().await;
}

#[tokio::test]
async fn a_resubmission_is_a_no_op_and_other_content_under_the_same_reference_is_a_conflict() {
    let app = TestApp::spawn().await;
    let mut events = app.events().await;
    let original = submission("colombo", "CMB-8");
    let first = app.submit("colombo", &original).await;
    let received = outcome_of(&mut events, &first).await;
    assert_eq!(ce_type(&received), "ileaps.enquiry.received.v1");

    // Same content, new message: nothing new happens.
    let mut reordered = serde_json::Map::new();
    for (k, v) in original.as_object().unwrap().iter().rev() {
        reordered.insert(k.clone(), v.clone());
    }
    app.submit("colombo", &serde_json::Value::Object(reordered))
        .await;
    // Other content under the same reference: REFERENCE_CONFLICT.
    let mut changed = original.clone();
    changed["participants"] = json!(30);
    let conflict = app.submit("colombo", &changed).await;

    let rejected = outcome_of(&mut events, &conflict).await;
    assert_eq!(ce_type(&rejected), "ileaps.enquiry.rejected.v1");
    assert_eq!(codes(&rejected), ["REFERENCE_CONFLICT"]);
    let rest = events.collect_for(Duration::from_secs(1)).await;
    assert!(
        rest.iter()
            .all(|m| !m.subject.starts_with("ileaps.events.enquiry.")),
        "the resubmission produced an outcome"
    );
    app.stop().await;
}

#[tokio::test]
async fn another_citys_code_in_the_body_is_a_city_mismatch() {
    let app = TestApp::spawn().await;
    let mut events = app.events().await;
    let inbound = app.submit("makassar", &submission("colombo", "X-1")).await;
    let rejected = outcome_of(&mut events, &inbound).await;
    assert_eq!(codes(&rejected), ["CITY_MISMATCH"]);
    // The rejection names the city that sent it, not the one it claimed.
    assert_eq!(body(&rejected)["city"], "makassar");
    app.stop().await;
}

#[tokio::test]
async fn an_unregistered_city_is_rejected_as_unknown() {
    let app = TestApp::spawn().await;
    let mut events = app.events().await;
    let inbound = app
        .submit("atlantis", &submission("atlantis", "ATL-1"))
        .await;
    assert_eq!(
        codes(&outcome_of(&mut events, &inbound).await),
        ["UNKNOWN_CITY"]
    );
    app.stop().await;
}

#[tokio::test]
async fn garbage_a_missing_type_and_an_oversized_body_are_rejected_and_intake_keeps_going() {
    let app = TestApp::spawn().await;
    let mut events = app.events().await;

    let garbage = app
        .publish_as("dhaka", ENQUIRY_SUBMIT, &b"\x00\xff{not json"[..])
        .await;
    let mut no_type = test_support::city_headers("cebu", ENQUIRY_SUBMIT);
    no_type.insert("ce-type", "");
    let no_type_id = no_type.get("ce-id").unwrap().as_str().to_owned();
    app.publish_raw(
        "ileaps.inbound.cebu.enquiry",
        no_type,
        submission("cebu", "C-1").to_string(),
    )
    .await;
    let mut huge = submission("makassar", "MKS-HUGE");
    huge["description"] = json!("x".repeat(70 * 1024));
    let oversized = app.submit("makassar", &huge).await;
    let wrong_type = app
        .publish_as(
            "colombo",
            "ileaps.enquiry.cancel.v9",
            submission("colombo", "C-2").to_string(),
        )
        .await;
    // And a good one after all that, from another city.
    let good = app
        .submit("hulhumale", &submission("hulhumale", "HUL-1"))
        .await;

    assert_eq!(
        codes(&outcome_of(&mut events, &garbage).await),
        ["MALFORMED"]
    );
    let missing = outcome_of(&mut events, &no_type_id).await;
    assert_eq!(codes(&missing), ["MISSING_ATTRIBUTE"]);
    assert_eq!(body(&missing)["reasons"][0]["field"], "ce-type");
    assert_eq!(
        codes(&outcome_of(&mut events, &oversized).await),
        ["PAYLOAD_TOO_LARGE"]
    );
    assert_eq!(
        codes(&outcome_of(&mut events, &wrong_type).await),
        ["UNSUPPORTED_TYPE"]
    );
    assert_eq!(
        ce_type(&outcome_of(&mut events, &good).await),
        "ileaps.enquiry.received.v1"
    );
    app.stop().await;
}

#[tokio::test]
async fn every_reason_is_reported_not_only_the_first() {
    let app = TestApp::spawn().await;
    let mut events = app.events().await;
    let today = chrono::Utc::now().date_naive();
    let mut careless = submission("chandigarh", "CHD-1");
    careless["topics"] = json!(["SOCIAL_INNOVATION", "SMART_BEACHES"]);
    careless["preferredWindow"] = json!({
        "start": (today - chrono::Days::new(3)).to_string(),
        "end": (today + chrono::Days::new(500)).to_string(),
    });
    careless["contact"] = json!({"name": "R. Singh", "email": "not-an-address"});
    let inbound = app.submit("chandigarh", &careless).await;
    let rejected = outcome_of(&mut events, &inbound).await;
    let found = codes(&rejected);
    for code in ["INVALID_FIELD", "WINDOW_IN_PAST", "WINDOW_TOO_LONG"] {
        assert!(
            found.iter().any(|c| c == code),
            "{code} missing from {found:?}"
        );
    }
    let fields: Vec<String> = body(&rejected)["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["field"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(fields.contains(&"topics[1]".to_owned()), "{fields:?}");
    assert!(fields.contains(&"contact.email".to_owned()), "{fields:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_withdrawal_is_announced_and_a_withdrawal_of_an_unknown_reference_is_rejected() {
    let app = TestApp::spawn().await;
    let mut events = app.events().await;
    let accepted = app.submit("colombo", &submission("colombo", "CMB-W")).await;
    let received = body(&outcome_of(&mut events, &accepted).await);

    let withdraw = json!({"reference": "CMB-W", "city": "colombo", "reason": "Budget year closed"});
    app.publish_as("colombo", ENQUIRY_WITHDRAW, withdraw.to_string())
        .await;
    let withdrawn = events
        .next_matching(DEADLINE, |m| {
            m.subject.as_str() == "ileaps.events.enquiry.withdrawn"
        })
        .await;
    assert_eq!(body(&withdrawn)["enquiryId"], received["enquiryId"]);

    let unknown = json!({"reference": "NEVER-SENT", "city": "colombo"});
    let inbound = app
        .publish_as("colombo", ENQUIRY_WITHDRAW, unknown.to_string())
        .await;
    assert_eq!(
        codes(&outcome_of(&mut events, &inbound).await),
        ["UNKNOWN_ENQUIRY"]
    );
    app.stop().await;
}

#[tokio::test]
async fn a_city_can_ask_the_status_of_its_own_enquiries_only() {
    let app = TestApp::spawn().await;
    let mut events = app.events().await;
    let inbound = app
        .submit("makassar", &submission("makassar", "MKS-Q"))
        .await;
    let received = body(&outcome_of(&mut events, &inbound).await);

    let ask = |city: &str, reference: &str| {
        let client = app.client.clone();
        let subject = format!("ileaps.query.{city}.enquiry");
        let request = json!({ "reference": reference }).to_string();
        async move {
            let reply = client
                .request(subject, request.into())
                .await
                .expect("a reply");
            serde_json::from_slice::<serde_json::Value>(&reply.payload).unwrap()
        }
    };
    let own = ask("makassar", "MKS-Q").await;
    assert_eq!(own["status"], "RECEIVED");
    assert_eq!(own["enquiryId"], received["enquiryId"]);
    let others = ask("colombo", "MKS-Q").await;
    assert_eq!(others["error"]["code"], "UNKNOWN_ENQUIRY");
    app.stop().await;
}

#[tokio::test]
async fn health_readiness_and_metrics_are_served() {
    let app = TestApp::spawn().await;
    let mut events = app.events().await;
    let inbound = app
        .submit("makassar", &submission("makassar", "MKS-M"))
        .await;
    outcome_of(&mut events, &inbound).await;
    let base = format!("http://{}", app.http);
    let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    let metrics = test_support::eventually("the consumed counter", DEADLINE, || async {
        let text = reqwest::get(format!("{base}/metrics"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        text.contains("ileaps_enquiries_total").then_some(text)
    })
    .await;
    assert!(
        metrics.contains("ileaps_messages_consumed_total"),
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test]
async fn one_reference_twice_in_one_batch_is_settled_as_if_they_came_one_by_one() {
    let app = TestApp::spawn().await;
    // Intake stops; the messages wait in the stream, so the restarted
    // intake pulls them together. The consumer hands over what has arrived
    // when it looks, so a batch can still split: each round is checked in
    // full, and rounds repeat (new references) until one was handled as a
    // single batch, which is what this test is about.
    let (nats, db, js) = app.stop_keeping_infra().await;
    let mut events = test_support::StreamReader::new(
        &js,
        contract::subjects::STREAM_EVENTS,
        "ileaps.events.enquiry.>",
    )
    .await;
    for round in 0..5 {
        if reference_twice_round(&nats, &db, &js, &mut events, round).await {
            return;
        }
    }
    panic!("in 5 rounds the messages never arrived in one batch");
}

/// One round: messages about one reference published while intake is
/// stopped, then intake started, checked and stopped again. Whether the
/// three were handled in one batch.
async fn reference_twice_round(
    nats: &test_support::TestNats,
    db: &test_support::TestDb,
    js: &async_nats::jetstream::Context,
    events: &mut test_support::StreamReader,
    round: usize,
) -> bool {
    let publish = |headers: async_nats::HeaderMap, body: String| {
        let js = js.clone();
        async move {
            js.publish_with_headers("ileaps.inbound.colombo.enquiry", headers, body.into())
                .await
                .expect("publish")
                .await
                .expect("JetStream ack");
        }
    };
    let submit = |body: serde_json::Value| {
        let headers = test_support::city_headers("colombo", ENQUIRY_SUBMIT);
        let id = headers.get("ce-id").unwrap().as_str().to_owned();
        (headers, body.to_string(), id)
    };
    // JetStream may hand over the first message on its own.
    let (headers, text, _) = submit(submission("colombo", &format!("CMB-A{round}")));
    publish(headers, text).await;
    let reference = format!("CMB-B{round}");
    let original = submission("colombo", &reference);
    let (headers, text, first) = submit(original.clone());
    publish(headers.clone(), text.clone()).await;
    // A later copy of the same message (the inbox drops it)...
    let mut copy = headers;
    copy.insert("Nats-Msg-Id", format!("a-later-retry-{round}").as_str());
    publish(copy, text).await;
    // ...the same content in a new message (a no-op)...
    let (headers, text, resubmission) = submit(original.clone());
    publish(headers, text).await;
    // ...and other content under the same reference (a conflict).
    let mut changed = original;
    changed["participants"] = json!(30);
    let (headers, text, conflict) = submit(changed);
    publish(headers, text).await;

    let shutdown = tokio_util::sync::CancellationToken::new();
    let intake = service_kit::app::App::start(
        settings(&nats.url(), &db.url),
        vec![intake_def()],
        shutdown.clone(),
    )
    .await
    .expect("intake starts again");
    let running = tokio::spawn(intake.wait());

    let received = outcome_of(events, &first).await;
    assert_eq!(ce_type(&received), "ileaps.enquiry.received.v1");
    let rejected = outcome_of(events, &conflict).await;
    assert_eq!(ce_type(&rejected), "ileaps.enquiry.rejected.v1");
    assert_eq!(codes(&rejected), ["REFERENCE_CONFLICT"]);
    let rest = events.collect_for(Duration::from_secs(1)).await;
    let about_it: Vec<_> = rest
        .iter()
        .filter(|m| body(m)["reference"] == reference.as_str())
        .map(ce_type)
        .collect();
    assert!(
        about_it.is_empty(),
        "more outcomes for {reference}: {about_it:?}"
    );
    let recorded: Vec<String> =
        sqlx::query_scalar("SELECT inbound_id FROM intake.enquiries WHERE reference = $1")
            .bind(&reference)
            .fetch_all(&db.pool)
            .await
            .expect("the enquiries are readable");
    assert_eq!(
        recorded,
        std::slice::from_ref(&first),
        "the first submission won"
    );
    // Handled in one batch when their inbox rows share a transaction.
    let handled_at: Vec<chrono::DateTime<chrono::Utc>> = sqlx::query_scalar(
        "SELECT DISTINCT processed_at FROM intake.inbox \
         WHERE split_part(id, '#', 1) = ANY($1)",
    )
    .bind(vec![first, resubmission, conflict])
    .fetch_all(&db.pool)
    .await
    .expect("the inbox is readable");

    shutdown.cancel();
    running
        .await
        .expect("app task")
        .expect("intake stops cleanly");
    handled_at.len() == 1
}
