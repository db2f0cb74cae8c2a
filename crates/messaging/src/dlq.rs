//! Dead letters: `ileaps.dlq.<service>` on the `ILEAPS_DLQ` stream.
//!
//! A dead letter is the original message (headers and body unchanged) plus
//! `Ileaps-Dlq-*` headers saying where it came from and why it failed. Replay
//! publishes the original back to its subject and removes the dead letter.

use crate::consumer::Delivery;
use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer::DeliverPolicy, consumer::pull};
use chrono::{DateTime, SecondsFormat, Utc};
use contract::envelope::{self, NATS_MSG_ID};
use contract::{Service, subjects};
use futures::StreamExt;
use serde::Serialize;
use std::time::Duration;

pub const REASON: &str = "Ileaps-Dlq-Reason";
pub const CONSUMER: &str = "Ileaps-Dlq-Consumer";
pub const ORIGINAL_SUBJECT: &str = "Ileaps-Dlq-Subject";
pub const ORIGINAL_STREAM: &str = "Ileaps-Dlq-Stream";
pub const ORIGINAL_SEQUENCE: &str = "Ileaps-Dlq-Sequence";
pub const DELIVERIES: &str = "Ileaps-Dlq-Deliveries";
pub const FAILED_AT: &str = "Ileaps-Dlq-Failed-At";

const DLQ_HEADERS: [&str; 7] = [
    REASON,
    CONSUMER,
    ORIGINAL_SUBJECT,
    ORIGINAL_STREAM,
    ORIGINAL_SEQUENCE,
    DELIVERIES,
    FAILED_AT,
];

/// Reasons are cut to this many characters: they come from errors that may
/// quote what a city sent.
const MAX_REASON_CHARS: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum DlqError {
    #[error("could not publish to the dead-letter stream")]
    Publish(#[source] async_nats::Error),
    #[error("could not read the dead-letter stream")]
    Read(#[source] async_nats::Error),
    #[error("dead letter {0} not found on {1}")]
    NotFound(u64, String),
    #[error("dead letter {0} has no original subject header")]
    NoOriginalSubject(u64),
}

/// Parks a message on `ileaps.dlq.<service>` and waits for JetStream's ack.
pub async fn dead_letter(
    js: &jetstream::Context,
    service: Service,
    consumer: &str,
    delivery: &Delivery,
    reason: &str,
) -> Result<(), DlqError> {
    let mut headers = delivery.headers.clone().unwrap_or_default();
    let reason: String = reason
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_REASON_CHARS)
        .collect();
    headers.insert(REASON, reason.as_str());
    headers.insert(CONSUMER, consumer);
    headers.insert(ORIGINAL_SUBJECT, delivery.subject.as_str());
    headers.insert(ORIGINAL_STREAM, delivery_stream(delivery).as_str());
    headers.insert(
        ORIGINAL_SEQUENCE,
        delivery.stream_sequence.to_string().as_str(),
    );
    headers.insert(DELIVERIES, delivery.delivered.to_string().as_str());
    headers.insert(
        FAILED_AT,
        Utc::now()
            .to_rfc3339_opts(SecondsFormat::Millis, true)
            .as_str(),
    );
    // Its own id, so JetStream does not take the dead letter for the original.
    headers.insert(
        NATS_MSG_ID,
        format!(
            "dlq:{consumer}:{}:{}",
            delivery_stream(delivery),
            delivery.stream_sequence
        )
        .as_str(),
    );
    js.publish_with_headers(subjects::dlq(service), headers, delivery.payload.clone())
        .await
        .map_err(|e| DlqError::Publish(e.into()))?
        .await
        .map_err(|e| DlqError::Publish(e.into()))?;
    Ok(())
}

fn delivery_stream(delivery: &Delivery) -> String {
    delivery.stream_name().to_owned()
}

/// A dead letter as operators see it.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    /// Its sequence in `ILEAPS_DLQ`: what `dlq replay --seq` takes.
    pub sequence: u64,
    pub service: String,
    pub reason: String,
    pub consumer: String,
    pub original_subject: String,
    pub original_stream: String,
    pub original_sequence: String,
    pub deliveries: String,
    pub failed_at: String,
    pub ce_type: Option<String>,
    pub ce_id: Option<String>,
    pub ce_source: Option<String>,
    pub body_bytes: usize,
    /// The start of the body, lossily as UTF-8, for a first look.
    pub body_preview: String,
    pub dead_lettered_at: DateTime<Utc>,
}

/// Lists the dead letters of one service, oldest first, at most `limit`.
pub async fn list(
    js: &jetstream::Context,
    service: Service,
    limit: usize,
) -> Result<Vec<DeadLetter>, DlqError> {
    let raw = read_all(js, service, limit).await?;
    Ok(raw
        .iter()
        .map(|(seq, headers, body, time)| describe(*seq, service, headers, body, *time))
        .collect())
}

type RawLetter = (u64, HeaderMap, bytes::Bytes, DateTime<Utc>);

