//! Assignment's operator commands on `ileaps.admin.assignment.>`: the
//! expert roster (`experts.import`, `experts.list`, `experts.unavailable`,
//! `experts.publish`).
//!
//! Every change of the roster also goes out, through the outbox and in the
//! command's transaction, as `ileaps.expert.profile.v1` on
//! `ileaps.internal.roster.profile` (scheduling's read model; no personal
//! data). `experts.publish` sends the whole roster and every workshop's
//! holds again, for a scheduling that starts from nothing after the
//! internal stream's retention (30 days) dropped what it would have read.
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
use contract::proto::assignment::v1::WorkshopHolds;
use contract::{Service, subjects};
use messaging::admin::AdminError;
use messaging::{Outbox, OutgoingMessage};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::PgPool;

/// `experts.import`: a [`RosterDocument`] as JSON, checked whole, then
/// upserted by id. Every added or changed expert's contact goes to
/// `ileaps.internal.expert.contact` through the outbox, so notifications
/// learns their address, and their profile (a new revision when changed)
/// to `ileaps.internal.roster.profile`, so scheduling plans with it.
/// Experts missing from the file are left as they are; one without a
/// `monthlyLimit` gets `default_monthly_limit` (`ILEAPS_DEFAULT_MONTHLY_LIMIT`).
pub async fn import_experts(
    pool: &PgPool,
    outbox: &Outbox,
    body: &[u8],
    default_monthly_limit: u32,
) -> Result<Value, AdminError> {
    let document: RosterDocument = serde_json::from_slice(body)
        .map_err(|e| AdminError::new("INVALID", format!("not a roster file: {e}")))?;
    let roster = document
        .validate_with(default_monthly_limit)
        .map_err(|e| match e {
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
            Upserted::Changed => {
                store::bump_expert_revision(&mut tx, &id)
                    .await
                    .map_err(|e| AdminError::unavailable(&e))?;
                changed.push(id.clone());
            }
            Upserted::Unchanged => {
                unchanged += 1;
                continue;
            }
        }
        contacts.push(OutgoingMessage::event(
            Service::Assignment,
            subjects::INTERNAL_EXPERT_CONTACT,
            id.clone(),
            &entry.to_contact(),
        ));
        contacts.extend(profile_messages(&mut tx, Some(&id)).await?);
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
/// The expert's new profile goes to scheduling in the same transaction.
pub async fn add_unavailable(
    pool: &PgPool,
    outbox: &Outbox,
    body: &[u8],
) -> Result<Value, AdminError> {
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
    store::bump_expert_revision(&mut tx, &request.expert_id)
        .await
        .map_err(|e| AdminError::unavailable(&e))?;
    let profile = profile_messages(&mut tx, Some(&request.expert_id)).await?;
    outbox
        .enqueue_all(&mut tx, profile)
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
    outbox.wake_relay();
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

/// `experts.publish`: every expert's profile (inactive ones included) and
/// every workshop's holds (empty ones included), at their current
/// revisions, through the outbox. A reader that has them already ignores
/// them by revision; a fresh one (or one whose copy outlived the internal
/// stream's retention) gets the whole picture. Body: ignored.
pub async fn publish_roster(pool: &PgPool, outbox: &Outbox) -> Result<Value, AdminError> {
    let mut tx = pool
        .begin()
        .await
        .map_err(|e| AdminError::unavailable(&e))?;
    let profiles = profile_messages(&mut tx, None).await?;
    let experts = profiles.len();
    let holds: Vec<OutgoingMessage> = store::all_holds(&mut tx)
        .await
        .map_err(|e| AdminError::unavailable(&e))?
        .iter()
        .map(holds_message)
        .collect();
    let workshops = holds.len();
    outbox
        .enqueue_all(&mut tx, profiles.into_iter().chain(holds).collect())
        .await
        .map_err(|e| AdminError::unavailable(&e))?;
    tx.commit().await.map_err(|e| AdminError::unavailable(&e))?;
    outbox.wake_relay();
    Ok(json!({ "experts": experts, "workshops": workshops }))
}

/// `ileaps.expert.profile.v1` of one expert, or of all when `None`.
async fn profile_messages(
    tx: &mut sqlx::PgConnection,
    expert_id: Option<&str>,
) -> Result<Vec<OutgoingMessage>, AdminError> {
    Ok(store::expert_profiles(tx, expert_id)
        .await
        .map_err(|e| AdminError::unavailable(&e))?
        .into_iter()
        .map(|profile| {
            OutgoingMessage::event(
                Service::Assignment,
                subjects::INTERNAL_ROSTER_PROFILE,
                profile.expert_id.clone(),
                &profile,
            )
        })
        .collect())
}

/// `ileaps.assignment.holds.v1` of one workshop.
pub fn holds_message(holds: &WorkshopHolds) -> OutgoingMessage {
    OutgoingMessage::event(
        Service::Assignment,
        subjects::INTERNAL_ROSTER_HOLDS,
        holds.workshop_id.clone(),
        holds,
    )
}
