//! The contract's five streams, created or updated idempotently at start.
//!
//! Every service provisions all five: whichever starts first makes them, the
//! rest find them, and a changed retention or replica count is applied on the
//! next start. Subjects and names come from `contract::subjects`.

use async_nats::jetstream::{self, stream};
use contract::subjects;
use std::time::Duration;

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// Retention and replication of the streams (defaults from `CONTRACT.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSettings {
    /// 1 on a single server, 3 on a production cluster.
    pub replicas: usize,
    pub inbound_retention: Duration,
    pub events_retention: Duration,
    pub internal_retention: Duration,
    pub outbound_retention: Duration,
    pub dlq_retention: Duration,
}

impl Default for StreamSettings {
    fn default() -> Self {
        Self {
            replicas: 1,
            inbound_retention: 30 * DAY,
            events_retention: 365 * DAY,
            internal_retention: 30 * DAY,
            outbound_retention: 90 * DAY,
            dlq_retention: 30 * DAY,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("could not create or update stream {stream}")]
pub struct ProvisionError {
    pub stream: &'static str,
    #[source]
    pub source: jetstream::context::CreateStreamError,
}

impl StreamSettings {
    /// The configuration of every stream of the contract.
    pub fn configs(&self) -> Vec<stream::Config> {
        let config =
            |name: &str, subject: &str, max_age: Duration, description: &str| stream::Config {
                name: name.to_owned(),
                subjects: vec![subject.to_owned()],
                max_age,
                num_replicas: self.replicas,
                storage: stream::StorageType::File,
                retention: stream::RetentionPolicy::Limits,
                description: Some(description.to_owned()),
                ..Default::default()
            };
        vec![
            config(
                subjects::STREAM_INBOUND,
                subjects::INBOUND_ALL,
                self.inbound_retention,
                "Partner cities' enquiries, each city under its own subject",
            ),
            config(
                subjects::STREAM_EVENTS,
                subjects::EVENTS_ALL,
                self.events_retention,
                "The programme's public events; integrators read and replay it",
            ),
            config(
                subjects::STREAM_INTERNAL,
                subjects::INTERNAL_ALL,
                self.internal_retention,
                "Between services only; the one stream with personal data",
            ),
            config(
                subjects::STREAM_OUTBOUND,
                subjects::OUTBOUND_ALL,
                self.outbound_retention,
                "Each city's own feed, from notifications",
            ),
            config(
                subjects::STREAM_DLQ,
                subjects::DLQ_ALL,
                self.dlq_retention,
                "Dead letters for operators, per service",
            ),
        ]
    }
}

/// Creates the streams that are missing and updates those that differ.
pub async fn provision_streams(
    js: &jetstream::Context,
    settings: &StreamSettings,
) -> Result<(), ProvisionError> {
    for (config, name) in settings.configs().into_iter().zip(STREAM_NAMES) {
        // Two services starting together may both find the stream missing; the
        // one whose create loses the race finds it on the second attempt.
        let first = js.create_or_update_stream(config.clone()).await;
        if first.is_err() {
            js.create_or_update_stream(config)
                .await
                .map_err(|source| ProvisionError {
                    stream: name,
                    source,
                })?;
        }
    }
    Ok(())
}

const STREAM_NAMES: [&str; 5] = [
    subjects::STREAM_INBOUND,
    subjects::STREAM_EVENTS,
    subjects::STREAM_INTERNAL,
    subjects::STREAM_OUTBOUND,
    subjects::STREAM_DLQ,
];
