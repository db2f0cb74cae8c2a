//! All of assignment's SQL (schema `assignment`). Every function takes the
//! caller's connection or transaction, so handlers decide what commits
//! together.
//!
//! Periods are written as `tstzrange(start, end, '[)')` from the matcher's
//! [`Period`] and read back by their bounds, so the database's `&&` (the
//! exclusion constraint's) and the matcher's `overlaps` agree.

use crate::domain::{Commitment, Current, Expert, ExpertId, Period};
use crate::roster::RosterEntry;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use contract::proto::assignment::v1::{ExpertProfile, ExpertRole, Hold, WorkshopHolds};
use contract::proto::common::v1::{DateWindow, Topic};
use sqlx::PgConnection;
use std::collections::{BTreeMap, BTreeSet};

/// What an import did to one expert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Added,
    Changed,
    Unchanged,
}

/// Adds an expert or updates them by id (and makes them active again);
/// their roster unavailability is replaced by the entry's.
pub async fn upsert_expert(
    conn: &mut PgConnection,
    entry: &RosterEntry,
) -> Result<Upserted, sqlx::Error> {
    let expert = &entry.expert;
    let topics: Vec<String> = expert
        .topics
        .iter()
        .map(|t| t.as_str_name().to_owned())
        .collect();
    // The preferred language first, as the roster listed it.
    let mut languages = vec![entry.preferred_language.clone()];
    languages.extend(
        expert
            .languages
            .iter()
            .filter(|l| **l != entry.preferred_language)
            .cloned(),
    );
    let limit = i32::try_from(expert.monthly_limit).unwrap_or(i32::MAX);
    let row = sqlx::query!(
        r#"INSERT INTO assignment.experts
               (id, display_name, email, topics, languages, time_zone, monthly_limit, active)
           VALUES ($1, $2, $3, $4, $5, $6, $7, true)
           ON CONFLICT (id) DO UPDATE SET
               display_name = EXCLUDED.display_name, email = EXCLUDED.email,
               topics = EXCLUDED.topics, languages = EXCLUDED.languages,
               time_zone = EXCLUDED.time_zone, monthly_limit = EXCLUDED.monthly_limit,
               active = true, updated_at = now()
           WHERE (experts.display_name, experts.email, experts.topics, experts.languages,
                  experts.time_zone, experts.monthly_limit, experts.active)
                 IS DISTINCT FROM
                 (EXCLUDED.display_name, EXCLUDED.email, EXCLUDED.topics, EXCLUDED.languages,
                  EXCLUDED.time_zone, EXCLUDED.monthly_limit, true)
           RETURNING (xmax = 0) AS "inserted!""#,
        expert.id.as_str(),
        expert.display_name,
        entry.email,
        &topics,
        &languages,
        expert.time_zone.name(),
        limit,
    )
    .fetch_optional(&mut *conn)
    .await?;

    let (firsts, lasts): (Vec<NaiveDate>, Vec<NaiveDate>) =
        expert.unavailable.iter().copied().unzip();
    let before = sqlx::query_scalar!(
        r#"WITH gone AS (
               DELETE FROM assignment.unavailable
               WHERE expert_id = $1 AND source = 'ROSTER'
               RETURNING first_day, last_day)
           SELECT COALESCE(array_agg(first_day || '/' || last_day ORDER BY first_day, last_day), '{}')
                  AS "periods!"
           FROM gone"#,
        expert.id.as_str(),
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!(
        r#"INSERT INTO assignment.unavailable (expert_id, first_day, last_day, source)
           SELECT $1, * , 'ROSTER' FROM UNNEST($2::date[], $3::date[])"#,
        expert.id.as_str(),
        &firsts,
        &lasts,
    )
    .execute(&mut *conn)
    .await?;
    let mut after: Vec<String> = expert
        .unavailable
        .iter()
        .map(|(first, last)| format!("{first}/{last}"))
        .collect();
    after.sort();

    Ok(match row {
        Some(r) if r.inserted => Upserted::Added,
        Some(_) => Upserted::Changed,
        None if before != after => Upserted::Changed,
        None => Upserted::Unchanged,
    })
}

