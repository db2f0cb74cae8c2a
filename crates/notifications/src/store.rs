//! All of notifications' SQL (schema `notifications`). Every function takes
//! the caller's connection or transaction, so handlers and the delivery
//! worker decide what commits together.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

// ---------------------------------------------------------------------------
// Contacts, experts, enquiries

/// Whom to write to about one enquiry (or one rejected message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub city: String,
    pub reference: String,
    pub name: String,
    pub email: String,
    pub language: String,
}

/// The key an enquiry-level notice waits on: the enquiry id for accepted
/// enquiries, the inbound message's ce-id for rejections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactKey {
    Enquiry(String),
    Inbound(String),
}

impl ContactKey {
    pub fn as_text(&self) -> String {
        match self {
            ContactKey::Enquiry(id) => format!("enquiry:{id}"),
            ContactKey::Inbound(id) => format!("inbound:{id}"),
        }
    }

    /// Serialises the handlers of one key (the contact and the notice that
    /// waits for it), so whichever commits second sees the other.
    pub async fn lock(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('notifications:' || $1, 0))")
            .bind(self.as_text())
            .execute(conn)
            .await?;
        Ok(())
    }
}

/// Stores a contact under its enquiry id and/or inbound id; a later event
/// for the same key replaces it.
pub async fn put_contact(
    conn: &mut PgConnection,
    enquiry_id: Option<&str>,
    inbound_id: Option<&str>,
    contact: &Contact,
) -> Result<(), sqlx::Error> {
    // Two unique keys: update whichever row either of them names.
    let updated = sqlx::query(
        "UPDATE notifications.contacts SET
             enquiry_id = COALESCE($1, enquiry_id), inbound_id = COALESCE($2, inbound_id),
             city = $3, reference = $4, name = $5, email = $6, language = $7, updated_at = now()
         WHERE enquiry_id = $1 OR inbound_id = $2",
    )
    .bind(enquiry_id)
    .bind(inbound_id)
    .bind(&contact.city)
    .bind(&contact.reference)
    .bind(&contact.name)
    .bind(&contact.email)
    .bind(&contact.language)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if updated == 0 {
        sqlx::query(
            "INSERT INTO notifications.contacts
                 (enquiry_id, inbound_id, city, reference, name, email, language)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(enquiry_id)
        .bind(inbound_id)
        .bind(&contact.city)
        .bind(&contact.reference)
        .bind(&contact.name)
        .bind(&contact.email)
        .bind(&contact.language)
        .execute(conn)
        .await?;
    }
    Ok(())
}

pub async fn contact(
    conn: &mut PgConnection,
    key: &ContactKey,
) -> Result<Option<Contact>, sqlx::Error> {
    let (by_enquiry, by_inbound) = match key {
        ContactKey::Enquiry(id) => (Some(id.as_str()), None),
        ContactKey::Inbound(id) => (None, Some(id.as_str())),
    };
    let row: Option<(String, String, String, String, String)> = sqlx::query_as(
        "SELECT city, reference, name, email, language FROM notifications.contacts
         WHERE enquiry_id = $1 OR inbound_id = $2 LIMIT 1",
    )
    .bind(by_enquiry)
    .bind(by_inbound)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(city, reference, name, email, language)| Contact {
        city,
        reference,
        name,
        email,
        language,
    }))
}

/// An expert as notifications writes to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpertContact {
    pub expert_id: String,
    pub display_name: String,
    pub email: String,
    pub language: String,
    pub time_zone: String,
}

pub async fn put_expert(
    conn: &mut PgConnection,
    expert: &ExpertContact,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO notifications.experts (expert_id, display_name, email, language, time_zone)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (expert_id) DO UPDATE SET display_name = EXCLUDED.display_name,
             email = EXCLUDED.email, language = EXCLUDED.language,
             time_zone = EXCLUDED.time_zone, updated_at = now()",
    )
    .bind(&expert.expert_id)
    .bind(&expert.display_name)
    .bind(&expert.email)
    .bind(&expert.language)
    .bind(&expert.time_zone)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn expert(
    conn: &mut PgConnection,
    expert_id: &str,
) -> Result<Option<ExpertContact>, sqlx::Error> {
    let row: Option<(String, String, String, String, String)> = sqlx::query_as(
        "SELECT expert_id, display_name, email, language, time_zone
         FROM notifications.experts WHERE expert_id = $1",
    )
    .bind(expert_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(
        |(expert_id, display_name, email, language, time_zone)| ExpertContact {
            expert_id,
            display_name,
            email,
            language,
            time_zone,
        },
    ))
}

