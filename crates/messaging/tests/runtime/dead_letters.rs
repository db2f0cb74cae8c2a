//! Dead letters: a message that can never succeed is parked with its reason,
//! listed for operators, and replayed once the cause is fixed.

use crate::support::{DEADLINE, Harness, POISON, Recorder, header, inbound_consumer, is_poisoned};
use contract::envelope::{ID, SOURCE};
use contract::event_types::ENQUIRY_SUBMIT;
use contract::{Service, subjects};
use messaging::HandlerError;
use messaging::admin::{self, AdminCommands};
use messaging::dlq::{self, Selection};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use test_support::{StreamReader, city_headers, eventually};

const LYON: &str = "ileaps.inbound.lyon.enquiry";
const REASON: &str = "the enquiry names no city";

/// Refuses poisoned messages for good until `fixed` is set (a new release).
fn poison_refuser(fixed: Arc<AtomicBool>) -> Arc<Recorder> {
    Recorder::new(move |delivery| {
        if is_poisoned(delivery) && !fixed.load(Ordering::SeqCst) {
            Err(HandlerError::permanent(REASON))
        } else {
            Ok(())
        }
    })
}

/// Serves intake's operator commands until the test ends, and waits until
/// they answer.
async fn serve_admin(h: &Harness) {
    let commands = AdminCommands::new(Service::Intake, h.js.clone(), h.relay());
    tokio::spawn(commands.serve(h.client.clone(), h.shutdown.clone()));
    eventually("intake's operator commands to answer", DEADLINE, || async {
        admin_request(h, "dlq.list", &json!({})).await.ok()
    })
    .await;
}

async fn admin_request(
    h: &Harness,
    command: &str,
    body: &Value,
) -> Result<Value, admin::AdminError> {
    admin::request(
        &h.client,
        Service::Intake,
        command,
        body,
        Duration::from_secs(5),
    )
    .await
}

#[tokio::test]
async fn a_message_that_can_never_succeed_is_dead_lettered_with_its_reason_and_replay_puts_it_back()
{
    let h = Harness::start().await;
    let fixed = Arc::new(AtomicBool::new(false));
    let handler = poison_refuser(fixed.clone());
    let spec = inbound_consumer();
    let name = spec.name.clone();
    h.spawn_consumer(spec, handler.clone());

    let mut headers = city_headers("lyon", ENQUIRY_SUBMIT);
    headers.insert(POISON, "yes");
    let ce_id = headers.get(ID).expect("a ce-id").as_str().to_owned();
    let body = br#"{"reference":"L-9"}"#;
    let original = h.publish(LYON, headers, body).await;

    // Parked on the service's dead-letter subject, original and all.
    let mut dead =
        StreamReader::new(&h.js, subjects::STREAM_DLQ, &subjects::dlq(Service::Intake)).await;
    let letter = dead.next(DEADLINE).await;
    assert_eq!(letter.subject.as_str(), "ileaps.dlq.intake");
    assert_eq!(&letter.payload[..], body, "the original body");
    assert_eq!(header(&letter, ID), ce_id, "the original headers");
    assert_eq!(header(&letter, SOURCE), "/cities/lyon");
    assert_eq!(header(&letter, POISON), "yes");
    assert!(header(&letter, dlq::REASON).contains(REASON));
    assert_eq!(header(&letter, dlq::CONSUMER), name);
    assert_eq!(header(&letter, dlq::ORIGINAL_SUBJECT), LYON);
    assert_eq!(
        header(&letter, dlq::ORIGINAL_STREAM),
        subjects::STREAM_INBOUND
    );
    assert_eq!(
        header(&letter, dlq::ORIGINAL_SEQUENCE),
        original.sequence.to_string()
    );
    assert_eq!(header(&letter, dlq::DELIVERIES), "1");
    chrono::DateTime::parse_from_rfc3339(header(&letter, dlq::FAILED_AT))
        .expect("the failure time is RFC 3339");
    let letter_sequence = letter.info().expect("JetStream metadata").stream_sequence;
    h.wait_consumed(&name, "dead_lettered", 1).await;
    assert!(h.effects().await.is_empty(), "its writes were undone");

    // Operators see it, directly and over NATS.
    let listed = dlq::list(&h.js, Service::Intake, 10)
        .await
        .expect("the DLQ is readable");
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].sequence, letter_sequence);
    assert!(listed[0].reason.contains(REASON));
    assert_eq!(listed[0].ce_id.as_deref(), Some(ce_id.as_str()));
    assert_eq!(listed[0].original_subject, LYON);
    assert_eq!(listed[0].consumer, name);
    assert_eq!(listed[0].body_bytes, body.len());
    serve_admin(&h).await;
    let over_nats = admin_request(&h, "dlq.list", &json!({ "limit": 10 }))
        .await
        .expect("dlq.list answers");
    let letters = over_nats.as_array().expect("a list of dead letters");
    assert_eq!(letters.len(), 1, "{over_nats}");
    assert_eq!(letters[0]["sequence"], json!(letter_sequence));
    assert_eq!(letters[0]["ce_id"], json!(ce_id));
    assert!(
        letters[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains(REASON)),
        "{over_nats}"
    );

    // The cause is fixed; replay puts the message back and it passes.
    fixed.store(true, Ordering::SeqCst);
    let replayed = dlq::replay(&h.js, Service::Intake, &Selection::All)
        .await
        .expect("the replay runs");
    assert_eq!(replayed, [letter_sequence]);
    h.wait_consumed(&name, "ok", 1).await;
    let effects = h.effects().await;
    assert_eq!(effects.len(), 1, "{effects:?}");
    assert_eq!(effects[0].ce_id, ce_id);
    assert_eq!(effects[0].body, r#"{"reference":"L-9"}"#);
    assert!(
        dlq::list(&h.js, Service::Intake, 10)
            .await
            .expect("the DLQ is readable")
            .is_empty(),
        "the DLQ is empty"
    );
    assert_eq!(h.stream_messages(subjects::STREAM_DLQ).await, 0);
    assert_eq!(
        admin_request(&h, "dlq.list", &json!({}))
            .await
            .expect("dlq.list answers"),
        json!([])
    );
}

