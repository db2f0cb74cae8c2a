//! All of intake's SQL. Every function takes the caller's connection or
//! transaction, so handlers decide what commits together.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// A registered city, as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CityRecord {
    pub code: String,
    pub name: String,
    pub country: String,
    pub time_zone: String,
    pub beneficiary: bool,
    #[serde(default)]
    pub host: bool,
    #[serde(default)]
    pub languages: Vec<String>,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
}

pub async fn load_cities(conn: &mut PgConnection) -> Result<Vec<CityRecord>, sqlx::Error> {
    sqlx::query_as!(
        CityRecord,
        r#"SELECT code, name, country, time_zone, beneficiary, host, languages,
                  contact_name, contact_email
           FROM intake.cities ORDER BY code"#
    )
    .fetch_all(conn)
    .await
}

/// Registers a city or updates it; returns true when it was new.
pub async fn upsert_city(conn: &mut PgConnection, city: &CityRecord) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO intake.cities
               (code, name, country, time_zone, beneficiary, host, languages, contact_name, contact_email)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (code) DO UPDATE SET
               name = EXCLUDED.name, country = EXCLUDED.country, time_zone = EXCLUDED.time_zone,
               beneficiary = EXCLUDED.beneficiary, host = EXCLUDED.host, languages = EXCLUDED.languages,
               contact_name = EXCLUDED.contact_name, contact_email = EXCLUDED.contact_email,
               updated_at = now()
           RETURNING (xmax = 0) AS "inserted!""#,
        city.code,
        city.name,
        city.country,
        city.time_zone,
        city.beneficiary,
        city.host,
        &city.languages,
        city.contact_name,
        city.contact_email,
    )
    .fetch_one(conn)
    .await?;
    Ok(inserted)
}

/// An enquiry to record.
#[derive(Debug)]
pub struct NewEnquiry<'a> {
    pub id: Uuid,
    pub city: &'a str,
    pub reference: &'a str,
    pub fingerprint: &'a str,
    pub submission: serde_json::Value,
    pub priority: bool,
    pub inbound_id: &'a str,
    pub received_at: DateTime<Utc>,
}

/// Records an enquiry unless its `(city, reference)` exists; true when recorded.
pub async fn insert_enquiry(
    conn: &mut PgConnection,
    enquiry: &NewEnquiry<'_>,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query!(
        r#"INSERT INTO intake.enquiries
               (id, city, reference, fingerprint, submission, priority, inbound_id, received_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (city, reference) DO NOTHING"#,
        enquiry.id,
        enquiry.city,
        enquiry.reference,
        enquiry.fingerprint,
        enquiry.submission,
        enquiry.priority,
        enquiry.inbound_id,
        enquiry.received_at,
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Enquiries to record with one statement, one element per enquiry in each
/// column. Their `(city, reference)` must be distinct.
#[derive(Debug, Default)]
pub struct NewEnquiries {
    pub ids: Vec<Uuid>,
    pub cities: Vec<String>,
    pub references: Vec<String>,
    pub fingerprints: Vec<String>,
    pub submissions: Vec<serde_json::Value>,
    pub priorities: Vec<bool>,
    pub inbound_ids: Vec<String>,
    pub received_at: Vec<DateTime<Utc>>,
}

/// Records the enquiries whose `(city, reference)` does not exist yet;
/// returns the `(city, reference)` of those recorded.
pub async fn insert_enquiries(
    conn: &mut PgConnection,
    enquiries: &NewEnquiries,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"INSERT INTO intake.enquiries
               (id, city, reference, fingerprint, submission, priority, inbound_id, received_at)
           SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[],
                                $6::bool[], $7::text[], $8::timestamptz[])
           ON CONFLICT (city, reference) DO NOTHING
           RETURNING city, reference"#,
        &enquiries.ids,
        &enquiries.cities,
        &enquiries.references,
        &enquiries.fingerprints,
        &enquiries.submissions,
        &enquiries.priorities,
        &enquiries.inbound_ids,
        &enquiries.received_at,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.city, r.reference)).collect())
}

/// The fingerprints of the enquiries that exist among `(cities[i], references[i])`,
/// as `(city, reference, fingerprint)`.
pub async fn find_fingerprints(
    conn: &mut PgConnection,
    cities: &[String],
    references: &[String],
) -> Result<Vec<(String, String, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT e.city, e.reference, e.fingerprint
           FROM intake.enquiries e
           JOIN UNNEST($1::text[], $2::text[]) AS k (city, reference)
             ON e.city = k.city AND e.reference = k.reference"#,
        cities,
        references,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.city, r.reference, r.fingerprint))
        .collect())
}

