//! The transactional outbox and its relay: rows written in a transaction reach
//! JetStream exactly once, whatever happens to the broker or the relay.

use crate::support::{
    DEADLINE, Harness, QUIET, Recorder, SCHEMA, ce_ids, received_consumer, received_event,
};
use contract::envelope::NATS_MSG_ID;
use contract::subjects;
use sqlx::Row;
use std::collections::BTreeMap;
use test_support::{StreamReader, eventually};
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn rows_written_while_nats_is_down_are_published_once_it_is_back() {
    let mut h = Harness::start().await;
    h.nats.server().stop().await;

    // The service's own transaction does not need the broker.
    let ids = h.enqueue((1..=5).map(received_event).collect()).await;

    // A relay step with the broker away fails and leaves every row pending.
    let relay = h.relay();
    let attempt = relay.publish_pending().await;
    assert!(
        attempt.is_err(),
        "publishing with the broker down must fail, got {attempt:?}"
    );
    assert!(
        h.outbox_rows()
            .await
            .iter()
            .all(|(_, published)| !published),
        "no row may be marked published while the broker is down"
    );

    // The relay keeps trying while the broker is away...
    let stop = CancellationToken::new();
    let running = tokio::spawn(relay.run(stop.clone()));
    h.nats.server().restart().await.expect("nats restarts");

    // ...and publishes everything once it is back.
    eventually(
        "every outbox row to be marked published",
        DEADLINE,
        || async {
            let rows = h.outbox_rows().await;
            rows.iter().all(|(_, published)| *published).then_some(())
        },
    )
    .await;
    let mut reader =
        StreamReader::new(&h.js, subjects::STREAM_EVENTS, subjects::ENQUIRY_RECEIVED).await;
    let on_stream = ce_ids(&reader.collect_for(QUIET).await);
    assert_eq!(
        on_stream, ids,
        "every row exactly once, in the order written"
    );

    stop.cancel();
    running.await.expect("the relay stops cleanly");
}

#[tokio::test]
async fn a_relay_killed_after_publishing_but_before_marking_causes_no_second_delivery() {
    let h = Harness::start().await;
    let ids = h.enqueue(vec![received_event(1)]).await;

    // A relay published the pending row exactly as stored, then died before
    // marking it.
    let row = sqlx::query(&format!(
        "SELECT subject, headers, body FROM {SCHEMA}.outbox"
    ))
    .fetch_one(&h.db.pool)
    .await
    .expect("one pending row");
    let subject: String = row.get(0);
    let headers = messaging::headers::from_lines(row.get(1));
    let body: Vec<u8> = row.get(2);
    assert_eq!(
        headers.get(NATS_MSG_ID).map(|v| v.as_str()),
        Some(ids[0].as_str()),
        "the stored headers carry Nats-Msg-Id = ce-id"
    );
    let first = h.publish(&subject, headers.clone(), &body).await;
    assert!(!first.duplicate);

    // The next relay publishes it again, and JetStream drops the copy.
    let relayed = h.relay().publish_pending().await.expect("the relay runs");
    assert_eq!(relayed, 1);
    assert_eq!(h.outbox_rows().await, vec![(ids[0].clone(), true)]);
    let mut reader =
        StreamReader::new(&h.js, subjects::STREAM_EVENTS, subjects::ENQUIRY_RECEIVED).await;
    assert_eq!(
        ce_ids(&reader.collect_for(QUIET).await),
        ids,
        "JetStream keeps one copy"
    );

    // Past JetStream's duplicate window a copy would be stored: force one.
    let mut late = headers.clone();
    late.insert(NATS_MSG_ID, format!("late-{}", ids[0]).as_str());
    let second = h.publish(&subject, late, &body).await;
    assert!(!second.duplicate, "the forced copy is stored");
    assert_eq!(h.stream_messages(subjects::STREAM_EVENTS).await, 2);

    // A consumer sees both copies and handles the event once.
    let handler = Recorder::succeeding();
    let spec = received_consumer();
    let name = spec.name.clone();
    h.spawn_consumer(spec, handler.clone());
    h.wait_consumed(&name, "ok", 1).await;
    h.wait_consumed(&name, "duplicate", 1).await;
    assert_eq!(handler.attempts().len(), 1, "{:?}", handler.attempts());
    let effects = h.effects().await;
    assert_eq!(effects.len(), 1, "{effects:?}");
    assert_eq!(effects[0].ce_id, ids[0]);
    assert_eq!(h.consumed(&name, "ok"), 1);
    assert_eq!(h.consumed(&name, "duplicate"), 1);
}

