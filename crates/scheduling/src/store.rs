//! All of scheduling's SQL (schema `scheduling`), and the mapping between
//! its rows and the planner's types. Every function takes the caller's
//! connection or transaction, so handlers decide what commits together.
//!
//! The calendar around a request is read with indexed queries only: active
//! workshops whose `span` (a `daterange` of programme days, GiST-indexed)
//! overlaps the days in question. Nothing reads every workshop ever planned.

use crate::domain::{Attendee, Calendar, DateWindow, DaySpan, PlannedWorkshop, Session, span_of};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use contract::proto::common::v1::{EnquiryKind, Format, Topic};
use sqlx::PgConnection;
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// The key of the advisory lock that serialises planning decisions.
///
/// Rules 4 and 5 (a city's engagements never overlap; at most 3 a day) span
/// rows: two replicas planning at once could each see room for one more and
/// both take it. The database could express neither rule simply (the day
/// load counts every day of every span), so every planning decision takes
/// this one transaction-scoped lock first. Planning is cheap (a few indexed
/// reads), so one decision at a time costs little.
const PLANNING_LOCK: i64 = 0x494c_5350_4c41_4e00; // "ILSPLAN\0"

/// Waits for the planning lock; held until the transaction ends.
pub async fn lock_planning(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT true AS "locked!" FROM pg_advisory_xact_lock($1)"#,
        PLANNING_LOCK
    )
    .fetch_one(conn)
    .await?;
    Ok(())
}

/// A stored row the planner cannot read: a bug or a hand edit, never
/// something a retry fixes.
#[derive(Debug, thiserror::Error)]
#[error("stored {what} is unreadable: {problem}")]
pub struct Unreadable {
    pub what: String,
    pub problem: String,
}

impl Unreadable {
    fn new(what: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            problem: problem.into(),
        }
    }
}

// --- enquiries ----------------------------------------------------------

/// Scheduling's copy of an accepted enquiry.
#[derive(Debug, Clone)]
pub struct NewEnquiry<'a> {
    pub id: &'a str,
    pub city: &'a str,
    pub reference: &'a str,
    pub kind: EnquiryKind,
    pub topics: &'a [Topic],
    pub window: DateWindow,
    pub participants: u32,
    pub languages: Vec<String>,
    pub format: Format,
    pub time_zone: &'a str,
    /// ISO 3166-1 alpha-2; `None` when the event had none (an older release).
    pub country: Option<&'a str>,
    pub priority: bool,
    pub received_at: DateTime<Utc>,
}

/// Records an enquiry unless it is known; true when recorded.
pub async fn insert_enquiry(
    conn: &mut PgConnection,
    enquiry: &NewEnquiry<'_>,
) -> Result<bool, sqlx::Error> {
    let topics = topic_names(enquiry.topics);
    let result = sqlx::query!(
        r#"INSERT INTO scheduling.enquiries
               (id, city, reference, kind, topics, window_start, window_end, participants,
                languages, format, time_zone, priority, received_at, country)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
           ON CONFLICT (id) DO NOTHING"#,
        enquiry.id,
        enquiry.city,
        enquiry.reference,
        enquiry.kind.as_str_name(),
        &topics,
        enquiry.window.start,
        enquiry.window.end,
        i32::try_from(enquiry.participants).unwrap_or(i32::MAX),
        &enquiry.languages,
        enquiry.format.as_str_name(),
        enquiry.time_zone,
        enquiry.priority,
        enquiry.received_at,
        enquiry.country,
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// What became of an enquiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnquiryState {
    pub id: String,
    pub city: String,
    pub status: String,
    pub workshop_id: Option<Uuid>,
}

pub async fn find_enquiry(
    conn: &mut PgConnection,
    id: &str,
) -> Result<Option<EnquiryState>, sqlx::Error> {
    sqlx::query_as!(
        EnquiryState,
        r#"SELECT id, city, status, workshop_id FROM scheduling.enquiries WHERE id = $1"#,
        id
    )
    .fetch_optional(conn)
    .await
}

/// How a solve's enquiries were planned (the `planned_by` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlannedBy {
    Optimiser,
    /// No roster was known yet: nobody to plan staffing with.
    FirstFitNoRoster,
    /// The optimiser failed (a bug): the enquiries were planned first-fit.
    FirstFitAfterFailure,
}