/// What the status query and the natural-key checks need of an enquiry.
#[derive(Debug, Clone)]
pub struct EnquiryState {
    pub id: Uuid,
    pub fingerprint: String,
    pub status: String,
    pub status_detail: Option<String>,
    pub workshop_id: Option<String>,
}

pub async fn find_enquiry(
    conn: &mut PgConnection,
    city: &str,
    reference: &str,
) -> Result<Option<EnquiryState>, sqlx::Error> {
    sqlx::query_as!(
        EnquiryState,
        r#"SELECT id, fingerprint, status, status_detail, workshop_id
           FROM intake.enquiries WHERE city = $1 AND reference = $2"#,
        city,
        reference
    )
    .fetch_optional(conn)
    .await
}

/// Marks an enquiry withdrawn; false when it already was.
pub async fn mark_withdrawn(
    conn: &mut PgConnection,
    id: Uuid,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query!(
        r#"UPDATE intake.enquiries
           SET status = 'WITHDRAWN', withdrawn_at = $2, status_detail = NULLIF($3, '')
           WHERE id = $1 AND status <> 'WITHDRAWN'"#,
        id,
        at,
        reason
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// A rejection to record.
#[derive(Debug)]
pub struct NewRejection<'a> {
    pub id: Uuid,
    pub city: Option<&'a str>,
    pub reference: Option<&'a str>,
    pub inbound_id: Option<&'a str>,
    pub reasons: serde_json::Value,
    pub rejected_at: DateTime<Utc>,
}

pub async fn insert_rejection(
    conn: &mut PgConnection,
    rejection: &NewRejection<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO intake.rejections (id, city, reference, inbound_id, reasons, rejected_at)
           VALUES ($1, $2, $3, $4, $5, $6)"#,
        rejection.id,
        rejection.city,
        rejection.reference,
        rejection.inbound_id,
        rejection.reasons,
        rejection.rejected_at,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Rejections to record with one statement, one element per rejection in
/// each column.
#[derive(Debug, Default)]
pub struct NewRejections {
    pub ids: Vec<Uuid>,
    pub cities: Vec<Option<String>>,
    pub references: Vec<Option<String>>,
    pub inbound_ids: Vec<Option<String>>,
    pub reasons: Vec<serde_json::Value>,
    pub rejected_at: Vec<DateTime<Utc>>,
}

impl NewRejections {
    pub fn push(&mut self, rejection: &NewRejection<'_>) {
        self.ids.push(rejection.id);
        self.cities.push(rejection.city.map(str::to_owned));
        self.references.push(rejection.reference.map(str::to_owned));
        self.inbound_ids
            .push(rejection.inbound_id.map(str::to_owned));
        self.reasons.push(rejection.reasons.clone());
        self.rejected_at.push(rejection.rejected_at);
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

pub async fn insert_rejections(
    conn: &mut PgConnection,
    rejections: &NewRejections,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO intake.rejections (id, city, reference, inbound_id, reasons, rejected_at)
           SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[],
                                $6::timestamptz[])"#,
        &rejections.ids,
        &rejections.cities as &[Option<String>],
        &rejections.references as &[Option<String>],
        &rejections.inbound_ids as &[Option<String>],
        &rejections.reasons,
        &rejections.rejected_at,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The latest rejection of a city's reference: its id and reasons.
pub async fn latest_rejection(
    conn: &mut PgConnection,
    city: &str,
    reference: &str,
) -> Result<Option<(Uuid, serde_json::Value)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT id, reasons FROM intake.rejections
           WHERE city = $1 AND reference = $2
           ORDER BY rejected_at DESC LIMIT 1"#,
        city,
        reference
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.id, r.reasons)))
}

// Progress learnt from the programme's events (see `progress`). Each update
// is judged against the workshop version recorded on the enquiry, so a stale
// or repeated event changes nothing. Withdrawn enquiries are never touched.