#[tokio::test]
async fn outbox_replay_republishes_since_a_time() {
    let h = Harness::start().await;
    let relay = h.relay();
    let older = h.enqueue((1..=2).map(received_event).collect()).await;
    // The database's clock, which stamps the rows' created_at.
    let since: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&h.db.pool)
        .await
        .expect("the time");
    let newer = h.enqueue((3..=5).map(received_event).collect()).await;
    assert_eq!(relay.publish_pending().await.expect("relayed"), 5);
    assert_eq!(h.stream_messages(subjects::STREAM_EVENTS).await, 5);

    // The broker loses the events.
    h.js.get_stream(subjects::STREAM_EVENTS)
        .await
        .expect("the events stream")
        .purge()
        .await
        .expect("purged");
    assert_eq!(h.stream_messages(subjects::STREAM_EVENTS).await, 0);

    let republished = relay.replay_since(since).await.expect("replayed");
    assert_eq!(republished, newer.len());
    let mut reader =
        StreamReader::new(&h.js, subjects::STREAM_EVENTS, subjects::ENQUIRY_RECEIVED).await;
    let back = reader.collect_for(QUIET).await;
    assert_eq!(
        ce_ids(&back),
        newer,
        "the events written since then come back, those before ({older:?}) do not"
    );
    // With their original identity (ce-id) and a fresh Nats-Msg-Id, so the
    // broker's duplicate window cannot swallow them.
    for message in &back {
        let msg_id = message
            .headers
            .as_ref()
            .and_then(|h| h.get(NATS_MSG_ID))
            .map(|v| v.as_str().to_owned())
            .unwrap_or_default();
        let ce_id = contract::envelope::header(message.headers.as_ref(), contract::envelope::ID)
            .unwrap_or_default();
        assert!(
            msg_id.starts_with("replay:") && msg_id.ends_with(ce_id),
            "{msg_id} for {ce_id}"
        );
    }
    let bodies: Vec<_> = back
        .iter()
        .map(|m| String::from_utf8_lossy(&m.payload).into_owned())
        .collect();
    assert_eq!(bodies, [r#"{"n":3}"#, r#"{"n":4}"#, r#"{"n":5}"#]);
}

#[tokio::test]
async fn an_outbox_replay_after_the_broker_lost_its_stream_changes_nothing_for_consumers_that_had_the_events()
 {
    let h = Harness::start().await;
    let relay = h.relay();
    let since: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&h.db.pool)
        .await
        .expect("the time");
    let ids = h.enqueue((1..=3).map(received_event).collect()).await;
    relay.publish_pending().await.expect("relayed");

    let handler = Recorder::succeeding();
    let spec = received_consumer();
    let name = spec.name.clone();
    h.spawn_consumer(spec, handler.clone());
    h.wait_consumed(&name, "ok", 3).await;

    // The broker loses the stream (its consumers with it); the next service
    // start provisions it again, empty.
    h.js.delete_stream(subjects::STREAM_EVENTS)
        .await
        .expect("the events stream is deleted");
    messaging::provision_streams(&h.js, &messaging::StreamSettings::default())
        .await
        .expect("the streams are provisioned again");

    // An operator replays the outbox over the operator command.
    let admin = messaging::admin::AdminCommands::new(
        contract::Service::Intake,
        h.js.clone(),
        relay.clone(),
    );
    tokio::spawn(admin.serve(h.client.clone(), h.shutdown.clone()));
    let reply = eventually("outbox.replay to answer", DEADLINE, || async {
        messaging::admin::request(
            &h.client,
            contract::Service::Intake,
            "outbox.replay",
            &serde_json::json!({ "since": since }),
            std::time::Duration::from_secs(5),
        )
        .await
        .ok()
    })
    .await;
    assert_eq!(reply, serde_json::json!({ "republished": 3 }));
    let mut reader =
        StreamReader::new(&h.js, subjects::STREAM_EVENTS, subjects::ENQUIRY_RECEIVED).await;
    assert_eq!(
        ce_ids(&reader.collect_for(QUIET).await),
        ids,
        "the events are back"
    );

    // The consumer finds its stream again, sees the events anew, and its
    // inbox drops them.
    h.wait_consumed(&name, "duplicate", 3).await;
    let handled: BTreeMap<String, usize> =
        handler
            .attempts()
            .into_iter()
            .fold(BTreeMap::new(), |mut counts, attempt| {
                *counts.entry(attempt.ce_id).or_default() += 1;
                counts
            });
    assert_eq!(
        handled,
        ids.iter()
            .map(|id| (id.clone(), 1))
            .collect::<BTreeMap<_, _>>(),
        "each event handled once"
    );
    assert_eq!(h.effects().await.len(), 3);
    assert_eq!(h.consumed(&name, "ok"), 3);
}

