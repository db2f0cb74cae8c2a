//! Notifications' operator commands on `ileaps.admin.notifications.>`:
//! integrators' webhook endpoints (`webhooks.add`, `webhooks.list`,
//! `webhooks.remove`) and a look at deliveries (`deliveries.list`).
//!
//! Secrets are accepted and stored, never shown again: `webhooks.add`
//! answers with the secret only when it generated one.

use crate::domain::{WebhookSecret, check_target_url};
use crate::store::{self, Endpoint};
use contract::event_types::PROGRAMME_EVENTS;
use messaging::admin::AdminError;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::PgPool;

/// `webhooks.add` request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddWebhook {
    pub url: String,
    /// `whsec_…`; generated when absent.
    #[serde(default)]
    pub secret: Option<String>,
    /// Allows a target on loopback or a private network.
    #[serde(default)]
    pub allow_private: bool,
    /// Only these `ce-type`s; empty for every programme event.
    #[serde(default)]
    pub event_types: Vec<String>,
    #[serde(default)]
    pub description: String,
}

pub async fn add_webhook(pool: &PgPool, body: &[u8]) -> Result<Value, AdminError> {
    let request: AddWebhook = serde_json::from_slice(body).map_err(|e| {
        AdminError::bad_request(format!(
            "expected {{\"url\", \"secret\"?, \"allowPrivate\"?, \"eventTypes\"?}}: {e}"
        ))
    })?;
    let url = check_target_url(&request.url, request.allow_private)
        .map_err(|e| AdminError::new("TARGET_NOT_ALLOWED", e.to_string()))?;
    let (secret, generated) = match &request.secret {
        Some(text) => (
            WebhookSecret::parse(text)
                .map_err(|e| AdminError::new("INVALID_SECRET", e.to_string()))?,
            false,
        ),
        None => (WebhookSecret::generate(), true),
    };
    for event_type in &request.event_types {
        // Notifications' own events are never offered (see handlers::webhooks).
        if !PROGRAMME_EVENTS.contains(&event_type.as_str())
            || event_type.starts_with("ileaps.notification.")
        {
            return Err(AdminError::bad_request(format!(
                "{event_type:?} is not a programme event type a webhook can receive"
            )));
        }
    }
    if request.description.chars().count() > 200 {
        return Err(AdminError::bad_request(
            "the description is longer than 200 characters",
        ));
    }
    let endpoint = Endpoint {
        id: format!("we_{}", uuid::Uuid::now_v7().simple()),
        url: url.to_string(),
        secret: secret.to_text(),
        allow_private: request.allow_private,
        event_types: request.event_types,
        description: request.description,
        created_at: chrono::Utc::now(),
    };
    let mut conn = pool
        .acquire()
        .await
        .map_err(|e| AdminError::unavailable(&e))?;
    store::add_endpoint(&mut conn, &endpoint)
        .await
        .map_err(|e| AdminError::unavailable(&e))?;
    let mut reply = describe(&endpoint);
    if generated {
        reply["secret"] = Value::String(endpoint.secret.clone());
    }
    Ok(reply)
}

pub async fn list_webhooks(pool: &PgPool) -> Result<Value, AdminError> {
    let mut conn = pool
        .acquire()
        .await
        .map_err(|e| AdminError::unavailable(&e))?;
    let endpoints = store::active_endpoints(&mut conn)
        .await
        .map_err(|e| AdminError::unavailable(&e))?;
    Ok(json!({ "endpoints": endpoints.iter().map(describe).collect::<Vec<_>>() }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoveWebhook {
    id: String,
}

pub async fn remove_webhook(pool: &PgPool, body: &[u8]) -> Result<Value, AdminError> {
    let request: RemoveWebhook = serde_json::from_slice(body)
        .map_err(|e| AdminError::bad_request(format!("expected {{\"id\": \"we_…\"}}: {e}")))?;
    let mut tx = pool
        .begin()
        .await
        .map_err(|e| AdminError::unavailable(&e))?;
    let removed = store::remove_endpoint(&mut tx, &request.id)
        .await
        .map_err(|e| AdminError::unavailable(&e))?;
    tx.commit().await.map_err(|e| AdminError::unavailable(&e))?;
    if !removed {
        return Err(AdminError::new(
            "UNKNOWN_ENDPOINT",
            format!("no webhook endpoint {:?} in service", request.id),
        ));
    }
    Ok(json!({ "removed": request.id }))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ListDeliveries {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
}

/// `deliveries.list`: the latest deliveries, optionally by status
/// (`PENDING`, `DELIVERED`, `FAILED`, `CANCELLED`). Never addresses.
pub async fn list_deliveries(pool: &PgPool, body: &[u8]) -> Result<Value, AdminError> {
    let request: ListDeliveries = if body.is_empty() {
        ListDeliveries::default()
    } else {
        serde_json::from_slice(body).map_err(|e| {
            AdminError::bad_request(format!("expected {{\"status\"?, \"limit\"?}}: {e}"))
        })?
    };
    let mut conn = pool
        .acquire()
        .await
        .map_err(|e| AdminError::unavailable(&e))?;
    let deliveries = store::list_deliveries(
        &mut conn,
        request.status.as_deref(),
        request.limit.unwrap_or(50).clamp(1, 1000),
    )
    .await
    .map_err(|e| AdminError::unavailable(&e))?;
    Ok(json!({ "deliveries": deliveries }))
}

fn describe(endpoint: &Endpoint) -> Value {
    json!({
        "id": endpoint.id,
        "url": endpoint.url,
        "allowPrivate": endpoint.allow_private,
        "eventTypes": endpoint.event_types,
        "description": endpoint.description,
        "createdAt": endpoint.created_at,
    })
}