/// An accepted enquiry, as notifications needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enquiry {
    pub enquiry_id: String,
    pub city: String,
    pub reference: String,
    pub time_zone: String,
}

pub async fn put_enquiry(conn: &mut PgConnection, enquiry: &Enquiry) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO notifications.enquiries (enquiry_id, city, reference, time_zone)
         VALUES ($1, $2, $3, $4) ON CONFLICT (enquiry_id) DO NOTHING",
    )
    .bind(&enquiry.enquiry_id)
    .bind(&enquiry.city)
    .bind(&enquiry.reference)
    .bind(&enquiry.time_zone)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn enquiry(
    conn: &mut PgConnection,
    enquiry_id: &str,
) -> Result<Option<Enquiry>, sqlx::Error> {
    let row: Option<(String, String, String, String)> = sqlx::query_as(
        "SELECT enquiry_id, city, reference, time_zone FROM notifications.enquiries
         WHERE enquiry_id = $1",
    )
    .bind(enquiry_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(enquiry_id, city, reference, time_zone)| Enquiry {
        enquiry_id,
        city,
        reference,
        time_zone,
    }))
}

/// The time zone of a city, as its enquiries gave it; `None` when no
/// enquiry of the city was accepted yet.
pub async fn city_time_zone(
    conn: &mut PgConnection,
    city: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT time_zone FROM notifications.enquiries WHERE city = $1 LIMIT 1")
        .bind(city)
        .fetch_optional(conn)
        .await
}

// ---------------------------------------------------------------------------
// Notices waiting for a contact

/// A cause event kept until its contact arrives.
#[derive(Debug, Clone)]
pub struct AwaitingCause {
    pub cause_event_id: String,
    pub cause_type: String,
    pub cause_body: Vec<u8>,
    pub traceparent: Option<String>,
    pub tracestate: Option<String>,
}

pub async fn await_contact(
    conn: &mut PgConnection,
    key: &ContactKey,
    cause: &AwaitingCause,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO notifications.awaiting_contact
             (cause_event_id, contact_key, cause_type, cause_body, traceparent, tracestate)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (cause_event_id) DO NOTHING",
    )
    .bind(&cause.cause_event_id)
    .bind(key.as_text())
    .bind(&cause.cause_type)
    .bind(&cause.cause_body)
    .bind(&cause.traceparent)
    .bind(&cause.tracestate)
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes and returns the causes waiting on `key`.
pub async fn take_awaiting(
    conn: &mut PgConnection,
    key: &ContactKey,
) -> Result<Vec<AwaitingCause>, sqlx::Error> {
    type AwaitingTuple = (String, String, Vec<u8>, Option<String>, Option<String>);
    let rows: Vec<AwaitingTuple> = sqlx::query_as(
        "DELETE FROM notifications.awaiting_contact WHERE contact_key = $1
         RETURNING cause_event_id, cause_type, cause_body, traceparent, tracestate",
    )
    .bind(key.as_text())
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(cause_event_id, cause_type, cause_body, traceparent, tracestate)| AwaitingCause {
                cause_event_id,
                cause_type,
                cause_body,
                traceparent,
                tracestate,
            },
        )
        .collect())
}

/// Forgets notices whose contact never came (a rejected message whose body
/// named nobody), after `older_than`.
pub async fn prune_awaiting(
    conn: &mut PgConnection,
    older_than: std::time::Duration,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "DELETE FROM notifications.awaiting_contact
         WHERE created_at < now() - make_interval(secs => $1)",
    )
    .bind(older_than.as_secs_f64())
    .execute(conn)
    .await?
    .rows_affected())
}

// ---------------------------------------------------------------------------
// Workshops

/// A city's place in a workshop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CityPart {
    pub city: String,
    pub enquiry_id: String,
    pub participants: u32,
}