/// The active roster as the matcher sees it, by id.
pub async fn load_roster(conn: &mut PgConnection) -> Result<Vec<Expert>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT e.id, e.display_name, e.topics, e.languages, e.time_zone, e.monthly_limit,
                  COALESCE(array_agg(u.first_day ORDER BY u.first_day)
                           FILTER (WHERE u.id IS NOT NULL), '{}') AS "firsts!: Vec<NaiveDate>",
                  COALESCE(array_agg(u.last_day ORDER BY u.first_day)
                           FILTER (WHERE u.id IS NOT NULL), '{}') AS "lasts!: Vec<NaiveDate>"
           FROM assignment.experts e
           LEFT JOIN assignment.unavailable u ON u.expert_id = e.id
           WHERE e.active
           GROUP BY e.id
           ORDER BY e.id"#
    )
    .fetch_all(conn)
    .await?;
    let mut experts = Vec::with_capacity(rows.len());
    for row in rows {
        // Rows were checked on import; one that no longer parses (a zone
        // dropped from the tz database) is left out rather than failing
        // every workshop.
        let (Ok(id), Ok(time_zone)) = (ExpertId::parse(&row.id), row.time_zone.parse::<Tz>())
        else {
            tracing::warn!(expert = %row.id, "roster row does not parse; not matched");
            continue;
        };
        experts.push(Expert {
            id,
            display_name: row.display_name,
            topics: row
                .topics
                .iter()
                .filter_map(|t| Topic::from_str_name(t))
                .collect(),
            languages: row.languages.into_iter().collect(),
            time_zone,
            unavailable: row.firsts.into_iter().zip(row.lasts).collect(),
            monthly_limit: u32::try_from(row.monthly_limit).unwrap_or(0),
        });
    }
    Ok(experts)
}

/// One expert as operators list them (`experts.list`), email included:
/// operators manage the roster and may read everything.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpertListing {
    pub id: String,
    pub display_name: String,
    pub email: String,
    pub topics: Vec<String>,
    pub languages: Vec<String>,
    pub time_zone: String,
    pub monthly_limit: i32,
    pub active: bool,
    pub unavailable: serde_json::Value,
    /// Holds not released, on workshops of any date.
    pub active_assignments: i64,
}

pub async fn list_experts(conn: &mut PgConnection) -> Result<Vec<ExpertListing>, sqlx::Error> {
    sqlx::query_as!(
        ExpertListing,
        r#"SELECT e.id, e.display_name, e.email, e.topics, e.languages, e.time_zone,
                  e.monthly_limit, e.active,
                  COALESCE((SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                                'start', u.first_day, 'end', u.last_day,
                                'reason', u.reason, 'source', u.source))
                              ORDER BY u.first_day, u.last_day)
                            FROM assignment.unavailable u WHERE u.expert_id = e.id),
                           '[]') AS "unavailable!",
                  (SELECT count(*) FROM assignment.assignments a
                   WHERE a.expert_id = e.id AND a.released_at IS NULL) AS "active_assignments!"
           FROM assignment.experts e
           ORDER BY e.id"#
    )
    .fetch_all(conn)
    .await
}

/// Adds an operator's unavailable period; false when the expert is unknown.
pub async fn add_unavailable(
    conn: &mut PgConnection,
    expert_id: &str,
    first: NaiveDate,
    last: NaiveDate,
    reason: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query!(
        r#"INSERT INTO assignment.unavailable (expert_id, first_day, last_day, reason, source)
           SELECT id, $2, $3, $4, 'OPERATOR' FROM assignment.experts WHERE id = $1"#,
        expert_id,
        first,
        last,
        reason,
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// The expert's time zone, if they are on the roster.
pub async fn expert_time_zone(
    conn: &mut PgConnection,
    expert_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT time_zone FROM assignment.experts WHERE id = $1",
        expert_id
    )
    .fetch_optional(conn)
    .await
}

/// The workshops an expert holds during `period`, with the held period.
pub async fn holds_during(
    conn: &mut PgConnection,
    expert_id: &str,
    period: Period,
) -> Result<Vec<(String, Period)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT workshop_id,
                  COALESCE(lower(period), 'epoch') AS "start!",
                  COALESCE(upper(period), 'epoch') AS "end!"
           FROM assignment.assignments
           WHERE expert_id = $1 AND released_at IS NULL
             AND period && tstzrange($2, $3, '[)')
           ORDER BY lower(period)"#,
        expert_id,
        period.start(),
        period.end(),
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| Some((r.workshop_id, Period::new(r.start, r.end).ok()?)))
        .collect())
}

