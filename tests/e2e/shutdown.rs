//! Graceful shutdown: stop pulling, finish what is in hand, flush the outbox.
//!
//! SIGTERM cancels the same token these tests cancel (service-kit's signal
//! tests show that); what matters here is what the services do then.

use crate::helpers::{TestApp, intake_def, settings, submission};
use contract::subjects;
use serde_json::Value;
use service_kit::app::App;
use std::collections::HashMap;
use std::time::Duration;
use test_support::StreamReader;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn stopping_while_messages_are_in_flight_loses_none_and_repeats_none() {
    let app = TestApp::spawn().await;
    let mut outcomes =
        StreamReader::new(&app.js, subjects::STREAM_EVENTS, "ileaps.events.enquiry.>").await;
    const ENQUIRIES: usize = 400;
    let mut inbound = Vec::with_capacity(ENQUIRIES);
    for n in 0..ENQUIRIES {
        let city = ["makassar", "colombo", "hulhumale", "chandigarh"][n % 4];
        inbound.push(
            app.submit(city, &submission(city, &format!("SHUT-{n}")))
                .await,
        );
    }
    // Stop as soon as the first outcome is out: the rest are in flight.
    outcomes.next(Duration::from_secs(20)).await;
    let (nats, db, js) = app.stop_keeping_infra().await;

    // A new process takes over where the first stopped.
    let shutdown = CancellationToken::new();
    let second = App::start(
        settings(&nats.url(), &db.url),
        vec![intake_def()],
        shutdown.clone(),
    )
    .await
    .expect("intake starts again");
    let running = tokio::spawn(second.wait());

    let mut reader =
        StreamReader::new(&js, subjects::STREAM_EVENTS, "ileaps.events.enquiry.>").await;
    let mut seen: HashMap<String, usize> = HashMap::new();
    while seen.len() < ENQUIRIES {
        let message = reader.next(Duration::from_secs(60)).await;
        let body: Value = serde_json::from_slice(&message.payload).unwrap();
        *seen
            .entry(body["inboundId"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let extra = reader.collect_for(Duration::from_secs(1)).await;
    for message in extra {
        let body: Value = serde_json::from_slice(&message.payload).unwrap();
        *seen
            .entry(body["inboundId"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    for id in &inbound {
        assert_eq!(
            seen.get(id),
            Some(&1),
            "enquiry {id} had {:?} outcomes",
            seen.get(id)
        );
    }
    shutdown.cancel();
    running.await.unwrap().expect("clean stop");
}
