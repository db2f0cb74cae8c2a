//! The assignment service: staffs each workshop or mission with a LEAD
//! expert, and a SUPPORT expert when its size calls for one.
//!
//! # Layout
//!
//! - [`domain`]: the pure matching rules (DOMAIN.md "Expert assignment"):
//!   who qualifies, who is preferred, what a new workshop version keeps,
//!   adds and releases, and why a workshop stays unfilled. No I/O.
//! - [`roster`]: the expert roster file operators import, checked whole.
//! - [`store`]: all of assignment's SQL (schema `assignment`): the roster,
//!   the copy of each workshop, the holds (no double booking enforced by an
//!   exclusion constraint) and who has worked with which city.
//! - [`handlers`]: a workshop event in, one transaction, assignment events
//!   out through the outbox.
//! - [`admin`]: the operators' roster commands.
//! - [`start`]: wires them to NATS and Postgres, as `ileaps-assignment` and
//!   `ileaps run` both do.
//!
//! # Flow
//!
//! `ileaps.events.workshop.scheduled` (or `rescheduled`) → store the new
//! version (older or equal ones are stale: acked without effect) → read the
//! need's current experts, the roster, the other holds overlapping its
//! period or counting in its month, and continuity → [`domain::staff`] →
//! write releases, kept holds (moved to the new period) and new holds →
//! `assignment.released`, then `assignment.made` or `assignment.unfilled`.
//! `workshop.cancelled` releases every hold; `workshop.unschedulable` is
//! ignored (nothing was held).
//!
//! Whenever a workshop's holds change (made, kept for a new version,
//! released, cancelled), the whole list goes to
//! `ileaps.internal.roster.holds` in the same transaction; every roster
//! change goes to `ileaps.internal.roster.profile` (see [`admin`]). That is
//! scheduling's read model of the roster: public-safe, ordered by revision.

pub mod admin;
pub mod domain;
pub mod handlers;
pub mod roster;
pub mod settings;
pub mod store;

use contract::{Service, subjects};
use messaging::runtime::RelayHandle;
use messaging::{ConsumerSpec, Outbox, Schema, ServiceRuntime, Tasks};
use settings::AssignmentSettings;
use std::sync::Arc;

/// Assignment's migrations, run by [`messaging::migrate`] in schema `assignment`.
pub static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The durable consumer's name on `ILEAPS_EVENTS`, shared by all replicas.
pub const CONSUMER: &str = "assignment";

/// What the consumer reads: scheduling's workshop events.
pub const WORKSHOP_EVENTS: &str = "ileaps.events.workshop.>";

pub fn schema() -> Schema {
    Schema::new(Service::Assignment.name()).expect("a valid schema name")
}

/// Assignment as `ileaps run`, its own binary and the tests start it.
pub fn service() -> service_kit::app::ServiceDef {
    service_kit::app::ServiceDef {
        service: Service::Assignment,
        migrations: &MIGRATIONS,
        start: Arc::new(start),
    }
}

/// Starts assignment with the settings of the environment
/// ([`AssignmentSettings::from_env`]); an unusable one stops the start.
pub fn start(runtime: &ServiceRuntime, tasks: &mut Tasks) -> anyhow::Result<RelayHandle> {
    let settings = AssignmentSettings::from_env()?;
    Ok(start_with(runtime, tasks, settings))
}

/// Starts assignment's consumer, relay and operator commands with
/// `settings`. Migrations and streams must be in place (see `service-kit`).
pub fn start_with(
    runtime: &ServiceRuntime,
    tasks: &mut Tasks,
    settings: AssignmentSettings,
) -> RelayHandle {
    let service = Service::Assignment;
    let outbox = Outbox::new(schema());
    let handler = Arc::new(handlers::AssignmentHandler::new(
        outbox.clone(),
        settings.rules,
    ));
    let default_monthly_limit = settings.default_monthly_limit;

    let pool = runtime.pool.clone();
    let (import_outbox, unavailable_outbox, publish_outbox) =
        (outbox.clone(), outbox.clone(), outbox.clone());
    let relay = runtime.spawn_relay_and_admin(tasks, service, &outbox, |commands| {
        let (import_pool, list_pool, unavailable_pool, publish_pool) =
            (pool.clone(), pool.clone(), pool.clone(), pool);
        commands
            .command("experts.import", move |body| {
                let (pool, outbox) = (import_pool.clone(), import_outbox.clone());
                async move {
                    admin::import_experts(&pool, &outbox, &body, default_monthly_limit).await
                }
            })
            .command("experts.list", move |_| {
                let pool = list_pool.clone();
                async move { admin::list_experts(&pool).await }
            })
            .command("experts.unavailable", move |body| {
                let (pool, outbox) = (unavailable_pool.clone(), unavailable_outbox.clone());
                async move { admin::add_unavailable(&pool, &outbox, &body).await }
            })
            .command("experts.publish", move |_| {
                let (pool, outbox) = (publish_pool.clone(), publish_outbox.clone());
                async move { admin::publish_roster(&pool, &outbox).await }
            })
    });

    let spec = ConsumerSpec::new(service, CONSUMER, subjects::STREAM_EVENTS, WORKSHOP_EVENTS);
    runtime.spawn_consumer(tasks, "workshop consumer", spec, handler, schema());
    relay
}
