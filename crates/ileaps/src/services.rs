//! `ileaps run`: every service in one process, the same code the per-service
//! binaries run, with zero set-up when no NATS or Postgres answers.

use anyhow::{Context, Result};
use messaging::runtime::RelayHandle;
use messaging::{ServiceRuntime, Tasks};
use secrecy::ExposeSecret;
use service_kit::app::{App, ServiceDef};
use std::path::PathBuf;

/// Every service that exists, in the order they start.
pub fn all() -> Vec<ServiceDef> {
    vec![
        intake::service(),
        scheduling::service(),
        assignment::service(),
        ServiceDef {
            start: std::sync::Arc::new(start_notifications),
            ..notifications::service()
        },
    ]
}

/// Notifications as `ileaps run` starts it: without `ILEAPS_SMTP_URL` or
/// `ILEAPS_MAIL_DIR`, email goes to [`mail_dir`].
fn start_notifications(runtime: &ServiceRuntime, tasks: &mut Tasks) -> Result<RelayHandle> {
    let settings = notifications::settings::NotificationSettings::from_lookup(|name| {
        std::env::var(name)
            .ok()
            .or_else(|| (name == MAIL_DIR_VAR).then(|| mail_dir().display().to_string()))
    })
    .context("notifications settings")?;
    notifications::start_with(runtime, tasks, settings)
}

const MAIL_DIR_VAR: &str = "ILEAPS_MAIL_DIR";

/// Where `ileaps run` and `demo` write email when no SMTP server is
/// configured: `ILEAPS_MAIL_DIR`, else `mail/` under [`data_root`].
pub fn mail_dir() -> PathBuf {
    std::env::var_os(MAIL_DIR_VAR)
        .filter(|dir| !dir.is_empty())
        .map_or_else(|| data_root().join("mail"), PathBuf::from)
}

/// Where private NATS and Postgres keep their data: under `target/` of the
/// workspace when run from a checkout, else under the working directory.
pub fn data_root() -> PathBuf {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target");
    if workspace.is_dir() {
        workspace.join("ileaps-local")
    } else {
        PathBuf::from(".ileaps")
    }
}

/// Settings from the environment, with NATS and Postgres made to answer:
/// private servers are started for whichever does not.
pub async fn settings_with_infra() -> Result<(service_kit::Settings, local_infra::LocalInfra)> {
    let mut settings = service_kit::Settings::from_env()?;
    let infra = local_infra::LocalInfra::ensure(
        &settings.nats_url,
        settings.database_url.expose_secret(),
        &data_root(),
    )
    .await
    .context("setting up NATS and Postgres")?;
    settings.nats_url = infra.nats_url.clone();
    settings.database_url = infra.database_url.clone().into();
    Ok((settings, infra))
}

pub async fn run() -> Result<()> {
    let telemetry = telemetry::init("ileaps")?;
    let (settings, infra) = settings_with_infra().await?;
    let shutdown = service_kit::shutdown_on_signals();
    let app = App::start(settings, all(), shutdown.clone()).await?;
    println!(
        "ileaps is running: http://{}/readyz  (Ctrl-C to stop)",
        app.http_addr()
    );
    let result = app.wait().await;
    infra.shutdown().await;
    telemetry.shutdown();
    result
}