async fn read_all(
    js: &jetstream::Context,
    service: Service,
    limit: usize,
) -> Result<Vec<RawLetter>, DlqError> {
    let stream = js
        .get_stream(subjects::STREAM_DLQ)
        .await
        .map_err(|e| DlqError::Read(e.into()))?;
    let pending = stream
        .get_info()
        .await
        .map_err(|e| DlqError::Read(e.into()))?
        .state
        .messages;
    if pending == 0 {
        return Ok(Vec::new());
    }
    // An ephemeral ordered consumer reads without disturbing anyone.
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            filter_subject: subjects::dlq(service),
            deliver_policy: DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .map_err(|e| DlqError::Read(e.into()))?;
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| DlqError::Read(e.into()))?;
    let mut letters = Vec::new();
    loop {
        let next = tokio::time::timeout(Duration::from_millis(500), messages.next()).await;
        let Ok(Some(message)) = next else { break };
        let message = message.map_err(|e| DlqError::Read(e.into()))?;
        let info = message.info().map_err(DlqError::Read)?;
        let sequence = info.stream_sequence;
        let time = DateTime::<Utc>::from_timestamp(info.published.unix_timestamp(), 0)
            .unwrap_or_else(Utc::now);
        let remaining = info.pending;
        letters.push((
            sequence,
            message.headers.clone().unwrap_or_default(),
            message.payload.clone(),
            time,
        ));
        if letters.len() >= limit || remaining == 0 {
            break;
        }
    }
    Ok(letters)
}

fn describe(
    sequence: u64,
    service: Service,
    headers: &HeaderMap,
    body: &[u8],
    time: DateTime<Utc>,
) -> DeadLetter {
    let get = |name: &str| envelope::header(Some(headers), name).map(str::to_owned);
    let text = |name: &str| get(name).unwrap_or_default();
    DeadLetter {
        sequence,
        service: service.name().to_owned(),
        reason: text(REASON),
        consumer: text(CONSUMER),
        original_subject: text(ORIGINAL_SUBJECT),
        original_stream: text(ORIGINAL_STREAM),
        original_sequence: text(ORIGINAL_SEQUENCE),
        deliveries: text(DELIVERIES),
        failed_at: text(FAILED_AT),
        ce_type: get(envelope::TYPE),
        ce_id: get(envelope::ID),
        ce_source: get(envelope::SOURCE),
        body_bytes: body.len(),
        body_preview: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
        dead_lettered_at: time,
    }
}

/// Which dead letters to replay.
#[derive(Debug, Clone)]
pub enum Selection {
    All,
    Sequences(Vec<u64>),
}

/// Publishes the selected dead letters back to their original subjects, with
/// their original headers, then deletes them from the dead-letter stream.
/// Returns the sequences replayed.
///
/// The republished message gets a fresh `Nats-Msg-Id` (JetStream would drop
/// the original id as a duplicate); its `ce-id` is unchanged, and since a
/// dead-lettered message left no inbox row, the consumer handles it anew.
pub async fn replay(
    js: &jetstream::Context,
    service: Service,
    selection: &Selection,
) -> Result<Vec<u64>, DlqError> {
    let letters = read_all(js, service, usize::MAX).await?;
    let chosen: Vec<&RawLetter> = match selection {
        Selection::All => letters.iter().collect(),
        Selection::Sequences(wanted) => {
            for seq in wanted {
                if !letters.iter().any(|(s, ..)| s == seq) {
                    return Err(DlqError::NotFound(*seq, subjects::dlq(service)));
                }
            }
            letters
                .iter()
                .filter(|(s, ..)| wanted.contains(s))
                .collect()
        }
    };
    let stream = js
        .get_stream(subjects::STREAM_DLQ)
        .await
        .map_err(|e| DlqError::Read(e.into()))?;
    let mut replayed = Vec::new();
    for (sequence, headers, body, _) in chosen {
        let Some(subject) = envelope::header(Some(headers), ORIGINAL_SUBJECT) else {
            return Err(DlqError::NoOriginalSubject(*sequence));
        };
        let mut original = HeaderMap::new();
        for (name, values) in headers.iter() {
            let name = name.to_string();
            if DLQ_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(&name)) {
                continue;
            }
            for value in values {
                original.append(name.as_str(), value.as_str());
            }
        }
        let ce_id = envelope::header(Some(headers), envelope::ID).unwrap_or("");
        original.insert(NATS_MSG_ID, format!("replay:{sequence}:{ce_id}").as_str());
        js.publish_with_headers(subject.to_owned(), original, body.clone())
            .await
            .map_err(|e| DlqError::Publish(e.into()))?
            .await
            .map_err(|e| DlqError::Publish(e.into()))?;
        stream
            .delete_message(*sequence)
            .await
            .map_err(|e| DlqError::Read(e.into()))?;
        replayed.push(*sequence);
    }
    Ok(replayed)
}
