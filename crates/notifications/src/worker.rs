//! The delivery worker: sends due deliveries, retries them, and announces
//! each result.
//!
//! A round claims due rows (counting the attempt and leasing the row, see
//! [`store::claim_due`]), sends each on its channel outside any
//! transaction, then records the result and its `notification.delivered`
//! or `notification.failed` event in one transaction. A worker that dies
//! between sending and recording leaves the row leased; once the lease is
//! over it is sent again with the same id, which the receiver can tell
//! (same Message-ID, webhook-id, or Nats-Msg-Id inside JetStream's
//! duplicate window). Several replicas share the table through `SKIP LOCKED`.
//!
//! It runs when a handler commits new deliveries and otherwise every poll
//! interval, which is what picks up reminders and retries when they fall
//! due, after restarts too: they are rows, not timers.

use crate::channels::SendError;
use crate::channels::email::{EmailSender, OutgoingEmail};
use crate::channels::webhook::{WebhookSender, WebhookTarget};
use crate::domain::WebhookSecret;
use crate::settings::NotificationSettings;
use crate::store::{self, AttemptResult, Claimed, Payload};
use async_nats::jetstream;
use chrono::Utc;
use contract::proto::notification::v1::{
    Channel, Notice, NotificationDelivered, NotificationFailed, RecipientKind,
};
use contract::{CloudEvent, Envelope, Service, subjects};
use futures::StreamExt;
use messaging::{Outbox, OutgoingMessage};
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
use telemetry::Metrics;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info, info_span, warn};

/// Rows claimed per round.
const CLAIM_BATCH: i64 = 64;
/// How long a rejected message's notice waits for a contact that may never
/// come (its body named nobody).
const AWAITING_CONTACT_LIMIT: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// What one attempt came to, before it is recorded.
#[derive(Debug)]
enum Attempt {
    Sent,
    /// Nothing to send any more (the endpoint was removed).
    Gone,
    Failed(SendError),
}

/// Sends deliveries; cheap to clone into tasks.
#[derive(Debug, Clone)]
pub struct Worker {
    pool: PgPool,
    js: jetstream::Context,
    outbox: Outbox,
    email: Arc<EmailSender>,
    webhooks: Arc<WebhookSender>,
    settings: Arc<NotificationSettings>,
    wake: Arc<Notify>,
    metrics: Arc<Metrics>,
}

