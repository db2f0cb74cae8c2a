//! Every programme event, offered to every webhook endpoint that wants it.
//!
//! The body follows Standard Webhooks' shape (`type`, `timestamp`, `data`)
//! and carries the CloudEvents identity too, so an integrator can match a
//! webhook with the same event read from the stream. It is fixed when the
//! delivery is scheduled: a retry sends the same bytes under the same
//! `webhook-id`.

use super::schedule;
use crate::outgoing::{self, Cause};
use crate::store;
use chrono::SecondsFormat;
use contract::Envelope;
use messaging::HandlerError;
use serde_json::{Value, json};
use sqlx::PgConnection;

pub(super) async fn offer(
    tx: &mut PgConnection,
    envelope: &Envelope,
    body: &[u8],
    cause: &Cause,
) -> Result<(), HandlerError> {
    let endpoints = store::active_endpoints(tx).await?;
    let wanted: Vec<_> = endpoints
        .iter()
        .filter(|e| e.wants(&envelope.event_type))
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let payload = webhook_body(envelope, body);
    let deliveries: Vec<_> = wanted
        .iter()
        .map(|endpoint| outgoing::webhook(cause, &endpoint.id, payload.clone()))
        .collect();
    schedule(tx, &deliveries).await
}

/// The JSON an endpoint receives for one event.
pub fn webhook_body(envelope: &Envelope, body: &[u8]) -> Value {
    // The services write JSON bodies; anything else is passed on as text
    // rather than dropped.
    let data = serde_json::from_slice::<Value>(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
    json!({
        "type": envelope.event_type,
        "timestamp": envelope.time.to_rfc3339_opts(SecondsFormat::Millis, true),
        "id": envelope.id,
        "source": envelope.source,
        "subject": envelope.subject,
        "data": data,
    })
}