/// `workshop.scheduled`: the listed enquiries are in workshop `workshop_id`
/// at `version`. An enquiry already seen in this workshop at this version or
/// later is left as it is (so a repeat does not undo STAFFED). Returns how
/// many changed.
pub async fn mark_scheduled(
    conn: &mut PgConnection,
    enquiry_ids: &[Uuid],
    workshop_id: &str,
    version: i32,
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query!(
        r#"UPDATE intake.enquiries
           SET status = 'SCHEDULED', status_detail = NULL,
               workshop_id = $2, workshop_version = $3
           WHERE id = ANY($1) AND status <> 'WITHDRAWN'
             AND (workshop_id IS DISTINCT FROM $2 OR workshop_version IS NULL
                  OR workshop_version < $3)"#,
        enquiry_ids,
        workshop_id,
        version
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}

/// `workshop.scheduled`: enquiries of `workshop_id` seen at an older version
/// and not listed at `version` left it; they are back to RECEIVED.
pub async fn mark_left(
    conn: &mut PgConnection,
    workshop_id: &str,
    version: i32,
    listed: &[Uuid],
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query!(
        r#"UPDATE intake.enquiries
           SET status = 'RECEIVED', status_detail = NULL,
               workshop_id = NULL, workshop_version = NULL
           WHERE workshop_id = $1 AND workshop_version < $2
             AND status IN ('SCHEDULED', 'STAFFED', 'CONFIRMED') AND NOT (id = ANY($3))"#,
        workshop_id,
        version,
        listed
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}

/// `workshop.rescheduled`: a new version of the workshop, not staffed yet.
pub async fn mark_rescheduled(
    conn: &mut PgConnection,
    workshop_id: &str,
    version: i32,
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query!(
        r#"UPDATE intake.enquiries
           SET status = 'SCHEDULED', status_detail = NULL, workshop_version = $2
           WHERE workshop_id = $1 AND workshop_version < $2
             AND status IN ('SCHEDULED', 'STAFFED', 'CONFIRMED')"#,
        workshop_id,
        version
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}

/// `assignment.made`: the workshop at exactly `version` is staffed.
pub async fn mark_staffed(
    conn: &mut PgConnection,
    workshop_id: &str,
    version: i32,
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query!(
        r#"UPDATE intake.enquiries
           SET status = 'STAFFED', status_detail = NULL
           WHERE workshop_id = $1 AND workshop_version = $2 AND status = 'SCHEDULED'"#,
        workshop_id,
        version
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}

/// `notification.delivered` of a confirmation on the city's feed: the
/// enquiry, staffed in `workshop_id` at exactly `version`, is CONFIRMED. A
/// confirmation of an older version (the workshop changed since) changes
/// nothing.
pub async fn mark_confirmed(
    conn: &mut PgConnection,
    enquiry_id: Uuid,
    workshop_id: &str,
    version: i32,
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query!(
        r#"UPDATE intake.enquiries
           SET status = 'CONFIRMED', status_detail = NULL
           WHERE id = $1 AND workshop_id = $2 AND workshop_version = $3
             AND status = 'STAFFED'"#,
        enquiry_id,
        workshop_id,
        version
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}

/// `workshop.cancelled`: enquiries still in the workshop (at `version` or
/// before) are back to RECEIVED without a workshop, with `detail` saying why.
pub async fn mark_cancelled(
    conn: &mut PgConnection,
    workshop_id: &str,
    version: i32,
    detail: &str,
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query!(
        r#"UPDATE intake.enquiries
           SET status = 'RECEIVED', status_detail = NULLIF($3, ''),
               workshop_id = NULL, workshop_version = NULL
           WHERE workshop_id = $1 AND workshop_version <= $2
             AND status IN ('SCHEDULED', 'STAFFED', 'CONFIRMED')"#,
        workshop_id,
        version,
        detail
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}

/// `workshop.unschedulable`: the enquiry cannot be planned (or staffed).
/// Ignored when withdrawn, or when the event names a workshop and the enquiry
/// is now in another one (the event is stale).
pub async fn mark_unschedulable(
    conn: &mut PgConnection,
    enquiry_id: Uuid,
    workshop_id: &str,
    reason_code: &str,
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query!(
        r#"UPDATE intake.enquiries
           SET status = 'UNSCHEDULABLE', status_detail = NULLIF($3, ''),
               workshop_id = NULL, workshop_version = NULL
           WHERE id = $1 AND status <> 'WITHDRAWN'
             AND ($2 = '' OR workshop_id IS NULL OR workshop_id = $2)"#,
        enquiry_id,
        workshop_id,
        reason_code
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}
