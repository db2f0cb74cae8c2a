//! The transactional outbox and its relay.
//!
//! A handler writes the events it emits into `<schema>.outbox` in the same
//! transaction as its state change ([`Outbox::enqueue`]); nothing is published
//! from inside a transaction. The [`Relay`] publishes pending rows to JetStream
//! with `Nats-Msg-Id = ce-id`, in windows of outstanding acks, and moves them
//! to `<schema>.outbox_published`, where they are kept for the retention
//! period (for `ileaps outbox replay`). It is woken right after a commit
//! ([`Outbox::wake_relay`]) and polls as a fallback; rows are claimed with
//! `FOR UPDATE SKIP LOCKED` so several replicas can relay one schema.
//!
//! If a relay dies after publishing but before moving, the next relay
//! publishes the rows again with the same `Nats-Msg-Id`: JetStream drops them
//! inside its duplicate window, and consumers' inboxes drop them after it.

use crate::headers;
use crate::schema::Schema;
use async_nats::jetstream;
use chrono::{DateTime, Utc};
use contract::{CloudEvent, Envelope, Service};
use futures::future::join_all;
use sqlx::{PgConnection, PgPool, Row};
use std::sync::Arc;
use std::time::Duration;
use telemetry::Metrics;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info_span, warn};

/// One event to publish: its envelope, its NATS subject and its JSON body.
#[derive(Debug, Clone)]
pub struct OutgoingMessage {
    pub envelope: Envelope,
    pub subject: String,
    pub body: Vec<u8>,
}

impl OutgoingMessage {
    /// An event of the contract from `service`, about `about` (the `ce-subject`:
    /// an enquiry, workshop or notification id).
    pub fn event<E: CloudEvent>(
        service: Service,
        subject: impl Into<String>,
        about: impl Into<String>,
        body: &E,
    ) -> Self {
        Self {
            envelope: Envelope::new(service, E::TYPE, about),
            subject: subject.into(),
            body: body.to_json(),
        }
    }

    /// Puts the event in the trace of `span` (usually
    /// [`Delivery::span`](crate::Delivery::span)): for events written outside
    /// the span of the message that caused them, such as a batch handler's.
    /// Without it, [`Outbox::enqueue_all`] uses the trace current when the
    /// row is written.
    #[must_use]
    pub fn in_trace_of(mut self, span: &tracing::Span) -> Self {
        if self.envelope.traceparent.is_none()
            && let Some((parent, state)) = span.in_scope(telemetry::current_traceparent)
        {
            self.envelope.traceparent = Some(parent);
            self.envelope.tracestate = state;
        }
        self
    }
}

/// A handle on one schema's outbox: cheap to clone, shared by the handlers
/// that write and the relay that publishes.
#[derive(Debug, Clone)]
pub struct Outbox {
    schema: Schema,
    sql: Arc<OutboxSql>,
    wake: Arc<Notify>,
}

/// Statements built once per schema (table names cannot be bind parameters).
#[derive(Debug)]
struct OutboxSql {
    insert: String,
    claim: String,
    move_published: String,
    backlog: String,
    prune_outbox: String,
    prune_inbox: String,
    since: String,
}

