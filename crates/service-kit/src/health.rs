//! Owns what "ready" means for a service: the start-up steps it has marked
//! done, and live probes of the connections it registered.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_nats::connection::State;
use sqlx::PgPool;

/// How long `/readyz` waits for Postgres to answer `SELECT 1`: short, so the
/// probe says "not ready" before the orchestrator's own probe times out.
const POSTGRES_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether the service can do its work, as `/readyz` reports it.
///
/// Cheap to clone; every clone shares one state, so the service keeps one to
/// mark its start-up steps and hands another to the [`HttpServer`]. Ready
/// means: migrations applied ([`set_migrated`]), streams and consumers
/// provisioned ([`set_streams_ready`]), and every registered connection
/// ([`with_nats`], [`with_postgres`]) working at the moment of the probe.
///
/// [`HttpServer`]: crate::HttpServer
/// [`set_migrated`]: Self::set_migrated
/// [`set_streams_ready`]: Self::set_streams_ready
/// [`with_nats`]: Self::with_nats
/// [`with_postgres`]: Self::with_postgres
#[derive(Clone, Debug, Default)]
pub struct Readiness {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    migrated: AtomicBool,
    streams_ready: AtomicBool,
    // Locks held only to clone the handle out, never across an await.
    nats: RwLock<Option<async_nats::Client>>,
    postgres: RwLock<Option<PgPool>>,
}

impl Readiness {
    /// Nothing done yet, nothing registered: not ready.
    pub fn new() -> Self {
        Self::default()
    }

    /// Probes this client's connection state on each check. Registered for
    /// every clone, like the steps marked done.
    pub fn with_nats(self, client: async_nats::Client) -> Self {
        *self
            .inner
            .nats
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(client);
        self
    }

    /// Runs `SELECT 1` on this pool on each check (for every clone).
    pub fn with_postgres(self, pool: PgPool) -> Self {
        *self
            .inner
            .postgres
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(pool);
        self
    }

    /// The service's migrations have been applied.
    pub fn set_migrated(&self) {
        self.inner.migrated.store(true, Ordering::Release);
    }

    /// The service's streams and consumers exist.
    pub fn set_streams_ready(&self) {
        self.inner.streams_ready.store(true, Ordering::Release);
    }

    /// Checks everything now: `Ok` when ready, otherwise one line per thing
    /// that is not.
    pub async fn check(&self) -> Result<(), Vec<String>> {
        let mut not_ready = Vec::new();
        if !self.inner.migrated.load(Ordering::Acquire) {
            not_ready.push("migrations: not applied yet".to_owned());
        }
        if !self.inner.streams_ready.load(Ordering::Acquire) {
            not_ready.push("streams: not provisioned yet".to_owned());
        }

        let nats = self
            .inner
            .nats
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if let Some(client) = nats {
            match client.connection_state() {
                State::Connected => {}
                State::Pending => not_ready.push("nats: connecting".to_owned()),
                State::Disconnected => not_ready.push("nats: disconnected".to_owned()),
            }
        }

        let postgres = self
            .inner
            .postgres
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if let Some(pool) = postgres
            && let Err(problem) = probe_postgres(&pool).await
        {
            not_ready.push(problem);
        }

        if not_ready.is_empty() {
            Ok(())
        } else {
            Err(not_ready)
        }
    }
}

async fn probe_postgres(pool: &PgPool) -> Result<(), String> {
    let select = sqlx::query("SELECT 1").execute(pool);
    match tokio::time::timeout(POSTGRES_PROBE_TIMEOUT, select).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => {
            tracing::warn!(
                error = &error as &dyn std::error::Error,
                "readiness probe: Postgres query failed"
            );
            Err(format!("postgres: {error}"))
        }
        Err(_) => {
            tracing::warn!(
                timeout_secs = POSTGRES_PROBE_TIMEOUT.as_secs(),
                "readiness probe: Postgres did not answer"
            );
            Err(format!(
                "postgres: no answer within {}s",
                POSTGRES_PROBE_TIMEOUT.as_secs()
            ))
        }
    }
}
