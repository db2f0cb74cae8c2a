//! The scheduling service: accepted enquiries in, planned workshops and
//! missions out.
//!
//! # Layout
//!
//! - [`domain`]: the pure planning rules (what each kind becomes, lead time,
//!   windows, working hours, joining, programme capacity). No I/O, no clock.
//! - [`store`]: all of scheduling's SQL (schema `scheduling`): its copy of
//!   each enquiry, the workshops with their versions, and the calendar read
//!   around a request with indexed queries.
//! - [`handlers`]: a programme event in, one transaction, workshop events
//!   out through the outbox.
//! - [`replan`]: re-planning around a new enquiry with the optimiser
//!   (`planner`), its neighbourhood read from the store.
//! - [`roster`]: the read model of assignment's roster and live holds
//!   (`ileaps.internal.roster.>`, its own consumer), and the reads the
//!   planner calls: [`roster::roster`], [`roster::holds_between`].
//! - [`settings`]: the planning rules operators may change (`ILEAPS_*`).
//! - [`holidays`]: public holiday calendars, read from operators' iCalendar
//!   files; [`admin`]: the operator commands that import and list them.
//! - [`start`]: wires them to NATS and Postgres, as `ileaps-scheduling` and
//!   `ileaps run` both do.
//!
//! # Flow
//!
//! - `enquiry.received` → store the enquiry → [`replan::received`]: the
//!   optimiser plans it together with the workshops it could join or
//!   competes with (not frozen), knowing who can staff each date. When
//!   enquiries queue up, consecutive ones (up to
//!   [`domain::Rules::plan_batch`]) are planned together in one solve, and
//!   which were is recorded. The plan comes out as a move
//!   (`workshop.rescheduled` with its reason), a join (`workshop.scheduled`,
//!   next version), a new workshop (`workshop.scheduled` version 1), each
//!   with its proposed team, or `workshop.unschedulable`
//!   (`NO_SLOT_IN_WINDOW`). With no roster known yet: first-fit,
//!   [`domain::plan`], on the calendar around its window.
//! - `assignment.made` for the current version → the workshop is staffed
//!   (which version is recorded); an older version's is stale and ignored.
//! - `assignment.unfilled` for the current version → later dates on which
//!   the roster's read model shows a qualified team free
//!   ([`replan::retry`], proposed with them); with no roster known, the
//!   next dates the calendar allows ([`domain::next_slot`]):
//!   `workshop.rescheduled`, at most [`domain::Rules::max_reschedules`]
//!   times; then, or when no later date has anyone free, `workshop.unschedulable`
//!   (`NO_EXPERT_AFTER_RETRIES`) for each of its cities and
//!   `workshop.cancelled`, so assignment releases what it held.
//! - `enquiry.withdrawn` → the city leaves its workshop (`workshop.scheduled`
//!   with the cities left), or the last city out cancels it.
//!
//! # Order and determinism (rule 7)
//!
//! One durable consumer reads all of `ileaps.events.>`, not one per subject:
//! events are then handled in the stream's order, so the same events in the
//! same order give the same plan. Workshop ids are UUIDv5 of the enquiry that
//! created them, and attendees are listed in the order they joined, so the
//! plan is the same down to its ids and event bodies. Enquiries that queued
//! up are planned together, and the optimiser then serves beneficiary
//! cities' first among them; so a plan also depends on which enquiries were
//! planned together, and that is recorded (`planned_with`): the same events
//! planned in the same groups give the same plan.
//!
//! # Replicas
//!
//! Replicas share the durable consumer. Rules 4 and 5 (no overlapping
//! engagements for a city, at most 3 a day) are rules across rows that the
//! database cannot express simply, so every planning decision first takes
//! one transaction-scoped advisory lock (`pg_advisory_xact_lock`): decisions
//! are made one at a time, each seeing the ones before it. Each is a few
//! indexed reads, so the lock is held briefly. With several replicas the
//! order in which two of them take the lock may differ from the stream's, so
//! the rules always hold but rule 7's "same plan" is guaranteed for one
//! replica (or events far enough apart).

pub mod admin;
pub mod domain;
pub mod handlers;
pub mod holidays;
pub mod replan;
pub mod roster;
pub mod settings;
pub mod store;

use contract::{Service, subjects};
use messaging::admin::AdminError;
use messaging::runtime::RelayHandle;
use messaging::{ConsumerSpec, Outbox, Schema, ServiceRuntime, Tasks};
use serde_json::{Value, json};
use std::sync::Arc;

/// Scheduling's migrations, run by [`messaging::migrate`] in schema `scheduling`.
pub static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The durable consumer's name on `ILEAPS_EVENTS`, shared by all replicas.
pub const CONSUMER: &str = "scheduling";

pub fn schema() -> Schema {
    Schema::new(Service::Scheduling.name()).expect("a valid schema name")
}

/// Scheduling as `ileaps run`, its own binary and the tests start it.
pub fn service() -> service_kit::app::ServiceDef {
    service_kit::app::ServiceDef {
        service: Service::Scheduling,
        migrations: &MIGRATIONS,
        start: Arc::new(start),
    }
}