impl Worker {
    pub fn new(
        pool: PgPool,
        js: jetstream::Context,
        outbox: Outbox,
        email: EmailSender,
        settings: NotificationSettings,
        wake: Arc<Notify>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            pool,
            js,
            outbox,
            email: Arc::new(email),
            webhooks: Arc::new(WebhookSender::new(settings.send_timeout)),
            settings: Arc::new(settings),
            wake,
            metrics,
        }
    }

    /// Runs until `shutdown`; a round in progress finishes first, so what
    /// was handed to a peer is recorded.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut last_prune = tokio::time::Instant::now();
        loop {
            match self.round().await {
                // A full round: more may be due at once.
                Ok(n) if n as i64 == CLAIM_BATCH && !shutdown.is_cancelled() => continue,
                Ok(_) => {}
                Err(error) => {
                    warn!(
                        error = &error as &dyn std::error::Error,
                        "delivery round failed; retrying"
                    );
                }
            }
            if last_prune.elapsed() > Duration::from_secs(3600) {
                last_prune = tokio::time::Instant::now();
                self.prune().await;
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(self.settings.poll_interval) => {}
            }
        }
        debug!("delivery worker stopped");
    }

    /// Claims what is due and makes one attempt at each. Returns how many.
    pub async fn round(&self) -> Result<usize, sqlx::Error> {
        let claimed = {
            let mut conn = self.pool.acquire().await?;
            store::claim_due(&mut conn, CLAIM_BATCH, self.settings.lease).await?
        };
        let count = claimed.len();
        futures::stream::iter(lanes(claimed))
            .for_each_concurrent(self.settings.concurrency, |lane| async move {
                for row in lane {
                    self.attempt(row).await;
                }
            })
            .await;
        Ok(count)
    }

    /// One attempt under a `notification.send` span, in the trace of the
    /// message that caused the delivery (its context is stored with the
    /// row): the SMTP, webhook (kind client) or feed publish (kind
    /// producer) span of the channel is its child, and so is the
    /// `notification.*` event announcing the result.
    async fn attempt(&self, claimed: Claimed) {
        let span = info_span!(
            parent: None,
            "notification.send",
            otel.name = format!("notification.send {}", claimed.channel),
            service = Service::Notifications.name(),
            notification_id = %claimed.id,
            channel = %claimed.channel,
            recipient_kind = %claimed.recipient_kind,
            recipient = %claimed.recipient_ref,
            notice = %claimed.notice,
            attempt = claimed.attempts,
            notification.result = tracing::field::Empty,
            error.type = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        );
        telemetry::set_parent_from_traceparent(
            &span,
            claimed.traceparent.as_deref(),
            claimed.tracestate.as_deref(),
        );
        async {
            let attempt = self.send(&claimed).await;
            if let Err(error) = self.record(&claimed, attempt).await {
                // The lease runs out and the row is tried again, with the
                // same id: the receiver can tell it is the same message.
                warn!(
                    error = &error as &dyn std::error::Error,
                    "could not record a delivery attempt"
                );
            }
        }
        .instrument(span)
        .await;
    }

    async fn send(&self, claimed: &Claimed) -> Attempt {
        let result = match &claimed.payload {
            Payload::Email {
                to_address,
                to_name,
                language,
                subject,
                text,
                html,
            } => {
                let email = OutgoingEmail {
                    notification_id: claimed.id,
                    to_address: to_address.clone(),
                    to_name: to_name.clone(),
                    subject: subject.clone(),
                    text: text.clone(),
                    html: html.clone(),
                    language: language.clone(),
                };
                self.email.send(&email).await
            }
            Payload::CityFeed {
                subject,
                ce_type,
                ce_subject,
                body,
            } => {
                self.publish_feed(claimed, subject, ce_type, ce_subject, body)
                    .await
            }
            Payload::Webhook { body } => return self.send_webhook(claimed, body).await,
        };
        match result {
            Ok(()) => Attempt::Sent,
            Err(error) => Attempt::Failed(error),
        }
    }

    /// Publishes a city notice with `ce-id` = `Nats-Msg-Id` = the
    /// notification id, and waits for JetStream to store it.
    async fn publish_feed(
        &self,
        claimed: &Claimed,
        subject: &str,
        ce_type: &str,
        ce_subject: &str,
        body: &serde_json::Value,
    ) -> Result<(), SendError> {
        let mut envelope = Envelope::new(Service::Notifications, ce_type, ce_subject);
        envelope.id = claimed.id.to_string();
        envelope.traceparent.clone_from(&claimed.traceparent);
        envelope.tracestate.clone_from(&claimed.tracestate);
        let body = serde_json::to_vec(body).unwrap_or_default();
        // The producer span of the notice: the city's feed consumer
        // continues the trace from the `traceparent` it stamps.
        let span = info_span!(
            "publish",
            otel.kind = "producer",
            otel.name = format!("publish {subject}"),
            messaging.system = "nats",
            messaging.operation.type = "send",
            messaging.operation.name = "publish",
            messaging.destination.name = subject,
            messaging.message.id = %claimed.id,
            messaging.message.body.size = body.len(),
            service = Service::Notifications.name(),
            error.type = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        );
        let mut headers = envelope.to_headers();
        telemetry::inject_span(&span, &mut headers);
        let transient = |class, message: String| SendError::Transient { class, message };
        let publish = async {
            let ack = self
                .js
                .publish_with_headers(subject.to_owned(), headers, body.into())
                .await
                .map_err(|e| transient(crate::channels::ErrorClass::Connection, e.to_string()))?;
            ack.await
                .map_err(|e| transient(crate::channels::ErrorClass::Connection, e.to_string()))
        };
        let result = match tokio::time::timeout(self.settings.send_timeout, publish)
            .instrument(span.clone())
            .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(transient(
                crate::channels::ErrorClass::Timeout,
                "no acknowledgement from JetStream in time".into(),
            )),
        };
        if let Err(error) = &result {
            span.record("error.type", error.class().as_str());
            span.record("otel.status_code", "ERROR");
        }
        result
    }

    async fn send_webhook(&self, claimed: &Claimed, body: &serde_json::Value) -> Attempt {
        let endpoint = match self.pool.acquire().await {
            Ok(mut conn) => store::active_endpoint(&mut conn, &claimed.recipient_ref).await,
            Err(error) => Err(error),
        };
        let endpoint = match endpoint {
            Ok(Some(endpoint)) => endpoint,
            Ok(None) => return Attempt::Gone,
            Err(error) => {
                return Attempt::Failed(SendError::Transient {
                    class: crate::channels::ErrorClass::Connection,
                    message: format!("could not read the endpoint: {error}"),
                });
            }
        };
        let target = match (
            url::Url::parse(&endpoint.url),
            WebhookSecret::parse(&endpoint.secret),
        ) {
            (Ok(url), Ok(secret)) => WebhookTarget {
                url,
                secret,
                allow_private: endpoint.allow_private,
            },
            _ => {
                return Attempt::Failed(SendError::Permanent {
                    class: crate::channels::ErrorClass::InvalidMessage,
                    message: "the endpoint's URL or secret is no longer valid".into(),
                });
            }
        };
        let body = serde_json::to_vec(body).unwrap_or_default();
        match self
            .webhooks
            .send(&target, &claimed.id.to_string(), Utc::now(), &body)
            .await
        {
            Ok(()) => Attempt::Sent,
            Err(error) => Attempt::Failed(error),
        }
    }

    /// Records the attempt and announces a final result, in one transaction.
    async fn record(&self, claimed: &Claimed, attempt: Attempt) -> Result<(), sqlx::Error> {
        let attempts = u32::try_from(claimed.attempts).unwrap_or_default();
        let (result, event, label) = match &attempt {
            Attempt::Sent => (
                AttemptResult::Delivered,
                Some(self.delivered(claimed, attempts)),
                "delivered",
            ),
            Attempt::Gone => (AttemptResult::Cancelled, None, "cancelled"),
            Attempt::Failed(error) => {
                let class = error.class().as_str();
                let message = error.to_string();
                let retry_in = (!error.is_permanent())
                    .then(|| {
                        self.settings
                            .retry
                            .next_delay(attempts, rand::random::<f64>())
                    })
                    .flatten();
                match retry_in {
                    Some(delay) => {
                        let next_at = Utc::now()
                            + chrono::Duration::from_std(delay)
                                .unwrap_or_else(|_| chrono::Duration::hours(1));
                        info!(%class, error = %message, retry_in = ?delay, "delivery failed; will retry");
                        let result = AttemptResult::Retry {
                            next_at,
                            class,
                            error: &message,
                        };
                        return self.store_result(claimed, &result, None, "retried").await;
                    }
                    None => {
                        warn!(%class, error = %message, attempts, "delivery failed for good");
                        let event = self.failed(claimed, attempts, class);
                        let result = AttemptResult::Failed {
                            class,
                            error: &message,
                        };
                        return self
                            .store_result(claimed, &result, Some(event), "failed")
                            .await;
                    }
                }
            }
        };
        self.store_result(claimed, &result, event, label).await
    }

    async fn store_result(
        &self,
        claimed: &Claimed,
        result: &AttemptResult<'_>,
        event: Option<OutgoingMessage>,
        label: &str,
    ) -> Result<(), sqlx::Error> {
        let span = tracing::Span::current();
        span.record("notification.result", label);
        // This attempt failed, whether or not another one follows.
        if let AttemptResult::Retry { class, .. } | AttemptResult::Failed { class, .. } = result {
            span.record("error.type", *class);
            span.record("otel.status_code", "ERROR");
        }
        let mut tx = self.pool.begin().await?;
        if !store::record_attempt(&mut tx, claimed, result).await? {
            // The lease ran out and another attempt owns the row now.
            debug!("attempt outlived its lease; its result is left to the newer attempt");
            return Ok(());
        }
        let announced = event.is_some();
        if let Some(event) = event {
            self.outbox.enqueue(&mut tx, event).await?;
        }
        tx.commit().await?;
        if announced {
            self.outbox.wake_relay();
        }
        self.metrics.record_delivery(&claimed.channel, label);
        if label == "delivered" {
            info!("delivered");
        }
        Ok(())
    }

    fn delivered(&self, claimed: &Claimed, attempts: u32) -> OutgoingMessage {
        let body = NotificationDelivered {
            notification_id: claimed.id.to_string(),
            cause_event_id: claimed.cause_event_id.clone(),
            channel: channel(claimed).into(),
            recipient_kind: recipient_kind(claimed).into(),
            recipient_ref: claimed.recipient_ref.clone(),
            attempts,
            notice: notice(claimed).into(),
            enquiry_id: claimed.enquiry_id.clone().unwrap_or_default(),
            workshop_id: claimed.workshop_id.clone().unwrap_or_default(),
            workshop_version: workshop_version(claimed),
        };
        self.event(claimed, subjects::NOTIFICATION_DELIVERED, &body)
    }

    fn failed(&self, claimed: &Claimed, attempts: u32, class: &str) -> OutgoingMessage {
        let body = NotificationFailed {
            notification_id: claimed.id.to_string(),
            cause_event_id: claimed.cause_event_id.clone(),
            channel: channel(claimed).into(),
            recipient_kind: recipient_kind(claimed).into(),
            recipient_ref: claimed.recipient_ref.clone(),
            attempts,
            last_error_class: class.to_owned(),
            notice: notice(claimed).into(),
            enquiry_id: claimed.enquiry_id.clone().unwrap_or_default(),
            workshop_id: claimed.workshop_id.clone().unwrap_or_default(),
            workshop_version: workshop_version(claimed),
        };
        self.event(claimed, subjects::NOTIFICATION_FAILED, &body)
    }

    /// A `notification.*` event in the trace of the delivery's cause: a
    /// child of the attempt's `notification.send` span (current when this
    /// runs), or of the stored cause when that span is not traced.
    fn event<E: CloudEvent>(&self, claimed: &Claimed, subject: &str, body: &E) -> OutgoingMessage {
        let mut message = OutgoingMessage::event(
            Service::Notifications,
            subject,
            claimed.id.to_string(),
            body,
        );
        match telemetry::current_traceparent() {
            Some((parent, state)) => {
                message.envelope.traceparent = Some(parent);
                message.envelope.tracestate = state;
            }
            None => {
                message
                    .envelope
                    .traceparent
                    .clone_from(&claimed.traceparent);
                message.envelope.tracestate.clone_from(&claimed.tracestate);
            }
        }
        message
    }

    async fn prune(&self) {
        let pruned = match self.pool.acquire().await {
            Ok(mut conn) => store::prune_awaiting(&mut conn, AWAITING_CONTACT_LIMIT).await,
            Err(error) => Err(error),
        };
        match pruned {
            Ok(0) => {}
            Ok(n) => info!(n, "forgot notices whose contact never came"),
            Err(error) => warn!(error = &error as &dyn std::error::Error, "pruning failed"),
        }
    }
}

