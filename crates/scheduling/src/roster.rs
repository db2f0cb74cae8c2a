//! Scheduling's read model of assignment's roster and live holds: what the
//! planner knows of who can staff a date (DOMAIN.md "Dates are chosen
//! knowing who can staff them"). Owns the `roster_*` tables, the consumer
//! that fills them and the reads the planner calls.
//!
//! Assignment publishes on `ileaps.internal.roster.>` (no personal data):
//! `ileaps.expert.profile.v1` whenever an expert's entry changes, and
//! `ileaps.assignment.holds.v1`, a workshop's live holds whole, whenever
//! they change. Both carry a revision that only grows; a message at or
//! below the stored revision is stale (a redelivery, an operator's
//! `experts.publish`) and changes nothing, so their order across subjects
//! does not matter. The durable consumer [`CONSUMER`] is scheduling's
//! second: it never shares a batch or an order with the programme events.
//!
//! Assignment stays the authority: a hold here is what it had committed
//! when it last said so; scheduling proposes, assignment's exclusion
//! constraint decides.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use contract::CloudEvent;
use contract::proto::assignment::v1::{ExpertProfile as ProfileEvent, ExpertRole, WorkshopHolds};
use contract::proto::common::v1::Topic;
use messaging::{Delivery, Handler, HandlerError};
use sqlx::PgConnection;
use std::collections::BTreeMap;
use tracing::{debug, warn};

/// The durable consumer's name on `ILEAPS_INTERNAL`, shared by all
/// replicas; `deploy/nats/auth.conf` pins scheduling's user to it.
pub const CONSUMER: &str = "scheduling-roster";

/// The planner's view of one expert, defined beside the planning bridge
/// that takes it.
pub use crate::domain::candidates::ExpertProfile;

/// A hold assignment has committed on a workshop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedHold {
    pub workshop_id: String,
    /// The workshop version assignment last confirmed the hold for.
    pub workshop_version: u32,
    pub expert_id: String,
    /// `Lead` or `Support`.
    pub role: ExpertRole,
    /// The held period, half-open, in UTC: travel days included, as
    /// assignment's exclusion constraint compares it.
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The (year, month) of the UTC month it counts against.
    pub month: (i32, u32),
}

/// Consumes `ileaps.internal.roster.>`.
#[derive(Debug, Clone, Default)]
pub struct RosterHandler;

impl Handler for RosterHandler {
    async fn handle(&self, tx: &mut PgConnection, delivery: &Delivery) -> Result<(), HandlerError> {
        match delivery.event_type() {
            ProfileEvent::TYPE => {
                if let Some(event) = delivery.event::<ProfileEvent>()? {
                    put_profile(tx, &event).await?;
                }
            }
            WorkshopHolds::TYPE => {
                if let Some(event) = delivery.event::<WorkshopHolds>()? {
                    put_holds(tx, &event).await?;
                }
            }
            // A type a newer assignment may add is ignored (with a
            // warning); a message that is no CloudEvent is reported.
            _ => {
                delivery.event::<ProfileEvent>()?;
            }
        }
        Ok(())
    }
}