impl Outbox {
    pub fn new(schema: Schema) -> Self {
        let outbox = schema.table("outbox");
        let published = schema.table("outbox_published");
        let inbox = schema.table("inbox");
        let sql = OutboxSql {
            insert: format!(
                "INSERT INTO {outbox} (id, subject, headers, body) \
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::bytea[], $4::bytea[])"
            ),
            claim: format!(
                "SELECT seq, id, subject, headers, body FROM {outbox} \
                 ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED"
            ),
            move_published: format!(
                "WITH moved AS (DELETE FROM {outbox} WHERE seq = ANY($1) \
                   RETURNING seq, id, subject, headers, body, created_at) \
                 INSERT INTO {published} (seq, id, subject, headers, body, created_at, published_at) \
                 SELECT *, now() FROM moved"
            ),
            backlog: format!(
                "SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(created_at))::float8, 0) \
                 FROM {outbox}"
            ),
            prune_outbox: format!(
                "DELETE FROM {published} WHERE published_at < now() - $1::interval"
            ),
            prune_inbox: format!("DELETE FROM {inbox} WHERE processed_at < now() - $1::interval"),
            // One statement, so one snapshot: a row the relay moves meanwhile
            // is seen in exactly one of the two tables.
            since: format!(
                "SELECT seq, id, subject, headers, body FROM {published} \
                   WHERE created_at >= $1 AND seq > $2 \
                 UNION ALL \
                 SELECT seq, id, subject, headers, body FROM {outbox} \
                   WHERE created_at >= $1 AND seq > $2 \
                 ORDER BY seq LIMIT $3"
            ),
        };
        Self {
            schema,
            sql: Arc::new(sql),
            wake: Arc::new(Notify::new()),
        }
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Writes one event in the caller's transaction.
    pub async fn enqueue(
        &self,
        conn: &mut PgConnection,
        message: OutgoingMessage,
    ) -> Result<(), sqlx::Error> {
        self.enqueue_all(conn, vec![message]).await
    }

    /// Writes events in the caller's transaction, in one statement.
    ///
    /// The trace context is captured here, when the row is written, so the
    /// event continues the trace of the work that caused it.
    pub async fn enqueue_all(
        &self,
        conn: &mut PgConnection,
        messages: Vec<OutgoingMessage>,
    ) -> Result<(), sqlx::Error> {
        if messages.is_empty() {
            return Ok(());
        }
        let trace = telemetry::current_traceparent();
        let mut ids = Vec::with_capacity(messages.len());
        let mut subjects = Vec::with_capacity(messages.len());
        let mut header_lines = Vec::with_capacity(messages.len());
        let mut bodies = Vec::with_capacity(messages.len());
        for mut message in messages {
            if message.envelope.traceparent.is_none()
                && let Some((parent, state)) = &trace
            {
                message.envelope.traceparent = Some(parent.clone());
                message.envelope.tracestate.clone_from(state);
            }
            ids.push(message.envelope.id.clone());
            subjects.push(message.subject);
            header_lines.push(headers::to_lines(message.envelope.header_pairs()));
            bodies.push(message.body);
        }
        sqlx::query(&self.sql.insert)
            .bind(ids)
            .bind(subjects)
            .bind(header_lines)
            .bind(bodies)
            .execute(conn)
            .await?;
        Ok(())
    }

    /// Tells the relay there is work; call it after the transaction commits.
    pub fn wake_relay(&self) {
        self.wake.notify_one();
    }
}

/// How the relay works; the defaults suit one small server.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// Rows claimed per transaction, and so acks outstanding at once.
    pub window: i64,
    /// How often to look for work when nobody wakes the relay.
    pub poll_interval: Duration,
    /// How long published rows are kept for `outbox replay`.
    pub retention: Duration,
    /// How long inbox rows are kept (longer than any stream redelivers).
    pub inbox_retention: Duration,
}

