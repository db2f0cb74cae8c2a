//! The durable pull-consumer loop every service runs.
//!
//! Messages are pulled in batches. A batch is handled in **one** Postgres
//! transaction, so one commit (the expensive part, about 0.5 ms here) serves
//! many messages, while one message's failure undoes only its own writes.
//! Acks are sent only after the commit.
//!
//! Inside the transaction the whole batch is first recorded in the consumer's
//! inbox with one statement: a redelivery (or a second copy of a message in
//! the same batch) finds its row and is acknowledged without effect. The
//! first-time messages then go to [`Handler::handle_batch`] together, under
//! one savepoint. By default that handles them one by one, each under its own
//! savepoint; a handler may instead do set-based work for the whole batch.
//! A message the handler fails has its inbox row removed again, so its
//! redelivery is handled. If the batch call fails as a whole (a database
//! error, or a handler bug), everything since the savepoint is rolled back
//! and the batch is handled message by message, each with its own savepoint
//! around its inbox row and its writes: one bad message still costs only
//! itself.
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
use contract::{CloudEvent, Envelope, EnvelopeError, Service};
use futures::{FutureExt, StreamExt};
use sqlx::{PgConnection, PgPool, Row};
use std::collections::HashSet;
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
    /// The consumer span of this message, a child of the publisher's trace.
    span: tracing::Span,
}

impl Delivery {
    /// The body as event `E`: `None` (to be acked without effect) when the
    /// message carries another `ce-type`, such as a later version this
    /// release does not know; a permanent failure when it is no CloudEvent or
    /// its body does not parse.
    pub fn event<E: CloudEvent>(&self) -> Result<Option<E>, HandlerError> {
        match &self.envelope {
            Ok(envelope) if envelope.event_type != E::TYPE => {
                warn!(subject = %self.subject, ce_type = %envelope.event_type, "unknown event type ignored");
                return Ok(None);
            }
            Ok(_) => {}
            Err(error) => {
                return Err(HandlerError::permanent(format!(
                    "not a CloudEvent: {error}"
                )));
            }
        }
        E::from_json(&self.payload)
            .map(Some)
            .map_err(|e| HandlerError::permanent(format!("not a valid {} body: {e}", E::TYPE)))
    }

    /// The `ce-type` of the message, empty when it is no CloudEvent (then
    /// [`Self::event`] says why): what a handler dispatches on.
    pub fn event_type(&self) -> &str {
        self.envelope
            .as_ref()
            .map(|e| e.event_type.as_str())
            .unwrap_or_default()
    }

    /// The stream the message was read from.
    pub fn stream_name(&self) -> &str {
        &self.stream
    }

    /// The message's consumer span (OpenTelemetry's messaging conventions),
    /// continuing the publisher's trace. The loop runs the per-message
    /// handler inside it; a batch handler can enter it for one message's work
    /// or stamp its outgoing events with it
    /// ([`OutgoingMessage::in_trace_of`](crate::OutgoingMessage::in_trace_of)).
    pub fn span(&self) -> &tracing::Span {
        &self.span
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

    /// Handles a batch's first-time messages, in order, inside the batch's
    /// transaction: one result per delivery, in the same order.
    ///
    /// A message whose result is an error must have left no writes behind.
    /// An error for the whole batch (or a database error) makes the loop roll
    /// back everything this call wrote and handle the batch again with
    /// [`handle`](Self::handle), one savepoint per message.
    ///
    /// By default it calls [`handle`](Self::handle) for each message under
    /// its own savepoint. Override it to do set-based work (a few statements
    /// for the whole batch instead of a few per message).
    fn handle_batch<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        deliveries: &'a [&'a Delivery],
    ) -> impl Future<Output = Result<Vec<Result<(), HandlerError>>, HandlerError>> + Send + 'a {
        async move {
            let mut results = Vec::with_capacity(deliveries.len());
            for delivery in deliveries {
                let result = handle_fenced(self, &mut *tx, delivery)
                    .instrument(delivery.span().clone())
                    .await?;
                results.push(result);
            }
            Ok(results)
        }
    }

    /// Whether this handler acts on messages of `subject`. Those it does not
    /// are acknowledged at once, without a transaction or an inbox row: a
    /// consumer that must read a whole stream in order (nats-server 2.9 allows
    /// one filter subject) pays almost nothing for the subjects it ignores.
    /// Say no only for messages whose handling would write nothing.
    fn concerns(&self, _subject: &str) -> bool {
        true
    }

    /// Called after a batch commits: the place to wake the outbox relay.
    fn committed(&self) {}

    /// The inbox identity of a message; by default `(ce-source, ce-id)`.
    fn identity(&self, delivery: &Delivery) -> (String, String) {
        delivery.identity()
    }
}

