//! Boots services: the one sequence `ileaps run` (all services) and each
//! `ileaps-<service>` binary (one) go through.
//!
//! connect → migrate each schema → provision streams → serve HTTP → start the
//! services → wait for SIGTERM or a failed task → drain: stop pulling, let
//! in-flight batches commit, flush the outboxes, exit.

use crate::{Readiness, Settings, connect_nats, connect_postgres, http::HttpServer};
use anyhow::{Context, Result};
use contract::Service;
use messaging::runtime::{RelayHandle, ServiceRuntime, Tasks};
use messaging::{RelaySettings, Schema, StreamSettings, migrate, provision_streams};
use secrecy::ExposeSecret;
use std::net::SocketAddr;
use std::sync::Arc;
use telemetry::Metrics;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

/// Spawns a service's tasks; returns its outbox relay, stopped last. A
/// closure, so a caller (a test, `ileaps run`) can start a service with
/// settings of its own. An error (a setting of the service's own that
/// cannot be used) stops the start, with every task spawned so far.
pub type StartFn = Arc<dyn Fn(&ServiceRuntime, &mut Tasks) -> Result<RelayHandle> + Send + Sync>;

/// How to run one service.
#[derive(Clone)]
pub struct ServiceDef {
    pub service: Service,
    pub migrations: &'static sqlx::migrate::Migrator,
    pub start: StartFn,
}

impl std::fmt::Debug for ServiceDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceDef")
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

