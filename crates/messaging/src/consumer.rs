//! The durable pull-consumer loop every service runs.
//!
//! Messages are pulled in batches. A batch is handled in **one** Postgres
//! transaction, with a savepoint per message, so one commit (the expensive
//! part, about 0.5 ms here) serves many messages, while one message's failure
//! undoes only its own writes. Inside the transaction each message is first
//! recorded in the consumer's inbox: a redelivery finds its row and is
//! acknowledged without effect. Acks are sent only after the commit.
//!
//! A handler says whether a failure is [`HandlerError::Retryable`] (NAK with
//! backoff: the database or network was in trouble) or
//! [`HandlerError::Permanent`] (it can never pass). Permanent failures, and
//! messages still failing at `max_deliver`, go to `ileaps.dlq.<service>` with
//! the reason and the original headers and body, then are terminated.
//!
//! The loop, not JetStream, counts deliveries against `max_deliver`: the
//! durable consumer redelivers without limit, so a message whose dead letter
//! could not be published (or whose batch never committed) is offered again
//! rather than silently abandoned by the server. A message that arrives past
//! `max_deliver` (it crashed the process every time) is dead-lettered without
//! being handled again.

use crate::dlq;
use crate::schema::Schema;
use async_nats::HeaderMap;
use async_nats::jetstream::{self, AckKind, consumer::pull, message::Message};
use bytes::Bytes;
use contract::{Envelope, EnvelopeError, Service};
use futures::{FutureExt, StreamExt};
use sqlx::{PgConnection, PgPool};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use telemetry::{ConsumeOutcome, Metrics};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, error, info, info_span, warn};

/// Where a consumer reads and how it behaves.
#[derive(Debug, Clone)]
pub struct ConsumerSpec {
    pub service: Service,
    /// The durable consumer's name, shared by all replicas; also the inbox's
    /// `consumer` column.
    pub name: String,
    pub stream: String,
    /// One filter: nats-server 2.9 supports no more per consumer.
    pub filter_subject: String,
    /// Messages handled per transaction at most.
    pub batch: usize,
    /// Deliveries before a still-failing message is dead-lettered. Counted
    /// by the loop; the durable consumer itself redelivers without limit.
    pub max_deliver: i64,
    pub ack_wait: Duration,
}

impl ConsumerSpec {
    pub fn new(service: Service, name: &str, stream: &str, filter_subject: &str) -> Self {
        Self {
            service,
            name: name.to_owned(),
            stream: stream.to_owned(),
            filter_subject: filter_subject.to_owned(),
            batch: 256,
            max_deliver: 10,
            ack_wait: Duration::from_secs(30),
        }
    }
}

/// One message as a handler sees it.
#[derive(Debug)]
pub struct Delivery {
    pub subject: String,
    pub headers: Option<HeaderMap>,
    pub payload: Bytes,
    /// The message's sequence in its stream.
    pub stream_sequence: u64,
    /// How many times it has been delivered, this time included.
    pub delivered: i64,
    /// The CloudEvents envelope, or why the headers are not one.
    pub envelope: Result<Envelope, EnvelopeError>,
    stream: String,
}

impl Delivery {
    /// The stream the message was read from.
    pub fn stream_name(&self) -> &str {
        &self.stream
    }

    /// `(ce-source, ce-id)`: the message's identity, for the inbox. A message
    /// without a valid envelope is known by its stream and sequence instead.
    pub fn identity(&self) -> (String, String) {
        match &self.envelope {
            Ok(envelope) => (envelope.source.clone(), envelope.id.clone()),
            Err(_) => (
                format!("nats:{}", self.stream),
                self.stream_sequence.to_string(),
            ),
        }
    }
}

/// A handler's failure: retry it, or give up on it.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Trouble that may pass (database or network); the message is NAKed with
    /// backoff and delivered again.
    #[error("retryable failure")]
    Retryable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The message can never succeed; it goes to the dead-letter stream.
    #[error("permanent failure: {reason}")]
    Permanent { reason: String },
}

impl HandlerError {
    pub fn permanent(reason: impl Into<String>) -> Self {
        Self::Permanent {
            reason: reason.into(),
        }
    }
}

impl From<sqlx::Error> for HandlerError {
    /// Database errors are retryable, except data the database will never
    /// accept (SQLSTATE class 22, and not-null or check violations).
    fn from(error: sqlx::Error) -> Self {
        let sqlstate = error
            .as_database_error()
            .and_then(|e| e.code())
            .map(|c| c.into_owned());
        match sqlstate.as_deref() {
            Some(code) if code.starts_with("22") || code == "23502" || code == "23514" => {
                Self::Permanent {
                    reason: format!("the database refused the data ({code}): {error}"),
                }
            }
            _ => Self::Retryable(Box::new(error)),
        }
    }
}