/// Assignment's copy of one workshop version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkshopRow {
    pub id: String,
    pub version: i32,
    pub status: String,
    /// Proto enum names (`JOINT_WORKSHOP`, `IN_PERSON`, `URBAN_PLANNING`).
    pub kind: String,
    pub format: String,
    pub topics: Vec<String>,
    pub languages: Vec<String>,
    pub cities: Vec<String>,
    pub participants: i32,
    pub session_starts: Vec<DateTime<Utc>>,
    pub session_ends: Vec<DateTime<Utc>>,
}

pub const ACTIVE: &str = "ACTIVE";
pub const CANCELLED: &str = "CANCELLED";

/// Stores a `scheduled` version unless one at least as new is stored;
/// true when stored.
pub async fn put_workshop(conn: &mut PgConnection, w: &WorkshopRow) -> Result<bool, sqlx::Error> {
    let stored = sqlx::query_scalar!(
        r#"INSERT INTO assignment.workshops AS w
               (id, version, status, kind, format, topics, languages, cities, participants,
                session_starts, session_ends)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (id) DO UPDATE SET
               version = EXCLUDED.version, status = EXCLUDED.status, kind = EXCLUDED.kind,
               format = EXCLUDED.format, topics = EXCLUDED.topics,
               languages = EXCLUDED.languages, cities = EXCLUDED.cities,
               participants = EXCLUDED.participants, session_starts = EXCLUDED.session_starts,
               session_ends = EXCLUDED.session_ends, updated_at = now()
           WHERE w.version < EXCLUDED.version
           RETURNING w.id"#,
        w.id,
        w.version,
        w.status,
        w.kind,
        w.format,
        &w.topics,
        &w.languages,
        &w.cities,
        w.participants,
        &w.session_starts,
        &w.session_ends,
    )
    .fetch_optional(conn)
    .await?;
    Ok(stored.is_some())
}

/// The stored workshop, locked for this transaction.
pub async fn lock_workshop(
    conn: &mut PgConnection,
    id: &str,
) -> Result<Option<WorkshopRow>, sqlx::Error> {
    sqlx::query_as!(
        WorkshopRow,
        r#"SELECT id, version, status, kind, format, topics, languages, cities, participants,
                  session_starts, session_ends
           FROM assignment.workshops WHERE id = $1 FOR UPDATE"#,
        id
    )
    .fetch_optional(conn)
    .await
}

/// Moves a stored workshop to new sessions at `version`.
pub async fn reschedule_workshop(
    conn: &mut PgConnection,
    id: &str,
    version: i32,
    starts: &[DateTime<Utc>],
    ends: &[DateTime<Utc>],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE assignment.workshops
           SET version = $2, session_starts = $3, session_ends = $4, updated_at = now()
           WHERE id = $1"#,
        id,
        version,
        starts,
        ends,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks a workshop cancelled at `version` (unless a newer version is
/// stored); a workshop never seen gets a
/// row with empty fields, so a late `scheduled` of it is stale.
pub async fn cancel_workshop(
    conn: &mut PgConnection,
    id: &str,
    version: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO assignment.workshops AS w
               (id, version, status, kind, format, topics, languages, cities, participants,
                session_starts, session_ends)
           VALUES ($1, $2, 'CANCELLED', '', '', '{}', '{}', '{}', 0, '{}', '{}')
           ON CONFLICT (id) DO UPDATE SET
               version = EXCLUDED.version, status = 'CANCELLED', updated_at = now()
           WHERE w.version <= EXCLUDED.version"#,
        id,
        version,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The workshop's experts not released, in the order they were assigned.
pub async fn current_assignments(
    conn: &mut PgConnection,
    workshop_id: &str,
) -> Result<Vec<Current>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT expert_id, role FROM assignment.assignments
           WHERE workshop_id = $1 AND released_at IS NULL
           ORDER BY assigned_at, expert_id"#,
        workshop_id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(Current {
                expert_id: ExpertId::parse(&r.expert_id).ok()?,
                role: ExpertRole::from_str_name(&r.role)?,
            })
        })
        .collect())
}

