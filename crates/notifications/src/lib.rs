//! The notifications service: the only one that talks to the outside world.
//! It tells partner cities, experts and integrators what happened, by email
//! (SMTP, or `.eml` files in a mail folder), on the city's own feed
//! (`ileaps.outbound.<city>.>`) and by signed webhooks, exactly once per
//! (cause event, recipient, channel).
//!
//! # Layout
//!
//! - [`domain`]: pure rules: the messages in English and Indonesian
//!   ([`domain::render`]), retry timing, webhook signing, which webhook
//!   targets are allowed. No I/O.
//! - [`store`]: all of notifications' SQL (schema `notifications`).
//! - [`handlers`]: programme events and contacts in; delivery rows out, in
//!   the consumer's transaction ([`outgoing`] builds the rows).
//! - [`worker`]: sends due deliveries on their [`channels`], retries with
//!   backoff, and announces `notification.delivered|failed`.
//! - [`admin`]: operators' webhook endpoints and a look at deliveries.
//! - [`start`]: wires them to NATS and Postgres, as `ileaps-notifications`
//!   and `ileaps run` both do.

pub mod admin;
pub mod channels;
pub mod domain;
pub mod handlers;
pub mod outgoing;
pub mod settings;
pub mod store;
pub mod worker;

use crate::channels::email::{EmailSender, EmailSettings, EmailTransport};
use crate::settings::NotificationSettings;
use anyhow::Context as _;
use contract::{Service, subjects};
use messaging::runtime::RelayHandle;
use messaging::{ConsumerSpec, Outbox, Schema, ServiceRuntime, Tasks};
use std::sync::Arc;
use tokio::sync::Notify;
use tracing::info;

/// Notifications' migrations, run by [`messaging::migrate`] in schema `notifications`.
pub static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub fn schema() -> Schema {
    Schema::new(Service::Notifications.name()).expect("a valid schema name")
}

/// Notifications with settings from the environment, as its own binary
/// starts it.
pub fn service() -> service_kit::app::ServiceDef {
    service_kit::app::ServiceDef {
        service: Service::Notifications,
        migrations: &MIGRATIONS,
        start: Arc::new(start),
    }
}

/// Notifications with `settings` (tests: an SMTP server of their own, quick
/// retries).
pub fn service_with(settings: NotificationSettings) -> service_kit::app::ServiceDef {
    service_kit::app::ServiceDef {
        start: Arc::new(move |runtime, tasks| start_with(runtime, tasks, settings.clone())),
        ..service()
    }
}

/// Starts notifications with settings from the environment
/// ([`NotificationSettings::from_env`]); unusable ones stop the start.
pub fn start(runtime: &ServiceRuntime, tasks: &mut Tasks) -> anyhow::Result<RelayHandle> {
    let settings = NotificationSettings::from_env().context("notifications settings")?;
    start_with(runtime, tasks, settings)
}

/// Starts the two consumers, the delivery worker, the relay and the
/// operator commands. Migrations and streams must be in place. An email
/// transport that cannot be set up stops the start before anything runs.
pub fn start_with(
    runtime: &ServiceRuntime,
    tasks: &mut Tasks,
    settings: NotificationSettings,
) -> anyhow::Result<RelayHandle> {
    let service = Service::Notifications;
    let outbox = Outbox::new(schema());
    let wake = Arc::new(Notify::new());

    match &settings.email {
        EmailTransport::Smtp { .. } => info!("email goes to the SMTP server of ILEAPS_SMTP_URL"),
        EmailTransport::MailFolder(dir) => {
            info!(folder = %dir.display(), "no ILEAPS_SMTP_URL: email is written as .eml files");
        }
    }
    let email = EmailSender::new(EmailSettings {
        transport: settings.email.clone(),
        from: settings.mail_from.clone(),
        timeout: settings.send_timeout,
    })
    .map_err(|error| anyhow::anyhow!("email: {error}"))?;

    let (add_pool, list_pool, remove_pool, deliveries_pool) = (
        runtime.pool.clone(),
        runtime.pool.clone(),
        runtime.pool.clone(),
        runtime.pool.clone(),
    );
    let relay = runtime.spawn_relay_and_admin(tasks, service, &outbox, |commands| {
        commands
            .command("webhooks.add", move |body| {
                let pool = add_pool.clone();
                async move { admin::add_webhook(&pool, &body).await }
            })
            .command("webhooks.list", move |_| {
                let pool = list_pool.clone();
                async move { admin::list_webhooks(&pool).await }
            })
            .command("webhooks.remove", move |body| {
                let pool = remove_pool.clone();
                async move { admin::remove_webhook(&pool, &body).await }
            })
            .command("deliveries.list", move |body| {
                let pool = deliveries_pool.clone();
                async move { admin::list_deliveries(&pool, &body).await }
            })
    });

    let events = Arc::new(handlers::EventsHandler::new(&settings, wake.clone()));
    let spec = ConsumerSpec::new(
        service,
        handlers::EVENTS_CONSUMER,
        subjects::STREAM_EVENTS,
        subjects::EVENTS_ALL,
    );
    runtime.spawn_consumer(tasks, "programme events consumer", spec, events, schema());

    let contacts = Arc::new(handlers::ContactsHandler::new(wake.clone()));
    let spec = ConsumerSpec::new(
        service,
        handlers::CONTACTS_CONSUMER,
        subjects::STREAM_INTERNAL,
        subjects::INTERNAL_ALL,
    );
    runtime.spawn_consumer(tasks, "contacts consumer", spec, contacts, schema());

    let worker = worker::Worker::new(
        runtime.pool.clone(),
        runtime.js.clone(),
        outbox,
        email,
        settings,
        wake,
        runtime.metrics.clone(),
    );
    let shutdown = runtime.shutdown.clone();
    tasks.spawn(async move {
        worker.run(shutdown).await;
        Ok(())
    });
    Ok(relay)
}