/// An expert on a workshop: the role is the proto enum's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpertPart {
    pub expert_id: String,
    pub display_name: String,
    pub role: String,
}

/// One session in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRow {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// What a confirmation told: compared with the next staffed version to
/// decide whether to confirm again, and whom a change concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Confirmed {
    pub version: i32,
    pub sessions: Vec<SessionRow>,
    pub cities: Vec<CityPart>,
    pub experts: Vec<ExpertPart>,
}

impl Confirmed {
    /// Whether `other` tells the same dates and people (versions aside).
    pub fn same_as(&self, other: &Confirmed) -> bool {
        self.sessions == other.sessions && self.people() == other.people()
    }

    /// The enquiries and (expert, role) pairs, in a stable order.
    fn people(&self) -> (Vec<&str>, Vec<(&str, &str)>) {
        let mut cities: Vec<&str> = self.cities.iter().map(|p| p.enquiry_id.as_str()).collect();
        cities.sort_unstable();
        let mut experts: Vec<(&str, &str)> = self
            .experts
            .iter()
            .map(|e| (e.expert_id.as_str(), e.role.as_str()))
            .collect();
        experts.sort_unstable();
        (cities, experts)
    }
}

/// Notifications' copy of a workshop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkshopRow {
    pub workshop_id: String,
    pub version: i32,
    pub cancelled: bool,
    pub kind: String,
    pub format: String,
    pub primary_topic: String,
    pub host_city: Option<String>,
    pub sessions: Vec<SessionRow>,
    pub cities: Vec<CityPart>,
    pub confirmed: Option<Confirmed>,
}

type WorkshopTuple = (
    String,
    i32,
    bool,
    String,
    String,
    String,
    Option<String>,
    sqlx::types::Json<Vec<SessionRow>>,
    sqlx::types::Json<Vec<CityPart>>,
    Option<sqlx::types::Json<Confirmed>>,
);

/// The stored workshop, locked for the rest of the transaction.
pub async fn lock_workshop(
    conn: &mut PgConnection,
    workshop_id: &str,
) -> Result<Option<WorkshopRow>, sqlx::Error> {
    let row: Option<WorkshopTuple> = sqlx::query_as(
        "SELECT workshop_id, version, cancelled, kind, format, primary_topic, host_city,
                sessions, cities, confirmed
         FROM notifications.workshops WHERE workshop_id = $1 FOR UPDATE",
    )
    .bind(workshop_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(
        |(
            workshop_id,
            version,
            cancelled,
            kind,
            format,
            primary_topic,
            host_city,
            sessions,
            cities,
            confirmed,
        )| WorkshopRow {
            workshop_id,
            version,
            cancelled,
            kind,
            format,
            primary_topic,
            host_city,
            sessions: sessions.0,
            cities: cities.0,
            confirmed: confirmed.map(|c| c.0),
        },
    ))
}

/// Stores a newer version (its dates, cities and shape). Returns false when
/// the stored version is as new or newer: the event is stale.
pub async fn put_workshop(conn: &mut PgConnection, row: &WorkshopRow) -> Result<bool, sqlx::Error> {
    let stored = sqlx::query(
        "INSERT INTO notifications.workshops
             (workshop_id, version, kind, format, primary_topic, host_city, sessions, cities)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (workshop_id) DO UPDATE SET
             version = EXCLUDED.version, kind = EXCLUDED.kind, format = EXCLUDED.format,
             primary_topic = EXCLUDED.primary_topic, host_city = EXCLUDED.host_city,
             sessions = EXCLUDED.sessions, cities = EXCLUDED.cities, updated_at = now()
         WHERE workshops.version < EXCLUDED.version AND NOT workshops.cancelled",
    )
    .bind(&row.workshop_id)
    .bind(row.version)
    .bind(&row.kind)
    .bind(&row.format)
    .bind(&row.primary_topic)
    .bind(&row.host_city)
    .bind(sqlx::types::Json(&row.sessions))
    .bind(sqlx::types::Json(&row.cities))
    .execute(conn)
    .await?
    .rows_affected();
    Ok(stored == 1)
}

