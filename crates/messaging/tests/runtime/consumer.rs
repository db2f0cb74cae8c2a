//! The consumer loop: the inbox makes redeliveries harmless, retryable
//! failures are retried, and a savepoint per message keeps one failure from
//! undoing the rest of its batch.

use crate::support::{DEADLINE, Harness, POISON, QUIET, Recorder, inbound_consumer, is_poisoned};
use contract::envelope::{ID, NATS_MSG_ID};
use contract::event_types::ENQUIRY_SUBMIT;
use contract::{Service, subjects};
use messaging::HandlerError;
use messaging::dlq;
use sqlx::Connection as _;
use test_support::{StreamReader, city_headers, eventually};

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

    // Nine messages waiting before the consumer starts, so they come in one
    // pull and are handled in few batches (JetStream may hand over the first
    // on its own); the one in the middle can never succeed.
    const BAD: usize = 4;
    let mut ids = Vec::new();
    for n in 0..9 {
        let mut headers = city_headers("lyon", ENQUIRY_SUBMIT);
        if n == BAD {
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
    h.wait_consumed(&name, "ok", 8).await;
    h.wait_consumed(&name, "dead_lettered", 1).await;

    let effects = h.effects().await;
    let committed: Vec<&str> = effects.iter().map(|e| e.ce_id.as_str()).collect();
    let good: Vec<&str> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != BAD)
        .map(|(_, id)| id.as_str())
        .collect();
    assert_eq!(
        committed, good,
        "the others' writes are committed, the bad one's is not"
    );

    // The bad message was handled inside a transaction that committed other
    // messages' writes: only its own savepoint was rolled back, not the batch.
    let attempts = handler.attempts();
    let bad = attempts
        .iter()
        .find(|a| a.ce_id == ids[BAD])
        .expect("the bad message was handled");
    assert!(!bad.succeeded);
    assert_eq!(attempts.len(), 9, "each message handled once: {attempts:?}");
    let batchmates = effects.iter().filter(|e| e.tx == bad.tx).count();
    assert!(
        batchmates > 0,
        "the bad message's transaction committed its batchmates' writes: {attempts:?}"
    );
    let transactions: std::collections::BTreeSet<i64> = attempts.iter().map(|a| a.tx).collect();
    assert_eq!(
        handler.commits(),
        transactions.len(),
        "every batch committed, the bad message's included"
    );

    let mut dead =
        StreamReader::new(&h.js, subjects::STREAM_DLQ, &subjects::dlq(Service::Intake)).await;
    let letters = dead.collect_for(QUIET).await;
    assert_eq!(letters.len(), 1);
    assert_eq!(crate::support::header(&letters[0], ID), ids[BAD]);
}

#[tokio::test]
async fn a_message_the_database_refuses_is_dead_lettered_without_aborting_its_batch() {
    let h = Harness::start().await;

    // The bad message's statement fails inside the batch's transaction, which
    // Postgres then refuses to use until its savepoint is rolled back.
    const BAD: usize = 4;
    let mut ids = Vec::new();
    for n in 0..9 {
        let mut headers = city_headers("lyon", ENQUIRY_SUBMIT);
        if n == BAD {
            headers.insert(POISON, "yes");
        }
        ids.push(headers.get(ID).expect("a ce-id").as_str().to_owned());
        h.publish(
            LYON,
            headers,
            format!(r#"{{"reference":"D-{n}"}}"#).as_bytes(),
        )
        .await;
    }
    let handler = Recorder::refused_by_the_database_when_poisoned();
    let spec = inbound_consumer();
    let name = spec.name.clone();
    h.spawn_consumer(spec, handler.clone());
    h.wait_consumed(&name, "ok", 8).await;
    h.wait_consumed(&name, "dead_lettered", 1).await;

    let effects = h.effects().await;
    let committed: Vec<&str> = effects.iter().map(|e| e.ce_id.as_str()).collect();
    let good: Vec<&str> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != BAD)
        .map(|(_, id)| id.as_str())
        .collect();
    assert_eq!(committed, good);
    let attempts = handler.attempts();
    let bad = attempts
        .iter()
        .find(|a| a.ce_id == ids[BAD])
        .expect("the bad message was handled");
    assert!(
        effects.iter().any(|e| e.tx == bad.tx),
        "the transaction the database error happened in still committed: {attempts:?}"
    );
    assert_eq!(h.consumed(&name, "retried"), 0, "nobody was retried");

    // A NOT NULL violation can never pass: dead-lettered at once, saying why.
    let mut dead =
        StreamReader::new(&h.js, subjects::STREAM_DLQ, &subjects::dlq(Service::Intake)).await;
    let letter = dead.next(DEADLINE).await;
    assert_eq!(crate::support::header(&letter, ID), ids[BAD]);
    let reason = crate::support::header(&letter, dlq::REASON);
    assert!(reason.contains("23502"), "{reason}");
    assert_eq!(crate::support::header(&letter, dlq::DELIVERIES), "1");
}

