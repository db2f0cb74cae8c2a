//! [`LocalInfra`]: "use what answers, start what does not", for `ileaps
//! run`/`demo` and anything else that wants zero set-up.

use crate::postgres::{PostgresServer, ensure_database, usable_data_dir};
use crate::probe::{self, redact};
use crate::{InfraError, NatsOptions, NatsServer, tcp_reachable};
use std::path::Path;
use std::time::Duration;

/// How long we give a configured server to accept a TCP connection.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// The NATS and Postgres addresses to use, and the private servers started
/// to provide them (stopped by [`shutdown`](Self::shutdown), or on drop).
#[derive(Debug)]
pub struct LocalInfra {
    pub nats_url: String,
    pub database_url: String,
    /// The private nats-server, if nothing answered at the configured address.
    pub nats: Option<NatsServer>,
    /// The private PostgreSQL cluster, if nothing answered at the configured address.
    pub postgres: Option<PostgresServer>,
}

impl LocalInfra {
    /// Uses what answers at the given URLs; starts private servers for what
    /// does not (data under `data_root`: `nats/` and `postgres/`), then makes
    /// sure the database exists.
    ///
    /// A private server is only started in place of an address on this
    /// machine: if `nats://broker.example.com` does not answer, starting a
    /// private broker would quietly send the events somewhere nobody reads
    /// them, so that is an [`InfraError::Unreachable`] instead.
    ///
    /// The private cluster's superuser is [`crate::SUPERUSER`] with trust
    /// auth: the user and password of `database_url` are not used for it.
    pub async fn ensure(
        nats_url: &str,
        database_url: &str,
        data_root: &Path,
    ) -> Result<Self, InfraError> {
        let mut infra = Self {
            nats_url: nats_url.to_owned(),
            database_url: database_url.to_owned(),
            nats: None,
            postgres: None,
        };

        if tcp_reachable(nats_url, PROBE_TIMEOUT).await {
            tracing::info!("using the NATS server at {}", redact(nats_url));
        } else if probe::is_local(nats_url) {
            let store = data_root.join("nats");
            let server = NatsServer::start(NatsOptions::new(&store)).await?;
            tracing::info!(
                "no NATS at {}; started a private nats-server on 127.0.0.1:{} (data in {})",
                redact(nats_url),
                server.port(),
                server.store_dir().display()
            );
            infra.nats_url = server.url();
            infra.nats = Some(server);
        } else {
            return Err(InfraError::Unreachable {
                what: "NATS server",
                url: redact(nats_url),
            });
        }

        if !probe::has_tcp_host(database_url) {
            // A Unix socket: nothing to probe; use it as configured.
            tracing::info!("using the PostgreSQL server at {}", redact(database_url));
        } else if tcp_reachable(database_url, PROBE_TIMEOUT).await {
            tracing::info!("using the PostgreSQL server at {}", redact(database_url));
        } else if probe::is_local(database_url) {
            let database =
                probe::database_name(database_url)?.unwrap_or_else(|| crate::SUPERUSER.to_owned());
            let data_dir = usable_data_dir(&data_root.join("postgres"));
            let server = PostgresServer::start(&data_dir).await?;
            tracing::info!(
                "no PostgreSQL at {}; started a private cluster on 127.0.0.1:{} (data in {})",
                redact(database_url),
                server.port(),
                server.data_dir().display()
            );
            infra.database_url = server.url(&database);
            infra.postgres = Some(server);
        } else {
            return Err(InfraError::Unreachable {
                what: "PostgreSQL server",
                url: redact(database_url),
            });
        }

        ensure_database(&infra.database_url).await?;
        Ok(infra)
    }

    /// True if either server was started here.
    pub fn started_anything(&self) -> bool {
        self.nats.is_some() || self.postgres.is_some()
    }

    /// Stops, gracefully, whatever [`ensure`](Self::ensure) started.
    pub async fn shutdown(mut self) {
        if let Some(mut nats) = self.nats.take() {
            nats.stop().await;
            tracing::info!("stopped the private nats-server");
        }
        if let Some(mut postgres) = self.postgres.take() {
            postgres.stop().await;
            tracing::info!("stopped the private PostgreSQL cluster");
        }
    }
}