pub async fn move_workshop(
    conn: &mut PgConnection,
    workshop_id: &str,
    version: i32,
    sessions: &[SessionRow],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE notifications.workshops SET version = $2, sessions = $3, updated_at = now()
         WHERE workshop_id = $1",
    )
    .bind(workshop_id)
    .bind(version)
    .bind(sqlx::types::Json(sessions))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn cancel_workshop(
    conn: &mut PgConnection,
    workshop_id: &str,
    version: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE notifications.workshops SET cancelled = true, version = GREATEST(version, $2),
             updated_at = now()
         WHERE workshop_id = $1",
    )
    .bind(workshop_id)
    .bind(version)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_confirmed(
    conn: &mut PgConnection,
    workshop_id: &str,
    confirmed: &Confirmed,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE notifications.workshops SET confirmed = $2, updated_at = now()
         WHERE workshop_id = $1",
    )
    .bind(workshop_id)
    .bind(sqlx::types::Json(confirmed))
    .execute(conn)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Webhook endpoints

/// An integrator's endpoint, secret included (never logged).
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub id: String,
    pub url: String,
    pub secret: String,
    pub allow_private: bool,
    pub event_types: Vec<String>,
    pub description: String,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("secret", &"***")
            .field("allow_private", &self.allow_private)
            .field("event_types", &self.event_types)
            .finish()
    }
}

impl Endpoint {
    /// Whether this endpoint wants events of `ce_type` (no filter: all).
    pub fn wants(&self, ce_type: &str) -> bool {
        self.event_types.is_empty() || self.event_types.iter().any(|t| t == ce_type)
    }
}

type EndpointTuple = (
    String,
    String,
    String,
    bool,
    Vec<String>,
    String,
    DateTime<Utc>,
);

fn endpoint_of(row: EndpointTuple) -> Endpoint {
    let (id, url, secret, allow_private, event_types, description, created_at) = row;
    Endpoint {
        id,
        url,
        secret,
        allow_private,
        event_types,
        description,
        created_at,
    }
}

pub async fn add_endpoint(conn: &mut PgConnection, endpoint: &Endpoint) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO notifications.webhook_endpoints
             (id, url, secret, allow_private, event_types, description)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&endpoint.id)
    .bind(&endpoint.url)
    .bind(&endpoint.secret)
    .bind(endpoint.allow_private)
    .bind(&endpoint.event_types)
    .bind(&endpoint.description)
    .execute(conn)
    .await?;
    Ok(())
}

/// The endpoints in service (not removed), oldest first.
pub async fn active_endpoints(conn: &mut PgConnection) -> Result<Vec<Endpoint>, sqlx::Error> {
    let rows: Vec<EndpointTuple> = sqlx::query_as(
        "SELECT id, url, secret, allow_private, event_types, description, created_at
         FROM notifications.webhook_endpoints WHERE removed_at IS NULL ORDER BY created_at, id",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(endpoint_of).collect())
}

/// An endpoint in service, by id.
pub async fn active_endpoint(
    conn: &mut PgConnection,
    id: &str,
) -> Result<Option<Endpoint>, sqlx::Error> {
    let row: Option<EndpointTuple> = sqlx::query_as(
        "SELECT id, url, secret, allow_private, event_types, description, created_at
         FROM notifications.webhook_endpoints WHERE id = $1 AND removed_at IS NULL",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(endpoint_of))
}

/// Takes an endpoint out of service and cancels what was still to be sent
/// to it. Returns false when there was no such endpoint in service.
pub async fn remove_endpoint(conn: &mut PgConnection, id: &str) -> Result<bool, sqlx::Error> {
    let removed = sqlx::query(
        "UPDATE notifications.webhook_endpoints SET removed_at = now()
         WHERE id = $1 AND removed_at IS NULL",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if removed == 1 {
        sqlx::query(
            "UPDATE notifications.deliveries SET status = 'CANCELLED', finished_at = now()
             WHERE channel = 'WEBHOOK' AND recipient_ref = $1 AND status = 'PENDING'",
        )
        .bind(id)
        .execute(conn)
        .await?;
    }
    Ok(removed == 1)
}

// ---------------------------------------------------------------------------
// Deliveries

/// What a delivery sends, by channel; kept as JSON on the row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "channel", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Payload {
    /// An email, rendered when the delivery was scheduled. `to_address` is
    /// `None` when nobody's address was known: the worker records it failed.
    Email {
        to_address: String,
        to_name: String,
        language: String,
        subject: String,
        text: String,
        html: String,
    },
    /// A CloudEvent on the city's own feed.
    CityFeed {
        subject: String,
        ce_type: String,
        ce_subject: String,
        body: serde_json::Value,
    },
    /// A programme event for an endpoint (looked up when sending, so a
    /// removed endpoint gets nothing more and a changed secret applies).
    Webhook { body: serde_json::Value },
}

/// A delivery to schedule.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub id: Uuid,
    pub cause_event_id: String,
    pub recipient_kind: &'static str,
    pub recipient_ref: String,
    pub channel: &'static str,
    pub notice: &'static str,
    pub enquiry_id: Option<String>,
    pub workshop_id: Option<String>,
    pub workshop_version: Option<i32>,
    pub payload: Payload,
    pub due_at: DateTime<Utc>,
    pub traceparent: Option<String>,
    pub tracestate: Option<String>,
}