/// Splits claimed deliveries (oldest first) into lanes sent one after the
/// other: a city's feed notices share a lane, so a city reads them in the
/// order they were decided (received before confirmed); every other
/// delivery has a lane of its own and goes out concurrently.
fn lanes(claimed: Vec<Claimed>) -> Vec<Vec<Claimed>> {
    let mut lanes: Vec<Vec<Claimed>> = Vec::new();
    let mut feed_lane: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for row in claimed {
        if row.channel == Channel::CityFeed.as_str_name() {
            let lane = *feed_lane
                .entry(row.recipient_ref.clone())
                .or_insert_with(|| {
                    lanes.push(Vec::new());
                    lanes.len() - 1
                });
            lanes[lane].push(row);
        } else {
            lanes.push(vec![row]);
        }
    }
    lanes
}

fn channel(claimed: &Claimed) -> Channel {
    Channel::from_str_name(&claimed.channel).unwrap_or_default()
}

fn recipient_kind(claimed: &Claimed) -> RecipientKind {
    RecipientKind::from_str_name(&claimed.recipient_kind).unwrap_or_default()
}

fn notice(claimed: &Claimed) -> Notice {
    Notice::from_str_name(&claimed.notice).unwrap_or_default()
}

fn workshop_version(claimed: &Claimed) -> u32 {
    claimed
        .workshop_version
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or_default()
}