impl Default for RelaySettings {
    fn default() -> Self {
        Self {
            window: 256,
            poll_interval: Duration::from_millis(500),
            retention: Duration::from_secs(7 * 24 * 3600),
            inbox_retention: Duration::from_secs(31 * 24 * 3600),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("outbox query failed")]
    Database(#[from] sqlx::Error),
    #[error("{failed} of {attempted} outbox messages were not acknowledged by JetStream")]
    Publish {
        attempted: usize,
        failed: usize,
        #[source]
        first: async_nats::Error,
    },
}

/// Publishes one schema's outbox to JetStream.
#[derive(Debug, Clone)]
pub struct Relay {
    outbox: Outbox,
    service: Service,
    pool: PgPool,
    js: jetstream::Context,
    settings: RelaySettings,
    metrics: Arc<Metrics>,
    /// When the backlog gauge was last refreshed after a success.
    last_backlog_report: Arc<std::sync::Mutex<Option<tokio::time::Instant>>>,
}

/// How often a relay that is keeping up refreshes the backlog gauge. The
/// count scans the pending table, which holds the dead rows of everything
/// published since the last vacuum; run after every window under load, it
/// was a tenth of Postgres's time in `ileaps bench`.
const BACKLOG_REPORT_INTERVAL: Duration = Duration::from_secs(1);

struct ClaimedRow {
    seq: i64,
    id: String,
    subject: String,
    headers: Vec<u8>,
    body: Vec<u8>,
}

impl ClaimedRow {
    /// From `SELECT seq, id, subject, headers, body`.
    fn from_row(row: &sqlx::postgres::PgRow) -> Self {
        Self {
            seq: row.get(0),
            id: row.get(1),
            subject: row.get(2),
            headers: row.get(3),
            body: row.get(4),
        }
    }
}

impl Relay {
    pub fn new(
        outbox: Outbox,
        service: Service,
        pool: PgPool,
        js: jetstream::Context,
        settings: RelaySettings,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            outbox,
            service,
            pool,
            js,
            settings,
            metrics,
            last_backlog_report: Arc::default(),
        }
    }

    /// Relays until `shutdown`, then flushes what is pending once more and
    /// returns. Errors (NATS or Postgres away) are logged and retried with
    /// backoff; rows stay in the outbox until they are published.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(100);
        let mut last_prune = tokio::time::Instant::now();
        loop {
            match self.publish_pending().await {
                Ok(_) => backoff = Duration::from_millis(100),
                Err(error) => {
                    warn!(service = %self.service, error = %error, source = ?std::error::Error::source(&error), "outbox relay failed; retrying");
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        () = shutdown.cancelled() => break,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            }
            if last_prune.elapsed() > Duration::from_secs(60) {
                last_prune = tokio::time::Instant::now();
                if let Err(error) = self.prune().await {
                    warn!(service = %self.service, %error, "pruning the outbox failed");
                }
            }
            tokio::select! {
                () = self.outbox.wake.notified() => {}
                () = tokio::time::sleep(self.settings.poll_interval) => {}
                () = shutdown.cancelled() => break,
            }
        }
        if let Err(error) = self.publish_pending().await {
            warn!(service = %self.service, %error, "final outbox flush failed; rows stay for the next start");
        }
    }

    /// Publishes every pending row, window by window, until none is left.
    /// Returns how many were published. Tests call it as a step function.
    pub async fn publish_pending(&self) -> Result<usize, RelayError> {
        let mut total = 0;
        loop {
            let published = match self.publish_window().await {
                Ok(published) => published,
                Err(error) => {
                    // Rows stuck behind a broker outage are exactly what
                    // operators alert on: report them on the way out too.
                    self.report_backlog().await;
                    return Err(error);
                }
            };
            total += published;
            if published < usize::try_from(self.settings.window).unwrap_or(usize::MAX) {
                if self.backlog_report_due() {
                    self.report_backlog().await;
                }
                return Ok(total);
            }
        }
    }

    async fn publish_window(&self) -> Result<usize, RelayError> {
        let mut tx = self.pool.begin().await?;
        let rows: Vec<ClaimedRow> = sqlx::query(&self.outbox.sql.claim)
            .bind(self.settings.window)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(ClaimedRow::from_row)
            .collect();
        if rows.is_empty() {
            tx.commit().await?;
            return Ok(0);
        }
        let span = info_span!(
            parent: None,
            "outbox.relay",
            service = %self.service,
            rows = rows.len()
        );
        let (published, failures) = self.publish_rows(&rows, None).instrument(span).await;
        if !published.is_empty() {
            sqlx::query(&self.outbox.sql.move_published)
                .bind(&published)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.metrics
            .record_relayed(self.service.name(), published.len() as u64);
        match failures.into_iter().next() {
            None => Ok(published.len()),
            Some(first) => Err(RelayError::Publish {
                attempted: rows.len(),
                failed: rows.len() - published.len(),
                first,
            }),
        }
    }

    /// Sends every row before awaiting any ack: one window of outstanding
    /// acks instead of a round trip per message.
    ///
    /// Each message gets a producer span ([`publish_span`]) in the trace the
    /// row was written in, from its send until its ack; the message carries
    /// that span's `traceparent`, so its consumers are the span's children.
    ///
    /// `replay` gives each message a fresh `Nats-Msg-Id` (its `ce-id` stays):
    /// JetStream may still remember the original ids even though it lost the
    /// messages (a purge keeps its duplicate window), and consumers' inboxes
    /// drop what they had already seen.
    async fn publish_rows(
        &self,
        rows: &[ClaimedRow],
        replay: Option<&str>,
    ) -> (Vec<i64>, Vec<async_nats::Error>) {
        let mut pending = Vec::with_capacity(rows.len());
        let mut failures = Vec::new();
        for row in rows {
            let mut headers = headers::from_lines(&row.headers);
            if let Some(tag) = replay {
                headers.insert(
                    contract::envelope::NATS_MSG_ID,
                    format!("replay:{tag}:{}", row.id).as_str(),
                );
            }
            let span = publish_span(self.service, row, &headers);
            telemetry::inject_span(&span, &mut headers);
            match self
                .js
                .publish_with_headers(row.subject.clone(), headers, row.body.clone().into())
                .await
            {
                Ok(ack) => pending.push(((row.seq, &row.id, span), ack)),
                Err(error) => {
                    failed(&span, "publish");
                    failures.push(error.into());
                }
            }
        }
        let mut published = Vec::with_capacity(pending.len());
        let (rows, acks): (Vec<_>, Vec<_>) = pending.into_iter().unzip();
        for ((seq, id, span), result) in rows
            .into_iter()
            .zip(join_all(acks.into_iter().map(std::future::IntoFuture::into_future)).await)
        {
            match result {
                Ok(ack) => {
                    if ack.duplicate {
                        debug!(parent: &span, ce_id = %id, "JetStream already had this message");
                    }
                    published.push(seq);
                }
                Err(error) => {
                    failed(&span, "ack");
                    failures.push(error.into());
                }
            }
        }
        (published, failures)
    }

    /// True at most once per [`BACKLOG_REPORT_INTERVAL`]; the first time
    /// always.
    fn backlog_report_due(&self) -> bool {
        let now = tokio::time::Instant::now();
        let mut last = self
            .last_backlog_report
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let due = last.is_none_or(|at| now.duration_since(at) >= BACKLOG_REPORT_INTERVAL);
        if due {
            *last = Some(now);
        }
        due
    }

    async fn report_backlog(&self) {
        if let Ok(row) = sqlx::query(&self.outbox.sql.backlog)
            .fetch_one(&self.pool)
            .await
        {
            let rows: i64 = row.get(0);
            let age: f64 = row.get(1);
            self.metrics
                .set_outbox_backlog(self.service.name(), rows, age);
        }
    }

    async fn prune(&self) -> Result<(), sqlx::Error> {
        let interval = |d: Duration| format!("{} seconds", d.as_secs());
        sqlx::query(&self.outbox.sql.prune_outbox)
            .bind(interval(self.settings.retention))
            .execute(&self.pool)
            .await?;
        sqlx::query(&self.outbox.sql.prune_inbox)
            .bind(interval(self.settings.inbox_retention))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Publishes again every row written since `since`, published or not:
    /// for a broker that lost acknowledged messages. Consumers' inboxes drop
    /// what they had already seen.
    pub async fn replay_since(&self, since: DateTime<Utc>) -> Result<usize, RelayError> {
        let mut after = 0_i64;
        let mut total = 0;
        let tag = Utc::now().timestamp_millis().to_string();
        loop {
            let rows: Vec<ClaimedRow> = sqlx::query(&self.outbox.sql.since)
                .bind(since)
                .bind(after)
                .bind(self.settings.window)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(ClaimedRow::from_row)
                .collect();
            let Some(last) = rows.last() else {
                return Ok(total);
            };
            after = last.seq;
            let (published, failures) = self.publish_rows(&rows, Some(&tag)).await;
            total += published.len();
            if let Some(first) = failures.into_iter().next() {
                return Err(RelayError::Publish {
                    attempted: rows.len(),
                    failed: rows.len() - published.len(),
                    first,
                });
            }
        }
    }
}

/// The producer span of one outbox row, per OpenTelemetry's messaging
/// conventions: `publish <subject>`, kind producer, `messaging.operation.type
/// = send` (the conventions' current name for what older versions called
/// `publish`). Its parent is the trace context stored with the row, that is
/// the handler's span that wrote it; a row without one starts a trace here
/// (never a child of the relay's own window span).
fn publish_span(
    service: Service,
    row: &ClaimedRow,
    headers: &async_nats::HeaderMap,
) -> tracing::Span {
    let span = info_span!(
        parent: None,
        "publish",
        otel.kind = "producer",
        otel.name = format!("publish {}", row.subject),
        messaging.system = "nats",
        messaging.operation.type = "send",
        messaging.operation.name = "publish",
        messaging.destination.name = %row.subject,
        messaging.message.id = %row.id,
        messaging.message.body.size = row.body.len(),
        service = service.name(),
        error.type = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    telemetry::set_parent_from_headers(&span, Some(headers));
    span
}

/// Marks a producer span as failed at `stage` (`publish` or `ack`).
fn failed(span: &tracing::Span, stage: &'static str) {
    span.record("error.type", stage);
    span.record("otel.status_code", "ERROR");
}