/// Schedules deliveries; one that exists for the same (cause, recipient,
/// channel) is left as it is. Returns how many were new.
pub async fn schedule(
    conn: &mut PgConnection,
    deliveries: &[NewDelivery],
) -> Result<u64, sqlx::Error> {
    let mut new = 0;
    for d in deliveries {
        new += sqlx::query(
            "INSERT INTO notifications.deliveries
                 (id, cause_event_id, recipient_kind, recipient_ref, channel, notice,
                  enquiry_id, workshop_id, workshop_version, payload, due_at,
                  traceparent, tracestate)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT DO NOTHING",
        )
        .bind(d.id)
        .bind(&d.cause_event_id)
        .bind(d.recipient_kind)
        .bind(&d.recipient_ref)
        .bind(d.channel)
        .bind(d.notice)
        .bind(&d.enquiry_id)
        .bind(&d.workshop_id)
        .bind(d.workshop_version)
        .bind(sqlx::types::Json(&d.payload))
        .bind(d.due_at)
        .bind(&d.traceparent)
        .bind(&d.tracestate)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    Ok(new)
}

/// Cancels a workshop's reminders that have not been sent.
pub async fn cancel_reminders(
    conn: &mut PgConnection,
    workshop_id: &str,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE notifications.deliveries SET status = 'CANCELLED', finished_at = now()
         WHERE workshop_id = $1 AND notice = 'WORKSHOP_REMINDER' AND status = 'PENDING'",
    )
    .bind(workshop_id)
    .execute(conn)
    .await?
    .rows_affected())
}

/// A delivery claimed by a worker for one attempt.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: Uuid,
    pub cause_event_id: String,
    pub recipient_kind: String,
    pub recipient_ref: String,
    pub channel: String,
    pub notice: String,
    pub enquiry_id: Option<String>,
    pub workshop_id: Option<String>,
    pub workshop_version: Option<i32>,
    pub payload: Payload,
    /// Attempts made, this one included.
    pub attempts: i32,
    pub traceparent: Option<String>,
    pub tracestate: Option<String>,
}

type ClaimedTuple = (
    Uuid,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<i32>,
    sqlx::types::Json<Payload>,
    i32,
    Option<String>,
    Option<String>,
);

