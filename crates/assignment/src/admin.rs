//! Assignment's operator commands on `ileaps.admin.assignment.>`: the
//! expert roster (`experts.import`, `experts.list`, `experts.unavailable`).
//!
//! Replies follow the shared shape (`{"ok": ...}` or `{"error": {"code",
//! "message"}}`). `experts.list` includes email addresses: operators manage
//! the roster, may read everything (CONTRACT.md), and need to check where
//! notifications will write.

use crate::domain::Period;
use crate::roster::{RosterDocument, RosterError};
use crate::store::{self, Upserted};
use chrono::NaiveDate;
use chrono_tz::Tz;
use contract::{Service, subjects};
use messaging::admin::AdminError;
use messaging::{Outbox, OutgoingMessage};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::PgPool;

/// `experts.import`: a [`RosterDocument`] as JSON, checked whole, then
/// upserted by id. Every added or changed expert's contact goes to
/// `ileaps.internal.expert.contact` through the outbox, so notifications
/// learns their address. Experts missing from the file are left as they are.
pub async fn import_experts(
    pool: &PgPool,
    outbox: &Outbox,
    body: &[u8],
) -> Result<Value, AdminError> {
    let document: RosterDocument = serde_json::from_slice(body)
        .map_err(|e| AdminError::new("INVALID", format!("not a roster file: {e}")))?;
    let roster = document.validate().map_err(|e| match e {
        RosterError::Invalid(problems) => AdminError::new(
            "INVALID",
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        other => AdminError::new("INVALID", other.to_string()),
    })?;
    let mut tx = pool
        .begin()
        .await
        .map_err(|e| AdminError::unavailable(&e))?;
    let (mut added, mut changed, mut unchanged) = (Vec::new(), Vec::new(), 0usize);
    let mut contacts = Vec::new();
    for entry in &roster.entries {
        let outcome = store::upsert_expert(&mut tx, entry)
            .await
            .map_err(|e| AdminError::unavailable(&e))?;
        let id = entry.expert.id.as_str().to_owned();
        match outcome {
            Upserted::Added => added.push(id.clone()),
            Upserted::Changed => changed.push(id.clone()),
            Upserted::Unchanged => {
                unchanged += 1;
                continue;
            }
        }
        contacts.push(OutgoingMessage::event(
            Service::Assignment,
            subjects::INTERNAL_EXPERT_CONTACT,
            id,
            &entry.to_contact(),
        ));
    }
    outbox
        .enqueue_all(&mut tx, contacts)
        .await
        .map_err(|e| AdminError::unavailable(&e))?;
    tx.commit().await.map_err(|e| AdminError::unavailable(&e))?;
    outbox.wake_relay();
    Ok(json!({ "added": added, "updated": changed, "unchanged": unchanged }))
}

/// `experts.list`: every expert, inactive ones included, in id order.
pub async fn list_experts(pool: &PgPool) -> Result<Value, AdminError> {
    let mut conn = pool
        .acquire()
        .await
        .map_err(|e| AdminError::unavailable(&e))?;
    let experts = store::list_experts(&mut conn)
        .await
        .map_err(|e| AdminError::unavailable(&e))?;
    Ok(json!(experts))
}

/// `experts.unavailable`'s request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Unavailable {
    expert_id: String,
    /// Inclusive days, in the expert's own time zone.
    start: String,
    end: String,
    #[serde(default)]
    reason: Option<String>,
}

const REASON_MAX_CHARS: usize = 200;

/// `experts.unavailable`: adds a period of whole days an expert cannot
/// work. Holds the expert already has in it are not released (people keep
/// what they were told); they are listed in the reply as `conflicts` for
/// the operator to settle.
pub async fn add_unavailable(pool: &PgPool, body: &[u8]) -> Result<Value, AdminError> {
    let request: Unavailable = serde_json::from_slice(body).map_err(|e| {
        AdminError::bad_request(format!(
            "expected {{\"expertId\", \"start\": \"YYYY-MM-DD\", \"end\": \"YYYY-MM-DD\", \"reason\"?}}: {e}"
        ))
    })?;
    let mut problems = Vec::new();
    let day = |name: &str, raw: &str, problems: &mut Vec<String>| {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map_err(|_| problems.push(format!("{name}: {raw:?} is not a date like 2027-02-01")))
            .ok()
    };
    let start = day("start", &request.start, &mut problems);
    let end = day("end", &request.end, &mut problems);
    if let (Some(start), Some(end)) = (start, end)
        && end < start
    {
        problems.push(format!("end: {end} is before start {start}"));
    }
    if request
        .reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > REASON_MAX_CHARS)
    {
        problems.push(format!(
            "reason: must be at most {REASON_MAX_CHARS} characters"
        ));
    }
    let (Some(start), Some(end), true) = (start, end, problems.is_empty()) else {
        return Err(AdminError::new("INVALID", problems.join("\n")));
    };

    let mut tx = pool
        .begin()
        .await
        .map_err(|e| AdminError::unavailable(&e))?;
    let Some(zone) = store::expert_time_zone(&mut tx, &request.expert_id)
        .await
        .map_err(|e| AdminError::unavailable(&e))?
    else {
        return Err(AdminError::new(
            "NOT_FOUND",
            format!("no expert {:?} on the roster", request.expert_id),
        ));
    };
    store::add_unavailable(
        &mut tx,
        &request.expert_id,
        start,
        end,
        request.reason.as_deref(),
    )
    .await
    .map_err(|e| AdminError::unavailable(&e))?;
    let conflicts = match zone
        .parse::<Tz>()
        .ok()
        .and_then(|z| Period::local_days(z, start, end))
    {
        Some(period) => store::holds_during(&mut tx, &request.expert_id, period)
            .await
            .map_err(|e| AdminError::unavailable(&e))?,
        None => Vec::new(),
    };
    tx.commit().await.map_err(|e| AdminError::unavailable(&e))?;
    Ok(json!({
        "expertId": request.expert_id,
        "start": start,
        "end": end,
        "conflicts": conflicts
            .iter()
            .map(|(workshop, period)| json!({
                "workshopId": workshop,
                "start": period.start(),
                "end": period.end(),
            }))
            .collect::<Vec<_>>(),
    }))
}
