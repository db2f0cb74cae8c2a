//! Scheduling's operator commands on `ileaps.admin.scheduling.>`:
//! `workshops.list` (in `lib.rs`), the public holiday calendars,
//! `holidays.import` and `holidays.list`, `roster.list`, the roster as
//! the planner knows it, and `planning.stats`, how enquiries were planned.
//!
//! Replies follow the shared shape (`{"ok": ...}` or `{"error": {"code",
//! "message"}}`); a refused import's message lists every problem, one a line,
//! each with its line in the file.

use crate::holidays::{Country, parse_calendar};
use crate::store;
use messaging::admin::AdminError;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::PgPool;

/// The body of `holidays.import`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportRequest {
    /// ISO 3166-1 alpha-2.
    country: String,
    /// The iCalendar file's text.
    ics: String,
    /// Where it came from (a file name), kept with each day.
    #[serde(default)]
    source: String,
}

/// `holidays.import`: a country's iCalendar file, checked whole, replaces
/// that country's holidays in the years the file covers, in one transaction.
/// A refused file changes nothing; other years and countries are untouched.
pub async fn import_holidays(pool: &PgPool, body: &[u8]) -> Result<Value, AdminError> {
    let request: ImportRequest = serde_json::from_slice(body).map_err(|e| {
        AdminError::bad_request(format!(
            "expected {{\"country\", \"ics\", \"source\"}}: {e}"
        ))
    })?;
    let country = Country::parse(&request.country)
        .map_err(|problem| AdminError::new("INVALID", problem.to_string()))?;
    let calendar = parse_calendar(&request.ics)
        .map_err(|problems| AdminError::new("INVALID", problems.to_string()))?;
    let years: Vec<i32> = calendar.years().into_iter().collect();
    let days: Vec<_> = calendar.days.into_iter().collect();
    let source = if request.source.trim().is_empty() {
        "(unnamed)".to_owned()
    } else {
        request.source.trim().to_owned()
    };
    let mut tx = pool
        .begin()
        .await
        .map_err(|e| AdminError::unavailable(&e))?;
    let replaced = store::replace_holidays(&mut tx, country.as_str(), &years, &days, &source)
        .await
        .map_err(|e| AdminError::unavailable(&e))?;
    tx.commit().await.map_err(|e| AdminError::unavailable(&e))?;
    Ok(json!({
        "country": country.as_str(),
        "years": years,
        "days": replaced.added,
        "replaced": replaced.removed,
        "source": source,
    }))
}

/// The body of `holidays.list`; empty or `null` lists everything.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListRequest {
    country: Option<String>,
    year: Option<i32>,
}

/// `holidays.list`: the stored holidays by country and day, optionally of
/// one country and one year.
pub async fn list_holidays(pool: &PgPool, body: &[u8]) -> Result<Value, AdminError> {
    let request: ListRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ListRequest::default()
    } else {
        serde_json::from_slice::<Option<ListRequest>>(body)
            .map_err(|e| AdminError::bad_request(e.to_string()))?
            .unwrap_or_default()
    };
    let country = request
        .country
        .as_deref()
        .map(Country::parse)
        .transpose()
        .map_err(|problem| AdminError::bad_request(problem.to_string()))?;
    let mut conn = pool
        .acquire()
        .await
        .map_err(|e| AdminError::unavailable(&e))?;
    let rows = store::list_holidays(
        &mut conn,
        country.as_ref().map(Country::as_str),
        request.year,
    )
    .await
    .map_err(|e| AdminError::unavailable(&e))?;
    Ok(Value::Array(
        rows.into_iter()
            .map(|row| {
                json!({
                    "country": row.country,
                    "day": row.day,
                    "name": row.name,
                    "source": row.source,
                    "importedAt": row.imported_at,
                })
            })
            .collect(),
    ))
}

/// `roster.list`: the roster as the planner sees it (scheduling's read model
/// of assignment's roster), by id: what an operator checks when plans and
/// assignment's roster seem to disagree, and what tells a test or the demo
/// that the optimiser plans with the experts just imported. Body ignored.
pub async fn list_roster(pool: &PgPool) -> Result<Value, AdminError> {
    let mut conn = pool
        .acquire()
        .await
        .map_err(|e| AdminError::unavailable(&e))?;
    let experts = crate::roster::roster(&mut conn)
        .await
        .map_err(|e| AdminError::unavailable(&e))?;
    Ok(Value::Array(
        experts
            .into_iter()
            .map(|expert| {
                json!({
                    "expertId": expert.id,
                    "displayName": expert.display_name,
                    "topics": expert.topics.iter().map(|t| t.as_str_name()).collect::<Vec<_>>(),
                    "languages": expert.languages,
                    "timeZone": expert.time_zone.name(),
                    "unavailable": expert.unavailable.iter()
                        .map(|(first, last)| json!({ "start": first, "end": last }))
                        .collect::<Vec<_>>(),
                    "monthlyLimit": expert.monthly_limit,
                    "revision": expert.revision,
                })
            })
            .collect(),
    ))
}

/// `planning.stats`: how many enquiries the optimiser planned, and how many
/// were planned first-fit (no roster known yet, or after the optimiser
/// failed), with the latest failures and why. A failure is a planner bug:
/// the enquiry was still planned, but not as well as it could have been.
/// Body ignored.
pub async fn planning_stats(pool: &PgPool) -> Result<Value, AdminError> {
    let mut conn = pool
        .acquire()
        .await
        .map_err(|e| AdminError::unavailable(&e))?;
    let stats = store::planning_stats(&mut conn, 20)
        .await
        .map_err(|e| AdminError::unavailable(&e))?;
    let count = |by: store::PlannedBy| stats.by.get(by.as_str()).copied().unwrap_or(0);
    Ok(json!({
        "optimiser": count(store::PlannedBy::Optimiser),
        "firstFitNoRoster": count(store::PlannedBy::FirstFitNoRoster),
        "firstFitAfterFailure": count(store::PlannedBy::FirstFitAfterFailure),
        "latestFailures": stats.failures.iter()
            .map(|(enquiry, why)| json!({ "enquiryId": enquiry, "why": why }))
            .collect::<Vec<_>>(),
    }))
}
