//! The consumer loop: the inbox makes redeliveries harmless, retryable
//! failures are retried, and a savepoint per message keeps one failure from
//! undoing the rest of its batch.

use crate::support::{DEADLINE, Harness, POISON, QUIET, Recorder, inbound_consumer, is_poisoned};
use contract::envelope::{ID, NATS_MSG_ID};
use contract::event_types::ENQUIRY_SUBMIT;
use contract::{Service, subjects};
use messaging::HandlerError;
use messaging::dlq;
use test_support::{StreamReader, city_headers};

const LYON: &str = "ileaps.inbound.lyon.enquiry";

fn database_trouble() -> HandlerError {
    HandlerError::Retryable(Box::new(std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "the database went away",
    )))
}

#[tokio::test]
async fn a_redelivered_message_changes_nothing() {
    let h = Harness::start().await;
    let handler = Recorder::succeeding();
    let spec = inbound_consumer();
    let name = spec.name.clone();
    h.spawn_consumer(spec, handler.clone());

    let headers = city_headers("lyon", ENQUIRY_SUBMIT);
    let ce_id = headers.get(ID).expect("a ce-id").as_str().to_owned();
    h.publish(LYON, headers.clone(), br#"{"reference":"L-1"}"#)
        .await;
    h.wait_consumed(&name, "ok", 1).await;

    // The same message again, as a city retrying after a lost ack would send
    // it once JetStream's duplicate window has passed: same ce-source and
    // ce-id, another Nats-Msg-Id.
    let mut again = headers.clone();
    again.insert(NATS_MSG_ID, format!("retry-{ce_id}").as_str());
    let ack = h.publish(LYON, again, br#"{"reference":"L-1"}"#).await;
    assert!(!ack.duplicate, "JetStream stores the second copy");
    h.wait_consumed(&name, "duplicate", 1).await;

    let effects = h.effects().await;
    assert_eq!(effects.len(), 1, "the effect happened once: {effects:?}");
    assert_eq!(effects[0].ce_id, ce_id);
    assert_eq!(handler.attempts().len(), 1, "the handler ran once");
    let page = h.metrics.render();
    assert!(
        page.contains(r#"consumer="enquiries",outcome="duplicate"} 1"#),
        "{page}"
    );
    assert_eq!(h.consumed(&name, "ok"), 1);
}

#[tokio::test]
async fn a_retryable_failure_is_retried_and_then_succeeds() {
    let h = Harness::start().await;
    // The database is in trouble for the first two deliveries.
    let handler = Recorder::new(|delivery| {
        if delivery.delivered <= 2 {
            Err(database_trouble())
        } else {
            Ok(())
        }
    });
    let spec = inbound_consumer();
    let name = spec.name.clone();
    h.spawn_consumer(spec, handler.clone());

    let headers = city_headers("lyon", ENQUIRY_SUBMIT);
    let ce_id = headers.get(ID).expect("a ce-id").as_str().to_owned();
    h.publish(LYON, headers, br#"{"reference":"L-2"}"#).await;
    h.wait_consumed(&name, "ok", 1).await;

    let deliveries: Vec<(i64, bool)> = handler
        .attempts()
        .iter()
        .map(|a| (a.delivered, a.succeeded))
        .collect();
    assert_eq!(deliveries, [(1, false), (2, false), (3, true)]);
    let effects = h.effects().await;
    assert_eq!(
        effects.len(),
        1,
        "failed attempts leave nothing behind: {effects:?}"
    );
    assert_eq!(effects[0].ce_id, ce_id);
    assert_eq!(effects[0].delivered, 3);
    assert_eq!(h.consumed(&name, "retried"), 2);
    assert_eq!(h.consumed(&name, "ok"), 1);
    assert_eq!(h.consumed(&name, "dead_lettered"), 0);
    assert!(
        dlq::list(&h.js, Service::Intake, 10)
            .await
            .expect("the DLQ is readable")
            .is_empty()
    );
    assert_eq!(h.stream_messages(subjects::STREAM_DLQ).await, 0);
}

#[tokio::test]
async fn a_message_still_failing_at_max_deliver_is_dead_lettered() {
    let h = Harness::start().await;
    let handler = Recorder::new(|_| Err(database_trouble()));
    let mut spec = inbound_consumer();
    spec.max_deliver = 3;
    let name = spec.name.clone();
    h.spawn_consumer(spec, handler.clone());

    let headers = city_headers("lyon", ENQUIRY_SUBMIT);
    h.publish(LYON, headers, br#"{"reference":"L-3"}"#).await;

    let mut dead =
        StreamReader::new(&h.js, subjects::STREAM_DLQ, &subjects::dlq(Service::Intake)).await;
    let letter = dead.next(DEADLINE).await;
    let reason = crate::support::header(&letter, dlq::REASON);
    assert!(
        reason.starts_with("still failing after 3 deliveries")
            && reason.contains("the database went away"),
        "{reason}"
    );
    assert_eq!(crate::support::header(&letter, dlq::DELIVERIES), "3");
    assert_eq!(handler.attempts().len(), 3);
    h.wait_consumed(&name, "dead_lettered", 1).await;
    assert_eq!(h.consumed(&name, "retried"), 2);
    assert!(h.effects().await.is_empty());
}

#[tokio::test]
async fn one_bad_message_in_a_batch_does_not_undo_the_others() {
    let h = Harness::start().await;

    // Five messages waiting before the consumer starts, so they arrive in one
    // batch; the third can never succeed.
    let mut ids = Vec::new();
    for n in 1..=5 {
        let mut headers = city_headers("lyon", ENQUIRY_SUBMIT);
        if n == 3 {
            headers.insert(POISON, "yes");
        }
        ids.push(headers.get(ID).expect("a ce-id").as_str().to_owned());
        h.publish(
            LYON,
            headers,
            format!(r#"{{"reference":"L-{n}"}}"#).as_bytes(),
        )
        .await;
    }
    let handler = Recorder::new(|delivery| {
        if is_poisoned(delivery) {
            Err(HandlerError::permanent("the enquiry can never be read"))
        } else {
            Ok(())
        }
    });
    let spec = inbound_consumer();
    let name = spec.name.clone();
    h.spawn_consumer(spec, handler.clone());
    h.wait_consumed(&name, "ok", 4).await;
    h.wait_consumed(&name, "dead_lettered", 1).await;

    let effects = h.effects().await;
    let committed: Vec<&str> = effects.iter().map(|e| e.ce_id.as_str()).collect();
    let good: Vec<&str> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 2)
        .map(|(_, id)| id.as_str())
        .collect();
    assert_eq!(
        committed, good,
        "the others' writes are committed, the bad one's is not"
    );

    // The bad message was handled in the same transaction as the others: its
    // own savepoint was rolled back, not the batch.
    let attempts = handler.attempts();
    let bad = attempts
        .iter()
        .find(|a| a.ce_id == ids[2])
        .expect("the bad message was handled");
    assert!(!bad.succeeded);
    assert!(
        effects.iter().all(|e| e.tx == bad.tx),
        "one batch, one transaction: {attempts:?}"
    );
    assert_eq!(handler.commits(), 1);

    let mut dead =
        StreamReader::new(&h.js, subjects::STREAM_DLQ, &subjects::dlq(Service::Intake)).await;
    let letters = dead.collect_for(QUIET).await;
    assert_eq!(letters.len(), 1);
    assert_eq!(crate::support::header(&letters[0], ID), ids[2]);
}