/// Claims up to `limit` due deliveries for one attempt each, oldest first:
/// counts the
/// attempt and leases the row for `lease`, so no other worker takes it
/// meanwhile, and a worker that dies mid-send leaves it to be tried again
/// once the lease is over (with the same id, hence the same Message-ID or
/// webhook-id).
pub async fn claim_due(
    conn: &mut PgConnection,
    limit: i64,
    lease: std::time::Duration,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let rows: Vec<ClaimedTuple> = sqlx::query_as(
        "WITH claimed AS (
             UPDATE notifications.deliveries d
                SET attempts = d.attempts + 1, due_at = now() + make_interval(secs => $2)
              WHERE d.id IN (SELECT id FROM notifications.deliveries
                              WHERE status = 'PENDING' AND due_at <= now()
                              ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED)
              RETURNING d.id, d.cause_event_id, d.recipient_kind, d.recipient_ref, d.channel,
                        d.notice, d.enquiry_id, d.workshop_id, d.workshop_version, d.payload,
                        d.attempts, d.traceparent, d.tracestate, d.created_at)
         SELECT id, cause_event_id, recipient_kind, recipient_ref, channel, notice, enquiry_id,
                workshop_id, workshop_version, payload, attempts, traceparent, tracestate
         FROM claimed ORDER BY created_at, id",
    )
    .bind(limit)
    .bind(lease.as_secs_f64())
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Claimed {
            id: r.0,
            cause_event_id: r.1,
            recipient_kind: r.2,
            recipient_ref: r.3,
            channel: r.4,
            notice: r.5,
            enquiry_id: r.6,
            workshop_id: r.7,
            workshop_version: r.8,
            payload: r.9.0,
            attempts: r.10,
            traceparent: r.11,
            tracestate: r.12,
        })
        .collect())
}

/// The end of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptResult<'a> {
    Delivered,
    /// Try again at `next_at`.
    Retry {
        next_at: DateTime<Utc>,
        class: &'a str,
        error: &'a str,
    },
    Failed {
        class: &'a str,
        error: &'a str,
    },
    /// Nothing to send any more (its endpoint was removed).
    Cancelled,
}

/// Records an attempt's result, if the row is still this attempt's (its
/// lease may have run out and another worker taken it). Returns whether it
/// was recorded: only then may the caller announce the result.
pub async fn record_attempt(
    conn: &mut PgConnection,
    claimed: &Claimed,
    result: &AttemptResult<'_>,
) -> Result<bool, sqlx::Error> {
    let (status, next_at, class, error) = match result {
        AttemptResult::Delivered => ("DELIVERED", None, None, None),
        AttemptResult::Retry {
            next_at,
            class,
            error,
        } => ("PENDING", Some(*next_at), Some(*class), Some(*error)),
        AttemptResult::Failed { class, error } => ("FAILED", None, Some(*class), Some(*error)),
        AttemptResult::Cancelled => ("CANCELLED", None, None, None),
    };
    let updated = sqlx::query(
        "UPDATE notifications.deliveries SET
             status = $3,
             due_at = COALESCE($4, due_at),
             last_error_class = COALESCE($5, last_error_class),
             last_error = COALESCE($6, last_error),
             finished_at = CASE WHEN $3 = 'PENDING' THEN NULL ELSE now() END
         WHERE id = $1 AND attempts = $2 AND status = 'PENDING'",
    )
    .bind(claimed.id)
    .bind(claimed.attempts)
    .bind(status)
    .bind(next_at)
    .bind(class)
    .bind(error)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// A delivery as operators and tests see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    pub id: Uuid,
    pub cause_event_id: String,
    pub recipient_kind: String,
    pub recipient_ref: String,
    pub channel: String,
    pub notice: String,
    pub status: String,
    pub attempts: i32,
    pub due_at: DateTime<Utc>,
    pub last_error_class: Option<String>,
}

type ViewTuple = (
    Uuid,
    String,
    String,
    String,
    String,
    String,
    String,
    i32,
    DateTime<Utc>,
    Option<String>,
);

/// Deliveries, newest first, optionally only those of one status.
pub async fn list_deliveries(
    conn: &mut PgConnection,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<DeliveryView>, sqlx::Error> {
    let rows: Vec<ViewTuple> = sqlx::query_as(
        "SELECT id, cause_event_id, recipient_kind, recipient_ref, channel, notice, status,
                attempts, due_at, last_error_class
         FROM notifications.deliveries WHERE $1::text IS NULL OR status = $1
         ORDER BY created_at DESC, id LIMIT $2",
    )
    .bind(status)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| DeliveryView {
            id: r.0,
            cause_event_id: r.1,
            recipient_kind: r.2,
            recipient_ref: r.3,
            channel: r.4,
            notice: r.5,
            status: r.6,
            attempts: r.7,
            due_at: r.8,
            last_error_class: r.9,
        })
        .collect())
}