/// What a service does with each message, inside the batch's transaction.
pub trait Handler: Send + Sync + 'static {
    /// Handles one message. Everything it writes through `tx` (state and
    /// outbox rows) commits with the batch, or not at all.
    fn handle<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        delivery: &'a Delivery,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send + 'a;

    /// Called after a batch commits: the place to wake the outbox relay.
    fn committed(&self) {}

    /// The inbox identity of a message; by default `(ce-source, ce-id)`.
    fn identity(&self, delivery: &Delivery) -> (String, String) {
        delivery.identity()
    }
}

/// What happened to one message of a batch.
enum Outcome {
    Done,
    Duplicate,
    Retry(HandlerError),
    DeadLetter(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ConsumerError {
    #[error("could not set up consumer {consumer} on stream {stream}")]
    Setup {
        consumer: String,
        stream: String,
        #[source]
        source: async_nats::Error,
    },
}

struct Loop<H> {
    spec: ConsumerSpec,
    handler: Arc<H>,
    pool: PgPool,
    js: jetstream::Context,
    metrics: Arc<Metrics>,
    inbox_insert: String,
}

/// Consumes until `shutdown`: then stops pulling, finishes the batch in hand
/// (commit and acks) and returns. Messages fetched but not yet handled are
/// redelivered after `ack_wait`, to this or another replica.
///
/// Connection trouble is retried with backoff; only a consumer that cannot be
/// created at all is an error.
pub async fn run_consumer<H: Handler>(
    spec: ConsumerSpec,
    handler: Arc<H>,
    schema: &Schema,
    pool: PgPool,
    js: jetstream::Context,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) -> Result<(), ConsumerError> {
    let inbox_insert = format!(
        "INSERT INTO {} (consumer, source, id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        schema.table("inbox")
    );
    let this = Loop {
        spec,
        handler,
        pool,
        js,
        metrics,
        inbox_insert,
    };
    this.run(shutdown).await
}

impl<H: Handler> Loop<H> {
    async fn consumer(&self) -> Result<jetstream::consumer::PullConsumer, async_nats::Error> {
        let stream = self.js.get_stream(&self.spec.stream).await?;
        let config = pull::Config {
            durable_name: Some(self.spec.name.clone()),
            filter_subject: self.spec.filter_subject.clone(),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ack_wait: self.spec.ack_wait,
            // Unlimited: see the module's docs.
            max_deliver: -1,
            max_ack_pending: 20_000,
            ..Default::default()
        };
        // Create or update: a new release's ack_wait reaches the durable
        // consumer that an older release created.
        Ok(stream.create_consumer(config).await?)
    }

    async fn run(self, shutdown: CancellationToken) -> Result<(), ConsumerError> {
        let mut backoff = Duration::from_millis(200);
        let mut ever_connected = false;
        let first_attempt = Instant::now();
        while !shutdown.is_cancelled() {
            let consumer = match self.consumer().await {
                Ok(consumer) => consumer,
                // The broker may still be starting; a consumer that cannot be
                // created for this long is a configuration error.
                Err(source) if !ever_connected && first_attempt.elapsed() > SETUP_PATIENCE => {
                    return Err(ConsumerError::Setup {
                        consumer: self.spec.name.clone(),
                        stream: self.spec.stream.clone(),
                        source,
                    });
                }
                Err(error) => {
                    warn!(consumer = %self.spec.name, %error, "consumer not available yet; retrying");
                    self.pause(&shutdown, &mut backoff).await;
                    continue;
                }
            };
            ever_connected = true;
            backoff = Duration::from_millis(200);
            let messages = match consumer
                .stream()
                // async-nats asks for more once half is used: ask for twice a
                // batch so a full batch can be waiting when the last commits.
                .max_messages_per_batch(self.spec.batch * 2)
                .heartbeat(Duration::from_secs(5))
                .expires(Duration::from_secs(30))
                .messages()
                .await
            {
                Ok(messages) => messages,
                Err(error) => {
                    warn!(consumer = %self.spec.name, %error, "could not start pulling; retrying");
                    self.pause(&shutdown, &mut backoff).await;
                    continue;
                }
            };
            info!(consumer = %self.spec.name, stream = %self.spec.stream, "consuming");
            let mut chunks = messages.ready_chunks(self.spec.batch);
            let mut pending_report = Instant::now();
            loop {
                let chunk = tokio::select! {
                    biased;
                    () = shutdown.cancelled() => {
                        self.release_prefetched(&mut chunks).await;
                        return Ok(());
                    }
                    chunk = chunks.next() => chunk,
                };
                let Some(chunk) = chunk else {
                    warn!(consumer = %self.spec.name, "message stream ended; reconnecting");
                    break;
                };
                let mut batch = Vec::with_capacity(chunk.len());
                for item in chunk {
                    match item {
                        Ok(message) => batch.push(message),
                        Err(error) => {
                            warn!(consumer = %self.spec.name, %error, "pulling messages failed");
                        }
                    }
                }
                if !batch.is_empty() {
                    self.process(batch).await;
                }
                if pending_report.elapsed() > Duration::from_secs(5) {
                    pending_report = Instant::now();
                    if let Ok(info) = consumer.get_info().await {
                        self.metrics.set_consumer_pending(
                            self.spec.service.name(),
                            &self.spec.name,
                            info.num_pending,
                        );
                    }
                }
            }
            self.pause(&shutdown, &mut backoff).await;
        }
        Ok(())
    }

    /// On shutdown: hands back what was pulled but not handled, so another
    /// replica gets it now rather than after `ack_wait`.
    async fn release_prefetched<S>(&self, chunks: &mut S)
    where
        S: futures::Stream<Item = Vec<Result<Message, pull::MessagesError>>> + Unpin,
    {
        let mut released = 0_usize;
        while let Some(Some(chunk)) = chunks.next().now_or_never() {
            for message in chunk.into_iter().flatten() {
                if message.ack_with(AckKind::Nak(None)).await.is_ok() {
                    released += 1;
                }
            }
        }
        if released > 0 {
            info!(consumer = %self.spec.name, released, "handed back prefetched messages");
        }
    }

    async fn pause(&self, shutdown: &CancellationToken, backoff: &mut Duration) {
        tokio::select! {
            () = tokio::time::sleep(*backoff) => {}
            () = shutdown.cancelled() => {}
        }
        *backoff = (*backoff * 2).min(Duration::from_secs(5));
    }

    /// Handles one batch in one transaction and settles every message.
    async fn process(&self, batch: Vec<Message>) {
        let started = Instant::now();
        let (overdue, batch): (Vec<Message>, Vec<Message>) =
            batch.into_iter().partition(|m| self.is_overdue(m));
        for message in &overdue {
            let delivery = self.delivery(message);
            let reason = format!(
                "delivered {} times without being settled (max_deliver is {}); it may crash the service",
                delivery.delivered, self.spec.max_deliver
            );
            self.settle(message, &delivery, Outcome::DeadLetter(reason))
                .await;
        }
        if batch.is_empty() {
            return;
        }
        let deliveries: Vec<Delivery> = batch.iter().map(|m| self.delivery(m)).collect();
        let outcomes = match self.transact(&deliveries).await {
            Ok(outcomes) => {
                self.handler.committed();
                outcomes
            }
            Err(error) => {
                warn!(consumer = %self.spec.name, error = %error, messages = batch.len(), "batch transaction failed; every message will be retried");
                deliveries
                    .iter()
                    .map(|delivery| {
                        self.after_failure(
                            delivery,
                            HandlerError::Retryable(Box::new(BatchAborted)),
                        )
                    })
                    .collect()
            }
        };
        let seconds = started.elapsed().as_secs_f64() / batch.len() as f64;
        for ((message, delivery), outcome) in batch.iter().zip(&deliveries).zip(outcomes) {
            self.metrics
                .observe_handler(self.spec.service.name(), &self.spec.name, seconds);
            self.settle(message, delivery, outcome).await;
        }
    }

    fn delivery(&self, message: &Message) -> Delivery {
        let (stream_sequence, delivered) = message
            .info()
            .map(|info| (info.stream_sequence, info.delivered))
            .unwrap_or((0, 1));
        Delivery {
            subject: message.subject.to_string(),
            headers: message.headers.clone(),
            payload: message.payload.clone(),
            stream_sequence,
            delivered,
            envelope: Envelope::from_headers(message.headers.as_ref()),
            stream: self.spec.stream.clone(),
        }
    }

    async fn transact(&self, deliveries: &[Delivery]) -> Result<Vec<Outcome>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let mut outcomes = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            let span = consume_span(&self.spec, delivery);
            let outcome = self.handle_one(&mut tx, delivery).instrument(span).await?;
            outcomes.push(outcome);
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    /// One message inside the batch transaction. A savepoint fences its
    /// writes; only errors of the savepoint machinery itself (the connection
    /// is gone) abort the batch.
    async fn handle_one(
        &self,
        tx: &mut PgConnection,
        delivery: &Delivery,
    ) -> Result<Outcome, sqlx::Error> {
        sqlx::query("SAVEPOINT message").execute(&mut *tx).await?;
        let (source, id) = self.handler.identity(delivery);
        let first_time = sqlx::query(&self.inbox_insert)
            .bind(&self.spec.name)
            .bind(&source)
            .bind(&id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if !first_time {
            sqlx::query("RELEASE SAVEPOINT message")
                .execute(&mut *tx)
                .await?;
            return Ok(Outcome::Duplicate);
        }
        match self.handler.handle(tx, delivery).await {
            Ok(()) => {
                sqlx::query("RELEASE SAVEPOINT message")
                    .execute(&mut *tx)
                    .await?;
                Ok(Outcome::Done)
            }
            Err(failure) => {
                sqlx::query("ROLLBACK TO SAVEPOINT message")
                    .execute(&mut *tx)
                    .await?;
                Ok(self.after_failure(delivery, failure))
            }
        }
    }

    /// A failed message is retried until its last allowed delivery, then
    /// parked in the dead-letter stream.
    fn after_failure(&self, delivery: &Delivery, failure: HandlerError) -> Outcome {
        match failure {
            HandlerError::Permanent { reason } => Outcome::DeadLetter(reason),
            retryable if delivery.delivered >= self.spec.max_deliver => {
                Outcome::DeadLetter(format!(
                    "still failing after {} deliveries: {}",
                    delivery.delivered,
                    error_chain(&retryable)
                ))
            }
            retryable => Outcome::Retry(retryable),
        }
    }

    fn is_overdue(&self, message: &Message) -> bool {
        message
            .info()
            .is_ok_and(|info| info.delivered > self.spec.max_deliver)
    }

    async fn settle(&self, message: &Message, delivery: &Delivery, outcome: Outcome) {
        let service = self.spec.service.name();
        let consumer = &self.spec.name;
        let result = match outcome {
            Outcome::Done => {
                self.metrics
                    .record_consumed(service, consumer, ConsumeOutcome::Ok, 1);
                message.ack().await
            }
            Outcome::Duplicate => {
                self.metrics
                    .record_consumed(service, consumer, ConsumeOutcome::Duplicate, 1);
                message.ack().await
            }
            Outcome::Retry(failure) => {
                self.metrics
                    .record_consumed(service, consumer, ConsumeOutcome::Retried, 1);
                let delay = retry_delay(delivery.delivered);
                warn!(consumer = %consumer, subject = %delivery.subject, delivered = delivery.delivered, ?delay, error = %error_chain(&failure), "message will be retried");
                message.ack_with(AckKind::Nak(Some(delay))).await
            }
            Outcome::DeadLetter(reason) => {
                match dlq::dead_letter(&self.js, self.spec.service, consumer, delivery, &reason)
                    .await
                {
                    Ok(()) => {
                        self.metrics.record_consumed(
                            service,
                            consumer,
                            ConsumeOutcome::DeadLettered,
                            1,
                        );
                        error!(consumer = %consumer, subject = %delivery.subject, %reason, "message dead-lettered");
                        message.ack_with(AckKind::Term).await
                    }
                    Err(error) => {
                        // Not parked anywhere yet: leave it to be redelivered.
                        warn!(consumer = %consumer, %error, "could not dead-letter; will retry");
                        message
                            .ack_with(AckKind::Nak(Some(retry_delay(delivery.delivered))))
                            .await
                    }
                }
            }
        };
        if let Err(error) = result {
            // The message will be redelivered after ack_wait; the inbox makes
            // that harmless.
            warn!(consumer = %consumer, %error, "could not settle message");
        }
    }
}

/// How long a consumer that was never created is retried before the loop
/// reports a setup error.
const SETUP_PATIENCE: Duration = Duration::from_secs(20);

/// Exponential backoff for NAKs: 0.5 s, 1 s, 2 s, ... capped at 30 s.
fn retry_delay(delivered: i64) -> Duration {
    let exponent = u32::try_from(delivered.clamp(1, 7) - 1).unwrap_or(0);
    Duration::from_millis(500 * 2_u64.pow(exponent)).min(Duration::from_secs(30))
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[derive(Debug, thiserror::Error)]
#[error("the batch's transaction did not commit")]
struct BatchAborted;

/// A consumer span per OpenTelemetry's messaging conventions, continuing the
/// producer's trace from the message headers.
fn consume_span(spec: &ConsumerSpec, delivery: &Delivery) -> tracing::Span {
    let (ce_type, ce_id) = match &delivery.envelope {
        Ok(e) => (e.event_type.as_str(), e.id.as_str()),
        Err(_) => ("", ""),
    };
    let span = info_span!(
        "process",
        otel.kind = "consumer",
        otel.name = format!("process {}", delivery.subject),
        messaging.system = "nats",
        messaging.operation.type = "process",
        messaging.destination.name = %delivery.subject,
        messaging.consumer.group.name = %spec.name,
        messaging.message.id = ce_id,
        ce_type = ce_type,
        service = spec.service.name(),
    );
    telemetry::set_parent_from_headers(&span, delivery.headers.as_ref());
    span
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_grow_and_stay_bounded() {
        assert_eq!(retry_delay(1), Duration::from_millis(500));
        assert_eq!(retry_delay(2), Duration::from_secs(1));
        assert!(retry_delay(100) <= Duration::from_secs(30));
    }
}