/// Stores a profile unless the stored one's revision is at least as high;
/// true when stored. Its unavailable days replace the stored ones.
pub async fn put_profile(
    conn: &mut PgConnection,
    event: &ProfileEvent,
) -> Result<bool, HandlerError> {
    if event.expert_id.is_empty() {
        return Err(HandlerError::permanent("a profile without an expert id"));
    }
    let topics: Vec<String> = event
        .topics()
        .filter(|t| *t != Topic::Unspecified)
        .map(|t| t.as_str_name().to_owned())
        .collect();
    let mut firsts = Vec::with_capacity(event.unavailable.len());
    let mut lasts = Vec::with_capacity(event.unavailable.len());
    for window in &event.unavailable {
        let day = |raw: &str| {
            NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
                HandlerError::permanent(format!(
                    "expert {}: unavailable day {raw:?} is not a date",
                    event.expert_id
                ))
            })
        };
        let (first, last) = (day(&window.start)?, day(&window.end)?);
        if last < first {
            return Err(HandlerError::permanent(format!(
                "expert {}: unavailable {first}..{last} ends before it starts",
                event.expert_id
            )));
        }
        firsts.push(first);
        lasts.push(last);
    }
    let stored = sqlx::query_scalar!(
        r#"INSERT INTO scheduling.roster_experts AS e
               (id, display_name, topics, languages, time_zone, monthly_limit, active, revision)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (id) DO UPDATE SET
               display_name = EXCLUDED.display_name, topics = EXCLUDED.topics,
               languages = EXCLUDED.languages, time_zone = EXCLUDED.time_zone,
               monthly_limit = EXCLUDED.monthly_limit, active = EXCLUDED.active,
               revision = EXCLUDED.revision, updated_at = now()
           WHERE e.revision < EXCLUDED.revision
           RETURNING e.id"#,
        event.expert_id,
        event.display_name,
        &topics,
        &event.languages,
        event.time_zone,
        i32::try_from(event.monthly_limit).unwrap_or(i32::MAX),
        event.active,
        revision(event.revision)?,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if stored.is_none() {
        debug!(expert = %event.expert_id, revision = event.revision, "stale profile ignored");
        return Ok(false);
    }
    sqlx::query!(
        "DELETE FROM scheduling.roster_unavailable WHERE expert_id = $1",
        event.expert_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        r#"INSERT INTO scheduling.roster_unavailable (expert_id, first_day, last_day)
           SELECT $1, * FROM UNNEST($2::date[], $3::date[])"#,
        event.expert_id,
        &firsts,
        &lasts,
    )
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// Replaces a workshop's holds by the message's unless the stored
/// revision is at least as high; true when replaced.
pub async fn put_holds(
    conn: &mut PgConnection,
    event: &WorkshopHolds,
) -> Result<bool, HandlerError> {
    if event.workshop_id.is_empty() {
        return Err(HandlerError::permanent("holds without a workshop id"));
    }
    let bad =
        |what: String| HandlerError::permanent(format!("workshop {}: {what}", event.workshop_id));
    let (mut experts, mut roles, mut starts, mut ends, mut months) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for hold in &event.holds {
        let role = hold.role();
        if !matches!(role, ExpertRole::Lead | ExpertRole::Support) {
            return Err(bad(format!("hold of {} has no role", hold.expert_id)));
        }
        let instant = |t: Option<&pbjson_types::Timestamp>| {
            t.and_then(|t| DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?))
        };
        let (Some(start), Some(end)) = (instant(hold.start.as_ref()), instant(hold.end.as_ref()))
        else {
            return Err(bad(format!(
                "hold of {} has no valid period",
                hold.expert_id
            )));
        };
        if end < start {
            return Err(bad(format!(
                "hold of {} ends before it starts",
                hold.expert_id
            )));
        }
        let month = NaiveDate::parse_from_str(&format!("{}-01", hold.month), "%Y-%m-%d")
            .map_err(|_| bad(format!("hold month {:?} is not YYYY-MM", hold.month)))?;
        experts.push(hold.expert_id.clone());
        roles.push(role.as_str_name().to_owned());
        starts.push(start);
        ends.push(end);
        months.push(month);
    }
    let stored = sqlx::query_scalar!(
        r#"INSERT INTO scheduling.roster_workshops AS w (workshop_id, workshop_version, revision)
           VALUES ($1, $2, $3)
           ON CONFLICT (workshop_id) DO UPDATE SET
               workshop_version = EXCLUDED.workshop_version, revision = EXCLUDED.revision,
               updated_at = now()
           WHERE w.revision < EXCLUDED.revision
           RETURNING w.workshop_id"#,
        event.workshop_id,
        i32::try_from(event.workshop_version).unwrap_or(i32::MAX),
        revision(event.revision)?,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if stored.is_none() {
        debug!(workshop = %event.workshop_id, revision = event.revision, "stale holds ignored");
        return Ok(false);
    }
    sqlx::query!(
        "DELETE FROM scheduling.roster_holds WHERE workshop_id = $1",
        event.workshop_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        r#"INSERT INTO scheduling.roster_holds (workshop_id, expert_id, role, period, month)
           SELECT $1, e, r, tstzrange(s, x, '[)'), m
           FROM UNNEST($2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::date[])
                AS h(e, r, s, x, m)"#,
        event.workshop_id,
        &experts,
        &roles,
        &starts,
        &ends,
        &months,
    )
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

fn revision(raw: u32) -> Result<i32, HandlerError> {
    i32::try_from(raw).map_err(|_| HandlerError::permanent(format!("revision {raw} is too large")))
}

/// The active experts, by id, as the planner plans with them. A row whose
/// zone no longer parses is left out (with a warning), as assignment's
/// matcher leaves it out.
pub async fn roster(conn: &mut PgConnection) -> Result<Vec<ExpertProfile>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT e.id, e.display_name, e.topics, e.languages, e.time_zone, e.monthly_limit,
                  e.revision,
                  COALESCE(array_agg(u.first_day ORDER BY u.first_day, u.last_day)
                           FILTER (WHERE u.first_day IS NOT NULL), '{}') AS "firsts!: Vec<NaiveDate>",
                  COALESCE(array_agg(u.last_day ORDER BY u.first_day, u.last_day)
                           FILTER (WHERE u.first_day IS NOT NULL), '{}') AS "lasts!: Vec<NaiveDate>"
           FROM scheduling.roster_experts e
           LEFT JOIN scheduling.roster_unavailable u ON u.expert_id = e.id
           WHERE e.active
           GROUP BY e.id
           ORDER BY e.id"#
    )
    .fetch_all(conn)
    .await?;
    let mut experts = Vec::with_capacity(rows.len());
    for row in rows {
        let Ok(time_zone) = row.time_zone.parse::<Tz>() else {
            warn!(expert = %row.id, zone = %row.time_zone, "roster zone does not parse; left out");
            continue;
        };
        experts.push(ExpertProfile {
            id: row.id,
            display_name: row.display_name,
            topics: row
                .topics
                .iter()
                .filter_map(|t| Topic::from_str_name(t))
                .collect(),
            languages: row.languages,
            time_zone,
            unavailable: row.firsts.into_iter().zip(row.lasts).collect(),
            monthly_limit: u32::try_from(row.monthly_limit).unwrap_or(0),
            revision: u32::try_from(row.revision).unwrap_or(0),
        });
    }
    Ok(experts)
}