/// Other workshops' holds that overlap `period` or count against `month`:
/// everything the matcher checks rules 3 and 4 against.
pub async fn commitments(
    conn: &mut PgConnection,
    workshop_id: &str,
    period: Period,
    month: (i32, u32),
) -> Result<Vec<Commitment>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT expert_id, workshop_id,
                  COALESCE(lower(period), 'epoch') AS "start!",
                  COALESCE(upper(period), 'epoch') AS "end!",
                  month
           FROM assignment.assignments
           WHERE released_at IS NULL AND workshop_id <> $1
             AND (period && tstzrange($2, $3, '[)') OR month = $4)"#,
        workshop_id,
        period.start(),
        period.end(),
        month_start(month),
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            use chrono::Datelike;
            Some(Commitment {
                expert_id: ExpertId::parse(&r.expert_id).ok()?,
                workshop_id: r.workshop_id,
                period: Period::new(r.start, r.end).ok()?,
                month: (r.month.year(), r.month.month()),
            })
        })
        .collect())
}

/// The cities each of `experts` has worked with.
pub async fn worked_with(
    conn: &mut PgConnection,
    experts: &[String],
) -> Result<BTreeMap<ExpertId, BTreeSet<String>>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT expert_id, city FROM assignment.worked_with WHERE expert_id = ANY($1)"#,
        experts
    )
    .fetch_all(conn)
    .await?;
    let mut map: BTreeMap<ExpertId, BTreeSet<String>> = BTreeMap::new();
    for row in rows {
        if let Ok(id) = ExpertId::parse(&row.expert_id) {
            map.entry(id).or_default().insert(row.city);
        }
    }
    Ok(map)
}

/// Records (or renews) `expert`'s hold on a workshop version in `role`.
/// Fails with SQLSTATE 23P01 when it would overlap another active hold.
pub async fn hold(
    conn: &mut PgConnection,
    workshop_id: &str,
    expert_id: &ExpertId,
    role: ExpertRole,
    version: i32,
    commitment: &Commitment,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO assignment.assignments
               (workshop_id, expert_id, role, workshop_version, period, month)
           VALUES ($1, $2, $3, $4, tstzrange($5, $6, '[)'), $7)
           ON CONFLICT (workshop_id, expert_id) DO UPDATE SET
               role = EXCLUDED.role, workshop_version = EXCLUDED.workshop_version,
               period = EXCLUDED.period, month = EXCLUDED.month,
               assigned_at = CASE WHEN assignments.released_at IS NULL
                                  THEN assignments.assigned_at ELSE now() END,
               released_at = NULL"#,
        workshop_id,
        expert_id.as_str(),
        role.as_str_name(),
        version,
        commitment.period.start(),
        commitment.period.end(),
        month_start(commitment.month),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Releases the workshop's holds of `experts` (all of them when `None`);
/// returns the ids released.
pub async fn release(
    conn: &mut PgConnection,
    workshop_id: &str,
    experts: Option<&[String]>,
    version: i32,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"UPDATE assignment.assignments
           SET released_at = now(), workshop_version = $3
           WHERE workshop_id = $1 AND released_at IS NULL
             AND ($2::text[] IS NULL OR expert_id = ANY($2))
           RETURNING expert_id"#,
        workshop_id,
        experts as Option<&[String]>,
        version,
    )
    .fetch_all(conn)
    .await
}

/// Records that `experts` work with `cities` (continuity).
pub async fn record_worked_with(
    conn: &mut PgConnection,
    experts: &[String],
    cities: &[String],
    workshop_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO assignment.worked_with (expert_id, city, first_workshop_id)
           SELECT e, c, $3 FROM UNNEST($1::text[]) AS e CROSS JOIN UNNEST($2::text[]) AS c
           ON CONFLICT (expert_id, city) DO NOTHING"#,
        experts,
        cities,
        workshop_id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// `(year, month)` as the first day of that month.
pub fn month_start((year, month): (i32, u32)) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(NaiveDate::MIN)
}

// --- the roster and the holds as scheduling reads them (ileaps.internal.roster.*)

