//! `ileaps submit`: publish an enquiry as a city would, with CloudEvents
//! headers, and optionally wait for its outcome.

use crate::events;
use anyhow::{Context, Result, bail};
use async_nats::HeaderMap;
use async_nats::jetstream;
use contract::event_types::{ENQUIRY_SUBMIT, ENQUIRY_WITHDRAW};
use contract::{CityCode, subjects};
use futures::StreamExt;
use std::time::Duration;

/// The headers a city's client sets on an inbound message, and its ce-id.
pub fn city_headers(city: &CityCode, ce_type: &str) -> (String, HeaderMap) {
    let envelope = contract::Envelope::from_city(city, ce_type);
    (envelope.id.clone(), envelope.to_headers())
}

/// Publishes a city's message to its inbound subject and waits for
/// JetStream's ack. Returns the message's `ce-id`.
pub async fn publish(
    js: &jetstream::Context,
    city: &CityCode,
    ce_type: &str,
    body: Vec<u8>,
) -> Result<String> {
    let (id, headers) = city_headers(city, ce_type);
    js.publish_with_headers(subjects::inbound_enquiry(city), headers, body.into())
        .await
        .context("could not publish: is NATS running and ILEAPS_INBOUND provisioned?")?
        .await
        .context("JetStream did not acknowledge the enquiry")?;
    Ok(id)
}

pub async fn run(
    js: &jetstream::Context,
    city: &str,
    file: &std::path::Path,
    withdraw: bool,
    wait: Duration,
) -> Result<()> {
    let city = CityCode::parse(city).with_context(|| format!("--city {city:?}"))?;
    let body = std::fs::read(file).with_context(|| format!("could not read {}", file.display()))?;
    if let Err(error) = serde_json::from_slice::<serde_json::Value>(&body) {
        // Sent anyway: intake answers with MALFORMED, which is what a city
        // testing its client wants to see.
        eprintln!(
            "note: {} is not valid JSON ({error}); intake will reject it",
            file.display()
        );
    }
    let ce_type = if withdraw {
        ENQUIRY_WITHDRAW
    } else {
        ENQUIRY_SUBMIT
    };
    let mut outcomes = events::reader(js, "ileaps.events.enquiry.>", false).await?;
    let id = publish(js, &city, ce_type, body).await?;
    println!("published {ce_type} for {city} (ce-id {id})");
    if wait.is_zero() {
        return Ok(());
    }
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let next = tokio::time::timeout_at(deadline, outcomes.next()).await;
        let Ok(Some(message)) = next else {
            bail!(
                "no outcome within {wait:?}: is intake running (`ileaps run`)? \
                 A resubmission of an accepted enquiry is a no-op and has no new outcome."
            );
        };
        let message = message.context("reading the outcome")?;
        let body: serde_json::Value = serde_json::from_slice(&message.payload).unwrap_or_default();
        if body["inboundId"] == id.as_str()
            || (withdraw && body["reference"].is_string() && body["city"] == city.as_str())
        {
            println!("{}", events::describe(&message));
            return Ok(());
        }
    }
}