#[tokio::test]
async fn operators_replay_chosen_dead_letters_over_nats_and_are_told_what_went_wrong() {
    let h = Harness::start().await;
    let fixed = Arc::new(AtomicBool::new(false));
    let handler = poison_refuser(fixed.clone());
    let spec = inbound_consumer();
    let name = spec.name.clone();
    h.spawn_consumer(spec, handler.clone());
    let mut ids = Vec::new();
    for n in 1..=2 {
        let mut headers = city_headers("lyon", ENQUIRY_SUBMIT);
        headers.insert(POISON, "yes");
        ids.push(headers.get(ID).expect("a ce-id").as_str().to_owned());
        h.publish(LYON, headers, format!(r#"{{"n":{n}}}"#).as_bytes())
            .await;
    }
    h.wait_consumed(&name, "dead_lettered", 2).await;
    serve_admin(&h).await;

    let listed = admin_request(&h, "dlq.list", &json!({}))
        .await
        .expect("dlq.list answers");
    let letters = listed.as_array().expect("a list");
    assert_eq!(letters.len(), 2, "{listed}");
    let first = &letters[0];
    assert_eq!(first["ce_id"], json!(ids[0]));
    let first_sequence = first["sequence"].as_u64().expect("a sequence");

    // Requests that cannot be carried out are refused, saying why.
    let bad = admin_request(&h, "dlq.replay", &json!({})).await;
    assert_eq!(
        bad.expect_err("neither all nor sequences").code,
        "BAD_REQUEST"
    );
    let both = admin_request(&h, "dlq.replay", &json!({ "all": true, "sequences": [1] })).await;
    assert_eq!(
        both.expect_err("both all and sequences").code,
        "BAD_REQUEST"
    );
    let missing = admin_request(&h, "dlq.replay", &json!({ "sequences": [9999] })).await;
    assert_eq!(missing.expect_err("no such letter").code, "NOT_FOUND");
    let garbled = admin_request(&h, "outbox.replay", &json!({ "since": "last tuesday" })).await;
    assert_eq!(garbled.expect_err("not a time").code, "BAD_REQUEST");
    assert_eq!(h.stream_messages(subjects::STREAM_DLQ).await, 2);

    // Only the chosen letter goes back.
    fixed.store(true, Ordering::SeqCst);
    let replayed = admin_request(&h, "dlq.replay", &json!({ "sequences": [first_sequence] }))
        .await
        .expect("dlq.replay answers");
    assert_eq!(replayed, json!({ "replayed": [first_sequence] }));
    h.wait_consumed(&name, "ok", 1).await;
    let effects = h.effects().await;
    assert_eq!(
        effects.iter().map(|e| e.ce_id.as_str()).collect::<Vec<_>>(),
        [ids[0].as_str()]
    );
    let left = dlq::list(&h.js, Service::Intake, 10)
        .await
        .expect("the DLQ is readable");
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].ce_id.as_deref(), Some(ids[1].as_str()));
}