/// Marks a change of the expert's entry: the next profile published
/// carries a higher revision.
pub async fn bump_expert_revision(
    conn: &mut PgConnection,
    expert_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE assignment.experts SET revision = revision + 1, updated_at = now() WHERE id = $1",
        expert_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The planning profiles of `expert_id`, or of every expert (inactive ones
/// included, so a reader learns of a deactivation) when `None`, by id.
/// Nothing personal: no email, no reasons for absence.
pub async fn expert_profiles(
    conn: &mut PgConnection,
    expert_id: Option<&str>,
) -> Result<Vec<ExpertProfile>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT e.id, e.display_name, e.topics, e.languages, e.time_zone, e.monthly_limit,
                  e.active, e.revision,
                  COALESCE(array_agg(u.first_day ORDER BY u.first_day, u.last_day)
                           FILTER (WHERE u.id IS NOT NULL), '{}') AS "firsts!: Vec<NaiveDate>",
                  COALESCE(array_agg(u.last_day ORDER BY u.first_day, u.last_day)
                           FILTER (WHERE u.id IS NOT NULL), '{}') AS "lasts!: Vec<NaiveDate>"
           FROM assignment.experts e
           LEFT JOIN assignment.unavailable u ON u.expert_id = e.id
           WHERE $1::text IS NULL OR e.id = $1
           GROUP BY e.id
           ORDER BY e.id"#,
        expert_id,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| ExpertProfile {
            expert_id: row.id,
            display_name: row.display_name,
            topics: row
                .topics
                .iter()
                .filter_map(|t| Topic::from_str_name(t))
                .map(Into::into)
                .collect(),
            languages: row.languages,
            time_zone: row.time_zone,
            unavailable: row
                .firsts
                .into_iter()
                .zip(row.lasts)
                .map(|(first, last)| DateWindow {
                    start: first.to_string(),
                    end: last.to_string(),
                })
                .collect(),
            monthly_limit: u32::try_from(row.monthly_limit).unwrap_or(0),
            active: row.active,
            revision: u32::try_from(row.revision).unwrap_or(0),
        })
        .collect())
}

/// The workshop's live holds as one message, under a new revision: call it
/// in the transaction that changed them.
pub async fn next_holds(
    conn: &mut PgConnection,
    workshop_id: &str,
) -> Result<Option<WorkshopHolds>, sqlx::Error> {
    let bumped = sqlx::query!(
        r#"UPDATE assignment.workshops SET holds_revision = holds_revision + 1
           WHERE id = $1 RETURNING version, holds_revision"#,
        workshop_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(bumped) = bumped else {
        return Ok(None);
    };
    let holds = live_holds(conn, workshop_id).await?;
    Ok(Some(WorkshopHolds {
        workshop_id: workshop_id.to_owned(),
        workshop_version: u32::try_from(bumped.version).unwrap_or_default(),
        holds,
        revision: u32::try_from(bumped.holds_revision).unwrap_or_default(),
    }))
}

/// Every workshop that ever had a holds message, with its live holds at
/// its current revision (not bumped): what `experts.publish` sends again,
/// empty lists included, so a reader that missed a release learns of it.
pub async fn all_holds(conn: &mut PgConnection) -> Result<Vec<WorkshopHolds>, sqlx::Error> {
    let workshops = sqlx::query!(
        r#"SELECT id, version, holds_revision FROM assignment.workshops
           WHERE holds_revision > 0 ORDER BY id"#
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut all = Vec::with_capacity(workshops.len());
    for w in workshops {
        let holds = live_holds(conn, &w.id).await?;
        all.push(WorkshopHolds {
            workshop_id: w.id,
            workshop_version: u32::try_from(w.version).unwrap_or_default(),
            holds,
            revision: u32::try_from(w.holds_revision).unwrap_or_default(),
        });
    }
    Ok(all)
}

async fn live_holds(conn: &mut PgConnection, workshop_id: &str) -> Result<Vec<Hold>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT expert_id, role,
                  COALESCE(lower(period), 'epoch') AS "start!",
                  COALESCE(upper(period), 'epoch') AS "end!",
                  month
           FROM assignment.assignments
           WHERE workshop_id = $1 AND released_at IS NULL
           ORDER BY role, expert_id"#,
        workshop_id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Hold {
            expert_id: r.expert_id,
            role: ExpertRole::from_str_name(&r.role)
                .unwrap_or_default()
                .into(),
            start: Some(timestamp(r.start)),
            end: Some(timestamp(r.end)),
            month: r.month.format("%Y-%m").to_string(),
        })
        .collect())
}

fn timestamp(t: DateTime<Utc>) -> pbjson_types::Timestamp {
    pbjson_types::Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
    }
}