/// Each expert's load outside a re-plan: how many workshops they hold in
/// the whole programme, leaving out those in `except` (the workshops the
/// re-plan decides). Experts who hold none are not listed.
pub async fn loads_outside(
    conn: &mut PgConnection,
    except: &[String],
) -> Result<BTreeMap<String, u32>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT expert_id, count(*) AS "holds!"
           FROM scheduling.roster_holds
           WHERE NOT (workshop_id = ANY($1))
           GROUP BY expert_id"#,
        except,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.expert_id, u32::try_from(r.holds).unwrap_or(u32::MAX)))
        .collect())
}

/// The committed holds that matter to planning in `[from, to)`: those whose
/// period overlaps it (rule 3, no double booking) and those counting
/// against a UTC month it touches (rule 4, monthly limits), by start, then
/// expert and workshop.
pub async fn holds_between(
    conn: &mut PgConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<CommittedHold>, sqlx::Error> {
    if to <= from {
        return Ok(Vec::new());
    }
    let first_month = month_start(from);
    // `to` is excluded: the last month touched is that of the instant before.
    let last_month = month_start(to - Duration::nanoseconds(1));
    let rows = sqlx::query!(
        r#"SELECT h.workshop_id, w.workshop_version, h.expert_id, h.role,
                  COALESCE(lower(h.period), 'epoch') AS "start!",
                  COALESCE(upper(h.period), 'epoch') AS "end!",
                  h.month
           FROM scheduling.roster_holds h
           JOIN scheduling.roster_workshops w USING (workshop_id)
           WHERE h.period && tstzrange($1, $2, '[)')
              OR h.month BETWEEN $3 AND $4
           ORDER BY lower(h.period), h.expert_id, h.workshop_id"#,
        from,
        to,
        first_month,
        last_month,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| CommittedHold {
            workshop_id: r.workshop_id,
            workshop_version: u32::try_from(r.workshop_version).unwrap_or_default(),
            expert_id: r.expert_id,
            role: ExpertRole::from_str_name(&r.role).unwrap_or_default(),
            start: r.start,
            end: r.end,
            month: (r.month.year(), r.month.month()),
        })
        .collect())
}

fn month_start(t: DateTime<Utc>) -> NaiveDate {
    let day = t.date_naive();
    day.with_day(1).unwrap_or(day)
}