/// Scheduling planning by `rules` rather than the environment's (tests).
pub fn service_with(rules: domain::Rules) -> service_kit::app::ServiceDef {
    service_kit::app::ServiceDef {
        start: Arc::new(move |runtime, tasks| Ok(start_with(runtime, tasks, rules.clone()))),
        ..service()
    }
}

/// Starts scheduling with the rules of the environment
/// ([`settings::rules_from_env`]); an unusable one stops the start.
pub fn start(runtime: &ServiceRuntime, tasks: &mut Tasks) -> anyhow::Result<RelayHandle> {
    let rules = settings::rules_from_env()?;
    Ok(start_with(runtime, tasks, rules))
}

/// Starts scheduling's consumer, relay and operator commands, planning by
/// `rules`. Migrations and streams must be in place (see `service-kit`).
pub fn start_with(
    runtime: &ServiceRuntime,
    tasks: &mut Tasks,
    rules: domain::Rules,
) -> RelayHandle {
    let service = Service::Scheduling;
    let outbox = Outbox::new(schema());
    let handler = Arc::new(handlers::SchedulingHandler::new(outbox.clone(), rules));

    let pool = runtime.pool.clone();
    let relay = runtime.spawn_relay_and_admin(tasks, service, &outbox, |admin| {
        let (import_pool, list_pool) = (pool.clone(), pool.clone());
        let (roster_pool, stats_pool) = (pool.clone(), pool.clone());
        admin
            .command("workshops.list", move |body| {
                let pool = pool.clone();
                async move { list_workshops(&pool, &body).await }
            })
            .command("holidays.import", move |body| {
                let pool = import_pool.clone();
                async move { admin::import_holidays(&pool, &body).await }
            })
            .command("holidays.list", move |body| {
                let pool = list_pool.clone();
                async move { admin::list_holidays(&pool, &body).await }
            })
            .command("roster.list", move |_| {
                let pool = roster_pool.clone();
                async move { admin::list_roster(&pool).await }
            })
            .command("planning.stats", move |_| {
                let pool = stats_pool.clone();
                async move { admin::planning_stats(&pool).await }
            })
    });

    let spec = ConsumerSpec::new(
        service,
        CONSUMER,
        subjects::STREAM_EVENTS,
        subjects::EVENTS_ALL,
    );
    runtime.spawn_consumer(tasks, "events consumer", spec, handler, schema());

    // A second consumer: the roster read model needs no order with the
    // programme events (each message carries its own revision), and a
    // stream of its own keeps its batches out of planning's lock.
    let roster = ConsumerSpec::new(
        service,
        roster::CONSUMER,
        subjects::STREAM_INTERNAL,
        subjects::INTERNAL_ROSTER_ALL,
    );
    runtime.spawn_consumer(
        tasks,
        "roster consumer",
        roster,
        Arc::new(roster::RosterHandler),
        schema(),
    );
    relay
}

/// `workshops.list`: the planned workshops, earliest first, with sessions,
/// cities, status, version and whether the current version is staffed.
/// Body: optional `{"limit": n}` (default 500); empty or `null` is `{}`.
async fn list_workshops(pool: &sqlx::PgPool, body: &[u8]) -> Result<Value, AdminError> {
    #[derive(serde::Deserialize, Default)]
    struct Request {
        limit: Option<i64>,
    }
    let request: Request = if body.iter().all(u8::is_ascii_whitespace) {
        Request::default()
    } else {
        serde_json::from_slice::<Option<Request>>(body)
            .map_err(|e| AdminError::bad_request(e.to_string()))?
            .unwrap_or_default()
    };
    let limit = request.limit.unwrap_or(500).clamp(1, 10_000);
    let mut conn = pool
        .acquire()
        .await
        .map_err(|e| AdminError::unavailable(&e))?;
    let rows = store::list_workshops(&mut conn, limit)
        .await
        .map_err(|e| AdminError::unavailable(&e))?;
    let listed: Vec<Value> = rows
        .into_iter()
        .map(|(row, attendees)| {
            let sessions: Vec<Value> = row
                .session_starts
                .iter()
                .zip(&row.session_ends)
                .map(|(start, end)| json!({ "start": start, "end": end }))
                .collect();
            let cities: Vec<Value> = attendees
                .iter()
                .map(|a| {
                    json!({ "city": a.city, "enquiryId": a.id, "participants": a.participants })
                })
                .collect();
            json!({
                "workshopId": row.id,
                "version": row.version,
                "kind": row.kind,
                "topics": row.topics,
                "format": row.format,
                "hostCity": row.host_city,
                "timeZone": row.time_zone,
                "sessions": sessions,
                "cities": cities,
                "languages": row.languages,
                "status": row.status,
                "statusReason": row.status_reason,
                "staffedVersion": row.staffed_version,
                "staffed": row.staffed_version == Some(row.version),
                "reschedules": row.reschedules,
            })
        })
        .collect();
    Ok(Value::Array(listed))
}