impl PlannedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Optimiser => "OPTIMISER",
            Self::FirstFitNoRoster => "FIRST_FIT_NO_ROSTER",
            Self::FirstFitAfterFailure => "FIRST_FIT_AFTER_FAILURE",
        }
    }
}

/// Records that `ids` (in arrival order) were planned in one solve, and
/// how: each one's `planned_with` is the first of them, its `planned_by`
/// is `by`, and `failure` says why the optimiser failed, if it did.
pub async fn record_planning(
    conn: &mut PgConnection,
    ids: &[String],
    by: PlannedBy,
    failure: Option<&str>,
) -> Result<(), sqlx::Error> {
    let Some(first) = ids.first() else {
        return Ok(());
    };
    sqlx::query!(
        r#"UPDATE scheduling.enquiries
           SET planned_with = $1, planned_by = $2, planning_failure = $3
           WHERE id = ANY($4)"#,
        first,
        by.as_str(),
        failure,
        ids,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// How many enquiries each way of planning planned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanningStats {
    pub by: BTreeMap<String, i64>,
    /// The latest failures, newest first: (enquiry id, why).
    pub failures: Vec<(String, String)>,
}

/// [`PlanningStats`], with at most `failures` of the failures.
pub async fn planning_stats(
    conn: &mut PgConnection,
    failures: i64,
) -> Result<PlanningStats, sqlx::Error> {
    let counts = sqlx::query!(
        r#"SELECT planned_by AS "planned_by!", count(*) AS "n!"
           FROM scheduling.enquiries WHERE planned_by IS NOT NULL GROUP BY planned_by"#
    )
    .fetch_all(&mut *conn)
    .await?;
    let latest = sqlx::query!(
        r#"SELECT id, planning_failure AS "failure!" FROM scheduling.enquiries
           WHERE planning_failure IS NOT NULL ORDER BY received_at DESC, id LIMIT $1"#,
        failures,
    )
    .fetch_all(conn)
    .await?;
    Ok(PlanningStats {
        by: counts.into_iter().map(|r| (r.planned_by, r.n)).collect(),
        failures: latest.into_iter().map(|r| (r.id, r.failure)).collect(),
    })
}

/// An enquiry now attends `workshop_id`, since `version`.
pub async fn mark_scheduled(
    conn: &mut PgConnection,
    id: &str,
    workshop_id: Uuid,
    version: u32,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE scheduling.enquiries
           SET status = 'SCHEDULED', workshop_id = $2, joined_version = $3,
               status_code = NULL, status_detail = NULL, updated_at = now()
           WHERE id = $1"#,
        id,
        workshop_id,
        version_to_db(version),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Enquiries that cannot be scheduled, with the contract's code and a
/// detail for the city. The workshop they were in, if any, stays recorded.
pub async fn mark_unschedulable(
    conn: &mut PgConnection,
    ids: &[String],
    code: &str,
    detail: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE scheduling.enquiries
           SET status = 'UNSCHEDULABLE', status_code = $2, status_detail = $3, updated_at = now()
           WHERE id = ANY($1)"#,
        ids,
        code,
        detail,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn mark_withdrawn(conn: &mut PgConnection, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE scheduling.enquiries SET status = 'WITHDRAWN', updated_at = now() WHERE id = $1"#,
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

// --- workshops ------------------------------------------------------------

/// A workshop as stored, before its attendees are added.
#[derive(Debug, Clone)]
pub struct WorkshopRow {
    pub id: Uuid,
    pub version: i32,
    pub kind: String,
    pub topics: Vec<String>,
    pub format: String,
    pub host_city: Option<String>,
    pub time_zone: String,
    pub session_starts: Vec<DateTime<Utc>>,
    pub session_ends: Vec<DateTime<Utc>>,
    pub languages: Vec<String>,
    pub status: String,
    pub status_reason: Option<String>,
    pub staffed_version: Option<i32>,
    pub reschedules: i32,
    /// Moves made by re-planning (at most `Rules::max_moves`).
    pub moves: i32,
}

/// One attendee row: an enquiry in a workshop.
#[derive(Debug, Clone)]
pub struct AttendeeRow {
    pub workshop_id: Uuid,
    pub id: String,
    pub city: String,
    pub time_zone: String,
    /// NULL for enquiries recorded before the contract carried it.
    pub country: Option<String>,
    pub window_start: NaiveDate,
    pub window_end: NaiveDate,
    pub received_at: DateTime<Utc>,
    pub participants: i32,
    pub languages: Vec<String>,
    pub format: String,
}

impl WorkshopRow {
    /// The row as the planner sees it, with its attendees (in joining order).
    pub fn to_planned(&self, attendees: &[AttendeeRow]) -> Result<PlannedWorkshop, Unreadable> {
        let what = || format!("workshop {}", self.id);
        let kind = EnquiryKind::from_str_name(&self.kind)
            .ok_or_else(|| Unreadable::new(what(), format!("kind {:?}", self.kind)))?;
        let format = Format::from_str_name(&self.format)
            .ok_or_else(|| Unreadable::new(what(), format!("format {:?}", self.format)))?;
        let topics = parse_topics(&self.topics).map_err(|p| Unreadable::new(what(), p))?;
        let time_zone = parse_zone(&self.time_zone).map_err(|p| Unreadable::new(what(), p))?;
        if self.session_starts.len() != self.session_ends.len() {
            return Err(Unreadable::new(what(), "sessions' starts and ends differ"));
        }
        let sessions = self
            .session_starts
            .iter()
            .zip(&self.session_ends)
            .map(|(start, end)| Session::new(*start, *end))
            .collect();
        let attendees = attendees
            .iter()
            .filter(|a| a.workshop_id == self.id)
            .map(AttendeeRow::to_attendee)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PlannedWorkshop {
            id: self.id.to_string(),
            version: u32::try_from(self.version).unwrap_or(1),
            kind,
            topics,
            format,
            host_city: self.host_city.clone(),
            time_zone,
            sessions,
            attendees,
            languages: self.languages.iter().cloned().collect(),
        })
    }
}

impl AttendeeRow {
    pub fn to_attendee(&self) -> Result<Attendee, Unreadable> {
        let what = || format!("enquiry {}", self.id);
        Ok(Attendee {
            enquiry_id: self.id.clone(),
            city: self.city.clone(),
            time_zone: parse_zone(&self.time_zone).map_err(|p| Unreadable::new(what(), p))?,
            country: self.country.clone().unwrap_or_default(),
            window: DateWindow::new(self.window_start, self.window_end),
            received_at: self.received_at,
            participants: u32::try_from(self.participants).unwrap_or(0),
            languages: self.languages.iter().cloned().collect(),
            format: Format::from_str_name(&self.format)
                .ok_or_else(|| Unreadable::new(what(), format!("format {:?}", self.format)))?,
        })
    }
}

/// One workshop's row, whatever its status.
pub async fn find_workshop(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<WorkshopRow>, sqlx::Error> {
    sqlx::query_as!(
        WorkshopRow,
        r#"SELECT id, version, kind, topics, format, host_city, time_zone, session_starts,
                  session_ends, languages, status, status_reason, staffed_version, reschedules,
                  moves
           FROM scheduling.workshops WHERE id = $1"#,
        id
    )
    .fetch_optional(conn)
    .await
}

/// The enquiries attending these workshops, in joining order.
pub async fn attendees_of(
    conn: &mut PgConnection,
    workshops: &[Uuid],
) -> Result<Vec<AttendeeRow>, sqlx::Error> {
    sqlx::query_as!(
        AttendeeRow,
        r#"SELECT workshop_id AS "workshop_id!", id, city, time_zone, country, window_start,
                  window_end, received_at, participants, languages, format
           FROM scheduling.enquiries
           WHERE workshop_id = ANY($1) AND status = 'SCHEDULED'
           ORDER BY workshop_id, joined_version, id"#,
        workshops
    )
    .fetch_all(conn)
    .await
}

/// A workshop with its attendees, as the planner sees it.
pub async fn load_planned(
    conn: &mut PgConnection,
    row: &WorkshopRow,
) -> Result<Result<PlannedWorkshop, Unreadable>, sqlx::Error> {
    let attendees = attendees_of(conn, &[row.id]).await?;
    Ok(row.to_planned(&attendees))
}

/// Stores a new workshop (version 1).
pub async fn insert_workshop(
    conn: &mut PgConnection,
    workshop: &PlannedWorkshop,
    id: Uuid,
) -> Result<(), sqlx::Error> {
    let columns = Columns::of(workshop);
    sqlx::query!(
        r#"INSERT INTO scheduling.workshops
               (id, version, kind, primary_topic, topics, format, host_city, time_zone,
                session_starts, session_ends, span, languages)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, daterange($11, $12, '[]'), $13)"#,
        id,
        version_to_db(workshop.version),
        workshop.kind.as_str_name(),
        columns.primary_topic,
        &columns.topics,
        workshop.format.as_str_name(),
        workshop.host_city,
        workshop.time_zone.name(),
        &columns.starts,
        &columns.ends,
        columns.span.first,
        columns.span.last,
        &columns.languages,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes a workshop's new version: its sessions (and span) and languages,
/// and how many later dates have been tried.
pub async fn update_workshop(
    conn: &mut PgConnection,
    id: Uuid,
    workshop: &PlannedWorkshop,
    reschedules: u32,
) -> Result<(), sqlx::Error> {
    let columns = Columns::of(workshop);
    sqlx::query!(
        r#"UPDATE scheduling.workshops
           SET version = $2, session_starts = $3, session_ends = $4, span = daterange($5, $6, '[]'),
               languages = $7, reschedules = $8, topics = $9, updated_at = now()
           WHERE id = $1"#,
        id,
        version_to_db(workshop.version),
        &columns.starts,
        &columns.ends,
        columns.span.first,
        columns.span.last,
        &columns.languages,
        i32::try_from(reschedules).unwrap_or(i32::MAX),
        &columns.topics,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends a workshop at `version`: `CANCELLED` or `UNSCHEDULABLE`, with why.
pub async fn close_workshop(
    conn: &mut PgConnection,
    id: Uuid,
    version: u32,
    status: &str,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE scheduling.workshops
           SET version = $2, status = $3, status_reason = $4, updated_at = now()
           WHERE id = $1"#,
        id,
        version_to_db(version),
        status,
        reason,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records that assignment staffed `version`, if it is still the current
/// version of an active workshop; true when it was.
pub async fn mark_staffed(
    conn: &mut PgConnection,
    id: Uuid,
    version: u32,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query!(
        r#"UPDATE scheduling.workshops SET staffed_version = $2, updated_at = now()
           WHERE id = $1 AND version = $2 AND status = 'PLANNED'"#,
        id,
        version_to_db(version),
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

// --- the calendar -----------------------------------------------------------

/// What the calendar is read for.
#[derive(Debug, Clone)]
pub struct CalendarQuery<'a> {
    /// Programme days that matter: the request's window, padded a day or two
    /// either side (a local date and a Seoul date differ by at most one).
    pub days: DaySpan,
    /// The cities whose engagements count (rule 4).
    pub cities: &'a [String],
    /// The countries whose public holidays count (rule 8) over the days.
    pub countries: &'a [String],
    /// Joinable candidates of this kind and primary topic, if any are wanted.
    pub joinable: Option<(EnquiryKind, Topic)>,
    /// Workshops to leave out entirely (those being moved or re-planned).
    pub except: &'a [Uuid],
}

/// Reads the calendar around a request, with indexed queries only: the
/// joinable candidates (kind, primary topic, active, span overlapping the
/// days), the cities' engagements overlapping the days, and the load of
/// each day (`generate_series` over the spans that overlap them).
pub async fn load_calendar(
    conn: &mut PgConnection,
    query: &CalendarQuery<'_>,
) -> Result<Result<Calendar, Unreadable>, sqlx::Error> {
    let (first, last) = (query.days.first, query.days.last);
    let mut calendar = Calendar::default();

    if let Some((kind, topic)) = query.joinable {
        let rows = sqlx::query_as!(
            WorkshopRow,
            r#"SELECT id, version, kind, topics, format, host_city, time_zone, session_starts,
                      session_ends, languages, status, status_reason, staffed_version, reschedules,
                  moves
               FROM scheduling.workshops
               WHERE status = 'PLANNED' AND kind = $1 AND primary_topic = $2
                 AND span && daterange($3, $4, '[]')
                 AND NOT (id = ANY($5))
               ORDER BY id"#,
            kind.as_str_name(),
            topic.as_str_name(),
            first,
            last,
            query.except,
        )
        .fetch_all(&mut *conn)
        .await?;
        if !rows.is_empty() {
            let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
            let attendees = attendees_of(conn, &ids).await?;
            for row in &rows {
                match row.to_planned(&attendees) {
                    Ok(workshop) => calendar.workshops.push(workshop),
                    Err(unreadable) => return Ok(Err(unreadable)),
                }
            }
        }
    }

    let busy = sqlx::query!(
        r#"SELECT e.city AS "city!", lower(w.span) AS "first!", (upper(w.span) - 1) AS "last!"
           FROM scheduling.enquiries e
           JOIN scheduling.workshops w ON w.id = e.workshop_id
           WHERE e.status = 'SCHEDULED' AND e.city = ANY($1)
             AND w.status = 'PLANNED' AND w.span && daterange($2, $3, '[]')
             AND NOT (w.id = ANY($4))
           ORDER BY 1, 2, 3"#,
        query.cities,
        first,
        last,
        query.except,
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut by_city: BTreeMap<String, Vec<DaySpan>> = BTreeMap::new();
    for row in busy {
        by_city
            .entry(row.city)
            .or_default()
            .push(DaySpan::new(row.first, row.last));
    }
    calendar.busy = by_city;

    let load = sqlx::query!(
        r#"SELECT d::date AS "day!", count(*) AS "load!"
           FROM scheduling.workshops w
           CROSS JOIN LATERAL generate_series(
               greatest(lower(w.span), $1)::timestamp,
               least(upper(w.span) - 1, $2)::timestamp,
               interval '1 day') AS d
           WHERE w.status = 'PLANNED' AND w.span && daterange($1, $2, '[]')
             AND NOT (w.id = ANY($3))
           GROUP BY 1 ORDER BY 1"#,
        first,
        last,
        query.except,
    )
    .fetch_all(&mut *conn)
    .await?;
    calendar.day_load = load
        .into_iter()
        .map(|row| (row.day, u32::try_from(row.load).unwrap_or(u32::MAX)))
        .collect();
    // Joining checks the newcomer's country only; that is in `countries`.
    calendar.holidays = holidays_between(conn, query.countries, first, last).await?;
    Ok(Ok(calendar))
}

// --- re-planning --------------------------------------------------------------

/// Which planned workshops a new enquiry's re-plan may change.
#[derive(Debug, Clone)]
pub struct NeighbourhoodQuery {
    /// Joint workshops of this kind and primary topic are wanted first: the
    /// enquiry might join them, if need be after a move.
    pub joinable: Option<(EnquiryKind, Topic)>,
    /// The enquiry's window (programme days).
    pub window: DaySpan,
    /// Only workshops whose first day is after this: the rest are frozen.
    pub after: NaiveDate,
    /// At most this many.
    pub limit: i64,
}

/// The active workshops a re-plan may change, with their attendees: those
/// that could take the enquiry in (same kind and primary topic, within a
/// year of its window) first, then those whose days meet its window (they
/// compete for the same days and experts), nearest first; none that starts
/// on or before `after`.
pub async fn neighbourhood(
    conn: &mut PgConnection,
    query: &NeighbourhoodQuery,
) -> Result<Vec<(WorkshopRow, Vec<AttendeeRow>)>, sqlx::Error> {
    let (kind, topic) = query
        .joinable
        .map(|(kind, topic)| (kind.as_str_name(), topic.as_str_name()))
        .unwrap_or(("", ""));
    let rows = sqlx::query_as!(
        WorkshopRow,
        r#"SELECT id, version, kind, topics, format, host_city, time_zone, session_starts,
                  session_ends, languages, status, status_reason, staffed_version, reschedules,
                  moves
           FROM scheduling.workshops
           WHERE status = 'PLANNED' AND lower(span) > $3::date
             AND ((kind = $1 AND primary_topic = $2
                   AND span && daterange($4::date - 366, $5::date + 366, '[]'))
                  OR span && daterange($4::date, $5::date, '[]'))
           ORDER BY (kind = $1 AND primary_topic = $2) DESC,
                    abs(lower(span) - $4::date), id
           LIMIT $6"#,
        kind,
        topic,
        query.after,
        query.window.first,
        query.window.last,
        query.limit,
    )
    .fetch_all(&mut *conn)
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut attendees = attendees_of(conn, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let (mine, rest) = attendees.drain(..).partition(|a| a.workshop_id == row.id);
            attendees = rest;
            (row, mine)
        })
        .collect())
}

/// What planning needs of a stored enquiry beyond its attendance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRequest {
    pub id: String,
    pub kind: String,
    pub topics: Vec<String>,
    /// A beneficiary city's (intake's triage).
    pub priority: bool,
}

/// The kind, topics and priority of these enquiries, by id.
pub async fn requests_of(
    conn: &mut PgConnection,
    ids: &[String],
) -> Result<Vec<StoredRequest>, sqlx::Error> {
    sqlx::query_as!(
        StoredRequest,
        r#"SELECT id, kind, topics, priority FROM scheduling.enquiries
           WHERE id = ANY($1) ORDER BY id"#,
        ids
    )
    .fetch_all(conn)
    .await
}

/// Counts one move of a workshop made by re-planning.
pub async fn record_move(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE scheduling.workshops SET moves = moves + 1 WHERE id = $1"#,
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

// --- operators ---------------------------------------------------------------

/// Workshops for `workshops.list`, earliest first.
pub async fn list_workshops(
    conn: &mut PgConnection,
    limit: i64,
) -> Result<Vec<(WorkshopRow, Vec<AttendeeRow>)>, sqlx::Error> {
    let rows = sqlx::query_as!(
        WorkshopRow,
        r#"SELECT id, version, kind, topics, format, host_city, time_zone, session_starts,
                  session_ends, languages, status, status_reason, staffed_version, reschedules,
                  moves
           FROM scheduling.workshops
           ORDER BY lower(span), id
           LIMIT $1"#,
        limit
    )
    .fetch_all(&mut *conn)
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let attendees = attendees_of(conn, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let own = attendees
                .iter()
                .filter(|a| a.workshop_id == row.id)
                .cloned()
                .collect();
            (row, own)
        })
        .collect())
}

// --- helpers ---------------------------------------------------------------------

/// The derived columns of a workshop.
struct Columns {
    primary_topic: &'static str,
    topics: Vec<String>,
    starts: Vec<DateTime<Utc>>,
    ends: Vec<DateTime<Utc>>,
    span: DaySpan,
    languages: Vec<String>,
}

impl Columns {
    fn of(workshop: &PlannedWorkshop) -> Self {
        let span =
            span_of(&workshop.sessions).unwrap_or(DaySpan::new(NaiveDate::MAX, NaiveDate::MIN));
        Self {
            primary_topic: workshop
                .primary_topic()
                .unwrap_or(Topic::Unspecified)
                .as_str_name(),
            topics: topic_names(&workshop.topics),
            starts: workshop.sessions.iter().map(|s| s.start).collect(),
            ends: workshop.sessions.iter().map(|s| s.end).collect(),
            span,
            languages: workshop.languages.iter().cloned().collect(),
        }
    }
}

fn topic_names(topics: &[Topic]) -> Vec<String> {
    topics.iter().map(|t| t.as_str_name().to_owned()).collect()
}

fn parse_topics(names: &[String]) -> Result<Vec<Topic>, String> {
    names
        .iter()
        .map(|name| Topic::from_str_name(name).ok_or_else(|| format!("topic {name:?}")))
        .collect()
}

/// An IANA zone name.
pub fn parse_zone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>()
        .map_err(|_| format!("time zone {name:?} is not an IANA zone"))
}

fn version_to_db(version: u32) -> i32 {
    i32::try_from(version).unwrap_or(i32::MAX)
}

// --- public holidays ------------------------------------------------------------

/// What an import changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HolidaysReplaced {
    pub removed: u64,
    pub added: u64,
}

/// Replaces `country`'s holidays in `years` by `days` (day, name), in the
/// caller's transaction: a failed import leaves the previous one whole.
pub async fn replace_holidays(
    conn: &mut PgConnection,
    country: &str,
    years: &[i32],
    days: &[(NaiveDate, String)],
    source: &str,
) -> Result<HolidaysReplaced, sqlx::Error> {
    let removed = sqlx::query!(
        r#"DELETE FROM scheduling.holidays
           WHERE country = $1 AND extract(year FROM day)::int = ANY($2)"#,
        country,
        years,
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let (dates, names): (Vec<NaiveDate>, Vec<String>) = days.iter().cloned().unzip();
    let added = sqlx::query!(
        r#"INSERT INTO scheduling.holidays (country, day, name, source)
           SELECT $1, d, n, $4 FROM unnest($2::date[], $3::text[]) AS u(d, n)"#,
        country,
        &dates,
        &names,
        source,
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(HolidaysReplaced { removed, added })
}

/// A stored holiday, for `holidays.list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolidayRow {
    pub country: String,
    pub day: NaiveDate,
    pub name: String,
    pub source: String,
    pub imported_at: DateTime<Utc>,
}

/// Holidays by country and day, optionally of one country and one year.
pub async fn list_holidays(
    conn: &mut PgConnection,
    country: Option<&str>,
    year: Option<i32>,
) -> Result<Vec<HolidayRow>, sqlx::Error> {
    sqlx::query_as!(
        HolidayRow,
        r#"SELECT country, day, name, source, imported_at FROM scheduling.holidays
           WHERE ($1::text IS NULL OR country = $1)
             AND ($2::int IS NULL OR extract(year FROM day)::int = $2)
           ORDER BY country, day"#,
        country,
        year,
    )
    .fetch_all(conn)
    .await
}

/// The holidays of `countries` from `first` to `last` (inclusive), by
/// country: what the planner's [`Calendar`] needs around a window.
pub async fn holidays_between(
    conn: &mut PgConnection,
    countries: &[String],
    first: NaiveDate,
    last: NaiveDate,
) -> Result<BTreeMap<String, BTreeSet<NaiveDate>>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT country, day FROM scheduling.holidays
           WHERE country = ANY($1) AND day BETWEEN $2 AND $3
           ORDER BY country, day"#,
        countries,
        first,
        last,
    )
    .fetch_all(conn)
    .await?;
    let mut by_country: BTreeMap<String, BTreeSet<NaiveDate>> = BTreeMap::new();
    for row in rows {
        by_country.entry(row.country).or_default().insert(row.day);
    }
    Ok(by_country)
}
