//! The intake service: partner cities' enquiries in, one outcome each out.
//!
//! # Layout
//!
//! - [`domain`]: the pure rules: envelope, subject and body validation, every
//!   rejection reason with the contract's codes. No I/O.
//! - [`registry`]: the city registry file format and an in-memory copy.
//! - [`store`]: all of intake's SQL (schema `intake`).
//! - [`handlers`]: an inbound message in, one transaction, outcome events out
//!   through the outbox.
//! - [`progress`]: the enquiries' progress, learnt from the programme's
//!   events (consumer `intake-progress`).
//! - [`query`]: the cities' status query (`ileaps.query.<city>.enquiry`).
//! - [`start`]: wires them to NATS and Postgres, as `ileaps-intake` and
//!   `ileaps run` both do.

pub mod domain;
pub mod handlers;
pub mod progress;
pub mod query;
pub mod registry;
pub mod store;

use contract::{Service, subjects};
use messaging::runtime::RelayHandle;
use messaging::{
    ConsumerSpec, Outbox, Schema, ServiceRuntime, TaskError, Tasks, admin::AdminError,
};
use registry::{CityFile, CityRegistry};
use serde_json::json;
use std::sync::Arc;

/// Intake's migrations, run by [`messaging::migrate`] in schema `intake`.
pub static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The durable consumer's name on `ILEAPS_INBOUND`.
pub const CONSUMER: &str = "intake";

pub fn schema() -> Schema {
    Schema::new(Service::Intake.name()).expect("a valid schema name")
}

/// Intake as `ileaps run`, its own binary and the tests start it.
pub fn service() -> service_kit::app::ServiceDef {
    service_kit::app::ServiceDef {
        service: Service::Intake,
        migrations: &MIGRATIONS,
        start: Arc::new(start),
    }
}

/// Starts intake's consumer, relay, status query and operator commands.
/// Migrations and streams must be in place (see `service-kit`).
pub fn start(runtime: &ServiceRuntime, tasks: &mut Tasks) -> anyhow::Result<RelayHandle> {
    let service = Service::Intake;
    let outbox = Outbox::new(schema());
    let registry = CityRegistry::default();
    let handler = Arc::new(handlers::IntakeHandler::new(
        outbox.clone(),
        registry.clone(),
        runtime.metrics.clone(),
    ));

    let pool = runtime.pool.clone();
    let relay = runtime.spawn_relay_and_admin(tasks, service, &outbox, |admin| {
        let import_pool = pool.clone();
        let import_registry = registry.clone();
        let list_pool = pool.clone();
        admin
            .command("cities.import", move |body| {
                let pool = import_pool.clone();
                let registry = import_registry.clone();
                async move { import_cities(&pool, &registry, &body).await }
            })
            .command("cities.list", move |_| {
                let pool = list_pool.clone();
                async move {
                    let mut conn = pool
                        .acquire()
                        .await
                        .map_err(|e| AdminError::unavailable(&e))?;
                    let cities = store::load_cities(&mut conn)
                        .await
                        .map_err(|e| AdminError::unavailable(&e))?;
                    Ok(json!(cities))
                }
            })
    });

    let spec = ConsumerSpec::new(
        service,
        CONSUMER,
        subjects::STREAM_INBOUND,
        subjects::INBOUND_ALL,
    );
    runtime.spawn_consumer(tasks, "inbound consumer", spec, handler, schema());

    let spec = ConsumerSpec::new(
        service,
        progress::CONSUMER,
        subjects::STREAM_EVENTS,
        subjects::EVENTS_ALL,
    );
    let progress = Arc::new(progress::ProgressHandler);
    runtime.spawn_consumer(tasks, "progress consumer", spec, progress, schema());

    let (client, pool, shutdown) = (
        runtime.nats.clone(),
        runtime.pool.clone(),
        runtime.shutdown.clone(),
    );
    tasks.spawn(async move {
        query::serve(client, pool, shutdown)
            .await
            .map_err(|e| TaskError::new(service, "status query", e))
    });
    Ok(relay)
}

async fn import_cities(
    pool: &sqlx::PgPool,
    registry: &CityRegistry,
    body: &[u8],
) -> Result<serde_json::Value, AdminError> {
    let file: CityFile = serde_json::from_slice(body)
        .map_err(|e| AdminError::new("INVALID", format!("not a city registry file: {e}")))?;
    let records = file
        .validate()
        .map_err(|e| AdminError::new("INVALID", e.to_string()))?;
    let mut tx = pool
        .begin()
        .await
        .map_err(|e| AdminError::unavailable(&e))?;
    let (mut added, mut updated) = (0, 0);
    for record in &records {
        if store::upsert_city(&mut tx, record)
            .await
            .map_err(|e| AdminError::unavailable(&e))?
        {
            added += 1;
        } else {
            updated += 1;
        }
    }
    tx.commit().await.map_err(|e| AdminError::unavailable(&e))?;
    registry.invalidate().await;
    Ok(json!({ "added": added, "updated": updated }))
}