#[tokio::test]
async fn a_message_redelivered_to_another_replica_while_still_being_handled_takes_effect_once() {
    let h = Harness::start().await;
    let handler = Recorder::stalling_on_the_first_message();
    // Two replicas of one consumer; JetStream redelivers what is not acked
    // within a second.
    let mut spec = inbound_consumer();
    spec.ack_wait = std::time::Duration::from_secs(1);
    let name = spec.name.clone();
    h.spawn_consumer(spec.clone(), handler.clone());
    h.spawn_consumer(spec, handler.clone());

    let headers = city_headers("lyon", ENQUIRY_SUBMIT);
    let ce_id = headers.get(ID).expect("a ce-id").as_str().to_owned();
    h.publish(LYON, headers, br#"{"reference":"R-1"}"#).await;

    // The first delivery is being handled, its transaction open, when the ack
    // wait runs out and JetStream hands the message out again.
    eventually(
        "the first delivery to be in the handler",
        DEADLINE,
        || async { (!handler.attempts().is_empty()).then_some(()) },
    )
    .await;
    let stream =
        h.js.get_stream(subjects::STREAM_INBOUND)
            .await
            .expect("the inbound stream");
    eventually("JetStream to redeliver the message", DEADLINE, || async {
        let info = stream.consumer_info(&name).await.ok()?;
        (info.num_redelivered > 0).then_some(())
    })
    .await;
    handler.release();

    h.wait_consumed(&name, "ok", 1).await;
    h.wait_consumed(&name, "duplicate", 1).await;
    assert_eq!(h.consumed(&name, "ok"), 1);
    let attempts = handler.attempts();
    assert_eq!(attempts.len(), 1, "the handler ran once: {attempts:?}");
    let effects = h.effects().await;
    assert_eq!(effects.len(), 1, "{effects:?}");
    assert_eq!(effects[0].ce_id, ce_id);
}

#[tokio::test]
async fn a_message_whose_batch_cannot_commit_until_max_deliver_is_not_lost() {
    let h = Harness::start().await;
    // The consumer's connections give up on a lock after 200 ms...
    let options = <sqlx::postgres::PgConnectOptions as std::str::FromStr>::from_str(&h.db.url)
        .expect("the test database's URL")
        .options([("lock_timeout", "200ms")]);
    let pool = sqlx::postgres::PgPoolOptions::new()
        .connect_with(options)
        .await
        .expect("a pool");
    // ...and the database is in trouble: the inbox is locked, so every
    // batch's transaction fails.
    let mut trouble = h.db.pool.begin().await.expect("a transaction");
    sqlx::query(&format!(
        "LOCK TABLE {}.inbox IN ACCESS EXCLUSIVE MODE",
        crate::support::SCHEMA
    ))
    .execute(&mut *trouble)
    .await
    .expect("the inbox is locked");

    let handler = Recorder::succeeding();
    let mut spec = inbound_consumer();
    spec.max_deliver = 2;
    let name = spec.name.clone();
    h.spawn_consumer_on(spec, handler.clone(), pool, h.shutdown.clone());
    let headers = city_headers("lyon", ENQUIRY_SUBMIT);
    let ce_id = headers.get(ID).expect("a ce-id").as_str().to_owned();
    h.publish(LYON, headers, br#"{"reference":"A-1"}"#).await;
    // The first delivery is retried; the last allowed one fails as well.
    h.wait_consumed(&name, "retried", 1).await;
    eventually("the second delivery to be settled", DEADLINE, || async {
        (h.consumed(&name, "retried") + h.consumed(&name, "dead_lettered") >= 2).then_some(())
    })
    .await;

    // Every allowed delivery has failed. The database recovers.
    trouble.rollback().await.expect("the lock is released");

    // The message must not vanish: handled after all, or parked for operators.
    let what = format!(
        "message {ce_id}, whose batch failed at every delivery JetStream would make, \
         to be handled after all or dead-lettered"
    );
    let fate = eventually(&what, DEADLINE, || async {
        if !h.effects().await.is_empty() {
            Some("handled")
        } else if h.stream_messages(subjects::STREAM_DLQ).await > 0 {
            Some("dead-lettered")
        } else {
            None
        }
    })
    .await;
    assert!(["handled", "dead-lettered"].contains(&fate));
}

#[tokio::test]
async fn a_changed_consumer_spec_is_applied_to_the_existing_durable_consumer() {
    let h = Harness::start().await;
    let handler = Recorder::succeeding();

    // The previous release ran the consumer with other settings.
    let mut before = inbound_consumer();
    before.max_deliver = 3;
    before.ack_wait = std::time::Duration::from_secs(30);
    let name = before.name.clone();
    let stop = tokio_util::sync::CancellationToken::new();
    let previous = h.spawn_consumer_on(before, handler.clone(), h.db.pool.clone(), stop.clone());
    h.publish(LYON, city_headers("lyon", ENQUIRY_SUBMIT), b"{}")
        .await;
    h.wait_consumed(&name, "ok", 1).await;
    stop.cancel();
    previous
        .await
        .expect("no panic")
        .expect("the previous release stops cleanly");

    // The new release retries more and waits less.
    let mut after = inbound_consumer();
    after.max_deliver = 6;
    after.ack_wait = std::time::Duration::from_secs(10);
    h.spawn_consumer(after, handler.clone());
    h.publish(LYON, city_headers("lyon", ENQUIRY_SUBMIT), b"{}")
        .await;
    h.wait_consumed(&name, "ok", 2).await;

    let info =
        h.js.get_stream(subjects::STREAM_INBOUND)
            .await
            .expect("the inbound stream")
            .consumer_info(&name)
            .await
            .expect("the durable consumer");
    assert_eq!(
        info.config.ack_wait,
        std::time::Duration::from_secs(10),
        "the new release's ack_wait reaches the existing durable consumer"
    );
    // The loop counts deliveries itself; the durable must never stop
    // redelivering before the loop has parked a message.
    assert_eq!(info.config.max_deliver, -1);
}

#[tokio::test]
async fn a_consumer_that_can_never_be_created_is_an_error() {
    let h = Harness::start().await;
    // A filter outside the stream's subjects: JetStream refuses it every time.
    let spec = messaging::ConsumerSpec::new(
        Service::Intake,
        "misfiled",
        subjects::STREAM_INBOUND,
        "ileaps.nowhere.>",
    );
    let refused =
        h.js.get_stream(subjects::STREAM_INBOUND)
            .await
            .expect("the inbound stream")
            .create_consumer(async_nats::jetstream::consumer::pull::Config {
                durable_name: Some("probe".to_owned()),
                filter_subject: spec.filter_subject.clone(),
                ..Default::default()
            })
            .await;
    assert!(refused.is_err(), "JetStream accepts this filter");

    // The loop retries a while (the broker may be starting), then gives up.
    let running = h.spawn_consumer(spec, Recorder::succeeding());
    let result = tokio::time::timeout(std::time::Duration::from_secs(60), running)
        .await
        .expect("run_consumer gives up on a consumer that can never be created")
        .expect("no panic");
    assert!(
        matches!(
            result,
            Err(messaging::consumer::ConsumerError::Setup { .. })
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn two_copies_of_a_message_in_one_batch_take_effect_once() {
    let h = Harness::start().await;

    // Waiting before the consumer starts, so they come in one pull: another
    // message first (JetStream may hand over the first on its own), then a
    // message and a later copy of it (same ce-source and ce-id, another
    // Nats-Msg-Id), as a city retrying after a lost ack sends it.
    h.publish(
        LYON,
        city_headers("lyon", ENQUIRY_SUBMIT),
        br#"{"reference":"B-0"}"#,
    )
    .await;
    let headers = city_headers("lyon", ENQUIRY_SUBMIT);
    let ce_id = headers.get(ID).expect("a ce-id").as_str().to_owned();
    h.publish(LYON, headers.clone(), br#"{"reference":"B-1"}"#)
        .await;
    let mut again = headers;
    again.insert(NATS_MSG_ID, format!("retry-{ce_id}").as_str());
    h.publish(LYON, again, br#"{"reference":"B-1"}"#).await;

    let handler = Recorder::succeeding();
    let spec = inbound_consumer();
    let name = spec.name.clone();
    h.spawn_consumer(spec, handler.clone());
    h.wait_consumed(&name, "ok", 2).await;
    h.wait_consumed(&name, "duplicate", 1).await;

    let effects = h.effects().await;
    let copies = effects.iter().filter(|e| e.ce_id == ce_id).count();
    assert_eq!(copies, 1, "the effect happened once: {effects:?}");
    let attempts = handler.attempts();
    assert_eq!(
        attempts.iter().filter(|a| a.ce_id == ce_id).count(),
        1,
        "the handler ran once for it: {attempts:?}"
    );
    assert_eq!(h.consumed(&name, "ok"), 2);
    assert_eq!(h.consumed(&name, "retried"), 0);
}

/// A handler whose batch path writes every message's row, then fails the
/// batch as a whole, as a set-based statement refused by the database would.
struct FailingBatches(std::sync::Arc<Recorder>);

impl messaging::Handler for FailingBatches {
    async fn handle(
        &self,
        tx: &mut sqlx::PgConnection,
        delivery: &messaging::Delivery,
    ) -> Result<(), HandlerError> {
        self.0.handle(tx, delivery).await
    }

    async fn handle_batch(
        &self,
        tx: &mut sqlx::PgConnection,
        deliveries: &[&messaging::Delivery],
    ) -> Result<Vec<Result<(), HandlerError>>, HandlerError> {
        for delivery in deliveries {
            self.0.handle(tx, delivery).await?;
        }
        Err(database_trouble())
    }
}

#[tokio::test]
async fn a_batch_that_fails_as_a_whole_is_handled_message_by_message() {
    let h = Harness::start().await;
    const BAD: usize = 4;
    let mut ids = Vec::new();
    for n in 0..9 {
        let mut headers = city_headers("lyon", ENQUIRY_SUBMIT);
        if n == BAD {
            headers.insert(POISON, "yes");
        }
        ids.push(headers.get(ID).expect("a ce-id").as_str().to_owned());
        h.publish(
            LYON,
            headers,
            format!(r#"{{"reference":"F-{n}"}}"#).as_bytes(),
        )
        .await;
    }
    // One by one, the poisoned message is refused by the database.
    let recorder = Recorder::refused_by_the_database_when_poisoned();
    let spec = inbound_consumer();
    let name = spec.name.clone();
    h.spawn_consumer(spec, std::sync::Arc::new(FailingBatches(recorder.clone())));
    h.wait_consumed(&name, "ok", 8).await;
    h.wait_consumed(&name, "dead_lettered", 1).await;

    // The batch path's writes were rolled back: each effect is there once.
    let effects = h.effects().await;
    let committed: Vec<&str> = effects.iter().map(|e| e.ce_id.as_str()).collect();
    let good: Vec<&str> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != BAD)
        .map(|(_, id)| id.as_str())
        .collect();
    assert_eq!(committed, good);
    assert_eq!(h.consumed(&name, "retried"), 0, "nobody was retried");
    assert_eq!(h.consumed(&name, "duplicate"), 0);
    let mut dead =
        StreamReader::new(&h.js, subjects::STREAM_DLQ, &subjects::dlq(Service::Intake)).await;
    let letter = dead.next(DEADLINE).await;
    assert_eq!(crate::support::header(&letter, ID), ids[BAD]);
    assert!(crate::support::header(&letter, dlq::REASON).contains("23502"));
}

/// A database outage is not the messages' fault: the loop waits for the
/// database instead of spending their delivery budget, so nothing is
/// dead-lettered for it, however long it lasts.
#[tokio::test]
async fn a_database_outage_dead_letters_nothing() {
    let h = Harness::start().await;
    let mut spec = inbound_consumer();
    spec.max_deliver = 2;
    let name = spec.name.clone();
    // The consumer's own pool, whose connections the outage cuts.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(std::time::Duration::from_secs(1))
        .connect(&h.db.url)
        .await
        .expect("the consumer's pool");
    let handler = Recorder::succeeding();
    h.spawn_consumer_on(spec, handler.clone(), pool, h.shutdown.clone());
    h.publish(
        LYON,
        city_headers("lyon", ENQUIRY_SUBMIT),
        br#"{"reference":"L-0"}"#,
    )
    .await;
    h.wait_consumed(&name, "ok", 1).await;

    // The outage: no new connections to the test's database, and the
    // existing ones ended (from another database, so as not to end itself).
    let admin_url = h.db.url.replace(&format!("/{}", h.db.name), "/postgres");
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .expect("an admin connection");
    let cut = |allow: bool| format!("ALTER DATABASE \"{}\" ALLOW_CONNECTIONS {allow}", h.db.name);
    sqlx::query(&cut(false)).execute(&mut admin).await.unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(&h.db.name)
        .execute(&mut admin)
        .await
        .unwrap();
    h.publish(
        LYON,
        city_headers("lyon", ENQUIRY_SUBMIT),
        br#"{"reference":"L-1"}"#,
    )
    .await;
    h.wait_consumed(&name, "retried", 1).await;
    // Long enough for several more deliveries (the NAK delays start at a
    // fraction of a second): with max_deliver 2, any of them would have
    // dead-lettered the message.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(4);
    eventually("the outage to last 4 s", DEADLINE, || async {
        (std::time::Instant::now() >= until).then_some(())
    })
    .await;
    sqlx::query(&cut(true)).execute(&mut admin).await.unwrap();

    h.wait_consumed(&name, "ok", 2).await;
    assert_eq!(h.consumed(&name, "dead_lettered"), 0);
    assert_eq!(h.stream_messages(subjects::STREAM_DLQ).await, 0);
}

/// A handler that acts only on `ileaps.inbound.lyon.enquiry`.
struct LyonOnly(std::sync::Arc<Recorder>);

impl messaging::Handler for LyonOnly {
    async fn handle(
        &self,
        tx: &mut sqlx::PgConnection,
        delivery: &messaging::Delivery,
    ) -> Result<(), HandlerError> {
        self.0.handle(tx, delivery).await
    }

    fn concerns(&self, subject: &str) -> bool {
        subject == LYON
    }
}

/// Messages of subjects the handler does not act on are acknowledged without
/// a transaction or an inbox row, and never handed to it.
#[tokio::test]
async fn messages_a_handler_does_not_concern_itself_with_are_acknowledged_untouched() {
    let h = Harness::start().await;
    const OTHER: &str = "ileaps.inbound.oslo.enquiry";
    let mut lyon = Vec::new();
    for n in 0..6 {
        let (subject, city) = if n % 2 == 0 {
            (LYON, "lyon")
        } else {
            (OTHER, "oslo")
        };
        let headers = city_headers(city, ENQUIRY_SUBMIT);
        if subject == LYON {
            lyon.push(headers.get(ID).expect("a ce-id").as_str().to_owned());
        }
        h.publish(subject, headers, format!(r#"{{"n":{n}}}"#).as_bytes())
            .await;
    }
    let recorder = Recorder::succeeding();
    let spec = inbound_consumer();
    let name = spec.name.clone();
    h.spawn_consumer(spec, std::sync::Arc::new(LyonOnly(recorder.clone())));
    h.wait_consumed(&name, "ok", 3).await;
    h.wait_consumed(&name, "skipped", 3).await;

    let handled: Vec<String> = recorder.attempts().into_iter().map(|a| a.ce_id).collect();
    assert_eq!(handled, lyon, "only Lyon's messages reached the handler");
    let inbox: i64 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM {}.inbox",
        crate::support::SCHEMA
    ))
    .fetch_one(&h.db.pool)
    .await
    .expect("the inbox is readable");
    assert_eq!(inbox, 3, "skipped messages leave no inbox row");
    // Acknowledged: nothing is waiting for redelivery.
    eventually("every message acknowledged", DEADLINE, || async {
        let info =
            h.js.get_consumer_from_stream::<async_nats::jetstream::consumer::pull::Config, _, _>(
                &name,
                subjects::STREAM_INBOUND,
            )
            .await
            .ok()?
            .info()
            .await
            .ok()?
            .clone();
        (info.num_ack_pending == 0 && info.num_pending == 0).then_some(())
    })
    .await;
}
