//! Provisioning the contract's streams: every service does it at start, so it
//! must be idempotent, safe when services start together, and apply changed
//! settings to streams that already exist.

use async_nats::jetstream;
use contract::subjects;
use futures::TryStreamExt;
use messaging::{StreamSettings, provision_streams};
use std::collections::BTreeMap;
use std::time::Duration;
use test_support::{TestNats, city_headers};

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// Every stream's `(subjects, max_age, replicas)`, by name.
async fn streams(js: &jetstream::Context) -> BTreeMap<String, (Vec<String>, Duration, usize)> {
    js.streams()
        .map_ok(|info| {
            (
                info.config.name.clone(),
                (
                    info.config.subjects.clone(),
                    info.config.max_age,
                    info.config.num_replicas,
                ),
            )
        })
        .try_collect()
        .await
        .expect("the streams are listed")
}

fn expected(settings: &StreamSettings) -> BTreeMap<String, (Vec<String>, Duration, usize)> {
    [
        (
            subjects::STREAM_INBOUND,
            subjects::INBOUND_ALL,
            settings.inbound_retention,
        ),
        (
            subjects::STREAM_EVENTS,
            subjects::EVENTS_ALL,
            settings.events_retention,
        ),
        (
            subjects::STREAM_INTERNAL,
            subjects::INTERNAL_ALL,
            settings.internal_retention,
        ),
        (
            subjects::STREAM_OUTBOUND,
            subjects::OUTBOUND_ALL,
            settings.outbound_retention,
        ),
        (
            subjects::STREAM_DLQ,
            subjects::DLQ_ALL,
            settings.dlq_retention,
        ),
    ]
    .into_iter()
    .map(|(name, subject, age)| {
        (
            name.to_owned(),
            (vec![subject.to_owned()], age, settings.replicas),
        )
    })
    .collect()
}

async fn messages_in(js: &jetstream::Context, stream: &str) -> u64 {
    js.get_stream(stream)
        .await
        .expect("the stream exists")
        .get_info()
        .await
        .expect("stream info")
        .state
        .messages
}

#[tokio::test]
async fn provisioning_twice_is_idempotent_and_applies_new_retention() {
    let nats = TestNats::start().await;
    let js = nats.new_jetstream().await;
    let defaults = StreamSettings::default();

    provision_streams(&js, &defaults)
        .await
        .expect("the first provisioning");
    assert_eq!(streams(&js).await, expected(&defaults));
    assert_eq!(
        streams(&js).await[subjects::STREAM_EVENTS].1,
        365 * DAY,
        "the contract's default retention"
    );

    // A message stored before a service restarts...
    js.publish_with_headers(
        "ileaps.inbound.lyon.enquiry",
        city_headers("lyon", "ileaps.enquiry.submit.v1"),
        "{}".into(),
    )
    .await
    .expect("published")
    .await
    .expect("stored");

    // ...survives provisioning again with the same settings, which changes nothing.
    provision_streams(&js, &defaults)
        .await
        .expect("the second provisioning");
    assert_eq!(streams(&js).await, expected(&defaults));
    assert_eq!(messages_in(&js, subjects::STREAM_INBOUND).await, 1);

    // A new release with other retention applies it to the existing streams.
    let changed = StreamSettings {
        events_retention: 400 * DAY,
        dlq_retention: 7 * DAY,
        ..StreamSettings::default()
    };
    provision_streams(&js, &changed)
        .await
        .expect("provisioning with new retention");
    let now = streams(&js).await;
    assert_eq!(now, expected(&changed));
    assert_eq!(now[subjects::STREAM_EVENTS].1, 400 * DAY);
    assert_eq!(now[subjects::STREAM_DLQ].1, 7 * DAY);
    assert_eq!(now[subjects::STREAM_INBOUND].1, 30 * DAY, "untouched");
    assert_eq!(messages_in(&js, subjects::STREAM_INBOUND).await, 1);
}

#[tokio::test]
async fn services_starting_together_both_provision_the_streams() {
    let nats = TestNats::start().await;
    let (a, b) = tokio::join!(nats.new_jetstream(), nats.new_jetstream());
    let defaults = StreamSettings::default();

    let (first, second) = tokio::join!(
        provision_streams(&a, &defaults),
        provision_streams(&b, &defaults)
    );
    first.expect("one service provisions");
    second.expect("the other service provisions");
    assert_eq!(streams(&a).await, expected(&defaults));
}