/// Running services.
#[derive(Debug)]
pub struct App {
    settings: Settings,
    runtime: ServiceRuntime,
    tasks: Tasks,
    relays: Vec<RelayHandle>,
    http_addr: SocketAddr,
    http_stop: CancellationToken,
    http_task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl App {
    /// Connects, migrates, provisions and starts `services`. Returns once
    /// they run; `shutdown` stops them.
    pub async fn start(
        settings: Settings,
        services: Vec<ServiceDef>,
        shutdown: CancellationToken,
    ) -> Result<Self> {
        let metrics = Metrics::new();
        let nats = connect_nats(&settings)
            .await
            .with_context(|| format!("connecting to NATS at {}", settings.nats_url_redacted()))?;
        let pool = connect_postgres(&settings).await.with_context(|| {
            format!(
                "connecting to Postgres at {}",
                settings.database_url_redacted()
            )
        })?;
        let readiness = Readiness::new()
            .with_nats(nats.clone())
            .with_postgres(pool.clone());
        let http = HttpServer::bind(settings.http_addr, readiness.clone(), metrics.clone())
            .await
            .with_context(|| format!("binding ILEAPS_HTTP_ADDR={}", settings.http_addr))?;
        let http_addr = http.local_addr();
        let http_stop = CancellationToken::new();
        let http_task = tokio::spawn(http.serve(http_stop.clone()));

        for def in &services {
            let schema = Schema::new(def.service.name())?;
            migrate(
                settings.database_url.expose_secret(),
                &schema,
                def.migrations,
            )
            .await
            .with_context(|| format!("migrating {}", def.service))?;
        }
        readiness.set_migrated();

        let js = async_nats::jetstream::new(nats.clone());
        let streams = StreamSettings {
            replicas: settings.stream_replicas,
            inbound_retention: settings.retention.inbound,
            events_retention: settings.retention.events,
            internal_retention: settings.retention.internal,
            outbound_retention: settings.retention.outbound,
            dlq_retention: settings.retention.dlq,
        };
        provision_streams(&js, &streams)
            .await
            .context("provisioning the JetStream streams")?;
        readiness.set_streams_ready();

        let runtime = ServiceRuntime {
            pool,
            nats,
            js,
            metrics,
            relay: RelaySettings {
                retention: settings.outbox_retention,
                ..RelaySettings::default()
            },
            shutdown,
        };
        let mut tasks = Tasks::new();
        let relays = services
            .iter()
            .map(|def| {
                (def.start)(&runtime, &mut tasks)
                    .with_context(|| format!("starting {}", def.service))
            })
            .collect::<Result<_>>()?;
        info!(
            services = ?services.iter().map(|d| d.service.name()).collect::<Vec<_>>(),
            http = %http_addr,
            "services started"
        );
        Ok(Self {
            settings,
            runtime,
            tasks,
            relays,
            http_addr,
            http_stop,
            http_task,
        })
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    pub fn runtime(&self) -> &ServiceRuntime {
        &self.runtime
    }

    /// Runs until shutdown is requested or a task fails, then drains within
    /// `ILEAPS_SHUTDOWN_TIMEOUT_SECS`. A failed task is the error returned.
    pub async fn wait(mut self) -> Result<()> {
        let shutdown = self.runtime.shutdown.clone();
        let mut failure = None;
        tokio::select! {
            () = shutdown.cancelled() => {}
            Some(joined) = self.tasks.join_next() => {
                failure = task_failure(joined);
                shutdown.cancel();
            }
        }
        info!("shutting down: no new messages; finishing what is in hand");
        let deadline = tokio::time::Instant::now() + self.settings.shutdown_timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.tasks.join_next()).await {
                Ok(Some(joined)) => {
                    if let Some(error) = task_failure(joined) {
                        failure.get_or_insert(error);
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    warn!(timeout = ?self.settings.shutdown_timeout, "tasks still running at the shutdown deadline; abandoning them (their messages will be redelivered)");
                    self.tasks.abort_all();
                    break;
                }
            }
        }
        for relay in self.relays {
            relay.flush_and_stop().await;
        }
        self.http_stop.cancel();
        let _ = self.http_task.await;
        self.runtime.pool.close().await;
        let _ = self.runtime.nats.flush().await;
        info!("stopped");
        match failure {
            None => Ok(()),
            Some(error) => Err(error),
        }
    }
}

fn task_failure(
    joined: Result<Result<(), messaging::TaskError>, tokio::task::JoinError>,
) -> Option<anyhow::Error> {
    match joined {
        Ok(Ok(())) => None,
        Ok(Err(error)) => {
            error!(error = %error, source = ?std::error::Error::source(&error), "a service task failed");
            Some(error.into())
        }
        Err(join) => {
            error!(error = %join, "a service task panicked");
            Some(anyhow::anyhow!("a service task panicked: {join}"))
        }
    }
}

/// `--migrate-only` or `ILEAPS_MIGRATE_ONLY=true`: apply the service's
/// migrations and exit, touching nothing but Postgres. Deployments run it
/// before a rollout (a Kubernetes init container), so new code never starts
/// against an old schema and replicas never race on a migration.
fn migrate_only_requested() -> bool {
    std::env::args().skip(1).any(|arg| arg == "--migrate-only")
        || std::env::var("ILEAPS_MIGRATE_ONLY")
            .is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes"))
}

async fn migrate_only(settings: &Settings, def: &ServiceDef) -> Result<()> {
    let schema = Schema::new(def.service.name())?;
    migrate(
        settings.database_url.expose_secret(),
        &schema,
        def.migrations,
    )
    .await
    .with_context(|| {
        format!(
            "migrating {} at {}",
            def.service,
            settings.database_url_redacted()
        )
    })?;
    info!(service = %def.service, "migrations applied; exiting (--migrate-only)");
    Ok(())
}

/// The whole life of a one-service binary: telemetry, settings, run until
/// SIGTERM, drain, exit 0.
pub async fn main_for(def: ServiceDef) -> Result<()> {
    let service = def.service;
    let telemetry = telemetry::init(&format!("ileaps-{service}"))?;
    let settings = Settings::from_env()?.with_client_name(format!("ileaps-{service}"));
    if migrate_only_requested() {
        let result = migrate_only(&settings, &def).await;
        if let Err(error) = &result {
            error!(
                error = format!("{error:#}"),
                "ileaps-{service} --migrate-only failed"
            );
        }
        telemetry.shutdown();
        return result;
    }
    let shutdown = crate::shutdown_on_signals();
    let result = match App::start(settings, vec![def], shutdown).await {
        Ok(app) => app.wait().await,
        Err(error) => Err(error),
    };
    if let Err(error) = &result {
        error!(error = format!("{error:#}"), "ileaps-{service} failed");
    }
    telemetry.shutdown();
    result
}