/// A relay that would not look for work on its own for an hour.
fn sleepy() -> messaging::RelaySettings {
    messaging::RelaySettings {
        poll_interval: std::time::Duration::from_secs(3600),
        ..messaging::RelaySettings::default()
    }
}

#[tokio::test]
async fn a_relay_is_woken_as_soon_as_a_transaction_commits() {
    let h = Harness::start().await;
    let stop = CancellationToken::new();
    let running = tokio::spawn(h.relay_with(sleepy()).run(stop.clone()));
    // The relay has looked once, found nothing, and gone to sleep.
    eventually("the relay's first look", DEADLINE, || async {
        h.reported_backlog().map(|_| ())
    })
    .await;

    let ids = h.enqueue((1..=3).map(received_event).collect()).await;
    h.outbox.wake_relay();

    eventually("the woken relay to publish", DEADLINE, || async {
        let rows = h.outbox_rows().await;
        rows.iter().all(|(_, published)| *published).then_some(())
    })
    .await;
    let mut reader =
        StreamReader::new(&h.js, subjects::STREAM_EVENTS, subjects::ENQUIRY_RECEIVED).await;
    assert_eq!(ce_ids(&reader.collect_for(QUIET).await), ids);
    stop.cancel();
    running.await.expect("the relay stops cleanly");
}

#[tokio::test]
async fn a_stopping_relay_publishes_what_is_pending_before_it_returns() {
    let h = Harness::start().await;
    let stop = CancellationToken::new();
    let running = tokio::spawn(h.relay_with(sleepy()).run(stop.clone()));
    eventually("the relay's first look", DEADLINE, || async {
        h.reported_backlog().map(|_| ())
    })
    .await;

    // Written by the last batch before shutdown; nobody wakes the relay.
    let ids = h.enqueue((1..=3).map(received_event).collect()).await;
    stop.cancel();
    tokio::time::timeout(DEADLINE, running)
        .await
        .expect("the relay returns once stopped")
        .expect("the relay stops cleanly");

    assert!(
        h.outbox_rows()
            .await
            .iter()
            .all(|(_, published)| *published),
        "flushed before returning"
    );
    let mut reader =
        StreamReader::new(&h.js, subjects::STREAM_EVENTS, subjects::ENQUIRY_RECEIVED).await;
    assert_eq!(ce_ids(&reader.collect_for(QUIET).await), ids);
}

#[tokio::test]
async fn two_relays_on_one_outbox_share_the_rows_and_publish_each_once() {
    let h = Harness::start().await;
    let ids = h.enqueue((1..=300).map(received_event).collect()).await;
    let small_windows = messaging::RelaySettings {
        window: 10,
        ..messaging::RelaySettings::default()
    };
    let (a, b) = (
        h.relay_with(small_windows.clone()),
        h.relay_with(small_windows),
    );

    let (from_a, from_b) = tokio::join!(a.publish_pending(), b.publish_pending());
    let (from_a, from_b) = (from_a.expect("relay a"), from_b.expect("relay b"));
    // Rows are claimed with SKIP LOCKED: no row is published by both.
    assert_eq!(from_a + from_b, ids.len(), "a: {from_a}, b: {from_b}");
    assert!(
        h.outbox_rows()
            .await
            .iter()
            .all(|(_, published)| *published)
    );

    let mut reader =
        StreamReader::new(&h.js, subjects::STREAM_EVENTS, subjects::ENQUIRY_RECEIVED).await;
    let mut on_stream = ce_ids(&reader.collect_for(QUIET).await);
    on_stream.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(on_stream, expected, "every row once");
}

#[tokio::test]
async fn the_outbox_backlog_metric_counts_rows_stuck_while_nats_is_down() {
    let mut h = Harness::start().await;
    let relay = h.relay();
    relay.publish_pending().await.expect("nothing to publish");
    assert_eq!(h.reported_backlog(), Some(0));

    h.nats.server().stop().await;
    h.enqueue((1..=4).map(received_event).collect()).await;
    relay
        .publish_pending()
        .await
        .expect_err("the broker is down");

    // What operators alert on: rows written but not published.
    assert_eq!(
        h.reported_backlog(),
        Some(4),
        "the backlog gauge must show the stuck rows while publishing fails"
    );
}
