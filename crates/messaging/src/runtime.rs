//! What a running service is handed: its connections, metrics and the
//! shutdown token, and the tasks every service runs the same way.

use crate::admin::AdminCommands;
use crate::consumer::{ConsumerSpec, Handler, run_consumer};
use crate::outbox::{Outbox, Relay, RelaySettings};
use crate::schema::Schema;
use async_nats::jetstream;
use contract::Service;
use sqlx::PgPool;
use std::sync::Arc;
use telemetry::Metrics;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Shared by every service of a process (`ileaps run` holds four).
#[derive(Debug, Clone)]
pub struct ServiceRuntime {
    pub pool: PgPool,
    pub nats: async_nats::Client,
    pub js: jetstream::Context,
    pub metrics: Arc<Metrics>,
    pub relay: RelaySettings,
    /// Cancelled on SIGTERM/SIGINT: stop pulling, finish, flush, return.
    pub shutdown: CancellationToken,
}

/// A named background task of a service; an error ends the process.
pub type Tasks = JoinSet<Result<(), TaskError>>;

#[derive(Debug, thiserror::Error)]
#[error("{task} of {service} stopped")]
pub struct TaskError {
    pub service: Service,
    pub task: &'static str,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl TaskError {
    pub fn new(
        service: Service,
        task: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            service,
            task,
            source: source.into(),
        }
    }
}

impl ServiceRuntime {
    /// The relay of a service's outbox.
    pub fn relay(&self, service: Service, outbox: &Outbox) -> Relay {
        Relay::new(
            outbox.clone(),
            service,
            self.pool.clone(),
            self.js.clone(),
            self.relay.clone(),
            self.metrics.clone(),
        )
    }

    /// Spawns a durable consumer loop of a service as one of its tasks; its
    /// failure (a consumer that cannot be created) ends the process.
    pub fn spawn_consumer<H: Handler>(
        &self,
        tasks: &mut Tasks,
        task: &'static str,
        spec: ConsumerSpec,
        handler: Arc<H>,
        schema: Schema,
    ) {
        let service = spec.service;
        let (pool, js, metrics, shutdown) = (
            self.pool.clone(),
            self.js.clone(),
            self.metrics.clone(),
            self.shutdown.clone(),
        );
        tasks.spawn(async move {
            run_consumer(spec, handler, &schema, pool, js, metrics, shutdown)
                .await
                .map_err(|e| TaskError::new(service, task, e))
        });
    }

    /// Spawns the outbox relay and the operator commands of a service.
    ///
    /// The relay gets its own token, cancelled only once the rest of the
    /// service has stopped, so the events of the last batch are still
    /// published before the process exits.
    pub fn spawn_relay_and_admin(
        &self,
        tasks: &mut Tasks,
        service: Service,
        outbox: &Outbox,
        admin: impl FnOnce(AdminCommands) -> AdminCommands,
    ) -> RelayHandle {
        let relay = self.relay(service, outbox);
        let relay_stop = CancellationToken::new();
        let relay_task = tokio::spawn(relay.clone().run(relay_stop.clone()));
        let commands = admin(AdminCommands::new(service, self.js.clone(), relay));
        let client = self.nats.clone();
        let shutdown = self.shutdown.clone();
        tasks.spawn(async move {
            commands
                .serve(client, shutdown)
                .await
                .map_err(|e| TaskError::new(service, "operator commands", e))
        });
        RelayHandle {
            stop: relay_stop,
            task: relay_task,
        }
    }
}

/// The running relay of a service: stop it last.
#[derive(Debug)]
pub struct RelayHandle {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl RelayHandle {
    /// Flushes what is pending and stops the relay.
    pub async fn flush_and_stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}