/// One message under its own savepoint: its writes stay if it succeeds and
/// are rolled back if it fails. The outer error is the savepoint machinery's
/// own (the connection is in trouble). What the default
/// [`Handler::handle_batch`] does per message; a handler that overrides it
/// uses this for the messages it does not handle together.
pub async fn handle_fenced<H: Handler + ?Sized>(
    handler: &H,
    tx: &mut PgConnection,
    delivery: &Delivery,
) -> Result<Result<(), HandlerError>, sqlx::Error> {
    sqlx::query("SAVEPOINT message").execute(&mut *tx).await?;
    match handler.handle(tx, delivery).await {
        Ok(()) => {
            sqlx::query("RELEASE SAVEPOINT message")
                .execute(&mut *tx)
                .await?;
            Ok(Ok(()))
        }
        Err(failure) => {
            sqlx::query("ROLLBACK TO SAVEPOINT message")
                .execute(&mut *tx)
                .await?;
            Ok(Err(failure))
        }
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
    inbox_insert_all: String,
    inbox_delete_all: String,
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
    let inbox_insert_all = format!(
        "INSERT INTO {} (consumer, source, id) \
         SELECT $1, * FROM UNNEST($2::text[], $3::text[]) \
         ON CONFLICT DO NOTHING RETURNING source, id",
        schema.table("inbox")
    );
    let inbox_delete_all = format!(
        "DELETE FROM {} WHERE consumer = $1 \
         AND (source, id) IN (SELECT * FROM UNNEST($2::text[], $3::text[]))",
        schema.table("inbox")
    );
    let this = Loop {
        spec,
        handler,
        pool,
        js,
        metrics,
        inbox_insert,
        inbox_insert_all,
        inbox_delete_all,
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
        // Asked of JetStream on a timer, not from this loop: the gauge must
        // keep moving when the loop is stuck or idle. Stops when this returns.
        let reporting = shutdown.child_token();
        let _stop_reporting = reporting.clone().drop_guard();
        tokio::spawn(report_pending(
            self.js.clone(),
            self.spec.clone(),
            self.metrics.clone(),
            reporting,
        ));
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
                if !batch.is_empty() && !self.process(batch).await {
                    self.wait_for_database(&shutdown).await;
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
    /// Returns false when the database was unavailable: the caller waits for
    /// it before pulling more.
    async fn process(&self, batch: Vec<Message>) -> bool {
        let started = Instant::now();
        // Ignored subjects first: they are never handled, so however often
        // they were delivered they cannot be what crashed the service.
        let (batch, ignored): (Vec<Message>, Vec<Message>) = batch
            .into_iter()
            .partition(|m| self.handler.concerns(&m.subject));
        self.skip(&ignored).await;
        let (overdue, mut batch): (Vec<Message>, Vec<Message>) =
            batch.into_iter().partition(|m| self.is_overdue(m));
        for mut message in overdue {
            let delivery = self.delivery(&mut message);
            let reason = format!(
                "delivered {} times without being settled (max_deliver is {}); it may crash the service",
                delivery.delivered, self.spec.max_deliver
            );
            self.settle(&message, &delivery, Outcome::DeadLetter(reason))
                .await;
        }
        if batch.is_empty() {
            return true;
        }
        let deliveries: Vec<Delivery> = batch.iter_mut().map(|m| self.delivery(m)).collect();
        let mut database_available = true;
        let outcomes = match self.transact(&deliveries).await {
            Ok(outcomes) => {
                self.handler.committed();
                outcomes
            }
            Err(BatchFailure::DatabaseUnavailable(error)) => {
                // Not the messages' fault: offered again, never dead-lettered
                // for it, whatever their delivery count.
                warn!(consumer = %self.spec.name, error = %error, messages = batch.len(), "database unavailable; the batch will be retried once it answers");
                database_available = false;
                deliveries
                    .iter()
                    .map(|_| Outcome::Retry(HandlerError::Retryable(Box::new(BatchAborted))))
                    .collect()
            }
            Err(BatchFailure::Failed(error)) => {
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
        // Latency, not cost: every message of the batch waited for all of it.
        let seconds = started.elapsed().as_secs_f64();
        for ((message, delivery), outcome) in batch.iter().zip(&deliveries).zip(outcomes) {
            self.metrics
                .observe_handler(self.spec.service.name(), &self.spec.name, seconds);
            self.settle(message, delivery, outcome).await;
        }
        database_available
    }

    /// Acknowledges messages the handler does not act on.
    async fn skip(&self, messages: &[Message]) {
        if messages.is_empty() {
            return;
        }
        self.metrics.record_consumed(
            self.spec.service.name(),
            &self.spec.name,
            ConsumeOutcome::Skipped,
            messages.len() as u64,
        );
        for message in messages {
            if let Err(error) = message.ack().await {
                // Redelivered after ack_wait and skipped again: harmless.
                warn!(consumer = %self.spec.name, %error, "could not acknowledge a skipped message");
            }
        }
    }

    /// The handler's view of `message`. Its headers move into the delivery
    /// (copying a header map is a dozen allocations); acknowledging the
    /// message needs only its reply subject.
    fn delivery(&self, message: &mut Message) -> Delivery {
        let (stream_sequence, delivered) = message
            .info()
            .map(|info| (info.stream_sequence, info.delivered))
            .unwrap_or((0, 1));
        let headers = message.message.headers.take();
        let mut delivery = Delivery {
            subject: message.subject.to_string(),
            envelope: Envelope::from_headers(headers.as_ref()),
            headers,
            payload: message.payload.clone(),
            stream_sequence,
            delivered,
            stream: self.spec.stream.clone(),
            span: tracing::Span::none(),
        };
        delivery.span = consume_span(&self.spec, &delivery);
        delivery
    }

    async fn transact(&self, deliveries: &[Delivery]) -> Result<Vec<Outcome>, BatchFailure> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(BatchFailure::DatabaseUnavailable)?;
        let outcomes = match self.handle_batch(&mut tx, deliveries).await? {
            Some(outcomes) => outcomes,
            None => {
                let mut outcomes = Vec::with_capacity(deliveries.len());
                for delivery in deliveries {
                    let span = delivery.span().clone();
                    let outcome = self.handle_one(&mut tx, delivery).instrument(span).await?;
                    outcomes.push(outcome);
                }
                outcomes
            }
        };
        tx.commit().await?;
        Ok(outcomes)
    }

    /// After the database could not even begin a transaction: waits until it
    /// answers again (or shutdown), pulling nothing meanwhile, so an outage
    /// costs each message one delivery, not its whole `max_deliver` budget.
    async fn wait_for_database(&self, shutdown: &CancellationToken) {
        let mut pause = Duration::from_millis(250);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(pause) => {}
            }
            if sqlx::query("SELECT 1").execute(&self.pool).await.is_ok() {
                info!(consumer = %self.spec.name, "the database answers again; consuming");
                return;
            }
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    }

    /// The batch path, under one savepoint: `None` when it failed as a whole
    /// and was rolled back, so the batch must be handled message by message.
    /// Only errors of the savepoint machinery itself abort the batch.
    async fn handle_batch(
        &self,
        tx: &mut PgConnection,
        deliveries: &[Delivery],
    ) -> Result<Option<Vec<Outcome>>, sqlx::Error> {
        sqlx::query("SAVEPOINT batch").execute(&mut *tx).await?;
        let span = batch_span(&self.spec, deliveries);
        match self.try_batch(tx, deliveries).instrument(span).await {
            Ok(outcomes) => {
                sqlx::query("RELEASE SAVEPOINT batch")
                    .execute(&mut *tx)
                    .await?;
                Ok(Some(outcomes))
            }
            Err(error) => {
                warn!(consumer = %self.spec.name, error = %error_chain(&error), messages = deliveries.len(), "the batch failed as a whole; handling its messages one by one");
                sqlx::query("ROLLBACK TO SAVEPOINT batch")
                    .execute(&mut *tx)
                    .await?;
                Ok(None)
            }
        }
    }

    /// Records the batch in the inbox, hands the first-time messages to the
    /// handler together and takes the failed ones out of the inbox again.
    async fn try_batch(
        &self,
        tx: &mut PgConnection,
        deliveries: &[Delivery],
    ) -> Result<Vec<Outcome>, HandlerError> {
        let identities: Vec<(String, String)> = deliveries
            .iter()
            .map(|delivery| self.handler.identity(delivery))
            .collect();
        let (sources, ids): (Vec<&str>, Vec<&str>) = identities
            .iter()
            .map(|(source, id)| (source.as_str(), id.as_str()))
            .unzip();
        let rows = sqlx::query(&self.inbox_insert_all)
            .bind(&self.spec.name)
            .bind(&sources)
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?;
        let mut recorded = HashSet::with_capacity(rows.len());
        for row in rows {
            recorded.insert((row.try_get::<String, _>(0)?, row.try_get::<String, _>(1)?));
        }
        // A message is first-time if its row is new; the first of two copies
        // in one batch takes the row, the second is a duplicate.
        let first_time: Vec<bool> = identities
            .iter()
            .map(|identity| recorded.remove(identity))
            .collect();
        let firsts: Vec<&Delivery> = deliveries
            .iter()
            .zip(&first_time)
            .filter_map(|(delivery, first)| first.then_some(delivery))
            .collect();
        let results = if firsts.is_empty() {
            Vec::new()
        } else {
            self.handler.handle_batch(&mut *tx, &firsts).await?
        };
        if results.len() != firsts.len() {
            return Err(HandlerError::Retryable(
                format!(
                    "the handler returned {} results for {} messages",
                    results.len(),
                    firsts.len()
                )
                .into(),
            ));
        }
        // Failed messages leave no trace, their inbox rows included.
        let (failed_sources, failed_ids): (Vec<&str>, Vec<&str>) = identities
            .iter()
            .zip(&first_time)
            .filter(|(_, first)| **first)
            .zip(&results)
            .filter(|(_, result)| result.is_err())
            .map(|((identity, _), _)| (identity.0.as_str(), identity.1.as_str()))
            .unzip();
        if !failed_sources.is_empty() {
            sqlx::query(&self.inbox_delete_all)
                .bind(&self.spec.name)
                .bind(&failed_sources)
                .bind(&failed_ids)
                .execute(&mut *tx)
                .await?;
        }
        let mut results = results.into_iter();
        let outcomes = deliveries
            .iter()
            .zip(first_time)
            .map(|(delivery, first)| {
                if !first {
                    return Outcome::Duplicate;
                }
                match results.next() {
                    Some(Ok(())) => Outcome::Done,
                    Some(Err(failure)) => self.after_failure(delivery, failure),
                    None => unreachable!("one result per first-time message, checked above"),
                }
            })
            .collect();
        Ok(outcomes)
    }

    /// One message inside the batch transaction, when the batch path failed:
    /// a savepoint fences its inbox row and its writes; only errors of the
    /// savepoint machinery itself (the connection is gone) abort the batch.
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
        let span = delivery.span();
        let label = match &outcome {
            Outcome::Done => "ok",
            Outcome::Duplicate => "duplicate",
            Outcome::Retry(_) => "retried",
            Outcome::DeadLetter(_) => "dead_lettered",
        };
        span.record("messaging.nats.outcome", label);
        if matches!(outcome, Outcome::Retry(_) | Outcome::DeadLetter(_)) {
            span.record("error.type", label);
            span.record("otel.status_code", "ERROR");
        }
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
                        self.metrics
                            .record_consumed(service, consumer, ConsumeOutcome::Retried, 1);
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

/// How often each consumer's pending count is asked of JetStream.
const PENDING_REPORT_INTERVAL: Duration = Duration::from_secs(15);
/// How soon to ask again when JetStream did not answer (at start the
/// consumer may not exist yet): the gauge should not be missing for long.
const PENDING_RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// Sets `ileaps_consumer_pending_messages` to what JetStream says the
/// consumer has yet to finish (`num_pending + num_ack_pending`): at once,
/// then every [`PENDING_REPORT_INTERVAL`] until `stop`. While JetStream does
/// not answer, the last value stays.
async fn report_pending(
    js: jetstream::Context,
    spec: ConsumerSpec,
    metrics: Arc<Metrics>,
    stop: CancellationToken,
) {
    loop {
        let info = async {
            js.get_stream_no_info(&spec.stream)
                .await?
                .consumer_info(&spec.name)
                .await
                .map_err(async_nats::Error::from)
        };
        let answer = tokio::select! {
            () = stop.cancelled() => return,
            answer = tokio::time::timeout(PENDING_REPORT_INTERVAL, info) => answer,
        };
        let next = match answer {
            Ok(Ok(info)) => {
                let in_hand = u64::try_from(info.num_ack_pending).unwrap_or(u64::MAX);
                metrics.set_consumer_pending(
                    spec.service.name(),
                    &spec.name,
                    info.num_pending.saturating_add(in_hand),
                );
                PENDING_REPORT_INTERVAL
            }
            Ok(Err(error)) => {
                tracing::debug!(consumer = %spec.name, %error, "could not read the consumer's pending count");
                PENDING_RETRY_INTERVAL
            }
            Err(_) => {
                tracing::debug!(consumer = %spec.name, "no answer for the consumer's pending count");
                PENDING_RETRY_INTERVAL
            }
        };
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(next) => {}
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

/// Why a batch's transaction did not commit.
#[derive(Debug, thiserror::Error)]
enum BatchFailure {
    /// No transaction could be begun: the database is down or unreachable,
    /// which says nothing about the messages.
    #[error("the database is unavailable: {0}")]
    DatabaseUnavailable(#[source] sqlx::Error),
    /// The transaction failed under way.
    #[error(transparent)]
    Failed(#[from] sqlx::Error),
}

/// The consumer span of one message, per OpenTelemetry's messaging
/// conventions: `process <subject>`, kind consumer, from the message's
/// arrival until it is settled (acked, NAKed or dead-lettered).
///
/// It is a child of the publisher's span (the relay's `publish` span, or the
/// city's own span for inbound messages) **and** linked to it: the
/// conventions ask for the link, and the parent keeps one enquiry in one
/// trace across all four services. Its context is what the handler's outbox
/// rows carry on. A message without a valid `traceparent` starts a trace
/// here: the span is created with `parent: None`, never as a child of
/// whatever span is current in the loop. [`Loop::settle`] records how the
/// message ended (`messaging.nats.outcome`, and an error status when it is
/// retried or dead-lettered).
fn consume_span(spec: &ConsumerSpec, delivery: &Delivery) -> tracing::Span {
    let (ce_type, ce_id) = match &delivery.envelope {
        Ok(e) => (e.event_type.as_str(), e.id.as_str()),
        Err(_) => ("", ""),
    };
    let span = info_span!(
        parent: None,
        "process",
        otel.kind = "consumer",
        otel.name = format!("process {}", delivery.subject),
        messaging.system = "nats",
        messaging.operation.type = "process",
        messaging.operation.name = "process",
        messaging.destination.name = %delivery.subject,
        messaging.consumer.group.name = %spec.name,
        messaging.message.id = ce_id,
        messaging.message.body.size = delivery.payload.len(),
        messaging.nats.stream = %spec.stream,
        messaging.nats.stream_sequence = delivery.stream_sequence,
        messaging.nats.delivery_count = delivery.delivered,
        messaging.nats.outcome = tracing::field::Empty,
        ce_type = ce_type,
        service = spec.service.name(),
        error.type = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    telemetry::set_parent_and_link(&span, delivery.headers.as_ref());
    span
}

/// The span of one batch transaction. It covers many messages, which may
/// belong to as many traces, so it has no parent (a trace of its own) and a
/// link to each message's publisher instead, as the conventions say for
/// batch processing; each message's own work stays under its `process` span.
fn batch_span(spec: &ConsumerSpec, deliveries: &[Delivery]) -> tracing::Span {
    let span = info_span!(
        parent: None,
        "process batch",
        otel.name = format!("process batch {}", spec.filter_subject),
        messaging.system = "nats",
        messaging.operation.type = "process",
        messaging.destination.name = %spec.filter_subject,
        messaging.consumer.group.name = %spec.name,
        messaging.batch.message_count = deliveries.len(),
        service = spec.service.name(),
    );
    for delivery in deliveries {
        telemetry::link_from_headers(&span, delivery.headers.as_ref());
    }
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
